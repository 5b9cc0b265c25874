"""The page's JavaScript modules joined into one file when the server starts: one request instead of one a module.

webapp/static/ keeps one ES module per concept, each as readable as the Python it mirrors; loaded as they
are, a first visit asks for each one in turn, in waves (a module's imports are found only once it has come),
and a lecture hall asks the server for all of them at once. Joined here, without a build step and without
changing a file on disk: each module becomes a function that returns its exports, run once, after the
modules it imports; an ``import { a, b as c } from "./m.js"`` becomes ``const { a, b: c } = <m's exports>``.
A page's entry modules (those Gradio imports for it) are joined into one bundle, their exports the bundle's:
a module that two of them import (the class panel imports the page's own module) is one instance, as when
the browser loads the files. Served beside the files (webapp/browser_routes.py), the bundle resolves relative
URLs (``import.meta.url``, ``import()``) as they would.

Only what these files use is understood: named imports from a relative ``.js`` file, and ``export`` before a
declaration. Anything else (a default export, ``export { ... }``, ``import * as``, an import cycle, two entries
exporting one name) raises BundleError at start-up, naming the file and the line, rather than serving a page
that would behave otherwise.
"""
from __future__ import annotations

import re
from pathlib import Path

IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.-]+\.js)";[ \t]*$', re.MULTILINE)
EXPORT = re.compile(r"^export\s+(?=(?:async\s+)?function\b|class\b|const\b)", re.MULTILINE)
EXPORTED_NAME = re.compile(r"^export\s+(?:async\s+function\*?|function\*?|class|const)\s+([A-Za-z_$][\w$]*)",
                           re.MULTILINE)
OTHER_IMPORT_OR_EXPORT = re.compile(r"^(?:import\b(?!\s*\()|export\b).*$", re.MULTILINE)


class BundleError(ValueError):
    """A module uses a form of import or export that the bundle does not join."""


def bundle(folder: Path, *entries: str) -> str:
    """The modules ``entries`` of ``folder`` with every module they import (transitively), as one ES module."""
    order: list[str] = []
    for entry in entries:
        _visit(folder, entry, order, ())
    parts = [f"// {', '.join(entries)} and the modules they import, joined at start-up by webapp/module_bundle.py: "
             f"{', '.join(order)}."]
    for name in order:
        body, exports = _module(folder, name)
        parts.append(f"// ---- {name}\nconst {_variable(name)} = (() => {{\n{EXPORT.sub('', body)}\n"
                     f"return {{ {', '.join(exports)} }};\n}})();")
    exported: dict[str, str] = {}
    for entry in entries:
        names = _module(folder, entry)[1]
        for name in names:
            if exported.setdefault(name, entry) != entry:
                raise BundleError(f"{entry}: exports {name!r}, as {exported[name]} does")
        parts.append(f"export const {{ {', '.join(names)} }} = {_variable(entry)};")
    return "\n\n".join(parts) + "\n"


def _visit(folder: Path, name: str, order: list[str], path: tuple[str, ...]) -> None:
    """Append ``name`` to ``order`` after the modules it imports (depth first)."""
    if name in path:
        raise BundleError(f"{name}: import cycle {' -> '.join((*path, name))}")
    if name in order:
        return
    for _, imported in IMPORT.findall(_source(folder, name)):
        _visit(folder, imported, order, (*path, name))
    order.append(name)


def _module(folder: Path, name: str) -> tuple[str, list[str]]:
    """The module's text with its imports made constants, and the names it exports."""
    source = _source(folder, name)
    body = IMPORT.sub(lambda match: f"const {{ {_bindings(match.group(1))} }} = {_variable(match.group(2))};",
                      source)
    return body, EXPORTED_NAME.findall(source)


def _source(folder: Path, name: str) -> str:
    source = (folder / name).read_text(encoding="utf-8")
    understood = {match.start() for pattern in (IMPORT, EXPORTED_NAME) for match in pattern.finditer(source)}
    for statement in OTHER_IMPORT_OR_EXPORT.finditer(source):
        if statement.start() not in understood:
            line = source.count("\n", 0, statement.start()) + 1
            raise BundleError(f"{name}, line {line}: {statement.group(0)[:80]!r} is not a form the bundle joins "
                              f"(named imports from './file.js', 'export' before a function, class or const)")
    return source


def _bindings(names: str) -> str:
    """``a, b as c`` -> ``a, b: c`` (destructuring)."""
    return ", ".join(re.sub(r"\s+as\s+", ": ", name.strip()) for name in names.split(",") if name.strip())


def _variable(name: str) -> str:
    """The constant that holds a module's exports: ``network.js`` -> ``$module_network``."""
    return "$module_" + re.sub(r"\W", "_", name.removesuffix(".js"))
