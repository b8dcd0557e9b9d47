"""The knowledge base: steps, barriers, agents, formulations, therapies and evidence as
validated data, an embedded DuckDB store to query them, and the link to the cycle model.

    from immunocycle.catalog import load_catalog, to_cycle_therapy
    cat = load_catalog()
    cat.search(step=7, carrier="cyclodextrin_np")
    therapy = to_cycle_therapy("cdnp_r848")          # an immunocycle.cycle.Therapy
    arm = resolve_arm("doxil@40mg/m2:q28d+nivolumab")  # any name, dose and schedule
"""

from immunocycle.catalog._arm import (
    default_dosing,
    dosing_text,
    resolve_arm,
    resolve_therapy,
    therapy_names,
)
from immunocycle.catalog._convert import (
    cycle_pk,
    dose_in,
    free_counterpart,
    paired_free_therapy,
    release_pk,
    to_cycle_therapy,
)
from immunocycle.catalog._dose import ArmItem, parse_dose, parse_item, parse_schedule
from immunocycle.catalog._load import DATA_DIR, Problem, validate
from immunocycle.catalog._organs import OrganFactors, organ_factors, organs
from immunocycle.catalog._regimen import regimen_therapies
from immunocycle.catalog._schema import (
    GRADES,
    Agent,
    Barrier,
    Evidence,
    Formulation,
    Regimen,
    Step,
    Therapy,
)
from immunocycle.catalog._simulate import (
    CatalogRun,
    compare_free_nano,
    effect_slots,
    null_release,
    padded_therapy,
    schedule_key,
    simulate_catalog,
)
from immunocycle.catalog._store import Catalog, CatalogError, load_catalog

__all__ = [
    "GRADES", "Agent", "ArmItem", "Barrier", "Catalog", "CatalogError", "CatalogRun", "DATA_DIR",
    "Evidence", "Formulation", "OrganFactors", "Problem", "Regimen", "Step", "Therapy", "compare_free_nano",
    "cycle_pk", "default_dosing", "dose_in", "dosing_text", "effect_slots", "free_counterpart",
    "load_catalog", "null_release", "organ_factors", "organs", "padded_therapy", "paired_free_therapy",
    "parse_dose", "parse_item", "parse_schedule", "regimen_therapies", "release_pk", "resolve_arm",
    "resolve_therapy", "schedule_key",
    "simulate_catalog", "therapy_names", "to_cycle_therapy", "validate",
]
