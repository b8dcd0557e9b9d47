"""The embedded knowledge store: the catalog's entries in an in-memory DuckDB database, with
views joining steps, barriers, therapies and evidence, and a small query API over them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from immunocycle._errors import DataError
from immunocycle.catalog._load import PKDefaults, Problem, cross_check, read_catalog
from immunocycle.catalog._schema import (
    Agent,
    Barrier,
    Evidence,
    Formulation,
    Regimen,
    Step,
    Therapy,
)


class CatalogError(DataError):
    """The catalog has problems; ``problems`` lists them (file, field, problem)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        head = "\n".join(str(p) for p in problems[:20])
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} catalog problem(s):\n{head}{more}")


_TABLES = {
    "steps": "id INTEGER, name VARCHAR, where_ VARCHAR, flux VARCHAR, description VARCHAR",
    "barriers": "id VARCHAR, name VARCHAR, mechanism VARCHAR",
    "barrier_steps": "barrier VARCHAR, step INTEGER",
    "barrier_parameters": "barrier VARCHAR, parameter VARCHAR, direction VARCHAR",
    "agents": "id VARCHAR, name VARCHAR, agent_class VARCHAR, molecule VARCHAR, target VARCHAR, "
              "mw_kda DOUBLE, cl_l_per_h DOUBLE, v1_l DOUBLE, half_life_h DOUBLE",
    "formulations": "id VARCHAR, name VARCHAR, carrier VARCHAR, material VARCHAR, size_nm DOUBLE, "
                    "zeta_mv DOUBLE, ligand VARCHAR, release_per_h DOUBLE, trigger VARCHAR",
    "therapies": "id VARCHAR, name VARCHAR, description VARCHAR, formulation VARCHAR, "
                 "carrier VARCHAR, route VARCHAR, dose DOUBLE, dose_units VARCHAR, "
                 "free_counterpart VARCHAR, assumptions VARCHAR",
    "therapy_agents": "therapy VARCHAR, agent VARCHAR, position INTEGER",
    "therapy_barriers": "therapy VARCHAR, barrier VARCHAR",
    "therapy_claims": "therapy VARCHAR, step INTEGER, flux VARCHAR, direction VARCHAR",
    "therapy_effects": "therapy VARCHAR, agent VARCHAR, parameter VARCHAR, mode VARCHAR, "
                       "emax DOUBLE, ec50_nmol_per_l DOUBLE, hill DOUBLE, site VARCHAR, "
                       "assumption BOOLEAN, grade VARCHAR, fitted_in VARCHAR",
    "therapy_evidence": "therapy VARCHAR, evidence VARCHAR",
    "evidence": "id VARCHAR, citation VARCHAR, doi VARCHAR, doi_verified BOOLEAN, year INTEGER, "
                "system VARCHAR, model_system VARCHAR, outcome VARCHAR",
    "regimen_items": "regimen VARCHAR, therapy VARCHAR, position INTEGER",
}

_VIEWS = {
    # One row per therapy with its lists, as `catalog list` prints it.
    "therapy_summary": """
        SELECT t.id, t.name, t.carrier AS formulation, t.formulation AS formulation_id, t.route,
          (SELECT list(DISTINCT c.step ORDER BY c.step) FROM therapy_claims c WHERE c.therapy = t.id) AS steps,
          (SELECT list(b.barrier ORDER BY b.barrier) FROM therapy_barriers b WHERE b.therapy = t.id) AS barriers,
          (SELECT list(a.agent ORDER BY a.position) FROM therapy_agents a WHERE a.therapy = t.id) AS agents,
          (SELECT list(e.doi ORDER BY e.doi) FROM therapy_evidence te JOIN evidence e ON e.id = te.evidence
             WHERE te.therapy = t.id) AS evidence,
          t.free_counterpart
        FROM therapies t ORDER BY t.id""",
    # steps x barriers x therapies x evidence: which therapy addresses which barrier of which
    # step, and the papers behind the therapy.
    "step_barrier_therapy_evidence": """
        SELECT s.id AS step, s.name AS step_name, b.id AS barrier, b.name AS barrier_name,
               t.id AS therapy, t.carrier, t.route, e.id AS evidence, e.doi, e.system
        FROM steps s
        JOIN barrier_steps bs ON bs.step = s.id
        JOIN barriers b ON b.id = bs.barrier
        JOIN therapy_barriers tb ON tb.barrier = b.id
        JOIN therapies t ON t.id = tb.therapy
        JOIN therapy_claims tc ON tc.therapy = t.id AND tc.step = s.id
        LEFT JOIN therapy_evidence te ON te.therapy = t.id
        LEFT JOIN evidence e ON e.id = te.evidence""",
    # The diagnosis reads barriers through model parameters: barrier -> parameter -> direction.
    "barrier_model_parameters": """
        SELECT b.id AS barrier, bs.step, bp.parameter, bp.direction
        FROM barriers b JOIN barrier_steps bs ON bs.barrier = b.id
        JOIN barrier_parameters bp ON bp.barrier = b.id""",
}


