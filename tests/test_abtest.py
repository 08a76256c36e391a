"""Tests of playbook_lib.abtest: references (scipy/statsmodels/exact theory), Monte Carlo
calibration (vectorised, seeded), bad inputs and properties."""

from __future__ import annotations

import hashlib
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from playbook_lib import Estimate, Estimates, PlaybookWarning
from playbook_lib import abtest as ab
from playbook_lib.aggregates import ArmStatistics, RatioStatistics
from playbook_lib.datasets import load_free_trial_screener, load_thornton_hiv
from playbook_lib.simulate import simulate_ab_users, simulate_clicks_pageviews

pl_warning = PlaybookWarning


def within_mc(rate: float, target: float, n_sims: int, k: float = 3.0) -> bool:
    """|rate - target| within k binomial Monte Carlo standard errors of the target."""
    return abs(rate - target) <= k * math.sqrt(target * (1 - target) / n_sims)


def sums(y: np.ndarray) -> ArmStatistics:
    """An arm's statistics: of its rows (1-D), or one entry per simulation (2-D, rows on
    the last axis)."""
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        return ArmStatistics.from_values(y)
    return ArmStatistics(y.shape[-1], y.sum(axis=-1), (y**2).sum(axis=-1))


def proportion(successes, n) -> ArmStatistics:
    return ArmStatistics.from_counts(successes, n)


def within_3_mc(rate: Estimate) -> bool:
    """A Monte Carlo rate (coverage, rejection rate) within 3 standard errors of nominal."""
    return abs(rate.details["z_vs_nominal"]) <= 3


# ------------------------------------------------------------------ Welch
@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_welch_matches_scipy(alternative: str) -> None:
    rng = np.random.default_rng(1)
    control, treatment = rng.normal(0, 1, 12), rng.normal(0.4, 3, 7)
    result = ab.compare_means(control, treatment, alternative=alternative, alpha=0.1)
    scipy_alt = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
    reference = stats.ttest_ind(treatment, control, equal_var=False, alternative=scipy_alt)
    interval = reference.confidence_interval(confidence_level=0.9)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-10)
    assert result.df == pytest.approx(reference.df, rel=1e-10)
    assert result.ci_low == pytest.approx(interval.low, rel=1e-9)
    assert result.ci_high == pytest.approx(interval.high, rel=1e-9)
    assert result.estimate == pytest.approx(treatment.mean() - control.mean())


def test_welch_from_stats_and_batch_equal_rows() -> None:
    rng = np.random.default_rng(2)
    control, treatment = rng.normal(100, 5, 50), rng.normal(101, 7, 60)
    rows = ab.compare_means(control, treatment)
    from_stats = ab.compare_means_from_stats(sums(control), sums(treatment))
    batch = ab.batch_compare_means(sums(control), sums(treatment))
    assert isinstance(batch, Estimates) and len(batch) == 1
    for field in ("estimate", "se", "ci_low", "ci_high", "p_value", "df"):
        assert getattr(from_stats, field) == pytest.approx(getattr(rows, field), rel=1e-8)
        assert getattr(batch[0], field) == pytest.approx(getattr(rows, field), rel=1e-8)
    assert rows.details["mean_control"] == pytest.approx(control.mean())


def test_welch_type_one_error_and_coverage_small_unequal_samples() -> None:
    """Welch's t with Welch df keeps its level at n = 8 vs 12 with sd 3 vs 1 (normal data).

    Welch's df is an approximation: with the noisy arm even smaller (5 vs 15) the size is
    about 5.4%, still far better than the normal reference (checked below).
    """
    rng = np.random.default_rng(3)
    n_sims, effect = 20_000, 0.7
    control = rng.normal(0.0, 3.0, (n_sims, 8))
    treatment = rng.normal(effect, 1.0, (n_sims, 12))
    result = ab.batch_compare_means(sums(control), sums(treatment))
    assert within_3_mc(result.coverage(effect))
    null = ab.batch_compare_means(sums(control), sums(treatment - effect))
    assert within_3_mc(null.rejection_rate(alpha=0.05))
    # The normal approximation (1.96 instead of the t quantile) over-rejects here.
    frame = null.to_frame()
    normal = Estimates.from_standard_errors("normal", frame.estimate, frame.se)
    assert normal.rejection_rate().details["z_vs_nominal"] > 3
    small = rng.normal(0.0, 3.0, (n_sims, 5))
    large = rng.normal(0.0, 1.0, (n_sims, 15))
    extreme = ab.batch_compare_means(sums(small), sums(large))
    welch_size = extreme.rejection_rate(alpha=0.05).estimate
    frame = extreme.to_frame()
    normal_size = np.mean(np.abs(frame.estimate / frame.se) > 1.96)
    assert welch_size < 0.06 and normal_size > 0.08


def test_one_sided_direction_does_not_depend_on_storage_order() -> None:
    control = np.array([1.0, 2, 3, 4, 5])
    treatment = control + 2
    larger = ab.compare_means(control, treatment, alternative="larger")
    smaller = ab.compare_means(control, treatment, alternative="smaller")
    assert larger.p_value < 0.05 < smaller.p_value
    assert larger.ci_high == np.inf and smaller.ci_low == -np.inf
    assert larger.p_value + smaller.p_value == pytest.approx(1.0)


def test_swapped_arms_flip_the_twins_estimates_and_mirror_their_intervals() -> None:
    rng = np.random.default_rng(23)
    means = (sums(rng.normal(10, 2, 300)), sums(rng.normal(10.6, 3, 250)))
    conversions = (proportion(40, 400), proportion(62, 410))
    pageviews = 1 + rng.poisson(4, (2, 300))
    clicks = rng.binomial(pageviews, [[0.10], [0.13]])
    ratios = tuple(
        RatioStatistics.from_values(c, v) for c, v in zip(clicks, pageviews, strict=True)
    )
    pairs = (
        (ab.compare_means_from_stats, ab.batch_compare_means, means),
        (ab.compare_proportions_from_stats, ab.batch_compare_proportions, conversions),
        (ab.compare_ratio_metrics_from_stats, ab.batch_compare_ratio_metrics, ratios),
    )
    for twin, batch, arms in pairs:
        forward, backward = twin(*arms), twin(*arms[::-1])
        assert forward.estimate != 0
        assert backward.estimate == pytest.approx(-forward.estimate, rel=1e-12)
        assert backward.ci == pytest.approx((-forward.ci_high, -forward.ci_low), rel=1e-12)
        assert backward.p_value == pytest.approx(forward.p_value, rel=1e-9)
        assert batch(*arms[::-1])[0].ci == pytest.approx(backward.ci, rel=1e-12)
    one_sided = (
        (ab.compare_means_from_stats, means),
        (ab.compare_proportions_from_stats, conversions),
    )
    for twin, arms in one_sided:
        larger = twin(*arms, alternative="larger")
        smaller = twin(*arms[::-1], alternative="smaller")
        assert smaller.p_value == pytest.approx(larger.p_value, rel=1e-9)
        assert smaller.ci_high == pytest.approx(-larger.ci_low, rel=1e-12)
    # Relative lift: t / c - 1 against c / t - 1; Fieller's set maps through rho -> 1 / rho.
    forward = ab.estimate_relative_lift_from_stats(*means, method="fieller")
    backward = ab.estimate_relative_lift_from_stats(*means[::-1], method="fieller")
    assert (1 + forward.estimate) * (1 + backward.estimate) == pytest.approx(1.0, rel=1e-12)
    assert backward.ci_low == pytest.approx(1 / (1 + forward.ci_high) - 1, rel=1e-9)
    assert backward.ci_high == pytest.approx(1 / (1 + forward.ci_low) - 1, rel=1e-9)


