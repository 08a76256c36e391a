"""Private input checks and small array helpers shared by the files of :mod:`playbook_lib.geo`.

Panel checks name the argument that holds the bad column (``geo: column 'g' not found in
data``); the Welch and paired kernels on per-geo arrays take checked inputs and call
:mod:`playbook_lib._kernels`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import interval_and_p_value, welch
from playbook_lib.results import Estimates
from playbook_lib.validation import as_float_array, column_as_float_array, require_columns


# --------------------------------------------------------------------------- panel checks
def _label_column(data: pd.DataFrame, column: Any, argument: str) -> pd.Series:
    """A column of labels (geo, unit, arm, period): no missing values, one type."""
    series = data[column]
    missing = int(series.isna().sum())
    if missing:
        raise ValueError(f"{argument}: column {column!r} has {missing} missing value(s)")
    if series.dtype.kind == "f" and not np.isfinite(series.to_numpy()).all():
        raise ValueError(f"{argument}: column {column!r} has infinite values")
    if series.dtype == object:
        types = {isinstance(value, str) for value in series}
        if len(types) > 1:
            raise ValueError(f"{argument}: column {column!r} mixes strings and numbers")
    return series


def _time_column(data: pd.DataFrame, column: Any, argument: str = "time") -> np.ndarray:
    """A numeric (or datetime) time column without missing values."""
    series = data[column]
    if series.dtype.kind == "M":
        if series.isna().any():
            raise ValueError(f"{argument}: column {column!r} has missing values")
        return series.to_numpy()
    return column_as_float_array(data, column, argument)


def _check_arm_sizes(treated: np.ndarray, minimum: int = 2) -> None:
    n_treatment = int(treated.sum())
    n_control = int(treated.size - n_treatment)
    if min(n_treatment, n_control) < minimum:
        raise ValueError(
            f"group: each arm needs at least {minimum} geos, got "
            f"{n_treatment} treatment and {n_control} control"
        )


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes ``0 .. k - 1`` of sorted labels, and the labels."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _dummies(codes: np.ndarray, n_levels: int, drop_first: bool) -> np.ndarray:
    matrix = np.zeros((codes.size, n_levels))
    matrix[np.arange(codes.size), codes] = 1.0
    return matrix[:, 1:] if drop_first else matrix


def geo_labels(data: pd.DataFrame, geo: str) -> np.ndarray:
    """The geo column's label values as a plain array: grouping by it sorts geos by label,
    as a pivot of the labels does (a categorical column would group in its categories'
    order, which silently misaligned per-geo arms and outcomes)."""
    return data[geo].to_numpy()


def _geo_blocks(
    data: pd.DataFrame, column: str, geo: str, name: str, minimum: int = 1
) -> np.ndarray:
    """Block code of each geo (sorted by geo) from a block column (``pair``, ``stratum``)
    constant per geo; errors name the argument ``name``."""
    require_columns(data, **{name: column})
    _label_column(data, column, name)
    per_geo = data[column].groupby(geo_labels(data, geo), sort=True)
    if (per_geo.nunique() > 1).any():
        raise ValueError(f"{name}: a geo belongs to more than one {name}")
    codes, levels = _codes(per_geo.first())
    if levels.size < minimum:
        raise ValueError(f"{name}: need at least {minimum} {name}s")
    return codes


def _geo_pairs(data: pd.DataFrame, pair: str, geo: str) -> np.ndarray:
    """Pair code of each geo (sorted by geo) from a ``pair`` column constant per geo."""
    return _geo_blocks(data, pair, geo, "pair", minimum=2)


# --------------------------------------------------------------------------- per-geo arrays
def _values_and_indicator(values: Any, treated: Any) -> tuple[np.ndarray, np.ndarray]:
    """Finite float ``values`` (1-D or 2-D) and a 0/1 ``treated`` broadcast to their shape."""
    if isinstance(values, str | bytes) or np.asarray(values).dtype.kind in "USO":
        values = as_float_array(values, "values")  # raises with the argument's name
    values = np.asarray(values, dtype=float)
    if values.ndim not in (1, 2) or values.size == 0:
        raise ValueError(
            f"values must be a non-empty 1-D or 2-D array (replications x geos), got "
            f"shape {values.shape}"
        )
    if not np.isfinite(values).all():
        raise ValueError("values contains NaN or infinite values")
    indicator = np.asarray(treated)
    if indicator.dtype.kind in "USO":
        raise ValueError("treated must hold booleans or 0/1, got strings or objects")
    indicator = indicator.astype(float)
    if indicator.size == 0 or not np.isin(indicator, (0.0, 1.0)).all():
        raise ValueError("treated must hold only 0/1 (or booleans), without NaN")
    try:
        mask = np.broadcast_to(indicator.astype(bool), values.shape)
    except ValueError:
        raise ValueError(
            f"length mismatch: values has shape {values.shape}, treated has shape {indicator.shape}"
        ) from None
    return values, mask


def _welch_arrays(
    values: np.ndarray, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Welch's difference (treated minus control), se and df along the last axis.

    Two-pass moments per arm (exact for large means), then :func:`playbook_lib._kernels.welch`.
    Assumes checked inputs with at least two geos per arm in every slice.
    """
    n_t = mask.sum(axis=-1)
    n_c = mask.shape[-1] - n_t
    mean_t = (values * mask).sum(axis=-1) / n_t
    mean_c = (values * ~mask).sum(axis=-1) / n_c
    var_t = (((values - mean_t[..., None]) ** 2) * mask).sum(axis=-1) / (n_t - 1)
    var_c = (((values - mean_c[..., None]) ** 2) * ~mask).sum(axis=-1) / (n_c - 1)
    estimate, se, df = welch(n_c, mean_c, var_c, n_t, mean_t, var_t)
    # Both arms constant: a point interval needs no df; report the pooled n_t + n_c - 2.
    return estimate, se, np.where(np.isnan(df), n_t + n_c - 2.0, df)


