"""Accruing experiment data and z-statistic paths, for the sequential-testing chapter.

Under the canonical joint distribution of group-sequential theory
(:cite:`jennison2000group`, ch. 3), the score statistic ``S(t)`` at information fraction
``t`` is a Brownian motion with drift: ``S(t) ~ N(drift * t, t)`` with independent
increments, and the z-statistic at a look is ``Z(t) = S(t) / sqrt(t)``. Two looks are then
correlated with ``corr(Z(t_i), Z(t_j)) = sqrt(t_i / t_j)`` for ``t_i <= t_j``. ``drift``
is the expected z-statistic at full information (``t = 1``): ``delta * sqrt(I_max)``.

Every generator takes ``rng: numpy.random.Generator | int | None``, checks it with
:func:`playbook_lib.validation.check_rng` and draws from it only.
"""

from __future__ import annotations

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

__all__ = [
    "simulate_accruing_differences",
    "simulate_ab_stream",
    "simulate_binary_streams",
    "simulate_z_paths",
]


def _check_fractions(information_fractions: object) -> np.ndarray:
    fractions = as_float_array(information_fractions, "information_fractions")
    if np.any(fractions <= 0) or np.any(fractions > 1):
        raise ValueError(f"information_fractions must lie in (0, 1], got {fractions.tolist()}")
    if np.any(np.diff(fractions) <= 0):
        raise ValueError(
            f"information_fractions must be strictly increasing, got {fractions.tolist()}"
        )
    return fractions


def simulate_z_paths(
    information_fractions: object,
    n_paths: int,
    drift: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Simulate z-statistics at the looks of a group-sequential experiment.

    Parameters
    ----------
    information_fractions : array-like of float
        Strictly increasing information fractions ``t_1 < ... < t_K`` in (0, 1].
    n_paths : int
        Number of simulated experiments (rows).
    drift : float
        Expected z-statistic at full information, ``E[Z(1)]`` (0 under the null).
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_paths, K)``: ``Z(t_k) = S(t_k) / sqrt(t_k)`` with ``S`` a Brownian motion
        with drift, so ``corr(Z_i, Z_j) = sqrt(t_i / t_j)`` and ``E[Z_k] = drift sqrt(t_k)``.

    Raises
    ------
    ValueError
        If the fractions are not strictly increasing in (0, 1], ``n_paths < 1``,
        ``drift`` is not finite, or ``rng`` is not a generator or seed.
    """
    fractions = _check_fractions(information_fractions)
    n_paths = check_integer(n_paths, "n_paths", minimum=1)
    drift = check_finite_number(drift, "drift")
    rng = check_rng(rng)
    increments = np.diff(fractions, prepend=0.0)
    steps = rng.standard_normal((n_paths, fractions.size)) * np.sqrt(increments)
    steps += drift * increments
    return np.cumsum(steps, axis=1) / np.sqrt(fractions)


def simulate_accruing_differences(
    n_paths: int,
    n_steps: int,
    effect: float = 0.0,
    sd: float = 1.0,
    users_per_step: int = 100,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate running difference-in-means estimates of an experiment monitored continuously.

    At each step ``users_per_step`` new users join each arm; the outcome is normal with
    standard deviation ``sd`` and the treatment shifts its mean by ``effect``. The running
    estimate after step ``j`` is the difference of the two arms' cumulative means.

    Parameters
    ----------
    n_paths : int
        Number of simulated experiments.
    n_steps : int
        Number of looks per experiment (one after every step).
    effect : float
        True difference in means (treatment minus control).
    sd : float
        Outcome standard deviation in each arm (known, non-negative; 0 gives estimates equal
        to ``effect`` and zero variances).
    users_per_step : int
        New users per arm between consecutive looks.
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    n_per_arm : numpy.ndarray
        Shape ``(n_steps,)``, users per arm at each look.
    estimates : numpy.ndarray
        Shape ``(n_paths, n_steps)``, the running difference in means.
    variances : numpy.ndarray
        Shape ``(n_steps,)``, the exact variance ``2 sd^2 / n_per_arm`` of each estimate.

    Raises
    ------
    ValueError
        If a count is not an integer of at least 1, ``sd`` is negative or not finite,
        ``effect`` is not finite, or ``rng`` is not a generator or seed.

    Notes
    -----
    Memory is ``8 * n_paths * n_steps`` bytes; call it in chunks for very long paths.
    """
    n_paths = check_integer(n_paths, "n_paths", minimum=1)
    n_steps = check_integer(n_steps, "n_steps", minimum=1)
    users_per_step = check_integer(users_per_step, "users_per_step", minimum=1)
    effect = check_finite_number(effect, "effect")
    sd = check_positive(sd, "sd", strict=False)
    rng = check_rng(rng)
    n_per_arm = users_per_step * np.arange(1, n_steps + 1)
    # Each step's batch difference in means is N(effect, 2 sd^2 / users_per_step).
    batch_sd = sd * np.sqrt(2.0 / users_per_step)
    batches = rng.standard_normal((n_paths, n_steps)) * batch_sd + effect
    estimates = np.cumsum(batches, axis=1) / np.arange(1, n_steps + 1)
    variances = 2.0 * sd**2 / n_per_arm
    return n_per_arm, estimates, variances


