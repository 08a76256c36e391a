"""Tests of the geo power tools' analyses (ANCOVA, stratified, TWFE), the persistent-noise
options of the geo simulator, and cluster-randomised tests (ICC, design effect, analyses).

References: statsmodels (OLS with HC2, classical and cluster-robust covariances;
MixedLM's REML variance components), the exact one-way ANOVA formulas, and the design
effect ``1 + (m - 1) ICC`` (Donner 1986; Gerber and Green 2012). Monte Carlo checks are
seeded and vectorised, with tolerances of three (or four) Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from threadpoolctl import threadpool_limits

from playbook_lib import geo
from playbook_lib.geo.power import _simulate_without_effect, _test_for
from playbook_lib.simulate import (
    simulate_cluster_randomized_users,
    simulate_clustered_outcomes,
    simulate_geo_kpi,
    simulate_geo_panel,
)

threadpool_limits(1)


def three_mc_se(p: float, n: int) -> float:
    return 3 * math.sqrt(p * (1 - p) / n)


def _panel_from_arrays(kpi: np.ndarray, treated: np.ndarray, pre_days: int) -> pd.DataFrame:
    """One simulated experiment of :class:`GeoKpiArrays` as a tidy panel."""
    n_geos, n_days = kpi.shape
    day = np.tile(np.arange(n_days), n_geos)
    treated_geo = np.repeat(treated, n_days)
    return pd.DataFrame(
        {
            "geo": np.repeat(np.arange(n_geos), n_days),
            "day": day,
            "period": np.where(day >= pre_days, "post", "pre"),
            "group": np.where(treated_geo, "treatment", "control"),
            "kpi": kpi.ravel(),
            "treated": treated_geo & (day >= pre_days),
        }
    )


# --------------------------------------------------------------------------- analyses
def test_batch_ancova_equals_statsmodels_hc2() -> None:
    rng = np.random.default_rng(1)
    pre = rng.normal(100, 20, (4, 12))
    post = 0.7 * pre + rng.normal(0, 5, (4, 12))
    treated = rng.permutation(np.arange(12) % 2 == 0)
    table = geo.batch_estimate_ancova(post, pre, treated).to_frame()
    for i in range(4):
        design = np.column_stack([np.ones(12), treated, pre[i] - pre[i].mean()])
        fit = sm.OLS(post[i], design).fit(cov_type="HC2", use_t=True)
        assert table["estimate"].iloc[i] == pytest.approx(fit.params[1], rel=1e-10)
        assert table["se"].iloc[i] == pytest.approx(fit.bse[1], rel=1e-10)
        assert table["p_value"].iloc[i] == pytest.approx(fit.pvalues[1], rel=1e-8)
        assert table["slope_pre_mean"].iloc[i] == pytest.approx(fit.params[2], rel=1e-10)
    assert (table["df"] == 9).all()


def test_power_tool_analyses_equal_the_single_experiment_estimators() -> None:
    """ANCOVA and TWFE (clustered and iid) in closed form over simulations equal
    estimate_ancova, estimate_twfe and statsmodels' non-robust OLS on the same panels."""
    rng = np.random.default_rng(2)
    arrays, delta0, signal = _simulate_without_effect(
        10, 7, 7, 3, "complete", rng, {"noise_autocorrelation": 0.5, "trend_per_day": 0.01}
    )
    lift = 0.1
    tests = {
        a: _test_for(arrays, delta0, signal, a) for a in ("ancova", "twfe_cluster", "twfe_iid")
    }
    results = {a: test(lift) for a, test in tests.items()}
    kpi = arrays.kpi + lift * arrays.expected_untreated * (
        arrays.treated[:, :, None] & arrays.is_post
    )
    for s in range(3):
        panel = _panel_from_arrays(kpi[s], arrays.treated[s], 7)
        ancova = geo.estimate_ancova(panel)
        twfe = geo.estimate_twfe(panel)
        estimate, se, df = results["ancova"]
        assert (estimate[s], se[s], df[s]) == pytest.approx((ancova.estimate, ancova.se, ancova.df))
        estimate, se, df = results["twfe_cluster"]
        assert (estimate[s], se[s], df[s]) == pytest.approx((twfe.estimate, twfe.se, twfe.df))
        ols = smf.ols(
            "kpi ~ treated + C(geo) + C(day)", panel.assign(treated=panel["treated"] * 1.0)
        ).fit()
        estimate, se, df = results["twfe_iid"]
        assert (estimate[s], se[s], df[s]) == pytest.approx(
            (ols.params["treated"], ols.bse["treated"], ols.df_resid)
        )


