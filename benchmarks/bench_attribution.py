"""Speed and memory of the twelve attribution methods, on the shipped MNIST model (loaded from disk).

    python -m benchmarks.bench_attribution
    python -m benchmarks.bench_attribution --batch-invariance [--images 1000]

Prints each method's time on one image and on a batch of 100 (p50/p90) with the peak resident
memory of the batch, all twelve on one image together (target: 150 ms or less), each method against
itself with TensorFlow's own backward passes (as before issue 18: built in this process and timed in
turns; the target: nothing slower), with what max-pool's rule for ties costs alone, and the completeness
error of Integrated Gradients per baseline on 100 test images of each dataset.

``--batch-invariance`` counts instead, per method and dataset, the test images whose map explained
alone differs from their map explained in a batch of 100 (target: none), and the images whose map
moves when every pixel is nudged by less than 1e-8 (as much as another CPU's kernels round the conv
outputs; target: none).
"""
from __future__ import annotations

import argparse
import statistics
import time
from unittest import mock

import cnn  # noqa: F401  (first: it sets the environment TensorFlow reads as it loads)
import numpy as np

import explainers.forward
from benchmarks.bench_explainers import summary, timings_ms
from cnn.model_manager import ModelManager
from explainers import METHODS, PREDICTED, AttributionMethod, IntegratedGradients
from explainers.integrated_gradients import BASELINES
from harness.batch_invariance import NUDGE, TOLERANCE, differing, maps_in_batches, nudged
from harness.memory import current_mib, peak_mib, reset_peak
from webapp.served import shipped_test_set

ONE_IMAGE_REPEATS = 30
BATCH, BATCH_REPEATS = 100, 5
ALL_TWELVE_TARGET_MS = 150
TURNS = 7  # batches of 100 timed in turns, with the rule and without


def timings() -> None:
    manager = ModelManager()
    model = manager.get("mnist").model
    images = shipped_test_set("mnist")[0][:BATCH, :, :, 0]
    methods = {name: method(model) for name, method in METHODS.items()}
    cycle = iter(np.tile(np.arange(BATCH), 100))

    print(f"{'method':22s} {'one image':44s} {f'batch of {BATCH}':44s} peak memory of the batch")
    for name, method in methods.items():
        one = summary(timings_ms(lambda: method.explain(images[next(cycle)]), ONE_IMAGE_REPEATS))
        method.explain(images)  # traced for this shape: the peak below is the computation's, not the tracing's
        start = current_mib()
        reset_peak()
        batched = summary(timings_ms(lambda: method.explain(images), BATCH_REPEATS))
        peak = peak_mib()
        print(f"{name:22s} {one:44s} {batched:44s} {peak:6.0f} MiB ({peak - start:+.0f} over its start)")

    def all_twelve() -> None:
        image = images[next(cycle)]
        for method in methods.values():
            method.explain(image)

    totals = timings_ms(all_twelve, ONE_IMAGE_REPEATS)
    verdict = "within" if statistics.median(totals) <= ALL_TWELVE_TARGET_MS else "OVER"
    print(f"{'all twelve, one image':22s} {summary(totals)}   ({verdict} the {ALL_TWELVE_TARGET_MS} ms target)")
    backward_pass_cost(model, images, methods)

    print(f"Integrated Gradients' completeness error, {BATCH} test images, the predicted class:")
    for dataset in ("mnist", "fashion_mnist"):
        dataset_model, dataset_images = manager.get(dataset).model, shipped_test_set(dataset)[0][:BATCH, :, :, 0]
        for baseline in BASELINES:
            start = time.perf_counter()
            integral = IntegratedGradients(dataset_model, baseline=baseline).integrate(dataset_images)
            seconds = time.perf_counter() - start
            error, steps = integral.completeness_error * 100, integral.steps
            print(f"  {dataset:14s} {baseline:6s} mean {error.mean():.2f} %  p90 {np.quantile(error, 0.9):.2f} %  "
                  f"max {error.max():.2f} %   steps: mean {steps.mean():.0f}, max {steps.max()}   "
                  f"({seconds:.2f} s with tracing)")


def cpu_ms(explain) -> float:
    """The CPU time of one call, in ms: less disturbed than the wall clock by the other work of a shared machine."""
    start = time.process_time()
    explain()
    return (time.process_time() - start) * 1000


