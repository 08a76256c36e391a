"""Hierarchical (multilevel) models for many small experiments.

A platform runs one experiment on hundreds of creators (stores, geos); each creator gives an
effect estimate ``y_j`` with a standard error ``s_j`` that is tiny for big creators and huge
for small ones. The recipes here pool those estimates:

- **No pooling** (:func:`estimate_unit_effects_from_stats`, :func:`estimate_unit_effects`):
  each creator's own difference in means with a Welch interval.
- **Complete pooling** (:func:`estimate_complete_pooling`): every creator gets its group's
  precision-weighted mean.
- **Partial pooling, closed form**: the normal-normal posterior given hyperparameters
  (:func:`normal_normal_posterior`), used with the *true* hyperparameters as the oracle
  Bayes limit (:func:`estimate_oracle_bayes`) and with estimated ones (between-unit
  variance by REML or the method of moments, :func:`estimate_between_variance`) as
  empirical Bayes (:func:`estimate_empirical_bayes`) :cite:`morris1983parametric`.
- **Partial pooling, full Bayes** (:func:`fit_hierarchical_model`): a PyMC model
  global → group → unit with a known-SE likelihood, sampled by nutpie. By default NUTS
  samples the two standard deviations with everything conjugate integrated out, and the
  mean, group means and unit effects are drawn exactly given each draw (a one-off fit
  compiles no PyTensor graph: nutpie samples that model's density from a small numba
  function); the full model
  (every effect sampled, centred or non-centred) is available. With convergence checks
  (:func:`check_convergence`), a posterior predictive check
  (:func:`posterior_predictive_check`) and PSIS-LOO comparison of pre-specified groupings
  with the unit effects integrated out (:func:`compare_groupings`).
- The small-geo case (:func:`fit_geo_hierarchical_model`) and the eight-schools reference
  (:data:`EIGHT_SCHOOLS`, :func:`fit_eight_schools`) :cite:`rubin1981estimation`.

Every per-unit result is a DataFrame whose rows are :class:`~playbook_lib.Estimate` fields
(``method, estimate, se, ci_low, ci_high, alpha, p_value, df``) keyed by the unit's id
column; compare methods by merging on that id (:func:`validate_against_truth` does), never by
row position. For Bayesian summaries ``se`` is the posterior standard deviation and the
interval is the equal-tailed credible interval.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numba
import numpy as np
import pandas as pd
from scipy import stats

# ArviZ 0.2x announces its coming 1.0 refactor with a FutureWarning on the first import of
# each day, per user cache (``~/.cache/arviz/daily_warning``): on a reader's fresh machine,
# Colab or CI that is every run. It is about ArviZ's future API, not about these results,
# and under ``jupyter-book build -W`` it fails the build. Ignore exactly that message, only
# while ArviZ is first imported here (PyMC and nutpie then find it already imported).
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning
    )
    import arviz as az

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_choice,
    check_columns,
    check_finite_number,
    check_flag,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
    column_as_float_array,
)

__all__ = [
    "EIGHT_SCHOOLS",
    "ConvergenceReport",
    "HierarchicalFit",
    "PredictiveCheck",
    "check_convergence",
    "compare_groupings",
    "estimate_between_variance",
    "estimate_complete_pooling",
    "estimate_empirical_bayes",
    "estimate_oracle_bayes",
    "estimate_unit_effects",
    "estimate_unit_effects_from_stats",
    "fit_eight_schools",
    "fit_geo_hierarchical_model",
    "fit_hierarchical_model",
    "count_high_pareto_k",
    "normal_normal_posterior",
    "posterior_predictive_check",
    "to_estimates",
    "validate_against_truth",
]

_ESTIMATE_COLUMNS = ["method", "estimate", "se", "ci_low", "ci_high", "alpha", "p_value", "df"]

#: The eight-schools data of :cite:`rubin1981estimation` (SAT coaching effects and their
#: standard errors; also Table 5.2 of :cite:`gelman2013bda`).
EIGHT_SCHOOLS = pd.DataFrame(
    {
        "school": list("ABCDEFGH"),
        "estimate": [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0],
        "se": [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0],
    }
)


# ----------------------------------------------------------------------------- helpers
def _seed_from(rng: np.random.Generator | int | None) -> int:
    return int(check_rng(rng).integers(2**31 - 1))


def _check_frame(data: Any, name: str, **columns: Any) -> pd.DataFrame:
    """``data`` is a non-empty DataFrame and each keyword (argument: column) names a column."""
    check_columns(data, [], name)
    for argument, column in columns.items():
        if not isinstance(column, str):
            raise ValueError(f"{argument} must be a column name (a string), got {column!r}")
        if column not in data.columns:
            raise ValueError(
                f"{argument}: column {column!r} is not in {name} "
                f"(columns: {list(data.columns)})"
            )
    if len(data) == 0:
        raise ValueError(f"{name} is empty (no rows)")
    return data


def _float_column(data: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """:func:`~playbook_lib.validation.column_as_float_array`, refusing numeric strings too."""
    series = data[column] if isinstance(data, pd.DataFrame) and column in data else None
    if series is not None and series.dtype.kind == "O":
        texts = series[series.map(lambda value: isinstance(value, str | bytes))]
        if len(texts):
            raise ValueError(
                f"{name}: column {column!r} must be numeric, got the string {texts.iloc[0]!r}"
            )
    return column_as_float_array(data, column, name)


def _check_labels(data: pd.DataFrame, column: str, name: str, *, unique: bool = False) -> None:
    """A label column (ids, groups) has no missing values (and, if ``unique``, no repeats)."""
    missing = int(data[column].isna().sum())
    if missing:
        raise ValueError(f"{name}: column {column!r} has {missing} missing value(s)")
    if unique and data[column].duplicated().any():
        example = data.loc[data[column].duplicated(), column].iloc[0]
        raise ValueError(f"{name}: column {column!r} has repeated values (e.g. {example!r})")


def _estimates_frame(
    ids: pd.Series | np.ndarray,
    id_name: str,
    method: str,
    estimate: np.ndarray,
    se: np.ndarray,
    ci_low: np.ndarray,
    ci_high: np.ndarray,
    alpha: float,
    *,
    df: np.ndarray | None = None,
    extra: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A DataFrame whose rows are Estimate fields, keyed by ``id_name``."""
    frame = pd.DataFrame(
        {
            id_name: np.asarray(ids),
            "method": method,
            "estimate": np.asarray(estimate, dtype=float),
            "se": np.asarray(se, dtype=float),
            "ci_low": np.asarray(ci_low, dtype=float),
            "ci_high": np.asarray(ci_high, dtype=float),
            "alpha": alpha,
            "p_value": np.nan,
            "df": np.nan if df is None else np.asarray(df, dtype=float),
        }
    )
    for key, value in (extra or {}).items():
        frame[key] = np.asarray(value) if not np.isscalar(value) else value
    return frame


def to_estimates(frame: pd.DataFrame, id: str) -> dict[Any, Estimate]:
    """Turn a per-unit result frame into ``{unit id: Estimate}``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A frame returned by one of this module's ``estimate_*`` functions (or
        :attr:`HierarchicalFit.unit_effects`).
    id : str
        The unit id column.

    Returns
    -------
    dict
        One :class:`~playbook_lib.Estimate` per unit; columns other than the Estimate
        fields go into ``details``.

    Raises
    ------
    ValueError
        If ``frame`` is empty, columns are missing, ids are missing or repeat, or an
        estimate is not finite.
    """
    _check_frame(frame, "frame", id=id)
    check_columns(frame, _ESTIMATE_COLUMNS[:6], "frame")
    _check_labels(frame, id, "frame", unique=True)
    _float_column(frame, "estimate", "frame")
    result: dict[Any, Estimate] = {}
    detail_columns = [c for c in frame.columns if c not in _ESTIMATE_COLUMNS and c != id]
    for row in frame.to_dict("records"):
        p_value = row.get("p_value")
        df = row.get("df")
        result[row[id]] = Estimate(
            method=str(row["method"]),
            estimate=row["estimate"],
            se=row["se"],
            ci_low=row["ci_low"],
            ci_high=row["ci_high"],
            alpha=row["alpha"],
            p_value=None if p_value is None or pd.isna(p_value) else p_value,
            df=None if df is None or pd.isna(df) else df,
            details={c: row[c] for c in detail_columns},
        )
    return result


def _check_estimates_and_se(
    estimates: Any, standard_errors: Any, *, ndim: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    y = _numeric_array(estimates, "estimates", ndim)
    s = _numeric_array(standard_errors, "standard_errors", y.ndim)
    if s.shape != y.shape:
        raise ValueError(
            f"standard_errors must have the shape of estimates {y.shape}, got {s.shape}"
        )
    if (s <= 0).any():
        raise ValueError("standard_errors must be positive (a zero or negative SE is invalid)")
    return y, s


def _numeric_array(values: Any, name: str, ndim: int | None) -> np.ndarray:
    """A 1- or 2-dimensional float array (``ndim`` if given); strings are refused."""
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be numeric, got the string {values!r}")
    try:
        shape = np.shape(values)
    except ValueError as error:
        raise ValueError(f"{name} must be a rectangular array: {error}") from None
    wanted = ndim if ndim is not None else len(shape) if len(shape) in (1, 2) else 1
    if len(shape) != wanted:
        raise ValueError(f"{name} must be {wanted}-dimensional, got shape {shape}")
    return as_float_array(values, name, ndim=wanted, min_size=1)


def _hyperparameter_array(value: Any, name: str, *, allow_inf: bool = False) -> np.ndarray:
    """A numeric scalar or array (no strings, no booleans, no NaN; ``inf`` if allowed)."""
    if isinstance(value, str | bytes | bool | np.bool_):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}")
    try:
        array = np.asarray(value)
    except ValueError as error:
        raise ValueError(f"{name} must be a number or an array of numbers: {error}") from None
    if array.dtype.kind not in "iuf" or array.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty array of numbers, got {value!r}")
    array = array.astype(float)
    if np.isnan(array).any() or (not allow_inf and np.isinf(array).any()):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return array


def _check_codes(
    group_codes: Any, shape: tuple[int, ...], n_groups: int | None
) -> tuple[np.ndarray, int]:
    codes = np.asarray(group_codes)
    if codes.ndim == 0 or codes.shape[-1] != shape[-1]:
        raise ValueError(
            f"group_codes must have one code per unit ({shape[-1]}), got shape {codes.shape}"
        )
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError("group_codes must be integers 0, 1, ..., n_groups - 1")
    if codes.ndim == 2 and codes.shape != shape:
        raise ValueError(f"group_codes must have shape {shape[-1:]} or {shape}, got {codes.shape}")
    if codes.min() < 0:
        raise ValueError("group_codes must be non-negative")
    if n_groups is None:
        n_groups = int(codes.max()) + 1
    n_groups = check_integer(n_groups, "n_groups", minimum=1)
    if codes.max() >= n_groups:
        raise ValueError(f"group_codes must be below n_groups ({n_groups})")
    onehot = codes[..., None] == np.arange(n_groups)
    members = onehot.sum(axis=-2)
    if (members == 0).any():
        empty = int(np.argwhere(np.atleast_2d(members) == 0)[0, -1])
        raise ValueError(f"group_codes: group {empty} has no members")
    return codes, n_groups


def _onehot(codes: np.ndarray, n_groups: int) -> np.ndarray:
    return (codes[..., None] == np.arange(n_groups)).astype(float)


def _group_sum(values: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Sum ``values`` (..., n) within groups: result (..., n_groups)."""
    return np.einsum("...n,...ng->...g", values, onehot)


def _take(group_values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Broadcast per-group values (..., G) back to units (..., n)."""
    return np.take_along_axis(
        group_values, np.broadcast_to(codes, group_values.shape[:-1] + codes.shape[-1:]), axis=-1
    )


def _codes_from_labels(labels: pd.Series, name: str) -> tuple[np.ndarray, list[Any]]:
    if labels.isna().any():
        raise ValueError(f"{name}: column {labels.name!r} contains missing values")
    if isinstance(labels.dtype, pd.CategoricalDtype):
        used = set(labels.unique())
        unused = [c for c in labels.cat.categories if c not in used]
        if unused:
            raise ValueError(f"{name}: group {unused[0]!r} has no members")
    try:
        codes, uniques = pd.factorize(labels, sort=True)
    except TypeError as error:
        raise ValueError(
            f"{name}: column {labels.name!r} holds labels that cannot be sorted ({error})"
        ) from None
    return codes.astype(np.int64), list(uniques)


def _unit_data(
    effects: Any, name: str, *, id: str, group: str, estimate: str, se: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any]]:
    """Validated estimates, standard errors, group codes and group labels of a unit frame."""
    _check_frame(effects, name, id=id, group=group, estimate=estimate, se=se)
    _check_labels(effects, id, name)
    y = _float_column(effects, estimate, name)
    s = _float_column(effects, se, name)
    if (s <= 0).any():
        raise ValueError(
            f"{name}: column {se!r} (standard errors) must be positive, got {s.min():g}"
        )
    codes, labels = _codes_from_labels(effects[group], name)
    return y, s, codes, labels


