"""Synthetic control, synthetic difference-in-differences and geo-lift design.

When one or a few units (markets, states) are treated, a weighted combination of untreated
"donor" units serves as the counterfactual. This module provides

- :func:`fit_simplex_weights`: weights on the simplex (non-negative, summing to one) that
  best reproduce a target series, with an optional intercept and ridge penalty, solved
  exactly by an active-set method (or SLSQP, or synthdid's Frank-Wolfe iterations);
- :func:`estimate_synthetic_control`: classic synthetic control (Abadie, Diamond &
  Hainmueller 2010) for one or several treated units, with optional predictor matching,
  and placebo-in-space inference (post/pre RMSPE ratio, exact permutation p-value);
- :func:`run_placebo_in_space`, :func:`run_placebo_in_time`, :func:`run_leave_one_out`;
- :func:`estimate_synthetic_did`, :func:`estimate_panel_did` and
  :func:`estimate_synthdid_sc`: synthetic difference-in-differences (Arkhangelsky et al.
  2021), plain DiD and synthdid's synthetic control, with placebo standard errors,
  following the reference R package ``synthdid``;
- :func:`run_synthetic_control_on_matrix`, :func:`run_synthetic_did_on_matrix` and
  :func:`estimate_synthetic_did_on_matrix`: the same on a units-by-times array, for
  Monte Carlo simulations;
- :func:`simulate_geo_lift_power` and :func:`choose_geo_lift_markets`: design of a
  geo-lift test by simulated power on historical data.

Every estimator accepts a tidy long panel (``unit``, ``time``, ``outcome`` columns) plus
either a 0/1 ``treatment`` column or ``treated_units`` with ``treatment_start``, and
reshapes it to a units-by-times matrix internally.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    PlaybookWarning,
    as_float_array,
    check_alpha,
    check_choice,
    check_flag,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
    column_as_float_array,
)

__all__ = [
    "Panel",
    "PlaceboResult",
    "SimplexWeights",
    "SyntheticControlFit",
    "choose_geo_lift_markets",
    "estimate_panel_did",
    "estimate_synthdid_sc",
    "estimate_synthetic_control",
    "estimate_synthetic_did",
    "estimate_synthetic_did_on_matrix",
    "fit_simplex_weights",
    "fit_synthetic_control",
    "prepare_panel",
    "run_leave_one_out",
    "run_placebo_in_space",
    "run_placebo_in_time",
    "run_synthetic_control_on_matrix",
    "run_synthetic_did_on_matrix",
    "simulate_geo_lift_power",
    "unconstrained_least_squares_weights",
]

SOLVERS = ("active-set", "slsqp", "frank-wolfe")


# ----------------------------------------------------------------------------- panel
@dataclass(frozen=True)
class Panel:
    """A balanced panel as a units-by-times matrix, controls first.

    Attributes
    ----------
    outcomes : numpy.ndarray
        Shape ``(n_units, n_times)``; rows ``0 .. n_controls - 1`` are the donors, the
        remaining rows the treated units.
    units : pandas.Index
        Unit labels in row order.
    times : pandas.Index
        Sorted time labels.
    n_controls : int
        Number of donor (control) units.
    n_pre : int
        Number of pre-treatment periods (columns ``0 .. n_pre - 1``).
    """

    outcomes: np.ndarray
    units: pd.Index
    times: pd.Index
    n_controls: int
    n_pre: int

    @property
    def n_treated(self) -> int:
        return self.outcomes.shape[0] - self.n_controls

    @property
    def n_post(self) -> int:
        return self.outcomes.shape[1] - self.n_pre

    @property
    def controls(self) -> np.ndarray:
        return self.outcomes[: self.n_controls]

    @property
    def treated(self) -> np.ndarray:
        return self.outcomes[self.n_controls:]

    @property
    def donor_units(self) -> pd.Index:
        return self.units[: self.n_controls]

    @property
    def treated_units(self) -> pd.Index:
        return self.units[self.n_controls:]


def _check_column_names(data: Any, **columns: Any) -> pd.DataFrame:
    """``data`` is a non-empty DataFrame holding each named column; messages name the
    argument (``unit: column 'state' is not in data``)."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if data.empty:
        raise ValueError("data is empty (no rows)")
    for name, column in columns.items():
        try:
            present = column in data.columns
        except TypeError:
            present = False
        if not present:
            raise ValueError(f"{name}: column {column!r} is not in data")
    for column in columns.values():
        others = [other for other, value in columns.items() if value == column]
        if len(others) > 1:
            raise ValueError(
                f"{' and '.join(others)}: column {column!r} is used for two roles"
            )
    return data


def _check_labels(data: pd.DataFrame, column: Hashable, name: str) -> None:
    """Unit or time labels: no missing or non-finite values, one sortable type."""
    series = data[column]
    missing = int(series.isna().sum())
    if missing:
        raise ValueError(f"data: {name} column {column!r} has {missing} missing value(s)")
    if series.dtype.kind in "fc" and not np.isfinite(series.to_numpy()).all():
        raise ValueError(f"data: {name} column {column!r} has infinite values")
    if series.dtype.kind == "O":
        kinds = {type(value) for value in series.to_numpy()}
        try:
            sorted(series.unique())
        except TypeError:
            raise ValueError(
                f"data: {name} column {column!r} mixes types that cannot be sorted "
                f"({sorted(kind.__name__ for kind in kinds)})"
            ) from None


def _wide_outcomes(
    data: Any, *, unit: Any, time: Any, outcome: Any,
) -> pd.DataFrame:
    """The shared panel check: a balanced units-by-times table of finite outcomes.

    Raises ``ValueError`` naming the argument or column for a non-DataFrame or empty
    ``data``, a missing column, missing or non-finite unit or time labels, missing, infinite
    or non-numeric outcomes, repeated (unit, time) rows and an unbalanced panel.
    """
    _check_column_names(data, unit=unit, time=time, outcome=outcome)
    _check_labels(data, unit, "unit")
    _check_labels(data, time, "time")
    series = data[outcome]
    if series.dtype.kind not in "biuf":
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if bad.any():
            raise ValueError(
                f"data: outcome column {outcome!r} must be numeric, got "
                f"{series[bad].iloc[0]!r}"
            )
        series = converted
    values = series.to_numpy(dtype=float, na_value=np.nan)
    missing = int(np.isnan(values).sum())
    if missing:
        raise ValueError(
            f"data: outcome column {outcome!r} contains {missing} NaN (missing) value(s)"
        )
    if np.isinf(values).any():
        raise ValueError(f"data: outcome column {outcome!r} has infinite values")
    if data.duplicated([unit, time]).any():
        raise ValueError(f"data: (unit, time) rows are not unique in ({unit!r}, {time!r})")
    frame = pd.DataFrame({"unit": data[unit].to_numpy(), "time": data[time].to_numpy(),
                          "value": values})
    wide = frame.pivot(index="unit", columns="time", values="value").sort_index(axis=1)
    wide = wide.sort_index(axis=0)
    if wide.isna().any().any():
        raise ValueError("data: the panel is unbalanced (some unit-time rows are missing)")
    wide.index.name, wide.columns.name = unit, time
    return wide


def _unit_list(values: Any, name: str) -> list[Hashable]:
    """A list of distinct unit labels from a non-string sequence."""
    if isinstance(values, str | bytes) or not isinstance(
        values, Sequence | np.ndarray | pd.Index | pd.Series
    ):
        raise ValueError(f"{name} must be a list of unit labels, got {values!r}")
    try:
        return list(dict.fromkeys(values))
    except TypeError:
        raise ValueError(f"{name} must hold hashable unit labels") from None


def _time_position(times: pd.Index, value: Any, name: str, column: Any) -> int:
    """Position of ``value`` among the sorted ``times``; ``value`` must be one of them.

    A value before the first time has no pre-period, one after the last no post-period.
    """
    try:
        found = not isinstance(value, bool) and value in set(times.tolist())
    except TypeError:
        found = False
    if found:
        return int(times.get_loc(value))
    try:
        before, after = bool(value < times[0]), bool(value > times[-1])
    except TypeError:
        before = after = False
    if before:
        raise ValueError(f"{name}: {value!r} is before the first time, so there is no "
                         "pre-treatment period")
    if after:
        raise ValueError(f"{name}: {value!r} is after the last time, so there is no "
                         "post-treatment period")
    raise ValueError(
        f"{name} must be a value of the {column!r} column (from {times[0]!r} to "
        f"{times[-1]!r}), got {value!r}"
    )


