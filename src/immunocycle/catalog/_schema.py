"""Schemas of the knowledge base: steps, barriers, agents, formulations, therapies, evidence,
regimens. Every entry is a frozen pydantic model that forbids unknown fields, so a typo in a
data file is an error with the file and field named, never a silently ignored key.

Cross-references (a therapy naming a barrier, an effect naming a cycle-model parameter) are
checked by :func:`immunocycle.catalog.validate`, which knows the whole catalog and the model.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from immunocycle.catalog._dose import parse_dose

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Source = Annotated[str, Field(min_length=3)]
StepNumber = Annotated[int, Field(ge=1, le=7)]
Flux = Annotated[str, Field(pattern=r"^J[1-7]$")]
Doi = Annotated[str, Field(pattern=r"^10\.\d{4,9}/\S+$")]

CARRIERS = ("liposome", "polymeric_np", "lipid_np", "nanodisc", "nanogel", "micelle", "polymersome",
            "inorganic_gold", "inorganic_mno2", "inorganic_silica", "inorganic_iron_oxide",
            "coordination_polymer", "cell_membrane", "cell_hitchhiking", "cyclodextrin_np",
            "polymer_conjugate", "protein_np")
Carrier = Literal[CARRIERS]  # type: ignore[valid-type]
Route = Literal["iv", "sc", "id", "it", "ip", "oral", "intranodal", "peritumoral"]
#: ``central``: the agent in blood as delivered (carrier-bound + released); ``blood_free``: the
#: free (released) payload in blood (the same as ``central`` for a free therapy).
Site = Literal["tumor", "lymph_node", "central", "blood_free"]
#: Evidence grades of an effect size, strongest first (``data/trial/uncertainty.yaml`` gives the
#: prior width of each).
GRADES = ("measured_human", "measured_mouse", "inferred", "assumption")
Grade = Literal[GRADES]  # type: ignore[valid-type]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(_Entry):
    """One of the seven steps of the cancer-immunity cycle (Chen & Mellman 2013).

    ``flux`` names the cycle-model flux that measures the step (cells or events per day).
    """

    id: StepNumber
    name: str
    where: str
    cells: list[str] = Field(min_length=1)
    compartments: list[Literal["tumor", "lymph_node", "blood", "peripheral"]] = Field(min_length=1)
    flux: Flux
    description: str
    evidence: list[Id] = Field(min_length=1)


class BarrierParameter(_Entry):
    """A cycle-model parameter through which a barrier acts, and which way it moves when the
    barrier is strong (``up``: the parameter is higher in a tumor with this barrier)."""

    name: str
    direction: Literal["up", "down"]
    note: str = ""


class Barrier(_Entry):
    """A biological mechanism that holds a step back (the "why")."""

    id: Id
    name: str
    steps: list[StepNumber] = Field(min_length=1)
    mechanism: str
    parameters: list[BarrierParameter] = Field(min_length=1)
    levers: list[str] = Field(default_factory=list)
    evidence: list[Id] = Field(min_length=1)


class Evidence(_Entry):
    """A citation with its model system and a reported outcome (with numbers)."""

    id: Id
    citation: str
    doi: Doi
    doi_verified: bool
    year: Annotated[int, Field(ge=1950, le=2030)]
    system: Literal["mouse", "human", "in_vitro", "review", "model", "guidance"]
    model_system: str
    outcome: str


class AgentPK(_Entry):
    """Free-drug plasma pharmacokinetics of an agent, as a (two-)compartment model.

    Oral agents give apparent values (CL/F, V/F). ``assumption`` is true when any number is
    not taken directly from the cited source.
    """

    cl_l_per_h: Annotated[float, Field(gt=0)]
    v1_l: Annotated[float, Field(gt=0)]
    q_l_per_h: Annotated[float, Field(ge=0)] = 0.0
    v2_l: Annotated[float, Field(ge=0)] = 0.0
    half_life_h: Annotated[float, Field(gt=0)] | None = None
    source: Source
    assumption: bool = False


class Agent(_Entry):
    """An active agent (antibody, cytokine, adjuvant, drug, enzyme, antigen...) with its PK."""

    id: Id
    name: str
    agent_class: Literal["antibody", "cytokine", "adjuvant", "chemotherapy", "photosensitizer",
                         "photothermal", "ido_inhibitor", "enzyme", "antigen", "small_molecule",
                         "catalyst"]
    molecule: Literal["antibody", "protein", "small_molecule", "peptide", "oligonucleotide",
                      "nanomaterial"]
    target: str
    mw_kda: Annotated[float, Field(gt=0)]
    pk: dict[Literal["human", "mouse"], AgentPK]
    evidence: list[Id] = Field(min_length=1)

    @model_validator(mode="after")
    def _human_pk(self) -> Agent:
        if "human" not in self.pk:
            raise ValueError("pk.human is required (the reference patient is human)")
        return self


class Loading(_Entry):
    agent: Id
    amount: str


class Release(_Entry):
    """First-order payload release (1/h): in blood (untriggered) and at the triggered site."""

    k_blood_per_h: Annotated[float, Field(ge=0)]
    k_site_per_h: Annotated[float, Field(ge=0)] | None = None
    trigger: Literal["none", "ph", "temperature", "light", "ros", "enzyme", "redox", "h2o2"] = "none"
    source: Source
    assumption: bool = False


class CarrierPK(_Entry):
    """The carrier's plasma PK in the reference human, and its tissue access relative to the
    ``nanoparticle`` class defaults (factors on q_T, gamma_T, q_LN, gamma_LN)."""

    cl_l_per_h: Annotated[float, Field(gt=0)]
    v1_l: Annotated[float, Field(gt=0)]
    q_tumor_factor: Annotated[float, Field(gt=0)] = 1.0
    gamma_tumor_factor: Annotated[float, Field(gt=0)] = 1.0
    q_ln_factor: Annotated[float, Field(gt=0)] = 1.0
    gamma_ln_factor: Annotated[float, Field(gt=0)] = 1.0
    source: Source
    assumption: bool = False
    note: str = ""


class Formulation(_Entry):
    """A carrier: class, material, size, surface, ligand, loading, release, routes, PK."""

    id: Id
    name: str
    carrier: Carrier
    material: str
    size_nm: Annotated[float, Field(gt=0, le=1000)]
    zeta_mv: float | None = None
    surface: list[str] = Field(default_factory=list)
    ligand: str | None = None
    loading: list[Loading] = Field(default_factory=list)
    release: Release
    routes: list[Route] = Field(min_length=1)
    carrier_pk: CarrierPK
    evidence: list[Id] = Field(min_length=1)


class DoseSpec(_Entry):
    """Dose per administration of the primary agent, as studied (species), with the molar amount
    of each co-loaded agent per mole of the primary agent."""

    agent: Id
    amount: Annotated[float, Field(gt=0)]
    units: Literal["mg", "mg/kg", "mg/m2"]
    species_studied: Literal["human", "mouse"]
    co_loading: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    source: Source


class Schedule(_Entry):
    """Administration times (days from the start of treatment)."""

    label: str = ""
    start: Annotated[float, Field(ge=0)] = 0.0
    every: Annotated[float, Field(gt=0)] = 21.0
    count: Annotated[int, Field(ge=1)] = 1
    #: Days (from ``start``) on which each cycle of ``count`` doses begins (one cycle by default).
    cycles: tuple[Annotated[float, Field(ge=0)], ...] = (0.0,)
    duration: Annotated[float, Field(ge=0)] = 0.0


class TherapyEffect(_Entry):
    """An Emax/Hill effect of one agent on a cycle-model parameter, driven by the concentration
    of the agent (free or as delivered by its carrier) at ``site`` (nmol/L)."""

    agent: Id
    parameter: str
    mode: Literal["multiply", "add"] = "multiply"
    emax: float
    ec50_nmol_per_l: Annotated[float, Field(gt=0)]
    hill: Annotated[float, Field(gt=0)] = 1.0
    site: Site = "tumor"
    source: Source
    assumption: bool = False
    grade: Grade | None = None
    #: Tumor types (cohort ``tumor_type``) of the human trial arms a ``measured_human`` Emax was
    #: fitted to; in any other tumor type the effect counts as ``inferred`` (a wider prior, see
    #: ``data/trial/uncertainty.yaml``). Empty: the measurement holds in every tumor type (a
    #: binding constant).
    fitted_in: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _grade(self) -> TherapyEffect:
        if self.assumption and self.grade in ("measured_human", "measured_mouse"):
            raise ValueError(f"grade {self.grade!r} contradicts assumption: true (use inferred "
                             "or assumption)")
        if self.fitted_in and self.grade != "measured_human":
            raise ValueError(f"fitted_in is for a measured_human effect (grade {self.grade!r})")
        return self

    @property
    def evidence_grade(self) -> str:
        """The effect's grade: as given, else ``assumption`` (the widest prior) for an
        assumption and ``inferred`` for anything else."""
        if self.grade is not None:
            return self.grade
        return "assumption" if self.assumption else "inferred"


class Claim(_Entry):
    """A step the therapy acts on, the flux that should move, and which way."""

    step: StepNumber
    flux: Flux
    direction: Literal["increase", "decrease"] = "increase"


class Liability(_Entry):
    """A toxicity liability: which exposure drives which adverse event."""

    exposure: Literal["blood_free_auc", "blood_free_cmax", "peripheral_effector_expansion",
                      "systemic_cytokine", "organ_exposure", "local"]
    adverse_event: str
    organ: str | None = None
    grade3_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    source: Source


class Unbound(_Entry):
    """The payload's unbound fraction in plasma as given (formulation-dependent: Cremophor EL
    micelles trap paclitaxel, albumin-bound particles do not). Only unbound drug acts, so the
    therapy's EC50s are unbound-drug potencies (IC50s), applied to total drug divided by this."""

    fraction: Annotated[float, Field(gt=0, le=1)]
    source: Source


