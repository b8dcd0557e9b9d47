"""``immunocycle demo``: the main job on an embedded default, diagnose -> design -> confirm.

The default is the immune-excluded archetype cohort (``population`` cohort ``excluded``): a
cold tumor where PD-1 blockade alone does poorly. The demo

1. diagnoses the cohort: the rate-limiting step of the cancer-immunity cycle, the barriers
   behind it (catalog, with evidence), the step profile (radar);
2. designs regimens: catalog nano-immunotherapies and combinations (up to three agents with
   nivolumab) screened on the cohort's median patient, the best confirmed in a small trial,
   ranked by ORR and PFS under an adverse-event limit, with the Pareto front, synergy and the
   comparison of each nano-formulation with its free drug at the same dose;
3. runs a confirmatory virtual trial of the two best regimens against nivolumab alone on new
   patients;

and writes one self-contained ``report.html`` (:func:`immunocycle.report.render_report`), with
the data and inputs to reproduce it. ``immunocycle report DIR`` renders the folder again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from immunocycle._provenance import provenance, write_json


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of the demo (defaults: a few minutes on 2 cores).

    Attributes
    ----------
    cohort : str
        Cohort designed for.
    design_n, confirm_n : int
        Patients of the design's confirming trial and of the confirmatory trial.
    budget : int
        Regimens kept after the screen.
    max_agents : int
    ae_limit : float
        Largest grade >= 3 adverse-event rate of a recommendation.
    days : float
        Follow-up (days).
    replicates : int, optional
        Effect-size replicates of the design's and the confirmatory trial (default 20,
        ``data/trial/uncertainty.yaml``; 0: none): prediction intervals and
        ``p_beats_comparator``.
    """

    cohort: str = "excluded"
    design_n: int = 40
    confirm_n: int = 200
    budget: int = 3
    max_agents: int = 3
    ae_limit: float = 0.5
    days: float = 168.0
    replicates: int | None = None


def run_demo(out: str | Path, *, seed: int = 0, settings: DemoSettings | None = None,
             progress: bool = True) -> Path:
    """Diagnose, design and confirm on the default cohort; return the report's path."""
    from immunocycle.design import confirm, design
    from immunocycle.report import render_report

    s = settings or DemoSettings()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = design(cohort=s.cohort, max_agents=s.max_agents, ae_limit=s.ae_limit,
                    budget=s.budget, n=s.design_n, seed=seed, days=s.days,
                    global_analysis=True, replicates=s.replicates)
    # The design's own small trial is kept beside the confirmatory one the report draws.
    result.write(out, trial_dir="design_trial")
    _, summary = confirm(result, n=s.confirm_n, seed=seed + 1, out=out / "trial",
                         progress=progress, replicates=s.replicates)
    write_json(out / "trial" / "summary.json", {"arms": summary, "cohort": s.cohort,
                                                 "n": s.confirm_n, "seed": seed + 1})
    command = f"immunocycle demo --out {out} --seed {seed}"
    write_json(out / "inputs.json", provenance(command=command, seed=seed, **vars(s)))
    return render_report(out)
