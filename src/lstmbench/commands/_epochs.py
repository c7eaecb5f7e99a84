"""Epochs of a ``lstmbench train`` run as they finish, once the run takes more than a moment.

On stderr, so that stdout keeps the result alone: a rich bar on a terminal, one plain line per
epoch otherwise (pipes, CI logs). A run done within ``AFTER_S`` seconds shows none of it.
"""

from __future__ import annotations

import os
import threading
import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

AFTER_S = 3.0  # seconds of a run (TensorFlow's start-up included) before its epochs are shown
AFTER_ENV = "LSTMBENCH_PROGRESS_AFTER"  # seconds instead of AFTER_S (0: from the first epoch)


class EpochProgress:
    """``trial.run_trial``'s ``on_epoch`` callback that shows the epochs (see the module)."""

    def __init__(self, epochs: int, console: Console | None = None,
                 after_s: float | None = None) -> None:
        self._epochs = epochs
        self._console = console or Console(stderr=True)
        if after_s is None:
            after_s = float(os.environ.get(AFTER_ENV) or AFTER_S)
        self._after_s = after_s
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        self._task = None
        self._timer: threading.Timer | None = None
        self._closed = False

    def __enter__(self) -> EpochProgress:
        if self._console.is_terminal:  # the bar appears at AFTER_S, before any epoch ends
            self._timer = threading.Timer(self._after_s, self._show_bar)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._bar is not None:
                self._bar.stop()

    def _show_bar(self) -> None:
        with self._lock:
            if self._bar is not None or self._closed:
                return
            self._bar = Progress(
                TextColumn("[bold]epochs"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[scores]}"), TimeElapsedColumn(),
                console=self._console, transient=True,
            )
            self._task = self._bar.add_task("train", total=self._epochs, scores="")
            self._bar.start()

    def __call__(self, epoch: int, val_accuracy: float, train_loss: float) -> None:
        elapsed = time.monotonic() - self._start
        scores = f"val accuracy {val_accuracy:.3f}, train loss {train_loss:.4g}"
        if self._console.is_terminal:
            if elapsed >= self._after_s:
                self._show_bar()
            with self._lock:
                if self._bar is not None:
                    self._bar.update(self._task, completed=epoch, scores=scores)
            return
        if elapsed >= self._after_s:
            self._console.print(f"epoch {epoch}/{self._epochs}: {scores} ({elapsed:.1f} s)",
                                highlight=False, soft_wrap=True)
