"""Tests of playbook_lib.geo, the geo-panel simulators and the policy-panel loaders.

References: statsmodels (OLS, HC2 and cluster-robust covariances, CompareMeans, f_test),
scipy.stats (ttest_ind, ttest_rel, permutation_test), and exact theory (Welch 1947; the
imputation estimator of Borusyak, Jaravel and Spiess 2024, which is OLS on untreated
observations followed by prediction). Monte Carlo calibrations are seeded and vectorised;
tolerances are three Monte Carlo standard errors.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
from threadpoolctl import threadpool_limits

import playbook_lib as pl
from playbook_lib import geo
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.geo._checks import _estimates_table
from playbook_lib.simulate import simulate_geo_kpi, simulate_geo_panel, simulate_staggered_panel

# Small matrices: multi-threaded BLAS only adds contention on a shared 2-core machine.
threadpool_limits(1)


def three_mc_se(p: float, n: int) -> float:
    return 3 * math.sqrt(p * (1 - p) / n)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return simulate_geo_panel(n_geos=20, pre_days=14, post_days=7, lift=0.05, rng=11)


@pytest.fixture(scope="module")
def staggered() -> pd.DataFrame:
    return simulate_staggered_panel(n_units=24, n_periods=12, rng=5)


# --------------------------------------------------------------------------- references
def test_did_equals_statsmodels_welch(panel: pd.DataFrame) -> None:
    table = geo.aggregate_geo_periods(panel)
    treated = table["treated"].to_numpy()
    compare = CompareMeans(
        DescrStatsW(table["delta"][treated].to_numpy()),
        DescrStatsW(table["delta"][~treated].to_numpy()),
    )
    t_statistic, p_value, df = compare.ttest_ind(usevar="unequal")
    low, high = compare.tconfint_diff(alpha=0.1, usevar="unequal")
    result = geo.estimate_did(panel, alpha=0.1)
    assert result.p_value == pytest.approx(p_value, abs=1e-12)
    assert result.df == pytest.approx(df, rel=1e-10)
    assert result.details["t_statistic"] == pytest.approx(t_statistic, rel=1e-10)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), abs=1e-8)
    twin = geo.estimate_did_from_stats(
        ArmStatistics.from_values(table["delta"][~treated]),
        ArmStatistics.from_values(table["delta"][treated]),
        alpha=0.1,
    )
    assert twin.estimate == pytest.approx(result.estimate, abs=1e-10)
    assert twin.se == pytest.approx(result.se, abs=1e-10)
    assert twin.p_value == pytest.approx(result.p_value, abs=1e-10)


def test_a_categorical_geo_column_in_any_category_order_changes_nothing() -> None:
    # Grouping a categorical column follows its categories' order while a pivot of the
    # labels sorts them: the arms were once matched to other geos' outcomes (the DiD
    # changed sign with reversed categories).
    paired = simulate_geo_panel(n_geos=16, pre_days=7, post_days=7, design="pairs", rng=3)
    geos = sorted(paired["geo"].unique())
    for categories in (geos[::-1], list(np.random.default_rng(0).permutation(geos))):
        recoded = paired.assign(geo=pd.Categorical(paired["geo"], categories=categories))
        table = geo.aggregate_geo_periods(recoded)
        assert (table["treated"] == (table["group"] == "treatment")).all()
        ri = {"design": "pairs", "n_permutations": 200, "rng": 1}
        for estimator, kwargs in (
            (geo.estimate_did, {}),
            (geo.estimate_ancova, {}),
            (geo.estimate_paired_did, {}),
            (geo.estimate_randomization_inference, ri),
        ):
            assert estimator(recoded, **kwargs).estimate == pytest.approx(
                estimator(paired, **kwargs).estimate
            )


def test_did_from_stats_with_swapped_arms_flips_the_sign() -> None:
    control = ArmStatistics.from_moments(12, 10.0, 5.0)
    treatment = ArmStatistics.from_moments(10, 12.5, 4.0)
    forward = geo.estimate_did_from_stats(control, treatment)
    backward = geo.estimate_did_from_stats(treatment, control)
    assert forward.estimate == pytest.approx(2.5, rel=1e-12)
    assert backward.estimate == pytest.approx(-forward.estimate, rel=1e-12)
    assert (backward.ci_low, backward.ci_high) == pytest.approx(
        (-forward.ci_high, -forward.ci_low), rel=1e-12
    )
    assert (backward.se, backward.df, backward.p_value) == pytest.approx(
        (forward.se, forward.df, forward.p_value), rel=1e-12
    )
    for bad in ((4.0, 5.0), ("control", treatment)):
        with pytest.raises(ValueError, match="control"):
            geo.estimate_did_from_stats(*bad)
    with pytest.raises(ValueError, match="treatment"):
        geo.estimate_did_from_stats(control, ArmStatistics.from_moments(1, 3.0, 0.0))


def test_welch_arrays_equal_scipy() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(50, 12)) * np.linspace(1, 3, 12)
    treated = np.zeros((50, 12), dtype=bool)
    treated[:, :5] = True
    result = geo.batch_estimate_did(values, treated).to_frame()
    reference = stats.ttest_ind(values[:, :5], values[:, 5:], axis=1, equal_var=False)
    np.testing.assert_allclose(result["t_statistic"], reference.statistic, rtol=1e-10)
    np.testing.assert_allclose(result["p_value"], reference.pvalue, rtol=1e-10)
    np.testing.assert_allclose(result["df"], reference.df, rtol=1e-10)
    interval = reference.confidence_interval(0.95)
    np.testing.assert_allclose(result["ci_low"], interval.low, rtol=1e-9)
    # each row is the from-stats twin on that experiment's arms
    row = geo.estimate_did_from_stats(
        ArmStatistics.from_values(values[3, 5:]), ArmStatistics.from_values(values[3, :5])
    )
    assert result["estimate"][3] == pytest.approx(row.estimate, rel=1e-10)
    assert result["se"][3] == pytest.approx(row.se, rel=1e-10)


def test_ancova_equals_statsmodels_formula(panel: pd.DataFrame) -> None:
    table = geo.aggregate_geo_periods(panel).reset_index()
    fit = smf.ols(
        "post_mean ~ treated + pre_mean", data=table.assign(treated=table["treated"].astype(float))
    ).fit(cov_type="HC2", use_t=True)
    result = geo.estimate_ancova(panel)
    assert result.estimate == pytest.approx(fit.params["treated"], abs=1e-8)
    assert result.se == pytest.approx(fit.bse["treated"], abs=1e-8)
    assert result.p_value == pytest.approx(fit.pvalues["treated"], abs=1e-10)
    assert result.ci_low == pytest.approx(fit.conf_int().loc["treated", 0], abs=1e-8)
    assert result.df == len(table) - 3


def test_twfe_equals_formula_fit_and_did_of_means(panel: pd.DataFrame) -> None:
    result = geo.estimate_twfe(panel)
    fit = smf.ols(
        "kpi ~ treated + C(geo) + C(day)", data=panel.assign(treated=panel["treated"].astype(float))
    ).fit(cov_type="cluster", cov_kwds={"groups": panel["geo"].to_numpy()}, use_t=True)
    assert result.estimate == pytest.approx(fit.params["treated"], abs=1e-8)
    assert result.se == pytest.approx(fit.bse["treated"], abs=1e-8)
    assert result.p_value == pytest.approx(fit.pvalues["treated"], abs=1e-10)
    # balanced panel, one adoption date: the TWFE coefficient is the DiD of means
    assert result.estimate == pytest.approx(geo.estimate_did(panel).estimate, abs=1e-8)
    assert result.df == panel["geo"].nunique() - 1


def test_paired_did_equals_ttest_rel_and_pair_fixed_effects() -> None:
    data = simulate_geo_panel(n_geos=16, pre_days=7, post_days=7, design="pairs", rng=3)
    result = geo.estimate_paired_did(data)
    table = geo.aggregate_geo_periods(data).join(data.groupby("geo")["pair"].first())
    wide = table.pivot_table(index="pair", columns="group", values="delta")
    reference = stats.ttest_rel(wide["treatment"], wide["control"])
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-10)
    fit = smf.ols(
        "delta ~ treated + C(pair)", data=table.assign(treated=table["treated"].astype(float))
    ).fit()
    assert result.estimate == pytest.approx(fit.params["treated"], abs=1e-8)
    assert result.se == pytest.approx(fit.bse["treated"], abs=1e-8)
    assert result.df == 7


def test_paired_arrays_equal_scipy() -> None:
    arrays = simulate_geo_kpi(30, 12, 7, 7, design="pairs", rng=2)
    values = arrays.kpi.mean(axis=2)
    result = geo.batch_estimate_paired_did(values, arrays.treated, arrays.pair).to_frame()
    assert (result["df"] == 5).all() and (result["n_pairs"] == 6).all()
    for s in range(30):
        order = np.lexsort((~arrays.treated[s], arrays.pair[s]))
        treated_values = values[s, order][0::2]
        control_values = values[s, order][1::2]
        reference = stats.ttest_rel(treated_values, control_values)
        assert result["p_value"][s] == pytest.approx(reference.pvalue, rel=1e-9)


def test_randomization_inference_exact_p_equals_scipy() -> None:
    data = simulate_geo_panel(n_geos=10, pre_days=7, post_days=7, lift=0.1, rng=4)
    table = geo.aggregate_geo_periods(data)
    treated = table["treated"].to_numpy()
    x, y = table["delta"][treated].to_numpy(), table["delta"][~treated].to_numpy()
    reference = stats.permutation_test(
        (x, y),
        lambda a, b: abs(np.mean(a) - np.mean(b)),
        permutation_type="independent",
        alternative="greater",
        n_resamples=np.inf,
    )
    result = geo.estimate_randomization_inference(data)
    assert result.details["exact"] == 1.0 and result.details["n_assignments"] == 252
    assert result.p_value == pytest.approx(reference.pvalue, abs=1e-12)


def test_randomization_inference_pairs_exact_p_equals_scipy() -> None:
    data = simulate_geo_panel(n_geos=16, pre_days=7, post_days=7, lift=0.1, design="pairs", rng=6)
    table = geo.aggregate_geo_periods(data).join(data.groupby("geo")["pair"].first())
    wide = table.pivot_table(index="pair", columns="group", values="delta")
    reference = stats.permutation_test(
        (wide["treatment"].to_numpy(), wide["control"].to_numpy()),
        lambda a, b: abs(np.mean(a - b)),
        permutation_type="samples",
        alternative="greater",
        n_resamples=np.inf,
    )
    result = geo.estimate_randomization_inference(data, design="pairs")
    assert result.details["n_assignments"] == 2**8
    assert result.p_value == pytest.approx(reference.pvalue, abs=1e-12)


def test_randomization_interval_inverts_the_test() -> None:
    data = simulate_geo_panel(n_geos=12, pre_days=7, post_days=7, lift=0.1, rng=8)
    result = geo.estimate_randomization_inference(data, alpha=0.1)
    assert result.ci_low < result.estimate < result.ci_high
    post_treated = (data["group"] == "treatment") & (data["period"] == "post")
    for bound, inside in ((result.ci_low, 1e-6), (result.ci_high, -1e-6)):
        for shift, accept in ((inside, True), (-inside, False)):
            shifted = data.assign(kpi=data["kpi"] - post_treated * (bound + shift))
            p_value = geo.estimate_randomization_inference(shifted, alpha=0.1).p_value
            assert (p_value > 0.1) == accept


def test_event_study_equals_gap_differences_and_formula_fit() -> None:
    data = simulate_geo_panel(n_geos=12, pre_days=21, post_days=14, rng=9)
    data = data.assign(week=data["day"] // 7 - 3)
    effects = geo.event_study_effects(data, time="week")
    table = effects.to_frame().set_index("week")
    assert table.loc[-1, "estimate"] == 0 and table.loc[-1, "p_value"] == 1.0
    weekly = data.groupby(["week", "group"])["kpi"].mean().unstack()
    gap = weekly["treatment"] - weekly["control"]
    np.testing.assert_allclose(table["estimate"], (gap - gap.loc[-1]).loc[table.index], atol=1e-8)
    treat = (data["group"] == "treatment").to_numpy(dtype=float)
    weeks = [-3, -2, 0, 1]
    names = [f"d{i}" for i in range(len(weeks))]
    data = data.assign(
        **{name: treat * (data["week"] == week) for name, week in zip(names, weeks, strict=True)}
    )
    fit = smf.ols(f"kpi ~ {' + '.join(names)} + C(geo) + C(week)", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": data["geo"].to_numpy()}, use_t=True
    )
    np.testing.assert_allclose(table.loc[weeks, "estimate"], fit.params[names], atol=1e-8)
    np.testing.assert_allclose(table.loc[weeks, "se"], fit.bse[names], rtol=1e-8)
    check = geo.check_pre_trends(data, [-3, -2], time="week")
    reference = _krishnamoorthy_yu(data, [-3, -2], -1)
    assert check["f_statistic"] == pytest.approx(reference["f_statistic"], rel=1e-8)
    assert check["df_denominator"] == pytest.approx(reference["df_denominator"], rel=1e-8)
    assert check["p_value"] == pytest.approx(reference["p_value"], rel=1e-8)


def _krishnamoorthy_yu(data: pd.DataFrame, periods: list[int], reference: int) -> dict:
    """Textbook two-sample test of mean vectors with unequal covariances (Krishnamoorthy
    and Yu 2004) on each geo's change from the reference week, written from the paper."""
    weekly = data.groupby(["geo", "week"])["kpi"].mean().unstack()
    changes = weekly[periods].to_numpy() - weekly[[reference]].to_numpy()
    treated = data.groupby("geo")["group"].first().to_numpy() == "treatment"
    arms = [changes[treated], changes[~treated]]
    covariances = [np.cov(arm.T, ddof=1).reshape(len(periods), -1) / len(arm) for arm in arms]
    total = covariances[0] + covariances[1]
    difference = arms[0].mean(axis=0) - arms[1].mean(axis=0)
    t_squared = float(difference @ np.linalg.solve(total, difference))
    q = len(periods)
    spread = sum(
        (
            np.trace(c @ np.linalg.inv(total) @ c @ np.linalg.inv(total))
            + np.trace(c @ np.linalg.inv(total)) ** 2
        )
        / (len(arm) - 1)
        for c, arm in zip(covariances, arms, strict=True)
    )
    nu = (q + q * q) / spread
    f_statistic = t_squared * (nu - q + 1) / (q * nu)
    return {
        "f_statistic": f_statistic,
        "df_denominator": nu - q + 1,
        "p_value": stats.f.sf(f_statistic, q, nu - q + 1),
    }


