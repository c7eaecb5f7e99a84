"""XLA's persistent compilation cache: where it lives, how it is turned off, and that a second
process loads what the first compiled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lstmbench.engines._tf import CACHE_ENV, xla_cache_dir


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
    # Without the flag this process may have set (importing TensorFlow sets it).
    base = {k: v for k, v in os.environ.items() if k not in ("TF_XLA_FLAGS", CACHE_ENV)}
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, check=True,
                          env={**base, **env})
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
