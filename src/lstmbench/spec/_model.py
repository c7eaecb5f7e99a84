"""Frozen dataclasses for one trial: the task, the training settings, the model configuration.

Every range check lives in ``__post_init__`` so that a bad value is refused wherever it comes
from (command line, study file, a stored trial being replayed), with the value and the range.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from lstmbench.errors import UserError

ENGINES = ("compiled", "keras")
# The seed notebook's cells run by its own code (lstmbench.engines._notebook), as "variant:form";
# the engine of one is "notebook:variant:form".
NOTEBOOK_FORMS = (
    "stateless-w10:as-written", "writing-1:as-written", "writing-2:as-written",
    "writing-2:after-reshape", "writing-3:as-meant", "writing-3:label-bug", "writing-4:as-meant",
    "writing-4:label-bug", "writing-5:as-written",
)
NOTEBOOK_ENGINES = tuple(f"notebook:{form}" for form in NOTEBOOK_FORMS)
XLA = ("auto", "on", "off")
PROGRAMS = ("shared", "exact")


def divisors(n: int) -> tuple[int, ...]:
    return tuple(d for d in range(1, n + 1) if n % d == 0)


def n_windows(task: TaskSpec, window: int) -> int:
    """Training windows of ``window`` steps: what a stateless batch is drawn from."""
    return task.n_train * (task.seq_len - window + 1)
N_CLASSES = 2  # the first bit: 0 or 1


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


@dataclass(frozen=True)
class TaskSpec:
    """The first-bit task: ``n_sequences`` rows of ``seq_len`` steps, half with a 1 at step 0."""

    n_sequences: int = 100  # the notebook's SAMPLES
    seq_len: int = 20  # the notebook's MAX_SEQ_LEN
    val_fraction: float = 0.1  # the notebook's test_size
    noise: float = 0.0  # chance of a random 1 at steps > 0; it never carries the label
    seed: int | None = None  # the data's seed; None: the trial's seed (a replayed member sets it)

    def __post_init__(self) -> None:
        _check(self.seq_len >= 1, f"seq_len={self.seq_len} is out of range: must be >= 1")
        _check(
            0.0 < self.val_fraction < 1.0,
            f"val_fraction={self.val_fraction} is out of range: must be in (0, 1)",
        )
        _check(
            0.0 <= self.noise < 1.0, f"noise={self.noise} is out of range: must be in [0, 1)"
        )
        n, n_val = self.n_sequences, math.ceil(self.n_sequences * self.val_fraction)
        _check(n >= 4, f"n_sequences={n} is out of range: must be >= 4 (each split needs both "
                       "classes, each class at least 2 sequences)")
        # The split is stratified: each side needs a sequence of each class, or it is empty or
        # single-class (scikit-learn refuses it, or accuracy means nothing).
        _check(
            N_CLASSES <= n_val <= n - N_CLASSES,
            f"n_sequences={n} with val_fraction={self.val_fraction} leaves {n_val} validation "
            f"and {n - n_val} training sequences, fewer than the {N_CLASSES} classes on one side: "
            f"use a val_fraction in ({1 / n:.3g}, {(n - N_CLASSES) / n:.3g}] or more sequences",
        )

    @property
    def n_val(self) -> int:
        """Validation sequences, as scikit-learn's ``train_test_split`` counts them."""
        return math.ceil(self.n_sequences * self.val_fraction)

    @property
    def n_train(self) -> int:
        return self.n_sequences - self.n_val


@dataclass(frozen=True)
class TrainSpec:
    """How a trial trains: budget, target, engine, XLA."""

    epochs: int = 30  # stateful B=1 converges in 2-3 epochs; larger batches need more updates
    target: float = 0.99  # validation accuracy that counts as converged
    engine: str = "compiled"  # "compiled" (fast, default), "keras" (reference), "notebook:..."
    learning_rate: float = 1e-3  # Keras' Adam default, as in the notebook
    stop_at_convergence: bool = True  # stop the trial at its convergence epoch
    shuffle: bool = True  # new order of sequences (stateful) / windows (stateless) each epoch
    # XLA for the training step: "auto" is on for the compiled engine (its programs are shared
    # by trials and cached across processes) and leaves Keras' own default to the keras engine.
    # A trial's result stores the choice it resolved to ("on"/"off"), so a replay runs the same
    # program.
    xla: str = "auto"
    replicates: int = 1  # members (seeds) per trial, trained side by side; see TrialSpec
    # Compiled engine: "shared" programs serve every configuration of a batch-size bucket (a
    # sweep compiles a handful); "exact" builds one for this configuration's own shapes (no
    # padding: the smallest configurations train up to 4x faster, each compiles its own).
    # Both compute the same numbers (tests/test_buckets.py).
    programs: str = "shared"

    def __post_init__(self) -> None:
        _check(self.epochs >= 1, f"epochs={self.epochs} is out of range: must be >= 1")
        _check(
            self.replicates >= 1,
            f"replicates={self.replicates} is out of range: must be >= 1 (1: one seed per trial)",
        )
        _check(0.0 < self.target <= 1.0, f"target={self.target} is out of range: must be in (0, 1]")
        _check(
            self.engine in ENGINES + NOTEBOOK_ENGINES,
            f"engine={self.engine!r} is unknown: choose one of {', '.join(ENGINES)} "
            f"(or a notebook form: {', '.join(NOTEBOOK_ENGINES)})",
        )
        _check(self.xla in XLA, f"xla={self.xla!r} is unknown: choose one of {', '.join(XLA)}")
        _check(self.programs in PROGRAMS,
               f"programs={self.programs!r} is unknown: choose one of {', '.join(PROGRAMS)}")
        _check(
            self.learning_rate > 0,
            f"learning_rate={self.learning_rate} is out of range: must be > 0",
        )


