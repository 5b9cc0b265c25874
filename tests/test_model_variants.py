"""Models kept beside the served one (``ModelManager.variant_*``): the shipped seeds and deeper networks
that the Experiments tab compares, and the ``train.py --variant`` command that reproduces them."""
from __future__ import annotations

import dataclasses
import shutil

import pytest

import train
from cnn.architecture import Architecture, conv_layer_names
from cnn.evaluation import accuracy
from cnn.model_manager import ModelManager
from cnn.model_store import load_card

SHIPPED_VARIANTS = {"mnist": ["conv3", "seed1", "seed2"], "fashion_mnist": ["conv3"]}
# What makes each variant differ from its dataset's shipped model, and nothing else: the card says so.
DIFFERS_IN = {"seed1": {"seed": 1}, "seed2": {"seed": 2}, "conv3": {}}
FILTERS = {"seed1": (8, 8), "seed2": (8, 8), "conv3": (8, 8, 8)}


@pytest.mark.parametrize("dataset", sorted(SHIPPED_VARIANTS))
def test_the_shipped_variants_follow_the_shipped_recipe(dataset, mnist_test, fashion_test):
    manager = ModelManager()
    assert set(SHIPPED_VARIANTS[dataset]) <= set(manager.variants(dataset))
    shipped = load_card(manager.model_path(dataset))
    x_test, y_test = {"mnist": mnist_test, "fashion_mnist": fashion_test}[dataset]
    for variant in SHIPPED_VARIANTS[dataset]:
        path = manager.variant_path(dataset, variant)
        card, model = load_card(path), manager.variant_model(dataset, variant)
        assert card.dataset == dataset and card.train_images == shipped.train_images == 60_000
        assert card.config == dataclasses.replace(shipped.config, **DIFFERS_IN[variant]), variant
        assert card.architecture.filters == FILTERS[variant] and len(conv_layer_names(model)) == len(FILTERS[variant])
        assert card.test_accuracy == pytest.approx(accuracy(model, x_test, y_test), abs=1e-4), "the card is true"
        assert card.test_accuracy > shipped.test_accuracy - 0.02, f"{variant} learned as well as the shipped model"
        assert manager.variant_model(dataset, variant) is model, "loaded once"


def test_the_training_command_saves_a_variant_and_leaves_the_served_model(tmp_path, offline_data_dir):
    args = ["--dataset", "mnist", "--data-dir", str(offline_data_dir), "--models-dir", str(tmp_path),
            "--epochs", "1", "--train-limit", "512", "--seed", "3", "--filters", "4", "4", "4", "--variant", "seed3"]
    assert train.main(args) == 0
    manager = ModelManager(tmp_path)
    assert manager.variants("mnist") == ["seed3"] and manager.variants("fashion_mnist") == []
    assert not manager.model_path("mnist").exists(), "a variant is never the served model"
    card = load_card(manager.variant_path("mnist", "seed3"))
    assert card.config.seed == 3 and card.config.epochs == 1 and card.train_images == 512
    assert card.architecture == Architecture((4, 4, 4))
    assert conv_layer_names(manager.variant_model("mnist", "seed3")) == ["conv1", "conv2", "conv3"]
    assert manager.variant_model("mnist", "seed4") is None
    for suffix in ("", ".json"):  # saved while the server runs: found at the next call
        source = manager.variant_path("mnist", "seed3")
        shutil.copy(f"{source}{suffix}", f"{manager.variant_path('mnist', 'seed4')}{suffix}")
    assert conv_layer_names(manager.variant_model("mnist", "seed4")) == ["conv1", "conv2", "conv3"]


@pytest.mark.parametrize("name", ["../mnist", "Seed1", "", "seed 1", "seed1/.."])
def test_a_variant_name_cannot_leave_the_models_folder(tmp_path, name):
    with pytest.raises(ValueError, match="variant"):
        ModelManager(tmp_path).variant_path("mnist", name)
