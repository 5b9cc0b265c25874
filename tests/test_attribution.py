"""The twelve attribution methods, each against an independent computation, on models loaded from disk.

Where a method is a gradient, its reference is float64: finite differences of tests/reference.py's
numpy forward pass. Where it is defined by model calls (occlusion, RISE, Score-CAM, SmoothGrad's
average), the reference makes those calls one at a time, in a plain loop.

Max-pool's derivative is not defined where two cells of a window tie, and the black background ties
them everywhere (conv1 there is its bias, the same in every cell). The explainers give such a window's
gradient to its first tied cell (explainers/max_pool.py), and tests/reference.py's float64 backward pass
follows the same rule, so gradients on plain test images are compared with it. Finite differences
measure the function itself, whose slope at a tie depends on the direction: where a gradient is compared
with them, the images get a faint dither (up to 0.05) that breaks the ties.
"""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from explainers import METHODS, PREDICTED, BaseCAM, FilterVisualizer, IntegratedGradients
from explainers.occlusion import PATCH, STRIDE
from tests import reference

NAMES = ["Saliency", "Gradient × Input", "SmoothGrad", "Integrated Gradients", "Occlusion", "RISE", "Guided Backprop",
         "Grad-CAM", "Grad-CAM++", "HiResCAM", "LayerCAM", "Score-CAM"]
HEAVY = {"SmoothGrad", "Integrated Gradients", "Occlusion", "RISE", "Score-CAM"}


