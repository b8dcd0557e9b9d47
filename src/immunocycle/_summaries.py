"""One-screen summaries of the commands: the numbers a user copies into a lab notebook, with units.

Each function takes the summary dict a command already builds (the same dict ``--json`` prints)
and returns a Rich renderable; :func:`show` prints it on stdout and then where the files are.
Fields are read defensively: what is missing is left out, ``None`` or NaN prints as a dash.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

# Human output goes to stdout (messages and errors go to stderr, see ``immunocycle._console``).

#: Names of the seven steps of the cancer-immunity cycle (Chen & Mellman 2013).
STEPS = ("antigen release", "antigen presentation", "priming & activation", "trafficking",
         "infiltration", "recognition", "killing")

DASH = "\u2014"


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def num(value, spec: str = ".3g", unit: str = "", missing: str = DASH) -> str:
    """``value`` formatted with ``spec`` and ``unit``; ``None``/NaN as ``missing``."""
    f = _number(value)
    if f is None:
        return missing if value is None or _is_nan(value) else escape(str(value))
    if math.isinf(f):
        return "\u221e" + (f" {unit}" if unit else "")
    return f"{f:{spec}}" + (f" {unit}" if unit else "")


def _is_nan(value) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def pct(fraction, digits: int = 0, missing: str = DASH) -> str:
    """A fraction (0-1) as a percentage."""
    f = _number(fraction)
    return missing if f is None else f"{100 * f:.{digits}f} %"


def pct_ci(fraction, ci, digits: int = 0) -> str:
    """``40 % (31-49 %)``: a fraction and its interval ``[lo, hi]``, as percentages."""
    text = pct(fraction, digits)
    if isinstance(ci, Sequence) and len(ci) == 2 and None not in ci:
        lo, hi = (_number(c) for c in ci)
        if lo is not None and hi is not None:
            text += f" ({100 * lo:.{digits}f}\u2013{100 * hi:.{digits}f} %)"
    return text


def pct_range(interval, digits: int = 0) -> str:
    """``31\u201349 %``: an interval ``[lo, hi]`` of fractions as percentages (a dash if none)."""
    if not (isinstance(interval, Sequence) and len(interval) == 2):
        return DASH
    lo, hi = (_number(c) for c in interval)
    if lo is None or hi is None:
        return DASH
    return f"{100 * lo:.{digits}f}\u2013{100 * hi:.{digits}f} %"


def days_range(interval) -> str:
    """``84\u2013168 d``: an interval of days (a dash if none)."""
    if not (isinstance(interval, Sequence) and len(interval) == 2):
        return DASH
    lo, hi = (_number(c) for c in interval)
    return DASH if lo is None or hi is None else f"{lo:.0f}\u2013{hi:.0f} d"


def days(value, missing: str = "not reached") -> str:
    """A median time in days; ``None`` or infinity (a median not reached) as ``missing``."""
    f = _number(value)
    return missing if f is None or math.isinf(f) else f"{f:.0f} d"


def step(value) -> str:
    """A limiting step: an int, or ``{"at_diagnosis": k0, "at_end": k1}`` (either printed)."""
    def one(k) -> str:
        f = _number(k)
        return escape(str(k)) if f is None else f"{int(f)} {STEPS[int(f) - 1]}" \
            if 1 <= f <= 7 else str(int(f))
    if isinstance(value, Mapping):
        return ", ".join(f"{one(v)} ({k.replace('_', ' ')})" for k, v in value.items())
    return DASH if value is None else one(value)


def _quantities(title: str, rows: Iterable[tuple[str, str]], caption: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left",
                  show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column("quantity", style="bold")
    table.add_column("value", overflow="fold")
    for label, value in rows:
        table.add_row(label, value)
    return table


def files(paths: Iterable | Mapping | str | Path | None) -> Text | None:
    """``files: a, b`` (where the outputs are), or None when there are none."""
    if paths is None:
        return None
    if isinstance(paths, Mapping):
        paths = paths.values()
    elif isinstance(paths, str | Path):
        paths = [paths]
    names = [str(p) for p in paths]
    return Text.assemble(("files: ", "green"), ", ".join(names)) if names else None


def show(renderable: RenderableType, paths=None) -> None:
    """Print a summary on stdout, then where its files are."""
    out = Console()  # made per call: Rich reads the terminal width (COLUMNS) when it is made
    out.print(renderable)
    where = files(paths)
    if where is not None:
        out.print(where, soft_wrap=True)


# --------------------------------------------------------------------------- pk
def pk(summary: Mapping) -> RenderableType:
    """``immunocycle pk``: tumor delivery, blood half-life, lymph-node and AUC exposures."""
    if "de24" not in summary:  # --evaluate: the property model's cross-validation
        return scalars("Property model, cross-validated", summary)
    rows = [("tumor %ID at 24 h (DE24)", num(summary.get("de24"), unit="%ID")),
            ("tumor %ID at 168 h (DE168)", num(summary.get("de168"), unit="%ID",
                                               missing="past the horizon")),
            ("tumor %ID, maximum (DEmax)", num(summary.get("demax"), unit="%ID")),
            ("blood half-life", num(summary.get("blood_half_life_h"), unit="h")),
            ("lymph-node %ID, maximum", num(summary.get("lymph_node_max_pct_id"), unit="%ID")),
            ("AUC tumor / AUC blood", num(summary.get("auc_tumor_over_blood"), unit="(ratio)"))]
    at24 = summary.get("pct_id_at_24h") or {}
    top = sorted(((k, v) for k, v in at24.items() if _number(v) is not None),
                 key=lambda kv: -float(kv[1]))[:4]
    if top:
        rows.append(("largest %ID at 24 h", ", ".join(f"{k} {num(v, '.2g')}" for k, v in top)))
    for tissue, auc in (summary.get("free_payload_auc") or {}).items():
        if tissue in ("blood", "tumor", "lymph_node"):
            rows.append((f"free payload AUC, {tissue.replace('_', ' ')}",
                         num(auc, unit="mg h/L")))
    caption = (f"outside the property model's training range: {summary.get('domain_notes')}"
               if summary.get("out_of_domain") else None)
    return _quantities("Nanoparticle PBPK (carrier, % of injected dose)", rows, caption)


# --------------------------------------------------------------------------- trial
def trial(summary: Mapping) -> RenderableType:
    """``immunocycle trial``: per arm ORR with its 95 % CI (patients) and 90 % prediction
    interval (effect sizes), median PFS, HR, grade >= 3 AE; the complete-response rates with
    their 95 % CIs and the PFS, CR and AE prediction intervals under the table."""
    table = Table(title="Virtual trial", title_justify="left")
    arms = summary.get("arms", [])
    with_pi = any(a.get("orr_pi") for a in arms)
    for col, just in (("arm", "left"), ("n", "right"), ("ORR (95 % CI)", "right"),
                      *([("ORR 90 % PI", "right")] if with_pi else []),
                      ("median PFS", "right"), ("HR vs first", "right"),
                      ("grade \u2265 3 AE", "right")):
        table.add_column(col, justify=just, overflow="fold")  # names wrap, never cut
    for a in arms:
        table.add_row(escape(str(a.get("name", "?"))), num(a.get("n"), ".0f"),
                      pct_ci(a.get("orr"), a.get("orr_ci")),
                      *([pct_range(a.get("orr_pi"))] if with_pi else []),
                      days(a.get("median_pfs_days")),
                      num(a.get("hr_vs_first"), ".2f"), pct(a.get("ae_grade3plus_rate")))
    counts = [f"{k.split('_')[1]} {summary[k]}" for k in ("n_sampled", "n_included",
                                                          "n_selected") if k in summary]
    crs = [f"{escape(str(a.get('name', '?')))} {pct_ci(a.get('cr_rate'), a.get('cr_rate_ci'))}"
           for a in summary.get("arms", []) if "cr_rate" in a]
    lines = (["patients: " + ", ".join(counts)] if counts else []) + (
        ["complete response (95 % CI): " + ", ".join(crs)] if crs else [])
    if with_pi:
        u = summary.get("uncertainty") or {}
        pis = [f"{escape(str(a.get('name', '?')))} PFS {days_range(a.get('median_pfs_days_pi'))}"
               + (f", CR {pct_range(a.get('cr_rate_pi'))}" if a.get("cr_rate_pi") else "")
               + f", AE {pct_range(a.get('ae_grade3plus_rate_pi'))}" for a in arms]
        how = (f" ({u['replicates']} effect-size replicates on "
               f"{u.get('patients_per_replicate', '?')} patients)" if u.get("replicates") else "")
        lines.append(f"90 % prediction intervals{how}: " + "; ".join(pis))
    if lines:
        table.caption = "\n".join(lines)
        table.caption_justify = "left"
    return table


# --------------------------------------------------------------------------- simulate
def study(summary: Mapping) -> RenderableType:
    """``immunocycle study``: per group complete regressions, TGI, median survival to the
    endpoint and log-rank p versus the first arm; model, phenotype and growth under the table."""
    table = Table(title=f"Virtual mouse study: {escape(str(summary.get('model', '?')))}",
                  title_justify="left")
    width = min(16, max((len(str(a)) for a in summary.get("per_arm") or {}), default=3))
    table.add_column("arm", min_width=width, overflow="fold")  # names wrap, never cut
    for col in ("mice", "CR", "TGI", "median surv.", "log-rank p", "Td"):
        table.add_column(col, justify="right", overflow="fold")
    for name, a in (summary.get("per_arm") or {}).items():
        table.add_row(escape(str(name)), num(a.get("mice"), ".0f"), pct(a.get("cr_fraction")),
                      num(a.get("tgi_pct"), ".0f", "%"), days(a.get("median_survival_days")),
                      num(a.get("p_logrank"), ".2g"), num(a.get("doubling_time_days"), ".2g", "d"))
    first = next(iter((summary.get("per_arm") or {}).values()), {})
    shares = ", ".join(f"{k} {pct(v)}" for k, v in (first.get("phenotype_at_start") or {}).items())
    table.caption = (
        f"start {num(summary.get('start_volume_mm3'), '.0f')} mm\u00b3, endpoint "
        f"{num(summary.get('endpoint_volume_mm3'), '.0f')} mm\u00b3, {num(summary.get('days'), '.0f')}"
        f" days; TGI on day {num(summary.get('last_common_day'), '.0f')} vs "
        f"{escape(str(summary.get('reference_arm', '?')))}\n"
        f"phenotype at start: {shares or DASH} (published: {summary.get('expected_phenotype', DASH)}); "
        f"Td: doubling time over days 0-10, cited "
        f"{num(summary.get('cited_doubling_time_days'), '.2g', 'd')}; surv.: to the endpoint")
    table.caption_justify = "left"
    return table


def simulate(summary: Mapping) -> RenderableType:
    """``immunocycle simulate``: phenotype, limiting step, diameters (preset); status, final
    values (model)."""
    if "phenotype_at_start" in summary or "diameter_mm_start" in summary:
        therapies = summary.get("therapies") or []
        rows = [("preset", escape(str(summary.get("preset", DASH)))),
                ("therapies", escape(", ".join(map(str, therapies))) or "none"),
                ("reached diagnosis", {True: "yes", False: "no"}.get(
                    summary.get("reached_diagnosis"), DASH)),
                ("phenotype", f"{summary.get('phenotype_at_start', DASH)} \u2192 "
                              f"{summary.get('phenotype_at_end', DASH)}"),
                ("limiting step", step(summary.get("limiting_step"))),
                ("cycle gain (at diagnosis)", num(summary.get("cycle_gain"))),
                ("tumor diameter", f"{num(summary.get('diameter_mm_start'), '.1f')} \u2192 "
                                   f"{num(summary.get('diameter_mm_end'), '.1f', unit='mm')}"),
                ("PD-1 occupancy (mean)", pct(summary.get("pd1_occupancy_mean")))]
        if "end_day" in summary:
            rows.append(("simulated", num(summary["end_day"], ".0f", unit="days of treatment")))
        return _quantities("Cancer-immunity cycle", rows)
    rows = [("model", escape(str(summary.get("model", DASH)))),
            ("status", escape(str(summary.get("status", DASH)))),
            ("simulated", num(summary.get("days"), ".4g", unit="days"))]
    final = summary.get("final") or {}
    band = summary.get("final_p5_p95")
    if band is not None:  # a population (--n, --set distributions): medians with 5-95 %
        rows.append(("patients", f"{summary.get('n')} ({len(summary.get('failed_patients', []))}"
                                 " failed)"))
        rows += [(f"{name} at the end, median [5-95 %]",
                  f"{num(v, '.4g')} [{num(band[name][0], '.3g')}, {num(band[name][1], '.3g')}]")
                 for name, v in list(final.items())[:12]]
    else:
        rows += [(f"{name} at the end", num(v, ".4g")) for name, v in list(final.items())[:12]]
    caption = f"{len(final) - 12} more values in --json" if len(final) > 12 else None
    return _quantities("Simulation", rows, caption)


# --------------------------------------------------------------------------- diagnose
def diagnose(summary: Mapping) -> RenderableType:
    """``immunocycle diagnose``: limiting step, phenotype, gain, step scores and barriers."""
    head = _quantities(f"Diagnosis of {escape(str(summary.get('source', '')))}", [
        ("limiting step", step(summary.get("limiting_step"))),
        ("phenotype", escape(str(summary.get("phenotype", DASH)))),
        ("cycle gain", num(summary.get("cycle_gain")))])
    parts: list[RenderableType] = [head]
    scores = summary.get("step_scores") or []
    if scores:
        steps = Table(title="Step scores (0.5 = reference tumor; low limits)",
                      title_justify="left")
        steps.add_column("step")
        steps.add_column("score", justify="right")
        steps.add_column("sensitivity", justify="right")
        sens = summary.get("sensitivity") or {}
        for k, s in enumerate(scores, 1):
            steps.add_row(f"{k} {STEPS[k - 1]}" if k <= 7 else str(k), num(s, ".2f"),
                          num(sens.get(str(k), sens.get(k)), ".2g"))
        parts.append(steps)
    barriers = list(summary.get("barriers") or [])[:5]
    if barriers:
        score = summary.get("barrier_scores") or {}
        parts.append(_quantities("Barriers (most likely first)",
                                 [(escape(b), num(score.get(b), ".2f")) for b in barriers]))
    cohort = summary.get("cohort")
    if cohort:
        shares = ", ".join(f"{k} {pct(v)}" for k, v in
                           (cohort.get("phenotype_shares") or {}).items())
        parts.append(Text(f"cohort of {cohort.get('n', '?')} patients: {shares}"))
    return Group(*parts)


# --------------------------------------------------------------------------- design
def design(summary: Mapping, top: int = 5) -> RenderableType:
    """``immunocycle design``: the ranked regimens with ORR (95 % CI and 90 % prediction
    interval), the chance of beating PD-1 blockade alone, PFS, AE and the Pareto front."""
    front = set(summary.get("pareto") or [])
    table = Table(title=f"Design for {escape(str(summary.get('target', '')))}: limiting step "
                        f"{step(summary.get('limiting_step'))}", title_justify="left")
    recs = list(summary.get("recommendations") or [])
    with_pi = any(r.get("orr_pi") for r in recs)
    for col, just in (("#", "right"), ("regimen", "left"), ("ORR (95 % CI)", "right"),
                      *([("ORR 90 % PI", "right"), ("P(beats PD-1)", "right")] if with_pi
                        else []),
                      ("median PFS", "right"), ("grade \u2265 3 AE", "right"),
                      ("Pareto", "center")):
        table.add_column(col, justify=just, overflow="fold")  # regimens wrap, never cut
    for k, r in enumerate(recs[:top], 1):
        table.add_row(str(k), escape(str(r.get("regimen", "?")).replace("+", " + ")),
                      pct_ci(r.get("orr"), r.get("orr_ci")),
                      *([pct_range(r.get("orr_pi")), num(r.get("p_beats_comparator"), ".2f")]
                        if with_pi else []),
                      days(r.get("median_pfs_days")),
                      pct(r.get("ae_grade3plus_rate")), "\u2713" if r.get("regimen") in front
                      else "")
    if len(recs) > top:
        table.caption = f"{len(recs) - top} more regimens in design.json"
        table.caption_justify = "left"
    return table


# --------------------------------------------------------------------------- cohorts
def cohort_list(rows: Sequence[Mapping]) -> RenderableType:
    """``immunocycle cohort list``: one row per cohort with its calibration."""
    table = Table(title="Cohorts", title_justify="left")
    for col, just in (("name", "left"), ("tumor type", "left"), ("base", "left"),
                      ("target ORR", "right"), ("achieved ORR", "right"),
                      ("multiplier", "right")):
        table.add_column(col, justify=just)
    for r in rows:
        table.add_row(escape(str(r.get("name"))), escape(str(r.get("tumor_type", ""))),
                      escape(str(r.get("base", ""))), pct(r.get("target_orr")),
                      pct(r.get("achieved_orr")), num(r.get("multiplier")))
    return table


def cohort(data: Mapping) -> RenderableType:
    """``immunocycle cohort show``: a cohort's distributions, TMB, lesion size and targets."""
    table = Table(title="Patient distributions", title_justify="left")
    for col, just in (("quantity", "left"), ("distribution", "left"), ("median", "right"),
                      ("range", "right"), ("units", "left")):
        table.add_column(col, justify=just)

    def add(name: str, d: Mapping) -> None:
        lo, hi = d.get("low"), d.get("high")
        table.add_row(escape(name), str(d.get("kind", "lognormal")),
                      num(d.get("median"), missing="preset"),
                      f"{num(lo)}\u2013{num(hi)}" if lo is not None or hi is not None else "",
                      escape(str(d.get("units", ""))))
    for name, d in (data.get("parameters") or {}).items():
        add(name, d)
    for key in ("tmb", "diagnosis_sum_mm"):
        if isinstance(data.get(key), Mapping):
            add(key, data[key])
    calibration = data.get("calibration") or {}
    fitted = data.get("fitted") or {}
    head = _quantities(f"Cohort {escape(str(data.get('name', '')))}", [
        ("description", escape(str(data.get("description", DASH)))),
        ("tumor type, setting", escape(f"{data.get('tumor_type', DASH)}, "
                                       f"{data.get('setting', DASH)}")),
        ("phenotype mix", ", ".join(f"{k} {pct(v)}" for k, v in
                                    (data.get("phenotype_mix") or {}).items()
                                    if _number(v) is not None) or DASH),
        ("target ORR", pct(calibration.get("orr")) if isinstance(calibration, Mapping) else DASH),
        ("fitted multiplier", num(fitted.get("multiplier"))),
    ])
    return Group(head, table)


