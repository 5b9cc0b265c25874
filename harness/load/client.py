"""One client: a ``gradio_client.Client`` session (one browser page) that sends its plan, waits for
each sketch's answer and not for the other tabs' requests, and records every request."""
from __future__ import annotations

import concurrent.futures
import os
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from harness.load.plans import SKETCH, Call

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # gradio_client reads it too: nothing leaves this machine

# gradio_client makes a new httpx client for most requests, and each one loads the CA certificates into
# a new SSL context, even for plain http: half the clients' CPU time in a profile. With --lean-client one
# context, made once, serves every request: the clients then leave most of the shared cores to the server,
# and the server's own cost decides (a harsher test than the issue's, which is about stock clients).
TLS = ssl.create_default_context()
# gradio_client gives up on a request (CancelledError) when its session's event stream closes just as the
# request is sent: the server closes a session's stream once its last event is answered, and the client
# library files a request sent in that instant under the closing stream. A client-side race, rare (a few
# in 2,000 with stock clients opening new sessions), with no error on the server; counted and shown apart.
STREAM_RACE = "stranded by gradio_client's event-stream race (client side)"


@dataclass(frozen=True)
class Record:
    endpoint: str
    start: float  # time.monotonic(): the same clock in every process on Linux
    seconds: float
    error: str | None = None


@dataclass
class ClientOptions:
    deadline: float  # time.monotonic() after which nothing more is sent
    request_timeout: float
    downloads: str | bool  # folder for the files that answers point to (False: not fetched)
    session_every: int = 0  # a new session (a reloaded page) every that many sketches; 0: never
    stock_client: bool = False


@dataclass(frozen=True)
class _Sent:
    """A request not waited for: its answer is collected by ``_finish``."""
    endpoint: str
    began: float
    job: Any  # gradio_client.Job
    finished: list[float]  # when its answer came, once it has


def by_label(client: Any, endpoint: str, values: dict[str, object]) -> tuple:
    """Arguments for an endpoint with many inputs: each input's default, or the value given for the input
    whose label starts with a key of ``values`` (robust to inputs being added to a form)."""
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"][f"/{endpoint}"]
    arguments = []
    for parameter in info["parameters"]:
        label = parameter.get("label") or ""
        given = [value for key, value in values.items() if label.startswith(key)]
        arguments.append(given[0] if given else parameter.get("parameter_default"))
    return tuple(arguments)


def describe_error(err: BaseException) -> str:
    """A failed request's error, as the report counts it."""
    if isinstance(err, TimeoutError):
        return "timeout"
    if isinstance(err, concurrent.futures.CancelledError):
        return STREAM_RACE
    return f"{type(err).__name__}: {err}".replace("\n", " ")[:200]


def _arguments(client: Any, call: Call, sketch_paths: list[str]) -> tuple:
    from gradio_client import handle_file

    if call.endpoint == SKETCH:
        index, *rest = call.args
        return ({"background": None, "layers": [], "composite": handle_file(sketch_paths[index])}, *rest)
    if call.endpoint == "maximize":
        return by_label(client, call.endpoint, dict(call.args))
    return call.args


def run_client(url: str, calls: list[Call], sketch_paths: list[str], start: threading.Barrier,
               options: ClientOptions, record: Callable[[Record], None], sketch_done: Callable[[], None]) -> None:
    """One student: connect, wait for the start signal, then draw (each sketch waits for its answer)
    and now and then use another tab (not waited for, as a page does not)."""
    from gradio_client import Client

    def connect() -> Client | None:
        began = time.monotonic()
        try:
            return Client(url, verbose=False, download_files=options.downloads, analytics_enabled=False,
                          **({} if options.stock_client else {"ssl_verify": TLS}))
        except Exception as err:  # noqa: BLE001 - counted and reported
            record(Record("connect", began, time.monotonic() - began, describe_error(err)))
            return None

    client = None
    pending: list[_Sent] = []
    try:
        try:
            client = connect()
        finally:
            start.wait(timeout=max(1.0, options.deadline - time.monotonic()))
        if client is None:
            return
        sketches = 0
        for call in calls:
            if time.monotonic() > options.deadline:
                record(Record(call.endpoint, time.monotonic(), 0.0, "not sent: phase time limit"))
                continue
            if call.endpoint == SKETCH and options.session_every and sketches and sketches % options.session_every == 0:
                # The page is reloaded: a new session. (A new Client, as a browser makes a new connection;
                # Client.reset_session() can strand the next answer on the old session's event stream.)
                _finish(pending, options, record)
                client.close()
                client = connect()
                if client is None:
                    return
            began = time.monotonic()
            try:
                job = client.submit(*_arguments(client, call, sketch_paths), api_name=f"/{call.endpoint}")
            except Exception as err:  # noqa: BLE001
                record(Record(call.endpoint, began, time.monotonic() - began, describe_error(err)))
                continue
            if call.endpoint != SKETCH:
                finished: list[float] = []
                job.add_done_callback(lambda _, finished=finished: finished.append(time.monotonic()))
                pending.append(_Sent(call.endpoint, began, job, finished))
                continue
            error = _wait(job, options.request_timeout)
            record(Record(call.endpoint, began, time.monotonic() - began, error))
            sketches += 1
            sketch_done()
        _finish(pending, options, record)
    finally:
        if client is not None:
            client.close()


def _wait(job: Any, timeout: float) -> str | None:
    """Wait for a request's answer; its error, if any (a request that times out is cancelled)."""
    try:
        job.result(timeout=timeout)
    except Exception as err:  # noqa: BLE001 - every failure is counted and reported
        error = describe_error(err)
        if error == "timeout":
            job.cancel()
        return error
    return None


def _finish(pending: list[_Sent], options: ClientOptions, record: Callable[[Record], None]) -> None:
    """Wait for the requests sent without waiting, record them, and empty ``pending``."""
    for sent in pending:
        error = _wait(sent.job, max(0.1, sent.began + options.request_timeout - time.monotonic()))
        end = sent.finished[0] if sent.finished else time.monotonic()
        record(Record(sent.endpoint, sent.began, end - sent.began, error))
    pending.clear()
