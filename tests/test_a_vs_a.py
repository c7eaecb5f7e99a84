"""A vs A: one configuration as two identical arms; the report must not invent a difference,
and the same machinery must find one where there is one (else the first check says nothing)."""

from __future__ import annotations

import pytest
import tomllib

from lstmbench.report import load_summary
from lstmbench.spec import find_spec
from lstmbench.storage import find_studies
from lstmbench.study import run_sweep

# Six trials per arm: the exact test's smallest p is then 2 / C(12, 6) = 0.002, well below 0.05.
# Four per arm is the least that can reach 0.05 at all (2 / C(8, 4) = 0.029); three cannot (0.1).
SIX = "seeds = [{}]"


def tiny(text: str) -> str:
    """The shipped a-vs-a study on the tests' tiny task: 4 seeds per trial, 6 trials per arm."""
    text = (text.replace("epochs = 30", "epochs = 6").replace("replicates = 8", "replicates = 4")
            .replace("timesteps = 5", "timesteps = 2").replace("batch_size = 30", "batch_size = 5")
            .replace("seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]", SIX.format("0, 1, 2, 3, 4, 5"))
            .replace("seeds = [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]",
                     SIX.format("100, 101, 102, 103, 104, 105")))
    text = text.replace("[train]", "[task]\nn_sequences = 24\nseq_len = 4\n\n[train]", 1)
    spec = tomllib.loads(text)
    assert spec["train"]["replicates"] == 4 and len(spec["variants"][1]["seeds"]) == 6  # edits took
    return text


def sweep(folder, text: str, name: str):
    spec = folder / f"{name}.toml"
    spec.write_text(text)
    url = f"sqlite:///{folder / 'a.db'}"
    outcome = run_sweep(spec=str(spec), trials=None, storage=url, jobs=1, quiet=True)
    assert outcome.complete == 12
    rdb, _ = find_studies(url, name)
    return load_summary(rdb, name, storage=url, with_importances=False)


def test_two_identical_arms_show_no_significant_difference(tmp_path):
    summary, study = sweep(tmp_path, tiny(find_spec("a-vs-a").read_text()), "a-vs-a")
    a, b = summary.arms
    assert (a.arm, b.arm) == ("A", "B") and a.complete == b.complete == 6
    assert a.members == b.members == 24
    # One configuration, but other seeds in each arm (identical runs would make the test empty).
    assert {c.config for c in summary.configurations} == {"stateful T=2 B=5 U=4 L=4"}
    seeds = {arm: {s for t in study.trials if t.user_attrs["arm"] == arm
                   for s in t.user_attrs["member_seeds"]} for arm in ("A", "B")}
    assert len(seeds["A"]) == len(seeds["B"]) == 24 and not seeds["A"] & seeds["B"]
    shares = {arm: sorted(t.user_attrs["converged_share"] for t in study.trials
                          if t.user_attrs["arm"] == arm) for arm in ("A", "B")}
    assert shares["A"] != shares["B"] and 0 < a.converged < a.members  # a coin worth measuring
    # The primary test: deterministic for these seeds (convergence does not depend on timing).
    # The two timing tests are not asserted: their p-values move with the machine's load.
    primary = summary.tests[0]
    assert primary.measure == "converged share per configuration" and primary.n_a == 6
    assert primary.min_attainable_p == pytest.approx(2 / 924)
    assert primary.p_adjusted >= 0.05, summary.tests
    assert "In short: these trials do not separate the arms on convergence (" in summary.verdict


def test_the_same_study_with_a_blind_arm_b_finds_the_difference(tmp_path):
    """Arm B made stateless with windows of 1 step (it cannot see the first bit): significant."""
    text = tiny(find_spec("a-vs-a").read_text())
    head, b = text.split('name = "B"')
    b = b.replace("stateful = true", "stateful = false").replace("timesteps = 2", "window = 1")
    summary, _ = sweep(tmp_path, head + 'name = "B"' + b, "a-vs-blind")
    a, b = summary.arms
    assert b.converged == 0 and a.converged > 0
    assert summary.tests[0].p_adjusted < 0.05, summary.tests
    # The interval of the difference still reaches below 0: six blind configurations of B that
    # never converged cannot rule out a corner of B's space they all missed (the test asks
    # another question: whether the two arms' configurations come from one distribution).
    assert summary.difference.value > 0 and summary.arms[1].converged_share.high > 0.4
    assert "In short: over this study's space the A arm converges more reliably." in summary.verdict
