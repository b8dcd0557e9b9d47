"""Fit the anti-CTLA-4 irAE intercept (``data/cohorts/toxicity.yaml`` ``immune_ctla4``) to
KEYNOTE-006: grade 3-5 treatment-related AEs 19.9% with ipilimumab 3 mg/kg Q3W x4 in melanoma
(Robert 2015 NEJM 372:2521, doi 10.1056/NEJMoa1503093; calibration_targets.md second round).

The melanoma cohort's AE offset stays the one fitted to CheckMate 066 (nivolumab 11.7%); only the
intercept of the CTLA-4 law moves, so that the mean P(any grade >= 3 AE) of the ipilimumab arm on
the cohort's patients equals the target. Pembrolizumab (KEYNOTE-006 10.1-13.3%) is a check.

    python scripts/calibrate_ctla4_ae.py --n 300 --seed 0
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.optimize import brentq


def main() -> None:
    from immunocycle.trial import make_task, summarize_trial
    from immunocycle.trial._toxicity import any_ae_probability, load_toxicity

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target", type=float, default=0.199)
    a = p.parse_args()
    task = make_task("melanoma", ["ipilimumab", "pembrolizumab"], seed=a.seed, days=84.0)
    frame = task(0, a.n)
    frame = frame[frame["evaluable"]]
    laws = load_toxicity()
    ipi = frame[frame["arm"] == "ipilimumab"]

    def mean_any(intercept: float) -> float:
        law = laws.types["immune_ctla4"].model_copy(update={"intercept": intercept})
        trial_laws = laws.model_copy(update={"types": {**laws.types, "immune_ctla4": law}})
        return float(np.mean(any_ae_probability(ipi, task.ae_offset, trial_laws)))

    fitted = brentq(lambda b: mean_any(b) - a.target, -8.0, 4.0, xtol=1e-6)
    summary = summarize_trial(frame, task.arms, seed=a.seed)
    print(json.dumps({"intercept": round(fitted, 4), "current_intercept":
                      laws.types["immune_ctla4"].intercept,
                      "current_ipilimumab_expected": round(mean_any(
                          laws.types["immune_ctla4"].intercept), 4),
                      "n_evaluable": int(len(ipi)), "ae_offset": task.ae_offset,
                      "realized_now": {r["name"]: r["ae_grade3plus_rate"]
                                       for r in summary["arms"]}}, indent=1))


if __name__ == "__main__":
    main()
