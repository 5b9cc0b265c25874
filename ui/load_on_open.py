"""The components of a tab not yet opened, or of a closed accordion, downloaded when it opens, not with the page.

Gradio's frontend starts downloading the JavaScript of every visible component as it reads the page's
configuration, before it sets aside what an unselected tab or a closed accordion holds (those it renders only
once opened): a first visit downloaded the code of every kind of component on the page, 25 files for
sliders, file uploads, pictures, tables and numbers of which the Grad-CAM tab's first view shows none.
The page's configuration has them hidden instead (``visible=False``, which Gradio downloads nothing for),
and the container's own opening (a tab's ``select``, an accordion's ``expand``) shows them again, in the
browser alone, once per page: Gradio then downloads and renders them. A component hidden by design stays hidden.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import gradio as gr
from gradio.blocks import Block, BlockContext

SHOWN = {"__type__": "update", "visible": True}


def load_on_open(page: gr.Blocks) -> None:
    """Call once the page is built: each container that the page opens closed shows its components when opened."""
    for container in closed_containers(page):
        hidden = [block for block in descendants(container) if not isinstance(block, BlockContext)
                  and block.visible is True]
        if not hidden:
            continue
        for block in hidden:
            block.visible = False
        opened = container.select if isinstance(container, gr.Tab) else container.expand
        opened(None, None, hidden, js=show_once(container, len(hidden)), queue=False, show_progress="hidden")


def closed_containers(block: Block) -> Iterator[gr.Tab | gr.Accordion]:
    """The tabs other than their Tabs' first selected one, and the accordions closed at first: the outermost ones."""
    children = getattr(block, "children", [])
    tabs = [child for child in children if isinstance(child, gr.Tab)]
    selected = getattr(block, "selected", None)  # a Tabs shows its ``selected`` tab first, else its first
    opened_first = next((tab for tab in tabs if selected is not None and selected in (tab.id, tab._id)),
                        tabs[0] if tabs else None)
    for child in children:
        if (isinstance(child, gr.Tab) and child is not opened_first) or (
                isinstance(child, gr.Accordion) and not child.open):
            yield child
        else:
            yield from closed_containers(child)


def descendants(block: Block) -> Iterator[Block]:
    for child in getattr(block, "children", []):
        yield child
        yield from descendants(child)


def show_once(container: Block, count: int) -> str:
    """A browser-only handler: the first time, ``count`` updates that show the outputs; then none (an empty list
    leaves every output as it is, so what an event has hidden since stays hidden)."""
    key = json.dumps(f"cnn-open-{container._id}")
    return (f"() => {{ const opened = (window.cnnOpened = window.cnnOpened || new Set()); "
            f"if (opened.has({key})) return []; opened.add({key}); return Array({count}).fill({json.dumps(SHOWN)}); }}")
