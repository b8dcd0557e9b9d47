"""Check kinds: how the model computes the value a target is compared with.

A check kind is one function ``kind(check, ctx) -> Measurement`` registered by name::

    from immunocycle.validate import Measurement, check_kind

    @check_kind("pk_half_life")
    def _half_life(check, ctx):
        '''Blood half-life (h) of a catalog formulation in the human PBPK.'''
        ...
        return Measurement(value=h, detail="liposomal_irinotecan, 70 mg/m2")

``check`` is the target's ``check:`` mapping (``kind`` and its arguments); ``ctx`` is the
:class:`Context` of the run (``quick``, ``seed`` and shared, cached simulations such as
:meth:`Context.trial`). A kind whose model capability is missing raises :class:`NotModelled`
(shown as "not yet modelled", never as a pass). Every kind runs the public APIs at the values the
other commands use (the packaged presets, catalog and ``data/cohorts/fitted.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from immunocycle._errors import InputError


@dataclass(frozen=True)
class Measurement:
    """A model value: ``value`` (target units), optional sampling ``interval`` (95 %), the
    ``n`` it rests on and a short ``detail`` (which arm, which worst case)."""

    value: float
    interval: tuple[float, float] | None = None
    n: int | None = None
    detail: str = ""


class NotModelled(Exception):  # noqa: N818 (a status, not an error)
    """The model cannot compute this quantity yet (the message says what is missing)."""


CheckFunction = Callable[[Mapping[str, Any], "Context"], Measurement]
#: The registered check kinds, by name.
KINDS: dict[str, CheckFunction] = {}


def check_kind(name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check kind under ``name`` (a decorator)."""

    def register(func: CheckFunction) -> CheckFunction:
        if name in KINDS and KINDS[name] is not func:
            raise ValueError(f"check kind {name!r} is registered twice")
        KINDS[name] = func
        return func

    return register


def arg(check: Mapping[str, Any], name: str, default: Any = ...) -> Any:
    """A check argument, with an error naming it when it is missing."""
    if name in check:
        return check[name]
    if default is ...:
        raise InputError(f"check {check.get('kind')!r}: give '{name}'")
    return default


@dataclass
class Context:
    """One validation run: its size and the simulations shared between targets.

    Attributes
    ----------
    quick : bool
        Small samples (CI); the full run uses the calibration's sizes.
    seed : int
        Patients, mice and caliper noise (the calibration uses 0).
    n_trial : int
        Virtual patients per cohort (the cohort calibration used 1000, seed 0, 365 days).
    days : float
        Trial follow-up (days), as the calibration.
    arms : mapping cohort -> arms
        Every arm the targets ask of a cohort, so each cohort is simulated once with all of them
        on the same patients.
    """

    quick: bool = False
    seed: int = 0
    n_trial: int = 1000
    days: float = 365.0
    arms: dict[str, list[str]] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)
    log: Callable[[str], None] | None = None

    def say(self, text: str) -> None:
        if self.log:
            self.log(text)

    def want_arms(self, cohort: str, arms: Sequence[str]) -> None:
        """Plan: simulate these arms of ``cohort`` together with the others asked for."""
        have = self.arms.setdefault(cohort, [])
        for a in arms:
            if a not in have:
                have.append(a)

    def patients(self, cohort: str, arm: str) -> pd.DataFrame:
        """The trial rows of ``cohort`` (one per patient and arm) with ``arm`` among its arms:
        :func:`immunocycle.trial.make_task` at the cohort's fitted values."""
        self.want_arms(cohort, [arm])
        arms = tuple(self.arms[cohort])
        key = ("trial", cohort)
        cached = self.cache.get(key)
        if cached is None or arm not in cached[0]:
            from immunocycle.trial import make_task

            self.say(f"trial {cohort}: {', '.join(arms)} ({self.n_trial} patients)")
            task = make_task(cohort, list(arms), seed=self.seed, days=self.days)
            chunk = 250
            frames = [task(s, min(chunk, self.n_trial - s)) for s in range(0, self.n_trial, chunk)]
            cached = (arms, pd.concat(frames, ignore_index=True))
            self.cache[key] = cached
        return cached[1]

    def arm_summary(self, cohort: str, arm: str, reference: str | None = None) -> dict[str, Any]:
        """:func:`immunocycle.trial.summarize_trial` of ``arm`` (hazard ratio vs ``reference``)."""
        from immunocycle.trial import summarize_trial

        key = ("summary", cohort, arm, reference)
        if key not in self.cache:
            frame = self.patients(cohort, arm)
            if reference is not None:
                self.patients(cohort, reference)
                frame = self.patients(cohort, arm)
            arms = [reference, arm] if reference else [arm]
            sub = frame[frame["arm"].isin(arms)]
            summary = summarize_trial(sub, arms, seed=self.seed)
            self.cache[key] = next(a for a in summary["arms"] if a["name"] == arm)
        return self.cache[key]


__all__ = ["KINDS", "CheckFunction", "Context", "Measurement", "NotModelled", "arg", "check_kind"]
