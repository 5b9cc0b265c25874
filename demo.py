"""CNN Explainability Demo: the Gradio app. This file only wires the UI to ``webapp/``.

    python demo.py                  # local server on the shipped models, training allowed
    python demo.py --share          # public link for the class (training off)
    python demo.py --share --allow-training
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import os
import threading
from collections.abc import Callable

import gradio as gr
from gradio.events import Dependency
from starlette.middleware import Middleware

from cnn.architecture import Architecture
from cnn.datasets import DATASETS, DataUnavailableError
from cnn.model_manager import ModelManager, TrainingBusyError
from cnn.model_store import ModelFileError
from cnn.preprocessing import MAX_UPLOAD_BYTES, InputImageError
from cnn.training import TrainingConfig
from explainers import PREDICTED, Regularization
from explainers.activation_maximizer import LEARNING_RATE, STEPS
from plots import live_views_html
from ui.config_cache import ConfigCache
from ui.explained_inputs import ExplainedBlocks
from ui.light_sessions import use_light_sessions
from ui.live_network import DRAWING_FOR_SERVER, drawing_pad, live_panel, tell_page
from ui.number_dropdown import NumberDropdown
from ui.request_limits import BodySizeLimit, UploadNotAFile
from ui.sketchpad import BoundedSketchpad
from webapp import notes
from webapp.compare_view import (METHOD_TABLE_HEADERS, REMOVALS, TABLE_SIZES, compare_methods, dataset_table,
                                  sanity_grid)
from webapp.experiments_view import (ATTACKS, CURVE_IMAGES, DEFAULT_AIM, DEFAULT_EPSILON, EPSILON_RANGE,
                                     SUCCESS_HEADERS, TEST_IMAGES, adversarial_example, aim_choices,
                                     feature_inversion, robustness_view, style_transfer_view)
from webapp.networks_view import MATCH_LAYERS, SEED_PAIRS, deeper_network, match_view
from webapp.filters_view import TABLE_HEADERS, dead_filter_table, feature_maps_grid, weight_pictures
from webapp.grad_cam_view import (Explanation, deeper_views, explain_image, explain_sketch, explain_test_image,
                                  explain_upload, parse_target, target_choices, test_choices)
from cnn.browser_image import browser_image
from webapp.browser_routes import browser_routes
from webapp.header import header_card, model_card
from webapp.maximization_view import ALL_CONV, STEP_RANGE, filter_choices, layer_choices, maximization_grid
from webapp.policy import NotAllowedError, ServerPolicy
from webapp.served import DEFAULT_METHOD, LIVE_METHODS, ExplainerSet, ServedExplainers, new_model_notice
from webapp.server import quiet_gradio_analytics, seconds_since_start, spare_long_lived_objects_from_gc
from webapp.training_view import TrainingSupervisor, follow, parse_request, progress_html, served_confusion

USER_ERRORS = (ValueError, InputImageError, NotAllowedError, TrainingBusyError, ModelFileError, DataUnavailableError)
LIGHT = dict(concurrency_id="light", concurrency_limit=2, show_progress="hidden")  # per-stroke events
HEAVY = dict(concurrency_id="heavy", concurrency_limit=1)  # optimization and big figures
THEME = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])  # no web fonts
CSS = ".gradio-container {max-width: 1400px !important} #status p {font-size: 1.2em}"
FIGURE_BUTTONS = ["download", "fullscreen"]  # figures: save for slides, or show full screen
SESSIONS = 10_000  # browser sessions kept: tens of MiB (tests/test_hostile_inputs.py measures one)


def friendly(handler):
    """Show a user's mistake (bad input, disallowed action) as a message, never a traceback; for
    handlers that return and for generators that yield their updates alike."""
    if inspect.isgeneratorfunction(handler):
        @functools.wraps(handler)
        def generator(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except USER_ERRORS as err:
                raise gr.Error(str(err), print_exception=False) from None
        return generator

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except USER_ERRORS as err:
            raise gr.Error(str(err), print_exception=False) from None
    return wrapper


def build_app(manager: ModelManager, served_explainers: ServedExplainers, policy: ServerPolicy,
              default_dataset: str = "mnist") -> gr.Blocks:
    supervisor = TrainingSupervisor(manager)

    with ExplainedBlocks(title="CNN Explainability Demo", analytics_enabled=False, delete_cache=(600, 1800)) as app:
        gr.Markdown(notes.INTRO)
        with gr.Row():
            dataset = gr.Radio([(info.title, name) for name, info in DATASETS.items()], value=default_dataset,
                               label="Dataset", scale=1, min_width=260)
            with gr.Column(scale=3, min_width=320):  # wraps under the dataset choice on a phone
                card = gr.Markdown(elem_id="model-card")

        def show_card(name: str) -> str:
            return header_card(manager, name)

        with gr.Tabs():
            with gr.Tab("Grad-CAM", id="gradcam"):
                image_state, target, drawing_first = _grad_cam_tab(served_explainers, dataset, default_dataset)
            with gr.Tab("Compare methods", id="compare"):
                _compare_tab(served_explainers, dataset, image_state, target, drawing_first)
            with gr.Tab("Experiments", id="experiments"):
                _experiments_tab(served_explainers, manager, dataset, image_state, target, drawing_first)
            with gr.Tab("Filters", id="filters") as filters_tab:
                _filters_tab(served_explainers, dataset, filters_tab)
            with gr.Tab("Activation Maximization", id="maximization") as maximization_tab:
                _maximization_tab(served_explainers, dataset, maximization_tab)
            with gr.Tab("Model", id="model") as model_tab:
                _model_tab(manager, served_explainers, supervisor, policy, dataset, card, model_tab)
        gr.Markdown(notes.CLASSROOM)
        dataset.change(show_card, dataset, card, api_visibility="private")
        app.load(show_card, dataset, card, api_visibility="private")
    return app


@friendly
def _on_drawn(value):
    """The page's drawing becomes the session's image; None: the drawing is not shown, keep the image."""
    return gr.skip() if value is None else browser_image(value)


def _grad_cam_tab(served_explainers: ServedExplainers, dataset: gr.Radio,
                  first_dataset: str) -> tuple[gr.State, gr.Dropdown, Callable[[gr.Button], Dependency]]:
    """The tab's image, target, and ``drawing_first(button)``: the button's first step, which makes the page's
    drawing (when the Draw tab shows it) the session's image, so that what follows explains what the page shows."""
    """The Grad-CAM tab; returns the session's 28x28 image and the target class, which Compare uses too."""
    image_state = gr.State(None)  # the 28x28 image being explained, per browser session
    with gr.Row():
        with gr.Column(scale=5):
            with gr.Tabs():
                with gr.Tab("✏️ Draw") as draw_tab:
                    drawing_pad(first_dataset)  # the network runs in the page: no request while drawing
                    # Hidden: it keeps /explain_sketch for API clients (an image or a Sketchpad dict), with its
                    # checks on what they send. Students draw on the canvas above.
                    sketch = BoundedSketchpad(label="Your digit", canvas_size=(400, 400), height=520, type="numpy",
                                          brush=gr.Brush(default_size=14, colors=["#000000"], color_mode="fixed"),
                                          layers=False, format="png", elem_id="sketchpad", visible=False)
                with gr.Tab("🗂️ Test images") as test_tab:
                    misclassified = gr.Checkbox(label="Only images the model gets wrong")
                    sample = gr.Slider(0, 9999, value=0, step=1, label="sample_idx (test image)")
                    random_button = gr.Button("🎲 Random test image")
                with gr.Tab("📁 Upload") as upload_tab:
                    upload = gr.File(label="A picture of one digit (PNG, JPEG, GIF, ≤ 10 MB)",
                                     file_types=["image"], type="filepath")
            with gr.Row():
                target = NumberDropdown(target_choices(first_dataset), value=PREDICTED,
                                     label="Target class for the heatmap", elem_id="target")
                method = gr.Radio(LIVE_METHODS, value=DEFAULT_METHOD, label="Method")
        with gr.Column(scale=7):
            live_panel(first_dataset)  # the drawing's views, drawn by the page; the server's below, for the others
            status = gr.Markdown("✏️ Draw a digit, pick a test image or upload a picture.", elem_id="status")
            views = gr.HTML(live_views_html(), elem_id="views")
            probabilities = gr.Label(label="Class probabilities", num_top_classes=3, elem_id="probabilities")
    with gr.Accordion("All ten classes, counterfactual and guided backprop", open=False):
        deeper_button = gr.Button("Show them for this image", variant="primary")
        drawn = gr.JSON(visible=False)  # the 28x28 image the page made of the drawing, sent for these views
        class_grid = gr.Image(elem_id="class-grid", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
        variants = gr.Image(elem_id="variants", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
    gr.Markdown(notes.GRAD_CAM)

    seen_model = gr.State(None)  # (dataset, model version) this session saw last
    outputs = [status, views, probabilities, image_state, seen_model]

    def respond(name: str, seen: tuple | None, explain) -> tuple:
        """Run ``explain`` on the served explainers, with the news of a newly trained model if there is any."""
        current = served_explainers(name)
        e: Explanation = explain(current)
        news, now = new_model_notice(seen, current)
        return news + e.message, live_views_html(e.image28, e.overlay), e.probabilities, e.image28, now

    @friendly
    def on_sketch(value, target_class, name, cam_method, seen):
        return respond(name, seen, lambda s: explain_sketch(s, value, target_class, cam_method))

    @friendly
    def on_upload(path, target_class, name, cam_method, seen):
        return respond(name, seen, lambda s: explain_upload(s, path, target_class, cam_method))

    @friendly
    def on_test_image(position, only_wrong, target_class, name, cam_method, seen):
        return respond(name, seen, lambda s: explain_test_image(s, position, only_wrong, target_class, cam_method))

    @friendly
    def on_target(image28, target_class, name, cam_method, seen):
        if image28 is None:
            return respond(name, seen, lambda s: Explanation("Draw, choose or upload an image first."))
        return respond(name, seen, lambda s: explain_image(s, image28, parse_target(target_class), cam_method))

    @friendly
    def on_browse_mode(only_wrong, name):
        count = test_choices(served_explainers(name), only_wrong)
        label = f"misclassified test image (1 of {count})" if only_wrong else "sample_idx (test image)"
        return gr.Slider(maximum=max(count - 1, 0), value=0, label=label)

    def on_dataset(name):
        return (NumberDropdown(choices=target_choices(name), value=PREDICTED),
                "Dataset changed: draw, choose or upload an image.", live_views_html(), None, None, None)

    @friendly
    def on_deeper(image28, target_class, name, cam_method):
        return deeper_views(served_explainers(name), image28, target_class, cam_method)

    test_inputs = [sample, misclassified, target, dataset, method, seen_model]
    sketch.change(on_sketch, [sketch, target, dataset, method, seen_model], outputs, api_name="explain_sketch",
                  trigger_mode="always_last", **LIGHT)
    upload.change(on_upload, [upload, target, dataset, method, seen_model], outputs, api_name="explain_upload",
                  **LIGHT)
    sample.release(on_test_image, test_inputs, outputs, api_name="explain_test_image", trigger_mode="always_last",
                   **LIGHT)
    random_button.click(None, sample, sample, js="(m) => Math.floor(Math.random() * 10000)").then(
        on_test_image, test_inputs, outputs, api_visibility="private", **LIGHT)
    misclassified.change(on_browse_mode, [misclassified, dataset], sample, api_visibility="private").then(
        on_test_image, test_inputs, outputs, api_visibility="private", **LIGHT)
    for control in (target, method):
        control.change(on_target, [image_state, target, dataset, method, seen_model], outputs,
                       api_visibility="private", **LIGHT)
    dataset.change(on_dataset, dataset, [target, *outputs], api_visibility="private")
    # The page's network follows the same choices, told in the browser (no request).
    for control, kind in ((dataset, "dataset"), (target, "target"), (method, "method")):
        control.change(None, control, None, js=tell_page(kind))
    draw_tab.select(None, None, None, js=tell_page("source", "drawing"))
    for tab in (test_tab, upload_tab):
        tab.select(None, None, None, js=tell_page("source", "server"))

    def drawing_first(button: gr.Button) -> Dependency:
        return button.click(_on_drawn, drawn, image_state, js=DRAWING_FOR_SERVER, api_visibility="private",
                            **LIGHT)

    drawing_first(deeper_button).success(on_deeper, [image_state, target, dataset, method], [class_grid, variants],
                                         api_name="deeper_views", **HEAVY)
    return image_state, target, drawing_first


def _compare_tab(served_explainers: ServedExplainers, dataset: gr.Radio, image_state: gr.State,
                 target: gr.Dropdown, drawing_first: Callable[[gr.Button], Dependency]) -> None:
    gr.Markdown("The image and the target class of the **Grad-CAM** tab (your drawing, a test image or an "
                "upload), explained by all twelve methods, then tested.")
    with gr.Row():
        removal = gr.Radio(list(REMOVALS), value=next(iter(REMOVALS)), label="Removed pixels become", scale=1)
        compare = gr.Button("Compare the twelve methods on this image", variant="primary", scale=2)
    maps = gr.HTML(elem_id="compare-maps")
    with gr.Row():
        curves = gr.Image(elem_id="compare-curves", show_label=False, interactive=False, buttons=FIGURE_BUTTONS,
                          scale=3)
        scores = gr.Dataframe(headers=["method", "deletion AUC ↓", "insertion AUC ↑"], label="Scores on this image",
                              interactive=False, scale=2, elem_id="compare-scores")
    sanity_button = gr.Button("Sanity check: randomize the network, layer by layer")
    sanity = gr.HTML(elem_id="sanity")
    with gr.Accordion("Every method over the test set", open=False):
        size = gr.Radio(list(TABLE_SIZES), value=TABLE_SIZES[0], label="Test images (100: about 20 s, 500: a "
                                                                        "minute or two)")
        table_button = gr.Button("Score every method on the test set")
        table = gr.Dataframe(headers=METHOD_TABLE_HEADERS, interactive=False, elem_id="method-table")
    gr.Markdown(notes.COMPARE)

    @friendly
    def on_compare(image28, target_class, name, removed):
        return compare_methods(served_explainers(name), image28, target_class, removed)

    @friendly
    def on_sanity(image28, target_class, name):
        return sanity_grid(served_explainers(name), image28, target_class)

    @friendly
    def on_table(name, count, removed):
        return dataset_table(served_explainers(name), count, removed)

    drawing_first(compare).success(on_compare, [image_state, target, dataset, removal], [maps, scores, curves],
                                   api_name="compare_methods", **HEAVY)
    drawing_first(sanity_button).success(on_sanity, [image_state, target, dataset], sanity,
                                         api_name="sanity_checks", **HEAVY)
    table_button.click(on_table, [dataset, size, removal], table, api_name="method_table", **HEAVY)
    dataset.change(lambda: ("", "", None, None), None, [maps, sanity, curves, scores], api_visibility="private")


def _experiments_tab(served_explainers: ServedExplainers, manager: ModelManager, dataset: gr.Radio,
                     image_state: gr.State, target: gr.Dropdown,
                     drawing_first: Callable[[gr.Button], Dependency]) -> None:
    """The seed's extensions: attacks, robustness, inversion, style on the Grad-CAM tab's image; networks compared."""
    @contextlib.contextmanager
    def section(title: str, note: str, open: bool = False):
        """An accordion: the controls and pictures (the body of the ``with``), and the notes beside them."""
        with gr.Accordion(title, open=open), gr.Row():
            with gr.Column(scale=3, min_width=320):
                yield
            with gr.Column(scale=2, min_width=280):
                gr.Markdown(note)

    gr.Markdown(notes.EXPERIMENTS)
    with section("⚔️ Adversarial examples: make the network change its mind", notes.ADVERSARIAL, open=True):
        kind = gr.Radio(list(ATTACKS), value=list(ATTACKS)[-1], label="Attack")
        with gr.Row():
            epsilon = gr.Slider(*EPSILON_RANGE, value=DEFAULT_EPSILON, step=0.01, scale=3, min_width=200,
                                label="ε: the largest change of any pixel")
            aim = NumberDropdown(aim_choices(dataset.value), value=DEFAULT_AIM, scale=1, min_width=140,
                                 label="Target class (targeted)")
        attack_button = gr.Button("Attack this image", variant="primary")
        attack_view = gr.HTML(elem_id="adversarial")
    with section("📉 Robustness curve of the shipped models", notes.ROBUSTNESS):
        curve_button = gr.Button(f"Attack {CURVE_IMAGES:,} test images of each dataset (the first time up to a "
                                 "minute, then instant)", variant="primary")
        curve = gr.Image(elem_id="robustness-curve", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
        success = gr.Dataframe(headers=SUCCESS_HEADERS, interactive=False, elem_id="targeted-success",
                               label="Targeted PGD on 100 test images, each aimed at the class after its label: "
                                     "how often it gets there")
    with section("🔁 Feature inversion: what each layer keeps", notes.INVERSION):
        inversion_button = gr.Button("Reconstruct this image from every layer", variant="primary")
        inversion = gr.HTML(elem_id="inversion")
    with section("🎨 Style transfer: this image in the style of another", notes.STYLE_TRANSFER):
        with gr.Row():
            style_dataset = gr.Radio([(info.title, name) for name, info in DATASETS.items()], value="fashion_mnist",
                                     label="Style from the test images of")
            style_index = gr.Slider(0, TEST_IMAGES - 1, value=0, step=1, label="Style image (test image #)")
        style_button = gr.Button("Transfer the style", variant="primary")
        style = gr.HTML(elem_id="style-transfer")
    with section("🌱 Seeds compared: do two trainings learn the same filters?", notes.SEEDS):
        pair = gr.Dropdown(list(SEED_PAIRS), value=list(SEED_PAIRS)[0], label="Networks")
        layer = gr.Radio(MATCH_LAYERS, value=MATCH_LAYERS[0][1], label="Layer")
        match_button = gr.Button("Match their filters", variant="primary")
        matching = gr.HTML(elem_id="filter-matching")
    with gr.Accordion("🧱 Deeper network: two conv blocks or three?", open=False):
        gr.Markdown(notes.DEEPER)
        deeper_button = gr.Button("Show both networks (filters, synthesized images, Grad-CAM of this image)",
                                  variant="primary")
        with gr.Row():  # side by side; one above the other on a phone
            with gr.Column(min_width=340):
                two_blocks = gr.HTML(elem_id="two-blocks")
            with gr.Column(min_width=340):
                three_blocks = gr.HTML(elem_id="three-blocks")

    @friendly
    def on_attack(image28, name, attack, eps, target_class):
        return adversarial_example(served_explainers(name), image28, attack, eps, target_class)

    @friendly
    def on_curve():
        return robustness_view([served_explainers(name) for name in DATASETS])

    @friendly
    def on_inversion(image28, name):
        return feature_inversion(served_explainers(name), image28)

    @friendly
    def on_style(image28, name, style_from, style_image):
        return style_transfer_view(served_explainers(name), image28, style_from, style_image)

    @friendly
    def on_match(image28, networks, layer_name):
        return match_view(served_explainers, manager, networks, layer_name, image28)

    @friendly
    def on_deeper(image28, name):
        return deeper_network(served_explainers(name), manager, image28)

    drawing_first(attack_button).success(on_attack, [image_state, dataset, kind, epsilon, aim], attack_view,
                                         api_name="adversarial", **HEAVY)
    # Its first computation takes a minute: in a queue of its own, so that it holds up no other student's heavy view.
    curve_button.click(on_curve, None, [curve, success], api_name="robustness_curve", concurrency_id="robustness",
                       concurrency_limit=1)
    drawing_first(inversion_button).success(on_inversion, [image_state, dataset], inversion,
                                            api_name="feature_inversion", **HEAVY)
    drawing_first(style_button).success(on_style, [image_state, dataset, style_dataset, style_index], style,
                                        api_name="style_transfer", **HEAVY)
    drawing_first(match_button).success(on_match, [image_state, pair, layer], matching, api_name="match_filters",
                                        **HEAVY)
    drawing_first(deeper_button).success(on_deeper, [image_state, dataset], [two_blocks, three_blocks],
                                         api_name="deeper_network", **HEAVY)
    # The Grad-CAM tab's chosen class is the attack's target too ("why not a 3?" becomes "make it a 3").
    target.change(lambda chosen: gr.skip() if chosen in (None, PREDICTED) else chosen, target, aim,
                  api_visibility="private", show_progress="hidden")
    dataset.change(lambda name: (NumberDropdown(choices=aim_choices(name), value=DEFAULT_AIM), "", "", "", "", ""),
                   dataset, [aim, attack_view, inversion, style, two_blocks, three_blocks], api_visibility="private")


def _filters_tab(served_explainers: ServedExplainers, dataset: gr.Radio, tab: gr.Tab) -> None:
    with gr.Row():
        with gr.Column(scale=3):
            conv1 = gr.Image(elem_id="conv1-weights", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
            conv2 = gr.Image(elem_id="conv2-kernels", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
        with gr.Column(scale=2):
            gr.Markdown(notes.FILTERS)
    table = gr.Dataframe(headers=TABLE_HEADERS, label="Filter activity on 1,000 test images (dead: never fires)",
                         interactive=False, max_height=700)
    sample = gr.Slider(0, 9999, value=0, step=1, label="sample_idx: test image for the feature maps")
    caption = gr.Markdown()
    maps = gr.HTML(elem_id="feature-maps")

    @friendly
    def on_model(name):
        served = served_explainers(name)
        return *weight_pictures(served), dead_filter_table(served)

    @friendly
    def on_sample(index, name):
        grid, text = feature_maps_grid(served_explainers(name), index)
        return text, grid

    for trigger in (tab.select, dataset.change):
        trigger(on_model, dataset, [conv1, conv2, table], api_visibility="private", **HEAVY).then(
            on_sample, [sample, dataset], [caption, maps], api_visibility="private", **HEAVY)
    sample.release(on_sample, [sample, dataset], [caption, maps], api_name="feature_maps",
                   trigger_mode="always_last", **HEAVY)


def _maximization_tab(served_explainers: ServedExplainers, dataset: gr.Radio, tab: gr.Tab) -> None:
    with gr.Row():
        with gr.Column(scale=2):
            layer = gr.Dropdown([ALL_CONV, "conv1", "conv2", "logits"], value=ALL_CONV,
                                label="Layer (logits: one image per class)")
            filter_choice = gr.Dropdown(["all"], value="all", label="Filter (or class)")
            steps = gr.Slider(*STEP_RANGE, value=STEPS, step=16, label="Gradient-ascent steps")
            lr = gr.Slider(0.005, 0.5, value=LEARNING_RATE, step=0.005, label="Learning rate (step size)")
            regularization = Regularization()
            with gr.Accordion("Regularizers", open=False):
                l2 = gr.Slider(0, 0.1, value=regularization.l2_decay, step=0.005, label="L2 decay per step")
                jitter = gr.Slider(0, 4, value=regularization.jitter, step=1, label="Jitter (random shift, px)")
                blur = gr.Slider(0, 32, value=regularization.blur_every, step=1, label="Blur every k steps (0: never)")
                tv = gr.Slider(0, 1, value=regularization.total_variation, step=0.01, label="Total variation weight")
            seed = gr.Number(0, precision=0, label="Random seed")
            run = gr.Button("Synthesize", variant="primary")
        with gr.Column(scale=5):
            picture = gr.HTML(elem_id="maximization")
    gr.Markdown(notes.MAXIMIZATION)

    @friendly
    def on_run(name, *params):
        return maximization_grid(served_explainers(name), *params)

    @friendly
    def on_dataset(name):
        return gr.Dropdown(choices=layer_choices(served_explainers(name)), value=ALL_CONV)

    @friendly
    def on_layer(name, chosen_layer):
        return gr.Dropdown(choices=["all"] + filter_choices(served_explainers(name), chosen_layer), value="all")

    inputs = [dataset, layer, filter_choice, steps, lr, l2, jitter, blur, tv, seed]
    run.click(on_run, inputs, picture, api_name="maximize", **HEAVY)
    tab.select(on_run, inputs, picture, api_visibility="private", **HEAVY)
    dataset.change(on_dataset, dataset, layer, api_visibility="private")
    layer.change(on_layer, [dataset, layer], filter_choice, api_visibility="private")


def _model_tab(manager: ModelManager, served_explainers: ServedExplainers, supervisor: TrainingSupervisor,
               policy: ServerPolicy, dataset: gr.Radio, card: gr.Markdown, tab: gr.Tab) -> None:
    gr.Markdown(notes.MODEL)
    if not policy.allow_training:
        gr.Markdown(notes.TRAINING_OFF)
    enabled = policy.allow_training
    config, (conv1_filters, conv2_filters) = TrainingConfig(), Architecture().filters  # the seed's recipe
    with gr.Row():
        with gr.Column(scale=2):
            epochs = gr.Slider(1, 30, value=config.epochs, step=1, label="Epochs", interactive=enabled)
            batch_size = NumberDropdown([32, 64, 128, 256, 512], value=config.batch_size, label="Batch size",
                                     interactive=enabled)
            lr = gr.Number(config.learning_rate, label="Learning rate (Adam)", interactive=enabled)
            seed = gr.Number(config.seed, precision=0, label="Random seed", interactive=enabled)
            with gr.Row():
                conv1 = gr.Slider(1, 32, value=conv1_filters, step=1, label="conv1 filters", interactive=enabled)
                conv2 = gr.Slider(1, 32, value=conv2_filters, step=1, label="conv2 filters", interactive=enabled)
                conv3 = gr.Slider(0, 32, value=0, step=1, label="conv3 filters (0: no third block)",
                                  interactive=enabled)
            save = gr.Checkbox(False, label="Also save it as the model the app starts with (replaces the file in "
                                            "saved_models/, atomically)", interactive=enabled)
            with gr.Row():
                train = gr.Button("Train a new model", variant="primary", interactive=enabled)
                cancel = gr.Button("Cancel", variant="stop", interactive=enabled)
            restore = gr.Button("Reload the saved model (undo an unsaved training)", interactive=enabled)
        with gr.Column(scale=5):
            progress = gr.HTML("<p>No training yet.</p>", elem_id="training-progress")
            curves = gr.Image(elem_id="training-curves", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
            confusion = gr.Image(elem_id="confusion", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)

    @friendly
    def on_train(name, save_file, *form):
        policy.require_training()
        job = supervisor.start(name, *parse_request(*form), save=bool(save_file))
        for update in follow(job, served_explainers):
            yield (progress_html(update), gr.skip() if update.curves is None else update.curves,
                   gr.skip() if update.confusion is None else update.confusion)

    @friendly
    def on_cancel():
        policy.require_training()
        return "<p>Cancelling…</p>" if supervisor.cancel() else "<p>No training is running.</p>"

    @friendly
    def on_restore(name):
        policy.require_training()
        return model_card(manager.reload(name))

    @friendly
    def on_show(name):
        return served_confusion(served_explainers(name))

    for trigger in (tab.select, dataset.change):
        trigger(on_show, dataset, confusion, api_visibility="private", **HEAVY)
    train.click(on_train, [dataset, save, epochs, batch_size, lr, seed, conv1, conv2, conv3],
                [progress, curves, confusion], api_name="train", concurrency_id="training", concurrency_limit=None)
    cancel.click(on_cancel, None, progress, api_name="cancel_training", concurrency_limit=None)
    restore.click(on_restore, dataset, card, api_name="restore_shipped_model", concurrency_limit=None)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="CNN Explainability Demo")
    parser.add_argument("--share", action="store_true", help="create a public link for the class")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860 or the next free one)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist", help="dataset shown first")
    parser.add_argument("--data-dir", help="folder with the original IDX files, for training")
    parser.add_argument("--models-dir", help="folder of the saved models (default saved_models/)")
    parser.add_argument("--allow-training", action="store_true",
                        help="allow training on a shared link or Space (always allowed locally)")
    parser.add_argument("--queue-size", type=int, default=200,
                        help="requests waiting at most; beyond it students are told the server is busy")
    return parser.parse_args(argv)


def warm_up(served_explainers: ServedExplainers, first: str) -> None:
    """Load and compile the first dataset's model now; in the background, the other ones, then the
    Filters tab's figures (matplotlib's first figure loads its fonts: a second that no student should wait)."""
    def load(name: str) -> ExplainerSet | None:
        try:
            return served_explainers(name)
        except ModelFileError as err:
            print(f"⚠️  {name}: {err}. The app runs; retrain it in the Model tab or restore the file "
                  f"(git checkout saved_models/).", flush=True)
            return None

    first_set = load(first)

    def in_background() -> None:
        loaded = [first_set] + [load(name) for name in DATASETS if name != first]
        for explainer_set in filter(None, loaded):
            weight_pictures(explainer_set)

    threading.Thread(target=in_background, daemon=True).start()


def share_cores_with_the_server() -> None:
    """TensorFlow takes half the cores, so a burst of maximizations leaves the other half to the web
    server and to the students' light requests (set before any TF op). Training runs in its own
    idle-priority process (cnn/training_worker.py)."""
    import tensorflow as tf

    threads = max(1, (os.cpu_count() or 2) // 2)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    quiet_gradio_analytics()
    use_light_sessions()
    share_cores_with_the_server()
    manager = ModelManager(**({"models_dir": args.models_dir} if args.models_dir else {}), data_dir=args.data_dir)
    policy = ServerPolicy.decide(share=args.share, allow_training=args.allow_training)
    served_explainers = ServedExplainers(manager, after_swap=spare_long_lived_objects_from_gc)
    app = build_app(manager, served_explainers, policy, args.dataset)
    warm_up(served_explainers, args.dataset)
    # api_open=False: every event goes through the queue and its limits (Gradio would also run them
    # directly, in parallel, at /gradio_api/run/<name>). status_update_rate=1: each waiting student hears
    # their place in the queue once a second; by default Gradio tells every waiting student at every
    # event's start, a message per waiting student per event (40 waiting, 30 events a second: 1,200 a second).
    app.queue(max_size=args.queue_size, default_concurrency_limit=2, api_open=False, status_update_rate=1)
    print(f"Training {'allowed' if policy.allow_training else 'off'}; models ready "
          f"{seconds_since_start():.1f} s after start", flush=True)
    # A session costs a few KiB (ui/light_sessions.py): keep the SESSIONS most recently active, so that no
    # burst of new sessions evicts a student's; an evicted, long idle page starts afresh. Uploaded drawings
    # are deleted after half an hour.
    # No request body may be larger than one upload and its form (Gradio reads them whole, up to 1,000 files).
    body_limit = Middleware(BodySizeLimit, max_bytes=MAX_UPLOAD_BYTES + 2**20)
    not_a_file = Middleware(UploadNotAFile)  # Gradio answers 500 to an upload part without a filename
    # The page and its configuration, built once per address rather than deep-copied for every visitor.
    config_cache = Middleware(ConfigCache)
    # Beside Gradio's routes: the page's JavaScript, the served models' weights and the news of a new one.
    routes = browser_routes(manager, served_explainers)
    spare_long_lived_objects_from_gc()
    app.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_UPLOAD_BYTES,
               state_session_capacity=SESSIONS, ssr_mode=False, theme=THEME, css=CSS, show_error=False,
               app_kwargs={"middleware": [config_cache, body_limit, not_a_file], "routes": routes})


if __name__ == "__main__":
    main()
