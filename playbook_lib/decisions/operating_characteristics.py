"""Naive ship rules and the operating characteristics of rules, by vectorised simulation.

A rule is a function from data to actions, so it has error rates: the probability of
shipping as a function of the true effect (:func:`simulate_operating_characteristics`).
The naive rules (:func:`ship_if_positive`, :func:`ship_if_ci_excludes_zero`,
:func:`ship_if_risk_adjusted_lift_clears`) exist to be compared with a
:class:`~playbook_lib.decisions.DecisionRule`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib.decisions._checks import as_mapping
from playbook_lib.decisions.rule import DecisionRule
from playbook_lib.validation import (
    as_float_array,
    as_numeric_array,
    check_alpha,
    check_integer,
    check_positive,
    check_rng,
)

__all__ = [
    "ship_if_ci_excludes_zero",
    "ship_if_positive",
    "ship_if_risk_adjusted_lift_clears",
    "simulate_operating_characteristics",
]


@dataclass(frozen=True)
class _NaiveRule:
    """A ship rule ``(estimate, se) -> bool array`` with its parameters (compares by value)."""

    kind: str
    critical: float = 0.0
    minimum_effect: float = 0.0
    risk_aversion: float = 1.0

    def __call__(self, estimate: Any, se: Any) -> np.ndarray:
        estimate = as_numeric_array(estimate, "estimate", allow_empty=True)
        se = as_numeric_array(se, "se", allow_empty=True)
        if self.kind == "positive":
            return estimate > 0
        ci_low = estimate - self.critical * se
        if self.kind == "interval":
            return ci_low > 0
        adjusted = np.maximum(self.risk_aversion * ci_low, estimate / 2)
        return (adjusted >= self.minimum_effect) & (estimate > 0)


def ship_if_positive() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Naive rule: ship whenever the point estimate is positive (ignores uncertainty).

    Its probability of shipping a change with zero effect is one half at any sample size.

    Returns
    -------
    callable
        A rule ``(estimate, se) -> numpy.ndarray of bool`` (elementwise on broadcastable
        arrays: ship or not), for :func:`simulate_operating_characteristics`. Rules with
        equal parameters compare equal.

    Raises
    ------
    ValueError
        Never itself; the returned rule raises one if ``estimate`` or ``se`` is not numeric
        and finite.
    """
    return _NaiveRule("positive")


def ship_if_ci_excludes_zero(alpha: float = 0.05) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Ship when the two-sided ``1 - alpha`` normal interval lies above zero.

    Equivalent to a one-sided superiority test at ``alpha / 2`` (the recommended rule's test at
    its default one-sided 0.025 when ``alpha = 0.05``), without the minimum-effect check.

    Returns
    -------
    callable
        A ship rule ``(estimate, se) -> bool array``, as :func:`ship_if_positive`.

    Raises
    ------
    ValueError
        If ``alpha`` is not in (0, 1).
    """
    alpha = check_alpha(alpha)
    return _NaiveRule("interval", critical=float(stats.norm.ppf(1 - alpha / 2)))


def ship_if_risk_adjusted_lift_clears(
    minimum_effect: float, risk_aversion: float = 1.0, alpha: float = 0.05
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A flawed rule kept to show its error rates: the "halve the lift" risk adjustment.

    Ships when ``max(risk_aversion * ci_low, estimate / 2) >= minimum_effect`` and the
    estimate is positive, where ``ci_low`` is the two-sided normal bound. The maximum
    makes the "risk-adjusted" lift at least half the point estimate whatever the interval,
    so the rule ships changes whose interval spans zero, and ``risk_aversion`` only
    multiplies a bound that the maximum then ignores. Do not use it: it exists to draw its
    operating characteristic next to a valid rule.

    Returns
    -------
    callable
        The flawed ship rule ``(estimate, se) -> bool array`` (as :func:`ship_if_positive`).

    Raises
    ------
    ValueError
        If ``minimum_effect`` or ``risk_aversion`` is not a positive finite number, or
        ``alpha`` is not in (0, 1).
    """
    minimum_effect = check_positive(minimum_effect, "minimum_effect")
    risk_aversion = check_positive(risk_aversion, "risk_aversion")
    alpha = check_alpha(alpha)
    return _NaiveRule(
        "halved lift",
        critical=float(stats.norm.ppf(1 - alpha / 2)),
        minimum_effect=minimum_effect,
        risk_aversion=risk_aversion,
    )


