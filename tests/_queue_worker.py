"""A worker for the queue race test: take queued trials with a trivial objective until none left."""

from __future__ import annotations

import sys

import optuna

from lstmbench.storage import open_storage, quiet_optuna


def main(url: str) -> None:
    quiet_optuna()
    study = optuna.load_study(study_name="queue", storage=open_storage(url, heartbeat=None))
    while study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)


if __name__ == "__main__":
    main(sys.argv[1])
