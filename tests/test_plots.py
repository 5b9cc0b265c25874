"""The plots package: every figure renders, shows the right numbers, and is safe to draw from threads."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

import plots
from plots import figure_to_image
from tests.inline_images import inline_images

REPO = Path(__file__).resolve().parent.parent
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# Every figure function, fed from one dict of inputs (real explainer outputs, or synthetic ones).
FIGURES = {
    "conv_weights": lambda d: plots.conv_weights_figure(*d["conv1"]),
    "kernel_grid": lambda d: plots.kernel_grid_figure(*d["conv2"]),
    "gradcam": lambda d: plots.cam_figure(d["image"], d["cam"], d["class_names"]),
    "gradcam_no_evidence": lambda d: plots.cam_figure(d["image"], d["empty_cam"], d["class_names"]),
    "class_grid": lambda d: plots.class_grid_figure(d["image"], d["cams"], d["class_names"]),
    "variants": lambda d: plots.variants_figure(d["image"], d["cam"], d["counterfactual"], d["guided_backprop"],
                                                d["guided_gradcam"], d["class_names"]),
    "training_curves": lambda d: plots.training_curves_figure(d["history"]),
    "confusion_matrix": lambda d: plots.confusion_matrix_figure(d["confusion"], d["class_names"]),
}


def synthetic_cam(target: int, heatmap: np.ndarray) -> SimpleNamespace:
    """A stand-in with GradCAMResult's fields, so that drawing can be tested without TensorFlow."""
    probabilities = np.full(10, 0.01)
    probabilities[3] = 0.91
    return SimpleNamespace(method="Grad-CAM", heatmap=heatmap, raw=heatmap[::2, ::2], probabilities=probabilities,
                           predicted=3, target=target, layer="conv2", has_evidence=bool(heatmap.max() > 0))


def synthetic_maximization(targets: list[tuple[str, int]], steps: int = 20) -> SimpleNamespace:
    rng = np.random.default_rng(1)
    curves = np.cumsum(rng.uniform(0, 1, (len(targets), steps)), axis=1)
    return SimpleNamespace(targets=targets, images=rng.uniform(0, 1, (len(targets), 28, 28)), objective=curves)


def synthetic_inputs() -> dict:
    rng = np.random.default_rng(0)
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0
    blob = np.exp(-((np.arange(28)[:, None] - 10) ** 2 + (np.arange(28)[None, :] - 14) ** 2) / 30.0)
    return {
        "image": image, "class_names": FASHION_NAMES,
        "conv1": (rng.normal(0, 0.3, (3, 3, 1, 8)), rng.normal(0, 0.05, 8)),
        "conv2": (rng.normal(0, 0.2, (3, 3, 8, 8)), rng.normal(0, 0.05, 8)),
        "cam": synthetic_cam(3, blob), "empty_cam": synthetic_cam(5, np.zeros((28, 28))),
        "cams": [synthetic_cam(c, blob if c % 2 else np.zeros((28, 28))) for c in range(10)],
        "counterfactual": synthetic_cam(3, blob[::-1]),
        "guided_backprop": rng.normal(0, 1, (28, 28)), "guided_gradcam": rng.normal(0, 1, (28, 28)) * blob,
        "history": {"loss": [1.0, 0.5], "accuracy": [0.7, 0.9], "val_loss": [0.6, 0.4], "val_accuracy": [0.8, 0.9]},
        "confusion": rng.integers(0, 30, (10, 10)) + np.diag(np.full(10, 900)),
    }


@pytest.fixture(scope="module")
def real() -> dict:
    """Explainer outputs of a model trained for one epoch on 3,000 shipped test images (a few seconds)."""
    import dataclasses

    from explainers import FilterVisualizer, GradCAM, GuidedBackprop, guided_grad_cam
    from cnn.architecture import build_model
    from cnn.datasets import load_split, to_model_input
    from cnn.evaluation import confusion_matrix, predict_logits
    from cnn.training import TrainingConfig, train_model

    images, labels = load_split("mnist", "test")
    x = to_model_input(images[:4000])
    model = build_model()
    result = train_model(model, (x[:3000], labels[:3000]), (x[3000:], labels[3000:4000]), TrainingConfig(epochs=1))
    image = x[3000, :, :, 0]
    cam = GradCAM(model)
    filters = FilterVisualizer(model)
    explained = cam.result(image)
    guided = GuidedBackprop(model).explain(image)[0]
    return {
        "image": image, "class_names": [str(digit) for digit in range(10)],
        "conv1": filters.weights("conv1"), "conv2": filters.weights("conv2"),
        "maps": filters.all_feature_maps(image),
        "cam": explained, "cams": cam.explain_all(image),
        "empty_cam": dataclasses.replace(explained, heatmap=np.zeros((28, 28), np.float32), target=1),
        "counterfactual": cam.counterfactual(image),
        "guided_backprop": guided, "guided_gradcam": guided_grad_cam(guided, explained.heatmap),
        "history": result.history,
        "confusion": confusion_matrix(labels[3000:4000], predict_logits(model, x[3000:]).argmax(axis=1)),
    }


