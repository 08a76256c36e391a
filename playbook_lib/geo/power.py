"""Power, calibration and the minimum detectable lift of a geo test, by simulation.

Every function here draws many geo experiments at once with
:func:`~playbook_lib.simulate.simulate_geo_kpi` (arrays of shape
``(n_sims, n_geos, n_days)``) and analyses them without a Python loop over simulations.
:func:`simulate_did_estimates` returns one :class:`~playbook_lib.Estimates` row per
simulated experiment with its true effect, so rejection rates and coverage come from
:meth:`~playbook_lib.Estimates.rejection_rate` and :meth:`~playbook_lib.Estimates.coverage`;
:func:`simulate_did_power` tabulates power over several lifts on common random numbers;
:func:`compute_minimum_detectable_lift` finds the lift with the wanted power.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import interval_and_p_value
from playbook_lib.geo._checks import _paired_arrays, _welch_arrays
from playbook_lib.results import Estimates
from playbook_lib.simulate.geo_panels import GeoKpiArrays, simulate_geo_kpi
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_choice,
    check_finite_number,
    check_integer,
    check_probability,
    check_rng,
)

__all__ = [
    "DidSimulation",
    "compute_minimum_detectable_lift",
    "simulate_did_estimates",
    "simulate_did_power",
]

_PANEL_OPTIONS = (
    "baseline_mean",
    "baseline_sd",
    "noise_sd",
    "trend_per_day",
    "weekly_amplitude",
    "geo_trend_sd",
    "treated_fraction",
)
_DESIGNS = ("complete", "pairs", "bernoulli")
_ANALYSES = ("did", "paired", "did_normal", "unpaired_post")
_METHODS = {
    "did": "did (welch)",
    "paired": "paired did",
    "did_normal": "did (welch statistic, normal reference)",
    "unpaired_post": "post levels (welch, pairs ignored)",
}
# (estimate, se, df) of every simulated experiment at a lift; df None: normal reference
_Test = Callable[[float], tuple[np.ndarray, np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class DidSimulation:
    """Simulated geo experiments at one lift, analysed, with their truth.

    Attributes
    ----------
    estimates : Estimates
        One row per simulated experiment (the analysis's estimate, se, interval, p-value).
    true_effect : numpy.ndarray
        Each experiment's true average effect per treated geo-day, shape ``(n_sims,)``.
    lift : float
        The multiplicative lift that was simulated.
    """

    estimates: Estimates
    true_effect: np.ndarray = field(repr=False)
    lift: float


def _check_panel_options(panel_options: dict[str, Any]) -> None:
    unknown = sorted(set(panel_options) - set(_PANEL_OPTIONS))
    if unknown:
        raise ValueError(
            f"panel_options: unknown option(s) {unknown}; allowed: {list(_PANEL_OPTIONS)}"
        )


def _simulate_without_effect(
    n_geos: int,
    pre_days: int,
    post_days: int,
    n_sims: int,
    design: str,
    rng: np.random.Generator,
    panel_options: dict[str, Any],
) -> tuple[GeoKpiArrays, np.ndarray, np.ndarray]:
    """One draw of ``n_sims`` experiments without effect: the arrays, each geo's delta and
    each geo's signal (its change per unit of lift: the post-period untreated mean if
    treated, else 0). The delta at lift ``l`` is ``delta0 + l * signal``."""
    check_choice(design, "design", _DESIGNS)
    _check_panel_options(panel_options)
    arrays = simulate_geo_kpi(
        n_sims, n_geos, pre_days, post_days, lift=0.0, design=design, rng=rng, **panel_options
    )
    n_treated = arrays.treated.sum(axis=1)
    if n_treated.min() < 2 or n_treated.max() > n_geos - 2:
        raise ValueError(
            f"design: {design!r} left an arm with fewer than 2 geos in some "
            f"simulations (n_geos={n_geos}); use more geos, complete randomisation or pairs"
        )
    post = arrays.is_post
    delta0 = arrays.kpi[:, :, post].mean(axis=2) - arrays.kpi[:, :, ~post].mean(axis=2)
    signal = arrays.expected_untreated[:, :, post].mean(axis=2) * arrays.treated
    return arrays, delta0, signal


def _simulated_test(
    n_geos: int,
    pre_days: int,
    post_days: int,
    n_sims: int,
    design: str,
    analysis: str | None,
    rng: np.random.Generator,
    panel_options: dict[str, Any],
) -> tuple[_Test, np.ndarray, str]:
    """Simulate once; return the test at any lift, the true effect per unit of lift, and
    the analysis actually used."""
    if analysis is None:
        analysis = "paired" if design == "pairs" else "did"
    check_choice(analysis, "analysis", _ANALYSES)
    if analysis == "paired" and design != "pairs":
        raise ValueError("analysis='paired' needs design='pairs'")
    arrays, delta0, signal = _simulate_without_effect(
        n_geos, pre_days, post_days, n_sims, design, rng, panel_options
    )
    post_level = arrays.kpi[:, :, arrays.is_post].mean(axis=2)

    def test(lift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if analysis == "unpaired_post":
            return _welch_arrays(post_level + lift * signal, arrays.treated)
        if analysis == "paired":
            estimate, se, n_pairs = _paired_arrays(
                delta0 + lift * signal, arrays.treated, arrays.pair
            )
            return estimate, se, np.full(estimate.shape, n_pairs - 1.0)
        estimate, se, df = _welch_arrays(delta0 + lift * signal, arrays.treated)
        return estimate, se, (None if analysis == "did_normal" else df)

    truth_per_lift = signal.sum(axis=1) / arrays.treated.sum(axis=1)
    return test, truth_per_lift, analysis


def _check_lift(lift: Any, name: str) -> float:
    if isinstance(lift, bool | np.bool_):
        raise ValueError(f"{name} must be a number, got {lift!r}")
    return check_finite_number(lift, name)


def simulate_did_estimates(
    n_geos: int = 40,
    pre_days: int = 28,
    post_days: int = 14,
    lift: float = 0.05,
    *,
    n_sims: int = 1000,
    design: str = "complete",
    analysis: str | None = None,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
    **panel_options: Any,
) -> DidSimulation:
    """Simulate ``n_sims`` geo experiments at one lift and analyse each: the Monte Carlo
    sample behind a type-I error, power or coverage claim.

    Draws the experiments with :func:`~playbook_lib.simulate.simulate_geo_kpi` (arrays of
    shape ``(n_sims, n_geos, days)``, no loop over simulations), adds the lift to the
    treated geos' post period and analyses every experiment as :func:`simulate_did_power`
    does. Read the calibration off the result: ``result.estimates.rejection_rate()`` (the
    type-I error at ``lift=0``, power otherwise) and
    ``result.estimates.coverage(result.true_effect)``, each with its Monte Carlo standard
    error and Wilson interval.

    Parameters
    ----------
    n_geos, pre_days, post_days : int
        Geos and days before and during the test.
    lift : float
        Multiplicative lift (0.05 is +5 %); 0 simulates A/A tests.
    n_sims : int
        Simulated experiments.
    design : {"complete", "pairs", "bernoulli"}
        The assignment design.
    analysis : {"did", "paired", "did_normal", "unpaired_post"} or None
        ``"did"``: Welch t on per-geo deltas (the default, and for ``design="pairs"`` the
        default is ``"paired"``, the paired t on deltas); ``"did_normal"`` (the Welch
        statistic with normal critical values) and ``"unpaired_post"`` (Welch on
        post-period levels, ignoring the pairs) exist only to show pitfalls.
    alpha : float
        One minus the intervals' coverage.
    rng : numpy.random.Generator or int or None
        Random generator or seed.
    **panel_options
        Passed to :func:`~playbook_lib.simulate.simulate_geo_kpi` (``noise_sd``,
        ``baseline_sd``, ``weekly_amplitude``, ``trend_per_day``, ...).

    Returns
    -------
    DidSimulation
        ``estimates`` (one row per experiment, labels ``0 .. n_sims - 1``),
        ``true_effect`` (per experiment: the mean over treated geos of ``lift`` times
        their untreated post-period KPI) and ``lift``. An experiment whose standard error
        is zero gets the se -> 0 limit (a point interval).

    Raises
    ------
    ValueError
        Bad sizes, a lift that is not a finite number, an unknown design, analysis or
        panel option, ``analysis="paired"`` without pairs, a design that leaves an arm
        with fewer than 2 geos, an invalid ``alpha`` or a bad ``rng``.
    """
    alpha = check_alpha(alpha)
    rng = check_rng(rng)
    lift = _check_lift(lift, "lift")
    test, truth_per_lift, analysis = _simulated_test(
        n_geos, pre_days, post_days, n_sims, design, analysis, rng, panel_options
    )
    estimate, se, df = test(lift)
    estimates = Estimates.from_standard_errors(_METHODS[analysis], estimate, se, alpha=alpha, df=df)
    return DidSimulation(estimates, lift * truth_per_lift, lift)


def simulate_did_power(
    n_geos: int = 40,
    pre_days: int = 28,
    post_days: int = 14,
    lifts: float | np.ndarray = 0.05,
    *,
    n_sims: int = 1000,
    design: str = "complete",
    analysis: str | None = None,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
    **panel_options: Any,
) -> pd.DataFrame:
    """Power of the geo DiD test by simulation, vectorised over simulations, for each lift.

    Draws ``n_sims`` geo experiments with :func:`~playbook_lib.simulate.simulate_geo_kpi`
    (arrays of shape ``(n_sims, n_geos, days)``) under no effect, and adds each lift to the
    same draws (common random numbers, so the power curve is smooth and monotone in
    expectation). Each experiment is analysed by Welch's t on per-geo deltas
    (``analysis="did"``) or by the paired t-test (``analysis="paired"``, the default for
    ``design="pairs"``). For one lift, :func:`simulate_did_estimates` returns the
    experiments themselves.

    Parameters
    ----------
    n_geos, pre_days, post_days : int
        Geos and days before and during the test.
    lifts : float or array of float
        Multiplicative lifts (0.05 is +5 %); 0 gives the type-I error.
    n_sims : int
        Simulated experiments.
    design : {"complete", "pairs", "bernoulli"}
        The assignment design.
    analysis : {"did", "paired", "did_normal", "unpaired_post"} or None
        The test, as in :func:`simulate_did_estimates`.
    alpha : float
        Significance level.
    rng : numpy.random.Generator or int or None
        Random generator or seed.
    **panel_options
        Passed to :func:`~playbook_lib.simulate.simulate_geo_kpi` (``noise_sd``,
        ``baseline_sd``, ``weekly_amplitude``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per lift: ``lift``, ``power`` (share of experiments whose p-value is below
        ``alpha``), ``mc_se`` (its Monte Carlo standard error), ``power_ci_low`` and
        ``power_ci_high`` (its 95 % Wilson interval), ``mean_estimate``,
        ``mean_true_effect`` and ``coverage`` (share of intervals covering the true
        effect). A simulated experiment whose standard error is zero (e.g. ``noise_sd=0``
        and ``baseline_sd=0``) is judged by the se -> 0 limit of its test: it rejects
        exactly when its estimate is not zero.

    Raises
    ------
    ValueError
        Bad sizes, lifts that are not finite numbers, an unknown design, analysis or
        panel option, a design that leaves an arm with fewer than 2 geos, or a bad
        ``rng``.
    """
    alpha = check_alpha(alpha)
    rng = check_rng(rng)
    if isinstance(lifts, bool | np.bool_):
        raise ValueError(f"lifts must be numbers, got {lifts!r}")
    lifts_array = as_float_array(np.atleast_1d(lifts), "lifts")
    test, truth_per_lift, analysis = _simulated_test(
        n_geos, pre_days, post_days, n_sims, design, analysis, rng, panel_options
    )
    rows = []
    for lift in lifts_array:  # a few lifts; each is vectorised over the simulations
        estimate, se, df = test(float(lift))
        estimates = Estimates.from_standard_errors(
            _METHODS[analysis], estimate, se, alpha=alpha, df=df
        )
        power = estimates.rejection_rate(alpha=alpha)
        truth = lift * truth_per_lift
        rows.append(
            {
                "lift": float(lift),
                "power": power.estimate,
                "mc_se": power.se,
                "power_ci_low": power.ci_low,
                "power_ci_high": power.ci_high,
                "mean_estimate": float(np.mean(estimate)),
                "mean_true_effect": float(truth.mean()),
                "coverage": estimates.coverage(truth).estimate,
            }
        )
    return pd.DataFrame(rows)


def compute_minimum_detectable_lift(
    n_geos: int = 40,
    pre_days: int = 28,
    post_days: int = 14,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    n_sims: int = 1000,
    design: str = "complete",
    rng: np.random.Generator | int | None = None,
    **panel_options: Any,
) -> dict[str, float]:
    """Minimum detectable relative lift of the geo DiD test, by simulation.

    Simulates ``n_sims`` experiments once (:func:`~playbook_lib.simulate.simulate_geo_kpi`)
    and finds by bisection the smallest multiplicative lift whose simulated power, on
    those same draws, reaches ``power`` (Welch t on deltas; the paired t-test for
    ``design="pairs"``) :cite:`vaver2011geo`. Simulation captures what a formula misses:
    the t distribution's small degrees of freedom and the extra spread a multiplicative
    lift adds across geos of different sizes. Check the answer on fresh draws with
    :func:`simulate_did_power`.

    Parameters
    ----------
    n_geos, pre_days, post_days : int
        Geos and days before and during the test.
    power : float
        Wanted power, in (alpha, 1).
    alpha : float
        Significance level.
    n_sims : int
        Simulated experiments (at least 2).
    design : {"complete", "pairs", "bernoulli"}
        The assignment design.
    rng : numpy.random.Generator or int or None
        Random generator or seed.
    **panel_options
        Passed to :func:`~playbook_lib.simulate.simulate_geo_kpi`.

    Returns
    -------
    dict
        ``mde_lift`` (relative), ``mde_absolute`` (KPI units per treated geo-day),
        ``power`` (simulated power at the MDE: the share of experiments rejecting at
        ``alpha`` with a positive estimate), and ``null_estimator_sd`` (sd of the estimate
        without effect).

    Raises
    ------
    ValueError
        Bad sizes or probabilities, an unknown design or panel option, a design that
        leaves an arm with < 2 geos, a KPI without signal, or a bad ``rng``.
    """
    alpha = check_alpha(alpha)
    rng = check_rng(rng)
    n_sims = check_integer(n_sims, "n_sims", minimum=2)
    power = check_probability(power, "power", allow_zero=False, allow_one=False)
    if power <= alpha:
        raise ValueError(f"power must exceed alpha, got {power}")
    test, truth_per_lift, _ = _simulated_test(
        n_geos, pre_days, post_days, n_sims, design, None, rng, panel_options
    )

    def power_at(lift: float) -> float:
        estimate, se, df = test(lift)
        p_value = interval_and_p_value(estimate, se, alpha, "two-sided", df)[2]
        return float(np.mean((p_value < alpha) & (estimate > 0)))

    low, high = 0.0, 0.01
    while power_at(high) < power:
        low, high = high, 2 * high
        if high > 1e6:
            raise ValueError("power cannot be reached at any lift: the KPI has no signal")
    for _ in range(40):
        middle = 0.5 * (low + high)
        if power_at(middle) >= power:
            high = middle
        else:
            low = middle
    return {
        "mde_lift": high,
        "mde_absolute": high * float(truth_per_lift.mean()),
        "power": power_at(high),
        "null_estimator_sd": float(np.std(test(0.0)[0], ddof=1)),
    }
