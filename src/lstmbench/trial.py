"""Run one configuration to convergence: the one place in lstmbench that measures time."""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmbench import __version__
from lstmbench.errors import TrainingDiverged
from lstmbench.feeding import Batches, eval_set, population_batches
from lstmbench.measures import time_to_solution
from lstmbench.spec import TrialSpec
from lstmbench.tasks import Task, score

# Called after every epoch with (epoch, val_accuracy, train_loss); may raise to stop the trial
# (a pruner does); val_accuracy is the task's score. It runs outside the timed regions.
EpochCallback = Callable[[int, float, float], None]


@dataclass(frozen=True)
class TrialResult:
    """What one trial did, with the timings of the harness's own monotonic clock.

    A trial trains ``replicates`` members (K) of one configuration side by side, member i from
    seed ``member_seeds[i]`` (see ``TrialSpec``); with K = 1 every key means what it always
    did. With K > 1 the keys of a one-seed trial summarise the members:

    - ``converged``: at least one member reached the target (``converged_share`` says how many);
    - ``convergence_epoch``: the first epoch by which at least half of the converged members
      had converged (their lower median: an epoch some member converged at); ``median_epoch``
      is their plain median;
    - ``best_val_accuracy``: the best of any member in any epoch (``converged`` iff >= target);
    - ``val_accuracy``, ``train_loss``, ``val_loss``: per epoch, the mean over members (losses over
      the members whose loss is still finite); ``final_val_accuracy`` is the last of them;
    - ``time_to_converge_s``: compile, train and evaluation seconds through epoch
      ``convergence_epoch`` (the whole population's);
    - timings (``epoch_ms``, ``train_ms``, ``eval_ms``, ``compile_s``) are the whole population's;
      ``n_params`` is per member; ``seed`` is the trial's, which is member 0's.

    Per member (lists of K): ``member_epochs`` (convergence epoch or None), ``member_best_val_accuracy``,
    ``member_train_s`` (its share of the population's training seconds through its convergence
    epoch, i.e. those seconds / K; None if it did not converge), ``member_diverged`` (epoch its
    loss stopped being finite, or None) and the curves ``member_val_accuracy``,
    ``member_train_loss``, ``member_val_loss`` (non-finite values as None).
    """

    converged: bool
    convergence_epoch: int | None  # 1-based; None when the target was never reached
    best_val_accuracy: float
    final_val_accuracy: float
    val_accuracy: list[float]
    train_loss: list[float]
    val_loss: list[float]
    # best score any model of this layout can reach on the validation split, where it is known
    # exactly (None: not known, e.g. the user's data)
    ceiling: float | None
    epochs_run: int
    epoch_ms: float  # median train time of an epoch after the first
    train_ms: list[float]  # every epoch's train time
    eval_ms: float  # median evaluation time
    compile_s: float  # build + trace + compile (0 when a previous trial's program was reused)
    # compile_s + train and evaluation seconds of epochs 1..convergence epoch: what it costs to
    # get a converged model; data creation, batch shuffling and the on_epoch callback (a study's
    # storage writes) are not in it
    time_to_converge_s: float | None
    total_s: float
    n_params: int
    n_updates: int  # optimizer steps per epoch
    engine: str
    jit: bool
    reused_program: bool
    spec: dict[str, Any]
    seed: int
    replicates: int
    converged_share: float  # converged members / replicates
    median_epoch: float | None  # median convergence epoch over converged members
    member_seeds: list[int]
    member_epochs: list[int | None]
    member_best_val_accuracy: list[float]
    member_train_s: list[float | None]
    member_diverged: list[int | None]
    member_val_accuracy: list[list[float]]
    member_train_loss: list[list[float | None]]
    member_val_loss: list[list[float | None]]
    versions: dict[str, str] = field(default_factory=dict)
    # What XLA's persistent compilation cache did: "hit", "miss", "off"; None when this trial
    # compiled no XLA program (its program was reused, or XLA was off). Optional: older results
    # lack it.
    xla_cache: str | None = None
    # How validation was scored: "per-sample" (every window / chunk) or "final" (each sequence's
    # last), and for a regression the |error| that counts as right. Older results lack them:
    # they were first-bit's per-sample accuracy.
    metric: str = "per-sample"
    tolerance: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def time_to_solution_s(self) -> float:
        """Expected training seconds to one converged model (``lstmbench.measures``): a failed
        member counts its whole run, the population's training seconds / K."""
        budget_s = sum(self.train_ms) / 1e3 / self.replicates
        return time_to_solution(self.member_train_s, [budget_s] * self.replicates)


