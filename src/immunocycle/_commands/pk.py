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
    if evaluate:
        from immunocycle.pk import DeliveryModel, load_nanotumor

        summary = DeliveryModel().evaluate(load_nanotumor())
    else:
        summary = _run_pk(carrier, diameter, zeta, shape, targeted, route, dose, species, payload,
                          release_rate, cancer_type, days, out)
    write_json(out / ("evaluation.json" if evaluate else "summary.json"), summary)
    write_json(out / "inputs.json", provenance(
        carrier=carrier, diameter_nm=diameter, zeta_mv=zeta, shape=shape, targeted=targeted,
        route=route, dose_mg_per_kg=dose, species=species, payload=payload,
        release_rate_per_h=release_rate, cancer_type=cancer_type, days=days, evaluate=evaluate,
        seed=seed))
    if as_json:
        from immunocycle._provenance import dumps_json

        typer.echo(dumps_json(summary))
    else:
        from immunocycle import _summaries

        _summaries.show(_summaries.pk(summary), [out])


def _run_pk(carrier, diameter, zeta, shape, targeted, route, dose, species, payload, release_rate,
            cancer_type, days, out) -> dict:
    import warnings

    from pydantic import ValidationError

    from immunocycle.pk import (
        Particle,
        Release,
        plot_organ_distribution,
        plot_tumor_ln_blood,
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
    out.mkdir(parents=True, exist_ok=True)
    result.pct_id.to_csv(out / "pct_id_by_organ.csv")
    plot_organ_distribution(result, out / "organ_distribution.png")
    plot_tumor_ln_blood(result, out / "tumor_ln_blood.png")
    summary = result.summary()
    summary.update(out_of_domain=result.out_of_domain, domain_notes=result.domain_notes,
                   free_payload_auc=result.free_payload_auc)
    return summary
