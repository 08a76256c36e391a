"""Contract cases for playbook_lib.abtest (one valid call per public function)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from contract import Bad, Case
from playbook_lib import abtest
from playbook_lib.aggregates import ArmStatistics, RatioStatistics

_rng = np.random.default_rng(7)
_y_control = _rng.normal(10.0, 2.0, 60)
_y_treatment = _rng.normal(10.5, 2.0, 50)
_b_control = (_rng.random(80) < 0.3).astype(int)
_b_treatment = (_rng.random(70) < 0.4).astype(int)
_ids = [f"user{i}" for i in range(40)]


_mean_stats = {
    "control": ArmStatistics.from_values(_y_control),
    "treatment": ArmStatistics.from_values(_y_treatment),
}
_constant_stats = {
    "control": ArmStatistics(10, 50.0, 250.0),
    "treatment": ArmStatistics(12, 60.0, 300.0),
}
# Array statistics: one entry per simulated experiment.
_mean_batch = {
    "control": ArmStatistics(60, np.array([600.0, 50.0]), np.array([6240.0, 250.0])),
    "treatment": ArmStatistics(50, np.array([520.0, 50.0]), np.array([5600.0, 50.0**2 / 50])),
}
_one_unit = ArmStatistics(1, 5.0, 25.0)
_zero_mean = ArmStatistics(60, 0.0, 240.0)
_conversions = {
    "control": ArmStatistics.from_counts(30, 200),
    "treatment": ArmStatistics.from_counts(45, 210),
}

# ratio metric: clicks per pageview, one row per user
_pv_c = 1 + _rng.poisson(4, 50)
_pv_t = 1 + _rng.poisson(4, 45)
_cl_c = _rng.binomial(_pv_c, 0.1)
_cl_t = _rng.binomial(_pv_t, 0.12)


_ratio = {
    "control": RatioStatistics.from_values(_cl_c, _pv_c),
    "treatment": RatioStatistics.from_values(_cl_t, _pv_t),
}
_summary_c = abtest.summarize_ratio_metric(np.vstack([_cl_c, _cl_c]), np.vstack([_pv_c, _pv_c]))
_summary_t = abtest.summarize_ratio_metric(np.vstack([_cl_t, _cl_t]), np.vstack([_pv_t, _pv_t]))
_negative_denominators = RatioStatistics.from_values([1.0, 2.0, 0.0], [-2.0, -3.0, -1.0])

_frame = pd.DataFrame(
    {
        "y": _rng.normal(size=80),
        "treatment": np.tile([0, 1], 40),
        "x": _rng.normal(size=80),
        "stratum": np.repeat(["a", "b", "c", "d"], 20),
    }
)
_frame["y"] += 0.5 * _frame["x"]
_logit = pd.DataFrame(
    {
        "converted": (_rng.random(120) < 0.3).astype(int),
        "treatment": np.tile([0, 1], 60),
        "day": np.repeat(["mon", "tue", "wed"], 40),
    }
)
_exposure = pd.DataFrame(
    {
        "user_id": np.repeat(np.arange(30), 4),
        "treatment": np.repeat(np.arange(30) % 2, 4),
        "days_since_exposure": np.tile(np.arange(4), 30),
        "outcome": _rng.normal(size=120),
    }
)
_constant_frame = _frame.assign(y=3.0)
_missing_stratum = _frame.assign(stratum=_frame["stratum"].where(_frame.index % 4 != 0))


def _is_point(result) -> bool:
    return result.se == 0 and result.ci_low == result.ci_high == result.estimate


def _zero_effect_p_one(result) -> bool:
    return _is_point(result) and result.estimate == 0 and result.p_value == 1


CASES = [
    # ------------------------------------------------------------------ assignment
    Case(
        abtest.hash_to_unit_interval,
        {"unit_ids": _ids, "salt": "exp-1"},
        kinds={"salt": "text"},
        extra=(
            Bad("no ids", {"unit_ids": []}, ("unit_ids",)),
            Bad("single string", {"unit_ids": "user1"}, ("unit_ids",)),
            Bad("missing id", {"unit_ids": ["a", None]}, ("unit_ids",)),
            Bad("not iterable", {"unit_ids": 3}, ("unit_ids",)),
            Bad("empty salt", {"salt": ""}, ("salt",)),
        ),
    ),
    Case(
        abtest.hash_to_bucket,
        {"unit_ids": _ids, "salt": "exp-1", "n_buckets": 100},
        kinds={"salt": "text"},
        extra=(Bad("one bucket", {"n_buckets": 1}, ("n_buckets",)),),
    ),
    Case(
        abtest.assign_arms,
        {
            "unit_ids": _ids,
            "experiment_id": "exp-1",
            "arms": ("control", "treatment"),
            "weights": [0.5, 0.5],
            "traffic_fraction": 0.8,
        },
        kinds={"experiment_id": "text"},
        extra=(
            Bad("negative weight", {"weights": [1.5, -0.5]}, ("weights",)),
            Bad("zero weight", {"weights": [1.0, 0.0]}, ("weights",)),
            Bad("weights per arm", {"weights": [0.2, 0.3, 0.5]}, ("weights",)),
            # Relative weights are documented: [1, 3] is a 25/75 split.
            Bad("relative weights", {"weights": [1.0, 3.0]}, (), expect="result"),
            Bad("no traffic", {"traffic_fraction": 0.0}, ("traffic_fraction",)),
            Bad("one arm", {"arms": ("control",), "weights": None}, ("arms",)),
            Bad("duplicate arms", {"arms": ("a", "a")}, ("arms",)),
            Bad("arms string", {"arms": "ab", "weights": None}, ("arms",)),
            Bad("empty experiment", {"experiment_id": ""}, ("experiment_id",)),
        ),
    ),
    Case(
        abtest.assign_complete,
        {"n_units": 20, "n_treated": 8},
        extra=(
            Bad("all treated", {"n_treated": 20}, ("n_treated",)),
            Bad("none treated", {"n_treated": 0}, ("n_treated",)),
        ),
    ),
    Case(
        abtest.assign_stratified,
        {"strata": ["a", "b"] * 10, "treatment_share": 0.5},
        extra=(
            Bad("missing stratum", {"strata": ["a", "b", None, "a", "b"]}, ("strata",)),
            Bad("singleton stratum", {"strata": ["a", "a", "b"]}, ("strata",)),
            Bad("empty", {"strata": []}, ("strata",)),
            Bad("string", {"strata": "aabb"}, ("strata",)),
            Bad("share one", {"treatment_share": 1.0}, ("treatment_share",)),
        ),
    ),
    Case(
        abtest.check_sample_ratio,
        {"counts": [5020, 4980], "planned_shares": [0.5, 0.5], "threshold": 0.001},
        extra=(
            Bad("one arm", {"counts": [100]}, ("counts",)),
            Bad("fractional count", {"counts": [100, 10.5]}, ("counts",)),
            Bad("negative count", {"counts": [100, -1]}, ("counts",)),
            Bad("all zero", {"counts": [0, 0]}, ("counts",)),
            Bad("share per arm", {"planned_shares": [1.0]}, ("planned_shares",)),
            Bad("zero share", {"planned_shares": [1.0, 0.0]}, ("planned_shares",)),
        ),
    ),
    Case(
        abtest.check_sample_ratio, {"counts": {"control": 5020, "treatment": 4980}}, label="mapping"
    ),
    # ------------------------------------------------------------------ proportions
    Case(
        abtest.compare_proportions_from_stats,
        _conversions,
        extra=(
            Bad("not a 0/1 metric", {"control": ArmStatistics(200, 30.0, 50.0)}, ("control",)),
            Bad(
                "arrays",
                {"treatment": ArmStatistics.from_counts([45, 40], 210)},
                ("treatment", "batch_"),
            ),
            Bad(
                "no successes (wald)",
                {
                    "control": ArmStatistics.from_counts(0, 200),
                    "treatment": ArmStatistics.from_counts(0, 210),
                },
                (),
                expect="warning",
                check=_zero_effect_p_one,
            ),
            Bad(
                "extreme (wald)",
                {
                    "control": ArmStatistics.from_counts(0, 5),
                    "treatment": ArmStatistics.from_counts(5, 5),
                },
                (),
                expect="warning",
                check=lambda r: r.estimate == 1 and r.ci_high <= 1,
            ),
        ),
    ),
    Case(
        abtest.compare_proportions_from_stats,
        {
            "control": ArmStatistics.from_counts(0, 5),
            "treatment": ArmStatistics.from_counts(5, 5),
            "interval": "agresti-caffo",
        },
        label="agresti-caffo",
        extra=(
            Bad(
                "no successes",
                {"treatment": ArmStatistics.from_counts(0, 5)},
                (),
                expect="result",
                check=lambda r: (
                    r.estimate == 0 and r.p_value == 1 and -1 <= r.ci_low < 0 < r.ci_high <= 1
                ),
            ),
            Bad(
                "one-sided",
                {"alternative": "larger"},
                (),
                expect="result",
                check=lambda r: r.ci_high == 1 and -1 <= r.ci_low <= 1,
            ),
        ),
    ),
    Case(
        abtest.compare_proportions,
        {"y_control": _b_control, "y_treatment": _b_treatment},
        extra=(
            Bad("not binary", {"y_control": np.array([0, 1, 2])}, ("y_control",)),
            Bad(
                "all zero",
                {
                    "y_control": np.zeros(10),
                    "y_treatment": np.zeros(12),
                    "interval": "agresti-caffo",
                },
                (),
                expect="result",
                check=lambda r: r.estimate == 0 and r.ci_low < 0 < r.ci_high,
            ),
        ),
    ),
    Case(
        abtest.batch_compare_proportions,
        {
            "control": ArmStatistics.from_counts(np.array([30, 0, 10]), 200),
            "treatment": ArmStatistics.from_counts(np.array([45, 0, 200]), 200),
        },
        extra=(
            Bad("not a 0/1 metric", {"treatment": ArmStatistics(200, 45.0, 60.0)}, ("treatment",)),
            Bad(
                "shapes",
                {"control": ArmStatistics.from_counts(np.array([30, 0]), 200)},
                ("control",),
            ),
        ),
    ),
    # ------------------------------------------------------------------ means
    Case(
        abtest.compare_means,
        {"y_control": _y_control, "y_treatment": _y_treatment},
        extra=(
            Bad("one observation", {"y_control": _y_control[:1]}, ("y_control",)),
            Bad(
                "both constant",
                {"y_control": np.full(5, 2.0), "y_treatment": np.full(6, 2.0)},
                (),
                expect="warning",
                check=_zero_effect_p_one,
            ),
            Bad("2-d", {"y_control": np.ones((3, 2))}, ("y_control",)),
        ),
    ),
    Case(
        abtest.compare_means_from_stats,
        _mean_stats,
        extra=(
            Bad("one unit", {"control": _one_unit}, ("control",)),
            Bad("arrays", {"treatment": _mean_batch["treatment"]}, ("treatment",)),
            Bad("ratio statistics", {"control": _ratio["control"]}, ("control",)),
            Bad("both constant", _constant_stats, (), expect="warning", check=_zero_effect_p_one),
        ),
    ),
    Case(
        abtest.batch_compare_means,
        _mean_batch,
        extra=(
            Bad("one unit", {"treatment": _one_unit}, ("treatment",)),
            Bad("scalar arm", {"control": _mean_stats["control"]}, (), expect="result"),
            Bad("shapes", {"control": ArmStatistics(60, np.ones(3), np.ones(3))}, ("control",)),
        ),
    ),
    Case(
        abtest.estimate_relative_lift_from_stats,
        _mean_stats,
        extra=(
            Bad("zero control mean", {"control": _zero_mean}, ("control",)),
            Bad("one unit", {"treatment": _one_unit}, ("treatment",)),
        ),
    ),
    Case(
        abtest.estimate_relative_lift_from_stats,
        {
            "control": ArmStatistics.from_counts(60, 500),
            "treatment": ArmStatistics.from_counts(75, 480),
            "method": "fieller",
        },
        label="binary fieller",
        extra=(
            Bad(
                "no control conversions",
                {"control": ArmStatistics.from_counts(0, 500)},
                ("control",),
            ),
        ),
    ),
    Case(
        abtest.estimate_relative_lift,
        {"y_control": _y_control, "y_treatment": _y_treatment},
        extra=(
            Bad(
                "control mean zero", {"y_control": np.array([-0.1, 0.1, 0.2, -0.2])}, ("y_control",)
            ),
            Bad(
                "both constant",
                {"y_control": np.full(4, 2.0), "y_treatment": np.full(5, 3.0), "method": "fieller"},
                (),
                expect="warning",
                check=lambda r: _is_point(r) and abs(r.estimate - 0.5) < 1e-12,
            ),
        ),
    ),
    Case(
        abtest.batch_estimate_relative_lift,
        {
            "control": ArmStatistics(60, np.array([600.0, 500.0]), np.array([6240.0, 4300.0])),
            "treatment": ArmStatistics(50, np.array([520.0, 480.0]), np.array([5600.0, 4700.0])),
        },
        extra=(
            Bad(
                "zero control mean",
                {"control": ArmStatistics(60, np.array([600.0, 0.0]), np.array([6240.0, 4300.0]))},
                ("control",),
            ),
        ),
    ),
    # ------------------------------------------------------------------ ratio metrics
    Case(
        abtest.compare_ratio_metrics_from_stats,
        _ratio,
        extra=(
            Bad("negative denominators", {"control": _negative_denominators}, ("control",)),
            Bad("arm statistics", {"treatment": _mean_stats["treatment"]}, ("treatment",)),
            Bad("arrays", {"control": _summary_c}, ("control",)),
        ),
    ),
    Case(
        abtest.compare_ratio_metrics,
        {
            "numerator_control": _cl_c,
            "denominator_control": _pv_c,
            "numerator_treatment": _cl_t,
            "denominator_treatment": _pv_t,
        },
        same_length=(
            ("numerator_control", "denominator_control"),
            ("numerator_treatment", "denominator_treatment"),
        ),
        extra=(
            Bad(
                "zero denominators", {"denominator_control": np.zeros(50)}, ("denominator_control",)
            ),
            Bad(
                "constant ratio",
                {"numerator_control": 2 * _pv_c, "numerator_treatment": 2 * _pv_t},
                (),
                expect="warning",
                check=_zero_effect_p_one,
            ),
        ),
    ),
    Case(
        abtest.summarize_ratio_metric,
        {"numerator": _cl_c, "denominator": _pv_c},
        extra=(
            Bad("one unit", {"numerator": _cl_c[:1], "denominator": _pv_c[:1]}, ("numerator",)),
        ),
    ),
    Case(
        abtest.summarize_ratio_metric,
        {"numerator": np.vstack([_cl_c, _cl_c]), "denominator": np.vstack([_pv_c, _pv_c])},
        label="batch",
    ),
    Case(
        abtest.batch_compare_ratio_metrics,
        {"control": _summary_c, "treatment": _summary_t},
        extra=(
            Bad("negative denominators", {"control": _negative_denominators}, ("control",)),
            Bad(
                "one unit", {"treatment": RatioStatistics.from_values([1.0], [2.0])}, ("treatment",)
            ),
        ),
    ),
    # ------------------------------------------------------------------ bootstrap
    Case(
        abtest.bootstrap_difference,
        {
            "y_control": _y_control[:30],
            "y_treatment": _y_treatment[:30],
            "n_resamples": 200,
            "rng": np.random.default_rng(1),
        },
        extra=(
            Bad("few resamples", {"n_resamples": 10}, ("n_resamples",)),
            Bad(
                "constant",
                {"y_control": np.full(10, 1.0), "y_treatment": np.full(9, 2.0)},
                (),
                expect="warning",
                check=lambda r: _is_point(r) and r.estimate == 1.0,
            ),
            Bad("not callable", {"statistic": "mean"}, ("statistic",)),
        ),
    ),
    Case(
        abtest.bootstrap_difference,
        {
            "y_control": np.r_[np.zeros(28), 1.0, 2.0],
            "y_treatment": np.r_[np.zeros(25), 3.0],
            "statistic": np.median,
            "n_resamples": 200,
            "rng": 3,
        },
        label="median ties",
        accepts=(),
    ),
    # ------------------------------------------------------------------ regression views
    Case(
        abtest.estimate_regression_effect,
        {"data": _frame, "outcome": "y", "treatment": "treatment", "covariates": ["x"]},
        extra=(
            Bad(
                "constant outcome",
                {"data": _constant_frame},
                (),
                expect="warning",
                check=_zero_effect_p_one,
            ),
            Bad("one arm", {"data": _frame.assign(treatment=1)}, ("treatment",)),
            Bad("constant covariate", {"data": _frame.assign(x=1.0)}, ("covariates",)),
            Bad(
                "coded 1/2", {"data": _frame.assign(treatment=_frame.treatment + 1)}, ("treatment",)
            ),
        ),
    ),
    Case(
        abtest.estimate_regression_effect,
        {"data": _frame, "cov_type": "nonrobust"},
        label="no covariates",
        extra=(
            Bad(
                "constant outcome",
                {"data": _constant_frame},
                (),
                expect="warning",
                check=_zero_effect_p_one,
            ),
            Bad(
                "single treated",
                {
                    "data": _frame.assign(treatment=(_frame.index == 0).astype(int)),
                    "cov_type": "HC2",
                },
                ("treatment",),
            ),
        ),
    ),
    Case(
        abtest.estimate_logistic_effect,
        {"data": _logit, "fixed_effects": ["day"]},
        extra=(
            Bad("not binary", {"data": _logit.assign(converted=2)}, ("outcome",)),
            Bad("no conversions", {"data": _logit.assign(converted=0)}, ("outcome",)),
        ),
    ),
    Case(
        abtest.estimate_regression_effect,
        {"data": _frame, "cluster": "stratum"},
        label="clustered",
        extra=(
            Bad("missing cluster", {"data": _missing_stratum}, ("cluster",)),
            Bad("two clusters", {"data": _frame.iloc[:40]}, ("cluster",)),
            Bad("no such cluster column", {"cluster": "no_such"}, ("cluster",)),
        ),
    ),
    # ------------------------------------------------------------------ novelty
    Case(
        abtest.exposure_day_effects,
        {"data": _exposure},
        extra=(
            Bad(
                "fractional days",
                {"data": _exposure.assign(days_since_exposure=0.5)},
                ("exposure_day",),
            ),
            Bad(
                "negative days",
                {"data": _exposure.assign(days_since_exposure=-1)},
                ("exposure_day",),
            ),
            Bad("one arm", {"data": _exposure.assign(treatment=1)}, ("treatment",)),
            Bad("min_units one", {"min_units": 1}, ("min_units",)),
            Bad("too few units", {"min_units": 1_000}, ("data",)),
        ),
    ),
    Case(
        abtest.estimate_effect_trend,
        {"data": _exposure},
        # unit labels may be strings (user ids)
        accepts=("data[user_id]=string*",),
        extra=(
            Bad("one day", {"data": _exposure.assign(days_since_exposure=3)}, ("exposure_day",)),
            Bad("no unit column", {"unit": "no_such"}, ("unit",)),
            Bad("two units", {"data": _exposure.assign(user_id=_exposure.user_id % 2)}, ("unit",)),
            Bad("missing unit", {"data": _exposure.assign(user_id=np.nan)}, ("unit",)),
        ),
    ),
    Case(
        abtest.estimate_stratified_effect,
        {"data": _frame},
        extra=(
            Bad("missing stratum", {"data": _missing_stratum}, ("stratum",)),
            Bad(
                "constant outcome",
                {"data": _constant_frame},
                (),
                expect="warning",
                check=_zero_effect_p_one,
            ),
            Bad("thin stratum", {"data": _frame.iloc[:41]}, ("stratum",)),
        ),
    ),
    # ------------------------------------------------------------------ power
    Case(
        abtest.sample_size_proportions,
        {"p_control": 0.10, "p_treatment": 0.11},
        extra=(
            Bad("equal", {"p_treatment": 0.10}, ("p_treatment",)),
            Bad("zero", {"p_control": 0.0}, ("p_control",)),
            Bad("one", {"p_treatment": 1.0}, ("p_treatment",)),
        ),
    ),
    Case(
        abtest.sample_size_proportions,
        {"p_control": 0.10, "p_treatment": 0.12, "method": "cohen-h"},
        label="cohen-h",
    ),
    Case(
        abtest.power_proportions,
        {"p_control": 0.10, "p_treatment": 0.11, "n_per_arm": 5000.0},
        extra=(Bad("one unit", {"n_per_arm": 1.0}, ("n_per_arm",)),),
    ),
    Case(
        abtest.minimum_detectable_effect_proportions,
        {"p_control": 0.10, "n_per_arm": 5000.0},
        extra=(Bad("one unit", {"n_per_arm": 1.0}, ("n_per_arm",)),),
    ),
    Case(
        abtest.sample_size_means,
        {"effect": 0.5, "sd": 2.0},
        extra=(
            Bad("no effect", {"effect": 0.0}, ("effect",)),
            Bad("zero sd", {"sd": 0.0}, ("sd",)),
        ),
    ),
    Case(
        abtest.power_means,
        {"effect": 0.5, "sd": 2.0, "n_per_arm": 100.0},
        extra=(Bad("one unit", {"n_per_arm": 1.0}, ("n_per_arm",)),),
    ),
    Case(abtest.minimum_detectable_effect_means, {"sd": 2.0, "n_per_arm": 100.0}),
    Case(
        abtest.simulate_power_proportions,
        {"p_control": 0.10, "p_treatment": 0.12, "n_per_arm": 500, "n_sims": 200},
        extra=(
            Bad(
                "no events",
                {"p_control": 0.0, "p_treatment": 0.0},
                (),
                expect="result",
                check=lambda r: r.estimate == 0,
            ),
        ),
    ),
    Case(abtest.simulate_power_means, {"effect": 0.3, "sd": 1.0, "n_per_arm": 50, "n_sims": 200}),
    # ------------------------------------------------------------------ several metrics
    Case(
        abtest.adjust_p_values,
        {"p_values": [0.01, 0.04, 0.3]},
        extra=(
            Bad("above one", {"p_values": [0.1, 1.2]}, ("p_values",)),
            Bad("negative", {"p_values": [-0.1, 0.2]}, ("p_values",)),
            Bad("scalar", {"p_values": 0.3}, ("p_values",)),
        ),
    ),
    Case(
        abtest.adjust_p_values,
        {"p_values": {"ctr": 0.01, "revenue": 0.2}, "method": "fdr_bh"},
        label="mapping",
        # dropping one metric leaves a valid (smaller) family of p-values
        accepts=("p_values-*",),
    ),
    # ------------------------------------------------------------------ Bayesian view
    Case(
        abtest.probability_treatment_better,
        {"successes_control": 30, "n_control": 200, "successes_treatment": 40, "n_treatment": 200},
        extra=(
            Bad("zero prior", {"prior_alpha": 0.0}, ("prior_alpha",)),
            Bad("negative prior", {"prior_beta": -1.0}, ("prior_beta",)),
            Bad("above n", {"successes_control": 201}, ("successes_control",)),
            Bad(
                "no successes",
                {"successes_control": 0, "successes_treatment": 0},
                (),
                expect="result",
                check=lambda r: abs(r - 0.5) < 1e-9,
            ),
        ),
    ),
    Case(
        abtest.estimate_beta_binomial,
        {"successes_control": 30, "n_control": 200, "successes_treatment": 40, "n_treatment": 200},
        extra=(
            Bad("zero prior", {"prior_beta": 0.0}, ("prior_beta",)),
            Bad(
                "no successes",
                {"successes_control": 0, "successes_treatment": 0},
                (),
                expect="result",
                check=lambda r: abs(r.estimate) < 1e-12 and r.ci_low < 0 < r.ci_high,
            ),
        ),
    ),
]

assert all(math.isfinite(arm.mean) for arm in _mean_stats.values())
