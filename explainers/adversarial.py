"""Adversarial examples: a change too small to see that makes the network change its mind.

Every pixel may move by at most ε (the L∞ ball of radius ε around the image), and stays in [0, 1].

- **FGSM**, the fast gradient sign method (Goodfellow, Shlens & Szegedy 2015, *Explaining and
  Harnessing Adversarial Examples*): one step of exactly ε in the direction of the gradient's sign,
  x' = clip(x + ε·sign(∇ₓ objective)). A linear model's score moves by ε times the L1 norm of its
  weights: tiny per pixel, large over 784 pixels.
- **PGD**, projected gradient descent (Kurakin, Goodfellow & Bengio 2017; Madry et al. 2018, *Towards
  Deep Learning Models Resistant to Adversarial Attacks*): many smaller signed steps of size α, each
  followed by a projection back into the ε ball and into [0, 1]. It follows the curved decision surface
  that one FGSM step overshoots or undershoots.

``steps=1`` is FGSM; ``steps > 1`` is PGD with α = 2.5·ε/steps (the rule of thumb of Madry's group's
``robustness`` library: together the steps could travel 2.5·ε, so the attack still reaches the ball's
edge after steps that turned back).
PGD starts at the image itself, not at a random point of the ball as in Madry et al., so an attack is
deterministic: the same image gives the same adversarial image, on every call.

What the attack maximizes is a *margin of logits* (Carlini & Wagner 2017), as every gradient in this
package is of logits: untargeted, the best other class's logit minus the original class's (positive
once the prediction has changed); targeted, the target's logit minus the best other class's (positive
once the network says "target"). Untargeted attacks push away from the model's own prediction, or from
the true label (``robustness_curve``).
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from scipy.special import softmax

from cnn.architecture import NUM_CLASSES
from explainers.attribution import IMAGES, PREDICTED, TARGETS, as_images, as_targets, resolve_targets
from explainers.batching import CHUNK
from explainers.forward import forward

MAX_STEPS = 1000
STEPS = 40  # PGD's default; on the shipped MNIST model 20 steps leave up to 1.5 points more accuracy
PGD_STEP_FACTOR = 2.5  # α = PGD_STEP_FACTOR·ε/steps
UNTARGETED, TARGETED = -1.0, 1.0  # the sign of the margin the attack maximizes


@dataclass(frozen=True)
class AttackResult:
    """An attack on N images, with what the page shows beside them."""

    adversarial: np.ndarray  # (N, 28, 28) in [0, 1], |adversarial - original| <= epsilon
    perturbation: np.ndarray  # (N, 28, 28): adversarial - original, signed
    linf: np.ndarray  # (N,) the largest |perturbation| of each image
    original_probabilities: np.ndarray  # (N, 10) softmax before the attack
    probabilities: np.ndarray  # (N, 10) softmax after it
    targets: np.ndarray | None  # (N,) the classes aimed at; None for an untargeted attack
    epsilon: float
    steps: int  # 1: FGSM; more: PGD

    @property
    def original_predictions(self) -> np.ndarray:
        return self.original_probabilities.argmax(axis=1)

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def success(self) -> np.ndarray:
        """(N,) bool: the target reached (targeted), or the prediction changed (untargeted)."""
        if self.targets is None:
            return self.predictions != self.original_predictions
        return self.predictions == self.targets


def margin(logits: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
    """Each image's logit of its class minus the largest of the other nine (N,)."""
    own = tf.gather(logits, classes, axis=1, batch_dims=1)
    others = tf.where(tf.one_hot(classes, NUM_CLASSES) > 0, -np.inf, logits)
    return own - tf.reduce_max(others, axis=1)


def step_size(epsilon: float, steps: int) -> float:
    """FGSM's single step is ε; PGD's steps are 2.5·ε/steps."""
    return epsilon if steps == 1 else PGD_STEP_FACTOR * epsilon / steps


def check_attack(epsilon: float, steps: int) -> None:
    if not (np.isfinite(epsilon) and 0 <= epsilon <= 1):
        raise ValueError(f"epsilon is the largest change of a pixel, between 0 and 1, not {epsilon}")
    if not 1 <= int(steps) <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 (FGSM) and {MAX_STEPS}, not {steps}")


