"""Train a model from the command line; reproduces the shipped models.

    python train.py --dataset mnist --data-dir ../shared/data
    python train.py --dataset fashion_mnist --data-dir ../shared/data

and the shipped variants, kept beside them for the Experiments tab (never served):

    python train.py --dataset mnist --seed 1 --variant seed1 --data-dir ../shared/data
    python train.py --dataset mnist --seed 2 --variant seed2 --data-dir ../shared/data
    python train.py --dataset mnist --filters 8 8 8 --variant conv3 --data-dir ../shared/data
    python train.py --dataset fashion_mnist --filters 8 8 8 --variant conv3 --data-dir ../shared/data

Without options beyond --dataset it follows the shipped recipe of that dataset
(below); --epochs, --lr, --seed ... override it, and --seed-recipe gives the seed
notebook's plain recipe (5 epochs, constant lr 0.001, no augmentation).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

from cnn.architecture import Architecture
from cnn.datasets import DATASETS, DataUnavailableError
from cnn.model_manager import VARIANT_NAME, ModelManager
from cnn.training import TrainingConfig, TrainingProgress

# The shipped recipes: the seed's architecture and optimizer (Adam, batch 128), trained
# longer with a cosine-decaying learning rate. MNIST adds mild augmentation (shift,
# rotation, scale, stroke width) so that students' drawings are read as well as MNIST's.
SHIPPED_RECIPES = {
    "mnist": TrainingConfig(epochs=30, learning_rate=3e-3, lr_schedule="cosine", augment=True),
    "fashion_mnist": TrainingConfig(epochs=30, learning_rate=3e-3, lr_schedule="cosine", augment=False),
}


def variant_name(text: str) -> str:
    if not VARIANT_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError("lowercase letters, digits and _ only")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist")
    parser.add_argument("--data-dir", help="folder with the original IDX files (or <dataset>/ sub-folders)")
    parser.add_argument("--models-dir", default=None, help="where to save (default: saved_models/)")
    parser.add_argument("--seed-recipe", action="store_true", help="the seed notebook's plain 5-epoch recipe")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float, dest="learning_rate")
    parser.add_argument("--lr-schedule", choices=["constant", "cosine"])
    parser.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--filters", type=int, nargs="+", default=list(Architecture().filters),
                        help="filters per conv block (2 or 3 numbers)")
    parser.add_argument("--train-limit", type=int, help="train on the first N training images only (quick tries)")
    parser.add_argument("--variant", type=variant_name,
                        help="save as saved_models/<dataset>_<VARIANT>_simple_cnn.keras, never served")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> TrainingConfig:
    base = TrainingConfig() if args.seed_recipe else SHIPPED_RECIPES[args.dataset]
    overrides = {name: getattr(args, name) for name in
                 ("epochs", "batch_size", "learning_rate", "lr_schedule", "augment", "seed")
                 if getattr(args, name) is not None}
    return dataclasses.replace(base, **overrides)


def print_progress(p: TrainingProgress) -> None:
    if p.val_accuracy is not None:
        print(f"epoch {p.epoch:2d}/{p.epochs}  loss {p.loss:.4f}  accuracy {p.accuracy:.4f}  "
              f"test accuracy {p.val_accuracy:.4f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = config_from(args)
    manager = ModelManager(**({"models_dir": args.models_dir} if args.models_dir else {}), data_dir=args.data_dir)
    print(f"training {args.dataset}: {config}", flush=True)
    architecture = Architecture(tuple(args.filters))
    try:
        if args.variant:
            result, card = manager.train_variant(args.dataset, args.variant, config, architecture, print_progress,
                                                 args.train_limit)
            path = manager.variant_path(args.dataset, args.variant)
        else:
            result, served = manager.train(args.dataset, config, architecture, on_progress=print_progress, save=True,
                                           train_limit=args.train_limit)
            card, path = served.card, manager.model_path(args.dataset)
    except DataUnavailableError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"final test accuracy {card.test_accuracy:.4f} on 10,000 test images ({result.seconds:.0f} s); "
          f"saved {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
