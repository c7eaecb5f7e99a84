"""``lstmbench``: thin argument parsing; every command is a library function in ``commands``."""

from __future__ import annotations

import argparse
import atexit
import gc
import sys
from collections.abc import Sequence

from lstmbench import __version__
from lstmbench.errors import OUT_OF_MEMORY_FIX, TrainingDiverged, UserError, out_of_memory

COMMANDS = ("train", "sweep", "report", "dashboard")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstmbench",
        description="When does an LSTM need stateful=True, and what does it cost? "
        "Optuna sweeps over stateless and stateful LSTMs on the first-bit memory task, the "
        "classic long-lag problems (--task) or your own sequences (--data FILE.npz).",
    )
    parser.add_argument("--version", action="version", version=f"lstmbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    import importlib

    for name in COMMANDS:  # each module imports only argparse: --help stays fast
        importlib.import_module(f"lstmbench.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a :class:`UserError` becomes one line on stderr and its exit code, an
    allocation that failed (numpy's or TensorFlow's) one line and exit 1."""
    # At exit Python's garbage collector would walk every object of Optuna, SQLAlchemy and rich
    # (0.2 s at the end of a sweep) to free memory that the process gives back anyway.
    atexit.unregister(gc.freeze)  # once, however often main() runs in one process
    atexit.register(gc.freeze)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UserError as exc:
        print(f"lstmbench: {exc}", file=sys.stderr)
        return exc.exit_code
    except TrainingDiverged as exc:  # `lstmbench train` of one configuration; a sweep goes on
        print(f"lstmbench: training diverged: {exc}: try a smaller learning rate", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lstmbench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an allocation that failed although the estimate let it start
        line = out_of_memory(exc)
        if line is None:
            raise
        print(f"lstmbench: {line}: {OUT_OF_MEMORY_FIX}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
