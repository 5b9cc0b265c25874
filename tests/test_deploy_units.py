"""The replicas' systemd unit and environment file (deploy/, issue 24) as written: systemd accepts the unit, and a
replica started with the unit's own command line and the environment file's variables serves classes from the
database the file names, with the key it names, and follows the publication folder it names.

No systemd runs here (a container), so the unit's sandboxing (ProtectSystem, PrivateTmp) is not exercised; the
paths the unit names (/opt/cnn-demo, /var/lib/cnn-demo, /etc/cnn-demo.env) are replaced by the test's own.
"""
from __future__ import annotations

import asyncio
import configparser
import shlex
import shutil
import subprocess
import sys
import uuid

import httpx

from harness.app_server import ROOT, running_app
from harness.classroom import event_index, run_event
from harness.postgres import postgres_cluster

DEPLOY = ROOT / "deploy"
INSTALLED, STATE = "/opt/cnn-demo", "/var/lib/cnn-demo"  # where the unit expects the app and its files


def unit() -> configparser.ConfigParser:
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.optionxform = str
    parsed.read(DEPLOY / "cnn-demo@.service")
    return parsed


def environment_file() -> dict[str, str]:
    lines = (DEPLOY / "cnn-demo.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_systemd_accepts_the_replica_unit(tmp_path):
    text = (DEPLOY / "cnn-demo@.service").read_text()
    text = text.replace(f"{INSTALLED}/.venv/bin/python", sys.executable).replace(INSTALLED, str(ROOT))
    text = text.replace("/etc/cnn-demo.env", str(tmp_path / "cnn-demo.env"))
    shutil.copy(DEPLOY / "cnn-demo.env", tmp_path / "cnn-demo.env")
    (tmp_path / "cnn-demo@.service").write_text(text)
    checked = subprocess.run(["systemd-analyze", "verify", "cnn-demo@1.service"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    said = [line for line in (checked.stdout + checked.stderr).splitlines() if "cnn-demo" in line]
    assert checked.returncode == 0 and not said, said


def test_a_replica_started_as_its_unit_says_keeps_classes_in_the_database_its_environment_names(tmp_path):
    service = unit()["Service"]
    assert service["WorkingDirectory"] == INSTALLED and service["EnvironmentFile"] == "/etc/cnn-demo.env"
    command = shlex.split(service["ExecStart"].replace("%i", "1"))
    assert command[:2] == [f"{INSTALLED}/.venv/bin/python", "demo.py"]
    arguments = [argument.replace(STATE, str(tmp_path)) for argument in command[2:]]
    port = arguments.index("--port")
    assert arguments[port + 1] == "7861"  # replica 1, as deploy/haproxy.cfg's first server line
    del arguments[port:port + 2]  # the test's own free port instead
    shutil.copytree(ROOT / "saved_models", tmp_path / "models")
    settings = environment_file()
    assert set(settings) == {"CNN_DEMO_INSTRUCTOR_KEY", "CNN_DEMO_CLASS_DB", "CNN_DEMO_SERVED_MODELS"}
    with postgres_cluster() as cluster:
        settings["CNN_DEMO_CLASS_DB"] = cluster.database("cnn_demo")
        settings["CNN_DEMO_SERVED_MODELS"] = settings["CNN_DEMO_SERVED_MODELS"].replace(STATE, str(tmp_path))
        (tmp_path / "served").mkdir()
        with running_app(*arguments, env=settings, log=tmp_path / "replica.log") as (url, _):
            code = asyncio.run(open_a_class(url, settings["CNN_DEMO_INSTRUCTOR_KEY"]))
            assert httpx.get(f"{url}cnn-demo/network/mnist.json", timeout=60).status_code == 200
        with cluster.superuser("cnn_demo") as database:
            stored = [row[0] for row in database.execute("SELECT code FROM classes")]
    assert stored == [code]
    published = (tmp_path / "served" / "mnist.served").read_text().strip()  # the first replica publishes its model
    assert (tmp_path / "served" / published).is_file()


async def open_a_class(url: str, key: str) -> str:
    async with httpx.AsyncClient(timeout=60) as page:
        opened, error = await run_event(page, url, event_index(url, "class_open"), uuid.uuid4().hex, [key])
        assert opened is not None, error
        return opened[0]["code"]
