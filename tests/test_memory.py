"""Sizes that cannot fit and splits that leave a side without both classes: refused up front,
one line, exit 2, no traceback; the estimate holds against what numpy really allocates."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from lstmbench.cli import main
from lstmbench.errors import UserError
from lstmbench.feeding import eval_set, train_batches
from lstmbench.memory import MEMORY_ENV, check_study, estimate, largest_trial, parse_size
from lstmbench.spec import ModelConfig, StudySpec, TaskSpec, TrialSpec, load_study_spec
from lstmbench.tasks import make_task


def one_line(err: str) -> None:
    assert err.count("\n") == 1 and err.startswith("lstmbench: "), err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--sequences", "100000000"], ["--sequences 100000000", "GiB", "MemAvailable"]),
        (["--seq-len", "20000000", "--stateless", "--window", "10000000", "--batch-size", "1"],
         ["--window 10000000", "windows"]),
        (["--units", "100000"], ["--units 100000", "model", "fewer --units"]),
        (["--val-fraction", "0.01"], ["val_fraction=0.01", "1 validation", "(0.01, 0.98]"]),
        (["--sequences", "10", "--val-fraction", "0.85"], ["1 training", "(0.1, 0.8]"]),
        (["--sequences", "3"], ["n_sequences=3", ">= 4"]),
    ],
)
def test_train_refuses_sizes_and_splits_in_one_line(argv, names, capsys, monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err
    one_line(err)
    for name in names:
        assert name in err


def test_refused_before_tensorflow_is_imported():
    code = ("import sys; from lstmbench.cli import main; rc = main(['train', '--units', '100000']); "
            "print(rc, 'tensorflow' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["2", "False"]
    one_line(proc.stderr)


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ("[task]\nn_sequences = 100000000\n", ["task.n_sequences=100000000", "GiB"]),
        ("[space]\nunits = [4, 100000]\n", ["U=100000", "space.units"]),
        ("[task]\nseq_len = 20000000\n[space]\ntimesteps = [1]\nstateless_batch_size = [11]\n",
         ["seq_len=20000000", "windows"]),
        ("[task]\nval_fraction = 0.01\n", ["val_fraction=0.01", "1 validation"]),
    ],
)
def test_sweep_refuses_the_worst_case_of_its_space(tmp_path, toml, names, capsys, monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    spec = tmp_path / "big.toml"
    spec.write_text(toml)
    db = tmp_path / "big.db"
    assert main(["sweep", "--spec", str(spec), "--storage", f"sqlite:///{db}", "--trials", "2"]) == 2
    err = capsys.readouterr().err
    one_line(err)
    for name in names:
        assert name in err
    assert not db.exists()  # refused before the storage was touched


def test_workers_count_and_the_limit_can_be_set(monkeypatch):
    spec = load_study_spec("memory-horizon")
    need = estimate(largest_trial(spec)).total
    monkeypatch.setenv(MEMORY_ENV, str(int(need * 1.5)))
    check_study(spec, workers=1)
    with pytest.raises(UserError, match=rf"per worker x 2 workers.*\${MEMORY_ENV}.*--jobs"):
        check_study(spec, workers=2)
    monkeypatch.setenv(MEMORY_ENV, "lots")
    with pytest.raises(UserError, match="not a size"):
        check_study(spec, workers=1)


def test_parse_size():
    assert parse_size("512M") == 512 * 2**20
    assert parse_size("1.5G") == 3 * 2**29
    assert parse_size("2GiB") == 2 * 2**30
    assert parse_size("1000") == 1000


def test_largest_trial_is_the_largest_of_its_space():
    spec = StudySpec(space=load_study_spec("default").space)
    worst = estimate(largest_trial(spec)).total
    for W in range(1, 21):
        for B in spec.space.stateless_batch_size:
            trial = TrialSpec(model=ModelConfig(stateful=False, window=W, batch_size=B, units=16))
            assert estimate(trial).total <= worst
    for T in spec.timesteps_choices:
        trial = TrialSpec(model=ModelConfig(stateful=True, timesteps=T, batch_size=30, units=16))
        assert estimate(trial).total <= worst


@pytest.mark.parametrize(("model", "noise"), [
    (ModelConfig(stateful=False, window=50, batch_size=30, units=8), 0.1),
    (ModelConfig(stateful=True, timesteps=4, batch_size=30, units=8), 0.0),
])
def test_estimate_bounds_what_numpy_allocates(model, noise):
    """Data and feeding, measured by tracemalloc (numpy reports its buffers to it): at most the
    estimate, and at least half of it (a bound, not a wild guess)."""
    spec = TrialSpec(model=model, task=TaskSpec(n_sequences=2000, seq_len=100, noise=noise))
    tracemalloc.start()
    try:
        data = make_task(spec.task, 0)
        first = train_batches(data.x_train, data.y_train, model, seed=0, epoch=1, shuffle=True)
        second = train_batches(data.x_train, data.y_train, model, seed=0, epoch=2, shuffle=True)
        ev = eval_set(data.x_val, data.y_val, model)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first.xs.nbytes + second.xs.nbytes + ev.xv.nbytes > 0
    fp = estimate(spec)
    assert (fp.data + fp.windows) / 2 <= peak <= fp.data + fp.windows, (peak, fp)


def test_every_accepted_split_has_both_classes_on_both_sides():
    """Against scikit-learn itself: what TaskSpec accepts splits, and never to one class."""
    for n in range(4, 41):
        for fraction in np.linspace(0.01, 0.99, 50):
            try:
                task = TaskSpec(n_sequences=n, val_fraction=float(fraction), seq_len=2)
            except UserError as exc:
                assert "classes on one side" in str(exc)
                continue
            data = make_task(task, seed=n)
            assert set(data.y_train) == {0.0, 1.0} and set(data.y_val) == {0.0, 1.0}
