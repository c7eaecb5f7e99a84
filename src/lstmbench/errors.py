"""The one exception type that reaches the user as a message instead of a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, a bad file, an unreachable storage.

    ``cli.main`` prints ``lstmbench: <message>`` and exits with ``exit_code``
    (2 for bad input, as argparse does; 1 for anything else the user must fix).
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the trial cannot go on."""
