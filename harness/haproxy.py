"""The load balancer of the replicas' test and benchmark: Debian's HAProxy, run on deploy/haproxy.cfg itself.

The deployed file takes its addresses from the environment (with the systemd units' defaults), so the tests
give it free ports on loopback and the replicas they started, and change nothing else in it. Its statistics
page (CSV) says which replica is up and how many sessions each one has had.
"""
from __future__ import annotations

import contextlib
import csv
import grp
import io
import os
import pwd
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from harness.app_server import ROOT, free_port, stop

CONFIG = ROOT / "deploy" / "haproxy.cfg"
REPLICAS = ("replica1", "replica2")  # the server lines of the deployed file
START_SECONDS = 20.0


@dataclass
class Balancer:
    url: str  # http://127.0.0.1:<port>/, the students' address
    stats_url: str
    process: subprocess.Popen
    log: Path

    def servers(self) -> dict[str, dict[str, str]]:
        """The replicas' rows of the statistics page (status "UP"/"DOWN"/"MAINT", "stot" sessions in all...)."""
        text = httpx.get(f"{self.stats_url};csv", timeout=10).text.lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(io.StringIO(text))
                if row["pxname"] == "replicas" and row["svname"] in REPLICAS}

    def wait_until(self, states: dict[str, str], timeout: float = 30.0) -> None:
        """Until each named replica has the given status ("UP", "DOWN") by the balancer's health checks."""
        deadline = time.monotonic() + timeout
        while True:
            seen = {name: row["status"].split()[0] for name, row in self.servers().items()}
            if all(seen.get(name) == status for name, status in states.items()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the balancer sees {seen}, not {states}")
            time.sleep(0.2)


def max_connections() -> int:
    """The deployed 9,000, or fewer where this machine lets no process open enough files (HAProxy refuses to start
    where it cannot have two per connection and a few of its own): a container whose hard limit is 1,024."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 9000 if hard == resource.RLIM_INFINITY else max(100, min(9000, (hard - 200) // 2))


@contextlib.contextmanager
def balancer(replicas: list[str | None], log: Path) -> Iterator[Balancer]:
    """HAProxy in front of ``replicas`` (``host:port`` of replica1, replica2; None: that server line in
    maintenance, as for a deployment of one), on free ports; stopped at the end."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        raise RuntimeError("HAProxy is not installed (Debian: apt-get install haproxy; ./run-tests installs it)")
    port, stats = free_port(), free_port()
    environment = {**os.environ, "CNN_DEMO_LISTEN": f"127.0.0.1:{port}", "CNN_DEMO_HAPROXY_STATS": f"127.0.0.1:{stats}",
                   "CNN_DEMO_MAXCONN": str(max_connections())}
    if os.geteuid() != 0:  # it can become no one else: it stays this user
        environment["CNN_DEMO_HAPROXY_USER"] = pwd.getpwuid(os.getuid()).pw_name
        environment["CNN_DEMO_HAPROXY_GROUP"] = grp.getgrgid(os.getgid()).gr_name
    for name, address in zip(REPLICAS, replicas, strict=True):
        environment[f"CNN_DEMO_{name.upper()}"] = address or "127.0.0.1:9"  # the discard port: never asked
        if address is None:
            environment[f"CNN_DEMO_{name.upper()}_STATE"] = "disabled"
    with open(log, "w") as out:
        process = subprocess.Popen([haproxy, "-db", "-f", str(CONFIG)], stdout=out, stderr=subprocess.STDOUT,
                                   env=environment)
    started = Balancer(f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{stats}/", process, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            with contextlib.suppress(httpx.HTTPError):
                started.servers()
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield started
    finally:
        stop(process, 10)