def versions() -> dict[str, str]:
    """Versions that decide whether a trial can be reproduced."""
    from lstmbench.engines import tensorflow

    tf = tensorflow()  # quietly, with lstmbench's thread settings
    import keras

    return {
        "lstmbench": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "machine": platform.machine(),
        "system": platform.system(),
        "cpu": _cpu_name(),
        "cpus": str(os.cpu_count()),
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class _Members:
    """Each member's curves, convergence and divergence, filled in epoch by epoch."""

    def __init__(self, replicates: int, target: float) -> None:
        self.target = target
        self.val_accuracy: list[list[float]] = [[] for _ in range(replicates)]
        self.train_loss: list[list[float | None]] = [[] for _ in range(replicates)]
        self.val_loss: list[list[float | None]] = [[] for _ in range(replicates)]
        self.epochs: list[int | None] = [None] * replicates
        self.diverged: list[int | None] = [None] * replicates

    def record(self, epoch: int, losses: np.ndarray, scores: list[tuple[float, float]]) -> None:
        for i, (loss, (v_loss, v_acc)) in enumerate(zip(losses, scores)):
            if self.diverged[i] is None and not math.isfinite(loss):
                self.diverged[i] = epoch
            self.train_loss[i].append(_finite(float(loss)))
            self.val_loss[i].append(_finite(v_loss))
            self.val_accuracy[i].append(v_acc)
            # A diverged member predicts from NaN weights: it never counts as converged.
            if self.epochs[i] is None and self.diverged[i] is None and v_acc >= self.target:
                self.epochs[i] = epoch

    @property
    def all_diverged(self) -> bool:
        return all(d is not None for d in self.diverged)

    @property
    def all_done(self) -> bool:
        """Every member converged (or diverged, so it never will)."""
        return all(e is not None or d is not None for e, d in zip(self.epochs, self.diverged))

    def mean_curve(self, curves: list[list[Any]], epoch: int) -> float:
        """The mean over members of epoch ``epoch``'s values that are finite (NaN if none)."""
        values = [c[epoch - 1] for c in curves if c[epoch - 1] is not None]
        return statistics.fmean(values) if values else math.nan


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def resolved_spec(spec: TrialSpec, jit: bool) -> TrialSpec:
    """Return ``spec`` with ``train.xla`` set to what the engine did ("on" or "off")."""
    train = dataclasses.replace(spec.train, xla="on" if jit else "off")
    return dataclasses.replace(spec, train=train)


def import_tensorflow() -> None:
    """Import TensorFlow and Keras as trials use them (configured, quietly).

    Seconds of start-up that a sweep's worker spends while the sweep sets up its study,
    rather than in its first trial.
    """
    from lstmbench.engines import tensorflow

    tensorflow()
    import keras  # noqa: F401


def run_trial(spec: TrialSpec, *, on_epoch: EpochCallback | None = None) -> TrialResult:
    """Train the ``spec.train.replicates`` members of ``spec`` for up to ``spec.train.epochs``,
    evaluating every member after every epoch.

    With ``spec.train.stop_at_convergence`` stops once every member has converged. Raises
    :class:`TrainingDiverged` when every member's training loss has stopped being finite.
    ``on_epoch`` gets the mean over members of the validation accuracy and the training loss.
    The result's spec holds the XLA choice as resolved ("on"/"off"): a replay runs the same
    program.
    """
    from lstmbench.engines import make_population

    import_tensorflow()  # start-up, not this trial's compile time

    start = time.perf_counter()
    task = Task(spec.task)
    data = task.make(spec.data_seed)
    model, train, head = spec.model, spec.train, task.head
    evalset = eval_set(data.x_val, data.y_val, model, head=head)

    def batches_for(epoch: int) -> Batches:
        return population_batches(data.x_train, data.y_train, model, seeds=spec.member_seeds,
                                  epoch=epoch, shuffle=train.shuffle, head=head)

    def scored(predictions: np.ndarray) -> tuple[float, float]:
        return score(predictions, evalset.yv, head=head, metric=task.metric,
                     tolerance=task.tolerance, sequences=len(data.y_val))

    first = batches_for(1)
    t0 = time.perf_counter()
    population = make_population(spec, first, evalset)
    reused = bool(getattr(population, "reused", False))
    population.warm_up(first, evalset)
    timing = _Timing(start=start, compile_s=time.perf_counter() - t0, reused=reused)

    members = _Members(train.replicates, train.target)
    for epoch in range(1, train.epochs + 1):
        batches = first if epoch == 1 else batches_for(epoch)
        t0 = time.perf_counter()
        losses = population.train_epoch(batches)
        t1 = time.perf_counter()
        probs = population.predict(evalset)
        t2 = time.perf_counter()
        timing.epoch(t1 - t0, t2 - t1)
        members.record(epoch, losses, [scored(p) for p in probs])
        if members.all_diverged:
            raise TrainingDiverged(_diverged_message(losses, epoch))
        if on_epoch is not None:
            on_epoch(epoch, members.mean_curve(members.val_accuracy, epoch),
                     members.mean_curve(members.train_loss, epoch))
        if train.stop_at_convergence and members.all_done:
            break
    return _result(spec, members, timing, population, task, task.ceiling(model, data),
                   first.n_updates)


def _diverged_message(losses: np.ndarray, epoch: int) -> str:
    if len(losses) == 1:
        return f"train loss became {float(losses[0])} in epoch {epoch}"
    return f"the train loss of every one of {len(losses)} members became non-finite (by epoch {epoch})"


@dataclass
class _Timing:
    """The trial's clock readings: compile, then each epoch's train and eval time."""

    start: float
    compile_s: float
    reused: bool
    train_ms: list[float] = field(default_factory=list)
    eval_ms: list[float] = field(default_factory=list)
    # compile + train + evaluation seconds to the end of each epoch: what converging costs,
    # without making the data or writing epochs to the storage
    spent_s: list[float] = field(default_factory=list)

    def epoch(self, train_s: float, eval_s: float) -> None:
        self.train_ms.append(train_s * 1e3)
        self.eval_ms.append(eval_s * 1e3)
        self.spent_s.append((self.spent_s[-1] if self.spent_s else self.compile_s) + train_s + eval_s)


def _result(spec: TrialSpec, members: _Members, timing: _Timing, population: Any, task: Task,
            ceiling: float | None, n_updates: int) -> TrialResult:
    """Assemble the trial's result from its members' records and its clock readings."""
    K, epochs_run = spec.train.replicates, len(timing.train_ms)
    converged = sorted(e for e in members.epochs if e is not None)
    epoch = statistics.median_low(converged) if converged else None
    curve = [members.mean_curve(members.val_accuracy, e) for e in range(1, epochs_run + 1)]

    def train_s(e: int | None) -> float | None:  # a member's share of the population's seconds
        return None if e is None else sum(timing.train_ms[:e]) / 1e3 / K

    return TrialResult(
        converged=epoch is not None,
        convergence_epoch=epoch,
        best_val_accuracy=max(max(c) for c in members.val_accuracy),
        final_val_accuracy=curve[-1],
        val_accuracy=curve,
        train_loss=[members.mean_curve(members.train_loss, e) for e in range(1, epochs_run + 1)],
        val_loss=[members.mean_curve(members.val_loss, e) for e in range(1, epochs_run + 1)],
        ceiling=ceiling,
        epochs_run=epochs_run,
        epoch_ms=statistics.median(timing.train_ms[1:] or timing.train_ms),
        train_ms=timing.train_ms,
        eval_ms=statistics.median(timing.eval_ms),
        compile_s=timing.compile_s,
        time_to_converge_s=None if epoch is None else timing.spent_s[epoch - 1],
        total_s=time.perf_counter() - timing.start,
        n_params=population.n_params,
        n_updates=n_updates,
        engine=population.name,
        jit=population.jit,
        reused_program=timing.reused,
        spec=resolved_spec(spec, population.jit).to_dict(),
        seed=spec.seed,
        replicates=K,
        converged_share=len(converged) / K,
        median_epoch=float(statistics.median(converged)) if converged else None,
        member_seeds=spec.member_seeds,
        member_epochs=members.epochs,
        member_best_val_accuracy=[max(c) for c in members.val_accuracy],
        member_train_s=[train_s(e) for e in members.epochs],
        member_diverged=members.diverged,
        member_val_accuracy=members.val_accuracy,
        member_train_loss=members.train_loss,
        member_val_loss=members.val_loss,
        versions=versions(),
        xla_cache=getattr(population, "xla_cache", None),
        metric=task.metric,
        tolerance=task.tolerance,
    )
