"""A study: task, training, search space, sampler and objective, as frozen dataclasses."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from lstmbench.errors import UserError
from lstmbench.spec._model import NOTEBOOK_FORMS, ModelConfig, TaskSpec, TrainSpec, divisors, n_windows

ARMS = ("stateful", "stateless")
SAMPLERS = ("tpe", "random")
PRUNERS = ("none", "median")
ADDED_SETTINGS = {("train", "xla"): "auto", ("train", "replicates"): 1, ("task", "seed"): None,
                  ("train", "programs"): "shared", ("confirmation", "members"): 16,
                  ("task", "kind"): "first-bit",
                  ("task", "n_info"): 3, ("task", "metric"): "", ("task", "tolerance"): 0.0,
                  ("task", "path"): "", ("task", "sha256"): "", ("task", "n_features"): 0,
                  ("task", "n_classes"): 0, ("task", "n_validation"): 0, ("task", "lag"): 0}
ADDED_SECTIONS = ("confirmation",)  # left out of the hash while every key in it is at its default
MIN_CONFIRMATION_MEMBERS = 16  # fewer seeds would leave a confirmed share too uncertain to quote


class SpecError(UserError):
    """A study spec that cannot run; the message names the key and the fix."""


@dataclass(frozen=True)
class SearchSpace:
    """What Optuna may choose. Empty tuples mean "derive from the task" (see each comment)."""

    arms: tuple[str, ...] = ARMS  # which arms to compare; each gets an equal share of trials
    seq_len: tuple[int, ...] = ()  # empty: the task's seq_len only; several: a factor of the study
    window_low: int = 1  # stateless window range, low..high steps
    window_high: int = 0  # 0: up to seq_len (W = L sees the whole sequence)
    timesteps: tuple[int, ...] = ()  # empty: every divisor of seq_len; each must divide every seq_len
    stateful_batch_size: tuple[int, ...] = (1, 2, 5, 10, 30)  # sequences side by side
    stateless_batch_size: tuple[int, ...] = (11, 30, 90)  # windows per update (11: the notebook)
    units: tuple[int, ...] = (4, 8, 16)  # LSTM units (the notebook used 8 and 4)


@dataclass(frozen=True)
class SamplerSpec:
    """How configurations are drawn. ``tpe``: the first ``n_startup_trials`` trials of the study
    are drawn at random, split evenly over the arms (the first n / arms trials of each arm, the
    arms taking turns); these *blind* draws, made before any result is seen, are what the report
    compares the arms on. TPE chooses the rest from the results. ``random``: every draw is blind.
    """

    name: str = "tpe"  # "tpe" (Optuna's default, handles the conditional space) or "random"
    n_startup_trials: int = 10  # random (blind) trials before TPE models the space, all arms
    pruner: str = "none"  # "none" keeps every trial's convergence honest; "median" saves time

    def blind_per_arm(self, arms: int) -> int | None:
        """Return how many trials of each arm are drawn blind (None: every one)."""
        if self.name == "random":
            return None
        return -(-self.n_startup_trials // arms)  # rounded up: no arm gets fewer


@dataclass(frozen=True)
class ConfirmationSpec:
    """A sweep ends by re-running the best configuration of each arm (the lowest time to
    solution among trials where a member converged) as one trial of ``members`` fresh seeds:
    the search's best is the minimum of many noisy estimates, the confirmation is not."""

    members: int = 16  # seeds of the confirmation trial (at least train.replicates); 0: none

    def members_for(self, train: TrainSpec) -> int:
        """Return the confirmation trial's members: never fewer than a search trial's."""
        return max(self.members, train.replicates)


@dataclass(frozen=True)
class ObjectiveSpec:
    """Minimise training seconds to convergence; a trial that never converges pays a penalty."""

    penalty_s: float = 100.0  # added when not converged, times (1 + target - best accuracy)