def dithered(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, 28, 28) images with faint noise, so that no max-pool window has tied cells."""
    noise = np.random.default_rng(seed).uniform(0, 0.05, (len(images), 28, 28))
    return (images[..., 0] + noise).astype(np.float32)


@pytest.fixture(scope="module")
def methods(shipped_mnist):
    return {name: method(shipped_mnist) for name, method in METHODS.items()}


@pytest.fixture(scope="module")
def shipped_fashion():
    from cnn.model_manager import ModelManager

    return ModelManager().get("fashion_mnist").model


def logits_of(model, images: np.ndarray) -> np.ndarray:
    """Plain model calls, (N, 10)."""
    return np.asarray(model(np.asarray(images, np.float32).reshape(-1, 28, 28, 1)))


# -- The registry ---------------------------------------------------------------------
def test_the_registry_holds_the_twelve_methods_in_display_order():
    assert list(METHODS) == NAMES
    for name, method in METHODS.items():
        assert method.name == name and method.summary and "\n" not in method.summary
        assert method.per_stroke == (name not in HEAVY), name
    live = [name for name, method in METHODS.items() if method.per_stroke and issubclass(method, BaseCAM)]
    assert live[0] == "Grad-CAM"  # the page's default heatmap


@pytest.mark.parametrize("name", NAMES)
def test_batched_equals_one_by_one_with_targets_resolved(name, methods, shipped_mnist, mnist_test):
    method = methods[name]
    images = mnist_test[0][:5, :, :, 0]  # ties and all: tests/test_batch_invariance.py has many more images
    targets = np.array([PREDICTED, 3, PREDICTED, 0, 9])
    batched = method.explain(images, targets)
    assert batched.shape == (5, 28, 28) and batched.dtype == np.float32 and np.isfinite(batched).all()
    single = np.concatenate([method.explain(image, target) for image, target in zip(images, targets)])
    # Different batch sizes run different float32 kernels (other summation orders): about 1e-6 of the
    # map's scale apart. A wrong image or target is off by the order of the map itself.
    scale = np.abs(batched).max()
    np.testing.assert_allclose(batched, single, atol=1e-4 * scale)
    predicted = logits_of(shipped_mnist, images).argmax(axis=1)
    resolved = np.where(targets == PREDICTED, predicted, targets)
    np.testing.assert_allclose(method.explain(images, resolved), batched, atol=1e-4 * scale)
    assert not np.allclose(method.explain(images[:1], (predicted[0] + 1) % 10), batched[:1], atol=1e-4 * scale)


@pytest.mark.parametrize("name", NAMES)
def test_bad_targets_are_refused(name, methods):
    images = np.zeros((2, 28, 28), np.float32)
    for targets in (10, -2, [1, 2, 3], np.array([0.5, 1.0]), np.array([1, 12])):
        with pytest.raises(ValueError):
            methods[name].explain(images, targets)
    with pytest.raises(ValueError):
        methods[name].explain(np.zeros((2, 14, 14)), 0)


# -- Gradients --------------------------------------------------------------------------
def directional_derivative(model, image: np.ndarray, direction: np.ndarray, target: int, step: float = 1e-7) -> float:
    """(y(x + h v) - y(x - h v)) / 2h in float64. The network is piecewise linear, so this is exact
    unless a ReLU or a max-pool switches within +-h v. Along random directions the nearest switch is
    often only 1e-5 away (a quarter of these cases cross one with h = 1e-5), hence h = 1e-7; float64
    rounding then costs 1e-16 |y| / h, about 1e-8."""
    up = reference.logits(model, image + step * direction)[target]
    down = reference.logits(model, image - step * direction)[target]
    return (up - down) / (2 * step)


def test_saliency_and_gradient_x_input_equal_finite_differences(methods, shipped_mnist, mnist_test):
    # Where a window's largest cell is not the first within the tie tolerance, the rule's gradient is not the
    # function's slope: such images are left out (the dither makes one, a conv1 cell active by 4e-7).
    images, labels = dithered(mnist_test[0][:8], seed=1), mnist_test[1][:8]
    kept = [i for i, image in enumerate(images) if not reference.near_ties(shipped_mnist, image)]
    assert len(kept) >= 6
    rng = np.random.default_rng(2)
    for image, label in zip(images[kept], labels[kept]):
        for target in (int(label), (int(label) + 5) % 10):
            saliency = methods["Saliency"].explain(image, target)[0].astype(np.float64)
            times_input = methods["Gradient × Input"].explain(image, target)[0].astype(np.float64)
            for _ in range(2):
                v = rng.standard_normal((28, 28))
                # float32 gradients against float64 differences: 1e-6 relative per pixel, summed over
                # 784 of them; 1e-4 of |g| |v| leaves room, and a wrong map is off by order one.
                tolerance = 1e-4 * np.linalg.norm(saliency) * np.linalg.norm(v)
                assert abs((saliency * v).sum() - directional_derivative(shipped_mnist, image, v, target)) < tolerance
                # sum(g * x * v) is the derivative along x * v
                along_image = directional_derivative(shipped_mnist, image, image * v, target)
                assert abs((times_input * v).sum() - along_image) < tolerance


def test_saliency_equals_the_float64_backward_pass_on_plain_images(shipped_mnist, shipped_fashion, mnist_test,
                                                                   fashion_test):
    """No dither: the background's tied windows give their gradient to the first tied cell, in both."""
    for model, (images, labels) in ((shipped_mnist, mnist_test), (shipped_fashion, fashion_test)):
        saliency = METHODS["Saliency"](model)
        for image, label in zip(images[:60, :, :, 0], labels[:60]):
            for target in (int(label), (int(label) + 5) % 10):
                expected = reference.gradients(model, image, target)["image"]
                # float32 against float64, through two conv layers: about 1e-7 of the map's scale
                np.testing.assert_allclose(saliency.explain(image, target)[0], expected, rtol=0,
                                           atol=1e-5 * np.abs(expected).max())


def test_smoothgrad_is_the_mean_saliency_of_its_noisy_copies_and_reproducible(methods, shipped_mnist, mnist_test):
    smooth, saliency = methods["SmoothGrad"], methods["Saliency"]
    image, target = mnist_test[0][0, :, :, 0], int(mnist_test[1][0])
    expected = saliency.explain(image + smooth.noise[..., 0], target).mean(axis=0)
    np.testing.assert_allclose(smooth.explain(image, target)[0], expected, atol=1e-5 * np.abs(expected).max())
    same, other = METHODS["SmoothGrad"](shipped_mnist, seed=0), METHODS["SmoothGrad"](shipped_mnist, seed=1)
    np.testing.assert_array_equal(same.explain(image, target), smooth.explain(image, target))
    assert not np.allclose(other.explain(image, target), smooth.explain(image, target))


