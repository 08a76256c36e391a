"""Geo-experiment panels and staggered-adoption panels with known truth.

Two generators:

- :func:`simulate_geo_kpi` draws many geo experiments at once as arrays of shape
  ``(n_sims, n_geos, n_days)`` (the engine of power by simulation), and
  :func:`simulate_geo_panel` returns one of them as a tidy DataFrame with columns
  ``geo, day, period, group, kpi`` plus the truth (``treated``, ``kpi_untreated``,
  ``true_effect``).
- :func:`simulate_clustered_outcomes` draws many cluster-randomised user-level
  experiments with a known intra-cluster correlation, as arrays of shape
  ``(n_sims, n_clusters, cluster_size)``, and :func:`simulate_cluster_randomized_users`
  returns one of them as a tidy DataFrame (the design effect, verified by simulation).
- :func:`simulate_staggered_panel` draws a panel in which units adopt a treatment at
  different periods, with effects that differ by cohort and unit and grow with time since
  adoption: the setting in which two-way fixed-effects regression is biased and the
  imputation estimator of :cite:`borusyak2024revisiting` is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import signal

from playbook_lib.validation import (
    as_float_array,
    check_choice,
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

_DESIGNS = ("complete", "pairs", "strata", "bernoulli")

__all__ = [
    "ClusteredOutcomes",
    "GeoKpiArrays",
    "assign_geos_arrays",
    "simulate_cluster_randomized_users",
    "simulate_clustered_outcomes",
    "simulate_geo_kpi",
    "simulate_geo_panel",
    "simulate_staggered_panel",
]


@dataclass(frozen=True)
class GeoKpiArrays:
    """Many simulated geo experiments as arrays (the output of :func:`simulate_geo_kpi`).

    Attributes
    ----------
    kpi : numpy.ndarray
        Observed daily KPI, shape ``(n_sims, n_geos, n_days)``.
    expected_untreated : numpy.ndarray
        The noise-free KPI each geo-day would have without treatment, same shape.
    treated : numpy.ndarray
        Boolean assignment to treatment, shape ``(n_sims, n_geos)``.
    pair : numpy.ndarray or None
        Pair (block) index of each geo, shape ``(n_sims, n_geos)``, for ``design="pairs"``.
    is_post : numpy.ndarray
        Boolean, shape ``(n_days,)``: whether a day is in the test (post) period.
    lift : float
        The multiplicative lift applied to treated geos in the post period.
    stratum : numpy.ndarray or None
        Stratum index of each geo, shape ``(n_sims, n_geos)``, for ``design="strata"``
        (and the pair index for ``design="pairs"``); None otherwise.
    """

    kpi: np.ndarray
    expected_untreated: np.ndarray
    treated: np.ndarray
    pair: np.ndarray | None
    is_post: np.ndarray
    lift: float
    stratum: np.ndarray | None = None

    @property
    def true_effect(self) -> np.ndarray:
        """Average additive effect per treated geo-day in the post period, shape ``(n_sims,)``.

        The estimand of a difference-in-differences on daily means: the mean over treated
        geos and post days of ``lift * expected_untreated``.
        """
        post_mean = self.expected_untreated[:, :, self.is_post].mean(axis=2)
        treated = self.treated.astype(float)
        return self.lift * (post_mean * treated).sum(axis=1) / treated.sum(axis=1)


def _strata_assignment(
    order: np.ndarray, n_strata: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified assignment of geos already sorted by ``order`` (rank -> geo), per row."""
    n_sims, n_geos = order.shape
    stratum_of_rank = np.arange(n_geos) * n_strata // n_geos
    sizes = np.bincount(stratum_of_rank, minlength=n_strata)
    start = np.cumsum(sizes) - sizes
    n_treated = sizes // 2 + (sizes % 2) * (rng.random((n_sims, n_strata)) < 0.5)
    # a random order within each stratum: sort ranks by stratum + a uniform key
    shuffled = np.argsort(stratum_of_rank + rng.random((n_sims, n_geos)), axis=1)
    position = np.arange(n_geos) - start[stratum_of_rank]  # place within the stratum
    treated_by_rank = np.empty((n_sims, n_geos), dtype=bool)
    np.put_along_axis(treated_by_rank, shuffled, position < n_treated[:, stratum_of_rank], axis=1)
    treated = np.empty_like(treated_by_rank)
    stratum = np.empty((n_sims, n_geos), dtype=np.int64)
    np.put_along_axis(treated, order, treated_by_rank, axis=1)
    np.put_along_axis(stratum, order, np.broadcast_to(stratum_of_rank, (n_sims, n_geos)), axis=1)
    return treated, stratum


