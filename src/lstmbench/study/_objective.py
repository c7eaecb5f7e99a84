"""From an Optuna trial to a trained model and back: the search space and the objective.

Objective (minimised): seconds of training until the convergence epoch (the sum of the epoch
train times, compile excluded: it depends on which shapes a worker has compiled before). A trial
that never converges scores its whole training time plus ``penalty_s * (1 + target - best)``,
which puts it behind every trial that converged and still ranks near misses first.

Every epoch reports the validation error (1 - accuracy) with ``trial.report``: the dashboard
draws learning curves, and a pruner compares like with like (lower is better).
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import time
from typing import Any

from lstmbench.errors import TrainingDiverged
from lstmbench.spec import ModelConfig, StudySpec, TrainSpec, TrialSpec
from lstmbench.storage import queued_params
from lstmbench.study._signals import TimeUp, check_time, shielded, trial_running
from lstmbench.study._study import SWEEP
from lstmbench.trial import TrialResult


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
            engine=variant.engine or spec.train.engine,
            shuffle=spec.train.shuffle if variant.shuffle is None else variant.shuffle,
        )
        extra = {"variant": variant.name, "form": variant.form, "arm": variant.model().arm}
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
    """Training seconds to converge; not converged: all training seconds plus the penalty."""
    if result.converged:
        return sum(result.train_ms[: result.convergence_epoch]) / 1e3
    return sum(result.train_ms) / 1e3 + penalty_s * (1 + train.target - result.best_val_accuracy)


def result_attrs(result: TrialResult) -> dict[str, Any]:
    """The trial-runner result as JSON-safe user attributes (NaN/inf become None)."""
    attrs = {}
    for key, value in result.to_dict().items():
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        attrs[key] = value
    return attrs


def make_objective(spec: StudySpec, *, jit: bool | None = None):
    """Return the Optuna objective for ``spec``."""
    import optuna

    from lstmbench.trial import run_trial

    def objective(trial: optuna.Trial) -> float:
        try:
            with trial_running():  # from here a Ctrl-C interrupts the trial, and is recorded
                return _objective(trial)
        except TrainingDiverged as exc:
            trial.set_user_attr("fail_reason", str(exc))
            raise
        except (KeyboardInterrupt, TimeUp) as exc:
            # This trial ends FAIL; the same configuration is queued again for the next run.
            reason = str(exc) if isinstance(exc, TimeUp) else "interrupted (Ctrl-C or SIGTERM)"
            trial.set_user_attr("fail_reason", reason)
            trial.study.enqueue_trial(
                queued_params(trial),
                user_attrs={SWEEP: trial.user_attrs.get(SWEEP), "retry_of": trial.number},
            )
            raise
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}")
            raise

    def _objective(trial: optuna.Trial) -> float:
        with shielded():
            tspec, extra = trial_spec(spec, trial)
            for key, value in extra.items():
                trial.set_user_attr(key, value)
            trial.set_user_attr("spec", tspec.to_dict())
            trial.set_user_attr("seed", tspec.seed)
            trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")

        def on_epoch(epoch: int, val_accuracy: float, train_loss: float) -> None:
            # A signal during these storage writes waits for their end; one that arrived during
            # the epoch but could not raise there raises here (see _signals).
            with shielded():
                trial.report(1.0 - val_accuracy, epoch)
                prune = spec.sampler.pruner != "none" and trial.should_prune()
                if prune:
                    trial.set_user_attr("pruned_at_epoch", epoch)
            if prune:
                raise optuna.TrialPruned(f"pruned after epoch {epoch}")
            check_time(time.time())  # past the sweep's --timeout: stop here, queued again

        result = _run(tspec, extra, on_epoch, jit)
        with shielded(interrupt_after=False):  # trained: the result is written in full
            for key, value in result_attrs(result).items():
                trial.set_user_attr(key, value)
        return objective_value(result, tspec.train, spec.objective.penalty_s)

    def _run(tspec: TrialSpec, extra: dict[str, Any], on_epoch: Any, jit: bool | None) -> TrialResult:
        form = extra.get("form", "canonical")
        if form != "canonical":
            from lstmbench.notebook import run_as_written

            return run_as_written(extra["variant"], form, tspec, on_epoch=on_epoch)
        return run_trial(tspec, on_epoch=on_epoch, jit=jit)

    return objective
