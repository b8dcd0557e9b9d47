"""Trial arms of any catalog therapy or regimen: the arm syntax, its unit checks, the one lookup
and its close matches, and the command line's one-line errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from immunocycle._errors import InputError
from immunocycle.catalog import (
    default_dosing,
    load_catalog,
    parse_dose,
    parse_item,
    parse_schedule,
    resolve_arm,
    resolve_therapy,
)

runner = CliRunner()


@pytest.mark.parametrize(("text", "expected"), [
    ("40mg/m2", (40.0, "mg/m2")),
    ("3 mg/kg", (3.0, "mg/kg")),
    ("240mg", (240.0, "mg")),
    ("200ug", (0.2, "mg")),
    ("0.5g", (500.0, "mg")),
    ("1.2g/m2", (1200.0, "mg/m2")),
])
def test_doses_are_read_and_converted_by_pint(text, expected):
    amount, units = parse_dose(text)
    assert amount == pytest.approx(expected[0]) and units == expected[1]


@pytest.mark.parametrize(("text", "match"), [
    ("40", "has no units"),
    ("40mL", "not a mass"),
    ("3ppm", "not a mass"),
    ("5mg/L", "not a mass"),
    ("-3mg", "> 0"),
    ("3 zorkmids", "cannot read"),
    ("mg", "no amount"),
])
def test_bad_doses_are_refused_naming_the_item(text, match):
    with pytest.raises(InputError, match=rf"doxil: .*{match}"):
        parse_dose(text, item="doxil")


def test_schedules_and_items():
    assert parse_schedule("q2w") == (14.0, None)
    assert parse_schedule("q28d") == (28.0, None)
    assert parse_schedule("Q3W*4") == (21.0, 4)
    for bad in ("every3w", "q0d", "q3w*0", "q3m", "3w"):
        with pytest.raises(InputError, match="schedule"):
            parse_schedule(bad)
    item = parse_item("ipilimumab@3mg/kg:q3w*4")
    assert (item.name, item.dose, item.every, item.count) == ("ipilimumab", (3.0, "mg/kg"),
                                                              21.0, 4)
    assert parse_item("nivolumab").dose is None


def test_an_arm_mixes_cycle_antibodies_catalog_therapies_and_overrides():
    cat = load_catalog()
    doxil, nivo = resolve_arm("doxil@40mg/m2:q28d+nivolumab@240mg:q2w", catalog=cat)
    # mg/m2 -> mg/kg through the human Km factor (pk.yaml), the catalog's dose convention
    assert doxil.dosing.units == "mg/kg"
    assert doxil.dosing.amount == pytest.approx(40.0 / cat.pk.km["human"])
    assert doxil.dosing.every == 28.0
    default = resolve_therapy("doxil", catalog=cat).dosing
    assert doxil.dosing.amount < default.amount  # 40 below the label's 50 mg/m2
    assert (nivo.name, nivo.dosing.amount, nivo.dosing.units) == ("nivolumab", 240.0, "mg")
    # without *K the default treatment span is kept (26 doses Q2W -> 26 doses Q2W)
    assert nivo.dosing.count == 26
    (ipi,) = resolve_arm("ipilimumab@3mg/kg:q3w*4")
    assert (ipi.dosing.every, ipi.dosing.count) == (21.0, 4)
    assert resolve_arm("untreated") == []


def test_a_regimen_arm_uses_the_regimens_own_doses():
    therapies = {t.name: t.dosing for t in resolve_arm("nivolumab_ipilimumab")}
    assert therapies["nivolumab_free"].amount == 1.0 and therapies["nivolumab_free"].count == 4
    assert therapies["ipilimumab_free"].amount == 3.0
    assert therapies["nivolumab_free_maintenance"].amount == 3.0
    assert therapies["nivolumab_free_maintenance"].every == 14.0
    assert any("1 mg/kg every 21 d x 4" in line for line in default_dosing("nivolumab_ipilimumab"))
    with pytest.raises(InputError, match="is a regimen"):
        resolve_arm("nivolumab_ipilimumab@1mg/kg")


def test_unknown_names_list_close_matches_once():
    with pytest.raises(InputError) as err:
        resolve_arm("doxill+nivolumab")
    text = str(err.value)
    assert "doxil" in text.split("did you mean")[1] and text.count("unknown therapy") == 1
    with pytest.raises(InputError, match="twice"):
        resolve_arm("nivolumab+nivolumab")
    with pytest.raises(InputError, match="mouse therapy"):
        resolve_arm("anti_pd1_mouse")  # a mouse antibody in a human arm
    (mouse,) = resolve_arm("anti_pd1_mouse", "mouse")
    assert mouse.species == "mouse"


@pytest.mark.parametrize(("arm", "match"), [
    ("nivolumb", "unknown therapy 'nivolumb' (did you mean nivolumab"),
    ("doxil@40", "doxil: the dose '40' has no units"),
    ("doxil@40mg/m2:every3w", "doxil: cannot read the schedule 'every3w'"),
])
def test_the_trial_command_refuses_bad_arms_in_one_line(arm, match, tmp_path):
    from immunocycle.cli import app

    res = runner.invoke(app, ["trial", "--cohort", "melanoma", "--arm", "nivolumab", "--arm", arm,
                              "--n", "2", "--out", str(tmp_path / "t")])
    assert res.exit_code == 2
    assert match in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_catalog_show_prints_the_default_dose_and_schedule():
    import json

    from immunocycle.cli import app

    shown = json.loads(runner.invoke(app, ["catalog", "show", "nivolumab_ipilimumab", "--json"])
                       .stdout)
    assert "nivolumab_free 1 mg/kg every 21 d x 4 from day 0" in shown["default_dosing"]
    card = runner.invoke(app, ["catalog", "show", "paclitaxel"], env={"COLUMNS": "200"}).stdout
    assert "paclitaxel 4.73 mg/kg every 21 d x 17 from day 0" in card  # 175 mg/m2 / Km 37
    assert "unbound fraction" in card and "0.024" in card


def test_a_regimen_given_in_cycles_and_courses_doses_every_cycle():
    """High-dose IL-2 is given as a course of two 5-day cycles (14 doses q8h, days 1 and 15,
    Atkins 1999 and the Proleukin label), repeated: every cycle's doses reach the model, the
    plasma exposure that drives toxicity, and the dosing text; a schedule given in the arm
    replaces the whole pattern."""
    from pydantic import ValidationError

    from immunocycle.catalog import dosing_text
    from immunocycle.cycle import Dosing, build_cycle_model
    from immunocycle.trial._organ_toxicity import plasma_exposure

    d = Dosing(amount=1.0, units="mg", start=2.0, every=1.0, count=3, cycles=(0.0, 14.0),
               source="test")
    assert d.times() == (2.0, 3.0, 4.0, 16.0, 17.0, 18.0)
    with pytest.raises(ValidationError, match="cycles"):
        Dosing(amount=1.0, units="mg", cycles=(0.0, 14.0, 14.0), source="test")
    (il2,) = resolve_arm("aldesleukin_free")
    cycles = il2.dosing.cycles
    assert len(cycles) >= 2 and cycles[1] == 14.0
    times = il2.dosing.times()
    assert len(times) == 14 * len(cycles)
    dose = build_cycle_model("human", [il2]).doses[0]
    assert dose.times == times
    one = il2.with_dosing(cycles=(0.0,))
    auc_all = plasma_exposure(il2, 365.0).auc[-1]
    auc_one = plasma_exposure(one, 365.0).auc[-1]
    assert auc_all == pytest.approx(len(cycles) * auc_one, rel=1e-6)
    assert "in cycles from days 0, 14" in dosing_text(il2)
    (given,) = resolve_arm("aldesleukin_free:q1d*5")
    assert given.dosing.cycles == (0.0,) and len(given.dosing.times()) == 5
