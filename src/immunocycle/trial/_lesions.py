"""What a radiologist records of a simulated lesion: the detection limit per lesion site.

A simulated lesion shrinks smoothly toward zero and never reaches exactly 0 mm, while RECIST 1.1
(Eisenhauer et al., Eur J Cancer 2009, doi:10.1016/j.ejca.2008.10.026) scores a complete response
when every target lesion has disappeared (non-nodal lesions) or become normal (lymph nodes, short
axis < 10 mm). Each site of ``data/trial/recist.yaml`` turns a simulated size into the recorded one:

``ct`` (non-nodal lesion, longest diameter)
    Below ``detection_limit_mm`` (5 mm, one CT slice thickness) the lesion is not seen and is
    recorded as 0 mm (disappeared); at or above it, its size.
``lymph_node`` (short axis)
    Recorded at its short axis (RECIST 1.1 keeps a normal node's size in the sum); it counts as
    normal (gone for a complete response) below ``normal_below_mm`` (10 mm).

The rule has no memory: a lesion under its limit stays recorded as gone until it regrows to the
limit, where it is recorded at its size again, and RECIST 1.1 scores that regrowth against the nadir
(PD at >= 20 % and >= 5 mm over it). The same recorded values feed RECIST 1.1 and iRECIST.
Today's virtual patients have one lumped lesion at the ``default_site``; patients with several
lesions (issue #14) pass one column per lesion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from immunocycle._errors import DataError, InputError

__all__ = ["LesionSite", "default_site", "lesion_site", "lesion_sites", "record_lesions",
           "recorded_sizes"]


@dataclass(frozen=True)
class LesionSite:
    """How one lesion site is recorded.

    Attributes
    ----------
    name : str
        Site name (``"ct"``, ``"lymph_node"``).
    measure : str
        ``"longest diameter"`` or ``"short axis"``.
    detection_limit_mm : float
        Below this size (mm) the lesion is not seen and is recorded as 0 mm (0: always seen).
    normal_below_mm : float
        Below this size (mm) the lesion counts as normal and is recorded at its size (lymph nodes;
        0: never normal).
    source : str
    """

    name: str
    measure: str
    detection_limit_mm: float = 0.0
    normal_below_mm: float = 0.0
    source: str = ""


def _path():
    from immunocycle._paths import PACKAGE_DATA

    return PACKAGE_DATA / "trial" / "recist.yaml"


@cache
def _load() -> tuple[dict[str, LesionSite], str]:
    from immunocycle._inputs import load_yaml

    path = _path()
    raw = load_yaml(path.read_text()) or {}
    sites: dict[str, LesionSite] = {}
    for name, spec in (raw.get("sites") or {}).items():
        values = {}
        for key in ("detection_limit_mm", "normal_below_mm"):
            v = float(spec.get(key, 0.0))
            if not (math.isfinite(v) and v >= 0):
                raise DataError(f"{path}: sites.{name}.{key}: must be a number >= 0 mm, got {v!r}")
            values[key] = v
        sites[name] = LesionSite(name=name, measure=str(spec.get("measure", "")),
                                 source=str(spec.get("source", "")), **values)
    default = str(raw.get("default_site", ""))
    if default not in sites:
        raise DataError(f"{path}: default_site: {default!r} is not one of the sites {list(sites)}")
    return sites, default


def lesion_sites() -> dict[str, LesionSite]:
    """Every lesion site of ``data/trial/recist.yaml``, by name."""
    return dict(_load()[0])


def default_site() -> str:
    """Site of the lumped lesion of single-lesion virtual patients (``"ct"``)."""
    return _load()[1]


def lesion_site(name: str) -> LesionSite:
    """The :class:`LesionSite` called ``name``; InputError naming the known sites otherwise."""
    sites = _load()[0]
    if name not in sites:
        raise InputError(f"lesion site {name!r} is unknown; choose from {sorted(sites)}")
    return sites[name]


def recorded_sizes(diameters_mm, sites=None, *, allow_nan: bool = False
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Recorded size of each target lesion and whether every target lesion is gone, per assessment.

    The one implementation of the recording rule: :func:`record_lesions` sums its output, and the
    virtual trial calls it on every patient, lesion and scan at once.

    Parameters
    ----------
    diameters_mm : array_like, shape (..., n_lesions)
        Simulated size of each target lesion (mm: longest diameter, or short axis for lymph nodes);
        the last axis runs over lesions. A 1-D array is one lesion's series.
    sites : str, sequence or array of str, optional
        Site of each lesion (:func:`lesion_sites`): one name for all, one per lesion, or an array
        whose last axis runs over lesions and whose leading axes broadcast against those of
        ``diameters_mm`` (e.g. shape (patients, 1, n_lesions) for sizes of shape (patients,
        assessments, n_lesions)). ``""`` (padding) and None mean :func:`default_site`.
    allow_nan : bool, default False
        Accept non-finite sizes (a failed simulation): such a lesion is recorded as given, so its
        sum is not finite and it is never gone, for callers that screen those patients later.

    Returns
    -------
    (recorded_mm, gone) : tuple of ndarray
        ``recorded_mm`` (mm, shape of ``diameters_mm``; a 1-D input gains a last axis of 1): each
        lesion's recorded size, 0 mm for a non-nodal lesion under its detection limit; ``gone``
        (shape without the last axis): True where every lesion is under its detection limit or
        normal (the target part of a RECIST 1.1 complete response).

    Raises
    ------
    InputError
        No lesion, negative (or, without ``allow_nan``, non-finite) sizes, an unknown site, or
        sites that do not match the lesions.
    """
    d = np.asarray(diameters_mm, dtype=float)
    if d.ndim == 1:
        d = d[:, None]
    if d.ndim == 0 or d.shape[-1] == 0:
        raise InputError("diameters_mm: give at least one lesion (last axis)")
    if (not allow_nan and not np.all(np.isfinite(d))) or np.any(d < 0):
        raise InputError("diameters_mm: lesion sizes must be finite numbers >= 0 mm")
    names = np.asarray(default_site() if sites is None else sites, dtype=object)
    if names.ndim == 0:  # one site for every lesion
        names = np.full(d.shape[-1], names.item(), dtype=object)
    if names.ndim == 1 and names.size != d.shape[-1]:
        raise InputError(f"sites: {names.size} sites for {d.shape[-1]} lesions")
    if names.shape[-1] != d.shape[-1] or names.ndim > d.ndim or any(
            a not in (1, b) for a, b in zip(names.shape[::-1], d.shape[::-1], strict=False)):
        raise InputError(f"sites: shape {names.shape} does not match diameters_mm of shape "
                         f"{d.shape} (last axis: lesions)")
    # one look-up per distinct site name, not per lesion
    uniq, inverse = np.unique(np.where(names == "", default_site(), names).astype(str),
                              return_inverse=True)
    specs = [lesion_site(str(u)) for u in uniq]
    limit = np.array([s.detection_limit_mm for s in specs])[inverse].reshape(names.shape)
    normal = np.array([s.normal_below_mm for s in specs])[inverse].reshape(names.shape)
    hidden = d < limit  # not seen on the scan: recorded as 0 mm
    return np.where(hidden, 0.0, d), np.all(hidden | (d < normal), axis=-1)


