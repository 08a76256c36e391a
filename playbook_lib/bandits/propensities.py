"""Bandits, inverse propensity weighting and doubly robust estimation.

What this module offers, in the order the chapter teaches it:

1. **Thompson sampling** for Bernoulli arms, simulated for many replications at once
   (arrays of shape ``(n_reps, n_rounds)``): plain, batched, top-two, with an exploration
   floor (:func:`run_thompson_sampling`).
2. **Exact propensities**: the probability Thompson sampling gives each arm, from the Beta
   posteriors, by a closed form or one-dimensional quadrature
   (:func:`beta_superiority_probability`, :func:`thompson_propensities`).
3. **Estimators on adaptively collected logs**: IPW (Horvitz-Thompson), self-normalised
   IPW, AIPW / doubly robust, the adaptively weighted AIPW of Hadad et al. (2021) that
   keeps valid coverage under adaptive allocation, the naive difference in means (for
   contrast), and a vectorised moving-block bootstrap.
4. **Confounded logs**: IPW with an estimated propensity and cross-fitted doubly robust
   estimation with logistic models.
5. **Off-policy evaluation** of a new policy from logs of an old one.
6. **Contextual bandits**: LinUCB and linear Thompson sampling with Sherman-Morrison
   updates of the inverse design matrices.
7. **Heterogeneous effects**: S-, T- and X-learners, uplift at k, the Qini curve and the
   value of treating the top k%.

Every estimator returns :class:`playbook_lib.Estimate`; bad input raises ``ValueError``
naming the argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_float_array,
    as_numeric_array,
    check_alpha,
    check_binary,
    check_choice,
    check_columns,
    check_finite_number,
    check_flag,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
    check_same_length,
    column_as_float_array,
)

__all__ = [
    "BanditRun",
    "ContextualRun",
    "MetaLearner",
    "beta_superiority_probability",
    "block_bootstrap_means",
    "estimate_adaptive_aipw",
    "estimate_aipw",
    "estimate_block_bootstrap",
    "estimate_cross_fitted_dr",
    "estimate_effects_by_replication",
    "estimate_ipw",
    "estimate_ipw_estimated_propensity",
    "estimate_naive_difference",
    "estimate_policy_value",
    "estimate_snipw",
    "estimate_targeting_policy_value",
    "estimate_dr_by_replication",
    "fit_meta_learner",
    "policy_value_arrays",
    "qini_coefficient",
    "qini_curve",
    "run_contextual_bandit",
    "run_thompson_sampling",
    "thompson_propensities",
    "top_two_propensities",
    "uplift_at_k",
]

_NODES_40, _WEIGHTS_40 = np.polynomial.legendre.leggauss(40)
_NODES_12, _WEIGHTS_12 = np.polynomial.legendre.leggauss(12)


# --------------------------------------------------------------------------- propensities
def _as_positive_array(values: Any, name: str) -> np.ndarray:
    array = as_numeric_array(values, name)
    if np.any(array <= 0):
        raise ValueError(f"{name} must be finite and positive")
    return array


def _beta_pdf(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b))


def _beta_moments(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = a / (a + b)
    sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    return mean, sd


def _two_beta_quadrature(
    alpha_a: np.ndarray, beta_a: np.ndarray, alpha_b: np.ndarray, beta_b: np.ndarray
) -> np.ndarray:
    """P(theta_B > theta_A) by 40-node Gauss-Legendre over the narrower posterior's bulk."""
    alpha_a, beta_a, alpha_b, beta_b = np.broadcast_arrays(alpha_a, beta_a, alpha_b, beta_b)
    _, sd_a = _beta_moments(alpha_a, beta_a)
    _, sd_b = _beta_moments(alpha_b, beta_b)
    a_is_narrow = sd_a <= sd_b
    a_n = np.where(a_is_narrow, alpha_a, alpha_b)
    b_n = np.where(a_is_narrow, beta_a, beta_b)
    a_w = np.where(a_is_narrow, alpha_b, alpha_a)[..., None]
    b_w = np.where(a_is_narrow, beta_b, beta_a)[..., None]
    # integrate between the narrow posterior's 1e-15 and 1 - 1e-15 quantiles
    low = special.betaincinv(a_n, b_n, 1e-15)[..., None]
    high = special.betaincinv(a_n, b_n, 1 - 1e-15)[..., None]
    half = (high - low) / 2
    x = np.clip(low + half * (_NODES_40 + 1), 1e-300, 1 - 1e-16)
    density = _beta_pdf(x, a_n[..., None], b_n[..., None]) * half * _WEIGHTS_40
    # P(wide < narrow) = int f_narrow F_wide and P(wide > narrow) = int f_narrow (1 - F_wide),
    # each computed directly (no 1 - p cancellation, so tiny propensities keep their
    # relative accuracy) and normalised to sum to one
    wide_below = np.sum(density * special.betainc(a_w, b_w, x), axis=-1)
    # 1 - I_x(a, b) = I_{1-x}(b, a): as accurate as betaincc and several times faster
    wide_above = np.sum(density * special.betainc(b_w, a_w, 1 - x), axis=-1)
    total = wide_below + wide_above
    # if A is narrow, B is wide: P(B > A) = wide_above; otherwise P(B > A) = wide_below
    return np.where(a_is_narrow, wide_above, wide_below) / total


# Tanh-sinh (double exponential) rule: x = L + (R - L) u with u = expit(pi sinh t) on each
# panel; it is exact-to-rounding for the endpoint singularities x^(a-1) of a Beta density
# with a < 1 and the x^a behaviour of its CDF (Takahasi and Mori, 1974).
_DE_STEP = 1 / 12
_DE_T = np.arange(-6.0, 6.0 + _DE_STEP / 2, _DE_STEP)
_DE_U = special.expit(np.pi * np.sinh(_DE_T))
_DE_V = special.expit(-np.pi * np.sinh(_DE_T))  # 1 - u, without cancellation
_DE_LOG_WEIGHT = (
    np.log(_DE_STEP * np.pi * np.cosh(_DE_T))
    + special.log_expit(np.pi * np.sinh(_DE_T))
    + special.log_expit(-np.pi * np.sinh(_DE_T))
)
# Panels strictly inside (0, 1) have smooth ends: beyond |t| = 3 the nodes carry < 1e-13 of
# the panel's width, so they are dropped there (the panels at 0 and 1 keep every node).
_DE_INNER = np.abs(_DE_T) <= 3.0
# Non-integer Beta parameters below this make the 40-node rule's endpoint behaviour
# non-smooth (error up to 0.03 below 1, 3e-5 in [1, 2), 5e-10 in [3, 4)): such rows use the
# tanh-sinh rule. Integer parameters give polynomial endpoint behaviour and stay on the
# fast rule.
_SMOOTH_PARAMETER = 4.0


def _needs_tanh_sinh(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Rows (last axis = arms) with a non-integer parameter below ``_SMOOTH_PARAMETER``."""
    def rough(values: np.ndarray) -> np.ndarray:
        return (values < _SMOOTH_PARAMETER) & (values != np.round(values))

    return np.any(rough(alpha) | rough(beta), axis=-1)


def _tanh_sinh_propensities(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    r"""P(arm j has the largest draw) for Beta posteriors with small non-integer parameters.

    ``alpha``, ``beta``: shape (m, k). The unit interval is cut at every arm's mean and its
    mean +/- 6, 20 and 60 standard deviations; on each panel the tanh-sinh rule (145 nodes on the
    panels at 0 and 1, 73 on the smooth inner ones) integrates
    :math:`f_j(x)\prod_{l\ne j} F_l(x)`. ``x`` and ``1 - x`` are formed separately (no
    cancellation), densities are evaluated in logs and the CDF near 1 via the complement,
    so endpoint singularities and concentrated posteriors are both resolved (agrees with
    adaptive quadrature to ~1e-9 for parameters down to 0.3; tested).
    """
    mean, sd = _beta_moments(alpha, beta)
    # a Beta with a small parameter has a tail much longer than its sd (Gamma-like,
    # decaying over ~1/b while sd ~ sqrt(a)/b): panels out to 60 sd keep it resolved
    offsets = np.array([-60.0, -20.0, -6.0, 0.0, 6.0, 20.0, 60.0])
    points = (mean[:, :, None] + sd[:, :, None] * offsets).reshape(len(mean), -1)
    # points outside (0, 1) move to the nearest point inside (the means always are), so only
    # the first panel touches 0 and only the last touches 1
    inside = (points > 0) & (points < 1)
    lowest = np.where(inside, points, np.inf).min(-1, keepdims=True)
    highest = np.where(inside, points, -np.inf).max(-1, keepdims=True)
    lowest = np.where(np.isfinite(lowest), lowest, 0.5)  # every point rounded to 0 or 1
    highest = np.where(np.isfinite(highest), highest, 0.5)
    points = np.where(points <= 0, lowest, np.where(points >= 1, highest, points))
    edges = np.sort(np.concatenate(
        [np.zeros((len(mean), 1)), points, np.ones((len(mean), 1))], -1), -1)
    low, high = edges[:, :-1, None], edges[:, 1:, None]
    # keep the inner panels of positive width (points moved onto each other leave empty
    # ones): the widest first, as many as the row that has the most
    inner_width = (high - low)[:, 1:-1, 0]
    n_inner = max(int(np.max(np.sum(inner_width > 0, axis=1))), 1)
    order = np.argsort(-inner_width, axis=1, kind="stable")[:, :n_inner, None] + 1
    low = np.concatenate([low[:, :1], np.take_along_axis(low, order, 1), low[:, -1:]], 1)
    high = np.concatenate([high[:, :1], np.take_along_axis(high, order, 1), high[:, -1:]], 1)
    parts = []
    for panels, nodes in ((slice(0, 1), slice(None)), (slice(1, -1), _DE_INNER),
                          (slice(-1, None), slice(None))):
        width = high[:, panels] - low[:, panels]
        with np.errstate(divide="ignore"):
            log_weight = np.log(width) + _DE_LOG_WEIGHT[nodes]
        parts.append((
            (low[:, panels] + width * _DE_U[nodes]).reshape(len(mean), -1),
            ((1 - high[:, panels]) + width * _DE_V[nodes]).reshape(len(mean), -1),  # 1 - x
            log_weight.reshape(len(mean), -1),
        ))
    x, y, log_weight = (np.concatenate(arrays, -1) for arrays in zip(*parts, strict=True))
    with np.errstate(divide="ignore"):
        a, b = alpha[:, :, None], beta[:, :, None]
        xs, ys = x[:, None, :], y[:, None, :]
        # log x and log(1 - x) from whichever of x, 1 - x is small (no lost digits when a
        # parameter is huge and x or 1 - x tiny)
        small_x = xs < 0.5
        log_x = np.where(small_x, np.log(xs), np.log1p(-ys))
        log_1mx = np.where(small_x, np.log1p(-xs), np.log(ys))
        log_density = (a - 1) * log_x + (b - 1) * log_1mx - special.betaln(a, b)
    shape = np.broadcast_shapes(a.shape, xs.shape)
    a_full, b_full = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
    upper = np.broadcast_to(~small_x, shape)
    cdf = np.empty(shape)
    cdf[~upper] = special.betainc(a_full[~upper], b_full[~upper],
                                  np.broadcast_to(xs, shape)[~upper])
    cdf[upper] = special.betaincc(b_full[upper], a_full[upper],
                                  np.broadcast_to(ys, shape)[upper])
    ones = np.ones_like(cdf[:, :1, :])
    prefix = np.cumprod(np.concatenate([ones, cdf[:, :-1, :]], 1), 1)
    suffix = np.cumprod(np.concatenate([ones, cdf[:, ::-1, :][:, :-1, :]], 1), 1)[:, ::-1, :]
    usable = np.isfinite(log_weight)[:, None, :] & np.isfinite(log_density)
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        density = np.where(usable, np.exp(np.where(usable, log_density, 0.0)
                                          + np.where(usable, log_weight[:, None, :], 0.0)), 0.0)
    probabilities = np.sum(density * prefix * suffix, axis=-1)
    return probabilities / probabilities.sum(axis=-1, keepdims=True)


def _exact_propensities(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Thompson propensities (..., k) by the fast rule, or tanh-sinh for rough rows."""
    alpha, beta = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(beta, float))
    if alpha.shape[-1] == 2:
        second = _two_beta_quadrature(alpha[..., 0], beta[..., 0], alpha[..., 1], beta[..., 1])
        out = np.stack([1.0 - second, second], axis=-1)
    else:
        out = _k_beta_quadrature(alpha, beta)
    rough = _needs_tanh_sinh(alpha, beta)
    if np.any(rough):
        out[rough] = _tanh_sinh_propensities(alpha[rough], beta[rough])
    return out


