"""Synthetic difference-in-differences and its special cases (Arkhangelsky et al. 2021).

- :func:`fit_synthetic_did`: the unit and time weights and the point estimate of SDID,
  plain DiD or synthdid's synthetic control, without inference;
- :func:`estimate_synthetic_did`, :func:`estimate_panel_did`,
  :func:`estimate_synthdid_sc`: the same with synthdid's placebo standard errors;
- :func:`batch_estimate_synthetic_did`: the estimate on many simulated panels at once,
  one row per panel, for Monte Carlo studies.

The computations follow the reference R package ``synthdid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.results import Estimate, Estimates
from playbook_lib.synth._checks import SYNTHDID_METHODS, check_panel
from playbook_lib.synth._simplex import simplex_fit
from playbook_lib.synth.panel import Panel
from playbook_lib.synth.weights import SOLVERS
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_choice,
    check_flag,
    check_integer,
    check_rng,
)

__all__ = [
    "SyntheticDidFit",
    "batch_estimate_synthetic_did",
    "estimate_panel_did",
    "estimate_synthdid_sc",
    "estimate_synthetic_did",
    "fit_synthetic_did",
]

METHOD_NAMES = {"sdid": "synthetic did", "did": "did", "sc": "synthetic control (synthdid)"}


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
    y: np.ndarray,
    n_controls: int,
    n_pre: int,
    *,
    zeta_omega: float,
    zeta_lambda: float,
    omega_intercept: bool,
    solver: str,
    noise: float,
    sparsify: bool,
) -> tuple[np.ndarray, np.ndarray]:
    yc = _collapsed(y, n_controls, n_pre)
    # synthdid's threshold 1e-5 sigma; a noiseless pre-period falls back to the
    # target's scale (fit_simplex_weights' default), never to an absolute number
    min_decrease = 1e-5 * noise if noise > 0 else None

    def solve(a: np.ndarray, b: np.ndarray, zeta: float, intercept: bool) -> np.ndarray:
        return _solve_sdid_weights(
            a,
            b,
            ridge=a.shape[0] * zeta**2,
            intercept=intercept,
            solver=solver,
            min_decrease=min_decrease,
            sparsify=sparsify,
        )

    # time weights: rows = control units, columns = pre periods, target = post mean
    lam = solve(yc[:n_controls, :n_pre], yc[:n_controls, n_pre], zeta_lambda, True)
    # unit weights: rows = pre periods, columns = controls, target = treated pre mean
    omega = solve(yc[:n_controls, :n_pre].T, yc[n_controls, :n_pre], zeta_omega, omega_intercept)
    return omega, lam


def _solve_sdid_weights(
    a: np.ndarray,
    b: np.ndarray,
    *,
    ridge: float,
    intercept: bool,
    solver: str,
    min_decrease: float | None,
    sparsify: bool,
) -> np.ndarray:
    """One synthdid weight problem: exact, or synthdid's two Frank-Wolfe passes."""
    if solver != "frank-wolfe":
        return simplex_fit(a, b, intercept=intercept, ridge=ridge, solver=solver).weights
    # synthdid runs exactly 100 iterations first: reaching that cap is the design
    first = simplex_fit(
        a,
        b,
        intercept=intercept,
        ridge=ridge,
        solver="frank-wolfe",
        min_decrease=min_decrease,
        max_iter=100,
        warn=False,
    ).weights
    if sparsify:
        first = np.where(first <= first.max() / 4, 0.0, first)
        first /= first.sum()
    return simplex_fit(
        a,
        b,
        intercept=intercept,
        ridge=ridge,
        solver="frank-wolfe",
        start=first,
        min_decrease=min_decrease,
        max_iter=10_000,
    ).weights


def _did_value(
    y: np.ndarray, n_controls: int, n_pre: int, omega: np.ndarray, lam: np.ndarray
) -> float:
    controls, treated = y[:n_controls], y[n_controls:]
    treated_post = treated[:, n_pre:].mean()
    treated_pre = treated[:, :n_pre].mean(axis=0) @ lam
    control_post = omega @ controls[:, n_pre:].mean(axis=1)
    control_pre = omega @ controls[:, :n_pre] @ lam
    return float((treated_post - treated_pre) - (control_post - control_pre))


