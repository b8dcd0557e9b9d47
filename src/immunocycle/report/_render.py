"""One self-contained HTML report of a saved run folder (``immunocycle report DIR``).

The folder may hold any of (each part optional; the sections of the parts found are rendered):

``inputs.json``
    Provenance (:func:`immunocycle._provenance.provenance`): package version, git revision, the
    inputs and the command line. Section "Inputs / reproduce".
``diagnosis/``
    :meth:`immunocycle.design.Diagnosis.write`: ``diagnosis.json``, ``barriers.csv``,
    ``step_scores.png`` (radar), ``elasticities.png``. Sections: the cycle ring with the step
    fluxes, the immunogram, the elasticities, the ranked barriers with their citations.
``design.json``
    ``Design.to_dict()``: the ranked regimens (ORR with its CI, median PFS, AE rate, Bliss and HSA
    synergy), the ORR / AE Pareto plot, nano versus free drug, the screen.
``trial/patients.parquet``
    The confirming trial, one row per patient and arm: waterfall plots and Kaplan-Meier curves.

Every figure is embedded as a base64 PNG, so the page opens anywhere with no other file.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from immunocycle._errors import RunFolderError
from immunocycle._manifest import refresh, verify
from immunocycle.report._design_figures import plot_pareto, plot_vs_free
from immunocycle.report._html import figure_tag, table_tag, write_html
from immunocycle.report._study import is_study_folder, study_sections

__all__ = ["ReportInputError", "render_report"]

#: The arm every design trial shares (PD-1 blockade alone).
PD1_ARM = "nivolumab"
#: At most this many trial arms are drawn (waterfalls, Kaplan-Meier).
MAX_ARMS = 3
#: Rows of the screen table.
SCREEN_ROWS = 15
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ReportInputError(RunFolderError):
    """A file of the run folder that cannot be read: ``str()`` is ``"<file>: <problem>"``."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        super().__init__(str(self.path), problem)


