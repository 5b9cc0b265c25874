"""The web routes of the network that runs in the page, beside Gradio's own (``app_kwargs={"routes": ...}``).

- ``/cnn-demo/static/…``: the page's JavaScript and CSS (webapp/static/), as they are in the repository;
- ``/cnn-demo/network/<dataset>.json``: the served model's layer list and weights (webapp/browser_model.py);
- ``/cnn-demo/models/events``: the news of a swapped model (webapp/model_events.py).

None of them goes through Gradio's queue: each is a file or a remembered document, answered in well
under a millisecond, or an idle stream. A page asks for nothing else, and only by dataset name.
"""
from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from cnn.datasets import DATASETS
from cnn.model_manager import ModelManager
from cnn.model_store import ModelFileError
from webapp.browser_model import BrowserModelError, browser_model
from webapp.model_events import ModelWatchers
from webapp.served import ServedExplainers

PREFIX = "/cnn-demo"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# The browser asks again each time, and gets "304 Not Modified" until a file or a model changes.
REVALIDATE = {"Cache-Control": "no-cache"}


class RevalidatedFiles(StaticFiles):
    """Static files the browser revalidates on every load, so that an updated app is never half old."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.update(REVALIDATE)
        return response


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=REVALIDATE)


def browser_routes(manager: ModelManager, served_explainers: ServedExplainers) -> list[BaseRoute]:
    watchers = ModelWatchers()

    def network(request: Request) -> Response:  # a plain function: Starlette runs it in a worker thread
        dataset = request.path_params["dataset"]
        if dataset not in DATASETS:
            return _error(404, f"No dataset {dataset[:40]!r}: choose one of {sorted(DATASETS)}.")
        try:
            model = browser_model(served_explainers(dataset))
        except ModelFileError as err:
            return _error(503, str(err))
        except BrowserModelError as err:
            return _error(422, f"This model cannot run in the browser: {err}.")
        headers = {"ETag": model.etag, **REVALIDATE}
        if request.headers.get("if-none-match") == model.etag:
            return Response(status_code=304, headers=headers)
        return Response(model.body, media_type="application/json", headers=headers)

    async def model_events(request: Request) -> Response:
        if watchers.full():
            return _error(503, "Too many pages are open on this server to tell each of them about new models.")
        return StreamingResponse(watchers.stream(manager), media_type="text/event-stream",
                                 headers={**REVALIDATE, "X-Accel-Buffering": "no"})  # no proxy buffering

    return [Mount(f"{PREFIX}/static", RevalidatedFiles(directory=STATIC_DIR), name="cnn-demo-static"),
            Route(f"{PREFIX}/network/{{dataset}}.json", network, methods=["GET"]),
            Route(f"{PREFIX}/models/events", model_events, methods=["GET"])]
