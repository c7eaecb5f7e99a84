"""The user's own sequences: an ``.npz`` file read, checked and split. numpy only.

The file holds ``x`` (N, L) or (N, L, F) and ``y`` (N,) — integer class ids 0..C-1, or float
targets (a regression) — and optionally ``x_val``/``y_val`` (else ``val_fraction`` of the
sequences are split off, stratified by class) and ``lag`` (how many final steps hold what the
target depends on). Every problem is refused before anything trains, in one line that names the
file, what is wrong and the fix; the file is only ever read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from lstmbench.errors import UserError
from lstmbench.spec import TaskSpec
from lstmbench.tasks._data import TaskData
from lstmbench.tasks._split import stratified_split

ARRAYS = ("x", "y", "x_val", "y_val", "lag")
FIX = "see docs/tasks.md, bringing your own data"


class DataError(UserError):
    """A data file that cannot be trained on; the message names the file and the fix."""


def file_hash(path: str | Path) -> str:
    """Return the sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve(spec: TaskSpec, *, fits: Callable[[TaskSpec], None] | None = None) -> TaskSpec:
    """Return ``spec`` (kind ``npz``) with its file's hash and sizes, once the file passed every check.

    ``fits`` (the memory check) sees the sizes before the sequences are loaded, and refuses by
    raising a :class:`UserError`.
    """
    path = Path(spec.path)
    with _open(path) as npz:
        shapes = {name: _shape(npz, path, name) for name in ARRAYS if name in npz.files}
        _check_shapes(path, shapes)
        y = _array(npz, path, "y")
        y_val = _array(npz, path, "y_val") if "y_val" in shapes else None
        classes = _classes(path, y, y_val)
        lag = _lag(path, npz, shapes["x"][1]) if "lag" in shapes else 0
        N, L = shapes["x"][:2]
        n_val = 0 if y_val is None else len(y_val)
        resolved = dataclasses.replace(
            spec, path=str(path.resolve()), sha256=file_hash(path), n_sequences=N + n_val,
            seq_len=L, n_features=shapes["x"][2] if len(shapes["x"]) == 3 else 1,
            n_classes=classes, n_validation=n_val, lag=lag)
        if fits is not None:
            fits(resolved)
        for name in ("x", "x_val"):
            if name in shapes:
                _check_finite(path, name, _array(npz, path, name))
        _check_finite(path, "y", y)
        if y_val is not None:
            _check_finite(path, "y_val", y_val)
        if classes:
            _check_sides(path, resolved, y, y_val)
        elif resolved.n_val < 1 or resolved.n_train < 1:
            raise DataError(f"{path}: {N} sequences leave {resolved.n_train} for training and "
                            f"{resolved.n_val} for validation: give more sequences or x_val/y_val")
    return resolved


def load(spec: TaskSpec, seed: int) -> TaskData:
    """Return the file's sequences split for ``seed`` (or as the file splits them)."""
    path = Path(spec.path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (the study's data): put it back, or start a new "
                        "study with --study NEW_NAME")
    if file_hash(path) != spec.sha256:
        raise DataError(f"{path}: the file changed since this study or trial was made from it "
                        f"(sha256 {spec.sha256[:12]}...): restore it, or start a new study "
                        "with --study NEW_NAME")
    with _open(path) as npz:
        x, y = _sequences(npz["x"]), npz["y"].astype(np.float32)
        if spec.n_validation:
            return TaskData(x, y, _sequences(npz["x_val"]), npz["y_val"].astype(np.float32))
    if spec.classes:
        train, val = stratified_split(y, spec.val_fraction, seed)
    else:
        order = np.random.default_rng([seed, 1]).permutation(len(y))
        val, train = order[: spec.n_val], order[spec.n_val:]
    return TaskData(x[train], y[train], x[val], y[val])


def _sequences(x: np.ndarray) -> np.ndarray:
    x = x if x.ndim == 3 else x[..., None]
    return np.ascontiguousarray(x, dtype=np.float32)


class _open:
    """``np.load`` of an npz, refused as one line when the file is missing or not an npz."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise DataError(f"{path}: no such file: give the path of an .npz file ({FIX})")
        if not zipfile.is_zipfile(path):
            raise DataError(f"{path}: not an .npz file: save the arrays with "
                            f"numpy.savez({path.name!r}, x=..., y=...)")
        try:
            self.npz = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise DataError(f"{path}: not a readable .npz file ({exc}): save the arrays with "
                            f"numpy.savez({path.name!r}, x=..., y=...)") from None

    def __enter__(self) -> np.lib.npyio.NpzFile:
        return self.npz

    def __exit__(self, *exc: object) -> None:
        self.npz.close()


def _shape(npz: np.lib.npyio.NpzFile, path: Path, name: str) -> tuple[int, ...]:
    """Return the array's shape from its header, without reading the array."""
    try:
        with npz.zip.open(f"{name}.npy") as f:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(f)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: array {name!r} cannot be read ({exc}): save it again with "
                        "numpy.savez") from None
    if dtype.kind not in "biuf":
        raise DataError(f"{path}: {name} holds {dtype} values: save numbers (integers or floats)")
    return tuple(shape)


