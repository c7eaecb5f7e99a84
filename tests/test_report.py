"""``lstmbench report``: the summary's numbers, the exact rendered text, the files, the errors."""
# ruff: noqa: E501  (the expected renderings below are long lines of Markdown and terminal text)

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
import shutil
import subprocess
import sys

import optuna
import pytest
from rich.console import Console

from _browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium
from lstmbench.cli import main
from lstmbench.report import (
    Importances,
    load_summary,
    render_html,
    render_markdown,
    render_rich,
    run_report,
    summarize,
)
from lstmbench.report._stats import wilson_cc
from lstmbench.storage import find_studies

# -- a summary from hand-built rows: every number, and the exact text ---------------------------

def row(number, arm, *, state="COMPLETE", converged=False, epoch=None, value=None, best=0.5,
        window=None, timesteps=None, batch=5, epoch_ms=10.0, wall=None, ceiling=None, curve=(),
        members=None, blind=True, confirms=None):
    """A trial row as ``trial_rows`` gives it; ``members``: each seed's epoch (None: failed),
    default one seed that converged at ``epoch`` if ``converged``."""
    config = (f"stateful T={timesteps} B={batch} U=4" if arm == "stateful"
              else f"stateless W={window} B={batch} U=4")
    epochs = list(members) if members is not None else [epoch if converged else None]
    K = len(epochs)
    train_ms = [epoch_ms] * (len(curve) or 1)
    seconds = [None if e is None else e * epoch_ms / 1e3 / K for e in epochs]
    done = [s for s in seconds if s is not None]
    budget = sum(train_ms) / 1e3 / K
    tts = (sum(s if s is not None else budget for s in seconds) / K) / (len(done) / K) if done else None
    return {
        "number": number, "state": state, "value": value, "arm": arm, "config": config,
        "converged": bool(done) if state == "COMPLETE" else None, "convergence_epoch": epoch,
        "best_val_accuracy": best, "ceiling": ceiling, "epoch_ms": epoch_ms,
        "time_to_converge_s": wall, "window": window, "timesteps": timesteps,
        "batch_size": batch, "seq_len": 4, "val_accuracy": list(curve), "train_ms": train_ms,
        "replicates": K, "converged_share": len(done) / K, "member_epochs": epochs,
        "member_train_s": seconds, "time_to_solution_s": tts, "chosen_blind": blind,
        "confirmation": confirms is not None or None, "confirms": confirms,
        "engine": "compiled", "jit": True,
        "versions": {"lstmbench": "0.1.0", "python": "3.11.7", "tensorflow": "2.21.0"},
    }


ROWS = [
    row(0, "stateful", converged=True, epoch=2, value=0.016, best=1.0, timesteps=2, batch=2,
        epoch_ms=8.0, wall=1.5, ceiling=1.0, curve=(0.5, 1.0), members=(2, None)),
    row(1, "stateful", converged=True, epoch=1, value=0.002, best=1.0, timesteps=4, batch=5,
        epoch_ms=4.0, wall=1.2, ceiling=1.0, curve=(1.0,), members=(1, 1)),
    row(2, "stateful", converged=True, epoch=3, value=0.0075, best=1.0, timesteps=4, batch=5,
        epoch_ms=5.0, wall=2.0, ceiling=1.0, curve=(0.5, 0.75, 1.0), members=(3, 3),
        blind=False),  # chosen by TPE after results: in the counts, not in the tests
    row(3, "stateless", best=0.625, window=2, batch=10, epoch_ms=3.0, ceiling=0.625,
        value=40.0, curve=(0.5, 0.625, 0.625), members=(None, None)),
    row(4, "stateless", best=0.583, window=1, batch=10, epoch_ms=2.0, ceiling=0.6,
        value=41.0, curve=(0.5, 0.583, 0.583), members=(None, None)),
    row(5, "stateless", converged=True, epoch=3, value=0.018, best=1.0, window=4, batch=10,
        epoch_ms=6.0, wall=2.5, ceiling=1.0, curve=(0.5, 0.5, 1.0), members=(3, None)),
    row(6, "stateless", state="FAIL", window=3),
    row(7, "stateful", state="PRUNED", timesteps=2),
    # The search's best stateful configuration re-run on 16 fresh seeds: beside trial 1, and in
    # no other number.
    row(8, "stateful", converged=True, epoch=2, value=0.005, best=1.0, timesteps=4, batch=5,
        epoch_ms=32.0, ceiling=1.0, curve=(0.5, 1.0, 1.0), members=(2,) * 15 + (None,),
        blind=False, confirms=1),
]
SPEC = {"description": "hand-built", "train": {"target": 0.99},
        "space": {"arms": ["stateful", "stateless"]}}
IMPORTANCES = (Importances("stateful", 3, (("timesteps", 0.75), ("stateful_batch_size", 0.25))),
               Importances("stateless", 3, note="not enough trials (3 completed; needs 4)"))


@pytest.fixture
def fixed():
    return summarize(ROWS, study="fixed", storage="sqlite:///fixed.db", spec=SPEC,
                     importances=IMPORTANCES, environment=[("python", "3.11.7"), ("cpu", "test")])