def _two_beta(alpha_a: Any, beta_a: Any, alpha_b: Any, beta_b: Any) -> np.ndarray:
    """P(theta_B > theta_A), accurate for every positive parameter."""
    arrays = np.broadcast_arrays(*(np.asarray(v, float) for v in (alpha_a, beta_a,
                                                                    alpha_b, beta_b)))
    alpha = np.stack([arrays[0], arrays[2]], -1)
    beta = np.stack([arrays[1], arrays[3]], -1)
    return _exact_propensities(alpha, beta)[..., 1]


def _two_beta_exact(alpha_a: float, beta_a: float, alpha_b: float, beta_b: float) -> float:
    """Closed form for integer alpha_b (Evan Miller's sum), summed in log space."""
    index = np.arange(int(alpha_b))
    terms = (
        special.betaln(alpha_a + index, beta_a + beta_b)
        - np.log(beta_b + index)
        - special.betaln(1 + index, beta_b)
        - special.betaln(alpha_a, beta_a)
    )
    return float(np.exp(special.logsumexp(terms)))


def beta_superiority_probability(
    alpha_a: Any,
    beta_a: Any,
    alpha_b: Any,
    beta_b: Any,
    *,
    method: str = "quadrature",
) -> np.ndarray | float:
    r"""Probability that a draw from Beta(alpha_b, beta_b) exceeds one from Beta(alpha_a, beta_a).

    For two-arm Thompson sampling with posteriors :math:`\theta_A \sim
    \mathrm{Beta}(\alpha_A, \beta_A)` and :math:`\theta_B \sim \mathrm{Beta}(\alpha_B,
    \beta_B)`, this is the probability that arm B is played next (its propensity).

    Parameters
    ----------
    alpha_a, beta_a, alpha_b, beta_b : array-like
        Positive Beta parameters; broadcast against each other.
    method : {"quadrature", "exact"}
        ``"quadrature"`` (vectorised; default) integrates
        :math:`\int f_A(x)\,\{1 - F_B(x)\}\,dx` (or the mirror image) with 40 Gauss-Legendre
        nodes between the 1e-15 and 1 - 1e-15 quantiles of the *narrower* posterior, where
        the other posterior's CDF is smooth; agrees with the closed form to about 1e-10 for
        integer parameters and for parameters >= 4 (tested). A non-integer parameter below
        4 (e.g. a Jeffreys prior, Beta(1/2, 1/2), with few observations) gives the
        integrand an endpoint singularity that rule cannot resolve; such elements use a
        tanh-sinh rule on panels cut at each posterior's mean +/- 6, 20 and 60 standard
        deviations
        (agrees with adaptive quadrature to ~1e-9 for parameters down to 0.3; about 15
        times the work per element).
        ``"exact"`` uses the closed-form sum (Miller, 2015; from Cook, 2005)
        :math:`\sum_{i=0}^{\alpha_B-1} B(\alpha_A+i, \beta_A+\beta_B) / \{(\beta_B+i)
        B(1+i, \beta_B) B(\alpha_A, \beta_A)\}`, which needs integer ``alpha_b`` and loops
        over elements (a reference, not for bulk use).

    Returns
    -------
    float or numpy.ndarray
        :math:`P(\theta_B > \theta_A)`, shaped like the broadcast inputs (a float for
        scalar input).

    Raises
    ------
    ValueError
        If a parameter is not finite and positive, ``method`` is unknown, or ``alpha_b`` is
        not an integer with ``method="exact"``.

    Examples
    --------
    >>> round(float(beta_superiority_probability(2, 3, 4, 2)), 12)  # = 5/6
    0.833333333333
    """
    check_choice(method, "method", ("quadrature", "exact"))
    alpha_a = _as_positive_array(alpha_a, "alpha_a")
    beta_a = _as_positive_array(beta_a, "beta_a")
    alpha_b = _as_positive_array(alpha_b, "alpha_b")
    beta_b = _as_positive_array(beta_b, "beta_b")
    if method == "exact":
        if np.any(alpha_b != np.round(alpha_b)):
            raise ValueError("alpha_b must be an integer for method='exact'")
        broadcast = np.broadcast_arrays(alpha_a, beta_a, alpha_b, beta_b)
        flat = [array.ravel() for array in broadcast]
        values = np.array([_two_beta_exact(*params) for params in zip(*flat, strict=True)])
        result = values.reshape(broadcast[0].shape)
    else:
        result = _two_beta(alpha_a, beta_a, alpha_b, beta_b)
    return float(result) if np.ndim(result) == 0 else result


