"""The student page's tabs, one module each: its components and the wiring of their events to ``webapp/``.

Each module has one function that builds its tab inside the page's ``gr.Tab`` (demo.py lists them in order).
"""
from __future__ import annotations

import gradio as gr

FIGURE_BUTTONS = ["download", "fullscreen"]  # figures: save for slides, or show full screen


def figure(elem_id: str, alt_text: str, **layout) -> gr.Image:
    """A picture the server draws (a matplotlib figure), to save for slides or show full screen. ``alt_text``
    tells a screen reader what it shows; until it has a picture it takes no room (webapp/static/cnn_demo.css)."""
    return gr.Image(elem_id=elem_id, alt_text=alt_text, show_label=False, interactive=False, buttons=FIGURE_BUTTONS,
                    elem_classes=["cnn-figure"], **layout)