def test_summary_numbers_of_hand_built_rows(fixed):
    assert fixed.trials == 9
    assert fixed.states == {"COMPLETE": 7, "PRUNED": 1, "FAIL": 1}
    sf, sl = fixed.arm("stateful"), fixed.arm("stateless")
    assert (sf.complete, sf.members, sf.converged, sf.states) == (3, 6, 5, {"COMPLETE": 3, "PRUNED": 1})
    assert (sl.complete, sl.members, sl.converged, sl.states) == (3, 6, 1, {"COMPLETE": 3, "FAIL": 1})
    # P(converge): the mean share over configurations chosen blind (trial 2 was not), its
    # interval over those configurations (two: 1/2 and 2/2; three: 0/2, 0/2, 1/2).
    assert (sf.converged_share.value, sf.converged_share.n) == (0.75, 2)
    assert sl.converged_share.value == pytest.approx(1 / 6) and sl.converged_share.n == 3
    assert (sf.converged_share.low, sf.converged_share.high) == pytest.approx(wilson_cc(1.5, 2))
    assert (sl.converged_share.low, sl.converged_share.high) == pytest.approx(wilson_cc(0.5, 3))
    d = fixed.difference
    assert d.value == pytest.approx(0.75 - 1 / 6) and d.low < 0 < d.value < d.high <= 1
    assert sf.epochs_to_converge.value == 2 and sf.epochs_to_converge.n == 5  # seeds
    # Time to solution per trial: seconds per seed run (a failed one: its whole run) / converged
    # share; the median over every completed trial, "never" (inf) counted.
    assert sf.time_to_solution_s.value == pytest.approx(0.0075) and sf.time_to_solution_s.n == 3
    assert sl.time_to_solution_s.value == math.inf and (sl.never, sf.never) == (2, 0)
    # Pooled over the blind configurations' seeds: all their training seconds over converged
    # seeds (a seed's share of an epoch is the epoch over K). Stateful: trial 0 has 8 ms to
    # converge and a failed seed's whole 8 ms, trial 1 two seeds of 2 ms: 20 ms for 3 seeds.
    assert sf.pooled_time_to_solution_s.value == pytest.approx((0.008 + 0.008 + 0.002 + 0.002) / 3)
    assert sl.pooled_time_to_solution_s.value == pytest.approx(
        (0.0045 + 0.0045 + 0.003 + 0.003 + 0.009 + 0.009) / 1)
    assert sf.wall_s_to_converge.value == 1.5
    assert sl.epoch_ms.value == 3.0 and sl.epoch_ms.n == 3
    assert sf.best.number == 1 and sl.best.number == 5  # least time to solution
    shares, solution, epoch = fixed.tests
    assert shares.p_value == pytest.approx(0.3) and shares.min_attainable_p == pytest.approx(0.1)
    assert solution.p_value == pytest.approx(0.2)
    assert epoch.p_value is None and "no batch size in both arms" in epoch.effect
    assert [t.p_adjusted for t in fixed.tests] == [0.3, 0.3, None]  # the largest p so far
    assert all("drawn before any result" in t.assumes for t in fixed.tests)
    # Regions: stateless windows that cover the lag (W = L = 4) and those that do not.
    assert [(r.arm, r.covers_lag, r.windows, r.converged_share.n, r.members, r.converged)
            for r in fixed.regions] == [("stateless", False, (1, 2), 2, 4, 0),
                                        ("stateless", True, (4,), 1, 2, 1)]
    assert [(w.window, w.trials, w.members, w.converged, w.best_accuracy, w.ceiling)
            for w in fixed.windows] == [(1, 1, 2, 0, 0.583, 0.6), (2, 1, 2, 0, 0.625, 0.625),
                                        (4, 1, 2, 1, 1.0, 1.0)]
    assert [(c.timesteps, c.batch_size, c.trials, c.members, c.converged, c.median_epoch)
            for c in fixed.stateful_cells] == [(2, 2, 1, 2, 1, 2), (4, 5, 2, 4, 4, 2)]
    assert [(e.arm, e.batch_size, e.trials, e.median_ms) for e in fixed.epoch_times] == [
        ("stateful", 2, 1, 8.0), ("stateful", 5, 2, 4.5), ("stateless", 10, 3, 3.0)]
    configs = [(c.config, c.trials, c.members, c.converged, c.median_epoch, c.min_epoch,
                c.max_epoch) for c in fixed.configurations]
    assert configs == [
        ("stateful T=4 B=5 U=4", 2, 4, 4, 2, 1, 3), ("stateful T=2 B=2 U=4", 1, 2, 1, 2, 2, 2),
        ("stateless W=4 B=10 U=4", 1, 2, 1, 3, 3, 3), ("stateless W=1 B=10 U=4", 1, 2, 0, None,
                                                         None, None),
        ("stateless W=2 B=10 U=4", 1, 2, 0, None, None, None)]
    # Pooled over a configuration's seeds: (2 + 2 + 7.5 + 7.5) ms / 4 seeds, all converged.
    assert fixed.configurations[0].time_to_solution_s == pytest.approx(0.00475)
    # A configuration's trials are its clusters: two trials that agree (every seed converged)
    # count their seeds; one trial counts its seeds.
    assert fixed.configurations[0].share.n == 2
    assert (fixed.configurations[0].share.low, fixed.configurations[1].share.low) == \
        pytest.approx((wilson_cc(4, 4)[0], wilson_cc(1, 2)[0]))
    # The confirmation: its own seeds, beside the trial it confirms.
    (c,) = fixed.confirmations
    assert (c.number, c.confirms, c.members, c.converged) == (8, 1, 16, 15)
    # Each seed's share of an epoch of the 16 (32 ms / 16): 2 epochs for 15, 3 for the failed one.
    assert c.time_to_solution_s == pytest.approx((15 * 0.004 + 0.006) / 15)
    assert (c.search_time_to_solution_s, c.search_members, c.search_converged) == (0.002, 2, 2)
    assert (c.converged_share.low, c.converged_share.high) == pytest.approx(wilson_cc(15, 16))


def test_environment_from_rows_lists_differing_values_and_missing_cpu():
    rows = [row(0, "stateful", timesteps=2), row(1, "stateful", timesteps=2)]
    rows[1]["versions"] = {**rows[1]["versions"], "tensorflow": "2.20.0"}
    env = dict(summarize(rows, study="x").environment)
    assert env["python"] == "3.11.7"
    assert env["tensorflow"] == "2.21.0 (1 trials), 2.20.0 (1 trials)"
    assert env["cpu"] == "not recorded by the trials"
    assert env["engine"] == "compiled (XLA on)"


def test_summary_of_one_arm_or_nothing_says_so():
    assert summarize([], study="x").verdict == "No completed trials yet: nothing to conclude."
    one = summarize([row(0, "stateful", converged=True, epoch=1, value=0.01, timesteps=2)],
                    study="x", spec=SPEC)
    assert one.verdict == ("Only the stateful arm has completed trials (1 of 1 seeds converged): no "
                           "comparison yet.")
    assert one.arm("stateless").complete == 0 and one.arm("stateless").converged_share.value is None


