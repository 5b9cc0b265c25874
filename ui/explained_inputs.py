"""Blocks that say why they refused an API call's inputs.

The app runs with ``show_error=False``, so that no exception text (a server path, a stack frame) reaches a
browser; only ``gr.Error`` messages are shown. But Gradio checks the inputs (their count, each component's
data model and preprocessing) before the handler runs, with plain exceptions: a script that sends a
string where a number goes, a broken FileData, or one value too few got an error with no text. Here those
become a ``gr.Error`` that names the parameter that failed and lists what each parameter accepts, as the
API page documents it.
"""
from __future__ import annotations

import re

import gradio as gr
from gradio.exceptions import ComponentProcessingError
from gradio_client.utils import json_schema_to_python_type

MAX_REASON = 200  # characters of the framework's own reason: it may quote what the client sent
PREPROCESS_INDEX = re.compile(r"input component at index (\d+)")  # how Gradio 6 names the input that failed


def parameter(block: gr.components.Component) -> str:
    """One parameter as the API page shows it: its label and its Python type."""
    try:
        accepts = json_schema_to_python_type(block.api_info())
    except Exception:  # a component whose schema the client library cannot render: its kind is enough
        accepts = block.get_block_name()
    return f"{block.label or block.get_block_name()} ({accepts})"


def failing_input(block_fn, inputs: list, error: Exception) -> int | None:
    """The index of the input that failed: the one Gradio's preprocessing error names, else the first whose
    data model refuses its value; None if neither says."""
    named = PREPROCESS_INDEX.search(str(error)) if isinstance(error, ComponentProcessingError) else None
    if named:
        return int(named.group(1))
    for index, (block, value) in enumerate(zip(block_fn.inputs, inputs)):
        model = getattr(block, "data_model", None)
        if model is None or value is None or getattr(block, "stateful", False):
            continue
        try:
            model.model_validate(value, context={"validate_meta": True})
        except Exception:
            return index
    return None


def refusal(block_fn, inputs: list, error: Exception) -> str:
    """The message: what was wrong, which parameter, and what every parameter accepts."""
    parameters = [block for block in block_fn.inputs if not getattr(block, "stateful", False)]
    if len(inputs) < len(block_fn.inputs):
        problem = f"it takes {len(parameters)} values, the request sent {len(inputs)}"
    else:
        index = failing_input(block_fn, inputs, error)
        reason = str(error).strip().splitlines()[0][:MAX_REASON].rstrip(".") if str(error).strip() else \
            type(error).__name__
        problem = (f"{parameter(block_fn.inputs[index])} was refused" if index is not None else reason)
    listed = "; ".join(f"{i + 1}. {parameter(block)}" for i, block in enumerate(parameters))
    name = f"/{block_fn.api_name}" if block_fn.api_name else "this event"
    return f"The inputs of {name} were not accepted: {problem}. It takes: {listed}."


class ExplainedBlocks(gr.Blocks):
    """``gr.Blocks`` whose refused inputs come back with a message (see the module's docstring)."""

    async def preprocess_data(self, block_fn, inputs, state, explicit_call: bool = False):
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error:
            raise
        except Exception as error:
            raise gr.Error(refusal(block_fn, inputs, error)) from error
