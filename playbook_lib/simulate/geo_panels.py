"""Geo-experiment panels and staggered-adoption panels with known truth.

Two generators:

- :func:`simulate_geo_kpi` draws many geo experiments at once as arrays of shape
  ``(n_sims, n_geos, n_days)`` (the engine of power by simulation), and
  :func:`simulate_geo_panel` returns one of them as a tidy DataFrame with columns
  ``geo, day, period, group, kpi`` plus the truth (``treated``, ``kpi_untreated``,
  ``true_effect``).
- :func:`simulate_staggered_panel` draws a panel in which units adopt a treatment at
  different periods, with effects that differ by cohort and unit and grow with time since
  adoption: the setting in which two-way fixed-effects regression is biased and the
  imputation estimator of :cite:`borusyak2024revisiting` is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.validation import (
    as_float_array,
    check_choice,
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = [
    "GeoKpiArrays",
    "assign_geos_arrays",
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
    """

    kpi: np.ndarray
    expected_untreated: np.ndarray
    treated: np.ndarray
    pair: np.ndarray | None
    is_post: np.ndarray
    lift: float

    @property
    def true_effect(self) -> np.ndarray:
        """Average additive effect per treated geo-day in the post period, shape ``(n_sims,)``.

        The estimand of a difference-in-differences on daily means: the mean over treated
        geos and post days of ``lift * expected_untreated``.
        """
        post_mean = self.expected_untreated[:, :, self.is_post].mean(axis=2)
        treated = self.treated.astype(float)
        return self.lift * (post_mean * treated).sum(axis=1) / treated.sum(axis=1)


def assign_geos_arrays(
    pre_kpi_mean: np.ndarray,
    *,
    design: str = "complete",
    treated_fraction: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Randomise geos to arms for many simulated experiments at once.

    Parameters
    ----------
    pre_kpi_mean : numpy.ndarray
        Pre-period mean KPI, shape ``(n_sims, n_geos)``; used to form pairs.
    design : {"complete", "pairs", "bernoulli"}
        ``"complete"``: exactly ``round(treated_fraction * n_geos)`` treated geos, chosen at
        random. ``"pairs"``: sort geos by pre-period KPI, pair neighbours, and treat one geo
        of each pair at random (needs an even number of geos and ``treated_fraction=0.5``).
        ``"bernoulli"``: an independent coin flip per geo (shown only as a pitfall: an arm can
        end up with fewer than two geos).
    treated_fraction : float
        Share of geos treated, in (0, 1).
    rng : numpy.random.Generator or int or None
        Random generator or seed.

    Returns
    -------
    treated : numpy.ndarray
        Boolean, shape ``(n_sims, n_geos)``.
    pair : numpy.ndarray or None
        Pair index of each geo (``design="pairs"`` only).

    Raises
    ------
    ValueError
        If ``pre_kpi_mean`` is not a finite 2-D array with at least one row and two
        columns, ``design`` is unknown, ``treated_fraction`` is outside (0, 1), pairs are
        requested with an odd number of geos, or ``rng`` is invalid.
    """
    rng = check_rng(rng)
    check_choice(design, "design", ("complete", "pairs", "bernoulli"))
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
    design: str = "complete",
    treated_fraction: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> GeoKpiArrays:
    """Simulate ``n_sims`` geo experiments at once, vectorised over simulations.

    Model, for simulation ``s``, geo ``g`` and day ``t``:

    ``kpi = b_g * (1 + trend * t + c_g * t) * (1 + a * sin(2 pi t / 7)) * (1 + lift * D_gt)
    + e_gt``

    with geo baselines ``b_g`` log-normal with mean ``baseline_mean`` and sd
    ``baseline_sd``, a common linear trend, weekly seasonality of relative amplitude
    ``a``, optional geo-specific trends ``c_g ~ N(0, geo_trend_sd)`` (which break parallel
    trends), ``D_gt = 1`` for treated geos in the post period, and independent noise
    ``e ~ N(0, noise_sd)``. Geos are assigned by :func:`assign_geos_arrays` using their
    pre-period mean.

    Parameters
    ----------
    n_sims, n_geos, pre_days, post_days : int
        Numbers of simulated experiments, geos, pre-period days and test (post) days.
    lift : float
        Multiplicative effect of the treatment (0.05 is +5 %).
    baseline_mean, baseline_sd : float
        Mean and sd of the geo baselines (KPI units per geo-day).
    noise_sd : float
        Sd of the daily noise (KPI units).
    trend_per_day, weekly_amplitude, geo_trend_sd : float
        Common relative trend per day, weekly relative amplitude, sd of geo-specific
        relative trends per day.
    design, treated_fraction : see :func:`assign_geos_arrays`.
    rng : numpy.random.Generator or int or None
        Random generator or seed.

    Returns
    -------
    GeoKpiArrays
        The KPI, the noise-free untreated KPI, the assignment and the truth.

    Raises
    ------
    ValueError
        If a size is not a positive integer (at least 2 geos, 1 day per period), a scale
        is negative or not a finite number, ``design`` or ``treated_fraction`` is invalid
        (see :func:`assign_geos_arrays`), or ``rng`` is invalid.
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
    check_choice(design, "design", ("complete", "pairs", "bernoulli"))

    n_days = pre_days + post_days
    days = np.arange(n_days, dtype=float)
    is_post = days >= pre_days
    log_sigma = np.sqrt(np.log1p((baseline_sd / baseline_mean) ** 2))
    log_mu = np.log(baseline_mean) - 0.5 * log_sigma**2
    baseline = np.exp(log_mu + log_sigma * rng.standard_normal((n_sims, n_geos)))
    slope = trend_per_day + geo_trend_sd * rng.standard_normal((n_sims, n_geos))
    shape = (1.0 + slope[:, :, None] * days) * (
        1.0 + weekly_amplitude * np.sin(2 * np.pi * days / 7)
    )
    expected_untreated = baseline[:, :, None] * shape
    noise = noise_sd * rng.standard_normal((n_sims, n_geos, n_days))
    pre_mean = expected_untreated[:, :, :pre_days].mean(axis=2) + noise[:, :, :pre_days].mean(
        axis=2
    )
    treated, pair = assign_geos_arrays(
        pre_mean, design=design, treated_fraction=treated_fraction, rng=rng
    )
    kpi = expected_untreated + noise
    if lift != 0.0:
        kpi += lift * expected_untreated * (treated[:, :, None] & is_post)
    return GeoKpiArrays(kpi, expected_untreated, treated, pair, is_post, lift)


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
    design: str = "complete",
    treated_fraction: float = 0.5,
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
        a difference-in-differences on daily means estimates.

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
        design=design,
        treated_fraction=treated_fraction,
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
    return pd.DataFrame(
        {
            "geo": geo,
            "day": day,
            "period": np.where(is_post, "post", "pre"),
            "group": np.where(treated_geo, "treatment", "control"),
            "kpi": arrays.kpi[0].ravel(),
            "pair": pair,
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
        One row per unit-period, sorted by unit then period, with columns ``unit`` (int),
        ``period`` (int, from 0), ``first_treated`` (float; NaN for never-treated units),
        ``treated`` (bool, ``period >= first_treated``), ``y`` (float), ``true_effect``
        (float: ``tau_it``, 0 when untreated), and ``y_untreated`` (``Y_it(0)``).

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
            "period": np.tile(periods, n_units),
            "first_treated": np.repeat(first_treated, n_periods),
            "treated": treated.ravel(),
            "y": (untreated + tau).ravel(),
            "true_effect": tau.ravel(),
            "y_untreated": untreated.ravel(),
        }
    )
