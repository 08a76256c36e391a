"""Geo-lift design: choose treatment markets and a test length by simulated power.

A GeoLift-style workflow (Meta's GeoLift R package) on historical data only:
:func:`simulate_geo_lift_power` slides pseudo-test windows over the history, injects a
relative lift into the candidate markets and runs the synthetic-control placebo test;
:func:`choose_geo_lift_markets` ranks candidate sets of markets by their minimum
detectable lift.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.synth.panel import compute_outcome_matrix
from playbook_lib.synth.weights import SOLVERS, fit_simplex_weights
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_choice,
    check_flag,
    check_integer,
    check_probability,
    check_rng,
)

__all__ = ["GeoLiftPower", "GeoLiftRanking", "choose_geo_lift_markets", "simulate_geo_lift_power"]


@dataclass(frozen=True)
class GeoLiftPower:
    """The simulated power curve of one set of treatment markets.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per lift: ``lift``, ``power`` (share of windows where the test detects
        it), ``mean_estimate`` (mean estimated relative lift) and ``n_windows``.
    rmspe_pre : float
        Mean pre-period RMSPE of the treated average, relative to its mean level.
    min_p_value : float
        Smallest attainable p-value of the placebo test, ``1 / (S + 1)`` with ``S``
        placebo sets.
    """

    table: pd.DataFrame
    rmspe_pre: float
    min_p_value: float

    def min_detectable_lift(self, target_power: float = 0.8) -> float:
        """The smallest positive lift whose power reaches ``target_power`` (``inf`` if
        none does).

        Raises
        ------
        ValueError
            If ``target_power`` is not a probability.
        """
        target_power = check_probability(target_power, "target_power")
        table = self.table
        reached = table.loc[(table["power"] >= target_power) & (table["lift"] > 0), "lift"]
        return float(reached.min()) if len(reached) else math.inf


@dataclass(frozen=True)
class GeoLiftRanking:
    """Candidate sets of treatment markets, best first, with their power curves.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per candidate set: ``markets`` (tuple), ``min_detectable_lift``,
        ``false_positive_rate``, ``power_at_max_lift``, ``rmspe_pre`` (relative) and
        ``acceptable`` (false-positive rate within bounds), sorted best first.
    power_curves : Mapping
        Each set (the tuple of ``markets``) to its :class:`GeoLiftPower`.
    holdout_curves : Mapping or None
        With ``holdout_windows``: each set's power curve on the held-out windows.
    """

    table: pd.DataFrame
    power_curves: Mapping[tuple[Hashable, ...], GeoLiftPower]
    holdout_curves: Mapping[tuple[Hashable, ...], GeoLiftPower] | None = None


def _markets(values: Any, name: str, units: pd.Index) -> list[Hashable]:
    """Distinct units of the panel from a list (not a string)."""
    if isinstance(values, str | bytes) or not np.iterable(values):
        raise ValueError(f"{name} must be a list of units, got {values!r}")
    known = set(units.tolist())
    markets = list(values)
    missing = [u for u in markets if not isinstance(u, Hashable) or u not in known]
    if missing or not markets:
        raise ValueError(f"{name}: not found among the units of data: {missing}")
    return list(dict.fromkeys(markets))


def _gap(
    donors: np.ndarray, series: np.ndarray, start: int, *, intercept: bool, solver: str
) -> np.ndarray:
    """``series`` minus its synthetic control fitted on the ``start`` first periods."""
    fit = fit_simplex_weights(
        donors[:, :start].T, series[:start], intercept=intercept, solver=solver
    )
    return series - (fit.weights[None, :] @ donors + fit.intercept)[0]


def _window_statistics(
    y: np.ndarray,
    treated_rows: np.ndarray,
    start: int,
    length: int,
    *,
    intercept: bool,
    solver: str,
    rng: np.random.Generator,
    pre_length: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For one pseudo-test window: the treated average's gaps and the placebo gaps.

    The ``k`` treated markets are averaged into one series and fitted on the donors. Each
    placebo is the average of ``k`` donor markets, fitted on the remaining donors, so
    that it has the same noise-to-signal ratio as the treated average (with ``k = 1``,
    every donor once; otherwise ``J`` random sets, or all sets if there are fewer).
    Averaging rather than summing matters: a sum of ``k`` markets carries ``k`` times
    the common time effect, which no convex combination (weights summing to one) can
    reproduce; and single-market placebos are noisier than an average, which biases the
    placebo distribution of the RMSPE ratio.

    Returns the treated average's pre- and post-window gaps, its post-window level, the
    placebos' pre-period RMSPE ``(S,)`` and their post-window gaps ``(S, length)``.
    """
    first = 0 if pre_length is None else max(0, start - pre_length)
    window = y[:, first : start + length]
    start = start - first
    k = int(treated_rows.sum())
    treated_series = window[treated_rows].mean(axis=0)
    donors = window[~treated_rows]
    n_donors = donors.shape[0]
    treated_gap = _gap(donors, treated_series, start, intercept=intercept, solver=solver)
    if math.comb(n_donors, k) <= n_donors:
        sets = [np.array(c) for c in itertools.combinations(range(n_donors), k)]
    else:
        sets = [rng.choice(n_donors, size=k, replace=False) for _ in range(n_donors)]
    placebo = np.empty((len(sets), window.shape[1]))
    for s, members in enumerate(sets):
        in_set = np.zeros(n_donors, dtype=bool)
        in_set[members] = True
        placebo[s] = _gap(
            donors[~in_set], donors[in_set].mean(axis=0), start, intercept=intercept, solver=solver
        )
    return (
        treated_gap[:start],
        treated_gap[start:],
        treated_series[start:],
        np.sqrt((placebo[:, :start] ** 2).mean(axis=1)),
        placebo[:, start:],
    )


