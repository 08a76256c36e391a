"""An anytime-valid confidence sequence for two arms' difference, from logged propensities.

The intervals of :mod:`playbook_lib.bandits.estimators` rest on a central limit theorem,
which the allocation of a bandit without an exploration floor does not satisfy. The
confidence sequence here needs no limit theorem and no bound on the importance weights:
only rewards in [0, 1] and the logged probability of the arm played. It is the betting
construction of Waudby-Smith and Ramdas (2024), applied to inverse-propensity-weighted
rewards as in Waudby-Smith, Wu, Ramdas, Karampatziakis and Mineiro (2022):

For arm :math:`a` with mean reward :math:`\\mu_a`, the weighted rewards
:math:`\\phi_t = 1\\{A_t = a\\} Y_t / \\pi_t(a)` are non-negative with conditional mean
:math:`\\mu_a` given the past, however the propensities :math:`\\pi_t(a)` were chosen.
So for any bet :math:`\\lambda_t \\in [0, 1)` fixed before round :math:`t`, the wealth
:math:`K_t(m) = \\prod_{i \\le t} \\{1 + \\lambda_i (\\phi_i - m)\\}` is a non-negative
martingale at :math:`m = \\mu_a` (each factor is positive because :math:`m \\le 1`), and
by Ville's inequality it ever reaches :math:`1/\\alpha'` with probability at most
:math:`\\alpha'`. The lower bound at round :math:`t` is the smallest :math:`m` whose wealth
stays below :math:`1/\\alpha'`. The same argument on :math:`1\\{A_t = a\\}(1 - Y_t)/\\pi_t(a)`,
whose mean is :math:`1 - \\mu_a`, gives the upper bound. Four one-sided bounds at
:math:`\\alpha' = \\alpha / 4` (lower and upper, for each arm) hold together at every round
with probability at least :math:`1 - \\alpha`, and so does the interval
:math:`[L_1 - U_0, U_1 - L_0]` for the difference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.bandits._checks import Log, prepare_log
from playbook_lib.bandits._scores import ipw_scores, mean_and_se
from playbook_lib.results import Estimate
from playbook_lib.validation import as_numeric_array, check_alpha

__all__ = [
    "compute_confidence_sequence_coverage",
    "compute_confidence_sequence",
    "estimate_ipw_confidence_sequence",
]

_MAX_BET = 0.5  # bets in [0, 1/2]: every wealth factor is at least 1/2 for m <= 1


def _bets(values: np.ndarray, alpha: float) -> np.ndarray:
    """Predictable plug-in bets (Waudby-Smith and Ramdas, 2024), for one-sided bounds.

    ``lambda_t = min(sqrt(2 log(1/alpha) / (sigma2_{t-1} t log(1 + t))), 1/2)`` with the
    running mean and variance of the values before round t, started at 1/2 and 1/4.
    """
    n = values.shape[-1]
    t = np.arange(1, n + 1, dtype=float)
    deviation = np.cumsum(values, axis=-1)
    deviation += 0.5
    deviation /= t + 1  # the running mean after each round
    np.subtract(values, deviation, out=deviation)
    np.square(deviation, out=deviation)
    variance = np.empty_like(values)  # the running variance *before* each round
    variance[..., 0] = 0.25
    np.cumsum(deviation[..., :-1], axis=-1, out=variance[..., 1:])
    variance[..., 1:] += 0.25
    variance[..., 1:] /= t[1:]
    np.sqrt(variance, out=variance)
    # lambda_t = sqrt(2 log(1/alpha) / (t log(1 + t))) / sigma_{t-1}, capped
    np.divide(np.sqrt(2 * np.log(1 / alpha) / (t * np.log1p(t))), variance, out=variance)
    return np.minimum(variance, _MAX_BET, out=variance)


def _lower_bounds(values: np.ndarray, alpha: float, ends: np.ndarray) -> np.ndarray:
    """Lower confidence bounds for the conditional mean (in [0, 1]) of non-negative
    ``values`` (..., n) after the first ``ends`` rounds (c,): shape (..., c).

    The bound is the root in m of the concave, decreasing log-wealth
    ``f(m) = sum_{i <= t} log(1 + lambda_i (x_i - m)) - log(1/alpha)``, found by Newton's
    method from m = 1, whose steps never pass the root; 0 when f(0) < 0.
    """
    bets = _bets(values, alpha)
    threshold = np.log(1 / alpha)
    # rounds i <= end, one row per requested end: mask (c, n)
    mask = np.arange(values.shape[-1])[None, :] < ends[:, None]
    x = values[..., None, :]
    lam = bets[..., None, :] * mask

    def wealth(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        factor = 1 + lam * (x - m[..., None])
        return np.log(factor).sum(-1) - threshold, -(lam / factor).sum(-1)

    shape = values.shape[:-1] + (len(ends),)
    at_zero, _ = wealth(np.zeros(shape))
    m = np.ones(shape)
    for _ in range(100):
        f, slope = wealth(m)
        step = np.where(f < 0, f / slope, 0.0)  # f < 0 and slope < 0: a step to the left
        m = m - step
        if np.all(np.abs(step) < 1e-13):
            break
    return np.where(at_zero < 0, 0.0, np.clip(m, 0.0, 1.0))


def _arm_values(log: Log, arm: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted rewards and weighted failures of ``arm`` (both have mean mu, 1 - mu)."""
    weight = np.where(log.arms == arm, 1 / log.chosen, 0.0)
    wins = weight * log.rewards
    return wins, np.subtract(weight, wins, out=weight)


