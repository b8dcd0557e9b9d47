"""Effector CD8 T cells from blood to the tumor: trafficking, infiltration, recognition, killing,
exhaustion (steps 4 to 7).

Blood effectors enter the tumor margin in proportion to tumor perfusion and chemokine (QSP-IO's
recruitment scales with tumor volume, Sove 2020); they cross the stroma into the parenchyma at a
rate divided by the stromal barrier (TGF-beta-driven matrix, the excluded phenotype); there they
recognize cancer cells (saturable in cancer cells, QSP-IO's T x C / (C + T + K) form, scaled by
MHC-I and vetoed by PD-1 engagement; resident memory cells ``T_RM`` of the memory module
recognize and kill as effectors do), kill a share of the recognized cells (reduced by Tregs,
myeloid suppressors and TGF-beta) and exhaust under chronic PD-1 engagement and Treg pressure.

Killing has two paths. The CD8 path is vetoed by PD-1 engagement; CTLA-4 blockade adds a second
one that PD-1 does not veto: it expands ICOS+ Th1-like CD4 effectors and engages exhausted-like
CD8 subsets, where anti-PD-1 expands exhausted-like CD8 subsets only (Wei 2017 Cell 170:1120 doi
10.1016/j.cell.2017.07.024). The helped path acts through every tumor-specific CD8 cell in the
parenchyma, exhausted ones included:

    J6_open = k_rec f_antigen f_MHC T_cyt C / (C + T_cyt + K_C_rec)   (recognition opportunities)
    J6 = J6_open (1 - pd1_engagement)
    J6_help = k_rec f_antigen f_MHC (T_cyt + T_X) C / (C + T_cyt + T_X + K_C_rec)
    J7 = p_kill H_supp (J6 + ctla4_help J6_help)

``ctla4_help`` is 0 without CTLA-4 blockade. The two blockades therefore add their kill rates
instead of multiplying one: a multiplicative CTLA-4 effect on ``p_kill`` made every patient whom
PD-1 blockade alone left short a responder to the pair (Bliss excess +26 to +35 ORR points), and
a helped path through the non-exhausted cells alone grew with the effectors PD-1 blockade keeps
from exhaustion (issue 13, session 21).
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Compartment, Model, Reaction, Species

PARAMETERS = ("V_blood", "F_T", "E_T", "K_CK", "k_MP", "k_TM_death", "k_rec", "K_C_rec", "K_MHC",
              "p_kill", "ctla4_help", "k_exh", "r_exh_Treg", "k_X_death")


def effectors(model: Model, *, params: Params) -> None:
    """Add blood, margin, parenchymal and exhausted effectors and the fluxes ``J5``-``J7``."""
    add_parameters(model, params, PARAMETERS, "effectors")
    model.add(
        Compartment("blood", "V_blood", "L", "blood (central compartment)"),
        Species("T_E_B", "blood", 0.0, "cell", description="tumor-specific effector CD8 in blood"),
        Species("T_E_M", "tumor", 0.0, "cell",
                description="effector CD8 held in the tumor margin and stroma"),
        Species("T_E_P", "tumor", 0.0, "cell", description="effector CD8 in the tumor parenchyma"),
        Species("T_X", "tumor", 0.0, "cell", description="exhausted CD8 in the tumor"),
        Assignment("H_CK", "CK / (CK + K_CK * tumor)", "dimensionless", "chemokine-driven recruitment"),
        Assignment("recruitment", "E_T * F_T * tumor * T_E_B / V_blood * H_CK", "cell/day",
                   "effectors entering the tumor margin from blood"),
        Assignment("J5", "k_MP * T_E_M / (1 + S)", "cell/day",
                   "step 5: effector cells entering the tumor parenchyma"),
        Assignment("f_MHC", "MHC / (MHC + K_MHC)", "dimensionless",
                   "antigen display by MHC-I on cancer cells"),
        Assignment("T_cyt", "T_E_P + T_RM", "cell",
                   "cytotoxic CD8 in the parenchyma: effectors and resident memory cells"),
        Assignment("J6_open", "k_rec * f_antigen * f_MHC * T_cyt * C / (C + T_cyt + K_C_rec)",
                   "event/day", "recognition opportunities of the cytotoxic cells"),
        Assignment("J6", "J6_open * (1 - pd1_engagement)", "event/day",
                   "step 6: productive recognition events (not vetoed by PD-1)"),
        Assignment("J6_help", "k_rec * f_antigen * f_MHC * (T_cyt + T_X) * C"
                   " / (C + T_cyt + T_X + K_C_rec)", "event/day",
                   "recognition opportunities of the cytotoxic and exhausted cells (CTLA-4 path)"),
        Assignment("J7", "p_kill * H_supp * (J6 + ctla4_help * J6_help)", "cell/day",
                   "step 7: cancer cells killed by T cells (the CD8 path and the PD-1-independent"
                   " path of CTLA-4 blockade)"),
        Assignment("exhaustion", "k_exh * (pd1_engagement + r_exh_Treg * Treg_T / (Treg_T + T_E_P"
                   " + K_C_rec)) * T_E_P * C / (C + K_C_rec)", "cell/day",
                   "exhaustion under chronic antigen, PD-1 engagement and Treg pressure"),
        Reaction("blood_arrival", "J4", {"T_E_B": 1}, "arrival from the node"),
        Reaction("T_E_B_death", "k_TE_death * T_E_B", {"T_E_B": -1}, "death in blood"),
        Reaction("margin_entry", "recruitment", {"T_E_B": -1, "T_E_M": 1}, "extravasation"),
        Reaction("infiltration", "J5", {"T_E_M": -1, "T_E_P": 1}, "crossing the stroma"),
        Reaction("T_E_M_death", "k_TM_death * T_E_M", {"T_E_M": -1}, "death in the margin"),
        Reaction("T_E_P_death", "k_TE_death * T_E_P", {"T_E_P": -1}, "death in the parenchyma"),
        Reaction("exhaust", "exhaustion", {"T_E_P": -1, "T_X": 1}, "exhaustion"),
        Reaction("T_X_death", "k_X_death * T_X", {"T_X": -1}, "death of exhausted cells"),
    )