def _sdid_point(
    y: np.ndarray,
    n_controls: int,
    n_pre: int,
    method: str,
    solver: str,
    sparsify: bool,
    zeta_omega: float | None = None,
) -> dict[str, Any]:
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
        z_omega = (n_treated * n_post) ** 0.25 * noise if zeta_omega is None else zeta_omega
        z_lambda = 1e-6 * noise
        omega, lam = _sdid_weights(
            y,
            n_controls,
            n_pre,
            zeta_omega=z_omega,
            zeta_lambda=z_lambda,
            omega_intercept=True,
            solver=solver,
            noise=noise,
            sparsify=sparsify,
        )
    else:  # synthdid's sc_estimate: no intercept, tiny ridge, no time weights
        z_omega = 1e-6 * noise if zeta_omega is None else zeta_omega
        z_lambda = None
        yc = _collapsed(y, n_controls, n_pre)
        a, b = yc[:n_controls, :n_pre].T, yc[n_controls, :n_pre]
        omega = _solve_sdid_weights(
            a,
            b,
            ridge=n_pre * z_omega**2,
            intercept=False,
            solver=solver,
            min_decrease=1e-5 * noise if noise > 0 else None,
            sparsify=sparsify,
        )
        lam = np.zeros(n_pre)
    return {
        "estimate": _did_value(y, n_controls, n_pre, omega, lam),
        "omega": omega,
        "lambda": lam,
        "zeta_omega": z_omega,
        "zeta_lambda": z_lambda,
        "noise_level": noise,
    }


def _check_placebo_controls(n0: int, n1: int) -> None:
    """Placebos relabel controls as treated: several treated units need more controls."""
    if n1 > 1 and n0 <= n1:
        raise ValueError(
            f"donors: placebo standard errors need more controls than treated units, got "
            f"{n0} controls and {n1} treated"
        )


def _placebo_replicates(
    y: np.ndarray,
    n0: int,
    t0: int,
    method: str,
    solver: str,
    sparsify: bool,
    zeta_omega: float | None,
    n_placebo: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, float]:
    """synthdid's placebo replications (Arkhangelsky et al. 2021, Algorithm 4).

    Controls are relabelled: the last ``N_tr`` of a random permutation play the treated
    units and the estimator is rerun with the original ``zeta``. With one treated unit
    every control plays it once (the exact, deterministic version). Returns the placebo
    estimates and their sample standard deviation (divisor ``R - 1`` for ``R``
    placebos; synthdid divides by ``R``, which is smaller by ``sqrt((R - 1) / R)``).
    """
    n1 = y.shape[0] - n0
    controls = y[:n0]
    zeta = None if method == "did" else zeta_omega
    if n1 == 1:
        index = np.arange(n0)
        relabelled = [np.vstack([controls[index != j], controls[j : j + 1]]) for j in range(n0)]
    else:
        _check_placebo_controls(n0, n1)
        relabelled = [controls[rng.permutation(n0)] for _ in range(n_placebo)]
    n_placebo_controls = n0 - n1
    replicates = np.array(
        [
            _sdid_point(y_placebo, n_placebo_controls, t0, method, solver, sparsify, zeta)[
                "estimate"
            ]
            for y_placebo in relabelled
        ]
    )
    return replicates, float(np.std(replicates, ddof=1))


@dataclass(frozen=True)
class SyntheticDidFit:
    """The weights and point estimate of synthetic DiD, DiD or synthdid's SC.

    Attributes
    ----------
    method : str
        ``"sdid"``, ``"did"`` or ``"sc"``.
    estimate : float
        The weighted difference-in-differences (no standard error: see
        :func:`estimate_synthetic_did`).
    unit_weights : pandas.Series
        ``omega``, one weight per donor (on the simplex).
    time_weights : pandas.Series
        ``lambda``, one weight per pre-period (zero for ``"sc"``).
    zeta_omega, zeta_lambda : float or None
        Regularisation of the unit and time weights (``None`` where the method has none).
    noise_level : float
        Standard deviation of the first differences of the controls' pre-period outcomes.
    """

    method: str
    estimate: float
    unit_weights: pd.Series
    time_weights: pd.Series
    zeta_omega: float | None
    zeta_lambda: float | None
    noise_level: float


def _fit_from_point(point: dict[str, Any], panel: Panel, method: str) -> SyntheticDidFit:
    return SyntheticDidFit(
        method=method,
        estimate=point["estimate"],
        unit_weights=pd.Series(point["omega"], index=panel.donor_units, name="omega"),
        time_weights=pd.Series(point["lambda"], index=panel.times[: panel.n_pre], name="lambda"),
        zeta_omega=point["zeta_omega"],
        zeta_lambda=point["zeta_lambda"],
        noise_level=point["noise_level"],
    )