# --------------------------------------------------------------------------- bench, generic
_UNIT_SUFFIXES = (("_per_s_per_core", "patients/s/core"), ("_per_s", "/s"), ("_s", "s"),
                  ("_mb", "MB"), ("_mib", "MiB"), ("_days", "d"), ("_h", "h"))


def _unit(key: str) -> str:
    for suffix, unit in _UNIT_SUFFIXES:
        if key.endswith(suffix):
            return unit
    return "\u00d7" if key.startswith("ratio") or "_ratio" in key else ""


def scalars(title: str, data: Mapping) -> RenderableType:
    """Every scalar entry of ``data`` as ``name  value unit`` (units read from the key suffix:
    ``_s`` seconds, ``_per_s`` per second, ``ratio`` a ratio); nested entries are left to the
    JSON file."""
    rows = []
    for key, value in data.items():
        if isinstance(value, Mapping | list | tuple):
            continue
        rows.append((escape(str(key).replace("_", " ")),
                     num(value, ".4g", unit=_unit(str(key))) if _number(value) is not None
                     else escape(str(value))))
    return _quantities(title, rows)


def bench(result: Mapping) -> RenderableType:
    """``immunocycle bench``: the case's scalar results, with units."""
    return scalars(f"Benchmark: {escape(str(result.get('case', '')))}", result)


