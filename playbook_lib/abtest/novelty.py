"""Effects that change with exposure: the effect by days since first exposure, and a test
for a trend in it (novelty and primacy effects)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.abtest.means import batch_compare_means
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import (
    check_alpha,
    check_binary,
    check_columns,
    column_as_float_array,
)

__all__ = ["exposure_day_effects", "estimate_effect_trend"]


def _columns(
    data: Any, outcome: Any, treatment: Any, exposure_day: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for name, column in (
        ("outcome", outcome),
        ("treatment", treatment),
        ("exposure_day", exposure_day),
    ):
        if not isinstance(column, str):
            raise ValueError(f"{name} must be a column name (a string), got {column!r}")
    check_columns(data, [], "data")
    if len(data) == 0:
        raise ValueError("data has no rows")
    for name, column in (
        ("outcome", outcome),
        ("treatment", treatment),
        ("exposure_day", exposure_day),
    ):
        if column not in data.columns:
            raise ValueError(f"{name}: column {column!r} is not in data")
    y = column_as_float_array(data, outcome, "outcome")
    t = check_binary(
        column_as_float_array(data, treatment, "treatment"), f"treatment (column {treatment!r})"
    )
    d = column_as_float_array(data, exposure_day, "exposure_day")
    if (d < 0).any() or not np.array_equal(d, np.round(d)):
        raise ValueError(
            f"exposure_day: column {exposure_day!r} must hold whole days since first "
            "exposure (0, 1, 2, ...)"
        )
    return y, t.astype(bool), d.astype(int)


def exposure_day_effects(
    data: pd.DataFrame,
    outcome: str = "outcome",
    treatment: str = "treatment",
    exposure_day: str = "days_since_exposure",
    *,
    alpha: float = 0.05,
    min_units: int = 2,
) -> Estimates:
    """The treatment effect on each day since first exposure, with Welch intervals.

    Groups the rows by days since a unit's first exposure (day 0 is the first day a unit
    saw its arm) and compares the arms' means on each day with Welch's t-test
    (:func:`~playbook_lib.abtest.batch_compare_means`). Within one day since exposure each
    unit contributes at most one row, so the rows compared are independent units and each
    day's interval is valid on its own. The days are **not** independent of each other
    (the same units appear on many days): test a trend with
    :func:`estimate_effect_trend`, not by comparing these intervals. A novelty effect shows
    as an effect that shrinks with exposure, a primacy effect as one that grows
    (Kohavi, Tang & Xu 2020, ch. 23).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit and day (a unit appears at most once per day since exposure).
    outcome, treatment, exposure_day : str
        Columns of the daily outcome, the 0/1 treatment and the whole days since the
        unit's first exposure.
    alpha : float
        One minus the intervals' coverage.
    min_units : int
        Days with fewer units than this in either arm are left out (at least 2).

    Returns
    -------
    Estimates
        ``method="welch"``, one row per day since exposure (labelled by it), with
        ``df`` the Welch degrees of freedom.

    Raises
    ------
    ValueError
        Naming the argument: ``data`` not a DataFrame or empty, missing columns, NaN or
        non-numeric values, a treatment not coded 0/1 or with one arm, exposure days that
        are not non-negative whole numbers, ``min_units`` below 2, or no day with
        ``min_units`` units in each arm.
    """
    y, t, d = _columns(data, outcome, treatment, exposure_day)
    alpha = check_alpha(alpha)
    if isinstance(min_units, bool) or not isinstance(min_units, int | np.integer):
        raise ValueError(f"min_units must be an integer, got {min_units!r}")
    if min_units < 2:
        raise ValueError(f"min_units must be at least 2, got {min_units}")
    n_days = int(d.max()) + 1
    arms = []
    for in_arm in (~t, t):
        arms.append(
            tuple(
                np.bincount(d[in_arm], weights=w, minlength=n_days)
                for w in (None, y[in_arm], y[in_arm] ** 2)
            )
        )
    keep = (arms[0][0] >= min_units) & (arms[1][0] >= min_units)
    if not keep.any():
        raise ValueError(f"data: no day since exposure has {min_units} units in each arm")
    control, treated = (
        ArmStatistics(n[keep].astype(int), total[keep], squares[keep]) for n, total, squares in arms
    )
    table = batch_compare_means(control, treated, alpha=alpha).to_frame()
    table.index = pd.Index(np.flatnonzero(keep), name=exposure_day)
    return Estimates(table)


def estimate_effect_trend(
    data: pd.DataFrame,
    outcome: str = "outcome",
    treatment: str = "treatment",
    exposure_day: str = "days_since_exposure",
    unit: str = "user_id",
    *,
    alpha: float = 0.05,
) -> Estimate:
    """Test whether the effect changes with exposure: the slope of the effect per day.

    Fits ``outcome ~ 1 + T + d + T * d`` by OLS, with ``d`` the days since first exposure
    centred at its mean, and returns the interaction coefficient: the change in the effect
    per extra day of exposure (negative: a novelty effect that wears off; positive: a
    primacy effect, or learning). The standard error is cluster-robust by ``unit``
    (statsmodels ``cov_type="cluster"``; Cameron & Miller 2015), because a unit's days are
    correlated; the reference distribution is t with ``G - 1`` degrees of freedom for
    ``G`` units. A linear slope is a summary: a decay that levels off shows as a
    negative slope, and the per-day estimates of :func:`exposure_day_effects`
    show its shape.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit and day.
    outcome, treatment, exposure_day : str
        As :func:`exposure_day_effects`.
    unit : str
        The column identifying the randomised unit (the clusters).
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        ``method="effect trend"``: the change in the effect per day of exposure, its
        cluster-robust se, interval and p-value (null: no trend), ``df = G - 1``;
        ``details``: ``effect_at_mean_exposure`` (the coefficient on ``T``),
        ``mean_exposure_day``, ``n_units``, ``n_rows``.

    Raises
    ------
    ValueError
        As :func:`exposure_day_effects`, and if ``unit`` is missing or has
        missing values, there are fewer than 3 units, or the exposure days are constant.
    """
    y, t, d = _columns(data, outcome, treatment, exposure_day)
    alpha = check_alpha(alpha)
    if not isinstance(unit, str):
        raise ValueError(f"unit must be a column name (a string), got {unit!r}")
    if unit not in data.columns:
        raise ValueError(f"unit: column {unit!r} is not in data")
    if data[unit].isna().any():
        raise ValueError(f"unit: column {unit!r} has missing values")
    if data[unit].dtype.kind == "f" and np.isinf(data[unit].to_numpy()).any():
        raise ValueError(f"unit: column {unit!r} has infinite values")
    groups = pd.factorize(data[unit])[0]
    n_units = int(groups.max()) + 1
    if n_units < 3:
        raise ValueError(f"unit: column {unit!r} needs at least 3 units, got {n_units}")
    if np.ptp(d) == 0:
        raise ValueError(f"exposure_day: column {exposure_day!r} is constant")
    from statsmodels.regression.linear_model import OLS

    centred = d - d.mean()
    treated = t.astype(float)
    design = np.column_stack([np.ones_like(y), treated, centred, treated * centred])
    fit = OLS(y, design).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    df = float(n_units - 1)
    return Estimate.from_standard_error(
        "effect trend",
        float(fit.params[3]),
        float(fit.bse[3]),
        alpha=alpha,
        df=df,
        details={
            "effect_at_mean_exposure": float(fit.params[1]),
            "mean_exposure_day": float(d.mean()),
            "n_units": n_units,
            "n_rows": int(y.size),
        },
    )
