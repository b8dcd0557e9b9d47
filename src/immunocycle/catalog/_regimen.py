"""Regimens: combinations of catalog therapies with their own schedules and loading doses,
turned into the cycle model's therapy list."""

from __future__ import annotations

from immunocycle.catalog._convert import to_cycle_therapy
from immunocycle.catalog._dose import ArmItem, parse_dose, with_override


def regimen_therapies(regimen_id: str, species: str = "human", *, catalog=None) -> list:
    """The cycle-model therapies of a regimen, ready for ``simulate_cycle(preset, therapies)``.

    A loading dose becomes a separate one-dose therapy named ``<id>_loading`` carrying the extra
    amount (``(factor - 1) x dose``) at the first administration; PK is linear, so the pools
    add (their Emax effects chain, an approximation when both are present). An item's ``dose``
    replaces the therapy's default dose (:func:`immunocycle.catalog.resolve_arm` units); an item
    with a ``phase`` (a later course of a therapy already listed) gets its own model names
    ``<id>_<phase>``, its effects chaining onto the first course's like a loading dose's.
    """
    from immunocycle.catalog._store import load_catalog

    cat = catalog or load_catalog()
    regimen = cat.regimens[regimen_id]
    out = []
    for item in regimen.items:
        entry = cat.therapy(item.therapy)
        if item.schedule is not None:
            entry = entry.model_copy(update={"schedule": item.schedule})
        therapy = to_cycle_therapy(entry, species, catalog=cat)
        if item.dose is not None:  # the regimen's own dose (e.g. nivolumab 1 mg/kg with ipi)
            therapy = with_override(therapy, ArmItem(
                name=item.therapy, dose=parse_dose(item.dose, where=regimen_id),
                text=f"regimen {regimen_id}: {item.therapy} {item.dose}"), float(cat.pk.km[species]))
        if item.phase is not None:  # a second course of the same therapy: its own model names
            therapy = therapy.model_copy(update={"name": f"{therapy.name}_{item.phase}"})
        out.append(therapy)
        if item.loading_dose_factor is not None and item.loading_dose_factor > 1:
            extra = therapy.dosing.amount * (item.loading_dose_factor - 1)
            out.append(therapy.model_copy(update={
                "name": f"{therapy.name}_loading",
                "dosing": therapy.dosing.model_copy(
                    update={"amount": extra, "count": 1, "cycles": (0.0,)})}))
    return out


__all__ = ["regimen_therapies"]
