"""Read the catalog's YAML files and check them: schemas, then cross-references.

A data file holds one entry (a mapping) or a small group (a list of mappings); its folder
(``steps/``, ``barriers/``, ``agents/``, ``formulations/``, ``therapies/``, ``evidence/``,
``regimens/``) says which schema applies. :func:`validate` reports every problem it finds as a
:class:`Problem` (file, field, problem) instead of stopping at the first one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from immunocycle._inputs import load_yaml, short
from immunocycle._paths import PACKAGE_DATA
from immunocycle.catalog._schema import KINDS, Therapy

DATA_DIR = PACKAGE_DATA / "catalog"
_SINGULAR = {"steps": "step", "barriers": "barrier", "agents": "agent", "formulations": "formulation",
             "therapies": "therapy", "evidence": "evidence", "regimens": "regimen"}


@dataclass(frozen=True)
class Problem:
    """One problem in a catalog file: where (file, dotted field path) and what."""

    file: str
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.problem}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassPK(_Strict):
    """Tissue access of one molecule class in the reference human (cycle-model PK names)."""

    q_T: float = Field(gt=0)
    gamma_T: float = Field(gt=0)
    q_LN: float = Field(gt=0)
    gamma_LN: float = Field(gt=0)
    q_LD: float = Field(gt=0)
    source: str = Field(min_length=3)


class RoutePK(_Strict):
    """How a non-intravenous route is emulated while the cycle model doses into blood only."""

    q_ln_factor: float = Field(gt=0, default=1.0)
    gamma_ln_factor: float = Field(gt=0, default=1.0)
    q_tumor_factor: float = Field(gt=0, default=1.0)
    gamma_tumor_factor: float = Field(gt=0, default=1.0)
    bioavailability: float = Field(gt=0, le=1, default=1.0)
    source: str = Field(min_length=3)


class PKDefaults(_Strict):
    """``data/catalog/pk.yaml``: class defaults, route emulation, dose scaling between species."""

    classes: dict[str, ClassPK]
    routes: dict[str, RoutePK]
    km: dict[str, float]
    km_source: str = Field(min_length=3)
    body_weight_kg: dict[str, float]


@dataclass
class RawCatalog:
    """Entries by kind and id, with the file each came from, and problems met while reading."""

    root: Path
    entries: dict[str, dict] = field(default_factory=lambda: {k: {} for k in KINDS})
    files: dict[tuple[str, object], str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    pk: PKDefaults | None = None


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _pydantic_problems(exc: ValidationError, file: str, prefix: str) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "(top level)")
        got = err.get("input")
        got_text = "" if isinstance(got, dict) else f" (got {short(got)})"
        out.append(Problem(file, where, f"{err['msg']}{got_text}"))
    return out


def read_catalog(path: str | Path | None = None) -> RawCatalog:
    """Parse every YAML file under ``path`` (default: the packaged catalog) into entries."""
    root = Path(path) if path is not None else DATA_DIR
    raw = RawCatalog(root)
    if not root.is_dir():
        raw.problems.append(Problem(str(root), "(folder)", "catalog folder not found"))
        return raw
    pk_file = root / "pk.yaml"
    if pk_file.exists():
        try:
            raw.pk = PKDefaults.model_validate(load_yaml(pk_file.read_text()))
        except ValidationError as exc:
            raw.problems += _pydantic_problems(exc, _rel(pk_file, root), "")
        except yaml.YAMLError as exc:
            raw.problems.append(Problem(_rel(pk_file, root), "(yaml)", f"malformed YAML: {exc}"))
    for kind, schema in KINDS.items():
        folder = root / kind
        for file in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            rel = _rel(file, root)
            try:
                doc = load_yaml(file.read_text())  # capped alias expansion
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = f"line {mark.line + 1}: " if mark else ""
                raw.problems.append(Problem(rel, "(yaml)", f"{line}malformed YAML"))
                continue
            items = doc if isinstance(doc, list) else [doc]
            for k, item in enumerate(items):
                prefix = f"[{k}]" if isinstance(doc, list) else ""
                if not isinstance(item, dict):
                    raw.problems.append(Problem(rel, prefix or "(top level)",
                                                f"expected a mapping, got {type(item).__name__}"))
                    continue
                try:
                    entry = schema.model_validate(item)
                except ValidationError as exc:
                    raw.problems += _pydantic_problems(exc, rel, prefix)
                    continue
                if entry.id in raw.entries[kind]:
                    raw.problems.append(Problem(rel, f"{prefix}.id".lstrip("."),
                                                f"duplicate {kind} id {entry.id!r} (also in "
                                                f"{raw.files[(kind, entry.id)]})"))
                    continue
                raw.entries[kind][entry.id] = entry
                raw.files[(kind, entry.id)] = rel
    return raw


@lru_cache(maxsize=4)
def cycle_names(preset: str = "human") -> tuple[frozenset[str], tuple[str, ...], dict[str, str]]:
    """The cycle model's parameter names, flux names and parameter units, read from its data
    files now (never a copy), so renames in the model show up as catalog problems."""
    from immunocycle.cycle import FLUXES, resolve_preset

    params, _ = resolve_preset(preset)
    return frozenset(params), tuple(FLUXES), {k: v.units for k, v in params.items()}


def cross_check(raw: RawCatalog) -> list[Problem]:
    """Problems between entries (unknown ids) and against the cycle model (unknown parameters)."""
    e, out = raw.entries, []
    try:
        params, fluxes, _ = cycle_names()
    except Exception as exc:  # the model is being edited: say so, keep checking the rest
        out.append(Problem("immunocycle.cycle", "(model)", f"cannot read the cycle model: {exc}"))
        params, fluxes = None, None

    def ref(kind: str, rid: str, field_: str, file: str) -> None:
        if rid not in e[kind]:
            out.append(Problem(file, field_, f"unknown {_SINGULAR[kind]} id {rid!r}"))

    def refs(kind: str, ids: Iterable[str], field_: str, file: str) -> None:
        for k, rid in enumerate(ids):
            ref(kind, rid, f"{field_}.{k}", file)

    def param(name: str, field_: str, file: str) -> None:
        if params is not None and name not in params:
            out.append(Problem(file, field_, f"the cycle model has no parameter {name!r}"))

    for sid, s in e["steps"].items():
        f = raw.files[("steps", sid)]
        refs("evidence", s.evidence, "evidence", f)
        if fluxes is not None and s.flux not in fluxes:
            out.append(Problem(f, "flux", f"the cycle model has no flux {s.flux!r}"))
    for bid, b in e["barriers"].items():
        f = raw.files[("barriers", bid)]
        refs("evidence", b.evidence, "evidence", f)
        for k, s in enumerate(b.steps):
            if s not in e["steps"]:
                out.append(Problem(f, f"steps.{k}", f"unknown step {s}"))
        for k, p in enumerate(b.parameters):
            param(p.name, f"parameters.{k}.name", f)
    for aid, a in e["agents"].items():
        refs("evidence", a.evidence, "evidence", raw.files[("agents", aid)])
    for fid, fo in e["formulations"].items():
        f = raw.files[("formulations", fid)]
        refs("evidence", fo.evidence, "evidence", f)
        for k, ld in enumerate(fo.loading):
            ref("agents", ld.agent, f"loading.{k}.agent", f)
    for tid, t in e["therapies"].items():
        f = raw.files[("therapies", tid)]
        out += _check_therapy(t, f, e, raw, params, fluxes)
        refs("agents", t.agents, "agents", f)
        refs("barriers", t.barriers, "barriers", f)
        refs("evidence", t.evidence, "evidence", f)
        if not t.is_free:
            ref("formulations", t.formulation, "formulation", f)
    for rid, r in e["regimens"].items():
        f = raw.files[("regimens", rid)]
        refs("evidence", r.evidence, "evidence", f)
        for k, item in enumerate(r.items):
            ref("therapies", item.therapy, f"items.{k}.therapy", f)
    return out


def _check_therapy(t: Therapy, f: str, e: dict, raw: RawCatalog, params, fluxes) -> list[Problem]:
    out = []
    for k, eff in enumerate(t.effects):
        if params is not None and eff.parameter not in params:
            out.append(Problem(f, f"effects.{k}.parameter",
                               f"the cycle model has no parameter {eff.parameter!r}"))
    for k, c in enumerate(t.claims):
        if fluxes is not None and c.flux not in fluxes:
            out.append(Problem(f, f"claims.{k}.flux", f"the cycle model has no flux {c.flux!r}"))
        elif int(c.flux[1:]) < c.step:
            out.append(Problem(f, f"claims.{k}.flux", f"step {c.step} is measured at J{c.step} or "
                               f"downstream, not at {c.flux}"))
    for name in t.dose.co_loading:
        if name not in t.agents[1:]:
            out.append(Problem(f, "dose.co_loading", f"{name!r} is not a co-loaded agent"))
    if t.free_counterpart is not None:
        other = e["therapies"].get(t.free_counterpart)
        if other is None:
            out.append(Problem(f, "free_counterpart", f"unknown therapy id {t.free_counterpart!r}"))
        elif not other.is_free or other.agents[0] != t.agents[0]:
            out.append(Problem(f, "free_counterpart", f"{t.free_counterpart!r} must be a free "
                               f"therapy of the same primary agent {t.agents[0]!r}"))
    if raw.pk is not None:
        if t.route not in raw.pk.routes and t.route != "iv":
            out.append(Problem(f, "route", f"route {t.route!r} has no emulation in pk.yaml"))
        for a in t.agents:
            agent = e["agents"].get(a)
            if agent is not None and agent.molecule not in raw.pk.classes:
                out.append(Problem(f, "agents", f"agent {a!r}: molecule class {agent.molecule!r}"
                                   " has no tissue defaults in pk.yaml"))
        if not t.is_free and "nanoparticle" not in raw.pk.classes:
            out.append(Problem(f, "formulation", "pk.yaml lacks the 'nanoparticle' class"))
    else:
        out.append(Problem(f, "(pk)", "pk.yaml missing or invalid: cannot convert this therapy"))
    return out


def validate(path: str | Path | None = None) -> list[Problem]:
    """Check every catalog file against its schema and every cross-reference.

    Parameters
    ----------
    path : str or Path, optional
        A catalog folder (default: the packaged ``data/catalog``).

    Returns
    -------
    list of Problem
        Empty when the catalog is clean; otherwise one item per problem, each naming the file,
        the dotted field path and what is wrong (unknown id, wrong type, missing source,
        a size outside (0, 1000] nm, a parameter the cycle model lacks...).
    """
    raw = read_catalog(path)
    return raw.problems + cross_check(raw)


__all__ = ["DATA_DIR", "PKDefaults", "Problem", "RawCatalog", "cross_check", "cycle_names",
           "read_catalog", "validate"]
