"""The class's storage: the open classes and their drawings, in SQLite (the standard library's sqlite3, WAL) by
default, or in PostgreSQL for replicas (``open_store("postgresql://…")``, classroom/postgresql.py).

One small module, with both engines behind the same interface: the SQL below is plain and portable (named
parameters, TEXT, INTEGER, SMALLINT and DOUBLE PRECISION columns, UPDATE ... RETURNING, no dialect's upsert),
and everything that is an engine's own (SQLite's pragmas, the name of the binary type, how a transaction takes
the write lock, how to find a table, erasing what was deleted) sits in its engine class: ``transaction(write)``
yielding ``rows``/``row``, ``lock_schema``, ``has_table``, ``binary``, ``erase_freed``, ``integrity_check`` and
``close`` (``Engine``). The tests run against both engines.

- A drawing is answered only after its transaction is committed (WAL, ``synchronous=FULL``: on disk), so a
  server killed mid-class loses no drawing it acknowledged.
- The limits (sends per minute per student, drawings per class, open classes) are checked inside the write
  transaction, with the store's own rows: they hold for every process that writes to it (replicas too).
- An ended or expired class is erased, not merely unlinked: ``secure_delete`` overwrites the pages its rows
  held, and the write-ahead log is truncated after the deletion.
- The drawings are kept as the page made them: 784 float32 values (zlib-compressed; most pixels are black),
  so that what the wall computes from a drawing is what the student's page computed.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import ContextManager, Iterator, Protocol

import numpy as np

from cnn.preprocessing import FRAME

FILE_NAME = "classes.sqlite3"
BUSY_SECONDS = 10.0  # a writer waits this long for another one's transaction before giving up

# SCHEMA[i] brings a store from version i to i + 1; a store is brought to len(SCHEMA) when opened.
# A later version adds its own list of statements here, never edits those before it.
SCHEMA: list[list[str]] = [[
    # One row: the schema's version, and a counter that every opening of a class updates first, so that
    # openings are serialized in every engine (the limit on open classes is counted inside that lock).
    "CREATE TABLE store_meta (id SMALLINT PRIMARY KEY, schema_version INTEGER NOT NULL,"
    " classes_opened BIGINT NOT NULL)",
    "INSERT INTO store_meta (id, schema_version, classes_opened) VALUES (1, 0, 0)",
    # token_digest: SHA-256 of the class's instructor token (the token itself is never stored).
    # sent: drawings sent so far (the next one's number is sent + 1); version: bumped by every change of
    # the wall, so that a page can learn that it changed without reading it.
    "CREATE TABLE classes (code TEXT PRIMARY KEY, token_digest TEXT NOT NULL,"
    " opened_at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL,"
    " sent INTEGER NOT NULL, version INTEGER NOT NULL)",
    # sender_digest: a hash of the class and the student's browser session, only to let them withdraw their
    # own drawings and to count their sends; no name, no address. pixels: NULL once withdrawn.
    "CREATE TABLE drawings (class_code TEXT NOT NULL REFERENCES classes (code), number INTEGER NOT NULL,"
    " sender_digest TEXT NOT NULL, sent_at DOUBLE PRECISION NOT NULL, meant SMALLINT NOT NULL,"
    " predicted SMALLINT NOT NULL, pixels {binary}, hidden SMALLINT NOT NULL, withdrawn SMALLINT NOT NULL,"
    " PRIMARY KEY (class_code, number))",
    "CREATE INDEX drawings_by_sender ON drawings (class_code, sender_digest, sent_at)",
    "CREATE INDEX classes_by_expiry ON classes (expires_at)",
], [
    # Version 2: what the instructor shows everyone. shown_version is bumped by every show and every stop, so
    # that a student's page learns that it changed from the version alone (the wall's version too: the wall
    # says what is shown).
    "ALTER TABLE classes ADD COLUMN shown_version INTEGER NOT NULL DEFAULT 0",
    # At most one row per class: the image as the pages' network takes it (784 float32, as a drawing), the
    # target class (-1: the predicted one), the CAM method, and where it comes from: source is "drawing",
    # "test", "upload", "synthesized" or "image" (given through the API), source_number the drawing's or the
    # test image's number or the synthesized class, source_label the digit meant or the test image's label.
    "CREATE TABLE shown_images (class_code TEXT PRIMARY KEY REFERENCES classes (code), pixels {binary} NOT NULL,"
    " target SMALLINT NOT NULL, method TEXT NOT NULL, source TEXT NOT NULL, source_number INTEGER,"
    " source_label SMALLINT, shown_at DOUBLE PRECISION NOT NULL)",
]]


class StoreRefusal(Exception):
    """A write the store's limits or contents refuse; nothing was written."""


