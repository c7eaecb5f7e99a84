"""Blind draws and confirmations, on a tiny real study in a real SQLite file.

A sweep queues the first trials of each arm as blind draws (drawn at random, ``chosen_blind``),
and ends by re-running each arm's best configuration as one trial of 16 fresh seeds: once per
best trial, kept through a Ctrl-C, not run again when the sweep is resumed.
"""

from __future__ import annotations

from collections import Counter

import optuna
import pytest

from _sweeps import TINY, trials, write_spec
from lstmbench.spec import load_study_spec
from lstmbench.study import run_sweep
from lstmbench.study._queue import _marks, open_plans
from lstmbench.study._study import BLIND, make_sampler

# TINY with the confirmation on, 10 epochs (stateful T=1/2 B=5 converges on 4 steps), 2 blind
# draws per arm, and stateless windows of at most 3 of the 4 steps: they cannot see the first
# bit, so the stateless arm never converges and has nothing to confirm.
CONFIRMING = (TINY.replace("epochs = 3", "epochs = 10")
              .replace("members = 0", "members = 16")
              .replace("n_startup_trials = 2", "n_startup_trials = 4")
              .replace("units = [4]", "units = [4]\nwindow_high = 3"))


def sweep(tmp_path, trials_: int, **kwargs):
    spec = write_spec(tmp_path, CONFIRMING, "confirming")
    return run_sweep(trials=trials_, spec=str(spec), storage=f"sqlite:///{tmp_path / 'c.db'}",
                     jobs=1, quiet=True, **kwargs)


def stored(tmp_path) -> list[optuna.trial.FrozenTrial]:
    return sorted(trials(f"sqlite:///{tmp_path / 'c.db'}", "confirming"), key=lambda t: t.number)


def confirmations(every) -> list[optuna.trial.FrozenTrial]:
    return [t for t in every if t.user_attrs.get("confirmation")]


def best_of(every, arm: str):
    """The arm's best search trial, found here independently of the sweep's own code."""
    solved = [t for t in every if t.state.name == "COMPLETE" and not t.user_attrs.get("confirmation")
              and t.params["arm"] == arm and t.user_attrs["converged_share"] > 0]
    return min(solved, key=lambda t: (t.user_attrs["time_to_solution_s"], t.number), default=None)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("confirm")
    outcome = sweep(folder, 8)
    return outcome, stored(folder), folder


def test_the_first_trials_of_each_arm_are_the_blind_draws(swept):
    outcome, every, _ = swept
    search = [t for t in every if not t.user_attrs.get("confirmation")]
    assert outcome.exit_code == 0 and len(search) == 8
    for arm in ("stateful", "stateless"):
        of_arm = [t for t in search if t.params["arm"] == arm]
        assert [t.user_attrs["chosen_blind"] for t in of_arm] == [True, True, False, False]


def test_the_best_of_each_arm_is_confirmed_on_16_fresh_seeds(swept):
    outcome, every, folder = swept
    best = best_of(every, "stateful")
    assert best is not None, "the stateful arm converged in no trial: the spec is too hard"
    assert best_of(every, "stateless") is None  # windows shorter than the sequence
    (confirmation,) = confirmations(every)  # the stateless arm has nothing to confirm
    a = confirmation.user_attrs
    assert confirmation.state.name == "COMPLETE"
    assert (a["confirmation"], a["confirms"], a["chosen_blind"]) == (True, best.number, False)
    assert confirmation.params == best.params and a["replicates"] == 16
    search_seeds = {s for t in every if t is not confirmation for s in t.user_attrs["member_seeds"]}
    assert len(a["member_seeds"]) == 16 and not search_seeds & set(a["member_seeds"])
    assert a["seed"] not in {t.user_attrs["seed"] for t in every if t is not confirmation}  # data too
    stateful, stateless = outcome.confirmations
    assert stateful.startswith(f"stateful: best trial {best.number} (")
    assert f"confirmed by trial {confirmation.number}: " in stateful
    assert "on 16 fresh seeds" in stateful and "the search estimated" in stateful
    assert stateless == "stateless: no trial converged: nothing to confirm"
    assert open_plans(optuna.load_study(study_name="confirming",
                                        storage=f"sqlite:///{folder / 'c.db'}")) == {}