def _reference_imputation(data: pd.DataFrame):  # type: ignore[no-untyped-def]
    """OLS of the outcome on unit and time dummies on untreated rows (statsmodels), then
    predict."""
    dummies = pd.get_dummies(data[["unit", "time"]].astype(str), drop_first=True, dtype=float)
    exog = sm.add_constant(dummies.to_numpy())
    treated = data["treated"].to_numpy()
    fit = sm.OLS(data["outcome"].to_numpy()[~treated], exog[~treated]).fit()
    tau = data["outcome"].to_numpy()[treated] - fit.predict(exog[treated])
    return fit, data[treated], tau, exog[treated]


def test_imputation_equals_statsmodels_prediction(staggered: pd.DataFrame) -> None:
    fit, treated, tau, exog = _reference_imputation(staggered)
    result = geo.estimate_imputation(staggered, variance="homoskedastic")
    assert result.estimate == pytest.approx(tau.mean(), abs=1e-8)
    # homoskedastic variance: sigma^2 / N1 + Var(prediction at the mean treated design row)
    mean_row = exog.mean(axis=0, keepdims=True)
    se_mean = fit.get_prediction(mean_row).se_mean[0]
    expected = math.sqrt(fit.scale / len(treated) + se_mean**2)
    assert result.se == pytest.approx(expected, rel=1e-8)
    assert result.df == fit.df_resid
    # unit effects: sigma^2 / T_i + Var(prediction at the unit's mean treated row)
    units = geo.imputation_unit_effects(staggered).to_frame().set_index("unit")
    for unit in units.index[:4]:
        mask = (treated["unit"] == unit).to_numpy()
        se_unit = fit.get_prediction(exog[mask].mean(axis=0, keepdims=True)).se_mean[0]
        assert units.loc[unit, "estimate"] == pytest.approx(tau[mask].mean(), abs=1e-8)
        assert units.loc[unit, "se"] == pytest.approx(
            math.sqrt(fit.scale / mask.sum() + se_unit**2), rel=1e-8
        )
        assert units.loc[unit, "n_treated_periods"] == mask.sum()


