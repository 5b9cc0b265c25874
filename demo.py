"""CNN Explainability Demo: the Gradio app. This file is its table of contents: the page's header and tabs,
each built in its own module of ``ui/``, and the server they run in.

    python demo.py                  # local server on the shipped models, training allowed
    python demo.py --share          # public link for the class (training off)
    python demo.py --share --allow-training
"""
from __future__ import annotations

import argparse
import os
import threading

import gradio as gr
from starlette.middleware import Middleware

from cnn.datasets import DATASETS
from cnn.model_manager import ModelManager
from cnn.model_store import ModelFileError
from cnn.published_models import PublishedModels
from cnn.preprocessing import MAX_UPLOAD_BYTES
from ui.class_api import ClassApi
from ui.explained_inputs import ExplainedBlocks
from ui.header import page_header
from ui.light_sessions import use_light_sessions
from ui.load_on_open import load_on_open
from ui.memory_first import answer_from_memory_first
from ui.pages.instructor import instructor_page
from ui.request_limits import BodySizeLimit, UploadNotAFile
from ui.tabs.compare import compare_tab
from ui.tabs.experiments import experiments_tab
from ui.tabs.filters import filters_tab
from ui.tabs.grad_cam import grad_cam_tab
from ui.tabs.maximization import maximization_tab
from ui.tabs.model import model_tab
from ui.web_server import allow_many_connections, hold_connections
from webapp import notes
from webapp.browser_routes import browser_routes
from webapp.class_events import class_routes
from webapp.class_setup import instructor_link_line, open_classroom
from webapp.filters_view import weight_pictures
from webapp.health import health_routes
from webapp.long_jobs import LongJobs
from webapp.policy import ServerPolicy
from webapp.served import ExplainerSet, ServedExplainers
from webapp.server import quiet_gradio_analytics, seconds_since_start, spare_long_lived_objects_from_gc

# No web fonts. The Soft theme's indigo-500 on white or light indigo is below WCAG AA's 4.5:1 for text
# (labels 3.6:1, white on buttons 4.5:1 to two decimals, the selected tab 4.3:1, grey captions 2.4:1): darker shades.
THEME = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]).set(
    block_label_text_color="*primary_700", block_title_text_color="*primary_700", color_accent="*primary_600",
    checkbox_label_background_fill_selected="*primary_600", button_primary_background_fill="*primary_600",
    button_primary_background_fill_hover="*primary_700", body_text_color_subdued="*neutral_600")
CSS = ".gradio-container {max-width: 1400px !important} #status p {font-size: 1.2em}"
# The instructor's page makes the app a multipage one; no page shows a navbar link (gr.Navbar on each): no empty bar.
CSS += " .nav-holder:has(> nav:empty) {display: none}"
SESSIONS = 10_000  # browser sessions kept: tens of MiB (tests/test_hostile_inputs.py measures one)


def build_app(manager: ModelManager, served_explainers: ServedExplainers, policy: ServerPolicy,
              default_dataset: str = "mnist", class_api: ClassApi | None = None) -> gr.Blocks:
    """The student page: the dataset and the model's card above six tabs, each explaining the served model;
    with ``class_api``, the class's panel on the Draw tab and the instructor's page (/instructor)."""
    with ExplainedBlocks(title="CNN Explainability Demo", analytics_enabled=False, delete_cache=(600, 1800)) as app:
        gr.Markdown(notes.INTRO, elem_id="intro")
        header = page_header(app, manager, default_dataset)
        dataset = header.dataset
        with gr.Tabs(overflow_behavior="wrap"):  # on a phone every tab in sight, on two rows
            with gr.Tab("Grad-CAM", id="gradcam"):
                explained = grad_cam_tab(served_explainers, dataset, default_dataset, class_api)  # the next two use it
            with gr.Tab("Compare methods", id="compare"):
                compare_tab(served_explainers, dataset, explained)
            with gr.Tab("Experiments", id="experiments"):
                experiments_tab(served_explainers, manager, dataset, explained)
            with gr.Tab("Filters", id="filters") as tab:
                filters_tab(served_explainers, dataset, tab)
            with gr.Tab("Activation Maximization", id="maximization") as tab:
                maximization_tab(served_explainers, dataset, tab)
            with gr.Tab("Model", id="model") as tab:
                model_tab(manager, served_explainers, policy, dataset, header.card, tab)
        gr.Markdown(notes.CLASSROOM)
        load_on_open(app)  # what the page shows closed is downloaded when opened (ui/load_on_open.py)
    if class_api is not None:
        instructor_page(app, class_api, served_explainers, policy)
    return app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="CNN Explainability Demo")
    parser.add_argument("--share", action="store_true", help="create a public link for the class")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860 or the next free one)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist", help="dataset shown first")
    parser.add_argument("--data-dir", help="folder with the original IDX files, for training")
    parser.add_argument("--models-dir", help="folder of the saved models (default saved_models/)")
    parser.add_argument("--allow-training", action="store_true",
                        help="allow training on a shared link or Space (always allowed locally)")
    parser.add_argument("--queue-size", type=int, default=200,
                        help="requests waiting at most; beyond it students are told the server is busy")
    parser.add_argument("--instructor-key", help="the key that opens classes (default: $CNN_DEMO_INSTRUCTOR_KEY, "
                                                 "else a random one, printed in the instructor link; on a Space: "
                                                 "none, classes off)")
    parser.add_argument("--class-dir", help="where the classes' drawings are kept (default: ~/.local/share/cnn-demo/"
                                            "classes; on a Space with persistent storage, /data)")
    parser.add_argument("--class-retention-hours", type=float, default=24.0,
                        help="a class and its drawings are erased this long after it opens (default 24)")
    # -- replicas behind a load balancer (deploy/, README "Replicas") --
    parser.add_argument("--class-db", default=os.environ.get("CNN_DEMO_CLASS_DB"),
                        help="keep the classes in this PostgreSQL database, shared by replicas: postgresql://user@host"
                             "/db (default: $CNN_DEMO_CLASS_DB, else SQLite in --class-dir)")
    parser.add_argument("--served-models", default=os.environ.get("CNN_DEMO_SERVED_MODELS"),
                        help="a folder the replicas share: the model a training or a reload serves is published "
                             "there, and every replica serves what is published (default: $CNN_DEMO_SERVED_MODELS)")
    return parser.parse_args(argv)


