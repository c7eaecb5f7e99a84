"""Re-run a stored trial from its recorded spec and seed, and compare with what was stored."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from lstmbench.errors import UserError
from lstmbench.spec import TrialSpec
from lstmbench.storage import open_storage, quiet_optuna, storage_url, upgraded

TOLERANCE = 1e-6  # per-epoch validation accuracy; same seed, same program: same numbers


@dataclass(frozen=True)
class ReplayOutcome:
    matches: bool
    stored_epoch: int | None
    replayed_epoch: int | None
    stored_curve: list[float]
    replayed_curve: list[float]
    result: Any  # TrialResult of the re-run


def stored_trial(study: str, trial: int, storage: str | None) -> Any:
    """Return the FrozenTrial ``trial`` of ``study``, refusing anything that cannot be replayed."""
    import optuna

    quiet_optuna()
    rdb = open_storage(storage_url(storage), heartbeat=None, must_exist=True)
    try:
        s = optuna.load_study(study_name=study, storage=rdb)
    except KeyError:
        names = ", ".join(sorted(x.study_name for x in optuna.get_all_study_summaries(rdb))) or "none"
        raise UserError(f"no study {study!r} in this storage (studies: {names})", exit_code=1) from None
    found = [t for t in s.get_trials(deepcopy=False) if t.number == trial]
    if not found:
        raise UserError(f"study {study!r} has no trial {trial} (0..{len(s.trials) - 1})", exit_code=1)
    t = found[0]
    if "spec" not in t.user_attrs or "val_accuracy" not in t.user_attrs:
        reason = t.user_attrs.get("fail_reason")
        raise UserError(f"trial {trial} of {study!r} has no recorded result to compare "
                        f"(state {t.state.name}{': ' + reason if reason else ''}): replay a "
                        "COMPLETE trial", exit_code=1)
    return t


def stored_spec(attrs: dict[str, Any]) -> TrialSpec:
    """Return the trial spec a stored trial ran, with the XLA choice it resolved to.

    XLA and plain graphs round differently: a replay must run the same program. Trials stored
    before the spec had ``train.xla`` kept the choice in the ``jit`` attribute.
    """
    data = attrs["spec"]
    if attrs.get("form", "canonical") != "canonical" and not data["train"]["engine"].startswith(
            "notebook:"):
        raise UserError(f"this trial ran the notebook form {attrs.get('variant')}:{attrs['form']} "
                        "as lstmbench ran it before the forms became engines (Keras 3's sigmoid, "
                        "not the notebook's hard_sigmoid): it cannot be replayed like for like; "
                        "run the study again", exit_code=1)
    if "xla" not in data["train"] and attrs.get("jit") is not None:
        data = {**data, "train": {**data["train"], "xla": "on" if attrs["jit"] else "off"}}
    return TrialSpec.from_dict(data)


def replay_trial(study: str, trial: int, storage: str | None = None, *,
                 member: int | None = None) -> ReplayOutcome:
    """Re-run a stored trial from its recorded spec, seed and XLA choice; compare.

    ``member`` re-runs only member i of a trial of K seeds, as the one-member trial it equals,
    and compares with that member's stored curve and convergence epoch.
    """
    from lstmbench.trial import run_trial

    t = stored_trial(study, trial, storage)
    attrs = upgraded(t.user_attrs, f"trial {trial} of study {study!r}")
    spec = stored_spec(attrs)
    if member is None:
        stored_curve, stored_epoch = list(attrs["val_accuracy"]), attrs.get("convergence_epoch")
        result = run_trial(spec)
    else:
        if not 0 <= member < spec.train.replicates:
            raise UserError(f"--member {member} is out of range: trial {trial} of {study!r} has "
                            f"members 0..{spec.train.replicates - 1}", exit_code=2)
        stored_curve = list(attrs["member_val_accuracy"][member])
        stored_epoch = attrs["member_epochs"][member]
        # A member was trained until every member converged: run it as long, not to its own epoch.
        member_spec = spec.member_spec(member)
        epochs = len(stored_curve)
        result = run_trial(dataclasses.replace(member_spec, train=dataclasses.replace(
            member_spec.train, epochs=epochs, stop_at_convergence=False)))
    same_curve = len(stored_curve) == len(result.val_accuracy) and all(
        abs(a - b) <= TOLERANCE for a, b in zip(stored_curve, result.val_accuracy)
    )
    return ReplayOutcome(
        matches=same_curve and stored_epoch == result.convergence_epoch,
        stored_epoch=stored_epoch, replayed_epoch=result.convergence_epoch,
        stored_curve=stored_curve, replayed_curve=result.val_accuracy, result=result,
    )
