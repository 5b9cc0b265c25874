"""The Experiments tab's image experiments, on the student's image (the Grad-CAM tab's: a drawing, a
test image or an upload): adversarial examples and the robustness curve, feature inversion, style transfer.

Each experiment compiles its own TensorFlow pass for the served model, so they are built once per model
(``experiments``) and reused by every request; the robustness curve, half a minute of a core per model, is a
long job: computed once per model, on the first request, where no student's request waits for it. The rest
is heavy: the page sends it through the heavy queue. A student's mistake is an InputImageError or ValueError,
which the page shows as a message.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from cnn.architecture import NUM_CLASSES
from cnn.datasets import DATASETS, dataset_info
from explainers import Attack, AttackResult, CAMResult, FeatureInversion, StyleTransfer
from explainers.adversarial import STEPS
from plots import figure_to_image
from plots.experiments import attack_html, inversion_html, robustness_figure, style_html
from webapp.compare_view import checked_image
from webapp.maximization_view import checked_number
from webapp.once import Job, Waiting, wait_all
from webapp.served import ExplainerSet, shipped_test_set

ATTACKS: dict[str, tuple[int, bool]] = {  # the choice's name: (steps, targeted)
    "untargeted FGSM (one step)": (1, False),
    f"untargeted PGD ({STEPS} steps)": (STEPS, False),
    f"targeted PGD ({STEPS} steps)": (STEPS, True),
}
EPSILON_RANGE = (0.0, 0.5)
DEFAULT_EPSILON = 0.2
DEFAULT_AIM = 3  # "make the network call this 7 a 3"
CAM_METHODS = ("Grad-CAM", "HiResCAM")
# The curve's points: dense where the shipped models break (MNIST between 0.02 and 0.1, Fashion-MNIST
# below 0.04); beyond 0.15 both are at 0 %.
CURVE_EPSILONS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3)
CURVE_IMAGES = 1000
CURVE_SECONDS_PER_IMAGE = 0.015  # on this 2-core machine, idle (what a waiting student is told, at first)
SUCCESS_EPSILONS = (0.1, 0.2, 0.3)
SUCCESS_IMAGES = 100
SUCCESS_HEADERS = ["dataset", "clean accuracy"] + [f"ε = {e}" for e in SUCCESS_EPSILONS]
TEST_IMAGES = 10_000  # in each shipped test set


@dataclass(frozen=True)
class Experiments:
    """One model's compiled experiments (each traces its pass on its first call)."""

    attack: Attack
    inversion: FeatureInversion
    style: StyleTransfer

    @classmethod
    def of(cls, model: keras.Model) -> Experiments:
        return cls(Attack(model), FeatureInversion(model), StyleTransfer(model))


@dataclass(frozen=True)
class Robustness:
    """What the curve view shows for one model."""

    accuracy: np.ndarray  # (len(CURVE_EPSILONS),) under untargeted PGD, over the first ``images`` test images
    targeted_success: np.ndarray  # (len(SUCCESS_EPSILONS),) over the first SUCCESS_IMAGES test images
    images: int
    seconds: float

    @classmethod
    def of(cls, fields: dict) -> Robustness:
        """From its fields as a long job hands them back (lists for arrays)."""
        return cls(np.asarray(fields["accuracy"]), np.asarray(fields["targeted_success"]), fields["images"],
                   fields["seconds"])


def experiments(explainer_set: ExplainerSet) -> Experiments:
    """The served model's experiments, built on first use and kept with its explainers."""
    return explainer_set.remember("experiments", lambda: Experiments.of(explainer_set.served.model))


def aim_choices(dataset: str) -> list[tuple[str, int]]:
    """The classes a targeted attack can aim at, by name."""
    names = dataset_info(dataset).class_names
    return [(f"{i} · {name}" if name != str(i) else name, i) for i, name in enumerate(names)]


def _attack_kind(kind: object) -> tuple[int, bool]:
    if kind not in ATTACKS:
        raise ValueError(f"Choose an attack among {list(ATTACKS)}, not {kind!r}.")
    return ATTACKS[kind]


def _aim(value: object) -> int:
    return int(checked_number("The target class", value, 0, NUM_CLASSES - 1))


def _new_class(result: AttackResult) -> int:
    """The class the attack pushed towards: its target, or the adversarial prediction; if the prediction
    did not change, the runner-up after the attack (the class closest to winning)."""
    if result.targets is not None:
        return int(result.targets[0])
    old, after = int(result.original_predictions[0]), result.probabilities[0]
    return int(result.predictions[0]) if result.predictions[0] != old else int(np.argsort(after)[-2])


def _evidence(explainer_set: ExplainerSet, original: np.ndarray, adversarial: np.ndarray,
              classes: tuple[int, int]) -> dict[str, list[CAMResult]]:
    """Each CAM method's maps of (before, old), (before, new), (after, old), (after, new): one pass each."""
    images = np.stack([original, original, adversarial, adversarial])
    targets = np.array(classes * 2, np.int32)
    return {name: explainer_set.methods[name].results(images, targets) for name in CAM_METHODS}


