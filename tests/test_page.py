"""The page demo.py builds, inspected without a server: what each control offers a student first."""
from __future__ import annotations

import gradio as gr
import pytest

import demo
from cnn.datasets import DATASETS
from cnn.model_manager import ModelManager
from cnn.training import TrainingConfig
from explainers import PREDICTED, Regularization
from webapp.policy import ServerPolicy
from webapp.served import LIVE_METHODS, ServedExplainers


def build(first_dataset: str) -> gr.Blocks:
    manager = ModelManager()
    return demo.build_app(manager, ServedExplainers(manager), ServerPolicy(allow_training=True), first_dataset)


def component(app: gr.Blocks, kind: type, label: str):
    found = [block for block in app.blocks.values() if isinstance(block, kind) and block.label == label]
    assert len(found) == 1, f"one {kind.__name__} labelled {label!r}"
    return found[0]


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_the_target_classes_are_those_of_the_dataset_shown_first(dataset):
    target = component(build(dataset), gr.Dropdown, "Target class for the heatmap")
    names = [name for name, value in target.choices if value != PREDICTED]
    assert target.value == PREDICTED and len(names) == 10
    assert all(class_name in name for name, class_name in zip(names, DATASETS[dataset].class_names))


def test_controls_offer_the_registry_and_the_dataclasses_defaults():
    app = build("mnist")
    method = component(app, gr.Radio, "Method")
    assert [value for _, value in method.choices] == LIVE_METHODS and method.value == LIVE_METHODS[0]
    regularization, config = Regularization(), TrainingConfig()
    assert component(app, gr.Slider, "L2 decay per step").value == regularization.l2_decay
    assert component(app, gr.Slider, "Total variation weight").value == regularization.total_variation
    assert component(app, gr.Slider, "Epochs").value == config.epochs
    assert component(app, gr.Number, "Learning rate (Adam)").value == config.learning_rate
