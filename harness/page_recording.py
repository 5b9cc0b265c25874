"""What a page load asks of the server, recorded from Chromium: every request that reached the server, in the
order the page made it, with the headers and body it went with, and which answers were event streams.

Chromium's DevTools protocol tells which requests went out on the network (a file the browser had cached
makes none) with the headers as sent (``Accept-Encoding``, ``If-None-Match``), the bytes each answer
took on the wire, and when each was sent and answered: a request may have been made because of any answer
that came before it (a script, once loaded, asks for the modules it imports), so a replay sends it only
after those (``after``). The page-load test and benchmark replay these requests for hundreds of simulated students
(``harness/load/page_replay.py``): recorded from the browser each time, the replay asks for whatever Gradio's
frontend and the page's own JavaScript ask for today.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field

from harness.browser import load

SETTLE_SECONDS = 3.0  # what the page asks for after its first paint (lazy components, the load event)
# Headers a replay sends as the browser did; the others (the connection's own, cookies) are the replay's.
REPLAYED_HEADERS = frozenset({"accept", "accept-encoding", "accept-language", "content-type", "if-none-match",
                              "if-modified-since", "origin", "user-agent"})


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    target: str  # path and query, relative to the server's root: "/", "/assets/index-x.js", ...
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    stream: bool = False  # the answer is an event stream that the page holds open (it had not ended)
    status: int | None = None  # the answer's (None: none came)
    wire_bytes: int = 0  # the answer's headers and body as they came over the network (streams: so far)
    after: tuple[int, ...] = ()  # the requests of the visit answered before the page made this one


@dataclass
class Visit:
    """One page load: the requests that reached the server."""
    requests: list[RecordedRequest] = field(default_factory=list)

    @property
    def wire_bytes(self) -> int:
        return sum(request.wire_bytes for request in self.requests)


class _Recorder:
    """The network requests of one page to ``base``, from the DevTools protocol's Network events."""

    def __init__(self, page, base: str) -> None:
        self.base = base.rstrip("/") + "/"
        self.sent: dict[str, dict] = {}  # requestId -> what the page asked
        self.on_wire: dict[str, dict] = {}  # requestId -> the headers that went out (only requests that did)
        self.answers: dict[str, dict] = {}  # requestId -> status, stream, bytes
        session = page.context.new_cdp_session(page)
        session.on("Network.requestWillBeSent", self._will_be_sent)
        session.on("Network.requestWillBeSentExtraInfo", self._extra_info)
        session.on("Network.responseReceived", self._response)
        session.on("Network.dataReceived", self._data)
        session.on("Network.loadingFinished", self._finished)
        session.send("Network.enable")

    def _will_be_sent(self, event: dict) -> None:
        if event["request"]["url"].startswith(self.base):
            self.sent[event["requestId"]] = {**event["request"], "sent_at": event["timestamp"]}

    def _extra_info(self, event: dict) -> None:
        self.on_wire[event["requestId"]] = event["headers"]

    def _response(self, event: dict) -> None:
        response = event["response"]
        self.answers[event["requestId"]] = {"status": response["status"], "bytes": 0, "done_at": None,
                                            "stream": response["mimeType"] == "text/event-stream"}

    def _data(self, event: dict) -> None:
        answer = self.answers.get(event["requestId"])
        if answer is not None:
            answer["bytes"] += event["encodedDataLength"]
            answer["first_data_at"] = answer.get("first_data_at") or event["timestamp"]

    def _finished(self, event: dict) -> None:
        answer = self.answers.get(event["requestId"])
        if answer is not None:
            answer.update(bytes=event["encodedDataLength"], done_at=event["timestamp"], stream=False)

    def visit(self) -> Visit:
        """The requests that went out on the network (the others were answered from the browser's cache)."""
        ids = [request_id for request_id in self.sent if request_id in self.on_wire]
        done_at = [_answered_at(self.answers.get(request_id, {})) for request_id in ids]
        requests = []
        for request_id in ids:
            request, answer = self.sent[request_id], self.answers.get(request_id, {})
            headers = tuple((name.lower(), value) for name, value in self.on_wire[request_id].items()
                            if name.lower() in REPLAYED_HEADERS)
            body = "".join(entry.get("bytes", "") for entry in request.get("postDataEntries", []))
            after = tuple(i for i, done in enumerate(done_at) if done is not None and done < request["sent_at"])
            requests.append(RecordedRequest(request["method"], request["url"][len(self.base) - 1:], headers,
                                            _decoded(body), answer.get("stream", False), answer.get("status"),
                                            answer.get("bytes", 0), after))
        return Visit(requests)


def _answered_at(answer: dict) -> float | None:
    """When an answer had come: a stream still open, at its first event; any other answer, once it ended."""
    return answer.get("first_data_at") if answer.get("stream") else answer.get("done_at")


def _decoded(base64_body: str) -> bytes:
    return base64.b64decode(base64_body) if base64_body else b""


def _visit(context, url: str, network: bool, timeout_ms: float) -> Visit:
    page = context.new_page()
    recorder = _Recorder(page, url)
    load(page, url, timeout_ms, network)
    page.wait_for_timeout(SETTLE_SECONDS * 1000)  # not time.sleep: Playwright delivers events while it waits
    visit = recorder.visit()
    page.close()
    return visit


def record_visits(browser, url: str, network: bool = True, timeout_ms: float = 120_000) -> tuple[Visit, Visit]:
    """A student's first visit to ``url`` and a second one in the same browser, its cache kept: what each asked.
    ``network``: the page is the app's, usable once its network has its weights (else: once it has loaded)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        return _visit(context, url, network, timeout_ms), _visit(context, url, network, timeout_ms)
    finally:
        context.close()
