"""The first convolution's backward pass (explainers/convolution.py): a depthwise convolution of the upstream
gradient gives what TensorFlow's own kernel gives, and what the definition gives (float64, written out here);
the forward pass and the kernel's gradient are untouched; other layers keep TensorFlow's own gradient."""
from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from explainers.convolution import convolve, image_gradient, takes_one_channel
from explainers.forward import forward


def by_definition(upstream: np.ndarray, kernel: np.ndarray, padding: str) -> np.ndarray:
    """d/d image of y[b, i, j, f] = sum over (a, c) of padded[b, i + a, j + c] * kernel[a, c, 0, f], in float64,
    where ``padded`` is the image with (kernel size - 1) / 2 zeros around it ("same") or none ("valid"): each
    output's gradient goes back to the pixels its filter covered."""
    batch, height, width, filters = upstream.shape
    rows, cols = kernel.shape[:2]
    padded = np.zeros((batch, height + rows - 1, width + cols - 1), np.float64)
    for a in range(rows):
        for c in range(cols):
            padded[:, a:a + height, c:c + width] += upstream.astype(np.float64) @ kernel[a, c, 0].astype(np.float64)
    if padding == "same":
        padded = padded[:, rows // 2:rows // 2 + height, cols // 2:cols // 2 + width]
    return padded[..., np.newaxis]


def tensorflows_own(layer: keras.layers.Conv2D, images: tf.Tensor, upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    with tf.GradientTape() as tape:
        tape.watch(images)
        maps = layer.convolution_op(images, layer.kernel)
    return tuple(tape.gradient(maps, [images, layer.kernel], output_gradients=upstream))


@pytest.fixture(scope="module")
def first_conv(shipped_mnist) -> keras.layers.Conv2D:
    return shipped_mnist.layers[0]


def with_padding(layer: keras.layers.Conv2D, padding: str) -> keras.layers.Conv2D:
    """``layer`` (the shipped model's has "same" padding) with ``padding``, the same weights."""
    if layer.padding == padding:
        return layer
    other = keras.layers.Conv2D(layer.filters, layer.kernel_size, padding=padding, activation=layer.activation)
    other.build((None, 28, 28, 1))
    other.set_weights(layer.get_weights())
    return other


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("batch", [1, 7, 100])
def test_the_image_gradient_is_tensorflows_and_the_definitions(first_conv, padding, batch):
    layer = with_padding(first_conv, padding)
    rng = np.random.default_rng(batch)
    images = tf.constant(rng.random((batch, 28, 28, 1), np.float32))
    upstream = tf.constant(rng.normal(size=layer.compute_output_shape((batch, 28, 28, 1))).astype(np.float32))
    ours = image_gradient(upstream, tf.convert_to_tensor(layer.kernel), padding).numpy()
    theirs, _ = tensorflows_own(layer, images, upstream)
    reference = by_definition(upstream.numpy(), layer.kernel.numpy(), padding)
    scale = np.abs(reference).max()
    assert ours.shape == reference.shape == theirs.shape == (batch, 28, 28, 1)
    # float32 sums of 72 terms, in an order each kernel chooses (a wrong filter is off by the map's own size)
    assert np.abs(ours - reference).max() <= 1e-5 * scale
    assert np.abs(theirs.numpy() - reference).max() <= 1e-5 * scale


def test_the_forward_pass_and_the_kernels_gradient_are_tensorflows(first_conv, shipped_mnist, mnist_test):
    images = tf.constant(mnist_test[0][:20])
    upstream = tf.constant(np.random.default_rng(0).normal(size=(20, 28, 28, first_conv.filters)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(images)
        maps = convolve(first_conv, images)
    image_grad, kernel_grad = tape.gradient(maps, [images, first_conv.kernel], output_gradients=upstream)
    own_image_grad, own_kernel_grad = tensorflows_own(first_conv, images, upstream)
    assert np.array_equal(maps.numpy(), first_conv.convolution_op(images, first_conv.kernel).numpy())
    np.testing.assert_allclose(kernel_grad.numpy(), own_kernel_grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(image_grad.numpy(), own_image_grad.numpy(), atol=1e-5 * np.abs(own_image_grad).max())
    captured, logits = forward(shipped_mnist, images, capture=["conv1", "conv2"])
    assert np.array_equal(captured["conv1"].numpy(), first_conv(images).numpy())  # the layer's own outputs
    np.testing.assert_allclose(logits.numpy(), shipped_mnist(images).numpy(), rtol=1e-5, atol=1e-5)


def test_only_a_one_channel_valid_convolution_takes_the_faster_gradient(first_conv, shipped_mnist):
    second = shipped_mnist.layers[2]
    one_channel = tf.zeros((1, 28, 28, 1))
    assert takes_one_channel(first_conv, one_channel) and takes_one_channel(keras.layers.Conv2D(4, 5), one_channel)
    assert not takes_one_channel(second, tf.zeros((1, 14, 14, 8)))  # several channels: TensorFlow's kernel is fast
    assert not takes_one_channel(keras.layers.Conv2D(4, 2, padding="same"), one_channel)  # pads one side more
    assert not takes_one_channel(keras.layers.Conv2D(4, 3, strides=2), one_channel)
    assert not takes_one_channel(keras.layers.Conv2D(4, 3, dilation_rate=2), one_channel)
