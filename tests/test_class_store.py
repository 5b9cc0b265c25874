"""The class store (classroom/store.py): what goes in comes out bit for bit, limits hold inside the store,
ended and expired classes are erased from the files, and a writer killed with SIGKILL loses nothing it
acknowledged. Every test runs against each engine in ENGINES: SQLite in a folder, and PostgreSQL in a cluster
of the tests' own (harness/postgres.py: Debian's server, run by an unprivileged user on loopback)."""
from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import psycopg
import pytest

from classroom.store import (FILE_NAME, SCHEMA, ClassFull, ClassStore, NoSuchClass, SchemaTooNew, TooManyClasses,
                             TooManySends, encode_image)
from harness.postgres import Cluster, postgres_cluster

ENGINES = ["sqlite", "postgresql"]
NOW = 1_700_000_000.0
DAY = 86_400.0
ROOT = Path(__file__).resolve().parent.parent
OPEN = dict(max_per_class=5_000, max_per_minute=10)
databases = itertools.count(1)


@dataclass
class Backend:
    """One engine's store for one test: where it is, and what the test reads past the store."""
    engine: str
    location: str  # a folder (SQLite) or a URL (PostgreSQL): ClassStore.at's argument
    stored_bytes: Callable[[], bytes]  # every byte of the store's files, as on disk now
    raw: Callable[[str], list[tuple]]  # SQL run on the database directly, committed


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with postgres_cluster() as running:
        yield running


def sqlite_backend(folder: Path) -> Backend:
    def raw(statement: str) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(folder / FILE_NAME)) as database, database:
            return database.execute(statement).fetchall()

    return Backend("sqlite", str(folder), lambda: file_bytes(folder), raw)


def postgresql_backend(cluster: Cluster) -> Backend:
    name = f"store{next(databases)}"
    url = cluster.database(name, extensions=("amcheck",))  # PostgreSQL's own integrity checker

    def raw(statement: str) -> list[tuple]:
        with psycopg.connect(url, autocommit=True) as database:
            cursor = database.execute(statement)
            return cursor.fetchall() if cursor.description else []

    return Backend("postgresql", url, lambda: b"".join(path.read_bytes() for path in cluster.files_of(name)), raw)


@pytest.fixture(params=ENGINES)
def backend(request, tmp_path) -> Backend:
    if request.param == "sqlite":
        return sqlite_backend(tmp_path / "classes")
    return postgresql_backend(request.getfixturevalue("cluster"))


@pytest.fixture
def reopen(backend) -> Callable[[], ClassStore]:
    """Opens the test's store, again each call (as a restarted server would); closes them all at the end."""
    opened: list[ClassStore] = []

    def open_store() -> ClassStore:
        opened.append(ClassStore.at(backend.location))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


def drawing(seed: int) -> np.ndarray:
    """A 28x28 float32 image whose values use all their bits (a round trip through float64 or text would show)."""
    image = np.random.default_rng(seed).random((28, 28), dtype=np.float32)
    image[:, :8] = 0  # black margins, like the page's images
    return image


def opened(store: ClassStore, code: str = "ABCDEF", expires_at: float = NOW + DAY) -> str:
    assert store.open_class(code, "digest-" + code, NOW, expires_at, max_open=50)
    return code


def file_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.glob(FILE_NAME + "*"))


def test_a_drawing_comes_back_bit_for_bit_with_its_number(reopen):
    store = reopen()
    code = opened(store)
    numbers = [store.add_drawing(code, drawing(i), meant=i, predicted=(i + 1) % 10, sender_digest=f"s{i}",
                                 now=NOW + i, **OPEN) for i in range(3)]
    assert numbers == [1, 2, 3]
    assert [(d.number, d.meant, d.predicted) for d in store.wall(code)] == [(1, 0, 1), (2, 1, 2), (3, 2, 3)]
    images = reopen().images(code)  # another connection, as another process would read it
    assert list(images) == [1, 2, 3]
    for i, number in enumerate(numbers):
        assert images[number].dtype == np.float32
        assert images[number].tobytes() == drawing(i).tobytes()
    assert list(store.images(code, after=2)) == [3]
    stored, pixels = store.drawing(code, 2)
    assert (stored.number, stored.meant, stored.predicted) == (2, 1, 2) and pixels.tobytes() == drawing(1).tobytes()
    assert store.drawing(code, 4) is None and store.drawing("NOSUCH", 1) is None


