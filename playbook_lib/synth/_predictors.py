"""The nested choice of predictor weights ``V`` for synthetic control (private).

Abadie, Diamond & Hainmueller (2010) choose the donor weights ``W(V)`` that match the
predictors ``X`` in the ``V``-weighted norm, and the diagonal ``V`` (on the simplex) that
minimises the pre-period outcome error of ``W(V)``. The outer problem is not convex: a
local search from one start stops at a local optimum that depends on the start. This
module searches globally in two steps.

1. A certificate (Malo, Eskelinen, Zhou & Kuosmanen 2023). No ``V`` can beat the donor
   weights ``W*`` fitted on the pre-period outcomes alone, so their error is a lower
   bound. ``W*`` is reachable when it satisfies the inner problem's optimality (KKT)
   conditions for some ``V``; those conditions are linear in ``V``, so a linear
   programme finds such a ``V`` or shows there is none. If the inner solution at that
   ``V`` attains the bound, it is the global optimum.
2. Otherwise a multi-start search: L-BFGS-B over a softmax parametrisation of ``V`` with
   the exact gradient of the outer loss (implicit differentiation of the inner solution
   on its support), from equal weights, the linear programme's ``V`` and the points of
   a Sobol sequence mapped to the simplex (deterministic); the best end point wins.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import optimize
from scipy.stats import qmc

from playbook_lib.synth._simplex import simplex_fit


class PredictorWeightSearch(NamedTuple):
    """The chosen ``V``, its donor weights ``(J, N1)`` and what the search achieved."""

    v: np.ndarray
    weights: np.ndarray
    loss: float
    lower_bound: float
    certified: bool
    n_evaluations: int


def _inner_fast(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Simplex least squares by compiled NNLS with a heavily weighted ``1'w = 1`` row.

    Accurate to about 1e-9 in the weights, with exact zeros off the support: used inside
    the search only; the final weights come from the exact solver.
    """
    n = a.shape[1]
    big = 1e3 * max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)), 1e-12)
    big *= math.sqrt(a.shape[0] + 1)
    try:
        w = optimize.nnls(np.vstack([a, np.full((1, n), big)]), np.append(b, big), maxiter=50 * n)[
            0
        ]
    except RuntimeError:
        return np.full(n, 1.0 / n)
    total = w.sum()
    return w / total if total > 0 and np.isfinite(total) else np.full(n, 1.0 / n)


