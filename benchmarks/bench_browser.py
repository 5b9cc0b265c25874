"""The Draw tab's network in headless Chromium: time per animation frame, requests per digit, download sizes.

    python -m benchmarks.bench_browser [--rounds 3]

1. Each frame while the pen moves (strokes -> 28x28 -> forward -> CAM -> every view redrawn), as the page
   measures it with performance.now() (a User Timing measure, "cnn-demo frame"): p50, p95, max; with the
   mouse driven by Playwright, then with the strokes replayed by the page itself (a pointer event per
   frame), where the driver and this process do not compete with the page for the cores.
2. Requests to the server while drawing the digits 0-9 with the mouse, from the first pen-down to a second
   after the last pen-up, per digit (target 0).
3. What a student who draws costs the server: a page load (requests, bytes over the wire, server CPU time;
   the second student's, once the first has warmed what the server caches), and the server's CPU time
   while they draw (the page's event stream, idle); the weights' JSON (raw and as sent, compressed) and
   the page's own JavaScript and CSS.
"""
from __future__ import annotations

import argparse
import gzip
import math
import statistics
import time
import urllib.request

from harness.app_server import running_app
from harness.browser import RequestLog, chromium, draw_digit, open_page
from harness.load.sampling import process_cpu_seconds
from harness.strokes import DIGIT_STROKES
from webapp.browser_routes import STATIC_DIR

FRAME_MEASURE = "cnn-demo frame"
SETTLE_SECONDS = 3
OBSERVE_FRAMES = """(name) => {
  window.benchFrames = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.name === name) window.benchFrames.push(entry.duration);
  }).observe({ type: "measure" });
}"""
# The same strokes replayed by the page itself, one pointer move per animation frame: the frames' time
# without the Playwright driver and this process competing for the cores (2 on the reference machine).
REPLAY = """async (strokes) => {
  const canvas = document.querySelector("#draw-pad canvas");
  const box = canvas.getBoundingClientRect();
  const frame = () => new Promise((done) => requestAnimationFrame(done));
  const send = (type, [x, y]) => canvas.dispatchEvent(new PointerEvent(type, {
    pointerId: 7, pointerType: "mouse", isPrimary: true, button: 0, bubbles: true,
    clientX: box.left + x * box.width, clientY: box.top + y * box.height }));
  for (const stroke of strokes) {
    send("pointerdown", stroke[0]);
    for (const point of stroke.slice(1)) { send("pointermove", point); await frame(); }
    send("pointerup", stroke[stroke.length - 1]);
    await frame();
  }
}"""
PAGE_BYTES = """() => performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
  .reduce((sum, entry) => sum + entry.transferSize, 0)"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def replayed_strokes(digit: int, scale: float = 0.56, step: float = 0.02) -> list[list[tuple[float, float]]]:
    """A digit's strokes as fractions of the canvas (``scale`` of its side, centred), a point every ``step``
    of it, about as often as a pen reports one."""
    strokes = []
    for stroke in DIGIT_STROKES[digit]:
        points = [stroke[0]]
        for (x, y), (to_x, to_y) in zip(stroke, stroke[1:]):
            steps = max(1, round(math.hypot(to_x - x, to_y - y) * scale / step))
            points += [(x + (to_x - x) * k / steps, y + (to_y - y) * k / steps) for k in range(1, steps + 1)]
        strokes.append([(0.5 + (x - 0.5) * scale, 0.5 + (y - 0.5) * scale) for x, y in points])
    return strokes


def frame_line(label: str, frames: list[float]) -> str:
    return (f"frame (strokes -> 28x28 -> forward -> CAM -> all views), {label}, {len(frames)} frames: "
            f"p50 {statistics.median(frames):.2f} ms, p95 {percentile(frames, 0.95):.2f} ms, max {max(frames):.2f} ms")


def weights_sizes(url: str) -> tuple[int, int]:
    """The MNIST model's JSON: its size, and its size as the server sends it to a browser (compressed)."""
    raw = urllib.request.urlopen(f"{url}cnn-demo/network/mnist.json", timeout=60).read()
    request = urllib.request.Request(f"{url}cnn-demo/network/mnist.json", headers={"Accept-Encoding": "br, gzip"})
    return len(raw), len(urllib.request.urlopen(request, timeout=60).read())


