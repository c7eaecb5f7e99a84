"""Frozen dataclasses for one trial: the task, the training settings, the model configuration.

Every range check lives in ``__post_init__`` so that a bad value is refused wherever it comes
from (command line, study file, a stored trial being replayed), with the value and the range.
"""

from __future__ import annotations

import dataclasses
import math
import os
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


# Each built-in task: (classes, features, default n_sequences, default seq_len). Classes 0 is a
# regression. The sizes are chosen so that a study of the task finishes in minutes on a laptop
# (docs/tasks.md says why each); the user's .npz ("npz") brings its own.
KINDS: dict[str, tuple[int, int, int, int]] = {
    "first-bit": (2, 1, 100, 20),  # the notebook's SAMPLES and MAX_SEQ_LEN
    "two-sequence": (2, 1, 200, 20),
    "adding": (0, 2, 1000, 20),
    "temporal-order": (4, 8, 400, 20),
    "npz": (0, 0, 0, 0),  # everything from the file
}
METRICS = ("per-sample", "final")
REGRESSION_TOLERANCE = 0.04  # Hochreiter & Schmidhuber's adding problem: right when |error| < 0.04


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


@dataclass(frozen=True)
class TaskSpec:
    """A task: its kind, its sizes, how its validation is scored.

    ``first-bit`` is the notebook's (``n_sequences`` rows of ``seq_len`` steps, half with a 1 at
    step 0); ``two-sequence``, ``adding`` and ``temporal-order`` are Hochreiter & Schmidhuber's;
    ``npz`` is the user's file at ``path``. Sizes left out take the kind's defaults (``KINDS``).
    An ``npz`` task is *resolved* once its file has been read (``lstmbench.tasks.resolve``):
    ``sha256`` then holds the file's content hash and the sizes are the file's.
    """

    kind: str = "first-bit"
    n_sequences: int | None = None  # None: the kind's (first-bit: 100, the notebook's SAMPLES)
    seq_len: int | None = None  # None: the kind's (first-bit: 20, the notebook's MAX_SEQ_LEN)
    val_fraction: float = 0.1  # the notebook's test_size
    noise: float = 0.0  # first-bit: chance of a random 1 at steps > 0; it never carries the label
    seed: int | None = None  # the data's seed; None: the trial's seed (a replayed member sets it)
    n_info: int = 3  # two-sequence: leading steps that carry the class (Hochreiter & Schmidhuber: 3)
    metric: str = ""  # "per-sample" or "final"; "": the task's (first-bit: per-sample, else final)
    tolerance: float = 0.0  # regression: right when |error| < tolerance; 0: 0.04 (the adding problem's)
    path: str = ""  # npz: the file
    sha256: str = ""  # npz: the file's content hash, filled in when it is read
    n_features: int = 0  # npz: the file's F (built-in kinds have their own)
    n_classes: int = 0  # npz: the file's classes (0: float targets, a regression)
    n_validation: int = 0  # npz: sequences in the file's x_val (0: split off val_fraction)
    lag: int = 0  # npz: the file's lag, the last steps that hold what the target depends on (0: unknown)

    def __post_init__(self) -> None:
        _check(self.kind in KINDS, f"kind={self.kind!r} is unknown: choose one of {', '.join(KINDS)}")
        _, _, n_default, L_default = KINDS[self.kind]
        if self.n_sequences is None:
            object.__setattr__(self, "n_sequences", n_default)
        if self.seq_len is None:
            object.__setattr__(self, "seq_len", L_default)
        _check(self.metric in ("", *METRICS),
               f"metric={self.metric!r} is unknown: choose {' or '.join(METRICS)}")
        _check(self.tolerance >= 0, f"tolerance={self.tolerance} is out of range: must be >= 0")
        if self.kind == "npz":
            _check(bool(self.path), 'kind = "npz" needs path = "FILE.npz"')
            if not self.resolved:
                return  # the sizes are the file's, checked when it is read
        _check(self.seq_len >= 1, f"seq_len={self.seq_len} is out of range: must be >= 1")
        shortest = {"two-sequence": self.n_info + 1, "adding": 6, "temporal-order": 10}.get(self.kind, 1)
        _check(self.seq_len >= shortest,
               f"seq_len={self.seq_len} is too short for {self.kind}: must be >= {shortest}")
        _check(self.n_info >= 1, f"n_info={self.n_info} is out of range: must be >= 1")
        _check(
            0.0 < self.val_fraction < 1.0,
            f"val_fraction={self.val_fraction} is out of range: must be in (0, 1)",
        )
        _check(
            0.0 <= self.noise < 1.0, f"noise={self.noise} is out of range: must be in [0, 1)"
        )
        self._check_split()

    def _check_split(self) -> None:
        n, n_val, C = self.n_sequences, self.n_val, max(self.classes, 1)
        if self.kind == "npz":
            return  # the file's classes per side are checked when it is read
        _check(n >= 2 * C, f"n_sequences={n} is out of range: must be >= {2 * C} (each split "
                           f"needs {'every class' if C > 1 else 'a sequence'}"
                           f"{', each class at least 2 sequences' if C > 1 else ''})")
        # The split is stratified: each side needs a sequence of each class, or it is empty or
        # single-class (scikit-learn refuses it, or accuracy means nothing).
        _check(
            C <= n_val <= n - C,
            f"n_sequences={n} with val_fraction={self.val_fraction} leaves {n_val} validation "
            f"and {n - n_val} training sequences, fewer than the {C} classes on one side: "
            f"use a val_fraction in ({1 / n:.3g}, {(n - C) / n:.3g}] or more sequences",
        )

    @property
    def resolved(self) -> bool:
        """Whether the sizes are known: always, except for an npz file not read yet."""
        return self.kind != "npz" or bool(self.sha256)

    @property
    def classes(self) -> int:
        """Classes of the target; 0 for a regression (float targets)."""
        return self.n_classes if self.kind == "npz" else KINDS[self.kind][0]

    @property
    def features(self) -> int:
        """F, the values per step."""
        return self.n_features if self.kind == "npz" else KINDS[self.kind][1]

    @property
    def regression(self) -> bool:
        return self.classes == 0

    @property
    def default_metric(self) -> str:
        """The notebook's per-sample for first-bit (its ceiling is defined so); final for the rest."""
        return "per-sample" if self.kind == "first-bit" else "final"

    @property
    def scoring(self) -> tuple[str, float | None]:
        """(metric, tolerance) that score this task's validation: the spec's, else the task's;
        a tolerance only for a regression."""
        tolerance = (self.tolerance or REGRESSION_TOLERANCE) if self.regression else None
        return self.metric or self.default_metric, tolerance

    @property
    def n_val(self) -> int:
        """Validation sequences, as scikit-learn's ``train_test_split`` counts them."""
        if self.n_validation:
            return self.n_validation
        return math.ceil(self.n_sequences * self.val_fraction)  # type: ignore[operator]

    @property
    def n_train(self) -> int:
        return self.n_sequences - self.n_val  # type: ignore[operator]

    @property
    def label(self) -> str:
        """The task as a reader names it: the kind, or the file's name for npz."""
        return os.path.basename(self.path) if self.kind == "npz" else self.kind


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
