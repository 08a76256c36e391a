"""CUPED for ratio metrics (e.g. revenue per session) with the delta method."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.cuped._inputs import (
    ARMS,
    column,
    comparison_estimate,
    covariate_matrix,
    treatment_mask,
    treatment_values,
    two_arm_welch,
    unadjusted_details,
)
from playbook_lib.results import Estimate
from playbook_lib.validation import as_float_array, check_alpha, check_same_length

__all__ = ["estimate_ratio_cuped"]


def _linearized(
    y: np.ndarray,
    m: np.ndarray,
    w: np.ndarray,
    arms: tuple[np.ndarray, np.ndarray],
    theta_y: np.ndarray,
    theta_m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The arms' adjusted ratios and the sample variances of the linearized outcome.

    Adjusted arm means: ``mean_a - theta·(mean_w_a - overall_w)``. ``overall_w`` pools both
    arms, so each ratio also moves with the other arm's covariates: the influence of a user
    in arm ``a`` gains ``share_a · gradient·w_i``, with ``gradient = c_T - c_C`` and
    ``c_a = (theta_y - R_a theta_m) / mean_den_a`` (zero without an effect).
    """
    overall_w = w.mean(axis=0)
    ratios, denominators = [], []
    for arm in arms:
        shift = w[arm].mean(axis=0) - overall_w
        denominators.append(m[arm].mean() - shift @ theta_m)
        ratios.append((y[arm].mean() - shift @ theta_y) / denominators[-1])
    c = [(theta_y - r * theta_m) / d for r, d in zip(ratios, denominators, strict=True)]
    gradient = c[1] - c[0]
    variances = []
    for arm, ratio, den, sign in zip(arms, ratios, denominators, (-1.0, 1.0), strict=True):
        values = ((y[arm] - w[arm] @ theta_y) - ratio * (m[arm] - w[arm] @ theta_m)) / den
        values = sign * values + arm.mean() * (w[arm] @ gradient)
        variances.append(values.var(ddof=1))
    return np.array(ratios), np.array(variances)


def estimate_ratio_cuped(
    numerator: Any,
    denominator: Any,
    treatment: Any,
    *,
    covariates: Any = None,
    data: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> Estimate:
    """CUPED for a ratio metric (e.g. revenue per session) with the delta method.

    Per arm the metric is ``sum(numerator) / sum(denominator)`` over users (the unit of
    randomisation). Numerator and denominator means are each regression-adjusted with the
    pre-period ``covariates`` (slopes pooled within arms, as in
    :func:`~playbook_lib.cuped.estimate_cuped`); the ratio of the adjusted means is
    linearised per user,
    ``L_i = [(y_i - theta_y·w_i) - R (n_i - theta_n·w_i)] / mean_n`` (``mean_n`` the
    adjusted denominator mean), and the variance of the difference is
    ``var_T(L)/n_T + var_C(L)/n_C``. Both arms are adjusted towards the *pooled* covariate
    mean, so ``L_i`` also carries ``(n_a / n) g·w_i`` with
    ``g = c_T - c_C``, ``c_a = (theta_y - R_a theta_n) / mean_n,a``; this term vanishes
    without an effect and makes the variance the exact first-order delta method (the
    ``theta`` are treated as known, as in :func:`~playbook_lib.cuped.estimate_cuped`).

    Parameters
    ----------
    numerator, denominator, treatment : array-like or str
        Per-user numerator (e.g. revenue), denominator (e.g. sessions, positive mean) and
        0/1 assignment.
    covariates : array-like or list of str, optional
        Pre-period covariates, typically the pre-period numerator and denominator. ``None``
        gives the plain delta-method comparison of ratios.
    data : pandas.DataFrame, optional
        Where to look up column names.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    Estimate
        ``method="ratio cuped"`` (or ``"delta ratio"`` without covariates) for
        ``R_T - R_C``; ``details`` holds both arms' ratios, the unadjusted estimate and se,
        and ``variance_reduction``.

    Raises
    ------
    ValueError
        On bad inputs as :func:`~playbook_lib.cuped.estimate_cuped`, or a denominator whose
        mean is not positive in an arm.

    Notes
    -----
    Sources: Deng, Knoblich & Lu (2018), "Applying the delta method in metric analytics",
    KDD; Deng et al. (2013) for the adjustment.
    """
    alpha = check_alpha(alpha)
    y = as_float_array(column(data, numerator, "numerator"), "numerator")
    m = as_float_array(column(data, denominator, "denominator"), "denominator")
    t_values = treatment_values(data, treatment)
    check_same_length(numerator=y, denominator=m, treatment=t_values)
    treated = treatment_mask(t_values)
    if covariates is not None:
        w = covariate_matrix(column(data, covariates, "covariates"), "covariates")
        check_same_length(numerator=y, covariates=w)
    else:
        w = np.zeros((y.size, 0))
    arms = (~treated, treated)
    n = np.array([arm.sum() for arm in arms], dtype=float)
    for arm, name in zip(arms, ARMS, strict=True):
        if not m[arm].mean() > 0:
            raise ValueError(f"denominator must have a positive mean in the {name} arm")
    k = w.shape[1]
    raw_ratios, raw_variances = _linearized(y, m, w, arms, np.zeros(k), np.zeros(k))
    if k:
        centred = [w[arm] - w[arm].mean(axis=0) for arm in arms]
        sww = sum(c.T @ c for c in centred)
        if np.linalg.matrix_rank(sww) < k:
            raise ValueError("covariates are collinear or constant within arms")
        swy = sum(c.T @ (y[arm] - y[arm].mean()) for c, arm in zip(centred, arms, strict=True))
        swm = sum(c.T @ (m[arm] - m[arm].mean()) for c, arm in zip(centred, arms, strict=True))
        theta_y, theta_m = np.linalg.solve(sww, swy), np.linalg.solve(sww, swm)
        ratios, variances = _linearized(y, m, w, arms, theta_y, theta_m)
        method = "ratio cuped"
    else:
        theta_y = theta_m = np.zeros(0)
        ratios, variances = raw_ratios, raw_variances
        method = "delta ratio"
    effect, se, df = two_arm_welch(n, ratios, variances)
    raw_effect, raw_se, _ = two_arm_welch(n, raw_ratios, raw_variances)
    details = {
        "n_control": int(n[0]),
        "n_treatment": int(n[1]),
        "ratio_control": float(ratios[0]),
        "ratio_treatment": float(ratios[1]),
        **unadjusted_details(float(se), raw_effect, raw_se),
        "theta_numerator": tuple(map(float, theta_y)),
        "theta_denominator": tuple(map(float, theta_m)),
    }
    return comparison_estimate(
        method,
        effect,
        se,
        df,
        alpha=alpha,
        details=details,
        constant=f"{method}: the linearized outcome is constant in both arms",
    )
