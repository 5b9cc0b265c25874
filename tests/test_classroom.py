"""The class's rules (classroom/classes.py) and keys (classroom/keys.py): who may open a class and read or change
its wall, what a student may send, what the instructor may show everyone, the limits, the retention, and how
wrong instructor keys are slowed."""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from classroom.classes import ALPHABET, CLASSES_OFF, ClassRefused, Classroom, Limits, Source, class_code
from classroom.keys import MIN_KEY_CHARACTERS, InstructorKey, WeakKeyError, WrongKeyBrake, digest, matches
from classroom.store import FILE_NAME, ClassStore

KEY = "the instructor's key, long enough"
START = 1_700_000_000.0
METHODS = ("Grad-CAM", "HiResCAM")


class Clock:
    """Seconds since the epoch that the test moves, and the brake's sleeps, recorded instead of slept."""

    def __init__(self) -> None:
        self.now, self.slept = START, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def predict(image: np.ndarray) -> int:
    """The test's "model": it reads the digit written in the top-left pixel (tenths), so the test chooses it."""
    return int(round(float(image[0, 0]) * 10)) % 10


def digit_image(predicted: int, seed: int = 0) -> list[float]:
    """784 numbers as a page sends them (float32 values in [0, 1]), which the test's model reads as ``predicted``."""
    image = np.zeros((28, 28), np.float32)
    image[8:20, 10:18] = np.random.default_rng(seed).random((12, 8), dtype=np.float32)
    image[0, 0] = predicted / 10
    return [float(v) for v in image.reshape(-1)]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path):
    opened = ClassStore.in_folder(tmp_path / "classes")
    yield opened
    opened.close()


@pytest.fixture
def erased() -> list[str]:
    """The codes of the classes the classroom said were erased."""
    return []


@pytest.fixture
def classroom(store, clock, erased) -> Classroom:
    key = InstructorKey(KEY, brake=WrongKeyBrake(clock=clock, sleep=clock.sleep))
    return Classroom(store, predict, key, Limits(sends_per_minute=10, drawings_per_class=40, open_classes=3),
                     clock=clock, methods=METHODS, on_erased=erased.append)


def test_an_instructor_opens_a_class_with_a_short_code_and_a_secret_token(classroom, tmp_path):
    opened = classroom.open(KEY)
    assert len(opened.code) == 6 and set(opened.code) <= set(ALPHABET)
    assert not set("01OI") & set(ALPHABET)
    assert len(opened.token) >= 43, "at least 256 bits"
    assert opened.expires_at == START + 24 * 3600
    stored = (tmp_path / "classes" / FILE_NAME).read_bytes() + (tmp_path / "classes" / (FILE_NAME + "-wal")).read_bytes()
    assert opened.token.encode() not in stored and digest(opened.token).encode() in stored
    assert classroom.open(KEY).code != opened.code


def test_a_taken_code_is_never_given_twice(store, clock):
    codes = iter(["AAAAAA", "AAAAAA", "AAAAAA", "BBBBBB"])
    classroom = Classroom(store, predict, InstructorKey(KEY), clock=clock, draw_code=lambda: next(codes))
    assert [classroom.open(KEY).code, classroom.open(KEY).code] == ["AAAAAA", "BBBBBB"]


@pytest.mark.parametrize("wrong", [None, "", "the instructor's key, long enougH", 12345, ["x"], KEY + " ", "é" * 40])
def test_a_wrong_key_opens_nothing_and_is_not_repeated_back(classroom, wrong, clock):
    with pytest.raises(ClassRefused, match="not this server's instructor key") as refused:
        classroom.open(wrong)
    assert KEY not in str(refused.value) and (not isinstance(wrong, str) or not wrong or wrong not in str(refused.value))
    assert clock.slept == [1.0]


def test_without_a_key_classes_are_off_and_the_message_says_how_to_turn_them_on(store, clock):
    classroom = Classroom(store, predict, key=None, clock=clock)
    assert not classroom.enabled
    with pytest.raises(ClassRefused) as refused:
        classroom.open(KEY)
    assert str(refused.value) == CLASSES_OFF and "CNN_DEMO_INSTRUCTOR_KEY" in CLASSES_OFF


