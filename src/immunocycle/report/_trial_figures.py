"""Standard figures of a (virtual) clinical trial: waterfall, spider, swimmer, Kaplan-Meier,
phenotype bars.

Every function builds a :class:`matplotlib.figure.Figure` directly (no :mod:`matplotlib.pyplot`
state, rendered by the Agg canvas), returns it, and writes a PNG when ``path`` is given.

Response categories follow RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009,
doi:10.1016/j.ejca.2008.10.026) and iRECIST (Seymour et al., Lancet Oncol 2017,
doi:10.1016/S1470-2045(17)30074-8): reference lines are drawn at -30 % (partial response) and +20 %
(progression).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from immunocycle._errors import InputError
from immunocycle._plotstyle import PALETTE, label_axes, legend_outside, series_style
from immunocycle.trial import is_response, km_median

__all__ = ["BOR_COLORS", "kaplan_meier", "response_by_phenotype", "spider", "swimmer",
           "trial_figures", "waterfall"]

#: Colour per best-overall-response category (iRECIST labels share the RECIST colour; iUPD is
#: drawn as a lighter PD).
BOR_COLORS: dict[str, str] = {
    "CR": "#08519c",
    "PR": "#4292c6",
    "SD": "#969696",
    "PD": "#cb181d",
    "NE": "#d9d9d9",
    "iCR": "#08519c",
    "iPR": "#4292c6",
    "iSD": "#969696",
    "iUPD": "#fb6a4a",
    "iCPD": "#cb181d",
}
_BOR_ORDER = ("CR", "PR", "SD", "PD", "NE", "iCR", "iPR", "iSD", "iUPD", "iCPD")
_PR_LINE = -30.0  # % change, RECIST 1.1 partial response
_PD_LINE = 20.0  # % change, RECIST 1.1 progression (relative to nadir; drawn against baseline)
_PHENOTYPES = ("inflamed", "excluded", "desert")


def _new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _finish(fig: Figure, path: str | os.PathLike | None, dpi: int) -> Figure:
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi, format="png")
    return fig


def _require(df: pd.DataFrame, cols: Sequence[str], name: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"{name} is missing required column(s) {missing}; has {list(df.columns)}")
    if len(df) == 0:
        raise InputError(f"{name} has no rows")


def _response_lines(ax) -> None:
    ax.axhline(_PR_LINE, color="k", lw=0.8, ls="--")
    ax.axhline(_PD_LINE, color="k", lw=0.8, ls=":")
    ax.axhline(0.0, color="k", lw=0.5)


#: Above this many patients the waterfall draws each patient as a line, not a bar artist.
MAX_WATERFALL_BARS = 2000


def waterfall(
    df: pd.DataFrame,
    path: str | os.PathLike | None = None,
    *,
    pct_col: str = "best_pct_change",
    bor_col: str = "bor",
    title: str | None = "Best change in target-lesion sum",
    dpi: int = 120,
) -> Figure:
    """Waterfall plot of each patient's best percentage change from baseline.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient with ``pct_col`` (%, e.g. ``best_pct_change`` from
        :func:`immunocycle.trial._recist.score_patients`) and ``bor_col`` (RECIST 1.1 or iRECIST best
        overall response). Rows with a missing change are skipped.
    path : str or path-like, optional
        Where to write the PNG.
    pct_col, bor_col : str
        Column names.
    title : str or None
        Axes title.
    dpi : int, default 120
        Resolution of the PNG (dots per inch).

    Returns
    -------
    matplotlib.figure.Figure
        Bars (above :data:`MAX_WATERFALL_BARS` patients, one vertical line each) sorted from
        largest increase to largest decrease, coloured by best overall response,
        with dashed (-30 %, PR) and dotted (+20 %, PD) reference lines. A complete response (CR,
        iCR) is drawn at -100 %, the convention of published waterfalls (every target lesion gone;
        a normal lymph node keeps its size in the RECIST sum but is drawn at -100 % too).

    Raises
    ------
    ValueError
        If a column is missing or no patient has a finite change.
    """
    _require(df, (pct_col, bor_col), "df")
    pct = pd.to_numeric(df[pct_col], errors="coerce")
    keep = np.isfinite(pct.to_numpy(float))
    if not keep.any():
        raise InputError(f"df[{pct_col!r}] has no finite values to plot")
    data = pd.DataFrame({"pct": pct[keep].to_numpy(float), "bor": df[bor_col][keep].astype(str)})
    data.loc[data["bor"].isin(["CR", "iCR"]), "pct"] = -100.0  # CR marked at -100 %
    data = data.sort_values("pct", ascending=False, kind="stable").reset_index(drop=True)
    colors = [BOR_COLORS.get(b, "#6a51a3") for b in data["bor"]]

    width_in = max(6.0, min(14.0, 0.05 * len(data) + 5))
    fig = _new_figure((width_in, 4.0))
    ax = fig.add_subplot()
    if len(data) <= MAX_WATERFALL_BARS:
        ax.bar(np.arange(len(data)), data["pct"], width=0.85, color=colors, linewidth=0)
    else:
        # one line per patient in a single collection: a bar (a Rectangle artist) per patient
        # took 80 s and 0.7 GB for 10^5 patients, whose bars are narrower than a pixel anyway
        ax.vlines(np.arange(len(data)), 0.0, data["pct"].to_numpy(), colors=colors,
                  linewidth=max(0.05, 0.85 * 72.0 * width_in / len(data)))
    _response_lines(ax)
    ax.set_xlim(-1, len(data))
    ax.set_xticks([])
    ax.set_xlabel(f"patients (n = {len(data)})")
    ax.set_ylabel("best change from baseline (%)")
    present = [b for b in _BOR_ORDER if b in set(data["bor"])]
    present += sorted(set(data["bor"]) - set(present))
    ax.legend(
        handles=[Patch(color=BOR_COLORS.get(b, "#6a51a3"), label=b) for b in present],
        title="best response",
        loc="upper right",
        fontsize="small",
    )
    if title:
        ax.set_title(title)
    return _finish(fig, path, dpi)


def spider(
    long_df: pd.DataFrame,
    path: str | os.PathLike | None = None,
    *,
    color_by: str | None = None,
    y_max: float | None = 100.0,
    title: str | None = "Change in target-lesion sum over time",
    dpi: int = 120,
) -> Figure:
    """Spider plot: percentage change of the target-lesion sum from baseline over time.

    Parameters
    ----------
    long_df : pandas.DataFrame
        One row per assessment with ``patient_id``, ``time_d`` (days) and ``sum_mm`` (mm). Each
        patient's earliest assessment is the baseline (its sum must be > 0).
    path : str or path-like, optional
        Where to write the PNG.
    color_by : str, optional
        Per-patient column of ``long_df`` to colour lines by (e.g. ``"arm"`` or ``"bor"``; response
        labels get the RECIST colours). Default: one colour.
    y_max : float or None, default 100.0
        Upper limit of the y axis (%); faster-growing curves are clipped at it so that responses
        stay readable. None shows the full range.
    title : str or None
        Axes title.
    dpi : int, default 120
        Resolution of the PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One line per patient, time (days) against % change, with -30 % and +20 % reference lines.

    Raises
    ------
    ValueError
        If a column is missing or a baseline sum is not positive.
    """
    cols = ["patient_id", "time_d", "sum_mm"] + ([color_by] if color_by else [])
    _require(long_df, cols, "long_df")
    d = long_df[cols].sort_values(["patient_id", "time_d"], kind="stable")
    base = d.groupby("patient_id", sort=False)["sum_mm"].transform("first").to_numpy(float)
    if np.any(~np.isfinite(base) | (base <= 0)):
        raise InputError("long_df: every patient's baseline sum_mm must be a positive number")
    d = d.assign(pct=100.0 * (d["sum_mm"].to_numpy(float) - base) / base)

    if color_by:
        groups = sorted(
            pd.unique(d[color_by].astype(str)),
            key=lambda g: (_BOR_ORDER.index(g) if g in _BOR_ORDER else len(_BOR_ORDER), g),
        )
        # response labels keep their RECIST colour; other groups get the series cycle (colour and
        # line style, never repeated)
        cmap = {g: BOR_COLORS.get(g, series_style(i)["color"]) for i, g in enumerate(groups)}
        lmap = {g: "-" if g in BOR_COLORS else series_style(i)["linestyle"]
                for i, g in enumerate(groups)}
    fig = _new_figure((8.5, 4.5))
    ax = fig.add_subplot()
    segments, colors, styles = [], [], []
    for _, g in d.groupby("patient_id", sort=False):
        segments.append(np.column_stack([g["time_d"].to_numpy(float), g["pct"].to_numpy(float)]))
        colors.append(cmap[str(g[color_by].iloc[0])] if color_by else "#4d4d4d")
        styles.append(lmap[str(g[color_by].iloc[0])] if color_by else "-")
    # one LineCollection instead of one Line2D per patient: fast for thousands of patients
    ax.add_collection(LineCollection(segments, colors=colors, linestyles=styles, linewidths=0.9,
                                     alpha=0.7))
    pts = np.concatenate(segments)
    ax.scatter(pts[:, 0], pts[:, 1], s=3, c="k", alpha=0.3, linewidths=0)
    ax.autoscale_view()
    if y_max is not None:
        top = min(float(np.nanmax(pts[:, 1])) + 5.0, float(y_max))
        ax.set_ylim(min(-105.0, float(np.nanmin(pts[:, 1])) - 5.0), max(top, _PD_LINE + 5.0))
    n_pat = len(segments)
    _response_lines(ax)
    ax.set_xlabel("time (days)")
    ax.set_ylabel("change from baseline (%)")
    if color_by:
        legend_outside(ax, handles=[Line2D([], [], color=cmap[g], ls=lmap[g], label=g)
                                      for g in groups],
                       title=color_by)
    if title:
        ax.set_title(f"{title} (n = {n_pat})")
    return _finish(fig, path, dpi)


def kaplan_meier(
    df: pd.DataFrame,
    arm_order: Sequence[str],
    path: str | os.PathLike | None = None,
    *,
    show_ci: bool = True,
    title: str | None = "Progression-free survival",
    dpi: int = 120,
    time_col: str = "pfs_days",
    event_col: str = "pfs_event",
    ylabel: str = "progression-free probability (0-1)",
) -> Figure:
    """Kaplan-Meier curves of progression-free (or, with ``time_col="os_days"``,
    ``event_col="os_event"``, overall) survival per arm, with median lines.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient with ``arm``, ``pfs_days`` (days) and ``pfs_event`` (bool).
    arm_order : sequence of str
        Arms to draw, in legend order; each must have patients.
    path : str or path-like, optional
        Where to write the PNG.
    show_ci : bool, default True
        Draw the 95 % confidence band of each curve.
    title : str or None
        Axes title.
    dpi : int, default 120
        Resolution of the PNG.

    Returns
    -------
    matplotlib.figure.Figure
        Curves fitted by :class:`lifelines.KaplanMeierFitter`; dashed lines mark each median that is
        reached (a median not reached is labelled "NR" in the legend).

    Raises
    ------
    ValueError
        If a column is missing or an arm has no patients.
    """
    from lifelines import KaplanMeierFitter

    _require(df, ("arm", time_col, event_col), "df")
    if isinstance(arm_order, str) or len(arm_order) == 0:
        raise InputError("arm_order must be a non-empty sequence of arm names")
    fig = _new_figure((8.5, 4.5))
    ax = fig.add_subplot()
    for i, arm in enumerate(arm_order):
        sub = df.loc[df["arm"] == arm]
        if len(sub) == 0:
            raise InputError(f"arm_order names arm {arm!r} with no patients in df['arm']")
        kmf = KaplanMeierFitter()
        kmf.fit(
            sub[time_col].to_numpy(float),
            sub[event_col].to_numpy(bool),
            label=str(arm),
        )
        style = series_style(i)  # colour and line style never repeat between arms
        color = style["color"]
        median = km_median(sub[time_col], sub[event_col])[0]
        med_txt = "NR" if median is None else f"{median:.0f} d"
        kmf.plot_survival_function(
            ax=ax, ci_show=show_ci, color=color, linestyle=style["linestyle"],
            label=f"{arm} (n = {len(sub)}, median {med_txt})"
        )
        if median is not None:
            ax.plot([0, median], [0.5, 0.5], color=color, lw=0.8, ls=":")
            ax.plot([median, median], [0, 0.5], color=color, lw=0.8, ls=":")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel("time (days)")
    ax.set_ylabel(ylabel)
    legend_outside(ax, title="arm")
    if title:
        ax.set_title(title)
    return _finish(fig, path, dpi)


def response_by_phenotype(
    df: pd.DataFrame,
    path: str | os.PathLike | None = None,
    *,
    bor_col: str = "bor",
    phenotype_order: Sequence[str] = _PHENOTYPES,
    title: str | None = "Best overall response by immune phenotype",
    dpi: int = 120,
) -> Figure:
    """Stacked bars of best-overall-response fractions per immune phenotype.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient with ``phenotype`` and ``bor_col`` (RECIST 1.1 or iRECIST labels).
    path : str or path-like, optional
        Where to write the PNG.
    bor_col : str, default "bor"
        Best-overall-response column.
    phenotype_order : sequence of str
        Bar order; phenotypes found in ``df`` but not listed are appended, listed ones without
        patients are drawn empty.
    title : str or None
        Axes title.
    dpi : int, default 120
        Resolution of the PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One bar per phenotype split into response fractions (%), annotated with n and the objective
        response rate (CR + PR, or iCR + iPR).

    Raises
    ------
    ValueError
        If a column is missing.
    """
    _require(df, ("phenotype", bor_col), "df")
    phen = df["phenotype"].astype(str)
    bor = df[bor_col].astype(str)
    order = list(phenotype_order) + sorted(set(phen) - set(phenotype_order))
    cats = [b for b in _BOR_ORDER if b in set(bor)] + sorted(set(bor) - set(_BOR_ORDER))
    table = pd.crosstab(phen, bor).reindex(index=order, columns=cats, fill_value=0)
    n = table.sum(axis=1).to_numpy(float)
    frac = 100.0 * table.to_numpy(float) / np.where(n > 0, n, 1.0)[:, None]

    fig = _new_figure((6.0, 4.5))
    ax = fig.add_subplot()
    x = np.arange(len(order))
    bottom = np.zeros(len(order))
    for j, c in enumerate(cats):
        ax.bar(x, frac[:, j], bottom=bottom, color=BOR_COLORS.get(c, f"C{j % 10}"), label=c)
        bottom += frac[:, j]
    responders = [c for c, r in zip(cats, is_response(cats), strict=True) if r]
    orr = table[responders].sum(axis=1).to_numpy(float) / np.where(n > 0, n, np.nan)
    for xi, ni, oi in zip(x, n, orr, strict=True):
        label = f"n = {int(ni)}" + (f"\nORR {100 * oi:.0f}%" if ni > 0 else "")
        ax.text(xi, 101, label, ha="center", va="bottom", fontsize="small")
    ax.set_xticks(x, order)
    ax.set_ylim(0, 118)
    ax.set_ylabel("patients (%)")
    ax.legend(title="best response", fontsize="small", loc="center left", bbox_to_anchor=(1, 0.5))
    if title:
        ax.set_title(title)
    return _finish(fig, path, dpi)


def swimmer(
    df: pd.DataFrame,
    path: str | os.PathLike | None = None,
    *,
    bor_col: str = "bor",
    max_patients: int = 50,
    title: str | None = "Responders: time on study",
    dpi: int = 120,
) -> Figure:
    """Swimmer plot of the responders: how long each response lasts.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per patient with ``bor_col`` (best overall response), ``pfs_days`` (days to
        progression or death, or to the last assessment), ``pfs_event`` (True: progressed or
        died; a trial's PFS counts death before progression as an event) and
        ``response_start_days`` / ``cr_start_days`` (first assessment scored CR or PR / CR, days;
        NaN if none), as :func:`immunocycle.trial.score_patients` writes them.
    path : str or path-like, optional
        Where to write the PNG.
    bor_col : str
        Best-overall-response column; patients with CR or PR (iCR, iPR) are drawn.
    max_patients : int, default 50
        Most patients drawn: complete responders (up to half the rows, or more when there are
        few other responders) and the longest other responses.
    title : str or None
    dpi : int, default 120

    Returns
    -------
    matplotlib.figure.Figure
        One bar per responder from day 0 to progression, death or last assessment, coloured by
        best response; markers at the start of the response and of the complete response; a cross
        where the patient progressed or died, an arrow where the response is still ongoing at the
        last assessment (a durable response).

    Raises
    ------
    ValueError
        If a column is missing or no patient is a responder.
    """
    _require(df, (bor_col, "pfs_days", "pfs_event", "response_start_days", "cr_start_days"),
             "df")
    data = df[is_response(df[bor_col])].copy()
    if data.empty:
        raise InputError(f"df has no responder (CR or PR in {bor_col!r}) to draw")
    data["_end"] = pd.to_numeric(data["pfs_days"], errors="coerce").astype(float)
    data["_start"] = pd.to_numeric(data["response_start_days"], errors="coerce").astype(float)
    data["_cr"] = pd.to_numeric(data["cr_start_days"], errors="coerce").astype(float)
    data["_dur"] = data["_end"] - data["_start"].fillna(0.0)
    data["_is_cr"] = data[bor_col].astype(str).isin(["CR", "iCR"])
    # At most half the rows for complete responders (the rest: the longest other responses),
    # so that both kinds stay visible in a large arm; CRs on top.
    data = data.sort_values(["_is_cr", "_dur"], kind="stable")
    n_max = int(max_patients)
    n_other = int((~data["_is_cr"]).sum())
    n_cr = min(int(data["_is_cr"].sum()), max(n_max // 2, n_max - n_other))
    keep = pd.concat([data[~data["_is_cr"]].tail(n_max - n_cr), data[data["_is_cr"]].tail(n_cr)])
    data = keep.reset_index(drop=True)

    fig = _new_figure((7.5, max(3.0, min(12.0, 0.18 * len(data) + 1.5))))
    ax = fig.add_subplot()
    y = np.arange(len(data))
    colors = [BOR_COLORS.get(b, "#6a51a3") for b in data[bor_col].astype(str)]
    ax.barh(y, data["_end"], height=0.7, color=colors, linewidth=0, alpha=0.85)
    ax.plot(data["_start"], y, ls="none", marker=">", color=PALETTE[4], ms=5)
    ax.plot(data["_cr"], y, ls="none", marker="D", color=PALETTE[2], ms=5)
    ended = data["pfs_event"].astype(bool).to_numpy()
    ax.plot(data["_end"][ended], y[ended], ls="none", marker="x", color="k", ms=6)
    span = float(np.nanmax(data["_end"])) if len(data) else 1.0
    for yi in y[~ended]:
        ax.annotate("", xy=(data["_end"][yi] + 0.06 * span, yi), xytext=(data["_end"][yi], yi),
                    arrowprops={"arrowstyle": "->", "color": "k", "lw": 1.0})
    ax.set_yticks([])
    ax.set_ylim(-1, len(data))
    ax.set_xlim(0, 1.1 * span)
    label_axes(ax, "time since start of treatment (days)", "responders (patients)")
    present = [b for b in _BOR_ORDER if b in set(data[bor_col].astype(str))]
    handles = [Patch(color=BOR_COLORS.get(b, "#6a51a3"), label=b) for b in present]
    handles += [Line2D([], [], ls="none", marker=">", color=PALETTE[4], label="response starts"),
                Line2D([], [], ls="none", marker="D", color=PALETTE[2], label="complete response"),
                Line2D([], [], ls="none", marker="x", color="k", label="progression or death"),
                Line2D([], [], ls="-", color="k", marker=">", label="ongoing at last scan")]
    legend_outside(ax, title="best response", handles=handles)
    if title:
        ax.set_title(title)
    return _finish(fig, path, dpi)


def trial_figures(patients: pd.DataFrame, arms: Sequence[str], out: Path) -> dict[str, Path]:
    """Write a trial's figures: waterfall, spider, swimmer (when an arm has responders) and
    response by phenotype per arm, and the
    Kaplan-Meier curves of all arms (PNG files in ``out``).

    Parameters
    ----------
    patients : DataFrame
        A trial's ``patients.parquet`` (:func:`immunocycle.trial.run_trial`), one row per patient
        and arm; only evaluable rows are drawn, and in the spider plot only rows whose
        per-scan lists ``time_d`` and ``sum_mm`` are given (not None).
    arms : sequence of str
        Arm order; arm ``k``'s files are tagged ``arm{k}``.
    out : path
        Folder to write into.

    Returns
    -------
    dict
        Figure name -> path written (empty when no patient is evaluable).
    """
    out = Path(out)
    work = patients[patients["evaluable"]]
    paths: dict[str, Path] = {}
    if work.empty:
        return paths
    paths["kaplan_meier"] = out / "kaplan_meier.png"
    kaplan_meier(work, list(arms), paths["kaplan_meier"])
    if "os_days" in work.columns:
        paths["kaplan_meier_os"] = out / "kaplan_meier_os.png"
        kaplan_meier(work, list(arms), paths["kaplan_meier_os"], title="Overall survival",
                     time_col="os_days", event_col="os_event",
                     ylabel="overall survival probability (0-1)")
    for k, arm in enumerate(arms):
        sub = work[work["arm"] == arm]
        tag = f"arm{k}"
        paths[f"waterfall_{tag}"] = out / f"waterfall_{tag}.png"
        waterfall(sub, paths[f"waterfall_{tag}"], title=f"Best change, {arm}")
        # rows without scans (run_trial attaches them to its first patients only) are not drawn
        scanned = sub[sub["time_d"].notna()]
        if len(scanned):
            long = scanned[["patient_id", "time_d", "sum_mm", "bor"]].explode(["time_d",
                                                                                "sum_mm"])
            long = long.astype({"time_d": float, "sum_mm": float})
            paths[f"spider_{tag}"] = out / f"spider_{tag}.png"
            shown = "" if len(scanned) == len(sub) else f" (first {len(scanned)} of {len(sub)})"
            spider(long, paths[f"spider_{tag}"], color_by="bor",
                   title=f"Target-lesion sum, {arm}{shown}")
        if "response_start_days" in sub.columns and is_response(sub["bor"]).any():
            paths[f"swimmer_{tag}"] = out / f"swimmer_{tag}.png"
            swimmer(sub, paths[f"swimmer_{tag}"], title=f"Responders, {arm}")
        paths[f"response_by_phenotype_{tag}"] = out / f"response_by_phenotype_{tag}.png"
        response_by_phenotype(sub, paths[f"response_by_phenotype_{tag}"],
                              title=f"Response by baseline phenotype, {arm}")
    return paths