class NoSuchClass(StoreRefusal):
    """No open class has this code (it never existed, it ended or it expired)."""


class TooManyClasses(StoreRefusal):
    """The server holds its maximum of open classes."""


class ClassFull(StoreRefusal):
    """The class holds its maximum of drawings."""


class TooManySends(StoreRefusal):
    """This student sent their maximum in the last minute; ``retry_after`` seconds until the next is allowed."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class SchemaTooNew(RuntimeError):
    """The store was written by a newer version of the app."""


@dataclass(frozen=True)
class ClassRecord:
    code: str
    token_digest: str
    opened_at: float
    expires_at: float
    sent: int
    version: int
    shown_version: int


@dataclass(frozen=True)
class StoredDrawing:
    number: int
    meant: int
    predicted: int
    sent_at: float


@dataclass(frozen=True)
class ShownImage:
    """What the instructor shows the class now, and its ``version`` (the class's shown_version)."""
    version: int
    image: np.ndarray
    target: int
    method: str
    source: str
    source_number: int | None
    source_label: int | None
    shown_at: float


def encode_image(image: np.ndarray) -> bytes:
    """The page's 28x28 image as stored: float32 little-endian, row by row, compressed."""
    pixels = np.asarray(image, dtype="<f4")
    if pixels.shape != (FRAME, FRAME):
        raise ValueError(f"a drawing is {FRAME}x{FRAME}, not {pixels.shape}")
    return zlib.compress(pixels.tobytes(), 6)


def decode_image(blob: bytes) -> np.ndarray:
    return np.frombuffer(zlib.decompress(blob), dtype="<f4").reshape(FRAME, FRAME).astype(np.float32)


def default_folder() -> Path:
    """Where a server keeps its classes unless told (--class-dir): outside the repository; on a Hugging Face
    Space with persistent storage, under /data (the rest of a Space's disk goes at each restart)."""
    if os.environ.get("SYSTEM") == "spaces" and os.access("/data", os.W_OK):
        return Path("/data/cnn-demo-classes")
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "cnn-demo" / "classes"


class Transaction:
    """The statements of one transaction: ``rows`` and ``row`` run SQL with named parameters (``:name``)."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def rows(self, sql: str, **params: object) -> list[tuple]:
        return self._cursor.execute(sql, params).fetchall()

    def row(self, sql: str, **params: object) -> tuple | None:
        rows = self.rows(sql, **params)
        return rows[0] if rows else None


class Engine(Protocol):
    """What the store needs of a database engine (SQLiteEngine here, PostgreSQLEngine in classroom/postgresql.py)."""

    binary: str  # the SQL type of a column of bytes
    # What it raises while its database cannot be reached for a while (a server restarting, a file locked too
    # long): whoever polls the store tries again later rather than giving up.
    away: tuple[type[Exception], ...]

    def transaction(self, write: bool) -> ContextManager[Transaction]: ...

    def lock_schema(self, tx: Transaction) -> None: ...  # one migration at a time, in every process

    def has_table(self, tx: Transaction, name: str) -> bool: ...

    def erase_freed(self) -> None: ...

    def integrity_check(self) -> str: ...

    def close(self) -> None: ...


class SQLiteEngine:
    """What is SQLite's own: one file (and its WAL) in ``folder``, one connection per thread."""

    binary = "BLOB"
    away = (sqlite3.OperationalError,)  # "database is locked" past BUSY_SECONDS, a disk that failed a read
    PRAGMAS = (
        "PRAGMA auto_vacuum = INCREMENTAL",  # takes effect in a new file: deleted classes give their pages back
        "PRAGMA journal_mode = WAL",  # readers (the walls) never wait for a writer (a send), nor the reverse
        "PRAGMA synchronous = FULL",  # a commit is on disk before it returns: acknowledged means kept
        "PRAGMA secure_delete = ON",  # deleted drawings are overwritten, not left in free pages
        "PRAGMA foreign_keys = ON",
    )

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = folder / FILE_NAME
        # The students' drawings are the instructor's, not every local user's: readable by the server's user only
        # (SQLite gives its -wal and -shm files the database file's permissions).
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # isolation_level=None: no implicit transactions; ours begin and end where ``transaction`` says.
            connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None,
                                         check_same_thread=False)
            for pragma in self.PRAGMAS:
                connection.execute(pragma)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextlib.contextmanager
    def transaction(self, write: bool) -> Iterator[Transaction]:
        """Commits when the block ends, rolls back if it raises. A writing transaction takes the write lock at
        its start (BEGIN IMMEDIATE), so that two writers never both read and then both try to write."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield Transaction(connection.cursor())
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @staticmethod
    def lock_schema(tx: Transaction) -> None:
        """Nothing more: a writing transaction holds the database's one write lock already (BEGIN IMMEDIATE)."""

    @staticmethod
    def has_table(tx: Transaction, name: str) -> bool:
        return tx.row("SELECT name FROM sqlite_master WHERE type = 'table' AND name = :name", name=name) is not None

    def erase_freed(self) -> None:
        """Give deleted rows' pages back to the file system and empty the write-ahead log that still held them."""
        connection = self._connection()
        connection.execute("PRAGMA incremental_vacuum").fetchall()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def integrity_check(self) -> str:
        return "; ".join(row[0] for row in self._connection().execute("PRAGMA integrity_check").fetchall())

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()