def test_imputation_is_did_with_one_adoption_date() -> None:
    data = simulate_geo_panel(n_geos=10, pre_days=7, post_days=7, rng=12)
    data = data.assign(first_treated=np.where(data["group"] == "treatment", 7.0, np.nan))
    result = geo.estimate_imputation(data, unit="geo", time="day", outcome="kpi")
    assert result.estimate == pytest.approx(geo.estimate_did(data).estimate, abs=1e-8)
    assert result.estimate == pytest.approx(geo.estimate_twfe(data).estimate, abs=1e-8)
    # With one adoption date the BJS clustered variance reduces to the HC0 variance of the
    # regression of per-unit deltas (post mean - pre mean) on the treatment indicator.
    table = geo.aggregate_geo_periods(data)
    hc0 = sm.OLS(table["delta"].to_numpy(), sm.add_constant(table["treated"].to_numpy(float)))
    assert result.se == pytest.approx(hc0.fit(cov_type="HC0").bse[1], rel=1e-10)
    assert result.df == table.shape[0] - 1


def test_imputation_pieces_agree(staggered: pd.DataFrame) -> None:
    overall = geo.estimate_imputation(staggered)
    horizons = geo.imputation_horizon_effects(staggered).to_frame()
    weighted = np.average(horizons["estimate"], weights=horizons["n_observations"])
    assert weighted == pytest.approx(overall.estimate, abs=1e-10)
    units = geo.imputation_unit_effects(staggered).to_frame()
    assert np.average(units["estimate"], weights=units["n_treated_periods"]) == pytest.approx(
        overall.estimate, abs=1e-10
    )
    covariance = geo.imputation_unit_effect_covariance(staggered)
    np.testing.assert_allclose(np.sqrt(np.diag(covariance)), units["se"], rtol=1e-12)
    # units sharing treated periods share imputed period effects: positive covariances
    off_diagonal = covariance.to_numpy()[~np.eye(len(units), dtype=bool)]
    assert np.mean(off_diagonal > 0) > 0.9


