"""The bootstrap interval of a difference between arms, for statistics without a simple
standard error (medians, quantiles, trimmed means)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    PlaybookWarning,
    as_float_array,
    check_alpha,
    check_choice,
    check_integer,
    check_rng,
)

__all__ = ["bootstrap_difference"]


def bootstrap_difference(
    y_control: Any,
    y_treatment: Any,
    *,
    statistic: Callable[..., Any] = np.mean,
    alpha: float = 0.05,
    method: str = "BCa",
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Bootstrap interval for ``statistic(treatment) - statistic(control)``.

    Resamples each arm independently with :func:`scipy.stats.bootstrap`
    (Efron 1987). ``method="percentile"`` takes quantiles of the bootstrap
    distribution; ``"BCa"`` corrects them for bias and skewness, with corrections
    estimated from the data (second-order accurate as samples grow, but not better in
    every small sample); ``"basic"`` reflects them. Use it for statistics without a
    simple standard error (medians, quantiles); for a difference in means Welch's
    interval is as good and cheaper, and in small samples better: bootstrap intervals
    under-cover there (BCa: about 0.94 for a nominal 0.95 with 40 normal observations
    per arm, and below the percentile interval's coverage with 40 log-normal
    observations per arm, where Welch's t interval holds 0.95).

    Parameters
    ----------
    y_control, y_treatment : array-like
        Each arm's outcomes, one per unit (at least 2 each).
    statistic : callable
        ``statistic(sample, axis=-1)`` vectorised over ``axis`` (NumPy reductions are).
    alpha : float
        One minus the interval's coverage.
    method : {"BCa", "percentile", "basic"}
    n_resamples : int
        Bootstrap resamples (at least 100).
    rng : numpy.random.Generator, int or None
        Seed or generator of the resampling.

    Returns
    -------
    Estimate
        ``method="bootstrap <method>"``; ``se`` is the bootstrap standard error. When
        every bootstrap replicate is the same (e.g. both arms constant) the interval is
        that single value and the se 0, with a :class:`~playbook_lib.PlaybookWarning`.
        When BCa cannot be computed (e.g. a statistic that is constant on the
        jackknife samples) the percentile interval is returned instead, with a
        :class:`~playbook_lib.PlaybookWarning` and ``details["interval"]`` saying so.

    Raises
    ------
    ValueError
        If an arm has fewer than 2 values or holds NaN, infinite or non-numeric values,
        ``statistic`` is not callable or gives a non-finite value on the data, bad
        ``alpha``, ``method``, ``n_resamples`` (an integer >= 100) or ``rng``.
    """
    y_c = as_float_array(y_control, "y_control", min_size=2)
    y_t = as_float_array(y_treatment, "y_treatment", min_size=2)
    if not callable(statistic):
        raise ValueError(f"statistic must be callable, got {statistic!r}")
    alpha = check_alpha(alpha)
    method = check_choice(method, "method", ("BCa", "percentile", "basic"))
    n_resamples = check_integer(n_resamples, "n_resamples", minimum=100)
    rng = check_rng(rng)

    def difference(control: np.ndarray, treatment: np.ndarray, axis: int = -1) -> np.ndarray:
        return statistic(treatment, axis=axis) - statistic(control, axis=axis)

    with np.errstate(all="ignore"):
        point = float(np.asarray(difference(y_c, y_t)).reshape(-1)[0])
    if not math.isfinite(point):
        raise ValueError(f"statistic gives a non-finite difference ({point}) on the data")
    details = {"n_resamples": n_resamples, "n_control": y_c.size, "n_treatment": y_t.size}
    if np.ptp(y_c) == 0 and np.ptp(y_t) == 0:
        # Every resample equals the data: the bootstrap distribution is the point.
        warnings.warn(
            "bootstrap_difference: both arms are constant, so every bootstrap replicate "
            "equals the estimate; the interval is that point and the se is 0",
            PlaybookWarning,
            stacklevel=2,
        )
        return Estimate(
            method=f"bootstrap {method}",
            estimate=point,
            se=0.0,
            ci_low=point,
            ci_high=point,
            alpha=alpha,
            details={**details, "interval": method},
        )
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        result = stats.bootstrap(
            (y_c, y_t),
            difference,
            n_resamples=n_resamples,
            confidence_level=1 - alpha,
            method=method,
            vectorized=True,
            paired=False,
            rng=rng,
        )
    for warning in caught:  # pass on what scipy says, except the BCa failure handled below
        if not issubclass(warning.category, RuntimeWarning):
            warnings.warn(warning.message, warning.category, stacklevel=2)
    low, high = (float(end) for end in result.confidence_interval)
    distribution = np.asarray(result.bootstrap_distribution, dtype=float)
    if not np.isfinite(distribution).all():
        raise ValueError("statistic gives non-finite values on bootstrap resamples")
    used = method
    if not (math.isfinite(low) and math.isfinite(high)):
        used = "percentile"
        low, high = (float(q) for q in np.quantile(distribution, [alpha / 2, 1 - alpha / 2]))
        warnings.warn(
            f"bootstrap_difference: the {method} interval is undefined for these data "
            "(degenerate bootstrap or jackknife distribution); returning the percentile "
            "interval",
            PlaybookWarning,
            stacklevel=2,
        )
    se = float(result.standard_error)
    return Estimate(
        method=f"bootstrap {method}",
        estimate=point,
        se=se,
        ci_low=min(low, high),
        ci_high=max(low, high),
        alpha=alpha,
        details={**details, "interval": used},
    )
