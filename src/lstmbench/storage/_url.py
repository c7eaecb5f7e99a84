"""Storage URLs: the default, SQLite file paths, the PostgreSQL driver, passwords masked."""

from __future__ import annotations

import os
import re
from pathlib import Path

DEFAULT_STORAGE = "sqlite:///lstmbench.db"


def storage_url(url: str | None) -> str:
    """Return ``url``, else ``$LSTMBENCH_STORAGE``, else ``sqlite:///lstmbench.db`` (current folder)."""
    return url or os.environ.get("LSTMBENCH_STORAGE") or DEFAULT_STORAGE


def mask(url: str) -> str:
    """Return the URL with any password replaced by ``***``."""
    # Up to the last "@" before the path: a password may hold "@" (and ":") unencoded.
    return re.sub(r"(://[^:/@]+:)[^/]*@", r"\1***@", url)


def sqlite_path(url: str) -> Path | None:
    """Return the file of a ``sqlite:///`` URL (None for other back-ends and in-memory SQLite)."""
    m = re.match(r"^sqlite(\+\w+)?:///(.*)$", url)
    if not m or m.group(2) in ("", ":memory:"):
        return None
    return Path(m.group(2).split("?")[0])


def driver_url(url: str) -> str:
    """Return ``url`` with psycopg 3 as the PostgreSQL driver when the URL names none.

    SQLAlchemy 2.1 already maps ``postgresql://`` to psycopg 3, 2.0 maps it to psycopg2, which
    ``lstmbench[postgres]`` does not install: naming the driver makes both work the same.
    """
    return re.sub(r"^(postgresql|postgres)://", "postgresql+psycopg://", url)
