"""Progress of a sweep, read from the storage itself so that it sees every worker's trials."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress
from rich.text import Text

from lstmbench.spec import describe_config
from lstmbench.storage import DEFAULT_PATIENCE, back_line, is_outage, waiting_line
from lstmbench.study._signals import TIME_UP
from lstmbench.study._study import SWEEP

FINISHED = ("COMPLETE", "FAIL", "PRUNED", "STOPPED")
# A trial training longer than this is named with its epoch (most take a few seconds).
LONG_S = 30.0
LONG_ENV = "LSTMBENCH_LONG_TRIAL"  # seconds instead of LONG_S
SHOWN_LONG = 4  # the bar names at most this many long trials, the longest first


class _Bar(RichProgress):
    """The sweep's bar, and under it a line per trial that has been training for long."""

    def __init__(self, *columns: Any, **kwargs: Any) -> None:
        self.long_lines: list[str] = []  # first: the constructor renders once
        super().__init__(*columns, **kwargs)

    def get_renderables(self) -> Any:
        yield self.make_tasks_table(self.tasks)
        for line in self.long_lines:
            yield Text(line)


class Progress:
    """A rich progress bar (terminal) or one plain line per finished trial (pipes, CI logs)."""

    def __init__(self, study: Any, sweeps: frozenset[str], *, total: int, console: Console,
                 quiet: bool, interval: float = 0.5, queued: frozenset[int] = frozenset(),
                 since: int = 0, patience: float = DEFAULT_PATIENCE) -> None:
        self._study, self._sweeps, self._total = study, sweeps, total
        self._queued = queued  # trial numbers WAITING at the start: left by an earlier run too
        self._since = since  # the first trial number queued after the start
        self._patience = patience  # how long the workers wait for a lost storage (said once)
        self._outage: float | None = None  # since when the storage is unreachable
        self._console, self._quiet, self._interval = console, quiet, interval
        self._stop = threading.Event()
        self._seen: set[int] = set()
        self._state: Counter[str] = Counter()
        self._thread: threading.Thread | None = None
        self._bar: _Bar | None = None
        self._long_s = float(os.environ.get(LONG_ENV) or LONG_S)
        self._told_long: dict[int, float] = {}  # trial number -> its next plain line, in seconds
        self._task: Any = None

    def __enter__(self) -> Progress:
        if not self._quiet and self._console.is_terminal:
            self._bar = _Bar(
                TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[arms]}"), TextColumn("best {task.fields[best]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=self._console,
            )
            self._bar.start()
            self._task = self._bar.add_task("sweep", total=self._total, arms="", best="—")
        self._thread = threading.Thread(target=self._loop, name="lstmbench-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.poll()
        except Exception as error:
            if not is_outage(error):  # a lost storage: the sweep says so, not the display
                raise
        if self._bar is not None:
            self._bar.stop()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll()
            except Exception as exc:  # a busy or lost database must not kill the display
                if is_outage(exc) and self._outage is None:
                    self._outage = time.monotonic()  # the workers wait for it: one line
                    self._console.print(waiting_line(exc, self._patience), style="yellow",
                                        highlight=False, soft_wrap=True)
                continue
            if self._outage is not None:
                self._console.print(back_line(time.monotonic() - self._outage), highlight=False)
                self._outage = None

    def counts(self) -> Counter[str]:
        return Counter(self._state)

    def poll(self) -> None:
        every = sorted(self._study.get_trials(deepcopy=False), key=lambda t: t.number)
        mine = set(self._queued)
        for t in every:
            # Those found queued; from the start on, the trials queued for this run's sweep and
            # for the earlier sweeps it continues, and every retry (a Ctrl-C'd trial of ours, or
            # a dead worker's trial that a worker here picked up), with the trial it retries.
            retry_of = t.user_attrs.get("retry_of")
            new = t.number >= self._since
            if (t.number in mine or retry_of in mine
                    or (new and (t.user_attrs.get(SWEEP) in self._sweeps or retry_of is not None))):
                mine.add(t.number)
                if retry_of is not None:
                    mine.add(retry_of)
        trials = [t for t in every if t.number in mine]
        self._total = max(self._total, len(trials))  # retries add to what this run does
        # A trial stopped at --timeout (queued again) did not fail: counted apart.
        state = Counter("STOPPED" if t.user_attrs.get("fail_reason") == TIME_UP else t.state.name
                        for t in trials)
        arms = Counter(t.user_attrs.get("arm") for t in trials if t.state.name == "COMPLETE")
        done = [t for t in trials if t.state.name == "COMPLETE" and t.value is not None]
        best = min(done, key=lambda t: t.value) if done else None
        best_text = (f"{describe_config(best.user_attrs.get('spec'))} ({best.value:.3g})"
                     if best else "—")
        arms_text = " ".join(f"{a} {n}" for a, n in sorted(arms.items()) if a)
        self._state = state
        long = self._long_trials(trials)
        if self._bar is not None:
            self._bar.long_lines = [line for _, _, line in long[:SHOWN_LONG]]
            self._bar.update(self._task, total=self._total, completed=sum(state[s] for s in FINISHED),
                             arms=arms_text, best=best_text)
            return
        if self._quiet:
            return
        for number, seconds, line in sorted(long):
            if seconds >= self._told_long.get(number, 0.0):  # at LONG_S, then at 2x, 4x, ...
                self._told_long[number] = 2 * seconds
                self._console.print(line, highlight=False, soft_wrap=True)
        retries = {t.user_attrs["retry_of"]: t.number for t in trials if "retry_of" in t.user_attrs}
        for t in sorted(trials, key=lambda t: t.number):
            if t.state.name in FINISHED and t.number not in self._seen:
                self._seen.add(t.number)  # numbered in the order printed: 1, 2, 3, ...
                self._console.print(self._line(t, len(self._seen), retries),
                                    highlight=False, soft_wrap=True)

    def _long_trials(self, trials: list[Any]) -> list[tuple[int, float, str]]:
        """(number, seconds, line) of the running trials training for ``LONG_S`` or longer,
        the longest first; their epoch is the last one the worker wrote (its learning curve
        reaches the storage at the first epoch and every few seconds)."""
        now, long = datetime.now(), []
        for t in trials:
            if t.state.name != "RUNNING" or t.datetime_start is None:
                continue
            seconds = (now - t.datetime_start).total_seconds()
            if seconds < self._long_s:
                continue
            epochs = ((t.user_attrs.get("spec") or {}).get("train") or {}).get("epochs")
            epoch = max(t.intermediate_values, default=None)
            where = (f"epoch {epoch}" + (f"/{epochs}" if epochs else "") if epoch is not None
                     else "no epoch finished yet")
            long.append((t.number, seconds, f"trial {t.number} training for {seconds:.0f} s, {where}"))
        return sorted(long, key=lambda item: -item[1])

    def _line(self, t: Any, finished: int, retries: dict[int, int]) -> str:
        attrs = t.user_attrs
        config = describe_config(attrs.get("spec"))
        if "variant" in t.params:  # a variant study: name the variant and seed first
            config = f"{t.params['variant']} seed {t.params.get('seed')} ({config})"
        head = f"[{finished}/{self._total}] trial {t.number} {config}"
        if attrs.get("confirmation"):  # see _confirm
            head += f", confirming trial {attrs.get('confirms')} on fresh seeds"
        if t.state.name == "FAIL":
            # No reason stored: the worker died mid-trial and Optuna's heartbeat check failed it.
            reason = attrs.get("fail_reason") or "its worker stopped sending heartbeats"
            again = f"; queued again as trial {retries[t.number]}" if t.number in retries else ""
            if reason == TIME_UP:
                return f"{head}: {reason}{again}"
            return f"{head}: FAILED ({reason}{again})"
        if t.state.name == "PRUNED":
            return f"{head}: pruned after epoch {attrs.get('pruned_at_epoch')}"
        K = attrs.get("replicates") or 1
        k = round((attrs.get("converged_share") or 0.0) * K)
        seeds = f"{k}/{K} seeds converged" if K > 1 else "converged"
        if attrs.get("converged"):
            solution = attrs.get("time_to_solution_s")
            return (f"{head}: {seeds}, median epoch {attrs.get('median_epoch') or 0:g}"
                    + ("" if solution is None else f", {solution * 1e3:.3g} ms to a solution"))
        ceiling = attrs.get("ceiling")
        return (f"{head}: not converged ({k}/{K} seeds), best {attrs.get('best_val_accuracy', 0):.3f}"
                + ("" if ceiling is None else f" (ceiling {ceiling:.3f})"))
