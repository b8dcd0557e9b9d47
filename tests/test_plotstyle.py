"""Legible figures: every figure type, at its largest series count, gives each series its own
(colour, line style) pair, keeps the legend outside the data area and puts units on its axes."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from immunocycle._plotstyle import PALETTE, label_axes, series_style  # noqa: E402


def _series(ax) -> list[tuple[str, str]]:
    """(colour, line style) of every labelled line of ``ax`` (helper lines start with ``_``)."""
    return [(to_hex(line.get_color()), line.get_linestyle()) for line in ax.get_lines()
            if not line.get_label().startswith("_")]


def _check(fig, ax, n_expected: int) -> None:
    pairs = _series(ax)
    assert len(pairs) == n_expected
    assert len(set(pairs)) == len(pairs), f"series share a colour and line style: {pairs}"
    fig.canvas.draw()
    legend = ax.get_legend()
    assert legend is not None
    box, data = legend.get_window_extent(), ax.get_window_extent()
    assert box.x0 >= data.x1 - 1, "the legend covers the data area"
    for label in (ax.get_xlabel(), ax.get_ylabel()):
        assert "(" in label and label.endswith(")"), f"no unit on the axis label {label!r}"


def test_series_styles_never_repeat_and_are_colour_blind_safe():
    pairs = [(s["color"], s["linestyle"], s["marker"]) for s in map(series_style, range(168))]
    assert len(set(pairs)) == 168
    assert len({(c, ls) for c, ls, _ in pairs[:28]}) == 28
    assert "#F0E442" not in PALETTE  # Okabe-Ito yellow is too light on white
    with pytest.raises(ValueError, match="unit"):
        import matplotlib.pyplot as plt

        label_axes(plt.figure().add_subplot(), "time", "amount (mg)")


def test_pk_organ_distribution_twelve_and_more_organs():
    from immunocycle.pk import plot_organ_distribution, plot_tumor_ln_blood

    organs = ["blood", "lung", "heart", "liver", "spleen", "kidney", "gut", "muscle", "skin",
              "brain", "bone", "adipose", "lymph_node", "injection_site", "urine", "bile",
              "tumor"]
    t = np.geomspace(0.01, 168, 60)
    pct = pd.DataFrame({o: (k + 1) * (1 - np.exp(-t / (k + 1))) for k, o in enumerate(organs)},
                       index=pd.Index(t, name="time_h"))
    result = SimpleNamespace(pct_id=pct, de24=1.0, lymph_node_max_pct_id=2.0,
                             vaccine_node_max_pct_id=0.0)
    fig = plot_organ_distribution(result)
    _check(fig, fig.axes[0], len(organs))
    fig = plot_tumor_ln_blood(result)
    _check(fig, fig.axes[0], 3)
    # an s.c. dose: its own draining node is drawn too
    sc = SimpleNamespace(pct_id=pct.assign(vaccine_node=pct["lymph_node"] * 3), de24=1.0,
                         lymph_node_max_pct_id=2.0, vaccine_node_max_pct_id=6.0)
    fig = plot_tumor_ln_blood(sc)
    _check(fig, fig.axes[0], 4)


def test_cycle_tumor_diameter_many_arms():
    from immunocycle.cycle import plot_tumor_diameter

    def arm(k):
        t = np.arange(0.0, 30.0)
        frame = pd.DataFrame({"time": np.tile(t, 2), "patient": np.repeat([0, 1], t.size),
                              "tumor_diameter": np.concatenate([20 + k * t / 30, 21 + k * t / 30])})
        return SimpleNamespace(frame=frame)

    arms = {f"arm {k}": arm(k) for k in range(12)}
    fig = plot_tumor_diameter(arms)
    _check(fig, fig.axes[0], 12)


def test_trial_kaplan_meier_and_spider_many_arms():
    from immunocycle.report import kaplan_meier, spider

    rng = np.random.default_rng(0)
    arms = [f"arm {k}" for k in range(10)]
    df = pd.DataFrame({"arm": np.repeat(arms, 20), "pfs_days": rng.exponential(200, 200),
                       "pfs_event": rng.random(200) < 0.7})
    fig = kaplan_meier(df, arms, show_ci=False)
    _check(fig, fig.axes[0], len(arms))

    long = pd.DataFrame({"patient_id": np.repeat(np.arange(20), 3),
                         "time_d": np.tile([0.0, 42.0, 84.0], 20),
                         "sum_mm": np.tile([50.0, 40.0, 35.0], 20),
                         "arm": np.repeat([f"arm {k}" for k in range(10)], 6)})
    fig = spider(long, color_by="arm")
    ax = fig.axes[0]
    handles = ax.get_legend().legend_handles
    pairs = [(to_hex(h.get_color()), h.get_linestyle()) for h in handles]
    assert len(pairs) == 10 and len(set(pairs)) == 10
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1 - 1


def test_design_and_diagnosis_figures():
    from immunocycle.design import plot_step_scores
    from immunocycle.report import plot_pareto

    fig = plot_step_scores([0.5, 0.6, 0.4, 0.5, 0.1, 0.5, 0.45], limiting=5)
    pairs = _series(fig.axes[0])
    assert len(pairs) == 3 and len(set(pairs)) == 3
    confirmed = [{"regimen": f"r{k}", "orr": 0.1 * k, "orr_ci": [0.05 * k, 0.15 * k],
                  "ae_grade3plus_rate": 0.05 * k} for k in range(1, 6)]
    fig = plot_pareto(confirmed, pareto=["r5", "r4"], ae_limit=0.3)
    ax = fig.axes[0]
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().x0 >= ax.get_window_extent().x1 - 1
