"""The one result type every estimator in :mod:`playbook_lib` returns.

Chapters, tests and :mod:`playbook_lib.decisions` all speak :class:`Estimate`: an effect in
the metric's units with its standard error, a two-sided ``1 - alpha`` interval, and
optionally a p-value and degrees of freedom. Method-specific numbers (arm sizes, CUPED's
``theta``, a posterior probability, ...) go into ``details``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from numbers import Real
from typing import Any

import pandas as pd
from scipy import stats

__all__ = ["Estimate"]


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
            raise ValueError(
                f"the interval must not be NaN, got [{self.ci_low}, {self.ci_high}]"
            )
        if self.ci_low > self.ci_high:
            raise ValueError(
                f"ci_low ({self.ci_low}) must not exceed ci_high ({self.ci_high})"
            )
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
        reference = stats.norm if df is None else stats.t(df)
        level = 1 - alpha / 2 if alternative == "two-sided" else 1 - alpha
        half_width = float(reference.ppf(level)) * se
        low, high = estimate - half_width, estimate + half_width
        if alternative == "larger":
            high = math.inf
        elif alternative == "smaller":
            low = -math.inf
        distance = estimate - null_value
        if se > 0:
            z = distance / se
            if alternative == "two-sided":
                p_value = float(2 * reference.sf(abs(z)))
            elif alternative == "larger":
                p_value = float(reference.sf(z))
            else:
                p_value = float(reference.cdf(z))
        elif alternative == "two-sided":
            p_value = 1.0 if distance == 0 else 0.0
        else:
            side = distance if alternative == "larger" else -distance
            p_value = 0.0 if side > 0 else (1.0 if side < 0 else 0.5)
        return cls(
            method, estimate, se, low, high, alpha=alpha,
            p_value=min(p_value, 1.0), df=df, details=details or {},
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
