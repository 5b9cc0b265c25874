"""A class of simulated students sending their digits while the instructor's wall is open (issue 20).

    python -m benchmarks.bench_class                      # 200 students x 5 drawings within a minute
    python -m benchmarks.bench_class --students 50 --seconds 20 --screens /tmp/wall

Each student is a browser session that sends as a page does (the class's send event through the queue:
join, then the session's event stream), five shipped MNIST test digits at random moments of the minute,
each after the previous one's answer. The instructor's wall is open in Chromium on the same machine and
follows the class by itself; Chromium runs at the lowest priority (nice 19), as if it were the projecting
laptop, so that the server's own costs for the wall (its news, its updates) count, and painting the wall
does not (its CPU time is printed apart; ``--same-priority`` to let it compete). First the same students send to a bare Gradio app with the same endpoint, whose
handler does nothing (benchmarks/bare_class_app.py): what Gradio itself costs on this machine, now. Printed:
errors, the send's latency (join to answer), both apps' server CPU time per send (the class's: all of it, the
sends, the wall's news and updates) and their ratios, the wall's delay from a send to its thumbnail on the
wall (the page notes when each appears), the database's size per 1,000 drawings (the whole file), and the
server's peak resident memory since it started.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from gradio_client import Client

from classroom.store import FILE_NAME
from harness.app_server import running_app
from harness.browser import chromium, shoot
from harness.classroom import KEY, class_server, event_index, integrity, page_digits, send_once
from harness.memory import peak_mib


@dataclass(frozen=True)
class Send:
    started: float  # time.time(): the page's Date.now() has the same clock
    answered: float
    number: int | None
    error: str | None = None


async def student(http, url: str, index: int, code: str, digits: list, moments: list[float], start: float) -> list[Send]:
    session, sends = uuid.uuid4().hex, []
    for moment, (image, meant) in zip(moments, digits):
        await asyncio.sleep(max(0.0, start + moment - time.time()))
        began = time.time()
        try:
            number, error = await send_once(http, url, index, session, [code, image, meant])
        except httpx.HTTPError as err:
            number, error = None, f"{type(err).__name__}: {err}"[:100]
        sends.append(Send(began, time.time(), number, error))
    return sends


async def a_class(url: str, index: int, code: str, students: int, drawings: int, seconds: float) -> list[Send]:
    digits = page_digits(students * drawings)
    rng = random.Random(0)
    # No kept-alive connections: a student sends every ten seconds or so, after the server has closed an idle one
    # (uvicorn: 5 s), and httpx, unlike a browser, does not send again a request refused by a stale connection.
    limits = httpx.Limits(max_connections=students * 2, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        start = time.time() + 1
        plans = [student(http, url, index, code, digits[s * drawings:(s + 1) * drawings],
                         sorted(rng.uniform(0, seconds) for _ in range(drawings)), start) for s in range(students)]
        return [send for sends in await asyncio.gather(*plans) for send in sends]


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1] if len(values) > 1 \
        else values[0]


def database_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob(FILE_NAME + "*") if not path.name.endswith("-shm"))


def checkpointed(folder: Path) -> None:
    """The write-ahead log copied into the database file and emptied (the server has stopped)."""
    with contextlib.closing(sqlite3.connect(folder / FILE_NAME)) as database:
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


@dataclass(frozen=True)
class Phase:
    sends: list[Send]
    server_cpu: float  # seconds
    clients_cpu: float
    browser_cpu: float  # the wall page's Chromium (and Playwright's driver)

    @property
    def acknowledged(self) -> list[Send]:
        return [send for send in self.sends if send.number is not None]

    @property
    def errors(self) -> list[str]:
        return [send.error for send in self.sends if send.error]

    def latency(self, share: float) -> float:
        return percentile([send.answered - send.started for send in self.acknowledged], share)

    def cpu_per_send_ms(self) -> float:
        return self.server_cpu / max(1, len(self.acknowledged)) * 1000


def students_send(url: str, pid: int, code: str, args: argparse.Namespace) -> Phase:
    """The class's students, run on their own thread (Playwright's sync API holds this one's event loop)."""
    server, clients = psutil.Process(pid), psutil.Process()
    before = [cpu_seconds([server]), cpu_seconds([clients]), cpu_seconds(browser_processes())]
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        sends = thread.submit(asyncio.run, a_class(url, event_index(url, "class_send"), code, args.students,
                                                   args.drawings, args.seconds)).result()
    after = [cpu_seconds([server]), cpu_seconds([clients]), cpu_seconds(browser_processes())]
    return Phase(sends, *(end - start for start, end in zip(before, after)))


def browser_processes() -> list[psutil.Process]:
    """This process's descendants: Playwright's driver and the Chromium it started (not the server: running_app
    starts it, but it is measured apart)."""
    return [child for child in psutil.Process().children(recursive=True) if "python" not in child.name()]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += sum(process.cpu_times()[:2])
    return total


