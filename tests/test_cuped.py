"""Tests of playbook_lib.cuped, the e-commerce simulator and the NSW loader.

References: statsmodels OLS (CUPED = ANCOVA coefficient; Lin's interacted regression with
HC2), scipy's Welch t-test, a hand-written HC2 sandwich, exact theory (1 - rho² variance
factor, the unbiasedness of CUPED under randomisation), and the published NSW experimental
benchmark (Dehejia & Wahba 1999, Table 3: $1,794 for the difference in 1978 earnings).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.ensemble import HistGradientBoostingRegressor

import playbook_lib as pl
from playbook_lib import cuped
from playbook_lib.aggregates import CovariateStatistics
from playbook_lib.simulate import ecommerce


def _experiment(n: int = 400, treated_share: float = 0.3, k: int = 1, seed: int = 0):
    """A skewed experiment with an imbalanced split and k covariates."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 10.0, (n, k))
    treatment = (rng.random(n) < treated_share).astype(int)
    treatment[:2], treatment[2:4] = 1, 0
    y = 3 + x @ np.linspace(0.8, 0.2, k) + rng.normal(0, 6, n) + 2.5 * treatment
    return y, (x[:, 0] if k == 1 else x), treatment


def _table(estimates: list[pl.Estimate], se: str | None = None) -> pl.Estimates:
    """Many single-experiment estimates as one table, rebuilt from estimate, se and df
    (``se`` names a ``details`` entry to use instead, e.g. ``"sample_se"``)."""
    return pl.Estimates.from_standard_errors(
        estimates[0].method,
        [result.estimate for result in estimates],
        [result.se if se is None else result.details[se] for result in estimates],
        alpha=estimates[0].alpha,
        df=[result.df for result in estimates],
    )


# ------------------------------------------------------------------ reference values
@pytest.mark.parametrize("k", [1, 3])
def test_cuped_equals_ols_coefficients(k: int) -> None:
    y, x, t = _experiment(k=k)
    result = cuped.estimate_cuped(y, x, t)
    design = np.column_stack([np.ones_like(y), t, x])
    fit = sm.OLS(y, design).fit()
    assert abs(result.estimate - fit.params[1]) < 1e-8
    assert np.allclose(np.atleast_1d(result.details["theta"]), fit.params[2:], atol=1e-8, rtol=0)
    # within-arm R² equals the R² of the residualised regression (Frisch-Waugh)
    residual_y = sm.OLS(y, np.column_stack([np.ones_like(y), t])).fit().resid
    residual_x = sm.OLS(x, np.column_stack([np.ones_like(y), t])).fit().resid
    r_squared = sm.OLS(residual_y, residual_x).fit().rsquared
    assert abs(result.details["r_squared"] - r_squared) < 1e-10


def test_theta_total_is_textbook_cov_over_var() -> None:
    y, x, t = _experiment()
    result = cuped.estimate_cuped(y, x, t, theta_method="total")
    theta = np.cov(y, x, ddof=1)[0, 1] / np.var(x, ddof=1)
    assert abs(result.details["theta"] - theta) < 1e-12
    adjusted = y - theta * (x - x.mean())
    assert abs(result.estimate - (adjusted[t == 1].mean() - adjusted[t == 0].mean())) < 1e-10


