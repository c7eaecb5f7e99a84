"""Sweeps as other processes, for tests that kill, interrupt or race them.

Waits poll the storage for a condition, bounded; never a fixed sleep long enough to hope.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

# The tiny search study most sweep tests run: seconds per trial, both arms.
TINY = """\
description = "tiny study for tests"
[task]
n_sequences = 24
seq_len = 4
[train]
epochs = 3
replicates = 2
[space]
timesteps = [1, 2]
stateful_batch_size = [5]
stateless_batch_size = [10]
units = [4]
[confirmation]
members = 0  # trials counted exactly; tests/test_confirmation.py turns the confirmation on
[sampler]
n_startup_trials = 2
"""

# Trials that cannot converge, for tests that need one mid-way: stateless windows of 1..3 steps
# on sequences of 4 never see the first bit, so the validation accuracy stays at the ceiling
# (at most 0.83 for any seed's 3 validation sequences: ``test_long_trials_cannot_converge``),
# below the target, and a trial always runs its whole budget. The budget (~2.4 ms an epoch on a
# lightly loaded 2-core machine: ~5 s) is a margin for how long the tests need a trial mid-way;
# the trial never ends early however fast the machine. The storage has epoch 1 as soon as it ends,
# then an epoch every 2 s (study/_objective.py), and ``mid_trial`` waits for epoch 1.
LONG_EPOCHS = 2000
LONG = f"""\
description = "trials that cannot converge, for tests that stop a sweep mid-trial"
[task]
n_sequences = 24
seq_len = 4
[train]
epochs = {LONG_EPOCHS}
[space]
arms = ["stateless"]
window_high = 3
stateless_batch_size = [10]
units = [4]
[confirmation]
members = 0
[sampler]
n_startup_trials = 2
"""


def write_spec(folder: Path, text: str = TINY, name: str = "tiny") -> Path:
    """Write a study spec ``folder/NAME.toml`` and return its path."""
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


@dataclass
class Sweep:
    """A ``lstmbench sweep`` running in its own process, its output going to files."""

    proc: subprocess.Popen[bytes]
    folder: Path

    @property
    def stdout(self) -> str:
        return (self.folder / "stdout").read_text()

    @property
    def stderr(self) -> str:
        return (self.folder / "stderr").read_text()

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def wait(self, timeout: float = 300) -> int:
        return self.proc.wait(timeout)


def start_sweep(folder: Path, *args: str, new_session: bool = False, **popen: Any) -> Sweep:
    """Start ``lstmbench sweep ARGS`` with ``folder`` as its working folder."""
    folder.mkdir(parents=True, exist_ok=True)
    # TensorFlow's logging at lstmbench's default (off): below it, every load from XLA's cache
    # logs two harmless errors (a text parse tried before the binary one; a CPU feature note).
    env = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    with (folder / "stdout").open("wb") as out, (folder / "stderr").open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "lstmbench", "sweep", *args], cwd=folder,
                                stdout=out, stderr=err, env=env, start_new_session=new_session,
                                **popen)
    return Sweep(proc, folder)


def run_cli(cwd: Path, *args: str, timeout: float = 120,
            prefix: list[str] | tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``lstmbench ARGS`` to the end (under ``prefix``, e.g. ``setpriv ... --``)."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*prefix, sys.executable, "-m", "lstmbench", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    """Every trial of ``study`` as the storage has it now ([] while the study does not exist)."""
    from lstmbench.storage import driver_url

    storage = optuna.storages.RDBStorage(driver_url(url), skip_compatibility_check=True,
                                         engine_kwargs={"poolclass": _null_pool()})
    try:
        return storage.get_all_trials(storage.get_study_id_from_name(study), deepcopy=False)
    except KeyError:
        return []
    finally:
        storage.engine.dispose()


def _null_pool() -> Any:
    import sqlalchemy.pool

    return sqlalchemy.pool.NullPool  # no connection left open between polls


def states(url: str, study: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in trials(url, study):
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def mid_trial(url: str, study: str, *, running: int = 1, complete: int = 0, epochs: int = 1) -> bool:
    """True when ``running`` trials have stored ``epochs`` epochs and ``complete`` are done.

    A trial without a pruner stores its first epoch at once, later ones every 2 s: more than one
    epoch is a question of time."""
    ts = trials(url, study)
    busy = [t for t in ts if t.state.name == "RUNNING" and len(t.intermediate_values) >= epochs]
    done = [t for t in ts if t.state.name == "COMPLETE"]
    return len(busy) >= running and len(done) >= complete


def wait_for(condition: Callable[[], bool], what: str, *, timeout: float = 900,
             sweeps: tuple[Sweep, ...] = ()) -> None:
    """Poll ``condition`` until true; fail naming ``what`` (and the sweeps' output) on timeout.

    The timeout only bounds a test that is broken: a shared machine may run everything ten
    times slower than an idle one (a LONG trial then takes minutes), and a wait that ends at
    once when the condition holds costs nothing for being generous."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if condition():
                return
        except Exception:  # the storage may not exist yet, or be locked for a moment
            pass
        ended = [s for s in sweeps if s.proc.poll() is not None]
        if ended:
            raise AssertionError(f"waiting for {what}: the sweep ended first "
                                 f"(exit {ended[0].proc.returncode}):\n{ended[0].output}")
        time.sleep(0.2)
    raise AssertionError(f"no {what} after {timeout} s:\n" + "\n".join(s.output for s in sweeps))


def group_gone(pgid: int) -> bool:
    """True when no process of process group ``pgid`` is left (every worker ended)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def workers(pid: int) -> list[int]:
    """The pids of the worker processes a sweep ``pid`` spawned (Linux /proc)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:  # not multiprocessing's resource tracker
            found.append(int(child))
    return found


def kill_group(pgid: int) -> None:
    """Clean-up after a failed test: end whatever is left of a sweep's process group."""
    if not group_gone(pgid):
        os.killpg(pgid, signal.SIGKILL)
