"""How much memory a configuration needs, how much the machine has, and a refusal before
allocating what cannot fit. No TensorFlow: the estimate is arithmetic on the spec.

The estimate is an upper bound of the arrays a trial of K members (``train.replicates``) holds
at its peak, in three parts:

- **data**: the task's sequences (float32) and the split's copies of them, plus what making
  them allocates on the way (the noise draws);
- **windows**: the layout's samples (stateless windows or stateful chunks). Training: an
  epoch's batches for every member (``feeding.population_batches`` stacks K members' copies),
  the first epoch's kept beside the current one and the next one being stacked, and the
  program's padded layout of them: ``MEMBER_COPIES`` copies per member, plus ``BUILD_COPIES``
  made while one member's batches are cut, shuffled and made contiguous. Evaluation: the
  validation samples, their contiguous and padded copies, and the members' view of them in
  TensorFlow (one per member);
- **model**, per member: weights, gradients and Adam's two slots; the per-step activations a
  training update keeps for its gradient; the evaluation of every validation sample side by
  side; its predictions.

What a trial really holds was measured against this estimate (``bench/memory.py``: peak RSS of
real runs, ``bench/results/memory.json``); refusals keep a margin chosen from that table and
add the process's start-up (see ``MARGIN`` and ``BASELINE``).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from lstmbench import tasks
from lstmbench.errors import UserError
from lstmbench.spec import ModelConfig, StudySpec, TaskSpec, TrialSpec, describe_config
from lstmbench.tasks import Dimensions

FLOAT = 4  # bytes of a float32
MEMBER_COPIES = 4  # per member: first epoch's batches, current, next stacked, program's layout
BUILD_COPIES = 3  # one member's samples while cut, shuffled and made contiguous
EVAL_COPIES = 4  # validation samples, their contiguous copy, the padded copy (up to 2x)
MEMORY_ENV = "LSTMBENCH_MEMORY_LIMIT"  # e.g. "8G": what lstmbench may use, instead of the machine's
# Refusals compare the estimate x MARGIN + BASELINE with what is available. Measured (peak RSS
# of one epoch in a process of its own, bench/results/memory.json): what a size costs beyond
# the start-up was 0.26-0.43 of the estimate for many sequences, members, windows or units,
# and 0.92 for one chunk of 200,000 steps (the gradient keeps every step's gates). 1.5 covers
# that worst case with a third to spare, for sizes the table did not sample.
MARGIN = 1.5
# The process's own start-up: TensorFlow, Keras, a compiled program (measured 330-340 MiB of
# private memory after the default `train`; its ~520 MiB of shared libraries are not counted:
# the kernel shares them between workers and can take them back).
BASELINE = 400 * 2**20


@dataclass(frozen=True)
class Footprint:
    """Estimated peak bytes of one trial, by part; ``members`` of it scale with K."""

    data: int
    windows: int
    model: int
    members: int = 0  # the bytes of windows and model that grow with the trial's members

    @property
    def total(self) -> int:
        return self.data + self.windows + self.model

    @property
    def needed(self) -> int:
        """What a process training this trial needs: the estimate with its margin, and the
        process's own start-up (TensorFlow, XLA)."""
        return math.ceil(self.total * MARGIN) + BASELINE

    @property
    def largest(self) -> str:
        return max(("data", "windows", "model"), key=lambda part: getattr(self, part))


def dimensions(task: TaskSpec) -> Dimensions:
    """Every size of the task's data that the estimate reads (the tasks package's)."""
    return tasks.dimensions(task)


def estimate(spec: TrialSpec) -> Footprint:
    """Return the estimated peak memory of training ``spec``'s K members in this process."""
    dims, model, K = dimensions(spec.task), spec.model, spec.train.replicates
    L, F = dims.seq_len, dims.features
    data = 2 * (dims.n_train + dims.n_val) * L * F * FLOAT + dims.making
    steps, per_seq = (L, 1) if model.stateful else (model.window, L - model.window + 1)
    sample = steps * F * FLOAT  # type: ignore[operator]
    train = dims.n_train * per_seq * sample  # one member's epoch of batches
    val = dims.n_val * per_seq * sample
    windows_fixed = BUILD_COPIES * train + EVAL_COPIES * val
    windows_members = K * (MEMBER_COPIES * train + val)  # + each member's view of the samples
    member = _member_bytes(dims, model, n_eval=dims.n_val * per_seq)
    return Footprint(data=data, windows=windows_fixed + windows_members, model=K * member,
                     members=windows_members + K * member)


