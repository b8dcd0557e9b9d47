"""Figures of the diagnosis: the immunogram radar and the elasticities grouped by step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # object API: no pyplot state, no backend switch on import

STEP_NAMES = ("1 antigen release", "2 presentation", "3 priming", "4 trafficking",
              "5 infiltration", "6 recognition", "7 killing")


def plot_step_scores(scores: Sequence[float], *, title: str = "", limiting: int | None = None):
    """Radar chart (immunogram) of the seven step scores in [0, 1]; 0.5 = reference tumor."""
    values = np.asarray(scores, dtype=float)
    angles = np.linspace(0, 2 * np.pi, 7, endpoint=False)
    from immunocycle._plotstyle import NEUTRAL, legend_outside, series_style

    fig = Figure(figsize=(7.0, 5.5), layout="constrained")
    ax = fig.subplots(subplot_kw={"polar": True})
    tumor, hot = series_style(0), series_style(1)
    ax.plot(np.append(angles, angles[0]), np.full(8, 0.5), color=NEUTRAL, ls="--", lw=0.8,
            label="reference tumor (0.5)")
    ax.plot(np.append(angles, angles[0]), np.append(values, values[0]), color=tumor["color"],
            ls="-", marker="o", lw=2, label="step score (0-1, dimensionless)")
    ax.fill(angles, values, color=tumor["color"], alpha=0.25)
    if limiting is not None:
        ax.plot(angles[limiting - 1], values[limiting - 1], "o", color=hot["color"], ms=12,
                ls="none", label=f"limiting step {limiting}")
    ax.set_xticks(angles)
    ax.set_xticklabels(STEP_NAMES, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_rlabel_position(75)
    ax.set_title(title)
    legend_outside(ax, bbox_to_anchor=(1.12, 1.0))
    return fig


def plot_elasticities(table: pd.DataFrame, column: str = "e_gain", per_step: int = 4):
    """Bars of the largest elasticities of each step (``per_step`` each), grouped and colored
    by step; ``table`` is :attr:`Elasticities.table`."""
    t = table[table["step"] > 0]
    parts = []
    for _step, group in t.groupby("step"):
        order = group[column].abs().sort_values(ascending=False, kind="stable").index[:per_step]
        parts.append(group.loc[order])
    sel = pd.concat(parts)
    from immunocycle._plotstyle import PALETTE

    fig = Figure(figsize=(7, max(3.0, 0.22 * len(sel) + 1)))
    ax = fig.subplots()
    y = np.arange(len(sel))[::-1]
    colors = [PALETTE[(int(s) - 1) % len(PALETTE)] for s in sel["step"]]  # one colour per step
    ax.barh(y, sel[column], color=colors)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{p} ({int(s)})" for p, s in zip(sel.index, sel["step"], strict=True)],
                       fontsize=7)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel("elasticity d ln G / d ln p of the mean cycle gain (dimensionless)")
    ax.set_title("Local elasticities grouped by step")
    fig.tight_layout()
    return fig


__all__ = ["STEP_NAMES", "plot_elasticities", "plot_step_scores"]
