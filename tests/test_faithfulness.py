"""Deletion and insertion curves, checked against a naive loop and against maps whose answer is known,
on the shipped MNIST model loaded from disk."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from explainers import METHODS, AttributionMethod, HiResCAM
from explainers.faithfulness import (BLUR_SIGMA, PIXELS, RANDOM, STEPS, Faithfulness, auc, explained_classes,
                                     pixel_order, random_maps, removed_images, score_methods, tie_break_priority)

# The model runs in float32, on batches of different sizes here and in the naive loop; oneDNN may then sum in
# another order, moving a logit by ~1e-6 and a probability by less. 1e-5 is far below any step of a curve.
PROBABILITY_TOLERANCE = 1e-5


class ImageItself(AttributionMethod):
    """Perfect knowledge for a digit: the ink is the evidence, the background is none."""

    name, summary = "the image itself", "the ink"

    def _maps(self, images, targets):
        return images[..., 0]


class InkLast(ImageItself):
    """The opposite claim: the background first."""

    name = "the image, negated"

    def _maps(self, images, targets):
        return -images[..., 0]


class Noise(AttributionMethod):
    """Knows nothing: seeded noise, independent of the random map's."""

    name, summary = "noise", "noise"

    def _maps(self, images, targets):
        return np.random.default_rng(12345).random(images.shape[:3], dtype=np.float32)


@pytest.fixture(scope="module")
def faithfulness(shipped_mnist):
    return Faithfulness(shipped_mnist)


@pytest.fixture(scope="module")
def digits(mnist_test):
    return mnist_test[0][:300, :, :, 0]


@pytest.fixture(scope="module")
def tied_maps(shipped_mnist, digits):
    """Maps with many ties: HiResCAM's (zero off the digit), the same cut to four levels, and a flat one."""
    cam = HiResCAM(shipped_mnist).explain(digits[:3])
    levels = np.floor(4 * cam / cam.max(axis=(1, 2), keepdims=True)).clip(0, 3)
    return np.concatenate([cam, levels, np.zeros((1, 28, 28), np.float32)])


def naive_curves(model, image, importance, target, removed, steps=STEPS, seed=0):
    """One step at a time, one plain model call each: the definition, without the batching."""
    priority = tie_break_priority(seed)
    order = sorted(range(PIXELS), key=lambda p: (-float(importance.flat[p]), priority[p]))
    deletion, insertion = [], []
    for k in range(steps + 1):
        taken = np.zeros(PIXELS, bool)
        taken[order[:round(k * PIXELS / steps)]] = True
        for curve, x in ((deletion, np.where(taken, removed.ravel(), image.ravel())),
                         (insertion, np.where(taken, image.ravel(), removed.ravel()))):
            logits = np.asarray(model(x.reshape(1, 28, 28, 1).astype(np.float32), training=False), np.float64)[0]
            curve.append(scipy.special.softmax(logits)[target])
    return np.array(deletion), np.array(insertion)


def naive_auc(curve):
    return sum((curve[i] + curve[i + 1]) / 2 for i in range(len(curve) - 1)) / (len(curve) - 1)


@pytest.mark.parametrize("removal", ["black", "blur"])
def test_curves_and_aucs_equal_a_naive_loop(shipped_mnist, digits, tied_maps, removal):
    faithfulness = Faithfulness(shipped_mnist, removal)
    images = np.concatenate([digits[:3], digits[:3], digits[:1]])  # one image per map of tied_maps
    targets = explained_classes(shipped_mnist, images, 7)
    curves = faithfulness.curves(images, tied_maps, targets)
    for i in (0, 3, 6):  # a real map, the same cut to levels, a flat map
        deletion, insertion = naive_curves(shipped_mnist, images[i], tied_maps[i], 7,
                                           removed_images(images[i:i + 1], removal)[0])
        np.testing.assert_allclose(curves.deletion[i], deletion, atol=PROBABILITY_TOLERANCE)
        np.testing.assert_allclose(curves.insertion[i], insertion, atol=PROBABILITY_TOLERANCE)
        assert curves.deletion_auc[i] == pytest.approx(naive_auc(deletion), abs=PROBABILITY_TOLERANCE)
        assert curves.insertion_auc[i] == pytest.approx(naive_auc(insertion), abs=PROBABILITY_TOLERANCE)