def prepare_panel(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treatment: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
) -> Panel:
    """Check a tidy panel and reshape it to a units-by-times matrix (controls first).

    Every panel estimator of this module (synthetic control, its placebos, synthetic
    DiD, DiD) builds its panel here, so they share these checks.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and time.
    unit, time, outcome : str
        Column names.
    treatment : str or None
        Name of a 0/1 column marking treated unit-periods; used when ``treated_units``
        is not given. All treated units must start at the same time and stay treated
        (a block design).
    treated_units : sequence, optional
        The treated units; requires ``treatment_start``.
    treatment_start : scalar, optional
        First treated time: a value of the ``time`` column.
    donors : sequence, optional
        Donor pool; defaults to every unit that is never treated.

    Returns
    -------
    Panel

    Raises
    ------
    ValueError
        If ``data`` is not a non-empty DataFrame, a column is missing, unit or time labels
        are missing, the outcome has NaN, infinite or non-numeric values, a (unit, time)
        pair repeats, the panel is unbalanced, the treatment column is not 0/1 or not a
        block design, ``treatment_start`` is not a time of the panel, a treated unit is
        among the donors, there is no pre- or no post-period, or fewer than two donors
        remain. The message names the argument or the column.
    """
    wide = _wide_outcomes(data, unit=unit, time=time, outcome=outcome)
    times = wide.columns
    if treated_units is None:
        if treatment is None:
            raise ValueError(
                "treated_units: give treated_units and treatment_start, or a treatment column"
            )
        _check_column_names(data, treatment=treatment)
        marks = column_as_float_array(data, treatment, "treatment")
        if not np.isin(marks, (0.0, 1.0)).all():
            raise ValueError(f"treatment: column {treatment!r} must hold 0/1 values")
        frame = pd.DataFrame({"unit": data[unit].to_numpy(), "time": data[time].to_numpy(),
                              "value": marks})
        indicator = frame.pivot(index="unit", columns="time", values="value")
        indicator = indicator.reindex(index=wide.index, columns=times)
        is_treated = indicator.to_numpy().astype(bool)
        treated_rows = is_treated.any(axis=1)
        if not treated_rows.any():
            raise ValueError(f"treatment: column {treatment!r} marks no treated unit-period")
        first = is_treated[treated_rows].argmax(axis=1)
        if np.unique(first).size > 1:
            raise ValueError("treatment: treated units start at different times (staggered)")
        start_index = int(first[0])
        block = np.zeros_like(is_treated)
        block[treated_rows, start_index:] = True
        if not np.array_equal(block, is_treated):
            raise ValueError("treatment: treated units must stay treated after the start")
        treated_list = list(wide.index[treated_rows])
    else:
        if treatment_start is None:
            raise ValueError("treatment_start: required when treated_units is given")
        treated_list = _unit_list(treated_units, "treated_units")
        missing = [u for u in treated_list if u not in wide.index]
        if missing or not treated_list:
            raise ValueError(f"treated_units: not found in the {unit!r} column: {missing}")
        start_index = _time_position(times, treatment_start, "treatment_start", time)
    if start_index < 1:
        raise ValueError("treatment_start: there is no pre-treatment period")
    if start_index >= len(times):
        raise ValueError("treatment_start: there is no post-treatment period")
    treated_set = set(treated_list)
    if donors is None:
        donor_list = [u for u in wide.index if u not in treated_set]
    else:
        donor_list = _unit_list(donors, "donors")
        overlap = [u for u in donor_list if u in treated_set]
        if overlap:
            raise ValueError(f"donors: treated unit(s) {overlap} are among the donors")
        missing = [u for u in donor_list if u not in wide.index]
        if missing:
            raise ValueError(f"donors: not found in the {unit!r} column: {missing}")
    if len(donor_list) < 2:
        raise ValueError(f"donors: need at least two donor units, got {len(donor_list)}")
    ordered = wide.loc[donor_list + treated_list]
    return Panel(
        outcomes=ordered.to_numpy(dtype=float),
        units=pd.Index(ordered.index),
        times=pd.Index(times),
        n_controls=len(donor_list),
        n_pre=start_index,
    )


# ------------------------------------------------------------------ simplex weights
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
    iterations : int
    """

    weights: np.ndarray
    intercept: float
    objective: float
    optimality_gap: float
    solver: str
    iterations: int


def _objective_and_gradient(
    gram: np.ndarray, cross: np.ndarray, const: float, w: np.ndarray
) -> tuple[float, np.ndarray]:
    # f(w) = w'G w - 2 c'w + const, gradient 2 (G w - c)
    gw = gram @ w
    return float(w @ gw - 2.0 * cross @ w + const), 2.0 * (gw - cross)


def _active_set_simplex(
    a: np.ndarray, b: np.ndarray, ridge: float, tol: float,
    start: np.ndarray | None = None, max_iter: int = 1000,
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
    gram: np.ndarray, cross: np.ndarray, const: float, start: np.ndarray,
    min_decrease: float, max_iter: int,
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


def _simplex_fit(
    a: np.ndarray, b: np.ndarray, *, intercept: bool = False, ridge: float = 0.0,
    solver: str = "active-set", tol: float = 1e-10, start: np.ndarray | None = None,
    min_decrease: float | None = None, max_iter: int = 10_000, warn: bool = True,
) -> SimplexWeights:
    """:func:`fit_simplex_weights` on checked input (``warn``: on non-convergence).

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
        centre = float(b.mean())
        a_c, b_c = a - centre, b - centre
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
                fun, np.full(n_donors, 1.0 / n_donors), jac=True, method="SLSQP",
                bounds=[(0.0, 1.0)] * n_donors,
                constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                              "jac": lambda w: np.ones_like(w)}],
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
            PlaybookWarning, stacklevel=3,
        )
    shift = float(b_mean - a_mean @ w) if intercept else 0.0
    return SimplexWeights(w, shift, value, gap, solver, iterations)


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
    return _simplex_fit(a, b, intercept=intercept, ridge=ridge, solver=solver, tol=tol,
                        start=start, min_decrease=min_decrease, max_iter=max_iter)


