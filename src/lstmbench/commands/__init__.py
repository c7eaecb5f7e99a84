"""One module per subcommand: ``register(subparsers)`` adds its flags, ``run(args)`` calls the library."""

from __future__ import annotations

from typing import Any


def add_storage_flag(p: Any, *, purpose: str = "") -> None:
    """``--storage URL``: the same flag, default and help for every command that opens a storage."""
    p.add_argument("--storage", default=None,
                   help=f"{purpose}SQLAlchemy URL (default: $LSTMBENCH_STORAGE or "
                        "sqlite:///lstmbench.db)")
