"""Figures of the cycle: tumor diameter per therapy arm, and the seven steps as a ring."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure  # object API: no pyplot state, no backend switch on import

STEP_NAMES = ("1 antigen release", "2 antigen presentation", "3 priming & activation",
              "4 trafficking", "5 infiltration", "6 recognition", "7 killing")
_UNITS = ("cells/d", "DCs/d", "cells/d", "cells/d", "cells/d", "events/d", "cells/d")


def plot_tumor_diameter(arms: Mapping[str, object], path: str | Path | None = None,
                        patient: int | None = None) -> Figure:
    """Tumor diameter (mm) over days of treatment, one line (or median and range) per arm.

    Parameters
    ----------
    arms : mapping of label -> CycleResult
    path : str or Path, optional
        Where to save the PNG.
    patient : int, optional
        Plot one patient; default: the median across patients with the 10-90% band.
    """
    from immunocycle._plotstyle import label_axes, legend_outside, use_series_cycle

    fig = Figure(figsize=(7.6, 4.2), layout="constrained")
    ax = fig.subplots()
    use_series_cycle(ax, len(arms))  # one (colour, line style) pair per arm
    for label, res in arms.items():
        df = res.frame
        wide = df.pivot(index="time", columns="patient", values="tumor_diameter")
        if patient is not None:
            ax.plot(wide.index, wide[patient], label=label)
            continue
        line, = ax.plot(wide.index, wide.median(axis=1), label=label)
        if wide.shape[1] > 1:
            ax.fill_between(wide.index, wide.quantile(0.1, axis=1), wide.quantile(0.9, axis=1),
                            color=line.get_color(), alpha=0.2, linewidth=0)
    label_axes(ax, "time from start of treatment (days)", "tumor diameter (mm)")
    legend_outside(ax, title="arm (median, 10-90 %)" if patient is None else "arm")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_cycle_diagram(summary: Mapping, path: str | Path | None = None, title: str = "") -> Figure:
    """The seven steps in a ring, each labelled with its flux; the rate-limiting step in red.

    Parameters
    ----------
    summary : mapping
        :meth:`CycleResult.summary` (needs ``fluxes`` and ``limiting_step``: a step, or
        ``{"at_diagnosis": k0, ...}``, drawn at diagnosis like the fluxes).
    path : str or Path, optional
        Where to save the PNG.
    title : str
    """
    fluxes = summary["fluxes"]
    step = summary["limiting_step"]
    limiting = int(step["at_diagnosis"] if isinstance(step, Mapping) else step)
    fig = Figure(figsize=(6.4, 6.4), layout="constrained")
    ax = fig.subplots()
    angles = np.pi / 2 - 2 * np.pi * np.arange(7) / 7
    x, y = np.cos(angles), np.sin(angles)
    for k in range(7):
        j = (k + 1) % 7
        ax.annotate("", xy=(0.82 * x[j] + 0.18 * x[k], 0.82 * y[j] + 0.18 * y[k]),
                    xytext=(0.82 * x[k] + 0.18 * x[j], 0.82 * y[k] + 0.18 * y[j]),
                    arrowprops={"arrowstyle": "->", "color": "0.5", "lw": 1.5})
    for k in range(7):
        hot = k + 1 == limiting
        value = fluxes[f"J{k + 1}"]
        ax.text(x[k], y[k], f"{STEP_NAMES[k]}\nJ{k + 1} = {value:.3g} {_UNITS[k]}",
                ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "fc": "#f4cccc" if hot else "#eeeeee",
                      "ec": "#cc0000" if hot else "0.6", "lw": 2.5 if hot else 1})
    gain = summary.get("cycle_gain", float("nan"))
    ax.text(0, 0, f"cycle gain\n{gain:.2f}\nlimiting step: {limiting}", ha="center", va="center",
            fontsize=11)
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


__all__ = ["plot_cycle_diagram", "plot_tumor_diameter"]
