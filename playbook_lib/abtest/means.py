"""Comparing two means: Welch's t-test, and the relative lift with a delta-method or Fieller
interval, from rows, from aggregates (typed statistics) or vectorised over simulations."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import stats

from playbook_lib._kernels import interval_and_p_value, moments_from_sums, welch
from playbook_lib.abtest._checks import (
    check_alternative,
    check_statistics,
    common_shape,
    estimate_from_row,
    estimates_table,
    scalar,
)
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import as_float_array, check_alpha, check_choice, warn_point_interval

__all__ = [
    "batch_compare_means",
    "batch_estimate_relative_lift",
    "compare_means",
    "compare_means_from_stats",
    "estimate_relative_lift",
    "estimate_relative_lift_from_stats",
]


# ============================================================== moments
#: An arm's size, mean and sample variance, as arrays (entries broadcast).
Moments = tuple[np.ndarray, np.ndarray, np.ndarray]


def _moments(statistics: ArmStatistics) -> Moments:
    """Size, mean and sample variance of an arm's (checked) statistics, as arrays."""
    n = np.asarray(statistics.n, dtype=float)
    mean, variance = moments_from_sums(n, statistics.sum, statistics.sum_squares)
    return n, mean, variance


def _arms(
    control: Any, treatment: Any, *, one_arm: bool
) -> tuple[Moments, Moments, tuple[int, ...]]:
    """Both arms checked (at least 2 units each), their moments and common shape."""
    control = check_statistics(control, "control", one_arm=one_arm)
    treatment = check_statistics(treatment, "treatment", one_arm=one_arm)
    shape = common_shape(control, treatment)
    return _moments(control), _moments(treatment), shape


def _centred_moments(values: np.ndarray, centre: float) -> tuple[float, float]:
    """Mean of ``values - centre`` and the sample variance, by two passes."""
    with np.errstate(over="ignore", invalid="ignore"):
        deviations = values - centre
        mean = float(np.mean(deviations))
        residuals = deviations - mean
        variance = float(residuals @ residuals) / (values.size - 1)
    if not (math.isfinite(mean) and math.isfinite(variance)):
        raise ValueError(
            "y_control and y_treatment are too large: their variance overflows double "
            "precision (rescale the outcome)"
        )
    return mean, variance


def _row_moments(
    y_control: Any, y_treatment: Any, centre: float | None
) -> tuple[Moments, Moments, float]:
    """Sizes, means and variances of two arms of rows, centred on ``centre`` (``None``:
    one control value, the lower median, so that subtracting it is exact nearby)."""
    y_c = as_float_array(y_control, "y_control", min_size=2)
    y_t = as_float_array(y_treatment, "y_treatment", min_size=2)
    if centre is None:
        middle = (y_c.size - 1) // 2
        centre = float(np.partition(y_c, middle)[middle])
    arms = []
    for values in (y_c, y_t):
        mean, variance = _centred_moments(values, centre)
        arms.append((np.array([float(values.size)]), np.array([mean]), np.array([variance])))
    return arms[0], arms[1], centre


# ============================================================== Welch
def _welch_table(
    control: Moments, treatment: Moments, alpha: float, alternative: str
) -> dict[str, np.ndarray]:
    """Welch's t from sizes, means and variances (a zero se gives the se -> 0 limit)."""
    estimate, se, df = welch(*control, *treatment)
    low, high, p_value = interval_and_p_value(estimate, se, alpha, alternative, df)
    return {
        "estimate": estimate,
        "se": se,
        "ci_low": low,
        "ci_high": high,
        "p_value": p_value,
        "df": df,
    }


def _welch_estimate(
    control: Moments, treatment: Moments, alpha: float, alternative: str
) -> Estimate:
    estimate, se, df = (scalar(value) for value in welch(*control, *treatment))
    if se == 0:
        warn_point_interval(
            "compare_means: both arms are constant (to the digits of their sums of squares)"
        )
    (n_c, mean_c, var_c), (n_t, mean_t, var_t) = control, treatment
    return Estimate.from_standard_error(
        "welch",
        estimate,
        se,
        alpha=alpha,
        df=df if se > 0 else None,
        alternative=alternative,
        details={
            "mean_control": scalar(mean_c),
            "mean_treatment": scalar(mean_t),
            "variance_control": scalar(var_c),
            "variance_treatment": scalar(var_t),
            "n_control": int(scalar(n_c)),
            "n_treatment": int(scalar(n_t)),
            "alternative": alternative,
        },
    )


