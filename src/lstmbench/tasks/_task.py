"""A task as the trial runner sees it: its data, head, lag, metric and stateless ceiling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lstmbench.feeding import Head, windows
from lstmbench.spec import ModelConfig, TaskSpec
from lstmbench.tasks import _classic, _first_bit, _npz
from lstmbench.tasks._data import TaskData
from lstmbench.tasks._metrics import best_constant

_MAKERS: dict[str, Callable[[TaskSpec, int], TaskData]] = {
    "first-bit": _first_bit.first_bit,
    "two-sequence": _classic.two_sequence,
    "adding": _classic.adding,
    "temporal-order": _classic.temporal_order,
    "npz": _npz.load,
}


@dataclass(frozen=True)
class Task:
    """What a task spec means: how to make its data and what a stateless window can see of it.

    ``lag``: the fewest final steps that hold everything the target depends on, in every
    sequence (a final window of ``lag`` steps or more can be right every time); ``blind``: the
    most final steps that hold nothing it depends on, in any sequence (a final window of at
    most ``blind`` steps can do no better than a guess that ignores the input). None where
    the task does not know (the user's file says its lag or not; it never says ``blind``).
    """

    spec: TaskSpec

    @property
    def head(self) -> Head:
        """The model's output: sigmoid for two classes, softmax for more, linear for a regression."""
        return Head("linear") if self.spec.regression else Head.for_classes(self.spec.classes)

    @property
    def metric(self) -> str:
        return self.spec.scoring[0]

    @property
    def tolerance(self) -> float | None:
        return self.spec.scoring[1]

    @property
    def lag(self) -> int | None:
        s, L = self.spec, self.spec.seq_len
        if s.kind == "two-sequence":
            return L - s.n_info + 1  # any one of the first n_info steps holds the class
        if s.kind == "temporal-order":
            return L - _classic.temporal_positions(L)[0][0]
        if s.kind == "npz":
            return s.lag or None
        return L  # first-bit: step 0; adding: the first mark may fall on step 0

    @property
    def blind(self) -> int | None:
        s, L = self.spec, self.spec.seq_len
        latest = {  # the latest step the target can depend on
            "first-bit": 0,
            "two-sequence": s.n_info - 1,
            "adding": _classic.adding_marks(L)[1] - 1,
            "temporal-order": _classic.temporal_positions(L)[1][1],
        }.get(s.kind)
        return None if latest is None else L - 1 - latest

    def make(self, seed: int) -> TaskData:
        """Return the task's train and validation sequences for ``seed``."""
        return _MAKERS[self.spec.kind](self.spec, seed)

    def ceiling(self, model: ModelConfig, data: TaskData) -> float | None:
        """Best validation score any model of this layout can reach, where it is known exactly.

        The whole sequence seen (stateful, or a window of ``seq_len`` steps): 1. first-bit
        scored per sample: the majority label of each distinct window (the notebook's 0.545 for
        W = 10). Scored on the final window: 1 when it spans the lag, the best guess that
        ignores the input when it is blind (its content is drawn independently of the target:
        a model can beat that guess on a finite split only by chance). None otherwise, and for
        the user's data.
        """
        if self.spec.kind == "npz":
            return None
        W = model.window
        if model.stateful or self.spec.seq_len == W:
            return 1.0
        if self.metric == "per-sample":
            if self.spec.kind != "first-bit":
                return None
            w, wy = windows(data.x_val, data.y_val, W)  # type: ignore[arg-type]
            return _first_bit.window_ceiling(w, wy)
        if self.lag is not None and self.lag <= W:  # type: ignore[operator]
            return 1.0
        if self.blind is not None and self.blind >= W:  # type: ignore[operator]
            return best_constant(data.y_val, classes=not self.spec.regression,
                                 tolerance=self.tolerance)
        return None


def make_task(spec: TaskSpec, seed: int) -> TaskData:
    """Return the train and validation sequences of ``spec`` for ``seed``."""
    return Task(spec).make(seed)


@dataclass(frozen=True)
class Dimensions:
    """Every size of a task's data that memory depends on."""

    n_train: int  # training sequences
    n_val: int  # validation sequences
    seq_len: int  # steps per sequence
    features: int  # F: inputs per step
    outputs: int  # the model's output units (classes of a softmax head, else 1)
    making: int  # bytes the task's generator holds besides its sequences while it makes them


def dimensions(spec: TaskSpec) -> Dimensions:
    """Return the task's sequences, steps, features, model outputs and generator's scratch bytes
    (from the spec alone: an npz task's sizes are its file's, read when it was resolved)."""
    n, L, F = spec.n_sequences, spec.seq_len, spec.features
    cells = n * L  # type: ignore[operator]
    making = {
        # first-bit's noise: float64 draws, then a bool mask, for every step after the first
        "first-bit": n * (L - 1) * (8 + 1) if spec.noise > 0 else 0,  # type: ignore[operator]
        "two-sequence": 8 * cells,  # the float64 noise before it is cast
        "adding": 16 * cells,  # float64 values, their float32 copy and the markers
        "temporal-order": 8 * cells,  # the int64 symbols before they are one-hot
        "npz": 8 * cells * F,  # the file's arrays as stored (float64 at most) before the cast
    }[spec.kind]
    return Dimensions(n_train=spec.n_train, n_val=spec.n_val, seq_len=L,  # type: ignore[arg-type]
                      features=F, outputs=Task(spec).head.n_outputs, making=making)
