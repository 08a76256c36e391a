"""The synthetic-control fit: donor weights per treated unit, and leave-one-out refits.

:func:`fit_synthetic_control` fits the weights of each treated unit (on the pre-period
outcomes, or on predictors with the nested choice of predictor weights of Abadie, Diamond
& Hainmueller 2010) without inference; :func:`compute_leave_one_out` refits it without
each donor that carries weight. Inference lives in :mod:`playbook_lib.synth.placebo`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.synth._checks import check_panel
from playbook_lib.synth._predictors import (
    PredictorWeightSearch,
    attainment_slack,
    outcome_only_bound,
    search_predictor_weights,
)
from playbook_lib.synth._simplex import fit_rows, simplex_fit
from playbook_lib.synth.panel import Panel
from playbook_lib.synth.weights import SOLVERS
from playbook_lib.validation import (
    as_float_array,
    check_choice,
    check_flag,
    check_integer,
    check_positive,
)

__all__ = [
    "LeaveOneOutResult",
    "SyntheticControlFit",
    "compute_leave_one_out",
    "fit_synthetic_control",
]


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
        Number of pre-treatment periods.
    predictor_weights : pandas.Series or None
        The diagonal ``V`` when predictors were matched.
    predictor_loss : float or None
        With predictors: the loss the choice of ``V`` minimises, the mean squared
        pre-period outcome gap of the treated units (``rmspe_pre ** 2`` averaged).
    predictor_loss_bound : float or None
        With predictors: the same loss for the outcome-only weights, a lower bound no
        ``V`` can beat.
    optimum_certified : bool or None
        With predictors: whether ``predictor_loss`` attains that bound, which proves the
        chosen ``V`` globally optimal.
    """

    weights: pd.DataFrame
    intercepts: pd.Series
    synthetic: pd.DataFrame
    gaps: pd.DataFrame
    n_pre: int
    predictor_weights: pd.Series | None = None
    predictor_loss: float | None = None
    predictor_loss_bound: float | None = None
    optimum_certified: bool | None = None

    @property
    def effects(self) -> pd.Series:
        """Mean post-period gap per treated unit."""
        return self.gaps.iloc[self.n_pre :].mean()

    @property
    def rmspe_pre(self) -> pd.Series:
        """Root mean squared pre-period gap per treated unit."""
        return np.sqrt((self.gaps.iloc[: self.n_pre] ** 2).mean())

    @property
    def rmspe_post(self) -> pd.Series:
        """Root mean squared post-period gap per treated unit."""
        return np.sqrt((self.gaps.iloc[self.n_pre :] ** 2).mean())


@dataclass(frozen=True)
class LeaveOneOutResult:
    """Synthetic-control refits without, in turn, each donor that carries weight.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by the dropped donor (first row ``"(none)"``: the full fit): ``weight``
        (its weight in the full fit, averaged over treated units), ``estimate`` (average
        post-period gap without it) and ``rmspe_pre``.
    synthetic : pandas.DataFrame
        Each refit's average synthetic series: index times, one column per row of
        ``table``.
    """

    table: pd.DataFrame
    synthetic: pd.DataFrame


def _predictor_table(
    panel: Panel, predictors: list[Any], predictor_times: list[Any]
) -> pd.DataFrame:
    """Predictors (rows) by unit (columns): covariate means, then outcomes at times."""
    rows: dict[str, pd.Series] = {}
    if predictors:
        covariates = panel.covariates
        available = [] if covariates is None else list(covariates.columns)
        unknown = [name for name in predictors if name not in available]
        if unknown:
            raise ValueError(
                f"predictors: {unknown} are not covariates of the panel (available: "
                f"{available}; give them to prepare_panel(covariates=...))"
            )
        for name in predictors:
            rows[name] = covariates[name]
    pre_times = panel.times[: panel.n_pre]
    pre_set = set(pre_times.tolist())
    for t in predictor_times:
        try:
            is_pre = not isinstance(t, bool) and t in pre_set
        except TypeError:
            is_pre = False
        if not is_pre:
            raise ValueError(f"predictor_times: {t!r} is not a pre-treatment time")
        rows[f"outcome@{t}"] = pd.Series(panel.outcomes[:, pre_times.get_loc(t)], index=panel.units)
    return pd.DataFrame(rows).T.reindex(columns=panel.units).astype(float)


def _check_predictor_options(
    predictors: Any,
    predictor_times: Any,
    predictor_weights: Any,
) -> tuple[list[Any], list[Any], str | np.ndarray]:
    """Two lists (predictor names, predictor times), and ``"optimize"``, ``"equal"`` or
    finite numbers for ``predictor_weights``."""
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
    if isinstance(predictor_weights, str):
        check_choice(predictor_weights, "predictor_weights", ("optimize", "equal"))
        weights: str | np.ndarray = predictor_weights
    else:
        weights = as_float_array(predictor_weights, "predictor_weights")
    return lists[0], lists[1], weights


