"""Contract cases for playbook_lib.decisions (one valid call per public function)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from contract import Bad, Case
from playbook_lib import Estimate
from playbook_lib import decisions as dec
from playbook_lib.aggregates import ArmStatistics

_effect = dec.summarize_effect(0.02, 0.008)
_no_se = Estimate("permutation", 0.02, math.nan, 0.005, 0.035)
_rule = dec.DecisionRule(
    dec.PrimaryMetric("conversion", minimum_effect=0.005),
    (dec.Guardrail("latency", "lower_is_better", 20.0),),
)
_estimates = {"conversion": _effect, "latency": dec.summarize_effect(3.0, 4.0)}
_decision = dec.decide(_rule, _estimates)
_net_value = dec.expected_net_value(
    _effect, units_per_day=1000.0, horizon_days=30.0, value_per_unit=2.0
)
_draws = np.random.default_rng(3).normal(0.02, 0.01, 200)
_variants = pd.DataFrame(
    {"revenue": [100.0, 110.0, 105.0], "satisfaction": [90.0, 85.0, 92.0]}, index=list("ABC")
)
_ses = pd.DataFrame({"revenue": 2.0, "satisfaction": 1.5}, index=_variants.index)
_directions = {"revenue": "higher_is_better", "satisfaction": "higher_is_better"}
_plan = dec.plan_continuation(_rule, [1000.0, 1500.0])
_control_stats = ArmStatistics.from_moments(800, 10.0, 16.0)
_treatment_stats = ArmStatistics.from_moments(790, 10.4, 17.0)
_counts = np.array([[1000, 990], [1010, 1002], [995, 1001], [1003, 999], [990, 1005]])


def _estimate_bads(name: str) -> tuple[Bad, ...]:
    return (
        Bad(f"{name} without se", {name: _no_se}, (name,)),
        Bad(f"{name} is a number", {name: 0.02}, (name,)),
    )


CASES = [
    Case(
        dec.summarize_effect,
        {"estimate": 0.02, "se": 0.008},
        kinds={"se": "positive", "method": "text"},
        extra=(
            Bad("zero se", {"se": 0.0}, ("se",)),
            Bad("details not a mapping", {"details": [1, 2]}, ("details",)),
            Bad("empty method", {"method": ""}, ("method",)),
        ),
    ),
    Case(
        dec.summarize_effect,
        {"estimate": -1.5, "se": 0.4, "df": 12.0, "alpha": 0.1},
        kinds={"se": "positive", "df": "positive", "method": "text"},
        label="t",
    ),
    Case(
        dec.estimate_from_draws,
        {"draws": _draws},
        kinds={"method": "text"},
        extra=(
            Bad("one draw", {"draws": _draws[:1]}, ("draws",)),
            Bad("2-D draws", {"draws": _draws.reshape(20, 10)}, ("draws",)),
            Bad(
                "constant draws",
                {"draws": np.full(10, 0.3)},
                ("draws",),
                expect="result",
                check=lambda e: e.se == 0 and e.ci_low == e.ci_high == 0.3,
            ),
        ),
    ),
    Case(
        dec.check_non_inferiority,
        {"estimate": _effect, "margin": 0.01},
        kinds={"margin": "positive"},
        extra=_estimate_bads("estimate"),
    ),
    Case(
        dec.decide,
        {"rule": _rule, "estimates": _estimates},
        extra=(
            Bad(
                "estimate without se",
                {"estimates": {**_estimates, "latency": _no_se}},
                ("latency",),
            ),
            Bad(
                "number for an estimate",
                {"estimates": {**_estimates, "conversion": 0.02}},
                ("conversion",),
            ),
            Bad(
                "zero se",
                {"estimates": {**_estimates, "conversion": Estimate("x", 0.02, 0.0, 0.02, 0.02)}},
                ("conversion",),
            ),
            Bad("rule is a PrimaryMetric", {"rule": _rule.primary}, ("rule",)),
        ),
    ),
    Case(dec.ship_if_positive, {}),
    Case(dec.ship_if_ci_excludes_zero, {"alpha": 0.05}),
    Case(
        dec.ship_if_risk_adjusted_lift_clears,
        {"minimum_effect": 0.01, "risk_aversion": 0.5},
        kinds={"minimum_effect": "positive", "risk_aversion": "positive"},
    ),
    Case(
        dec.simulate_operating_characteristics,
        {
            "rules": {"rule": _rule},
            "true_effects": np.array([-0.01, 0.0, 0.01, 0.02]),
            "se": 0.008,
            "n_sims": 200,
            "rng": np.random.default_rng(1),
        },
        kinds={"se": "positive"},
        extra=(
            Bad("rule of a wrong type", {"rules": {"rule": 3.0}}, ("rules",)),
            Bad("rule returning one value", {"rules": {"bad": lambda e, s: True}}, ("rules",)),
            Bad("zero se", {"se": 0.0}, ("se",)),
            Bad("too few sims", {"n_sims": 5}, ("n_sims",)),
        ),
    ),
    Case(
        dec.simulate_operating_characteristics,
        {
            "rules": {"positive": dec.ship_if_positive()},
            "true_effects": np.array([0.0, 0.01]),
            "se": 0.008,
            "n_sims": 100,
            "df": 30.0,
            "rng": np.random.default_rng(2),
        },
        kinds={"se": "positive", "df": "positive"},
        label="callable-t",
    ),
    Case(
        dec.normal_posterior,
        {"estimate": _effect, "prior_mean": 0.0, "prior_sd": 0.01},
        kinds={"prior_sd": "positive"},
        extra=_estimate_bads("estimate"),
    ),
    Case(dec.normal_posterior, {"estimate": _effect, "alpha": 0.1}, label="flat"),
    Case(
        dec.fit_prior_from_past_experiments,
        {
            "effects": np.array([0.01, -0.004, 0.02, 0.003, 0.008]),
            "ses": np.array([0.005, 0.006, 0.004, 0.005, 0.007]),
        },
        extra=(
            Bad(
                "two experiments",
                {"effects": np.array([0.01, 0.02]), "ses": np.array([0.005, 0.005])},
                ("effects",),
            ),
            Bad("zero se", {"ses": np.array([0.005, 0.0, 0.004, 0.005, 0.007])}, ("ses",)),
            Bad(
                "no spread beyond noise",
                {"effects": np.zeros(5)},
                ("effects",),
                expect="result",
                check=lambda r: r.sd == 0.0,
            ),
        ),
    ),
    Case(
        dec.expected_loss,
        {"mean": 0.01, "sd": 0.008},
        kinds={"sd": "positive"},
        # One row per element of array inputs is documented behaviour.
        accepts=("mean=array", "sd=array"),
        extra=(
            Bad("zero sd", {"sd": 0.0}, ("sd",)),
            Bad(
                "lengths differ",
                {"mean": np.array([0.0, 0.1, 0.2]), "sd": np.array([1.0, 2.0])},
                ("mean", "sd"),
            ),
            Bad("2-D mean", {"mean": np.zeros((2, 2))}, ("mean",)),
            Bad("bool sd", {"sd": True}, ("sd",)),
        ),
    ),
    Case(
        dec.expected_loss_from_draws,
        {"draws": _draws, "direction": "lower_is_better"},
        extra=(Bad("one draw", {"draws": _draws[:1]}, ("draws",)),),
    ),
    Case(
        dec.bayesian_decision,
        {"estimate": _effect, "threshold_of_caring": 0.001, "prior_sd": 0.02},
        kinds={"threshold_of_caring": "positive", "prior_sd": "positive"},
        extra=_estimate_bads("estimate"),
    ),
    Case(
        dec.expected_value_of_sample_information,
        {"mean": 0.002, "sd": 0.003, "additional_se": 0.004, "threshold": 0.001},
        kinds={
            "sd": "positive",
            "additional_se": "positive",
            "threshold": "number",
            "value_per_unit": "positive",
        },
        extra=(
            Bad(
                "uninformative extra data",
                {"additional_se": 1e200},
                ("additional_se",),
                expect="result",
                check=lambda r: r["evsi"] == 0.0,
            ),
            Bad("zero sd", {"sd": 0.0}, ("sd",)),
        ),
    ),
    Case(
        dec.expected_net_value,
        {
            "effect": _effect,
            "units_per_day": 1000.0,
            "horizon_days": 30.0,
            "value_per_unit": 2.0,
            "fixed_cost": 10.0,
        },
        kinds={
            "units_per_day": "positive",
            "horizon_days": "positive",
            "value_per_unit": "positive",
            "fixed_cost": "positive",
        },
        extra=(
            *_estimate_bads("effect"),
            Bad(
                "overflowing scale",
                {"units_per_day": 1e300, "horizon_days": 1e300},
                ("units_per_day",),
            ),
        ),
    ),
    Case(
        dec.plan_ramp,
        {
            "daily_units": 10_000.0,
            "metric_sd": 50.0,
            "margin": 5.0,
            "stages": np.array([0.1, 0.25, 0.5]),
        },
        kinds={
            "daily_units": "positive",
            "metric_sd": "positive",
            "margin": "positive",
            "days_per_stage": "positive",
        },
        extra=(
            Bad("decreasing stages", {"stages": np.array([0.5, 0.25])}, ("stages",)),
            Bad("share above one", {"stages": np.array([0.5, 1.5])}, ("stages",)),
            Bad("days per stage too short", {"days_per_stage": [3.0, 3.0]}, ("days_per_stage",)),
            Bad(
                "days per stage per stage", {"days_per_stage": [1.0, 2.0, 4.0]}, (), expect="result"
            ),
        ),
    ),
    Case(
        dec.pareto_frontier,
        {"values": _variants, "directions": _directions},
        extra=(
            Bad(
                "unknown direction",
                {"directions": {**_directions, "revenue": "up"}},
                ("directions",),
            ),
            Bad("no columns", {"values": _variants[[]]}, ("values",)),
        ),
    ),
    Case(
        dec.pareto_frontier_probability,
        {
            "means": _variants,
            "ses": _ses,
            "directions": _directions,
            "n_draws": 200,
            "rng": np.random.default_rng(4),
        },
        extra=(
            Bad("negative se", {"ses": -_ses}, ("ses",)),
            Bad("ses for other variants", {"ses": _ses.set_axis(list("XYZ"))}, ("ses",)),
            Bad("ses missing a metric", {"ses": _ses[["revenue"]]}, ("ses",)),
        ),
    ),
    Case(
        dec.weighted_utility,
        {
            "means": _variants,
            "ses": _ses,
            "weights": {"revenue": 1.0, "satisfaction": 2.0},
            "directions": _directions,
            "n_draws": 200,
            "rng": np.random.default_rng(5),
        },
        extra=(
            Bad("negative se", {"ses": -_ses}, ("ses",)),
            Bad("zero weight", {"weights": {"revenue": 1.0, "satisfaction": 0.0}}, ("weights",)),
            Bad("ses missing a metric", {"ses": _ses[["revenue"]]}, ("ses",)),
        ),
    ),
    Case(
        dec.ewma_control_limits,
        {"n_steps": 30, "target": 0.01, "sigma": 0.002},
        kinds={"sigma": "positive", "smoothing": "probability", "width": "positive"},
        extra=(Bad("zero smoothing", {"smoothing": 0.0}, ("smoothing",)),),
    ),
    Case(
        dec.monitor_ewma,
        {
            "values": np.random.default_rng(6).normal(0.01, 0.002, 40),
            "target": 0.01,
            "sigma": 0.002,
            "exact": False,
        },
        kinds={"sigma": "positive", "smoothing": "probability", "width": "positive"},
    ),
    Case(
        dec.simulate_ewma_run_lengths,
        {
            "smoothing": 0.2,
            "width": 2.5,
            "shift": 1.0,
            "n_sims": 50,
            "max_steps": 200,
            "rng": np.random.default_rng(7),
        },
        kinds={"smoothing": "probability", "width": "positive", "max_steps": "count"},
    ),
    Case(
        dec.ewma_average_run_length,
        {"smoothing": 0.1, "width": 2.814, "n_states": 101},
        kinds={"smoothing": "probability", "width": "positive"},
        extra=(
            Bad("too few states", {"n_states": 5}, ("n_states",)),
            Bad("limits too wide", {"width": 1e6}, ("width",)),
        ),
    ),
    Case(
        dec.monitor_sample_ratio,
        {"daily_counts": _counts, "alpha": 0.001},
        extra=(
            Bad("fractional counts", {"daily_counts": _counts + 0.5}, ("daily_counts",)),
            Bad("negative counts", {"daily_counts": -_counts}, ("daily_counts",)),
            Bad("one arm", {"daily_counts": _counts[:, :1]}, ("daily_counts",)),
            Bad("1-D counts", {"daily_counts": _counts[0]}, ("daily_counts",)),
            Bad(
                "empty first day", {"daily_counts": np.vstack([[0, 0], _counts])}, ("daily_counts",)
            ),
        ),
    ),
    Case(
        dec.monitor_sample_ratio,
        {"daily_counts": _counts, "expected_shares": np.array([0.5, 0.5])},
        extra=(
            Bad(
                "shares do not sum to one",
                {"expected_shares": np.array([0.6, 0.6])},
                ("expected_shares",),
            ),
            Bad("a zero share", {"expected_shares": np.array([0.0, 1.0])}, ("expected_shares",)),
            Bad(
                "one share per arm",
                {"expected_shares": np.array([0.2, 0.3, 0.5])},
                ("expected_shares",),
            ),
        ),
        label="shares",
    ),
    Case(
        dec.write_decision_memo,
        {
            "decision": _decision,
            "question": "Ship the new checkout?",
            "net_value": _net_value,
            "risks": ["Novelty effect."],
            "next_steps": ["Ramp."],
        },
        kinds={"question": "text", "title": "text"},
        extra=(
            Bad("risks is a string", {"risks": "Novelty effect."}, ("risks",)),
            Bad("risks hold a number", {"risks": [3.0]}, ("risks",)),
            Bad("next_steps is a number", {"next_steps": 3}, ("next_steps",)),
            Bad("empty question", {"question": "  "}, ("question",)),
        ),
    ),
    Case(
        dec.write_decision_memo,
        {"decision": _decision, "question": "Ship?", "continuation": _plan, "look": 1},
        kinds={"question": "text", "title": "text", "look": "count"},
        extra=(
            Bad("look past the plan", {"look": 3}, ("look",)),
            Bad("continuation not a plan", {"continuation": "plan"}, ("continuation",)),
        ),
        label="continuation",
    ),
    Case(
        dec.plan_continuation,
        {"rule": _rule, "sample_sizes": np.array([1000.0, 1500.0, 2000.0])},
        kinds={"sample_sizes": "positive"},
        extra=(
            Bad("one look", {"sample_sizes": np.array([1000.0])}, ("sample_sizes",)),
            Bad("decreasing", {"sample_sizes": np.array([1500.0, 1000.0])}, ("sample_sizes",)),
            Bad("unknown spending", {"spending": "linear"}, ("spending",)),
            Bad("rule not a rule", {"rule": "ship"}, ("rule",)),
        ),
    ),
    Case(
        dec.simulate_hold_then_extend,
        {
            "plan": _plan,
            "true_effects": {"conversion": 0.02, "latency": 20.0},
            "first_look_se": {"conversion": 0.008, "latency": 4.0},
            "n_sims": 200,
            "rng": np.random.default_rng(8),
        },
        extra=(
            Bad("missing metric", {"true_effects": {"conversion": 0.02}}, ("true_effects",)),
            Bad(
                "zero se",
                {"first_look_se": {"conversion": 0.0, "latency": 4.0}},
                ("first_look_se",),
            ),
            Bad("plan not a plan", {"plan": _rule}, ("plan",)),
            Bad("too few simulations", {"n_sims": 10}, ("n_sims",)),
        ),
    ),
    Case(
        dec.monitor_power,
        {
            "control": _control_stats,
            "treatment": _treatment_stats,
            "planned_effect": 0.5,
            "planned_n_per_arm": 1000.0,
            "days_elapsed": 7.0,
            "planned_days": 14.0,
        },
        kinds={
            "planned_effect": "positive",
            "planned_n_per_arm": "positive",
            "days_elapsed": "positive",
            "planned_days": "positive",
        },
        extra=(
            Bad("days without a plan", {"planned_days": None}, ("days_elapsed", "planned_days")),
            Bad("power below alpha", {"power": 0.01}, ("power",)),
            Bad("one unit", {"control": ArmStatistics(1, 1.0, 1.0)}, ("control",)),
            Bad("not statistics", {"treatment": 3.0}, ("treatment",)),
            Bad(
                "constant metric",
                {
                    "control": ArmStatistics(10, 10.0, 10.0),
                    "treatment": ArmStatistics(10, 10.0, 10.0),
                },
                ("control",),
                expect="result",
                check=lambda check: check.projected_power == 1.0 and check.needed_n_per_arm == 2,
            ),
        ),
    ),
]