def record_lesions(diameters_mm, sites: Sequence[str] | str | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Recorded sum of target lesions and whether every target lesion is gone, per assessment.

    Parameters
    ----------
    diameters_mm : array_like, shape (..., n_lesions)
        Simulated size of each target lesion (mm: longest diameter, or short axis for lymph nodes)
        at each assessment; the last axis runs over lesions. A 1-D array is one lesion's series.
    sites : str or sequence of str, optional
        Site of each lesion (:func:`lesion_sites`); one name for all. Default: :func:`default_site`.
        An array of sites per patient and lesion is accepted as in :func:`recorded_sizes`.

    Returns
    -------
    (sums_mm, gone) : tuple of ndarray
        ``sums_mm`` (mm): the sum of recorded sizes (0 mm for a non-nodal lesion under its
        detection limit); ``gone``: True where every lesion is under its detection limit or normal
        (the target part of a RECIST 1.1 complete response). Shapes: ``diameters_mm`` without its
        last axis (a 1-D input gives one value per assessment).

    Examples
    --------
    >>> s, g = record_lesions([40.0, 12.0, 4.0, 6.0], "ct")
    >>> s.tolist(), g.tolist()
    ([40.0, 12.0, 0.0, 6.0], [False, False, True, False])
    """
    recorded, gone = recorded_sizes(diameters_mm, sites)
    return recorded.sum(axis=-1), gone
