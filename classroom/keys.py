"""Who is the instructor: the server's instructor key, each class's token, and how both are checked.

- The **instructor key** opens classes. It comes from ``--instructor-key`` or ``CNN_DEMO_INSTRUCTOR_KEY`` (a
  Space secret); a local server started without one makes a random one and prints the instructor link, as
  Jupyter prints its token. A Space without one has no classes (the page says how to turn them on).
- Each class has its own **token** (256 random bits) that opens its wall; the store keeps only its SHA-256.
- Both are checked in constant time: each side is hashed to 32 bytes (so the comparison's time says nothing
  about the length, and any string can be compared), then compared with ``hmac.compare_digest``.
- Neither is ever put in a page a student receives, a log line or a message: this module returns booleans.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from typing import Callable

ENVIRONMENT = "CNN_DEMO_INSTRUCTOR_KEY"
KEY_BYTES = 24  # a generated instructor key: 192 random bits, 32 URL-safe characters
TOKEN_BYTES = 32  # a class's token: 256 random bits
MIN_KEY_CHARACTERS = 16  # a chosen key shorter than this could be guessed, even slowly


class WeakKeyError(ValueError):
    """An instructor key too short to resist guessing."""


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    """What is stored and compared instead of a key or token: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def matches(given: object, expected_digest: str) -> bool:
    """Whether ``given`` is the secret whose digest is ``expected_digest``, in constant time; False for a
    non-string (an API client can send anything)."""
    return isinstance(given, str) and hmac.compare_digest(digest(given), expected_digest)


class WrongKeyBrake:
    """Slows repeated wrong instructor keys down, server-wide: each wrong key is answered only after a delay
    that doubles with the wrong keys of the last ``memory`` seconds (1, 2, 4, 8, 8 ... s), and wrong keys are
    answered one at a time, so that however many requests an attacker sends at once, they test a few keys a
    minute. Against a key of 16 characters or more (a generated one has 192 bits) that is nothing.

    Why server-wide rather than per address: a campus network puts a whole class, and often its instructor,
    behind one address, and a Space's proxy stands in front of everyone, so a per-address brake would slow the
    instructor with the guessing student anyway, and an attacker with a few addresses would escape it.
    Why a delay rather than a lock-out: a lock-out would let any student shut the instructor out by typing
    wrong keys; a delay only makes everyone wait while someone guesses, and a right key pays none of its own
    (it waits for the wrong ones before it, never after). The page's event checks one key at a time
    (concurrency limit 1), so the waiting happens in Gradio's queue, not in the server's threads.
    """

    def __init__(self, first_delay: float = 1.0, max_delay: float = 8.0, memory: float = 600.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.first_delay, self.max_delay, self.memory = first_delay, max_delay, memory
        self._clock, self._sleep = clock, sleep
        self._failures: deque[float] = deque()
        self._lock = threading.Lock()

    def check(self, given: object, expected_digest: str) -> bool:
        with self._lock:
            if matches(given, expected_digest):
                return True
            now = self._clock()
            while self._failures and self._failures[0] <= now - self.memory:
                self._failures.popleft()
            delay = min(self.max_delay, self.first_delay * 2 ** len(self._failures))
            self._failures.append(now)  # at most memory / first_delay of them: each one slept first
            self._sleep(delay)
            return False


class InstructorKey:
    """The server's instructor key, kept only as its digest; ``generated`` is the key itself when this server
    made it, so that the instructor link can be printed once at start."""

    def __init__(self, key: str, generated: bool = False, brake: WrongKeyBrake | None = None) -> None:
        self._digest = digest(key)
        self.generated = key if generated else None
        self.brake = brake or WrongKeyBrake()

    @classmethod
    def decide(cls, given: str | None, on_space: bool) -> "InstructorKey | None":
        """From ``--instructor-key`` (``given``) or the environment; a new random one on a server of one's own;
        None (no classes) on a Space whose owner set none. WeakKeyError for a short key."""
        key = given or os.environ.get(ENVIRONMENT)
        if key:
            if len(key) < MIN_KEY_CHARACTERS:
                raise WeakKeyError(f"The instructor key must have at least {MIN_KEY_CHARACTERS} characters; a random "
                                   "one: python -c 'import secrets; print(secrets.token_urlsafe(24))'")
            return cls(key)
        return None if on_space else cls(new_key(), generated=True)

    def check(self, given: object) -> bool:
        """Whether ``given`` is the key (slowly, if it is not)."""
        return self.brake.check(given, self._digest)
