"""The cycle model builds, has a moderate size, closes its loop and reads its cycle gain."""

import numpy as np
import pytest

from immunocycle.cycle import (
    FLUXES,
    build_cycle_model,
    cycle_gain,
    phenotype,
    pretreatment_state,
    simulate_cycle,
)
from immunocycle.engine import compile_model
from immunocycle.model import Dose, Model


def test_model_is_a_plain_model_with_doses_and_a_moderate_state_count():
    model = build_cycle_model("human", ["nivolumab"])
    assert isinstance(model, Model)
    assert 25 <= len(model.species) <= 45
    assert model.doses and all(isinstance(d, Dose) for d in model.doses)
    assert model.doses[0].times[:3] == (0.0, 14.0, 28.0)
    # the drug acts through an effective-parameter Assignment that replaced pd1_free
    assert "pd1_free_eff" in model.assignments
    assert "pd1_free_eff" in model.assignments["pd1_engagement"].expression
    for flux in FLUXES:
        assert flux in model.assignments


def test_effects_on_the_same_parameter_chain():
    model = build_cycle_model("human", ["nivolumab", "pembrolizumab"])
    assert "pd1_free_eff_eff" in model.assignments
    assert "pd1_free_eff" in model.assignments["pd1_free_eff_eff"].expression
    assert "pd1_free_eff_eff" in model.assignments["pd1_occupancy"].expression


def test_phenotype_classifier_thresholds():
    got = phenotype([5000.0, 100.0, 100.0], [0.0, 5000.0, 10.0])
    assert list(got) == ["inflamed", "excluded", "desert"]


def test_pretreatment_flags_a_patient_whose_tumor_never_reaches_diagnosis():
    compiled = compile_model(build_cycle_model("human"))
    params = {"k_C_growth": [0.017, 0.017], "C_max": [1.5e11, 1e9]}  # second: plateau at ~13 mm
    pre = pretreatment_state(compiled, 30.0, params, days=3000.0, step=2.0)
    assert list(pre.reached) == [True, False]
    assert np.isnan(pre.t_diagnosis[1]) and 300 < pre.t_diagnosis[0] < 1500
    cells = pre.initial["C"].iloc[0] + pre.initial["C_dead"].iloc[0]
    v = (1e-9 + cells * 2.527e-12 / 0.5) * 1e6  # tumor volume (mm3) from cells, as the model
    assert v == pytest.approx(np.pi / 6 * 30.0**3, rel=0.02)


def test_loop_closes_more_killing_releases_more_antigen():
    untreated = simulate_cycle("inflamed", days=28).patient(0)
    treated = simulate_cycle("inflamed", ["nivolumab"], days=28).patient(0)
    for day in (7, 14, 21):
        assert treated.loc[day, "J7"] > 1.5 * untreated.loc[day, "J7"]
        assert treated.loc[day, "J1"] > 1.5 * untreated.loc[day, "J1"]


def test_cycle_gain_by_construction():
    # A pure loop: J1 = a * J7 exactly when no cancer cell dies without T cells, so the gain
    # G(t) = a J7(t) / J1(t - tau) is the growth factor of killing over one loop.
    t = np.arange(0.0, 60.0)
    a = np.full((1, t.size), 0.5)
    for rate, grows in ((0.05, True), (-0.05, False)):
        J7 = 1e6 * np.exp(rate * t)[None, :]
        J1 = a * J7
        gain = cycle_gain(t, J1, J7, a, loop_days=7.0)
        assert np.nanmin(gain[:, 7:]) > 1.0 if grows else np.nanmax(gain[:, 7:]) < 1.0
        assert (J7[0, -1] > J7[0, 7]) == grows


def test_cycle_gain_above_one_grows_immunity_below_one_fades():
    # In the model, with death other than by T cells switched off at diagnosis (a pure loop):
    # blocking PD-1 in the inflamed tumor lifts the gain above one while killing grows over a
    # loop; cutting killing per recognition drops it below one and immunity fades.
    pure = {"k_C_death": 1e-6}
    up = simulate_cycle("inflamed", ["nivolumab"], days=28, treatment_parameters=pure).patient(0)
    down = simulate_cycle("inflamed", days=28, treatment_parameters={**pure, "p_kill": 0.03}
                          ).patient(0)
    for p in (up, down):
        for t in (14.0, 21.0, 28.0):
            grew = p.loc[t, "J7"] > p.loc[t - 7.0, "J7"]
            assert (p.loc[t, "cycle_gain"] > 1.0) == grew
    assert up.loc[14.0, "cycle_gain"] > 1.0 and up.loc[14.0, "J7"] > up.loc[7.0, "J7"]
    assert down.loc[21.0, "cycle_gain"] < 1.0 and down.loc[28.0, "J7"] < down.loc[14.0, "J7"]


def test_a_human_antibody_is_refused_in_the_mouse_preset():
    from immunocycle.model import ModelError

    with pytest.raises(ModelError, match="human therapy"):
        build_cycle_model("mouse", ["nivolumab"])


def test_reference_ratios_in_analysis_yaml_match_the_human_preset():
    from immunocycle.cycle._analysis import settings
    from immunocycle.cycle._reference import derive_reference_ratios

    stored = settings()["limiting_step"]["reference_ratios"]
    for key, value in derive_reference_ratios().items():
        assert value == pytest.approx(stored[key], rel=0.05), key


def test_ctla4_blockade_kills_through_a_path_pd1_does_not_veto():
    # CTLA-4 blockade opens a second kill path (CD4 help to the tumor's CD8 cells, exhausted
    # ones included, Wei 2017) that PD-1 engagement on the CD8 cells does not veto: with every PD-1 engaged (K_PDL1 -> 0) the CD8
    # path recognizes nothing, yet ipilimumab still kills. A factor on the CD8 path's killing
    # (the model before session 21) would leave J7 at zero here.
    vetoed = {"K_PDL1": 1e-9}
    none = simulate_cycle("inflamed", days=28, treatment_parameters=vetoed).patient(0)
    ipi = simulate_cycle("inflamed", ["ipilimumab"], days=28,
                         treatment_parameters=vetoed).patient(0)
    assert none.loc[14.0, "J6"] < 1e-6 * none.loc[14.0, "J5"]
    assert none.loc[14.0, "J7"] < 1e-6 * ipi.loc[14.0, "J7"]
    assert ipi.loc[14.0, "J7"] > 0.0
