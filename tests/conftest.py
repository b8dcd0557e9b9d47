"""Shared test fixtures: the one gate for tests that need a shared (downloaded) data set."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from immunocycle._datasets import datasets
from immunocycle._paths import dataset_dir


@pytest.fixture(scope="session")
def shared_data() -> Callable[[str], Path]:
    """A function giving the folder of a shared data set (``shared_data("nanotumor")``).

    Where the data set is missing (a fresh clone without ``../shared``) the test is skipped with
    a reason that says how to get it; under CI (``CI`` set) a missing data set is a failure, so
    CI always runs every test.
    """

    def get(name: str) -> Path:
        try:
            return dataset_dir(name)
        except FileNotFoundError as exc:
            if os.environ.get("CI"):
                pytest.fail(f"CI is set but the shared data set {name!r} is missing: {exc}")
            fetch = (f"run `immunocycle data fetch {name}` or " if name in datasets() else "")
            pytest.skip(f"needs the shared data set {name!r}: {fetch}set "
                        f"IMMUNOCYCLE_SHARED_DATA to a folder holding {name}/")

    return get


@pytest.fixture(scope="session", autouse=True)
def few_replicates():
    """Trials and designs draw 3 effect-size replicates in tests (20 by default): enough to
    exercise the prediction intervals, cheap enough for the suite. ``tests/test_uncertainty.py``
    checks the packaged default itself."""
    import dataclasses

    import immunocycle.trial
    from immunocycle.trial import _uncertainty

    real = _uncertainty.load_priors()
    few = dataclasses.replace(real, replicates=3)
    with pytest.MonkeyPatch.context() as mp:
        for module in (_uncertainty, immunocycle.trial):
            mp.setattr(module, "load_priors", lambda: few)
        yield
