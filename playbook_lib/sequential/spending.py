"""Lan-DeMets alpha spending: spending functions and the designs that spend them exactly.

:func:`compute_alpha_spending` evaluates the spending functions of
:data:`SPENDING_FUNCTIONS`; :func:`design_alpha_spending` solves, look by look, the
boundary whose exact null crossing probability equals the increment of alpha (by the
recursion of ``recursion.py``), for planned or unplanned looks;
:func:`compute_group_sequential_decisions` applies such a design to a running experiment,
look by look, with the correlation of the looks actually taken.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib.sequential._checks import _check_fractions, _check_sides
from playbook_lib.sequential.designs import GroupSequentialDesign, _design_from_bounds
from playbook_lib.sequential.recursion import _solve_spending_bounds
from playbook_lib.validation import (
    as_float_array,
    as_numeric_array,
    check_alpha,
    check_choice,
    check_finite_number,
    check_flag,
    check_positive,
    check_same_length,
)

__all__ = [
    "SPENDING_FUNCTIONS",
    "compute_alpha_spending",
    "compute_group_sequential_decisions",
    "design_alpha_spending",
]

#: Spending functions understood by :func:`compute_alpha_spending`.
SPENDING_FUNCTIONS = (
    "obrien-fleming",
    "obrien-fleming-total",
    "pocock",
    "hwang-shih-decani",
    "power",
)


def compute_alpha_spending(
    information_fraction: Any,
    alpha: float = 0.05,
    spending: str = "obrien-fleming",
    sides: int = 2,
    gamma: float | None = None,
) -> np.ndarray:
    """Cumulative type-I error a Lan-DeMets spending function allows by information ``t``.

    Parameters
    ----------
    information_fraction : float or array-like
        Values of ``t`` in [0, 1] (values above 1 are treated as 1).
    alpha : float
        Total type-I error (two-sided when ``sides=2``).
    spending : str
        One of :data:`SPENDING_FUNCTIONS`:

        - ``"obrien-fleming"`` (rpact ``asOF``, gsDesign ``sfLDOF``): each side spends
          ``2 - 2 Phi(z_{1 - a/2} / sqrt(t))`` with ``a = alpha / sides`` the one-sided level,
          so the total is ``sides * (2 - 2 Phi(z_{1 - alpha/(2 sides)} / sqrt(t)))``.
        - ``"obrien-fleming-total"``: Lan & DeMets' formula applied to the *total* two-sided
          alpha, ``2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))``. Same as the above when
          ``sides=1``; spends more early when ``sides=2``.
        - ``"pocock"``: ``alpha * ln(1 + (e - 1) t)``.
        - ``"hwang-shih-decani"``: ``alpha (1 - exp(-gamma t)) / (1 - exp(-gamma))``
          (``alpha t`` when ``gamma = 0``); gamma = -4 resembles O'Brien-Fleming, 1 Pocock.
        - ``"power"`` (Kim-DeMets): ``alpha t ** gamma``, ``gamma > 0``.
    sides : {1, 2}
        Sidedness of the design (matters for ``"obrien-fleming"`` only).
    gamma : float, optional
        Parameter of ``"hwang-shih-decani"`` (default -4, any finite value) or ``"power"``
        (default 3, positive). The other spending functions have no parameter.

    Returns
    -------
    numpy.ndarray
        ``alpha(t)``, non-decreasing, with ``alpha(0) = 0`` and ``alpha(1) = alpha``.

    Raises
    ------
    ValueError
        If ``t`` is empty, negative or not finite, ``alpha`` is outside (0, 1), ``sides``
        is not 1 or 2, ``spending`` is unknown, or ``gamma`` is not finite, not positive
        for ``"power"``, or given for a spending function without a parameter.

    Notes
    -----
    :cite:`lan1983discrete`; :cite:`hwang1990group`; the O'Brien-Fleming-type formula
    follows rpact's ``getSpendingValue`` (``2 * sided * (1 - Phi(z_{1-alpha/(2 sided)} /
    sqrt(t)))``) and gsDesign's ``sfLDOF`` with a one-sided alpha per side.
    """
    if isinstance(information_fraction, bool | np.bool_):
        raise ValueError(f"information_fraction must be numeric, got {information_fraction!r}")
    t = np.atleast_1d(
        as_numeric_array(
            information_fraction, "information_fraction", allow_nan=True, allow_inf=True
        )
    )
    if np.isnan(t).any() or np.isinf(t).any():
        raise ValueError("information_fraction must be finite")
    if np.any(t < 0):
        raise ValueError("information_fraction must be non-negative")
    t = np.minimum(t, 1.0)
    alpha = check_alpha(alpha)
    spending = _check_spending(spending, gamma)
    sides = _check_sides(sides)
    with np.errstate(divide="ignore"):
        if spending == "obrien-fleming":
            side_alpha = alpha / sides
            spent = sides * 2.0 * stats.norm.sf(stats.norm.isf(side_alpha / 2) / np.sqrt(t))
        elif spending == "obrien-fleming-total":
            spent = 2.0 * stats.norm.sf(stats.norm.isf(alpha / 2) / np.sqrt(t))
        elif spending == "pocock":
            spent = alpha * np.log1p((math.e - 1.0) * t)
        elif spending == "hwang-shih-decani":
            gamma = -4.0 if gamma is None else check_finite_number(gamma, "gamma")
            if gamma == 0:
                spent = alpha * t
            elif gamma > 0:
                spent = alpha * np.expm1(-gamma * t) / np.expm1(-gamma)
            else:  # the same ratio, rearranged so that exp(-gamma) cannot overflow
                spent = alpha * np.exp(-gamma * (t - 1.0)) * np.expm1(gamma * t) / np.expm1(gamma)
        else:  # power
            gamma = 3.0 if gamma is None else check_positive(gamma, "gamma")
            with np.errstate(under="ignore"):
                spent = alpha * t**gamma
    spent = np.where(t <= 0, 0.0, spent)
    return np.where(t >= 1, alpha, spent)


def _check_spending(spending: Any, gamma: Any) -> str:
    if not isinstance(spending, str):
        raise ValueError(f"spending must be one of {SPENDING_FUNCTIONS!r}, got {spending!r}")
    check_choice(spending, "spending", SPENDING_FUNCTIONS)
    if gamma is not None:
        gamma = check_finite_number(gamma, "gamma")
        if spending not in ("hwang-shih-decani", "power"):
            raise ValueError(
                f"gamma is a parameter of the 'hwang-shih-decani' and 'power' spending "
                f"functions only; {spending!r} has none (got gamma={gamma})"
            )
    return spending


def design_alpha_spending(
    information_fractions: Any,
    alpha: float = 0.05,
    sides: int = 2,
    spending: str = "obrien-fleming",
    gamma: float | None = None,
    futility_bounds: Any = None,
    spending_times: Any = None,
) -> GroupSequentialDesign:
    """Lan-DeMets alpha-spending design: boundaries that spend exactly ``alpha(t)``.

    At look ``k`` the boundary ``b_k`` solves
    ``P(no earlier stop, |Z_k| >= b_k | H0) = alpha(t_k) - alpha(t_{k-1})`` given the
    boundaries already used, by the exact recursion; the looks need not be planned or
    equally spaced.

    Parameters
    ----------
    information_fractions : array-like of float
        Strictly increasing information fractions in (0, 1]. If the last is below 1 the
        design spends only ``alpha(t_K)`` (set it to 1 at the final analysis).
    alpha : float
        Total type-I error (two-sided when ``sides=2``).
    sides : {1, 2}
        One-sided, or two-sided symmetric.
    spending : str
        A name in :data:`SPENDING_FUNCTIONS` (see :func:`compute_alpha_spending`).
    gamma : float, optional
        Spending-function parameter.
    futility_bounds : float or array-like, optional
        Non-binding futility z per look (``sides=1`` only).
    spending_times : array-like of float, optional
        Times at which ``alpha(.)`` is evaluated, when they differ from the information
        fractions that set the looks' correlation (gsDesign's ``usTime``). Typical use: a
        final analysis reached with more or less information than planned spends all the
        remaining alpha (spending time 1) while the correlation uses the information
        actually observed. Defaults to ``information_fractions``.

    Returns
    -------
    GroupSequentialDesign

    Raises
    ------
    ValueError
        If the fractions or spending times are not strictly increasing in (0, 1] (or differ
        in length), ``alpha`` is outside (0, 1), ``sides`` is not 1 or 2, ``spending`` is
        unknown, ``gamma`` is invalid for it, or a futility bound is invalid (see
        :func:`design_pocock`).

    Notes
    -----
    :cite:`lan1983discrete`; :cite:`jennison2000group` ch. 7. With one-sided alpha 0.025
    and looks at 1/3, 2/3, 1 the O'Brien-Fleming-type bounds are 3.710, 2.511, 1.993, as
    rpact ``getDesignGroupSequential(typeOfDesign = "asOF", kMax = 3)`` reports.
    """
    fractions = _check_fractions(information_fractions)
    alpha = check_alpha(alpha)
    sides = _check_sides(sides)
    spending = _check_spending(spending, gamma)
    if gamma is not None:
        gamma = check_finite_number(gamma, "gamma")
    if spending_times is None:
        times = fractions
    else:
        times = _check_fractions(spending_times, "spending_times")
        if times.size != fractions.size:
            raise ValueError(
                f"spending_times must have one value per look ({fractions.size}), got "
                f"{times.size} (length mismatch)"
            )
    cumulative = compute_alpha_spending(times, alpha, spending, sides, gamma)
    increments = np.diff(cumulative, prepend=0.0)
    bounds = _solve_spending_bounds(fractions, increments, sides)
    return _design_from_bounds(
        f"spending: {spending}",
        fractions,
        bounds,
        alpha,
        sides,
        futility_bounds,
        spending=spending,
        gamma=gamma,
        spending_times=None if spending_times is None else times,
    )


def compute_group_sequential_decisions(
    n_accrued: Any,
    z_statistics: Any,
    n_max: float,
    alpha: float = 0.05,
    sides: int = 2,
    spending: str = "obrien-fleming",
    gamma: float | None = None,
    final: bool = False,
) -> pd.DataFrame:
    """Apply a Lan-DeMets spending design to an experiment as its looks happen.

    Each look spends ``alpha(t_k) - alpha(t_{k-1})`` at the spending time ``t_k = n_k / n_max``
    given the looks actually taken; the correlation between looks always uses the sample
    sizes actually reached, ``corr(Z_i, Z_j) = sqrt(n_i / n_j)``. With ``final=True`` the
    last look is the final analysis and spends all remaining alpha (its spending time is set
    to 1), also when it falls short of or overruns ``n_max``.

    Parameters
    ----------
    n_accrued : array-like of float
        Sample size (or statistical information) at each look so far, positive and strictly
        increasing. Interim looks must stay below ``n_max``; only a final look
        (``final=True``) may reach or overrun it.
    z_statistics : array-like of float
        The finite z-statistic at each look (same length).
    n_max : float
        Planned maximum sample size (information).
    alpha, sides, spending, gamma
        As in :func:`design_alpha_spending`.
    final : bool
        Whether the last look is the final analysis.

    Returns
    -------
    pandas.DataFrame
        One row per look: ``n``, ``information_fraction`` (the spending time), ``z``,
        ``efficacy_z``, ``nominal_p``, ``cumulative_alpha`` and ``decision``
        (``"continue"``, ``"reject H0"``, ``"accept H0"`` at a final look, or
        ``"stopped earlier"``).

    Raises
    ------
    ValueError
        If lengths differ, ``n_accrued`` is not positive and strictly increasing, an
        interim look reaches ``n_max`` (a look at ``n_max`` spends all of alpha: pass
        ``final=True``), ``z_statistics`` is not finite, ``n_max`` is not positive, or
        ``alpha``, ``sides``, ``spending``, ``gamma`` or ``final`` is invalid.
    """
    n = as_float_array(n_accrued, "n_accrued")
    z = as_float_array(z_statistics, "z_statistics")
    check_same_length(n_accrued=n, z_statistics=z)
    if np.any(n <= 0) or np.any(np.diff(n) <= 0):
        raise ValueError(f"n_accrued must be positive and strictly increasing, got {n.tolist()}")
    n_max = check_positive(n_max, "n_max")
    final = check_flag(final, "final")
    interim = n[:-1] if final else n
    if np.any(interim >= n_max):
        look = int(np.argmax(interim >= n_max)) + 1
        raise ValueError(
            f"n_accrued reaches n_max ({n_max:g}) at look {look} ({n[look - 1]:g}): a look at "
            "n_max spends all of alpha, so only the last look may reach it, as the final "
            "analysis (final=True)"
        )
    spending_times = np.minimum(n / n_max, 1.0)
    if final:
        spending_times[-1] = 1.0
    # Proportional to n (so the correlations are right) and equal to n / n_max unless the
    # experiment overran n_max.
    fractions = n / max(n_max, n[-1])
    design = design_alpha_spending(
        fractions, alpha, sides, spending, gamma, spending_times=spending_times
    )
    sides = design.sides
    crossed = (np.abs(z) if sides == 2 else z) >= design.efficacy_bounds
    decisions = np.where(crossed, "reject H0", "continue").astype(object)
    if crossed.any():
        first = int(crossed.argmax())
        decisions[first + 1 :] = "stopped earlier"
    elif final:
        decisions[-1] = "accept H0"
    return pd.DataFrame(
        {
            "look": np.arange(1, n.size + 1),
            "n": n,
            "information_fraction": spending_times,
            "z": z,
            "efficacy_z": design.efficacy_bounds,
            "nominal_p": design.nominal_p_values,
            "cumulative_alpha": design.cumulative_alpha,
            "decision": decisions,
        }
    ).set_index("look")
