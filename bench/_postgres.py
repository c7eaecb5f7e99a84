"""A throwaway PostgreSQL server for the benchmarks, as ``tests/_storages.py`` starts one for
the tests: ``initdb`` in a temporary folder, a free port on 127.0.0.1, stopped at the end."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PG_USER = "lstmbench-pg"  # initdb refuses root: as root, the server runs as this system user


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not versions:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    return Path(versions[-1]).parent


def _run_as() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        PG_USER], check=True, capture_output=True)
        entry = pwd.getpwnam(PG_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@contextlib.contextmanager
def postgres(max_connections: int = 200) -> Iterator[str]:
    """Yield the URL of a database on a fresh server; stop the server and delete it after."""
    folder = Path(tempfile.mkdtemp(prefix="lstmbench-bench-pg-"))
    run_as = _run_as()
    if run_as:
        os.chown(folder, run_as["user"], run_as["group"])
    bindir, data, port = _bindir(), folder / "data", free_port()

    def run(*cmd: str) -> None:
        subprocess.run(cmd, check=True, capture_output=True, cwd=folder, timeout=120,
                       env={**os.environ, "LC_ALL": "C", "TZ": "UTC"}, **run_as)

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "lstmbench", "--auth=trust", "-E", "UTF8",
            "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c max_connections={max_connections}", "start")
        try:
            yield f"postgresql://lstmbench@127.0.0.1:{port}/postgres"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
