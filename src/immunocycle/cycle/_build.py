"""Assemble the cancer-immunity cycle model from its modules, a preset and therapies."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from immunocycle.cycle._antigen import antigen
from immunocycle.cycle._cancer import cancer
from immunocycle.cycle._checkpoint import checkpoints
from immunocycle.cycle._chemo import chemotherapy
from immunocycle.cycle._dendritic import dendritic_cells
from immunocycle.cycle._effectors import effectors
from immunocycle.cycle._memory import memory
from immunocycle.cycle._microenvironment import microenvironment
from immunocycle.cycle._params import add_parameters, resolve_preset, species_of
from immunocycle.cycle._priming import priming
from immunocycle.cycle._suppression import suppression
from immunocycle.cycle._therapy import Therapy, load_therapy
from immunocycle.model import Assignment, Model, ModelError

MODULES = (cancer, antigen, dendritic_cells, priming, effectors, memory, suppression,
           microenvironment, checkpoints, chemotherapy)


def build_cycle_model(preset: str | Path = "human", therapies: Iterable[str | Therapy] = (),
                      *, name: str | None = None) -> Model:
    """The cancer-immunity cycle model for a preset, with the given therapies added.

    Parameters
    ----------
    preset : str or path
        ``"human"``, ``"mouse"``, an archetype (``"inflamed"``, ``"excluded"``, ``"desert"``) or a
        parameter-set file.
    therapies : iterable of str or Therapy
        Packaged therapy names (``"nivolumab"``), therapy files, or :class:`Therapy` objects; each
        adds its PK states, its doses (times in days from the start of treatment) and its effects.
    name : str, optional
        Model name (default ``cycle_<preset>[_<therapies>]``).

    Returns
    -------
    Model
        A plain, checked :class:`~immunocycle.model.Model` (exportable to SBML), whose species
        start from a small untreated tumor; see :func:`pretreatment_state` for diagnosis.
    """
    params, _ = resolve_preset(preset)
    loaded = [load_therapy(t) for t in therapies]
    label = Path(str(preset)).stem
    model = Model(name or "_".join(["cycle", label, *[t.name for t in loaded]]), "day",
                  source=f"immunocycle.cycle preset {label!r}",
                  description="cancer-immunity cycle (seven steps) after QSP-IO (Sove 2020)")
    for module in MODULES:
        model.extend(module, params=params)
    add_parameters(model, params, ("body_weight",), "build")
    model.add(
        # Exhausted cells count: the immunohistochemistry that defines the phenotypes
        # (CD8 per mm2, Immunoscore) stains CD8 whatever its PD-1 state.
        Assignment("density_parenchyma", "(T_E_P + T_X) / tumor_volume", "cell/mm**3",
                   "tumor-specific CD8 density in the tumor parenchyma (effector and exhausted)"),
        Assignment("density_margin", "T_E_M / tumor_volume", "cell/mm**3",
                   "effector CD8 held at the margin, per tumor volume"),
    )
    species = species_of(params)
    for therapy in loaded:
        if therapy.name in {t.name for t in loaded if t is not therapy}:
            raise ModelError(model.source, "therapies", f"{therapy.name!r} listed twice")
        if therapy.species != species:
            raise ModelError(model.source, f"therapies.{therapy.name}",
                             f"a {therapy.species} therapy cannot be given to the {species} preset "
                             f"{label!r}; choose one of the {species} therapies")
        therapy.apply(model, params)
    model.check()
    return model


__all__ = ["MODULES", "build_cycle_model"]
