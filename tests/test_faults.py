"""Faults and bad input: Ctrl-C, SIGTERM, a NaN loss, a trial that raises, bad storage files.

Whatever happens, no completed trial is lost, nothing stays RUNNING, the user gets one clear
line (no traceback) and a non-zero exit where it failed, and no file the user did not ask to
change is changed.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from rich.console import Console

from _sweeps import (
    LONG,
    LONG_EPOCHS,
    TINY,
    Sweep,
    group_gone,
    kill_group,
    mid_trial,
    run_cli,
    start_sweep,
    states,
    trials,
    wait_for,
    workers,
    write_spec,
)
from lstmbench.errors import UserError
from lstmbench.storage import open_storage
from lstmbench.study import run_sweep
from lstmbench.study._queue import not_queued


def fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


# --- trials that fail: the sweep goes on ---------------------------------------------------------


def test_a_nan_loss_fails_the_trial_with_its_reason_and_the_sweep_goes_on(tmp_path, storage_url):
    # A real NaN: Adam steps of 1e38 overflow float32 in the first epoch.
    spec = write_spec(tmp_path, TINY.replace("epochs = 3", "epochs = 3\nlearning_rate = 1e38"), "nan")
    out = io.StringIO()
    outcome = run_sweep(trials=3, spec=str(spec), storage=storage_url, jobs=1,
                        console=Console(file=out, width=200))
    # every trial ran (the sweep went on after each failure), and a sweep that only failed says so
    assert outcome.exit_code == 1 and outcome.failed == 3 and outcome.left == 0
    reason = "the train loss of every one of 2 members became non-finite (by epoch 1)"  # 2 seeds
    for t in trials(storage_url, "nan"):
        assert t.state.name == "FAIL"
        assert t.user_attrs["fail_reason"] == reason
    assert out.getvalue().count(f"FAILED ({reason})") == 3
    assert f"lstmbench: all 3 trials of this sweep failed (most often: {reason}); fix the spec" in \
        out.getvalue()
    assert "Traceback" not in out.getvalue()


def test_a_trial_that_raises_fails_with_its_reason_and_the_others_complete(tmp_path, monkeypatch):
    import lstmbench.trial

    real = lstmbench.trial.run_trial

    def run_trial(spec, **kwargs):
        if not spec.model.stateful:
            raise MemoryError("out of memory (simulated)")
        return real(spec, **kwargs)

    monkeypatch.setattr(lstmbench.trial, "run_trial", run_trial)
    url = f"sqlite:///{tmp_path / 'raise.db'}"
    outcome = run_sweep(trials=4, spec=str(write_spec(tmp_path, TINY, "tiny")), storage=url,
                        jobs=1, quiet=True)
    assert (outcome.exit_code, outcome.complete, outcome.failed) == (0, 2, 2)
    by_arm = {(t.params["arm"], t.state.name) for t in trials(url, "tiny")}
    assert by_arm == {("stateful", "COMPLETE"), ("stateless", "FAIL")}
    (reason,) = {t.user_attrs.get("fail_reason") for t in trials(url, "tiny") if t.state.name == "FAIL"}
    # an allocation that failed is named in one line with the fix, like any out-of-memory
    assert reason.startswith("out of memory: out of memory (simulated): use smaller sizes"), reason


def test_a_ctrl_c_python_cannot_raise_still_stops_the_trial_at_the_epoch_end(tmp_path, monkeypatch,
                                                                            capfd):
    """A signal handled inside a weakref callback (garbage collected mid-epoch, as in TensorFlow's
    Python code): Python ignores the KeyboardInterrupt raised there and prints "Exception ignored"
    with a traceback. The trial must still stop, at the end of that epoch, and nothing printed."""
    import weakref

    import lstmbench.trial

    real = lstmbench.trial.run_trial

    def run_trial(spec, *, on_epoch, **kwargs):
        def interrupted_in_epoch_1(epoch, val_accuracy, train_loss):
            if epoch == 1:
                garbage = type("Garbage", (), {})()
                ref = weakref.ref(garbage, lambda _: signal.raise_signal(signal.SIGINT))
                del garbage  # the callback runs here: the handler raises inside it
                assert ref() is None
            on_epoch(epoch, val_accuracy, train_loss)

        return real(spec, on_epoch=interrupted_in_epoch_1, **kwargs)

    monkeypatch.setattr(lstmbench.trial, "run_trial", run_trial)
    url = f"sqlite:///{tmp_path / 'gc.db'}"
    outcome = run_sweep(trials=2, spec=str(write_spec(tmp_path, TINY, "tiny")), storage=url,
                        jobs=1, quiet=True)
    assert (outcome.exit_code, outcome.complete, outcome.left) == (130, 0, 2)
    first = trials(url, "tiny")[0]
    assert first.state.name == "FAIL"
    assert first.user_attrs["fail_reason"] == "interrupted (Ctrl-C or SIGTERM)"
    assert list(first.intermediate_values) == [1]  # stopped at the end of epoch 1, not later
    err = capfd.readouterr().err
    assert "Exception ignored" not in err and "Traceback" not in err, err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored


# --- Ctrl-C and SIGTERM ------------------------------------------------------------------------


def check_stopped_cleanly(url: str, study: str, output: str, *, interrupted: int) -> None:
    """No traceback, nothing RUNNING, each stopped trial FAIL with its reason and queued again."""
    assert "Traceback" not in output, output
    ts = trials(url, study)
    assert not [t for t in ts if t.state.name == "RUNNING"]
    failed = [t for t in ts if t.state.name == "FAIL"]
    assert len(failed) == interrupted, output
    assert [t.user_attrs["fail_reason"] for t in failed] \
        == ["interrupted (Ctrl-C or SIGTERM)"] * interrupted
    # Each stopped trial is queued again: its retry is WAITING, or was itself taken by a worker
    # that the signal reached a moment later and stopped in turn (then follow that one's retry).
    retry = {t.user_attrs["retry_of"]: t for t in ts if "retry_of" in t.user_attrs}
    for t in failed:
        r = retry[t.number]
        while r.state.name == "FAIL":
            r = retry[r.number]
        assert r.state.name == "WAITING"
        # a queued trial holds its configuration as Optuna's "fixed_params"
        assert r.system_attrs["fixed_params"] == (t.params or t.system_attrs["fixed_params"])


@pytest.mark.slow
def test_ctrl_c_keeps_completed_trials_and_a_second_run_continues(tmp_path, storage_url):
    secret = "SECRET-pw"
    url = storage_url.replace("://lstmbench@", f"://lstmbench:{secret}@")  # PostgreSQL: trust auth
    spec = write_spec(tmp_path, LONG, "long")
    sweep = start_sweep(tmp_path / "run", "--trials", "3", "--jobs", "1", "--spec", str(spec),
                        "--storage", url, "--heartbeat", "2")
    try:
        wait_for(lambda: mid_trial(url, "long", complete=1), "a completed trial and one mid-way",
                 sweeps=(sweep,))
        done = {t.number: (t.value, t.user_attrs) for t in trials(url, "long")
                if t.state.name == "COMPLETE"}
        sweep.proc.send_signal(signal.SIGINT)
        assert sweep.wait(60) == 130, sweep.output
    finally:
        if sweep.proc.poll() is None:
            sweep.proc.kill()
    check_stopped_cleanly(url, "long", sweep.output, interrupted=1)
    assert "lstmbench: interrupted: " in sweep.stdout
    resume = "Resume with: lstmbench sweep --study long --trials 0"
    assert resume in sweep.stdout
    assert secret not in sweep.output
    if "postgresql" in url:
        assert f"--storage {url.replace(secret, '***')}" in sweep.stdout

    outcome = run_sweep(trials=0, spec=str(spec), storage=url, jobs=1, quiet=True)
    assert outcome.exit_code == 0 and outcome.left == 0
    after = trials(url, "long")
    assert {t.state.name for t in after} == {"COMPLETE", "FAIL"}
    assert sum(t.state.name == "COMPLETE" for t in after) == 3  # 3 asked for, 3 completed
    for number, (value, attrs) in done.items():  # completed before Ctrl-C: untouched
        assert (after[number].value, after[number].user_attrs) == (value, attrs)


def test_a_trial_stopped_before_its_first_suggestion_is_queued_again(tmp_path, monkeypatch):
    """Ctrl-C between Optuna handing out a queued trial and the trial's first suggestion: the
    trial has no parameters yet, and its retry must still carry the queued configuration."""
    import contextlib

    from lstmbench.study import _objective

    real = _objective.trial_running

    @contextlib.contextmanager
    def signalled_first():
        signal.raise_signal(signal.SIGINT)  # not in a trial yet: the handler only records it
        with real():
            yield

    monkeypatch.setattr(_objective, "trial_running", signalled_first)
    url = f"sqlite:///{tmp_path / 'early.db'}"
    outcome = run_sweep(trials=2, spec=str(write_spec(tmp_path, TINY, "tiny")), storage=url,
                        jobs=1, quiet=True)
    assert (outcome.exit_code, outcome.complete, outcome.left) == (130, 0, 2)
    first, *_ = trials(url, "tiny")
    assert first.state.name == "FAIL" and first.params == {}
    check_stopped_cleanly(url, "tiny", "", interrupted=1)  # its retry holds {"arm": ...}


def start_two_workers(tmp_path: Path) -> tuple[Sweep, str]:
    """A ``--jobs 2`` sweep of 4 long trials in its own process group (as a terminal starts it).

    Every test here stops them: 10x LONG's epochs, so that both workers' trials are mid-way at
    once for long (the workers start their trials up to a few seconds apart).
    """
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    text = LONG.replace(f"epochs = {LONG_EPOCHS}", f"epochs = {10 * LONG_EPOCHS}")
    assert text != LONG
    spec = write_spec(tmp_path, text, "long")
    sweep = start_sweep(tmp_path / "run", "--trials", "4", "--jobs", "2", "--spec", str(spec),
                        "--storage", url, "--heartbeat", "2", new_session=True)
    return sweep, url


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c to the terminal's process group", "sigterm to the sweep",
                                 "ctrl-c the main process does not see"])
def test_one_signal_stops_every_worker(tmp_path, how):
    sweep, url = start_two_workers(tmp_path)
    pgid = sweep.proc.pid
    try:
        wait_for(lambda: mid_trial(url, "long", running=2), "two workers mid-trial", sweeps=(sweep,))
        expected = 130
        if how.startswith("ctrl-c to the terminal"):
            os.killpg(pgid, signal.SIGINT)  # what a terminal does on Ctrl-C
        elif how.startswith("sigterm"):
            sweep.proc.send_signal(signal.SIGTERM)  # Kubernetes, Slurm, systemd: the main process
            expected = 143
        else:  # as if the main process's KeyboardInterrupt fell where Python cannot raise it
            for pid in workers(sweep.proc.pid):
                os.kill(pid, signal.SIGINT)
        assert sweep.wait(90) == expected, sweep.output
        wait_for(lambda: group_gone(pgid), "every worker gone", timeout=30)
    finally:
        kill_group(pgid)
    check_stopped_cleanly(url, "long", sweep.output, interrupted=2)
    word = "interrupted" if expected == 130 else "terminated"
    assert sweep.stdout.count(f"lstmbench: {word}: ") == 1
    assert sweep.stdout.count("Resume with: ") == 1


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.0, 0.5, 1.0, 2.0])
def test_ctrl_c_while_the_workers_start_is_one_calm_line(tmp_path, delay):
    """Ctrl-C in the first seconds (wrong flags, say), while the workers import Python and
    TensorFlow: whichever step each worker is at, one line and exit 130, nothing RUNNING."""
    sweep, url = start_two_workers(tmp_path)
    pgid = sweep.proc.pid
    try:
        wait_for(lambda: "2 workers" in sweep.stdout, "the workers starting", sweeps=(sweep,))
        time.sleep(delay)  # not a wait for something: the point in the start-up is the variable
        os.killpg(pgid, signal.SIGINT)
        assert sweep.wait(90) == 130, sweep.output
        wait_for(lambda: group_gone(pgid), "every worker gone", timeout=30)
    finally:
        kill_group(pgid)
    assert sweep.stderr == "", sweep.stderr
    assert sweep.stdout.count("lstmbench: interrupted: ") == 1, sweep.stdout
    failed = sum(t.state.name == "FAIL" for t in trials(url, "long"))
    check_stopped_cleanly(url, "long", sweep.output, interrupted=failed)
    # every trial of the sweep is still to do: queued, or in the sweep's plan
    study = optuna.load_study(study_name="long", storage=url)
    assert states(url, "long").get("WAITING", 0) + sum(not_queued(study).values()) == 4


# --- bad storage files: a clear message, exit 1, the file unchanged ------------------------------


def optuna_db(path: Path) -> Path:
    """A real Optuna SQLite storage with one study and one trial."""
    study = optuna.create_study(study_name="s", storage=f"sqlite:///{path}")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    study._storage._backend.engine.dispose()
    return path


def set_revision(path: Path, revision: str) -> Path:
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    con.commit()
    con.close()
    return path


def make_bad_file(kind: str, folder: Path) -> Path:
    target = folder / "bad.db"
    if kind == "not a database":
        target.write_text("name,score\nada,1\n" * 50)
    elif kind == "corrupt after the header":
        good = optuna_db(folder / "good.db").read_bytes()
        target.write_bytes(good[:16] + bytes(range(256)) * (len(good) // 256))
    elif kind == "truncated":
        good = optuna_db(folder / "good.db").read_bytes()
        target.write_bytes(good[: len(good) // 2])
    elif kind == "newer optuna schema":
        set_revision(optuna_db(target), "v99.0.0.a")
    elif kind == "older optuna schema":
        set_revision(optuna_db(target), "v3.0.0.d")
    elif kind == "another program's database":
        con = sqlite3.connect(target)
        con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        con.commit()
        con.close()
    return target


BAD_FILES = {
    "not a database": r"bad\.db is not an SQLite database \(it was left unchanged\)",
    "corrupt after the header": r"bad\.db cannot be used as an Optuna database \(file is not a "
                                r"database\); it was left unchanged",
    "truncated": r"bad\.db cannot be used as an Optuna database \(database disk image is "
                 r"malformed\); it was left unchanged",
    "newer optuna schema": r"bad\.db was written by a newer Optuna \(schema v99\.0\.0\.a is unknown "
                           r"to Optuna [\d.]+\); it was left unchanged: `pip install -U optuna`",
    "older optuna schema": r"bad\.db was written by an older Optuna \(schema v3\.0\.0\.d; .*\); it was "
                           r"left unchanged\. Back it up, then upgrade it with `optuna storage "
                           r"upgrade --storage sqlite:///bad\.db`",
    "another program's database": r"bad\.db is an SQLite database of some other program \(tables: "
                                  r"invoices\); it was left unchanged",
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_database_file_is_refused_and_left_unchanged(tmp_path, kind):
    path = make_bad_file(kind, tmp_path)
    before = fingerprint(path)
    proc = run_cli(tmp_path, "sweep", "--trials", "1", "--storage", "sqlite:///bad.db")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(rf"^lstmbench: {BAD_FILES[kind]}", proc.stderr), proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) in (["bad.db"], ["bad.db", "good.db"])


@pytest.mark.parametrize("kind", ["not a database", "newer optuna schema"])
def test_a_bad_database_file_refuses_a_sweep_of_several_workers(tmp_path, kind):
    """A sweep of several workers: refused in one line before any worker starts, none left."""
    path = make_bad_file(kind, tmp_path)
    before = fingerprint(path)
    sweep = start_sweep(tmp_path, "--trials", "4", "--jobs", "2", "--storage", "sqlite:///bad.db",
                        new_session=True)
    try:
        assert sweep.wait(60) == 1, sweep.output
        wait_for(lambda: group_gone(sweep.proc.pid), "every worker gone", timeout=30)
    finally:
        kill_group(sweep.proc.pid)
    assert re.search(rf"^lstmbench: {BAD_FILES[kind]}", sweep.stderr), sweep.stderr
    assert sweep.stderr.count("\n") == 1 and "Traceback" not in sweep.stderr
    assert fingerprint(path) == before


def test_a_sweep_with_nothing_to_do_starts_no_worker(tmp_path):
    spec = write_spec(tmp_path)
    sweep = start_sweep(tmp_path / "run", "--trials", "0", "--jobs", "2", "--spec", str(spec),
                        new_session=True)
    try:
        assert sweep.wait(60) == 0, sweep.output
        wait_for(lambda: group_gone(sweep.proc.pid), "every worker gone", timeout=30)
    finally:
        kill_group(sweep.proc.pid)
    assert "0 trials queued, 1 worker" in sweep.stdout and sweep.stderr == ""


def test_a_folder_given_as_the_database_is_refused(tmp_path):
    (tmp_path / "results").mkdir()
    proc = run_cli(tmp_path, "sweep", "--trials", "1", "--storage", "sqlite:///results")
    assert proc.returncode == 1
    assert proc.stderr == ("lstmbench: results is a folder, not a database file: give a file path, "
                           "e.g. sqlite:///results/lstmbench.db\n")
    assert list((tmp_path / "results").iterdir()) == []


@pytest.fixture
def as_normal_user() -> list[str]:
    """A command prefix under which file permissions apply (root ignores them).

    Not root: nothing. Root: ``setpriv`` drops the capabilities that let root write anywhere
    (same user, so the interpreter under /root stays reachable).
    """
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]
    probe = tempfile.mkdtemp()
    try:
        os.chmod(probe, 0o555)
        ok = shutil.which("setpriv") and subprocess.run(
            [*prefix, "touch", f"{probe}/x"], capture_output=True).returncode == 1
    finally:
        os.chmod(probe, 0o755)
        shutil.rmtree(probe)
    if not ok:
        pytest.skip("running as root without a way to drop CAP_DAC_OVERRIDE (setpriv): root "
                    "ignores file permissions, so nothing is read-only to it")
    return prefix


def test_a_read_only_folder_is_refused_and_nothing_is_created(tmp_path, as_normal_user):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        proc = run_cli(ro, "sweep", "--trials", "1", prefix=as_normal_user)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stderr == (f"lstmbench: {ro} is read-only: cannot create lstmbench.db there; run "
                               "in a writable folder or give --storage sqlite:////writable/path.db\n")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_a_read_only_database_file_is_refused_and_left_unchanged(tmp_path, as_normal_user):
    path = optuna_db(tmp_path / "lstmbench.db")
    path.chmod(0o444)
    before = fingerprint(path)
    proc = run_cli(tmp_path, "sweep", "--trials", "1", prefix=as_normal_user)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == "lstmbench: lstmbench.db is read-only: lstmbench needs to write trials there\n"
    assert fingerprint(path) == before


# --- readers never create -----------------------------------------------------------------------


def test_a_reader_never_creates_the_database(tmp_path):
    missing = tmp_path / "missing.db"
    with pytest.raises(UserError, match=r"missing\.db: no such database: run `lstmbench sweep` first"):
        open_storage(f"sqlite:///{missing}", must_exist=True)
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    before = fingerprint(empty)
    with pytest.raises(UserError, match=r"empty\.db holds no Optuna study: .*nothing was created"):
        open_storage(f"sqlite:///{empty}", must_exist=True)
    assert fingerprint(empty) == before


def test_report_never_creates_the_database(tmp_path):
    try:
        import lstmbench.commands.report  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("`lstmbench report` is not built yet (open_storage(must_exist=True) is tested)")
    proc = run_cli(tmp_path, "report", "--storage", "sqlite:///nothing.db")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "no such database" in proc.stderr
    assert list(tmp_path.iterdir()) == []


# --- secrets ------------------------------------------------------------------------------------


def test_a_password_in_the_storage_url_is_never_printed(tmp_path):
    url = "postgresql://ada:SECRET-pw@127.0.0.1:1/lstm"  # nothing listens on port 1
    proc = run_cli(tmp_path, "sweep", "--trials", "1", "--storage", url)
    assert proc.returncode == 1
    assert proc.stderr.startswith("lstmbench: postgresql://ada:***@127.0.0.1:1/lstm: cannot connect")
    assert "SECRET" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(UserError) as info:
        open_storage(url)
    assert "SECRET" not in str(info.value) and "***" in str(info.value)


@pytest.mark.parametrize(("url", "message", "code"), [
    ("mysql://ada:SECRET-pw@127.0.0.1:1/lstm",
     "lstmbench: mysql://ada:***@127.0.0.1:1/lstm: the database driver is missing: ", 1),
    ("nosuchdb://ada:SECRET-pw@host/lstm",
     "lstmbench: nosuchdb://ada:***@host/lstm is not a storage URL SQLAlchemy understands", 2),
])
def test_an_unusable_storage_url_is_named_without_its_password(tmp_path, url, message, code):
    proc = run_cli(tmp_path, "sweep", "--trials", "1", "--storage", url)
    assert proc.returncode == code
    assert proc.stderr.startswith(message) and "SECRET" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_sweep_output_masks_the_password(postgres_server, tmp_path):
    url = postgres_server.create_database().replace("://lstmbench@", "://lstmbench:SECRET-pw@")
    out = io.StringIO()
    outcome = run_sweep(trials=2, spec=str(write_spec(tmp_path, TINY, "tiny")), storage=url,
                        jobs=1, console=Console(file=out, width=200))
    assert outcome.exit_code == 0 and outcome.complete == 2
    assert "SECRET" not in out.getvalue() + outcome.storage
    assert f"in {url.replace('SECRET-pw', '***')}: 2 trials queued" in out.getvalue()
    assert states(url, "tiny") == {"COMPLETE": 2}


def test_train_of_a_diverging_configuration_says_so_without_a_traceback(capsys):
    from lstmbench.cli import main

    code = main(["train", "--lr", "1e38", "--seq-len", "4", "--sequences", "24", "--epochs", "3",
                 "--units", "4", "--batch-size", "5"])
    err = capsys.readouterr().err
    assert code == 1
    assert re.fullmatch(r"lstmbench: training diverged: train loss became (nan|inf) in epoch 1: try "
                        r"a smaller learning rate\n", err), err
