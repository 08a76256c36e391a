"""Comparing two proportions: the pooled two-proportion z-test with a Wald or Agresti-Caffo
interval, from 0/1 rows, from counts (typed statistics) or vectorised over simulations."""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib._kernels import interval_and_p_value
from playbook_lib.abtest._checks import (
    as_binary_array,
    as_floats,
    check_alternative,
    check_binary_statistics,
    common_shape,
    estimate_from_row,
    estimates_table,
    scalar,
)
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import check_alpha, check_choice, warn_point_interval

__all__ = [
    "batch_compare_proportions",
    "compare_proportions",
    "compare_proportions_from_stats",
]

_INTERVALS = ("wald", "agresti-caffo")


def _proportions_core(
    control: ArmStatistics,
    treatment: ArmStatistics,
    alpha: float,
    alternative: str,
    interval: str,
) -> dict[str, np.ndarray]:
    """The z-test and interval, elementwise over the arms' entries."""
    successes_c, n_c = as_floats(control, "sum", "n")
    successes_t, n_t = as_floats(treatment, "sum", "n")
    p_c, p_t = successes_c / n_c, successes_t / n_t
    difference = p_t - p_c
    pooled = (successes_c + successes_t) / (n_c + n_t)
    se_pooled = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    se = np.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    # A zero pooled se means both arms are all 0 or all 1: the difference is 0, so is z,
    # and the p-value is 1 (whatever the alternative).
    _, _, p_value = interval_and_p_value(difference, se_pooled, alpha, alternative)
    z = difference / np.where(se_pooled > 0, se_pooled, 1.0)
    if interval == "agresti-caffo":
        # Add one success and one failure to each arm, then Wald (Agresti & Caffo 2000).
        adjusted_c = (successes_c + 1) / (n_c + 2)
        adjusted_t = (successes_t + 1) / (n_t + 2)
        centre = adjusted_t - adjusted_c
        se_interval = np.sqrt(
            adjusted_c * (1 - adjusted_c) / (n_c + 2) + adjusted_t * (1 - adjusted_t) / (n_t + 2)
        )
    else:
        centre, se_interval = difference, se
    low, high, _ = interval_and_p_value(centre, se_interval, alpha, alternative)
    # A difference of proportions lies in [-1, 1]; so does its interval.
    return {
        "estimate": difference,
        "se": se,
        "ci_low": np.clip(low, -1.0, 1.0),
        "ci_high": np.clip(high, -1.0, 1.0),
        "p_value": np.where(se_pooled > 0, p_value, 1.0),
        "z": z,
        "p_control": p_c,
        "p_treatment": p_t,
        "se_pooled": se_pooled,
    }


def _checked_options(alpha: float, alternative: str, interval: str) -> tuple[float, str, str]:
    return (
        check_alpha(alpha),
        check_alternative(alternative),
        check_choice(interval, "interval", _INTERVALS),
    )


