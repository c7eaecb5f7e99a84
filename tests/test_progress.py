"""Progress of long runs, from real tiny runs: ``train``'s epochs (a bar on a terminal, plain
lines on a pipe, nothing with ``--json``) and the sweep's trials that train for long.

"Long" is a setting (``LSTMBENCH_PROGRESS_AFTER``, ``LSTMBENCH_LONG_TRIAL``): at 0 every run is
long, whatever the machine's speed. A sweep's trial that must stay mid-way is one that cannot
converge (a window of 2 steps never sees the first bit) and is stopped by the test.
"""

from __future__ import annotations

import itertools
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

import pytest

from _sweeps import start_sweep, wait_for, write_spec
from lstmbench.commands._epochs import AFTER_ENV
from lstmbench.study._progress import LONG_ENV

TRAIN = ["-m", "lstmbench", "train", "--epochs", "3", "--all-epochs", "--units", "4",
         "--sequences", "24", "--seq-len", "4"]


def run_train(*extra: str, after: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, AFTER_ENV: after}
    return subprocess.run([sys.executable, *TRAIN, *extra], capture_output=True, text=True,
                          timeout=300, env=env)


def test_train_prints_an_epoch_a_line_on_a_pipe():
    proc = run_train(after="0")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert re.fullmatch(r"epoch 3/3: val accuracy \d\.\d{3}, train loss \S+ \(\d+\.\d s\)", lines[-1])
    assert "epoch 1/3" not in proc.stdout  # the result table alone on stdout


def test_train_shows_nothing_before_the_run_is_long_nor_with_json():
    quick = run_train(after="100000")
    assert quick.returncode == 0 and "epoch 1/3" not in quick.stderr, quick.stderr
    as_json = run_train("--json", after="0")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["epochs_run"] == 3
    assert "epoch" not in as_json.stderr


def read_pty(master: int, proc: subprocess.Popen, until: re.Pattern[str] | None,
             timeout: float = 300) -> str:
    """What the process wrote to the terminal: until ``until`` matches, or until it exits."""
    out, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side closed: the process ended
                break
            out += chunk
            if until is not None and until.search(out.decode(errors="replace")):
                break
        elif proc.poll() is not None:
            break
    return out.decode(errors="replace")


def test_train_draws_a_bar_on_a_terminal():
    master, slave = pty.openpty()
    env = {**os.environ, AFTER_ENV: "0", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, *TRAIN], stdout=subprocess.DEVNULL, stderr=slave,
                            env=env)
    os.close(slave)
    try:
        shown = read_pty(master, proc, until=None)
        assert proc.wait(60) == 0, shown
    finally:
        os.close(master)
    assert "epochs" in shown and "3/3" in shown, shown
    assert "epoch 1/3:" not in shown  # a bar, not lines
    assert "\x1b[" in shown  # drawn with the terminal's cursor codes


# A trial that cannot converge (W = 2 never sees the first bit) and keeps training until stopped.
STUCK = """\
description = "a trial that trains until it is stopped"
[task]
n_sequences = 24
seq_len = 4
[train]
epochs = 100000
replicates = 1
[space]
arms = ["stateless"]
window_low = 2
window_high = 2
stateless_batch_size = [10]
units = [4]
"""

LONG_LINE = re.compile(r"trial 0 training for \d+ s, epoch \d+/100000")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # the trial ends FAIL, queued again: one line
        proc.wait(120)


def test_a_sweep_names_a_trial_training_for_long_on_a_pipe(tmp_path, monkeypatch):
    spec = write_spec(tmp_path, STUCK, name="stuck")
    monkeypatch.setenv(LONG_ENV, "0")
    sweep = start_sweep(tmp_path / "run", "--spec", str(spec), "--storage",
                        f"sqlite:///{tmp_path / 'stuck.db'}", "--trials", "1", "--jobs", "1")
    try:
        wait_for(lambda: LONG_LINE.search(sweep.stdout) is not None,
                 "a line naming the long trial and its epoch", sweeps=(sweep,))
    finally:
        stop(sweep.proc)
    lines = [line for line in sweep.stdout.splitlines() if line.startswith("trial 0 training")]
    seconds = [int(re.search(r"for (\d+) s", line).group(1)) for line in lines]
    # Said again only as the trial doubles its time: a log of few lines, however long it runs
    # (seconds shown rounded: 1 s of tolerance).
    assert all(b >= 2 * a - 1 for a, b in itertools.pairwise(seconds)), lines


@pytest.mark.slow
def test_a_sweep_shows_a_trial_training_for_long_under_its_bar(tmp_path):
    spec = write_spec(tmp_path, STUCK, name="stuck")
    master, slave = pty.openpty()
    env = {**os.environ, LONG_ENV: "0", "TERM": "xterm", "COLUMNS": "160"}
    proc = subprocess.Popen([sys.executable, "-m", "lstmbench", "sweep", "--spec", str(spec),
                             "--storage", f"sqlite:///{tmp_path / 'stuck.db'}", "--trials", "1",
                             "--jobs", "1"], stdout=slave, stderr=slave, env=env, cwd=tmp_path)
    os.close(slave)
    try:
        shown = read_pty(master, proc, until=LONG_LINE)
    finally:
        stop(proc)
        os.close(master)
    assert LONG_LINE.search(shown), shown
    assert "trials" in shown  # the bar's own line above it

