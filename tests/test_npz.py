"""The user's own sequences (``--data FILE.npz``): read, checked, split, trained and studied."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lstmbench.cli import main
from lstmbench.errors import UserError
from lstmbench.spec import StudySpec, TaskSpec, load_study_spec
from lstmbench.tasks import Task, resolve, with_data


def sequences(n: int = 40, L: int = 5, F: int = 3, *, seed: int = 0,
              classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Noisy sequences of F features whose class sits in step 0 (feature 0), nowhere else."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % classes)
    x = rng.normal(0.0, 0.5, (n, L, F)).astype(np.float32)
    x[:, 0, 0] = y * 2.0 - (classes - 1) + rng.normal(0.0, 0.1, n)
    return x, y


def save(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def _nan(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[3, 2, 1] = np.nan
    return x


def _bad_files(tmp: Path) -> list[tuple[str, Path, list[str]]]:
    x, y = sequences()
    x2 = x[..., 0]
    text = tmp / "notes.npz"
    text.write_text("x,y\n1,0\n")
    npy = tmp / "x.npz"
    with open(npy, "wb") as f:
        np.save(f, x)
    one_short = y.copy()
    one_short[:39] = 0  # class 1: a single sequence
    return [
        ("missing file", tmp / "nowhere.npz", ["no such file"]),
        ("not an npz", text, ["not an .npz", "numpy.savez"]),
        ("a plain .npy", npy, ["not an .npz"]),
        ("no x", save(tmp / "nox.npz", y=y), ["no array 'x'", "save the sequences"]),
        ("no y", save(tmp / "noy.npz", x=x), ["no array 'y'", "one target per sequence"]),
        ("x of 1 dimension", save(tmp / "x1.npz", x=x2[:, 0], y=y), ["1 dimensions", "(N, L, F)"]),
        ("x of 4 dimensions", save(tmp / "x4.npz", x=x[..., None], y=y), ["4 dimensions"]),
        ("y of 2 dimensions", save(tmp / "y2.npz", x=x, y=y[:, None]), ["y has shape (40, 1)"]),
        ("N differs", save(tmp / "n.npz", x=x, y=y[:-1]), ["40 sequences", "39 targets"]),
        ("NaN in x", save(tmp / "nan.npz", x=_nan(x), y=y), ["NaN or infinite", "sequence 3"]),
        ("inf in y", save(tmp / "inf.npz", x=x, y=np.where(y == 1, np.inf, 0.5)),
         ["y holds", "NaN or infinite"]),
        ("NaN in x_val", save(tmp / "nanv.npz", x=x, y=y, x_val=_nan(x), y_val=y),
         ["x_val holds", "NaN"]),
        ("one class", save(tmp / "one.npz", x=x, y=np.zeros(40, np.int64)),
         ["one class (0) only", "at least two"]),
        ("negative ids", save(tmp / "neg.npz", x=x, y=y - 1), ["negative class ids (-1)", "0..C-1"]),
        ("a class of one sequence", save(tmp / "few.npz", x=x, y=one_short),
         ["class 1 has 1 sequence(s)", "at least 2"]),
        ("a class missing from x_val", save(tmp / "fewv.npz", x=x, y=y, x_val=x[:6],
                                            y_val=np.array([0, 0, 0, 0, 0, 1])),
         ["class 1 has 1 validation sequence(s)"]),
        ("x_val without y_val", save(tmp / "xv.npz", x=x, y=y, x_val=x), ["no y_val"]),
        ("x_val of other steps", save(tmp / "xvl.npz", x=x, y=y, x_val=x[:, :4], y_val=y),
         ["x_val (40, 4, 3)", "steps and features"]),
        ("lag out of range", save(tmp / "lag.npz", x=x, y=y, lag=np.array(9)), ["lag", "1..5"]),
        ("objects", save(tmp / "obj.npz", x=x, y=np.array(["a", "b"] * 20)), ["y holds <U1"]),
    ]


@pytest.mark.parametrize("command", ["train", "sweep"])
def test_every_bad_file_is_refused_in_one_line_before_training(tmp_path, capsys, command):
    for case, path, words in _bad_files(tmp_path):
        before = path.read_bytes() if path.exists() else None
        argv = [command, "--data", str(path)] + (
            ["--storage", f"sqlite:///{tmp_path / 'db.sqlite'}", "--trials", "1", "--jobs", "1"]
            if command == "sweep" else [])
        assert main(argv) == 2, case
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"lstmbench: {path}: "), (case, err)
        for word in words:
            assert word in err, (case, err)
        assert "Traceback" not in err
        assert (path.read_bytes() if path.exists() else None) == before, case
    assert not (tmp_path / "db.sqlite").exists()  # refused before a study was made


def test_a_file_too_large_for_memory_is_refused_before_its_sequences_load(tmp_path, capsys,
                                                                           monkeypatch):
    x, y = sequences(n=400, L=50, F=8)
    path = save(tmp_path / "big.npz", x=x, y=y)
    monkeypatch.setenv("LSTMBENCH_MEMORY_LIMIT", "2M")
    assert main(["train", "--data", str(path), "--stateless", "--window", "25"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs about" in err and "LSTMBENCH_MEMORY_LIMIT" in err


def test_a_good_file_resolves_to_its_sizes_classes_and_hash(tmp_path):
    x, y = sequences(n=60, L=8, F=3, classes=3)
    path = save(tmp_path / "three.npz", x=x, y=y, lag=np.array(8))
    task = resolve(TaskSpec(kind="npz", path=str(path)))
    assert (task.n_sequences, task.seq_len, task.features, task.classes, task.lag) == (60, 8, 3, 3, 8)
    assert task.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    t = Task(task)
    assert (t.head.kind, t.head.n_outputs, t.metric, t.lag) == ("softmax", 3, "final", 8)
    d = t.make(0)
    assert d.x_train.shape == (54, 8, 3) and d.x_val.shape == (6, 8, 3)
    assert sorted(np.concatenate([d.y_train, d.y_val]).tolist()) == sorted(y.tolist())
    # float targets: a regression scored within the tolerance; x (N, L) is one feature
    reg = resolve(TaskSpec(kind="npz", path=str(save(tmp_path / "reg.npz", x=x[..., 0],
                                                     y=np.linspace(0, 1, 60)))))
    assert reg.regression and reg.features == 1 and Task(reg).tolerance == 0.04
    # x_val / y_val given: the file's own split, the same for every seed
    own = resolve(TaskSpec(kind="npz", path=str(save(tmp_path / "own.npz", x=x[:50], y=y[:50],
                                                     x_val=x[50:], y_val=y[50:]))))
    assert (own.n_train, own.n_val) == (50, 10)
    np.testing.assert_array_equal(Task(own).make(3).x_val, x[50:])


def test_a_study_records_the_file_and_refuses_another(tmp_path):
    x, y = sequences()
    a = save(tmp_path / "a.npz", x=x, y=y)
    study = with_data(load_study_spec("default"), str(a))
    assert study.name == "a" and study.task.label == "a.npz"
    (tmp_path / "elsewhere").mkdir()
    moved = Path(shutil.copy(a, tmp_path / "elsewhere" / "a.npz"))
    assert with_data(load_study_spec("default"), str(moved)).hash() == study.hash()
    x[0, 1, 1] += 1.0
    changed = save(tmp_path / "elsewhere" / "a.npz", x=x, y=y)
    assert with_data(load_study_spec("default"), str(changed)).hash() != study.hash()
    # the space follows the file: 36 training sequences (the default sizes, made for 90, scaled
    # by 36 / 90), 5 steps
    assert study.space.stateful_batch_size == (1, 2, 4, 12)
    assert study.space.stateless_batch_size == (4, 12, 36) and study.timesteps_choices == (1, 5)
    # a stored trial's spec must still match its file
    with pytest.raises(UserError, match="changed since"):
        resolve(dataclasses.replace(study.task, path=str(changed)))


def test_a_spec_file_names_its_data_relative_to_itself(tmp_path):
    x, y = sequences()
    save(tmp_path / "mine.npz", x=x, y=y)
    spec = tmp_path / "mine.toml"
    spec.write_text('[task]\nkind = "npz"\npath = "mine.npz"\nmetric = "per-sample"\n'
                    "[space]\nstateful_batch_size = [4]\nstateless_batch_size = [16]\n")
    study = with_data(load_study_spec(str(spec)))
    assert study.task.sha256 and study.task.metric == "per-sample"
    assert isinstance(study, StudySpec) and study.task.n_train == 36


@pytest.mark.slow
def test_stateful_learns_step_0_of_noisy_features_and_a_short_window_stays_at_chance(tmp_path,
                                                                                      capsys):
    """The class sits in step 0 of noisy 3-feature sequences: stateful chunks of 5 steps carry
    it; a stateless window of the last 5 of 10 steps never sees it."""
    x, y = sequences(n=400, L=10, F=3, seed=1)
    path = save(tmp_path / "step0.npz", x=x, y=y, lag=np.array(10))
    assert main(["train", "--data", str(path), "--stateful", "--timesteps", "5",
                 "--replicates", "4", "--epochs", "20", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["converged"] and r["converged_share"] >= 0.75 and r["metric"] == "final"
    assert r["spec"]["task"]["path"] == str(path.resolve())
    assert main(["train", "--data", str(path), "--stateless", "--window", "5",
                 "--replicates", "4", "--epochs", "8", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    # 40 validation sequences, 20 per class: a guess is right half the time; the best of 4
    # members x 8 epochs stays below 0.75 (0.5 + 3.2 standard deviations of one guess)
    assert not r["converged"] and r["best_val_accuracy"] < 0.75


@pytest.mark.slow
def test_a_sweep_of_a_file_then_its_report_names_the_file_and_the_metric(tmp_path, capsys):
    x, y = sequences(n=40, L=5, F=3, seed=2)
    data = save(tmp_path / "series.npz", x=x, y=y, lag=np.array(5))
    spec = tmp_path / "quick.toml"
    spec.write_text("[train]\nepochs = 4\nreplicates = 2\n[confirmation]\nmembers = 0\n"
                    "[sampler]\nname = \"random\"\n")  # 12 trials exactly, no confirmation
    db = f"sqlite:///{tmp_path / 'series.db'}"
    assert main(["sweep", "--data", str(data), "--spec", str(spec), "--trials", "12",
                 "--storage", db, "--jobs", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["report", "--storage", db, "--study", "series", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "series.npz" in report["task"] and "final" in report["task"]
    assert report["states"] == {"COMPLETE": 12}
    assert {w["lag"] for w in report["windows"]} == {5}
    assert "first bit" not in report["verdict"]
    # a trial of the file replays to the same numbers against the same file
    assert main(["train", "--study", "series", "--trial", "0", "--storage", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["matches"]
    # the same study from another file is refused like a different spec
    x[0, 0, 0] += 1.0
    (tmp_path / "other").mkdir()
    other = save(tmp_path / "other" / "series.npz", x=x, y=y, lag=np.array(5))
    assert main(["sweep", "--data", str(other), "--spec", str(spec), "--trials", "1",
                 "--storage", db, "--jobs", "1", "--quiet"]) == 1  # as any other spec's change
    err = capsys.readouterr().err
    assert "different spec" in err and "task.sha256" in err