def test_theta_zero_is_welch_t_test() -> None:
    y, x, t = _experiment()
    result = cuped.estimate_cuped(y, x, t, theta=0.0)
    welch = stats.ttest_ind(y[t == 1], y[t == 0], equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert abs(result.p_value - welch.pvalue) < 1e-12
    assert abs(result.ci_low - ci.low) < 1e-10 and abs(result.ci_high - ci.high) < 1e-10
    assert abs(result.df - welch.df) < 1e-8
    assert result.details["variance_reduction"] == pytest.approx(0.0, abs=1e-12)


def test_cuped_se_is_welch_on_adjusted_outcome() -> None:
    y, x, t = _experiment()
    result = cuped.estimate_cuped(y, x, t)
    adjusted = y - result.details["theta"] * x
    welch = stats.ttest_ind(adjusted[t == 1], adjusted[t == 0], equal_var=False)
    assert abs(result.estimate / result.se - welch.statistic) < 1e-9
    assert abs(result.p_value - welch.pvalue) < 1e-12


def test_from_stats_matches_rows() -> None:
    y, x, t = _experiment(seed=3)
    y = y + 1_000.0  # a large mean stresses the raw-sums formulas
    rows = cuped.estimate_cuped(y, x, t)
    control, treatment = cuped.summarize_arms(y, x, t)
    aggregate = cuped.estimate_cuped_from_stats(control, treatment)
    for field in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        assert abs(getattr(rows, field) - getattr(aggregate, field)) < 1e-10, field
    assert abs(rows.df / aggregate.df - 1) < 1e-10  # df is large: compare relatively
    assert abs(rows.details["theta"] - aggregate.details["theta"]) < 1e-10
    assert abs(rows.details["rho"] - aggregate.details["rho"]) < 1e-10


def test_from_stats_with_the_arms_swapped_flips_the_sign() -> None:
    y, x, t = _experiment(seed=5)
    control, treatment = cuped.summarize_arms(y, x, t)
    forward = cuped.estimate_cuped_from_stats(control, treatment)
    backward = cuped.estimate_cuped_from_stats(treatment, control)
    assert backward.estimate == pytest.approx(-forward.estimate, rel=1e-12)
    assert (backward.ci_low, backward.ci_high) == pytest.approx(
        (-forward.ci_high, -forward.ci_low), rel=1e-12
    )
    assert backward.se == pytest.approx(forward.se, rel=1e-12)
    assert backward.p_value == pytest.approx(forward.p_value, rel=1e-9)
    assert backward.details["theta"] == pytest.approx(forward.details["theta"], rel=1e-12)


def test_from_stats_accepts_a_group_by_result() -> None:
    y, x, t = _experiment(seed=4)
    frame = pd.DataFrame({"y": y, "x": x, "t": t})
    sums = (
        frame.assign(y2=frame.y**2, x2=frame.x**2, xy=frame.x * frame.y)
        .groupby("t")
        .agg(
            n=("y", "size"),
            sum_outcome=("y", "sum"),
            sum_covariate=("x", "sum"),
            sum_outcome_squares=("y2", "sum"),
            sum_covariate_squares=("x2", "sum"),
            sum_cross_products=("xy", "sum"),
        )
    )
    control, treatment = (CovariateStatistics(**sums.loc[arm]) for arm in (0, 1))
    aggregate = cuped.estimate_cuped_from_stats(control, treatment)
    rows = cuped.estimate_cuped("y", "x", "t", data=frame)
    assert abs(aggregate.estimate - rows.estimate) < 1e-10


def test_from_stats_takes_one_experiments_covariate_statistics() -> None:
    y, x, t = _experiment(seed=4)
    control, treatment = cuped.summarize_arms(y, x, t)
    with pytest.raises(ValueError, match="control"):
        cuped.estimate_cuped_from_stats(control.to_dict(), treatment)
    with pytest.raises(ValueError, match="treatment"):
        cuped.estimate_cuped_from_stats(control, CovariateStatistics(1, 1.0, 1.0, 1.0, 1.0, 1.0))
    daily = CovariateStatistics(*(np.array([v, v]) for v in control.to_dict().values()))
    with pytest.raises(ValueError, match="control"):
        cuped.estimate_cuped_from_stats(daily, treatment)
    with pytest.raises(ValueError, match="covariate"):
        cuped.summarize_arms(y, np.column_stack([x, x**2]), t)


def test_batch_matches_single_experiment_functions() -> None:
    rng = np.random.default_rng(5)
    world = ecommerce.simulate_pre_post_metrics(
        4, 120, correlation=0.6, effect=0.2, treated_fraction=0.3, slope_difference=0.5, rng=rng
    )
    y, x, t = world["outcome"], world["covariate"], world["treatment"]
    batch = cuped.batch_estimate_cuped(y, x, t).to_frame()
    plain = cuped.batch_estimate_cuped(y, x, t, method="difference").to_frame()
    lin = cuped.batch_estimate_cuped(y, x, t, method="lin").to_frame()
    for row in range(4):
        single = cuped.estimate_cuped(y[row], x[row], t[row])
        assert abs(batch["estimate"][row] - single.estimate) < 1e-10
        assert abs(batch["se"][row] - single.se) < 1e-10
        assert abs(batch["ci_high"][row] - single.ci_high) < 1e-9
        welch = stats.ttest_ind(y[row][t[row] == 1], y[row][t[row] == 0], equal_var=False)
        assert abs(plain["p_value"][row] - welch.pvalue) < 1e-10
        reference = cuped.estimate_regression_adjustment(y[row], x[row], t[row], method="lin")
        assert abs(lin["estimate"][row] - reference.estimate) < 1e-10


def test_batch_with_include_equals_subset() -> None:
    y, x, t = _experiment(n=300, seed=6)
    keep = np.arange(300) % 3 != 0
    batch = cuped.batch_estimate_cuped(y[None], x[None], t[None], include=keep[None]).to_frame()
    single = cuped.estimate_cuped(y[keep], x[keep], t[keep])
    assert abs(batch["estimate"][0] - single.estimate) < 1e-10
    assert abs(batch["se"][0] - single.se) < 1e-10


def _hc2_se(design: np.ndarray, y: np.ndarray, column: int) -> float:
    """HC2 sandwich by hand (MacKinnon & White 1985)."""
    bread = np.linalg.inv(design.T @ design)
    beta = bread @ design.T @ y
    residual = y - design @ beta
    leverage = np.einsum("ij,jk,ik->i", design, bread, design)
    meat = design.T @ (design * (residual**2 / (1 - leverage))[:, None])
    return float(np.sqrt((bread @ meat @ bread)[column, column]))


def test_lin_matches_per_arm_regressions_and_hand_hc2() -> None:
    y, x, t = _experiment(n=500, seed=7)
    result = cuped.estimate_regression_adjustment(y, x, t, method="lin")
    predictions = []
    for arm in (0, 1):
        coefficients = np.polyfit(x[t == arm], y[t == arm], 1)
        predictions.append(np.polyval(coefficients, x.mean()))
    assert abs(result.estimate - (predictions[1] - predictions[0])) < 1e-8
    centred = x - x.mean()
    design = np.column_stack([np.ones_like(y), t, centred, t * centred])
    assert abs(result.se - _hc2_se(design, y, 1)) < 1e-10
    assert result.df == len(y) - 4
    ancova = cuped.estimate_regression_adjustment(y, x, t, method="ancova")
    assert abs(ancova.estimate - cuped.estimate_cuped(y, x, t).estimate) < 1e-8
    design = np.column_stack([np.ones_like(y), t, centred])
    assert abs(ancova.se - _hc2_se(design, y, 1)) < 1e-10


def test_post_stratification_equals_lin_on_stratum_indicators() -> None:
    rng = np.random.default_rng(8)
    n = 900
    strata = rng.choice(["a", "b", "c", "d"], n, p=[0.1, 0.2, 0.3, 0.4])
    level = pd.Series(strata).map({"a": 0.0, "b": 2.0, "c": 5.0, "d": 9.0}).to_numpy()
    t = (rng.random(n) < 0.4).astype(int)
    y = level + rng.normal(0, 1 + level / 3, n) + 0.7 * t
    result = cuped.estimate_post_stratified(y, strata, t)
    dummies = pd.get_dummies(strata, drop_first=True, dtype=float).to_numpy()
    lin = cuped.estimate_regression_adjustment(y, dummies, t, method="lin")
    assert abs(result.estimate - lin.estimate) < 1e-8
    assert abs(result.se - lin.se) < 1e-8
    frame = pd.DataFrame({"y": y, "s": strata, "t": t})
    means = frame.groupby(["s", "t"])["y"].mean().unstack()
    weights = frame["s"].value_counts(normalize=True).sort_index()
    assert abs(result.estimate - float(weights @ (means[1] - means[0]))) < 1e-10


def test_ratio_without_covariates_is_the_delta_method() -> None:
    rng = np.random.default_rng(9)
    n = 800
    sessions = rng.poisson(4, n) + 1.0
    revenue = sessions * rng.gamma(2, 1.5, n)
    t = (rng.random(n) < 0.5).astype(int)
    result = cuped.estimate_ratio_cuped(revenue, sessions, t)
    ratios = [revenue[t == arm].sum() / sessions[t == arm].sum() for arm in (0, 1)]
    assert abs(result.estimate - (ratios[1] - ratios[0])) < 1e-12
    # Reference: per arm, WLS of revenue/sessions on a constant with weights = sessions has
    # coefficient sum(revenue)/sum(sessions) and HC0 variance equal to the delta-method variance
    # with ddof=0; rescale by n/(n-1) for the ddof=1 convention.
    variance = 0.0
    for arm in (0, 1):
        mask = t == arm
        fit = sm.WLS(
            revenue[mask] / sessions[mask], np.ones(mask.sum()), weights=sessions[mask]
        ).fit(cov_type="HC0")
        assert abs(fit.params[0] - ratios[arm]) < 1e-12
        variance += fit.bse[0] ** 2 * mask.sum() / (mask.sum() - 1)
    assert abs(result.se - np.sqrt(variance)) < 1e-12


def test_ratio_cuped_se_is_the_delta_method_of_the_adjusted_ratio() -> None:
    """Exact first-order delta method by a numerical gradient, with a large effect on both
    numerator and denominator (where the pooled-covariate-mean term matters)."""
    rng = np.random.default_rng(15)
    n = 3_000
    activity = rng.gamma(2.0, 2.0, n)
    pre_sessions = rng.poisson(activity) + 1.0
    value = rng.gamma(4.0, 0.5, n)
    t = (rng.random(n) < 0.3).astype(float)
    sessions = (rng.poisson(activity) + 1.0) * (1 + 0.5 * t)
    revenue = sessions * value * (1 + 0.4 * t) + rng.normal(0, 1, n)
    covariates = np.column_stack([pre_sessions * value + rng.normal(0, 1, n), pre_sessions])
    result = cuped.estimate_ratio_cuped(revenue, sessions, t, covariates=covariates)
    theta_y = np.array(result.details["theta_numerator"])
    theta_m = np.array(result.details["theta_denominator"])
    arms = (t == 0, t == 1)
    sizes = np.array([arm.sum() for arm in arms], dtype=float)

    def difference(means: np.ndarray) -> float:  # per arm: mean revenue, sessions, w1, w2
        blocks = means.reshape(2, 4)
        pooled = sizes @ blocks[:, 2:] / sizes.sum()
        ratios = [
            (b[0] - (b[2:] - pooled) @ theta_y) / (b[1] - (b[2:] - pooled) @ theta_m)
            for b in blocks
        ]
        return ratios[1] - ratios[0]

    point = np.concatenate(
        [np.r_[revenue[a].mean(), sessions[a].mean(), covariates[a].mean(0)] for a in arms]
    )
    gradient = np.array(
        [(difference(point + step) - difference(point - step)) / 2e-6 for step in np.eye(8) * 1e-6]
    )
    covariance = np.zeros((8, 8))
    for index, arm in enumerate(arms):
        rows = np.column_stack([revenue[arm], sessions[arm], covariates[arm]])
        covariance[4 * index : 4 * index + 4, 4 * index : 4 * index + 4] = (
            np.cov(rows.T) / arm.sum()
        )
    assert abs(result.estimate - difference(point)) < 1e-12
    assert abs(result.se / np.sqrt(gradient @ covariance @ gradient) - 1) < 1e-6


def test_lin_population_se_adds_the_heterogeneity_term() -> None:
    y, x, t = _experiment(n=500, seed=16)
    y = y + 0.6 * t * (x - x.mean())  # slopes differ between the arms
    sample = cuped.estimate_regression_adjustment(y, x, t)
    population = cuped.estimate_regression_adjustment(y, x, t, estimand="population")
    slopes = [np.polyfit(x[t == arm], y[t == arm], 1)[0] for arm in (0, 1)]
    extra = (slopes[1] - slopes[0]) ** 2 * x.var(ddof=1) / x.size
    assert population.estimate == sample.estimate
    assert abs(population.details["heterogeneity_variance"] - extra) < 1e-12
    assert abs(population.se**2 - (sample.se**2 + extra)) < 1e-12
    assert population.details["sample_se"] == sample.se
    with pytest.raises(ValueError, match="estimand"):
        cuped.estimate_regression_adjustment(y, x, t, estimand="superpopulation")
    with pytest.raises(ValueError, match="estimand"):
        cuped.estimate_regression_adjustment(y, x, t, method="ancova", estimand="population")


def test_lin_population_se_covers_the_population_effect() -> None:
    # Heterogeneous slopes and an uneven split: the sandwich (sample) se covers the sample
    # average effect but not the population one; the population se covers the latter.
    n_sims = 600
    world = ecommerce.simulate_pre_post_metrics(
        n_sims, 200, correlation=0.3, effect=0.1, treated_fraction=0.2, slope_difference=1.5, rng=25
    )
    fits = [  # statsmodels fits one experiment at a time
        cuped.estimate_regression_adjustment(
            world["outcome"][sim],
            world["covariate"][sim],
            world["treatment"][sim],
            estimand="population",
        )
        for sim in range(n_sims)
    ]
    population = _table(fits)
    sample = _table(fits, se="sample_se")
    sample_effect = 0.1 + 1.5 * world["covariate"].mean(axis=1)
    assert abs(population.coverage(0.1).details["z_vs_nominal"]) < 3
    assert abs(sample.coverage(sample_effect).details["z_vs_nominal"]) < 3


def test_cross_fitted_prediction_ignores_own_outcome() -> None:
    rng = np.random.default_rng(10)
    features = rng.normal(size=(300, 3))
    target = features[:, 0] + np.sin(features[:, 1]) + rng.normal(0, 0.5, 300)
    model = HistGradientBoostingRegressor(max_iter=20)
    first = cuped.cross_fit_predictions(features, target, model=model, rng=11)
    changed = target.copy()
    changed[17] += 1_000.0
    second = cuped.cross_fit_predictions(features, changed, model=model, rng=11)
    assert first[17] == second[17]
    assert not np.allclose(first, second)


def test_cupac_is_cuped_on_the_cross_fitted_prediction() -> None:
    rng = np.random.default_rng(12)
    n = 600
    features = rng.normal(size=(n, 2))
    t = (rng.random(n) < 0.5).astype(int)
    y = np.exp(features[:, 0]) + features[:, 1] ** 2 + rng.normal(0, 0.5, n) + 0.3 * t
    model = HistGradientBoostingRegressor(max_iter=30)
    result = cuped.estimate_cupac(y, features, t, model=model, rng=13)
    prediction = cuped.cross_fit_predictions(features, y, model=model, rng=13)
    reference = cuped.estimate_cuped(y, prediction, t)
    assert result.method == "cupac"
    assert abs(result.estimate - reference.estimate) < 1e-12
    assert result.details["variance_reduction"] > 0.3


def test_relative_lift_is_the_delta_method() -> None:
    y, x, t = _experiment(n=500, seed=14)
    y = y + 20.0
    # theta = 0: the textbook delta method for the ratio of two independent means
    plain = cuped.estimate_cuped(y, x, t, theta=0.0, relative=True)
    treated, control = y[t == 1], y[t == 0]
    assert plain.method == "cuped relative lift"
    assert abs(plain.estimate - (treated.mean() / control.mean() - 1)) < 1e-12
    variance = (
        treated.var(ddof=1) / treated.size / control.mean() ** 2
        + treated.mean() ** 2 / control.mean() ** 4 * control.var(ddof=1) / control.size
    )
    assert abs(plain.se - np.sqrt(variance)) < 1e-12
    # estimated theta: the quadratic form with a numerical gradient of the adjusted lift
    result = cuped.estimate_cuped(y, x, t, relative=True)
    theta = cuped.estimate_cuped(y, x, t).details["theta"]
    n = np.array([(t == 0).sum(), (t == 1).sum()], dtype=float)

    def lift(means: np.ndarray) -> float:  # means: y_C, x_C, y_T, x_T
        overall = (n[0] * means[1] + n[1] * means[3]) / n.sum()
        return (means[2] - theta * (means[3] - overall)) / (
            means[0] - theta * (means[1] - overall)
        ) - 1

    point = np.array([control.mean(), x[t == 0].mean(), treated.mean(), x[t == 1].mean()])
    gradient = np.array(
        [(lift(point + step) - lift(point - step)) / 2e-6 for step in np.eye(4) * 1e-6]
    )
    covariance = np.zeros((4, 4))
    for arm, block in ((0, slice(0, 2)), (1, slice(2, 4))):
        covariance[block, block] = np.cov(y[t == arm], x[t == arm]) / n[arm]
    assert abs(result.se - np.sqrt(gradient @ covariance @ gradient)) < 1e-7
    assert abs(result.estimate - lift(point)) < 1e-12
    control_stats, treatment_stats = cuped.summarize_arms(y, x, t)
    aggregate = cuped.estimate_cuped_from_stats(control_stats, treatment_stats, relative=True)
    assert abs(aggregate.estimate - result.estimate) < 1e-10
    assert abs(aggregate.se - result.se) < 1e-10


# ------------------------------------------------------------------ Monte Carlo calibration
@pytest.mark.parametrize("correlation", [0.5, 0.8])
def test_variance_ratio_and_coverage(correlation: float) -> None:
    n_sims = 4_000
    world = ecommerce.simulate_pre_post_metrics(
        n_sims, 200, correlation=correlation, effect=0.1, rng=int(correlation * 100)
    )
    adjusted = cuped.batch_estimate_cuped(world["outcome"], world["covariate"], world["treatment"])
    plain = cuped.batch_estimate_cuped(
        world["outcome"], world["covariate"], world["treatment"], method="difference"
    )
    ratio = adjusted.to_frame()["estimate"].var() / plain.to_frame()["estimate"].var()
    assert abs(ratio - (1 - correlation**2)) < 0.02
    assert abs(adjusted.coverage(0.1).details["z_vs_nominal"]) < 3
    bias = adjusted.bias(0.1)
    assert abs(bias.estimate) < 3 * bias.se


def test_type_one_error_and_lin_coverage_with_uneven_split() -> None:
    n_sims = 4_000
    world = ecommerce.simulate_pre_post_metrics(
        n_sims,
        150,
        correlation=0.5,
        effect=0.0,
        treated_fraction=0.25,
        slope_difference=1.0,
        rng=21,
    )
    for method in ("cuped", "lin"):
        result = cuped.batch_estimate_cuped(
            world["outcome"], world["covariate"], world["treatment"], method=method
        )
        size = result.rejection_rate(alpha=0.05)
        assert abs(size.details["z_vs_nominal"]) < 3, method


def test_cuped_on_the_shop_is_unbiased_and_calibrated() -> None:
    n_sims = 600
    shops = ecommerce.simulate_ecommerce_arrays(n_sims, 2_000, session_lift=0.1, rng=22)
    truth = ecommerce.ecommerce_true_effect(session_lift=0.1)
    covariates = np.stack([np.nan_to_num(shops["pre_spend"]), shops["is_new_user"]], axis=-1)
    valid = cuped.batch_estimate_cuped(shops["spend"], covariates, shops["treatment"])
    bias = valid.bias(truth)
    assert abs(bias.estimate) < 3 * bias.se
    assert abs(valid.coverage(truth).details["z_vs_nominal"]) < 3
    # A post-treatment covariate (in-experiment sessions) biases the estimate downwards.
    biased = cuped.batch_estimate_cuped(shops["spend"], shops["sessions"], shops["treatment"])
    assert biased.bias(truth).estimate < -5 * biased.bias(truth).se


def test_ratio_cuped_coverage_and_gain() -> None:
    rng = np.random.default_rng(23)
    n_sims, n = 600, 400
    activity = rng.gamma(2.0, 2.0, (n_sims, n))
    pre_sessions = rng.poisson(activity) + 1.0
    sessions = rng.poisson(activity) + 1.0
    value = rng.gamma(4.0, 0.5, (n_sims, n))  # user-level value per session, mean 2
    t = (rng.random((n_sims, n)) < 0.5).astype(float)
    per_session = value * (1 + 0.05 * t)  # the truth: ratio difference 0.05 × 2 = 0.1
    pre_revenue = pre_sessions * value + rng.normal(0, 1, (n_sims, n))
    revenue = sessions * per_session + rng.normal(0, 1, (n_sims, n))
    results = [  # the ratio estimator works on one experiment at a time
        cuped.estimate_ratio_cuped(
            revenue[sim],
            sessions[sim],
            t[sim],
            covariates=np.column_stack([pre_revenue[sim], pre_sessions[sim]]),
        )
        for sim in range(n_sims)
    ]
    assert abs(_table(results).coverage(0.1).details["z_vs_nominal"]) < 3
    assert np.mean([result.details["variance_reduction"] for result in results]) > 0.2


def test_relative_lift_coverage() -> None:
    n_sims = 2_000
    world = ecommerce.simulate_pre_post_metrics(
        n_sims, 300, correlation=0.7, effect=0.3, treated_fraction=0.3, rng=24
    )
    # outcome mean 5 in control, so the true relative lift is 0.3 / 5
    lifts = _table(
        [
            cuped.estimate_cuped(
                world["outcome"][sim] + 5.0,
                world["covariate"][sim] + 3.0,
                world["treatment"][sim],
                relative=True,
            )
            for sim in range(n_sims)  # the relative-lift estimator works on one experiment
        ]
    )
    assert abs(lifts.coverage(0.3 / 5.0).details["z_vs_nominal"]) < 3


# ------------------------------------------------------------------ properties
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-1e3, 1e3), scale=st.floats(0.1, 100))
def test_invariances(seed: int, shift: float, scale: float) -> None:
    y, x, t = _experiment(n=60, seed=seed)
    base = cuped.estimate_cuped(y, x, t)
    swapped = cuped.estimate_cuped(y, x, 1 - t)
    assert swapped.estimate == pytest.approx(-base.estimate, abs=1e-8)
    assert swapped.se == pytest.approx(base.se, rel=1e-9)
    shifted = cuped.estimate_cuped(y + shift, x * scale + shift, t)
    assert shifted.estimate == pytest.approx(base.estimate, abs=1e-7)
    assert shifted.se == pytest.approx(base.se, rel=1e-7)
    boosted = cuped.estimate_cuped(y + 2.0 * t, x, t)
    assert boosted.estimate == pytest.approx(base.estimate + 2.0, abs=1e-8)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("unit", [1e-9, 1e9])
