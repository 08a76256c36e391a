"""Power, calibration and the minimum detectable lift of a geo test, by simulation.

Every function here draws many geo experiments at once with
:func:`~playbook_lib.simulate.simulate_geo_kpi` (arrays of shape
``(n_sims, n_geos, n_days)``) and analyses them without a Python loop over simulations.
:func:`simulate_did_estimates` returns one :class:`~playbook_lib.Estimates` row per
simulated experiment with its true effect, so rejection rates and coverage come from
:meth:`~playbook_lib.Estimates.rejection_rate` and :meth:`~playbook_lib.Estimates.coverage`;
:func:`simulate_analysis_estimates` analyses the same draws several ways;
:func:`simulate_did_power` tabulates power over several lifts on common random numbers;
:func:`compute_minimum_detectable_lift` finds the lift with the wanted power, and
:func:`simulate_design_comparison` tabulates power and MDE over designs, analyses (DiD, ANCOVA,
paired, stratified, TWFE) and test lengths on common random numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from playbook_lib._kernels import interval_and_p_value
from playbook_lib.geo._checks import _paired_arrays, _t_statistic, _welch_arrays
from playbook_lib.geo.designs import _stratified_arrays
from playbook_lib.geo.did import _ancova_arrays, _ancova_design
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
    "simulate_analysis_estimates",
    "simulate_design_comparison",
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
    "noise_autocorrelation",
    "noise_df",
    "random_walk_sd",
    "geo_weekly_sd",
    "treated_fraction",
    "n_strata",
)
_DESIGNS = ("complete", "pairs", "strata", "bernoulli")
_ANALYSES = (
    "did",
    "paired",
    "ancova",
    "stratified",
    "twfe_cluster",
    "twfe_iid",
    "did_normal",
    "unpaired_post",
)
_METHODS = {
    "did": "did (welch)",
    "paired": "paired did",
    "ancova": "ancova (hc2)",
    "stratified": "stratified did",
    "twfe_cluster": "twfe (cluster)",
    "twfe_iid": "twfe (iid errors)",
    "did_normal": "did (welch statistic, normal reference)",
    "unpaired_post": "post levels (welch, pairs ignored)",
}
_DEFAULT_ANALYSIS = {"pairs": "paired", "strata": "stratified"}
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
    post, pre = _period_slices(arrays)
    delta0 = arrays.kpi[:, :, post].mean(axis=2) - arrays.kpi[:, :, pre].mean(axis=2)
    signal = arrays.expected_untreated[:, :, post].mean(axis=2) * arrays.treated
    return arrays, delta0, signal


def _period_slices(arrays: GeoKpiArrays) -> tuple[slice, slice]:
    """The post and pre days as slices (views, not copies: the post days come last)."""
    pre_days = int((~arrays.is_post).sum())
    return slice(pre_days, None), slice(0, pre_days)


def _two_way_moments(
    values: np.ndarray, other: np.ndarray | None, centred_post: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the two-way demeaned ``y~ = y_gt - mean_t - mean_g + mean`` of ``values`` (and
    of ``other``), without forming it: per geo ``sum_t (P_t - mean P) y~_gt``, and the
    inner products ``<y~, y~>`` and ``<y~, other~>`` per simulation."""
    centred = values - values.mean(axis=2, keepdims=True)  # rows now have mean 0
    day_mean = centred.mean(axis=1)  # (n_sims, n_days); y~ = centred - day_mean
    n_geos = values.shape[1]
    u = centred @ centred_post - (day_mean @ centred_post)[:, None]
    square = np.einsum("sgt,sgt->s", centred, centred) - n_geos * np.einsum(
        "st,st->s", day_mean, day_mean
    )
    if other is None:
        return u, square, np.zeros_like(square)
    other_centred = other - other.mean(axis=2, keepdims=True)
    other_day_mean = other_centred.mean(axis=1)
    cross = np.einsum("sgt,sgt->s", centred, other_centred) - n_geos * np.einsum(
        "st,st->s", day_mean, other_day_mean
    )
    return u, square, cross