def _check_rewards(rewards: np.ndarray) -> None:
    if np.any((rewards < 0) | (rewards > 1)):
        raise ValueError("rewards must lie in [0, 1] for the confidence sequence")


def _sequence_log(
    arms: Any, rewards: Any, propensities: Any, treatment: Any, control: Any, n_arms: Any
) -> Log:
    log = prepare_log(
        arms, rewards, propensities, treatment=treatment, control=control, n_arms=n_arms
    )
    _check_rewards(log.rewards)
    return log


def _bounds(log: Log, alpha: float, ends: np.ndarray) -> dict[str, np.ndarray]:
    """The four one-sided bounds, each at alpha / 4, after each of ``ends`` rounds."""
    bounds = {}
    for name, arm in (("treatment", log.treatment), ("control", log.control)):
        wins, losses = _arm_values(log, arm)
        bounds[f"{name}_low"] = _lower_bounds(wins, alpha / 4, ends)
        bounds[f"{name}_high"] = 1 - _lower_bounds(losses, alpha / 4, ends)
    return bounds


def compute_confidence_sequence(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    alpha: float = 0.05,
    rounds: Any = None,
) -> pd.DataFrame:
    r"""An anytime-valid confidence sequence for the difference of two arms' mean rewards.

    Betting confidence sequences (Waudby-Smith and Ramdas, 2024) on each arm's
    inverse-propensity-weighted rewards (Waudby-Smith et al., 2022), combined by a union
    bound: with probability at least ``1 - alpha`` the interval contains the difference
    at *every* round at once, so it may be watched while the bandit runs and read when it
    stops, for whatever reason. It assumes rewards in [0, 1] with a mean per arm that does
    not change over time, and the exact probability of the arm played, fixed before the
    round (as Thompson sampling's are); it needs no exploration floor, no bound on the
    weights and no central limit theorem. The price is width: the interval is several
    times wider than a normal interval at the same round.

    Each arm's bounds come from two non-negative martingales, one for the weighted rewards
    (lower bound) and one for the weighted failures (upper bound), with predictable
    plug-in bets; each of the four one-sided bounds has level ``alpha / 4``, so each arm's
    interval alone holds with probability ``1 - alpha / 2``. The difference's interval is
    ``[L_treatment - U_control, U_treatment - L_control]``. Bounds are intersected over
    the listed rounds (the running maximum of the lower bounds and minimum of the upper
    ones), which keeps the guarantee.

    Parameters
    ----------
    arms : array-like of int, shape (n,)
        Arm played at each round.
    rewards : array-like, shape (n,)
        Rewards in [0, 1].
    propensities : array-like, shape (n,) or (n, k)
        The played arm's propensity, or every arm's.
    treatment, control : int
        The difference is ``treatment`` minus ``control``.
    n_arms : int, optional
        Number of arms (default: inferred).
    alpha : float
        One minus the time-uniform coverage.
    rounds : array-like of int, optional
        Rounds (1..n, increasing) after which to report the interval. Default: 100 rounds
        evenly spread over the log, ending at its last round.

    Returns
    -------
    pandas.DataFrame
        One row per reported round: ``round``, ``estimate`` (the IPW difference so far),
        ``ci_low``, ``ci_high`` and each arm's bounds (``treatment_low``,
        ``treatment_high``, ``control_low``, ``control_high``).

    Raises
    ------
    ValueError
        As :func:`estimate_ipw` (without clipping, which would void the guarantee), if
        rewards lie outside [0, 1], or if ``rounds`` are not increasing integers in 1..n.

    References
    ----------
    Waudby-Smith, I. and Ramdas, A. (2024). Estimating means of bounded random variables
    by betting. JRSS B 86(1), 1-27. Waudby-Smith, I., Wu, L., Ramdas, A., Karampatziakis,
    N. and Mineiro, P. (2022). Anytime-valid off-policy inference for contextual bandits.
    arXiv:2210.10768 (ACM/IMS Journal of Data Science, 2024).
    """
    alpha = check_alpha(alpha)
    log = _sequence_log(arms, rewards, propensities, treatment, control, n_arms)
    n = len(log.arms)
    ends = _check_rounds(rounds, n)
    bounds = _bounds(log, alpha, ends)
    for name in ("treatment", "control"):
        bounds[f"{name}_low"] = np.maximum.accumulate(bounds[f"{name}_low"])
        bounds[f"{name}_high"] = np.minimum.accumulate(bounds[f"{name}_high"])
    scores = ipw_scores(log.arms, log.rewards, log.chosen, log.treatment, log.control)
    return pd.DataFrame(
        {
            "round": ends,
            "estimate": np.cumsum(scores)[ends - 1] / ends,
            "ci_low": bounds["treatment_low"] - bounds["control_high"],
            "ci_high": bounds["treatment_high"] - bounds["control_low"],
            **bounds,
        }
    )


