"""A throw-away PostgreSQL cluster for the test session, and the index backends tests are parametrised over.

``postgres_server`` (session-scoped) runs Debian's PostgreSQL (installed by
``scripts/install_postgres.sh``, which the README's test command runs) from
``initdb``/``pg_ctl`` in a temporary directory: a free port, its unix socket in
that directory, no TCP listener, trust authentication. As root it runs them as
the unprivileged ``postgres`` user (``nobody`` without it), since PostgreSQL
refuses root. It is stopped and the directory removed however the session ends.
Each test gets a database of its own (:meth:`PostgresServer.new_database`).

``index_target`` gives a SQLite path or a PostgreSQL URL (ids ``sqlite`` and
``postgresql``); without PostgreSQL installed the second is skipped, unless
``CI`` is set, where it fails (as the browser test does).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import free_port

__all__ = ["PostgresServer", "postgres_bin", "postgres_server", "throwaway_cluster", "index_target", "BACKENDS"]

BACKENDS = ("sqlite", "postgresql")


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian keeps them under /usr/lib/postgresql/N/bin)."""
    root = Path("/usr/lib/postgresql")
    found = sorted((p for p in root.glob("*/bin") if (p / "initdb").exists()),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0) if root.is_dir() else []
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """A running cluster; :meth:`new_database` makes an empty database and gives its URL."""

    def __init__(self, bindir: Path, folder: Path, port: int, user: pwd.struct_passwd | None) -> None:
        self.bindir, self.folder, self.port, self._user = bindir, folder, port, user
        self.data = folder / "data"
        self._names = itertools.count(1)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        ids = {} if self._user is None else {"user": self._user.pw_uid, "group": self._user.pw_gid}
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False, cwd=self.folder, **ids)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.folder}&port={self.port}"

    def start(self) -> None:
        init = self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                         "-E", "UTF8", "--locale=C", "--no-sync")
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr or init.stdout}")
        self.start_again()

    def start_again(self) -> None:
        """Start the initialised cluster (after :meth:`stop`: its databases are kept)."""
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
                   " -c full_page_writes=off -c max_connections=300")
        started = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
                            "-l", str(self.folder / "postgres.log"), "-w", "-t", "60", "start")
        if started.returncode != 0:
            log = (self.folder / "postgres.log").read_text(errors="replace")[-3000:] \
                if (self.folder / "postgres.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr or started.stdout}\n{log}")

    def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl stop -m mode``: ``fast`` ends every session and shuts down cleanly, as an operator does."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL cluster for the session (see the module docstring); skipped when not installed."""
    with throwaway_cluster() as server:
        yield server


@contextmanager
def throwaway_cluster() -> Iterator[PostgresServer]:
    """A cluster of its own (a test that stops and starts it leaves the session's alone); skipped (failed
    under ``CI``) when PostgreSQL is not installed; stopped and removed however the block ends."""
    bindir = postgres_bin()
    if bindir is None:
        message = "PostgreSQL is not installed (scripts/install_postgres.sh installs Debian's package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            user = pwd.getpwnam("nobody")
    folder = Path(tempfile.mkdtemp(prefix="provenance-pg-"))
    server = PostgresServer(bindir, folder, free_port(), user)
    try:
        if user is not None:
            os.chown(folder, user.pw_uid, user.pw_gid)
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
def index_target(request, tmp_path):
    """Where an index is opened: a SQLite file, or an empty PostgreSQL database (one per test)."""
    if request.param == "sqlite":
        return tmp_path / "index.sqlite"
    return request.getfixturevalue("postgres_server").new_database()
