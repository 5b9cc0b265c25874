"""The Experiments tab, the seed's extensions: attacks, robustness, inversion and style on the Grad-CAM tab's
image; networks compared (seeds, a deeper network)."""
from __future__ import annotations

import contextlib

import gradio as gr

from cnn.datasets import DATASETS
from cnn.model_manager import ModelManager
from explainers import PREDICTED
from ui.friendly import friendly
from ui.number_dropdown import NumberDropdown
from ui.queues import HEAVY, INSTANT, LONG, tell
from ui.tabs import FIGURE_BUTTONS
from ui.tabs.grad_cam import ExplainedImage
from webapp import notes
from webapp.experiments_view import (ATTACKS, CURVE_IMAGES, DEFAULT_AIM, DEFAULT_EPSILON, EPSILON_RANGE,
                                     SUCCESS_HEADERS, TEST_IMAGES, adversarial_example, aim_choices,
                                     feature_inversion, robustness_view, style_transfer_view)
from webapp.networks_view import MATCH_LAYERS, SEED_PAIRS, deeper_network, match_view
from webapp.served import ServedExplainers


def experiments_tab(served_explainers: ServedExplainers, manager: ModelManager, dataset: gr.Radio,
                    explained: ExplainedImage) -> None:
    image_state, target, drawing_first = explained.image, explained.target, explained.drawing_first

    @contextlib.contextmanager
    def section(title: str, note: str, open: bool = False):
        """An accordion: the controls and pictures (the body of the ``with``), and the notes beside them."""
        with gr.Accordion(title, open=open), gr.Row():
            with gr.Column(scale=3, min_width=320):
                yield
            with gr.Column(scale=2, min_width=280):
                gr.Markdown(note)

    gr.Markdown(notes.EXPERIMENTS)
    with section("⚔️ Adversarial examples: make the network change its mind", notes.ADVERSARIAL, open=True):
        kind = gr.Radio(list(ATTACKS), value=list(ATTACKS)[-1], label="Attack")
        with gr.Row():
            epsilon = gr.Slider(*EPSILON_RANGE, value=DEFAULT_EPSILON, step=0.01, scale=3, min_width=200,
                                label="ε: the largest change of any pixel")
            aim = NumberDropdown(aim_choices(dataset.value), value=DEFAULT_AIM, scale=1, min_width=140,
                                 label="Target class (targeted)")
        attack_button = gr.Button("Attack this image", variant="primary")
        attack_view = gr.HTML(elem_id="adversarial")
    with section("📉 Robustness curve of the shipped models", notes.ROBUSTNESS):
        curve_button = gr.Button(f"Attack {CURVE_IMAGES:,} test images of each dataset (the first time up to a "
                                 "minute, then instant)", variant="primary")
        curve = gr.Image(elem_id="robustness-curve", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
        success = gr.Dataframe(headers=SUCCESS_HEADERS, interactive=False, elem_id="targeted-success",
                               label="Targeted PGD on 100 test images, each aimed at the class after its label: "
                                     "how often it gets there")
    with section("🔁 Feature inversion: what each layer keeps", notes.INVERSION):
        inversion_button = gr.Button("Reconstruct this image from every layer", variant="primary")
        inversion = gr.HTML(elem_id="inversion")
    with section("🎨 Style transfer: this image in the style of another", notes.STYLE_TRANSFER):
        with gr.Row():
            style_dataset = gr.Radio([(info.title, name) for name, info in DATASETS.items()], value="fashion_mnist",
                                     label="Style from the test images of")
            style_index = gr.Slider(0, TEST_IMAGES - 1, value=0, step=1, label="Style image (test image #)")
        style_button = gr.Button("Transfer the style", variant="primary")
        style = gr.HTML(elem_id="style-transfer")
    with section("🌱 Seeds compared: do two trainings learn the same filters?", notes.SEEDS):
        pair = gr.Dropdown(list(SEED_PAIRS), value=list(SEED_PAIRS)[0], label="Networks")
        layer = gr.Radio(MATCH_LAYERS, value=MATCH_LAYERS[0][1], label="Layer")
        match_button = gr.Button("Match their filters", variant="primary")
        matching = gr.HTML(elem_id="filter-matching")
    with gr.Accordion("🧱 Deeper network: two conv blocks or three?", open=False):
        gr.Markdown(notes.DEEPER)
        deeper_button = gr.Button("Show both networks (filters, synthesized images, Grad-CAM of this image)",
                                  variant="primary")
        with gr.Row():  # side by side; one above the other on a phone
            with gr.Column(min_width=340):
                two_blocks = gr.HTML(elem_id="two-blocks")
            with gr.Column(min_width=340):
                three_blocks = gr.HTML(elem_id="three-blocks")

    @friendly
    def on_attack(image28, name, attack, eps, target_class):
        return adversarial_example(served_explainers(name), image28, attack, eps, target_class)

    @friendly
    def on_curve(progress=gr.Progress()):
        return robustness_view([served_explainers(name) for name in DATASETS], on_wait=tell(progress))

    @friendly
    def on_inversion(image28, name):
        return feature_inversion(served_explainers(name), image28)

    @friendly
    def on_style(image28, name, style_from, style_image):
        return style_transfer_view(served_explainers(name), image28, style_from, style_image)

    @friendly
    def on_match(image28, networks, layer_name):
        return match_view(served_explainers, manager, networks, layer_name, image28)

    @friendly
    def on_deeper(image28, name, progress=gr.Progress()):
        return deeper_network(served_explainers(name), manager, image28, tell(progress))

    drawing_first(attack_button).success(on_attack, [image_state, dataset, kind, epsilon, aim], attack_view,
                                         api_name="adversarial", **HEAVY)
    curve_button.click(on_curve, None, [curve, success], api_name="robustness_curve", **LONG)
    drawing_first(inversion_button).success(on_inversion, [image_state, dataset], inversion,
                                            api_name="feature_inversion", **HEAVY)
    drawing_first(style_button).success(on_style, [image_state, dataset, style_dataset, style_index], style,
                                        api_name="style_transfer", **HEAVY)
    drawing_first(match_button).success(on_match, [image_state, pair, layer], matching, api_name="match_filters",
                                        **HEAVY)
    drawing_first(deeper_button).success(on_deeper, [image_state, dataset], [two_blocks, three_blocks],
                                         api_name="deeper_network", **LONG)
    # The Grad-CAM tab's chosen class is the attack's target too ("why not a 3?" becomes "make it a 3").
    target.change(lambda chosen: gr.skip() if chosen in (None, PREDICTED) else chosen, target, aim,
                  api_visibility="private", show_progress="hidden")
    dataset.change(lambda name: (NumberDropdown(choices=aim_choices(name), value=DEFAULT_AIM), "", "", "", "", ""),
                   dataset, [aim, attack_view, inversion, style, two_blocks, three_blocks], api_visibility="private",
                   **INSTANT)
