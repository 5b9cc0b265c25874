"""The experiments of the seed's extensions, on the shipped models (loaded from disk) and test sets.

    python -m benchmarks.bench_experiments

Prints, against the targets: a targeted attack on one image (<= 100 ms), the robustness curve over
1,000 test images of each dataset (<= 20 s each), feature inversion of all layers of one image
(<= 2 s), style transfer (<= 3 s) and filter matching (<= 200 ms), each warm (compiled) and with the
process's peak memory; and the figures: targeted success rates at ε = 0.1, 0.2, 0.3 over 100 test
images, the curves, the inversion errors per layer, the style losses, MNIST's conv1 against
Fashion-MNIST's.
"""
from __future__ import annotations

import time

import cnn  # noqa: F401  (first: it sets the environment TensorFlow reads as it loads)
import numpy as np

from benchmarks.bench_explainers import summary, timings_ms
from benchmarks.bench_faithfulness import measured
from cnn.model_manager import ModelManager
from explainers import Attack, FeatureInversion, StyleTransfer, match_filters
from webapp.served import shipped_test_set

ATTACK_TARGET_MS, CURVE_TARGET_S, INVERSION_TARGET_S, STYLE_TARGET_S, MATCHING_TARGET_MS = 100, 20, 2, 3, 200
EPSILONS = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3]
CURVE_IMAGES = 1000


def verdict(value: float, target: float) -> str:
    return f"target <= {target}: {'met' if value <= target else 'MISSED'}"


def attack_figures(attacker: Attack, images: np.ndarray, labels: np.ndarray) -> None:
    """Success rates over 100 test images, for one seeded wrong target each and for all nine."""
    one_target = (labels + np.random.default_rng(0).integers(1, 10, len(labels))) % 10
    nine_targets = np.concatenate([(labels + k) % 10 for k in range(1, 10)])
    for epsilon in (0.1, 0.2, 0.3):
        targeted = attacker.run(images, one_target, epsilon).success.mean()
        every = attacker.run(np.tile(images, (9, 1, 1)), nine_targets, epsilon).success.mean()
        fgsm = attacker.run(images, None, epsilon, steps=1).success.mean()
        pgd = attacker.run(images, None, epsilon).success.mean()
        print(f"  ε = {epsilon}: targeted PGD-40 {targeted:5.0%} (one target each), {every:5.0%} (all nine); "
              f"untargeted FGSM {fgsm:5.0%}, PGD-40 {pgd:5.0%}")


def bench_attacks(manager: ModelManager) -> None:
    images, labels = shipped_test_set("mnist")
    images = images[..., 0]
    attacker = Attack(manager.get("mnist").model)
    print("Adversarial examples, shipped MNIST model, first 100 test images:")
    attack_figures(attacker, images[:100], labels[:100])
    cycle = iter(range(10_000))
    one = timings_ms(lambda: attacker.run(images[next(cycle)], [3], epsilon=0.2), 50)
    _, _, peak = measured(lambda: attacker.run(images[0], [3], epsilon=0.2))
    print(f"  targeted PGD-40 on one image: {summary(one)}; {verdict(np.median(one), ATTACK_TARGET_MS)}; "
          f"peak {peak:.0f} MiB")
    for dataset in ("mnist", "fashion_mnist"):
        curve_images, curve_labels = shipped_test_set(dataset)
        dataset_attacker = Attack(manager.get(dataset).model)
        dataset_attacker.robustness_curve(curve_images[:10], curve_labels[:10], [0.1])  # warm-up (tracing)
        curve, seconds, peak = measured(lambda: dataset_attacker.robustness_curve(
            curve_images[:CURVE_IMAGES], curve_labels[:CURVE_IMAGES], EPSILONS))
        points = "  ".join(f"{e:g}: {a:.1%}" for e, a in zip(EPSILONS, curve))
        print(f"  robustness curve, {dataset}, {CURVE_IMAGES} images, PGD-40: {points}")
        print(f"    {seconds:.1f} s; {verdict(seconds, CURVE_TARGET_S)}; peak {peak:.0f} MiB")


def bench_inversion(model, image: np.ndarray) -> None:
    inversion = FeatureInversion(model)
    start = time.perf_counter()
    inversion.invert_all(image)
    first = time.perf_counter() - start
    result, seconds, peak = measured(lambda: inversion.invert_all(image))
    errors = "  ".join(f"{name}: {r.pixel_error:.2f} (features {r.feature_error:.4f})" for name, r in result.items())
    print(f"Feature inversion, all layers of one image, pixel error (feature error): {errors}")
    print(f"  {seconds:.2f} s warm ({first:.2f} s with tracing); {verdict(seconds, INVERSION_TARGET_S)}; "
          f"peak {peak:.0f} MiB")


def bench_style_transfer(model, content: np.ndarray, styles: dict[str, np.ndarray]) -> None:
    transfer = StyleTransfer(model)
    print("Style transfer (content: a 7; style loss and content loss, before -> after):")
    for name, style in styles.items():
        transfer.transfer(content, style)  # warm-up (tracing on the first)
        result, seconds, peak = measured(lambda: transfer.transfer(content, style))
        print(f"  style of {name:16s} style {result.style_loss_before:.3f} -> {result.style_loss_after:.3f}, "
              f"content {result.content_loss_before:.3f} -> {result.content_loss_after:.3f}; {seconds:.2f} s; "
              f"{verdict(seconds, STYLE_TARGET_S)}; peak {peak:.0f} MiB")


def bench_matching(manager: ModelManager) -> None:
    mnist, fashion = manager.get("mnist").model, manager.get("fashion_mnist").model
    print("Filter matching, MNIST against Fashion-MNIST (pairs most similar first):")
    for layer in ("conv1", "conv2"):
        times = timings_ms(lambda: match_filters(mnist, fashion, layer), 20)
        matching = match_filters(mnist, fashion, layer)
        pairs = ", ".join(f"{i}-{j} {s:+.2f}" for (i, j), s in zip(matching.pairs, matching.similarity))
        print(f"  {layer} ({matching.measure}): {pairs}; close twins (>= {matching.threshold}): "
              f"{matching.twins} of {len(matching.pairs)}")
        print(f"    {summary(times)}; {verdict(np.median(times), MATCHING_TARGET_MS)}")


def main() -> None:
    manager = ModelManager()
    bench_attacks(manager)
    digits = shipped_test_set("mnist")[0][..., 0]
    clothes = shipped_test_set("fashion_mnist")[0][..., 0]
    model = manager.get("mnist").model
    bench_inversion(model, digits[0])
    thick = digits[:200][np.argmax(digits[:200].sum(axis=(1, 2)))]
    bench_style_transfer(model, digits[0], {"an ankle boot": clothes[0], "a thick digit": thick})
    bench_matching(manager)


if __name__ == "__main__":
    main()
