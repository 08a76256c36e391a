"""CUPED, the plain difference and Lin's estimator for many simulated experiments at once.

One call analyses arrays of shape ``(n_sims, n)``, one experiment per row, with array
operations only, and returns one :class:`~playbook_lib.results.Estimates` table (one row per
experiment) whose calibration helpers (``coverage``, ``rejection_rate``, ``bias``) answer
a Monte Carlo study's questions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib.cuped._inputs import full_rank, satterthwaite_df, two_arm_welch
from playbook_lib.results import Estimates
from playbook_lib.validation import as_float_array, check_alpha, check_choice

__all__ = ["batch_estimate_cuped"]


def _batch_inputs(
    outcome: Any, covariate: Any, treatment: Any, include: Any, method: str
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Checked ``y (S, n)``, ``x (S, n, k)`` and the arms' 0/1 weights ``(control, treated)``."""
    y = as_float_array(outcome, "outcome", ndim=2)
    single = np.ndim(covariate) == 2
    x = as_float_array(covariate, "covariate", ndim=2 if single else 3)
    if single:
        x = x[..., None]
    if method == "lin" and x.shape[2] != 1:
        raise ValueError("covariate: method 'lin' takes a single covariate")
    t = as_float_array(treatment, "treatment", ndim=1 if np.ndim(treatment) == 1 else 2)
    if t.ndim == 1:
        if t.size != y.shape[1]:
            raise ValueError(
                f"treatment has length {t.size}, outcome has {y.shape[1]} columns (units)"
            )
        t = np.broadcast_to(t, y.shape)
    if x.shape[:2] != y.shape:
        raise ValueError(f"covariate has shape {x.shape}, outcome has shape {y.shape}")
    if t.shape != y.shape:
        raise ValueError(f"treatment has shape {t.shape}, outcome has shape {y.shape}")
    if not np.isin(t, (0.0, 1.0)).all():
        raise ValueError("treatment must contain only 0 (control) and 1 (treatment)")
    if include is None:
        return y, x, (1.0 - t, t)
    keep = np.asarray(include)
    if keep.shape != y.shape or keep.dtype != np.bool_:
        raise ValueError(f"include must be a boolean array of shape {y.shape}")
    return y, x, ((1.0 - t) * keep, t * keep)


