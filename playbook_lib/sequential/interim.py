"""Running-test statistics: the difference in means and its z at each look.

From rows in arrival order (:func:`compute_interim_statistics`), from cumulative per-arm
aggregates such as a warehouse query returns (:func:`compute_interim_statistics_from_stats`),
for many simulated experiments at once (:func:`compute_interim_paths`), and for one finished
experiment replayed in random arrival orders (:func:`simulate_interim_paths`). Every
version computes the unpooled (Welch) standard error from per-arm counts, sums and sums of
squares with the kernels of :mod:`playbook_lib._kernels`; arms are always (control,
treatment), and estimates are treatment minus control.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import moments_from_sums, welch
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.sequential._checks import _check_looks
from playbook_lib.validation import (
    PlaybookWarning,
    as_float_array,
    check_binary,
    check_integer,
    check_rng,
    check_same_length,
)

__all__ = [
    "compute_interim_paths",
    "compute_interim_statistics",
    "compute_interim_statistics_from_stats",
    "simulate_interim_paths",
]

# One arm's (n, sum, sum_squares) at each look.
_Sums = tuple[np.ndarray, np.ndarray, np.ndarray]


def _scale_rows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Center and scale ``y`` along its last axis: ``(y - center) / scale`` and ``scale``.

    Differences in means and their standard errors are shift invariant and scale with
    ``scale``, so cumulating the standardised values avoids the cancellation of
    ``sum_squares - n mean^2`` for outcomes far from zero (and overflow of ``y^2``).
    """
    center = np.median(y, axis=-1, keepdims=True)
    deviations = y - center
    scale = np.max(np.abs(deviations), axis=-1, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    return deviations / scale, scale


def _cumulative_sums(y: np.ndarray, arm: np.ndarray, index: np.ndarray) -> tuple[_Sums, _Sums]:
    """``(control, treatment)`` cumulative counts, sums and sums of squares at the looks
    (along the last axis)."""
    sums = []
    for mask in (arm == 0.0, arm == 1.0):
        y_arm = np.where(mask, y, 0.0)
        sums.append(
            (
                np.cumsum(mask, axis=-1)[..., index].astype(float),
                np.cumsum(y_arm, axis=-1)[..., index],
                np.cumsum(y_arm * y_arm, axis=-1)[..., index],
            )
        )
    return sums[0], sums[1]


def _difference_in_means(control: _Sums, treatment: _Sums) -> tuple[np.ndarray, np.ndarray]:
    """Difference in means (treatment minus control) and its unpooled standard error from
    per-arm sums (any shape; counts at least 2, sums already checked)."""
    mean_control, variance_control = moments_from_sums(*control)
    mean_treatment, variance_treatment = moments_from_sums(*treatment)
    estimate, se, _ = welch(
        control[0], mean_control, variance_control, treatment[0], mean_treatment, variance_treatment
    )
    return estimate, se


def _interim_frame(control: _Sums, treatment: _Sums, scale: float = 1.0) -> pd.DataFrame:
    """The per-look table of :func:`compute_interim_statistics` (sums divided by
    ``scale``, sums of squares by ``scale**2``)."""
    estimate, se = _difference_in_means(control, treatment)
    estimate, se = estimate * scale, se * scale
    degenerate = se <= 0
    if degenerate.any():
        looks = (np.flatnonzero(degenerate) + 1).tolist()
        warnings.warn(
            f"the outcome is constant in both arms at look(s) {looks[:10]}: the standard "
            "error is 0 and z is undefined (NaN) there",
            PlaybookWarning,
            stacklevel=3,
        )
    z = np.where(degenerate, np.nan, estimate / np.where(degenerate, 1.0, se))
    n_control = control[0].astype(int)
    n_treatment = treatment[0].astype(int)
    return pd.DataFrame(
        {
            "look": np.arange(1, estimate.size + 1),
            "n": n_control + n_treatment,
            "n_control": n_control,
            "n_treatment": n_treatment,
            "estimate": estimate,
            "se": se,
            "z": z,
        }
    ).set_index("look")


def compute_interim_statistics(outcome: Any, treatment: Any, look_sizes: Any) -> pd.DataFrame:
    """Difference in means and its z-statistic after the first ``n`` units of each look.

    Parameters
    ----------
    outcome : array-like of float
        Outcomes in arrival order.
    treatment : array-like of {0, 1}
        Arm of each unit (0 control, 1 treatment), in the same order.
    look_sizes : array-like of int
        Strictly increasing numbers of units analysed at each look (``<= len(outcome)``).

    Returns
    -------
    pandas.DataFrame
        One row per look: ``n``, ``n_control``, ``n_treatment``, ``estimate`` (treatment
        minus control), ``se`` (unpooled, ``sqrt(s0^2/n0 + s1^2/n1)``) and ``z``. A look
        at which the outcome is constant in both arms so far has ``se = 0`` and an
        undefined z-statistic: ``z`` is NaN there, with a :class:`~playbook_lib.PlaybookWarning`.

    Raises
    ------
    ValueError
        If lengths differ, ``outcome`` is not finite, ``treatment`` is not 0/1 or lacks an
        arm, looks are not increasing integers in [1, n], or an arm has fewer than 2 units
        at a look.
    """
    y = as_float_array(outcome, "outcome")
    arm = check_binary(treatment, "treatment")
    check_same_length(outcome=y, treatment=arm)
    index = _check_looks(look_sizes, y.size)
    scaled, scale = _scale_rows(y)
    control, treated_sums = _cumulative_sums(scaled, arm, index)
    for label, counts in (("control", control[0]), ("treatment", treated_sums[0])):
        if counts.min() < 2:
            look = int(np.argmax(counts < 2)) + 1
            raise ValueError(
                f"look_sizes: every look needs at least 2 units per arm; look {look} "
                f"({int(index[look - 1]) + 1} units) has {int(counts[look - 1])} in {label}"
            )
    return _interim_frame(control, treated_sums, float(scale[0]))


def _check_arms(values: Any, name: str, ndim: int) -> np.ndarray:
    """A float array of 0 (control) and 1 (treatment) with ``ndim`` dimensions."""
    arm = as_float_array(values, name, ndim=ndim)
    if not np.isin(arm, (0.0, 1.0)).all():
        others = np.unique(arm[~np.isin(arm, (0.0, 1.0))])[:5]
        raise ValueError(f"{name} must contain only 0 and 1, got {others.tolist()}")
    return arm


def compute_interim_paths(
    outcomes: Any, treatments: Any, look_sizes: Any
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`compute_interim_statistics` for many experiments at once, vectorised.

    Parameters
    ----------
    outcomes : array-like of float
        Shape ``(n_paths, n_units)``, outcomes in arrival order, one row per experiment.
    treatments : array-like of {0, 1}
        Same shape, the arm of each unit (0 control, 1 treatment).
    look_sizes : array-like of int
        Strictly increasing numbers of units analysed at each look (``<= n_units``).

    Returns
    -------
    estimates, standard_errors : numpy.ndarray
        Shape ``(n_paths, n_looks)``: difference in means (treatment minus control) and its
        unpooled standard error ``sqrt(s0^2/n0 + s1^2/n1)``. A look without a usable
        variance has an infinite standard error (no information): an arm with fewer than
        2 units, whose estimate is NaN too (the only NaN this function returns), or zero
        variance in both arms (the estimate is then finite). Such a look never crosses a
        boundary, its mSPRT ratio is 1 and its confidence-sequence interval is the whole
        line (:func:`compute_msprt_statistic`, :func:`compute_confidence_sequence`).

    Raises
    ------
    ValueError
        If the shapes differ, ``outcomes`` is not finite, ``treatments`` is not 0/1 or the
        looks are invalid.
    """
    y = as_float_array(outcomes, "outcomes", ndim=2)
    arm = _check_arms(treatments, "treatments", ndim=2)
    if arm.shape != y.shape:
        raise ValueError(f"treatments must have the shape of outcomes {y.shape}, got {arm.shape}")
    index = _check_looks(look_sizes, y.shape[1])
    scaled, scale = _scale_rows(y)
    control, treated_sums = _cumulative_sums(scaled, arm, index)
    too_small = (control[0] < 2) | (treated_sums[0] < 2)
    # Placeholder counts where an arm has fewer than 2 units; those looks become NaN.
    estimate, se = _difference_in_means(
        (np.maximum(control[0], 2.0), *control[1:]),
        (np.maximum(treated_sums[0], 2.0), *treated_sums[1:]),
    )
    estimate = np.where(too_small, np.nan, estimate * scale)
    se = np.where(too_small | (se <= 0), np.inf, se * scale)
    return estimate, se


def simulate_interim_paths(
    outcome: Any,
    treatment: Any,
    look_sizes: Any,
    n_orders: int,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interim estimates of a finished experiment replayed in many random arrival orders.

    A completed experiment has one final answer but, had its units arrived in another
    order, different interim looks. Replaying it in ``n_orders`` random permutations shows
    how much an interim decision depends on the (arbitrary) order, and what a design would
    have done on average.

    Parameters
    ----------
    outcome : array-like of float
        Outcomes of the units.
    treatment : array-like of {0, 1}
        Arm of each unit (0 control, 1 treatment; both must appear).
    look_sizes : array-like of int
        Strictly increasing numbers of units analysed at each look (``<= len(outcome)``).
    n_orders : int
        Number of random arrival orders.
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    estimates, standard_errors : numpy.ndarray
        Shape ``(n_orders, n_looks)``, as in :func:`compute_interim_paths` (an early look
        with fewer than 2 units in an arm in some order has a NaN estimate and an infinite
        standard error there).

    Raises
    ------
    ValueError
        If lengths differ, ``outcome`` is not finite, ``treatment`` is not 0/1 or lacks an
        arm, the looks are invalid, ``n_orders < 1`` or ``rng`` is not a generator or seed.
    """
    y = as_float_array(outcome, "outcome")
    arm = check_binary(treatment, "treatment").astype(float)
    check_same_length(outcome=y, treatment=arm)
    _check_looks(look_sizes, y.size)
    n_orders = check_integer(n_orders, "n_orders", minimum=1)
    rng = check_rng(rng)
    order = rng.permuted(np.broadcast_to(np.arange(y.size), (n_orders, y.size)), axis=1)
    return compute_interim_paths(y[order], arm[order], look_sizes)


def _arm_sums(statistics: Any, name: str) -> _Sums:
    """An arm's cumulative ``(n, sum, sum_squares)`` per look as float arrays."""
    if not isinstance(statistics, ArmStatistics):
        raise ValueError(
            f"{name} must be an ArmStatistics (cumulative statistics, one entry per look), "
            f"got {type(statistics).__name__}"
        )
    return tuple(  # type: ignore[return-value]
        np.atleast_1d(np.asarray(value, dtype=float))
        for value in (statistics.n, statistics.sum, statistics.sum_squares)
    )


def _check_accumulating(sums: _Sums, name: str) -> None:
    """Cumulative statistics of one arm must describe real, accumulating data: at least
    2 units at every look, counts that never decrease, and units added between looks with
    a non-negative variance."""
    n, total, squares = sums
    if np.any(n < 2):
        look = int(np.argmax(n < 2)) + 1
        raise ValueError(
            f"{name}.n must be at least 2 at every look; look {look} has {n[look - 1]:g}"
        )
    added = np.diff(n)
    if np.any(added < 0):
        look = int(np.argmax(added < 0)) + 2
        raise ValueError(
            f"{name}.n is cumulative and must not decrease: look {look} has {n[look - 1]:g} "
            f"after {n[look - 2]:g} (pass per-look increments through .cumulative() first)"
        )
    added_sum, added_squares = np.diff(total), np.diff(squares)
    tolerance = 1e-9 * np.maximum(squares[1:], 1e-300)
    sum_tolerance = 1e-9 * np.maximum(np.sqrt(n[1:] * squares[1:]), 1e-300)
    unchanged = added == 0
    moved = unchanged & ((np.abs(added_sum) > sum_tolerance) | (np.abs(added_squares) > tolerance))
    if moved.any():
        look = int(np.argmax(moved)) + 1
        raise ValueError(
            f"{name}.sum / {name}.sum_squares change between looks {look} and {look + 1} "
            f"although {name}.n does not"
        )
    implied = added_sum * added_sum / np.where(unchanged, 1.0, added)
    negative = ~unchanged & (added_squares - implied < -tolerance)
    if negative.any():
        look = int(np.argmax(negative)) + 1
        raise ValueError(
            f"{name}.sum_squares: the {added[look - 1]:g} units added between looks {look} "
            f"and {look + 1} imply a negative variance (a cumulative sum of squares that "
            "decreases or grows too little for the sums)"
        )


def compute_interim_statistics_from_stats(
    control: ArmStatistics, treatment: ArmStatistics
) -> pd.DataFrame:
    """:func:`compute_interim_statistics` from cumulative per-arm statistics at each look.

    Parameters
    ----------
    control, treatment : ArmStatistics
        *Cumulative* statistics of each arm, one entry per look: entry ``k`` covers every
        unit analysed up to look ``k`` (counts at least 2 and non-decreasing). That is
        what :meth:`ArmStatistics.cumulative
        <playbook_lib.aggregates.ArmStatistics.cumulative>` makes of per-period statistics
        (e.g. ``arm_statistics(data, "y", by="day")``) and what
        :func:`playbook_lib.warehouse.query_daily_looks` returns; per-look *increments*
        must go through ``.cumulative()`` first. A scalar ArmStatistics is one look.

    Returns
    -------
    pandas.DataFrame
        As :func:`compute_interim_statistics`: ``n``, ``n_control``, ``n_treatment``,
        ``estimate`` (treatment minus control), ``se`` (unpooled) and ``z`` per look
        (``z`` is NaN, with a :class:`~playbook_lib.PlaybookWarning`, at a look where both
        arms have zero variance).

    Raises
    ------
    ValueError
        If ``control`` or ``treatment`` is not an
        :class:`~playbook_lib.aggregates.ArmStatistics`, the arms have different numbers of
        looks, a count is below 2 or decreases, or the units added between two looks imply a
        negative variance (sums that change while the count does not, or a sum of squares
        that grows too little).
    """
    arms = {
        "control": _arm_sums(control, "control"),
        "treatment": _arm_sums(treatment, "treatment"),
    }
    if arms["control"][0].size != arms["treatment"][0].size:
        raise ValueError(
            f"control and treatment must have one entry per look each, got "
            f"{arms['control'][0].size} and {arms['treatment'][0].size} (length mismatch)"
        )
    # Work in units of a power of two near the outcome's root mean square (exact, and
    # squares of huge sums cannot overflow); estimates and standard errors scale back.
    mean_square = max(float(np.max(squares / n)) for n, _, squares in arms.values())
    scale = 1.0
    if 0 < mean_square < math.inf:
        scale = 2.0 ** round(math.log2(math.sqrt(mean_square)))
    arms = {
        name: (n, total / scale, squares / scale / scale)
        for name, (n, total, squares) in arms.items()
    }
    for name, sums in arms.items():
        _check_accumulating(sums, name)
    return _interim_frame(arms["control"], arms["treatment"], scale)
