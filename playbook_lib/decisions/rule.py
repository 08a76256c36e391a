"""From estimates to decisions: pre-registered rules, Bayesian risk, value, monitoring.

Every function here consumes :class:`playbook_lib.Estimate` objects (or plain numbers), so a
decision can be taken on the output of any chapter: an A/B test, CUPED, a geo experiment,
synthetic control, a sequential test or a hierarchical-model posterior summary.

The pieces:

- **Rules as data.** :class:`PrimaryMetric`, :class:`Guardrail` and :class:`DecisionRule`
  hold what was pre-registered; :func:`decide` turns estimates into a :class:`Decision`
  (``ship`` / ``hold`` / ``iterate`` / ``roll back``) with its reason and numbers.
- **Tests.** One-sided superiority and non-inferiority tests
  (:func:`check_non_inferiority`), with the t distribution when an estimate has degrees of
  freedom.
- **Operating characteristics** of rules by vectorised simulation
  (:func:`simulate_operating_characteristics`), including naive rules to compare against.
- **Bayesian decision theory**: normal posteriors, expected loss with a threshold of caring,
  the probability to beat control, priors from past effects, and the expected value of
  sample information for "run one more week?".
- **Value**: expected net value over a horizon with the probability of a loss, and a ramp
  plan with gates.
- **Several objectives**: Pareto frontier (with uncertainty) and weighted utility.
- **Monitoring after launch**: an EWMA monitor with limits from the EWMA's own standard
  deviation, its average run length (simulation and Markov chain), and a sample-ratio monitor.
- **Memo**: :func:`write_decision_memo` renders a decision as markdown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_float_array,
    as_numeric_array,
    check_alpha,
    check_choice,
    check_columns,
    check_finite_number,
    check_flag,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
    column_as_float_array,
)

__all__ = [
    "ACTIONS",
    "DIRECTIONS",
    "Decision",
    "DecisionRule",
    "Guardrail",
    "NetValue",
    "PrimaryMetric",
    "bayesian_decision",
    "decide",
    "estimate_from_draws",
    "estimate_prior_from_past_effects",
    "ewma_average_run_length",
    "ewma_control_limits",
    "expected_loss",
    "expected_loss_from_draws",
    "expected_net_value",
    "expected_value_of_sample_information",
    "monitor_ewma",
    "monitor_sample_ratio",
    "normal_posterior",
    "pareto_frontier",
    "pareto_frontier_probability",
    "plan_ramp",
    "ship_if_ci_excludes_zero",
    "ship_if_positive",
    "ship_if_risk_adjusted_lift_clears",
    "simulate_ewma_run_lengths",
    "simulate_operating_characteristics",
    "summarize_effect",
    "check_non_inferiority",
    "weighted_utility",
    "write_decision_memo",
]

DIRECTIONS = ("higher_is_better", "lower_is_better")
ACTIONS = ("ship", "hold", "iterate", "roll back")
MULTIPLICITY_PLANS = ("holm", "bonferroni", "none")


# ----------------------------------------------------------------------------- helpers
def _sign(direction: str, name: str = "direction") -> float:
    check_choice(direction, name, DIRECTIONS)
    return 1.0 if direction == "higher_is_better" else -1.0


def _reference(df: float | None):
    """The reference distribution: Student-t with ``df`` or the standard normal."""
    return stats.norm if df is None else stats.t(df)


def _check_estimate(estimate: Any, name: str) -> Estimate:
    if not isinstance(estimate, Estimate):
        raise ValueError(f"{name} must be a playbook_lib.Estimate, got {type(estimate).__name__}")
    return estimate


def _usable_se(estimate: Estimate, name: str) -> float:
    """The estimate's se after checking it is an Estimate with a finite positive se."""
    se = _check_estimate(estimate, name).se
    if not (math.isfinite(se) and se > 0):
        raise ValueError(f"{name} needs a finite positive se, got {se}")
    return se




def _check_text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _check_mapping(value: Any, name: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping, got {type(value).__name__}")
    return value


def _scalar_or_vector(values: Any, name: str) -> np.ndarray:
    """A number or a 1-D array of numbers as a finite 1-D float array (strings refused)."""
    if isinstance(values, bool | np.bool_ | str | bytes):
        raise ValueError(f"{name} must be numeric, got {values!r}")
    return as_float_array(np.atleast_1d(values), name)


def _metric_table(values: Any, name: str) -> np.ndarray:
    """A variants-by-metrics DataFrame of finite numbers as a float matrix."""
    check_columns(values, [], name)
    if values.shape[0] < 1 or values.shape[1] < 1:
        raise ValueError(f"{name} must have at least one variant (row) and one metric "
                         f"(column), got shape {values.shape}")
    if not values.columns.is_unique or not values.index.is_unique:
        raise ValueError(f"{name} must have unique variant and metric labels")
    return np.column_stack([column_as_float_array(values, column, name)
                            for column in values.columns])


def _aligned_ses(means: pd.DataFrame, ses: Any) -> np.ndarray:
    """``ses`` as a non-negative float matrix aligned with ``means`` (same rows, columns)."""
    check_columns(ses, list(means.columns), "ses")
    missing = [label for label in means.index if label not in ses.index]
    if missing or ses.shape != means.shape:
        raise ValueError(f"ses must be a DataFrame with the rows and columns of means, got "
                         f"shape {ses.shape} for {means.shape}"
                         + (f" (missing rows {missing})" if missing else ""))
    ses = ses.loc[means.index, means.columns]
    matrix = np.column_stack([column_as_float_array(ses, column, "ses")
                              for column in ses.columns])
    if np.any(matrix < 0):
        raise ValueError("ses must be non-negative standard errors")
    return matrix


def _adjust_p_values(p_values: Sequence[float], method: str) -> np.ndarray:
    """Holm or Bonferroni adjusted p-values (equal to statsmodels' ``multipletests``).

    Written out because ``multipletests`` runs a full garbage collection on every call,
    which makes a decision 100 times slower.
    """
    p = np.asarray(p_values, dtype=float)
    if method == "none":
        return p
    m = p.size
    if method == "bonferroni":
        return np.minimum(1.0, m * p)
    order = np.argsort(p)
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, stepped)
    return adjusted


def summarize_effect(
    estimate: float,
    se: float,
    *,
    alpha: float = 0.05,
    df: float | None = None,
    method: str = "normal",
    details: Mapping[str, Any] | None = None,
) -> Estimate:
    """Wrap an effect and its standard error as an :class:`Estimate` (Wald interval).

    Use it to bring a number from any source (a warehouse query, a paper, a dashboard)
    into the decision layer.

    Parameters
    ----------
    estimate, se : float
        The effect (metric units) and its standard error (> 0).
    alpha : float
        One minus the interval's coverage.
    df : float, optional
        Degrees of freedom: Student-t interval and p-value; ``None`` for the normal.
    method : str
        The estimator's name, stored in the result.
    details : mapping, optional
        Extra numbers to keep.

    Returns
    -------
    Estimate
        ``estimate ± t_{1-alpha/2} se`` with the two-sided p-value of zero effect
        (:meth:`Estimate.from_standard_error`).

    Raises
    ------
    ValueError
        If ``estimate`` is not a finite number, ``se`` is not a positive finite number,
        ``alpha`` not in (0, 1), ``df`` not positive, ``method`` not a non-empty string or
        ``details`` not a mapping.
    """
    estimate = check_finite_number(estimate, "estimate")
    se = check_positive(se, "se")
    alpha = check_alpha(alpha)
    if df is not None:
        df = check_positive(df, "df")
    method = _check_text(method, "method")
    details = {} if details is None else dict(_check_mapping(details, "details"))
    return Estimate.from_standard_error(method, estimate, se, alpha=alpha, df=df,
                                        details=details)


