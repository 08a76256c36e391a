"""Checks and small helpers shared by the files of :mod:`playbook_lib.decisions`.

Private: the public functions validate their inputs with these, then compute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from playbook_lib._kernels import interval_and_p_value
from playbook_lib.results import Estimate
from playbook_lib.validation import as_float_array, check_choice

DIRECTIONS = ("higher_is_better", "lower_is_better")


def direction_sign(direction: str, name: str = "direction") -> float:
    """+1 for ``"higher_is_better"``, -1 for ``"lower_is_better"`` (else a ValueError)."""
    check_choice(direction, name, DIRECTIONS)
    return 1.0 if direction == "higher_is_better" else -1.0


def as_estimate(estimate: Any, name: str) -> Estimate:
    """``estimate`` if it is an :class:`Estimate`, else a ValueError naming ``name``."""
    if not isinstance(estimate, Estimate):
        raise ValueError(f"{name} must be a playbook_lib.Estimate, got {type(estimate).__name__}")
    return estimate


def usable_se(estimate: Any, name: str) -> float:
    """The estimate's se after checking it is an Estimate with a finite positive se."""
    se = as_estimate(estimate, name).se
    if not (math.isfinite(se) and se > 0):
        raise ValueError(f"{name} needs a finite positive se, got {se}")
    return se


def as_text(value: Any, name: str) -> str:
    """``value`` if it is a non-empty string, else a ValueError naming ``name``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def as_mapping(value: Any, name: str) -> Mapping[Any, Any]:
    """``value`` if it is a mapping, else a ValueError naming ``name``."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping, got {type(value).__name__}")
    return value


def as_scalar_or_vector(values: Any, name: str) -> np.ndarray:
    """A number or a 1-D array of numbers as a finite 1-D float array (strings refused)."""
    if isinstance(values, bool | np.bool_ | str | bytes):
        raise ValueError(f"{name} must be numeric, got {values!r}")
    return as_float_array(np.atleast_1d(values), name)


def one_sided_test(
    good: Any,
    se: Any,
    alpha: float,
    alternative: str,
    df: float | None = None,
    null_value: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided bound and p-value of ``good`` (an effect oriented so that up is good).

    ``"larger"`` tests ``H1: effect > null_value`` and gives the lower ``1 - alpha`` bound;
    ``"smaller"`` tests ``H1: effect < null_value`` and gives the upper bound. Student-t
    with ``df`` degrees of freedom, or the normal. Assumes checked inputs and ``se > 0``.
    """
    low, high, p_value = interval_and_p_value(good, se, alpha, alternative, df, null_value)
    return (low if alternative == "larger" else high), p_value
