"""Speed of the three explainers and of the figures, on the shipped MNIST model (loaded from disk).

    python -m benchmarks.bench_explainers

Prints Grad-CAM latency (p50/p90 for one image and for all ten classes), activation
maximization of all 16 filters against the seed-style loop (one filter at a time, eager
GradientTape) in the same run, and the render time of every figure.
"""
from __future__ import annotations

import statistics
import time

import cnn  # noqa: F401  (first: it sets the environment TensorFlow reads as it loads)
import numpy as np
import tensorflow as tf

import plots
from cnn.datasets import dataset_info
from cnn.model_manager import ModelManager
from explainers import ActivationMaximizer, FilterVisualizer, GradCAM, GuidedBackprop, guided_grad_cam
from explainers.forward import forward
from webapp.served import shipped_test_set

STEPS = 256


def timings_ms(fn, repeats: int) -> list[float]:
    fn()  # warm-up (tracing)
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(values: list[float]) -> str:
    q = statistics.quantiles(values, n=10)
    return f"p50 {statistics.median(values):7.2f} ms   p90 {q[-1]:7.2f} ms   (n={len(values)})"


def seed_style_maximization(model, layer: str, filter_index: int, steps: int = STEPS, lr: float = 0.05) -> np.ndarray:
    """The notebook's loop: one filter, eager mode, a GradientTape per step."""
    image = tf.Variable(np.random.default_rng(0).uniform(0, 1, (1, 28, 28, 1)).astype(np.float32))
    for _ in range(steps):
        with tf.GradientTape() as tape:
            activation = forward(model, image, capture=[layer])[0][layer]
            loss = tf.reduce_mean(activation[..., filter_index])
        grads = tape.gradient(loss, image)
        image.assign(tf.clip_by_value(image + lr * grads / (tf.math.reduce_std(grads) + 1e-8), 0, 1))
    return image.numpy()


def main() -> None:
    model = ModelManager().get("mnist").model
    images = shipped_test_set("mnist")[0][:200, :, :, 0]
    names = list(dataset_info("mnist").class_names)
    grad_cam, maximizer, visualizer = GradCAM(model), ActivationMaximizer(model), FilterVisualizer(model)
    guided = GuidedBackprop(model)
    cycle = iter(np.tile(np.arange(len(images)), 20))

    for name, explain, repeats in (("Grad-CAM, one image (predicted class)", grad_cam.result, 300),
                                   ("Grad-CAM, all ten classes (one pass)", grad_cam.explain_all, 200),
                                   ("Guided backprop, one image", guided.explain, 100)):
        print(f"{name:40s}", summary(timings_ms(lambda: explain(images[next(cycle)]), repeats)))

    targets = maximizer.targets_of("conv1") + maximizer.targets_of("conv2")
    batched = timings_ms(lambda: maximizer.maximize_targets(targets, steps=STEPS), 5)
    start = time.perf_counter()
    for layer, index in targets:
        seed_style_maximization(model, layer, index)
    seed_seconds = time.perf_counter() - start
    batched_seconds = statistics.median(batched) / 1000
    print(f"Activation maximization, 16 filters x {STEPS} steps: batched tf.function {batched_seconds:.3f} s "
          f"(median of 5), seed-style eager loop {seed_seconds:.1f} s -> {seed_seconds / batched_seconds:.0f}x faster")

    image = images[0]
    cam = grad_cam.result(image)

    def variants_figure():
        guided_map = guided.explain(image, cam.target)[0]
        return plots.variants_figure(image, cam, grad_cam.counterfactual(image), guided_map,
                                     guided_grad_cam(guided_map, cam.heatmap), names)

    result = maximizer.maximize_targets(targets, steps=STEPS)
    figures = {
        "Grad-CAM overlay figure": lambda: plots.cam_figure(image, cam, names),
        "ten-class grid figure": lambda: plots.class_grid_figure(image, grad_cam.explain_all(image), names),
        "variants figure": variants_figure,
        "conv1 weights figure": lambda: plots.conv_weights_figure(*visualizer.weights("conv1")),
        "conv2 kernel grid figure": lambda: plots.kernel_grid_figure(*visualizer.weights("conv2")),
        "training curves figure": lambda: plots.training_curves_figure(
            {"loss": [0.5, 0.2, 0.1], "accuracy": [0.8, 0.9, 0.95], "val_accuracy": [0.85, 0.92, 0.96]}),
        "confusion matrix figure": lambda: plots.confusion_matrix_figure(np.eye(10) * 1000, names),
    }
    print("Rendering (figure built and rasterized to RGB):")
    for name, make in figures.items():
        print(f"  {name:28s}", summary(timings_ms(lambda: plots.figure_to_image(make()), 10)))
    print("HTML grids (asked for many times a minute, so not figures):")
    print("  feature maps (33 maps)      ", summary(timings_ms(
        lambda: plots.feature_maps_html(image, visualizer.all_feature_maps(image)), 50)))
    print("  maximization (16 targets)   ", summary(timings_ms(lambda: plots.maximization_html(result), 50)))
    print("Live-path numpy images:")
    print("  heatmap overlay 224 px      ", summary(timings_ms(lambda: plots.heatmap_overlay(image, cam.heatmap), 200)))
    print("  grayscale view 224 px       ", summary(timings_ms(lambda: plots.grayscale_rgb(image), 200)))
    guided_map = guided.explain(image)[0]
    print("  signed map 224 px           ", summary(timings_ms(lambda: plots.signed_map_rgb(guided_map), 200)))


if __name__ == "__main__":
    main()
