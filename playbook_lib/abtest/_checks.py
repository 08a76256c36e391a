"""Private helpers shared by the files of :mod:`playbook_lib.abtest`.

Checks of the typed statistics the ``_from_stats`` twins and the ``batch_`` versions take,
the broadcast of the two arms, the one way a ``batch_`` version builds its
:class:`~playbook_lib.results.Estimates` table, and the one way a twin builds its
:class:`~playbook_lib.results.Estimate` from such a table's single row.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import ALTERNATIVES
from playbook_lib.aggregates import ArmStatistics, RatioStatistics
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import as_float_array, check_choice


def check_alternative(alternative: str) -> str:
    """``alternative`` if it is one of :data:`ALTERNATIVES`."""
    return check_choice(alternative, "alternative", ALTERNATIVES)


def scalar(values: Any) -> float:
    """The first (only) entry of a number or an array, as a float."""
    return float(np.asarray(values).reshape(-1)[0])


def as_binary_array(values: Any, name: str) -> np.ndarray:
    """A finite 1-D float array holding only 0 and 1."""
    array = as_float_array(values, name)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValueError(f"{name} must contain only 0 and 1")
    return array


def _shapes(statistics: ArmStatistics | RatioStatistics) -> set[tuple[int, ...]]:
    return {np.shape(getattr(statistics, item.name)) for item in fields(statistics)}


def check_statistics(
    value: Any,
    name: str,
    kind: type = ArmStatistics,
    *,
    minimum_n: int = 2,
    one_arm: bool = False,
) -> Any:
    """``value`` if it is a ``kind`` with at least ``minimum_n`` units in every entry.

    ``one_arm``: the fields must be scalars (a ``_from_stats`` twin answers one
    comparison; arrays, one entry per simulation or period, go to the ``batch_`` version).
    """
    if not isinstance(value, kind):
        raise ValueError(
            f"{name} must be a {kind.__name__} (e.g. {kind.__name__}.from_values(...)), "
            f"got {type(value).__name__}"
        )
    if one_arm and _shapes(value) != {()}:
        raise ValueError(
            f"{name} must hold one arm's statistics (scalar fields), got arrays; the "
            "batch_ version compares one row per entry"
        )
    if np.any(np.asarray(value.n) < minimum_n):
        raise ValueError(f"{name}.n must be at least {minimum_n} in every entry, got {value.n}")
    return value


def check_binary_statistics(value: Any, name: str, *, one_arm: bool = False) -> ArmStatistics:
    """``value`` if it is the :class:`ArmStatistics` of a 0/1 metric: ``sum_squares ==
    sum``, a whole number (what :meth:`ArmStatistics.from_counts` builds)."""
    statistics = check_statistics(value, name, minimum_n=1, one_arm=one_arm)
    total = np.asarray(statistics.sum)
    if not (
        np.array_equal(total, np.asarray(statistics.sum_squares))
        and np.all(total == np.round(total))
    ):
        raise ValueError(
            f"{name} must be the statistics of a 0/1 metric (sum_squares equal to sum, a "
            f"whole number): build it with ArmStatistics.from_counts(successes, n)"
        )
    return statistics


def common_shape(control: Any, treatment: Any) -> tuple[int, ...]:
    """The shape both arms' fields broadcast to (at least 1-D), or a ValueError."""
    try:
        shape = np.broadcast_shapes(*_shapes(control), *_shapes(treatment))
    except ValueError:
        raise ValueError(
            "control and treatment must have the same number of entries (or one of them "
            f"scalar fields), got shapes {sorted(_shapes(control) | _shapes(treatment))}"
        ) from None
    return shape or (1,)


def as_floats(statistics: Any, *names: str) -> list[np.ndarray]:
    """The named fields of ``statistics`` as float arrays."""
    return [np.asarray(getattr(statistics, name), dtype=float) for name in names]


def estimates_table(
    method: str,
    alpha: float,
    shape: tuple[int, ...],
    columns: dict[str, Any],
) -> Estimates:
    """One :class:`Estimates` row per entry: ``columns`` holds ``estimate, se, ci_low,
    ci_high, p_value`` and optionally ``df`` and extra columns (broadcast to ``shape``)."""
    frame = {name: np.broadcast_to(np.asarray(value), shape) for name, value in columns.items()}
    frame.setdefault("df", np.full(shape, np.nan))
    return Estimates(pd.DataFrame({"method": method, "alpha": float(alpha), **frame}))


def estimate_from_row(
    method: str, alpha: float, row: dict[str, float], details: dict[str, Any]
) -> Estimate:
    """One :class:`Estimate` from a table's single row (already scalars).

    Parameters
    ----------
    method : str
        The estimate's ``method``.
    alpha : float
        The (checked) ``alpha`` of the interval.
    row : dict
        Holds ``estimate, se, ci_low, ci_high, p_value`` (other keys are ignored).
    details : dict
        The estimate's ``details``.

    Returns
    -------
    Estimate
        With ``df=None``.
    """
    return Estimate(
        method=method,
        estimate=row["estimate"],
        se=row["se"],
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        alpha=alpha,
        p_value=row["p_value"],
        details=details,
    )