def test_a_covariate_in_other_units_gives_the_same_cuped(unit: float) -> None:
    # Regression adjustment is invariant to a covariate's units; a rank check on the raw
    # sums once called a covariate in other units "collinear". Exactly collinear
    # covariates still raise, in any units.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 2))
    t = rng.integers(0, 2, 400)
    y = x @ np.array([1.0, 0.5]) + 0.3 * t + rng.normal(size=400)
    base = cuped.estimate_cuped(y, x, t)
    rescaled = cuped.estimate_cuped(y, x * np.array([1.0, unit]), t)
    assert (rescaled.estimate, rescaled.se) == pytest.approx((base.estimate, base.se), rel=1e-9)
    batch = cuped.batch_estimate_cuped(y[None], (x * np.array([1.0, unit]))[None], t)
    assert batch.to_frame()["estimate"].iloc[0] == pytest.approx(base.estimate, rel=1e-9)
    with pytest.raises(ValueError, match="collinear"):
        cuped.estimate_cuped(y, np.column_stack([x[:, 0], unit * x[:, 0]]), t)


def test_bad_inputs_name_the_argument() -> None:
    y, x, t = _experiment(n=50)
    with pytest.raises(ValueError, match="covariate"):
        cuped.estimate_cuped(y, x[:-1], t)
    with pytest.raises(ValueError, match="covariate"):
        cuped.estimate_cuped(y, np.ones_like(x), t)
    with pytest.raises(ValueError, match="outcome"):
        cuped.estimate_cuped(np.where(np.arange(50) == 3, np.nan, y), x, t)
    with pytest.raises(ValueError, match="covariate"):
        cuped.estimate_cuped(y, np.where(np.arange(50) == 3, np.nan, x), t)
    with pytest.raises(ValueError, match="treatment"):
        cuped.estimate_cuped(y, x, t * 2)
    with pytest.raises(ValueError, match="treatment"):
        cuped.estimate_cuped(y, x, np.zeros(50))
    with pytest.raises(ValueError, match="alpha"):
        cuped.estimate_cuped(y, x, t, alpha=1.5)
    with pytest.raises(ValueError, match="theta_method"):
        cuped.estimate_cuped(y, x, t, theta_method="per-arm")
    with pytest.raises(ValueError, match="covariate"):
        cuped.estimate_cuped(y, t.astype(float), t)  # collinear with the treatment
    with pytest.raises(ValueError, match="outcome"):
        cuped.estimate_cuped("spend", "x", "t", data=pd.DataFrame({"x": x, "t": t}))
    control, treatment = cuped.summarize_arms(y, x, t)
    with pytest.raises(ValueError, match="control"):
        cuped.estimate_cuped_from_stats(CovariateStatistics(1, 1.0, 1.0, 1.0, 1.0, 1.0), treatment)
    with pytest.raises(ValueError, match="theta_method"):
        cuped.estimate_cuped_from_stats(control, treatment, theta_method="per-arm")
    with pytest.raises(ValueError, match="covariate"):
        cuped.batch_estimate_cuped(y[None], x[None, :-1], t[None])
    with pytest.raises(ValueError, match="strata"):
        cuped.estimate_post_stratified(y, np.where(np.arange(50) == 0, "tiny", "big"), t)
    with pytest.raises(ValueError, match="denominator"):
        cuped.estimate_ratio_cuped(y, np.zeros(50), t)
    with pytest.raises(ValueError, match="n_folds"):
        cuped.cross_fit_predictions(x, y, n_folds=1)
    with pytest.raises(ValueError, match="cov_type"):
        cuped.estimate_regression_adjustment(y, x, t, cov_type="HC9")