# --------------------------------------------------------------------------- reading
def _read_json(path: Path, required: Sequence[str] = ()) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportInputError(path, f"cannot read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise ReportInputError(path, f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ReportInputError(path, f"expected a JSON object, got {type(data).__name__}")
    missing = [k for k in required if k not in data]
    if missing:
        raise ReportInputError(path, f"missing key(s) {missing}")
    return data


def _read_png(path: Path) -> Path:
    try:
        head = path.read_bytes()[:8]
    except OSError as exc:
        raise ReportInputError(path, f"cannot read ({exc})") from exc
    if head != _PNG_MAGIC:
        raise ReportInputError(path, "not a PNG image")
    return path


def _read_parquet(path: Path, required: Sequence[str]) -> pd.DataFrame:
    from immunocycle.trial import read_patients

    try:
        # without the per-scan list columns (Python objects per scan; the report draws none)
        frame = read_patients(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds for a corrupt file
        raise ReportInputError(path, f"not a readable Parquet file ({exc})") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ReportInputError(path, f"missing column(s) {missing}")
    return frame


# --------------------------------------------------------------------------- formatting
def _esc(value: Any) -> str:
    return html.escape(str(value))


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _pct(x: Any, digits: int = 0) -> str:
    return f"{100 * x:.{digits}f} %" if _is_num(x) else "\u2013"


def _ci_pct(value: Any, ci: Any, signed: bool = False) -> str:
    if not _is_num(value):
        return "\u2013"
    fmt = "{:+.0f}" if signed else "{:.0f}"
    out = fmt.format(100 * value) + " %"
    if isinstance(ci, Sequence) and len(ci) == 2 and all(_is_num(c) for c in ci):
        out += f" [{fmt.format(100 * ci[0])}, {fmt.format(100 * ci[1])}]"
    return out


def _pi_pct(pi: Any) -> str:
    """A 90 % prediction interval of fractions as ``[lo, hi] %`` (a dash if none)."""
    if isinstance(pi, Sequence) and len(pi) == 2 and all(_is_num(c) for c in pi):
        return f"[{100 * pi[0]:.0f}, {100 * pi[1]:.0f}] %"
    return "\u2013"


def _pi_days(pi: Any) -> str:
    if isinstance(pi, Sequence) and len(pi) == 2 and all(_is_num(c) for c in pi):
        return f"[{pi[0]:.0f}, {pi[1]:.0f}]"
    return "\u2013"


def _steps(steps: Any) -> str:
    if isinstance(steps, str):
        return steps.replace(";", ", ")
    if isinstance(steps, Sequence):
        return ", ".join(str(s) for s in steps)
    return "" if steps is None else str(steps)


def _regimen(name: str) -> str:
    """A regimen name, escaped, that may wrap after each ``+``."""
    return _esc(str(name)).replace("+", "+<wbr>")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], table_id: str) -> str:
    """An HTML table whose cells are already HTML (escape them first)."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _figs(tags: Sequence[str]) -> str:
    return '<div class="figs">' + "".join(tags) + "</div>"


def _fig(fig, caption: str, key: str, width: int = 520) -> str:
    """Embed a Figure (then close it) or a PNG file."""
    try:
        return figure_tag(fig, caption, width=width, key=key)
    finally:
        if not isinstance(fig, str | Path):
            import matplotlib.pyplot as plt

            plt.close(fig)


# --------------------------------------------------------------------------- diagnosis
def _evidence_index() -> tuple[dict, dict]:
    from immunocycle.catalog import load_catalog

    cat = load_catalog()
    by_doi = {str(e.doi).lower(): e for e in cat.evidence.values()}
    return cat, by_doi


def _citation(ref: str, cat, by_doi: Mapping) -> str:
    ev = cat.evidence.get(ref) or by_doi.get(str(ref).lower())
    doi = str(ev.doi) if ev is not None else (ref if "/" in str(ref) else None)
    link = (f'<a href="https://doi.org/{html.escape(doi, quote=True)}">doi:{_esc(doi)}</a>'
            if doi else _esc(ref))
    if ev is None:
        return link
    return f"{_esc(ev.citation)} ({ev.year}; {_esc(ev.system)}) {link}"


def _step_at(value, when: str = "at_diagnosis"):
    """A limiting step of a saved summary: ``{"at_diagnosis": k0, "at_end": k1}`` (or, in run
    folders written before that scheme, a bare step, read at diagnosis)."""
    if isinstance(value, Mapping):
        return value.get(when)
    return value if when == "at_diagnosis" else None


def _diagnosis_sections(folder: Path) -> list[tuple[str, str]]:
    jpath = folder / "diagnosis.json"
    d = _read_json(jpath, ("limiting_step",)) if jpath.is_file() else None
    figs = []
    parts = []
    if d is not None:
        from immunocycle.cycle import plot_cycle_diagram

        if isinstance(d.get("fluxes"), Mapping):
            ring = plot_cycle_diagram({"fluxes": d["fluxes"],
                                       "limiting_step": _step_at(d["limiting_step"]),
                                       "cycle_gain": d.get("cycle_gain", float("nan"))},
                                      title=str(d.get("source", "")))
            figs.append(_fig(ring, "Cancer-immunity cycle: step fluxes J1-J7 (cells or events "
                             "per day); the limiting step in red", "cycle", width=460))
        gain = d.get("cycle_gain")
        end = _step_at(d["limiting_step"], "at_end")
        others = [f"{name} {_esc(_step_at(d[key]))}" for key, name in
                  (("limiting_step_local", "with this tumor's own leverage"),
                   ("limiting_step_sobol", "with Sobol indices")) if key in d]
        parts.append(
            "<p>" + f"Source <b>{_esc(d.get('source', '?'))}</b>: limiting step at diagnosis "
            f"<b>{_esc(_step_at(d['limiting_step']))}</b>"
            + (f" (step {_esc(end)} at day {_esc(d.get('end_day', '?'))} untreated)"
               if end is not None else "")
            + f", phenotype <b>{_esc(d.get('phenotype', '?'))}</b>"
            + (f", cycle gain {gain:.3g}" if _is_num(gain) else "") + "."
            + (f" The same deficits weighted {'; '.join(others)}." if others else "")
            + "</p>")
        cohort = d.get("cohort")
        if isinstance(cohort, Mapping):
            # A cohort is diagnosed at its median patient; its patients differ.
            def shares(key: str, label: str) -> str:
                got = cohort.get(key) or {}
                if isinstance(got.get("at_diagnosis"), Mapping):
                    got = got["at_diagnosis"]
                items = sorted(got.items(), key=lambda kv: -kv[1])
                return ", ".join(f"{label}{_esc(k)} {100 * v:.0f} %" for k, v in items)

            parts.append(f"<p>Across the cohort's {_esc(cohort.get('n', '?'))} sampled patients, "
                         f"at diagnosis: phenotypes {shares('phenotype_shares', '')}; limiting steps "
                         f"{shares('limiting_step_shares', 'step ')}.</p>")
    if (folder / "step_scores.png").is_file():
        figs.append(_fig(_read_png(folder / "step_scores.png"), "Immunogram: step scores in "
                         "[0, 1] (0.5 = reference tumor)", "radar", width=420))
    if (folder / "elasticities.png").is_file():
        figs.append(_fig(_read_png(folder / "elasticities.png"), "Elasticities of the cycle "
                         "gain: d ln G / d ln p per parameter", "elasticities"))
    if figs:
        parts.append(_figs(figs))
    sections = [("Diagnosis", "".join(parts))] if parts else []
    if d is not None and isinstance(d.get("sensitivity"), Mapping):
        sections.append(("Sensitivity by step", _sensitivity_html(d)))
    barriers = _barriers_html(folder, d)
    if barriers:
        sections.append(("Barriers and evidence", barriers))
    return sections


def _sensitivity_html(d: Mapping) -> str:
    """Per step: local leverage (summed |elasticity|), and across a cohort Morris mu* and the
    Sobol total index of the step's top parameters."""
    local = d["sensitivity"]
    glob = d.get("global_sensitivity") if isinstance(d.get("global_sensitivity"), Mapping) else {}
    mu, st = glob.get("morris_mu_star") or {}, glob.get("sobol_total") or {}
    limiting = str(_step_at(d.get("limiting_step")))
    rows = []
    for step in map(str, range(1, 8)):
        cells = [f"<b>{step}</b>" if step == limiting else step,
                 *[f"{v[step]:.3g}" if _is_num(v.get(step)) else "\u2013" for v in (local, mu, st)]]
        rows.append(cells)
    method = str(d.get("sensitivity_method", "local: summed |elasticity| of the cycle gain"))
    note = (f"<p>{_esc(method[:1].upper() + method[1:])}."
            + (f" Global (cohort): Morris mu* over every parameter, then Sobol total indices "
               f"of the top parameters ({_esc(', '.join(glob.get('sobol_parameters', [])))}), "
               f"{_esc(glob.get('runs', '?'))} model runs." if glob else
               " No global analysis in this run (<code>immunocycle diagnose --cohort C "
               "--global</code>).")
            + " The limiting step is in bold.</p>")
    return note + _table(["step", "local leverage", "Morris mu*", "Sobol total"], rows,
                         "sensitivity-table")


