"""Geo experiments and difference-in-differences.

When users cannot be randomised (TV, out-of-home, market-level pricing, marketplaces with
spillovers) we randomise geos and analyse one number per geo. This module holds:

- per-geo aggregation with the checks a geo test needs (:func:`aggregate_geo_periods`);
- estimators returning :class:`~playbook_lib.results.Estimate`: difference-in-differences
  on per-geo deltas with Welch's t (:func:`estimate_did`, :func:`estimate_did_from_stats`,
  vectorised :func:`welch_test_arrays`), ANCOVA (:func:`estimate_ancova`), two-way fixed
  effects with cluster-robust errors (:func:`estimate_twfe`), randomisation inference with
  an exact p-value and a test-inversion interval (:func:`estimate_randomization_inference`)
  and the paired analysis of a matched-pair design (:func:`estimate_paired_did`);
- designs: matched pairs and stratification (:func:`assign_matched_pairs`,
  :func:`assign_stratified`), a balance table (:func:`check_balance`), the design effect
  (:func:`design_effect`), power and MDE by vectorised simulation
  (:func:`simulate_did_power`, :func:`estimate_minimum_detectable_lift`);
- the event study and a pre-trend test (:func:`estimate_event_study`,
  :func:`check_pre_trends`);
- staggered adoption: the imputation estimator of :cite:`borusyak2024revisiting`
  (:func:`estimate_imputation`, :func:`imputation_unit_effects`,
  :func:`imputation_unit_effect_covariance`, :func:`imputation_horizon_effects`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from playbook_lib.results import Estimate
from playbook_lib.simulate.geo_panels import simulate_geo_kpi
from playbook_lib.validation import (
    PlaybookWarning,
    as_float_array,
    check_alpha,
    check_binary,
    check_choice,
    check_columns,
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
    column_as_float_array,
)

__all__ = [
    "aggregate_geo_periods",
    "assign_matched_pairs",
    "assign_stratified",
    "check_balance",
    "check_pre_trends",
    "design_effect",
    "estimate_ancova",
    "estimate_did",
    "estimate_did_from_stats",
    "estimate_event_study",
    "estimate_imputation",
    "estimate_minimum_detectable_lift",
    "estimate_paired_did",
    "estimate_randomization_inference",
    "estimate_twfe",
    "imputation_horizon_effects",
    "imputation_unit_effect_covariance",
    "imputation_unit_effects",
    "paired_test_arrays",
    "simulate_did_power",
    "welch_test_arrays",
]


# --------------------------------------------------------------------------- input checks
def _require_columns(data: Any, name: str = "data", **columns: Any) -> pd.DataFrame:
    """Check ``data`` is a non-empty DataFrame holding each column named by an argument.

    The message names the argument (``geo: column 'g' not found in data``).
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(data).__name__}")
    for argument, column in columns.items():
        try:
            present = column in data.columns
        except TypeError:
            present = False
        if not present:
            shown = [str(c) for c in data.columns[:12]]
            raise ValueError(
                f"{argument}: column {column!r} not found in {name} (columns: {shown})"
            )
    if len(data) == 0:
        raise ValueError(f"{name} has no rows")
    return data


def _label_column(data: pd.DataFrame, column: Any, argument: str) -> pd.Series:
    """A column of labels (geo, unit, arm, period): no missing values, one type."""
    series = data[column]
    missing = int(series.isna().sum())
    if missing:
        raise ValueError(f"{argument}: column {column!r} has {missing} missing value(s)")
    if series.dtype.kind == "f" and not np.isfinite(series.to_numpy()).all():
        raise ValueError(f"{argument}: column {column!r} has infinite values")
    if series.dtype == object:
        types = {isinstance(value, str) for value in series}
        if len(types) > 1:
            raise ValueError(f"{argument}: column {column!r} mixes strings and numbers")
    return series


def _time_column(data: pd.DataFrame, column: Any, argument: str = "time") -> np.ndarray:
    """A numeric (or datetime) time column without missing values."""
    series = data[column]
    if series.dtype.kind == "M":
        if series.isna().any():
            raise ValueError(f"{argument}: column {column!r} has missing values")
        return series.to_numpy()
    return column_as_float_array(data, column, argument)


# --------------------------------------------------------------------------- design basics
def design_effect(cluster_size: float, intra_cluster_correlation: float) -> float:
    """The variance inflation of a cluster-randomised mean, ``1 + (m - 1) * ICC``.

    Randomising ``m``-user clusters instead of users multiplies the variance of a mean by
    the design effect :cite:`gerber2012field`; the effective sample size is ``n / DE``.

    Parameters
    ----------
    cluster_size : float
        Average number of users per cluster, at least 1.
    intra_cluster_correlation : float
        Correlation between two users' outcomes in the same cluster, in [0, 1].

    Returns
    -------
    float
        The design effect (at least 1).

    Raises
    ------
    ValueError
        If ``cluster_size < 1`` or the correlation is outside [0, 1].
    """
    cluster_size = check_positive(cluster_size, "cluster_size")
    if cluster_size < 1:
        raise ValueError(f"cluster_size must be at least 1, got {cluster_size}")
    icc = check_probability(intra_cluster_correlation, "intra_cluster_correlation")
    return 1.0 + (cluster_size - 1.0) * icc


# --------------------------------------------------------------------------- aggregation
def aggregate_geo_periods(
    data: pd.DataFrame,
    *,
    geo: str = "geo",
    period: str = "period",
    group: str = "group",
    kpi: str = "kpi",
    treatment_label: str = "treatment",
    pre_label: str = "pre",
    post_label: str = "post",
) -> pd.DataFrame:
    """One row per geo: its arm, pre- and post-period mean KPI, and their difference.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy panel, one row per geo-day, with columns ``geo``, ``period`` (values
        ``pre_label`` / ``post_label``), ``group`` (two values, one ``treatment_label``) and
        ``kpi``.
    geo, period, group, kpi : str
        Column names.
    treatment_label, pre_label, post_label : str
        The labels of the treatment arm and of the two periods.

    Returns
    -------
    pandas.DataFrame
        Indexed by geo, columns ``group``, ``treated`` (bool), ``pre_mean``, ``post_mean``,
        ``delta`` (``post_mean - pre_mean``), ``n_pre`` and ``n_post`` (days).

    Raises
    ------
    ValueError
        Naming the problem: missing columns, no rows, missing or non-finite KPI, missing
        geo, period or group labels, a period label other than the two, only one group
        (or no ``treatment_label``), a geo in both arms, a geo without pre- or
        post-period rows, or unbalanced days (geos observed on different numbers of days
        in a period, which makes per-geo means incomparable).
    """
    _require_columns(data, geo=geo, period=period, group=group, kpi=kpi)
    if pre_label == post_label:
        raise ValueError(f"pre_label and post_label must differ, got {pre_label!r} twice")
    values = column_as_float_array(data, kpi, "kpi")
    _label_column(data, geo, "geo")
    _label_column(data, period, "period")
    _label_column(data, group, "group")
    periods = set(data[period].unique())
    if not periods <= {pre_label, post_label}:
        raise ValueError(
            f"period: column {period!r} must hold only pre_label {pre_label!r} and "
            f"post_label {post_label!r}, got {sorted(map(str, periods))}"
        )
    if pre_label not in periods:
        raise ValueError(
            f"period: missing pre period (no rows labelled pre_label {pre_label!r})"
        )
    if post_label not in periods:
        raise ValueError(
            f"period: missing post period (no rows labelled post_label {post_label!r})"
        )
    groups = data[group].unique()
    if len(groups) != 2 or treatment_label not in set(groups):
        raise ValueError(
            f"group: column {group!r} must hold two arms, one labelled treatment_label "
            f"{treatment_label!r}; got {sorted(map(str, groups))} (one group only?)"
        )
    arms_per_geo = data.groupby(geo, sort=True)[group].nunique()
    if (arms_per_geo > 1).any():
        both = arms_per_geo.index[arms_per_geo > 1].tolist()[:5]
        raise ValueError(f"geo: geos in both arms (e.g. {both}); a geo has one arm")
    frame = pd.DataFrame(
        {"geo": data[geo].to_numpy(), "period": data[period].to_numpy(), "kpi": values}
    )
    table = frame.pivot_table(
        index="geo", columns="period", values="kpi", aggfunc=["mean", "count"], observed=True
    )
    counts = table["count"].reindex(columns=[pre_label, post_label])
    if counts[pre_label].isna().any():
        missing = counts.index[counts[pre_label].isna()].tolist()[:5]
        raise ValueError(f"period: missing pre period for geo(s) {missing}")
    if counts[post_label].isna().any():
        missing = counts.index[counts[post_label].isna()].tolist()[:5]
        raise ValueError(f"period: missing post period for geo(s) {missing}")
    for label in (pre_label, post_label):
        if counts[label].nunique() > 1:
            raise ValueError(
                f"day: unbalanced days in the {label!r} period: geos have "
                f"{sorted(counts[label].unique().astype(int).tolist())} rows; "
                "fill or drop days so every geo has the same days"
            )
    arm = data.groupby(geo, sort=True)[group].first()
    means = table["mean"]
    out = pd.DataFrame(
        {
            "group": arm,
            "treated": arm.to_numpy() == treatment_label,
            "pre_mean": means[pre_label],
            "post_mean": means[post_label],
        }
    )
    out["delta"] = out["post_mean"] - out["pre_mean"]
    out["n_pre"] = counts[pre_label].astype(int)
    out["n_post"] = counts[post_label].astype(int)
    out.index.name = geo
    return out


def _check_arm_sizes(treated: np.ndarray, minimum: int = 2) -> None:
    n_treatment = int(treated.sum())
    n_control = int(treated.size - n_treatment)
    if min(n_treatment, n_control) < minimum:
        raise ValueError(
            f"group: each arm needs at least {minimum} geos, got "
            f"{n_treatment} treatment and {n_control} control"
        )