def _attack_title(kind: str, epsilon: float, result: AttackResult, names: tuple[str, ...]) -> str:
    old, new = names[result.original_predictions[0]], names[result.predictions[0]]
    title = f"{kind[0].upper()}{kind[1:]}, ε = {epsilon:.2f}: "
    if result.targets is not None and not result.success[0]:
        return title + f"the network still says {old}, not {names[result.targets[0]]}: try a larger ε"
    if not result.success[0]:
        return title + f"the network still says {old}: try a larger ε or PGD"
    return title + f"{old} became {new}"


def adversarial_example(explainer_set: ExplainerSet, image28: np.ndarray | None, kind: object, epsilon: object,
                        aim: object) -> str:
    """The attack on the student's image: the three images, both predictions, and the evidence maps."""
    image = checked_image(image28)
    steps, targeted = _attack_kind(kind)
    radius = checked_number("ε", epsilon, *EPSILON_RANGE)
    names = explainer_set.class_names
    targets = [_aim(aim)] if targeted else None
    result = experiments(explainer_set).attack.run(image, targets, radius, steps)
    old = int(result.original_predictions[0])
    if targeted and targets[0] == old:
        raise ValueError(f"The network already says {names[old]}: aim at another class.")
    classes = (old, _new_class(result))
    maps = _evidence(explainer_set, image, result.adversarial[0], classes)
    return attack_html(image, result, maps, classes, names, _attack_title(str(kind), radius, result, names))


def robustness_rates(explainer_set: ExplainerSet, images: int) -> dict:
    """The model's curve and targeted success rates, as a Robustness's fields (the long job)."""
    start = time.perf_counter()
    test_images, labels = explainer_set.test_set
    attack = experiments(explainer_set).attack
    accuracy = attack.robustness_curve(test_images[:images], labels[:images], list(CURVE_EPSILONS))
    few, aims = test_images[:SUCCESS_IMAGES], (labels[:SUCCESS_IMAGES] + 1) % NUM_CLASSES  # never the label
    success = np.array([attack.run(few, aims, epsilon).success.mean() for epsilon in SUCCESS_EPSILONS])
    return dataclasses.asdict(Robustness(accuracy, success, images, time.perf_counter() - start))


def robustness_view(explainer_sets: list[ExplainerSet], images: int = CURVE_IMAGES,
                    on_wait: Callable[[Waiting], None] | None = None) -> tuple[np.ndarray, list[list]]:
    """Accuracy against ε for each served model (a picture), and the targeted success rates (a table).
    Each model's is computed once (a long job, all of them at once); ``on_wait`` hears what the student
    waits for meanwhile."""
    titles = [DATASETS[s.served.dataset].title for s in explainer_sets]
    computations = [s.long_job(("robustness", images), Job(
        robustness_rates, (images,), f"attacking {images:,} {title} test images at {len(CURVE_EPSILONS)} sizes of ε",
        images * CURVE_SECONDS_PER_IMAGE)) for s, title in zip(explainer_sets, titles)]
    results = {title: Robustness.of(fields) for title, fields in zip(titles, wait_all(computations, on_wait))}
    curves = {title: r.accuracy for title, r in results.items()}
    figure = robustness_figure(np.array(CURVE_EPSILONS), curves, images, STEPS)
    table = [[title, f"{r.accuracy[0]:.1%}", *(f"{rate:.0%}" for rate in r.targeted_success)]
             for title, r in results.items()]
    return figure_to_image(figure), table


def feature_inversion(explainer_set: ExplainerSet, image28: np.ndarray | None) -> str:
    """The student's image reconstructed from each layer's activations, with their errors."""
    image = checked_image(image28)
    inversion = experiments(explainer_set).inversion
    model = explainer_set.served.model
    sizes = {layer: int(np.prod(model.get_layer(layer).output.shape[1:])) for layer in inversion.layers}
    return inversion_html(image, inversion.invert_all(image), sizes)


def style_image(dataset: object, index: object) -> tuple[np.ndarray, str]:
    """A shipped test image to take the style of, and its name ("test image #12 of Fashion-MNIST (Bag)")."""
    if dataset not in DATASETS:
        raise ValueError(f"The style comes from one of {list(DATASETS)}, not {dataset!r}.")
    position = int(checked_number("The style image", index, 0, TEST_IMAGES - 1))
    images, labels = shipped_test_set(dataset)
    info = DATASETS[dataset]
    return images[position, :, :, 0], f"test image #{position} of {info.title} ({info.class_names[labels[position]]})"


def style_transfer_view(explainer_set: ExplainerSet, image28: np.ndarray | None, style_dataset: object,
                        style_index: object) -> str:
    """The student's image (content) drawn with the style of a shipped test image."""
    content = checked_image(image28)
    style, title = style_image(style_dataset, style_index)
    result = experiments(explainer_set).style.transfer(content, style)
    return style_html(content, style, result, title)
