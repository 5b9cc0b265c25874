"""A deployment of replicas on loopback, as deploy/ describes one: PostgreSQL (a cluster of the tests' own), app
replicas (demo.py processes sharing its class store and a publication folder for the served models), and HAProxy
in front of them on the deployed configuration. For the replicas' test and benchmark.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from harness.app_server import ROOT, running_app
from harness.classroom import KEY
from harness.haproxy import Balancer, balancer
from harness.postgres import Cluster, postgres_cluster


@dataclass
class Replica:
    name: str  # its server line in deploy/haproxy.cfg, and the balancer's cookie that holds a page to it
    url: str  # its own address, past the balancer
    process: subprocess.Popen
    log: Path

    @property
    def address(self) -> str:
        return self.url.split("//")[1].rstrip("/")


@dataclass
class Deployment:
    url: str  # the balancer's: the students' link
    replicas: list[Replica]
    balancer: Balancer
    cluster: Cluster
    class_db: str  # the replicas' database URL
    served_models: Path


@contextlib.contextmanager
def deployment(work: Path, replicas: int = 2, data_dir: str | None = None,
               extra_args: tuple[str, ...] = ()) -> Iterator[Deployment]:
    """``replicas`` (1 or 2) app servers behind HAProxy, their classes in PostgreSQL, started together; each on a
    copy of the shipped models, with the instructor key harness.classroom.KEY (and ``data_dir`` to train)."""
    served_models = work / "served-models"
    with postgres_cluster() as cluster, contextlib.ExitStack() as stack:
        class_db = cluster.database("cnn_demo")
        starting = []
        for index in range(1, replicas + 1):
            models = work / f"models-{index}"
            shutil.copytree(ROOT / "saved_models", models, dirs_exist_ok=True)
            arguments = ["--models-dir", str(models), "--served-models", str(served_models), "--instructor-key", KEY,
                         *(["--data-dir", data_dir] if data_dir else []), *extra_args]
            log = work / f"replica{index}.log"
            # The database's URL (and its password) in the environment, not in the process list.
            starting.append((f"replica{index}", log, running_app(*arguments, env={"CNN_DEMO_CLASS_DB": class_db},
                                                                 log=log)))
        started = _enter_together(stack, [context for _, _, context in starting])
        members = [Replica(name, url, process, log) for (name, log, _), (url, process) in zip(starting, started)]
        addresses = [member.address for member in members] + [None] * (2 - len(members))
        front = stack.enter_context(balancer(addresses, work / "haproxy.log"))
        front.wait_until({member.name: "UP" for member in members})
        yield Deployment(front.url, members, front, cluster, class_db, served_models)


def _enter_together(stack: contextlib.ExitStack, contexts: list) -> list:
    """Enter the context managers at once (each replica's start is mostly waiting for its imports); each one
    entered is exited with ``stack``, also when another fails to start."""
    with concurrent.futures.ThreadPoolExecutor(len(contexts)) as pool:
        futures = [pool.submit(context.__enter__) for context in contexts]
        concurrent.futures.wait(futures)
    for context, future in zip(contexts, futures):
        if future.exception() is None:
            stack.push(context.__exit__)
    return [future.result() for future in futures]  # raises the first failure, once all are pushed