def test_imputation_fit_once_answers_what_the_shortcuts_answer(staggered: pd.DataFrame) -> None:
    fit = geo.fit_imputation(staggered)
    assert isinstance(fit, geo.ImputationFit) and "24 units" in repr(fit)
    for variance in ("cluster", "homoskedastic"):
        overall = fit.overall(alpha=0.1, variance=variance)
        assert overall == geo.estimate_imputation(staggered, alpha=0.1, variance=variance)
        by_horizon = fit.by_horizon(variance=variance)
        assert isinstance(by_horizon, pl.Estimates)
        pd.testing.assert_frame_equal(
            by_horizon.to_frame(),
            geo.imputation_horizon_effects(staggered, variance=variance).to_frame(),
        )
    by_unit = fit.by_unit()
    assert isinstance(by_unit, pl.Estimates) and len(by_unit) == by_unit.to_frame()["unit"].size
    pd.testing.assert_frame_equal(
        by_unit.to_frame(), geo.imputation_unit_effects(staggered).to_frame()
    )
    pd.testing.assert_frame_equal(
        fit.unit_covariance(), geo.imputation_unit_effect_covariance(staggered)
    )
    # a row is an Estimate with a t interval on the untreated fit's residual df
    first = by_unit.at_position(0)  # the first row, whatever the (unit) labels are
    half_width = stats.t.ppf(0.975, fit.df_resid) * first.se
    assert first.ci_high - first.estimate == pytest.approx(half_width, rel=1e-12)
    with pytest.raises(ValueError, match="variance"):
        fit.by_horizon(variance="robust")
    with pytest.raises(ValueError, match="alpha"):
        fit.by_unit(alpha=2.0)


def test_simulated_estimates_match_the_power_table() -> None:
    options = dict(n_sims=500, trend_per_day=0.005)
    for design in ("complete", "pairs"):
        sims = geo.simulate_did_estimates(20, 14, 7, 0.05, design=design, rng=9, **options)
        table = geo.simulate_did_power(20, 14, 7, 0.05, design=design, rng=9, **options)
        power = sims.estimates.rejection_rate(alpha=0.05)
        coverage = sims.estimates.coverage(sims.true_effect)
        assert power.estimate == table["power"][0] and power.se == table["mc_se"][0]
        assert coverage.estimate == table["coverage"][0]
        assert sims.true_effect.mean() == pytest.approx(table["mean_true_effect"][0])
        assert len(sims.estimates) == 500 and sims.lift == 0.05
    # the true effect is the simulator's own truth
    arrays = simulate_geo_kpi(500, 20, 14, 7, lift=0.05, rng=9, trend_per_day=0.005)
    np.testing.assert_allclose(
        geo.simulate_did_estimates(20, 14, 7, 0.05, rng=9, **options).true_effect,
        arrays.true_effect,
        rtol=1e-12,
    )


def test_estimates_table_equals_from_standard_errors_with_columns() -> None:
    estimate, se = np.array([1.0, 0.0, -2.0]), np.array([0.5, 0.0, 1.0])
    for df in (np.array([5.0, np.nan, 7.0]), None):
        table = _estimates_table(
            "m", estimate, se, alpha=0.1, df=df, columns={"x": [1, 2, 3]}, labels=list("abc")
        )
        reference = pl.Estimates.from_standard_errors(
            "m", estimate, se, alpha=0.1, df=df, labels=list("abc")
        )
        pd.testing.assert_frame_equal(table.to_frame(), reference.to_frame().assign(x=[1, 2, 3]))


def test_design_effect_known_value() -> None:
    assert geo.design_effect(200, 0.1) == pytest.approx(20.9)
    assert geo.design_effect(1, 0.5) == 1.0


def test_balance_table_and_designs() -> None:
    pre = pd.Series(
        np.random.default_rng(3).lognormal(7, 0.4, 20), index=pd.Index([f"g{i}" for i in range(20)])
    )
    pairs = geo.assign_matched_pairs(pre, rng=1)
    assert (
        pairs.groupby("pair")["group"].agg(lambda g: sorted(g) == ["control", "treatment"])
    ).all()
    assert pairs["pre_kpi"].is_monotonic_increasing
    assert pairs.equals(geo.assign_matched_pairs(pre, rng=1))
    strata = geo.assign_geos_within_strata(pre, 5, rng=2)
    assert (strata.groupby("stratum")["group"].apply(lambda g: (g == "treatment").sum()) == 2).all()
    assert strata.equals(geo.assign_geos_within_strata(pre, 5, rng=2))
    # odd strata: the odd geo is a coin flip, so treated counts are 1 or 2 of 3
    odd = geo.assign_geos_within_strata(pre.iloc[:18], 6, rng=3)
    counts = odd.groupby("stratum")["group"].apply(lambda g: (g == "treatment").sum())
    assert counts.isin([1, 2]).all() and counts.nunique() == 2
    balance = geo.check_balance(pairs, ["pre_kpi"])
    treated = pairs["group"] == "treatment"
    reference = stats.ttest_ind(
        pairs["pre_kpi"][treated], pairs["pre_kpi"][~treated], equal_var=False
    )
    assert balance.loc["pre_kpi", "p_value"] == pytest.approx(reference.pvalue, rel=1e-10)


# --------------------------------------------------------------------------- calibration
@pytest.mark.parametrize("n_geos", [10, 20, 40])
def test_type_one_error_of_welch_and_paired_did(n_geos: int) -> None:
    n_sims = 4000
    welch = geo.simulate_did_power(n_geos, 28, 14, 0.0, n_sims=n_sims, rng=n_geos)
    assert abs(welch["power"][0] - 0.05) < three_mc_se(0.05, n_sims)
    paired = geo.simulate_did_power(
        n_geos, 28, 14, 0.0, n_sims=n_sims, design="pairs", rng=n_geos + 1
    )
    assert abs(paired["power"][0] - 0.05) < three_mc_se(0.05, n_sims)
    if n_geos <= 20:  # the normal reference over-rejects with few geos
        normal = geo.simulate_did_power(
            n_geos, 28, 14, 0.0, n_sims=n_sims, analysis="did_normal", rng=n_geos
        )
        assert normal["power"][0] > 0.05 + three_mc_se(0.05, n_sims)


