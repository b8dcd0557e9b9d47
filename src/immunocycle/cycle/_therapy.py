"""Therapies as data: an agent's PK, its dosing, and concentration-driven effects on parameters.

An effect ``{parameter: pd1_free, law: emax, emax: -1, ec50: 4, ec50_units: nmol/L, hill: 1,
concentration: tumor}`` replaces every use of ``pd1_free`` in the model's expressions by an
Assignment ``pd1_free_eff = pd1_free * (1 + emax * x**h / (1 + x**h))`` with ``x = c / ec50``
(``mode: add`` gives ``p + emax * ...`` with ``emax`` in the parameter's units, for a rate that
is zero without drug). Effects on the same parameter chain, so therapies combine by listing them.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from immunocycle.cycle._params import DATA_DIR, Params, packaged_file
from immunocycle.cycle._pk import antibody_pk, released_payload
from immunocycle.model import (
    Assignment,
    Compartment,
    Dose,
    Model,
    ModelError,
    Parameter,
    ParameterSpec,
    RateRule,
    Reaction,
    read_yaml,
    schedule,
)

THERAPY_DIR = DATA_DIR / "therapies"
_SITES = {"tumor": "conc_T", "lymph_node": "conc_LN", "central": "conc_C",
          "blood_free": "released_conc_C"}


class _Frozen(BaseModel):
    # allow_inf_nan=False: a dose or effect of .inf or .nan is refused, naming the field.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Effect(_Frozen):
    """A concentration-effect law acting on one model parameter."""

    parameter: str
    law: Literal["emax"] = "emax"
    mode: Literal["multiply", "add"] = "multiply"
    emax: float
    emax_units: str = "dimensionless"
    ec50: Annotated[float, Field(gt=0)]
    ec50_units: str = "nmol/L"
    hill: Annotated[float, Field(gt=0)] = 1.0
    #: ``central``: the agent in blood as delivered (carrier-bound + released); ``blood_free``:
    #: the free (released) payload in blood, where the free drug is the actor (marrow toxicity of
    #: a carried cytotoxic); the same as ``central`` for a free agent.
    concentration: Literal["tumor", "lymph_node", "central", "blood_free"] = "tumor"
    source: Annotated[str, Field(min_length=3)]
    #: Evidence grade of the effect size (measured_human, measured_mouse, inferred, assumption;
    #: None counts as assumption): the width of its prior in the trials' replicates.
    grade: Literal["measured_human", "measured_mouse", "inferred", "assumption"] | None = None
    #: Tumor types whose human trials a measured_human Emax was fitted to (elsewhere it counts
    #: as inferred in the replicates); empty: every tumor type.
    fitted_in: tuple[str, ...] = ()


class Dosing(_Frozen):
    """Dose per administration (mg, or mg/kg times the preset's body weight) and schedule (days).

    A cycle is ``count`` doses ``every`` days apart; ``cycles`` lists the days (from ``start``)
    on which each cycle begins, for regimens given in cycles and courses (high-dose IL-2: 14
    doses q8h, a second cycle 14 days later, courses repeated): the default is one cycle.
    """

    amount: Annotated[float, Field(ge=0)]
    units: Literal["mg", "mg/kg"]
    start: Annotated[float, Field(ge=0)] = 0.0
    every: Annotated[float, Field(gt=0)] = 14.0
    count: Annotated[int, Field(ge=1)] = 1
    cycles: tuple[Annotated[float, Field(ge=0)], ...] = (0.0,)
    duration: Annotated[float, Field(ge=0)] = 0.0
    route: Literal["iv", "ip"] = "iv"
    source: Annotated[str, Field(min_length=3)]

    @field_validator("cycles")
    @classmethod
    def _increasing(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(b <= a for a, b in pairwise(v)):
            raise ValueError(f"cycles must be a non-empty list of increasing days, got {list(v)}")
        return v

    def times(self) -> tuple[float, ...]:
        """All administration times (days from the start of treatment), in order; cycles that
        overlap give every dose they list."""
        within = schedule(0.0, self.every, self.count)
        return tuple(sorted(self.start + c + t for c in self.cycles for t in within))


class Therapy(_Frozen):
    """An agent with its PK, dosing and effects (one YAML file in ``data/cycle/therapies``).

    Attributes
    ----------
    name : str
        Identifier (file stem), also the prefix of the agent's model names.
    target : str
        Molecular target, for reports (``"PD-1"``).
    species : {"human", "mouse"}
        Physiology its PK parameters belong to.
    pk : mapping
        Antibody PK parameters (see :data:`immunocycle.cycle._pk.PK_PARAMETERS`).
    release : mapping, optional
        For a payload carried by a nanocarrier: its release in blood and the free agent's PK
        (see :data:`immunocycle.cycle._pk.RELEASE_PARAMETERS`); the model then has
        ``<name>_released_conc_C``, the released payload in blood. None: a free agent (free = total).
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    description: str = ""
    target: str
    species: Literal["human", "mouse"]
    pk: dict[str, ParameterSpec]
    dosing: Dosing
    effects: list[Effect]
    release: dict[str, ParameterSpec] | None = None

    def with_dosing(self, **changes) -> Therapy:
        """A copy with changed dosing (``every``, ``count``, ``amount``, ...)."""
        return self.model_copy(update={"dosing": self.dosing.model_copy(update=changes)})

    def apply(self, model: Model, params: Params) -> None:
        """Add this agent's PK states, doses and effects to ``model`` (in place)."""
        a = self.name
        antibody_pk(model, agent=a, pk=dict(self.pk), V_P=params["V_P"])
        if self.release is not None:
            released_payload(model, agent=a, release=dict(self.release))
        d = self.dosing
        model.add(Parameter(f"{a}_dose", d.amount, d.units, f"{a} dose per administration",
                            d.source))
        amount = f"{a}_dose / {a}_MW" if d.units == "mg" else f"{a}_dose * body_weight / {a}_MW"
        model.add(Dose(f"{a}_C", amount, d.times(), d.duration, f"{a}_dose"))
        for k, effect in enumerate(self.effects):
            site = effect.concentration
            if site == "blood_free" and self.release is None:
                site = "central"  # a free agent: its blood concentration is free drug
            apply_effect(model, effect, f"{a}_{_SITES[site]}", f"{a}_e{k}")


def apply_effect(model: Model, effect: Effect, concentration: str, label: str) -> str:
    """Replace uses of ``effect.parameter`` by a concentration-driven Assignment; return its name."""
    p = effect.parameter
    if p not in model.parameters:
        raise ModelError(model.source, f"effects.{label}", f"the model has no parameter {p!r}")
    current = p
    while f"{current}_eff" in model.assignments:  # an earlier effect on p: chain onto it
        current = f"{current}_eff"
    new = f"{current}_eff"
    unit = model.parameters[p].units
    model.add(
        Parameter(f"{label}_emax", effect.emax, effect.emax_units if effect.mode == "add" else
                  "dimensionless", f"maximal effect on {p}", effect.source),
        Parameter(f"{label}_ec50", effect.ec50, effect.ec50_units, "half-effect concentration",
                  effect.source),
    )
    # The Hill coefficient is written as a number: a symbolic exponent makes the symbolic
    # Jacobian divide by the concentration (h * x**h / x), which fails at zero drug.
    x = f"({concentration} / {label}_ec50)"
    xh = x if effect.hill == 1 else f"{x} ** {effect.hill!r}"
    frac = f"{xh} / (1 + {xh})"
    expr = (f"{current} * (1 + {label}_emax * {frac})" if effect.mode == "multiply"
            else f"{current} + {label}_emax * {frac}")
    _replace_symbol(model, current, new)
    model.add(Assignment(new, expr, unit, f"{p} under {label} (Emax, Hill {effect.hill:g})"))
    return new


def _replace_symbol(model: Model, old: str, new: str) -> None:
    pattern = re.compile(rf"\b{re.escape(old)}\b")

    def sub(text):
        return pattern.sub(new, text) if isinstance(text, str) else text

    for name, a in list(model.assignments.items()):
        model.assignments[name] = Assignment(a.name, sub(a.expression), a.units, a.description)
    for name, r in list(model.reactions.items()):
        model.reactions[name] = Reaction(r.name, sub(r.rate), dict(r.stoichiometry), r.description)
    for target, rule in list(model.rate_rules.items()):
        model.rate_rules[target] = RateRule(target, sub(rule.expression))
    for name, c in list(model.compartments.items()):
        model.compartments[name] = Compartment(c.name, sub(c.size), c.units, c.description)


def therapy_path(name: str | Path) -> Path:
    """The file of a packaged therapy (``"nivolumab"``) or a path given as is."""
    return packaged_file(name, THERAPY_DIR, "therapy", available_therapies)


def load_therapy(name: str | Path | Therapy) -> Therapy:
    """A packaged therapy by name (``"nivolumab"``), a therapy file, or a Therapy as is."""
    if isinstance(name, Therapy):
        return name
    return read_yaml(therapy_path(name), Therapy)


def available_therapies() -> list[str]:
    """Names of the packaged therapies."""
    return sorted(p.stem for p in THERAPY_DIR.glob("*.yaml"))


__all__ = ["Dosing", "Effect", "Therapy", "apply_effect", "available_therapies", "load_therapy"]