def assign_geos_arrays(
    pre_kpi_mean: np.ndarray,
    *,
    design: str = "complete",
    treated_fraction: float = 0.5,
    n_strata: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Randomise geos to arms for many simulated experiments at once.

    Parameters
    ----------
    pre_kpi_mean : numpy.ndarray
        Pre-period mean KPI, shape ``(n_sims, n_geos)``; used to form pairs and strata.
    design : {"complete", "pairs", "strata", "bernoulli"}
        ``"complete"``: exactly ``round(treated_fraction * n_geos)`` treated geos, chosen at
        random. ``"pairs"``: sort geos by pre-period KPI, pair neighbours, and treat one geo
        of each pair at random (needs an even number of geos and ``treated_fraction=0.5``).
        ``"strata"``: sort geos by pre-period KPI, cut them into ``n_strata`` consecutive
        strata of (near) equal size and treat half of each stratum (rounded down; the odd
        geo is a coin flip) by complete randomisation within it, as
        :func:`~playbook_lib.geo.assign_geos_within_strata` does for one experiment
        (needs ``treated_fraction=0.5``). ``"bernoulli"``: an independent coin flip per
        geo (shown only as a pitfall: an arm can end up with fewer than two geos).
    treated_fraction : float
        Share of geos treated, in (0, 1).
    n_strata : int or None
        Number of strata for ``design="strata"``, in ``1 .. n_geos / 2``; None gives
        strata of about four geos (``max(1, n_geos // 4)``). Ignored by other designs.
    rng : numpy.random.Generator or int or None
        Random generator or seed.

    Returns
    -------
    treated : numpy.ndarray
        Boolean, shape ``(n_sims, n_geos)``.
    block : numpy.ndarray or None
        Pair index (``design="pairs"``) or stratum index (``design="strata"``, 0 = the
        smallest geos) of each geo; None for the other designs.

    Raises
    ------
    ValueError
        If ``pre_kpi_mean`` is not a finite 2-D array with at least one row and two
        columns, ``design`` is unknown, ``treated_fraction`` is outside (0, 1), pairs are
        requested with an odd number of geos, pairs or strata with ``treated_fraction``
        other than 0.5, ``n_strata`` is not an integer in ``1 .. n_geos / 2``, or ``rng``
        is invalid.
    """
    rng = check_rng(rng)
    check_choice(design, "design", _DESIGNS)
    treated_fraction = check_probability(
        treated_fraction, "treated_fraction", allow_zero=False, allow_one=False
    )
    pre_kpi_mean = as_float_array(pre_kpi_mean, "pre_kpi_mean", ndim=2)
    n_sims, n_geos = pre_kpi_mean.shape
    if n_geos < 2:
        raise ValueError(f"pre_kpi_mean must have at least 2 geos (columns), got {n_geos}")
    if design == "bernoulli":
        return rng.random((n_sims, n_geos)) < treated_fraction, None
    if design == "complete":
        n_treated = int(round(treated_fraction * n_geos))
        if not 1 <= n_treated <= n_geos - 1:
            raise ValueError(f"treated_fraction leaves an empty arm with {n_geos} geos")
        ranks = np.argsort(rng.random((n_sims, n_geos)), axis=1)
        treated = np.zeros((n_sims, n_geos), dtype=bool)
        np.put_along_axis(treated, ranks[:, :n_treated], True, axis=1)
        return treated, None
    if design == "strata":
        if treated_fraction != 0.5:
            raise ValueError("design='strata' needs treated_fraction=0.5")
        n_strata = max(1, n_geos // 4) if n_strata is None else n_strata
        n_strata = check_integer(n_strata, "n_strata", minimum=1)
        if 2 * n_strata > n_geos:
            raise ValueError(f"n_strata must be at most n_geos / 2 = {n_geos // 2}, got {n_strata}")
        return _strata_assignment(np.argsort(pre_kpi_mean, axis=1), n_strata, rng)
    if n_geos % 2 or treated_fraction != 0.5:
        raise ValueError("design='pairs' needs an even number of geos and treated_fraction=0.5")
    order = np.argsort(pre_kpi_mean, axis=1)  # geos sorted by pre-period KPI
    pair_of_rank = np.repeat(np.arange(n_geos // 2), 2)
    first_treated = rng.random((n_sims, n_geos // 2)) < 0.5
    treated_by_rank = np.empty((n_sims, n_geos), dtype=bool)
    treated_by_rank[:, 0::2] = first_treated
    treated_by_rank[:, 1::2] = ~first_treated
    treated = np.empty_like(treated_by_rank)
    pair = np.empty((n_sims, n_geos), dtype=np.int64)
    np.put_along_axis(treated, order, treated_by_rank, axis=1)
    np.put_along_axis(pair, order, np.broadcast_to(pair_of_rank, (n_sims, n_geos)), axis=1)
    return treated, pair


def _check_noise_options(
    noise_autocorrelation: float,
    noise_df: float | None,
    random_walk_sd: float,
    geo_weekly_sd: float,
) -> tuple[float, float | None, float, float]:
    noise_autocorrelation = check_finite_number(noise_autocorrelation, "noise_autocorrelation")
    if not 0.0 <= noise_autocorrelation < 1.0:
        raise ValueError(f"noise_autocorrelation must lie in [0, 1), got {noise_autocorrelation}")
    if noise_df is not None:
        noise_df = check_finite_number(noise_df, "noise_df")
        if not noise_df > 2:
            raise ValueError(f"noise_df must exceed 2 (a finite variance), got {noise_df}")
    random_walk_sd = check_positive(random_walk_sd, "random_walk_sd", strict=False)
    geo_weekly_sd = check_positive(geo_weekly_sd, "geo_weekly_sd", strict=False)
    return noise_autocorrelation, noise_df, random_walk_sd, geo_weekly_sd


def _daily_noise(
    shape: tuple[int, int, int],
    noise_sd: float,
    noise_autocorrelation: float,
    noise_df: float | None,
    random_walk_sd: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Daily noise: iid normal by default; Student-t innovations, a stationary AR(1)
    filter and a geo random walk when asked (each draw only when its option is on, so
    the default stream is unchanged)."""
    if noise_df is None:
        innovations = rng.standard_normal(shape)
    else:  # unit variance, heavy tails
        innovations = rng.standard_t(noise_df, shape) * np.sqrt((noise_df - 2.0) / noise_df)
    noise = noise_sd * innovations
    if noise_autocorrelation > 0:
        # e_0 = u_0, e_t = phi e_(t-1) + sqrt(1 - phi^2) u_t: stationary, sd noise_sd
        noise[:, :, 1:] *= np.sqrt(1.0 - noise_autocorrelation**2)
        noise = signal.lfilter([1.0], [1.0, -noise_autocorrelation], noise, axis=-1)
    if random_walk_sd > 0:
        noise = noise + np.cumsum(random_walk_sd * rng.standard_normal(shape), axis=-1)
    return noise


def simulate_geo_kpi(
    n_sims: int = 1000,
    n_geos: int = 40,
    pre_days: int = 28,
    post_days: int = 14,
    *,
    lift: float = 0.0,
    baseline_mean: float = 1000.0,
    baseline_sd: float = 400.0,
    noise_sd: float = 250.0,
    trend_per_day: float = 0.0,
    weekly_amplitude: float = 0.1,
    geo_trend_sd: float = 0.0,
    noise_autocorrelation: float = 0.0,
    noise_df: float | None = None,
    random_walk_sd: float = 0.0,
    geo_weekly_sd: float = 0.0,
    design: str = "complete",
    treated_fraction: float = 0.5,
    n_strata: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> GeoKpiArrays:
    """Simulate ``n_sims`` geo experiments at once, vectorised over simulations.

    Model, for simulation ``s``, geo ``g`` and day ``t``:

    ``kpi = b_g * (1 + trend * t + c_g * t) * (1 + a_g * sin(2 pi t / 7)) * (1 + lift * D_gt)
    + e_gt``

    with geo baselines ``b_g`` log-normal with mean ``baseline_mean`` and sd
    ``baseline_sd``, a common linear trend, weekly seasonality of relative amplitude
    ``a_g = a + w_g`` (``a = weekly_amplitude``; geo-specific deviations
    ``w_g ~ N(0, geo_weekly_sd)``, 0 by default), optional geo-specific trends
    ``c_g ~ N(0, geo_trend_sd)`` (which break parallel trends), ``D_gt = 1`` for treated
    geos in the post period, and noise ``e_gt``. By default the noise is independent,
    ``e ~ N(0, noise_sd)``; three options make it as persistent and heavy-tailed as real
    sales: ``noise_autocorrelation`` (a stationary AR(1), ``e_t = phi e_(t-1) +
    sqrt(1 - phi^2) u_t``, so the sd stays ``noise_sd``), ``noise_df`` (Student-t
    innovations ``u`` with that many degrees of freedom, scaled to sd ``noise_sd``) and
    ``random_walk_sd`` (a geo-specific random walk with N(0, ``random_walk_sd``) daily
    steps, starting on day 0, added to the noise). Serially correlated noise is what
    makes daily observations within a geo dependent :cite:`bertrand2004trust`. Geos are
    assigned by :func:`assign_geos_arrays` using their pre-period mean.

    Parameters
    ----------
    n_sims, n_geos, pre_days, post_days : int
        Numbers of simulated experiments, geos, pre-period days and test (post) days.
    lift : float
        Multiplicative effect of the treatment (0.05 is +5 %), applied to the noise-free
        KPI.
    baseline_mean, baseline_sd : float
        Mean and sd of the geo baselines (KPI units per geo-day).
    noise_sd : float
        Sd of the daily noise (KPI units), without the random walk.
    trend_per_day, weekly_amplitude, geo_trend_sd : float
        Common relative trend per day, weekly relative amplitude, sd of geo-specific
        relative trends per day.
    noise_autocorrelation : float
        AR(1) coefficient of the daily noise, in [0, 1); 0 (the default) is independent.
    noise_df : float or None
        Degrees of freedom (> 2) of Student-t noise innovations; None (the default) is
        normal.
    random_walk_sd : float
        Sd of the daily steps of a geo-specific random walk (KPI units); 0 by default.
    geo_weekly_sd : float
        Sd of the geo-specific deviations of the weekly amplitude; 0 by default.
    design, treated_fraction, n_strata : see :func:`assign_geos_arrays`.
    rng : numpy.random.Generator or int or None
        Random generator or seed.

    Returns
    -------
    GeoKpiArrays
        The KPI, the noise-free untreated KPI, the assignment and the truth. With the
        noise options at their defaults, a seed gives the same draws as before they
        existed.

    Raises
    ------
    ValueError
        If a size is not a positive integer (at least 2 geos, 1 day per period), a scale
        is negative or not a finite number, ``noise_autocorrelation`` is outside [0, 1),
        ``noise_df`` is not above 2, ``design``, ``treated_fraction`` or ``n_strata`` is
        invalid (see :func:`assign_geos_arrays`), or ``rng`` is invalid.
    """
    rng = check_rng(rng)
    n_sims = check_integer(n_sims, "n_sims", minimum=1)
    n_geos = check_integer(n_geos, "n_geos", minimum=2)
    pre_days = check_integer(pre_days, "pre_days", minimum=1)
    post_days = check_integer(post_days, "post_days", minimum=1)
    lift = check_finite_number(lift, "lift")
    baseline_mean = check_positive(baseline_mean, "baseline_mean")
    baseline_sd = check_positive(baseline_sd, "baseline_sd", strict=False)
    noise_sd = check_positive(noise_sd, "noise_sd", strict=False)
    trend_per_day = check_finite_number(trend_per_day, "trend_per_day")
    weekly_amplitude = check_positive(weekly_amplitude, "weekly_amplitude", strict=False)
    geo_trend_sd = check_positive(geo_trend_sd, "geo_trend_sd", strict=False)
    noise_autocorrelation, noise_df, random_walk_sd, geo_weekly_sd = _check_noise_options(
        noise_autocorrelation, noise_df, random_walk_sd, geo_weekly_sd
    )
    check_choice(design, "design", _DESIGNS)

    n_days = pre_days + post_days
    days = np.arange(n_days, dtype=float)
    is_post = days >= pre_days
    log_sigma = np.sqrt(np.log1p((baseline_sd / baseline_mean) ** 2))
    log_mu = np.log(baseline_mean) - 0.5 * log_sigma**2
    baseline = np.exp(log_mu + log_sigma * rng.standard_normal((n_sims, n_geos)))
    slope = trend_per_day + geo_trend_sd * rng.standard_normal((n_sims, n_geos))
    weekly = np.sin(2 * np.pi * days / 7)
    if geo_weekly_sd > 0:
        amplitude = weekly_amplitude + geo_weekly_sd * rng.standard_normal((n_sims, n_geos, 1))
        seasonal = 1.0 + amplitude * weekly
    else:
        seasonal = 1.0 + weekly_amplitude * weekly
    # b_g (1 + slope_g t)(1 + a_g sin), built in place: the arrays are the largest here
    expected_untreated = slope[:, :, None] * days
    expected_untreated += 1.0
    expected_untreated *= seasonal
    expected_untreated *= baseline[:, :, None]
    noise = _daily_noise(
        (n_sims, n_geos, n_days), noise_sd, noise_autocorrelation, noise_df, random_walk_sd, rng
    )
    pre_mean = expected_untreated[:, :, :pre_days].mean(axis=2) + noise[:, :, :pre_days].mean(
        axis=2
    )
    treated, block = assign_geos_arrays(
        pre_mean, design=design, treated_fraction=treated_fraction, n_strata=n_strata, rng=rng
    )
    kpi = noise
    kpi += expected_untreated
    if lift != 0.0:
        kpi += lift * expected_untreated * (treated[:, :, None] & is_post)
    pair = block if design == "pairs" else None
    return GeoKpiArrays(kpi, expected_untreated, treated, pair, is_post, lift, stratum=block)


def simulate_geo_panel(
    n_geos: int = 40,
    pre_days: int = 28,
    post_days: int = 14,
    *,
    lift: float = 0.05,
    baseline_mean: float = 1000.0,
    baseline_sd: float = 400.0,
    noise_sd: float = 250.0,
    trend_per_day: float = 0.0,
    weekly_amplitude: float = 0.1,
    geo_trend_sd: float = 0.0,
    noise_autocorrelation: float = 0.0,
    noise_df: float | None = None,
    random_walk_sd: float = 0.0,
    geo_weekly_sd: float = 0.0,
    design: str = "complete",
    treated_fraction: float = 0.5,
    n_strata: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Simulate one geo experiment as a tidy daily panel with its truth.

    The model and arguments are those of :func:`simulate_geo_kpi` with ``n_sims=1``.

    Returns
    -------
    pandas.DataFrame
        One row per geo-day, sorted by geo then day, with columns ``geo`` (int), ``day``
        (int, 0 = first pre-period day), ``period`` (``"pre"`` or ``"post"``), ``group``
        (``"control"`` or ``"treatment"``), ``kpi`` (float), and the truth: ``pair`` (int,
        ``design="pairs"`` only, else -1), ``treated`` (bool: treatment geo in the post
        period), ``kpi_untreated`` (the noise-free KPI without treatment) and
        ``true_effect`` (``kpi`` minus its untreated counterpart, without noise: 0 except
        for treated geo-days). The mean of ``true_effect`` over treated rows is the effect
        a difference-in-differences on daily means estimates. With ``design="strata"`` a
        column ``stratum`` (int, 0 = the smallest geos) follows ``pair``.

    Raises
    ------
    ValueError
        As :func:`simulate_geo_kpi`.
    """
    arrays = simulate_geo_kpi(
        1,
        n_geos,
        pre_days,
        post_days,
        lift=lift,
        baseline_mean=baseline_mean,
        baseline_sd=baseline_sd,
        noise_sd=noise_sd,
        trend_per_day=trend_per_day,
        weekly_amplitude=weekly_amplitude,
        geo_trend_sd=geo_trend_sd,
        noise_autocorrelation=noise_autocorrelation,
        noise_df=noise_df,
        random_walk_sd=random_walk_sd,
        geo_weekly_sd=geo_weekly_sd,
        design=design,
        treated_fraction=treated_fraction,
        n_strata=n_strata,
        rng=rng,
    )
    n_days = pre_days + post_days
    geo = np.repeat(np.arange(n_geos), n_days)
    day = np.tile(np.arange(n_days), n_geos)
    treated_geo = np.repeat(arrays.treated[0], n_days)
    is_post = np.tile(arrays.is_post, n_geos)
    untreated = arrays.expected_untreated[0].ravel()
    treated = treated_geo & is_post
    pair = np.repeat(arrays.pair[0], n_days) if arrays.pair is not None else np.full(geo.size, -1)
    blocks = {"pair": pair}
    if design == "strata":
        blocks["stratum"] = np.repeat(arrays.stratum[0], n_days)
    return pd.DataFrame(
        {
            "geo": geo,
            "day": day,
            "period": np.where(is_post, "post", "pre"),
            "group": np.where(treated_geo, "treatment", "control"),
            "kpi": arrays.kpi[0].ravel(),
            **blocks,
            "treated": treated,
            "kpi_untreated": untreated,
            "true_effect": np.where(treated, lift * untreated, 0.0),
        }
    )


def simulate_staggered_panel(
    n_units: int = 40,
    n_periods: int = 20,
    *,
    cohorts: tuple[int, ...] | None = None,
    never_treated_fraction: float = 0.25,
    effect: float = 1.0,
    effect_growth: float = 0.1,
    cohort_effect_step: float = 0.1,
    unit_effect_sd: float = 0.3,
    unit_sd: float = 1.0,
    period_sd: float = 0.5,
    trend: float = 0.05,
    noise_sd: float = 1.0,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Simulate a staggered-adoption panel with heterogeneous, dynamic effects.

    Untreated outcomes follow two-way fixed effects with noise,
    ``Y_it(0) = alpha_i + lambda_t + e_it``, with ``alpha_i ~ N(0, unit_sd)``,
    ``lambda_t = trend * t + N(0, period_sd)`` and ``e_it ~ N(0, noise_sd)`` independent.
    A share ``never_treated_fraction`` of units is never treated; the others are spread
    evenly (at random) over the adoption periods ``cohorts``. Unit ``i`` of cohort ``c``
    has effect

    ``tau_it = (effect + cohort_effect_step * (k - c) + u_i) * (1 + effect_growth * h)``

    for ``h = t - c >= 0`` periods since adoption, where ``k`` is the mean adoption period
    (earlier cohorts gain more), ``u_i ~ N(0, unit_effect_sd)``, and ``tau_it = 0`` before
    adoption. ``Y_it = Y_it(0) + tau_it``. Such dynamic, cohort-specific effects make the
    two-way fixed-effects regression coefficient a badly weighted average
    :cite:`goodmanbacon2021difference`.

    Parameters
    ----------
    n_units, n_periods : int
        Panel size (at least 2 units and 3 periods).
    cohorts : tuple of int or None
        Adoption periods (each in ``1 .. n_periods - 1``); default: four periods evenly
        spread over the middle half of the panel.
    never_treated_fraction : float
        Share of never-treated units, in [0, 1).
    effect, effect_growth, cohort_effect_step, unit_effect_sd : float
        The effect's mean on adoption, its relative growth per period since adoption, the
        cohort gradient and the sd of unit deviations.
    unit_sd, period_sd, trend, noise_sd : float
        Sds of the unit and period effects, the linear trend, and the noise sd.
    rng : numpy.random.Generator or int or None
        Random generator or seed.

    Returns
    -------
    pandas.DataFrame
        One row per unit-period, sorted by unit then time, with columns ``unit`` (int),
        ``time`` (int, from 0), ``first_treated`` (float; NaN for never-treated units),
        ``treated`` (bool, ``time >= first_treated``), ``outcome`` (float),
        ``true_effect`` (float: ``tau_it``, 0 when untreated), and ``outcome_untreated``
        (``Y_it(0)``): the columns the staggered-adoption estimators of
        :mod:`playbook_lib.geo` read by default.

    Raises
    ------
    ValueError
        If a size or scale is invalid (sizes below 2 units or 3 periods, negative sds,
        non-finite numbers), a cohort is not an integer in ``1 .. n_periods - 1``, or
        ``rng`` is invalid.
    """
    rng = check_rng(rng)
    n_units = check_integer(n_units, "n_units", minimum=2)
    n_periods = check_integer(n_periods, "n_periods", minimum=3)
    never_treated_fraction = check_probability(
        never_treated_fraction, "never_treated_fraction", allow_one=False
    )
    effect = check_finite_number(effect, "effect")
    effect_growth = check_finite_number(effect_growth, "effect_growth")
    cohort_effect_step = check_finite_number(cohort_effect_step, "cohort_effect_step")
    trend = check_finite_number(trend, "trend")
    unit_effect_sd = check_positive(unit_effect_sd, "unit_effect_sd", strict=False)
    unit_sd = check_positive(unit_sd, "unit_sd", strict=False)
    period_sd = check_positive(period_sd, "period_sd", strict=False)
    noise_sd = check_positive(noise_sd, "noise_sd", strict=False)
    if cohorts is None:
        cohorts = tuple(
            np.unique(np.linspace(n_periods / 4, 3 * n_periods / 4, 4).round().astype(int))
        )
    if isinstance(cohorts, str | bytes) or not np.iterable(cohorts):
        raise ValueError(f"cohorts must be a tuple of integer periods, got {cohorts!r}")
    cohorts_array = np.array([check_integer(c, "cohorts") for c in cohorts], dtype=np.int64)
    if cohorts_array.size == 0 or cohorts_array.min() < 1 or cohorts_array.max() > n_periods - 1:
        raise ValueError(f"cohorts must lie in 1 .. {n_periods - 1}, got {tuple(cohorts)}")

    n_never = int(round(never_treated_fraction * n_units))
    n_treated = n_units - n_never
    first_treated = np.full(n_units, np.nan)
    adoption = cohorts_array[np.arange(n_treated) % cohorts_array.size]
    first_treated[rng.permutation(n_units)[:n_treated]] = adoption

    periods = np.arange(n_periods)
    unit_effect = unit_sd * rng.standard_normal(n_units)
    period_effect = trend * periods + period_sd * rng.standard_normal(n_periods)
    unit_deviation = unit_effect_sd * rng.standard_normal(n_units)
    untreated = (
        unit_effect[:, None]
        + period_effect[None, :]
        + noise_sd * rng.standard_normal((n_units, n_periods))
    )
    horizon = periods[None, :] - first_treated[:, None]  # NaN for never treated
    with np.errstate(invalid="ignore"):
        treated = horizon >= 0
    level = effect + cohort_effect_step * (cohorts_array.mean() - first_treated) + unit_deviation
    tau = np.where(treated, level[:, None] * (1 + effect_growth * np.nan_to_num(horizon)), 0.0)
    return pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n_units), n_periods),
            "time": np.tile(periods, n_units),
            "first_treated": np.repeat(first_treated, n_periods),
            "treated": treated.ravel(),
            "outcome": (untreated + tau).ravel(),
            "true_effect": tau.ravel(),
            "outcome_untreated": untreated.ravel(),
        }
    )


@dataclass(frozen=True)
class ClusteredOutcomes:
    """Many simulated cluster-randomised experiments (:func:`simulate_clustered_outcomes`).

    Attributes
    ----------
    outcome : numpy.ndarray
        User outcomes, shape ``(n_sims, n_clusters, cluster_size)``.
    treated : numpy.ndarray
        Boolean assignment of each cluster, shape ``(n_sims, n_clusters)``.
    effect : float
        The additive effect of the treatment on every treated user.
    icc : float
        The intra-cluster correlation of the untreated outcomes.
    """

    outcome: np.ndarray
    treated: np.ndarray
    effect: float
    icc: float


def simulate_clustered_outcomes(
    n_sims: int = 1000,
    n_clusters: int = 20,
    cluster_size: int = 50,
    *,
    icc: float = 0.05,
    mean: float = 10.0,
    sd: float = 2.0,
    effect: float = 0.0,
    treated_fraction: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> ClusteredOutcomes:
    """Simulate ``n_sims`` cluster-randomised experiments at once, vectorised.

    User ``i`` of cluster ``g`` has ``y_gi = mean + b_g + e_gi + effect * D_g`` with
    cluster effects ``b_g ~ N(0, icc * sd^2)`` and user noise ``e_gi ~ N(0, (1 - icc) *
    sd^2)``, all independent, so the untreated outcome has sd ``sd`` and two users of one
    cluster have correlation ``icc``. Exactly ``round(treated_fraction * n_clusters)``
    clusters are treated, chosen at random (complete randomisation of clusters). The
    variance of an arm mean is then the individual-randomisation variance times the
    design effect ``1 + (cluster_size - 1) * icc`` :cite:`gerber2012field`.

    Parameters
    ----------
    n_sims, n_clusters, cluster_size : int
        Simulated experiments, clusters (at least 2) and users per cluster.
    icc : float
        Intra-cluster correlation, in [0, 1].
    mean, sd : float
        Mean and sd of the untreated outcome.
    effect : float
        Additive effect of the treatment.
    treated_fraction : float
        Share of clusters treated, in (0, 1); both arms must get a cluster.
    rng : numpy.random.Generator or int or None
        Random generator or seed.

    Returns
    -------
    ClusteredOutcomes
        Outcomes ``(n_sims, n_clusters, cluster_size)``, the assignment and the truth.

    Raises
    ------
    ValueError
        If a size is not a positive integer (at least 2 clusters), ``icc`` is outside
        [0, 1], ``sd`` is negative, a number is not finite, ``treated_fraction`` leaves
        an arm empty, or ``rng`` is invalid.
    """
    rng = check_rng(rng)
    n_sims = check_integer(n_sims, "n_sims", minimum=1)
    n_clusters = check_integer(n_clusters, "n_clusters", minimum=2)
    cluster_size = check_integer(cluster_size, "cluster_size", minimum=1)
    icc = check_probability(icc, "icc")
    mean = check_finite_number(mean, "mean")
    sd = check_positive(sd, "sd", strict=False)
    effect = check_finite_number(effect, "effect")
    treated_fraction = check_probability(
        treated_fraction, "treated_fraction", allow_zero=False, allow_one=False
    )
    n_treated = int(round(treated_fraction * n_clusters))
    if not 1 <= n_treated <= n_clusters - 1:
        raise ValueError(f"treated_fraction leaves an empty arm with {n_clusters} clusters")
    cluster_effect = np.sqrt(icc) * sd * rng.standard_normal((n_sims, n_clusters, 1))
    noise = np.sqrt(1.0 - icc) * sd * rng.standard_normal((n_sims, n_clusters, cluster_size))
    ranks = np.argsort(rng.random((n_sims, n_clusters)), axis=1)
    treated = np.zeros((n_sims, n_clusters), dtype=bool)
    np.put_along_axis(treated, ranks[:, :n_treated], True, axis=1)
    outcome = mean + cluster_effect + noise + effect * treated[:, :, None]
    return ClusteredOutcomes(outcome, treated, effect, icc)


def simulate_cluster_randomized_users(
    n_clusters: int = 20,
    cluster_size: int = 50,
    *,
    icc: float = 0.05,
    mean: float = 10.0,
    sd: float = 2.0,
    effect: float = 0.0,
    treated_fraction: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Simulate one cluster-randomised experiment as a tidy user-level table.

    The model and arguments are those of :func:`simulate_clustered_outcomes` with
    ``n_sims=1``.

    Returns
    -------
    pandas.DataFrame
        One row per user, sorted by cluster, with columns ``user`` (int), ``cluster``
        (int), ``group`` (``"control"`` or ``"treatment"``, constant within a cluster) and
        ``outcome`` (float).

    Raises
    ------
    ValueError
        As :func:`simulate_clustered_outcomes`.
    """
    draws = simulate_clustered_outcomes(
        1,
        n_clusters,
        cluster_size,
        icc=icc,
        mean=mean,
        sd=sd,
        effect=effect,
        treated_fraction=treated_fraction,
        rng=rng,
    )
    n_users = n_clusters * cluster_size
    return pd.DataFrame(
        {
            "user": np.arange(n_users),
            "cluster": np.repeat(np.arange(n_clusters), cluster_size),
            "group": np.where(np.repeat(draws.treated[0], cluster_size), "treatment", "control"),
            "outcome": draws.outcome[0].ravel(),
        }
    )