def fit_synthetic_did(
    panel: Panel,
    *,
    method: str = "sdid",
    solver: str = "active-set",
    sparsify: bool = True,
) -> SyntheticDidFit:
    """Weights and point estimate of SDID (``"sdid"``), DiD (``"did"``) or synthdid's SC
    (``"sc"``), without inference.

    The point estimates of :func:`estimate_synthetic_did`, :func:`estimate_panel_did` and
    :func:`estimate_synthdid_sc`, without their placebo replications (use it to compare
    solvers, or when only the point matters).

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel` or
        :meth:`~playbook_lib.synth.Panel.from_matrix`.
    method : {"sdid", "did", "sc"}
        The estimator.
    solver, sparsify
        See :func:`estimate_synthetic_did`.

    Returns
    -------
    SyntheticDidFit

    Raises
    ------
    ValueError
        If ``panel`` is not a :class:`Panel`, ``method`` or ``solver`` is unknown, or
        ``sparsify`` is not a boolean.

    Warns
    -----
    PlaybookWarning
        If a Frank-Wolfe weight fit stops at its iteration cap (synthdid's 10,000).
    """
    panel = check_panel(panel)
    check_choice(method, "method", SYNTHDID_METHODS)
    check_choice(solver, "solver", SOLVERS)
    sparsify = check_flag(sparsify, "sparsify")
    point = _sdid_point(panel.outcomes, panel.n_controls, panel.n_pre, method, solver, sparsify)
    return _fit_from_point(point, panel, method)


def _panel_method(
    panel: Panel,
    method: str,
    *,
    alpha: float,
    solver: str,
    sparsify: bool,
    n_placebo: int,
    rng: np.random.Generator | int | None,
) -> Estimate:
    panel = check_panel(panel)
    alpha = check_alpha(alpha)
    check_choice(solver, "solver", SOLVERS)
    sparsify = check_flag(sparsify, "sparsify")
    n_placebo = check_integer(n_placebo, "n_placebo", minimum=2)
    rng = check_rng(rng)
    y, n0, n1, t0 = panel.outcomes, panel.n_controls, panel.n_treated, panel.n_pre
    _check_placebo_controls(n0, n1)
    point = _sdid_point(y, n0, t0, method, solver, sparsify)
    replicates, se = _placebo_replicates(
        y, n0, t0, method, solver, sparsify, point["zeta_omega"], n_placebo, rng
    )
    fit = _fit_from_point(point, panel, method)
    estimate = fit.estimate
    # a zero placebo SE (every placebo estimate equal) gives the se -> 0 limit: a point
    # interval, p = 1 at a zero estimate and 0 otherwise
    return Estimate.from_standard_error(
        METHOD_NAMES[method],
        estimate,
        se,
        alpha=alpha,
        df=n0 - 1,
        details={
            "unit_weights": fit.unit_weights,
            "time_weights": fit.time_weights,
            "zeta_omega": fit.zeta_omega,
            "zeta_lambda": fit.zeta_lambda,
            "noise_level": fit.noise_level,
            "placebo_estimates": replicates,
            "total_effect": estimate * n1 * panel.n_post,
            "total_se": se * n1 * panel.n_post,
            "n_donors": n0,
            "n_treated": n1,
            "n_pre": t0,
            "n_post": panel.n_post,
            "solver": solver,
        },
    )