def test_hidden_and_withdrawn_drawings_leave_the_wall_and_bump_its_version(reopen, backend):
    store = reopen()
    code = opened(store)
    for i in range(3):
        store.add_drawing(code, drawing(i), meant=i, predicted=i, sender_digest=f"s{i}", now=NOW, **OPEN)
    version = store.class_record(code, NOW).version
    assert store.hide(code, 1, NOW) and not store.hide(code, 1, NOW)
    assert not store.withdraw(code, 2, "s0", NOW), "only its sender withdraws a drawing"
    assert store.withdraw(code, 2, "s1", NOW) and not store.withdraw(code, 2, "s1", NOW)
    assert [d.number for d in store.wall(code)] == [3] and list(store.images(code)) == [3]
    assert store.drawing(code, 1) is None and store.drawing(code, 2) is None
    assert [d.number for d in store.senders_drawings(code, "s2")] == [3]
    assert store.class_record(code, NOW).version == version + 2
    assert backend.raw("SELECT pixels FROM drawings WHERE number = 2") == [(None,)]
    with pytest.raises(NoSuchClass):
        store.hide("NOSUCH", 1, NOW)


def test_the_rate_limit_counts_each_senders_last_minute_and_refusals_store_nothing(reopen):
    store = reopen()
    code = opened(store)
    for second in range(10):
        store.add_drawing(code, drawing(second), 3, 3, "student", NOW + second, **OPEN)
    with pytest.raises(TooManySends) as refused:
        store.add_drawing(code, drawing(10), 3, 3, "student", NOW + 30, **OPEN)
    assert refused.value.retry_after == pytest.approx(30.0)
    assert store.add_drawing(code, drawing(10), 3, 3, "another student", NOW + 30, **OPEN) == 11
    assert store.add_drawing(code, drawing(11), 3, 3, "student", NOW + 60.5, **OPEN) == 12
    assert len(store.wall(code)) == 12 and store.class_record(code, NOW).sent == 12


def test_a_full_class_and_a_full_server_refuse_and_store_nothing(reopen):
    store = reopen()
    code = opened(store)
    for i in range(3):
        store.add_drawing(code, drawing(i), 1, 1, f"s{i}", NOW, max_per_class=3, max_per_minute=10)
    with pytest.raises(ClassFull):
        store.add_drawing(code, drawing(3), 1, 1, "s3", NOW, max_per_class=3, max_per_minute=10)
    assert len(store.wall(code)) == 3 and store.class_record(code, NOW).sent == 3
    with pytest.raises(NoSuchClass):
        store.add_drawing("NOSUCH", drawing(0), 1, 1, "s", NOW, **OPEN)

    assert store.open_class("SECOND", "d", NOW, NOW + 10, max_open=2)
    with pytest.raises(TooManyClasses):
        store.open_class("THIRDA", "d", NOW, NOW + DAY, max_open=2)
    assert not store.open_class("SECOND", "d", NOW + 20, NOW + DAY, max_open=5), "a code in use is not reused"
    assert store.open_class("THIRDA", "d", NOW + 20, NOW + DAY, max_open=2), "an expired class does not count"


def test_concurrent_writers_get_distinct_consecutive_numbers(reopen):
    code = opened(reopen())
    numbers: list[int] = []

    def student(index: int) -> None:
        store = reopen()
        for k in range(10):
            numbers.append(store.add_drawing(code, drawing(k), k, k, f"s{index}", NOW, **OPEN))

    threads = [threading.Thread(target=student, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 61))


