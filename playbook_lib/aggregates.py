"""Typed sufficient statistics: what a warehouse ``GROUP BY`` returns, checked once.

Every recipe in the book needs only a few sums per arm (and per day, geo or look): counts,
sums, sums of squares and cross products. These small frozen classes hold them, check that
they are consistent (a variance is never negative, a correlation never exceeds one), and add
up (``monday + tuesday``), so one query's output feeds any ``_from_stats`` recipe.

- :class:`ArmStatistics`: ``n``, ``sum``, ``sum_squares`` of one metric in one arm (a
  proportion is the special case ``sum_squares == sum``, see :meth:`ArmStatistics.from_counts`).
- :class:`RatioStatistics`: a ratio metric's per-unit numerator and denominator sums, their
  squares and their cross products (the delta method's inputs).
- :class:`CovariateStatistics`: an outcome and one pre-period covariate with their cross
  products (single-covariate CUPED's inputs).
- :class:`CovariateMoments`: an outcome and ``k`` pre-period covariates, with the
  ``(k + 1) x (k + 1)`` matrix of sums of cross products (the inputs of CUPED and
  regression adjustment with several covariates).

Each field may be a scalar or a 1-D array (one entry per day, geo or look); arithmetic and
checks are elementwise, and :meth:`ArmStatistics.cumulative` turns daily statistics into
the cumulative statistics a sequential test reads at each look.

Adding two statistics pools *disjoint* sets of units (two days' new users, two regions). A
user seen on several days must be summed per user first (the per-user totals are the
units), which is why the queries aggregate per unit before they aggregate per arm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import without_round_off
from playbook_lib.validation import as_float_array, check_binary, column_as_float_array

__all__ = [
    "ArmStatistics",
    "CovariateMoments",
    "CovariateStatistics",
    "RatioStatistics",
    "arm_statistics",
]

# Round-off allowance when checking sums of squares against sum**2 / n (relative).
_RELATIVE_TOLERANCE = 1e-9


def _field(value: Any, name: str, *, integer: bool = False) -> float | int | np.ndarray:
    """A finite number or a finite 1-D float array (read-only), named in errors."""
    if isinstance(value, bool | np.bool_ | str | bytes):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}")
    array = np.asarray(value)
    if array.ndim > 1:
        raise ValueError(f"{name} must be a number or a 1-D array, got shape {array.shape}")
    values = as_float_array(np.atleast_1d(array), name, min_size=1)
    if integer and not np.all(values == np.round(values)):
        raise ValueError(f"{name} must hold integers (unit counts), got {value!r}")
    if array.ndim == 0:
        return int(values[0]) if integer else float(values[0])
    result = values.astype(np.int64) if integer else values
    result.setflags(write=False)
    return result


def _deviations(n: Any, total: Any, squares: Any, name: str) -> np.ndarray:
    """``squares - total**2 / n`` (the sum of squared deviations), checked non-negative;
    within round-off of zero it is exactly zero."""
    n, total, squares = (np.asarray(v, dtype=float) for v in (n, total, squares))
    implied = (total / n) * total
    deviations = squares - implied
    # Relative round-off, with an absolute floor for sums that underflow (subnormals).
    tolerance = _RELATIVE_TOLERANCE * np.maximum(np.abs(squares), implied) + 1e-300
    if np.any(deviations < -tolerance):
        where = np.flatnonzero(np.atleast_1d(deviations < -tolerance))[0]
        raise ValueError(
            f"{name} is below sum**2 / n (entry {where}): these aggregates imply a "
            "negative variance"
        )
    # Zero within the round-off of a constant sample, the same floor as
    # playbook_lib._kernels.moments_from_sums (the validation allowance above is wider: a
    # spread 1e-10 of the mean square still holds about six good digits).
    return without_round_off(deviations, squares)


def _shape(statistics: Any) -> tuple[int, ...]:
    shapes = {np.shape(getattr(statistics, item.name)) for item in fields(statistics)}
    shapes.discard(())
    if len(shapes) > 1:
        raise ValueError(
            f"{type(statistics).__name__} fields must share one length, got {sorted(shapes)}"
        )
    return shapes.pop() if shapes else ()


def _scalar_or_array(value: np.ndarray, shape: tuple[int, ...]) -> float | np.ndarray:
    return float(value) if shape == () else value


class _Statistics:
    """Shared behaviour: elementwise addition, equality, a readable dict."""

    def __add__(self, other: Any) -> Any:
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(
            **{
                item.name: np.add(getattr(self, item.name), getattr(other, item.name))
                for item in fields(self)  # type: ignore[arg-type]
            }
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, item.name), getattr(other, item.name))
            for item in fields(self)  # type: ignore[arg-type]
        )

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """The fields by name (what the SQL query's columns are called)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class ArmStatistics(_Statistics):
    """Size, sum and sum of squares of one metric in one arm.

    Parameters
    ----------
    n : int or array of int
        Number of units (at least 1).
    sum : float or array
        Sum of the metric over the units.
    sum_squares : float or array
        Sum of the squared metric over the units.

    Raises
    ------
    ValueError
        Naming the field: a non-integer or non-positive ``n``, a value that is not a
        finite number (strings refused), fields of different lengths, or
        ``sum_squares < sum**2 / n`` (a negative variance).

    Examples
    --------
    >>> control = ArmStatistics.from_values([3.0, 5.0, 4.0])
    >>> control.mean, control.variance
    (4.0, 1.0)
    >>> (control + ArmStatistics(2, 10.0, 50.0)).n
    5
    """

    n: int | np.ndarray
    sum: float | np.ndarray
    sum_squares: float | np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _field(self.n, "n", integer=True))
        object.__setattr__(self, "sum", _field(self.sum, "sum"))
        object.__setattr__(self, "sum_squares", _field(self.sum_squares, "sum_squares"))
        _shape(self)
        if np.any(np.asarray(self.n) < 1):
            raise ValueError(f"n must be at least 1, got {self.n}")
        _deviations(self.n, self.sum, self.sum_squares, "sum_squares")

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_values(cls, values: Any) -> ArmStatistics:
        """Statistics of a 1-D array of unit-level values (finite, at least one)."""
        values = as_float_array(values, "values")
        return cls(values.size, float(values.sum()), float(values @ values))

    @classmethod
    def from_frame(cls, data: pd.DataFrame, column: str) -> ArmStatistics:
        """Statistics of ``data[column]`` (one row per unit)."""
        return cls.from_values(column_as_float_array(data, column, "column"))

    @classmethod
    def from_counts(cls, successes: Any, n: Any) -> ArmStatistics:
        """A proportion: ``successes`` out of ``n`` (a 0/1 metric, so the sum of squares
        equals the sum)."""
        successes_field = _field(successes, "successes", integer=True)
        n_field = _field(n, "n", integer=True)
        if np.any(np.asarray(successes_field) < 0) or np.any(
            np.asarray(successes_field) > np.asarray(n_field)
        ):
            raise ValueError(f"successes must lie in [0, n], got {successes} of {n}")
        return cls(n_field, successes_field, successes_field)

    @classmethod
    def from_moments(cls, n: Any, mean: Any, variance: Any) -> ArmStatistics:
        """From a size, a mean and a sample variance (``ddof=1``; 0 when ``n == 1``)."""
        n_field = np.asarray(_field(n, "n", integer=True), dtype=float)
        mean_field = np.asarray(_field(mean, "mean"))
        variance_field = np.asarray(_field(variance, "variance"))
        if np.any(variance_field < 0):
            raise ValueError(f"variance must be non-negative, got {variance}")
        total = n_field * mean_field
        squares = np.maximum(n_field - 1, 0) * variance_field + n_field * mean_field**2
        return cls(
            *(v.item() if v.ndim == 0 else v for v in (n_field.astype(np.int64), total, squares))
        )

    # --------------------------------------------------------------- views
    @property
    def mean(self) -> float | np.ndarray:
        """The arm's mean, ``sum / n``."""
        return _scalar_or_array(np.asarray(self.sum) / np.asarray(self.n), _shape(self))

    @property
    def variance(self) -> float | np.ndarray:
        """Sample variance (``ddof=1``); 0 for a single unit or a constant metric."""
        deviations = _deviations(self.n, self.sum, self.sum_squares, "sum_squares")
        n = np.asarray(self.n, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = np.where(n > 1, deviations / np.maximum(n - 1, 1), 0.0)
        return _scalar_or_array(variance, _shape(self))

    @property
    def sd(self) -> float | np.ndarray:
        """Sample standard deviation (``ddof=1``)."""
        return _scalar_or_array(np.sqrt(np.asarray(self.variance)), _shape(self))

    @property
    def se_mean(self) -> float | np.ndarray:
        """Standard error of the mean, ``sd / sqrt(n)``."""
        return _scalar_or_array(
            np.asarray(self.sd) / np.sqrt(np.asarray(self.n, dtype=float)), _shape(self)
        )

    def cumulative(self) -> ArmStatistics:
        """Running totals over the entries (daily statistics -> statistics at each look)."""
        if _shape(self) == ():
            raise ValueError("cumulative() needs array statistics (one entry per period)")
        return ArmStatistics(np.cumsum(self.n), np.cumsum(self.sum), np.cumsum(self.sum_squares))

    def total(self) -> ArmStatistics:
        """All entries pooled into one (disjoint units: days of new users, regions)."""
        return ArmStatistics(
            int(np.sum(self.n)), float(np.sum(self.sum)), float(np.sum(self.sum_squares))
        )


class _PairStatistics(_Statistics):
    """Two per-unit variables with their cross products; subclasses name the two
    (``_first``, ``_second``), and their fields are ``n``, ``sum_<first>``,
    ``sum_<second>``, ``sum_<first>_squares``, ``sum_<second>_squares`` and
    ``sum_cross_products``."""

    _first: str
    _second: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _field(self.n, "n", integer=True))  # type: ignore[attr-defined]
        for item in fields(self)[1:]:  # type: ignore[arg-type]
            object.__setattr__(self, item.name, _field(getattr(self, item.name), item.name))
        _shape(self)
        n = np.asarray(self.n, dtype=float)  # type: ignore[attr-defined]
        if np.any(n < 1):
            raise ValueError(f"n must be at least 1, got {self.n}")  # type: ignore[attr-defined]
        deviations = [
            _deviations(
                n,
                getattr(self, f"sum_{which}"),
                getattr(self, f"sum_{which}_squares"),
                f"sum_{which}_squares",
            )
            for which in (self._first, self._second)
        ]
        cross = np.asarray(self.sum_cross_products, dtype=float)  # type: ignore[attr-defined]
        first, second = (
            np.asarray(getattr(self, f"sum_{which}")) for which in (self._first, self._second)
        )
        cross_deviation = cross - first * second / n
        scale = np.maximum(np.abs(cross), 1e-300)
        bound = np.sqrt(deviations[0] * deviations[1])
        if np.any(np.abs(cross_deviation) > bound + _RELATIVE_TOLERANCE * scale):
            raise ValueError(
                "sum_cross_products is inconsistent with the sums of squares: it implies a "
                "correlation beyond [-1, 1]"
            )

    @classmethod
    def _from_pair(cls, first: Any, second: Any) -> Any:
        x = as_float_array(first, cls._first)
        y = as_float_array(second, cls._second)
        if x.size != y.size:
            raise ValueError(
                f"{cls._first} and {cls._second} lengths differ: {x.size} and {y.size}"
            )
        return cls(x.size, float(x.sum()), float(y.sum()), float(x @ x), float(y @ y), float(x @ y))

    def _arm(self, which: str) -> ArmStatistics:
        return ArmStatistics(
            self.n,
            getattr(self, f"sum_{which}"),
            getattr(self, f"sum_{which}_squares"),  # type: ignore[attr-defined]
        )

    @property
    def covariance(self) -> float | np.ndarray:
        """Sample covariance of the two variables (``ddof=1``; 0 for a single unit)."""
        n = np.asarray(self.n, dtype=float)  # type: ignore[attr-defined]
        first, second = (
            np.asarray(getattr(self, f"sum_{which}")) for which in (self._first, self._second)
        )
        cross = np.asarray(self.sum_cross_products) - first * (second / n)  # type: ignore[attr-defined]
        return _scalar_or_array(np.where(n > 1, cross / np.maximum(n - 1, 1), 0.0), _shape(self))


