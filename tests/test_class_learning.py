"""The class's digits as a data set, and learning from them (issue 21): the held-out split, the wall's table of the
served model's readings per digit, and a fine-tuning in the idle-priority worker on a class of writers the model
never met, which raises the accuracy on the held-out part and serves nothing until the instructor says so.
"""
from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pytest

from classroom.classes import ClassRefused, Classroom
from classroom.keys import InstructorKey
from classroom.store import ClassStore, StoredDrawing
from cnn.evaluation import predict_logits
from cnn.model_manager import DEFAULT_MODELS_DIR, ModelManager
from cnn.model_store import card_path, load_card
from harness.classroom import KEY, new_writers
from webapp.class_data import HELD_OUT, ClassReadings, held_out
from webapp.class_learning import ClassTutor, before_after_html, class_variant, forget_class_model, learning_updates
from webapp.header import model_card
from webapp.policy import NotAllowedError, ServerPolicy
from webapp.served import ServedExplainers

WRITERS = 300  # the class's drawings: 210 to learn from, 90 held out


def drawings(meant: list[int], first: int = 1) -> list[StoredDrawing]:
    return [StoredDrawing(first + i, digit, 0, 0.0) for i, digit in enumerate(meant)]


def test_the_held_out_part_is_the_same_share_of_every_digit_and_keeps_its_drawings_as_the_class_grows():
    rng = np.random.default_rng(0)
    meant = rng.integers(0, 10, 200).tolist()
    held = held_out(drawings(meant), "K7QX2M")
    per_digit = Counter(m for m, kept in zip(meant, held) if kept)
    for digit, count in Counter(meant).items():
        assert per_digit[digit] == int(count * HELD_OUT + 0.5), f"digit {digit}: {count} drawings"
    grown = held_out(drawings(meant + rng.integers(0, 10, 40).tolist()), "K7QX2M")
    assert (grown[:200] != held).sum() <= 10, "only drawings at a digit's margin change sides"
    assert (held_out(drawings(meant), "OTHERS") != held).any(), "another class, another draw"
    assert not held_out(drawings([3]), "K7QX2M").any() and held_out(drawings([3, 3]), "K7QX2M").sum() == 1


@pytest.fixture
def models(tmp_path):
    """A models folder of the test's own, with the shipped MNIST model and its card (variants are saved beside)."""
    folder = tmp_path / "models"
    folder.mkdir()
    shipped = DEFAULT_MODELS_DIR / "mnist_simple_cnn.keras"
    for path in (shipped, card_path(shipped)):
        shutil.copy(path, folder)
    return folder


def read(model, images: np.ndarray) -> np.ndarray:
    return predict_logits(model, images[..., np.newaxis]).argmax(axis=1)


def table_reads(readings: ClassReadings, classroom: Classroom, opened, meant: np.ndarray, predicted: np.ndarray):
    """The wall's table, and the one expected from ``predicted`` (what the served model reads in every drawing)."""
    wall = classroom.wall(opened.code, opened.token)
    table = readings.per_digit(opened.code, wall.drawings,
                               lambda after: classroom.images(opened.code, opened.token, after))
    on_wall = np.array([d.number - 1 for d in wall.drawings])
    right = np.bincount(meant[on_wall], weights=predicted[on_wall] == meant[on_wall], minlength=10)
    return table, right.astype(int).tolist()


