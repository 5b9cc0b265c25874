"""A bound on the body of every request, before the web framework reads it; and a clear answer to an
upload that is not a file.

Gradio reads a multipart request's files into memory, up to a thousand of them of up to
``max_file_size`` each, before any handler can look. Uploads here are one picture of at most
10 MB, so a request whose body is larger than that (and a little room for the form) is refused
as it arrives: by its Content-Length, or by counting the bytes of a body sent without one.

Gradio 6.31's upload route fails with HTTP 500 (a TypeError) when a part named ``files`` carries
no filename (a form field, not a file); ``UploadNotAFile`` answers 400 with the reason instead.
"""
from __future__ import annotations

from typing import Awaitable, Callable

Scope = dict
Message = dict
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


UPLOAD_PATH = "/gradio_api/upload"
NOT_A_FILE = "not an instance of GradioUploadFile"  # Gradio 6.31's TypeError, gradio/route_utils.py upload_fn


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware: answers 413 to any HTTP request whose body exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge
            return message

        watched = WatchedSend(send)
        try:
            await self.app(scope, counted_receive, watched)
        except BodyTooLarge:
            if not watched.started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await refuse(send, 413, f"Request refused: larger than {self.max_bytes // 2**20} MB.")


class UploadNotAFile:
    """ASGI middleware: answers 400, not 500, to an upload whose ``files`` part is not a file."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").endswith(UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        watched = WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except TypeError as error:
            # Only Gradio's complaint about a part without a filename: any other TypeError is a bug, and stays a 500.
            if watched.started or NOT_A_FILE not in str(error):
                raise
            await refuse(send, 400, "Upload refused: every part named 'files' must be a file, with a filename.")


class WatchedSend:
    """``send``, noting whether the response has started: a refusal can only replace a response not begun."""

    def __init__(self, send: Send) -> None:
        self.send, self.started = send, False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


async def refuse(send: Send, status: int, text: str) -> None:
    """Answer the request with ``status`` and a one-line plain-text reason."""
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
