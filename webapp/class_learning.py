"""Learn from the class: fine-tune the served MNIST model on the class's own digits, and show what it gained
(on the class's digits held out) and what it forgot (on MNIST's test digits).

The instructor's, under the same policy as a training (it makes a model that may be served to everyone), and
with the class's token. The class's drawings are split once more each time (class_data.held_out: a fixed
fraction of each digit's drawings held out), the served model's weights are fine-tuned in the training
worker's idle-priority process (cnn/fine_tuning.py), optionally with MNIST's training images mixed in, and
the result is kept as the class's variant of the MNIST model, ``class_<code>``: served only when the
instructor says so, forgotten when the class ends.
"""
from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from classroom.classes import CLASS_DATASET, Classroom, ClassRefused
from cnn.fine_tuning import MNIST_PER_NEW_DIGIT, RECIPE, NewDigits, mnist_training_set_here
from cnn.model_manager import ModelManager, ServedModel
from cnn.training import TrainedModel, TrainingProgress
from plots import figure_to_image, training_curves_figure
from plots.before_after import changed_drawings_html, confusion_table_html, percent
from webapp.class_data import HELD_OUT, held_out
from webapp.class_wall import asked_field
from webapp.policy import ServerPolicy
from webapp.training_view import TrainingUpdate, history_of, progress_updates

MIN_TO_LEARN = 10  # drawings to learn from, at least; and one held out
MIN_HELD_OUT = 1


def class_variant(code: str) -> str:
    """The name of the class's fine-tuned model among the MNIST model's variants."""
    return f"class_{code.lower()}"


def forget_class_model(manager: ModelManager, code: str) -> None:
    """The class has ended or expired: its drawings are erased, and the model learned from them goes too."""
    manager.remove_variant(CLASS_DATASET, class_variant(code))


@dataclass
class LearningJob:
    """One fine-tuning on a class's digits, run by a thread; the page follows its ``progress``."""
    code: str
    digits: NewDigits
    numbers: list[int]  # the held-out drawings' numbers on the wall
    mix_mnist: bool
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    progress: list[TrainingProgress] = field(default_factory=list)
    trained: TrainedModel | None = None
    error: str | None = None

    def run(self, manager: ModelManager) -> None:
        try:
            self.trained = manager.fine_tune_variant(CLASS_DATASET, class_variant(self.code), self.digits,
                                                     self.mix_mnist, self.progress.append, self.cancel)
        except Exception as err:  # shown on the page; the served model is untouched
            self.error = f"The fine-tuning failed: {err}"
        finally:
            self.done.set()


def split_digits(classroom: Classroom, code: object, token: object) -> tuple[str, NewDigits, list[int]]:
    """The class's drawings, split: its code, the digits to learn from and to hold out, the held-out numbers."""
    code = classroom.authorized(code, token)
    drawings = classroom.data_set(code, token)
    held = held_out([drawing for drawing, _ in drawings], code)
    if (~held).sum() < MIN_TO_LEARN or held.sum() < MIN_HELD_OUT:
        raise ClassRefused(f"Class {code} has {len(drawings)} drawings on its wall: learning from it needs at least "
                           f"{MIN_TO_LEARN + MIN_HELD_OUT + 4} (a part is held out to test on).")
    images = np.stack([pixels for _, pixels in drawings])
    labels = np.array([drawing.meant for drawing, _ in drawings], np.uint8)
    numbers = [drawing.number for (drawing, _), kept in zip(drawings, held) if kept]
    return code, NewDigits(images[~held], labels[~held], images[held], labels[held]), numbers


class ClassTutor:
    """The class's fine-tunings on this server, one at a time (the manager's training lock: with the Model tab's
    trainings too), and the serving of their models."""

    def __init__(self, classroom: Classroom, manager: ModelManager, policy: ServerPolicy) -> None:
        self.classroom, self.manager, self.policy = classroom, manager, policy
        self._jobs: dict[str, LearningJob] = {}
        self._lock = threading.Lock()

    @property
    def mnist_here(self) -> bool:
        return mnist_training_set_here(None if self.manager.data_dir is None else str(self.manager.data_dir))

    def start(self, asked: object, mix_mnist: bool) -> LearningJob:
        self.policy.require_training()
        code, digits, numbers = split_digits(self.classroom, asked_field(asked, "code"), asked_field(asked, "token"))
        if mix_mnist and not self.mnist_here:
            raise ClassRefused("MNIST's training set is not in this server's data folder (--data-dir): fine-tune on "
                               "the class's digits alone.")
        with self._lock:
            if self.manager.training_in_progress:
                raise ClassRefused("A model is already being trained on this server: wait for it to finish.")
            # A job is kept only while it may be cancelled: the finished ones (and their digits) go.
            self._jobs = {other: running for other, running in self._jobs.items() if not running.done.is_set()}
            job = self._jobs[code] = LearningJob(code, digits, numbers, bool(mix_mnist))
            threading.Thread(target=job.run, args=(self.manager,), daemon=True, name="class-learning").start()
        return job

    def cancel(self, asked: object) -> bool:
        self.policy.require_training()
        job = self._jobs.get(self.classroom.authorized(asked_field(asked, "code"), asked_field(asked, "token")))
        if job is None or job.done.is_set():
            return False
        job.cancel.set()
        return True

    def serve(self, asked: object) -> ServedModel:
        """Serve the class's fine-tuned model to everyone."""
        self.policy.require_training()
        code = self.classroom.authorized(asked_field(asked, "code"), asked_field(asked, "token"))
        if self.manager.variant_model(CLASS_DATASET, class_variant(code)) is None:
            raise ClassRefused(f"Class {code} has no fine-tuned model yet: learn from the class first.")
        return self.manager.serve_variant(CLASS_DATASET, class_variant(code))

    def reload(self, asked: object) -> ServedModel:
        """Serve the saved MNIST model again (undoes ``serve``, as the Model tab's reload does)."""
        self.policy.require_training()
        self.classroom.authorized(asked_field(asked, "code"), asked_field(asked, "token"))
        return self.manager.reload(CLASS_DATASET)


