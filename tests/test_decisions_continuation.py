"""Hold-then-extend (plan_continuation, simulate_hold_then_extend) and the power monitor.

References
----------
- Exact bivariate-normal probabilities (one-dimensional quadrature, and
  scipy.stats.multivariate_normal where a simulation's Monte Carlo error dominates) for the
  two-look false-ship rates, with the canonical correlation ``sqrt(t_1 / t_2)``.
- rpact for the O'Brien-Fleming-type levels at information 2/3 and 1 (literal below).
- statsmodels' ``NormalIndPower`` / ``TTestIndPower`` for the power monitor.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from playbook_lib import decisions as dec
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.decisions.continuation import _ACTION_NAMES, _actions_at_level

ALPHA = 0.025
RULE = dec.DecisionRule(
    dec.PrimaryMetric("conversion", minimum_effect=0.005),
    (
        dec.Guardrail("latency", "lower_is_better", 20.0),
        dec.Guardrail("retention", "higher_is_better", 0.002),
    ),
    alpha=ALPHA,
)
SIZES = [40_000, 60_000]  # one more week at half the first two weeks' traffic: t_1 = 2/3
FIRST_SE = {"conversion": 0.002, "latency": 2.0, "retention": 0.001}
# Primary certain to pass, latency far inside its margin, retention exactly at its margin.
AT_MARGIN = {"conversion": 0.05, "latency": 1.0, "retention": -0.002}


def _bivariate_upper(b1: float, b2: float, rho: float) -> float:
    """P(Z_1 > b1 or Z_2 > b2) for standard bivariate normals with correlation rho.

    As one minus ``int_{-inf}^{b1} phi(x) Phi((b2 - rho x) / sqrt(1 - rho^2)) dx`` by
    quadrature: exact to about 1e-12 on every supported scipy (``multivariate_normal.cdf``
    is a Monte Carlo estimate with error about 1e-5 before scipy 1.17).
    """
    scale = np.sqrt(1 - rho**2)
    inside, _ = integrate.quad(
        lambda x: stats.norm.pdf(x) * stats.norm.cdf((b2 - rho * x) / scale),
        -np.inf,
        b1,
        epsabs=1e-13,
        epsrel=1e-12,
    )
    return 1.0 - inside


def test_unplanned_second_look_false_ship_rate_is_exactly_3_85_percent() -> None:
    rho = np.sqrt(2 / 3)
    q = stats.norm.isf(ALPHA)
    exact = _bivariate_upper(q, q, rho)
    assert exact == pytest.approx(0.03850, abs=5e-5)
    plan = dec.plan_continuation(RULE, SIZES)
    assert plan.unplanned_false_ship_rate == pytest.approx(exact, abs=1e-6)


def test_plan_levels_match_rpact_and_spend_alpha_exactly() -> None:
    # rpact: d <- getDesignGroupSequential(typeOfDesign = "asOF",
    #   informationRates = c(2/3, 1), alpha = 0.025, sided = 1)
    # d$criticalValues: 2.509308510 1.992884152; d$stageLevels: 0.00604838913 0.02313706707
    plan = dec.plan_continuation(RULE, SIZES)
    assert np.allclose(plan.design.efficacy_bounds, [2.509309, 1.992884], atol=2e-5)
    assert np.allclose(plan.nominal_alpha, [0.006048, 0.023137], atol=2e-6)
    b1, b2 = plan.design.efficacy_bounds
    assert _bivariate_upper(b1, b2, np.sqrt(2 / 3)) == pytest.approx(ALPHA, abs=2e-6)
    frame = plan.to_frame()
    assert list(frame.n_total) == [80_000, 120_000]
    assert plan.rule_at_look(2).alpha == pytest.approx(plan.nominal_alpha[1])
    assert plan.rule_at_look(1).guardrails == RULE.guardrails


def test_three_look_plan_matches_rpact_and_its_simulated_oc_holds_alpha() -> None:
    # rpact: getDesignGroupSequential(typeOfDesign = "asOF",
    #   informationRates = c(0.5, 0.75, 1), alpha = 0.025, sided = 1)
    # $criticalValues: 2.962588043 2.359017707 2.014083676
    plan = dec.plan_continuation(RULE, [40_000, 60_000, 80_000])
    assert np.allclose(plan.design.efficacy_bounds, [2.962588, 2.359018, 2.014084], atol=2e-5)
    oc = dec.simulate_hold_then_extend(plan, AT_MARGIN, FIRST_SE, n_sims=60_000, rng=5)
    planned = oc.loc["pre-registered continuation"]
    assert abs(planned.probability_ship - ALPHA) < 4 * planned.mc_se
    unplanned = oc.loc["unplanned: same alpha at every look"]
    assert abs(unplanned.probability_ship - plan.unplanned_false_ship_rate) < 4 * unplanned.mc_se
    assert plan.unplanned_false_ship_rate > 0.045  # three looks at 1.96


def test_vectorised_actions_equal_decide() -> None:
    rng = np.random.default_rng(7)
    scale = np.array([0.004, 15.0, 0.002])
    good = rng.normal(0, 1, (120, 3)) * scale + np.array([0.004, -15.0, -0.001])
    se = np.array([0.002, 8.0, 0.001])
    level = 0.01
    codes = _actions_at_level(RULE, level, good, np.broadcast_to(se, good.shape))
    rule = dec.DecisionRule(RULE.primary, RULE.guardrails, alpha=level)
    signs = np.array([1.0, -1.0, 1.0])  # latency is lower-is-better
    seen = set()
    for row, code in zip(good, codes, strict=True):
        effects = {
            name: dec.summarize_effect(sign * value, s, alpha=level)
            for name, sign, value, s in zip(rule.metrics, signs, row, se, strict=True)
        }
        action = dec.decide(rule, effects).action
        assert _ACTION_NAMES[code] == action
        seen.add(action)
    assert seen == {"ship", "hold", "iterate", "roll back"}


def test_hold_then_extend_oc_against_exact_bivariate_normal() -> None:
    plan = dec.plan_continuation(RULE, SIZES)
    oc = dec.simulate_hold_then_extend(plan, AT_MARGIN, FIRST_SE, n_sims=100_000, rng=11)
    rho = np.sqrt(2 / 3)
    mvn = stats.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]])

    def ship_probability(b1: float, b2: float, level_1: float) -> float:
        # ship at look 1, or continue (neither ship nor roll back) and ship at look 2;
        # roll back at look 1 when Holm's smallest p * 3 < level_1.
        c1 = stats.norm.isf(level_1 / 3)
        continue_and_ship = (stats.norm.cdf(b1) - mvn.cdf([b1, b2])) - (
            stats.norm.cdf(-c1) - mvn.cdf([-c1, b2])
        )
        return float(stats.norm.sf(b1) + continue_and_ship)

    q = stats.norm.isf(ALPHA)
    b1, b2 = plan.design.efficacy_bounds
    exact = {
        "one look": ALPHA,
        "unplanned: same alpha at every look": ship_probability(q, q, ALPHA),
        "pre-registered continuation": ship_probability(b1, b2, plan.nominal_alpha[0]),
    }
    assert exact["pre-registered continuation"] == pytest.approx(ALPHA, abs=1e-4)
    for strategy, value in exact.items():
        row = oc.loc[strategy]
        assert abs(row.probability_ship - value) < 4 * row.mc_se, strategy
    # the unplanned extension is detectably worse than alpha: 3.85% against 2.5%
    unplanned = oc.loc["unplanned: same alpha at every look"]
    assert unplanned.probability_ship > ALPHA + 10 * unplanned.mc_se
    assert oc.loc["one look", "expected_n_per_arm"] == SIZES[0]
    assert SIZES[0] < oc.loc["pre-registered continuation", "expected_n_per_arm"] <= SIZES[1]


def test_hold_then_extend_keeps_power_for_a_good_change() -> None:
    # Retention truly unchanged: the planned continuation still ships most of the time.
    plan = dec.plan_continuation(RULE, SIZES)
    good = {**AT_MARGIN, "retention": 0.0}
    oc = dec.simulate_hold_then_extend(plan, good, FIRST_SE, n_sims=20_000, rng=3)
    one_look = oc.loc["one look", "probability_ship"]
    planned = oc.loc["pre-registered continuation", "probability_ship"]
    # one look: P(Z > 1.96 - 2) ~ 0.52; two looks with the extra data: clearly more
    assert one_look == pytest.approx(stats.norm.sf(stats.norm.isf(ALPHA) - 2.0), abs=0.02)
    assert planned > one_look + 0.1


def test_memo_names_the_continuation_plan() -> None:
    plan = dec.plan_continuation(RULE, SIZES)
    effects = {
        "conversion": dec.summarize_effect(0.01, 0.002),
        "latency": dec.summarize_effect(1.0, 2.0),
        "retention": dec.summarize_effect(-0.001, 0.001),
    }
    decision = plan.decide(1, effects)
    assert decision.action == "hold"
    memo = dec.write_decision_memo(decision, question="Ship?", continuation=plan, look=1)
    assert "look 2 of the pre-registered continuation plan" in memo
    assert "60,000 per arm, 120,000 in total" in memo
    assert "0.02314" in memo and "3.85%" in memo
    last = dec.write_decision_memo(
        plan.decide(2, effects), question="Ship?", continuation=plan, look=2
    )
    assert "last of the 2 pre-registered looks: do not ship" in last
    assert plan.decide(2, effects).reason.endswith("last pre-registered look, so do not ship.")
    assert plan.decide(1, effects).reason.endswith("before shipping.")
    default = dec.write_decision_memo(decision, question="Ship?")
    assert "pre-registered continuation plan" in default
    with pytest.raises(ValueError, match="^look must be at most 2"):
        dec.write_decision_memo(decision, question="Ship?", continuation=plan, look=3)
    with pytest.raises(ValueError, match="^continuation must be a ContinuationPlan"):
        dec.write_decision_memo(decision, question="Ship?", continuation="plan")


def test_plan_continuation_bad_inputs() -> None:
    with pytest.raises(ValueError, match="^sample_sizes must hold"):
        dec.plan_continuation(RULE, [40_000])
    with pytest.raises(ValueError, match="^sample_sizes must be positive and strictly"):
        dec.plan_continuation(RULE, [40_000, 30_000])
    with pytest.raises(ValueError, match="^rule must be a DecisionRule"):
        dec.plan_continuation("rule", SIZES)
    plan = dec.plan_continuation(RULE, SIZES)
    with pytest.raises(ValueError, match="^look must be at most 2"):
        plan.rule_at_look(3)
    with pytest.raises(ValueError, match=r"^true_effects is missing metric\(s\) \['latency'\]"):
        dec.simulate_hold_then_extend(
            plan, {"conversion": 0.0, "retention": 0.0}, FIRST_SE, n_sims=100
        )
    with pytest.raises(ValueError, match=r"^first_look_se\['latency'\] must be positive"):
        dec.simulate_hold_then_extend(plan, AT_MARGIN, {**FIRST_SE, "latency": 0.0})


# ------------------------------------------------------------------------ power monitor
def _arms(n_c: int, n_t: int, sd_c: float, sd_t: float) -> tuple[ArmStatistics, ArmStatistics]:
    return (
        ArmStatistics.from_moments(n_c, 10.0, sd_c**2),
        ArmStatistics.from_moments(n_t, 10.5, sd_t**2),
    )


@pytest.mark.parametrize("alternative", ["larger", "two-sided"])
def test_power_monitor_equals_statsmodels_with_equal_variances(alternative: str) -> None:
    control, treatment = _arms(3_000, 3_000, 4.0, 4.0)
    alpha = 0.025 if alternative == "larger" else 0.05
    check = dec.monitor_power(
        control,
        treatment,
        planned_effect=0.4,
        planned_n_per_arm=1_500,
        alpha=alpha,
        power=0.8,
        alternative=alternative,
    )
    effect_size = 0.4 / 4.0
    reference = NormalIndPower().power(effect_size, 1_500, alpha, alternative=alternative)
    assert check.projected_power == pytest.approx(reference, abs=1e-10)
    n_needed = NormalIndPower().solve_power(
        effect_size, alpha=alpha, power=0.8, alternative=alternative
    )
    assert check.needed_n_per_arm == int(np.ceil(n_needed))
    assert check.needed_n_total == 2 * check.needed_n_per_arm
    assert not check.on_track  # 1,500 per arm is short of ~1,570
    # the normal approximation is close to the t-test's power at this size
    t_power = TTestIndPower().power(effect_size, 1_500, alpha, alternative=alternative)
    assert abs(check.projected_power - t_power) < 1e-3


def test_power_monitor_two_sided_size_when_power_is_barely_above_alpha() -> None:
    # Two-sided power tends to alpha as n -> 0, so for a power just above alpha the size
    # is far below the one-sided formula's (a fixed bracket around it once missed it).
    control, treatment = _arms(3_000, 3_000, 4.0, 4.0)
    check = dec.monitor_power(
        control,
        treatment,
        planned_effect=0.4,
        planned_n_per_arm=1_500,
        alpha=0.05,
        power=0.051,
        alternative="two-sided",
    )
    n_needed = NormalIndPower().solve_power(0.1, alpha=0.05, power=0.051, alternative="two-sided")
    assert check.needed_n_per_arm == max(2, int(np.ceil(float(np.squeeze(n_needed)))))
    assert NormalIndPower().power(0.1, check.needed_n_per_arm, 0.05) >= 0.051


def test_power_monitor_unequal_variances_and_traffic_exact_theory() -> None:
    control, treatment = _arms(2_000, 1_900, 3.0, 5.0)
    check = dec.monitor_power(
        control,
        treatment,
        planned_effect=0.25,
        planned_n_per_arm=2_000,
        days_elapsed=7,
        planned_days=14,
    )
    var_c, var_t = control.variance, treatment.variance
    end_c, end_t = 2_000 * 2, 1_900 * 2
    se = np.sqrt(var_c / end_c + var_t / end_t)
    z = stats.norm.isf(0.025)
    assert check.projected_power == pytest.approx(stats.norm.cdf(0.25 / se - z), abs=1e-12)
    n = (z + stats.norm.ppf(0.8)) ** 2 * (var_c + var_t) / 0.25**2
    assert check.needed_n_per_arm == int(np.ceil(n))
    assert check.additional_days == pytest.approx((np.ceil(n) - 1_900) / (1_900 / 7))
    assert check.additional_days > 0 and not check.on_track
    frame = check.to_frame()
    assert frame.loc["n needed in total (both arms)", "value"] == 2 * check.needed_n_per_arm


def test_power_monitor_proportions_use_both_arms_variance() -> None:
    # The "baseline sd only" pitfall asks for 29,826 per arm; with both arms' variances
    # the unpooled normal test needs ~31,230, close to Cohen's h (31,218).
    control = ArmStatistics.from_counts(500, 10_000)
    treatment = ArmStatistics.from_counts(550, 10_000)
    check = dec.monitor_power(
        control,
        treatment,
        planned_effect=0.005,
        planned_n_per_arm=29_826,
        alpha=0.05,
        alternative="two-sided",
    )
    expected = (
        (stats.norm.isf(0.025) + stats.norm.ppf(0.8)) ** 2
        * (control.variance + treatment.variance)
        / 0.005**2
    )
    assert abs(check.needed_n_per_arm - expected) < 2
    assert 31_000 < check.needed_n_per_arm < 31_400 and not check.on_track


def test_power_monitor_bad_inputs_and_degenerate() -> None:
    control, treatment = _arms(100, 100, 1.0, 1.0)
    kwargs = {"planned_effect": 0.5, "planned_n_per_arm": 100}
    with pytest.raises(ValueError, match="^days_elapsed and planned_days"):
        dec.monitor_power(control, treatment, days_elapsed=3, **kwargs)
    with pytest.raises(ValueError, match="^power must lie in"):
        dec.monitor_power(control, treatment, power=0.01, alpha=0.05, **kwargs)
    with pytest.raises(ValueError, match="^treatment must be a playbook_lib"):
        dec.monitor_power(control, 3.0, **kwargs)
    with pytest.raises(ValueError, match="^control needs at least two units"):
        dec.monitor_power(ArmStatistics(1, 1.0, 1.0), treatment, **kwargs)
    constant = ArmStatistics(10, 10.0, 10.0)
    check = dec.monitor_power(constant, constant, **kwargs)
    assert check.projected_power == 1.0 and check.needed_n_per_arm == 2
