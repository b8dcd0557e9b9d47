"""Derive ``data/trial/cap_conditioning.yaml``: for every cohort calibrated to an ORR, the
multiplier on its calibrated parameter that keeps its calibration regimen at the fitted ORR when
a cap that every PD-1 arm meets (``f_CD8_space``, ``K_neo_kill``) is x0.25, x0.5, x2 or x4 of
its value (:mod:`immunocycle.trial._conditioning`). Trials and designs draw those caps within
the range this allows, with the matching multiplier.

    python scripts/condition_cap_priors.py --jobs 2            # all cohorts, ~5 min on 2 cores
    python scripts/condition_cap_priors.py --cohort melanoma   # one cohort, printed, not written
"""

from __future__ import annotations

import argparse
import json

from immunocycle.trial._conditioning_fit import derive, fit_cohort


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", help="fit one cohort and print it (nothing is written)")
    parser.add_argument("--n", type=int, default=300, help="virtual patients (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="processes (cohorts in parallel)")
    args = parser.parse_args()
    if args.cohort:
        print(json.dumps(fit_cohort(args.cohort, n=args.n, seed=args.seed), indent=2))
    else:
        print(derive(n=args.n, seed=args.seed, jobs=args.jobs))


if __name__ == "__main__":
    main()
