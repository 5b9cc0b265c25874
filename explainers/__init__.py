"""Explainers: what a small CNN learns, computed as arrays (no UI code in here).

    from explainers import ModelManager, FilterVisualizer, ActivationMaximizer, GradCAM

The names are imported on first use, so that ``explainers.preprocessing`` (or the
training worker, before it lowers its priority) does not pay for TensorFlow's import.
"""
import importlib
import os

# Keras 3 can run on several backends; the explainers use TensorFlow ops directly.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_MODULE_OF = {
    "ActivationMaximizer": "activation_maximizer", "MaximizationResult": "activation_maximizer",
    "Regularization": "activation_maximizer",
    "FilterStats": "filter_visualizer", "FilterVisualizer": "filter_visualizer",
    "GradCAM": "grad_cam", "GradCAMResult": "grad_cam", "HiResCAM": "grad_cam",
    "ModelManager": "model_manager", "ServedModel": "model_manager", "TrainingBusyError": "model_manager",
}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'explainers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"explainers.{_MODULE_OF[name]}"), name)