@pytest.fixture(scope="module")
def rendered(real: dict) -> dict[str, np.ndarray]:
    """Each figure rendered once, one after the other; prints the time each took."""
    images = {}
    for name, build in FIGURES.items():
        start = time.perf_counter()
        images[name] = figure_to_image(build(real))
        print(f"{name}: {1000 * (time.perf_counter() - start):.0f} ms")
    return images


@pytest.mark.parametrize("name", FIGURES)
def test_figure_renders_a_nontrivial_image(rendered: dict[str, np.ndarray], name: str) -> None:
    image = rendered[name]
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    height, width = image.shape[:2]
    assert 380 <= width <= 1300 and 300 <= height <= 1300  # 4 to 13 inches at dpi 100
    assert image.std() > 10  # not blank


def test_figure_to_image_uses_the_dpi() -> None:
    fig = Figure(figsize=(4, 3))
    fig.add_subplot().plot([0, 1], [1, 0])
    assert figure_to_image(fig, dpi=50).shape == (150, 200, 3)


def test_cam_figure_is_fast(real: dict) -> None:
    figure_to_image(plots.cam_figure(real["image"], real["cam"], real["class_names"]))  # warm font caches
    times = []
    for _ in range(5):
        start = time.perf_counter()
        figure_to_image(plots.cam_figure(real["image"], real["cam"], real["class_names"]))
        times.append(time.perf_counter() - start)
    print(f"cam_figure + figure_to_image: best {1000 * min(times):.0f} ms")
    assert min(times) < 0.25  # 100 ms on an idle laptop; slack for loaded CI machines


def test_conv_weights_figure_writes_every_kernel_value_in_its_cell(real: dict) -> None:
    kernel, bias = real["conv1"]
    fig = plots.conv_weights_figure(kernel, bias)
    filter_axes = [ax for ax in fig.axes if ax.get_title().startswith("filter")]
    assert len(filter_axes) == 8
    for index, ax in enumerate(filter_axes):
        assert ax.get_title() == f"filter {index}\nbias {plots.filters.signed(bias[index])}"
        written = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
        assert len(written) == 9
        for (row, col), text in written.items():
            assert text == f"{kernel[row, col, 0, index]:+.2f}".replace("-0.00", "+0.00")
    colorbar_labels = [ax.get_ylabel() for ax in fig.axes if ax not in filter_axes]
    assert colorbar_labels == ["weight"]


def test_conv_weights_figure_uses_one_symmetric_scale(real: dict) -> None:
    kernel, bias = real["conv1"]
    fig = plots.conv_weights_figure(kernel, bias)
    limits = {ax.images[0].get_clim() for ax in fig.axes if ax.get_title().startswith("filter")}
    largest = float(np.abs(kernel).max())
    assert limits == {(-largest, largest)}


def test_conv_weights_figure_rejects_a_kernel_with_several_inputs(real: dict) -> None:
    with pytest.raises(ValueError, match="kernel_grid_figure"):
        plots.conv_weights_figure(*real["conv2"])


def test_feature_maps_html_shows_every_map_at_its_true_size_scaled_to_its_max(real: dict) -> None:
    page = plots.feature_maps_html(real["image"], real["maps"])
    pictures = inline_images(page)
    assert len(pictures) == 1 + 4 * 8
    assert [p.shape[:2] for p in pictures[::8]] == [(28, 28), (28, 28), (14, 14), (14, 14), (7, 7)]
    for layer in ("conv1", "pool1", "conv2", "pool2"):
        height, width = real["maps"][layer].shape[:2]
        assert f"<b>{layer}</b><br>{height}x{width}" in page
    conv1 = real["maps"]["conv1"]
    for channel, picture in enumerate(pictures[1:9]):
        peak = conv1[:, :, channel].max()
        expected = "all zero" if peak == 0 else f"max {peak:.2g}"
        assert f"#{channel} {expected}" in page
        if peak > 0:  # the brightest pixel of each map gets the top colour of the scale
            brightest = np.unravel_index(conv1[:, :, channel].argmax(), (28, 28))
            assert (picture[brightest] == plots.html_grids.FEATURE_LUT[255]).all()


