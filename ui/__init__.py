"""Gradio's own parts, hardened for a classroom: what the page is built from beyond stock components.

``sketchpad``: a Sketchpad that checks what clients send before anything decodes it and keeps no
unused upload; ``request_limits``: a bound on every request's body; ``light_sessions``: sessions
that cost kilobytes, not a copy of the page; ``number_dropdown``: dropdowns of numbers whose API docs
say so. ``demo.py`` wires them in.
"""