def _check_shapes(path: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    for name, what in (("x", "the sequences, (N, L) or (N, L, F)"), ("y", "one target per sequence, (N,)")):
        if name not in shapes:
            have = ", ".join(sorted(shapes)) or "no arrays"
            raise DataError(f"{path}: has no array {name!r} (it has {have}): save {what} as {name}")
    if ("x_val" in shapes) != ("y_val" in shapes):
        have, missing = ("x_val", "y_val") if "x_val" in shapes else ("y_val", "x_val")
        raise DataError(f"{path}: has {have} but no {missing}: save both, or neither "
                        "(val_fraction then splits x and y)")
    for x, y in (("x", "y"), ("x_val", "y_val")):
        if x not in shapes:
            continue
        if len(shapes[x]) not in (2, 3):
            raise DataError(f"{path}: {x} has shape {shapes[x]} ({len(shapes[x])} dimensions): "
                            "save it as (N, L) or (N, L, F): sequences, steps, features")
        if len(shapes[y]) != 1:
            raise DataError(f"{path}: {y} has shape {shapes[y]} ({len(shapes[y])} dimensions): "
                            "save one target per sequence, shape (N,)")
        if shapes[x][0] != shapes[y][0]:
            raise DataError(f"{path}: {x} holds {shapes[x][0]} sequences but {y} "
                            f"{shapes[y][0]} targets: give one target per sequence")
        if min(shapes[x]) < 1:
            raise DataError(f"{path}: {x} has shape {shapes[x]}: it needs at least one "
                            "sequence, one step and one feature")
    if "x_val" in shapes:
        train, val = shapes["x"], shapes["x_val"]
        if (train[1], *(train[2:] or (1,))) != (val[1], *(val[2:] or (1,))):
            raise DataError(f"{path}: x has shape {train} but x_val {val}: validation sequences "
                            "need the training sequences' steps and features")


def _array(npz: np.lib.npyio.NpzFile, path: Path, name: str) -> np.ndarray:
    try:
        return npz[name]
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: array {name!r} cannot be read ({exc}): save it again with "
                        "numpy.savez") from None


def _check_finite(path: Path, name: str, a: np.ndarray) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        where = np.argwhere(bad)[0].tolist()
        at = (f"at sequence {where[0]}" + (f", step {where[1]}" if len(where) > 1 else ""))
        raise DataError(f"{path}: {name} holds {int(bad.sum())} NaN or infinite value(s) "
                        f"(the first {at}): replace or drop them before training")


def _classes(path: Path, y: np.ndarray, y_val: np.ndarray | None) -> int:
    """Return C for integer class ids (checked), 0 for float targets (a regression)."""
    if y.dtype.kind == "f":
        if y_val is not None and y_val.dtype.kind != "f":
            raise DataError(f"{path}: y holds floats but y_val {y_val.dtype}: save both as "
                            "floats (a regression) or both as integer class ids")
        return 0
    ids = y.astype(np.int64) if y_val is None else np.concatenate([y, y_val]).astype(np.int64)
    if y_val is not None and y_val.dtype.kind == "f":
        raise DataError(f"{path}: y holds class ids but y_val floats: save both as integers "
                        "(classes) or both as floats (a regression)")
    if ids.min() < 0:
        raise DataError(f"{path}: y holds negative class ids ({int(ids.min())}): number the "
                        "classes 0..C-1")
    present = np.unique(ids)
    if len(present) < 2:
        raise DataError(f"{path}: y holds one class ({int(present[0])}) only: a classifier needs "
                        "at least two; for a regression save y as floats")
    return int(ids.max()) + 1


def _check_sides(path: Path, spec: TaskSpec, y: np.ndarray, y_val: np.ndarray | None) -> None:
    """Refuse a class with fewer than 2 sequences in training or in validation (each seed's
    stratified split gives a class ``floor`` or ``ceil`` of its share: the worse is checked)."""
    C = spec.classes
    counts = np.bincount(y.astype(np.int64), minlength=C)
    if y_val is not None:
        sides = {"training": counts, "validation": np.bincount(y_val.astype(np.int64), minlength=C)}
        fix = "every class needs at least 2 sequences in x/y and in x_val/y_val"
    else:
        n, n_train = len(y), len(y) - math.ceil(spec.val_fraction * len(y))
        share = counts * n_train / n
        train_least = np.floor(share).astype(int)
        sides = {"training": train_least, "validation": counts - np.ceil(share).astype(int)}
        fix = (f"every class needs at least 2 sequences on each side of the split: add sequences "
               f"of that class, or change val_fraction (now {spec.val_fraction})")
    for side, each in sides.items():
        low = int(np.argmin(each))
        if each[low] < 2:
            have = (f"{int(counts[low])} sequence(s)" if y_val is None
                    else f"{int(each[low])} {side} sequence(s)")
            raise DataError(f"{path}: class {low} has {have}, fewer than 2 on the {side} side: {fix}")


def _lag(path: Path, npz: np.lib.npyio.NpzFile, seq_len: int) -> int:
    lag = _array(npz, path, "lag")
    if lag.shape not in ((), (1,)) or lag.dtype.kind not in "iu" or not 1 <= int(lag.ravel()[0]) <= seq_len:
        raise DataError(f"{path}: lag is {lag.tolist()!r}: save one integer in 1..{seq_len} "
                        "(how many final steps hold what the target depends on), or leave it out")
    return int(lag.ravel()[0])