def test_resumed_and_continued_sweeps_confirm_each_best_once(tmp_path):
    first = sweep(tmp_path, 2, confirm=False)  # one blind draw per arm, no confirmation asked
    assert confirmations(stored(tmp_path)) == []
    assert any("not confirmed (--no-confirm)" in line or "nothing to confirm" in line
               for line in first.confirmations)
    sweep(tmp_path, 0)  # nothing left of the first sweep: nothing runs
    assert len(stored(tmp_path)) == 2

    second = sweep(tmp_path, 6)
    every = stored(tmp_path)
    search = [t for t in every if not t.user_attrs.get("confirmation")]
    # The blind draws count across sweeps: two per arm in all, the first two of each.
    assert Counter(t.params["arm"] for t in search if t.user_attrs["chosen_blind"]) == {
        "stateful": 2, "stateless": 2}
    assert [t.user_attrs["chosen_blind"] for t in search if t.params["arm"] == "stateful"] == [
        True, True, False, False]
    best = best_of(every, "stateful")
    assert [t.user_attrs["confirms"] for t in confirmations(every)] == [best.number]
    assert f"confirmed by trial {confirmations(every)[0].number}: " in second.confirmations[0]

    again = sweep(tmp_path, 0)  # resumed after the end: confirms nothing twice
    assert len(stored(tmp_path)) == len(every)
    n = confirmations(every)[0].number
    assert again.confirmations[0] == second.confirmations[0].replace(
        f"confirmed by trial {n}:", f"confirmed by trial {n} (an earlier run):")
    sweep(tmp_path, 2)  # a new best, if one of these is faster, is confirmed; an old one is not again
    every = stored(tmp_path)
    confirmed = [t.user_attrs["confirms"] for t in confirmations(every)]
    assert len(set(confirmed)) == len(confirmed) and confirmed[-1] == best_of(every, "stateful").number


def test_an_interrupted_confirmation_is_queued_again_and_run_once(tmp_path, monkeypatch):
    import lstmbench.trial

    real, interrupted = lstmbench.trial.run_trial, []

    def run_trial(spec, **kwargs):
        if spec.train.replicates == 16 and not interrupted:
            interrupted.append(spec)
            raise KeyboardInterrupt  # what Ctrl-C raises in the middle of training
        return real(spec, **kwargs)

    monkeypatch.setattr(lstmbench.trial, "run_trial", run_trial)
    first = sweep(tmp_path, 4)
    assert first.exit_code == 130 and interrupted
    (failed, retry) = confirmations(stored(tmp_path))
    assert failed.state.name == "FAIL" and retry.state.name == "WAITING"
    assert failed.user_attrs["fail_reason"] == "interrupted (Ctrl-C or SIGTERM)"
    assert {k: retry.user_attrs[k] for k in ("confirmation", "confirms", "chosen_blind", "retry_of")
            } == {"confirmation": True, "confirms": failed.user_attrs["confirms"],
                  "chosen_blind": False, "retry_of": failed.number}

    resumed = sweep(tmp_path, 0)
    assert resumed.exit_code == 0 and resumed.complete == 1
    every = stored(tmp_path)
    done = [t for t in confirmations(every) if t.state.name == "COMPLETE"]
    assert [t.number for t in done] == [retry.number] and len(confirmations(every)) == 2
    assert done[0].params == best_of(every, "stateful").params
    assert done[0].user_attrs["replicates"] == 16


def test_a_study_without_confirmation_neither_runs_nor_mentions_one(tmp_path):
    spec = write_spec(tmp_path, TINY.replace("epochs = 3", "epochs = 10"), "tiny")  # members = 0
    url = f"sqlite:///{tmp_path / 't.db'}"
    outcome = run_sweep(trials=2, spec=str(spec), storage=url, jobs=1, quiet=True)
    assert outcome.complete == 2 and outcome.confirmations == ()
    assert confirmations(trials(url, "tiny")) == []


