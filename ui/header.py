"""The page's header: the dataset every tab shows, the card of the model served for it, and the projector switch.

The card comes with the page (no event, so that opening the page waits for nothing in Gradio's queue: a lecture
hall's thousand pages would fill it), made for the model served when the server built the page. The page's own
module (webapp/static/cnn_demo.js) is told which model that was, and asks for the card again if another one is
served when it fetches the weights (a training or a reload since the server started).
"""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from cnn.datasets import DATASETS
from cnn.model_manager import ModelManager
from ui.live_network import tell_page
from ui.queues import INSTANT
from webapp.browser_model import model_id
from webapp.header import header_card


# The projector view (webapp/static/cnn_demo.css, html.cnn-projector): larger type and pictures for the back row.
# Switched in the page alone, no request; remembered by the browser, and on at once with ?projector in the URL.
PROJECTOR_FROM_PAGE = ("() => new URLSearchParams(location.search).has('projector') "
                       "|| localStorage.getItem('cnn-projector') === 'on'")
PROJECTOR_TO_PAGE = ("(on) => { document.documentElement.classList.toggle('cnn-projector', on); "
                     "localStorage.setItem('cnn-projector', on ? 'on' : 'off'); }")


@dataclass(frozen=True)
class Header:
    dataset: gr.Radio  # every tab follows it
    card: gr.Markdown  # the served model's card; the Model tab rewrites it after a reload


def page_header(app: gr.Blocks, manager: ModelManager, first_dataset: str) -> Header:
    with gr.Row(elem_id="page-header"):
        dataset = gr.Radio([(info.title, name) for name, info in DATASETS.items()], value=first_dataset,
                           label="Dataset", scale=1, min_width=260)
        with gr.Column(scale=3, min_width=320):  # wraps under the dataset choice on a phone
            card = gr.Markdown(header_card(manager, first_dataset), elem_id="model-card")
            projector = gr.Checkbox(False, label="📽️ Projector view: larger type and pictures, for the back row",
                                    elem_id="projector", container=False)
        # The page clicks it when the model of its dataset is swapped (a training, a reload: webapp/static/).
        card_news = gr.Button("Show the new model's card", elem_id="model-card-refresh", visible="hidden")

    def show_card(name: str) -> str:
        return header_card(manager, name)

    dataset.change(show_card, dataset, card, api_visibility="private", **INSTANT)
    card_news.click(show_card, dataset, card, api_visibility="private", **INSTANT)
    served = manager.served_now(first_dataset)  # None if its file could not be loaded
    made_for = {"dataset": first_dataset, "model": model_id(served) if served else None}
    app.load(None, None, None, js=tell_page("card", made_for))  # in the page: no request
    app.load(None, None, projector, js=PROJECTOR_FROM_PAGE)
    projector.change(None, projector, None, js=PROJECTOR_TO_PAGE)
    return Header(dataset, card)
