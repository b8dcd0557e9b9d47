"""Diagnosis (which step limits the cycle, why) and design (what to do about it).

    from immunocycle.design import diagnose
    d = diagnose("excluded")
    d.limiting_step, d.step_scores, list(d.barriers.index[:3])
    d.write("results/diagnose")
"""

from immunocycle.design._bench import bench_screen
from immunocycle.design._design import Design, confirm, design
from immunocycle.design._diagnose import (
    Diagnosis,
    diagnose,
    rank_barriers,
    reference_ratios,
    step_scores,
)
from immunocycle.design._figures import plot_elasticities, plot_step_scores
from immunocycle.design._rank import pareto_front, rank
from immunocycle.design._sensitivity import (
    Elasticities,
    GlobalSensitivity,
    global_sensitivity,
    local_elasticities,
    step_parameters,
)
from immunocycle.design._synergy import BlissExcess, Synergy, bliss_excess, synergy

__all__ = [
    "BlissExcess", "Design", "Synergy", "bliss_excess", "confirm", "design", "pareto_front",
    "bench_screen", "rank", "synergy",
    "Diagnosis", "Elasticities", "GlobalSensitivity", "diagnose",
    "global_sensitivity", "local_elasticities", "plot_elasticities",
    "plot_step_scores", "rank_barriers", "reference_ratios", "step_parameters", "step_scores",
]