@dataclass(frozen=True)
class ModelConfig:
    """One point of the search space: the arm (stateful or not) and its shape.

    Stateless: ``window`` steps per sample, ``batch_size`` windows per update.
    Stateful: ``timesteps`` steps per chunk, ``batch_size`` sequences side by side.
    """

    stateful: bool
    batch_size: int
    units: int
    window: int | None = None
    timesteps: int | None = None

    def __post_init__(self) -> None:
        _check(self.units >= 1, f"units={self.units} is out of range: must be >= 1")
        _check(self.batch_size >= 1, f"batch_size={self.batch_size} is out of range: must be >= 1")
        if self.stateful:
            _check(self.timesteps is not None, "a stateful model needs timesteps (e.g. 1)")
            _check(self.window is None, "window is for stateless models; use timesteps")
            _check(
                self.timesteps >= 1, f"timesteps={self.timesteps} is out of range: must be >= 1"
            )
        else:
            _check(self.window is not None, "a stateless model needs window (e.g. 10)")
            _check(self.timesteps is None, "timesteps is for stateful models; use window")
            _check(self.window >= 1, f"window={self.window} is out of range: must be >= 1")

    @property
    def arm(self) -> str:
        return "stateful" if self.stateful else "stateless"

    @property
    def steps(self) -> int:
        """Steps per call of the LSTM: timesteps (stateful) or window (stateless)."""
        return self.timesteps if self.stateful else self.window  # type: ignore[return-value]

    def check_against(self, task: TaskSpec) -> None:
        """Refuse a configuration the task cannot feed, naming the value and the allowed range."""
        L = task.seq_len
        if self.stateful:
            _check(
                L % self.timesteps == 0,  # type: ignore[operator]
                f"timesteps={self.timesteps} does not divide seq_len={L}: "
                f"choose one of {', '.join(map(str, divisors(L)))}",
            )
            _check(
                self.batch_size <= task.n_train,
                f"batch_size={self.batch_size} is out of range: a stateful batch holds whole "
                f"sequences, and the training split has {task.n_train} (1..{task.n_train})",
            )
        else:
            _check(
                self.window <= L,  # type: ignore[operator]
                f"window={self.window} is out of range: must be 1..seq_len ({L})",
            )
            most = n_windows(task, self.window)  # type: ignore[arg-type]
            _check(
                self.batch_size <= most,
                f"batch_size={self.batch_size} is out of range: the training split has "
                f"{most} windows of {self.window} (1..{most})",
            )


# Member i of a trial with seed s has seed s + i * MEMBER_SEED_STRIDE: member 0 is the trial's
# own seed (a one-member trial is what it always was), and the stride keeps members of
# neighbouring trials (seeds s, s + 1, ...) from sharing initial weights or orders.
MEMBER_SEED_STRIDE = 1_000_000


@dataclass(frozen=True)
class TrialSpec:
    """Everything needed to re-run one trial.

    With ``train.replicates = K`` the trial trains K members on one data set (seed
    :attr:`data_seed`), member i with its own weights and order from ``member_seeds[i]``.
    Member i is the one-member trial :meth:`member_spec` ``(i)``; member 0 of any trial is the
    one-member trial of the same spec.
    """

    model: ModelConfig
    task: TaskSpec = TaskSpec()
    train: TrainSpec = TrainSpec()
    seed: int = 0

    def __post_init__(self) -> None:
        self.model.check_against(self.task)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def data_seed(self) -> int:
        """Seed of the task's data and split: ``task.seed``, else the trial's seed."""
        return self.seed if self.task.seed is None else self.task.seed

    @property
    def member_seeds(self) -> list[int]:
        """Each member's seed for its initial weights and its shuffle order."""
        return [self.seed + i * MEMBER_SEED_STRIDE for i in range(self.train.replicates)]

    def member_spec(self, i: int) -> TrialSpec:
        """The one-member trial that member ``i`` of this trial is: same data, its own seed."""
        _check(
            0 <= i < self.train.replicates,
            f"member {i} is out of range: the trial has members 0..{self.train.replicates - 1}",
        )
        return dataclasses.replace(
            self,
            task=dataclasses.replace(self.task, seed=self.data_seed),
            train=dataclasses.replace(self.train, replicates=1),
            seed=self.member_seeds[i],
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialSpec:
        return cls(
            model=ModelConfig(**data["model"]),
            task=TaskSpec(**data["task"]),
            train=TrainSpec(**data["train"]),
            seed=int(data["seed"]),
        )


def describe_config(spec: dict[str, Any] | None) -> str:
    """Return e.g. ``stateful T=1 B=10 U=8`` (``L=...`` added when seq_len is not 20)."""
    if not spec:
        return "?"
    m = spec["model"]
    text = (f"stateful T={m['timesteps']} B={m['batch_size']} U={m['units']}" if m["stateful"]
            else f"stateless W={m['window']} B={m['batch_size']} U={m['units']}")
    L = spec.get("task", {}).get("seq_len", 20)
    return text if L == 20 else f"{text} L={L}"
