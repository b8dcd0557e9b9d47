"""Run folders written by the workbench: the same files, manifest and ``inputs.json`` as the
command that each page names, through the same public functions.

Each ``run_*`` function takes the page's inputs, writes one run folder under the workspace
(``<workspace>/<command>/<UTC time>-<n>``) inside :func:`immunocycle._manifest.run_folder` (so
``immunocycle report DIR`` verifies and renders it) and returns ``(folder, result)``. The
``*_command`` functions give the command line that reproduces the run.
"""

from __future__ import annotations

import itertools
import shlex
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from immunocycle._errors import InputError

_COUNTER = itertools.count()
_LOCK = threading.Lock()


def new_run_dir(workspace: str | Path, command: str) -> Path:
    """A fresh folder name ``<workspace>/<command>/<UTC time>-<k>`` (not created)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    with _LOCK:
        base = Path(workspace) / command
        while True:
            folder = base / f"{stamp}-{next(_COUNTER)}"
            if not folder.exists():
                return folder


def command_line(command: str, options: Mapping[str, Any], out: Path | None = None) -> str:
    """``immunocycle <command> --flag value ...`` (``None`` and ``False`` left out, ``True`` as a
    bare flag, a list as a repeated flag)."""
    parts = ["immunocycle", *command.split()]
    for flag, value in options.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(flag)
        elif isinstance(value, list | tuple):
            for v in value:
                parts += [flag, str(v)]
        else:
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if out is not None:
        parts += ["--out", str(out)]
    return shlex.join(parts)


def _record(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}


def _write_inputs(out: Path, command: str, options: Mapping[str, Any], **inputs: Any) -> None:
    from immunocycle._provenance import provenance, write_json

    write_json(out / "inputs.json", provenance(**inputs, command=command_line(command, options,
                                                                              out)))


# --- diagnose ---------------------------------------------------------------------------------

def diagnose_options(*, preset: str | None = None, cohort: str | None = None,
                     tmb: float | None = None, n: int = 20, seed: int = 0) -> dict[str, Any]:
    """The ``immunocycle diagnose`` flags of a diagnosis (checked: one of preset/cohort)."""
    if (preset is None) == (cohort is None):
        raise InputError("give exactly one of a preset (tumor archetype or mouse) or a cohort")
    if tmb is not None:
        from immunocycle._inputs import check_number

        tmb = check_number(tmb, "--tmb", low=0.0, strict_low=True)
    return {"--preset": preset, "--cohort": cohort, "--tmb": tmb, "--n": n, "--seed": seed}


def run_diagnose(workspace: str | Path, options: Mapping[str, Any], out: Path | None = None):
    """Diagnose into a run folder (default: a new one); returns ``(folder, Diagnosis)``."""
    from immunocycle._manifest import run_folder
    from immunocycle.design import diagnose

    out = out or new_run_dir(workspace, "diagnose")
    with run_folder(out, "diagnose", _record(options)):
        result = diagnose(preset=options["--preset"], cohort=options["--cohort"],
                          tmb=options["--tmb"], n=options["--n"], seed=options["--seed"])
        result.write(out)
        _write_inputs(out, "diagnose", options, preset=options["--preset"],
                      cohort=options["--cohort"], tmb=options["--tmb"], n=options["--n"],
                      seed=options["--seed"], global_analysis=None)
    return out, result


# --- pk (Deliver) -----------------------------------------------------------------------------

def particle(carrier: str, diameter: float, zeta: float | None, shape: str, targeted: bool,
             dose: float, cancer_type: str = "colon"):
    """The :class:`immunocycle.pk.Particle` of the Deliver page (errors name the field)."""
    from pydantic import ValidationError

    from immunocycle.pk import Particle

    try:
        return Particle(carrier_class=carrier, diameter_nm=diameter, zeta_mv=zeta, shape=shape,
                        targeted=targeted, tumor_model="Allograft Heterotopic",
                        cancer_type=cancer_type, dose_mg_per_kg=dose)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(map(str, err["loc"]))
        flag = {"diameter_nm": "--diameter", "dose_mg_per_kg": "--dose", "zeta_mv": "--zeta",
                "carrier_class": "--carrier", "shape": "--shape"}.get(loc, loc)
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise InputError(f"{flag}: {msg}") from None


def pk_options(*, carrier: str, diameter: float, zeta: float | None, shape: str = "Spherical",
               targeted: bool = False, route: str = "iv", dose: float, species: str = "mouse",
               payload: str | None = None, release_rate: float = 0.005,
               cancer_type: str = "colon", days: float = 7.0) -> dict[str, Any]:
    """The ``immunocycle pk`` flags of a formulation (values checked as the command does)."""
    from immunocycle._inputs import check_number, check_time_grid

    days = check_time_grid(days, 24.0)
    check_number(release_rate, "--release-rate", low=0.0)
    particle(carrier, diameter, zeta, shape, targeted, dose, cancer_type)  # checks the particle
    return {"--carrier": carrier, "--diameter": diameter, "--zeta": zeta, "--shape": shape,
            "--targeted": targeted, "--route": route, "--dose": dose, "--species": species,
            "--payload": payload or None, "--release-rate": release_rate,
            "--cancer-type": cancer_type, "--days": days}


def pbpk(options: Mapping[str, Any]):
    """The PBPK run of the formulation: ``(PKResult, [warning texts])``."""
    from immunocycle.pk import Release, run_pk

    p = particle(options["--carrier"], options["--diameter"], options["--zeta"],
                 options["--shape"], options["--targeted"], options["--dose"],
                 options["--cancer-type"])
    payload = options["--payload"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_pk(p, payload, Release(rate_per_h=options["--release-rate"]) if payload
                        else None, species=options["--species"], route=options["--route"],
                        horizon_h=float(options["--days"]) * 24.0)
    return result, sorted({str(w.message) for w in caught})


def property_prediction(options: Mapping[str, Any]):
    """The property model's DE24/DE168/DEmax with their interval (one-row DataFrame)."""
    from immunocycle.pk import default_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its domain notes are in the frame
        return default_model().predict(particle(
            options["--carrier"], options["--diameter"], options["--zeta"], options["--shape"],
            options["--targeted"], options["--dose"], options["--cancer-type"]))