MARKDOWN = """\
# lstmbench report: fixed

hand-built. Storage sqlite:///fixed.db: 9 trials: 7 complete, 1 pruned, 1 failed (2 not completed, left out of every number below). Converged means validation accuracy ≥ 0.99.

## Verdict

Over this study's space, a stateful configuration drawn at random and trained from a random seed converges with an estimated probability of 75 % (95 % CI 9–100 %, 2 configurations), a stateless one with 17 % (95 % CI 0–79 %, 3 configurations); each n counts configurations drawn before any result was seen. The difference is an estimated 58 points (95 % CI −32 to 88). Too few blind configurations to tell (the smallest p this design can reach is 0.1; exact rank test over those configurations, p = 0.3). Over every trial of the search, 5 of 6 stateful seeds and 1 of 6 stateless seeds converged. None of the 4 stateless seeds with a window shorter than the sequence converged: only the window that starts at step 0 sees the first bit, so their accuracy is capped by the analytic ceiling. With the window as long as the sequence, 1 of 2 stateless seeds converged. Stateless P(converge) by region, estimated over its blind configurations: 0 % (95 % CI 0–80 %, 2 configurations) where the window is shorter than the task's lag and 50 % (95 % CI 0–100 %, 1 configuration) where the window covers the task's lag. Time to solution (training time to one converged model, failed seeds restarted), pooled over the seeds of the blind configurations: 6.67 ms (stateful, 95 % CI unbounded) and 33 ms (stateless, 95 % CI unbounded). Median per trial: 7.5 ms (stateful; never in 0 of 3 trials) and never (stateless; never in 2 of 3 trials). A stateful epoch took a median 5 ms, a stateless one 3 ms, each over its own menu of batch sizes. Fastest to a solution in the search: stateful T=4 B=5 U=4 (trial 1, 2 of 2 seeds converged, epoch 1, 2 ms of training per converged model); confirmed on 16 fresh seeds (trial 8): 4.4 ms, 15 of 16 seeds converged. In short: too few blind configurations to tell the arms apart on convergence.

## Arms

|   | stateful | stateless |
|---|--:|--:|
| completed trials | 3 (+ 1 pruned) | 3 (+ 1 failed) |
| seeds converged | 5/6 | 1/6 |
| P(converge) | 75 % [9–100 %], n=2 | 17 % [0–79 %], n=3 |
| epochs to converge | 2, n=5 | 3, n=1 |
| time to solution, pooled | 6.67 ms [0–∞], n=2 | 33 ms [0–∞], n=3 |
| time to solution, median | 7.5 ms (0/3 never) | never (2/3 never) |
| time to converge + compile | 1.5 s, n=3 | 2.5 s, n=1 |
| epoch time | 5 ms, n=3 | 3 ms, n=3 |
| best trial | #1 stateful T=4 B=5 U=4: 2/2 seeds, epoch 1, 2 ms | #5 stateless W=4 B=10 U=4: 1/2 seeds, epoch 3, 18 ms |

<sub>Estimates over this study's space with 95 % CIs. P(converge): the chance that a configuration drawn at random from the arm, trained from a random seed, converges: the mean share of converged seeds over the configurations drawn before any result was seen (n); the interval counts configurations, not seeds (continuity-corrected Wilson on the effective number of configurations). Difference in P(converge), stateful minus stateless: 58 points [−32 to 88] (Newcombe's interval from the two). Time to solution: expected training time to one converged model, failed seeds restarted; pooled: all training seconds of the blind configurations' seeds over their converged seeds (the wider of Fieller's interval and a studentized bootstrap over configurations; ∞: cannot be told from never); median: per completed trial, never where no seed converged. Medians [order-statistic interval, from 6 values]: epochs over converged seeds, time to converge over trials where a seed converged, epoch time over trials.</sub>

**Stateful vs stateless**

| measure | p | p (in sequence) | n (stateful, stateless) | smallest p | effect |
|---|--:|--:|--:|--:|--:|
| converged share per configuration | p = 0.3 | p = 0.3 | 2, 3 | 0.1 | P(first < second) = 0.08 |
| time to solution per configuration | p = 0.2 | p = 0.3 | 2, 3 | 0.1 | P(first < second) = 1.00 |
| epoch time per configuration | — | — | 0, 0 | — | no batch size in both arms' configurations: not compared |

<sub>Two-sided tests (exact rank test: a permutation test of ranks, exact and conditional on ties). Each assumes that each configuration drawn before any result was seen is one independent draw of its arm, and its value is that of its trial (the share of its seeds that converged, its time to solution, its epoch time); adaptively chosen configurations are left out. p (in sequence): the tests are read in this order, each at 0.05 only where every earlier one is below it (the largest p so far); the verdict reads the first, converged share per configuration. Smallest p: the least p these numbers of configurations can give.</sub>

## P(converge) by region

| arm | window | seeds converged | P(converge) [95 % CI] |
|---|---|--:|--:|
| stateless | shorter than the lag (W 1–2) | 0/4 | 0 % [0–80 %], n=2 |
| stateless | covers the lag (W 4) | 1/2 | 50 % [0–100 %], n=1 |

<sub>Over the configurations drawn before any result was seen, as the arms' P(converge). The lag: the steps before a sequence's end its target depends on (the first bit: the whole sequence), so only a window that covers it shows every window the target.</sub>

## Confirmation on fresh seeds

| arm | configuration | search: time to solution | confirmed on fresh seeds |
|---|---|--:|--:|
| stateful | T=4 B=5 U=4 | #1: 2 ms, 2/2 seeds | #8: 4.4 ms, 15/16 = 94 % [68–100 %] |

<sub>The search's best configuration of each arm re-run as its own trial on seeds it had not used; left out of every other number. The search's value is the least of many noisy ones, so it tends to be optimistic; quote the confirmed one.</sub>

## Configurations

| arm | configuration | trials | seeds converged [95 % CI] | epoch: median (range) | time to solution |
|---|---|--:|--:|--:|--:|
| stateful | T=4 B=5 U=4 | 2 | 4/4 = 100 % [40–100 %] | 2 (1–3) | 4.75 ms |
| stateful | T=2 B=2 U=4 | 1 | 1/2 = 50 % [3–97 %] | 2 | 16 ms |
| stateless | W=4 B=10 U=4 | 1 | 1/2 = 50 % [3–97 %] | 3 | 18 ms |
| stateless | W=1 B=10 U=4 | 1 | 0/2 = 0 % [0–80 %] | — | — |
| stateless | W=2 B=10 U=4 | 1 | 0/2 = 0 % [0–80 %] | — | — |

<sub>Every seed of a configuration over its trials. A trial's seeds share one data set, so the interval counts trials where they differ (continuity-corrected Wilson on the effective number of trials); with one trial, or where every trial agrees, it counts seeds.</sub>

## Stateless: best accuracy by window

| window | trials | seeds converged | best accuracy | ceiling |
|---|--:|--:|--:|--:|
| 1 | 1 | 0/2 | 0.583 | 0.600 |
| 2 | 1 | 0/2 | 0.625 | 0.625 |
| 4 | 1 | 1/2 | 1.000 | 1.000 |

<sub>Ceiling: the best validation accuracy any stateless model can reach with that window (only the window at step 0 sees the first bit).</sub>

![Stateless: best validation accuracy by window length, and the analytic ceiling](plots/window_accuracy.png)

## Stateful: convergence by timesteps and batch size

| timesteps | batch size | trials | seeds converged | median epoch |
|---|--:|--:|--:|--:|
| 2 | 2 | 1 | 1/2 | 2 |
| 4 | 5 | 2 | 4/4 | 2 |

## Epoch time by batch size

| arm | batch size | trials | median epoch time | range |
|---|--:|--:|--:|--:|
| stateful | 2 | 1 | 8 ms | 8 ms |
| stateful | 5 | 2 | 4.5 ms | 4–5 ms |
| stateless | 10 | 3 | 3 ms | 2–6 ms |

<sub>Batch size: sequences side by side (stateful), windows per update (stateless).</sub>

## Learning curves of the best trials

| epoch | stateful #1 | stateless #5 |
|---|--:|--:|
| 1 | 1.000 | 0.500 |
| 2 |   | 0.500 |
| 3 |   | 1.000 |

<sub>Validation accuracy after each epoch (#1 stateful T=4 B=5 U=4; #5 stateless W=4 B=10 U=4).</sub>

## Parameter importances

Optuna's fANOVA importances (seeded) for the objective, time to solution: expected training seconds to one converged model, failed seeds restarted (compile excluded); a penalty when no seed converged; each arm on its own trials, because the arms have different parameters.

**stateful (3 completed trials)**

| parameter | importance |
|---|--:|
| timesteps | 0.75 |
| stateful_batch_size | 0.25 |

stateless (3 completed trials): not enough trials (3 completed; needs 4).

## Environment

|   |   |
|---|--:|
| python | 3.11.7 |
| cpu | test |
"""

