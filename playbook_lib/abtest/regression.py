"""The regression views of an experiment: OLS with robust standard errors (and Lin's
covariate adjustment), a logistic robustness check on the probability scale, and the
post-stratified estimate."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    PlaybookWarning,
    check_alpha,
    check_binary,
    check_choice,
    check_columns,
    check_not_constant,
    check_regression_design,
    column_as_float_array,
    warn_point_interval,
)

__all__ = [
    "estimate_logistic_effect",
    "estimate_regression_effect",
    "estimate_stratified_effect",
]


def _frame(data: Any) -> pd.DataFrame:
    check_columns(data, [])
    if len(data) == 0:
        raise ValueError("data has no rows")
    return data


def _column_values(data: pd.DataFrame, column: Any, name: str) -> np.ndarray:
    """``data[column]`` as a finite float array; errors name the argument and the column."""
    if not isinstance(column, str):
        raise ValueError(f"{name} must be a column name (a string), got {column!r}")
    if column not in data.columns:
        raise ValueError(f"{name}: column {column!r} is not in data")
    return column_as_float_array(data, column, name)


def _column_list(columns: Any, name: str) -> list[str]:
    if isinstance(columns, str):
        return [columns]
    try:
        columns = list(columns)
    except TypeError:
        raise ValueError(f"{name} must be a list of column names, got {columns!r}") from None
    bad = [column for column in columns if not isinstance(column, str)]
    if bad:
        raise ValueError(f"{name} must hold column names (strings), got {bad!r}")
    return columns


def _treatment_column(data: pd.DataFrame, treatment: str) -> np.ndarray:
    values = _column_values(data, treatment, "treatment")
    return check_binary(values, f"treatment (column {treatment!r})").astype(float)


def _exact_fit_estimate(
    method: str, estimate: float, y: np.ndarray, alpha: float, df: float, details: dict
) -> Estimate:
    """The se -> 0 answer for an outcome the regression fits exactly (e.g. a constant)."""
    if np.ptp(y) == 0 or abs(estimate) <= 1e-12 * float(np.max(np.abs(y))):
        estimate = 0.0
    warnings.warn(
        "the outcome is fitted exactly (e.g. it is constant), so the standard error is 0: "
        "the interval is the point estimate and p = 1 if it is 0, else 0",
        PlaybookWarning,
        stacklevel=3,
    )
    return Estimate.from_standard_error(
        method, estimate, 0.0, alpha=alpha, df=df if df > 0 else None, details=details
    )


def estimate_regression_effect(
    data: pd.DataFrame,
    outcome: str = "y",
    treatment: str = "treatment",
    covariates: Sequence[str] = (),
    alpha: float = 0.05,
    cov_type: str = "HC2",
    *,
    cluster: str | None = None,
) -> Estimate:
    """OLS of the outcome on a treatment dummy (and covariates) with robust standard errors.

    Without covariates the coefficient is exactly the difference in means and its HC2
    standard error is exactly Welch's ``sqrt(s_t^2/n_t + s_c^2/n_c)``
    (MacKinnon & White 1985; Imbens & Rubin 2015). Pre-treatment covariates enter
    centred **and interacted with the treatment** (Lin's estimator): the treatment
    coefficient is then still the average effect, and the adjustment cannot hurt
    asymptotic precision even with unequal arms or heterogeneous effects (Lin 2013);
    without the interactions it can. Reference distribution t with ``n - p`` df
    (statsmodels' ``use_t``).

    When units were randomised (or sampled) in groups, pass ``cluster``: the standard
    error is then cluster-robust by that column (statsmodels ``cov_type="cluster"``, with
    its small-sample factor; Cameron & Miller 2015) and the reference distribution t
    with ``G - 1`` df for ``G`` clusters; ``cov_type`` is then ignored.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per randomised unit.
    outcome, treatment : str
        Columns of the outcome and of the 0/1 treatment indicator.
    covariates : sequence of str
        Pre-treatment covariate columns (none: the difference in means).
    alpha : float
        One minus the interval's coverage.
    cov_type : {"HC2", "HC0", "HC1", "HC3", "nonrobust"}
        The covariance estimator.
    cluster : str or None
        A column of cluster labels (villages, schools, cities): cluster-robust standard
        errors. ``None`` (the default): unit-level ``cov_type`` errors.

    Returns
    -------
    Estimate
        ``method="ols <cov_type>"`` (``"ols cluster"`` with ``cluster``; ``details``
        then also hold ``n_clusters``). An outcome that the regression fits exactly (a
        constant outcome above all) has standard error 0: the estimate is 0 for a
        constant outcome, the interval is the point and p = 1 (0 for a non-zero exact
        effect), with a :class:`~playbook_lib.PlaybookWarning`; statsmodels would
        instead return round-off (e.g. p = 1e-58).

    Raises
    ------
    ValueError
        Naming the argument and column: ``data`` not a DataFrame or empty, missing
        columns, NaN, infinite or non-numeric values, a treatment not coded 0/1 or with
        a single arm, a constant covariate, or a design with no residual degrees of
        freedom; ``cluster`` naming a missing column, with missing labels, or with fewer
        than 3 clusters.
    """
    data = _frame(data)
    covariates = _column_list(covariates, "covariates")
    alpha = check_alpha(alpha)
    cov_type = check_choice(cov_type, "cov_type", ("HC0", "HC1", "HC2", "HC3", "nonrobust"))
    y = _column_values(data, outcome, "outcome")
    t = _treatment_column(data, treatment)
    columns = [np.ones_like(y), t]
    for name in covariates:
        x = _column_values(data, name, "covariates")
        check_not_constant(x, f"covariates: column {name!r}")
        centred = x - x.mean()
        columns.extend([centred, t * centred])
    design = np.column_stack(columns)
    check_regression_design(design, "data", cov_type)
    details = {"n": y.size, "covariates": len(covariates)}
    method = f"ols {cov_type}"
    df_resid = float(y.size - design.shape[1])
    fit_options: dict[str, Any] = {"cov_type": cov_type}
    if cluster is not None:
        groups = pd.factorize(_label_column(data, cluster, "cluster"))[0]
        n_clusters = int(groups.max()) + 1
        if n_clusters < 3:
            raise ValueError(
                f"cluster: column {cluster!r} needs at least 3 clusters, got {n_clusters}"
            )
        method, details["n_clusters"] = "ols cluster", n_clusters
        df_resid = float(n_clusters - 1)
        fit_options = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    if np.ptp(y) == 0:
        return _exact_fit_estimate(method, 0.0, y, alpha, df_resid, details)
    from statsmodels.regression.linear_model import OLS

    fit = OLS(y, design).fit(use_t=True, **fit_options)
    centred_y = y - y.mean()
    if fit.ssr <= 1e-24 * float(centred_y @ centred_y):
        return _exact_fit_estimate(method, float(fit.params[1]), y, alpha, df_resid, details)
    return Estimate.from_standard_error(
        method,
        float(fit.params[1]),
        float(fit.bse[1]),
        alpha=alpha,
        df=float(fit.df_resid) if cluster is None else df_resid,
        details=details,
    )


def _label_column(data: pd.DataFrame, column: Any, name: str) -> pd.Series:
    """A column of labels (strata, fixed effects) without missing or infinite values."""
    if not isinstance(column, str):
        raise ValueError(f"{name} must be a column name (a string), got {column!r}")
    if column not in data.columns:
        raise ValueError(f"{name}: column {column!r} is not in data")
    labels = data[column]
    missing = int(labels.isna().sum())
    if missing:
        raise ValueError(
            f"{name}: column {column!r} has {missing} missing value(s); every row needs "
            "a label (give missing values their own label if they form a group)"
        )
    if labels.dtype.kind == "f" and np.isinf(labels.to_numpy()).any():
        raise ValueError(f"{name}: column {column!r} has infinite values")
    return labels


def estimate_logistic_effect(
    data: pd.DataFrame,
    outcome: str = "converted",
    treatment: str = "treatment",
    fixed_effects: Sequence[str] = (),
    alpha: float = 0.05,
) -> Estimate:
    """Logistic GLM (with optional fixed effects, e.g. day) as a robustness check.

    The treatment coefficient of a logit is a **log-odds ratio**, not a difference in
    probabilities; comparing it with the z-test's difference is a unit error. This
    returns the effect on the probability scale: the average over users of
    ``P(Y=1 | T=1, x) - P(Y=1 | T=0, x)`` (standardisation / average marginal effect),
    with a delta-method standard error from the GLM's covariance. The log-odds
    coefficient, its standard error and the odds ratio are in ``details``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per randomised unit.
    outcome, treatment : str
        Columns of the 0/1 outcome and of the 0/1 treatment indicator.
    fixed_effects : sequence of str
        Label columns entered as dummies (e.g. the day of exposure).
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        ``method="logistic standardised difference"``, normal reference; ``details`` hold
        ``log_odds_ratio``, ``log_odds_ratio_se``, ``odds_ratio`` and the fixed effects.

    Raises
    ------
    ValueError
        Naming the argument and column: missing columns, NaN, outcome not 0/1,
        treatment not 0/1 or a single arm, missing fixed-effect labels, or an outcome
        that is constant within an arm (the logit's maximum likelihood estimate does not
        exist; use :func:`compare_proportions` with ``interval="agresti-caffo"``).
    """
    data = _frame(data)
    fixed_effects = _column_list(fixed_effects, "fixed_effects")
    alpha = check_alpha(alpha)
    y = _column_values(data, outcome, "outcome")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"outcome: column {outcome!r} must contain only 0 and 1")
    t = _treatment_column(data, treatment)
    for arm, label in ((0.0, "control"), (1.0, "treatment")):
        if np.ptp(y[t == arm]) == 0:
            raise ValueError(
                f"outcome: column {outcome!r} is constant in the {label} arm, so the "
                "logit's estimate does not exist; use compare_proportions with "
                "interval='agresti-caffo'"
            )
    labels = [_label_column(data, column, "fixed_effects") for column in fixed_effects]
    design = pd.DataFrame({"const": 1.0, "treatment": t})
    if fixed_effects:
        dummies = pd.get_dummies(
            pd.concat(labels, axis=1).astype("category"), drop_first=True, dtype=float
        )
        design = pd.concat([design, dummies.set_axis(design.index)], axis=1)
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM

    x = design.to_numpy(dtype=float)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError("fixed_effects are collinear with the treatment")
    fit = GLM(y, x, family=Binomial()).fit()
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    p1, p0 = special.expit(x1 @ fit.params), special.expit(x0 @ fit.params)
    effect = float(np.mean(p1 - p0))
    gradient = ((p1 * (1 - p1))[:, None] * x1 - (p0 * (1 - p0))[:, None] * x0).mean(axis=0)
    se = float(np.sqrt(max(float(gradient @ fit.cov_params() @ gradient), 0.0)))
    log_odds, log_odds_se = float(fit.params[1]), float(fit.bse[1])
    return Estimate.from_standard_error(
        "logistic standardised difference",
        effect,
        se,
        alpha=alpha,
        details={
            "log_odds_ratio": log_odds,
            "log_odds_ratio_se": log_odds_se,
            "odds_ratio": math.exp(log_odds),
            "fixed_effects": ",".join(fixed_effects),
        },
    )


def estimate_stratified_effect(
    data: pd.DataFrame,
    outcome: str = "y",
    treatment: str = "treatment",
    stratum: str = "stratum",
    alpha: float = 0.05,
) -> Estimate:
    """Stratified (post-stratified) ATE: stratum differences weighted by stratum size.

    ``tau = sum_s w_s (mean_t,s - mean_c,s)`` with ``w_s = n_s / n`` and
    ``Var = sum_s w_s^2 (s_t,s^2 / n_t,s + s_c,s^2 / n_c,s)`` (Neyman, conditional on
    the strata sizes) (Imbens & Rubin 2015; Miratrix, Sekhon & Yu 2013).
    Normal reference (each stratum should hold a few dozen units per arm).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per randomised unit.
    outcome, treatment, stratum : str
        Columns of the outcome, the 0/1 treatment indicator and the stratum label.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        ``method="stratified"``; ``details["strata"]`` is the number of strata. An
        outcome constant within every stratum and arm has se 0: the interval is the
        point and p is 1 for a zero estimate and 0 otherwise, with a
        :class:`~playbook_lib.PlaybookWarning`.

    Raises
    ------
    ValueError
        Naming the argument and column: missing columns, NaN, treatment not 0/1, rows
        whose stratum is missing (every row must belong to a stratum; they are never
        dropped), or a stratum with fewer than two units in an arm.
    """
    data = _frame(data)
    alpha = check_alpha(alpha)
    y = _column_values(data, outcome, "outcome")
    t = _treatment_column(data, treatment)
    labels = _label_column(data, stratum, "stratum")
    frame = pd.DataFrame({"y": y, "t": t, "s": labels.to_numpy()})
    grouped = frame.groupby(["s", "t"], observed=True)["y"].agg(["size", "mean", "var"])
    table = grouped.unstack("t")
    if int(table["size"].sum().sum()) != y.size:
        raise ValueError(f"stratum: column {stratum!r} has labels that cannot be grouped")
    if table.isna().any().any() or (table["size"] < 2).any().any():
        raise ValueError("stratum: every stratum needs at least two units in each arm")
    sizes = table["size"][0.0] + table["size"][1.0]
    weights = sizes / sizes.sum()
    differences = table["mean"][1.0] - table["mean"][0.0]
    variances = table["var"][1.0] / table["size"][1.0] + table["var"][0.0] / table["size"][0.0]
    effect = float(np.sum(weights * differences))
    se = float(np.sqrt(np.sum(weights**2 * variances)))
    if se == 0:
        warn_point_interval("estimate_stratified_effect: the outcome is constant within cells")
    return Estimate.from_standard_error(
        "stratified",
        effect,
        se,
        alpha=alpha,
        details={"strata": int(sizes.size), "n": int(sizes.sum())},
    )
