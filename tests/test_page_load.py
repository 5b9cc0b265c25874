"""A lecture hall opening the page at once: the files a page loads answered from memory, compressed once
(ui/asset_cache.py, ui/config_cache.py, webapp/kept_answers.py, in front of Gradio's middleware: ui/memory_first.py),
and the real server under 200 page loads at once.

- Every file of a page load, the page itself and its configuration come back as Gradio's own answers, byte
  for byte once decoded, in Brotli, gzip and no encoding, with the right Content-Type, Content-Encoding, Vary,
  ETag and lifetime, the CORS headers Gradio gives a request with an Origin, and "304 Not Modified" for the
  ETag a browser has (a bare Gradio app, with and without the caches, in this process);
- on the real server: a first visit makes at most MAX_FIRST_VISIT_REQUESTS requests, none of them an event
  in Gradio's queue (the header's card comes with the page), and a page opened after a model swap asks for
  the card of the new model; a second visit asks for none of the versioned files; the page's own files are
  the repository's, its modules joined into one; a model swap gives the weights a new ETag; an idle
  connection outlives a busy page load's pauses; and 200 page loads replayed at once (the requests Chromium
  made, recorded here) all complete with 200 or 304. Completeness only: speed is measured by
  ``python -m benchmarks.bench_page_load``.
"""
from __future__ import annotations

import concurrent.futures
import http.client
import json
import time
from collections import Counter

import gradio as gr
import httpx
import pytest
from gradio_client import Client

from benchmarks.bare_app import build_app
from harness.app_server import free_port, running_app
from harness.load.page_replay import replay, run
from harness.page_recording import record_visits
from ui.memory_first import answer_from_memory_first
from ui.web_server import allow_many_connections
from webapp.browser_routes import ENTRY, PAGE_MODULES, STATIC_DIR, bundle_url, static_url
from webapp.module_bundle import bundle

pytest.importorskip("playwright.sync_api")

ENCODINGS = ("br", "gzip", "identity")
STUDENTS = 200
IDLE_SECONDS = 6  # longer than uvicorn's default keep-alive (5 s)
# demo.py's first visit, recorded: 77 requests (112 before the closed tabs' components were left for later, the
# page's sixteen modules joined and the header's card put in the page; 97 without ui/load_on_open.py).
MAX_FIRST_VISIT_REQUESTS = 80


def launched(kept: bool) -> gr.Blocks:
    blocks = build_app()  # a Sketchpad, radios, a dropdown and a label: sixty files, web fonts among them
    blocks.launch(server_port=free_port(), prevent_thread_lock=True, quiet=True, ssr_mode=False)
    if kept:
        answer_from_memory_first(blocks)
    return blocks


@pytest.fixture(scope="module")
def servers():
    """The same Gradio app twice: as Gradio serves it, and with the caches in front."""
    plain, kept = launched(False), launched(True)
    yield plain.local_url, kept.local_url
    plain.close()
    kept.close()


@pytest.fixture(scope="module")
def page_files(servers, browser) -> list[str]:
    """What Chromium asks of the server to show the page (the queue's requests and streams aside)."""
    first, _ = record_visits(browser, servers[1], network=False)
    return [r.target for r in first.requests if r.method == "GET" and not r.target.startswith("/gradio_api/")]


HTTP = httpx.Client(timeout=60)  # one client: a new one for each request would load the CA certificates anew


def fetch(url: str, target: str, encoding: str, **headers: str) -> httpx.Response:
    return HTTP.get(url.rstrip("/") + target, headers={"Accept-Encoding": encoding, **headers})


