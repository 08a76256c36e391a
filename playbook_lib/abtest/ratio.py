"""Ratio metrics of user-randomised experiments (clicks per pageview): the delta method.

The randomised unit is the user, the metric's denominator another count, so one user's
pageviews are correlated trials. Per arm, the ratio of sums ``R = sum X / sum Y`` has the
delta-method variance of the linearised per-user outcome; its inputs are per-arm sums
(:class:`~playbook_lib.aggregates.RatioStatistics`), what a warehouse query returns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib._kernels import moments_from_sums, without_round_off
from playbook_lib.abtest._checks import (
    as_floats,
    check_statistics,
    common_shape,
    scalar,
)
from playbook_lib.aggregates import RatioStatistics
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import as_float_array, check_alpha, warn_point_interval

__all__ = [
    "batch_compare_ratio_metrics",
    "compare_ratio_metrics",
    "compare_ratio_metrics_from_stats",
    "summarize_ratio_metric",
]


def _ratio_arm(statistics: RatioStatistics) -> tuple[np.ndarray, np.ndarray]:
    """Ratio of sums and its delta-method variance (unit = the randomised unit)."""
    n, s_x, s_y, q_x, q_y, c_xy = as_floats(
        statistics,
        "n",
        "sum_numerator",
        "sum_denominator",
        "sum_numerator_squares",
        "sum_denominator_squares",
        "sum_cross_products",
    )
    mean_x, var_x = moments_from_sums(n, s_x, q_x)
    mean_y, var_y = moments_from_sums(n, s_y, q_y)
    covariance = (c_xy - s_x * mean_y) / (n - 1)
    ratio = mean_x / mean_y
    variance = (var_x - 2 * ratio * covariance + ratio**2 * var_y) / (n * mean_y**2)
    # Round-off of a linearised outcome that is constant (every unit at the same ratio).
    scale = (q_x + ratio**2 * q_y) / ((n - 1) * n * mean_y**2)
    return ratio, without_round_off(variance, scale)


def _ratio_table(control: Any, treatment: Any, *, one_arm: bool) -> dict[str, Any]:
    """Both arms checked; the difference of ratios, its se and the two ratios."""
    arms = []
    for statistics, name in ((control, "control"), (treatment, "treatment")):
        check_statistics(statistics, name, RatioStatistics, one_arm=one_arm)
        if np.any(np.asarray(statistics.sum_denominator) <= 0):
            raise ValueError(f"{name}.sum_denominator must be positive")
        arms.append(_ratio_arm(statistics))
    shape = common_shape(control, treatment)
    (ratio_c, var_c), (ratio_t, var_t) = arms
    return {
        "shape": shape,
        "estimate": ratio_t - ratio_c,
        "se": np.sqrt(var_c + var_t),
        "ratio_control": ratio_c,
        "ratio_treatment": ratio_t,
    }


def compare_ratio_metrics_from_stats(
    control: RatioStatistics, treatment: RatioStatistics, *, alpha: float = 0.05
) -> Estimate:
    """Difference of ratio metrics (e.g. clicks per pageview) with delta-method variance.

    When users are randomised but the metric's denominator is another count (pageviews),
    pageviews of one user are correlated, so treating pageviews as independent trials
    understates the variance. Per arm, with user-level numerator ``X`` and denominator
    ``Y``, ``R = sum X / sum Y`` and ``Var(R) ~= (s_X^2 - 2 R s_XY + R^2 s_Y^2) /
    (n mean(Y)^2)`` (Deng, Knoblich & Lu 2018); arms are independent. Normal reference.

    Parameters
    ----------
    control, treatment : RatioStatistics
        Per arm: the number of users ``n`` (at least 2), the sums over users of the
        numerator, the denominator, their squares and their cross products; scalar fields.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        ``method="ratio delta"``; details hold both ratios. When every user of both arms
        has the arm's ratio exactly (zero linearised variance) the se is 0: the interval
        is the point estimate, p is 1 for equal ratios and 0 otherwise, with a
        :class:`~playbook_lib.PlaybookWarning`.

    Raises
    ------
    ValueError
        Naming ``control`` or ``treatment``: not a
        :class:`~playbook_lib.aggregates.RatioStatistics`, array fields (use
        :func:`batch_compare_ratio_metrics`), fewer than 2 users, or a non-positive
        denominator sum; bad ``alpha``.
    """
    alpha = check_alpha(alpha)
    out = _ratio_table(control, treatment, one_arm=True)
    se = scalar(out["se"])
    if se == 0:
        warn_point_interval("compare_ratio_metrics: the linearised outcome is constant")
    return Estimate.from_standard_error(
        "ratio delta",
        scalar(out["estimate"]),
        se,
        alpha=alpha,
        details={
            "ratio_control": scalar(out["ratio_control"]),
            "ratio_treatment": scalar(out["ratio_treatment"]),
            "n_control": int(control.n),
            "n_treatment": int(treatment.n),
        },
    )


def _arm_from_rows(numerator: Any, denominator: Any, suffix: str) -> RatioStatistics:
    x = as_float_array(numerator, f"numerator_{suffix}", min_size=2)
    y = as_float_array(denominator, f"denominator_{suffix}", min_size=2)
    if x.size != y.size:
        raise ValueError(
            f"numerator_{suffix} and denominator_{suffix} must have the same length "
            f"({x.size} != {y.size})"
        )
    if not y.sum() > 0:
        raise ValueError(f"denominator_{suffix} must have a positive sum")
    return RatioStatistics.from_values(x, y)


def compare_ratio_metrics(
    numerator_control: Any,
    denominator_control: Any,
    numerator_treatment: Any,
    denominator_treatment: Any,
    *,
    alpha: float = 0.05,
) -> Estimate:
    """Ratio-metric comparison from one row per randomised unit (see the ``_from_stats`` twin).

    Parameters
    ----------
    numerator_control, denominator_control : array-like
        Per-user numerator (clicks) and denominator (pageviews) of the control arm.
    numerator_treatment, denominator_treatment : array-like
        The same for the treatment arm.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        As :func:`compare_ratio_metrics_from_stats`.

    Raises
    ------
    ValueError
        If numerator and denominator lengths differ, an arm has fewer than 2 units,
        values are NaN, infinite or non-numeric, or a denominator sum is not positive.
    """
    return compare_ratio_metrics_from_stats(
        _arm_from_rows(numerator_control, denominator_control, "control"),
        _arm_from_rows(numerator_treatment, denominator_treatment, "treatment"),
        alpha=alpha,
    )


def summarize_ratio_metric(numerator: Any, denominator: Any) -> RatioStatistics:
    """Per-arm sufficient statistics of a ratio metric, summed over the last axis.

    For user-level ``numerator`` (e.g. clicks) and ``denominator`` (pageviews) of one arm,
    of shape ``(n_users,)`` or ``(n_sims, n_users)``, returns the
    :class:`~playbook_lib.aggregates.RatioStatistics` that
    :func:`compare_ratio_metrics_from_stats` (1-D input: scalar fields, the same as
    ``RatioStatistics.from_values``) or :func:`batch_compare_ratio_metrics` (2-D input:
    one entry per simulation) take: ``n`` and the sums of the numerator, denominator,
    their squares and cross products. It is what a warehouse query would return.

    Parameters
    ----------
    numerator, denominator : array-like
        Arrays of the same shape, 1-D or 2-D, with at least 2 units on the last axis.

    Returns
    -------
    RatioStatistics

    Raises
    ------
    ValueError
        If shapes differ, fewer than 2 users, NaN, infinite or non-numeric values, or a
        denominator summing to zero.
    """
    dims = np.ndim(numerator)
    if dims not in (1, 2):
        raise ValueError(f"numerator must be 1- or 2-dimensional, got {dims} dimension(s)")
    x = as_float_array(numerator, "numerator", ndim=dims)
    y = as_float_array(denominator, "denominator", ndim=np.ndim(denominator))
    if x.shape != y.shape:
        raise ValueError(
            f"numerator and denominator must have the same shape (length), "
            f"got {x.shape} and {y.shape}"
        )
    if x.shape[-1] < 2:
        raise ValueError("numerator must hold at least 2 units along its last axis")
    return RatioStatistics(
        x.shape[-1],
        x.sum(axis=-1),
        y.sum(axis=-1),
        (x**2).sum(axis=-1),
        (y**2).sum(axis=-1),
        (x * y).sum(axis=-1),
    )


def batch_compare_ratio_metrics(
    control: RatioStatistics, treatment: RatioStatistics, *, alpha: float = 0.05
) -> Estimates:
    """Vectorised :func:`compare_ratio_metrics_from_stats`: one row per entry of the arms.

    Parameters
    ----------
    control, treatment : RatioStatistics
        Statistics with array fields, one entry per simulated experiment (e.g. from
        :func:`summarize_ratio_metric` of ``(n_sims, n_users)`` arrays); an arm with
        scalar fields is broadcast.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimates
        ``method="ratio delta"``, one row per entry (a zero se gives the point interval
        and p-value 1 or 0, as the scalar version).

    Raises
    ------
    ValueError
        Naming ``control`` or ``treatment``: not a
        :class:`~playbook_lib.aggregates.RatioStatistics`, fewer than 2 users, a
        non-positive denominator sum, entries that do not broadcast; bad ``alpha``.
    """
    alpha = check_alpha(alpha)
    out = _ratio_table(control, treatment, one_arm=False)
    estimate = np.broadcast_to(out["estimate"], out["shape"])
    return Estimates.from_standard_errors("ratio delta", estimate, out["se"], alpha=alpha)
