"""Designs for geo tests: the design effect, matched pairs, strata, balance, paired DiD.

Randomising clusters (geos) instead of users costs precision (:func:`design_effect`); a
matched-pair or stratified design wins some back (:func:`assign_matched_pairs`,
:func:`assign_geos_within_strata`), a balance table shows what chance left unbalanced
(:func:`check_balance`), and a paired design is analysed as pairs
(:func:`estimate_paired_did`, :func:`batch_estimate_paired_did`) and a stratified design
as strata (:func:`estimate_stratified_did`, :func:`batch_estimate_stratified_did`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import interval_and_p_value
from playbook_lib.geo._checks import (
    _check_arm_sizes,
    _estimates_table,
    _geo_blocks,
    _geo_pairs,
    _index_codes,
    _label_column,
    _paired_arrays,
    _t_statistic,
    _values_and_indicator,
    _welch_arrays,
)
from playbook_lib.geo.did import aggregate_geo_periods
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import (
    check_alpha,
    check_columns,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
    column_as_float_array,
    require_columns,
)

__all__ = [
    "assign_geos_within_strata",
    "assign_matched_pairs",
    "batch_estimate_paired_did",
    "batch_estimate_stratified_did",
    "check_balance",
    "design_effect",
    "estimate_paired_did",
    "estimate_stratified_did",
]


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


# --------------------------------------------------------------------------- assignment
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


def _assignment_frame(
    ordered: pd.Series, block: str, codes: np.ndarray, treated: np.ndarray, labels: tuple[str, str]
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "geo": ordered.index.to_numpy(),
            block: codes,
            "group": np.where(treated, *labels),
            "pre_kpi": ordered.to_numpy(),
        }
    )


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
    return _assignment_frame(
        ordered,
        "pair",
        np.repeat(np.arange(n_pairs), 2),
        treated,
        (treatment_label, control_label),
    )


def assign_geos_within_strata(
    pre_kpi: pd.Series,
    n_strata: int,
    *,
    rng: np.random.Generator | int | None = None,
    treatment_label: str = "treatment",
    control_label: str = "control",
) -> pd.DataFrame:
    """Stratified geo design: cut geos into strata of similar pre-period KPI, randomise within.

    Geos sorted by pre-period KPI are split into ``n_strata`` consecutive strata of (near)
    equal size; within each stratum half the geos (rounded down; the odd one is a coin
    flip) are treated by complete randomisation. ``n_strata = n_geos / 2`` is the
    matched-pair design. (This assigns whole geos; user-level stratified assignment is
    :func:`playbook_lib.abtest.assign_stratified`.)

    Parameters
    ----------
    pre_kpi : pandas.Series
        Pre-period KPI indexed by geo.
    n_strata : int
        Number of strata, in ``1 .. n_geos / 2``.
    rng : numpy.random.Generator or int or None
        Random generator or seed.
    treatment_label, control_label : str
        Arm labels.

    Returns
    -------
    pandas.DataFrame
        Columns ``geo``, ``stratum``, ``group`` and ``pre_kpi``, sorted by pre-period KPI.

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
    stratum = np.arange(values.size) * n_strata // values.size  # sorted, consecutive
    sizes = np.bincount(stratum, minlength=n_strata)
    n_treated = sizes // 2 + (sizes % 2) * (rng.random(n_strata) < 0.5)
    # a random order within each stratum; its first n_treated geos are treated
    order = np.lexsort((rng.random(values.size), stratum))
    rank = np.empty(values.size, dtype=np.int64)
    rank[order] = np.arange(values.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return _assignment_frame(
        ordered, "stratum", stratum, rank < n_treated[stratum], (treatment_label, control_label)
    )


# --------------------------------------------------------------------------- balance
def check_balance(
    geo_data: pd.DataFrame,
    covariates: list[str],
    *,
    group: str = "group",
    treatment_label: str = "treatment",
) -> pd.DataFrame:
    """Balance table of pre-treatment covariates between arms, one row per covariate.

    A check report: it always returns the table (it does not judge it) and raises only on
    input it cannot compare.

    Parameters
    ----------
    geo_data : pandas.DataFrame
        One row per geo with the arm column and the covariates (e.g. the ``pre_mean`` of
        :func:`~playbook_lib.geo.aggregate_geo_periods`).
    covariates : list of str
        Numeric pre-treatment columns to compare.
    group, treatment_label : str
        The arm column and the treatment label.

    Returns
    -------
    pandas.DataFrame
        Indexed by covariate: ``mean_treatment``, ``mean_control``, ``difference``,
        ``standardized_difference`` (difference over the root mean of the two arm
        variances; ``|value| > 0.1`` is the usual flag) and ``p_value`` (Welch t).

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
    require_columns(geo_data, "geo_data", group=group)
    check_columns(geo_data, covariates, name="covariates: geo_data")
    labels = _label_column(geo_data, group, "group")
    if labels.nunique() != 2 or treatment_label not in set(labels):
        raise ValueError(
            f"group: column {group!r} must hold two arms, one labelled treatment_label "
            f"{treatment_label!r}; got {sorted(map(str, labels.unique()))}"
        )
    treated = labels.to_numpy() == treatment_label
    _check_arm_sizes(treated)
    values = np.vstack([column_as_float_array(geo_data, name, "covariates") for name in covariates])
    mask = np.broadcast_to(treated, values.shape)
    difference, se, df = _welch_arrays(values, mask)
    p_value = interval_and_p_value(difference, se, 0.05, "two-sided", df)[2]
    variance_t = values[:, treated].var(axis=1, ddof=1)
    variance_c = values[:, ~treated].var(axis=1, ddof=1)
    pooled_sd = np.sqrt((variance_t + variance_c) / 2)
    standardized = np.divide(
        difference, pooled_sd, out=np.zeros_like(difference), where=pooled_sd > 0
    )
    return pd.DataFrame(
        {
            "mean_treatment": values[:, treated].mean(axis=1),
            "mean_control": values[:, ~treated].mean(axis=1),
            "difference": difference,
            "standardized_difference": standardized,
            "p_value": p_value,
        },
        index=pd.Index(list(covariates), name="covariate"),
    )


# --------------------------------------------------------------------------- paired DiD
def batch_estimate_paired_did(
    values: np.ndarray, treated: np.ndarray, pair: np.ndarray, *, alpha: float = 0.05
) -> Estimates:
    """Paired t-test on within-pair treatment-minus-control differences, one row per experiment.

    Parameters
    ----------
    values, treated, pair : numpy.ndarray
        Per-geo outcomes, assignment and pair index, shape ``(n_geos,)`` for one
        experiment or ``(n_experiments, n_geos)`` (``treated`` and ``pair`` broadcast);
        each pair has exactly one treated and one control geo, pairs numbered
        ``0 .. n_pairs - 1``.
    alpha : float
        One minus the intervals' coverage.

    Returns
    -------
    Estimates
        Method ``"paired did"``, one row per experiment: the mean within-pair difference,
        its standard error, a Student-t interval and p-value with ``df = n_pairs - 1``;
        extra columns ``t_statistic`` and ``n_pairs``.

    Raises
    ------
    ValueError
        If ``values`` is not finite and numeric (1-D or 2-D), ``treated`` is not 0/1,
        ``pair`` is not integer, the shapes differ, there are fewer than 2 pairs, a pair
        does not hold exactly one treated and one control geo, or ``alpha`` is invalid.

    Notes
    -----
    When every within-pair difference is the same the standard error is 0 and the
    answer is the se -> 0 limit: a point interval, ``t_statistic`` 0 or +-inf and
    ``p_value`` 1 or 0.
    """
    alpha = check_alpha(alpha)
    values, mask = _values_and_indicator(values, treated)
    values, mask = np.atleast_2d(values), np.atleast_2d(mask)
    estimate, se, n_pairs = _paired_arrays(values, mask, pair)
    return _estimates_table(
        "paired did",
        estimate,
        se,
        alpha=alpha,
        df=np.full(estimate.shape, n_pairs - 1.0),
        columns={"t_statistic": _t_statistic(estimate, se), "n_pairs": n_pairs},
    )


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
        Tidy panel as for :func:`~playbook_lib.geo.estimate_did`, plus a ``pair`` column
        constant per geo.
    pair : str
        Pair column.
    geo, period, group, kpi, treatment_label, alpha
        As in :func:`~playbook_lib.geo.estimate_did`.

    Returns
    -------
    Estimate
        Method ``"paired did"``; ``details`` holds the number of pairs and the t statistic.

    Raises
    ------
    ValueError
        Bad panels, a missing or absent ``pair`` column, fewer than 2 pairs, or a pair
        without exactly one geo per arm. Equal within-pair differences give the se -> 0
        limit (see :func:`batch_estimate_paired_did`).
    """
    alpha = check_alpha(alpha)
    require_columns(data, pair=pair)
    table = aggregate_geo_periods(
        data, geo=geo, period=period, group=group, kpi=kpi, treatment_label=treatment_label
    )
    pair_codes = _geo_pairs(data, pair, geo)
    values, mask = _values_and_indicator(table["delta"].to_numpy(), table["treated"].to_numpy())
    estimate, se, n_pairs = _paired_arrays(values, mask, pair_codes)
    return Estimate.from_standard_error(
        "paired did",
        float(estimate),
        float(se),
        alpha=alpha,
        df=n_pairs - 1.0,
        details={"n_pairs": n_pairs, "t_statistic": float(_t_statistic(estimate, se))},
    )


# --------------------------------------------------------------------------- stratified DiD
def _stratified_arrays(
    values: np.ndarray, mask: np.ndarray, stratum: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """OLS of ``values`` on the arm and stratum fixed effects along the last axis.

    With ``h_s = n_Ts n_Cs / n_s`` (the stratum's sum of squares of the within-stratum
    centred arm dummy), ``tau = sum_s h_s d_s / sum_s h_s`` for the within-stratum
    differences of means ``d_s``; the residual sum of squares is the within-cell sum of
    squares plus ``sum_s h_s (d_s - tau)^2``, and the variance ``s^2 / sum_s h_s`` with
    ``s^2 = RSS / (n - S - 1)`` (Frisch-Waugh-Lovell). Inputs are 2-D and checked;
    ``stratum`` holds codes ``0 .. S - 1``. Returns ``(estimate, se, df, n_strata)``.
    """
    n_sims, n_geos = values.shape
    n_strata = int(stratum.max()) + 1
    cells = 2 * n_strata
    cell = 2 * stratum + mask
    slot = (np.arange(n_sims)[:, None] * cells + cell).ravel()
    size = n_sims * cells
    count = np.bincount(slot, minlength=size).reshape(n_sims, n_strata, 2)
    if count.min() < 1:
        raise ValueError("stratum: every stratum needs at least 1 treated and 1 control geo")
    if n_geos - n_strata - 1 < 1:
        raise ValueError(
            f"stratum: {n_strata} strata of {n_geos} geos leave no residual degrees of freedom"
        )
    total = np.bincount(slot, weights=values.ravel(), minlength=size).reshape(count.shape)
    mean = total / count
    deviation = values - mean.reshape(n_sims, cells)[np.arange(n_sims)[:, None], cell]
    within = np.einsum("sg,sg->s", deviation, deviation)
    difference = mean[:, :, 1] - mean[:, :, 0]
    weight = count[:, :, 0] * count[:, :, 1] / count.sum(axis=2)
    total_weight = weight.sum(axis=1)
    estimate = (weight * difference).sum(axis=1) / total_weight
    rss = within + (weight * (difference - estimate[:, None]) ** 2).sum(axis=1)
    df = float(n_geos - n_strata - 1)
    se = np.sqrt(rss / df / total_weight)
    return estimate, se, np.full(n_sims, df), n_strata


def _stratum_codes(stratum: Any, shape: tuple[int, ...]) -> np.ndarray:
    codes = _index_codes(stratum, "stratum", shape)
    if codes.min() < 0:
        raise ValueError("stratum: indices must be non-negative")
    # renumber per experiment so that empty codes do not count as strata
    flat = codes.reshape(-1, shape[-1])
    present = np.zeros((flat.shape[0], int(flat.max()) + 1), dtype=bool)
    np.put_along_axis(present, flat, True, axis=1)
    if not (present.sum(axis=1) == present.sum(axis=1)[0]).all():
        raise ValueError("stratum: every experiment must have the same number of strata")
    rank = np.cumsum(present, axis=1) - 1
    return np.take_along_axis(rank, flat, axis=1).reshape(shape)


def batch_estimate_stratified_did(
    values: np.ndarray, treated: np.ndarray, stratum: np.ndarray, *, alpha: float = 0.05
) -> Estimates:
    """Stratified analysis of per-geo values (e.g. deltas), one row per experiment.

    The analysis of a stratified design (geos randomised within strata of similar size,
    :func:`assign_geos_within_strata`): OLS of the value on the arm and stratum fixed
    effects, with the classical standard error and Student's t on ``n_geos - S - 1``
    degrees of freedom (``S`` strata) :cite:`athey2017econometrics`. The estimate is the
    average of the within-stratum differences of means weighted by ``n_Ts n_Cs / n_s``
    (by stratum size when every stratum is half treated). With pairs (``S = n / 2``) it
    is exactly the paired t-test of :func:`batch_estimate_paired_did`; with one stratum,
    the pooled two-sample t-test. Pooling the residual variance over strata is what lets
    small strata (four geos) keep their degrees of freedom.

    Parameters
    ----------
    values : numpy.ndarray
        Per-geo outcomes (e.g. post-minus-pre deltas), shape ``(n_geos,)`` or
        ``(n_experiments, n_geos)``.
    treated : numpy.ndarray
        Boolean (or 0/1) assignment, broadcastable to ``values``.
    stratum : numpy.ndarray
        Integer stratum index of each geo, broadcastable to ``values``; every stratum needs
        at least one geo per arm.
    alpha : float
        One minus the intervals' coverage.

    Returns
    -------
    Estimates
        Method ``"stratified did"``, one row per experiment; extra columns
        ``t_statistic`` and ``n_strata``.

    Raises
    ------
    ValueError
        If ``values`` is not finite and numeric (1-D or 2-D), ``treated`` is not 0/1,
        ``stratum`` is not integer or does not broadcast, experiments have different
        numbers of strata, a stratum lacks an arm, no residual degrees of freedom are
        left, or ``alpha`` is invalid.
    """
    alpha = check_alpha(alpha)
    values, mask = _values_and_indicator(values, treated)
    values, mask = np.atleast_2d(values), np.atleast_2d(mask)
    codes = _stratum_codes(stratum, values.shape)
    estimate, se, df, n_strata = _stratified_arrays(values, mask, codes)
    return _estimates_table(
        "stratified did",
        estimate,
        se,
        alpha=alpha,
        df=df,
        columns={"t_statistic": _t_statistic(estimate, se), "n_strata": n_strata},
    )


def estimate_stratified_did(
    data: pd.DataFrame,
    *,
    stratum: str = "stratum",
    geo: str = "geo",
    period: str = "period",
    group: str = "group",
    kpi: str = "kpi",
    treatment_label: str = "treatment",
    alpha: float = 0.05,
) -> Estimate:
    """Difference-in-differences for a stratified geo design: the stratified mean of deltas.

    Each geo is reduced to its post-minus-pre delta (:func:`aggregate_geo_periods`), and
    the deltas are regressed on the arm and stratum fixed effects as in
    :func:`batch_estimate_stratified_did` (classical standard error, ``t(n - S - 1)``).
    This is the analysis that respects the strata of :func:`assign_geos_within_strata`;
    Welch's t on the deltas ignores them and is conservative.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy panel as for :func:`~playbook_lib.geo.estimate_did`, plus a ``stratum`` column
        constant per geo.
    stratum : str
        Stratum column.
    geo, period, group, kpi, treatment_label, alpha
        As in :func:`~playbook_lib.geo.estimate_did`.

    Returns
    -------
    Estimate
        Method ``"stratified did"``; ``details`` holds the number of strata and the t
        statistic.

    Raises
    ------
    ValueError
        Bad panels (see :func:`aggregate_geo_periods`), a missing ``stratum`` column, a
        geo in more than one stratum, a stratum without both arms, or no residual degrees
        of freedom.
    """
    alpha = check_alpha(alpha)
    require_columns(data, stratum=stratum)
    table = aggregate_geo_periods(
        data, geo=geo, period=period, group=group, kpi=kpi, treatment_label=treatment_label
    )
    codes = _geo_blocks(data, stratum, geo, "stratum")
    values, mask = _values_and_indicator(table["delta"].to_numpy(), table["treated"].to_numpy())
    estimate, se, df, n_strata = _stratified_arrays(values[None, :], mask[None, :], codes[None, :])
    return Estimate.from_standard_error(
        "stratified did",
        float(estimate[0]),
        float(se[0]),
        alpha=alpha,
        df=float(df[0]),
        details={"n_strata": n_strata, "t_statistic": float(_t_statistic(estimate, se)[0])},
    )
