"""The Filters tab: the raw 3x3 weights, which filters are dead, and the feature maps of a test image."""
from __future__ import annotations

import gradio as gr
from gradio.events import Dependency

from ui.friendly import friendly
from ui.queues import HEAVY, INSTANT
from ui.tabs import figure
from webapp import notes
from webapp.filters_view import TABLE_HEADERS, dead_filter_table, feature_maps_grid, weight_pictures
from webapp.served import ServedExplainers


def filters_tab(served_explainers: ServedExplainers, dataset: gr.Radio, tab: gr.Tab) -> None:
    with gr.Row():
        with gr.Column(scale=3):
            conv1 = figure("conv1-weights", "conv1's filters: their 3x3 weights, red positive, blue negative")
            conv2 = figure("conv2-kernels", "conv2's kernels: one 3x3 kernel per filter and input map")
        with gr.Column(scale=2):
            gr.Markdown(notes.FILTERS)
    table = gr.Dataframe(headers=TABLE_HEADERS, label="Filter activity on 1,000 test images (dead: never fires)",
                         interactive=False, max_height=700, wrap=True)
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

    def show_model(trigger, group: dict) -> list[Dependency]:
        pictures = trigger(on_model, dataset, [conv1, conv2, table], api_visibility="private", **group)
        return [pictures, pictures.then(on_sample, [sample, dataset], [caption, maps], api_visibility="private",
                                        **group)]

    opening = show_model(tab.select, HEAVY)
    show_model(dataset.change, INSTANT)
    browsing = sample.release(on_sample, [sample, dataset], [caption, maps], api_name="feature_maps",
                              trigger_mode="always_last", **HEAVY)
    # Results belong to the dataset they are shown under: a switch cancels what this page still waits for.
    dataset.change(None, cancels=[*opening, browsing])
