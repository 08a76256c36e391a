"""Tests of the Callaway-Sant'Anna group-time effects and the shipped ``mpdta`` panel.

Reference values: the README of the R package ``did`` 2.5.1
(https://github.com/bcallaway11/did, README.md, commit 71ba8a5), which prints

    att_gt(yname = "lemp", tname = "year", idname = "countyreal",
           gname = "first.treat", xformla = ~1, data = mpdta, est_method = "reg")
    aggte(out, type = "dynamic");  aggte(out, type = "group")

Its point estimates are deterministic (4 decimals there); its standard errors come from
a multiplier bootstrap (random), so they are compared loosely. The R package is not
installed here: the literals below are copied from that README.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import reference_values as registry

import playbook_lib as pl
from playbook_lib import geo
from playbook_lib.simulate import simulate_staggered_panel

# The did README's ATT(g, t) with its (bootstrap) standard error (never-treated
# comparison), event-time and cohort effects: kept once, in the validation registry.
PUBLISHED_GROUP_TIME = registry._DID_GROUP_TIME
PUBLISHED_EVENT_TIME = registry._DID_EVENT_TIME
PUBLISHED_COHORT = registry._DID_COHORT
PUBLISHED_DYNAMIC = (-0.0772, 0.0219)
PUBLISHED_GROUP = (-0.031, 0.0126)
PUBLISHED_PRE_TEST_P = 0.16812  # "P-value for pre-test of parallel trends assumption"


@pytest.fixture(scope="module")
def mpdta_fit() -> geo.CallawaySantAnnaFit:
    return geo.fit_callaway_santanna(
        pl.datasets.load_mpdta(), unit="county", time="year", outcome="log_employment"
    )


# sha256 of playbook_lib/datasets/data/mpdta.csv (did 2.5.1's data/mpdta.rda, written by
# Rscript -e 'load("mpdta.rda"); write.csv(mpdta[order(mpdta$countyreal, mpdta$year),
#   c("countyreal","year","lpop","lemp","first.treat","treat")], "mpdta.csv", row.names=FALSE)')
MPDTA_SHA256 = "b2bd4556f9d801e1c4b9229d27d8e806e4180af30bcf64b4402f2583ea6f13fb"


def test_mpdta_is_the_did_package_panel() -> None:
    import hashlib
    from importlib import resources

    shipped = resources.files("playbook_lib.datasets").joinpath("data", "mpdta.csv")
    assert hashlib.sha256(shipped.read_bytes()).hexdigest() == MPDTA_SHA256
    data = pl.datasets.load_mpdta()
    assert data.shape == (2500, 6) and data["county"].nunique() == 500
    cohorts = data.groupby("county")["first_treated"].first().value_counts()
    assert cohorts.to_dict() == {2007.0: 131, 2006.0: 40, 2004.0: 20}
    assert data["first_treated"].isna().sum() == 309 * 5
    assert (data["treated"] == (data["year"] >= data["first_treated"])).all()


def test_group_time_effects_equal_the_did_package(mpdta_fit: geo.CallawaySantAnnaFit) -> None:
    table = mpdta_fit.group_time().to_frame().set_index(["cohort", "time"])
    assert len(table) == len(PUBLISHED_GROUP_TIME)
    for (cohort, period), (estimate, se) in PUBLISHED_GROUP_TIME.items():
        row = table.loc[(cohort, period)]
        assert row["estimate"] == pytest.approx(estimate, abs=5e-5)
        assert row["se"] == pytest.approx(se, rel=0.2)  # analytic vs bootstrap
    events = mpdta_fit.by_event_time().to_frame().set_index("event_time")["estimate"]
    for event_time, estimate in PUBLISHED_EVENT_TIME.items():
        assert events.loc[event_time] == pytest.approx(estimate, abs=5e-5)
    cohorts = mpdta_fit.by_cohort().to_frame().set_index("cohort")["estimate"]
    for cohort, estimate in PUBLISHED_COHORT.items():
        assert cohorts.loc[cohort] == pytest.approx(estimate, abs=5e-5)
    dynamic, group = mpdta_fit.overall("dynamic"), mpdta_fit.overall("group")
    assert dynamic.estimate == pytest.approx(PUBLISHED_DYNAMIC[0], abs=5e-5)
    assert group.estimate == pytest.approx(PUBLISHED_GROUP[0], abs=5e-4)
    assert dynamic.se == pytest.approx(PUBLISHED_DYNAMIC[1], rel=0.2)
    wald = mpdta_fit.pre_trend_test(reference="chi2")
    assert wald["p_value"] == pytest.approx(PUBLISHED_PRE_TEST_P, abs=5e-6)
    assert wald["df"] == 5
    assert group.se == pytest.approx(PUBLISHED_GROUP[1], rel=0.2)


def test_cells_are_two_period_did_with_welch_style_variance() -> None:
    data = simulate_staggered_panel(n_units=30, n_periods=8, rng=1)
    for control_group in ("never_treated", "not_yet_treated"):
        fit = geo.fit_callaway_santanna(data, control_group=control_group)
        wide = data.pivot(index="unit", columns="time", values="outcome")
        cohort = data.groupby("unit")["first_treated"].first()
        table = fit.group_time().to_frame()
        for _, row in table.sample(5, random_state=2).iterrows():
            g, t, b = row["cohort"], row["time"], row["base_time"]
            change = wide[t] - wide[b]
            treated = change[cohort == g]
            if control_group == "never_treated":
                control = change[cohort.isna()]
            else:
                control = change[(cohort.isna() | (cohort > max(t, b))) & (cohort != g)]
            assert row["estimate"] == pytest.approx(treated.mean() - control.mean(), rel=1e-12)
            variance = treated.var(ddof=0) / treated.size + control.var(ddof=0) / control.size
            assert row["se"] == pytest.approx(math.sqrt(variance), rel=1e-10)
            assert b == (g - 1 if t >= g else t - 1)


def test_with_one_adoption_date_simple_att_is_the_did_of_means() -> None:
    panel = pl.simulate.simulate_geo_panel(12, 5, 3, lift=0.05, rng=3)
    panel = panel.assign(first_treated=np.where(panel["group"] == "treatment", 5.0, np.nan))
    fit = geo.fit_callaway_santanna(panel, unit="geo", time="day", outcome="kpi")
    post = panel[panel["day"] >= 5].groupby("geo")["kpi"].mean()
    base = panel[panel["day"] == 4].set_index("geo")["kpi"]
    treated = panel.groupby("geo")["group"].first() == "treatment"
    change = post - base
    expected = change[treated].mean() - change[~treated].mean()
    assert fit.overall("simple").estimate == pytest.approx(expected, rel=1e-12)
    assert fit.overall("group").estimate == pytest.approx(expected, rel=1e-12)


def test_callaway_santanna_covers_the_att_and_pre_trend_test_is_calibrated() -> None:
    n_panels = 80
    simple, truths, pre_p = [], [], []
    rng = np.random.default_rng(4)
    for _ in range(n_panels):
        # few leads (4) and cohorts of about 26 units: the regime the F test needs
        data = simulate_staggered_panel(n_units=140, n_periods=6, rng=rng)
        fit = geo.fit_callaway_santanna(data, control_group="not_yet_treated")
        simple.append(fit.overall("simple"))
        truths.append(data.loc[data["treated"], "true_effect"].mean())
        pre_p.append(fit.pre_trend_test()["p_value"])
    estimates = pl.Estimates.from_list(simple)
    bias = estimates.bias(truths)
    assert abs(bias.estimate) < 3 * bias.se
    coverage = estimates.coverage(truths).estimate
    assert coverage > 0.95 - 3 * math.sqrt(0.95 * 0.05 / n_panels)
    rejection = np.mean(np.array(pre_p) < 0.05)
    assert rejection < 0.05 + 3 * math.sqrt(0.05 * 0.95 / n_panels)


def test_weighted_twfe_equals_statsmodels_wls() -> None:
    import statsmodels.formula.api as smf

    castle = pl.datasets.load_castle()
    columns = {"unit": "state", "time": "year", "outcome": "log_homicide"}
    weighted = geo.estimate_twfe(castle, weights="population_weight", **columns)
    reference = smf.wls(
        "log_homicide ~ treated + C(state) + C(year)",
        castle.assign(treated=castle["treated"] * 1.0),
        weights=castle["population_weight"],
    ).fit(cov_type="cluster", cov_kwds={"groups": castle["state"]})
    assert weighted.estimate == pytest.approx(reference.params["treated"], rel=1e-10)
    assert weighted.se == pytest.approx(reference.bse["treated"], rel=1e-8)
    assert weighted.df == 49 and weighted.method == "twfe (cluster, weighted)"
    # equal weights are unweighted OLS
    equal = geo.estimate_twfe(castle.assign(w=2.0), weights="w", **columns)
    plain = geo.estimate_twfe(castle, **columns)
    assert (equal.estimate, equal.se) == pytest.approx((plain.estimate, plain.se), rel=1e-10)
    with pytest.raises(ValueError, match="weights"):
        geo.estimate_twfe(castle.assign(w=0.0), weights="w", **columns)
    with pytest.raises(ValueError, match="weights"):
        geo.estimate_twfe(castle, weights="missing", **columns)


def test_bad_inputs_raise() -> None:
    data = simulate_staggered_panel(n_units=12, n_periods=6, rng=5)
    with pytest.raises(ValueError, match="control_group"):
        geo.fit_callaway_santanna(data, control_group="everyone")
    with pytest.raises(ValueError, match="unbalanced"):
        geo.fit_callaway_santanna(data.iloc[1:])
    with pytest.raises(ValueError, match="first_treated"):
        geo.fit_callaway_santanna(data.assign(first_treated=np.where(data.index % 2, 2.0, 3.0)))
    with pytest.raises(ValueError, match="kind"):
        geo.estimate_callaway_santanna(data, kind="weighted")
    frame = pd.DataFrame({"unit": [0, 0, 1, 1], "time": [0, 1, 0, 1], "outcome": [1.0, 2, 3, 4]})
    with pytest.raises(ValueError, match="first_treated"):
        geo.fit_callaway_santanna(frame.assign(first_treated=np.nan))
