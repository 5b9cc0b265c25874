"""The three explainers, checked against independent computations on models loaded from disk."""
from __future__ import annotations

import numpy as np
import pytest

from explainers import ActivationMaximizer, FilterVisualizer, GradCAM, GuidedBackprop, HiResCAM, guided_grad_cam
from explainers.grad_cam import NO_EVIDENCE_RATIO
from tests import reference


@pytest.fixture(scope="module")
def grad_cam(shipped_mnist):
    return GradCAM(shipped_mnist)


# -- Filter visualization ---------------------------------------------------------------
def test_weights_are_exactly_the_layer_kernels(shipped_mnist):
    visualizer = FilterVisualizer(shipped_mnist)
    for name, shape in (("conv1", (3, 3, 1, 8)), ("conv2", (3, 3, 8, 8))):
        kernel, bias = visualizer.weights(name)
        stored_kernel, stored_bias = shipped_mnist.get_layer(name).get_weights()
        assert kernel.shape == shape and bias.shape == (8,)
        np.testing.assert_array_equal(kernel, stored_kernel)
        np.testing.assert_array_equal(bias, stored_bias)
    with pytest.raises(ValueError):
        visualizer.weights("pool1")


def test_feature_maps_equal_an_independent_forward_pass(shipped_mnist, mnist_test):
    visualizer = FilterVisualizer(shipped_mnist)
    for image in mnist_test[0][:5]:
        expected = reference.all_feature_maps(shipped_mnist, image)
        for layer, maps in expected.items():
            np.testing.assert_allclose(visualizer.feature_maps(image, layer), maps, atol=1e-4)
    logits = reference.logits(shipped_mnist, mnist_test[0][0])
    np.testing.assert_allclose(np.asarray(shipped_mnist(mnist_test[0][:1]))[0], logits, atol=1e-4)


def test_filter_stats_count_firing_and_flag_dead_filters(shipped_mnist, mnist_test):
    visualizer = FilterVisualizer(shipped_mnist)
    images = mnist_test[0][:300]
    stats = visualizer.filter_stats(images, "conv2")
    maps = np.stack([reference.all_feature_maps(shipped_mnist, im)["conv2"] for im in images[:300]])
    np.testing.assert_allclose(stats.fire_rate, (maps > 1e-6).any(axis=(1, 2)).mean(axis=0), atol=0.01)
    np.testing.assert_allclose(stats.mean_activation, maps.mean(axis=(0, 1, 2)), rtol=1e-3, atol=1e-5)
    blank = visualizer.filter_stats(np.zeros((10, 28, 28)), "conv1")
    kernel, bias = visualizer.weights("conv1")
    np.testing.assert_array_equal(blank.dead, bias <= 0)  # on black images only the bias is left


# -- Grad-CAM ---------------------------------------------------------------------------
def test_grad_cam_equals_the_closed_form_on_a_loaded_model(grad_cam, shipped_mnist, mnist_test):
    images, labels = mnist_test
    borderline = 0
    for image, label in zip(images[:20], labels[:20]):
        for target in (int(label), (int(label) + 3) % 10):
            result = grad_cam.result(image, target)
            expected, largest_term = reference.grad_cam_conv2(shipped_mnist, image, target)
            assert result.raw.shape == (14, 14) and result.target == target
            threshold = NO_EVIDENCE_RATIO * largest_term
            if threshold / 2 < expected.max() < 2 * threshold:  # float32 and float64 may fall either side
                borderline += 1
                continue
            assert result.has_evidence == (expected.max() > threshold)
            if not result.has_evidence:  # reported as an all-zero map, not stretched noise
                expected = np.zeros_like(expected)
            np.testing.assert_allclose(result.raw, expected, rtol=1e-3, atol=1e-6)
    assert borderline <= 2  # the comparison covers (nearly) every case


def test_grad_cam_result_shapes_and_ranges(grad_cam, mnist_test):
    result = grad_cam.result(mnist_test[0][0])
    assert result.heatmap.shape == (28, 28) and result.heatmap.dtype == np.float32
    assert 0.0 <= result.heatmap.min() and result.heatmap.max() <= 1.0
    assert result.probabilities.shape == (10,) and abs(result.probabilities.sum() - 1) < 1e-5
    assert result.target == result.predicted == int(result.probabilities.argmax())
    with pytest.raises(ValueError):
        grad_cam.result(mnist_test[0][0], target=12)


def test_hires_cam_equals_the_closed_form_and_adds_up_to_the_logit(shipped_mnist, mnist_test):
    hires = HiResCAM(shipped_mnist)
    bias = shipped_mnist.get_layer("logits").get_weights()[1]
    for image in mnist_test[0][:10]:
        result = hires.result(image)
        # The reference picks each max-pool window's winner in float64, by the same rule for ties.
        expected, _ = reference.grad_cam_conv2(shipped_mnist, image, result.target, average=False)
        np.testing.assert_allclose(result.raw, expected, rtol=1e-3, atol=1e-5)
        conv2, grads = reference.conv2_gradients(shipped_mnist, image, result.target)
        logit = reference.logits(shipped_mnist, image)[result.target]
        assert abs((conv2 * grads).sum() - (logit - bias[result.target])) < 1e-3  # the closed form is exact


