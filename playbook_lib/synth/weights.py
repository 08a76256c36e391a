"""Weights on the simplex: the synthetic-control weight problem, solved exactly.

:func:`fit_simplex_weights` finds non-negative weights summing to one that best reproduce a
target series from donor series, with an optional intercept and ridge penalty;
:func:`compute_least_squares_weights` gives the unconstrained least-squares weights, for
the pitfall demonstration only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from playbook_lib.synth._simplex import simplex_fit
from playbook_lib.validation import (
    as_float_array,
    check_choice,
    check_flag,
    check_integer,
    check_positive,
)

__all__ = ["SOLVERS", "SimplexWeights", "compute_least_squares_weights", "fit_simplex_weights"]

SOLVERS = ("active-set", "slsqp", "frank-wolfe")


@dataclass(frozen=True)
class SimplexWeights:
    """Weights on the simplex and how well they solve their problem.

    Attributes
    ----------
    weights : numpy.ndarray
        Non-negative, summing to one.
    intercept : float
        Constant added to the weighted donors (0 without an intercept).
    objective : float
        ``||A w + c - b||^2 + ridge ||w||^2`` at the solution.
    optimality_gap : float
        Frank-Wolfe duality gap ``g'w - min_j g_j`` (``g`` the gradient): an upper bound on
        ``objective - optimum``. The active-set solver certifies it is below
        ``tol * (s**2 + objective)``, ``s`` the root mean square of the centred data.
    solver : str
        The solver that produced the weights.
    iterations : int
        Its number of iterations.
    """

    weights: np.ndarray
    intercept: float
    objective: float
    optimality_gap: float
    solver: str
    iterations: int


def _check_donors_target(donors: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Finite 2-d donors (rows x donors, at least one column) and a matching 1-d target."""
    a = as_float_array(donors, "donors", ndim=2)
    if a.shape[1] < 1:
        raise ValueError("donors must have at least one column (one donor)")
    b = as_float_array(target, "target")
    if b.shape[0] != a.shape[0]:
        raise ValueError(
            f"target must have one value per row of donors: length mismatch, target has "
            f"{b.shape[0]}, donors has {a.shape[0]} rows"
        )
    return a, b


