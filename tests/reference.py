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


def feature_maps(model, image: np.ndarray) -> dict[str, np.ndarray]:
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
    return feature_maps(model, image)["pool2"].reshape(-1) @ kernel + bias


def conv2_gradients(model, image: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """conv2's output A (14, 14, C) and d logit_target / dA in closed form: the dense weight
    behind each max-pool winner, zero elsewhere (conv2's ReLU is before A, so not crossed)."""
    conv2 = feature_maps(model, image)["conv2"]
    channels = conv2.shape[-1]
    dense = model.get_layer("logits").get_weights()[0][:, target].reshape(7, 7, channels)
    windows = conv2.reshape(7, 2, 7, 2, channels).transpose(0, 2, 1, 3, 4).reshape(7, 7, 4, channels)
    winner = windows.argmax(axis=2)  # ties: all tied cells share one window, so the mean below is unaffected
    grads = np.zeros_like(windows)
    i, j, k = np.meshgrid(np.arange(7), np.arange(7), np.arange(channels), indexing="ij")
    grads[i, j, winner, k] = dense
    return conv2, grads.reshape(7, 7, 2, 2, channels).transpose(0, 2, 1, 3, 4).reshape(14, 14, channels)


def grad_cam_conv2(model, image: np.ndarray, target: int, average: bool = True) -> tuple[np.ndarray, float]:
    """Grad-CAM on conv2 (HiResCAM with average=False): the ReLU'd map (14, 14) and its
    largest single term |weight * A_k|."""
    conv2, grads = conv2_gradients(model, image, target)
    weights = grads.mean(axis=(0, 1)) if average else grads
    terms = conv2 * weights
    return np.maximum(terms.sum(axis=-1), 0.0), float(np.abs(terms).max())
