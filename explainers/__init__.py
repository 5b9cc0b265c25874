"""Explanation methods: what a small CNN learns and why it decides, computed as arrays (no UI code).

    from explainers import METHODS, FilterVisualizer, ActivationMaximizer
    maps = METHODS["HiResCAM"](model).explain(images, targets)  # (N, 28, 28)

``METHODS`` is the registry of attribution methods, display name -> class, in display order;
each class says whether it is light enough for the per-stroke path (``per_stroke``). The
model itself, its data and its training live in ``cnn/``, which this package uses.
"""
import cnn  # noqa: F401  (first: it sets the environment Keras and TensorFlow read as they load)
from explainers.activation_maximizer import ActivationMaximizer, MaximizationResult, Regularization
from explainers.attribution import PREDICTED, AttributionMethod
from explainers.filter_visualizer import FilterStats, FilterVisualizer
from explainers.grad_cam import BaseCAM, CAMResult, GradCAM, HiResCAM
from explainers.guided_backprop import GuidedBackprop, guided_grad_cam

METHODS: dict[str, type[AttributionMethod]] = {method.name: method for method in (GradCAM, HiResCAM, GuidedBackprop)}

__all__ = ["METHODS", "PREDICTED", "ActivationMaximizer", "AttributionMethod", "BaseCAM", "CAMResult", "FilterStats",
           "FilterVisualizer", "GradCAM", "GuidedBackprop", "HiResCAM", "MaximizationResult", "Regularization",
           "guided_grad_cam"]
