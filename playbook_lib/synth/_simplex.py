"""The simplex-weight solvers, on checked input (private to :mod:`playbook_lib.synth`).

:func:`simplex_fit` centres and scales one weight problem and runs the exact active-set
method, SLSQP or synthdid's Frank-Wolfe iterations; :func:`fit_rows` fits each treated
row of a panel on the donors' pre-period. The public entry point, with its checks, is
:func:`playbook_lib.synth.fit_simplex_weights`.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from scipy import optimize

from playbook_lib.validation import PlaybookWarning


class SimplexSolution(NamedTuple):
    """Weights, intercept, objective, optimality gap and iterations of one fit."""

    weights: np.ndarray
    intercept: float
    objective: float
    optimality_gap: float
    iterations: int


def _objective_and_gradient(
    gram: np.ndarray, cross: np.ndarray, const: float, w: np.ndarray
) -> tuple[float, np.ndarray]:
    # f(w) = w'G w - 2 c'w + const, gradient 2 (G w - c)
    gw = gram @ w
    return float(w @ gw - 2.0 * cross @ w + const), 2.0 * (gw - cross)


def _active_set_simplex(
    a: np.ndarray,
    b: np.ndarray,
    ridge: float,
    tol: float,
    start: np.ndarray | None = None,
    max_iter: int = 1000,
) -> tuple[np.ndarray, int, bool]:
    """Primal active-set method for ``min ||A w - b||^2 + ridge ||w||^2`` on the simplex.

    Starts from a feasible ``start`` (or the best vertex); each iteration solves the
    equality-constrained least-squares problem on the current support (the constraint
    ``sum(w) = 1`` eliminated, then an orthogonal-decomposition least-squares solve of the
    design itself, never of its Gram matrix, whose condition number is the square), steps
    back to feasibility if a weight would turn negative (dropping it), and otherwise adds
    the coordinate with the smallest gradient, until the Frank-Wolfe gap
    ``g'w - min_j g_j`` is below ``tol * (1 + f(w))`` (Nocedal & Wright 2006,
    Algorithm 16.3). The caller scales the data to unit mean square, so the ``1`` is
    relative to the data. Returns the weights, the iterations and whether it converged.
    """
    m, n = a.shape
    if start is None:
        vertex = int(np.argmin(np.sum((a - b[:, None]) ** 2, axis=0) + ridge))
        w = np.zeros(n)
        w[vertex] = 1.0
    else:
        w = start.copy()
    support = w > 0
    root = math.sqrt(ridge)
    for iteration in range(1, max_iter + 1):
        idx = np.flatnonzero(support)
        k = idx.size
        candidate = np.zeros(n)
        if k == 1:
            candidate[idx] = 1.0
        else:
            # w_S = e_last + N v with N = [I; -1'], so sum(w_S) = 1 for every v
            columns = a[:, idx]
            last = columns[:, -1]
            design = columns[:, :-1] - last[:, None]
            rhs = b - last
            if ridge > 0:
                penalty = np.vstack([np.eye(k - 1), -np.ones((1, k - 1))]) * root
                shift = np.zeros(k)
                shift[-1] = -root
                design = np.vstack([design, penalty])
                rhs = np.concatenate([rhs, shift])
            v = np.linalg.lstsq(design, rhs, rcond=None)[0]
            candidate[idx[:-1]] = v
            candidate[idx[-1]] = 1.0 - v.sum()
        if (candidate[idx] > 0).all():
            w = candidate
            residual = a @ w - b
            gradient = 2.0 * (a.T @ residual + ridge * w)
            value = float(residual @ residual + ridge * (w @ w))
            gap = float(gradient @ w - gradient.min())
            if gap <= tol * (1.0 + abs(value)):
                return w, iteration, True
            outside = np.where(support, np.inf, gradient)
            j = int(np.argmin(outside))
            if not np.isfinite(outside[j]):
                return w, iteration, True
            support[j] = True
        else:
            # Step from w towards the candidate until the first weight hits zero.
            direction = candidate - w
            shrinking = (direction < 0) & support
            ratios = np.full(n, np.inf)
            ratios[shrinking] = -w[shrinking] / direction[shrinking]
            blocking = int(np.argmin(ratios))
            step = min(1.0, float(ratios[blocking]))
            w = w + step * direction
            if step < 1.0:
                w[blocking] = 0.0
            w[w < 1e-15] = 0.0
            w /= w.sum()
            support = w > 0
    return w, max_iter, False


def _nnls_start(a: np.ndarray, b: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """A feasible warm start: non-negative least squares (Lawson-Hanson, in compiled code)
    on the system augmented with ridge rows and a heavily weighted row ``M 1'w = M``."""
    n = a.shape[1]
    scale = max(float(np.abs(a).max(initial=0.0)), float(np.abs(b).max(initial=0.0)), 1.0)
    big = 1e3 * scale * math.sqrt(a.shape[0] + 1)
    rows = [a, np.full((1, n), big)]
    rhs = [b, [big]]
    if ridge > 0:
        rows.insert(1, math.sqrt(ridge) * np.eye(n))
        rhs.insert(1, np.zeros(n))
    try:
        w = optimize.nnls(np.vstack(rows), np.concatenate(rhs), maxiter=50 * n)[0]
    except RuntimeError:  # iteration limit: the active-set method starts elsewhere
        return np.full(n, 1.0 / n)
    if not np.isfinite(w).all() or w.sum() <= 0:
        return np.full(n, 1.0 / n)
    return w / w.sum()