def _standardised_predictors(table: pd.DataFrame) -> np.ndarray:
    """Predictors ``(K, N)`` divided by their standard deviation over all units.

    The scale uses every unit, treated or not, so it does not depend on which unit is
    labelled treated: the placebo refits then standardise exactly as the treated fit.
    """
    x = table.to_numpy()
    sd = x.std(axis=1, ddof=1)
    sd[~(sd > 0)] = 1.0
    return x / sd[:, None]


def _check_fixed_weights(predictor_weights: np.ndarray, n_pred: int) -> np.ndarray:
    v = predictor_weights
    if v.shape != (n_pred,) or (v < 0).any() or v.sum() <= 0:
        raise ValueError(f"predictor_weights must be {n_pred} non-negative numbers, got {v}")
    return v / v.sum()


def _matched_fit(
    x0: np.ndarray,
    x1: np.ndarray,
    y0_pre: np.ndarray,
    y1_pre: np.ndarray,
    predictor_weights: str | np.ndarray,
    *,
    solver: str,
    tol: float,
    n_starts: int,
) -> PredictorWeightSearch:
    """Donor weights matching standardised predictors ``x0`` ``(K, J)`` / ``x1``
    ``(K, N1)``, with ``V`` searched (``"optimize"``), equal or given (private: the
    treated fit and every placebo refit call it alike)."""
    n_pred = x0.shape[0]
    if isinstance(predictor_weights, str) and predictor_weights == "optimize" and n_pred > 1:
        return search_predictor_weights(
            x0, x1, y0_pre, y1_pre, n_starts=n_starts, solver=solver, tol=tol
        )
    if isinstance(predictor_weights, str):
        v = np.full(n_pred, 1.0 / n_pred)
    else:
        v = _check_fixed_weights(predictor_weights, n_pred)
    root = np.sqrt(v)
    w = np.column_stack(
        [
            simplex_fit(root[:, None] * x0, root * x1[:, k], solver=solver, tol=tol).weights
            for k in range(x1.shape[1])
        ]
    )
    loss = float(np.mean((y1_pre - w.T @ y0_pre) ** 2))
    bound = outcome_only_bound(y0_pre, y1_pre, tol)[1]
    certified = loss <= bound + attainment_slack(bound, y1_pre)
    return PredictorWeightSearch(v, w, loss, bound, certified, 1)


def _fit_panel(
    panel: Panel,
    *,
    intercept: bool = False,
    predictors: Sequence[Any] = (),
    predictor_times: Sequence[Any] = (),
    predictor_weights: str | np.ndarray = "optimize",
    solver: str = "active-set",
    tol: float = 1e-10,
    n_starts: int = 2,
) -> SyntheticControlFit:
    """:func:`fit_synthetic_control` on checked options."""
    controls, treated, n_pre = panel.controls, panel.treated, panel.n_pre
    v_series, search = None, None
    if predictors or predictor_times:
        table = _predictor_table(panel, list(predictors), list(predictor_times))
        x = _standardised_predictors(table)
        search = _matched_fit(
            x[:, : panel.n_controls],
            x[:, panel.n_controls :],
            controls[:, :n_pre],
            treated[:, :n_pre],
            predictor_weights,
            solver=solver,
            tol=tol,
            n_starts=n_starts,
        )
        weights = search.weights
        shifts = np.zeros(panel.n_treated)
        synthetic = weights.T @ controls
        v_series = pd.Series(search.v, index=table.index, name="predictor_weight")
    else:
        weights, shifts, synthetic = fit_rows(
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
        predictor_loss=None if search is None else search.loss,
        predictor_loss_bound=None if search is None else search.lower_bound,
        optimum_certified=None if search is None else search.certified,
    )


