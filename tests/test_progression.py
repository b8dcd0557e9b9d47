"""Several lesions, new lesions, resistance, death and discontinuation (issue #14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from immunocycle.trial import score_patients
from immunocycle.trial._progression import (
    Lesions,
    assessment_times,
    death_times,
    draw_lesions,
    lesion_course,
    load_progression,
    mixed_response,
    new_lesion_flags,
    new_lesion_times,
)


def _lesions(diameters, kappa, gamma=None) -> Lesions:
    d = np.atleast_2d(np.asarray(diameters, float))
    n, L = d.shape
    k = np.atleast_2d(np.asarray(kappa, float))
    g = np.ones((n, L)) if gamma is None else np.atleast_2d(np.asarray(gamma, float))
    return Lesions(n=(d > 0).sum(1), organ=np.where(d > 0, "lung", "").astype(object),
                   site=np.where(d > 0, "ct", "").astype(object), diameter0=d, gamma=g,
                   kappa=k, new_thresholds=np.full((n, 3), np.inf), death_threshold=np.ones(n),
                   ae_onset_u=np.full(n, 0.5), discontinue_u=np.full(n, 0.5))


def _constant_series(times, cells=1e9, kill=0.02):
    n, T = 1, times.size
    # dead cells at their steady state (killed = cleared, k_cell_clear 0.1/day)
    return {"C": np.full((n, T), cells), "C_dead": np.full((n, T), kill * cells / 0.1),
            "J7": np.full((n, T), kill * cells), "T_E_B": np.full((n, T), 1e6)}


def _params(growth=0.02):
    return pd.DataFrame({"k_C_growth": [growth], "C_max": [np.inf], "k_C_death": [0.0],
                         "k_cell_clear": [0.1]})


def test_new_lesion_alone_triggers_pd():
    """Target lesions shrink, but a new lesion appears before the second scan: PD there."""
    t = assessment_times("melanoma", 200.0)
    assert t[:3].tolist() == [0.0, 63.0, 105.0]
    flags = new_lesion_flags(np.array([[80.0, np.inf]]), t)
    assert flags[0].tolist().index(True) == 2  # seen at the next scan after it appears
    sums = np.array([60.0, 40.0, 38.0, 36.0, 35.0])  # -33 %: a partial response by the sum
    long = pd.DataFrame({"patient_id": 0, "time_d": t, "sum_mm": sums, "new_lesion": flags[0]})
    scored = score_patients(long).iloc[0]
    assert scored["pfs_event"] and scored["pfs_days"] == 105.0
    without = score_patients(long.assign(new_lesion=False)).iloc[0]
    assert not without["pfs_event"] and without["bor"] == "PR"


def test_mixed_lesions_are_scored_by_the_sum():
    """One lesion shrinking and one growing (same systemic kill, local factors 3 and 0): RECIST
    reads the sum, which stays stable here, while each lesion alone would be PR and PD; at the
    first scan the patient is a mixed response (-48 % and +43 %)."""
    times = np.arange(0.0, 126.0 + 1e-9, 3.5)
    les = _lesions([[40.0, 20.0, 0, 0, 0]], [[3.0, 0.0, 1, 1, 1]])
    course = lesion_course(_constant_series(times), _params(0.02), les, times, times,
                           resistance=False)
    d = course["diameter"][0]
    assert d[0, -1] < 0.8 * d[0, 0] and d[1, -1] > 1.5 * d[1, 0]  # shrinks, grows
    assert np.allclose(d[5], d[5, 0])  # the reference lesion (factors 1) is at net zero
    scan = np.searchsorted(times, [0.0, 63.0, 105.0])
    sums = d[:2, scan].sum(0)
    long = pd.DataFrame({"patient_id": 0, "time_d": times[scan], "sum_mm": sums})
    scored = score_patients(long).iloc[0]
    change = 100 * (sums[-1] - sums[0]) / sums[0]
    assert -30 < change < 20 and scored["bor"] == "SD" and not scored["pfs_event"]
    assert mixed_response(d[None, :5][:, :, scan], les.n)[0]


def test_mixed_response_follows_its_published_definition():
    """At the first scan, one lesion -40 % and another +30 % (and >= 5 mm): mixed (Bernard-Tessier
    2020, data/trial/progression.yaml); uniform shrinkage, a growth under 5 mm, a mixed pattern
    only at a later scan, a single lesion or a patient not scanned are not."""
    laws = load_progression()["mixed_response"]
    assert (laws["shrink"], laws["grow"], laws["grow_abs_mm"]) == (0.30, 0.20, 5.0)
    assert "Bernard-Tessier" in laws["source"]

    def series(*lesions):  # (baseline, first scan, second scan) per lesion, padded to 5
        d = np.zeros((1, 5, 3))
        d[0, :len(lesions)] = lesions
        return d

    mixed = series((40.0, 24.0, 20.0), (30.0, 39.0, 45.0))  # -40 %, +30 % (+9 mm)
    assert mixed_response(mixed, np.array([2]))[0]
    assert not mixed_response(mixed, np.array([2]), np.array([False]))[0]  # died before it
    assert not mixed_response(series((40.0, 24.0, 20.0), (30.0, 18.0, 15.0)), np.array([2]))[0]
    # +30 % of a 10 mm lesion is only +3 mm: not a significant increase
    assert not mixed_response(series((40.0, 24.0, 20.0), (10.0, 13.0, 20.0)), np.array([2]))[0]
    # shrink and growth only at the second scan
    assert not mixed_response(series((40.0, 35.0, 20.0), (30.0, 32.0, 45.0)), np.array([2]))[0]
    # a lesion recorded as gone (under its detection limit, 0 mm) counts as -100 %
    assert mixed_response(series((20.0, 0.0, 0.0), (30.0, 40.0, 45.0)), np.array([2]))[0]
    assert not mixed_response(series((30.0, 40.0, 45.0)), np.array([1]))[0]


def test_resistant_subclone_relapses_after_response():
    """A lesion under strong kill shrinks, then regrows from antigen-negative cells."""
    times = np.arange(0.0, 700.0 + 1e-9, 3.5)
    # the systemic simulation: presenting cells killed (net -0.04/day), antigen-negative ones
    # (0.1 % at diagnosis) growing at 0.02/day
    pres, neg = 1e9 * np.exp(-0.04 * times), 1e6 * np.exp(0.02 * times)
    series = {"C": (pres + neg)[None], "C_neg": neg[None], "C_dead": np.zeros((1, times.size)),
              "J7": 0.06 * pres[None], "T_E_B": np.full((1, times.size), 1e6)}
    les = _lesions([[50.0, 0, 0, 0, 0]], [[1.0, 1, 1, 1, 1]])
    course = lesion_course(series, _params(0.02), les, times, times)
    d = course["diameter"][0, 0]
    nadir = int(np.argmin(d))
    assert d[nadir] < 0.5 * d[0] and d[-1] > 2 * d[nadir]
    assert course["resistant_share"][0, -1] > 0.9


def test_eradicated_lesion_stays_at_zero():
    """Issue #20 in the lesion layer: a lesion killed below one cell is gone for good, even when
    the per-cell rates later favour growth (kill stops at day 150, the lumped tumor regrows); a
    lesion left with a few hundred cells regrows from them."""
    from immunocycle.trial import record_lesions

    times = np.arange(0.0, 400.0 + 1e-9, 3.5)
    on = times < 150.0
    cells = np.where(on, 1e9, 1e9 * np.exp(0.02 * (times - 150.0)))
    series = {"C": cells[None], "C_dead": np.zeros((1, times.size)),
              "J7": np.where(on, 0.02 * 1e9, 0.0)[None], "T_E_B": np.full((1, times.size), 1e6)}
    after = times >= 150.0
    # local kill factor 25: net -0.48/day, under one cell by day 45; factor 6: -0.10/day,
    # about 300 cells left at day 150
    gone = lesion_course(series, _params(0.02), _lesions([[30.0, 0, 0, 0, 0]], [[25.0, 1, 1, 1, 1]]),
                         times, times, resistance=False)
    left = lesion_course(series, _params(0.02), _lesions([[30.0, 0, 0, 0, 0]], [[6.0, 1, 1, 1, 1]]),
                         times, times, resistance=False)
    assert np.all(gone["viable"][0, times >= 60.0] == 0.0)
    assert np.all(gone["diameter"][0, 0, after] == 0.0)
    assert left["viable"][0, -1] > 10 * left["viable"][0, np.argmax(after)] > 0
    recorded, is_gone = record_lesions(gone["diameter"][0, 0, after], "ct")
    assert np.all(recorded == 0.0) and np.all(is_gone)


def test_lesion_debris_stays_bounded_when_the_lumped_tumor_is_gone():
    """A lesion that outlives the lumped tumor (local kill factor 0.1: net -0.032/day while the
    lumped tumor falls at -0.5/day) makes its own dead cells only: round-off in the lumped
    tumor's dead-cell pool (1e-6 relative, as a solver leaves) over its vanishing deaths once
    gave lesions 1e35 times their debris, diameters of metres and deaths within weeks."""
    times = np.arange(0.0, 200.0 + 1e-9, 3.5)
    pres = 1e9 * np.exp(-0.5 * times)
    kill = 0.52 * pres
    dead = np.zeros(times.size)
    for j in range(1, times.size):  # dD/dt = kill - 0.1 D, exact for kill ~ exp(-0.5 t)
        h = times[j] - times[j - 1]
        dead[j] = dead[j - 1] * np.exp(-0.1 * h) + kill[j - 1] * (
            np.exp(-0.1 * h) - np.exp(-0.5 * h)) / 0.4
    dead = dead * (1.0 + 1e-6 * np.sin(times)) + 1e-3
    series = {"C": pres[None], "C_dead": dead[None], "J7": kill[None],
              "T_E_B": np.full((1, times.size), 1e6)}
    course = lesion_course(series, _params(0.02), _lesions([[30.0, 0, 0, 0, 0]], [[0.1, 1, 1, 1, 1]]),
                           times, times, resistance=False)
    d = course["diameter"][0, 0]
    assert np.all(np.isfinite(d)) and d.max() <= 30.0 * 1.01, d.max()
    assert course["viable"][0, -1] > 0  # the lesion lives on while the lumped tumor is gone
    assert pres[-1] < 1.0


def test_new_lesion_and_death_times_fall_with_their_hazard():
    t = np.arange(0.0, 400.0, 3.5)
    viable = np.full((2, t.size), 1e10)
    escape = np.array([[1.0], [0.1]]) * np.ones((2, t.size))
    thresholds = np.cumsum(np.ones((2, 3)), axis=1)
    slow = new_lesion_times(viable, escape, t, [1e-3, 1e-3], thresholds)
    fast = new_lesion_times(viable, escape, t, [1e-2, 1e-2], thresholds)
    assert np.all(fast <= slow) and np.isfinite(fast[0, 0])
    assert fast[1, 0] > fast[0, 0]  # immune control of disseminated cells delays new lesions
    burden = np.full((2, t.size), 60.0)
    burden[1] *= 2.0
    died = death_times(burden, t, np.ones(2), np.full(2, np.inf), np.full(2, 0.05))
    assert died[1] < died[0]


def test_lesion_draws_are_seeded_per_patient_and_measurable():
    """Lesions split the lumped tumor's volume (sum of d^3 = D^3) and each is RECIST-measurable
    (10 mm, lymph nodes 15 mm short axis)."""
    a = draw_lesions([3, 4, 5], 7, "melanoma", [60.0, 25.0, 90.0])
    b = draw_lesions([5], 7, "melanoma", [90.0])
    assert np.allclose(a.diameter0[2], b.diameter0[0]) and a.organ[2, 0] == b.organ[0, 0]
    assert np.all((1 <= a.n) & (a.n <= 5))
    tl = load_progression()["target_lesions"]
    for r, total in enumerate([60.0, 25.0, 90.0]):
        d = a.diameter0[r, :a.n[r]]
        assert np.cbrt((d ** 3).sum()) == pytest.approx(total)
        minimum = np.where(a.site[r, :a.n[r]] == "lymph_node", tl["min_node_short_axis_mm"],
                           tl["min_diameter_mm"])
        assert a.n[r] == 1 or np.all(d >= minimum - 1e-9)


def test_lesion_count_follows_its_source_distribution():
    """The count is drawn first: over patients with the lumped diameters of an advanced-cancer
    cohort (melanoma, 10-95 mm), the mean number of target lesions is the source distribution's
    (mean 2.8) within sampling error, though every lesion is measurable."""
    from immunocycle.population import load_cohort

    probs = np.asarray(load_progression()["target_lesions"]["probabilities"])
    k = np.arange(1, probs.size + 1)
    mean, sd = (k * probs).sum(), np.sqrt((k ** 2 * probs).sum() - (k * probs).sum() ** 2)
    n = 4000
    u = np.random.default_rng(11).uniform(size=n)
    sums = load_cohort("melanoma").diagnosis_sum_mm.ppf(u)
    les = draw_lesions(np.arange(n), 5, "melanoma", sums)
    assert abs(les.n.mean() - mean) < 3 * sd / np.sqrt(n)
    # small burdens (lumped diameter 10-30 mm) still average more than 2 measurable lesions
    assert les.n[sums < 30].mean() > 2.0


@pytest.fixture(scope="module")
def small_trial():
    from immunocycle.trial import make_task

    task = make_task("melanoma", ["nivolumab"], seed=3, days=126.0)
    sim = task.simulate(0, 6)
    return task, sim


def test_single_lesion_follows_the_lumped_tumor(small_trial):
    """One lesion, factors 1, no mutation: the lesion is the systemic simulation's tumor (within
    the error of integrating the per-cell rates on the 3.5-day output grid)."""
    task, sim = small_trial
    res, times = sim["treated"].arms[0], sim["treated"].times
    ok = res.ok
    les = _lesions(np.c_[res["tumor_diameter"][:, 0], np.zeros((len(ok), 4))],
                   np.ones((len(ok), 5)))
    names = set(res.state_names) | set(res.derived_names)
    series = {k: res[k] for k in ("C", "C_dead", "J7", "C_neg", "cancer_deaths_chemo", "T_E_B")
              if k in names}
    course = lesion_course(series, res.parameters, les, times, times, resistance=False)
    lumped = res["tumor_diameter"]
    rel = np.abs(course["diameter"][ok, 0, :] / lumped[ok] - 1.0)
    assert rel.max() < 0.06 and rel.mean() < 0.01


def test_trial_records_lesions_as_record_lesions_does(small_trial):
    """The trial's recorded sums are :func:`record_lesions` of its simulated lesion sizes (one
    rule for the detection limit and normal nodes, in RECIST 1.1 and iRECIST alike)."""
    from immunocycle.trial import record_lesions

    task, sim = small_trial
    rows = task.finish(sim)
    ev = rows[rows["evaluable"]]
    assert len(ev) > 0
    for _, row in ev.iterrows():
        sizes = np.asarray(row["lesion_mm"], float).T  # (scans, lesions)
        sites = [row[f"lesion{j + 1}_site"] for j in range(row["n_lesions"])]
        sums, _ = record_lesions(sizes, sites)
        assert np.allclose(sums, row["sum_mm"])


def test_no_response_is_read_from_scans_after_death(small_trial, monkeypatch):
    """Every patient dies at day 80, after the first scan (63 d) and before the second (105 d):
    RECIST reads only the baseline and the first scan, so no response is confirmed, and the
    reported best response is the RECIST reading of the reported scans."""
    import immunocycle.trial._progression as progression
    from immunocycle.trial import record_lesions

    task, sim = small_trial
    monkeypatch.setattr(progression, "death_times",
                        lambda burden, *args, **kwargs: np.full(burden.shape[0], 80.0))
    rows = task.finish(sim)
    ev = rows[rows["evaluable"]]
    assert len(ev) > 0 and np.all(ev["os_days"] == 80.0) and ev["os_event"].all()
    assert not ev["bor"].isin(["CR", "PR"]).any()
    assert not ev["irecist_bor"].isin(["iCR", "iPR"]).any()
    assert np.all(ev["response_start_days"].fillna(0.0) <= 63.0)
    assert np.all(ev["pfs_days"] <= 80.0) and ev["pfs_event"].all()
    assert not (ev["discontinuation"] == "icpd").any()  # no progression confirmed after death
    for _, row in ev.iterrows():
        assert list(row["time_d"]) == [0.0, 63.0]
        sites = [row[f"lesion{j + 1}_site"] for j in range(row["n_lesions"])]
        sums, gone = record_lesions(np.asarray(row["lesion_mm"], float).T, sites)
        again = score_patients(pd.DataFrame({
            "patient_id": 0, "time_d": row["time_d"], "sum_mm": sums, "target_gone": gone,
            "new_lesion": row["new_lesion"]})).iloc[0]
        assert again["bor"] == row["bor"] and again["irecist_bor"] == row["irecist_bor"]
        assert again["best_pct_change"] == pytest.approx(row["best_pct_change"])


def test_discontinuation_stops_dosing(small_trial):
    """After the stop day no dose is given: serum nivolumab only falls from there, and ends
    below the continued arm."""
    from immunocycle.trial._trial import _result_rows, _stop_dosing

    task, sim = small_trial
    res, times = sim["treated"].arms[0], sim["treated"].times
    stopped = _result_rows(res, np.arange(res.n))  # a copy: _stop_dosing works in place
    stop = np.full(res.n, np.inf)
    stop[0] = 28.0
    _stop_dosing(stopped, task.cohort.base, sim["therapies"][0], stop, times, task.options)
    serum = stopped["nivolumab_conc_C"][0]
    after = times >= 28.0
    assert np.all(np.diff(serum[after]) <= 1e-9)
    assert serum[-1] < 0.5 * res["nivolumab_conc_C"][0, -1]
    assert np.allclose(stopped["nivolumab_conc_C"][1:], res["nivolumab_conc_C"][1:])
    assert np.allclose(stopped["nivolumab_conc_C"][0, ~after], res["nivolumab_conc_C"][0, ~after])


def test_os_is_at_least_pfs_and_columns(small_trial):
    from immunocycle.trial import summarize_trial

    task, sim = small_trial
    rows = task.finish(sim)
    ev = rows[rows["evaluable"]]
    assert len(ev) > 0
    assert np.all(ev["os_days"] >= ev["pfs_days"])
    assert np.all(ev["os_days"] >= ev["ipfs_days"])
    for col in ("n_lesions", "lesion1_organ", "lesion_mm", "lesion1_best_pct", "new_lesion",
                "n_new_lesions", "discontinuation", "discontinued_day", "os_event"):
        assert col in rows
    assert ev["n_lesions"].between(1, 5).all()
    assert all(len(m) == k for m, k in zip(ev["lesion_mm"], ev["n_lesions"], strict=True))
    # a drug stopped at iCPD: every iCPD patient is marked (the day is after its progression)
    icpd = ev[ev["discontinuation"] == "icpd"]
    assert np.all(icpd["discontinued_day"] > icpd["ipfs_days"])
    arm = summarize_trial(rows, ["nivolumab"])["arms"][0]
    for key in ("median_os_days", "os_12m", "os_24m", "hr_os_vs_first",
                "lesions_per_patient_mean"):
        assert key in arm
    assert arm["hr_os_vs_first"] == 1.0 and 1 <= arm["lesions_per_patient_mean"] <= 5


def _array_recurrence(s, a, f, D, gam, kap, e_s, e_a, e_f, decay, g, kill, ch, dt, kd, kc, mu_a,
                      mu_f, phi, deaths_lumped, dead_in, n_sim, L, max_ratio, start):
    """The lesion recurrence as array code over all patients, one interval at a time (the form
    ``lesion_course`` had before its compiled kernel)."""
    n_pat, n_les = s.shape
    scaled = np.empty((n_pat, n_les, dt.size))
    viable, resistant = np.empty((n_pat, dt.size)), np.empty((n_pat, dt.size))
    for j in range(dt.size):
        h, dk = dt[j], decay[:, j][:, None]
        gj, kj, cj = g[:, j][:, None], kill[:, j][:, None], ch[:, j][:, None]
        deaths = (kd[:, None] + cj) * (s + a + f) + kap * kj * (s + phi * f)
        born = gam * gj * s * h
        s, a, f = (s * e_s[:, :, j], a * e_a[:, :, j] + mu_a * born,
                   f * e_f[:, :, j] + mu_f * born)
        own = deaths * (1 - dk) / kc[:, None]
        if j < n_sim:
            lumped = deaths_lumped[:, j][:, None] * (1 - dk) / kc[:, None]
            ratio = np.where(lumped >= 1.0, dead_in[:, j][:, None] / np.maximum(lumped, 1.0), 1.0)
            D = D * dk + own * np.clip(ratio, 0.0, max_ratio)
        else:
            D = D * dk + own
        s, a, f = (np.where(x < 1.0, 0.0, x) for x in (s, a, f))
        scaled[:, :, j] = np.maximum(s + a + f + D, 0.0) / start
        viable[:, j] = (s + a + f)[:, :L].sum(1)
        resistant[:, j] = np.where(viable[:, j] > 0,
                                   (a + f)[:, :L].sum(1) / np.maximum(viable[:, j], 1e-300), 0.0)
    return scaled, viable, resistant


def test_compiled_lesion_recurrence_is_bitwise_the_array_code():
    """The compiled lesion kernel gives the array code's numbers to the last bit, on random
    lesions that grow, shrink below one cell and carry dead cells, during the simulation window
    (dead-cell ratio, clipped) and after it."""
    from immunocycle.trial._progression import MAX_DEAD_RATIO, _lesion_steps

    rng = np.random.default_rng(7)
    n_pat, L, T = 40, 5, 60
    n_sim = 35
    cells = rng.lognormal(15, 4, (n_pat, L + 1))
    cells[:8] = 20.0  # clones that fall below one cell
    s, a, f = cells * 0.9, cells * 0.07, cells * 0.03
    D = cells * rng.uniform(0, 0.5, (n_pat, L + 1))
    gam, kap = rng.lognormal(0, 0.3, (n_pat, L + 1)), rng.lognormal(0, 0.5, (n_pat, L + 1))
    dt = np.full(T, 3.5)
    g, kill = rng.uniform(0, 0.05, (n_pat, T)), rng.uniform(0, 0.2, (n_pat, T))
    ch = rng.uniform(0, 0.01, (n_pat, T))
    e_s, e_a, e_f = (np.exp(rng.normal(0, 0.4, (n_pat, L + 1, T))) for _ in range(3))
    kc = rng.uniform(0.05, 0.2, n_pat)
    decay = np.exp(-kc[:, None] * dt[None, :])
    kd = rng.uniform(0, 0.01, n_pat)
    deaths_lumped = rng.lognormal(5, 4, (n_pat, n_sim))
    dead_in = deaths_lumped * rng.lognormal(0, 2, (n_pat, n_sim))  # ratios beyond the clip too
    start = s + a + f + D
    args = (gam, kap, e_s, e_a, e_f, decay, g, kill, ch, dt, kd, kc, 0.02, 0.01, 0.3,
            deaths_lumped, dead_in, n_sim, L, MAX_DEAD_RATIO, start)
    want = _array_recurrence(s.copy(), a.copy(), f.copy(), D.copy(), *args)
    scaled = np.empty((n_pat, L + 1, T))
    viable, resistant = np.zeros((n_pat, T + 1)), np.zeros((n_pat, T + 1))
    s_end = s.copy()
    _lesion_steps(s_end, a.copy(), f.copy(), D.copy(), *args, scaled, viable, resistant)
    assert np.array_equal(scaled, want[0])
    assert np.array_equal(viable[:, 1:], want[1]) and np.array_equal(resistant[:, 1:], want[2])
    assert (s_end == 0).any() and (s_end > 1e6).any()  # clones went extinct, others grew
