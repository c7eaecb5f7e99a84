"""XLA's persistent compilation cache: where it lives, how it is turned off, and that a second
process loads what the first compiled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lstmbench.engines._xla_cache import CACHE_ENV, xla_cache_dir


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"XDG_CACHE_HOME": "/c"}, Path("/c/lstmbench/xla")),
        ({"HOME": "/h"}, Path("/h/.cache/lstmbench/xla")),
        ({CACHE_ENV: "/elsewhere", "XDG_CACHE_HOME": "/c"}, Path("/elsewhere")),
        ({CACHE_ENV: "off", "XDG_CACHE_HOME": "/c"}, None),
        ({CACHE_ENV: "0"}, None),
        ({"TF_XLA_FLAGS": "--tf_xla_persistent_cache_directory=/given", CACHE_ENV: "off"},
         Path("/given")),
    ],
)
def test_cache_folder_from_the_environment(env, expected, monkeypatch):
    for name in ("XDG_CACHE_HOME", CACHE_ENV, "TF_XLA_FLAGS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert xla_cache_dir() == expected


def _train(tmp_path: Path, env: dict[str, str]) -> dict:
    argv = [sys.executable, "-m", "lstmbench", "train", "--stateful", "--timesteps", "5",
            "--batch-size", "30", "--epochs", "1", "--xla", "on", "--json"]
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=True,
                          env={**_base_env(), **env})
    return json.loads(proc.stdout)


def test_a_second_process_loads_the_program_from_the_cache(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first, second = _train(tmp_path, env), _train(tmp_path, env)
    assert (first["xla_cache"], second["xla_cache"]) == ("miss", "hit")
    assert list((tmp_path / "cache" / "lstmbench" / "xla").iterdir())
    # The same program, so the same numbers.
    assert second["member_train_loss"] == first["member_train_loss"]
    off = _train(tmp_path, {CACHE_ENV: "off"})
    assert off["xla_cache"] == "off" and off["member_train_loss"] == first["member_train_loss"]


# Trains each configuration named on the command line for one epoch (two members), in that
# order, and prints what XLA's persistent cache did for each: a sweep's worker in miniature.
_WORKER = r"""
import json, sys
from lstmbench.spec import ModelConfig, TaskSpec, TrainSpec, TrialSpec
from lstmbench.trial import run_trial

MODELS = {
    "stateless-B11": ModelConfig(stateful=False, window=3, batch_size=11, units=4),
    "stateful-B2": ModelConfig(stateful=True, timesteps=2, batch_size=2, units=8),
}
if sys.argv[1] == "dummy":  # something else traced first: every later name shifts
    from lstmbench.engines import tensorflow
    tf = tensorflow()
    tf.function(lambda x: tf.while_loop(lambda i: i < 3, lambda i: i + 1, [x]))(tf.constant(0))
    del sys.argv[1]
for name in sys.argv[1:]:
    spec = TrialSpec(model=MODELS[name], task=TaskSpec(n_sequences=40),
                     train=TrainSpec(epochs=1, replicates=2, stop_at_convergence=False), seed=1)
    print(json.dumps([name, run_trial(spec).xla_cache]), flush=True)
"""


def _base_env() -> dict[str, str]:
    """This environment without a cache folder this process may have set."""
    return {k: v for k, v in os.environ.items() if k not in ("TF_XLA_FLAGS", CACHE_ENV)}


def _worker(tmp_path: Path, *names: str, stderr: list[str] | None = None) -> list[list[str]]:
    proc = subprocess.run([sys.executable, "-c", _WORKER, *names], cwd=tmp_path, check=True,
                          capture_output=True, text=True,
                          env={**_base_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")})
    if stderr is not None:
        stderr.append(proc.stderr)
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.mark.slow
def test_programs_built_in_another_order_are_loaded_from_the_cache(tmp_path):
    """The cache key of a program does not depend on what its process traced before
    (``stable_names``): a second worker that builds the same programs in the other order, after
    tracing something else, loads every one of them."""
    first = _worker(tmp_path, "stateless-B11", "stateful-B2")
    assert first == [["stateless-B11", "miss"], ["stateful-B2", "miss"]]
    second = _worker(tmp_path, "dummy", "stateful-B2", "stateless-B11")
    assert second == [["stateful-B2", "hit"], ["stateless-B11", "hit"]]


def test_stable_names_warn_and_step_aside_when_tensorflow_moves_them(monkeypatch):
    from tensorflow.python.ops import control_flow_util_v2

    from lstmbench.engines._xla_cache import stable_names

    monkeypatch.delattr(control_flow_util_v2, "unique_grad_fn_name")
    with pytest.warns(RuntimeWarning, match="function names moved"), stable_names("k"):
        pass


@pytest.mark.slow
def test_two_workers_needing_one_program_compile_it_once(tmp_path):
    """Started together, two workers want the same program: one compiles it under the program's
    lock while the other waits, then loads the whole entry (never a half-written one)."""
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, "stateful-B2"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**_base_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")})
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    assert sorted(json.loads(out)[1] for out, _ in outs) == ["hit", "miss"]
    assert not any("Error parsing" in err for _, err in outs)


@pytest.mark.slow
def test_an_entry_cut_short_is_dropped_and_the_program_compiled_again(tmp_path):
    """A worker killed while writing an entry leaves it cut short; TensorFlow would fail every
    later load of that program. The next worker drops it and compiles the program again."""
    from lstmbench.engines._xla_cache import _whole_entry

    assert _worker(tmp_path, "stateless-B11") == [["stateless-B11", "miss"]]
    entries = sorted((tmp_path / "cache" / "lstmbench" / "xla").glob("*.pb"))
    assert entries and all(_whole_entry(e) for e in entries)
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:1000])
        assert not _whole_entry(entry)
    # cut short a moment ago (it might still be being written): TensorFlow fails on it, the
    # entry is dropped and the program compiled again
    assert _worker(tmp_path, "stateless-B11") == [["stateless-B11", "miss"]]
    entries = sorted((tmp_path / "cache" / "lstmbench" / "xla").glob("*.pb"))
    assert entries and all(_whole_entry(e) for e in entries)
    # cut short and left alone for a minute: dropped before TensorFlow reads it, nothing printed
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:1000])
        os.utime(entry, (time.time() - 60, time.time() - 60))
    err: list[str] = []
    assert _worker(tmp_path, "stateless-B11", stderr=err) == [["stateless-B11", "miss"]]
    assert "Error parsing" not in err[0] and "Read less bytes" not in err[0], err[0]