def test_repeated_wrong_keys_wait_longer_each_time_and_a_right_key_waits_for_none(clock):
    brake = WrongKeyBrake(clock=clock, sleep=clock.sleep, memory=600)
    key = InstructorKey(KEY, brake=brake)
    assert key.check(KEY) and clock.slept == []
    for _ in range(6):
        assert not key.check("a guess")
    assert clock.slept == [1, 2, 4, 8, 8, 8]
    assert key.check(KEY) and len(clock.slept) == 6, "the right key is not slowed by the wrong ones"
    clock.now += 601
    assert not key.check("a later guess") and clock.slept[-1] == 1, "wrong keys are forgotten after a while"


def test_wrong_keys_sent_at_once_are_answered_one_after_another():
    """However many requests an attacker sends at once, each wrong key waits its turn: the rate is server-wide."""
    key = InstructorKey(KEY, brake=WrongKeyBrake(first_delay=0.05, max_delay=0.4))
    started = time.monotonic()
    guesses = [threading.Thread(target=key.check, args=(f"guess {i}",)) for i in range(5)]
    for guess in guesses:
        guess.start()
    for guess in guesses:
        guess.join()
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2 + 0.4 + 0.4 - 0.01


def test_the_instructor_key_comes_from_the_option_the_environment_or_is_made(monkeypatch):
    monkeypatch.delenv("CNN_DEMO_INSTRUCTOR_KEY", raising=False)
    made = InstructorKey.decide(None, on_space=False)
    assert made.generated and len(made.generated) >= 32 and made.check(made.generated), "192 bits, printed once"
    assert InstructorKey.decide(None, on_space=True) is None, "a Space without a key has no classes"
    given = InstructorKey.decide(KEY, on_space=True)
    assert given.generated is None and given.check(KEY)
    monkeypatch.setenv("CNN_DEMO_INSTRUCTOR_KEY", KEY)
    assert InstructorKey.decide(None, on_space=True).check(KEY)
    with pytest.raises(WeakKeyError, match=str(MIN_KEY_CHARACTERS)):
        InstructorKey.decide("short", on_space=False)


def test_secrets_are_compared_by_digest_whatever_is_sent():
    assert matches(KEY, digest(KEY)) and not matches(KEY[:-1], digest(KEY))
    for odd in (None, 3, b"bytes", "\udcff", "ü" * 100):
        assert not matches(odd, digest(KEY))


def test_a_student_sends_and_the_server_computes_the_prediction(classroom):
    code = classroom.open(KEY).code
    sent = [classroom.send(code, digit_image(predicted, seed), meant, "session-1")
            for seed, (meant, predicted) in enumerate([(3, 3), (5, 6), (0, 0)])]
    assert [(s.number, s.predicted) for s in sent] == [(1, 3), (2, 6), (3, 0)]
    assert classroom.send(f" {code.lower()[:3]}-{code.lower()[3:]} ", digit_image(9), 9, "s2").number == 4, \
        "a code is read in any case, with spaces or a dash"
    assert [d.number for d in classroom.mine(code, "session-1")] == [1, 2, 3]


BAD_IMAGES = {
    "783 values": digit_image(1)[:-1],
    "785 values": digit_image(1) + [0.0],
    "a NaN": digit_image(1)[:-1] + [math.nan],
    "an infinity": digit_image(1)[:-1] + [math.inf],
    "above 1": digit_image(1)[:-1] + [1.5],
    "below 0": digit_image(1)[:-1] + [-0.1],
    "a string inside": digit_image(1)[:-1] + ["0.5"],
    "a bool inside": digit_image(1)[:-1] + [True],
    "a string": "0.5, " * 784,
    "a dict": {"image": digit_image(1)},
    "nothing": None,
    "rows": [digit_image(1)[28 * r:28 * r + 28] for r in range(28)],
    "an empty canvas": [0.0] * 784,
    "ten megabytes": [0.5] * 1_310_720,
}


@pytest.mark.parametrize("why", BAD_IMAGES)
def test_a_bad_image_is_refused_with_a_message_and_stores_nothing(classroom, why):
    opened = classroom.open(KEY)
    with pytest.raises(ClassRefused, match="784 numbers|Draw first"):
        classroom.send(opened.code, BAD_IMAGES[why], 1, "s")
    assert classroom.wall(opened.code, opened.token).drawings == []