def fit_simplex_weights(
    donors: np.ndarray,
    target: np.ndarray,
    *,
    intercept: bool = False,
    ridge: float = 0.0,
    solver: str = "active-set",
    tol: float = 1e-10,
    start: np.ndarray | None = None,
    min_decrease: float | None = None,
    max_iter: int = 10_000,
) -> SimplexWeights:
    """Weights ``w >= 0`` with ``sum(w) = 1`` minimising ``||A w + c - b||^2 + ridge ||w||^2``.

    ``A`` holds one donor per column (rows are periods, or predictors), ``b`` is the
    target, and ``c`` an optional free intercept (with ``intercept=True`` both sides are
    demeaned over the rows first, as in Doudchenko & Imbens 2016 and Arkhangelsky et al.
    2021; ``c = mean(b) - mean(A) w``).

    The problem is centred (without an intercept, the target's mean is subtracted from
    donors and target, which leaves ``A w - b`` unchanged for weights summing to one)
    and divided by its root mean square ``s`` before any solver runs, so every tolerance
    is relative to the data: multiplying ``A`` and ``b`` by ``c > 0`` (and ``ridge`` by
    ``c**2``) leaves the weights unchanged and multiplies the objective by ``c**2``;
    adding a constant to both leaves everything unchanged.

    Parameters
    ----------
    donors : array of shape (m, J)
    target : array of shape (m,)
    intercept : bool
        Fit a free level shift (the "demeaned" synthetic control).
    ridge : float
        Non-negative ridge penalty on ``||w||^2`` (synthdid's ``m * zeta^2``).
    solver : {"active-set", "slsqp", "frank-wolfe"}
        ``"active-set"`` (default): the exact solution by a primal active-set method
        for this quadratic programme (solve the equality-constrained least-squares
        problem on the support by an orthogonal decomposition of the design; drop a
        weight that would turn negative; add the donor with the smallest gradient),
        warm-started from a non-negative least-squares fit (:func:`scipy.optimize.nnls`)
        of the system augmented with a heavily weighted row ``M 1'w = M``, and stopped
        when the Frank-Wolfe duality gap, an upper bound on ``objective - optimum``, is
        below ``tol * (s**2 + objective)``. ``"slsqp"``:
        :func:`scipy.optimize.minimize` with SLSQP (``ftol=tol``), an independent
        reference. ``"frank-wolfe"``: the iterations of the R package synthdid
        (``sc.weight.fw`` with exact line search), stopped when the objective / m
        decreases by less than ``min_decrease**2``; use it to replicate synthdid.
    tol : float
        Positive relative optimality tolerance (default ``1e-10``).
    start : array, optional
        Starting weights for Frank-Wolfe (default uniform): ``J`` non-negative numbers,
        rescaled to sum to one.
    min_decrease : float, optional
        Positive Frank-Wolfe stopping threshold, default ``1e-5 * sd(target)`` (or
        ``1e-5 * s`` for a constant target).
    max_iter : int
        Iteration cap for Frank-Wolfe and SLSQP (the active-set method, which
        terminates finitely, is capped at ``max(max_iter, 1000)``).

    Returns
    -------
    SimplexWeights

    Raises
    ------
    ValueError
        If ``donors`` is not a finite 2-d array with at least one row and column,
        ``target`` not a finite 1-d array with one value per row, ``ridge`` negative,
        ``tol`` or ``min_decrease`` not positive, ``max_iter`` not a positive integer,
        ``start`` not ``J`` non-negative numbers with a positive sum, ``intercept`` not a
        boolean, or ``solver`` unknown.

    Warns
    -----
    PlaybookWarning
        If the solver stops at its iteration limit before converging.

    References
    ----------
    Abadie, Diamond & Hainmueller (2010); Nocedal & Wright (2006), *Numerical
    Optimization*, ch. 16 (active-set methods); Arkhangelsky et al. (2021) and the
    synthdid R package for Frank-Wolfe.
    """
    a, b = _check_donors_target(donors, target)
    intercept = check_flag(intercept, "intercept")
    ridge = check_positive(ridge, "ridge", strict=False)
    check_choice(solver, "solver", SOLVERS)
    tol = check_positive(tol, "tol")
    max_iter = check_integer(max_iter, "max_iter", minimum=1)
    if min_decrease is not None:
        min_decrease = check_positive(min_decrease, "min_decrease")
    if start is not None:
        start = as_float_array(start, "start")
        if start.shape != (a.shape[1],) or (start < 0).any() or start.sum() <= 0:
            raise ValueError(
                f"start must be {a.shape[1]} non-negative weights with a positive sum, "
                f"got shape {start.shape}"
            )
        start = start / start.sum()
    solution = simplex_fit(
        a,
        b,
        intercept=intercept,
        ridge=ridge,
        solver=solver,
        tol=tol,
        start=start,
        min_decrease=min_decrease,
        max_iter=max_iter,
    )
    return SimplexWeights(
        solution.weights,
        solution.intercept,
        solution.objective,
        solution.optimality_gap,
        solver,
        solution.iterations,
    )


def compute_least_squares_weights(donors: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Ordinary (minimum-norm) least-squares weights, for the pitfall demonstration only.

    With at least as many donors as pre-periods the fit is exact and the weights are
    unconstrained in sign and sum, so they interpolate the noise. Do not use this to
    estimate effects; use :func:`fit_simplex_weights`.

    Parameters
    ----------
    donors : array of shape (m, J)
        One donor per column.
    target : array of shape (m,)
        The series to reproduce.

    Returns
    -------
    numpy.ndarray
        The ``J`` weights of ``numpy.linalg.lstsq`` (any sign, any sum).

    Raises
    ------
    ValueError
        If ``donors`` is not a finite 2-d array with at least one row and column, or
        ``target`` not a finite 1-d array with one value per row.
    """
    a, b = _check_donors_target(donors, target)
    return np.linalg.lstsq(a, b, rcond=None)[0]
