"""Difference-in-differences on per-geo deltas: aggregation, Welch's t and ANCOVA.

Each geo is reduced to one number, its post-minus-pre change in mean daily KPI
(:func:`aggregate_geo_periods`); the DiD estimate is the difference of the arms' mean
changes with Welch's t (:func:`estimate_did`, its warehouse twin
:func:`estimate_did_from_stats`, and :func:`batch_estimate_did` for many simulated
experiments at once); ANCOVA regresses the post-period mean on the arm and the pre-period
mean (:func:`estimate_ancova`, and :func:`batch_estimate_ancova` for many experiments).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS

from playbook_lib._kernels import welch
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.geo._checks import (
    _check_arm_sizes,
    _estimates_table,
    _label_column,
    _t_statistic,
    _values_and_indicator,
    _welch_arrays,
    geo_labels,
)
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    column_as_float_array,
    require_columns,
    warn_point_interval,
)

__all__ = [
    "aggregate_geo_periods",
    "batch_estimate_ancova",
    "batch_estimate_did",
    "estimate_ancova",
    "estimate_did",
    "estimate_did_from_stats",
]


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
    require_columns(data, geo=geo, period=period, group=group, kpi=kpi)
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
    for label, name, which in ((pre_label, "pre_label", "pre"), (post_label, "post_label", "post")):
        if label not in periods:
            raise ValueError(f"period: missing {which} period (no rows labelled {name} {label!r})")
    groups = data[group].unique()
    if len(groups) != 2 or treatment_label not in set(groups):
        raise ValueError(
            f"group: column {group!r} must hold two arms, one labelled treatment_label "
            f"{treatment_label!r}; got {sorted(map(str, groups))} (one group only?)"
        )
    # Group by the geo labels' values (sorted), as the pivot below does: a categorical
    # column would otherwise group in its categories' order while the pivot sorts labels.
    geo_key = geo_labels(data, geo)
    arms_per_geo = data[group].groupby(geo_key, sort=True).nunique()
    if (arms_per_geo > 1).any():
        both = arms_per_geo.index[arms_per_geo > 1].tolist()[:5]
        raise ValueError(f"geo: geos in both arms (e.g. {both}); a geo has one arm")
    frame = pd.DataFrame({"geo": geo_key, "period": data[period].to_numpy(), "kpi": values})
    table = frame.pivot_table(
        index="geo", columns="period", values="kpi", aggfunc=["mean", "count"], observed=True
    )
    counts = table["count"].reindex(columns=[pre_label, post_label])
    for label, which in ((pre_label, "pre"), (post_label, "post")):
        if counts[label].isna().any():
            missing = counts.index[counts[label].isna()].tolist()[:5]
            raise ValueError(f"period: missing {which} period for geo(s) {missing}")
    for label in (pre_label, post_label):
        if counts[label].nunique() > 1:
            raise ValueError(
                f"day: unbalanced days in the {label!r} period: geos have "
                f"{sorted(counts[label].unique().astype(int).tolist())} rows; "
                "fill or drop days so every geo has the same days"
            )
    arm = data[group].groupby(geo_key, sort=True).first().reindex(table.index)
    means = table["mean"]
    out = pd.DataFrame(
        {
            "group": arm,
            "treated": arm == treatment_label,
            "pre_mean": means[pre_label],
            "post_mean": means[post_label],
        }
    )
    out["delta"] = out["post_mean"] - out["pre_mean"]
    out["n_pre"] = counts[pre_label].astype(int)
    out["n_post"] = counts[post_label].astype(int)
    out.index.name = geo
    return out


# --------------------------------------------------------------------------- Welch DiD
def _geo_arms(
    data: pd.DataFrame,
    geo: str,
    period: str,
    group: str,
    kpi: str,
    treatment_label: str,
    minimum: int = 2,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The per-geo table of :func:`aggregate_geo_periods` and its treated indicator, with at
    least ``minimum`` geos in each arm (a ``ValueError`` otherwise)."""
    table = aggregate_geo_periods(
        data, geo=geo, period=period, group=group, kpi=kpi, treatment_label=treatment_label
    )
    treated = table["treated"].to_numpy()
    _check_arm_sizes(treated, minimum)
    return table, treated


