"""The seed-notebook section of the report, from hand-built rows: exact numbers and text."""

from __future__ import annotations

from lstmbench.report._variants import NOTES, variant_tables

SPEC = {"variants": [
    {"name": "writing-1", "form": "as-written"},
    {"name": "writing-1", "form": "canonical"},
    {"name": "writing-2", "form": "after-reshape"},
]}


def row(variant, state="COMPLETE", converged=False, epoch=None, best=0.5, ceiling=1.0, ms=10.0,
        config="stateful T=1 B=1 U=8"):
    return {"param_variant": variant, "state": state, "converged": converged,
            "convergence_epoch": epoch, "best_val_accuracy": best, "ceiling": ceiling,
            "epoch_ms": ms, "config": config}


def test_one_row_per_variant_and_form_with_seeds_and_medians():
    rows = [
        row("writing-1:as-written", converged=True, epoch=1, best=1.0, ms=4000.0),
        row("writing-1:as-written", converged=True, epoch=3, best=1.0, ms=5000.0),
        row("writing-1", converged=True, epoch=2, best=1.0, ms=10.0),
        row("writing-1", best=0.9, ms=12.0),
        row("writing-2:after-reshape", state="FAIL"),
    ]
    table, why = variant_tables(rows, SPEC)
    assert table.rows == (
        ("writing-1:as-written", "stateful T=1 B=1 U=8", "2/2", "2", "1.000", "1.000", "4500"),
        ("writing-1", "stateful T=1 B=1 U=8", "1/2", "2", "1.000", "1.000", "11"),
        ("writing-2:after-reshape", "could not run", "0/0 (1 failed)", "—", "—", "—", "—"),
    )
    assert [r[0] for r in why.rows] == ["writing-1", "writing-2"]
    assert why.rows[1][2] == NOTES["writing-2"]["why"]


def test_a_search_study_has_no_variant_section():
    assert variant_tables([row("x")], {"space": {}}) == []
