"""The class's API (README: "The class"), for other tools and the tests, through ``gradio_client``; JSON in and out.

Every endpoint goes through the queue and its limits, and hands what it is sent, unconverted, to the class's
rules (classroom/classes.py), which check every value, the instructor key and each class's token themselves:
hidden events are callable by their index, so no check may live only in a page. Refusals are ``gr.Error``
messages. The instructor key is checked one request at a time (its own queue group): a wrong key waits in
the queue, not in a server thread.
"""
from __future__ import annotations

import gradio as gr
from gradio import route_utils
from gradio.data_classes import FileData

from classroom.classes import Classroom, OpenedClass
from ui.friendly import friendly
from webapp.class_data import export_idx
from webapp.class_show import shown_answer
from webapp.class_wall import wall_answer

# A send costs a few milliseconds of CPU (the checks, the model, a commit), but on a busy machine its thread
# also waits, for the model's threads and for the disk: eight at a time keep a class of hundreds flowing
# (the store still writes one at a time).
CLASS = dict(concurrency_id="class", concurrency_limit=8, show_progress="hidden")
KEY_CHECK = dict(concurrency_id="instructor-key", concurrency_limit=1)  # wrong keys are answered slowly


def public_root(request: gr.Request) -> str:
    """The app's address as the caller reached it (behind a proxy too), without a trailing slash."""
    raw = request.request
    return route_utils.get_root_url(request=raw, route_path=route_utils.get_api_call_path(raw),
                                    root_path=raw.scope.get("root_path") or None)


def opened_answer(opened: OpenedClass, root: str) -> dict:
    """A new class: its code, its token, the students' link and the instructor's (the token in the fragment,
    which browsers never send, so that no server or proxy logs it)."""
    return {"code": opened.code, "token": opened.token, "student_link": f"{root}/?class={opened.code}",
            "instructor_link": f"{root}/instructor#class={opened.code}&token={opened.token}"}


class ClassApi:
    """The endpoints' functions (the pages' events call some of them too) and their registration."""

    def __init__(self, classroom: Classroom) -> None:
        self.classroom = classroom

    @friendly
    def class_open(self, instructor_key: str, request: gr.Request) -> dict:
        """Open a class with the server's instructor key: its code, its instructor token, and both links."""
        return opened_answer(self.classroom.open(instructor_key), public_root(request))

    @friendly
    def class_send(self, code: str, image: list[float], meant: int, request: gr.Request) -> dict:
        """A student's drawing: 784 numbers in [0, 1], row by row, white ink on black, and the digit meant (0-9).
        The server predicts it itself: its number on the wall and the predicted digit."""
        sent = self.classroom.send(code, image, meant, request.session_hash)
        return {"number": sent.number, "predicted": sent.predicted}

    @friendly
    def class_withdraw(self, code: str, number: int, request: gr.Request) -> dict:
        """Withdraw one of your own drawings (sent in this session): it is erased."""
        return {"withdrawn": self.classroom.withdraw(code, number, request.session_hash)}

    @friendly
    def class_wall(self, code: str, token: str) -> dict:
        """The class's drawings (hidden ones left out), its accuracy and its confusion matrix (rows: meant)."""
        return wall_answer(self.classroom.wall(code, token))

    @friendly
    def class_hide(self, code: str, token: str, number: int) -> dict:
        """Take a drawing off the wall and out of the class's data."""
        return {"hidden": self.classroom.hide(code, token, number)}

    @friendly
    def class_end(self, code: str, token: str) -> dict:
        """End the class: it and its drawings are erased."""
        return {"ended": self.classroom.end(code, token)}

    @friendly
    def class_show(self, code: str, token: str, image: list[float], target: int, method: str) -> dict:
        """Show everyone in the class an image: 784 numbers in [0, 1] (row by row, white ink on black), the heatmap's
        target class (0-9, or -1: the class the model predicts) and method (Grad-CAM, Grad-CAM++, HiResCAM or
        LayerCAM). Every student's page switches to it; its number counts what the class has been shown."""
        return {"shown": self.classroom.show(code, token, image, target, method)}

    @friendly
    def class_shown(self, code: str) -> dict | None:
        """What the class is shown now: {"image": 784 numbers, "target": int, "method": str}, or null."""
        return shown_answer(self.classroom.shown(code))

    @friendly
    def class_stop_showing(self, code: str, token: str) -> dict:
        """Show the class nothing: every student's page goes back to their own drawing."""
        return {"stopped": self.classroom.stop_showing(code, token)}

    @friendly
    def class_export(self, code: str, token: str) -> list[FileData]:
        """The class's drawings (hidden ones left out) in MNIST's own IDX format, gzipped: two files, the images
        (N x 28 x 28 bytes, white ink on black) and their labels (the digits the students meant)."""
        images, labels = export_idx(self.classroom.authorized(code, token), self.classroom.data_set(code, token))
        # As dictionaries: Gradio then serves them (it looks for files in the answer's dictionaries).
        return [FileData(path=str(images)).model_dump(), FileData(path=str(labels)).model_dump()]

    def register(self) -> None:
        """The endpoints, in the Blocks being built."""
        gr.api(self.class_open, api_name="class_open", **KEY_CHECK)
        for endpoint in (self.class_send, self.class_withdraw, self.class_wall, self.class_hide, self.class_end,
                         self.class_show, self.class_shown, self.class_stop_showing, self.class_export):
            gr.api(endpoint, api_name=endpoint.__name__, concurrency_id=CLASS["concurrency_id"],
                   concurrency_limit=CLASS["concurrency_limit"])