def test_simulators_reject_bad_parameters() -> None:
    with pytest.raises(ValueError, match="correlation"):
        ecommerce.simulate_pre_post_metrics(2, 10, correlation=1.0)
    with pytest.raises(ValueError, match="n_users"):
        ecommerce.simulate_ecommerce_experiment(2)
    with pytest.raises(ValueError, match="new_user_share"):
        ecommerce.simulate_ecommerce_experiment(100, new_user_share=1.0)
    with pytest.raises(ValueError, match="session_lift"):
        ecommerce.simulate_ecommerce_arrays(1, 100, session_lift=-0.1)


# ------------------------------------------------------------------ simulators and data
def test_ecommerce_truth_matches_potential_outcomes() -> None:
    arrays = ecommerce.simulate_ecommerce_arrays(
        20, 10_000, conversion_lift=0.1, session_lift=0.05, rng=30
    )
    effects = (arrays["spend_if_treated"] - arrays["spend_if_control"]).mean(axis=1)
    truth = ecommerce.ecommerce_true_effect(conversion_lift=0.1, session_lift=0.05)
    assert abs(effects.mean() - truth) < 4 * effects.std(ddof=1) / np.sqrt(len(effects))
    assert np.all(arrays["spend_if_treated"] >= arrays["spend_if_control"])
    new = arrays["is_new_user"] == 1
    assert np.isnan(arrays["pre_spend"][new]).all()
    assert not np.isnan(arrays["pre_spend"][~new]).any()


