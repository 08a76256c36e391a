"""Typed sufficient statistics (playbook_lib.aggregates) against NumPy on the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

import playbook_lib as pl
from playbook_lib.aggregates import (
    ArmStatistics,
    CovariateMoments,
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
    # labels the default arms=(0, 1) does not know: the error names them and arms=
    strings = frame.assign(t=frame["t"].astype(str))
    with pytest.raises(ValueError, match=r"labels other than arms=\(0, 1\).*'0'"):
        arm_statistics(strings, "y", "t")


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


# ------------------------------------------------------------------ CovariateMoments
def _moment_rows(rng: np.random.Generator, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    x = np.column_stack([rng.gamma(2.0, 3.0, n), rng.poisson(4.0, n), rng.normal(5.0, 1.0, n)])
    y = x @ np.array([0.5, 1.0, -2.0]) + rng.normal(0.0, 2.0, n)
    return y, x


def test_variance_keeps_a_small_spread_far_from_zero() -> None:
    # 1e5 +/- 1: the spread is 1e-10 of the mean square, which the sums still hold to about
    # six digits. A wider zero floor once returned variance 0, so the DiD from these
    # statistics had se 0 and p 0 without a warning.
    rows = 1e5 + np.random.default_rng(8).normal(0.0, 1.0, (2, 500))
    rows[1] += 0.2
    control, treatment = (ArmStatistics.from_values(arm) for arm in rows)
    assert control.variance == pytest.approx(rows[0].var(ddof=1), rel=1e-5)
    did = pl.geo.estimate_did_from_stats(control, treatment)
    reference = stats.ttest_ind(rows[1], rows[0], equal_var=False)
    assert did.p_value == pytest.approx(reference.pvalue, rel=1e-3)
    assert did.se == pytest.approx(pl.abtest.compare_means_from_stats(control, treatment).se)


def test_covariate_moments_match_numpy_and_add_up() -> None:
    y, x = _moment_rows(np.random.default_rng(6))
    moments = CovariateMoments.from_values(y, x)
    z = np.column_stack([y, x])
    assert moments.k == 3 and moments.n == y.size
    np.testing.assert_allclose(moments.covariance, np.cov(z, rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(moments.mean_covariates, x.mean(axis=0), rtol=1e-12)
    assert moments.mean_outcome == pytest.approx(y.mean(), rel=1e-12)
    # the same sums up to rounding (z.T @ z and y @ y may take different BLAS paths)
    outcome, direct = moments.outcome, ArmStatistics.from_values(y)
    assert outcome.n == direct.n and outcome.sum == direct.sum
    assert outcome.sum_squares == pytest.approx(direct.sum_squares, rel=1e-13)
    pooled = CovariateMoments.from_values(y[:100], x[:100]) + CovariateMoments.from_values(
        y[100:], x[100:]
    )
    np.testing.assert_allclose(pooled.sum_cross_products, moments.sum_cross_products, rtol=1e-12)
    np.testing.assert_allclose(pooled.sum_covariates, moments.sum_covariates, rtol=1e-12)
    assert pooled.n == moments.n
    # one covariate: the same numbers as the single-covariate statistics
    single = CovariateStatistics.from_values(y, x[:, 1])
    from_moments = moments.to_covariate_statistics(1)
    for name, value in single.to_dict().items():
        assert getattr(from_moments, name) == pytest.approx(value, rel=1e-12)
    subset = moments.select([2, 0])
    np.testing.assert_allclose(
        subset.covariance, np.cov(np.column_stack([y, x[:, 2], x[:, 0]]), rowvar=False), rtol=1e-10
    )
    frame = pd.DataFrame({"y": y, "a": x[:, 0], "b": x[:, 1], "c": x[:, 2]})
    assert CovariateMoments.from_frame(frame, "y", ["a", "b", "c"]) == moments
    assert CovariateMoments.from_frame(frame, "y", "a").k == 1
    with pytest.raises(ValueError, match="read-only"):
        moments.sum_covariates[0] = 1.0


def _moment_fields(**changes: object) -> dict[str, object]:
    y, x = _moment_rows(np.random.default_rng(7), 50)
    return {**CovariateMoments.from_values(y, x).to_dict(), **changes}


def _skewed_cross_products() -> np.ndarray:
    cross = np.array(_moment_fields()["sum_cross_products"])
    cross[0, 1] += 1.0
    return cross


def _correlation_beyond_one() -> np.ndarray:
    # three variables each pairwise consistent, jointly impossible: correlations
    # 0.9 / 0.9 / -0.9 among (y, x1, x2) (eigenvalue below zero).
    n, sd = 100, 1.0
    correlation = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])
    return (n - 1) * sd**2 * correlation  # means 0, so raw sums equal centred sums


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"n": 2.5}, "n must hold integers"),
        ({"n": [3, 4]}, "n must be one number"),
        ({"n": 0}, "n must be at least 1"),
        ({"sum_outcome": np.nan}, "sum_outcome contains NaN"),
        ({"sum_covariates": [[1.0, 2.0]]}, "sum_covariates must be a number or a 1-D"),
        ({"sum_covariates": [1.0, 2.0]}, "sum_cross_products must have shape \\(3, 3\\)"),
        ({"sum_cross_products": "x"}, "sum_cross_products must be"),
        ({"sum_cross_products": np.ones(4)}, "sum_cross_products must be 2-dimensional"),
        ({"sum_cross_products": _skewed_cross_products()}, "sum_cross_products must be symm"),
        ({"sum_cross_products": np.zeros((4, 4))}, "sum_cross_products \\(its diagonal\\)"),
    ],
)
def test_inconsistent_covariate_moments_are_refused(changes, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        CovariateMoments(**_moment_fields(**changes))


def test_covariate_moments_refuse_a_non_psd_matrix_and_other_pools() -> None:
    with pytest.raises(ValueError, match="not positive semi-definite"):
        CovariateMoments(100, 0.0, [0.0, 0.0], _correlation_beyond_one())
    # Cauchy-Schwarz holds pair by pair, so only the joint (PSD) check catches it.
    corr = _correlation_beyond_one() / 99
    assert (np.abs(corr) <= 1).all() and np.linalg.eigvalsh(corr).min() < -0.5
    moments = CovariateMoments(**_moment_fields())
    with pytest.raises(ValueError, match="other must hold the same 3 covariate"):
        moments + moments.select([0])
    with pytest.raises(ValueError, match="covariates must be distinct indices"):
        moments.select([0, 0])
    with pytest.raises(ValueError, match="covariate must be an index"):
        moments.to_covariate_statistics(3)
    with pytest.raises(ValueError, match="outcome and covariates lengths differ"):
        CovariateMoments.from_values(np.ones(3), np.ones((4, 2)))
