"""The cancer-immunity cycle model: modules, presets, therapies, step fluxes, cycle gain, phenotype.

Build and simulate::

    from immunocycle.cycle import simulate_cycle
    res = simulate_cycle("inflamed", ["nivolumab"], days=84)
    res.summary()

The model follows QSP-IO (Sove et al. 2020, doi 10.1002/psp4.12546; Jafarnejad et al. 2019,
doi 10.1208/s12248-019-0350-x) and reports the seven step fluxes J1-J7 of Chen & Mellman (2013).
"""

from immunocycle.cycle._analysis import (
    FLUXES,
    LIMITING_STEP_METHOD,
    PHENOTYPES,
    STATE_INPUTS,
    cycle_gain,
    limiting_scores,
    limiting_step,
    phenotype,
    reference_ratios,
    state_ratios,
    step_leverage,
    transfer_ratios,
)
from immunocycle.cycle._antigen import antigen
from immunocycle.cycle._build import MODULES, build_cycle_model
from immunocycle.cycle._cancer import cancer
from immunocycle.cycle._checkpoint import checkpoints
from immunocycle.cycle._dendritic import dendritic_cells
from immunocycle.cycle._diagnosis import model_at_diagnosis
from immunocycle.cycle._effectors import effectors
from immunocycle.cycle._figures import plot_cycle_diagram, plot_tumor_diameter
from immunocycle.cycle._memory import memory
from immunocycle.cycle._microenvironment import microenvironment
from immunocycle.cycle._params import (
    PRESETS,
    preset_path,
    preset_species,
    resolve_preset,
    species_of,
)
from immunocycle.cycle._pk import antibody_pk
from immunocycle.cycle._pretreatment import Pretreatment, pretreatment_state
from immunocycle.cycle._priming import priming
from immunocycle.cycle._simulate import CycleResult, simulate_cycle
from immunocycle.cycle._suppression import suppression
from immunocycle.cycle._therapy import (
    Dosing,
    Effect,
    Therapy,
    apply_effect,
    available_therapies,
    load_therapy,
)
from immunocycle.cycle._treat import Treatment, compiled_cycle_model, treat

__all__ = [
    "FLUXES", "LIMITING_STEP_METHOD", "MODULES", "PHENOTYPES", "PRESETS", "STATE_INPUTS",
    "CycleResult", "Dosing",
    "Effect", "Pretreatment", "Therapy", "Treatment", "antibody_pk", "antigen", "apply_effect",
    "available_therapies", "build_cycle_model", "cancer", "checkpoints", "compiled_cycle_model",
    "cycle_gain", "dendritic_cells", "effectors", "limiting_scores", "limiting_step",
    "load_therapy", "memory", "microenvironment", "model_at_diagnosis", "phenotype", "plot_cycle_diagram",
    "plot_tumor_diameter",
    "preset_path", "preset_species", "pretreatment_state", "priming", "reference_ratios",
    "resolve_preset", "simulate_cycle", "species_of", "step_leverage", "suppression",
    "state_ratios", "transfer_ratios", "treat",
]
