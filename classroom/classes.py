"""The rules of a class: who may open one, send to it, read and change its wall, and within what limits.

An instructor opens a class with the server's instructor key and gets a short code (for the students)
and a token (for the wall). Students send the 28x28 image their page made and the digit they meant;
nothing they send is trusted: the image must be 784 finite numbers in [0, 1], the digit an integer 0-9,
and the prediction is computed here by the served model (``predict``), never taken from the page. A
student is known only by a hash of the class and their browser session, which lets them withdraw their
own drawings. Every method that reads a wall or changes a class checks the token itself, so no caller
can forget to. Refusals are ``ClassRefused`` errors whose message can be shown as is: they never hold
a key, a token, or anything a student typed.
"""
from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from cnn.browser_image import browser_image
from cnn.preprocessing import InputImageError
from classroom.keys import InstructorKey, digest, matches, new_token
from classroom.store import (ClassFull, ClassRecord, ClassStore, NoSuchClass, ShownImage, StoredDrawing,
                             TooManyClasses, TooManySends)

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, no 1/I: read off a projector without doubt
CODE_LENGTH = 6  # 32^6: a billion codes, so a mistyped code hardly ever lands in another class
CODE_SHAPE = re.compile(f"[{ALPHABET}]{{{CODE_LENGTH}}}")
DIGITS = 10
CLASS_DATASET = "mnist"  # what a class draws: digits, read by the served MNIST model
PREDICTED = -1  # the target class of a shown image's heatmap: the one the model predicts
# Where a shown image comes from (what the students' pages say): a drawing on the wall (its number, the digit
# meant), a test image (its index, its label), a picture the instructor uploaded, the image Activation
# Maximization synthesizes for a class (the class), or an image given through the API.
SOURCES = ("drawing", "test", "upload", "synthesized", "image")
CODE_TRIES = 20  # codes drawn before giving up: with 50 classes open, the chance of one collision is 5e-8

CLASSES_OFF = ("Classes are off on this server: it has no instructor key. The Space's owner turns them on "
               "with a secret named CNN_DEMO_INSTRUCTOR_KEY (a server of one's own: --instructor-key).")


class ClassRefused(ValueError):
    """A request the class's rules refuse, worded to be shown to whoever made it."""


@dataclass(frozen=True)
class Limits:
    sends_per_minute: int = 10  # per student: an exercise needs a few
    drawings_per_class: int = 5_000
    open_classes: int = 50
    retention_hours: float = 24.0  # then the class and its drawings are erased


@dataclass(frozen=True)
class OpenedClass:
    code: str
    token: str
    expires_at: float


@dataclass(frozen=True)
class Sent:
    number: int  # the drawing's number on the wall
    predicted: int


@dataclass(frozen=True)
class Source:
    """Where the image the instructor shows comes from (SOURCES), its number and label where it has them."""
    kind: str = "image"
    number: int | None = None
    label: int | None = None


@dataclass(frozen=True)
class Wall:
    """What the instructor sees of a class: its drawings on the wall (hidden and withdrawn ones left out)."""
    code: str
    version: int
    expires_at: float
    drawings: list[StoredDrawing]

    @property
    def confusion(self) -> np.ndarray:
        """10x10 counts: rows the digit meant, columns the digit predicted."""
        counts = np.zeros((DIGITS, DIGITS), np.int64)
        for drawing in self.drawings:
            counts[drawing.meant, drawing.predicted] += 1
        return counts

    @property
    def accuracy(self) -> float | None:
        """The share the model read as meant; None while the wall is empty."""
        if not self.drawings:
            return None
        return sum(d.meant == d.predicted for d in self.drawings) / len(self.drawings)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def class_code(value: object) -> str:
    """The class code a user typed, in capitals and without spaces; ClassRefused if it cannot be one."""
    code = re.sub(r"[\s-]", "", value).upper() if isinstance(value, str) else ""
    if not CODE_SHAPE.fullmatch(code):
        raise ClassRefused(f"A class code is {CODE_LENGTH} letters and digits, like K7QX2M.")
    return code


