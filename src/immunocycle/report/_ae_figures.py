"""Adverse-event heat map: grade >= 3 rate per arm (rows) and AE type (columns)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from immunocycle._errors import InputError

PREFIX = "ae_type_"


def ae_rate_table(patients: pd.DataFrame, arms: Sequence[str] | None = None) -> pd.DataFrame:
    """Grade >= 3 rate (fraction) per arm (index) and AE type (columns) from a trial's
    ``ae_type_<type>`` columns; types no arm has are dropped."""
    cols = [c for c in patients.columns if c.startswith(PREFIX)]
    if not cols or "arm" not in patients.columns:
        raise InputError("patients: no ae_type_<type> columns (a trial from before issue 15)")
    arms = list(arms) if arms is not None else list(dict.fromkeys(patients["arm"]))
    table = (patients[["arm", *cols]].astype({c: float for c in cols}).groupby("arm")[cols]
             .mean().reindex(arms))
    table.columns = [c[len(PREFIX):] for c in cols]
    return table.loc[:, (table.fillna(0.0) > 0).any(axis=0)]


def ae_heatmap(patients: pd.DataFrame, arms: Sequence[str] | None = None,
               path: str | os.PathLike | None = None, *, title: str | None = None) -> Figure:
    """Heat map of grade >= 3 AE rates, arm x AE type, each cell labelled in %.

    Parameters
    ----------
    patients : DataFrame
        A trial's ``patients.parquet`` (``arm`` and ``ae_type_<type>`` columns).
    arms : sequence of str, optional
        Row order (default: as they appear).
    path : path, optional
        Save as PNG.
    """
    table = ae_rate_table(patients, arms)
    n_rows, n_cols = table.shape
    title = title or "Grade \u2265 3 adverse events by type"
    # Room for the labels (inches per character at the default 10-pt font): long arm names
    # and a one-column table otherwise leave the axes no width and constrained layout gives up.
    y_label = max((len(str(a)) for a in table.index), default=0)
    x_label = max((len(str(c)) for c in table.columns), default=0)
    width = max(1.6 + 0.75 * max(n_cols, 1) + 0.075 * y_label, 0.09 * len(title) + 1.0)
    fig = Figure(figsize=(width, 1.4 + 0.45 * n_rows + 0.05 * x_label), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    values = 100.0 * table.to_numpy(dtype=float) if n_cols else np.zeros((n_rows, 1))
    top = max(float(np.nanmax(values)) if values.size else 0.0, 1.0)
    im = ax.imshow(values, cmap="Reds", vmin=0.0, vmax=top, aspect="auto")
    ax.set_yticks(range(n_rows), [str(a) for a in table.index])
    ax.set_xticks(range(n_cols), [c.replace("_", " ") for c in table.columns], rotation=40,
                  ha="right")
    for i in range(n_rows):
        for j in range(n_cols):
            v = values[i, j]
            ax.text(j, i, "\u2013" if not np.isfinite(v) else f"{v:.0f}", ha="center",
                    va="center", fontsize=8, color="white" if v > 0.6 * top else "black")
    fig.colorbar(im, ax=ax, label="grade \u2265 3 (% of patients)")
    fig.suptitle(title)  # over the whole figure: a one-column axes is narrower than the title
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


__all__ = ["ae_heatmap", "ae_rate_table"]
