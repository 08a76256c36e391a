"""Two-way fixed-effects regressions with standard errors clustered by unit.

:func:`estimate_twfe` fits one treatment coefficient (the DiD of means with one launch
date; biased under staggered, heterogeneous effects, see
:func:`~playbook_lib.geo.estimate_imputation`); :func:`event_study_effects` fits one
treatment-control gap per period relative to a reference period, and
:func:`check_pre_trends` tests the pre-period gaps jointly with a test that stays
calibrated when there are almost as many coefficients as units.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS, WLS

from playbook_lib.geo._checks import (
    _codes,
    _dummies,
    _estimates_table,
    _label_column,
    _time_column,
)
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import (
    PlaybookWarning,
    check_alpha,
    check_binary,
    column_as_float_array,
    require_columns,
)

__all__ = ["check_pre_trends", "estimate_twfe", "event_study_effects"]


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


def _fixed_effects(
    unit_codes: np.ndarray, n_units: int, time_codes: np.ndarray, n_times: int
) -> np.ndarray:
    """Intercept, unit dummies and period dummies (the first of each dropped)."""
    return np.column_stack(
        [
            np.ones(unit_codes.size),
            _dummies(unit_codes, n_units, True),
            _dummies(time_codes, n_times, True),
        ]
    )


def _warn_if_one_treated_unit(n_treated_units: int, stacklevel: int = 3) -> None:
    if n_treated_units == 1:
        warnings.warn(
            "one treated unit: its own residuals contribute nothing to the clustered "
            "standard errors (its score is zero), which are then far too small; use "
            "estimate_randomization_inference (a placebo-in-space test) for inference",
            PlaybookWarning,
            stacklevel=stacklevel,
        )


def estimate_twfe(
    data: pd.DataFrame,
    *,
    unit: str = "geo",
    time: str = "day",
    outcome: str = "kpi",
    treated: str = "treated",
    alpha: float = 0.05,
    weights: str | None = None,
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
    use :func:`~playbook_lib.geo.estimate_imputation` instead.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel with columns ``unit``, ``time``, ``outcome`` and ``treated`` (bool or
        0/1: whether unit ``i`` is treated in period ``t``).
    unit, time, outcome, treated : str
        Column names.
    alpha : float
        One minus the interval's coverage.
    weights : str or None
        Column of positive regression weights (e.g. population, for effects per person
        rather than per unit): the regression is then weighted least squares (statsmodels
        ``WLS``) with the same clustered covariance. None (the default): unweighted OLS.

    Returns
    -------
    Estimate
        Method ``"twfe (cluster)"`` (``"twfe (cluster, weighted)"`` with ``weights``);
        ``details`` has the numbers of clusters and rows.

    Raises
    ------
    ValueError
        Missing columns, no rows, non-finite outcomes, a missing unit, a time column
        that is not numeric (or datetime) or has missing values, a treatment indicator
        that is not 0/1 or never varies, fewer than 2 clusters, a treatment indicator
        absorbed by the fixed effects (e.g. constant within every unit, or within every
        period: the effect is not identified), no residual degrees of freedom, or a
        ``weights`` column that is missing, not numeric, or not positive and finite.
    """
    alpha = check_alpha(alpha)
    require_columns(data, unit=unit, time=time, outcome=outcome, treated=treated)
    weight_values = None
    if weights is not None:
        require_columns(data, weights=weights)
        weight_values = column_as_float_array(data, weights, "weights")
        if not (weight_values > 0).all():
            raise ValueError(f"weights: column {weights!r} must be positive")
    y = column_as_float_array(data, outcome, "outcome")
    d = check_binary(data[treated].to_numpy(), f"treated (column {treated!r})").astype(float)
    unit_codes, units = _codes(_label_column(data, unit, "unit"))
    time_codes, times = _codes(pd.Series(_time_column(data, time)))
    if units.size < 2:
        raise ValueError(f"unit: need at least 2 units (clusters), got {units.size}")
    fixed_effects = _fixed_effects(unit_codes, units.size, time_codes, times.size)
    design = np.column_stack([d, fixed_effects])
    _check_identified(design, fixed_effects, treated, unit, time)
    _warn_if_one_treated_unit(int(np.unique(unit_codes[d == 1]).size))
    model = OLS(y, design) if weight_values is None else WLS(y, design, weights=weight_values)
    fit = model.fit(cov_type="cluster", cov_kwds={"groups": unit_codes}, use_t=True)
    return Estimate.from_standard_error(
        "twfe (cluster)" if weight_values is None else "twfe (cluster, weighted)",
        float(fit.params[0]),
        float(fit.bse[0]),
        alpha=alpha,
        df=float(units.size - 1),
        details={"n_clusters": int(units.size), "n_rows": int(y.size)},
    )