def test_a_sweep_stopped_before_its_confirmations_owes_them_to_the_next_run(tmp_path,
                                                                           monkeypatch):
    from lstmbench.study import _queue

    real = _queue._queue_confirmations

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C just as the search ended

    monkeypatch.setattr(_queue, "_queue_confirmations", stopped)
    assert sweep(tmp_path, 4).exit_code == 130
    assert confirmations(stored(tmp_path)) == []
    monkeypatch.setattr(_queue, "_queue_confirmations", real)

    resumed = sweep(tmp_path, 0)
    (confirmation,) = confirmations(stored(tmp_path))
    assert resumed.exit_code == 0 and resumed.complete == 1 and resumed.left == 0
    assert confirmation.user_attrs["confirms"] == best_of(stored(tmp_path), "stateful").number
    assert f"confirmed by trial {confirmation.number}: " in resumed.confirmations[0]  # this run


BOTH = ["stateful", "stateless"]


@pytest.mark.parametrize(("arms", "first"), [
    (BOTH, []), (BOTH, ["stateless"]), (BOTH, ["stateful", "stateful"]), (BOTH, ["stateless"] * 3),
    (["stateless"], []),
])
def test_blind_marks_follow_each_arms_count_in_any_plan(arms, first):
    blind = {arm: b for arm, b in zip(arms, (3, 1))}
    plan = {"n": 40, "first": first, "arms": arms, "blind": blind}
    seen: Counter[str] = Counter()
    for k in range(plan["n"]):  # brute force: count the arm's trials before the k-th
        arm = first[k] if k < len(first) else arms[(k - len(first)) % len(arms)]
        assert _marks(plan, k) == {BLIND: seen[arm] < blind[arm]}, k
        seen[arm] += 1


def test_trials_queued_blind_are_drawn_by_the_random_sampler(tmp_path):
    # TPE without a random start-up models the space from the first trial on: only the queue's
    # mark makes a trial a random draw.
    spec = load_study_spec(str(write_spec(tmp_path, TINY.replace("n_startup_trials = 2",
                                                                 "n_startup_trials = 0"))))

    def draws(sampler, attrs):
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=sampler)
        out = []
        for i in range(6):
            study.enqueue_trial({}, user_attrs=attrs)
            t = study.ask()
            out.append((t.suggest_int("window", 1, 20), t.suggest_categorical("units", [4, 8, 16])))
            study.tell(t, float(out[-1][0] + i))
        return out

    random = draws(optuna.samplers.RandomSampler(seed=spec.seed), {})
    assert draws(make_sampler(spec), {BLIND: True}) == random
    assert draws(make_sampler(spec), {BLIND: False}) != random  # TPE's own


# A confirmation re-runs a trial that converged, so it cannot be one that never converges (the
# rule for every other trial a test stops mid-way): here no trial stops at convergence, so each
# runs all its 2,000 epochs, and the tests signal as soon as the storage has the first of them.
CAUGHT = """\
description = "trials that run every epoch: a confirmation is caught mid-way"
[task]
n_sequences = 24
seq_len = 4
[train]
epochs = 2000
stop_at_convergence = false
[space]
arms = ["stateful"]
timesteps = [2]
stateful_batch_size = [5]
units = [4]
[confirmation]
members = 16
[sampler]
n_startup_trials = 2
"""


@pytest.mark.slow
def test_a_confirmation_stopped_by_ctrl_c_is_run_once_by_the_resumed_sweep(tmp_path):
    import signal

    from _sweeps import start_sweep, wait_for

    spec = write_spec(tmp_path, CAUGHT, "long")
    url = f"sqlite:///{tmp_path / 'run' / 'lstmbench.db'}"
    run = start_sweep(tmp_path / "run", "--trials", "2", "--jobs", "1", "--spec", str(spec))

    def confirming() -> bool:
        return any(t.state.name == "RUNNING" and t.user_attrs.get("confirmation")
                   and t.intermediate_values for t in trials(url, "long"))

    try:
        wait_for(confirming, "a confirmation mid-way", timeout=300, sweeps=(run,))
        run.proc.send_signal(signal.SIGINT)
        assert run.wait(60) == 130, run.output
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    assert "Resume with: lstmbench sweep --study long --trials 0" in run.stdout
    (failed,) = [t for t in trials(url, "long") if t.state.name == "FAIL"]
    assert failed.user_attrs["confirmation"] and failed.user_attrs["spec"]["train"]["replicates"] == 16

    resumed = run_sweep(trials=0, spec=str(spec), storage=url, jobs=1, quiet=True)
    assert resumed.exit_code == 0 and resumed.left == 0
    every = trials(url, "long")
    done = [t for t in every if t.user_attrs.get("confirmation") and t.state.name == "COMPLETE"]
    # the interrupted one was run again, and nothing was confirmed twice
    assert failed.user_attrs["confirms"] in [t.user_attrs["confirms"] for t in done]
    assert len({t.user_attrs["confirms"] for t in done}) == len(done)
    assert all(t.user_attrs.get("retry_of") == failed.number for t in done
               if t.user_attrs["confirms"] == failed.user_attrs["confirms"])
    assert sum(not t.user_attrs.get("confirmation") and t.state.name == "COMPLETE"
               for t in every) == 2


