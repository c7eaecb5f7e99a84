"""A study or trial spec made ready for its data: an npz task read, checked, and the search space
fitted to the file's sizes. numpy only."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from lstmbench.errors import UserError
from lstmbench.spec import SearchSpace, StudySpec, TaskSpec, n_windows
from lstmbench.tasks import _npz

DEFAULTS = SearchSpace()
FIRST_BIT_TRAIN = TaskSpec().n_train  # the 90 training sequences the default sizes were made for


def resolve(spec: TaskSpec, *, fits: Callable[[TaskSpec], None] | None = None) -> TaskSpec:
    """Return ``spec`` ready to make data: an npz task with its file's hash and sizes (refused
    in one line if the file is bad, or if ``fits`` refuses its sizes); any other kind as it is.

    An npz spec that already holds a hash (a stored trial's) must still match its file.
    """
    if spec.kind != "npz":
        return spec
    resolved = _npz.resolve(spec, fits=fits)
    if spec.sha256 and resolved.sha256 != spec.sha256:
        raise _npz.DataError(f"{spec.path}: the file changed since this study or trial was made "
                             f"from it (sha256 {spec.sha256[:12]}..., now "
                             f"{resolved.sha256[:12]}...): restore it, or start a new study "
                             "with --study NEW_NAME")
    return resolved


def with_data(study: StudySpec, data: str | None = None, *,
              fits: Callable[[StudySpec], None] | None = None) -> StudySpec:
    """Return ``study`` on its data: the file ``data`` (``--data``) in place of its task, the
    study named after the file; or its own ``[task] kind = "npz"`` (a relative path is read
    from the spec file's folder).

    The space follows the file: timesteps among the divisors of its L, batch sizes that its N
    can fill. ``fits`` (the memory check) sees the study before the sequences are loaded.
    """
    if data is not None:
        if study.variants:
            raise UserError(f"--data {data}: {study.source} is a study of fixed variants (the "
                            "notebook's); give a search-space study (--spec default)")
        task = TaskSpec(kind="npz", path=data, val_fraction=study.task.val_fraction,
                        metric=study.task.metric, tolerance=study.task.tolerance)
        study = dataclasses.replace(study, name=Path(data).stem)
    elif study.task.kind == "npz":
        task = study.task
        path = Path(task.path)
        if not path.is_absolute() and Path(study.source).is_file():
            path = Path(study.source).parent / path
        task = dataclasses.replace(task, path=str(path))
    else:
        return study
    if study.space.seq_len:
        raise UserError(f"{study.source}: space.seq_len {list(study.space.seq_len)} makes "
                        f"sequences of several lengths, but {task.path} has its own: leave "
                        "space.seq_len out")
    check = None if fits is None else (lambda t: fits(_fitted(study, t)))
    return _fitted(study, resolve(task, fits=check))


def _fitted(study: StudySpec, task: TaskSpec) -> StudySpec:
    """``study`` on ``task``: timesteps among the divisors of its L; batch sizes from its N.

    Batch sizes the spec leaves at lstmbench's defaults (made for first-bit's 90 training
    sequences) scale with the file's training sequences, so that an epoch has as many updates
    as there; sizes a spec names are kept where the file can fill them (none: the largest it
    can).
    """
    s, L = study.space, task.seq_len
    timesteps = tuple(t for t in s.timesteps if L % t == 0)  # empty: every divisor of L
    high = min(s.window_high or L, L)
    space = dataclasses.replace(
        s, timesteps=timesteps, window_low=min(s.window_low, L),
        window_high=s.window_high and high,
        stateful_batch_size=_sizes(s.stateful_batch_size, DEFAULTS.stateful_batch_size,
                                   task.n_train, task.n_train),
        stateless_batch_size=_sizes(s.stateless_batch_size, DEFAULTS.stateless_batch_size,
                                    task.n_train, n_windows(task, high)))
    return dataclasses.replace(study, task=task, space=space)


def _sizes(sizes: tuple[int, ...], defaults: tuple[int, ...], n_train: int,
           most: int) -> tuple[int, ...]:
    if sizes == defaults:
        sizes = tuple(sorted({max(1, round(b * n_train / FIRST_BIT_TRAIN)) for b in sizes}))
    return tuple(b for b in sizes if b <= most) or (most,)
