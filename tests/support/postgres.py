"""A throwaway PostgreSQL cluster the tests start themselves (Debian's ``postgresql``).

One cluster per test session (``initdb`` takes a few seconds), on a free
loopback port, in a temporary folder. ``initdb`` and ``pg_ctl`` refuse to run
as root, so as root (CI) the cluster belongs to ``nobody``. Each test gets a
fresh database of its own (``fresh_database``), so tests never see each
other's rows. Passwords are checked (scram) over TCP, as in production.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.broker import free_port

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "test-super-" + uuid.uuid4().hex[:8]


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    assert initdb, "PostgreSQL is missing: scripts/test installs Debian's postgresql"
    return Path(initdb).parent


class Postgres:
    """One cluster; ``stop`` and ``start`` again keep its port and data."""

    def __init__(self, folder: Path, *, options: str = "") -> None:
        self.folder = folder
        # More server settings (``-c name=value``), after and over the tests' own.
        self.options = options
        self.data = folder / "data"
        self.port = free_port()
        self.bin = _bin_dir()
        self.log = folder / "postgres.log"
        # As root, everything runs as nobody, who must own the folder.
        self._as: list[str] = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(folder, "nobody")
        pwfile = folder / "pw"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if self._as:
            shutil.chown(pwfile, "nobody")
        self._run(
            "initdb",
            "-D", str(self.data),
            "-U", SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
            "-E", "UTF8",
            "--locale=C",
        )  # fmt: skip
        pwfile.unlink()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            cwd=self.folder,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
            f" {self.options}"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        """A URL without a password: the password travels in PGPASSWORD or a file."""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def admin(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.url(database), password=SUPERUSER_PASSWORD, autocommit=True)

    def fresh_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        with self.admin() as db:
            db.execute(f"CREATE DATABASE {name}")
        return name


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="bf-pg-"))
    cluster = Postgres(folder)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def central_db(postgres_cluster: Postgres, monkeypatch: pytest.MonkeyPatch) -> str:
    """A URL to an empty database of its own; its password is in PGPASSWORD."""
    name = postgres_cluster.fresh_database()
    monkeypatch.setenv("PGPASSWORD", SUPERUSER_PASSWORD)
    return postgres_cluster.url(name)