@dataclass(frozen=True)
class Variant:
    """A named fixed configuration, run once per seed (studies of known cases, e.g. the notebook)."""

    name: str
    stateful: bool
    batch_size: int
    units: int
    window: int | None = None
    timesteps: int | None = None
    epochs: int | None = None  # None: the study's train.epochs
    engine: str | None = None  # None: the study's train.engine (a notebook form sets its own)
    shuffle: bool | None = None  # None: the study's train.shuffle
    form: str = "canonical"  # "canonical", or a notebook form of this variant (spec.NOTEBOOK_FORMS)
    seeds: tuple[int, ...] = (0, 1, 2)
    arm: str = ""  # the arm the report compares it in; "": stateful or stateless, from the model

    @property
    def arm_name(self) -> str:
        return self.arm or self.model().arm

    @property
    def key(self) -> str:
        """The trial parameter ``variant``: ``name`` or ``name:form``."""
        return self.name if self.form == "canonical" else f"{self.name}:{self.form}"

    def train_engine(self, default: str) -> str:
        """The trial's engine: the notebook's own loop for a form, else ``engine`` or ``default``."""
        if self.form != "canonical":
            return f"notebook:{self.key}"
        return self.engine or default

    def model(self) -> ModelConfig:
        return ModelConfig(stateful=self.stateful, batch_size=self.batch_size, units=self.units,
                           window=self.window, timesteps=self.timesteps)