# --------------------------------------------------------------------------- Welch DiD
def welch_test_arrays(
    values: np.ndarray, treated: np.ndarray, *, alpha: float = 0.05
) -> dict[str, np.ndarray]:
    """Welch's two-sample t-test along the last axis, vectorised over leading axes.

    Parameters
    ----------
    values : numpy.ndarray
        Per-geo outcomes (e.g. post-minus-pre deltas), shape ``(..., n_geos)``.
    treated : numpy.ndarray
        Boolean assignment, broadcastable to ``values``; every slice needs at least two
        geos per arm.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    dict of numpy.ndarray
        ``estimate`` (treatment minus control mean), ``se``, ``df`` (Welch-Satterthwaite),
        ``t_statistic``, ``p_value`` (Student t with ``df``), ``ci_low``, ``ci_high``, and
        ``p_value_normal`` (the normal-reference p-value, shown only to demonstrate that
        it over-rejects with few geos).

    Raises
    ------
    ValueError
        If ``alpha`` is invalid, ``values`` is not a finite numeric array, ``treated`` is
        not 0/1 or does not broadcast to ``values``, or an arm has fewer than two geos in
        some slice.

    Notes
    -----
    A slice whose standard error is zero (both arms constant) gets the se -> 0 limit:
    a point interval, ``t_statistic`` 0 or +-inf and ``p_value`` 1 or 0.

    The statistic is :cite:`welch1947generalization`'s; it assumes independent geos
    (the unit of randomisation) and approximately normal per-geo outcomes.
    """
    alpha = check_alpha(alpha)
    values, mask = _values_and_indicator(values, treated)
    n_t = mask.sum(axis=-1)
    n_c = mask.shape[-1] - n_t
    if np.min(n_t) < 2 or np.min(n_c) < 2:
        raise ValueError("treated: each arm needs at least 2 geos in every simulation")
    mean_t = (values * mask).sum(axis=-1) / n_t
    mean_c = (values * ~mask).sum(axis=-1) / n_c
    var_t = (((values - mean_t[..., None]) ** 2) * mask).sum(axis=-1) / (n_t - 1)
    var_c = (((values - mean_c[..., None]) ** 2) * ~mask).sum(axis=-1) / (n_c - 1)
    return _welch_from_moments(mean_t, var_t, n_t, mean_c, var_c, n_c, alpha)