@dataclass(frozen=True, eq=False)
class RatioStatistics(_PairStatistics):
    """A ratio metric's per-unit sums in one arm (e.g. clicks / pageviews per user).

    Parameters
    ----------
    n : int or array of int
        Number of randomised units (users), at least 1.
    sum_numerator, sum_denominator : float or array
        Sums over units of the per-unit numerator ``X`` and denominator ``Y``.
    sum_numerator_squares, sum_denominator_squares : float or array
        Sums of ``X**2`` and ``Y**2``.
    sum_cross_products : float or array
        Sum of ``X * Y``.

    Raises
    ------
    ValueError
        Naming the field: as :class:`ArmStatistics` for each of ``X`` and ``Y``; a cross
        product implying a correlation beyond [-1, 1]; a denominator summing to zero.
    """

    _first = "numerator"
    _second = "denominator"
    n: int | np.ndarray
    sum_numerator: float | np.ndarray
    sum_denominator: float | np.ndarray
    sum_numerator_squares: float | np.ndarray
    sum_denominator_squares: float | np.ndarray
    sum_cross_products: float | np.ndarray

    def __post_init__(self) -> None:
        super().__post_init__()
        if np.any(np.asarray(self.sum_denominator) == 0):
            raise ValueError("sum_denominator must not be zero: the ratio is undefined")

    @classmethod
    def from_values(cls, numerator: Any, denominator: Any) -> RatioStatistics:
        """Statistics of per-unit numerators and denominators (equal lengths)."""
        return cls._from_pair(numerator, denominator)

    @classmethod
    def from_frame(cls, data: pd.DataFrame, numerator: str, denominator: str) -> RatioStatistics:
        """Statistics of two columns of a per-unit frame."""
        return cls.from_values(
            column_as_float_array(data, numerator, "numerator"),
            column_as_float_array(data, denominator, "denominator"),
        )

    @property
    def ratio(self) -> float | np.ndarray:
        """``sum_numerator / sum_denominator``."""
        return _scalar_or_array(
            np.asarray(self.sum_numerator) / np.asarray(self.sum_denominator), _shape(self)
        )

    @property
    def numerator(self) -> ArmStatistics:
        """The numerator's :class:`ArmStatistics`."""
        return self._arm("numerator")

    @property
    def denominator(self) -> ArmStatistics:
        """The denominator's :class:`ArmStatistics`."""
        return self._arm("denominator")