# -- Integrated Gradients ------------------------------------------------------------------
@pytest.mark.parametrize("baseline", ["black", "blur", "noise"])
def test_integrated_gradients_add_up_to_the_score_change(baseline, shipped_mnist, shipped_fashion, mnist_test,
                                                         fashion_test):
    for model, (images, _) in ((shipped_mnist, mnist_test), (shipped_fashion, fashion_test)):
        images = images[:24, :, :, 0]
        method = IntegratedGradients(model, baseline=baseline)
        integral = method.integrate(images)
        predicted = logits_of(model, images).argmax(axis=1)
        rows = np.arange(len(images))
        change = (logits_of(model, images)[rows, predicted]
                  - logits_of(model, method.baselines(images[..., np.newaxis]))[rows, predicted])
        error = np.abs(integral.maps.sum(axis=(1, 2)) - change) / np.abs(change)
        assert error.max() < 0.02, f"{baseline}: worst completeness error {error.max():.2%}"
        np.testing.assert_allclose(integral.completeness_error, error, atol=1e-4)  # it reports what it is


def test_integrated_gradients_are_the_trapezoid_rule(shipped_mnist, mnist_test):
    """Forced to refine once (32 then 64 steps), it equals a 64-step trapezoid computed here."""
    images = dithered(mnist_test[0][:3], seed=3)
    method = IntegratedGradients(shipped_mnist, baseline="noise", tolerance=0.0, max_steps=64)
    integral = method.integrate(images, 2)
    assert (integral.steps == 64).all()
    alphas = np.linspace(0, 1, 65, dtype=np.float32)
    weights = np.full(65, 1 / 64)
    weights[[0, -1]] /= 2
    baseline = method.noise[..., 0]
    for image, computed in zip(images, integral.maps):
        points = baseline + alphas[:, None, None] * (image - baseline)
        grads = np.stack([reference.gradients(shipped_mnist, point, 2)["image"] for point in points])
        expected = (image - baseline) * np.tensordot(weights, grads, axes=1)
        np.testing.assert_allclose(computed, expected, atol=1e-5 * np.abs(expected).max())


def test_integrated_gradients_refuse_an_unknown_baseline(shipped_mnist):
    with pytest.raises(ValueError):
        IntegratedGradients(shipped_mnist, baseline="grey")


# -- Perturbation methods ----------------------------------------------------------------
def test_occlusion_equals_a_loop_over_patches(methods, shipped_mnist, mnist_test):
    for image, target in ((mnist_test[0][0, :, :, 0], PREDICTED), (mnist_test[0][1, :, :, 0], 4)):
        clean = logits_of(shipped_mnist, image)[0]
        target = int(clean.argmax()) if target == PREDICTED else target
        total, covered = np.zeros((28, 28)), np.zeros((28, 28))
        for i in range(0, 28 - PATCH + 1, STRIDE):
            for j in range(0, 28 - PATCH + 1, STRIDE):
                occluded = image.copy()
                occluded[i:i + PATCH, j:j + PATCH] = 0.0
                total[i:i + PATCH, j:j + PATCH] += clean[target] - logits_of(shipped_mnist, occluded)[0, target]
                covered[i:i + PATCH, j:j + PATCH] += 1
        expected = total / covered
        # float32 logits of about 10, differences of two: 1e-5 of the largest drop is rounding.
        np.testing.assert_allclose(methods["Occlusion"].explain(image, target)[0], expected,
                                   atol=1e-5 * np.abs(expected).max() + 1e-5)


def test_rise_is_its_definition_and_reproducible(methods, shipped_mnist, mnist_test):
    rise = methods["RISE"]
    masks = rise.masks[..., 0]
    assert masks.min() >= 0 and masks.max() <= 1 and abs(masks.mean() - rise.keep) < 0.03
    image, target = mnist_test[0][2, :, :, 0], 1
    probabilities = tf.nn.softmax(logits_of(shipped_mnist, image * masks)).numpy()[:, target].astype(np.float64)
    expected = np.tensordot(probabilities, masks, axes=1) / (len(masks) * rise.keep)
    np.testing.assert_allclose(rise.explain(image, target)[0], expected, rtol=1e-4)  # float32 sums of 500 terms
    np.testing.assert_array_equal(METHODS["RISE"](shipped_mnist, seed=0).explain(image, target),
                                  rise.explain(image, target))
    assert not np.allclose(METHODS["RISE"](shipped_mnist, seed=1).explain(image, target), rise.explain(image, target))


# -- The CAM family --------------------------------------------------------------------
def grad_cam_plus_plus(features: np.ndarray, grads: np.ndarray) -> np.ndarray:
    """pytorch-grad-cam's closed form, in numpy."""
    denominator = 2 * grads ** 2 + features.sum(axis=(0, 1)) * grads ** 3
    alphas = np.where(grads != 0, grads ** 2 / np.where(denominator == 0, 1, denominator), 0)
    weights = (alphas * np.maximum(grads, 0)).sum(axis=(0, 1))
    return np.maximum((weights * features).sum(axis=-1), 0)


