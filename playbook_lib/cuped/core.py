"""CUPED, regression adjustment and other ways to spend pre-period data on precision.

Every estimator compares a treatment arm (``treatment == 1``) with a control arm
(``treatment == 0``) in a randomised experiment and returns the shared
:class:`~playbook_lib.results.Estimate` of ``mean(treatment) - mean(control)``.

- :func:`estimate_cuped` / :func:`estimate_cuped_from_stats`: CUPED (Deng, Xu, Kohavi &
  Walker, 2013) from user rows or from per-arm aggregates (counts, sums, sums of squares,
  cross-products; :func:`summarize_arms` computes them), with one or several pre-period
  covariates; ``relative=True`` gives the relative lift as a separate estimate.
- :func:`estimate_cuped_batch`: the same estimator (and the plain difference and Lin's
  estimator) for many simulated experiments at once, arrays of shape ``(n_sims, n)``.
- :func:`estimate_regression_adjustment`: ANCOVA and Lin's (2013) fully interacted
  estimator with heteroskedasticity-robust (HC2) standard errors, via statsmodels.
- :func:`cross_fit_predictions` / :func:`estimate_cupac`: a machine-learning prediction of
  the outcome from pre-period features, cross-fitted, used as the CUPED covariate (CUPAC).
- :func:`estimate_ratio_cuped`: CUPED for ratio metrics (e.g. revenue per session) with the
  delta method (Deng, Knoblich & Lu, 2018).
- :func:`estimate_post_stratified`: post-stratification, CUPED's discrete sibling
  (Miratrix, Sekhon & Yu, 2013).

Conventions: ``theta`` is estimated on the pooled sample *within arms* (each arm centred on
its own means, then pooled), which makes the CUPED effect identical to the OLS coefficient
on the treatment in ``outcome ~ treatment + covariate``; ``theta_method="total"`` gives the
textbook ``cov(Y, X) / var(X)`` on the pooled sample ignoring arms, as in Deng et al. (the
two effect estimates differ by O(1/n)). Standard errors treat ``theta`` as known (estimating
it adds a relative O(k/n) to the variance) and use Welch's t with Welch-Satterthwaite degrees
of freedom on the adjusted outcomes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import special, stats

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_binary,
    check_choice,
    check_finite_number,
    check_flag,
    check_integer,
    check_not_constant,
    check_regression_design,
    check_rng,
    check_same_length,
    column_as_float_array,
    warn_point_interval,
)

__all__ = [
    "cross_fit_predictions",
    "estimate_cupac",
    "estimate_cuped",
    "estimate_cuped_batch",
    "estimate_cuped_from_stats",
    "estimate_post_stratified",
    "estimate_ratio_cuped",
    "estimate_regression_adjustment",
    "summarize_arms",
]

_ARMS = ("control", "treatment")
_STAT_KEYS = ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy")


# --------------------------------------------------------------------------- inputs
def _column(data: pd.DataFrame | None, value: Any, name: str, *, allow_nan: bool = False) -> Any:
    """Return ``data[value]`` when ``data`` is given and ``value`` names column(s).

    Errors name the argument and the column (missing, non-numeric, NaN unless
    ``allow_nan``, infinite values).
    """
    if data is None:
        return value
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data has no rows")
    columns = [value] if isinstance(value, str) else value
    if (
        isinstance(columns, Sequence)
        and not isinstance(columns, str)
        and columns
        and all(isinstance(v, str) for v in columns)
    ):
        missing = [v for v in columns if v not in data.columns]
        if missing:
            raise ValueError(f"{name}: column(s) {missing} are not in data")
        arrays = [column_as_float_array(data, v, name, allow_nan=allow_nan) for v in columns]
        return arrays[0] if isinstance(value, str) else np.column_stack(arrays)
    return value


def _treatment(values: Any, name: str = "treatment") -> np.ndarray:
    """A boolean treatment indicator with at least two units in each arm."""
    array = check_binary(values, name, both=False)
    treated = array == 1
    if treated.sum() < 2 or (~treated).sum() < 2:
        raise ValueError(f"{name} must have at least two units in each arm")
    return treated


def _treatment_values(values: Any) -> np.ndarray:
    """The treatment as a finite 1-D float array (checked as 0/1 by :func:`_treatment`)."""
    return as_float_array(values, "treatment")


def _covariate_matrix(values: Any, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """Covariates as an ``(n, k)`` float array (a 1-D input becomes one column)."""
    dims = np.ndim(values) if not isinstance(values, str | bytes) else 0
    if dims not in (1, 2):
        raise ValueError(f"{name} must be 1- or 2-dimensional, got {values!r:.60}")
    array = as_float_array(values, name, ndim=dims, allow_nan=allow_nan)
    if array.ndim == 1:
        array = array[:, None]
    if array.shape[1] == 0:
        raise ValueError(f"{name} has no columns")
    if not allow_nan:
        for column in range(array.shape[1]):
            label = name if array.shape[1] == 1 else f"{name} column {column}"
            check_not_constant(array[:, column], label)
    return array


def _t_inference(estimate: float, se: float, df: float | None, alpha: float):
    """Two-sided p-value and interval from a t (or, with ``df=None``, normal) reference.

    A zero ``se`` is the limit ``se -> 0``: the point interval, p = 1 at 0 and 0 elsewhere.
    """
    if se == 0:
        return (1.0 if estimate == 0 else 0.0), estimate, estimate
    if df is None:
        sf, ppf = stats.norm.sf, stats.norm.ppf
    else:  # scipy.special's Student-t ufuncs: the same numbers as scipy.stats.t, far faster
        def sf(value: float) -> float:
            return special.stdtr(df, -value)

        def ppf(value: float) -> float:
            return special.stdtrit(df, value)
    p_value = float(2 * sf(abs(estimate) / se))
    half_width = float(ppf(1 - alpha / 2)) * se
    return min(max(p_value, 0.0), 1.0), estimate - half_width, estimate + half_width


def _welch_df(variances: np.ndarray, dofs: np.ndarray) -> float | None:
    """Welch-Satterthwaite degrees of freedom of a sum of variance components."""
    total = variances.sum()
    denominator = np.sum(variances**2 / dofs)
    if denominator <= 0:
        return None
    return float(total**2 / denominator)


# --------------------------------------------------------------------------- CUPED core
def _cuped_core(
    n: np.ndarray,
    mean_y: np.ndarray,
    mean_x: np.ndarray,
    syy: np.ndarray,
    sxx: np.ndarray,
    sxy: np.ndarray,
    *,
    alpha: float,
    theta_method: str,
    theta: Any,
    method: str,
    relative: bool = False,
) -> Estimate:
    """CUPED from per-arm sizes, means and *centred* sums (index 0 control, 1 treatment).

    Shapes: ``n, mean_y, syy`` (2,); ``mean_x, sxy`` (2, k); ``sxx`` (2, k, k).
    """
    k = mean_x.shape[1]
    within_xx = sxx.sum(axis=0)
    within_xy = sxy.sum(axis=0)
    within_yy = float(syy.sum())
    if np.linalg.matrix_rank(within_xx) < k:
        raise ValueError(
            "covariate is constant within arms or its columns are collinear "
            "(with each other or with the treatment)"
        )
    overall_x = (n[:, None] * mean_x).sum(axis=0) / n.sum()
    if theta is not None:
        if isinstance(theta, bool | np.bool_):
            raise ValueError(f"theta must hold {k} finite number(s), got {theta!r}")
        theta_vector = as_float_array(np.atleast_1d(theta), "theta")
        if theta_vector.shape != (k,):
            raise ValueError(f"theta must hold {k} finite number(s), got {theta!r}")
        theta_method = "fixed"
    elif theta_method == "within":
        theta_vector = np.linalg.solve(within_xx, within_xy)
    else:  # "total": cov(Y, X) / var(X) on the pooled sample, ignoring the arms
        overall_y = float((n * mean_y).sum() / n.sum())
        dx = mean_x - overall_x
        dy = mean_y - overall_y
        total_xx = within_xx + np.einsum("a,ai,aj->ij", n, dx, dx)
        total_xy = within_xy + np.einsum("a,ai,a->i", n, dx, dy)
        theta_vector = np.linalg.solve(total_xx, total_xy)

    raw_var = syy / (n - 1)
    adj_var = (syy - 2 * sxy @ theta_vector
               + np.einsum("i,aij,j->a", theta_vector, sxx, theta_vector)) / (n - 1)
    adj_var = np.maximum(adj_var, 0.0)
    components = adj_var / n
    raw_components = raw_var / n
    se = float(math.sqrt(components.sum()))
    raw_se = float(math.sqrt(raw_components.sum()))
    if se == 0:
        warn_point_interval("CUPED: the (adjusted) outcome is constant in both arms")

    raw_effect = float(mean_y[1] - mean_y[0])
    imbalance = mean_x[1] - mean_x[0]
    effect = raw_effect - float(imbalance @ theta_vector)
    df = _welch_df(components, n - 1)
    p_value, low, high = _t_inference(effect, se, df, alpha)

    explained = float(within_xy @ np.linalg.solve(within_xx, within_xy))
    r_squared = explained / within_yy if within_yy > 0 else 0.0
    rho = math.sqrt(max(r_squared, 0.0))
    if k == 1:
        rho = math.copysign(rho, float(within_xy[0]))
    adjusted_means = mean_y - (mean_x - overall_x) @ theta_vector
    details: dict[str, Any] = {
        "n_control": int(n[0]),
        "n_treatment": int(n[1]),
        "theta": float(theta_vector[0]) if k == 1 else tuple(map(float, theta_vector)),
        "theta_method": theta_method,
        "rho": rho,
        "r_squared": r_squared,
        "variance_reduction": 1.0 - se**2 / raw_se**2 if raw_se > 0 else 0.0,
        "unadjusted_estimate": raw_effect,
        "unadjusted_se": raw_se,
        "mean_control": float(mean_y[0]),
        "mean_treatment": float(mean_y[1]),
        "adjusted_mean_control": float(adjusted_means[0]),
        "adjusted_mean_treatment": float(adjusted_means[1]),
        "covariate_difference": float(imbalance[0]) if k == 1 else tuple(map(float, imbalance)),
    }
    if relative:
        return _relative_lift(n, mean_y, mean_x, syy, sxx, sxy, theta_vector, overall_x,
                              alpha=alpha, method=method, details=details)
    return Estimate(method, effect, se, low, high, alpha=alpha, p_value=p_value, df=df,
                    details=details)


def _relative_lift(n, mean_y, mean_x, syy, sxx, sxy, theta_vector, overall_x, *, alpha,
                   method, details) -> Estimate:
    """Delta-method relative lift ``m_T / m_C - 1`` of the CUPED-adjusted arm means.

    ``m_a = mean_y_a - theta·(mean_x_a - overall_x)`` with ``overall_x`` the size-weighted
    mean of both arms, so each adjusted mean depends on both arms' covariate means; the
    gradient below accounts for that (``theta`` treated as known, as for the difference).
    """
    share = n / n.sum()
    adjusted = mean_y - (mean_x - overall_x) @ theta_vector
    m_control, m_treatment = float(adjusted[0]), float(adjusted[1])
    scale = math.sqrt(float(np.max(syy / n))) + float(np.max(np.abs(mean_y)))
    if abs(m_control) <= 1e-12 * scale:
        raise ValueError("the adjusted control mean is zero: a relative lift is undefined")
    lift = m_treatment / m_control - 1
    ratio = m_treatment / m_control**2
    # gradients of the lift with respect to (mean_y_a, mean_x_a) for a = control, treatment
    gradient_control = np.concatenate((
        [-ratio], theta_vector * (share[0] / m_control + ratio * share[1])))
    gradient_treatment = np.concatenate((
        [1 / m_control], -theta_vector * (share[0] / m_control + ratio * share[1])))
    components = []
    for arm, gradient in ((0, gradient_control), (1, gradient_treatment)):
        k = sxx.shape[1]
        covariance = np.empty((k + 1, k + 1))
        covariance[0, 0] = syy[arm]
        covariance[0, 1:] = covariance[1:, 0] = sxy[arm]
        covariance[1:, 1:] = sxx[arm]
        covariance /= (n[arm] - 1) * n[arm]
        components.append(float(gradient @ covariance @ gradient))
    components = np.array(components)
    se = float(math.sqrt(max(components.sum(), 0.0)))
    df = _welch_df(components, n - 1)
    p_value, low, high = _t_inference(lift, se, df, alpha)
    return Estimate(f"{method} relative lift", lift, se, low, high, alpha=alpha,
                    p_value=p_value, df=df, details=details)


def _arm_moments(y: np.ndarray, x: np.ndarray, treated: np.ndarray):
    """Per-arm sizes, means and centred sums computed stably from rows."""
    n, mean_y, mean_x, syy, sxx, sxy = [], [], [], [], [], []
    for arm in (~treated, treated):
        ya, xa = y[arm], x[arm]
        my, mx = ya.mean(), xa.mean(axis=0)
        dy, dx = ya - my, xa - mx
        n.append(arm.sum())
        mean_y.append(my)
        mean_x.append(mx)
        syy.append(dy @ dy)
        sxx.append(dx.T @ dx)
        sxy.append(dx.T @ dy)
    return (np.array(n, dtype=float), np.array(mean_y), np.array(mean_x), np.array(syy),
            np.array(sxx), np.array(sxy))


def estimate_cuped(
    outcome: Any,
    covariate: Any,
    treatment: Any,
    *,
    data: pd.DataFrame | None = None,
    alpha: float = 0.05,
    theta_method: str = "within",
    theta: float | Sequence[float] | None = None,
    relative: bool = False,
) -> Estimate:
    """CUPED: the difference in means of ``Y - theta (X - mean(X))`` between the arms.

    Parameters
    ----------
    outcome, treatment : array-like or str
        The in-experiment metric per user and the 0/1 assignment; column names if ``data``
        is given.
    covariate : array-like or str or list of str
        One pre-period covariate per user (1-D), or several (``(n, k)`` array or a list of
        column names). It must not be affected by the treatment: measure it before
        assignment.
    data : pandas.DataFrame, optional
        Where to look up column names.
    alpha : float
        One minus the confidence level of the interval.
    theta_method : {"within", "total"}
        ``"within"`` (default): ``theta`` from the arms' centred (co)variances pooled, so the
        effect equals the OLS coefficient on the treatment in
        ``outcome ~ treatment + covariate``. ``"total"``: ``cov(Y, X) / var(X)`` on the
        pooled sample ignoring the arms, as written in Deng et al. (2013).
    theta : float or sequence of float, optional
        A fixed ``theta`` (e.g. from an earlier experiment) instead of estimating it.
    relative : bool
        Return instead the relative lift ``m_T / m_C - 1`` of the adjusted arm means
        (``method="cuped relative lift"``), with a delta-method standard error.

    Returns
    -------
    Estimate
        ``method="cuped"``; Welch t interval on the adjusted outcomes. ``details`` holds
        ``theta``, ``rho`` (within-arm correlation of outcome and covariate; the multiple
        correlation for several covariates), ``r_squared``, ``variance_reduction``
        (``1 - se² / unadjusted se²``), the unadjusted estimate and se, arm sizes and means.
        An outcome constant within both arms (after adjustment) has se 0: the interval is
        the point estimate, p is 1 when it is 0 and 0 otherwise, ``df`` is ``None``, and
        a :class:`~playbook_lib.PlaybookWarning` says so.

    Raises
    ------
    ValueError
        Naming the argument (and the column when ``data`` is given): length mismatch, NaN,
        infinite or non-numeric values, a constant covariate, a treatment that is not 0/1
        or has fewer than two users in an arm, a bad ``theta`` or ``relative``.

    Notes
    -----
    Assumes randomised assignment and a covariate fixed before assignment; then any
    ``theta`` gives an unbiased estimate and the estimated one minimises the variance,
    which shrinks by the factor ``1 - rho²``. Source: Deng, Xu, Kohavi & Walker (2013),
    "Improving the sensitivity of online controlled experiments by utilizing
    pre-experiment data", WSDM.
    """
    alpha = check_alpha(alpha)
    check_choice(theta_method, "theta_method", ("within", "total"))
    check_flag(relative, "relative")
    y = as_float_array(_column(data, outcome, "outcome"), "outcome")
    x = _covariate_matrix(_column(data, covariate, "covariate"), "covariate")
    t_values = _treatment_values(_column(data, treatment, "treatment"))
    check_same_length(outcome=y, covariate=x, treatment=t_values)
    treated = _treatment(t_values)
    moments = _arm_moments(y, x, treated)
    return _cuped_core(*moments, alpha=alpha, theta_method=theta_method, theta=theta,
                       method="cuped", relative=relative)


def summarize_arms(
    outcome: Any,
    covariate: Any,
    treatment: Any,
    *,
    data: pd.DataFrame | None = None,
) -> dict[str, dict[str, Any]]:
    """Per-arm aggregates a warehouse query returns: the inputs of the ``_from_stats`` twin.

    Returns
    -------
    dict
        ``{"control": {...}, "treatment": {...}}``, each with ``n``, ``sum_y``, ``sum_y2``
        (sum of squares), ``sum_x``, ``sum_x2`` and ``sum_xy``. With one covariate these are
        floats; with ``k`` covariates ``sum_x`` and ``sum_xy`` have shape ``(k,)`` and
        ``sum_x2`` is the ``(k, k)`` matrix of sums of ``x xᵀ``.

    Raises
    ------
    ValueError
        As :func:`estimate_cuped`.
    """
    y = as_float_array(_column(data, outcome, "outcome"), "outcome")
    x = _covariate_matrix(_column(data, covariate, "covariate"), "covariate")
    t_values = _treatment_values(_column(data, treatment, "treatment"))
    check_same_length(outcome=y, covariate=x, treatment=t_values)
    treated = _treatment(t_values)
    single = x.shape[1] == 1
    result = {}
    for name, arm in zip(_ARMS, (~treated, treated), strict=True):
        ya, xa = y[arm], x[arm]
        sums = {
            "n": int(arm.sum()),
            "sum_y": float(ya.sum()),
            "sum_y2": float(ya @ ya),
            "sum_x": xa.sum(axis=0),
            "sum_x2": xa.T @ xa,
            "sum_xy": xa.T @ ya,
        }
        if single:
            sums.update(sum_x=float(sums["sum_x"][0]), sum_x2=float(sums["sum_x2"][0, 0]),
                        sum_xy=float(sums["sum_xy"][0]))
        result[name] = sums
    return result


def estimate_cuped_from_stats(
    control: Mapping[str, Any],
    treatment: Mapping[str, Any],
    *,
    alpha: float = 0.05,
    theta_method: str = "within",
    theta: float | Sequence[float] | None = None,
    relative: bool = False,
) -> Estimate:
    """CUPED from per-arm aggregates; the same answer as :func:`estimate_cuped` on the rows.

    Parameters
    ----------
    control, treatment : Mapping
        Per arm: ``n`` (users), ``sum_y`` (sum of the outcome), ``sum_y2`` (sum of squared
        outcomes), ``sum_x`` (sum of the covariate), ``sum_x2`` (sum of squared covariates)
        and ``sum_xy`` (sum of outcome × covariate). For ``k`` covariates pass ``sum_x`` and
        ``sum_xy`` of length ``k`` and ``sum_x2`` as the ``(k, k)`` matrix of sums of
        ``x xᵀ``. A ``dict``, a ``pandas.Series`` (one row of a GROUP BY result) or the
        output of :func:`summarize_arms` all work.
    alpha, theta_method, theta, relative
        As in :func:`estimate_cuped`.

    Returns
    -------
    Estimate
        As :func:`estimate_cuped`.

    Raises
    ------
    ValueError
        Naming the arm and key: a missing key, ``n`` not an integer >= 2, a sum that is
        not a finite number (strings are refused; scalar sums must be numbers, not
        arrays), or inconsistent sums (a negative variance, a correlation outside
        [-1, 1], a covariate constant in both arms).

    Notes
    -----
    Centred sums come from ``sum_x2 - n mean_x mean_xᵀ`` etc. This loses digits when the
    means are huge relative to the spread (> 1e6 times); centre the metric in the query
    (e.g. subtract a constant) if so. A centred sum below ``1e-12`` of the raw sum of
    squares carries no digits of the spread, so that arm's covariate (or outcome) is
    treated as constant: a covariate constant (up to round-off) in both arms raises
    :class:`ValueError` naming ``sum_x2`` and the covariate, instead of dividing
    round-off by round-off (which gave effects like ``3e13`` with p = 0). An outcome
    constant in both arms gives se 0, the point interval and p = 1 (equal means) or 0,
    with a :class:`~playbook_lib.PlaybookWarning`.
    """
    alpha = check_alpha(alpha)
    check_choice(theta_method, "theta_method", ("within", "total"))
    check_flag(relative, "relative")
    arms = [_arm_sums(control, "control"), _arm_sums(treatment, "treatment")]
    sizes = {arm["sum_x"].size for arm in arms}
    if len(sizes) > 1:
        raise ValueError("control and treatment have different numbers of covariates")
    n = np.array([arm["n"] for arm in arms])
    k = arms[0]["sum_x"].size
    mean_y = np.array([arm["sum_y"] for arm in arms]) / n
    sum_y2 = np.array([arm["sum_y2"] for arm in arms])
    sum_x = np.array([arm["sum_x"] for arm in arms])
    sum_x2 = np.array([arm["sum_x2"] for arm in arms])
    sum_xy = np.array([arm["sum_xy"] for arm in arms])
    mean_x = sum_x / n[:, None]
    syy = sum_y2 - n * mean_y**2
    sxx = sum_x2 - n[:, None, None] * np.einsum("ai,aj->aij", mean_x, mean_x)
    sxy = sum_xy - n[:, None] * mean_x * mean_y[:, None]
    for arm, name in enumerate(_ARMS):
        if syy[arm] < -1e-9 * abs(sum_y2[arm]):
            raise ValueError(
                f"{name}['sum_y2'] is inconsistent with sum_y and n (negative variance)"
            )
        diagonal = np.diagonal(sxx[arm])
        raw_diagonal = np.diagonal(sum_x2[arm])
        if (diagonal < -1e-9 * np.abs(raw_diagonal)).any():
            raise ValueError(
                f"{name}['sum_x2'] is inconsistent with sum_x and n (negative variance)"
            )
        # Centred sums below 1e-12 of the raw ones are round-off of a constant: the sums
        # hold no digits of the spread, so the outcome or covariate is treated as
        # constant in this arm (exact zeros) rather than divided by noise.
        if syy[arm] <= 1e-12 * abs(sum_y2[arm]):
            syy[arm] = 0.0
            sxy[arm] = 0.0
        constant = diagonal <= 1e-12 * np.abs(raw_diagonal)
        sxx[arm][constant, :] = 0.0
        sxx[arm][:, constant] = 0.0
        sxy[arm][constant] = 0.0
        scale = np.sqrt(np.maximum(np.diagonal(sxx[arm]), 0.0) * max(syy[arm], 0.0))
        tolerance = 1e-9 * np.sqrt(np.abs(raw_diagonal) * abs(sum_y2[arm]))
        if (np.abs(sxy[arm]) > scale + tolerance).any():
            raise ValueError(
                f"{name}['sum_xy'] is inconsistent with the sums of squares (it implies a "
                "correlation outside [-1, 1])"
            )
    syy = np.maximum(syy, 0.0)
    for column in range(k):
        if (np.diagonal(sxx, axis1=1, axis2=2)[:, column] <= 0).all():
            label = "covariate" if k == 1 else f"covariate column {column}"
            raise ValueError(
                f"sum_x2 implies a constant {label} in both arms (zero variance, or a "
                "variance below 1e-12 of its mean square, i.e. lost to round-off)"
            )
    return _cuped_core(n, mean_y, mean_x, syy, sxx, sxy, alpha=alpha,
                       theta_method=theta_method, theta=theta, method="cuped",
                       relative=relative)


def _arm_sums(arm: Any, arm_name: str) -> dict[str, Any]:
    """One arm's aggregates, checked: ``n`` an integer >= 2, finite numeric sums."""
    if not isinstance(arm, Mapping | pd.Series):
        raise ValueError(f"{arm_name} must be a mapping of per-arm sums")
    for key in _STAT_KEYS:
        if key not in arm:
            raise ValueError(f"{arm_name} is missing {key!r}")
    out: dict[str, Any] = {"n": float(check_integer(arm["n"], f"{arm_name}['n']", minimum=2))}
    for key in ("sum_y", "sum_y2"):
        out[key] = check_finite_number(_as_scalar(arm[key]), f"{arm_name}['{key}']")
    for key in ("sum_x", "sum_xy"):
        value = arm[key]
        label = f"{arm_name}['{key}']"
        if np.ndim(value) == 0:
            out[key] = np.array([check_finite_number(_as_scalar(value), label)])
        else:
            out[key] = as_float_array(value, label)
    k = out["sum_x"].size
    if out["sum_xy"].size != k:
        raise ValueError(f"{arm_name}['sum_xy'] must have {k} element(s), like sum_x")
    value = arm["sum_x2"]
    label = f"{arm_name}['sum_x2']"
    if np.ndim(value) == 0:
        matrix = np.array([[check_finite_number(_as_scalar(value), label)]])
    else:
        matrix = as_float_array(value, label, ndim=np.ndim(value))
    if matrix.size != k * k:
        raise ValueError(f"{label} must be a {k} x {k} matrix, got shape {matrix.shape}")
    out["sum_x2"] = matrix.reshape(k, k)
    return out


