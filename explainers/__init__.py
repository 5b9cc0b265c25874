"""Explainers: what a small CNN learns, computed as arrays (no UI code in here).

    from explainers import ModelManager, FilterVisualizer, ActivationMaximizer, GradCAM
"""
import os

# Keras 3 can run on several backends; the explainers use TensorFlow ops directly.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from explainers.activation_maximizer import ActivationMaximizer, MaximizationResult, Regularization  # noqa: E402
from explainers.filter_visualizer import FilterStats, FilterVisualizer  # noqa: E402
from explainers.grad_cam import GradCAM, GradCAMResult, HiResCAM  # noqa: E402
from explainers.model_manager import ModelManager, ServedModel, TrainingBusyError  # noqa: E402

__all__ = [
    "ActivationMaximizer", "FilterStats", "FilterVisualizer", "GradCAM", "GradCAMResult", "HiResCAM",
    "MaximizationResult", "ModelManager", "Regularization", "ServedModel", "TrainingBusyError",
]