def _member_bytes(dims: Dimensions, model: ModelConfig, n_eval: int) -> int:
    """One member's weights, optimizer slots, activations and predictions."""
    U, T, B, F, C = model.units, model.steps, model.batch_size, dims.features, dims.outputs
    params = (F + U + 1) * 4 * U + (U + 1) * C
    weights = 4 * params  # weights, gradients, Adam's m and v
    # Per step of a training chunk, for the gradient: the gates (B, 4U) and the products that
    # make them, up to (B, U, 4U) where the recurrent product is written as multiply-and-sum.
    train = B * T * 4 * U * (U + 8)
    # Evaluation: every validation sample at once, a chunk's inputs (N, T, 4U) and one step's
    # product (N, U, 4U) live together; the predictions, one row of C per sample and chunk.
    n_chunks = dims.seq_len // T if model.stateful else 1
    evaluation = n_eval * 4 * U * (T + U + 4) + n_chunks * n_eval * C
    return (weights + train + evaluation) * FLOAT


def available() -> tuple[int, str] | None:
    """Return (bytes this process may still allocate, where that number comes from), or None.

    The smaller of ``MemAvailable`` in /proc/meminfo and what the process's cgroup still
    allows (a container's limit is what the kernel enforces, whatever the host has free).
    ``$LSTMBENCH_MEMORY_LIMIT`` replaces both. None where neither can be read (not Linux).
    """
    told = os.environ.get(MEMORY_ENV)
    if told:
        return parse_size(told), f"${MEMORY_ENV}"
    found = [x for x in (_meminfo(), _cgroup()) if x is not None]
    return min(found) if found else None


def parse_size(text: str) -> int:
    """Return the bytes of ``"512M"``, ``"8G"``, ``"1.5T"`` or a plain number of bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, flags=re.IGNORECASE)
    if not m:
        raise UserError(f"${MEMORY_ENV}={text!r} is not a size: use e.g. 8G, 512M or bytes")
    scale = 1024 ** " KMGT".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * scale)


def _meminfo() -> tuple[int, str] | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    m = re.search(r"^MemAvailable:\s+(\d+) kB", text, flags=re.MULTILINE)
    return (int(m.group(1)) * 1024, "MemAvailable") if m else None


def _cgroup() -> tuple[int, str] | None:
    """What the cgroup's memory limit leaves (v2 ``memory.max``, v1 ``limit_in_bytes``)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2: one unified hierarchy
            folder = Path("/sys/fs/cgroup") / path.lstrip("/")
            limit, usage, name = folder / "memory.max", folder / "memory.current", "cgroup memory.max"
        elif "memory" in controllers.split(","):
            folder = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            limit, usage = folder / "memory.limit_in_bytes", folder / "memory.usage_in_bytes"
            name = "cgroup memory.limit_in_bytes"
        else:
            continue
        try:
            cap, used = limit.read_text().strip(), int(usage.read_text().strip())
        except (OSError, ValueError):
            continue
        if cap.isdigit() and int(cap) < 2**60:  # "max" or v1's huge number: no limit
            return max(0, int(cap) - used), name
    return None


def gib(n: int) -> str:
    """Return ``n`` bytes as MiB, GiB or TiB (one decimal)."""
    if n >= 2**40:
        return f"{n / 2**40:,.1f} TiB"
    return f"{n / 2**30:.1f} GiB" if n >= 2**28 else f"{n / 2**20:.0f} MiB"


