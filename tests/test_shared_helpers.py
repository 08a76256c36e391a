"""Tests of private helpers shared inside a subpackage (written once, used twice)."""

from __future__ import annotations

from playbook_lib import abtest
from playbook_lib.abtest._checks import estimate_from_row
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.results import Estimate


def test_estimate_from_row_copies_the_row_and_leaves_df_unset():
    row = {"estimate": 0.5, "se": 0.1, "ci_low": 0.3, "ci_high": 0.7, "p_value": 0.01, "z": 5.0}
    out = estimate_from_row("m", 0.05, row, {"n_control": 3})
    assert out == Estimate(
        "m", 0.5, 0.1, 0.3, 0.7, alpha=0.05, p_value=0.01, details={"n_control": 3}
    )
    assert out.df is None


def test_twins_built_with_estimate_from_row_keep_their_fields():
    control = ArmStatistics.from_counts(40, 400)
    treatment = ArmStatistics.from_counts(55, 400)
    proportions = abtest.compare_proportions_from_stats(control, treatment)
    assert proportions.method == "two-proportion z"
    assert proportions.ci_low < proportions.estimate < proportions.ci_high
    lift = abtest.estimate_relative_lift_from_stats(control, treatment, method="fieller")
    assert lift.method == "relative lift (fieller)"
    assert lift.details["bounded"] is True