def test_every_file_of_a_page_load_is_gradios_own_in_every_encoding(servers, page_files):
    plain_url, kept_url = servers
    files = [target for target in page_files if target != "/"]  # the page: tests/test_config_cache.py
    assert len(files) > 40 and len(files) == len(page_files) - 1
    assert any(t.startswith("/theme.css?v=") for t in files) and any(t.endswith(".woff2") for t in files)
    for target in files:
        for encoding in ENCODINGS:
            plain, kept = fetch(plain_url, target, encoding), fetch(kept_url, target, encoding)
            assert kept.status_code == plain.status_code == 200, target
            assert kept.content == plain.content, f"{target} ({encoding}) differs from Gradio's own answer"
            content_type = kept.headers["content-type"]
            assert content_type == plain.headers["content-type"]
            assert int(kept.headers["content-length"]) == kept.num_bytes_downloaded
            coding = kept.headers.get("content-encoding")
            text = content_type.startswith(("text/", "application/javascript", "image/svg"))
            # Text of some size is always sent compressed, as the client asked; nothing is sent encoded to a
            # client that takes no compression; fonts (WOFF2: compressed already) go as they are.
            assert coding == (encoding if text and len(kept.content) >= 1024 and encoding != "identity" else coding)
            assert coding in (None, encoding) and (text or coding is None), f"{target}: {coding} for {encoding}"
            if coding is not None:
                assert "accept-encoding" in kept.headers["vary"].lower()


