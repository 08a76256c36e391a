"""Foundations of A/B testing: assignment, sanity checks, comparisons, power, Bayes.

Every comparison follows one convention: arms are given as ``(control, treatment)`` and
the effect is **treatment minus control** (or treatment over control minus one for a
relative lift). ``alternative="larger"`` means the treatment is better (larger), whatever
the order in which numbers were stored.

Each recipe comes three ways: from rows (``compare_means(y_control, y_treatment)``), from
an arm's aggregates as typed statistics (``compare_means_from_stats(control, treatment)``
with :class:`~playbook_lib.aggregates.ArmStatistics`, or
:class:`~playbook_lib.aggregates.RatioStatistics` for a ratio metric), and vectorised over
simulations (``batch_compare_means(control, treatment)`` with array statistics, one
entry per simulated experiment). ``compare_*`` and ``estimate_*`` return one
:class:`playbook_lib.Estimate`; ``batch_*`` return one :class:`playbook_lib.Estimates`
table, whose ``coverage``, ``rejection_rate`` and ``bias`` answer a Monte Carlo study.

Assignment and sanity (:mod:`~playbook_lib.abtest.assignment`, :mod:`~playbook_lib.abtest.srm`)
    :func:`hash_to_unit_interval`, :func:`hash_to_bucket`, :func:`assign_arms`,
    :func:`assign_complete`, :func:`assign_stratified`, :func:`check_sample_ratio`.
Proportions (:mod:`~playbook_lib.abtest.proportions`)
    :func:`compare_proportions`, :func:`compare_proportions_from_stats`,
    :func:`batch_compare_proportions`.
Means and relative lifts (:mod:`~playbook_lib.abtest.means`)
    :func:`compare_means`, :func:`compare_means_from_stats`, :func:`batch_compare_means`,
    :func:`estimate_relative_lift`, :func:`estimate_relative_lift_from_stats`,
    :func:`batch_estimate_relative_lift`.
Ratio metrics (:mod:`~playbook_lib.abtest.ratio`)
    :func:`compare_ratio_metrics`, :func:`compare_ratio_metrics_from_stats`,
    :func:`batch_compare_ratio_metrics`, :func:`summarize_ratio_metric`.
Bootstrap (:mod:`~playbook_lib.abtest.bootstrap`)
    :func:`bootstrap_difference`.
Regression and strata (:mod:`~playbook_lib.abtest.regression`)
    :func:`estimate_regression_effect`, :func:`estimate_logistic_effect`,
    :func:`estimate_stratified_effect`.
Power (:mod:`~playbook_lib.abtest.power`)
    :func:`sample_size_proportions`, :func:`power_proportions`,
    :func:`minimum_detectable_effect_proportions`, :func:`sample_size_means`,
    :func:`power_means`, :func:`minimum_detectable_effect_means`,
    :func:`simulate_power_proportions`, :func:`simulate_power_means`.
Effects that change with exposure (:mod:`~playbook_lib.abtest.novelty`)
    :func:`exposure_day_effects`, :func:`estimate_effect_trend`.
Several metrics (:mod:`~playbook_lib.abtest.multiple_testing`)
    :func:`adjust_p_values`.
Bayesian view (:mod:`~playbook_lib.abtest.bayes`)
    :func:`probability_treatment_better`, :func:`estimate_beta_binomial`.
"""

from __future__ import annotations

from playbook_lib._kernels import ALTERNATIVES
from playbook_lib.abtest.assignment import (
    assign_arms,
    assign_complete,
    assign_stratified,
    hash_to_bucket,
    hash_to_unit_interval,
)
from playbook_lib.abtest.bayes import estimate_beta_binomial, probability_treatment_better
from playbook_lib.abtest.bootstrap import bootstrap_difference
from playbook_lib.abtest.means import (
    batch_compare_means,
    batch_estimate_relative_lift,
    compare_means,
    compare_means_from_stats,
    estimate_relative_lift,
    estimate_relative_lift_from_stats,
)
from playbook_lib.abtest.multiple_testing import adjust_p_values
from playbook_lib.abtest.novelty import estimate_effect_trend, exposure_day_effects
from playbook_lib.abtest.power import (
    minimum_detectable_effect_means,
    minimum_detectable_effect_proportions,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
    simulate_power_means,
    simulate_power_proportions,
)
from playbook_lib.abtest.proportions import (
    batch_compare_proportions,
    compare_proportions,
    compare_proportions_from_stats,
)
from playbook_lib.abtest.ratio import (
    batch_compare_ratio_metrics,
    compare_ratio_metrics,
    compare_ratio_metrics_from_stats,
    summarize_ratio_metric,
)
from playbook_lib.abtest.regression import (
    estimate_logistic_effect,
    estimate_regression_effect,
    estimate_stratified_effect,
)
from playbook_lib.abtest.srm import SampleRatioCheck, check_sample_ratio

__all__ = [
    "ALTERNATIVES",
    "SampleRatioCheck",
    "adjust_p_values",
    "assign_arms",
    "assign_complete",
    "assign_stratified",
    "batch_compare_means",
    "batch_compare_proportions",
    "batch_compare_ratio_metrics",
    "batch_estimate_relative_lift",
    "bootstrap_difference",
    "check_sample_ratio",
    "compare_means",
    "compare_means_from_stats",
    "compare_proportions",
    "compare_proportions_from_stats",
    "compare_ratio_metrics",
    "compare_ratio_metrics_from_stats",
    "estimate_beta_binomial",
    "estimate_effect_trend",
    "estimate_logistic_effect",
    "estimate_regression_effect",
    "estimate_relative_lift",
    "estimate_relative_lift_from_stats",
    "estimate_stratified_effect",
    "exposure_day_effects",
    "hash_to_bucket",
    "hash_to_unit_interval",
    "minimum_detectable_effect_means",
    "minimum_detectable_effect_proportions",
    "power_means",
    "power_proportions",
    "probability_treatment_better",
    "sample_size_means",
    "sample_size_proportions",
    "simulate_power_means",
    "simulate_power_proportions",
    "summarize_ratio_metric",
]