class ClassStore:
    """The classes and their drawings. Times are seconds since the epoch, given by the caller (the rules'
    clock), so that expiry and the rate limit are tested without waiting."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._migrate()

    @property
    def away(self) -> tuple[type[Exception], ...]:
        """What a read or a write raises while the database cannot be reached for a while (the engine's)."""
        return self.engine.away

    @classmethod
    def in_folder(cls, folder: Path) -> "ClassStore":
        return cls(SQLiteEngine(Path(folder)))

    @classmethod
    def at(cls, location: str | Path) -> "ClassStore":
        """The store at ``location``: a PostgreSQL URL (``postgresql://…``), else a folder for SQLite's file."""
        from classroom import postgresql  # imports this module: here, not at the top

        return cls(postgresql.PostgreSQLEngine(str(location))) if postgresql.is_url(location) \
            else cls.in_folder(Path(location))

    def _migrate(self) -> None:
        with self.engine.transaction(write=True) as tx:
            self.engine.lock_schema(tx)
            version = 0
            if self.engine.has_table(tx, "store_meta"):
                version = tx.row("SELECT schema_version FROM store_meta WHERE id = 1")[0]
            if version > len(SCHEMA):
                raise SchemaTooNew(f"the class store was written by a newer version of this app (schema {version}, "
                                   f"this one knows {len(SCHEMA)})")
            for statements in SCHEMA[version:]:
                for statement in statements:
                    tx.rows(statement.format(binary=self.engine.binary))
            tx.rows("UPDATE store_meta SET schema_version = :version WHERE id = 1", version=len(SCHEMA))

    @property
    def schema_version(self) -> int:
        with self.engine.transaction(write=False) as tx:
            return tx.row("SELECT schema_version FROM store_meta WHERE id = 1")[0]

    # -- classes ---------------------------------------------------------------------------------------------
    def open_class(self, code: str, token_digest: str, now: float, expires_at: float, max_open: int) -> bool:
        """Store a new class; False if ``code`` is taken (draw another). TooManyClasses beyond ``max_open``."""
        with self.engine.transaction(write=True) as tx:
            tx.rows("UPDATE store_meta SET classes_opened = classes_opened + 1 WHERE id = 1")  # the openings' lock
            if tx.row("SELECT COUNT(*) FROM classes WHERE expires_at > :now", now=now)[0] >= max_open:
                raise TooManyClasses()
            if tx.row("SELECT code FROM classes WHERE code = :code", code=code) is not None:
                return False
            tx.rows("INSERT INTO classes (code, token_digest, opened_at, expires_at, sent, version)"
                    " VALUES (:code, :token_digest, :now, :expires_at, 0, 0)",
                    code=code, token_digest=token_digest, now=now, expires_at=expires_at)
        return True

    def class_record(self, code: str, now: float) -> ClassRecord | None:
        """The open class ``code``; None if there is none (or it has expired, even if not yet erased)."""
        with self.engine.transaction(write=False) as tx:
            row = tx.row("SELECT code, token_digest, opened_at, expires_at, sent, version, shown_version FROM classes"
                         " WHERE code = :code AND expires_at > :now", code=code, now=now)
        return None if row is None else ClassRecord(*row)

    def end_class(self, code: str) -> bool:
        """Erase the class and its drawings; False if there was no such class."""
        with self.engine.transaction(write=True) as tx:
            tx.rows("DELETE FROM shown_images WHERE class_code = :code", code=code)
            tx.rows("DELETE FROM drawings WHERE class_code = :code", code=code)
            ended = tx.rows("DELETE FROM classes WHERE code = :code RETURNING code", code=code)
        self.engine.erase_freed()
        return bool(ended)

    def erase_expired(self, now: float) -> list[str]:
        """Erase every class whose retention has passed, with its drawings; their codes."""
        with self.engine.transaction(write=True) as tx:
            codes = [row[0] for row in tx.rows("SELECT code FROM classes WHERE expires_at <= :now", now=now)]
            for code in codes:
                tx.rows("DELETE FROM shown_images WHERE class_code = :code", code=code)
                tx.rows("DELETE FROM drawings WHERE class_code = :code", code=code)
                tx.rows("DELETE FROM classes WHERE code = :code", code=code)
        if codes:
            self.engine.erase_freed()
        return codes

    # -- drawings --------------------------------------------------------------------------------------------
    def add_drawing(self, code: str, image: np.ndarray, meant: int, predicted: int, sender_digest: str, now: float,
                    max_per_class: int, max_per_minute: int) -> int:
        """Store a student's drawing and return its number on the wall, once committed. NoSuchClass, ClassFull
        or TooManySends (their sends in the minute before ``now``) refuse it, and then nothing is written."""
        pixels = encode_image(image)
        with self.engine.transaction(write=True) as tx:
            number = self._count(tx, code, now, "sent")
            if number > max_per_class:
                raise ClassFull()
            recent, first = tx.row("SELECT COUNT(*), MIN(sent_at) FROM drawings WHERE class_code = :code"
                                   " AND sender_digest = :sender AND sent_at > :since",
                                   code=code, sender=sender_digest, since=now - 60.0)
            if recent >= max_per_minute:
                raise TooManySends(retry_after=first + 60.0 - now)
            tx.rows("INSERT INTO drawings (class_code, number, sender_digest, sent_at, meant, predicted, pixels,"
                    " hidden, withdrawn) VALUES (:code, :number, :sender, :now, :meant, :predicted, :pixels, 0, 0)",
                    code=code, number=number, sender=sender_digest, now=now, meant=meant, predicted=predicted,
                    pixels=pixels)
        return number

    @staticmethod
    def _count(tx: Transaction, code: str, now: float, counter: str) -> int:
        """Add one to the open class ``code``'s ``counter`` ("sent" or "shown_version") and to its version, in
        ``tx``; the new count. NoSuchClass if no open class has that code. Updating the class's row first also
        makes concurrent writers to the class wait for each other (its row lock) in every engine."""
        counted = tx.row(f"UPDATE classes SET {counter} = {counter} + 1, version = version + 1"
                         f" WHERE code = :code AND expires_at > :now RETURNING {counter}", code=code, now=now)
        if counted is None:
            raise NoSuchClass()
        return counted[0]

    @staticmethod
    def _require_open(tx: Transaction, code: str, now: float) -> None:
        """NoSuchClass unless ``code`` is an open class."""
        if tx.row("SELECT code FROM classes WHERE code = :code AND expires_at > :now", code=code, now=now) is None:
            raise NoSuchClass()

    def _change(self, code: str, now: float, sql: str, **params: object) -> bool:
        """Run an UPDATE of one drawing of the open class ``code`` (``sql`` ends with RETURNING); if it changed
        one, bump the class's version."""
        with self.engine.transaction(write=True) as tx:
            self._require_open(tx, code, now)
            changed = tx.rows(sql, code=code, **params)
            if changed:
                tx.rows("UPDATE classes SET version = version + 1 WHERE code = :code", code=code)
        return bool(changed)

    def withdraw(self, code: str, number: int, sender_digest: str, now: float) -> bool:
        """Erase the pixels of drawing ``number`` if ``sender_digest`` sent it; False if not theirs or gone."""
        return self._change(code, now, "UPDATE drawings SET pixels = NULL, withdrawn = 1 WHERE class_code = :code"
                            " AND number = :number AND sender_digest = :sender AND withdrawn = 0 RETURNING number",
                            number=number, sender=sender_digest)

    def hide(self, code: str, number: int, now: float) -> bool:
        """Take drawing ``number`` off the wall (and out of the class's data); False if it is not on it."""
        return self._change(code, now, "UPDATE drawings SET hidden = 1 WHERE class_code = :code AND number = :number"
                            " AND hidden = 0 AND withdrawn = 0 RETURNING number", number=number)

    def wall(self, code: str) -> list[StoredDrawing]:
        """The drawings on the wall of class ``code`` (neither hidden nor withdrawn), by number."""
        with self.engine.transaction(write=False) as tx:
            rows = tx.rows("SELECT number, meant, predicted, sent_at FROM drawings WHERE class_code = :code"
                           " AND hidden = 0 AND withdrawn = 0 ORDER BY number", code=code)
        return [StoredDrawing(*row) for row in rows]

    def images(self, code: str, after: int = 0) -> dict[int, np.ndarray]:
        """The pixels of the wall's drawings numbered above ``after``, by number."""
        with self.engine.transaction(write=False) as tx:
            rows = tx.rows("SELECT number, pixels FROM drawings WHERE class_code = :code AND number > :after"
                           " AND hidden = 0 AND withdrawn = 0 ORDER BY number", code=code, after=after)
        return {number: decode_image(blob) for number, blob in rows}

    def drawing(self, code: str, number: int) -> tuple[StoredDrawing, np.ndarray] | None:
        """Drawing ``number`` of the wall of class ``code`` and its pixels; None if it is not on the wall."""
        with self.engine.transaction(write=False) as tx:
            row = tx.row("SELECT number, meant, predicted, sent_at, pixels FROM drawings WHERE class_code = :code"
                         " AND number = :number AND hidden = 0 AND withdrawn = 0", code=code, number=number)
        return None if row is None else (StoredDrawing(*row[:4]), decode_image(row[4]))

    def data_set(self, code: str) -> list[tuple[StoredDrawing, np.ndarray]]:
        """Every drawing on the wall of class ``code`` with its pixels, by number: the class's data set."""
        with self.engine.transaction(write=False) as tx:
            rows = tx.rows("SELECT number, meant, predicted, sent_at, pixels FROM drawings WHERE class_code = :code"
                           " AND hidden = 0 AND withdrawn = 0 ORDER BY number", code=code)
        return [(StoredDrawing(*row[:4]), decode_image(row[4])) for row in rows]

    def senders_drawings(self, code: str, sender_digest: str) -> list[StoredDrawing]:
        """What one student has on the wall of class ``code`` (to show them their numbers)."""
        with self.engine.transaction(write=False) as tx:
            rows = tx.rows("SELECT number, meant, predicted, sent_at FROM drawings WHERE class_code = :code"
                           " AND sender_digest = :sender AND hidden = 0 AND withdrawn = 0 ORDER BY number",
                           code=code, sender=sender_digest)
        return [StoredDrawing(*row) for row in rows]

    # -- what the instructor shows everyone ----------------------------------------------------------------
    def show(self, code: str, image: np.ndarray, target: int, method: str, source: str, source_number: int | None,
             source_label: int | None, now: float) -> int:
        """Show ``image`` to the open class ``code`` in place of what it showed; the new shown version."""
        pixels = encode_image(image)
        with self.engine.transaction(write=True) as tx:
            version = self._count(tx, code, now, "shown_version")
            tx.rows("DELETE FROM shown_images WHERE class_code = :code", code=code)
            tx.rows("INSERT INTO shown_images (class_code, pixels, target, method, source, source_number, source_label,"
                    " shown_at) VALUES (:code, :pixels, :target, :method, :source, :number, :label, :now)",
                    code=code, pixels=pixels, target=target, method=method, source=source, number=source_number,
                    label=source_label, now=now)
        return version

    def stop_showing(self, code: str, now: float) -> bool:
        """Show the open class ``code`` nothing; False if it showed nothing."""
        with self.engine.transaction(write=True) as tx:
            self._require_open(tx, code, now)
            stopped = tx.rows("DELETE FROM shown_images WHERE class_code = :code RETURNING class_code", code=code)
            if stopped:
                self._count(tx, code, now, "shown_version")
        return bool(stopped)

    def shown(self, code: str) -> ShownImage | None:
        """What class ``code`` shows now; None if nothing."""
        with self.engine.transaction(write=False) as tx:
            row = tx.row("SELECT classes.shown_version, pixels, target, method, source, source_number, source_label,"
                         " shown_at FROM shown_images JOIN classes ON classes.code = shown_images.class_code"
                         " WHERE shown_images.class_code = :code", code=code)
        return None if row is None else ShownImage(row[0], decode_image(row[1]), *row[2:])

    def integrity_check(self) -> str:
        return self.engine.integrity_check()

    def close(self) -> None:
        self.engine.close()
