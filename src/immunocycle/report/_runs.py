"""Write a simulation's outputs: Parquet time courses, a PNG figure, and the resolved inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from immunocycle._provenance import provenance, write_json
from immunocycle.engine import SimulationResult
from immunocycle.model import Model
from immunocycle.report._timecourse import plot_timecourses


def write_simulation(result: SimulationResult, model: Model, out: str | Path,
                     **inputs: Any) -> dict[str, Path]:
    """Write ``timecourses.parquet``, ``timecourses.png`` and ``inputs.json`` under ``out``.

    ``inputs.json`` holds every parameter value used (with units and sources), the doses, the
    solver settings and the provenance record, so the run can be repeated.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = {n: {"value": float(result.parameters[n].iloc[0]) if result.n == 1 else None,
                  "units": p.units, "source": p.source} for n, p in model.parameters.items()}
    doses = [{"name": d.name, "target": d.target, "amount": d.amount, "times": list(d.times),
              "duration": d.duration} for d in model.doses]
    record = provenance(model=model.name, model_source=model.source, parameters=params,
                        doses=doses, solver=result.provenance, **inputs)
    paths = {"timecourses": result.to_parquet(out / "timecourses.parquet"),
             "figure": out / "timecourses.png", "inputs": write_json(out / "inputs.json", record)}
    units = {n: s.units for n, s in model.species.items()}
    plot_timecourses(result, path=paths["figure"], time_units=model.time_units, units=units)
    return paths


def write_pk_run(result, out: str | Path) -> dict[str, Any]:
    """Write a PBPK result's run files under ``out`` (``pct_id_by_organ.csv``,
    ``organ_distribution.png``, ``tumor_ln_blood.png``) and return its summary: delivery
    metrics, whether the particle is outside the property model's domain (with notes), and the
    free payload's AUC."""
    from immunocycle.pk import plot_organ_distribution, plot_tumor_ln_blood

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result.pct_id.to_csv(out / "pct_id_by_organ.csv")
    plot_organ_distribution(result, out / "organ_distribution.png")
    plot_tumor_ln_blood(result, out / "tumor_ln_blood.png")
    summary = result.summary()
    summary.update(out_of_domain=result.out_of_domain, domain_notes=result.domain_notes,
                   free_payload_auc=result.free_payload_auc)
    return summary