# --------------------------------------------------------------------------- event study
@dataclass(frozen=True)
class _EventStudyFit:
    times: np.ndarray  # every period, sorted (the reference included)
    estimate: np.ndarray  # the gap per period (0 at the reference), sorted like times
    se: np.ndarray  # clustered (CR1) standard errors, 0 at the reference
    kept: np.ndarray  # the periods with a coefficient, in the influence's column order
    influence: np.ndarray  # (G, k) per-cluster influence of those coefficients (HC0)
    cluster_treated: np.ndarray  # (G,) whether each cluster is in the treatment arm
    n_clusters: int


def _fit_event_study(
    data: pd.DataFrame,
    unit: str,
    time: str,
    outcome: str,
    group: str,
    treatment_label: str,
    reference: Any,
) -> _EventStudyFit:
    require_columns(data, unit=unit, time=time, outcome=outcome, group=group)
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
    fixed_effects = _fixed_effects(unit_codes, units.size, time_codes, times.size)
    design = np.column_stack([interactions, fixed_effects])
    if units.size < 3:
        raise ValueError(
            f"unit: clustered standard errors need at least 3 units (clusters), got {units.size}"
        )
    _check_identified(design, fixed_effects, group, unit, time)
    _warn_if_one_treated_unit(int(np.unique(unit_codes[in_treatment]).size), stacklevel=4)
    fit = OLS(y, design).fit(cov_type="cluster", cov_kwds={"groups": unit_codes}, use_t=True)
    k = len(keep)
    scores = np.zeros((units.size, design.shape[1]))
    np.add.at(scores, unit_codes, design * fit.resid[:, None])
    influence = scores @ np.asarray(fit.normalized_cov_params)[:, :k]
    cluster_treated = np.zeros(units.size, dtype=bool)
    cluster_treated[unit_codes[in_treatment]] = True
    # times are sorted and keep skips the reference: put its 0 back in its place
    estimate = np.insert(np.asarray(fit.params[:k], dtype=float), reference_code, 0.0)
    se = np.insert(np.asarray(fit.bse[:k], dtype=float), reference_code, 0.0)
    return _EventStudyFit(
        times, estimate, se, times[keep], influence, cluster_treated, int(units.size)
    )


