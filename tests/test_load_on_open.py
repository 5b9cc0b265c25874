"""ui/load_on_open.py: what a page shows closed (a tab not selected, an accordion closed) is downloaded when opened.

On a small Gradio app, with and without it, in Chromium: the first view asks for fewer of Gradio's files;
opening the tab or the accordion shows every component it holds (values set meanwhile by events kept), the
components hidden by design stay hidden, and a component an event hides after the opening stays hidden when
the tab is opened again.
"""
from __future__ import annotations

import gradio as gr
import pytest
from playwright.sync_api import expect

from harness.app_server import free_port
from ui.load_on_open import closed_containers, load_on_open


def build(lazy: bool) -> tuple[gr.Blocks, dict[str, gr.components.Component]]:
    with gr.Blocks() as blocks:
        with gr.Tabs():
            with gr.Tab("First"):
                text = gr.Textbox("a", label="Text", elem_id="text")
                fill = gr.Button("Fill the second tab")
                with gr.Accordion("More", open=False) as more:
                    number = gr.Number(3, label="Number", elem_id="number")
            with gr.Tab("Second"):
                table = gr.Dataframe([[1, 2]], elem_id="table")
                slider = gr.Slider(0, 10, 4, label="Slider", elem_id="slider")
                secret = gr.Textbox("hidden by design", visible=False, elem_id="secret")
                hide = gr.Button("Hide the table")
        fill.click(lambda: (7, 9), None, [number, slider])
        hide.click(lambda: gr.Dataframe(visible=False), None, table)
        if lazy:
            load_on_open(blocks)
    return blocks, {"text": text, "number": number, "table": table, "slider": slider, "secret": secret, "more": more}


def launched(lazy: bool) -> gr.Blocks:
    blocks, _ = build(lazy)
    blocks.launch(server_port=free_port(), prevent_thread_lock=True, quiet=True, ssr_mode=False)
    return blocks


def test_the_closed_containers_components_are_hidden_until_opened():
    blocks, parts = build(lazy=True)
    assert parts["text"].visible is True  # the first view's
    assert not any(parts[name].visible for name in ("number", "table", "slider", "secret"))
    assert [type(c).__name__ for c in closed_containers(blocks)] == ["Accordion", "Tab"]
    openings = [d for d in blocks.fns.values() if d.js and "cnn-open-" in d.js]
    assert sorted(len(d.outputs) for d in openings) == [1, 3]  # the number; the table, slider and button, not secret


@pytest.fixture(scope="module")
def apps():
    plain, lazy = launched(False), launched(True)
    yield plain.local_url, lazy.local_url
    plain.close()
    lazy.close()


def open_page(browser, url: str) -> tuple:
    page = browser.new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(url)
    expect(page.locator("#text textarea")).to_have_value("a")
    page.wait_for_timeout(1000)  # what the page asks for after its first paint
    return page, asked


def assets(asked: list[str]) -> list[str]:
    return [url for url in asked if "/assets/" in url]


def test_a_first_view_asks_for_fewer_files_and_opening_shows_everything(browser, apps):
    plain_url, lazy_url = apps
    plain, plain_asked = open_page(browser, plain_url)
    page, asked = open_page(browser, lazy_url)
    try:
        first_view = len(assets(asked))
        assert first_view < len(assets(plain_asked)) - 5, (first_view, len(assets(plain_asked)))
        page.get_by_role("button", name="Fill the second tab").click()  # events reach what is not shown yet
        page.wait_for_timeout(1000)
        page.get_by_role("tab", name="Second").click()
        expect(page.locator("#table")).to_be_visible()
        expect(page.locator("#slider input[type=number]")).to_have_value("9")
        expect(page.locator("#secret")).to_have_count(0)  # hidden by design: not shown
        assert len(assets(asked)) > first_view, "the second tab's components were downloaded when it opened"
        page.get_by_role("tab", name="First").click()  # the accordion is on the first tab
        page.get_by_text("More").click()
        expect(page.locator("#number input")).to_have_value("7")
    finally:
        plain.close()
        page.close()


def test_what_an_event_hides_after_the_opening_stays_hidden(browser, apps):
    page, _ = open_page(browser, apps[1])
    try:
        page.get_by_role("tab", name="Second").click()
        expect(page.locator("#table")).to_be_visible()
        page.get_by_role("button", name="Hide the table").click()
        expect(page.locator("#table")).to_be_hidden()
        page.get_by_role("tab", name="First").click()
        page.get_by_role("tab", name="Second").click()
        expect(page.locator("#slider")).to_be_visible()
        page.wait_for_timeout(500)
        expect(page.locator("#table")).to_be_hidden()
    finally:
        page.close()
