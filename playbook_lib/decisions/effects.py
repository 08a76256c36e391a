"""Effects from any source as :class:`~playbook_lib.Estimate` objects for the decision layer.

:func:`summarize_effect` wraps an effect and its standard error (a warehouse query, a paper,
a dashboard); :func:`estimate_from_draws` summarises posterior or bootstrap draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from playbook_lib.decisions._checks import as_mapping, as_text
from playbook_lib.results import Estimate
from playbook_lib.validation import as_float_array, check_alpha, check_finite_number, check_positive

__all__ = ["estimate_from_draws", "summarize_effect"]


def summarize_effect(
    estimate: float,
    se: float,
    *,
    alpha: float = 0.05,
    df: float | None = None,
    method: str = "normal",
    details: Mapping[str, Any] | None = None,
) -> Estimate:
    """Wrap an effect and its standard error as an :class:`~playbook_lib.Estimate` (Wald interval).

    Use it to bring a number from any source (a warehouse query, a paper, a dashboard)
    into the decision layer.

    Parameters
    ----------
    estimate, se : float
        The effect (metric units) and its standard error (> 0).
    alpha : float
        One minus the interval's coverage.
    df : float, optional
        Degrees of freedom: Student-t interval and p-value; ``None`` for the normal.
    method : str
        The estimator's name, stored in the result.
    details : mapping, optional
        Extra numbers to keep.

    Returns
    -------
    Estimate
        ``estimate ± t_{1-alpha/2} se`` with the two-sided p-value of zero effect
        (:meth:`Estimate.from_standard_error <playbook_lib.Estimate.from_standard_error>`).

    Raises
    ------
    ValueError
        If ``estimate`` is not a finite number, ``se`` is not a positive finite number,
        ``alpha`` not in (0, 1), ``df`` not positive, ``method`` not a non-empty string or
        ``details`` not a mapping.
    """
    estimate = check_finite_number(estimate, "estimate")
    se = check_positive(se, "se")
    alpha = check_alpha(alpha)
    if df is not None:
        df = check_positive(df, "df")
    method = as_text(method, "method")
    details = {} if details is None else dict(as_mapping(details, "details"))
    return Estimate.from_standard_error(method, estimate, se, alpha=alpha, df=df, details=details)


def estimate_from_draws(
    draws: Any, *, alpha: float = 0.05, method: str = "posterior draws"
) -> Estimate:
    """Summarise posterior (or bootstrap) draws of an effect as an :class:`~playbook_lib.Estimate`.

    The estimate is the mean of the draws, ``se`` their standard deviation and the interval
    the equal-tailed ``alpha/2`` and ``1 - alpha/2`` quantiles. ``details`` holds
    ``probability_positive`` (the share of draws above zero) and ``n_draws``.

    Parameters
    ----------
    draws : array-like
        Draws of the effect (1-D, at least two, finite), e.g. from a PyMC posterior.
    alpha : float
        One minus the interval's (credible) level.
    method : str
        The name stored in the result.

    Returns
    -------
    Estimate
        Mean, sd (as ``se``) and equal-tailed interval of the draws, without a p-value.
        Constant draws give ``se = 0`` and the point interval ``[draw, draw]``.

    Raises
    ------
    ValueError
        If ``draws`` is not a 1-D array of at least two finite numbers, ``alpha`` is not
        in (0, 1) or ``method`` is not a non-empty string.
    """
    draws = as_float_array(draws, "draws", min_size=2)
    alpha = check_alpha(alpha)
    method = as_text(method, "method")
    low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    if np.ptp(draws) == 0:  # constant draws: exactly no spread (np.std leaves round-off)
        mean, sd = float(draws[0]), 0.0
    else:
        mean, sd = float(draws.mean()), float(draws.std(ddof=1))
    return Estimate(
        method,
        mean,
        sd,
        float(low),
        float(high),
        alpha=alpha,
        details={"probability_positive": float(np.mean(draws > 0)), "n_draws": int(draws.size)},
    )