def estimate_from_draws(
    draws: Any, *, alpha: float = 0.05, method: str = "posterior draws"
) -> Estimate:
    """Summarise posterior (or bootstrap) draws of an effect as an :class:`Estimate`.

    The estimate is the mean of the draws, ``se`` their standard deviation and the interval
    the equal-tailed ``alpha/2`` and ``1 - alpha/2`` quantiles. ``details`` holds
    ``probability_positive`` (the share of draws above zero) and ``n_draws``.

    Constant draws give ``se = 0`` and the point interval ``[draw, draw]``.

    Raises
    ------
    ValueError
        If ``draws`` is not a 1-D array of at least two finite numbers, ``alpha`` is not
        in (0, 1) or ``method`` is not a non-empty string.
    """
    draws = as_float_array(draws, "draws", min_size=2)
    alpha = check_alpha(alpha)
    method = _check_text(method, "method")
    low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    if np.ptp(draws) == 0:  # constant draws: exactly no spread (np.std leaves round-off)
        mean, sd = float(draws[0]), 0.0
    else:
        mean, sd = float(draws.mean()), float(draws.std(ddof=1))
    return Estimate(method, mean, sd, float(low), float(high), alpha=alpha,
                    details={"probability_positive": float(np.mean(draws > 0)),
                             "n_draws": int(draws.size)})


# ----------------------------------------------------------------------------- the rule
@dataclass(frozen=True)
class PrimaryMetric:
    """The metric the decision is about, as pre-registered.

    Parameters
    ----------
    name : str
        Key of this metric in the mapping of estimates given to :func:`decide`.
    direction : {"higher_is_better", "lower_is_better"}
        Which way is good.
    minimum_effect : float
        Minimum effect of interest (>= 0), in the metric's units and in the good
        direction: the smallest improvement worth shipping. A ship needs a point estimate
        at least this large; an interval that rules it out gives ``iterate``.
    """

    name: str
    direction: str = "higher_is_better"
    minimum_effect: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name must be a non-empty string")
        check_choice(self.direction, "direction", DIRECTIONS)
        value = check_finite_number(self.minimum_effect, "minimum_effect")
        if value < 0:
            raise ValueError(
                "minimum_effect must be >= 0 (a size in the good direction), "
                f"got {value}; set direction instead of a negative effect"
            )
        object.__setattr__(self, "minimum_effect", value)


@dataclass(frozen=True)
class Guardrail:
    """A metric that must not get worse by more than a margin (non-inferiority).

    Parameters
    ----------
    name : str
        Key of this metric in the mapping of estimates given to :func:`decide`.
    direction : {"higher_is_better", "lower_is_better"}
        Which way is good for this metric.
    margin : float
        The non-inferiority margin (> 0): the largest degradation tolerated, in the
        metric's units, as a positive size whatever the direction. A latency guardrail
        (lower is better) with margin 20 ms tolerates up to +20 ms; a retention guardrail
        (higher is better) with margin 0.002 tolerates down to -0.002.
    """

    name: str
    direction: str
    margin: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name must be a non-empty string")
        check_choice(self.direction, "direction", DIRECTIONS)
        margin = check_finite_number(self.margin, "margin")
        if margin <= 0:
            raise ValueError(
                f"margin must be positive (the tolerated degradation as a size), got {margin}"
            )
        object.__setattr__(self, "margin", margin)


@dataclass(frozen=True)
class DecisionRule:
    """A pre-registered decision rule: primary metric, guardrails, error rate, multiplicity.

    The rule, applied by :func:`decide` (all tests one-sided, at level ``alpha``; Student-t
    when an estimate carries ``df``), in this order:

    1. **roll back** if the primary metric is significantly worse than control, or a
       guardrail is significantly worse than its margin. These "any of several" tests
       are adjusted for multiplicity with ``multiplicity`` (Holm by default).
    2. **ship** if the primary metric is significantly better than control (superiority,
       ``H0: effect <= 0``), its point estimate reaches ``minimum_effect``, and every
       guardrail is shown non-inferior (``H0: degradation >= margin`` rejected). An
       intersection-union test: requiring *all* to pass needs no multiplicity adjustment
       to keep ``P(ship | any null true) <= alpha`` (Berger 1982).
    3. **iterate** if the one-sided upper bound for the primary effect is below
       ``minimum_effect`` (> 0): the change, as built, cannot deliver an effect worth it.
    4. **hold** otherwise: inconclusive, collect more data or re-plan.

    Parameters
    ----------
    primary : PrimaryMetric
    guardrails : sequence of Guardrail
    alpha : float
        One-sided error rate: the largest probability of shipping when the primary effect is
        zero or harmful (or a guardrail sits at its margin). The default 0.025 matches the
        usual two-sided 5% test: ship only when the 95% interval lies above zero.
    multiplicity : {"holm", "bonferroni", "none"}
        Adjustment of the roll-back tests across the primary and the guardrails.
    """

    primary: PrimaryMetric
    guardrails: tuple[Guardrail, ...] = ()
    alpha: float = 0.025
    multiplicity: str = "holm"

    def __post_init__(self) -> None:
        if not isinstance(self.primary, PrimaryMetric):
            raise ValueError("primary must be a PrimaryMetric")
        guardrails = tuple(self.guardrails)
        for guardrail in guardrails:
            if not isinstance(guardrail, Guardrail):
                raise ValueError("guardrails must hold Guardrail objects")
        names = [self.primary.name] + [g.name for g in guardrails]
        if len(set(names)) != len(names):
            raise ValueError(f"guardrails: metric names must be unique, got {names}")
        object.__setattr__(self, "guardrails", guardrails)
        object.__setattr__(self, "alpha", check_alpha(self.alpha))
        check_choice(self.multiplicity, "multiplicity", MULTIPLICITY_PLANS)

    @property
    def metrics(self) -> list[str]:
        """Names of every metric the rule needs an estimate for."""
        return [self.primary.name] + [g.name for g in self.guardrails]

    def to_frame(self) -> pd.DataFrame:
        """The rule as a table: one row per metric with its role, direction and threshold."""
        rows = [{"metric": self.primary.name, "role": "primary",
                 "direction": self.primary.direction,
                 "threshold": self.primary.minimum_effect,
                 "meaning": "minimum effect of interest", "alpha": self.alpha}]
        rows += [{"metric": g.name, "role": "guardrail", "direction": g.direction,
                  "threshold": g.margin, "meaning": "non-inferiority margin",
                  "alpha": self.alpha} for g in self.guardrails]
        return pd.DataFrame(rows).set_index("metric")

    def primary_actions(self, estimate: Any, se: Any, df: float | None = None) -> np.ndarray:
        """Vectorised actions from primary-metric estimates alone (guardrails taken as passed).

        The same logic as :func:`decide`, on arrays, for simulating the rule's operating
        characteristics. Returns an array of action strings of the broadcast shape.

        Raises
        ------
        ValueError
            If ``estimate`` or ``se`` is not numeric or not finite, an ``se`` is not
            positive, the two do not broadcast, or ``df`` is not positive.
        """
        estimate = as_numeric_array(estimate, "estimate", allow_empty=True)
        se = as_numeric_array(se, "se", allow_empty=True)
        if np.any(se <= 0):
            raise ValueError("se must be positive")
        try:
            np.broadcast(estimate, se)
        except ValueError:
            raise ValueError(f"estimate (shape {estimate.shape}) and se (shape {se.shape}) "
                             "do not broadcast") from None
        if df is not None:
            df = check_positive(df, "df")
        sign = _sign(self.primary.direction)
        good = sign * estimate
        reference = _reference(df)
        z = good / se
        p_superior = reference.sf(z)
        p_harm = reference.cdf(z)
        upper = good + reference.ppf(1 - self.alpha) * se
        ship = (p_superior < self.alpha) & (good >= self.primary.minimum_effect)
        harm = p_harm < self.alpha / (1 + len(self.guardrails) if self.multiplicity != "none"
                                      else 1)
        iterate = (self.primary.minimum_effect > 0) & (upper < self.primary.minimum_effect)
        actions = np.full(np.broadcast(estimate, se).shape, "hold", dtype=object)
        actions[iterate] = "iterate"
        actions[ship] = "ship"
        actions[harm] = "roll back"
        return actions


