"""Checkpoints: PD-1/PD-L1 engagement in the tumor and its blockade; CTLA-4 in the node.

QSP-IO computes PD-1/PD-L1 complexes in the immunological synapse and a Hill function of them
(PD1_50, n_PD1 = 2; Jafarnejad 2019); here engagement is the quasi-steady Hill function of the
available PD-L1 (relative expression times the share not bound by anti-PD-L1) times the share
of PD-1 not bound by anti-PD-1. ``pd1_free``, ``pdl1_free`` and ``ctla4_free`` are 1 without drug;
a :class:`~immunocycle.cycle.Therapy` replaces them by concentration-driven Assignments.
"""

from __future__ import annotations

from immunocycle.cycle._params import Params, add_parameters
from immunocycle.model import Assignment, Model

PARAMETERS = ("pd1_free", "pdl1_free", "K_PDL1", "n_PD1")


def checkpoints(model: Model, *, params: Params) -> None:
    """Add ``pd1_engagement`` and the PD-1 / PD-L1 receptor occupancies (dimensionless)."""
    add_parameters(model, params, PARAMETERS, "checkpoints")
    model.add(
        Assignment("pdl1_available", "PDL1 * pdl1_free", "dimensionless",
                   "PD-L1 not bound by drug, relative to reference"),
        Assignment("pd1_engagement", "pd1_free * pdl1_available ** n_PD1 / (pdl1_available ** n_PD1"
                   " + K_PDL1 ** n_PD1)", "dimensionless", "share of PD-1 signalling (0-1)"),
        Assignment("pd1_occupancy", "1 - pd1_free", "dimensionless", "PD-1 receptor occupancy by drug"),
        Assignment("pdl1_occupancy", "1 - pdl1_free", "dimensionless",
                   "PD-L1 occupancy by drug"),
    )