def check_fits(footprint: Footprint, what: str, fix: str, *, workers: int = 1) -> None:
    """Refuse (exit 2) when ``workers`` trials of ``footprint`` need more than is available.

    ``what`` names the settings responsible and their values; ``fix`` says what to change.
    """
    free = available()
    need = footprint.needed * workers
    if free is None or need <= free[0]:
        return
    parts = ", ".join(f"{part} {gib(getattr(footprint, part))}" for part in ("data", "windows", "model"))
    each = f" per worker x {workers} workers" if workers > 1 else ""
    raise UserError(f"{what} needs about {gib(footprint.needed)}{each} ({parts}, with margin and "
                    f"start-up) but {gib(free[0])} is available ({free[1]}): {fix}")


def _members_dominate(spec: TrialSpec, footprint: Footprint) -> bool:
    """Whether the trial's members are most of its footprint (fewer of them is the fix)."""
    return spec.train.replicates > 1 and 2 * footprint.members > footprint.total


def largest_trial(spec: StudySpec) -> TrialSpec:
    """Return the configuration of ``spec``'s study with the largest estimate.

    Variants: each one. A search space: per seq_len and arm the largest units, batch size and
    timesteps; stateless windows at both ends of the range and in its middle, where the
    windows' count times length, ``(L - W + 1) * W``, peaks.
    """
    candidates: list[TrialSpec] = []
    if spec.variants:
        candidates = [TrialSpec(model=v.model(), task=spec.task, train=spec.train)
                      for v in spec.variants]
    s = spec.space
    for L in spec.seq_lens if not spec.variants else ():
        task = spec.task_for(L)
        if "stateful" in s.arms:
            candidates.append(TrialSpec(task=task, train=spec.train, model=ModelConfig(
                stateful=True, timesteps=max(spec.timesteps_choices),
                batch_size=max(s.stateful_batch_size), units=max(s.units))))
        if "stateless" in s.arms:
            low, high = spec.window_range(L)
            for W in {low, high, min(high, max(low, math.ceil((L + 1) / 2)))}:
                batch = min(max(s.stateless_batch_size), task.n_train * (L - W + 1))
                candidates.append(TrialSpec(task=task, train=spec.train, model=ModelConfig(
                    stateful=False, window=W, batch_size=batch, units=max(s.units))))
    return max(candidates, key=lambda t: estimate(t).total)


def check_study(spec: StudySpec, *, workers: int) -> None:
    """Refuse a study whose largest configuration cannot fit ``workers`` times in memory."""
    trial = largest_trial(spec)
    task, fp = trial.task, estimate(trial)
    K = spec.train.replicates
    what = (f"{spec.source}: the largest configuration ({describe_config(trial.to_dict())}, "
            f"task.n_sequences={task.n_sequences}, seq_len={task.seq_len}"
            + (f", train.replicates={K}" if K > 1 else "") + ")")
    fix = ("use fewer task.n_sequences or shorter sequences" if fp.largest != "model"
           else "use fewer space.units or smaller batch sizes")
    if _members_dominate(trial, fp):
        fix = "use fewer train.replicates, or " + fix.removeprefix("use ")
    if workers > 1:
        fix += ", or fewer workers (--jobs)"
    check_fits(fp, what, fix, workers=workers)


def check_train(spec: TrialSpec) -> None:
    """Refuse a ``lstmbench train`` configuration that cannot fit, naming its flags."""
    task, model, fp = spec.task, spec.model, estimate(spec)
    flags = f"--sequences {task.n_sequences} --seq-len {task.seq_len}"
    if fp.largest == "windows" and not model.stateful:
        flags += f" --window {model.window}"
    steps = f"--timesteps {model.timesteps}" if model.stateful else f"--window {model.window}"
    if fp.largest == "model":  # a training chunk's steps are kept for its gradient
        flags = f"--units {model.units} --batch-size {model.batch_size} {steps}"
    fix = {"data": "use fewer --sequences or a shorter --seq-len",
           "windows": "use fewer --sequences, a shorter --seq-len" + (
               "" if model.stateful else " or a window nearer 1 or --seq-len"),
           "model": "use fewer --units, a smaller --batch-size or fewer "
                    + ("--timesteps" if model.stateful else "--window steps")}[fp.largest]
    if _members_dominate(spec, fp):
        flags += f" --replicates {spec.train.replicates}"
        fix = "use fewer --replicates, or " + fix.removeprefix("use ")
    check_fits(fp, flags, fix)
