"""Boundary-crossing probabilities by recursive numerical integration.

The Armitage-McPherson-Rowe recursion on the grid of Jennison & Turnbull (2000, ch. 19):
the sub-density of ``Z_k`` on paths that have not yet stopped is carried from look to look
by a normal kernel and integrated with Simpson's rule; the probability of crossing a
boundary at a look uses the exact normal tail of the last increment. Everything else in
:mod:`playbook_lib.sequential` that needs an exact probability (designs, spending,
power) calls :func:`_crossing` or :func:`_solve_spending_bounds` here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import ndtr

from playbook_lib.sequential._checks import (
    _GRID_SIZE,
    _MAX_GRID_SIZE,
    _as_bounds,
    _check_fractions,
    _check_sides,
    _resolve_fractions,
)
from playbook_lib.validation import check_alpha, check_choice, check_finite_number, check_integer

__all__ = ["compute_crossing_probabilities", "compute_naive_peeking_error"]

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # far tails (an extreme drift): the density is 0
        return np.exp(-0.5 * x * x) / _SQRT_2PI


def _grid(mean: float, lower: float, upper: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Jennison & Turnbull (2000, sec. 19.2) grid on (lower, upper) with Simpson weights."""
    i = np.arange(1, 6 * r)
    base = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / i),
        np.where(i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / (6 * r - i))),
    )
    points = mean + base
    inside = points[(points > lower) & (points < upper)]
    nodes = inside
    if lower > points[0]:
        nodes = np.concatenate(([lower], nodes))
    if upper < points[-1]:
        nodes = np.concatenate((nodes, [upper]))
    if nodes.size < 2:  # a very narrow continuation region
        nodes = np.array([lower, upper]) if np.isfinite(lower) and np.isfinite(upper) else nodes
    if nodes.size < 2 or not nodes[-1] > nodes[0]:
        return np.zeros(1), np.zeros(1)
    widths = np.diff(nodes)
    midpoints = nodes[:-1] + widths / 2.0
    z = np.empty(2 * nodes.size - 1)
    z[0::2] = nodes
    z[1::2] = midpoints
    weights = np.zeros_like(z)
    weights[1::2] = 4.0 * widths / 6.0
    weights[0:-1:2] += widths / 6.0
    weights[2::2] += widths / 6.0
    return z, weights


