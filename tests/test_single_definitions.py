"""One definition each of the species of a preset, of a responder (ORR) and of a Kaplan-Meier
median, used by every package."""

import numpy as np
import pandas as pd
import pytest
import yaml

from immunocycle._paths import PACKAGE_DATA
from immunocycle.cycle import PRESETS, preset_species
from immunocycle.trial import is_response, km_median, summarize_arms


def test_every_preset_has_the_species_its_analysis_settings_name():
    table = yaml.safe_load((PACKAGE_DATA / "cycle" / "analysis.yaml").read_text())["presets"]
    assert {p: preset_species(p) for p in PRESETS} == {p: table[p]["species"] for p in PRESETS}


def test_an_overlay_on_the_mouse_is_a_mouse_whatever_its_name(tmp_path):
    overlay = tmp_path / "my_mc38.yaml"
    overlay.write_text("name: my_mc38\ndescription: a mouse variant\nbase: mouse\nparameters:\n"
                       "  body_weight: {value: 22, units: g, description: lighter mouse,"
                       " source: test}\n")
    assert preset_species(overlay) == "mouse"


def test_responders_are_cr_and_pr_in_either_criteria():
    bor = ["CR", "PR", "SD", "PD", "NE", "iCR", "ipr", "iSD", "iUPD", "iCPD", ""]
    assert is_response(bor).tolist() == [True, True] + [False] * 3 + [True, True] + [False] * 4


def test_km_median_is_the_first_time_survival_reaches_one_half():
    assert km_median([1.0, 2.0, 3.0, 4.0], [True] * 4)[0] == 2.0
    assert km_median([5.0, 6.0, 7.0], [True, False, False])[0] is None  # never below 0.5


def test_trial_summaries_use_these_definitions():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"arm": "a", "bor": rng.choice(["CR", "PR", "SD", "PD"], 40),
                       "pfs_days": rng.uniform(20, 300, 40), "pfs_event": rng.random(40) < 0.8})
    (arm,) = summarize_arms(df, ["a"])
    assert arm["orr"] == pytest.approx(is_response(df["bor"]).mean())
    assert arm["median_pfs_days"] == km_median(df["pfs_days"], df["pfs_event"])[0]


def test_allometric_scaling_reads_its_exponents_from_one_data_file():
    from immunocycle.pk import allometric_exponents
    from immunocycle.pk._data import payload_parameters, scaled_payload, species_parameters

    b = allometric_exponents()
    ref = payload_parameters("nivolumab")
    scaled = scaled_payload("nivolumab", 2.0 * ref["reference_BW"].value)
    assert scaled["CL_f"] == pytest.approx(ref["CL"].value * 2.0 ** b["clearance"])
    assert scaled["V1_f"] == pytest.approx(ref["V1"].value * 2.0 ** b["volume"])
    assert scaled["ka_sc_f"] == pytest.approx(ref["ka_sc"].value * 2.0 ** b["rate"])
    mouse, human = species_parameters("mouse"), species_parameters("human")
    ratio = human["BW"].value / mouse["BW"].value
    assert human["KTRESmax"].value == pytest.approx(mouse["KTRESmax"].value * ratio ** b["rate"])