def _barriers_html(folder: Path, d: Mapping | None) -> str:
    csv = folder / "barriers.csv"
    table = None
    if csv.is_file():
        try:
            table = pd.read_csv(csv, index_col=0)
        except Exception as exc:  # noqa: BLE001 - any parse failure names the file
            raise ReportInputError(csv, f"not a readable CSV table ({exc})") from exc
    if d is not None and isinstance(d.get("barriers"), list):
        ranked = [str(b) for b in d["barriers"]]
    elif table is not None and "tier" in table.columns:
        ranked = [str(b) for b in table.index[table["tier"] < 3]]
    else:
        return ""
    if not ranked:
        return "<p>No barrier ranked for this tumor.</p>"
    cat, by_doi = _evidence_index()
    scores = (d or {}).get("barrier_scores", {})
    evidence = (d or {}).get("evidence", {})
    rows = []
    for rank_no, bid in enumerate(ranked, 1):
        row = table.loc[bid] if table is not None and bid in table.index else None
        barrier = cat.barriers.get(bid)
        name = (row["name"] if row is not None and "name" in row.index
                else barrier.name if barrier is not None else bid)
        steps = (row["steps"] if row is not None and "steps" in row.index
                 else barrier.steps if barrier is not None else "")
        tier = row["tier"] if row is not None and "tier" in row.index else ""
        score = scores.get(bid, row["score"] if row is not None and "score" in row.index
                           else None)
        refs = evidence.get(bid)
        if refs is None and row is not None and isinstance(row.get("evidence"), str):
            refs = [r for r in row["evidence"].split(";") if r]
        if refs is None and barrier is not None:
            refs = list(barrier.evidence)
        cites = "<ul>" + "".join(f"<li>{_citation(r, cat, by_doi)}</li>"
                                 for r in refs or []) + "</ul>" if refs else "\u2013"
        rows.append([str(rank_no), f"<code>{_esc(bid)}</code><br>{_esc(name)}",
                     _esc(_steps(steps)), _esc(tier),
                     f"{score:.3g}" if _is_num(score) else "\u2013", cites])
    return ("<p>Tier 1: present in this tumor (ranked by presence x harm); tier 2: acts at the "
            "limiting step (ranked by harm, d ln G).</p>"
            + _table(["#", "barrier", "steps", "tier", "score", "evidence"], rows, "barriers"))


