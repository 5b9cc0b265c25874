"""A user's mistake (bad input, a disallowed action) shown as a message in the page, never a traceback.

Every event handler of the pages wears ``friendly``: what the user can cause becomes a ``gr.Error``
with the reason; anything else is a bug, and Gradio reports it as one.
"""
from __future__ import annotations

import functools
import inspect

import gradio as gr

from cnn.datasets import DataUnavailableError
from cnn.model_manager import TrainingBusyError
from cnn.model_store import ModelFileError
from cnn.preprocessing import InputImageError
from webapp.policy import NotAllowedError

USER_ERRORS = (ValueError, InputImageError, NotAllowedError, TrainingBusyError, ModelFileError, DataUnavailableError)


def friendly(handler):
    """Show a user's mistake as a message, never a traceback; for handlers that return and for
    generators that yield their updates alike."""
    if inspect.isgeneratorfunction(handler):
        @functools.wraps(handler)
        def generator(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except USER_ERRORS as err:
                raise gr.Error(str(err), print_exception=False) from None
        return generator

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except USER_ERRORS as err:
            raise gr.Error(str(err), print_exception=False) from None
    return wrapper
