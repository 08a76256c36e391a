"""Tests of the shared result type playbook_lib.results.Estimate."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from playbook_lib import Estimate


def make(**changes) -> Estimate:
    fields = dict(
        method="welch",
        estimate=0.5,
        se=0.2,
        ci_low=0.1,
        ci_high=0.9,
        alpha=0.05,
        p_value=0.02,
        df=98.0,
        details={"n_control": 50},
    )
    fields.update(changes)
    return Estimate(**fields)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"method": ""}, "method"),
        ({"method": 3}, "method"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.0}, "alpha"),
        ({"se": -0.1}, "se"),
        ({"ci_low": 1.0}, "ci_low"),
        ({"p_value": 1.5}, "p_value"),
        ({"p_value": -0.1}, "p_value"),
        ({"df": 0.0}, "df"),
        ({"df": -3}, "df"),
    ],
)
def test_invalid_fields_raise_value_error(changes, match) -> None:
    with pytest.raises(ValueError, match=match):
        make(**changes)


def test_fields_are_coerced_and_frozen() -> None:
    result = make(estimate=np.float32(0.5), df=np.int64(10), p_value=np.float64(0.2))
    assert type(result.estimate) is float and type(result.df) is float
    assert type(result.p_value) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.estimate = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.details["n_control"] = 3  # type: ignore[index]


def test_details_are_copied_from_the_caller() -> None:
    details = {"n": 1}
    result = make(details=details)
    details["n"] = 2
    assert result.details["n"] == 1


def test_infinite_one_sided_interval_is_allowed_but_nan_and_infinity_are_not() -> None:
    result = make(ci_high=float("inf"))
    assert result.covers(1e9) and result.ci_width == float("inf")
    assert math.isnan(make(se=float("nan")).se)  # a method without a standard error
    nan, inf = float("nan"), float("inf")
    for fields, match in [
        ({"estimate": nan}, "estimate must be finite"),
        ({"estimate": inf, "ci_high": inf}, "estimate must be finite"),
        ({"se": inf}, "se must be non-negative and finite"),
        ({"ci_low": nan}, "interval must not be NaN"),
        ({"p_value": nan}, "p_value must lie in"),
        ({"df": nan}, "df must be positive"),
        ({"estimate": "0.5"}, "estimate must be a real number"),
    ]:
        with pytest.raises(ValueError, match=match):
            make(**fields)


def test_from_standard_error_matches_scipy_and_handles_zero_se() -> None:
    from scipy import stats

    normal = Estimate.from_standard_error("z", 1.0, 0.5, alpha=0.1)
    q = stats.norm.ppf(0.95)
    assert normal.ci == pytest.approx((1 - q * 0.5, 1 + q * 0.5), rel=1e-12)
    assert normal.p_value == pytest.approx(2 * stats.norm.sf(2.0), rel=1e-12)
    t_based = Estimate.from_standard_error("t", -1.0, 0.5, df=7)
    q = stats.t.ppf(0.975, 7)
    assert t_based.ci == pytest.approx((-1 - q * 0.5, -1 + q * 0.5), rel=1e-12)
    assert t_based.p_value == pytest.approx(2 * stats.t.cdf(-2.0, 7), rel=1e-12)
    larger = Estimate.from_standard_error("z", 1.0, 0.5, alternative="larger")
    assert larger.ci_high == math.inf
    assert larger.ci_low == pytest.approx(1 - stats.norm.ppf(0.95) * 0.5)
    assert larger.p_value == pytest.approx(stats.norm.sf(2.0), rel=1e-12)
    smaller = Estimate.from_standard_error("z", 1.0, 0.5, alternative="smaller")
    assert smaller.ci_low == -math.inf
    assert smaller.p_value == pytest.approx(stats.norm.cdf(2.0), rel=1e-12)
    # The se -> 0 limit: a point interval, p = 1 at the null and 0 away from it.
    assert Estimate.from_standard_error("z", 0.0, 0.0).p_value == 1.0
    exact = Estimate.from_standard_error("z", 2.0, 0.0, df=3)
    assert exact.ci == (2.0, 2.0) and exact.p_value == 0.0
    assert Estimate.from_standard_error("z", 0.0, 0.0, alternative="larger").p_value == 0.5
    for kwargs, match in [
        ({"se": -1.0}, "se must be finite"),
        ({"se": float("nan")}, "se must be finite"),
        ({"alternative": "greater"}, "alternative must be one of"),
        ({"df": 0}, "df must be positive"),
        ({"alpha": 1.0}, "alpha must lie in"),
    ]:
        arguments = {"method": "z", "estimate": 1.0, "se": 0.5} | kwargs
        with pytest.raises(ValueError, match=match):
            Estimate.from_standard_error(**arguments)


def test_views() -> None:
    result = make()
    assert result.confidence == pytest.approx(0.95)
    assert result.ci == (0.1, 0.9)
    assert result.ci_width == pytest.approx(0.8)
    assert result.covers(0.1) and result.covers(0.9) and not result.covers(0.95)
    assert result.excludes_zero
    assert not make(ci_low=-0.1).excludes_zero
    assert make(estimate=-0.5, ci_low=-0.9, ci_high=-0.1).excludes_zero


def test_scaled_multiplies_and_swaps_for_negative_factors() -> None:
    result = make()
    doubled = result.scaled(2.0, method="welch total")
    assert (doubled.estimate, doubled.se, doubled.ci_low, doubled.ci_high) == pytest.approx(
        (1.0, 0.4, 0.2, 1.8)
    )
    assert doubled.method == "welch total" and doubled.p_value == result.p_value
    assert doubled.df == result.df and dict(doubled.details) == dict(result.details)
    flipped = result.scaled(-1.0)
    assert (flipped.estimate, flipped.se, flipped.ci_low, flipped.ci_high) == pytest.approx(
        (-0.5, 0.2, -0.9, -0.1)
    )
    assert flipped.method == "welch"
    for bad in (0.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="factor"):
            result.scaled(bad)


@settings(max_examples=50, deadline=None)
@given(factor=st.floats(-1e3, 1e3).filter(lambda f: abs(f) > 1e-3))
def test_scaled_keeps_the_estimate_inside_its_interval(factor) -> None:
    scaled = make().scaled(factor)
    assert scaled.ci_low <= scaled.estimate <= scaled.ci_high
    assert scaled.se == pytest.approx(0.2 * abs(factor))


def test_to_dict_and_to_frame() -> None:
    result = make(details={"n_control": 50, "estimate": "ignored"})
    row = result.to_dict()
    assert row["estimate"] == 0.5 and row["n_control"] == 50
    frame = result.to_frame()
    assert list(frame.index) == ["welch"] and frame.index.name == "method"
    assert frame.loc["welch", "ci_high"] == 0.9 and frame.loc["welch", "n_control"] == 50
    both = pd.concat([frame, make(method="ols HC2", df=None).to_frame()])
    assert list(both.index) == ["welch", "ols HC2"]
    assert pd.isna(both.loc["ols HC2", "df"])


def test_repr() -> None:
    assert repr(make()) == "Estimate(welch: 0.5 [0.1, 0.9] 95% CI, se=0.2, p=0.02, df=98)"
    tiny = make(
        estimate=2.5e-6, se=1e-6, ci_low=5e-7, ci_high=4.5e-6, p_value=None, df=None, alpha=0.1
    )
    assert repr(tiny) == "Estimate(welch: 2.500e-06 [5.000e-07, 4.500e-06] 90% CI, se=1.000e-06)"
    assert str(tiny) == repr(tiny)


def test_to_dict_keeps_details_that_clash_with_field_names() -> None:
    estimate = Estimate("x", 1.0, 0.1, 0.8, 1.2, details={"se": 99.0, "n": 10})
    row = estimate.to_dict()
    assert row["se"] == 0.1
    assert row["details.se"] == 99.0
    assert row["n"] == 10


def test_frames_without_p_value_or_df_concatenate_as_float_columns() -> None:
    # pandas 2.2 warns (FutureWarning) when pd.concat meets all-None object columns.
    frames = [make(p_value=None, df=None).to_frame(), make(method="z", df=None).to_frame()]
    for frame in frames:
        assert frame["p_value"].dtype == float and frame["df"].dtype == float
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        both = pd.concat(frames)
    assert both["df"].isna().all() and both.loc["z", "p_value"] == 0.02


def test_estimates_integer_labels_are_labels_not_positions() -> None:
    from playbook_lib import Estimates

    items = [make(estimate=value, ci_low=value - 1, ci_high=value + 1) for value in (1, 3, 5)]
    by_stage = Estimates.from_list(items, labels=[1, 3, 5])
    assert by_stage[3].estimate == 3  # the row labelled 3, not the fourth row
    assert by_stage.at_position(0).estimate == 1 and by_stage.at_position(-1).estimate == 5
    assert [item.estimate for item in by_stage] == [1, 3, 5]
    with pytest.raises(KeyError):
        by_stage[0]
    with pytest.raises(KeyError, match="position 3 is out of range"):
        by_stage.at_position(3)
    named = Estimates.from_list(items, labels=["a", "b", "c"])
    assert named[1].estimate == 3 and named["c"].estimate == 5  # no integer labels: a position
    assert Estimates.from_list(items)[2].estimate == 5  # default labels are the positions


def test_estimates_table_round_trips_and_validates() -> None:
    from playbook_lib import Estimates

    items = [make(), make(method="cuped", estimate=0.4, ci_low=0.0, ci_high=0.8, p_value=None)]
    table = Estimates.from_list(items, labels=["a", "b"])
    assert len(table) == 2 and table["b"].method == "cuped" and table[0] == items[0]
    assert table["b"].p_value is None and list(table) == items
    frame = table.to_frame()
    assert list(frame.columns[:8]) == [
        "method",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "alpha",
        "p_value",
        "df",
    ]
    assert "<table" in table._repr_html_()
    for kwargs, match in [
        ({"estimate": [np.nan]}, "estimate must be finite"),
        ({"se": [-1.0]}, "se must be non-negative"),
        ({"ci_low": [2.0]}, "ci_low <= ci_high"),
        ({"estimate": [1.0, 2.0]}, "length mismatch"),
    ]:
        arguments = {"estimate": [1.0], "se": [0.1], "ci_low": [0.8], "ci_high": [1.2]}
        with pytest.raises(ValueError, match=match):
            Estimates.from_arrays("m", **(arguments | kwargs))
    with pytest.raises(ValueError, match="non-empty sequence of Estimate"):
        Estimates.from_list([0.5])


def test_estimates_from_standard_errors_match_the_scalar_constructor() -> None:
    from playbook_lib import Estimates

    estimate, se = np.array([0.0, 1.0, -2.0, 3.0]), np.array([0.0, 0.5, 1.0, 2.0])
    for df in (None, 12.0):
        table = Estimates.from_standard_errors("z", estimate, se, alpha=0.1, df=df)
        for row, (e, s) in zip(table, zip(estimate, se, strict=True), strict=True):
            single = Estimate.from_standard_error("z", e, s, alpha=0.1, df=df)
            assert row.ci == pytest.approx(single.ci, rel=1e-12)
            assert row.p_value == pytest.approx(single.p_value, rel=1e-12)


def test_calibration_helpers_are_calibrated() -> None:
    """Normal intervals for a normal mean with known se: coverage 1 - alpha, size alpha."""
    from playbook_lib import Estimates

    rng = np.random.default_rng(2026)
    n_sims, truth = 20_000, 1.5
    estimate = truth + rng.normal(size=n_sims)
    table = Estimates.from_standard_errors("z", estimate, 1.0, null_value=truth)
    coverage = table.coverage(truth)
    hits = (np.abs(estimate - truth) <= stats.norm.ppf(0.975)).mean()
    assert coverage.estimate == pytest.approx(hits, abs=1e-12)
    assert abs(coverage.details["z_vs_nominal"]) < 4
    assert coverage.se == pytest.approx(np.sqrt(hits * (1 - hits) / n_sims))
    size = Estimates.from_standard_errors("z", estimate - truth, 1.0).rejection_rate(alpha=0.05)
    assert abs(size.estimate - 0.05) < 4 * size.details["nominal_se"]
    assert size.ci_low < size.estimate < size.ci_high
    # Intervals and p-values reject the same rows.
    by_interval = Estimates.from_standard_errors("z", estimate - truth, 1.0).rejection_rate()
    assert by_interval.estimate == pytest.approx(size.estimate, abs=1e-12)
    bias = table.bias(truth)
    assert bias.estimate == pytest.approx(np.mean(estimate - truth), rel=1e-12)
    assert abs(bias.estimate) < 4 * bias.se
    assert table.rmse(truth) == pytest.approx(np.sqrt(np.mean((estimate - truth) ** 2)))
    with pytest.raises(ValueError, match="truth must be a finite number"):
        table.coverage([1.0, 2.0])


def test_estimate_pickles_and_deep_copies() -> None:
    import copy
    import pickle

    result = make(details={"n": 3})
    for clone in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result), copy.copy(result)):
        assert clone == result and clone.details["n"] == 3


def test_from_proportion_matches_wilson_and_reports_its_distance_from_nominal() -> None:
    # Wilson limits computed once with statsmodels 0.14:
    # proportion_confint(37, 40, alpha=0.05, method="wilson")
    # proportion_confint(0, 25, alpha=0.1, method="wilson")
    hits = np.r_[np.ones(37, bool), np.zeros(3, bool)]
    share = Estimate.from_proportion(hits, nominal=0.95, method="coverage")
    assert share.method == "coverage" and share.estimate == pytest.approx(0.925)
    assert share.se == pytest.approx(math.sqrt(0.925 * 0.075 / 40))
    assert share.ci == pytest.approx((0.8013576648, 0.9741639742), abs=1e-9)
    assert share.details["nominal_se"] == pytest.approx(math.sqrt(0.95 * 0.05 / 40))
    z = (0.925 - 0.95) / math.sqrt(0.95 * 0.05 / 40)
    assert share.details["z_vs_nominal"] == pytest.approx(z)
    none = Estimate.from_proportion(np.zeros(25), alpha=0.1)
    assert none.estimate == 0 and none.se == 0 and dict(none.details) == {"n": 25}
    assert none.ci == pytest.approx((0.0, 0.0976535060), abs=1e-9)
    for bad, match in (
        (dict(hits=[]), "hits"),
        (dict(hits=[0, 2]), "hits"),
        (dict(hits=[0, 1], nominal=1.5), "nominal"),
        (dict(hits=[0, 1], alpha=0.0), "alpha"),
    ):
        with pytest.raises(ValueError, match=match):
            Estimate.from_proportion(**bad)
