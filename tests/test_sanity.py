"""Sanity checks: the randomizations change exactly what they say, reproducibly, on a copy; the similarity
measures read 1 for the same map and about 0 for an unrelated one; and the shipped shuffled-labels model
knows nothing. On models loaded from disk."""
from __future__ import annotations

import numpy as np
import pytest

from cnn import shuffled_labels
from cnn.architecture import Architecture, build_model
from cnn.evaluation import accuracy
from cnn.model_manager import ModelManager
from cnn.model_store import load_card, load_model
from explainers import METHODS, GuidedBackprop, HiResCAM
from explainers.faithfulness import explained_classes, random_maps
from explainers.sanity import (SHUFFLED_LABELS, SanityCheck, cascade_layers, compare, randomized_copy, spearman,
                               ssim)
from tests.test_faithfulness import ImageItself

SHUFFLED_MODEL = ModelManager().shuffled_labels_path("mnist")


@pytest.fixture(scope="module")
def digits(mnist_test):
    return mnist_test[0][:40, :, :, 0]


@pytest.fixture(scope="module")
def shuffled_model():
    return load_model(SHUFFLED_MODEL)  # safe mode: no code, no pickle


def weights_of(model):
    return {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers}


def test_cascade_goes_from_the_top_down():
    assert cascade_layers(build_model()) == ["logits", "conv2", "conv1"]
    assert cascade_layers(build_model(Architecture((4, 4, 4)))) == ["logits", "conv3", "conv2", "conv1"]


def test_randomization_is_reproducible_and_changes_exactly_the_stages_layers(shipped_mnist):
    before = weights_of(shipped_mnist)
    stage = ["logits", "conv2"]
    first, again, other_seed = (randomized_copy(shipped_mnist, stage, seed) for seed in (0, 0, 1))
    changed = weights_of(first)
    for name, weights in changed.items():
        for new, same_seed, other, old in zip(weights, weights_of(again)[name], weights_of(other_seed)[name],
                                               before[name]):
            np.testing.assert_array_equal(new, same_seed)
            if name in stage and new.ndim > 1:  # kernels: fresh, and another seed, others
                assert not np.isclose(new, old).any() and not np.isclose(new, other).any()
            elif name not in stage:
                np.testing.assert_array_equal(new, old)
    for name in stage:  # Keras' own initializers: glorot-uniform kernels, zero biases
        kernel, bias = changed[name]
        fan_in, fan_out = np.prod(kernel.shape[:-1]), np.prod(kernel.shape[:-2]) * kernel.shape[-1]
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert 0.9 * limit < np.abs(kernel).max() <= limit
        np.testing.assert_array_equal(bias, 0.0)
    for name, weights in weights_of(shipped_mnist).items():  # the model served is untouched
        for now, then in zip(weights, before[name]):
            np.testing.assert_array_equal(now, then)


def test_checks_leave_the_served_model_untouched(shipped_mnist, shuffled_model, digits):
    before = weights_of(shipped_mnist)
    check = SanityCheck(shipped_mnist, {"HiResCAM": HiResCAM})
    check.cascade(digits[:2])
    check.data_randomization(shuffled_model, digits[:2])
    for name, weights in weights_of(shipped_mnist).items():
        for now, then in zip(weights, before[name]):
            np.testing.assert_array_equal(now, then)


def test_similarity_of_a_map_with_itself_its_negative_and_noise(shipped_mnist, digits):
    maps = GuidedBackprop(shipped_mnist).explain(digits)  # signed, and never constant
    np.testing.assert_allclose(spearman(maps, maps), 1.0, atol=1e-12)
    np.testing.assert_allclose(spearman(maps, -maps), -1.0, atol=1e-12)
    np.testing.assert_allclose(spearman(maps, maps ** 3), 1.0, atol=1e-12)  # ranks only: any increasing function
    np.testing.assert_allclose(ssim(maps, maps), 1.0, atol=1e-5)  # float32 SSIM of equal images
    itself = compare("m", "s", maps, maps)
    assert (itself.spearman_abs, itself.spearman_signed, itself.undefined) == (pytest.approx(1.0), 1.0, 0)
    negated = compare("m", "s", maps, -maps)
    assert negated.spearman_abs == pytest.approx(1.0) and negated.ssim == pytest.approx(1.0, abs=1e-5)
    noise = compare("m", "s", maps, random_maps(len(maps)) - 0.5)
    # The correlation of 784 unrelated pixels has a standard error of 1/sqrt(783) = 0.036 per image, so its mean
    # over 40 images is within 0.03 of zero unless something is wrong; SSIM of a sparse map and noise is low.
    assert abs(noise.spearman_signed) < 0.03 and abs(noise.spearman_abs) < 0.03 and noise.ssim < 0.2


def test_constant_maps_are_counted_undefined_not_averaged(digits):
    flat = np.zeros((3, 28, 28), np.float32)
    score = compare("m", "s", np.concatenate([digits[:2], flat[:1]]), np.concatenate([digits[:2], digits[:1]]))
    assert score.undefined == 1 and score.spearman_abs == pytest.approx(1.0) and score.images == 3


