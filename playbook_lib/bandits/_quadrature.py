"""Quadrature kernels for Thompson-sampling propensities (private; shared by
:mod:`playbook_lib.bandits.propensities` and :mod:`playbook_lib.bandits.policy`).

Every kernel takes positive Beta parameters that the caller has checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

_NODES_40, _WEIGHTS_40 = np.polynomial.legendre.leggauss(40)
_NODES_12, _WEIGHTS_12 = np.polynomial.legendre.leggauss(12)


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
    # normalised to sum to one. One incomplete-beta evaluation per node gives the smaller
    # of F_wide and 1 - F_wide directly: F = I_x(a, b) left of the wide posterior's mean,
    # 1 - F = I_{1-x}(b, a) right of it. So every term of both sums is a product of
    # accurately known positive numbers (no 1 - p cancellation), and a tiny propensity
    # keeps its relative accuracy, at half the cost of evaluating both.
    left = x <= a_w / (a_w + b_w)
    smaller = special.betainc(
        np.where(left, a_w, b_w), np.where(left, b_w, a_w), np.where(left, x, 1 - x)
    )
    wide_below = np.sum(density * np.where(left, smaller, 1 - smaller), axis=-1)
    wide_above = np.sum(density * np.where(left, 1 - smaller, smaller), axis=-1)
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
    edges = np.sort(
        np.concatenate([np.zeros((len(mean), 1)), points, np.ones((len(mean), 1))], -1), -1
    )
    low, high = edges[:, :-1, None], edges[:, 1:, None]
    # keep the inner panels of positive width (points moved onto each other leave empty
    # ones): the widest first, as many as the row that has the most
    inner_width = (high - low)[:, 1:-1, 0]
    n_inner = max(int(np.max(np.sum(inner_width > 0, axis=1))), 1)
    order = np.argsort(-inner_width, axis=1, kind="stable")[:, :n_inner, None] + 1
    low = np.concatenate([low[:, :1], np.take_along_axis(low, order, 1), low[:, -1:]], 1)
    high = np.concatenate([high[:, :1], np.take_along_axis(high, order, 1), high[:, -1:]], 1)
    parts = []
    for panels, nodes in (
        (slice(0, 1), slice(None)),
        (slice(1, -1), _DE_INNER),
        (slice(-1, None), slice(None)),
    ):
        width = high[:, panels] - low[:, panels]
        with np.errstate(divide="ignore"):
            log_weight = np.log(width) + _DE_LOG_WEIGHT[nodes]
        parts.append(
            (
                (low[:, panels] + width * _DE_U[nodes]).reshape(len(mean), -1),
                ((1 - high[:, panels]) + width * _DE_V[nodes]).reshape(len(mean), -1),  # 1 - x
                log_weight.reshape(len(mean), -1),
            )
        )
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
    cdf[~upper] = special.betainc(
        a_full[~upper], b_full[~upper], np.broadcast_to(xs, shape)[~upper]
    )
    cdf[upper] = special.betaincc(b_full[upper], a_full[upper], np.broadcast_to(ys, shape)[upper])
    ones = np.ones_like(cdf[:, :1, :])
    prefix = np.cumprod(np.concatenate([ones, cdf[:, :-1, :]], 1), 1)
    suffix = np.cumprod(np.concatenate([ones, cdf[:, ::-1, :][:, :-1, :]], 1), 1)[:, ::-1, :]
    usable = np.isfinite(log_weight)[:, None, :] & np.isfinite(log_density)
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        density = np.where(
            usable,
            np.exp(
                np.where(usable, log_density, 0.0) + np.where(usable, log_weight[:, None, :], 0.0)
            ),
            0.0,
        )
    probabilities = np.sum(density * prefix * suffix, axis=-1)
    return probabilities / probabilities.sum(axis=-1, keepdims=True)


def thompson_propensities(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
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


def two_beta_superiority(alpha_a: Any, beta_a: Any, alpha_b: Any, beta_b: Any) -> np.ndarray:
    """P(theta_B > theta_A), accurate for every positive parameter."""
    arrays = np.broadcast_arrays(
        *(np.asarray(v, float) for v in (alpha_a, beta_a, alpha_b, beta_b))
    )
    alpha = np.stack([arrays[0], arrays[2]], -1)
    beta = np.stack([arrays[1], arrays[3]], -1)
    return thompson_propensities(alpha, beta)[..., 1]


# Largest number of closed-form terms (elements x max alpha_b) summed in one block.
_EXACT_BLOCK_TERMS = 4_000_000


def two_beta_exact(
    alpha_a: np.ndarray, beta_a: np.ndarray, alpha_b: np.ndarray, beta_b: np.ndarray
) -> np.ndarray:
    """Closed form for integer alpha_b (Evan Miller's sum), summed in log space.

    One-dimensional arrays of equal length; element ``e`` sums ``alpha_b[e]`` terms. The
    terms of all elements form one padded matrix (unused entries are ``-inf`` in logs), cut
    into row blocks of at most ``_EXACT_BLOCK_TERMS`` entries.
    """
    n_terms = int(alpha_b.max())
    index = np.arange(n_terms)
    rows = max(_EXACT_BLOCK_TERMS // n_terms, 1)
    out = np.empty(len(alpha_a))
    for start in range(0, len(alpha_a), rows):
        block = slice(start, start + rows)
        a_a, b_a = alpha_a[block, None], beta_a[block, None]
        a_b, b_b = alpha_b[block, None], beta_b[block, None]
        terms = (
            special.betaln(a_a + index, b_a + b_b)
            - np.log(b_b + index)
            - special.betaln(1 + index, b_b)
            - special.betaln(a_a, b_a)
        )
        out[block] = np.exp(special.logsumexp(np.where(index < a_b, terms, -np.inf), axis=1))
    return out


def _k_beta_quadrature(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """P(arm j has the largest draw) for k >= 3 independent Betas, composite quadrature.

    Panels break at each posterior's mean and mean +/- 4 and 12 standard deviations, 12
    Gauss-Legendre nodes each: 5k + 1 panels, k densities and CDFs at every node, so the
    cost grows as k^2 (agrees with adaptive quadrature to ~1e-11; tested).
    """
    # further breaks at +/- 1.5 standard deviations cost more nodes and gained no accuracy
    # above 1e-10
    mean, sd = _beta_moments(alpha, beta)
    offsets = np.array([-12.0, -4.0, 0.0, 4.0, 12.0])
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
