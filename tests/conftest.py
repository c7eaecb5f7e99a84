"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

# Storages: every storage test runs on SQLite and on a throwaway PostgreSQL server.
from _storages import postgres_server, postgres_url, storage_url  # noqa: F401

# A tiny lstmbench study made by the harness itself, shared by the report and dashboard tests.
REPORT_SPEC = """\
description = "tiny study for the report tests"
[task]
n_sequences = 24
seq_len = 4
[train]
epochs = 3
xla = "off"
[space]
timesteps = [2, 4]
stateful_batch_size = [5]
stateless_batch_size = [10]
units = [4]
[sampler]
name = "random"
"""


@pytest.fixture(scope="session")
def report_study(tmp_path_factory):
    """Return (storage URL, study name, folder) of a 6-trial sweep of REPORT_SPEC in SQLite."""
    from lstmbench.study import run_sweep

    folder = tmp_path_factory.mktemp("report-study")
    spec = folder / "tiny.toml"
    spec.write_text(REPORT_SPEC)
    url = f"sqlite:///{folder / 'tiny.db'}"
    outcome = run_sweep(trials=6, spec=str(spec), storage=url, jobs=1, quiet=True)
    assert outcome.complete == 6, outcome
    return url, "tiny", folder