def test_learning_from_new_writers_raises_the_held_out_accuracy_and_serves_nothing_until_asked(tmp_path, models,
                                                                                              mnist_test):
    manager = ModelManager(models)
    served = manager.get("mnist")
    saved_weights = [w.copy() for w in served.model.get_weights()]
    # The wall's own prediction does not matter here: the fine-tuning reads every drawing again, in the worker.
    classroom = Classroom(ClassStore.in_folder(tmp_path / "classes"), lambda image: 0, InstructorKey(KEY))
    opened = classroom.open(KEY)
    images, meant = new_writers(WRITERS)
    for i, (image, digit) in enumerate(zip(images, meant)):
        classroom.send(opened.code, image.reshape(-1).tolist(), int(digit), f"student {i}")
    classroom.hide(opened.code, opened.token, 1)  # hidden: out of the data set
    readings = ClassReadings(ServedExplainers(manager))
    table, expected = table_reads(readings, classroom, opened, meant, read(served.model, images))
    assert table["read_right"] == expected and table["drawings"] == np.bincount(meant[1:], minlength=10).tolist()
    test_read = read(served.model, mnist_test[0][..., 0])
    assert table["mnist"] == pytest.approx([np.mean(test_read[mnist_test[1] == d] == d) for d in range(10)])

    asked = {"code": opened.code, "token": opened.token}
    for refused, policy, ask in ((NotAllowedError, ServerPolicy(False), asked),
                                 (ClassRefused, ServerPolicy(True), {**asked, "token": "not the class's token"})):
        with pytest.raises(refused):
            ClassTutor(classroom, manager, policy).start(ask, mix_mnist=False)
    tutor = ClassTutor(classroom, manager, ServerPolicy(True))
    with pytest.raises(ClassRefused, match="no fine-tuned model yet"):
        tutor.serve(asked)
    job = tutor.start(asked, mix_mnist=False)
    updates = list(learning_updates(job))
    assert job.error is None and job.trained.model is not None, updates[-1].status
    assert "Fine-tuned in" in updates[-1].status and any("held-out accuracy" in u.status for u in updates)

    held = np.array(job.numbers) - 1
    assert 1 not in job.numbers and len(held) == sum(int(n * HELD_OUT + 0.5) for n in np.bincount(meant[1:]))
    assert job.trained.train_images == WRITERS - 1 - len(held), "the held-out digits and the hidden one left out"
    before, after = job.trained.evaluation["before"], job.trained.evaluation["after"]
    assert before["held_out"] == read(served.model, images[held]).tolist(), "before: what the served model read"
    variant = manager.variant_model("mnist", class_variant(opened.code))
    assert after["held_out"] == read(variant, images[held]).tolist()
    accuracy = {name: np.mean(np.array(run["held_out"]) == meant[held]) for name, run in job.trained.evaluation.items()}
    test_accuracy = {name: np.trace(run["test_confusion"]) / len(mnist_test[1])
                     for name, run in job.trained.evaluation.items()}
    print(f"held-out class digits {accuracy['before']:.3f} -> {accuracy['after']:.3f}; "
          f"MNIST test {test_accuracy['before']:.4f} -> {test_accuracy['after']:.4f}")
    assert accuracy["after"] >= accuracy["before"] + 0.15, accuracy
    assert test_accuracy["before"] == pytest.approx(served.card.test_accuracy, abs=1e-4)
    assert test_accuracy["after"] == pytest.approx(load_card(manager.variant_path("mnist", class_variant(
        opened.code))).test_accuracy, abs=1e-4) and test_accuracy["after"] > 0.8, "forgetting, measured: mild"
    page = before_after_html(job)
    for figure in (accuracy["before"], accuracy["after"], test_accuracy["before"], test_accuracy["after"]):
        assert f"{figure * 100:.1f} %" in page
    changed = int((np.array(before["held_out"]) != np.array(after["held_out"])).sum())
    assert f"{changed} drawings now read differently" in page

    assert manager.get("mnist") is served, "the served model is untouched until the instructor serves the variant"
    assert all(np.array_equal(a, b) for a, b in zip(served.model.get_weights(), saved_weights))
    tutor.serve(asked)
    assert manager.get("mnist").model is variant
    card = manager.get("mnist").card
    assert card.fine_tuned_from == served.card and card.train_images == job.trained.train_images
    header = model_card(manager.get("mnist"))  # what every page's header says of the model served now
    assert (f"fine-tuned {card.trained_at[:16].replace('T', ' ')} UTC on {card.train_images:,} images" in header
            and f"from the model trained {served.card.trained_at[:10]} on 60,000 images" in header), header
    table, expected = table_reads(readings, classroom, opened, meant, read(variant, images))
    assert table["read_right"] == expected, "the wall's table reads again with the model served now"
    tutor.reload(asked)
    assert all(np.array_equal(a, b) for a, b in zip(manager.get("mnist").model.get_weights(), saved_weights))
    forget_class_model(manager, opened.code)
    assert not manager.variant_path("mnist", class_variant(opened.code)).exists()
    assert manager.variant_model("mnist", class_variant(opened.code)) is None


def test_a_class_too_small_to_learn_from_is_told_so(tmp_path, models):
    classroom = Classroom(ClassStore.in_folder(tmp_path / "classes"), lambda image: 0, InstructorKey(KEY))
    opened = classroom.open(KEY)
    images, meant = new_writers(8)
    for i, (image, digit) in enumerate(zip(images, meant)):
        classroom.send(opened.code, image.reshape(-1).tolist(), int(digit), f"student {i}")
    tutor = ClassTutor(classroom, ModelManager(models), ServerPolicy(True))
    with pytest.raises(ClassRefused, match="has 8 drawings on its wall: learning from it needs at least"):
        tutor.start({"code": opened.code, "token": opened.token}, mix_mnist=False)