#: run_pk's default payload loading (payload mass / carrier mass).
LOADING = 0.1


def free_payload(payload: str | None, species: str, route: str, dose: float, days: float):
    """The payload given free at the particle's payload dose (``None`` without a payload)."""
    from immunocycle.pk import run_pk

    if not payload:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_pk(None, payload, species=species, route=route,
                      free_dose_mg_per_kg=float(dose) * LOADING, horizon_h=float(days) * 24.0)


def simulate_pk(options: Mapping[str, Any]) -> dict[str, Any]:
    """The Deliver page's numbers, in memory: the PBPK run, the property model's prediction with
    its interval, and the payload given free at the same payload dose (if any).

    Returns ``{"pk": PKResult, "property": one-row DataFrame, "free": PKResult or None,
    "warnings": [str]}``.
    """
    result, caught = pbpk(options)
    return {"pk": result, "property": property_prediction(options),
            "free": free_payload(options["--payload"], options["--species"], options["--route"],
                                 options["--dose"], options["--days"]),
            "warnings": caught}


def run_pk_folder(workspace: str | Path, options: Mapping[str, Any]):
    """Write the ``immunocycle pk`` run folder of a formulation; returns ``(folder, summary)``."""
    from immunocycle._manifest import run_folder
    from immunocycle._provenance import write_json
    from immunocycle.report import write_pk_run

    out = new_run_dir(workspace, "pk")
    record = {**_record(options), "--evaluate": False, "--seed": 0}
    with run_folder(out, "pk", record):
        sim = simulate_pk(options)
        result = sim["pk"]
        summary = write_pk_run(result, out)
        write_json(out / "summary.json", summary)
        _write_inputs(out, "pk", options, carrier=options["--carrier"],
                      diameter_nm=options["--diameter"], zeta_mv=options["--zeta"],
                      shape=options["--shape"], targeted=options["--targeted"],
                      route=options["--route"], dose_mg_per_kg=options["--dose"],
                      species=options["--species"], payload=options["--payload"],
                      release_rate_per_h=options["--release-rate"],
                      cancer_type=options["--cancer-type"], days=options["--days"],
                      evaluate=False, seed=0)
    return out, summary


