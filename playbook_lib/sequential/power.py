"""What a design costs and does: power, sample size, and its decisions on simulated paths.

:func:`compute_power` and :func:`compute_drift_for_power` by the exact recursion;
:func:`compute_design_characteristics` (inflation factor, maximum and expected sample
size, relative to a fixed-horizon test); :func:`batch_estimate_at_stop` runs a design on
many z-paths at once and returns one row per path (an :class:`~playbook_lib.Estimates`
table, so Monte Carlo rejection rates come with their standard errors).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from playbook_lib.results import Estimates
from playbook_lib.sequential.designs import GroupSequentialDesign, _check_design
from playbook_lib.sequential.recursion import _crossing
from playbook_lib.validation import as_float_array, check_alpha, check_finite_number, check_flag

__all__ = [
    "batch_estimate_at_stop",
    "compute_design_characteristics",
    "compute_drift_for_power",
    "compute_operating_characteristics",
    "compute_power",
]


def _stop_probabilities(
    design: GroupSequentialDesign, drift: float, futility: bool
) -> tuple[np.ndarray, np.ndarray]:
    lower = design.lower_bounds
    if design.sides == 1 and not futility:
        lower = np.full(design.n_looks, -np.inf)
    return _crossing(design.information_fractions, design.efficacy_bounds, lower, drift)


def compute_power(
    design: GroupSequentialDesign, drift: float, apply_futility: bool = True
) -> float:
    """Probability that the design rejects H0 when ``E[Z(1)] = drift``.

    Parameters
    ----------
    design : GroupSequentialDesign
        The boundaries.
    drift : float
        Expected z-statistic at full information, ``delta * sqrt(I_max)``.
    apply_futility : bool
        Whether the (non-binding) futility stops are followed.

    Returns
    -------
    float
        Two-sided designs count a rejection in either direction.

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign`, ``drift`` is not finite, or
        ``apply_futility`` is not a bool.
    """
    design = _check_design(design)
    drift = check_finite_number(drift, "drift")
    apply_futility = check_flag(apply_futility, "apply_futility")
    up, down = _stop_probabilities(design, drift, apply_futility)
    return float(up.sum() + (down.sum() if design.sides == 2 else 0.0))


def compute_drift_for_power(
    design: GroupSequentialDesign, power: float = 0.8, apply_futility: bool = True
) -> float:
    """The drift ``E[Z(1)]`` at which the design has the requested power.

    Parameters
    ----------
    design : GroupSequentialDesign
        The boundaries.
    power : float
        Target power, above the design's rejection probability under H0.
    apply_futility : bool
        Whether the (non-binding) futility stops are followed.

    Returns
    -------
    float
        The positive drift (expected z at full information) giving ``power``.

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign`, ``apply_futility`` is not a
        bool, or ``power`` is not in (``P(reject | H0)``, 1).
    """
    design = _check_design(design)
    power = check_alpha(power, "power")
    apply_futility = check_flag(apply_futility, "apply_futility")
    null_power = compute_power(design, 0.0, apply_futility)
    if power <= null_power:
        raise ValueError(
            f"power must exceed the design's rejection probability under H0 "
            f"({null_power:.4g}), got {power}"
        )

    def shortfall(drift: float) -> float:
        return compute_power(design, drift, apply_futility) - power

    high = 10.0
    while shortfall(high) < 0 and high < 1e3:
        high *= 2.0
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-12))


def compute_design_characteristics(design: GroupSequentialDesign, power: float = 0.8) -> pd.Series:
    """Inflation factor, maximum and expected sample size, relative to a fixed design.

    The fixed-horizon test with the same ``alpha`` and power needs drift
    ``z_{1-alpha/sides} + z_{power}``; the sequential design needs a larger drift ``eta``
    at full information, hence ``R = (eta / drift_fixed)^2`` times the fixed sample size
    (the *inflation factor*). Expected sample sizes count the looks where the test stops.

    Parameters
    ----------
    design : GroupSequentialDesign
        The boundaries (futility stops, if any, are followed).
    power : float
        Target power at the alternative.

    Returns
    -------
    pandas.Series
        ``drift_fixed``, ``drift_sequential``, ``inflation_factor`` (max n / fixed n,
        ``t_K (eta / drift_fixed)^2``, which is ``R`` when the last look is at information
        fraction 1), ``expected_n_h0`` and ``expected_n_h1`` (both / fixed n), ``power``,
        and ``type_one_error`` (actual, with futility followed).

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign` or ``power`` is not in
        (``P(reject | H0)``, 1).

    Notes
    -----
    :cite:`jennison2000group` sec. 2.2-2.3 (Tables 2.2, 2.4 tabulate ``R``).
    """
    design = _check_design(design)
    drift_sequential = compute_drift_for_power(design, power)
    drift_fixed = float(stats.norm.isf(design.alpha / design.sides) + stats.norm.ppf(power))
    if not drift_fixed > 0:
        raise ValueError(
            f"power must exceed alpha / sides ({design.alpha / design.sides:.4g}) for the "
            f"fixed-horizon comparison, got {power}"
        )
    inflation = (drift_sequential / drift_fixed) ** 2

    def expected_fraction(drift: float) -> float:
        up, down = _stop_probabilities(design, drift, True)
        stop = up + down
        stop[-1] = 1.0 - stop[:-1].sum()
        return float(stop @ design.information_fractions)

    up0, down0 = _stop_probabilities(design, 0.0, True)
    type_one = up0.sum() + (down0.sum() if design.sides == 2 else 0.0)
    return pd.Series(
        {
            "drift_fixed": drift_fixed,
            "drift_sequential": drift_sequential,
            "inflation_factor": inflation * float(design.information_fractions[-1]),
            "expected_n_h0": inflation * expected_fraction(0.0),
            "expected_n_h1": inflation * expected_fraction(drift_sequential),
            "power": compute_power(design, drift_sequential),
            "type_one_error": float(type_one),
        },
        name=design.method,
    )


def compute_operating_characteristics(
    design: GroupSequentialDesign, drifts: Any, apply_futility: bool = True
) -> pd.DataFrame:
    """Power, expected sample size and early-stopping probabilities at each drift (exact).

    For every drift ``eta`` (expected z at full information, ``delta * sqrt(I_max)``): the
    probability of rejecting H0, the probabilities of stopping at an interim look for
    efficacy and for futility, and the expected information fraction at which the test
    stops, ``E[t_stop] = sum_k t_k P(stop at look k)``: with the last look at fraction 1
    this is the expected sample size as a share of the maximum one.

    Parameters
    ----------
    design : GroupSequentialDesign
        The boundaries.
    drifts : float or array-like of float
        Drifts (finite; negative ones are effects in the other direction).
    apply_futility : bool
        Whether futility stops, if any, are obeyed.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``drift``: ``power`` (two-sided designs: rejection in either direction),
        ``stop_early_efficacy``, ``stop_early_futility`` (at looks before the last),
        ``expected_fraction`` and ``expected_looks`` (the expected number of looks taken).

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign`, ``drifts`` is empty or not
        finite, or ``apply_futility`` is not a bool.

    Notes
    -----
    :cite:`jennison2000group` sec. 2.3 and ch. 19; the same quantities as rpact's
    ``getPowerMeans(design, normalApproximation = TRUE, ...)`` (``overallReject``,
    ``earlyStop``, ``futilityStop``, ``expectedNumberOfSubjects``).
    """
    design = _check_design(design)
    values = np.atleast_1d(as_float_array(drifts, "drifts", ndim=0 if np.ndim(drifts) == 0 else 1))
    apply_futility = check_flag(apply_futility, "apply_futility")
    fractions = design.information_fractions
    rows = []
    for drift in values:
        up, down = _stop_probabilities(design, float(drift), apply_futility)
        if design.sides == 2:
            reject, futile = up + down, np.zeros_like(down)
        else:
            reject, futile = up, down
        stop = reject + futile
        stop[-1] = 1.0 - stop[:-1].sum()
        rows.append(
            {
                "drift": float(drift),
                "power": float(reject.sum()),
                "stop_early_efficacy": float(reject[:-1].sum()),
                "stop_early_futility": float(futile[:-1].sum()),
                "expected_fraction": float(stop @ fractions),
                "expected_looks": float(stop @ np.arange(1, fractions.size + 1)),
            }
        )
    return pd.DataFrame(rows).set_index("drift")


def _stopping(
    design: GroupSequentialDesign, z: np.ndarray, apply_futility: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each path rejects H0, and the 0-based look at which it stops."""
    crossed = (np.abs(z) if design.sides == 2 else z) >= design.efficacy_bounds
    futile = np.zeros_like(crossed)
    if design.sides == 1 and apply_futility and design.futility_bounds is not None:
        futile = z < design.futility_bounds
        futile[:, -1] = ~crossed[:, -1]
    stopped = crossed | futile
    any_stop = stopped.any(axis=1)
    first = np.where(any_stop, stopped.argmax(axis=1), design.n_looks - 1)
    rejected = crossed[np.arange(z.shape[0]), first] & any_stop
    return rejected, first


