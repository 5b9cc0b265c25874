"""The Activation Maximization tab: gradient ascent from noise to the image a filter or a class wants most."""
from __future__ import annotations

import gradio as gr

from explainers import Regularization
from explainers.activation_maximizer import LEARNING_RATE, STEPS
from ui.friendly import friendly
from ui.queues import INSTANT, LONG, tell
from webapp import notes
from webapp.maximization_view import ALL_CONV, STEP_RANGE, filter_choices, layer_choices, maximization_grid
from webapp.served import ServedExplainers


def maximization_tab(served_explainers: ServedExplainers, dataset: gr.Radio, tab: gr.Tab) -> None:
    with gr.Row():
        with gr.Column(scale=2):
            layer = gr.Dropdown([ALL_CONV, "conv1", "conv2", "logits"], value=ALL_CONV,
                                label="Layer (logits: one image per class)")
            filter_choice = gr.Dropdown(["all"], value="all", label="Filter (or class)")
            steps = gr.Slider(*STEP_RANGE, value=STEPS, step=16, label="Gradient-ascent steps")
            lr = gr.Slider(0.005, 0.5, value=LEARNING_RATE, step=0.005, label="Learning rate (step size)")
            regularization = Regularization()
            with gr.Accordion("Regularizers", open=False):
                l2 = gr.Slider(0, 0.1, value=regularization.l2_decay, step=0.005, label="L2 decay per step")
                jitter = gr.Slider(0, 4, value=regularization.jitter, step=1, label="Jitter (random shift, px)")
                blur = gr.Slider(0, 32, value=regularization.blur_every, step=1, label="Blur every k steps (0: never)")
                tv = gr.Slider(0, 1, value=regularization.total_variation, step=0.01, label="Total variation weight")
            seed = gr.Number(0, precision=0, label="Random seed")
            run = gr.Button("Synthesize", variant="primary")
        with gr.Column(scale=5):
            picture = gr.HTML(elem_id="maximization")
    gr.Markdown(notes.MAXIMIZATION)

    @friendly
    def on_run(name, layer_name, filter_index, step_count, rate, l2_decay, jitter_px, blur_every, tv_weight, seed_value,
               progress=gr.Progress()):
        return maximization_grid(served_explainers(name), layer_name, filter_index, step_count, rate, l2_decay,
                                 jitter_px, blur_every, tv_weight, seed_value, on_wait=tell(progress))

    @friendly
    def on_dataset(name):
        return gr.Dropdown(choices=layer_choices(served_explainers(name)), value=ALL_CONV)

    @friendly
    def on_layer(name, chosen_layer):
        return gr.Dropdown(choices=["all"] + filter_choices(served_explainers(name), chosen_layer), value="all")

    inputs = [dataset, layer, filter_choice, steps, lr, l2, jitter, blur, tv, seed]
    run.click(on_run, inputs, picture, api_name="maximize", **LONG)
    tab.select(on_run, inputs, picture, api_visibility="private", **LONG)
    dataset.change(on_dataset, dataset, layer, api_visibility="private", **INSTANT)
    layer.change(on_layer, [dataset, layer], filter_choice, api_visibility="private")
