"""A lecture hall opens the link at once: demo.py's page load against a bare Gradio app's, run the same way.

    python -m benchmarks.bench_page_load [--students 100] [--hall 1000] [--open-pages 1000]

For each server, the bare Gradio app (benchmarks/bare_app.py: one Sketchpad) and then demo.py (on a copy of
the shipped models), started afresh:
1. Chromium opens the page, then opens it again (its cache kept): the requests each visit made and the KiB
   they took on the wire. These recorded requests are what the simulated students replay
   (harness/load/page_replay.py: six connections each, each request once those it followed have answered);
2. the first page after start-up (the server compresses what it keeps), then one student after the other:
   the server's CPU time per page load;
3. ``--students`` at once: pages per second, p50 and p95 until a student's page is complete, errors;
4. ``--hall`` at once: whether all are served within 60 s, errors;
5. ``--open-pages`` pages loaded and left open, holding their event streams (Gradio's heartbeat, the model
   news): the server's memory, threads and idle CPU, then the time a model swap takes to reach every page.
The server's peak RSS over its run. The clients run on the same cores as the server: they cost about as much
CPU per page as the server, so the times are those of a machine doing both.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.app_server import ROOT, running_app
from harness.browser import chromium, load
from harness.load.page_replay import Student, crowd, replay, run
from harness.load.sampling import own_cpu_seconds, process_cpu_seconds, process_threads
from harness.load.statistics import percentile
from harness.memory import current_mib, peak_mib
from harness.page_recording import Visit, record_visits
from ui.web_server import allow_many_connections

TARGET_CPU_MS = 25.0
TARGET_P95_SECONDS = 5.0
TARGET_HALL_SECONDS = 60.0
TARGET_PEAK_MIB = 1536.0
ONE_BY_ONE = 10  # pages loaded one after the other, for the CPU time of one
IDLE_SECONDS = 10.0  # the open pages' quiet time, for the server's idle CPU
SWAP_TIMEOUT = 60.0
LOAD_TIMEOUT = 600.0  # for the open pages to load: a measure of what holding them costs, not of speed


@dataclass
class Crowd:
    """Page loads at once: how many completed and how fast."""
    students: int
    complete: int
    seconds: float  # from the start to the last complete page
    p50: float
    p95: float
    slowest: float
    errors: dict[str, int]
    resent: int  # requests sent again on a new connection: the server had closed the kept one (a browser does it)
    overflows: int  # connections the kernel could not queue for the server meanwhile (every process's)
    server_cpu_ms: float  # per page
    client_cpu_ms: float  # per page

    def line(self) -> str:
        errors = f"; errors {self.errors}" if self.errors else ", no error"
        resent = f", {self.resent} requests resent on a new connection" if self.resent else ""
        resent += f", listen queue overflowed {self.overflows} times" if self.overflows else ""
        return (f"{self.complete}/{self.students} complete in {self.seconds:.1f} s "
                f"({self.complete / self.seconds:.1f} pages/s), p50 {self.p50:.1f} s, p95 {self.p95:.1f} s, "
                f"slowest {self.slowest:.1f} s; server CPU {self.server_cpu_ms:.1f} ms/page, clients "
                f"{self.client_cpu_ms:.1f} ms/page{resent}{errors}")


@dataclass
class OpenPages:
    pages: int
    loaded: int
    rss_mib: float  # the server's, once they are open
    rss_before_mib: float
    threads: int
    threads_before: int
    idle_cpu_before: float  # % of one core, with no page open
    idle_cpu_percent: float  # of one core, while they are open and nothing happens
    swap_seconds: float | None  # until the last page heard of a new model (None: not measured / not all did)
    swap_reached: int = 0
    errors: dict[str, int] | None = None  # of the pages that did not load


def listen_overflows() -> int:
    """How often a listening socket's queue of this machine has been full since it started (Linux)."""
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines() if line.startswith("TcpExt:")]
    return int(dict(zip(lines[0], lines[1])).get("ListenOverflows", 0)) if len(lines) == 2 else 0


def crowd_figures(pages: list, began: float, server_cpu: float, client_cpu: float, overflows: int) -> Crowd:
    done = sorted(page.seconds for page in pages if page.complete)
    errors: dict[str, int] = {}
    for page in pages:
        for answer, target in zip(page.answers, page.targets):
            if not answer.ok and not (answer.error or "").startswith("not sent"):  # what failed, not what followed
                reused = " (on a kept connection)" if answer.reused else ""
                key = f"{target.split('?')[0][:40]} {answer.status or ''} {answer.error or ''}{reused}"
                errors[key] = errors.get(key, 0) + 1
    last = max((page.began + page.seconds for page in pages if page.complete), default=time.monotonic())
    resent = sum(answer.resent for page in pages for answer in page.answers)
    return Crowd(len(pages), len(done), last - began, percentile(done, 50), percentile(done, 95),
                 done[-1] if done else float("nan"), errors, resent, overflows, 1000 * server_cpu / len(pages),
                 1000 * client_cpu / len(pages))


