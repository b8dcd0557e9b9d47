"""Figures of a design run: the ORR / adverse-event Pareto plot and nano-versus-free comparisons.

Every function builds a :class:`matplotlib.figure.Figure` directly (no :mod:`matplotlib.pyplot`
state; rendered by the Agg canvas) and returns it; nothing stays open in a global figure manager.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from immunocycle._errors import InputError
from immunocycle._plotstyle import NEUTRAL, PALETTE, legend_outside

__all__ = ["plot_pareto", "plot_vs_free"]

#: Tissues of ``vs_free["exposure_ratio"]``, in bar order, with their axis labels.
_TISSUES = (("tumor", "tumor"), ("lymph_node", "lymph node"), ("blood", "blood"))


def _new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _num(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _minor_label(value: float, _pos) -> str:
    """Label the 2x and 5x minor ticks of a log axis (plain numbers)."""
    if value <= 0:
        return ""
    mantissa = value / 10 ** np.floor(np.log10(value))
    return f"{value:g}" if round(mantissa) in (2, 5) else ""


def plot_pareto(confirmed: Sequence[Mapping], pareto: Iterable[str] = (),
                ae_limit: float | None = None, *, title: str | None = None) -> Figure:
    """Objective response rate versus grade >= 3 adverse-event rate of the confirmed regimens.

    Parameters
    ----------
    confirmed : sequence of mapping
        One dict per confirmed regimen (``Design.to_dict()["confirmed"]`` or its
        ``recommendations``) with ``regimen`` (str), ``orr`` (fraction of patients, 0-1),
        ``orr_ci`` (``[lo, hi]``, fractions; optional) and ``ae_grade3plus_rate`` (fraction of
        patients with a grade >= 3 adverse event, 0-1; ``None`` is drawn as 0).
    pareto : iterable of str
        Regimens on the Pareto front (higher ORR, lower AE rate); they are connected by a line
        in order of AE rate and drawn highlighted.
    ae_limit : float, optional
        The design's AE limit (fraction, 0-1), drawn as a vertical dashed line.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        x = grade >= 3 AE rate (%), y = ORR (%) with its confidence interval as error bars and,
        where the entries have them (``orr_pi``, ``ae_grade3plus_rate_pi``), the 90 %
        prediction intervals over the effect sizes as wide pale bars; every point labelled by
        its regimen.

    Raises
    ------
    ValueError
        If ``confirmed`` is empty or an entry lacks ``regimen`` or ``orr``.
    """
    rows = list(confirmed)
    if not rows:
        raise InputError("confirmed has no regimen to plot")
    for r in rows:
        if "regimen" not in r or "orr" not in r:
            raise InputError(f"each confirmed regimen needs 'regimen' and 'orr' (got {sorted(r)})")
    front = set(pareto)
    names = [str(r["regimen"]) for r in rows]
    x = np.array([100 * (_num(r.get("ae_grade3plus_rate")) if r.get("ae_grade3plus_rate")
                         is not None else 0.0) for r in rows])
    y = np.array([100 * _num(r["orr"]) for r in rows])
    lo = np.zeros(len(rows))
    hi = np.zeros(len(rows))
    for i, r in enumerate(rows):
        ci = r.get("orr_ci")
        if ci is not None and len(ci) == 2 and None not in ci:
            lo[i] = max(0.0, y[i] - 100 * _num(ci[0]))
            hi[i] = max(0.0, 100 * _num(ci[1]) - y[i])
    on = np.array([n in front for n in names])
    pi_y = _pi_bars(rows, "orr_pi", y)
    pi_x = _pi_bars(rows, "ae_grade3plus_rate_pi", x)

    fig = _new_figure((8.5, 5.0))
    ax = fig.add_subplot()
    if pi_y is not None or pi_x is not None:  # effect-size prediction intervals, behind
        for mask, color in ((~on, NEUTRAL), (on, PALETTE[1])):
            if mask.any():
                ax.errorbar(x[mask], y[mask],
                            yerr=None if pi_y is None else pi_y[:, mask],
                            xerr=None if pi_x is None else pi_x[:, mask], fmt="none",
                            ecolor=color, elinewidth=6, alpha=0.25, capsize=0, zorder=1)
        ax.plot([], [], color=NEUTRAL, lw=6, alpha=0.25, label="90 % PI (effect sizes)")
    for mask, color, label, z in ((~on, NEUTRAL, "dominated", 2), (on, PALETTE[1], "Pareto front", 3)):
        if mask.any():
            ax.errorbar(x[mask], y[mask], yerr=[lo[mask], hi[mask]], fmt="o", color=color,
                        ecolor=color, elinewidth=1, capsize=3, ms=7 if z == 3 else 5,
                        label=label, zorder=z)
    if on.sum() > 1:
        order = np.argsort(x[on], kind="stable")
        ax.plot(x[on][order], y[on][order], color=PALETTE[1], lw=1.5, zorder=1)
    for xi, yi, name, o in zip(x, y, names, on, strict=True):
        # One agent per line: regimens of three long catalog ids stay inside the axes.
        ax.annotate(name.replace("+", " +\n"), (xi, yi), xytext=(6, 4),
                    textcoords="offset points", fontsize=7, va="center",
                    fontweight="bold" if o else "normal")
    if ae_limit is not None:
        ax.axvline(100 * float(ae_limit), color="k", ls="--", lw=1,
                   label=f"AE limit {100 * float(ae_limit):.0f} %")
    ax.set_xlabel("grade \u2265 3 adverse-event rate (% of patients)")
    ax.set_ylabel("objective response rate (%, 95 % CI)")
    top = float(np.nanmax(y + np.maximum(hi, 0 if pi_y is None else pi_y[1]))) if len(y) \
        else 100.0
    ax.set_ylim(-3, max(10.0, min(105.0, top + 8)))
    right = max(float(np.nanmax(x)), 100 * float(ae_limit) if ae_limit is not None else 0.0)
    ax.set_xlim(-3, max(10.0, right * 1.6 + 8))
    ax.grid(alpha=0.3)
    legend_outside(ax)
    ax.set_title(title or "Response versus toxicity of the confirmed regimens")
    return fig


def _pi_bars(rows: Sequence[Mapping], key: str, centre: np.ndarray) -> np.ndarray | None:
    """Error-bar lengths (2 x n, %) of the intervals ``row[key]`` around ``centre`` (%); None
    when no row has one."""
    out = np.zeros((2, len(rows)))
    found = False
    for i, r in enumerate(rows):
        pi = r.get(key)
        if pi is not None and len(pi) == 2 and None not in pi:
            out[0, i] = max(0.0, centre[i] - 100 * _num(pi[0]))
            out[1, i] = max(0.0, 100 * _num(pi[1]) - centre[i])
            found = True
    return out if found else None


def plot_vs_free(recommendations: Sequence[Mapping], *, title: str | None = None) -> Figure:
    """Nano-formulation versus the same agents given free, for recommendations with ``vs_free``.

    Parameters
    ----------
    recommendations : sequence of mapping
        Design recommendations; those whose ``vs_free`` is not ``None`` are drawn. ``vs_free``
        holds ``exposure_ratio`` (``tumor``, ``lymph_node``, ``blood``: nano AUC / free AUC at the
        same dose, dimensionless), ``d_orr`` (nano minus free objective response rate, fraction)
        and ``d_ae_grade3plus_rate`` (nano minus free grade >= 3 AE rate, fraction).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Left: grouped bars of the exposure ratios per tissue on a log axis (1 = no change, dotted
        line). Right: bars of the ORR and AE-rate differences (percentage points).

    Raises
    ------
    ValueError
        If no recommendation has a ``vs_free``.
    """
    rows = [r for r in recommendations if r.get("vs_free")]
    if not rows:
        raise InputError("no recommendation has a vs_free comparison (no nano-formulation)")
    names = [str(r.get("regimen", f"#{i + 1}")) for i, r in enumerate(rows)]
    fig = _new_figure((10.0, 4.2))
    ax_e, ax_d = fig.subplots(1, 2, width_ratios=[3, 2])

    width = 0.8 / len(_TISSUES)
    xs = np.arange(len(rows))
    drew = False
    for j, (key, label) in enumerate(_TISSUES):
        vals = np.array([_num((r["vs_free"].get("exposure_ratio") or {}).get(key))
                         for r in rows])
        ok = np.isfinite(vals) & (vals > 0)
        if ok.any():
            ax_e.bar(xs[ok] + (j - 1) * width, vals[ok], width=width, label=label,
                     color=PALETTE[j])
            drew = True
        for xi in xs[np.isfinite(vals) & (vals <= 0)]:  # no exposure: cannot sit on a log axis
            ax_e.text(xi + (j - 1) * width, 0.02, "0", color=PALETTE[j], ha="center",
                      va="bottom", fontsize=8, transform=ax_e.get_xaxis_transform())
    ax_e.axhline(1.0, color="k", ls=":", lw=1)
    ax_e.set_yscale("log")
    ax_e.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax_e.yaxis.set_minor_formatter(FuncFormatter(_minor_label))
    ax_e.set_xticks(xs, names, rotation=15, ha="right", fontsize=8)
    ax_e.set_ylabel("exposure nano / free (AUC ratio at the same dose)")
    ax_e.set_title("Exposure by tissue")
    if drew:
        ax_e.legend(fontsize="small")

    d_orr = np.array([100 * _num(r["vs_free"].get("d_orr")) for r in rows])
    d_ae = np.array([100 * _num(r["vs_free"].get("d_ae_grade3plus_rate")) for r in rows])
    w = 0.38
    ax_d.bar(xs - w / 2, np.nan_to_num(d_orr), width=w, color=PALETTE[0], label="\u0394 ORR")
    ax_d.bar(xs + w / 2, np.nan_to_num(d_ae), width=w, color=PALETTE[1],
             label="\u0394 AE grade \u2265 3")
    ax_d.axhline(0.0, color="k", lw=0.8)
    ax_d.set_xticks(xs, names, rotation=15, ha="right", fontsize=8)
    ax_d.set_ylabel("nano \u2212 free (percentage points)")
    ax_d.set_title("Outcome difference")
    ax_d.legend(fontsize="small")
    fig.suptitle(title or "Nano-formulation versus free drug")
    return fig