def test_stratified_did_equals_fixed_effects_ols_and_paired_t() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=16)
    treated = np.tile([False, True], 8)
    treated[[2, 3]] = True  # an unbalanced stratum
    stratum = np.repeat([0, 1, 2, 2], 4)
    result = geo.batch_estimate_stratified_did(values, treated, stratum)[0]
    frame = pd.DataFrame({"y": values, "t": treated * 1.0, "s": stratum})
    fit = smf.ols("y ~ C(s) + t", frame).fit()
    assert result.estimate == pytest.approx(fit.params["t"], rel=1e-12)
    assert result.se == pytest.approx(fit.bse["t"], rel=1e-12)
    assert result.df == fit.df_resid and result.p_value == pytest.approx(fit.pvalues["t"])
    pairs = np.repeat(np.arange(8), 2)
    balanced = np.tile([False, True], 8)
    paired = geo.batch_estimate_paired_did(values, balanced, pairs)[0]
    as_strata = geo.batch_estimate_stratified_did(values, balanced, pairs)[0]
    assert (as_strata.estimate, as_strata.se, as_strata.df) == pytest.approx(
        (paired.estimate, paired.se, paired.df), rel=1e-12
    )
    panel = simulate_geo_panel(16, 7, 7, design="strata", n_strata=4, rng=4)
    table = geo.aggregate_geo_periods(panel)
    strata = panel.groupby("geo")["stratum"].first()
    fit = smf.ols(
        "delta ~ C(stratum) + treated", table.assign(stratum=strata, treated=table["treated"] * 1.0)
    ).fit()
    single = geo.estimate_stratified_did(panel)
    assert single.estimate == pytest.approx(fit.params["treated"])
    assert single.se == pytest.approx(fit.bse["treated"])


def test_strata_design_treats_half_of_each_stratum_of_similar_geos() -> None:
    arrays = simulate_geo_kpi(50, 18, 7, 7, design="strata", n_strata=4, rng=5)
    stratum, treated = arrays.stratum, arrays.treated
    sizes = np.stack([(stratum == s).sum(axis=1) for s in range(4)], axis=1)
    n_treated = np.stack([((stratum == s) & treated).sum(axis=1) for s in range(4)], axis=1)
    assert set(np.unique(sizes)) == {4, 5}
    assert (np.abs(n_treated - sizes / 2) <= 0.5).all()
    pre = arrays.kpi[:, :, :7].mean(axis=2)
    for s in range(3):  # strata are consecutive in the pre-period mean
        top = np.where(stratum == s, pre, -np.inf).max(axis=1)
        bottom = np.where(stratum == s + 1, pre, np.inf).min(axis=1)
        assert (top <= bottom).all()
    assert arrays.pair is None
    # both arms equally likely for every geo position
    assert abs(treated.mean() - 0.5) < 0.05


# --------------------------------------------------------------------------- simulator
def test_default_simulator_draws_are_unchanged() -> None:
    # sums of the draws before the persistent-noise options existed (same seeds)
    assert simulate_geo_kpi(5, 10, 14, 7, lift=0.05, rng=3).kpi.sum() == pytest.approx(
        1097710.4154465795, rel=1e-13
    )
    assert simulate_geo_kpi(
        5, 10, 14, 7, lift=0.05, design="pairs", rng=3
    ).kpi.sum() == pytest.approx(1097569.5740745426, rel=1e-13)


