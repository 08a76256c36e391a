"""Inference after a group-sequential test has stopped: the stage-wise ordering.

A test that stops early because its estimate crossed a boundary reports an estimate that is
biased away from zero and a naive interval that under-covers: the stopping rule selected the
paths with large early estimates. The stage-wise ordering of the sample space
(:cite:`jennison2000group`, ch. 8; Armitage 1957, Tsiatis, Rosner and Mehta 1984) fixes
this: an outcome that stops at an earlier look through the upper boundary is more extreme
than any later one, and outcomes at the same look are ordered by their z-statistic. With
``P(drift)`` the probability, under a true drift, of an outcome at least as extreme as the
one observed (upward),

- the **stage-wise p-value** is ``P(0)`` (one-sided; the two-sided value doubles the
  smaller tail);
- the **median-unbiased estimate** is the drift where ``P = 1/2``;
- the **adjusted confidence interval** has the drifts where ``P = alpha/2`` and
  ``1 - alpha/2`` as its ends.

``P`` is the probability of crossing the upper boundary before the stopping look plus that
of reaching the stopping look and exceeding the observed z there, computed exactly by the
recursion of :mod:`playbook_lib.sequential.recursion`. Drifts convert to effects through
the standard error at full information. Futility bounds are non-binding in this package,
so they are ignored here (as in rpact's default); a two-sided design's lower boundary is a
stop too, for efficacy in the other direction.

The **repeated confidence intervals** (:cite:`jennison2000group`, ch. 9) are the other
kind of interval a running test can report: at every look, the estimate plus or minus the
look's efficacy boundary times its standard error. They hold their level simultaneously
over all looks (at least ``1 - alpha`` for a two-sided design, ``1 - 2 alpha`` for a
one-sided one), whether or not the test stops by its rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize, stats
from scipy.special import ndtr, ndtri

from playbook_lib.results import Estimate, Estimates
from playbook_lib.sequential._checks import _GRID_SIZE
from playbook_lib.sequential.designs import GroupSequentialDesign, _check_design
from playbook_lib.sequential.recursion import _first_mass, _next_mass
from playbook_lib.validation import (
    as_float_array,
    check_finite_number,
    check_integer,
    check_same_length,
)

__all__ = ["compute_repeated_confidence_intervals", "estimate_after_stop"]

_DRIFT_SPAN = 40.0  # drifts searched: the naive one plus or minus this many z units


def _upper_lower(design: GroupSequentialDesign) -> tuple[np.ndarray, np.ndarray]:
    """The stopping boundaries the ordering uses: non-binding futility is ignored (the test
    may overrule it), binding futility is part of the design's sample space."""
    upper = design.efficacy_bounds.astype(float)
    lower = -upper if design.sides == 2 else np.full(upper.size, -np.inf)
    if design.sides == 1 and design.binding_futility and design.futility_bounds is not None:
        lower = design.futility_bounds.astype(float)
    return upper, lower


