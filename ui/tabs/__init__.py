"""The student page's tabs, one module each: its components and the wiring of their events to ``webapp/``.

Each module has one function that builds its tab inside the page's ``gr.Tab`` (demo.py lists them in order).
"""
from __future__ import annotations

FIGURE_BUTTONS = ["download", "fullscreen"]  # figures: save for slides, or show full screen