@pytest.mark.parametrize("meant", [10, 11, -1, True, False, "3", 3.0, None, [3]])
def test_a_bad_label_is_refused_and_stores_nothing(classroom, meant):
    opened = classroom.open(KEY)
    with pytest.raises(ClassRefused, match="0 to 9"):
        classroom.send(opened.code, digit_image(1), meant, "s")
    assert classroom.wall(opened.code, opened.token).drawings == []


@pytest.mark.parametrize("code", ["ABCDE", "ABCDEFG", "O0I1AB", "../../etc", "", None, 123456, "ABC DE\u00c9"])
def test_a_malformed_code_is_refused_without_being_repeated(classroom, code):
    with pytest.raises(ClassRefused, match="six letters and digits|6 letters and digits") as refused:
        classroom.send(code, digit_image(1), 1, "s")
    assert not isinstance(code, str) or not code or code not in str(refused.value)
    with pytest.raises(ClassRefused):
        class_code(code)


def test_sending_to_no_class_or_without_a_session_is_refused(classroom):
    with pytest.raises(ClassRefused, match="No class ABCDEF is open"):
        classroom.send("ABCDEF", digit_image(1), 1, "s")
    code = classroom.open(KEY).code
    for session in (None, "", 3):
        with pytest.raises(ClassRefused, match="browser session"):
            classroom.send(code, digit_image(1), 1, session)


def test_the_wall_counts_the_class_accuracy_and_confusion(classroom):
    opened = classroom.open(KEY)
    pairs = [(3, 3), (3, 5), (5, 5), (7, 1), (7, 7), (7, 7), (0, 0), (9, 4)]
    for i, (meant, predicted) in enumerate(pairs):
        classroom.send(opened.code, digit_image(predicted, i), meant, f"student {i}")
    wall = classroom.wall(opened.code, opened.token)
    assert [(d.meant, d.predicted) for d in wall.drawings] == pairs
    assert wall.accuracy == pytest.approx(5 / 8)
    expected = np.zeros((10, 10), int)
    for meant, predicted in pairs:
        expected[meant][predicted] += 1
    assert wall.confusion.tolist() == expected.tolist() and wall.confusion[7, 7] == 2


def test_an_empty_wall_has_no_accuracy(classroom):
    opened = classroom.open(KEY)
    wall = classroom.wall(opened.code, opened.token)
    assert wall.drawings == [] and wall.accuracy is None and wall.confusion.sum() == 0


@pytest.mark.parametrize("action", ["wall", "images", "drawing", "hide", "end"])
def test_only_the_classs_own_token_reads_or_changes_its_wall(classroom, action):
    mine, other = classroom.open(KEY), classroom.open(KEY)
    classroom.send(mine.code, digit_image(2), 2, "s")
    call = {"wall": lambda t: classroom.wall(mine.code, t), "images": lambda t: classroom.images(mine.code, t),
            "drawing": lambda t: classroom.drawing(mine.code, t, 1), "hide": lambda t: classroom.hide(mine.code, t, 1),
            "end": lambda t: classroom.end(mine.code, t)}[action]
    for wrong in (None, "", other.token, mine.token[:-1], mine.token + "x", KEY, 7):
        with pytest.raises(ClassRefused, match="needs its instructor token") as refused:
            call(wrong)
        assert mine.token not in str(refused.value) and other.token not in str(refused.value)
    assert len(classroom.wall(mine.code, mine.token).drawings) == 1, "nothing changed"
    call(mine.token)


def test_the_wall_page_gets_only_the_pixels_it_lacks(classroom):
    opened = classroom.open(KEY)
    sent = [digit_image(i, seed=i) for i in range(4)]
    for i, image in enumerate(sent):
        classroom.send(opened.code, image, i, f"s{i}")
    after_two = classroom.images(opened.code, opened.token, after=2)
    assert list(after_two) == [3, 4]
    assert after_two[4].reshape(-1).tolist() == np.float32(sent[3]).tolist(), "the page's float32 values, exactly"
    stored, pixels = classroom.drawing(opened.code, opened.token, 2)
    assert stored.meant == 1 and pixels.reshape(-1).tolist() == np.float32(sent[1]).tolist()
    for after in (-1, True, "2", 2.5):
        with pytest.raises(ClassRefused):
            classroom.images(opened.code, opened.token, after=after)