def _stagewise_upper_probability(
    fractions: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    drift: float,
    look: int,
    z: np.ndarray,
    r: int = _GRID_SIZE,
) -> np.ndarray:
    """``P(drift)`` for outcomes at (0-based) ``look`` with z-statistics ``z`` (any shape).

    Crossing the upper boundary at an earlier look, plus reaching ``look`` and exceeding
    ``z`` there; vectorised over ``z`` (one recursion serves every value).
    """
    z = np.asarray(z, dtype=float)
    root_t = np.sqrt(fractions[: look + 1])
    mean = drift * root_t[0]
    if look == 0:
        return ndtr(mean - z)
    earlier_up = ndtr(mean - upper[0])  # crossing above at look 1
    grid, mass = _first_mass(mean, lower[0], upper[0], r)
    for k in range(1, look + 1):
        step = fractions[k] - fractions[k - 1]
        sd = math.sqrt(step)
        center = grid * root_t[k - 1] + drift * step  # mean of S_k given Z_{k-1}
        if k == look:
            exceed = ndtr(-(z.reshape(-1, 1) * root_t[k] - center[None, :]) / sd) @ mass
            return earlier_up + exceed.reshape(z.shape)
        earlier_up += float(mass @ ndtr(-(upper[k] * root_t[k] - center) / sd))
        grid, mass = _next_mass(
            mass, center, root_t[k], sd, drift * root_t[k], lower[k], upper[k], r
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _solve_drift(
    fractions: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    look: int,
    z: float,
    target: float,
) -> float:
    """The drift at which the stage-wise probability of the outcome equals ``target``."""
    known: dict[float, float] = {}  # no drift is computed twice (brentq re-evaluates ends)

    def excess(drift: float) -> float:
        if drift not in known:
            value = _stagewise_upper_probability(fractions, upper, lower, drift, look, z)
            known[drift] = float(value) - target
        return known[drift]

    naive = z / math.sqrt(fractions[look])
    # Secant steps from the fixed-sample answer usually converge in a handful of
    # recursions; if they do not, fall back on a bracketing root (always safe).
    root_t = math.sqrt(fractions[look])
    x0 = naive + float(ndtri(target)) / root_t
    x1 = x0 + 0.1 / root_t
    f0, f1 = excess(x0), excess(x1)
    for _ in range(30):
        if f1 == 0.0:
            return x1
        if f1 == f0:
            break
        x2 = x1 - f1 * (x1 - x0) / (f1 - f0)
        if not abs(x2 - naive) < _DRIFT_SPAN:
            break
        x0, f0, x1 = x1, f1, x2
        f1 = excess(x1)
        if abs(x1 - x0) < 1e-10 and abs(f1) < 1e-9:
            return x1
    span = 4.0  # the root is rarely far from the naive drift: widen only when needed
    while excess(naive - span) > 0 or excess(naive + span) < 0:
        span *= 2.0
        if span > _DRIFT_SPAN:
            raise ValueError(f"no drift within {_DRIFT_SPAN} of z / sqrt(t) = {naive:.3g}")
    return float(optimize.brentq(excess, naive - span, naive + span, xtol=1e-10, rtol=1e-12))


def estimate_after_stop(
    design: GroupSequentialDesign,
    stop_look: int,
    estimate: float,
    se: float,
) -> Estimate:
    """Median-unbiased estimate, adjusted interval and p-value of a stopped sequential test.

    The stage-wise ordering (see the module's notes): the p-value is the null probability
    of an outcome at least as extreme as the observed one, the estimate is the effect at
    which the observed outcome is the median one, and the interval inverts the ordering
    at ``design.alpha`` (two-sided for a two-sided design; for a one-sided design of level
    ``alpha`` the interval is two-sided of level ``1 - 2 alpha``, whose lower end is the
    one-sided bound that agrees with the test).

    Parameters
    ----------
    design : GroupSequentialDesign
        The design the test followed (its information fractions are the looks' shares of
        the planned information).
    stop_look : int
        The look (1-based) at which the test stopped: one whose z-statistic crossed the
        efficacy boundary (or, in a design with binding futility, fell below the futility
        bound), or the final look (any z).
    estimate, se : float
        The effect estimate (treatment minus control) and its standard error at that look;
        ``z = estimate / se``.

    Returns
    -------
    Estimate
        Method ``"stage-wise ordering"``: the median-unbiased estimate, its adjusted
        interval (``se`` is the interval's width over ``2 z_{1-alpha/2}``, a normal-scale
        summary) and the two-sided stage-wise p-value; ``details`` has ``look``, ``z``,
        ``one_sided_p_value``, ``naive_estimate`` and ``full_information_se`` (the standard
        error at information fraction 1, which converts drifts to effects).

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign`, ``stop_look`` is not a look
        of the design, ``estimate`` is not finite, ``se`` is not positive and finite, or the
        test stopped before the final look without crossing an efficacy boundary (after a
        non-binding futility stop, or one for another reason, the ordering is undefined:
        report the repeated confidence interval of that look instead).

    Notes
    -----
    Jennison and Turnbull (2000), sections 8.4 and 8.5 :cite:`jennison2000group`. With a
    single look this is the fixed-sample z-test and its interval. Non-binding futility
    bounds are not part of the ordering (the test may overrule them); binding ones (see
    :func:`~playbook_lib.sequential.design_beta_spending`) are, as in rpact. The probabilities are
    exact up to the recursion's quadrature error (about 1e-7); ``tests/test_sequential.py``
    checks the results against rpact and their calibration by simulation.
    """
    design = _check_design(design)
    look = check_integer(stop_look, "stop_look", minimum=1)
    if look > design.n_looks:
        raise ValueError(
            f"stop_look must be a look of the design (1 to {design.n_looks}), got {look}"
        )
    estimate = check_finite_number(estimate, "estimate")
    se = check_finite_number(se, "se")
    if not se > 0:
        raise ValueError(f"se must be positive, got {se}")
    fractions = design.information_fractions.astype(float)
    upper, lower = _upper_lower(design)
    index = look - 1
    z = estimate / se
    crossed = z >= upper[index] or z <= lower[index]
    if index < design.n_looks - 1 and not crossed:
        raise ValueError(
            f"stop_look {look}: z = {z:.3f} did not cross the efficacy boundary "
            f"({upper[index]:.3f}), so the stage-wise ordering does not apply; report the "
            "repeated confidence interval of that look (compute_repeated_confidence_intervals)"
        )
    full_se = se * math.sqrt(fractions[index])
    alpha = design.alpha if design.sides == 2 else 2.0 * design.alpha
    one_sided = float(_stagewise_upper_probability(fractions, upper, lower, 0.0, index, z))
    one_sided = min(max(one_sided, 0.0), 1.0)
    median, low, high = (
        _solve_drift(fractions, upper, lower, index, z, target) * full_se
        for target in (0.5, alpha / 2.0, 1.0 - alpha / 2.0)
    )
    width = high - low
    return Estimate(
        "stage-wise ordering",
        median,
        width / (2.0 * float(stats.norm.isf(alpha / 2.0))),
        low,
        high,
        alpha=alpha,
        p_value=min(1.0, 2.0 * min(one_sided, 1.0 - one_sided)),
        details={
            "look": look,
            "z": z,
            "one_sided_p_value": one_sided,
            "naive_estimate": estimate,
            "full_information_se": full_se,
        },
    )


def compute_repeated_confidence_intervals(
    design: GroupSequentialDesign, estimates: Any, ses: Any
) -> Estimates:
    """Repeated confidence intervals at the looks taken so far.

    At look ``k``, ``estimate_k +/- c_k se_k`` with ``c_k`` the look's efficacy boundary: the
    intervals of all looks cover the true effect simultaneously with probability at least
    ``1 - alpha`` for a two-sided design of level ``alpha`` (``1 - 2 alpha`` for a one-sided
    one), whatever the stopping decisions :cite:`jennison2000group` (ch. 9). So they stay
    valid when a test is stopped or continued against its rule.

    Parameters
    ----------
    design : GroupSequentialDesign
        The design whose boundaries set the widths.
    estimates, ses : array-like of float
        The effect estimates and their standard errors at the first ``m`` looks
        (``m <= design.n_looks``), in look order.

    Returns
    -------
    Estimates
        One row per look (labelled 1 to ``m``), method ``"repeated confidence interval"``,
        ``alpha`` the simultaneous level's complement; ``p_value`` is empty (the design's
        decisions are the test).

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign`, the arrays are not 1-D,
        differ in length, are empty or longer than the design's looks, hold non-finite
        values, or a standard error is not positive.
    """
    design = _check_design(design)
    values = as_float_array(estimates, "estimates")
    errors = as_float_array(ses, "ses")
    check_same_length(estimates=values, ses=errors)
    if values.size > design.n_looks:
        raise ValueError(f"estimates: {values.size} looks given, the design has {design.n_looks}")
    if not np.all(errors > 0):
        raise ValueError("ses must be positive")
    bounds = design.efficacy_bounds[: values.size]
    alpha = design.alpha if design.sides == 2 else 2.0 * design.alpha
    return Estimates.from_arrays(
        "repeated confidence interval",
        values,
        errors,
        values - bounds * errors,
        values + bounds * errors,
        alpha=alpha,
        labels=list(range(1, values.size + 1)),
    )