def _first_mass(mean: float, lower: float, upper: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid and mass (density times quadrature weight) of ``Z_1`` inside its boundaries."""
    z, weights = _grid(mean, lower, upper, r)
    return z, weights * _normal_pdf(z - mean)


def _next_mass(
    mass: np.ndarray,
    center: np.ndarray,
    root_t: float,
    sd: float,
    grid_mean: float,
    lower: float,
    upper: float,
    r: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Carry the mass of the paths still running past one look (the recursion's step).

    ``center`` is the mean of the score ``S_k`` given each grid point of the previous look
    and ``sd`` the standard deviation of the increment; returns the new grid and mass.
    """
    new_z, new_weights = _grid(grid_mean, lower, upper, r)
    kernel = _normal_pdf((new_z[:, None] * root_t - center[None, :]) / sd)
    return new_z, new_weights * (kernel @ mass) * (root_t / sd)


def _crossing(
    fractions: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    drift: float,
    r: int = _GRID_SIZE,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of first exit above ``upper`` / below ``lower`` at each look."""
    n_looks = fractions.size
    exit_up = np.zeros(n_looks)
    exit_down = np.zeros(n_looks)
    root_t = np.sqrt(fractions)
    mean = drift * root_t[0]
    exit_up[0] = ndtr(-(upper[0] - mean))
    exit_down[0] = ndtr(lower[0] - mean)
    if n_looks == 1:
        return exit_up, exit_down
    z, mass = _first_mass(mean, lower[0], upper[0], r)
    for k in range(1, n_looks):
        step = fractions[k] - fractions[k - 1]
        sd = math.sqrt(step)
        center = z * root_t[k - 1] + drift * step  # mean of S_k given Z_{k-1} = z
        exit_up[k] = mass @ ndtr(-(upper[k] * root_t[k] - center) / sd)
        exit_down[k] = mass @ ndtr((lower[k] * root_t[k] - center) / sd)
        if k < n_looks - 1:
            z, mass = _next_mass(
                mass, center, root_t[k], sd, drift * root_t[k], lower[k], upper[k], r
            )
    return exit_up, exit_down


def _type_one_by_look(fractions: np.ndarray, bounds: np.ndarray, sides: int) -> np.ndarray:
    """Null probability of stopping for efficacy at each look (either side if two-sided)."""
    lower = -bounds if sides == 2 else np.full(fractions.size, -np.inf)
    up, down = _crossing(fractions, bounds, lower, 0.0)
    return up + down


def _excess_crossing(
    bound: float, mass: np.ndarray, center: np.ndarray, root_t: float, sd: float, target: float
) -> float:
    """P(cross ``bound`` at this look, not before) minus ``target``."""
    return float(mass @ ndtr(-(bound * root_t - center) / sd)) - target


def _solve_spending_bounds(
    fractions: np.ndarray, increments: np.ndarray, sides: int, r: int = _GRID_SIZE
) -> np.ndarray:
    """Boundaries whose exact null crossing probability at look k equals increments[k]."""
    n_looks = fractions.size
    bounds = np.full(n_looks, np.inf)
    root_t = np.sqrt(fractions)
    z = mass = center = None
    for k in range(n_looks):
        target = increments[k] / sides  # per side; the null is symmetric
        if k > 0:
            sd = math.sqrt(fractions[k] - fractions[k - 1])
            center = z * root_t[k - 1]
        if target <= 0:
            bound = np.inf
        elif k == 0:
            bound = float(stats.norm.isf(target))
        elif target >= float(mass.sum()) / sides:  # all that still runs may stop here
            bound = 0.0 if sides == 2 else -np.inf
        else:
            arguments = (mass, center, root_t[k], sd, target)
            high = 1.0
            while _excess_crossing(high, *arguments) > 0:
                high *= 2.0
            bound = optimize.brentq(
                _excess_crossing,
                -40.0 if sides == 1 else 0.0,
                high,
                args=arguments,
                xtol=1e-13,
                rtol=1e-13,
            )
        bounds[k] = bound
        if k < n_looks - 1:
            lower = -bound if sides == 2 else -np.inf
            if k == 0:
                z, mass = _first_mass(0.0, lower, bound, r)
            else:
                z, mass = _next_mass(mass, center, root_t[k], sd, 0.0, lower, bound, r)
    return bounds


def compute_crossing_probabilities(
    information_fractions: Any,
    upper: Any,
    lower: Any = None,
    drift: float = 0.0,
    grid_size: int = _GRID_SIZE,
) -> pd.DataFrame:
    """Probability of first crossing each boundary at each look (exact numerical integration).

    Parameters
    ----------
    information_fractions : array-like of float
        Strictly increasing information fractions in (0, 1].
    upper : float or array-like
        Upper boundaries ``b_k`` on the z scale (``inf`` for "no upper boundary").
    lower : float, array-like or None
        Lower boundaries ``a_k`` (``-inf`` when None).
    drift : float
        Expected z-statistic at full information (0 under the null hypothesis).
    grid_size : int
        Jennison & Turnbull's grid parameter ``r`` (about ``12 r`` points per look).

    Returns
    -------
    pandas.DataFrame
        One row per look: ``information_fraction``, ``upper`` and ``lower`` (probability of
        stopping at this look above ``b_k`` / below ``a_k``, having continued so far),
        ``cumulative_upper``, ``cumulative_lower`` and ``continue`` (probability of still
        running after the look).

    Raises
    ------
    ValueError
        If the fractions are not strictly increasing in (0, 1], a boundary has the wrong
        length or holds NaN, ``lower > upper`` somewhere, ``drift`` is not finite, or
        ``grid_size`` is not an integer in [4, 400].

    Notes
    -----
    The Armitage, McPherson & Rowe (1969) recursion, with the grid and Simpson weights of
    :cite:`jennison2000group` (sec. 19.2); crossing probabilities use the exact normal
    tail of the last increment rather than integrating the density past the boundary.
    """
    fractions = _check_fractions(information_fractions)
    upper = _as_bounds(upper, "upper", fractions.size, np.inf)
    lower = _as_bounds(lower, "lower", fractions.size, -np.inf)
    if np.any(lower > upper):
        look = int(np.argmax(lower > upper)) + 1
        raise ValueError(f"lower must not exceed upper at any look (look {look} does)")
    drift = check_finite_number(drift, "drift")
    grid_size = check_integer(grid_size, "grid_size", minimum=4)
    if grid_size > _MAX_GRID_SIZE:
        raise ValueError(f"grid_size must be at most {_MAX_GRID_SIZE}, got {grid_size}")
    exit_up, exit_down = _crossing(fractions, upper, lower, drift, grid_size)
    return pd.DataFrame(
        {
            "look": np.arange(1, fractions.size + 1),
            "information_fraction": fractions,
            "upper": exit_up,
            "lower": exit_down,
            "cumulative_upper": np.cumsum(exit_up),
            "cumulative_lower": np.cumsum(exit_down),
            "continue": 1.0 - np.cumsum(exit_up + exit_down),
        }
    ).set_index("look")


def compute_naive_peeking_error(
    n_looks: int | None = None,
    information_fractions: Any = None,
    alpha: float = 0.05,
    sides: int = 2,
    method: str = "recursion",
) -> float:
    """Exact type-I error of testing at level ``alpha`` at every look, without adjustment.

    Parameters
    ----------
    n_looks : int, optional
        Number of equally spaced looks (ignored if ``information_fractions`` is given).
    information_fractions : array-like of float, optional
        Strictly increasing information fractions in (0, 1].
    alpha : float
        Nominal level of each look's test.
    sides : {1, 2}
        One-sided (reject when ``Z_k > z_{1-alpha}``) or two-sided (``|Z_k| > z_{1-alpha/2}``).
    method : {"recursion", "multivariate-normal"}
        Recursive numerical integration (default, ~1e-7 accurate or better) or
        :class:`scipy.stats.multivariate_normal` CDF of the box (Genz's algorithm, ~1e-5).

    Returns
    -------
    float
        ``P(reject H0 at some look | H0)``.

    Raises
    ------
    ValueError
        On bad looks, ``alpha`` outside (0, 1), ``sides`` not 1 or 2, or unknown ``method``.
    """
    fractions = _resolve_fractions(n_looks, information_fractions)
    alpha = check_alpha(alpha)
    sides = _check_sides(sides)
    check_choice(method, "method", ("recursion", "multivariate-normal"))
    critical = stats.norm.isf(alpha / sides)
    if method == "recursion":
        return float(_type_one_by_look(fractions, np.full(fractions.size, critical), sides).sum())
    lower = -critical if sides == 2 else -np.inf
    covariance = np.sqrt(
        np.minimum.outer(fractions, fractions) / np.maximum.outer(fractions, fractions)
    )
    inside = stats.multivariate_normal.cdf(
        np.full(fractions.size, critical),
        mean=np.zeros(fractions.size),
        cov=covariance,
        maxpts=1_000_000 * fractions.size,
        abseps=1e-7,
        releps=1e-7,
        lower_limit=np.full(fractions.size, lower),
        rng=np.random.default_rng(0),
    )
    return float(1.0 - inside)
