"""Sizes that cannot fit and splits that leave a side without both classes: refused up front,
one line, exit 2, no traceback; every member counted; the estimate holds against what numpy
really allocates; an allocation that fails anyway ends in one line too."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from lstmbench.cli import build_parser, main
from lstmbench.commands.train import spec_from_args
from lstmbench.errors import UserError, out_of_memory
from lstmbench.feeding import eval_set, population_batches
from lstmbench.memory import (
    MEMORY_ENV,
    check_study,
    check_train,
    dimensions,
    estimate,
    largest_trial,
    parse_size,
)
from lstmbench.spec import ModelConfig, StudySpec, TaskSpec, TrainSpec, TrialSpec, load_study_spec
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


@pytest.mark.parametrize(("argv", "limit", "names"), [
    (["--units", "100000"], None, ["--units 100000"]),
    # every member's weights and Adam slots: 16 x 16 M parameters x 16 bytes
    (["--stateful", "--units", "2000", "--replicates", "16"], "1G",
     ["--units 2000", "--replicates 16", "fewer --replicates", MEMORY_ENV]),
    # a million members' batches and weights: refused by arithmetic, nothing allocated
    (["--replicates", "1000000"], "1G", ["--replicates 1000000", "fewer --replicates"]),
])
def test_refused_before_tensorflow_is_imported(argv, limit, names):
    code = ("import sys; from lstmbench.cli import main; rc = main(['train', *sys.argv[1:]]); "
            "print(rc, 'tensorflow' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != MEMORY_ENV}
    if limit:
        env[MEMORY_ENV] = limit
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.stdout.split() == ["2", "False"], proc.stderr
    one_line(proc.stderr)
    for name in names:
        assert name in proc.stderr


def train_spec(*argv: str) -> TrialSpec:
    return spec_from_args(build_parser().parse_args(["train", *argv]))


def test_every_member_counts(monkeypatch):
    """One member of 1000 units fits in 1 GiB with the start-up and margin; 16 of them do not,
    and the estimate grows by one member's bytes per member."""
    monkeypatch.setenv(MEMORY_ENV, "1G")
    one, sixteen = train_spec("--units", "1000"), train_spec("--units", "1000", "--replicates", "16")
    check_train(one)
    with pytest.raises(UserError, match=r"--replicates 16 needs about .* fewer --replicates"):
        check_train(sixteen)
    a, b = estimate(one), estimate(sixteen)
    assert b.members == 16 * a.members
    assert b.total - a.total == 15 * a.members
    # Each member's weights, gradients and Adam's two slots are in its model part.
    U = 1000
    params = (1 + U + 1) * 4 * U + U + 1
    assert b.model >= 16 * 4 * params * 4


def test_the_estimate_alone_is_not_enough(monkeypatch):
    """The refusal keeps the margin and the start-up: memory for the bare estimate is refused."""
    spec = train_spec("--seq-len", "200000", "--timesteps", "200000", "--sequences", "20",
                      "--batch-size", "16")
    fp = estimate(spec)
    monkeypatch.setenv(MEMORY_ENV, str(fp.total))
    with pytest.raises(UserError, match=r"--timesteps 200000 needs about .* fewer --timesteps"):
        check_train(spec)
    monkeypatch.setenv(MEMORY_ENV, str(fp.needed))
    check_train(spec)
    assert fp.needed > 1.4 * fp.total


def test_a_long_sequence_is_refused_in_one_line(capsys, monkeypatch):
    """10 million steps: 100 sequences of 40 MB each, their copies and layouts, past the 23 GiB
    of the machine this was first seen on."""
    monkeypatch.setenv(MEMORY_ENV, "23G")
    assert main(["train", "--seq-len", "10000000"]) == 2
    err = capsys.readouterr().err
    one_line(err)
    assert "--seq-len 10000000" in err and "shorter --seq-len" in err