RICH = """\

lstmbench report: fixed ────────────────────────────────────────────────────────────────────────────
hand-built. Storage sqlite:///fixed.db: 9 trials: 7 complete, 1 pruned, 1 failed (2 not completed,
left out of every number below). Converged means validation accuracy ≥ 0.99.

Verdict ────────────────────────────────────────────────────────────────────────────────────────────
Over this study's space, a stateful configuration drawn at random and trained from a random seed
converges with an estimated probability of 75 % (95 % CI 9–100 %, 2 configurations), a stateless one
with 17 % (95 % CI 0–79 %, 3 configurations); each n counts configurations drawn before any result
was seen. The difference is an estimated 58 points (95 % CI −32 to 88). Too few blind configurations
to tell (the smallest p this design can reach is 0.1; exact rank test over those configurations, p =
0.3). Over every trial of the search, 5 of 6 stateful seeds and 1 of 6 stateless seeds converged.
None of the 4 stateless seeds with a window shorter than the sequence converged: only the window
that starts at step 0 sees the first bit, so their accuracy is capped by the analytic ceiling. With
the window as long as the sequence, 1 of 2 stateless seeds converged. Stateless P(converge) by
region, estimated over its blind configurations: 0 % (95 % CI 0–80 %, 2 configurations) where the
window is shorter than the task's lag and 50 % (95 % CI 0–100 %, 1 configuration) where the window
covers the task's lag. Time to solution (training time to one converged model, failed seeds
restarted), pooled over the seeds of the blind configurations: 6.67 ms (stateful, 95 % CI unbounded)
and 33 ms (stateless, 95 % CI unbounded). Median per trial: 7.5 ms (stateful; never in 0 of 3
trials) and never (stateless; never in 2 of 3 trials). A stateful epoch took a median 5 ms, a
stateless one 3 ms, each over its own menu of batch sizes. Fastest to a solution in the search:
stateful T=4 B=5 U=4 (trial 1, 2 of 2 seeds converged, epoch 1, 2 ms of training per converged
model); confirmed on 16 fresh seeds (trial 8): 4.4 ms, 15 of 16 seeds converged. In short: too few
blind configurations to tell the arms apart on convergence.

Arms ───────────────────────────────────────────────────────────────────────────────────────────────
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃                            ┃                         stateful ┃                        stateless ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ completed trials           │                   3 (+ 1 pruned) │                   3 (+ 1 failed) │
│ seeds converged            │                              5/6 │                              1/6 │
│ P(converge)                │              75 % [9–100 %], n=2 │               17 % [0–79 %], n=3 │
│ epochs to converge         │                           2, n=5 │                           3, n=1 │
│ time to solution, pooled   │               6.67 ms [0–∞], n=2 │                 33 ms [0–∞], n=3 │
│ time to solution, median   │               7.5 ms (0/3 never) │                never (2/3 never) │
│ time to converge + compile │                       1.5 s, n=3 │                       2.5 s, n=1 │
│ epoch time                 │                        5 ms, n=3 │                        3 ms, n=3 │
│ best trial                 │     #1 stateful T=4 B=5 U=4: 2/2 │   #5 stateless W=4 B=10 U=4: 1/2 │
│                            │             seeds, epoch 1, 2 ms │            seeds, epoch 3, 18 ms │
└────────────────────────────┴──────────────────────────────────┴──────────────────────────────────┘
Estimates over this study's space with 95 % CIs. P(converge): the chance that a configuration drawn
at random from the arm, trained from a random seed, converges: the mean share of converged seeds
over the configurations drawn before any result was seen (n); the interval counts configurations,
not seeds (continuity-corrected Wilson on the effective number of configurations). Difference in
P(converge), stateful minus stateless: 58 points [−32 to 88] (Newcombe's interval from the two).
Time to solution: expected training time to one converged model, failed seeds restarted; pooled: all
training seconds of the blind configurations' seeds over their converged seeds (the wider of
Fieller's interval and a studentized bootstrap over configurations; ∞: cannot be told from never);
median: per completed trial, never where no seed converged. Medians [order-statistic interval, from
6 values]: epochs over converged seeds, time to converge over trials where a seed converged, epoch
time over trials.
Stateful vs stateless
┏━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┓
┃                  ┃         ┃                 ┃      n (stateful, ┃            ┃                  ┃
┃ measure          ┃       p ┃ p (in sequence) ┃        stateless) ┃ smallest p ┃           effect ┃
┡━━━━━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━┩
│ converged share  │ p = 0.3 │         p = 0.3 │              2, 3 │        0.1 │        P(first < │
│ per              │         │                 │                   │            │   second) = 0.08 │
│ configuration    │         │                 │                   │            │                  │
│ time to solution │ p = 0.2 │         p = 0.3 │              2, 3 │        0.1 │        P(first < │
│ per              │         │                 │                   │            │   second) = 1.00 │
│ configuration    │         │                 │                   │            │                  │
│ epoch time per   │       — │               — │              0, 0 │          — │ no batch size in │
│ configuration    │         │                 │                   │            │       both arms' │
│                  │         │                 │                   │            │  configurations: │
│                  │         │                 │                   │            │     not compared │
└──────────────────┴─────────┴─────────────────┴───────────────────┴────────────┴──────────────────┘
Two-sided tests (exact rank test: a permutation test of ranks, exact and conditional on ties). Each
assumes that each configuration drawn before any result was seen is one independent draw of its arm,
and its value is that of its trial (the share of its seeds that converged, its time to solution, its
epoch time); adaptively chosen configurations are left out. p (in sequence): the tests are read in
this order, each at 0.05 only where every earlier one is below it (the largest p so far); the
verdict reads the first, converged share per configuration. Smallest p: the least p these numbers of
configurations can give.

P(converge) by region ──────────────────────────────────────────────────────────────────────────────
┏━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┓
┃ arm       ┃ window                       ┃ seeds converged ┃ P(converge) [95 % CI] ┃
┡━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━┩
│ stateless │ shorter than the lag (W 1–2) │             0/4 │     0 % [0–80 %], n=2 │
│ stateless │ covers the lag (W 4)         │             1/2 │   50 % [0–100 %], n=1 │
└───────────┴──────────────────────────────┴─────────────────┴───────────────────────┘
Over the configurations drawn before any result was seen, as the arms' P(converge).
The lag: the steps before a sequence's end its target depends on (the first bit: the
whole sequence), so only a window that covers it shows every window the target.

Confirmation on fresh seeds ────────────────────────────────────────────────────────────────────────
┏━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃ arm      ┃ configuration ┃ search: time to solution ┃            confirmed on fresh seeds ┃
┡━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│ stateful │ T=4 B=5 U=4   │      #1: 2 ms, 2/2 seeds │ #8: 4.4 ms, 15/16 = 94 % [68–100 %] │
└──────────┴───────────────┴──────────────────────────┴─────────────────────────────────────┘
The search's best configuration of each arm re-run as its own trial on seeds it had not used;
left out of every other number. The search's value is the least of many noisy ones, so it
tends to be optimistic; quote the confirmed one.

Configurations ─────────────────────────────────────────────────────────────────────────────────────
┏━━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━┓
┃           ┃               ┃        ┃ seeds converged [95 ┃      epoch: median ┃                  ┃
┃ arm       ┃ configuration ┃ trials ┃               % CI] ┃            (range) ┃ time to solution ┃
┡━━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━┩
│ stateful  │ T=4 B=5 U=4   │      2 │ 4/4 = 100 % [40–100 │            2 (1–3) │          4.75 ms │
│           │               │        │                  %] │                    │                  │
│ stateful  │ T=2 B=2 U=4   │      1 │ 1/2 = 50 % [3–97 %] │                  2 │            16 ms │
│ stateless │ W=4 B=10 U=4  │      1 │ 1/2 = 50 % [3–97 %] │                  3 │            18 ms │
│ stateless │ W=1 B=10 U=4  │      1 │  0/2 = 0 % [0–80 %] │                  — │                — │
│ stateless │ W=2 B=10 U=4  │      1 │  0/2 = 0 % [0–80 %] │                  — │                — │
└───────────┴───────────────┴────────┴─────────────────────┴────────────────────┴──────────────────┘
Every seed of a configuration over its trials. A trial's seeds share one data set, so the interval
counts trials where they differ (continuity-corrected Wilson on the effective number of trials);
with one trial, or where every trial agrees, it counts seeds.

Stateless: best accuracy by window ─────────────────────────────────────────────────────────────────
┏━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━┓
┃ window ┃ trials ┃ seeds converged ┃ best accuracy ┃ ceiling ┃
┡━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━┩
│ 1      │      1 │             0/2 │         0.583 │   0.600 │
│ 2      │      1 │             0/2 │         0.625 │   0.625 │
│ 4      │      1 │             1/2 │         1.000 │   1.000 │
└────────┴────────┴─────────────────┴───────────────┴─────────┘
Ceiling: the best validation accuracy any stateless model can
reach with that window (only the window at step 0 sees the
first bit).

Stateful: convergence by timesteps and batch size ──────────────────────────────────────────────────
┏━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┓
┃ timesteps ┃ batch size ┃ trials ┃ seeds converged ┃ median epoch ┃
┡━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━┩
│ 2         │          2 │      1 │             1/2 │            2 │
│ 4         │          5 │      2 │             4/4 │            2 │
└───────────┴────────────┴────────┴─────────────────┴──────────────┘

Epoch time by batch size ───────────────────────────────────────────────────────────────────────────
┏━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━┓
┃ arm       ┃ batch size ┃ trials ┃ median epoch time ┃  range ┃
┡━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━┩
│ stateful  │          2 │      1 │              8 ms │   8 ms │
│ stateful  │          5 │      2 │            4.5 ms │ 4–5 ms │
│ stateless │         10 │      3 │              3 ms │ 2–6 ms │
└───────────┴────────────┴────────┴───────────────────┴────────┘
Batch size: sequences side by side (stateful), windows per
update (stateless).

Learning curves of the best trials ─────────────────────────────────────────────────────────────────
┏━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┓
┃ epoch ┃ stateful #1 ┃ stateless #5 ┃
┡━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━┩
│ 1     │       1.000 │        0.500 │
│ 2     │             │        0.500 │
│ 3     │             │        1.000 │
└───────┴─────────────┴──────────────┘
Validation accuracy after each epoch
(#1 stateful T=4 B=5 U=4; #5 stateless
W=4 B=10 U=4).

Parameter importances ──────────────────────────────────────────────────────────────────────────────
Optuna's fANOVA importances (seeded) for the objective, time to solution: expected training seconds
to one converged model, failed seeds restarted (compile excluded); a penalty when no seed converged;
each arm on its own trials, because the arms have different parameters.
stateful (3 completed trials)
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┓
┃ parameter           ┃ importance ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━┩
│ timesteps           │       0.75 │
│ stateful_batch_size │       0.25 │
└─────────────────────┴────────────┘
stateless (3 completed trials): not enough trials (3 completed; needs 4).

Environment ────────────────────────────────────────────────────────────────────────────────────────
┌────────┬────────┐
│ python │ 3.11.7 │
│ cpu    │   test │
└────────┴────────┘
"""