class Therapy(_Entry):
    """A therapy: agents in one formulation (or free), route, dose, schedule, effects, claims.

    Agents listed together share one carrier (co-encapsulation) and hence one PK; free
    combinations are :class:`Regimen` entries instead.
    """

    id: Id
    name: str
    description: str = ""
    agents: list[Id] = Field(min_length=1)
    formulation: Id
    route: Route
    dose: DoseSpec
    schedule: Schedule
    effects: list[TherapyEffect] = Field(min_length=1)
    claims: list[Claim] = Field(min_length=1)
    barriers: list[Id] = Field(min_length=1)
    toxicity: list[Liability] = Field(default_factory=list)
    evidence: list[Id] = Field(min_length=1)
    free_counterpart: Id | None = None
    unbound: Unbound | None = None
    assumptions: str = ""

    @property
    def is_free(self) -> bool:
        return self.formulation == "free"

    @property
    def steps(self) -> list[int]:
        return sorted({c.step for c in self.claims})

    @model_validator(mode="after")
    def _consistent(self) -> Therapy:
        if len(self.agents) > 1 and self.formulation == "free":
            raise ValueError("several agents share one carrier only: a free combination is a "
                             "regimen of single-agent therapies")
        if self.dose.agent != self.agents[0]:
            raise ValueError(f"dose.agent {self.dose.agent!r} must be the first (primary) agent "
                             f"{self.agents[0]!r}")
        for e in self.effects:
            if e.agent not in self.agents:
                raise ValueError(f"effect on {e.parameter!r} names agent {e.agent!r} not in agents")
            if e.agent != self.agents[0] and e.agent not in self.dose.co_loading:
                raise ValueError(f"co-loaded agent {e.agent!r} needs dose.co_loading (mol per mol "
                                 f"of {self.agents[0]!r})")
        return self


