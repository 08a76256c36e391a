"""Always-valid inference: the normal-mixture mSPRT and its confidence sequence.

Look as often as you like: :func:`compute_msprt_statistic` (the mixture likelihood ratio),
:func:`compute_always_valid_p_values`, :func:`compute_confidence_sequence` (an interval
that covers the effect at every look at once), :func:`choose_mixture_variance` (tune the
mixture before the experiment), :func:`estimate_always_valid` (the latest look of one
experiment as an :class:`~playbook_lib.Estimate`) and :func:`batch_estimate_always_valid`
(the latest look of many simulated experiments as an :class:`~playbook_lib.Estimates`
table, for calibration).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, stats

from playbook_lib.results import Estimate, Estimates
from playbook_lib.sequential._checks import _estimates_and_variances
from playbook_lib.validation import (
    as_float_array,
    as_numeric_array,
    check_alpha,
    check_finite_number,
    check_flag,
    check_positive,
    check_same_length,
)

__all__ = [
    "batch_estimate_always_valid",
    "choose_mixture_variance",
    "compute_always_valid_p_values",
    "compute_confidence_sequence",
    "compute_msprt_statistic",
    "estimate_always_valid",
]


def _mixture_radius_squared_per_variance(ratio: np.ndarray | float, alpha: float) -> Any:
    # radius^2 / V for mixture variance tau^2 = ratio * V.
    return 2.0 * (1.0 + ratio) / ratio * (0.5 * np.log1p(ratio) - math.log(alpha))


def choose_mixture_variance(planned_variance: float, alpha: float = 0.05) -> float:
    """Mixture variance ``tau^2`` that makes the confidence sequence narrowest at a planned look.

    For the normal mixture the radius at estimate variance ``V`` depends on ``tau^2 / V``
    only, so the optimum is ``tau^2 = u*(alpha) V_planned``.

    Parameters
    ----------
    planned_variance : float
        Variance of the effect estimate at the sample size where you most want a tight
        interval (e.g. ``2 sigma^2 / n_planned`` per arm).
    alpha : float
        Error level of the confidence sequence.

    Returns
    -------
    float
        ``tau^2``, in squared units of the effect.

    Raises
    ------
    ValueError
        If ``planned_variance`` is not positive and finite (or so large that ``tau^2``
        overflows) or ``alpha`` is outside (0, 1).
    """
    planned_variance = check_positive(planned_variance, "planned_variance")
    alpha = check_alpha(alpha)
    result = optimize.minimize_scalar(
        lambda log_ratio: _mixture_radius_squared_per_variance(math.exp(log_ratio), alpha),
        bounds=(-10.0, 10.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    tau2 = float(math.exp(result.x) * planned_variance)
    if not (math.isfinite(tau2) and tau2 > 0):
        raise ValueError(
            f"planned_variance ({planned_variance:g}) is too extreme: tau^2 is not a "
            "positive finite float"
        )
    return tau2


def _check_mixture_variance(mixture_variance: Any, variance: np.ndarray) -> float:
    tau2 = check_positive(mixture_variance, "mixture_variance")
    finite = variance[np.isfinite(variance)]
    if finite.size and not math.isfinite(float(finite.max()) + tau2):
        raise ValueError(
            f"mixture_variance ({tau2:g}) plus the largest variance overflows: rescale the "
            "effect (e.g. to other units)"
        )
    return tau2


def compute_msprt_statistic(
    estimates: Any, variances: Any, mixture_variance: float, null_value: float = 0.0
) -> np.ndarray:
    """Normal-mixture likelihood ratio (mSPRT) of H0: effect = ``null_value``.

    ``Lambda = sqrt(V / (V + tau^2)) exp(tau^2 (estimate - null)^2 / (2 V (V + tau^2)))``
    for an estimate with variance ``V`` and a N(null, tau^2) mixture over the effect.

    Parameters
    ----------
    estimates : array-like
        Effect estimates (any shape).
    variances : array-like
        Their variances (broadcastable to ``estimates``).
    mixture_variance : float
        ``tau^2`` (see :func:`choose_mixture_variance`).
    null_value : float
        The effect under H0.

    Returns
    -------
    numpy.ndarray
        The mixture likelihood ratio; under H0, for Gaussian estimates with known variances,
        it is a non-negative martingale with mean 1 (with plug-in variances, approximately).
        A look with infinite variance (no information yet) has ratio 1.

    Raises
    ------
    ValueError
        If ``estimates`` or ``variances`` is empty, not numeric or not broadcastable, a
        variance is not positive (``+inf`` is allowed: a look without information, whose
        estimate may be NaN), an estimate at an informative look is not finite, or
        ``mixture_variance`` is not positive and finite.

    Notes
    -----
    :cite:`johari2022always`, eq. (11); :cite:`robbins1970statistical`. The log ratio is
    capped at 700 (a ratio of about ``1e304``) so that it stays finite.
    """
    estimate, variance = _estimates_and_variances(estimates, variances)
    tau2 = _check_mixture_variance(mixture_variance, variance)
    null_value = check_finite_number(null_value, "null_value")
    informative = np.isfinite(variance)
    variance = np.where(informative, variance, 1.0)
    difference = np.where(informative, estimate - null_value, 0.0)
    total = variance + tau2
    with np.errstate(over="ignore", under="ignore"):
        log_ratio = 0.5 * (np.log(variance) - np.log(total)) + (
            tau2 / (2.0 * total) * ((difference / variance) * difference)
        )
        ratio = np.exp(np.minimum(log_ratio, 700.0))
    return np.where(informative, ratio, 1.0)


def compute_always_valid_p_values(
    estimates: Any, variances: Any, mixture_variance: float, null_value: float = 0.0
) -> np.ndarray:
    """Always-valid p-values ``p_n = min(1, min_{m <= n} 1 / Lambda_m)`` along the last axis.

    ``P(p_n <= alpha for some n | H0) <= alpha``: you may stop the first time ``p_n``
    falls below ``alpha``, however often you look.

    Parameters
    ----------
    estimates : array-like
        Shape ``(..., n_looks)``, running effect estimates in time order.
    variances : array-like
        Their variances, broadcastable to ``estimates``.
    mixture_variance, null_value
        As in :func:`compute_msprt_statistic`.

    Returns
    -------
    numpy.ndarray
        Same shape as ``estimates``, non-increasing along the last axis.

    Raises
    ------
    ValueError
        As in :func:`compute_msprt_statistic`.
    """
    ratio = compute_msprt_statistic(estimates, variances, mixture_variance, null_value)
    p_values = np.minimum(1.0, 1.0 / ratio)
    if p_values.ndim == 0:  # a single look
        return p_values
    return np.minimum.accumulate(p_values, axis=-1)


def compute_confidence_sequence(
    estimates: Any,
    variances: Any,
    mixture_variance: float,
    alpha: float = 0.05,
    running_intersection: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Normal-mixture confidence sequence: covers the effect at *every* look with prob. 1-alpha.

    At each look, ``estimate +/- sqrt(2 V (V + tau^2) / tau^2 * ln(sqrt((V + tau^2) / V) /
    alpha))``: the set of effects the mSPRT does not reject at level ``alpha``.

    Parameters
    ----------
    estimates, variances
        As in :func:`compute_always_valid_p_values`.
    mixture_variance : float
        ``tau^2`` (see :func:`choose_mixture_variance`).
    alpha : float
        ``P(the sequence ever misses the effect) <= alpha``.
    running_intersection : bool
        Intersect with all earlier intervals (still valid, never wider).

    Returns
    -------
    low, high : numpy.ndarray
        Same shape as ``estimates``. A look with infinite variance (no information yet)
        gets the whole line, whatever its estimate (NaN included). With
        ``running_intersection`` the intersection can be *empty* (``low > high`` from some
        look on): no effect value is compatible with every look, so the data reject, at
        level ``alpha``, the model of one constant effect estimated with these variances
        (the effect drifts, or the variances are too small). Under that model it happens
        with probability at most ``alpha``; :func:`estimate_always_valid` refuses it.

    Raises
    ------
    ValueError
        If ``estimates`` or ``variances`` is invalid (as in
        :func:`compute_msprt_statistic`; the variances must broadcast to the shape of the
        estimates), ``mixture_variance`` is not positive and finite, ``alpha`` is outside
        (0, 1), or ``running_intersection`` is not a bool.

    Notes
    -----
    :cite:`howard2021time` (two-sided normal mixture, their Prop. 2 / eq. (14));
    :cite:`johari2022always`. Exact for Gaussian data with known variance; asymptotic
    (plug-in variance) otherwise :cite:`waudbysmith2024time`: start monitoring once each arm
    has enough units for a stable variance estimate.
    """
    estimate, variance = _estimates_and_variances(estimates, variances, to_estimates_shape=True)
    tau2 = _check_mixture_variance(mixture_variance, variance)
    alpha = check_alpha(alpha)
    running_intersection = check_flag(running_intersection, "running_intersection")
    informative = np.isfinite(variance)
    finite_variance = np.where(informative, variance, 1.0)
    total = finite_variance + tau2
    with np.errstate(over="ignore"):
        radius = np.sqrt(
            2.0
            * finite_variance
            * total
            / tau2
            * (0.5 * (np.log(total) - np.log(finite_variance)) - math.log(alpha))
        )
    low = np.where(informative, estimate - radius, -np.inf)
    high = np.where(informative, estimate + radius, np.inf)
    if running_intersection and low.ndim:
        low = np.maximum.accumulate(low, axis=-1)
        high = np.minimum.accumulate(high, axis=-1)
    return low, high


