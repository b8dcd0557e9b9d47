"""Organ factors of a therapy: organ exposure of free and carrier-bound payload per unit of
plasma exposure of the payload as delivered (the cycle model's ``<agent>_conc_C``).

``f_<form>_<metric>[organ] = <metric> of <form> payload in the organ / <metric> of total payload
in plasma``, with ``form`` free or bound and ``metric`` auc or cmax, from
``data/catalog/organs.yaml``:

* free antibody, protein, peptide...: the cited antibody tissue:plasma ratios (Shah & Betts 2013);
  nothing bound;
* free small molecule (or a carrier that dissolves in plasma within minutes): the nanoparticle
  PBPK's free-payload model given i.v. (its published two-compartment popPK spread over the organs;
  doxorubicin's model traces every small molecule, as in :mod:`immunocycle.catalog._pk_link`);
* nano-formulation of a small molecule the PBPK represents: the PBPK run of the formulation (human,
  its route, 672 h) with the doxorubicin payload: bound (``PB_*``) and free (``PF_*``) payload per
  organ (:func:`immunocycle.pk.organ_exposure`);
* nano-formulation of a biologic: the carrier's organ / plasma ratios for the bound agent, and the
  released share ``k_release V1 / CL_free`` of plasma exposure (AUC of released drug per AUC of
  carried drug, a mass balance) times the antibody ratios for the free agent;
* carriers the PBPK cannot represent (cell-borne, other routes): bound agent in plasma only,
  released agent as above (assumption, said in ``source``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from immunocycle._paths import PACKAGE_DATA
from immunocycle.catalog._convert import dissolves
from immunocycle.catalog._pk_link import (
    _targeted,
    carrier_class,
    pbpk_organ_table,
    unlinked_reason,
)


@functools.cache
def organ_map() -> dict:
    """``data/catalog/organs.yaml``: organ -> PBPK compartment, antibody tissue:plasma ratios."""
    import yaml

    with open(PACKAGE_DATA / "catalog" / "organs.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def organs() -> list[str]:
    """The organs of the toxicity laws."""
    return list(organ_map()["organs"])


@dataclass(frozen=True)
class OrganFactors:
    """Organ / plasma exposure ratios of one therapy (see the module docstring).

    Attributes
    ----------
    free_auc, free_cmax, bound_auc, bound_cmax : dict
        Organ -> ratio (dimensionless); free = unbound payload.
    carrier : str or None
        The formulation's carrier class (None: free drug).
    source : str
    unbound : float
        The unbound fraction the free factors include (1: none given).
    """

    free_auc: dict = field(default_factory=dict)
    free_cmax: dict = field(default_factory=dict)
    bound_auc: dict = field(default_factory=dict)
    bound_cmax: dict = field(default_factory=dict)
    carrier: str | None = None
    source: str = ""
    unbound: float = 1.0

    def factor(self, form: str, metric: str, organ: str, unbound: bool = True) -> float:
        """``form`` free, bound or total; ``metric`` auc or cmax; ``unbound=False``: free payload
        including its plasma-protein-bound part (free factors divided by :attr:`unbound`)."""
        if form == "total":
            return (self.factor("free", metric, organ, unbound)
                    + self.factor("bound", metric, organ, unbound))
        value = float(getattr(self, f"{form}_{metric}").get(organ, 0.0))
        return value if unbound or form != "free" else value / self.unbound


def _antibody(scale: float = 1.0) -> dict:
    return {o: scale * float(v) for o, v in organ_map()["antibody_tissue_plasma"].items()}


def _from_table(table, what: str) -> OrganFactors:
    """Factors from a :func:`immunocycle.pk.organ_exposure` table."""
    m = organ_map()["organs"]
    auc_total = table.loc["blood", "auc_free"] + table.loc["blood", "auc_bound"]
    cmax_total = table.loc["blood", "cmax_free"] + table.loc["blood", "cmax_bound"]
    out = {k: {} for k in ("free_auc", "free_cmax", "bound_auc", "bound_cmax")}
    for organ, spec in m.items():
        row = table.loc[spec["pbpk"]]
        out["free_auc"][organ] = float(row["auc_free"] / auc_total)
        out["free_cmax"][organ] = float(row["cmax_free"] / cmax_total)
        out["bound_auc"][organ] = float(row["auc_bound"] / auc_total)
        out["bound_cmax"][organ] = float(row["cmax_bound"] / cmax_total)
    return OrganFactors(**out, source=what)


def organ_factors(entry=None, *, catalog=None) -> OrganFactors:
    """Organ factors of a catalog therapy (a :class:`Therapy` or its id; None or a name outside
    the catalog: a free antibody, as the cycle model's checkpoint antibodies).

    Free payload is UNBOUND payload: when the therapy gives the payload's unbound fraction in
    plasma (``unbound``: Cremophor EL micelles trap paclitaxel, albumin particles do not), the
    free factors are multiplied by it."""
    from immunocycle.catalog._store import load_catalog

    cat = catalog or load_catalog()
    if isinstance(entry, str):
        entry = cat.therapies.get(entry)
    f = _organ_factors(entry, cat)
    fu = float(entry.unbound.fraction) if entry is not None and entry.unbound else 1.0
    if fu == 1.0:
        return f
    return OrganFactors({o: fu * v for o, v in f.free_auc.items()},
                        {o: fu * v for o, v in f.free_cmax.items()}, f.bound_auc, f.bound_cmax,
                        f.carrier, f"{f.source}; free = unbound fraction {fu:g} "
                        f"({entry.unbound.source})", fu)


def _organ_factors(entry, cat) -> OrganFactors:
    if entry is None:
        ab = _antibody()
        return OrganFactors(free_auc=ab, free_cmax=dict(ab),
                            source=organ_map()["antibody_tissue_plasma_source"])
    agent = cat.agents[entry.agents[0]]
    small = agent.molecule == "small_molecule"
    formulation = None if entry.is_free else cat.formulations[entry.formulation]
    if formulation is None or dissolves(formulation):
        if small:
            return _from_table(pbpk_organ_table(None, 0.0, None, False, "iv", 0.0, 0.0),
                               "PBPK free-payload model (doxorubicin popPK as the small-molecule "
                               "tracer), i.v.")
        ab = _antibody()
        return OrganFactors(free_auc=ab, free_cmax=dict(ab),
                            source=organ_map()["antibody_tissue_plasma_source"])
    r = formulation.release
    cls = carrier_class(formulation)
    reason = unlinked_reason(formulation, entry.route)
    if small and reason is None:
        table = pbpk_organ_table(cls, float(formulation.size_nm),
                                 None if formulation.zeta_mv is None
                                 else float(formulation.zeta_mv),
                                 _targeted(formulation), entry.route, float(r.k_blood_per_h),
                                 float(r.k_site_per_h or 0.0))
        f = _from_table(table, f"nanoparticle PBPK of {formulation.id} (human, {entry.route}): "
                               "bound and free doxorubicin-traced payload per organ")
        return OrganFactors(f.free_auc, f.free_cmax, f.bound_auc, f.bound_cmax,
                            formulation.carrier, f.source)
    apk = agent.pk["human"]
    released = min(1.0, r.k_blood_per_h * formulation.carrier_pk.v1_l / apk.cl_l_per_h)
    free = _antibody(released) if not small else {o: released for o in organ_map()["organs"]}
    if reason is None:
        table = pbpk_organ_table(cls, float(formulation.size_nm),
                                 None if formulation.zeta_mv is None
                                 else float(formulation.zeta_mv),
                                 _targeted(formulation), entry.route, float(r.k_blood_per_h),
                                 float(r.k_site_per_h or 0.0))
        m = organ_map()["organs"]
        blood_auc, blood_cmax = table.loc["blood", "auc_carrier"], table.loc["blood", "cmax_carrier"]
        bound_auc = {o: float(table.loc[s["pbpk"], "auc_carrier"] / blood_auc) for o, s in m.items()}
        bound_cmax = {o: float(table.loc[s["pbpk"], "cmax_carrier"] / blood_cmax)
                      for o, s in m.items()}
        src = (f"carrier of {formulation.id} in the nanoparticle PBPK (human, {entry.route}) for "
               f"the bound agent; released share {released:.3g} of plasma exposure x antibody "
               "tissue:plasma ratios for the free agent")
    else:
        bound_auc = bound_cmax = {"blood": 1.0}
        src = (f"assumption ({reason}): bound agent in plasma only; released share "
               f"{released:.3g} of plasma exposure for the free agent")
    return OrganFactors(free, dict(free), bound_auc, dict(bound_cmax), formulation.carrier, src)


__all__ = ["OrganFactors", "organ_factors", "organ_map", "organs"]