def layer_cam(features: np.ndarray, grads: np.ndarray) -> np.ndarray:
    return np.maximum((np.maximum(grads, 0) * features).sum(axis=-1), 0)


def test_grad_cam_plus_plus_and_layer_cam_equal_their_formulas(shipped_mnist, mnist_test):
    cams = {(name, layer): METHODS[name](shipped_mnist, layer=layer)
            for name in ("Grad-CAM++", "LayerCAM") for layer in ("conv1", "conv2")}
    for image, label in zip(mnist_test[0][:6, :, :, 0], mnist_test[1][:6]):
        for target in (int(label), (int(label) + 7) % 10):
            # tests/reference.py's backward pass in float64, with the same rule for max-pool ties
            features, grads = reference.all_feature_maps(shipped_mnist, image), reference.gradients(shipped_mnist,
                                                                                                 image, target)
            for layer in ("conv2", "conv1"):
                for name, formula in (("Grad-CAM++", grad_cam_plus_plus), ("LayerCAM", layer_cam)):
                    raw = cams[name, layer].result(image, target).raw
                    expected = formula(features[layer], grads[layer])
                    assert raw.shape == expected.shape
                    # float32 against float64 over 8 to 72 products per value
                    np.testing.assert_allclose(raw, expected, rtol=1e-3, atol=1e-5 * expected.max() + 1e-7,
                                               err_msg=f"{name} on {layer}")


def test_score_cam_equals_its_definition_one_channel_at_a_time(shipped_mnist, mnist_test):
    for layer in ("conv2", "conv1"):
        score_cam = METHODS["Score-CAM"](shipped_mnist, layer=layer)
        for image, target in ((mnist_test[0][0, :, :, 0], 7), (mnist_test[0][5, :, :, 0], 3)):
            features = FilterVisualizer(shipped_mnist).feature_maps(image, layer).astype(np.float64)
            scores = []
            for k in range(features.shape[-1]):
                up = tf.image.resize(features[None, :, :, k:k + 1], (28, 28), method="bilinear").numpy()[0, :, :, 0]
                span = up.max() - up.min()
                mask = (up - up.min()) / span if span > 0 else np.zeros_like(up)
                scores.append(logits_of(shipped_mnist, image * mask)[0, target])
            weights = np.exp(scores - np.max(scores))
            weights /= weights.sum()
            expected = np.maximum((weights * features).sum(axis=-1), 0)
            np.testing.assert_allclose(score_cam.result(image, target).raw, expected, rtol=1e-3,
                                       atol=1e-5 * expected.max())
    with pytest.raises(ValueError):
        score_cam.counterfactual(mnist_test[0][0, :, :, 0])


def test_hires_cam_through_explain_adds_up_to_the_logit_minus_the_bias(methods, shipped_mnist, mnist_test):
    """``explain`` gives ReLU(map) upsampled. Bilinear upsampling by 2 gives every cell a total weight of
    4 (0.75 + 0.25 on either side, the border cell 1 + 0.75 + 0.25), so the 28x28 map sums to 4 x the
    14x14 one; the counterfactual map is ReLU(-map), so the two together sum to logit - bias."""
    hires = methods["HiResCAM"]
    bias = shipped_mnist.get_layer("logits").get_weights()[1]
    images = mnist_test[0][:10, :, :, 0]
    logits = logits_of(shipped_mnist, images)
    # One batch throughout: the same kernels, so the same max-pool winners where cells tie.
    results = zip(hires.explain(images), hires.results(images), hires.results(images, counterfactual=True), logits)
    for maps, factual, against, image_logits in results:
        target = int(image_logits.argmax())
        assert abs(maps.sum() - 4 * factual.raw.sum()) < 1e-4 * maps.sum()
        assert abs(factual.raw.sum() - against.raw.sum() - (image_logits[target] - bias[target])) < 1e-3


def test_gradient_cams_keep_their_counterfactual(methods, mnist_test):
    image = mnist_test[0][0, :, :, 0]
    for name in ("Grad-CAM", "Grad-CAM++", "HiResCAM", "LayerCAM"):
        cam = methods[name]
        assert not np.allclose(cam.counterfactual(image).heatmap, cam.result(image).heatmap), name