def fit_synthetic_control(
    panel: Panel,
    *,
    intercept: bool = False,
    predictors: Sequence[str] | None = None,
    predictor_times: Sequence[Any] | None = None,
    predictor_weights: str | Sequence[float] = "optimize",
    solver: str = "active-set",
    tol: float = 1e-10,
    n_starts: int = 2,
) -> SyntheticControlFit:
    """Fit synthetic-control weights for each treated unit (no inference).

    Without predictors, each treated unit's weights minimise the pre-period squared gap
    ``sum_t (Y_1t - c - sum_j w_j Y_jt)^2`` over the simplex (``c = 0`` unless
    ``intercept``). With ``predictors`` (covariates of the panel, averaged over the
    pre-period) and/or ``predictor_times`` (pre-period outcome values), the weights instead
    minimise ``(X_1 - X_0 w)' V (X_1 - X_0 w)`` with standardised predictors (Abadie,
    Diamond & Hainmueller 2010; no intercept); ``predictor_weights="optimize"`` chooses the
    diagonal ``V`` (on the simplex) that minimises the pre-period outcome MSPE (their
    nested optimisation), ``"equal"`` uses ``V = I/K``, or pass the ``K`` weights. Several
    treated units share one ``V``.

    The nested problem is not convex, so a search from one start can stop at a local
    optimum that depends on the start. The search is global in two steps. First a
    certificate: the outcome-only weights give a lower bound on the loss; if a linear
    programme finds a ``V`` under which they solve the predictor-matching problem (its
    optimality conditions are linear in ``V``) and the fit at that ``V`` attains the
    bound, that ``V`` is a global optimum (Malo, Eskelinen, Zhou & Kuosmanen 2023).
    Otherwise BFGS with the exact gradient (implicit differentiation of the weights on
    their support) runs from ``n_starts`` deterministic starts (equal weights, the
    linear programme's ``V``, then Sobol points on the simplex), and the best end point
    wins. ``predictor_loss``, ``predictor_loss_bound`` and ``optimum_certified`` report
    what the search achieved.

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel` (with ``covariates=`` for
        predictor matching).
    intercept : bool
        Fit a free level shift (outcome-only fits).
    predictors : sequence of str, optional
        Covariates of the panel to match on.
    predictor_times : sequence, optional
        Pre-period times whose outcomes to match on.
    predictor_weights : {"optimize", "equal"} or sequence of float
        The predictor weights ``V``.
    solver, tol
        See :func:`~playbook_lib.synth.fit_simplex_weights`.
    n_starts : int
        Starting points of the search for ``V`` when the certificate fails.

    Returns
    -------
    SyntheticControlFit

    Raises
    ------
    ValueError
        If ``panel`` is not a :class:`Panel`; on bad predictor settings (a predictor that
        is not a covariate of the panel, a predictor time outside the pre-period,
        ``predictor_weights`` not ``"optimize"``, ``"equal"`` or one non-negative number
        per predictor); or a non-boolean ``intercept``, an unknown ``solver``, a
        non-positive ``tol`` or ``n_starts`` not a positive integer.
    """
    panel = check_panel(panel)
    n_starts = check_integer(n_starts, "n_starts", minimum=1)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    tol = check_positive(tol, "tol")
    predictors, predictor_times, predictor_weights = _check_predictor_options(
        predictors, predictor_times, predictor_weights
    )
    return _fit_panel(
        panel,
        intercept=intercept,
        predictors=predictors,
        predictor_times=predictor_times,
        predictor_weights=predictor_weights,
        solver=solver,
        tol=tol,
        n_starts=n_starts,
    )


def compute_leave_one_out(
    panel: Panel,
    *,
    intercept: bool = False,
    min_weight: float = 1e-6,
    solver: str = "active-set",
) -> LeaveOneOutResult:
    """Refit the synthetic control leaving out, one at a time, each donor with weight.

    A robustness check (Abadie, Diamond & Hainmueller 2015; Abadie 2021): if the effect
    hinges on one donor, the result is fragile. The fits are outcome-only.

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel`.
    intercept, solver
        See :func:`fit_synthetic_control`.
    min_weight : float
        A donor is dropped in turn if its weight exceeds this for some treated unit.

    Returns
    -------
    LeaveOneOutResult
        The table of refits (first row ``"(none)"``, the full fit) and each refit's
        average synthetic series.

    Raises
    ------
    ValueError
        If ``panel`` is not a :class:`Panel`, ``min_weight`` is negative or not finite,
        ``intercept`` not a boolean or ``solver`` unknown.
    """
    panel = check_panel(panel)
    min_weight = check_positive(min_weight, "min_weight", strict=False)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    full = _fit_panel(panel, intercept=intercept, solver=solver)
    mean_weight = full.weights.mean(axis=1)
    rows = [
        {
            "dropped": "(none)",
            "weight": 0.0,
            "estimate": float(full.effects.mean()),
            "rmspe_pre": float(full.rmspe_pre.mean()),
        }
    ]
    series = {"(none)": full.synthetic.mean(axis=1)}
    keep_all = np.ones(panel.n_controls, dtype=bool)
    for j in np.flatnonzero((full.weights.to_numpy() > min_weight).any(axis=1)):
        keep = keep_all.copy()
        keep[j] = False
        if keep.sum() < 1:
            continue
        sub = Panel(
            np.vstack([panel.controls[keep], panel.treated]),
            pd.Index(list(panel.donor_units[keep]) + list(panel.treated_units)),
            panel.times,
            int(keep.sum()),
            panel.n_pre,
        )
        refit = _fit_panel(sub, intercept=intercept, solver=solver)
        name = panel.donor_units[j]
        rows.append(
            {
                "dropped": name,
                "weight": float(mean_weight.iloc[j]),
                "estimate": float(refit.effects.mean()),
                "rmspe_pre": float(refit.rmspe_pre.mean()),
            }
        )
        series[name] = refit.synthetic.mean(axis=1)
    return LeaveOneOutResult(
        table=pd.DataFrame(rows).set_index("dropped"), synthetic=pd.DataFrame(series)
    )