def test_markdown_of_hand_built_summary_is_exact(fixed):
    assert render_markdown(fixed, plots={"window_accuracy"}) == MARKDOWN


def test_terminal_text_of_hand_built_summary_is_exact(fixed):
    console = Console(width=100, record=True, color_system=None, file=io.StringIO())
    render_rich(fixed, console)
    assert "\n".join(line.rstrip() for line in console.export_text().splitlines()) + "\n" == RICH


HTML_BODY = """\
<body>
<h1>lstmbench report: x&lt;y</h1>
<p>hand-built. Storage ?: 1 trials: 1 complete. Converged means validation accuracy ≥ 0.99.</p>
<h2>Verdict</h2>
<p>Only the stateful arm has completed trials (1 of 1 seeds converged): no comparison yet.</p>
<h2>Arms</h2>
<table>
<tr><th class="l"></th><th>stateful</th><th>stateless</th></tr>
<tr><td class="l">completed trials</td><td>1</td><td>0</td></tr>
<tr><td class="l">seeds converged</td><td>1/1</td><td>—</td></tr>
<tr><td class="l">P(converge)</td><td>100 % [5–100 %], n=1</td><td>—</td></tr>
<tr><td class="l">epochs to converge</td><td>1, n=1</td><td>—</td></tr>
<tr><td class="l">time to solution, pooled</td><td>10 ms, n=1</td><td>—</td></tr>
<tr><td class="l">time to solution, median</td><td>10 ms (0/1 never)</td><td>—</td></tr>
<tr><td class="l">time to converge + compile</td><td>—</td><td>—</td></tr>
<tr><td class="l">epoch time</td><td>10 ms, n=1</td><td>—</td></tr>
<tr><td class="l">best trial</td><td>#0 stateful T=2 B=5 U=4: 1/1 seeds, epoch 1, 10 ms</td><td>—</td></tr>
</table>
<p class="note">Estimates over this study&#x27;s space with 95 % CIs. P(converge): the chance that a configuration drawn at random from the arm, trained from a random seed, converges: the mean share of converged seeds over the configurations drawn before any result was seen (n); the interval counts configurations, not seeds (continuity-corrected Wilson on the effective number of configurations). Time to solution: expected training time to one converged model, failed seeds restarted; pooled: all training seconds of the blind configurations&#x27; seeds over their converged seeds (the wider of Fieller&#x27;s interval and a studentized bootstrap over configurations; ∞: cannot be told from never); median: per completed trial, never where no seed converged. Medians [order-statistic interval, from 6 values]: epochs over converged seeds, time to converge over trials where a seed converged, epoch time over trials.</p>
<table>
<caption>Stateful vs stateless</caption>
<tr><th class="l">measure</th><th>p</th><th>p (in sequence)</th><th>n (stateful, stateless)</th><th>smallest p</th><th>effect</th></tr>
<tr><td class="l">converged share per configuration</td><td>—</td><td>—</td><td>1, 0</td><td>—</td><td>needs a configuration in each arm</td></tr>
<tr><td class="l">time to solution per configuration</td><td>—</td><td>—</td><td>1, 0</td><td>—</td><td>needs a configuration in each arm</td></tr>
<tr><td class="l">epoch time per configuration</td><td>—</td><td>—</td><td>1, 0</td><td>—</td><td>needs a configuration in each arm</td></tr>
</table>
<p class="note">Two-sided tests (exact rank test: a permutation test of ranks, exact and conditional on ties). Each assumes that each configuration drawn before any result was seen is one independent draw of its arm, and its value is that of its trial (the share of its seeds that converged, its time to solution, its epoch time); adaptively chosen configurations are left out. p (in sequence): the tests are read in this order, each at 0.05 only where every earlier one is below it (the largest p so far); the verdict reads the first, converged share per configuration. Smallest p: the least p these numbers of configurations can give.</p>
<h2>Configurations</h2>
<table>
<tr><th class="l">arm</th><th class="l">configuration</th><th>trials</th><th>seeds converged [95 % CI]</th><th>epoch: median (range)</th><th>time to solution</th></tr>
<tr><td class="l">stateful</td><td class="l">T=2 B=5 U=4</td><td>1</td><td>1/1 = 100 % [5–100 %]</td><td>1</td><td>10 ms</td></tr>
</table>
<p class="note">Every seed of a configuration over its trials. A trial&#x27;s seeds share one data set, so the interval counts trials where they differ (continuity-corrected Wilson on the effective number of trials); with one trial, or where every trial agrees, it counts seeds.</p>
<h2>Stateful: convergence by timesteps and batch size</h2>
<table>
<tr><th class="l">timesteps</th><th>batch size</th><th>trials</th><th>seeds converged</th><th>median epoch</th></tr>
<tr><td class="l">2</td><td>5</td><td>1</td><td>1/1</td><td>1</td></tr>
</table>
<h2>Epoch time by batch size</h2>
<table>
<tr><th class="l">arm</th><th>batch size</th><th>trials</th><th>median epoch time</th><th>range</th></tr>
<tr><td class="l">stateful</td><td>5</td><td>1</td><td>10 ms</td><td>10 ms</td></tr>
</table>
<p class="note">Batch size: sequences side by side (stateful), windows per update (stateless).</p>
<h2>Environment</h2>
<table>
<tr><td class="l">cpu</td><td>test &amp; co</td></tr>
</table>
</body>
</html>
"""


