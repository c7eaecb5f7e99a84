"""The queue of a study: a sweep records what it asks for, workers queue it a few at a time.

A sweep of N trials writes one study user attribute, its *plan* (``lstmbench_sweep:<id>``:
how many trials, and which arm or variant the k-th one takes), and queues nothing itself: so
starting costs the same for 50 trials or 100,000. A worker that finds fewer than ``KEEP``
trials waiting queues the next ``BATCH`` of the oldest unfinished plan, counting what the
plan already queued and queueing the rest in one transaction that holds the study's lock:
nothing is queued twice, and an interruption anywhere leaves either the whole batch or none
of it. What a stopped sweep did not queue stays in its plan, and the next run's workers
(``--trials 0`` too) queue it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from lstmbench.errors import UserError
from lstmbench.spec import StudySpec
from lstmbench.storage import QueueEdit, edit_queue, fixed_params, param_counts
from lstmbench.study._study import SWEEP

PLAN = "lstmbench_sweep:"  # study user attribute of each sweep: its plan
RETRY_OF = "retry_of"  # a retry is queued again outside the plan: not counted in it
KEEP = 2  # queue more when fewer trials than this wait (a worker takes one at a time)
BATCH = 4  # trials of a plan queued in one transaction


def queue_trials(study: Any, spec: StudySpec, n: int | None) -> tuple[str, int]:
    """Record the plan of a new sweep; return (sweep id, how many trials it asks for).

    Search studies: ``n`` trials, each arm in turn (the arm with fewer trials so far first), the
    rest of each configuration left to the sampler — so every arm gets an equal share whatever
    the sampler prefers. Variant studies: every (variant, seed) not yet run or planned, at
    most ``n``, the variants interleaved.
    """
    import optuna

    sweep = uuid.uuid4().hex[:12]
    if spec.variants:
        # Seed by seed across the variants (A0, B0, A1, B1, ...): a drift of the machine's speed
        # during the sweep then falls on every variant alike, not on the last one.
        deepest = max(len(v.seeds) for v in spec.variants)
        todo = [[v.key, v.seeds[i]] for i in range(deepest) for v in spec.variants
                if i < len(v.seeds)]
        planned = _planned_variants(study)
        todo = [item for item in todo if tuple(item) not in planned]
        plan: dict[str, Any] = {"n": len(todo if n is None else todo[:n]), "todo": todo[:n]}
    else:
        if n is None:
            raise UserError("--trials N is needed for a search study")
        counts = param_counts(study, "arm", skip_states=(optuna.trial.TrialState.FAIL,))
        plan = {"n": n, "first": _balance(counts, spec.space.arms), "arms": list(spec.space.arms)}
    if plan["n"]:
        plan["t"] = time.time()  # plans are queued oldest first
        study.set_user_attr(PLAN + sweep, plan)
    return sweep, plan["n"]


def _balance(counts: dict[Any, int], arms: tuple[str, ...]) -> list[str]:
    """The arms that bring every arm to the count of the most-tried one, fewest first."""
    counts = {a: counts.get(a, 0) for a in arms}
    first: list[str] = []
    while len(set(counts.values())) > 1:
        arm = min(arms, key=lambda a: (counts[a], arms.index(a)))
        counts[arm] += 1
        first.append(arm)
    return first


def _params(plan: dict[str, Any], k: int) -> dict[str, Any]:
    """The queued parameters of the k-th trial (0-based) of a plan."""
    if "todo" in plan:
        variant, seed = plan["todo"][k]
        return {"variant": variant, "seed": seed}
    first, arms = plan["first"], plan["arms"]
    return {"arm": first[k] if k < len(first) else arms[(k - len(first)) % len(arms)]}


def _planned_variants(study: Any) -> set[tuple[str, int]]:
    """(variant, seed) pairs run, running, queued, or in an unfinished plan."""
    done = set()
    for t in study.get_trials(deepcopy=False):  # a variant study has few trials
        params = t.params or fixed_params(t)
        done.add((params.get("variant"), params.get("seed")))
    for plan in open_plans(study).values():
        done |= {tuple(item) for item in plan.get("todo", [])}
    return done


def open_plans(study: Any) -> dict[str, dict[str, Any]]:
    """The plans not yet queued in full, by sweep id, oldest first."""
    plans = {k[len(PLAN):]: v for k, v in study.user_attrs.items()
             if k.startswith(PLAN) and not v.get("done")}
    return dict(sorted(plans.items(), key=lambda item: item[1].get("t", 0)))


def top_up(study: Any, *, keep: int = KEEP, batch: int = BATCH) -> int:
    """Queue the next trials of open plans while fewer than ``keep`` wait; return how many wait."""
    plans = open_plans(study)

    def queue(q: QueueEdit) -> tuple[int, list[str]]:
        waiting, finished = q.waiting(), []
        for sweep, plan in plans.items():
            if waiting >= keep:
                break
            made = q.tagged(SWEEP, sweep, unless=RETRY_OF)
            more = max(0, min(batch, plan["n"] - made))
            for k in range(made, made + more):
                q.add(_params(plan, k), {SWEEP: sweep})
            waiting += more
            if made + more >= plan["n"]:
                finished.append(sweep)
        return waiting, finished

    waiting, finished = edit_queue(study, queue)
    for sweep in finished:  # all queued: later top-ups need not count it again
        study.set_user_attr(PLAN + sweep, {**plans[sweep], "done": True})
    return waiting


def not_queued(study: Any) -> dict[str, int]:
    """Trials that open plans still have to queue, by sweep id."""
    plans = open_plans(study)
    if not plans:
        return {}
    return edit_queue(study, lambda q: {
        sweep: max(0, plan["n"] - q.tagged(SWEEP, sweep, unless=RETRY_OF))
        for sweep, plan in plans.items()})
