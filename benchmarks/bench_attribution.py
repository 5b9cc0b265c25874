"""Speed and memory of the twelve attribution methods, on the shipped MNIST model (loaded from disk).

    python -m benchmarks.bench_attribution

Prints each method's time on one image and on a batch of 100 (p50/p90) with the peak resident
memory of the batch, all twelve on one image together (target: 150 ms or less), and the
completeness error of Integrated Gradients per baseline on 100 test images of each dataset.
"""
from __future__ import annotations

import statistics
import time

import cnn  # noqa: F401  (first: it sets the environment TensorFlow reads as it loads)
import numpy as np

from benchmarks.bench_explainers import summary, timings_ms
from cnn.model_manager import ModelManager
from explainers import METHODS, IntegratedGradients
from explainers.integrated_gradients import BASELINES
from harness.memory import current_mib, peak_mib, reset_peak
from webapp.served import shipped_test_set

ONE_IMAGE_REPEATS = 30
BATCH, BATCH_REPEATS = 100, 5
ALL_TWELVE_TARGET_MS = 150


def main() -> None:
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


if __name__ == "__main__":
    main()
