"""Preclinical check kinds: virtual mouse studies (``immunocycle study``) and nanoparticle
delivery (the PBPK on the Nano-Tumor data sets, renal sieving, lymphatic drainage).
"""

from __future__ import annotations

import math

import numpy as np

from immunocycle.validate._registry import Measurement, NotModelled, arg, check_kind


def _study(ctx, model: str, arms: tuple[str, ...], days: float):
    """One virtual study per model and arm set, shared by the targets that read it."""
    from immunocycle.trial import run_study

    mice = 12 if ctx.quick else 40
    key = ("study", model, arms, days, mice)
    if key not in ctx.cache:
        ctx.say(f"study {model}: {', '.join(arms)} ({mice} mice per group, {days:g} days)")
        ctx.cache[key] = run_study(model, list(arms), mice=mice, days=days, seed=ctx.seed)
    return ctx.cache[key]


def _study_args(check, ctx) -> tuple[str, str, tuple[str, ...], float]:
    """Model, arm, every arm the run's targets ask of the model (one study for all; the
    untreated group first) and the study length."""
    model, arm = arg(check, "model"), arg(check, "arm")
    ctx.want_arms(f"mouse:{model}", [arm])
    arms = tuple(dict.fromkeys(["untreated", *ctx.arms[f"mouse:{model}"]]))
    return model, arm, arms, float(arg(check, "days", 10.0))


@check_kind("mouse_median_volume")
def mouse_median_volume(check, ctx) -> Measurement:
    """Median caliper volume (mm3) of a study group on a measurement day."""
    model, arm, arms, days = _study_args(check, ctx)
    day = float(arg(check, "day"))
    res = _study(ctx, model, arms, max(days, day))
    m = res.measurements
    on = m[(m["arm"] == arm) & np.isclose(m["day"], day)]
    if on.empty:
        raise NotModelled(f"{model} {arm}: no measurement on day {day:g}")
    return Measurement(float(on["volume_mm3"].median()), None, int(len(on)),
                       f"{model} {arm}, day {day:g}")


@check_kind("mouse_growth_rate")
def mouse_growth_rate(check, ctx) -> Measurement:
    """Median per-mouse log-linear growth rate (1/day) of a study group."""
    model, arm, arms, days = _study_args(check, ctx)
    res = _study(ctx, model, arms, days)
    mice = res.mice[res.mice["arm"] == arm]
    return Measurement(float(mice["growth_rate_per_day"].median()), None, int(len(mice)),
                       f"{model} {arm}")


@check_kind("mouse_cr_fraction")
def mouse_cr_fraction(check, ctx) -> Measurement:
    """Fraction of a group in complete regression at the end of the study."""
    from immunocycle.validate._targets import wilson

    model, arm, arms, days = _study_args(check, ctx)
    res = _study(ctx, model, arms, days)
    mice = res.mice[res.mice["arm"] == arm]
    k, n = int(mice["complete_regression"].sum()), int(len(mice))
    return Measurement(k / n, wilson(k, n), n, f"{model} {arm}, day {days:g}")


def _nanotumor(ctx):
    if "nanotumor" not in ctx.cache:
        from immunocycle.pk import reproduce_nanotumor

        ctx.say("PBPK on every Nano-Tumor data set")
        try:
            ctx.cache["nanotumor"] = reproduce_nanotumor()
        except (FileNotFoundError, OSError) as exc:  # the shared data set is absent
            ctx.cache["nanotumor"] = exc
    got = ctx.cache["nanotumor"]
    if isinstance(got, Exception):
        raise MissingData(f"the Nano-Tumor data set is missing ({got}); "
                          "immunocycle data fetch nanotumor")
    return got


class MissingData(NotModelled):
    """A data set the check needs is not on this machine (skipped, said so)."""


