"""Run every target and constraint: the validation scorecard.

A target passes when the model value lies in its band, or, for a sampled value (an ORR, a rate,
a median over virtual patients), when the value's 95 % sampling interval overlaps the band:
model and data are then not distinguishable at this sample size. Constraints (``at_most`` bands)
use the value itself. Statuses: ``pass``, ``fail``, ``known gap`` (fails, with the issue that
fixes it in ``known_gap``: reported, not fatal), ``known gap, now passes``, ``not yet modelled``
(the model lacks the capability: shown, never counted as a pass), ``skipped`` (a data set is
missing on this machine), ``full run only`` (a target marked ``quick: false``, in a ``--quick``
run) and ``error`` (the check itself broke; fatal).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from immunocycle.validate._registry import KINDS, Context, Measurement, NotModelled
from immunocycle.validate._targets import Target, load_targets

FATAL = ("fail", "error")


def _passes(m: Measurement, band: tuple[float, float]) -> bool:
    lo, hi = band
    if lo <= m.value <= hi:
        return True
    if m.interval is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return False
    return m.interval[0] <= hi and m.interval[1] >= lo


def _plan(targets: Sequence[Target], ctx: Context) -> None:
    """Ask every cohort for all the arms its targets need, so each is simulated once."""
    for t in targets:
        c = t.check
        if ctx.quick and not t.quick:
            continue
        if t.status == "active" and "cohort" in c:
            ctx.want_arms(c["cohort"], [a for a in (c.get("reference"), c.get("arm")) if a])
        if t.status == "active" and "model" in c and "arm" in c:
            ctx.want_arms(f"mouse:{c['model']}", [c["arm"]])


def evaluate(target: Target, ctx: Context) -> dict[str, Any]:
    """One scorecard row: the model value of ``target`` and its verdict."""
    row: dict[str, Any] = {
        "id": target.id, "group": target.group, "target": target.what, "source": target.source,
        "doi": target.doi, "value": target.value, "units": target.units,
        "band": list(target.interval()) if target.band is not None else None,
        "band_note": target.band_note, "model": None, "model_interval": None, "n": None,
        "detail": "", "pass": None, "status": "", "known_gap": target.known_gap,
        "check": target.check.get("kind"), "file": target.file, "seconds": 0.0}
    if target.status != "active":
        row.update(status="not yet modelled", detail=target.reason or "")
        return row
    if ctx.quick and not target.quick:
        row.update(status="full run only", detail="left out of --quick (its arms cost a model "
                   "compilation each); run immunocycle validate without --quick")
        return row
    kind = KINDS.get(target.check["kind"])
    if kind is None:
        row.update(status="error", detail=f"unknown check kind {target.check['kind']!r} "
                   f"(known: {', '.join(sorted(KINDS))})", **{"pass": False})
        return row
    start = time.perf_counter()
    try:
        m = kind(target.check, ctx)
    except NotModelled as exc:
        from immunocycle.validate._preclinical import MissingData

        row.update(status="skipped" if isinstance(exc, MissingData) else "not yet modelled",
                   detail=str(exc))
        return row
    except Exception as exc:  # a broken check is a failure of the scorecard, with its reason
        row.update(status="error", detail=f"{type(exc).__name__}: {exc}", **{"pass": False})
        return row
    finally:
        row["seconds"] = round(time.perf_counter() - start, 2)
    ok = _passes(m, target.interval())
    row.update(model=m.value, model_interval=list(m.interval) if m.interval else None, n=m.n,
               detail=m.detail, **{"pass": ok})
    if target.known_gap and not (ctx.quick and target.known_gap_run == "full"):
        row["status"] = "known gap, now passes" if ok else "known gap"
    else:
        row["status"] = "pass" if ok else "fail"
    return row


@dataclass
class Scorecard:
    """The rows of a validation run (one per target), with the run's settings."""

    rows: list[dict[str, Any]]
    quick: bool
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Rows that fail the run (``fail`` or ``error``)."""
        return [r for r in self.rows if r["status"] in FATAL]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def to_json_list(self) -> list[dict[str, Any]]:
        """The ``--json`` output: per target ``{target, source, model, band, pass}`` and more."""
        return [{"target": r["id"], "what": r["target"], "source": r["source"], "doi": r["doi"],
                 "value": r["value"], "model": r["model"], "model_interval": r["model_interval"],
                 "band": r["band"], "units": r["units"], "pass": r["pass"], "status": r["status"],
                 "known_gap": r["known_gap"], "detail": r["detail"], "n": r["n"]}
                for r in self.rows]


def run_validation(targets: Sequence[Target] | None = None, *, quick: bool = False,
                   seed: int = 0, only: Sequence[str] | None = None,
                   log: Callable[[str], None] | None = None) -> Scorecard:
    """Compute every target's model value and verdict.

    Parameters
    ----------
    targets : sequence of Target, optional
        Default: the packaged ``data/validation/*.yaml`` (:func:`load_targets`).
    quick : bool
        Small samples (CI): 100 patients per cohort instead of the calibration's 1000, 12 mice
        per group instead of 40, the constraints' ``quick_regimens`` only.
    seed : int
        Seed of patients and mice (the cohort calibration used 0).
    only : sequence of str, optional
        Target ids or groups to run (the others are left out of the card).
    log : callable, optional
        Progress messages.
    """
    import immunocycle.validate._clinical  # noqa: F401 (registers the kinds)
    import immunocycle.validate._constraints  # noqa: F401
    import immunocycle.validate._preclinical  # noqa: F401

    targets = list(load_targets() if targets is None else targets)
    if only:
        from immunocycle._errors import InputError

        wanted = set(only)
        known = {t.id for t in targets} | {t.group for t in targets}
        unknown = sorted(wanted - known)
        if unknown:
            raise InputError(f"--only: unknown target or group {', '.join(unknown)}")
        targets = [t for t in targets if t.id in wanted or t.group in wanted]
    ctx = Context(quick=quick, seed=seed, n_trial=100 if quick else 1000, log=log)
    _plan(targets, ctx)
    rows = [evaluate(t, ctx) for t in targets]
    return Scorecard(rows, quick, seed, {"n_trial": ctx.n_trial, "days": ctx.days})


def _fmt(v: Any, units: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return "∞" if v > 0 else "-∞"
    if units == "fraction":
        return f"{100 * v:.1f}%"
    return f"{v:.3g}"


def band_text(row: dict[str, Any]) -> str:
    b = row["band"]
    if b is None:
        return "-"
    lo, hi = b
    if not math.isfinite(lo):
        return f"≤ {_fmt(hi, row['units'])}"
    if not math.isfinite(hi):
        return f"≥ {_fmt(lo, row['units'])}"
    return f"{_fmt(lo, row['units'])} – {_fmt(hi, row['units'])}"


def model_text(row: dict[str, Any]) -> str:
    text = _fmt(row["model"], row["units"])
    if row["model_interval"]:
        lo, hi = row["model_interval"]
        text += f" [{_fmt(lo, row['units'])}, {_fmt(hi, row['units'])}]"
    return text


def to_markdown(card: Scorecard) -> str:
    """The scorecard as a Markdown table (the README's)."""
    lines = ["| target | source | published | model [95% CI] | pass band | result |",
             "|---|---|---|---|---|---|"]
    for r in card.rows:
        result = r["status"] + (f" ({r['known_gap']})" if r["known_gap"] and r["status"] != "pass"
                                else "")
        if r["status"] == "not yet modelled":
            result = f"not yet modelled ({r['detail']})"
        src = r["source"] + (f", doi {r['doi']}" if r["doi"] else "")
        cells = [r["target"], src, _fmt(r["value"], r["units"]) + (
            f" {r['units']}" if r["units"] not in ("fraction", "", None) and r["value"] is not None
            else ""), model_text(r), band_text(r), result]
        lines.append("| " + " | ".join(str(c).replace("|", "/").replace("\n", " ")
                                        for c in cells) + " |")
    counts = ", ".join(f"{v} {k}" for k, v in card.counts().items())
    lines.append("")
    lines.append(f"{len(card.rows)} targets: {counts}"
                 f" ({'--quick' if card.quick else 'full'} run, seed {card.seed}).")
    return "\n".join(lines)


def write_scorecard(card: Scorecard, out: str | Path) -> dict[str, Path]:
    """Write ``scorecard.html``, ``scorecard.json`` and ``scorecard.md`` under ``out``."""
    import html

    from immunocycle._provenance import provenance, write_json
    from immunocycle.report import table_tag, write_html

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([{"target": r["target"], "source": r["source"],
                           "doi": r["doi"] or "", "published": _fmt(r["value"], r["units"]),
                           "units": r["units"], "model [95% CI]": model_text(r),
                           "pass band": band_text(r), "result": r["status"],
                           "detail": r["detail"], "known gap": r["known_gap"] or ""}
                          for r in card.rows])
    counts = ", ".join(f"{v} {k}" for k, v in card.counts().items())
    intro = (f"<p>{len(card.rows)} targets and constraints: {html.escape(counts)}. "
             f"{'Quick' if card.quick else 'Full'} run, seed {card.seed}, "
             f"{card.settings.get('n_trial')} virtual patients per cohort. A sampled model value "
             "passes when its 95% interval overlaps the band; known gaps fail with the issue that "
             "fixes them; 'not yet modelled' is never a pass.</p>")
    sections = [("Summary", intro)]
    for group in dict.fromkeys(r["group"] for r in card.rows):
        sub = frame[[r["group"] == group for r in card.rows]]
        sections.append((group, table_tag(sub)))
    paths = {"html": write_html(out / "scorecard.html", "immunocycle validation scorecard",
                                sections),
             "json": write_json(out / "scorecard.json",
                                {"rows": card.rows, "quick": card.quick, "seed": card.seed,
                                 "settings": card.settings, "provenance": provenance(
                                     quick=card.quick, seed=card.seed)}),
             "markdown": out / "scorecard.md"}
    paths["markdown"].write_text(to_markdown(card) + "\n")
    return paths


__all__ = ["Scorecard", "band_text", "evaluate", "model_text", "run_validation", "to_markdown",
           "write_scorecard"]