class Attack:
    """FGSM and PGD on one model; the compiled pass is traced on the first call and then reused."""

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        scalar = tf.TensorSpec([], tf.float32)
        self._perturb = tf.function(self.perturb, input_signature=[
            IMAGES, TARGETS, scalar, scalar, scalar, tf.TensorSpec([], tf.int32)])

    def perturb(self, images: tf.Tensor, classes: tf.Tensor, sign: tf.Tensor, epsilon: tf.Tensor,
                alpha: tf.Tensor, steps: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Adversarial images, and the logits before and after. ``classes`` are the targets (sign +1)
        or the classes to leave (sign -1; PREDICTED: the model's own prediction)."""
        clean_logits = forward(self.model, images)[1]
        classes = resolve_targets(clean_logits, classes)
        low, high = tf.maximum(images - epsilon, 0.0), tf.minimum(images + epsilon, 1.0)
        adversarial = images
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(adversarial)
                objective = tf.reduce_sum(sign * margin(forward(self.model, adversarial)[1], classes))
            grads = tape.gradient(objective, adversarial)
            # The projection: back into the ε ball, intersected with the valid pixel range.
            adversarial = tf.clip_by_value(adversarial + alpha * tf.sign(grads), low, high)
        return adversarial, clean_logits, forward(self.model, adversarial)[1]

    def run(self, images: np.ndarray, targets: np.ndarray | None = None, epsilon: float = 0.2,
            steps: int = STEPS) -> AttackResult:
        """Attack ``images`` (N, 28, 28) in [0, 1]: towards ``targets`` (int (N,)), or, when None, away
        from each image's predicted class. ``steps=1`` is FGSM, more is PGD."""
        images = as_images(images)
        aimed = None if targets is None else as_targets(targets, len(images))
        if aimed is not None and (aimed == PREDICTED).any():
            raise ValueError(f"a targeted attack needs a class 0..{NUM_CLASSES - 1} for every image")
        sign = UNTARGETED if aimed is None else TARGETED
        classes = np.full(len(images), PREDICTED, np.int32) if aimed is None else aimed
        adversarial, clean, attacked = self._call(images, classes, sign, epsilon, steps)
        perturbation = (adversarial - images)[..., 0]
        return AttackResult(adversarial[..., 0], perturbation, np.abs(perturbation).max(axis=(1, 2)),
                            softmax(clean, axis=1), softmax(attacked, axis=1), aimed, float(epsilon), int(steps))

    def _call(self, images: np.ndarray, classes: np.ndarray, sign: float, epsilon: float,
              steps: int) -> tuple[np.ndarray, ...]:
        check_attack(epsilon, steps)
        outputs = self._perturb(images, classes, np.float32(sign), np.float32(epsilon),
                                np.float32(step_size(epsilon, steps)), np.int32(steps))
        return tuple(t.numpy() for t in outputs)

    def robustness_curve(self, images: np.ndarray, labels: np.ndarray, epsilons: list[float],
                         steps: int = STEPS, batch_size: int = CHUNK) -> np.ndarray:
        """Accuracy (len(epsilons),) under an untargeted PGD attack away from the true labels.

        An adversarial image found at a smaller ε lies inside every larger ball too, so an image
        broken at one ε counts as broken at the larger ones, and only the survivors are attacked
        again: the curve never rises, and the large ε, where few survive, cost little.
        """
        images = as_images(images)
        labels = as_targets(labels, len(images))
        for epsilon in epsilons:
            check_attack(epsilon, steps)
        correct = np.ones(len(images), bool)
        accuracies = np.empty(len(epsilons))
        for index in np.argsort(epsilons, kind="stable"):
            survivors = np.flatnonzero(correct)
            correct[survivors] = self._still_correct(images[survivors], labels[survivors], epsilons[index], steps,
                                                     batch_size)
            accuracies[index] = correct.mean()
        return accuracies

    def _still_correct(self, images: np.ndarray, labels: np.ndarray, epsilon: float, steps: int,
                       batch_size: int) -> np.ndarray:
        """(N,) bool: still classified as their labels after an untargeted attack, in batches."""
        # At ε = 0 there is nothing to search: one (empty) step is the clean evaluation.
        steps = steps if epsilon > 0 else 1
        correct = np.empty(len(images), bool)
        for start in range(0, len(images), batch_size):
            batch = slice(start, start + batch_size)
            attacked = self._call(images[batch], labels[batch], UNTARGETED, epsilon, steps)[2]
            correct[batch] = attacked.argmax(axis=1) == labels[batch]
        return correct


def attack(model: keras.Model, images: np.ndarray, targets: np.ndarray | None = None, epsilon: float = 0.2,
           steps: int = STEPS) -> np.ndarray:
    """Adversarial images (N, 28, 28) within ε of ``images``; see ``Attack.run``. Build an ``Attack``
    once to attack many batches (this compiles its pass on every call)."""
    return Attack(model).run(images, targets, epsilon, steps).adversarial


def robustness_curve(model: keras.Model, images: np.ndarray, labels: np.ndarray, epsilons: list[float],
                     steps: int = STEPS) -> np.ndarray:
    """Accuracy under attack at each ε; see ``Attack.robustness_curve``."""
    return Attack(model).robustness_curve(images, labels, epsilons, steps)
