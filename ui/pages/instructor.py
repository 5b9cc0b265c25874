"""The instructor's page, ``/instructor``: open a class, project its wall, explain any drawing on it, show everyone
an image (ui/pages/class_show.py), download the class's digits and learn from them (ui/pages/class_learning.py).

The wall itself is drawn by the page (webapp/static/class_wall.js): it follows the class's news stream and
asks for what it lacks through the events below, sending the class's token in each event's body, never in
a URL. Each handler hands the token to the class's rules, which check it (these events are callable by
their index like any other). A clicked drawing gets the views the app has for any image: the prediction and
the heatmap, all ten classes with the counterfactual and guided views, and the twelve methods compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from classroom.classes import CLASSES_OFF
from explainers import PREDICTED
from plots import live_views_html
from ui.class_api import CLASS, KEY_CHECK, ClassApi
from ui.friendly import friendly
from ui.live_network import module_on_load
from ui.pages.class_learning import data_set_panel, learning_panel
from ui.pages.class_show import show_panel
from ui.pages.wall_asks import ASKED, ASKED_AND, PRIVATE
from ui.queues import HEAVY
from ui.tabs import FIGURE_BUTTONS
from webapp import notes
from webapp.class_data import ClassReadings
from webapp.class_learning import ClassTutor
from webapp.class_wall import CLASS_DATASET, asked_field, drawing_explained, inspected, wall_update
from webapp.compare_view import REMOVALS, compare_methods
from webapp.grad_cam_view import deeper_views
from webapp.policy import ServerPolicy
from webapp.served import DEFAULT_METHOD, LIVE_METHODS, ServedExplainers

WALL_HTML = '<div class="cw-wall"></div>'
# The page's events, named in quotes so that Gradio offers them as the wall's events.
MOUNT = ("page.mountWall(element, props.settings, {refresh: () => trigger('refresh'), "
         "inspect: () => trigger('inspect'), end: () => trigger('end_class'), stop: () => trigger('stop_showing')})")
KEY_FROM_PAGE = "(typed) => [typed || window.cnnClassWall.keyFromLink()]"  # typed, or from the printed link
WALL = dict(concurrency_id="class-wall", concurrency_limit=2, show_progress="hidden")  # a few ms each


@dataclass(frozen=True)
class Inspector:
    """What the page shows of the drawing clicked on the wall."""
    line: gr.Markdown
    views: gr.HTML
    probabilities: gr.Label
    method: gr.Radio
    show: gr.Button
    hide: gr.Button
    class_grid: gr.Image
    variants: gr.Image
    removal: gr.Radio
    compare: gr.Button
    maps: gr.HTML
    scores: gr.Dataframe
    curves: gr.Image


def instructor_page(app: gr.Blocks, api: ClassApi, served_explainers: ServedExplainers, policy: ServerPolicy) -> None:
    enabled = api.classroom.enabled
    with app.route("Instructor", "/instructor", show_in_navbar=False):
        gr.Navbar(main_page_name=False)  # a projected page: nothing but the class (no navbar links)
        gr.Markdown(notes.CLASS_WALL_TOP)
        if not enabled:
            gr.Markdown(f"🔒 {CLASSES_OFF}", elem_id="classes-off")
        with gr.Row(elem_id="class-opener", visible=enabled):
            key = gr.Textbox(label="Instructor key", type="password", scale=3,
                             placeholder="in the link the server printed when it started (or leave empty if you "
                                         "opened that link)")
            open_button = gr.Button("🏫 Open a class", variant="primary", scale=1)
        with gr.Row():
            with gr.Column(scale=3, min_width=560):
                wall = gr.HTML("", html_template=WALL_HTML, elem_id="class-wall", apply_default_css=False,
                               js_on_load=module_on_load("class_wall.js", MOUNT), settings={"enabled": enabled})
            with gr.Column(scale=2, min_width=360, elem_id="class-inspector"):
                inspector = _inspector()
        asked = gr.JSON(visible=False)  # what the page asks: {"code", "token", "have", "number"}
        answer = gr.JSON(visible=False)  # the server's answer to an action, handed to the page's module
        update = gr.JSON(visible=False)  # what the wall lacked, handed to the page's module
        with gr.Column(elem_id="class-tools"):  # once a class is open
            show_panel(wall, api, served_explainers, asked, inspector.show, inspector.method)
            data_set_panel(api, asked)
            learning_panel(api, ClassTutor(api.classroom, served_explainers.manager, policy), policy, asked)
        gr.Markdown(notes.CLASS_WALL)
        api.register()
        answered = _answered_by(answer)
        answered(open_button.click(api.class_open, key, answer, js=KEY_FROM_PAGE, **PRIVATE, **KEY_CHECK),
                 "(opened) => window.cnnClassWall.opened(opened)")
        _wire_wall(wall, asked, answer, update, api, ClassReadings(served_explainers), served_explainers, answered)
        _wire_inspector(wall, inspector, asked, answer, api, served_explainers, answered)


def _inspector() -> Inspector:
    line = gr.Markdown(elem_id="class-inspected")
    views = gr.HTML(live_views_html(), elem_id="class-views")
    probabilities = gr.Label(label="Class probabilities", num_top_classes=3, elem_id="class-probabilities")
    with gr.Row():
        method = gr.Radio(LIVE_METHODS, value=DEFAULT_METHOD, label="Heatmap method")
        with gr.Column(min_width=160):
            show = gr.Button("📽️ Show everyone this drawing", variant="primary", elem_id="class-show-inspected")
            hide = gr.Button("🙈 Hide this drawing", elem_id="class-hide")
    with gr.Accordion("All ten classes, counterfactual and guided backprop", open=True):
        class_grid = gr.Image(elem_id="class-grid", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
        variants = gr.Image(elem_id="class-variants", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
    with gr.Accordion("The twelve methods compared on this drawing", open=False):
        with gr.Row():
            removal = gr.Radio(list(REMOVALS), value=next(iter(REMOVALS)), label="Removed pixels become")
            compare = gr.Button("Compare", variant="primary")
        maps = gr.HTML(elem_id="class-compare-maps")
        scores = gr.Dataframe(headers=["method", "deletion AUC ↓", "insertion AUC ↑"], interactive=False)
        curves = gr.Image(show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
    return Inspector(line, views, probabilities, method, show, hide, class_grid, variants, removal, compare, maps,
                     scores, curves)


def _answered_by(answer: gr.JSON):
    """``answered(event, on_success, on_failure=None, output=answer)``: hand the event's output to the page's
    module."""
    def answered(event, on_success: str, on_failure: str | None = None, output: gr.JSON = answer) -> None:
        event.success(None, output, None, js=on_success)
        if on_failure:
            event.failure(None, None, None, js=on_failure)
    return answered


def _wire_wall(wall: gr.HTML, asked: gr.JSON, answer: gr.JSON, update: gr.JSON, api: ClassApi,
               readings: ClassReadings, served_explainers: ServedExplainers, answered) -> None:
    @friendly
    def on_refresh(page_asks: dict) -> dict:
        return wall_update(api.classroom, served_explainers, readings, page_asks)

    @friendly
    def on_end(page_asks: dict) -> dict:
        return api.class_end(asked_field(page_asks, "code"), asked_field(page_asks, "token"))

    answered(wall.refresh(on_refresh, asked, update, js=ASKED, **PRIVATE, **WALL),
             "(update) => window.cnnClassWall.updated(update)", "() => window.cnnClassWall.refused()", update)
    answered(wall.end_class(on_end, asked, answer, js=ASKED, **PRIVATE, **CLASS),
             "(ended) => window.cnnClassWall.ended(ended)")


def _wire_inspector(wall: gr.HTML, inspector: Inspector, asked: gr.JSON, answer: gr.JSON, api: ClassApi,
                    served_explainers: ServedExplainers, answered) -> None:
    classroom, shown = api.classroom, inspector

    def drawing_asked(page_asks: dict):
        """The drawing the page asks about and its pixels; None when it asks about none (a method chosen first)."""
        return None if asked_field(page_asks, "number") is None else inspected(classroom, page_asks)

    @friendly
    def on_inspect(page_asks: dict, cam_method: str):
        chosen = drawing_asked(page_asks)
        if chosen is None:
            return (gr.skip(),) * 8
        return *drawing_explained(served_explainers, *chosen, cam_method), None, None, "", None, None

    @friendly
    def on_deeper(page_asks: dict, cam_method: str):
        chosen = drawing_asked(page_asks)
        if chosen is None:
            return gr.skip(), gr.skip()
        return deeper_views(served_explainers(CLASS_DATASET), chosen[1], PREDICTED, cam_method)

    @friendly
    def on_compare(page_asks: dict, removed: str):
        return compare_methods(served_explainers(CLASS_DATASET), inspected(classroom, page_asks)[1], PREDICTED, removed)

    @friendly
    def on_hide(page_asks: dict) -> dict:
        return api.class_hide(*(asked_field(page_asks, name) for name in ("code", "token", "number")))

    views = [shown.line, shown.views, shown.probabilities, shown.class_grid, shown.variants, shown.maps, shown.scores,
             shown.curves]
    for trigger in (wall.inspect, shown.method.change):
        trigger(on_inspect, [asked, shown.method], views, js=ASKED_AND, **PRIVATE, **WALL).success(
            on_deeper, [asked, shown.method], [shown.class_grid, shown.variants], js=ASKED_AND, **PRIVATE, **HEAVY)
    shown.compare.click(on_compare, [asked, shown.removal], [shown.maps, shown.scores, shown.curves], js=ASKED_AND,
                        **PRIVATE, **HEAVY)
    answered(shown.hide.click(on_hide, asked, answer, js=ASKED, **PRIVATE, **CLASS),
             "(hidden) => window.cnnClassWall.hidden(hidden)")
