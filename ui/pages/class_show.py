"""The instructor's page: show everyone an image (a drawing on the wall, a test image, an upload, a synthesized
image), with the target class and the method, and stop showing it.

The server finds the image from the choice (webapp/class_show.py) and the class's store keeps it; every
student's page hears of it on the class's stream and explains it with its own network. The events send the
class's token in their body (the wall page's ``asked``), and the class's rules check it in each handler.
"""
from __future__ import annotations

import gradio as gr

from classroom.classes import CLASS_DATASET
from explainers import PREDICTED
from plots import live_views_html
from ui.class_api import CLASS, ClassApi
from ui.friendly import friendly
from ui.number_dropdown import NumberDropdown
from ui.pages.wall_asks import ASKED, ASKED_AND, PRIVATE
from ui.queues import HEAVY, INSTANT
from webapp import notes
from webapp.class_show import CHOICES, chosen_image, source_words
from webapp.class_wall import asked_field
from webapp.grad_cam_view import explain_image, parse_target, target_choices
from webapp.served import DEFAULT_METHOD, LIVE_METHODS, ServedExplainers


def show_panel(wall: gr.HTML, api: ClassApi, served_explainers: ServedExplainers, asked: gr.JSON,
               inspector_show: gr.Button, inspector_method: gr.Radio) -> None:
    """The panel; ``inspector_show`` shows everyone the drawing clicked on the wall as the inspector shows it (its
    heatmap method, the predicted class)."""
    with gr.Accordion("📽️ Show the whole class an image", open=True, elem_id="class-show"):
        gr.Markdown(notes.CLASS_SHOW)
        with gr.Row():
            with gr.Column(scale=3, min_width=320):
                choice = gr.Radio([(words, key) for key, words in CHOICES.items()], value="drawing", label="Show")
                with gr.Row():
                    test_index = gr.Number(0, precision=0, minimum=0, maximum=9999, label="Test image (0 to 9,999)",
                                           visible=False)
                    upload = gr.File(label="A picture of a digit (PNG, JPEG, GIF, ≤ 10 MB)", file_types=["image"],
                                     type="filepath", visible=False)
                    digit = NumberDropdown(list(range(10)), value=0, label="Class to synthesize", visible=False)
                with gr.Row():
                    target = NumberDropdown(target_choices(CLASS_DATASET), value=PREDICTED,
                                            label="Target class for the heatmap", min_width=200)
                    method = gr.Radio(LIVE_METHODS, value=DEFAULT_METHOD, label="Method", min_width=260)
                with gr.Row():
                    show = gr.Button("📽️ Show everyone", variant="primary", elem_id="class-show-button")
                    stop = gr.Button("⏹️ Stop showing", elem_id="class-stop-showing")
            with gr.Column(scale=2, min_width=300):
                # What this page showed last; the wall's own line says what the class sees now (this page may have
                # opened after the image was shown, from another instructor page or the API).
                line = gr.Markdown("The image you show appears here, as the students' pages explain it. The wall "
                                   "says what the class is shown now.", elem_id="class-shown-line")
                preview = gr.HTML(live_views_html(), elem_id="class-shown-views")

    def on_show_choice(chosen: str):
        return (gr.Number(visible=chosen == "test"), gr.File(visible=chosen == "upload"),
                gr.Dropdown(visible=chosen == "synthesized"))

    def show_everyone(page_asks: dict, chosen: str, index, picture, synthesized, target_class, cam_method):
        code, token = asked_field(page_asks, "code"), asked_field(page_asks, "token")
        image28, source = chosen_image(api.classroom, served_explainers, code, token, asked_field(page_asks, "number"),
                                       chosen, index, picture, synthesized)
        target_class = parse_target(target_class)
        shown = api.classroom.show(code, token, [float(v) for v in image28.ravel()], target_class, cam_method, source)
        explanation = explain_image(served_explainers(CLASS_DATASET), image28, target_class, cam_method)
        return (f"**📽️ Everyone sees {source_words(source)}** (shown #{shown}). What their pages show: "
                f"{explanation.message}", live_views_html(image28, explanation.overlay))

    @friendly
    def on_show_everyone(page_asks: dict, chosen: str, index, picture, synthesized, target_class, cam_method):
        return show_everyone(page_asks, chosen, index, picture, synthesized, target_class, cam_method)

    @friendly
    def on_show_inspected(page_asks: dict, cam_method: str):
        return show_everyone(page_asks, "drawing", None, None, None, PREDICTED, cam_method)

    @friendly
    def on_stop_showing(page_asks: dict):
        stopped = api.classroom.stop_showing(asked_field(page_asks, "code"), asked_field(page_asks, "token"))
        return ("Nothing is shown now: every student sees their own drawing." if stopped
                else "Nothing was shown."), live_views_html()

    choice.change(on_show_choice, choice, [test_index, upload, digit], **PRIVATE, **INSTANT)
    chosen = [asked, choice, test_index, upload, digit, target, method]
    show.click(on_show_everyone, chosen, [line, preview], js=ASKED_AND, **PRIVATE, **HEAVY)
    inspector_show.click(on_show_inspected, [asked, inspector_method], [line, preview], js=ASKED_AND, **PRIVATE,
                         **HEAVY)
    for trigger in (stop.click, wall.stop_showing):  # the button here, and the wall's own
        trigger(on_stop_showing, asked, [line, preview], js=ASKED, **PRIVATE, **CLASS)
