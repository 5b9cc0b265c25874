"""The class store (classroom/store.py): what goes in comes out bit for bit, limits hold inside the store,
ended and expired classes are erased from the file, and a writer killed with SIGKILL loses nothing it
acknowledged. Every test runs against each engine in ENGINES (PostgreSQL joins SQLite there later)."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from classroom.store import (FILE_NAME, SCHEMA, ClassFull, ClassStore, NoSuchClass, SchemaTooNew, TooManyClasses,
                             TooManySends, encode_image)

ENGINES = ["sqlite"]
NOW = 1_700_000_000.0
DAY = 86_400.0
ROOT = Path(__file__).resolve().parent.parent
OPEN = dict(max_per_class=5_000, max_per_minute=10)


@pytest.fixture(params=ENGINES)
def reopen(request, tmp_path) -> Callable[[], ClassStore]:
    """Opens the test's store, again each call (as a restarted server would); closes them all at the end."""
    opened: list[ClassStore] = []

    def open_store() -> ClassStore:
        opened.append(ClassStore.in_folder(tmp_path / "classes"))
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


def test_hidden_and_withdrawn_drawings_leave_the_wall_and_bump_its_version(reopen, tmp_path):
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
    with sqlite3.connect(tmp_path / "classes" / FILE_NAME) as raw:
        assert raw.execute("SELECT pixels FROM drawings WHERE number = 2").fetchone() == (None,)
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


def test_ended_and_expired_classes_are_erased_from_the_files(reopen, tmp_path):
    folder = tmp_path / "classes"
    store = reopen()
    ending, expiring, staying = opened(store, "ENDING"), opened(store, "EXPIRE", NOW + 60), opened(store, "STAYED")
    blobs = {}
    for i in range(6):  # small drawings, interleaved: the classes' rows share pages, which must be wiped
        for k, code in enumerate((ending, expiring, staying)):
            image = np.zeros((28, 28), np.float32)
            image[10:12, 3 * i:3 * i + 3] = drawing(10 * i + k)[:2, 10:13] + 0.01
            blobs[code] = encode_image(image)
            store.add_drawing(code, image, 7, 7, "s", NOW, **OPEN)
    assert all(blob in file_bytes(folder) for blob in blobs.values()), "the test looks for the stored bytes"

    assert store.end_class(ending) and not store.end_class(ending)
    store.close()
    restarted = reopen()  # the server restarts after the retention period
    assert restarted.class_record(expiring, NOW + 61) is None, "an expired class is closed before it is erased"
    assert restarted.erase_expired(NOW + 61) == [expiring]
    assert restarted.class_record(ending, NOW) is None and restarted.wall(expiring) == []
    stored = file_bytes(folder)
    assert blobs[ending] not in stored and blobs[expiring] not in stored
    assert blobs[staying] in stored and len(restarted.wall(staying)) == 6
    assert restarted.integrity_check() == "ok"


def test_the_store_is_private_versioned_and_refuses_a_newer_schema(reopen, tmp_path):
    store = reopen()
    folder = tmp_path / "classes"
    assert store.schema_version == len(SCHEMA)
    assert (folder / FILE_NAME).stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    code = opened(store)
    store.add_drawing(code, drawing(0), 1, 2, "s", NOW, **OPEN)
    assert (folder / (FILE_NAME + "-wal")).stat().st_mode & 0o777 == 0o600
    store.close()
    assert len(reopen().wall(code)) == 1, "reopening migrates nothing and loses nothing"
    with sqlite3.connect(folder / FILE_NAME) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        raw.execute("UPDATE store_meta SET schema_version = 99")
    with pytest.raises(SchemaTooNew):
        reopen()


WRITER = """
import sys
from pathlib import Path
import numpy as np
from classroom.store import ClassStore

store = ClassStore.in_folder(Path(sys.argv[1]))
rng = np.random.default_rng(int(sys.argv[2]))
while True:
    number = store.add_drawing("KILLED", rng.random((28, 28), dtype=np.float32), 1, 1, "s" + sys.argv[2],
                               1_700_000_000.0, max_per_class=10**9, max_per_minute=10**9)
    print(number, flush=True)  # acknowledged: committed before this line is written
"""


def test_no_acknowledged_drawing_is_lost_when_writers_are_killed(reopen, tmp_path):
    store = reopen()
    opened(store, "KILLED", expires_at=NOW + 10 * DAY)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "classes"), str(seed)], cwd=ROOT,
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


def test_what_is_shown_comes_back_bit_for_bit_and_moves_both_versions(reopen, tmp_path):
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

    blob = encode_image(drawing(3))
    assert blob in file_bytes(tmp_path / "classes")
    assert store.end_class(code) and store.shown(code) is None
    assert blob not in file_bytes(tmp_path / "classes"), "an ended class's shown image is erased with it"
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
