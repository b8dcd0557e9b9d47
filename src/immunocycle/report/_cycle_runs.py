"""Write a cycle-model run: time courses, the step-flux table, figures and the summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from immunocycle._provenance import provenance, write_json
from immunocycle.cycle import FLUXES, CycleResult, plot_cycle_diagram, plot_tumor_diameter


def write_cycle_run(result: CycleResult, out: str | Path, **inputs: Any) -> dict[str, Path]:
    """Write ``timecourses.parquet``, ``fluxes.csv``, ``tumor_diameter.png``, ``cycle.png``,
    ``summary.json`` and ``inputs.json`` under ``out``; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    label = "+".join(result.therapies) or "untreated"
    paths = {"timecourses": out / "timecourses.parquet", "fluxes": out / "fluxes.csv",
             "diameter_figure": out / "tumor_diameter.png", "cycle_figure": out / "cycle.png"}
    result.frame.to_parquet(paths["timecourses"], index=False)
    columns = ["patient", "time", *FLUXES, "cycle_gain", "limiting_step", "phenotype"]
    result.frame[[c for c in columns if c in result.frame]].to_csv(paths["fluxes"], index=False)
    plot_tumor_diameter({label: result}, path=paths["diameter_figure"])
    plot_cycle_diagram(summary, path=paths["cycle_figure"],
                       title=f"{result.preset}: {label} (at diagnosis)")
    paths["summary"] = write_json(out / "summary.json", summary)
    paths["inputs"] = write_json(out / "inputs.json", provenance(
        preset=result.preset, therapies=result.therapies, **inputs))
    return paths
