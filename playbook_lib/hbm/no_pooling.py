"""No pooling: each unit's own difference in means with a Welch interval.

The starting point of every pooled estimator in :mod:`playbook_lib.hbm`: one
:class:`~playbook_lib.Estimates` row per unit, from per-unit arm statistics (what a
warehouse ``GROUP BY unit, arm`` returns, :func:`unit_effects_from_stats`) or from
one row per user (:func:`unit_effects`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import welch
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.hbm._checks import (
    as_index,
    check_frame,
    check_no_missing_labels,
    float_column,
    relabel,
)
from playbook_lib.results import Estimates
from playbook_lib.validation import check_alpha

__all__ = ["unit_effects", "unit_effects_from_stats"]


def _per_unit(statistics: Any, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sizes, means and variances of per-unit
    :class:`~playbook_lib.aggregates.ArmStatistics` (1-D arrays)."""
    if not isinstance(statistics, ArmStatistics):
        raise ValueError(
            f"{name} must be playbook_lib.aggregates.ArmStatistics (one entry per unit), got "
            f"{type(statistics).__name__}"
        )
    n = np.atleast_1d(np.asarray(statistics.n, dtype=float))
    if (n < 2).any():
        raise ValueError(
            f"{name}: every unit needs at least 2 users in this arm (for a standard "
            f"deviation), got n = {n.min():g} (entry {int(np.argmin(n))})"
        )
    mean = np.atleast_1d(np.asarray(statistics.mean, dtype=float))
    variance = np.atleast_1d(np.asarray(statistics.variance, dtype=float))
    return n, mean, variance


def unit_effects_from_stats(
    control: ArmStatistics,
    treatment: ArmStatistics,
    *,
    labels: Sequence[Any] | pd.Index | None = None,
    alpha: float = 0.05,
) -> Estimates:
    """No pooling: each unit's difference in means with a Welch interval, from arm statistics.

    ``estimate = mean_T - mean_C`` with ``se^2 = s_T^2 / n_T + s_C^2 / n_C`` and a Student-t
    interval and p-value with Welch–Satterthwaite degrees of freedom
    :cite:`welch1947generalization` (``playbook_lib._kernels.welch``).

    Parameters
    ----------
    control, treatment : playbook_lib.aggregates.ArmStatistics
        Per-unit statistics of each arm: fields with one entry per unit (e.g.
        ``ArmStatistics.from_moments(n, mean, sd**2)``), the same units in the same order.
    labels : sequence or pandas.Index, optional
        One label per unit (e.g. the unit ids, or a ``MultiIndex`` of replication and
        unit); default ``0..n-1``. A ``pandas.Index`` keeps its name(s).
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimates
        One row per unit (method ``"no pooling"``, the Welch ``p_value`` and ``df``), in
        the units' order, plus the columns ``n_control`` and ``n_treatment``.

    Raises
    ------
    ValueError
        If ``control`` or ``treatment`` is not :class:`~playbook_lib.aggregates.ArmStatistics`, an
        arm has fewer than 2 users in a unit, the arms have different numbers of units, ``labels``
        has the wrong length or missing labels, ``alpha`` is outside (0, 1), or a unit's outcome is
        constant in both arms (its standard error would be 0: no interval exists).
    """
    alpha = check_alpha(alpha)
    n_c, mean_c, var_c = _per_unit(control, "control")
    n_t, mean_t, var_t = _per_unit(treatment, "treatment")
    if n_t.size != n_c.size:
        raise ValueError(
            f"treatment has {n_t.size} unit(s) and control {n_c.size}: the arms must hold "
            "the same units"
        )
    index = pd.RangeIndex(n_c.size) if labels is None else as_index(labels)
    if len(index) != n_c.size:
        raise ValueError(f"labels has {len(index)} entries for {n_c.size} units")
    check_no_missing_labels(index, "labels")
    estimate, se, df = welch(n_c, mean_c, var_c, n_t, mean_t, var_t)
    if (se <= 0).any():
        unit = index[int(np.argmax(se <= 0))]
        raise ValueError(
            f"control and treatment: unit {unit!r} has variance 0 in both arms, so its "
            "standard error is 0 and no interval exists"
        )
    table = Estimates.from_standard_errors("no pooling", estimate, se, alpha=alpha, df=df)
    return relabel(table, index, n_control=n_c.astype(np.int64), n_treatment=n_t.astype(np.int64))


def unit_effects(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    treatment: str = "treatment",
    outcome: str = "outcome",
    alpha: float = 0.05,
) -> Estimates:
    """No pooling from user rows: arm statistics per unit, then
    :func:`unit_effects_from_stats`.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per user: unit label, treatment indicator (1/True = treatment), outcome.
    unit, treatment, outcome : str
        Column names.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimates
        As :func:`unit_effects_from_stats`, one row per unit, labelled by the unit
        (sorted; the index is named after the ``unit`` column).

    Raises
    ------
    ValueError
        If ``data`` is empty or not a DataFrame, columns are missing, unit labels are
        missing, the treatment column is not 0/1, the outcome has NaN, strings or infinite
        values, a unit has fewer than 2 users in an arm, or a unit's outcome is constant in
        both arms (a zero standard error).
    """
    alpha = check_alpha(alpha)
    check_frame(data, "data", unit=unit, treatment=treatment, outcome=outcome)
    missing = int(data[unit].isna().sum())
    if missing:
        raise ValueError(f"data: column {unit!r} has {missing} missing value(s)")
    values = float_column(data, outcome, "data")
    arm = float_column(data, treatment, "data")
    if not np.isin(arm, (0.0, 1.0)).all():
        raise ValueError(f"data: column {treatment!r} must hold only 0 and 1 (or booleans)")
    summary = (
        pd.DataFrame({unit: data[unit].to_numpy(), "_arm": arm.astype(int), "_y": values})
        .groupby([unit, "_arm"])["_y"]
        .agg(["count", "mean", "var"])
        .unstack("_arm")
    )
    if summary.shape[1] != 6 or summary.isna().any().any():
        counts = summary["count"].reindex(columns=[0, 1]).fillna(0)
        label = counts.index[(counts < 2).any(axis=1)][0]
        raise ValueError(
            f"data: unit {label!r} (column {unit!r}) needs at least 2 users in each arm of "
            f"{treatment!r}"
        )
    control, treated = (
        ArmStatistics.from_moments(
            summary[("count", arm)].to_numpy(),
            summary[("mean", arm)].to_numpy(),
            summary[("var", arm)].to_numpy(),
        )
        for arm in (0, 1)
    )
    return unit_effects_from_stats(control, treated, labels=summary.index, alpha=alpha)
