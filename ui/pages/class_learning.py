"""The instructor's page: the class's digits as a data set (MNIST's IDX files to download), and learning from
them (fine-tune the served model, compare before and after, serve it to everyone or not).

Every event sends the class's token in its body (the wall page's ``asked``); the handlers hand it to the
class's rules, and learning and serving are also the training policy's (webapp/policy.py).
"""
from __future__ import annotations

import gradio as gr

from cnn.fine_tuning import MNIST_PER_NEW_DIGIT
from ui.class_api import ClassApi
from ui.friendly import friendly
from ui.pages.wall_asks import ASKED, ASKED_AND, PRIVATE
from ui.queues import INSTANT
from webapp import notes
from webapp.class_learning import ClassTutor, before_after_html, learning_updates, recipe_words
from webapp.class_wall import asked_field
from webapp.header import model_card
from webapp.policy import ServerPolicy
from webapp.training_view import progress_html

EXPORT = dict(concurrency_id="class-export", concurrency_limit=1)
LEARNING = dict(concurrency_id="class-learning", concurrency_limit=None)  # waits for the worker, computes nothing


def data_set_panel(api: ClassApi, asked: gr.JSON) -> None:
    with gr.Accordion("📊 The class's digits as a data set", open=False, elem_id="class-data"):
        gr.Markdown(notes.CLASS_DATA)
        export = gr.Button("⬇️ Download them in MNIST's format (IDX)", elem_id="class-export")
        files = gr.File(label="The class's digits: images and labels", file_count="multiple", interactive=False,
                        elem_id="class-export-files")

    @friendly
    def on_export_digits(page_asks: dict) -> list[str]:
        return [data["path"] for data in api.class_export(asked_field(page_asks, "code"),
                                                          asked_field(page_asks, "token"))]

    export.click(on_export_digits, asked, files, js=ASKED, **PRIVATE, **EXPORT)


def learning_panel(api: ClassApi, tutor: ClassTutor, policy: ServerPolicy, asked: gr.JSON) -> None:
    allowed = policy.allow_training
    with gr.Accordion("🎓 Learn from the class", open=False, elem_id="class-learning"):
        gr.Markdown(notes.CLASS_LEARNING.format(recipe=recipe_words(False)))
        if not allowed:
            gr.Markdown(notes.TRAINING_OFF)
        here = tutor.mnist_here
        mix = gr.Checkbox(False, interactive=allowed and here,
                          label=f"Mix in {MNIST_PER_NEW_DIGIT} of MNIST's training digits per class digit (forgets less)"
                                + ("" if here else ": MNIST's training set is not in this server's data folder "
                                                   "(--data-dir)"))
        with gr.Row():
            learn = gr.Button("🎓 Fine-tune the served model on the class's digits", variant="primary",
                              interactive=allowed, elem_id="class-learn")
            cancel = gr.Button("Cancel", variant="stop", interactive=allowed)
        progress = gr.HTML("<p>The served model has not learned from this class yet.</p>", elem_id="class-learning-progress")
        curves = gr.Image(show_label=False, interactive=False, elem_id="class-learning-curves",
                          alt_text="Loss and accuracy at every epoch of the fine-tuning; validation: the held-out digits")
        outcome = gr.HTML(elem_id="class-before-after")
        with gr.Row():
            serve = gr.Button("📢 Serve it to everyone", interactive=allowed, elem_id="class-serve")
            reload = gr.Button("↩️ Reload the saved model (undo)", interactive=allowed, elem_id="class-reload")
        served = gr.Markdown(elem_id="class-served-card")

    @friendly
    def on_learn_from_class(page_asks: dict, mixed: bool):
        job = tutor.start(page_asks, mixed)
        yield gr.skip(), gr.skip(), ""  # the last fine-tuning's outcome goes
        for update in learning_updates(job):
            yield progress_html(update), gr.skip() if update.curves is None else update.curves, gr.skip()
        if job.trained is not None and job.trained.model is not None:
            yield gr.skip(), gr.skip(), before_after_html(job)

    @friendly
    def on_cancel_learning(page_asks: dict) -> str:
        return "<p>Cancelling…</p>" if tutor.cancel(page_asks) else "<p>No fine-tuning is running.</p>"

    @friendly
    def on_serve_class_model(page_asks: dict) -> str:
        return ("📢 **Every student is now served the class's model** (their pages fetch it; *Reload the saved "
                "model* undoes it):  \n" + model_card(tutor.serve(page_asks)))

    @friendly
    def on_reload_saved_model(page_asks: dict) -> str:
        return "↩️ **Every student is served the saved model again**:  \n" + model_card(tutor.reload(page_asks))

    learn.click(on_learn_from_class, [asked, mix], [progress, curves, outcome], js=ASKED_AND, **PRIVATE, **LEARNING)
    cancel.click(on_cancel_learning, asked, progress, js=ASKED, **PRIVATE, **INSTANT)
    serve.click(on_serve_class_model, asked, served, js=ASKED, **PRIVATE, **INSTANT)
    reload.click(on_reload_saved_model, asked, served, js=ASKED, **PRIVATE, **INSTANT)
