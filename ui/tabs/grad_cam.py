"""The Grad-CAM tab: a drawing (explained by the page's own network), a test image or an upload (explained
by the server), the target class and the CAM method, and the deeper views of the image on request."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr
from gradio.events import Dependency

from cnn.browser_image import browser_image
from explainers import PREDICTED
from plots import live_views_html
from ui.class_api import ClassApi
from ui.class_panel import class_panel
from ui.friendly import friendly
from ui.live_network import DRAWING_FOR_SERVER, drawing_pad, live_panel, tell_page
from ui.number_dropdown import NumberDropdown
from ui.queues import HEAVY, INSTANT, LIGHT
from ui.sketchpad import BoundedSketchpad
from ui.tabs import figure
from webapp import notes
from webapp.grad_cam_view import (Explanation, deeper_views, explain_image, explain_sketch, explain_test_image,
                                  explain_upload, parse_target, random_position, target_choices, test_choices,
                                  upload_label)
from webapp.served import DEFAULT_METHOD, LIVE_METHODS, ServedExplainers, new_model_notice


@dataclass(frozen=True)
class ExplainedImage:
    """What the other tabs explain: the tab's image and target class, and ``drawing_first(button)``."""
    image: gr.State  # the 28x28 image being explained, per browser session
    target: gr.Dropdown
    # The button's first step: it makes the page's drawing (when the Draw tab shows it) the session's image,
    # so that what follows explains what the page shows; ``required=False``: an empty canvas is no image.
    drawing_first: Callable[..., Dependency]


@friendly
def _on_drawn(value):
    """The page's drawing becomes the session's image; None: the drawing is not shown, keep the image."""
    return gr.skip() if value is None else browser_image(value)


@friendly
def _on_drawn_if_any(value):
    """As ``_on_drawn``, for the views that also work without an image: an empty canvas is no image."""
    return None if isinstance(value, list) and not any(value) else _on_drawn(value)