def digit(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < DIGITS:
        raise ClassRefused(f"{what} must be a whole number from 0 to 9.")
    return value


def wall_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClassRefused("A drawing's number is a whole number from 1, as on the wall.")
    return value


def no_class(code: str) -> ClassRefused:
    return ClassRefused(f"No class {code} is open: it has ended, or the code is mistyped.")


def student_image(value: object) -> np.ndarray:
    try:
        return browser_image(value)
    except InputImageError as err:
        raise ClassRefused(str(err)) from None


class Classroom:
    """The classes of one server. ``predict`` reads a 28x28 float32 image (white ink on black) and returns the
    digit the served model predicts; ``key`` is None where classes are off; ``clock`` gives seconds since the
    epoch (a class's expiry outlives the server's restarts); ``methods`` are the heatmap methods a shown image
    may name (the pages' own); ``on_erased(code)`` is called for each class ended or expired, once erased."""

    def __init__(self, store: ClassStore, predict: Callable[[np.ndarray], int], key: InstructorKey | None,
                 limits: Limits = Limits(), clock: Callable[[], float] = time.time,
                 draw_code: Callable[[], str] = new_code, methods: tuple[str, ...] = (),
                 on_erased: Callable[[str], None] = lambda code: None) -> None:
        self.store, self.predict, self.key, self.limits = store, predict, key, limits
        self.clock, self.draw_code, self.methods, self.on_erased = clock, draw_code, methods, on_erased

    @property
    def enabled(self) -> bool:
        return self.key is not None

    # -- the instructor ----------------------------------------------------------------------------------------
    def open(self, instructor_key: object) -> OpenedClass:
        if self.key is None:
            raise ClassRefused(CLASSES_OFF)
        if not self.key.check(instructor_key):
            raise ClassRefused("That is not this server's instructor key (wrong keys are answered slowly).")
        token, now = new_token(), self.clock()
        expires_at = now + self.limits.retention_hours * 3600
        for _ in range(CODE_TRIES):
            code = self.draw_code()
            try:
                if self.store.open_class(code, digest(token), now, expires_at, self.limits.open_classes):
                    return OpenedClass(code, token, expires_at)
            except TooManyClasses:
                raise ClassRefused(f"This server already holds {self.limits.open_classes} open classes: end one "
                                   "(or wait for one to expire) before opening another.") from None
        raise ClassRefused("No free class code was found; try again.")

    def _instructors_class(self, code: object, token: object) -> ClassRecord:
        """The open class ``code`` if ``token`` is its token; ClassRefused otherwise."""
        record = self._open_class(code)
        if not matches(token, record.token_digest):
            raise ClassRefused(f"Class {record.code}'s wall needs its instructor token: open it from the "
                               "instructor link.")
        return record

    def wall(self, code: object, token: object) -> Wall:
        record = self._instructors_class(code, token)
        return Wall(record.code, record.version, record.expires_at, self.store.wall(record.code))

    def images(self, code: object, token: object, after: int = 0) -> dict[int, np.ndarray]:
        """The pixels of the wall's drawings numbered above ``after``, by number: what a wall page lacks."""
        record = self._instructors_class(code, token)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ClassRefused("The wall asks for the drawings after a number from 0.")
        return self.store.images(record.code, after=after)

    def drawing(self, code: object, token: object, number: object) -> tuple[StoredDrawing, np.ndarray]:
        """One drawing on the wall and its pixels, to explain it."""
        record, number = self._instructors_class(code, token), wall_number(number)
        found = self.store.drawing(record.code, number)
        if found is None:
            raise ClassRefused(f"Drawing {number} is not on class {record.code}'s wall.")
        return found

    def hide(self, code: object, token: object, number: object) -> int:
        record, number = self._instructors_class(code, token), wall_number(number)
        if not self.store.hide(record.code, number, self.clock()):
            raise ClassRefused(f"Drawing {number} is not on class {record.code}'s wall.")
        return number

    def end(self, code: object, token: object) -> str:
        record = self._instructors_class(code, token)
        self.store.end_class(record.code)
        self.on_erased(record.code)
        return record.code

    def erase_expired(self) -> list[str]:
        codes = self.store.erase_expired(self.clock())
        for code in codes:
            self.on_erased(code)
        return codes

    def authorized(self, code: object, token: object) -> str:
        """The code of the open class ``code`` if ``token`` is its token (ClassRefused otherwise): for what the
        instructor does with a class beyond its wall (its model, say)."""
        return self._instructors_class(code, token).code

    def data_set(self, code: object, token: object) -> list[tuple[StoredDrawing, np.ndarray]]:
        """The class's drawings on the wall with their pixels, by number: its data set."""
        return self.store.data_set(self._instructors_class(code, token).code)

    # -- what the instructor shows everyone --------------------------------------------------------------------
    def show(self, code: object, token: object, image: object, target: object, method: object,
             source: Source = Source()) -> int:
        """Show everyone in the class ``image`` (784 numbers in [0, 1]), its heatmap for ``target`` (0-9, or
        PREDICTED) by ``method`` (one of ``methods``); the new shown version."""
        record = self._instructors_class(code, token)
        pixels = student_image(image)
        if isinstance(target, bool) or not isinstance(target, int) or not PREDICTED <= target < DIGITS:
            raise ClassRefused(f"The target class must be a whole number from 0 to 9, or {PREDICTED} for the class "
                               "the model predicts.")
        if method not in self.methods:
            raise ClassRefused(f"The heatmap's method must be one of {', '.join(self.methods)}.")
        if source.kind not in SOURCES:
            raise ClassRefused(f"A shown image comes from one of: {', '.join(SOURCES)}.")
        try:
            return self.store.show(record.code, pixels, target, method, source.kind, source.number, source.label,
                                   self.clock())
        except NoSuchClass:
            raise no_class(record.code) from None

    def stop_showing(self, code: object, token: object) -> bool:
        """Show the class nothing; False if it showed nothing."""
        record = self._instructors_class(code, token)
        try:
            return self.store.stop_showing(record.code, self.clock())
        except NoSuchClass:
            raise no_class(record.code) from None

    def shown(self, code: object) -> ShownImage | None:
        """What the open class ``code`` is shown now (None: nothing); anyone with the code may ask, as every
        student's page does."""
        return self.store.shown(self._open_class(code).code)

    # -- the students ------------------------------------------------------------------------------------------
    def _open_class(self, code: object) -> ClassRecord:
        code = class_code(code)
        record = self.store.class_record(code, self.clock())
        if record is None:
            raise no_class(code)
        return record

    def versions(self, code: object) -> tuple[int, int] | None:
        """How many times the class's wall and what it is shown have changed (None: no such open class). What
        the push stream tells pages; it reveals nothing of the wall's contents."""
        try:
            record = self._open_class(code)
        except ClassRefused:
            return None
        return record.version, record.shown_version

    @staticmethod
    def _sender(code: str, session: object) -> str:
        if not isinstance(session, str) or not session:
            raise ClassRefused("Sending to a class needs a browser session: reload the page.")
        return hashlib.sha256(f"{code}\n{session}".encode("utf-8", "surrogatepass")).hexdigest()

    def send(self, code: object, image: object, meant: object, session: object) -> Sent:
        """Check and store a student's drawing, with the prediction computed here; its number on the wall."""
        code = class_code(code)
        pixels, meant = student_image(image), digit(meant, "The digit you meant")
        sender = self._sender(code, session)
        predicted = int(self.predict(pixels))
        try:
            number = self.store.add_drawing(code, pixels, meant, predicted, sender, self.clock(),
                                            self.limits.drawings_per_class, self.limits.sends_per_minute)
        except NoSuchClass:
            raise no_class(code) from None
        except ClassFull:
            raise ClassRefused(f"Class {code} is full: it holds {self.limits.drawings_per_class:,} drawings, "
                               "the most a class can.") from None
        except TooManySends as wait:
            raise ClassRefused(f"That is {self.limits.sends_per_minute} drawings in a minute, the most a student "
                               f"can send: try again in {math.ceil(wait.retry_after)} s.") from None
        return Sent(number, predicted)

    def withdraw(self, code: object, number: object, session: object) -> int:
        """Erase one of the student's own drawings (sent from this browser session)."""
        code, number = class_code(code), wall_number(number)
        try:
            withdrawn = self.store.withdraw(code, number, self._sender(code, session), self.clock())
        except NoSuchClass:
            raise no_class(code) from None
        if not withdrawn:
            raise ClassRefused(f"Drawing {number} is not one of yours on class {code}'s wall.")
        return number

    def mine(self, code: object, session: object) -> list[StoredDrawing]:
        """The student's drawings on the wall, to show them their numbers."""
        record = self._open_class(code)
        return self.store.senders_drawings(record.code, self._sender(record.code, session))
