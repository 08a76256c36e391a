"""Input checks and small helpers shared by the files of :mod:`playbook_lib.cuped`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import welch
from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_float_array,
    check_binary,
    check_not_constant,
    check_same_length,
    column_as_float_array,
    warn_point_interval,
)

ARMS = ("control", "treatment")


def check_arm_statistics(control: Any, treatment: Any, kind: type) -> tuple[Any, Any]:
    """The two arms' statistics, each an instance of ``kind`` with at least 2 units (a
    :class:`ValueError` naming the arm otherwise); scalar fields are the caller's check."""
    for statistics, name in zip((control, treatment), ARMS, strict=True):
        if not isinstance(statistics, kind):
            raise ValueError(
                f"{name} must be a playbook_lib.aggregates.{kind.__name__}, got "
                f"{type(statistics).__name__}"
            )
        if np.ndim(statistics.n) == 0 and statistics.n < 2:
            raise ValueError(f"{name}: n must be at least 2 units, got {statistics.n}")
    return control, treatment


def column(data: pd.DataFrame | None, value: Any, name: str, *, allow_nan: bool = False) -> Any:
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


def treatment_mask(values: Any, name: str = "treatment") -> np.ndarray:
    """A boolean treatment indicator with at least two units in each arm."""
    array = check_binary(values, name, both=False)
    treated = array == 1
    if treated.sum() < 2 or (~treated).sum() < 2:
        raise ValueError(f"{name} must have at least two units in each arm")
    return treated


def treatment_values(data: pd.DataFrame | None, treatment: Any) -> np.ndarray:
    """The treatment (a column name with ``data``) as a finite 1-D float array; checked as
    0/1 by :func:`treatment_mask`."""
    return as_float_array(column(data, treatment, "treatment"), "treatment")


def covariate_matrix(values: Any, name: str, *, allow_nan: bool = False) -> np.ndarray:
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
        for index in range(array.shape[1]):
            label = name if array.shape[1] == 1 else f"{name} column {index}"
            check_not_constant(array[:, index], label)
    return array


def outcome_covariates_treatment(
    data: pd.DataFrame | None,
    outcome: Any,
    covariates: Any,
    treatment: Any,
    *,
    covariate_name: str,
    allow_nan: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The checked ``(outcome, covariates, treated)`` of a row-level recipe.

    ``outcome`` as a finite 1-D array, the covariates as an ``(n, k)`` array (NaN allowed
    with ``allow_nan``), ``treated`` a boolean mask with two units or more in each arm;
    errors name ``outcome``, ``covariate_name`` or ``treatment`` (and the column).
    """
    y = as_float_array(column(data, outcome, "outcome"), "outcome")
    x = covariate_matrix(
        column(data, covariates, covariate_name, allow_nan=allow_nan),
        covariate_name,
        allow_nan=allow_nan,
    )
    t = treatment_values(data, treatment)
    check_same_length(**{"outcome": y, covariate_name: x, "treatment": t})
    return y, x, treatment_mask(t)


def full_rank(matrix: np.ndarray) -> np.ndarray:
    """Whether each symmetric positive semi-definite ``matrix`` (..., k, k) of within-arm
    covariate sums has rank ``k``, judged on its correlation form (each covariate scaled
    to unit sum of squares), so that a covariate's units (x 1e-9 or x 1e9) do not decide
    it; a zero diagonal entry (a covariate constant within arms) is rank-deficient."""
    diagonal = np.diagonal(matrix, axis1=-2, axis2=-1)
    scale = np.where(diagonal > 0, 1 / np.sqrt(np.where(diagonal > 0, diagonal, 1.0)), 0.0)
    correlation = matrix * scale[..., :, None] * scale[..., None, :]
    return np.linalg.matrix_rank(correlation, hermitian=True) == matrix.shape[-1]


def satterthwaite_df(components: np.ndarray, dofs: np.ndarray) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom of a sum of variance components.

    ``components`` and ``dofs`` have the components on the first axis (any trailing
    shape, e.g. one entry per simulated experiment). NaN where every component is zero
    (the interval is then a point and needs no df). The two-component case is
    :func:`playbook_lib._kernels.welch`; this is for post-strata and Lin's extra term.
    """
    components = np.asarray(components, dtype=float)
    denominator = np.sum(components**2 / np.asarray(dofs, dtype=float), axis=0)
    positive = denominator > 0
    total = components.sum(axis=0)
    return np.where(positive, total**2 / np.where(positive, denominator, 1.0), np.nan)


def two_arm_welch(
    n: np.ndarray, means: np.ndarray, variances: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`playbook_lib._kernels.welch` on arrays whose first axis is (control, treatment):
    ``(difference, se, df)``, elementwise over any trailing axes."""
    return welch(n[0], means[0], variances[0], n[1], means[1], variances[1])


def unadjusted_details(se: float, unadjusted_estimate: float, unadjusted_se: float) -> dict:
    """The ``details`` every adjusted comparison reports about the plain one."""
    return {
        "unadjusted_estimate": float(unadjusted_estimate),
        "unadjusted_se": float(unadjusted_se),
        "variance_reduction": (1.0 - se**2 / unadjusted_se**2 if unadjusted_se > 0 else 0.0),
    }


def comparison_estimate(
    method: str,
    estimate: Any,
    se: Any,
    df: Any,
    *,
    alpha: float,
    details: dict[str, Any],
    constant: str,
) -> Estimate:
    """The :class:`~playbook_lib.results.Estimate` with a t interval (normal where ``df`` is
    NaN, which only happens with a zero se); a zero se warns that ``constant`` (what is
    constant, e.g. the adjusted outcome) made the interval a point."""
    se = float(se)
    if se == 0:
        warn_point_interval(constant)
    df = float(df)
    return Estimate.from_standard_error(
        method,
        float(estimate),
        se,
        alpha=alpha,
        df=None if np.isnan(df) else df,
        details=details,
    )