@pytest.mark.parametrize("n_geos", [10, 20])
def test_type_one_error_of_clustered_twfe(n_geos: int) -> None:
    # Vectorised TWFE with CR1 errors (balanced panel, one adoption date: two-way demeaning
    # and Frisch-Waugh), checked equal to estimate_twfe on a few draws, then calibrated.
    n_sims, pre_days, post_days = 4000, 14, 7
    arrays = simulate_geo_kpi(n_sims, n_geos, pre_days, post_days, rng=100 + n_geos)
    treated = (arrays.treated[:, :, None] & arrays.is_post).astype(float)

    def demean(x: np.ndarray) -> np.ndarray:
        return (
            x - x.mean(2, keepdims=True) - x.mean(1, keepdims=True) + x.mean((1, 2), keepdims=True)
        )

    y, d = demean(arrays.kpi), demean(treated)
    slope = (y * d).sum((1, 2)) / (d**2).sum((1, 2))
    scores = (d * (y - slope[:, None, None] * d)).sum(2)
    n_days = pre_days + post_days
    n_obs, n_params = n_geos * n_days, n_geos + n_days
    correction = n_geos / (n_geos - 1) * (n_obs - 1) / (n_obs - n_params)
    se = np.sqrt(correction * (scores**2).sum(1)) / (d**2).sum((1, 2))
    for s in range(3):
        panel = pd.DataFrame(
            {
                "geo": np.repeat(np.arange(n_geos), n_days),
                "day": np.tile(np.arange(n_days), n_geos),
                "kpi": arrays.kpi[s].ravel(),
                "treated": treated[s].ravel() > 0,
            }
        )
        result = geo.estimate_twfe(panel)
        assert (result.estimate, result.se) == pytest.approx((slope[s], se[s]), rel=1e-9)
    p_values = 2 * stats.t.sf(np.abs(slope / se), n_geos - 1)
    assert abs(np.mean(p_values < 0.05) - 0.05) < three_mc_se(0.05, n_sims)


def test_welch_interval_covers_the_true_effect() -> None:
    n_sims = 4000
    result = geo.simulate_did_power(20, 28, 14, 0.08, n_sims=n_sims, rng=21)
    assert abs(result["coverage"][0] - 0.95) < three_mc_se(0.95, n_sims)


def test_pairs_design_power_at_least_complete_and_unpaired_analysis_fails() -> None:
    options = dict(n_sims=4000, trend_per_day=0.005, rng=5)
    paired = geo.simulate_did_power(20, 28, 14, 0.05, design="pairs", **options)
    complete = geo.simulate_did_power(20, 28, 14, 0.05, design="complete", **options)
    assert paired["power"][0] >= complete["power"][0]
    unpaired = geo.simulate_did_power(
        20, 28, 14, 0.05, design="pairs", analysis="unpaired_post", **options
    )
    assert unpaired["power"][0] < 0.02  # pairing ignored: power collapses


def test_power_simulation_speed() -> None:
    start = time.process_time()
    result = geo.simulate_did_power(40, 28, 14, 0.05, n_sims=1000, rng=1)
    elapsed = time.process_time() - start
    assert elapsed < 2.0, f"1,000 x 40 x 42 power simulation took {elapsed:.2f} s of CPU"
    assert 0.2 < result["power"][0] < 0.8


def test_minimum_detectable_lift_has_the_promised_power() -> None:
    mde = geo.compute_minimum_detectable_lift(20, 28, 14, n_sims=4000, rng=3)
    check = geo.simulate_did_power(20, 28, 14, mde["mde_lift"], n_sims=4000, rng=4)
    assert abs(check["power"][0] - 0.8) < 0.03


def test_imputation_coverage_and_twfe_bias() -> None:
    rng = np.random.default_rng(2024)
    n_sims = 200
    covered = {"cluster": 0, "homoskedastic": 0}
    unit_covered, unit_count = 0, 0
    mean_independent, mean_correlated = 0, 0
    errors = []
    for _ in range(n_sims):
        data = simulate_staggered_panel(rng=rng)
        truth = data.loc[data["treated"], "true_effect"].mean()
        # one fit answers every question (fit.overall is estimate_imputation, tested above)
        fit = geo.fit_imputation(data)
        for variance in covered:
            result = fit.overall(variance=variance)
            covered[variance] += result.covers(truth)
        errors.append(result.estimate - truth)
        unit_effects = fit.by_unit()
        units = unit_effects.to_frame()
        unit_truth = data[data["treated"]].groupby("unit")["true_effect"].mean()
        unit_truth = unit_truth.loc[units["unit"]].to_numpy()
        n_untreated = int((~data["treated"]).sum())
        untreated_df = n_untreated - data["unit"].nunique() - data["time"].nunique() + 1
        assert (units["df"] == untreated_df).all()  # t intervals on the untreated fit's df
        unit_covered += round(unit_effects.coverage(unit_truth).estimate * len(units))
        unit_count += len(units)
        covariance = fit.unit_covariance().to_numpy()
        gap = abs(units["estimate"].mean() - unit_truth.mean())
        mean_independent += gap <= 1.96 * math.sqrt((units["se"] ** 2).sum()) / len(units)
        mean_correlated += gap <= 1.96 * math.sqrt(covariance.sum()) / len(units)
    for variance, count in covered.items():
        assert abs(count / n_sims - 0.95) < three_mc_se(0.95, n_sims), variance
    assert abs(np.mean(errors)) < 3 * np.std(errors) / math.sqrt(n_sims)
    # unit-level intervals (correlated across units, so a looser tolerance)
    assert abs(unit_covered / unit_count - 0.95) < 0.015
    # treating unit estimates as independent undercovers their mean
    assert mean_independent / n_sims < 0.9
    assert abs(mean_correlated / n_sims - 0.95) < three_mc_se(0.95, n_sims)


