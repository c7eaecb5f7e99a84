"""``lstmbench sweep`` end to end on a tiny study in a real SQLite file."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from _sweeps import TINY, write_spec
from lstmbench.errors import UserError
from lstmbench.study import run_sweep
from lstmbench.study.replay import replay_trial, stored_spec


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    spec = write_spec(folder)
    url = f"sqlite:///{folder / 'tiny.db'}"
    outcome = run_sweep(trials=6, spec=str(spec), storage=url, jobs=1, quiet=True)
    return folder, spec, url, outcome


def load(url: str, name: str = "tiny") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


def test_tiny_sweep_stores_every_trial_with_its_result(swept):
    _, _, url, outcome = swept
    assert outcome.exit_code == 0 and outcome.complete == 6 and outcome.failed == 0
    study = load(url)
    trials = study.get_trials()
    assert len(trials) == 6
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    arms = [t.params["arm"] for t in trials]
    assert arms.count("stateful") == arms.count("stateless") == 3
    for t in trials:
        a = t.user_attrs
        for key in ("converged", "convergence_epoch", "epoch_ms", "total_s", "time_to_converge_s",
                    "best_val_accuracy", "ceiling", "n_params", "seed", "engine", "versions", "worker"):
            assert key in a, key
        assert a["epochs_run"] == len(t.intermediate_values) == len(a["val_accuracy"])
        assert t.intermediate_values[1] == pytest.approx(1 - a["val_accuracy"][0])
        assert (a["convergence_epoch"] is None) == (not a["converged"])
        assert a["spec"]["train"]["xla"] == ("on" if a["jit"] else "off")  # resolved, for replay
        if t.params["arm"] == "stateless":
            assert 1 <= t.params["window"] <= 4 and a["spec"]["model"]["window"] == t.params["window"]
        else:
            assert t.params["timesteps"] in (1, 2)
    assert study.user_attrs["lstmbench_spec_hash"]


def test_results_are_queryable_with_plain_sql(swept):
    folder, *_ = swept
    con = sqlite3.connect(folder / "tiny.db")
    rows = con.execute(
        """
        SELECT t.number, a.value_json
        FROM trials t JOIN trial_user_attributes a ON a.trial_id = t.trial_id
        WHERE a.key = 'converged' ORDER BY t.number
        """
    ).fetchall()
    con.close()
    assert [r[0] for r in rows] == list(range(6))
    assert {r[1] for r in rows} <= {"true", "false"}


def test_optunas_own_cli_reads_the_study(swept):
    _, _, url, _ = swept
    optuna_cli = Path(sys.executable).with_name("optuna")
    proc = subprocess.run(
        [str(optuna_cli), "trials", "--storage", url, "--study-name", "tiny", "-f", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    rows = json.loads(proc.stdout)
    assert len(rows) == 6
    assert {r["state"] for r in rows} == {"COMPLETE"}


def test_replay_matches_the_stored_trial(swept):
    _, _, url, _ = swept
    for number in (0, 1):  # one of each arm (arms are queued in turn)
        out = replay_trial("tiny", number, url)
        assert out.matches, (out.stored_curve, out.replayed_curve)


def test_replay_of_one_member_matches_its_stored_curve(swept, capsys):
    from lstmbench.cli import main

    _, _, url, _ = swept
    trial = load(url).trials[0]
    assert trial.user_attrs["replicates"] == 2 and trial.user_attrs["format"] == 2
    out = replay_trial("tiny", 0, url, member=1)
    assert out.matches and out.result.replicates == 1
    assert out.replayed_curve == trial.user_attrs["member_val_accuracy"][1]
    assert out.result.seed == trial.user_attrs["member_seeds"][1]
    assert main(["train", "--study", "tiny", "--trial", "0", "--member", "2", "--storage", url]) == 2
    assert "--member 2 is out of range: trial 0 of 'tiny' has members 0..1" in capsys.readouterr().err


def test_a_trial_stored_before_the_xla_field_replays_with_its_jit_attribute(swept):
    _, _, url, _ = swept
    attrs = dict(load(url).trials[0].user_attrs)
    old_spec = {**attrs["spec"], "train": dict(attrs["spec"]["train"])}
    del old_spec["train"]["xla"]
    for jit, xla in ((True, "on"), (False, "off")):
        assert stored_spec({**attrs, "spec": old_spec, "jit": jit}).train.xla == xla


def test_running_again_adds_trials_and_a_changed_spec_is_refused(tmp_path):
    spec = write_spec(tmp_path)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    run_sweep(trials=2, spec=str(spec), storage=url, jobs=1, quiet=True)
    run_sweep(trials=2, spec=str(spec), storage=url, jobs=1, quiet=True)
    trials = load(url).get_trials()
    assert len(trials) == 4
    assert sorted(t.params["arm"] for t in trials) == ["stateful"] * 2 + ["stateless"] * 2

    write_spec(tmp_path, TINY.replace("epochs = 3", "epochs = 4"))
    before = (tmp_path / "r.db").read_bytes()
    with pytest.raises(UserError, match=r"different spec .*train\.epochs was 3, now 4.*--study"):
        run_sweep(trials=2, spec=str(spec), storage=url, jobs=1, quiet=True)
    assert (tmp_path / "r.db").read_bytes() == before
    # the same spec under another study name is fine
    run_sweep(trials=1, spec=str(spec), study="tiny-2", storage=url, jobs=1, quiet=True)
    assert len(load(url, "tiny-2").get_trials()) == 1


def test_sweep_help_lists_every_shipped_study(capsys):
    from lstmbench.cli import main
    from lstmbench.spec import shipped_studies

    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "shipped: " + ", ".join(sorted(shipped_studies())) + ")" in text.replace("- ", "-")
    assert "a-vs-a" in text and "--no-confirm" in text


def test_a_study_not_made_by_lstmbench_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'f.db'}"
    foreign = optuna.create_study(study_name="tiny", storage=url)
    foreign.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(UserError, match="not made by lstmbench"):
        run_sweep(trials=1, spec=str(write_spec(tmp_path)), storage=url, jobs=1, quiet=True)


@pytest.mark.slow
def test_two_workers_on_one_sqlite_file_complete_every_trial(tmp_path):
    spec = write_spec(tmp_path)
    url = f"sqlite:///{tmp_path / 'j.db'}"
    proc = subprocess.run(
        [sys.executable, "-m", "lstmbench", "sweep", "--trials", "6", "--jobs", "2",
         "--spec", str(spec), "--storage", url],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "locked" not in proc.stdout + proc.stderr
    trials = load(url).get_trials()
    assert len(trials) == 6
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert "2 workers" in proc.stdout and "verdict" in proc.stdout
    # plain progress lines when not a terminal, numbered 1..6 even when two finish together
    assert re.findall(r"^\[(\d)/6\] trial ", proc.stdout, re.M) == list("123456"), proc.stdout


@pytest.mark.slow
def test_the_sweep_process_of_several_workers_never_imports_tensorflow(tmp_path):
    """The workers import TensorFlow (early, while the sweep sets up the study); the process
    that shows the progress and the verdict stays light."""
    spec = write_spec(tmp_path)
    url = f"sqlite:///{tmp_path / 't.db'}"
    code = ("import sys\n"
            "from lstmbench.cli import main\n"
            f"rc = main(['sweep', '--trials', '2', '--jobs', '2', '--spec', {str(spec)!r}, "
            f"'--storage', {url!r}])\n"
            "print('LOADED', rc, sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 workers" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "LOADED 0 []", proc.stdout
    assert [t.state.name for t in load(url).get_trials()] == ["COMPLETE"] * 2


def test_concurrent_workers_take_each_queued_trial_once(tmp_path):
    """SQLite ignores SELECT FOR UPDATE: without BEGIN IMMEDIATE two workers could both take one
    queued trial and one of them fails with "Cannot tell a COMPLETE trial"."""
    from lstmbench.storage import open_storage

    url = f"sqlite:///{tmp_path / 'q.db'}"
    study = optuna.create_study(study_name="queue", storage=open_storage(url, heartbeat=None))
    for i in range(60):
        study.enqueue_trial({"x": i / 60})
    worker = Path(__file__).with_name("_queue_worker.py")
    procs = [subprocess.Popen([sys.executable, str(worker), url], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    trials = load(url, "queue").get_trials()
    queued = [t for t in trials if "fixed_params" in t.system_attrs]  # (plain optimize may also
    # sample a trial when the queue empties between its check and its ask: not counted here)
    assert sorted(t.params["x"] for t in queued) == [i / 60 for i in range(60)]  # each once
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