def _index_codes(codes: Any, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Integer block indices (``pair``, ``stratum``) broadcast to ``shape``, as int64.

    Raises a ``ValueError`` naming ``name`` for a non-numeric or empty array, NaN or
    fractional indices, or a shape that does not broadcast to ``shape``.
    """
    raw = np.asarray(codes)
    if raw.dtype.kind not in "biuf" or raw.size == 0:
        raise ValueError(f"{name} must be a non-empty array of integer {name} indices")
    as_float = raw.astype(float)
    if not np.isfinite(as_float).all() or np.any(as_float != np.round(as_float)):
        raise ValueError(f"{name} must hold integer {name} indices (no NaN or fractions)")
    try:
        return np.broadcast_to(as_float.astype(np.int64), shape)
    except ValueError:
        raise ValueError(
            f"length mismatch: values has shape {shape}, {name} has shape {raw.shape}"
        ) from None


def _paired_arrays(
    values: np.ndarray, treated: np.ndarray, pair: Any
) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean and se of within-pair treated-minus-control differences along the last axis.

    ``values`` and ``treated`` are checked (see :func:`_values_and_indicator`); ``pair`` is
    checked here. Returns ``(estimate, se, n_pairs)``.
    """
    pair = _index_codes(pair, "pair", values.shape)
    n_pairs = values.shape[-1] // 2
    if n_pairs < 2:
        raise ValueError(f"pair: need at least 2 pairs, got {n_pairs}")
    if pair.min() < 0 or pair.max() >= n_pairs:
        raise ValueError(f"pair: indices must lie in 0 .. {n_pairs - 1}")
    sign = np.where(treated, 1.0, -1.0)
    flat_pair = pair.reshape(-1, values.shape[-1])
    slots = (flat_pair + (np.arange(flat_pair.shape[0]) * n_pairs)[:, None]).ravel()
    size = flat_pair.shape[0] * n_pairs
    differences = np.bincount(slots, weights=(sign * values).ravel(), minlength=size)
    treated_per_pair = np.bincount(slots, weights=treated.ravel().astype(float), minlength=size)
    size_per_pair = np.bincount(slots, minlength=size)
    if values.shape[-1] % 2 or np.any(treated_per_pair != 1) or np.any(size_per_pair != 2):
        raise ValueError("pair: every pair must hold exactly one treated and one control geo")
    differences = differences.reshape(values.shape[:-1] + (n_pairs,))
    estimate = differences.mean(axis=-1)
    se = differences.std(axis=-1, ddof=1) / math.sqrt(n_pairs)
    return estimate, se, n_pairs


def _t_statistic(estimate: np.ndarray, se: np.ndarray) -> np.ndarray:
    """``estimate / se``, with the se -> 0 limit (0 at a zero estimate, else +-inf)."""
    positive = se > 0
    limit = np.where(estimate == 0, 0.0, np.copysign(np.inf, estimate))
    return np.where(positive, estimate / np.where(positive, se, 1.0), limit)


def _estimates_table(
    method: str,
    estimate: Any,
    se: Any,
    *,
    alpha: float,
    df: Any,
    columns: dict[str, Any],
    labels: Any = None,
) -> Estimates:
    """:meth:`Estimates.from_standard_errors` (two-sided normal or t intervals and p-values
    from :func:`playbook_lib._kernels.interval_and_p_value`) with extra ``columns`` (one
    value per row, or a scalar), built in one pass: the table is the package's result type
    and its construction dominates the cost of small per-unit tables."""
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    se = np.broadcast_to(np.asarray(se, dtype=float), estimate.shape)
    df_array = np.full(estimate.shape, np.nan) if df is None else np.asarray(df, dtype=float)
    low, high, p_value = interval_and_p_value(estimate, se, alpha, "two-sided", df)
    frame = pd.DataFrame(
        {
            "method": method,
            "estimate": estimate,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "alpha": float(alpha),
            "p_value": p_value,
            "df": np.broadcast_to(df_array, estimate.shape),
            **columns,
        },
        index=None if labels is None else pd.Index(list(labels)),
    )
    return Estimates(frame)
