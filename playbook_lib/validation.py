"""Input checks shared by every module, and the package's contract.

The contract every public function of :mod:`playbook_lib` keeps:

1. **It refuses what it cannot answer correctly.** Non-finite values, wrong types (a string
   where a number belongs, an array where a scalar belongs), values outside their range
   (an ``alpha`` outside (0, 1), a negative count), inconsistent aggregates (a sum of
   squares below ``sum**2 / n``), mismatched lengths, missing columns, an arm that never
   appears, a design that does not identify the effect: each raises :class:`ValueError`
   whose message names the argument (or the column) and the reason.
2. **It warns where an answer exists but is fragile** (perfect separation, tiny cells,
   extreme weights) with :class:`PlaybookWarning`, never with a bare NumPy
   ``RuntimeWarning``.
3. **Otherwise it returns finite, correct numbers.** Degenerate but legitimate inputs (no
   successes in an arm, an outcome that is constant) get the statistically right answer,
   and the function's docstring says what that answer is.
4. **Randomness comes only from its ``rng`` argument** (a :class:`numpy.random.Generator`,
   an integer seed or ``None``), which it passes on (scikit-learn models get a
   ``random_state`` drawn from it); no function reads or changes NumPy's global state.

``tests/test_contract.py`` checks 1, 3 and 4 over every public function, with bad inputs
generated from a table of argument kinds. Each check below raises :class:`ValueError`
whose message starts with the name of the bad argument, so a reader sees at once which
input to fix. Checks return the cleaned value (e.g. a float array) so callers can write
``x = as_float_array(x, "x")``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PlaybookWarning",
    "as_float_array",
    "as_numeric_array",
    "check_alpha",
    "check_binary",
    "check_choice",
    "check_columns",
    "check_counts",
    "check_finite_number",
    "check_flag",
    "check_integer",
    "check_not_constant",
    "check_positive",
    "check_probability",
    "check_regression_design",
    "check_rng",
    "check_same_length",
    "check_sum_of_squares",
    "column_as_float_array",
    "require_columns",
    "warn_point_interval",
]


class PlaybookWarning(UserWarning):
    """An answer exists but rests on fragile input (the package's only warning class).

    Raised as a warning, not an error: e.g. perfect separation in a logistic fit, strata
    with a single unit, propensities close to zero. Filter it by category like any warning::

        warnings.filterwarnings("error", category=playbook_lib.PlaybookWarning)
    """


def as_float_array(
    values: Any,
    name: str,
    *,
    ndim: int = 1,
    min_size: int = 1,
    allow_nan: bool = False,
) -> np.ndarray:
    """Convert ``values`` to a float array and check its shape and contents.

    Parameters
    ----------
    values : array-like
        The input.
    name : str
        The argument's name, used in error messages.
    ndim : int
        Required number of dimensions.
    min_size : int
        Minimum number of elements (along the first axis for ``ndim > 1``).
    allow_nan : bool
        Whether NaN is allowed. Infinite values are never allowed.

    Returns
    -------
    numpy.ndarray
        A float64 array.

    Raises
    ------
    ValueError
        If the values are not numeric, have the wrong dimension, too few elements,
        or contain NaN (unless allowed) or infinite values.
    """
    ndim = check_integer(ndim, "ndim", minimum=0)
    min_size = check_integer(min_size, "min_size", minimum=0)
    allow_nan = check_flag(allow_nan, "allow_nan")
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be numeric, got the string {values!r}")
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric: {error}") from None
    if raw.dtype.kind in "US" or (
        raw.dtype.kind == "O" and any(isinstance(item, str | bytes) for item in raw.ravel())
    ):
        raise ValueError(f"{name} must be numeric, got strings")
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric: {error}") from None
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {array.shape}")
    size = array.shape[0] if array.ndim else 1
    if size < min_size:
        raise ValueError(f"{name} must have at least {min_size} element(s), got {size}")
    if not allow_nan and np.isnan(array).any():
        raise ValueError(f"{name} contains NaN")
    if np.isinf(array).any():
        raise ValueError(f"{name} contains infinite values")
    return array


def as_numeric_array(
    values: Any,
    name: str,
    *,
    allow_nan: bool = False,
    allow_inf: bool = False,
    allow_empty: bool = False,
) -> np.ndarray:
    """``values`` as a float array of any shape (a scalar becomes 0-d).

    Strings (also numeric ones such as ``"1"``), a lone boolean and ragged input are
    refused (a boolean *array*, e.g. 0/1 rewards, counts as numbers); NaN and infinite
    values unless allowed; an empty array unless ``allow_empty``.
    Use :func:`as_float_array` where the number of dimensions is fixed.
    """
    allow_nan = check_flag(allow_nan, "allow_nan")
    allow_inf = check_flag(allow_inf, "allow_inf")
    allow_empty = check_flag(allow_empty, "allow_empty")
    if isinstance(values, str | bytes | bool | np.bool_):
        raise ValueError(f"{name} must be numeric, got {values!r}")
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric: {error}") from None
    if raw.dtype.kind == "O":
        if any(isinstance(item, str | bytes | bool) for item in raw.ravel()):
            raise ValueError(f"{name} must be numeric, got strings or booleans")
        try:
            raw = raw.astype(float)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} must be numeric: {error}") from None
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got values of type {raw.dtype}")
    array = raw.astype(float)
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if not allow_nan and np.isnan(array).any():
        raise ValueError(f"{name} contains NaN")
    if not allow_inf and np.isinf(array).any():
        raise ValueError(f"{name} contains infinite values")
    return array


def check_finite_number(value: Any, name: str) -> float:
    """Return ``value`` as a finite float, or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_flag(value: Any, name: str) -> bool:
    """Check ``value`` is a bool (``numpy.bool_`` included), not a truthy string or number."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_alpha(alpha: Any, name: str = "alpha") -> float:
    """Check a significance level lies in the open interval (0, 1)."""
    alpha = check_finite_number(alpha, name)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {alpha}")
    return alpha


def check_probability(
    value: Any, name: str, *, allow_zero: bool = True, allow_one: bool = True
) -> float:
    """Check a probability lies in [0, 1] (optionally excluding either end)."""
    value = check_finite_number(value, name)
    allow_zero = check_flag(allow_zero, "allow_zero")
    allow_one = check_flag(allow_one, "allow_one")
    low_ok = value >= 0 if allow_zero else value > 0
    high_ok = value <= 1 if allow_one else value < 1
    if not (low_ok and high_ok):
        interval = ("[" if allow_zero else "(") + "0, 1" + ("]" if allow_one else ")")
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value


def check_positive(value: Any, name: str, *, strict: bool = True) -> float:
    """Check a number is positive (or non-negative with ``strict=False``)."""
    value = check_finite_number(value, name)
    strict = check_flag(strict, "strict")
    if (strict and value <= 0) or (not strict and value < 0):
        kind = "positive" if strict else "non-negative"
        raise ValueError(f"{name} must be {kind}, got {value}")
    return value


def check_integer(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Check ``value`` is an integer (not a bool), at least ``minimum`` if given."""
    if isinstance(value, bool) or not isinstance(value, Integral | np.integer):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def check_counts(
    successes: Any, trials: Any, successes_name: str, trials_name: str
) -> tuple[int, int]:
    """Check successes out of trials: integers, ``0 <= successes <= trials``, ``trials >= 1``."""
    trials = check_integer(trials, trials_name, minimum=1)
    successes = check_integer(successes, successes_name, minimum=0)
    if successes > trials:
        raise ValueError(f"{successes_name} ({successes}) must not exceed {trials_name} ({trials})")
    return successes, trials


def check_same_length(**arrays: Sequence[Any] | np.ndarray) -> int:
    """Check every keyword argument has the same length; return that length."""
    lengths = {name: len(values) for name, values in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {length}" for name, length in lengths.items())
        raise ValueError(f"length mismatch: {described}")
    return next(iter(lengths.values()), 0)


def check_not_constant(values: np.ndarray, name: str) -> None:
    """Raise if ``values`` has zero variance (e.g. a constant covariate)."""
    values = as_float_array(values, name, min_size=0)
    if values.size < 2 or np.ptp(values) == 0:
        raise ValueError(f"{name} is constant (zero variance)")


def check_choice(value: Any, name: str, allowed: Iterable[Any]) -> Any:
    """Check ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed!r}, got {value!r}")
    return value


def check_columns(data: Any, columns: Iterable[str], name: str = "data") -> pd.DataFrame:
    """Check ``data`` is a DataFrame holding every column in ``columns``."""
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(data).__name__}")
    missing = [column for column in columns if column not in data.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {missing}")
    return data


def column_as_float_array(
    data: pd.DataFrame, column: str, name: str, *, allow_nan: bool = False
) -> np.ndarray:
    """Return ``data[column]`` as a finite float array, naming ``name`` and the column.

    Raises
    ------
    ValueError
        If the column is missing, not numeric, or holds NaN (unless allowed) or infinite
        values; the message names the argument ``name`` and the column.
    """
    allow_nan = check_flag(allow_nan, "allow_nan")
    if not isinstance(column, str):
        raise ValueError(f"{name} must be a column name (a string), got {column!r}")
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if column not in data.columns:
        raise ValueError(f"{name}: data has no column {column!r}")
    series = data[column]
    if series.dtype.kind not in "biuf":
        # Strings are not numbers, even "20": a column read as text is a data problem.
        is_text = series.map(lambda item: isinstance(item, str | bytes)).to_numpy(bool)
        converted = pd.to_numeric(series.mask(is_text), errors="coerce")
        bad = is_text | (converted.isna() & series.notna()).to_numpy(bool)
        if bad.any():
            example = series[bad].iloc[0]
            raise ValueError(f"{name}: column {column!r} must be numeric, got {example!r}")
        series = converted
    values = series.to_numpy(dtype=float, na_value=np.nan)
    missing = int(np.isnan(values).sum())
    if missing and not allow_nan:
        raise ValueError(f"{name}: column {column!r} has {missing} missing value(s)")
    if np.isinf(values).any():
        raise ValueError(f"{name}: column {column!r} has infinite values")
    return values


def check_binary(values: Any, name: str, *, both: bool = True) -> np.ndarray:
    """Check a treatment indicator holds only 0 and 1 (both present unless ``both=False``).

    Booleans are accepted. Returns an ``int64`` array of 0s and 1s.
    """
    both = check_flag(both, "both")
    array = as_float_array(values, name)
    if not np.isin(array, (0.0, 1.0)).all():
        others = np.unique(array[~np.isin(array, (0.0, 1.0))])[:5]
        raise ValueError(f"{name} must hold only 0 and 1, got {others.tolist()}")
    if both and (array.min() == array.max()):
        missing = "treatment (1)" if array.max() == 0 else "control (0)"
        raise ValueError(f"{name} has no {missing} units: both arms must appear")
    return array.astype(np.int64)


def check_sum_of_squares(n: float, total: float, sum_squares: float, name: str) -> float:
    """Check ``sum_squares >= total**2 / n`` (up to round-off): a variance is not negative.

    Returns the implied sample sum of squared deviations; within round-off of zero
    (``1e-9`` relative) it returns exactly 0, so a constant sample is seen as constant.
    ``n`` must be positive and all three numbers finite; the message names ``name``.
    """
    n = check_positive(n, f"{name}: n")
    total = check_finite_number(total, f"{name}: total")
    sum_squares = check_finite_number(sum_squares, name)
    implied = (total / n) * total
    if not math.isfinite(implied):
        raise ValueError(f"{name}: sum**2 / n overflows ({total:g}**2 / {n:g}); rescale the metric")
    deviations = sum_squares - implied
    tolerance = 1e-9 * max(abs(sum_squares), implied, 1e-300)
    if deviations < -tolerance:
        raise ValueError(
            f"{name} ({sum_squares:g}) is below sum**2 / n ({implied:g}): "
            "these aggregates imply a negative variance"
        )
    # Within round-off of zero: the sample is constant (the cancellation in
    # sum_squares - total**2 / n leaves noise of relative size ~1e-16 * n, not a variance).
    return deviations if deviations > tolerance else 0.0


def require_columns(
    data: Any, name: str = "data", *, distinct: bool = False, **columns: Any
) -> pd.DataFrame:
    """Check that ``data`` is a non-empty DataFrame holding every column named by a role.

    Parameters
    ----------
    data : Any
        The frame to check.
    name : str
        The argument holding ``data``, for messages.
    distinct : bool
        Also refuse one column named for two roles (e.g. ``unit`` and ``time``).
    **columns
        Role -> column name, e.g. ``unit="geo", time="week"``.

    Returns
    -------
    pandas.DataFrame
        ``data`` unchanged.

    Raises
    ------
    ValueError
        If ``data`` is not a DataFrame or has no rows, or a column is missing (the message
        names the role's argument and lists the frame's columns), or with ``distinct`` a
        column serves two roles.
    """
    distinct = check_flag(distinct, "distinct")
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(data).__name__}")
    for argument, column in columns.items():
        try:
            present = column in data.columns
        except TypeError:  # an unhashable "column name"
            present = False
        if not present:
            shown = [str(c) for c in data.columns[:12]]
            raise ValueError(
                f"{argument}: column {column!r} not found in {name} (columns: {shown})"
            )
    if len(data) == 0:
        raise ValueError(f"{name} has no rows")
    if distinct:
        for column in columns.values():
            roles = [role for role, value in columns.items() if value == column]
            if len(roles) > 1:
                raise ValueError(f"{' and '.join(roles)}: column {column!r} is used for two roles")
    return data


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """Return ``numpy.random.default_rng(rng)`` after checking ``rng``'s type.

    Accepts ``None``, a :class:`numpy.random.Generator`, a
    :class:`numpy.random.SeedSequence` or a non-negative integer seed.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, bool) or not isinstance(rng, Integral | np.integer):
        raise ValueError(
            f"{name} must be a numpy Generator, a non-negative integer seed or None, got {rng!r}"
        )
    if rng < 0:
        raise ValueError(f"{name} must be a non-negative integer seed, got {rng}")
    return np.random.default_rng(int(rng))


def check_regression_design(design: np.ndarray, rows_name: str, cov_type: str) -> None:
    """Check an OLS design matrix identifies its coefficients and, for ``HC2``/``HC3``,
    its robust variance (no unit with leverage 1).

    Raises
    ------
    ValueError
        If there are no residual degrees of freedom (``rows_name`` has too few rows), the
        columns are collinear, or a unit has leverage 1 under ``HC2``/``HC3`` (e.g. an arm
        with a single unit).
    """
    design = as_float_array(design, "design", ndim=2)
    n_rows, n_columns = design.shape
    if n_rows <= n_columns:
        raise ValueError(
            f"{rows_name} has {n_rows} rows for {n_columns} coefficients: no residual "
            "degrees of freedom"
        )
    if np.linalg.matrix_rank(design) < n_columns:
        raise ValueError("covariates are collinear with each other or with the treatment")
    if cov_type in ("HC2", "HC3"):
        leverage = np.sum(np.linalg.qr(design)[0] ** 2, axis=1)
        if leverage.max() > 1 - 1e-10:
            raise ValueError(
                f"treatment: a unit has leverage 1 (e.g. an arm with a single unit), so "
                f"{cov_type} is undefined; use cov_type='HC0', fewer covariates or more units"
            )


def warn_point_interval(what: str) -> None:
    """Warn (:class:`PlaybookWarning`) that a zero standard error made the interval a point.

    Called from a public function's helper: the warning points at the reader's call.
    """
    if not isinstance(what, str):
        raise ValueError(f"what must be a string (the function's name), got {what!r}")
    warnings.warn(
        f"{what}: the standard error is 0, so the interval is the single point estimate "
        "(p = 1 when the estimate is 0, else 0)",
        PlaybookWarning,
        stacklevel=3,
    )