@dataclass(frozen=True)
class StudySpec:
    name: str = "default"
    description: str = ""
    seed: int = 0  # sampler seed; trial k trains with seed + k
    task: TaskSpec = TaskSpec()
    train: TrainSpec = TrainSpec()
    space: SearchSpace = SearchSpace()
    sampler: SamplerSpec = SamplerSpec()
    objective: ObjectiveSpec = ObjectiveSpec()
    confirmation: ConfirmationSpec = ConfirmationSpec()
    variants: tuple[Variant, ...] = field(default_factory=tuple)
    source: str = field(default="<defaults>", compare=False)  # where it was loaded from

    def __post_init__(self) -> None:
        self.validate()

    # -- derived choices ---------------------------------------------------------------
    @property
    def seq_lens(self) -> tuple[int, ...]:
        return self.space.seq_len or (self.task.seq_len,)

    @property
    def timesteps_choices(self) -> tuple[int, ...]:
        if self.space.timesteps:
            return self.space.timesteps
        common = set(divisors(self.seq_lens[0]))
        for L in self.seq_lens[1:]:
            common &= set(divisors(L))
        return tuple(sorted(common))

    def window_range(self, seq_len: int) -> tuple[int, int]:
        high = self.space.window_high or seq_len
        return self.space.window_low, min(high, seq_len)

    def task_for(self, seq_len: int) -> TaskSpec:
        return dataclasses.replace(self.task, seq_len=seq_len)

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as stored with its study. A data file is its name and its content
        (``task.sha256``): the same file in another folder, or on another machine, is the same
        study."""
        data = dataclasses.asdict(self)
        data.pop("source")
        if data["task"].get("path"):
            data["task"]["path"] = os.path.basename(data["task"]["path"])
        return data

    def hash(self) -> str:
        """Return a short hash of everything that decides what the trials do (not the name)."""
        data = self.to_dict()
        data.pop("name")
        data.pop("description")
        # Settings added since lstmbench 0.1 count only when set: at their default, a study made
        # before they existed still joins.
        for (section, key), default in ADDED_SETTINGS.items():
            if data[section].get(key, default) == default:
                data[section].pop(key, None)
        for section in ADDED_SECTIONS:
            if not data[section]:
                data.pop(section)
        blob = json.dumps(data, sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    # -- validation ----------------------------------------------------------------------
    def _fail(self, key: str, message: str) -> None:
        raise SpecError(f"{self.source}: {key}: {message}")

    def validate(self) -> None:
        """Refuse what cannot run, naming the file, the key and the fix."""
        self._validate_space()
        self._validate_sampler()
        if not self.task.resolved:
            return  # an npz file not read yet: its sizes are checked when it is
        if not self.variants:
            if "stateful" in self.space.arms:
                self._validate_stateful()
            if "stateless" in self.space.arms:
                self._validate_stateless()
        self._validate_variants()

    def _validate_space(self) -> None:
        s = self.space
        if not s.arms:
            self._fail("space.arms", "is empty: list at least one of stateful, stateless")
        for arm in s.arms:
            if arm not in ARMS:
                self._fail("space.arms", f"{arm!r} is unknown: use stateful and/or stateless")
        for key in ("seq_len", "timesteps", "stateful_batch_size", "stateless_batch_size", "units"):
            values = getattr(s, key)
            if any(v < 1 for v in values):
                self._fail(f"space.{key}", f"{list(values)} has values below 1: every value must be >= 1")
        for key in ("units",) + (("stateful_batch_size",) if "stateful" in s.arms else ()) + (
            ("stateless_batch_size",) if "stateless" in s.arms else ()
        ):
            if not getattr(s, key) and not self.variants:
                self._fail(f"space.{key}", "is empty: list at least one value")

    def _validate_sampler(self) -> None:
        if self.sampler.name not in SAMPLERS:
            self._fail("sampler.name", f"{self.sampler.name!r} is unknown: choose {' or '.join(SAMPLERS)}")
        if self.sampler.pruner not in PRUNERS:
            self._fail("sampler.pruner", f"{self.sampler.pruner!r} is unknown: choose {' or '.join(PRUNERS)}")
        if self.sampler.n_startup_trials < 0:
            self._fail("sampler.n_startup_trials", f"{self.sampler.n_startup_trials} is out of "
                       "range: must be >= 0 (the blind draws of all arms together)")
        if self.objective.penalty_s < 0:
            self._fail("objective.penalty_s", "must be >= 0")
        members = self.confirmation.members
        if members < 0 or 0 < members < MIN_CONFIRMATION_MEMBERS:
            self._fail("confirmation.members", f"{members} is out of range: 0 (no confirmation) "
                       f"or >= {MIN_CONFIRMATION_MEMBERS}")

    def _validate_stateful(self) -> None:
        for L in self.seq_lens:
            bad = [t for t in self.timesteps_choices if L % t]
            if bad:
                self._fail("space.timesteps", f"{bad} do not divide seq_len={L}: choose among "
                           f"{', '.join(map(str, divisors(L)))}")
        if not self.timesteps_choices:
            self._fail("space.timesteps", f"no timesteps divides every seq_len {list(self.seq_lens)}")
        n_train = self.task.n_train
        too_big = [b for b in self.space.stateful_batch_size if b > n_train]
        if too_big:
            self._fail("space.stateful_batch_size", f"{too_big} exceed the {n_train} training "
                       f"sequences: use values in 1..{n_train}")

    def _validate_stateless(self) -> None:
        s = self.space
        if s.window_low < 1:
            self._fail("space.window_low", f"{s.window_low} is out of range: must be >= 1")
        for L in self.seq_lens:
            low, high = self.window_range(L)
            if low > high:
                self._fail("space.window_low", f"window {s.window_low}..{s.window_high or L} is "
                           f"empty or longer than seq_len={L}: use 1 <= low <= high <= seq_len")
            most = n_windows(self.task_for(L), high)
            too_big = [b for b in s.stateless_batch_size if b > most]
            if too_big:
                self._fail("space.stateless_batch_size", f"{too_big} exceed the {most} training "
                           f"windows of {high} steps (seq_len={L}): use values in 1..{most}")

    def _validate_variants(self) -> None:
        keys = [v.key for v in self.variants]
        if len(set(keys)) != len(keys):
            self._fail("variants", "each (name, form) must be unique")
        for v in self.variants:
            if v.form != "canonical" and v.key not in NOTEBOOK_FORMS:
                self._fail(f"variants.{v.name}.form", f"the notebook has no form {v.key!r}: use "
                           f"\"canonical\" or one of {', '.join(NOTEBOOK_FORMS)}")
            if v.form != "canonical" and v.engine is not None:
                self._fail(f"variants.{v.name}.engine", f"form {v.form!r} runs the notebook's "
                           "own loop on Keras: leave engine out")
            try:
                v.model().check_against(self.task)
                TrainSpec(epochs=v.epochs or self.train.epochs,
                          engine=v.train_engine(self.train.engine))
            except UserError as exc:
                self._fail(f"variants.{v.name}", str(exc))
            if not v.seeds:
                self._fail(f"variants.{v.name}.seeds", "is empty: list at least one seed")
