"""CUPED for one experiment: from user rows, or from the per-arm statistics of a query.

:func:`estimate_cuped` reads rows, :func:`summarize_arms` turns rows into the per-arm
:class:`~playbook_lib.aggregates.CovariateStatistics` a warehouse ``GROUP BY`` returns, and
:func:`estimate_cuped_from_stats` gives the same answer from those statistics. All three
meet in one kernel on per-arm sizes, means and centred (co)variance sums.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import moments_from_sums
from playbook_lib.aggregates import CovariateStatistics
from playbook_lib.cuped._inputs import (
    ARMS,
    check_arm_statistics,
    comparison_estimate,
    full_rank,
    outcome_covariates_treatment,
    two_arm_welch,
    unadjusted_details,
)
from playbook_lib.results import Estimate
from playbook_lib.validation import as_float_array, check_alpha, check_choice, check_flag

__all__ = ["estimate_cuped", "estimate_cuped_from_stats", "summarize_arms"]

_CONSTANT = "CUPED: the (adjusted) outcome is constant in both arms"


# --------------------------------------------------------------------------- the kernel
def _theta(
    n: np.ndarray,
    mean_y: np.ndarray,
    mean_x: np.ndarray,
    within_xx: np.ndarray,
    within_xy: np.ndarray,
    overall_x: np.ndarray,
    theta_method: str,
    theta: Any,
) -> tuple[np.ndarray, str]:
    """The adjustment's ``theta`` (one per covariate) and the method that gave it."""
    k = mean_x.shape[1]
    if theta is not None:
        if isinstance(theta, bool | np.bool_):
            raise ValueError(f"theta must hold {k} finite number(s), got {theta!r}")
        theta_vector = as_float_array(np.atleast_1d(theta), "theta")
        if theta_vector.shape != (k,):
            raise ValueError(f"theta must hold {k} finite number(s), got {theta!r}")
        return theta_vector, "fixed"
    if theta_method == "within":
        return np.linalg.solve(within_xx, within_xy), theta_method
    # "total": cov(Y, X) / var(X) on the pooled sample, ignoring the arms
    overall_y = float((n * mean_y).sum() / n.sum())
    dx = mean_x - overall_x
    dy = mean_y - overall_y
    total_xx = within_xx + np.einsum("a,ai,aj->ij", n, dx, dx)
    total_xy = within_xy + np.einsum("a,ai,a->i", n, dx, dy)
    return np.linalg.solve(total_xx, total_xy), theta_method


def _cuped_core(
    n: np.ndarray,
    mean_y: np.ndarray,
    mean_x: np.ndarray,
    syy: np.ndarray,
    sxx: np.ndarray,
    sxy: np.ndarray,
    *,
    alpha: float,
    theta_method: str,
    theta: Any,
    relative: bool,
) -> Estimate:
    """CUPED from per-arm sizes, means and *centred* sums (index 0 control, 1 treatment).

    Shapes: ``n, mean_y, syy`` (2,); ``mean_x, sxy`` (2, k); ``sxx`` (2, k, k).
    """
    k = mean_x.shape[1]
    within_xx = sxx.sum(axis=0)
    within_xy = sxy.sum(axis=0)
    within_yy = float(syy.sum())
    if not full_rank(within_xx):
        raise ValueError(
            "covariate is constant within arms or its columns are collinear "
            "(with each other or with the treatment)"
        )
    overall_x = (n[:, None] * mean_x).sum(axis=0) / n.sum()
    theta_vector, theta_method = _theta(
        n, mean_y, mean_x, within_xx, within_xy, overall_x, theta_method, theta
    )
    adjusted_variance = (
        syy - 2 * sxy @ theta_vector + np.einsum("i,aij,j->a", theta_vector, sxx, theta_vector)
    ) / (n - 1)
    adjusted_variance = np.maximum(adjusted_variance, 0.0)
    adjusted_means = mean_y - (mean_x - overall_x) @ theta_vector
    effect, se, df = two_arm_welch(n, adjusted_means, adjusted_variance)
    raw_effect, raw_se, _ = two_arm_welch(n, mean_y, syy / (n - 1))
    explained = float(within_xy @ np.linalg.solve(within_xx, within_xy))
    r_squared = explained / within_yy if within_yy > 0 else 0.0
    rho = math.sqrt(max(r_squared, 0.0))
    if k == 1:
        rho = math.copysign(rho, float(within_xy[0]))
    imbalance = mean_x[1] - mean_x[0]
    details: dict[str, Any] = {
        "n_control": int(n[0]),
        "n_treatment": int(n[1]),
        "theta": float(theta_vector[0]) if k == 1 else tuple(map(float, theta_vector)),
        "theta_method": theta_method,
        "rho": rho,
        "r_squared": r_squared,
        **unadjusted_details(float(se), raw_effect, raw_se),
        "mean_control": float(mean_y[0]),
        "mean_treatment": float(mean_y[1]),
        "adjusted_mean_control": float(adjusted_means[0]),
        "adjusted_mean_treatment": float(adjusted_means[1]),
        "covariate_difference": float(imbalance[0]) if k == 1 else tuple(map(float, imbalance)),
    }
    if relative:
        return _relative_lift(
            n, mean_y, syy, sxx, sxy, theta_vector, adjusted_means, alpha=alpha, details=details
        )
    return comparison_estimate(
        "cuped", effect, se, df, alpha=alpha, details=details, constant=_CONSTANT
    )


