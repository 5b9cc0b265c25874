"""Sessions that cost a few kilobytes, so that thousands fit and no client can evict a student's.

For every browser session Gradio keeps a copy of the whole page's configuration (150 KiB for
this page) and the last value of every component, only to offer "deep links" (a URL that
reopens a session's exact page), which this app does not offer. A session here keeps what the
app needs: its ``gr.State`` values (a dataset name, a 28x28 image: 3 KB) and the components its
events changed (the target classes of a switched dataset). Pinned to the Gradio of
requirements.txt; tests/test_hostile_inputs.py measures the cost of a session on the real server.
"""
from __future__ import annotations

import copy
from typing import Any

from gradio import state_holder


class LightSessionState(state_holder.SessionState):
    def __init__(self, blocks) -> None:
        # Gradio 6.31's SessionState.__init__, without its first work: the deep links' copy of every
        # component's configuration (config_values), built for each new session and then thrown away here,
        # cost a few milliseconds of server time per session (a tenth of a sketch's, profiled under load).
        self.blocks_config = copy.copy(blocks.default_config)
        self.config_values: dict[int, Any] = {}
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 3600  # s: a closed session's state waits this long for its page to return

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