def test_batched_equals_one_by_one(faithfulness, digits, tied_maps):
    images = np.concatenate([digits[:75], digits[:7]])  # more than one model call (70 images each)
    maps = np.concatenate([HiResCAM(faithfulness.model).explain(digits[:75]), tied_maps])
    batched = faithfulness.curves(images, maps)
    for i in range(0, len(images), 9):
        alone = faithfulness.curves(images[i], maps[i:i + 1])
        np.testing.assert_allclose(batched.deletion[i], alone.deletion[0], atol=PROBABILITY_TOLERANCE)
        np.testing.assert_allclose(batched.insertion[i], alone.insertion[0], atol=PROBABILITY_TOLERANCE)


def test_ties_follow_the_seeded_priority_not_the_pixel_index():
    flat = np.zeros((2, 28, 28))
    np.testing.assert_array_equal(pixel_order(flat)[0], np.argsort(tie_break_priority(0)))
    assert not np.array_equal(pixel_order(flat, seed=1)[0], pixel_order(flat)[0])
    assert not np.array_equal(pixel_order(flat)[0][:28], np.arange(28))  # not the top row first
    two_levels = np.zeros((1, 28, 28))
    two_levels[0, 20:, :] = 1.0  # the bottom 8 rows first, in priority order among themselves
    first = pixel_order(two_levels)[0][:8 * 28]
    assert set(first) == set(range(20 * 28, PIXELS))
    np.testing.assert_array_equal(first, [p for p in np.argsort(tie_break_priority(0)) if p >= 20 * 28])


def test_least_important_first_is_insertion_read_backwards(faithfulness, digits, tied_maps):
    images = np.concatenate([digits[:3], digits[:3], digits[:1]])
    most = faithfulness.curves(images, tied_maps)
    least = faithfulness.curves(images, tied_maps, order="least_first")
    np.testing.assert_allclose(least.deletion, most.insertion[:, ::-1], atol=PROBABILITY_TOLERANCE)
    np.testing.assert_allclose(least.deletion_auc, most.insertion_auc, atol=PROBABILITY_TOLERANCE)
    assert (least.deletion_auc[:3] > most.deletion_auc[:3] + 0.2).all()  # ... and far from deletion's


def test_random_map_deletes_and_inserts_alike_on_average(faithfulness, digits):
    # In a random order, deleting k of the pixels and inserting the other 784 - k give the same kind of image,
    # so the expected deletion and insertion AUCs are equal; for real maps they are far apart.
    curves = faithfulness.curves(digits, random_maps(len(digits), seed=3))
    difference = curves.deletion_auc - curves.insertion_auc
    standard_error = difference.std(ddof=1) / np.sqrt(len(difference))
    assert abs(difference.mean()) < 4 * standard_error  # four standard errors: fails by chance 1 in 15,000
    assert 0.3 < curves.deletion_auc.mean() < 0.8  # the probability does fall: pixels are being removed


def test_auc_of_known_curves():
    assert auc(np.full((3, STEPS + 1), 0.3)) == pytest.approx([0.3] * 3, abs=1e-12)  # a constant curve
    assert auc(np.linspace(1.0, 0.0, STEPS + 1)) == pytest.approx(0.5, abs=1e-12)  # trapezoids: exact on lines
    assert auc(np.r_[1.0, np.zeros(STEPS)]) == pytest.approx(0.5 / STEPS, abs=1e-12)  # falls at the first step


def blur_reference(image, sigma):
    """Gaussian blur as a matrix product: weights exp(-d^2 / 2 sigma^2) out to 4 sigma, zero beyond the border."""
    radius = int(4 * sigma + 0.5)
    weights = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2))
    weights /= weights.sum()
    rows = np.array([[weights[k - i + radius] if abs(k - i) <= radius else 0.0 for k in range(28)]
                     for i in range(28)])
    return rows @ image @ rows.T


