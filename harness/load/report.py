"""What is printed: a line after each round, then the table of every phase's endpoints, what the
servers and the clients used, the errors, the ratios to the bare app, the soak's memory, and PASS or
MISS against the issue's targets."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable

from harness.load.client import STREAM_RACE
from harness.load.instructor import TRAINING
from harness.load.plans import SKETCH, SOAK_CHECKPOINT
from harness.load.statistics import Phase, percentile

# The targets for 50 students x 10 sketches, side by side with the bare app.
TARGET_THROUGHPUT_RATIO = 0.7  # app / bare, at least
TARGET_P95_RATIO = 1.5  # app / bare, at most
# RSS growth of the soak from its first checkpoint (the first 500 sketches warm the allocator up after the
# training) to its end, at most. Over 2,000 sketches the soak opens 400 sessions (Gradio keeps 150-300 KiB
# of state per session of demo.py; demo.py keeps 150 sessions) and asks for 100 different grids.
TARGET_SOAK_GROWTH_MIB = 25.0

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Verdict:
    """One target, met or not."""
    name: str
    ok: bool

    @property
    def mark(self) -> str:
        return "PASS" if self.ok else "MISS"


def summary_line(phase: Phase, slices: int = 6) -> str:
    """One round's figures, and the sketches' p95 latency in consecutive slices of the round (when in the
    round the slow answers came: a training's start or end, a burst of heavy requests)."""
    s = phase.stats(SKETCH)
    line = (f"  {phase.name}: {s.answered}/{s.requests} sketches in {phase.seconds:.1f} s, "
            f"{s.throughput:.2f}/s, p50 {s.p50:.2f} s, p95 {s.p95:.2f} s, errors {len(phase.errors)}")
    width = phase.seconds / slices if phase.seconds else 0
    if width and phase.rounds == 1:
        parts = []
        for k in range(slices):
            ok = sorted(r.seconds for r in phase.of(SKETCH) if r.error is None
                        and k * width <= r.start - phase.began < (k + 1) * width)
            parts.append(f"{len(ok)}: {percentile(ok, 95):.1f}" if ok else "0: -")
        line += f"\n    sketches sent in each {width:.0f} s of the round (count: p95 s): " + ", ".join(parts)
    return line


def report(phases: dict[str, Phase], echo: Echo = print) -> list[Verdict]:
    """Print the table, the ratios and PASS/MISS against the issue's targets; return the verdicts."""
    _table(phases, echo)
    _resources(phases, echo)
    verdicts = _errors(phases, echo) + _ratios(phases, echo) + _soak(phases, echo)
    echo("")
    for verdict in verdicts:
        echo(f"{verdict.mark} {verdict.name}")
    return verdicts


def throughput_and_p95_ratios(phases: dict[str, Phase], name: str = "app") -> tuple[float, float] | None:
    """Phase ``name``'s sketch throughput and p95 latency relative to the bare app's."""
    if "bare" not in phases or name not in phases:
        return None
    bare, app = phases["bare"].stats(SKETCH), phases[name].stats(SKETCH)
    return app.throughput / bare.throughput, app.p95 / bare.p95


def _table(phases: dict[str, Phase], echo: Echo) -> None:
    echo("")
    echo(f"{'phase':6} {'endpoint':20} {'requests':>8} {'errors':>6} {'busy':>5} {'p50 s':>7} {'p95 s':>7} "
         f"{'max s':>7} {'req/s':>7}")
    for phase in phases.values():
        for endpoint in [SKETCH] + sorted({r.endpoint for r in phase.records} - {SKETCH}):
            s = phase.stats(endpoint)
            echo(f"{phase.name:6} {endpoint:20} {s.requests:8d} {s.errors:6d} {s.busy:5d} {s.p50:7.2f} "
                 f"{s.p95:7.2f} {s.max:7.2f} {s.throughput:7.2f}")
    echo("(req/s: answered requests per second of the phase, which ends with its last sketch answered)")


def _resources(phases: dict[str, Phase], echo: Echo) -> None:
    """Each phase's server memory, both sides' CPU time, and its trainings."""
    echo("")
    for phase in phases.values():
        m = phase.memory
        requests = max(len(phase.records), 1)
        echo(f"{phase.name:6} {phase.clients} clients, {phase.seconds:.1f} s"
             f"{f' over {phase.rounds} rounds' if phase.rounds > 1 else ''}; server RSS start {m.start:.0f} MiB, "
             f"peak {m.peak:.0f} MiB, end {m.end:.0f} MiB (VmHWM {m.vm_hwm:.0f}); CPU: server "
             f"{phase.server_cpu:.1f} s ({1000 * phase.server_cpu / requests:.0f} ms/request"
             f"{', its training worker included' if phase.trainings else ''}), clients "
             f"{phase.client_cpu:.1f} s ({1000 * phase.client_cpu / requests:.0f} ms/request)")
        for t in phase.trainings:
            echo(f"       training ({TRAINING['Epochs']} epoch, batch {TRAINING['Batch size']}), started at "
                 f"{t.started:.1f} s: {t.status} after {t.seconds:.1f} s")


def _errors(phases: dict[str, Phase], echo: Echo) -> list[Verdict]:
    """A verdict a phase (the client library's race apart), and its most frequent errors."""
    verdicts = []
    for phase in phases.values():
        errors = phase.errors
        server_errors = [r for r in errors if r.error != STREAM_RACE]
        races = len(errors) - len(server_errors)
        verdicts.append(Verdict(f"{phase.name}: zero errors, every request answered"
                                + (f" but {races}, {STREAM_RACE}" if races else ""), not server_errors))
        kinds = Counter(f"{r.endpoint}: {r.error}" for r in errors)
        for text, count in sorted(kinds.items(), key=lambda kv: -kv[1])[:8]:
            echo(f"  {phase.name} error x{count}: {text}")
    return verdicts


def _ratios(phases: dict[str, Phase], echo: Echo) -> list[Verdict]:
    """Sketch throughput and p95 of "app" (against the targets) and of "mixed" relative to "bare"."""
    verdicts = []
    for name in ("app", "mixed"):
        ratios = throughput_and_p95_ratios(phases, name)
        if ratios is None:
            continue
        throughput, p95 = ratios
        bare, app = phases["bare"].stats(SKETCH), phases[name].stats(SKETCH)
        echo("")
        if name == "app":  # the targets: students drawing, while the instructor trains
            fast = Verdict("sketch throughput app/bare", throughput >= TARGET_THROUGHPUT_RATIO)
            prompt = Verdict("sketch p95 app/bare", p95 <= TARGET_P95_RATIO)
            verdicts += [fast, prompt]
            marks = [f"(target >= {TARGET_THROUGHPUT_RATIO}) {fast.mark}",
                     f"(target <= {TARGET_P95_RATIO}) {prompt.mark}"]
        else:  # not comparable to a target: the bare app has no other tabs, so it answers fewer requests
            marks = ["(other tabs' requests too, not counted)"] * 2
        echo(f"sketch throughput {name}/bare: {app.throughput:.2f} / {bare.throughput:.2f} = {throughput:.2f} "
             f"{marks[0]}")
        echo(f"sketch p95 {name}/bare:{' ' * (11 - len(name))}{app.p95:.2f} / {bare.p95:.2f} = {p95:.2f} "
             f"{marks[1]}")
    return verdicts


def _soak(phases: dict[str, Phase], echo: Echo) -> list[Verdict]:
    """The soak's RSS at each checkpoint, and whether it stayed flat after the first."""
    if "soak" not in phases or not phases["soak"].soak_rss:
        return []
    soak = phases["soak"]
    echo("soak RSS: " + ", ".join(f"{n} sketches {mib:.0f} MiB" for n, mib in [(0, soak.memory.start)] + soak.soak_rss))
    (first_n, first), (last_n, last) = soak.soak_rss[0], soak.soak_rss[-1]
    if len(soak.soak_rss) < 2:
        echo(f"soak too short to judge memory (at least {2 * SOAK_CHECKPOINT} sketches)")
        return []
    flat = Verdict("soak: memory flat", last - first <= TARGET_SOAK_GROWTH_MIB)
    echo(f"soak RSS growth from {first_n} to {last_n} sketches: {last - first:+.1f} MiB (target <= "
         f"+{TARGET_SOAK_GROWTH_MIB:.0f} MiB) {flat.mark}; over all {last_n}: {last - soak.memory.start:+.1f} MiB")
    return [flat]
