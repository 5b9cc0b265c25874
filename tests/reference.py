"""An independent numpy implementation of the CNN's forward and backward passes, and of Grad-CAM on conv2.

It uses only the stored weights and plain numpy, no TensorFlow, so agreement with
the explainers is real evidence that they are right. It computes in float64 and follows the
explainers' rule for max-pool ties (explainers/max_pool.py: its two tolerances are the rule's
definition, imported; the rule is written again here), so it picks the same winners as the
network's float32 without reading them from it.
"""
from __future__ import annotations

import numpy as np

from explainers.max_pool import ABSOLUTE_TIE, RELATIVE_TIE


def conv_same_relu(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """3x3 'same' cross-correlation + bias + ReLU; x (H, W, C_in), kernel (3, 3, C_in, C_out)."""
    height, width = x.shape[:2]
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.broadcast_to(bias, (height, width, len(bias))).astype(np.float64)
    for di in range(3):
        for dj in range(3):
            out = out + padded[di:di + height, dj:dj + width] @ kernel[di, dj]
    return np.maximum(out, 0.0)


def max_pool(x: np.ndarray) -> np.ndarray:
    h, w, c = x.shape
    return x[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2, c).max(axis=(1, 3))


def all_feature_maps(model, image: np.ndarray) -> dict[str, np.ndarray]:
    """conv1, pool1, conv2, pool2 of one (28, 28) image."""
    maps = {}
    x = image.reshape(28, 28, 1).astype(np.float64)
    for i in (1, 2):
        kernel, bias = model.get_layer(f"conv{i}").get_weights()
        x = maps[f"conv{i}"] = conv_same_relu(x, kernel, bias)
        x = maps[f"pool{i}"] = max_pool(x)
    return maps


def logits(model, image: np.ndarray) -> np.ndarray:
    kernel, bias = model.get_layer("logits").get_weights()
    return all_feature_maps(model, image)["pool2"].reshape(-1) @ kernel + bias


def pool_winners(windows: np.ndarray) -> np.ndarray:
    """The cell (0..3, scan order) of each max-pool window (..., 4) that takes its gradient: the first one
    within the tie tolerance of the window's maximum. numpy's argmax returns the first of equal values."""
    top = windows.max(axis=-1, keepdims=True)
    tied = top - windows <= np.maximum(RELATIVE_TIE * np.abs(top), ABSOLUTE_TIE)
    return tied.argmax(axis=-1)


def _windows(x: np.ndarray) -> np.ndarray:
    """A feature map (H, W, C) as its 2x2 max-pool windows (H/2, W/2, C, 4), each window's cells in scan order."""
    h, w, c = x.shape[0] // 2, x.shape[1] // 2, x.shape[2]
    return x[:2 * h, :2 * w].reshape(h, 2, w, 2, c).transpose(0, 2, 4, 1, 3).reshape(h, w, c, 4)


def near_ties(model, image: np.ndarray) -> int:
    """How many max-pool windows of ``image`` give their gradient to a cell that is not their largest: a
    real gap within the tie tolerance. There the function's slope (what finite differences measure) is
    the largest cell's, and the rule's gradient is another's."""
    maps = all_feature_maps(model, image)
    return sum(int((pool_winners(windows) != windows.argmax(axis=-1)).sum())
               for windows in (_windows(maps["conv1"]), _windows(maps["conv2"])))


def pool_gradient(x: np.ndarray, upstream: np.ndarray) -> np.ndarray:
    """d/dx (H, W, C) of the 2x2 max-pool of x, given d/d its output (H/2, W/2, C): each window's gradient
    on its winner. Flat regions (the background, everywhere) make windows whose cells are equal in exact
    arithmetic, where float rounding alone would decide the largest: the winner is the first tied cell."""
    h, w, c = upstream.shape
    routed = np.eye(4)[pool_winners(_windows(x))] * upstream[..., np.newaxis]  # (h, w, c, 4)
    return routed.reshape(h, w, c, 2, 2).transpose(0, 3, 1, 4, 2).reshape(2 * h, 2 * w, c)


def conv_input_gradient(upstream: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """d/dx (H, W, C_in) of a 3x3 'same' cross-correlation, given d/d its output (H, W, C_out)."""
    height, width = upstream.shape[:2]
    padded = np.pad(upstream, ((1, 1), (1, 1), (0, 0)))
    grad = np.zeros((height, width, kernel.shape[2]))
    for di in range(3):
        for dj in range(3):  # input (p, q) met output (p - di + 1, q - dj + 1) through kernel[di, dj]
            grad += padded[2 - di:2 - di + height, 2 - dj:2 - dj + width] @ kernel[di, dj].T
    return grad


def gradients(model, image: np.ndarray, target: int) -> dict[str, np.ndarray]:
    """d logit_target / d (conv2, conv1, image), each of that output's shape, backward layer by layer:
    dense, pool2, conv2's ReLU and kernel, pool1, conv1's ReLU and kernel (the gradient of a layer's
    output, so a conv's gradient is before its own ReLU is crossed)."""
    maps = all_feature_maps(model, image)
    dense = model.get_layer("logits").get_weights()[0][:, target].reshape(maps["pool2"].shape)
    grads = {"conv2": pool_gradient(maps["conv2"], dense)}
    before_relu = grads["conv2"] * (maps["conv2"] > 0)
    grads["conv1"] = pool_gradient(maps["conv1"], conv_input_gradient(before_relu, model.get_layer("conv2").get_weights()[0]))
    before_relu = grads["conv1"] * (maps["conv1"] > 0)
    grads["image"] = conv_input_gradient(before_relu, model.get_layer("conv1").get_weights()[0])[..., 0]
    return grads


def conv2_gradients(model, image: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """conv2's output A (14, 14, C) and d logit_target / dA in closed form: the dense weight
    behind each max-pool winner, zero elsewhere (conv2's ReLU is before A, so not crossed)."""
    return all_feature_maps(model, image)["conv2"], gradients(model, image, target)["conv2"]


def grad_cam_conv2(model, image: np.ndarray, target: int, average: bool = True) -> tuple[np.ndarray, float]:
    """Grad-CAM on conv2 (HiResCAM with average=False): the ReLU'd map (14, 14) and its
    largest single term |weight * A_k|. (Grad-CAM's per-map mean does not depend on the winners.)"""
    conv2, grads = conv2_gradients(model, image, target)
    weights = grads.mean(axis=(0, 1)) if average else grads
    terms = conv2 * weights
    return np.maximum(terms.sum(axis=-1), 0.0), float(np.abs(terms).max())
