"""Post-launch metric streams with a known shift, for the EWMA and sample-ratio monitors.

Used by the decisions chapter (:mod:`playbook_lib.decisions`): a daily guardrail metric
that drifts by a known amount at a known day, and daily assignment counts whose ratio
breaks at a known day (e.g. a logging bug that drops some treated users).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.validation import (
    as_float_array,
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = ["simulate_assignment_counts", "simulate_metric_stream"]


def simulate_metric_stream(
    n_steps: int,
    *,
    mean: float,
    sd: float,
    shift: float = 0.0,
    shift_step: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """A metric stream (one value per period) whose mean shifts by ``shift`` at ``shift_step``.

    Parameters
    ----------
    n_steps : int
        Number of periods.
    mean, sd : float
        In-control mean and standard deviation of one period's value.
    shift : float
        Change of the mean (metric units) from ``shift_step`` on.
    shift_step : int, optional
        First shifted period (1-based); ``None`` means no shift.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    pandas.DataFrame
        ``step`` (1-based), ``value``, ``true_mean``, ``shifted`` (bool).

    Raises
    ------
    ValueError
        If ``n_steps`` is not an integer >= 1, ``mean`` or ``shift`` is not a finite
        number, ``sd`` is not a positive finite number, ``shift_step`` is not an integer in
        ``1..n_steps``, or ``rng`` is not a Generator, a seed or None.
    """
    rng = check_rng(rng)
    n_steps = check_integer(n_steps, "n_steps", minimum=1)
    mean = check_finite_number(mean, "mean")
    sd = check_positive(sd, "sd")
    shift = check_finite_number(shift, "shift")
    steps = np.arange(1, n_steps + 1)
    if shift_step is None:
        shifted = np.zeros(n_steps, dtype=bool)
    else:
        shift_step = check_integer(shift_step, "shift_step", minimum=1)
        if shift_step > n_steps:
            raise ValueError(f"shift_step must be at most n_steps ({n_steps}), got {shift_step}")
        shifted = steps >= shift_step
    true_mean = mean + shift * shifted
    value = true_mean + sd * rng.standard_normal(n_steps)
    return pd.DataFrame({"step": steps, "value": value, "true_mean": true_mean, "shifted": shifted})


def simulate_assignment_counts(
    n_days: int,
    *,
    daily_units: int,
    expected_shares: Any = (0.5, 0.5),
    lost_share: float = 0.0,
    lost_arm: int = 1,
    start_day: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Daily assignment counts per arm, with an optional sample-ratio mismatch from a day on.

    Each day ``daily_units`` units are split multinomially by ``expected_shares``; from
    ``start_day`` on, a share ``lost_share`` of arm ``lost_arm``'s units is lost (a logging
    or redirect bug), which is the kind of mismatch an SRM monitor should catch.

    Parameters
    ----------
    n_days : int
        Number of days (>= 1).
    daily_units : int
        Units assigned per day (>= 1).
    expected_shares : array-like
        Planned share of each arm (at least two), each in (0, 1), summing to 1.
    lost_share : float
        Share of ``lost_arm``'s units lost from ``start_day`` on, in [0, 1).
    lost_arm : int
        0-based index of the arm that loses units.
    start_day : int, optional
        First broken day, in ``1..n_days``; ``None`` means no mismatch (then
        ``lost_share`` must be 0).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    pandas.DataFrame
        ``day`` and one ``count_<arm>`` column per arm, plus ``broken`` (bool).

    Raises
    ------
    ValueError
        If an argument is outside the range above, ``lost_share > 0`` without a
        ``start_day``, or ``rng`` is not a Generator, a seed or None.
    """
    rng = check_rng(rng)
    n_days = check_integer(n_days, "n_days", minimum=1)
    daily_units = check_integer(daily_units, "daily_units", minimum=1)
    shares = as_float_array(expected_shares, "expected_shares", min_size=2)
    if np.any(shares <= 0) or np.any(shares >= 1) or not np.isclose(shares.sum(), 1.0):
        raise ValueError(
            f"expected_shares must be shares in (0, 1) summing to 1, got {shares.tolist()}"
        )
    shares = shares / shares.sum()
    lost_share = check_probability(lost_share, "lost_share", allow_one=False)
    lost_arm = check_integer(lost_arm, "lost_arm", minimum=0)
    if lost_arm >= shares.size:
        raise ValueError(
            f"lost_arm must be an arm index below the number of arms "
            f"({shares.size}), got {lost_arm}"
        )
    if start_day is not None:
        start_day = check_integer(start_day, "start_day", minimum=1)
        if start_day > n_days:
            raise ValueError(f"start_day must be at most n_days ({n_days}), got {start_day}")
    elif lost_share > 0:
        raise ValueError(
            f"start_day is needed for lost_share={lost_share:g}: without it no unit is lost"
        )
    counts = rng.multinomial(daily_units, shares, size=n_days)
    days = np.arange(1, n_days + 1)
    broken = np.zeros(n_days, dtype=bool)
    if start_day is not None:
        broken = days >= start_day
        kept = rng.binomial(counts[:, lost_arm], 1 - lost_share)
        counts[:, lost_arm] = np.where(broken, kept, counts[:, lost_arm])
    table = pd.DataFrame(counts, columns=[f"count_{i}" for i in range(shares.size)])
    table.insert(0, "day", days)
    table["broken"] = broken
    return table