@dataclass(frozen=True, eq=False)
class CovariateStatistics(_PairStatistics):
    """An outcome and one pre-period covariate in one arm, with their cross products.

    Parameters
    ----------
    n : int or array of int
        Number of units, at least 1.
    sum_outcome, sum_covariate : float or array
        Sums of the outcome ``Y`` and the covariate ``X``.
    sum_outcome_squares, sum_covariate_squares : float or array
        Sums of ``Y**2`` and ``X**2``.
    sum_cross_products : float or array
        Sum of ``X * Y``.

    Raises
    ------
    ValueError
        As :class:`RatioStatistics` (without the denominator rule).
    """

    _first = "outcome"
    _second = "covariate"
    n: int | np.ndarray
    sum_outcome: float | np.ndarray
    sum_covariate: float | np.ndarray
    sum_outcome_squares: float | np.ndarray
    sum_covariate_squares: float | np.ndarray
    sum_cross_products: float | np.ndarray

    @classmethod
    def from_values(cls, outcome: Any, covariate: Any) -> CovariateStatistics:
        """Statistics of per-unit outcomes and covariates (equal lengths)."""
        return cls._from_pair(outcome, covariate)

    @classmethod
    def from_frame(cls, data: pd.DataFrame, outcome: str, covariate: str) -> CovariateStatistics:
        """Statistics of two columns of a per-unit frame."""
        return cls.from_values(
            column_as_float_array(data, outcome, "outcome"),
            column_as_float_array(data, covariate, "covariate"),
        )

    @property
    def outcome(self) -> ArmStatistics:
        """The outcome's :class:`ArmStatistics`."""
        return self._arm("outcome")

    @property
    def covariate(self) -> ArmStatistics:
        """The covariate's :class:`ArmStatistics`."""
        return self._arm("covariate")


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=float)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class CovariateMoments(_Statistics):
    """An outcome and ``k`` pre-period covariates in one arm: sums and cross products.

    The first and second moments of ``z = (y, x_1, ..., x_k)`` over the arm's units: what a
    warehouse ``GROUP BY arm`` returns for regression adjustment with several covariates.

    Parameters
    ----------
    n : int
        Number of units (at least 1).
    sum_outcome : float
        Sum of the outcome ``y``.
    sum_covariates : array of k floats
        Sums of each covariate ``x_j`` (``k >= 1``; a number is one covariate).
    sum_cross_products : (k + 1) x (k + 1) array
        Sums of ``z_i z_j`` over the units, in the order ``(y, x_1, ..., x_k)``: the
        diagonal holds the sums of squares, entry ``[0, j]`` the sum of ``y x_j``.

    Raises
    ------
    ValueError
        Naming the field: a non-integer, non-positive or non-scalar ``n``; values that are
        not finite numbers; ``sum_cross_products`` of another shape than
        ``(k + 1, k + 1)`` or not symmetric; a diagonal entry below ``sum**2 / n`` (a
        negative variance), or centred sums that are not positive semi-definite (a
        covariance matrix no data could give), beyond round-off.

    Notes
    -----
    Adding two (``+``) pools disjoint sets of units with the same covariates. Centred sums
    come from ``sum_cross_products - sums sums' / n``, which loses digits when a variable's
    mean is huge relative to its spread (shift it in the query). Fields are scalars: one
    experiment per arm (not one entry per day).

    Examples
    --------
    >>> covariates = [[0.0, 1.0], [1.0, 1.0], [2.0, 3.0]]
    >>> moments = CovariateMoments.from_values([1.0, 2.0, 4.0], covariates)
    >>> moments.k, moments.mean_outcome
    (2, 2.3333333333333335)
    """

    n: int
    sum_outcome: float
    sum_covariates: np.ndarray
    sum_cross_products: np.ndarray

    def __post_init__(self) -> None:
        if np.ndim(self.n) != 0:
            raise ValueError(f"n must be one number of units, got shape {np.shape(self.n)}")
        n = _field(self.n, "n", integer=True)
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        object.__setattr__(self, "n", n)
        if np.ndim(self.sum_outcome) != 0:
            raise ValueError(
                f"sum_outcome must be one number, got shape {np.shape(self.sum_outcome)}"
            )
        object.__setattr__(self, "sum_outcome", _field(self.sum_outcome, "sum_outcome"))
        covariates = np.asarray(_field(self.sum_covariates, "sum_covariates"), dtype=float)
        covariates = np.atleast_1d(covariates)
        k = covariates.size
        if isinstance(self.sum_cross_products, bool | np.bool_ | str | bytes):
            raise ValueError(
                f"sum_cross_products must be a ({k + 1}, {k + 1}) array of numbers, got "
                f"{self.sum_cross_products!r}"
            )
        cross = as_float_array(self.sum_cross_products, "sum_cross_products", ndim=2)
        if cross.shape != (k + 1, k + 1):
            raise ValueError(
                f"sum_cross_products must have shape ({k + 1}, {k + 1}) for {k} "
                f"covariate(s) in sum_covariates, got {cross.shape}"
            )
        scale = np.sqrt(np.abs(np.diag(cross)))
        if np.any(np.abs(cross - cross.T) > _RELATIVE_TOLERANCE * np.outer(scale, scale)):
            raise ValueError("sum_cross_products must be symmetric (sums of z_i z_j)")
        cross = (cross + cross.T) / 2
        sums = np.concatenate(([self.sum_outcome], covariates))
        _deviations(n, sums, np.diag(cross), "sum_cross_products (its diagonal)")
        centred = cross - np.outer(sums, sums) / n
        # PSD up to round-off, on the scale of each variable's raw sum of squares.
        unit = np.where(scale > 0, scale, 1.0)
        smallest = float(np.linalg.eigvalsh(centred / np.outer(unit, unit)).min())
        if smallest < -(k + 1) * 1e3 * _RELATIVE_TOLERANCE:
            raise ValueError(
                "sum_cross_products is inconsistent with the sums: the centred sums are not "
                f"positive semi-definite (smallest scaled eigenvalue {smallest:.3g}), so no "
                "data give these aggregates"
            )
        object.__setattr__(self, "sum_covariates", _readonly(covariates))
        object.__setattr__(self, "sum_cross_products", _readonly(cross))

    def __add__(self, other: Any) -> Any:
        if type(other) is not type(self):
            return NotImplemented
        if other.k != self.k:
            raise ValueError(
                f"other must hold the same {self.k} covariate(s) to pool, got {other.k}"
            )
        return super().__add__(other)

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_values(cls, outcome: Any, covariates: Any) -> CovariateMoments:
        """Moments of per-unit outcomes (1-D) and covariates (1-D for one, ``(n, k)``)."""
        y = as_float_array(outcome, "outcome")
        x = as_float_array(covariates, "covariates", ndim=min(max(np.ndim(covariates), 1), 2))
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] < 1:
            raise ValueError(f"covariates must be 1-D or (n, k), got shape {x.shape}")
        if x.shape[0] != y.size:
            raise ValueError(f"outcome and covariates lengths differ: {y.size} and {x.shape[0]}")
        z = np.column_stack([y, x])
        return cls(y.size, float(y.sum()), x.sum(axis=0), z.T @ z)

    @classmethod
    def from_frame(
        cls, data: pd.DataFrame, outcome: str, covariates: str | Sequence[str]
    ) -> CovariateMoments:
        """Moments of ``data[outcome]`` and the ``covariates`` columns (one row per unit)."""
        names = [covariates] if isinstance(covariates, str) else list(covariates)
        if not names:
            raise ValueError("covariates must name at least one column")
        columns = [column_as_float_array(data, name, "covariates") for name in names]
        return cls.from_values(
            column_as_float_array(data, outcome, "outcome"), np.column_stack(columns)
        )

    # --------------------------------------------------------------- views
    @property
    def k(self) -> int:
        """The number of covariates."""
        return int(self.sum_covariates.size)

    @property
    def mean_outcome(self) -> float:
        """The outcome's mean."""
        return self.sum_outcome / self.n

    @property
    def mean_covariates(self) -> np.ndarray:
        """The covariates' means (``k`` numbers)."""
        return self.sum_covariates / self.n

    @property
    def centred_cross_products(self) -> np.ndarray:
        """Sums of centred cross products of ``(y, x_1, ..., x_k)``, ``(k + 1, k + 1)``."""
        sums = np.concatenate(([self.sum_outcome], self.sum_covariates))
        return self.sum_cross_products - np.outer(sums, sums) / self.n

    @property
    def covariance(self) -> np.ndarray:
        """Sample covariance matrix of ``(y, x_1, ..., x_k)`` (``ddof=1``; 0 for one unit)."""
        if self.n < 2:
            return np.zeros_like(self.sum_cross_products)
        return self.centred_cross_products / (self.n - 1)

    @property
    def outcome(self) -> ArmStatistics:
        """The outcome's :class:`ArmStatistics`."""
        return ArmStatistics(self.n, self.sum_outcome, float(self.sum_cross_products[0, 0]))

    def select(self, covariates: Sequence[int]) -> CovariateMoments:
        """The moments of the outcome with a subset of the covariates (0-based indices into
        ``sum_covariates``, in the order given)."""
        indices = np.asarray(covariates)
        if (
            indices.ndim != 1
            or indices.size < 1
            or indices.dtype.kind not in "iu"
            or np.any((indices < 0) | (indices >= self.k))
            or np.unique(indices).size != indices.size
        ):
            raise ValueError(
                f"covariates must be distinct indices in 0..{self.k - 1}, got {covariates!r}"
            )
        keep = np.concatenate(([0], indices + 1))
        return CovariateMoments(
            self.n,
            self.sum_outcome,
            self.sum_covariates[indices],
            self.sum_cross_products[np.ix_(keep, keep)],
        )

    def to_covariate_statistics(self, covariate: int = 0) -> CovariateStatistics:
        """The single-covariate :class:`CovariateStatistics` of covariate ``covariate``."""
        if isinstance(covariate, bool) or not isinstance(covariate, int | np.integer):
            raise ValueError(f"covariate must be an index in 0..{self.k - 1}, got {covariate!r}")
        if not 0 <= covariate < self.k:
            raise ValueError(f"covariate must be an index in 0..{self.k - 1}, got {covariate}")
        j = int(covariate) + 1
        return CovariateStatistics(
            self.n,
            self.sum_outcome,
            float(self.sum_covariates[j - 1]),
            float(self.sum_cross_products[0, 0]),
            float(self.sum_cross_products[j, j]),
            float(self.sum_cross_products[0, j]),
        )


