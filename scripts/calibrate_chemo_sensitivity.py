"""Fit a cohort's median intrinsic chemotherapy sensitivity to its chemotherapy comparator's ORR.

The agent's potency (the ``chemo_kill`` Emax of the catalog) is fitted once, on evidence about
that agent alone (scripts/calibrate_chemotherapy.py); how sensitive a tumor type is to it is a
property of the tumor type, fitted here as the median of ``chemo_sensitivity`` (lognormal, spread
``--sigma``) on the cohort's own chemotherapy comparator arm, as the cohort's T_N0 is fitted on its
own checkpoint arm. A grid over the median; the point of least squared ORR error is reported.

    python scripts/calibrate_chemo_sensitivity.py urothelial --arm paclitaxel=0.114 \\
        --grid 1,2,4 --n 200 --seed 0

Targets: shared/data/calibration_targets.md (KEYNOTE-045 investigator's chemotherapy 11.4%).
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    from immunocycle.population import load_cohort
    from immunocycle.trial import make_task, summarize_trial

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cohort")
    p.add_argument("--arm", required=True, help="ARM=ORR")
    p.add_argument("--sigma", type=float, default=1.0)
    p.add_argument("--grid", default="1,2,4")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    arm, target = args.arm.split("=")
    base = load_cohort(args.cohort)
    rows = []
    for median in (float(x) for x in args.grid.split(",")):
        dist = base.parameters.get("chemo_sensitivity")
        spec = {"kind": "lognormal", "median": median, "sigma": args.sigma,
                "units": "dimensionless", "source": "grid point"}
        new = (dist.model_copy(update=spec) if dist is not None
               else type(next(iter(base.parameters.values())))(**spec))
        cohort = base.model_copy(update={"parameters": {**base.parameters,
                                                        "chemo_sensitivity": new}})
        task = make_task(cohort, [arm], seed=args.seed)
        orr = float(summarize_trial(task(0, args.n), task.arms)["arms"][0]["orr"])
        rows.append({"median": median, "orr": orr, "sse": (orr - float(target)) ** 2})
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"cohort": args.cohort, "arm": arm, "target": float(target),
                      "sigma": args.sigma, "n": args.n, "seed": args.seed,
                      "best": min(rows, key=lambda r: r["sse"])}))


if __name__ == "__main__":
    main()