def test_html_of_a_one_trial_summary_is_exact():
    """Every block in order, escaped (``<``, ``&``), with the page head around it."""
    one = summarize([row(0, "stateful", converged=True, epoch=1, value=0.01, timesteps=2)],
                    study="x<y", spec=SPEC, environment=[("cpu", "test & co")])
    html = render_html(one)
    head, body = html.split("<body>\n", 1)
    assert head.startswith("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                           "<title>lstmbench report: x&lt;y</title>\n<style>")
    assert "<body>\n" + body == HTML_BODY


def test_html_of_hand_built_summary_embeds_plots_and_escapes(fixed):
    html = render_html(fixed, plots={"window_accuracy": b"\x89PNG fake"})
    assert html.count("data:image/png;base64,") == 1 and "<table>" in html
    assert "Optuna&#x27;s fANOVA" in html  # text is escaped


# -- the harness's own tiny study ------------------------------------------------------------

def test_summary_of_a_real_study_is_consistent(report_study):
    url, name, _ = report_study
    rdb, names = find_studies(url, None)
    assert names == [name]
    summary, study = load_summary(rdb, name, storage=url)
    assert summary.trials == len(study.trials) == 6 and summary.states == {"COMPLETE": 6}
    assert [a.arm for a in summary.arms] == ["stateful", "stateless"]
    for a in summary.arms:
        assert a.complete == 3 and a.members == 6 and 0 <= a.converged <= a.members  # 2 seeds each
        assert a.epochs_to_converge.n == a.converged  # one epoch per converged seed
        assert a.converged_share.n >= 1  # TPE's random start-up: chosen before any result
        assert a.epoch_ms.n == 3 and a.epoch_ms.value > 0
        assert a.best is not None and len(a.best.val_accuracy) >= 1
    assert sum(w.members for w in summary.windows) == 6
    assert sum(c.members for c in summary.stateful_cells) == 6
    assert sum(c.members for c in summary.configurations) == 12
    for w in summary.windows:
        assert w.best_accuracy <= w.ceiling + 1e-9  # nothing beats the analytic ceiling
    assert [i.note for i in summary.importances] == ["not enough trials (3 completed; needs 4)"] * 2
    assert dict(summary.environment)["engine"] == "compiled (XLA on)"
    assert summary.verdict.startswith("Over this study's space, a stateful configuration drawn at "
                                      "random and trained from a random seed converges with an "
                                      "estimated probability of ")
    assert summary.tests[0].measure == "converged share per configuration"


def test_report_json_is_the_summary(report_study, capsys):
    url, name, _ = report_study
    assert main(["report", "--storage", url, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    summary = load_summary(find_studies(url, None)[0], name, storage=url)[0]
    assert data["api_version"] == 2 and data["study"] == name
    assert data["primary_test"] == "converged share per configuration"
    assert data["p"] == summary.tests[0].p_adjusted
    assert [a["arm"] for a in data["arms"]] == ["stateful", "stateless"]
    assert [a["converged_share"] for a in data["arms"]] == [
        dataclasses.asdict(a.converged_share) for a in summary.arms]
    assert all({"value", "low", "high", "n"} == set(a["converged_share"]) for a in data["arms"])
    assert data["difference"] == dataclasses.asdict(summary.difference)
    assert data["min_attainable_p"] == summary.tests[0].min_attainable_p
    first = data["configurations"][0]
    assert {"arm", "config", "trials", "members", "converged", "share",
            "time_to_solution_s"} <= set(first) and {"value", "low", "high", "n"} <= set(first["share"])
    assert all(t["assumes"] and "p_adjusted" in t for t in data["tests"])
    assert data["verdict"] == summary.verdict


def test_report_writes_markdown_html_csv_and_plots(report_study, tmp_path):
    url, _name, _ = report_study
    out = tmp_path / "out"
    console = Console(width=120, record=True, file=io.StringIO())
    outcome = run_report(storage=url, out=out, console=console)
    assert {p.name for p in outcome.files} >= {"report.md", "report.html", "trials.csv",
                                               "learning_curves.png", "epoch_time.png"}
    text = console.export_text()
    assert "lstmbench report: tiny" in text and "Verdict" in text and "wrote" in text
    md = (out / "report.md").read_text()
    assert md.startswith("# lstmbench report: tiny") and "](plots/learning_curves.png)" in md
    for link in re.findall(r"\]\((plots/[^)]+)\)", md):
        assert (out / link).read_bytes().startswith(b"\x89PNG")

    with (out / "trials.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and {r["state"] for r in rows} == {"COMPLETE"}
    assert {"number", "state", "value", "config", "params_arm", "params_units",
            "params_window", "params_timesteps", "user_attrs_arm", "user_attrs_converged",
            "user_attrs_val_accuracy", "user_attrs_versions"} <= set(rows[0])
    assert all(r["user_attrs_val_accuracy"].startswith("[") for r in rows)  # lists as JSON

    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(list((out / "plots").glob("*.png")))
    # Self-contained: nothing to fetch, no link to anywhere.
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"https?://", html.replace(url, ""))
    assert "@import" not in html and "<script" not in html


def test_report_says_how_many_failed_or_pruned(report_study, tmp_path):
    _url, name, folder = report_study
    shutil.copy(folder / "tiny.db", tmp_path / "copy.db")
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    study = optuna.load_study(study_name=name, storage=copy)
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
                                              user_attrs={"arm": "stateful"}))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED,
                                              user_attrs={"arm": "stateless"}))
    console = Console(width=200, record=True, file=io.StringIO())
    summary = run_report(storage=copy, console=console).summaries[0]
    assert summary.states == {"COMPLETE": 6, "PRUNED": 1, "FAIL": 1}
    assert summary.arm("stateful").states == {"COMPLETE": 3, "FAIL": 1}
    text = console.export_text()
    assert "8 trials: 6 complete, 1 pruned, 1 failed (2 not completed, left out" in text
    assert "3 (+ 1 failed)" in text and "3 (+ 1 pruned)" in text


