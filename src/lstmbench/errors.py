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


# What to change when an allocation failed although the estimate let the run start.
OUT_OF_MEMORY_FIX = ("use smaller sizes (fewer sequences or members, shorter sequences, fewer "
                     "units) or fewer workers, or free memory")


def out_of_memory(exc: BaseException) -> str | None:
    """Return one line naming an allocation that failed, or None if ``exc`` is not one.

    numpy raises ``MemoryError`` (``ArrayMemoryError``: "Unable to allocate 3.35 GiB for an
    array with shape ..."); TensorFlow its ``ResourceExhaustedError`` ("OOM when allocating
    tensor ...", followed by lines of hints), recognised by name: TensorFlow is not imported
    here.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if not names & {"MemoryError", "ResourceExhaustedError"}:
        return None
    detail = str(getattr(exc, "message", None) or exc).strip().splitlines()
    first = detail[0].rstrip(".") if detail else type(exc).__name__
    return f"out of memory: {first}"


def failure_reason(exc: BaseException) -> str:
    """Return one line saying why ``exc`` ended a trial (stored as its ``fail_reason``)."""
    oom = out_of_memory(exc)
    if oom is not None:
        return f"{oom}: {OUT_OF_MEMORY_FIX}"
    return f"{type(exc).__name__}: {exc}"