def test_ecommerce_frame_is_reproducible_and_documented() -> None:
    first, first_truth = ecommerce.simulate_ecommerce_experiment(500, rng=31)
    second, second_truth = ecommerce.simulate_ecommerce_experiment(500, rng=31)
    pd.testing.assert_frame_equal(first, second)
    assert first_truth == second_truth
    assert not first.attrs  # the truth is returned, not hidden in the frame
    expected = {
        "user_id",
        "treatment",
        "is_new_user",
        "platform",
        "tenure_weeks",
        "pre_sessions",
        "pre_orders",
        "pre_spend",
        "days_since_last_visit",
        "sessions",
        "orders",
        "spend",
        "spend_if_control",
        "spend_if_treated",
        "sessions_if_control",
        "sessions_if_treated",
    }
    assert set(first.columns) == expected
    observed = np.where(
        first["treatment"] == 1, first["spend_if_treated"], first["spend_if_control"]
    )
    assert np.array_equal(observed, first["spend"])
    effects = first["spend_if_treated"] - first["spend_if_control"]
    assert first_truth.sample_effect_spend == pytest.approx(effects.mean(), rel=1e-12)
    assert first_truth.effect_spend == ecommerce.ecommerce_true_effect()


def test_pre_post_metrics_have_the_stated_correlation() -> None:
    world = ecommerce.simulate_pre_post_metrics(1, 200_000, correlation=0.7, effect=0.0, rng=32)
    assert abs(np.corrcoef(world["outcome"][0], world["covariate"][0])[0, 1] - 0.7) < 0.01
    assert world["treatment"].sum() == 100_000


