"""cycle.treat: patients grown to diagnosis once, then treated in several arms from that state."""

import numpy as np
import pytest

from immunocycle.cycle import simulate_cycle, treat

PARAMS = {"k_C_growth": [0.08, 0.11]}


@pytest.fixture(scope="module")
def arms():
    return treat("inflamed", [["nivolumab"], []], days=42, step=7.0, parameters=PARAMS)


def test_every_arm_starts_from_the_one_state_at_diagnosis(arms):
    assert len(arms.arms) == 2 and arms.times.tolist() == [0.0, 7.0, 14.0, 21.0, 28.0, 35.0, 42.0]
    assert arms.pretreatment.reached.all()
    treated, untreated = arms.arms
    assert np.array_equal(treated["C"][:, 0], untreated["C"][:, 0])
    # The two patients differ (per-patient parameters reach both phases).
    assert treated["tumor_diameter"][0, 0] == pytest.approx(treated["tumor_diameter"][1, 0],
                                                            rel=0.05)
    assert not np.array_equal(untreated["C"][0], untreated["C"][1])
    # Nivolumab engages PD-1 only in its arm, and slows growth there.
    assert treated["pd1_occupancy"][:, -1].min() > 0.3
    assert untreated["pd1_occupancy"][:, -1].max() < 1e-6
    assert np.all(treated["tumor_diameter"][:, -1] < untreated["tumor_diameter"][:, -1])


@pytest.mark.parametrize("k, therapies", [(0, ["nivolumab"]), (1, [])])
def test_each_arm_is_the_single_arm_simulation(arms, k, therapies):
    one = simulate_cycle("inflamed", therapies, days=42, step=7.0, parameters=PARAMS)
    assert np.array_equal(one.pretreatment.t_diagnosis, arms.pretreatment.t_diagnosis)
    for name in ("C", "tumor_diameter", "J4"):
        assert np.array_equal(one.result[name], arms.arms[k][name])