# --------------------------------------------------------------------------- design
def _design_sections(path: Path) -> tuple[list[tuple[str, str]], dict]:
    d = _read_json(path, ("recommendations",))
    recs = d["recommendations"]
    if not isinstance(recs, list) or not all(isinstance(r, Mapping) for r in recs):
        raise ReportInputError(path, "'recommendations' must be a list of objects")
    for r in recs:
        if "regimen" not in r:
            raise ReportInputError(path, f"a recommendation lacks 'regimen' (keys {sorted(r)})")
    confirmed = d.get("confirmed") or recs
    pareto = [str(p) for p in d.get("pareto") or []]
    inputs = d.get("inputs") or {}
    ae_limit = inputs.get("ae_limit") if isinstance(inputs, Mapping) else None
    sections = []

    target = _design_target(d)
    head = ("<p>" + (f"Target <b>{_esc(target)}</b>; " if target else "")
            + (f"limiting step at diagnosis <b>{_esc(_step_at(d['limiting_step']))}</b>; "
               if "limiting_step" in d else "")
            + (f"barriers present: {_esc(', '.join(map(str, d['barriers'])))}; "
               if d.get("barriers") else "")
            + (f"grade \u2265 3 AE limit {_pct(ae_limit)}." if _is_num(ae_limit)
               else "no AE limit.") + "</p>")
    rows = []
    for i, r in enumerate(recs, 1):
        bliss = r.get("synergy_bliss") or {}
        hsa = r.get("synergy_hsa") or {}
        pfs = r.get("median_pfs_days")
        rows.append([
            str(i), f"<b>{_regimen(r['regimen'])}</b>" + (" \u2605" if r["regimen"] in pareto else ""),
            _esc(_steps(r.get("steps"))), _esc(r.get("n", "")),
            _ci_pct(r.get("orr"), r.get("orr_ci")), _pi_pct(r.get("orr_pi")),
            f"{r['p_beats_comparator']:.2f}" if _is_num(r.get("p_beats_comparator")) else "\u2013",
            f"{pfs:.0f}" if _is_num(pfs) else ("not reached" if "median_pfs_days" in r else "\u2013"),
            _pct(r.get("ae_grade3plus_rate")),
            f"{r['hr_vs_pd1']:.2f}" if _is_num(r.get("hr_vs_pd1")) else "\u2013",
            _ci_pct(bliss.get("excess"), bliss.get("ci"), signed=True),
            _ci_pct(hsa.get("excess"), hsa.get("ci"), signed=True)])
    ranked = head + ('<div id="ranked">' + _table(
        ["rank", "regimen", "steps", "n", "ORR [95 % CI]", "ORR [90 % PI]", "P(beats PD-1)",
         "median PFS (days)", "AE grade \u2265 3", "HR vs PD-1", "Bliss excess [CI]",
         "HSA excess [CI]"], rows,
        "ranked-table") + "</div><p>\u2605 on the ORR / AE Pareto front. ORR: objective "
        "response rate (RECIST 1.1 CR + PR); PFS: progression-free survival; synergy excess in "
        "percentage points of ORR. CI: binomial, over the virtual patients. PI: 90 % prediction "
        "interval over replicates of every effect size drawn from its evidence-graded prior "
        "and of the cohort's fitted multiplier where it has one (same patients); P(beats PD-1): share of those replicates in which the regimen's ORR "
        "is above PD-1 blockade alone. Ranked by P(beats PD-1), then the expected ORR gain."
        "</p>" if rows else "<p>No regimen within the AE limit.</p>")
    sections.append(("Recommended regimens", ranked))

    if confirmed:
        fig = _fig(plot_pareto(confirmed, pareto, ae_limit if _is_num(ae_limit) else None),
                   "ORR (95 % CI; wide pale bars: 90 % prediction interval over the effect "
                   "sizes) versus grade \u2265 3 AE rate of every confirmed regimen; "
                   "the Pareto front in red, the AE limit dashed", "pareto", width=640)
        sections.append(("Response versus toxicity (Pareto)", _figs([fig])))

    sections.append(("Nano-formulation versus free drug", _vs_free_html(recs)))

    screen = d.get("screen")
    if isinstance(screen, list) and screen:
        frame = pd.DataFrame(screen)
        if "steps" in frame.columns:
            frame["steps"] = frame["steps"].apply(_steps)
        if "therapies" in frame.columns:
            frame = frame.drop(columns="therapies")
        frame = frame.rename(columns={"diameter_end_mm": "final diameter (mm)",
                                      "vs_pd1_mm": "vs PD-1 alone (mm)"})
        body = (f"<p>Top {min(SCREEN_ROWS, len(frame))} of {len(frame)} candidates screened on "
                "the reference patient (final tumor diameter, lower is better); kept ones went "
                "to the confirming trial.</p>" + '<div id="screen">'
                + table_tag(frame.head(SCREEN_ROWS)) + "</div>")
        sections.append(("Screen", body))
    return sections, d