def _loss_and_gradient(
    v: np.ndarray, x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Outer loss (mean squared pre-period gap over treated units and periods), its
    gradient in ``v`` and the inner weights ``(J, N1)``.

    On the support ``S`` of ``w(v)`` the inner solution solves
    ``[A'DA 1; 1' 0] [w; m] = [A'D x1; 1]`` with ``A = X0[:, S]`` and ``D = diag(v)``;
    differentiating, ``dw/dv_k = P a_k r_k`` with ``P`` the top-left block of the
    inverse and ``r = x1 - A w``. The outer gradient is then ``r * (A P g)`` with
    ``g`` the gradient of the loss in ``w_S``.
    """
    root = np.sqrt(v)
    n1, n_pre = y1.shape
    weights = np.empty((x0.shape[1], n1))
    loss, gradient = 0.0, np.zeros_like(v)
    for k in range(n1):
        w = _inner_fast(root[:, None] * x0, root * x1[:, k])
        weights[:, k] = w
        resid = y1[k] - w @ y0
        loss += float(resid @ resid) / (n_pre * n1)
        support = np.flatnonzero(w > 0)
        s = support.size
        if s < 2:
            continue
        a = x0[:, support]
        r = x1[:, k] - a @ w[support]
        system = np.zeros((s + 1, s + 1))
        system[:s, :s] = a.T @ (v[:, None] * a)
        system[:s, s] = system[s, :s] = 1.0
        g = np.append(-2.0 * (y0[support] @ resid) / (n_pre * n1), 0.0)
        try:
            p_g = np.linalg.solve(system, g)[:s]
        except np.linalg.LinAlgError:
            p_g = np.linalg.lstsq(system, g, rcond=None)[0][:s]
        gradient += r * (a @ p_g)
    return loss, gradient, weights


def _kkt_predictor_weights(
    x0: np.ndarray, x1: np.ndarray, w_star: np.ndarray
) -> tuple[np.ndarray | None, float]:
    """A ``V`` for which ``w_star`` (``(J, N1)``) solves every inner problem, if any.

    Maximises the margin ``t`` of the strict optimality conditions off the support (so
    the inner solution is as unique as possible). Returns ``(V, t)``, or ``(None, nan)``
    when the equality conditions have no solution; ``t < 0`` means no such ``V``.
    """
    k_pred, n_donors = x0.shape
    n1 = x1.shape[1]
    n_vars = k_pred + n1 + 1  # V, one multiplier per treated unit, the margin t
    eq_rows, ub_rows = [], []
    for k in range(n1):
        residual = x1[:, k] - x0 @ w_star[:, k]
        grad = -2.0 * x0 * residual[:, None]  # d f / d w_j = sum_i V_i grad[i, j]
        peak = float(np.abs(grad).max(initial=0.0))
        grad = grad / peak if peak > 0 else grad
        on = w_star[:, k] > 0
        for j in range(n_donors):
            row = np.zeros(n_vars)
            row[:k_pred] = grad[:, j]
            row[k_pred + k] = -1.0
            if on[j]:
                eq_rows.append(row)
            else:
                row = -row
                row[-1] = 1.0
                ub_rows.append(row)
    total = np.zeros(n_vars)
    total[:k_pred] = 1.0
    eq_rows.append(total)
    b_eq = np.zeros(len(eq_rows))
    b_eq[-1] = 1.0
    cost = np.zeros(n_vars)
    cost[-1] = -1.0
    result = optimize.linprog(
        cost,
        A_ub=np.array(ub_rows) if ub_rows else None,
        b_ub=np.zeros(len(ub_rows)) if ub_rows else None,
        A_eq=np.array(eq_rows),
        b_eq=b_eq,
        bounds=[(0.0, None)] * k_pred + [(None, None)] * n1 + [(None, 1.0)],
        method="highs",
    )
    if result.status != 0:
        return None, math.nan
    v = np.clip(result.x[:k_pred], 0.0, None)
    return v / v.sum(), float(result.x[-1])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _starts(k_pred: int, n_starts: int, extra: list[np.ndarray]) -> list[np.ndarray]:
    """Equal weights, the ``extra`` points, then Sobol points mapped to the simplex."""
    points = [np.full(k_pred, 1.0 / k_pred), *extra]
    if len(points) < n_starts:
        sobol = qmc.Sobol(k_pred, scramble=False).random_base2(
            max(1, math.ceil(math.log2(n_starts + 1)))
        )[1:]
        # -log(1 - u) is exponential: normalised, uniform on the simplex
        spread = -np.log1p(-np.clip(sobol, 1e-6, 1 - 1e-6))
        points.extend(spread / spread.sum(axis=1, keepdims=True))
    return points[:n_starts]


def outcome_only_bound(y0: np.ndarray, y1: np.ndarray, tol: float) -> tuple[np.ndarray, float]:
    """The outcome-only weights ``(J, N1)`` and their loss, a lower bound for every ``V``."""
    weights = np.column_stack(
        [simplex_fit(y0.T, y1[k], solver="active-set", tol=tol).weights for k in range(len(y1))]
    )
    return weights, float(np.mean((y1 - weights.T @ y0) ** 2))


def attainment_slack(lower_bound: float, y1: np.ndarray) -> float:
    """Tolerance within which a loss counts as attaining ``lower_bound``."""
    return 1e-9 * max(lower_bound, float(np.mean(y1**2)) * 1e-12)


def search_predictor_weights(
    x0: np.ndarray,
    x1: np.ndarray,
    y0: np.ndarray,
    y1: np.ndarray,
    *,
    n_starts: int,
    solver: str,
    tol: float,
) -> PredictorWeightSearch:
    """The global search of the module docstring on standardised predictors.

    ``x0`` ``(K, J)`` and ``x1`` ``(K, N1)`` are the donors' and treated units'
    predictors, ``y0`` ``(J, T0)`` and ``y1`` ``(N1, T0)`` their pre-period outcomes.
    One ``V`` is shared by the treated units; the loss is their mean squared gap.
    """
    k_pred, n1 = x0.shape[0], x1.shape[1]
    outcome_only, lower_bound = outcome_only_bound(y0, y1, tol)
    slack = attainment_slack(lower_bound, y1)

    def exact(v: np.ndarray) -> tuple[np.ndarray, float]:
        root = np.sqrt(v)
        w = np.column_stack(
            [
                simplex_fit(root[:, None] * x0, root * x1[:, k], solver=solver, tol=tol).weights
                for k in range(n1)
            ]
        )
        return w, float(np.mean((y1 - w.T @ y0) ** 2))

    evaluations = 0
    extra: list[np.ndarray] = []
    if k_pred > 1:
        v_kkt, margin = _kkt_predictor_weights(x0, x1, outcome_only)
        if v_kkt is not None:
            evaluations += 1
            w, loss = exact(v_kkt)
            if margin >= -1e-9 and loss <= lower_bound + slack:
                return PredictorWeightSearch(v_kkt, w, loss, lower_bound, True, evaluations)
            extra.append(v_kkt)
    else:
        w, loss = exact(np.ones(1))
        return PredictorWeightSearch(np.ones(1), w, loss, lower_bound, False, 1)

    def fun(z: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        v = _softmax(z)
        loss, grad_v, _ = _loss_and_gradient(v, x0, x1, y0, y1)
        return loss, v * (grad_v - v @ grad_v)  # chain rule through the softmax

    scale = max(lower_bound, float(np.mean((y1 - y1.mean()) ** 2)), 1e-300)
    best_v, best_loss = np.full(k_pred, 1.0 / k_pred), math.inf
    for start in _starts(k_pred, n_starts, extra):
        z0 = np.log(np.clip(start, 1e-8, None))
        result = optimize.minimize(
            fun, z0, jac=True, method="BFGS", options={"maxiter": 40, "gtol": 1e-8 * scale}
        )
        if result.fun < best_loss:
            best_loss, best_v = float(result.fun), _softmax(result.x)
    w, loss = exact(best_v)
    return PredictorWeightSearch(
        best_v, w, loss, lower_bound, bool(loss <= lower_bound + slack), evaluations
    )
