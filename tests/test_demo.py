"""The demo: diagnose -> design -> confirmatory trial on the embedded cold cohort, one report.

It runs on small sizes here (the same code as ``immunocycle demo``); the run folder is shared with
the report tests (built once per session).
"""

import json

from immunocycle._demo import DemoSettings
from test_report_render import SMALL, shared_run_folder


def test_demo_writes_diagnosis_design_trial_and_report(tmp_path_factory):
    run = shared_run_folder(tmp_path_factory)
    for part in ("report.html", "inputs.json", "design.json", "screen.csv",
                 "diagnosis/diagnosis.json", "design_trial/patients.parquet",
                 "trial/patients.parquet", "trial/summary.json"):
        assert (run / part).is_file(), part
    inputs = json.loads((run / "inputs.json").read_text())["inputs"]
    assert inputs["command"].startswith("immunocycle demo --out")
    assert inputs["cohort"] == DemoSettings().cohort and inputs["design_n"] == SMALL["design_n"]

    design = json.loads((run / "design.json").read_text())
    assert design["target"] == "cohort:excluded"
    limit = inputs["ae_limit"]
    assert all(r["ae_grade3plus_rate"] <= limit for r in design["recommendations"])

    arms = json.loads((run / "trial" / "summary.json").read_text())["arms"]
    assert arms[0]["name"] == "nivolumab" and len(arms) == 3
    # A cold cohort: PD-1 blockade alone does poorly; the designed regimens do better on new
    # patients (the confirmatory trial uses another seed than the design).
    assert arms[0]["orr"] < 0.25
    best = arms[1]
    assert best["orr"] > arms[0]["orr"]
    assert best["name"] == next(r["regimen"] for r in design["recommendations"]
                                if r["regimen"] != "nivolumab")