def test_ended_and_expired_classes_are_erased_from_the_files(reopen, backend):
    store = reopen()
    ending, expiring, staying = opened(store, "ENDING"), opened(store, "EXPIRE", NOW + 60), opened(store, "STAYED")
    blobs = {}
    for i in range(6):  # small drawings, interleaved: the classes' rows share pages, which must be wiped
        for k, code in enumerate((ending, expiring, staying)):
            image = np.zeros((28, 28), np.float32)
            image[10:12, 3 * i:3 * i + 3] = drawing(10 * i + k)[:2, 10:13] + 0.01
            blobs[code] = encode_image(image)
            store.add_drawing(code, image, 7, 7, "s", NOW, **OPEN)
    assert all(blob in backend.stored_bytes() for blob in blobs.values()), "the test looks for the stored bytes"

    assert store.end_class(ending) and not store.end_class(ending)
    store.close()
    restarted = reopen()  # the server restarts after the retention period
    assert restarted.class_record(expiring, NOW + 61) is None, "an expired class is closed before it is erased"
    assert restarted.erase_expired(NOW + 61) == [expiring]
    assert restarted.class_record(ending, NOW) is None and restarted.wall(expiring) == []
    stored = backend.stored_bytes()
    assert blobs[ending] not in stored and blobs[expiring] not in stored
    assert blobs[staying] in stored and len(restarted.wall(staying)) == 6
    assert restarted.integrity_check() == "ok"


def test_the_store_is_versioned_and_refuses_a_newer_schema(reopen, backend):
    store = reopen()
    assert store.schema_version == len(SCHEMA)
    code = opened(store)
    store.add_drawing(code, drawing(0), 1, 2, "s", NOW, **OPEN)
    store.close()
    assert len(reopen().wall(code)) == 1, "reopening migrates nothing and loses nothing"
    backend.raw("UPDATE store_meta SET schema_version = 99")
    with pytest.raises(SchemaTooNew):
        reopen()


