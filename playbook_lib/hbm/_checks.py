"""Input checks and small array helpers shared by the files of :mod:`playbook_lib.hbm`.

Private. Per-unit inputs are a :class:`~playbook_lib.Estimates` table (one row per unit,
labelled by the unit) plus per-row arrays (group, replication); :func:`aligned` lines such
an array up with the table's rows (a pandas Series by label, anything else by position).
Group labels become integer codes ``0..G-1`` (sorted labels), and the group sums of the
closed-form estimators are one-hot matrix products, vectorised over a leading replication
axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.results import Estimates
from playbook_lib.validation import (
    as_float_array,
    check_columns,
    check_integer,
    column_as_float_array,
)


# ----------------------------------------------------------------------------- frames
def check_frame(data: Any, name: str, **columns: Any) -> pd.DataFrame:
    """``data`` is a non-empty DataFrame and each keyword (argument: column) names a column."""
    check_columns(data, [], name)
    for argument, column in columns.items():
        if not isinstance(column, str):
            raise ValueError(f"{argument} must be a column name (a string), got {column!r}")
        if column not in data.columns:
            raise ValueError(
                f"{argument}: column {column!r} is not in {name} (columns: {list(data.columns)})"
            )
    if len(data) == 0:
        raise ValueError(f"{name} is empty (no rows)")
    return data


def float_column(data: pd.DataFrame, column: str, name: str) -> np.ndarray:
    """:func:`~playbook_lib.validation.column_as_float_array`, refusing numeric strings too."""
    series = data[column] if isinstance(data, pd.DataFrame) and column in data else None
    if series is not None and series.dtype.kind == "O":
        texts = series[series.map(lambda value: isinstance(value, str | bytes))]
        if len(texts):
            raise ValueError(
                f"{name}: column {column!r} must be numeric, got the string {texts.iloc[0]!r}"
            )
    return column_as_float_array(data, column, name)


def check_no_missing_labels(index: pd.Index, name: str) -> None:
    """No label (or level of a tuple label) is missing."""
    missing = index.to_frame().isna().to_numpy().any(axis=1)
    if missing.any():
        raise ValueError(f"{name}: {int(missing.sum())} label(s) are missing (NaN or None)")


def check_unique_labels(index: pd.Index, name: str) -> None:
    """Every label names one row."""
    if index.has_duplicates:
        example = index[index.duplicated()][0]
        raise ValueError(
            f"{name}: the labels repeat (e.g. {example!r}); each unit needs exactly one row"
        )


# ----------------------------------------------------------------------------- unit tables
def effects_frame(effects: Any, name: str = "effects") -> pd.DataFrame:
    """The frame of a non-empty :class:`~playbook_lib.Estimates` whose standard errors are
    all positive."""
    if not isinstance(effects, Estimates):
        raise ValueError(
            f"{name} must be a playbook_lib.Estimates table (one row per unit), got "
            f"{type(effects).__name__}"
        )
    frame = effects.to_frame()
    if len(frame) == 0:
        raise ValueError(f"{name} is empty (no rows)")
    se = frame["se"].to_numpy()
    bad = ~(se > 0)  # NaN included: a method without a standard error cannot be pooled
    if bad.any():
        raise ValueError(
            f"{name}: the standard errors (column 'se') must be positive, got "
            f"{se[bad][0]!r} for the label {frame.index[bad][0]!r}"
        )
    check_no_missing_labels(frame.index, name)
    return frame


def aligned(values: Any, index: pd.Index, name: str) -> pd.Series:
    """``values`` as a Series on ``index``: a pandas Series by label, a sequence by position.

    A Series must have a unique index holding every label of ``index`` (extra labels are
    ignored); any other 1-D sequence must have one entry per row.
    """
    if isinstance(values, pd.Series):
        if not values.index.is_unique:
            raise ValueError(
                f"{name}: the Series' index repeats labels, so it cannot be aligned to the "
                "rows by label"
            )
        positions = values.index.get_indexer(index)
        if (positions < 0).any():
            missing = index[int(np.argmax(positions < 0))]
            raise ValueError(
                f"{name} has no entry for the label {missing!r} (a pandas Series is aligned "
                "to the rows by its index; pass .to_numpy() to align by position)"
            )
        result = values.iloc[positions].set_axis(index)  # keeps the dtype (categories)
        return result.rename(name)
    if isinstance(values, str | bytes) or np.ndim(values) != 1:
        raise ValueError(f"{name} must be a 1-D sequence (one entry per row), got {values!r}")
    if len(values) != len(index):
        raise ValueError(f"{name} has {len(values)} entries for {len(index)} rows")
    return pd.Series(values.copy() if isinstance(values, pd.Index) else values, name=name).set_axis(
        index
    )


def codes_from_labels(labels: pd.Series, name: str) -> tuple[np.ndarray, list[Any]]:
    """Integer codes ``0..G-1`` of group labels (sorted) and the labels; no gaps, no NaN."""
    if labels.isna().any():
        raise ValueError(f"{name}: {int(labels.isna().sum())} group label(s) are missing")
    if isinstance(labels.dtype, pd.CategoricalDtype):
        used = set(labels.unique())
        unused = [c for c in labels.cat.categories if c not in used]
        if unused:
            raise ValueError(f"{name}: group {unused[0]!r} has no members")
    try:
        codes, uniques = pd.factorize(labels, sort=True)
    except TypeError as error:
        raise ValueError(f"{name}: the group labels cannot be sorted ({error})") from None
    return codes.astype(np.int64), list(uniques)


def unit_data(
    effects: Any, groups: Any, *, name: str = "effects", groups_name: str = "groups"
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, list[Any], pd.Series]:
    """Validated estimates, standard errors, group codes and labels of a unit table.

    Returns ``(frame, y, s, codes, group_labels, groups)`` with ``groups`` aligned to the
    rows of ``frame``.
    """
    frame = effects_frame(effects, name)
    groups = aligned(groups, frame.index, groups_name)
    codes, labels = codes_from_labels(groups, groups_name)
    return (
        frame,
        frame["estimate"].to_numpy(),
        frame["se"].to_numpy(),
        codes,
        labels,
        groups,
    )


def as_index(labels: Any) -> pd.Index:
    """Row labels as a pandas Index; an Index (a MultiIndex too) is kept as it is."""
    if isinstance(labels, pd.Index):
        return labels
    if isinstance(labels, pd.Series):
        return pd.Index(labels.to_numpy(), name=labels.name)
    return pd.Index(list(labels))  # a list of tuples becomes a MultiIndex


def relabel(table: Estimates, index: pd.Index, **extra: Any) -> Estimates:
    """``table`` with the row labels ``index`` and extra columns (arrays, one per row)."""
    frame = table.to_frame()
    frame.index = index
    for column, values in extra.items():
        frame[column] = np.asarray(values)
    return Estimates(frame)


# ----------------------------------------------------------------------------- arrays
def numeric_array(values: Any, name: str, ndim: int | None) -> np.ndarray:
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


def check_estimates_and_se(
    estimates: Any, standard_errors: Any, *, ndim: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and positive standard errors of one shape, ``(n,)`` or ``(n_sims, n)``."""
    y = numeric_array(estimates, "estimates", ndim)
    s = numeric_array(standard_errors, "standard_errors", y.ndim)
    if s.shape != y.shape:
        raise ValueError(
            f"standard_errors must have the shape of estimates {y.shape}, got {s.shape}"
        )
    if (s <= 0).any():
        raise ValueError("standard_errors must be positive (a zero or negative SE is invalid)")
    return y, s


def hyperparameter_array(value: Any, name: str, *, allow_inf: bool = False) -> np.ndarray:
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


def check_codes(
    group_codes: Any, shape: tuple[int, ...], n_groups: int | None
) -> tuple[np.ndarray, int]:
    """Integer group codes for units of ``shape`` (the last axis); every group has members."""
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
    members = onehot(codes, n_groups).sum(axis=-2)
    if (members == 0).any():
        empty = int(np.argwhere(np.atleast_2d(members) == 0)[0, -1])
        raise ValueError(f"group_codes: group {empty} has no members")
    return codes, n_groups


def onehot(codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Indicator matrix (..., n, G) of the group codes."""
    return (codes[..., None] == np.arange(n_groups)).astype(float)


def group_sum(values: np.ndarray, indicators: np.ndarray) -> np.ndarray:
    """Sum ``values`` (..., n) within groups: result (..., n_groups)."""
    return np.einsum("...n,...ng->...g", values, indicators)


def take(group_values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Broadcast per-group values (..., G) back to units (..., n)."""
    return np.take_along_axis(
        group_values, np.broadcast_to(codes, group_values.shape[:-1] + codes.shape[-1:]), axis=-1
    )
