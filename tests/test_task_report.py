"""The report per task: the task or file named, its metric, and windows apart by the lag."""

from __future__ import annotations

import dataclasses

from lstmbench.report import summarize
from lstmbench.report._document import document
from lstmbench.report._task import task_line
from lstmbench.spec import TaskSpec
from test_report import ROWS, SPEC

TWO_SEQUENCE = dataclasses.asdict(TaskSpec(kind="two-sequence", seq_len=4, n_info=2,
                                           n_sequences=20))


def rows_of(task: str, lag: int) -> list[dict]:
    return [{**r, "task": task, "lag": lag, "metric": "final"} for r in ROWS]


def test_the_summary_names_the_task_and_its_metric_and_the_verdict_its_lag():
    s = summarize(rows_of("two-sequence", 3), study="t", spec={**SPEC, "task": TWO_SEQUENCE})
    assert s.task == ("Task: two-sequence (20 sequences of 4 steps). Score: final: one "
                      "prediction per validation sequence, after its last step, right when its "
                      "most probable class is the target; its lag is 3 steps.")
    assert "first bit" not in s.verdict
    assert ("None of the 4 stateless seeds with a window shorter than the task's lag converged: "
            "such a window misses steps the target depends on") in s.verdict
    assert "With a window that covers the lag, 1 of 2 stateless seeds converged." in s.verdict
    table = next(b for b in document(s) if getattr(b, "columns", ())[-1:] == ("covers the lag",))
    assert [(row[0], row[-1]) for row in table.rows] == [("1", "no"), ("2", "no"), ("4", "yes")]
    assert "first bit" not in table.note


def test_first_bit_studies_keep_their_words():
    s = summarize(ROWS, study="t", spec=SPEC)  # rows stored before tasks: no task, no lag
    assert "only the window that starts at step 0 sees the first bit" in s.verdict
    assert s.task == ""


def test_a_file_is_named_with_its_hash_and_a_regression_with_its_tolerance():
    task = dataclasses.asdict(TaskSpec(kind="npz", path="/data/series.npz", sha256="ab" * 32,
                                       n_sequences=500, seq_len=60, n_features=8, lag=12))
    assert task_line({"task": task}) == (
        "Task: the file series.npz (sha256 abababababab, 500 sequences of 60 steps, 8 features). "
        "Score: final: one prediction per validation sequence, after its last step, right when "
        "|error| < 0.04; its lag is 12 steps.")
    adding = dataclasses.asdict(TaskSpec(kind="adding", metric="per-sample", tolerance=0.1))
    assert task_line({"task": adding}).endswith(
        "Score: per-sample: every window (stateless) and every chunk (stateful) of a validation "
        "sequence scored, right when |error| < 0.1; its lag is 20 steps.")
