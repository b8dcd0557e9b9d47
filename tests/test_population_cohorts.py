"""Cohorts as data: validation, sampling, TMB -> antigenicity, plausibility and selection."""

import numpy as np
import pandas as pd
import pytest

from immunocycle.model import ModelError
from immunocycle.population import (
    available_cohorts,
    load_cohort,
    neoantigen_load_from_tmb,
    plausibility,
    sample_cohort,
    select_to_mix,
)
from immunocycle.population._cohort import COHORT_DIR

TUMOR_TYPES = ("melanoma", "nsclc", "rcc", "urothelial", "crc_msi_high", "crc_mss", "tnbc")


def test_every_tumor_type_and_archetype_is_a_valid_cohort_with_sources():
    names = available_cohorts()
    for name in (*TUMOR_TYPES, "inflamed", "excluded", "desert"):
        assert name in names
        c = load_cohort(name)
        assert c.diagnosis_sum_mm.source and all(d.source for d in c.parameters.values())
        # a small set of parameters that make tumors differ (chemo_sensitivity only for cytotoxics)
        assert 3 <= len(c.parameters) <= 9
    for name in TUMOR_TYPES:
        c = load_cohort(name)
        assert c.tmb is not None and "10.1186/s13073-017-0424-2" in c.tmb.source
        assert c.phenotype_mix is not None
    # Every calibration target is one of calibration_targets.md's figures.
    targets = {n: load_cohort(n).calibration for n in TUMOR_TYPES}
    # melanoma: the pool of CheckMate 066, KEYNOTE-006 and ECHO-301 (test_pooled_calibration.py)
    assert [a.n for a in targets["melanoma"].pooled] == [210, 556, 352]
    assert targets["melanoma"].ae_grade3plus == 0.117
    assert targets["crc_msi_high"].orr == 0.438 and targets["crc_mss"].orr == 0.0
    assert targets["tnbc"] is None


def test_nsclc_histologies_are_calibrated_to_their_own_trials():
    """CheckMate 017 (squamous) and 057 (non-squamous) differ in median PFS (3.5 vs 2.3 months):
    each histology cohort carries its own trial's targets; the pooled cohort keeps both."""
    squamous, nonsquamous = load_cohort("nsclc_squamous"), load_cohort("nsclc_nonsquamous")
    assert squamous.tumor_type == nonsquamous.tumor_type == "nsclc"
    s, ns = squamous.calibration, nonsquamous.calibration
    assert (s.orr, s.n_trial, s.median_pfs_months, s.ae_grade3plus) == (0.20, 135, 3.5, 0.07)
    assert (ns.orr, ns.n_trial, ns.median_pfs_months, ns.ae_grade3plus) == (0.19, 292, 2.3, None)
    assert "10.1056/NEJMoa1504627" in s.source and "10.1056/NEJMoa1507643" in ns.source
    # squamous NSCLC carries more mutations than adenocarcinoma (Chalmers 2017)
    assert squamous.tmb.median > nonsquamous.tmb.median
    assert load_cohort("nsclc").calibration.n_trial == 135 + 292


def test_sampling_is_chunk_independent_and_respects_truncation():
    whole = sample_cohort("melanoma", 0, 40, seed=3)
    parts = pd.concat([sample_cohort("melanoma", s, 7, seed=3) for s in range(0, 40, 7)])
    pd.testing.assert_frame_equal(whole, parts.loc[:39])
    big = sample_cohort("melanoma", 0, 512, seed=3)
    assert big["diagnosis_sum_mm"].between(10.0, 95.0).all()
    assert big["k_C_growth"].between(0.006, 0.06).all()
    assert np.median(big["tmb"]) == pytest.approx(13.5, rel=0.15)
    assert not whole.equals(sample_cohort("melanoma", 0, 40, seed=4))


