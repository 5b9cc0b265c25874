"""Max-pool's backward pass, with one rule for ties that float rounding cannot change.

Forward, a 2x2 max-pool keeps the largest of four values. Backward, the whole gradient goes to the
cell that held it. But which cell, when two are equal? In the black background they are equal
everywhere: every cell there computes the same sum. TensorFlow's own gradient picks a cell by comparing
its float32 values, and those depend on the kernel that computed them: on some CPUs a batch of one image
rounds one cell of such a tie about 5e-10 higher than a batch of a hundred does, the gradient of the
window moves to it, and the same image's Saliency map changed by more than its own maximum. Any rule
that asks "which value is the largest?" of numbers that are equal in exact arithmetic answers with
rounding noise, and a student is shown that noise as evidence.

So ties are decided where rounding cannot reach: the values within a small tolerance of the window's
maximum count as tied, and the first of them in scan order (row by row within the window) takes the
whole gradient. That is the rule TensorFlow follows within a batch, and PyTorch's ``max_pool2d`` (so
Captum and pytorch-grad-cam) for exact ties, made robust to rounding. The page's network
(webapp/static/network.js) and the tests' float64 reference (tests/reference.py) follow it too.

The tolerance. float32 keeps 24 bits: a value is rounded to within 6e-8 of itself, and a conv output
adds 10 to 73 terms, so two kernels that add them in different orders land a few units in the last
place apart. Measured on the shipped models (1,000 test images each, the cells of every tied window
recomputed with half of them adding their terms in reverse order): at most 1.1e-6 of the window's
maximum apart where that is above 0.1, and 1.8e-7 apart below (a sum can be small and its terms
large). We count a value as tied when it is within 1e-5 of the maximum (relative), or within 1e-6 for
maxima below 0.1, where a relative tolerance would shrink to nothing (windows of zeros after ReLU, and
sums that cancel): five to ten times the worst measured. Real gaps that small are rare: of the two
million windows of those 1,000 images, the first tied cell is not the largest one in 5 (MNIST) and 71
(Fashion-MNIST); there the function turns its corner within a millionth of a pixel, and the first cell
is as good a choice as the larger. What rounding still decides is a real gap within rounding of the
tolerance itself: a window in about a thousand images.

The forward pass is the layer's own: the pooled value is the window's maximum, exactly.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

RELATIVE_TIE = 1e-5  # of the window's maximum
ABSOLUTE_TIE = 1e-6  # the floor, for maxima near zero


def tie_tolerance(maxima: tf.Tensor) -> tf.Tensor:
    """How far below each window's maximum a value still counts as tied with it."""
    return tf.maximum(RELATIVE_TIE * tf.abs(maxima), ABSOLUTE_TIE)


def routed_gradient(inputs: tf.Tensor, pooled: tf.Tensor, upstream: tf.Tensor,
                    pool_size: tuple[int, int]) -> tf.Tensor:
    """d/d inputs (B, H, W, C): each window's gradient (``upstream``, shaped like ``pooled``) on its first
    tied cell in scan order, zero on its other cells.

    TensorFlow's own max-pool gradient does the routing (one fast kernel: the rule written out in tensor
    operations made a gradient pass 3.5 times slower), applied to a stand-in for the inputs whose largest
    value in every window is that cell, and that cell alone: each tied cell holds its rank counted from the
    end of the scan (4, 3, 2, 1 in a 2x2 window), every other cell 0. The stand-in costs a handful of passes
    over the inputs: a gradient pass of a large batch takes about a third longer than with TensorFlow's
    gradient alone, which the faster first convolution (explainers/convolution.py) mostly wins back
    (``bench_attribution``). The windows do not overlap (strides = pool size, valid padding); rows and
    columns beyond the last whole window belong to none and get zero.

    Measured and not cheaper (100 images' conv2 maps, 1.02 ms here against TensorFlow's 0.57, which reuses the
    forward pass's record of each window's maximum): clamping the inputs to the threshold (0.88 ms, but ties
    then left to how a kernel breaks exact ones), spreading the threshold by nearest-neighbour resizing, a
    transposed convolution or depth_to_space, 6-D broadcasting, argmax operations, quarter planes, tf.where,
    a dilation's gradient (one operation, fixed offsets for a tolerance: 0.80 ms, slower on more images),
    and XLA (faster on one image, 1.3 times slower on 100, and a compilation per batch size).
    """
    rows, cols = pool_size
    down, across, channels = pooled.shape[1:]
    height, width = down * rows, across * cols
    batch = tf.shape(pooled)[0]
    threshold = pooled - tie_tolerance(pooled)  # each window's, spread over its cells:
    threshold = tf.broadcast_to(threshold[:, :, tf.newaxis, :, tf.newaxis, :],
                                [batch, down, rows, across, cols, channels])
    threshold = tf.reshape(threshold, [batch, height, width, channels])
    whole = inputs.shape[1:3] == (height, width)  # no rows or columns left over
    cells = inputs if whole else inputs[:, :height, :width]
    rank = np.arange(rows * cols, 0, -1, dtype=np.float32).reshape(rows, cols, 1)
    rank = np.tile(rank, (down, across, channels))  # (height, width, channels): broadcast over the batch alone
    stand_in = tf.cast(cells >= threshold, cells.dtype) * rank
    with tf.GradientTape() as tape:
        tape.watch(stand_in)
        top = tf.nn.max_pool2d(stand_in, pool_size, pool_size, "VALID")
    routed = tape.gradient(top, stand_in, output_gradients=upstream)
    if whole:
        return routed
    return tf.pad(routed, [[0, 0], [0, inputs.shape[1] - height], [0, inputs.shape[2] - width], [0, 0]])


def max_pool(layer: keras.layers.MaxPooling2D, inputs: tf.Tensor) -> tf.Tensor:
    """``layer``'s own output for ``inputs``; backward, each window's gradient goes to its first tied cell."""
    pool_size = tuple(layer.pool_size)
    if tuple(layer.strides) != pool_size or layer.padding != "valid" or layer.data_format != "channels_last":
        raise ValueError(f"layer {layer.name!r}: only max-pooling of whole, non-overlapping windows "
                         "(strides = pool size, valid padding, channels last) has a tie rule here")

    @tf.custom_gradient
    def pool(inputs: tf.Tensor):
        pooled = layer(inputs, training=False)
        return pooled, lambda upstream: routed_gradient(inputs, pooled, upstream, pool_size)

    return pool(inputs)
