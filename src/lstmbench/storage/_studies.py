"""Which studies in a storage lstmbench made, and how they are marked; refusals for the rest."""

from __future__ import annotations

from typing import Any

from lstmbench.errors import UserError
from lstmbench.storage._open import open_storage
from lstmbench.storage._optuna import quiet_optuna, study_overview
from lstmbench.storage._url import mask, storage_url

# Study user attributes that mark an lstmbench study; SPEC_HASH is written last (complete).
SPEC_HASH = "lstmbench_spec_hash"
SPEC = "lstmbench_spec"
VERSION = "lstmbench_version"


def find_studies(storage: str | None, study: str | None) -> tuple[Any, list[str]]:
    """Return (Optuna storage, names of the lstmbench studies to read).

    ``study`` None picks the only lstmbench study in the storage; ``"all"`` takes every one.
    Never creates a database: a missing SQLite file is refused with a message.
    """
    quiet_optuna()
    url = storage_url(storage)
    rdb = open_storage(url, heartbeat=None, must_exist=True)
    summaries = study_overview(rdb, SPEC_HASH)
    where = mask(url)
    ours = [s for s in summaries if s.marked]
    if not summaries:
        raise UserError(f"{where} holds no studies yet: run `lstmbench sweep` first", exit_code=1)
    if study not in (None, "all") and study not in {s.study_name for s in ours}:
        what = ("was not made by lstmbench" if study in {s.study_name for s in summaries}
                else "does not exist")
        there = (f"lstmbench studies there:\n{_listing(ours)}" if ours
                 else "it holds no lstmbench study")
        raise UserError(f"study {study!r} {what} in {where}; {there}", exit_code=1)
    if not ours:
        names = ", ".join(s.study_name for s in summaries[:5])
        raise UserError(f"{where} holds {len(summaries)} Optuna stud"
                        f"{'y' if len(summaries) == 1 else 'ies'} ({names}) but none made by "
                        "lstmbench: give --storage URL of an lstmbench database", exit_code=1)
    if study == "all":
        return rdb, [s.study_name for s in ours]
    if study is not None:
        return rdb, [study]
    if len(ours) == 1:
        return rdb, [ours[0].study_name]
    raise UserError(f"{where} holds {len(ours)} lstmbench studies: choose one with --study NAME, "
                    f"or every one with --study all:\n{_listing(ours)}", exit_code=2)


def _listing(summaries: list[Any]) -> str:
    return "\n".join(f"  {s.study_name:<24} {s.n_trials:>5} trials"
                     + (f"  since {s.datetime_start:%Y-%m-%d %H:%M}" if s.datetime_start else "")
                     for s in summaries)