def at_once(url: str, pid: int, visit: Visit, students: int, timeout: float) -> Crowd:
    server, client, began, overflows = process_cpu_seconds(pid), own_cpu_seconds(), time.monotonic(), listen_overflows()
    pages = run(replay(url, visit, students, timeout))
    return crowd_figures(pages, began, process_cpu_seconds(pid) - server, own_cpu_seconds() - client,
                         listen_overflows() - overflows)


def one_by_one(url: str, pid: int, visit: Visit) -> float:
    """The server's CPU ms per page, pages loaded one after the other."""
    server = process_cpu_seconds(pid)
    for _ in range(ONE_BY_ONE):
        run(replay(url, visit, 1))
    return 1000 * (process_cpu_seconds(pid) - server) / ONE_BY_ONE


def open_pages(url: str, pid: int, visit: Visit, count: int, swap) -> OpenPages:
    """``count`` pages loaded and held open; then, if ``swap`` is given, a model swapped in: when did each page
    hear of it (a later event on its model news stream)?"""
    async def hold_them() -> OpenPages:
        rss_before, threads_before = current_mib(pid), process_threads(pid)
        cpu = process_cpu_seconds(pid)
        await asyncio.sleep(IDLE_SECONDS)
        idle_before = 100 * (process_cpu_seconds(pid) - cpu) / IDLE_SECONDS
        hold = asyncio.Event()
        students = crowd(url, visit, count, timeout=120.0, hold=hold)
        running = [asyncio.ensure_future(student.run()) for student in students]
        waits = [asyncio.ensure_future(s.loaded.wait()) for s in students]
        await asyncio.wait(waits, timeout=LOAD_TIMEOUT)
        for wait in waits:
            wait.cancel()
        loaded = sum(s.loaded.is_set() and all(a.ok for a in s.answers) for s in students)
        cpu = process_cpu_seconds(pid)
        await asyncio.sleep(IDLE_SECONDS)
        figures = OpenPages(count, loaded, current_mib(pid), rss_before, process_threads(pid), threads_before,
                            idle_before, 100 * (process_cpu_seconds(pid) - cpu) / IDLE_SECONDS, None)
        if swap is not None:
            figures.swap_seconds, figures.swap_reached = await _swap_reaches(students, swap)
        hold.set()
        pages = await asyncio.gather(*running)
        figures.errors = crowd_figures(pages, 0.0, 0.0, 0.0, 0).errors
        return figures

    return run(hold_them())


async def _swap_reaches(students: list[Student], swap) -> tuple[float | None, int]:
    """Seconds until every page that holds its model news stream heard of the swap, and how many did."""
    news = [next(a for a, r in zip(s.answers, s.requests) if "models/events" in r.target) for s in students]
    news = [answer for answer in news if answer.ok and answer.done_at is not None]  # the stream is open
    began = time.monotonic()
    await asyncio.get_running_loop().run_in_executor(None, swap)
    deadline = began + SWAP_TIMEOUT
    while time.monotonic() < deadline:
        heard = [next((t for t in answer.later_events if t > began), None) for answer in news]
        if all(t is not None for t in heard):
            return max(heard) - began, len(heard)
        await asyncio.sleep(0.1)
    return None, sum(any(t > began for t in answer.later_events) for answer in news)