def test_grad_cam_is_class_discriminative(grad_cam, shipped_mnist, mnist_test):
    """Maps differ between classes, and the predicted class mostly has positive evidence.

    Not always with Grad-CAM: after max-pool and dense, the mean gradient alpha_k of a map is
    the mean dense weight of its channel, the same for every image, and for some classes
    negative on every active map. HiResCAM keeps the evidence where it is.
    """
    hires = HiResCAM(shipped_mnist)
    images = mnist_test[0][:200]
    grad_cam_evidence = hires_evidence = 0
    for image in images:
        maps = grad_cam.explain_all(image)
        predicted = maps[0].predicted
        grad_cam_evidence += maps[predicted].has_evidence
        hires_evidence += hires.result(image).has_evidence
        differences = [np.abs(maps[predicted].heatmap - m.heatmap).mean() for m in maps if m.target != predicted]
        assert max(differences) > 0.05
    assert grad_cam_evidence >= 0.7 * len(images)
    assert hires_evidence >= 0.99 * len(images)


def test_explain_all_matches_one_by_one(grad_cam, mnist_test):
    image = mnist_test[0][3]
    for result in grad_cam.explain_all(image):
        single = grad_cam.result(image, result.target)
        np.testing.assert_allclose(result.heatmap, single.heatmap, atol=1e-5)


def test_no_evidence_is_all_zero_never_nan(grad_cam):
    blank = grad_cam.result(np.zeros((28, 28)), target=3)
    assert np.isfinite(blank.heatmap).all()
    if not blank.has_evidence:
        assert blank.heatmap.max() == 0.0 and blank.raw.max() == 0.0


def test_counterfactual_and_guided_variants(grad_cam, shipped_mnist, mnist_test):
    image = mnist_test[0][0]
    cam = grad_cam.result(image)
    against = grad_cam.counterfactual(image, cam.target)
    assert not np.allclose(against.heatmap, cam.heatmap)
    guided = GuidedBackprop(shipped_mnist).explain(image, cam.target)[0]
    assert guided.shape == (28, 28) and np.abs(guided).max() > 0
    combined = guided_grad_cam(guided, cam.heatmap)
    np.testing.assert_allclose(combined, guided * cam.heatmap, atol=1e-6)
    # Guided backprop is not the plain input gradient: it drops negative gradients at every ReLU.
    import tensorflow as tf

    x = tf.constant(image[np.newaxis])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = shipped_mnist(x)[0, cam.target]
    plain = tape.gradient(score, x).numpy()[0, :, :, 0]
    assert not np.allclose(plain, guided)


# -- Activation maximization ------------------------------------------------------------
def test_synthesized_images_beat_every_real_image(shipped_mnist, mnist_test):
    images = mnist_test[0][:1000]
    maximizer = ActivationMaximizer(shipped_mnist)
    visualizer = FilterVisualizer(shipped_mnist)
    targets = maximizer.targets_of("conv1") + maximizer.targets_of("conv2")
    result = maximizer.maximize_targets(targets)
    assert result.images.shape == (16, 28, 28) and result.objective.shape == (16, 256)
    assert 0 <= result.images.min() and result.images.max() <= 1
    for layer in ("conv1", "conv2"):
        stats = visualizer.filter_stats(images, layer)
        best_real = np.max([visualizer.feature_maps(im, layer).mean(axis=(0, 1)) for im in images], axis=0)
        for i, (target_layer, index) in enumerate(targets):
            if target_layer != layer or stats.dead[index]:
                continue
            synthesized = visualizer.feature_maps(result.images[i], layer)[:, :, index].mean()
            assert synthesized > best_real[index], f"{layer} filter {index}"


def test_maximization_is_deterministic_and_converges(shipped_mnist):
    maximizer = ActivationMaximizer(shipped_mnist)
    first = maximizer.maximize("conv2", filters=[1, 5], steps=64, seed=3)
    second = maximizer.maximize("conv2", filters=[1, 5], steps=64, seed=3)
    np.testing.assert_array_equal(first.images, second.images)
    assert np.all(first.objective[:, -1] > first.objective[:, 0])


def test_class_logit_objective(shipped_mnist):
    maximizer = ActivationMaximizer(shipped_mnist)
    result = maximizer.maximize("logits", filters=[0, 7], steps=128)
    logits = np.asarray(shipped_mnist(result.images[..., np.newaxis]))
    assert logits[0].argmax() == 0 and logits[1].argmax() == 7


def test_bad_parameters_are_refused(shipped_mnist):
    maximizer = ActivationMaximizer(shipped_mnist)
    for kwargs in ({"layer": "conv9"}, {"layer": "conv1", "filters": [8]}, {"layer": "conv1", "steps": -5},
                   {"layer": "conv1", "steps": 10**6}, {"layer": "conv1", "lr": float("nan")}):
        with pytest.raises(ValueError):
            maximizer.maximize(**kwargs)
