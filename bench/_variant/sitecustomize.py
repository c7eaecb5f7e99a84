"""Loaded first by every Python process of a sweep that ``bench/sweep.py --variants`` runs (this
folder goes first on PYTHONPATH; spawned workers inherit it): switches lstmbench to the simpler
alternative named by ``$LSTMBENCH_BENCH_VARIANT``, so that the bench measures what the
simplification would cost. Nothing here is used outside that bench.

- ``public-writes``: a trial's user attributes and intermediate values written with Optuna's
  public ``Trial.set_user_attr`` and ``Trial.report``, a commit each, instead of one transaction.

(``late-workers``, workers started after the study is set up rather than before, was measured
the same way and cost nothing measurable: the early start is gone, and so is that variant;
bench/results/sweep_variants.json keeps the run.)
"""

from __future__ import annotations

import os
import time

VARIANT = os.environ.get("LSTMBENCH_BENCH_VARIANT", "")

if VARIANT == "public-writes":
    from lstmbench.storage._optuna import _writes

    def _flush(self, user_attrs=None):  # type: ignore[no-untyped-def]
        self._write_one_by_one(dict(user_attrs or {}), dict(self._pending))
        self._pending.clear()
        self.flushed_at = time.monotonic()

    _writes.TrialWriter.flush = _flush
elif VARIANT:
    raise SystemExit(f"unknown $LSTMBENCH_BENCH_VARIANT={VARIANT!r}")