def estimate_always_valid(
    estimates: Any,
    variances: Any,
    mixture_variance: float,
    alpha: float = 0.05,
    null_value: float = 0.0,
) -> Estimate:
    """The latest look of a continuously monitored experiment as an :class:`~playbook_lib.Estimate`.

    Parameters
    ----------
    estimates : array-like of float
        Running effect estimates, one per look so far, in time order.
    variances : array-like of float
        Their variances.
    mixture_variance : float
        ``tau^2``; fix it before the experiment (see :func:`choose_mixture_variance`).
    alpha : float
        Error level.
    null_value : float
        Effect under H0 for the always-valid p-value.

    Returns
    -------
    Estimate
        ``method="msprt confidence sequence"``: the latest estimate, its standard error,
        the running-intersection confidence sequence and the always-valid p-value;
        ``details`` holds ``n_looks``, ``mixture_variance`` and ``width_ratio`` (width
        relative to a fixed-horizon interval at the same variance).

    Raises
    ------
    ValueError
        If inputs are empty, of different lengths, or invalid (as in
        :func:`compute_confidence_sequence`; early looks may have an infinite variance and
        a NaN estimate, the latest look may not), or if the running intersection of the
        confidence sequence is empty: no single effect is compatible with every look, so
        the data reject, at level ``alpha``, a constant effect estimated with these
        variances (a drifting effect, variances that are too small, or looks that are not
        running estimates of one experiment). The message names the first empty look;
        :func:`compute_confidence_sequence` with ``running_intersection=False`` shows the
        per-look intervals.
    """
    if isinstance(estimates, str | bytes):
        raise ValueError(f"estimates must be numeric, got the string {estimates!r}")
    if isinstance(variances, str | bytes):
        raise ValueError(f"variances must be numeric, got the string {variances!r}")
    estimate = as_float_array(estimates, "estimates", allow_nan=True)
    variance = as_numeric_array(variances, "variances", allow_nan=True, allow_inf=True)
    if variance.ndim != 1:
        raise ValueError(f"variances must be 1-dimensional, got shape {variance.shape}")
    check_same_length(estimates=estimate, variances=variance)
    estimate, variance = _estimates_and_variances(estimate, variance)
    if not np.isfinite(variance[-1]):
        raise ValueError("variances: the latest look has an infinite variance (no information yet)")
    alpha = check_alpha(alpha)
    tau2 = check_positive(mixture_variance, "mixture_variance")
    low, high = compute_confidence_sequence(estimate, variance, tau2, alpha)
    if low[-1] > high[-1]:
        look = int(np.argmax(low > high))
        raise ValueError(
            f"estimates, variances: the running intersection of the confidence sequence is "
            f"empty from look {look + 1} of {estimate.size} on (no effect lies in every "
            f"look's interval): the data reject, at level alpha={alpha:g}, one constant "
            "effect estimated with these variances (the effect drifts, the variances are "
            "too small, or the looks are not running estimates of one experiment); see "
            "compute_confidence_sequence(..., running_intersection=False) for the per-look "
            "intervals"
        )
    p_value = compute_always_valid_p_values(estimate, variance, tau2, null_value)
    se = math.sqrt(variance[-1])
    fixed_half_width = stats.norm.isf(alpha / 2) * se
    return Estimate(
        method="msprt confidence sequence",
        estimate=float(estimate[-1]),
        se=se,
        ci_low=float(low[-1]),
        ci_high=float(high[-1]),
        alpha=alpha,
        p_value=float(p_value[-1]),
        details={
            "n_looks": int(estimate.size),
            "mixture_variance": tau2,
            "width_ratio": float((high[-1] - low[-1]) / (2 * fixed_half_width)),
        },
    )