def test_report_of_300_trials_never_imports_tensorflow(report_study, tmp_path):
    url, name, _ = report_study
    src = optuna.load_study(study_name=name, storage=url)
    big = f"sqlite:///{tmp_path / 'big.db'}"
    study = optuna.create_study(study_name=name, storage=big)
    for key, value in src.user_attrs.items():
        study.set_user_attr(key, value)
    study.add_trials([t for _ in range(50) for t in src.trials])  # 300 trials
    # its speed is measured by bench/report.py, not here
    code = ("import sys; from lstmbench.cli import main; rc = main(sys.argv[1:]); "
            "assert 'tensorflow' not in sys.modules and 'sklearn' not in sys.modules, 'imported'; "
            "sys.exit(rc)")
    res = subprocess.run([sys.executable, "-c", code, "report", "--storage", big],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "300 trials: 300 complete" in res.stdout.replace("\n", " ")


# -- what the user is told when there is nothing to report ---------------------------------------

def test_missing_database_is_refused_and_not_created(tmp_path, capsys):
    db = tmp_path / "none.db"
    assert main(["report", "--storage", f"sqlite:///{db}"]) == 1
    assert "no such database" in capsys.readouterr().err and not db.exists()


def test_empty_storage(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    optuna.storages.RDBStorage(url)  # the tables, no study
    assert main(["report", "--storage", url]) == 1
    assert "holds no studies yet: run `lstmbench sweep` first" in capsys.readouterr().err


def test_storage_without_lstmbench_studies(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'foreign.db'}"
    optuna.create_study(study_name="someone-else", storage=url)
    assert main(["report", "--storage", url]) == 1
    assert "(someone-else) but none made by lstmbench" in capsys.readouterr().err
    assert main(["report", "--storage", url, "--study", "someone-else"]) == 1
    assert "was not made by lstmbench" in capsys.readouterr().err


def test_unknown_study_and_several_studies(report_study, tmp_path, capsys):
    _url, name, folder = report_study
    shutil.copy(folder / "tiny.db", tmp_path / "two.db")
    two = f"sqlite:///{tmp_path / 'two.db'}"
    assert main(["report", "--storage", two, "--study", "nope"]) == 1
    err = capsys.readouterr().err
    assert "study 'nope' does not exist" in err and "tiny" in err

    src = optuna.load_study(study_name=name, storage=two)
    other = optuna.create_study(study_name="tiny-2", storage=two)
    for key, value in src.user_attrs.items():
        other.set_user_attr(key, value)
    assert main(["report", "--storage", two]) == 2
    err = capsys.readouterr().err
    assert "holds 2 lstmbench studies: choose one with --study NAME" in err
    assert "tiny " in err and "tiny-2" in err
    console = Console(width=120, record=True, file=io.StringIO())
    outcome = run_report(storage=two, study="all", out=tmp_path / "all", console=console)
    assert [s.study for s in outcome.summaries] == ["tiny", "tiny-2"]
    assert (tmp_path / "all" / "tiny" / "report.html").exists()
    assert "No completed trials yet" in (tmp_path / "all" / "tiny-2" / "report.md").read_text()


# -- a real browser opens report.html from disk ----------------------------------------------------

@needs_chromium
def test_report_html_renders_its_plots_in_chromium(report_study, tmp_path):
    from playwright.sync_api import sync_playwright

    url, _, _ = report_study
    out = tmp_path / "out"
    run_report(storage=url, out=out, console=Console(file=io.StringIO()))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto((out / "report.html").as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "figure img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
            assert len(images) >= 3
            assert all(done and w >= 600 and h >= 300 for done, w, h in images), images
            assert "lstmbench report: tiny" in page.title()
            shot = page.locator("#learning_curves img").screenshot()
        finally:
            browser.close()
    # Nothing fetched but the file itself (plots are data URIs), and the plot is not blank.
    assert all(r.startswith(("file://", "data:")) for r in requests), requests
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(shot), format="png")
    assert pixels[..., :3].std() > 0.05


# -- a study where stateless cannot converge: honest intervals and "never" --------------------

BLIND_STATELESS = """\
description = "stateless windows that cannot see the first bit"
[task]
n_sequences = 40
seq_len = 20
[train]
epochs = 2
replicates = 2
[space]
window_high = 10
timesteps = [10, 20]
stateful_batch_size = [6]
stateless_batch_size = [10]
units = [4]
[sampler]
name = "random"
"""


def zero_width(text: str) -> list[str]:
    """Every printed interval or range whose two ends are the same number."""
    return [m.group(0) for m in re.finditer(r"(?<![\d.])(\d+(?:\.\d+)?) ?(?:ms|s|%)?–(\d+(?:\.\d+)?)(?![\d.])", text)
            if m.group(1) == m.group(2)]


def test_zero_width_finds_what_it_should():
    assert zero_width("95 % CI 0–0 %, [2–2], 3 ms–3, 0.5–0.5") == ["0–0", "2–2", "3 ms–3", "0.5–0.5"]
    assert zero_width("95 % CI 0–10 %, [2–12], 1.5–1.55, W 1–10") == []


def test_study_where_stateless_cannot_converge_reports_honest_intervals(tmp_path, capsys):
    """Random sampling, stateless windows of at most 10 steps on sequences of 20: no stateless
    seed can converge, yet the interval of its P(converge) stays open above (the blind draws are
    few), its median time to solution is "never", and no interval printed has zero width."""
    from lstmbench.study import run_sweep

    spec = tmp_path / "blind.toml"
    spec.write_text(BLIND_STATELESS)
    url = f"sqlite:///{tmp_path / 'blind.db'}"
    assert run_sweep(trials=12, spec=str(spec), storage=url, jobs=1, quiet=True).complete == 12
    summary = load_summary(find_studies(url, None)[0], "blind", storage=url,
                           with_importances=False)[0]
    sl = summary.arm("stateless")
    assert sl.complete == 6 and sl.converged == 0 and sl.converged_share.n == 6  # all blind
    e = sl.converged_share
    assert e.value == 0.0 and e.high >= 0.2 and e.high > e.low
    assert sl.time_to_solution_s.value == math.inf and sl.never == 6
    assert [(r.covers_lag, r.converged_share.n) for r in summary.regions] == [(False, 6), (True, 0)]

    assert main(["report", "--storage", url, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    stateless = next(a for a in data["arms"] if a["arm"] == "stateless")
    assert stateless["time_to_solution_s"]["value"] is None and stateless["never"] == 6
    assert stateless["converged_share"]["high"] >= 0.2
    assert {"value", "low", "high"} <= set(data["difference"]) and data["min_attainable_p"] > 0

    console = Console(width=250, record=True, file=io.StringIO())
    run_report(storage=url, console=console)
    text = console.export_text()
    words = " ".join(text.split())
    assert "Stateless P(converge) by region, estimated over its blind configurations: 0 %" in words
    assert "Median per trial: never (stateful; never in 6 of 6 trials)" in words or \
        "(stateless; never in 6 of 6 trials)" in words
    assert zero_width(text) == [], zero_width(text)


def test_epoch_times_are_compared_at_equal_batch_sizes_only():
    """The arms' batch-size menus differ: only the batch size both drew (30) is compared, within
    it, and the others are named."""
    rows = [row(0, "stateful", timesteps=2, batch=30, epoch_ms=9.0),
            row(1, "stateful", timesteps=2, batch=30, epoch_ms=8.0),
            row(2, "stateful", timesteps=2, batch=5, epoch_ms=50.0),
            row(3, "stateless", window=2, batch=30, epoch_ms=3.0),
            row(4, "stateless", window=2, batch=30, epoch_ms=2.0),
            row(5, "stateless", window=2, batch=90, epoch_ms=1.0)]
    epoch = summarize(rows, study="x", spec=SPEC).tests[2]
    assert epoch.measure == "epoch time per configuration at equal batch size (30)"
    assert (epoch.n_a, epoch.n_b) == (2, 2) and epoch.effect.endswith("; batch sizes 5, 90 left out")
    assert epoch.p_value == pytest.approx(2 / 6)  # 2 of 2 above 2 of 2: 2 of C(4, 2) splits
    assert epoch.effect.startswith("P(first < second) = 0.00")


def test_printed_intervals_never_have_zero_width():
    from lstmbench.report import Estimate
    from lstmbench.report import _format as f

    assert f.pct_range(0.0, 0.004) == "0.0–0.4 %" and f.pct_range(0.0, 0.48) == "0–48 %"
    assert f.points_range(0.001, 0.004) == "0.1 to 0.4" and f.points_range(-0.32, 0.88) == "−32 to 88"
    assert f.points_range(-0.001, 0.0001) == "−0.1 to 0"
    assert f.estimate(Estimate(2.0, 2.0, 2.0, 9)) == "2"  # tied values: no interval printed
    assert f.estimate(Estimate(2.0, 1.0, 3.0, 9), "ms") == "2 ms [1–3]"
