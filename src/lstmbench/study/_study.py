"""Create or join an lstmbench study, refuse foreign or changed ones."""

from __future__ import annotations

import json
from typing import Any

from lstmbench import __version__
from lstmbench.errors import UserError
from lstmbench.spec import StudySpec
from lstmbench.storage import SPEC, SPEC_HASH, VERSION

SWEEP = "sweep"  # user attribute of every queued trial: which sweep asked for it
OBJECTIVE_NAME = "log10 time to solution (s)"  # the objective as the dashboard names it
# User attribute of a trial: its configuration was drawn without seeing any result. The queue
# sets it on the trials it plans as blind draws; the sampler then draws them at random.
BLIND = "chosen_blind"


def make_sampler(spec: StudySpec) -> Any:
    """Return the study's sampler: random, or random for the trials queued as blind draws and
    TPE for the rest (see ``SamplerSpec``)."""
    import optuna

    random = optuna.samplers.RandomSampler(seed=spec.seed)
    if spec.sampler.name == "random":
        return random
    # TPE's own random start-up still guards trials not queued as blind draws (planned by an
    # older lstmbench, or run outside a sweep): it never models fewer than n_startup_trials.
    tpe = optuna.samplers.TPESampler(
        seed=spec.seed, n_startup_trials=spec.sampler.n_startup_trials, multivariate=True, group=True
    )
    return _blind_first(random, tpe)


def _blind_first(random: Any, tpe: Any) -> Any:
    """A sampler that draws trials queued with ``chosen_blind: true`` from ``random``, the others
    from ``tpe``: which trials are blind is fixed when they are queued, never by how many trials
    happen to have finished when a worker asks (which depends on the workers' timing)."""
    import optuna

    class BlindFirst(optuna.samplers.BaseSampler):
        def _for(self, trial: Any) -> Any:
            return random if trial.user_attrs.get(BLIND) is True else tpe

        def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
            return self._for(trial).infer_relative_search_space(study, trial)

        def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
            return self._for(trial).sample_relative(study, trial, search_space)

        def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
            return self._for(trial).sample_independent(study, trial, name, distribution)

        def before_trial(self, study: Any, trial: Any) -> None:
            self._for(trial).before_trial(study, trial)

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            self._for(trial).after_trial(study, trial, state, values)

        def reseed_rng(self) -> None:
            random.reseed_rng()
            tpe.reseed_rng()

    return BlindFirst()


def make_pruner(spec: StudySpec) -> Any:
    import optuna

    if spec.sampler.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
    return optuna.pruners.NopPruner()


def create_or_join(storage: Any, name: str, spec: StudySpec) -> Any:
    """Return the study ``name``: created with this spec, or joined if it was made with the same.

    A study of that name made by something else, or from a different spec, is refused: mixing
    trials of two specs in one study would make every number in the report meaningless.
    """
    import optuna

    study = optuna.create_study(
        study_name=name, storage=storage, direction="minimize", load_if_exists=True,
        sampler=make_sampler(spec), pruner=make_pruner(spec),
    )
    attrs = study.user_attrs
    if SPEC_HASH not in attrs and study.get_trials(deepcopy=False):
        attrs = study.user_attrs  # read again: another worker may have set it up meanwhile
        if SPEC_HASH not in attrs:
            raise UserError(f"study {name!r} exists but was not made by lstmbench: give another "
                            "--study NAME", exit_code=1)
    if SPEC_HASH not in attrs:
        import sqlalchemy.exc

        try:
            study.set_user_attr(SPEC, spec.to_dict())
            study.set_user_attr(VERSION, __version__)
            study.set_user_attr(SPEC_HASH, spec.hash())  # last: marks the study as complete
        except sqlalchemy.exc.IntegrityError:
            pass  # another first start wrote the same keys at the same moment: compare with its
        attrs = study.user_attrs
    if attrs.get(SPEC_HASH) != spec.hash():
        raise UserError(
            f"study {name!r} was made from a different spec (hash {attrs.get(SPEC_HASH)}, now "
            f"{spec.hash()}; {_first_difference(attrs.get(SPEC, {}), spec.to_dict())}): run it "
            f"with its original spec, or start a new study with --study NEW_NAME",
            exit_code=1,
        )
    if study.metric_names != [OBJECTIVE_NAME]:
        _name_objective(study, name)
    return study


def _name_objective(study: Any, name: str) -> None:
    """Name the objective of a new study; refuse one whose trials scored plain seconds.

    A study made before the objective was named holds values in seconds: new trials' log10
    values among them would be ranked wrongly by the sampler and drawn on another scale.
    """
    import optuna

    if study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        raise UserError(
            f"study {name!r} was made by an earlier lstmbench whose objective was seconds, not "
            f"{OBJECTIVE_NAME}: new trials cannot be ranked with its trials. Start a new study "
            "with --study NEW_NAME (`lstmbench report` still reads this one)", exit_code=1)
    study.set_metric_names([OBJECTIVE_NAME])


def _first_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Return the first setting that differs, as ``key was X, now Y``."""

    def walk(a: Any, b: Any, key: str) -> str:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                found = walk(a.get(k), b.get(k), f"{key}{k}.")
                if found:
                    return found
            return ""
        return "" if a == b else f"{key.rstrip('.')} was {a!r}, now {b!r}"

    return walk(old, json.loads(json.dumps(new)), "") or "no setting differs by name"
