"""Tumor-specific memory CD8 T cells: formed at contraction, kept without antigen, recalled by it.

After an expansion most effector CD8 T cells die and 5-10 % survive the contraction as memory
cells (Badovinac et al. 2002 Nat Immunol, doi 10.1038/ni804; Kaech & Wherry 2007 Immunity,
doi 10.1016/j.immuni.2007.08.009). Here a share ``f_mem`` of the effectors lost by contraction
(deaths in excess of arrivals, so none while a pool is fed: under persisting antigen CD8 T cells
do not form antigen-independent memory, Wherry et al. 2004 PNAS, doi 10.1073/pnas.0407192101)
becomes memory instead, in two pools:

* ``T_mem``, circulating memory, from contracting blood effectors. It needs no antigen and
  declines slowly (human antiviral CD8 memory: half-life 8-15 years, Hammarlund et al. 2003 Nat
  Med, doi 10.1038/nm917). The share ``f_mem_LN`` in the tumor-draining nodes at a time meets the
  node's mature antigen-loaded DCs and is recalled by the same law as naive priming (``k_prime``,
  DC help, CTLA-4 brake) into the expanding pool ``T_act``, with the same division destiny: a
  relapse that raises antigen re-expands effectors from a pool far larger than the naive one
  (memory cells respond faster and to less antigen, Veiga-Fernandes et al. 2000 Nat Immunol,
  doi 10.1038/76907).
* ``T_RM``, tissue-resident memory in the tumor bed, from contracting parenchymal effectors. Resident
  memory cells stay in the tissue, patrol it and kill on local antigen without recruitment from
  blood (Ariotti et al. 2014 Science, doi 10.1126/science.1254803), and hold melanoma in an
  immune equilibrium in mouse skin (Park et al. 2019 Nature, doi 10.1038/s41586-018-0812-9). They
  recognize and kill as parenchymal effectors do (``T_cyt`` of the effector module) and are lost
  slowly (``k_RM_loss``).
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Model, Reaction, Species

PARAMETERS = ("f_mem", "k_mem_loss", "f_mem_LN", "k_RM_loss")


def memory(model: Model, *, params: Params) -> None:
    """Add circulating (``T_mem``) and tumor-resident (``T_RM``) memory CD8: formation at contraction,
    slow loss, recall of ``T_mem`` in the node."""
    add_parameters(model, params, PARAMETERS, "memory")
    model.add(
        Species("T_mem", "blood", 0.0, "cell",
                description="tumor-specific memory CD8 T cells (recirculating through blood and "
                            "lymphoid organs)"),
        Species("T_RM", "tumor", 0.0, "cell",
                description="tumor-specific resident memory CD8 T cells in the tumor bed"),
        # Contraction: the pool shrinks by death faster than it is fed (positive part).
        Assignment("blood_net_death", "k_TE_death * T_E_B - J4", "cell/day",
                   "blood effector deaths minus arrivals from the node"),
        Assignment("contraction_blood", "(blood_net_death + abs(blood_net_death)) / 2", "cell/day",
                   "blood effectors dying in excess of arrivals (zero while the pool is fed)"),
        Assignment("parenchyma_net_death", "k_TE_death * T_E_P - J5", "cell/day",
                   "parenchymal effector deaths minus arrivals across the stroma"),
        Assignment("contraction_tumor", "(parenchyma_net_death + abs(parenchyma_net_death)) / 2",
                   "cell/day", "parenchymal effectors dying in excess of arrivals"),
        Assignment("memory_formation", "f_mem / (1 - f_mem) * contraction_blood", "cell/day",
                   "contracting blood effectors surviving as circulating memory (share f_mem)"),
        Assignment("resident_formation", "f_mem / (1 - f_mem) * contraction_tumor", "cell/day",
                   "contracting parenchymal effectors surviving as resident memory (share f_mem)"),
        # Recall is gated by the homeostatic space (priming module): with the space full a
        # memory cell is not consumed for an expansion that cannot happen.
        Assignment("memory_recall",
                   "k_prime * H_DC * (1 - ctla4_brake) * f_mem_LN * T_mem * H_space",
                   "cell/day", "memory cells in the draining nodes recalled by mature DCs, "
                               "within the free homeostatic space"),
        Reaction("memory_form", "memory_formation", {"T_E_B": -1, "T_mem": 1},
                 "effector-to-memory transition at contraction"),
        Reaction("T_mem_loss", "k_mem_loss * T_mem", {"T_mem": -1},
                 "slow net loss of the memory pool (homeostatic renewal included)"),
        Reaction("recall", "memory_recall", {"T_mem": -1}, "recall by antigen in the node"),
        Reaction("recall_commitment", "memory_recall * expansion * marrow_reserve", {"T_act": 1},
                 "each recalled memory cell commits to the same IL-2-set divisions as a naive one"),
        Reaction("resident_form", "resident_formation", {"T_E_P": -1, "T_RM": 1},
                 "effector-to-resident-memory transition at contraction in the tumor"),
        Reaction("T_RM_loss", "k_RM_loss * T_RM", {"T_RM": -1}, "slow loss of resident memory"),
    )


__all__ = ["PARAMETERS", "memory"]
