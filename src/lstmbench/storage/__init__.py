"""Storages: URLs (masked when shown), opening with checks and retries, locks, which studies are
lstmbench's, and every use of Optuna's private API. Below study, report and dashboard."""

from __future__ import annotations

from lstmbench.storage._full import (
    FULL_EXIT,
    StorageFull,
    TrialHalted,
    full_detail,
    is_full,
    named_if_full,
)
from lstmbench.storage._open import (
    DEFAULT_HEARTBEAT,
    check_schema,
    check_sqlite_file,
    first_start_lock,
    open_storage,
)
from lstmbench.storage._optuna import (
    QueueEdit,
    QueueEmpty,
    TrialRecord,
    TrialWriter,
    edit_queue,
    fixed_params,
    late_trials,
    put_back,
    queue_only,
    queued_params,
    quiet_optuna,
    read_trials,
    stored_state,
)
from lstmbench.storage._outage import (
    DEFAULT_PATIENCE,
    LOST_EXIT,
    Patience,
    StorageLost,
    TrialCutOff,
    back_line,
    is_outage,
    patience_seconds,
    waiting_line,
)
from lstmbench.storage._results import FORMAT_KEY, RESULT_FORMAT, stamped, upgraded
from lstmbench.storage._studies import SPEC, SPEC_HASH, VERSION, find_studies
from lstmbench.storage._url import DEFAULT_STORAGE, driver_url, mask, sqlite_path, storage_url

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_PATIENCE",
    "DEFAULT_STORAGE",
    "FORMAT_KEY",
    "FULL_EXIT",
    "LOST_EXIT",
    "RESULT_FORMAT",
    "SPEC",
    "SPEC_HASH",
    "VERSION",
    "Patience",
    "QueueEdit",
    "QueueEmpty",
    "StorageFull",
    "StorageLost",
    "TrialCutOff",
    "TrialHalted",
    "TrialRecord",
    "TrialWriter",
    "back_line",
    "check_schema",
    "check_sqlite_file",
    "driver_url",
    "edit_queue",
    "find_studies",
    "first_start_lock",
    "fixed_params",
    "full_detail",
    "is_full",
    "is_outage",
    "late_trials",
    "mask",
    "named_if_full",
    "open_storage",
    "patience_seconds",
    "put_back",
    "queue_only",
    "queued_params",
    "quiet_optuna",
    "read_trials",
    "sqlite_path",
    "stamped",
    "storage_url",
    "stored_state",
    "upgraded",
    "waiting_line",
]