def check_non_inferiority(
    estimate: Estimate, margin: float, direction: str = "higher_is_better"
) -> dict[str, float]:
    """One-sided non-inferiority test of an effect against a margin.

    For ``higher_is_better``, ``H0: effect <= -margin`` against ``H1: effect > -margin``
    with ``T = (estimate + margin) / se`` and ``p = P(T_ref >= T)``; for ``lower_is_better``,
    ``H0: effect >= margin`` with ``T = (estimate - margin) / se`` and ``p = P(T_ref <= T)``.
    ``T_ref`` is Student-t with ``estimate.df`` degrees of freedom, or standard normal.
    This is a shifted one-sided Wald/Welch test, so it equals e.g.
    ``statsmodels.stats.weightstats.ttest_ind(..., value=-margin, alternative="larger",
    usevar="unequal")`` (Schuirmann 1987 for the one-sided-tests view).

    Returns
    -------
    dict
        ``statistic``, ``p_value`` and ``bound``: the one-sided ``1 - alpha`` bound on the
        worse side (lower bound for higher-is-better, upper for lower-is-better), using the
        estimate's own ``alpha``.

    Raises
    ------
    ValueError
        If ``estimate`` is not an :class:`Estimate` with a finite positive ``se``,
        ``margin`` is not a positive finite number, or ``direction`` is unknown.
    """
    se = _usable_se(estimate, "estimate")
    margin = check_finite_number(margin, "margin")
    if margin <= 0:
        raise ValueError(f"margin must be positive (a size), got {margin}")
    sign = _sign(direction)
    reference = _reference(estimate.df)
    statistic = (sign * estimate.estimate + margin) / se
    bound = estimate.estimate - sign * reference.ppf(1 - estimate.alpha) * se
    return {"statistic": float(sign * statistic), "p_value": float(reference.sf(statistic)),
            "bound": float(bound)}


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`decide`: the action, why, and every number behind it.

    Attributes
    ----------
    action : {"ship", "hold", "iterate", "roll back"}
    reason : str
        One or two sentences a stakeholder can read.
    rule : DecisionRule
    estimates : Mapping[str, Estimate]
    checks : pandas.DataFrame
        One row per test: metric, role, test, null hypothesis, statistic, p-value (adjusted
        where the plan says so), the level it is compared with, and whether it passed.
        ``passed`` is always the good outcome for shipping: superiority and non-inferiority
        shown, the minimum effect reached and not ruled out (futility), no harm or breach.
        The "minimum effect" row compares the point estimate with the minimum effect and
        is no test: its ``p_value`` and ``level`` are NaN, meaning "not applicable".
    """

    action: str
    reason: str
    rule: DecisionRule
    estimates: Mapping[str, Estimate]
    checks: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The checks table."""
        return self.checks.copy()

    def __repr__(self) -> str:
        return f"Decision({self.action!r}: {self.reason})"


def decide(rule: DecisionRule, estimates: Mapping[str, Estimate]) -> Decision:
    """Apply a pre-registered :class:`DecisionRule` to estimates from any chapter.

    Parameters
    ----------
    rule : DecisionRule
    estimates : mapping of str to Estimate
        One estimate per metric in ``rule.metrics`` (treatment minus control, in the
        metric's units). Extra keys are ignored. Each needs a finite positive ``se``; its
        ``df`` (if any) selects Student-t tests.

    Returns
    -------
    Decision
        The action (see :class:`DecisionRule` for the order of the checks), the reason,
        and the checks table.

    Raises
    ------
    ValueError
        If ``rule`` is not a :class:`DecisionRule`, ``estimates`` is not a mapping, a
        metric is missing from it, or an estimate of the rule's metrics is not an
        :class:`Estimate` with a finite positive ``se``.
    """
    if not isinstance(rule, DecisionRule):
        raise ValueError(f"rule must be a DecisionRule, got {type(rule).__name__}")
    if not isinstance(estimates, Mapping):
        raise ValueError("estimates must be a mapping of metric name to Estimate, got "
                         f"{type(estimates).__name__}")
    missing = [name for name in rule.metrics if name not in estimates]
    if missing:
        raise ValueError(f"estimates is missing metric(s) {missing}")
    for name in rule.metrics:
        _usable_se(estimates[name], f"estimates[{name!r}]")
    alpha = rule.alpha
    primary = rule.primary
    est = estimates[primary.name]
    se = _usable_se(est, f"estimates[{primary.name!r}]")
    reference = _reference(est.df)
    sign = _sign(primary.direction)
    good = sign * est.estimate
    z = good / se
    p_superior = float(reference.sf(z))
    p_harm = float(reference.cdf(z))
    upper = good + float(reference.ppf(1 - alpha)) * se

    rows: list[dict[str, Any]] = []

    def add(metric, role, test, null, statistic, p_value, level, passed):
        rows.append({"metric": metric, "role": role, "test": test, "null": null,
                     "statistic": statistic, "p_value": p_value, "level": level,
                     "passed": bool(passed)})

    word = "higher" if sign > 0 else "lower"
    add(primary.name, "primary", "superiority", "no improvement (effect in good direction <= 0)",
        z, p_superior, alpha, p_superior < alpha)
    add(primary.name, "primary", "minimum effect", f"point estimate (good direction) >= "
        f"{primary.minimum_effect:g}", good, np.nan, np.nan, good >= primary.minimum_effect)
    if primary.minimum_effect > 0:
        p_futile = float(reference.cdf((good - primary.minimum_effect) / se))
        # "passed" means good news, as for the harm rows: the minimum effect is not ruled out.
        add(primary.name, "primary", "futility",
            f"effect (good direction) >= {primary.minimum_effect:g}",
            (good - primary.minimum_effect) / se, p_futile, alpha, p_futile >= alpha)

    # Guardrails: non-inferiority (for ship) and breach (for roll back).
    harm_names = [primary.name]
    harm_p = [p_harm]
    non_inferior = []
    guard_rows = []
    for guardrail in rule.guardrails:
        g_est = estimates[guardrail.name]
        g_se = _usable_se(g_est, f"estimates[{guardrail.name!r}]")
        g_ref = _reference(g_est.df)
        g_sign = _sign(guardrail.direction)
        g_good = g_sign * g_est.estimate
        t_ni = (g_good + guardrail.margin) / g_se
        p_ni = float(g_ref.sf(t_ni))
        p_breach = float(g_ref.cdf(t_ni))
        non_inferior.append(p_ni < alpha)
        guard_rows.append((guardrail, t_ni, p_ni))
        harm_names.append(guardrail.name)
        harm_p.append(p_breach)
    for guardrail, t_ni, p_ni in guard_rows:
        limit = -guardrail.margin if guardrail.direction == "higher_is_better" else guardrail.margin
        add(guardrail.name, "guardrail", "non-inferiority",
            f"effect {'<=' if limit < 0 else '>='} {limit:g} (worse than margin)",
            t_ni, p_ni, alpha, p_ni < alpha)

    adjusted = _adjust_p_values(harm_p, rule.multiplicity)
    harmed = []
    for index, name in enumerate(harm_names):
        if index == 0:
            null = f"effect {'>=' if sign > 0 else '<='} 0 (not harmful)"
            test = "harm"
            statistic = z
        else:
            guardrail = rule.guardrails[index - 1]
            limit = (-guardrail.margin if guardrail.direction == "higher_is_better"
                     else guardrail.margin)
            null = f"effect {'>=' if limit < 0 else '<='} {limit:g} (within margin)"
            test = "breach"
            statistic = guard_rows[index - 1][1]
        is_harmed = adjusted[index] < alpha
        harmed.append(is_harmed)
        add(name, "primary" if index == 0 else "guardrail",
            test + ("" if rule.multiplicity == "none" else f" ({rule.multiplicity})"),
            null, statistic, float(adjusted[index]), alpha, not is_harmed)

    checks = pd.DataFrame(rows)
    superior = p_superior < alpha
    big_enough = good >= primary.minimum_effect
    unit = f"{est.estimate:+.4g} [{est.ci_low:.4g}, {est.ci_high:.4g}]"
    if any(harmed):
        names = [n for n, h in zip(harm_names, harmed, strict=True) if h]
        action = "roll back"
        reason = (f"Significant harm (adjusted one-sided p < {alpha:g}) on {', '.join(names)}; "
                  f"{primary.name} changed by {unit}.")
    elif superior and big_enough and all(non_inferior):
        action = "ship"
        reason = (f"{primary.name} is significantly {word} (one-sided p = {p_superior:.3g} < "
                  f"{alpha:g}), its estimate {est.estimate:+.4g} reaches the minimum effect "
                  f"{primary.minimum_effect:g}"
                  + (", and every guardrail is shown non-inferior." if rule.guardrails
                     else "."))
    elif superior and big_enough:
        failing = [g.name for g, ok in zip(rule.guardrails, non_inferior, strict=True) if not ok]
        action = "hold"
        reason = (f"{primary.name} improves ({unit}, one-sided p = {p_superior:.3g}) but "
                  f"non-inferiority is not shown for {', '.join(failing)}: collect more data "
                  "on the guardrail(s) before shipping.")
    elif primary.minimum_effect > 0 and upper < primary.minimum_effect:
        action = "iterate"
        reason = (f"The one-sided {1 - alpha:.0%} upper bound for {primary.name} "
                  f"({sign * upper:+.4g}) rules out the minimum effect of interest "
                  f"{primary.minimum_effect:g}: the change as built is not worth shipping.")
    else:
        action = "hold"
        if superior:
            detail = (f"significant (p = {p_superior:.3g}) but below the minimum effect "
                      f"{primary.minimum_effect:g}")
        else:
            detail = f"not significant (one-sided p = {p_superior:.3g} >= {alpha:g})"
        reason = (f"{primary.name} changed by {unit}: {detail}. Inconclusive: keep the "
                  "control and collect more data or re-plan.")
    return Decision(action, reason, rule, dict(estimates), checks)


