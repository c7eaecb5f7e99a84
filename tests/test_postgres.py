"""Scale-out: several sweeps on one storage, concurrent first starts, a worker killed mid-trial.

Storage tests run on SQLite and on a real PostgreSQL server (``tests/_storages.py``).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import optuna
import pytest

from _sweeps import LONG, mid_trial, start_sweep, states, trials, wait_for, write_spec
from lstmbench.storage import driver_url
from lstmbench.study import run_sweep
from lstmbench.study._queue import open_plans

# Set up a study the way `lstmbench sweep` does, without training: many of these start at once.
SET_UP = """\
import sys, time
from pathlib import Path
from lstmbench.spec import load_study_spec
from lstmbench.storage import first_start_lock, open_storage
from lstmbench.study._queue import queue_trials
from lstmbench.study._study import create_or_join
url, spec, go, ready = sys.argv[1:]
spec = load_study_spec(spec)
Path(ready).touch()  # imports done: from here on only the race is left
end = time.time() + 60
while not Path(go).exists() and time.time() < end:
    time.sleep(0.01)
with first_start_lock(url):
    study = create_or_join(open_storage(url, heartbeat=5), "shared", spec)
queue_trials(study, spec, 2)
"""


def test_concurrent_first_starts_make_one_study(tmp_path, storage_url):
    spec = write_spec(tmp_path)
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(4)]
    procs = [subprocess.Popen([sys.executable, "-c", SET_UP, storage_url, str(spec), str(go),
                               str(r)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for r in ready]
    # All four have imported Optuna: now they race on the empty database.
    wait_for(lambda: all(r.exists() for r in ready), timeout=120, what="four set-ups ready")
    go.touch()
    results = [(p.wait(120), *p.communicate()) for p in procs]
    assert [r[0] for r in results] == [0] * 4, results
    assert states(storage_url, "shared") == {}  # a sweep records its plan; workers queue it
    study = optuna.load_study(study_name="shared", storage=driver_url(storage_url))
    assert sorted(plan["n"] for plan in open_plans(study).values()) == [2, 2, 2, 2]


def test_a_sweep_runs_and_a_second_one_continues_it(tmp_path, storage_url):
    spec = write_spec(tmp_path)
    first = run_sweep(trials=2, spec=str(spec), storage=storage_url, jobs=1, quiet=True)
    second = run_sweep(trials=2, spec=str(spec), storage=storage_url, jobs=1, quiet=True)
    assert (first.complete, second.complete, second.left) == (2, 2, 0)
    ts = trials(storage_url, "tiny")
    assert [t.number for t in ts] == [0, 1, 2, 3]
    assert sorted(t.params["arm"] for t in ts) == ["stateful", "stateful", "stateless", "stateless"]


@pytest.mark.slow
def test_three_machines_on_one_postgres_study_complete_every_trial(tmp_path, postgres_url):
    spec = write_spec(tmp_path)
    command = ("--trials", "2", "--jobs", "1", "--study", "shared", "--spec", str(spec),
               "--storage", postgres_url)
    start = time.monotonic()
    sweeps = [start_sweep(tmp_path / f"machine-{i}", *command) for i in range(3)]
    codes = [s.wait(300) for s in sweeps]
    wall = time.monotonic() - start
    assert codes == [0, 0, 0], [s.output for s in sweeps]
    for s in sweeps:
        assert "Traceback" not in s.output
    ts = trials(postgres_url, "shared")
    assert len(ts) == 6 and {t.state.name for t in ts} == {"COMPLETE"}
    assert sorted(t.params["arm"] for t in ts) == ["stateful"] * 3 + ["stateless"] * 3
    print(f"3 sweeps on one PostgreSQL study: {len(ts)} trials in {wall:.1f} s")


@pytest.mark.slow
def test_a_killed_workers_trial_is_failed_retried_and_nothing_stays_running(tmp_path, postgres_url):
    spec = write_spec(tmp_path, LONG, "long")
    common = ("--jobs", "1", "--spec", str(spec), "--storage", postgres_url, "--heartbeat", "1")
    doomed = start_sweep(tmp_path / "a", "--trials", "3", *common)
    try:
        wait_for(lambda: mid_trial(postgres_url, "long"), "a trial mid-way", sweeps=(doomed,))
    finally:
        doomed.proc.send_signal(signal.SIGKILL)  # power loss: no handler runs, nothing written
    assert doomed.wait(30) == -signal.SIGKILL
    killed = [t.number for t in trials(postgres_url, "long") if t.state.name == "RUNNING"]
    assert len(killed) == 1

    survivor = start_sweep(tmp_path / "b", "--trials", "0", *common)
    assert survivor.wait(300) == 0, survivor.output
    ts = trials(postgres_url, "long")
    assert {t.state.name for t in ts} == {"COMPLETE", "FAIL"}, survivor.output  # none RUNNING
    (dead,) = [t for t in ts if t.state.name == "FAIL"]
    assert dead.number == killed[0]
    (retry,) = [t for t in ts if t.user_attrs.get("retry_of") == dead.number]
    assert retry.state.name == "COMPLETE" and retry.params == dead.params
    assert retry.system_attrs["failed_trial"] == dead.number  # Optuna's own record of the retry
    assert sum(t.state.name == "COMPLETE" for t in ts) == 3
    assert (f"trial {dead.number} " in survivor.stdout and
            f"FAILED (its worker stopped sending heartbeats; queued again as trial {retry.number})"
            in survivor.stdout), survivor.stdout


def test_the_postgres_fixture_gives_a_fresh_database(postgres_url):
    assert trials(postgres_url, "anything") == []
    assert "@127.0.0.1:" in postgres_url  # the server listens on loopback only
