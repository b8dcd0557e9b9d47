"""The report section of a virtual mouse study folder (``immunocycle study --out DIR``).

Reads ``summary.json``, ``measurements.parquet`` and ``mice.parquet``; redraws the volume
curves (each mouse, mean ± SEM) and the Kaplan-Meier curves, and tabulates per group the
complete-regression fraction, TGI, median survival to the endpoint and the log-rank p.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from immunocycle._errors import RunFolderError
from immunocycle.report._html import figure_tag, table_tag
from immunocycle.report._study_figures import plot_study_curves, plot_study_survival

#: Files that make a folder a study folder.
STUDY_FILES = ("summary.json", "measurements.parquet", "mice.parquet")


def is_study_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds the files of ``immunocycle study``."""
    return all((Path(folder) / f).is_file() for f in STUDY_FILES)


def _embed(fig, caption: str, key: str) -> str:
    return figure_tag(fig, caption, width=620, key=key)


def study_sections(folder: str | Path) -> list[tuple[str, str]]:
    """(heading, HTML) sections of a study folder.

    Raises
    ------
    RunFolderError
        Naming the file that cannot be read.
    """
    folder = Path(folder)
    try:
        summary = json.loads((folder / "summary.json").read_text())
        meas = pd.read_parquet(folder / "measurements.parquet")
        mice = pd.read_parquet(folder / "mice.parquet")
        arms = list(summary["arms"])
        per_arm = summary["per_arm"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunFolderError(str(folder), f"study files unreadable: {exc}") from exc
    rows = [{"arm": a, "mice": per_arm[a].get("mice"),
             "CR (%)": 100 * (per_arm[a].get("cr_fraction") or 0.0),
             "TGI (%)": per_arm[a].get("tgi_pct"),
             "median survival (d)": per_arm[a].get("median_survival_days"),
             "log-rank p vs first": per_arm[a].get("p_logrank"),
             "doubling time (d)": per_arm[a].get("doubling_time_days")} for a in arms]
    intro = (f"<p>Model <b>{html.escape(str(summary.get('model')))}</b> "
             f"({html.escape(str(summary.get('strain', '')))}), "
             f"{summary.get('mice_per_arm')} mice per group, start "
             f"{summary.get('start_volume_mm3')} mm³, endpoint "
             f"{summary.get('endpoint_volume_mm3')} mm³, {summary.get('days')} days; TGI on day "
             f"{summary.get('last_common_day')} versus {html.escape(arms[0])}. Published "
             f"baseline phenotype: {html.escape(str(summary.get('expected_phenotype')))}.</p>")
    figs = ('<div class="figs">'
            + _embed(plot_study_curves(meas, arms, summary.get("endpoint_volume_mm3")),
                     "Tumor volume per group: each mouse (grey), mean ± SEM", "study_volumes")
            + _embed(plot_study_survival(mice, arms),
                     "Survival to the endpoint volume (Kaplan-Meier)", "study_survival")
            + "</div>")
    return [("Virtual mouse study", intro + table_tag(pd.DataFrame(rows)) + figs)]


__all__ = ["STUDY_FILES", "is_study_folder", "study_sections"]