def test_a_hidden_drawing_leaves_the_wall_and_the_counts(classroom):
    opened = classroom.open(KEY)
    for i, predicted in enumerate([4, 9, 4]):
        classroom.send(opened.code, digit_image(predicted, i), 4, f"s{i}")
    before = classroom.versions(opened.code)[0]
    assert classroom.hide(opened.code, opened.token, 2) == 2
    wall = classroom.wall(opened.code, opened.token)
    assert [d.number for d in wall.drawings] == [1, 3] and wall.accuracy == 1.0 and wall.confusion[4, 9] == 0
    assert classroom.versions(opened.code)[0] == before + 1
    with pytest.raises(ClassRefused, match="not on class"):
        classroom.hide(opened.code, opened.token, 2)
    for number in (0, -3, True, "1", None, 99):
        with pytest.raises(ClassRefused):
            classroom.hide(opened.code, opened.token, number)
    with pytest.raises(ClassRefused, match="not on class"):
        classroom.drawing(opened.code, opened.token, 2)


def test_a_student_withdraws_their_own_drawings_only(classroom):
    opened = classroom.open(KEY)
    mine = classroom.send(opened.code, digit_image(1), 1, "my session").number
    theirs = classroom.send(opened.code, digit_image(2), 2, "their session").number
    with pytest.raises(ClassRefused, match="not one of yours"):
        classroom.withdraw(opened.code, theirs, "my session")
    assert classroom.withdraw(opened.code, mine, "my session") == mine
    assert [d.number for d in classroom.wall(opened.code, opened.token).drawings] == [theirs]
    assert classroom.mine(opened.code, "my session") == []
    with pytest.raises(ClassRefused, match="not one of yours"):
        classroom.withdraw(opened.code, mine, "my session")


def test_an_ended_class_is_gone(classroom):
    opened = classroom.open(KEY)
    classroom.send(opened.code, digit_image(1), 1, "s")
    assert classroom.end(opened.code, opened.token) == opened.code
    assert classroom.versions(opened.code) is None
    for refused_call in (lambda: classroom.send(opened.code, digit_image(1), 1, "s"),
                         lambda: classroom.wall(opened.code, opened.token),
                         lambda: classroom.end(opened.code, opened.token)):
        with pytest.raises(ClassRefused, match="No class"):
            refused_call()


def test_the_limits_refuse_with_a_message_and_lose_nothing_else(store, clock):
    classroom = Classroom(store, predict, InstructorKey(KEY),
                          Limits(sends_per_minute=3, drawings_per_class=5, open_classes=2), clock=clock)
    opened = classroom.open(KEY)
    for _ in range(3):
        classroom.send(opened.code, digit_image(1), 1, "eager")
        clock.now += 10
    with pytest.raises(ClassRefused, match="3 drawings in a minute.*try again in 30 s"):
        classroom.send(opened.code, digit_image(1), 1, "eager")
    classroom.send(opened.code, digit_image(1), 1, "calm")
    clock.now += 30
    classroom.send(opened.code, digit_image(1), 1, "eager")
    with pytest.raises(ClassRefused, match="is full: it holds 5 drawings"):
        classroom.send(opened.code, digit_image(1), 1, "calm")
    assert [d.number for d in classroom.wall(opened.code, opened.token).drawings] == [1, 2, 3, 4, 5]
    classroom.open(KEY)
    with pytest.raises(ClassRefused, match="already holds 2 open classes"):
        classroom.open(KEY)


def test_a_class_expires_after_its_retention_and_is_erased(store, clock):
    classroom = Classroom(store, predict, InstructorKey(KEY), Limits(retention_hours=2), clock=clock)
    opened = classroom.open(KEY)
    classroom.send(opened.code, digit_image(1), 1, "s")
    clock.now += 2 * 3600 - 1
    assert classroom.versions(opened.code) is not None and classroom.erase_expired() == []
    clock.now += 1
    assert classroom.versions(opened.code) is None
    with pytest.raises(ClassRefused, match="No class"):
        classroom.send(opened.code, digit_image(1), 1, "s")
    assert classroom.erase_expired() == [opened.code]


