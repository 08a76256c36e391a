"""The value of shipping: net value over a horizon with its uncertainty, and a ramp plan.

:func:`expected_net_value` turns an effect into money over a horizon, with the probability
of a loss from the whole distribution of the effect (a :class:`NetValue`); :func:`plan_ramp`
lays out a staged launch with a monitoring gate at each stage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib.decisions._checks import as_scalar_or_vector, usable_se
from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_positive,
    check_probability,
)

__all__ = ["NetValue", "expected_net_value", "plan_ramp"]


@dataclass(frozen=True)
class NetValue:
    """Net value of shipping over a horizon, as a distribution (see :func:`expected_net_value`)."""

    mean: float
    sd: float
    probability_of_loss: float
    low: float
    high: float
    alpha: float
    details: Mapping[str, float] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """A one-row table."""
        return pd.DataFrame(
            [
                {
                    "expected_net_value": self.mean,
                    "sd": self.sd,
                    "probability_of_loss": self.probability_of_loss,
                    "low": self.low,
                    "high": self.high,
                }
            ]
        )


def expected_net_value(
    effect: Estimate,
    *,
    units_per_day: float,
    horizon_days: float,
    value_per_unit: float,
    fixed_cost: float = 0.0,
    alpha: float = 0.1,
) -> NetValue:
    """Net value over a horizon with the lift's uncertainty, not just its point estimate.

    ``value = effect * units_per_day * horizon_days * value_per_unit - fixed_cost``, with
    the effect distributed as ``N(estimate, se^2)`` (a flat-prior posterior; pass a
    :func:`normal_posterior` to use a prior). The result is normal, so the probability of
    a loss is ``Phi(-mean / sd)``.

    Parameters
    ----------
    effect : Estimate
        Effect per unit (e.g. per user-day) in the metric's units.
    units_per_day, horizon_days, value_per_unit : float
        Traffic, horizon and the money value of one unit of the metric (all > 0).
    fixed_cost : float
        Cost of shipping and maintaining the change over the horizon (>= 0).
    alpha : float
        The reported interval is the central ``1 - alpha`` range.

    Returns
    -------
    NetValue

    Raises
    ------
    ValueError
        If ``effect`` is not an :class:`~playbook_lib.Estimate` with a finite positive
        ``se``, a scale factor is not a positive finite number (or their product overflows),
        ``fixed_cost`` is negative or not finite, or ``alpha`` is not in (0, 1).
    """
    se = usable_se(effect, "effect")
    scale = (
        check_positive(units_per_day, "units_per_day")
        * check_positive(horizon_days, "horizon_days")
        * check_positive(value_per_unit, "value_per_unit")
    )
    fixed_cost = check_positive(fixed_cost, "fixed_cost", strict=False)
    alpha = check_alpha(alpha)
    mean = effect.estimate * scale - fixed_cost
    sd = se * scale
    if not (math.isfinite(mean) and math.isfinite(sd) and sd > 0):
        raise ValueError(
            "units_per_day * horizon_days * value_per_unit: the net value "
            f"overflows or vanishes (scale {scale:g}, effect se {se:g})"
        )
    critical = stats.norm.ppf(1 - alpha / 2)
    return NetValue(
        mean,
        sd,
        float(stats.norm.cdf(-mean / sd)),
        mean - critical * sd,
        mean + critical * sd,
        alpha,
        details={
            "scale": scale,
            "fixed_cost": fixed_cost,
            "point_estimate_value": effect.estimate * scale - fixed_cost,
        },
    )


def plan_ramp(
    *,
    daily_units: float,
    metric_sd: float,
    margin: float,
    stages: Sequence[float] = (0.10, 0.25, 0.50, 1.00),
    days_per_stage: float | Sequence[float] = 3,
    alpha: float = 0.05,
    power: float = 0.8,
) -> pd.DataFrame:
    """A ramp plan (e.g. 10% → 25% → 50% → 100%) with a monitoring gate at each stage.

    At a stage with treatment share ``f < 1`` the rest of the traffic is the concurrent
    control; the gate is a one-sided test of harm on the guardrail at level ``alpha``.
    The table gives, per stage, the units in each arm, the standard error of the difference
    ``metric_sd * sqrt(1/n_t + 1/n_c)``, and the degradation the gate detects with
    probability ``power``: ``(z_{1-alpha} + z_{power}) * se``. A gate whose detectable
    degradation exceeds ``margin`` cannot protect the margin; lengthen that stage. The
    final 100% stage has no concurrent control: it is guarded by the EWMA and sample-ratio
    monitors (:func:`monitor_ewma`, :func:`monitor_sample_ratio`).

    Parameters
    ----------
    daily_units : float
        Units entering the experiment per day (> 0).
    metric_sd : float
        Standard deviation of the guardrail metric per unit (> 0).
    margin : float
        The guardrail's non-inferiority margin (> 0).
    stages : sequence of float
        Increasing treatment shares in (0, 1].
    days_per_stage : float or sequence of float
        Days at each stage (> 0): one number for all stages, or one per stage.
    alpha, power : float
        The gate's one-sided level and the power at the detectable degradation.

    Returns
    -------
    pandas.DataFrame
        ``stage``, ``treatment_share``, ``days``, ``treated_units``, ``control_units``,
        ``se_of_difference``, ``detectable_degradation``, ``protects_margin``,
        ``units_exposed_cumulative`` and ``gate``. A stage at share 1 has no concurrent
        control, so its ``se_of_difference`` and ``detectable_degradation`` are NaN ("not
        applicable") and ``protects_margin`` is False.

    Raises
    ------
    ValueError
        If a scalar is not a positive finite number, ``alpha`` or ``power`` is not in
        (0, 1), ``stages`` is not an increasing 1-D array of shares in (0, 1], or
        ``days_per_stage`` is not positive, finite and either a number or one per stage.
    """
    daily_units = check_positive(daily_units, "daily_units")
    metric_sd = check_positive(metric_sd, "metric_sd")
    margin = check_positive(margin, "margin")
    alpha = check_alpha(alpha)
    power = check_probability(power, "power", allow_zero=False, allow_one=False)
    shares = as_float_array(stages, "stages")
    if np.any(shares <= 0) or np.any(shares > 1) or np.any(np.diff(shares) <= 0):
        raise ValueError("stages must be increasing shares in (0, 1]")
    days = as_scalar_or_vector(days_per_stage, "days_per_stage")
    if days.size not in (1, shares.size):
        raise ValueError(
            f"days_per_stage must be one number or one per stage ({shares.size}), got {days.size}"
        )
    days = np.broadcast_to(days, shares.shape).astype(float)
    if np.any(days <= 0):
        raise ValueError("days_per_stage must be positive")
    treated = shares * daily_units * days
    control = (1 - shares) * daily_units * days
    with np.errstate(divide="ignore"):
        se = np.where(
            control > 0,
            metric_sd * np.sqrt(1 / treated + 1 / np.where(control > 0, control, 1.0)),
            np.nan,
        )
    multiplier = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    detectable = multiplier * se
    gates = [
        f"stop if one-sided harm test p < {alpha:g}; go on after {d:g} days"
        if c > 0
        else "no concurrent control: EWMA and SRM monitors"
        for d, c in zip(days, control, strict=True)
    ]
    return pd.DataFrame(
        {
            "stage": np.arange(1, shares.size + 1),
            "treatment_share": shares,
            "days": days,
            "treated_units": treated,
            "control_units": control,
            "se_of_difference": se,
            "detectable_degradation": detectable,
            "protects_margin": np.where(control > 0, detectable <= margin, False),
            "units_exposed_cumulative": np.cumsum(treated),
            "gate": gates,
        }
    )
