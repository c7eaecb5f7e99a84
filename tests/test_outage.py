"""A real PostgreSQL server stopped and started under a running sweep: the sweep waits for it
with one line, goes on, and loses nothing; one that stays away stops the sweep with one line,
and the next run finishes it. Also the waiting itself, on a storage that cannot be reached."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _storages import free_port, give_to, postgres_bin, unprivileged
from _sweeps import LONG, LONG_EPOCHS, mid_trial, start_sweep, trials, wait_for, write_spec
from lstmbench.storage import Patience, StorageLost, is_outage, open_storage


@dataclass
class Server:
    """A PostgreSQL server of its own, which a test can stop and start again on its port."""

    folder: Path
    port: int

    def ctl(self, *args: str) -> None:
        bindir = postgres_bin()
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(self.folder / "data"), *args], check=True,
                       capture_output=True, cwd=self.folder, timeout=120, **unprivileged(),
                       env={**os.environ, "LC_ALL": "C", "TZ": "UTC"})

    def start(self) -> None:
        self.ctl("-l", str(self.folder / "log"), "-w", "-t", "60", "-o",
                 f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                 "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql://lstmbench@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def server() -> Iterator[Server]:
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    folder = Path(tempfile.mkdtemp(prefix="lstmbench-outage-"))
    give_to(folder, unprivileged())
    subprocess.run([str(bindir / "initdb"), "-D", str(folder / "data"), "-U", "lstmbench",
                    "--auth=trust", "-E", "UTF8", "--no-sync"], check=True, capture_output=True,
                   cwd=folder,
                   **unprivileged())
    server = Server(folder, free_port())
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def completed(url: str) -> dict[int, tuple]:
    return {t.number: (t.value, t.user_attrs) for t in trials(url, "long")
            if t.state.name == "COMPLETE"}


def check_nothing_lost(url: str, before: dict[int, tuple], asked: int) -> None:
    after = trials(url, "long")
    assert {t.state.name for t in after} <= {"COMPLETE", "FAIL"}  # none RUNNING, none WAITING
    assert sum(t.state.name == "COMPLETE" for t in after) == asked
    retried = {t.user_attrs.get("retry_of") for t in after}
    assert all(t.number in retried for t in after if t.state.name == "FAIL")
    for number, record in before.items():  # completed before the outage: untouched
        assert (after[number].value, after[number].user_attrs) == record


@pytest.mark.slow
def test_a_sweep_waits_for_a_restarted_server_and_loses_nothing(tmp_path, server):
    spec = write_spec(tmp_path, LONG, "long")
    sweep = start_sweep(tmp_path / "run", "--trials", "3", "--jobs", "2", "--spec", str(spec),
                        "--storage", server.url, "--heartbeat", "2")
    try:
        wait_for(lambda: mid_trial(server.url, "long", complete=1), "a completed trial and one "
                 "mid-way", sweeps=(sweep,))
        before = completed(server.url)
        server.stop()
        wait_for(lambda: "storage unreachable" in sweep.stdout, "the waiting line", sweeps=(sweep,))
        server.start()
        assert sweep.wait(300) == 0, sweep.output
    finally:
        if sweep.proc.poll() is None:
            sweep.proc.kill()
    assert sweep.stdout.count("lstmbench: storage unreachable") == 1, sweep.output
    assert "lstmbench: storage back after" in sweep.stdout
    assert "Traceback" not in sweep.output and "Exception in thread" not in sweep.output
    check_nothing_lost(server.url, before, 3)


@pytest.mark.slow
def test_a_server_that_stays_away_stops_the_sweep_and_the_next_run_finishes(tmp_path, server):
    spec = write_spec(tmp_path, LONG, "long")
    sweep = start_sweep(tmp_path / "run", "--trials", "3", "--jobs", "1", "--spec", str(spec),
                        "--storage", server.url, "--heartbeat", "2", "--storage-patience", "3")
    try:
        wait_for(lambda: mid_trial(server.url, "long", complete=1), "a completed trial and one "
                 "mid-way", sweeps=(sweep,))
        before = completed(server.url)
        server.stop()
        assert sweep.wait(120) == 1, sweep.output
    finally:
        if sweep.proc.poll() is None:
            sweep.proc.kill()
    assert sweep.stderr.startswith("lstmbench: the storage stayed unreachable for 3 s")
    assert sweep.stderr.count("\n") == 1 and "Traceback" not in sweep.output, sweep.output
    server.start()
    run = start_sweep(tmp_path / "again", "--trials", "0", "--jobs", "1", "--spec", str(spec),
                      "--storage", server.url, "--heartbeat", "2")
    assert run.wait(300) == 0, run.output
    check_nothing_lost(server.url, before, 3)


def test_a_write_cut_off_by_the_server_queues_the_trial_again_not_a_plain_failure(
        tmp_path, server, monkeypatch):
    """The server goes away exactly while the running trial writes, and is back before Optuna
    would record the trial's end: the trial is not a FAIL with the storage's error (which
    nothing retries) but cut off — failed as such and its configuration queued again."""
    from lstmbench.storage._optuna import _writes
    from lstmbench.study import run_sweep

    real_flush, cut = _writes.TrialWriter.flush, []

    def flush(self, user_attrs=None):
        if self.trial.number == 0 and not cut and self._pending:  # its first epoch's write
            cut.append(self.trial.number)
            server.stop()
            try:
                return real_flush(self, user_attrs)
            finally:
                server.start()
        return real_flush(self, user_attrs)

    monkeypatch.setattr(_writes.TrialWriter, "flush", flush)
    spec = write_spec(tmp_path, LONG.replace(f"epochs = {LONG_EPOCHS}", "epochs = 3"), "long")
    outcome = run_sweep(trials=1, spec=str(spec), storage=server.url, jobs=1, quiet=True)
    assert cut == [0] and outcome.complete == 1, outcome
    first, retry = trials(server.url, "long")
    assert first.state.name == "FAIL", first
    assert first.user_attrs["fail_reason"] == "the storage was unreachable during the trial"
    assert retry.state.name == "COMPLETE" and retry.user_attrs["retry_of"] == 0
    assert retry.params == first.params


def test_patience_runs_out_with_one_line_and_says_it_once(tmp_path):
    said: list[str] = []
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"  # nothing listens there

    def connect() -> None:
        import sqlalchemy

        engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            engine.connect()
        finally:
            engine.dispose()

    with pytest.raises(StorageLost) as info:
        Patience(1.0, say=said.append).run(connect)
    assert len(said) == 1 and said[0].startswith("lstmbench: storage unreachable (")
    assert str(info.value).startswith("the storage stayed unreachable for 1 s (")
    assert info.value.exit_code == 1 and "\n" not in str(info.value)


def test_other_errors_are_not_waited_for(tmp_path):
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise ValueError("a bug, not an outage")

    with pytest.raises(ValueError):
        Patience(60).run(broken)
    assert calls == [1] and not is_outage(ValueError())


def test_a_storage_that_comes_back_is_used_again(tmp_path, server):
    storage = open_storage(server.url, heartbeat=None)
    said: list[str] = []
    server.stop()
    attempts: list[int] = []

    def read() -> int:
        attempts.append(1)
        if len(attempts) == 3:
            server.start()  # back while the caller waits
        with storage.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT 1").scalar()

    assert Patience(60, say=said.append).run(read) == 1
    assert len(attempts) == 3 and len(said) == 2 and said[1].startswith("lstmbench: storage back")