def event_study_effects(
    data: pd.DataFrame,
    *,
    unit: str = "geo",
    time: str = "day",
    outcome: str = "kpi",
    group: str = "group",
    treatment_label: str = "treatment",
    reference: Any = -1,
    alpha: float = 0.05,
) -> Estimates:
    """Event study for a two-arm geo test: treatment-control gap per period, vs a reference.

    Fits ``y_gt = alpha_g + lambda_t + sum_{k != ref} beta_k 1[g treated] 1[t = k] + e_gt``
    by OLS with standard errors clustered by unit and t(G - 1) intervals. ``beta_k`` is
    the change in the treatment-control gap between period ``k`` and the reference
    period (usually the last pre-period). Pre-period ``beta_k`` near zero support
    parallel trends; test them jointly with :func:`check_pre_trends`. The default columns
    are those of a daily geo panel (:func:`~playbook_lib.simulate.simulate_geo_panel`);
    aggregate days to weeks first (a ``week`` column, passed as ``time="week"``) so each
    coefficient averages several days. With a single treated unit
    the clustered errors ignore that unit's own noise (its score is zero): the function
    warns with :class:`~playbook_lib.PlaybookWarning`; read the point estimates, not
    the intervals.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel with columns ``unit``, ``time`` (numeric or datetime), ``outcome`` and
        ``group`` (the unit's arm, constant within a unit).
    unit, time, outcome, group : str
        Column names.
    treatment_label : str
        The label of the treatment arm in ``group``.
    reference : Any
        The period whose gap is the zero point (a value of ``time``).
    alpha : float
        One minus the intervals' coverage.

    Returns
    -------
    Estimates
        Method ``"event study (cluster)"``, one row per period in time order, labelled by
        period (the reference included, with estimate, se and interval 0 and p-value 1),
        with ``df = G - 1`` and an extra column named ``time`` holding the period.

    Raises
    ------
    ValueError
        Missing columns, no rows, non-finite outcomes, a time column that is not numeric
        (or datetime) or has missing values, missing unit or group labels, one arm only
        (or no ``treatment_label``), a unit in both arms, an unknown reference, fewer
        than 3 units, a period observed in one arm only (its coefficient is not
        identified), no residual degrees of freedom, or an invalid ``alpha``.
    """
    alpha = check_alpha(alpha)
    fit = _fit_event_study(data, unit, time, outcome, group, treatment_label, reference)
    return _estimates_table(
        "event study (cluster)",
        fit.estimate,
        fit.se,
        alpha=alpha,
        df=np.full(fit.times.size, fit.n_clusters - 1.0),
        labels=list(fit.times),
        columns={time: fit.times},
    )


def check_pre_trends(
    data: pd.DataFrame,
    pre_periods: list[Any],
    *,
    unit: str = "geo",
    time: str = "day",
    outcome: str = "kpi",
    group: str = "group",
    treatment_label: str = "treatment",
    reference: Any = -1,
) -> dict[str, float]:
    """Joint test that every pre-period event-study coefficient is zero.

    The ``q`` pre-period coefficients ``beta`` of :func:`event_study_effects` are a
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
    clusters, rejects far too often unless ``q`` is much smaller than ``G``; this test
    keeps close to its nominal level there.

    The test needs more units than coefficients in each arm (``q < n_a``; the test of
    Krishnamoorthy and Yu assumes it): otherwise an arm's covariance is singular and the
    test is not identified (e.g. 27 daily pre-periods and 20 geos), so this function raises;
    aggregate days to weeks (a ``week`` column, passed as ``time="week"``) to test fewer
    coefficients. A large p-value
    is not proof of parallel trends: the test has low power with few geos, so also look at
    the event-study plot.

    A check report: it returns the test whatever its outcome and raises only when the
    test cannot be computed (see Raises).

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, as for :func:`event_study_effects`.
    pre_periods : list
        The pre-period values of ``time`` whose coefficients are tested (the reference
        is dropped if listed).
    unit, time, outcome, group, treatment_label, reference
        As for :func:`event_study_effects`.

    Returns
    -------
    dict
        ``f_statistic`` (non-negative), ``df_numerator`` (``q``), ``df_denominator``
        (``nu - q + 1``) and ``p_value``.

    Raises
    ------
    ValueError
        As :func:`event_study_effects`; if ``pre_periods`` is empty or lists a period
        not in the data (the reference is excluded automatically); if an arm has fewer
        than 2 units; or if there are too many pre-period coefficients for the number of
        units (``q`` not below the number of units in each arm, a singular covariance,
        or ``nu - q + 1 <= 0``).
    """
    fit = _fit_event_study(data, unit, time, outcome, group, treatment_label, reference)
    if isinstance(pre_periods, str | bytes) or not np.iterable(pre_periods):
        raise ValueError(f"pre_periods must be a list of periods, got {pre_periods!r}")
    wanted = list(dict.fromkeys(p for p in pre_periods if p != reference))
    if not wanted:
        raise ValueError("pre_periods must list at least one non-reference period")
    kept_list = fit.kept.tolist()
    missing = [p for p in wanted if p not in kept_list]
    if missing:
        raise ValueError(f"pre_periods: {missing} not found in column {time!r}")
    index = [kept_list.index(p) for p in wanted]
    times_list = fit.times.tolist()
    beta = fit.estimate[[times_list.index(p) for p in wanted]]
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
