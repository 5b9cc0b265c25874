"""The student's side of a class, on the Draw tab, shown when the page was opened with ``?class=CODE``.

The panel (webapp/static/class_panel.js) lets the student pick the digit they meant and send the 28x28 image
the page made of their drawing (the one its network explains), shows its number on the class wall and what
the server's model read, and lets them withdraw it. Its two events call the class API's send and withdraw
with the values the page gives them; the rules check every one of them again on the server.
"""
from __future__ import annotations

import gradio as gr

from classroom.classes import ALPHABET, CODE_LENGTH
from ui.class_api import CLASS, ClassApi
from ui.friendly import friendly
from ui.live_network import module_on_load
from webapp.class_wall import asked_field

PANEL_HTML = '<div class="class-panel" hidden></div>'
# The page's events, named in quotes so that Gradio offers them as the component's events.
MOUNT = "page.mountPanel(element, props.settings, {send: () => trigger('send'), withdraw: () => trigger('withdraw')})"


def class_panel(api: ClassApi) -> None:
    gr.Navbar(main_page_name=False)  # the instructor's page makes the app a multipage one: no navbar links
    settings = {"alphabet": ALPHABET, "code_length": CODE_LENGTH, "enabled": api.classroom.enabled}
    panel = gr.HTML("", html_template=PANEL_HTML, elem_id="class-panel", apply_default_css=False,
                    js_on_load=module_on_load("class_panel.js", MOUNT), settings=settings)
    asked = gr.JSON(visible=False)  # what the page sends: {"code", "image", "meant"} or {"code", "number"}
    answer = gr.JSON(visible=False)

    @friendly
    def on_send(page_asks: dict, request: gr.Request) -> dict:
        return api.class_send(asked_field(page_asks, "code"), asked_field(page_asks, "image"),
                              asked_field(page_asks, "meant"), request)

    @friendly
    def on_withdraw(page_asks: dict, request: gr.Request) -> dict:
        return api.class_withdraw(asked_field(page_asks, "code"), asked_field(page_asks, "number"), request)

    for event, handler in ((panel.send, on_send), (panel.withdraw, on_withdraw)):
        asking = event(handler, asked, answer, js="() => [window.cnnClassPanel.asked()]", api_visibility="private",
                       **CLASS)
        asking.success(None, answer, None, js="(answer) => window.cnnClassPanel.answered(answer)")
        asking.failure(None, None, None, js="() => window.cnnClassPanel.failed()")
