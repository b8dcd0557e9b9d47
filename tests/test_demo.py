"""The demo: one self-contained report with its figures, on embedded defaults."""

import pandas as pd

from immunocycle._demo import run_demo


def test_demo_writes_a_self_contained_report(tmp_path):
    report, summary_csv, inputs = run_demo(tmp_path)
    page = report.read_text()
    assert page.count("data:image/png;base64,") == 6  # a ring and a diameter plot per archetype
    assert "immunocycle demo --out" in page and inputs.exists()
    table = pd.read_csv(summary_csv).set_index(["archetype", "arm"])
    d = table["diameter day 168 (mm)"]
    # PD-1 blockade helps the inflamed tumor far more than the desert one
    assert d["inflamed", "nivolumab"] < 0.5 * d["inflamed", "untreated"]
    assert d["desert", "nivolumab"] > 0.95 * d["desert", "untreated"]
    # in the excluded tumor, lowering the stromal barrier adds what PD-1 blockade alone lacks
    assert d["excluded", "nivolumab + barrier lowered"] < 0.5 * d["excluded", "nivolumab"]
    assert set(table["phenotype at diagnosis"].xs("untreated", level="arm").items()) == {
        ("inflamed", "inflamed"), ("excluded", "excluded"), ("desert", "desert")}