def test_removal_values(shipped_mnist, faithfulness, digits, tied_maps):
    np.testing.assert_array_equal(removed_images(digits[:2], "black"), 0.0)
    blurred = removed_images(digits[:2], "blur")
    for image, blur in zip(digits[:2], blurred):
        np.testing.assert_allclose(blur, blur_reference(image.astype(np.float64), BLUR_SIGMA), atol=1e-6)
    with pytest.raises(ValueError):
        Faithfulness(shipped_mnist, "grey")
    with pytest.raises(ValueError):
        faithfulness.curves(digits[:1], tied_maps[:1], order="middle_first")
    with pytest.raises(ValueError):
        faithfulness.curves(digits[:1], np.full((1, 28, 28), np.nan))
    for removal, removed in (("black", np.zeros((2, 28, 28))), ("blur", blurred)):
        curves = Faithfulness(shipped_mnist, removal).curves(digits[:2], tied_maps[:2], 7)
        end = scipy.special.softmax(np.asarray(shipped_mnist(removed[..., None]), np.float64), axis=1)[:, 7]
        start = scipy.special.softmax(np.asarray(shipped_mnist(digits[:2, ..., None]), np.float64), axis=1)[:, 7]
        np.testing.assert_allclose(curves.deletion[:, -1], end, atol=PROBABILITY_TOLERANCE)  # all removed
        np.testing.assert_allclose(curves.insertion[:, 0], end, atol=PROBABILITY_TOLERANCE)
        np.testing.assert_allclose(curves.deletion[:, 0], start, atol=PROBABILITY_TOLERANCE)  # the image itself
        np.testing.assert_allclose(curves.insertion[:, -1], start, atol=PROBABILITY_TOLERANCE)


def test_table_tells_known_maps_from_chance(faithfulness, digits):
    images = digits[:150]
    methods = {cls.name: cls(faithfulness.model) for cls in (ImageItself, InkLast, Noise)}
    rows = {row.method: row for row in faithfulness.table(images, -1, methods)}
    ink = rows["the image itself"]
    assert ink.beats_random_deletion and ink.beats_random_insertion
    assert ink.deletion.mean < ink.random_deletion.mean - 0.1 and ink.insertion.mean > ink.random_insertion.mean + 0.1
    last = rows["the image, negated"]  # worse than chance: one-sided tests do not call it better
    assert not last.beats_random_deletion and not last.beats_random_insertion and last.deletion_p > 0.5
    noise = rows["noise"]
    assert not noise.beats_random_deletion and not noise.beats_random_insertion
    chance = faithfulness.curves(images, random_maps(len(images)))
    for row in rows.values():
        assert row.random_deletion.mean == pytest.approx(chance.deletion_auc.mean(), abs=1e-9)
        assert row.random_insertion.mean == pytest.approx(chance.insertion_auc.mean(), abs=1e-9)
        for interval in (row.deletion, row.insertion, row.random_deletion):
            half = interval.high - interval.mean
            assert 0 < half < 0.1 and interval.mean - interval.low == pytest.approx(half)
        assert row.ms_per_image > 0
    ink_curves = faithfulness.curves(images, images)
    assert ink.deletion.mean == pytest.approx(ink_curves.deletion_auc.mean(), abs=1e-9)


def test_score_methods_scores_every_registered_method_on_one_image(shipped_mnist, digits):
    image = digits[0]
    scores = score_methods(shipped_mnist, image)
    assert [score.method for score in scores] == [*METHODS, RANDOM]
    target = int(explained_classes(shipped_mnist, image, -1)[0])
    faithfulness = Faithfulness(shipped_mnist)
    for score in scores:
        assert score.map.shape == (28, 28) and score.deletion.shape == score.insertion.shape == (STEPS + 1,)
        if score.method != RANDOM:
            np.testing.assert_allclose(score.map, METHODS[score.method](shipped_mnist).explain(image, target)[0],
                                       rtol=1e-5, atol=1e-7)
        alone = faithfulness.curves(image, score.map[None], target)
        np.testing.assert_allclose(score.deletion, alone.deletion[0], atol=PROBABILITY_TOLERANCE)
        assert score.deletion_auc == pytest.approx(float(auc(score.deletion)), abs=1e-12)
        assert score.insertion_auc == pytest.approx(float(auc(score.insertion)), abs=1e-12)
        assert 0 <= score.deletion_auc <= 1 and 0 <= score.insertion_auc <= 1