class RegimenItem(_Entry):
    """A therapy of a regimen with, optionally, its own dose (``"1mg/kg"``, the arm syntax's
    units), schedule, loading-dose factor and a ``phase`` suffix naming a second course of the
    same therapy (``maintenance``: the model tracks it as ``<id>_maintenance``)."""

    therapy: Id
    dose: str | None = None
    schedule: Schedule | None = None
    loading_dose_factor: Annotated[float, Field(gt=0)] | None = None
    phase: Id | None = None

    @field_validator("dose")
    @classmethod
    def _dose_units(cls, value: str | None) -> str | None:
        if value is not None:
            parse_dose(value, where="dose")
        return value


class Regimen(_Entry):
    """A combination of catalog therapies, each optionally with its own schedule (Q2W, Q3W,
    a loading dose...), simulated together."""

    id: Id
    name: str
    items: list[RegimenItem] = Field(min_length=1)
    description: str = ""
    evidence: list[Id] = Field(min_length=1)


KINDS: dict[str, type[_Entry]] = {
    "steps": Step, "barriers": Barrier, "agents": Agent, "formulations": Formulation,
    "therapies": Therapy, "evidence": Evidence, "regimens": Regimen,
}

__all__ = ["GRADES", "KINDS", "Agent", "AgentPK", "Barrier", "BarrierParameter", "CarrierPK", "Claim",
           "DoseSpec", "Evidence", "Formulation", "Liability", "Loading", "Regimen",
           "RegimenItem", "Release", "Schedule", "Step", "Therapy", "TherapyEffect", "Unbound"]
