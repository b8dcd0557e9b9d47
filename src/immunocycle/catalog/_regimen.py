"""Regimens: combinations of catalog therapies with their own schedules and loading doses,
turned into the cycle model's therapy list."""

from __future__ import annotations

from immunocycle.catalog._convert import to_cycle_therapy


def regimen_therapies(regimen_id: str, species: str = "human", *, catalog=None) -> list:
    """The cycle-model therapies of a regimen, ready for ``simulate_cycle(preset, therapies)``.

    A loading dose becomes a separate one-dose therapy named ``<id>_loading`` carrying the extra
    amount (``(factor - 1) x dose``) at the first administration; PK is linear, so the pools
    add (their Emax effects chain, an approximation when both are present).
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
        out.append(therapy)
        if item.loading_dose_factor is not None and item.loading_dose_factor > 1:
            extra = therapy.dosing.amount * (item.loading_dose_factor - 1)
            out.append(therapy.model_copy(update={
                "name": f"{therapy.name}_loading",
                "dosing": therapy.dosing.model_copy(update={"amount": extra, "count": 1})}))
    return out


__all__ = ["regimen_therapies"]
