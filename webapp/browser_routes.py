"""The web routes of the network that runs in the page, beside Gradio's own (``app_kwargs={"routes": ...}``).

- ``/cnn-demo/static-<version>/…``: the page's JavaScript and CSS (webapp/static/), as they are in the
  repository, under a URL that names their version (a hash of the folder at start-up): the browser keeps
  them for a year and a second visit asks for none of them. The modules import each other by relative
  URLs, which keep the version. ``/cnn-demo/static/…`` serves the same files, revalidated at every use;
- ``/cnn-demo/static-<version>/<page>.bundle.js``: the modules a page loads (the student's: cnn_demo.js and
  class_panel.js; the instructor's: class_wall.js) and those they import, joined into one file at start-up
  (webapp/module_bundle.py): for the student's page one request instead of seventeen;
- ``/cnn-demo/network/<dataset>.json``: the served model's layer list and weights (webapp/browser_model.py),
  compressed once per model, revalidated by its ETag (a new model, a new ETag);
- ``/cnn-demo/models/events``: the news of a swapped model (webapp/model_events.py).

None of them goes through Gradio's queue: each is a file or a remembered document, answered from memory
(ui/asset_cache.py keeps the files), or an idle stream. A page asks for nothing else, and only by dataset name.
"""
from __future__ import annotations

import hashlib
import threading
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cnn.datasets import DATASETS
from cnn.model_manager import ModelManager
from cnn.model_store import ModelFileError
from webapp.kept_answers import IMMUTABLE, REVALIDATE, KeptAnswer
from webapp.browser_model import BrowserModel, BrowserModelError, browser_model
from webapp.model_events import ModelWatchers
from webapp.module_bundle import bundle
from webapp.served import ServedExplainers

PREFIX = "/cnn-demo"
STATIC_DIR = Path(__file__).resolve().parent / "static"
NO_CACHE = {"Cache-Control": REVALIDATE.decode()}
ENTRY = "cnn_demo.js"  # the student page's module
# The modules Gradio imports for each page (ui/live_network.py's module_on_load), joined into one bundle a page.
PAGE_MODULES = {"student": (ENTRY, "class_panel.js"), "instructor": ("class_wall.js",)}


class LastingFiles(StaticFiles):
    """Static files with a lifetime: ``cache_control`` says how long the browser may use them unasked."""

    def __init__(self, cache_control: bytes, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cache_control = cache_control.decode()

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = self.cache_control
        return response


@cache
def static_version() -> str:
    """Names the content of webapp/static/ as it is at start-up: its files' names and bytes, hashed."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def static_url() -> str:
    """The path of the page's files, with their version: ``/cnn-demo/static-<version>``."""
    return f"{PREFIX}/static-{static_version()}"


def bundle_url(module: str = ENTRY) -> str:
    """The path of the bundle that holds ``module`` (one of PAGE_MODULES), beside the files (relative URLs resolve
    alike)."""
    page = next(page for page, modules in PAGE_MODULES.items() if module in modules)
    return f"{static_url()}/{page}.bundle.js"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=NO_CACHE)


class KeptModels:
    """Each served model's JSON kept with its encodings, made once (the first student after a swap waits
    for the compression; the others then get it from memory). The last few models are kept."""

    def __init__(self, size: int = 4) -> None:
        self.size, self.lock = size, threading.Lock()
        self.kept: dict[str, KeptAnswer] = {}

    def __call__(self, model: BrowserModel) -> KeptAnswer:
        with self.lock:
            kept = self.kept.get(model.etag)
            if kept is None:
                kept = KeptAnswer.of(model.body, [(b"content-type", b"application/json")], REVALIDATE,
                                     tag=model.etag.strip('"'))
                self.kept[model.etag] = kept
                while len(self.kept) > self.size:
                    del self.kept[next(iter(self.kept))]  # the oldest
            return kept


def browser_routes(manager: ModelManager, served_explainers: ServedExplainers) -> list[BaseRoute]:
    watchers = ModelWatchers()
    kept_models = KeptModels()
    # Joined at start-up: a BundleError now, not at a student's visit.
    joined = {page: bundle(STATIC_DIR, *modules) for page, modules in PAGE_MODULES.items()}

    async def page_module(request: Request) -> Response:  # answered once: ui/asset_cache.py keeps it
        page = request.path_params["page"]
        if page not in joined:
            return _error(404, "No such page.")
        return Response(joined[page], media_type="text/javascript", headers={"Cache-Control": IMMUTABLE.decode()})

    def network(request: Request) -> Response | KeptAnswer:  # a plain function: Starlette runs it in a worker thread
        dataset = request.path_params["dataset"]
        if dataset not in DATASETS:
            return _error(404, f"No dataset {dataset[:40]!r}: choose one of {sorted(DATASETS)}.")
        try:
            return kept_models(browser_model(served_explainers(dataset)))
        except ModelFileError as err:
            return _error(503, str(err))
        except BrowserModelError as err:
            return _error(422, f"This model cannot run in the browser: {err}.")

    async def model_events(request: Request) -> Response:
        if watchers.full():
            return _error(503, "Too many pages are open on this server to tell each of them about new models.")
        return StreamingResponse(watchers.stream(manager), media_type="text/event-stream",
                                 headers={**NO_CACHE, "X-Accel-Buffering": "no"})  # no proxy buffering

    return [Route(f"{static_url()}/{{page}}.bundle.js", page_module, methods=["GET"]),
            Mount(static_url(), LastingFiles(IMMUTABLE, directory=STATIC_DIR), name="cnn-demo-static-versioned"),
            Mount(f"{PREFIX}/static", LastingFiles(REVALIDATE, directory=STATIC_DIR), name="cnn-demo-static"),
            Route(f"{PREFIX}/network/{{dataset}}.json", network, methods=["GET"]),
            Route(f"{PREFIX}/models/events", model_events, methods=["GET"])]
