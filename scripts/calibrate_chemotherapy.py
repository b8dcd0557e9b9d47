"""Fit the tumor-kill Emax of a chemotherapy agent to published objective response rates.

One Emax per agent (the ``chemo_kill`` effect of every catalog therapy of that agent), its EC50
kept at the literature IC50; each arm's exposure (dose, schedule, clearance, unbound fraction)
is the catalog's, so differences between formulations of one agent are predictions of their PK,
not fitted. A grid over log(Emax), then the grid point of least squared ORR error is reported.

    python scripts/calibrate_chemotherapy.py paclitaxel --cohort breast \\
        --arm paclitaxel=0.19 --arm nab_paclitaxel=0.33 --n 300 --seed 0
    python scripts/calibrate_chemotherapy.py docetaxel --cohort nsclc --arm docetaxel=0.09
    python scripts/calibrate_chemotherapy.py dacarbazine --cohort melanoma --arm dacarbazine=0.139
    python scripts/calibrate_chemotherapy.py everolimus --cohort rcc --arm everolimus=0.05 \\
        --parameter k_C_growth --grid=-0.5,-0.8,-0.95
    python scripts/calibrate_chemotherapy.py paclitaxel --cohort breast --therapy nab_paclitaxel \\
        --arm nab_paclitaxel=0.33 --field ec50_scale --grid 1.33,2,3
    python scripts/calibrate_chemotherapy.py fluorouracil --cohort crc_msi_high \\
        --arm mfolfox6=0.331 --grid 5,5.5,6

An arm may be a catalog regimen (mfolfox6: oxaliplatin + 5-FU bolus + 5-FU infusion); the Emax is
set in every therapy of the agent it holds (both 5-FU doses), the other agents keep theirs.

Targets: shared/data/calibration_targets.md (Gradishar 2005; CheckMate 017 docetaxel; CheckMate 066
dacarbazine; CheckMate 025 everolimus; KEYNOTE-177 chemotherapy, mFOLFOX6 standing in).
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np


def _with_emax(therapy, emax: float, parameter: str = "chemo_kill", field: str = "emax"):
    # field "ec50_scale": the effect's EC50 divided by the value (a formulation's own tumor
    # delivery, e.g. nab-paclitaxel's albumin transport), the agent's Emax kept
    effects = [(e.model_copy(update={"ec50": e.ec50 / emax}) if field == "ec50_scale"
                else e.model_copy(update={"emax": emax})) if e.parameter == parameter else e
               for e in therapy.effects]
    return therapy.model_copy(update={"effects": effects})


def arm_summaries(task, agent_therapies: set[str], emax: float, n: int,
                  parameter: str = "chemo_kill", field: str = "emax") -> dict[str, dict]:
    """Per arm ``{orr, orr_ci, n}`` (n evaluable) with the Emax of the agent's ``parameter``
    effect set to ``emax``."""
    from immunocycle.trial import summarize_trial

    arms = tuple(tuple(_with_emax(t, emax, parameter, field) if t.name in agent_therapies else t for t in arm)
                 for arm in task.arm_therapies)
    frame = dataclasses.replace(task, arm_therapies=arms)(0, n)
    return {a["name"]: {"orr": float(a["orr"]), "orr_ci": [float(x) for x in a["orr_ci"]],
                        "n": int(a["n"])} for a in summarize_trial(frame, task.arms)["arms"]}


def orr_at(task, agent_therapies: set[str], emax: float, n: int,
           parameter: str = "chemo_kill", field: str = "emax") -> dict[str, float]:
    """ORR per arm with the Emax of the agent's ``parameter`` effect set to ``emax``."""
    return {k: v["orr"] for k, v in
            arm_summaries(task, agent_therapies, emax, n, parameter, field).items()}


def main() -> None:
    from immunocycle.catalog import load_catalog
    from immunocycle.trial import make_task

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("agent")
    p.add_argument("--cohort", required=True)
    p.add_argument("--arm", action="append", required=True, help="ARM=ORR")
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grid", default="5,10,20,40,80,160")
    p.add_argument("--parameter", default="chemo_kill",
                   help="the effect whose Emax is fitted (k_C_growth for a cytostatic)")
    p.add_argument("--field", default="emax", choices=["emax", "ec50_scale"],
                   help="ec50_scale: fit a factor dividing the EC50 (tumor delivery) instead")
    p.add_argument("--therapy", default=None,
                   help="fit only this catalog therapy (a formulation's own effect)")
    args = p.parse_args()
    targets = dict((a.split("=")[0], float(a.split("=")[1])) for a in args.arm)
    cat = load_catalog()
    mine = ({args.therapy} if args.therapy else
            {tid for tid, t in cat.therapies.items() if t.agents[0] == args.agent})
    task = make_task(args.cohort, list(targets), seed=args.seed)
    rows = []
    for emax in (float(x) for x in args.grid.split(",")):
        arms = arm_summaries(task, mine, emax, args.n, args.parameter, args.field)
        orr = {k: v["orr"] for k, v in arms.items()}
        sse = sum((orr[a] - t) ** 2 for a, t in targets.items())
        rows.append({"emax": emax, "orr": orr, "sse": sse,
                     "orr_ci": {k: v["orr_ci"] for k, v in arms.items()},
                     "evaluable": {k: v["n"] for k, v in arms.items()}})
        print(json.dumps(rows[-1]), flush=True)
    best = min(rows, key=lambda r: r["sse"])
    print(json.dumps({"agent": args.agent, "cohort": args.cohort, "targets": targets,
                      "n": args.n, "seed": args.seed, "best": best,
                      "rmse": float(np.sqrt(best["sse"] / len(targets)))}))


if __name__ == "__main__":
    main()
