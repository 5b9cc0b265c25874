"""An independent numpy implementation of the CNN's forward pass and of Grad-CAM on conv2.

It uses only the stored weights and plain numpy, no TensorFlow, so agreement with
the explainers is real evidence that they are right.
"""
from __future__ import annotations

import numpy as np


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


def _pool_windows(conv2: np.ndarray) -> np.ndarray:
    """conv2 (14, 14, C) as its max-pool windows (7, 7, 4, C)."""
    channels = conv2.shape[-1]
    return conv2.reshape(7, 2, 7, 2, channels).transpose(0, 2, 1, 3, 4).reshape(7, 7, 4, channels)


def conv2_gradients(model, image: np.ndarray, target: int,
                    network_conv2: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """conv2's output A (14, 14, C) and d logit_target / dA in closed form: the dense weight
    behind each max-pool winner, zero elsewhere (conv2's ReLU is before A, so not crossed).

    The winner of a 2x2 window is its largest cell. Where two cells are tied or nearly so (flat
    regions are common), which one is largest depends on float rounding: float64 here, the
    network's float32 on some CPUs, may pick different cells. So when ``network_conv2``, the conv2
    output the network itself computed, is given, the winners are read from it (the first largest
    cell, as the max-pool's gradient does); every value is still computed here, in float64.
    """
    conv2 = all_feature_maps(model, image)["conv2"]
    channels = conv2.shape[-1]
    dense = model.get_layer("logits").get_weights()[0][:, target].reshape(7, 7, channels)
    winner = _pool_windows(conv2 if network_conv2 is None else np.asarray(network_conv2)).argmax(axis=2)
    grads = np.zeros((7, 7, 4, channels))
    i, j, k = np.meshgrid(np.arange(7), np.arange(7), np.arange(channels), indexing="ij")
    grads[i, j, winner, k] = dense
    return conv2, grads.reshape(7, 7, 2, 2, channels).transpose(0, 2, 1, 3, 4).reshape(14, 14, channels)


def grad_cam_conv2(model, image: np.ndarray, target: int, average: bool = True,
                   network_conv2: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Grad-CAM on conv2 (HiResCAM with average=False): the ReLU'd map (14, 14) and its
    largest single term |weight * A_k|. (Grad-CAM's per-map mean does not depend on the winners.)"""
    conv2, grads = conv2_gradients(model, image, target, network_conv2)
    weights = grads.mean(axis=(0, 1)) if average else grads
    terms = conv2 * weights
    return np.maximum(terms.sum(axis=-1), 0.0), float(np.abs(terms).max())
