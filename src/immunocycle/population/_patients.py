"""Virtual patients of a cohort: sampling, TMB -> antigenicity, plausibility, phenotype selection.

Sampling is quasi-random (scrambled Sobol, :func:`sample_patients`): one uniform dimension per
cohort parameter, one for TMB and one for the diagnosis size, mapped through each distribution's
inverse CDF. Patient ``i`` is the same whatever the chunk it is made in. Conditioning on a TMB
value (``tmb=``) keeps the Sobol point, so the same patients differ only in antigenicity.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import pandas as pd
import yaml

from immunocycle._errors import InputError
from immunocycle._seeded import patient_uniforms
from immunocycle.population._cohort import COHORT_DIR, Cohort, load_cohort, preset_values
from immunocycle.population._sampling import Distribution, sample_patients

#: Exclusion reasons recorded per patient ("" = kept).
EXCLUSIONS = ("no_diagnosis", "days_to_diagnosis", "density_parenchyma_per_mm3",
              "density_margin_per_mm3", "effector_to_cancer_ratio")


@lru_cache(maxsize=1)
def cohort_settings() -> dict:
    """``data/cohorts/settings.yaml``: the TMB mapping and the plausibility bounds."""
    return yaml.safe_load((COHORT_DIR / "settings.yaml").read_text())


def neoantigen_load_from_tmb(tmb, neoantigens_per_tmb: float | None = None) -> np.ndarray:
    """Clonal neoantigen load from tumor mutational burden.

    ``neoantigen_load = k * TMB`` with ``k`` = 10 neoantigens per (mutation/Mb) (settings.yaml;
    Rizvi 2015 Science doi 10.1126/science.aaa1348: about 100 predicted neoantigens at about 10
    mutations/Mb). The cycle model then saturates antigenicity in the load
    (``antigenicity = load / (load + K_neo)``), so response rises with TMB and flattens at high TMB.

    Parameters
    ----------
    tmb : float or array
        Tumor mutational burden (mutations per megabase), >= 0.
    neoantigens_per_tmb : float, optional
        Slope ``k`` (default from settings.yaml).

    Returns
    -------
    ndarray
        Neoantigen load (dimensionless count).
    """
    tmb = np.asarray(tmb, dtype=float)
    if np.any(tmb < 0) or not np.all(np.isfinite(tmb)):
        raise InputError(f"TMB must be finite and >= 0 mutations/Mb (got {tmb})")
    k = cohort_settings()["tmb_mapping"]["neoantigens_per_tmb"] if neoantigens_per_tmb is None \
        else neoantigens_per_tmb
    return k * tmb


def sample_cohort(cohort: str | Cohort, start: int, count: int, seed: int, *,
                  tmb: float | None = None,
                  multipliers: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Patients ``start .. start+count-1`` of a cohort, before growth to diagnosis.

    Parameters
    ----------
    cohort : str or Cohort
    start, count : int
        Patient ids (0-based).
    seed : int
        Sobol scrambling seed.
    tmb : float, optional
        Condition on this tumor mutational burden (mutations/Mb): every patient gets it.
    multipliers : mapping of parameter -> factor, optional
        Cohort-level multipliers on a parameter's median (calibration), applied to every patient.

    Returns
    -------
    DataFrame
        Index ``patient_id``; the cohort's parameters (model units), ``neoantigen_load``,
        ``tmb`` (mutations/Mb, NaN without a TMB distribution and no ``tmb``) and
        ``diagnosis_sum_mm`` (mm).
    """
    cohort = load_cohort(cohort)
    # Uniform dimensions in a fixed order, so the same seed gives the same patients.
    dims = [*cohort.parameters, "_tmb", "_diagnosis"]
    uniform = {d: Distribution("uniform", 0.0, 1.0) for d in dims}
    return _from_uniform(cohort, sample_patients(uniform, start, count, seed), tmb, multipliers)


def median_patient(cohort: str | Cohort, *, tmb: float | None = None,
                   multipliers: Mapping[str, float] | None = None) -> dict[str, float]:
    """The cohort's median patient: every sampled quantity at the median of its distribution.

    With independent marginals, the vector of marginal medians is the patient at the center of
    the cohort; it does not depend on a sample size or seed, so every command (``diagnose``,
    ``design``, reports) reads the same patient. For an archetype cohort (medians omitted) it
    is the archetype preset itself at the median diagnosis size.

    Parameters
    ----------
    cohort : str or Cohort
    tmb : float, optional
        Condition on this tumor mutational burden (mutations/Mb).
    multipliers : mapping of parameter -> factor, optional
        Cohort-level multipliers on a parameter's median (calibration).

    Returns
    -------
    dict
        The cohort's parameters (model units), ``neoantigen_load``, ``tmb`` (mutations/Mb, NaN
        without a TMB distribution) and ``diagnosis_sum_mm`` (mm), as :func:`sample_cohort`.
    """
    cohort = load_cohort(cohort)
    dims = [*cohort.parameters, "_tmb", "_diagnosis"]
    u = pd.DataFrame({d: [0.5] for d in dims}, index=pd.RangeIndex(0, 1, name="patient_id"))
    row = _from_uniform(cohort, u, tmb, multipliers).iloc[0]
    return {k: float(v) for k, v in row.items()}