def estimate_synthetic_did(
    panel: Panel,
    *,
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
    ``se`` is the sample standard deviation of those placebo estimates (divisor
    ``R - 1``; synthdid divides by the number ``R`` of placebos, so its SE is smaller by
    ``sqrt((R - 1) / R)``). The interval and p-value use Student-t quantiles with
    ``N_co - 1`` degrees of freedom (the paper uses the normal). It is exact in an
    idealised model: if the placebo estimates and the treated estimate's error were
    independent normal draws with a common variance, ``(estimate - tau) / se`` would be
    ``t(N_co - 1)``. Real placebo estimates share donors and have heavier tails, so the
    interval is approximate and can cover slightly less than nominal. With several
    treated units the placebo draws overlap and ``N_co - 1`` is a further approximation.

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel`.
    alpha : float
        One minus the interval's coverage.
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
        Draws the placebo relabellings when several units are treated.

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
        If ``panel`` is not a :class:`Panel`, several units are treated and there are no
        more donors than treated units (the placebos relabel donors), ``alpha`` is outside
        (0, 1), ``solver`` is unknown, ``sparsify`` is not a boolean, ``n_placebo`` is not
        an integer of at least 2, or ``rng`` is invalid.

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
    return _panel_method(
        panel, "sdid", alpha=alpha, solver=solver, sparsify=sparsify, n_placebo=n_placebo, rng=rng
    )


def estimate_panel_did(
    panel: Panel,
    *,
    alpha: float = 0.05,
    n_placebo: int = 200,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Plain difference-in-differences on a block-treated panel, with placebo SE.

    ``tau = (Ybar_tr,post - Ybar_tr,pre) - (Ybar_co,post - Ybar_co,pre)``: synthetic DiD
    with uniform unit and time weights (the two-way fixed-effects estimate for a block
    design). Standard error as in :func:`estimate_synthetic_did` (placebo), which is what
    Arkhangelsky et al. (2021, Table 1) report for every estimator.

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel`.
    alpha, n_placebo, rng
        See :func:`estimate_synthetic_did`.

    Returns
    -------
    Estimate
        ``method="did"``, with the details of :func:`estimate_synthetic_did`.

    Raises
    ------
    ValueError
        As :func:`estimate_synthetic_did`.
    """
    return _panel_method(
        panel, "did", alpha=alpha, solver="active-set", sparsify=False, n_placebo=n_placebo, rng=rng
    )


def estimate_synthdid_sc(
    panel: Panel,
    *,
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

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel`.
    alpha, solver, sparsify, n_placebo, rng
        See :func:`estimate_synthetic_did`.

    Returns
    -------
    Estimate
        ``method="synthetic control (synthdid)"``, with the details of
        :func:`estimate_synthetic_did`.

    Raises
    ------
    ValueError
        As :func:`estimate_synthetic_did`.
    """
    return _panel_method(
        panel, "sc", alpha=alpha, solver=solver, sparsify=sparsify, n_placebo=n_placebo, rng=rng
    )


def batch_estimate_synthetic_did(
    outcomes: np.ndarray,
    n_controls: int,
    n_pre: int,
    *,
    method: str = "sdid",
    alpha: float = 0.05,
    n_placebo: int = 200,
    rng: np.random.Generator | int | None = None,
) -> Estimates:
    """SDID, DiD or synthdid's SC with placebo standard errors on many panels.

    The computation of :func:`estimate_synthetic_did` (``method="sdid"``),
    :func:`estimate_panel_did` (``"did"``) or :func:`estimate_synthdid_sc` (``"sc"``),
    with the exact active-set solver, on each units-by-times matrix of a stack, without
    the DataFrame round trip, for Monte Carlo studies. In every panel rows
    ``0 .. n_controls - 1`` are the donors, the rest treated, and columns
    ``0 .. n_pre - 1`` the pre-period.

    Parameters
    ----------
    outcomes : array of shape (n_panels, n_units, n_times)
        The panels.
    n_controls : int
        Number of donor rows (at least two).
    n_pre : int
        Number of pre-period columns.
    method : {"sdid", "did", "sc"}
        The estimator.
    alpha, n_placebo
        See :func:`estimate_synthetic_did`.
    rng : numpy.random.Generator, int or None
        Draws the placebo relabellings when several rows are treated (one generator
        used across the panels in order).

    Returns
    -------
    Estimates
        One row per panel (labels ``0 .. n_panels - 1``): estimate, placebo standard
        error, ``t(n_controls - 1)`` interval and p-value.

    Raises
    ------
    ValueError
        If ``outcomes`` is not a finite 3-d array, the split leaves fewer than two donors,
        no treated rows, no pre- or no post-period, several rows are treated and there
        are no more controls than treated rows, ``method`` is unknown, ``n_placebo`` is
        not an integer of at least 2, or ``rng`` is invalid.
    """
    stack = as_float_array(outcomes, "outcomes", ndim=3)
    check_choice(method, "method", SYNTHDID_METHODS)
    n_controls = check_integer(n_controls, "n_controls", minimum=2)
    alpha = check_alpha(alpha)
    n_placebo = check_integer(n_placebo, "n_placebo", minimum=2)
    rng = check_rng(rng)
    estimate, se = np.empty(stack.shape[0]), np.empty(stack.shape[0])
    for s, y in enumerate(stack):
        panel = Panel.from_matrix(y, n_controls, n_pre)
        _check_placebo_controls(n_controls, panel.n_treated)
        point = _sdid_point(panel.outcomes, n_controls, panel.n_pre, method, "active-set", True)
        estimate[s] = point["estimate"]
        se[s] = _placebo_replicates(
            panel.outcomes,
            n_controls,
            panel.n_pre,
            method,
            "active-set",
            True,
            point["zeta_omega"],
            n_placebo,
            rng,
        )[1]
    return Estimates.from_standard_errors(
        METHOD_NAMES[method], estimate, se, alpha=alpha, df=n_controls - 1
    )
