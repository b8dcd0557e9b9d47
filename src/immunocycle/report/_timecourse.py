"""Time-course figures of a simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from immunocycle._plotstyle import LINESTYLES, NEUTRAL, PALETTE, use_series_cycle
from immunocycle.engine import SimulationResult


def plot_timecourses(result: SimulationResult, names: list[str] | None = None,
                     path: str | Path | None = None, *, time_units: str = "day",
                     units: dict[str, str] | None = None, log: bool = True) -> Figure:
    """One panel per quantity, one line per patient (up to 50 shown), log scale by default.

    ``units`` maps quantity names to unit strings shown in the panel titles.
    """
    units = units or {}
    names = names or result.state_names
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        values = result[name][:50]
        if len(values) <= len(PALETTE) * len(LINESTYLES):
            use_series_cycle(ax, len(values))  # each patient its own colour and line style
        else:
            ax.set_prop_cycle(color=[NEUTRAL])  # an ensemble: one colour, translucent
        for row in values:
            ax.plot(result.times, row, lw=1.0, alpha=0.8 if len(values) < 5 else 0.3)
        ax.set_title(f"{name} ({units[name]})" if name in units else name)
        ax.set_xlabel(f"time ({time_units})")
        if log and np.nanmin(values) > 0:
            ax.set_yscale("log")
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