# --- design -----------------------------------------------------------------------------------

def design_options(*, preset: str | None = None, cohort: str | None = None,
                   candidates: Sequence[str] = (), max_agents: int = 3,
                   ae_limit: float | None = None, budget: int = 3, n: int = 20,
                   seed: int = 0) -> dict[str, Any]:
    """The ``immunocycle design`` flags (checked: one target, known candidates, AE limit)."""
    from immunocycle._inputs import check_number
    from immunocycle.catalog import resolve_therapy

    if (preset is None) == (cohort is None):
        raise InputError("give exactly one of a preset or a cohort")
    for c in candidates:
        resolve_therapy(c)  # an unknown id fails here, before the job starts
    if ae_limit is not None:
        ae_limit = check_number(ae_limit, "--ae-limit", low=0.0, high=1.0)
    for flag, v in (("--max-agents", max_agents), ("--budget", budget), ("--n", n)):
        if int(v) != v or v < 1:
            raise InputError(f"{flag}: must be a positive integer (got {v})")
    return {"--preset": preset, "--cohort": cohort,
            "--candidates": ",".join(candidates) or None, "--max-agents": int(max_agents),
            "--ae-limit": ae_limit, "--budget": int(budget), "--n": int(n), "--seed": int(seed)}


def run_design(workspace: str | Path, options: Mapping[str, Any], out: Path | None = None):
    """Design into a run folder (with its HTML report); returns ``(folder, Design)``."""
    from immunocycle._manifest import run_folder
    from immunocycle.design import design
    from immunocycle.report import render_report

    out = out or new_run_dir(workspace, "design")
    ids = options["--candidates"].split(",") if options["--candidates"] else None
    record = {**_record(options), "--trial-cohort": None,
              "--candidates": options["--candidates"]}
    with run_folder(out, "design", record):
        result = design(options["--preset"], cohort=options["--cohort"],
                        max_agents=options["--max-agents"], ae_limit=options["--ae-limit"],
                        budget=options["--budget"], n=options["--n"], seed=options["--seed"],
                        candidates=ids)
        result.write(out)
        _write_inputs(out, "design", options, preset=options["--preset"],
                      cohort=options["--cohort"], trial_cohort=None, candidates=ids,
                      max_agents=options["--max-agents"], ae_limit=options["--ae-limit"],
                      budget=options["--budget"], n=options["--n"], seed=options["--seed"])
        render_report(out)
    return out, result


# --- trial and study --------------------------------------------------------------------------

def split_arms(text: str) -> list[str]:
    """Arms from the page's text: one per line (or separated by ';'), as repeated ``--arm``."""
    arms = [a.strip() for line in text.replace(";", "\n").splitlines() for a in [line]
            if a.strip()]
    if not arms:
        raise InputError("--arm: give at least one arm (one per line)")
    return arms


def check_arms(arms: Sequence[str], mouse: bool = False) -> None:
    """Resolve every arm as the command would, so an unknown therapy fails before the job."""
    if mouse:
        from immunocycle.trial import resolve_mouse_arm

        for a in arms:
            resolve_mouse_arm(a)
        return
    from immunocycle.trial import parse_regimen

    for a in arms:
        parse_regimen(a)