def _frank_wolfe_simplex(
    gram: np.ndarray,
    cross: np.ndarray,
    const: float,
    start: np.ndarray,
    min_decrease: float,
    max_iter: int,
) -> tuple[np.ndarray, int, bool]:
    """synthdid's Frank-Wolfe iterations (``sc.weight.fw`` and ``fw.step``).

    Exact line search along ``d = e_i - w`` towards the vertex with the smallest
    gradient, as synthdid's ``fw.step``. Stops when the objective
    (divided by the number of rows ``m`` as in synthdid, which the caller folds into
    ``min_decrease``) decreases by less than ``min_decrease``. Returns the weights, the
    iterations and whether the stopping rule (rather than ``max_iter``) ended them.
    """
    w = start.copy()
    gw = gram @ w
    previous = np.inf
    value = float(w @ gw - 2.0 * cross @ w + const)
    for iteration in range(1, max_iter + 1):
        gradient = gw - cross
        i = int(np.argmin(gradient))
        direction = -w
        direction[i] += 1.0
        if not direction.any():
            return w, iteration, True
        g_direction = gram[:, i] - gw  # G d
        curvature = float(direction @ g_direction)
        if curvature <= 0:
            return w, iteration, True
        step = min(1.0, max(0.0, -float(direction @ gradient) / curvature))
        w = w + step * direction
        gw = gw + step * g_direction
        previous, value = value, float(w @ gw - 2.0 * cross @ w + const)
        if iteration >= 2 and previous - value <= min_decrease:
            return w, iteration, True
    return w, max_iter, False


def _rms(values: np.ndarray) -> float:
    """Root mean square of ``values`` without overflow (0 for an all-zero array)."""
    peak = float(np.abs(values).max(initial=0.0))
    if peak == 0:
        return 0.0
    return peak * math.sqrt(float(np.mean((values / peak) ** 2)))


