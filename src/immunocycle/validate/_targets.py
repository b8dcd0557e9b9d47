"""Calibration targets and model constraints as data: ``data/validation/*.yaml``.

Every ``*.yaml`` file in the folder holds ``targets:``, a list of entries; each file may belong
to one contributor, so targets are added without editing anyone else's file. An entry::

    - id: checkmate066_nivolumab_orr          # unique over all files
      group: clinical                         # clinical | preclinical | delivery | pk | toxicity | constraint
      what: nivolumab ORR, 1st-line melanoma  # the quantity, in words
      source: "CheckMate 066, Robert 2015 NEJM 372:320"
      doi: 10.1056/NEJMoa1412082
      value: 0.40                             # the published figure (optional for constraints)
      units: fraction
      band: [0.333, 0.470]                    # or {wilson: [k, n]} or {relative: 0.25} or {at_most: 0.1}
      band_note: published 95% CI
      check: {kind: orr, cohort: melanoma, arm: nivolumab}
      status: active                          # or "not yet modelled" (with reason:)
      known_gap: "issue 14: ..."              # optional: an expected failure, reported, not fatal
      known_gap_run: full                     # optional: the gap shows in the full run only
      quick: false                            # optional: left out of --quick (listed as "full run only")

A ``check`` names a registered check kind (:func:`immunocycle.validate.check_kind`) and its
arguments.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from immunocycle._errors import InputError

#: The packaged targets.
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "validation"
GROUPS = ("clinical", "preclinical", "delivery", "pk", "toxicity", "constraint")


def wilson(k: float, n: float, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of ``k`` successes in ``n`` trials."""
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


class Target(BaseModel):
    """One calibration target or model constraint (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    group: Literal["clinical", "preclinical", "delivery", "pk", "toxicity", "constraint"]
    what: str
    source: str
    doi: str | None = None
    value: float | None = None
    units: str = ""
    band: Any = None
    band_note: str = ""
    check: dict[str, Any] = {}
    status: Literal["active", "not yet modelled"] = "active"
    reason: str | None = None
    known_gap: str | None = None
    #: ``full``: the known gap is seen only in the full run (a quick run checks a subset that
    #: must pass, and is scored as any target).
    known_gap_run: Literal["any", "full"] = "any"
    note: str = ""
    owner: str = "validate"
    quick: bool = True
    file: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not v or not all(c.isalnum() or c in "_-." for c in v):
            raise ValueError(f"id {v!r}: use letters, digits, '_', '-' or '.'")
        return v

    @model_validator(mode="after")
    def _complete(self) -> Target:
        if self.status == "active":
            if "kind" not in self.check:
                raise ValueError("check: give the check kind (check: {kind: ...})")
            self.interval()  # the band must be readable
        elif not self.reason:
            raise ValueError("reason: say why it is not yet modelled (which issue, what is missing)")
        return self

    def interval(self) -> tuple[float, float] | None:
        """The pass band ``(lo, hi)`` (inclusive) in the target's units."""
        b = self.band
        if b is None:
            if self.status == "active":
                raise ValueError("band: give the pass band ([lo, hi], {wilson: [k, n]}, "
                                 "{relative: f} or {at_most: x})")
            return None
        if isinstance(b, Sequence) and not isinstance(b, str) and len(b) == 2:
            lo, hi = float(b[0]), float(b[1])
        elif isinstance(b, dict) and set(b) == {"wilson"}:
            lo, hi = wilson(float(b["wilson"][0]), float(b["wilson"][1]))
        elif isinstance(b, dict) and set(b) == {"relative"}:
            if self.value is None:
                raise ValueError("band: {relative: f} needs value")
            f = float(b["relative"])
            lo, hi = self.value * (1 - f), self.value * (1 + f)
        elif isinstance(b, dict) and set(b) == {"at_most"}:
            lo, hi = -math.inf, float(b["at_most"])
        elif isinstance(b, dict) and set(b) == {"at_least"}:
            lo, hi = float(b["at_least"]), math.inf
        else:
            raise ValueError(f"band: {b!r} is not [lo, hi], {{wilson: [k, n]}}, {{relative: f}}, "
                             "{at_most: x} or {at_least: x}")
        if not lo <= hi:
            raise ValueError(f"band: low {lo} is above high {hi}")
        return lo, hi


def _read(path: Path) -> list[Target]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path.name}: not valid YAML ({exc})") from None
    entries = data.get("targets") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InputError(f"{path.name}: expected a mapping with a 'targets:' list")
    out = []
    for i, entry in enumerate(entries):
        where = f"{path.name}: targets[{i}]" + (f" ({entry.get('id')})" if isinstance(entry, dict)
                                               and entry.get("id") else "")
        if not isinstance(entry, dict):
            raise InputError(f"{where}: expected a mapping")
        try:
            out.append(Target(**{**entry, "file": path.name}))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise InputError(f"{where}{'.' + loc if loc else ''}: {err['msg']}") from None
    return out


def load_targets(paths: Sequence[str | Path] | None = None) -> list[Target]:
    """Every target of the given files or folders (default: the packaged
    ``data/validation/*.yaml``), in file order; ids must be unique."""
    files: list[Path] = []
    for p in [DATA_DIR] if paths is None else [Path(x) for x in paths]:
        if p.is_dir():
            files.extend(sorted(p.glob("*.yaml")))
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"--targets: {p} does not exist")
    targets: list[Target] = []
    seen: dict[str, str] = {}
    for f in files:
        for t in _read(f):
            if t.id in seen:
                raise InputError(f"{f.name}: target id {t.id!r} is also in {seen[t.id]}")
            seen[t.id] = f.name
            targets.append(t)
    return targets


__all__ = ["DATA_DIR", "GROUPS", "Target", "load_targets", "wilson"]