def test_noise_options_have_the_documented_moments() -> None:
    common = {"baseline_sd": 0.0, "weekly_amplitude": 0.0, "noise_sd": 1.0, "baseline_mean": 1.0}
    ar = simulate_geo_kpi(400, 10, 30, 30, noise_autocorrelation=0.7, rng=6, **common)
    noise = ar.kpi - ar.expected_untreated
    lag1 = np.mean(noise[:, :, 1:] * noise[:, :, :-1])
    assert abs(noise.std() - 1.0) < 0.02 and abs(lag1 - 0.7) < 0.02
    assert abs(noise[:, :, 0].std() - 1.0) < 0.03  # stationary from day 0
    heavy = simulate_geo_kpi(400, 10, 30, 30, noise_df=5.0, rng=7, **common)
    tails = heavy.kpi - heavy.expected_untreated
    kurtosis = np.mean(tails**4) / np.mean(tails**2) ** 2
    assert abs(tails.std() - 1.0) < 0.02 and kurtosis > 5  # t(5): kurtosis 9
    walk = simulate_geo_kpi(
        400, 10, 30, 30, random_walk_sd=1.0, rng=8, **{**common, "noise_sd": 0.0}
    )
    path = walk.kpi - walk.expected_untreated
    assert path[:, :, 59].var() == pytest.approx(60, rel=0.05)
    seasonal = simulate_geo_kpi(2, 200, 7, 7, geo_weekly_sd=0.05, rng=9, noise_sd=0.0)
    amplitude = seasonal.expected_untreated[:, :, 1] / seasonal.expected_untreated[:, :, 0] - 1
    assert amplitude.std() / math.sin(2 * math.pi / 7) == pytest.approx(0.05, rel=0.15)


def test_serially_correlated_noise_clustered_intervals_hold_and_iid_fail() -> None:
    n_sims = 2000
    runs = geo.simulate_analysis_estimates(
        20, 28, 14, 0.05, noise_autocorrelation=0.8, n_sims=n_sims, rng=10
    )
    coverage = {
        name: run.estimates.coverage(run.true_effect).estimate for name, run in runs.items()
    }
    for analysis in ("did", "ancova", "twfe_cluster"):
        # the multiplicative lift makes DiD slightly conservative (sample-ATT estimand)
        assert 0.95 - three_mc_se(0.95, n_sims) < coverage[analysis] < 0.985, coverage
    assert coverage["twfe_iid"] < 0.85, coverage
    size = geo.simulate_analysis_estimates(
        20, 28, 14, 0.0, noise_autocorrelation=0.8, n_sims=n_sims, rng=18
    )
    rates = {name: run.estimates.rejection_rate().estimate for name, run in size.items()}
    for analysis in ("did", "ancova", "twfe_cluster"):
        assert abs(rates[analysis] - 0.05) < three_mc_se(0.05, n_sims), rates
    assert rates["twfe_iid"] > 0.15, rates


# --------------------------------------------------------------------------- power / MDE
def test_ancova_is_more_powerful_than_did_on_the_same_draws() -> None:
    table = geo.simulate_design_comparison(
        40,
        28,
        28,
        designs=("complete",),
        analyses=("did", "ancova"),
        n_sims=1000,
        trend_per_day=0.005,
        rng=11,
    ).set_index("analysis")
    did, ancova = table.loc["did"], table.loc["ancova"]
    # the published-in-the-issue gap: about 0.48 vs 0.71
    assert ancova["power"] - did["power"] > 0.15
    assert ancova["mde_lift"] < did["mde_lift"] - 3 * np.hypot(
        did["mde_mc_se"], ancova["mde_mc_se"]
    )
    assert 0 < did["mde_mc_se"] < 0.01
    assert abs(ancova["coverage"] - 0.95) < three_mc_se(0.95, 1000) + 0.005
    # the coverage's own Monte Carlo se, and its distance from nominal in units of the
    # binomial se of an exactly calibrated interval
    for row in (did, ancova):
        c = row["coverage"]
        assert row["coverage_mc_se"] == pytest.approx(np.sqrt(c * (1 - c) / 1000), rel=1e-12)
        assert row["coverage_z_vs_nominal"] == pytest.approx(
            (c - 0.95) / np.sqrt(0.95 * 0.05 / 1000), rel=1e-12
        )


def test_minimum_detectable_lift_with_an_analysis_has_its_power() -> None:
    answer = geo.compute_minimum_detectable_lift(
        20, 28, 14, n_sims=1000, design="strata", trend_per_day=0.005, rng=12
    )
    check = geo.simulate_did_estimates(
        20, 28, 14, answer["mde_lift"], n_sims=2000, design="strata", trend_per_day=0.005, rng=13
    ).estimates.rejection_rate()
    assert abs(check.estimate - 0.8) < 3 * check.se + 3 * 0.0126  # fresh draws, both MC errors
    with pytest.raises(ValueError, match="analysis"):
        geo.compute_minimum_detectable_lift(20, 28, 14, n_sims=50, analysis="stratified", rng=1)