def test_tmb_mapping_is_linear_documented_and_conditioning_keeps_the_patients():
    assert neoantigen_load_from_tmb(10.0) == pytest.approx(100.0)  # human preset reference
    assert np.all(np.diff(neoantigen_load_from_tmb([0.5, 2, 10, 50])) > 0)
    with pytest.raises(ValueError, match="TMB"):
        neoantigen_load_from_tmb(-1.0)
    low = sample_cohort("nsclc", 0, 20, seed=1, tmb=2.0)
    high = sample_cohort("nsclc", 0, 20, seed=1, tmb=40.0)
    assert (low["tmb"] == 2.0).all() and (high["neoantigen_load"] == 400.0).all()
    same = [c for c in low.columns if c not in ("tmb", "neoantigen_load")]
    pd.testing.assert_frame_equal(low[same], high[same])
    with pytest.raises(ValueError, match="tmb"):
        sample_cohort("nsclc", 0, 2, seed=1, tmb=-3.0)


def test_multiplier_scales_the_median_of_the_calibrated_parameter():
    a = sample_cohort("rcc", 0, 30, seed=2)
    b = sample_cohort("rcc", 0, 30, seed=2, multipliers={"T_N0": 2.0})
    np.testing.assert_allclose(b["T_N0"], 2.0 * a["T_N0"])
    with pytest.raises(ValueError, match="not a parameter"):
        sample_cohort("rcc", 0, 2, seed=2, multipliers={"nonsense": 2.0})


def test_unknown_cohort_names_the_choices():
    with pytest.raises(ModelError, match="unknown cohort 'atlantis'.*melanoma"):
        load_cohort("atlantis")


@pytest.mark.parametrize(("edit", "field"), [
    (("sigma: 0.5, units: cell,", "sigma: -0.5, units: cell,"), "parameters.T_N0.sigma"),
    (("  T_N0:", "  T_N_typo:"), "parameters.T_N_typo"),
    (("inflamed: 0.5, excluded: 0.2", "inflamed: 0.9, excluded: 0.2"), "phenotype_mix"),
    (("base: human", "base: martian"), "base"),
    (("ae_grade3plus: 0.117", "ae_grade3plus: 1.117"), "calibration.ae_grade3plus"),
])
def test_malformed_cohort_yaml_names_file_and_field(tmp_path, edit, field):
    text = (COHORT_DIR / "melanoma.yaml").read_text()
    assert edit[0] in text
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ModelError) as info:
        load_cohort(bad)
    assert str(bad) in str(info.value) and field in str(info.value)


def test_broken_yaml_syntax_is_reported_with_the_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\nparameters: [unclosed\n")
    with pytest.raises(ModelError, match="malformed YAML"):
        load_cohort(bad)


def test_plausibility_records_the_reason_and_never_drops():
    reached = np.array([True, False, True, True, True])
    days = np.array([400.0, np.nan, 10.0, 400.0, 400.0])
    dens_p = np.array([100.0, 100.0, 100.0, 1e6, 100.0])
    dens_m = np.full(5, 100.0)
    eff = np.array([1e6, 1e6, 1e6, 1e6, 1e10])
    cancer = np.full(5, 1e10)
    reasons = plausibility(reached, days, dens_p, dens_m, eff, cancer)
    assert list(reasons) == ["", "no_diagnosis", "days_to_diagnosis",
                             "density_parenchyma_per_mm3", "effector_to_cancer_ratio"]


def test_selection_matches_a_phenotype_mix_and_is_seeded_per_patient():
    rng = np.random.default_rng(0)
    phen = rng.choice(["inflamed", "excluded", "desert"], size=4000, p=[0.6, 0.1, 0.3])
    ids = np.arange(4000)
    mix = {"inflamed": 0.3, "excluded": 0.3, "desert": 0.4}
    keep = select_to_mix(phen, ids, mix, seed=1)
    kept = pd.Series(phen[keep]).value_counts(normalize=True)
    for p, share in mix.items():
        assert kept[p] == pytest.approx(share, abs=0.03)
    # Per-patient seeding: a subset of patients gets the same decisions.
    again = select_to_mix(phen, ids, mix, seed=1)
    np.testing.assert_array_equal(keep, again)