def compare_proportions_from_stats(
    control: ArmStatistics,
    treatment: ArmStatistics,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    interval: str = "wald",
) -> Estimate:
    """Two-proportion z-test and interval for ``p_treatment - p_control`` from counts.

    The test statistic uses the pooled proportion under the null of no difference
    (the classical z-test, equal to :func:`statsmodels.stats.proportion.proportions_ztest`);
    the interval uses the unpooled standard error (``interval="wald"``) or the
    Agresti-Caffo adjustment (``interval="agresti-caffo"``: add one success and one
    failure per arm), which keeps its coverage in small samples and with zero counts.
    Interval ends are clipped to [-1, 1], the range of a difference of proportions.

    Parameters
    ----------
    control, treatment : ArmStatistics
        Each arm's statistics of a 0/1 metric, e.g.
        ``ArmStatistics.from_counts(successes, n)`` (``sum_squares == sum``), scalar
        fields; ``n >= 1``.
    alpha : float
        One minus the interval's coverage (and the test's level).
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: the treatment proportion is larger. One-sided alternatives give a
        one-sided interval (its open end is -1 or 1).
    interval : {"wald", "agresti-caffo"}

    Returns
    -------
    Estimate
        ``method="two-proportion z"``; ``se`` is the unpooled standard error; details hold
        both proportions, arm sizes, the z statistic and the pooled standard error.

        Degenerate counts: when both arms are all 0 (or all 1) the estimate is 0, ``z`` is
        0 and the p-value is 1. Whenever every arm is at 0 or 1 (e.g. 0/5 vs 5/5) the
        unpooled se is 0, so the Wald interval is the single point estimate and a
        :class:`~playbook_lib.PlaybookWarning` says so; the Agresti-Caffo interval stays
        informative (e.g. 0/10 vs 0/10 gives about [-0.27, 0.27]).

    Raises
    ------
    ValueError
        Naming ``control`` or ``treatment``: not an
        :class:`~playbook_lib.aggregates.ArmStatistics`, array fields (use
        :func:`batch_compare_proportions`), or not the statistics of a 0/1 metric; bad
        ``alpha``, ``alternative`` or ``interval``.
    """
    control = check_binary_statistics(control, "control", one_arm=True)
    treatment = check_binary_statistics(treatment, "treatment", one_arm=True)
    alpha, alternative, interval = _checked_options(alpha, alternative, interval)
    out = {
        name: scalar(value)
        for name, value in _proportions_core(
            control, treatment, alpha, alternative, interval
        ).items()
    }
    if out["se"] == 0 and interval == "wald":
        warn_point_interval(
            "compare_proportions: every arm is all 0 or all 1; prefer interval='agresti-caffo'"
        )
    return estimate_from_row(
        "two-proportion z",
        alpha,
        out,
        {
            "p_control": out["p_control"],
            "p_treatment": out["p_treatment"],
            "n_control": int(control.n),
            "n_treatment": int(treatment.n),
            "z": out["z"],
            "se_pooled": out["se_pooled"],
            "alternative": alternative,
            "interval": interval,
        },
    )


def compare_proportions(
    y_control: Any,
    y_treatment: Any,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    interval: str = "wald",
) -> Estimate:
    """Two-proportion z-test from 0/1 rows; same answer as :func:`compare_proportions_from_stats`.

    Parameters
    ----------
    y_control, y_treatment : array-like
        The 0/1 outcomes of each arm's units (at least one each).
    alpha, alternative, interval
        As :func:`compare_proportions_from_stats`.

    Returns
    -------
    Estimate
        As :func:`compare_proportions_from_stats`.

    Raises
    ------
    ValueError
        If an arm is empty, holds NaN or values other than 0/1, or as the twin.
    """
    y_c = as_binary_array(y_control, "y_control")
    y_t = as_binary_array(y_treatment, "y_treatment")
    return compare_proportions_from_stats(
        ArmStatistics.from_counts(int(y_c.sum()), y_c.size),
        ArmStatistics.from_counts(int(y_t.sum()), y_t.size),
        alpha=alpha,
        alternative=alternative,
        interval=interval,
    )


def batch_compare_proportions(
    control: ArmStatistics,
    treatment: ArmStatistics,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    interval: str = "wald",
) -> Estimates:
    """Vectorised :func:`compare_proportions_from_stats`: one row per entry of the arms.

    Parameters
    ----------
    control, treatment : ArmStatistics
        0/1-metric statistics with array fields, one entry per simulated experiment
        (``ArmStatistics.from_counts(successes_array, n)``); an arm with scalar fields is
        broadcast against the other.
    alpha, alternative, interval
        As :func:`compare_proportions_from_stats`.

    Returns
    -------
    Estimates
        ``method="two-proportion z"``, one row per entry, with the extra column ``z``. A
        row where both arms are all 0 or all 1 gets ``estimate = z = 0`` and
        ``p_value = 1``; where every arm is all 0 or all 1 the Wald interval is the point
        estimate (``se = 0``), as in the scalar version (without its warning).

    Raises
    ------
    ValueError
        Naming ``control`` or ``treatment``: not an
        :class:`~playbook_lib.aggregates.ArmStatistics` of a 0/1 metric, or entries that do
        not broadcast; bad ``alpha``, ``alternative`` or ``interval``.
    """
    control = check_binary_statistics(control, "control")
    treatment = check_binary_statistics(treatment, "treatment")
    shape = common_shape(control, treatment)
    alpha, alternative, interval = _checked_options(alpha, alternative, interval)
    out = _proportions_core(control, treatment, alpha, alternative, interval)
    columns = ("estimate", "se", "ci_low", "ci_high", "p_value", "z")
    return estimates_table("two-proportion z", alpha, shape, {name: out[name] for name in columns})