def learning_updates(job: LearningJob) -> Iterator[TrainingUpdate]:
    """What the page shows while the model learns, then the outcome (its ``confusion``: the before and after HTML)."""
    yield from progress_updates(job, "held-out accuracy", "Starting the training worker and loading the data…")
    if job.error:
        yield TrainingUpdate(0.0, f"⚠️ {html.escape(job.error)}")
    elif job.trained is None or job.trained.model is None:
        yield TrainingUpdate(0.0, "Fine-tuning cancelled: nothing changed.")
    else:
        seconds = job.trained.result.seconds
        yield TrainingUpdate(1.0, f"✅ Fine-tuned in {seconds:.0f} s on {job.trained.train_images:,} digits. It is "
                                  "kept, not served: compare, then choose.",
                             figure_to_image(training_curves_figure(history_of(job.progress), job.progress)))


def recipe_words(mix_mnist: bool) -> str:
    mixed = f", with {MNIST_PER_NEW_DIGIT} of MNIST's training digits per class digit" if mix_mnist else ""
    return (f"{RECIPE.epochs} epochs from the served model's weights, batches of {RECIPE.batch_size}, Adam at "
            f"{RECIPE.learning_rate:g}{mixed}; {HELD_OUT:.0%} of each digit's drawings held out")


def before_after_html(job: LearningJob) -> str:
    """Side by side: the held-out class digits and MNIST's test digits, before and after; the confusion
    matrices; the held-out drawings whose prediction changed."""
    evaluation, digits = job.trained.evaluation, job.digits
    meant = digits.held_out_labels.astype(int).tolist()
    before, after = evaluation["before"], evaluation["after"]
    held_counts = [np.zeros((10, 10), int) for _ in range(2)]
    for counts, read in zip(held_counts, (before["held_out"], after["held_out"])):
        np.add.at(counts, (meant, read), 1)
    held = [float(np.mean(np.array(read) == meant)) for read in (before["held_out"], after["held_out"])]
    test = [float(np.trace(c) / np.sum(c)) for c in (np.array(before["test_confusion"]), np.array(after["test_confusion"]))]
    rows = [("the class's held-out digits", len(meant), held), ("MNIST's test digits", 10_000, test)]
    table = "".join(f"<tr><td style='padding:2px 10px'>{what} ({count:,})</td>"
                    f"<td style='padding:2px 10px;text-align:right'>{percent(a)}</td>"
                    f"<td style='padding:2px 10px;text-align:right'><b>{percent(b)}</b></td>"
                    f"<td style='padding:2px 10px;text-align:right'>{(b - a) * 100:+.1f} points</td></tr>"
                    for what, count, (a, b) in rows)
    side_by_side = "<div style='display:flex;flex-wrap:wrap;gap:1.5em;margin:8px 0'>{}</div>"
    return (f"<p>Fine-tuned: {recipe_words(job.mix_mnist)}.</p>"
            "<table style='border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:1.05em'>"
            "<tr><th style='text-align:left;padding:2px 10px'>read right</th><th style='padding:2px 10px'>before</th>"
            "<th style='padding:2px 10px'>after</th><th style='padding:2px 10px'>change</th></tr>"
            f"{table}</table>"
            + side_by_side.format(confusion_table_html(held_counts[0], "Held-out class digits, before")
                                  + confusion_table_html(held_counts[1], "Held-out class digits, after"))
            + "<details><summary>MNIST's test digits: confusion matrices before and after</summary>"
            + side_by_side.format(confusion_table_html(np.array(before["test_confusion"]), "MNIST's test digits, before")
                                  + confusion_table_html(np.array(after["test_confusion"]), "MNIST's test digits, after"))
            + "</details>"
            + changed_drawings_html(digits.held_out_images, job.numbers, meant, before["held_out"], after["held_out"]))
