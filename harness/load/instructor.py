"""The instructor: one training (``/train``), started with a phase in a thread of its own and
followed to its end."""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from harness.load.client import TLS, by_label, describe_error

TRAINING = {"Dataset": "mnist", "Epochs": 1, "Batch size": 256}  # by the form's labels; the rest: defaults


@dataclass(frozen=True)
class Training:
    """How the instructor's training went."""
    started: float  # seconds after the phase's start signal
    status: str  # "done", else the progress text or the error
    seconds: float


class Instructor:
    """Starts one training at once; ``outcome`` waits for it."""

    def __init__(self, url: str, settings: dict[str, object], deadline: float, phase_began: float) -> None:
        self._outcome: list[Training] = []
        self._thread = threading.Thread(target=self._train, args=(url, settings, deadline, phase_began),
                                        daemon=True, name="training")
        self._thread.start()

    def _train(self, url: str, settings: dict[str, object], deadline: float, phase_began: float) -> None:
        from gradio_client import Client

        began = time.monotonic()
        try:
            client = Client(url, verbose=False, download_files=False, analytics_enabled=False, ssl_verify=TLS)
            try:
                job = client.submit(*by_label(client, "train", settings), api_name="/train")
                progress = job.result(timeout=max(1.0, deadline - time.monotonic()))[0]
                status = "done" if "Done in" in progress else progress[:200]
            finally:
                client.close()
        except Exception as err:  # noqa: BLE001 - reported
            status = describe_error(err)
        self._outcome.append(Training(began - phase_began, status, time.monotonic() - began))

    def outcome(self, join_by: float) -> Training:
        """The training's outcome, once it has ended (or at ``join_by``)."""
        self._thread.join(timeout=max(1.0, join_by - time.monotonic()))
        return self._outcome[0] if self._outcome else Training(math.nan, "not finished when the phase ended",
                                                               math.nan)
