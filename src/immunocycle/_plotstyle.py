"""One plotting style for every figure of the package: series that never look alike.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"; distinguishable
with the common colour-vision deficiencies), without its yellow, which is too light on white. The
series cycle varies the colour fastest and the line style next, so the first 28 series of a figure
never share a (colour, line style) pair; markers extend it further. Legends go outside the data
area (right of the axes) so that they never cover a curve.

This module imports nothing from the package and imports matplotlib only inside its functions, so
any layer (pk, cycle, design, report) may use it without paying for matplotlib at import.
"""

from __future__ import annotations

from typing import Any

#: Okabe-Ito colours (blue, vermillion, bluish green, reddish purple, orange, sky blue, black).
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                            "#000000")
#: Line styles, in the order they are used once the colours run out.
LINESTYLES: tuple[str, ...] = ("-", "--", ":", "-.")
#: Markers, used once every (colour, line style) pair is taken.
MARKERS: tuple[str, ...] = ("", "o", "s", "^", "D", "v")
#: Neutral colour for reference lines and ensembles (many patients drawn as one series).
NEUTRAL = "0.45"


def series_style(k: int) -> dict[str, Any]:
    """Keyword arguments (``color``, ``linestyle``, ``marker``) of the ``k``-th series (0-based).

    Colour varies fastest, then line style, then marker: all distinct for
    ``k < len(PALETTE) * len(LINESTYLES) * len(MARKERS)`` (168 series).
    """
    if k < 0:
        raise ValueError(f"k: a series index must be >= 0 (got {k})")
    n_c, n_l = len(PALETTE), len(LINESTYLES)
    return {"color": PALETTE[k % n_c], "linestyle": LINESTYLES[(k // n_c) % n_l],
            "marker": MARKERS[(k // (n_c * n_l)) % len(MARKERS)]}


def series_cycle(n: int | None = None):
    """A matplotlib ``cycler`` of :func:`series_style` for ``ax.set_prop_cycle`` (``n`` entries,
    default: every distinct colour and line style pair)."""
    from cycler import cycler

    n = len(PALETTE) * len(LINESTYLES) if n is None else max(1, int(n))
    styles = [series_style(k) for k in range(n)]
    cycle = cycler(color=[s["color"] for s in styles],
                   linestyle=[s["linestyle"] for s in styles])
    if n > len(PALETTE) * len(LINESTYLES):  # markers only when colour x style runs out
        cycle += cycler(marker=[s["marker"] or "None" for s in styles])
    return cycle


def use_series_cycle(ax, n: int | None = None) -> None:
    """Make ``ax`` draw its lines with :func:`series_cycle` (enough entries for ``n`` series)."""
    ax.set_prop_cycle(series_cycle(n))


def legend_outside(ax, title: str | None = None, **kwargs):
    """A legend to the right of the axes, outside the data area (use a constrained or tight
    layout so the figure makes room for it)."""
    options = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0,
               "frameon": False, "fontsize": "small", **kwargs}
    return ax.legend(title=title, **options)


def label_axes(ax, x: str, y: str) -> None:
    """Axis labels, each with its unit in parentheses (``"time (h)"``); refuses a label without
    one, so that no figure leaves its units out."""
    for which, text in (("x", x), ("y", y)):
        if "(" not in text or not text.rstrip().endswith(")"):
            raise ValueError(f"{which} label {text!r}: give the unit in parentheses, e.g. "
                             "'time (h)' or 'ratio (dimensionless)'")
    ax.set_xlabel(x)
    ax.set_ylabel(y)


__all__ = ["LINESTYLES", "MARKERS", "NEUTRAL", "PALETTE", "label_axes", "legend_outside",
           "series_cycle", "series_style", "use_series_cycle"]
