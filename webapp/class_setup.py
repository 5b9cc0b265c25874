"""The classes of this server, decided once at start-up by whoever starts it, never by a request: where their
store lives (``--class-dir``, or ``--class-db``: a PostgreSQL database that replicas share), who holds the
instructor key (``--instructor-key`` or the environment, else a new one printed with the instructor link; none on
a Space whose owner set none: classes off), and how long a class is kept (``--class-retention-hours``). Expired
classes are erased at start and then every minute, with the models fine-tuned on their drawings.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import psycopg
from psycopg_pool import PoolTimeout

from classroom.classes import Classroom, Limits
from classroom.keys import InstructorKey
from classroom.postgresql import is_url, where, without_password
from classroom.store import ClassStore, SchemaTooNew, default_folder
from webapp.class_learning import forget_class_model
from webapp.class_wall import digit_reader
from webapp.served import LIVE_METHODS, ServedExplainers

ERASE_EVERY_SECONDS = 60.0


def open_classroom(served_explainers: ServedExplainers, class_dir: str | None, instructor_key: str | None,
                   retention_hours: float, class_db: str | None = None) -> Classroom:
    """The server's classes, in ``class_db`` (a PostgreSQL URL) if given, else in SQLite in ``class_dir``;
    WeakKeyError if the given key is too short to resist guessing, ValueError if the store cannot be opened (a
    folder that cannot be written, a file that is no class store, a database server that refuses)."""
    if retention_hours <= 0:
        raise ValueError("--class-retention-hours must be positive")
    key = InstructorKey.decide(instructor_key, on_space=os.environ.get("SYSTEM") == "spaces")
    if class_db and not is_url(class_db):
        raise ValueError("--class-db takes a PostgreSQL database's URL: postgresql://user@host:port/database")
    location = class_db or Path(class_dir or default_folder())
    try:
        store = ClassStore.at(location)
    except (OSError, sqlite3.Error, psycopg.Error, PoolTimeout, SchemaTooNew) as err:
        if not class_db:
            raise ValueError(f"The classes cannot be kept in {location}: {err}") from None
        raise ValueError(f"The classes cannot be kept in {where(class_db)}: {without_password(str(err), class_db)}") \
            from None
    classroom = Classroom(store, digit_reader(served_explainers), key, Limits(retention_hours=retention_hours),
                          methods=tuple(LIVE_METHODS),
                          on_erased=lambda code: forget_class_model(served_explainers.manager, code))
    classroom.erase_expired()
    threading.Thread(target=_keep_erasing, args=(classroom,), name="class-retention", daemon=True).start()
    return classroom


def _keep_erasing(classroom: Classroom) -> None:
    while True:
        time.sleep(ERASE_EVERY_SECONDS)
        try:
            classroom.erase_expired()
        except (sqlite3.Error, psycopg.Error) as err:  # a database away for a while: erased at a later turn
            print(f"⚠️  Expired classes could not be erased this time ({type(err).__name__}); trying again in "
                  f"{ERASE_EVERY_SECONDS:.0f} s.", flush=True)


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
