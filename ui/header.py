"""The page's header: the dataset every tab shows, and the card of the model served for it."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from cnn.datasets import DATASETS
from cnn.model_manager import ModelManager
from ui.queues import INSTANT
from webapp.header import header_card


@dataclass(frozen=True)
class Header:
    dataset: gr.Radio  # every tab follows it
    card: gr.Markdown  # the served model's card; the Model tab rewrites it after a reload


def page_header(app: gr.Blocks, manager: ModelManager, first_dataset: str) -> Header:
    with gr.Row():
        dataset = gr.Radio([(info.title, name) for name, info in DATASETS.items()], value=first_dataset,
                           label="Dataset", scale=1, min_width=260)
        with gr.Column(scale=3, min_width=320):  # wraps under the dataset choice on a phone
            card = gr.Markdown(elem_id="model-card")

    def show_card(name: str) -> str:
        return header_card(manager, name)

    dataset.change(show_card, dataset, card, api_visibility="private", **INSTANT)
    app.load(show_card, dataset, card, api_visibility="private", **INSTANT)
    return Header(dataset, card)
