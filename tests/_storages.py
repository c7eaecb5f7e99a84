"""Storages for tests, after Optuna's ``optuna/testing/storages.py``: one suite, every back-end.

``storage_url`` gives each test a fresh, empty storage: an SQLite file in its temp folder, or a
new database on a throwaway PostgreSQL server that ``postgres_server`` starts once per session
(``initdb`` in a temp folder, a random port on 127.0.0.1, ``pg_ctl stop -m immediate`` at the
end). As root, the server runs as the system user ``lstmbench-pg`` (created if missing):
``initdb`` refuses root. Skipped, with the reason, only where the PostgreSQL binaries are missing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PG_USER = "lstmbench-pg"  # system user the test server (and "as a normal user" tests) run as
STORAGES = ["sqlite", "postgresql"]


def postgres_bin() -> Path | None:
    """Return the folder holding ``initdb`` and ``pg_ctl``: PATH first, then Debian's layout."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def unprivileged() -> dict[str, Any]:
    """Return ``subprocess`` keyword arguments that run a command as a normal user.

    Not root: nothing to do. Root: the system user ``lstmbench-pg``, created if missing; root
    ignores file permissions, so tests of a read-only folder need this too.
    """
    if os.geteuid() != 0:
        return {}
    # Test processes side by side (pytest-xdist) may both find the user missing: one creates it.
    with open(Path(tempfile.gettempdir()) / f"{PG_USER}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            entry = pwd.getpwnam(PG_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", PG_USER], check=True, capture_output=True)
            entry = pwd.getpwnam(PG_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def give_to(path: Path, run_as: dict[str, Any]) -> None:
    """Make ``path`` (a folder we created) owned by the user of ``run_as``."""
    if run_as:
        os.chown(path, run_as["user"], run_as["group"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    port: int
    user: str = "lstmbench"

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        auth = self.user if password is None else f"{self.user}:{password}"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """Create an empty database; return its URL (``postgresql://``, as users write it)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start_postgres(folder: Path) -> tuple[PostgresServer, Any]:
    """Start a server with its data in ``folder``; return it and a function that stops it."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not on PATH nor in "
                    "/usr/lib/postgresql/*/bin: `apt-get install postgresql` (.ci/run does)")
    run_as = unprivileged()
    give_to(folder, run_as)
    data = folder / "data"
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}

    def run(*cmd: str) -> None:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=folder,
                              timeout=120, **run_as)
        if proc.returncode:
            log = (folder / "log").read_text() if (folder / "log").exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stdout}{proc.stderr}{log}")

    run(str(bindir / "initdb"), "-D", str(data), "-U", "lstmbench", "--auth=trust", "-E", "UTF8",
        "--no-sync")
    for attempt in range(3):  # a random port may be taken between choosing and binding it
        port = free_port()
        try:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60",
                "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                      "-c max_connections=100",
                "start")
            break
        except RuntimeError:
            if attempt == 2:
                raise

    def stop() -> None:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")

    return PostgresServer(port=port), stop


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session."""
    folder = Path(tempfile.mkdtemp(prefix="lstmbench-pg-"))
    try:
        server, stop = start_postgres(folder)
        try:
            yield server
        finally:
            stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database."""
    return postgres_server.create_database()


@pytest.fixture(params=STORAGES)
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty storage of each kind: run the same test on SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storage.db'}"
    return request.getfixturevalue("postgres_url")


@contextlib.contextmanager
def small_disk(size: str = "4m") -> Iterator[Path]:
    """A real filesystem of ``size`` (a tmpfs mounted in a temp folder), unmounted afterwards.

    Mounting needs root (CI runs as root); elsewhere the test is skipped, with the reason.
    """
    folder = Path(tempfile.mkdtemp(prefix="lstmbench-small-disk-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=1777", "tmpfs",
                              str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        folder.rmdir()
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a small tmpfs in CI: {mounted.stderr.strip()}")
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], capture_output=True)
        folder.rmdir()


def fill(folder: Path) -> Path:
    """Fill the filesystem of ``folder`` to the last byte with a file; return the file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as f:
        for chunk in (1 << 16, 512, 1):  # big writes, then the last few bytes
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler
