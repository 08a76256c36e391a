"""Input checks shared by the files of :mod:`playbook_lib.sequential` (private)."""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib.validation import (
    as_float_array,
    as_numeric_array,
    check_choice,
    check_integer,
)

_GRID_SIZE = 32  # Jennison & Turnbull's r; r = 16 already gives ~1e-6 accuracy
_MAX_GRID_SIZE = 400  # the kernel of one look is (12 r)^2 floats: 185 MB at r = 400


def _check_fractions(
    values: Any, name: str = "information_fractions", *, end_at_one: bool = False
) -> np.ndarray:
    """Strictly increasing fractions in (0, 1] (ending at 1 when ``end_at_one``)."""
    fractions = as_float_array(values, name)
    if np.any(fractions <= 0) or np.any(fractions > 1):
        raise ValueError(f"{name} must lie in (0, 1], got {fractions.tolist()}")
    if np.any(np.diff(fractions) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {fractions.tolist()}")
    if end_at_one and fractions[-1] != 1.0:
        if fractions[-1] < 1.0 - 1e-12:
            raise ValueError(
                f"{name} must end at 1 (the last look of this design is the final analysis, "
                f"which spends all of alpha), got {fractions.tolist()}"
            )
        fractions = fractions.copy()
        fractions[-1] = 1.0
    return fractions


def _resolve_fractions(
    n_looks: Any, information_fractions: Any, *, end_at_one: bool = False
) -> np.ndarray:
    """The looks' fractions: given, or ``n_looks`` equally spaced ones."""
    if information_fractions is not None:
        fractions = _check_fractions(information_fractions, end_at_one=end_at_one)
        if n_looks is not None and check_integer(n_looks, "n_looks", minimum=1) != fractions.size:
            raise ValueError(
                f"n_looks ({n_looks}) must equal len(information_fractions) ({fractions.size})"
            )
        return fractions
    if n_looks is None:
        raise ValueError("n_looks must be given when information_fractions is None")
    n_looks = check_integer(n_looks, "n_looks", minimum=1)
    return np.arange(1, n_looks + 1) / n_looks


def _check_sides(sides: Any) -> int:
    return check_choice(check_integer(sides, "sides"), "sides", (1, 2))


def _as_bounds(values: Any, name: str, n_looks: int, default: float) -> np.ndarray:
    """One boundary per look (a scalar is repeated); ``None`` gives ``default``."""
    if values is None:
        return np.full(n_looks, default)
    if isinstance(values, bool | np.bool_):
        raise ValueError(f"{name} must be numeric, got {values!r}")
    bounds = as_numeric_array(values, name, allow_nan=True, allow_inf=True)
    if bounds.ndim == 0:
        bounds = np.full(n_looks, float(bounds))
    if bounds.shape != (n_looks,):
        raise ValueError(
            f"{name} must have one value per look ({n_looks}), got shape {bounds.shape} "
            "(length mismatch)"
        )
    if np.isnan(bounds).any():
        raise ValueError(f"{name} contains NaN")
    return bounds


def _estimates_and_variances(
    estimates: Any, variances: Any, *, to_estimates_shape: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Checked, broadcast ``(estimate, variance)``.

    A variance must be positive; ``+inf`` marks a look without information, where the
    estimate may be NaN. Elsewhere estimates must be finite.
    """
    estimate = as_numeric_array(estimates, "estimates", allow_nan=True, allow_inf=True)
    variance = as_numeric_array(variances, "variances", allow_nan=True, allow_inf=True)
    if np.isnan(variance).any():
        raise ValueError("variances contains NaN")
    if np.any(variance <= 0):
        raise ValueError(
            f"variances must be positive, got {float(variance[variance <= 0].ravel()[0])}"
        )
    try:
        if to_estimates_shape:
            variance = np.broadcast_to(variance, estimate.shape)
        else:
            estimate, variance = np.broadcast_arrays(estimate, variance)
    except ValueError:
        raise ValueError(
            f"variances (shape {variance.shape}) must broadcast to the shape of estimates "
            f"({estimate.shape}): one variance per estimate (length mismatch)"
        ) from None
    informative = np.isfinite(variance)
    if np.isinf(estimate).any():
        raise ValueError("estimates contains infinite values")
    if np.any(np.isnan(estimate) & informative):
        raise ValueError(
            "estimates contains NaN at a look with a finite variance (NaN is allowed only "
            "where the variance is infinite: a look without information)"
        )
    return estimate, variance


def _check_looks(look_sizes: Any, n_units: int) -> np.ndarray:
    """0-based index of the last unit of each look (strictly increasing, in range)."""
    sizes = as_float_array(look_sizes, "look_sizes")
    if np.any(sizes != np.round(sizes)) or np.any(sizes < 1) or np.any(sizes > n_units):
        raise ValueError(f"look_sizes must be integers in [1, {n_units}], got {sizes.tolist()}")
    if np.any(np.diff(sizes) <= 0):
        raise ValueError("look_sizes must be strictly increasing")
    return sizes.astype(int) - 1
