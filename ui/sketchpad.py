"""A ``gr.Sketchpad`` that a hostile client cannot use to take the server's memory.

Gradio decodes a sketch's pictures (composite, layers, background) before the app's handler
runs, so the handler's checks come too late: a 100 KB PNG that claims 12000x12000 pixels
decodes to gigabytes. Here every picture's header is checked first (``check_encoded_image``).

The page's Sketchpad sends each stroke's layers ahead of the event, as "blobs" kept in memory
until the event uses them; a client that sends blobs and never the event would fill the memory.
Here blobs are kept at most BLOB_SECONDS, and BLOB_BYTES in all, oldest dropped first.
"""
from __future__ import annotations

import io
import time
from collections import OrderedDict

import gradio as gr
from fastapi import HTTPException
from gradio.components.base import server
from gradio.components.image_editor import AcceptBlobs, EditorDataBlobs
from gradio.data_classes import FileData

from cnn.preprocessing import MAX_SKETCH_PIXELS, InputImageError, check_encoded_image

BLOB_SECONDS = 60.0  # an event follows its blobs within a second; a minute allows a slow phone
BLOB_BYTES = 32 * 2**20  # a stroke's three 400x400 PNGs are tens of KB: room for hundreds of students at once


def _blob_bytes(blobs: EditorDataBlobs) -> int:
    return sum(len(part) for part in (blobs.background, blobs.composite, *blobs.layers) if part)


class ExpiringBlobs(OrderedDict):
    """The blobs of the strokes not yet explained, by id, oldest first; bounded in age and in bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    def __setitem__(self, key: str, blobs: EditorDataBlobs) -> None:
        self.pop(key, None)  # re-inserted last: the newest
        super().__setitem__(key, blobs)
        self.arrived[key] = time.monotonic()
        self._prune()

    def pop(self, key, *default):
        self.arrived.pop(key, None)
        return super().pop(key, *default)

    def _prune(self) -> None:
        stale = time.monotonic() - BLOB_SECONDS
        total = sum(_blob_bytes(blobs) for blobs in self.values())
        while self and (self.arrived[next(iter(self))] < stale or total > BLOB_BYTES):
            _, blobs = self.popitem(last=False)
            total -= _blob_bytes(blobs)

    def popitem(self, last: bool = True):
        key, blobs = super().popitem(last)
        self.arrived.pop(key, None)
        return key, blobs


class BoundedSketchpad(gr.Sketchpad):
    """gr.Sketchpad, with every picture a client sends checked from its header before it is decoded."""

    # Gradio's ImageEditor keeps the pending blobs in a plain dict that its __init__ makes (an __init__
    # here would hide the constructor's parameters, from which Gradio builds the page): this one is bounded.
    @property
    def blob_storage(self) -> ExpiringBlobs:
        return self._pending_blobs

    @blob_storage.setter
    def blob_storage(self, _: dict) -> None:
        self._pending_blobs = ExpiringBlobs()

    def get_block_name(self) -> str:
        return "imageeditor"  # the Sketchpad's own front end (a template of ImageEditor)

    def convert_and_format_image(self, file: FileData | bytes | None, flatten_on_white: bool = False):
        if file is not None:
            try:
                check_encoded_image(file.path if isinstance(file, FileData) else io.BytesIO(file), MAX_SKETCH_PIXELS)
            except InputImageError as err:
                raise gr.Error(f"✏️ {err}", print_exception=False) from None
        return super().convert_and_format_image(file, flatten_on_white)

    @server
    def accept_blobs(self, data: AcceptBlobs) -> None:
        try:
            check_encoded_image(io.BytesIO(data.files[0][1]), MAX_SKETCH_PIXELS)
        except (InputImageError, IndexError) as err:
            raise HTTPException(status_code=413, detail=f"Refused: {err}") from None
        super().accept_blobs(data)
