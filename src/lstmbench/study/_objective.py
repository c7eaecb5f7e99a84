"""From an Optuna trial to a trained model and back: the search space and the objective.

Objective (minimised): log10 of the trial's time to solution in seconds. The time to solution
is the expected training seconds to obtain one converged model when failed seeds are restarted
(mean seconds per member run, a failed member counting its whole run, divided by the share of
members that converged; compile excluded: it depends on which shapes a worker has compiled
before). It is what a user of the configuration pays for a working model, so it weighs speed
and reliability in one number: a configuration that converges in 2 epochs for half its seeds
costs as much as one that always takes 4. A trial where no member converged scores (the log of)
its whole training time (at least any finite time to solution of its members) plus
``penalty_s * (1 + target - best)``: behind every configuration that converged at all, near
misses first.

Why a logarithm: converged trials take milliseconds to seconds, a trial that never converged
scores over 100 s. On a linear axis (optuna-dashboard's history plot by default) those would
press every converged trial onto the floor; in decades the converged trials spread over their
range (-2 is 10 ms, 0 is 1 s) and the never-converged sit in a band at 2 and above. The order of
the trials, which is all a sampler and the ranking use, is that of the seconds: a trial that
converged at all still ranks before every one that never did. Seconds stay in the trial's
``time_to_solution_s`` attribute, which the report reads.

Every epoch reports the validation error (1 - accuracy) as an intermediate value: the dashboard
draws learning curves, and a pruner compares like with like (lower is better).

Storage writes: each is a transaction (an SQLite commit is a file sync), so a trial writes its
user attributes at its start in one, and its result in one. Without a pruner nothing reads the
intermediate values mid-trial but a live dashboard: they are kept and written with the result,
at the first epoch and every ``FLUSH_S`` seconds after, and, whatever ends the trial, with its
``fail_reason``. A pruner needs each one written before it asks ``should_prune``:
``trial.report`` every epoch.
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import time
from typing import Any

from lstmbench.errors import TrainingDiverged, failure_reason
from lstmbench.spec import ModelConfig, StudySpec, TrainSpec, TrialSpec
from lstmbench.storage import (
    TrialCutOff,
    TrialHalted,
    TrialWriter,
    is_full,
    is_outage,
    queued_params,
    stamped,
)
from lstmbench.study._confirm import CONFIRMATION, CONFIRMS, confirmation_spec
from lstmbench.study._queue import retry_attrs
from lstmbench.study._signals import TimeUp, check_time, shielded, trial_running
from lstmbench.study._study import BLIND
from lstmbench.trial import TrialResult

SHORTEST_S = 1e-6  # floor of the objective's seconds: log10 of 0 would be -inf
FLUSH_S = 2.0  # without a pruner, a trial's learning curve reaches the storage this often


def trial_spec(spec: StudySpec, trial: Any) -> tuple[TrialSpec, dict[str, Any]]:
    """Return the configuration Optuna suggests for ``trial`` (and extra user attributes)."""
    extra: dict[str, Any] = {}
    seed = spec.seed + trial.number
    if spec.variants:
        keys = [v.key for v in spec.variants]
        variant = spec.variants[keys.index(trial.suggest_categorical("variant", keys))]
        seeds = sorted({s for v in spec.variants for s in v.seeds})
        seed = trial.suggest_categorical("seed", seeds)
        train = dataclasses.replace(
            spec.train,
            epochs=variant.epochs or spec.train.epochs,
            engine=variant.train_engine(spec.train.engine),
            shuffle=spec.train.shuffle if variant.shuffle is None else variant.shuffle,
        )
        extra = {"variant": variant.name, "form": variant.form, "arm": variant.arm_name}
        return TrialSpec(model=variant.model(), task=spec.task, train=train, seed=seed), extra

    space = spec.space
    arm = trial.suggest_categorical("arm", list(space.arms))
    seq_len = (trial.suggest_categorical("seq_len", list(spec.seq_lens))
               if len(spec.seq_lens) > 1 else spec.task.seq_len)
    if arm == "stateful":
        model = ModelConfig(
            stateful=True,
            timesteps=trial.suggest_categorical("timesteps", list(spec.timesteps_choices)),
            batch_size=trial.suggest_categorical("stateful_batch_size", list(space.stateful_batch_size)),
            units=trial.suggest_categorical("units", list(space.units)),
        )
    else:
        low, high = spec.window_range(seq_len)
        model = ModelConfig(
            stateful=False,
            window=trial.suggest_int("window", low, high),
            batch_size=trial.suggest_categorical("stateless_batch_size",
                                                 list(space.stateless_batch_size)),
            units=trial.suggest_categorical("units", list(space.units)),
        )
    extra["arm"] = arm
    return TrialSpec(model=model, task=spec.task_for(seq_len), train=spec.train, seed=seed), extra


def objective_value(result: TrialResult, train: TrainSpec, penalty_s: float) -> float:
    """log10 of the time to solution in seconds; no member converged: of all training seconds
    plus the penalty (see the module's docstring for why a logarithm)."""
    seconds = result.time_to_solution_s
    if not math.isfinite(seconds):
        seconds = sum(result.train_ms) / 1e3 + penalty_s * (1 + train.target - result.best_val_accuracy)
    return math.log10(max(seconds, SHORTEST_S))


def chosen_blind(spec: StudySpec, trial: Any) -> bool:
    """Whether the sampler chose this trial's configuration without looking at any result,
    for a trial the queue did not mark (``chosen_blind`` in its queued attributes: a sweep's
    plan decides it, and the sampler obeys).

    True for variant studies (a fixed list), the random sampler, and TPE's random start-up:
    counted after the suggestions, so a trial that finished meanwhile can only make the answer
    False (TPE counts COMPLETE and PRUNED trials when it samples).
    """
    if spec.variants or spec.sampler.name == "random":
        return True
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(trial.study.get_trials(deepcopy=False, states=states)) < spec.sampler.n_startup_trials


class _BlindLatch:
    """:func:`chosen_blind` per trial of one worker. Once the study is past the sampler's random
    start-up it never comes back, so later trials skip the count (a read of the whole study)."""

    def __init__(self, spec: StudySpec) -> None:
        self.spec, self.open = spec, True

    def __call__(self, trial: Any) -> bool:
        self.open = self.open and chosen_blind(self.spec, trial)
        return self.open


def _configure(spec: StudySpec, trial: Any, blind: _BlindLatch) -> tuple[TrialSpec, dict[str, Any]]:
    """Return the trial's configuration and the user attributes it starts with: a confirmation
    re-runs its trial's configuration with more members (see ``_confirm``)."""
    tspec, extra = trial_spec(spec, trial)
    queued = trial.user_attrs
    if queued.get(CONFIRMATION):
        tspec = confirmation_spec(spec, tspec)
        extra.update({CONFIRMATION: True, CONFIRMS: queued[CONFIRMS], BLIND: False})
    else:
        extra[BLIND] = queued[BLIND] if BLIND in queued else blind(trial)
    return tspec, extra


def result_attrs(result: TrialResult) -> dict[str, Any]:
    """The trial-runner result as JSON-safe user attributes in the current result format
    (NaN/inf become None: a time to solution of None means no member converged).

    ``median_epoch`` is left out when no member converged, rather than stored as null:
    optuna-dashboard offers a user attribute to its plots only while every trial that has it
    holds a number. ``converged_share`` is always a number.
    """
    attrs = {**result.to_dict(), "time_to_solution_s": result.time_to_solution_s}
    if attrs["median_epoch"] is None:
        del attrs["median_epoch"]
    return stamped({key: None if isinstance(value, float) and not math.isfinite(value) else value
                    for key, value in attrs.items()})


def make_objective(spec: StudySpec, *, flush_s: float = FLUSH_S):
    """Return the Optuna objective for ``spec`` (``flush_s``: see the module's docstring)."""
    import optuna

    from lstmbench.trial import run_trial

    def objective(trial: optuna.Trial) -> float:
        try:
            return _ended(trial)
        except Exception as exc:
            if is_full(exc):  # not a failure of the trial: the worker queues it again
                raise TrialHalted(trial) from exc
            if is_outage(exc):  # nor this: the worker waits for the storage, then queues it
                raise TrialCutOff(trial) from exc
            raise

    def _ended(trial: optuna.Trial) -> float:
        """The trial, with what ends it early written down (and a stopped one queued again)."""
        writer = TrialWriter(trial)
        try:
            with trial_running():  # from here a Ctrl-C interrupts the trial, and is recorded
                return _objective(trial, writer)
        except TrainingDiverged as exc:
            writer.flush({"fail_reason": str(exc)})  # with the epochs not written yet
            raise
        except (KeyboardInterrupt, TimeUp) as exc:
            # This trial ends FAIL; the same configuration is queued again for the next run.
            reason = str(exc) if isinstance(exc, TimeUp) else "interrupted (Ctrl-C or SIGTERM)"
            writer.flush({"fail_reason": reason})
            trial.study.enqueue_trial(queued_params(trial), user_attrs=retry_attrs(trial))
            raise
        except optuna.TrialPruned:
            raise  # only with a pruner: every epoch is written already
        except Exception as exc:
            if not is_full(exc) and not is_outage(exc):  # a storage away would refuse it too
                writer.flush({"fail_reason": failure_reason(exc)})  # an allocation that failed: one line
            raise

    blind = _BlindLatch(spec)
    pruning = spec.sampler.pruner != "none"

    def _objective(trial: optuna.Trial, writer: TrialWriter) -> float:
        with shielded():
            tspec, extra = _configure(spec, trial, blind)
            writer.flush({**extra, "spec": tspec.to_dict(), "seed": tspec.seed,
                          "worker": f"{socket.gethostname()}:{os.getpid()}"})

        def on_epoch(epoch: int, val_accuracy: float, train_loss: float) -> None:
            # A signal during these storage writes waits for their end; one that arrived during
            # the epoch but could not raise there raises here (see _signals).
            with shielded():
                prune = False
                if pruning:
                    trial.report(1.0 - val_accuracy, epoch)
                    prune = trial.should_prune()
                    if prune:
                        trial.set_user_attr("pruned_at_epoch", epoch)
                else:
                    writer.report(1.0 - val_accuracy, epoch)
                    # The first epoch at once: the dashboard shows the trial training (compiled).
                    if epoch == 1 or time.monotonic() - writer.flushed_at >= flush_s:
                        writer.flush()
            if prune:
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")
            check_time(time.time())  # past the sweep's --timeout: stop here, queued again

        result = run_trial(tspec, on_epoch=on_epoch)
        with shielded(interrupt_after=False):  # trained: the result is written in full
            writer.flush(result_attrs(result))  # with the epochs not written yet
        return objective_value(result, tspec.train, spec.objective.penalty_s)

    return objective