def test_daily_conversion_experiment() -> None:
    days, effect = ecommerce.simulate_daily_conversion_experiment(
        5_000, n_days=7, effect=0.02, rng=33
    )
    assert set(days.columns) == {"user_id", "day", "treatment", "converted", "pre_conversions"}
    assert days["day"].between(0, 6).all() and days["pre_conversions"].between(0, 10).all()
    assert abs(effect - 0.02) < 0.005
    assert not days.attrs


def test_job_training_loader_matches_the_published_benchmark() -> None:
    jobs = pl.datasets.load_job_training()
    assert len(jobs) == 445 and int(jobs["treatment"].sum()) == 185
    assert {"treatment", "earnings_1975", "earnings_1978"} <= set(jobs.columns)
    difference = (
        jobs.loc[jobs.treatment == 1, "earnings_1978"].mean()
        - jobs.loc[jobs.treatment == 0, "earnings_1978"].mean()
    )
    assert round(difference) == 1794  # Dehejia & Wahba (1999), Table 3, experimental benchmark


# ------------------------------------------------------------------ contract regressions
def test_regression_adjustment_of_a_constant_outcome_is_zero_with_p_one() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    treatment = np.tile([0, 1], 30)
    for method in ("lin", "ancova"):
        with pytest.warns(pl.PlaybookWarning):
            result = cuped.estimate_regression_adjustment(
                np.full(60, 5.0), x, treatment, method=method
            )
        assert (result.estimate, result.se, result.p_value) == (0.0, 0.0, 1.0)
        assert result.ci_low == result.ci_high == 0.0


