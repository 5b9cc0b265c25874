"""The Filters tab: the raw 3x3 weights, which filters are dead, and the feature maps of a test image."""
from __future__ import annotations

import gradio as gr

from ui.friendly import friendly
from ui.queues import HEAVY, INSTANT
from ui.tabs import FIGURE_BUTTONS
from webapp import notes
from webapp.filters_view import TABLE_HEADERS, dead_filter_table, feature_maps_grid, weight_pictures
from webapp.served import ServedExplainers


def filters_tab(served_explainers: ServedExplainers, dataset: gr.Radio, tab: gr.Tab) -> None:
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

    for trigger, group in ((tab.select, HEAVY), (dataset.change, INSTANT)):
        trigger(on_model, dataset, [conv1, conv2, table], api_visibility="private", **group).then(
            on_sample, [sample, dataset], [caption, maps], api_visibility="private", **group)
    sample.release(on_sample, [sample, dataset], [caption, maps], api_name="feature_maps",
                   trigger_mode="always_last", **HEAVY)