def _design_target(d: Mapping) -> str | None:
    """``"preset:NAME"`` / ``"cohort:NAME"`` (``target``), or the older ``preset`` key."""
    if d.get("target"):
        return str(d["target"])
    return f"preset:{d['preset']}" if d.get("preset") else None


def _vs_free_html(recs: Sequence[Mapping]) -> str:
    rows = [r for r in recs if r.get("vs_free")]
    if not rows:
        return "<p id=\"vs-free-none\">No nano-formulation among the recommendations.</p>"
    cells = []
    for r in rows:
        v = r["vs_free"]
        ratio, peak = v.get("exposure_ratio") or {}, v.get("peak_ratio") or {}
        d_pfs = v.get("d_median_pfs_days")
        cells.append([f"<b>{_regimen(r['regimen'])}</b>", _regimen(v.get("free_regimen", "")),
                      *[f"{ratio[k]:.3g}" if _is_num(ratio.get(k)) else "\u2013"
                        for k in ("tumor", "lymph_node", "blood")],
                      *[f"{peak[k]:.3g}" if _is_num(peak.get(k)) else "\u2013"
                        for k in ("tumor", "lymph_node")],
                      _ci_pct(v.get("d_orr"), None, signed=True),
                      f"{d_pfs:+.0f}" if _is_num(d_pfs) else "\u2013",
                      _ci_pct(v.get("d_ae_grade3plus_rate"), None, signed=True),
                      _esc(v.get("why", ""))])
    table = _table(["nano regimen", "free regimen", "tumor AUC ratio", "lymph node AUC ratio",
                    "blood AUC ratio", "tumor peak ratio", "lymph node peak ratio", "\u0394 ORR",
                    "\u0394 median PFS (days)",
                    "\u0394 AE grade \u2265 3", "why"], cells, "vs-free-table")
    fig = _fig(plot_vs_free(rows), "Nano / free exposure (AUC at the same dose) per tissue and "
               "nano \u2212 free differences in ORR and grade \u2265 3 AE rate", "vs_free",
               width=760)
    note = ("<p class=\"note\">Exposures are read off the simulated time courses of the "
            "reference patient (AUC and peak, nano / free at the same dose); a nano-formulation's "
            "tumor and node kinetics are fitted to the PBPK's time courses of released payload "
            "(no AUC-ratio cap or node floor).</p>")
    return table + note + _figs([fig])


