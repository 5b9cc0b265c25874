"""Results computed once, however many students ask at once: the first asker starts the computation, the
others wait for the same answer, and whoever waits is told what for and for about how long.

A ``Computation`` is one result to come; ``Results`` keeps them by key, for one model (``ExplainerSet``
holds two: what does not depend on the student, kept while the model is served, and the most recent results
of a student's own settings). A ``Job`` is a computation that can run in another process (webapp/long_jobs.py):
a module-level function of ``webapp/`` called with the model's ExplainerSet and JSON-able arguments, whose
answer is JSON-able.
"""
from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Protocol

import numpy as np

TELL_EVERY = 1.0  # seconds between the messages to a waiting student


@dataclass(frozen=True)
class Job:
    """A long computation on one model: ``function(explainer_set, *args)``."""
    function: Callable[..., Any]  # module-level, in webapp/; JSON-able arguments and answer
    args: tuple = ()
    what: str = "a long computation"  # for the waiting student: "scoring every method on 500 test images"
    seconds: float = 10.0  # about how long it takes on an idle server (this 2-core machine)

    def run_on(self, explainer_set: Any) -> Any:
        """Run it here, and hand back what another process would (the answer through JSON)."""
        return json.loads(to_json(self.function(explainer_set, *self.args)))


def to_json(value: Any) -> str:
    """JSON of an answer; NumPy's arrays and numbers become lists and numbers, anything else is refused."""
    def plain(o: object) -> Any:
        if isinstance(o, (np.ndarray, np.generic)):
            return o.tolist()
        raise TypeError(f"a long job answers in JSON, not with a {type(o).__name__}")
    return json.dumps(value, default=plain)


@dataclass(frozen=True)
class Waiting:
    """What a student waiting for a computation is told."""
    what: str
    ahead: int  # computations to finish before this one starts (0: it is running)
    seconds_left: float  # about
    fraction: float  # of the expected time already passed, for a progress bar

    @classmethod
    def running(cls, what: str, elapsed: float, expected: float) -> Waiting:
        """A computation under way for ``elapsed`` seconds, expected to take ``expected`` (once past it, on a
        busier machine than the estimate's, a fifth of the time so far is said to be left)."""
        return cls(what, 0, max(expected - elapsed, elapsed / 5, 1.0), min(elapsed / expected, 0.95))

    @property
    def text(self) -> str:
        left = f"about {max(1, round(self.seconds_left))} s"
        if self.ahead:
            return (f"Waiting for {self.ahead} longer computation{'s' if self.ahead > 1 else ''} asked before "
                    f"this one, then {self.what}: {left} in all.")
        return (f"{self.what[0].upper()}{self.what[1:]}: {left} left. It is computed once for the whole class, "
                "and only when no one's other requests need the processor.")


class Estimates(Protocol):
    """Where a computation's queue and pace are known (a pool of worker processes)."""

    def waiting(self, computation: Computation) -> Waiting: ...


class Computation:
    """One result to come: its answer, and what a student waiting for it is told."""

    def __init__(self, job: Job | None = None) -> None:
        self.job = job
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.started: float | None = None  # time.monotonic() when it began to run
        self.estimates: Estimates | None = None  # set by the runner that queues it

    def compute_here(self, compute: Callable[[], Any]) -> None:
        """Compute it in this thread."""
        self.started = time.monotonic()
        try:
            self.future.set_result(compute())
        except BaseException as err:  # every waiting student gets the error
            self.future.set_exception(err)
            if not isinstance(err, Exception):
                raise

    def wait(self, on_wait: Callable[[Waiting], None] | None = None) -> Any:
        """The answer (or its error), telling ``on_wait`` every TELL_EVERY seconds until it comes."""
        while True:
            try:
                return self.future.result(timeout=None if on_wait is None else TELL_EVERY)
            except concurrent.futures.TimeoutError:
                on_wait(self.waiting())

    def waiting(self) -> Waiting:
        if self.estimates is not None:
            return self.estimates.waiting(self)
        what, expected = (self.job.what, self.job.seconds) if self.job else ("computing it", 1.0)
        return Waiting.running(what, time.monotonic() - self.started if self.started is not None else 0.0, expected)


def wait_all(computations: list[Computation], on_wait: Callable[[Waiting], None] | None = None) -> list[Any]:
    """Every answer; the waiting student hears about the computation that will end last."""
    def latest(_: Waiting) -> None:
        pending = [c.waiting() for c in computations if not c.future.done()]
        if pending:
            on_wait(max(pending, key=lambda w: w.seconds_left))
    return [c.wait(None if on_wait is None else latest) for c in computations]


class Results:
    """Computations by key: each started once, by its first asker; the ``keep`` most recently asked are kept
    (None: all of them, for keys from a small fixed set). A failed one is forgotten: the next asker retries."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = keep
        self._computations: OrderedDict[Hashable, Computation] = OrderedDict()
        self._lock = threading.Lock()

    def once(self, key: Hashable, start: Callable[[Computation], None], job: Job | None = None) -> Computation:
        """The computation of ``key``; if there is none yet, a new one that ``start`` sets going (outside the
        lock: two students asking for different results do not wait for each other)."""
        with self._lock:
            existing = self._computations.get(key)
            if existing is not None:
                self._computations.move_to_end(key)
                return existing
            computation = self._computations[key] = Computation(job)
            self._trim()
        computation.future.add_done_callback(lambda done: done.exception() and self._forget(key, computation))
        try:
            start(computation)
        except BaseException as err:  # it could not be started (say, no disk for the model's file): nobody waits
            if not computation.future.done():
                computation.future.set_exception(err)
            raise
        return computation

    def __len__(self) -> int:
        return len(self._computations)

    def _forget(self, key: Hashable, computation: Computation) -> None:
        with self._lock:
            if self._computations.get(key) is computation:
                del self._computations[key]

    def _trim(self) -> None:
        """Drop the least recently asked finished computations beyond ``keep`` (running ones have waiters)."""
        if self.keep is None:
            return
        for key in [k for k, c in self._computations.items() if c.future.done()]:
            if len(self._computations) <= self.keep:
                break
            del self._computations[key]
