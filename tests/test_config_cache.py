"""ui/config_cache.py replays Gradio's answers for the page, its configuration and its API description:
built once per address, equal to what Gradio itself answers, and never replayed where they would differ."""
from __future__ import annotations

import uuid

import gradio as gr
import httpx
import numpy as np
import pytest
from starlette.middleware import Middleware

from harness.app_server import free_port
from ui.config_cache import ConfigCache
from webapp.kept_answers import RecordingSend

PATHS = ("", "config", "gradio_api/info")


class CountingApp:
    """ASGI middleware inside the cache: counts the requests Gradio itself answers, by path."""

    calls: dict[str, int] = {}

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            CountingApp.calls[scope["path"]] = CountingApp.calls.get(scope["path"], 0) + 1
        await self.app(scope, receive, send)


class Scribbler:
    """ASGI middleware around the cache that rewrites an answer's headers and body in place, as Gradio's
    compressor does for the files it compresses, when the request asks for it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or (b"x-scribble", b"1") not in scope["headers"]:
            await self.app(scope, receive, send)
            return

        async def scribbling_send(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"][:] = [(name, value) for name, value in message["headers"]
                                         if name not in (b"content-length", b"content-encoding")] + [
                    (b"x-scribbled", b"yes"), (b"content-length", b"9")]
            else:
                message["body"] = b"scribbled"
            await send(message)

        await self.app(scope, receive, scribbling_send)


@pytest.fixture(scope="module")
def app():
    with gr.Blocks(title="cached") as blocks:
        # A picture as a value: its URL in the configuration carries the address, which the cache must respect.
        picture = gr.Image(np.zeros((8, 8, 3), dtype=np.uint8))
        text = gr.Textbox("hello")
        text.submit(lambda value: value, text, text, api_name="echo")
    blocks.launch(server_port=free_port(), prevent_thread_lock=True, quiet=True,
                  app_kwargs={"middleware": [Middleware(Scribbler), Middleware(ConfigCache), Middleware(CountingApp)]})
    yield blocks, picture
    blocks.close()


def get(blocks: gr.Blocks, path: str, **headers: str) -> httpx.Response:
    answer = httpx.get(f"{blocks.local_url}{path}", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer


def test_each_answer_is_built_once_and_equals_gradios_own(app):
    blocks, _ = app
    for path in PATHS:
        for query in ["", "?serialize=False"]:  # gradio_client asks for the API description with that query
            before = CountingApp.calls.get(f"/{path}", 0)
            kept = [get(blocks, f"{path}{query}").content for _ in range(3)]
            assert CountingApp.calls[f"/{path}"] - before <= 1, "built once, then replayed"
            fresh = get(blocks, f"{path}?fresh={uuid.uuid4().hex}").content  # a new query: Gradio's own answer
            assert CountingApp.calls[f"/{path}"] - before >= 2
            assert kept[0] == kept[1] == kept[2] == fresh


@pytest.mark.parametrize("path", PATHS)
def test_each_answer_is_gradios_own_in_every_encoding_and_revalidated_by_its_etag(app, path):
    blocks, _ = app
    login = {"Cookie": f"access-token-{blocks.app.cookie_id}=none"}  # never replayed: Gradio's own answer
    own = get(blocks, path, **{"Accept-Encoding": "identity"}, **login)
    assert "content-encoding" not in own.headers  # Gradio sends them uncompressed: they have no file extension
    for encoding in ("br", "gzip", "identity"):
        kept = get(blocks, path, **{"Accept-Encoding": encoding})
        assert kept.content == own.content and kept.headers["content-type"] == own.headers["content-type"]
        assert kept.headers.get("content-encoding", "identity") == encoding
        assert int(kept.headers["content-length"]) == kept.num_bytes_downloaded
        assert encoding == "identity" or kept.num_bytes_downloaded < len(own.content) / 2
        assert kept.headers["cache-control"] == "no-cache" and "Accept-Encoding" in kept.headers["vary"]
        again = httpx.get(f"{blocks.local_url}{path}", headers={"If-None-Match": kept.headers["etag"]})
        assert again.status_code == 304 and again.content == b""


def test_a_deep_link_is_never_replayed(app):
    blocks, _ = app
    before = CountingApp.calls.get("/config", 0)
    for _ in range(2):
        httpx.get(f"{blocks.local_url}config?deep_link=abc")
    assert CountingApp.calls["/config"] - before == 2


def test_another_address_gets_its_own_urls(app):
    blocks, picture = app
    local = get(blocks, "config").json()
    port = blocks.server_port
    for headers, root in [({"Host": f"10.1.2.3:{port}"}, f"http://10.1.2.3:{port}"),
                          ({"X-Forwarded-Host": "class.example.org", "X-Forwarded-Proto": "https"},
                           "https://class.example.org")]:
        config = get(blocks, "config", **headers).json()
        image = next(c for c in config["components"] if c["id"] == picture._id)
        assert config["root"] == root and image["props"]["value"]["url"].startswith(root)
    assert get(blocks, "config").json() == local, "the first address's answer is still its own"


def test_a_middleware_around_the_cache_cannot_change_what_it_keeps(app):
    blocks, _ = app
    scribbled = get(blocks, "config", **{"X-Scribble": "1"})
    assert scribbled.headers["x-scribbled"] == "yes" and scribbled.content == b"scribbled"
    plain = get(blocks, "config")
    assert "x-scribbled" not in plain.headers and plain.json()["title"] == "cached"


def test_a_login_cookie_is_never_replayed(app):
    blocks, _ = app
    before = CountingApp.calls.get("/config", 0)
    for _ in range(2):
        httpx.get(f"{blocks.local_url}config", cookies={f"access-token-{blocks.app.cookie_id}": "x"})
    assert CountingApp.calls["/config"] - before == 2


def test_a_new_configuration_drops_the_kept_answers(app):
    blocks, _ = app
    get(blocks, "config")
    blocks.config = {**blocks.config, "title": "reloaded"}  # what Gradio's reload mode does: a new config object
    assert get(blocks, "config").json()["title"] == "reloaded"


@pytest.mark.parametrize("messages, replayable", [
    ([{"type": "http.response.start", "status": 200, "headers": []},
      {"type": "http.response.body", "body": b"{}"}], True),
    ([{"type": "http.response.start", "status": 500, "headers": []},
      {"type": "http.response.body", "body": b"{}"}], False),
    ([{"type": "http.response.start", "status": 200, "headers": [(b"Set-Cookie", b"a=b")]},
      {"type": "http.response.body", "body": b"{}"}], False),
    ([{"type": "http.response.start", "status": 200, "headers": []},
      {"type": "http.response.body", "body": b"{", "more_body": True}], False),
    ([], False),
])
def test_only_whole_plain_answers_are_kept(messages, replayable):
    recorded = RecordingSend(send=None)
    recorded.messages = messages
    assert recorded.replayable() is replayable