def trial_options(*, cohort: str, arms: Sequence[str], n: int = 20, seed: int = 0,
                  days: float = 365.0, tmb: float | None = None,
                  replicates: int | None = None) -> dict[str, Any]:
    """The ``immunocycle trial`` flags (checked; every arm resolved)."""
    from immunocycle._inputs import check_number, check_time_grid

    if int(n) != n or n < 1:
        raise InputError(f"--n: must be a positive integer (got {n})")
    days = check_time_grid(days)
    if tmb is not None:
        tmb = check_number(tmb, "--tmb", low=0.0, strict_low=True)
    if replicates is not None and (int(replicates) != replicates or replicates < 0):
        raise InputError(f"--replicates: must be a whole number >= 0, got {replicates}")
    check_arms(arms)
    return {"--cohort": cohort, "--arm": list(arms), "--n": int(n), "--seed": int(seed),
            "--tmb": tmb, "--days": float(days), "--match-phenotypes": False,
            "--replicates": None if replicates is None else int(replicates)}


def chunk_size(n: int) -> int:
    """Patients per chunk for the page's progress bar (about ten steps; results do not depend
    on it)."""
    return max(5, -(-int(n) // 10))


def run_trial_folder(workspace: str | Path, options: Mapping[str, Any],
                     out: Path | None = None) -> tuple[Path, dict]:
    """Run the trial into a run folder (and its HTML report); returns ``(folder, summary)``."""
    from immunocycle._manifest import run_folder
    from immunocycle.report import render_report, trial_figures
    from immunocycle.trial import run_trial

    out = out or new_run_dir(workspace, "trial")
    with run_folder(out, "trial", _record(options)):
        summary = run_trial(options["--cohort"], options["--arm"], options["--n"], out,
                            seed=options["--seed"], days=options["--days"],
                            tmb=options["--tmb"], chunk_size=chunk_size(options["--n"]),
                            progress=False, figures=trial_figures,
                            **({} if options.get("--replicates") is None
                               else {"replicates": options["--replicates"]}))
    _try_report(out, render_report)
    return out, summary


def study_options(*, model: str, arms: Sequence[str], mice: int = 10, days: float = 28.0,
                  seed: int = 0) -> dict[str, Any]:
    """The ``immunocycle study`` flags (checked; every group resolved)."""
    from immunocycle._inputs import check_time_grid

    if int(mice) != mice or mice < 1:
        raise InputError(f"--mice: must be a positive integer (got {mice})")
    days = check_time_grid(days)
    check_arms(arms, mouse=True)
    return {"--model": model, "--arm": list(arms), "--mice": int(mice), "--start-volume": None,
            "--days": float(days), "--endpoint-volume": 1500.0, "--seed": int(seed)}


def run_study_folder(workspace: str | Path, options: Mapping[str, Any],
                     out: Path | None = None) -> tuple[Path, dict]:
    """Run the mouse study into a run folder; returns ``(folder, summary)``."""
    from immunocycle._manifest import run_folder
    from immunocycle.report import study_figures
    from immunocycle.trial import run_study

    out = out or new_run_dir(workspace, "study")
    with run_folder(out, "study", _record(options)):
        result = run_study(options["--model"], options["--arm"], mice=options["--mice"],
                           start_volume=options["--start-volume"], days=options["--days"],
                           endpoint_volume=options["--endpoint-volume"], seed=options["--seed"],
                           out=out, figures=study_figures)
    return out, result.summary


def _try_report(out: Path, render: Callable[[Path], Path]) -> Path | None:
    """The HTML report of a finished run; a folder the report cannot read gives none (the run
    itself stands)."""
    from immunocycle._errors import ImmunocycleError

    try:
        return render(out)
    except (ImmunocycleError, OSError):
        return None


__all__ = ["check_arms", "chunk_size", "command_line", "design_options", "diagnose_options", "free_payload",
           "new_run_dir", "pbpk", "property_prediction", "particle", "pk_options", "run_design", "run_diagnose",
           "run_pk_folder", "run_study_folder", "run_trial_folder", "simulate_pk",
           "split_arms", "study_options", "trial_options"]
