"""How the server runs for a class: what Gradio keeps about its events, what the garbage collector walks,
and how long start-up took."""
from __future__ import annotations

import gc
import os
import time
from pathlib import Path

_IMPORTED = time.monotonic()


def quiet_gradio_analytics() -> None:
    """Set before the app's queue is made, which is when Gradio reads them.

    Nothing leaves the classroom. And after every event Gradio rebuilds a pandas table of the last
    10,000 events for its optional monitoring page: 10+ ms per request once a class has been busy
    for a while, more than the request itself. Rebuild it every 1,000 events, over the last 2,000.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "2000")


def seconds_since_start() -> float:
    """How long ago this process started, so that the start-up time we print includes every import.

    Linux tells when the process started (in clock ticks since boot); elsewhere we count from the
    moment this module was imported, which misses the imports before it.
    """
    try:
        after_name = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(after_name[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of the line: starttime
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED


def spare_long_lived_objects_from_gc() -> None:
    """Exempt everything alive now (after start-up: TensorFlow, Keras, Gradio, the models, 560,000 objects)
    from Python's full garbage collections, which otherwise walk them all a few times a minute under load,
    each a 0.3-0.4 s pause of every request. Objects made later are collected as before.

    Called again when a model is swapped out: what was exempted and has become garbage since (the old
    model's explainers, which hold reference cycles) is collected first. A request still using the old
    model at that moment keeps it until the next swap: at most one old model per dataset lingers.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
