"""Regression adjustment: ANCOVA and Lin's (2013) interacted estimator, via statsmodels;
CUPED with several covariates from per-arm moments (a warehouse query's output)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.regression.linear_model import OLS

from playbook_lib.aggregates import CovariateMoments
from playbook_lib.cuped._inputs import (
    check_arm_statistics,
    comparison_estimate,
    outcome_covariates_treatment,
)
from playbook_lib.cuped.core import _check_options, _cuped_core
from playbook_lib.results import Estimate
from playbook_lib.validation import check_alpha, check_choice, check_regression_design

__all__ = ["estimate_cuped_moments_from_stats", "estimate_regression_adjustment"]


def estimate_regression_adjustment(
    outcome: Any,
    covariates: Any,
    treatment: Any,
    *,
    data: pd.DataFrame | None = None,
    method: str = "lin",
    cov_type: str = "HC2",
    estimand: str = "sample",
    alpha: float = 0.05,
) -> Estimate:
    """Regression adjustment by OLS (statsmodels): ANCOVA or Lin's interacted estimator.

    ``"ancova"`` fits ``Y ~ 1 + T + Xc``; ``"lin"`` fits ``Y ~ 1 + T + Xc + T·Xc`` with
    ``Xc = X - mean(X)`` centred on the whole sample, so the coefficient on ``T`` is the
    average effect (Lin, 2013). The interval uses Student-t with the residual degrees of
    freedom and the chosen sandwich covariance.

    Parameters
    ----------
    outcome, treatment : array-like or str
        Outcome and 0/1 assignment (column names if ``data`` is given).
    covariates : array-like or str or list of str
        Pre-treatment covariate(s): 1-D, ``(n, k)`` or column names.
    data : pandas.DataFrame, optional
        Where to look up column names.
    method : {"lin", "ancova"}
        Interacted (Lin) or common-slope (ANCOVA) regression.
    cov_type : {"HC2", "HC0", "HC1", "HC3", "nonrobust"}
        statsmodels covariance type; HC2 is Lin's recommendation.
    estimand : {"sample", "population"}
        ``"sample"`` (default): the sandwich standard error of the regression, valid
        (conservatively) for the average effect on *these* users, as in Lin's finite-population
        analysis. ``"population"`` (``"lin"`` only): the average effect in the population the
        users were sampled from, whose standard error must also carry the sampling noise of the
        covariate mean at which the arms' lines are compared: it adds
        ``(b_T - b_C)ᵀ S_X (b_T - b_C) / n`` (``b`` the arms' slopes, ``S_X`` the covariates'
        sample covariance; Negi & Wooldridge, 2021). The two agree when the slopes are equal.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    Estimate
        ``method`` is ``"lin"`` or ``"ancova"``; ``details`` holds ``n``, ``cov_type``,
        ``coefficients`` (name → value), ``r_squared``, ``estimand``, ``sample_se`` (the
        sandwich standard error) and ``heterogeneity_variance`` (the term added for
        ``"population"``, else 0). A constant outcome (or one the regression fits
        exactly) has se 0: the estimate is 0 for a constant outcome, the interval the
        point, p = 1 (0 for a non-zero exact effect), ``coefficients`` empty, with a
        :class:`~playbook_lib.PlaybookWarning`.

    Raises
    ------
    ValueError
        As :func:`~playbook_lib.cuped.estimate_cuped`, and for a design without residual
        degrees of freedom or (HC2/HC3) with a unit of leverage 1.

    Notes
    -----
    ANCOVA's point estimate equals :func:`~playbook_lib.cuped.estimate_cuped` exactly. With
    unequal arms and slopes that differ between arms ANCOVA weights the slopes the wrong way
    round and can even lose to the unadjusted difference (Freedman's critique); Lin's
    estimator is never asymptotically less precise than either. Source: Lin (2013), Annals
    of Applied Statistics 7(1), 295-318.
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", ("lin", "ancova"))
    check_choice(cov_type, "cov_type", ("HC0", "HC1", "HC2", "HC3", "nonrobust"))
    check_choice(estimand, "estimand", ("sample", "population"))
    if estimand == "population" and method != "lin":
        raise ValueError("estimand='population' needs method='lin' (ANCOVA has one slope)")
    y, x, treated_mask = outcome_covariates_treatment(
        data, outcome, covariates, treatment, covariate_name="covariates"
    )
    treated = treated_mask.astype(float)
    k = x.shape[1]
    centred = x - x.mean(axis=0)
    names = [f"x{j}" for j in range(k)]
    columns = [np.ones_like(y), treated, centred]
    labels = ["const", "treatment", *names]
    if method == "lin":
        columns.append(centred * treated[:, None])
        labels += [f"treatment:{name}" for name in names]
    design = np.column_stack(columns)
    check_regression_design(design, "outcome", cov_type)
    details: dict[str, Any] = {
        "n": int(y.size),
        "cov_type": cov_type,
        "coefficients": {},
        "r_squared": 0.0,
        "estimand": estimand,
        "sample_se": 0.0,
        "heterogeneity_variance": 0.0,
    }
    exact_fit = f"{method}: the outcome is fitted exactly (e.g. it is constant)"
    centred_y = y - y.mean()
    exact = np.ptp(y) == 0
    if not exact:
        fit = OLS(y, design).fit(cov_type=cov_type)
        exact = fit.ssr <= 1e-24 * float(centred_y @ centred_y)
    if exact:
        # A constant outcome (or one the regression fits exactly): se 0. statsmodels
        # would report round-off here (e.g. p = 1e-58 for a constant outcome).
        effect = 0.0 if np.ptp(y) == 0 else float(fit.params[1])
        if abs(effect) <= 1e-12 * float(np.max(np.abs(y))):
            effect = 0.0
        details["r_squared"] = 1.0 if np.ptp(y) > 0 else 0.0
        return comparison_estimate(
            method,
            effect,
            0.0,
            y.size - design.shape[1],
            alpha=alpha,
            details=details,
            constant=exact_fit,
        )
    if estimand == "population":
        slope_difference = np.asarray(fit.params[2 + k :], dtype=float)
        spread = np.atleast_2d(np.cov(x, rowvar=False))
        details["heterogeneity_variance"] = (
            float(slope_difference @ spread @ slope_difference) / y.size
        )
    details.update(
        coefficients=dict(zip(labels, map(float, fit.params), strict=True)),
        r_squared=float(fit.rsquared),
        sample_se=float(fit.bse[1]),
    )
    se = math.sqrt(fit.bse[1] ** 2 + details["heterogeneity_variance"])
    return comparison_estimate(
        method, fit.params[1], se, fit.df_resid, alpha=alpha, details=details, constant=exact_fit
    )


def estimate_cuped_moments_from_stats(
    control: CovariateMoments,
    treatment: CovariateMoments,
    *,
    alpha: float = 0.05,
    theta_method: str = "within",
    theta: Any = None,
    relative: bool = False,
) -> Estimate:
    """CUPED with several covariates from per-arm moments: the answer
    :func:`~playbook_lib.cuped.estimate_cuped` gives on the rows with a covariate matrix.

    The estimator is CUPED with a pooled coefficient vector: ``theta = W_xx^{-1} W_xy``,
    where ``W`` sums the two arms' centred cross products of the covariates ``x`` and the
    outcome ``y`` (the within-arm regression of ``y`` on ``x``), and the effect is the
    difference in the arms' means of ``y - theta'(x - mean(x))``. By Frisch-Waugh-Lovell it
    equals the OLS coefficient on the treatment in ``y ~ 1 + treatment + x`` (ANCOVA). The
    variance is Welch's on the adjusted outcomes with ``theta`` treated as known: per arm,
    ``(S_yy - 2 theta'S_xy + theta'S_xx theta) / (n - 1)``, which needs only the arm's
    second moments (estimating ``theta`` adds a relative O(k/n)). Sources: Deng, Xu,
    Kohavi & Walker (2013), WSDM (CUPED, which extends to several covariates as a
    regression); Lin (2013), Annals of Applied Statistics 7(1), 295-318 (regression
    adjustment's consistency and precision; with equal arms the pooled slope is
    asymptotically as precise as Lin's interacted estimator).

    Parameters
    ----------
    control, treatment : CovariateMoments
        Each arm's count, sums of the outcome and the ``k`` pre-period covariates, and
        the ``(k + 1) x (k + 1)`` sums of cross products
        (:class:`~playbook_lib.aggregates.CovariateMoments`; the same covariates, in the
        same order, in both arms).
    alpha : float
        One minus the confidence level of the interval.
    theta_method : {"within", "total"}
        As :func:`~playbook_lib.cuped.estimate_cuped`: ``"within"`` (default, the ANCOVA
        coefficient) or ``"total"`` (the pooled regression ignoring arms).
    theta : sequence of k floats, optional
        A fixed coefficient vector instead of estimating it.
    relative : bool
        Return the relative lift of the adjusted means instead (delta method).

    Returns
    -------
    Estimate
        As :func:`~playbook_lib.cuped.estimate_cuped` (``method="cuped"``; ``details``
        with ``theta`` as a tuple for ``k > 1``, ``r_squared``, ``variance_reduction``,
        the unadjusted estimate and se). Swapping the arms flips the sign.

    Raises
    ------
    ValueError
        Naming ``control`` or ``treatment``: not ``CovariateMoments``, fewer than two
        units, different numbers of covariates; naming ``sum_cross_products``: covariates
        constant within both arms or collinear (``W_xx`` singular); as
        :func:`~playbook_lib.cuped.estimate_cuped` for the options. Inconsistent sums are
        refused when the moments are built.

    Notes
    -----
    A centred sum of squares below ``1e-12`` of the raw one carries no digits of the
    spread (round-off of a constant), so it counts as exactly 0, as in
    :func:`~playbook_lib.cuped.estimate_cuped_from_stats`.
    """
    alpha = _check_options(alpha, theta_method, relative)
    arms = check_arm_statistics(control, treatment, CovariateMoments)
    if treatment.k != control.k:
        raise ValueError(
            f"treatment holds {treatment.k} covariate(s) but control {control.k}: the arms "
            "need the same covariates"
        )
    k = control.k
    n = np.array([arm.n for arm in arms], dtype=float)
    centred = np.array([arm.centred_cross_products for arm in arms])
    raw = np.array([np.diag(arm.sum_cross_products) for arm in arms])
    # Round-off of a constant variable is no spread: zero its row and column.
    constant = np.einsum("aii->ai", centred) <= 1e-12 * np.abs(raw)
    keep = (~constant).astype(float)
    centred = centred * keep[:, :, None] * keep[:, None, :]
    within_xx = centred[:, 1:, 1:].sum(axis=0)
    if np.linalg.matrix_rank(within_xx) < k:
        raise ValueError(
            "sum_cross_products: the covariates are constant within both arms or collinear "
            "(the pooled within-arm covariance of the covariates is singular)"
        )
    mean_y = np.array([arm.mean_outcome for arm in arms])
    mean_x = np.array([arm.mean_covariates for arm in arms])
    return _cuped_core(
        n,
        mean_y,
        mean_x,
        centred[:, 0, 0],
        centred[:, 1:, 1:],
        centred[:, 1:, 0],
        alpha=alpha,
        theta_method=theta_method,
        theta=theta,
        relative=relative,
    )
