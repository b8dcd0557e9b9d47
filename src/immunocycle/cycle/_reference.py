"""Derive the reference transfer ratios of ``analysis.yaml`` again from the human preset.

Kept apart from :mod:`immunocycle.cycle._analysis` (which only reads them) so that the analysis
module does not import the simulator that imports it. Run ``python -m immunocycle.cycle._reference``
and copy the printed ratios into ``data/cycle/analysis.yaml`` when the human preset changes.
"""

from __future__ import annotations

from immunocycle.cycle._analysis import state_ratios
from immunocycle.cycle._simulate import simulate_cycle


def derive_reference_ratios() -> dict[str, float]:
    """Transfer ratios r1..r7 of the human reference preset at diagnosis (30 mm)."""
    start = simulate_cycle("human", days=1.0).patient(0).iloc[0]
    ratios = state_ratios(start)
    return {f"r{k + 1}": float(v) for k, v in enumerate(ratios)}


__all__ = ["derive_reference_ratios"]


if __name__ == "__main__":  # print the reference ratios for analysis.yaml
    print(derive_reference_ratios())