def _twfe_test(arrays: GeoKpiArrays, clustered: bool) -> _Test:
    """TWFE with one launch date on a balanced panel, in closed form for every simulation.

    By Frisch-Waugh-Lovell the coefficient is ``<Y, D~> / <D~, D~>`` with the two-way
    demeaned dummy ``D~_gt = (T_g - mean T)(P_t - mean P)``, the residual sum of squares
    is ``||Y~||^2 - tau^2 <D~, D~>``, and geo ``g``'s score is ``sum_t D~_gt e_gt``. The
    clustered variance is statsmodels' CR1 (factor ``G / (G - 1) (N - 1) / (N - K)``,
    ``K = G + T`` columns) with ``t(G - 1)``; the iid one is OLS's ``s^2 / <D~, D~>`` with
    ``N - K`` degrees of freedom, as :func:`~playbook_lib.geo.estimate_twfe` and
    statsmodels' non-robust OLS report."""
    n_sims, n_geos, n_days = arrays.kpi.shape
    centred_post = arrays.is_post - arrays.is_post.mean()
    centred_treated = arrays.treated - arrays.treated.mean(axis=1, keepdims=True)
    lift_signal = arrays.expected_untreated * (arrays.treated[:, :, None] & arrays.is_post)
    u0, q0, q1 = _two_way_moments(arrays.kpi, lift_signal, centred_post)
    u1, q2, _ = _two_way_moments(lift_signal, None, centred_post)
    ss_post = float(centred_post @ centred_post)
    ss_dummy = (centred_treated**2).sum(axis=1) * ss_post
    n_rows, n_columns = n_geos * n_days, n_geos + n_days

    def test(lift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        u = u0 + lift * u1
        tau = (centred_treated * u).sum(axis=1) / ss_dummy
        if clustered:
            score = centred_treated * u - tau[:, None] * centred_treated**2 * ss_post
            factor = n_geos / (n_geos - 1) * (n_rows - 1) / (n_rows - n_columns)
            variance = factor * (score**2).sum(axis=1) / ss_dummy**2
            return tau, np.sqrt(variance), np.full(n_sims, n_geos - 1.0)
        rss = q0 + 2 * lift * q1 + lift**2 * q2 - tau**2 * ss_dummy
        variance = np.maximum(rss, 0.0) / (n_rows - n_columns) / ss_dummy
        return tau, np.sqrt(variance), np.full(n_sims, float(n_rows - n_columns))

    return test


def _resolve_analysis(design: str, analysis: str | None) -> str:
    check_choice(design, "design", _DESIGNS)
    if analysis is None:
        analysis = _DEFAULT_ANALYSIS.get(design, "did")
    check_choice(analysis, "analysis", _ANALYSES)
    if analysis == "paired" and design != "pairs":
        raise ValueError("analysis='paired' needs design='pairs'")
    if analysis == "stratified" and design not in ("strata", "pairs"):
        raise ValueError("analysis='stratified' needs design='strata' (or 'pairs')")
    return analysis


def _test_for(arrays: GeoKpiArrays, delta0: np.ndarray, signal: np.ndarray, analysis: str) -> _Test:
    """The analysis as a function of the lift, on draws made without effect."""
    if analysis in ("twfe_cluster", "twfe_iid"):
        return _twfe_test(arrays, analysis == "twfe_cluster")
    post, pre = _period_slices(arrays)
    post_level = arrays.kpi[:, :, post].mean(axis=2)
    if analysis == "ancova":
        pre_level = arrays.kpi[:, :, pre].mean(axis=2)
        design, hat_rows, leverage = _ancova_design(pre_level, arrays.treated)
        df_ancova = np.full(delta0.shape[0], delta0.shape[1] - 3.0)

        def ancova(lift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
            estimate, se, _ = _ancova_arrays(post_level + lift * signal, design, hat_rows, leverage)
            return estimate, se, df_ancova

        return ancova

    def test(lift: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if analysis == "unpaired_post":
            return _welch_arrays(post_level + lift * signal, arrays.treated)
        if analysis == "paired":
            estimate, se, n_pairs = _paired_arrays(
                delta0 + lift * signal, arrays.treated, arrays.pair
            )
            return estimate, se, np.full(estimate.shape, n_pairs - 1.0)
        if analysis == "stratified":
            estimate, se, df, _ = _stratified_arrays(
                delta0 + lift * signal, arrays.treated, arrays.stratum
            )
            return estimate, se, df
        estimate, se, df = _welch_arrays(delta0 + lift * signal, arrays.treated)
        return estimate, se, (None if analysis == "did_normal" else df)

    return test


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
    analysis = _resolve_analysis(design, analysis)
    arrays, delta0, signal = _simulate_without_effect(
        n_geos, pre_days, post_days, n_sims, design, rng, panel_options
    )
    test = _test_for(arrays, delta0, signal, analysis)
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
    design : {"complete", "pairs", "strata", "bernoulli"}
        The assignment design (see :func:`~playbook_lib.simulate.assign_geos_arrays`;
        ``n_strata`` goes in ``panel_options``).
    analysis : {"did", "paired", "ancova", "stratified", "twfe_cluster", "twfe_iid", \
"did_normal", "unpaired_post"} or None
        ``"did"``: Welch t on per-geo deltas (the default; for ``design="pairs"`` the
        default is ``"paired"``, the paired t on deltas, and for ``design="strata"`` it is
        ``"stratified"``, :func:`~playbook_lib.geo.batch_estimate_stratified_did` on
        deltas); ``"ancova"``: post mean on arm and pre mean with HC2 errors and
        ``t(n_geos - 3)``, as :func:`~playbook_lib.geo.batch_estimate_ancova`;
        ``"twfe_cluster"``: the daily two-way fixed-effects regression with errors
        clustered by geo, as :func:`~playbook_lib.geo.estimate_twfe`. Pitfalls only:
        ``"twfe_iid"`` (the same regression with OLS errors that treat geo-days as
        independent), ``"did_normal"`` (the Welch statistic with normal critical values)
        and ``"unpaired_post"`` (Welch on post-period levels, ignoring the pairs).
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
        panel option, ``analysis="paired"`` without pairs or ``"stratified"`` without
        strata or pairs, a design that leaves an arm
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


def simulate_analysis_estimates(
    n_geos: int = 40,
    pre_days: int = 28,
    post_days: int = 14,
    lift: float = 0.05,
    *,
    analyses: Sequence[str] = ("did", "ancova", "twfe_cluster", "twfe_iid"),
    n_sims: int = 1000,
    design: str = "complete",
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
    **panel_options: Any,
) -> dict[str, DidSimulation]:
    """Simulate ``n_sims`` geo experiments once and analyse the same draws several ways.

    The common-random-numbers twin of :func:`simulate_did_estimates`: one draw of
    experiments (:func:`~playbook_lib.simulate.simulate_geo_kpi`), analysed by each of
    ``analyses``, so that differences in type-I error, coverage or power between
    analyses are not differences between draws.

    Parameters
    ----------
    n_geos, pre_days, post_days : int
        Geos and days before and during the test.
    lift : float
        Multiplicative lift (0 simulates A/A tests).
    analyses : sequence of str
        Analyses as in :func:`simulate_did_estimates`, each fitting ``design``.
    n_sims : int
        Simulated experiments.
    design : {"complete", "pairs", "strata", "bernoulli"}
        The assignment design.
    alpha : float
        One minus the intervals' coverage.
    rng : numpy.random.Generator or int or None
        Random generator or seed.
    **panel_options
        Passed to :func:`~playbook_lib.simulate.simulate_geo_kpi`.

    Returns
    -------
    dict of str to DidSimulation
        One :class:`DidSimulation` per analysis, in the order given; all share the same
        ``true_effect``.

    Raises
    ------
    ValueError
        As :func:`simulate_did_estimates`, and if ``analyses`` is empty or a string.
    """
    alpha = check_alpha(alpha)
    rng = check_rng(rng)
    lift = _check_lift(lift, "lift")
    if isinstance(analyses, str) or len(analyses) == 0:
        raise ValueError(f"analyses must be a non-empty sequence of names, got {analyses!r}")
    resolved = [_resolve_analysis(design, analysis) for analysis in analyses]
    arrays, delta0, signal = _simulate_without_effect(
        n_geos, pre_days, post_days, n_sims, design, rng, panel_options
    )
    truth = lift * signal.sum(axis=1) / arrays.treated.sum(axis=1)
    out = {}
    for analysis in resolved:
        estimate, se, df = _test_for(arrays, delta0, signal, analysis)(lift)
        estimates = Estimates.from_standard_errors(
            _METHODS[analysis], estimate, se, alpha=alpha, df=df
        )
        out[analysis] = DidSimulation(estimates, truth, lift)
    return out


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
    (``analysis="did"``), the paired t-test (``"paired"``, the default for
    ``design="pairs"``), the stratified DiD (``"stratified"``, the default for
    ``design="strata"``), ANCOVA (``"ancova"``) or TWFE (``"twfe_cluster"``); see
    :func:`simulate_did_estimates`. For one lift, :func:`simulate_did_estimates` returns
    the experiments themselves; :func:`simulate_design_comparison` tabulates designs, analyses
    and test lengths at once.

    Parameters
    ----------
    n_geos, pre_days, post_days : int
        Geos and days before and during the test.
    lifts : float or array of float
        Multiplicative lifts (0.05 is +5 %); 0 gives the type-I error.
    n_sims : int
        Simulated experiments.
    design : {"complete", "pairs", "strata", "bernoulli"}
        The assignment design.
    analysis : str or None
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


def _rejects(
    estimate: np.ndarray, se: np.ndarray, df: np.ndarray | None, alpha: float
) -> np.ndarray:
    """Whether each two-sided test rejects at ``alpha``: the p-value of
    :func:`~playbook_lib._kernels.interval_and_p_value`, or, when the experiments share a
    few degrees of freedom, the same decision from ``|t|`` against the critical values
    (one quantile per distinct df instead of one t distribution function per
    experiment)."""
    if df is not None:
        distinct, position = np.unique(df, return_inverse=True)
        if distinct.size <= 8 and np.all(np.isfinite(distinct) & (distinct > 0)):
            critical = special.stdtrit(distinct, 1 - alpha / 2)[position.reshape(df.shape)]
            statistic = np.abs(_t_statistic(estimate, se))
            # ties at the critical value are measure-zero; elsewhere identical decisions
            return statistic > critical
        # the two-sided p-value of interval_and_p_value, without its interval
        df = np.where(np.isfinite(df) & (df > 0), df, 1.0)
        statistic = np.abs(_t_statistic(estimate, se))
        return 2 * special.stdtr(df, -statistic) < alpha
    return interval_and_p_value(estimate, se, alpha, "two-sided", df)[2] < alpha


def _minimum_detectable_lift(
    test: _Test, truth_per_lift: np.ndarray, power: float, alpha: float, halvings: int = 40
) -> dict[str, float]:
    """Bisection on the simulated power of ``test`` (common random numbers), with the
    delta-method Monte Carlo error of the answer. ``halvings`` bisection steps leave the
    answer within ``2^-halvings`` of the bracket found by doubling (16 steps: within
    about 1e-5 relative, far below the Monte Carlo error)."""
    n_sims = truth_per_lift.size

    def power_at(lift: float) -> float:
        estimate, se, df = test(lift)
        return float(np.mean(_rejects(estimate, se, df, alpha) & (estimate > 0)))

    low, high = 0.0, 0.01
    while power_at(high) < power:
        low, high = high, 2 * high
        if high > 1e6:
            raise ValueError("power cannot be reached at any lift: the KPI has no signal")
    for _ in range(halvings):
        middle = 0.5 * (low + high)
        if power_at(middle) >= power:
            high = middle
        else:
            low = middle
    # Monte Carlo error: the power's binomial error over the slope of the power curve
    step = 0.15 * high
    slope = (power_at(high + step) - power_at(max(high - step, 0.0))) / (
        high + step - max(high - step, 0.0)
    )
    power_se = np.sqrt(power * (1 - power) / n_sims)
    return {
        "mde_lift": high,
        "mde_mc_se": float(power_se / slope) if slope > 0 else float("nan"),
        "mde_absolute": high * float(truth_per_lift.mean()),
        "power": power_at(high),
        "null_estimator_sd": float(np.std(test(0.0)[0], ddof=1)),
    }


def compute_minimum_detectable_lift(
    n_geos: int = 40,
    pre_days: int = 28,
    post_days: int = 14,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    n_sims: int = 1000,
    design: str = "complete",
    analysis: str | None = None,
    rng: np.random.Generator | int | None = None,
    **panel_options: Any,
) -> dict[str, float]:
    """Minimum detectable relative lift of a geo test, by simulation.

    Simulates ``n_sims`` experiments once (:func:`~playbook_lib.simulate.simulate_geo_kpi`)
    and finds by bisection the smallest multiplicative lift whose simulated power, on
    those same draws, reaches ``power`` (by default Welch t on deltas; the paired t-test
    for ``design="pairs"``, the stratified DiD for ``design="strata"``; any analysis of
    :func:`simulate_did_estimates`, e.g. ``analysis="ancova"``) :cite:`vaver2011geo`.
    Simulation captures what a formula misses: the t distribution's small degrees of
    freedom and the extra spread a multiplicative lift adds across geos of different
    sizes. Check the answer on fresh draws with :func:`simulate_did_power`.

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
    design : {"complete", "pairs", "strata", "bernoulli"}
        The assignment design.
    analysis : str or None
        The test, as in :func:`simulate_did_estimates`; None: the design's default.
    rng : numpy.random.Generator or int or None
        Random generator or seed.
    **panel_options
        Passed to :func:`~playbook_lib.simulate.simulate_geo_kpi`.

    Returns
    -------
    dict
        ``mde_lift`` (relative), ``mde_mc_se`` (its Monte Carlo standard error: the
        binomial error of the power, ``sqrt(power (1 - power) / n_sims)``, divided by the
        slope of the simulated power curve at the MDE, a delta-method approximation),
        ``mde_absolute`` (KPI units per treated geo-day), ``power`` (simulated power at
        the MDE: the share of experiments rejecting at ``alpha`` with a positive
        estimate), and ``null_estimator_sd`` (sd of the estimate without effect).

    Raises
    ------
    ValueError
        Bad sizes or probabilities, an unknown design, analysis or panel option, an
        analysis the design does not support, a design that leaves an arm with < 2
        geos, a KPI without signal, or a bad ``rng``.
    """
    alpha = check_alpha(alpha)
    rng = check_rng(rng)
    n_sims = check_integer(n_sims, "n_sims", minimum=2)
    power = check_probability(power, "power", allow_zero=False, allow_one=False)
    if power <= alpha:
        raise ValueError(f"power must exceed alpha, got {power}")
    test, truth_per_lift, _ = _simulated_test(
        n_geos, pre_days, post_days, n_sims, design, analysis, rng, panel_options
    )
    return _minimum_detectable_lift(test, truth_per_lift, power, alpha)


def simulate_design_comparison(
    n_geos: int = 40,
    pre_days: int = 28,
    post_days: Sequence[int] | int = (14, 28),
    *,
    lift: float = 0.05,
    designs: Sequence[str] = ("complete", "strata", "pairs"),
    analyses: Sequence[str] = ("did", "ancova", "stratified", "paired"),
    power: float = 0.8,
    alpha: float = 0.05,
    n_sims: int = 1000,
    rng: np.random.Generator | int | None = None,
    **panel_options: Any,
) -> pd.DataFrame:
    """Power and minimum detectable lift of every design x analysis x test length.

    For each design and test length, draws ``n_sims`` experiments once
    (:func:`~playbook_lib.simulate.simulate_geo_kpi`) and analyses the same draws with
    every analysis that fits the design (common random numbers, so differences between
    analyses are not Monte Carlo noise between draws; ``"paired"`` needs pairs and
    ``"stratified"`` strata (for pairs it would repeat ``"paired"``); other combinations
    are skipped). Each row has the power at
    ``lift`` with its Monte Carlo standard error and the minimum detectable lift with
    its own (see :func:`compute_minimum_detectable_lift`). Judging a design by its
    weakest analysis (DiD on deltas) understates what a longer test or a stratified
    design buys :cite:`vaver2011geo`.

    Parameters
    ----------
    n_geos, pre_days : int
        Geos and pre-period days.
    post_days : int or sequence of int
        Test lengths to compare.
    lift : float
        Multiplicative lift at which power is reported.
    designs : sequence of str
        Designs among ``"complete"``, ``"pairs"``, ``"strata"``, ``"bernoulli"``.
    analyses : sequence of str
        Analyses as in :func:`simulate_did_estimates`.
    power : float
        Power the minimum detectable lift must reach, in (alpha, 1).
    alpha : float
        Significance level.
    n_sims : int
        Simulated experiments per design and test length (at least 2).
    rng : numpy.random.Generator or int or None
        Random generator or seed.
    **panel_options
        Passed to :func:`~playbook_lib.simulate.simulate_geo_kpi` (``n_strata``,
        ``noise_autocorrelation``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per design, analysis and test length: ``design``, ``analysis``,
        ``post_days``, ``power`` (share rejecting at ``lift``), ``power_mc_se``,
        ``coverage`` (share of intervals holding the true effect at ``lift``),
        ``coverage_mc_se``, ``coverage_z_vs_nominal`` (distance of the coverage from
        ``1 - alpha`` in standard errors of exact calibration, ``sqrt(c (1 - c) / n_sims)``
        with ``c = 1 - alpha``), ``mde_lift`` and ``mde_mc_se``.

    Raises
    ------
    ValueError
        Bad sizes or probabilities, an unknown design, analysis or panel option, a lift
        that is not a finite number, no analysis that fits any design, or a bad ``rng``.
    """
    alpha = check_alpha(alpha)
    rng = check_rng(rng)
    n_sims = check_integer(n_sims, "n_sims", minimum=2)
    lift = _check_lift(lift, "lift")
    power = check_probability(power, "power", allow_zero=False, allow_one=False)
    if power <= alpha:
        raise ValueError(f"power must exceed alpha, got {power}")
    lengths = [post_days] if np.ndim(post_days) == 0 else list(post_days)
    lengths = [check_integer(days, "post_days", minimum=1) for days in lengths]
    if not lengths:
        raise ValueError("post_days must name at least one test length")
    for name, values, allowed in (
        ("designs", designs, _DESIGNS),
        ("analyses", analyses, _ANALYSES),
    ):
        if isinstance(values, str) or len(values) == 0:
            raise ValueError(f"{name} must be a non-empty sequence of names, got {values!r}")
        for value in values:
            check_choice(value, name, allowed)
    rows = []
    for design in designs:
        fitting = [
            analysis
            for analysis in analyses
            if not (analysis == "paired" and design != "pairs")
            and not (analysis == "stratified" and design != "strata")
        ]
        for days in lengths:
            if not fitting:
                continue
            arrays, delta0, signal = _simulate_without_effect(
                n_geos, pre_days, days, n_sims, design, rng, panel_options
            )
            truth_per_lift = signal.sum(axis=1) / arrays.treated.sum(axis=1)
            for analysis in fitting:
                test = _test_for(arrays, delta0, signal, analysis)
                estimate, se, df = test(lift)
                table = Estimates.from_standard_errors(
                    _METHODS[analysis], estimate, se, alpha=alpha, df=df
                )
                rejection = table.rejection_rate(alpha=alpha)
                coverage = table.coverage(lift * truth_per_lift)
                mde = _minimum_detectable_lift(test, truth_per_lift, power, alpha, halvings=16)
                rows.append(
                    {
                        "design": design,
                        "analysis": analysis,
                        "post_days": days,
                        "power": rejection.estimate,
                        "power_mc_se": rejection.se,
                        "coverage": coverage.estimate,
                        "coverage_mc_se": coverage.se,
                        "coverage_z_vs_nominal": coverage.details["z_vs_nominal"],
                        "mde_lift": mde["mde_lift"],
                        "mde_mc_se": mde["mde_mc_se"],
                    }
                )
    if not rows:
        raise ValueError("analyses: no analysis fits any of the designs")
    return pd.DataFrame(rows)