# --------------------------------------------------------------------------- trial
def _trial_sections(path: Path, design: Mapping | None) -> list[tuple[str, str]]:
    from immunocycle.report._trial_figures import kaplan_meier, swimmer, waterfall
    from immunocycle.trial import is_response

    frame = _read_parquet(path, ("arm", "bor", "best_pct_change", "pfs_days", "pfs_event"))
    if "patient_id" in frame.columns:
        ok = pd.Series(True, index=frame.index)
        for col in ("included", "evaluable"):
            if col in frame.columns:
                ok &= frame[col].fillna(False).astype(bool)
        good = ok.groupby(frame["patient_id"]).transform("all")
        frame = frame[good]
    else:
        for col in ("included", "evaluable"):
            if col in frame.columns:
                frame = frame[frame[col].fillna(False).astype(bool)]
    if frame.empty:
        raise ReportInputError(path, "no included, evaluable patient")
    present = list(dict.fromkeys(frame.sort_values("arm_index")["arm"] if "arm_index" in
                                 frame.columns else frame["arm"]))
    arms = _arms_to_draw(present, design)
    tags = []
    for arm in arms:
        sub = frame[frame["arm"] == arm]
        fig = waterfall(sub, title=f"{arm} (n = {len(sub)})")
        tags.append(_fig(fig, f"Waterfall, {arm}: best change in target-lesion sum (%) by "
                         "RECIST 1.1 response (complete responses at -100 %)", "waterfall",
                         width=480))
        if {"response_start_days", "cr_start_days"} <= set(sub.columns) and \
                is_response(sub["bor"]).any():
            tags.append(_fig(swimmer(sub, title=f"{arm}: responders"),
                             f"Swimmer plot, {arm}: each responder's time on study (days), "
                             "response and complete-response starts, progression or ongoing "
                             "response", "swimmer", width=560))
    km = kaplan_meier(frame, arms)
    tags.append(_fig(km, "Kaplan-Meier progression-free survival (days) of "
                     + ", ".join(arms) + " (95 % bands; dashed: medians)", "km", width=600))
    if any(c.startswith("ae_type_") for c in frame.columns):
        from immunocycle.report._ae_figures import ae_heatmap

        tags.append(_fig(ae_heatmap(frame, present), "Grade \u2265 3 adverse events (% of "
                         "patients) per arm and AE type: checkpoint irAEs by organ and the organ "
                         "laws by agent class (data/trial/organ_toxicity.yaml)", "ae_heatmap",
                         width=640))
    n = frame["patient_id"].nunique() if "patient_id" in frame.columns else len(frame)
    text = (f"<p>{n} evaluable virtual patients, each given every arm; {len(present)} arms "
            f"({_esc(', '.join(present))}); drawn: {_esc(', '.join(arms))}.</p>")
    summary = path.parent / "summary.json"
    if summary.is_file():
        s = _read_json(summary)
        text += _trial_arms_html(s)
        text += ("<details><summary>summary.json</summary><pre>"
                 + _esc(json.dumps(s, indent=2, default=str)) + "</pre></details>")
    return [("Confirming trial", text + _figs(tags))]


