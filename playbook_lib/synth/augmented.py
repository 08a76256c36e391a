"""Augmented synthetic control with a ridge outcome model (Ben-Michael, Feller & Rothstein).

:func:`fit_augmented_synthetic_control` corrects the synthetic control's counterfactual
by the bias that a ridge regression of the donors' post-period outcomes on their
pre-period outcomes predicts from the remaining pre-period imbalance;
:func:`estimate_augmented_synthetic_control` adds placebo-in-space inference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.results import Estimate
from playbook_lib.synth._checks import PLACEBO_POOLS, check_panel
from playbook_lib.synth._simplex import simplex_fit
from playbook_lib.synth.panel import Panel
from playbook_lib.synth.placebo import _placebo_from_gaps, _placebo_se
from playbook_lib.validation import (
    check_alpha,
    check_choice,
    check_flag,
    check_integer,
    check_positive,
    check_rng,
)

__all__ = [
    "AugmentedSyntheticControlFit",
    "estimate_augmented_synthetic_control",
    "fit_augmented_synthetic_control",
]


@dataclass(frozen=True)
class AugmentedSyntheticControlFit:
    """Ridge-augmented synthetic-control fits, one column per treated unit.

    Attributes
    ----------
    weights : pandas.DataFrame
        The augmented donor weights (they sum to one and may be negative), indexed by
        donor: the counterfactual is ``weights' Y_donors`` (plus the level shift with
        ``intercept``).
    sc_weights : pandas.DataFrame
        The synthetic-control (simplex) weights the augmentation starts from.
    ridge_lambda : pandas.Series
        The ridge penalty per treated unit.
    synthetic, gaps : pandas.DataFrame
        Augmented synthetic series and treated-minus-synthetic gaps, index times.
    bias_correction : pandas.Series
        Mean post-period correction (augmented minus plain synthetic series) per unit.
    n_pre : int
        Number of pre-treatment periods.
    """

    weights: pd.DataFrame
    sc_weights: pd.DataFrame
    ridge_lambda: pd.Series
    synthetic: pd.DataFrame
    gaps: pd.DataFrame
    bias_correction: pd.Series
    n_pre: int

    @property
    def effects(self) -> pd.Series:
        """Mean post-period gap per treated unit."""
        return self.gaps.iloc[self.n_pre :].mean()

    @property
    def rmspe_pre(self) -> pd.Series:
        """Root mean squared pre-period gap per treated unit."""
        return np.sqrt((self.gaps.iloc[: self.n_pre] ** 2).mean())


def _ridge_correction(x0: np.ndarray, residual: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """``(X0c X0c' + lambda I)^+ X0c r`` for every ``lambda`` (rows), from one thin SVD
    ``X0c = U S V'``: ``U diag(s / (s^2 + lambda)) V' r``.

    ``X0c`` is ``x0`` (donors by pre-periods) centred over donors, so each correction
    sums to zero and the augmented weights still sum to one. At ``lambda = 0`` the
    pseudo-inverse is used (zero on the null space): the minimum-norm solution.
    """
    centred = x0 - x0.mean(axis=0)
    u, singular, vt = np.linalg.svd(centred, full_matrices=False)
    keep = singular > 1e-12 * max(float(singular.max(initial=0.0)), 1e-300)
    u, singular, vt = u[:, keep], singular[keep], vt[keep]
    projected = vt @ residual
    with np.errstate(invalid="ignore"):
        factor = singular[None, :] / (singular[None, :] ** 2 + lambdas[:, None])
    factor = np.where(np.isinf(lambdas)[:, None], 0.0, factor)
    return (factor * projected[None, :]) @ u.T


def _lambda_grid(x0: np.ndarray, n_lambdas: int = 30) -> np.ndarray:
    """Penalties from ``1e-4`` to ``10`` times the largest eigenvalue of ``X0c X0c'``."""
    centred = x0 - x0.mean(axis=0)
    top = float(np.linalg.svd(centred, compute_uv=False).max(initial=0.0) ** 2)
    return max(top, 1e-300) * np.logspace(1, -4, n_lambdas)


def _cv_lambda(x0: np.ndarray, x1: np.ndarray, n_folds: int = 5) -> float:
    """The ridge penalty by rolling-origin cross-validation on the pre-period.

    For each of the last ``n_folds`` pre-periods ``t`` (at most half of them), the
    periods before ``t`` play the pre-period and period ``t`` the outcome; the treated
    unit's squared prediction error of the augmented synthetic control is averaged over
    the folds. The largest
    penalty within one standard error of the smallest error is chosen (the one-
    standard-error rule). augsynth's default uses the same rule with other folds (each
    early pre-period left out in turn) and another grid, so the two can choose different
    penalties: on the Kansas example 0.44 here against augsynth's 0.079 (average effects
    -0.034 and -0.040); pass ``ridge_lambda`` to fix the penalty.
    """
    n_pre = x0.shape[1]
    lambdas = _lambda_grid(x0)
    first = max(2, n_pre // 2, n_pre - n_folds)
    if first >= n_pre:
        return float(lambdas[0])
    errors = []
    for t in range(first, n_pre):
        a, b = x0[:, :t], x1[:t]
        w_sc = simplex_fit(a.T, b).weights
        correction = _ridge_correction(a, b - w_sc @ a, lambdas)  # (L, J)
        pred = w_sc @ x0[:, t] + correction @ x0[:, t]
        errors.append((x1[t] - pred) ** 2)
    err = np.array(errors)  # (folds, L)
    mean = err.mean(axis=0)
    se = err.std(axis=0, ddof=1) / math.sqrt(err.shape[0]) if err.shape[0] > 1 else 0 * mean
    best = int(np.argmin(mean))
    within = np.flatnonzero(mean <= mean[best] + se[best])
    return float(lambdas[within.min()])  # the grid is decreasing: smallest index = largest


def _augmented_row(
    donors: np.ndarray, target: np.ndarray, n_pre: int, ridge_lambda: float | None, intercept: bool
) -> dict[str, Any]:
    """Augmented and SC weights, penalty, and augmented and plain synthetic series."""
    shift = np.zeros(1)
    if intercept:
        # augsynth's fixed effects: every unit demeaned by its own pre-period mean
        donor_means, target_mean = donors[:, :n_pre].mean(axis=1), float(target[:n_pre].mean())
        donors = donors - donor_means[:, None]
        target = target - target_mean
        shift = np.array([target_mean])
    x0, x1 = donors[:, :n_pre], target[:n_pre]
    w_sc = simplex_fit(x0.T, x1).weights
    lam = _cv_lambda(x0, x1) if ridge_lambda is None else float(ridge_lambda)
    weights = w_sc + _ridge_correction(x0, x1 - w_sc @ x0, np.array([lam]))[0]
    return {
        "weights": weights,
        "sc_weights": w_sc,
        "ridge_lambda": lam,
        "synthetic": weights @ donors + shift[0],
        "plain": w_sc @ donors + shift[0],
    }


def _fit(panel: Panel, ridge_lambda: float | None, intercept: bool) -> AugmentedSyntheticControlFit:
    controls, treated, n_pre = panel.controls, panel.treated, panel.n_pre
    names = panel.treated_units
    rows = [_augmented_row(controls, row, n_pre, ridge_lambda, intercept) for row in treated]
    synthetic = np.array([r["synthetic"] for r in rows])
    plain = np.array([r["plain"] for r in rows])
    return AugmentedSyntheticControlFit(
        weights=pd.DataFrame(
            np.column_stack([r["weights"] for r in rows]), index=panel.donor_units, columns=names
        ),
        sc_weights=pd.DataFrame(
            np.column_stack([r["sc_weights"] for r in rows]),
            index=panel.donor_units,
            columns=names,
        ),
        ridge_lambda=pd.Series(
            [r["ridge_lambda"] for r in rows], index=names, name="ridge_lambda", dtype=float
        ),
        synthetic=pd.DataFrame(synthetic.T, index=panel.times, columns=names),
        gaps=pd.DataFrame((treated - synthetic).T, index=panel.times, columns=names),
        bias_correction=pd.Series(
            (synthetic - plain)[:, n_pre:].mean(axis=1), index=names, name="bias_correction"
        ),
        n_pre=n_pre,
    )


def _check_lambda(ridge_lambda: Any) -> float | None:
    if ridge_lambda is None:
        return None
    if isinstance(ridge_lambda, float | int) and not isinstance(ridge_lambda, bool):
        if ridge_lambda == math.inf:
            return math.inf
    return check_positive(ridge_lambda, "ridge_lambda", strict=False)


def fit_augmented_synthetic_control(
    panel: Panel,
    *,
    ridge_lambda: float | None = None,
    intercept: bool = False,
) -> AugmentedSyntheticControlFit:
    """Ridge-augmented synthetic control (Ben-Michael, Feller & Rothstein 2021), no inference.

    For each treated unit, the synthetic-control weights ``w`` (simplex, pre-period
    outcomes) leave a pre-period imbalance ``r = X_1 - X_0' w``. A ridge regression of
    the donors' post-period outcomes on their pre-period outcomes (with an intercept,
    penalty ``lambda``) predicts how much that imbalance biases the counterfactual, and
    the counterfactual is corrected by it. Equivalently the weights become

    ``w_aug = w + (X0c X0c' + lambda I)^-1 X0c r``,

    with ``X0c`` the donors' pre-period outcomes centred over donors: they still sum to
    one but may be negative (a controlled extrapolation). ``lambda -> inf`` gives
    synthetic control back; ``lambda -> 0`` the minimum-norm least-squares augmentation,
    which fits the pre-period exactly when there are more donors than pre-periods.
    With ``intercept`` every unit is first demeaned by its pre-period mean (augsynth's
    ``fixedeff``). Several treated units are fitted one by one.

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel`.
    ridge_lambda : float, optional
        The penalty (``>= 0``, ``math.inf`` allowed). Default: chosen per treated unit
        by rolling-origin cross-validation on the pre-period with the one-standard-error
        rule, from a grid of ``1e-4`` to ``10`` times the largest eigenvalue of
        ``X0c X0c'``.
    intercept : bool
        Demean every unit by its pre-period mean first.

    Returns
    -------
    AugmentedSyntheticControlFit

    Raises
    ------
    ValueError
        If ``panel`` is not a :class:`~playbook_lib.synth.Panel`, ``ridge_lambda`` is
        negative or NaN, or ``intercept`` is not a boolean.
    """
    panel = check_panel(panel)
    ridge_lambda = _check_lambda(ridge_lambda)
    intercept = check_flag(intercept, "intercept")
    return _fit(panel, ridge_lambda, intercept)


def estimate_augmented_synthetic_control(
    panel: Panel,
    *,
    ridge_lambda: float | None = None,
    intercept: bool = False,
    alpha: float = 0.05,
    placebo_pool: str = "all",
    n_draws: int = 10_000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Ridge-augmented synthetic control with placebo-in-space inference.

    The estimate is the mean post-period gap of
    :func:`fit_augmented_synthetic_control`, averaged over treated units. Every donor in
    turn is refitted the same way (the same ``ridge_lambda``, or its own
    cross-validated one), on every other unit (``placebo_pool="all"``) or on the other
    donors (``"donors"``); ``p_value`` is the permutation p-value of the post/pre RMSPE
    ratio, ``se`` the sample standard deviation of the placebo effects (means over
    equally sized sets with several treated units) and the interval uses ``t(J - 1)``,
    as :func:`~playbook_lib.synth.estimate_synthetic_control` does. The interval is
    approximate.

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel`.
    ridge_lambda, intercept
        See :func:`fit_augmented_synthetic_control`.
    alpha : float
        One minus the interval's coverage.
    placebo_pool : {"all", "donors"}
        Donor pool of each placebo fit (``"sets"`` is treated as ``"all"``).
    n_draws, rng
        With several treated units and more than ``n_draws`` equally sized placebo sets,
        the number of random sets and the generator that draws them.

    Returns
    -------
    Estimate
        ``method="augmented synthetic control"``; ``details``: ``weights``,
        ``sc_weights``, ``ridge_lambda``, ``synthetic``, ``gaps``, ``effects``,
        ``bias_correction``, ``rmspe_pre``, ``effect_p_value``, ``placebo``
        (:class:`~playbook_lib.synth.PlaceboResult`), ``n_donors``, ``n_pre``,
        ``n_post``, ``n_treated``.

    Raises
    ------
    ValueError
        As :func:`fit_augmented_synthetic_control`, or for an ``alpha`` outside (0, 1)
        an unknown ``placebo_pool``, ``n_draws`` not a positive integer or a bad
        ``rng``.
    """
    panel = check_panel(panel)
    alpha = check_alpha(alpha)
    ridge_lambda = _check_lambda(ridge_lambda)
    intercept = check_flag(intercept, "intercept")
    check_choice(placebo_pool, "placebo_pool", PLACEBO_POOLS)
    n_draws = check_integer(n_draws, "n_draws", minimum=1)
    rng = check_rng(rng)
    fit = _fit(panel, ridge_lambda, intercept)
    y, n0, n_pre = panel.outcomes, panel.n_controls, panel.n_pre
    index = np.arange(y.shape[0])
    donor_gaps = np.empty((n0, y.shape[1]))
    for i in range(n0):
        pool = index[(index != i) & ((index < n0) | (placebo_pool != "donors"))]
        donor_gaps[i] = (
            y[i] - _augmented_row(y[pool], y[i], n_pre, ridge_lambda, intercept)["synthetic"]
        )
    gaps = np.vstack([fit.gaps.to_numpy().T, donor_gaps])
    placebo = _placebo_from_gaps(gaps, panel, n_draws, rng)
    effects = fit.effects
    estimate = float(effects.mean())
    se = _placebo_se(donor_gaps[:, n_pre:].mean(axis=1), panel.n_treated, n_draws, rng)
    df = n0 - 1
    # The t interval of the placebo se, and the placebo test's own p-value.
    interval = Estimate.from_standard_error(
        "augmented synthetic control", estimate, se, alpha=alpha, df=df
    )
    return replace(
        interval,
        p_value=placebo.p_value,
        details={
            "weights": fit.weights,
            "sc_weights": fit.sc_weights,
            "ridge_lambda": fit.ridge_lambda,
            "synthetic": fit.synthetic,
            "gaps": fit.gaps,
            "effects": effects,
            "bias_correction": fit.bias_correction,
            "rmspe_pre": float(fit.rmspe_pre.mean()),
            "effect_p_value": placebo.effect_p_value,
            "placebo": placebo,
            "n_donors": n0,
            "n_pre": n_pre,
            "n_post": panel.n_post,
            "n_treated": panel.n_treated,
        },
    )