# ----------------------------------------------------------------------------- naive rules
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
    """Naive rule: ship whenever the point estimate is positive (ignores uncertainty)."""
    return _NaiveRule("positive")


def ship_if_ci_excludes_zero(alpha: float = 0.05) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Ship when the two-sided ``1 - alpha`` normal interval lies above zero.

    Equivalent to a one-sided superiority test at ``alpha / 2`` (the recommended rule's test at
    its default one-sided 0.025 when ``alpha = 0.05``), without the minimum-effect check.

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

    Raises
    ------
    ValueError
        If ``minimum_effect`` or ``risk_aversion`` is not a positive finite number, or
        ``alpha`` is not in (0, 1).
    """
    minimum_effect = check_positive(minimum_effect, "minimum_effect")
    risk_aversion = check_positive(risk_aversion, "risk_aversion")
    alpha = check_alpha(alpha)
    return _NaiveRule("halved lift", critical=float(stats.norm.ppf(1 - alpha / 2)),
                      minimum_effect=minimum_effect, risk_aversion=risk_aversion)


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
    rules = _check_mapping(rules, "rules")
    if not rules:
        raise ValueError("rules must name at least one rule")
    for name, rule in rules.items():
        if not (isinstance(rule, DecisionRule) or callable(rule)):
            raise ValueError(f"rules[{name!r}] must be a DecisionRule or a callable, got "
                             f"{type(rule).__name__}")
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
                raise ValueError(f"rules[{name!r}] must return one bool per draw (shape "
                                 f"{estimates.shape}), got dtype {ship.dtype} and shape "
                                 f"{ship.shape}")
        probability = ship.mean(axis=1)
        frame = pd.DataFrame({
            "rule": name, "true_effect": true_effects, "probability_ship": probability,
            "mc_se": np.sqrt(probability * (1 - probability) / n_sims),
        })
        if roll_back is not None:
            frame["probability_roll_back"] = roll_back
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- Bayesian
def normal_posterior(estimate: Estimate, prior_mean: float = 0.0,
                     prior_sd: float | None = None, *, alpha: float | None = None) -> Estimate:
    """Conjugate normal posterior of an effect given its estimate and a normal prior.

    With likelihood ``estimate ~ N(effect, se^2)`` and prior ``effect ~ N(m, tau^2)`` the
    posterior is normal with precision ``1/se^2 + 1/tau^2`` and mean
    ``(m/tau^2 + estimate/se^2) / precision`` (Gelman et al. 2013, ch. 2). ``prior_sd=None``
    is the flat prior (posterior = ``N(estimate, se^2)``).

    Returns
    -------
    Estimate
        Method ``"normal posterior"``: mean, posterior sd as ``se``, equal-tailed credible
        interval; ``details`` holds ``prior_mean``, ``prior_sd``, ``shrinkage`` (the weight on
        the prior mean) and ``probability_positive``.

    Raises
    ------
    ValueError
        If ``estimate`` is not an :class:`Estimate` with a finite positive ``se``,
        ``prior_mean`` is not a finite number, ``prior_sd`` is not a positive finite
        number or ``alpha`` is not in (0, 1).
    """
    se = _usable_se(estimate, "estimate")
    prior_mean = check_finite_number(prior_mean, "prior_mean")
    alpha = estimate.alpha if alpha is None else check_alpha(alpha)
    if prior_sd is None:
        mean, sd, shrinkage = estimate.estimate, se, 0.0
    else:
        prior_sd = check_positive(prior_sd, "prior_sd")
        # shrinkage = se^2 / (se^2 + tau^2), written with ratios so it cannot overflow
        ratio = se / prior_sd
        shrinkage = ratio**2 / (1.0 + ratio**2) if ratio <= 1 else 1.0 / (1.0 + ratio**-2)
        mean = shrinkage * prior_mean + (1 - shrinkage) * estimate.estimate
        sd = se * prior_sd / math.hypot(se, prior_sd)
    posterior = Estimate.from_standard_error(
        "normal posterior", mean, sd, alpha=alpha,
        details={"prior_mean": prior_mean, "prior_sd": prior_sd, "shrinkage": shrinkage,
                 "probability_positive": float(stats.norm.sf(-mean / sd))})
    return replace(posterior, p_value=None)


def estimate_prior_from_past_effects(effects: Any, ses: Any) -> dict[str, float]:
    """A normal prior for effects from past experiments' estimates (method of moments).

    Past estimates ``y_j ~ N(theta_j, s_j^2)`` with ``theta_j ~ N(mu, tau^2)`` give
    ``mu = mean(y)`` and ``tau^2 = max(0, var(y) - mean(s^2))``: the spread of estimates
    minus the part that is noise (Morris 1983; Deng 2015 for online experiments).

    Returns
    -------
    dict
        ``prior_mean``, ``prior_sd`` (``tau``) and ``n_experiments``.

    When the estimates vary less than their noise alone would make them, ``tau`` is 0
    (the prior says every experiment had the same effect).

    Raises
    ------
    ValueError
        If ``effects`` or ``ses`` is not a 1-D array of finite numbers, fewer than three
        experiments are given, lengths differ or an se is not positive.
    """
    effects = as_float_array(effects, "effects", min_size=3)
    ses = as_float_array(ses, "ses", min_size=3)
    if effects.shape != ses.shape:
        raise ValueError(f"ses must match effects in length, got {ses.size} vs {effects.size}")
    if np.any(ses <= 0):
        raise ValueError("ses must be positive")
    tau_squared = max(0.0, float(np.var(effects, ddof=1) - np.mean(ses**2)))
    return {"prior_mean": float(np.mean(effects)), "prior_sd": math.sqrt(tau_squared),
            "n_experiments": int(effects.size)}


def expected_loss(mean: Any, sd: Any, direction: str = "higher_is_better") -> pd.DataFrame:
    """Expected losses of shipping and of keeping control, for a normal posterior of the effect.

    With ``Delta ~ N(mu, sigma^2)`` (in the good direction), shipping loses ``max(0, -Delta)``
    and keeping control loses ``max(0, Delta)``:

    ``E[max(0, -Delta)] = sigma phi(mu/sigma) - mu Phi(-mu/sigma)``,
    ``E[max(0, Delta)] = sigma phi(mu/sigma) + mu Phi(mu/sigma)``.

    Their difference is ``mu``. (Berger 1985 for the decision theory; the "threshold of
    caring" rule of :func:`bayesian_decision` ships when the first is below a threshold.)

    Parameters
    ----------
    mean, sd : float or 1-D array-like
        Posterior mean and standard deviation (> 0) of the effect; arrays of equal length,
        or one of them a scalar.
    direction : {"higher_is_better", "lower_is_better"}

    Returns
    -------
    pandas.DataFrame
        Columns ``mean``, ``sd``, ``probability_beats_control`` (``Phi(mu/sigma)``),
        ``loss_if_ship`` and ``loss_if_keep``; one row per element of the broadcast inputs.

    Raises
    ------
    ValueError
        If ``mean`` or ``sd`` is not a finite number or 1-D array, an ``sd`` is not
        positive, their lengths differ (neither being a scalar) or ``direction`` is unknown.
    """
    sign = _sign(direction)
    mean = sign * _scalar_or_vector(mean, "mean")
    sd = _scalar_or_vector(sd, "sd")
    if np.any(sd <= 0):
        raise ValueError("sd must be positive")
    if mean.size != sd.size and 1 not in (mean.size, sd.size):
        raise ValueError(f"mean and sd must have equal lengths (or one be a scalar), got "
                         f"{mean.size} and {sd.size}")
    mean, sd = np.broadcast_arrays(mean, sd)
    ratio = mean / sd
    density = stats.norm.pdf(ratio)
    return pd.DataFrame({
        "mean": mean, "sd": sd,
        "probability_beats_control": stats.norm.cdf(ratio),
        "loss_if_ship": sd * density - mean * stats.norm.cdf(-ratio),
        "loss_if_keep": sd * density + mean * stats.norm.cdf(ratio),
    })


def expected_loss_from_draws(draws: Any, direction: str = "higher_is_better") -> dict[str, float]:
    """Expected losses and P(beat control) from posterior draws of the effect (any posterior).

    Returns ``probability_beats_control``, ``loss_if_ship`` (mean of ``max(0, -Delta)``)
    and ``loss_if_keep`` (mean of ``max(0, Delta)``), ``Delta`` oriented to the good direction.

    Raises
    ------
    ValueError
        If ``draws`` is not a 1-D array of at least two finite numbers or ``direction`` is
        unknown.
    """
    draws = _sign(direction) * as_float_array(draws, "draws", min_size=2)
    return {"probability_beats_control": float(np.mean(draws > 0)),
            "loss_if_ship": float(np.mean(np.maximum(0.0, -draws))),
            "loss_if_keep": float(np.mean(np.maximum(0.0, draws)))}


def bayesian_decision(
    estimate: Estimate,
    threshold_of_caring: float,
    *,
    prior_mean: float = 0.0,
    prior_sd: float | None = None,
    direction: str = "higher_is_better",
) -> dict[str, Any]:
    """Expected-loss decision with a threshold of caring, from a normal posterior.

    Ship when the expected loss of shipping is below ``threshold_of_caring`` (and below
    that of keeping control); keep control ("roll back") when the expected loss of keeping
    it is below the threshold; otherwise "hold" (keep collecting). The threshold is in the
    metric's units: the loss per unit you would not care about.

    Returns
    -------
    dict
        ``action``, the posterior (an Estimate), ``probability_beats_control``,
        ``loss_if_ship`` and ``loss_if_keep``.

    Raises
    ------
    ValueError
        If ``estimate`` is not an :class:`Estimate` with a finite positive ``se``,
        ``threshold_of_caring`` or ``prior_sd`` is not positive, ``prior_mean`` is not
        finite or ``direction`` is unknown.
    """
    _usable_se(estimate, "estimate")
    threshold_of_caring = check_positive(threshold_of_caring, "threshold_of_caring")
    _sign(direction)
    posterior = normal_posterior(estimate, prior_mean, prior_sd)
    losses = expected_loss(posterior.estimate, posterior.se, direction).iloc[0]
    ship_loss, keep_loss = float(losses["loss_if_ship"]), float(losses["loss_if_keep"])
    if ship_loss < threshold_of_caring and ship_loss <= keep_loss:
        action = "ship"
    elif keep_loss < threshold_of_caring:
        action = "roll back"
    else:
        action = "hold"
    return {"action": action, "posterior": posterior,
            "probability_beats_control": float(losses["probability_beats_control"]),
            "loss_if_ship": ship_loss, "loss_if_keep": keep_loss}


def expected_value_of_sample_information(
    mean: float, sd: float, additional_se: float, *, threshold: float = 0.0,
    value_per_unit: float = 1.0,
) -> dict[str, float]:
    """Expected value of sample information (EVSI) of more data before a ship decision.

    Now: effect ``Delta ~ N(mu, sigma^2)``; shipping pays ``value_per_unit * (Delta - c)``
    with ``c = threshold``, not shipping pays 0. More data gives an extra estimate with
    standard error ``s_new``; the posterior mean after it is, before seeing it,
    ``N(mu, sigma_pre^2)`` with ``sigma_pre^2 = sigma^2 - sigma_post^2`` and
    ``1/sigma_post^2 = 1/sigma^2 + 1/s_new^2`` (preposterior analysis, Raiffa & Schlaifer
    1961). With ``d = mu - c``:

    ``EVSI = value_per_unit * (sigma_pre phi(d/sigma_pre) + d Phi(d/sigma_pre) - max(0, d))``.

    Run the extra week if the EVSI exceeds its cost (delay, exposure, opportunity).

    ``sigma_pre = sigma^2 / sqrt(sigma^2 + s_new^2)`` is computed in that form, so it stays
    accurate when the extra data are much noisier than the current posterior; when it is
    0 to machine precision the extra data cannot change the decision and the EVSI is 0.

    Returns
    -------
    dict
        ``evsi``, ``value_now`` (``value_per_unit * max(0, d)``), ``value_after`` and
        ``preposterior_sd``.

    Raises
    ------
    ValueError
        If ``mean`` or ``threshold`` is not a finite number, or ``sd``,
        ``additional_se`` or ``value_per_unit`` is not a positive finite number.
    """
    mean = check_finite_number(mean, "mean")
    sd = check_positive(sd, "sd")
    additional_se = check_positive(additional_se, "additional_se")
    threshold = check_finite_number(threshold, "threshold")
    value_per_unit = check_positive(value_per_unit, "value_per_unit")
    preposterior_sd = sd * (sd / math.hypot(sd, additional_se))
    gap = mean - threshold
    value_now = max(0.0, gap)
    if preposterior_sd > 0:
        ratio = gap / preposterior_sd
        with np.errstate(over="ignore", under="ignore"):  # phi(huge) is 0, as it should be
            value_after = preposterior_sd * stats.norm.pdf(ratio) + gap * stats.norm.cdf(ratio)
        value_after = max(float(value_after), value_now)  # EVSI >= 0; guards round-off
    else:
        value_after = value_now
    return {"evsi": value_per_unit * (value_after - value_now),
            "value_now": value_per_unit * value_now,
            "value_after": value_per_unit * value_after,
            "preposterior_sd": preposterior_sd}


# ----------------------------------------------------------------------------- value
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
        return pd.DataFrame([{"expected_net_value": self.mean, "sd": self.sd,
                              "probability_of_loss": self.probability_of_loss,
                              "low": self.low, "high": self.high}])


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
        If ``effect`` is not an :class:`Estimate` with a finite positive ``se``, a scale
        factor is not a positive finite number (or their product overflows),
        ``fixed_cost`` is negative or not finite, or ``alpha`` is not in (0, 1).
    """
    se = _usable_se(effect, "effect")
    scale = (check_positive(units_per_day, "units_per_day")
             * check_positive(horizon_days, "horizon_days")
             * check_positive(value_per_unit, "value_per_unit"))
    fixed_cost = check_positive(fixed_cost, "fixed_cost", strict=False)
    alpha = check_alpha(alpha)
    mean = effect.estimate * scale - fixed_cost
    sd = se * scale
    if not (math.isfinite(mean) and math.isfinite(sd) and sd > 0):
        raise ValueError("units_per_day * horizon_days * value_per_unit: the net value "
                         f"overflows or vanishes (scale {scale:g}, effect se {se:g})")
    critical = stats.norm.ppf(1 - alpha / 2)
    return NetValue(mean, sd, float(stats.norm.cdf(-mean / sd)), mean - critical * sd,
                    mean + critical * sd, alpha,
                    details={"scale": scale, "fixed_cost": fixed_cost,
                             "point_estimate_value": effect.estimate * scale - fixed_cost})


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
    days = _scalar_or_vector(days_per_stage, "days_per_stage")
    if days.size not in (1, shares.size):
        raise ValueError(f"days_per_stage must be one number or one per stage ({shares.size}), "
                         f"got {days.size}")
    days = np.broadcast_to(days, shares.shape).astype(float)
    if np.any(days <= 0):
        raise ValueError("days_per_stage must be positive")
    treated = shares * daily_units * days
    control = (1 - shares) * daily_units * days
    with np.errstate(divide="ignore"):
        se = np.where(control > 0, metric_sd * np.sqrt(1 / treated + 1 / np.where(
            control > 0, control, 1.0)), np.nan)
    multiplier = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    detectable = multiplier * se
    gates = [
        f"stop if one-sided harm test p < {alpha:g}; go on after {d:g} days" if c > 0
        else "no concurrent control: EWMA and SRM monitors"
        for d, c in zip(days, control, strict=True)
    ]
    return pd.DataFrame({
        "stage": np.arange(1, shares.size + 1), "treatment_share": shares, "days": days,
        "treated_units": treated, "control_units": control, "se_of_difference": se,
        "detectable_degradation": detectable,
        "protects_margin": np.where(control > 0, detectable <= margin, False),
        "units_exposed_cumulative": np.cumsum(treated), "gate": gates,
    })


# ----------------------------------------------------------------------------- objectives
def _oriented(
    values: pd.DataFrame, directions: Mapping[str, str], name: str = "values"
) -> np.ndarray:
    """``values`` (checked: finite numbers, variants by metrics) times each metric's sign."""
    matrix = _metric_table(values, name)
    directions = _check_mapping(directions, "directions")
    missing = [column for column in values.columns if column not in directions]
    if missing:
        raise ValueError(f"directions is missing metric(s) {missing}")
    signs = np.array([_sign(directions[c], f"directions[{c!r}]") for c in values.columns])
    return matrix * signs


def _dominated(oriented: np.ndarray) -> np.ndarray:
    """``dominated[..., i]``: some variant is >= on every metric and > on one (last axis)."""
    # oriented: (..., k, m). Compare every pair elementwise (not lexicographically).
    left = oriented[..., :, None, :]   # j
    right = oriented[..., None, :, :]  # i
    geq = np.all(left >= right, axis=-1)
    gt = np.any(left > right, axis=-1)
    return np.any(geq & gt, axis=-2)


def pareto_frontier(values: pd.DataFrame, directions: Mapping[str, str]) -> pd.Series:
    """Which variants are Pareto-optimal: no other variant is at least as good on every
    metric and strictly better on one.

    Parameters
    ----------
    values : pandas.DataFrame
        Variants as rows, metrics as columns (point estimates).
    directions : mapping of metric to {"higher_is_better", "lower_is_better"}

    Returns
    -------
    pandas.Series of bool
        ``True`` for variants on the frontier, indexed like ``values``. Variants with
        identical values dominate neither one another: both may be on the frontier.

    Raises
    ------
    ValueError
        If ``values`` is not a non-empty DataFrame of finite numbers with unique labels,
        or ``directions`` is not a mapping giving a known direction for every column.
    """
    oriented = _oriented(values, directions)
    return pd.Series(~_dominated(oriented), index=values.index, name="on_frontier")


def pareto_frontier_probability(
    means: pd.DataFrame,
    ses: pd.DataFrame,
    directions: Mapping[str, str],
    *,
    n_draws: int = 4000,
    rng: np.random.Generator | int | None = None,
) -> pd.Series:
    """Probability that each variant is on the Pareto frontier, given its uncertainty.

    Draws every metric of every variant independently from ``N(mean, se^2)`` (e.g. a flat
    posterior, or sampling noise around the estimates) and counts how often each variant
    is non-dominated.

    Returns
    -------
    pandas.Series
        Probability per variant.

    Raises
    ------
    ValueError
        If ``means`` is not a non-empty DataFrame of finite numbers, ``ses`` is not a
        DataFrame of finite non-negative numbers with the same rows and columns,
        ``directions`` lacks a metric, ``n_draws < 10`` or ``rng`` is invalid.
    """
    rng = check_rng(rng)
    oriented = _oriented(means, directions, "means")
    scale = _aligned_ses(means, ses)
    n_draws = check_integer(n_draws, "n_draws", minimum=10)
    draws = oriented + scale * rng.standard_normal((n_draws,) + oriented.shape)
    probability = (~_dominated(draws)).mean(axis=0)
    return pd.Series(probability, index=means.index, name="probability_on_frontier")


def weighted_utility(
    means: pd.DataFrame,
    ses: pd.DataFrame,
    weights: Mapping[str, float],
    directions: Mapping[str, str],
    *,
    n_draws: int = 4000,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Weighted utility ``U = sum_m w_m * s_m * value_m`` per variant, with uncertainty.

    ``s_m`` is +1 for higher-is-better and -1 for lower-is-better metrics, so every weight
    is a positive exchange rate ("one unit of metric m is worth w_m"). Metrics are taken as
    independent, so ``se(U) = sqrt(sum_m w_m^2 se_m^2)``; ``probability_best`` is the share
    of joint draws in which the variant has the highest utility.

    Returns
    -------
    pandas.DataFrame
        ``utility``, ``se``, ``probability_best`` per variant, sorted by utility.

    Raises
    ------
    ValueError
        If ``means`` is not a non-empty DataFrame of finite numbers, ``ses`` is not a
        DataFrame of finite non-negative numbers with the same rows and columns,
        ``weights`` is not a mapping with a positive finite weight per metric,
        ``directions`` lacks a metric, ``n_draws < 10`` or ``rng`` is invalid.
    """
    rng = check_rng(rng)
    oriented = _oriented(means, directions, "means")
    ses_array = _aligned_ses(means, ses)
    weights = _check_mapping(weights, "weights")
    missing = [c for c in means.columns if c not in weights]
    if missing:
        raise ValueError(f"weights is missing metric(s) {missing}")
    w = np.array([check_positive(weights[c], f"weights[{c!r}]") for c in means.columns])
    n_draws = check_integer(n_draws, "n_draws", minimum=10)
    utility = oriented @ w
    utility_se = np.sqrt((ses_array**2) @ (w**2))
    if not (np.isfinite(utility).all() and np.isfinite(utility_se).all()):
        raise ValueError("weights: the weighted utility overflows; rescale the metrics")
    draws = utility + utility_se * rng.standard_normal((n_draws, utility.size))
    best = np.bincount(draws.argmax(axis=1), minlength=utility.size) / draws.shape[0]
    table = pd.DataFrame({"utility": utility, "se": utility_se, "probability_best": best},
                         index=means.index)
    return table.sort_values("utility", ascending=False)


# ----------------------------------------------------------------------------- monitoring
def _ewma_sd_factor(smoothing: float, steps: np.ndarray, exact: bool) -> np.ndarray:
    asymptotic = math.sqrt(smoothing / (2 - smoothing))
    if not exact:
        return np.full(steps.shape, asymptotic)
    return asymptotic * np.sqrt(1 - (1 - smoothing) ** (2 * steps))


def ewma_control_limits(
    n_steps: int, *, target: float, sigma: float, smoothing: float = 0.1,
    width: float = 2.814, exact: bool = True,
) -> pd.DataFrame:
    """Control limits of an EWMA chart from the EWMA's own standard deviation.

    ``z_t = lambda x_t + (1 - lambda) z_{t-1}`` with ``z_0 = target`` has, for independent
    observations with sd ``sigma``,
    ``sd(z_t) = sigma sqrt(lambda / (2 - lambda) * (1 - (1 - lambda)^(2t)))`` (exact) and
    ``sigma sqrt(lambda / (2 - lambda))`` as ``t`` grows (asymptotic). Limits are
    ``target ± width * sd(z_t)`` (Lucas & Saccucci 1990; ``lambda = 0.1, width = 2.814``
    gives an in-control average run length of about 500 with asymptotic limits).

    Returns
    -------
    pandas.DataFrame
        ``step`` (1-based), ``center``, ``ewma_sd``, ``lower``, ``upper``.

    Raises
    ------
    ValueError
        If ``n_steps < 1``, ``target`` is not finite, ``sigma`` or ``width`` is not a
        positive finite number, ``smoothing`` is not in (0, 1] or ``exact`` is not a bool.
    """
    n_steps = check_integer(n_steps, "n_steps", minimum=1)
    target = check_finite_number(target, "target")
    sigma = check_positive(sigma, "sigma")
    smoothing = check_probability(smoothing, "smoothing", allow_zero=False)
    width = check_positive(width, "width")
    exact = check_flag(exact, "exact")
    steps = np.arange(1, n_steps + 1)
    sd = sigma * _ewma_sd_factor(smoothing, steps, exact)
    return pd.DataFrame({"step": steps, "center": target, "ewma_sd": sd,
                         "lower": target - width * sd, "upper": target + width * sd})


def monitor_ewma(
    values: Any, *, target: float, sigma: float, smoothing: float = 0.1,
    width: float = 2.814, exact: bool = True,
) -> pd.DataFrame:
    """Run an EWMA monitor over a metric stream; flag steps outside the control limits.

    Parameters
    ----------
    values : array-like
        The monitored metric, one value per period (e.g. daily guardrail values).
    target, sigma : float
        In-control mean and standard deviation of one value (from the pre-launch period).
    smoothing : float
        ``lambda`` in (0, 1].
    width : float
        Limit width ``L`` in EWMA standard deviations.
    exact : bool
        Time-varying exact limits (default) or asymptotic ones.

    Returns
    -------
    pandas.DataFrame
        ``step``, ``value``, ``ewma``, ``lower``, ``upper``, ``alarm``;
        ``.attrs["first_alarm"]`` is the first alarming step (1-based) or ``None``.

    Raises
    ------
    ValueError
        If ``values`` is not a 1-D array of finite numbers, or a parameter is invalid (see
        :func:`ewma_control_limits`).
    """
    values = as_float_array(values, "values")
    limits = ewma_control_limits(values.size, target=target, sigma=sigma,
                                 smoothing=smoothing, width=width, exact=exact)
    smoothing = float(smoothing)
    ewma = np.empty_like(values)
    level = float(target)
    for index, value in enumerate(values):
        level = smoothing * value + (1 - smoothing) * level
        ewma[index] = level
    alarm = (ewma > limits["upper"].to_numpy()) | (ewma < limits["lower"].to_numpy())
    table = pd.DataFrame({"step": limits["step"], "value": values, "ewma": ewma,
                          "lower": limits["lower"], "upper": limits["upper"], "alarm": alarm})
    table.attrs["first_alarm"] = int(table["step"][alarm].iloc[0]) if alarm.any() else None
    return table


def simulate_ewma_run_lengths(
    *, smoothing: float = 0.1, width: float = 2.814, shift: float = 0.0,
    n_sims: int = 2000, max_steps: int = 5000, exact: bool = True,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Run lengths of an EWMA chart by simulation (standardised stream, shift in sd units).

    Simulates ``n_sims`` standard normal streams with mean ``shift`` from step 1, vectorised
    over streams, and returns the step of the first alarm for each; streams with no alarm
    by ``max_steps`` get ``max_steps + 1`` (censored: choose ``max_steps`` well above the
    average run length). The mean is the average run length (ARL); ``1 / ARL`` is the
    per-step false-alarm rate when ``shift = 0``.

    Raises
    ------
    ValueError
        If ``smoothing`` is not in (0, 1], ``width`` is not a positive finite number,
        ``shift`` is not finite, ``n_sims`` or ``max_steps`` is below 1, ``exact`` is not a
        bool or ``rng`` is not a Generator, a seed or None.
    """
    rng = check_rng(rng)
    smoothing = check_probability(smoothing, "smoothing", allow_zero=False)
    width = check_positive(width, "width")
    shift = check_finite_number(shift, "shift")
    n_sims = check_integer(n_sims, "n_sims", minimum=1)
    max_steps = check_integer(max_steps, "max_steps", minimum=1)
    exact = check_flag(exact, "exact")
    limits = width * _ewma_sd_factor(smoothing, np.arange(1, max_steps + 1), exact)
    run_length = np.full(n_sims, max_steps + 1)
    active = np.arange(n_sims)
    level = np.zeros(n_sims)
    block = 256
    for start in range(0, max_steps, block):
        stop = min(start + block, max_steps)
        noise = shift + rng.standard_normal((stop - start, active.size))
        for offset in range(stop - start):
            level = smoothing * noise[offset] + (1 - smoothing) * level
            alarm = np.abs(level) > limits[start + offset]
            if alarm.any():
                run_length[active[alarm]] = start + offset + 1
                keep = ~alarm
                active, level, noise = active[keep], level[keep], noise[:, keep]
        if active.size == 0:
            break
    return run_length


def ewma_average_run_length(
    *, smoothing: float = 0.1, width: float = 2.814, shift: float = 0.0, n_states: int = 401,
) -> float:
    """Average run length of an EWMA chart with asymptotic limits, by Markov chain.

    Discretises the in-control region into ``n_states`` cells and solves
    ``(I - P) a = 1`` (Brook & Evans 1972; the method behind Lucas & Saccucci's 1990
    tables), starting at the target. Independent of :func:`simulate_ewma_run_lengths`, so
    each checks the other. An even ``n_states`` is raised by one (the target needs a
    central cell).

    Raises
    ------
    ValueError
        If ``smoothing`` is not in (0, 1], ``width`` is not a positive finite number,
        ``shift`` is not finite, ``n_states < 11``, or the limits are so wide that the run
        length overflows (the chain never leaves the in-control region numerically).
    """
    smoothing = check_probability(smoothing, "smoothing", allow_zero=False)
    width = check_positive(width, "width")
    shift = check_finite_number(shift, "shift")
    n_states = check_integer(n_states, "n_states", minimum=11)
    if n_states % 2 == 0:
        n_states += 1
    half = width * math.sqrt(smoothing / (2 - smoothing))
    cell = 2 * half / n_states
    centers = -half + cell * (np.arange(n_states) + 0.5)
    carried = (1 - smoothing) * centers[:, None]
    upper = (centers[None, :] + cell / 2 - carried) / smoothing - shift
    lower = (centers[None, :] - cell / 2 - carried) / smoothing - shift
    transition = stats.norm.cdf(upper) - stats.norm.cdf(lower)
    with np.errstate(all="ignore"):
        try:
            run_lengths = np.linalg.solve(np.eye(n_states) - transition, np.ones(n_states))
        except np.linalg.LinAlgError:
            run_lengths = np.full(n_states, np.inf)
    result = float(run_lengths[n_states // 2])
    if not (math.isfinite(result) and result >= 1 and np.all(transition.sum(axis=1) < 1)):
        raise ValueError(f"width ({width:g}) is so wide that the chart (almost) never alarms: "
                         "its average run length is numerically infinite")
    return result


def _shares(expected_shares: Any | None, n_arms: int) -> np.ndarray:
    if expected_shares is None:
        return np.full(n_arms, 1 / n_arms)
    shares = as_float_array(expected_shares, "expected_shares", min_size=2)
    if (shares.size != n_arms or np.any(shares <= 0) or np.any(shares >= 1)
            or not math.isclose(shares.sum(), 1.0)):
        raise ValueError(f"expected_shares must be one share in (0, 1) per arm ({n_arms}) "
                         f"summing to 1, got {shares.tolist()}")
    return shares


def _cumulative_sample_ratio_tests(
    counts: np.ndarray, shares: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chi-square SRM tests on cumulative counts; ``counts`` has shape (..., days, arms)."""
    cumulative = np.cumsum(counts, axis=-2)
    expected = cumulative.sum(axis=-1, keepdims=True) * shares
    statistic = ((cumulative - expected) ** 2 / expected).sum(axis=-1)
    return cumulative, statistic, stats.chi2.sf(statistic, counts.shape[-1] - 1)


def monitor_sample_ratio(
    daily_counts: Any, expected_shares: Any | None = None, *, alpha: float = 0.001,
) -> pd.DataFrame:
    """Daily SRM monitor: a chi-square test on cumulative counts after each day.

    Looking every day is repeated testing, so each look uses ``alpha / n_days`` (Bonferroni
    over the planned looks): the probability of any false alarm over the whole run stays
    at most ``alpha``.

    Parameters
    ----------
    daily_counts : array-like, shape (n_days, n_arms)
        Units assigned to each arm each day.
    expected_shares : array-like, optional
        Planned shares (default equal).
    alpha : float
        Family-wise false-alarm rate over the run.

    Returns
    -------
    pandas.DataFrame
        ``day``, cumulative ``count_<arm>`` columns, ``statistic``, ``p_value``, ``level``,
        ``alarm``; ``.attrs["first_alarm"]`` is the first alarming day or ``None``.
        A day with no new units repeats the previous day's cumulative test.

    Raises
    ------
    ValueError
        If ``daily_counts`` is not a 2-D array of non-negative integers with at least two
        arms (columns) and units on the first day, ``expected_shares`` is not one share
        in (0, 1) per arm summing to 1, or ``alpha`` is not in (0, 1).
    """
    counts = as_float_array(daily_counts, "daily_counts", ndim=2)
    if counts.shape[1] < 2:
        raise ValueError("daily_counts must have at least two arms (columns), got "
                         f"{counts.shape[1]}")
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError("daily_counts must hold non-negative integer counts")
    alpha = check_alpha(alpha)
    shares = _shares(expected_shares, counts.shape[1])
    if counts[0].sum() <= 0:
        raise ValueError("daily_counts must have units on the first day")
    cumulative, statistic, p_value = _cumulative_sample_ratio_tests(counts, shares)
    level = alpha / counts.shape[0]
    table = pd.DataFrame(cumulative, columns=[f"count_{i}" for i in range(counts.shape[1])])
    table.insert(0, "day", np.arange(1, counts.shape[0] + 1))
    table["statistic"] = statistic
    table["p_value"] = p_value
    table["level"] = level
    table["alarm"] = p_value < level
    alarm = table["alarm"].to_numpy()
    table.attrs["first_alarm"] = int(table["day"][alarm].iloc[0]) if alarm.any() else None
    return table


# ----------------------------------------------------------------------------- memo
_NEXT_STEPS = {
    "ship": ["Ramp 10% → 25% → 50% → 100% with the gates of the ramp plan.",
             "Turn on the EWMA guardrail and SRM monitors for the launch.",
             "Keep a small holdout to measure the long-run effect."],
    "hold": ["Keep control in production; extend the test to the planned sample size, "
             "or re-plan it with the observed variance.",
             "Do not re-run the decision on the same data with a different rule."],
    "iterate": ["Do not ship: the interval rules out the minimum effect of interest.",
                "Record what was learnt; redesign the change and pre-register a new test."],
    "roll back": ["Turn the treatment off now and keep control.",
                  "Investigate the harmed metric(s) before any new attempt."],
}


def _text_lines(lines: Any, name: str) -> list[str]:
    if isinstance(lines, str | bytes) or not isinstance(lines, Sequence):
        raise ValueError(f"{name} must be a sequence of strings, got {type(lines).__name__}")
    for line in lines:
        if not isinstance(line, str):
            raise ValueError(f"{name} must hold only strings, got {line!r}")
    return list(lines)


def _format_interval(estimate: Estimate) -> str:
    return (f"{estimate.estimate:+.4g} ({estimate.confidence:.0%} interval "
            f"{estimate.ci_low:+.4g} to {estimate.ci_high:+.4g})")


def write_decision_memo(
    decision: Decision,
    *,
    question: str,
    net_value: NetValue | None = None,
    risks: Sequence[str] = (),
    next_steps: Sequence[str] | None = None,
    title: str = "Decision memo",
) -> str:
    """A markdown decision memo from a :class:`Decision`.

    Sections: question, result (primary estimate with its interval), guardrails (a table),
    decision (action and reason), risks (net value and probability of loss if given, plus
    ``risks``) and next steps (defaults by action).

    Returns
    -------
    str
        Markdown; display it with ``IPython.display.Markdown``.

    Raises
    ------
    ValueError
        If ``decision`` is not a :class:`Decision`, ``net_value`` not a :class:`NetValue`
        (or None), ``question`` or ``title`` not a non-empty string, or ``risks`` or
        ``next_steps`` not a sequence of strings.
    """
    if not isinstance(decision, Decision):
        raise ValueError(f"decision must be a Decision (from decide), got "
                         f"{type(decision).__name__}")
    question = _check_text(question, "question")
    title = _check_text(title, "title")
    if net_value is not None and not isinstance(net_value, NetValue):
        raise ValueError(f"net_value must be a NetValue (from expected_net_value) or None, "
                         f"got {type(net_value).__name__}")
    risks = _text_lines(risks, "risks")
    if next_steps is not None:
        next_steps = _text_lines(next_steps, "next_steps")
    rule = decision.rule
    primary = decision.estimates[rule.primary.name]
    checks = decision.checks
    superiority = checks[(checks["metric"] == rule.primary.name)
                         & (checks["test"] == "superiority")].iloc[0]
    lines = [f"**{title}**", "", f"**Question.** {question}", "",
             f"**Result.** {rule.primary.name}: {_format_interval(primary)}; "
             f"one-sided p = {superiority['p_value']:.3g} for an improvement "
             f"(rule: alpha = {rule.alpha:g}, minimum effect of interest "
             f"{rule.primary.minimum_effect:g}).", ""]
    if rule.guardrails:
        lines += ["**Guardrails** (non-inferiority, one-sided):", "",
                  "| metric | estimate | interval | margin | p (non-inferiority) | status |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for guardrail in rule.guardrails:
            est = decision.estimates[guardrail.name]
            row = checks[(checks["metric"] == guardrail.name)
                         & (checks["test"] == "non-inferiority")].iloc[0]
            worse = "+" if guardrail.direction == "lower_is_better" else "-"
            status = "pass" if row["passed"] else "not shown"
            lines.append(f"| {guardrail.name} | {est.estimate:+.4g} | "
                         f"[{est.ci_low:+.4g}, {est.ci_high:+.4g}] | {worse}{guardrail.margin:g}"
                         f" | {row['p_value']:.3g} | {status} |")
        lines.append("")
    lines += [f"**Decision: {decision.action.upper()}.** {decision.reason}", ""]
    risk_lines = list(risks)
    if net_value is not None:
        risk_lines.insert(0, f"Expected net value {net_value.mean:,.0f} "
                             f"({1 - net_value.alpha:.0%} range {net_value.low:,.0f} to "
                             f"{net_value.high:,.0f}); probability of a loss "
                             f"{net_value.probability_of_loss:.1%}.")
    if risk_lines:
        lines += ["**Risks.**", ""] + [f"- {line}" for line in risk_lines] + [""]
    steps = list(next_steps) if next_steps is not None else _NEXT_STEPS[decision.action]
    lines += ["**Next steps.**", ""] + [f"- {step}" for step in steps]
    return "\n".join(lines) + "\n"
