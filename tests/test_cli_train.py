"""``lstmbench train`` from the command line: JSON output and one-line refusals of bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lstmbench.cli import main
from lstmbench.engines._compiled._shapes import ProgramShape


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--timesteps", "3"], ["timesteps=3", "seq_len=20", "1, 2, 4, 5, 10, 20"]),
        (["--stateless", "--window", "25"], ["window=25", "1..seq_len (20)"]),
        (["--units", "0"], ["units=0", ">= 1"]),
        (["--batch-size", "91"], ["batch_size=91", "1..90"]),
        (["--stateless", "--batch-size", "5000"], ["batch_size=5000", "1..990"]),
        (["--epochs", "-1"], ["epochs=-1", ">= 1"]),
        (["--val-fraction", "1.5"], ["val_fraction=1.5", "(0, 1)"]),
        (["--val-fraction", "0"], ["val_fraction=0.0", "(0, 1)"]),
        (["--window", "5"], ["--window", "--stateless"]),
        (["--study", "x"], ["--trial"]),
        (["--study", "x", "--trial", "0", "--xla", "on"], ["--xla on", "stored with the trial"]),
        (["--study", "x", "--trial", "0", "--programs", "exact"],
         ["--programs exact", "stored with the trial"]),
    ],
)
def test_bad_input_is_one_line_naming_value_and_range(argv, names, capsys):
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lstmbench: ")
    for name in names:
        assert name in err
    assert "Traceback" not in err


def test_bad_input_from_a_real_process_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "lstmbench", "train", "--timesteps", "3"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "lstmbench: timesteps=3 does not divide seq_len=20: choose one of 1, 2, 4, 5, 10, 20\n"
    )


@pytest.mark.parametrize(
    ("flags", "programs", "shape"),
    [
        # its own shapes: one sample, 8 steps, the single step written out, 8 units, the
        # epoch's 36 batches (40 sequences, 36 for training) in one call
        ([], "exact", ProgramShape(1, 1, 8, 1, 8, block=36)),
        # a sweep's: 2 samples, a loop of up to 20 steps, 16 units
        (["--programs", "shared"], "shared", ProgramShape(1, 2, 20, 20, 16)),
    ],
    ids=["default-exact", "shared"],
)
def test_train_compiles_a_program_of_its_own_shapes_unless_told_to_share(flags, programs, shape,
                                                                         capsys):
    """The program a run built, and the choice its result records (what a replay runs)."""
    from lstmbench.engines._compiled import _programs

    _programs.clear()
    assert main(["train", "--sequences", "40", "--seq-len", "8", "--epochs", "2", "--json",
                 *flags]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["spec"]["train"]["programs"] == programs
    assert [program.shape for program in _programs.values()] == [shape]


def test_json_is_the_whole_stdout():
    proc = subprocess.run(
        [sys.executable, "-m", "lstmbench", "train", "--batch-size", "10", "--sequences", "40",
         "--seq-len", "8", "--epochs", "2", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["spec"]["model"] == {"stateful": True, "batch_size": 10, "units": 8,
                                       "window": None, "timesteps": 1}
    # "auto" is XLA on for the compiled engine, and the resolved choice is stored for a replay
    assert result["engine"] == "compiled" and result["jit"] is True
    assert result["spec"]["train"]["xla"] == "on"
    assert 1 <= result["epochs_run"] <= 2
    assert result["convergence_epoch"] is None or result["converged"]


def test_terminal_output_has_the_table_and_curve(capsys):
    assert main(["train", "--stateless", "--window", "8", "--sequences", "20", "--seq-len", "8",
                 "--epochs", "2", "--all-epochs"]) == 0
    out = capsys.readouterr().out
    assert "stateless W=8 B=11 U=8" in out
    assert "learning curve" in out and "compiled (XLA on)" in out