@dataclass
class Catalog:
    """The loaded, validated catalog and its DuckDB store.

    Attributes
    ----------
    steps, barriers, agents, formulations, therapies, evidence, regimens : dict
        Entries by id (steps by number).
    pk : PKDefaults
        Class tissue defaults, route emulation and dose scaling (``pk.yaml``).
    root : Path
        The folder it was read from.
    """

    steps: dict[int, Step]
    barriers: dict[str, Barrier]
    agents: dict[str, Agent]
    formulations: dict[str, Formulation]
    therapies: dict[str, Therapy]
    evidence: dict[str, Evidence]
    regimens: dict[str, Regimen]
    pk: PKDefaults
    root: Path
    files: dict = field(default_factory=dict, repr=False)
    _db: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ lookups
    def therapy(self, therapy_id: str) -> Therapy:
        """The therapy of this id; the error lists close ids."""
        try:
            return self.therapies[therapy_id]
        except KeyError:
            close = [t for t in self.therapies if therapy_id.split("_")[0] in t][:8]
            raise KeyError(f"unknown therapy {therapy_id!r}"
                           + (f"; did you mean {', '.join(close)}?" if close else "")) from None

    def carrier(self, therapy: Therapy) -> str:
        """The carrier class of a therapy, or ``"free"``."""
        return "free" if therapy.is_free else self.formulations[therapy.formulation].carrier

    # ------------------------------------------------------------------ store
    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        """The in-memory DuckDB database (built on first use)."""
        if self._db is None:
            self._db = self._build_db()
        return self._db

    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run SQL on the store (tables and views listed in ``_TABLES``/``_VIEWS``)."""
        return self.db.execute(query, params or []).df()

    def _build_db(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        rows: dict[str, list[tuple]] = {k: [] for k in _TABLES}
        for s in self.steps.values():
            rows["steps"].append((s.id, s.name, s.where, s.flux, s.description))
        for b in self.barriers.values():
            rows["barriers"].append((b.id, b.name, b.mechanism))
            rows["barrier_steps"] += [(b.id, s) for s in b.steps]
            rows["barrier_parameters"] += [(b.id, p.name, p.direction) for p in b.parameters]
        for a in self.agents.values():
            h = a.pk["human"]
            rows["agents"].append((a.id, a.name, a.agent_class, a.molecule, a.target, a.mw_kda,
                                   h.cl_l_per_h, h.v1_l, h.half_life_h))
        for f in self.formulations.values():
            rows["formulations"].append((f.id, f.name, f.carrier, f.material, f.size_nm, f.zeta_mv,
                                         f.ligand, f.release.k_blood_per_h, f.release.trigger))
        for t in self.therapies.values():
            rows["therapies"].append((t.id, t.name, t.description, t.formulation, self.carrier(t),
                                      t.route, t.dose.amount, t.dose.units, t.free_counterpart,
                                      t.assumptions))
            rows["therapy_agents"] += [(t.id, a, k) for k, a in enumerate(t.agents)]
            rows["therapy_barriers"] += [(t.id, b) for b in t.barriers]
            rows["therapy_claims"] += [(t.id, c.step, c.flux, c.direction) for c in t.claims]
            rows["therapy_effects"] += [(t.id, e.agent, e.parameter, e.mode, e.emax,
                                         e.ec50_nmol_per_l, e.hill, e.site, e.assumption,
                                         e.evidence_grade, ", ".join(e.fitted_in))
                                        for e in t.effects]
            rows["therapy_evidence"] += [(t.id, e) for e in t.evidence]
        for e in self.evidence.values():
            rows["evidence"].append((e.id, e.citation, e.doi, e.doi_verified, e.year, e.system,
                                     e.model_system, e.outcome))
        for r in self.regimens.values():
            rows["regimen_items"] += [(r.id, i.therapy, k) for k, i in enumerate(r.items)]
        for name, columns in _TABLES.items():
            con.execute(f"CREATE TABLE {name} ({columns})")
            if rows[name]:
                marks = ", ".join("?" * len(rows[name][0]))
                con.executemany(f"INSERT INTO {name} VALUES ({marks})", rows[name])
        for name, query in _VIEWS.items():
            con.execute(f"CREATE VIEW {name} AS {query}")
        return con

    # ------------------------------------------------------------------ queries
    def list_therapies(self) -> pd.DataFrame:
        """One row per therapy: id, name, formulation (carrier class or "free"), route, steps,
        barriers, agents, evidence (DOIs), free counterpart."""
        return self.sql("SELECT * FROM therapy_summary")

    def search(self, *, step: int | None = None, barrier: str | None = None,
               agent: str | None = None, carrier: str | None = None, route: str | None = None,
               text: str | None = None) -> pd.DataFrame:
        """Therapies matching every given filter (rows as :meth:`list_therapies`).

        Parameters
        ----------
        step : int, optional
            A step (1-7) the therapy claims.
        barrier, agent : str, optional
            A barrier or agent id the therapy lists.
        carrier : str, optional
            Carrier class (``"liposome"``, ``"free"``...).
        route : str, optional
            ``"iv"``, ``"sc"``, ``"it"``...
        text : str, optional
            Case-insensitive substring of the therapy's id, name or description, or of an
            agent or formulation name.
        """
        where, params = [], []
        for clause, value in (("list_contains(steps, ?)", None if step is None else int(step)),
                              ("list_contains(barriers, ?)", barrier),
                              ("list_contains(agents, ?)", agent),
                              ("formulation = ?", carrier), ("route = ?", route)):
            if value is not None:
                where.append(clause)
                params.append(value)
        if text is not None:
            where.append("""id IN (SELECT t.id FROM therapies t
                LEFT JOIN therapy_agents ta ON ta.therapy = t.id
                LEFT JOIN agents a ON a.id = ta.agent
                LEFT JOIN formulations f ON f.id = t.formulation
                WHERE lower(concat_ws(' ', t.id, t.name, t.description, a.name, f.name,
                                      f.material)) LIKE ?)""")
            params.append(f"%{text.lower()}%")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return self.sql(f"SELECT * FROM therapy_summary{clause}", params)

    def show(self, entry_id: str) -> dict:
        """Everything about one entry (a therapy, agent, formulation, barrier, evidence item,
        regimen or step number), with a therapy's references resolved."""
        for kind, table in (("therapy", self.therapies), ("agent", self.agents),
                            ("formulation", self.formulations), ("barrier", self.barriers),
                            ("evidence", self.evidence), ("regimen", self.regimens)):
            if entry_id in table:
                out = {"kind": kind, **table[entry_id].model_dump(mode="json")}
                if kind == "therapy":
                    t = table[entry_id]
                    out["carrier"] = self.carrier(t)
                    out["steps"] = t.steps
                    out["evidence_items"] = [self.evidence[e].model_dump(mode="json")
                                             for e in t.evidence]
                    out["barrier_names"] = {b: self.barriers[b].name for b in t.barriers}
                return out
        if entry_id.isdigit() and int(entry_id) in self.steps:
            return {"kind": "step", **self.steps[int(entry_id)].model_dump(mode="json")}
        raise KeyError(f"no catalog entry with id {entry_id!r}")


def load_catalog(path: str | Path | None = None, *, strict: bool = True) -> Catalog:
    """Load (and validate) a catalog folder; the packaged one is read once per process.

    Parameters
    ----------
    path : str or Path, optional
        Catalog folder (default: the packaged ``data/catalog``).
    strict : bool
        Raise :class:`CatalogError` if :func:`validate` finds problems; otherwise load what
        parsed.
    """
    if path is None:
        return _packaged(strict)
    return _load(Path(path), strict)


@lru_cache(maxsize=2)
def _packaged(strict: bool) -> Catalog:
    return _load(None, strict)


def _load(path: Path | None, strict: bool) -> Catalog:
    raw = read_catalog(path)
    problems = raw.problems + cross_check(raw)
    if (problems and strict) or raw.pk is None:
        raise CatalogError(problems or [Problem(str(raw.root), "pk.yaml", "missing")])
    e = raw.entries
    return Catalog(steps=e["steps"], barriers=e["barriers"], agents=e["agents"],
                   formulations=e["formulations"], therapies=e["therapies"],
                   evidence=e["evidence"], regimens=e["regimens"], pk=raw.pk, root=raw.root,
                   files=raw.files)


__all__ = ["Catalog", "CatalogError", "load_catalog"]