# ----------------------------------------------------------------------------- no pooling
def estimate_unit_effects_from_stats(
    data: pd.DataFrame,
    *,
    id: str = "creator_id",
    n_treatment: str = "n_treatment",
    n_control: str = "n_control",
    mean_treatment: str = "mean_treatment",
    mean_control: str = "mean_control",
    sd_treatment: str = "sd_treatment",
    sd_control: str = "sd_control",
    alpha: float = 0.05,
    keep: Sequence[str] = (),
) -> pd.DataFrame:
    """No pooling: each unit's difference in means with a Welch interval, from arm summaries.

    ``estimate = mean_T - mean_C`` with ``se^2 = s_T^2 / n_T + s_C^2 / n_C`` and a Student-t
    interval with Welch–Satterthwaite degrees of freedom :cite:`welch1947generalization`.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit with the arm sizes, means and sample standard deviations
        (divisor ``n - 1``).
    id, n_treatment, n_control, mean_treatment, mean_control, sd_treatment, sd_control : str
        Column names.
    alpha : float
        One minus the interval's coverage.
    keep : sequence of str
        Extra columns of ``data`` to carry into the result (e.g. ``"genre"``).

    Returns
    -------
    pandas.DataFrame
        Estimate fields per unit (method ``"no pooling"``, ``p_value`` of the Welch test,
        ``df``) plus ``n_users`` and the ``keep`` columns, keyed by ``id``.

    Raises
    ------
    ValueError
        If ``data`` is empty or not a DataFrame, a column is missing, a value is missing,
        not numeric or infinite, an arm size is not a whole number of at least 2 users, an
        SD is negative, or a unit's SDs are 0 in both arms (its standard error would be 0:
        no interval exists); the message names the column (or argument).
    """
    alpha = check_alpha(alpha)
    if isinstance(keep, str):
        raise ValueError(f"keep must be a sequence of column names, not one string {keep!r}")
    names = {
        "id": id, "n_treatment": n_treatment, "n_control": n_control,
        "mean_treatment": mean_treatment, "mean_control": mean_control,
        "sd_treatment": sd_treatment, "sd_control": sd_control,
    }
    _check_frame(data, "data", **names, **{f"keep[{i}]": c for i, c in enumerate(keep)})
    _check_labels(data, id, "data")
    n_t, n_c, m_t, m_c, s_t, s_c = (
        _float_column(data, column, "data")
        for column in (n_treatment, n_control, mean_treatment, mean_control, sd_treatment,
                       sd_control)
    )
    for column, counts in ((n_treatment, n_t), (n_control, n_c)):
        if (counts != np.round(counts)).any():
            raise ValueError(f"data: column {column!r} must hold whole numbers of users")
        if (counts < 2).any():
            raise ValueError(
                f"data: column {column!r} must be at least 2 in every unit (an arm needs 2 "
                f"users for a standard deviation), got {counts.min():g}"
            )
    for column, sds in ((sd_treatment, s_t), (sd_control, s_c)):
        if (sds < 0).any():
            raise ValueError(f"data: column {column!r} must be non-negative, got {sds.min():g}")
    var_t, var_c = s_t**2 / n_t, s_c**2 / n_c
    se = np.sqrt(var_t + var_c)
    if (se <= 0).any():
        unit = data[id].to_numpy()[np.argmax(se <= 0)]
        raise ValueError(
            f"data: unit {unit!r} has {sd_treatment!r} and {sd_control!r} both 0, so its "
            "standard error is 0 and no interval exists"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        # One arm with SD 0 contributes 0 / 0 to neither term: the other arm's df remain.
        df = (var_t + var_c) ** 2 / (var_t**2 / (n_t - 1) + var_c**2 / (n_c - 1))
    estimate = m_t - m_c
    half = stats.t.ppf(1 - alpha / 2, df) * se
    frame = _estimates_frame(
        data[id].to_numpy(),
        id,
        "no pooling",
        estimate,
        se,
        estimate - half,
        estimate + half,
        alpha,
        df=df,
        extra={"n_users": (n_t + n_c).astype(np.int64)},
    )
    frame["p_value"] = 2 * stats.t.sf(np.abs(estimate / se), df)
    for column in keep:
        frame[column] = data[column].to_numpy()
    return frame


def estimate_unit_effects(
    users: pd.DataFrame,
    *,
    id: str = "creator_id",
    treatment: str = "treatment",
    outcome: str = "y",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """No pooling from user rows: aggregate per unit and arm, then
    :func:`estimate_unit_effects_from_stats`.

    Parameters
    ----------
    users : pandas.DataFrame
        One row per user: unit id, treatment indicator (1/True = treatment), outcome.
    id, treatment, outcome : str
        Column names.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    pandas.DataFrame
        As :func:`estimate_unit_effects_from_stats`, one row per unit (sorted by id).

    Raises
    ------
    ValueError
        If ``users`` is empty or not a DataFrame, columns are missing, ids are missing,
        the treatment column is not 0/1, the outcome has NaN, strings or infinite values,
        a unit has fewer than 2 users in an arm, or a unit's outcome is constant in both
        arms (a zero standard error).
    """
    alpha = check_alpha(alpha)
    _check_frame(users, "users", id=id, treatment=treatment, outcome=outcome)
    _check_labels(users, id, "users")
    values = _float_column(users, outcome, "users")
    arm = _float_column(users, treatment, "users")
    if not np.isin(arm, (0.0, 1.0)).all():
        raise ValueError(f"users: column {treatment!r} must hold only 0 and 1 (or booleans)")
    summary = (
        pd.DataFrame({id: users[id].to_numpy(), "_arm": arm.astype(int), "_y": values})
        .groupby([id, "_arm"])["_y"]
        .agg(["count", "mean", "std"])
        .unstack("_arm")
    )
    if summary.shape[1] != 6 or summary.isna().any().any():
        counts = summary["count"].reindex(columns=[0, 1]).fillna(0)
        unit = counts.index[(counts < 2).any(axis=1)][0]
        raise ValueError(
            f"users: unit {unit!r} (column {id!r}) needs at least 2 users in each arm of "
            f"{treatment!r}"
        )
    stats_frame = pd.DataFrame(
        {
            id: summary.index.to_numpy(),
            "n_treatment": summary[("count", 1)].to_numpy(),
            "n_control": summary[("count", 0)].to_numpy(),
            "mean_treatment": summary[("mean", 1)].to_numpy(),
            "mean_control": summary[("mean", 0)].to_numpy(),
            "sd_treatment": summary[("std", 1)].to_numpy(),
            "sd_control": summary[("std", 0)].to_numpy(),
        }
    )
    return estimate_unit_effects_from_stats(stats_frame, id=id, alpha=alpha)


# ----------------------------------------------------------------------------- pooling
def estimate_complete_pooling(
    effects: pd.DataFrame,
    *,
    id: str = "creator_id",
    group: str = "genre",
    estimate: str = "estimate",
    se: str = "se",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Complete pooling: every unit gets its group's precision-weighted mean effect.

    ``m_g = sum_j w_j y_j / sum_j w_j`` with ``w_j = 1 / s_j^2`` over the units of group
    ``g``, standard error ``(sum_j w_j)^(-1/2)``. The interval is for the *group mean*;
    read as an interval for a unit's effect it ignores between-unit variation and
    under-covers.

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per unit with its estimate, standard error and group.
    id, group, estimate, se : str
        Column names.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    pandas.DataFrame
        Estimate fields per unit (method ``"complete pooling"``) plus the group column.

    Raises
    ------
    ValueError
        If ``effects`` is empty, columns are missing, ids or groups are missing, values
        are NaN, strings or infinite, or a standard error is not positive.
    """
    alpha = check_alpha(alpha)
    y, s, codes, _ = _unit_data(effects, "effects", id=id, group=group, estimate=estimate, se=se)
    onehot = _onehot(codes, int(codes.max()) + 1)
    weights = 1 / s**2
    total = _group_sum(weights, onehot)
    mean = _group_sum(weights * y, onehot) / total
    group_mean, group_se = mean[codes], (1 / np.sqrt(total))[codes]
    z = stats.norm.ppf(1 - alpha / 2)
    frame = _estimates_frame(
        effects[id].to_numpy(),
        id,
        "complete pooling",
        group_mean,
        group_se,
        group_mean - z * group_se,
        group_mean + z * group_se,
        alpha,
    )
    frame[group] = effects[group].to_numpy()
    return frame


def estimate_between_variance(
    estimates: Any,
    standard_errors: Any,
    group_codes: Any,
    *,
    n_groups: int | None = None,
    method: str = "reml",
    per_group: bool = False,
) -> np.ndarray:
    """Between-unit variance ``tau^2`` of true effects around their group means.

    Model: ``y_j ~ N(theta_j, s_j^2)`` with known ``s_j`` and
    ``theta_j ~ N(beta_{g(j)}, tau^2)``, the group means ``beta_g`` fixed unknowns (a
    random-effects meta-regression on group indicators).

    - ``method="moments"``: the generalised DerSimonian–Laird estimator
      :cite:`dersimonian1986meta`,
      ``tau^2 = max(0, (Q - (n - G)) / (sum w - sum_g sum_{j in g} w_j^2 / sum_{j in g} w_j))``
      with ``w = 1 / s^2`` and ``Q`` the weighted residual sum of squares.
    - ``method="reml"``: maximises the restricted likelihood
      ``-1/2 [sum log(s^2 + tau^2) + sum_g log W_g + sum w* (y - beta*_g)^2]`` with
      ``w* = 1 / (s^2 + tau^2)``, ``W_g = sum_{j in g} w*_j`` :cite:`viechtbauer2005bias`,
      by a golden-section search over ``tau`` in ``[0, 3 sd(y) + max s]`` run for all
      rows at once.

    Vectorised: ``estimates`` may be ``(n_sims, n)``, each row one data set.

    Parameters
    ----------
    estimates, standard_errors : array-like
        Shape ``(n,)`` or ``(n_sims, n)``; standard errors positive.
    group_codes : array-like of int
        Group of each unit, shape ``(n,)`` or ``(n_sims, n)``, codes ``0..G-1``.
    n_groups : int, optional
        ``G``; by default ``max(code) + 1``. Every group must have a member.
    method : {"reml", "moments"}
        The estimator.
    per_group : bool
        If True estimate one ``tau^2`` per group (shape ``(..., G)``); otherwise one
        common value.

    Returns
    -------
    numpy.ndarray
        ``tau^2``: shape ``()`` / ``(n_sims,)``, or with a trailing ``G`` axis if
        ``per_group``.

    Raises
    ------
    ValueError
        If inputs are not numeric or have NaN, mismatched shapes, non-positive standard
        errors, a group with no members, or too few units for ``tau^2`` to be estimable:
        a common ``tau^2`` needs more units than groups (one unit, or one unit per
        group, leaves no within-group spread), a per-group ``tau^2`` at least 2 units in
        every group.
    """
    check_choice(method, "method", ("reml", "moments"))
    per_group = check_flag(per_group, "per_group")
    y, s = _check_estimates_and_se(estimates, standard_errors)
    codes, n_groups = _check_codes(group_codes, y.shape, n_groups)
    squeeze = y.ndim == 1
    y2, s2 = np.atleast_2d(y), np.atleast_2d(s) ** 2
    codes2 = np.atleast_2d(codes)
    onehot = _onehot(codes2, n_groups)
    members = onehot.sum(axis=-2)
    if per_group and (members < 2).any():
        raise ValueError(
            "group_codes: a per-group between-unit variance needs at least 2 units in every "
            "group"
        )
    if not per_group and y2.shape[-1] <= n_groups:
        raise ValueError(
            f"estimates: {y2.shape[-1]} unit(s) in {n_groups} group(s): the between-unit "
            "variance cannot be estimated without more units than groups"
        )

    if method == "moments":
        w = 1 / s2
        w_g = _group_sum(w, onehot)
        beta = _group_sum(w * y2, onehot) / w_g
        resid2 = w * (y2 - _take(beta, codes2)) ** 2
        if per_group:
            q = _group_sum(resid2, onehot)
            c = w_g - _group_sum(w**2, onehot) / w_g
            tau2 = np.maximum(0.0, (q - (members - 1)) / c)
        else:
            q = resid2.sum(axis=-1)
            c = w.sum(axis=-1) - (_group_sum(w**2, onehot) / w_g).sum(axis=-1)
            tau2 = np.maximum(0.0, (q - (y2.shape[-1] - n_groups)) / c)
        return tau2[0] if squeeze else tau2

    def restricted_loglik(tau: np.ndarray) -> np.ndarray:
        tau_units = _take(tau, codes2) if per_group else tau[:, None]
        v = s2 + tau_units**2
        w = 1 / v
        w_g = _group_sum(w, onehot)
        beta = _group_sum(w * y2, onehot) / w_g
        terms = np.log(v) + w * (y2 - _take(beta, codes2)) ** 2
        if per_group:
            return -0.5 * (_group_sum(terms, onehot) + np.log(w_g))
        return -0.5 * (terms.sum(axis=-1) + np.log(w_g).sum(axis=-1))

    upper = 3 * y2.std(axis=-1) + np.sqrt(s2.max(axis=-1))
    shape = (y2.shape[0], n_groups) if per_group else (y2.shape[0],)
    low = np.zeros(shape)
    high = np.broadcast_to(upper[:, None] if per_group else upper, shape).copy()
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a = high - ratio * (high - low)
        b = low + ratio * (high - low)
        move_up = restricted_loglik(a) < restricted_loglik(b)  # the maximum lies in [a, high]
        low = np.where(move_up, a, low)
        high = np.where(move_up, high, b)
    tau = (low + high) / 2
    # The boundary tau = 0 is a candidate the interior search can only approach.
    at_zero = restricted_loglik(np.zeros(shape)) >= restricted_loglik(tau)
    tau2 = np.where(at_zero, 0.0, tau**2)
    return tau2[0] if squeeze else tau2


def normal_normal_posterior(
    estimates: Any,
    standard_errors: Any,
    group_codes: Any,
    *,
    unit_sd: Any,
    group_sd: Any = np.inf,
    mean_effect: Any = 0.0,
    n_groups: int | None = None,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Exact posterior of unit effects in the normal three-level model, given its
    hyperparameters.

    Model: ``y_j | theta_j ~ N(theta_j, s_j^2)``, ``theta_j | m_g ~ N(m_g, unit_sd^2)``,
    ``m_g ~ N(mean_effect, group_sd^2)``. Given the data, ``m_g`` is normal with precision
    ``P_g = 1 / group_sd^2 + sum_{j in g} 1 / (unit_sd^2 + s_j^2)`` and mean
    ``(mean_effect / group_sd^2 + sum_{j in g} y_j / (unit_sd^2 + s_j^2)) / P_g``; with the
    shrinkage factor ``B_j = s_j^2 / (s_j^2 + unit_sd^2)``,

    ``E[theta_j | y] = B_j E[m_g | y] + (1 - B_j) y_j`` and
    ``Var[theta_j | y] = (1 - B_j) s_j^2 + B_j^2 Var[m_g | y]``
    :cite:`gelman2013bda` (ch. 5).

    ``group_sd = inf`` gives a flat prior on the group means (they are then estimated by
    precision-weighted means): with ``unit_sd`` estimated this is empirical Bayes with the
    uncertainty of the group means included; with the true hyperparameters it is the
    oracle Bayes posterior. Vectorised over a leading simulation axis.

    Parameters
    ----------
    estimates, standard_errors : array-like
        Shape ``(n,)`` or ``(n_sims, n)``.
    group_codes : array-like of int
        Shape ``(n,)`` or ``(n_sims, n)``.
    unit_sd : float or array-like
        Between-unit sd within a group; scalar, per simulation ``(n_sims,)``, or per
        simulation and group ``(n_sims, G)``.
    group_sd : float or array-like
        Between-group sd (``inf``: flat prior on group means).
    mean_effect : float or array-like
        Prior mean of the group means (unused when ``group_sd`` is infinite).
    n_groups : int, optional
        Number of groups.
    alpha : float
        One minus the credible level.

    Returns
    -------
    dict of numpy.ndarray
        ``mean``, ``sd``, ``ci_low``, ``ci_high``, ``shrinkage`` (``B_j``), each shaped like
        ``estimates``, and ``group_mean``, ``group_sd`` (posterior of ``m_g``, trailing
        axis ``G``).

    Raises
    ------
    ValueError
        For strings, NaN, non-positive standard errors, negative (or NaN) sds, a
        non-finite ``mean_effect``, hyperparameters of the wrong shape or empty groups.
        ``unit_sd = 0`` is allowed (complete pooling: every unit gets its group's
        posterior mean).
    """
    alpha = check_alpha(alpha)
    y, s = _check_estimates_and_se(estimates, standard_errors)
    codes, n_groups = _check_codes(group_codes, y.shape, n_groups)
    squeeze = y.ndim == 1
    y2, s2 = np.atleast_2d(y), np.atleast_2d(s) ** 2
    codes2 = np.atleast_2d(codes)
    n_sims = y2.shape[0]
    unit_sd = _hyperparameter_array(unit_sd, "unit_sd")
    group_sd = _hyperparameter_array(group_sd, "group_sd", allow_inf=True)
    mean_effect = _hyperparameter_array(mean_effect, "mean_effect")
    if (unit_sd < 0).any():
        raise ValueError("unit_sd must be finite and non-negative")
    if (group_sd <= 0).any():
        raise ValueError("group_sd must be positive (inf for a flat prior)")
    shapes = {
        "unit_sd": [(), (1,), (n_sims,), (1, n_groups), (n_sims, n_groups)],
        "group_sd": [(), (1,), (n_sims,)],
        "mean_effect": [(), (1,), (n_sims,)],
    }
    for name, value in (("unit_sd", unit_sd), ("group_sd", group_sd), ("mean_effect", mean_effect)):
        if value.shape not in shapes[name]:
            raise ValueError(
                f"{name} must be a scalar or have one of the shapes {shapes[name][1:]} "
                f"(simulations = {n_sims}, groups = {n_groups}), got shape {value.shape}"
            )
    if unit_sd.ndim == 2:  # per simulation and group
        unit_var = _take(np.broadcast_to(unit_sd, (n_sims, n_groups)) ** 2, codes2)
    else:
        unit_var = np.broadcast_to(np.reshape(unit_sd, (-1, 1)) ** 2, (n_sims, 1))
    onehot = _onehot(codes2, n_groups)
    w = 1 / (unit_var + s2)
    prior_precision = np.reshape(1 / group_sd**2, (-1, 1))
    precision = prior_precision + _group_sum(np.broadcast_to(w, y2.shape), onehot)
    prior_term = np.where(
        np.isfinite(np.reshape(group_sd, (-1, 1))),
        np.reshape(mean_effect, (-1, 1)) * prior_precision,
        0.0,
    )
    group_mean = (prior_term + _group_sum(w * y2, onehot)) / precision
    group_var = 1 / precision
    shrinkage = s2 / (s2 + unit_var)
    mean = shrinkage * _take(group_mean, codes2) + (1 - shrinkage) * y2
    var = (1 - shrinkage) * s2 + shrinkage**2 * _take(group_var, codes2)
    sd = np.sqrt(var)
    z = stats.norm.ppf(1 - alpha / 2)
    result = {
        "mean": mean,
        "sd": sd,
        "ci_low": mean - z * sd,
        "ci_high": mean + z * sd,
        "shrinkage": shrinkage,
        "group_mean": group_mean,
        "group_sd": np.sqrt(group_var),
    }
    if squeeze:
        result = {key: value[0] for key, value in result.items()}
    return result


def _pivot_replications(
    effects: pd.DataFrame, id: str, group: str, estimate: str, se: str, replication: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any], pd.DataFrame]:
    """Arrange a (long) frame of unit estimates as (n_sims, n) arrays in row order."""
    y, s, codes, labels = _unit_data(
        effects, "effects", id=id, group=group, estimate=estimate, se=se
    )
    if replication is None:
        if effects[id].duplicated().any():
            raise ValueError(f"id: column {id!r} of effects has repeated values")
        return y[None], s[None], codes[None], labels, effects
    _check_frame(effects, "effects", replication=replication)
    _check_labels(effects, replication, "effects")
    if effects.duplicated([replication, id]).any():
        raise ValueError(
            f"id: column {id!r} of effects repeats within a replication ({replication!r})"
        )
    ordered = effects.assign(_y=y, _s=s, _code=codes).sort_values([replication, id], kind="stable")
    sizes = ordered.groupby(replication, sort=True).size()
    if sizes.nunique() != 1:
        raise ValueError(f"{replication}: every replication needs the same number of units")
    n_sims, n = len(sizes), int(sizes.iloc[0])
    reshape = lambda column: ordered[column].to_numpy().reshape(n_sims, n)  # noqa: E731
    return reshape("_y"), reshape("_s"), reshape("_code"), labels, ordered


def estimate_empirical_bayes(
    effects: pd.DataFrame,
    *,
    id: str = "creator_id",
    group: str = "genre",
    estimate: str = "estimate",
    se: str = "se",
    method: str = "reml",
    per_group: bool = False,
    replication: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Empirical Bayes (normal-normal) partial pooling of unit estimates toward group means.

    Estimates ``tau^2`` (:func:`estimate_between_variance`), then applies
    :func:`normal_normal_posterior` with a flat prior on the group means: unit ``j``'s
    estimate is pulled toward its group's precision-weighted mean by
    ``B_j = s_j^2 / (s_j^2 + tau^2)`` :cite:`morris1983parametric`. The interval includes
    the uncertainty of the group means but not that of ``tau^2`` (so it can under-cover
    when there are few units); full Bayes (:func:`fit_hierarchical_model`) includes both.
    Rescaling estimates and SEs by ``c`` rescales every output by ``c``.

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per unit (and replication): id, group, estimate, standard error.
    id, group, estimate, se : str
        Column names.
    method : {"reml", "moments"}
        Estimator of ``tau^2``.
    per_group : bool
        One ``tau^2`` per group instead of a common one.
    replication : str, optional
        Column identifying independent data sets (each with the same units) to process
        at once, vectorised.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    pandas.DataFrame
        Estimate fields per unit (method ``"empirical Bayes"``) plus the group,
        ``shrinkage`` (``B_j``), ``between_sd`` (``tau``) and ``group_mean``; keyed by
        ``id`` (and ``replication``).

    Raises
    ------
    ValueError
        If ``effects`` is empty, columns are missing, ids, groups or replications are
        missing, ids repeat (within a replication), values are NaN, strings or infinite,
        a standard error is not positive, a group has no members, or ``tau^2`` cannot be
        estimated (one unit, or no more units than groups; see
        :func:`estimate_between_variance`).
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", ("reml", "moments"))
    per_group = check_flag(per_group, "per_group")
    y, s, codes, labels, ordered = _pivot_replications(
        effects, id, group, estimate, se, replication
    )
    tau2 = estimate_between_variance(
        y, s, codes, n_groups=len(labels), method=method, per_group=per_group
    )
    post = normal_normal_posterior(
        y, s, codes, unit_sd=np.sqrt(tau2), n_groups=len(labels), alpha=alpha
    )
    tau_units = (
        _take(np.sqrt(tau2), codes)
        if per_group
        else np.broadcast_to(np.sqrt(tau2)[:, None], y.shape)
    )
    frame = _estimates_frame(
        ordered[id].to_numpy(),
        id,
        "empirical Bayes",
        post["mean"].ravel(),
        post["sd"].ravel(),
        post["ci_low"].ravel(),
        post["ci_high"].ravel(),
        alpha,
        extra={
            "shrinkage": post["shrinkage"].ravel(),
            "between_sd": tau_units.ravel(),
            "group_mean": _take(post["group_mean"], codes).ravel(),
        },
    )
    frame.insert(1, group, ordered[group].to_numpy())
    if replication is not None:
        frame.insert(0, replication, ordered[replication].to_numpy())
    return frame


def estimate_oracle_bayes(
    effects: pd.DataFrame,
    *,
    mean_effect: float,
    group_sd: float,
    unit_sd: float,
    id: str = "creator_id",
    group: str = "genre",
    estimate: str = "estimate",
    se: str = "se",
    replication: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Oracle Bayes: the exact posterior with the *true* hyperparameters.

    :func:`normal_normal_posterior` with known ``mean_effect``, ``group_sd`` and
    ``unit_sd`` (the group means are still unknown and integrated out). No estimator that
    has to learn the hyperparameters from the data can beat its mean squared error on
    average over data drawn from the model; it is the limit the hierarchical model
    approaches as units accumulate.

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per unit (and replication).
    mean_effect, group_sd, unit_sd : float
        The true hyperparameters (``group_sd`` may be ``inf`` for a flat prior).
    id, group, estimate, se, replication : str
        Column names (``replication`` optional, as in :func:`estimate_empirical_bayes`).
    alpha : float
        One minus the credible level.

    Returns
    -------
    pandas.DataFrame
        Estimate fields per unit (method ``"oracle Bayes"``) plus group and ``shrinkage``.

    Raises
    ------
    ValueError
        For bad columns or values, strings or NaN for the hyperparameters, or negative
        standard deviations (``group_sd`` must be positive or ``inf``).
    """
    alpha = check_alpha(alpha)
    unit_sd = check_positive(unit_sd, "unit_sd", strict=False)
    mean_effect = check_finite_number(mean_effect, "mean_effect")
    if isinstance(group_sd, bool) or not isinstance(group_sd, Real):
        raise ValueError(f"group_sd must be a real number, got {group_sd!r}")
    group_sd = float(group_sd)
    if not group_sd > 0:
        raise ValueError(f"group_sd must be positive (inf for a flat prior), got {group_sd}")
    y, s, codes, labels, ordered = _pivot_replications(
        effects, id, group, estimate, se, replication
    )
    post = normal_normal_posterior(
        y,
        s,
        codes,
        unit_sd=unit_sd,
        group_sd=group_sd,
        mean_effect=mean_effect,
        n_groups=len(labels),
        alpha=alpha,
    )
    frame = _estimates_frame(
        ordered[id].to_numpy(),
        id,
        "oracle Bayes",
        post["mean"].ravel(),
        post["sd"].ravel(),
        post["ci_low"].ravel(),
        post["ci_high"].ravel(),
        alpha,
        extra={"shrinkage": post["shrinkage"].ravel()},
    )
    frame.insert(1, group, ordered[group].to_numpy())
    if replication is not None:
        frame.insert(0, replication, ordered[replication].to_numpy())
    return frame


# ----------------------------------------------------------------------------- validation
def validate_against_truth(
    estimates: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    on: str | Sequence[str] = "creator_id",
    truth_column: str = "true_effect",
    by: str | None = None,
    bins: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    cluster: str | None = None,
) -> pd.DataFrame:
    """Accuracy of per-unit estimates against the simulated truth, merged on ids.

    The two frames are joined on ``on`` (one-to-one; a mismatch raises), never by row
    position. For each stratum: number of units, mean squared error, bias (mean of
    estimate minus truth), empirical coverage of ``[ci_low, ci_high]`` with its binomial
    Monte Carlo standard error, and mean interval width.

    Parameters
    ----------
    estimates : pandas.DataFrame
        Per-unit results (``estimate, ci_low, ci_high`` and the ``on`` columns).
    truth : pandas.DataFrame
        The ``on`` columns, ``truth_column`` and (optionally) ``by``.
    on : str or sequence of str
        Key column(s), e.g. ``"creator_id"`` or ``["replication", "creator_id"]``.
    truth_column : str
        The true effect.
    by : str, optional
        Column (of either frame) to stratify on, e.g. ``"n_users"``.
    bins, labels : sequences, optional
        Cut ``by`` into bins (``pandas.cut``, right-closed) with these edges and labels;
        without ``bins`` the strata are the distinct values of ``by``.
    cluster : str, optional
        Column of independent replications (e.g. ``"replication"``). Units of one
        simulated data set share hyperparameters, so their coverage indicators are
        correlated; with ``cluster`` the Monte Carlo SE of coverage is the standard
        deviation of per-cluster coverage over ``sqrt(number of clusters)``.

    Returns
    -------
    pandas.DataFrame
        One row per stratum plus ``"all"``: ``n, mse, bias, coverage, coverage_mc_se,
        mean_width`` (and ``clusters`` with ``cluster``).

    Raises
    ------
    ValueError
        If a frame is empty, columns are missing, keys are missing, the frames do not
        match one-to-one on ``on``, an estimate, interval end or true value is missing,
        not numeric or infinite, an interval has ``ci_low > ci_high``, or ``bins`` are not
        increasing numbers (with ``labels`` one fewer).

    Notes
    -----
    With ``cluster`` and a stratum holding a single cluster, ``coverage_mc_se`` is NaN:
    one cluster gives no estimate of the between-cluster spread.
    """
    if isinstance(on, str):
        keys = [on]
    elif isinstance(on, Sequence) and on and all(isinstance(key, str) for key in on):
        keys = list(on)
    else:
        raise ValueError(f"on must be a column name or a list of column names, got {on!r}")
    _check_frame(estimates, "estimates", **{f"on[{k}]": key for k, key in enumerate(keys)})
    check_columns(estimates, ["estimate", "ci_low", "ci_high"], "estimates")
    _check_frame(truth, "truth", truth_column=truth_column,
                 **{f"on[{k}]": key for k, key in enumerate(keys)})
    for key in keys:
        _check_labels(estimates, key, "estimates")
        _check_labels(truth, key, "truth")
    values = {
        column: _float_column(estimates, column, "estimates")
        for column in ("estimate", "ci_low", "ci_high")
    }
    _float_column(truth, truth_column, "truth")
    if (values["ci_low"] > values["ci_high"]).any():
        raise ValueError("estimates: some rows have ci_low above ci_high")
    truth_columns = [*keys, truth_column]
    if cluster is not None and cluster not in keys:
        raise ValueError(f"cluster: {cluster!r} must be one of the key columns {keys}")
    if by is not None:
        if not isinstance(by, str):
            raise ValueError(f"by must be a column name, got {by!r}")
        holder = estimates if by in estimates.columns else truth
        _check_frame(holder, "estimates or truth", by=by)
        if by not in estimates.columns:
            truth_columns.append(by)
        if bins is not None:
            _float_column(holder, by, "estimates" if holder is estimates else "truth")
        else:
            _check_labels(holder, by, "estimates" if holder is estimates else "truth")
    if bins is not None:
        edges = _hyperparameter_array(bins, "bins", allow_inf=True)  # edges may be +-inf
        with np.errstate(invalid="ignore"):  # inf - inf: not increasing
            increasing = edges.ndim == 1 and edges.size >= 2 and bool((np.diff(edges) > 0).all())
        if not increasing:
            raise ValueError(f"bins must be at least 2 strictly increasing edges, got {bins!r}")
        if labels is not None and len(labels) != len(edges) - 1:
            raise ValueError(
                f"labels must have one fewer entry than bins ({len(edges) - 1}), "
                f"got {len(labels)}"
            )
    if estimates.duplicated(keys).any() or truth.duplicated(keys).any():
        raise ValueError(f"on: {keys} does not identify rows uniquely")
    merged = estimates.merge(
        truth[truth_columns], on=keys, how="outer", validate="one_to_one", indicator=True
    )
    if (merged["_merge"] != "both").any():
        raise ValueError(f"on: estimates and truth do not have the same {keys}")
    for column in ["estimate", "ci_low", "ci_high", truth_column]:
        if merged[column].isna().any():
            raise ValueError(
                f"{'truth' if column == truth_column else 'estimates'}: column {column!r} "
                f"has missing values ({int(merged[column].isna().sum())} rows)"
            )
    if by is not None and bins is not None and pd.cut(merged[by], bins=list(bins)).isna().any():
        raise ValueError(f"bins: some values of {by!r} fall outside the bins {list(bins)}")
    error = merged["estimate"] - merged[truth_column]
    covered = (merged["ci_low"] <= merged[truth_column]) & (
        merged[truth_column] <= merged["ci_high"]
    )
    table = pd.DataFrame(
        {
            "error": error,
            "covered": covered.astype(float),
            "width": merged["ci_high"] - merged["ci_low"],
        }
    )
    if cluster is not None:
        table["cluster"] = merged[cluster].to_numpy()
    if by is None:
        strata = pd.Series("all", index=merged.index)
    elif bins is not None:
        strata = pd.cut(merged[by], bins=list(bins), labels=labels).astype(object)
    else:
        strata = merged[by]

    def summarise(part: pd.DataFrame) -> dict[str, float]:
        n = len(part)
        coverage = part["covered"].mean()
        mc_se = np.sqrt(coverage * (1 - coverage) / n)
        row = {"n": n}
        if cluster is not None:
            per_cluster = part.groupby("cluster")["covered"].mean()
            row["clusters"] = per_cluster.size
            mc_se = (
                per_cluster.std(ddof=1) / np.sqrt(per_cluster.size)
                if per_cluster.size > 1
                else np.nan
            )
        row.update(
            {
                "mse": float((part["error"] ** 2).mean()),
                "bias": float(part["error"].mean()),
                "coverage": float(coverage),
                "coverage_mc_se": float(mc_se),
                "mean_width": float(part["width"].mean()),
            }
        )
        return row

    rows = {}
    if by is not None:
        for stratum, part in table.groupby(strata.to_numpy(), sort=False):
            rows[stratum] = summarise(part)
        if bins is not None and labels is not None:
            rows = {label: rows[label] for label in labels if label in rows}
    rows["all"] = summarise(table)
    result = pd.DataFrame.from_dict(rows, orient="index")
    result.index.name = by or "stratum"
    return result


# ----------------------------------------------------------------------------- PyMC models
_SHARED_DATA_MODELS: dict[tuple[Any, ...], Any] = {}


def _model_data(shared: bool, name: str, value: Any, dims: str | None = None) -> Any:
    """``pm.Data`` (replaceable after compilation) or the plain value (a constant)."""
    if not shared:
        # A NumPy float64, not a Python float: PyTensor stores a Python float constant in
        # float32 when its float32 rounding is "close" (autocast), e.g. 0.7 -> 0.69999999.
        return np.float64(value) if isinstance(value, float) else value
    import pymc as pm

    return pm.Data(name, value, dims=dims)


def _compile(build: Callable[[bool], Any], key: tuple[Any, ...] | None) -> tuple[Any, float, float]:
    """Compile a PyMC model with nutpie (numba backend); return it and the wall/CPU seconds.

    ``key=None`` builds the model with its data as constants and freezes it: PyTensor folds
    the data into the graph, which compiles fastest (the right choice for one fit).
    Otherwise the data are ``pm.Data`` and the compiled model is kept in memory under
    ``key`` (model structure and shapes) so later fits of same-shaped data only sample.
    """
    if key is not None and key in _SHARED_DATA_MODELS:
        return _SHARED_DATA_MODELS[key], 0.0, 0.0
    import nutpie

    wall, cpu = time.perf_counter(), time.process_time()
    model = build(key is not None)
    with warnings.catch_warnings():
        # PyTensor probes for a BLAS library while rewriting the graph and warns when it
        # finds none (pip installs); nutpie compiles with numba and never links BLAS.
        warnings.filterwarnings(
            "ignore", message="PyTensor could not link to a BLAS", category=UserWarning
        )
        compiled = nutpie.compile_pymc_model(model, freeze_model=key is None)
    if key is not None:
        _SHARED_DATA_MODELS[key] = compiled
    return compiled, time.perf_counter() - wall, time.process_time() - cpu


def _compile_and_sample(
    build: Callable[[bool], Any],
    key: tuple[Any, ...] | None,
    data: Mapping[str, Any],
    **settings: Any,
) -> tuple[Any, dict[str, float]]:
    """Compile (see :func:`_compile`), load ``data`` into a reused model, sample with nutpie.

    ``settings`` are :func:`_sample_nutpie`'s keywords. Returns the draws and the timings
    (``compile_cpu`` is 0 when a compiled model was reused).
    """
    compiled, compile_wall, compile_cpu = _compile(build, key)
    if key is not None:
        compiled = compiled.with_data(**data)
    return _sample_nutpie(compiled, compile_wall, compile_cpu, **settings)


def _sample_nutpie(
    compiled: Any,
    compile_wall: float,
    compile_cpu: float,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int,
    target_accept: float,
    seed: int,
) -> tuple[Any, dict[str, float]]:
    """Sample a nutpie model (no progress bar); return the draws and the timings.

    The timings are ``compile_wall``, ``compile_cpu`` (as given), ``sample_wall``,
    ``sample_cpu``, ``total_wall`` and ``total_cpu`` in seconds.
    """
    import nutpie

    wall, cpu = time.perf_counter(), time.process_time()
    idata = nutpie.sample(
        compiled,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        progress_bar=False,
        target_accept=target_accept,
    )
    sample_wall, sample_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return idata, {
        "compile_wall": compile_wall,
        "compile_cpu": compile_cpu,
        "sample_wall": sample_wall,
        "sample_cpu": sample_cpu,
        "total_wall": compile_wall + sample_wall,
        "total_cpu": compile_cpu + sample_cpu,
    }


def _add_draws(idata: Any, name: str, values: np.ndarray, dim: str | None = None) -> None:
    """Store derived draws shaped ``(chain*draw[, k])`` in ``idata.posterior``."""
    chains, draws = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    dims = ("chain", "draw") if dim is None else ("chain", "draw", dim)
    idata.posterior[name] = (dims, values.reshape(chains, draws, *values.shape[1:]))


def _check_sampler_settings(
    draws: int, tune: int, chains: int, cores: int, target_accept: float
) -> None:
    check_integer(draws, "draws", minimum=10)
    check_integer(tune, "tune", minimum=10)
    check_integer(chains, "chains", minimum=1)
    check_integer(cores, "cores", minimum=1)
    check_probability(target_accept, "target_accept", allow_zero=False, allow_one=False)


@dataclass
class HierarchicalFit:
    """A sampled hierarchical model and what came out of it.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior draws (and ``log_likelihood`` where computed), coordinates labelled by
        the units' and groups' ids.
    unit_effects : pandas.DataFrame
        Posterior summary per unit: Estimate fields (``se`` = posterior sd, equal-tailed
        credible interval) keyed by the id column, plus the group.
    group_effects : pandas.DataFrame
        Posterior summary per group mean.
    hyperparameters : pandas.DataFrame
        Posterior summary of the mean and standard deviations.
    timings : dict
        ``compile_wall``, ``compile_cpu`` (0 when a compiled model was reused),
        ``sample_wall``, ``sample_cpu``, ``total_wall``, ``total_cpu`` in seconds (CPU
        time of all sampler threads).
    data : pandas.DataFrame
        The input rows used (id, group, estimate, se).
    """

    idata: Any
    unit_effects: pd.DataFrame
    group_effects: pd.DataFrame
    hyperparameters: pd.DataFrame
    timings: dict[str, float]
    data: pd.DataFrame
    details: dict[str, Any] = field(default_factory=dict)


def _summarise_draws(
    draws: np.ndarray, ids: Sequence[Any], id_name: str, method: str, alpha: float
) -> pd.DataFrame:
    """Posterior mean, sd and equal-tailed interval of draws shaped (n_draws, k)."""
    low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    return _estimates_frame(
        ids, id_name, method, draws.mean(axis=0), draws.std(axis=0, ddof=1), low, high, alpha
    )


def _stack(idata: Any, name: str) -> np.ndarray:
    values = idata.posterior[name].to_numpy()
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


def _automatic_group_centring(
    y: np.ndarray, s: np.ndarray, codes: np.ndarray, n_groups: int
) -> float:
    """1 (centred) if the data pin down every group mean well relative to their spread."""
    if n_groups < 5 or len(y) <= n_groups:
        return 0.0
    tau2 = estimate_between_variance(y, s, codes, n_groups=n_groups, method="moments")
    post = normal_normal_posterior(y, s, codes, unit_sd=np.sqrt(tau2), n_groups=n_groups)
    group_se = post["group_sd"]
    spread2 = max(0.0, float(np.var(post["group_mean"], ddof=1) - np.mean(group_se**2)))
    return 1.0 if np.median(group_se) < np.sqrt(spread2) / 3 else 0.0


def _check_centring(value: Any, name: str) -> float:
    """A centring choice: 1 (centred) or 0 (non-centred), as a float."""
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)
    ):
        return float(value)
    raise ValueError(f"{name} must be 1 (centred) or 0 (non-centred), got {value!r}")


def _build_known_se_model(
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
    centred_groups: bool,
    centred_units: bool,
    shared: bool,
) -> Any:
    """The global → group → unit model; the free variables are ``group_raw``/``unit_raw``.

    Centred, ``*_raw`` is the group mean (unit effect) itself; non-centred, it is the
    standardised deviation ``z`` with mean = parent + sd * z. :func:`_derived_means` turns
    the draws into group means and unit effects (kept out of the graph: fewer operations
    to compile). With constant data (``shared=False``) the centring is chosen in Python.
    With ``pm.Data`` (``shared=True``) it is data too, so one compiled model serves every
    parameterisation: with a weight ``w`` of 1 (centred) or 0 (non-centred),
    ``raw ~ N(w parent, sd^w)`` and ``mean = parent + sd^(1 - w) (raw - w parent)``, which
    is exactly the centred or the non-centred model.
    """
    import pymc as pm

    coords = {"group": np.arange(n_groups), "unit": np.arange(len(y))}
    # check_bounds=False drops PyMC's run-time parameter checks (sd > 0): every sd here is
    # positive by construction (log-transformed, or a validated standard error).
    with pm.Model(coords=coords, check_bounds=False) as model:
        code = _model_data(shared, "group_code", codes, "unit")
        observed = _model_data(shared, "estimate", y, "unit")
        standard_error = _model_data(shared, "standard_error", s, "unit")
        scale = _model_data(shared, "prior_scale", prior_scale)
        mu = pm.Normal("mu", 0.0, 10.0 * scale)
        group_sd = pm.HalfNormal("group_sd", scale)
        unit_sd = pm.HalfNormal("unit_sd", scale)
        if shared:
            w_group = pm.Data("group_centring", float(centred_groups))
            w_unit = pm.Data("unit_centring", float(centred_units))
            group_raw = pm.Normal("group_raw", w_group * mu, group_sd**w_group, dims="group")
            group_mean = mu + group_sd ** (1.0 - w_group) * (group_raw - w_group * mu)
            parent = group_mean[code]
            unit_raw = pm.Normal("unit_raw", w_unit * parent, unit_sd**w_unit, dims="unit")
            theta = parent + unit_sd ** (1.0 - w_unit) * (unit_raw - w_unit * parent)
        else:
            if centred_groups:
                group_mean = pm.Normal("group_raw", mu, group_sd, dims="group")
            else:
                group_mean = mu + group_sd * pm.Normal("group_raw", 0.0, 1.0, dims="group")
            if centred_units:
                theta = pm.Normal("unit_raw", group_mean[code], unit_sd, dims="unit")
            else:
                theta = group_mean[code] + unit_sd * pm.Normal("unit_raw", 0.0, 1.0, dims="unit")
        pm.Normal("likelihood", theta, standard_error, observed=observed, dims="unit")
    return model


def _build_hyperparameter_model(
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
    shared: bool,
) -> Any:
    """The model with ``mu``, the group means and the unit effects integrated out.

    With ``v_j = unit_sd^2 + s_j^2``, ``w_j = 1/v_j`` and per group ``W_g = sum w_j``,
    ``ybar_g = sum w_j y_j / W_g``, ``Q_g = sum w_j (y_j - ybar_g)^2``, the estimates given
    ``mu`` have log density (matrix determinant lemma and Sherman-Morrison, up to a
    constant) ``-1/2 [sum log v_j + sum log(1 + group_sd^2 W_g) + sum Q_g
    + sum (ybar_g - mu)^2 / u_g]`` with ``u_g = 1/W_g + group_sd^2``. Integrating
    ``mu ~ N(0, V)`` adds ``-1/2 [sum ybar_g^2 / u_g - b^2/A + log(V A)]`` with
    ``A = sum 1/u_g + 1/V`` and ``b = sum ybar_g / u_g``. Only ``group_sd`` and ``unit_sd``
    are sampled; :func:`_draw_conditional_effects` draws ``mu``, the group means and the
    unit effects exactly.
    """
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model(check_bounds=False) as model:
        code = _model_data(shared, "group_code", codes)
        observed = _model_data(shared, "estimate", y)
        standard_error = _model_data(shared, "standard_error", s)
        scale = _model_data(shared, "prior_scale", prior_scale)
        group_sd = pm.HalfNormal("group_sd", scale)
        unit_sd = pm.HalfNormal("unit_sd", scale)
        variance = unit_sd**2 + standard_error**2
        weight = 1.0 / variance

        # A constant zero vector, not pt.zeros: an Alloc op costs seconds of numba compilation.
        zeros = pt.as_tensor(np.zeros(n_groups))

        def group_sum(values: Any) -> Any:
            return pt.inc_subtensor(zeros[code], values)

        weight_sum = group_sum(weight)
        weighted_mean = group_sum(weight * observed) / weight_sum
        within = group_sum(weight * observed**2) - weight_sum * weighted_mean**2
        group_var = 1.0 / weight_sum + group_sd**2
        mu_precision = pt.sum(1.0 / group_var) + 1.0 / (10.0 * scale) ** 2
        mu_numerator = pt.sum(weighted_mean / group_var)
        pm.Potential(
            "likelihood",
            -0.5
            * (
                pt.sum(pt.log(variance))
                + pt.sum(pt.log(1.0 + group_sd**2 * weight_sum))
                + pt.sum(within)
                + pt.sum(weighted_mean**2 / group_var)
                - mu_numerator**2 / mu_precision
                + pt.log((10.0 * scale) ** 2 * mu_precision)
            ),
        )
    return model


@dataclass(frozen=True)
class _HyperparameterDensity:
    """:func:`_build_hyperparameter_model`'s log density and gradient, without PyTensor.

    The sampler works on ``x = (log group_sd, log unit_sd)``. With ``a = group_sd^2``,
    ``t = unit_sd^2`` and ``F(a, t)`` the bracket of :func:`_build_hyperparameter_model`
    (so the integrated likelihood is ``-F/2`` up to the constant ``-(n/2) log 2 pi``, which
    the PyMC model drops too), the log density is
    ``-F/2 - (a + t) / (2 c^2) + log(2 / pi) - 2 log c + x_1 + x_2``: the two
    HalfNormal(c) priors and the Jacobian of the log transform. The gradient is
    ``(-a dF/da - a/c^2 + 1, -t dF/dt - t/c^2 + 1)``; writing ``h_g = 1/u_g``,
    ``z_g = ybar_g``, ``m = b/A`` and ``G_g = (z_g - m)^2 + 1/A``,

    - ``dF/da = sum_g [W_g / (1 + a W_g) - h_g^2 G_g]``;
    - ``dF/dt = sum_j w_j - sum_g [dF/dW_g S2_g + dF/dP_g P2_g + R2_g]``, where
      ``P_g = sum w_j y_j``, ``R_g = sum w_j y_j^2`` and ``S2, P2, R2`` are the same sums
      with ``w_j^2`` (so ``dW_g/dt = -S2_g`` etc.), ``dF/dW_g = a / (1 + a W_g) + z_g^2
      + G_g h_g^2 / W_g^2 - 2 h_g (z_g - m) z_g / W_g`` and
      ``dF/dP_g = -2 z_g + 2 h_g (z_g - m) / W_g``.

    Value and gradient equal PyMC's ``model.logp()`` and PyTensor's gradient of it
    (``tests/test_hbm.py``). They are evaluated by one small numba function
    (:func:`_hyperparameter_log_density`), not by PyTensor's compiled graph of the model:
    compiling that graph with numba takes 10-35 s on a fresh machine, this function
    about 3 s, once.
    """

    y: np.ndarray
    se_squared: np.ndarray  # s_j^2
    codes: np.ndarray  # group of each unit, 0 .. n_groups - 1
    n_groups: int
    prior_scale: float

    @classmethod
    def from_data(
        cls, y: np.ndarray, s: np.ndarray, codes: np.ndarray, n_groups: int, prior_scale: float
    ) -> _HyperparameterDensity:
        return cls(
            np.array(y, dtype=float),
            np.asarray(s, dtype=float) ** 2,
            np.array(codes, dtype=np.intp),
            int(n_groups),
            float(prior_scale),
        )

    def __call__(self, log_sds: np.ndarray) -> tuple[float, np.ndarray]:
        """Log density and its gradient at ``x = (log group_sd, log unit_sd)``.

        Beyond ``|x_i - log c| > 50`` (an sd ``e^50`` times the prior scale or smaller than
        ``e^-50`` times it: prior density ``exp(-e^100 / 2)`` at the top) it returns
        ``-inf``, which NUTS treats as a divergence, instead of overflowing.
        """
        gradient = np.empty(2)
        log_density = _hyperparameter_log_density(
            float(log_sds[0]), float(log_sds[1]), self.y, self.se_squared, self.codes,
            self.n_groups, self.prior_scale, gradient,
        )
        return float(log_density), gradient


@numba.njit(cache=True, nogil=True)
def _hyperparameter_log_density(
    x0: float,
    x1: float,
    y: np.ndarray,
    se_squared: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
    gradient: np.ndarray,
) -> float:
    """:class:`_HyperparameterDensity`'s value; writes its gradient into ``gradient``.

    One pass over the units accumulates the per-group sums, one over the groups the rest
    (the formulas are in the class docstring). Compiled by numba, about 3 s once per
    environment (cached on disk); a call then costs microseconds, against milliseconds
    for PyTensor's compiled graph of the same model to compile and ~130 microseconds
    for the same formulas as NumPy array operations on 500 units.
    """
    log_c = math.log(prior_scale)
    if not (abs(x0 - log_c) < 50.0 and abs(x1 - log_c) < 50.0):
        gradient[0] = np.nan
        gradient[1] = np.nan
        return -np.inf
    c2 = prior_scale * prior_scale
    mu_variance = 100.0 * c2  # mu ~ N(0, (10 c)^2)
    a = math.exp(2.0 * x0)
    t = math.exp(2.0 * x1)
    W = np.zeros(n_groups)
    P = np.zeros(n_groups)
    S2 = np.zeros(n_groups)
    P2 = np.zeros(n_groups)
    sum_log_w = sum_w = sum_R = sum_R2 = 0.0
    for j in range(y.shape[0]):
        w = 1.0 / (t + se_squared[j])
        g = codes[j]
        wy = w * y[j]
        w2y = w * wy
        W[g] += w
        P[g] += wy
        S2[g] += w * w
        P2[g] += w2y
        sum_R += wy * y[j]
        sum_R2 += w2y * y[j]
        sum_log_w += math.log(w)
        sum_w += w
    A = 1.0 / mu_variance
    b = 0.0
    for g in range(n_groups):
        h = 1.0 / (1.0 / W[g] + a)
        A += h
        b += P[g] / W[g] * h
    m = b / A
    F = -sum_log_w + sum_R - b * m + math.log(mu_variance * A)
    dF_da = 0.0
    dF_dt = sum_w - sum_R2
    for g in range(n_groups):
        z = P[g] / W[g]
        h = 1.0 / (1.0 / W[g] + a)
        inflation = 1.0 + a * W[g]
        F += math.log(inflation) - P[g] * z + z * z * h
        G = (z - m) ** 2 + 1.0 / A
        dF_da += W[g] / inflation - h * h * G
        dF_dW = a / inflation + z * z + G * h * h / (W[g] * W[g]) - 2.0 * h * (z - m) * z / W[g]
        dF_dP = -2.0 * z + 2.0 * h * (z - m) / W[g]
        dF_dt -= dF_dW * S2[g] + dF_dP * P2[g]
    gradient[0] = -a * dF_da - a / c2 + 1.0
    gradient[1] = -t * dF_dt - t / c2 + 1.0
    return -0.5 * F - (a + t) / (2.0 * c2) + math.log(2.0 / math.pi) - math.log(c2) + x0 + x1


def _log_sd_pyfunc_model(
    density: Callable[[np.ndarray], tuple[float, np.ndarray]],
    prior_scale: float,
    names: Sequence[str],
) -> Any:
    """A nutpie model sampling ``density`` over log standard deviations (no compilation).

    The draws are stored as the sds themselves, one scalar variable per name. Chains start
    at ``log c + U(-1, 1)`` per coordinate, as PyMC jitters its start points.
    """
    from nutpie.compiled_pyfunc import from_pyfunc

    dimension = len(names)

    def make_logp() -> Callable[..., tuple[float, np.ndarray]]:
        return lambda x, **_: density(x)

    def make_expand(*_: Any) -> Callable[..., dict[str, np.ndarray]]:
        return lambda x, **_: {
            name: np.asarray(math.exp(x[i])) for i, name in enumerate(names)
        }

    def initial_point(seed: int) -> np.ndarray:
        jitter = np.random.default_rng(seed).uniform(-1.0, 1.0, size=dimension)
        return np.log(prior_scale) + jitter

    return from_pyfunc(
        dimension,
        make_logp,
        make_expand,
        [np.dtype("float64")] * dimension,
        [()] * dimension,
        list(names),
        make_initial_point_fn=initial_point,
    )


def _sample_log_sd_density(
    density: Callable[[np.ndarray], tuple[float, np.ndarray]],
    prior_scale: float,
    names: Sequence[str],
    **settings: Any,
) -> tuple[Any, dict[str, float]]:
    """Sample a density of log sds with nutpie (:func:`_log_sd_pyfunc_model`); no compiling.

    ``settings`` are :func:`_sample_nutpie`'s keywords, ``cores`` excepted: the chains share
    one thread, because nutpie calls the density through Python, which holds the GIL (two
    threads only fight for the lock).
    """
    import nutpie.compiled_pyfunc  # noqa: F401  (imported before the clock starts)

    wall, cpu = time.perf_counter(), time.process_time()
    model = _log_sd_pyfunc_model(density, prior_scale, names)
    return _sample_nutpie(
        model, time.perf_counter() - wall, time.process_time() - cpu, **{**settings, "cores": 1}
    )


def _draw_conditional_effects(
    idata: Any,
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
    generator: np.random.Generator,
    units: bool = True,
) -> None:
    """Exact draws of ``mu``, group means and (if ``units``) unit effects given the sds.

    ``mu | group_sd, unit_sd, y ~ N(b/A, 1/A)`` (see :func:`_build_hyperparameter_model`);
    ``m_g | mu, ... ~ N((mu + group_sd^2 W_g ybar_g) / (1 + group_sd^2 W_g),
    group_sd^2 / (1 + group_sd^2 W_g))`` (stable as ``group_sd -> 0``);
    ``theta_j | m_g, unit_sd, y_j ~ N(B_j m_g + (1 - B_j) y_j, (1 - B_j) s_j^2)`` with
    ``B_j = s_j^2 / (s_j^2 + unit_sd^2)``. Stored as ``mu``, ``group_mean``, ``theta``.
    """
    group_var = _stack(idata, "group_sd")[:, None] ** 2
    unit_var = _stack(idata, "unit_sd")[:, None] ** 2
    onehot = _onehot(codes, n_groups)
    weight = 1.0 / (unit_var + s**2)
    weight_sum = weight @ onehot
    weighted_mean = ((weight * y) @ onehot) / weight_sum
    mean_var = 1.0 / weight_sum + group_var
    mu_precision = (1.0 / mean_var).sum(axis=1) + 1.0 / (10.0 * prior_scale) ** 2
    mu_centre = (weighted_mean / mean_var).sum(axis=1) / mu_precision
    mu = mu_centre + generator.standard_normal(mu_centre.shape) / np.sqrt(mu_precision)
    inflation = 1.0 + group_var * weight_sum
    centre = (mu[:, None] + group_var * weight_sum * weighted_mean) / inflation
    group_mean = centre + np.sqrt(group_var / inflation) * generator.standard_normal(centre.shape)
    _add_draws(idata, "mu", mu)
    _add_draws(idata, "group_mean", group_mean, "group")
    if not units:
        return
    shrinkage = s**2 / (s**2 + unit_var)
    theta_mean = shrinkage * group_mean[:, codes] + (1 - shrinkage) * y
    theta = theta_mean + np.sqrt((1 - shrinkage) * s**2) * generator.standard_normal(
        theta_mean.shape
    )
    _add_draws(idata, "theta", theta, "unit")


def _derived_means(
    idata: Any, codes: np.ndarray, centred_groups: bool, centred_units: bool
) -> None:
    """Add ``group_mean`` and ``theta`` to the posterior of the full model."""
    group_raw = _stack(idata, "group_raw")
    group_mean = group_raw
    if not centred_groups:
        group_mean = _stack(idata, "mu")[:, None] + _stack(idata, "group_sd")[:, None] * group_raw
    _add_draws(idata, "group_mean", group_mean, "group")
    unit_raw = _stack(idata, "unit_raw")
    theta = unit_raw
    if not centred_units:
        theta = group_mean[:, codes] + _stack(idata, "unit_sd")[:, None] * unit_raw
    _add_draws(idata, "theta", theta, "unit")


def _add_log_likelihood(
    idata: Any, log_lik: np.ndarray, unit_name: str, ids: Sequence[Any]
) -> None:
    import xarray as xr

    chains, draws = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    dataset = xr.Dataset(
        {"likelihood": (("chain", "draw", unit_name), log_lik.reshape(chains, draws, -1))},
        coords={
            "chain": idata.posterior["chain"].to_numpy(),
            "draw": idata.posterior["draw"].to_numpy(),
            unit_name: np.asarray(ids),
        },
    )
    if "log_likelihood" in idata.groups():
        del idata.log_likelihood
    idata.add_groups(log_likelihood=dataset)


def _fit_data(
    effects: Any, id: str, group: str, estimate: str, se: str, prior_scale: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any], pd.DataFrame, float]:
    """The validated data of one hierarchical fit and its prior scale."""
    y, s, codes, labels, ordered = _pivot_replications(effects, id, group, estimate, se, None)
    y, s, codes = y[0], s[0], codes[0]
    if len(y) < 3:
        raise ValueError(f"effects: need at least 3 units, got {len(y)}")
    if prior_scale is None:
        prior_scale = float(np.std(y, ddof=1))
        if not prior_scale > 0:
            raise ValueError(
                f"prior_scale: the estimates in column {estimate!r} are all equal, so the "
                "default prior scale (their standard deviation) is 0; pass prior_scale"
            )
    prior_scale = check_positive(prior_scale, "prior_scale")
    return y, s, codes, labels, ordered, prior_scale


def fit_hierarchical_model(
    effects: pd.DataFrame,
    *,
    id: str = "creator_id",
    group: str = "genre",
    estimate: str = "estimate",
    se: str = "se",
    prior_scale: float | None = None,
    genre_centring: float | str = "auto",
    creator_centring: float = 0.0,
    sample_effects: bool = False,
    integrate_out_units: bool = False,
    reuse_compiled: bool = False,
    draws: int = 1_000,
    tune: int = 1_000,
    chains: int = 4,
    cores: int = 2,
    target_accept: float = 0.9,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> HierarchicalFit:
    """Full-Bayes partial pooling: a global → group → unit model with known standard errors.

    Model (``y_j`` the unit's estimate with standard error ``s_j``, ``g(j)`` its group,
    ``c`` the prior scale)::

        mu ~ N(0, (10 c)^2),  group_sd ~ HalfNormal(c),  unit_sd ~ HalfNormal(c)
        m_g ~ N(mu, group_sd^2)                    (group means)
        theta_j ~ N(m_{g(j)}, unit_sd^2)           (unit effects)
        y_j ~ N(theta_j, s_j^2)                    (known-SE likelihood)

    By default NUTS samples only the two standard deviations ``(group_sd, unit_sd)`` from
    their marginal posterior, with ``mu``, the group means and the unit effects integrated
    out analytically (the estimates are jointly normal given the sds), and then draws
    ``mu``, ``m_g`` and ``theta_j`` *exactly* from their normal conditional distributions
    given each draw of the sds (:cite:`gelman2013bda`, ch. 5, does the same for the
    two-level model). This is the same posterior, with no funnel for the sampler to
    fall into: with a handful of groups ``group_sd`` is weakly identified, and sampling
    the group means as well (``sample_effects=True``) then needs the right
    parameterisation, chosen by ``genre_centring`` and ``creator_centring``, and still
    diverges or mixes slowly on some data sets.

    With ``sample_effects=True`` each level can be written centred (sample ``m_g`` itself) or
    non-centred (sample ``z_g ~ N(0, 1)`` and set ``m_g = mu + group_sd z_g``):
    ``genre_centring`` and
    ``creator_centring`` choose, 1 = centred, 0 = non-centred. Centre a level whose
    members the data pin down (a few groups with hundreds of units each); non-centre one
    whose members are mostly prior (small units)
    :cite:`betancourt2015hamiltonian,papaspiliopoulos2007general`.
    ``genre_centring="auto"`` applies that rule with empirical-Bayes quantities: it
    centres the group level when there are at least 5 groups and the median standard
    error of a group's precision-weighted mean is below a third of the spread of the
    group means, and non-centres it otherwise. Units are non-centred by default. On the
    chapter's simulation
    (5 genres × 100 creators) the defaults sample without divergences, while the fully
    centred and fully non-centred models do not; with a few small groups, raise
    ``target_accept`` (the tests use 0.99 for 5 genres × 16 creators).

    The prior scale ``c`` defaults to the standard deviation of the estimates, so the
    model is scale-free: multiplying estimates and SEs by ``k`` multiplies the posterior by
    ``k``. With ``integrate_out_units=True`` there are no unit effects: the pointwise
    log-likelihood is that of the model with them integrated out,
    ``y_j ~ N(m_{g(j)}, unit_sd^2 + s_j^2)``, at each draw of the group means and
    ``unit_sd`` (the same posterior: the two sds sampled, ``mu`` and ``m_g`` drawn
    exactly): use it to compare groupings by PSIS-LOO (:func:`compare_groupings`).
    Pointwise log-likelihoods are stored in ``idata.log_likelihood`` for both variants;
    ``mu``, ``group_mean`` (and ``theta``) in ``idata.posterior`` (with
    ``sample_effects``, computed from the sampled ``group_raw``/``unit_raw``).

    Sampled with nutpie, no progress bar. The default model's density is evaluated by a
    small numba function (``_HyperparameterDensity``, equal to PyMC's ``model.logp`` and
    PyTensor's gradient of it, as the tests check), compiled once per environment, so no
    PyTensor graph is compiled and every fit only samples; its chains run in one thread
    (nutpie calls the density through Python). The full model (``sample_effects``) is
    compiled with nutpie's numba backend, with the data folded in as constants (the
    fastest to compile; 10-35 s on a machine whose PyTensor cache is empty). With
    ``reuse_compiled=True`` it is compiled with replaceable ``pm.Data`` instead (the
    centring choices included) and kept in memory (not on disk) for the rest of the
    process, keyed by shape: later fits of same-shaped data, in any parameterisation
    (simulation studies, refits, a comparison of parameterisations), only sample.

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per unit: id, group, estimate, standard error (e.g. the output of
        :func:`estimate_unit_effects_from_stats`).
    id, group, estimate, se : str
        Column names.
    prior_scale : float, optional
        ``c``; default the sample sd of the estimates.
    genre_centring : {1, 0, "auto"}
        Centred (1) or non-centred (0) group level, or ``"auto"`` (above).
    creator_centring : {0, 1}
        Non-centred (0, default) or centred (1) unit level.
    sample_effects : bool
        Sample group means and unit effects with NUTS instead of drawing them exactly
        given the hyperparameters (the centring arguments apply only then).
    integrate_out_units : bool
        No unit effects; the log-likelihood has them integrated out (for PSIS-LOO). Not
        with ``sample_effects``.
    reuse_compiled : bool
        With ``sample_effects``: compile with replaceable data and keep the compiled model
        for same-shaped fits. (The default model compiles no graph; it is ignored there.)
    draws, tune, chains, cores : int
        Sampler settings (post-warm-up draws per chain, warm-up steps, chains, threads;
        a single fit of the default model runs in one thread whatever ``cores`` says).
    target_accept : float
        NUTS target acceptance rate.
    alpha : float
        One minus the credible level of the summaries.
    rng : numpy.random.Generator, int or None
        Seed source for the sampler.

    Returns
    -------
    HierarchicalFit
        Draws, per-unit/group/hyperparameter summaries and timings.

    Raises
    ------
    ValueError
        If ``effects`` is empty, columns are missing, values are missing, NaN, strings or
        infinite, an SE is not positive, a group has no members, ids repeat, there are
        fewer than 3 units, the estimates are all equal (without ``prior_scale``), a
        setting or ``rng`` is invalid, or both ``sample_effects`` and
        ``integrate_out_units`` are set. All raised before anything is compiled or
        sampled.
    """
    # Every check runs before anything is compiled or sampled.
    alpha = check_alpha(alpha)
    _check_sampler_settings(draws, tune, chains, cores, target_accept)
    generator = check_rng(rng)
    sample_effects = check_flag(sample_effects, "sample_effects")
    integrate_out_units = check_flag(integrate_out_units, "integrate_out_units")
    reuse_compiled = check_flag(reuse_compiled, "reuse_compiled")
    if sample_effects and integrate_out_units:
        raise ValueError(
            "integrate_out_units: the unit effects cannot be integrated out and sampled "
            "(sample_effects=True) at once"
        )
    centred_units = bool(_check_centring(creator_centring, "creator_centring"))
    auto_centring = isinstance(genre_centring, str) and genre_centring == "auto"
    if not auto_centring:
        genre_centring = _check_centring(genre_centring, "genre_centring")
    y, s, codes, labels, ordered, prior_scale = _fit_data(
        effects, id, group, estimate, se, prior_scale
    )
    if auto_centring:
        genre_centring = _automatic_group_centring(y, s, codes, len(labels))
    n_groups = len(labels)
    centred_groups = bool(genre_centring)
    hyper_only = not sample_effects
    settings: dict[str, Any] = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "cores": cores,
        "target_accept": target_accept,
        "seed": _seed_from(generator),
    }
    if hyper_only:
        # The default model: its density by a small numba function, no PyTensor graph.
        density = _HyperparameterDensity.from_data(y, s, codes, n_groups, prior_scale)
        idata, timings = _sample_log_sd_density(
            density, prior_scale, ["group_sd", "unit_sd"], **settings
        )
    else:
        build = lambda shared: _build_known_se_model(  # noqa: E731
            y, s, codes, n_groups, prior_scale, centred_groups, centred_units, shared
        )
        data = {"group_code": codes, "estimate": y, "standard_error": s,
                "prior_scale": prior_scale, "group_centring": float(centred_groups),
                "unit_centring": float(centred_units)}
        idata, timings = _compile_and_sample(
            build, ("known_se", len(y), n_groups) if reuse_compiled else None, data, **settings
        )
    ids = ordered[id].to_numpy()
    if hyper_only:
        _draw_conditional_effects(
            idata, y, s, codes, n_groups, prior_scale, generator, units=not integrate_out_units
        )
    else:
        _derived_means(idata, codes, centred_groups, centred_units)
    idata.posterior = idata.posterior.assign_coords(
        unit=ids, group=np.asarray(labels, dtype=object)
    )
    group_draws = _stack(idata, "group_mean")
    unit_sd_draws = _stack(idata, "unit_sd")
    if integrate_out_units:
        mean = group_draws[:, codes]
        log_lik = stats.norm.logpdf(y, mean, np.sqrt(unit_sd_draws[:, None] ** 2 + s**2))
        unit_effects = pd.DataFrame({id: ids})
    else:
        theta = _stack(idata, "theta")
        log_lik = stats.norm.logpdf(y, theta, s)
        unit_effects = _summarise_draws(theta, ids, id, "hierarchical Bayes", alpha)
        unit_effects[group] = ordered[group].to_numpy()
    _add_log_likelihood(idata, log_lik, "unit", ids)
    hyper_draws = np.column_stack([_stack(idata, "mu"), _stack(idata, "group_sd"), unit_sd_draws])
    return HierarchicalFit(
        idata=idata,
        unit_effects=unit_effects,
        group_effects=_summarise_draws(group_draws, labels, group, "hierarchical Bayes", alpha),
        hyperparameters=_summarise_draws(
            hyper_draws, ["mu", "group_sd", "unit_sd"], "parameter", "hierarchical Bayes", alpha
        ),
        timings=timings,
        data=ordered[[id, group, estimate, se]].reset_index(drop=True),
        details={
            "prior_scale": prior_scale,
            "group_labels": labels,
            "codes": codes,
            "genre_centring": genre_centring,
            "creator_centring": float(centred_units),
            "sample_effects": not hyper_only,
            "reuse_compiled": reuse_compiled,
            "id": id,
            "group": group,
            "estimate": estimate,
            "se": se,
        },
    )


# ----------------------------------------------------------------------------- diagnostics
@dataclass(frozen=True)
class ConvergenceReport:
    """Convergence diagnostics of a sampled model :cite:`vehtari2021rank`.

    Attributes
    ----------
    max_rhat : float
        Largest rank-normalised split R-hat over the checked variables.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    divergences : int
        Number of divergent transitions after warm-up.
    worst_variable : str
        The variable with the largest R-hat.
    rhat_max, ess_min : float
        The thresholds applied.
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    worst_variable: str
    rhat_max: float
    ess_min: float

    @property
    def passed(self) -> bool:
        """R-hat below ``rhat_max``, bulk and tail ESS above ``ess_min``, no divergences."""
        return (
            self.max_rhat < self.rhat_max
            and self.min_ess_bulk > self.ess_min
            and self.min_ess_tail > self.ess_min
            and self.divergences == 0
        )

    def to_frame(self) -> pd.DataFrame:
        """A one-row table of the diagnostics and the verdict."""
        return pd.DataFrame([{**self.__dict__, "passed": self.passed}])


def check_convergence(
    idata: Any,
    var_names: Sequence[str] | None = None,
    *,
    rhat_max: float = 1.01,
    ess_min: float = 400.0,
) -> ConvergenceReport:
    """R-hat, bulk/tail ESS (ArviZ) and divergences of a posterior.

    Parameters
    ----------
    idata : arviz.InferenceData
        With ``posterior`` and ``sample_stats.diverging``.
    var_names : sequence of str, optional
        Variables to check; default all posterior variables.
    rhat_max, ess_min : float
        Thresholds for :attr:`ConvergenceReport.passed` (defaults from
        :cite:`vehtari2021rank`: R-hat < 1.01, ESS > 400 for 4 chains).

    Returns
    -------
    ConvergenceReport

    Raises
    ------
    ValueError
        If ``idata`` lacks a posterior, ``var_names`` names no variable or an unknown one,
        a checked variable has constant draws (R-hat and ESS are then undefined), or the
        thresholds are invalid.
    """

    check_positive(rhat_max, "rhat_max")
    check_positive(ess_min, "ess_min")
    if not hasattr(idata, "posterior"):
        raise ValueError("idata must hold a posterior group")
    if isinstance(var_names, str):
        raise ValueError(f"var_names must be a list of names, not one string {var_names!r}")
    names = list(var_names) if var_names is not None else list(idata.posterior.data_vars)
    if not names:
        raise ValueError("var_names: no variables to check")
    unknown = [name for name in names if name not in idata.posterior.data_vars]
    if unknown:
        raise ValueError(
            f"var_names: {unknown} not in the posterior ({list(idata.posterior.data_vars)})"
        )
    for name in names:
        draws = np.asarray(idata.posterior[name].to_numpy(), dtype=float)
        if not np.isfinite(draws).all():
            raise ValueError(f"idata: variable {name!r} has non-finite draws")
        flat = draws.reshape(draws.shape[0] * draws.shape[1], -1)
        if (np.ptp(flat, axis=0) == 0).any():
            raise ValueError(
                f"var_names: variable {name!r} has constant draws (in some element), so "
                "its R-hat and ESS are undefined; leave it out"
            )
    rhat = az.rhat(idata, var_names=names)
    ess_bulk = az.ess(idata, var_names=names, method="bulk")
    ess_tail = az.ess(idata, var_names=names, method="tail")
    worst, max_rhat = "", -np.inf
    for name in names:
        value = float(np.max(rhat[name].to_numpy()))
        if value > max_rhat:
            worst, max_rhat = name, value
    min_bulk = min(float(np.min(ess_bulk[name].to_numpy())) for name in names)
    min_tail = min(float(np.min(ess_tail[name].to_numpy())) for name in names)
    divergences = (
        int(idata.sample_stats["diverging"].sum()) if hasattr(idata, "sample_stats") else 0
    )
    return ConvergenceReport(
        max_rhat, min_bulk, min_tail, divergences, worst, float(rhat_max), float(ess_min)
    )


@dataclass
class PredictiveCheck:
    """Posterior predictive check of a known-SE hierarchical model.

    Attributes
    ----------
    table : pandas.DataFrame
        Per statistic: observed value, mean and 5%/95% quantiles of its replicated
        values, and the posterior predictive p-value ``P(T(y_rep) >= T(y))``.
    replicated : numpy.ndarray
        Replicated data sets, shape ``(n_replicates, n_units)``.
    observed : numpy.ndarray
        The observed estimates.
    """

    table: pd.DataFrame
    replicated: np.ndarray
    observed: np.ndarray


def posterior_predictive_check(
    fit: HierarchicalFit,
    *,
    new_units: bool = True,
    n_replicates: int = 1_000,
    rng: np.random.Generator | int | None = None,
) -> PredictiveCheck:
    """Replicate the units' estimates from the posterior and compare summary statistics.

    With ``new_units=True`` (a *mixed* predictive check) each replicate draws fresh unit
    effects ``theta_rep ~ N(m_g, unit_sd^2)`` from the posterior hyperparameters and then
    ``y_rep ~ N(theta_rep, s_j^2)``: it tests the population (group and unit) layers,
    which the plain check (``new_units=False``, reusing the posterior ``theta_j``) can
    hardly fail because every unit has its own parameter :cite:`gelman2013bda` (ch. 6).
    Statistics: the sd of the estimates, the sd of the z-scores ``y / s``, the minimum,
    the maximum and the spread of the group means.

    Parameters
    ----------
    fit : HierarchicalFit
        A unit-level fit (not ``integrate_out_units``).
    new_units : bool
        Mixed (True) or plain (False) replication.
    n_replicates : int
        Number of replicated data sets (posterior draws used, at most all draws).
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    PredictiveCheck

    Raises
    ------
    ValueError
        If ``fit`` is not a unit-level :class:`HierarchicalFit`, or ``new_units``,
        ``n_replicates`` or ``rng`` is invalid.
    """
    if not isinstance(fit, HierarchicalFit):
        raise ValueError(f"fit must be a HierarchicalFit, got {type(fit).__name__}")
    new_units = check_flag(new_units, "new_units")
    n_replicates = check_integer(n_replicates, "n_replicates", minimum=10)
    rng = check_rng(rng)
    if "theta" not in fit.idata.posterior:
        raise ValueError("fit must be a unit-level fit (integrate_out_units=False)")
    y = fit.data[fit.details["estimate"]].to_numpy()
    s = fit.data[fit.details["se"]].to_numpy()
    codes = fit.details["codes"]
    n_draws = fit.idata.posterior.sizes["chain"] * fit.idata.posterior.sizes["draw"]
    pick = rng.choice(n_draws, size=min(n_replicates, n_draws), replace=False)
    if new_units:
        group_mean = _stack(fit.idata, "group_mean")[pick][:, codes]
        unit_sd = _stack(fit.idata, "unit_sd")[pick][:, None]
        theta = group_mean + unit_sd * rng.standard_normal(group_mean.shape)
    else:
        theta = _stack(fit.idata, "theta")[pick]
    replicated = theta + s * rng.standard_normal(theta.shape)
    onehot = _onehot(codes, len(fit.details["group_labels"]))
    counts = onehot.sum(axis=0)

    def statistics(values: np.ndarray) -> dict[str, np.ndarray]:
        values = np.atleast_2d(values)
        group_means = values @ onehot / counts
        return {
            "sd of estimates": values.std(axis=1, ddof=1),
            "sd of z-scores": (values / s).std(axis=1, ddof=1),
            "minimum": values.min(axis=1),
            "maximum": values.max(axis=1),
            "sd of group means": group_means.std(axis=1, ddof=1)
            if onehot.shape[1] > 1
            else np.zeros(len(values)),
        }

    observed_stats, replicated_stats = statistics(y), statistics(replicated)
    rows = []
    for name, observed_value in observed_stats.items():
        values = replicated_stats[name]
        rows.append(
            {
                "statistic": name,
                "observed": float(observed_value[0]),
                "replicated_mean": float(values.mean()),
                "replicated_q05": float(np.quantile(values, 0.05)),
                "replicated_q95": float(np.quantile(values, 0.95)),
                "p_value": float((values >= observed_value[0]).mean()),
            }
        )
    return PredictiveCheck(pd.DataFrame(rows).set_index("statistic"), replicated, y)


def count_high_pareto_k(idata: Any, threshold: float = 0.7) -> dict[str, float]:
    """PSIS-LOO of a fit and how many observations have Pareto ``k`` above ``threshold``.

    Above 0.7 the importance-sampling estimate of that observation's leave-one-out
    density is unreliable :cite:`vehtari2017practical`; many such ``k`` mean the LOO
    comparison cannot be trusted. ArviZ's warning about them is silenced here because
    the count is returned.

    Parameters
    ----------
    idata : arviz.InferenceData
        With a ``log_likelihood`` group.
    threshold : float
        The reliability threshold for ``k``.

    Returns
    -------
    dict
        ``elpd_loo``, ``se``, ``p_loo``, ``n_high_k`` (count above ``threshold``),
        ``max_k`` and ``n`` (number of observations).

    Raises
    ------
    ValueError
        If ``idata`` has no log-likelihood or ``threshold`` is not positive.
    """

    check_positive(threshold, "threshold")
    if not hasattr(idata, "groups") or "log_likelihood" not in idata.groups():
        raise ValueError("idata must hold a log_likelihood group")
    with warnings.catch_warnings():
        # ArviZ warns when some Pareto k exceed 0.7; this function reports the count.
        warnings.filterwarnings(
            "ignore", message="Estimated shape parameter of Pareto", category=UserWarning
        )
        loo = az.loo(idata, pointwise=True)
    k = np.asarray(loo.pareto_k)
    return {
        "elpd_loo": float(loo.elpd_loo),
        "se": float(loo.se),
        "p_loo": float(loo.p_loo),
        "n_high_k": int((k > threshold).sum()),
        "max_k": float(k.max()),
        "n": int(k.size),
    }


def compare_groupings(
    effects: pd.DataFrame,
    groupings: Sequence[str],
    *,
    id: str = "creator_id",
    estimate: str = "estimate",
    se: str = "se",
    draws: int = 1_000,
    tune: int = 1_000,
    chains: int = 4,
    cores: int = 2,
    rng: np.random.Generator | int | None = None,
) -> tuple[pd.DataFrame, dict[str, HierarchicalFit]]:
    """Compare pre-specified groupings of the units by PSIS-LOO (``arviz.compare``).

    Each grouping column defines a hierarchical model in which the unit effects are
    integrated out analytically (``y_j ~ N(m_{g(j)}, unit_sd^2 + s_j^2)``, see
    :func:`fit_hierarchical_model` with ``integrate_out_units=True``). With one parameter
    per unit the unit-level model's leave-one-out densities are dominated by each unit's
    own effect and PSIS fails (many Pareto ``k > 0.7``); the marginal model predicts a
    held-out unit from its group alone, which is the question a grouping answers
    :cite:`vehtari2017practical`. Groupings must be chosen before looking at the
    estimates: choosing them by regressing the estimates on candidate features and then
    pooling by the winners uses the data twice.

    Parameters
    ----------
    effects : pandas.DataFrame
        One row per unit with id, estimate, SE and every grouping column.
    groupings : sequence of str
        The candidate grouping columns (at least two).
    id, estimate, se : str
        Column names.
    draws, tune, chains, cores : int
        Sampler settings.
    rng : numpy.random.Generator, int or None
        Seed source.

    Returns
    -------
    (pandas.DataFrame, dict)
        The ``arviz.compare`` table (rank, elpd_loo, p_loo, elpd_diff, weight, se, dse,
        warning) plus ``n_high_k``, and the fits by grouping.

    Raises
    ------
    ValueError
        If fewer than two (distinct) groupings are given, a column is missing, the data
        are invalid for any grouping (see :func:`fit_hierarchical_model`), or a sampler
        setting or ``rng`` is invalid; all checked before any model is sampled.
    """
    if isinstance(groupings, str) or not isinstance(groupings, Sequence):
        raise ValueError(f"groupings must be a list of column names, got {groupings!r}")
    groupings = list(groupings)
    if len(set(groupings)) < 2:
        raise ValueError("groupings must name at least two distinct candidate columns")
    _check_frame(effects, "effects", id=id, estimate=estimate, se=se,
                 **{f"groupings[{k}]": name for k, name in enumerate(groupings)})
    _check_sampler_settings(draws, tune, chains, cores, 0.9)
    rng = check_rng(rng)
    for name in groupings:
        _fit_data(effects, id, name, estimate, se, None)
    fits = {
        name: fit_hierarchical_model(
            effects,
            id=id,
            group=name,
            estimate=estimate,
            se=se,
            integrate_out_units=True,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            rng=rng,
        )
        for name in groupings
    }
    with warnings.catch_warnings():
        # The Pareto-k count is reported in the table's n_high_k column.
        warnings.filterwarnings(
            "ignore", message="Estimated shape parameter of Pareto", category=UserWarning
        )
        # ArviZ 0.23 calls DataFrame.sort_values(inplace=True), deprecated in pandas 3.1.
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.sort_values")
        loos = {name: az.loo(fit.idata, pointwise=True) for name, fit in fits.items()}
        table = az.compare(loos, ic="loo")
    table["n_high_k"] = [int((np.asarray(loos[name].pareto_k) > 0.7).sum()) for name in table.index]
    return table, fits


# ----------------------------------------------------------------------------- geo model
@dataclass(frozen=True)
class _ArmDensity:
    """The geo model's posterior density of the log between-geo sds, one per arm.

    Per arm ``k`` (geos ``j`` with ``v_j = tau_k^2 + s_j^2``, ``w_j = 1/v_j``), integrating
    the geo effects and ``mu_k ~ N(0, V)``, ``V = (10 c)^2``, out of the model of
    :func:`fit_geo_hierarchical_model` leaves ``y_k ~ N(0, diag(v) + V 1 1')``, with log
    density ``-F_k/2`` up to a constant, ``F_k = sum log v_j + R - P^2/A + log(V A)``,
    where ``W = sum w_j``, ``P = sum w_j y_j``, ``R = sum w_j y_j^2`` and ``A = W + 1/V``
    (matrix determinant lemma and Sherman-Morrison). With ``t = tau_k^2`` and the sums
    ``S2, P2, R2`` of ``w_j^2, w_j^2 y_j, w_j^2 y_j^2``,
    ``dF_k/dt = W - R2 + 2 P P2 / A - P^2 S2 / A^2 - S2 / A``. The sampler works on
    ``x_k = log tau_k``: log density ``sum_k [-F_k/2 - t_k/(2 c^2) + x_k]`` plus
    ``tau_k ~ HalfNormal(c)``'s constant, gradient ``-t_k dF_k/dt - t_k/c^2 + 1``.
    The arms share no parameter, so the posterior factorises over them; ``mu_k`` and the
    geo effects are then drawn exactly (:func:`_draw_arm_effects`). The tests check the
    value against SciPy's multivariate normal density and the posterior against a grid.
    """

    y: np.ndarray
    se_squared: np.ndarray
    codes: np.ndarray  # arm of each geo, 0 .. n_arms - 1
    n_arms: int
    prior_scale: float

    def __call__(self, log_sds: np.ndarray) -> tuple[float, np.ndarray]:
        """Log density and gradient at ``x = log tau`` (``-inf`` beyond ``|x - log c| > 50``)."""
        gradient = np.empty(self.n_arms)
        log_density = _arm_log_density(
            np.asarray(log_sds, dtype=float), self.y, self.se_squared, self.codes,
            self.prior_scale, gradient,
        )
        return float(log_density), gradient


@numba.njit(cache=True, nogil=True)
def _arm_log_density(
    x: np.ndarray,
    y: np.ndarray,
    se_squared: np.ndarray,
    codes: np.ndarray,
    prior_scale: float,
    gradient: np.ndarray,
) -> float:
    """:class:`_ArmDensity`'s value; writes its gradient into ``gradient``."""
    n_arms = x.shape[0]
    log_c = math.log(prior_scale)
    for k in range(n_arms):
        if not abs(x[k] - log_c) < 50.0:
            gradient[:] = np.nan
            return -np.inf
    c2 = prior_scale * prior_scale
    mu_variance = 100.0 * c2
    t = np.exp(2.0 * x)
    W = np.zeros(n_arms)
    P = np.zeros(n_arms)
    R = np.zeros(n_arms)
    S2 = np.zeros(n_arms)
    P2 = np.zeros(n_arms)
    R2 = np.zeros(n_arms)
    sum_log_v = np.zeros(n_arms)
    for j in range(y.shape[0]):
        k = codes[j]
        w = 1.0 / (t[k] + se_squared[j])
        wy = w * y[j]
        W[k] += w
        P[k] += wy
        R[k] += wy * y[j]
        S2[k] += w * w
        P2[k] += w * wy
        R2[k] += w * wy * y[j]
        sum_log_v[k] -= math.log(w)
    log_density = 0.0
    for k in range(n_arms):
        A = W[k] + 1.0 / mu_variance
        F = sum_log_v[k] + R[k] - P[k] * P[k] / A + math.log(mu_variance * A)
        dF_dt = (
            W[k] - R2[k] + 2.0 * P[k] * P2[k] / A - P[k] * P[k] * S2[k] / (A * A) - S2[k] / A
        )
        log_density += (
            -0.5 * F - t[k] / (2.0 * c2) + 0.5 * math.log(2.0 / math.pi) - log_c + x[k]
        )
        gradient[k] = -t[k] * dF_dt - t[k] / c2 + 1.0
    return log_density


def _draw_arm_effects(
    tau: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    prior_scale: float,
    generator: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact draws of the arm means and geo effects given draws ``tau`` (shape (n, arms)).

    ``mu_k | tau, y ~ N(P/A, 1/A)`` (see :class:`_ArmDensity`) and
    ``theta_j | mu_k, tau_k, y_j ~ N(B_j mu_k + (1 - B_j) y_j, (1 - B_j) s_j^2)`` with
    ``B_j = s_j^2 / (s_j^2 + tau_k^2)``.
    """
    n_arms = tau.shape[1]
    onehot = _onehot(codes, n_arms)
    unit_var = tau[:, codes] ** 2
    weight = 1.0 / (unit_var + s**2)
    precision = weight @ onehot + 1.0 / (10.0 * prior_scale) ** 2
    centre = ((weight * y) @ onehot) / precision
    arm_mean = centre + generator.standard_normal(centre.shape) / np.sqrt(precision)
    shrinkage = s**2 / (s**2 + unit_var)
    theta_mean = shrinkage * arm_mean[:, codes] + (1 - shrinkage) * y
    theta = theta_mean + np.sqrt((1 - shrinkage) * s**2) * generator.standard_normal(
        theta_mean.shape
    )
    return arm_mean, theta


def fit_geo_hierarchical_model(
    deltas: pd.DataFrame,
    *,
    id: str = "geo_id",
    group: str = "group",
    estimate: str = "delta",
    se: str = "se",
    treatment_label: str = "treatment",
    prior_scale: float | None = None,
    draws: int = 1_000,
    tune: int = 1_000,
    chains: int = 4,
    cores: int = 2,
    target_accept: float = 0.9,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> tuple[Estimate, HierarchicalFit]:
    """Hierarchical normal model of per-geo pre/post changes in a geo test.

    ``delta_g ~ N(theta_g, se_g^2)`` with ``se_g`` from the geo's own daily noise,
    ``theta_g ~ N(mu_arm(g), tau_arm(g)^2)`` with a between-geo sd ``tau`` estimated for
    each arm, ``mu_arm ~ N(0, (10 c)^2)`` and ``tau_arm ~ HalfNormal(c)``, where the prior
    scale ``c`` defaults to the sd of the deltas (so the result does not depend on the
    KPI's units). Each geo's effect is pooled toward its arm's mean by
    ``tau^2 / (tau^2 + se_g^2)``, averaged over the posterior of ``tau``.

    As in :func:`fit_hierarchical_model`, NUTS (nutpie) samples only what cannot be
    integrated out, here the two log between-geo sds (density: :class:`_ArmDensity`, one
    small numba function, no PyTensor graph to compile); the arm means and geo effects are
    then drawn exactly from their normal conditionals given each draw. The chains run in
    one thread (nutpie calls the density through Python).

    Parameters
    ----------
    deltas : pandas.DataFrame
        One row per geo: id, arm label, delta, SE.
    id, group, estimate, se : str
        Column names.
    treatment_label : str
        Label of treated geos in ``group``; every other label is control.
    prior_scale : float, optional
        ``c``.
    draws, tune, chains, cores : int
        Sampler settings (the chains run in one thread whatever ``cores`` says).
    target_accept : float
        NUTS target acceptance.
    alpha : float
        One minus the credible level.
    rng : numpy.random.Generator, int or None
        Seed source for the sampler and the exact draws.

    Returns
    -------
    (Estimate, HierarchicalFit)
        The lift ``mu_treatment - mu_control`` (method ``"hierarchical geo lift"``,
        ``details["prob_positive"] = P(lift > 0 | data)``), and the fit (per-geo effects
        in ``unit_effects``, arm means in ``group_effects``).

    Raises
    ------
    ValueError
        For an empty frame, bad columns or values (missing, NaN, strings, infinite,
        non-positive SEs, repeated ids), an arm with fewer than 2 geos (``treatment_label``
        marks the treated), or an invalid setting or ``rng``; all before sampling.
    """
    alpha = check_alpha(alpha)
    _check_sampler_settings(draws, tune, chains, cores, target_accept)
    generator = check_rng(rng)
    y, s, _, _ = _unit_data(deltas, "deltas", id=id, group=group, estimate=estimate, se=se)
    _check_labels(deltas, id, "deltas", unique=True)
    arm = (deltas[group] == treatment_label).to_numpy().astype(np.int64)
    if arm.sum() < 2 or (1 - arm).sum() < 2:
        raise ValueError(
            f"treatment_label: {treatment_label!r} marks {int(arm.sum())} of the "
            f"{len(arm)} geos in column {group!r}; each arm needs at least 2 geos"
        )
    if prior_scale is None:
        prior_scale = float(np.std(y, ddof=1))
        if not prior_scale > 0:
            raise ValueError(
                f"prior_scale: the deltas in column {estimate!r} are all equal, so the "
                "default prior scale (their standard deviation) is 0; pass prior_scale"
            )
    prior_scale = check_positive(prior_scale, "prior_scale")
    idata, timings = _sample_log_sd_density(
        _ArmDensity(y, s**2, arm, 2, prior_scale),
        prior_scale,
        ["tau_control", "tau_treatment"],
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        seed=_seed_from(generator),
    )
    between_draws = np.column_stack([_stack(idata, "tau_control"), _stack(idata, "tau_treatment")])
    idata.posterior = idata.posterior.drop_vars(["tau_control", "tau_treatment"])
    arm_draws, theta = _draw_arm_effects(between_draws, y, s, arm, prior_scale, generator)
    ids = deltas[id].to_numpy()
    lift = arm_draws[:, 1] - arm_draws[:, 0]
    _add_draws(idata, "arm_mean", arm_draws, "arm")
    _add_draws(idata, "between_geo_sd", between_draws, "arm")
    _add_draws(idata, "theta", theta, "geo")
    _add_draws(idata, "lift", lift)
    idata.posterior = idata.posterior.assign_coords(arm=["control", "treatment"], geo=ids)
    _add_log_likelihood(idata, stats.norm.logpdf(y, theta, s), "geo", ids)
    low, high = np.quantile(lift, [alpha / 2, 1 - alpha / 2])
    result = Estimate(
        "hierarchical geo lift",
        float(lift.mean()),
        float(lift.std(ddof=1)),
        float(low),
        float(high),
        alpha=alpha,
        details={"prob_positive": float((lift > 0).mean()), "n_geos": len(y)},
    )
    unit_effects = _summarise_draws(theta, ids, id, "hierarchical Bayes", alpha)
    unit_effects[group] = deltas[group].to_numpy()
    hyper = np.column_stack([between_draws, lift])
    fit = HierarchicalFit(
        idata=idata,
        unit_effects=unit_effects,
        group_effects=_summarise_draws(
            arm_draws, ["control", "treatment"], "arm", "hierarchical Bayes", alpha
        ),
        hyperparameters=_summarise_draws(
            hyper,
            ["between_geo_sd_control", "between_geo_sd_treatment", "lift"],
            "parameter",
            "hierarchical Bayes",
            alpha,
        ),
        timings=timings,
        data=deltas[[id, group, estimate, se]].reset_index(drop=True),
        details={"prior_scale": prior_scale},
    )
    return result, fit


# ----------------------------------------------------------------------------- eight schools
def _build_eight_schools(y: np.ndarray, s: np.ndarray) -> Any:
    import pymc as pm

    with pm.Model(coords={"school": np.arange(len(y))}, check_bounds=False) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta_tilde = pm.Normal("theta_tilde", 0.0, 1.0, dims="school")
        pm.Normal("y", mu + tau * theta_tilde, s, observed=y, dims="school")
    return model


def fit_eight_schools(
    *,
    draws: int = 1_000,
    tune: int = 1_000,
    chains: int = 4,
    cores: int = 2,
    target_accept: float = 0.9,
    rng: np.random.Generator | int | None = None,
) -> tuple[pd.DataFrame, Any]:
    """The non-centred eight-schools model, a reference check of the sampler.

    ``mu ~ N(0, 5^2)``, ``tau ~ HalfCauchy(5)``, ``theta_tilde_j ~ N(0, 1)``,
    ``theta_j = mu + tau theta_tilde_j``, ``y_j ~ N(theta_j, sigma_j^2)`` on
    :data:`EIGHT_SCHOOLS` :cite:`rubin1981estimation` — posteriordb's
    ``eight_schools-eight_schools_noncentered``, whose reference posterior means are
    about 4.4 for ``mu`` and 3.6 for ``tau`` :cite:`magnusson2024posteriordb`.

    Parameters
    ----------
    draws, tune, chains, cores : int
        Sampler settings.
    target_accept : float
        NUTS target acceptance.
    rng : numpy.random.Generator, int or None
        Seed source.

    Returns
    -------
    (pandas.DataFrame, arviz.InferenceData)
        Posterior summary of ``mu``, ``tau`` and each school's ``theta`` (Estimate fields
        keyed by ``parameter``), and the draws.

    Raises
    ------
    ValueError
        If a sampler setting or ``rng`` is invalid.
    """
    _check_sampler_settings(draws, tune, chains, cores, target_accept)
    seed = _seed_from(rng)
    y, s = EIGHT_SCHOOLS["estimate"].to_numpy(), EIGHT_SCHOOLS["se"].to_numpy()
    idata, _ = _compile_and_sample(
        lambda shared: _build_eight_schools(y, s),
        None,
        {},
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        target_accept=target_accept,
        seed=seed,
    )
    mu, tau = _stack(idata, "mu"), _stack(idata, "tau")
    theta = mu[:, None] + tau[:, None] * _stack(idata, "theta_tilde")
    _add_draws(idata, "theta", theta, "school")
    idata.posterior = idata.posterior.assign_coords(school=EIGHT_SCHOOLS["school"].to_numpy())
    draws_matrix = np.column_stack([mu, tau, theta])
    names = ["mu", "tau", *[f"theta[{school}]" for school in EIGHT_SCHOOLS["school"]]]
    return _summarise_draws(draws_matrix, names, "parameter", "eight schools", 0.05), idata
