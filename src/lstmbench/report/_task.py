"""What a study's task is, in the report's words: its name or file, its metric, its lag."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from lstmbench.errors import UserError
from lstmbench.spec import TaskSpec
from lstmbench.tasks import Task

if TYPE_CHECKING:
    from lstmbench.report._groups import WindowRow

METRIC_WORDS = {
    "per-sample": "every window (stateless) and every chunk (stateful) of a validation sequence "
                  "scored",
    "final": "one prediction per validation sequence, after its last step",
}


@functools.lru_cache(maxsize=64)
def _task(items: tuple[tuple[str, Any], ...]) -> Task | None:
    try:
        return Task(TaskSpec(**dict(items)))
    except (TypeError, UserError):  # a spec of another lstmbench version: say nothing of it
        return None


def task_of(spec: dict[str, Any] | None) -> Task | None:
    """Return the task of a stored trial or study spec (None when it cannot be read)."""
    task = (spec or {}).get("task")
    return None if task is None else _task(tuple(task.items()))  # as stored: no sort per trial


def task_fields(spec: dict[str, Any] | None) -> dict[str, Any]:
    """Return the row fields of a stored trial's task: ``task`` (its name or file) and ``lag``."""
    task = task_of(spec)
    if task is None:
        return {"task": None, "lag": None}
    return {"task": task.spec.label, "lag": task.lag}


def task_line(spec: dict[str, Any] | None) -> str:
    """Return the sentence naming a study's task, its data and how validation is scored."""
    task = task_of(spec)
    if task is None:
        return ""
    s = task.spec
    what = (f"the file {s.label} (sha256 {s.sha256[:12]}, {s.n_sequences} sequences of "
            f"{s.seq_len} steps, {s.features} feature{'s' if s.features != 1 else ''})"
            if s.kind == "npz" else f"{s.kind} ({s.n_sequences} sequences of {s.seq_len} steps)")
    scored = f"{task.metric}: {METRIC_WORDS[task.metric]}"
    right = ("right when |error| < " + f"{task.tolerance:g}" if task.tolerance is not None
             else "right when its most probable class is the target")
    lag = f"; its lag is {task.lag} steps" if task.lag is not None else ""
    return f"Task: {what}. Score: {scored}, {right}{lag}."


def lag_windows(short: tuple[int, int], whole: tuple[int, int]) -> list[str]:
    """Return the verdict's sentences on stateless windows, (members, converged) of those
    shorter than the task's lag and of those that cover it, for any task but first-bit."""
    out = []
    if short[0]:
        n, conv = short
        out.append(f"None of the {n} stateless seeds with a window shorter than the task's lag "
                   "converged: such a window misses steps the target depends on, so its score "
                   "is capped by the ceiling." if conv == 0 else
                   f"{conv} of {n} stateless seeds with a window shorter than the task's lag "
                   "converged.")
    if whole[0]:
        n, conv = whole
        out.append(f"With a window that covers the lag, {conv} of {n} stateless seeds converged.")
    return out


def window_note(windows: tuple[WindowRow, ...]) -> str:
    """Return the note under the stateless windows' table: what its ceiling means."""
    if all(w.task in (None, "first-bit") for w in windows):
        return ("Ceiling: the best validation accuracy any stateless model can reach with that "
                "window (only the window at step 0 sees the first bit).")
    return ("Ceiling: the best validation score a stateless model can reach with that window, "
            "where it is known exactly (— where it is not: the user's data, or a window that sees "
            "part of what the target depends on); a window blind to it can do no better than a "
            "guess that ignores the input, give or take chance on a small validation split. A "
            "window that covers the lag holds every step the target depends on.")
