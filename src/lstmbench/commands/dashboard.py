"""``lstmbench dashboard``: optuna-dashboard on the same storage, on 127.0.0.1 unless told."""

from __future__ import annotations

import argparse
from typing import Any

from lstmbench.commands import add_storage_flag


def register(sub: Any) -> None:
    p = sub.add_parser(
        "dashboard",
        help="browse the studies in optuna-dashboard (http://127.0.0.1:8080/)",
        description="Start optuna-dashboard on the storage lstmbench writes to. It has no "
        "authentication: it listens on 127.0.0.1 unless --host says otherwise.",
    )
    add_storage_flag(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default: 8080; 0: any free one)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lstmbench.dashboard import serve_dashboard

    return serve_dashboard(storage=args.storage, host=args.host, port=args.port)
