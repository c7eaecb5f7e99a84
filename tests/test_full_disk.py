"""A storage on a full disk: the sweep ends at once with one line naming the storage and the
space, exit 1; the trial it interrupted goes back to the queue (never FAIL), completed trials
stay, and once space is freed the same study finishes. On a real filesystem of a few MB."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from _storages import fill, give_to, small_disk, start_postgres, unprivileged
from _sweeps import LONG, TINY, mid_trial, run_cli, start_sweep, trials, wait_for, write_spec
from lstmbench.storage import StorageFull, is_full, is_outage


def full_line(stderr: str, url: str, folder) -> None:
    """The sweep's one line: the storage (its URL), SQLite's words, and the space."""
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert stderr.startswith(f"lstmbench: the storage {url} is full (database or disk is full): "
                             f"{folder} has "), stderr
    assert "bytes free of 4.0 MiB" in stderr and "--trials 0" in stderr, stderr


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_full_disk_ends_the_sweep_with_one_line_and_queues_the_trial_again(tmp_path, jobs):
    spec = write_spec(tmp_path, LONG, "long")
    with small_disk("4m") as disk:
        url = f"sqlite:///{disk / 'full.db'}"
        sweep = start_sweep(tmp_path / "run", "--trials", "3", "--jobs", jobs, "--spec", str(spec),
                            "--storage", url, "--heartbeat", "2")
        try:
            wait_for(lambda: mid_trial(url, "long", complete=1), "a completed trial and one "
                     "mid-way", sweeps=(sweep,))
            running = {t.number for t in trials(url, "long") if t.state.name == "RUNNING"}
            filler = fill(disk)
            filled = time.monotonic()
            assert sweep.wait(120) == 1, sweep.output
            took = time.monotonic() - filled
        finally:
            if sweep.proc.poll() is None:
                sweep.proc.kill()
        before = {t.number: (t.value, t.user_attrs) for t in trials(url, "long")
                  if t.state.name == "COMPLETE"}
        full_line(sweep.stderr, url, disk)
        assert took < 30, took  # not the 60 s an outage is waited for
        states = {t.number: t.state.name for t in trials(url, "long")}
        assert set(states.values()) <= {"COMPLETE", "WAITING"}, states  # no FAIL, none RUNNING
        assert all(states[n] in ("WAITING", "COMPLETE") for n in running), (running, states)
        assert any(states[n] == "WAITING" for n in running), (running, states)

        os.remove(filler)  # space again: the same study finishes, nothing failed, nothing lost
        again = run_cli(tmp_path, "sweep", "--trials", "0", "--jobs", "1", "--spec", str(spec),
                        "--storage", url, "--quiet", timeout=300)
        assert again.returncode == 0, again.stdout + again.stderr
        after = trials(url, "long")
    assert [t.state.name for t in after] == ["COMPLETE"] * 3
    for number, record in before.items():
        assert (after[number].value, after[number].user_attrs) == record


def test_a_sweep_that_starts_on_a_full_disk_says_so(tmp_path):
    spec = write_spec(tmp_path, TINY, "tiny")
    with small_disk("4m") as disk:
        url = f"sqlite:///{disk / 'full.db'}"
        first = run_cli(tmp_path, "sweep", "--trials", "1", "--jobs", "1", "--spec", str(spec),
                        "--storage", url, "--quiet")
        assert first.returncode == 0, first.stderr
        fill(disk)
        started = time.monotonic()
        res = run_cli(tmp_path, "sweep", "--trials", "2", "--jobs", "1", "--spec", str(spec),
                      "--storage", url, "--quiet")
        took = time.monotonic() - started
        states = [t.state.name for t in trials(url, "tiny")]
    assert res.returncode == 1, res.stdout + res.stderr
    full_line(res.stderr, url, disk)
    assert took < 30, took
    assert states == ["COMPLETE"]  # the first sweep's trial, nothing else


def test_sqlite_full_is_told_apart_from_an_outage(tmp_path):
    """SQLite's own error for a database that cannot grow (a page limit: the same SQLITE_FULL
    as a full disk) is a full storage, and an outage by its class too: full comes first."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'capped.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x BLOB)")
    with pytest.raises(sqlalchemy.exc.OperationalError) as info, engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA max_page_count = 3")
        for _ in range(10):
            conn.exec_driver_sql("INSERT INTO t VALUES (zeroblob(4096))")
    engine.dispose()
    assert is_full(info.value) and is_outage(info.value)
    assert not is_full(ValueError("a bug")) and not is_full(ConnectionRefusedError())
    message = str(StorageFull(f"sqlite:///{tmp_path / 'capped.db'}", study="s"))
    assert message.startswith(f"the storage sqlite:///{tmp_path / 'capped.db'} is full "
                              f"(database or disk is full): {tmp_path} has ")
    assert "\n" not in message


@pytest.mark.slow
def test_a_full_postgresql_disk_ends_the_sweep_with_one_line(tmp_path):
    """The database in a tablespace on a small filesystem (the server's own files elsewhere: a
    server whose data folder fills up crashes at its next checkpoint, an outage): PostgreSQL's
    "could not extend file ...: No space left on device" ends the sweep with one line."""
    import psycopg

    spec = write_spec(tmp_path, LONG, "long")
    folder = Path(tempfile.mkdtemp(prefix="lstmbench-full-pg-"))  # the server's user can enter it
    server, stop = start_postgres(folder)
    try:
        with small_disk("8m") as disk:
            place = disk / "tablespace"
            place.mkdir()
            give_to(place, unprivileged())
            with psycopg.connect(server.url(), autocommit=True) as conn:
                conn.execute(f"CREATE TABLESPACE small LOCATION '{place}'")
                conn.execute("CREATE DATABASE onsmall TABLESPACE small")
            url = server.url("onsmall")
            sweep = start_sweep(tmp_path / "run", "--trials", "3", "--jobs", "1", "--spec",
                                str(spec), "--storage", url, "--heartbeat", "2")
            try:
                wait_for(lambda: mid_trial(url, "long", complete=1), "a completed trial and one "
                         "mid-way", sweeps=(sweep,))
                (running,) = [t.number for t in trials(url, "long") if t.state.name == "RUNNING"]
                filler = fill(disk)
                assert sweep.wait(120) == 1, sweep.output
            finally:
                if sweep.proc.poll() is None:
                    sweep.proc.kill()
            err = sweep.stderr
            assert err.startswith(f"lstmbench: the storage {url} is full (could not extend file "), err
            assert "No space left on device" in err and f"{place} has " in err, err
            assert err.count("\n") == 1 and "Traceback" not in sweep.output, sweep.output
            states = {t.number: t.state.name for t in trials(url, "long")}
            assert states[running] == "WAITING" and "FAIL" not in states.values(), states

            os.remove(filler)
            again = run_cli(tmp_path, "sweep", "--trials", "0", "--jobs", "1", "--spec", str(spec),
                            "--storage", url, "--quiet", timeout=600)
            assert again.returncode == 0, again.stdout + again.stderr
            assert [t.state.name for t in trials(url, "long")] == ["COMPLETE"] * 3
            with psycopg.connect(server.url(), autocommit=True) as conn:  # the tmpfs can go
                conn.execute("DROP DATABASE onsmall")
                conn.execute("DROP TABLESPACE small")
    finally:
        stop()
        shutil.rmtree(folder, ignore_errors=True)
