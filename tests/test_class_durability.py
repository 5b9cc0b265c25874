"""The class's drawings on the real server's disk (issue 20): a server killed with SIGKILL while 20 clients send
loses no drawing it acknowledged, and the database stays whole; an expired class is gone after a restart, its
bytes too."""
from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from classroom.store import FILE_NAME, encode_image
from harness.app_server import raw_call
from harness.classroom import KEY, class_server, event_index, integrity, page_digits

STUDENTS = 20
KILL_AFTER = 60  # acknowledged drawings


def test_no_acknowledged_drawing_is_lost_when_the_server_is_killed(tmp_path):
    folder = tmp_path / "classes"
    digits = page_digits(STUDENTS * 2)
    acknowledged: list[int] = []
    stop = threading.Event()
    with class_server(folder) as (url, process):
        opened = Client(url, verbose=False).predict(KEY, api_name="/class_open")
        send = event_index(url, "class_send")

        def student(first: int) -> None:
            for turn in range(10**6):
                image, meant = digits[(first + turn * STUDENTS) % len(digits)]
                try:  # each call is a new session, as a page reloaded: no student reaches the rate limit
                    answer = raw_call(url, send, [opened["code"], image, meant], timeout=30)
                except Exception:  # noqa: BLE001 - the server is gone
                    return
                if stop.is_set():
                    return
                if answer.get("success"):
                    acknowledged.append(answer["output"]["data"][0]["number"])

        students = [threading.Thread(target=student, args=(i,), daemon=True) for i in range(STUDENTS)]
        for thread in students:
            thread.start()
        deadline = time.monotonic() + 180
        while len(acknowledged) < KILL_AFTER and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)  # in the middle of the sends
        process.wait()
        kept = list(acknowledged)  # what was answered before the server died
        stop.set()
        for thread in students:
            thread.join(timeout=60)
    assert len(kept) >= KILL_AFTER, "the students could not send enough before the deadline"
    assert integrity(folder) == "ok"
    with class_server(folder) as (url, _):
        wall = Client(url, verbose=False).predict(opened["code"], opened["token"], api_name="/class_wall")
    on_wall = {drawing["number"] for drawing in wall["drawings"]}
    assert set(kept) <= on_wall, sorted(set(kept) - on_wall)
    assert on_wall == set(range(1, len(on_wall) + 1)), "numbers are consecutive: nothing half-written"


def test_an_expired_class_is_gone_after_a_restart_and_its_bytes_too(tmp_path):
    folder, retention = tmp_path / "classes", ("--class-retention-hours", "0.002")  # 7.2 seconds
    image, meant = page_digits(1, start=7)[0]
    stored = encode_image(np.asarray(image, np.float32).reshape(28, 28))
    with class_server(folder, *retention) as (url, _):
        client = Client(url, verbose=False)
        opened = client.predict(KEY, api_name="/class_open")
        client.predict(opened["code"], image, meant, api_name="/class_send")
        opened_at = time.monotonic()
    files = lambda: b"".join(path.read_bytes() for path in folder.glob(FILE_NAME + "*"))  # noqa: E731
    assert stored in files(), "the test looks for the drawing's bytes"
    time.sleep(max(0.0, opened_at + 7.5 - time.monotonic()))
    with class_server(folder, *retention) as (url, _):
        client = Client(url, verbose=False)
        with pytest.raises(AppError, match="No class .* is open"):
            client.predict(opened["code"], image, meant, api_name="/class_send")
        with pytest.raises(AppError, match="No class .* is open"):
            client.predict(opened["code"], opened["token"], api_name="/class_wall")
    assert stored not in files()
    assert integrity(folder) == "ok"