# ------------------------------------------------------------------ proportions
def test_proportions_match_statsmodels() -> None:
    result = ab.compare_proportions_from_stats(proportion(3785, 17293), proportion(3423, 17260))
    z, p = proportions_ztest([3423, 3785], [17260, 17293])
    assert result.details["z"] == pytest.approx(z, rel=1e-10)
    assert result.p_value == pytest.approx(p, rel=1e-10)
    low, high = confint_proportions_2indep(3423, 17260, 3785, 17293, method="wald")
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), rel=1e-10)
    caffo = ab.compare_proportions_from_stats(
        proportion(3, 20), proportion(9, 25), interval="agresti-caffo"
    )
    low, high = confint_proportions_2indep(9, 25, 3, 20, method="agresti-caffo")
    assert (caffo.ci_low, caffo.ci_high) == pytest.approx((low, high), rel=1e-10)


def test_proportions_rows_equal_stats_and_one_sided() -> None:
    y_c = np.r_[np.ones(30), np.zeros(170)]
    y_t = np.r_[np.ones(50), np.zeros(150)]
    rows = ab.compare_proportions(y_c, y_t, alternative="larger")
    stats_version = ab.compare_proportions_from_stats(
        proportion(30, 200), proportion(50, 200), alternative="larger"
    )
    assert rows == stats_version
    _, p = proportions_ztest([50, 30], [200, 200], alternative="larger")
    assert rows.p_value == pytest.approx(p, rel=1e-10)


def test_pooled_z_test_type_one_error_and_interval_coverage() -> None:
    rng = np.random.default_rng(4)
    n_sims = 40_000
    # Large samples: the z-test holds its level and the Wald interval covers.
    s_c, s_t = rng.binomial(2000, 0.1, n_sims), rng.binomial(2000, 0.1, n_sims)
    result = ab.batch_compare_proportions(proportion(s_c, 2000), proportion(s_t, 2000))
    assert within_3_mc(result.rejection_rate(alpha=0.05))
    assert within_3_mc(result.coverage(0.0))
    # Small samples (n = 25 per arm, p = 0.1 vs 0.2): Wald under-covers, Agresti-Caffo does not.
    s_c, s_t = rng.binomial(25, 0.1, n_sims), rng.binomial(25, 0.2, n_sims)
    arms = (proportion(s_c, 25), proportion(s_t, 25))
    wald = ab.batch_compare_proportions(*arms).coverage(0.1)
    caffo = ab.batch_compare_proportions(*arms, interval="agresti-caffo").coverage(0.1)
    assert wald.details["z_vs_nominal"] < -3
    assert caffo.details["z_vs_nominal"] >= -3


# ------------------------------------------------------------------ relative lift
def test_relative_lift_delta_and_fieller_formulas() -> None:
    rng = np.random.default_rng(5)
    control, treatment = rng.normal(10, 4, 80), rng.normal(11, 4, 90)
    delta = ab.estimate_relative_lift(control, treatment)
    m_c, m_t = control.mean(), treatment.mean()
    v_c, v_t = control.var(ddof=1) / 80, treatment.var(ddof=1) / 90
    se = math.sqrt(v_t / m_c**2 + m_t**2 * v_c / m_c**4)
    assert delta.estimate == pytest.approx(m_t / m_c - 1)
    assert delta.se == pytest.approx(se)
    assert delta.ci_high - delta.estimate == pytest.approx(stats.norm.ppf(0.975) * se)
    fieller = ab.estimate_relative_lift(control, treatment, method="fieller")
    # Fieller's ends solve (m_t - rho m_c)^2 = z^2 (v_t + rho^2 v_c), with rho = 1 + lift.
    for end in (fieller.ci_low, fieller.ci_high):
        rho = 1 + end
        assert (m_t - rho * m_c) ** 2 == pytest.approx(
            stats.norm.ppf(0.975) ** 2 * (v_t + rho**2 * v_c)
        )
    assert fieller.details["bounded"]


def test_relative_lift_from_stats_for_binary_metric() -> None:
    y_c = np.r_[np.ones(120), np.zeros(880)]
    y_t = np.r_[np.ones(150), np.zeros(850)]
    rows = ab.estimate_relative_lift(y_c, y_t)
    arms = (proportion(120, 1000), proportion(150, 1000))
    aggregated = ab.estimate_relative_lift_from_stats(*arms)
    assert aggregated.estimate == pytest.approx(0.25)
    assert aggregated.se == pytest.approx(rows.se, rel=1e-12)
    batch = ab.batch_estimate_relative_lift(*arms, method="fieller")
    single = ab.estimate_relative_lift_from_stats(*arms, method="fieller")
    assert batch[0].ci_low == pytest.approx(single.ci_low)


def test_fieller_unbounded_when_control_mean_is_noise() -> None:
    result = ab.estimate_relative_lift(
        [-1.0, 1.2, -0.9, 1.0], [1.0, 2.0, 3.0, 2.5], method="fieller"
    )
    assert not result.details["bounded"]
    assert result.ci_low == -np.inf and result.ci_high == np.inf


def test_relative_lift_coverage() -> None:
    """Fieller's interval covers at 200 users per arm; the delta method's is a large-sample
    interval: about 94.6% there (a known small-sample shortfall), nominal at 2,000."""
    rng = np.random.default_rng(6)
    n_sims, n = 20_000, 200
    # Exponential revenue-like metric, true relative lift 10%.
    control = rng.exponential(10.0, (n_sims, n))
    treatment = rng.exponential(11.0, (n_sims, n))
    fieller = ab.batch_estimate_relative_lift(sums(control), sums(treatment), method="fieller")
    assert within_3_mc(fieller.coverage(0.1)), fieller.coverage(0.1)
    delta = ab.batch_estimate_relative_lift(sums(control), sums(treatment), method="delta")
    coverage = delta.coverage(0.1)
    assert coverage.details["n"] == n_sims
    # short of nominal by less than a point and a half (MC se 0.0015; 3 MC se margins)
    assert 0.935 < coverage.estimate < 0.951, coverage
    n_sims, n = 10_000, 2_000
    control = rng.exponential(10.0, (n_sims, n))
    treatment = rng.exponential(11.0, (n_sims, n))
    large = ab.batch_estimate_relative_lift(sums(control), sums(treatment), method="delta")
    assert within_3_mc(large.coverage(0.1)), large.coverage(0.1)


# ------------------------------------------------------------------ ratio metrics
def test_ratio_metric_matches_linearisation_and_stats_twin() -> None:
    rng = np.random.default_rng(7)
    pv_c, pv_t = 1 + rng.poisson(4, 300), 1 + rng.poisson(4, 250)
    cl_c, cl_t = rng.binomial(pv_c, 0.1), rng.binomial(pv_t, 0.12)
    result = ab.compare_ratio_metrics(cl_c, pv_c, cl_t, pv_t)

    def linearised_variance(x: np.ndarray, y: np.ndarray) -> float:
        ratio = x.sum() / y.sum()
        return np.var((x - ratio * y) / y.mean(), ddof=1) / x.size

    se = math.sqrt(linearised_variance(cl_c, pv_c) + linearised_variance(cl_t, pv_t))
    assert result.se == pytest.approx(se, rel=1e-10)
    assert result.estimate == pytest.approx(cl_t.sum() / pv_t.sum() - cl_c.sum() / pv_c.sum())
    stats_twin = ab.compare_ratio_metrics_from_stats(
        RatioStatistics.from_values(cl_c, pv_c), RatioStatistics.from_values(cl_t, pv_t)
    )
    assert stats_twin == result
    summary = ab.summarize_ratio_metric(cl_c, pv_c)
    assert summary == RatioStatistics.from_values(cl_c, pv_c)
    batch = ab.batch_compare_ratio_metrics(summary, ab.summarize_ratio_metric(cl_t, pv_t))
    assert batch[0].se == pytest.approx(result.se, rel=1e-12)