def simulate_ab_stream(
    n_users: int,
    baseline_rate: float = 0.1,
    lift: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Simulate users arriving one by one into a 50/50 conversion-rate A/B test.

    Parameters
    ----------
    n_users : int
        Number of users, in arrival order.
    baseline_rate : float
        Control conversion probability, in [0, 1].
    lift : float
        Absolute lift of the treatment's conversion probability; ``baseline_rate + lift``
        must lie in [0, 1].
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``arrival`` (0, 1, ...), ``treatment`` (0/1, fair coin) and ``converted``
        (0/1). The true effect is ``lift``.

    Raises
    ------
    ValueError
        If ``n_users`` is not an integer of at least 2, a rate falls outside [0, 1], or
        ``rng`` is not a generator or seed.
    """
    n_users = check_integer(n_users, "n_users", minimum=2)
    baseline_rate = check_probability(baseline_rate, "baseline_rate")
    lift = check_finite_number(lift, "lift")
    if not 0 <= baseline_rate + lift <= 1:
        raise ValueError(f"lift must keep baseline_rate + lift in [0, 1], got {lift}")
    rng = check_rng(rng)
    treatment = rng.integers(0, 2, size=n_users)
    probability = baseline_rate + lift * treatment
    converted = (rng.random(n_users) < probability).astype(int)
    return pd.DataFrame(
        {"arrival": np.arange(n_users), "treatment": treatment, "converted": converted}
    )


def simulate_binary_streams(
    n_paths: int,
    n_users: int,
    control_rate: float,
    treatment_rate: float,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate many 50/50 experiments with a binary outcome, users in arrival order.

    Parameters
    ----------
    n_paths : int
        Number of simulated experiments (rows).
    n_users : int
        Users per experiment.
    control_rate, treatment_rate : float
        Success probabilities in [0, 1]; the true effect is their difference.
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    treatment, outcome : numpy.ndarray
        Shape ``(n_paths, n_users)``: the arm (fair coin, 0/1) and the 0/1 outcome of each
        user.

    Raises
    ------
    ValueError
        If a count is not an integer of at least 1, a rate falls outside [0, 1], or
        ``rng`` is not a generator or seed.
    """
    n_paths = check_integer(n_paths, "n_paths", minimum=1)
    n_users = check_integer(n_users, "n_users", minimum=1)
    control_rate = check_probability(control_rate, "control_rate")
    treatment_rate = check_probability(treatment_rate, "treatment_rate")
    rng = check_rng(rng)
    treatment = rng.integers(0, 2, size=(n_paths, n_users))
    probability = np.where(treatment == 1, treatment_rate, control_rate)
    outcome = (rng.random((n_paths, n_users)) < probability).astype(float)
    return treatment, outcome
