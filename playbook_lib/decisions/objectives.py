"""Choosing among variants on several metrics: the Pareto frontier and a weighted utility.

:func:`pareto_frontier` marks the variants no other variant dominates (elementwise, not
lexicographically); :func:`pareto_frontier_probability` says how sure that is given the
estimates' uncertainty; :func:`weighted_utility` ranks variants by a stated exchange rate
between metrics, with the probability that each is best.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.decisions._checks import as_mapping, direction_sign
from playbook_lib.validation import (
    check_columns,
    check_integer,
    check_positive,
    check_rng,
    column_as_float_array,
)

__all__ = ["pareto_frontier", "pareto_frontier_probability", "weighted_utility"]


def _metric_table(values: Any, name: str) -> np.ndarray:
    """A variants-by-metrics DataFrame of finite numbers as a float matrix."""
    check_columns(values, [], name)
    if values.shape[0] < 1 or values.shape[1] < 1:
        raise ValueError(
            f"{name} must have at least one variant (row) and one metric "
            f"(column), got shape {values.shape}"
        )
    if not values.columns.is_unique or not values.index.is_unique:
        raise ValueError(f"{name} must have unique variant and metric labels")
    return np.column_stack(
        [column_as_float_array(values, column, name) for column in values.columns]
    )


def _aligned_ses(means: pd.DataFrame, ses: Any) -> np.ndarray:
    """``ses`` as a non-negative float matrix aligned with ``means`` (same rows, columns)."""
    check_columns(ses, list(means.columns), "ses")
    missing = [label for label in means.index if label not in ses.index]
    if missing or ses.shape != means.shape:
        raise ValueError(
            f"ses must be a DataFrame with the rows and columns of means, got "
            f"shape {ses.shape} for {means.shape}"
            + (f" (missing rows {missing})" if missing else "")
        )
    ses = ses.loc[means.index, means.columns]
    matrix = np.column_stack([column_as_float_array(ses, column, "ses") for column in ses.columns])
    if np.any(matrix < 0):
        raise ValueError("ses must be non-negative standard errors")
    return matrix


def _oriented(
    values: pd.DataFrame, directions: Mapping[str, str], name: str = "values"
) -> np.ndarray:
    """``values`` (checked: finite numbers, variants by metrics) times each metric's sign."""
    matrix = _metric_table(values, name)
    return matrix * _per_metric(directions, values.columns, "directions", direction_sign)


def _per_metric(
    values: Any, metrics: pd.Index, name: str, convert: Callable[[Any, str], float]
) -> np.ndarray:
    """One number per metric from the mapping ``values``; ``convert`` checks each entry."""
    values = as_mapping(values, name)
    missing = [metric for metric in metrics if metric not in values]
    if missing:
        raise ValueError(f"{name} is missing metric(s) {missing}")
    return np.array([convert(values[metric], f"{name}[{metric!r}]") for metric in metrics])


def _dominated(oriented: np.ndarray) -> np.ndarray:
    """``dominated[..., i]``: some variant is >= on every metric and > on one (last axis)."""
    # oriented: (..., k, m). Compare every pair elementwise (not lexicographically).
    left = oriented[..., :, None, :]  # j
    right = oriented[..., None, :, :]  # i
    geq = np.all(left >= right, axis=-1)
    gt = np.any(left > right, axis=-1)
    return np.any(geq & gt, axis=-2)


def pareto_frontier(values: pd.DataFrame, directions: Mapping[str, str]) -> pd.Series:
    """Which variants are Pareto-optimal: no other variant is at least as good on every
    metric and strictly better on one.

    Parameters
    ----------
    values : pandas.DataFrame
        Variants as rows, metrics as columns (point estimates).
    directions : mapping of metric to {"higher_is_better", "lower_is_better"}

    Returns
    -------
    pandas.Series of bool
        ``True`` for variants on the frontier, indexed like ``values``. Variants with
        identical values dominate neither one another: both may be on the frontier.

    Raises
    ------
    ValueError
        If ``values`` is not a non-empty DataFrame of finite numbers with unique labels,
        or ``directions`` is not a mapping giving a known direction for every column.
    """
    oriented = _oriented(values, directions)
    return pd.Series(~_dominated(oriented), index=values.index, name="on_frontier")


def pareto_frontier_probability(
    means: pd.DataFrame,
    ses: pd.DataFrame,
    directions: Mapping[str, str],
    *,
    n_draws: int = 4000,
    rng: np.random.Generator | int | None = None,
) -> pd.Series:
    """Probability that each variant is on the Pareto frontier, given its uncertainty.

    Draws every metric of every variant independently from ``N(mean, se^2)`` (e.g. a flat
    posterior, or sampling noise around the estimates) and counts how often each variant
    is non-dominated.

    Returns
    -------
    pandas.Series
        Probability per variant.

    Raises
    ------
    ValueError
        If ``means`` is not a non-empty DataFrame of finite numbers, ``ses`` is not a
        DataFrame of finite non-negative numbers with the same rows and columns,
        ``directions`` lacks a metric, ``n_draws < 10`` or ``rng`` is invalid.
    """
    rng = check_rng(rng)
    oriented = _oriented(means, directions, "means")
    scale = _aligned_ses(means, ses)
    n_draws = check_integer(n_draws, "n_draws", minimum=10)
    draws = oriented + scale * rng.standard_normal((n_draws,) + oriented.shape)
    probability = (~_dominated(draws)).mean(axis=0)
    return pd.Series(probability, index=means.index, name="probability_on_frontier")


def weighted_utility(
    means: pd.DataFrame,
    ses: pd.DataFrame,
    weights: Mapping[str, float],
    directions: Mapping[str, str],
    *,
    n_draws: int = 4000,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Weighted utility ``U = sum_m w_m * s_m * value_m`` per variant, with uncertainty.

    ``s_m`` is +1 for higher-is-better and -1 for lower-is-better metrics, so every weight
    is a positive exchange rate ("one unit of metric m is worth w_m"). Metrics are taken as
    independent, so ``se(U) = sqrt(sum_m w_m^2 se_m^2)``; ``probability_best`` is the share
    of joint draws in which the variant has the highest utility.

    Returns
    -------
    pandas.DataFrame
        ``utility``, ``se``, ``probability_best`` per variant, sorted by utility.

    Raises
    ------
    ValueError
        If ``means`` is not a non-empty DataFrame of finite numbers, ``ses`` is not a
        DataFrame of finite non-negative numbers with the same rows and columns,
        ``weights`` is not a mapping with a positive finite weight per metric,
        ``directions`` lacks a metric, ``n_draws < 10`` or ``rng`` is invalid.
    """
    rng = check_rng(rng)
    oriented = _oriented(means, directions, "means")
    ses_array = _aligned_ses(means, ses)
    w = _per_metric(weights, means.columns, "weights", check_positive)
    n_draws = check_integer(n_draws, "n_draws", minimum=10)
    utility = oriented @ w
    utility_se = np.sqrt((ses_array**2) @ (w**2))
    if not (np.isfinite(utility).all() and np.isfinite(utility_se).all()):
        raise ValueError("weights: the weighted utility overflows; rescale the metrics")
    draws = utility + utility_se * rng.standard_normal((n_draws, utility.size))
    best = np.bincount(draws.argmax(axis=1), minlength=utility.size) / draws.shape[0]
    table = pd.DataFrame(
        {"utility": utility, "se": utility_se, "probability_best": best}, index=means.index
    )
    return table.sort_values("utility", ascending=False)
