"""Input checks shared by every module.

Each check raises :class:`ValueError` whose message starts with the name of the bad
argument, so a reader sees at once which input to fix. Checks return the cleaned value
(e.g. a float array) so callers can write ``x = as_float_array(x, "x")``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "as_float_array",
    "check_alpha",
    "check_choice",
    "check_columns",
    "check_counts",
    "check_finite_number",
    "check_integer",
    "check_not_constant",
    "check_positive",
    "check_probability",
    "check_same_length",
]


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


def check_finite_number(value: Any, name: str) -> float:
    """Return ``value`` as a finite float, or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


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
    low_ok = value >= 0 if allow_zero else value > 0
    high_ok = value <= 1 if allow_one else value < 1
    if not (low_ok and high_ok):
        interval = ("[" if allow_zero else "(") + "0, 1" + ("]" if allow_one else ")")
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value


def check_positive(value: Any, name: str, *, strict: bool = True) -> float:
    """Check a number is positive (or non-negative with ``strict=False``)."""
    value = check_finite_number(value, name)
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
        raise ValueError(
            f"{successes_name} ({successes}) must not exceed {trials_name} ({trials})"
        )
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
    values = np.asarray(values, dtype=float)
    if np.isnan(values).any():
        raise ValueError(f"{name} contains NaN")
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
