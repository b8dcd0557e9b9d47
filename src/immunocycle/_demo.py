"""``immunocycle demo``: the main job on embedded defaults.

For the three immune archetypes (inflamed, excluded, desert) it grows a patient to diagnosis,
reads the cancer-immunity cycle (step fluxes, rate-limiting step, phenotype), treats with
nivolumab 3 mg/kg Q2W and with nivolumab plus a lower stromal barrier, and writes one
self-contained HTML report with the figures and the inputs needed to reproduce it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from immunocycle._provenance import provenance, write_json
from immunocycle.cycle import simulate_cycle
from immunocycle.cycle._figures import plot_cycle_diagram, plot_tumor_diameter
from immunocycle.report._html import figure_tag, table_tag, write_html

ARCHETYPES = ("inflamed", "excluded", "desert")
DAYS = 168.0
#: A step-5 lever (stromal barrier lowered 10-fold from diagnosis, e.g. anti-TGF-beta or
#: hyaluronidase), shown next to PD-1 blockade alone.
BARRIER_LOWERED = {"barrier_scale": 0.1}


def run_demo(out: str | Path, *, seed: int = 0) -> list[Path]:
    """Simulate the archetypes untreated and treated; write ``report.html`` and its data."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, sections = [], []
    for preset in ARCHETYPES:
        arms = {
            "untreated": simulate_cycle(preset, [], days=DAYS),
            "nivolumab": simulate_cycle(preset, ["nivolumab"], days=DAYS),
            "nivolumab + barrier lowered": simulate_cycle(preset, ["nivolumab"], days=DAYS,
                                                          treatment_parameters=BARRIER_LOWERED),
        }
        base = arms["untreated"].summary()
        for label, res in arms.items():
            s = res.summary()
            rows.append({"archetype": preset, "arm": label, "phenotype at diagnosis": s["phenotype_at_start"],
                         "limiting step": s["limiting_step"], "cycle gain": s["cycle_gain"],
                         "diameter start (mm)": s["diameter_mm_start"],
                         "diameter day 168 (mm)": s["diameter_mm_end"],
                         "PD-1 occupancy": s["pd1_occupancy_mean"]})
        diam = plot_tumor_diameter(arms, path=out / f"{preset}_diameter.png")
        ring = plot_cycle_diagram(base, path=out / f"{preset}_cycle.png", title=f"{preset} at diagnosis")
        sections.append((f"{preset.capitalize()} tumor", "<div class='figs'>"
                         + figure_tag(ring, f"{preset}: the seven step fluxes at diagnosis; red: rate-limiting step")
                         + figure_tag(diam, f"{preset}: tumor diameter under each arm") + "</div>"))
    table = pd.DataFrame(rows)
    table.to_csv(out / "summary.csv", index=False)
    inputs = provenance(archetypes=list(ARCHETYPES), days=DAYS, therapies=["nivolumab"],
                        treatment_parameters=BARRIER_LOWERED, seed=seed,
                        command=f"immunocycle demo --out {out} --seed {seed}")
    write_json(out / "inputs.json", inputs)
    intro = ("<p>Which step of the cancer-immunity cycle limits each archetype, and what PD-1 "
             "blockade alone or with a lower stromal barrier does to the tumor. Model: QSP-IO-style "
             "seven-step cycle (Sove 2020, doi 10.1002/psp4.12546).</p>")
    report = write_html(out / "report.html", "immunocycle demo: immune archetypes under PD-1 blockade",
                        [("Summary", intro + table_tag(table)), *sections,
                         ("Reproduce", f"<p><code>{inputs['inputs']['command']}</code> "
                          f"(immunocycle {inputs['immunocycle_version']}, git {inputs['git_revision']})</p>")])
    return [report, out / "summary.csv", out / "inputs.json"]