def _relative_lift(
    n: np.ndarray,
    mean_y: np.ndarray,
    syy: np.ndarray,
    sxx: np.ndarray,
    sxy: np.ndarray,
    theta_vector: np.ndarray,
    adjusted_means: np.ndarray,
    *,
    alpha: float,
    details: dict[str, Any],
) -> Estimate:
    """Delta-method relative lift ``m_T / m_C - 1`` of the CUPED-adjusted arm means.

    ``m_a = mean_y_a - theta·(mean_x_a - overall_x)`` with ``overall_x`` the size-weighted
    mean of both arms, so each adjusted mean depends on both arms' covariate means; the
    gradient below accounts for that (``theta`` treated as known, as for the difference).
    """
    share = n / n.sum()
    m_control, m_treatment = float(adjusted_means[0]), float(adjusted_means[1])
    scale = math.sqrt(float(np.max(syy / n))) + float(np.max(np.abs(mean_y)))
    if abs(m_control) <= 1e-12 * scale:
        raise ValueError("the adjusted control mean is zero: a relative lift is undefined")
    lift = m_treatment / m_control - 1
    ratio = m_treatment / m_control**2
    # gradients of the lift with respect to (mean_y_a, mean_x_a) for a = control, treatment
    through_x = theta_vector * (share[0] / m_control + ratio * share[1])
    gradients = (
        np.concatenate(([-ratio], through_x)),
        np.concatenate(([1 / m_control], -through_x)),
    )
    k = sxx.shape[1]
    variances = np.empty(2)  # per arm: var(gradient · (y, x)) with ddof=1
    for arm, gradient in enumerate(gradients):
        sums = np.empty((k + 1, k + 1))
        sums[0, 0] = syy[arm]
        sums[0, 1:] = sums[1:, 0] = sxy[arm]
        sums[1:, 1:] = sxx[arm]
        variances[arm] = float(gradient @ sums @ gradient) / (n[arm] - 1)
    _, se, df = two_arm_welch(n, adjusted_means, variances)
    return comparison_estimate(
        "cuped relative lift", lift, se, df, alpha=alpha, details=details, constant=_CONSTANT
    )


