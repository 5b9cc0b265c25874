"""Sessions that cost a few kilobytes, so that thousands fit and no client can evict a student's.

For every browser session Gradio keeps a copy of the whole page's configuration (150 KiB for
this page) and the last value of every component, only to offer "deep links" (a URL that
reopens a session's exact page), which this app does not offer. A session here keeps what the
app needs: its ``gr.State`` values (a dataset name, a 28x28 image: 3 KB) and the components its
events changed (the target classes of a switched dataset). Pinned to the Gradio of
requirements.txt; tests/test_hostile_inputs.py measures the cost of a session on the real server.
"""
from __future__ import annotations

from typing import Any

from gradio import state_holder


class LightSessionState(state_holder.SessionState):
    def __init__(self, blocks) -> None:
        super().__init__(blocks)
        self.config_values = {}  # the deep links' copy of every component's configuration

    def __setitem__(self, key: int, value: Any) -> None:
        super().__setitem__(key, value)
        self.config_values.pop(key, None)

    def _update_config(self, key: int) -> None:
        pass  # deep links only

    def _update_value_in_config(self, key: int, value: Any) -> None:
        pass  # deep links only


def use_light_sessions() -> None:
    """Every session Gradio's state holder makes from now on is a LightSessionState."""
    state_holder.SessionState = LightSessionState
