"""Figures of a virtual mouse study: volume curves per group and survival to the endpoint.

Drawn from the tables :func:`immunocycle.trial.run_study` writes (``measurements.parquet``,
``mice.parquet``), so ``immunocycle report`` can redraw them from a saved folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from immunocycle._plotstyle import NEUTRAL, label_axes, legend_outside, series_style


def plot_study_curves(measurements: pd.DataFrame, arms: Sequence[str],
                      endpoint_volume: float | None = None):
    """One panel per group: each mouse's measured volume (thin grey) and the group mean ± SEM.

    Parameters
    ----------
    measurements : DataFrame
        ``arm``, ``mouse``, ``day``, ``volume_mm3`` (rows while on study).
    arms : sequence of str
        Groups in panel order.
    endpoint_volume : float, optional
        Drawn as a dashed line (mm3).

    Returns
    -------
    matplotlib Figure
    """
    from matplotlib.figure import Figure

    n = len(arms)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(4.0 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    top = float(np.nanmax(measurements["volume_mm3"])) if len(measurements) else 1.0
    for k, arm in enumerate(arms):
        ax = axes.flat[k]
        g = measurements[measurements["arm"] == arm]
        for _, m in g.groupby("mouse"):
            ax.plot(m["day"], m["volume_mm3"], color=NEUTRAL, linewidth=0.7, alpha=0.7)
        stats = g.groupby("day")["volume_mm3"].agg(["mean", "sem"])
        style = series_style(k)
        ax.errorbar(stats.index, stats["mean"], yerr=stats["sem"].fillna(0.0), capsize=2,
                    linewidth=1.8, color=style["color"], linestyle=style["linestyle"],
                    label="mean \u00b1 SEM")
        if endpoint_volume:
            ax.axhline(endpoint_volume, color=NEUTRAL, linestyle="--", linewidth=0.8)
        ax.set_title(arm, fontsize="small")
        ax.set_ylim(0, max(top, endpoint_volume or 0.0) * 1.05)
        label_axes(ax, "day (d)", "tumor volume (mm\u00b3)")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig


def plot_study_survival(mice: pd.DataFrame, arms: Sequence[str]):
    """Kaplan-Meier curves of the time to the endpoint volume, one per group.

    Parameters
    ----------
    mice : DataFrame
        ``arm``, ``endpoint_day`` (NaN if never reached), ``days_on_study``.
    arms : sequence of str

    Returns
    -------
    matplotlib Figure
    """
    from lifelines import KaplanMeierFitter
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 3.6), layout="constrained")
    ax = fig.subplots()
    for k, arm in enumerate(arms):
        g = mice[mice["arm"] == arm]
        event = g["endpoint_day"].notna().to_numpy()
        t = np.where(event, g["endpoint_day"], g["days_on_study"]).astype(float)
        kmf = KaplanMeierFitter().fit(t, event, label=arm)
        style = series_style(k)
        ax.step(kmf.survival_function_.index, kmf.survival_function_[arm], where="post",
                color=style["color"], linestyle=style["linestyle"], label=arm)
    ax.set_ylim(-0.02, 1.02)
    label_axes(ax, "day (d)", "mice below the endpoint volume (fraction)")
    legend_outside(ax, title="arm")
    return fig


def study_figures(result, out: str | Path) -> dict[str, Path]:
    """Write ``volumes.png`` and ``survival.png`` of a :class:`immunocycle.trial.StudyResult`.

    Returns
    -------
    dict of name -> Path
    """
    out = Path(out)
    paths = {}
    endpoint = result.summary.get("endpoint_volume_mm3") if result.summary else None
    for name, fig in (("volumes", plot_study_curves(result.measurements, result.arms, endpoint)),
                      ("survival", plot_study_survival(result.mice, result.arms))):
        paths[name] = out / f"{name}.png"
        fig.savefig(paths[name], dpi=110)
    return paths


__all__ = ["plot_study_curves", "plot_study_survival", "study_figures"]