def unconstrained_least_squares_weights(
    donors: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Ordinary (minimum-norm) least-squares weights, for the pitfall demonstration only.

    With at least as many donors as pre-periods the fit is exact and the weights are
    unconstrained in sign and sum, so they interpolate the noise. Do not use this to
    estimate effects; use :func:`fit_simplex_weights`.

    Raises
    ------
    ValueError
        If ``donors`` is not a finite 2-d array with at least one row and column, or
        ``target`` not a finite 1-d array with one value per row.
    """
    a, b = _check_donors_target(donors, target)
    return np.linalg.lstsq(a, b, rcond=None)[0]


# --------------------------------------------------------------- synthetic control
@dataclass(frozen=True)
class SyntheticControlFit:
    """Per-treated-unit synthetic-control fits.

    Attributes
    ----------
    weights : pandas.DataFrame
        Donor weights, one column per treated unit, indexed by donor.
    intercepts : pandas.Series
        Level shift per treated unit (zero without an intercept).
    synthetic : pandas.DataFrame
        Synthetic series, index times, one column per treated unit.
    gaps : pandas.DataFrame
        Treated minus synthetic, same shape.
    n_pre : int
    predictor_weights : pandas.Series or None
        The diagonal ``V`` when predictors were matched.
    """

    weights: pd.DataFrame
    intercepts: pd.Series
    synthetic: pd.DataFrame
    gaps: pd.DataFrame
    n_pre: int
    predictor_weights: pd.Series | None = None

    @property
    def effects(self) -> pd.Series:
        """Mean post-period gap per treated unit."""
        return self.gaps.iloc[self.n_pre:].mean()

    @property
    def rmspe_pre(self) -> pd.Series:
        return np.sqrt((self.gaps.iloc[: self.n_pre] ** 2).mean())

    @property
    def rmspe_post(self) -> pd.Series:
        return np.sqrt((self.gaps.iloc[self.n_pre:] ** 2).mean())


def _fit_matrix(
    controls: np.ndarray, treated: np.ndarray, n_pre: int, *, intercept: bool,
    ridge: float, solver: str, tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit each treated row on the donors' pre-period: weights (J, N1), shifts, synthetic."""
    donors_pre = controls[:, :n_pre].T
    weights = np.empty((controls.shape[0], treated.shape[0]))
    shifts = np.empty(treated.shape[0])
    for k, row in enumerate(treated):
        fit = _simplex_fit(donors_pre, row[:n_pre], intercept=intercept, ridge=ridge,
                           solver=solver, tol=tol)
        weights[:, k], shifts[k] = fit.weights, fit.intercept
    synthetic = weights.T @ controls + shifts[:, None]
    return weights, shifts, synthetic


def _predictor_matrix(
    data: pd.DataFrame, panel: Panel, unit: str, time: str, outcome: str,
    predictors: Sequence[str], predictor_times: Sequence[Any],
) -> pd.DataFrame:
    """Predictors (rows) by unit (columns): pre-period means of columns, outcomes at times."""
    pre_times = panel.times[: panel.n_pre]
    rows = {}
    if predictors:
        pre = data[data[time].isin(pre_times)]
        for column in predictors:
            column_as_float_array(pre, column, "data")  # numeric and finite
        means = pre.groupby(unit)[list(predictors)].mean()
        for column in predictors:
            rows[column] = means[column]
    if predictor_times:
        wide = data.pivot(index=unit, columns=time, values=outcome)
        pre_set = set(pre_times.tolist())
        for t in predictor_times:
            try:
                is_pre = not isinstance(t, bool) and t in pre_set
            except TypeError:
                is_pre = False
            if not is_pre:
                raise ValueError(f"predictor_times: {t!r} is not a pre-treatment time")
            rows[f"{outcome}@{t}"] = wide[t]
    table = pd.DataFrame(rows).T.reindex(columns=panel.units).astype(float)
    if table.isna().any().any():
        raise ValueError("predictors: NaN in the pre-period predictors")
    return table


def _check_predictor_options(
    data: pd.DataFrame, predictors: Any, predictor_times: Any, predictor_weights: Any,
) -> tuple[list[Any], list[Any], str | np.ndarray]:
    """Predictor columns present in ``data``, a list of times, and ``"optimize"``,
    ``"equal"`` or finite numbers for ``predictor_weights``."""
    lists = []
    for name, value in (("predictors", predictors), ("predictor_times", predictor_times)):
        if value is None:
            lists.append([])
            continue
        if isinstance(value, str | bytes) or not isinstance(
            value, Sequence | np.ndarray | pd.Index | pd.Series
        ):
            raise ValueError(f"{name} must be a list, got {value!r}")
        lists.append(list(value))
    for column in lists[0]:
        _check_column_names(data, predictors=column)
    if isinstance(predictor_weights, str):
        check_choice(predictor_weights, "predictor_weights", ("optimize", "equal"))
        weights: str | np.ndarray = predictor_weights
    else:
        weights = as_float_array(predictor_weights, "predictor_weights")
    return lists[0], lists[1], weights


def fit_synthetic_control(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treatment: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
    intercept: bool = False,
    predictors: Sequence[str] | None = None,
    predictor_times: Sequence[Any] | None = None,
    predictor_weights: str | Sequence[float] = "optimize",
    solver: str = "active-set",
    tol: float = 1e-10,
) -> SyntheticControlFit:
    """Fit synthetic-control weights for each treated unit (no inference).

    Without predictors, each treated unit's weights minimise the pre-period squared gap
    ``sum_t (Y_1t - c - sum_j w_j Y_jt)^2`` over the simplex (``c = 0`` unless
    ``intercept``). With ``predictors`` (columns averaged over the pre-period) and/or
    ``predictor_times`` (pre-period outcome values), the weights instead minimise
    ``(X_1 - X_0 w)' V (X_1 - X_0 w)`` with standardised predictors (Abadie, Diamond &
    Hainmueller 2010); ``predictor_weights="optimize"`` chooses the diagonal ``V`` (on the
    simplex) that minimises the pre-period outcome MSPE (their nested optimisation, by
    Nelder-Mead over a softmax parametrisation), ``"equal"`` uses ``V = I/K``, or pass
    the ``K`` weights.

    See :func:`prepare_panel` for the panel arguments and :func:`fit_simplex_weights` for
    ``solver`` and ``tol``.

    Returns
    -------
    SyntheticControlFit

    Raises
    ------
    ValueError
        On bad panels (see :func:`prepare_panel`) or bad predictor settings: a predictor
        column missing or not finite in the pre-period, a predictor time outside the
        pre-period, ``predictor_weights`` not ``"optimize"``, ``"equal"`` or one
        non-negative number per predictor; or a non-boolean ``intercept``, an unknown
        ``solver``, a non-positive ``tol``.
    """
    panel = prepare_panel(data, unit=unit, time=time, outcome=outcome, treatment=treatment,
                          treated_units=treated_units, treatment_start=treatment_start,
                          donors=donors)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    tol = check_positive(tol, "tol")
    predictors, predictor_times, predictor_weights = _check_predictor_options(
        data, predictors, predictor_times, predictor_weights)
    return _fit_panel(panel, data=data, unit=unit, time=time, outcome=outcome,
                      intercept=intercept, predictors=predictors,
                      predictor_times=predictor_times, predictor_weights=predictor_weights,
                      solver=solver, tol=tol)


def _fit_panel(
    panel: Panel, *, data: pd.DataFrame | None = None, unit: str = "unit",
    time: str = "time", outcome: str = "outcome", intercept: bool = False,
    predictors: Sequence[str] | None = None, predictor_times: Sequence[Any] | None = None,
    predictor_weights: str | Sequence[float] = "optimize", solver: str = "active-set",
    tol: float = 1e-10,
) -> SyntheticControlFit:
    controls, treated, n_pre = panel.controls, panel.treated, panel.n_pre
    v_series = None
    if predictors or predictor_times:
        if data is None:
            raise ValueError("data: needed to build predictors")
        table = _predictor_matrix(data, panel, unit, time, outcome,
                                  list(predictors or []), list(predictor_times or []))
        x = table.to_numpy()
        sd = x.std(axis=1, ddof=1)
        sd[sd == 0] = 1.0
        x = x / sd[:, None]
        x0, x1 = x[:, : panel.n_controls], x[:, panel.n_controls:]
        n_pred = x.shape[0]

        def weights_for(v: np.ndarray) -> np.ndarray:
            root = np.sqrt(v)[:, None]
            out = np.empty((panel.n_controls, panel.n_treated))
            for k in range(panel.n_treated):
                out[:, k] = _simplex_fit(root * x0, root[:, 0] * x1[:, k],
                                         solver=solver, tol=tol).weights
            return out

        def pre_mspe(v: np.ndarray) -> float:
            w = weights_for(v)
            return float(((treated[:, :n_pre] - w.T @ controls[:, :n_pre]) ** 2).mean())

        if isinstance(predictor_weights, str):
            check_choice(predictor_weights, "predictor_weights", ("optimize", "equal"))
            v = np.full(n_pred, 1.0 / n_pred)
            if predictor_weights == "optimize" and n_pred > 1:
                def softmax(z: np.ndarray) -> np.ndarray:
                    e = np.exp(np.concatenate([[0.0], z]) - max(0.0, z.max()))
                    return e / e.sum()

                best = optimize.minimize(
                    lambda z: pre_mspe(softmax(z)), np.zeros(n_pred - 1),
                    method="Nelder-Mead",
                    options={"xatol": 1e-3, "fatol": 1e-8, "maxiter": 200 * n_pred},
                )
                v = softmax(best.x)
        else:
            v = as_float_array(predictor_weights, "predictor_weights")
            if v.shape != (n_pred,) or (v < 0).any() or v.sum() <= 0:
                raise ValueError(
                    f"predictor_weights must be {n_pred} non-negative numbers, got {v}"
                )
            v = v / v.sum()
        weights = weights_for(v)
        shifts = np.zeros(panel.n_treated)
        synthetic = weights.T @ controls
        v_series = pd.Series(v, index=table.index, name="predictor_weight")
    else:
        weights, shifts, synthetic = _fit_matrix(
            controls, treated, n_pre, intercept=intercept, ridge=0.0, solver=solver, tol=tol
        )
    names = panel.treated_units
    return SyntheticControlFit(
        weights=pd.DataFrame(weights, index=panel.donor_units, columns=names),
        intercepts=pd.Series(shifts, index=names, name="intercept"),
        synthetic=pd.DataFrame(synthetic.T, index=panel.times, columns=names),
        gaps=pd.DataFrame((treated - synthetic).T, index=panel.times, columns=names),
        n_pre=n_pre,
        predictor_weights=v_series,
    )


# ---------------------------------------------------------------------- placebos
@dataclass(frozen=True)
class PlaceboResult:
    """Placebo-in-space results.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per unit (treated units first, then every donor as a placebo):
        ``effect`` (mean post gap), ``rmspe_pre``, ``rmspe_post``, ``rmspe_ratio``,
        ``treated`` (bool) and ``rank`` of the ratio (1 = largest).
    gaps : pandas.DataFrame
        Gap series, index times, one column per unit.
    p_value : float
        Permutation p-value of the post/pre RMSPE ratio statistic. With one treated unit
        it is exactly ``rank / (n_donors + 1)``; with several, the statistic is the mean
        ratio of the treated units, compared with the mean ratio of every (or
        ``n_draws`` random) equally sized set of placebo units, counting the observed set.
    effect_p_value : float
        The same permutation p-value for the absolute mean post-period effect.
    n_pre : int
    """

    summary: pd.DataFrame
    gaps: pd.DataFrame
    p_value: float
    effect_p_value: float
    n_pre: int


def _gaps_all_units(
    panel: Panel, *, intercept: bool, solver: str, tol: float,
    placebo_pool: str = "all",
) -> np.ndarray:
    """Gap matrix (units x times): treated units fitted on the donors, then each donor.

    With ``placebo_pool="all"`` each donor is fitted on every other unit, the treated
    ones included (with one treated unit, every unit is fitted on its ``N - 1`` others,
    which makes the permutation test exact under the sharp null); with ``"donors"``
    only on the other donors.
    """
    y, n0, n_pre = panel.outcomes, panel.n_controls, panel.n_pre
    n_units = y.shape[0]
    gaps = np.empty_like(y)
    index = np.arange(n_units)
    for i in range(n_units):
        if i >= n0 or placebo_pool == "donors":
            pool = index[(index < n0) & (index != i)]
        else:
            pool = index[index != i]
        _, _, synthetic = _fit_matrix(y[pool], y[i:i + 1], n_pre, intercept=intercept,
                                      ridge=0.0, solver=solver, tol=tol)
        gaps[i] = y[i] - synthetic[0]
    # rows: treated first, then donors
    return np.vstack([gaps[n0:], gaps[:n0]])


def _subset_means(values: np.ndarray, size: int, n_draws: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Means of every size-``size`` subset (if few) or of ``n_draws`` random subsets."""
    n = values.shape[0]
    if size == 1:
        return values.copy()
    if math.comb(n, size) <= n_draws:
        combos = np.array(list(itertools.combinations(range(n), size)))
        return values[combos].mean(axis=1)
    order = np.argsort(rng.random((n_draws, n)), axis=1)[:, :size]
    return values[order].mean(axis=1)


def _placebo_statistics(
    gaps: np.ndarray, n_pre: int, n_treated: int, n_draws: int, rng: np.random.Generator
) -> dict[str, Any]:
    """RMSPEs, ratios, effects and permutation p-values from a gap matrix (treated first)."""
    rmspe_pre = np.sqrt((gaps[:, :n_pre] ** 2).mean(axis=1))
    rmspe_post = np.sqrt((gaps[:, n_pre:] ** 2).mean(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rmspe_pre > 0, rmspe_post / rmspe_pre, np.inf)
    effect = gaps[:, n_pre:].mean(axis=1)
    observed_ratio = ratio[:n_treated].mean()
    observed_effect = abs(effect[:n_treated].mean())
    null_ratio = _subset_means(ratio[n_treated:], n_treated, n_draws, rng)
    null_effect = np.abs(_subset_means(effect[n_treated:], n_treated, n_draws, rng))
    return {
        "rmspe_pre": rmspe_pre, "rmspe_post": rmspe_post, "ratio": ratio, "effect": effect,
        "p_value": float((1 + np.sum(null_ratio >= observed_ratio)) / (1 + null_ratio.size)),
        "effect_p_value": float(
            (1 + np.sum(null_effect >= observed_effect)) / (1 + null_effect.size)
        ),
    }


def _placebo_from_gaps(
    gaps: np.ndarray, panel: Panel, n_draws: int, rng: np.random.Generator
) -> PlaceboResult:
    n_pre, n_treated = panel.n_pre, panel.n_treated
    computed = _placebo_statistics(gaps, n_pre, n_treated, n_draws, rng)
    rmspe_pre, rmspe_post = computed["rmspe_pre"], computed["rmspe_post"]
    ratio, effect = computed["ratio"], computed["effect"]
    p_value, effect_p = computed["p_value"], computed["effect_p_value"]
    # gaps rows are: treated units first, then donors
    names = list(panel.treated_units) + list(panel.donor_units)
    rank = stats.rankdata(-ratio, method="max").astype(int)
    summary = pd.DataFrame({
        "effect": effect, "rmspe_pre": rmspe_pre, "rmspe_post": rmspe_post,
        "rmspe_ratio": ratio, "treated": np.arange(len(names)) < n_treated, "rank": rank,
    }, index=pd.Index(names, name="unit"))
    return PlaceboResult(
        summary=summary,
        gaps=pd.DataFrame(gaps.T, index=panel.times, columns=names),
        p_value=float(p_value), effect_p_value=float(effect_p), n_pre=n_pre,
    )


def run_placebo_in_space(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treatment: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
    intercept: bool = False,
    solver: str = "active-set",
    n_draws: int = 10_000,
    placebo_pool: str = "all",
    rng: np.random.Generator | int | None = None,
) -> PlaceboResult:
    """Placebo-in-space permutation test (Abadie, Diamond & Hainmueller 2010, sec. 4).

    Each donor in turn is analysed as if it were treated (its pool is set by
    ``placebo_pool``), and the ratio of post- to pre-period RMSPE is computed for every
    unit. With one treated unit and ``placebo_pool="all"``, every unit's ratio comes from
    the same fit on the ``N - 1`` other units, so the vector of ratios does not depend on
    which unit is labelled treated. Under the sharp null of no effect and a treated unit
    that is equally likely to be any of the ``N = J + 1`` units (exchangeability), its
    ratio is then equally likely to take any rank, and ``p = rank / (J + 1)`` (rank 1 =
    largest ratio, ties counted against the treated unit) is an exact p-value:
    ``P(p <= alpha) <= alpha``, with equality when ``alpha (J + 1)`` is an integer.
    With several treated units the test (mean ratio of the treated units against equally
    sized sets of donors) is an approximation: the treated units are fitted on the
    donors only, the placebos on all other units.

    Parameters
    ----------
    data, unit, time, outcome, treatment, treated_units, treatment_start, donors
        The panel, see :func:`prepare_panel`.
    intercept, solver
        Weight-fitting options, see :func:`fit_simplex_weights`.
    n_draws : int
        With several treated units and more than ``n_draws`` equally sized placebo sets,
        the number of random sets drawn.
    placebo_pool : {"all", "donors"}
        Donor pool of each placebo fit. ``"all"`` (default): every other unit, the
        treated ones included, so every unit, treated or placebo, is fitted on ``N - 1``
        others and the test is exact under the sharp null of no effect (Firpo &
        Possebom 2018); the price is some power, as an effect leaks into the placebo
        counterfactuals that use a treated unit. ``"donors"``: the other donors only;
        the treated unit then has one more donor than any placebo, so the ratios depend
        on the labelling and exactness is only approximate.
    rng : numpy.random.Generator, int or None
        Only used for random placebo sets.

    Returns
    -------
    PlaceboResult

    Raises
    ------
    ValueError
        On a bad panel (see :func:`prepare_panel`), a non-boolean ``intercept``, an
        unknown ``solver`` or ``placebo_pool``, ``n_draws`` not a positive integer, or an
        ``rng`` that is not a Generator, a non-negative integer or None.
    """
    panel = prepare_panel(data, unit=unit, time=time, outcome=outcome, treatment=treatment,
                          treated_units=treated_units, treatment_start=treatment_start,
                          donors=donors)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    n_draws = check_integer(n_draws, "n_draws", minimum=1)
    rng = check_rng(rng)
    check_choice(placebo_pool, "placebo_pool", ("all", "donors"))
    gaps = _gaps_all_units(panel, intercept=intercept, solver=solver, tol=1e-10,
                           placebo_pool=placebo_pool)
    return _placebo_from_gaps(gaps, panel, n_draws, rng)


def estimate_synthetic_control(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treatment: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
    intercept: bool = False,
    predictors: Sequence[str] | None = None,
    predictor_times: Sequence[Any] | None = None,
    predictor_weights: str | Sequence[float] = "optimize",
    alpha: float = 0.05,
    solver: str = "active-set",
    n_draws: int = 10_000,
    placebo_pool: str = "all",
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Synthetic-control effect on the treated with placebo-in-space inference.

    The estimate is the mean post-period gap between the treated unit(s) and their
    synthetic controls, averaged over treated units (Abadie, Diamond & Hainmueller 2010;
    several treated units are fitted one by one and averaged, as in Abadie 2021, sec. 8).

    Inference comes from the placebo-in-space distribution (:func:`run_placebo_in_space`):
    ``p_value`` is the permutation p-value of the post/pre RMSPE ratio
    (``rank / (J + 1)`` with one treated unit, exact with the default
    ``placebo_pool="all"``); ``se`` is the standard deviation of the placebo effects
    (means over equally sized placebo sets), the analogue of synthdid's placebo standard
    error (Arkhangelsky et al. 2021, Algorithm 4); the interval is ``estimate -/+ t se``
    with the Student-t quantile on ``J - 1`` degrees of freedom (the standard error is
    estimated from only ``J`` placebos; Arkhangelsky et al. use the normal quantile).
    This interval is approximate (see :func:`estimate_synthetic_did`). The placebo
    effects and ratios use the outcome-only fit even when predictors are matched; the
    treated unit's fit then differs from its placebos', and the p-value is not exact.

    Parameters
    ----------
    data, unit, time, outcome, treatment, treated_units, treatment_start, donors
        The panel, see :func:`prepare_panel`.
    intercept, predictors, predictor_times, predictor_weights, solver
        See :func:`fit_synthetic_control`.
    alpha : float
        One minus the interval's coverage.
    n_draws, placebo_pool, rng
        Placebo settings, see :func:`run_placebo_in_space`.

    Returns
    -------
    Estimate
        ``method="synthetic control"``, the average effect per treated unit and period.
        ``details``: ``relative`` (an :class:`Estimate` of the relative lift, the effect
        over the synthetic post-period level ``counterfactual_level``, treated as fixed),
        ``weights`` (DataFrame), ``intercepts``, ``synthetic`` and ``gaps``
        (DataFrames), ``effects`` per treated unit, ``total_effect`` (sum of the gaps
        over treated units and post periods: the incremental KPI) and its ``total_se``,
        ``rmspe_pre``, ``rmspe_post``, ``rmspe_ratio``, ``effect_p_value``,
        ``placebo`` (:class:`PlaceboResult`), ``n_donors``, ``n_pre``, ``n_post``,
        ``n_treated``, ``predictor_weights``.

    Raises
    ------
    ValueError
        On a bad panel (see :func:`prepare_panel`) or settings (see
        :func:`fit_synthetic_control` and :func:`run_placebo_in_space`), or an ``alpha``
        outside (0, 1).
    """
    alpha = check_alpha(alpha)
    panel = prepare_panel(data, unit=unit, time=time, outcome=outcome, treatment=treatment,
                          treated_units=treated_units, treatment_start=treatment_start,
                          donors=donors)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    n_draws = check_integer(n_draws, "n_draws", minimum=1)
    check_choice(placebo_pool, "placebo_pool", ("all", "donors"))
    rng = check_rng(rng)
    predictors, predictor_times, predictor_weights = _check_predictor_options(
        data, predictors, predictor_times, predictor_weights)
    fit = _fit_panel(panel, data=data, unit=unit, time=time, outcome=outcome,
                     intercept=intercept, predictors=predictors,
                     predictor_times=predictor_times, predictor_weights=predictor_weights,
                     solver=solver)
    check_choice(placebo_pool, "placebo_pool", ("all", "donors"))
    gaps = _gaps_all_units(panel, intercept=intercept, solver=solver, tol=1e-10,
                           placebo_pool=placebo_pool)
    gaps[: panel.n_treated] = fit.gaps.to_numpy().T
    placebo = _placebo_from_gaps(gaps, panel, n_draws, rng)
    effects = fit.effects
    estimate = float(effects.mean())
    placebo_effects = placebo.summary["effect"].to_numpy()[panel.n_treated:]
    null = _subset_means(placebo_effects, panel.n_treated, n_draws, rng)
    se = float(np.sqrt(np.mean((null - null.mean()) ** 2)))
    df = panel.n_controls - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    scale_total = panel.n_treated * panel.n_post
    ratio = fit.rmspe_post / fit.rmspe_pre
    absolute = Estimate(
        "synthetic control", estimate, se, estimate - critical * se,
        estimate + critical * se, alpha, p_value=placebo.p_value, df=df,
    )
    counterfactual_level = float(fit.synthetic.iloc[panel.n_pre:].to_numpy().mean())
    relative = (absolute.scaled(1.0 / counterfactual_level,
                                method="synthetic control relative lift")
                if counterfactual_level != 0 else None)
    return Estimate(
        "synthetic control", estimate, se, estimate - critical * se,
        estimate + critical * se, alpha, p_value=placebo.p_value, df=df,
        details={
            "relative": relative, "counterfactual_level": counterfactual_level,
            "weights": fit.weights, "intercepts": fit.intercepts,
            "synthetic": fit.synthetic, "gaps": fit.gaps, "effects": effects,
            "total_effect": estimate * scale_total, "total_se": se * scale_total,
            "rmspe_pre": float(fit.rmspe_pre.mean()),
            "rmspe_post": float(fit.rmspe_post.mean()),
            "rmspe_ratio": float(ratio.mean()),
            "effect_p_value": placebo.effect_p_value, "placebo": placebo,
            "n_donors": panel.n_controls, "n_pre": panel.n_pre, "n_post": panel.n_post,
            "n_treated": panel.n_treated, "predictor_weights": fit.predictor_weights,
        },
    )


def run_placebo_in_time(
    data: pd.DataFrame,
    placebo_start: Any,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treatment: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
    intercept: bool = False,
    alpha: float = 0.05,
    solver: str = "active-set",
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Placebo in time: pretend treatment began at ``placebo_start``, using pre-period data only.

    The real post-period is dropped; the synthetic control is refitted on the periods
    before ``placebo_start`` and its "effect" over ``[placebo_start, treatment start)`` is
    estimated with the same placebo-in-space inference. A large placebo effect warns that
    the pre-period fit does not predict well out of sample (Abadie 2021, sec. 7).
    ``rng`` draws the placebo sets when several units are treated and there are more
    than 10,000 equally sized sets (see :func:`run_placebo_in_space`).

    Returns
    -------
    Estimate
        As :func:`estimate_synthetic_control`, ``method="placebo in time"``.

    Raises
    ------
    ValueError
        If ``placebo_start`` is not a pre-period time after the first, on a bad panel
        (see :func:`prepare_panel`), or on bad settings (see
        :func:`estimate_synthetic_control`).
    """
    panel = prepare_panel(data, unit=unit, time=time, outcome=outcome, treatment=treatment,
                          treated_units=treated_units, treatment_start=treatment_start,
                          donors=donors)
    alpha = check_alpha(alpha)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    rng = check_rng(rng)
    pre_times = panel.times[: panel.n_pre]
    try:
        inside = not isinstance(placebo_start, bool) and placebo_start in set(
            pre_times[1:].tolist())
    except TypeError:
        inside = False
    if not inside:
        raise ValueError(
            f"placebo_start must be a pre-treatment time after the first, got {placebo_start!r}"
        )
    subset = data[data[time].isin(pre_times)]
    result = estimate_synthetic_control(
        subset, unit=unit, time=time, outcome=outcome, treatment=None,
        treated_units=list(panel.treated_units), treatment_start=placebo_start,
        donors=list(panel.donor_units), intercept=intercept, alpha=alpha, solver=solver,
        rng=rng,
    )
    details = dict(result.details)
    details["placebo_start"] = placebo_start
    return Estimate("placebo in time", result.estimate, result.se, result.ci_low,
                    result.ci_high, alpha, p_value=result.p_value, df=result.df,
                    details=details)


def run_leave_one_out(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treatment: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
    intercept: bool = False,
    min_weight: float = 1e-6,
    solver: str = "active-set",
) -> pd.DataFrame:
    """Refit the synthetic control leaving out, one at a time, each donor with weight.

    A robustness check (Abadie, Diamond & Hainmueller 2015; Abadie 2021): if the effect
    hinges on one donor, the result is fragile.

    Returns
    -------
    pandas.DataFrame
        One row per dropped donor (weight above ``min_weight`` for some treated unit):
        ``weight`` (its weight in the full fit, averaged over treated units),
        ``estimate`` (average post-period gap without it), ``rmspe_pre``; plus a first
        row ``"(none)"`` with the full fit. The attribute ``.attrs["synthetic"]`` holds
        each refit's average synthetic series (index times, one column per row).

    Raises
    ------
    ValueError
        On a bad panel (see :func:`prepare_panel`), a negative or non-finite
        ``min_weight``, a non-boolean ``intercept`` or an unknown ``solver``.
    """
    panel = prepare_panel(data, unit=unit, time=time, outcome=outcome, treatment=treatment,
                          treated_units=treated_units, treatment_start=treatment_start,
                          donors=donors)
    min_weight = check_positive(min_weight, "min_weight", strict=False)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    full = _fit_panel(panel, intercept=intercept, solver=solver)
    mean_weight = full.weights.mean(axis=1)
    rows = [{"dropped": "(none)", "weight": 0.0, "estimate": float(full.effects.mean()),
             "rmspe_pre": float(full.rmspe_pre.mean())}]
    series = {"(none)": full.synthetic.mean(axis=1)}
    keep_all = np.ones(panel.n_controls, dtype=bool)
    for j in np.flatnonzero((full.weights.to_numpy() > min_weight).any(axis=1)):
        keep = keep_all.copy()
        keep[j] = False
        if keep.sum() < 1:
            continue
        sub = Panel(np.vstack([panel.controls[keep], panel.treated]),
                    pd.Index(list(panel.donor_units[keep]) + list(panel.treated_units)),
                    panel.times, int(keep.sum()), panel.n_pre)
        refit = _fit_panel(sub, intercept=intercept, solver=solver)
        name = panel.donor_units[j]
        rows.append({"dropped": name, "weight": float(mean_weight.iloc[j]),
                     "estimate": float(refit.effects.mean()),
                     "rmspe_pre": float(refit.rmspe_pre.mean())})
        series[name] = refit.synthetic.mean(axis=1)
    table = pd.DataFrame(rows).set_index("dropped")
    table.attrs["synthetic"] = pd.DataFrame(series)
    return table


# ------------------------------------------------------------------ synthetic DiD
def _collapsed(y: np.ndarray, n_controls: int, n_pre: int) -> np.ndarray:
    """synthdid's collapsed form: controls x pre | control post means; treated averaged."""
    controls, treated = y[:n_controls], y[n_controls:]
    top = np.hstack([controls[:, :n_pre], controls[:, n_pre:].mean(axis=1, keepdims=True)])
    bottom = np.hstack([treated[:, :n_pre].mean(axis=0), [treated[:, n_pre:].mean()]])
    return np.vstack([top, bottom])


def _noise_level(y: np.ndarray, n_controls: int, n_pre: int) -> float:
    """sd of first differences of the controls' pre-period outcomes (synthdid default)."""
    diffs = np.diff(y[:n_controls, :n_pre], axis=1)
    return float(np.std(diffs, ddof=1)) if diffs.size > 1 else 0.0


def _sdid_weights(
    y: np.ndarray, n_controls: int, n_pre: int, *, zeta_omega: float, zeta_lambda: float,
    omega_intercept: bool, solver: str, noise: float, sparsify: bool,
) -> tuple[np.ndarray, np.ndarray]:
    yc = _collapsed(y, n_controls, n_pre)
    # synthdid's threshold 1e-5 sigma; a noiseless pre-period falls back to the
    # target's scale (fit_simplex_weights' default), never to an absolute number
    min_decrease = 1e-5 * noise if noise > 0 else None

    def solve(a: np.ndarray, b: np.ndarray, zeta: float, intercept: bool) -> np.ndarray:
        return _solve_sdid_weights(a, b, ridge=a.shape[0] * zeta**2, intercept=intercept,
                                   solver=solver, min_decrease=min_decrease,
                                   sparsify=sparsify)

    # time weights: rows = control units, columns = pre periods, target = post mean
    lam = solve(yc[:n_controls, :n_pre], yc[:n_controls, n_pre], zeta_lambda, True)
    # unit weights: rows = pre periods, columns = controls, target = treated pre mean
    omega = solve(yc[:n_controls, :n_pre].T, yc[n_controls, :n_pre], zeta_omega,
                  omega_intercept)
    return omega, lam


def _solve_sdid_weights(
    a: np.ndarray, b: np.ndarray, *, ridge: float, intercept: bool, solver: str,
    min_decrease: float | None, sparsify: bool,
) -> np.ndarray:
    """One synthdid weight problem: exact, or synthdid's two Frank-Wolfe passes."""
    if solver != "frank-wolfe":
        return _simplex_fit(a, b, intercept=intercept, ridge=ridge, solver=solver).weights
    # synthdid runs exactly 100 iterations first: reaching that cap is the design
    first = _simplex_fit(a, b, intercept=intercept, ridge=ridge, solver="frank-wolfe",
                         min_decrease=min_decrease, max_iter=100, warn=False).weights
    if sparsify:
        first = np.where(first <= first.max() / 4, 0.0, first)
        first /= first.sum()
    return _simplex_fit(a, b, intercept=intercept, ridge=ridge, solver="frank-wolfe",
                        start=first, min_decrease=min_decrease, max_iter=10_000).weights


def _did_value(y: np.ndarray, n_controls: int, n_pre: int, omega: np.ndarray,
               lam: np.ndarray) -> float:
    controls, treated = y[:n_controls], y[n_controls:]
    treated_post = treated[:, n_pre:].mean()
    treated_pre = treated[:, :n_pre].mean(axis=0) @ lam
    control_post = omega @ controls[:, n_pre:].mean(axis=1)
    control_pre = omega @ controls[:, :n_pre] @ lam
    return float((treated_post - treated_pre) - (control_post - control_pre))


def _sdid_point(y: np.ndarray, n_controls: int, n_pre: int, method: str, solver: str,
                sparsify: bool, zeta_omega: float | None = None) -> dict[str, Any]:
    """Point estimate and weights; ``zeta_*`` are ``None`` where a method has none."""
    n_treated = y.shape[0] - n_controls
    n_post = y.shape[1] - n_pre
    noise = _noise_level(y, n_controls, n_pre)
    z_omega: float | None
    z_lambda: float | None
    if method == "did":
        omega = np.full(n_controls, 1.0 / n_controls)
        lam = np.full(n_pre, 1.0 / n_pre)
        z_omega = z_lambda = None
    elif method == "sdid":
        z_omega = ((n_treated * n_post) ** 0.25 * noise if zeta_omega is None
                   else zeta_omega)
        z_lambda = 1e-6 * noise
        omega, lam = _sdid_weights(y, n_controls, n_pre, zeta_omega=z_omega,
                                   zeta_lambda=z_lambda, omega_intercept=True,
                                   solver=solver, noise=noise, sparsify=sparsify)
    else:  # synthdid's sc_estimate: no intercept, tiny ridge, no time weights
        z_omega = 1e-6 * noise if zeta_omega is None else zeta_omega
        z_lambda = None
        yc = _collapsed(y, n_controls, n_pre)
        a, b = yc[:n_controls, :n_pre].T, yc[n_controls, :n_pre]
        omega = _solve_sdid_weights(a, b, ridge=n_pre * z_omega**2, intercept=False,
                                    solver=solver,
                                    min_decrease=1e-5 * noise if noise > 0 else None,
                                    sparsify=sparsify)
        lam = np.zeros(n_pre)
    return {"estimate": _did_value(y, n_controls, n_pre, omega, lam), "omega": omega,
            "lambda": lam, "zeta_omega": z_omega, "zeta_lambda": z_lambda,
            "noise_level": noise}


def _check_placebo_controls(n0: int, n1: int) -> None:
    """Placebos relabel controls as treated: several treated units need more controls."""
    if n1 > 1 and n0 <= n1:
        raise ValueError(
            f"donors: placebo standard errors need more controls than treated units, got "
            f"{n0} controls and {n1} treated"
        )


def _placebo_replicates(
    y: np.ndarray, n0: int, t0: int, method: str, solver: str, sparsify: bool,
    zeta_omega: float | None, n_placebo: int, rng: np.random.Generator,
) -> np.ndarray:
    """synthdid's placebo replications (Arkhangelsky et al. 2021, Algorithm 4).

    Controls are relabelled: the last ``N_tr`` of a random permutation play the treated
    units and the estimator is rerun with the original ``zeta``. With one treated unit
    every control plays it once (the exact, deterministic version).
    """
    n1 = y.shape[0] - n0
    controls = y[:n0]
    zeta = None if method == "did" else zeta_omega
    if n1 == 1:
        index = np.arange(n0)
        return np.array([
            _sdid_point(np.vstack([controls[index != j], controls[j:j + 1]]), n0 - 1, t0,
                        method, solver, sparsify, zeta_omega=zeta)["estimate"]
            for j in range(n0)
        ])
    _check_placebo_controls(n0, n1)
    return np.array([
        _sdid_point(controls[rng.permutation(n0)], n0 - n1, t0, method, solver, sparsify,
                    zeta_omega=zeta)["estimate"]
        for _ in range(n_placebo)
    ])


def _panel_method(
    data: pd.DataFrame, method: str, name: str, *, unit: str, time: str, outcome: str,
    treatment: str | None, treated_units: Sequence[Hashable] | None, treatment_start: Any,
    donors: Sequence[Hashable] | None, alpha: float, solver: str, sparsify: bool,
    n_placebo: int, rng: np.random.Generator | int | None,
) -> Estimate:
    alpha = check_alpha(alpha)
    check_choice(solver, "solver", SOLVERS)
    sparsify = check_flag(sparsify, "sparsify")
    n_placebo = check_integer(n_placebo, "n_placebo", minimum=2)
    rng = check_rng(rng)
    panel = prepare_panel(data, unit=unit, time=time, outcome=outcome, treatment=treatment,
                          treated_units=treated_units, treatment_start=treatment_start,
                          donors=donors)
    y, n0, n1, t0 = panel.outcomes, panel.n_controls, panel.n_treated, panel.n_pre
    _check_placebo_controls(n0, n1)
    point = _sdid_point(y, n0, t0, method, solver, sparsify)
    replicates = _placebo_replicates(y, n0, t0, method, solver, sparsify,
                                     point["zeta_omega"], n_placebo, rng)
    se = float(np.sqrt(np.mean((replicates - replicates.mean()) ** 2)))
    estimate = point["estimate"]
    # a zero placebo SE (every placebo estimate equal) gives the se -> 0 limit: a point
    # interval, p = 1 at a zero estimate and 0 otherwise
    return Estimate.from_standard_error(
        name, estimate, se, alpha=alpha, df=n0 - 1,
        details={
            "unit_weights": pd.Series(point["omega"], index=panel.donor_units,
                                      name="omega"),
            "time_weights": pd.Series(point["lambda"], index=panel.times[:t0],
                                      name="lambda"),
            "zeta_omega": point["zeta_omega"], "zeta_lambda": point["zeta_lambda"],
            "noise_level": point["noise_level"], "placebo_estimates": replicates,
            "total_effect": estimate * n1 * panel.n_post,
            "total_se": se * n1 * panel.n_post,
            "n_donors": n0, "n_treated": n1, "n_pre": t0, "n_post": panel.n_post,
            "solver": solver,
        },
    )


def estimate_synthetic_did(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treatment: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
    alpha: float = 0.05,
    solver: str = "active-set",
    sparsify: bool = True,
    n_placebo: int = 200,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Synthetic difference-in-differences (Arkhangelsky et al. 2021, Algorithm 1).

    Unit weights ``omega`` (on the simplex, with an intercept) make the weighted controls'
    pre-period trend parallel to the treated units' average; they minimise
    ``sum_t (omega_0 + omega' Y_co,t - Ybar_tr,t)^2 + zeta^2 T_pre ||omega||^2`` with the
    regularisation ``zeta = (N_tr T_post)^(1/4) sigma``, ``sigma`` the standard
    deviation of the first differences of the controls' pre-period outcomes. Time weights
    ``lambda`` (simplex, intercept, ridge ``1e-6 sigma``) make the weighted pre-period
    predict the controls' post-period mean. The estimate is the weighted DiD

    ``tau = (Ybar_tr,post - lambda' Ybar_tr,pre) - (omega' Ybar_co,post - omega' Y_co,pre lambda)``.

    Standard errors follow synthdid's placebo method (Arkhangelsky et al. 2021,
    Algorithm 4): controls are randomly relabelled as treated (with one treated unit,
    every control once, which is deterministic), the estimator is rerun, and
    ``se`` is the standard deviation of those placebo estimates. The interval and p-value
    use Student-t quantiles with ``N_co - 1`` degrees of freedom, a small-sample
    heuristic for an SE estimated from ``N_co`` placebos (the paper uses the normal).
    It is exact only in an idealised model: if the placebo estimates and the treated
    estimate's error were independent normal draws with a common variance,
    ``(estimate - tau) / se`` would be ``t(N_co - 1)`` times ``sqrt(N_co / (N_co - 1))``
    (synthdid's SE divides by the number of placebos). Real placebo estimates share
    donors and have heavier tails. On the factor-model panels of the tests (19 controls,
    one treated unit, 1,200 panels) the 95% interval covered about 94% with ``t(18)``
    and about 92% with the normal quantile: approximate, slightly below nominal.
    With several treated units the placebo draws overlap and ``N_co - 1`` is a
    further approximation.

    Parameters
    ----------
    data, unit, time, outcome, treatment, treated_units, treatment_start, donors
        The panel, see :func:`prepare_panel`.
    alpha : float
    solver : {"active-set", "slsqp", "frank-wolfe"}
        ``"active-set"`` solves both weight problems exactly; ``"frank-wolfe"`` replicates
        synthdid's iterations (100 iterations, sparsify, then up to 10,000 more, stopping
        when the objective decreases by less than ``(1e-5 sigma)^2``).
    sparsify : bool
        With Frank-Wolfe, zero weights at most a quarter of the largest (synthdid's
        default).
    n_placebo : int
        Placebo replications when several units are treated.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    Estimate
        ``method="synthetic did"``; ``details``: ``unit_weights``, ``time_weights``,
        ``zeta_omega``, ``zeta_lambda``, ``noise_level``, ``placebo_estimates``,
        ``total_effect``, ``total_se``, sizes. Every placebo estimate equal (a zero
        placebo SE) gives the ``se -> 0`` limit: the interval is the point estimate and
        the p-value 1 at a zero estimate, 0 otherwise.

    Raises
    ------
    ValueError
        On a bad panel (see :func:`prepare_panel`), several treated units and no more
        donors than treated units (the placebos relabel donors), an ``alpha`` outside
        (0, 1), an unknown ``solver``, a non-boolean ``sparsify``, ``n_placebo`` not an
        integer of at least 2, or an invalid ``rng``.

    Notes
    -----
    The estimate and its SE are equivariant: multiplying the outcome by ``c > 0``
    multiplies both by ``c``, adding a constant changes neither (the regularisation
    ``zeta`` and the solvers' tolerances are relative to the data).

    References
    ----------
    Arkhangelsky, Athey, Hirshberg, Imbens & Wager (2021), *AER* 111(12); R package
    synthdid (github.com/synth-inference/synthdid).
    """
    return _panel_method(data, "sdid", "synthetic did", unit=unit, time=time,
                         outcome=outcome, treatment=treatment, treated_units=treated_units,
                         treatment_start=treatment_start, donors=donors, alpha=alpha,
                         solver=solver, sparsify=sparsify, n_placebo=n_placebo, rng=rng)


def estimate_panel_did(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treatment: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
    alpha: float = 0.05,
    n_placebo: int = 200,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Plain difference-in-differences on a block-treated panel, with placebo SE.

    ``tau = (Ybar_tr,post - Ybar_tr,pre) - (Ybar_co,post - Ybar_co,pre)``: synthetic DiD
    with uniform unit and time weights (the two-way fixed-effects estimate for a block
    design). Standard error as in :func:`estimate_synthetic_did` (placebo), which is what
    Arkhangelsky et al. (2021, Table 1) report for every estimator.

    Returns
    -------
    Estimate
        ``method="did"``.

    Raises
    ------
    ValueError
        As :func:`estimate_synthetic_did`.
    """
    return _panel_method(data, "did", "did", unit=unit, time=time, outcome=outcome,
                         treatment=treatment, treated_units=treated_units,
                         treatment_start=treatment_start, donors=donors, alpha=alpha,
                         solver="active-set", sparsify=False, n_placebo=n_placebo, rng=rng)


def estimate_synthdid_sc(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treatment: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
    alpha: float = 0.05,
    solver: str = "active-set",
    sparsify: bool = True,
    n_placebo: int = 200,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Synthetic control as synthdid's ``sc_estimate`` computes it, with placebo SE.

    Unit weights on the simplex without intercept and with a negligible ridge
    (``1e-6 sigma``), fitted to the treated units' average pre-period path; no time
    weights. This is the "SC" column of Arkhangelsky et al. (2021, Table 1).

    Returns
    -------
    Estimate
        ``method="synthetic control (synthdid)"``.

    Raises
    ------
    ValueError
        As :func:`estimate_synthetic_did`.
    """
    return _panel_method(data, "sc", "synthetic control (synthdid)", unit=unit, time=time,
                         outcome=outcome, treatment=treatment, treated_units=treated_units,
                         treatment_start=treatment_start, donors=donors, alpha=alpha,
                         solver=solver, sparsify=sparsify, n_placebo=n_placebo, rng=rng)



# ---------------------------------------------------------- matrix-level helpers
def run_synthetic_control_on_matrix(
    outcomes: np.ndarray, n_controls: int, n_pre: int, *, intercept: bool = False,
    placebo_pool: str = "all",
) -> dict[str, float]:
    """Synthetic control and its placebo test on a units-by-times matrix (for simulations).

    The same computation as :func:`estimate_synthetic_control` without the DataFrame
    round trip: rows ``0 .. n_controls - 1`` are donors, the rest treated; columns
    ``0 .. n_pre - 1`` are the pre-period. With several treated rows the random
    placebo sets come from a fixed generator (seed 0), so the result is deterministic.

    Returns
    -------
    dict
        ``estimate`` (average post-period gap), ``se`` (placebo standard error),
        ``p_value`` (placebo RMSPE-ratio test), ``effect_p_value``, ``rmspe_pre``.

    Raises
    ------
    ValueError
        If the matrix is not a finite 2-d array, the split leaves fewer than two donors,
        no treated rows, no pre- or no post-period, ``intercept`` is not a boolean or
        ``placebo_pool`` is unknown.
    """
    y, n_controls, n_pre = _check_matrix(outcomes, n_controls, n_pre)
    intercept = check_flag(intercept, "intercept")
    check_choice(placebo_pool, "placebo_pool", ("all", "donors"))
    panel = Panel(y, pd.RangeIndex(y.shape[0]), pd.RangeIndex(y.shape[1]), n_controls,
                  n_pre)
    gaps = _gaps_all_units(panel, intercept=intercept, solver="active-set", tol=1e-10,
                           placebo_pool=placebo_pool)
    rng = np.random.default_rng(0)
    computed = _placebo_statistics(gaps, n_pre, panel.n_treated, 10_000, rng)
    n_treated = panel.n_treated
    null = _subset_means(computed["effect"][n_treated:], n_treated, 10_000, rng)
    return {"estimate": float(computed["effect"][:n_treated].mean()),
            "se": float(np.sqrt(np.mean((null - null.mean()) ** 2))),
            "p_value": computed["p_value"], "effect_p_value": computed["effect_p_value"],
            "rmspe_pre": float(computed["rmspe_pre"][:n_treated].mean())}


def estimate_synthetic_did_on_matrix(
    outcomes: np.ndarray, n_controls: int, n_pre: int, *, method: str = "sdid",
    solver: str = "active-set",
) -> float:
    """Point estimate of SDID (``"sdid"``), DiD (``"did"``) or synthdid's SC (``"sc"``).

    Matrix-level twin of :func:`estimate_synthetic_did` for simulations (no standard
    error); rows and columns as in :func:`run_synthetic_control_on_matrix`.

    Raises
    ------
    ValueError
        On a bad matrix or split (see :func:`run_synthetic_control_on_matrix`), or an
        unknown ``method`` or ``solver``.
    """
    check_choice(method, "method", ("sdid", "did", "sc"))
    check_choice(solver, "solver", SOLVERS)
    y, n_controls, n_pre = _check_matrix(outcomes, n_controls, n_pre)
    return _sdid_point(y, n_controls, n_pre, method, solver, True)["estimate"]


def run_synthetic_did_on_matrix(
    outcomes: np.ndarray, n_controls: int, n_pre: int, *, method: str = "sdid",
    n_placebo: int = 200, rng: np.random.Generator | int | None = None,
) -> dict[str, float]:
    """Point estimate and placebo standard error on a matrix (for simulations).

    Matrix-level twin of :func:`estimate_synthetic_did` (``method="sdid"``),
    :func:`estimate_panel_did` (``"did"``) and :func:`estimate_synthdid_sc` (``"sc"``).

    Returns
    -------
    dict
        ``estimate`` and ``se`` (synthdid's placebo standard error).

    Raises
    ------
    ValueError
        On a bad matrix or split (see :func:`run_synthetic_control_on_matrix`), several
        treated rows and no more controls than treated rows, an unknown ``method``,
        ``n_placebo`` not an integer of at least 2, or an invalid ``rng``.
    """
    check_choice(method, "method", ("sdid", "did", "sc"))
    y, n_controls, n_pre = _check_matrix(outcomes, n_controls, n_pre)
    n_placebo = check_integer(n_placebo, "n_placebo", minimum=2)
    rng = check_rng(rng)
    _check_placebo_controls(n_controls, y.shape[0] - n_controls)
    point = _sdid_point(y, n_controls, n_pre, method, "active-set", True)
    replicates = _placebo_replicates(y, n_controls, n_pre, method, "active-set", True,
                                     point["zeta_omega"], n_placebo, rng)
    return {"estimate": point["estimate"],
            "se": float(np.sqrt(np.mean((replicates - replicates.mean()) ** 2)))}


def _check_matrix(
    outcomes: np.ndarray, n_controls: int, n_pre: int
) -> tuple[np.ndarray, int, int]:
    """A finite units-by-times matrix and a split leaving >= 2 donors, treated rows,
    pre- and post-periods."""
    y = as_float_array(outcomes, "outcomes", ndim=2)
    n_controls = check_integer(n_controls, "n_controls", minimum=2)
    n_pre = check_integer(n_pre, "n_pre", minimum=1)
    if n_controls >= y.shape[0]:
        raise ValueError(
            f"n_controls must leave a treated row: got {n_controls} for {y.shape[0]} rows"
        )
    if n_pre >= y.shape[1]:
        raise ValueError(
            f"n_pre must leave a post-period: got {n_pre} for {y.shape[1]} columns"
        )
    return y, n_controls, n_pre


# ------------------------------------------------------------------ geo-lift design
def _window_statistics(
    y: np.ndarray, treated_rows: np.ndarray, start: int, length: int, *,
    intercept: bool, solver: str, rng: np.random.Generator, pre_length: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For one pseudo-test window: the treated average's gaps and the placebo gaps.

    The ``k`` treated markets are averaged into one series and fitted on the donors. Each
    placebo is the average of ``k`` donor markets, fitted on the remaining donors, so
    that it has the same noise-to-signal ratio as the treated average (with ``k = 1``,
    every donor once; otherwise ``J`` random sets, or all sets if there are fewer).
    Averaging rather than summing matters: a sum of ``k`` markets carries ``k`` times
    the common time effect, which no convex combination (weights summing to one) can
    reproduce; and single-market placebos are noisier than an average, which biases the
    placebo distribution of the RMSPE ratio.

    Returns the treated average's pre- and post-window gaps, its post-window level, the
    placebos' pre-period RMSPE ``(S,)`` and their post-window gaps ``(S, length)``.
    """
    first = 0 if pre_length is None else max(0, start - pre_length)
    window = y[:, first: start + length]
    start = start - first
    k = int(treated_rows.sum())
    treated_series = window[treated_rows].mean(axis=0)
    donors = window[~treated_rows]
    n_donors = donors.shape[0]
    _, _, synthetic = _fit_matrix(donors, treated_series[None, :], start,
                                  intercept=intercept, ridge=0.0, solver=solver, tol=1e-10)
    treated_gap = treated_series - synthetic[0]
    if math.comb(n_donors, k) <= n_donors:
        sets = [np.array(c) for c in itertools.combinations(range(n_donors), k)]
    else:
        sets = [rng.choice(n_donors, size=k, replace=False) for _ in range(n_donors)]
    placebo = np.empty((len(sets), window.shape[1]))
    for s, members in enumerate(sets):
        in_set = np.zeros(n_donors, dtype=bool)
        in_set[members] = True
        series = donors[in_set].mean(axis=0)
        _, _, synthetic = _fit_matrix(donors[~in_set], series[None, :], start,
                                      intercept=intercept, ridge=0.0, solver=solver,
                                      tol=1e-10)
        placebo[s] = series - synthetic[0]
    return (treated_gap[:start], treated_gap[start:], treated_series[start:],
            np.sqrt((placebo[:, :start] ** 2).mean(axis=1)), placebo[:, start:])


def simulate_geo_lift_power(
    data: pd.DataFrame,
    treated_units: Sequence[Hashable],
    *,
    test_length: int,
    lifts: Sequence[float],
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    n_windows: int = 10,
    min_pre: int | None = None,
    pre_length: int | None = None,
    alpha: float = 0.1,
    intercept: bool = True,
    solver: str = "active-set",
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Power of a synthetic-control geo-lift test, simulated on historical data.

    A GeoLift-style design simulation (Meta's GeoLift R package): for each of
    ``n_windows`` historical pseudo-test windows (the last ``test_length`` periods
    ending at the end of history, then shifted back one period at a time), the candidate
    markets are averaged into one treated series, a synthetic control (with intercept
    by default) is fitted on the periods before the window, and a relative lift ``delta``
    is injected into the treated series during the window. Because the weights depend
    only on the pre-period, the treated gap with lift ``delta`` is
    ``gap_0 + delta * Y_treated`` exactly, so the whole grid of lifts is evaluated at
    once (vectorised). The test is the placebo-in-space RMSPE-ratio test at level
    ``alpha``, whose placebos are averages of as many donor markets as there are
    treated markets (see below); power is the share of windows where it
    rejects.

    Parameters
    ----------
    data : pandas.DataFrame
        Historical (pre-test) tidy panel.
    treated_units : sequence
        Candidate treatment markets.
    test_length : int
        Number of periods of the planned test.
    lifts : sequence of float
        Relative lifts to evaluate (e.g. ``[0, 0.01, ..., 0.1]``).
    unit, time, outcome : str
    n_windows : int
        Number of historical windows.
    min_pre : int, optional
        Minimum number of pre-periods before the earliest window (default
        ``2 * test_length``).
    pre_length : int, optional
        Fit each window's weights on at most the last ``pre_length`` periods before it
        (default: all history). A shorter fitting period limits the drift between the
        treated markets and their synthetic control when the markets' trends differ.
    alpha : float
        Level of the placebo test (GeoLift's default is 0.1).
    intercept, solver
        Weight-fitting options.
    rng : numpy.random.Generator, int or None
        Draws the placebo sets when several markets are treated: ``J`` random sets of
        as many donors (``J`` the number of donors), each averaged and fitted on the
        remaining donors; with one treated market, every donor is a placebo once.

    Returns
    -------
    pandas.DataFrame
        One row per lift: ``lift``, ``power``, ``mean_estimate`` (mean estimated relative
        lift), ``n_windows``; ``.attrs`` hold ``rmspe_pre`` (mean pre-period RMSPE of the
        treated average, relative to its mean level) and ``min_p_value``
        (``1 / (S + 1)`` with ``S`` placebos, at most ``J``).

    Raises
    ------
    ValueError
        If there is not enough history, the panel is bad (see :func:`prepare_panel`:
        missing, non-finite or non-numeric outcomes, repeated or missing unit-time rows),
        ``treated_units`` are not units of the panel or leave too few donors,
        ``lifts`` is not a non-empty list of finite numbers, or another argument is
        invalid (the message names it).
    """
    test_length = check_integer(test_length, "test_length", minimum=1)
    n_windows = check_integer(n_windows, "n_windows", minimum=1)
    alpha = check_alpha(alpha)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    lift_grid = as_float_array(lifts, "lifts")
    wide = _wide_outcomes(data, unit=unit, time=time, outcome=outcome)
    treated_list = _unit_list(treated_units, "treated_units")
    missing = [u for u in treated_list if u not in wide.index]
    if missing or not treated_list:
        raise ValueError(f"treated_units: not found in the {unit!r} column: {missing}")
    treated_rows = wide.index.isin(treated_list)
    if (~treated_rows).sum() < max(2, len(treated_list) + 1):
        raise ValueError("treated_units: need more donor markets than treated markets "
                         "(and at least two)")
    rng = check_rng(rng)
    y = wide.to_numpy(dtype=float)
    n_times = y.shape[1]
    min_pre = 2 * test_length if min_pre is None else check_integer(min_pre, "min_pre",
                                                                    minimum=2)
    if pre_length is not None:
        pre_length = check_integer(pre_length, "pre_length", minimum=2)
    starts = n_times - test_length - np.arange(n_windows)
    if starts.min() < min_pre:
        raise ValueError(
            f"n_windows: {n_windows} windows of {test_length} periods need at least "
            f"{min_pre + test_length + n_windows - 1} periods of history, got {n_times}"
        )
    rejections = np.zeros((n_windows, lift_grid.size), dtype=bool)
    estimates = np.zeros((n_windows, lift_grid.size))
    rmspe_rel = np.zeros(n_windows)
    for w, start in enumerate(starts):
        pre_gap, post_gap, post_level, placebo_pre, placebo_post = _window_statistics(
            y, treated_rows, int(start), test_length, intercept=intercept, solver=solver,
            rng=rng, pre_length=pre_length,
        )
        gaps = post_gap[None, :] + lift_grid[:, None] * post_level[None, :]  # (L, len)
        rmspe_pre = np.sqrt(np.mean(pre_gap**2))
        ratio = np.sqrt(np.mean(gaps**2, axis=1)) / rmspe_pre
        placebo_ratio = np.sqrt(np.mean(placebo_post**2, axis=1)) / placebo_pre
        n_placebos = placebo_ratio.size
        p_values = (1 + (placebo_ratio[None, :] >= ratio[:, None]).sum(axis=1)) / (
            n_placebos + 1
        )
        # a detection must have the sign of the injected lift; at zero lift any
        # rejection is a false positive
        same_sign = (np.sign(gaps.mean(axis=1)) == np.sign(lift_grid)) | (lift_grid == 0)
        rejections[w] = (p_values <= alpha) & same_sign
        # relative lift: gap over the synthetic (counterfactual) level
        estimates[w] = gaps.mean(axis=1) / (post_level - post_gap).mean()
        rmspe_rel[w] = rmspe_pre / y[treated_rows, start - pre_gap.size:start].mean()
    table = pd.DataFrame({
        "lift": lift_grid,
        "power": rejections.mean(axis=0),
        "mean_estimate": estimates.mean(axis=0),
        "n_windows": n_windows,
    })
    table.attrs["rmspe_pre"] = float(rmspe_rel.mean())
    table.attrs["min_p_value"] = 1.0 / (n_placebos + 1)  # same S in every window
    return table


def choose_geo_lift_markets(
    data: pd.DataFrame,
    *,
    n_treated: int,
    test_length: int,
    lifts: Sequence[float],
    candidate_sets: Sequence[Sequence[Hashable]] | None = None,
    n_candidates: int = 20,
    target_power: float = 0.8,
    max_false_positive: float | None = None,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    n_windows: int = 10,
    pre_length: int | None = None,
    alpha: float = 0.1,
    intercept: bool = True,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Rank candidate sets of treatment markets by their minimum detectable lift.

    For each candidate set (given, or ``n_candidates`` random sets of ``n_treated``
    markets), :func:`simulate_geo_lift_power` computes the power curve over ``lifts``;
    the minimum detectable lift (MDL) is the smallest lift whose power reaches
    ``target_power`` (``inf`` if none). The rejection rate at zero lift is the design's
    false-positive rate over the historical windows; sets whose rate exceeds
    ``max_false_positive`` (default ``2 * alpha``) are ranked last, because their low
    MDL reflects a drift of the treated markets, not power. The rest are ranked by MDL,
    then by the pre-period fit.

    Parameters
    ----------
    data : pandas.DataFrame
        Historical (pre-test) tidy panel.
    n_treated : int
        Number of treatment markets per random candidate set.
    test_length, lifts, unit, time, outcome, n_windows, pre_length, alpha, intercept
        See :func:`simulate_geo_lift_power`.
    candidate_sets : sequence of sequences, optional
        Candidate sets to compare; default ``n_candidates`` random sets.
    n_candidates : int
        Number of random candidate sets.
    target_power : float
        Power that defines the minimum detectable lift.
    max_false_positive : float, optional
        Largest acceptable rejection rate at zero lift (default ``2 * alpha``).
    rng : numpy.random.Generator, int or None
        Draws the candidate sets and the placebo sets.

    Returns
    -------
    pandas.DataFrame
        One row per candidate set: ``markets`` (tuple), ``min_detectable_lift``,
        ``false_positive_rate``, ``power_at_max_lift``, ``rmspe_pre`` (relative),
        ``acceptable`` (false-positive rate within bounds), sorted best first.
        ``.attrs["power_curves"]`` maps each set to its power table.

    Raises
    ------
    ValueError
        On invalid arguments (the message names the argument), or a bad panel (see
        :func:`simulate_geo_lift_power`).
    """
    n_treated = check_integer(n_treated, "n_treated", minimum=1)
    n_candidates = check_integer(n_candidates, "n_candidates", minimum=1)
    alpha = check_alpha(alpha)
    target_power = check_probability(target_power, "target_power")
    max_false_positive = (2 * alpha if max_false_positive is None
                          else check_probability(max_false_positive, "max_false_positive"))
    rng = check_rng(rng)
    wide = _wide_outcomes(data, unit=unit, time=time, outcome=outcome)
    if candidate_sets is not None:
        if isinstance(candidate_sets, str | bytes) or not isinstance(
            candidate_sets, Sequence
        ) or not len(candidate_sets):
            raise ValueError(
                f"candidate_sets must be a non-empty list of lists of units, got "
                f"{candidate_sets!r}"
            )
        candidate_sets = [_unit_list(markets, "candidate_sets") for markets in candidate_sets]
    if candidate_sets is None:
        units = np.array(list(wide.index))
        if n_treated > len(units) - 2:
            raise ValueError(f"n_treated must leave two donors, got {n_treated}")
        draws = [tuple(str(u) if isinstance(u, str) else u
                       for u in sorted(units[rng.choice(len(units), n_treated, replace=False)]))
                 for _ in range(4 * n_candidates)]
        candidate_sets = list(dict.fromkeys(draws))[:n_candidates]
    rows, curves = [], {}
    for markets in candidate_sets:
        key = tuple(markets)
        table = simulate_geo_lift_power(data, key, test_length=test_length, lifts=lifts,
                                        unit=unit, time=time, outcome=outcome,
                                        n_windows=n_windows, pre_length=pre_length,
                                        alpha=alpha, intercept=intercept, rng=rng)
        reached = table.loc[(table["power"] >= target_power) & (table["lift"] > 0), "lift"]
        at_zero = table.loc[table["lift"] == 0, "power"]
        rows.append({"markets": key,
                     "min_detectable_lift": float(reached.min()) if len(reached) else np.inf,
                     "false_positive_rate": float(at_zero.iloc[0]) if len(at_zero) else np.nan,
                     "power_at_max_lift": float(table["power"].iloc[-1]),
                     "rmspe_pre": table.attrs["rmspe_pre"]})
        curves[key] = table
    result = pd.DataFrame(rows)
    # a design that "detects" zero lift too often is biased, not powerful: rank it last
    result["acceptable"] = ~(result["false_positive_rate"] > max_false_positive)
    result = result.sort_values(["acceptable", "min_detectable_lift", "rmspe_pre"],
                                ascending=[False, True, True]).reset_index(drop=True)
    result.attrs["power_curves"] = curves
    return result