@pytest.mark.parametrize("count", [1, 8, 16])
def test_maximization_html_has_one_tile_per_target_and_marks_dead_filters(count: int) -> None:
    targets = [("conv2", i % 8) for i in range(count)]
    result = synthetic_maximization(targets)
    page = plots.maximization_html(result, dead={("conv2", 0)})
    pictures = inline_images(page)
    assert len(pictures) == count and page.count("<polyline") == count
    np.testing.assert_array_equal(pictures[0], (result.images[0] * 255).astype(np.uint8))
    assert page.count("dead filter") == sum(index == 0 for _, index in targets)
    assert f"activation {result.objective[0][0]:.2g} → {result.objective[0][-1]:.2g}" in page
    assert plots.html_grids.DEAD_COLOR in page
    assert page.count("<b>conv2</b><br>") == 1  # one labelled row per layer


def test_maximization_html_puts_each_layer_on_its_own_row() -> None:
    page = plots.maximization_html(synthetic_maximization([("conv1", 0), ("conv1", 1), ("conv2", 0)]))
    conv1_row, conv2_row = page.split("<b>conv1</b><br>")[1].split("<b>conv2</b><br>")
    assert conv1_row.count("<img") == 2 and conv2_row.count("<img") == 1


def test_maximization_curve_rises_where_the_activation_rises() -> None:
    rising = plots.html_grids._sparkline(np.arange(10.0), 100, 40, "blue")
    points = [tuple(map(float, p.split(","))) for p in rising.split('points="')[1].split('"')[0].split()]
    xs, ys = zip(*points)
    assert list(xs) == sorted(xs) and list(ys) == sorted(ys, reverse=True)  # SVG's y grows downwards
    assert min(ys) >= 0 and max(ys) <= 40
    flat = plots.html_grids._sparkline(np.ones(500), 100, 40, "blue")
    assert flat.count(",") == plots.html_grids.CURVE_POINTS  # long runs are thinned out


def test_cam_figure_says_when_there_is_no_evidence(real: dict) -> None:
    fig = plots.cam_figure(real["image"], real["empty_cam"], real["class_names"])
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["no positive evidence\nfor class 1"]
    assert len(fig.axes) == 2  # no colour bar: there is no heatmap to read it against


def test_class_grid_highlights_the_predicted_class(real: dict) -> None:
    fig = plots.class_grid_figure(real["image"], real["cams"], FASHION_NAMES)
    predicted = real["cams"][0].predicted
    bold = [ax.get_title() for ax in fig.axes[:10] if ax.title.get_fontweight() == "bold"]
    assert bold == [f"{FASHION_NAMES[predicted]}\np={real['cams'][predicted].probabilities[predicted]:.2f}"]


def test_grayscale_rgb_keeps_the_28_pixels_visible() -> None:
    image = np.random.default_rng(0).uniform(0, 1, (28, 28))
    rgb = plots.grayscale_rgb(image)
    assert rgb.shape == (224, 224, 3) and rgb.dtype == np.uint8
    blocks = rgb[:, :, 0].reshape(28, 8, 28, 8)
    assert (blocks == blocks[:, :1, :, :1]).all()  # each source pixel is an 8x8 block of one grey
    np.testing.assert_array_equal(blocks[:, 0, :, 0], (image * 255).astype(np.uint8))


def test_heatmap_overlay_shapes_and_extremes() -> None:
    image = synthetic_inputs()["image"]
    heatmap = np.zeros((28, 28))
    heatmap[10:14, 10:14] = 1.0
    overlay = plots.heatmap_overlay(image, heatmap, size=112)
    assert overlay.shape == (112, 112, 3) and overlay.dtype == np.uint8
    hot, cold = overlay[48, 48].astype(int), overlay[0, 0].astype(int)
    assert hot[0] > hot[2] and cold[2] > cold[0]  # 'jet': red where important, blue elsewhere


def test_overlays_of_all_zero_maps_are_uniform_and_finite() -> None:
    image = synthetic_inputs()["image"]
    blank = plots.heatmap_overlay(np.zeros((28, 28)), np.zeros((28, 28)))
    assert (blank == blank[0, 0]).all()
    assert plots.heatmap_overlay(image, np.zeros((28, 28))).dtype == np.uint8
    neutral = plots.signed_map_rgb(np.zeros((28, 28)))
    assert (neutral == neutral[0, 0]).all() and (neutral[0, 0] > 230).all()  # white: no effect anywhere