def _from_uniform(cohort: Cohort, u: pd.DataFrame, tmb: float | None,
                  multipliers: Mapping[str, float] | None) -> pd.DataFrame:
    """Patients at uniform points ``u`` (one column per cohort parameter, ``_tmb``,
    ``_diagnosis``), mapped through each distribution's inverse CDF."""
    names = list(cohort.parameters)
    defaults = preset_values(cohort)
    out = pd.DataFrame(index=u.index)
    for name in names:
        out[name] = cohort.parameters[name].ppf(u[name].to_numpy(), defaults.get(name))
    for name, factor in (multipliers or {}).items():
        if name not in out:
            raise InputError(f"multiplier on {name!r}: not a parameter of cohort {cohort.name!r} "
                             f"({', '.join(names)})")
        out[name] = out[name] * float(factor)
    if tmb is not None:
        if not np.isfinite(tmb) or tmb < 0:
            raise InputError(f"--tmb must be a number >= 0 mutations/Mb (got {tmb})")
        out["tmb"] = float(tmb)
    elif cohort.tmb is not None:
        out["tmb"] = cohort.tmb.as_distribution().ppf(u["_tmb"].to_numpy())
    else:
        out["tmb"] = np.nan
    if np.isfinite(out["tmb"]).all():
        out["neoantigen_load"] = neoantigen_load_from_tmb(out["tmb"].to_numpy())
    elif "neoantigen_load" not in out:
        out["neoantigen_load"] = defaults["neoantigen_load"]
    out["diagnosis_sum_mm"] = cohort.diagnosis_sum_mm.ppf(u["_diagnosis"].to_numpy())
    return out


def plausibility(reached: np.ndarray, days_to_diagnosis: np.ndarray,
                 density_parenchyma: np.ndarray, density_margin: np.ndarray,
                 effectors: np.ndarray, cancer_cells: np.ndarray) -> np.ndarray:
    """Exclusion reason per patient at diagnosis ("" = plausible and kept).

    Parameters
    ----------
    reached : bool array
        Whether the tumor reached its diagnosis size (pre-treatment growth).
    days_to_diagnosis : array
        Days from the seed tumor to diagnosis.
    density_parenchyma, density_margin : array
        Tumor-specific effector CD8 densities at diagnosis (cells/mm3).
    effectors, cancer_cells : array
        Effector CD8 in the tumor (parenchyma + margin) and viable cancer cells (cells).

    Returns
    -------
    ndarray of str
        The first bound a patient breaks (see :data:`EXCLUSIONS`; bounds and their rationale in
        ``data/cohorts/settings.yaml``), or "".
    """
    bounds = cohort_settings()["plausibility"]
    reason = np.full(np.shape(reached), "", dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.asarray(effectors, float) / np.asarray(cancer_cells, float)
    checks = [
        ("days_to_diagnosis", ~((days_to_diagnosis >= bounds["days_to_diagnosis"]["min"])
                                & (days_to_diagnosis <= bounds["days_to_diagnosis"]["max"]))),
        ("density_parenchyma_per_mm3",
         ~(density_parenchyma <= bounds["density_parenchyma_per_mm3"]["max"])),
        ("density_margin_per_mm3", ~(density_margin <= bounds["density_margin_per_mm3"]["max"])),
        ("effector_to_cancer_ratio", ~(ratio <= bounds["effector_to_cancer_ratio"]["max"])),
    ]
    # Later checks first, so the earliest failing check wins.
    for name, bad in reversed(checks):
        reason = np.where(bad, name, reason)
    return np.where(np.asarray(reached, bool), reason, "no_diagnosis").astype(object)


def select_to_mix(phenotypes, patient_ids, mix: Mapping[str, float], seed: int) -> np.ndarray:
    """Keep a subset of patients whose baseline phenotype mix matches ``mix`` in expectation.

    Acceptance-rejection: phenotype ``p`` is kept with probability ``a_p = (m_p / o_p) / max_q
    (m_q / o_q)`` where ``o`` are the observed shares among ``phenotypes`` and ``m`` the target
    shares, by a uniform seeded by ``(seed, patient_id)``. Run on the whole trial (after all
    chunks), so it does not depend on chunking.

    Parameters
    ----------
    phenotypes : array of str
        Baseline phenotype per patient (``inflamed``, ``excluded``, ``desert``).
    patient_ids : array of int
    mix : mapping phenotype -> share
    seed : int

    Returns
    -------
    ndarray of bool
        True for the patients kept.
    """
    phen = np.asarray(phenotypes, dtype=object)
    observed = {p: float(np.mean(phen == p)) if phen.size else 0.0 for p in mix}
    ratio = {p: (mix[p] / observed[p]) if observed[p] > 0 else 0.0 for p in mix}
    top = max(ratio.values(), default=0.0)
    if top <= 0:
        return np.zeros(phen.shape, dtype=bool)
    accept = {p: r / top for p, r in ratio.items()}
    u = patient_uniforms(seed, patient_ids, 0x5E1)
    a = np.array([accept.get(p, 0.0) for p in phen])
    return u < a


__all__ = ["EXCLUSIONS", "cohort_settings", "median_patient", "neoantigen_load_from_tmb",
           "plausibility", "sample_cohort", "select_to_mix"]
