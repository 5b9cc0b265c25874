"""Explanation methods: what a small CNN learns and why it decides, computed as arrays (no UI code).

    from explainers import METHODS, FilterVisualizer, ActivationMaximizer
    maps = METHODS["HiResCAM"](model).explain(images, targets)  # (N, 28, 28)

``METHODS`` is the registry of attribution methods, display name -> class, in display order;
each class says whether it is light enough for the per-stroke path (``per_stroke``). The
model itself, its data and its training live in ``cnn/``, which this package uses.
"""
import cnn  # noqa: F401  (first: it sets the environment Keras and TensorFlow read as they load)
from explainers.activation_maximizer import ActivationMaximizer, MaximizationResult, Regularization
from explainers.adversarial import Attack, AttackResult, attack, robustness_curve
from explainers.attribution import PREDICTED, AttributionMethod, CompiledMethod
from explainers.faithfulness import RANDOM, Faithfulness, MethodScore, TableRow, faithfulness_table, score_methods
from explainers.filter_matching import FilterMatching, match_filters
from explainers.filter_visualizer import FilterStats, FilterVisualizer
from explainers.grad_cam import BaseCAM, CAMResult, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM
from explainers.gradients import GradientTimesInput, Saliency
from explainers.guided_backprop import GuidedBackprop, guided_grad_cam
from explainers.integrated_gradients import Integral, IntegratedGradients
from explainers.inversion import FeatureInversion, Reconstruction, invert, invert_all
from explainers.occlusion import Occlusion
from explainers.rise import RISE
from explainers.sanity import ORIGINAL, SHUFFLED_LABELS, SanityCheck, Similarity
from explainers.score_cam import ScoreCAM
from explainers.smoothgrad import SmoothGrad
from explainers.style_transfer import StyleTransfer, StyleTransferResult, style_transfer

# Pixel-gradient methods, then the black-box perturbations, then the CAM family.
METHODS: dict[str, type[AttributionMethod]] = {method.name: method for method in (
    Saliency, GradientTimesInput, SmoothGrad, IntegratedGradients, Occlusion, RISE, GuidedBackprop,
    GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, ScoreCAM)}

__all__ = ["METHODS", "ORIGINAL", "PREDICTED", "RANDOM", "RISE", "SHUFFLED_LABELS", "ActivationMaximizer", "Attack",
           "AttackResult", "AttributionMethod", "BaseCAM", "CAMResult", "CompiledMethod", "Faithfulness",
           "FeatureInversion", "FilterMatching", "FilterStats", "FilterVisualizer", "GradCAM", "GradCAMPlusPlus",
           "GradientTimesInput", "GuidedBackprop", "HiResCAM", "Integral", "IntegratedGradients", "LayerCAM",
           "MaximizationResult", "MethodScore", "Occlusion", "Reconstruction", "Regularization", "Saliency",
           "SanityCheck", "ScoreCAM", "Similarity", "SmoothGrad", "StyleTransfer", "StyleTransferResult", "TableRow",
           "attack", "faithfulness_table", "guided_grad_cam", "invert", "invert_all", "match_filters",
           "robustness_curve", "score_methods", "style_transfer"]
