"""The SQLAlchemy engine behind an Optuna study (private: how Optuna wraps its RDB storage)."""

from __future__ import annotations

from typing import Any


def rdb_engine(study: Any) -> Any:
    """Return the SQLAlchemy engine behind ``study`` (None for a storage without one).

    Private: ``Study._storage``, the cached storage's ``_backend``, ``RDBStorage.engine``.
    """
    storage = study._storage
    storage = getattr(storage, "_backend", storage)  # a cached storage wraps the RDB one
    return getattr(storage, "engine", None)
