"""Adversarial attacks, feature inversion, style transfer and filter matching, on models loaded from disk.

Floating-point tolerances: a perturbation is computed in float32, where 1 has a spacing of 1.2e-7, so
|adv − x| may exceed ε by a few of those (1e-6 allows eight); the other comparisons are against
independent float64 computations, or exact (the same compiled pass, run twice).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from cnn.architecture import Architecture, build_model
from cnn.training import TrainingConfig, train_model
from explainers import (Attack, FeatureInversion, StyleTransfer, attack, invert, match_filters,
                        robustness_curve)
from explainers.adversarial import margin
from explainers.filter_matching import TWIN_THRESHOLD
from explainers.style_transfer import STYLE_LAYERS
from tests import reference

FLOAT32_SLACK = 1e-6


@pytest.fixture(scope="module")
def digits(mnist_test) -> tuple[np.ndarray, np.ndarray]:
    """The first 100 shipped MNIST test images (100, 28, 28) and their labels."""
    images, labels = mnist_test
    return images[:100, ..., 0], labels[:100]


@pytest.fixture(scope="module")
def attacker(shipped_mnist) -> Attack:
    return Attack(shipped_mnist)


@pytest.fixture(scope="module")
def wrong_targets(digits) -> np.ndarray:
    """A seeded class other than its label for every image."""
    return (digits[1] + np.random.default_rng(0).integers(1, 10, len(digits[1]))) % 10


@pytest.fixture(scope="module")
def three_block_model(mnist_test):
    """A three-block model (conv3/pool3), trained for one epoch on 3,000 shipped test images."""
    images, labels = mnist_test
    model = build_model(Architecture((8, 8, 8)), seed=3)
    train_model(model, (images[:3000], labels[:3000]), (images[9000:], labels[9000:]),
                TrainingConfig(epochs=1, seed=3))
    return model


# -- Adversarial examples ---------------------------------------------------------------
@pytest.mark.parametrize("steps", [1, 40])
@pytest.mark.parametrize("epsilon", [0.1, 0.3])
def test_attacks_stay_in_the_epsilon_ball_and_in_the_pixel_range(attacker, digits, wrong_targets, steps, epsilon):
    images = digits[0]
    for targets in (None, wrong_targets):
        result = attacker.run(images, targets, epsilon, steps)
        distance = np.abs(result.adversarial - images).max(axis=(1, 2))
        assert distance.max() <= epsilon + FLOAT32_SLACK
        assert result.adversarial.min() >= 0 and result.adversarial.max() <= 1
        np.testing.assert_array_equal(result.linf, distance)
        # An attack of this strength uses its budget: most images move by the whole ε somewhere.
        assert np.mean(distance >= epsilon - FLOAT32_SLACK) > 0.9


def test_fgsm_is_one_signed_gradient_step_of_the_logit_margin(attacker, shipped_mnist, digits):
    images = tf.constant(digits[0][:20, ..., None])
    with tf.GradientTape() as tape:  # independently: the model's own call, not explainers.forward
        tape.watch(images)
        logits = shipped_mnist(images, training=False)
        objective = -margin(logits, tf.argmax(logits, axis=1, output_type=tf.int32))
    grads = tape.gradient(objective, images).numpy()[..., 0]
    expected = np.clip(digits[0][:20] + 0.1 * np.sign(grads), 0, 1)
    adversarial = attacker.run(digits[0][:20], None, epsilon=0.1, steps=1).adversarial
    # Where the gradient is not ~0, its sign cannot depend on the order of float32 sums.
    clear = np.abs(grads) > 1e-4 * np.abs(grads).max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(adversarial[clear], expected[clear], atol=FLOAT32_SLACK)


def test_targeted_pgd_reaches_most_targets_at_eps_0_3(attacker, digits, wrong_targets):
    result = attacker.run(digits[0], wrong_targets, epsilon=0.3, steps=40)
    np.testing.assert_array_equal(result.success, result.predictions == wrong_targets)
    assert result.success.mean() >= 0.9  # measured: 100% on the shipped MNIST model (67% at ε = 0.1)
    np.testing.assert_array_equal(result.targets, wrong_targets)
    assert (result.original_predictions == wrong_targets).mean() <= 0.02  # the model did not say so before


@pytest.mark.parametrize("steps", [1, 40])
def test_untargeted_attacks_change_most_predictions_at_eps_0_3(attacker, digits, steps):
    result = attacker.run(digits[0], None, epsilon=0.3, steps=steps)
    assert result.targets is None
    assert result.success.mean() >= 0.9  # measured: 100% for FGSM and for PGD
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1, atol=1e-5)


def test_attack_function_is_the_class_and_is_deterministic(attacker, shipped_mnist, digits, wrong_targets):
    images = digits[0][:10]
    adversarial = attack(shipped_mnist, images, wrong_targets[:10], epsilon=0.2, steps=40)
    assert adversarial.shape == (10, 28, 28) and adversarial.dtype == np.float32
    np.testing.assert_array_equal(adversarial, attacker.run(images, wrong_targets[:10], 0.2, 40).adversarial)
    np.testing.assert_array_equal(adversarial, attack(shipped_mnist, images, wrong_targets[:10], 0.2, 40))


@pytest.mark.parametrize("bad", [dict(epsilon=1.5), dict(epsilon=float("nan")), dict(steps=0),
                                 dict(targets=np.full(3, -1)), dict(targets=np.full(3, 10)),
                                 dict(targets=np.zeros(2, int))])
def test_attack_refuses_what_a_user_can_get_wrong(attacker, digits, bad):
    with pytest.raises(ValueError):
        attacker.run(digits[0][:3], **bad)


def test_robustness_curve_starts_at_the_accuracy_and_never_rises(shipped_mnist, digits):
    images, labels = digits
    epsilons = [0.3, 0.0, 0.05, 0.1]  # in any order
    curve = robustness_curve(shipped_mnist, images, labels, epsilons)
    clean = (np.asarray(shipped_mnist(images[..., None])).argmax(axis=1) == labels).mean()
    assert curve[1] == clean
    assert curve[1] >= curve[2] >= curve[3] >= curve[0]
    assert curve[0] <= 0.05  # measured: 0 at ε = 0.3 (0.59 at 0.05, 0.02 at 0.1 over 1,000 images)
    # Every image it calls broken has an adversarial image inside the ball: one PGD run at 0.1 finds
    # no fewer than the curve's chain of attacks at 0.05 and 0.1 misses, within a few images.
    direct = (Attack(shipped_mnist).run(images, None, 0.1).predictions == labels).mean()
    assert curve[3] <= direct + 0.05


# -- Feature inversion ------------------------------------------------------------------
@pytest.fixture(scope="module")
def inversion(shipped_mnist) -> FeatureInversion:
    return FeatureInversion(shipped_mnist)


def test_conv1_keeps_the_image_and_the_logits_do_not(inversion, digits):
    for image in digits[0][:3]:
        result = inversion.invert_all(image)
        assert list(result) == ["conv1", "pool1", "conv2", "pool2", "logits"]
        conv1, logits = result["conv1"], result["logits"]
        # Measured over 10 images, pixel errors: 0.02-0.05 from conv1, 0.08-0.45 from conv2, 0.99-1.47 from logits.
        assert conv1.pixel_error < 0.15 and logits.pixel_error > 0.6
        assert conv1.pixel_error < 0.2 * logits.pixel_error
        for reconstruction in result.values():  # every layer is matched: what differs, it threw away
            assert reconstruction.feature_error < 0.1
            assert reconstruction.image.min() >= 0 and reconstruction.image.max() <= 1


def test_reported_errors_are_those_of_the_reconstructions(inversion, shipped_mnist, digits):
    image = digits[0][0]
    result = inversion.invert_all(image)
    original = reference.all_feature_maps(shipped_mnist, image)
    original["logits"] = reference.logits(shipped_mnist, image)
    for name, reconstruction in result.items():
        maps = reference.all_feature_maps(shipped_mnist, reconstruction.image)
        maps["logits"] = reference.logits(shipped_mnist, reconstruction.image)
        expected = np.sum((maps[name] - original[name]) ** 2) / np.sum(original[name] ** 2)
        # float32 activations against float64: a relative error of 1e-3 on a small number
        np.testing.assert_allclose(reconstruction.feature_error, expected, rtol=1e-3, atol=1e-6)
        expected_pixels = np.linalg.norm(reconstruction.image - image) / np.linalg.norm(image)
        np.testing.assert_allclose(reconstruction.pixel_error, expected_pixels, rtol=1e-5)


def test_invert_batches_one_layer_and_is_deterministic(shipped_mnist, digits):
    images = digits[0][:4]
    first = invert(shipped_mnist, images, layer="conv2")
    assert first.shape == (4, 28, 28)
    np.testing.assert_array_equal(first, invert(shipped_mnist, images, layer="conv2"))
    assert not np.array_equal(first, invert(shipped_mnist, images, layer="conv2", seed=1))
    with pytest.raises(ValueError):
        invert(shipped_mnist, images, layer="flatten")


# -- Style transfer ---------------------------------------------------------------------
def gram_loss(model, image: np.ndarray, style: np.ndarray) -> float:
    """The style loss in float64 from the independent forward pass."""
    def grams(x):
        maps = reference.all_feature_maps(model, x)
        return [np.einsum("hwc,hwd->cd", maps[n], maps[n]) / (maps[n].shape[0] * maps[n].shape[1])
                for n in STYLE_LAYERS]
    return float(np.mean([np.sum((g - s) ** 2) / np.sum(s ** 2) for g, s in zip(grams(image), grams(style))]))


def test_style_transfer_lowers_the_style_loss(shipped_mnist, digits, fashion_test):
    transfer = StyleTransfer(shipped_mnist)
    content = digits[0][0]
    thick_digit = digits[0][np.argmax(digits[0].sum(axis=(1, 2)))]
    for style in (thick_digit, fashion_test[0][0, ..., 0]):
        result = transfer.transfer(content, style)
        assert result.content_loss_before == pytest.approx(0, abs=1e-6)  # it starts from the content image
        # Measured: from 0.86 to 0.02 (an ankle boot's style) and from 0.40 to 0.04 (a thick digit).
        assert result.style_loss_after < 0.5 * result.style_loss_before
        np.testing.assert_allclose(result.style_loss_before, gram_loss(shipped_mnist, content, style), rtol=1e-4)
        np.testing.assert_allclose(result.style_loss_after, gram_loss(shipped_mnist, result.image, style),
                                   rtol=1e-3, atol=1e-6)
        assert result.content_loss_after < 1  # the digit's layout is still there
    from_noise = transfer.transfer(content, thick_digit, start="noise", seed=4)
    assert from_noise.style_loss_after < 0.5 * from_noise.style_loss_before
    assert from_noise.content_loss_after < 0.5 * from_noise.content_loss_before
    np.testing.assert_array_equal(from_noise.image, transfer.transfer(content, thick_digit, start="noise",
                                                                      seed=4).image)
    with pytest.raises(ValueError):
        transfer.transfer(content, thick_digit, start="blank")


# -- Filter matching --------------------------------------------------------------------
def brute_force_best_total(similarity: np.ndarray) -> float:
    n = similarity.shape[0]
    return max(similarity[np.arange(n), list(perm)].sum() for perm in itertools.permutations(range(n)))


def test_matching_is_optimal_against_brute_force(digits):
    model_a, model_b = (build_model(Architecture((5, 5)), seed=seed) for seed in (11, 12))
    images = digits[0][:50]
    for layer in ("conv1", "conv2"):
        matching = match_filters(model_a, model_b, layer=layer, images=images)
        assert sorted(i for i, _ in matching.pairs) == list(range(5)) == sorted(j for _, j in matching.pairs)
        assert matching.similarity.sum() == pytest.approx(brute_force_best_total(matching.matrix), abs=1e-9)
        assert list(matching.similarity) == sorted(matching.similarity, reverse=True)
        np.testing.assert_array_equal(matching.similarity, [matching.matrix[i, j] for i, j in matching.pairs])


def test_similarities_are_kernel_cosines_and_map_correlations(digits):
    model_a, model_b = (build_model(seed=seed) for seed in (11, 12))
    kernels = [m.get_layer("conv1").get_weights()[0].reshape(9, 8).T for m in (model_a, model_b)]
    cosines = np.array([[a @ b / np.linalg.norm(a) / np.linalg.norm(b) for b in kernels[1]] for a in kernels[0]])
    np.testing.assert_allclose(match_filters(model_a, model_b).matrix, cosines, atol=1e-6)
    images = digits[0][:10]
    maps = [np.stack([reference.all_feature_maps(m, x)["conv2"] for x in images]).reshape(-1, 8)
            for m in (model_a, model_b)]
    correlations = np.corrcoef(maps[0].T, maps[1].T)[:8, 8:]
    np.testing.assert_allclose(match_filters(model_a, model_b, "conv2", images).matrix, correlations, atol=1e-5)


@pytest.mark.parametrize("layer", ["conv1", "conv2"])
def test_a_model_matched_with_itself_is_the_identity(shipped_mnist, layer):
    matching = match_filters(shipped_mnist, shipped_mnist, layer=layer)
    assert sorted(matching.pairs) == [(i, i) for i in range(8)]
    np.testing.assert_allclose(matching.similarity, 1, atol=1e-6)
    assert matching.twins == 8


def test_a_negated_kernel_is_an_opposite_not_a_twin():
    model_a, model_b = build_model(seed=5), build_model(seed=5)
    kernel, bias = model_a.get_layer("conv1").get_weights()
    model_b.get_layer("conv1").set_weights([-kernel, bias])
    matching = match_filters(model_a, model_b)
    np.testing.assert_allclose(np.diag(matching.matrix), -1, atol=1e-6)
    assert matching.twins == 0 and all(i != j for i, j in matching.pairs)


def test_matching_across_datasets_and_in_a_third_block(shipped_mnist, three_block_model, digits):
    from cnn.model_manager import ModelManager

    fashion = ModelManager().get("fashion_mnist").model
    matching = match_filters(shipped_mnist, fashion, layer="conv1")
    assert len(matching.pairs) == 8 and np.all(np.abs(matching.similarity) <= 1 + 1e-6)
    assert matching.twins == int((matching.similarity >= TWIN_THRESHOLD).sum())
    third = match_filters(three_block_model, three_block_model, layer="conv3", images=digits[0][:50])
    assert sorted(third.pairs) == [(i, i) for i in range(8)]
    with pytest.raises(ValueError):
        match_filters(shipped_mnist, three_block_model, layer="conv3")
    with pytest.raises(ValueError):
        match_filters(shipped_mnist, fashion, layer="pool1")


def test_a_three_block_model_is_inverted_and_attacked_at_every_layer(three_block_model, digits, wrong_targets):
    result = FeatureInversion(three_block_model).invert_all(digits[0][0], steps=50)
    assert list(result) == ["conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "logits"]
    adversarial = Attack(three_block_model).run(digits[0][:10], wrong_targets[:10], epsilon=0.1).adversarial
    assert np.abs(adversarial - digits[0][:10]).max() <= 0.1 + FLOAT32_SLACK