def test_clustered_imputation_variance_understates_with_tiny_cohorts() -> None:
    # Documented limitation: a cohort-period cell of one unit absorbs that unit's own
    # noise (8 treated units, one per cohort). Constant effects and independent noise, so
    # the homoskedastic variance is exact; the clustered one covers about 0.77, and its
    # leave-out variant (residuals around the other units' mean) is conservative again.
    rng = np.random.default_rng(31)
    n_sims = 200
    covered = {"cluster": 0, "homoskedastic": 0, "leave_out": 0}
    for _ in range(n_sims):
        data = simulate_staggered_panel(
            n_units=12,
            n_periods=12,
            never_treated_fraction=1 / 3,
            cohorts=(3, 4, 5, 6, 7, 8, 9, 10),
            unit_effect_sd=0.0,
            rng=rng,
        )
        truth = data.loc[data["treated"], "true_effect"].mean()
        fit = geo.fit_imputation(data)  # one fit, three variances
        for variance in covered:
            covered[variance] += fit.overall(variance=variance).covers(truth)
    assert covered["cluster"] / n_sims < 0.95 - three_mc_se(0.95, n_sims)
    assert covered["leave_out"] / n_sims > 0.95 - three_mc_se(0.95, n_sims)
    assert abs(covered["homoskedastic"] / n_sims - 0.95) < three_mc_se(0.95, n_sims)


def test_twfe_is_biased_under_staggered_heterogeneous_effects() -> None:
    rng = np.random.default_rng(7)
    gaps = []
    for _ in range(12):
        data = simulate_staggered_panel(n_units=60, rng=rng)
        truth = data.loc[data["treated"], "true_effect"].mean()
        twfe = geo.estimate_twfe(data, unit="unit", time="time", outcome="outcome")
        gaps.append((twfe.estimate - truth) / twfe.se)
    assert np.mean(gaps) < -2  # biased downwards by several standard errors


# --------------------------------------------------------------------------- properties
@settings(max_examples=8, deadline=None)
@given(shift=st.floats(-1e3, 1e3), scale=st.floats(0.1, 10), seed=st.integers(0, 1000))
def test_did_properties(shift: float, scale: float, seed: int) -> None:
    data = simulate_geo_panel(n_geos=8, pre_days=7, post_days=7, rng=seed)
    base = geo.estimate_did(data)
    shifted = geo.estimate_did(data.assign(kpi=data["kpi"] + shift))
    assert shifted.estimate == pytest.approx(base.estimate, abs=1e-6 * (1 + abs(shift)))
    scaled = geo.estimate_did(data.assign(kpi=data["kpi"] * scale))
    assert scaled.estimate == pytest.approx(base.estimate * scale, rel=1e-9, abs=1e-9)
    assert scaled.p_value == pytest.approx(base.p_value, rel=1e-6)
    swapped = data.assign(group=data["group"].map({"treatment": "control", "control": "treatment"}))
    assert geo.estimate_did(swapped).estimate == pytest.approx(-base.estimate, abs=1e-9)


@settings(max_examples=6, deadline=None)
@given(shift=st.floats(-100, 100), seed=st.integers(0, 1000))
def test_imputation_shift_invariance(shift: float, seed: int) -> None:
    data = simulate_staggered_panel(n_units=12, n_periods=8, rng=seed)
    base = geo.estimate_imputation(data)
    shifted = geo.estimate_imputation(data.assign(outcome=data["outcome"] + shift))
    assert shifted.estimate == pytest.approx(base.estimate, abs=1e-8 * (1 + abs(shift)))
    assert shifted.se == pytest.approx(base.se, rel=1e-6)


# --------------------------------------------------------------------------- bad input
def test_bad_panels_raise(panel: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="group"):
        geo.estimate_did(panel.assign(group="treatment"))
    both = panel.copy()
    both.loc[(both["geo"] == 0) & (both["day"] == 0), "group"] = (
        "control" if both.loc[both["geo"] == 0, "group"].iloc[1] == "treatment" else "treatment"
    )
    with pytest.raises(ValueError, match="geo"):
        geo.estimate_did(both)
    with pytest.raises(ValueError, match="pre period"):
        geo.estimate_did(panel[~((panel["geo"] == 3) & (panel["period"] == "pre"))])
    with pytest.raises(ValueError, match="pre period"):
        geo.estimate_did(panel[panel["period"] == "post"])
    with pytest.raises(ValueError, match="unbalanced days"):
        geo.estimate_did(panel.drop(index=panel.index[(panel["geo"] == 2)][:1]))
    with pytest.raises(ValueError, match="alpha"):
        geo.estimate_did(panel, alpha=1.5)
    with pytest.raises(ValueError, match="kpi"):
        geo.estimate_did(panel.assign(kpi=np.nan))
    with pytest.raises(ValueError, match="design"):
        geo.estimate_randomization_inference(panel, design="matched")
    with pytest.raises(ValueError, match="pair"):
        geo.estimate_paired_did(panel.assign(pair=0))
    with pytest.raises(ValueError, match="reference"):
        geo.event_study_effects(panel, time="day", reference=99)
    with pytest.raises(ValueError, match="treated"):
        geo.estimate_twfe(panel.assign(treated=False))
    small = panel[panel["geo"].isin(panel.groupby("group")["geo"].first())]
    with pytest.raises(ValueError, match="group"):
        geo.estimate_did(small)


def test_bad_design_inputs_raise() -> None:
    with pytest.raises(ValueError, match="pre_kpi"):
        geo.assign_matched_pairs(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]))
    with pytest.raises(ValueError, match="n_strata"):
        geo.assign_geos_within_strata(pd.Series(np.arange(6.0)), 4)
    with pytest.raises(ValueError, match="intra_cluster_correlation"):
        geo.design_effect(10, 1.5)
    with pytest.raises(ValueError, match="design"):
        geo.simulate_did_power(6, 7, 7, 0.0, n_sims=500, design="bernoulli", rng=1)
    with pytest.raises(ValueError, match="analysis"):
        geo.simulate_did_power(10, 7, 7, 0.0, n_sims=10, analysis="paired")
    with pytest.raises(ValueError, match="n_geos"):
        simulate_geo_kpi(10, 1, 7, 7)
    with pytest.raises(ValueError, match="cohorts"):
        simulate_staggered_panel(10, 5, cohorts=(5,))


def test_bad_staggered_inputs_raise(staggered: pd.DataFrame) -> None:
    always = staggered.assign(
        first_treated=np.where(staggered["unit"] == 0, 0.0, staggered["first_treated"])
    )
    with pytest.raises(ValueError, match="first_treated"):
        geo.estimate_imputation(always)
    varying = staggered.copy()
    varying.loc[varying.index[0], "first_treated"] = 99.0
    with pytest.raises(ValueError, match="first_treated"):
        geo.estimate_imputation(varying)
    with pytest.raises(ValueError, match="first_treated"):
        geo.estimate_imputation(staggered.assign(first_treated=np.nan))
    with pytest.raises(ValueError, match="outcome: column 'outcome' not found"):
        geo.estimate_imputation(staggered.drop(columns="outcome"))
    with pytest.raises(ValueError, match="variance"):
        geo.estimate_imputation(staggered, variance="robust")


