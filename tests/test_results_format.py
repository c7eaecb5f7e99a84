"""Stored results carry a format: older ones are read forward, newer ones refused by name."""

from __future__ import annotations

import math

import pytest

from lstmbench.errors import UserError
from lstmbench.storage import RESULT_FORMAT, stamped, upgraded

# A result as lstmbench 0.1 stored it (format 1: one seed, no "format" key).
FORMAT_1 = {
    "converged": True, "convergence_epoch": 2, "best_val_accuracy": 1.0, "seed": 7,
    "train_ms": [3.0, 5.0, 9.0], "val_accuracy": [0.5, 1.0, 1.0], "spec": {"model": {}},
}


def test_a_format_1_result_reads_as_a_trial_of_one_member():
    now = upgraded(FORMAT_1, "trial 3 of study 'old'")
    assert now["format"] == RESULT_FORMAT == 2
    assert (now["replicates"], now["converged_share"], now["member_epochs"]) == (1, 1.0, [2])
    assert now["member_train_s"] == [pytest.approx(0.008)] == [now["time_to_solution_s"]]
    assert now["member_seeds"] == [7] and now["member_val_accuracy"] == [[0.5, 1.0, 1.0]]
    assert now["chosen_blind"] is None  # not known for old trials: left out of the tests
    failed = upgraded({**FORMAT_1, "converged": False, "convergence_epoch": None}, "t")
    assert failed["converged_share"] == 0.0 and failed["time_to_solution_s"] is None
    assert failed["member_epochs"] == [None]


def test_a_current_result_is_read_as_it_is():
    attrs = stamped({"replicates": 4, "converged_share": 0.5, "time_to_solution_s": math.pi})
    assert upgraded(attrs, "t") == attrs


@pytest.mark.parametrize("version", [3, 99, "2"])
def test_a_newer_or_unknown_format_is_refused_with_its_version(version):
    with pytest.raises(UserError, match=rf"trial 5 of study 's' holds a result of format "
                                        rf"{version!r}; lstmbench .* reads formats 1 to 2: upgrade"):
        upgraded({**FORMAT_1, "format": version}, "trial 5 of study 's'")


def test_the_report_refuses_a_study_with_a_newer_result(tmp_path, capsys):
    import optuna

    from lstmbench.cli import main
    from lstmbench.storage import SPEC, SPEC_HASH

    url = f"sqlite:///{tmp_path / 'new.db'}"
    study = optuna.create_study(study_name="s", storage=url)
    study.set_user_attr(SPEC, {"train": {"target": 0.99}})
    study.set_user_attr(SPEC_HASH, "0")
    trial = study.ask()
    for key, value in {**FORMAT_1, "format": 3, "arm": "stateful"}.items():
        trial.set_user_attr(key, value)
    study.tell(trial, 1.0)
    assert main(["report", "--storage", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lstmbench: trial 0 of study 's' holds a result of format 3;")
    assert "Traceback" not in err
