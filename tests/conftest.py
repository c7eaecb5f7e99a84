"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile

import pytest

# Storages: every storage test runs on SQLite and on a throwaway PostgreSQL server.
from _storages import postgres_server, postgres_url, storage_url  # noqa: F401
from _sweeps import write_spec

# Ctrl-C as a terminal sends it, for the sweeps the tests start and interrupt: a suite launched
# in the background by a script inherits SIGINT ignored, and Python keeps it so (a sweep would
# never see the tests' SIGINT). A handler of our own is reset to the default in every child.
signal.signal(signal.SIGINT, signal.default_int_handler)

# XLA's persistent cache: one folder for the session (every process it starts shares it), not the
# user's. Set before anything imports TensorFlow, which reads it once.
_XLA_CACHE = None if "LSTMBENCH_XLA_CACHE" in os.environ else tempfile.mkdtemp(prefix="lstmbench-test-xla-")
if _XLA_CACHE:
    os.environ["LSTMBENCH_XLA_CACHE"] = _XLA_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    if _XLA_CACHE:
        shutil.rmtree(_XLA_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def report_study(tmp_path_factory):
    """Return (storage URL, study name, folder) of a 6-trial sweep of the TINY study in SQLite,
    shared by the report and dashboard tests."""
    from lstmbench.study import run_sweep

    folder = tmp_path_factory.mktemp("report-study")
    spec = write_spec(folder)
    url = f"sqlite:///{folder / 'tiny.db'}"
    outcome = run_sweep(trials=6, spec=str(spec), storage=url, jobs=1, quiet=True)
    assert outcome.complete == 6, outcome
    return url, "tiny", folder
