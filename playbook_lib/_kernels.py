"""The numerical kernels several modules share, written once.

Private: the public functions of :mod:`playbook_lib.abtest`, :mod:`playbook_lib.geo`,
:mod:`playbook_lib.sequential`, :mod:`playbook_lib.hbm`, :mod:`playbook_lib.cuped`,
:mod:`playbook_lib.decisions` and :mod:`playbook_lib.results` validate their inputs and
then call these. Every kernel is vectorised (any array shape, broadcast elementwise) and
assumes checked, finite inputs.

- :func:`interval_and_p_value`: normal or t interval ends and p-values (two- or one-sided),
  with the se -> 0 limit;
- :func:`without_round_off`: a sum of squared deviations (or a variance) that is round-off
  of a constant sample, set to exactly 0;
- :func:`moments_from_sums`: mean and sample variance from n, sum and sum of squares;
- :func:`welch`: difference in means, its unpooled standard error and the
  Welch-Satterthwaite degrees of freedom;
- :func:`step_down_adjust`: Holm (step-down) or Bonferroni adjusted p-values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ALTERNATIVES = ("two-sided", "larger", "smaller")


def interval_and_p_value(
    estimate: Any,
    se: Any,
    alpha: float,
    alternative: str = "two-sided",
    df: Any = None,
    null_value: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval ends and p-values of ``estimate`` with standard error ``se``, elementwise.

    The reference distribution is the standard normal (``df=None``) or Student's t with
    ``df`` degrees of freedom (a NaN, infinite or non-positive ``df`` only occurs with a
    zero se, where it is irrelevant). The interval matches ``alternative``: two-sided at
    level ``1 - alpha``, or one-sided with an infinite end (``"larger"``: ``[low, inf)``).
    A zero se is the limit se -> 0: a point interval, and a p-value of 1 at the null, 0
    away from it (one-sided: 0 on the alternative's side, 1 on the other, 0.5 at it).

    Returns
    -------
    tuple of numpy.ndarray
        ``(ci_low, ci_high, p_value)``, broadcast to a common shape; p-values in [0, 1].
    """
    from scipy import special  # here: keeps `import playbook_lib` cheap

    estimate = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    # scipy.special's distribution functions (what scipy.stats.norm/t call underneath),
    # without building a frozen distribution on every call.
    if df is None:

        def cdf(x: np.ndarray) -> np.ndarray:
            return special.ndtr(x)

        def ppf(q: float) -> np.ndarray:
            return special.ndtri(q)
    else:
        df = np.asarray(df, dtype=float)
        df = np.where(np.isfinite(df) & (df > 0), df, 1.0)

        def cdf(x: np.ndarray) -> np.ndarray:
            return special.stdtr(df, x)

        def ppf(q: float) -> np.ndarray:
            return special.stdtrit(df, q)

    level = 1 - alpha / 2 if alternative == "two-sided" else 1 - alpha
    half_width = ppf(level) * se
    low, high = np.broadcast_arrays(estimate - half_width, estimate + half_width)
    low, high = low.copy(), high.copy()
    if alternative == "larger":
        high[...] = math.inf
    elif alternative == "smaller":
        low[...] = -math.inf
    distance = estimate - null_value
    positive = se > 0
    z = distance / np.where(positive, se, 1.0)
    if alternative == "two-sided":
        p_value = 2 * cdf(-np.abs(z))
        limit = np.where(distance == 0, 1.0, 0.0)
    else:
        side = distance if alternative == "larger" else -distance
        p_value = cdf(-z) if alternative == "larger" else cdf(z)
        limit = np.where(side > 0, 0.0, np.where(side < 0, 1.0, 0.5))
    p_value = np.clip(np.where(positive, p_value, limit), 0.0, 1.0)
    return low, high, np.broadcast_to(p_value, low.shape).copy()


# A sum of squared deviations at or below this share of the sum of squares is round-off of
# a constant sample (the sums hold no more digits of its spread).
ROUND_OFF = 1e-14


def without_round_off(deviations: Any, scale: Any) -> np.ndarray:
    """``deviations`` (a centred sum of squares, or a variance built from sums), or exactly
    0 where it is at or below :data:`ROUND_OFF` times ``scale`` (the raw sums of squares
    it was computed from): round-off of a constant sample, not a spread."""
    deviations = np.asarray(deviations, dtype=float)
    return np.where(deviations <= ROUND_OFF * np.abs(scale), 0.0, deviations)


def moments_from_sums(n: Any, total: Any, sum_squares: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample variance (``ddof=1``) from size, sum and sum of squares.

    A sum of squared deviations at or below ``1e-14`` of the sum of squares is round-off
    of a constant sample and counts as exactly 0 (the sums carry no more digits).
    Assumes ``n >= 2`` and consistent sums (see
    :func:`playbook_lib.validation.check_sum_of_squares`).
    """
    n = np.asarray(n, dtype=float)
    total = np.asarray(total, dtype=float)
    sum_squares = np.asarray(sum_squares, dtype=float)
    mean = total / n
    return mean, without_round_off(sum_squares - total * mean, sum_squares) / (n - 1)


def welch(
    n_control: Any,
    mean_control: Any,
    variance_control: Any,
    n_treatment: Any,
    mean_treatment: Any,
    variance_treatment: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch's difference in means (treatment minus control), elementwise.

    Returns
    -------
    tuple of numpy.ndarray
        ``(estimate, se, df)``: the difference, its unpooled standard error
        ``sqrt(s_c^2 / n_c + s_t^2 / n_t)`` and the Welch-Satterthwaite degrees of freedom
        (NaN where both variances are zero: the interval is then a point and needs none).
    """
    share_c = np.asarray(variance_control, dtype=float) / np.asarray(n_control, dtype=float)
    share_t = np.asarray(variance_treatment, dtype=float) / np.asarray(n_treatment, dtype=float)
    total = share_c + share_t
    denominator = share_c**2 / (np.asarray(n_control, dtype=float) - 1) + share_t**2 / (
        np.asarray(n_treatment, dtype=float) - 1
    )
    positive = denominator > 0
    df = np.where(positive, total**2 / np.where(positive, denominator, 1.0), np.nan)
    estimate = np.asarray(mean_treatment, dtype=float) - np.asarray(mean_control, dtype=float)
    return estimate, np.sqrt(total), df


def step_down_adjust(p_values: Any, method: str = "holm") -> np.ndarray:
    """Holm's step-down or Bonferroni adjusted p-values, in the input's order, capped at 1.

    Equal to :func:`statsmodels.stats.multitest.multipletests` with ``method="holm"`` or
    ``"bonferroni"`` (tested); written out because ``multipletests`` runs a garbage
    collection on every call, which dominates when a decision is simulated many times.
    ``method="none"`` returns the p-values unchanged.
    """
    p = np.asarray(p_values, dtype=float)
    if method == "none":
        return p.copy()
    m = p.size
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    if method != "holm":
        raise ValueError(f"method must be 'holm', 'bonferroni' or 'none', got {method!r}")
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, stepped)
    return adjusted
