"""The queue's groups: how many events of each kind run at once, so that no kind starves another.

A student's per-stroke or per-click views are light (milliseconds): two at a time. Big figures are heavy (up
to a second or two): one at a time, so a burst of them leaves a core to the light ones. Long jobs (the
test-set table, the robustness curve, maximizations) are computed in idle-priority worker processes
(webapp/long_jobs.py): the events that wait for them take no processor, so many wait at once, in a group
of their own that no other view queues behind; the students who wait are told what for and for about how
long (``tell``). The dataset switch and the header card answer at once: in no limited group at all.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from webapp.once import Waiting

if TYPE_CHECKING:
    import gradio as gr

LIGHT = dict(concurrency_id="light", concurrency_limit=2, show_progress="hidden")  # per-stroke events
HEAVY = dict(concurrency_id="heavy", concurrency_limit=1)  # big figures, computed in the server
# Waiting for a long job. Bounded: each holds one of Gradio's 40 workers (and a thread) while it waits.
LONG = dict(concurrency_id="long", concurrency_limit=16)
INSTANT = dict(concurrency_limit=None)  # the dataset switch and the header: never behind another event


def tell(progress: gr.Progress) -> Callable[[Waiting], None]:
    """What a long job's waiting student hears, as Gradio's progress bar and its text."""
    return lambda waiting: progress(waiting.fraction, desc=waiting.text)
