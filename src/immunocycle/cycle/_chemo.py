"""Cytotoxic chemotherapy: cell-cycle-aware kill of cancer cells and myelosuppression.

Kill: phase-specific cytotoxics (taxanes arrest cells in mitosis, topoisomerase-I poisons kill in
S phase) kill only cycling cells, so the kill is a multiple ``chemo_kill`` of the tumor's
proliferation flux (:mod:`immunocycle.cycle._cancer`, ``proliferation``), the form of the
cell-cycle-specific kill of Simeoni et al. 2004 (Cancer Res, doi 10.1158/0008-5472.CAN-03-2524;
drug effect on proliferating cells) and of Friberg & Karlsson 2003. ``chemo_kill`` is 0 without
drug; a chemotherapy raises it by an Emax law of its unbound concentration in the tumor
(:class:`immunocycle.cycle.Effect`, ``mode: add``), so schedule dependence follows from how long
the tumor's free drug stays above its IC50. ``chemo_sensitivity`` (1 in the reference patient)
is the tumor's own sensitivity, which cohorts spread between patients (intrinsic resistance).
Killed cells join the dead-cell pool and release
antigen like any death; immunogenic cell death (anthracyclines, oxaliplatin) is the separate
``icd_boost`` of the antigen module.

Myelosuppression: cytotoxics also kill dividing marrow and lymphoid progenitors. ``marrow_tox``
(0 without drug, raised by an Emax law of the drug in blood) drives a two-stage transit chain
``marrow_M1 -> marrow_M2`` with mean transit time ``2 / k_marrow`` (Friberg et al. 2002 J Clin Oncol,
doi 10.1200/JCO.2002.02.140: the neutrophil transit chain, nadir about a week after a dose), and
``marrow_reserve = 1 / (1 + marrow_M2)`` scales the naive T-cell supply and the expansion of primed
ones (:mod:`immunocycle.cycle._priming`): lymphodepletion with a neutrophil-nadir-like timing.
Without drug every term is an exact identity.
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Model, Reaction, Species

PARAMETERS = ("chemo_kill", "chemo_sensitivity", "marrow_tox", "k_marrow")


def chemotherapy(model: Model, *, params: Params) -> None:
    """Add the chemotherapy kill of cycling cancer cells and the marrow transit chain."""
    add_parameters(model, params, PARAMETERS, "chemotherapy")
    model.add(
        Assignment("cancer_deaths_chemo", "chemo_sensitivity * chemo_kill * proliferation",
                   "cell/day",
                   "cycling cancer cells killed by cytotoxic chemotherapy"),
        Reaction("C_chemo", "cancer_deaths_chemo", {"C": -1, "C_dead": 1},
                 "cell-cycle-specific kill (a multiple of the proliferation flux)"),
        Species("marrow_M1", "blood", 0.0, "dimensionless",
                description="marrow suppression signal, first transit stage"),
        Species("marrow_M2", "blood", 0.0, "dimensionless",
                description="marrow suppression signal, second transit stage"),
        Reaction("marrow_hit", "k_marrow * marrow_tox", {"marrow_M1": 1},
                 "cytotoxic hit to dividing progenitors"),
        Reaction("marrow_transit", "k_marrow * marrow_M1", {"marrow_M1": -1, "marrow_M2": 1},
                 "transit to stage 2"),
        Reaction("marrow_recovery", "k_marrow * marrow_M2", {"marrow_M2": -1}, "recovery"),
        Assignment("marrow_reserve", "1 / (1 + marrow_M2)", "dimensionless",
                   "share of the normal T-cell supply left by myelosuppression"),
    )


__all__ = ["PARAMETERS", "chemotherapy"]
