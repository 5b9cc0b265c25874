"""One epoch of MNIST training: the project's trainer against a plain seed-style ``model.fit``.

    python -m benchmarks.bench_training --data-dir ../shared/data

Both train the same fresh model (batch 128, Adam 1e-3, validating on the test set) for
one epoch in this process, alternating, and the best of the repeats is reported: images
per second, the ratio project / plain (>= 1.0 means not slower), and peak memory.
"""
from __future__ import annotations

import argparse
import os
import time

import cnn  # noqa: F401  (first: it sets the environment TensorFlow reads as it loads)
import keras

from cnn.architecture import build_model
from cnn.datasets import DATA_DIR_ENV, load_split, to_model_input
from cnn.training import TrainingConfig, train_model
from harness.memory import peak_mib, reset_peak


def plain_fit(train, test) -> None:
    """What the seed notebook does."""
    model = build_model(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(*train, batch_size=128, epochs=1, validation_data=test, verbose=0)


def project_trainer(train, test) -> None:
    updates = []
    train_model(build_model(seed=0), train, test, TrainingConfig(epochs=1), on_progress=updates.append)
    assert updates, "the progress callback must fire"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=os.environ.get(DATA_DIR_ENV, "../shared/data"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    x_train, y_train = load_split("mnist", "train", args.data_dir)
    x_test, y_test = load_split("mnist", "test", args.data_dir)
    train, test = (to_model_input(x_train), y_train), (to_model_input(x_test), y_test)
    results: dict[str, list[tuple[float, float]]] = {"plain model.fit": [], "project trainer": []}
    for _ in range(args.repeats):
        for name, run in (("plain model.fit", plain_fit), ("project trainer", project_trainer)):
            reset_peak()
            start = time.perf_counter()
            run(train, test)
            results[name].append((len(x_train) / (time.perf_counter() - start), peak_mib()))
    for name, runs in results.items():
        best = max(rate for rate, _ in runs)
        print(f"{name:16s}: {best:8.0f} images/s (best of {len(runs)}; all: "
              f"{', '.join(f'{r:.0f}' for r, _ in runs)}), peak memory {max(m for _, m in runs):.0f} MiB")
    ratio = max(r for r, _ in results["project trainer"]) / max(r for r, _ in results["plain model.fit"])
    print(f"ratio project / plain: {ratio:.3f} (>= 1.0: the project's trainer is not slower)")


if __name__ == "__main__":
    main()
