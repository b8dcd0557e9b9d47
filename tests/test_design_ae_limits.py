"""Per-AE-type limits of design (issue 15): ``--ae-limit hepatotoxicity=0.1`` besides the overall
limit, parsed with clear errors."""

from __future__ import annotations

import pytest

from immunocycle.design._rank import rank, within_limits

ARMS = [
    {"regimen": "a", "orr": 0.4, "median_pfs_days": 100.0, "ae_grade3plus_rate": 0.2,
     "ae_by_type": {"hepatotoxicity": 0.15, "colitis": 0.05}},
    {"regimen": "b", "orr": 0.3, "median_pfs_days": 90.0, "ae_grade3plus_rate": 0.25,
     "ae_by_type": {"hepatotoxicity": 0.02, "colitis": 0.2}},
]


def test_type_limit_excludes_the_arm_over_it():
    ranked, _ = rank(ARMS, {"hepatotoxicity": 0.1})
    assert [a["regimen"] for a in ranked] == ["b"]
    ranked, _ = rank(ARMS, {"hepatotoxicity": 0.1, "any": 0.2})
    assert ranked == []
    assert [a["regimen"] for a in rank(ARMS, 0.22)[0]] == ["a"]
    assert within_limits(ARMS[0], None) and not within_limits(ARMS[1], {"colitis": 0.1})


def test_parse_ae_limit():
    import click

    from immunocycle._commands.design import _parse_ae_limit

    assert _parse_ae_limit("0.3") == 0.3
    assert _parse_ae_limit("hepatotoxicity=0.1,any=0.3") == {"hepatotoxicity": 0.1, "any": 0.3}
    with pytest.raises((SystemExit, click.exceptions.Exit, Exception)):
        _parse_ae_limit("hepatotoxicity=lots")


def test_design_rejects_unknown_type():
    from immunocycle._errors import InputError
    from immunocycle.design import design

    with pytest.raises(InputError, match="unknown AE type"):
        design("excluded", ae_limit={"livr": 0.1}, n=1, budget=1)