def _trial_arms_html(summary: Mapping) -> str:
    """Per arm: ORR with its 95 % CI (patients) next to its 90 % prediction interval (effect
    sizes), median PFS and the grade >= 3 AE rate with theirs."""
    arms = [a for a in summary.get("arms") or [] if isinstance(a, Mapping) and "name" in a]
    if not arms:
        return ""
    rows = []
    for a in arms:
        pfs = a.get("median_pfs_days")
        rows.append([_regimen(str(a["name"])), _esc(a.get("n", "")),
                     _ci_pct(a.get("orr"), a.get("orr_ci")), _pi_pct(a.get("orr_pi")),
                     f"{pfs:.0f}" if _is_num(pfs) else "not reached",
                     _pi_days(a.get("median_pfs_days_pi")), _pct(a.get("ae_grade3plus_rate")),
                     _pi_pct(a.get("ae_grade3plus_rate_pi"))])
    return ('<div id="trial-arms">' + _table(
        ["arm", "n", "ORR [95 % CI]", "ORR [90 % PI]", "median PFS (days)", "PFS [90 % PI]",
         "AE grade \u2265 3", "AE [90 % PI]"], rows, "trial-arms-table")
        + "</div><p>CI: binomial over the virtual patients; PI: 90 % prediction interval over "
        "replicates of the effect sizes (evidence-graded priors) and of the cohort's fitted "
        "multiplier where it has one (its calibration uncertainty; same patients; a median PFS "
        "not reached counts as the follow-up).</p>")


def _arms_to_draw(present: Sequence[str], design: Mapping | None) -> list[str]:
    """The best recommended arms found in the trial and PD-1 alone, at most :data:`MAX_ARMS`."""
    ranked = [str(r["regimen"]) for r in (design or {}).get("recommendations", [])]
    best = [a for a in dict.fromkeys(ranked) if a in present and a != PD1_ARM]
    if not best:  # no design, or no recommended arm in this trial: the trial's own arm order
        best = [a for a in present if a != PD1_ARM]
    arms = best[: MAX_ARMS - 1] if PD1_ARM in present else best[:MAX_ARMS]
    return arms + ([PD1_ARM] if PD1_ARM in present else [])


# --------------------------------------------------------------------------- inputs
def _inputs_section(path: Path) -> tuple[str, str]:
    data = _read_json(path)
    inputs = data.get("inputs") if isinstance(data.get("inputs"), Mapping) else {}
    command = inputs.get("command") or data.get("command")
    if isinstance(command, list):
        command = " ".join(map(str, command))
    facts = [f"immunocycle {_esc(data.get('immunocycle_version', '?'))}",
             f"git revision <code>{_esc(data.get('git_revision') or 'unknown')}</code>"]
    if data.get("created_utc"):
        facts.append(f"created {_esc(data['created_utc'])} UTC")
    body = "<p>" + "; ".join(facts) + ".</p>"
    body += (f'<p>Reproduce with:</p><pre id="command">{_esc(command)}</pre>' if command
             else "<p>No command recorded; the inputs below reproduce the run.</p>")
    body += "<pre>" + _esc(json.dumps(data, indent=2, default=str)) + "</pre>"
    return ("Inputs / reproduce", body)


