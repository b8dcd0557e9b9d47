"""``immunocycle pk``: nanoparticle PBPK of one formulation, or the property model's
cross-validation."""

from __future__ import annotations

from pathlib import Path

import typer

from immunocycle._console import console, overwrite_option, writes_run
from immunocycle._errors import InputError


@writes_run("pk")
def pk(
    carrier: str = typer.Option(None, "--carrier", help="Carrier class (Organic, Inorganic, Hybrid, or "
                                "liposome, polymeric, gold, ...)."),
    diameter: float = typer.Option(None, "--diameter", help="Hydrodynamic diameter, nm."),
    zeta: float = typer.Option(None, "--zeta", help="Zeta potential, mV."),
    shape: str = typer.Option("Spherical", "--shape", help="Spherical, Rod, Flake, Plate, Irregular, Other."),
    targeted: bool = typer.Option(False, "--targeted", help="Actively targeted (ligand)."),
    route: str = typer.Option("iv", "--route", help="iv, sc, id or it."),
    dose: float = typer.Option(None, "--dose", help="Carrier dose, mg/kg."),
    species: str = typer.Option("mouse", "--species", help="mouse or human."),
    payload: str = typer.Option(None, "--payload", help="Payload (doxorubicin, nivolumab)."),
    release_rate: float = typer.Option(0.005, "--release-rate", min=0.0, help="Payload release, 1/h."),
    cancer_type: str = typer.Option("colon", "--cancer-type", help="Tumor origin for the property model."),
    days: float = typer.Option(7.0, "--days", min=0.1, help="Simulated days."),
    out: Path = typer.Option(Path("results/pk"), "--out", help="Output folder."),
    evaluate: bool = typer.Option(False, "--evaluate", help="Cross-validate the property model instead."),
    human: bool = typer.Option(False, "--human", help="With --evaluate: compare the human PBPK with "
                               "clinical nanomedicine PK (half-life, clearance, Vss; leave-one-out)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Recorded for reproducibility."),
    overwrite: bool = overwrite_option(),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary to stdout."),
) -> None:
    """Nanoparticle PBPK of one formulation: %ID per organ over time, delivery, exposures.

    Writes pct_id_by_organ.csv, summary.json and figures (PNG); --evaluate checks the property model.

    Example: immunocycle pk --carrier liposome --diameter 100 --dose 5 --route iv
    """
    from immunocycle._inputs import check_number, check_time_grid
    from immunocycle._provenance import provenance, write_json

    days = check_time_grid(days, 24.0)  # the PK grid is hourly
    # the particle's numbers are checked by Particle (finite, positive); the release here
    check_number(release_rate, "--release-rate", low=0.0)
    if human and not evaluate:
        raise InputError("--human: only with --evaluate (use --species human to simulate a human)")
    if evaluate and human:
        from immunocycle.pk import evaluate_human

        summary = evaluate_human()
    elif evaluate:
        from immunocycle.pk import DeliveryModel, load_nanotumor, stored_comparison

        summary = DeliveryModel().evaluate(load_nanotumor())
        summary["shipped_model"] = "extra_trees"
        summary["candidates"] = stored_comparison() or {
            "missing": "no stored comparison; run `python -m immunocycle.pk._candidates`"}
    else:
        summary = _run_pk(carrier, diameter, zeta, shape, targeted, route, dose, species, payload,
                          release_rate, cancer_type, days, out)
    name = "human_evaluation.json" if human else "evaluation.json" if evaluate else "summary.json"
    write_json(out / name, summary)
    write_json(out / "inputs.json", provenance(
        carrier=carrier, diameter_nm=diameter, zeta_mv=zeta, shape=shape, targeted=targeted,
        route=route, dose_mg_per_kg=dose, species=species, payload=payload,
        release_rate_per_h=release_rate, cancer_type=cancer_type, days=days, evaluate=evaluate,
        human=human, seed=seed))
    if as_json:
        from immunocycle._provenance import dumps_json

        typer.echo(dumps_json(summary))
    elif human:
        console.print(_human_table(summary))
    else:
        from immunocycle import _summaries

        _summaries.show(_summaries.pk(summary), [out])


def _human_table(summary: dict):
    """Predicted vs observed human PK per product (fold errors; leave-one-out in brackets)."""
    from rich.table import Table

    table = Table(title="Human nanomedicine PK: predicted / observed (fold error; LOO fold)",
                  title_justify="left")
    for col in ("product", "half-life h", "clearance L/h", "Vss L"):
        table.add_column(col)
    for key, p in summary["products"].items():
        obs, pred = p.get("observed") or {}, p["predicted"]
        cells = [key + ("" if p.get("verified") else " *" if not p.get("verified_metrics")
                        else " (*)")]
        for m in ("half_life_h", "clearance_l_per_h", "vss_l"):
            text = f"{pred[m]:.3g}"
            if obs.get(m):
                text += f" / {obs[m]:.3g} ({p['fold_error'][m]:.2f}"
                loo = (p.get("loo_fold_error") or {}).get(m)
                text += f"; {loo:.2f})" if loo is not None else ")"
            cells.append(text)
        table.add_row(*cells)
    s = summary["summary"]
    dep = summary["tumor_deposition"]
    table.caption = (
        f"within 2-fold (in-sample / LOO): half-life {s['fold_error_within_2fold_half_life_h']}"
        f" / {s.get('loo_fold_error_within_2fold_half_life_h')} of "
        f"{s['n_observed_half_life_h']}, clearance "
        f"{s['fold_error_within_2fold_clearance_l_per_h']} / "
        f"{s.get('loo_fold_error_within_2fold_clearance_l_per_h')} of "
        f"{s['n_observed_clearance_l_per_h']}; * not re-verified, (*) partly. "
        f"64Cu-MM-302 tumor %ID/kg {dep['predicted_pct_id_per_kg']} vs published "
        f"{dep['published_range_pct_id_per_kg']}. Held out, PEGylated liposomes at 72 h by "
        "tumor size (Harrington 2001), %ID/kg model / patients: "
        + ", ".join(f"{k} {g['volume_cm3']:g} cm3 {g['predicted_pct_id_per_kg']:.2g} / "
                    f"{g['observed_pct_id_per_kg']:g}"
                    for k, g in summary["tumor_deposition_by_size"]["groups"].items()))
    return table


def _run_pk(carrier, diameter, zeta, shape, targeted, route, dose, species, payload, release_rate,
            cancer_type, days, out) -> dict:
    import warnings

    from pydantic import ValidationError

    from immunocycle.pk import (
        Particle,
        Release,
        run_pk,
    )

    missing = [name for name, v in (("--carrier", carrier), ("--diameter", diameter), ("--dose", dose))
               if v is None]
    if missing:
        raise InputError(f"{', '.join(missing)}: required")
    try:
        particle = Particle(carrier_class=carrier, diameter_nm=diameter, zeta_mv=zeta, shape=shape,
                            targeted=targeted, tumor_model="Allograft Heterotopic",
                            cancer_type=cancer_type, dose_mg_per_kg=dose)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(f"{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_pk(particle, payload, Release(rate_per_h=release_rate) if payload else None,
                        species=species, route=route, horizon_h=days * 24.0)
    for w in caught:
        console.print(f"[yellow]warning:[/] {w.message}")
    from immunocycle.report import write_pk_run

    return write_pk_run(result, out)
