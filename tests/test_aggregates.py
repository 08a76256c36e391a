"""Typed sufficient statistics (playbook_lib.aggregates) against NumPy on the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from playbook_lib.aggregates import (
    ArmStatistics,
    CovariateStatistics,
    RatioStatistics,
    arm_statistics,
)

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    arrays(float, st.integers(2, 40), elements=finite),
    arrays(float, st.integers(2, 40), elements=finite),
)
def test_arm_statistics_match_numpy_and_add_up(first: np.ndarray, second: np.ndarray) -> None:
    pooled = ArmStatistics.from_values(first) + ArmStatistics.from_values(second)
    rows = np.concatenate([first, second])
    assert pooled.n == rows.size
    assert pooled.mean == pytest.approx(rows.mean(), rel=1e-9, abs=1e-9)
    scale = max(float(np.mean(rows**2)), 1.0)
    assert pooled.variance == pytest.approx(rows.var(ddof=1), rel=1e-6, abs=1e-9 * scale)
    assert pooled.variance >= 0


def test_constructors_agree() -> None:
    values = np.array([2.0, 4.0, 4.0, 5.0])
    from_values = ArmStatistics.from_values(values)
    assert ArmStatistics.from_moments(4, values.mean(), values.var(ddof=1)) == from_values
    assert ArmStatistics.from_frame(pd.DataFrame({"y": values}), "y") == from_values
    proportion = ArmStatistics.from_counts(3, 10)
    assert (proportion.n, proportion.sum, proportion.sum_squares) == (10, 3.0, 3.0)
    assert proportion.variance == pytest.approx(np.var([1] * 3 + [0] * 7, ddof=1))
    assert ArmStatistics(1, 5.0, 25.0).variance == 0.0  # one unit: no spread


def test_daily_statistics_become_looks() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"y": rng.normal(size=600), "t": rng.integers(0, 2, 600), "day": rng.integers(0, 5, 600)}
    )
    control, treatment = arm_statistics(frame, "y", "t", by="day")
    looks = treatment.cumulative()
    for day in range(5):
        rows = frame.loc[(frame["t"] == 1) & (frame["day"] <= day), "y"]
        assert looks.n[day] == rows.size
        assert looks.mean[day] == pytest.approx(rows.mean(), rel=1e-12)
        assert looks.variance[day] == pytest.approx(rows.var(), rel=1e-10)
    _assert_close(control.total(), ArmStatistics.from_values(frame.loc[frame["t"] == 0, "y"]))
    overall = arm_statistics(frame, "y", "t")
    _assert_close(overall[1], treatment.total())
    labelled = frame.assign(arm=np.where(frame["t"] == 1, "B", "A"))
    assert arm_statistics(labelled, "y", "arm", arms=("A", "B"))[0] == overall[0]


def _assert_close(first: ArmStatistics, second: ArmStatistics) -> None:
    assert first.n == second.n
    assert (first.sum, first.sum_squares) == pytest.approx(
        (second.sum, second.sum_squares), rel=1e-12
    )


def test_ratio_and_covariate_statistics_match_numpy() -> None:
    rng = np.random.default_rng(4)
    pageviews = rng.poisson(5, 200) + 1.0
    clicks = rng.binomial(pageviews.astype(int), 0.1).astype(float)
    ratio = RatioStatistics.from_values(clicks, pageviews)
    assert ratio.ratio == pytest.approx(clicks.sum() / pageviews.sum(), rel=1e-12)
    assert ratio.covariance == pytest.approx(np.cov(clicks, pageviews)[0, 1], rel=1e-10)
    assert ratio.numerator == ArmStatistics.from_values(clicks)
    pre = rng.normal(size=200)
    post = 0.5 * pre + rng.normal(size=200)
    moments = CovariateStatistics.from_values(post, pre)
    assert moments.covariance == pytest.approx(np.cov(post, pre)[0, 1], rel=1e-10)
    assert moments.covariate == ArmStatistics.from_values(pre)
    doubled = moments + moments
    assert doubled.n == 400 and doubled.sum_cross_products == 2 * moments.sum_cross_products


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: ArmStatistics(10, 5.0, 1.0), "sum_squares is below sum\\*\\*2 / n"),
        (lambda: ArmStatistics(0, 0.0, 0.0), "n must be at least 1"),
        (lambda: ArmStatistics(2.5, 1.0, 1.0), "n must hold integers"),
        (lambda: ArmStatistics(3, "1", 1.0), "sum must be a number"),
        (lambda: ArmStatistics(3, np.nan, 1.0), "sum contains NaN"),
        (lambda: ArmStatistics([3, 4], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), "share one length"),
        (lambda: ArmStatistics.from_counts(11, 10), "successes must lie in"),
        (lambda: ArmStatistics.from_moments(5, 1.0, -1.0), "variance must be non-negative"),
        (lambda: RatioStatistics(3, 3.0, 0.0, 3.0, 0.0, 0.0), "sum_denominator must not be zero"),
        # x = (1, 2, 3), y = (1, 2, 3) has sum_xy = 14; 20 implies a correlation above one.
        (lambda: RatioStatistics(3, 6.0, 6.0, 14.0, 14.0, 20.0), "correlation beyond"),
        (lambda: CovariateStatistics(3, 6.0, 6.0, 14.0, 14.0, -20.0), "correlation beyond"),
        (lambda: ArmStatistics(3, 1.0, 1.0).cumulative(), "needs array statistics"),
    ],
)
def test_inconsistent_statistics_are_refused(build, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        build()


def test_round_off_is_not_a_variance() -> None:
    # A constant metric with a large mean: sum_squares - sum**2 / n is round-off.
    values = np.full(1000, 0.1 + 1e6)
    assert ArmStatistics.from_values(values).variance == 0.0
    with pytest.raises(ValueError, match="treatment has no control"):
        arm_statistics(pd.DataFrame({"y": [1.0, 2.0], "treatment": [1, 1]}), "y")
