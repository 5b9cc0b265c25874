"""The classes of this server, decided once at start-up by whoever starts it, never by a request: where their
store lives (``--class-dir``), who holds the instructor key (``--instructor-key`` or the environment, else a
new one printed with the instructor link; none on a Space whose owner set none: classes off), and how long a
class is kept (``--class-retention-hours``). Expired classes are erased at start and then every minute, with the
models fine-tuned on their drawings.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from classroom.classes import Classroom, Limits
from classroom.keys import InstructorKey
from classroom.store import ClassStore, SchemaTooNew, default_folder
from webapp.class_learning import forget_class_model
from webapp.class_wall import digit_reader
from webapp.served import LIVE_METHODS, ServedExplainers

ERASE_EVERY_SECONDS = 60.0


def open_classroom(served_explainers: ServedExplainers, class_dir: str | None, instructor_key: str | None,
                   retention_hours: float) -> Classroom:
    """The server's classes; WeakKeyError if the given key is too short to resist guessing, ValueError if the
    store cannot be opened (a folder that cannot be written, a file that is no class store)."""
    if retention_hours <= 0:
        raise ValueError("--class-retention-hours must be positive")
    key = InstructorKey.decide(instructor_key, on_space=os.environ.get("SYSTEM") == "spaces")
    folder = Path(class_dir) if class_dir else default_folder()
    try:
        store = ClassStore.in_folder(folder)
    except (OSError, sqlite3.Error, SchemaTooNew) as err:
        raise ValueError(f"The classes cannot be kept in {folder}: {err}") from None
    classroom = Classroom(store, digit_reader(served_explainers), key, Limits(retention_hours=retention_hours),
                          methods=tuple(LIVE_METHODS),
                          on_erased=lambda code: forget_class_model(served_explainers.manager, code))
    classroom.erase_expired()
    threading.Thread(target=_keep_erasing, args=(classroom,), name="class-retention", daemon=True).start()
    return classroom


def _keep_erasing(classroom: Classroom) -> None:
    while True:
        time.sleep(ERASE_EVERY_SECONDS)
        classroom.erase_expired()


def instructor_link_line(classroom: Classroom, *urls: str | None) -> str | None:
    """For a key this server made: the instructor page's link, with the key in its fragment (the part of a URL
    that the browser never sends), said once at start as Jupyter says its token. The key is then forgotten
    here; its digest checks it."""
    key = classroom.key
    if key is None or key.generated is None:
        return None
    links = [f"{url.rstrip('/')}/instructor#key={key.generated}" for url in urls if url]
    key.generated = None
    return "Instructor page (keep the link to yourself: it holds the instructor key): " + "  ".join(links)
