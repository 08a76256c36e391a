"""Tests of playbook_lib.decisions: rule boundaries, reference p-values, calibration,
closed forms, monitors and bad input."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.weightstats import ttest_ind as sm_ttest_ind

import playbook_lib.decisions as dec
from playbook_lib import Estimate
from playbook_lib.decisions.monitoring import _cumulative_sample_ratio_tests
from playbook_lib.simulate import simulate_assignment_counts, simulate_metric_stream

ALPHA = 0.05
Z = stats.norm.ppf(1 - ALPHA)  # one-sided critical value
EPS = 1e-6
FAR = 1e6  # a guardrail estimate far on the good side


def normal(x: float, se: float = 1.0, df: float | None = None) -> Estimate:
    return dec.summarize_effect(x, se, df=df)


def make_rule(minimum_effect: float = 0.0, multiplicity: str = "holm") -> dec.DecisionRule:
    return dec.DecisionRule(
        dec.PrimaryMetric("conversion", "higher_is_better", minimum_effect),
        guardrails=(
            dec.Guardrail("latency", "lower_is_better", 20.0),
            dec.Guardrail("retention", "higher_is_better", 5.0),
        ),
        alpha=ALPHA,
        multiplicity=multiplicity,
    )


def estimates(
    primary: float,
    latency: float = -FAR,
    retention: float = FAR,
    se: float = 1.0,
    df: float | None = None,
) -> dict[str, Estimate]:
    return {
        "conversion": normal(primary, se, df),
        "latency": normal(latency),
        "retention": normal(retention),
    }


# ----------------------------------------------------------------------------- boundaries
def test_superiority_boundary_ships_just_inside_and_holds_just_outside() -> None:
    rule = make_rule()
    assert dec.decide(rule, estimates(Z + EPS)).action == "ship"
    assert dec.decide(rule, estimates(Z - EPS)).action == "hold"


def test_superiority_boundary_uses_student_t_with_df() -> None:
    rule = make_rule()
    critical = stats.t.ppf(1 - ALPHA, 8)
    assert dec.decide(rule, estimates(critical + EPS, df=8)).action == "ship"
    assert dec.decide(rule, estimates(critical - EPS, df=8)).action == "hold"
    # the normal critical value is not enough with 8 df
    assert dec.decide(rule, estimates(Z + 0.01, df=8)).action == "hold"


def test_minimum_effect_boundary() -> None:
    rule = make_rule(minimum_effect=3.0)
    assert dec.decide(rule, estimates(3.0 + EPS)).action == "ship"
    held = dec.decide(rule, estimates(3.0 - EPS))
    assert held.action == "hold" and "below the minimum effect" in held.reason


def test_iterate_when_upper_bound_rules_out_minimum_effect() -> None:
    rule = make_rule(minimum_effect=3.0)
    at_bound = 3.0 - Z  # the one-sided upper bound equals the minimum effect here
    assert dec.decide(rule, estimates(at_bound - EPS)).action == "iterate"
    assert dec.decide(rule, estimates(at_bound + EPS)).action == "hold"


@pytest.mark.parametrize("name, margin, sign", [("latency", 20.0, -1.0), ("retention", 5.0, 1.0)])
def test_guardrail_non_inferiority_boundary(name: str, margin: float, sign: float) -> None:
    rule = make_rule()
    # oriented effect g = sign * estimate; non-inferior iff (g + margin) / se > z
    inside = sign * (Z - margin + EPS)
    outside = sign * (Z - margin - EPS)
    assert dec.decide(rule, estimates(10.0, **{name: inside})).action == "ship"
    held = dec.decide(rule, estimates(10.0, **{name: outside}))
    assert held.action == "hold" and name in held.reason


@pytest.mark.parametrize("name, margin, sign", [("latency", 20.0, -1.0), ("retention", 5.0, 1.0)])
def test_guardrail_breach_boundary_with_holm(name: str, margin: float, sign: float) -> None:
    rule = make_rule()
    # Holm over 3 roll-back tests, the others far from rejecting: level alpha / 3.
    z_holm = stats.norm.ppf(1 - ALPHA / 3)
    inside = sign * (-margin - z_holm - EPS)
    outside = sign * (-margin - z_holm + EPS)
    assert dec.decide(rule, estimates(10.0, **{name: inside})).action == "roll back"
    assert dec.decide(rule, estimates(10.0, **{name: outside})).action == "hold"
    unadjusted = make_rule(multiplicity="none")
    assert dec.decide(unadjusted, estimates(10.0, **{name: outside})).action == "roll back"


def test_primary_harm_boundary_rolls_back() -> None:
    rule = make_rule()
    z_holm = stats.norm.ppf(1 - ALPHA / 3)
    assert dec.decide(rule, estimates(-z_holm - EPS)).action == "roll back"
    assert dec.decide(rule, estimates(-z_holm + EPS)).action == "hold"


@pytest.mark.parametrize("method", ["holm", "bonferroni"])
def test_roll_back_p_values_are_adjusted_as_statsmodels_does(method: str) -> None:
    # decide adjusts the one-sided harm/breach p-values of the primary and the guardrails
    # with the shared step-down kernel; the result must equal statsmodels' multipletests.
    decision = dec.decide(make_rule(multiplicity=method), estimates(-1.2, 21.0, -3.9))
    checks = decision.to_frame()
    harm = checks[checks.test.str.startswith(("harm", "breach"))]
    raw = [stats.norm.cdf(-1.2), stats.norm.cdf((-21.0 + 20.0) / 1.0), stats.norm.cdf(-3.9 + 5.0)]
    np.testing.assert_allclose(harm.p_value, multipletests(raw, method=method)[1], rtol=1e-12)
    assert list(harm.metric) == ["conversion", "latency", "retention"]


def test_futility_row_passes_unless_the_minimum_effect_is_ruled_out() -> None:
    rule = make_rule(minimum_effect=3.0)
    for value, ruled_out in ((3.0 - Z - EPS, True), (3.0 - Z + EPS, False)):
        checks = dec.decide(rule, estimates(value)).to_frame()
        futility = checks[checks.test == "futility"].iloc[0]
        assert futility.passed == (not ruled_out)
        assert (futility.p_value < ALPHA) == ruled_out


def test_primary_actions_agrees_with_decide() -> None:
    rule = dec.DecisionRule(dec.PrimaryMetric("m", minimum_effect=1.0))
    values = np.linspace(-4, 6, 201)
    vectorised = rule.primary_actions(values, np.ones_like(values))
    scalar = [dec.decide(rule, {"m": normal(v)}).action for v in values]
    assert list(vectorised) == scalar


def test_lower_is_better_primary_mirrors_higher_is_better() -> None:
    up = dec.DecisionRule(dec.PrimaryMetric("m", "higher_is_better", 1.0))
    down = dec.DecisionRule(dec.PrimaryMetric("m", "lower_is_better", 1.0))
    for value in (-5.0, -2.0, 0.3, 2.0, 5.0):
        assert (
            dec.decide(up, {"m": normal(value)}).action
            == dec.decide(down, {"m": normal(-value)}).action
        )


@settings(max_examples=40, deadline=None)
@given(
    primary=st.floats(-6, 8),
    latency=st.floats(-40, 60),
    retention=st.floats(-15, 10),
    scale=st.floats(0.01, 100),
)
def test_decision_is_invariant_to_units(
    primary: float, latency: float, retention: float, scale: float
) -> None:
    base = make_rule(minimum_effect=1.0)
    rescaled = dec.DecisionRule(
        dec.PrimaryMetric("conversion", "higher_is_better", 1.0 * scale),
        guardrails=(
            dec.Guardrail("latency", "lower_is_better", 20.0 * scale),
            dec.Guardrail("retention", "higher_is_better", 5.0 * scale),
        ),
        alpha=ALPHA,
    )
    original = {
        "conversion": normal(primary),
        "latency": normal(latency),
        "retention": normal(retention),
    }
    scaled = {key: value.scaled(scale) for key, value in original.items()}
    assert dec.decide(base, original).action == dec.decide(rescaled, scaled).action


# ----------------------------------------------------------------------------- references
def _welch_estimate(treatment: np.ndarray, control: np.ndarray) -> Estimate:
    result = stats.ttest_ind(treatment, control, equal_var=False)
    difference = treatment.mean() - control.mean()
    se = math.sqrt(treatment.var(ddof=1) / treatment.size + control.var(ddof=1) / control.size)
    return dec.summarize_effect(difference, se, df=float(result.df), method="welch")


@pytest.mark.parametrize("direction", ["higher_is_better", "lower_is_better"])
def test_non_inferiority_p_value_equals_statsmodels_and_scipy(direction: str) -> None:
    rng = np.random.default_rng(11)
    treatment = rng.normal(10.2, 3.0, 60)
    control = rng.normal(10.0, 2.0, 45)
    margin = 1.0
    estimate = _welch_estimate(treatment, control)
    result = dec.check_non_inferiority(estimate, margin, direction)
    if direction == "higher_is_better":
        sm_p = sm_ttest_ind(
            treatment, control, alternative="larger", usevar="unequal", value=-margin
        )[1]
        sp_p = stats.ttest_ind(
            treatment + margin, control, equal_var=False, alternative="greater"
        ).pvalue
    else:
        sm_p = sm_ttest_ind(
            treatment, control, alternative="smaller", usevar="unequal", value=margin
        )[1]
        sp_p = stats.ttest_ind(
            treatment - margin, control, equal_var=False, alternative="less"
        ).pvalue
    assert result.p_value == pytest.approx(sm_p, rel=1e-9)
    assert result.p_value == pytest.approx(sp_p, rel=1e-9)


def test_non_inferiority_for_proportions_equals_statsmodels_wald() -> None:
    count_t, n_t, count_c, n_c = 1180, 10_000, 1205, 10_050
    p_t, p_c = count_t / n_t, count_c / n_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    estimate = dec.summarize_effect(p_t - p_c, se)
    margin = 0.01
    reference = sm_proportion.test_proportions_2indep(
        count_t,
        n_t,
        count_c,
        n_c,
        value=-margin,
        method="wald",
        compare="diff",
        alternative="larger",
    )
    ours = dec.check_non_inferiority(estimate, margin, "higher_is_better")
    assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert ours.statistic == pytest.approx(reference.statistic, rel=1e-9)


def test_summarize_effect_matches_scipy_welch_interval() -> None:
    rng = np.random.default_rng(5)
    treatment, control = rng.normal(1, 2, 30), rng.normal(0, 1, 25)
    ours = _welch_estimate(treatment, control)
    result = stats.ttest_ind(treatment, control, equal_var=False)
    low, high = result.confidence_interval(0.95)
    assert ours.ci_low == pytest.approx(low) and ours.ci_high == pytest.approx(high)
    assert ours.p_value == pytest.approx(result.pvalue)


# ----------------------------------------------------------------------------- calibration
def test_recommended_rule_ships_harmful_changes_at_most_alpha() -> None:
    rule = dec.DecisionRule(dec.PrimaryMetric("m"), alpha=ALPHA)
    table = dec.simulate_operating_characteristics(
        {
            "recommended": rule,
            "positive": dec.ship_if_positive(),
            "halved": dec.ship_if_risk_adjusted_lift_clears(0.003),
        },
        true_effects=[-0.004, 0.0],
        se=0.0046,
        n_sims=40_000,
        rng=2026,
    )
    at_zero = table[(table.rule == "recommended") & (table.true_effect == 0.0)].iloc[0]
    assert at_zero.probability_ship <= ALPHA + 3 * at_zero.mc_se
    assert abs(at_zero.probability_ship - ALPHA) < 3 * at_zero.mc_se  # exact at the boundary
    harmful = table[(table.rule == "recommended") & (table.true_effect < 0)].iloc[0]
    assert harmful.probability_ship < ALPHA
    # The naive rules ship a zero-effect change far more often than alpha.
    for name in ("positive", "halved"):
        row = table[(table.rule == name) & (table.true_effect == 0.0)].iloc[0]
        assert row.probability_ship > ALPHA + 5 * row.mc_se


def test_recommended_rule_is_calibrated_with_estimated_se_and_t() -> None:
    rule = dec.DecisionRule(dec.PrimaryMetric("m"), alpha=ALPHA)
    table = dec.simulate_operating_characteristics(
        {"t": rule}, [0.0], se=1.0, df=6, n_sims=40_000, rng=7
    )
    row = table.iloc[0]
    assert abs(row.probability_ship - ALPHA) < 3 * row.mc_se


def test_halved_lift_rule_ships_the_seed_example_at_any_risk_aversion() -> None:
    estimate, se = np.array([0.008]), np.array([(0.017 + 0.001) / (2 * 1.959964)])
    for risk_aversion in (0.5, 1, 3, 10):
        assert dec.ship_if_risk_adjusted_lift_clears(0.003, risk_aversion)(estimate, se)[0]
    rule = dec.DecisionRule(dec.PrimaryMetric("m", minimum_effect=0.003), alpha=0.025)
    assert rule.primary_actions(estimate, se)[0] == "hold"


# ----------------------------------------------------------------------------- Bayesian
@pytest.mark.parametrize("mean, sd", [(0.3, 1.0), (-1.2, 0.5), (0.0, 2.0), (2.5, 0.7)])
def test_expected_loss_closed_form_matches_integration(mean: float, sd: float) -> None:
    row = dec.expected_loss(mean, sd).iloc[0]
    density = stats.norm(mean, sd).pdf
    ship = integrate.quad(lambda x: -x * density(x), -np.inf, 0.0, epsabs=1e-12)[0]
    keep = integrate.quad(lambda x: x * density(x), 0.0, np.inf, epsabs=1e-12)[0]
    assert row.loss_if_ship == pytest.approx(ship, abs=1e-8)
    assert row.loss_if_keep == pytest.approx(keep, abs=1e-8)
    assert row.loss_if_keep - row.loss_if_ship == pytest.approx(mean)
    assert row.probability_beats_control == pytest.approx(stats.norm.sf(0, mean, sd))


def test_expected_loss_from_draws_agrees_with_closed_form() -> None:
    rng = np.random.default_rng(3)
    draws = rng.normal(0.4, 1.3, 400_000)
    from_draws = dec.expected_loss_from_draws(draws)
    closed = dec.expected_loss(0.4, 1.3).iloc[0]
    assert from_draws["loss_if_ship"] == pytest.approx(closed.loss_if_ship, abs=0.005)
    assert from_draws["probability_beats_control"] == pytest.approx(
        closed.probability_beats_control, abs=0.003
    )


def test_normal_posterior_matches_grid_posterior() -> None:
    estimate = dec.summarize_effect(2.0, 1.5)
    posterior = dec.normal_posterior(estimate, prior_mean=0.5, prior_sd=1.0)
    grid = np.linspace(-10, 10, 200_001)
    weights = stats.norm.pdf(2.0, grid, 1.5) * stats.norm.pdf(grid, 0.5, 1.0)
    weights /= weights.sum()
    mean = (grid * weights).sum()
    sd = math.sqrt(((grid - mean) ** 2 * weights).sum())
    assert posterior.estimate == pytest.approx(mean, abs=1e-6)
    assert posterior.se == pytest.approx(sd, abs=1e-6)


def test_prior_from_past_effects_recovers_truth() -> None:
    rng = np.random.default_rng(9)
    truth = rng.normal(0.1, 0.5, 4000)
    ses = rng.uniform(0.2, 0.6, 4000)
    prior = dec.fit_prior_from_past_experiments(truth + ses * rng.standard_normal(4000), ses)
    assert prior.mean == pytest.approx(0.1, abs=0.04)
    assert prior.sd == pytest.approx(0.5, abs=0.03)
    assert prior.n_experiments == 4000
    effect = dec.summarize_effect(0.4, 0.3)
    assert prior.posterior(effect) == dec.normal_posterior(effect, prior.mean, prior.sd)
    assert list(prior.to_frame().columns) == ["prior_mean", "prior_sd", "n_experiments"]


def test_evsi_matches_preposterior_simulation() -> None:
    mean, sd, new_se, threshold = 0.2, 1.0, 0.8, 0.5
    closed = dec.expected_value_of_sample_information(mean, sd, new_se, threshold=threshold)
    rng = np.random.default_rng(4)
    n = 1_000_000
    effect = rng.normal(mean, sd, n)
    new_estimate = effect + new_se * rng.standard_normal(n)
    weight = sd**2 / (sd**2 + new_se**2)
    updated = mean + weight * (new_estimate - mean)
    value_after = np.maximum(0.0, updated - threshold)
    mc_se = value_after.std() / math.sqrt(n)
    assert closed["value_after"] == pytest.approx(value_after.mean(), abs=4 * mc_se)
    assert closed["evsi"] > 0
    # more data is worth more; infinitely noisy data is worth nothing
    assert (
        dec.expected_value_of_sample_information(mean, sd, 0.1, threshold=threshold)["evsi"]
        > closed["evsi"]
    )
    assert dec.expected_value_of_sample_information(mean, sd, 1e6, threshold=threshold)[
        "evsi"
    ] == pytest.approx(0.0, abs=1e-9)


def test_bayesian_decision_threshold_of_caring() -> None:
    estimate = dec.summarize_effect(1.0, 0.5)
    loss = dec.expected_loss(1.0, 0.5).iloc[0].loss_if_ship
    assert dec.bayesian_decision(estimate, loss * 1.01)["action"] == "ship"
    assert dec.bayesian_decision(estimate, loss * 0.99)["action"] == "hold"


# ----------------------------------------------------------------------------- value
def test_expected_net_value_probability_of_loss_matches_simulation() -> None:
    effect = dec.summarize_effect(0.002, 0.0015)
    value = dec.expected_net_value(
        effect, units_per_day=50_000, horizon_days=90, value_per_unit=3.0, fixed_cost=20_000
    )
    rng = np.random.default_rng(8)
    draws = rng.normal(0.002, 0.0015, 400_000) * 50_000 * 90 * 3.0 - 20_000
    assert value.mean == pytest.approx(0.002 * 50_000 * 90 * 3 - 20_000)
    assert value.probability_of_loss == pytest.approx(np.mean(draws < 0), abs=0.003)


def test_ramp_detectable_degradation_matches_statsmodels() -> None:
    plan = dec.plan_ramp(daily_units=40_000, metric_sd=2.0, margin=0.05, days_per_stage=2)
    for row in plan[plan.control_units > 0].itertuples():
        power = NormalIndPower().power(
            effect_size=row.detectable_degradation / 2.0,
            nobs1=row.treated_units,
            ratio=row.control_units / row.treated_units,
            alpha=ALPHA,
            alternative="larger",
        )
        assert power == pytest.approx(0.8, abs=1e-9)
    assert np.isnan(plan.se_of_difference.iloc[-1])


# ----------------------------------------------------------------------------- objectives
def test_pareto_frontier_of_the_seed_example_compares_elementwise() -> None:
    values = pd.DataFrame(
        {"revenue": [100, 110, 105, 95, 108], "satisfaction": [90, 85, 92, 95, 88]},
        index=list("ABCDE"),
    )
    directions = {"revenue": "higher_is_better", "satisfaction": "higher_is_better"}
    frontier = dec.pareto_frontier(values, directions)
    assert list(frontier[frontier].index) == ["B", "C", "D", "E"]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=8
    )
)
def test_pareto_frontier_matches_brute_force(points: list[tuple[int, int, int]]) -> None:
    values = pd.DataFrame(points, columns=["a", "b", "c"])
    directions = {"a": "higher_is_better", "b": "lower_is_better", "c": "higher_is_better"}
    oriented = [(a, -b, c) for a, b, c in points]
    expected = [
        not any(
            all(o >= p for o, p in zip(other, mine, strict=True)) and other != mine
            for other in oriented
        )
        for mine in oriented
    ]
    assert list(dec.pareto_frontier(values, directions)) == expected


def test_pareto_probability_and_utility() -> None:
    means = pd.DataFrame(
        {"revenue": [100, 110, 105], "satisfaction": [90, 85, 92]}, index=["A", "B", "C"]
    )
    directions = {"revenue": "higher_is_better", "satisfaction": "higher_is_better"}
    zero = means * 0.0
    probability = dec.pareto_frontier_probability(means, zero, directions, n_draws=50, rng=1)
    assert list(probability) == [0.0, 1.0, 1.0]
    noisy = dec.pareto_frontier_probability(means, zero + 4.0, directions, n_draws=4000, rng=1)
    assert 0.0 < noisy["A"] < 0.5
    table = dec.weighted_utility(
        means, zero + 1.0, {"revenue": 1.0, "satisfaction": 2.0}, directions, rng=1
    )
    assert table.loc["C", "utility"] == pytest.approx(105 + 2 * 92)
    assert table.loc["C", "se"] == pytest.approx(math.sqrt(5))
    assert table["probability_best"].sum() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- monitoring
def test_ewma_exact_sd_matches_simulation() -> None:
    rng = np.random.default_rng(12)
    smoothing, sigma = 0.1, 2.0
    x = rng.normal(0, sigma, (20_000, 60))
    level = np.zeros(20_000)
    sds = []
    for t in range(60):
        level = smoothing * x[:, t] + (1 - smoothing) * level
        sds.append(level.std())
    limits = dec.ewma_control_limits(60, target=0.0, sigma=sigma, smoothing=smoothing)
    np.testing.assert_allclose(sds, limits.ewma_sd, rtol=0.03)
    assert limits.ewma_sd.iloc[-1] == pytest.approx(sigma * math.sqrt(0.1 / 1.9), rel=0.01)


def test_ewma_markov_chain_reproduces_lucas_saccucci_table() -> None:
    # Lucas & Saccucci (1990), Table 3 (also Montgomery, Introduction to SQC, table of EWMA
    # ARLs): lambda = 0.10, L = 2.814: in-control ARL 500, ARL 10.3 for a 1-sigma shift.
    assert dec.ewma_average_run_length(smoothing=0.1, width=2.814) == pytest.approx(500, rel=0.01)
    assert dec.ewma_average_run_length(smoothing=0.1, width=2.814, shift=1.0) == pytest.approx(
        10.3, abs=0.05
    )


def test_ewma_markov_chain_matches_sas_ewmaarl() -> None:
    # SAS/QC documentation, EWMAARL function (Crowder's 1987 method): EWMAARL(1.00, 0.25, 3.0)
    # = 11.154267016 for a 1-sigma shift, weight 0.25 and 3-sigma (asymptotic) limits.
    arl = dec.ewma_average_run_length(smoothing=0.25, width=3.0, shift=1.0, n_states=801)
    assert arl == pytest.approx(11.154267016, rel=2e-6)


def test_ewma_exact_limits_shorten_the_in_control_run_length() -> None:
    exact = dec.simulate_ewma_run_lengths(
        smoothing=0.1, width=2.814, n_sims=3000, max_steps=7000, exact=True, rng=22
    )
    mc_se = exact.std(ddof=1) / math.sqrt(exact.size)
    design = dec.ewma_average_run_length(smoothing=0.1, width=2.814)
    assert exact.mean() < design - mc_se  # narrower early limits: a few more early alarms
    assert exact.mean() > 0.9 * design


def test_ewma_simulated_arl_matches_its_design() -> None:
    run_lengths = dec.simulate_ewma_run_lengths(
        smoothing=0.1, width=2.814, n_sims=3000, max_steps=7000, exact=False, rng=21
    )
    assert (run_lengths <= 7000).mean() > 0.999  # practically uncensored
    design = dec.ewma_average_run_length(smoothing=0.1, width=2.814)
    mc_se = run_lengths.std(ddof=1) / math.sqrt(run_lengths.size)
    assert abs(run_lengths.mean() - design) < 3 * mc_se


@pytest.mark.parametrize("exact", [True, False])
def test_simulated_run_lengths_follow_the_recursion_step_by_step(exact: bool) -> None:
    # The simulator filters blocks of 256 steps at once; written out step by step on the
    # same draws (each block draws for the streams still running), the recursion gives the
    # same run lengths, across block boundaries and for censored streams.
    smoothing, width, shift, n_sims, max_steps = 0.05, 2.8, 0.0, 60, 700
    runs = dec.simulate_ewma_run_lengths(
        smoothing=smoothing,
        width=width,
        shift=shift,
        n_sims=n_sims,
        max_steps=max_steps,
        exact=exact,
        rng=4,
    )
    rng = np.random.default_rng(4)
    steps = np.arange(1, max_steps + 1)
    factor = math.sqrt(smoothing / (2 - smoothing))
    shape = np.sqrt(1 - (1 - smoothing) ** (2 * steps)) if exact else np.ones(max_steps)
    limits = width * factor * shape
    expected = np.full(n_sims, max_steps + 1)
    running, level = np.arange(n_sims), np.zeros(n_sims)
    for start in range(0, max_steps, 256):
        noise = shift + rng.standard_normal((min(256, max_steps - start), running.size))
        alarmed = np.zeros(running.size, dtype=bool)
        for offset, row in enumerate(noise):
            level = np.where(alarmed, level, smoothing * row + (1 - smoothing) * level)
            new = ~alarmed & (np.abs(level) > limits[start + offset])
            expected[running[new]] = start + offset + 1
            alarmed |= new
        running, level = running[~alarmed], level[~alarmed]
    np.testing.assert_array_equal(runs, expected)
    assert (runs <= max_steps).any() and (runs == max_steps + 1).any()


def test_monitor_ewma_matches_pandas_and_alarms_after_shift() -> None:
    stream = simulate_metric_stream(300, mean=5.0, sd=1.0, shift=1.0, shift_step=201, rng=3)
    monitor = dec.monitor_ewma(stream.value, target=5.0, sigma=1.0)
    table = monitor.table
    reference = pd.Series(np.r_[5.0, stream.value]).ewm(alpha=0.1, adjust=False).mean()[1:]
    np.testing.assert_allclose(table.ewma, reference)
    assert table.alarm.iloc[200:].any()  # the 1-sigma shift from step 201 is caught
    assert monitor.first_alarm == int(table.step[table.alarm].iloc[0])
    assert monitor.alarmed and monitor.to_frame().equals(table)
    # The recursion written out as a loop (the definition) gives the same numbers.
    level, by_loop = 5.0, []
    for value in stream.value:
        level = 0.1 * value + 0.9 * level
        by_loop.append(level)
    np.testing.assert_allclose(table.ewma, by_loop, rtol=1e-15)
    quiet = dec.monitor_ewma(np.full(20, 5.0), target=5.0, sigma=1.0)
    assert quiet.first_alarm is None and not quiet.alarmed


def test_srm_p_value_equals_scipy_and_monitor_controls_false_alarms() -> None:
    two = dec.monitor_sample_ratio([[50_310, 49_690]]).table
    assert two.p_value.iloc[0] == pytest.approx(stats.chisquare([50_310, 49_690]).pvalue)
    three = dec.monitor_sample_ratio(
        [[1000, 1500, 2500], [1010, 1480, 2510]], [0.2, 0.3, 0.5]
    ).table
    assert three.p_value.iloc[1] == pytest.approx(
        stats.chisquare([2010, 2980, 5010], [2000, 3000, 5000]).pvalue
    )
    rng = np.random.default_rng(17)
    daily = rng.multinomial(1000, [0.5, 0.5], size=(20_000, 14))
    table = dec.monitor_sample_ratio(daily[0], alpha=0.05).table  # = the vectorised core
    _, _, p_values = _cumulative_sample_ratio_tests(daily, np.array([0.5, 0.5]))
    np.testing.assert_allclose(table.p_value, p_values[0])
    for day in (0, 6, 13):
        assert p_values[0, day] == pytest.approx(
            stats.chisquare(daily[0, : day + 1].sum(axis=0)).pvalue
        )
    rate = float(np.mean((p_values < 0.05 / 14).any(axis=1)))
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 20_000)
    assert rate > 0.01  # Bonferroni is conservative, not absurdly so
    broken = simulate_assignment_counts(14, daily_units=20_000, lost_share=0.05, start_day=5, rng=1)
    monitor = dec.monitor_sample_ratio(broken[["count_0", "count_1"]].to_numpy())
    assert monitor.first_alarm is not None and monitor.first_alarm >= 5
    assert not monitor.table.alarm.iloc[: monitor.first_alarm - 1].any()


# ----------------------------------------------------------------------------- bad input
def test_bad_input_raises_value_error_naming_the_argument() -> None:
    with pytest.raises(ValueError, match="direction"):
        dec.Guardrail("latency", "up", 5.0)
    with pytest.raises(ValueError, match="direction"):
        dec.PrimaryMetric("conversion", "bigger")
    with pytest.raises(ValueError, match="margin"):
        dec.Guardrail("latency", "lower_is_better", -5.0)
    with pytest.raises(ValueError, match="margin"):
        dec.Guardrail("latency", "lower_is_better", 0.0)
    with pytest.raises(ValueError, match="minimum_effect"):
        dec.PrimaryMetric("conversion", minimum_effect=-0.01)
    with pytest.raises(ValueError, match="estimates"):
        dec.decide(make_rule(), {"conversion": normal(1.0), "latency": normal(0.0)})
    with pytest.raises(ValueError, match="se"):
        dec.decide(
            make_rule(),
            {
                "conversion": Estimate("x", 1.0, 0.0, 1.0, 1.0),
                "latency": normal(0.0),
                "retention": normal(0.0),
            },
        )
    with pytest.raises(ValueError, match="multiplicity"):
        dec.DecisionRule(dec.PrimaryMetric("m"), multiplicity="sidak")
    with pytest.raises(ValueError, match="alpha"):
        dec.DecisionRule(dec.PrimaryMetric("m"), alpha=1.5)
    with pytest.raises(ValueError, match="guardrails"):
        dec.DecisionRule(
            dec.PrimaryMetric("m"), guardrails=(dec.Guardrail("m", "lower_is_better", 1),)
        )
    with pytest.raises(ValueError, match="margin"):
        dec.check_non_inferiority(normal(1.0), -1.0)
    with pytest.raises(ValueError, match="direction"):
        dec.check_non_inferiority(normal(1.0), 1.0, "sideways")
    with pytest.raises(ValueError, match="directions"):
        dec.pareto_frontier(pd.DataFrame({"a": [1.0]}), {"b": "higher_is_better"})
    with pytest.raises(ValueError, match="expected_shares"):
        dec.monitor_sample_ratio([[10, 10]], [0.6, 0.6])
    with pytest.raises(ValueError, match="sd"):
        dec.expected_loss(0.0, 0.0)
    with pytest.raises(ValueError, match="shift_step"):
        simulate_metric_stream(10, mean=0.0, sd=1.0, shift=1.0, shift_step=11)


def test_simulators_are_reproducible_and_shift_where_told() -> None:
    first = simulate_metric_stream(50, mean=1.0, sd=0.1, shift=0.5, shift_step=20, rng=5)
    second = simulate_metric_stream(50, mean=1.0, sd=0.1, shift=0.5, shift_step=20, rng=5)
    pd.testing.assert_frame_equal(first, second)
    assert first.true_mean.iloc[18] == 1.0 and first.true_mean.iloc[19] == 1.5


def test_estimate_from_draws_summarises_quantiles_and_sign() -> None:
    draws = np.random.default_rng(2).normal(0.5, 1.0, 100_000)
    summary = dec.estimate_from_draws(draws, alpha=0.1)
    low, high = np.quantile(draws, [0.05, 0.95])
    assert summary.ci_low == pytest.approx(low) and summary.ci_high == pytest.approx(high)
    assert summary.se == pytest.approx(draws.std(ddof=1))
    assert summary.details["probability_positive"] == pytest.approx(np.mean(draws > 0))


def test_memo_reports_action_intervals_and_guardrails() -> None:
    decision = dec.decide(make_rule(), estimates(10.0, latency=3.0, retention=-1.0))
    memo = dec.write_decision_memo(decision, question="Ship?")
    for text in (
        "**Question.** Ship?",
        "**Decision: SHIP.**",
        "| latency |",
        "| retention |",
        "95% interval",
        "**Next steps.**",
    ):
        assert text in memo
    held = dec.decide(make_rule(), estimates(1.0))
    assert "**Decision: HOLD.**" in dec.write_decision_memo(held, question="Ship?")
    with pytest.raises(ValueError, match="question"):
        dec.write_decision_memo(decision, question=" ")


def test_bayesian_decision_keeps_control_when_clearly_worse() -> None:
    result = dec.bayesian_decision(dec.summarize_effect(-2.0, 0.5), 0.01)
    assert result["action"] == "roll back"
    lower = dec.bayesian_decision(
        dec.summarize_effect(-2.0, 0.5), 0.01, direction="lower_is_better"
    )
    assert lower["action"] == "ship"


def test_pareto_frontier_respects_lower_is_better() -> None:
    values = pd.DataFrame(
        {"revenue": [10.0, 10.0, 9.0], "latency": [100.0, 120.0, 90.0]},
        index=["fast", "slow", "cheap"],
    )
    frontier = dec.pareto_frontier(
        values, {"revenue": "higher_is_better", "latency": "lower_is_better"}
    )
    assert list(frontier) == [True, False, True]


def test_naive_rules_at_their_thresholds() -> None:
    se = np.array([1.0, 1.0])
    z = stats.norm.ppf(0.975)
    ci_rule = dec.ship_if_ci_excludes_zero(0.05)
    assert list(ci_rule(np.array([z + EPS, z - EPS]), se)) == [True, False]
    positive = dec.ship_if_positive()
    assert list(positive(np.array([EPS, -EPS]), se)) == [True, False]
    halved = dec.ship_if_risk_adjusted_lift_clears(1.0, risk_aversion=1.0)
    # estimate 2 +- eps: half of it is just above / below the minimum effect 1; CI low < 1
    assert list(halved(np.array([2.0 + EPS, 2.0 - EPS]), se)) == [True, False]


@settings(max_examples=60, deadline=None)
@given(
    estimate=st.floats(-5, 5),
    se=st.floats(0.05, 3),
    margin=st.floats(0.01, 4),
    df=st.one_of(st.none(), st.floats(2, 200)),
)
def test_non_inferiority_at_2_5_percent_equals_the_95_percent_interval_bound(
    estimate: float, se: float, margin: float, df: float | None
) -> None:
    interval = dec.summarize_effect(estimate, se, df=df)  # two-sided 95%
    p_higher = dec.check_non_inferiority(interval, margin, "higher_is_better").p_value
    p_lower = dec.check_non_inferiority(interval, margin, "lower_is_better").p_value
    if abs(interval.ci_low + margin) > 1e-9:
        assert (p_higher < 0.025) == (interval.ci_low > -margin)
    if abs(interval.ci_high - margin) > 1e-9:
        assert (p_lower < 0.025) == (interval.ci_high < margin)


# ----------------------------------------------------------------------------- the contract
# Regression tests: each reproduces an input that used to give a silently wrong answer.
VARIANTS = pd.DataFrame(
    {"revenue": [100.0, 110.0, 105.0], "satisfaction": [90.0, 85.0, 92.0]}, index=list("ABC")
)
SES = pd.DataFrame({"revenue": 2.0, "satisfaction": 1.5}, index=VARIANTS.index)
UP = {"revenue": "higher_is_better", "satisfaction": "higher_is_better"}
NO_SE = Estimate("permutation", 0.5, math.nan, 0.1, 0.9)


def test_weighted_utility_rejects_negative_standard_errors() -> None:
    with pytest.raises(ValueError, match="^ses must be non-negative"):
        dec.weighted_utility(VARIANTS, -SES, {"revenue": 1.0, "satisfaction": 2.0}, UP, rng=1)
    with pytest.raises(ValueError, match="^ses"):
        dec.weighted_utility(
            VARIANTS, SES[["revenue"]], {"revenue": 1.0, "satisfaction": 2.0}, UP, rng=1
        )


def test_pareto_frontier_rejects_nan_and_empty_tables() -> None:
    with_nan = VARIANTS.copy()
    with_nan.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="^values: column 'revenue'"):
        dec.pareto_frontier(with_nan, UP)
    with pytest.raises(ValueError, match="^values must have at least one variant"):
        dec.pareto_frontier(VARIANTS.iloc[:0], UP)
    with pytest.raises(ValueError, match="^means: column 'satisfaction'"):
        dec.pareto_frontier_probability(VARIANTS.assign(satisfaction=np.inf), SES, UP, rng=1)
    with pytest.raises(ValueError, match="^directions must be a mapping"):
        dec.pareto_frontier(VARIANTS, "higher_is_better")


def test_monitor_sample_ratio_rejects_fractional_and_negative_counts() -> None:
    with pytest.raises(ValueError, match="^daily_counts must hold non-negative integer"):
        dec.monitor_sample_ratio([[10.5, 10.0], [12.0, 11.0]])
    with pytest.raises(ValueError, match="^daily_counts must hold non-negative integer"):
        dec.monitor_sample_ratio([[10, -1], [12, 11]])
    with pytest.raises(ValueError, match="^daily_counts"):
        dec.monitor_sample_ratio([[10, 10], [np.nan, 11]])
    with pytest.raises(ValueError, match="^daily_counts must have at least two arms"):
        dec.monitor_sample_ratio([[10], [12]])
    for shares in ([0.6, 0.6], [0.0, 1.0], [0.2, 0.3, 0.5], [np.nan, 0.5]):
        with pytest.raises(ValueError, match="^expected_shares"):
            dec.monitor_sample_ratio([[10, 10], [12, 11]], shares)
    with pytest.raises(ValueError, match="^alpha"):
        dec.monitor_sample_ratio([[10, 10]], alpha=0.0)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda e: dec.check_non_inferiority(e, 1.0), "estimate"),
        (lambda e: dec.normal_posterior(e, 0.0, 1.0), "estimate"),
        (lambda e: dec.bayesian_decision(e, 0.01), "estimate"),
        (
            lambda e: dec.expected_net_value(
                e, units_per_day=10.0, horizon_days=1.0, value_per_unit=1.0
            ),
            "effect",
        ),
        (
            lambda e: dec.decide(make_rule(), {**estimates(1.0), "latency": e}),
            "estimates['latency']",
        ),
    ],
)
def test_functions_taking_an_estimate_reject_numbers_and_nan_se(call, name: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(name)} must be a playbook_lib.Estimate"):
        call(0.5)
    with pytest.raises(ValueError, match=f"^{re.escape(name)} needs a finite positive se"):
        call(NO_SE)


def test_summarize_effect_is_estimate_from_standard_error() -> None:
    for df in (None, 7.0):
        ours = dec.summarize_effect(1.3, 0.6, alpha=0.1, df=df, method="m", details={"n": 3})
        shared = Estimate.from_standard_error("m", 1.3, 0.6, alpha=0.1, df=df, details={"n": 3})
        assert ours.to_dict() == shared.to_dict()
    with pytest.raises(ValueError, match="^se must be positive"):
        dec.summarize_effect(1.0, 0.0)
    with pytest.raises(ValueError, match="^estimate must be a real number"):
        dec.summarize_effect(np.array([1.0, 2.0]), 1.0)
    with pytest.raises(ValueError, match="^se must be a real number"):
        dec.summarize_effect(1.0, "0.5")
    with pytest.raises(ValueError, match="^method"):
        dec.summarize_effect(1.0, 0.5, method=3.5)


def test_rule_consumers_reject_wrong_types() -> None:
    rule = make_rule()
    with pytest.raises(ValueError, match="^rule must be a DecisionRule"):
        dec.decide(rule.primary, estimates(1.0))
    with pytest.raises(ValueError, match="^estimates must be a mapping"):
        dec.decide(rule, [normal(1.0)])
    with pytest.raises(ValueError, match=r"^rules\['r'\] must be a DecisionRule or a callable"):
        dec.simulate_operating_characteristics({"r": rule.primary}, [0.0], 1.0, n_sims=10)
    with pytest.raises(ValueError, match="^rules must be a mapping"):
        dec.simulate_operating_characteristics([rule], [0.0], 1.0, n_sims=10)
    with pytest.raises(ValueError, match=r"^rules\['r'\] must return one bool per draw"):
        dec.simulate_operating_characteristics({"r": lambda e, s: e}, [0.0], 1.0, n_sims=10)
    decision = dec.decide(rule, estimates(10.0))
    with pytest.raises(ValueError, match="^decision must be a Decision"):
        dec.write_decision_memo(rule, question="Ship?")
    with pytest.raises(ValueError, match="^net_value must be a NetValue"):
        dec.write_decision_memo(decision, question="Ship?", net_value=3.0)
    with pytest.raises(ValueError, match="^risks must be a sequence of strings"):
        dec.write_decision_memo(decision, question="Ship?", risks="one risk")


def test_monitor_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="^sigma must be positive"):
        dec.ewma_control_limits(10, target=0.0, sigma=0.0)
    with pytest.raises(ValueError, match="^width must be positive"):
        dec.monitor_ewma([1.0, 2.0], target=0.0, sigma=1.0, width=-1.0)
    with pytest.raises(ValueError, match="^smoothing must lie in"):
        dec.monitor_ewma([1.0, 2.0], target=0.0, sigma=1.0, smoothing=1.5)
    with pytest.raises(ValueError, match="^values contains NaN"):
        dec.monitor_ewma([1.0, np.nan], target=0.0, sigma=1.0)
    with pytest.raises(ValueError, match="^values contains infinite"):
        dec.monitor_ewma([1.0, np.inf], target=0.0, sigma=1.0)
    with pytest.raises(ValueError, match="^exact must be True or False"):
        dec.ewma_control_limits(10, target=0.0, sigma=1.0, exact="no")
    with pytest.raises(ValueError, match="^width .* numerically infinite"):
        dec.ewma_average_run_length(width=1e6)
    with pytest.raises(ValueError, match="^n_sims must be at least 1"):
        dec.simulate_ewma_run_lengths(n_sims=0)


@pytest.mark.parametrize(
    "call",
    [
        lambda rng: dec.simulate_operating_characteristics(
            {"p": dec.ship_if_positive()}, [0.0], 1.0, n_sims=10, rng=rng
        ),
        lambda rng: dec.pareto_frontier_probability(VARIANTS, SES, UP, n_draws=10, rng=rng),
        lambda rng: dec.weighted_utility(
            VARIANTS, SES, {"revenue": 1.0, "satisfaction": 1.0}, UP, n_draws=10, rng=rng
        ),
        lambda rng: dec.simulate_ewma_run_lengths(n_sims=5, max_steps=10, rng=rng),
        lambda rng: simulate_metric_stream(5, mean=0.0, sd=1.0, rng=rng),
        lambda rng: simulate_assignment_counts(5, daily_units=10, rng=rng),
    ],
)
def test_rng_is_validated(call) -> None:
    for bad in ("seed", 1.5, -1):
        with pytest.raises(ValueError, match="^rng"):
            call(bad)


def test_strings_and_arrays_are_refused_for_numbers() -> None:
    with pytest.raises(ValueError, match="^mean must be numeric"):
        dec.expected_loss("0.3", 1.0)  # used to be parsed as 0.3
    with pytest.raises(ValueError, match="^sd must be numeric"):
        dec.expected_loss(0.3, True)
    with pytest.raises(ValueError, match="^mean and sd must have equal lengths"):
        dec.expected_loss([0.0, 1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="^days_per_stage must be one number or one per stage"):
        dec.plan_ramp(daily_units=1000.0, metric_sd=1.0, margin=1.0, days_per_stage=[3, 3])
    with pytest.raises(ValueError, match="^days_per_stage must be numeric"):
        dec.plan_ramp(daily_units=1000.0, metric_sd=1.0, margin=1.0, days_per_stage="3")
    with pytest.raises(ValueError, match="^margin must be a real number"):
        dec.check_non_inferiority(normal(1.0), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="^threshold must be a real number"):
        dec.expected_value_of_sample_information(0.0, 1.0, 1.0, threshold="0")


def test_nan_cells_in_tables_are_only_the_not_applicable_ones() -> None:
    checks = dec.decide(make_rule(minimum_effect=1.0), estimates(3.0)).checks
    numeric = checks[["statistic", "p_value", "level"]]
    nan_rows = checks[numeric.isna().any(axis=1)]
    assert list(nan_rows["test"]) == ["minimum effect"]
    assert nan_rows[["p_value", "level"]].isna().all().all()
    assert np.isfinite(nan_rows["statistic"]).all()
    ramp = dec.plan_ramp(daily_units=1000.0, metric_sd=1.0, margin=1.0)
    full = ramp["treatment_share"] == 1.0
    assert ramp.loc[full, ["se_of_difference", "detectable_degradation"]].isna().all().all()
    assert np.isfinite(ramp.loc[~full, ["se_of_difference", "detectable_degradation"]]).all().all()
    assert not ramp.loc[full, "protects_margin"].any()


def test_degenerate_inputs_get_the_documented_answer() -> None:
    constant = dec.estimate_from_draws(np.full(50, 0.3))
    assert constant.se == 0.0 and constant.ci == (0.3, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        uninformative = dec.expected_value_of_sample_information(0.002, 0.003, 1e200)
    assert uninformative["evsi"] == 0.0
    flat = dec.fit_prior_from_past_experiments(np.zeros(4), np.ones(4))
    assert flat.sd == 0.0
    with pytest.raises(ValueError, match="prior_sd"):  # a point-mass prior: nothing to learn
        flat.posterior(dec.summarize_effect(0.1, 0.2))


def test_assignment_simulator_checks_its_arguments() -> None:
    base = {"n_days": 10, "daily_units": 100, "lost_share": 0.1, "start_day": 3}
    for overrides, name in [
        ({"daily_units": 0}, "daily_units"),
        ({"daily_units": 10.5}, "daily_units"),
        ({"n_days": 0}, "n_days"),
        ({"expected_shares": (0.6, 0.6)}, "expected_shares"),
        ({"expected_shares": (0.0, 1.0)}, "expected_shares"),
        ({"expected_shares": (1.0,)}, "expected_shares"),
        ({"lost_arm": 2}, "lost_arm"),
        ({"lost_arm": -1}, "lost_arm"),
        ({"start_day": 0}, "start_day"),
        ({"start_day": 11}, "start_day"),
        ({"start_day": None}, "start_day"),
        ({"lost_share": 1.0}, "lost_share"),
    ]:
        with pytest.raises(ValueError, match=f"^{name}"):
            simulate_assignment_counts(**{**base, **overrides}, rng=1)
    with pytest.raises(ValueError, match="^shift_step"):
        simulate_metric_stream(10, mean=0.0, sd=1.0, shift=1.0, shift_step=0)
    with pytest.raises(ValueError, match="^sd must be positive"):
        simulate_metric_stream(10, mean=0.0, sd=0.0)


def test_naive_rules_compare_by_value() -> None:
    assert dec.ship_if_ci_excludes_zero(0.05) == dec.ship_if_ci_excludes_zero(0.05)
    assert dec.ship_if_ci_excludes_zero(0.05) != dec.ship_if_ci_excludes_zero(0.1)
    assert dec.ship_if_positive() == dec.ship_if_positive()
    with pytest.raises(ValueError, match="^estimate contains NaN"):
        dec.ship_if_positive()(np.array([np.nan]), np.array([1.0]))


# ----------------------------------------------------------------------------- properties
FINITE = st.floats(-50, 50, allow_nan=False)
SCALE = st.floats(0.01, 100)
SD = st.floats(0.05, 5)


@settings(max_examples=50, deadline=None)
@given(estimate=FINITE, se=SD, c=SCALE, df=st.one_of(st.none(), st.floats(2, 200)))
def test_summarize_effect_flips_with_the_arms_and_scales_with_the_units(
    estimate: float, se: float, c: float, df: float | None
) -> None:
    base = dec.summarize_effect(estimate, se, df=df)
    flipped = dec.summarize_effect(-estimate, se, df=df)  # treatment and control swapped
    assert flipped.ci_low == pytest.approx(-base.ci_high, rel=1e-9, abs=1e-12)
    assert flipped.ci_high == pytest.approx(-base.ci_low, rel=1e-9, abs=1e-12)
    assert flipped.p_value == pytest.approx(base.p_value, rel=1e-9)
    scaled = dec.summarize_effect(c * estimate, c * se, df=df)
    assert scaled.ci_low == pytest.approx(c * base.ci_low, rel=1e-9, abs=1e-12)
    assert scaled.se == pytest.approx(c * base.se, rel=1e-12)
    assert scaled.p_value == pytest.approx(base.p_value, rel=1e-6, abs=1e-300)


@settings(max_examples=50, deadline=None)
@given(estimate=FINITE, se=SD, prior_mean=FINITE, prior_sd=SD, shift=FINITE, c=SCALE)
def test_normal_posterior_shifts_and_scales_with_the_units(
    estimate: float, se: float, prior_mean: float, prior_sd: float, shift: float, c: float
) -> None:
    base = dec.normal_posterior(normal(estimate, se), prior_mean, prior_sd)
    moved = dec.normal_posterior(normal(estimate + shift, se), prior_mean + shift, prior_sd)
    assert moved.estimate == pytest.approx(base.estimate + shift, rel=1e-9, abs=1e-9)
    assert moved.se == pytest.approx(base.se, rel=1e-12)
    scaled = dec.normal_posterior(normal(c * estimate, c * se), c * prior_mean, c * prior_sd)
    assert scaled.estimate == pytest.approx(c * base.estimate, rel=1e-9, abs=1e-9)
    assert scaled.se == pytest.approx(c * base.se, rel=1e-9)
    assert scaled.details["shrinkage"] == pytest.approx(base.details["shrinkage"], rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(mean=FINITE, sd=SD, c=SCALE)
def test_expected_losses_mirror_and_scale(mean: float, sd: float, c: float) -> None:
    up = dec.expected_loss(mean, sd).iloc[0]
    down = dec.expected_loss(-mean, sd, "lower_is_better").iloc[0]
    assert down["loss_if_ship"] == pytest.approx(up["loss_if_ship"], rel=1e-12, abs=1e-300)
    assert up["loss_if_keep"] - up["loss_if_ship"] == pytest.approx(mean, abs=1e-9 * (1 + sd))
    scaled = dec.expected_loss(c * mean, c * sd).iloc[0]
    assert scaled["loss_if_ship"] == pytest.approx(c * up["loss_if_ship"], rel=1e-9, abs=1e-300)


@settings(max_examples=50, deadline=None)
@given(mean=FINITE, sd=SD, additional=SD, threshold=FINITE, c=SCALE)
def test_evsi_is_non_negative_and_scales_with_the_units(
    mean: float, sd: float, additional: float, threshold: float, c: float
) -> None:
    base = dec.expected_value_of_sample_information(mean, sd, additional, threshold=threshold)
    assert base["evsi"] >= 0
    scaled = dec.expected_value_of_sample_information(
        c * mean, c * sd, c * additional, threshold=c * threshold
    )
    assert scaled["evsi"] == pytest.approx(c * base["evsi"], rel=1e-7, abs=1e-12 * c)


@settings(max_examples=50, deadline=None)
@given(draws=st.lists(st.floats(-10, 10), min_size=2, max_size=30), shift=FINITE)
def test_estimate_from_draws_shifts_with_the_draws(draws: list[float], shift: float) -> None:
    base = dec.estimate_from_draws(draws)
    moved = dec.estimate_from_draws(np.asarray(draws) + shift)
    assert moved.estimate == pytest.approx(base.estimate + shift, abs=1e-9)
    assert moved.ci_low == pytest.approx(base.ci_low + shift, abs=1e-9)
    assert moved.se == pytest.approx(base.se, abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=8),
    share=st.floats(0.05, 0.95),
)
def test_sample_ratio_monitor_aggregates_and_swaps_arms(
    counts: list[tuple[int, int]], share: float
) -> None:
    daily = np.array(counts)
    daily[0] += 1  # units on the first day
    shares = [share, 1 - share]
    table = dec.monitor_sample_ratio(daily, shares).table
    # The last look uses the cumulative counts: the same test as one day holding the sums.
    pooled = dec.monitor_sample_ratio(daily.sum(axis=0, keepdims=True), shares).table
    assert table["statistic"].iloc[-1] == pytest.approx(pooled["statistic"].iloc[0], rel=1e-9)
    swapped = dec.monitor_sample_ratio(daily[:, ::-1], shares[::-1]).table
    np.testing.assert_allclose(swapped["statistic"], table["statistic"], rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(shift=st.tuples(FINITE, FINITE), c=SCALE)
def test_pareto_frontier_ignores_units_and_mirrors_directions(
    shift: tuple[float, float], c: float
) -> None:
    base = dec.pareto_frontier(VARIANTS, UP)
    moved = dec.pareto_frontier(c * VARIANTS + np.array(shift), UP)
    assert list(moved) == list(base)
    mirrored = dec.pareto_frontier(-VARIANTS, {m: "lower_is_better" for m in UP})
    assert list(mirrored) == list(base)
    weights = {"revenue": 1.0, "satisfaction": 2.0}
    utility = dec.weighted_utility(VARIANTS, SES, weights, UP, n_draws=10, rng=1)
    flipped = dec.weighted_utility(
        -VARIANTS, SES, weights, {m: "lower_is_better" for m in UP}, n_draws=10, rng=1
    )
    pd.testing.assert_frame_equal(utility, flipped)