# --------------------------------------------------------------------------- clusters
def test_icc_equals_anova_formula_and_mixedlm() -> None:
    data = simulate_cluster_randomized_users(30, 20, icc=0.1, rng=14)
    result = geo.estimate_icc(data)
    groups = data.groupby("cluster")["outcome"]
    m, g = 20, 30
    msb = m * ((groups.mean() - data["outcome"].mean()) ** 2).sum() / (g - 1)
    msw = groups.var(ddof=1).mean()
    assert result.estimate == pytest.approx((msb - msw) / (msb + (m - 1) * msw), rel=1e-12)
    mixed = smf.mixedlm("outcome ~ 1", data, groups=data["cluster"]).fit(reml=True)
    between = float(mixed.cov_re.iloc[0, 0])
    assert result.estimate == pytest.approx(between / (between + mixed.scale), rel=1e-5)
    assert result.details["sigma2_between"] == pytest.approx(between, rel=1e-5)
    assert result.ci_low < result.estimate < result.ci_high


def test_icc_interval_covers_and_design_effect_holds_by_simulation() -> None:
    n_sims, icc, size = 4000, 0.05, 20
    draws = simulate_clustered_outcomes(n_sims, 20, size, icc=icc, sd=2.0, rng=15)
    # the F interval of estimate_icc, vectorised over simulations
    y = draws.outcome
    means = y.mean(axis=2)
    msb = size * means.var(axis=1, ddof=1)
    msw = y.var(axis=2, ddof=1).mean(axis=1)
    from scipy import stats

    df1, df2 = 19, 20 * (size - 1)
    low = (msb / msw / stats.f.ppf(0.975, df1, df2) - 1) / (
        msb / msw / stats.f.ppf(0.975, df1, df2) + size - 1
    )
    high = (msb / msw / stats.f.ppf(0.025, df1, df2) - 1) / (
        msb / msw / stats.f.ppf(0.025, df1, df2) + size - 1
    )
    covered = np.mean((low <= icc) & (icc <= high))
    assert abs(covered - 0.95) < three_mc_se(0.95, n_sims)
    one = pd.DataFrame({"cluster": np.repeat(np.arange(20), size), "outcome": y[0].ravel()})
    first = geo.estimate_icc(one)
    assert (first.ci_low, first.ci_high) == pytest.approx((low[0], high[0]), rel=1e-10)
    # design effect: the variance of the arm difference over the user-randomised one
    estimate = geo.batch_estimate_cluster_randomized(y, draws.treated).to_frame()["estimate"]
    ratio = estimate.var() / (4 * 2.0**2 / (20 * size))
    expected = geo.design_effect(size, icc)
    assert abs(ratio - expected) < 3 * expected * math.sqrt(2 / (n_sims - 1))


def test_cluster_analyses_agree_and_naive_over_rejects() -> None:
    data = simulate_cluster_randomized_users(12, 6, icc=0.2, effect=0.5, rng=16)
    outcome = data["outcome"].to_numpy().reshape(12, 6)
    treated = (data.groupby("cluster")["group"].first() == "treatment").to_numpy()
    for method in ("cluster_means", "cluster_robust", "naive"):
        single = geo.estimate_cluster_randomized(data, method=method)
        batch = geo.batch_estimate_cluster_randomized(outcome, treated, method=method)[0]
        assert (batch.estimate, batch.se, batch.df) == pytest.approx(
            (single.estimate, single.se, single.df), rel=1e-10
        )
    robust = sm.OLS(data["outcome"], sm.add_constant(treated.repeat(6) * 1.0)).fit(
        cov_type="cluster", cov_kwds={"groups": data["cluster"]}
    )
    assert geo.estimate_cluster_randomized(data, method="cluster_robust").se == pytest.approx(
        robust.bse.iloc[1]
    )
    n_sims = 3000
    draws = simulate_clustered_outcomes(n_sims, 20, 30, icc=0.05, rng=17)
    means = geo.batch_estimate_cluster_randomized(draws.outcome, draws.treated).rejection_rate()
    naive = geo.batch_estimate_cluster_randomized(
        draws.outcome, draws.treated, method="naive"
    ).rejection_rate()
    assert abs(means.estimate - 0.05) < three_mc_se(0.05, n_sims)
    assert naive.estimate > 0.15