def _arm_moments(y: np.ndarray, x: np.ndarray, treated: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-arm sizes, means and centred sums computed stably from rows."""
    n, mean_y, mean_x, syy, sxx, sxy = [], [], [], [], [], []
    for arm in (~treated, treated):
        ya, xa = y[arm], x[arm]
        my, mx = ya.mean(), xa.mean(axis=0)
        dy, dx = ya - my, xa - mx
        n.append(arm.sum())
        mean_y.append(my)
        mean_x.append(mx)
        syy.append(dy @ dy)
        sxx.append(dx.T @ dx)
        sxy.append(dx.T @ dy)
    return (
        np.array(n, dtype=float),
        np.array(mean_y),
        np.array(mean_x),
        np.array(syy),
        np.array(sxx),
        np.array(sxy),
    )


def _check_options(alpha: Any, theta_method: Any, relative: Any) -> float:
    check_choice(theta_method, "theta_method", ("within", "total"))
    check_flag(relative, "relative")
    return check_alpha(alpha)


# --------------------------------------------------------------------------- rows
def estimate_cuped(
    outcome: Any,
    covariate: Any,
    treatment: Any,
    *,
    data: pd.DataFrame | None = None,
    alpha: float = 0.05,
    theta_method: str = "within",
    theta: float | Sequence[float] | None = None,
    relative: bool = False,
) -> Estimate:
    """CUPED: the difference in means of ``Y - theta (X - mean(X))`` between the arms.

    Parameters
    ----------
    outcome, treatment : array-like or str
        The in-experiment metric per user and the 0/1 assignment; column names if ``data``
        is given.
    covariate : array-like or str or list of str
        One pre-period covariate per user (1-D), or several (``(n, k)`` array or a list of
        column names). It must not be affected by the treatment: measure it before
        assignment.
    data : pandas.DataFrame, optional
        Where to look up column names.
    alpha : float
        One minus the confidence level of the interval.
    theta_method : {"within", "total"}
        ``"within"`` (default): ``theta`` from the arms' centred (co)variances pooled, so the
        effect equals the OLS coefficient on the treatment in
        ``outcome ~ treatment + covariate``. ``"total"``: ``cov(Y, X) / var(X)`` on the
        pooled sample ignoring the arms, as written in Deng et al. (2013).
    theta : float or sequence of float, optional
        A fixed ``theta`` (e.g. from an earlier experiment) instead of estimating it.
    relative : bool
        Return instead the relative lift ``m_T / m_C - 1`` of the adjusted arm means
        (``method="cuped relative lift"``), with a delta-method standard error.

    Returns
    -------
    Estimate
        ``method="cuped"``; Welch t interval on the adjusted outcomes. ``details`` holds
        ``theta``, ``rho`` (within-arm correlation of outcome and covariate; the multiple
        correlation for several covariates), ``r_squared``, ``variance_reduction``
        (``1 - se² / unadjusted se²``), the unadjusted estimate and se, arm sizes and means.
        An outcome constant within both arms (after adjustment) has se 0: the interval is
        the point estimate, p is 1 when it is 0 and 0 otherwise, ``df`` is ``None``, and
        a :class:`~playbook_lib.PlaybookWarning` says so.

    Raises
    ------
    ValueError
        Naming the argument (and the column when ``data`` is given): length mismatch, NaN,
        infinite or non-numeric values, a constant covariate, a treatment that is not 0/1
        or has fewer than two users in an arm, a bad ``theta`` or ``relative``.

    Notes
    -----
    Assumes randomised assignment and a covariate fixed before assignment; then any
    ``theta`` gives an unbiased estimate and the estimated one minimises the variance,
    which shrinks by the factor ``1 - rho²``. Source: Deng, Xu, Kohavi & Walker (2013),
    "Improving the sensitivity of online controlled experiments by utilizing
    pre-experiment data", WSDM.
    """
    alpha = _check_options(alpha, theta_method, relative)
    y, x, treated = outcome_covariates_treatment(
        data, outcome, covariate, treatment, covariate_name="covariate"
    )
    return _cuped_core(
        *_arm_moments(y, x, treated),
        alpha=alpha,
        theta_method=theta_method,
        theta=theta,
        relative=relative,
    )


def summarize_arms(
    outcome: Any,
    covariate: Any,
    treatment: Any,
    *,
    data: pd.DataFrame | None = None,
) -> tuple[CovariateStatistics, CovariateStatistics]:
    """The per-arm statistics a warehouse query returns: the inputs of the ``_from_stats`` twin.

    Parameters
    ----------
    outcome, covariate, treatment : array-like or str
        As :func:`estimate_cuped`, with one covariate (1-D, or one column name).
    data : pandas.DataFrame, optional
        Where to look up column names.

    Returns
    -------
    tuple of CovariateStatistics
        ``(control, treatment)``: each arm's count, sums of outcome and covariate, their
        sums of squares and the sum of cross products, ready for
        :func:`estimate_cuped_from_stats`.

    Raises
    ------
    ValueError
        As :func:`estimate_cuped`, and for more than one covariate
        (:class:`~playbook_lib.aggregates.CovariateStatistics` holds one).
    """
    y, x, treated = outcome_covariates_treatment(
        data, outcome, covariate, treatment, covariate_name="covariate"
    )
    if x.shape[1] != 1:
        raise ValueError(
            f"covariate: summarize_arms takes one covariate, got {x.shape[1]} "
            "(estimate_cuped takes several from rows)"
        )
    control, treated_arm = (
        CovariateStatistics.from_values(y[arm], x[arm, 0]) for arm in (~treated, treated)
    )
    return control, treated_arm


# --------------------------------------------------------------------------- statistics
def estimate_cuped_from_stats(
    control: CovariateStatistics,
    treatment: CovariateStatistics,
    *,
    alpha: float = 0.05,
    theta_method: str = "within",
    theta: float | None = None,
    relative: bool = False,
) -> Estimate:
    """CUPED from per-arm statistics; the same answer as :func:`estimate_cuped` on the rows.

    Parameters
    ----------
    control, treatment : CovariateStatistics
        Each arm's count, sums of the outcome ``Y`` and the pre-period covariate ``X``,
        their sums of squares and the sum of ``X * Y``
        (:class:`~playbook_lib.aggregates.CovariateStatistics`, scalar fields: one
        experiment; :func:`summarize_arms` computes them from rows, and a ``GROUP BY``
        result row converts with ``CovariateStatistics(**row)``).
    alpha, theta_method, theta, relative
        As in :func:`estimate_cuped` (one covariate, so ``theta`` is one number).

    Returns
    -------
    Estimate
        As :func:`estimate_cuped`. Swapping the arms flips the sign of the estimate and
        mirrors the interval.

    Raises
    ------
    ValueError
        Naming ``control`` or ``treatment``: not a ``CovariateStatistics``, array fields,
        fewer than two units; naming ``sum_covariate_squares``: a covariate constant (up to
        round-off) in both arms; as :func:`estimate_cuped` for the options. Inconsistent
        sums (a negative variance, a correlation outside [-1, 1]) are refused when the
        statistics are built.

    Notes
    -----
    Centred sums come from ``sum_covariate_squares - n mean_x²`` etc. This loses digits
    when the means are huge relative to the spread (> 1e6 times); centre the metric in the
    query (e.g. subtract a constant) if so. A centred sum below ``1e-14`` of the raw sum of
    squares carries no digits of the spread, so that arm's covariate (or outcome) is
    treated as constant: a covariate constant (up to round-off) in both arms raises
    :class:`ValueError` instead of dividing round-off by round-off (which gave effects like
    ``3e13`` with p = 0). An outcome constant in both arms gives se 0, the point interval
    and p = 1 (equal means) or 0, with a :class:`~playbook_lib.PlaybookWarning`.
    """
    alpha = _check_options(alpha, theta_method, relative)
    arms = check_arm_statistics(control, treatment, CovariateStatistics)
    for statistics, name in zip(arms, ARMS, strict=True):
        if np.ndim(statistics.n) != 0:
            raise ValueError(
                f"{name} must hold one experiment's statistics (scalar fields), got "
                f"fields of shape {np.shape(statistics.n)}"
            )

    def field(name: str) -> np.ndarray:
        return np.array([getattr(statistics, name) for statistics in arms], dtype=float)

    n = field("n")
    # moments_from_sums: a centred sum below 1e-14 of the raw one is round-off of a
    # constant, so it counts as exactly 0 (the sums hold no digits of the spread).
    mean_y, variance_y = moments_from_sums(n, field("sum_outcome"), field("sum_outcome_squares"))
    mean_x, variance_x = moments_from_sums(
        n, field("sum_covariate"), field("sum_covariate_squares")
    )
    if (variance_x == 0).all():
        raise ValueError(
            "sum_covariate_squares implies a constant covariate in both arms (zero "
            "variance, or a variance below 1e-14 of its mean square, i.e. lost to round-off)"
        )
    cross = field("sum_cross_products") - n * mean_x * mean_y
    cross = np.where((variance_x > 0) & (variance_y > 0), cross, 0.0)
    return _cuped_core(
        n,
        mean_y,
        mean_x[:, None],
        variance_y * (n - 1),
        (variance_x * (n - 1))[:, None, None],
        cross[:, None],
        alpha=alpha,
        theta_method=theta_method,
        theta=theta,
        relative=relative,
    )
