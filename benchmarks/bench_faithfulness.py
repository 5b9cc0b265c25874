"""Which explanation can you trust? Faithfulness and sanity checks of every registered method, on the
shipped models (loaded from disk) and the shipped test sets.

    python -m benchmarks.bench_faithfulness

Prints, per dataset: the deletion and insertion AUCs of each method over the first ``--images`` test images
(predicted class) with their 95 % intervals, the random map's, whether the method beats it, and its time
per image; the sanity checks' similarity of each method's maps at each cascade stage (and, for MNIST, on the
shuffled-labels model) over the first ``--sanity-images``; then timings on one image against the targets
(deletion + insertion of all methods <= 150 ms, the sanity cascade of all methods <= 2 s) with peak memory.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import cnn  # noqa: F401  (first: it sets the environment TensorFlow reads as it loads)

from cnn.datasets import dataset_info
from cnn.model_manager import ModelManager
from explainers import METHODS, PREDICTED
from explainers.faithfulness import (RANDOM, STEPS, Faithfulness, MeanCI, TableRow, build_methods,
                                     explained_classes, faithfulness_table)
from explainers.sanity import SHUFFLED_LABELS, SanityCheck, Similarity, cascade_layers
from harness.memory import current_mib, peak_mib, reset_peak
from webapp.served import shipped_test_set

TABLE_TARGET_S, CURVES_TARGET_MS, CASCADE_TARGET_S = 60, 150, 2


def measured(run: Callable[[], object]) -> tuple[object, float, float]:
    """What ``run()`` returns, its seconds and the process's peak resident memory (MiB) while it ran."""
    reset_peak()
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start, peak_mib()


def interval(ci: MeanCI) -> str:
    return f"{ci.mean:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def print_table(title: str, rows: list[TableRow], images: int, seconds: float, peak: float) -> None:
    verdict = "met" if seconds <= TABLE_TARGET_S else "MISSED"
    maps_s = sum(row.ms_per_image for row in rows) * images / 1000
    print(f"\n{title}: {seconds:.1f} s (target <= {TABLE_TARGET_S} s: {verdict}; the methods' maps {maps_s:.1f} s, "
          f"the curves and the rest {seconds - maps_s:.1f} s), peak memory {peak:.0f} MiB")
    print(f"{'method':22s} {'deletion AUC (lower better)':28s} {'insertion AUC (higher better)':30s} "
          f"{'beats random (del/ins)':23s} ms/image")
    for row in rows:
        beats = "/".join("yes" if b else "no" for b in (row.beats_random_deletion, row.beats_random_insertion))
        print(f"{row.method:22s} {interval(row.deletion):28s} {interval(row.insertion):30s} {beats:23s} "
              f"{row.ms_per_image:8.2f}")
    print(f"{RANDOM:22s} {interval(rows[0].random_deletion):28s} {interval(rows[0].random_insertion):30s}")


def print_sanity(title: str, scores: list[Similarity], seconds: float, peak: float) -> None:
    stages = list(dict.fromkeys(score.stage for score in scores))
    cells = {(score.method, score.stage): score for score in scores}
    print(f"\n{title}: {seconds:.1f} s, peak memory {peak:.0f} MiB")
    print("similarity to the original map: Spearman |map| / Spearman signed / SSIM (1 = unchanged); "
          "stage = the last layer re-initialized, all above it too")
    print(f"{'method':22s}" + "".join(f"{stage:>20s}" for stage in stages))
    for method in dict.fromkeys(score.method for score in scores):
        row = [cells[method, stage] for stage in stages]
        print(f"{method:22s}" + "".join(f"{s.spearman_abs:>8.2f}{s.spearman_signed:>6.2f}{s.ssim:>6.2f}" for s in row))
    undefined = [f"{s.method} at {s.stage}: {s.undefined}" for s in scores if s.undefined]
    if undefined:
        print(f"constant maps (of {scores[0].images}), left out of the Spearman means: " + "; ".join(undefined))


def dataset_report(dataset: str, table_images: int, sanity_images: int) -> None:
    model = ModelManager().get(dataset).model
    images = shipped_test_set(dataset)[0][:, :, :, 0]
    title = dataset_info(dataset).title
    rows, seconds, peak = measured(lambda: faithfulness_table(model, images[:table_images], PREDICTED))
    print_table(f"{title}: faithfulness of {len(METHODS)} methods over {table_images} test images "
                f"(predicted class, black removal, {STEPS} steps)", rows, table_images, seconds, peak)
    check = SanityCheck(model)
    scores, seconds, peak = measured(lambda: check.cascade(images[:sanity_images]))
    if dataset == "mnist":
        shuffled = ModelManager().shuffled_labels_model("mnist")
        more, extra, peak_more = measured(lambda: check.data_randomization(shuffled, images[:sanity_images]))
        scores, seconds, peak = scores + more, seconds + extra, max(peak, peak_more)
    stages = " -> ".join(cascade_layers(model)) + (f", {SHUFFLED_LABELS}" if dataset == "mnist" else "")
    print_sanity(f"{title}: sanity checks over {sanity_images} test images ({stages})", scores, seconds, peak)


def p50_ms(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median time in ms of ``run`` after one warm-up call, and the peak memory (MiB) over the repeats."""
    run()
    reset_peak()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), peak_mib()


def one_image_timings() -> None:
    model = ModelManager().get("mnist").model
    image = shipped_test_set("mnist")[0][0, :, :, 0]
    target = int(explained_classes(model, image, PREDICTED)[0])
    methods, faithfulness = build_methods(model, METHODS), Faithfulness(model)
    maps = {name: method.explain(image, target)[0] for name, method in methods.items()}
    print(f"\nOne MNIST test image, {len(METHODS)} methods + the random map:")
    ms, peak = p50_ms(lambda: faithfulness.score_maps(image, target, maps), 20)
    verdict = "met" if ms <= CURVES_TARGET_MS else "MISSED"
    print(f"  deletion + insertion of every map (maps given)   p50 {ms:7.1f} ms  (target <= {CURVES_TARGET_MS} ms: "
          f"{verdict}), peak memory {peak:.0f} MiB")
    ms, peak = p50_ms(lambda: faithfulness.score_methods(image, target, methods), 10)
    print(f"  the maps, then their curves (score_methods)      p50 {ms:7.1f} ms, peak memory {peak:.0f} MiB")
    check, first, _ = measured(lambda: SanityCheck(model))
    _, traced, _ = measured(lambda: check.cascade(image))
    ms, peak = p50_ms(lambda: check.cascade(image), 5)
    verdict = "met" if ms <= CASCADE_TARGET_S * 1000 else "MISSED"
    print(f"  sanity cascade of every method ({len(cascade_layers(model))} stages)        p50 {ms / 1000:7.2f} s   "
          f"(target <= {CASCADE_TARGET_S} s: {verdict}), peak memory {peak:.0f} MiB")
    print(f"    its first call on a new SanityCheck: copy and methods built {first:.2f} s, passes traced and run "
          f"{traced:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500, help="test images in the faithfulness table")
    parser.add_argument("--sanity-images", type=int, default=200, help="test images in the sanity checks")
    args = parser.parse_args()
    print(f"Methods registered: {len(METHODS)} ({', '.join(METHODS)}); memory is this process's peak resident "
          f"size ({current_mib():.0f} MiB at the start, TensorFlow loaded)")
    for dataset in ("mnist", "fashion_mnist"):
        dataset_report(dataset, args.images, args.sanity_images)
    one_image_timings()


if __name__ == "__main__":
    main()