def batch_estimate_cuped(
    outcome: Any,
    covariate: Any,
    treatment: Any,
    *,
    method: str = "cuped",
    include: Any = None,
    alpha: float = 0.05,
) -> Estimates:
    """One estimate per simulated experiment (rows are experiments), without a Python loop.

    Parameters
    ----------
    outcome : array-like, shape (n_sims, n)
        One experiment per row.
    covariate : array-like, shape (n_sims, n) or (n_sims, n, k)
        One pre-period covariate, or ``k`` of them in the last axis (``"lin"``: one only).
    treatment : array-like, shape (n_sims, n) or (n,)
        0/1 assignment per row (a 1-D array is shared by all rows).
    method : {"cuped", "difference", "lin"}
        ``"cuped"``: as :func:`~playbook_lib.cuped.estimate_cuped` (theta pooled within
        arms, Welch t). ``"difference"``: the unadjusted difference in means (Welch t).
        ``"lin"``: Lin's (2013) estimator, separate slopes per arm evaluated at the overall
        covariate mean; its se targets the population average effect, as
        :func:`~playbook_lib.cuped.estimate_regression_adjustment` with
        ``estimand="population"``: it adds the heterogeneity term
        ``(beta_T - beta_C)² var(X) / n`` to the per-arm residual variances (normal-theory
        Welch degrees of freedom with ``n_arm - 2``).
    include : array-like of bool, shape (n_sims, n), optional
        Which units each experiment analyses (e.g. only returning users); default all.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    Estimates
        One row per experiment (labels ``0..n_sims-1``), ``method`` the estimator's name,
        with Student-t intervals, p-values and df; an extra column ``theta`` (one
        covariate; ``theta_0 .. theta_{k-1}`` for ``k``): zeros for ``"difference"``, the
        slope difference ``beta_T - beta_C`` for ``"lin"``. A row whose outcome is constant
        within both arms gets ``se = 0``, the point interval, ``p_value`` 1 (zero
        estimate) or 0, and a NaN ``df``.

    Raises
    ------
    ValueError
        On mismatched shapes, NaN, infinite or non-numeric values, non-binary treatment,
        an arm with < 3 users, or a covariate constant within the arms of a row.
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", ("cuped", "difference", "lin"))
    y, x, weights = _batch_inputs(outcome, covariate, treatment, include, method)
    n = np.stack([w.sum(axis=1) for w in weights])  # (2, n_sims)
    if (n < 3).any():
        raise ValueError("treatment must have at least three units in each arm of every row")
    mean_y = np.stack([(w * y).sum(axis=1) for w in weights]) / n  # (2, S)
    # Sums over the n axis as batched matmul (BLAS), much faster than einsum for k > 1.
    mean_x = np.stack([(w[:, None, :] @ x)[:, 0, :] for w in weights]) / n[..., None]
    syy, sxx, sxy = [], [], []
    for arm, w in enumerate(weights):
        dy = y - mean_y[arm][:, None]
        dx = x - mean_x[arm][:, None, :]
        wdx_t = (w[..., None] * dx).transpose(0, 2, 1)  # (S, k, n)
        syy.append((w * dy * dy).sum(axis=1))
        sxx.append(wdx_t @ dx)
        sxy.append((wdx_t @ dy[..., None])[..., 0])
    syy, sxx, sxy = np.stack(syy), np.stack(sxx), np.stack(sxy)  # (2,S) (2,S,k,k) (2,S,k)
    if method != "difference":
        spread = np.diagonal(sxx, axis1=2, axis2=3)  # (2, S, k)
        scale = np.stack([(w[:, None, :] @ (x * x))[:, 0, :] for w in weights])
        flat = spread <= 1e-12 * scale  # (2, S, k): within-arm sums of squares vs raw
        constant = flat.any(axis=0) if method == "lin" else flat.all(axis=0)
        if constant.any():
            rows = np.flatnonzero(constant.any(axis=-1))[:5].tolist()
            where = "within an arm" if method == "lin" else "within both arms"
            raise ValueError(f"covariate is constant {where} in row(s) {rows}")
        if method == "cuped" and not full_rank(sxx.sum(axis=0)).all():
            raise ValueError("covariate: columns are collinear within arms in some rows")
    if method == "lin":
        estimate, se, df, theta = _lin(
            (n, mean_y, mean_x[..., 0], syy, sxx[..., 0, 0], sxy[..., 0])
        )
    else:
        if method == "difference":
            theta = np.zeros(mean_x.shape[1:])
            variance = syy / (n - 1)
        else:
            theta = np.linalg.solve(sxx.sum(axis=0), sxy.sum(axis=0)[..., None])[..., 0]
            quadratic = np.einsum("sk,askl,sl->as", theta, sxx, theta)
            variance = (syy - 2 * np.einsum("ask,sk->as", sxy, theta) + quadratic) / (n - 1)
            variance = np.maximum(variance, 0.0)
        adjusted = mean_y - np.einsum("ask,sk->as", mean_x, theta)
        estimate, se, df = two_arm_welch(n, adjusted, variance)
    table = Estimates.from_standard_errors(method, estimate, se, alpha=alpha, df=df).to_frame()
    theta = theta.reshape(len(table), -1)  # (S, k); Lin's slope difference is (S,)
    if theta.shape[1] == 1:
        table["theta"] = theta[:, 0]
    else:
        for index in range(theta.shape[1]):
            table[f"theta_{index}"] = theta[:, index]
    return Estimates(table)


def _lin(
    moments: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lin's estimator per row from one covariate's per-arm ``(n, mean_y, mean_x, syy,
    sxx, sxy)``, each of shape ``(2, S)``: ``(estimate, se, df, slope difference)``, each
    ``(S,)``."""
    n, mean_y, mean_x, syy, sxx, sxy = moments
    slopes = sxy / sxx
    overall_x = (n * mean_x).sum(axis=0) / n.sum(axis=0)
    fitted = mean_y + slopes * (overall_x - mean_x)
    residual = np.maximum(syy - slopes * sxy, 0.0) / (n - 2)
    total_n = n.sum(axis=0)
    spread = (sxx.sum(axis=0) + (n * (mean_x - overall_x) ** 2).sum(axis=0)) / (total_n - 1)
    heterogeneity = (slopes[1] - slopes[0]) ** 2 * spread / total_n
    components = np.vstack([residual / n, heterogeneity[None, :]])
    dofs = np.vstack([n - 2, (total_n - 1)[None, :]])
    se = np.sqrt(components.sum(axis=0))
    return fitted[1] - fitted[0], se, satterthwaite_df(components, dofs), slopes[1] - slopes[0]