def test_stores_opened_at_once_migrate_one_after_the_other(backend):
    """Replicas starting together: each opens the same new store; the schema is made once, and all work."""
    stores: list[ClassStore] = []
    threads = [threading.Thread(target=lambda: stores.append(ClassStore.at(backend.location))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(stores) == 4 and all(store.schema_version == len(SCHEMA) for store in stores)
        assert opened(stores[0]) and stores[3].add_drawing("ABCDEF", drawing(0), 1, 1, "s", NOW, **OPEN) == 1
    finally:
        for store in stores:
            store.close()


def test_the_sqlite_store_is_private(tmp_path):
    folder = tmp_path / "classes"
    store = ClassStore.in_folder(folder)
    assert (folder / FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    store.add_drawing(opened(store), drawing(0), 1, 2, "s", NOW, **OPEN)
    assert (folder / (FILE_NAME + "-wal")).stat().st_mode & 0o777 == 0o600
    store.close()
    with contextlib.closing(sqlite3.connect(folder / FILE_NAME)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_postgresql_store_is_private(cluster):
    """Another role of the same server (another app, another course's database) cannot read the drawings."""
    backend = postgresql_backend(cluster)
    store = ClassStore.at(backend.location)
    store.add_drawing(opened(store), drawing(0), 1, 2, "s", NOW, **OPEN)
    store.close()
    owner = psycopg.conninfo.conninfo_to_dict(backend.location)
    other_url = cluster.database(f"other{next(databases)}")
    other = psycopg.conninfo.conninfo_to_dict(other_url)
    with psycopg.connect(psycopg.conninfo.make_conninfo(other_url, dbname=owner["dbname"]), autocommit=True) as peer:
        for table in ("drawings", "classes", "store_meta"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                peer.execute(f"SELECT * FROM {table}")
    assert other["user"] != owner["user"]


WRITER = """
import sys
import numpy as np
from classroom.store import ClassStore

store = ClassStore.at(sys.argv[1])
rng = np.random.default_rng(int(sys.argv[2]))
while True:
    number = store.add_drawing("KILLED", rng.random((28, 28), dtype=np.float32), 1, 1, "s" + sys.argv[2],
                               1_700_000_000.0, max_per_class=10**9, max_per_minute=10**9)
    print(number, flush=True)  # acknowledged: committed before this line is written
"""


def test_no_acknowledged_drawing_is_lost_when_writers_are_killed(reopen, backend):
    store = reopen()
    opened(store, "KILLED", expires_at=NOW + 10 * DAY)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, backend.location, str(seed)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
               for seed in range(4)]
    acknowledged: list[int] = []
    readers = [threading.Thread(target=lambda w=w: acknowledged.extend(int(line) for line in w.stdout))
               for w in writers]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    for writer in writers:
        writer.send_signal(signal.SIGKILL)
    for writer, reader in zip(writers, readers):
        writer.wait()
        reader.join()
    assert len(acknowledged) >= 300, "the writers were too slow to be killed mid-class"
    store.close()
    restarted = reopen()
    on_wall = {d.number for d in restarted.wall("KILLED")}
    assert set(acknowledged) <= on_wall
    assert on_wall == set(range(1, len(on_wall) + 1)), "numbers are consecutive: no half-written drawing"
    assert restarted.integrity_check() == "ok"


def test_a_store_of_the_first_version_is_brought_to_the_last_and_keeps_its_classes(reopen, monkeypatch):
    import classroom.store

    monkeypatch.setattr(classroom.store, "SCHEMA", SCHEMA[:1])  # the store as issue 20's server wrote it
    old = reopen()
    code = opened(old)
    old.add_drawing(code, drawing(0), 4, 4, "s", NOW, **OPEN)
    assert old.schema_version == 1
    old.close()
    monkeypatch.setattr(classroom.store, "SCHEMA", SCHEMA)
    store = reopen()
    assert store.schema_version == len(SCHEMA) == 2
    record = store.class_record(code, NOW)
    assert (record.sent, record.version, record.shown_version) == (1, 1, 0) and store.shown(code) is None
    assert store.images(code)[1].tobytes() == drawing(0).tobytes()


def test_what_is_shown_comes_back_bit_for_bit_and_moves_both_versions(reopen, backend):
    store = reopen()
    code, other = opened(store), opened(store, "OTHERS")
    assert store.show(code, drawing(1), -1, "Grad-CAM", "test", 62, 9, NOW) == 1
    assert store.show(code, drawing(2), 3, "HiResCAM", "drawing", 5, 7, NOW + 1) == 2
    shown = reopen().shown(code)  # another connection, as another process (a replica) would read it
    assert (shown.version, shown.target, shown.method, shown.source, shown.source_number, shown.source_label,
            shown.shown_at) == (2, 3, "HiResCAM", "drawing", 5, 7, NOW + 1)
    assert shown.image.dtype == np.float32 and shown.image.tobytes() == drawing(2).tobytes()
    record = store.class_record(code, NOW)
    assert (record.version, record.shown_version) == (2, 2), "the wall says what is shown: its version moves too"
    assert store.shown(other) is None and store.class_record(other, NOW).shown_version == 0

    assert store.stop_showing(code, NOW) and store.shown(code) is None
    assert not store.stop_showing(code, NOW), "nothing was shown: no news"
    assert store.class_record(code, NOW).shown_version == 3
    store.show(code, drawing(3), -1, "Grad-CAM", "image", None, None, NOW)
    assert store.shown(code).source_number is None
    for call in (lambda: store.show("NOSUCH", drawing(1), -1, "Grad-CAM", "image", None, None, NOW),
                 lambda: store.stop_showing("NOSUCH", NOW),
                 lambda: store.show(code, drawing(1), -1, "Grad-CAM", "image", None, None, NOW + 2 * DAY)):
        with pytest.raises(NoSuchClass):
            call()

    blob = encode_image(drawing(3))[:1000]  # PostgreSQL keeps a value this long in chunks of 2 KB (TOAST): the first
    assert blob in backend.stored_bytes()
    assert store.end_class(code) and store.shown(code) is None
    assert blob not in backend.stored_bytes(), "an ended class's shown image is erased with it"
    store.show(other, drawing(4), -1, "Grad-CAM", "image", None, None, NOW)
    assert store.erase_expired(NOW + 2 * DAY) == [other] and store.shown(other) is None
    assert store.integrity_check() == "ok"


def test_the_data_set_is_the_walls_drawings_with_their_pixels(reopen):
    store = reopen()
    code = opened(store)
    for i in range(4):
        store.add_drawing(code, drawing(i), meant=i, predicted=9, sender_digest=f"s{i}", now=NOW, **OPEN)
    store.hide(code, 2, NOW)
    store.withdraw(code, 3, "s2", NOW)
    data = store.data_set(code)
    assert [(d.number, d.meant) for d, _ in data] == [(1, 0), (4, 3)]
    assert data[1][1].tobytes() == drawing(3).tobytes()