def warm_up(served_explainers: ServedExplainers, first: str) -> None:
    """Load and compile the first dataset's model now; in the background, the other ones, then the
    Filters tab's figures (matplotlib's first figure loads its fonts: a second that no student should wait)."""
    def load(name: str) -> ExplainerSet | None:
        try:
            return served_explainers(name)
        except ModelFileError as err:
            print(f"⚠️  {name}: {err}. The app runs; retrain it in the Model tab or restore the file "
                  f"(git checkout saved_models/).", flush=True)
            return None

    first_set = load(first)

    def in_background() -> None:
        loaded = [first_set] + [load(name) for name in DATASETS if name != first]
        for explainer_set in filter(None, loaded):
            weight_pictures(explainer_set)

    threading.Thread(target=in_background, daemon=True).start()


def share_cores_with_the_server() -> None:
    """TensorFlow takes half the cores, so a burst of maximizations leaves the other half to the web
    server and to the students' light requests (set before any TF op). Training runs in its own
    idle-priority process (cnn/training_worker.py), long jobs in theirs (webapp/long_jobs.py)."""
    import tensorflow as tf

    threads = max(1, (os.cpu_count() or 2) // 2)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    quiet_gradio_analytics()
    use_light_sessions()
    share_cores_with_the_server()
    # Replicas publish the model they swap in, and serve what the others publish (cnn/published_models.py).
    try:
        published = PublishedModels(args.served_models) if args.served_models else None
    except OSError as err:
        raise SystemExit(f"⚠️  --served-models: {err.strerror}: {err.filename}") from None
    manager = ModelManager(**({"models_dir": args.models_dir} if args.models_dir else {}), data_dir=args.data_dir,
                           published=published)
    policy = ServerPolicy.decide(share=args.share, allow_training=args.allow_training)
    # Long jobs (the test-set table, the robustness curve, maximizations) in idle-priority worker processes.
    served_explainers = ServedExplainers(manager, after_swap=spare_long_lived_objects_from_gc, jobs=LongJobs())
    try:
        classroom = open_classroom(served_explainers, args.class_dir, args.instructor_key, args.class_retention_hours,
                                   args.class_db)
    except ValueError as err:  # a key too short, a folder that cannot hold the classes: said, not a traceback
        raise SystemExit(f"⚠️  {err}") from None
    app = build_app(manager, served_explainers, policy, args.dataset, ClassApi(classroom))
    warm_up(served_explainers, args.dataset)
    if published is not None:
        manager.keep_following()
    # api_open=False: every event goes through the queue and its limits (Gradio would also run them
    # directly, in parallel, at /gradio_api/run/<name>). status_update_rate=1: each waiting student hears
    # their place in the queue once a second; by default Gradio tells every waiting student at every
    # event's start, a message per waiting student per event (40 waiting, 30 events a second: 1,200 a second).
    app.queue(max_size=args.queue_size, default_concurrency_limit=2, api_open=False, status_update_rate=1)
    print(f"Training {'allowed' if policy.allow_training else 'off'}; models ready "
          f"{seconds_since_start():.1f} s after start", flush=True)
    # A session costs a few KiB (ui/light_sessions.py): keep the SESSIONS most recently active, so that no
    # burst of new sessions evicts a student's; an evicted, long idle page starts afresh. Uploaded drawings
    # are deleted after half an hour.
    # No request body may be larger than one upload and its form (Gradio reads them whole, up to 1,000 files).
    body_limit = Middleware(BodySizeLimit, max_bytes=MAX_UPLOAD_BYTES + 2**20)
    not_a_file = Middleware(UploadNotAFile)  # Gradio answers 500 to an upload part without a filename
    # Beside Gradio's routes: the page's JavaScript, the served models' weights and the news of a new one, the
    # classes' news, and the load balancer's health check.
    routes = browser_routes(manager, served_explainers) + class_routes(classroom) + health_routes()
    spare_long_lived_objects_from_gc()
    allow_many_connections()  # a lecture hall's pages hold thousands of sockets (ui/web_server.py)
    app.launch(server_name=args.host, server_port=args.port, share=args.share, max_file_size=MAX_UPLOAD_BYTES,
               state_session_capacity=SESSIONS, ssr_mode=False, theme=THEME, css=CSS, show_error=False,
               app_kwargs={"middleware": [body_limit, not_a_file], "routes": routes}, prevent_thread_lock=True)
    # The page and its configuration, built once per address rather than deep-copied for every visitor; the files
    # a page loads, read and compressed once (ui/asset_cache.py). Both answered from memory, compressed at their
    # best, before Gradio's middleware runs (ui/memory_first.py).
    answer_from_memory_first(app)
    hold_connections(app)  # a busy server answers slowly: it neither closes nor refuses a waiting connection
    link = instructor_link_line(classroom, app.local_url, app.share_url)
    if link:
        print(link, flush=True)
    app.block_thread()


if __name__ == "__main__":
    main()