def test_ratio_metric_keeps_a_small_linearised_variance_of_a_large_denominator() -> None:
    # Denominators near 1e6 per user with a ratio fixed to 1e-7: the linearised outcome's
    # variance is 2e-14 of the raw second moments, which the sums still hold to a few
    # digits (a floor of 1e-12 of them returned se 0 and p 0 as if the ratio were
    # constant). Reference: the delta method on the rows (np.cov).
    rng = np.random.default_rng(3)
    rows = []
    for shift in (0.0, 2e-8):
        denominator = rng.normal(1e6, 1e5, 40)
        numerator = (0.5 + shift) * denominator + rng.normal(0.0, 0.1, 40)
        rows.append((numerator, denominator))
    terms = []
    for numerator, denominator in rows:
        ratio = numerator.sum() / denominator.sum()
        covariance = np.cov(numerator, denominator)
        variance = covariance[0, 0] - 2 * ratio * covariance[0, 1] + ratio**2 * covariance[1, 1]
        terms.append(variance / (40 * denominator.mean() ** 2))
    control, treatment = (RatioStatistics.from_values(x, y) for x, y in rows)
    result = ab.compare_ratio_metrics_from_stats(control, treatment)
    assert result.se == pytest.approx(math.sqrt(sum(terms)), rel=0.05)


def test_ratio_metric_delta_covers_and_naive_binomial_does_not() -> None:
    n_sims = 4000
    sim = simulate_clicks_pageviews(n_sims, 500, ctr=0.05, concentration=2.0, rng=8)
    out = ab.batch_compare_ratio_metrics(
        ab.summarize_ratio_metric(sim["clicks_control"], sim["pageviews_control"]),
        ab.summarize_ratio_metric(sim["clicks_treatment"], sim["pageviews_treatment"]),
    )
    assert within_3_mc(out.coverage(0.0))
    naive = ab.batch_compare_proportions(
        proportion(sim["clicks_control"].sum(1), sim["pageviews_control"].sum(1)),
        proportion(sim["clicks_treatment"].sum(1), sim["pageviews_treatment"].sum(1)),
    )
    assert naive.coverage(0.0).estimate < 0.90


# ------------------------------------------------------------------ SRM
def test_srm_matches_scipy_and_hand_formula() -> None:
    counts = [5100, 2480, 2420]
    shares = [0.5, 0.25, 0.25]
    check = ab.check_sample_ratio(counts, shares)
    expected = np.array(shares) * sum(counts)
    statistic = float(np.sum((np.array(counts) - expected) ** 2 / expected))
    assert check.statistic == pytest.approx(statistic)
    assert check.p_value == pytest.approx(stats.chi2.sf(statistic, 2))
    assert check.df == 2 and not check.mismatch
    assert ab.check_sample_ratio({"a": 9000, "b": 1000}, [0.9, 0.1]).p_value == pytest.approx(1.0)
    frame = ab.check_sample_ratio({"a": 10, "b": 20}).to_frame()
    assert list(frame.index) == ["a", "b"]
    assert "MISMATCH" in repr(ab.check_sample_ratio([1000, 1200]))


def test_srm_type_one_error_for_unequal_three_arm_split() -> None:
    rng = np.random.default_rng(9)
    n_sims, shares = 20_000, np.array([0.6, 0.3, 0.1])
    counts = rng.multinomial(5000, shares, size=n_sims)
    # Vectorised reference: scipy's chisquare along axis 1 (the function itself is scalar).
    p_values = stats.chisquare(counts, shares * 5000, axis=1).pvalue
    assert within_mc(np.mean(p_values < 0.05), 0.05, n_sims)
    one = ab.check_sample_ratio(counts[0], shares)
    assert one.p_value == pytest.approx(p_values[0])


# ------------------------------------------------------------------ assignment
def test_hashing_is_deterministic_salted_and_documented() -> None:
    ids = [f"user{i}" for i in range(5)]
    first = ab.hash_to_unit_interval(ids, "exp-1")
    assert np.array_equal(first, ab.hash_to_unit_interval(ids, "exp-1"))
    assert not np.array_equal(first, ab.hash_to_unit_interval(ids, "exp-2"))
    digest = hashlib.sha256(b"exp-1:user3").digest()[:8]
    assert first[3] == (int.from_bytes(digest, "big") >> 11) / 2**53
    buckets = ab.hash_to_bucket(ids, "exp-1", 100)
    assert np.array_equal(buckets, np.floor(first * 100).astype(int))


def test_three_arm_assignment_fills_every_arm_and_traffic_is_monotone() -> None:
    ids = np.arange(60_000)
    arms = ab.assign_arms(ids, "checkout", ["a", "b", "c"], weights=[0.5, 0.25, 0.25])
    counts = pd.Series(arms).value_counts()
    check = ab.check_sample_ratio([counts["a"], counts["b"], counts["c"]], [0.5, 0.25, 0.25])
    assert check.p_value > 0.001
    small = ab.assign_arms(
        ids, "checkout", ["a", "b", "c"], [0.5, 0.25, 0.25], traffic_fraction=0.1
    )
    large = ab.assign_arms(
        ids, "checkout", ["a", "b", "c"], [0.5, 0.25, 0.25], traffic_fraction=0.3
    )
    enrolled_small = small != None  # noqa: E711 (object array)
    assert np.mean(enrolled_small) == pytest.approx(0.1, abs=0.005)
    # Units enrolled at 10% stay enrolled, in the same arm, at 30%, and in the full-traffic arm.
    assert np.all(large[enrolled_small] == small[enrolled_small])
    assert np.all(arms[enrolled_small] == small[enrolled_small])


def test_complete_and_stratified_assignment() -> None:
    treatment = ab.assign_complete(10, 5, rng=1)
    assert treatment.sum() == 5 and set(treatment) == {0, 1}
    strata = np.repeat(["a", "b", "c"], [10, 7, 31])
    assigned = ab.assign_stratified(strata, 0.5, rng=2)
    per_stratum = pd.Series(assigned).groupby(strata).sum()
    assert per_stratum.to_dict() == {"a": 5, "b": 4, "c": 16}  # round half to even for 3.5, 15.5
    assert np.array_equal(assigned, ab.assign_stratified(strata, 0.5, rng=2))
    from_generator = ab.assign_stratified((label for label in strata), 0.5, rng=2)
    assert np.array_equal(assigned, from_generator)


# ------------------------------------------------------------------ regression views
def test_ols_hc2_equals_difference_in_means_and_welch_se() -> None:
    rng = np.random.default_rng(10)
    data = pd.DataFrame({"treatment": np.r_[np.zeros(40), np.ones(25)]})
    data["y"] = rng.normal(0, 1 + 2 * data["treatment"], len(data))
    ols = ab.estimate_regression_effect(data, "y", "treatment")
    welch = ab.compare_means(data.y[data.treatment == 0], data.y[data.treatment == 1])
    assert ols.estimate == pytest.approx(welch.estimate, rel=1e-10)
    assert ols.se == pytest.approx(welch.se, rel=1e-10)
    assert ols.df == len(data) - 2


def test_regression_with_covariate_is_lins_estimator() -> None:
    """Lin (2013): per-arm regression lines, each evaluated at the overall covariate mean."""
    rng = np.random.default_rng(22)
    n_c, n_t = 300, 100  # unequal arms, heterogeneous effect: where interactions matter
    x = rng.normal(0, 1, n_c + n_t)
    t = np.r_[np.zeros(n_c), np.ones(n_t)]
    y = 1 + x + t * (0.5 + 2 * x) + rng.normal(0, 1, n_c + n_t)
    result = ab.estimate_regression_effect(
        pd.DataFrame({"y": y, "treatment": t, "x": x}), covariates=["x"]
    )
    predictions = []
    for arm in (0, 1):
        slope, intercept = np.polyfit(x[t == arm], y[t == arm], 1)
        predictions.append(intercept + slope * x.mean())
    assert result.estimate == pytest.approx(predictions[1] - predictions[0], rel=1e-10)
    assert result.df == n_c + n_t - 4


