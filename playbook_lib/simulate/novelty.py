"""An experiment whose effect changes with exposure: novelty and primacy (foundations).

:func:`simulate_novelty_experiment` draws one row per user and day: users arrive over the
first days of the test, and a treated user's effect on day ``d`` after their first exposure
is ``long_run_effect + novelty_effect * exp(-d / decay_days)``. A positive
``novelty_effect`` is a novelty effect (the change attracts attention that wears off), a
negative one a primacy effect (users need time to get used to the change). The truth
(:class:`NoveltyTruth`) holds the effect for every day since exposure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.validation import (
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = ["NoveltyTruth", "simulate_novelty_experiment"]


@dataclass(frozen=True)
class NoveltyTruth:
    """The effects behind a :func:`simulate_novelty_experiment` draw.

    Attributes
    ----------
    effect_by_exposure_day : numpy.ndarray
        The effect on a user's daily outcome ``d`` days after their first exposure, for
        ``d = 0, ..., n_days - 1``.
    long_run_effect : float
        The effect once the novelty (or primacy) has worn off.
    observed_average_effect : float
        The effect averaged over the user-days the test observes (what a whole-test
        difference in means estimates).
    """

    effect_by_exposure_day: np.ndarray
    long_run_effect: float
    observed_average_effect: float


def simulate_novelty_experiment(
    n_users: int = 4_000,
    n_days: int = 28,
    arrival_days: int = 14,
    long_run_effect: float = 0.2,
    novelty_effect: float = 0.6,
    decay_days: float = 4.0,
    baseline: float = 5.0,
    user_sd: float = 2.0,
    noise_sd: float = 2.0,
    treatment_share: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> tuple[pd.DataFrame, NoveltyTruth]:
    """One user-randomised test observed daily, with an effect that changes with exposure.

    User ``i`` is randomised once (treated with probability ``treatment_share``), first
    exposed on a day drawn uniformly from ``0, ..., arrival_days - 1`` and observed every
    day until the end of the test. Their outcome on calendar day ``t``, ``d = t - first``
    days after exposure, is

    ``baseline + u_i + w_t + T_i * (long_run_effect + novelty_effect * exp(-d / decay_days))
    + e_it``

    with a user effect ``u_i ~ N(0, user_sd^2)`` (so a user's days are correlated), a
    weekly pattern ``w_t`` shared by both arms and noise ``e_it ~ N(0, noise_sd^2)``.

    Parameters
    ----------
    n_users : int
        Users (at least 10).
    n_days : int
        Length of the test in days (at least 2).
    arrival_days : int
        Users arrive over the first ``arrival_days`` days (1 to ``n_days``).
    long_run_effect, novelty_effect : float
        The lasting effect and the extra effect at first exposure (negative: primacy).
    decay_days : float
        Time constant of the novelty's exponential decay, in days (positive).
    baseline, user_sd, noise_sd : float
        Mean outcome, and the standard deviations of the user effect and of the daily
        noise (non-negative; ``noise_sd`` positive).
    treatment_share : float
        Probability of treatment, in (0, 1).
    rng : numpy.random.Generator, int or None
        Seed or generator.

    Returns
    -------
    data : pandas.DataFrame
        One row per user and observed day: ``user_id``, ``treatment`` (0/1),
        ``first_day``, ``day`` (calendar day of the test), ``days_since_exposure``,
        ``outcome``.
    truth : NoveltyTruth
        The effect by days since exposure, the long-run effect and the average effect
        over the observed user-days.

    Raises
    ------
    ValueError
        Naming the argument, for out-of-range inputs.
    """
    n_users = check_integer(n_users, "n_users", minimum=10)
    n_days = check_integer(n_days, "n_days", minimum=2)
    arrival_days = check_integer(arrival_days, "arrival_days", minimum=1)
    if arrival_days > n_days:
        raise ValueError(f"arrival_days ({arrival_days}) must not exceed n_days ({n_days})")
    long_run_effect = check_finite_number(long_run_effect, "long_run_effect")
    novelty_effect = check_finite_number(novelty_effect, "novelty_effect")
    decay_days = check_positive(decay_days, "decay_days")
    baseline = check_finite_number(baseline, "baseline")
    user_sd = check_positive(user_sd, "user_sd", strict=False)
    noise_sd = check_positive(noise_sd, "noise_sd")
    treatment_share = check_probability(
        treatment_share, "treatment_share", allow_zero=False, allow_one=False
    )
    rng = check_rng(rng)

    effect_by_day = long_run_effect + novelty_effect * np.exp(-np.arange(n_days) / decay_days)
    treatment = (rng.random(n_users) < treatment_share).astype(int)
    first_day = rng.integers(0, arrival_days, n_users)
    user_effect = rng.normal(0.0, user_sd, n_users) if user_sd > 0 else np.zeros(n_users)
    weekly = 0.5 * np.sin(2 * np.pi * np.arange(n_days) / 7)
    days_observed = n_days - first_day
    user_index = np.repeat(np.arange(n_users), days_observed)
    # days since exposure: 0, 1, ... within each user's block of rows
    starts = np.cumsum(days_observed) - days_observed
    since = np.arange(user_index.size) - np.repeat(starts, days_observed)
    day = first_day[user_index] + since
    treated_rows = treatment[user_index]
    outcome = (
        baseline
        + user_effect[user_index]
        + weekly[day]
        + treated_rows * effect_by_day[since]
        + rng.normal(0.0, noise_sd, user_index.size)
    )
    data = pd.DataFrame(
        {
            "user_id": user_index,
            "treatment": treated_rows,
            "first_day": first_day[user_index],
            "day": day,
            "days_since_exposure": since,
            "outcome": outcome,
        }
    )
    # every user contributes days 0..n_days-first-1: the observed user-days' mix of d
    rows_per_d = np.bincount(since, minlength=n_days)
    truth = NoveltyTruth(
        effect_by_exposure_day=effect_by_day,
        long_run_effect=long_run_effect,
        observed_average_effect=float(rows_per_d @ effect_by_day / rows_per_d.sum()),
    )
    return data, truth
