"""Train the shipped shuffled-labels model, the data randomization test's network (explainers/sanity.py).

    python -m cnn.shuffled_labels --data-dir ../shared/data

The same 4,594-parameter CNN, trained on the first ``--train-limit`` MNIST training images with their
labels shuffled at random (seeded): there is nothing to learn, only to memorize. It must memorize (a
high training accuracy on its shuffled labels) while knowing nothing (test accuracy near 10 %, chance);
the script prints both and saves the model with its card, whose test accuracy says so, where
``ModelManager.shuffled_labels_path`` looks: ``saved_models/mnist_shuffled_labels_simple_cnn.keras``.

Why so few images: a network this small can memorize only so many random labels. Of 10,000 it had
learned 22 % after 40 epochs (batch 128), gaining about 1.5 % per 10 epochs; of 2,000, 63 % after
150 epochs (batch 32) and it had stopped gaining; 1,000 it memorizes: 99.9 % in 200 epochs (about two
minutes on 2 cores), test accuracy 11 %.

Why a script rather than a ``train.py`` option: ``train.py`` trains the model a dataset *serves* (through
``ModelManager``, saved under the dataset's own name); this one is never served.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from cnn.architecture import Architecture, build_model
from cnn.datasets import DataUnavailableError, load_split, to_model_input
from cnn.evaluation import accuracy
from cnn.model_card import ModelCard
from cnn.model_manager import DEFAULT_MODELS_DIR, ModelManager
from cnn.model_store import save_model
from cnn.training import TrainingConfig, train_model

# Small batches and a cosine decay to zero: memorizing needs many updates, and a quiet end to settle them.
RECIPE = TrainingConfig(epochs=200, batch_size=32, learning_rate=3e-3, lr_schedule="cosine")
TRAIN_LIMIT = 1000


def shuffled_labels(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """The same labels in a seeded random order: the class counts stay, the link to the images goes."""
    return np.random.default_rng(seed).permutation(labels)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="folder with the original MNIST IDX files (or an mnist/ sub-folder)")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help="where to save")
    parser.add_argument("--train-limit", type=int, default=TRAIN_LIMIT, help="training images used")
    parser.add_argument("--epochs", type=int, default=RECIPE.epochs)
    parser.add_argument("--seed", type=int, default=RECIPE.seed, help="of the label shuffle and the training")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = dataclasses.replace(RECIPE, epochs=args.epochs, seed=args.seed)
    try:
        x_train, y_train = load_split("mnist", "train", args.data_dir)
    except DataUnavailableError as err:
        print(err, file=sys.stderr)
        return 1
    x_test, y_test = load_split("mnist", "test", args.data_dir)
    x_train, x_test = to_model_input(x_train[:args.train_limit]), to_model_input(x_test)
    y_train = shuffled_labels(y_train[:args.train_limit], args.seed)
    model = build_model(Architecture(), seed=config.seed)
    print(f"training on {len(x_train)} MNIST images with shuffled labels: {config}", flush=True)
    # Keras validates after every epoch: 1,000 test images are enough to watch; all 10,000 are scored at the end.
    result = train_model(model, (x_train, y_train), (x_test[:1000], y_test[:1000]), config)
    train_accuracy, test_accuracy = accuracy(model, x_train, y_train), accuracy(model, x_test, y_test)
    card = ModelCard.of_training("mnist", Architecture(), config, int(model.count_params()), len(x_train),
                                 test_accuracy, result.seconds)
    path = ModelManager(args.models_dir).shuffled_labels_path("mnist")
    save_model(model, path, card)
    print(f"{result.epochs_completed} epochs in {result.seconds:.0f} s: accuracy on its shuffled training labels "
          f"{train_accuracy:.4f}, on the 10,000 test images {test_accuracy:.4f}; saved {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
