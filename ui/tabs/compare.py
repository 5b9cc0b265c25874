"""The Compare methods tab: the Grad-CAM tab's image explained by all twelve methods, scored by deletion and
insertion, put through the sanity checks; and every method scored over the test set."""
from __future__ import annotations

import gradio as gr

from ui.friendly import friendly
from ui.queues import HEAVY, INSTANT, LONG, tell
from ui.tabs import FIGURE_BUTTONS
from ui.tabs.grad_cam import ExplainedImage
from webapp import notes
from webapp.compare_view import METHOD_TABLE_HEADERS, REMOVALS, TABLE_SIZES, compare_methods, dataset_table, sanity_grid
from webapp.served import ServedExplainers


def compare_tab(served_explainers: ServedExplainers, dataset: gr.Radio, explained: ExplainedImage) -> None:
    image_state, target, drawing_first = explained.image, explained.target, explained.drawing_first
    gr.Markdown("The image and the target class of the **Grad-CAM** tab (your drawing, a test image or an "
                "upload), explained by all twelve methods, then tested.")
    with gr.Row():
        removal = gr.Radio(list(REMOVALS), value=next(iter(REMOVALS)), label="Removed pixels become", scale=1)
        compare = gr.Button("Compare the twelve methods on this image", variant="primary", scale=2)
    maps = gr.HTML(elem_id="compare-maps")
    with gr.Row():
        curves = gr.Image(elem_id="compare-curves", show_label=False, interactive=False, buttons=FIGURE_BUTTONS,
                          scale=3)
        scores = gr.Dataframe(headers=["method", "deletion AUC ↓", "insertion AUC ↑"], label="Scores on this image",
                              interactive=False, scale=2, elem_id="compare-scores")
    sanity_button = gr.Button("Sanity check: randomize the network, layer by layer")
    sanity = gr.HTML(elem_id="sanity")
    with gr.Accordion("Every method over the test set", open=False):
        size = gr.Radio(list(TABLE_SIZES), value=TABLE_SIZES[0], label="Test images (100: about 20 s, 500: a "
                                                                        "minute or two)")
        table_button = gr.Button("Score every method on the test set")
        table = gr.Dataframe(headers=METHOD_TABLE_HEADERS, interactive=False, elem_id="method-table")
    gr.Markdown(notes.COMPARE)

    @friendly
    def on_compare(image28, target_class, name, removed):
        return compare_methods(served_explainers(name), image28, target_class, removed)

    @friendly
    def on_sanity(image28, target_class, name):
        return sanity_grid(served_explainers(name), image28, target_class)

    @friendly
    def on_table(name, count, removed, progress=gr.Progress()):
        return dataset_table(served_explainers(name), count, removed, tell(progress))

    drawing_first(compare).success(on_compare, [image_state, target, dataset, removal], [maps, scores, curves],
                                   api_name="compare_methods", **HEAVY)
    drawing_first(sanity_button).success(on_sanity, [image_state, target, dataset], sanity,
                                         api_name="sanity_checks", **HEAVY)
    table_button.click(on_table, [dataset, size, removal], table, api_name="method_table", **LONG)
    dataset.change(lambda: ("", "", None, None), None, [maps, sanity, curves, scores], api_visibility="private",
                   **INSTANT)