# --------------------------------------------------------------------------- catalog
def catalog_entry(entry: Mapping) -> RenderableType:
    """``immunocycle catalog show``: a therapy as a card (name, formulation, dose and schedule,
    effects with sources, barriers, evidence with DOIs); any other entry as its fields."""
    if entry.get("kind") != "therapy":
        return _generic_card(entry)
    dose = entry.get("dose") or {}
    schedule = entry.get("schedule") or {}
    doses = []
    if dose:
        doses.append(f"{num(dose.get('amount'), 'g')} {dose.get('units', '')} "
                     f"{dose.get('agent', '')}".strip())
    if schedule:
        doses.append(f"{schedule.get('label', '')}: every {num(schedule.get('every'), 'g')} d, "
                     f"{num(schedule.get('count'), 'g')} doses from day "
                     f"{num(schedule.get('start'), 'g')}")
    barrier_names = entry.get("barrier_names") or {}
    head = _quantities("", [
        ("agents", escape(", ".join(entry.get("agents") or [])) or DASH),
        ("formulation", escape(f"{entry.get('formulation', DASH)} "
                               f"(carrier: {entry.get('carrier', 'free')})")),
        ("route", escape(str(entry.get("route", DASH)))),
        ("dose and schedule", escape("; ".join(doses)) or DASH),
        ("dose source", escape(str(dose.get("source", DASH)))),
        ("in a trial arm", escape("; ".join(entry.get("default_dosing") or [])) or DASH),
        ("unbound fraction", escape(f"{(entry.get('unbound') or {}).get('fraction')} "
                                    f"({(entry.get('unbound') or {}).get('source')})")
         if entry.get("unbound") else DASH),
        ("cycle steps", ", ".join(step(s) for s in entry.get("steps") or []) or DASH),
        ("barriers", escape("; ".join(f"{b} ({barrier_names[b]})" if b in barrier_names else b
                                      for b in entry.get("barriers") or [])) or DASH),
        ("free counterpart", escape(str(entry.get("free_counterpart") or DASH))),
    ])
    effects = Table(title="Effects", title_justify="left", box=box.SIMPLE_HEAD)
    effects.add_column("effect (Emax model on a parameter)", ratio=1, overflow="fold")
    effects.add_column("source", ratio=1, overflow="fold")
    for e in entry.get("effects") or []:
        what = (f"{e.get('agent', '?')}: {e.get('parameter', '?')} ({e.get('mode', '')}), "
                f"Emax {num(e.get('emax'))}, "
                f"EC50 {num(e.get('ec50_nmol_per_l'), '.4g', unit='nmol/L')}, "
                f"at {e.get('site', '?')}")
        source = str(e.get("source", DASH))
        if e.get("assumption") and "assumption" not in source:
            source += " (assumption)"
        effects.add_row(escape(what), escape(source))
    evidence = Table(title="Evidence", title_justify="left", box=box.SIMPLE_HEAD)
    evidence.add_column("id and DOI", no_wrap=True)
    evidence.add_column("system and outcome", overflow="fold")
    for ev in entry.get("evidence_items") or []:
        evidence.add_row(escape(f"{ev.get('id', '')}\ndoi:{ev.get('doi') or DASH}"),
                         escape(f"{ev.get('model_system') or ev.get('system', '')}: "
                                f"{ev.get('outcome', '')}"))
    parts: list[RenderableType] = [head]
    if effects.row_count:
        parts.append(effects)
    if evidence.row_count:
        parts.append(evidence)
    if entry.get("assumptions"):
        parts.append(Text(f"assumptions: {entry['assumptions']}"))
    title = f"{escape(str(entry.get('name') or entry.get('id')))} [dim]({entry.get('id')})[/]"
    return Panel(Group(*parts), title=title, title_align="left")


def _generic_card(entry: Mapping) -> RenderableType:
    rows = []
    for key, value in entry.items():
        if key in ("kind", "name", "id"):
            continue
        if isinstance(value, Mapping):
            text = "; ".join(f"{k}: {v}" for k, v in value.items())
        elif isinstance(value, list | tuple):
            text = "; ".join(str(v) if not isinstance(v, Mapping) else
                             ", ".join(f"{k}: {x}" for k, x in v.items()) for v in value)
        else:
            text = str(value)
        rows.append((escape(key.replace("_", " ")), escape(text) or DASH))
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for r in rows:
        table.add_row(*r)
    title = (f"{escape(str(entry.get('name') or entry.get('id')))} "
             f"[dim]({escape(str(entry.get('kind', 'entry')))} {escape(str(entry.get('id')))})[/]")
    return Panel(table, title=title, title_align="left")


__all__ = ["bench", "catalog_entry", "cohort", "cohort_list", "design", "diagnose", "files",
           "num", "pct", "pct_ci", "pk", "scalars", "show", "simulate", "step", "trial"]