# --------------------------------------------------------------------------- data and simulators
def test_simulators_are_reproducible_and_truthful() -> None:
    first = simulate_geo_panel(rng=3)
    assert first.equals(simulate_geo_panel(rng=3))
    assert list(first.columns[:5]) == ["geo", "day", "period", "group", "kpi"]
    treated = first["treated"]
    assert np.allclose(
        first.loc[treated, "true_effect"], 0.05 * first.loc[treated, "kpi_untreated"]
    )
    staggered = simulate_staggered_panel(rng=3)
    assert staggered.equals(simulate_staggered_panel(rng=3))
    never = staggered["first_treated"].isna()
    assert not staggered.loc[never, "treated"].any()
    assert (staggered.loc[~staggered["treated"], "true_effect"] == 0).all()
    assert list(staggered.columns[:5]) == ["unit", "time", "first_treated", "treated", "outcome"]
    np.testing.assert_allclose(
        staggered["outcome"] - staggered["outcome_untreated"], staggered["true_effect"]
    )
    arrays = simulate_geo_kpi(5, 8, 7, 7, design="pairs", rng=1)
    assert arrays.kpi.shape == (5, 8, 14)
    assert (arrays.treated.sum(axis=1) == 4).all()


def test_policy_panels_load() -> None:
    organ = pl.datasets.load_organ_donations()
    assert organ.shape[0] == 162 and organ["state"].nunique() == 27
    assert organ.loc[organ["treated"], "state"].unique().tolist() == ["California"]
    # Huntington-Klein (2021), The Effect, ch. 18: TWFE estimate -0.0225
    with pytest.warns(pl.PlaybookWarning, match="one treated unit"):
        result = geo.estimate_twfe(organ, unit="state", time="quarter_number", outcome="rate")
    assert result.estimate == pytest.approx(-0.0225, abs=5e-5)
    castle = pl.datasets.load_castle()
    assert castle.shape[0] == 550 and castle["state"].nunique() == 50
    adopters = castle.groupby("state")["first_treated"].first().dropna()
    assert len(adopters) == 21 and adopters.min() == 2006 and adopters.max() == 2010


# --------------------------------------------------------------------------- regressions (contract)
def _trended_panel(rng: int, slope: float) -> pd.DataFrame:
    """20 geos, 28 pre-days; the treatment arm drifts up by ``slope`` per day before launch."""
    data = simulate_geo_panel(n_geos=20, pre_days=28, post_days=14, lift=0.0, rng=rng)
    treated = (data["group"] == "treatment").to_numpy()
    return data.assign(
        kpi=data["kpi"] + slope * treated * data["day"],
        t=data["day"] - 28,
        week=data["day"] // 7 - 4,
    )


def test_pre_trends_with_more_daily_pre_periods_than_geos_raises() -> None:
    # 27 daily coefficients and 20 geos: the clustered covariance is singular; the old
    # Wald test returned F = -1.2e15 and p = 1.0 on a blatant trend
    data = _trended_panel(1, 20.0)
    with pytest.raises(ValueError, match="pre_periods.*weeks"):
        geo.check_pre_trends(data, list(range(-27, -1)), time="t")
    weekly = geo.check_pre_trends(data, [-4, -3, -2], time="week")
    assert weekly["f_statistic"] > 0 and weekly["p_value"] < 1e-3
    aggregated = data.groupby(["geo", "week", "group"], as_index=False)["kpi"].mean()
    assert geo.check_pre_trends(aggregated, [-4, -3, -2], time="week")["p_value"] < 1e-3
    # 2 treated geos cannot carry a 3 x 3 covariance: not identified either
    few = simulate_geo_panel(n_geos=20, pre_days=4, post_days=3, treated_fraction=0.1, rng=1)
    with pytest.raises(ValueError, match="pre_periods: 3 .* 2 treatment"):
        geo.check_pre_trends(few.assign(t=few["day"] - 4), [-4, -3, -2], time="t")