def test_logistic_effect_is_probability_difference_and_matches_statsmodels() -> None:
    data = pd.DataFrame(
        {
            "treatment": np.r_[np.zeros(400), np.ones(400)],
            "converted": np.r_[np.ones(40), np.zeros(360), np.ones(60), np.zeros(340)],
        }
    )
    result = ab.estimate_logistic_effect(data, "converted", "treatment")
    z_test = ab.compare_proportions_from_stats(proportion(40, 400), proportion(60, 400))
    # A saturated logit reproduces the arm proportions; delta SE = unpooled Wald SE.
    assert result.estimate == pytest.approx(0.05, abs=1e-8)
    assert result.se == pytest.approx(z_test.se, rel=1e-5)
    reference = sm.Logit(data.converted, sm.add_constant(data.treatment)).fit(disp=0)
    assert result.details["log_odds_ratio"] == pytest.approx(
        reference.params["treatment"], rel=1e-6
    )
    assert result.details["log_odds_ratio"] == pytest.approx(
        math.log((60 / 340) / (40 / 360)), rel=1e-6
    )


def test_logistic_with_day_fixed_effects_runs_on_simulation() -> None:
    data, truth = simulate_ab_users(6000, conversion_lift=0.02, rng=11)
    result = ab.estimate_logistic_effect(data, "converted", "treatment", fixed_effects=["day"])
    assert result.covers(truth.conversion_ate)
    assert result.details["fixed_effects"] == "day"


def test_stratified_effect_matches_hand_formula() -> None:
    data, _ = simulate_ab_users(4000, rng=12)
    result = ab.estimate_stratified_effect(data, "converted", "treatment", "stratum")
    effect = variance = 0.0
    for _, group in data.groupby("stratum"):
        w = len(group) / len(data)
        y1, y0 = group.converted[group.treatment == 1], group.converted[group.treatment == 0]
        effect += w * (y1.mean() - y0.mean())
        variance += w**2 * (y1.var() / len(y1) + y0.var() / len(y0))
    assert result.estimate == pytest.approx(effect)
    assert result.se == pytest.approx(math.sqrt(variance))
    one = ab.estimate_stratified_effect(data.assign(stratum=0), "converted", "treatment", "stratum")
    welch = ab.compare_means(
        data.converted[data.treatment == 0], data.converted[data.treatment == 1]
    )
    assert one.estimate == pytest.approx(welch.estimate) and one.se == pytest.approx(welch.se)


def test_stratified_variance_formula_is_calibrated() -> None:
    """Coverage of the stratified interval under repeated stratified assignment.

    Vectorised replication of the formula that ``estimate_stratified_effect`` implements
    (equality with the function is checked in the test above and on the first draw here).
    """
    rng = np.random.default_rng(13)
    n_sims, sizes, effects = 20_000, np.array([40, 60, 100]), np.array([0.0, 1.0, 2.0])
    true_effect = float(np.sum(sizes / sizes.sum() * effects))
    estimate = np.zeros(n_sims)
    variance = np.zeros(n_sims)
    for size, effect, base in zip(sizes, effects, (0.0, 5.0, -3.0), strict=True):  # 3 strata
        half = size // 2
        y0 = rng.normal(base, 2.0, (n_sims, half))
        y1 = rng.normal(base + effect, 1.0, (n_sims, half))
        w = size / sizes.sum()
        estimate += w * (y1.mean(1) - y0.mean(1))
        variance += w**2 * (y1.var(1, ddof=1) / half + y0.var(1, ddof=1) / half)
    lower = estimate - 1.959964 * np.sqrt(variance)
    upper = estimate + 1.959964 * np.sqrt(variance)
    assert within_mc(np.mean((lower <= true_effect) & (true_effect <= upper)), 0.95, n_sims)
    # The last stratum's first draw through the package: its one-stratum estimate and s.e.
    one = pd.DataFrame(
        {"y": np.r_[y0[0], y1[0]], "treatment": np.r_[np.zeros(half), np.ones(half)], "stratum": 0}
    )
    single = ab.estimate_stratified_effect(one)
    assert single.estimate == pytest.approx(y1[0].mean() - y0[0].mean())
    assert single.se == pytest.approx(
        math.sqrt(y1[0].var(ddof=1) / half + y0[0].var(ddof=1) / half)
    )


# ------------------------------------------------------------------ power
def test_sample_size_for_ten_vs_eleven_percent() -> None:
    """Errata 13: 14,751 (pooled null, unpooled alt.), 14,745 (Cohen's h), 14,752 (pooled)."""
    n = {
        m: ab.sample_size_proportions(0.10, 0.11, method=m)
        for m in ("pooled-unpooled", "cohen-h", "pooled", "unpooled")
    }
    assert math.ceil(n["pooled-unpooled"]) == 14_751
    assert math.ceil(n["cohen-h"]) == 14_745
    assert n["cohen-h"] == pytest.approx(
        NormalIndPower().solve_power(proportion_effectsize(0.11, 0.10), alpha=0.05, power=0.8)
    )
    assert math.floor(n["cohen-h"]) == 14_744
    assert math.ceil(n["pooled"]) == 14_752
    assert math.ceil(n["unpooled"]) == 14_749
    # Independent hand computation of the book's formula (pooled null, unpooled alternative).
    z_alpha, z_power = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    p_bar = 0.105
    by_hand = (
        z_alpha * math.sqrt(2 * p_bar * (1 - p_bar)) + z_power * math.sqrt(0.1 * 0.9 + 0.11 * 0.89)
    ) ** 2 / 0.01**2
    assert n["pooled-unpooled"] == pytest.approx(by_hand, rel=1e-10)
    # Cohen's h by hand: n = 2 ((z_alpha + z_power) / h)^2 (Cohen 1988, ch. 6). statsmodels
    # also counts the (negligible) opposite rejection tail, so it is 0.04 users smaller.
    h = 2 * math.asin(math.sqrt(0.11)) - 2 * math.asin(math.sqrt(0.10))
    assert n["cohen-h"] == pytest.approx(2 * ((z_alpha + z_power) / h) ** 2, rel=1e-5)
    # A decrease needs the same size as the mirror-image increase.
    assert ab.sample_size_proportions(0.11, 0.10) == pytest.approx(n["pooled-unpooled"])
    assert ab.power_proportions(0.10, 0.11, n["pooled-unpooled"]) == pytest.approx(0.8, abs=1e-6)


def test_minimum_detectable_effect_inverts_power() -> None:
    mde = ab.minimum_detectable_effect_proportions(0.10, 14_751)
    assert mde == pytest.approx(0.01, abs=2e-6)
    mde_means = ab.minimum_detectable_effect_means(2.0, 100)
    assert ab.power_means(mde_means, 2.0, 100) == pytest.approx(0.8, abs=1e-5)
    assert ab.sample_size_means(0.5, 2.0) == pytest.approx(
        TTestIndPower().solve_power(0.25, alpha=0.05, power=0.8)
    )


def test_power_at_or_below_alpha_is_refused_and_huge_effects_need_two_units() -> None:
    # With no effect a two-sided test already rejects with probability alpha: a power at
    # or below it needs no data (the solvers returned NaN or a bare brentq error).
    for call in (
        lambda: ab.sample_size_means(0.1, 1.0, power=0.03),
        lambda: ab.sample_size_proportions(0.10, 0.11, power=0.05),
        lambda: ab.minimum_detectable_effect_means(1.0, 100, power=0.03),
        lambda: ab.minimum_detectable_effect_proportions(0.10, 1000, power=0.03),
    ):
        with pytest.raises(ValueError, match="power must exceed alpha"):
            call()
    # an effect of 10 sds: two units per arm (the fewest a t-test takes) have the power
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ab.sample_size_means(10.0, 1.0) == 2.0
    assert TTestIndPower().power(10.0, 2, 0.05) >= 0.8