def bare_gradio(args: argparse.Namespace) -> Phase:
    with running_app(script="benchmarks/bare_class_app.py") as (url, process):
        return students_send(url, process.pid, "K7QX2M", args)


def the_class(args: argparse.Namespace, browser, folder: Path) -> tuple[Phase, dict[int, float], float]:
    """The students against demo.py with the wall open: the phase, when each number appeared on the wall, and
    the server's peak memory."""
    with class_server(folder) as (url, process):
        opened = Client(url, verbose=False).predict(KEY, api_name="/class_open")
        if args.no_wall:
            return students_send(url, process.pid, opened["code"], args), {}, peak_mib(process.pid)
        wall = browser.new_page(viewport={"width": 1600, "height": 1000})
        wall.goto(f"{url}instructor#class={opened['code']}&token={opened['token']}", timeout=120_000)
        wall.wait_for_selector(".cw-summary", timeout=120_000)
        if not args.same_priority:
            for browser_process in browser_processes():  # the projector's laptop is not the server
                browser_process.nice(19)
        phase = students_send(url, process.pid, opened["code"], args)
        wall.wait_for_function(f"() => Object.keys(window.cnnClassWall.shownAt).length >= {len(phase.acknowledged)}",
                               timeout=30_000)
        shown_at = {int(number): at / 1000 for number, at in wall.evaluate("() => window.cnnClassWall.shownAt").items()}
        if args.screens:
            shoot(wall, Path(args.screens), "bench-class-wall")
        return phase, shown_at, peak_mib(process.pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--drawings", type=int, default=5, help="per student")
    parser.add_argument("--seconds", type=float, default=60.0, help="the time over which they send")
    parser.add_argument("--screens", help="a folder for a screenshot of the wall at the end")
    parser.add_argument("--no-wall", action="store_true", help="no wall page (what the wall costs, by difference)")
    parser.add_argument("--same-priority", action="store_true",
                        help="the wall's Chromium competes with the server for the cores (default: it runs at the "
                             "lowest priority, as if on the instructor's laptop)")
    args = parser.parse_args()

    bare = bare_gradio(args)
    with tempfile.TemporaryDirectory() as folder_name, chromium() as browser:
        folder = Path(folder_name) / "classes"
        phase, shown_at, peak = the_class(args, browser, folder)
        with_log = database_bytes(folder)  # the write-ahead log is checkpointed every ~4 MiB
        checkpointed(folder)
        stored, whole = database_bytes(folder), integrity(folder)

    acknowledged = phase.acknowledged
    from_send = [shown_at[send.number] - send.started for send in acknowledged if send.number in shown_at]
    from_answer = [shown_at[send.number] - send.answered for send in acknowledged if send.number in shown_at]
    print(f"{args.students} students x {args.drawings} drawings over {args.seconds:.0f} s; "
          f"machine load average {psutil.getloadavg()[0]:.1f} on {psutil.cpu_count()} cores")
    for name, run in (("bare Gradio, same endpoint", bare), ("the class" + ("" if args.no_wall else ", wall open"), phase)):
        print(f"  {name}: {len(run.acknowledged)} acknowledged, {len(run.errors)} errors"
              + (f" (first: {run.errors[0]})" if run.errors else "")
              + f"; send latency p50 {run.latency(0.5) * 1000:.0f} ms, p95 {run.latency(0.95) * 1000:.0f} ms; "
              f"server CPU {run.cpu_per_send_ms():.1f} ms per send; CPU of the simulated students {run.clients_cpu:.1f} s, "
              f"of the wall's Chromium {run.browser_cpu:.1f} s")
    print(f"the class / bare Gradio: send latency p50 {phase.latency(0.5) / bare.latency(0.5):.2f}x, "
          f"p95 {phase.latency(0.95) / bare.latency(0.95):.2f}x; server CPU per send "
          f"{phase.cpu_per_send_ms() / bare.cpu_per_send_ms():.2f}x (the class's: the sends, the wall's news and updates)")
    if from_send:
        print(f"wall delay, send to shown: p50 {percentile(from_send, 0.5):.2f} s, p95 {percentile(from_send, 0.95):.2f} "
              f"s, max {max(from_send):.2f} s (answer to shown: p95 {percentile(from_answer, 0.95):.2f} s); "
              f"{len(from_send)} of {len(acknowledged)} seen on the wall")
    per_thousand = 1000 / max(1, len(acknowledged)) / 2**20
    print(f"database: {stored * per_thousand:.2f} MiB per 1,000 drawings (during the class, with its write-ahead "
          f"log: {with_log * per_thousand:.2f} MiB per 1,000); integrity_check: {whole}")
    print(f"server peak resident memory since start: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