# After TensorFlow is imported, the process may grow by 1 GiB of address space only: the
# sequences of --seq-len 10000000 (4 GB) fail to allocate, as on a machine without the memory.
# The estimate is told there is plenty ($LSTMBENCH_MEMORY_LIMIT), so the run starts.
CAPPED = """\
import resource, sys
from lstmbench.trial import import_tensorflow
import_tensorflow()
size = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + 2**30, resource.RLIM_INFINITY))
from lstmbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_capped(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, MEMORY_ENV: "1T"}
    return subprocess.run([sys.executable, "-c", CAPPED, *argv], capture_output=True, text=True,
                          timeout=600, env=env, cwd=cwd)


def test_an_allocation_that_fails_anyway_is_one_line():
    proc = run_capped("train", "--seq-len", "10000000", "--epochs", "1")
    assert proc.returncode == 1, proc.stderr
    one_line(proc.stderr)
    assert "out of memory: Unable to allocate" in proc.stderr and "fewer" in proc.stderr


def test_an_allocation_that_fails_in_a_sweep_fails_its_trial_with_the_reason(tmp_path):
    spec = tmp_path / "huge.toml"
    spec.write_text("[task]\nseq_len = 10000000\n[train]\nepochs = 1\nreplicates = 1\n"
                    "[space]\narms = [\"stateful\"]\ntimesteps = [10000000]\n"
                    "stateful_batch_size = [30]\nunits = [4]\n")
    db = tmp_path / "huge.db"
    proc = run_capped("sweep", "--spec", str(spec), "--storage", f"sqlite:///{db}",
                      "--trials", "1", "--jobs", "1", cwd=tmp_path)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    import optuna

    (trial,) = optuna.load_study(study_name="huge", storage=f"sqlite:///{db}").trials
    assert trial.state == optuna.trial.TrialState.FAIL
    reason = trial.user_attrs["fail_reason"]
    assert reason.startswith("out of memory: Unable to allocate") and "\n" not in reason, reason
    assert f"FAILED ({reason}" in proc.stdout + proc.stderr


def test_tensorflows_exhausted_resource_is_out_of_memory():
    """TensorFlow's own error, as its allocator raises it: its first line, not its hints."""
    from lstmbench.engines import tensorflow

    tf = tensorflow()
    exc = tf.errors.ResourceExhaustedError(
        None, None, "OOM when allocating tensor with shape[4,1000000,64]\nHint: If you want ...")
    assert out_of_memory(exc) == "out of memory: OOM when allocating tensor with shape[4,1000000,64]"
    assert out_of_memory(MemoryError("Unable to allocate 3.35 GiB")) is not None
    assert out_of_memory(ValueError("no")) is None


def test_dimensions_are_read_in_one_place():
    spec = TrialSpec(model=ModelConfig(stateful=True, timesteps=5, batch_size=2, units=4),
                     task=TaskSpec(n_sequences=40, seq_len=10, val_fraction=0.25))
    dims = dimensions(spec.task)
    assert (dims.n_train, dims.n_val, dims.seq_len, dims.features, dims.outputs) == (30, 10, 10, 1, 1)


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
    need = estimate(largest_trial(spec)).needed
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
    """Data and feeding of 3 members as ``run_trial`` holds them (the first epoch's batches
    alive while the next are stacked), measured by tracemalloc (numpy reports its buffers to
    it): at most the estimate, and at least half of it (a bound, not a wild guess)."""
    spec = TrialSpec(model=model, task=TaskSpec(n_sequences=2000, seq_len=100, noise=noise),
                     train=TrainSpec(replicates=3))
    tracemalloc.start()
    try:
        data = make_task(spec.task, 0)
        ev = eval_set(data.x_val, data.y_val, model)
        first, second = (population_batches(data.x_train, data.y_train, model,
                                            seeds=spec.member_seeds, epoch=e, shuffle=True)
                         for e in (1, 2))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first.xs.shape[2] == second.xs.shape[2] == 3 and ev.xv.nbytes > 0
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
