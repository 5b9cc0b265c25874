"""A dropdown of whole numbers (a target class, a batch size) whose API docs say so.

Gradio documents every dropdown's choices as strings ('5'), then refuses the string '5'
because the choice is the number 5. Here the docs say "integer", and a number written as
text is read as the number, so a client that follows either gets its answer.
"""
from __future__ import annotations

from typing import Any

import gradio as gr


class NumberDropdown(gr.Dropdown):
    is_template = True  # drawn by the Dropdown's own front end

    def api_info(self) -> dict[str, Any]:
        return {"type": "integer", "enum": [value for _, value in self.choices]}

    def preprocess(self, payload: Any) -> Any:
        if isinstance(payload, str) and payload.strip().removeprefix("-").isdigit():
            payload = int(payload)
        return super().preprocess(payload)