def test_only_the_classs_token_shows_everyone_an_image_and_anyone_with_the_code_sees_it(classroom):
    opened, other = classroom.open(KEY), classroom.open(KEY)
    assert classroom.shown(opened.code) is None and classroom.versions(opened.code) == (0, 0)
    image = digit_image(3, seed=1)
    for wrong in (None, "", other.token, opened.token[:-1], 42):
        with pytest.raises(ClassRefused, match="needs its instructor token"):
            classroom.show(opened.code, wrong, image, -1, "Grad-CAM")
        with pytest.raises(ClassRefused, match="needs its instructor token"):
            classroom.stop_showing(opened.code, wrong)
    assert classroom.shown(opened.code) is None and classroom.versions(opened.code) == (0, 0)
    assert classroom.show(opened.code, opened.token, image, 7, "HiResCAM", Source("test", 62, 9)) == 1
    shown = classroom.shown(opened.code.lower())  # a student's page: the code alone
    assert shown.image.reshape(-1).tolist() == np.float32(image).tolist(), "the page's float32 values, exactly"
    assert (shown.target, shown.method, shown.source, shown.source_number, shown.source_label) == \
        (7, "HiResCAM", "test", 62, 9)
    assert classroom.versions(opened.code) == (1, 1) and classroom.shown(other.code) is None
    assert classroom.stop_showing(opened.code, opened.token) and not classroom.stop_showing(opened.code, opened.token)
    assert classroom.shown(opened.code) is None and classroom.versions(opened.code) == (2, 2)
    with pytest.raises(ClassRefused, match="letters and digits"):
        classroom.shown("../etc")


@pytest.mark.parametrize("target, method, source, refused", [
    (10, "Grad-CAM", Source(), "target class"), (-2, "Grad-CAM", Source(), "target class"),
    ("3", "Grad-CAM", Source(), "target class"), (True, "Grad-CAM", Source(), "target class"),
    (3.0, "Grad-CAM", Source(), "target class"), (3, "SmoothGrad", Source(), "method"),
    (3, None, Source(), "method"), (3, "Grad-CAM", Source("a student's text"), "comes from")])
def test_a_shown_image_needs_a_target_class_a_heatmap_method_and_a_known_source(classroom, target, method, source,
                                                                               refused):
    opened = classroom.open(KEY)
    with pytest.raises(ClassRefused, match=refused):
        classroom.show(opened.code, opened.token, digit_image(3), target, method, source)
    for image in (BAD_IMAGES["a NaN"], BAD_IMAGES["above 1"], BAD_IMAGES["a string"], BAD_IMAGES["783 values"]):
        with pytest.raises(ClassRefused, match="784 numbers"):
            classroom.show(opened.code, opened.token, image, -1, "Grad-CAM")
    assert classroom.shown(opened.code) is None and classroom.versions(opened.code) == (0, 0)


def test_the_data_set_needs_the_token_and_leaves_hidden_drawings_out(classroom):
    opened = classroom.open(KEY)
    for i in range(3):
        classroom.send(opened.code, digit_image(i, seed=i), i, f"s{i}")
    classroom.hide(opened.code, opened.token, 2)
    data = classroom.data_set(opened.code, opened.token)
    assert [(d.number, d.meant) for d, _ in data] == [(1, 0), (3, 2)]
    assert data[1][1].reshape(-1).tolist() == np.float32(digit_image(2, seed=2)).tolist()
    assert classroom.authorized(opened.code.lower(), opened.token) == opened.code
    for call in (classroom.data_set, classroom.authorized):
        with pytest.raises(ClassRefused, match="needs its instructor token"):
            call(opened.code, "not the token")


def test_the_classroom_says_which_classes_are_erased(classroom, clock, erased):
    ending, expiring = classroom.open(KEY), classroom.open(KEY)
    classroom.end(ending.code, ending.token)
    assert erased == [ending.code]
    clock.now += 25 * 3600
    assert classroom.erase_expired() == [expiring.code] and erased == [ending.code, expiring.code]