def test_pre_trends_p_values_are_uniform_without_a_trend() -> None:
    rng = np.random.default_rng(8)
    p_values = []
    for _ in range(120):
        data = simulate_geo_panel(n_geos=16, pre_days=35, post_days=7, lift=0.0, rng=rng)
        data = data.assign(week=data["day"] // 7 - 5)
        weekly = data.groupby(["geo", "week", "group"], as_index=False)["kpi"].mean()
        result = geo.check_pre_trends(weekly, [-5, -4, -3, -2], time="week")
        assert result["f_statistic"] >= 0
        p_values.append(result["p_value"])
    p_values = np.array(p_values)
    for level in (0.05, 0.2):
        assert abs(np.mean(p_values < level) - level) < three_mc_se(level, 120) + 0.01
    assert stats.kstest(p_values, "uniform").pvalue > 0.001


def test_twfe_refuses_unidentified_and_malformed_treatment(panel: pd.DataFrame) -> None:
    # a treatment constant within geos is absorbed by the geo effects: the old fit
    # returned an arbitrary pseudo-inverse coefficient with a tiny p-value
    constant = panel.assign(treated=panel["group"] == "treatment")
    with pytest.raises(ValueError, match="treated.*not identified"):
        geo.estimate_twfe(constant, time="day")
    with pytest.raises(ValueError, match="treated"):
        geo.estimate_twfe(panel.assign(treated=2 * panel["treated"]), time="day")
    with_nan = panel.assign(day=panel["day"].astype(float))
    with_nan.loc[with_nan.index[3], "day"] = np.nan
    with pytest.raises(ValueError, match="time.*'day'"):
        geo.estimate_twfe(with_nan, time="day")
    with pytest.raises(ValueError, match="time.*'day'"):
        geo.estimate_twfe(panel.assign(day="d" + panel["day"].astype(str)), time="day")
    with pytest.raises(ValueError, match="outcome: column 'revenue'"):
        geo.estimate_twfe(panel, time="day", outcome="revenue")


def test_one_treated_unit_warns() -> None:
    data = simulate_geo_panel(n_geos=10, pre_days=7, post_days=7, treated_fraction=0.1, rng=2)
    with pytest.warns(pl.PlaybookWarning, match="one treated unit"):
        geo.estimate_twfe(data, time="day")
    with pytest.warns(pl.PlaybookWarning, match="one treated unit"):
        geo.event_study_effects(data.assign(week=data["day"] // 7 - 1), time="week", reference=0)


def test_degenerate_power_and_event_study_inputs(panel: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="lifts"):
        geo.simulate_did_power(10, 7, 7, [0.0, np.nan], n_sims=20, rng=1)
    with pytest.raises(ValueError, match="lifts"):
        geo.simulate_did_power(10, 7, 7, "0.05", n_sims=20, rng=1)
    # no noise and equal geos: every simulated test has se 0 (the se -> 0 limit)
    exact = geo.simulate_did_power(
        10, 7, 7, [0.0, 0.05], n_sims=20, noise_sd=0.0, baseline_sd=0.0, rng=1
    )
    assert exact["power"].tolist() == [0.0, 1.0]
    assert np.isfinite(exact[["power", "mc_se", "mean_estimate", "coverage"]]).all().all()
    two = panel[panel["geo"].isin(panel.groupby("group")["geo"].first())]
    with pytest.raises(ValueError, match="unit: clustered"):
        geo.event_study_effects(two, time="day", reference=13)
    with pytest.raises(ValueError, match="unit: clustered"):
        geo.check_pre_trends(two, [11, 12], time="day", reference=13)


def test_arguments_are_validated_by_name(panel: pd.DataFrame) -> None:
    for call in (
        lambda: geo.assign_matched_pairs(pd.Series(np.arange(8.0)), rng="seed"),
        lambda: geo.estimate_randomization_inference(panel, rng=1.5),
        lambda: simulate_geo_kpi(2, 6, 7, 7, rng=-1),
    ):
        with pytest.raises(ValueError, match="rng"):
            call()
    with pytest.raises(ValueError, match="length"):
        geo.batch_estimate_did(np.arange(10.0), np.arange(9) % 2 == 0)
    with pytest.raises(ValueError, match="control"):
        geo.estimate_did_from_stats("12", ArmStatistics.from_moments(10, 12.0, 4.0))
    with pytest.raises(ValueError, match="kpi: column 'revenue'"):
        geo.estimate_did(panel, kpi="revenue")
    with pytest.raises(ValueError, match="geo: column 'market'"):
        geo.aggregate_geo_periods(panel, geo="market")
    with pytest.raises(ValueError, match="noise_sd"):
        simulate_geo_panel(n_geos=6, noise_sd=-1.0)
    with pytest.raises(ValueError, match="treated_fraction"):
        simulate_geo_kpi(2, 6, 7, 7, treated_fraction=1.5)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shift=st.floats(-1e3, 1e3),
    scale=st.floats(0.01, 100),
    n_treated=st.integers(2, 8),
)
def test_welch_arrays_properties(seed: int, shift: float, scale: float, n_treated: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.normal(10.0, 3.0, 12)
    treated = np.arange(12) < n_treated
    base = geo.batch_estimate_did(values, treated)[0]
    swapped = geo.batch_estimate_did(values, ~treated)[0]
    assert swapped.estimate == pytest.approx(-base.estimate, abs=1e-9)
    assert swapped.ci_low == pytest.approx(-base.ci_high, abs=1e-9)
    assert swapped.p_value == pytest.approx(base.p_value, rel=1e-9)
    shifted = geo.batch_estimate_did(values + shift, treated)[0]
    assert shifted.estimate == pytest.approx(base.estimate, abs=1e-8)
    assert shifted.se == pytest.approx(base.se, rel=1e-6)
    scaled = geo.batch_estimate_did(values * scale, treated)[0]
    assert scaled.estimate == pytest.approx(scale * base.estimate, rel=1e-9)
    assert scaled.se == pytest.approx(scale * base.se, rel=1e-9)
    twin = geo.estimate_did_from_stats(
        ArmStatistics.from_moments(
            12 - n_treated, values[~treated].mean(), values[~treated].var(ddof=1)
        ),
        ArmStatistics.from_moments(n_treated, values[treated].mean(), values[treated].var(ddof=1)),
    )
    assert twin.estimate == pytest.approx(base.estimate, rel=1e-9, abs=1e-12)
    assert twin.se == pytest.approx(base.se, rel=1e-9)
    assert twin.p_value == pytest.approx(base.p_value, rel=1e-9, abs=1e-15)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), shift=st.floats(-100, 100), scale=st.floats(0.1, 10))
def test_twfe_and_paired_properties(seed: int, shift: float, scale: float) -> None:
    data = simulate_geo_panel(n_geos=8, pre_days=5, post_days=5, design="pairs", rng=seed)
    base = geo.estimate_twfe(data, time="day")
    shifted = geo.estimate_twfe(data.assign(kpi=data["kpi"] + shift), time="day")
    assert shifted.estimate == pytest.approx(base.estimate, abs=1e-7 * (1 + abs(shift)))
    scaled = geo.estimate_twfe(data.assign(kpi=data["kpi"] * scale), time="day")
    assert scaled.estimate == pytest.approx(scale * base.estimate, rel=1e-7)
    assert scaled.se == pytest.approx(scale * base.se, rel=1e-7)
    table = geo.aggregate_geo_periods(data)
    pair = data.groupby("geo")["pair"].first().to_numpy()
    deltas, treated = table["delta"].to_numpy(), table["treated"].to_numpy()
    paired = geo.batch_estimate_paired_did(deltas, treated, pair)[0]
    flipped = geo.batch_estimate_paired_did(deltas, ~treated, pair)[0]
    assert flipped.estimate == pytest.approx(-paired.estimate, abs=1e-9)
    assert flipped.ci_high == pytest.approx(-paired.ci_low, abs=1e-9)
    assert paired.estimate == pytest.approx(geo.estimate_paired_did(data).estimate, abs=1e-9)


def test_time_column_of_numeric_strings_is_refused() -> None:
    """A time column read as text ("0", "1", ...) is a data problem, not a number."""
    panel = pl.simulate.simulate_geo_panel(10, 5, 5, rng=1)
    panel["day"] = panel["day"].astype(str)
    with pytest.raises(ValueError, match="time: column 'day' must be numeric, got '0'"):
        geo.estimate_twfe(panel, unit="geo", time="day", outcome="kpi")