def _k_beta_quadrature(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """P(arm j has the largest draw) for k >= 3 independent Betas, composite quadrature."""
    mean, sd = _beta_moments(alpha, beta)
    offsets = np.array([-12.0, -4.0, -1.5, 0.0, 1.5, 4.0, 12.0])
    points = (mean[..., :, None] + sd[..., :, None] * offsets).reshape(*mean.shape[:-1], -1)
    edges = np.concatenate(
        [np.zeros(mean.shape[:-1] + (1,)), np.clip(points, 0, 1), np.ones(mean.shape[:-1] + (1,))],
        axis=-1,
    )
    edges = np.sort(edges, axis=-1)
    low, high = edges[..., :-1], edges[..., 1:]
    half = (high - low) / 2  # (..., panels)
    x = (low[..., None] + half[..., None] * (_NODES_12 + 1)).reshape(*low.shape[:-1], -1)
    weights = (half[..., None] * _WEIGHTS_12).reshape(x.shape)
    x = np.clip(x, 1e-300, 1 - 1e-16)
    a = alpha[..., :, None]
    b = beta[..., :, None]
    xs = x[..., None, :]
    density = _beta_pdf(xs, a, b)  # (..., k, nodes)
    cdf = special.betainc(a, b, xs)
    # product of the other arms' CDFs via prefix and suffix products (no division by zero)
    prefix = np.cumprod(np.concatenate([np.ones_like(cdf[..., :1, :]), cdf[..., :-1, :]], -2), -2)
    suffix = np.cumprod(
        np.concatenate([np.ones_like(cdf[..., :1, :]), cdf[..., ::-1, :][..., :-1, :]], -2), -2
    )[..., ::-1, :]
    others = prefix * suffix
    probabilities = np.sum(density * others * weights[..., None, :], axis=-1)
    return probabilities / probabilities.sum(axis=-1, keepdims=True)


def thompson_propensities(
    alpha: Any,
    beta: Any,
    *,
    method: str = "quadrature",
    n_draws: int = 200,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    r"""Probability that Thompson sampling plays each arm, given Beta posteriors.

    Arm :math:`j` is played when its posterior draw is the largest, so its propensity is
    :math:`\pi(j) = \int f_j(x) \prod_{l \ne j} F_l(x)\,dx` (Russo et al., 2018).

    Parameters
    ----------
    alpha, beta : array-like, shape (..., k)
        Posterior Beta parameters of the ``k >= 2`` arms (last axis), e.g.
        ``1 + successes`` and ``1 + failures`` under a uniform prior.
    method : {"quadrature", "monte_carlo"}
        ``"quadrature"`` (default): for two arms the 40-node rule of
        :func:`beta_superiority_probability`; for ``k >= 3`` a composite 12-node
        Gauss-Legendre rule whose panels break at each posterior's mean +/- 1.5, 4 and
        12 standard deviations, so every posterior's bulk gets its own nodes. Rows with a
        non-integer parameter below 4 (endpoint singularities) use the tanh-sinh rule
        described in :func:`beta_superiority_probability`, accurate to ~1e-9.
        ``"monte_carlo"`` counts wins among ``n_draws`` posterior draws: the noisy shortcut
        the chapter warns against (a propensity of exactly 0 is possible).
    n_draws : int
        Number of draws for ``"monte_carlo"``.
    rng : numpy.random.Generator, int or None
        Randomness for ``"monte_carlo"``.

    Returns
    -------
    numpy.ndarray, shape (..., k)
        Propensities; each row sums to 1.

    Raises
    ------
    ValueError
        If the parameters are not positive, their shapes differ, there are fewer than two
        arms, ``method`` is unknown, ``n_draws`` is not a positive integer or ``rng`` is
        not a Generator, seed or None.
    """
    check_choice(method, "method", ("quadrature", "monte_carlo"))
    n_draws = check_integer(n_draws, "n_draws", minimum=1)
    generator = check_rng(rng)
    alpha = _as_positive_array(alpha, "alpha")
    beta = _as_positive_array(beta, "beta")
    if alpha.shape != beta.shape:
        raise ValueError(f"beta must have the shape of alpha {alpha.shape}, got {beta.shape}")
    if alpha.ndim == 0 or alpha.shape[-1] < 2:
        raise ValueError("alpha must have at least two arms on its last axis")
    if method == "monte_carlo":
        draws = generator.beta(alpha[..., None, :], beta[..., None, :],
                               size=alpha.shape[:-1] + (n_draws, alpha.shape[-1]))
        winners = np.argmax(draws, axis=-1)
        return np.stack([(winners == j).mean(axis=-1) for j in range(alpha.shape[-1])], -1)
    return _exact_propensities(alpha, beta)


def top_two_propensities(propensities: Any, leader_probability: float = 0.5) -> np.ndarray:
    r"""Allocation probabilities of top-two Thompson sampling (Russo, 2020).

    With probability ``leader_probability`` the arm with the largest posterior draw is
    played; otherwise draws are repeated until a *different* arm wins (the challenger). So
    arm :math:`i` is played with probability
    :math:`\beta p_i + (1-\beta)\, p_i \sum_{j \ne i} p_j / (1 - p_j)`, where :math:`p` are
    the Thompson propensities.

    Parameters
    ----------
    propensities : array-like, shape (..., k)
        Thompson sampling propensities (rows summing to 1).
    leader_probability : float
        :math:`\beta` in (0, 1].

    Returns
    -------
    numpy.ndarray, shape (..., k)

    Raises
    ------
    ValueError
        If ``leader_probability`` is outside (0, 1], propensities are outside [0, 1], do
        not sum to 1 over the last axis, or have fewer than two arms.
    """
    beta = check_probability(leader_probability, "leader_probability", allow_zero=False)
    p = as_numeric_array(propensities, "propensities", allow_empty=True)
    if p.ndim == 0 or p.shape[-1] < 2:
        raise ValueError("propensities must have at least two arms on the last axis")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("propensities must lie in [0, 1]")
    if np.any(np.abs(p.sum(axis=-1) - 1) > 1e-6):
        raise ValueError("propensities must sum to 1 over the arms (last axis)")
    ratio = np.where(p < 1, p / np.maximum(1 - p, 1e-300), 0.0)
    challenger = p * (ratio.sum(axis=-1, keepdims=True) - ratio)
    # if one arm has probability 1 the challenger is undefined; spread it evenly
    degenerate = np.any(p >= 1, axis=-1, keepdims=True)
    k = p.shape[-1]
    challenger = np.where(degenerate, np.where(p >= 1, 0.0, 1.0 / (k - 1)), challenger)
    out = beta * p + (1 - beta) * challenger
    return out / out.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- simulation
@dataclass(frozen=True)
class BanditRun:
    """Logs of ``n_reps`` independent bandit experiments with Bernoulli arms.

    Attributes
    ----------
    arm_means : numpy.ndarray, shape (k,)
        True success probabilities.
    arms : numpy.ndarray, shape (n_reps, n_rounds)
        Arm played at each round (int).
    rewards : numpy.ndarray, shape (n_reps, n_rounds)
        0/1 rewards (int8).
    propensities : numpy.ndarray or None, shape (n_reps, n_rounds, k)
        Probability each arm had of being played at each round (``None`` when not recorded).
    batch_size : int
        Rounds between posterior updates.
    """

    arm_means: np.ndarray
    arms: np.ndarray
    rewards: np.ndarray
    propensities: np.ndarray | None
    batch_size: int

    @property
    def n_reps(self) -> int:
        return int(self.arms.shape[0])

    @property
    def n_rounds(self) -> int:
        return int(self.arms.shape[1])

    def cumulative_regret(self) -> np.ndarray:
        """Expected (pseudo-)regret summed over rounds, shape (n_reps, n_rounds)."""
        gaps = self.arm_means.max() - self.arm_means
        return np.cumsum(gaps[self.arms], axis=1)

    def mean_cumulative_regret(self) -> np.ndarray:
        """Cumulative regret averaged over replications, shape (n_rounds,)."""
        gaps = self.arm_means.max() - self.arm_means
        k = len(self.arm_means)
        shares = np.stack([(self.arms == a).mean(axis=0) for a in range(k)], axis=1)
        return np.cumsum(shares @ gaps)

    def allocation(self) -> np.ndarray:
        """Share of replications playing each arm at each round, shape (n_rounds, k)."""
        k = len(self.arm_means)
        return np.stack([(self.arms == a).mean(axis=0) for a in range(k)], axis=1)

    def chosen_propensities(self) -> np.ndarray:
        """Propensity of the arm actually played, shape (n_reps, n_rounds)."""
        if self.propensities is None:
            raise ValueError("propensities were not recorded (use record_propensities=True)")
        return np.take_along_axis(self.propensities, self.arms[..., None], axis=-1)[..., 0]


# Largest simulation (cells of the n_reps x n_rounds (x k) arrays) accepted: ~16 GB of floats.
_MAX_CELLS = 2_000_000_000


def _check_arm_means(arm_means: Any) -> np.ndarray:
    means = as_float_array(arm_means, "arm_means", min_size=2)
    if np.any((means < 0) | (means > 1)):
        raise ValueError("arm_means must lie in [0, 1]")
    return means


# Below this, a two-arm propensity from the recurrence is recomputed by quadrature: each
# step's rounding error is absolute (~1e-16), so a tiny propensity would lose its relative
# accuracy, and IPW divides by it.
_RECURRENCE_FLOOR = 1e-7


def _two_arm_propensities_from_history(
    arms: np.ndarray, rewards: np.ndarray, prior_alpha: float, prior_beta: float
) -> np.ndarray:
    """Exact two-arm Thompson propensities at every round, O(1) work per round.

    ``h = P(theta_1 > theta_0)`` for ``theta_1 ~ Beta(a, b)`` and ``theta_0 ~ Beta(c, d)``
    moves by one closed-form term when one count grows by one (Cook, 2005; the recurrences
    behind Miller's formula): with ``g = B(a + c, b + d) / (B(a, b) B(c, d))``,
    ``h(a+1) = h + g/a``, ``h(b+1) = h - g/b``, ``h(c+1) = h - g/c`` and ``h(d+1) = h + g/d``.
    ``g`` is carried in logs and updated by ratios of Beta functions, e.g.
    ``log g(a+1) = log g + log(a+c) - log(a+b+c+d) + log(a+b) - log a``. Rounds whose
    propensity falls below ``_RECURRENCE_FLOOR`` (either arm) are recomputed by quadrature,
    so small propensities keep their relative accuracy.
    """
    n_reps, n_rounds = arms.shape
    a = np.full(n_reps, float(prior_alpha))  # arm 1
    b = np.full(n_reps, float(prior_beta))
    c = np.full(n_reps, float(prior_alpha))  # arm 0
    d = np.full(n_reps, float(prior_beta))
    h = np.broadcast_to(_two_beta(c, d, a, b), (n_reps,)).copy()
    log_g = special.betaln(a + c, b + d) - special.betaln(a, b) - special.betaln(c, d)
    out = np.empty((n_reps, n_rounds))
    played_one = arms == 1
    success = rewards.astype(bool)
    for t in range(n_rounds):
        out[:, t] = h
        one, won = played_one[:, t], success[:, t]
        g = np.exp(log_g)
        total = a + b + c + d
        # the count that grows, and the pair it shares B(., .) with in g's numerator
        grows = np.where(one, np.where(won, a, b), np.where(won, c, d))
        partner = np.where(won, a + c, b + d)
        own_pair = np.where(one, a + b, c + d)
        sign = np.where(one == won, 1.0, -1.0)  # + for a (arm 1 wins) and d (arm 0 loses)
        h += sign * g / grows
        log_g += np.log(partner) - np.log(total) + np.log(own_pair) - np.log(grows)
        a += one & won
        b += one & ~won
        c += ~one & won
        d += ~one & ~won
    # recompute the extreme rounds exactly from their posteriors
    extreme = np.minimum(out, 1.0 - out) < _RECURRENCE_FLOOR
    if extreme.any():
        alpha, beta = _posteriors_before_each_round(arms, rewards, 2, prior_alpha, prior_beta)
        alpha, beta = alpha[extreme], beta[extreme]
        out[extreme] = _two_beta(alpha[:, 0], beta[:, 0], alpha[:, 1], beta[:, 1])
    return np.stack([1.0 - out, out], axis=-1)


def _posteriors_before_each_round(
    arms: np.ndarray, rewards: np.ndarray, k: int, prior_alpha: float, prior_beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Beta parameters of every arm before each round, shaped ``arms.shape + (k,)``."""
    one_hot = arms[..., None] == np.arange(k)
    pulls = np.cumsum(one_hot, axis=1) - one_hot
    wins = np.cumsum(one_hot * rewards[..., None], axis=1) - one_hot * rewards[..., None]
    return prior_alpha + wins, prior_beta + pulls - wins


def _propensities_from_history(
    arms: np.ndarray, rewards: np.ndarray, k: int, prior_alpha: float, prior_beta: float,
    chunk_rows: int = 20_000,
) -> np.ndarray:
    """Exact Thompson propensities at every round from the posteriors before that round.

    Two arms: the O(1) recurrence (:func:`_two_arm_propensities_from_history`); more arms:
    the vectorised quadrature of :func:`thompson_propensities` on every round's posteriors.
    """
    if k == 2:
        return _two_arm_propensities_from_history(arms, rewards, prior_alpha, prior_beta)
    alpha, beta = _posteriors_before_each_round(arms, rewards, k, prior_alpha, prior_beta)
    alpha, beta = alpha.reshape(-1, k), beta.reshape(-1, k)
    out = np.empty(alpha.shape)
    for start in range(0, len(alpha), chunk_rows):
        block = slice(start, start + chunk_rows)
        out[block] = thompson_propensities(alpha[block], beta[block])
    return out.reshape(arms.shape + (k,))


def run_thompson_sampling(
    arm_means: Any,
    n_rounds: int,
    *,
    n_reps: int = 1,
    batch_size: int = 1,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    top_two: bool = False,
    leader_probability: float = 0.5,
    propensity_floor: float = 0.0,
    record_propensities: bool = False,
    rng: np.random.Generator | int | None = None,
) -> BanditRun:
    r"""Simulate Beta-Bernoulli Thompson sampling for many replications at once.

    The loop runs over rounds (or batches); every step is vectorised across the
    ``n_reps`` replications. Each replication starts from a Beta(``prior_alpha``,
    ``prior_beta``) prior per arm (Thompson, 1933; Russo et al., 2018).

    - Plain Thompson sampling (``batch_size=1``, no propensities): each round draws one
      posterior sample per arm and plays the largest.
      With ``record_propensities=True`` the exact propensities are then computed from the
      posteriors before each round: for two arms by an O(1) recurrence per round (exact
      to about 1e-13), for more arms by one vectorised quadrature over all rounds (cost
      ~80 incomplete-beta evaluations per round, replication and arm).
    - Otherwise, at the start of each batch the exact allocation probabilities are
      computed (:func:`thompson_propensities`; top-two adjusted with
      :func:`top_two_propensities`; mixed with the uniform allocation so each arm keeps at
      least ``propensity_floor``), and every round in the batch draws its arm from them.
      With ``batch_size=1`` this has the same distribution as plain Thompson sampling.

    Parameters
    ----------
    arm_means : array-like, shape (k,)
        True success probabilities of the ``k >= 2`` arms.
    n_rounds : int
        Rounds per replication.
    n_reps : int
        Independent replications.
    batch_size : int
        Rounds between posterior updates (1 = fully sequential).
    prior_alpha, prior_beta : float
        Beta prior of every arm.
    top_two : bool
        Use top-two Thompson sampling (Russo, 2020).
    leader_probability : float
        Probability of playing the leader in top-two sampling.
    propensity_floor : float
        Minimum allocation probability per arm, in [0, 1/k).
    record_propensities : bool
        Store the allocation probabilities (memory ``n_reps * n_rounds * k`` floats).
    rng : numpy.random.Generator, int or None
        Randomness.

    Returns
    -------
    BanditRun

    Raises
    ------
    ValueError
        If ``arm_means`` are outside [0, 1], sizes are not positive integers (or their
        product exceeds 2e9 cells), the prior is not positive, ``propensity_floor`` is
        outside [0, 1/k), ``leader_probability`` outside (0, 1], a flag is not a bool, or
        ``rng`` is not a Generator, seed or None.
    """
    means = _check_arm_means(arm_means)
    k = len(means)
    n_rounds = check_integer(n_rounds, "n_rounds", minimum=1)
    n_reps = check_integer(n_reps, "n_reps", minimum=1)
    batch_size = check_integer(batch_size, "batch_size", minimum=1)
    prior_alpha = check_positive(prior_alpha, "prior_alpha")
    prior_beta = check_positive(prior_beta, "prior_beta")
    floor = check_probability(propensity_floor, "propensity_floor")
    if floor * k >= 1:
        raise ValueError(f"propensity_floor must be below 1/k = {1 / k:.4g}, got {floor}")
    top_two = check_flag(top_two, "top_two")
    record_propensities = check_flag(record_propensities, "record_propensities")
    leader_probability = check_probability(leader_probability, "leader_probability",
                                           allow_zero=False)
    cells = n_reps * n_rounds * (k if record_propensities else 1)
    if cells > _MAX_CELLS:
        raise ValueError(
            f"n_reps * n_rounds{' * k' if record_propensities else ''} = {cells:.3g} exceeds "
            f"{_MAX_CELLS:.0e} cells: simulate fewer replications (n_reps) or rounds"
        )
    generator = check_rng(rng)

    successes = np.zeros((n_reps, k))
    pulls = np.zeros((n_reps, k))
    arms = np.empty((n_reps, n_rounds), dtype=np.int8 if k < 128 else np.int64)
    rewards = np.empty((n_reps, n_rounds), dtype=np.int8)
    propensities = np.empty((n_reps, n_rounds, k)) if record_propensities else None
    rows = np.arange(n_reps)
    needs_probabilities = record_propensities or top_two or floor > 0

    if batch_size == 1 and not (top_two or floor > 0):
        # plain Thompson sampling; exact propensities (if wanted) follow from the history
        for t in range(n_rounds):
            draws = generator.beta(prior_alpha + successes, prior_beta + pulls - successes)
            arm = np.argmax(draws, axis=1)
            reward = generator.random(n_reps) < means[arm]
            successes[rows, arm] += reward
            pulls[rows, arm] += 1
            arms[:, t] = arm
            rewards[:, t] = reward
        if record_propensities:
            propensities = _propensities_from_history(arms, rewards, k, prior_alpha, prior_beta)
        return BanditRun(means, arms, rewards, propensities, batch_size)

    for start in range(0, n_rounds, batch_size):
        stop = min(start + batch_size, n_rounds)
        size = stop - start
        alpha = prior_alpha + successes
        beta = prior_beta + pulls - successes
        if needs_probabilities:
            probabilities = thompson_propensities(alpha, beta)
            if top_two:
                probabilities = top_two_propensities(probabilities, leader_probability)
            if floor > 0:
                probabilities = floor + (1 - k * floor) * probabilities
            cumulative = np.cumsum(probabilities, axis=1)
            uniforms = generator.random((n_reps, size))
            arm = np.minimum((uniforms[:, :, None] >= cumulative[:, None, :]).sum(-1), k - 1)
            if propensities is not None:
                propensities[:, start:stop, :] = probabilities[:, None, :]
        else:
            draws = generator.beta(alpha[:, None, :], beta[:, None, :], size=(n_reps, size, k))
            arm = np.argmax(draws, axis=2)
        reward = generator.random((n_reps, size)) < means[arm]
        for a in range(k):
            played = arm == a
            pulls[:, a] += played.sum(axis=1)
            successes[:, a] += (played & reward).sum(axis=1)
        arms[:, start:stop] = arm
        rewards[:, start:stop] = reward
    return BanditRun(means, arms, rewards, propensities, batch_size)


# --------------------------------------------------------------------------- log checks


def _check_log(
    arms: Any,
    rewards: Any,
    propensities: Any,
    n_arms: int | None,
    propensity_clip: float,
    *,
    need_all_arms: bool = False,
    propensities_name: str = "propensities",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, int, int]:
    """Validate a log (leading replication axes allowed); return cleaned arrays.

    Returns arms (int), rewards (float), chosen-arm propensity, all-arm propensities (or
    None), the number of arms and the number of clipped propensities.
    """
    name_p = propensities_name
    arm_values = np.asarray(arms) if not isinstance(arms, str | bytes) else None
    if arm_values is None or arm_values.dtype.kind not in "biu":
        arm_float = as_numeric_array(arms, "arms", allow_empty=True)
        if np.any(arm_float != np.round(arm_float)):
            raise ValueError("arms must be integers 0..k-1")
        arm_int = arm_float.astype(np.int64)
    else:  # already integers: skip the float round-trip (large logs)
        arm_int = arm_values.astype(np.int64)
    if arm_int.ndim == 0 or arm_int.shape[-1] < 2:
        raise ValueError("arms must hold at least two rounds")
    reward_values = as_numeric_array(rewards, "rewards", allow_empty=True)
    if reward_values.shape != arm_int.shape:
        raise ValueError(
            f"length mismatch: rewards has shape {reward_values.shape}, arms {arm_int.shape}"
        )
    p = as_numeric_array(propensities, name_p, allow_empty=True)
    if p.shape == arm_int.shape:
        all_arms = None
    elif p.shape[:-1] == arm_int.shape and p.ndim == arm_int.ndim + 1:
        all_arms = p
    else:
        raise ValueError(
            f"length mismatch: {name_p} has shape {p.shape}; expected {arm_int.shape} "
            f"(chosen arm) or {arm_int.shape + ('k',)} (every arm), like arms"
        )
    if n_arms is None:
        n_arms = all_arms.shape[-1] if all_arms is not None else int(arm_int.max()) + 1
        n_arms = max(n_arms, 2)
    n_arms = check_integer(n_arms, "n_arms", minimum=2)
    if np.any(arm_int < 0) or np.any(arm_int >= n_arms):
        raise ValueError(f"arms must be integers in 0..{n_arms - 1}")
    if all_arms is not None and all_arms.shape[-1] != n_arms:
        raise ValueError(f"{name_p} must have {n_arms} columns, got {all_arms.shape[-1]}")
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"{name_p} must lie in (0, 1]")
    if all_arms is not None and np.any(np.abs(all_arms.sum(-1) - 1) > 1e-6):
        raise ValueError(f"{name_p} of every arm must sum to 1 in each row")
    chosen = p if all_arms is None else np.take_along_axis(p, arm_int[..., None], -1)[..., 0]
    if propensity_clip == 0 and np.any(chosen <= 0):
        raise ValueError(
            f"{name_p} must lie in (0, 1] for the arms played (a zero propensity gives an "
            "infinite weight; compute it exactly, or pass propensity_clip to clip and count it)"
        )
    n_clipped = int(np.sum(chosen < propensity_clip))
    if propensity_clip > 0:
        chosen = np.maximum(chosen, propensity_clip)
        if all_arms is not None:
            all_arms = np.maximum(all_arms, propensity_clip)
    if need_all_arms and all_arms is None:
        raise ValueError(
            f"{name_p} must give every arm's probability (shape (n, k)) for this method"
        )
    return arm_int, reward_values, chosen, all_arms, n_arms, n_clipped


def _require_played(arms: np.ndarray, treatment: int, control: int, minimum: int = 1) -> None:
    """Raise unless ``treatment`` and ``control`` are each played ``minimum`` times per log.

    An arm that never appears has no data: IPW would report its mean as 0 and a
    "significant" difference, so it is refused.
    """
    for arm, role in ((treatment, "treatment"), (control, "control")):
        counts = np.sum(arms == arm, axis=-1)
        if np.any(counts < minimum):
            where = "" if np.ndim(counts) == 0 else (
                f" in {int(np.sum(counts < minimum))} replication(s), e.g. replication "
                f"{int(np.flatnonzero(np.ravel(counts) < minimum)[0])}")
            raise ValueError(
                f"arms: the {role} arm {arm} is played fewer than {minimum} time(s){where}; "
                "its mean reward cannot be estimated"
            )


def _check_clip(propensity_clip: Any) -> float:
    """A propensity clip lies in [0, 0.5): clipping to [clip, 1 - clip] needs clip < 1/2."""
    clip = check_finite_number(propensity_clip, "propensity_clip")
    if not 0.0 <= clip < 0.5:
        raise ValueError(f"propensity_clip must lie in [0, 0.5), got {clip}")
    return clip


def _normal_estimate(
    method: str, estimate: float, se: float, alpha: float, details: dict[str, Any]
) -> Estimate:
    """Normal interval and p-value; a zero standard error gives the point interval."""
    return Estimate.from_standard_error(method, estimate, se, alpha=alpha, details=details)


def _history_means(
    arms: np.ndarray, rewards: np.ndarray, n_arms: int, prior: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """Posterior-mean reward of each arm from rounds before t: shape (..., n, k)."""
    means = np.empty(arms.shape + (n_arms,))
    for arm in range(n_arms):  # cumulative sums along the contiguous time axis (fast)
        played = arms == arm
        won = played * rewards
        pulls = np.cumsum(played, axis=-1) - played
        wins = np.cumsum(won, axis=-1) - won
        means[..., arm] = (prior[0] + wins) / (prior[0] + prior[1] + pulls)
    return means


# --------------------------------------------------------------------------- core arrays
def _ipw_core(arms, rewards, chosen, treatment, control):
    n = arms.shape[-1]
    score = ((arms == treatment) * rewards - (arms == control) * rewards) / chosen
    est = score.mean(-1)
    se = score.std(-1, ddof=1) / np.sqrt(n)
    return est, se, score


def _snipw_core(arms, rewards, chosen, treatment, control):
    n = arms.shape[-1]
    w_t = (arms == treatment) / chosen
    w_c = (arms == control) / chosen
    sum_t = w_t.sum(-1, keepdims=True)
    sum_c = w_c.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_t = (w_t * rewards).sum(-1, keepdims=True) / sum_t
        mean_c = (w_c * rewards).sum(-1, keepdims=True) / sum_c
        influence = w_t * (rewards - mean_t) / (sum_t / n) - w_c * (rewards - mean_c) / (sum_c / n)
    est = (mean_t - mean_c)[..., 0]
    se = influence.std(-1, ddof=1) / np.sqrt(n)
    return est, se


def _aipw_scores(arms, rewards, chosen, predictions, arm):
    played = arms == arm
    return predictions[..., arm] + played * (rewards - predictions[..., arm]) / chosen


def _aipw_core(arms, rewards, chosen, predictions, treatment, control):
    n = arms.shape[-1]
    score = _aipw_scores(arms, rewards, chosen, predictions, treatment) - _aipw_scores(
        arms, rewards, chosen, predictions, control
    )
    return score.mean(-1), score.std(-1, ddof=1) / np.sqrt(n), score


def _adaptive_aipw_core(arms, rewards, all_arms, predictions, treatment, control):
    chosen = np.take_along_axis(all_arms, arms[..., None], -1)[..., 0]
    gamma = _aipw_scores(arms, rewards, chosen, predictions, treatment) - _aipw_scores(
        arms, rewards, chosen, predictions, control)
    # variance-stabilising weights for the contrast (a signed policy +1/-1):
    # h_t = (1/e_t(treatment) + 1/e_t(control))^(-1/2)
    h = 1.0 / np.sqrt(1.0 / all_arms[..., treatment] + 1.0 / all_arms[..., control])
    total = h.sum(-1, keepdims=True)
    estimate = (h * gamma).sum(-1, keepdims=True) / total
    se = np.sqrt((h**2 * (gamma - estimate) ** 2).sum(-1)) / total[..., 0]
    return estimate[..., 0], se


def _naive_core(arms, rewards, treatment, control):
    played_t = arms == treatment
    played_c = arms == control
    n_t = played_t.sum(-1)
    n_c = played_c.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_t = (played_t * rewards).sum(-1) / n_t
        mean_c = (played_c * rewards).sum(-1) / n_c
        var_t = (played_t * (rewards - mean_t[..., None]) ** 2).sum(-1) / (n_t - 1)
        var_c = (played_c * (rewards - mean_c[..., None]) ** 2).sum(-1) / (n_c - 1)
        se = np.sqrt(var_t / n_t + var_c / n_c)
    return mean_t - mean_c, se, n_t, n_c


def _check_contrast(treatment: int, control: int, n_arms: int) -> tuple[int, int]:
    treatment = check_integer(treatment, "treatment", minimum=0)
    control = check_integer(control, "control", minimum=0)
    if treatment >= n_arms:
        raise ValueError(f"treatment must be an arm in 0..{n_arms - 1}, got {treatment}")
    if control >= n_arms:
        raise ValueError(f"control must be an arm in 0..{n_arms - 1}, got {control}")
    if treatment == control:
        raise ValueError("treatment and control must be different arms")
    return treatment, control


def _one_log(arms: Any, name: str = "arms") -> None:
    if np.ndim(arms) != 1:
        raise ValueError(f"{name} must be 1-dimensional (one log); "
                         "use estimate_effects_by_replication for many")


# --------------------------------------------------------------------------- estimators
def estimate_ipw(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    propensity_clip: float = 0.0,
    alpha: float = 0.05,
) -> Estimate:
    r"""Horvitz-Thompson (IPW) estimate of the difference between two arms' mean rewards.

    :math:`\hat\mu_a = n^{-1}\sum_t 1\{A_t = a\} Y_t / \pi_t(a)` is unbiased for the mean
    reward of arm :math:`a` whenever :math:`\pi_t(a)`, the probability the logging policy
    gave arm :math:`a` at round :math:`t` given the past, is known and positive (Horvitz
    and Thompson, 1952). Only the *chosen* arm's propensity is needed.

    The interval is the usual normal one from the sample variance of the per-round scores.
    It is valid for i.i.d. logging (fixed or contextual propensities). Under adaptive
    allocation it covers when every arm keeps an exploration floor (checked by simulation
    in the chapter and tests) and under-covers when propensities collapse towards 0.

    Parameters
    ----------
    arms : array-like of int, shape (n,)
        Arm played at each round, in ``0..k-1``.
    rewards : array-like, shape (n,)
        Observed rewards.
    propensities : array-like, shape (n,) or (n, k)
        The chosen arm's propensity, or every arm's (rows summing to 1).
    treatment, control : int
        The contrast is ``treatment`` minus ``control``.
    n_arms : int, optional
        Number of arms (default: inferred).
    propensity_clip : float
        If positive, propensities below it are raised to it and counted in
        ``details["n_clipped"]``; zero propensities are then allowed. This trades bias for
        variance; report it. Default 0: a zero propensity raises.
    alpha : float
        Two-sided level.

    Returns
    -------
    Estimate
        ``method="ipw"``; details: ``mean_treatment``, ``mean_control``, ``n``,
        ``min_propensity``, ``n_clipped``.

    Raises
    ------
    ValueError
        If arms are not integers in 0..k-1 (``n_arms`` given) or are not numeric, the
        treatment or control arm is never played (its mean would be reported as 0),
        lengths differ, rewards or propensities are not finite, propensities are outside
        (0, 1] (or [0, 1] with clipping) or, given for every arm, do not sum to 1,
        ``propensity_clip`` is outside [0, 0.5), or ``alpha`` is outside (0, 1).
        A log whose scores are constant (e.g. every reward 0) is not an error: the
        standard error is 0 and the interval the point estimate.
    """
    alpha = check_alpha(alpha)
    clip = _check_clip(propensity_clip)
    _one_log(arms)
    arms_, rewards_, chosen, _, k, n_clipped = _check_log(arms, rewards, propensities, n_arms, clip)
    treatment, control = _check_contrast(treatment, control, k)
    _require_played(arms_, treatment, control)
    est, se, _ = _ipw_core(arms_, rewards_, chosen, treatment, control)
    n = len(arms_)
    details = {
        "mean_treatment": float(np.sum((arms_ == treatment) * rewards_ / chosen) / n),
        "mean_control": float(np.sum((arms_ == control) * rewards_ / chosen) / n),
        "n": n,
        "min_propensity": float(chosen.min()),
        "n_clipped": n_clipped,
    }
    return _normal_estimate("ipw", float(est), float(se), alpha, details)


def estimate_snipw(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    propensity_clip: float = 0.0,
    alpha: float = 0.05,
) -> Estimate:
    r"""Self-normalised IPW (Hajek) estimate of the difference between two arms.

    :math:`\hat\mu_a = \sum_t w_t(a) Y_t / \sum_t w_t(a)` with
    :math:`w_t(a) = 1\{A_t=a\}/\pi_t(a)`: slightly biased in small samples, usually less
    variable than :func:`estimate_ipw`. Multiplying every weight of an arm by the same
    constant (a "stabilised" weight) leaves it unchanged. The standard error linearises
    the ratio. Parameters, return and errors as :func:`estimate_ipw` (``method="snipw"``).
    """
    alpha = check_alpha(alpha)
    clip = _check_clip(propensity_clip)
    _one_log(arms)
    arms_, rewards_, chosen, _, k, n_clipped = _check_log(arms, rewards, propensities, n_arms, clip)
    treatment, control = _check_contrast(treatment, control, k)
    _require_played(arms_, treatment, control)
    est, se = _snipw_core(arms_, rewards_, chosen, treatment, control)
    w_t = (arms_ == treatment) / chosen
    w_c = (arms_ == control) / chosen
    details = {
        "mean_treatment": float(np.sum(w_t * rewards_) / np.sum(w_t)),
        "mean_control": float(np.sum(w_c * rewards_) / np.sum(w_c)),
        "n": len(arms_),
        "min_propensity": float(chosen.min()),
        "n_clipped": n_clipped,
    }
    return _normal_estimate("snipw", float(est), float(se), alpha, details)


def _predictions_or_history(outcome_predictions, arms_, rewards_, k):
    if outcome_predictions is None:
        return _history_means(arms_, rewards_, k)
    predictions = as_numeric_array(outcome_predictions, "outcome_predictions", allow_empty=True)
    if predictions.shape != arms_.shape + (k,):
        raise ValueError(
            f"outcome_predictions must have shape {arms_.shape + (k,)}, got {predictions.shape}"
        )
    return predictions


def estimate_aipw(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    outcome_predictions: Any = None,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    propensity_clip: float = 0.0,
    alpha: float = 0.05,
) -> Estimate:
    r"""Augmented IPW (doubly robust) estimate of the difference between two arms.

    Per round and arm, the score is
    :math:`\Gamma_t(a) = \hat m_t(a) + 1\{A_t=a\}\{Y_t - \hat m_t(a)\}/\pi_t(a)`
    (Robins et al., 1994); the estimate is the mean of
    :math:`\Gamma_t(\text{treatment}) - \Gamma_t(\text{control})`. The propensity in the
    correction term is *that arm's* propensity: with logs that store the chosen arm's
    propensity, using it as :math:`P(\text{treatment})` for control rows is wrong.

    Parameters
    ----------
    outcome_predictions : array-like, shape (n, k), optional
        :math:`\hat m_t(a)`. Default: each arm's posterior-mean reward (uniform prior) from
        the rounds *before* t, which keeps the scores unbiased under adaptive logging.
    Other parameters, return and errors as :func:`estimate_ipw` (``method="aipw"``).
    """
    alpha = check_alpha(alpha)
    clip = _check_clip(propensity_clip)
    _one_log(arms)
    arms_, rewards_, chosen, _, k, n_clipped = _check_log(arms, rewards, propensities, n_arms, clip)
    treatment, control = _check_contrast(treatment, control, k)
    _require_played(arms_, treatment, control)
    predictions = _predictions_or_history(outcome_predictions, arms_, rewards_, k)
    est, se, _ = _aipw_core(arms_, rewards_, chosen, predictions, treatment, control)
    details = {"n": len(arms_), "min_propensity": float(chosen.min()), "n_clipped": n_clipped}
    return _normal_estimate("aipw", float(est), float(se), alpha, details)


def estimate_adaptive_aipw(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    outcome_predictions: Any = None,
    treatment: int = 1,
    control: int = 0,
    alpha: float = 0.05,
) -> Estimate:
    r"""Adaptively weighted AIPW (Hadad et al., 2021) for adaptively collected logs.

    Averages the contrast's AIPW scores :math:`\Gamma_t = \Gamma_t(1) - \Gamma_t(0)` with
    variance-stabilising weights for the contrast (a policy putting +1 on ``treatment`` and
    -1 on ``control``), :math:`h_t = \{1/\pi_t(1) + 1/\pi_t(0)\}^{-1/2}`:
    :math:`\hat\tau = \sum_t h_t\Gamma_t / \sum_t h_t`, standard error
    :math:`\{\sum_t h_t^2(\Gamma_t - \hat\tau)^2\}^{1/2} / \sum_t h_t`. The weights
    undo the exploding variance of rounds where an arm is unlikely, so the studentised
    estimate is asymptotically normal even when the allocation keeps adapting. (The
    authors' reference code instead weights each arm's scores by :math:`\pi_t(a)^{1/2}` and
    combines the two arm estimates with a cross-covariance term; in our simulations both
    variants give the same coverage.)

    Assumes the outcome predictions use only past rounds (the default, running posterior
    means) and that propensities do not collapse to 0 too fast. The weights depend on the
    data, so in finite samples the estimate carries some bias (the chapter measures it): in
    our simulations it helps when propensities collapse but does not restore nominal
    coverage there, and with an exploration floor plain :func:`estimate_aipw` covers as well.

    Parameters
    ----------
    propensities : array-like, shape (n, k)
        Every arm's allocation probability at every round (the weights need them).
    Other parameters as :func:`estimate_aipw`.

    Returns
    -------
    Estimate
        ``method="adaptive aipw"`` with a normal interval; details ``mean_treatment``,
        ``mean_control``, ``n``.

    Raises
    ------
    ValueError
        As :func:`estimate_ipw`, and if propensities are given for the chosen arm only.
    """
    alpha = check_alpha(alpha)
    _one_log(arms)
    arms_, rewards_, _, all_arms, k, _ = _check_log(
        arms, rewards, propensities, None, 0.0, need_all_arms=True
    )
    treatment, control = _check_contrast(treatment, control, k)
    _require_played(arms_, treatment, control)
    predictions = _predictions_or_history(outcome_predictions, arms_, rewards_, k)
    est, se = _adaptive_aipw_core(arms_, rewards_, all_arms, predictions, treatment, control)
    details = {"n": len(arms_)}
    return _normal_estimate("adaptive aipw", float(est), float(se), alpha, details)


def estimate_naive_difference(
    arms: Any,
    rewards: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    alpha: float = 0.05,
) -> Estimate:
    """Difference in the arms' sample means with a Wald interval (ignores the design).

    Right for a fixed randomised split; biased and over-confident on adaptively collected
    logs (the arm that looked worse early is sampled less, so its mean stays too low). In
    the package to show that failure.

    Returns
    -------
    Estimate
        ``method="naive difference"``; details ``n_treatment``, ``n_control``.

    Raises
    ------
    ValueError
        If arms are not non-negative integers, lengths differ, or a compared arm has
        fewer than 2 rounds. Constant rewards in both arms give se 0 (a point interval).
    """
    alpha = check_alpha(alpha)
    _one_log(arms)
    arms_, rewards_, _, _, k, _ = _check_log(arms, rewards, np.ones(np.shape(arms)), None, 0.0)
    treatment = check_integer(treatment, "treatment", minimum=0)
    control = check_integer(control, "control", minimum=0)
    treatment, control = _check_contrast(treatment, control, max(k, treatment + 1, control + 1))
    _require_played(arms_, treatment, control, minimum=2)
    est, se, n_t, n_c = _naive_core(arms_, rewards_, treatment, control)
    return _normal_estimate("naive difference", float(est), float(se), alpha,
                            {"n_treatment": int(n_t), "n_control": int(n_c)})


# --------------------------------------------------------------------------- bootstrap
def block_bootstrap_means(
    values: Any,
    block_length: int,
    n_boot: int = 1000,
    *,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Circular moving-block bootstrap of column means, vectorised with index arrays.

    Each replicate concatenates ``ceil(n / block_length)`` blocks of consecutive rows whose
    start rows are drawn uniformly (blocks wrap around the end; Politis and Romano's
    circular version of Kunsch's moving-block bootstrap) and averages them. Block sums are
    precomputed from one cumulative sum, so a replicate costs one gather per block, not per
    row.

    Parameters
    ----------
    values : array-like, shape (..., n) or (..., n, p)
        Rows in time order (leading axes: independent series, e.g. replications).
    block_length : int
        Rows per block, between 1 and n.
    n_boot : int
        Bootstrap replicates.
    rng : numpy.random.Generator, int or None
        Randomness.

    Returns
    -------
    numpy.ndarray, shape (..., n_boot) or (..., n_boot, p)
        Bootstrap means.

    Raises
    ------
    ValueError
        If ``values`` is not finite or ``block_length`` is outside 1..n.
    """
    array = as_numeric_array(values, "values", allow_empty=True)
    if array.ndim == 0 or array.shape[-1] == 0:
        raise ValueError("values must be a non-empty array with a time axis")
    squeeze = False
    if array.ndim == 1:
        array = array[:, None]
        squeeze = True
    n = array.shape[-2]
    block_length = check_integer(block_length, "block_length", minimum=1)
    if block_length > n:
        raise ValueError(f"block_length must be at most the number of rows {n}")
    n_boot = check_integer(n_boot, "n_boot", minimum=1)
    generator = check_rng(rng)
    extended = np.concatenate([array, array[..., : block_length - 1, :]], axis=-2)
    cumulative = np.concatenate(
        [np.zeros(array.shape[:-2] + (1, array.shape[-1])), np.cumsum(extended, axis=-2)], -2
    )
    block_sums = cumulative[..., block_length:, :] - cumulative[..., :-block_length, :][..., :n, :]
    block_sums = block_sums[..., :n, :]
    n_blocks = math.ceil(n / block_length)
    starts = generator.integers(0, n, size=array.shape[:-2] + (n_boot * n_blocks,))
    gathered = np.take_along_axis(block_sums, starts[..., None], axis=-2)
    means = gathered.reshape(array.shape[:-2] + (n_boot, n_blocks, array.shape[-1])).sum(-2)
    means /= n_blocks * block_length
    return means[..., 0] if squeeze else means


def _bootstrap_columns(estimator, arms, rewards, chosen, predictions, treatment, control):
    """Columns whose means determine the estimator, and the map from means to estimate."""
    if estimator == "snipw":
        w_t = (arms == treatment) / chosen
        w_c = (arms == control) / chosen
        columns = np.stack([w_t * rewards, w_t, w_c * rewards, w_c], axis=-1)

        def statistic(m: np.ndarray) -> np.ndarray:
            return m[..., 0] / m[..., 1] - m[..., 2] / m[..., 3]

        return columns, statistic
    if estimator == "ipw":
        _, _, score = _ipw_core(arms, rewards, chosen, treatment, control)
    else:
        _, _, score = _aipw_core(arms, rewards, chosen, predictions, treatment, control)
    return score[..., None], lambda m: m[..., 0]


def _block_bootstrap_arrays(estimator, arms, rewards, chosen, predictions, treatment, control,
                            block_length, n_boot, alpha, generator):
    columns, statistic = _bootstrap_columns(
        estimator, arms, rewards, chosen, predictions, treatment, control
    )
    point = statistic(columns.mean(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        # a SNIPW replicate whose blocks miss an arm is 0/0: dropped (NaN-aware summaries)
        boot = statistic(block_bootstrap_means(columns, block_length, n_boot, rng=generator))
    usable = np.sum(np.isfinite(boot), axis=-1)
    if np.any(usable < 2):
        raise ValueError(
            "block_length: fewer than two bootstrap replicates contain both arms; use "
            "shorter blocks or a longer log"
        )
    boot = np.where(np.isfinite(boot), boot, np.nan)
    low, high = np.nanquantile(boot, [alpha / 2, 1 - alpha / 2], axis=-1)
    return point, np.nanstd(boot, axis=-1, ddof=1), low, high


def estimate_block_bootstrap(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    estimator: str = "ipw",
    block_length: int = 500,
    n_boot: int = 1000,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Percentile interval from a time-block bootstrap of IPW, SNIPW or AIPW.

    The per-round scores are resampled in blocks of consecutive rounds
    (:func:`block_bootstrap_means`), which keeps short-range dependence. It treats the score
    series as stationary; under adaptive allocation the scores' variance drifts with the
    propensities, so the interval can under-cover (the chapter measures by how much).

    Parameters
    ----------
    estimator : {"ipw", "snipw", "aipw"}
        The point estimator (AIPW with running posterior-mean predictions).
    block_length, n_boot, rng
        As :func:`block_bootstrap_means`.
    Other parameters as :func:`estimate_ipw`.

    Returns
    -------
    Estimate
        ``method="<estimator> block bootstrap"``; ``se`` is the bootstrap standard deviation.

    Raises
    ------
    ValueError
        As :func:`estimate_ipw` and :func:`block_bootstrap_means`.
    """
    alpha = check_alpha(alpha)
    check_choice(estimator, "estimator", ("ipw", "snipw", "aipw"))
    rng = check_rng(rng)
    _one_log(arms)
    arms_, rewards_, chosen, _, k, _ = _check_log(arms, rewards, propensities, n_arms, 0.0)
    treatment, control = _check_contrast(treatment, control, k)
    _require_played(arms_, treatment, control)
    predictions = _history_means(arms_, rewards_, k) if estimator == "aipw" else None
    point, sd, low, high = _block_bootstrap_arrays(
        estimator, arms_, rewards_, chosen, predictions, treatment, control, block_length,
        n_boot, alpha, check_rng(rng)
    )
    return Estimate(f"{estimator} block bootstrap", float(point), float(sd), float(low),
                    float(high), alpha,
                    details={"block_length": block_length, "n_boot": n_boot, "n": len(arms_)})


def estimate_effects_by_replication(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    methods: tuple[str, ...] = ("naive difference", "ipw", "snipw", "aipw", "adaptive aipw"),
    block_length: int | None = None,
    n_boot: int = 200,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Every log estimator on many replicated logs at once (for calibration studies).

    Parameters
    ----------
    arms, rewards : array-like, shape (n_reps, n)
    propensities : array-like, shape (n_reps, n, k)
        Every arm's propensity (the adaptive weights need them).
    methods : tuple of str
        Any of ``"naive difference"``, ``"ipw"``, ``"snipw"``, ``"aipw"``,
        ``"adaptive aipw"``, ``"ipw block bootstrap"``, ``"snipw block bootstrap"``,
        ``"aipw block bootstrap"`` (the last three need ``block_length``).
    block_length, n_boot, rng
        For the block bootstrap methods.
    alpha : float
        Two-sided level of the intervals (normal intervals; percentile for bootstraps).

    Returns
    -------
    pandas.DataFrame
        Long format: ``method``, ``replication``, ``estimate``, ``se``, ``ci_low``,
        ``ci_high``.

    Raises
    ------
    ValueError
        As :func:`estimate_ipw` (an arm never played in *any* replication raises, naming
        the replication; ``"naive difference"`` needs two rounds per arm), for an unknown
        or empty ``methods``, or a bootstrap method without ``block_length``.
    """
    alpha = check_alpha(alpha)
    allowed = ("naive difference", "ipw", "snipw", "aipw", "adaptive aipw",
               "ipw block bootstrap", "snipw block bootstrap", "aipw block bootstrap")
    if isinstance(methods, str) or not isinstance(methods, tuple | list) or not methods:
        raise ValueError(f"methods must be a non-empty tuple of method names, got {methods!r}")
    for method in methods:
        check_choice(method, "methods", allowed)
    generator = check_rng(rng)
    if any("bootstrap" in method for method in methods):
        if block_length is None:
            raise ValueError("block_length must be given for block bootstrap methods")
        block_length = check_integer(block_length, "block_length", minimum=1)
    n_boot = check_integer(n_boot, "n_boot", minimum=1)
    if np.ndim(arms) != 2:
        raise ValueError("arms must have shape (n_reps, n)")
    arms_, rewards_, chosen, all_arms, k, _ = _check_log(
        arms, rewards, propensities, None, 0.0, need_all_arms=True
    )
    treatment, control = _check_contrast(treatment, control, k)
    _require_played(arms_, treatment, control,
                    minimum=2 if "naive difference" in methods else 1)
    predictions = _history_means(arms_, rewards_, k)
    z = stats.norm.ppf(1 - alpha / 2)
    frames = []
    for method in methods:
        if method == "naive difference":
            est, se, _, _ = _naive_core(arms_, rewards_, treatment, control)
        elif method == "ipw":
            est, se, _ = _ipw_core(arms_, rewards_, chosen, treatment, control)
        elif method == "snipw":
            est, se = _snipw_core(arms_, rewards_, chosen, treatment, control)
        elif method == "aipw":
            est, se, _ = _aipw_core(arms_, rewards_, chosen, predictions, treatment, control)
        elif method == "adaptive aipw":
            est, se = _adaptive_aipw_core(arms_, rewards_, all_arms, predictions, treatment,
                                          control)
        else:
            est, se, low, high = _block_bootstrap_arrays(
                method.split()[0], arms_, rewards_, chosen, predictions, treatment, control,
                block_length, n_boot, alpha, generator,
            )
        if "bootstrap" not in method:
            low, high = est - z * se, est + z * se
        frames.append(pd.DataFrame({
            "method": method, "replication": np.arange(len(est)), "estimate": est, "se": se,
            "ci_low": low, "ci_high": high,
        }))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- confounded logs
def _fit_logistic_batched(
    features: np.ndarray, outcome: np.ndarray, mask: np.ndarray | None = None,
    n_iterations: int = 25, ridge: float = 1e-8,
) -> np.ndarray:
    """Unpenalised logistic regression by Newton-Raphson, vectorised over leading axes.

    ``features`` (..., n, p) already includes an intercept column if wanted; ``mask``
    (..., n) selects the rows used in each fit. Returns coefficients (..., p). Equal to
    statsmodels' ``Logit`` maximum likelihood (tested); used for fast simulation studies.
    """
    weights_rows = np.ones(outcome.shape) if mask is None else mask.astype(float)
    p = features.shape[-1]
    coef = np.zeros(features.shape[:-2] + (p,))
    eye = np.eye(p) * ridge
    for _ in range(n_iterations):
        eta = (features @ coef[..., None])[..., 0]
        mu = special.expit(eta)
        w = weights_rows * mu * (1 - mu)
        gradient = (np.swapaxes(features, -1, -2) @ (weights_rows * (outcome - mu))[..., None]
                    )[..., 0]
        hessian = np.swapaxes(features * w[..., None], -1, -2) @ features + eye
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        coef = coef + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return coef


def estimate_dr_by_replication(
    propensity_features: Any,
    outcome_features: Any,
    treatment: Any,
    outcome: Any,
    *,
    n_folds: int = 2,
    propensity_clip: float = 0.01,
) -> dict[str, np.ndarray]:
    """IPW with an estimated propensity and cross-fitted DR on many replications at once.

    For each replication (leading axis) fits, on each fold's complement, a logistic
    propensity model on ``propensity_features`` and one logistic outcome model per arm on
    ``outcome_features`` (Newton-Raphson, vectorised; the same maximum-likelihood fits as
    statsmodels), predicts on the held-out fold (cross-fitting; Chernozhukov et al., 2018),
    and returns the Hajek IPW and AIPW estimates of the ATE and the AIPW standard error.
    Folds are contiguous equal blocks of rows (rows are i.i.d.). An intercept is added.

    Parameters
    ----------
    propensity_features : array-like, shape (n_reps, n, p1)
    outcome_features : array-like, shape (n_reps, n, p2)
    treatment : array-like of 0/1, shape (n_reps, n)
    outcome : array-like of 0/1, shape (n_reps, n)
    n_folds : int
        Cross-fitting folds (>= 2).
    propensity_clip : float
        Estimated propensities are clipped to [clip, 1 - clip].

    Returns
    -------
    dict
        ``"ipw"``, ``"dr"``, ``"dr_se"``: arrays of shape (n_reps,).

    Raises
    ------
    ValueError
        If shapes disagree, values are not finite, treatment or outcome is not 0/1, a
        training fold lacks an arm, ``n_folds`` < 2 or ``propensity_clip`` is outside
        [0, 0.5).
    """
    x_e = as_numeric_array(propensity_features, "propensity_features", allow_empty=True)
    x_m = as_numeric_array(outcome_features, "outcome_features", allow_empty=True)
    w = as_numeric_array(treatment, "treatment", allow_empty=True)
    y = as_numeric_array(outcome, "outcome", allow_empty=True)
    if x_e.ndim != 3:
        raise ValueError(f"propensity_features must be (n_reps, n, p), got shape {x_e.shape}")
    if x_m.ndim != 3:
        raise ValueError(f"outcome_features must be (n_reps, n, p), got shape {x_m.shape}")
    if w.shape != x_e.shape[:2] or y.shape != w.shape or x_m.shape[:2] != w.shape:
        raise ValueError(
            f"length mismatch: treatment {w.shape}, outcome {y.shape}, propensity_features "
            f"{x_e.shape[:2]} and outcome_features {x_m.shape[:2]} must agree"
        )
    if np.any((w != 0) & (w != 1)):
        raise ValueError("treatment must be 0 or 1")
    if np.any((y != 0) & (y != 1)):
        raise ValueError("outcome must be 0 or 1 (the outcome models are logistic)")
    n_folds = check_integer(n_folds, "n_folds", minimum=2)
    clip = _check_clip(propensity_clip)
    n = w.shape[1]
    if n < 2 * n_folds:
        raise ValueError(f"n_folds ({n_folds}) leaves fewer than two rows per fold (n = {n})")
    fold = np.arange(n) * n_folds // n
    for f in range(n_folds):
        train = fold != f
        for arm in (0, 1):
            if np.any(np.sum(w[:, train] == arm, axis=1) < 1):
                raise ValueError(
                    f"treatment: a training fold of some replication has no "
                    f"{'treated' if arm else 'control'} rows, so its models are undefined"
                )
    x_e = np.concatenate([np.ones(x_e.shape[:2] + (1,)), x_e], -1)
    x_m = np.concatenate([np.ones(x_m.shape[:2] + (1,)), x_m], -1)
    fold = np.arange(n) * n_folds // n
    e_hat = np.empty_like(w)
    m1 = np.empty_like(w)
    m0 = np.empty_like(w)
    for f in range(n_folds):
        train = fold != f
        test = ~train
        coef_e = _fit_logistic_batched(x_e[:, train], w[:, train])
        coef_1 = _fit_logistic_batched(x_m[:, train], y[:, train], w[:, train] == 1)
        coef_0 = _fit_logistic_batched(x_m[:, train], y[:, train], w[:, train] == 0)
        e_hat[:, test] = special.expit(np.einsum("rnp,rp->rn", x_e[:, test], coef_e))
        m1[:, test] = special.expit(np.einsum("rnp,rp->rn", x_m[:, test], coef_1))
        m0[:, test] = special.expit(np.einsum("rnp,rp->rn", x_m[:, test], coef_0))
    e_hat = np.clip(e_hat, clip, 1 - clip)
    w1 = w / e_hat
    w0 = (1 - w) / (1 - e_hat)
    ipw = (w1 * y).sum(1) / w1.sum(1) - (w0 * y).sum(1) / w0.sum(1)
    score = m1 - m0 + w1 * (y - m1) - w0 * (y - m0)
    return {"ipw": ipw, "dr": score.mean(1), "dr_se": score.std(1, ddof=1) / np.sqrt(n)}


def _check_observational(data, treatment, outcome, covariates, name="covariates"):
    check_columns(data, [])
    if len(data) < 4:
        raise ValueError(f"data must have at least 4 rows, got {len(data)}")
    if isinstance(covariates, str) or not isinstance(covariates, tuple | list):
        raise ValueError(f"{name} must be a list of column names, got {covariates!r}")
    if len(covariates) == 0:
        raise ValueError(f"{name} must name at least one column")
    missing = [column for column in covariates if column not in data.columns]
    if missing:
        raise ValueError(f"{name}: data is missing column(s) {missing}")
    w = column_as_float_array(data, treatment, "treatment")
    w = check_binary(w, f"treatment (column {treatment!r})").astype(float)
    y = column_as_float_array(data, outcome, "outcome")
    x = np.column_stack([column_as_float_array(data, column, name) for column in covariates])
    return w, y, x


def estimate_ipw_estimated_propensity(
    data: pd.DataFrame,
    *,
    treatment: str = "treatment",
    outcome: str = "outcome",
    covariates: tuple[str, ...] | list[str] = ("x1", "x2", "x3"),
    propensity_clip: float = 0.01,
    alpha: float = 0.05,
) -> Estimate:
    r"""Hajek IPW estimate of the ATE with a logistic-regression propensity.

    Fits :math:`\hat e(x) = P(W=1 \mid x)` by unpenalised logistic regression
    (scikit-learn), clips it to ``[clip, 1 - clip]``, and returns
    :math:`\sum W Y/\hat e / \sum W/\hat e - \sum (1-W)Y/(1-\hat e) / \sum (1-W)/(1-\hat e)`.
    Consistent only if the propensity model is right. The standard error treats
    :math:`\hat e` as known, which is conservative for IPW with an estimated propensity
    (Lunceford and Davidian, 2004).

    Returns
    -------
    Estimate
        ``method="ipw (estimated propensity)"``; details ``n``, ``n_clipped``.

    Raises
    ------
    ValueError
        If columns are missing, the treatment is not 0/1 or has one arm only, values are
        not finite, or ``propensity_clip`` is outside [0, 0.5) (the clip range
        ``[clip, 1 - clip]`` must not be empty).
    """
    alpha = check_alpha(alpha)
    clip = _check_clip(propensity_clip)
    w, y, x = _check_observational(data, treatment, outcome, covariates)
    model = LogisticRegression(C=np.inf, max_iter=1000).fit(x, w)
    raw = model.predict_proba(x)[:, 1]
    e_hat = np.clip(raw, clip, 1 - clip)
    n_clipped = int(np.sum((raw < clip) | (raw > 1 - clip)))
    w1 = w / e_hat
    w0 = (1 - w) / (1 - e_hat)
    mean1 = np.sum(w1 * y) / np.sum(w1)
    mean0 = np.sum(w0 * y) / np.sum(w0)
    n = len(y)
    influence = w1 * (y - mean1) / np.mean(w1) - w0 * (y - mean0) / np.mean(w0)
    se = float(influence.std(ddof=1) / np.sqrt(n))
    return _normal_estimate("ipw (estimated propensity)", float(mean1 - mean0), se, alpha,
                            {"n": n, "n_clipped": n_clipped})


def estimate_cross_fitted_dr(
    data: pd.DataFrame,
    *,
    treatment: str = "treatment",
    outcome: str = "outcome",
    covariates: tuple[str, ...] | list[str] = ("x1", "x2", "x3"),
    propensity_covariates: tuple[str, ...] | list[str] | None = None,
    n_folds: int = 5,
    propensity_clip: float = 0.01,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    r"""Cross-fitted doubly robust (AIPW) estimate of the ATE with logistic models.

    On each of ``n_folds`` random folds, fits on the other folds a logistic propensity
    model and one logistic outcome model per arm (scikit-learn, unpenalised), predicts on
    the held-out fold, and averages the AIPW scores
    :math:`\hat m_1 - \hat m_0 + W(Y-\hat m_1)/\hat e - (1-W)(Y - \hat m_0)/(1-\hat e)`
    (Robins et al., 1994; cross-fitting as in Chernozhukov et al., 2018). Consistent if
    *either* model is right; efficient if both are.

    Parameters
    ----------
    covariates : sequence of str
        Columns of the outcome models (and of the propensity model unless
        ``propensity_covariates`` is given).
    propensity_covariates : sequence of str, optional
        Columns of the propensity model.
    n_folds : int
        Cross-fitting folds (>= 2).
    rng : numpy.random.Generator, int or None
        Fold assignment.

    Returns
    -------
    Estimate
        ``method="cross-fitted dr"``; details ``n``, ``n_folds``, ``n_clipped``.

    Raises
    ------
    ValueError
        If columns are missing, the treatment is not 0/1 or has one arm only, the outcome
        is not 0/1, a training fold lacks an arm, ``n_folds`` < 2, ``propensity_clip`` is
        outside [0, 0.5) or ``rng`` is not a Generator, seed or None.
    """
    alpha = check_alpha(alpha)
    clip = _check_clip(propensity_clip)
    n_folds = check_integer(n_folds, "n_folds", minimum=2)
    generator = check_rng(rng)
    w, y, x_m = _check_observational(data, treatment, outcome, covariates)
    x_e = x_m if propensity_covariates is None else _check_observational(
        data, treatment, outcome, propensity_covariates, "propensity_covariates")[2]
    if np.any((y != 0) & (y != 1)):
        raise ValueError("outcome must be 0 or 1 (the outcome models are logistic)")
    n = len(y)
    if n < 2 * n_folds:
        raise ValueError(f"n_folds ({n_folds}) leaves fewer than two rows per fold (n = {n})")
    fold = generator.permutation(np.arange(n) % n_folds)
    for f in range(n_folds):
        for arm in (0, 1):
            if np.sum((fold != f) & (w == arm)) < 1:
                raise ValueError(
                    f"treatment: the training folds leave no {'treated' if arm else 'control'}"
                    " rows for a fold; use fewer folds (n_folds)"
                )
    e_hat = np.empty(n)
    m1 = np.empty(n)
    m0 = np.empty(n)
    for f in range(n_folds):
        train, test = fold != f, fold == f
        e_hat[test] = LogisticRegression(C=np.inf, max_iter=1000).fit(
            x_e[train], w[train]).predict_proba(x_e[test])[:, 1]
        for arm, target in ((1, m1), (0, m0)):
            rows = train & (w == arm)
            target[test] = LogisticRegression(C=np.inf, max_iter=1000).fit(
                x_m[rows], y[rows]).predict_proba(x_m[test])[:, 1]
    n_clipped = int(np.sum((e_hat < clip) | (e_hat > 1 - clip)))
    e_hat = np.clip(e_hat, clip, 1 - clip)
    score = m1 - m0 + w * (y - m1) / e_hat - (1 - w) * (y - m0) / (1 - e_hat)
    return _normal_estimate("cross-fitted dr", float(score.mean()),
                            float(score.std(ddof=1) / np.sqrt(n)), alpha,
                            {"n": n, "n_folds": n_folds, "n_clipped": n_clipped})


# --------------------------------------------------------------------------- off-policy
def policy_value_arrays(
    arms: Any,
    rewards: Any,
    logging_propensities: Any,
    target_probabilities: Any,
    reward_predictions: Any = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    r"""IPW, SNIPW and DR values of a target policy from logs (leading axes allowed).

    With importance weights :math:`w_t = \pi_e(A_t \mid X_t)/\pi_0(A_t \mid X_t)`:
    IPW :math:`\hat V = n^{-1}\sum w_t Y_t`; SNIPW :math:`\sum w_t Y_t / \sum w_t`;
    DR :math:`n^{-1}\sum [\sum_a \pi_e(a\mid X_t)\hat q(X_t,a) + w_t\{Y_t-\hat q(X_t,A_t)\}]`
    (Dudik et al., 2011). The logging policy must give positive probability to every
    action the target policy can take.

    Parameters
    ----------
    arms, rewards : array-like, shape (..., n)
    logging_propensities, target_probabilities : array-like, shape (..., n, k)
        Probabilities of every action under the logging and the target policy.
    reward_predictions : array-like, shape (..., n, k), optional
        :math:`\hat q(x, a)` for DR (fitted on other data). DR is skipped without it.

    Returns
    -------
    dict
        method -> (estimate, standard error) arrays of shape ``(...)``.

    Raises
    ------
    ValueError
        If shapes disagree, values are not finite, probabilities are outside [0, 1] or
        do not sum to 1 per row, the logging propensity of a played arm is 0, the target
        policy can take an action the logging policy never takes, or arms are outside
        0..k-1.
    """
    arms_, rewards_, chosen, logging, k, _ = _check_log(
        arms, rewards, logging_propensities, None, 0.0, need_all_arms=True,
        propensities_name="logging_propensities",
    )
    target = as_numeric_array(target_probabilities, "target_probabilities", allow_empty=True)
    if target.shape != logging.shape:
        raise ValueError(
            f"length mismatch: target_probabilities must have shape {logging.shape} "
            f"(like logging_propensities), got {target.shape}"
        )
    if np.any((target < 0) | (target > 1)):
        raise ValueError("target_probabilities must lie in [0, 1]")
    if np.any(np.abs(target.sum(-1) - 1) > 1e-6):
        raise ValueError("target_probabilities must sum to 1 over the arms in each row")
    if np.any((target > 0) & (logging <= 0)):
        raise ValueError(
            "target_probabilities put weight on an arm the logging policy never plays "
            "(logging_propensities = 0): its value is not identified from these logs"
        )
    n = arms_.shape[-1]
    weight = np.take_along_axis(target, arms_[..., None], -1)[..., 0] / chosen
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    ipw_terms = weight * rewards_
    out["ipw"] = (ipw_terms.mean(-1), ipw_terms.std(-1, ddof=1) / np.sqrt(n))
    if np.any(weight.sum(-1) <= 0):
        raise ValueError(
            "target_probabilities give probability 0 to every logged action (in some log): "
            "the self-normalised value is 0/0"
        )
    value = ipw_terms.sum(-1) / weight.sum(-1)
    influence = weight * (rewards_ - value[..., None]) / weight.mean(-1, keepdims=True)
    out["snipw"] = (value, influence.std(-1, ddof=1) / np.sqrt(n))
    if reward_predictions is not None:
        q = as_numeric_array(reward_predictions, "reward_predictions", allow_empty=True)
        if q.shape != logging.shape:
            raise ValueError(
                f"length mismatch: reward_predictions must have shape {logging.shape} "
                f"(like logging_propensities), got {q.shape}"
            )
        q_chosen = np.take_along_axis(q, arms_[..., None], -1)[..., 0]
        dr_terms = (target * q).sum(-1) + weight * (rewards_ - q_chosen)
        out["dr"] = (dr_terms.mean(-1), dr_terms.std(-1, ddof=1) / np.sqrt(n))
    return out


def estimate_policy_value(
    arms: Any,
    rewards: Any,
    logging_propensities: Any,
    target_probabilities: Any,
    *,
    reward_predictions: Any = None,
    method: str = "dr",
    alpha: float = 0.05,
) -> Estimate:
    """Off-policy value of a target policy from one log (see :func:`policy_value_arrays`).

    Parameters
    ----------
    method : {"ipw", "snipw", "dr"}
        ``"dr"`` needs ``reward_predictions``.
    Other parameters as :func:`policy_value_arrays` for a single log (shape (n,) and (n, k)).

    Returns
    -------
    Estimate
        ``method="<method> policy value"``: the target policy's mean reward per round,
        with a normal interval; details ``n`` and ``effective_sample_size`` of the weights.

    Raises
    ------
    ValueError
        As :func:`policy_value_arrays`; also for ``"dr"`` without predictions.
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", ("ipw", "snipw", "dr"))
    _one_log(arms)
    if method == "dr" and reward_predictions is None:
        raise ValueError("reward_predictions must be given for method='dr'")
    values = policy_value_arrays(arms, rewards, logging_propensities, target_probabilities,
                                 reward_predictions)
    est, se = values[method]
    arms_ = np.asarray(arms, dtype=float).astype(np.int64)
    weight = np.take_along_axis(np.asarray(target_probabilities, float), arms_[:, None], 1)[:, 0]
    weight = weight / np.take_along_axis(np.asarray(logging_propensities, float),
                                         arms_[:, None], 1)[:, 0]
    ess = float(weight.sum() ** 2 / np.sum(weight**2)) if np.any(weight > 0) else 0.0
    return _normal_estimate(f"{method} policy value", float(est), float(se), alpha,
                            {"n": len(arms_), "effective_sample_size": ess})


# --------------------------------------------------------------------------- contextual
@dataclass(frozen=True)
class ContextualRun:
    """Result of :func:`run_contextual_bandit`.

    Attributes
    ----------
    arms : numpy.ndarray, shape (n_reps, n_rounds)
    expected_rewards : numpy.ndarray, shape (n_reps, n_rounds)
        True success probability of the arm played.
    best_rewards : numpy.ndarray, shape (n_reps, n_rounds)
        True success probability of the best arm for that context.
    """

    arms: np.ndarray
    expected_rewards: np.ndarray
    best_rewards: np.ndarray

    def mean_cumulative_regret(self) -> np.ndarray:
        """Cumulative expected regret averaged over replications, shape (n_rounds,)."""
        return np.cumsum((self.best_rewards - self.expected_rewards).mean(axis=0))

    def mean_reward(self) -> float:
        """Average expected reward per round over all rounds and replications."""
        return float(self.expected_rewards.mean())


def run_contextual_bandit(
    environment: Any,
    n_rounds: int,
    *,
    policy: str = "linucb",
    n_reps: int = 1,
    exploration: float = 1.0,
    ridge: float = 1.0,
    rng: np.random.Generator | int | None = None,
) -> ContextualRun:
    r"""Run LinUCB, linear Thompson sampling or context-free Thompson sampling.

    Each arm keeps ridge-regression state :math:`A_a = \lambda I + \sum x x^\top`,
    :math:`b_a = \sum r\,x` (note: the reward times the context, not the reward alone).
    The inverse :math:`A_a^{-1}` is updated by Sherman-Morrison,
    :math:`A^{-1} \leftarrow A^{-1} - A^{-1}xx^\top A^{-1} / (1 + x^\top A^{-1}x)`, in
    :math:`O(d^2)` per step. With :math:`\hat\theta_a = A_a^{-1}b_a` and
    :math:`s_a = \sqrt{x^\top A_a^{-1}x}`:

    - ``"linucb"`` plays :math:`\arg\max_a x^\top\hat\theta_a + \alpha s_a` (Li et al., 2010);
    - ``"linear_thompson"`` plays the argmax of :math:`x^\top\tilde\theta_a` with
      :math:`\tilde\theta_a \sim N(\hat\theta_a, \alpha^2 A_a^{-1})` (Agrawal and Goyal,
      2013); only the scalar :math:`x^\top\tilde\theta_a \sim N(x^\top\hat\theta_a,
      \alpha^2 s_a^2)` matters, so it is drawn directly;
    - ``"thompson"`` ignores the context (Beta-Bernoulli Thompson sampling).

    Vectorised over ``n_reps`` replications; the loop runs over rounds.

    Parameters
    ----------
    environment : object
        Has ``n_arms``, ``n_features``, ``sample_contexts(size, rng) -> (size, d)`` and
        ``reward_probabilities(contexts) -> (..., k)``, e.g.
        :class:`playbook_lib.simulate.ContextualEnvironment`.
    n_rounds, n_reps : int
    policy : {"linucb", "linear_thompson", "thompson"}
    exploration : float
        :math:`\alpha` (non-negative).
    ridge : float
        :math:`\lambda` (positive).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    ContextualRun

    Raises
    ------
    ValueError
        For an unknown policy, sizes that are not positive integers (or too large),
        a negative ``exploration``, a non-positive ``ridge``, an ``environment`` without
        the needed attributes, or an ``rng`` that is not a Generator, seed or None.
    """
    check_choice(policy, "policy", ("linucb", "linear_thompson", "thompson"))
    n_rounds = check_integer(n_rounds, "n_rounds", minimum=1)
    n_reps = check_integer(n_reps, "n_reps", minimum=1)
    exploration = check_positive(exploration, "exploration", strict=False)
    ridge = check_positive(ridge, "ridge")
    generator = check_rng(rng)
    needed = ("n_arms", "n_features", "sample_contexts", "reward_probabilities")
    if not all(hasattr(environment, attribute) for attribute in needed):
        raise ValueError(
            f"environment must have {', '.join(needed)} (e.g. a ContextualEnvironment), "
            f"got {type(environment).__name__}"
        )
    k = check_integer(environment.n_arms, "environment.n_arms", minimum=2)
    d = check_integer(environment.n_features, "environment.n_features", minimum=1)
    cells = max(n_reps * n_rounds, n_reps * k * d * d)
    if cells > _MAX_CELLS:
        raise ValueError(
            f"n_reps = {n_reps} and n_rounds = {n_rounds} with {k} arms and {d} features "
            f"need {cells:.3g} cells (more than {_MAX_CELLS:.0e}): use fewer replications"
        )
    rows = np.arange(n_reps)
    a_inv = np.broadcast_to(np.eye(d) / ridge, (n_reps, k, d, d)).copy()
    b = np.zeros((n_reps, k, d))
    successes = np.zeros((n_reps, k))
    pulls = np.zeros((n_reps, k))
    arms = np.empty((n_reps, n_rounds), dtype=np.int64)
    expected = np.empty((n_reps, n_rounds))
    best = np.empty((n_reps, n_rounds))
    for t in range(n_rounds):
        x = environment.sample_contexts(n_reps, generator)
        probabilities = environment.reward_probabilities(x)
        if policy == "thompson":
            score = generator.beta(1 + successes, 1 + pulls - successes)
        else:
            theta = np.einsum("rkij,rkj->rki", a_inv, b)
            mean = np.einsum("rki,ri->rk", theta, x)
            spread = np.sqrt(np.einsum("ri,rkij,rj->rk", x, a_inv, x))
            if policy == "linucb":
                score = mean + exploration * spread
            else:
                score = mean + exploration * spread * generator.standard_normal((n_reps, k))
        arm = np.argmax(score, axis=1)
        p = probabilities[rows, arm]
        reward = generator.random(n_reps) < p
        if policy == "thompson":
            successes[rows, arm] += reward
            pulls[rows, arm] += 1
        else:
            chosen_inv = a_inv[rows, arm]
            u = np.einsum("rij,rj->ri", chosen_inv, x)
            denominator = 1.0 + np.einsum("ri,ri->r", x, u)
            a_inv[rows, arm] = chosen_inv - u[:, :, None] * u[:, None, :] / denominator[:, None,
                                                                                       None]
            b[rows, arm] += reward[:, None] * x
        arms[:, t] = arm
        expected[:, t] = p
        best[:, t] = probabilities.max(axis=1)
    return ContextualRun(arms, expected, best)


# --------------------------------------------------------------------------- uplift
@dataclass
class MetaLearner:
    """A fitted S-, T- or X-learner; :meth:`predict` returns CATE estimates.

    Build it with :func:`fit_meta_learner`.
    """

    kind: str
    models: dict[str, Any]
    treatment_probability: float
    n_threads: int | None = None

    def predict(self, features: Any) -> np.ndarray:
        """Estimated conditional average treatment effect for each row of ``features``."""
        x = as_float_array(features, "features", ndim=2)
        with threadpool_limits(self.n_threads):
            return self._predict(x)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "s":
            model = self.models["outcome"]
            treated = np.column_stack([x, np.ones(len(x))])
            control = np.column_stack([x, np.zeros(len(x))])
            return model.predict(treated) - model.predict(control)
        if self.kind == "t":
            return self.models["treated"].predict(x) - self.models["control"].predict(x)
        g = self.treatment_probability
        return g * self.models["effect_control"].predict(x) + (1 - g) * self.models[
            "effect_treated"].predict(x)


def _seeded_clone(estimator: Any, generator: np.random.Generator) -> Any:
    """A clone of ``estimator`` whose unset ``random_state`` parameters come from ``generator``."""
    model = clone(estimator)
    params = model.get_params(deep=True)
    unset = {
        name: int(generator.integers(2**31 - 1))
        for name in sorted(params)
        if (name == "random_state" or name.endswith("__random_state")) and params[name] is None
    }
    if unset:
        model.set_params(**unset)
    return model


def fit_meta_learner(
    features: Any,
    treatment: Any,
    outcome: Any,
    *,
    learner: str = "t",
    base_estimator: Any = None,
    treatment_probability: float | None = None,
    n_threads: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> MetaLearner:
    r"""Fit an S-, T- or X-learner of the conditional average treatment effect.

    - S-learner: one model of :math:`Y` on :math:`(X, W)`;
      :math:`\hat\tau(x) = \hat\mu(x, 1) - \hat\mu(x, 0)`.
    - T-learner: one model per arm; :math:`\hat\tau(x) = \hat\mu_1(x) - \hat\mu_0(x)`.
    - X-learner (Kunzel et al., 2019): T-learner models, then imputed effects
      :math:`Y - \hat\mu_0(X)` on treated and :math:`\hat\mu_1(X) - Y` on control rows,
      each regressed on :math:`X`, combined as
      :math:`g\,\hat\tau_0(x) + (1-g)\,\hat\tau_1(x)` with :math:`g` the treatment
      probability (known in a randomised test).

    Parameters
    ----------
    features : array-like, shape (n, p)
        Pre-treatment covariates only (never post-treatment columns such as later visits).
    treatment : array-like of 0/1, shape (n,)
    outcome : array-like, shape (n,)
    learner : {"s", "t", "x"}
    base_estimator : scikit-learn regressor, optional
        Cloned for each model. Default: ``HistGradientBoostingRegressor(max_iter=100,
        learning_rate=0.05, min_samples_leaf=200)``.
    treatment_probability : float, optional
        :math:`g` for the X-learner; default the share of treated rows.
    n_threads : int, optional
        Cap on OpenMP/BLAS threads while fitting and predicting (``threadpoolctl``); 1
        avoids oversubscription when several processes share a few cores. Default: no cap.
    rng : numpy.random.Generator, int or None
        Randomness of the models: each model's ``random_state`` (and any nested
        ``..._random_state`` parameter) left at ``None`` gets its own integer drawn from
        ``rng``, so the fit never reads NumPy's global random state (the default
        estimator's early-stopping split is random above 10,000 rows). A
        ``random_state`` you set yourself is kept.

    Returns
    -------
    MetaLearner

    Raises
    ------
    ValueError
        If shapes disagree, values are not finite, treatment is not 0/1, an arm has
        fewer than two rows, ``learner`` is unknown, ``base_estimator`` is not a
        scikit-learn regressor, or ``rng`` is not a Generator, seed or None.
    """
    check_choice(learner, "learner", ("s", "t", "x"))
    generator = check_rng(rng)
    x = as_float_array(features, "features", ndim=2)
    w = check_binary(treatment, "treatment").astype(float)
    y = as_float_array(outcome, "outcome")
    check_same_length(features=x, treatment=w, outcome=y)
    if min(w.sum(), len(w) - w.sum()) < 2:
        raise ValueError("treatment must have at least two treated and two control rows")
    if base_estimator is None:
        base_estimator = HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.05, min_samples_leaf=200)
    elif not (hasattr(base_estimator, "fit") and hasattr(base_estimator, "predict")
              and hasattr(base_estimator, "get_params")):
        raise ValueError(
            f"base_estimator must be a scikit-learn regressor, got {base_estimator!r}"
        )

    def fresh() -> Any:
        return _seeded_clone(base_estimator, generator)

    g = float(w.mean()) if treatment_probability is None else check_probability(
        treatment_probability, "treatment_probability", allow_zero=False, allow_one=False)
    if n_threads is not None:
        n_threads = check_integer(n_threads, "n_threads", minimum=1)
    treated, control = w == 1, w == 0
    with threadpool_limits(n_threads):
        if learner == "s":
            model = fresh().fit(np.column_stack([x, w]), y)
            return MetaLearner("s", {"outcome": model}, g, n_threads)
        mu1 = fresh().fit(x[treated], y[treated])
        mu0 = fresh().fit(x[control], y[control])
        if learner == "t":
            return MetaLearner("t", {"treated": mu1, "control": mu0}, g, n_threads)
        tau1 = fresh().fit(x[treated], y[treated] - mu0.predict(x[treated]))
        tau0 = fresh().fit(x[control], mu1.predict(x[control]) - y[control])
    return MetaLearner("x", {"effect_treated": tau1, "effect_control": tau0}, g, n_threads)


def _check_uplift_inputs(score, treatment, outcome):
    s = as_float_array(score, "score")
    w = check_binary(treatment, "treatment").astype(float)
    y = as_float_array(outcome, "outcome")
    check_same_length(score=s, treatment=w, outcome=y)
    return s, w, y


def qini_curve(score: Any, treatment: Any, outcome: Any) -> pd.DataFrame:
    r"""The Qini curve of an uplift score on randomised (held-out) data.

    Rank units by ``score`` (highest first). For the top :math:`\phi` share, with
    :math:`Y_T, Y_C` the summed outcomes and :math:`N_T, N_C` the counts of treated and
    control units among them, the Qini value is the incremental number of conversions
    :math:`Q(\phi) = Y_T(\phi) - Y_C(\phi)\,N_T(\phi)/N_C(\phi)` (Radcliffe, 2007), here
    divided by the total number of units so it reads "incremental conversions per unit".
    Random targeting traces the straight line from 0 to :math:`Q(1)`.

    Evaluate on data the model did not see (a held-out randomised sample).

    Returns
    -------
    pandas.DataFrame
        Columns ``fraction`` (0 to 1, first row 0), ``qini`` and ``random``.

    Raises
    ------
    ValueError
        If lengths differ, treatment is not 0/1 or lacks an arm, or values are not finite.
    """
    s, w, y = _check_uplift_inputs(score, treatment, outcome)
    order = np.argsort(-s, kind="stable")
    w_sorted, y_sorted = w[order], y[order]
    n_t = np.cumsum(w_sorted)
    n_c = np.cumsum(1 - w_sorted)
    y_t = np.cumsum(w_sorted * y_sorted)
    y_c = np.cumsum((1 - w_sorted) * y_sorted)
    with np.errstate(invalid="ignore", divide="ignore"):
        qini = np.where(n_c > 0, y_t - y_c * n_t / np.maximum(n_c, 1), 0.0)
    n = len(s)
    fraction = np.arange(n + 1) / n
    qini = np.concatenate([[0.0], qini]) / n
    return pd.DataFrame({"fraction": fraction, "qini": qini, "random": fraction * qini[-1]})


def qini_coefficient(score: Any, treatment: Any, outcome: Any) -> float:
    """Area between the Qini curve and the random-targeting line (Radcliffe, 2007).

    Positive: the score ranks responders to treatment ahead of non-responders; zero:
    no better than random; negative: worse than random. Units: incremental conversions
    per unit times the fraction targeted. Same inputs as :func:`qini_curve`.
    """
    curve = qini_curve(score, treatment, outcome)
    return float(np.trapezoid(curve["qini"] - curve["random"], curve["fraction"]))


def uplift_at_k(
    score: Any, treatment: Any, outcome: Any, fraction: float = 0.1, *, alpha: float = 0.05
) -> Estimate:
    """Difference in outcome rates between treated and control among the top ``fraction``.

    On randomised held-out data this estimates the average effect among the units the
    score ranks highest; a Wald interval from the two arms' sample variances.

    Returns
    -------
    Estimate
        ``method="uplift at k"``; details ``fraction``, ``n_treatment``, ``n_control``.

    Raises
    ------
    ValueError
        If ``fraction`` is outside (0, 1], lengths differ, or an arm has < 2 units in the
        top fraction.
    """
    alpha = check_alpha(alpha)
    fraction = check_probability(fraction, "fraction", allow_zero=False)
    s, w, y = _check_uplift_inputs(score, treatment, outcome)
    top = np.argsort(-s, kind="stable")[: max(int(round(fraction * len(s))), 1)]
    est, se, n_t, n_c = _naive_core(w[top].astype(np.int64), y[top], 1, 0)
    if n_t < 2 or n_c < 2:
        raise ValueError("fraction must leave at least two treated and two control units")
    return _normal_estimate("uplift at k", float(est), float(se), alpha,
                            {"fraction": fraction, "n_treatment": int(n_t),
                             "n_control": int(n_c)})


def estimate_targeting_policy_value(
    score: Any,
    treatment: Any,
    outcome: Any,
    fraction: float,
    *,
    treatment_probability: float = 0.5,
    alpha: float = 0.05,
) -> Estimate:
    r"""Mean outcome per unit if only the top ``fraction`` by score were treated.

    On randomised held-out data with known :math:`P(W=1)=g`, the policy
    :math:`\pi(x) = 1\{x \text{ in the top fraction}\}` has value
    :math:`\hat V = n^{-1}\sum_i Y_i 1\{W_i = \pi(X_i)\}/P(W_i = \pi(X_i))` (IPW), unbiased
    because the test randomised :math:`W`. Compare it with treating nobody (``fraction``
    near 0) or everybody (``fraction=1``).

    Returns
    -------
    Estimate
        ``method="targeting policy value"``; details ``fraction``, ``n``.

    Raises
    ------
    ValueError
        If ``fraction`` is outside [0, 1], ``treatment_probability`` outside (0, 1), or
        inputs are inconsistent.
    """
    alpha = check_alpha(alpha)
    fraction = check_probability(fraction, "fraction")
    g = check_probability(treatment_probability, "treatment_probability", allow_zero=False,
                          allow_one=False)
    s, w, y = _check_uplift_inputs(score, treatment, outcome)
    n = len(s)
    policy = np.zeros(n)
    policy[np.argsort(-s, kind="stable")[: int(round(fraction * n))]] = 1
    probability = np.where(policy == 1, g, 1 - g)
    terms = y * (w == policy) / probability
    return _normal_estimate("targeting policy value", float(terms.mean()),
                            float(terms.std(ddof=1) / np.sqrt(n)), alpha,
                            {"fraction": fraction, "n": n})

