"""Futility by beta spending: one-sided designs that stop early for efficacy *and* futility.

:func:`design_beta_spending` spends the type-I error ``alpha`` on efficacy bounds (as
:func:`~playbook_lib.sequential.design_alpha_spending` does) and the type-II error
``beta = 1 - power`` on futility bounds, at an alternative (the drift) solved so that the
last futility and efficacy bounds meet: the design has exactly the requested power there.
Futility is binding (the efficacy bounds are solved on the paths that futility leaves
running) or non-binding (solved as if futility were never applied). Every probability is
the exact recursion of ``recursion.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, stats
from scipy.special import ndtr, ndtri

from playbook_lib.sequential._checks import _GRID_SIZE, _check_fractions
from playbook_lib.sequential.designs import GroupSequentialDesign
from playbook_lib.sequential.recursion import (
    _crossing,
    _first_mass,
    _next_mass,
    _solve_spending_bounds,
)
from playbook_lib.sequential.spending import (
    SPENDING_FUNCTIONS,
    _check_spending,
    compute_alpha_spending,
)
from playbook_lib.validation import check_alpha, check_finite_number, check_flag

__all__ = ["design_beta_spending"]

_Z_RANGE = 40.0  # bounds are searched in (-40, 40) on the z scale


def _probability_below(
    bound: float, mass: np.ndarray, center: np.ndarray, root_t: float, sd: float
) -> float:
    """P(reach this look, then ``Z_k < bound``) from the mass of the previous look."""
    return float(mass @ ndtr((bound * root_t - center) / sd))


def _probability_above(
    bound: float, mass: np.ndarray, center: np.ndarray, root_t: float, sd: float
) -> float:
    """P(reach this look, then ``Z_k >= bound``) from the mass of the previous look."""
    return float(mass @ ndtr(-(bound * root_t - center) / sd))


def _solve_bound(
    probability: Any, arguments: tuple[Any, ...], target: float, high_is_more: bool, top: float
) -> float:
    """The z bound at which ``probability(bound, *arguments) == target`` (monotone in it)."""
    low, high = -_Z_RANGE, top
    reachable_low = probability(low, *arguments)
    reachable_high = probability(high, *arguments)
    if high_is_more:  # P(Z < bound) grows with the bound
        if target >= reachable_high:
            return high
        if target <= reachable_low:
            return low
    else:  # P(Z >= bound) falls with the bound
        if target >= reachable_low:
            return low
        if target <= reachable_high:
            return high
    return float(
        optimize.brentq(
            lambda bound: probability(bound, *arguments) - target,
            low,
            high,
            xtol=1e-13,
            rtol=1e-13,
        )
    )


def _futility_path(
    fractions: np.ndarray,
    efficacy: np.ndarray,
    alpha_increments: np.ndarray,
    beta_increments: np.ndarray,
    drift: float,
    binding: bool,
    r: int = _GRID_SIZE,
) -> tuple[np.ndarray, np.ndarray]:
    """Efficacy and futility bounds, look by look, for one drift.

    At look ``k`` the futility bound spends ``beta_increments[k]`` under ``drift`` given
    the bounds of the earlier looks; with ``binding`` the efficacy bound spends
    ``alpha_increments[k]`` under H0 on the paths both bounds have left running (otherwise
    the given ``efficacy`` is kept). An interim futility bound never exceeds its efficacy
    bound (if the budget asks for more, every path still running stops there); the last
    futility bound is unconstrained, so that it can be compared with the last efficacy bound.
    """
    n_looks = fractions.size
    efficacy = efficacy.copy()
    futility = np.empty(n_looks)
    root_t = np.sqrt(fractions)
    z1 = mass1 = center1 = z0 = mass0 = center0 = None
    sd = 1.0
    for k in range(n_looks):
        last = k == n_looks - 1
        if k > 0:
            step = fractions[k] - fractions[k - 1]
            sd = math.sqrt(step)
            center1 = z1 * root_t[k - 1] + drift * step
            if binding:
                center0 = z0 * root_t[k - 1]
        if binding:
            target = alpha_increments[k]
            if k == 0:
                efficacy[k] = np.inf if target <= 0 else float(stats.norm.isf(target))
            elif target <= 0:
                efficacy[k] = np.inf
            else:
                efficacy[k] = _solve_bound(
                    _probability_above,
                    (mass0, center0, root_t[k], sd),
                    target,
                    high_is_more=False,
                    top=_Z_RANGE,
                )
        target = beta_increments[k]
        top = _Z_RANGE if last else min(efficacy[k], _Z_RANGE)
        if target <= 0:
            bound = -np.inf
        elif k == 0:
            bound = min(drift * root_t[0] + float(ndtri(target)), top)
        else:
            bound = _solve_bound(
                _probability_below,
                (mass1, center1, root_t[k], sd),
                target,
                high_is_more=True,
                top=top,
            )
        futility[k] = bound
        if not last:
            if k == 0:
                z1, mass1 = _first_mass(drift * root_t[0], bound, efficacy[k], r)
                if binding:
                    z0, mass0 = _first_mass(0.0, bound, efficacy[k], r)
            else:
                z1, mass1 = _next_mass(
                    mass1, center1, root_t[k], sd, drift * root_t[k], bound, efficacy[k], r
                )
                if binding:
                    z0, mass0 = _next_mass(
                        mass0, center0, root_t[k], sd, 0.0, bound, efficacy[k], r
                    )
    return efficacy, futility


def design_beta_spending(
    information_fractions: Any,
    alpha: float = 0.025,
    power: float = 0.8,
    spending: str = "obrien-fleming",
    gamma: float | None = None,
    beta_spending: str = "obrien-fleming",
    beta_gamma: float | None = None,
    binding_futility: bool = False,
) -> GroupSequentialDesign:
    """One-sided design with efficacy bounds by alpha spending and futility bounds by beta spending.

    The efficacy bound at look ``k`` spends ``alpha(t_k) - alpha(t_{k-1})`` under H0; the
    futility bound spends ``beta(t_k) - beta(t_{k-1})`` (``beta(1) = 1 - power``) under the
    alternative, both given the bounds of the earlier looks. The alternative, the drift
    ``eta`` (expected z at full information), is solved so that the last futility bound
    equals the last efficacy bound: then the test always decides at the last look and
    rejects H0 with probability exactly ``power`` at ``eta``, futility stops obeyed. The
    maximum information is ``(eta / (z_{1-alpha} + z_{power}))^2`` times that of a
    fixed-horizon test (see :func:`~playbook_lib.sequential.compute_design_characteristics`
    for it and the expected sample sizes).

    Parameters
    ----------
    information_fractions : array-like of float
        Strictly increasing information fractions in (0, 1], ending at 1.
    alpha : float
        One-sided type-I error.
    power : float
        Power at the alternative the design is sized for; ``1 - power`` is the type-II error
        that the futility bounds spend.
    spending, gamma : str, float or None
        Alpha-spending function and its parameter (see
        :func:`~playbook_lib.sequential.compute_alpha_spending`).
    beta_spending, beta_gamma : str, float or None
        Beta-spending function and its parameter, from the same list, applied with total
        ``1 - power`` (rpact's ``bsOF``, ``bsP``, ``bsKD`` and ``bsHSD`` are
        ``"obrien-fleming"``, ``"pocock"``, ``"power"`` and ``"hwang-shih-decani"``).
    binding_futility : bool
        Binding futility: the efficacy bounds are solved on the paths that futility leaves
        running, so they are lower (the test more powerful for the same maximum
        information) but the type-I error exceeds ``alpha`` if a futility stop is
        overruled. Non-binding (default): the efficacy bounds are those of
        :func:`~playbook_lib.sequential.design_alpha_spending`, and ignoring futility is
        always allowed.

    Returns
    -------
    GroupSequentialDesign
        ``method="beta spending: <alpha spending> / <beta spending>"``, ``sides=1``, with
        ``futility_bounds`` (the last one equals the last efficacy bound),
        ``binding_futility``, ``planned_drift`` (``eta``) and ``cumulative_beta`` (type-II
        error spent by each look at ``eta``).

    Raises
    ------
    ValueError
        If the fractions are not strictly increasing in (0, 1] or do not end at 1, there is
        only one look, ``alpha`` or ``power`` is outside (0, 1) or ``power <= alpha``, a
        spending function is unknown or its parameter invalid, or ``binding_futility`` is
        not a bool.

    Notes
    -----
    :cite:`jennison2000group` sec. 7.3 (error spending for both boundaries); the
    construction (shift solved so that the last critical values coincide) and the
    spending-function names are rpact's ``getDesignGroupSequential(..., typeBetaSpending =
    "bsOF", bindingFutility = ...)`` :cite:`wassmer2016group`, whose bounds, power and
    expected sample sizes the tests reproduce.
    """
    fractions = _check_fractions(information_fractions, end_at_one=True)
    if fractions.size < 2:
        raise ValueError(
            "information_fractions must hold at least two looks (a futility bound needs an "
            f"interim look), got {fractions.tolist()}"
        )
    alpha = check_alpha(alpha)
    power = check_alpha(power, "power")
    if not power > alpha:
        raise ValueError(f"power must exceed alpha ({alpha:g}), got {power:g}")
    spending = _check_spending(spending, gamma)
    gamma = None if gamma is None else check_finite_number(gamma, "gamma")
    if not isinstance(beta_spending, str) or beta_spending not in SPENDING_FUNCTIONS:
        raise ValueError(
            f"beta_spending must be one of {SPENDING_FUNCTIONS!r}, got {beta_spending!r}"
        )
    beta_gamma = None if beta_gamma is None else check_finite_number(beta_gamma, "beta_gamma")
    binding_futility = check_flag(binding_futility, "binding_futility")
    try:  # the spending-function checks, with the argument named as this function knows it
        _check_spending(beta_spending, beta_gamma)
        beta_cumulative = compute_alpha_spending(
            fractions, 1.0 - power, beta_spending, 1, beta_gamma
        )
    except ValueError as error:
        message = str(error)
        raise ValueError("beta_" + message if message.startswith("gamma") else message) from None
    alpha_increments = np.diff(
        compute_alpha_spending(fractions, alpha, spending, 1, gamma), prepend=0.0
    )
    beta_increments = np.diff(beta_cumulative, prepend=0.0)
    efficacy = _solve_spending_bounds(fractions, alpha_increments, 1)

    def gap(drift: float) -> float:
        bounds, futility = _futility_path(
            fractions, efficacy, alpha_increments, beta_increments, drift, binding_futility
        )
        return futility[-1] - bounds[-1]

    high = float(stats.norm.isf(alpha) + stats.norm.ppf(power))
    while gap(high) < 0:
        high *= 1.5
        if high > 1e3:  # pragma: no cover - the last futility bound reaches 40 well before
            raise ValueError("power: no drift makes the last futility and efficacy bounds meet")
    drift = float(optimize.brentq(gap, 0.0, high, xtol=1e-12, rtol=1e-13))
    efficacy, futility = _futility_path(
        fractions, efficacy, alpha_increments, beta_increments, drift, binding_futility
    )
    futility[-1] = efficacy[-1]
    null_up, _ = _crossing(
        fractions, efficacy, futility if binding_futility else np.full(fractions.size, -np.inf), 0.0
    )
    _, alternative_down = _crossing(fractions, efficacy, futility, drift)
    return GroupSequentialDesign(
        method=f"beta spending: {spending} / {beta_spending}",
        information_fractions=fractions,
        efficacy_bounds=efficacy,
        alpha=alpha,
        sides=1,
        cumulative_alpha=np.cumsum(null_up),
        futility_bounds=futility,
        spending=spending,
        gamma=gamma,
        binding_futility=binding_futility,
        planned_drift=drift,
        beta_spending=beta_spending,
        beta_gamma=beta_gamma,
        cumulative_beta=np.cumsum(alternative_down),
    )