def test_a_versioned_file_lives_a_year_any_other_is_revalidated_by_its_etag(servers, page_files):
    _, kept_url = servers
    for target in page_files:
        answer = fetch(kept_url, target, "br")
        versioned = target.startswith("/assets/") or target.startswith("/theme.css?v=")
        lifetime = answer.headers["cache-control"]
        assert ("immutable" in lifetime and "max-age=31536000" in lifetime) if versioned else lifetime == "no-cache"
        etag = answer.headers["etag"]
        for encoding in ENCODINGS:  # the ETag a browser has names the content, whatever it was encoded in
            again = fetch(kept_url, target, encoding, **{"If-None-Match": etag})
            assert again.status_code == 304 and again.content == b"", target
            assert again.headers["cache-control"] == lifetime
        other = fetch(kept_url, target, "br", **{"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.headers["etag"] == etag


def test_an_origin_gets_gradios_cors_headers(servers, page_files):
    """The browser sends an Origin with every module it loads: a kept answer has Gradio's CORS headers for it."""
    plain_url, kept_url = servers
    for origin in (kept_url.rstrip("/"), "https://elsewhere.example"):  # allowed; not allowed (localhost app)
        for target in (page_files[1], page_files[-1], "/"):
            plain = fetch(plain_url, target, "br", Origin=origin.replace(kept_url.rstrip("/"), plain_url.rstrip("/")))
            kept = fetch(kept_url, target, "br", Origin=origin)
            allowed = kept.headers.get("access-control-allow-origin")
            assert allowed == (origin if "127.0.0.1" in origin else None), (target, origin)
            assert (plain.headers.get("access-control-allow-origin") is None) == (allowed is None)
            assert kept.headers["access-control-allow-credentials"] == "true"
            assert ("origin" in kept.headers.get("vary", "").lower()) == (allowed is not None)
            if target != "/":  # the page names its own app (a random app_id): compared in the tests above
                assert kept.content == plain.content


def test_a_different_content_has_a_different_etag(servers, page_files):
    _, kept_url = servers
    tags = {fetch(kept_url, target, "identity").headers["etag"] for target in page_files}
    assert len(tags) == len(page_files)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """demo.py on a copy of the shipped models (a test swaps one in)."""
    import shutil

    from harness.app_server import ROOT

    models = tmp_path_factory.mktemp("models")
    shutil.copytree(ROOT / "saved_models", models, dirs_exist_ok=True)
    with running_app("--models-dir", str(models)) as (url, process):
        yield url


@pytest.fixture(scope="module")
def visits(app, browser):
    return record_visits(browser, app)


def test_a_first_visit_makes_few_requests_and_none_waits_in_the_queue(visits):
    first, _ = visits
    targets = [r.target for r in first.requests]
    assert len(targets) <= MAX_FIRST_VISIT_REQUESTS, f"{len(targets)} requests: {targets}"
    assert not [t for t in targets if t.startswith("/gradio_api/queue/")], "opening the page runs no event"
    assert bundle_url() in targets and f"{static_url()}/{ENTRY}" not in targets  # the page's modules, joined


def test_a_page_opened_after_a_model_swap_asks_for_the_new_models_card(app, browser):
    """The card comes with the page, made for the model served when the server started: after a swap, the page
    asks for the card again, once (an event of the header's)."""
    client = Client(app, verbose=False)
    client.predict("mnist", api_name="/restore_shipped_model")  # a new model version
    client.close()
    first, _ = record_visits(browser, app)
    joined = [r for r in first.requests if r.target.startswith("/gradio_api/queue/join")]
    assert len(joined) == 1, [r.target for r in first.requests]
    config = httpx.get(app + "config", timeout=30).json()
    card_news = next(c["id"] for c in config["components"] if c["props"].get("elem_id") == "model-card-refresh")
    event = next(d for d in config["dependencies"] if d["id"] == json.loads(joined[0].body)["fn_index"])
    assert [card_news] == [target for target, _ in event["targets"]]


def test_a_second_visit_asks_for_no_versioned_file(visits):
    first, second = visits
    versioned = [t for t in (r.target for r in first.requests) if t.startswith(("/assets/", static_url()))]
    assert len(versioned) > 50, "the first visit loads Gradio's frontend and the page's own files"
    again = [r.target for r in second.requests]
    assert not [t for t in again if t.startswith(("/assets/", static_url(), "/theme.css"))], again
    # The page itself is revalidated by its ETag (a 304: test_a_versioned_file_lives_a_year_...); the suite's
    # long-lived Chromium once let it go from its cache between the visits and fetched it whole (25 KB).
    rest = [r for r in second.requests if r.target != "/"]
    assert len(again) <= 10 and sum(r.wire_bytes for r in rest) < 10_000, [(r.target, r.wire_bytes) for r in rest]


def test_the_pages_own_files_are_the_repositorys(app, visits):
    first, _ = visits
    served = {r.target.rsplit("/", 1)[1] for r in first.requests if r.target.startswith(static_url())}
    # The page's modules and the class panel's joined (tests/test_module_bundle.py), and the page's style.
    assert served == {bundle_url().rsplit("/", 1)[1], "cnn_demo.css"}
    for encoding in ENCODINGS:
        for modules in PAGE_MODULES.values():
            assert fetch(app, bundle_url(modules[0]), encoding).text == bundle(STATIC_DIR, *modules)
        for path in STATIC_DIR.iterdir():  # each file is still served as it is, for other tools and tests
            assert fetch(app, f"{static_url()}/{path.name}", encoding).content == path.read_bytes(), path.name


def test_a_new_model_gets_a_new_etag(app):
    weights = "/cnn-demo/network/mnist.json"
    before = fetch(app, weights, "br")
    assert fetch(app, weights, "gzip", **{"If-None-Match": before.headers["etag"]}).status_code == 304
    client = Client(app, verbose=False)
    client.predict("mnist", api_name="/restore_shipped_model")  # a new model version, the same file
    client.close()
    after = fetch(app, weights, "br", **{"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert after.json()["model_id"] != before.json()["model_id"]
    assert fetch(app, weights, "identity").content == after.content


def test_an_idle_connection_outlives_a_busy_page_loads_pauses(app, visits):
    """uvicorn closes a connection idle for 5 s: under load, as the browser sends its next request on it.
    (After Chromium's visits: the server sets its connections' lifetime once it has started.)"""
    host, port = app.split("//")[1].rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        sockets = []
        for _ in range(2):
            connection.request("GET", f"{static_url()}/cnn_demo.css")  # RemoteDisconnected if the server closed it
            answer = connection.getresponse()
            assert answer.status == 200 and answer.read()
            sockets.append(connection.sock)
            time.sleep(IDLE_SECONDS)
        assert sockets[0] is sockets[1], "the same connection carried both requests"
    finally:
        connection.close()


def in_a_thread(coroutine):
    """Run an asyncio coroutine to its end away from Playwright's own event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(run, coroutine).result()


def test_two_hundred_page_loads_at_once_all_complete(app, visits):
    first, _ = visits
    allow_many_connections()
    pages = in_a_thread(replay(app, first, STUDENTS))
    failures = Counter(f"{target.split('?')[0][:50]}: {answer.status} {answer.error}"
                       for page in pages for answer, target in zip(page.answers, page.targets) if not answer.ok)
    assert not failures, failures.most_common(10)
    assert sum(page.complete for page in pages) == STUDENTS
    statuses = Counter(answer.status for page in pages for answer in page.answers)
    assert set(statuses) <= {200, 304} and statuses[200] >= STUDENTS * len(first.requests) * 0.9
    assert all(page.answer("/cnn-demo/network/").wire_bytes > 1000 for page in pages)  # the weights came

