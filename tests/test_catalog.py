"""The knowledge base: schemas, cross-references, the store, the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from immunocycle._commands.catalog import catalog_app
from immunocycle.catalog import DATA_DIR, load_catalog, to_cycle_therapy, validate

FIXTURES = Path(__file__).parent / "fixtures" / "catalog"
runner = CliRunner()


@pytest.fixture(scope="module")
def cat():
    return load_catalog()


def test_shipped_catalog_is_clean():
    assert validate() == []
    result = runner.invoke(catalog_app, ["validate"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("case, file, field, words", [
    ("wrong_type", "formulations/broken.yaml", "size_nm", "valid number"),
    ("negative_size", "formulations/broken.yaml", "size_nm", "greater than 0"),
    ("missing_source", "agents/broken.yaml", "pk.human.source", "Field required"),
    ("unknown_id", "therapies/broken.yaml", "barriers.0", "unknown barrier id 'no_such_barrier'"),
    ("unknown_parameter", "therapies/broken.yaml", "effects.0.parameter",
     "the cycle model has no parameter 'no_such_parameter'"),
])
def test_broken_files_fail_with_precise_message(tmp_path, case, file, field, words):
    root = tmp_path / "catalog"
    shutil.copytree(DATA_DIR, root)
    shutil.copytree(FIXTURES / case, root, dirs_exist_ok=True)
    problems = validate(root)
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.file.endswith(file) and p.field == field and words in p.problem, p
    result = runner.invoke(catalog_app, ["validate", "--path", str(root)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [str(p)]


def test_size_above_1000_nm_is_rejected(tmp_path):
    root = tmp_path / "catalog"
    shutil.copytree(DATA_DIR, root)
    text = (FIXTURES / "negative_size/formulations/broken.yaml").read_text()
    (root / "formulations" / "big.yaml").write_text(text.replace("size_nm: -5", "size_nm: 2500"))
    (p,) = validate(root)
    assert p.field == "size_nm" and "less than or equal to 1000" in p.problem


def test_counts_and_coverage(cat):
    assert len(cat.steps) == 7
    assert len(cat.barriers) >= 20 and len(cat.therapies) >= 40
    per_step = {s: len(cat.search(step=s)) for s in range(1, 8)}
    assert min(per_step.values()) >= 3, per_step
    # The diagnosis reads barriers through model parameters.
    mapped = cat.sql("SELECT DISTINCT barrier FROM barrier_model_parameters")
    assert len(mapped) >= 3
    for t in cat.therapies.values():
        assert all(cat.evidence[e].doi.startswith("10.") for e in t.evidence)


def test_every_therapy_converts_to_a_cycle_therapy(cat):
    from immunocycle.cycle import Therapy as CycleTherapy

    for tid in cat.therapies:
        th = to_cycle_therapy(tid, catalog=cat)
        assert isinstance(th, CycleTherapy) and th.name == tid
        assert th.pk["k_cl"].value > 0 and th.dosing.amount > 0


def test_store_views_join_steps_barriers_therapies_evidence(cat):
    rows = cat.sql("SELECT * FROM step_barrier_therapy_evidence WHERE therapy = 'doxil'")
    assert set(rows["step"]) == {1} and "10.1093/annonc/mdh097" in set(rows["doi"])


def test_effect_view_carries_grade_and_fitted_tumor_types(cat):
    rows = cat.sql("SELECT therapy, grade, fitted_in FROM therapy_effects "
                   "WHERE parameter = 'chemo_kill'")
    by = {r.therapy: (r.grade, r.fitted_in) for r in rows.itertuples()}
    assert by["nab_paclitaxel"] == ("measured_human", "breast, tnbc")
    # the class copies are assumptions, carried from no trial
    assert by["oxaliplatin_free"] == ("assumption", "")
    assert set(cat.sql("SELECT DISTINCT grade FROM therapy_effects")["grade"]) <= {
        "measured_human", "measured_mouse", "inferred", "assumption"}


def test_search_filters(cat):
    hits = cat.search(step=7, carrier="cyclodextrin_np")
    assert list(hits["id"]) == ["cdnp_r848"]
    assert "doxil" in set(cat.search(agent="doxorubicin", carrier="liposome")["id"])
    assert set(cat.search(route="sc")["route"]) == {"sc"}
    assert "nanodisc_neoantigen_cpg" in set(cat.search(text="nanodisc")["id"])
    assert "cdnp_r848" in set(cat.search(barrier="m2_macrophages")["id"])


def test_cli_list_json_fields():
    result = runner.invoke(catalog_app, ["list", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert len(rows) >= 40
    row = next(r for r in rows if r["id"] == "doxil")
    assert row["steps"] == [1] and row["formulation"] == "liposome" and row["route"] == "iv"
    assert row["agents"] == ["doxorubicin"] and "10.1093/annonc/mdh097" in row["evidence"]
    assert {"barriers"} <= set(row)


def test_cli_search_and_show():
    result = runner.invoke(catalog_app, ["search", "--step", "5", "--carrier", "free", "--json"])
    assert result.exit_code == 0
    assert {r["id"] for r in json.loads(result.output)} >= {"bevacizumab_free", "losartan_free"}
    shown = json.loads(runner.invoke(catalog_app, ["show", "cdnp_r848", "--json"]).output)
    assert shown["carrier"] == "cyclodextrin_np" and shown["free_counterpart"] == "resiquimod_free"
    from immunocycle.cli import app

    bad = runner.invoke(app, ["catalog", "show", "doxl"])  # bad input: exit 2, close ids named
    assert bad.exit_code == 2 and "did you mean doxil" in bad.output
    assert "Traceback" not in bad.output


def test_free_counterpart_and_regimens(cat):
    from immunocycle.catalog import free_counterpart, paired_free_therapy, regimen_therapies

    assert free_counterpart("doxil") == "doxorubicin_free"
    paired = paired_free_therapy("doxil")
    assert paired.dose == cat.therapy("doxil").dose and paired.formulation == "free"
    with pytest.raises(KeyError):
        free_counterpart("doxorubicin_free")
    names = [t.name for t in regimen_therapies("pembrolizumab_loading_q6w")]
    assert names == ["pembrolizumab_free", "pembrolizumab_free_loading"]
    combo = {t.name: t.dosing for t in regimen_therapies("nivolumab_ipilimumab")}
    # CheckMate 067: nivolumab 1 mg/kg + ipilimumab 3 mg/kg Q3W x4, then nivolumab 3 mg/kg Q2W
    assert (combo["nivolumab_free"].amount, combo["nivolumab_free"].count) == (1.0, 4)
    assert (combo["ipilimumab_free"].amount, combo["ipilimumab_free"].units) == (3.0, "mg/kg")
    assert combo["nivolumab_free_maintenance"].start == 84.0