def simulate_geo_lift_power(
    data: pd.DataFrame,
    treated_units: Sequence[Hashable],
    *,
    test_length: int,
    lifts: Sequence[float],
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    n_windows: int = 10,
    min_pre: int | None = None,
    pre_length: int | None = None,
    alpha: float = 0.1,
    intercept: bool = True,
    solver: str = "active-set",
    rng: np.random.Generator | int | None = None,
) -> GeoLiftPower:
    """Power of a synthetic-control geo-lift test, simulated on historical data.

    A GeoLift-style design simulation (Meta's GeoLift R package): for each of
    ``n_windows`` historical pseudo-test windows (the last ``test_length`` periods
    ending at the end of history, then shifted back one period at a time), the candidate
    markets are averaged into one treated series, a synthetic control (with intercept
    by default) is fitted on the periods before the window, and a relative lift ``delta``
    is injected into the treated series during the window. Because the weights depend
    only on the pre-period, the treated gap with lift ``delta`` is
    ``gap_0 + delta * Y_treated`` exactly, so the whole grid of lifts is evaluated at
    once (vectorised). The test is the placebo-in-space RMSPE-ratio test at level
    ``alpha``, whose placebos are averages of as many donor markets as there are
    treated markets (see below); power is the share of windows where it
    rejects.

    Parameters
    ----------
    data : pandas.DataFrame
        Historical (pre-test) tidy panel.
    treated_units : sequence
        Candidate treatment markets.
    test_length : int
        Number of periods of the planned test.
    lifts : sequence of float
        Relative lifts to evaluate (e.g. ``[0, 0.01, ..., 0.1]``).
    unit, time, outcome : str
        Column names.
    n_windows : int
        Number of historical windows.
    min_pre : int, optional
        Minimum number of pre-periods before the earliest window (default
        ``2 * test_length``).
    pre_length : int, optional
        Fit each window's weights on at most the last ``pre_length`` periods before it
        (default: all history). A shorter fitting period limits the drift between the
        treated markets and their synthetic control when the markets' trends differ.
    alpha : float
        Level of the placebo test (GeoLift's default is 0.1).
    intercept, solver
        Weight-fitting options, see
        :func:`~playbook_lib.synth.fit_simplex_weights`.
    rng : numpy.random.Generator, int or None
        Draws the placebo sets when several markets are treated: ``J`` random sets of
        as many donors (``J`` the number of donors), each averaged and fitted on the
        remaining donors; with one treated market, every donor is a placebo once.

    Returns
    -------
    GeoLiftPower
        The power table (one row per lift: ``lift``, ``power``, ``mean_estimate``, the
        mean estimated relative lift, and ``n_windows``), ``rmspe_pre`` (mean pre-period
        RMSPE of the treated average, relative to its mean level) and ``min_p_value``
        (``1 / (S + 1)`` with ``S`` placebos, at most ``J``).

    Raises
    ------
    ValueError
        If there is not enough history, the panel is bad (see
        :func:`~playbook_lib.synth.compute_outcome_matrix`: missing, non-finite or
        non-numeric outcomes, repeated or missing unit-time rows),
        ``treated_units`` are not units of the panel or leave too few donors,
        ``lifts`` is not a non-empty list of finite numbers, or another argument is
        invalid (the message names it).
    """
    test_length = check_integer(test_length, "test_length", minimum=1)
    n_windows = check_integer(n_windows, "n_windows", minimum=1)
    alpha = check_alpha(alpha)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    lift_grid = as_float_array(lifts, "lifts")
    wide = compute_outcome_matrix(data, unit=unit, time=time, outcome=outcome)
    treated_list = _markets(treated_units, "treated_units", wide.index)
    treated_rows = wide.index.isin(treated_list)
    if (~treated_rows).sum() < max(2, len(treated_list) + 1):
        raise ValueError(
            "treated_units: need more donor markets than treated markets (and at least two)"
        )
    rng = check_rng(rng)
    y = wide.to_numpy(dtype=float)
    n_times = y.shape[1]
    min_pre = 2 * test_length if min_pre is None else check_integer(min_pre, "min_pre", minimum=2)
    if pre_length is not None:
        pre_length = check_integer(pre_length, "pre_length", minimum=2)
    starts = n_times - test_length - np.arange(n_windows)
    if starts.min() < min_pre:
        raise ValueError(
            f"n_windows: {n_windows} windows of {test_length} periods need at least "
            f"{min_pre + test_length + n_windows - 1} periods of history, got {n_times}"
        )
    rejections = np.zeros((n_windows, lift_grid.size), dtype=bool)
    estimates = np.zeros((n_windows, lift_grid.size))
    rmspe_rel = np.zeros(n_windows)
    for w, start in enumerate(starts):
        pre_gap, post_gap, post_level, placebo_pre, placebo_post = _window_statistics(
            y,
            treated_rows,
            int(start),
            test_length,
            intercept=intercept,
            solver=solver,
            rng=rng,
            pre_length=pre_length,
        )
        gaps = post_gap[None, :] + lift_grid[:, None] * post_level[None, :]  # (L, len)
        rmspe_pre = np.sqrt(np.mean(pre_gap**2))
        ratio = np.sqrt(np.mean(gaps**2, axis=1)) / rmspe_pre
        placebo_ratio = np.sqrt(np.mean(placebo_post**2, axis=1)) / placebo_pre
        n_placebos = placebo_ratio.size
        p_values = (1 + (placebo_ratio[None, :] >= ratio[:, None]).sum(axis=1)) / (n_placebos + 1)
        # a detection must have the sign of the injected lift; at zero lift any
        # rejection is a false positive
        same_sign = (np.sign(gaps.mean(axis=1)) == np.sign(lift_grid)) | (lift_grid == 0)
        rejections[w] = (p_values <= alpha) & same_sign
        # relative lift: gap over the synthetic (counterfactual) level
        estimates[w] = gaps.mean(axis=1) / (post_level - post_gap).mean()
        rmspe_rel[w] = rmspe_pre / y[treated_rows, start - pre_gap.size : start].mean()
    table = pd.DataFrame(
        {
            "lift": lift_grid,
            "power": rejections.mean(axis=0),
            "mean_estimate": estimates.mean(axis=0),
            "n_windows": n_windows,
        }
    )
    # the same number S of placebos in every window
    return GeoLiftPower(table, float(rmspe_rel.mean()), 1.0 / (n_placebos + 1))