def simulate_operating_characteristics(
    rules: Mapping[str, DecisionRule | Callable[[np.ndarray, np.ndarray], np.ndarray]],
    true_effects: Any,
    se: float,
    *,
    n_sims: int = 20_000,
    df: float | None = None,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Probability that each rule ships, across true effects: operating-characteristic curves.

    For each true effect the estimate is drawn ``n_sims`` times from ``N(effect, se^2)``;
    with ``df`` the standard error itself is drawn as ``se * sqrt(chi2_df / df)`` so the
    t-based rules face the same noise they assume. All rules see the same draws.

    Parameters
    ----------
    rules : mapping of name to DecisionRule or callable
        A :class:`DecisionRule` (its :meth:`~DecisionRule.primary_actions` is used; "ship"
        counts) or a function ``(estimate, se) -> bool array`` of ship decisions.
    true_effects : array-like
        True effects in the primary metric's units (positive is good for
        higher-is-better metrics).
    se : float
        The experiment's standard error of the estimate.
    n_sims : int
    df : float, optional
    rng : numpy.random.Generator, int or None

    Returns
    -------
    pandas.DataFrame
        Columns ``rule``, ``true_effect``, ``probability_ship``, ``mc_se`` (binomial Monte
        Carlo standard error) and, for DecisionRules, ``probability_roll_back`` (NaN, "not
        applicable", in the rows of callable rules when both kinds are mixed).

    Raises
    ------
    ValueError
        If ``rules`` is not a non-empty mapping of DecisionRules and callables (or a
        callable returns no boolean per draw), ``true_effects`` is not a 1-D array of
        finite numbers, ``se`` or ``df`` is not positive, ``n_sims < 10`` or ``rng`` is
        not a Generator, a seed or None.
    """
    rng = check_rng(rng)
    rules = as_mapping(rules, "rules")
    if not rules:
        raise ValueError("rules must name at least one rule")
    for name, rule in rules.items():
        if not (isinstance(rule, DecisionRule) or callable(rule)):
            raise ValueError(
                f"rules[{name!r}] must be a DecisionRule or a callable, got {type(rule).__name__}"
            )
    true_effects = as_float_array(true_effects, "true_effects")
    se = check_positive(se, "se")
    n_sims = check_integer(n_sims, "n_sims", minimum=10)
    if df is not None:
        df = check_positive(df, "df")
    noise = rng.standard_normal((true_effects.size, n_sims))
    estimates = true_effects[:, None] + se * noise
    if df is None:
        ses = np.full_like(estimates, se)
    else:
        ses = se * np.sqrt(rng.chisquare(df, size=estimates.shape) / df)
    frames = []
    for name, rule in rules.items():
        roll_back = None
        if isinstance(rule, DecisionRule):
            actions = rule.primary_actions(estimates, ses, df=df)
            ship = actions == "ship"
            roll_back = (actions == "roll back").mean(axis=1)
        else:
            ship = np.asarray(rule(estimates, ses))
            if ship.dtype.kind in "iu" and np.isin(ship, (0, 1)).all():
                ship = ship.astype(bool)
            if ship.shape != estimates.shape or ship.dtype.kind != "b":
                raise ValueError(
                    f"rules[{name!r}] must return one bool per draw (shape "
                    f"{estimates.shape}), got dtype {ship.dtype} and shape "
                    f"{ship.shape}"
                )
        probability = ship.mean(axis=1)
        frame = pd.DataFrame(
            {
                "rule": name,
                "true_effect": true_effects,
                "probability_ship": probability,
                "mc_se": np.sqrt(probability * (1 - probability) / n_sims),
            }
        )
        if roll_back is not None:
            frame["probability_roll_back"] = roll_back
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
