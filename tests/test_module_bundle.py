"""webapp/module_bundle.py: a page's modules joined into one at start-up, behaving as the modules do.

Small modules written here are joined and imported in Chromium (from a blob: URL, as a module): exports,
renamed imports, the order in which modules run, each module run once (also when two entries import it),
``import.meta.url``. Forms the bundle does not join are refused at start-up with the file and line. Each
page's bundle holds every module its entries import, each module's text as it is on disk less its import
lines and ``export``s.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from webapp.browser_routes import PAGE_MODULES, STATIC_DIR
from webapp.module_bundle import BundleError, bundle

MODULES = {
    "entry.js": 'import { twice, LOG } from "./maths.js";\nimport { greet as hello } from "./words.js";\n'
                'LOG.push("entry");\nexport const answer = twice(21);\nexport function greeting() { return hello("class"); }\n'
                'export const log = LOG;\nexport const here = import.meta.url;\n',
    "words.js": 'import { LOG } from "./maths.js";\nLOG.push("words");\n'
                'export function greet(who) { return `hello, ${who}`; }\n',
    "maths.js": 'export const LOG = ["maths"];\nexport function twice(x) { return 2 * x; }\n'
                'export class Unused {}\nexport async function later() { return 1; }\n',
}


def write(folder: Path, modules: dict[str, str]) -> Path:
    for name, text in modules.items():
        (folder / name).write_text(text)
    return folder


def imported(browser, code: str) -> dict:
    """The bundle's exports (their JSON-able values, functions called), imported as a module in Chromium."""
    page = browser.new_page()
    try:
        return page.evaluate("""async (code) => {
            const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
            const module = await import(url);
            return { answer: module.answer, greeting: module.greeting(), log: module.log,
                     here: module.here === url, names: Object.keys(module).sort() };
        }""", code)
    finally:
        page.close()


def test_joined_modules_behave_as_the_modules(tmp_path, browser):
    joined = bundle(write(tmp_path, MODULES), "entry.js")
    result = imported(browser, joined)
    assert result == {"answer": 42, "greeting": "hello, class", "log": ["maths", "words", "entry"], "here": True,
                      "names": ["answer", "greeting", "here", "log"]}
    assert joined.count("maths.js") == 2  # in the list of modules and its header: once in the bundle


def test_two_entries_share_the_modules_they_both_import(tmp_path, browser):
    """The second entry imports the first (as the class panel imports the page's module): one instance of it."""
    second = 'import { log, answer } from "./entry.js";\nexport function seen() { return [log.length, answer]; }\n'
    joined = bundle(write(tmp_path, {**MODULES, "second.js": second}), "entry.js", "second.js")
    page = browser.new_page()
    try:
        result = page.evaluate("""async (code) => {
            const module = await import(URL.createObjectURL(new Blob([code], { type: "text/javascript" })));
            module.log.push("more");
            return { seen: module.seen(), log: module.log, names: Object.keys(module).sort() };
        }""", joined)
    finally:
        page.close()
    assert result == {"seen": [4, 42], "log": ["maths", "words", "entry", "more"],
                      "names": ["answer", "greeting", "here", "log", "seen"]}


def test_two_entries_exporting_one_name_are_refused(tmp_path):
    write(tmp_path, {**MODULES, "second.js": "export const answer = 1;\n"})
    with pytest.raises(BundleError, match="answer"):
        bundle(tmp_path, "entry.js", "second.js")


@pytest.mark.parametrize("line", [
    'export default function f() {}', 'export { twice };', 'import * as maths from "./maths.js";',
    'import twice from "./maths.js";', 'import "./maths.js";', 'export let counter = 0;',
    'import { twice } from "https://cdn.example.com/maths.js";'])
def test_a_form_the_bundle_does_not_join_is_refused_with_its_file_and_line(tmp_path, line):
    write(tmp_path, {**MODULES, "words.js": MODULES["words.js"] + line + "\n"})
    with pytest.raises(BundleError, match=r"words\.js, line 4"):
        bundle(tmp_path, "entry.js")


def test_an_import_cycle_is_refused(tmp_path):
    write(tmp_path, {**MODULES, "maths.js": 'import { greet } from "./words.js";\n' + MODULES["maths.js"]})
    with pytest.raises(BundleError, match="cycle"):
        bundle(tmp_path, "entry.js")


def reached_from(entry: str) -> set[str]:
    """The modules of webapp/static/ that ``entry`` imports, directly or not, and itself."""
    names, todo = set(), [entry]
    while todo:
        name = todo.pop()
        if name not in names:
            names.add(name)
            todo += re.findall(r'^import .* from "\./([\w.-]+\.js)";', (STATIC_DIR / name).read_text(), re.M)
    return names


@pytest.mark.parametrize("page", PAGE_MODULES)
def test_each_pages_bundle_holds_every_module_it_imports_as_on_disk(page):
    entries = PAGE_MODULES[page]
    joined = bundle(STATIC_DIR, *entries)
    modules = set().union(*(reached_from(entry) for entry in entries))
    for name in modules:
        for line in (STATIC_DIR / name).read_text().splitlines():
            if not line.startswith("import "):
                assert line.removeprefix("export ") in joined, f"{name}: {line!r}"
    exported = {name for entry in entries for name in
                re.findall(r"^export (?:async )?(?:function\*?|class|const) (\w+)", (STATIC_DIR / entry).read_text(), re.M)}
    bundle_exports = re.findall(r"^export const \{ (.*) \} = ", joined, re.M)
    assert {name for names in bundle_exports for name in names.split(", ")} == exported  # the others' are returned