def _did_estimate(
    n_control: int,
    mean_control: float,
    variance_control: float,
    n_treatment: int,
    mean_treatment: float,
    variance_treatment: float,
    alpha: float,
) -> Estimate:
    """The Welch DiD :class:`Estimate` from each arm's size, mean and variance of deltas."""
    estimate, se, df = (
        float(value)
        for value in welch(
            n_control,
            mean_control,
            variance_control,
            n_treatment,
            mean_treatment,
            variance_treatment,
        )
    )
    if se == 0:
        warn_point_interval(
            "DiD: every geo's delta equals its arm's mean (to the digits of the sums of squares)"
        )
    return Estimate.from_standard_error(
        "did (welch)",
        estimate,
        se,
        alpha=alpha,
        df=n_treatment + n_control - 2.0 if np.isnan(df) else df,
        details={
            "n_treatment": int(n_treatment),
            "n_control": int(n_control),
            "t_statistic": float(_t_statistic(np.asarray(estimate), np.asarray(se))),
        },
    )


def _check_arm(arm: Any, name: str) -> ArmStatistics:
    if not isinstance(arm, ArmStatistics):
        raise ValueError(
            f"{name} must be an ArmStatistics of the arm's per-geo deltas (e.g. "
            f"ArmStatistics.from_moments(n, mean, variance)), got {type(arm).__name__}"
        )
    if np.ndim(arm.n) != 0:
        raise ValueError(
            f"{name} must hold one arm's statistics (scalar fields), got arrays of length "
            f"{np.size(arm.n)}; use batch_estimate_did for many experiments"
        )
    if arm.n < 2:
        raise ValueError(f"{name}: each arm needs at least 2 geos, got n={arm.n}")
    return arm


