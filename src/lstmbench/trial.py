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
from lstmbench.feeding import eval_set, train_batches, windows
from lstmbench.spec import TrialSpec
from lstmbench.task import make_task, window_ceiling

# Called after every epoch with (epoch, val_accuracy, train_loss); may raise to stop the trial
# (a pruner does). It runs outside the timed regions.
EpochCallback = Callable[[int, float, float], None]


@dataclass(frozen=True)
class TrialResult:
    """What one trial did, with the timings of the harness's own monotonic clock."""

    converged: bool
    convergence_epoch: int | None  # 1-based; None when the target was never reached
    best_val_accuracy: float
    final_val_accuracy: float
    val_accuracy: list[float]
    train_loss: list[float]
    val_loss: list[float]
    ceiling: float  # best accuracy any model of this layout can reach on the validation split
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
    versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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


def layout_ceiling(spec: TrialSpec, x_val: np.ndarray, y_val: np.ndarray) -> float:
    """Best reachable validation accuracy: 1 when the whole history is visible, else the
    majority label of each distinct window (the analytic ceiling on a noise-free task)."""
    model = spec.model
    if model.stateful or model.window == spec.task.seq_len:
        return 1.0
    w, wy = windows(x_val, y_val, model.window)  # type: ignore[arg-type]
    return window_ceiling(w, wy)


def resolved_spec(spec: TrialSpec, jit: bool) -> TrialSpec:
    """Return ``spec`` with ``train.xla`` set to what the engine did ("on" or "off")."""
    train = dataclasses.replace(spec.train, xla="on" if jit else "off")
    return dataclasses.replace(spec, train=train)


def run_trial(spec: TrialSpec, *, on_epoch: EpochCallback | None = None) -> TrialResult:
    """Train ``spec`` for up to ``spec.train.epochs``, evaluating after every epoch.

    Stops at the convergence epoch when ``spec.train.stop_at_convergence``. The result's spec
    holds the XLA choice as resolved ("on"/"off"): replaying it runs the same program. Raises
    :class:`TrainingDiverged` when the training loss stops being finite.
    """
    from lstmbench.engines import make_engine, score, tensorflow

    tensorflow()  # importing TensorFlow is start-up, not this trial's compile time
    import keras  # noqa: F401

    start = time.perf_counter()
    data = make_task(spec.task, spec.seed)
    model, train = spec.model, spec.train
    evalset = eval_set(data.x_val, data.y_val, model)

    def batches_for(epoch: int):
        return train_batches(
            data.x_train, data.y_train, model, seed=spec.seed, epoch=epoch, shuffle=train.shuffle
        )

    first = batches_for(1)
    t0 = time.perf_counter()
    engine = make_engine(spec, first, evalset)
    reused = bool(getattr(engine, "reused", False))
    engine.warm_up(first, evalset)
    compile_s = time.perf_counter() - t0

    val_acc: list[float] = []
    val_loss: list[float] = []
    train_loss: list[float] = []
    train_ms: list[float] = []
    eval_ms: list[float] = []
    converged_at: int | None = None
    time_to_converge: float | None = None
    spent = compile_s  # compile + train + evaluation seconds so far
    for epoch in range(1, train.epochs + 1):
        batches = first if epoch == 1 else batches_for(epoch)
        t0 = time.perf_counter()
        loss = engine.train_epoch(batches)
        t1 = time.perf_counter()
        probs = engine.predict(evalset)
        t2 = time.perf_counter()
        if not math.isfinite(loss):
            raise TrainingDiverged(f"train loss became {loss} in epoch {epoch}")
        v_loss, v_acc = score(probs, evalset.yv)
        spent += t2 - t0
        train_ms.append((t1 - t0) * 1e3)
        eval_ms.append((t2 - t1) * 1e3)
        train_loss.append(loss)
        val_loss.append(v_loss)
        val_acc.append(v_acc)
        if converged_at is None and v_acc >= train.target:
            converged_at = epoch
            time_to_converge = spent
        if on_epoch is not None:
            on_epoch(epoch, v_acc, loss)
        if converged_at is not None and train.stop_at_convergence:
            break

    return TrialResult(
        converged=converged_at is not None,
        convergence_epoch=converged_at,
        best_val_accuracy=max(val_acc),
        final_val_accuracy=val_acc[-1],
        val_accuracy=val_acc,
        train_loss=train_loss,
        val_loss=val_loss,
        ceiling=layout_ceiling(spec, data.x_val, data.y_val),
        epochs_run=len(val_acc),
        epoch_ms=statistics.median(train_ms[1:] or train_ms),
        train_ms=train_ms,
        eval_ms=statistics.median(eval_ms),
        compile_s=compile_s,
        time_to_converge_s=time_to_converge,
        total_s=time.perf_counter() - start,
        n_params=engine.n_params,
        n_updates=first.n_updates,
        engine=engine.name,
        jit=engine.jit,
        reused_program=reused,
        spec=resolved_spec(spec, engine.jit).to_dict(),
        seed=spec.seed,
        versions=versions(),
    )