# TensorFlow's own backward passes, as before issue 18: max-pool's gradient by comparing float values, the first
# convolution's by its own kernel.
TF_OWN_MAX_POOL = {"max_pool": lambda layer, x: layer(x, training=False)}
TF_OWN_CONVOLUTION = {"convolve": lambda layer, x: layer.convolution_op(x, layer.kernel)}


def traced_with(model, images: np.ndarray, patches: dict) -> dict[str, AttributionMethod]:
    """The twelve methods built and traced while ``forward`` uses ``patches``: they keep them."""
    with mock.patch.multiple(explainers.forward, **patches):
        methods = {name: METHODS[name](model) for name in METHODS}
        for method in methods.values():
            method.explain(images)
    return methods


def backward_pass_cost(model, images: np.ndarray, methods: dict[str, AttributionMethod]) -> None:
    """Each method against itself with TensorFlow's own backward passes (before), and with max-pool's rule for
    ties alone (the first convolution's gradient TensorFlow's), all timed in turns."""
    before = traced_with(model, images, {**TF_OWN_MAX_POOL, **TF_OWN_CONVOLUTION})
    rule_alone = traced_with(model, images, TF_OWN_CONVOLUTION)
    print(f"Against TensorFlow's own backward passes (CPU time, p50 of {ONE_IMAGE_REPEATS} single images and "
          f"{TURNS} batches of {BATCH}, in turns): now (max-pool's rule for ties and the faster first convolution) "
          f"vs before, and the rule alone vs before:")
    for name, method in methods.items():
        cells = []
        for kind, count, call in (("one image", ONE_IMAGE_REPEATS, lambda m, i: m.explain(images[i % BATCH])),
                                  ("batch", TURNS, lambda m, i: m.explain(images))):
            times = [[cpu_ms(lambda: call(m, i)) for m in (method, before[name], rule_alone[name])]
                     for i in range(count)]
            now, then, rule = (statistics.median(t[k] for t in times) for k in range(3))
            ratio = statistics.median(t[0] / t[1] for t in times)
            rule_ratio = statistics.median(t[2] / t[1] for t in times)
            cells.append(f"{kind} {now:7.1f} ms vs {then:7.1f} ({ratio:.2f}x; "
                         f"rule alone {rule:7.1f}, {rule_ratio:.2f}x)")
        print(f"  {name:22s} " + "   ".join(cells), flush=True)


def batch_invariance(count: int) -> None:
    """How many of ``count`` test images per dataset get another map alone, or nudged, than in a batch of 100."""
    manager = ModelManager()
    print(f"Maps that differ by more than {TOLERANCE:g} of their largest value, of {count} test images per dataset "
          f"(the predicted class):\n  alone: explained alone against in batches of {BATCH}; nudged: every pixel "
          f"raised by less than {NUDGE:g}, in batches of {BATCH}")
    print(f"{'method':22s} {'mnist: alone':>14s} {'nudged':>7s} {'fashion_mnist: alone':>22s} {'nudged':>7s}")
    models = {dataset: manager.get(dataset).model for dataset in ("mnist", "fashion_mnist")}
    images = {dataset: shipped_test_set(dataset)[0][:count, :, :, 0] for dataset in models}
    targets = np.full(count, PREDICTED)
    for name, method_class in METHODS.items():
        counts = []
        for dataset, model in models.items():
            method = method_class(model)
            batched = maps_in_batches(method, images[dataset], targets, BATCH)
            counts += [differing(maps_in_batches(method, images[dataset], targets, 1), batched).sum(),
                       differing(maps_in_batches(method, nudged(images[dataset]), targets, BATCH), batched).sum()]
        print(f"{name:22s} {counts[0]:14d} {counts[1]:7d} {counts[2]:22d} {counts[3]:7d}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-invariance", action="store_true",
                        help="count the maps that depend on the batch or on rounding, instead of timing")
    parser.add_argument("--images", type=int, default=1000, help="test images per dataset for --batch-invariance")
    args = parser.parse_args()
    if args.batch_invariance:
        batch_invariance(args.images)
    else:
        timings()


if __name__ == "__main__":
    main()
