"""ui/light_sessions.py re-does Gradio's SessionState.__init__ without its deep-link copy: it must keep up
with the Gradio it is pinned to, attribute for attribute, and behave as a session."""
from __future__ import annotations

import gradio as gr
from gradio import state_holder

from ui.light_sessions import LightSessionState


def test_a_light_session_has_every_attribute_of_gradios_and_keeps_state():
    with gr.Blocks() as blocks:
        state = gr.State(7)
        box = gr.Textbox("a")
    gradio_class = LightSessionState.__bases__[0]  # not state_holder.SessionState: use_light_sessions replaces it
    assert gradio_class.__module__ == state_holder.__name__
    gradios = gradio_class(blocks)
    light = LightSessionState(blocks)
    assert vars(light).keys() == vars(gradios).keys()
    assert light.config_values == {} and gradios.config_values, "only Gradio's copies every component's config"
    assert light[state._id] == 7 and light[box._id] is box
    light[state._id] = 8
    assert light[state._id] == 8 and state._id in light