@check_kind("nano_delivery_median")
def nano_delivery_median(check, ctx) -> Measurement:
    """Median tumor delivery (%ID) of the mouse PBPK over the Nano-Tumor data sets, each at its
    fitted tumor parameters: ``metric`` de24, de168 or demax."""
    metric = str(arg(check, "metric")).lower()
    col = {"de24": "de24_model", "de168": "de168_model", "demax": "demax_model"}.get(metric)
    if col is None:
        raise ValueError(f"check nano_delivery_median: metric {metric!r} is not de24, de168 or demax")
    d = _nanotumor(ctx).datasets
    ok = d[(d["status"] == 0) & np.isfinite(d[col])]
    detail = f"{metric.upper()}, {len(ok)} data sets"
    draws = arg(check, "predictive_draws", 0)
    if draws and metric != "demax":
        detail += "; " + _predictive_detail(metric, int(draws), d, ctx.seed)
    return Measurement(float(ok[col].median()), None, int(len(ok)), detail)


def _predictive_detail(metric: str, draws: int, table, seed: int) -> str:
    """How far the data sets pin ``metric`` down: the median over data sets of each set's
    posterior predictive median, mean and 90% interval, and the share of sets whose own
    database value lies in its interval (:func:`immunocycle.pk.predictive_delivery`)."""
    from immunocycle.pk import predictive_delivery

    hours = float(metric[2:])
    pred = predictive_delivery((hours,), draws=draws, seed=seed)
    tag = f"de{hours:g}"
    column = table.set_index("ID")[metric.upper()].reindex(pred["ID"]).to_numpy()
    inside = (column >= pred[f"{tag}_p05"]) & (column <= pred[f"{tag}_p95"])
    med = {k: float(pred[f"{tag}_{k}"].median()) for k in ("median", "mean", "p05", "p95")}
    return (f"posterior predictive per data set ({draws} draws, seed {seed}; median over the "
            f"sets): median {med['median']:.3g}, mean {med['mean']:.3g}, 90% interval "
            f"{med['p05']:.3g}-{med['p95']:.3g} %ID; the database's {metric.upper()} lies in its "
            f"set's interval in {100 * float(inside.mean()):.0f}% of sets")


@check_kind("nano_observed_ratio")
def nano_observed_ratio(check, ctx) -> Measurement:
    """Median model / measured tumor %ID over the Nano-Tumor data sets that measured ``time_h``
    (h), each simulated at its fitted tumor parameters: the model against measurements, where the
    DE24/DE168 columns are partly the authors' extrapolations."""
    time_h = float(arg(check, "time_h"))
    r = _nanotumor(ctx).ratio_at(time_h)
    if r["n"] == 0:
        raise ValueError(f"check nano_observed_ratio: no data set measured {time_h:g} h")
    return Measurement(r["median_ratio"], None, r["n"],
                       f"{r['n']} data sets measured at {time_h:g} h, "
                       f"{100 * r['fraction_within_2fold']:.0f}% within 2-fold")


@check_kind("renal_cutoff")
def renal_cutoff(check, ctx) -> Measurement:
    """Hydrodynamic diameter (nm) at which glomerular sieving falls to one half."""
    from scipy.optimize import brentq

    from immunocycle.pk import renal_sieving

    d = brentq(lambda x: renal_sieving(x) - 0.5, 0.5, 100.0)
    return Measurement(float(d), None, None, "renal_sieving(d) = 0.5")


@check_kind("lymph_drainage_ratio")
def lymph_drainage_ratio(check, ctx) -> Measurement:
    """Lymphatic drainage rate from an s.c. site, ``small`` nm over ``large`` nm (ratio)."""
    from immunocycle.pk import lymph_drainage

    small, large = float(arg(check, "small")), float(arg(check, "large"))
    route, species = arg(check, "route", "sc"), arg(check, "species", "mouse")
    r = lymph_drainage(small, route, species) / lymph_drainage(large, route, species)
    return Measurement(float(r) if math.isfinite(r) else math.inf, None, None,
                       f"k_lymph({small:g} nm) / k_lymph({large:g} nm), {route}, {species}")


__all__ = ["MissingData"]