def _design_inputs(design: Mapping) -> tuple[str, str] | None:
    inputs = design.get("inputs")
    if not inputs:
        return None
    return ("Design inputs", "<pre>" + _esc(json.dumps(inputs, indent=2, default=str))
            + "</pre>")


# --------------------------------------------------------------------------- entry point
def render_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Render a saved run folder into one self-contained HTML page.

    Parameters
    ----------
    run_dir : str or Path
        A run folder holding any of ``inputs.json``, ``diagnosis/`` (``diagnosis.json``,
        ``barriers.csv``, ``step_scores.png``, ``elasticities.png``), ``design.json`` and
        ``trial/patients.parquet`` (see the module docstring). Sections are rendered for the parts
        found. Rates are shown in % of patients, times in days, fluxes in cells or events per day.
    out : str or Path, optional
        Where to write the page (default ``run_dir/report.html``).

    Returns
    -------
    Path
        The HTML file written: figures embedded as base64 PNG, no external resource.

    Raises
    ------
    FileNotFoundError
        If ``run_dir`` is not a folder.
    ReportInputError
        (a :class:`ValueError`) If the folder holds none of the recognised files (the message
        names the folder), or a file cannot be parsed (the message names the file:
        ``"<file>: <problem>"``).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such folder")
    # A file changed after its run wrote it would silently change the report: refuse it.
    verify(run_dir, skip=(run_dir / "report.html", *([out] if out is not None else [])))
    # A demo or design folder holds diagnosis/ and trial/; the folders that `immunocycle
    # diagnose` and `immunocycle trial` write hold the same files at their top level.
    diag_dir = run_dir / "diagnosis"
    if not diag_dir.is_dir() and (run_dir / "diagnosis.json").is_file():
        diag_dir = run_dir
    diag_files = [diag_dir / f for f in ("diagnosis.json", "barriers.csv", "step_scores.png",
                                         "elasticities.png")]
    has_diag = any(p.is_file() for p in diag_files)
    design_path = run_dir / "design.json"
    trial_path = run_dir / "trial" / "patients.parquet"
    if not trial_path.is_file() and (run_dir / "patients.parquet").is_file():
        trial_path = run_dir / "patients.parquet"
    inputs_path = run_dir / "inputs.json"
    if not (has_diag or design_path.is_file() or trial_path.is_file() or inputs_path.is_file()):
        raise ReportInputError(run_dir, "no recognisable run files (expected inputs.json, "
                               "diagnosis/diagnosis.json, design.json or trial/patients.parquet)")

    sections: list[tuple[str, str]] = []
    design = None
    title_bits = []
    if has_diag:
        sections += _diagnosis_sections(diag_dir)
    if design_path.is_file():
        design_sections, design = _design_sections(design_path)
        sections += design_sections
        if target := _design_target(design):
            title_bits.append(target)
    if trial_path.is_file():
        sections += _trial_sections(trial_path, design)
    if is_study_folder(run_dir):  # immunocycle study --out DIR
        sections += study_sections(run_dir)
    if design is not None and (extra := _design_inputs(design)):
        sections.append(extra)
    if inputs_path.is_file():
        sections.append(_inputs_section(inputs_path))
    if not title_bits and (diag_dir / "diagnosis.json").is_file():
        source = _read_json(diag_dir / "diagnosis.json").get("source")
        if source:
            title_bits.append(str(source))
    title = "immunocycle report: " + (" ".join(title_bits) + " " if title_bits else "") \
        + f"({run_dir.resolve().name})"
    target = Path(out) if out is not None else run_dir / "report.html"
    path = write_html(target, title, sections)
    refresh(path)  # a report written into a run folder keeps that folder verifiable
    return path