def test_simulated_power_agrees_with_analytic() -> None:
    simulated = ab.simulate_power_proportions(0.10, 0.11, 14_751, n_sims=40_000, rng=14)
    assert abs(simulated.estimate - 0.8) < 3 * math.sqrt(0.8 * 0.2 / 40_000)
    size = ab.simulate_power_proportions(0.10, 0.10, 3000, n_sims=40_000, rng=15)
    assert within_mc(size.estimate, 0.05, 40_000)
    means = ab.simulate_power_means(0.5, 2.0, 60, n_sims=40_000, rng=16)
    target = ab.power_means(0.5, 2.0, 60)
    # Analytic: the pooled t-test's power (noncentral t); simulated: Welch's test. With equal
    # arms and variances they agree (0.2741 vs 0.2738 +- 0.0007 in 400,000 runs).
    assert within_mc(means.estimate, target, 40_000)


# ------------------------------------------------------------------ multiple testing
def test_holm_and_bh_match_statsmodels_and_keep_labels() -> None:
    p_values = pd.Series({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.2})
    for method in ("holm", "fdr_bh", "bonferroni"):
        table = ab.adjust_p_values(p_values, method)
        reject, adjusted, _, _ = multipletests(p_values.to_numpy(), method=method)
        assert np.allclose(table.adjusted_p_value, adjusted)
        assert list(table.index) == ["a", "b", "c", "d"]
        assert np.array_equal(table.reject, reject)
    # Hand Holm: sorted p times (m - rank + 1), running max upwards, capped at 1.
    holm = ab.adjust_p_values([0.6, 0.01, 0.4])
    assert holm.adjusted_p_value.tolist() == pytest.approx([0.8, 0.03, 0.8])


def test_holm_on_the_free_trial_screener() -> None:
    data = load_free_trial_screener()
    clicks = data.clicks_with_outcomes
    gross = ab.compare_proportions_from_stats(
        proportion(data.enrollments["control"], clicks["control"]),
        proportion(data.enrollments["experiment"], clicks["experiment"]),
    )
    net = ab.compare_proportions_from_stats(
        proportion(data.payments["control"], clicks["control"]),
        proportion(data.payments["experiment"], clicks["experiment"]),
    )
    table = ab.adjust_p_values({"gross": gross.p_value, "net": net.p_value})
    assert table.adjusted_p_value["gross"] == pytest.approx(5.2e-6, rel=0.01)
    assert table.adjusted_p_value["net"] == pytest.approx(0.156, abs=0.001)
    assert ab.check_sample_ratio(data.pageviews.to_numpy()).p_value > 0.001


# ------------------------------------------------------------------ Bayesian
def _closed_form_probability(a_c: int, b_c: int, a_t: int, b_t: int) -> float:
    """Exact P(p_t > p_c) for integer a_t (the sum over i < a_t; e.g. Miller's formula)."""
    i = np.arange(a_t)
    log_terms = (
        special.betaln(a_c + i, b_c + b_t)
        - np.log(b_t + i)
        - special.betaln(1 + i, b_t)
        - special.betaln(a_c, b_c)
    )
    return float(np.exp(special.logsumexp(log_terms)))


@pytest.mark.parametrize(
    "counts", [(40, 1000, 55, 1000), (3, 20, 3, 20), (3785, 17293, 3423, 17260)]
)
def test_probability_treatment_better_exact(counts: tuple[int, int, int, int]) -> None:
    s_c, n_c, s_t, n_t = counts
    exact = ab.probability_treatment_better(s_c, n_c, s_t, n_t)
    closed = _closed_form_probability(1 + s_c, 1 + n_c - s_c, 1 + s_t, 1 + n_t - s_t)
    assert exact == pytest.approx(closed, rel=1e-6, abs=1e-12)
    rng = np.random.default_rng(17)
    draws = 400_000
    monte_carlo = np.mean(
        rng.beta(1 + s_t, 1 + n_t - s_t, draws) > rng.beta(1 + s_c, 1 + n_c - s_c, draws)
    )
    assert abs(monte_carlo - exact) <= 3 * math.sqrt(max(exact * (1 - exact), 1e-6) / draws)


@pytest.mark.parametrize(
    "counts", [(30, 100, 3_000_000, 10_000_000), (2_500_000, 10_000_000, 50, 200)]
)
def test_probability_treatment_better_when_one_posterior_is_far_narrower(
    counts: tuple[int, int, int, int],
) -> None:
    # A posterior 300 times narrower than the other is a near-step inside one quadrature
    # panel of the wider one; integrating over the wider one erred by 7e-4 here.
    s_c, n_c, s_t, n_t = counts
    a_c, b_c, a_t, b_t = 1 + s_c, 1 + n_c - s_c, 1 + s_t, 1 + n_t - s_t
    # Miller's sum over the smaller first parameter: P(p_t > p_c) = 1 - P(p_c > p_t)
    closed = (
        1 - _closed_form_probability(a_t, b_t, a_c, b_c)
        if a_c < a_t
        else _closed_form_probability(a_c, b_c, a_t, b_t)
    )
    exact = ab.probability_treatment_better(s_c, n_c, s_t, n_t)
    # scipy's betaln of a ~1e7 parameter carries ~1e-8 of round-off into the sum
    assert exact == pytest.approx(closed, abs=1e-7)


def test_probability_treatment_better_with_unbounded_prior_density() -> None:
    """Jeffreys prior and zero successes: the control density is unbounded at 0 (quad path)."""
    exact = ab.probability_treatment_better(0, 10, 3, 10, prior_alpha=0.5, prior_beta=0.5)
    rng = np.random.default_rng(21)
    draws = 400_000
    monte_carlo = np.mean(rng.beta(3.5, 7.5, draws) > rng.beta(0.5, 10.5, draws))
    assert abs(monte_carlo - exact) <= 3 * math.sqrt(exact * (1 - exact) / draws)


def test_beta_binomial_credible_interval_matches_monte_carlo() -> None:
    result = ab.estimate_beta_binomial(40, 1000, 55, 1000)
    rng = np.random.default_rng(18)
    difference = rng.beta(56, 946, 400_000) - rng.beta(41, 961, 400_000)
    assert result.estimate == pytest.approx(difference.mean(), abs=1e-4)
    assert result.ci_low == pytest.approx(np.quantile(difference, 0.025), abs=5e-4)
    assert result.ci_high == pytest.approx(np.quantile(difference, 0.975), abs=5e-4)
    assert result.details["probability_treatment_better"] == pytest.approx(
        np.mean(difference > 0), abs=3e-3
    )


# ------------------------------------------------------------------ bootstrap
def test_bootstrap_matches_scipy_and_covers() -> None:
    rng = np.random.default_rng(19)
    control, treatment = rng.exponential(1.0, 60), rng.exponential(1.3, 50)
    result = ab.bootstrap_difference(
        control, treatment, method="percentile", rng=5, n_resamples=999
    )
    reference = stats.bootstrap(
        (control, treatment),
        lambda c, t, axis=-1: t.mean(axis) - c.mean(axis),
        method="percentile",
        n_resamples=999,
        rng=np.random.default_rng(5),
    )
    assert result.ci_low == pytest.approx(reference.confidence_interval.low)
    assert result.ci_high == pytest.approx(reference.confidence_interval.high)
    # Coverage of BCa for a normal mean difference, n = 100 per arm (about 4 ms per call).
    # Not smaller: at n = 40 per arm BCa truly under-covers (0.939 +- 0.003 in 5,000 runs).
    n_sims = 800
    data = rng.normal(0.0, 1.0, (n_sims, 2, 100))
    covered = [
        ab.bootstrap_difference(c, t, n_resamples=500, rng=i).covers(0.0)
        for i, (c, t) in enumerate(data)
    ]  # each scipy bootstrap call is already vectorised over its resamples
    assert within_mc(float(np.mean(covered)), 0.95, n_sims)