def estimate_ipw_confidence_sequence(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    alpha: float = 0.05,
) -> Estimate:
    """The confidence sequence of :func:`compute_confidence_sequence` at the log's end.

    The point estimate and standard error are :func:`estimate_ipw`'s; the interval is the
    confidence sequence's at the last round (computed at that round alone), valid at
    whatever round the log stopped. Assumptions and errors as
    :func:`compute_confidence_sequence`.

    Returns
    -------
    Estimate
        ``method="ipw confidence sequence"``; details: ``n`` and each arm's bounds
        (``treatment_low``, ``treatment_high``, ``control_low``, ``control_high``, each
        arm's interval at level ``1 - alpha / 2``).
    """
    alpha = check_alpha(alpha)
    log = _sequence_log(arms, rewards, propensities, treatment, control, n_arms)
    n = len(log.arms)
    bounds = {name: float(value[-1]) for name, value in _bounds(log, alpha, np.array([n])).items()}
    est, se = mean_and_se(ipw_scores(log.arms, log.rewards, log.chosen, log.treatment, log.control))
    return Estimate(
        "ipw confidence sequence",
        float(est),
        float(se),
        bounds["treatment_low"] - bounds["control_high"],
        bounds["treatment_high"] - bounds["control_low"],
        alpha=alpha,
        details={"n": n, **bounds},
    )


def compute_confidence_sequence_coverage(
    arms: Any,
    rewards: Any,
    propensities: Any,
    arm_means: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    alpha: float = 0.05,
) -> Estimate:
    """Time-uniform coverage of the confidence sequence on many replicated logs.

    A replication counts as covered when none of the four one-sided bounds of
    :func:`compute_confidence_sequence` excludes its arm's true mean at any round; then
    the difference's interval contains the true difference at every round. (The interval
    of the difference can cover even when an arm's bound fails, so this share is a lower
    bound on the difference's time-uniform coverage.) The check needs each martingale only
    at the truth, so it costs one pass over the logs.

    Parameters
    ----------
    arms, rewards : array-like, shape (n_reps, n)
        One log per row; rewards in [0, 1].
    propensities : array-like, shape (n_reps, n) or (n_reps, n, k)
        The played arm's propensity, or every arm's.
    arm_means : array-like, shape (k,)
        The true mean reward of every arm (at least up to ``treatment`` and ``control``).
    treatment, control : int
        The contrast.
    alpha : float
        One minus the nominal time-uniform coverage.

    Returns
    -------
    Estimate
        ``method="time-uniform coverage"``: the share of covered replications with its
        Monte Carlo standard error and Wilson interval; details as
        :meth:`playbook_lib.Estimates.coverage` (``n``, ``nominal``, ``z_vs_nominal``).

    Raises
    ------
    ValueError
        As :func:`compute_confidence_sequence`, if ``arms`` is not two-dimensional, or if
        ``arm_means`` lie outside [0, 1] or do not cover the compared arms.
    """
    alpha = check_alpha(alpha)
    log = prepare_log(
        arms, rewards, propensities, treatment=treatment, control=control, replications=True
    )
    _check_rewards(log.rewards)
    means = as_numeric_array(arm_means, "arm_means")
    if means.ndim != 1 or len(means) <= max(log.treatment, log.control):
        raise ValueError("arm_means must hold one mean per arm, up to the compared arms")
    if np.any((means < 0) | (means > 1)):
        raise ValueError("arm_means must lie in [0, 1]")
    threshold = np.log(4 / alpha)
    covered = np.ones(len(log.arms), dtype=bool)
    for arm in (log.treatment, log.control):
        wins, losses = _arm_values(log, arm)
        for values, truth in ((wins, means[arm]), (losses, 1 - means[arm])):
            wealth = _bets(values, alpha / 4)
            wealth *= values - truth
            np.log1p(wealth, out=wealth)
            np.cumsum(wealth, axis=-1, out=wealth)
            covered &= wealth.max(-1) < threshold
    return Estimate.from_proportion(covered, nominal=1 - alpha, method="time-uniform coverage")


def _check_rounds(rounds: Any, n: int) -> np.ndarray:
    if rounds is None:
        return np.unique(np.linspace(1, n, min(n, 100)).round().astype(int))
    values = as_numeric_array(rounds, "rounds")
    if values.ndim != 1 or not np.all(values == np.round(values)):
        raise ValueError("rounds must be a one-dimensional array of integers")
    ends = values.astype(int)
    if ends.min() < 1 or ends.max() > n or np.any(np.diff(ends) <= 0):
        raise ValueError(f"rounds must be increasing integers in 1..{n}")
    return ends
