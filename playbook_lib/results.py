"""The one result type every estimator in :mod:`playbook_lib` returns.

Chapters, tests and :mod:`playbook_lib.decisions` all speak :class:`Estimate`: an effect in
the metric's units with its standard error, a two-sided ``1 - alpha`` interval, and
optionally a p-value and degrees of freedom. Method-specific numbers (arm sizes, CUPED's
``theta``, a posterior probability, ...) go into ``details``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from numbers import Real
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import interval_and_p_value

__all__ = ["Estimate", "Estimates"]


def _format_number(value: float | None) -> str:
    if value is None:
        return "None"
    if value == 0 or (1e-3 <= abs(value) < 1e6):
        return f"{value:.4g}"
    return f"{value:.3e}"


def _as_float(value: Any, name: str) -> float:
    if isinstance(value, str | bytes | bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Estimate:
    """An estimated effect with its uncertainty.

    Parameters
    ----------
    method : str
        Short name of the estimator, e.g. ``"welch"``, ``"cuped"``, ``"did"``.
    estimate : float
        The point estimate, in the metric's units (an absolute difference unless the
        method says otherwise, e.g. ``"relative lift"``).
    se : float
        Standard error of ``estimate`` (posterior standard deviation for Bayesian
        summaries). ``nan`` when a method has none (e.g. a pure permutation interval).
    ci_low, ci_high : float
        The two-sided ``1 - alpha`` confidence (or credible) interval.
    alpha : float
        One minus the interval's coverage, in (0, 1).
    p_value : float or None
        Two-sided p-value of the null of no effect, where the method has one.
    df : float or None
        Degrees of freedom of the reference t distribution; ``None`` for normal or
        non-parametric reference distributions.
    details : Mapping[str, Any]
        Method-specific numbers (arm sizes, ``theta``, ``rho``, ...). Stored read-only.

    Raises
    ------
    ValueError
        If ``estimate`` is not finite, ``se`` is negative or infinite, an interval end
        is NaN or ``ci_low > ci_high``, ``alpha`` is outside (0, 1), ``p_value`` is
        outside [0, 1] (NaN included: a method without a p-value passes ``None``), or
        ``df`` is not positive. Interval ends may be infinite (one-sided intervals);
        ``se`` may be NaN only for methods that have no standard error.

    Examples
    --------
    >>> Estimate("welch", 0.5, 0.2, 0.1, 0.9, alpha=0.05, p_value=0.02, df=98.0)
    Estimate(welch: 0.5 [0.1, 0.9] 95% CI, se=0.2, p=0.02, df=98)
    """

    method: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    alpha: float = 0.05
    p_value: float | None = None
    df: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not self.method:
            raise ValueError("method must be a non-empty string")
        for name in ("estimate", "se", "ci_low", "ci_high", "alpha"):
            object.__setattr__(self, name, _as_float(getattr(self, name), name))
        if not math.isfinite(self.estimate):
            raise ValueError(f"estimate must be finite, got {self.estimate}")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must lie in (0, 1), got {self.alpha}")
        if self.se < 0 or math.isinf(self.se):
            raise ValueError(f"se must be non-negative and finite, got {self.se}")
        if math.isnan(self.ci_low) or math.isnan(self.ci_high):
            raise ValueError(f"the interval must not be NaN, got [{self.ci_low}, {self.ci_high}]")
        if self.ci_low > self.ci_high:
            raise ValueError(f"ci_low ({self.ci_low}) must not exceed ci_high ({self.ci_high})")
        if self.p_value is not None:
            p_value = _as_float(self.p_value, "p_value")
            if not 0.0 <= p_value <= 1.0:
                raise ValueError(f"p_value must lie in [0, 1], got {p_value}")
            object.__setattr__(self, "p_value", p_value)
        if self.df is not None:
            df = _as_float(self.df, "df")
            if not df > 0:
                raise ValueError(f"df must be positive, got {df}")
            object.__setattr__(self, "df", df)
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    @classmethod
    def from_standard_error(
        cls,
        method: str,
        estimate: float,
        se: float,
        *,
        alpha: float = 0.05,
        df: float | None = None,
        alternative: str = "two-sided",
        null_value: float = 0.0,
        details: Mapping[str, Any] | None = None,
    ) -> Estimate:
        """An estimate with a normal (``df=None``) or Student-t interval and p-value.

        The interval is ``estimate -/+ q * se`` with ``q`` the ``1 - alpha/2`` quantile
        (two-sided) or the ``1 - alpha`` quantile on one side with the other end infinite
        (``alternative="larger"``: the effect exceeds ``null_value``; ``"smaller"``: it is
        below). The p-value tests ``estimate == null_value`` against ``alternative``.

        A zero standard error (e.g. an outcome that is constant in both arms) is the limit
        of the test as ``se -> 0``: the interval is the point ``[estimate, estimate]`` and
        the p-value is 1 when ``estimate`` equals ``null_value`` and 0 otherwise (one-sided:
        0 on the alternative's side, 1 on the other, 0.5 at ``null_value``).

        Raises
        ------
        ValueError
            If ``estimate`` or ``se`` is not finite, ``se`` is negative, ``alpha`` is
            outside (0, 1), ``df`` is not positive, or ``alternative`` is unknown.
        """
        estimate = _as_float(estimate, "estimate")
        se = _as_float(se, "se")
        null_value = _as_float(null_value, "null_value")
        if not math.isfinite(estimate):
            raise ValueError(f"estimate must be finite, got {estimate}")
        if not (math.isfinite(se) and se >= 0):
            raise ValueError(f"se must be finite and non-negative, got {se}")
        alpha = _as_float(alpha, "alpha")
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
        if df is not None:
            df = _as_float(df, "df")
            if not df > 0:
                raise ValueError(f"df must be positive, got {df}")
        if alternative not in ("two-sided", "larger", "smaller"):
            raise ValueError(
                "alternative must be one of ('two-sided', 'larger', 'smaller'), "
                f"got {alternative!r}"
            )
        low, high, p_value = (
            float(value)
            for value in interval_and_p_value(
                np.asarray(estimate), np.asarray(se), alpha, alternative, df, null_value
            )
        )
        return cls(
            method,
            estimate,
            se,
            low,
            high,
            alpha=alpha,
            p_value=p_value,
            df=df,
            details=details or {},
        )

    @classmethod
    def from_proportion(
        cls,
        hits: Any,
        *,
        nominal: float | None = None,
        method: str = "proportion",
        alpha: float = 0.05,
    ) -> Estimate:
        """The share of true entries of ``hits`` (e.g. intervals that cover a truth in a
        Monte Carlo study) with its binomial standard error and Wilson interval.

        The standard error is ``sqrt(p (1 - p) / n)`` and the ``1 - alpha`` interval is
        Wilson's score interval (Wilson, 1927), which keeps its coverage near 0 and 1.
        ``details`` hold ``n`` and, when ``nominal`` (the share expected under exact
        calibration, e.g. ``0.95`` for a coverage) is given, ``nominal``, its standard
        error ``sqrt(c (1 - c) / n)`` and ``z_vs_nominal``, the distance of the share from
        ``nominal`` in those units (NaN when ``nominal`` is 0 or 1).

        Raises
        ------
        ValueError
            If ``hits`` is empty or holds values other than 0/1 (or booleans), ``nominal``
            is outside [0, 1], or ``alpha`` is outside (0, 1).
        """
        # statsmodels loads in about a second: import it when a proportion is computed,
        # so that `import playbook_lib` stays cheap.
        from statsmodels.stats.proportion import proportion_confint

        values = np.asarray(hits)
        if values.size == 0:
            raise ValueError("hits must hold at least one value")
        if values.dtype != bool:
            numeric = np.asarray(values, dtype=float)
            if not np.isin(numeric, (0.0, 1.0)).all():
                raise ValueError("hits must hold booleans or 0/1 values")
            values = numeric == 1.0
        alpha = _as_float(alpha, "alpha")
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
        n = int(values.size)
        successes = int(values.sum())
        rate = successes / n
        low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
        details: dict[str, Any] = {"n": n}
        if nominal is not None:
            nominal = _as_float(nominal, "nominal")
            if not 0.0 <= nominal <= 1.0:
                raise ValueError(f"nominal must lie in [0, 1], got {nominal}")
            nominal_se = math.sqrt(nominal * (1 - nominal) / n)
            details.update(
                nominal=nominal,
                nominal_se=nominal_se,
                z_vs_nominal=(rate - nominal) / nominal_se if 0 < nominal < 1 else math.nan,
            )
        return cls(
            method,
            rate,
            math.sqrt(rate * (1 - rate) / n),
            float(low),
            float(high),
            alpha=alpha,
            details=details,
        )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # ``details`` is a read-only mapping proxy, which pickle and copy cannot handle:
        # rebuild from a plain dict (so Estimates pickle, deep-copy and cross processes).
        return (
            type(self),
            (
                self.method,
                self.estimate,
                self.se,
                self.ci_low,
                self.ci_high,
                self.alpha,
                self.p_value,
                self.df,
                dict(self.details),
            ),
        )

    # ------------------------------------------------------------------ views
    @property
    def confidence(self) -> float:
        """The interval's nominal coverage, ``1 - alpha``."""
        return 1.0 - self.alpha

    @property
    def ci(self) -> tuple[float, float]:
        """The interval as a ``(low, high)`` tuple."""
        return (self.ci_low, self.ci_high)

    @property
    def ci_width(self) -> float:
        """Width of the interval, ``ci_high - ci_low``."""
        return self.ci_high - self.ci_low

    def covers(self, value: float) -> bool:
        """Whether the closed interval contains ``value``."""
        return self.ci_low <= value <= self.ci_high

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies entirely on one side of zero."""
        return self.ci_low > 0 or self.ci_high < 0

    def scaled(self, factor: float, method: str | None = None) -> Estimate:
        """The same estimate in other units (e.g. per user → per day in total).

        Multiplies the estimate, the standard error and the interval by ``factor``;
        a negative factor swaps the interval's ends. p-value and df are unchanged.
        """
        factor = float(factor)
        if not math.isfinite(factor) or factor == 0:
            raise ValueError(f"factor must be finite and non-zero, got {factor}")
        low, high = sorted((self.ci_low * factor, self.ci_high * factor))
        return replace(
            self,
            method=method or self.method,
            estimate=self.estimate * factor,
            se=self.se * abs(factor),
            ci_low=low,
            ci_high=high,
            details=dict(self.details),
        )

    def to_dict(self) -> dict[str, Any]:
        """A flat dict: the fields, then the ``details`` entries.

        A ``details`` key that clashes with a field name is kept as ``"details.<key>"``.
        """
        row: dict[str, Any] = {
            "method": self.method,
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "alpha": self.alpha,
            "p_value": self.p_value,
            "df": self.df,
        }
        for key, value in self.details.items():
            row[f"details.{key}" if key in row else key] = value
        return row

    def to_frame(self) -> pd.DataFrame:
        """A one-row :class:`pandas.DataFrame`; ``pd.concat`` several to compare methods.

        ``p_value`` and ``df`` are float columns, NaN where the method has none, so frames
        from methods with and without them concatenate into float columns.
        """
        row = self.to_dict()
        for name in ("p_value", "df"):
            row[name] = math.nan if row[name] is None else row[name]
        return pd.DataFrame([row]).set_index("method")

    def __repr__(self) -> str:
        parts = [
            f"Estimate({self.method}: {_format_number(self.estimate)} "
            f"[{_format_number(self.ci_low)}, {_format_number(self.ci_high)}] "
            f"{self.confidence:.0%} CI",
            f"se={_format_number(self.se)}",
        ]
        if self.p_value is not None:
            parts.append(f"p={_format_number(self.p_value)}")
        if self.df is not None:
            parts.append(f"df={_format_number(self.df)}")
        return ", ".join(parts) + ")"

    __str__ = __repr__


_ESTIMATES_COLUMNS = ("method", "estimate", "se", "ci_low", "ci_high", "alpha", "p_value", "df")


class Estimates:
    """Many estimates as one table: one row per estimate, the columns of :class:`Estimate`.

    Built from a list of :class:`Estimate` (:meth:`from_list`) or, for simulations, from
    arrays (:meth:`from_arrays`, :meth:`from_standard_errors`: no Python loop over
    replications). Calibration helpers answer the questions a Monte Carlo study asks:
    :meth:`coverage` of a known truth, :meth:`rejection_rate` of a null (size under the
    null, power under an alternative), :meth:`bias` and :meth:`rmse`, each with its
    Monte Carlo standard error.

    Rows are labelled by ``labels`` (default ``0..n-1``); ``table[label]`` gives back one
    :class:`Estimate` (an integer is a label when the labels are integers, a position
    otherwise) and :meth:`at_position` the row at a position; ``to_frame()`` the table; in a
    notebook it renders as an HTML table.

    Raises
    ------
    ValueError
        If the arrays have different lengths, hold a non-finite estimate, a negative or
        infinite se, NaN interval ends, ``ci_low > ci_high``, p-values outside [0, 1], or
        alpha outside (0, 1).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [column for column in _ESTIMATES_COLUMNS if column not in frame.columns]
        if missing:
            raise ValueError(f"frame is missing column(s) {missing}")
        numeric = frame[list(_ESTIMATES_COLUMNS[1:])].astype(float)
        estimate, se = numeric["estimate"].to_numpy(), numeric["se"].to_numpy()
        low, high = numeric["ci_low"].to_numpy(), numeric["ci_high"].to_numpy()
        alpha, p_value = numeric["alpha"].to_numpy(), numeric["p_value"].to_numpy()
        if not np.isfinite(estimate).all():
            raise ValueError("estimate must be finite in every row")
        if (se < 0).any() or np.isinf(se).any():
            raise ValueError("se must be non-negative and finite (NaN: no standard error)")
        if np.isnan(low).any() or np.isnan(high).any() or (low > high).any():
            raise ValueError("every interval needs ci_low <= ci_high (no NaN)")
        if not ((alpha > 0) & (alpha < 1)).all():
            raise ValueError("alpha must lie in (0, 1) in every row")
        if ((p_value < 0) | (p_value > 1)).any():
            raise ValueError("p_value must lie in [0, 1] (NaN: no p-value)")
        extra = [column for column in frame.columns if column not in _ESTIMATES_COLUMNS]
        self._frame = pd.concat([frame[["method"]].astype(str), numeric, frame[extra]], axis=1)

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_list(
        cls, estimates: Sequence[Estimate], labels: Sequence[Any] | None = None
    ) -> Estimates:
        """One row per :class:`Estimate`; ``details`` entries become extra columns."""
        estimates = list(estimates)
        if not estimates or not all(isinstance(item, Estimate) for item in estimates):
            raise ValueError("estimates must be a non-empty sequence of Estimate")
        rows = []
        for item in estimates:  # one dict per row: a frame per row would cost ~5 ms each
            row = item.to_dict()
            for name in ("p_value", "df"):
                row[name] = math.nan if row[name] is None else row[name]
            rows.append(row)
        return cls(_labelled(pd.DataFrame(rows), labels))

    @classmethod
    def from_arrays(
        cls,
        method: str,
        estimate: Any,
        se: Any,
        ci_low: Any,
        ci_high: Any,
        *,
        alpha: float = 0.05,
        p_value: Any = None,
        df: Any = None,
        labels: Sequence[Any] | None = None,
    ) -> Estimates:
        """One row per entry of equal-length arrays (e.g. one per simulated experiment)."""
        columns = {"estimate": estimate, "se": se, "ci_low": ci_low, "ci_high": ci_high}
        arrays = {
            name: np.atleast_1d(np.asarray(value, dtype=float)) for name, value in columns.items()
        }
        n = arrays["estimate"].size
        for name, optional in (("p_value", p_value), ("df", df)):
            arrays[name] = (
                np.full(n, np.nan)
                if optional is None
                else np.broadcast_to(np.asarray(optional, dtype=float), (n,))
            )
        lengths = {name: values.size for name, values in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"length mismatch: {lengths}")
        frame = pd.DataFrame({"method": method, **arrays, "alpha": float(alpha)})
        return cls(_labelled(frame[list(_ESTIMATES_COLUMNS)], labels))

    @classmethod
    def from_standard_errors(
        cls,
        method: str,
        estimate: Any,
        se: Any,
        *,
        alpha: float = 0.05,
        df: Any = None,
        null_value: float = 0.0,
        labels: Sequence[Any] | None = None,
    ) -> Estimates:
        """Two-sided normal (``df=None``) or t intervals and p-values, vectorised: the
        array version of :meth:`Estimate.from_standard_error` (same se -> 0 limit)."""
        estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
        se = np.broadcast_to(np.asarray(se, dtype=float), estimate.shape)
        if not np.isfinite(se).all() or (se < 0).any():
            raise ValueError("se must be finite and non-negative")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
        low, high, p_value = interval_and_p_value(
            estimate,
            se,
            alpha,
            "two-sided",
            None if df is None else np.asarray(df, dtype=float),
            null_value,
        )
        return cls.from_arrays(
            method,
            estimate,
            se,
            low,
            high,
            alpha=alpha,
            p_value=p_value,
            df=df,
            labels=labels,
        )

    # ---------------------------------------------------------------- views
    def to_frame(self) -> pd.DataFrame:
        """The table (a copy): the :class:`Estimate` columns, then any extra ones."""
        return self._frame.copy()

    def __len__(self) -> int:
        return len(self._frame)

    def __eq__(self, other: object) -> bool:
        """Equal tables: the same rows, labels and columns, with the same values."""
        if not isinstance(other, Estimates):
            return NotImplemented
        return self._frame.equals(other._frame)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking table: not hashable

    def __getitem__(self, key: Any) -> Estimate:
        """One row as an :class:`Estimate`, by label.

        An integer key is a label when the labels are integers (the default ``0..n-1`` labels
        are the positions), and a position only when the labels are not integers, so
        ``table[3]`` on a table labelled ``[1, 3, 5]`` is the row labelled 3, never the fourth.
        Use :meth:`at_position` for a position whatever the labels are.

        Raises
        ------
        KeyError
            If no row has the label (or the position is out of range).
        ValueError
            If several rows share the label.
        """
        positional = isinstance(key, int | np.integer) and not pd.api.types.is_integer_dtype(
            self._frame.index
        )
        if positional:
            return self.at_position(int(key))
        row = self._frame.loc[key]
        if isinstance(row, pd.DataFrame):
            raise ValueError(f"label {key!r} is not unique")
        return self._estimate(row)

    def at_position(self, position: int) -> Estimate:
        """The row at ``position`` (0-based; negative counts from the end) as an
        :class:`Estimate`, whatever the labels are.

        Raises
        ------
        KeyError
            If ``position`` is out of range.
        """
        if not -len(self) <= position < len(self):
            raise KeyError(f"position {position} is out of range for {len(self)} rows")
        return self._estimate(self._frame.iloc[position])

    @staticmethod
    def _estimate(row: pd.Series) -> Estimate:
        values = row.to_dict()
        details = {k: v for k, v in values.items() if k not in _ESTIMATES_COLUMNS}
        return Estimate(
            values["method"],
            values["estimate"],
            values["se"],
            values["ci_low"],
            values["ci_high"],
            alpha=values["alpha"],
            p_value=None if math.isnan(values["p_value"]) else values["p_value"],
            df=None if math.isnan(values["df"]) else values["df"],
            details=details,
        )

    def __iter__(self) -> Iterator[Estimate]:
        return (self.at_position(position) for position in range(len(self)))

    def __repr__(self) -> str:
        return f"Estimates({len(self)} rows)\n{self._frame.to_string(max_rows=10)}"

    def _repr_html_(self) -> str:
        return self._frame._repr_html_()  # type: ignore[operator]

    # ---------------------------------------------------------------- calibration
    def coverage(self, truth: Any) -> Estimate:
        """Share of intervals that contain ``truth`` (a number, or one per row).

        Returns an :class:`Estimate` of the share with its Monte Carlo standard error
        ``sqrt(p (1 - p) / n)`` and 95% Wilson interval; ``details`` hold ``n``, the nominal
        coverage ``1 - alpha`` (rows must share one alpha), its standard error under
        exact calibration, ``sqrt(c (1 - c) / n)``, and ``z_vs_nominal``, the distance
        from nominal in those units (``|z| > 3`` is a miscalibration worth a look).
        """
        truth = _broadcast_truth(truth, len(self))
        low, high = self._frame["ci_low"].to_numpy(), self._frame["ci_high"].to_numpy()
        alpha = self._common_alpha()
        return Estimate.from_proportion(
            (low <= truth) & (truth <= high), nominal=1 - alpha, method="coverage"
        )

    def rejection_rate(self, *, null_value: float = 0.0, alpha: float | None = None) -> Estimate:
        """Share of rows whose test rejects ``estimate == null_value`` at ``alpha``.

        With ``alpha=None`` a row rejects when its interval excludes ``null_value`` (the
        interval's own level); with ``alpha`` given, when its p-value is at most ``alpha``
        (the usual rule; it matters for discrete p-values such as a permutation test's
        ``k / (J + 1)``; rows without a p-value are refused). Under the null this is the
        test's size (nominal ``alpha``), under an alternative its power. Returns an
        :class:`Estimate` as :meth:`coverage` does, with ``alpha`` as the nominal rate.
        """
        if alpha is None:
            level = self._common_alpha()
            low, high = self._frame["ci_low"].to_numpy(), self._frame["ci_high"].to_numpy()
            rejected = (null_value < low) | (null_value > high)
        else:
            if not 0 < alpha < 1:
                raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
            p_value = self._frame["p_value"].to_numpy()
            if np.isnan(p_value).any():
                raise ValueError("alpha: some rows have no p-value; use alpha=None")
            level, rejected = alpha, p_value <= alpha
        return Estimate.from_proportion(rejected, nominal=level, method="rejection rate")

    def bias(self, truth: Any) -> Estimate:
        """Mean of ``estimate - truth`` with its Monte Carlo standard error (normal CI)."""
        errors = self._frame["estimate"].to_numpy() - _broadcast_truth(truth, len(self))
        if errors.size < 2:
            raise ValueError("bias needs at least two rows")
        se = float(errors.std(ddof=1) / math.sqrt(errors.size))
        return Estimate.from_standard_error(
            "bias", float(errors.mean()), se, details={"n": int(errors.size)}
        )

    def rmse(self, truth: Any) -> float:
        """Root mean squared error of the estimates around ``truth``."""
        errors = self._frame["estimate"].to_numpy() - _broadcast_truth(truth, len(self))
        return float(math.sqrt(np.mean(errors**2)))

    def _common_alpha(self) -> float:
        alphas = self._frame["alpha"].unique()
        if alphas.size != 1:
            raise ValueError(f"rows have different alpha values {sorted(alphas)}")
        return float(alphas[0])


def _labelled(frame: pd.DataFrame, labels: Sequence[Any] | None) -> pd.DataFrame:
    if labels is None:
        return frame.reset_index(drop=True)
    labels = list(labels)
    if len(labels) != len(frame):
        raise ValueError(f"labels has {len(labels)} entries for {len(frame)} rows")
    return frame.set_axis(pd.Index(labels), axis=0)


def _broadcast_truth(truth: Any, n: int) -> np.ndarray:
    values = np.asarray(truth, dtype=float)
    if values.ndim == 0:
        values = np.full(n, float(values))
    if values.shape != (n,) or not np.isfinite(values).all():
        raise ValueError(f"truth must be a finite number or {n} finite numbers")
    return values
