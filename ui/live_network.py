"""The Gradio side of the network that runs in the page: its two components and the hooks of its events.

The drawing pad (Draw tab) and the live panel (beside it) are ``gr.HTML`` components whose
``js_on_load`` loads webapp/static/cnn_demo.js, joined with the modules it imports into one file and served
by webapp/browser_routes.py. They get the server's constants as a prop, so the page prepares and shows
drawings exactly as the server would.
Gradio events tell the page what the student chose through browser-only handlers (no request).
"""
from __future__ import annotations

import json

import gradio as gr

from cnn.preprocessing import DIGIT_BOX, FRAME, MNIST_CENTRE, TARGET_STROKE_FRACTION
from explainers import PREDICTED
from plots.html_grids import FEATURE_LUT
from plots.overlay import HEATMAP_LUT
from webapp.browser_routes import bundle_url
from webapp.grad_cam_view import FALLBACK
from webapp.notes import DRAW_WHAT
from webapp.served import DEFAULT_METHOD

# The hint names what to draw: the page writes it for the dataset shown (settings["draw_what"]).
PAD_HTML = """<div class="cnn-pad">
<p class="cnn-hint" id="cnn-hint">Draw <span class="cnn-draw-what">a digit</span>, big and centred: the network
follows your pen, in your browser.</p>
<canvas role="img" aria-label="Drawing pad: draw with the mouse, a pen or a finger. The prediction is read out as it
changes." aria-describedby="cnn-hint"></canvas>
<div class="cnn-tools"><button type="button" class="cnn-undo">↶ Undo</button>
<button type="button" class="cnn-clear">🗑️ Clear</button><output class="cnn-summary" aria-live="off"></output></div>
</div>"""


def module_on_load(script: str, call: str) -> str:
    """A ``js_on_load`` that imports webapp/static/``script``, joined with the modules it imports (relative to the
    app's root, so a path prefix works), as ``page``, then runs ``call`` (Gradio's ``element``, ``props``,
    ``trigger`` and ``watch`` in scope)."""
    path = bundle_url(script).lstrip("/")
    return (f"const root = ((window.gradio_config && window.gradio_config.root) || document.baseURI)"
            f".replace(/\\/?$/, '/');\n"
            f"import(new URL({path!r}, root).href).then((page) => {call});")


def _on_load(mount: str) -> str:
    """Import the page's module and mount ``element``."""
    return module_on_load("cnn_demo.js", f"page.{mount}(element, props.settings)")


def page_settings(first_dataset: str) -> dict:
    """What the page needs from the server besides the model: choices, preprocessing geometry, colours."""
    return {"first_dataset": first_dataset, "default_method": DEFAULT_METHOD, "draw_what": DRAW_WHAT,
            "fallback_method": FALLBACK, "predicted": PREDICTED,
            "geometry": {"frame": FRAME, "digit_box": DIGIT_BOX, "centre": MNIST_CENTRE,
                         "stroke_fraction": TARGET_STROKE_FRACTION},
            "heatmap_lut": HEATMAP_LUT.tolist(), "feature_lut": FEATURE_LUT.tolist()}


def drawing_pad(first_dataset: str) -> gr.HTML:
    """The canvas, with Undo and Clear."""
    return gr.HTML(PAD_HTML, elem_id="draw-pad", js_on_load=_on_load("mountPad"), apply_default_css=False,
                   settings=page_settings(first_dataset))


def live_panel(first_dataset: str) -> gr.HTML:
    """The prediction, probabilities, heatmap and feature maps of the drawing, drawn by the page."""
    return gr.HTML("", elem_id="live-views", js_on_load=_on_load("mountViews"), apply_default_css=False,
                   settings=page_settings(first_dataset))


def tell_page(kind: str, value: object = None) -> str:
    """A browser-only event handler that hands the event's value (or ``value``) to the page's module:
    ``window.cnnDemoPage`` is an array that collects them until the module has loaded."""
    given = "x" if value is None else json.dumps(value)
    return f"(x) => {{ (window.cnnDemoPage = window.cnnDemoPage || []).push([{kind!r}, {given}]); }}"


# For the deeper views: the 28x28 image the page made, when the drawing is shown (else null: the server's own).
DRAWING_FOR_SERVER = "() => [window.cnnDemoPage && window.cnnDemoPage.drawingForServer ? " \
                     "window.cnnDemoPage.drawingForServer() : null]"