# ------------------------------------------------------------------ data and simulator
def test_datasets_and_simulator() -> None:
    data = load_free_trial_screener()
    assert data.loc["control", "pageviews"] == 345_543
    assert data.loc["experiment", "payments"] == 1_945
    hiv = load_thornton_hiv()
    assert set(hiv.any_incentive.unique()) == {0, 1} and hiv.got_result.notna().all()
    users, truth = simulate_ab_users(2000, rng=20)
    again, truth_again = simulate_ab_users(2000, rng=20)
    pd.testing.assert_frame_equal(users, again)
    assert truth == truth_again and not users.attrs
    assert truth.sample_conversion_ate == pytest.approx(
        np.mean(users.converted_1 - users.converted_0)
    )
    observed = np.where(users.treatment == 1, users.converted_1, users.converted_0)
    assert np.array_equal(users.converted, observed)
    assert (users.converted_1 >= users.converted_0).all()


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ab.compare_means([], [1.0, 2.0]), "y_control"),
        (lambda: ab.compare_means([1.0, np.nan], [1.0, 2.0]), "y_control"),
        (lambda: ab.compare_means([1.0, 2.0], [1.0]), "y_treatment"),
        (lambda: ab.compare_means([1.0, 2.0], [1.0, 3.0], alpha=1.5), "alpha"),
        (lambda: ab.compare_means([1.0, 2.0], [1.0, 3.0], alternative="greater"), "alternative"),
        (
            lambda: ab.compare_means_from_stats(ArmStatistics(1, 1.0, 1.0), sums(np.ones(5))),
            "control",
        ),
        (lambda: ab.compare_means_from_stats(sums(np.ones(5)), (5, 2.0, 3.0)), "treatment"),
        (
            lambda: ab.compare_proportions_from_stats(sums([0.0, 2.0]), proportion(3, 10)),
            "control",
        ),
        (
            lambda: ab.compare_proportions_from_stats(proportion(1, 10), {"n": 10, "sum": 1}),
            "treatment",
        ),
        (lambda: ab.compare_proportions([0, 1, 2], [0, 1]), "y_control"),
        (lambda: ab.compare_proportions([0, 1], [0, 1], interval="exact"), "interval"),
        (lambda: ab.estimate_relative_lift([0.0, 0.0], [1.0, 2.0]), "y_control"),
        (lambda: ab.estimate_relative_lift([1.0, 2.0], [1.0, 2.0], method="log"), "method"),
        (lambda: ab.compare_ratio_metrics([1, 2], [1, 2, 3], [1, 2], [3, 4]), "numerator_control"),
        (
            lambda: ab.compare_ratio_metrics([1, 2], [0, 0], [1, 2], [3, 4]),
            "denominator_control",
        ),
        (lambda: ab.check_sample_ratio([100]), "counts"),
        (lambda: ab.check_sample_ratio([100, -1]), "counts"),
        (lambda: ab.check_sample_ratio([100, 10.5]), "counts"),
        (lambda: ab.check_sample_ratio([100, 100], [0.5]), "planned_shares"),
        (lambda: ab.assign_arms([1, 2], "e", ["a"]), "arms"),
        (lambda: ab.assign_arms([1, 2], "e", traffic_fraction=0.0), "traffic_fraction"),
        (lambda: ab.assign_arms([1, 2], "e", weights=[1, 0]), "weights"),
        (lambda: ab.assign_arms([1, 2], "e", weights=[1, 1e-4]), "weights"),
        (lambda: ab.assign_arms([1, 2], ""), "experiment_id"),
        (lambda: ab.hash_to_unit_interval([1], ""), "salt"),
        (lambda: ab.assign_complete(10, 10), "n_treated"),
        (lambda: ab.assign_stratified(["a", "b", "b"]), "strata"),
        (lambda: ab.assign_stratified(["a", "a", None, None]), "strata"),
        (lambda: ab.assign_stratified([]), "strata"),
        (lambda: ab.assign_stratified(["a", "a"], treatment_share=1.0), "treatment_share"),
        (lambda: ab.sample_size_proportions(0.1, 1.2), "p_treatment"),
        (lambda: ab.sample_size_proportions(-0.1, 0.2), "p_control"),
        (lambda: ab.sample_size_proportions(0.1, 0.1), "p_treatment"),
        (lambda: ab.sample_size_proportions(0.1, 0.2, power=1.0), "power"),
        (lambda: ab.sample_size_means(0.0, 1.0), "effect"),
        (lambda: ab.power_means(1.0, 0.0, 10), "sd"),
        (lambda: ab.adjust_p_values([0.1, 1.2]), "p_values"),
        (lambda: ab.adjust_p_values([0.1, np.nan]), "p_values"),
        (lambda: ab.adjust_p_values([0.1], method="sidak"), "method"),
        (lambda: ab.probability_treatment_better(5, 4, 1, 4), "successes_control"),
        (lambda: ab.probability_treatment_better(1, 4, 1, 4, prior_alpha=0), "prior_alpha"),
        (lambda: ab.bootstrap_difference([1.0], [1.0, 2.0]), "y_control"),
        (
            lambda: ab.estimate_regression_effect(
                pd.DataFrame({"y": [1.0, 2], "treatment": [1, 1]})
            ),
            "treatment",
        ),
        (lambda: ab.estimate_regression_effect(pd.DataFrame({"y": [1.0, 2]})), "data"),
        (
            lambda: ab.estimate_stratified_effect(
                pd.DataFrame(
                    {"y": [1.0, 2, 3, 4], "treatment": [0, 1, 0, 1], "stratum": [0, 0, 0, 1]}
                )
            ),
            "stratum",
        ),
        (lambda: ab.summarize_ratio_metric([1, 2], [1, 2, 3]), "numerator"),
        (lambda: ab.summarize_ratio_metric([1.0, np.nan], [1, 2]), "numerator"),
        (lambda: simulate_ab_users(5), "n_users"),
        (lambda: simulate_ab_users(100, baseline_conversion=1.5), "baseline_conversion"),
        (lambda: simulate_clicks_pageviews(10, 10, ctr=0.0), "ctr"),
    ],
)
def test_bad_input_raises_value_error_naming_argument(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ properties
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
samples = st.lists(finite, min_size=3, max_size=30).filter(lambda v: np.ptp(v) > 1e-3)


@settings(max_examples=60, deadline=None)
@given(control=samples, treatment=samples, shift=finite)
def test_welch_swap_flips_sign_and_shift_is_invariant(control, treatment, shift) -> None:
    forward = ab.compare_means(control, treatment)
    backward = ab.compare_means(treatment, control)
    assert backward.estimate == pytest.approx(-forward.estimate, abs=1e-9)
    assert backward.p_value == pytest.approx(forward.p_value, abs=1e-9)
    assert (backward.ci_low, backward.ci_high) == pytest.approx(
        (-forward.ci_high, -forward.ci_low), abs=1e-6
    )
    shifted = ab.compare_means(np.add(control, shift), np.add(treatment, shift))
    assert shifted.estimate == pytest.approx(forward.estimate, abs=1e-6)
    assert shifted.se == pytest.approx(forward.se, rel=1e-6, abs=1e-9)


counts = st.tuples(st.integers(1, 500), st.integers(0, 500)).map(lambda t: (min(t), max(t)))


# Draws where every arm is all 0 or all 1 get the documented se -> 0 limit with its
# warning; the sign flip holds there too, so that warning is expected, not a failure.
@pytest.mark.filterwarnings(
    # ("." stands for the message's colon, which the filter syntax reserves)
    "ignore:compare_proportions. every arm is all 0 or all 1"
    ":playbook_lib.validation.PlaybookWarning"
)
@settings(max_examples=60, deadline=None)
@given(control=counts, treatment=counts)
def test_proportions_swap_flips_sign(control, treatment) -> None:
    (s_c, n_c), (s_t, n_t) = control, treatment
    n_c, n_t = max(n_c, 1), max(n_t, 1)
    if s_c + s_t in (0, n_c + n_t):
        return
    forward = ab.compare_proportions_from_stats(proportion(s_c, n_c), proportion(s_t, n_t))
    backward = ab.compare_proportions_from_stats(proportion(s_t, n_t), proportion(s_c, n_c))
    assert backward.estimate == pytest.approx(-forward.estimate, abs=1e-12)
    assert backward.p_value == pytest.approx(forward.p_value, abs=1e-12)
    probability = ab.probability_treatment_better(s_c, n_c, s_t, n_t)
    reverse = ab.probability_treatment_better(s_t, n_t, s_c, n_c)
    assert probability + reverse == pytest.approx(1.0, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(shift=finite, seed=st.integers(0, 1000))
def test_regression_effect_shift_invariant(shift, seed) -> None:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame({"treatment": np.r_[np.zeros(10), np.ones(10)], "y": rng.normal(size=20)})
    base = ab.estimate_regression_effect(data)
    moved = ab.estimate_regression_effect(data.assign(y=data.y + shift))
    assert moved.estimate == pytest.approx(base.estimate, abs=1e-8)
    assert moved.se == pytest.approx(base.se, rel=1e-6)


def test_every_estimator_returns_the_shared_estimate() -> None:
    assert isinstance(ab.compare_means([1.0, 2, 3], [2.0, 3, 5]), Estimate)
    assert isinstance(ab.estimate_beta_binomial(3, 10, 5, 10), Estimate)
    assert isinstance(ab.simulate_power_means(1.0, 1.0, 10, n_sims=100, rng=1), Estimate)


# ------------------------------------------------------------------ contract regressions
def test_stratified_effect_refuses_rows_without_a_stratum() -> None:
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {
            "y": rng.normal(size=400),
            "treatment": np.tile([0, 1], 200),
            "stratum": np.repeat([0.0, 1.0, 2.0, 3.0], 100),
        }
    )
    data.loc[data.index[:100], "stratum"] = np.nan  # 300 of 400 rows have a stratum
    with pytest.raises(ValueError, match="stratum.*100 missing"):
        ab.estimate_stratified_effect(data)


def test_regression_effect_of_a_constant_outcome_is_zero_with_p_one() -> None:
    data = pd.DataFrame({"y": np.full(40, 3.0), "treatment": np.tile([0, 1], 20)})
    with pytest.warns(pl_warning):
        result = ab.estimate_regression_effect(data)
    assert (result.estimate, result.se, result.p_value) == (0.0, 0.0, 1.0)
    assert result.ci_low == result.ci_high == 0.0
    covariate = data.assign(x=np.arange(40.0))
    with pytest.warns(pl_warning):
        adjusted = ab.estimate_regression_effect(covariate, covariates=["x"])
    assert adjusted.p_value == 1.0 and adjusted.estimate == 0.0


def test_relative_lift_with_control_mean_zero_is_refused() -> None:
    for control in ([-0.1, 0.1, 0.2, -0.2], [0.1, 0.2, -0.3], [0.0, 0.0, 0.0]):
        with pytest.raises(ValueError, match="y_control"):
            ab.estimate_relative_lift(control, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="control"):
        ab.estimate_relative_lift_from_stats(proportion(0, 100), proportion(5, 100))


_ARM = ArmStatistics(10, 20.0, 50.0)
_ARMS = ArmStatistics(np.array([10, 10]), np.array([20.0, 21.0]), np.array([50.0, 52.0]))
_RATIO = RatioStatistics.from_values([1.0, 0.0, 2.0], [2.0, 3.0, 4.0])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ab.compare_means_from_stats((10, 20.0, 50.0), _ARM), "control"),
        (lambda: ab.compare_means_from_stats(_ARM, "10"), "treatment"),
        (lambda: ab.compare_means_from_stats(_ARMS, _ARM), "control"),
        (lambda: ab.compare_means_from_stats(_ARM, _RATIO), "treatment"),
        (lambda: ab.compare_proportions_from_stats(proportion([3, 4], 10), _ARM), "control"),
        (lambda: ab.compare_proportions_from_stats(proportion(3, 10), _ARM), "treatment"),
        (lambda: ab.estimate_relative_lift_from_stats(_ARM, _ARMS), "treatment"),
        (
            lambda: ab.estimate_relative_lift_from_stats(ArmStatistics(10, 0.0, 5.0), _ARM),
            "control",
        ),
        (lambda: ab.batch_compare_means(_ARMS, {"n": 10}), "treatment"),
        (
            lambda: ab.batch_compare_means(ArmStatistics([1, 2], [1.0, 2.0], [1.0, 2.0]), _ARM),
            "control",
        ),
        (lambda: ab.batch_compare_proportions(_ARMS, proportion(4, 10)), "control"),
        (lambda: ab.batch_estimate_relative_lift(_ARMS, "x"), "treatment"),
        (lambda: ab.compare_ratio_metrics_from_stats(_ARM, _RATIO), "control"),
        (
            lambda: ab.compare_ratio_metrics_from_stats(
                _RATIO, ab.summarize_ratio_metric(np.ones((2, 3)), np.ones((2, 3)))
            ),
            "treatment",
        ),
        (
            lambda: ab.batch_compare_ratio_metrics({"n": 10, "sum_numerator": 5.0}, _RATIO),
            "control",
        ),
        (lambda: ab.summarize_ratio_metric(["1", "2"], [1, 2]), "numerator"),
    ],
)
def test_wrong_types_and_arrays_are_refused_by_the_twins(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_agresti_caffo_and_wald_intervals_stay_in_minus_one_one() -> None:
    none, every = proportion(0, 5), proportion(5, 5)
    caffo = ab.compare_proportions_from_stats(none, every, interval="agresti-caffo")
    assert -1.0 <= caffo.ci_low <= caffo.ci_high <= 1.0
    assert caffo.ci_high == 1.0  # unclipped it would be about 1.08
    reverse = ab.compare_proportions_from_stats(every, none, interval="agresti-caffo")
    assert reverse.ci_low == -1.0
    batch = ab.batch_compare_proportions(
        proportion([0, 5], 5), proportion([5, 0], 5), interval="agresti-caffo"
    ).to_frame()
    assert (batch.ci_low >= -1).all() and (batch.ci_high <= 1).all()
    wald = ab.compare_proportions_from_stats(proportion(1, 60), proportion(59, 60))
    assert -1.0 <= wald.ci_low <= wald.ci_high <= 1.0
    one_sided = ab.compare_proportions_from_stats(
        proportion(3, 20), proportion(9, 25), alternative="larger"
    )
    assert one_sided.ci_high == 1.0


def test_no_successes_in_either_arm_is_an_effect_of_zero() -> None:
    with pytest.warns(pl_warning, match="agresti-caffo"):
        wald = ab.compare_proportions_from_stats(proportion(0, 10), proportion(0, 12))
    assert (wald.estimate, wald.se, wald.p_value, wald.ci) == (0.0, 0.0, 1.0, (0.0, 0.0))
    assert wald.details["z"] == 0.0
    caffo = ab.compare_proportions_from_stats(
        proportion(0, 10), proportion(0, 10), interval="agresti-caffo"
    )
    assert caffo.estimate == 0.0 and caffo.p_value == 1.0
    assert caffo.ci_low == pytest.approx(-caffo.ci_high) and 0.2 < caffo.ci_high < 0.35
    rows = ab.compare_proportions(np.zeros(10), np.zeros(10), interval="agresti-caffo")
    assert rows.ci == caffo.ci
    batch = ab.batch_compare_proportions(proportion([0, 3], 10), proportion([0, 4], 10))
    assert batch[0].p_value == 1.0 and batch[0].details["z"] == 0.0
    numbers = ["estimate", "se", "ci_low", "ci_high", "p_value", "z"]
    assert np.isfinite(batch.to_frame()[numbers].to_numpy(dtype=float)).all()


def test_both_arms_constant_give_a_point_interval_without_runtime_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(pl_warning):
            same = ab.compare_means([2.0, 2.0, 2.0], [2.0, 2.0])
        assert (same.estimate, same.se, same.p_value, same.df) == (0.0, 0.0, 1.0, None)
        with pytest.warns(pl_warning):
            apart = ab.compare_means_from_stats(
                ArmStatistics(3, 6.0, 12.0), ArmStatistics(4, 12.0, 36.0)
            )
        assert (apart.estimate, apart.se, apart.p_value) == (1.0, 0.0, 0.0)
        assert apart.ci == (1.0, 1.0)
        batch = ab.batch_compare_means(
            ArmStatistics([3, 3], [6.0, 6.0], [12.0, 14.0]), ArmStatistics(4, 12.0, 36.0)
        )
        assert batch[0].p_value == 0.0 and batch[0].se == 0.0 and batch[0].df is None
        assert np.isfinite([batch[1].se, batch[1].df, batch[1].ci_low, batch[1].ci_high]).all()
        with pytest.warns(pl_warning):
            boot = ab.bootstrap_difference(np.ones(10), np.full(8, 3.0), rng=1)
        assert (boot.estimate, boot.se, boot.ci) == (2.0, 0.0, (2.0, 2.0))
        with pytest.warns(pl_warning):
            lift = ab.estimate_relative_lift([2.0, 2.0], [3.0, 3.0], method="fieller")
        assert lift.estimate == pytest.approx(0.5) and lift.ci_low == lift.ci_high


def test_bootstrap_bca_falls_back_to_percentile_when_undefined() -> None:
    control = np.r_[np.zeros(28), 1.0, 2.0]
    treatment = np.r_[np.zeros(25), 3.0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ab.bootstrap_difference(control, treatment, statistic=np.median, rng=3)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert np.isfinite([result.ci_low, result.ci_high]).all()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ab.assign_complete(10, 3, rng="seed"), "rng"),
        (lambda: ab.assign_stratified(["a", "a", "b", "b"], rng=1.5), "rng"),
        (lambda: ab.bootstrap_difference([1.0, 2.0], [1.0, 3.0], rng=-1), "rng"),
        (lambda: ab.simulate_power_means(1.0, 1.0, 10, n_sims=100, rng="x"), "rng"),
        (lambda: ab.simulate_power_proportions(0.1, 0.2, 10, n_sims=100, rng=[1]), "rng"),
        (lambda: simulate_ab_users(100, rng="x"), "rng"),
        (lambda: ab.compare_ratio_metrics([1, 2, 3], [1, 2], [1, 2], [3, 4]), "numerator_control"),
        (lambda: ab.summarize_ratio_metric([1, 2, 3], [1, 2]), "numerator"),
        (
            lambda: ab.batch_compare_proportions(proportion([1, 2, 3], 10), proportion([1, 2], 10)),
            "control",
        ),
        (lambda: ab.assign_arms(["a", "b"], "e", weights=[1.0, -1.0]), "weights"),
        (lambda: ab.assign_arms(["a", "b"], "e", weights=[0.5, 0.3, 0.2]), "weights"),
        (lambda: ab.assign_arms(["a", "b"], "e", traffic_fraction=1.5), "traffic_fraction"),
        (lambda: ab.assign_arms(["a", "b"], "e", traffic_fraction=-0.1), "traffic_fraction"),
        (lambda: ab.assign_arms("ab", "e"), "unit_ids"),
        (lambda: ab.hash_to_bucket(["a", None], "e"), "unit_ids"),
        (lambda: ab.sample_size_proportions(0.0, 0.1), "p_control"),
        (lambda: ab.sample_size_proportions(0.1, 1.0), "p_treatment"),
        (lambda: ab.power_proportions(0.1, 1.1, 100), "p_treatment"),
        (lambda: ab.sample_size_means(0.0, 1.0), "effect"),
        (lambda: ab.adjust_p_values([0.1, -0.2]), "p_values"),
        (lambda: ab.adjust_p_values({"a": 0.1, "b": float("nan")}), "p_values"),
        (lambda: ab.adjust_p_values(0.3), "p_values"),
        (lambda: ab.estimate_beta_binomial(1, 4, 1, 4, prior_beta=0.0), "prior_beta"),
        (lambda: ab.estimate_beta_binomial(1, 4, 1, 4, prior_alpha=-1.0), "prior_alpha"),
        (lambda: ab.probability_treatment_better(1, 4, 1, 4, prior_beta="1"), "prior_beta"),
    ],
)
def test_rng_lengths_assignment_power_and_priors_are_validated(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_relative_weights_are_normalised() -> None:
    ids = [f"u{i}" for i in range(20_000)]
    arms = ab.assign_arms(ids, "weights", weights=[1.0, 3.0])
    assert np.mean(arms == "treatment") == pytest.approx(0.75, abs=0.02)
    same = ab.assign_arms(ids, "weights", weights=[0.25, 0.75])
    assert np.array_equal(arms, same)


# ------------------------------------------------------------------ contract properties
grid = st.integers(-8000, 8000).map(lambda k: k / 8)  # exact in binary, so y + c is exact
grid_samples = st.lists(grid, min_size=3, max_size=25).filter(lambda v: np.ptp(v) > 0)


@settings(max_examples=50, deadline=None)
@given(control=grid_samples, treatment=grid_samples, shift=st.integers(-(10**9), 10**9))
def test_welch_is_shift_invariant_to_1e9_for_large_offsets(control, treatment, shift) -> None:
    base = ab.compare_means(control, treatment)
    moved = ab.compare_means(np.add(control, shift), np.add(treatment, shift))
    scale = base.se + abs(base.estimate)
    assert moved.estimate == pytest.approx(base.estimate, rel=1e-9, abs=1e-9 * scale)
    assert moved.se == pytest.approx(base.se, rel=1e-9)
    assert moved.p_value == pytest.approx(base.p_value, rel=1e-9, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(control=samples, treatment=samples, factor=st.floats(1e-3, 1e3))
def test_welch_scales_with_the_outcome_and_stats_twin_agrees(control, treatment, factor) -> None:
    base = ab.compare_means(control, treatment)
    scaled = ab.compare_means(np.multiply(control, factor), np.multiply(treatment, factor))
    assert scaled.estimate == pytest.approx(
        factor * base.estimate, rel=1e-9, abs=1e-9 * factor * base.se
    )
    assert scaled.se == pytest.approx(factor * base.se, rel=1e-9)
    c, t = np.asarray(control), np.asarray(treatment)
    # Aggregates of centred data (what a well-written warehouse query returns).
    centre = float(np.median(c))
    twin = ab.compare_means_from_stats(sums(c - centre), sums(t - centre))
    assert twin.estimate == pytest.approx(base.estimate, rel=1e-9, abs=1e-9 * base.se)
    assert twin.se == pytest.approx(base.se, rel=1e-9)
    batch = ab.batch_compare_means(sums(c - centre), sums(t - centre))
    assert batch[0].se == pytest.approx(twin.se, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(control=counts, treatment=counts, caffo=st.booleans())
def test_proportion_intervals_flip_with_the_arms_and_match_the_batch(
    control, treatment, caffo
) -> None:
    (s_c, n_c), (s_t, n_t) = control, treatment
    n_c, n_t = max(n_c, 1), max(n_t, 1)
    interval = "agresti-caffo" if caffo else "wald"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pl_warning)  # the point-interval notice for Wald
        arms = (proportion(s_c, n_c), proportion(s_t, n_t))
        forward = ab.compare_proportions_from_stats(*arms, interval=interval)
        backward = ab.compare_proportions_from_stats(*arms[::-1], interval=interval)
    assert backward.estimate == pytest.approx(-forward.estimate, abs=1e-12)
    assert (backward.ci_low, backward.ci_high) == pytest.approx(
        (-forward.ci_high, -forward.ci_low), abs=1e-12
    )
    assert -1 <= forward.ci_low <= forward.estimate <= forward.ci_high <= 1 or caffo
    assert -1 <= forward.ci_low <= forward.ci_high <= 1
    batch = ab.batch_compare_proportions(*arms, interval=interval)
    assert batch[0].ci_low == pytest.approx(forward.ci_low, abs=1e-15)
    assert batch[0].p_value == pytest.approx(forward.p_value, abs=1e-15)
