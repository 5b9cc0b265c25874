"""The Experiments tab's logic without the UI, on the shipped models (and variants trained into a folder of
their own, tests/experiment_models.py): every view's pictures and numbers, and every mistake a message."""
from __future__ import annotations

import re

import numpy as np
import pytest

from cnn.architecture import build_model
from cnn.model_manager import ModelManager
from cnn.model_store import load_card
from cnn.preprocessing import InputImageError
from explainers import Attack, match_filters
from explainers.adversarial import STEPS
from plots.html_grids import grey_uint8
from plots.overlay import signed_rgb
from tests.experiment_models import models_folder, shipped_models_folder
from tests.inline_images import inline_images
from webapp import experiments_view, networks_view
from webapp.experiments_view import (ATTACKS, adversarial_example, feature_inversion, robustness_view,
                                     style_transfer_view)
from webapp.networks_view import SEED_PAIRS, deeper_network, match_view
from webapp.served import ServedExplainers

FGSM, PGD, TARGETED = ATTACKS
SAME_START = "MNIST vs Fashion-MNIST, both shipped (the same seed-0 start)"
CURVE_IMAGES = 100  # the page's 1,000 cost a minute here: the API and browser tests run those


@pytest.fixture(scope="module")
def manager(tmp_path_factory) -> ModelManager:
    return ModelManager(models_folder(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="module")
def served(manager) -> ServedExplainers:
    return ServedExplainers(manager)


@pytest.fixture(scope="module")
def mnist_set(served):
    return served("mnist")


@pytest.fixture(scope="module")
def seven(mnist_set) -> np.ndarray:
    """The first shipped test image, a 7 (the shipped model says so, 100 % sure)."""
    return mnist_set.test_set[0][0, :, :, 0]


def numbers_after(label: str, page: str) -> list[float]:
    return [float(n) for n in re.findall(re.escape(label) + r" (?:<b>)?([\d.]+)", page)]


# -- adversarial examples -----------------------------------------------------------------------------------------
def test_a_targeted_attack_shows_the_three_images_both_predictions_and_the_evidence(mnist_set, seven):
    page = adversarial_example(mnist_set, seven, TARGETED, 0.2, 3)
    assert "ε = 0.20: 7 became 3" in page
    expected = Attack(mnist_set.served.model).run(seven, [3], 0.2, STEPS)  # independently, the same attack
    pictures = inline_images(page)
    assert len(pictures) == 3 + 2 * 4  # the three images, then 4 maps of Grad-CAM and of HiResCAM
    original, perturbation, adversarial = pictures[:3]
    np.testing.assert_array_equal(original, grey_uint8(seven))
    np.testing.assert_array_equal(adversarial, grey_uint8(expected.adversarial[0]))
    np.testing.assert_array_equal(perturbation, signed_rgb(expected.perturbation[0]))
    assert np.abs(adversarial.astype(int) - original).max() <= 0.2 * 255 + 1
    assert "full colour = ±0.20" in page and "amplified ×5" in page
    assert "<b>7&nbsp;100%</b>" in page  # before, and after: the target with its probability
    assert f"<b>3&nbsp;{expected.probabilities[0, 3]:.0%}</b>" in page
    for stage in ("before", "after"):
        for cls in (7, 3):
            assert page.count(f"{stage}: evidence for&nbsp;<b>{cls}</b>") == 2  # Grad-CAM and HiResCAM
    maps = pictures[3:]
    assert all(m.shape == (112, 112, 3) for m in maps) and all(m.std() > 5 for m in maps)


def test_untargeted_attacks_and_a_failed_one(mnist_set, seven):
    fgsm = adversarial_example(mnist_set, seven, FGSM, 0.3, 0)
    assert "Untargeted FGSM (one step), ε = 0.30: 7 became" in fgsm
    pgd = adversarial_example(mnist_set, seven, PGD, 0.2, 0)
    assert "7 became" in pgd
    unchanged = adversarial_example(mnist_set, seven, PGD, 0.0, 0)
    assert "the network still says 7" in unchanged and "no pixel changed" in unchanged
    # Still 7: its maps are shown beside those of the runner-up, the class closest to winning.
    assert "after: evidence for&nbsp;<b>7</b>" in unchanged


@pytest.mark.parametrize("image, kind, epsilon, aim, message", [
    (None, TARGETED, 0.2, 3, "Choose, draw or upload an image first"),
    ("seven", "DeepFool", 0.2, 3, "Choose an attack"),
    ("seven", PGD, 0.7, 3, "ε must be between 0 and 0.5"),
    ("seven", PGD, "a lot", 3, "ε must be a number"),
    ("seven", TARGETED, 0.2, 12, "The target class must be between 0 and 9"),
    ("seven", TARGETED, 0.2, 7, "The network already says 7: aim at another class"),
])
def test_attack_mistakes_are_messages(mnist_set, seven, image, kind, epsilon, aim, message):
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        adversarial_example(mnist_set, seven if image == "seven" else image, kind, epsilon, aim)
    if image is None:
        assert isinstance(raised.value, InputImageError)


def test_the_robustness_curve_and_the_targeted_success_rates_are_computed_once(served, monkeypatch):
    sets = [served("mnist"), served("fashion_mnist")]
    picture, table = robustness_view(sets, CURVE_IMAGES)
    assert picture.ndim == 3 and picture.std() > 10
    assert [row[0] for row in table] == ["MNIST", "Fashion-MNIST"]
    for explainer_set, row in zip(sets, table):
        images, labels = explainer_set.test_set
        clean = np.mean(explainer_set.test_predictions[:CURVE_IMAGES] == labels[:CURVE_IMAGES])
        assert row[1] == f"{clean:.1%}"
        aims = (labels[:100] + 1) % 10
        at_01 = Attack(explainer_set.served.model).run(images[:100], aims, 0.1).success.mean()
        assert row[2] == f"{at_01:.0%}"
        rates = [float(cell.rstrip("%")) for cell in row[2:]]
        assert rates == sorted(rates) and rates[-1] >= 90  # a larger ε never helps less; 0.3 reaches the target
    # Remembered with each model: the second time nothing is attacked.
    monkeypatch.setattr(Attack, "robustness_curve", lambda *args, **kwargs: pytest.fail("computed again"))
    again = robustness_view(sets, CURVE_IMAGES)
    assert again[1] == table
    np.testing.assert_array_equal(again[0], picture)


# -- feature inversion, style transfer --------------------------------------------------------------------------
def test_feature_inversion_shows_every_layer_with_its_errors(mnist_set, seven):
    page = feature_inversion(mnist_set, seven)
    pictures = inline_images(page)
    assert len(pictures) == 6  # the image, then conv1, pool1, conv2, pool2, logits
    np.testing.assert_array_equal(pictures[0], grey_uint8(seven))
    for layer, size in (("conv1", "6,272"), ("pool1", "1,568"), ("conv2", "1,568"), ("pool2", "392"),
                        ("logits", "10")):
        assert f"<b>from {layer}</b><br>{size} numbers" in page
    pixel_errors = numbers_after("pixel error", page)
    assert len(pixel_errors) == 5 and pixel_errors[0] < 0.15 < 0.6 < pixel_errors[-1]  # conv1 keeps it, logits don't
    assert all(error < 0.1 for error in numbers_after("feature error", page))


def test_style_transfer_takes_the_style_of_a_shipped_test_image(mnist_set, seven, fashion_test):
    page = style_transfer_view(mnist_set, seven, "fashion_mnist", 0)
    content, style, result = inline_images(page)
    np.testing.assert_array_equal(content, grey_uint8(seven))
    np.testing.assert_array_equal(style, grey_uint8(fashion_test[0][0, :, :, 0]))
    assert not np.array_equal(result, content)
    assert "test image #0 of Fashion-MNIST (Ankle boot)" in page
    before, after = map(float, re.search(r"relative\): <b>([\d.]+) → ([\d.]+)</b>", page).groups())
    assert after < 0.5 * before
    with pytest.raises(ValueError, match="The style comes from one of"):
        style_transfer_view(mnist_set, seven, "cifar10", 0)
    with pytest.raises(ValueError, match="The style image must be between 0 and 9,999"):
        style_transfer_view(mnist_set, seven, "mnist", 10_000)
    with pytest.raises(InputImageError):
        feature_inversion(mnist_set, None)


# -- networks compared --------------------------------------------------------------------------------------------
def kernel_cosines(a, b) -> np.ndarray:
    """Filter k of one conv1 against filter k of the other, in float64."""
    ka, kb = (m.get_layer("conv1").kernel.numpy().reshape(9, -1).astype(np.float64) for m in (a, b))
    return (ka * kb).sum(axis=0) / np.linalg.norm(ka, axis=0) / np.linalg.norm(kb, axis=0)


def test_across_datasets_the_shared_start_is_measured(served, manager):
    page = match_view(served, manager, SAME_START, "conv1")
    mnist, fashion = served("mnist").served.model, served("fashion_mnist").served.model
    matching = match_filters(mnist, fashion, "conv1")
    shown = re.findall(r"#(\d) ↔ #(\d)<br><b>([+-][\d.]+)</b>", page)
    assert [(int(i), int(j)) for i, j, _ in shown] == matching.pairs
    np.testing.assert_allclose([float(s) for *_, s in shown], matching.similarity, atol=0.005)
    assert f"{matching.twins} of 8 conv1 filters have a close twin" in page
    assert len(inline_images(page)) == 16 and page.count(">twin</b>") == matching.twins
    assert "Both started from the <b>same</b> untrained network (seed 0)" in page
    start = build_model(seed=0)  # what the shipped models' cards say they started from
    for model, title in ((mnist, "MNIST (shipped)"), (fashion, "Fashion-MNIST (shipped)")):
        kept = kernel_cosines(model, start)
        assert f"{title} against its own untrained start (seed 0, filter k with filter k): mean " \
               f"<b>{kept.mean():+.2f}</b>; {int((kept >= 0.8).sum())} of 8" in page
    same_index = sum(i == j for i, j in matching.pairs)
    assert f"{same_index} of 8 pairs are still filter k with filter k" in page


def test_two_seeds_differ_from_the_start_and_conv2_is_matched_by_its_maps(served, manager, seven):
    page = match_view(served, manager, "MNIST seed 1 vs MNIST seed 2", "conv2", seven)
    assert "of 8 conv2 filters have a close twin" in page and "correlation of the feature maps" in page
    assert "<b>different</b> untrained networks (seeds 1 and 2)" in page
    assert "feature map of your image" in page
    pictures = inline_images(page)
    assert len(pictures) == 16 and all(p.shape == (14, 14, 3) for p in pictures)
    for pair in SEED_PAIRS:  # every choice of the dropdown works on a server that has the variants
        assert "close twin" in match_view(served, manager, pair, "conv1")
    with pytest.raises(ValueError, match="Choose a pair"):
        match_view(served, manager, "MNIST vs CIFAR", "conv1")
    with pytest.raises(ValueError, match="Filters are matched at"):
        match_view(served, manager, SAME_START, "pool1")


def test_missing_variants_say_how_to_train_them(tmp_path, seven):
    bare = ModelManager(shipped_models_folder(tmp_path / "models"))
    served = ServedExplainers(bare)
    with pytest.raises(ValueError, match=re.escape(
            "MNIST seed 1 is not on this server. The instructor can train it with "
            "`python train.py --dataset mnist --seed 1 --variant seed1`.")):
        match_view(served, bare, "MNIST (shipped, seed 0) vs MNIST seed 1", "conv1")
    with pytest.raises(ValueError, match=re.escape("--dataset fashion_mnist --filters 8 8 8 --variant conv3")):
        deeper_network(served("fashion_mnist"), bare, seven)


def test_the_deeper_network_beside_the_served_one(mnist_set, manager, seven):
    two, three = deeper_network(mnist_set, manager, seven)
    deep_accuracy = load_card(manager.variant_path("mnist", "conv3")).test_accuracy
    assert f"test accuracy <b>{mnist_set.served.card.test_accuracy:.2%}</b>" in two
    assert f"test accuracy <b>{deep_accuracy:.2%}</b>" in three
    assert "4,594 parameters" in two and "conv3 (8 filters 3x3, ReLU)" in three
    assert "at <b>conv2</b> (14x14 maps)" in two and "at <b>conv3</b> (7x7 maps)" in three
    assert "Prediction: 7" in two and "<b>conv3 #0</b>" not in two
    for column, layers in ((two, ("conv1", "conv2")), (three, ("conv1", "conv2", "conv3"))):
        assert [alt for alt in re.findall(r'alt="(conv\d) weights"', column)] == list(layers)
        for layer in layers:  # every filter of every conv layer synthesized
            assert f"<b>{layer} #7</b>" in column
    # The three-block model's explainers are built once, and so are its pictures.
    assert networks_view._deeper_set(mnist_set, manager) is networks_view._deeper_set(mnist_set, manager)
    assert deeper_network(mnist_set, manager, seven) == (two, three)
    assert experiments_view.experiments(mnist_set) is experiments_view.experiments(mnist_set)