def _as_scalar(value: Any) -> Any:
    """A 0-d NumPy array as its item (other values unchanged, for the number check)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


# --------------------------------------------------------------------------- batch
def estimate_cuped_batch(
    outcome: Any,
    covariate: Any,
    treatment: Any,
    *,
    method: str = "cuped",
    include: Any = None,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Estimators for many simulated experiments at once (rows are experiments).

    Parameters
    ----------
    outcome : array-like, shape (n_sims, n)
        One experiment per row.
    covariate : array-like, shape (n_sims, n) or (n_sims, n, k)
        One pre-period covariate, or ``k`` of them in the last axis (``"lin"``: one only).
    treatment : array-like, shape (n_sims, n) or (n,)
        0/1 assignment per row (a 1-D array is shared by all rows).
    method : {"cuped", "difference", "lin"}
        ``"cuped"``: as :func:`estimate_cuped` (theta pooled within arms, Welch t).
        ``"difference"``: the unadjusted difference in means (Welch t).
        ``"lin"``: Lin's (2013) estimator, separate slopes per arm evaluated at the overall
        covariate mean; its se targets the population average effect, as
        :func:`estimate_regression_adjustment` with ``estimand="population"``: it adds the
        heterogeneity term ``(beta_T - beta_C)² var(X) / n`` to the per-arm residual
        variances (normal-theory Welch degrees of freedom with ``n_arm - 2``).
    include : array-like of bool, shape (n_sims, n), optional
        Which units each experiment analyses (e.g. only returning users); default all.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    dict of numpy.ndarray
        Each of shape ``(n_sims,)``: ``estimate``, ``se``, ``df``, ``ci_low``, ``ci_high``,
        ``p_value``; and ``theta`` (``(n_sims,)`` or ``(n_sims, k)``; zeros for
        ``"difference"``; the slope difference ``beta_T - beta_C`` for ``"lin"``).

        A row whose outcome is constant within both arms gets ``se = 0``, the point
        interval and ``p_value`` 1 (zero estimate) or 0.

    Raises
    ------
    ValueError
        On mismatched shapes, NaN, infinite or non-numeric values, non-binary treatment,
        an arm with < 3 users, or a covariate constant within the arms of a row.
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", ("cuped", "difference", "lin"))
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
        weights = (1.0 - t, t)
    else:
        keep = np.asarray(include)
        if keep.shape != y.shape or keep.dtype != np.bool_:
            raise ValueError(f"include must be a boolean array of shape {y.shape}")
        weights = ((1.0 - t) * keep, t * keep)
    n = np.stack([w.sum(axis=1) for w in weights])  # (2, n_sims)
    if (n < 3).any():
        raise ValueError("treatment must have at least three units in each arm of every row")
    mean_y = np.stack([(w * y).sum(axis=1) for w in weights]) / n  # (2, S)
    mean_x = np.stack([np.einsum("sn,snk->sk", w, x) for w in weights]) / n[..., None]
    syy, sxx, sxy = [], [], []
    for arm, w in enumerate(weights):
        dy = y - mean_y[arm][:, None]
        dx = x - mean_x[arm][:, None, :]
        wdx = w[..., None] * dx
        syy.append((w * dy * dy).sum(axis=1))
        sxx.append(np.einsum("snk,snl->skl", wdx, dx))
        sxy.append(np.einsum("snk,sn->sk", wdx, dy))
    syy, sxx, sxy = np.stack(syy), np.stack(sxx), np.stack(sxy)  # (2,S) (2,S,k,k) (2,S,k)
    if method != "difference":
        spread = np.diagonal(sxx, axis1=2, axis2=3)  # (2, S, k)
        flat = spread <= 1e-12 * np.einsum("asnk->ask", np.stack(weights)[..., None] * x**2)
        constant = flat.any(axis=0) if method == "lin" else flat.all(axis=0)
        if constant.any():
            rows = np.flatnonzero(constant.any(axis=-1))[:5].tolist()
            where = "within an arm" if method == "lin" else "within both arms"
            raise ValueError(f"covariate is constant {where} in row(s) {rows}")
        if method == "cuped" and (
            np.linalg.matrix_rank(sxx.sum(axis=0)) < x.shape[2]
        ).any():
            raise ValueError("covariate: columns are collinear within arms in some rows")
    if method == "difference":
        theta = np.zeros(mean_x.shape[1:])
        variances = syy / (n - 1) / n
        dofs = n - 1
        estimate = mean_y[1] - mean_y[0]
    elif method == "cuped":
        theta = np.linalg.solve(sxx.sum(axis=0), sxy.sum(axis=0)[..., None])[..., 0]
        quadratic = np.einsum("sk,askl,sl->as", theta, sxx, theta)
        adjusted = (syy - 2 * np.einsum("ask,sk->as", sxy, theta) + quadratic) / (n - 1)
        variances = np.maximum(adjusted, 0.0) / n
        dofs = n - 1
        estimate = (mean_y[1] - mean_y[0]) - np.einsum("sk,sk->s", mean_x[1] - mean_x[0],
                                                       theta)
    else:
        sxx1, sxy1, mean_x1 = sxx[..., 0, 0], sxy[..., 0], mean_x[..., 0]
        slopes = sxy1 / sxx1
        overall_x = (n * mean_x1).sum(axis=0) / n.sum(axis=0)
        fitted = mean_y + slopes * (overall_x - mean_x1)
        estimate = fitted[1] - fitted[0]
        residual = np.maximum(syy - slopes * sxy1, 0.0) / (n - 2)
        total_n = n.sum(axis=0)
        spread = (sxx1.sum(axis=0) + (n * (mean_x1 - overall_x) ** 2).sum(axis=0)) / (
            total_n - 1)
        heterogeneity = (slopes[1] - slopes[0]) ** 2 * spread / total_n
        variances = np.vstack([residual / n, heterogeneity[None, :]])
        dofs = np.vstack([n - 2, (total_n - 1)[None, :]])
        theta = slopes[1] - slopes[0]
    if single and method != "lin":
        theta = theta[..., 0]
    se = np.sqrt(variances.sum(axis=0))
    # Zero se (outcome constant within arms): df falls back to n - 2, and the se -> 0
    # limit gives the point interval and p = 1 for a zero estimate, else 0.
    denominator = np.sum(variances**2 / dofs, axis=0)
    df = variances.sum(axis=0) ** 2 / np.where(denominator > 0, denominator, 1.0)
    df = np.where(denominator > 0, df, (n - 1).sum(axis=0))
    critical = stats.t.ppf(1 - alpha / 2, df)
    degenerate = se == 0
    p_value = 2 * stats.t.sf(np.abs(estimate) / np.where(degenerate, 1.0, se), df)
    p_value = np.where(degenerate, np.where(estimate == 0, 1.0, 0.0), p_value)
    return {
        "estimate": estimate,
        "se": se,
        "df": df,
        "ci_low": estimate - critical * se,
        "ci_high": estimate + critical * se,
        "p_value": p_value,
        "theta": theta,
    }


# --------------------------------------------------------------------------- regression
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
        As :func:`estimate_cuped`, and for a design without residual degrees of freedom
        or (HC2/HC3) with a unit of leverage 1.

    Notes
    -----
    ANCOVA's point estimate equals :func:`estimate_cuped` exactly. With unequal arms and
    slopes that differ between arms ANCOVA weights the slopes the wrong way round and can
    even lose to the unadjusted difference (Freedman's critique); Lin's estimator is never
    asymptotically less precise than either. Source: Lin (2013), Annals of Applied
    Statistics 7(1), 295-318.
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", ("lin", "ancova"))
    check_choice(cov_type, "cov_type", ("HC0", "HC1", "HC2", "HC3", "nonrobust"))
    check_choice(estimand, "estimand", ("sample", "population"))
    if estimand == "population" and method != "lin":
        raise ValueError("estimand='population' needs method='lin' (ANCOVA has one slope)")
    y = as_float_array(_column(data, outcome, "outcome"), "outcome")
    x = _covariate_matrix(_column(data, covariates, "covariates"), "covariates")
    t_values = _treatment_values(_column(data, treatment, "treatment"))
    check_same_length(outcome=y, covariates=x, treatment=t_values)
    treated = _treatment(t_values).astype(float)
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
    df_resid = float(y.size - design.shape[1])
    centred_y = y - y.mean()
    exact = np.ptp(y) == 0
    if not exact:
        fit = sm.OLS(y, design).fit(cov_type=cov_type)
        exact = fit.ssr <= 1e-24 * float(centred_y @ centred_y)
    if exact:
        # A constant outcome (or one the regression fits exactly): se 0. statsmodels
        # would report round-off here (e.g. p = 1e-58 for a constant outcome).
        effect = 0.0 if np.ptp(y) == 0 else float(fit.params[1])
        if abs(effect) <= 1e-12 * float(np.max(np.abs(y))):
            effect = 0.0
        warn_point_interval(f"{method}: the outcome is fitted exactly (e.g. it is constant)")
        details = {
            "n": int(y.size), "cov_type": cov_type, "coefficients": {},
            "r_squared": 1.0 if np.ptp(y) > 0 else 0.0, "estimand": estimand,
            "sample_se": 0.0, "heterogeneity_variance": 0.0,
        }
        return Estimate(method, effect, 0.0, effect, effect, alpha=alpha,
                        p_value=1.0 if effect == 0 else 0.0, df=df_resid, details=details)
    effect = float(fit.params[1])
    heterogeneity = 0.0
    if estimand == "population":
        slope_difference = np.asarray(fit.params[2 + k:], dtype=float)
        spread = np.atleast_2d(np.cov(x, rowvar=False))
        heterogeneity = float(slope_difference @ spread @ slope_difference) / y.size
    se = float(math.sqrt(fit.bse[1] ** 2 + heterogeneity))
    df = float(fit.df_resid)
    p_value, low, high = _t_inference(effect, se, df, alpha)
    details = {
        "n": int(y.size),
        "cov_type": cov_type,
        "coefficients": dict(zip(labels, map(float, fit.params), strict=True)),
        "r_squared": float(fit.rsquared),
        "estimand": estimand,
        "sample_se": float(fit.bse[1]),
        "heterogeneity_variance": heterogeneity,
    }
    return Estimate(method, effect, se, low, high, alpha=alpha, p_value=p_value, df=df,
                    details=details)


# --------------------------------------------------------------------------- CUPAC
def cross_fit_predictions(
    features: Any,
    target: Any,
    *,
    model: Any = None,
    n_folds: int = 5,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Out-of-fold predictions of ``target`` from ``features`` (scikit-learn cross-fitting).

    Each unit's prediction comes from a model that never saw that unit, so the prediction
    carries none of the unit's own outcome noise (or its own treatment effect).

    Parameters
    ----------
    features : array-like, shape (n, p)
        Pre-period features only (measured before assignment; never the treatment).
    target : array-like, shape (n,)
        What to predict, e.g. the in-experiment outcome.
    model : scikit-learn regressor, optional
        Cloned for each fold; default a ``HistGradientBoostingRegressor`` (handles NaN).
    n_folds : int
        Number of folds (>= 2).
    rng : numpy.random.Generator, int or None
        Seeds the fold split and the default model.

    Returns
    -------
    numpy.ndarray, shape (n,)

    Raises
    ------
    ValueError
        On mismatched lengths, infinite or non-numeric values, NaN in ``target``,
        ``n_folds < 2`` or above the number of units, a ``model`` without ``fit`` and
        ``predict``, a bad ``rng``, or a model that fails on the features (e.g. NaN for a
        model that does not accept it).
    """
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    rng = check_rng(rng)
    n_folds = check_integer(n_folds, "n_folds", minimum=2)
    x = _covariate_matrix(features, "features", allow_nan=True)
    y = as_float_array(target, "target")
    check_same_length(features=x, target=y)
    if y.size < n_folds:
        raise ValueError(f"n_folds ({n_folds}) must not exceed the number of units ({y.size})")
    if model is not None and not (hasattr(model, "fit") and hasattr(model, "predict")):
        raise ValueError(f"model must be a scikit-learn regressor, got {model!r}")
    seed = int(rng.integers(2**31 - 1))
    if model is None:
        model = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1,
                                              random_state=seed)
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    # One OpenMP thread: on a shared or small machine, gradient boosting's thread pool
    # oversubscribes the cores and runs many times slower than single-threaded.
    with threadpool_limits(limits=1, user_api="openmp"):
        try:
            predictions = cross_val_predict(clone(model), x, y, cv=folds)
        except ValueError as error:  # e.g. NaN features for a model that cannot take them
            raise ValueError(f"features: the model could not be fitted: {error}") from None
    return np.asarray(predictions, dtype=float)