def test_cuped_from_stats_refuses_a_covariate_constant_up_to_round_off() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    treatment = np.tile([0, 1], 100)
    # sum_covariate_squares one part in 1e15 above n * 1e12: round-off, not variance
    near = [
        CovariateStatistics(
            arm.n,
            arm.sum_outcome,
            arm.n * 1e6,
            arm.sum_outcome_squares,
            arm.n * 1e12 * (1 + 1e-15),
            1e6 * arm.sum_outcome,
        )
        for arm in cuped.summarize_arms(y, rng.normal(size=200), treatment)
    ]
    with pytest.raises(ValueError, match="sum_covariate_squares.*covariate"):
        cuped.estimate_cuped_from_stats(*near)


def test_cuped_degenerate_outcome_and_rng_validation() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    treatment = np.tile([0, 1], 20)
    with pytest.warns(pl.PlaybookWarning):
        result = cuped.estimate_cuped(np.full(40, 2.0), x, treatment)
    assert (result.estimate, result.se, result.p_value) == (0.0, 0.0, 1.0)
    batch = cuped.batch_estimate_cuped(
        np.full((2, 40), 2.0), np.vstack([x, x]), treatment
    ).to_frame()
    assert (batch["p_value"] == 1).all() and (batch["se"] == 0).all()
    with pytest.raises(ValueError, match="rng"):
        cuped.cross_fit_predictions(x, x, rng="seed")
    with pytest.raises(ValueError, match="rng"):
        cuped.estimate_cupac(x, x, treatment, rng=-3)
    with pytest.raises(ValueError, match="length"):
        cuped.estimate_cuped(x, x[:-1], treatment)
    with pytest.raises(ValueError, match="covariate"):
        cuped.batch_estimate_cuped(np.vstack([x, x]), np.ones((2, 40)), treatment)