def static_sizes() -> tuple[int, int]:
    """The page's JavaScript and CSS: bytes as written, and gzipped (as a browser would get them)."""
    files = sorted(STATIC_DIR.glob("*.js")) + sorted(STATIC_DIR.glob("*.css"))
    return sum(f.stat().st_size for f in files), sum(len(gzip.compress(f.read_bytes())) for f in files)


def page_load(browser, url: str, pid: int) -> tuple[object, dict]:
    """A student opens the page: requests, bytes over the wire and the server's CPU time until it is still."""
    log, cpu = RequestLog(), process_cpu_seconds(pid)
    page = open_page(browser, url, log, {"width": 1400, "height": 1000}, 120_000)
    time.sleep(SETTLE_SECONDS)  # what the page loads after its first paint
    return page, {"requests": len(log.urls), "bytes": page.evaluate(PAGE_BYTES),
                  "server_cpu": process_cpu_seconds(pid) - cpu, "log": log}


def idle_cpu_rate(pid: int, seconds: float = 10) -> float:
    """The server's CPU seconds per second with nobody asking it anything (its own background work)."""
    cpu = process_cpu_seconds(pid)
    time.sleep(seconds)
    return (process_cpu_seconds(pid) - cpu) / seconds


def drawn(page, log: RequestLog, pid: int, rounds: int) -> dict:
    """The digits 0-9 drawn ``rounds`` times with the mouse: frame times, requests, the server's CPU time
    beyond its idle rate."""
    idle = idle_cpu_rate(pid)
    page.evaluate(OBSERVE_FRAMES, FRAME_MEASURE)
    before, cpu, started = len(log.urls), process_cpu_seconds(pid), time.monotonic()
    for _ in range(rounds):
        for digit in range(10):
            page.locator("#draw-pad .cnn-clear").click()  # the page's own button: it sends nothing either
            draw_digit(page, DIGIT_STROKES[digit], "#draw-pad canvas")
    time.sleep(SETTLE_SECONDS)
    spent = process_cpu_seconds(pid) - cpu
    return {"frames": page.evaluate("() => window.benchFrames"), "requests": log.urls[before:], "server_cpu": spent,
            "idle_cpu": idle * (time.monotonic() - started), "digits": rounds * 10}


def replayed(page, rounds: int) -> list[float]:
    """The frame times with the same digits replayed by the page itself."""
    page.evaluate("() => { window.benchFrames = []; }")
    for _ in range(rounds):
        for digit in range(10):
            page.locator("#draw-pad .cnn-clear").click()
            page.evaluate(REPLAY, replayed_strokes(digit))
    return page.evaluate("() => window.benchFrames")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times the digits 0-9 are drawn")
    args = parser.parse_args()
    with running_app() as (url, process), chromium() as browser:
        time.sleep(SETTLE_SECONDS)  # the server loads the other dataset's model in the background
        first, _ = page_load(browser, url, process.pid)  # the first page also builds what the server caches
        first.context.close()
        page, load = page_load(browser, url, process.pid)
        drawing = drawn(page, load["log"], process.pid, args.rounds)
        replay = replayed(page, args.rounds)
        raw, sent = weights_sizes(url)
    js_raw, js_gzip = static_sizes()
    requests = drawing["requests"]
    print(frame_line("the mouse driven by Playwright", drawing["frames"]))
    print(frame_line("strokes replayed by the page", replay))
    print(f"requests while drawing {drawing['digits']} digits: {len(requests)} "
          f"({len(requests) / drawing['digits']:.2f} per digit) {requests[:5]}; server CPU meanwhile "
          f"{drawing['server_cpu'] * 1000:.0f} ms, its idle rate alone {drawing['idle_cpu'] * 1000:.0f} ms")
    print(f"a student's page load: {load['requests']} requests, {load['bytes'] / 1024:.0f} KiB over the wire, "
          f"server CPU {load['server_cpu'] * 1000:.0f} ms")
    print(f"weights JSON (MNIST model): {raw / 1024:.1f} KiB, {sent / 1024:.1f} KiB as sent (compressed)")
    print(f"page JavaScript and CSS (webapp/static/): {js_raw / 1024:.1f} KiB, {js_gzip / 1024:.1f} KiB gzipped")


if __name__ == "__main__":
    main()