def _curve_summary(power: GeoLiftPower, target_power: float) -> dict[str, float]:
    """A power curve's minimum detectable lift, power at zero lift (its false-positive
    rate; NaN when zero is not among the lifts) and power at the largest lift."""
    table = power.table
    at_zero = table.loc[table["lift"] == 0, "power"]
    return {
        "min_detectable_lift": power.min_detectable_lift(target_power),
        "false_positive_rate": float(at_zero.iloc[0]) if len(at_zero) else np.nan,
        "power_at_max_lift": float(table["power"].iloc[-1]),
    }


def choose_geo_lift_markets(
    data: pd.DataFrame,
    *,
    n_treated: int,
    test_length: int,
    lifts: Sequence[float],
    candidate_sets: Sequence[Sequence[Hashable]] | None = None,
    n_candidates: int = 20,
    target_power: float = 0.8,
    max_false_positive: float | None = None,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    n_windows: int = 10,
    pre_length: int | None = None,
    alpha: float = 0.1,
    intercept: bool = True,
    rng: np.random.Generator | int | None = None,
    holdout_windows: int = 0,
) -> GeoLiftRanking:
    """Rank candidate sets of treatment markets by their minimum detectable lift.

    For each candidate set (given, or ``n_candidates`` random sets of ``n_treated``
    markets), :func:`simulate_geo_lift_power` computes the power curve over ``lifts``;
    the minimum detectable lift (MDL) is the smallest lift whose power reaches
    ``target_power`` (``inf`` if none). The rejection rate at zero lift is the design's
    false-positive rate over the historical windows; sets whose rate exceeds
    ``max_false_positive`` (default ``2 * alpha``) are ranked last, because their low
    MDL reflects a drift of the treated markets, not power. The rest are ranked by MDL,
    then by the pre-period fit.

    Picking the best of many noisy power estimates flatters the winner (the winner's
    curse). With ``holdout_windows > 0`` the ranking uses only the history before the
    last ``holdout_windows + test_length - 1`` periods, and every candidate's power is
    simulated again on the ``holdout_windows`` final windows, whose test periods the
    selection never saw: the ``holdout_*`` columns are an honest estimate of the chosen
    design's power.

    Parameters
    ----------
    data : pandas.DataFrame
        Historical (pre-test) tidy panel.
    n_treated : int
        Number of treatment markets per random candidate set.
    test_length, lifts, unit, time, outcome, n_windows, pre_length, alpha, intercept
        See :func:`simulate_geo_lift_power`.
    candidate_sets : sequence of sequences, optional
        Candidate sets to compare; default ``n_candidates`` random sets.
    n_candidates : int
        Number of random candidate sets.
    target_power : float
        Power that defines the minimum detectable lift.
    max_false_positive : float, optional
        Largest acceptable rejection rate at zero lift (default ``2 * alpha``).
    rng : numpy.random.Generator, int or None
        Draws the candidate sets and the placebo sets.
    holdout_windows : int
        Number of final windows held out of the selection (0: none).

    Returns
    -------
    GeoLiftRanking
        The ranking table (one row per candidate set: ``markets`` (tuple),
        ``min_detectable_lift``, ``false_positive_rate``, ``power_at_max_lift``,
        ``rmspe_pre`` (relative), ``acceptable`` (false-positive rate within bounds),
        sorted best first; with ``holdout_windows`` also ``holdout_min_detectable_lift``,
        ``holdout_false_positive_rate`` and ``holdout_power_at_max_lift``) and each
        set's :class:`GeoLiftPower` (and held-out one).

    Raises
    ------
    ValueError
        On invalid arguments (the message names the argument), or a bad panel (see
        :func:`simulate_geo_lift_power`).
    """
    n_treated = check_integer(n_treated, "n_treated", minimum=1)
    n_candidates = check_integer(n_candidates, "n_candidates", minimum=1)
    alpha = check_alpha(alpha)
    target_power = check_probability(target_power, "target_power")
    max_false_positive = (
        2 * alpha
        if max_false_positive is None
        else check_probability(max_false_positive, "max_false_positive")
    )
    rng = check_rng(rng)
    holdout_windows = check_integer(holdout_windows, "holdout_windows", minimum=0)
    wide = compute_outcome_matrix(data, unit=unit, time=time, outcome=outcome)
    full_data = data
    if holdout_windows:
        test_length = check_integer(test_length, "test_length", minimum=1)
        held = holdout_windows + test_length - 1
        if held >= wide.shape[1]:
            raise ValueError(
                f"holdout_windows: {holdout_windows} windows of {test_length} periods leave "
                f"no history of the {wide.shape[1]} periods for the selection"
            )
        cutoff = wide.columns[-held]
        data = data[data[time] < cutoff]
    if candidate_sets is not None:
        if (
            isinstance(candidate_sets, str | bytes)
            or not isinstance(candidate_sets, Sequence)
            or not len(candidate_sets)
        ):
            raise ValueError(
                f"candidate_sets must be a non-empty list of lists of units, got {candidate_sets!r}"
            )
        candidate_sets = [
            _markets(markets, "candidate_sets", wide.index) for markets in candidate_sets
        ]
    if candidate_sets is None:
        units = np.array(list(wide.index))
        if n_treated > len(units) - 2:
            raise ValueError(f"n_treated must leave two donors, got {n_treated}")
        draws = [
            tuple(
                str(u) if isinstance(u, str) else u
                for u in sorted(units[rng.choice(len(units), n_treated, replace=False)])
            )
            for _ in range(4 * n_candidates)
        ]
        candidate_sets = list(dict.fromkeys(draws))[:n_candidates]
    options = dict(
        test_length=test_length,
        lifts=lifts,
        unit=unit,
        time=time,
        outcome=outcome,
        pre_length=pre_length,
        alpha=alpha,
        intercept=intercept,
        rng=rng,
    )
    rows, curves, holdout_curves = [], {}, {}
    for markets in candidate_sets:
        key = tuple(markets)
        power = simulate_geo_lift_power(data, key, n_windows=n_windows, **options)
        rows.append(
            {"markets": key, **_curve_summary(power, target_power), "rmspe_pre": power.rmspe_pre}
        )
        curves[key] = power
        if holdout_windows:
            held_out = simulate_geo_lift_power(
                full_data, key, n_windows=holdout_windows, min_pre=2, **options
            )
            summary = _curve_summary(held_out, target_power)
            rows[-1].update({f"holdout_{name}": value for name, value in summary.items()})
            holdout_curves[key] = held_out
    ranking = pd.DataFrame(rows)
    # a design that "detects" zero lift too often is biased, not powerful: rank it last
    ranking["acceptable"] = ~(ranking["false_positive_rate"] > max_false_positive)
    ranking = ranking.sort_values(
        ["acceptable", "min_detectable_lift", "rmspe_pre"], ascending=[False, True, True]
    ).reset_index(drop=True)
    return GeoLiftRanking(ranking, curves, holdout_curves if holdout_windows else None)