def swap_model(url: str) -> None:
    """The instructor reloads the saved MNIST model: a new model version, which every page is told of."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    try:
        client.predict("mnist", api_name="/restore_shipped_model")
    finally:
        client.close()


@dataclass
class ServerFigures:
    name: str
    first: Visit
    second: Visit
    cpu_ms: float
    class_: Crowd
    hall: Crowd | None
    opened: OpenPages | None
    peak_mib: float


def measure(name: str, script: str, args: argparse.Namespace, work: Path) -> ServerFigures:
    is_app = script == "demo.py"
    arguments = ["--models-dir", str(_models_copy(work))] if is_app else []
    with running_app(*arguments, script=script, log=work / f"{name}.log") as (url, process):
        pid = process.pid
        time.sleep(3)  # demo.py loads the second dataset's model in the background
        with chromium() as browser:
            first, second = record_visits(browser, url, network=is_app)  # the server's first page (see cold_…)
        cpu_ms = one_by_one(url, pid, first)
        print(f"  {name}: {cpu_ms:.1f} ms of server CPU per page ({load_average()})", flush=True)
        class_ = at_once(url, pid, first, args.students, 120)
        print(f"  {name}: {args.students} students: {class_.line()} ({load_average()})", flush=True)
        hall = at_once(url, pid, first, args.hall, 300) if args.hall else None
        if hall:
            print(f"  {name}: {args.hall} students: {hall.line()} ({load_average()})", flush=True)
        # The bare app's page holds no stream (it has no state, so no heartbeat): only demo.py's pages are held.
        opened = open_pages(url, pid, first, args.open_pages, lambda: swap_model(url)) \
            if args.open_pages and is_app else None
        return ServerFigures(name, first, second, cpu_ms, class_, hall, opened, peak_mib(pid))


def _models_copy(work: Path) -> Path:
    models = work / "models"
    shutil.copytree(ROOT / "saved_models", models, dirs_exist_ok=True)
    return models


def cold_first_page(script: str, work: Path, is_app: bool) -> tuple[float, float]:
    """The first page after start-up, when the server records and compresses what it keeps: seconds until
    Chromium can use it, server CPU ms."""
    arguments = ["--models-dir", str(_models_copy(work))] if is_app else []
    with running_app(*arguments, script=script, log=work / "cold.log") as (url, process):
        time.sleep(3)
        with chromium() as browser:
            page = browser.new_page()
            cpu, began = process_cpu_seconds(process.pid), time.monotonic()
            load(page, url, 120_000, network=is_app)
            return time.monotonic() - began, 1000 * (process_cpu_seconds(process.pid) - cpu)


def load_average() -> str:
    """The machine's load average (1, 5, 15 minutes): the clients, the server and whatever else shares the cores."""
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(bare: ServerFigures, app: ServerFigures, args: argparse.Namespace) -> None:
    def visit(v: Visit) -> str:
        return f"{len(v.requests)} requests, {v.wire_bytes / 1024:.0f} KiB"

    print(f"\n{load_average()} at the end of the run")
    print("per page (Chromium)          bare Gradio app                 demo.py")
    print(f"first visit                  {visit(bare.first):30s}  {visit(app.first)}")
    print(f"second visit                 {visit(bare.second):30s}  {visit(app.second)}")
    print(f"server CPU per page load     {bare.cpu_ms:6.1f} ms{'':21s}  {app.cpu_ms:6.1f} ms "
          f"({app.cpu_ms / bare.cpu_ms:.2f}x the bare app's)")
    for label, b, a in ((f"{args.students} students at once", bare.class_, app.class_),
                        (f"{args.hall} students at once", bare.hall, app.hall)):
        if a is not None:
            print(f"{label}:\n  bare:    {b.line()}\n  demo.py: {a.line()}")
    print(f"peak RSS                     {bare.peak_mib:6.0f} MiB{'':20s}  {app.peak_mib:6.0f} MiB")
    if app.opened:
        o = app.opened
        swap = f"{o.swap_seconds:.2f} s" if o.swap_seconds is not None else f"not all: {o.swap_reached}/{o.loaded}"
        print(f"{o.pages} open pages (demo.py): {o.loaded} loaded and holding their streams; server RSS "
              f"{o.rss_before_mib:.0f} -> {o.rss_mib:.0f} MiB, threads {o.threads_before} -> {o.threads}, idle CPU "
              f"{o.idle_cpu_before:.1f} -> {o.idle_cpu_percent:.1f} % of a core; a model swap reached them all in {swap}"
              + (f"; errors {o.errors}" if o.errors else ""))
    print("\ntargets (demo.py)")
    print(f"  {mark(app.cpu_ms <= TARGET_CPU_MS)} server CPU per page load {app.cpu_ms:.1f} ms <= {TARGET_CPU_MS:.0f}")
    print(f"  {mark(app.class_.p95 <= TARGET_P95_SECONDS and not app.class_.errors)} {args.students} students: "
          f"p95 {app.class_.p95:.1f} s <= {TARGET_P95_SECONDS:.0f} s, no error")
    if app.hall:
        ok = app.hall.complete == app.hall.students and app.hall.seconds <= TARGET_HALL_SECONDS
        print(f"  {mark(ok)} {args.hall} students: all served within {TARGET_HALL_SECONDS:.0f} s "
              f"({app.hall.complete} in {app.hall.seconds:.1f} s), no error")
    print(f"  {mark(app.peak_mib <= TARGET_PEAK_MIB)} peak RSS {app.peak_mib:.0f} MiB <= {TARGET_PEAK_MIB:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100, help="a class opening the page at once")
    parser.add_argument("--hall", type=int, default=1000, help="a lecture hall opening it at once (0: skip)")
    parser.add_argument("--open-pages", type=int, default=1000, help="pages held open (0: skip)")
    args = parser.parse_args()
    allow_many_connections()
    work = Path(tempfile.mkdtemp(prefix="bench-page-load-"))
    print(f"{load_average()} at the start of the run", flush=True)
    try:
        figures = {}
        for name, script in (("bare", "benchmarks/bare_app.py"), ("app", "demo.py")):
            cold_seconds, cold_cpu = cold_first_page(script, work, script == "demo.py")
            print(f"  {name}: first page after start-up (Chromium): {cold_seconds:.1f} s, "
                  f"server CPU {cold_cpu:.0f} ms", flush=True)
            figures[name] = measure(name, script, args, work)
        report(figures["bare"], figures["app"], args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
