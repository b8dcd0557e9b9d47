"""Regulatory T cells and myeloid suppressors (MDSCs and M2-like macrophages, repolarizable to M1).

Tregs in the node consume IL-2 (priming module) and are the target of antibody-dependent
depletion by some anti-CTLA-4 antibodies (QSP-IO's Treg/ADCC module, k_CTLA4_ADCC = 0.1/day,
Richards 2008); tumor Tregs and suppressive myeloid cells lower killing per recognition, as the
Hill factors on killing in QSP-IO's MDSC and Treg modules (Wang et al. 2019/2020).

IL-2-pathway agonists expand Tregs as well as CD8 cells, by receptor bias (issue 13): Tregs carry
the high-affinity CD25 (IL-2R alpha), so CD25-binding IL-2 (aldesleukin, IL-2Fc) expands them,
while CD122-biased variants (bempegaldesleukin) mostly spare them (Charych et al. 2016 Clin Cancer
Res doi 10.1158/1078-0432.CCR-15-1631). ``k_Treg_IL2`` (0 without drug; catalog effects set it
by the agonist's CD25 affinity) drives a pool ``Treg_IL2`` of IL-2-expanded Tregs that returns to
rest at the Treg turnover rate and raises Treg recruitment into the tumor in proportion to the
expanded pool (high-dose IL-2 raises circulating Tregs 2-3-fold, Ahmadzadeh & Rosenberg 2006
Blood doi 10.1182/blood-2005-06-2399). The expansion is logistic, up to ``Treg_IL2_fold_max``
resting pools (5: weeks of daily IL-2 raise Tregs more than fivefold and no higher dose does more,
Koreth 2016 Blood 128:130, Whangbo 2019 Blood Adv 3:2550), so a sustained exposure (a depot or a
long-lived conjugate) saturates instead of growing without bound. Without an agonist the pool
stays at zero and nothing else changes.
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Model, Reaction, Species

PARAMETERS = ("Treg_LN0", "k_Treg_turn", "k_Treg_ADCC", "rho_Treg_rec", "k_Treg_death",
              "rho_M_rec", "k_M_death", "k_M_repol", "k_M_revert", "rho_M_supp", "rho_Treg_supp",
              "TGF_supp", "k_Treg_IL2", "Treg_IL2_fold_max")


def suppression(model: Model, *, params: Params) -> None:
    """Add ``Treg_LN``, ``Treg_T``, ``M2`` (MDSC/M2), ``M1`` and the suppression factor ``H_supp``."""
    add_parameters(model, params, PARAMETERS, "suppression")
    model.add(
        Species("Treg_LN", "lymph_node", "Treg_LN0", "cell", description="Tregs in the node"),
        Species("Treg_T", "tumor", 0.0, "cell", description="Tregs in the tumor"),
        Species("M2", "tumor", 0.0, "cell", description="MDSCs and M2-like macrophages"),
        Species("M1", "tumor", 0.0, "cell", description="M1-like (repolarized) macrophages"),
        Assignment("H_supp", "1 / (1 + M2 / (rho_M_supp * tumor) + Treg_T / (rho_Treg_supp * tumor)"
                   " + TGF / (TGF_supp * tumor))", "dimensionless",
                   "share of recognitions that kill despite suppression"),
        Reaction("Treg_LN_turnover", "k_Treg_turn * (Treg_LN0 - Treg_LN)", {"Treg_LN": 1},
                 "homeostasis of node Tregs"),
        Reaction("Treg_LN_ADCC", "k_Treg_ADCC * Treg_LN", {"Treg_LN": -1},
                 "antibody-dependent depletion (zero without drug)"),
        Species("Treg_IL2", "lymph_node", 0.0, "cell",
                description="Tregs expanded by IL-2-pathway agonists (node and circulation)"),
        Assignment("treg_expansion", "1 + Treg_IL2 / Treg_LN0", "dimensionless",
                   "circulating Treg pool relative to rest (IL-2-driven expansion)"),
        Reaction("Treg_IL2_expansion", "k_Treg_IL2 * (Treg_LN + Treg_IL2)"
                 " * (1 - Treg_IL2 / (Treg_IL2_fold_max * Treg_LN0))", {"Treg_IL2": 1},
                 "IL-2-agonist-driven Treg proliferation (CD25 signalling), up to its ceiling"),
        Reaction("Treg_IL2_loss", "(k_Treg_turn + k_Treg_ADCC) * Treg_IL2", {"Treg_IL2": -1},
                 "return of the expanded Tregs to rest, and their depletion"),
        Reaction("Treg_T_recruit", "rho_Treg_rec * tumor * H_CK * treg_expansion", {"Treg_T": 1},
                 "chemokine-driven Treg recruitment from the circulating pool"),
        Reaction("Treg_T_loss", "(k_Treg_death + k_Treg_ADCC) * Treg_T", {"Treg_T": -1},
                 "death and depletion of tumor Tregs"),
        Reaction("M_recruit", "rho_M_rec * tumor", {"M2": 1}, "recruitment of suppressive myeloid cells"),
        Reaction("M2_death", "k_M_death * M2", {"M2": -1}, "death"),
        Reaction("repolarization", "k_M_repol * H_IFN * M2", {"M2": -1, "M1": 1},
                 "IFN-gamma-driven repolarization toward M1"),
        Reaction("reversion", "k_M_revert * M1", {"M1": -1, "M2": 1}, "reversion to M2"),
        Reaction("M1_death", "k_M_death * M1", {"M1": -1}, "death"),
    )
