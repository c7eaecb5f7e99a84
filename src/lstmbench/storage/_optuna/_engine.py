"""The RDB storage and SQLAlchemy engine behind an Optuna study (private: how Optuna wraps its
RDB storage)."""

from __future__ import annotations

from typing import Any


def rdb_backend(storage: Any) -> Any:
    """Return the ``RDBStorage`` behind an Optuna storage, or None for another kind.

    Private: ``optuna.create_study`` wraps an ``RDBStorage`` in a ``_CachedStorage`` (its
    ``_backend``). That cache re-reads unfinished trials from the backend, so a running trial
    may be written there directly.
    """
    from optuna.storages import RDBStorage

    backend = getattr(storage, "_backend", storage)
    return backend if isinstance(backend, RDBStorage) else None


def rdb_engine(study: Any) -> Any:
    """Return the SQLAlchemy engine behind ``study`` (None for a storage without one).

    Private: ``Study._storage``, the cached storage's ``_backend``.
    """
    backend = rdb_backend(study._storage)
    return None if backend is None else backend.engine
