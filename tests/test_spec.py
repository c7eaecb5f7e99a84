"""Study specs: shipped files load; bad files are refused naming the file, the key and the fix."""

from __future__ import annotations

import pytest

from lstmbench.errors import UserError
from lstmbench.spec import (
    ConfirmationSpec,
    SamplerSpec,
    SpecError,
    load_study_spec,
    shipped_studies,
)


def test_shipped_studies_load():
    assert {"default", "memory-horizon"} <= set(shipped_studies())
    default = load_study_spec()
    assert default.name == "default"
    assert default.timesteps_choices == (1, 2, 4, 5, 10, 20)
    assert default.window_range(20) == (1, 20)
    horizon = load_study_spec("memory-horizon")
    assert horizon.seq_lens == (20, 50, 100, 200)
    assert horizon.hash() != default.hash()


def test_settings_added_since_0_1_leave_the_hash_of_studies_made_before_them():
    """xla, replicates and task.seed at their defaults: a study made before they existed still
    joins (hashes of lstmbench 0.1's shipped studies)."""
    import dataclasses

    assert load_study_spec("memory-horizon").hash() == "ac49673cf6ec434f"
    default = load_study_spec()  # it changed since: 4 replicates, 20 epochs, 40 blind draws
    as_in_0_1 = dataclasses.replace(
        default, train=dataclasses.replace(default.train, replicates=1, epochs=30),
        sampler=dataclasses.replace(default.sampler, n_startup_trials=10))
    assert default.hash() != "4a04af816622d2aa" and as_in_0_1.hash() == "4a04af816622d2aa"


def test_the_default_study_draws_20_configurations_per_arm_blind():
    assert load_study_spec().sampler.blind_per_arm(2) == 20
    assert SamplerSpec(n_startup_trials=41).blind_per_arm(2) == 21  # rounded up: none gets fewer
    assert SamplerSpec(name="random", n_startup_trials=4).blind_per_arm(2) is None  # every one


def test_the_confirmation_counts_in_the_hash_only_when_set():
    import dataclasses

    default = load_study_spec()
    same = dataclasses.replace(default, confirmation=ConfirmationSpec(members=16))
    assert same.hash() == default.hash()  # studies made before the setting existed still join
    assert dataclasses.replace(default, confirmation=ConfirmationSpec(members=0)).hash() != default.hash()
    # never fewer members than a search trial has
    assert ConfirmationSpec(16).members_for(dataclasses.replace(default.train, replicates=32)) == 32


NOTEBOOK_VARIANT = """\
[[variants]]
name = "{name}"
form = "as-written"
stateful = true
timesteps = 1
batch_size = 1
units = 4
{extra}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[space]\nunitz = [4]\n", ["unknown key space.unitz", "units"]),
        ("colour = 1\n", ["unknown key colour"]),
        ("[train]\nepochs = 'ten'\n", ["train.epochs", "expected int", "'ten'"]),
        ("[train]\nepochs = 1.5\n", ["train.epochs", "expected int"]),
        ("[space]\nunits = 8\n", ["space.units", "expected a list"]),
        ("[space]\nunits = []\n", ["space.units", "is empty"]),
        ("[space]\nwindow_low = 30\n", ["space.window_low", "seq_len=20"]),
        ("[space]\ntimesteps = [3, 4]\n", ["space.timesteps", "[3] do not divide seq_len=20",
                                           "1, 2, 4, 5, 10, 20"]),
        ("[space]\nseq_len = [20, 30]\ntimesteps = [4]\n", ["space.timesteps", "seq_len=30"]),
        ("[space]\nstateful_batch_size = [100]\n", ["space.stateful_batch_size", "90 training"]),
        ("[space]\narms = []\n", ["space.arms", "is empty"]),
        ("[space]\narms = ['both']\n", ["space.arms", "'both' is unknown"]),
        ("[task]\nval_fraction = 2.0\n", ["task", "val_fraction=2.0", "(0, 1)"]),
        ("[train]\nengine = 'torch'\n", ["train", "engine='torch'", "compiled, keras"]),
        ("[train]\nxla = 'yes'\n", ["train", "xla='yes'", "auto, on, off"]),
        ("[train]\nprograms = 'few'\n", ["train", "programs='few'", "shared, exact"]),
        ("[sampler]\nname = 'cmaes'\n", ["sampler.name", "'cmaes' is unknown"]),
        ("[sampler]\nn_startup_trials = -2\n", ["sampler.n_startup_trials", "-2 is out of range",
                                                 ">= 0 (the blind draws of all arms together)"]),
        ("[sampler]\nn_startup_trials = 'all'\n", ["sampler.n_startup_trials", "expected int"]),
        ("[confirmation]\nmembers = 8\n", ["confirmation.members", "8 is out of range",
                                            "0 (no confirmation) or >= 16"]),
        ("[confirmation]\nmembers = -1\n", ["confirmation.members", "-1 is out of range"]),
        ("[confirmation]\nseeds = 16\n", ["unknown key confirmation.seeds", "members"]),
        ("[train\n", ["not valid TOML"]),
        (NOTEBOOK_VARIANT.format(name="writing-9", extra=""),
         ["variants.writing-9.form", "no form 'writing-9:as-written'", "writing-1:as-written"]),
        (NOTEBOOK_VARIANT.format(name="writing-1", extra="engine = 'keras'"),
         ["variants.writing-1.engine", "leave engine out"]),
    ],
)
def test_bad_spec_names_file_key_and_fix(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_study_spec(str(path))
    message = str(info.value)
    assert message.startswith(str(path))
    for part in expected:
        assert part in message


def test_unknown_spec_name_lists_the_shipped_ones():
    with pytest.raises(UserError, match=r"no shipped study of that name.*default"):
        load_study_spec("nope")