def test_signed_map_is_red_for_positive_and_blue_for_negative() -> None:
    values = np.zeros((28, 28))
    values[:, :14], values[:, 14:] = 2.0, -2.0
    rgb = plots.signed_map_rgb(values).astype(int)
    assert rgb[100, 50, 0] > 3 * rgb[100, 50, 2]
    assert rgb[100, 170, 2] > 3 * rgb[100, 170, 0]
    assert abs(int(rgb[100, 50].sum()) - int(rgb[100, 170].sum())) < 60  # symmetric strengths


def test_figures_render_identically_from_8_threads_and_leave_no_pyplot_figures(
        real: dict, rendered: dict[str, np.ndarray]) -> None:
    names = list(FIGURES)
    with ThreadPoolExecutor(max_workers=8) as pool:
        images = list(pool.map(lambda name: figure_to_image(FIGURES[name](real)), names))
    for name, image in zip(names, images):
        np.testing.assert_array_equal(image, rendered[name], err_msg=name)
    import matplotlib.pyplot  # only now: Keras imports it anyway, but no figure of ours may be registered

    assert matplotlib.pyplot.get_fignums() == []


def test_plots_never_imports_pyplot() -> None:
    """In a fresh interpreter without Keras (which imports pyplot itself), building every figure leaves pyplot out."""
    script = ("import sys\n"
              "from plots import figure_to_image\n"
              "from tests.test_plots import FIGURES, synthetic_inputs\n"
              "inputs = synthetic_inputs()\n"
              "figures = [build(inputs) for build in FIGURES.values()]\n"
              "figure_to_image(figures[0])  # rendering is matplotlib's own Agg code, the same for every figure\n"
              "assert 'tensorflow' not in sys.modules, 'drawing should not need TensorFlow'\n"
              "assert 'matplotlib.pyplot' not in sys.modules, 'plots imported matplotlib.pyplot'\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_no_plots_module_imports_pyplot_even_lazily() -> None:
    for path in (REPO / "plots").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported = [node.module or "", *(alias.name for alias in node.names)]
            else:
                continue
            assert not any("pyplot" in name for name in imported), f"{path.name}: {imported}"


@pytest.mark.parametrize("method", ["Grad-CAM", "HiResCAM"])
def test_cam_figures_are_titled_with_the_method_that_made_them(method: str) -> None:
    inputs = synthetic_inputs()

    def made_by(cam: SimpleNamespace) -> SimpleNamespace:
        return SimpleNamespace(**{**vars(cam), "method": method})

    def titles(fig: Figure) -> list[str]:
        return [fig.get_suptitle()] + [ax.get_title() for ax in fig.axes]

    cams = [made_by(cam) for cam in inputs["cams"]]
    cam, against = made_by(inputs["cam"]), made_by(inputs["counterfactual"])
    single = titles(plots.cam_figure(inputs["image"], cam, inputs["class_names"]))
    grid = titles(plots.class_grid_figure(inputs["image"], cams, inputs["class_names"]))
    variants = titles(plots.variants_figure(inputs["image"], cam, against, inputs["guided_backprop"],
                                            inputs["guided_gradcam"], inputs["class_names"]))
    other = {"Grad-CAM": "HiResCAM", "HiResCAM": "Grad-CAM"}[method]
    for shown in (single, grid, variants):
        assert any(method in title for title in shown)
        assert not any(other in title for title in shown)
    assert f"Guided {method}\nguided backprop x {method}" in variants


def test_cam_methods_figure_shows_each_method_beside_the_input() -> None:
    inputs = synthetic_inputs()
    empty_grad_cam = SimpleNamespace(**{**vars(inputs["empty_cam"]), "target": 3})  # no evidence for class 3
    hires_cam = SimpleNamespace(**{**vars(inputs["cam"]), "method": "HiResCAM"})
    fig = plots.cam_methods_figure(inputs["image"], [empty_grad_cam, hires_cam], inputs["class_names"])
    assert [ax.get_title() for ax in fig.axes[:3]] == ["input", "Grad-CAM\nconv2, p=0.91", "HiResCAM\nconv2, p=0.91"]
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["no positive evidence\nfor class Dress"]
    assert fig.get_suptitle().startswith("Evidence for class Dress, by 2 methods (the network predicts Dress)")
    assert figure_to_image(fig).std() > 10


def test_cam_methods_figure_refuses_maps_of_different_classes() -> None:
    inputs = synthetic_inputs()
    with pytest.raises(ValueError, match="same target"):
        plots.cam_methods_figure(inputs["image"], [inputs["cam"], inputs["empty_cam"]], inputs["class_names"])
    with pytest.raises(ValueError, match="same target"):
        plots.cam_methods_figure(inputs["image"], [], inputs["class_names"])