def compare_means_from_stats(
    control: ArmStatistics,
    treatment: ArmStatistics,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> Estimate:
    """Welch's t-test and interval for ``mean_treatment - mean_control`` from aggregates.

    Each arm is summarised by its size, sum and sum of squares (what a warehouse query
    returns). Standard error ``sqrt(s_c^2/n_c + s_t^2/n_t)`` with sample variances
    (``ddof=1``); the reference distribution is Student's t with the Welch-Satterthwaite
    degrees of freedom (Welch 1947), so the test keeps its level in
    small samples with unequal variances. Matches
    ``scipy.stats.ttest_ind(..., equal_var=False)``.

    Sums of squares lose digits when an arm's mean is huge relative to its spread (a
    variance below ``1e-14`` of the mean square counts as 0); centre the metric in the
    query (subtract a constant) if so, or use :func:`compare_means` on the rows.

    Parameters
    ----------
    control, treatment : ArmStatistics
        Each arm's ``n`` (at least 2), ``sum`` and ``sum_squares``, scalar fields (e.g.
        from :func:`playbook_lib.aggregates.arm_statistics`).
    alpha : float
        One minus the interval's coverage.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: the treatment mean is larger (a one-sided interval).

    Returns
    -------
    Estimate
        ``method="welch"``, ``df`` the Welch df; details hold the arm means, variances
        and sizes. When both arms are constant the standard error is 0: the interval is
        the point estimate, the p-value is 1 if the means are equal and 0 otherwise,
        ``df`` is ``None``, and a :class:`~playbook_lib.PlaybookWarning` says so.

    Raises
    ------
    ValueError
        Naming ``control`` or ``treatment``: not an
        :class:`~playbook_lib.aggregates.ArmStatistics`, array fields (use
        :func:`batch_compare_means`) or fewer than 2 units; bad ``alpha`` or
        ``alternative``.
    """
    moments_c, moments_t, _ = _arms(control, treatment, one_arm=True)
    return _welch_estimate(moments_c, moments_t, check_alpha(alpha), check_alternative(alternative))


def compare_means(
    y_control: Any,
    y_treatment: Any,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> Estimate:
    """Welch's t-test from rows; same answer as :func:`compare_means_from_stats`.

    Computed from data centred on one control value (the lower median) with two-pass
    variances, so adding a constant to the outcome (even ``1e9``) leaves the estimate and
    standard error unchanged up to the rounding of the shifted data themselves.

    Parameters
    ----------
    y_control, y_treatment : array-like
        Each arm's outcomes, one per unit (at least 2 each).
    alpha, alternative
        As :func:`compare_means_from_stats`.

    Returns
    -------
    Estimate
        As :func:`compare_means_from_stats` (including the zero-variance case).

    Raises
    ------
    ValueError
        If an arm has fewer than 2 values, or holds NaN, infinite or non-numeric values.
    """
    moments_c, moments_t, centre = _row_moments(y_control, y_treatment, None)
    out = _welch_estimate(moments_c, moments_t, check_alpha(alpha), check_alternative(alternative))
    details = dict(out.details)
    details["mean_control"] = centre + details["mean_control"]
    details["mean_treatment"] = centre + details["mean_treatment"]
    return replace(out, details=details)


def batch_compare_means(
    control: ArmStatistics,
    treatment: ArmStatistics,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> Estimates:
    """Vectorised :func:`compare_means_from_stats`: one row per entry of the arms.

    Parameters
    ----------
    control, treatment : ArmStatistics
        Statistics with array fields, one entry per simulated experiment (an arm with
        scalar fields, or a scalar ``n``, is broadcast); at least 2 units per entry.
    alpha, alternative
        As :func:`compare_means_from_stats`.

    Returns
    -------
    Estimates
        ``method="welch"``, one row per entry, ``df`` the Welch df. A row whose arms are
        both constant gets ``se = 0``, the point interval, ``p_value`` 1 (equal means) or
        0, and ``df = NaN`` (undefined, and not needed).

    Raises
    ------
    ValueError
        As :func:`compare_means_from_stats`, and for entries that do not broadcast.
    """
    moments_c, moments_t, shape = _arms(control, treatment, one_arm=False)
    alpha = check_alpha(alpha)
    table = _welch_table(moments_c, moments_t, alpha, check_alternative(alternative))
    return estimates_table("welch", alpha, shape, table)


# ============================================================== relative lift
_LIFT_METHODS = ("delta", "fieller")


def _relative_table(
    control: Moments, treatment: Moments, alpha: float, method: str
) -> dict[str, np.ndarray]:
    """Relative lift ``mean_t / mean_c - 1`` of two independent means (normal reference).

    Callers ensure ``mean_c != 0``. A zero standard error gives the point interval.
    """
    (n_c, mean_c, var_c), (n_t, mean_t, var_t) = control, treatment
    var_mean_c, var_mean_t = var_c / n_c, var_t / n_t
    ratio = mean_t / mean_c
    se = np.sqrt(var_mean_t / mean_c**2 + mean_t**2 * var_mean_c / mean_c**4)
    if method == "delta":
        low, high, _ = interval_and_p_value(ratio, se, alpha)
        bounded = np.ones_like(ratio, dtype=bool)
    else:
        # Fieller: the set of rho with (m_t - rho m_c)^2 <= z^2 (v_t + rho^2 v_c).
        q = stats.norm.ppf(1 - alpha / 2) ** 2
        a = mean_c**2 - q * var_mean_c
        b = mean_c * mean_t
        c = mean_t**2 - q * var_mean_t
        discriminant = np.maximum(b**2 - a * c, 0.0)
        bounded = a > 0
        root = np.sqrt(np.where(bounded, discriminant, 0.0))
        safe_a = np.where(bounded, a, 1.0)
        low = np.where(bounded, (b - root) / safe_a, -np.inf)
        high = np.where(bounded, (b + root) / safe_a, np.inf)
        # A zero se: the interval is the point (round-off must not move it off the point).
        low = np.where(se == 0, ratio, np.minimum(low, ratio))
        high = np.where(se == 0, ratio, np.maximum(high, ratio))
    _, _, p_value = interval_and_p_value(mean_t - mean_c, np.sqrt(var_mean_c + var_mean_t), alpha)
    return {
        "estimate": ratio - 1,
        "se": se,
        "ci_low": low - 1,
        "ci_high": high - 1,
        "p_value": p_value,
        "bounded": bounded,
    }


def _relative_estimate(control: Moments, treatment: Moments, alpha: float, method: str) -> Estimate:
    out = {k: scalar(v) for k, v in _relative_table(control, treatment, alpha, method).items()}
    if out["se"] == 0:
        warn_point_interval("estimate_relative_lift: both arms are constant")
    return estimate_from_row(
        f"relative lift ({method})",
        alpha,
        out,
        {
            "mean_control": scalar(control[1]),
            "mean_treatment": scalar(treatment[1]),
            "n_control": int(scalar(control[0])),
            "n_treatment": int(scalar(treatment[0])),
            "bounded": bool(out["bounded"]),
        },
    )


def _check_control_mean(mean: np.ndarray, scale: Any, name: str) -> None:
    """Refuse a control mean that is 0 up to round-off of values of size ``scale``."""
    if np.any(np.abs(mean) <= 1e-12 * np.asarray(scale)):
        raise ValueError(f"{name} has mean zero: the relative lift is undefined")


def _lift_arms(
    control: Any, treatment: Any, alpha: float, method: str, *, one_arm: bool
) -> tuple[Moments, Moments, tuple[int, ...], float, str]:
    method = check_choice(method, "method", _LIFT_METHODS)
    alpha = check_alpha(alpha)
    moments_c, moments_t, shape = _arms(control, treatment, one_arm=one_arm)
    rms_c = np.sqrt(np.asarray(control.sum_squares, dtype=float) / moments_c[0])
    _check_control_mean(moments_c[1], rms_c, "control")
    return moments_c, moments_t, shape, alpha, method


def estimate_relative_lift_from_stats(
    control: ArmStatistics,
    treatment: ArmStatistics,
    *,
    alpha: float = 0.05,
    method: str = "delta",
) -> Estimate:
    """Relative lift ``mean_treatment / mean_control - 1`` with a delta-method or Fieller CI.

    The delta method linearises the ratio of the two independent arm means:
    ``Var(r) ~= Var(m_t)/m_c^2 + m_t^2 Var(m_c)/m_c^4`` (Deng, Knoblich & Lu 2018). Fieller's
    interval inverts the exact pivot ``(m_t - rho m_c) / sqrt(Var(m_t) + rho^2 Var(m_c))``;
    it is asymmetric, better when the control mean is noisy, and unbounded (reported as
    ``(-inf, inf)``, ``details["bounded"] = False``) when the control mean is not
    distinguishable from zero. Both use the normal reference (large samples).

    Parameters
    ----------
    control, treatment : ArmStatistics
        Each arm's ``n`` (at least 2), ``sum`` and ``sum_squares``, scalar fields; for a
        0/1 metric ``ArmStatistics.from_counts(successes, n)``.
    alpha : float
        One minus the interval's coverage.
    method : {"delta", "fieller"}

    Returns
    -------
    Estimate
        ``method="relative lift (delta)"`` or ``"relative lift (fieller)"``; ``se`` is the
        delta-method standard error; the p-value is that of the absolute difference
        (normal reference). Both arms constant: se 0, the point interval, p = 1 for equal
        means and 0 otherwise, with a :class:`~playbook_lib.PlaybookWarning`.

    Raises
    ------
    ValueError
        As :func:`compare_means_from_stats`, plus a control mean of zero (naming
        ``control``, up to round-off: the lift is undefined) and bad ``method``.
    """
    moments_c, moments_t, _, alpha, method = _lift_arms(
        control, treatment, alpha, method, one_arm=True
    )
    return _relative_estimate(moments_c, moments_t, alpha, method)


def estimate_relative_lift(
    y_control: Any, y_treatment: Any, *, alpha: float = 0.05, method: str = "delta"
) -> Estimate:
    """Relative lift from rows; same answer as :func:`estimate_relative_lift_from_stats`.

    Parameters
    ----------
    y_control, y_treatment : array-like
        Each arm's outcomes, one per unit (at least 2 each).
    alpha, method
        As :func:`estimate_relative_lift_from_stats`.

    Returns
    -------
    Estimate
        As :func:`estimate_relative_lift_from_stats`.

    Raises
    ------
    ValueError
        If an arm has fewer than 2 values or holds NaN, infinite or non-numeric values,
        or the control mean is 0 (up to round-off, e.g. ``[-0.1, 0.1, 0.2, -0.2]``): the
        lift is undefined.
    """
    method = check_choice(method, "method", _LIFT_METHODS)
    alpha = check_alpha(alpha)
    moments_c, moments_t, _ = _row_moments(y_control, y_treatment, 0.0)
    scale = np.max(np.abs(as_float_array(y_control, "y_control")))
    _check_control_mean(moments_c[1], scale, "y_control")
    return _relative_estimate(moments_c, moments_t, alpha, method)


def batch_estimate_relative_lift(
    control: ArmStatistics,
    treatment: ArmStatistics,
    *,
    alpha: float = 0.05,
    method: str = "delta",
) -> Estimates:
    """Vectorised :func:`estimate_relative_lift_from_stats`: one row per entry of the arms.

    Parameters
    ----------
    control, treatment : ArmStatistics
        As :func:`batch_compare_means`.
    alpha, method
        As :func:`estimate_relative_lift_from_stats`.

    Returns
    -------
    Estimates
        ``method="relative lift (<method>)"``, one row per entry, with the extra column
        ``bounded`` (False where Fieller's interval is the whole line).

    Raises
    ------
    ValueError
        As :func:`batch_compare_means`, and when a control mean is zero (naming
        ``control``).
    """
    moments_c, moments_t, shape, alpha, method = _lift_arms(
        control, treatment, alpha, method, one_arm=False
    )
    table = _relative_table(moments_c, moments_t, alpha, method)
    return estimates_table(f"relative lift ({method})", alpha, shape, table)
