"""Load a study spec from TOML: only overrides of the dataclass defaults, checked key by key."""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

from lstmbench.errors import UserError
from lstmbench.spec._study import SpecError, StudySpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def shipped_studies() -> dict[str, Path]:
    """Return the studies that come with lstmbench, by name (``default``, ``memory-horizon``...)."""
    folder = resources.files("lstmbench") / "studies"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}


def find_spec(name_or_path: str | None) -> Path:
    """Return the spec file for ``--spec``: a path, or the name of a shipped study."""
    if name_or_path is None:
        name_or_path = "default"
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_studies()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise UserError(
        f"--spec {name_or_path}: no such file, and no shipped study of that name "
        f"(shipped: {', '.join(sorted(shipped))})"
    )


def load_study_spec(name_or_path: str | None = None) -> StudySpec:
    """Return the study spec in a TOML file (or a shipped study's name)."""
    path = find_spec(name_or_path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    table.setdefault("name", path.stem)
    return _build(StudySpec, table, source=str(path), prefix="")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "none")


def _convert(tp: Any, value: Any, key: str, source: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(options[0], value, key, source)
    if origin is tuple:
        (item,) = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if not isinstance(value, list):
            raise SpecError(f"{source}: {key}: expected a list, got {value!r}")
        return tuple(_convert(item, v, f"{key}[{i}]", source) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise SpecError(f"{source}: {key}: expected a table [{key}], got {value!r}")
        return _build(tp, value, source=source, prefix=f"{key}.")
    ok = (
        (tp is bool and isinstance(value, bool))
        or (tp is int and isinstance(value, int) and not isinstance(value, bool))
        or (tp is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (tp is str and isinstance(value, str))
    )
    if not ok:
        raise SpecError(f"{source}: {key}: expected {_type_name(tp)}, got {value!r}")
    return float(value) if tp is float else value


def _build(cls: Any, table: dict[str, Any], *, source: str, prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            raise SpecError(
                f"{source}: unknown key {prefix}{key}: known keys are {', '.join(sorted(fields))}"
            )
        kwargs[key] = _convert(hints[key], value, f"{prefix}{key}", source)
    if cls is StudySpec:
        kwargs["source"] = source
    try:
        return cls(**kwargs)
    except SpecError:
        raise
    except UserError as exc:
        raise SpecError(f"{source}: {prefix.rstrip('.') or cls.__name__}: {exc}") from None
    except TypeError as exc:  # a required key is missing
        raise SpecError(f"{source}: {prefix.rstrip('.')}: {exc}") from None