def test_cascade_equals_fresh_methods_on_randomized_copies(shipped_mnist, digits):
    # The check builds each method once on its copy and only assigns weights at each stage: that must give what
    # a method built from scratch on a randomized copy gives. Every registered method at the last stage (a method
    # that kept anything of the old weights would show it there), and one through every stage.
    images = digits[:3]
    targets = explained_classes(shipped_mnist, images, -1)
    scores = SanityCheck(shipped_mnist).cascade(images, seed=5)
    layers = cascade_layers(shipped_mnist)
    assert [(s.method, s.stage) for s in scores] == [(m, layer) for layer in layers for m in METHODS]
    for score in scores:
        if score.stage != layers[-1] and score.method != "HiResCAM":
            continue
        method = METHODS[score.method]
        copy = randomized_copy(shipped_mnist, layers[:layers.index(score.stage) + 1], seed=5)
        expected = compare(score.method, score.stage, method(shipped_mnist).explain(images, targets),
                           method(copy).explain(images, targets))
        for field in ("spearman_abs", "spearman_signed", "ssim"):  # equal weights, but separately traced passes:
            # their float32 sums may round apart by ~1e-7, enough to swap two near-tied pixels' ranks, not more
            assert getattr(score, field) == pytest.approx(getattr(expected, field), abs=1e-4, nan_ok=True)


def test_the_fully_randomized_stage_alone_is_the_cascades_last(shipped_mnist, digits):
    """The Compare tab's table computes only that stage: the same similarities, without the stages before it."""
    check, images = SanityCheck(shipped_mnist), digits[:3]
    last = cascade_layers(shipped_mnist)[-1]
    cascaded = {s.method: s for s in check.cascade(images, seed=2) if s.stage == last}
    alone = check.fully_randomized(images, seed=2)
    assert [s.method for s in alone] == list(METHODS) and {s.stage for s in alone} == {last}
    for score in alone:
        for field in ("spearman_abs", "spearman_signed", "ssim"):
            assert getattr(score, field) == pytest.approx(getattr(cascaded[score.method], field), abs=1e-6,
                                                          nan_ok=True)
    # Another seed, other random weights: Saliency's maps (never constant, so their SSIM is defined) change.
    other = {s.method: s.ssim for s in check.fully_randomized(images, seed=3)}
    assert other["Saliency"] != pytest.approx({s.method: s.ssim for s in alone}["Saliency"], abs=1e-3)


def test_a_map_blind_to_the_network_fails_and_hirescam_passes(shipped_mnist, shuffled_model, digits):
    check = SanityCheck(shipped_mnist, {"image": ImageItself, "HiResCAM": HiResCAM})
    scores = check.cascade(digits) + check.data_randomization(shuffled_model, digits)
    blind = [s for s in scores if s.method == "image"]
    assert all(s.spearman_abs == pytest.approx(1.0) and s.ssim == pytest.approx(1.0, abs=1e-5) for s in blind)
    hirescam = {s.stage: s for s in scores if s.method == "HiResCAM"}
    assert set(hirescam) == {"logits", "conv2", "conv1", SHUFFLED_LABELS}
    assert all(s.spearman_signed < 0.8 and s.ssim < 0.8 for s in hirescam.values())


def test_the_shipped_shuffled_labels_model_knows_nothing(shuffled_model, shipped_mnist, mnist_test):
    images, labels = mnist_test
    measured = accuracy(shuffled_model, images, labels)
    card = load_card(SHUFFLED_MODEL)
    assert measured < 0.2 and card.test_accuracy < 0.2  # chance is 0.1; the real model gets 0.989
    assert card.test_accuracy == pytest.approx(measured, abs=1e-4)
    assert card.train_images == shuffled_labels.TRAIN_LIMIT and card.parameters == 4594
    assert shuffled_model.count_params() == shipped_mnist.count_params()


def test_the_training_command_shuffles_and_saves(tmp_path, offline_data_dir, mnist_test):
    labels = np.arange(1000) % 10
    shuffled = shuffled_labels.shuffled_labels(labels, seed=0)
    np.testing.assert_array_equal(np.bincount(shuffled), np.bincount(labels))  # the same classes, in a new order
    np.testing.assert_array_equal(shuffled, shuffled_labels.shuffled_labels(labels, seed=0))
    assert np.mean(shuffled == labels) < 0.2
    args = ["--data-dir", str(offline_data_dir), "--models-dir", str(tmp_path), "--train-limit", "256",
            "--epochs", "1"]
    assert shuffled_labels.main(args) == 0
    path = ModelManager(tmp_path).shuffled_labels_path("mnist")
    card = load_card(path)
    assert card.train_images == 256 and card.config.epochs == 1
    assert card.test_accuracy == pytest.approx(accuracy(load_model(path), *mnist_test), abs=1e-4)
