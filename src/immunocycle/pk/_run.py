"""Build and run the nanoparticle PBPK model for one formulation: ``build_pbpk`` and ``run_pk``."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from immunocycle._errors import InputError, SolverError
from immunocycle.engine import (
    CompiledModel,
    SimulationResult,
    SolverOptions,
    compile_model,
    simulate,
)
from immunocycle.model import Model
from immunocycle.pk._formulation import Release, pbpk_values
from immunocycle.pk._pbpk import ORGANS, ROUTES, pbpk_structure, with_values
from immunocycle.pk._properties import Particle

SUMMARY_KEYS = ("de24", "de168", "demax", "lymph_node_max_pct_id", "vaccine_node_max_pct_id",
                "blood_half_life_h", "auc_tumor_over_blood", "pct_id_at_24h")
_ORGAN_COLUMNS = {
    "blood": ("art", "ven"),
    **{label: tuple(f"{o}_{p}" for p in (("b", "t", "res") if res else ("b", "t")))
       for o, (label, res) in ORGANS.items()},
    "lymph_node": ("ln", "ln_cell"), "vaccine_node": ("vln", "vln_cell"),
    "injection_site": ("site", "site_cell"),
    "urine": ("urine",), "bile": ("bile",),
}
_ORGAN_COLUMNS["tumor"] = (*_ORGAN_COLUMNS["tumor"], "it")


class OutOfDomainWarning(UserWarning):
    """A particle property lies outside the range the property model was trained on."""


def build_pbpk(species: str = "mouse", route: str = "iv", particle: Particle | None = None,
               payload: str | None = None, release: Release | None = None, *,
               tumor: Mapping[str, float] | None = None, loading: float = 0.1,
               free_dose_mg_per_kg: float = 0.0, infusion_h: float = 0.0,
               dose_times_h: tuple[float, ...] = (0.0,)) -> Model:
    """The nanoparticle PBPK model of one formulation, species and route (time in hours).

    Parameters
    ----------
    species : {"mouse", "human"}
        Mouse: Lin 2016 / Cheng 2020 (20 g, or the particle's ``body_weight_g``). Human: ICRP 89 /
        Brown 1997 physiology, particle rate constants scaled allometrically (exponent -0.25).
    route : {"iv", "sc", "id", "it"}
        Intravenous (bolus, or infusion over ``infusion_h``), subcutaneous or intradermal
        injection-site depot with size-dependent lymphatic drainage, intratumoral depot.
    particle : Particle, optional
        Carrier class, diameter (nm), zeta (mV), shape, targeting, tumor model, dose (mg/kg).
        None: free payload only (give ``payload`` and ``free_dose_mg_per_kg``).
    payload : {"doxorubicin", "nivolumab"}, optional
        Payload whose free form has its own two-compartment PK; adds bound (``PB_*``) and free
        (``PF_*``) payload states.
    release : Release, optional
        First-order release (1/h) and an optional triggered interval.
    tumor : mapping, optional
        Explicit tumor parameters (QTC, VTC [L/kg], BVT, PT, PATC, KTRESrelease/max [1/h],
        KTRES50 [h], KTRESn); default: predicted by ``default_model()`` from the particle.
    loading : float
        mg payload per mg carrier.
    free_dose_mg_per_kg : float
        Dose of free payload given by the same route, mg/kg.
    infusion_h : float
        Infusion duration, h (0: bolus).
    dose_times_h : tuple of float
        Administration times, h. The phagocytic uptake law ``K_max t^n / (K50^n + t^n)`` uses the
        model time ``t`` (time since the first dose, as in Lin 2016 / Cheng 2020), so repeated
        doses share one uptake clock.

    Returns
    -------
    Model
        Amounts in mg, time in hours. Quantities for other modules (the cycle model):

        * ``tumor_amount``, ``ln_amount``, ``blood_amount`` (mg of carrier);
        * ``C_free_tumor``, ``C_free_ln``, ``C_free_blood`` (mg/L): released (free) payload
          concentration in the tumor (organ mean), tumor-draining lymph node and plasma;
          ``C_free_<organ>`` for lung, brain, muscle, rest, kidney, spleen, liver;
        * species ``PB_T_t``/``PB_T_res`` (carrier-bound payload in tumor tissue and phagocytes),
          ``PF_T``, ``PF_ln``, ``PF_central`` (free payload amounts, mg).

    Raises
    ------
    ValueError
        Unknown species, route or payload, negative loading or dose (naming the field);
        the Particle itself rejects a > 1000 nm particle, a dose <= 0 and unknown classes.
    """
    values, _, _ = pbpk_values(species, route, particle, payload, release, tumor, loading,
                               free_dose_mg_per_kg)
    trigger = release.trigger if release is not None else None
    model = pbpk_structure(payload is not None, route, infusion_h, tuple(dose_times_h), trigger)
    return with_values(model, values)


@functools.cache
def _compiled(payload: bool, route: str, infusion_h: float, dose_times_h: tuple[float, ...],
              trigger: tuple[float, float] | None) -> CompiledModel:
    return compile_model(pbpk_structure(payload, route, infusion_h, dose_times_h, trigger))


def _grid(horizon_h: float) -> np.ndarray:
    early = [0.0, 0.02, 0.05, 0.1, 0.25, 0.5, 0.75]
    return np.unique(np.concatenate([early, np.arange(1.0, horizon_h + 1e-9, 1.0), [horizon_h]]))


def _auc(t: np.ndarray, y: np.ndarray) -> float:
    return float(np.trapezoid(y, t)) if hasattr(np, "trapezoid") else float(np.trapz(y, t))


def _half_life(t: np.ndarray, y: np.ndarray, t_ref: float) -> float:
    """Time after ``t_ref`` for ``y`` to halve; extrapolated log-linearly from the last points."""
    k0 = int(np.searchsorted(t, t_ref))
    if k0 >= t.size or y[k0] <= 0:
        return float("nan")
    below = np.nonzero(y[k0:] <= 0.5 * y[k0])[0]
    if below.size:
        j = k0 + below[0]
        # log-linear interpolation between the bracketing grid points
        y1, y2 = y[j - 1], y[j]
        frac = math.log(y1 / (0.5 * y[k0])) / math.log(y1 / y2) if y2 > 0 else 1.0
        return float(t[j - 1] + frac * (t[j] - t[j - 1]) - t[k0])
    tail = max(k0, int(0.75 * t.size))
    slope = np.polyfit(t[tail:], np.log(np.maximum(y[tail:], 1e-300)), 1)[0]
    return float(math.log(2) / -slope) if slope < 0 else float("inf")


@dataclass(frozen=True)
class PKResult:
    """PBPK time courses and exposure metrics of one formulation.

    Attributes
    ----------
    pct_id : DataFrame
        Carrier % of injected dose per organ (columns) over time (index, h); ``blood`` is plasma.
    de24, de168, demax : float
        Tumor %ID at 24 h, 168 h (NaN past the horizon) and its maximum.
    lymph_node_max_pct_id : float
        Maximum %ID in the tumor-draining lymph node.
    vaccine_node_max_pct_id : float
        Maximum %ID in the node draining an s.c./i.d. injection site (0 for i.v. and i.t. doses).
    blood_half_life_h : float
        Time for the plasma amount of carrier to halve after the mixing phase (from 0.5 h after
        the end of dosing); extrapolated log-linearly if it does not halve within the horizon.
    auc_tumor_over_blood : float
        AUC of the tumor concentration over AUC of the plasma concentration (carrier).
    pct_id_at_24h : dict
        %ID per organ at 24 h.
    free_payload_auc : dict
        AUC over the horizon of free payload concentration (mg h/L): ``blood`` (plasma) and each
        organ (organ mean); empty without a payload.
    payload_blood_half_life_h, payload_vd_l : float
        Total (bound + free) payload in plasma: half-life (same definition as the carrier's) and
        apparent volume of distribution Vz = dose / (AUC_inf lambda_z), L.
    out_of_domain : bool
        True if a property lies outside the property model's training range (a
        :class:`OutOfDomainWarning` is issued too); ``domain_notes`` says which.
    simulation : SimulationResult
        The engine result (amounts in mg, time in h).
    """

    pct_id: pd.DataFrame
    de24: float
    de168: float
    demax: float
    lymph_node_max_pct_id: float
    vaccine_node_max_pct_id: float
    blood_half_life_h: float
    auc_tumor_over_blood: float
    pct_id_at_24h: dict
    free_payload_auc: dict
    payload_blood_half_life_h: float
    payload_vd_l: float
    out_of_domain: bool
    domain_notes: str
    parameters: dict
    simulation: SimulationResult = field(repr=False)

    def summary(self) -> dict:
        """The headline metrics: exactly the keys of :data:`SUMMARY_KEYS`."""
        return {k: getattr(self, k) for k in SUMMARY_KEYS}

    def mass_balance_error(self) -> dict[str, float]:
        """Largest |sum of all amounts - dose given so far| / total dose, carrier and payload."""
        sim, p = self.simulation, self.parameters
        out = {}
        for prefix, dose in (("NP", p["_carrier_dose_mg"]), ("P", p["_payload_dose_mg"])):
            names = [s for s in sim.state_names if s.startswith(prefix)]
            if not names or dose <= 0:
                continue
            total = sum(sim[s][0] for s in names)
            given = np.interp(sim.times, p["_dose_curve_t"], p["_dose_curve_frac"]) * dose
            out["carrier" if prefix == "NP" else "payload"] = float(np.max(np.abs(total - given)) / dose)
        return out


def run_pk(particle: Particle | None = None, payload: str | None = None,
           release: Release | None = None, *, species: str = "mouse", route: str = "iv",
           tumor: Mapping[str, float] | None = None, loading: float = 0.1,
           free_dose_mg_per_kg: float = 0.0, infusion_h: float = 0.0, horizon_h: float = 168.0,
           overrides: Mapping[str, float] | None = None,
           options: SolverOptions | None = None) -> PKResult:
    """Simulate one formulation (single administration at t = 0) and compute its exposure metrics.

    Parameters are those of :func:`build_pbpk`; ``horizon_h`` is the simulated time (h);
    ``overrides`` sets any model parameter by name, in its declared units (for example
    ``{"res_capacity_on": 1.0}`` to cap phagocytic uptake at the capacities of Lin 2016).

    Returns
    -------
    PKResult
        A property outside the property model's training range sets ``out_of_domain`` and issues
        an :class:`OutOfDomainWarning` naming the property.

    Raises
    ------
    ValueError
        Bad route, species, payload, doses, or a formulation with nothing to give.
    """
    if route not in ROUTES:
        raise InputError(f"route: unknown route {route!r}; choose one of {', '.join(ROUTES)}")
    if particle is None and (payload is None or free_dose_mg_per_kg <= 0):
        raise InputError("particle: give a particle, or a payload with free_dose_mg_per_kg > 0")
    if not horizon_h > 0:
        raise InputError(f"horizon_h: must be > 0, got {horizon_h}")
    values, ood, notes = pbpk_values(species, route, particle, payload, release, tumor, loading,
                                     free_dose_mg_per_kg)
    if ood:
        warnings.warn(f"out of the property model's domain: {notes}", OutOfDomainWarning,
                      stacklevel=2)
    trigger = release.trigger if release is not None else None
    compiled = _compiled(payload is not None, route, float(infusion_h), (0.0,), trigger)
    times = _grid(horizon_h)
    unknown = set(overrides or {}) - set(compiled.parameter_names)
    if unknown:
        raise InputError(f"overrides: unknown model parameter(s) {sorted(unknown)}")
    values.update({k: float(v) for k, v in (overrides or {}).items()})
    params = pd.DataFrame({k: [v] for k, v in values.items() if k in compiled.parameter_names})
    carrier_dose = values["dose_mg_per_kg"] * values["BW"]
    payload_dose = (values.get("loading", 0.0) * carrier_dose
                    + values.get("free_dose_mg_per_kg", 0.0) * values["BW"])
    scale = max(carrier_dose, payload_dose)
    opts = options or SolverOptions(rtol=1e-7, atol=1e-12 * scale)
    sim = simulate(compiled, times, params, options=opts)
    if sim.status[0] != 0:
        raise SolverError(f"PBPK integration failed: {sim.status_text()[0]}")
    return _metrics(sim, values, ood, notes, carrier_dose, payload_dose, infusion_h)


def _metrics(sim: SimulationResult, values: dict, ood: bool, notes: str, carrier_dose: float,
             payload_dose: float, infusion_h: float) -> PKResult:
    t = sim.times
    denom = carrier_dose if carrier_dose > 0 else 1.0
    pct = pd.DataFrame({organ: 100.0 * sum(sim[f"NP_{loc}"][0] for loc in locs) / denom
                        for organ, locs in _ORGAN_COLUMNS.items()},
                       index=pd.Index(t, name="time_h"))
    tumor = pct["tumor"].to_numpy()

    def at(h: float) -> float:
        return float(np.interp(h, t, tumor)) if h <= t[-1] else float("nan")

    t_ref = infusion_h + 0.5
    v_t = values["BW"] * values["VTC"]
    v_p = values["BW"] * values["VPlasC"]
    blood = pct["blood"].to_numpy()
    auc_ratio = (_auc(t, tumor / v_t) / _auc(t, blood / v_p)) if carrier_dose > 0 else float("nan")
    free_auc: dict[str, float] = {}
    payload_half, payload_vd = float("nan"), float("nan")
    if "PF_central" in sim.state_names:
        free_auc["blood"] = _auc(t, sim["C_free_blood"][0])
        for label, _ in ORGANS.values():
            free_auc[label] = _auc(t, sim[f"C_free_{label}"][0])
        free_auc["lymph_node"] = _auc(t, sim["C_free_ln"][0])
        free_auc["vaccine_node"] = _auc(t, sim["C_free_vln"][0])
        plasma = ((sim["PB_art"][0] + sim["PB_ven"][0]) / v_p + sim["C_free_blood"][0])
        payload_half = _half_life(t, plasma, t_ref)
        tail = max(int(np.searchsorted(t, t_ref)), int(0.75 * t.size))
        lam = -np.polyfit(t[tail:], np.log(np.maximum(plasma[tail:], 1e-300)), 1)[0]
        if lam > 0 and payload_dose > 0:
            auc_inf = _auc(t, plasma) + plasma[-1] / lam
            payload_vd = float(payload_dose / (auc_inf * lam))
    ln = pct["lymph_node"].to_numpy()
    k24 = int(np.searchsorted(t, 24.0)) if t[-1] >= 24 else len(t) - 1
    values = dict(values)
    dur = max(infusion_h, 1e-9)
    values.update({"_carrier_dose_mg": carrier_dose, "_payload_dose_mg": payload_dose,
                   "_dose_curve_t": np.array([0.0, dur]) if infusion_h > 0 else np.array([-1.0, 0.0]),
                   "_dose_curve_frac": np.array([0.0, 1.0]) if infusion_h > 0 else np.array([1.0, 1.0])})
    return PKResult(
        pct_id=pct, de24=at(24.0), de168=at(168.0), demax=float(np.max(tumor)),
        lymph_node_max_pct_id=float(np.max(ln)),
        vaccine_node_max_pct_id=float(np.max(pct["vaccine_node"].to_numpy())),
        blood_half_life_h=_half_life(t, blood, t_ref) if carrier_dose > 0 else float("nan"),
        auc_tumor_over_blood=float(auc_ratio),
        pct_id_at_24h={c: float(pct[c].iloc[k24]) for c in pct.columns},
        free_payload_auc=free_auc, payload_blood_half_life_h=payload_half,
        payload_vd_l=payload_vd, out_of_domain=ood, domain_notes=notes, parameters=values,
        simulation=sim)


def plot_organ_distribution(result: PKResult, path: str | Path | None = None):
    """Carrier %ID per organ over time (log time axis); saved as PNG if ``path`` is given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure  # object API: the caller's pyplot backend is untouched

    from immunocycle._plotstyle import label_axes, legend_outside, use_series_cycle

    fig = Figure(figsize=(8.5, 4.5), layout="constrained")
    ax = fig.subplots()
    df = result.pct_id.iloc[1:]
    shown = [col for col in df.columns if df[col].max() >= 0.05]
    use_series_cycle(ax, len(shown))  # one (colour, line style) pair per organ, none repeated
    for col in shown:
        ax.plot(df.index, df[col], label=col.replace("_", " "))
    ax.set_xscale("log")
    label_axes(ax, "time after dose (h)", "carrier (% of injected dose)")
    ax.set_title("Nanoparticle distribution (PBPK)")
    legend_outside(ax, title="organ")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def node_columns(result) -> tuple[str, ...]:
    """The ``pct_id`` columns of the nodes a run reaches: the tumor-draining node, and the
    vaccine-draining node when an s.c./i.d. dose drained to it."""
    return ("lymph_node", "vaccine_node") if result.vaccine_node_max_pct_id > 0 else ("lymph_node",)


def plot_tumor_ln_blood(result: PKResult, path: str | Path | None = None):
    """Tumor and lymph-node %ID against blood (plasma) %ID over time; PNG if ``path`` is given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure  # object API: the caller's pyplot backend is untouched

    from immunocycle._plotstyle import label_axes, legend_outside, series_style

    fig = Figure(figsize=(7.5, 4), layout="constrained")
    ax = fig.subplots()
    df = result.pct_id
    nodes = node_columns(result)
    for k, col in enumerate(("blood", "tumor", *nodes)):
        ax.plot(df.index, df[col], label=col.replace("_", " "), **series_style(k))
    ax.set_yscale("symlog", linthresh=0.01)
    label_axes(ax, "time after dose (h)", "carrier (% of injected dose)")
    title = (f"Tumor DE24 {result.de24:.2g} %ID, lymph node max "
             f"{result.lymph_node_max_pct_id:.2g} %ID")
    if "vaccine_node" in nodes:
        title += f", vaccine-draining node max {result.vaccine_node_max_pct_id:.2g} %ID"
    ax.set_title(title)
    legend_outside(ax)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