def estimate_cupac(
    outcome: Any,
    features: Any,
    treatment: Any,
    *,
    data: pd.DataFrame | None = None,
    model: Any = None,
    n_folds: int = 5,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """CUPAC: CUPED with a cross-fitted ML prediction of the outcome as the covariate.

    Parameters
    ----------
    outcome, treatment : array-like or str
        As :func:`estimate_cuped`.
    features : array-like or list of str
        Pre-period features (NaN allowed, e.g. new users without history, if the model
        handles it like the default one).
    data, alpha
        As :func:`estimate_cuped`.
    model, n_folds, rng
        As :func:`cross_fit_predictions`.

    Returns
    -------
    Estimate
        ``method="cupac"``; ``details`` as CUPED's plus ``prediction_r_squared`` (the
        out-of-fold R² of the prediction).

    Raises
    ------
    ValueError
        As :func:`estimate_cuped` and :func:`cross_fit_predictions`.

    Notes
    -----
    Source: Li, Tang & Bauman (2020), "Improving experimental power through Control Using
    Predictions as Covariates (CUPAC)", DoorDash engineering blog. The prediction is a
    function of pre-period data and of *other* units' outcomes only, so randomisation keeps
    it independent of the unit's own assignment (asymptotically); an in-sample fit would
    not be.
    """
    alpha = check_alpha(alpha)
    rng = check_rng(rng)
    y = as_float_array(_column(data, outcome, "outcome"), "outcome")
    x = _covariate_matrix(_column(data, features, "features", allow_nan=True), "features",
                          allow_nan=True)
    t_values = _treatment_values(_column(data, treatment, "treatment"))
    check_same_length(outcome=y, features=x, treatment=t_values)
    _treatment(t_values)
    prediction = cross_fit_predictions(x, y, model=model, n_folds=n_folds, rng=rng)
    result = estimate_cuped(y, prediction, t_values, alpha=alpha)
    residual = y - prediction
    details = dict(result.details)
    details["prediction_r_squared"] = float(1 - residual.var() / y.var())
    return Estimate("cupac", result.estimate, result.se, result.ci_low, result.ci_high,
                    alpha=alpha, p_value=result.p_value, df=result.df, details=details)


# --------------------------------------------------------------------------- ratio metrics
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
    pre-period ``covariates`` (slopes pooled within arms, as in :func:`estimate_cuped`);
    the ratio of the adjusted means is linearised per user,
    ``L_i = [(y_i - theta_y·w_i) - R (n_i - theta_n·w_i)] / mean_n`` (``mean_n`` the
    adjusted denominator mean), and the variance of the difference is
    ``var_T(L)/n_T + var_C(L)/n_C``. Both arms are adjusted towards the *pooled* covariate
    mean, so ``L_i`` also carries ``(n_a / n) g·w_i`` with
    ``g = c_T - c_C``, ``c_a = (theta_y - R_a theta_n) / mean_n,a``; this term vanishes
    without an effect and makes the variance the exact first-order delta method (the
    ``theta`` are treated as known, as in :func:`estimate_cuped`).

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
        On bad inputs as :func:`estimate_cuped`, or a denominator whose mean is not positive
        in an arm.

    Notes
    -----
    Sources: Deng, Knoblich & Lu (2018), "Applying the delta method in metric analytics",
    KDD; Deng et al. (2013) for the adjustment.
    """
    alpha = check_alpha(alpha)
    y = as_float_array(_column(data, numerator, "numerator"), "numerator")
    m = as_float_array(_column(data, denominator, "denominator"), "denominator")
    t_values = _treatment_values(_column(data, treatment, "treatment"))
    check_same_length(numerator=y, denominator=m, treatment=t_values)
    treated = _treatment(t_values)
    if covariates is not None:
        w = _covariate_matrix(_column(data, covariates, "covariates"), "covariates")
        check_same_length(numerator=y, covariates=w)
    else:
        w = np.zeros((y.size, 0))
    arms = (~treated, treated)
    n = np.array([arm.sum() for arm in arms], dtype=float)
    for arm, name in zip(arms, _ARMS, strict=True):
        if not m[arm].mean() > 0:
            raise ValueError(f"denominator must have a positive mean in the {name} arm")

    def linearised(theta_y: np.ndarray, theta_m: np.ndarray):
        # Adjusted arm means: mean_a - theta·(mean_w_a - overall_w). overall_w pools both
        # arms, so each ratio also moves with the other arm's covariates: the influence of a
        # user in arm a gains share_a · gradient·w_i, with gradient = c_T - c_C and
        # c_a = (theta_y - R_a theta_m) / mean_den_a (zero without an effect).
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
            variances.append(values.var(ddof=1) / arm.sum())
        return np.array(ratios), np.array(variances)

    k = w.shape[1]
    raw_ratios, raw_variances = linearised(np.zeros(k), np.zeros(k))
    if k:
        centred = [w[arm] - w[arm].mean(axis=0) for arm in arms]
        sww = sum(c.T @ c for c in centred)
        if np.linalg.matrix_rank(sww) < k:
            raise ValueError("covariates are collinear or constant within arms")
        swy = sum(c.T @ (y[arm] - y[arm].mean()) for c, arm in zip(centred, arms, strict=True))
        swm = sum(c.T @ (m[arm] - m[arm].mean()) for c, arm in zip(centred, arms, strict=True))
        theta_y, theta_m = np.linalg.solve(sww, swy), np.linalg.solve(sww, swm)
        ratios, variances = linearised(theta_y, theta_m)
        method = "ratio cuped"
    else:
        theta_y = theta_m = np.zeros(0)
        ratios, variances = raw_ratios, raw_variances
        method = "delta ratio"
    effect = float(ratios[1] - ratios[0])
    se = float(math.sqrt(variances.sum()))
    raw_se = float(math.sqrt(raw_variances.sum()))
    if se == 0:
        warn_point_interval(f"{method}: the linearised outcome is constant in both arms")
    df = _welch_df(variances, n - 1)
    p_value, low, high = _t_inference(effect, se, df, alpha)
    details = {
        "n_control": int(n[0]),
        "n_treatment": int(n[1]),
        "ratio_control": float(ratios[0]),
        "ratio_treatment": float(ratios[1]),
        "unadjusted_estimate": float(raw_ratios[1] - raw_ratios[0]),
        "unadjusted_se": raw_se,
        "variance_reduction": 1.0 - se**2 / raw_se**2 if raw_se > 0 else 0.0,
        "theta_numerator": tuple(map(float, theta_y)),
        "theta_denominator": tuple(map(float, theta_m)),
    }
    return Estimate(method, effect, se, low, high, alpha=alpha, p_value=p_value, df=df,
                    details=details)


# --------------------------------------------------------------------------- strata
def estimate_post_stratified(
    outcome: Any,
    strata: Any,
    treatment: Any,
    *,
    data: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> Estimate:
    """Post-stratification: stratum-wise differences in means, weighted by stratum share.

    ``tau = sum_s (N_s / N) (mean_T,s - mean_C,s)`` with variance
    ``sum_s (N_s/N)² (s²_T,s / n_T,s + s²_C,s / n_C,s)`` (conditional on the strata sizes)
    and Welch-Satterthwaite degrees of freedom. It equals Lin's interacted regression on
    stratum indicators, point estimate and HC2 se alike: CUPED with a discrete covariate.

    Parameters
    ----------
    outcome, treatment : array-like or str
        Outcome and 0/1 assignment (column names if ``data`` is given).
    strata : array-like or str
        A pre-treatment stratum label per user (any hashable values).
    data : pandas.DataFrame, optional
        Where to look up column names.
    alpha : float
        One minus the confidence level.

    Returns
    -------
    Estimate
        ``method="post-stratified"``; ``details`` holds ``n_strata``, the unadjusted
        estimate and se, and ``variance_reduction``.

    Raises
    ------
    ValueError
        On bad inputs, missing stratum labels, or a stratum with fewer than two users in an
        arm (merge small strata first).

    Notes
    -----
    Source: Miratrix, Sekhon & Yu (2013), JRSS-B 75(2), 369-396.
    """
    alpha = check_alpha(alpha)
    y = as_float_array(_column(data, outcome, "outcome"), "outcome")
    if data is not None and isinstance(strata, str):
        _column(data, [], "strata")  # checks data
        if strata not in data.columns:
            raise ValueError(f"strata: column {strata!r} is not in data")
        labels = data[strata].to_numpy()
    elif isinstance(strata, str | bytes):
        raise ValueError("strata must be one label per user (or a column name with data)")
    else:
        labels = np.asarray(strata)
    if labels.ndim != 1:
        raise ValueError(f"strata must be 1-dimensional, got shape {labels.shape}")
    if labels.dtype.kind == "f" and np.isinf(labels).any():
        raise ValueError("strata contains infinite labels")
    t_values = _treatment_values(_column(data, treatment, "treatment"))
    check_same_length(outcome=y, strata=labels, treatment=t_values)
    treated = _treatment(t_values)
    if pd.isna(labels).any():
        where = f" (column {strata!r})" if isinstance(strata, str) else ""
        raise ValueError(f"strata{where} contains missing labels")
    frame = pd.DataFrame({"y": y, "t": treated, "s": pd.Series(labels).astype(str).to_numpy()})
    cells = frame.groupby(["s", "t"])["y"].agg(["count", "mean", "var"]).unstack("t")
    if cells["count"].isna().any().any() or (cells["count"] < 2).any().any():
        raise ValueError("strata: every stratum needs at least two users in each arm")
    counts = cells["count"].to_numpy(dtype=float)  # (S, 2): control, treatment
    means = cells["mean"].to_numpy(dtype=float)
    variances = cells["var"].to_numpy(dtype=float)
    share = counts.sum(axis=1) / counts.sum()
    effect = float(share @ (means[:, 1] - means[:, 0]))
    components = (share[:, None] ** 2 * variances / counts).ravel()
    se = float(math.sqrt(components.sum()))
    df = _welch_df(components, (counts - 1).ravel())
    p_value, low, high = _t_inference(effect, se, df, alpha)
    raw = [y[~treated], y[treated]]
    raw_se = math.sqrt(sum(a.var(ddof=1) / a.size for a in raw))
    if se == 0:
        warn_point_interval("post-stratification: the outcome is constant within every cell")
    details = {
        "n_control": int((~treated).sum()),
        "n_treatment": int(treated.sum()),
        "n_strata": int(len(share)),
        "unadjusted_estimate": float(raw[1].mean() - raw[0].mean()),
        "unadjusted_se": raw_se,
        "variance_reduction": 1.0 - se**2 / raw_se**2 if raw_se > 0 else 0.0,
    }
    return Estimate("post-stratified", effect, se, low, high, alpha=alpha, p_value=p_value,
                    df=df, details=details)