def simplex_fit(
    a: np.ndarray,
    b: np.ndarray,
    *,
    intercept: bool = False,
    ridge: float = 0.0,
    solver: str = "active-set",
    tol: float = 1e-10,
    start: np.ndarray | None = None,
    min_decrease: float | None = None,
    max_iter: int = 10_000,
    warn: bool = True,
) -> SimplexSolution:
    """:func:`~playbook_lib.synth.fit_simplex_weights` on checked input (``warn``: on
    non-convergence).

    The problem is first centred and scaled, which changes neither the weights nor (in
    exact arithmetic) any solver's path: with an intercept both sides are demeaned over
    the rows; without one, the target's mean is subtracted from donors and target alike
    (weights summing to one make ``A w - b`` invariant to that shift); then both are
    divided by their root mean square ``s`` and the ridge by ``s**2``. The solvers'
    tolerances are therefore relative to the data: multiplying the outcomes by ``c > 0``
    multiplies the objective by ``c**2`` and leaves the weights unchanged, and adding a
    constant changes nothing.
    """
    if intercept:
        a_mean, b_mean = a.mean(axis=0), float(b.mean())
        a_c, b_c = a - a_mean, b - b_mean
    else:
        center = float(b.mean())
        a_c, b_c = a - center, b - center
    scale = _rms(np.concatenate([a_c.ravel(), b_c]))
    if scale == 0:
        scale = 1.0
    an, bn, rn = a_c / scale, b_c / scale, ridge / scale**2
    n_donors = a.shape[1]
    converged = True
    if solver == "active-set":
        w, iterations, converged = _active_set_simplex(
            an, bn, rn, tol, start=_nnls_start(an, bn, rn), max_iter=max(max_iter, 1000)
        )
    else:
        gram = an.T @ an + rn * np.eye(n_donors)
        cross = an.T @ bn
        const = float(bn @ bn)
        if solver == "slsqp":
            # SLSQP's ftol is absolute: scale the objective to order one.
            unit = max(float(np.abs(np.diag(gram)).max()), 1e-300)

            def fun(w: np.ndarray) -> tuple[float, np.ndarray]:
                value, gradient = _objective_and_gradient(gram, cross, const, w)
                return value / unit, gradient / unit

            result = optimize.minimize(
                fun,
                np.full(n_donors, 1.0 / n_donors),
                jac=True,
                method="SLSQP",
                bounds=[(0.0, 1.0)] * n_donors,
                constraints=[
                    {"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones_like(w)}
                ],
                options={"ftol": tol, "maxiter": max_iter},
            )
            w = np.clip(result.x, 0.0, None)
            w = w / w.sum() if w.sum() > 0 else np.full(n_donors, 1.0 / n_donors)
            iterations = int(result.nit)
            converged = bool(result.success)
        else:
            m = max(a.shape[0], 1)
            w_start = np.full(n_donors, 1.0 / n_donors) if start is None else start
            if min_decrease is None:
                sd = float(np.std(b, ddof=1)) if b.size > 1 else 0.0
                min_decrease = 1e-5 * (sd if sd > 0 else scale)
            w, iterations, converged = _frank_wolfe_simplex(
                gram, cross, const, w_start, m * (min_decrease / scale) ** 2, max_iter
            )
    residual = an @ w - bn
    gradient = 2.0 * (an.T @ residual + rn * w)
    value = float(residual @ residual + rn * (w @ w)) * scale**2
    gap = max(float(gradient @ w - gradient.min()), 0.0) * scale**2
    if warn and not converged:
        warnings.warn(
            f"fit_simplex_weights: the {solver} solver stopped at its iteration limit "
            f"({iterations}) before converging (optimality gap {gap:.3g}, objective "
            f"{value:.3g}): the weights are not optimal (solver='active-set' finds the "
            "exact optimum)",
            PlaybookWarning,
            stacklevel=3,
        )
    shift = float(b_mean - a_mean @ w) if intercept else 0.0
    return SimplexSolution(w, shift, value, gap, iterations)


def fit_rows(
    controls: np.ndarray,
    treated: np.ndarray,
    n_pre: int,
    *,
    intercept: bool,
    ridge: float,
    solver: str,
    tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit each treated row on the donors' pre-period: weights (J, N1), shifts, synthetic."""
    donors_pre = controls[:, :n_pre].T
    weights = np.empty((controls.shape[0], treated.shape[0]))
    shifts = np.empty(treated.shape[0])
    for k, row in enumerate(treated):
        fit = simplex_fit(
            donors_pre, row[:n_pre], intercept=intercept, ridge=ridge, solver=solver, tol=tol
        )
        weights[:, k], shifts[k] = fit.weights, fit.intercept
    synthetic = weights.T @ controls + shifts[:, None]
    return weights, shifts, synthetic
