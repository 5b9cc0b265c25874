"""The Model tab: train a new model (the instructor's, in an idle-priority worker), cancel, reload the saved
one; the served model's confusion matrix."""
from __future__ import annotations

import gradio as gr

from cnn.architecture import Architecture
from cnn.model_manager import ModelManager
from cnn.training import TrainingConfig
from ui.friendly import friendly
from ui.number_dropdown import NumberDropdown
from ui.queues import HEAVY, INSTANT
from ui.tabs import FIGURE_BUTTONS
from webapp import notes
from webapp.header import model_card
from webapp.policy import ServerPolicy
from webapp.served import ServedExplainers
from webapp.training_view import TrainingSupervisor, follow, parse_request, progress_html, served_confusion


def model_tab(manager: ModelManager, served_explainers: ServedExplainers, policy: ServerPolicy, dataset: gr.Radio,
              card: gr.Markdown, tab: gr.Tab) -> None:
    supervisor = TrainingSupervisor(manager)
    gr.Markdown(notes.MODEL)
    if not policy.allow_training:
        gr.Markdown(notes.TRAINING_OFF)
    enabled = policy.allow_training
    config, (conv1_filters, conv2_filters) = TrainingConfig(), Architecture().filters  # the seed's recipe
    with gr.Row():
        with gr.Column(scale=2):
            epochs = gr.Slider(1, 30, value=config.epochs, step=1, label="Epochs", interactive=enabled)
            batch_size = NumberDropdown([32, 64, 128, 256, 512], value=config.batch_size, label="Batch size",
                                     interactive=enabled)
            lr = gr.Number(config.learning_rate, label="Learning rate (Adam)", interactive=enabled)
            seed = gr.Number(config.seed, precision=0, label="Random seed", interactive=enabled)
            with gr.Row():
                conv1 = gr.Slider(1, 32, value=conv1_filters, step=1, label="conv1 filters", interactive=enabled)
                conv2 = gr.Slider(1, 32, value=conv2_filters, step=1, label="conv2 filters", interactive=enabled)
                conv3 = gr.Slider(0, 32, value=0, step=1, label="conv3 filters (0: no third block)",
                                  interactive=enabled)
            save = gr.Checkbox(False, label="Also save it as the model the app starts with (replaces the file in "
                                            "saved_models/, atomically)", interactive=enabled)
            with gr.Row():
                train = gr.Button("Train a new model", variant="primary", interactive=enabled)
                cancel = gr.Button("Cancel", variant="stop", interactive=enabled)
            restore = gr.Button("Reload the saved model (undo an unsaved training)", interactive=enabled)
        with gr.Column(scale=5):
            progress = gr.HTML("<p>No training yet.</p>", elem_id="training-progress")
            curves = gr.Image(elem_id="training-curves", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)
            confusion = gr.Image(elem_id="confusion", show_label=False, interactive=False, buttons=FIGURE_BUTTONS)

    @friendly
    def on_train(name, save_file, *form):
        policy.require_training()
        job = supervisor.start(name, *parse_request(*form), save=bool(save_file))
        for update in follow(job, served_explainers):
            yield (progress_html(update), gr.skip() if update.curves is None else update.curves,
                   gr.skip() if update.confusion is None else update.confusion)

    @friendly
    def on_cancel():
        policy.require_training()
        return "<p>Cancelling…</p>" if supervisor.cancel() else "<p>No training is running.</p>"

    @friendly
    def on_restore(name):
        policy.require_training()
        return model_card(manager.reload(name))

    @friendly
    def on_show(name):
        return served_confusion(served_explainers(name))

    for trigger, group in ((tab.select, HEAVY), (dataset.change, INSTANT)):
        trigger(on_show, dataset, confusion, api_visibility="private", **group)
    train.click(on_train, [dataset, save, epochs, batch_size, lr, seed, conv1, conv2, conv3],
                [progress, curves, confusion], api_name="train", concurrency_id="training", concurrency_limit=None)
    cancel.click(on_cancel, None, progress, api_name="cancel_training", concurrency_limit=None)
    restore.click(on_restore, dataset, card, api_name="restore_shipped_model", concurrency_limit=None)
