"""Confirmation: the best configuration of each arm re-run on fresh seeds once its search is done.

The search's best is the minimum of many noisy estimates (a few members each), so it is biased
low: the configuration that looks fastest is partly the one that was luckiest. A sweep
therefore ends by queueing, per arm, one more trial of that configuration with
``confirmation.members`` members, user attributes ``confirmation: true``, ``confirms: <trial>``
and ``chosen_blind: false``. Its seed is its own trial number's, as for every trial, so no
search trial used its seeds (or its data, unless the task fixes ``seed``). The report leaves
confirmations out of every comparison and quotes them beside the search's estimate.

*Best* is the lowest time to solution among the arm's completed search trials where a member
converged; an arm where none did has nothing to confirm. The queue (``_queue``) asks for the
confirmations once a sweep's trials are all queued and the arm has no search trial waiting or
running; a confirmation is queued once per best trial, whichever worker or sweep gets there.
"""

from __future__ import annotations

from typing import Any

from lstmbench.spec import StudySpec, TrialSpec, describe_config
from lstmbench.storage import fixed_params
from lstmbench.study._study import SWEEP

CONFIRMATION = "confirmation"  # user attribute: true on a confirmation trial
CONFIRMS = "confirms"  # user attribute: the number of the trial whose configuration it re-runs


def arm_of(trial: Any) -> str | None:
    """The arm of a trial, run or only queued."""
    return {**fixed_params(trial), **trial.params}.get("arm")


def is_confirmation(trial: Any) -> bool:
    return bool(trial.user_attrs.get(CONFIRMATION))


def best_trials(trials: list[Any], arms: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Return each arm's best search trial (None: no member of any trial converged)."""
    best: dict[str, Any] = {}
    for arm in arms:
        solved = [t for t in trials if t.state.name == "COMPLETE" and not is_confirmation(t)
                  and arm_of(t) == arm and (t.user_attrs.get("converged_share") or 0) > 0
                  and t.user_attrs.get("time_to_solution_s") is not None]
        best[arm] = min(solved, key=lambda t: (t.user_attrs["time_to_solution_s"], t.number),
                        default=None)
    return best


def busy_arms(trials: list[Any]) -> set[str | None]:
    """The arms with a search trial still waiting or running."""
    return {arm_of(t) for t in trials
            if t.state.name in ("WAITING", "RUNNING") and not is_confirmation(t)}


def confirmation_spec(spec: StudySpec, tspec: TrialSpec) -> TrialSpec:
    """The trial ``tspec`` as a confirmation runs it: with the confirmation's members."""
    import dataclasses

    members = spec.confirmation.members_for(spec.train)
    return dataclasses.replace(tspec, train=dataclasses.replace(tspec.train, replicates=members))


def confirmation_lines(trials: list[Any], spec: StudySpec, sweeps: set[str], *, confirm: bool,
                       resume: str) -> list[str]:
    """One line per arm: what the best trial is and what confirmed it (``sweeps``: this run's),
    or why nothing did (``resume``: the command that finishes the study)."""
    if spec.variants or not spec.confirmation.members:
        return []  # nothing searched, or the study never confirms
    confirmations = [t for t in trials if is_confirmation(t)]
    lines = []
    for arm, best in best_trials(trials, spec.space.arms).items():
        if best is None:
            lines.append(f"{arm}: no trial converged: nothing to confirm")
            continue
        config = describe_config(best.user_attrs.get("spec"))
        search = _seconds(best.user_attrs["time_to_solution_s"])
        mine = [t for t in confirmations if t.user_attrs.get(CONFIRMS) == best.number]
        done = [t for t in mine if t.state.name == "COMPLETE"]
        pending = [t for t in mine if t.state.name in ("WAITING", "RUNNING")]
        if done or (mine and not pending):  # run, or failed for good (not queued again)
            last = max(done or mine, key=lambda t: t.number)
            earlier = "" if last.user_attrs.get(SWEEP) in sweeps else " (an earlier run)"
            lines.append(f"{arm}: best trial {best.number} ({config}) confirmed by trial "
                         f"{last.number}{earlier}: {_confirmed(last)}; the search estimated "
                         f"{search}")
            continue
        why = ("not confirmed (--no-confirm)" if not (confirm or mine) else
               f"not confirmed yet: `{resume}` confirms it")
        lines.append(f"{arm}: best trial {best.number} ({config}, {search} to a solution): {why}")
    return lines


def _confirmed(trial: Any) -> str:
    a = trial.user_attrs
    if trial.state.name == "FAIL":
        return f"FAILED ({a.get('fail_reason') or 'its worker stopped'})"
    K = a.get("replicates") or 1
    k = round((a.get("converged_share") or 0.0) * K)
    solution = a.get("time_to_solution_s")
    if solution is None:
        return f"no seed of {K} fresh ones converged"
    return f"{_seconds(solution)} to a solution on {K} fresh seeds ({k}/{K} converged)"


def _seconds(s: float) -> str:
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"