# ------------------------------------------------------------------ contract properties


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000), shift=st.integers(-(10**6), 10**6), factor=st.floats(0.01, 100.0)
)
def test_cuped_swap_shift_scale_and_stats_twin(seed: int, shift: int, factor: float) -> None:
    rng = np.random.default_rng(seed)
    n = 30
    x = rng.integers(-400, 400, n) / 8
    y = np.round(8 * (0.5 * x + rng.normal(size=n))) / 8
    treatment = np.tile([0, 1], n // 2)
    base = cuped.estimate_cuped(y, x, treatment)
    swapped = cuped.estimate_cuped(y, x, 1 - treatment)
    assert swapped.estimate == pytest.approx(-base.estimate, rel=1e-9, abs=1e-9 * base.se)
    assert (swapped.ci_low, swapped.ci_high) == pytest.approx(
        (-base.ci_high, -base.ci_low), rel=1e-9, abs=1e-9 * base.se
    )
    moved = cuped.estimate_cuped(y + shift, x + shift, treatment)  # exact: grid data
    assert moved.estimate == pytest.approx(base.estimate, rel=1e-9, abs=1e-9 * base.se)
    assert moved.se == pytest.approx(base.se, rel=1e-9)
    scaled = cuped.estimate_cuped(factor * y, x, treatment)
    assert scaled.estimate == pytest.approx(
        factor * base.estimate, rel=1e-9, abs=1e-9 * factor * base.se
    )
    assert scaled.se == pytest.approx(factor * base.se, rel=1e-9)
    twin = cuped.estimate_cuped_from_stats(*cuped.summarize_arms(y, x, treatment))
    assert twin.estimate == pytest.approx(base.estimate, rel=1e-9, abs=1e-9 * base.se)
    assert twin.se == pytest.approx(base.se, rel=1e-9)
    ancova = cuped.estimate_regression_adjustment(y, x, treatment, method="ancova")
    assert ancova.estimate == pytest.approx(base.estimate, rel=1e-9, abs=1e-9 * base.se)