def batch_estimate_always_valid(
    estimates: Any,
    variances: Any,
    mixture_variance: float,
    *,
    alpha: float = 0.05,
    null_value: float = 0.0,
) -> Estimates:
    """The latest look of many continuously monitored experiments, one row per experiment.

    The vectorised companion of :func:`estimate_always_valid` for simulations: each row
    holds a path's latest estimate, its standard error, the confidence-sequence interval
    *at the latest look* and the always-valid p-value of ``effect == null_value``, which
    accounts for every look. Hence, with ``null_value`` set to the true effect,
    ``.rejection_rate(alpha=alpha)`` is the share of experiments whose confidence sequence
    excluded the truth at *some* look (at most ``alpha`` by Ville's inequality), and
    ``.coverage(truth)`` the coverage at the latest look.

    Parameters
    ----------
    estimates : array-like of float
        Shape ``(n_paths, n_looks)``: running effect estimates, one row per experiment.
    variances : array-like of float
        Their variances, broadcastable to ``estimates`` (e.g. one per look). Early looks
        may have an infinite variance (no information yet) and a NaN estimate.
    mixture_variance : float
        ``tau^2`` (see :func:`choose_mixture_variance`).
    alpha : float
        Error level of the confidence sequence.
    null_value : float
        Effect under H0 for the always-valid p-values.

    Returns
    -------
    Estimates
        One row per path, ``method="msprt confidence sequence"``. Unlike
        :func:`estimate_always_valid` the interval is the latest look's own, not the
        running intersection (which can be empty in a batch of simulated paths).

    Raises
    ------
    ValueError
        If ``estimates`` is not 2-D, an input is invalid as in
        :func:`compute_msprt_statistic`, a path's latest look has an infinite variance,
        ``mixture_variance`` is not positive and finite, ``alpha`` is outside (0, 1) or
        ``null_value`` is not finite.
    """
    estimate, variance = _estimates_and_variances(estimates, variances, to_estimates_shape=True)
    if estimate.ndim != 2:
        raise ValueError(f"estimates must be 2-D (n_paths, n_looks), got shape {estimate.shape}")
    without_information = ~np.isfinite(variance[:, -1])
    if without_information.any():
        raise ValueError(
            f"variances: the latest look of path {int(np.argmax(without_information))} has an "
            "infinite variance (no information yet)"
        )
    tau2 = _check_mixture_variance(mixture_variance, variance)
    alpha = check_alpha(alpha)
    null_value = check_finite_number(null_value, "null_value")
    latest, latest_variance = estimate[:, -1], variance[:, -1]
    low, high = compute_confidence_sequence(
        latest, latest_variance, tau2, alpha, running_intersection=False
    )
    p_value = compute_always_valid_p_values(estimate, variance, tau2, null_value)
    return Estimates.from_arrays(
        "msprt confidence sequence",
        latest,
        np.sqrt(latest_variance),
        low,
        high,
        alpha=alpha,
        p_value=p_value[:, -1],
    )