def grad_cam_tab(served_explainers: ServedExplainers, dataset: gr.Radio, first_dataset: str,
                 class_api: ClassApi | None = None) -> ExplainedImage:
    image_state = gr.State(None)
    note_state = gr.State("")  # what the image is ("Test image #62, labelled 9"): kept when the target changes
    with gr.Row(elem_id="gradcam-row"):
        with gr.Column(scale=5, elem_id="gradcam-source"):
            with gr.Tabs(overflow_behavior="wrap"):
                with gr.Tab("✏️ Draw") as draw_tab:
                    drawing_pad(first_dataset)  # the network runs in the page: no request while drawing
                    if class_api is not None:
                        class_panel(class_api)  # shown when the page was opened with ?class=CODE
                    # Hidden: it keeps /explain_sketch for API clients (an image or a Sketchpad dict), with its
                    # checks on what they send. Students draw on the canvas above.
                    sketch = BoundedSketchpad(label="Your digit", canvas_size=(400, 400), height=520, type="numpy",
                                              brush=gr.Brush(default_size=14, colors=["#000000"],
                                                             color_mode="fixed"),
                                              layers=False, format="png", elem_id="sketchpad", visible=False)
                with gr.Tab("🗂️ Test images") as test_tab:
                    misclassified = gr.Checkbox(label="Only images the model gets wrong")
                    sample = gr.Slider(0, 9999, value=0, step=1, label="sample_idx (test image)", elem_id="sample")
                    random_button = gr.Button("🎲 Random test image")
                with gr.Tab("📁 Upload") as upload_tab:
                    upload = gr.File(label=upload_label(first_dataset), file_types=["image"], type="filepath")
        with gr.Column(scale=7, elem_id="gradcam-result"):
            # Beside the result, above it: a change redraws the heatmap in view (on a phone: below it, see CSS).
            with gr.Row(elem_id="cam-controls"):
                target = NumberDropdown(target_choices(first_dataset), value=PREDICTED,
                                        label="Target class for the heatmap", elem_id="target", min_width=300)
                method = gr.Radio(LIVE_METHODS, value=DEFAULT_METHOD, label="Method", scale=2, min_width=260)
            live_panel(first_dataset)  # the drawing's views, drawn by the page; the server's below, for the others
            status = gr.Markdown("✏️ Draw a digit, pick a test image or upload a picture.", elem_id="status")
            views = gr.HTML(live_views_html(), elem_id="views")
            probabilities = gr.Label(label="Class probabilities", num_top_classes=3, elem_id="probabilities")
    with gr.Accordion("All ten classes, counterfactual and guided backprop", open=False):
        deeper_button = gr.Button("Show them for this image", variant="primary")
        drawn = gr.JSON(visible=False)  # the 28x28 image the page made of the drawing, sent for these views
        class_grid = figure("class-grid", "The heatmap of every class for this image")
        variants = figure("variants", "The heatmap, its counterfactual, guided backprop and Guided Grad-CAM")
    gr.Markdown(notes.GRAD_CAM)

    seen_model = gr.State(None)  # (dataset, model version) this session saw last
    outputs = [status, views, probabilities, image_state, seen_model, note_state]

    def respond(name: str, seen: tuple | None, explain) -> tuple:
        """Run ``explain`` on the served explainers, with the news of a newly trained model if there is any."""
        current = served_explainers(name)
        e: Explanation = explain(current)
        news, now = new_model_notice(seen, current)
        return news + e.message, live_views_html(e.image28, e.overlay), e.probabilities, e.image28, now, e.note

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
    def on_random(only_wrong, target_class, name, cam_method, seen):
        """A test image drawn at random from those offered (all, or the misclassified), and its explanation."""
        position = random_position(served_explainers(name), only_wrong)
        return position, *on_test_image(position, only_wrong, target_class, name, cam_method, seen)

    @friendly
    def on_target(image28, note, target_class, name, cam_method, seen):
        if image28 is None:
            return respond(name, seen, lambda s: Explanation("Draw, choose or upload an image first."))
        return respond(name, seen, lambda s: explain_image(s, image28, parse_target(target_class), cam_method, note))

    def browse_slider(name: str, only_wrong: bool) -> gr.Slider:
        count = test_choices(served_explainers(name), only_wrong)
        label = f"misclassified test image (0 to {count - 1}, of {count})" if only_wrong else "sample_idx (test image)"
        return gr.Slider(maximum=max(count - 1, 0), value=0, label=label)

    @friendly
    def on_browse_mode(only_wrong, name):
        return browse_slider(name, only_wrong)

    @friendly
    def on_dataset(name, only_wrong):
        return (NumberDropdown(choices=target_choices(name), value=PREDICTED), browse_slider(name, only_wrong),
                gr.File(label=upload_label(name)), "Dataset changed: draw, choose or upload an image.",
                live_views_html(), None, None, None, "")

    @friendly
    def on_deeper(image28, target_class, name, cam_method):
        return deeper_views(served_explainers(name), image28, target_class, cam_method)

    test_inputs = [sample, misclassified, target, dataset, method, seen_model]
    sketch.change(on_sketch, [sketch, target, dataset, method, seen_model], outputs, api_name="explain_sketch",
                  trigger_mode="always_last", **LIGHT)
    uploading = upload.change(on_upload, [upload, target, dataset, method, seen_model], outputs,
                              api_name="explain_upload", **LIGHT)
    browsing = sample.release(on_test_image, test_inputs, outputs, api_name="explain_test_image",
                              trigger_mode="always_last", **LIGHT)
    opening = test_tab.select(on_test_image, test_inputs, outputs, api_visibility="private", **LIGHT)
    drawing_at_random = random_button.click(on_random, test_inputs[1:], [sample, *outputs], api_visibility="private",
                                            **LIGHT)
    switching = misclassified.change(on_browse_mode, [misclassified, dataset], sample, api_visibility="private").then(
        on_test_image, test_inputs, outputs, api_visibility="private", **LIGHT)
    retargeting = [control.change(on_target, [image_state, note_state, target, dataset, method, seen_model], outputs,
                                  api_visibility="private", **LIGHT) for control in (target, method)]
    # The page's network follows the same choices, told in the browser (no request).
    for control, kind in ((dataset, "dataset"), (target, "target"), (method, "method")):
        control.change(None, control, None, js=tell_page(kind))
    draw_tab.select(None, None, None, js=tell_page("source", "drawing"))
    for tab in (test_tab, upload_tab):
        tab.select(None, None, None, js=tell_page("source", "server"))

    def drawing_first(button: gr.Button, required: bool = True) -> Dependency:
        return button.click(_on_drawn if required else _on_drawn_if_any, drawn, image_state, js=DRAWING_FOR_SERVER,
                            api_visibility="private", **LIGHT)

    deeper = drawing_first(deeper_button).success(on_deeper, [image_state, target, dataset, method],
                                                  [class_grid, variants], api_name="deeper_views", **HEAVY)
    # Results belong to the dataset they are shown under: a switch cancels what this page still waits for.
    in_flight = [uploading, browsing, opening, drawing_at_random, switching, *retargeting, deeper]
    dataset.change(on_dataset, [dataset, misclassified], [target, sample, upload, *outputs],
                   api_visibility="private", cancels=in_flight, **INSTANT)
    return ExplainedImage(image_state, target, drawing_first)