def batch_estimate_at_stop(
    design: GroupSequentialDesign, z_paths: Any, *, apply_futility: bool = True
) -> Estimates:
    """Run the design on many z-paths at once: one row per path, at the look where it stops.

    Each path stops at its first crossing of an efficacy (or, if followed, futility)
    boundary, or at the last look. Its row reports, on the drift scale (the expected z at
    full information, which ``Z_k / sqrt(t_k)`` estimates), the naive estimate at the
    stopping look and that look's *repeated confidence interval*
    ``(Z_k -/+ b_k) / sqrt(t_k)`` (one-sided designs: ``[(Z_k - b_k) / sqrt(t_k), inf)``),
    which excludes 0 exactly when the design rejects H0 there (Jennison & Turnbull 2000,
    ch. 9). So ``.rejection_rate()`` of the table is the simulated type-I error (under H0)
    or power, with its Monte Carlo standard error and, in ``details``, the distance from
    the design's ``alpha``; ``.bias(drift)`` is the bias of the estimate at stopping.

    Parameters
    ----------
    design : GroupSequentialDesign
        The boundaries.
    z_paths : array-like
        Shape ``(n_paths, K)``, z-statistics at the design's looks (finite).
    apply_futility : bool
        Whether futility stops are followed (a non-binding rule may be ignored).

    Returns
    -------
    Estimates
        One row per path, ``method="repeated confidence interval"``, ``alpha`` the design's
        alpha, ``se = 1 / sqrt(t_k)``, no p-value; extra columns ``look`` (the 1-based look
        at which the path stopped, ``K`` if it ran to the end) and ``rejected`` (whether
        the design rejected H0, by the boundaries: it agrees with the interval except at a
        z exactly on a boundary).

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign`, ``z_paths`` is not a finite
        2-D array with ``K`` columns, or ``apply_futility`` is not a bool.
    """
    design = _check_design(design)
    apply_futility = check_flag(apply_futility, "apply_futility")
    z = as_float_array(z_paths, "z_paths", ndim=2)
    if z.shape[1] != design.n_looks:
        raise ValueError(f"z_paths must have {design.n_looks} columns, got {z.shape[1]}")
    rejected, first = _stopping(design, z, apply_futility)
    z_stop = z[np.arange(z.shape[0]), first]
    root_t = np.sqrt(design.information_fractions[first])
    bound = design.efficacy_bounds[first]
    low = (z_stop - bound) / root_t  # an infinite bound (no stop there): unbounded
    high = (z_stop + bound) / root_t if design.sides == 2 else np.full(z_stop.size, np.inf)
    frame = pd.DataFrame(
        {
            "method": "repeated confidence interval",
            "estimate": z_stop / root_t,
            "se": 1.0 / root_t,
            "ci_low": low,
            "ci_high": high,
            "alpha": design.alpha,
            "p_value": np.nan,
            "df": np.nan,
            "look": first + 1,
            "rejected": rejected,
        }
    )
    return Estimates(frame)
