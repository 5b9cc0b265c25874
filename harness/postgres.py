"""A PostgreSQL server of the tests' own: a cluster made with Debian's ``initdb`` in a temporary folder, run by an
unprivileged user on loopback, stopped and removed at the end.

The class store's tests run against it (tests/test_class_store.py), and so do the replicas' test and benchmark.
PostgreSQL refuses to run as root, and CI runs the tests as root: then the cluster belongs to Debian's
``postgres`` user (the ``postgresql`` package makes it), or ``nobody`` where there is none. Connections come over
TCP on 127.0.0.1 only (no Unix socket), with passwords (SCRAM), as the app connects to a real server: its
superuser ``postgres`` makes the databases, each owned by an ordinary role, the app's.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import sql

from harness.app_server import free_port

START_SECONDS = 60.0
SUPERUSER = "postgres"


def server_binaries() -> Path:
    """The folder of PostgreSQL's server programs: Debian keeps them off the PATH, by major version."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[-3]))
    initdb = found[-1] if found else shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL's initdb is not installed (Debian: apt-get install postgresql; ./run-tests "
                           "installs it)")
    return Path(initdb).resolve().parent


def unprivileged_user() -> pwd.struct_passwd | None:
    """Whom the server runs as: None (this process's own user) unless it is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, with no postgres or nobody user to run PostgreSQL as")


@dataclass
class Cluster:
    """A running server: its port and superuser password; ``database()`` makes a database and a role for it;
    ``stop()`` and ``start()`` restart it, as an administrator restarts a database server mid-class."""
    folder: Path
    port: int
    password: str
    command: list
    user: pwd.struct_passwd | None
    process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.folder / "server.log", "a") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                            env=_environment(self.folder), cwd=self.folder, **_as(self.user))
        _wait_until_ready(self)

    def stop(self) -> None:
        """Fast shutdown: the open connections are closed, the server's clients find them gone."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def url(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def superuser(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(SUPERUSER, self.password, database), autocommit=True)

    def database(self, name: str, extensions: tuple[str, ...] = ()) -> str:
        """A new database ``name``, owned by a new role of the same name with a password of its own, with the given
        extensions installed (by the superuser); the role's URL to it."""
        password = secrets.token_urlsafe(16)
        with self.superuser() as admin:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name),
                                                                             sql.Literal(password)))
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(name)))
        with self.superuser(name) as admin:
            for extension in extensions:  # its functions too: amcheck's are the superuser's alone by default
                admin.execute(sql.SQL("CREATE EXTENSION {}").format(sql.Identifier(extension)))
                admin.execute(sql.SQL("GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {}").format(
                    sql.Identifier(name)))
        return self.url(name, password, name)

    def files_of(self, database: str) -> list[Path]:
        """The files of ``database``'s tables and indexes, once everything written is in them (a checkpoint);
        not the write-ahead log."""
        with self.superuser() as admin:
            admin.execute("CHECKPOINT")
            oid = admin.execute("SELECT oid FROM pg_database WHERE datname = %s", (database,)).fetchone()[0]
        return [path for path in (self.folder / "data" / "base" / str(oid)).iterdir() if path.is_file()]

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")


def _as(user: pwd.struct_passwd | None) -> dict:
    return {} if user is None else {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@contextlib.contextmanager
def postgres_cluster(settings: dict[str, str] | None = None) -> Iterator[Cluster]:
    """A new cluster, started; stopped (fast shutdown) and removed at the end. ``settings``: server options."""
    binaries, user = server_binaries(), unprivileged_user()
    # Not under pytest's temporary folders: those are private to root, and the server's user must reach its own.
    folder = Path(tempfile.mkdtemp(prefix="cnn-demo-postgres-"))
    try:
        password = secrets.token_urlsafe(16)
        (folder / "password").write_text(password)
        (folder / "server.log").touch()
        if user is not None:
            for path in (folder, folder / "password", folder / "server.log"):
                os.chown(path, user.pw_uid, user.pw_gid)
        subprocess.run([binaries / "initdb", "--pgdata", folder / "data", "--username", SUPERUSER, "--pwfile",
                        folder / "password", "--auth", "scram-sha-256", "--encoding", "UTF8", "--data-checksums",
                        "--no-sync"], check=True, capture_output=True, env=_environment(folder), cwd=folder,
                       **_as(user))
        port = free_port()
        options = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": "",
                   "max_connections": "200", **(settings or {})}
        command = [binaries / "postgres", "-D", folder / "data",
                   *(f"--{name.replace('_', '-')}={value}" for name, value in options.items())]
        cluster = Cluster(folder, port, password, command, user)
        try:
            cluster.start()
            yield cluster
        finally:
            if cluster.process is not None and cluster.process.poll() is None:
                cluster.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _environment(folder: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "HOME": str(folder)}


def _wait_until_ready(cluster: Cluster) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            cluster.superuser().close()
            return
        except psycopg.OperationalError:
            if cluster.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start:\n{cluster.log()[-3000:]}") from None
            time.sleep(0.1)
