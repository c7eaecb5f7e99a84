"""The queue of a study: a sweep records what it asks for, workers queue it a few at a time.

A sweep of N trials writes one study user attribute, its *plan* (``lstmbench_sweep:<id>``:
how many trials, which arm or variant the k-th one takes, and which are blind draws), and
queues nothing itself: so starting costs the same for 50 trials or 100,000 (one read of the
trials already in the study). A worker that finds fewer than ``KEEP`` trials waiting queues
the next ``BATCH`` of the oldest unfinished plan, counting what the plan already queued and
queueing the rest in one transaction that holds the study's lock:
nothing is queued twice, and an interruption anywhere leaves either the whole batch or none
of it. What a stopped sweep did not queue stays in its plan, and the next run's workers
(``--trials 0`` too) queue it.

Blind draws: a search plan fixes, per arm, how many of its trials are drawn at random (the
first ones of the arm, until the study has ``SamplerSpec.blind_per_arm``); they are queued with
``chosen_blind: true``, which the sampler obeys (``make_sampler``). Confirmations (see
``_confirm``): a plan that asks for them stays open once all its trials are queued, until the
confirmation of each arm's best is queued too.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

from lstmbench.errors import UserError
from lstmbench.spec import StudySpec
from lstmbench.storage import QueueEdit, edit_queue, fixed_params
from lstmbench.study._confirm import CONFIRMATION, CONFIRMS, arm_of, best_trials, busy_arms
from lstmbench.study._study import BLIND, SWEEP

PLAN = "lstmbench_sweep:"  # study user attribute of each sweep: its plan
RETRY_OF = "retry_of"  # a retry is queued again outside the plan: not counted in it
KEEP = 2  # queue more when fewer trials than this wait (a worker takes one at a time)
BATCH = 4  # trials of a plan queued in one transaction
QUEUED_ATTRS = (SWEEP, BLIND, CONFIRMATION, CONFIRMS)  # what a trial is queued with; a retry too


def queue_trials(study: Any, spec: StudySpec, n: int | None, *,
                 confirm: bool = True) -> tuple[str, int]:
    """Record the plan of a new sweep; return (sweep id, how many trials it asks for).

    Search studies: ``n`` trials, each arm in turn (the arm with fewer trials so far first), the
    rest of each configuration left to the sampler — so every arm gets an equal share whatever
    the sampler prefers — the first ones of each arm blind draws while the study has fewer
    than the spec asks for; then, if ``confirm`` (and the spec's ``confirmation.members``),
    the confirmation of each arm's best. Variant studies: every (variant, seed) not yet run or
    planned, at most ``n``, the variants interleaved.
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
        # Every trial, read once per sweep (the progress display reads them twice a second).
        search = [t for t in study.get_trials(deepcopy=False)
                  if t.state != optuna.trial.TrialState.FAIL and not t.user_attrs.get(CONFIRMATION)]
        counts = Counter(arm_of(t) for t in search)
        blind = Counter(arm_of(t) for t in search if t.user_attrs.get(BLIND))
        arms = spec.space.arms
        per_arm = spec.sampler.blind_per_arm(len(arms))
        plan = {"n": n, "first": _balance(counts, arms), "arms": list(arms),
                "blind": {a: n if per_arm is None else max(0, per_arm - blind[a]) for a in arms},
                "confirm": confirm and spec.confirmation.members > 0}
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


def _marks(plan: dict[str, Any], k: int) -> dict[str, Any]:
    """The user attributes the k-th trial of a plan is queued with, besides its sweep: whether
    it is a blind draw (plans of variant studies, or of an older lstmbench, say nothing)."""
    if "blind" not in plan:
        return {}
    arm = _params(plan, k)["arm"]
    first, arms = plan["first"], plan["arms"]
    before = first[:k].count(arm)  # the plan's trials of this arm before the k-th
    if k > len(first):
        rounds, rest = divmod(k - len(first), len(arms))
        before += rounds + (arms.index(arm) < rest)
    return {BLIND: before < plan["blind"][arm]}


def retry_attrs(trial: Any) -> dict[str, Any]:
    """The user attributes that queue ``trial`` again: those it was queued with, and which
    trial it retries (a retry is not counted in its sweep's plan)."""
    attrs = trial.user_attrs
    return {**{k: attrs[k] for k in QUEUED_ATTRS if k in attrs}, RETRY_OF: trial.number}


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
    """The plans not yet queued in full (or their confirmations), by sweep id, oldest first."""
    plans = {k[len(PLAN):]: v for k, v in study.user_attrs.items()
             if k.startswith(PLAN) and not v.get("done")}
    return dict(sorted(plans.items(), key=lambda item: item[1].get("t", 0)))


def top_up(study: Any, *, keep: int = KEEP, batch: int = BATCH) -> int:
    """Queue the next trials of open plans while fewer than ``keep`` wait, then the
    confirmations they ask for; return how many wait."""
    plans = open_plans(study)
    queueing = {sweep: plan for sweep, plan in plans.items() if not plan.get("queued")}

    def queue(q: QueueEdit) -> tuple[int, list[str]]:
        waiting, finished = q.waiting(), []
        for sweep, plan in queueing.items():
            if waiting >= keep:
                break
            made = q.tagged(SWEEP, sweep, unless=RETRY_OF)
            more = max(0, min(batch, plan["n"] - made))
            for k in range(made, made + more):
                q.add(_params(plan, k), {SWEEP: sweep, **_marks(plan, k)})
            waiting += more
            if made + more >= plan["n"]:
                finished.append(sweep)
        return waiting, finished

    waiting, finished = edit_queue(study, queue)
    for sweep in finished:  # all queued: later top-ups need not count it again
        plans[sweep] = {**plans[sweep], "queued": True}
        if not plans[sweep].get("confirm"):
            plans[sweep]["done"] = True
        study.set_user_attr(PLAN + sweep, plans[sweep])
    owing = {sweep: plan for sweep, plan in plans.items() if not plan.get("done")}
    if waiting or len(owing) > sum(bool(plan.get("queued")) for plan in owing.values()):
        return waiting  # search trials still to queue or to run first
    return _queue_confirmations(study, owing) if owing else 0


def _queue_confirmations(study: Any, plans: dict[str, dict[str, Any]]) -> int:
    """Queue the confirmation of the best trial of each arm whose search is over (nothing
    waiting or running); close the plans once every arm's is queued. Return how many wait."""
    trials = study.get_trials(deepcopy=False)
    arms = _arms(plans)
    settled = [arm for arm in arms if arm not in busy_arms(trials)]
    best = _unconfirmed(trials, settled)
    sweep = next(iter(plans))  # the oldest plan owing them

    def queue(q: QueueEdit) -> int:
        for t in best:  # once per best trial, whichever worker or sweep gets here first
            if not q.tagged(CONFIRMS, t.number, unless=RETRY_OF):
                q.add(dict(t.params), {SWEEP: sweep, CONFIRMATION: True, CONFIRMS: t.number,
                                       BLIND: False})
        return q.waiting()

    waiting = edit_queue(study, queue) if best else 0
    if len(settled) == len(arms):
        for key, plan in plans.items():
            study.set_user_attr(PLAN + key, {**plan, "done": True})
    return waiting


def _arms(plans: dict[str, dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(arm for plan in plans.values() for arm in plan["arms"]))


def _unconfirmed(trials: list[Any], arms: list[str]) -> list[Any]:
    """The best trials of ``arms`` that no confirmation (queued, run or failed) confirms."""
    confirmed = {t.user_attrs.get(CONFIRMS) for t in trials if t.user_attrs.get(CONFIRMATION)}
    return [t for t in best_trials(trials, arms).values()
            if t is not None and t.number not in confirmed]


def not_queued(study: Any) -> dict[str, int]:
    """Trials that open plans still have to queue, by sweep id: the rest of their trials, and
    once all are queued, the confirmations they owe (as the best trials stand now)."""
    plans = open_plans(study)
    queueing = {sweep: plan for sweep, plan in plans.items() if not plan.get("queued")}
    if queueing:
        return edit_queue(study, lambda q: {
            sweep: max(0, plan["n"] - q.tagged(SWEEP, sweep, unless=RETRY_OF))
            for sweep, plan in queueing.items()})
    if not plans:
        return {}
    owed = _unconfirmed(study.get_trials(deepcopy=False), _arms(plans))
    return {sweep: len(owed) if i == 0 else 0 for i, sweep in enumerate(plans)}  # the oldest's