@pytest.mark.slow
def test_two_workers_confirm_each_best_once_and_say_so(tmp_path):
    from _sweeps import run_cli

    spec = write_spec(tmp_path, CONFIRMING, "confirming")
    proc = run_cli(tmp_path, "sweep", "--trials", "6", "--jobs", "2", "--spec", str(spec),
                   timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    every = trials(f"sqlite:///{tmp_path / 'lstmbench.db'}", "confirming")
    (confirmation,) = confirmations(every)
    best = best_of(every, "stateful")
    assert confirmation.user_attrs["confirms"] == best.number
    assert confirmation.state.name == "COMPLETE" and len(every) == 7
    assert f"trial {confirmation.number} " in proc.stdout
    assert f", confirming trial {best.number} on fresh seeds: " in proc.stdout
    assert f"confirmation · stateful: best trial {best.number} (" in proc.stdout
    assert "confirmation · stateless: no trial converged: nothing to confirm" in proc.stdout


@pytest.mark.slow
def test_a_confirmation_killed_with_its_sweep_is_retried_once_by_the_next_run(tmp_path):
    import signal

    from _sweeps import start_sweep, wait_for

    spec = write_spec(tmp_path, CAUGHT, "long")
    url = f"sqlite:///{tmp_path / 'k.db'}"
    common = ("--jobs", "1", "--spec", str(spec), "--storage", url, "--heartbeat", "1")
    doomed = start_sweep(tmp_path / "a", "--trials", "2", *common)

    def confirming() -> bool:
        return any(t.state.name == "RUNNING" and t.user_attrs.get("confirmation")
                   and t.intermediate_values for t in trials(url, "long"))

    try:
        wait_for(confirming, "a confirmation mid-way", timeout=300, sweeps=(doomed,))
    finally:
        doomed.proc.send_signal(signal.SIGKILL)  # power loss: no handler runs, nothing written
    assert doomed.wait(30) == -signal.SIGKILL
    (killed,) = [t for t in trials(url, "long") if t.state.name == "RUNNING"]
    # The next run fails (and retries) a trial whose heartbeat is older than the grace period,
    # 3 beats: started sooner, it would find nothing to wait for and end.
    from lstmbench.storage import late_trials, open_storage

    reader = optuna.load_study(study_name="long", storage=open_storage(url, heartbeat=None))
    wait_for(lambda: late_trials(reader, 3), "the killed trial's heartbeat 3 s old")

    survivor = start_sweep(tmp_path / "b", "--trials", "0", *common)
    assert survivor.wait(300) == 0, survivor.output
    every = trials(url, "long")
    assert {t.state.name for t in every} == {"COMPLETE", "FAIL"}  # none left running
    (retry,) = [t for t in every if t.user_attrs.get("retry_of") == killed.number]
    assert retry.state.name == "COMPLETE" and retry.params == killed.params
    assert {k: retry.user_attrs[k] for k in ("confirmation", "confirms", "chosen_blind")} == {
        "confirmation": True, "confirms": killed.user_attrs["confirms"], "chosen_blind": False}
    assert retry.user_attrs["replicates"] == 16
    done = [t for t in confirmations(every) if t.state.name == "COMPLETE"]
    assert len({t.user_attrs["confirms"] for t in done}) == len(done)  # none confirmed twice