def _values_and_indicator(values: Any, treated: Any) -> tuple[np.ndarray, np.ndarray]:
    """Finite float ``values`` (at least 1-D) and a 0/1 ``treated`` of the same shape."""
    if isinstance(values, str | bytes) or np.asarray(values).dtype.kind in "USO":
        values = as_float_array(values, "values")  # raises with the argument's name
    values = np.asarray(values, dtype=float)
    if values.ndim == 0 or values.size == 0:
        raise ValueError(f"values must be a non-empty array, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("values contains NaN or infinite values")
    indicator = np.asarray(treated)
    if indicator.dtype.kind in "USO":
        raise ValueError("treated must hold booleans or 0/1, got strings or objects")
    indicator = indicator.astype(float)
    if indicator.size == 0 or not np.isin(indicator, (0.0, 1.0)).all():
        raise ValueError("treated must hold only 0/1 (or booleans), without NaN")
    try:
        mask = np.broadcast_to(indicator.astype(bool), values.shape)
    except ValueError:
        raise ValueError(
            f"length mismatch: values has shape {values.shape}, treated has shape "
            f"{indicator.shape}"
        ) from None
    return values, mask


def _welch_from_moments(mean_t, var_t, n_t, mean_c, var_c, n_c, alpha):  # type: ignore[no-untyped-def]
    """Welch's test from moments; a zero standard error gives the se -> 0 limit."""
    a = np.asarray(var_t / n_t, dtype=float)
    b = np.asarray(var_c / n_c, dtype=float)
    total = a + b
    positive = total > 0
    se = np.sqrt(total)
    estimate = np.asarray(mean_t - mean_c, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        denominator = a**2 / (n_t - 1) + b**2 / (n_c - 1)
        df = np.where(
            positive & (denominator > 0),
            total**2 / np.where(denominator > 0, denominator, 1.0),
            np.asarray(n_t + n_c - 2.0, dtype=float),
        )
        limit = np.where(estimate == 0, 0.0, np.copysign(np.inf, estimate))
        t_statistic = np.where(positive, estimate / np.where(positive, se, 1.0), limit)
    critical = stats.t.ppf(1 - alpha / 2, df)
    return {
        "estimate": estimate,
        "se": se,
        "df": df,
        "t_statistic": t_statistic,
        "p_value": 2 * stats.t.sf(np.abs(t_statistic), df),
        "p_value_normal": 2 * stats.norm.sf(np.abs(t_statistic)),
        "ci_low": estimate - critical * se,
        "ci_high": estimate + critical * se,
    }


def estimate_did_from_stats(
    mean_treatment: float,
    variance_treatment: float,
    n_treatment: int,
    mean_control: float,
    variance_control: float,
    n_control: int,
    *,
    alpha: float = 0.05,
) -> Estimate:
    """Difference-in-differences from per-arm summaries of the per-geo deltas.

    The warehouse twin of :func:`estimate_did`: pass each arm's mean, sample variance
    (``ddof=1``) and number of geos of the per-geo ``post_mean - pre_mean`` deltas.

    Returns
    -------
    Estimate
        Method ``"did (welch)"``: the difference of mean deltas, Welch standard error,
        Student-t interval and p-value with Welch-Satterthwaite degrees of freedom. When
        both variances are zero (every geo's delta equals its arm's mean) the standard
        error is 0 and the answer is the se -> 0 limit: the interval is the point
        estimate, the p-value is 1 if the means are equal and 0 otherwise, and ``df`` is
        ``n_treatment + n_control - 2``.

    Raises
    ------
    ValueError
        If a mean or variance is not a finite number, a variance is negative, an arm has
        fewer than two geos, or ``alpha`` is invalid.
    """
    alpha = check_alpha(alpha)
    mean_treatment = check_finite_number(mean_treatment, "mean_treatment")
    mean_control = check_finite_number(mean_control, "mean_control")
    n_treatment = check_integer(n_treatment, "n_treatment", minimum=2)
    n_control = check_integer(n_control, "n_control", minimum=2)
    variance_treatment = check_positive(variance_treatment, "variance_treatment", strict=False)
    variance_control = check_positive(variance_control, "variance_control", strict=False)
    result = _welch_from_moments(
        mean_treatment,
        variance_treatment,
        n_treatment,
        mean_control,
        variance_control,
        n_control,
        alpha,
    )
    return Estimate.from_standard_error(
        "did (welch)",
        float(result["estimate"]),
        float(result["se"]),
        alpha=alpha,
        df=float(result["df"]),
        details={
            "n_treatment": n_treatment,
            "n_control": n_control,
            "t_statistic": float(result["t_statistic"]),
        },
    )


def estimate_did(
    data: pd.DataFrame,
    *,
    geo: str = "geo",
    period: str = "period",
    group: str = "group",
    kpi: str = "kpi",
    treatment_label: str = "treatment",
    alpha: float = 0.05,
) -> Estimate:
    """Difference-in-differences on per-geo deltas, with Welch's t.

    Each geo contributes one number, ``delta_g = mean post KPI - mean pre KPI``; the
    estimate is the treatment-arm mean delta minus the control-arm mean delta, in KPI
    units per geo-day. The interval and p-value use Student's t with Welch-Satterthwaite
    degrees of freedom: with 10-20 geos normal critical values over-reject.

    Assumes geos are the randomised, independent units; parallel trends in expectation
    (guaranteed by randomisation); and no spillovers between geos.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy panel, see :func:`aggregate_geo_periods`.
    geo, period, group, kpi, treatment_label : str
        Column names and the treatment label.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        Method ``"did (welch)"``; ``details`` holds arm sizes and the t statistic. If every
        geo's delta equals its arm's mean (e.g. a constant KPI) the standard error is 0
        and the answer is the se -> 0 limit (see :func:`estimate_did_from_stats`).

    Raises
    ------
    ValueError
        Bad panels (see :func:`aggregate_geo_periods`), an arm with fewer than 2 geos, or
        an invalid ``alpha``.
    """
    table = aggregate_geo_periods(
        data, geo=geo, period=period, group=group, kpi=kpi, treatment_label=treatment_label
    )
    treated = table["treated"].to_numpy()
    _check_arm_sizes(treated)
    delta = table["delta"].to_numpy()
    return estimate_did_from_stats(
        delta[treated].mean(),
        delta[treated].var(ddof=1),
        int(treated.sum()),
        delta[~treated].mean(),
        delta[~treated].var(ddof=1),
        int((~treated).sum()),
        alpha=alpha,
    )


# --------------------------------------------------------------------------- ANCOVA
def estimate_ancova(
    data: pd.DataFrame,
    *,
    geo: str = "geo",
    period: str = "period",
    group: str = "group",
    kpi: str = "kpi",
    treatment_label: str = "treatment",
    alpha: float = 0.05,
) -> Estimate:
    """ANCOVA: regress each geo's post-period mean on its arm and its pre-period mean.

    Fits ``post_mean_g = a + tau * treated_g + b * (pre_mean_g - mean(pre_mean)) + e_g``
    by OLS (statsmodels) with HC2 standard errors and Student-t reference with
    ``n_geos - 3`` degrees of freedom. The DiD estimator is the special case ``b = 1``;
    estimating ``b`` never loses precision asymptotically and gains when the pre-post
    correlation is below one :cite:`lin2013agnostic`. With very few geos the HC2 t-test is
    slightly liberal: in 4,000 simulated A/A tests (the default geo simulator) it rejected
    about 6 % at a nominal 5 % with 10 geos, and 5.2 % with 20; with about 10 geos prefer
    :func:`estimate_did` or :func:`estimate_randomization_inference`.

    Returns
    -------
    Estimate
        Method ``"ancova (hc2)"``; ``details`` has the slope on the pre mean and arm sizes.

    Raises
    ------
    ValueError
        Bad panels (see :func:`aggregate_geo_periods`), an arm with fewer than 2 geos,
        pre-period means that are equal in every geo or collinear with the arm (the
        slope or the effect is not identified), or a geo with leverage 1.
    """
    alpha = check_alpha(alpha)
    table = aggregate_geo_periods(
        data, geo=geo, period=period, group=group, kpi=kpi, treatment_label=treatment_label
    )
    treated = table["treated"].to_numpy()
    _check_arm_sizes(treated)
    pre = table["pre_mean"].to_numpy()
    if np.ptp(pre) <= 1e-12 * max(1.0, float(np.abs(pre).max())):
        raise ValueError(
            f"kpi: the pre-period mean of column {kpi!r} is the same in every geo, so the "
            "slope on it is not identified; use estimate_did"
        )
    design = np.column_stack([np.ones(treated.size), treated.astype(float), pre - pre.mean()])
    if np.linalg.matrix_rank(design) < 3:
        raise ValueError(
            "group: the arm is collinear with the pre-period mean (e.g. every treated geo "
            "has one pre mean and every control geo another): the effect is not identified"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = sm.OLS(table["post_mean"].to_numpy(), design).fit(cov_type="HC2", use_t=True)
    if not (np.isfinite(fit.bse[1]) and np.isfinite(fit.params).all()):
        raise ValueError(
            f"data: too few geos ({treated.size}) for HC2 standard errors (a geo has "
            "leverage 1); use estimate_did or estimate_randomization_inference"
        )
    low, high = fit.conf_int(alpha=alpha)[1]
    return Estimate(
        "ancova (hc2)",
        float(fit.params[1]),
        float(fit.bse[1]),
        float(low),
        float(high),
        alpha=alpha,
        p_value=float(fit.pvalues[1]),
        df=float(fit.df_resid),
        details={
            "slope_pre_mean": float(fit.params[2]),
            "n_treatment": int(treated.sum()),
            "n_control": int((~treated).sum()),
        },
    )


# --------------------------------------------------------------------------- TWFE
def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _check_identified(
    design: np.ndarray, fixed_effects: np.ndarray, treated: str, unit: str, time: str
) -> None:
    """Raise unless ``design`` (effects, then fixed effects) has full column rank."""
    if design.shape[0] <= design.shape[1]:
        raise ValueError(
            f"data: {design.shape[0]} rows for {design.shape[1]} coefficients leave no "
            "residual degrees of freedom for clustered standard errors; add units or periods"
        )
    if np.linalg.matrix_rank(design) == design.shape[1]:
        return
    if np.linalg.matrix_rank(fixed_effects) < fixed_effects.shape[1]:
        raise ValueError(
            f"data: the {unit!r} and {time!r} effects are not identified (the panel splits "
            "into groups of units observed in disjoint periods)"
        )
    raise ValueError(
        f"treated: column {treated!r} is absorbed by the {unit!r} and {time!r} fixed "
        "effects (e.g. constant within every unit, or within every period), so the "
        "effect is not identified; it must switch on within some units at some periods"
    )


def _warn_if_one_treated_unit(n_treated_units: int) -> None:
    if n_treated_units == 1:
        warnings.warn(
            "one treated unit: its own residuals contribute nothing to the clustered "
            "standard errors (its score is zero), which are then far too small; use "
            "estimate_randomization_inference (a placebo-in-space test) for inference",
            PlaybookWarning,
            stacklevel=3,
        )


def _dummies(codes: np.ndarray, n_levels: int, drop_first: bool) -> np.ndarray:
    matrix = np.zeros((codes.size, n_levels))
    matrix[np.arange(codes.size), codes] = 1.0
    return matrix[:, 1:] if drop_first else matrix


def estimate_twfe(
    data: pd.DataFrame,
    *,
    unit: str = "geo",
    time: str = "day",
    outcome: str = "kpi",
    treated: str = "treated",
    alpha: float = 0.05,
) -> Estimate:
    """Two-way fixed-effects regression with standard errors clustered by unit.

    Fits ``y_it = alpha_i + lambda_t + tau * D_it + e_it`` by OLS (statsmodels) with a
    cluster-robust covariance by unit and a t reference with ``G - 1`` degrees of
    freedom (``G`` clusters) :cite:`bertrand2004trust`. The covariance is statsmodels'
    CR1, whose small-sample factor ``G / (G - 1) * (N - 1) / (N - K)`` counts the unit
    dummies in ``K``; software that treats fixed effects nested in the clusters as free
    (fixest, Stata's ``xtreg``) reports slightly smaller standard errors. Cluster-robust
    errors need many treated clusters: with one or two treated units they are far too
    small (use randomisation inference; with a single treated unit this function warns
    with :class:`~playbook_lib.PlaybookWarning`). With one adoption date and a
    balanced panel, ``tau`` equals the difference-in-differences of means. With staggered
    adoption and effects that vary over cohorts or time since adoption, ``tau`` is a
    weighted average with possibly negative weights :cite:`goodmanbacon2021difference`:
    use :func:`estimate_imputation` instead.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel with columns ``unit``, ``time``, ``outcome`` and ``treated`` (bool or
        0/1: whether unit ``i`` is treated in period ``t``).
    unit, time, outcome, treated : str
        Column names.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        Method ``"twfe (cluster)"``; ``details`` has the numbers of clusters and rows.

    Raises
    ------
    ValueError
        Missing columns, no rows, non-finite outcomes, a missing unit, a time column
        that is not numeric (or datetime) or has missing values, a treatment indicator
        that is not 0/1 or never varies, fewer than 2 clusters, a treatment indicator
        absorbed by the fixed effects (e.g. constant within every unit, or within every
        period: the effect is not identified), or no residual degrees of freedom.
    """
    alpha = check_alpha(alpha)
    _require_columns(data, unit=unit, time=time, outcome=outcome, treated=treated)
    y = column_as_float_array(data, outcome, "outcome")
    d = check_binary(data[treated].to_numpy(), f"treated (column {treated!r})").astype(float)
    unit_codes, units = _codes(_label_column(data, unit, "unit"))
    time_codes, times = _codes(pd.Series(_time_column(data, time)))
    if units.size < 2:
        raise ValueError(f"unit: need at least 2 units (clusters), got {units.size}")
    fixed_effects = np.column_stack(
        [
            np.ones(y.size),
            _dummies(unit_codes, units.size, True),
            _dummies(time_codes, times.size, True),
        ]
    )
    design = np.column_stack([d, fixed_effects])
    _check_identified(design, fixed_effects, treated, unit, time)
    _warn_if_one_treated_unit(int(np.unique(unit_codes[d == 1]).size))
    fit = sm.OLS(y, design).fit(cov_type="cluster", cov_kwds={"groups": unit_codes}, use_t=True)
    return Estimate.from_standard_error(
        "twfe (cluster)",
        float(fit.params[0]),
        float(fit.bse[0]),
        alpha=alpha,
        df=float(units.size - 1),
        details={"n_clusters": int(units.size), "n_rows": int(y.size)},
    )


# --------------------------------------------------------------------------- designs
def _check_arm_labels(treatment_label: Any, control_label: Any) -> None:
    for name, label in (("treatment_label", treatment_label), ("control_label", control_label)):
        if not isinstance(label, str):
            raise ValueError(f"{name} must be a string, got {label!r}")
    if treatment_label == control_label:
        raise ValueError(
            f"treatment_label and control_label must differ, got {treatment_label!r} twice"
        )


def _as_pre_series(pre_kpi: pd.Series | pd.DataFrame, name: str) -> pd.Series:
    if isinstance(pre_kpi, pd.DataFrame):
        if pre_kpi.shape[1] != 1:
            raise ValueError(f"{name} must be a Series indexed by geo (or a one-column frame)")
        pre_kpi = pre_kpi.iloc[:, 0]
    if not isinstance(pre_kpi, pd.Series):
        raise ValueError(f"{name} must be a pandas Series indexed by geo")
    if pre_kpi.size == 0:
        raise ValueError(f"{name} is empty")
    if pre_kpi.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {pre_kpi.dtype}")
    values = pre_kpi.astype(float)
    if not np.isfinite(values.to_numpy(dtype=float)).all():
        raise ValueError(f"{name} has missing or non-finite values")
    if values.index.has_duplicates:
        raise ValueError(f"{name} has duplicated geos in its index")
    return values


def assign_matched_pairs(
    pre_kpi: pd.Series,
    *,
    rng: np.random.Generator | int | None = None,
    treatment_label: str = "treatment",
    control_label: str = "control",
) -> pd.DataFrame:
    """Matched-pair design: pair geos with similar pre-period KPI, treat one of each pair.

    Geos are sorted by their pre-period KPI and neighbours form pairs; a fair coin picks
    the treated geo of each pair independently. Analyse with :func:`estimate_paired_did`
    (or block fixed effects), never with an unpaired test :cite:`athey2017econometrics`.

    Parameters
    ----------
    pre_kpi : pandas.Series
        Pre-period KPI (e.g. mean daily KPI) indexed by geo; an even number of geos.
    rng : numpy.random.Generator or int or None
        Random generator or seed.
    treatment_label, control_label : str
        Arm labels.

    Returns
    -------
    pandas.DataFrame
        Columns ``geo``, ``pair`` (0 = the smallest geos), ``group`` and ``pre_kpi``,
        sorted by pair.

    Raises
    ------
    ValueError
        If ``pre_kpi`` is not a Series of finite numbers or has an odd number (or fewer
        than 4) of geos, the labels are not two different strings, or ``rng`` is invalid.
    """
    rng = check_rng(rng)
    _check_arm_labels(treatment_label, control_label)
    values = _as_pre_series(pre_kpi, "pre_kpi")
    if values.size % 2 or values.size < 4:
        raise ValueError(
            f"pre_kpi must hold an even number (at least 4) of geos, got {values.size}"
        )
    ordered = values.sort_values(kind="stable")
    n_pairs = values.size // 2
    first = rng.random(n_pairs) < 0.5
    treated = np.empty(values.size, dtype=bool)
    treated[0::2] = first
    treated[1::2] = ~first
    return pd.DataFrame(
        {
            "geo": ordered.index.to_numpy(),
            "pair": np.repeat(np.arange(n_pairs), 2),
            "group": np.where(treated, treatment_label, control_label),
            "pre_kpi": ordered.to_numpy(),
        }
    )


def assign_stratified(
    pre_kpi: pd.Series,
    n_strata: int,
    *,
    rng: np.random.Generator | int | None = None,
    treatment_label: str = "treatment",
    control_label: str = "control",
) -> pd.DataFrame:
    """Stratified design: cut geos into strata of similar pre-period KPI, randomise within.

    Geos sorted by pre-period KPI are split into ``n_strata`` consecutive strata of (near)
    equal size; within each stratum half the geos (rounded down; the odd one is a coin
    flip) are treated by complete randomisation. ``n_strata = n_geos / 2`` is the
    matched-pair design.

    Returns
    -------
    pandas.DataFrame
        Columns ``geo``, ``stratum``, ``group`` and ``pre_kpi``.

    Raises
    ------
    ValueError
        If ``pre_kpi`` is not a Series of finite numbers, ``n_strata`` is not an integer
        in ``1 .. n_geos / 2``, the labels are not two different strings, or ``rng`` is
        invalid.
    """
    rng = check_rng(rng)
    _check_arm_labels(treatment_label, control_label)
    values = _as_pre_series(pre_kpi, "pre_kpi")
    n_strata = check_integer(n_strata, "n_strata", minimum=1)
    if 2 * n_strata > values.size:
        raise ValueError(
            f"n_strata must be at most n_geos / 2 = {values.size // 2}, got {n_strata}"
        )
    ordered = values.sort_values(kind="stable")
    stratum = np.arange(values.size) * n_strata // values.size
    treated = np.zeros(values.size, dtype=bool)
    for s in range(n_strata):
        members = np.flatnonzero(stratum == s)
        n_treated = members.size // 2 + (rng.random() < 0.5 if members.size % 2 else 0)
        treated[rng.choice(members, size=n_treated, replace=False)] = True
    return pd.DataFrame(
        {
            "geo": ordered.index.to_numpy(),
            "stratum": stratum,
            "group": np.where(treated, treatment_label, control_label),
            "pre_kpi": ordered.to_numpy(),
        }
    )


def check_balance(
    geo_data: pd.DataFrame,
    covariates: list[str],
    *,
    group: str = "group",
    treatment_label: str = "treatment",
) -> pd.DataFrame:
    """Balance table of pre-treatment covariates between arms, one row per covariate.

    Parameters
    ----------
    geo_data : pandas.DataFrame
        One row per geo with the arm column and the covariates (e.g. the ``pre_mean`` of
        :func:`aggregate_geo_periods`).
    covariates : list of str
        Numeric pre-treatment columns to compare.
    group, treatment_label : str
        The arm column and the treatment label.

    Returns
    -------
    pandas.DataFrame
        Indexed by covariate: ``mean_treatment``, ``mean_control``, ``difference``,
        ``standardized_difference`` (difference over the root mean of the two arm
        variances; |value| > 0.1 is the usual flag) and ``p_value`` (Welch t).

    Raises
    ------
    ValueError
        Missing columns, missing arm labels, not exactly two arms (one of them
        ``treatment_label``), an arm with fewer than 2 geos, or a covariate that is not
        numeric or has missing values. A covariate that is constant in both arms has
        ``standardized_difference`` 0 and ``p_value`` 1 (the se -> 0 limit).
    """
    if isinstance(covariates, str) or not isinstance(covariates, list | tuple):
        raise ValueError(f"covariates must be a list of column names, got {covariates!r}")
    if not covariates:
        raise ValueError("covariates must name at least one column")
    _require_columns(geo_data, "geo_data", group=group)
    check_columns(geo_data, covariates, name="covariates: geo_data")
    labels = _label_column(geo_data, group, "group")
    if labels.nunique() != 2 or treatment_label not in set(labels):
        raise ValueError(
            f"group: column {group!r} must hold two arms, one labelled treatment_label "
            f"{treatment_label!r}; got {sorted(map(str, labels.unique()))}"
        )
    treated = labels.to_numpy() == treatment_label
    _check_arm_sizes(treated)
    rows = {}
    for name in covariates:
        values = column_as_float_array(geo_data, name, "covariates")
        result = welch_test_arrays(values, treated)
        pooled_sd = math.sqrt((values[treated].var(ddof=1) + values[~treated].var(ddof=1)) / 2)
        rows[name] = {
            "mean_treatment": values[treated].mean(),
            "mean_control": values[~treated].mean(),
            "difference": float(result["estimate"]),
            "standardized_difference": (
                float(result["estimate"]) / pooled_sd if pooled_sd else 0.0
            ),
            "p_value": float(result["p_value"]),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("covariate")


def paired_test_arrays(
    values: np.ndarray, treated: np.ndarray, pair: np.ndarray, *, alpha: float = 0.05
) -> dict[str, np.ndarray]:
    """Paired t-test on within-pair treatment-minus-control differences, vectorised.

    Parameters
    ----------
    values, treated, pair : numpy.ndarray
        Per-geo outcomes, assignment and pair index, shape ``(..., n_geos)``; each pair has
        exactly one treated and one control geo, pairs numbered ``0 .. n_pairs - 1``.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    dict of numpy.ndarray
        ``estimate``, ``se``, ``df`` (``n_pairs - 1``), ``t_statistic``, ``p_value``,
        ``ci_low``, ``ci_high``.

    Raises
    ------
    ValueError
        If ``values`` is not finite and numeric, ``treated`` is not 0/1, ``pair`` is not
        integer, the shapes differ, there are fewer than 2 pairs, or a pair does not hold
        exactly one treated and one control geo.

    Notes
    -----
    When every within-pair difference is the same the standard error is 0 and the
    answer is the se -> 0 limit: a point interval, ``t_statistic`` 0 or +-inf and
    ``p_value`` 1 or 0.
    """
    alpha = check_alpha(alpha)
    values, treated = _values_and_indicator(values, treated)
    pair_raw = np.asarray(pair)
    if pair_raw.dtype.kind not in "biuf" or pair_raw.size == 0:
        raise ValueError("pair must be a non-empty array of integer pair indices")
    pair_float = pair_raw.astype(float)
    if not np.isfinite(pair_float).all() or np.any(pair_float != np.round(pair_float)):
        raise ValueError("pair must hold integer pair indices (no NaN or fractions)")
    try:
        pair = np.broadcast_to(pair_float.astype(np.int64), values.shape)
    except ValueError:
        raise ValueError(
            f"length mismatch: values has shape {values.shape}, pair has shape "
            f"{pair_raw.shape}"
        ) from None
    n_pairs = values.shape[-1] // 2
    if n_pairs < 2:
        raise ValueError(f"pair: need at least 2 pairs, got {n_pairs}")
    if pair.min() < 0 or pair.max() >= n_pairs:
        raise ValueError(f"pair: indices must lie in 0 .. {n_pairs - 1}")
    sign = np.where(treated, 1.0, -1.0)
    flat_values = (sign * values).reshape(-1, values.shape[-1])
    flat_pair = pair.reshape(-1, values.shape[-1])
    offsets = (np.arange(flat_pair.shape[0]) * n_pairs)[:, None]
    differences = np.bincount(
        (flat_pair + offsets).ravel(),
        weights=flat_values.ravel(),
        minlength=flat_pair.shape[0] * n_pairs,
    )
    treated_per_pair = np.bincount(
        (flat_pair + offsets).ravel(),
        weights=treated.reshape(flat_pair.shape).ravel(),
        minlength=flat_pair.shape[0] * n_pairs,
    )
    size_per_pair = np.bincount(
        (flat_pair + offsets).ravel(), minlength=flat_pair.shape[0] * n_pairs
    )
    if values.shape[-1] % 2 or np.any(treated_per_pair != 1) or np.any(size_per_pair != 2):
        raise ValueError("pair: every pair must hold exactly one treated and one control geo")
    differences = differences.reshape(values.shape[:-1] + (n_pairs,))
    estimate = differences.mean(axis=-1)
    se = differences.std(axis=-1, ddof=1) / math.sqrt(n_pairs)
    df = np.full(estimate.shape, n_pairs - 1.0)
    positive = se > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(estimate == 0, 0.0, np.copysign(np.inf, estimate))
        t_statistic = np.where(positive, estimate / np.where(positive, se, 1.0), limit)
    critical = stats.t.ppf(1 - alpha / 2, n_pairs - 1)
    return {
        "estimate": estimate,
        "se": se,
        "df": df,
        "t_statistic": t_statistic,
        "p_value": 2 * stats.t.sf(np.abs(t_statistic), n_pairs - 1),
        "ci_low": estimate - critical * se,
        "ci_high": estimate + critical * se,
    }


def estimate_paired_did(
    data: pd.DataFrame,
    *,
    pair: str = "pair",
    geo: str = "geo",
    period: str = "period",
    group: str = "group",
    kpi: str = "kpi",
    treatment_label: str = "treatment",
    alpha: float = 0.05,
) -> Estimate:
    """Difference-in-differences for a matched-pair design: a paired t-test on deltas.

    Within each pair, subtract the control geo's delta from the treated geo's; the
    estimate is the mean of these differences and its interval uses Student's t with
    ``n_pairs - 1`` degrees of freedom. This is the analysis that respects the pairs
    (identical to OLS of the delta on treatment plus pair fixed effects).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy panel as for :func:`estimate_did`, plus a ``pair`` column constant per geo.
    pair : str
        Pair column.

    Returns
    -------
    Estimate
        Method ``"paired did"``; ``details`` holds the number of pairs.

    Raises
    ------
    ValueError
        Bad panels, a missing or absent ``pair`` column, fewer than 2 pairs, or a pair
        without exactly one geo per arm. Equal within-pair differences give the se -> 0
        limit (see :func:`paired_test_arrays`).
    """
    alpha = check_alpha(alpha)
    _require_columns(data, pair=pair)
    _label_column(data, pair, "pair")
    table = aggregate_geo_periods(
        data, geo=geo, period=period, group=group, kpi=kpi, treatment_label=treatment_label
    )
    pairs_per_geo = data.groupby(geo, sort=True)[pair].nunique()
    if (pairs_per_geo > 1).any():
        raise ValueError("pair: a geo belongs to more than one pair")
    pair_codes, pair_levels = _codes(data.groupby(geo, sort=True)[pair].first())
    if pair_levels.size < 2:
        raise ValueError("pair: need at least 2 pairs")
    result = paired_test_arrays(
        table["delta"].to_numpy(), table["treated"].to_numpy(), pair_codes, alpha=alpha
    )
    return Estimate(
        "paired did",
        float(result["estimate"]),
        float(result["se"]),
        float(result["ci_low"]),
        float(result["ci_high"]),
        alpha=alpha,
        p_value=float(result["p_value"]),
        df=float(result["df"]),
        details={"n_pairs": int(pair_levels.size), "t_statistic": float(result["t_statistic"])},
    )


# ------------------------------------------------------------------- randomisation inference
def _assignment_matrix(
    treated: np.ndarray,
    pair_codes: np.ndarray | None,
    n_permutations: int,
    max_exact: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, bool]:
    """Rows are alternative assignments drawn from the design actually used."""
    n_geos = treated.size
    if pair_codes is None:
        n_treated = int(treated.sum())
        total = math.comb(n_geos, n_treated)
        if total <= max_exact:
            chosen = np.fromiter(
                combinations(range(n_geos), n_treated),
                dtype=np.dtype((np.int64, n_treated)),
                count=total,
            )
            rows = np.zeros((total, n_geos), dtype=bool)
            np.put_along_axis(rows, chosen, True, axis=1)
            return rows, True
        keys = rng.random((n_permutations, n_geos))
        ranks = np.argsort(keys, axis=1)
        rows = np.zeros((n_permutations, n_geos), dtype=bool)
        np.put_along_axis(rows, ranks[:, :n_treated], True, axis=1)
        return np.vstack([treated[None, :], rows]), False
    n_pairs = int(pair_codes.max()) + 1
    # flip[k, p] says whether pair p's assignment is swapped in alternative k
    if 2**n_pairs <= max_exact:
        flips = ((np.arange(2**n_pairs)[:, None] >> np.arange(n_pairs)) & 1).astype(bool)
        exact = True
    else:
        flips = np.vstack(
            [np.zeros((1, n_pairs), dtype=bool), rng.random((n_permutations, n_pairs)) < 0.5]
        )
        exact = False
    return treated[None, :] ^ flips[:, pair_codes], exact


def estimate_randomization_inference(
    data: pd.DataFrame,
    *,
    design: str = "complete",
    pair: str = "pair",
    geo: str = "geo",
    period: str = "period",
    group: str = "group",
    kpi: str = "kpi",
    treatment_label: str = "treatment",
    alpha: float = 0.05,
    n_permutations: int = 10_000,
    max_exact: int = 200_000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Randomisation (permutation) inference for the DiD on per-geo deltas.

    The statistic is the difference of mean deltas. Under the sharp null of no effect on
    any geo, re-randomising with the design actually used (complete randomisation with
    the same arm sizes, or coin flips within pairs) gives its exact null distribution
    :cite:`fisher1935design,athey2017econometrics`. All assignments are enumerated when
    there are at most ``max_exact`` of them (exact p-value); otherwise ``n_permutations``
    are drawn and ``p = (1 + #{|T*| >= |T|}) / (1 + n_permutations)``, which is valid.

    The interval inverts the test of ``H0: every geo's delta moves by tau``: it holds every
    ``tau`` whose p-value exceeds ``alpha`` (a constant additive effect is assumed).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy panel, see :func:`aggregate_geo_periods`; with ``design="pairs"`` also a
        ``pair`` column.
    design : {"complete", "pairs"}
        The assignment mechanism actually used.
    n_permutations, max_exact : int
        Monte Carlo draws, and the largest number of assignments to enumerate.
    rng : numpy.random.Generator or int or None
        Random generator or seed (used only when not enumerating).

    Returns
    -------
    Estimate
        Method ``"randomization inference"``; ``se`` is the sd of the statistic over the
        re-randomisations; ``details`` has ``exact`` (1.0 or 0.0) and ``n_assignments``.

    Raises
    ------
    ValueError
        Bad panels, an unknown design, an arm with no geo, invalid ``pairs`` for
        ``design="pairs"``, too few ``n_permutations`` (below 100), or an invalid ``rng``.
    """
    rng = check_rng(rng)
    alpha = check_alpha(alpha)
    check_choice(design, "design", ("complete", "pairs"))
    n_permutations = check_integer(n_permutations, "n_permutations", minimum=100)
    max_exact = check_integer(max_exact, "max_exact", minimum=1)
    table = aggregate_geo_periods(
        data, geo=geo, period=period, group=group, kpi=kpi, treatment_label=treatment_label
    )
    treated = table["treated"].to_numpy()
    _check_arm_sizes(treated, minimum=1)  # one treated geo is fine: placebo-in-space test
    delta = table["delta"].to_numpy()
    pair_codes = None
    if design == "pairs":
        _require_columns(data, pair=pair)
        _label_column(data, pair, "pair")
        pair_codes, _ = _codes(data.groupby(geo, sort=True)[pair].first())
        paired_test_arrays(delta, treated, pair_codes)  # validates the pairs
    assignments, exact = _assignment_matrix(treated, pair_codes, n_permutations, max_exact, rng)
    n_t = assignments.sum(axis=1)
    n_c = assignments.shape[1] - n_t
    # Statistic under H0(tau) for assignment w: a_w - tau * b_w (linear in tau).
    a = (assignments @ delta) / n_t - ((~assignments) @ delta) / n_c
    b = (assignments @ treated.astype(float)) / n_t - ((~assignments) @ treated.astype(float)) / n_c
    observed = float(delta[treated].mean() - delta[~treated].mean())
    tolerance = 1e-12 * (1.0 + np.abs(a).max())

    def p_value(tau: float) -> float:
        observed_tau = abs(observed - tau)
        return float(np.mean(np.abs(a - tau * b) >= observed_tau - tolerance))

    spread = float(a.std())
    scale = spread if spread > 0 else max(1.0, abs(observed))  # all deltas equal
    grid = observed + scale * np.linspace(-8, 8, 321)
    p_grid = np.array([p_value(tau) for tau in grid])
    accepted = np.flatnonzero(p_grid > alpha)

    def boundary(inside: float, outside: float) -> float:
        for _ in range(60):
            middle = 0.5 * (inside + outside)
            if p_value(middle) > alpha:
                inside = middle
            else:
                outside = middle
        return inside

    if accepted.size == 0:  # too few assignments to reject anything at this alpha
        low, high = -math.inf, math.inf
    else:
        first, last = accepted[0], accepted[-1]
        low = -math.inf if first == 0 else boundary(grid[first], grid[first - 1])
        high = math.inf if last == grid.size - 1 else boundary(grid[last], grid[last + 1])
    return Estimate(
        "randomization inference",
        observed,
        spread,
        low,
        high,
        alpha=alpha,
        p_value=p_value(0.0),
        details={
            "exact": float(exact),
            "n_assignments": int(assignments.shape[0]),
            "design": design,
        },
    )


# --------------------------------------------------------------------------- power and MDE
def _delta_arrays(arrays: Any) -> tuple[np.ndarray, np.ndarray]:
    kpi = arrays.kpi
    post = arrays.is_post
    delta0 = kpi[:, :, post].mean(axis=2) - kpi[:, :, ~post].mean(axis=2)
    if arrays.lift != 0:
        raise ValueError("lift must be 0 in the base simulation")
    signal = arrays.expected_untreated[:, :, post].mean(axis=2) * arrays.treated
    return delta0, signal


_PANEL_OPTIONS = (
    "baseline_mean",
    "baseline_sd",
    "noise_sd",
    "trend_per_day",
    "weekly_amplitude",
    "geo_trend_sd",
    "treated_fraction",
)


def _check_panel_options(panel_options: dict[str, Any]) -> None:
    unknown = sorted(set(panel_options) - set(_PANEL_OPTIONS))
    if unknown:
        raise ValueError(
            f"panel_options: unknown option(s) {unknown}; allowed: {list(_PANEL_OPTIONS)}"
        )


def _check_simulated_arms(arrays: Any, n_geos: int, design: str) -> np.ndarray:
    n_treated = arrays.treated.sum(axis=1)
    if n_treated.min() < 2 or n_treated.max() > n_geos - 2:
        raise ValueError(
            f"design: {design!r} left an arm with fewer than 2 geos in some "
            f"simulations (n_geos={n_geos}); use more geos, complete randomisation or pairs"
        )
    return n_treated


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
    """Power of the geo DiD test by simulation, vectorised over simulations and lifts.

    Draws ``n_sims`` geo experiments with :func:`~playbook_lib.simulate.simulate_geo_kpi`
    (arrays of shape ``(n_sims, n_geos, days)``) under no effect, and adds each lift to the
    same draws (common random numbers, so the power curve is smooth and monotone in
    expectation). Each experiment is analysed by Welch's t on per-geo deltas
    (``analysis="did"``) or by the paired t-test (``analysis="paired"``, the default for
    ``design="pairs"``).

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
        The test: ``"did"`` Welch t on deltas, ``"paired"`` paired t on deltas;
        ``"did_normal"`` (Welch statistic with normal critical values) and
        ``"unpaired_post"`` (Welch on post-period levels ignoring the pairs) exist only to
        show pitfalls.
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
        One row per lift: ``lift``, ``power`` (share of rejections), ``mc_se`` (its Monte
        Carlo standard error), ``mean_estimate``, ``mean_true_effect``, ``coverage`` (share
        of intervals covering the true effect; NaN for ``"did_normal"``).

    A simulated experiment whose standard error is zero (e.g. ``noise_sd=0`` and
    ``baseline_sd=0``) is judged by the se -> 0 limit of its test: it rejects exactly
    when its estimate is not zero.

    Raises
    ------
    ValueError
        Bad sizes, lifts that are not finite numbers, an unknown design, analysis or
        panel option, a design that leaves an arm with fewer than 2 geos, or a bad
        ``rng``.
    """
    alpha = check_alpha(alpha)
    rng = check_rng(rng)
    check_choice(design, "design", ("complete", "pairs", "bernoulli"))
    if analysis is None:
        analysis = "paired" if design == "pairs" else "did"
    check_choice(analysis, "analysis", ("did", "paired", "did_normal", "unpaired_post"))
    if analysis == "paired" and design != "pairs":
        raise ValueError("analysis='paired' needs design='pairs'")
    if isinstance(lifts, bool | np.bool_):
        raise ValueError(f"lifts must be numbers, got {lifts!r}")
    lifts_array = np.atleast_1d(as_float_array(np.atleast_1d(lifts), "lifts"))
    _check_panel_options(panel_options)
    arrays = simulate_geo_kpi(
        n_sims, n_geos, pre_days, post_days, lift=0.0, design=design, rng=rng, **panel_options
    )
    n_treated = _check_simulated_arms(arrays, n_geos, design)
    delta0, signal = _delta_arrays(arrays)
    truth_unit = signal.sum(axis=1) / n_treated  # true effect per unit of lift
    rows = []
    for lift in lifts_array:
        if analysis == "unpaired_post":
            outcome = arrays.kpi[:, :, arrays.is_post].mean(axis=2) + lift * signal
        else:
            outcome = delta0 + lift * signal
        if analysis == "paired":
            result = paired_test_arrays(outcome, arrays.treated, arrays.pair, alpha=alpha)
        else:
            result = welch_test_arrays(outcome, arrays.treated, alpha=alpha)
        p = result["p_value_normal"] if analysis == "did_normal" else result["p_value"]
        reject = p < alpha
        truth = lift * truth_unit
        if analysis == "did_normal":
            coverage = np.nan
        else:
            coverage = float(np.mean((result["ci_low"] <= truth) & (truth <= result["ci_high"])))
        power = float(reject.mean())
        rows.append(
            {
                "lift": float(lift),
                "power": power,
                "mc_se": math.sqrt(max(power * (1 - power), 1e-12) / n_sims),
                "mean_estimate": float(np.mean(result["estimate"])),
                "mean_true_effect": float(truth.mean()),
                "coverage": coverage,
            }
        )
    return pd.DataFrame(rows)


def estimate_minimum_detectable_lift(
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
    check_choice(design, "design", ("complete", "pairs", "bernoulli"))
    _check_panel_options(panel_options)
    arrays = simulate_geo_kpi(
        n_sims, n_geos, pre_days, post_days, lift=0.0, design=design, rng=rng, **panel_options
    )
    n_treated = _check_simulated_arms(arrays, n_geos, design)
    delta0, signal = _delta_arrays(arrays)

    def test(lift: float) -> dict[str, np.ndarray]:
        if design == "pairs":
            return paired_test_arrays(
                delta0 + lift * signal, arrays.treated, arrays.pair, alpha=alpha
            )
        return welch_test_arrays(delta0 + lift * signal, arrays.treated, alpha=alpha)

    def power_at(lift: float) -> float:
        result = test(lift)
        return float(np.mean((result["p_value"] < alpha) & (result["estimate"] > 0)))

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
    level = float((signal.sum(axis=1) / n_treated).mean())
    return {
        "mde_lift": high,
        "mde_absolute": high * level,
        "power": power_at(high),
        "null_estimator_sd": float(np.std(test(0.0)["estimate"], ddof=1)),
    }


# --------------------------------------------------------------------------- event study
@dataclass(frozen=True)
class _EventStudyFit:
    table: pd.DataFrame
    covariance: np.ndarray  # CR1 covariance of the interaction coefficients
    influence: np.ndarray  # (G, k) per-cluster influence of those coefficients (HC0)
    cluster_treated: np.ndarray  # (G,) whether each cluster is in the treatment arm
    n_clusters: int


def _fit_event_study(data, unit, time, outcome, group, treatment_label, reference, alpha):  # type: ignore[no-untyped-def]
    alpha = check_alpha(alpha)
    _require_columns(data, unit=unit, time=time, outcome=outcome, group=group)
    y = column_as_float_array(data, outcome, "outcome")
    _time_column(data, time)
    _label_column(data, unit, "unit")
    _label_column(data, group, "group")
    if data.groupby(unit)[group].nunique().max() > 1:
        raise ValueError("group: a unit is in both arms")
    in_treatment = (data[group] == treatment_label).to_numpy()
    if in_treatment.all() or not in_treatment.any():
        raise ValueError(
            f"group: column {group!r} needs both arms, one labelled treatment_label "
            f"{treatment_label!r}"
        )
    unit_codes, units = _codes(data[unit])
    time_codes, times = _codes(data[time])
    if reference not in set(times.tolist()):
        raise ValueError(f"reference: {reference!r} is not a value of column {time!r}")
    reference_code = int(np.flatnonzero(times == reference)[0])
    keep = [k for k in range(times.size) if k != reference_code]
    interactions = _dummies(time_codes, times.size, False)[:, keep] * in_treatment[:, None]
    fixed_effects = np.column_stack(
        [
            np.ones(y.size),
            _dummies(unit_codes, units.size, True),
            _dummies(time_codes, times.size, True),
        ]
    )
    design = np.column_stack([interactions, fixed_effects])
    if units.size < 3:
        raise ValueError(
            f"unit: clustered standard errors need at least 3 units (clusters), got "
            f"{units.size}"
        )
    _check_identified(design, fixed_effects, group, unit, time)
    _warn_if_one_treated_unit(int(np.unique(unit_codes[in_treatment]).size))
    fit = sm.OLS(y, design).fit(cov_type="cluster", cov_kwds={"groups": unit_codes}, use_t=True)
    k = len(keep)
    interval = fit.conf_int(alpha=alpha)[:k]
    scores = np.zeros((units.size, design.shape[1]))
    np.add.at(scores, unit_codes, design * fit.resid[:, None])
    influence = scores @ np.asarray(fit.normalized_cov_params)[:, :k]
    cluster_treated = np.zeros(units.size, dtype=bool)
    cluster_treated[unit_codes[in_treatment]] = True
    table = (
        pd.DataFrame(
            {
                time: np.concatenate([times[keep], [reference]]),
                "estimate": np.concatenate([fit.params[:k], [0.0]]),
                "se": np.concatenate([fit.bse[:k], [0.0]]),
                "ci_low": np.concatenate([interval[:, 0], [0.0]]),
                "ci_high": np.concatenate([interval[:, 1], [0.0]]),
            }
        )
        .sort_values(time, kind="stable")
        .reset_index(drop=True)
    )
    fit_summary = _EventStudyFit(
        table,
        np.asarray(fit.cov_params())[:k, :k],
        influence,
        cluster_treated,
        int(units.size),
    )
    return fit_summary, times[keep]


def estimate_event_study(
    data: pd.DataFrame,
    *,
    unit: str = "geo",
    time: str = "week",
    outcome: str = "kpi",
    group: str = "group",
    treatment_label: str = "treatment",
    reference: Any = -1,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Event study for a two-arm geo test: treatment-control gap per period, vs a reference.

    Fits ``y_gt = alpha_g + lambda_t + sum_{k != ref} beta_k 1[g treated] 1[t = k] + e_gt``
    by OLS with standard errors clustered by unit and t(G - 1) intervals. ``beta_k`` is
    the change in the treatment-control gap between period ``k`` and the reference
    period (usually the last pre-period). Pre-period ``beta_k`` near zero support
    parallel trends; test them jointly with :func:`check_pre_trends`. Aggregate days to
    weeks first so each coefficient averages several days. With a single treated unit
    the clustered errors ignore that unit's own noise (its score is zero): the function
    warns with :class:`~playbook_lib.PlaybookWarning`; read the point estimates, not
    the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per period (the reference included with 0), columns ``time``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``.

    Raises
    ------
    ValueError
        Missing columns, no rows, non-finite outcomes, a time column that is not numeric
        (or datetime) or has missing values, missing unit or group labels, one arm only
        (or no ``treatment_label``), a unit in both arms, an unknown reference, fewer
        than 3 units, a period observed in one arm only (its coefficient is not
        identified), or no residual degrees of freedom.
    """
    fit, _ = _fit_event_study(data, unit, time, outcome, group, treatment_label, reference, alpha)
    return fit.table


def check_pre_trends(
    data: pd.DataFrame,
    pre_periods: list[Any],
    *,
    unit: str = "geo",
    time: str = "week",
    outcome: str = "kpi",
    group: str = "group",
    treatment_label: str = "treatment",
    reference: Any = -1,
) -> dict[str, float]:
    """Joint test that every pre-period event-study coefficient is zero.

    The ``q`` pre-period coefficients ``beta`` of :func:`estimate_event_study` are a
    difference between the arms, so the test is a two-sample comparison of mean vectors with
    unequal covariances: each arm's covariance is estimated from its clusters' influence on
    ``beta`` (``n_a / (n_a - 1)`` times the sum of their outer products), ``T2 = beta'
    (V_treatment + V_control)^-1 beta``, and ``T2 (nu - q + 1) / (q nu)`` is referred to
    ``F(q, nu - q + 1)`` with the degrees of freedom ``nu`` of the modified Nel-Van der
    Merwe test of Krishnamoorthy and Yu (2004, *Statistics & Probability Letters* 66,
    161-169); for one coefficient it is Welch's t-test, squared. In a balanced panel the
    influence vectors are each unit's change from the reference period minus its arm's mean,
    so this is exactly their test on those changes. A Wald test with an ``F(q, G - 1)``
    reference, which ignores that the ``q x q`` covariance is itself estimated from ``G``
    clusters, rejects far too often unless ``q`` is much smaller than ``G`` (20 % at a
    nominal 5 % with 7 coefficients and 20 geos in simulation); in simulation this test held
    5 % there, 4 % with 5 coefficients and 6 of 20 geos treated, and 6 % with 8 coefficients
    and 10 of 40 geos treated.

    The test needs more units than coefficients in each arm (``q < n_a``; the test of
    Krishnamoorthy and Yu assumes it): otherwise an arm's covariance is singular and the
    test is not identified (e.g. 27 daily pre-periods and 20 geos), so this function raises;
    aggregate days to weeks (a ``week`` column) to test fewer coefficients. A large p-value
    is not proof of parallel trends: the test has low power with few geos, so also look at
    the event-study plot.

    Returns
    -------
    dict
        ``f_statistic`` (non-negative), ``df_numerator`` (``q``), ``df_denominator``
        (``nu - q + 1``) and ``p_value``.

    Raises
    ------
    ValueError
        As :func:`estimate_event_study`; if ``pre_periods`` is empty or lists a period
        not in the data (the reference is excluded automatically); if an arm has fewer
        than 2 units; or if there are too many pre-period coefficients for the number of
        units (``q`` not below the number of units in each arm, a singular covariance,
        or ``nu - q + 1 <= 0``).
    """
    fit, kept = _fit_event_study(data, unit, time, outcome, group, treatment_label, reference, 0.05)
    if isinstance(pre_periods, str | bytes) or not np.iterable(pre_periods):
        raise ValueError(f"pre_periods must be a list of periods, got {pre_periods!r}")
    wanted = list(dict.fromkeys(p for p in pre_periods if p != reference))
    if not wanted:
        raise ValueError("pre_periods must list at least one non-reference period")
    kept_list = kept.tolist()
    missing = [p for p in wanted if p not in kept_list]
    if missing:
        raise ValueError(f"pre_periods: {missing} not found in column {time!r}")
    index = [kept_list.index(p) for p in wanted]
    beta = fit.table.set_index(time).loc[wanted, "estimate"].to_numpy(dtype=float)
    q = len(index)
    sizes = [int(fit.cluster_treated.sum()), int((~fit.cluster_treated).sum())]
    if min(sizes) < 2:
        raise ValueError(
            f"group: the pre-trend test needs at least 2 units in each arm, got {sizes[0]} "
            f"treatment and {sizes[1]} control (with one treated unit its own noise never "
            "enters a clustered covariance; use a placebo-in-space test)"
        )
    if q >= min(sizes):
        raise ValueError(
            f"pre_periods: {q} pre-period coefficients cannot be tested jointly with "
            f"{sizes[0]} treatment and {sizes[1]} control units: each arm's covariance of "
            f"them is singular unless the arm has more units than coefficients (at most "
            f"{min(sizes) - 1} here), so the test is not identified; aggregate the "
            f"{time!r} column to fewer, longer periods (e.g. days to weeks) or test fewer "
            "pre-periods"
        )
    influence = fit.influence[:, index]
    arm_covariances = []
    for arm, n_arm in ((fit.cluster_treated, sizes[0]), (~fit.cluster_treated, sizes[1])):
        rows = influence[arm]
        arm_covariances.append(n_arm / (n_arm - 1) * rows.T @ rows)
    covariance = arm_covariances[0] + arm_covariances[1]
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    if eigenvalues.min() <= 1e-10 * max(eigenvalues.max(), 1e-300):
        raise ValueError(
            f"pre_periods: the covariance of the {q} pre-period coefficients is singular "
            f"(too many coefficients for {sizes[0]} treatment and {sizes[1]} control "
            f"units, or an outcome without noise); aggregate the {time!r} column to "
            "fewer periods or test fewer pre-periods"
        )
    inverse = (eigenvectors / eigenvalues) @ eigenvectors.T
    projected = eigenvectors.T @ beta
    t_squared = float(np.sum(projected**2 / eigenvalues))
    spread = 0.0
    for arm_covariance, n_arm in zip(arm_covariances, sizes, strict=True):
        product = arm_covariance @ inverse
        spread += (np.trace(product @ product) + np.trace(product) ** 2) / (n_arm - 1)
    nu = (q + q * q) / spread
    df_denominator = nu - q + 1
    if not df_denominator > 0:
        raise ValueError(
            f"pre_periods: {q} pre-period coefficients are too many for {sizes[0]} "
            f"treatment and {sizes[1]} control units (denominator degrees of freedom "
            f"{df_denominator:.2g}); aggregate the {time!r} column to fewer periods"
        )
    f_statistic = t_squared * df_denominator / (q * nu)
    return {
        "f_statistic": float(f_statistic),
        "df_numerator": float(q),
        "df_denominator": float(df_denominator),
        "p_value": float(stats.f.sf(f_statistic, q, df_denominator)),
    }


# --------------------------------------------------------------------------- imputation (BJS)
@dataclass(frozen=True)
class _ImputationFit:
    unit_codes: np.ndarray
    units: np.ndarray
    time_codes: np.ndarray
    times: np.ndarray
    is_treated: np.ndarray
    cohort: np.ndarray
    horizon: np.ndarray
    inverse_gram: np.ndarray  # (Z0'Z0)^-1 for unit dummies and time dummies (first dropped)
    residual: np.ndarray  # untreated residuals (0 for treated rows)
    tau: np.ndarray  # imputed effects (0 for untreated rows)
    sigma2: float  # residual variance of the untreated fit
    df_resid: int

    def design_sums(self, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``Z[rows]' weights`` (p, K) without forming the dummy matrix."""
        n_units, n_times = self.units.size, self.times.size
        out = np.zeros((n_units + n_times, weights.shape[1]))
        np.add.at(out, self.unit_codes[rows], weights)
        np.add.at(out, n_units + self.time_codes[rows], weights)
        return np.delete(out, n_units, axis=0)  # drop the first period's dummy

    def design_times(self, rows: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
        """``Z[rows] @ coefficients`` (n_rows, K) without forming the dummy matrix."""
        n_units = self.units.size
        time_part = np.vstack([np.zeros((1, coefficients.shape[1])), coefficients[n_units:]])
        return coefficients[self.unit_codes[rows]] + time_part[self.time_codes[rows]]


def _fit_imputation(data, unit, time, outcome, first_treated):  # type: ignore[no-untyped-def]
    _require_columns(data, unit=unit, time=time, outcome=outcome, first_treated=first_treated)
    y = column_as_float_array(data, outcome, "outcome")
    time_values = column_as_float_array(data, time, "time")
    adoption = column_as_float_array(data, first_treated, "first_treated", allow_nan=True)
    unit_codes, units = _codes(_label_column(data, unit, "unit"))
    time_codes, times = _codes(data[time])
    if np.unique(unit_codes * times.size + time_codes).size < y.size:
        raise ValueError(f"unit/time: duplicated unit-period rows in {unit!r}/{time!r}")
    filled = np.where(np.isnan(adoption), np.inf, adoption)
    low = np.full(units.size, np.inf)
    high = np.full(units.size, -np.inf)
    np.minimum.at(low, unit_codes, filled)
    np.maximum.at(high, unit_codes, filled)
    if np.any(low != high):
        raise ValueError(f"first_treated column {first_treated!r} must be constant within a unit")
    is_treated = time_values >= filled
    if not is_treated.any():
        raise ValueError(f"first_treated: no treated observations in column {first_treated!r}")
    untreated = ~is_treated
    n_units, n_times = units.size, times.size
    counts = np.bincount(
        unit_codes[untreated] * n_times + time_codes[untreated], minlength=n_units * n_times
    ).reshape(n_units, n_times)
    if np.any(counts.sum(axis=1) == 0):
        always = units[counts.sum(axis=1) == 0].tolist()[:5]
        raise ValueError(
            f"first_treated: unit(s) {always} are treated in every observed "
            "period, so their untreated outcome cannot be imputed; drop them"
        )
    if np.any(counts.sum(axis=0) == 0):
        bad = times[counts.sum(axis=0) == 0].tolist()[:5]
        raise ValueError(
            f"first_treated: in period(s) {bad} every unit is treated, so no "
            "period effect can be estimated; drop those periods"
        )
    # Gram matrix of [unit dummies, period dummies except the first] on untreated rows
    p = n_units + n_times - 1
    gram = np.zeros((p, p))
    gram[:n_units, :n_units] = np.diag(counts.sum(axis=1))
    gram[:n_units, n_units:] = counts[:, 1:]
    gram[n_units:, :n_units] = counts[:, 1:].T
    gram[n_units:, n_units:] = np.diag(counts.sum(axis=0)[1:])
    try:  # full rank when untreated observations connect every unit and period
        np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        raise ValueError(
            "data: unit and period effects are not identified from the untreated "
            "observations (disconnected panel)"
        ) from None
    inverse_gram = np.linalg.inv(gram)
    fit = _ImputationFit(
        unit_codes,
        units,
        time_codes,
        times,
        is_treated,
        np.where(is_treated, adoption, np.nan),
        np.where(is_treated, time_values - adoption, np.nan),
        inverse_gram,
        np.zeros(0),
        np.zeros(0),
        0.0,
        0,
    )
    rows0 = np.flatnonzero(untreated)
    coefficients = inverse_gram @ fit.design_sums(rows0, y[rows0, None])
    fitted = fit.design_times(np.arange(y.size), coefficients)[:, 0]
    residual = np.where(is_treated, 0.0, y - fitted)
    tau = np.where(is_treated, y - fitted, 0.0)
    df_resid = int(untreated.sum() - p)
    if df_resid < 1:
        raise ValueError(
            "data: too few untreated observations to estimate unit and period effects and the noise"
        )
    sigma2 = float(residual @ residual / df_resid)
    return _ImputationFit(
        unit_codes,
        units,
        time_codes,
        times,
        is_treated,
        fit.cohort,
        fit.horizon,
        inverse_gram,
        residual,
        tau,
        sigma2,
        df_resid,
    )


def _imputation_linear_weights(fit: _ImputationFit, weights_treated: np.ndarray) -> np.ndarray:
    """Full-sample weights v (n_obs, K) such that estimate_k = sum_i v_ik y_i.

    ``v = w`` on treated rows and ``-Z0 (Z0'Z0)^-1 Z1' w`` on untreated rows
    :cite:`borusyak2024revisiting`.
    """
    rows1 = np.flatnonzero(fit.is_treated)
    rows0 = np.flatnonzero(~fit.is_treated)
    v = np.zeros((fit.is_treated.size, weights_treated.shape[1]))
    v[rows1] = weights_treated
    v[rows0] = -fit.design_times(rows0, fit.inverse_gram @ fit.design_sums(rows1, weights_treated))
    return v


def _imputation_cluster_variance(fit: _ImputationFit, weights_treated: np.ndarray) -> np.ndarray:
    """Borusyak-Jaravel-Spiess conservative clustered variance, one per weight column.

    Treated residuals are taken around weighted cohort-by-period means of the imputed
    effects, so effect heterogeneity across units within a cohort-period adds to the
    variance (conservative).
    """
    v = _imputation_linear_weights(fit, weights_treated)
    rows1 = np.flatnonzero(fit.is_treated)
    tau1 = fit.tau[rows1]
    cohort_codes, _ = _codes(pd.Series(fit.cohort[rows1]))
    group_codes = cohort_codes * fit.times.size + fit.time_codes[rows1]
    n_groups = int(group_codes.max()) + 1
    numerator = np.zeros((n_groups, weights_treated.shape[1]))
    denominator = np.zeros_like(numerator)
    np.add.at(numerator, group_codes, weights_treated * tau1[:, None])
    np.add.at(denominator, group_codes, weights_treated)
    with np.errstate(divide="ignore", invalid="ignore"):
        group_mean = np.where(denominator != 0, numerator / denominator, 0.0)
    residual = np.repeat(fit.residual[:, None], weights_treated.shape[1], axis=1)
    residual[rows1] = tau1[:, None] - group_mean[group_codes]
    cluster_sums = np.zeros((fit.units.size, weights_treated.shape[1]))
    np.add.at(cluster_sums, fit.unit_codes, v * residual)
    return (cluster_sums**2).sum(axis=0)


def _imputation_homoskedastic_variance(
    fit: _ImputationFit, weights_treated: np.ndarray
) -> np.ndarray:
    c = fit.design_sums(np.flatnonzero(fit.is_treated), weights_treated)
    return fit.sigma2 * (
        (weights_treated**2).sum(axis=0) + np.einsum("pk,pq,qk->k", c, fit.inverse_gram, c)
    )


def _variance_and_df(fit, weights, variance):  # type: ignore[no-untyped-def]
    check_choice(variance, "variance", ("cluster", "homoskedastic"))
    if variance == "cluster":
        return _imputation_cluster_variance(fit, weights), float(fit.units.size - 1)
    return _imputation_homoskedastic_variance(fit, weights), float(fit.df_resid)


def estimate_imputation(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "period",
    outcome: str = "y",
    first_treated: str = "first_treated",
    alpha: float = 0.05,
    variance: str = "cluster",
) -> Estimate:
    """Imputation estimator of the average effect on the treated under staggered adoption.

    :cite:`borusyak2024revisiting`: (1) fit ``Y_it = alpha_i + lambda_t + e_it`` by OLS on
    untreated observations only (never-treated and not-yet-treated); (2) impute
    ``Y_it(0) = alpha_i + lambda_t`` for each treated observation and take
    ``tau_it = Y_it - Y_it(0)``; (3) average ``tau_it`` over all treated observations.
    Unlike two-way fixed effects it never uses already-treated units as controls, so
    effects that vary by cohort and over time since adoption do not bias it.

    Assumes parallel trends (the two-way model holds for untreated outcomes) and no
    anticipation (units are untreated before ``first_treated``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel with columns ``unit``, ``time`` (numeric), ``outcome`` and
        ``first_treated`` (the first treated period, NaN for never-treated units;
        constant within unit). Observation ``it`` is treated when
        ``time >= first_treated``.
    unit, time, outcome, first_treated : str
        Column names.
    alpha : float
        One minus the interval's coverage.
    variance : {"cluster", "homoskedastic"}
        ``"cluster"`` (default): BJS's variance clustered by unit (their Theorem 3), with
        treated-observation residuals taken around cohort-by-period means, and a
        t(G - 1) reference (our small-sample choice; BJS use the normal). It is robust
        to serial correlation and heteroskedasticity, and conservative when effects vary
        within a cohort, but only when each cohort-period cell holds several units: a
        cell mean over one or two units absorbs their own noise, so with tiny cohorts
        the variance understates. ``"homoskedastic"``: exact under independent,
        equal-variance noise: ``sigma^2 (sum_it w_it^2 + c' (Z0'Z0)^-1 c)``, t with the
        untreated fit's residual df; too small when outcomes are serially correlated.

    Returns
    -------
    Estimate
        Method ``"imputation (bjs)"``; ``details`` has the numbers of treated observations,
        treated units and clusters.

    Raises
    ------
    ValueError
        Missing columns or no rows; a non-finite outcome; a time column that is not
        numeric or has missing values; a missing unit; a non-numeric ``first_treated``;
        duplicated unit-periods; ``first_treated`` varying within a unit; no treated
        observations; a unit treated in every period; a period in which every unit is
        treated; an unknown ``variance``.
    """
    alpha = check_alpha(alpha)
    check_choice(variance, "variance", ("cluster", "homoskedastic"))
    fit = _fit_imputation(data, unit, time, outcome, first_treated)
    n_treated = int(fit.is_treated.sum())
    weights = np.full((n_treated, 1), 1.0 / n_treated)
    var, df = _variance_and_df(fit, weights, variance)
    estimate = float(fit.tau[fit.is_treated].mean())
    se = float(np.sqrt(max(var[0], 0.0)))
    return Estimate.from_standard_error(
        "imputation (bjs)",
        estimate,
        se,
        alpha=alpha,
        df=df,
        details={
            "n_treated_observations": n_treated,
            "n_treated_units": int(np.unique(fit.unit_codes[fit.is_treated]).size),
            "n_clusters": int(fit.units.size),
            "variance": variance,
        },
    )


def imputation_horizon_effects(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "period",
    outcome: str = "y",
    first_treated: str = "first_treated",
    alpha: float = 0.05,
    variance: str = "cluster",
) -> pd.DataFrame:
    """Imputation estimates of the average effect by periods since adoption (event time).

    Averages the imputed ``tau_it`` of :func:`estimate_imputation` over treated
    observations with ``time - first_treated = h``, for each horizon ``h >= 0``. Note that
    later horizons are averages over fewer (earlier) cohorts.

    Returns
    -------
    pandas.DataFrame
        Columns ``horizon``, ``estimate``, ``se``, ``ci_low``, ``ci_high``,
        ``n_observations``, ``n_cohorts``.

    Raises
    ------
    ValueError
        As :func:`estimate_imputation`.
    """
    alpha = check_alpha(alpha)
    check_choice(variance, "variance", ("cluster", "homoskedastic"))
    fit = _fit_imputation(data, unit, time, outcome, first_treated)
    horizon = fit.horizon[fit.is_treated]
    horizons, codes = np.unique(horizon, return_inverse=True)
    indicator = _dummies(codes.astype(np.int64), horizons.size, False)
    counts = indicator.sum(axis=0)
    weights = indicator / counts
    var, df = _variance_and_df(fit, weights, variance)
    estimate = weights.T @ fit.tau[fit.is_treated]
    se = np.sqrt(var)
    critical = stats.t.ppf(1 - alpha / 2, df)
    cohorts = fit.cohort[fit.is_treated]
    return pd.DataFrame(
        {
            "horizon": horizons,
            "estimate": estimate,
            "se": se,
            "ci_low": estimate - critical * se,
            "ci_high": estimate + critical * se,
            "n_observations": counts.astype(int),
            "n_cohorts": [int(np.unique(cohorts[codes == k]).size) for k in range(horizons.size)],
        }
    )


def _unit_weights(fit: _ImputationFit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    treated_units, codes = np.unique(fit.unit_codes[fit.is_treated], return_inverse=True)
    indicator = _dummies(codes.astype(np.int64), treated_units.size, False)
    counts = indicator.sum(axis=0)
    return treated_units, indicator / counts, counts


def imputation_unit_effects(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "period",
    outcome: str = "y",
    first_treated: str = "first_treated",
) -> pd.DataFrame:
    """Per-unit imputation estimates: each treated unit's average effect over its treated periods.

    ``tau_i = mean_t (Y_it - alpha_i - lambda_t)`` over the unit's treated periods, with
    the two-way model fitted on untreated observations as in :func:`estimate_imputation`.
    Its error has two parts: the noise of the unit's own treated outcomes and the error of
    the imputed ``Y_it(0)`` (of ``alpha_i`` and of the period effects). Assuming
    independent noise with one variance ``sigma^2`` (estimated from the untreated fit),

    ``Var(tau_i) = sigma^2 (1 / T_i + c_i' (Z0'Z0)^-1 c_i)``

    where ``T_i`` is the number of treated periods and ``c_i`` the mean design row of the
    unit's treated observations. Cluster-robust errors are impossible for one unit, so
    these standard errors are too small when a unit's outcomes are serially correlated
    (compare ``estimate_imputation(..., variance="homoskedastic")`` with the clustered
    default before trusting them).

    The unit estimates are **correlated**: every unit treated in period ``t`` shares the
    error of the same ``lambda_t`` (:func:`imputation_unit_effect_covariance` returns the
    full covariance). Treating them as independent, as a second-stage model that pools
    them usually does, understates the uncertainty of any average over units.

    Returns
    -------
    pandas.DataFrame
        One row per treated unit: ``unit``, ``estimate``, ``se``, ``n_treated_periods``,
        ``first_treated``.

    Raises
    ------
    ValueError
        As :func:`estimate_imputation`.
    """
    fit = _fit_imputation(data, unit, time, outcome, first_treated)
    treated_units, weights, counts = _unit_weights(fit)
    var = _imputation_homoskedastic_variance(fit, weights)
    cohort = (
        pd.Series(fit.cohort[fit.is_treated])
        .groupby(fit.unit_codes[fit.is_treated])
        .first()
        .to_numpy()
    )
    return pd.DataFrame(
        {
            "unit": fit.units[treated_units],
            "estimate": weights.T @ fit.tau[fit.is_treated],
            "se": np.sqrt(var),
            "n_treated_periods": counts.astype(int),
            "first_treated": cohort,
        }
    )


def imputation_unit_effect_covariance(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "period",
    outcome: str = "y",
    first_treated: str = "first_treated",
) -> pd.DataFrame:
    """Covariance matrix of the per-unit imputation estimates (same assumptions).

    ``Cov(tau_i, tau_j) = sigma^2 (1[i = j] / T_i + c_i' (Z0'Z0)^-1 c_j)``: off-diagonal
    terms are positive when units share treated periods (they share imputed period
    effects). Its diagonal is the square of :func:`imputation_unit_effects`' ``se``.

    Returns
    -------
    pandas.DataFrame
        Square, indexed and labelled by treated unit.

    Raises
    ------
    ValueError
        As :func:`estimate_imputation`.
    """
    fit = _fit_imputation(data, unit, time, outcome, first_treated)
    treated_units, weights, counts = _unit_weights(fit)
    c = fit.design_sums(np.flatnonzero(fit.is_treated), weights)
    covariance = fit.sigma2 * (np.diag(1.0 / counts) + c.T @ fit.inverse_gram @ c)
    labels = pd.Index(fit.units[treated_units], name=unit)
    return pd.DataFrame(covariance, index=labels, columns=labels)
