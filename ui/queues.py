"""The queue's groups: how many events of each kind run at once, so that no kind starves another.

A student's per-stroke or per-click views are light (milliseconds): two at a time. Optimizations and big
figures are heavy (up to seconds): one at a time, so a burst of them leaves a core to the light ones.
"""
from __future__ import annotations

LIGHT = dict(concurrency_id="light", concurrency_limit=2, show_progress="hidden")  # per-stroke events
HEAVY = dict(concurrency_id="heavy", concurrency_limit=1)  # optimization and big figures