def arm_statistics(
    data: pd.DataFrame,
    outcome: str,
    treatment: str = "treatment",
    *,
    by: str | None = None,
    arms: Sequence[Any] = (0, 1),
) -> tuple[ArmStatistics, ArmStatistics]:
    """``(control, treatment)`` statistics of ``data[outcome]``, one row per unit.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    outcome, treatment : str
        The metric's column and the 0/1 arm column (or labels given by ``arms``).
    by : str, optional
        A period/group column: the statistics become arrays, one entry per sorted value
        of ``by`` (every arm must appear in every group).
    arms : (control label, treatment label)
        The arm column's labels, control first.

    Raises
    ------
    ValueError
        Missing columns, non-finite outcomes, labels other than ``arms``, an arm that
        never appears (in some group, with ``by``).
    """
    if isinstance(data, pd.DataFrame) and data.empty:
        raise ValueError("data has no rows")
    y = column_as_float_array(data, outcome, "outcome")
    if treatment not in data.columns:
        raise ValueError(f"treatment: data is missing column {treatment!r}")
    control_label, treatment_label = arms
    labels = data[treatment].to_numpy()
    is_treated = np.where(
        labels == treatment_label, 1.0, np.where(labels == control_label, 0.0, 2.0)
    )
    if (is_treated == 2.0).any():
        others = pd.unique(labels[is_treated == 2.0])[:5]
        raise ValueError(
            f"treatment: column {treatment!r} holds labels other than arms={tuple(arms)!r} "
            f"(control, treatment), e.g. {list(others)!r}; pass arms=(control label, "
            "treatment label)"
        )
    indicator = check_binary(is_treated, "treatment")
    if by is None:
        return (
            ArmStatistics.from_values(y[indicator == 0]),
            ArmStatistics.from_values(y[indicator == 1]),
        )
    if by not in data.columns:
        raise ValueError(f"by: data is missing column {by!r}")
    frame = pd.DataFrame({"group": data[by].to_numpy(), "arm": indicator, "y": y})
    if frame["group"].isna().any():
        raise ValueError(f"by: column {by!r} has missing values")
    frame["y2"] = frame["y"] ** 2
    sums = frame.groupby(["group", "arm"], sort=True)["y"].agg(["size", "sum"])
    sums["sum_squares"] = frame.groupby(["group", "arm"], sort=True)["y2"].sum()
    table = sums.unstack("arm")
    if table.isna().to_numpy().any():
        raise ValueError(f"treatment: an arm is missing from some value of {by!r}")
    return tuple(  # type: ignore[return-value]
        ArmStatistics(
            table[("size", arm)].to_numpy(np.int64),
            table[("sum", arm)].to_numpy(float),
            table[("sum_squares", arm)].to_numpy(float),
        )
        for arm in (0, 1)
    )