def estimate_did_from_stats(
    control: ArmStatistics, treatment: ArmStatistics, *, alpha: float = 0.05
) -> Estimate:
    """Difference-in-differences from each arm's statistics of its per-geo deltas.

    The warehouse twin of :func:`estimate_did`: pass, per arm, the number of geos, the sum
    and the sum of squares of the per-geo ``post_mean - pre_mean`` deltas (a ``GROUP BY``
    over the per-geo deltas), or their moments via
    :meth:`~playbook_lib.aggregates.ArmStatistics.from_moments`.

    Parameters
    ----------
    control, treatment : ArmStatistics
        Each arm's statistics of the per-geo deltas (scalar fields, at least 2 geos).
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        Method ``"did (welch)"``: the treatment-minus-control difference of mean deltas,
        Welch standard error, Student-t interval and p-value with Welch-Satterthwaite
        degrees of freedom; ``details`` has the arm sizes and the t statistic. When both
        variances are zero (every geo's delta equals its arm's mean) the standard error
        is 0 and the answer is the se -> 0 limit: the interval is the point estimate,
        the p-value is 1 if the means are equal and 0 otherwise, and ``df`` is
        ``n_treatment + n_control - 2``.

    Raises
    ------
    ValueError
        If ``control`` or ``treatment`` is not an
        :class:`~playbook_lib.aggregates.ArmStatistics` with scalar fields, an arm has fewer
        than two geos, or ``alpha`` is invalid.

    Examples
    --------
    >>> from playbook_lib.aggregates import ArmStatistics
    >>> control = ArmStatistics.from_moments(12, 10.0, 5.0)
    >>> treatment = ArmStatistics.from_moments(10, 12.0, 4.0)
    >>> round(estimate_did_from_stats(control, treatment).estimate, 6)
    2.0
    """
    alpha = check_alpha(alpha)
    control = _check_arm(control, "control")
    treatment = _check_arm(treatment, "treatment")
    return _did_estimate(
        int(control.n),
        float(control.mean),
        float(control.variance),
        int(treatment.n),
        float(treatment.mean),
        float(treatment.variance),
        alpha,
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
    alpha = check_alpha(alpha)
    table, treated = _geo_arms(data, geo, period, group, kpi, treatment_label)
    delta = table["delta"].to_numpy()
    # two-pass moments: exact even when the deltas' mean dwarfs their spread
    return _did_estimate(
        int((~treated).sum()),
        float(delta[~treated].mean()),
        float(delta[~treated].var(ddof=1)),
        int(treated.sum()),
        float(delta[treated].mean()),
        float(delta[treated].var(ddof=1)),
        alpha,
    )


def batch_estimate_did(
    values: np.ndarray, treated: np.ndarray, *, alpha: float = 0.05
) -> Estimates:
    """Welch DiD on per-geo values for many experiments at once, one row per experiment.

    Parameters
    ----------
    values : numpy.ndarray
        Per-geo outcomes (e.g. post-minus-pre deltas), shape ``(n_geos,)`` for one
        experiment or ``(n_experiments, n_geos)``.
    treated : numpy.ndarray
        Boolean (or 0/1) assignment, broadcastable to ``values``; every experiment needs
        at least two geos per arm.
    alpha : float
        One minus the intervals' coverage.

    Returns
    -------
    Estimates
        Method ``"did (welch)"``, one row per experiment (labels ``0 .. n - 1``):
        treatment-minus-control difference of means, Welch standard error, Student-t
        interval and p-value with Welch-Satterthwaite ``df``; extra columns
        ``t_statistic``, ``n_treatment`` and ``n_control``. Row ``i`` equals
        :func:`estimate_did_from_stats` on experiment ``i``'s arms.

    Raises
    ------
    ValueError
        If ``alpha`` is invalid, ``values`` is not a finite numeric 1-D or 2-D array,
        ``treated`` is not 0/1 or does not broadcast to ``values``, or an arm has fewer
        than two geos in some experiment.

    Notes
    -----
    An experiment whose standard error is zero (both arms constant) gets the se -> 0
    limit: a point interval, ``t_statistic`` 0 or +-inf, ``p_value`` 1 or 0 and ``df``
    ``n_treatment + n_control - 2``. The statistic is :cite:`welch1947generalization`'s;
    it assumes independent geos (the unit of randomisation) and approximately normal
    per-geo outcomes.
    """
    alpha = check_alpha(alpha)
    values, mask = _values_and_indicator(values, treated)
    values, mask = np.atleast_2d(values), np.atleast_2d(mask)
    n_treatment = mask.sum(axis=-1)
    n_control = mask.shape[-1] - n_treatment
    if n_treatment.min() < 2 or n_control.min() < 2:
        raise ValueError("treated: each arm needs at least 2 geos in every experiment")
    estimate, se, df = _welch_arrays(values, mask)
    columns = {
        "t_statistic": _t_statistic(estimate, se),
        "n_treatment": n_treatment,
        "n_control": n_control,
    }
    return _estimates_table("did (welch)", estimate, se, alpha=alpha, df=df, columns=columns)


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
    :func:`estimate_did` or :func:`~playbook_lib.geo.estimate_randomization_inference`.

    Parameters
    ----------
    data, geo, period, group, kpi, treatment_label, alpha
        As in :func:`estimate_did`.

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
    table, treated = _geo_arms(data, geo, period, group, kpi, treatment_label)
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
    # A geo with leverage 1 makes HC2 divide by zero; it is refused just below.
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = OLS(table["post_mean"].to_numpy(), design).fit(cov_type="HC2", use_t=True)
    if not (np.isfinite(fit.bse[1]) and np.isfinite(fit.params).all()):
        raise ValueError(
            f"data: too few geos ({treated.size}) for HC2 standard errors (a geo has "
            "leverage 1); use estimate_did or estimate_randomization_inference"
        )
    return Estimate.from_standard_error(
        "ancova (hc2)",
        float(fit.params[1]),
        float(fit.bse[1]),
        alpha=alpha,
        df=float(fit.df_resid),
        details={
            "slope_pre_mean": float(fit.params[2]),
            "n_treatment": int(treated.sum()),
            "n_control": int((~treated).sum()),
        },
    )


def _ancova_design(pre: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per experiment: the design ``[1, D, pre - mean(pre)]``, its OLS hat rows ``A =
    (X'X)^-1 X'`` and leverages ``h``; shapes ``(n, g, 3)``, ``(n, 3, g)``, ``(n, g)``."""
    design = np.stack(
        [np.ones(pre.shape), mask.astype(float), pre - pre.mean(axis=-1, keepdims=True)],
        axis=-1,
    )
    gram = np.einsum("sgi,sgj->sij", design, design)
    hat_rows = np.linalg.solve(gram, np.swapaxes(design, 1, 2))
    leverage = np.einsum("sgi,sig->sg", design, hat_rows)
    return design, hat_rows, leverage


def _ancova_arrays(
    post: np.ndarray, design: np.ndarray, hat_rows: np.ndarray, leverage: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The effect, its HC2 standard error and the slope, per experiment (closed form)."""
    beta = np.einsum("sig,sg->si", hat_rows, post)
    residual = post - np.einsum("sgi,si->sg", design, beta)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.einsum("sg,sg->s", hat_rows[:, 1, :] ** 2, residual**2 / (1.0 - leverage))
    return beta[:, 1], np.sqrt(variance), beta[:, 2]


def batch_estimate_ancova(
    post: np.ndarray, pre: np.ndarray, treated: np.ndarray, *, alpha: float = 0.05
) -> Estimates:
    """ANCOVA for many experiments at once (closed form), one row per experiment.

    For each experiment, the OLS regression ``post_g = a + tau * treated_g + b * (pre_g -
    mean(pre)) + e_g`` with HC2 standard errors and Student-t reference on ``n_geos - 3``
    degrees of freedom, as :func:`estimate_ancova` fits with statsmodels, computed with
    batched 3 x 3 normal equations instead of a loop :cite:`lin2013agnostic`.

    Parameters
    ----------
    post, pre : numpy.ndarray
        Per-geo post- and pre-period mean KPI, shape ``(n_geos,)`` or
        ``(n_experiments, n_geos)``.
    treated : numpy.ndarray
        Boolean (or 0/1) assignment, broadcastable to ``post``; every experiment needs at
        least two geos per arm.
    alpha : float
        One minus the intervals' coverage.

    Returns
    -------
    Estimates
        Method ``"ancova (hc2)"``, one row per experiment; extra columns
        ``slope_pre_mean``, ``n_treatment`` and ``n_control``. Row ``i`` equals
        :func:`estimate_ancova` on experiment ``i``'s geos.

    Raises
    ------
    ValueError
        If ``alpha`` is invalid, ``post`` or ``pre`` is not a finite numeric 1-D or 2-D
        array, the shapes differ, ``treated`` is not 0/1 or does not broadcast, an arm
        has fewer than two geos, there are fewer than 4 geos, or in some experiment the
        regression is not identified (pre means equal, or collinear with the arm) or a
        geo has leverage 1.
    """
    alpha = check_alpha(alpha)
    for name, values in (("post", post), ("pre", pre)):
        ndim = np.ndim(values)
        if ndim not in (1, 2):
            raise ValueError(f"{name} must be a 1-D or 2-D array, got shape {np.shape(values)}")
        as_float_array(values, name, ndim=ndim)
    post, mask = _values_and_indicator(post, treated)
    pre, _ = _values_and_indicator(pre, treated)
    if pre.shape != post.shape:
        raise ValueError(f"length mismatch: post has shape {post.shape}, pre has {pre.shape}")
    post, pre, mask = np.atleast_2d(post), np.atleast_2d(pre), np.atleast_2d(mask)
    n_treatment = mask.sum(axis=-1)
    n_control = mask.shape[-1] - n_treatment
    if n_treatment.min() < 2 or n_control.min() < 2:
        raise ValueError("treated: each arm needs at least 2 geos in every experiment")
    if post.shape[-1] < 4:
        raise ValueError(f"post: ANCOVA needs at least 4 geos, got {post.shape[-1]}")
    design = np.stack(
        [np.ones(pre.shape), mask.astype(float), pre - pre.mean(axis=-1, keepdims=True)],
        axis=-1,
    )
    if (np.linalg.matrix_rank(design) < 3).any():
        raise ValueError(
            "pre: in some experiment the pre-period means are equal or collinear with the "
            "arm, so the ANCOVA effect is not identified"
        )
    design, hat_rows, leverage = _ancova_design(pre, mask)
    if (leverage > 1 - 1e-10).any():
        raise ValueError("pre: a geo has leverage 1, so HC2 standard errors do not exist")
    estimate, se, slope = _ancova_arrays(post, design, hat_rows, leverage)
    columns = {"slope_pre_mean": slope, "n_treatment": n_treatment, "n_control": n_control}
    df = np.full(estimate.shape, post.shape[-1] - 3.0)
    return _estimates_table("ancova (hc2)", estimate, se, alpha=alpha, df=df, columns=columns)
