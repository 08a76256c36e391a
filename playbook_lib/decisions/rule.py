"""The pre-registered rule and its application: from estimates to ship, hold, iterate or roll back.

:class:`PrimaryMetric`, :class:`Guardrail` and :class:`DecisionRule` hold what was written
down before the data arrived; :func:`decide` applies the rule to estimates from any chapter
and returns a :class:`Decision` with its reason and the table of tests behind it;
:func:`check_non_inferiority` is the one-sided guardrail test on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import step_down_adjust
from playbook_lib.decisions._checks import (
    as_text,
    direction_sign,
    one_sided_test,
    usable_se,
)
from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_numeric_array,
    check_alpha,
    check_choice,
    check_finite_number,
    check_positive,
)

__all__ = [
    "ACTIONS",
    "Decision",
    "DecisionRule",
    "Guardrail",
    "NonInferiorityCheck",
    "PrimaryMetric",
    "check_non_inferiority",
    "decide",
]

ACTIONS = ("ship", "hold", "iterate", "roll back")
MULTIPLICITY_PLANS = ("holm", "bonferroni", "none")


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
        as_text(self.name, "name")
        direction_sign(self.direction)
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
        The guardrail's key in the estimates given to :func:`decide`.
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
        as_text(self.name, "name")
        direction_sign(self.direction)
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
        rows = [
            {
                "metric": self.primary.name,
                "role": "primary",
                "direction": self.primary.direction,
                "threshold": self.primary.minimum_effect,
                "meaning": "minimum effect of interest",
                "alpha": self.alpha,
            }
        ]
        rows += [
            {
                "metric": g.name,
                "role": "guardrail",
                "direction": g.direction,
                "threshold": g.margin,
                "meaning": "non-inferiority margin",
                "alpha": self.alpha,
            }
            for g in self.guardrails
        ]
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
            raise ValueError(
                f"estimate (shape {estimate.shape}) and se (shape {se.shape}) do not broadcast"
            ) from None
        if df is not None:
            df = check_positive(df, "df")
        sign = direction_sign(self.primary.direction)
        good = sign * estimate
        _, p_superior = one_sided_test(good, se, self.alpha, "larger", df)
        upper, p_harm = one_sided_test(good, se, self.alpha, "smaller", df)
        ship = (p_superior < self.alpha) & (good >= self.primary.minimum_effect)
        harm = p_harm < self.alpha / (
            1 + len(self.guardrails) if self.multiplicity != "none" else 1
        )
        iterate = (self.primary.minimum_effect > 0) & (upper < self.primary.minimum_effect)
        actions = np.full(np.broadcast(estimate, se).shape, "hold", dtype=object)
        actions[iterate] = "iterate"
        actions[ship] = "ship"
        actions[harm] = "roll back"
        return actions


@dataclass(frozen=True)
class NonInferiorityCheck:
    """The report of :func:`check_non_inferiority`: the test's numbers and its verdict.

    Attributes
    ----------
    statistic : float
        ``T``, the standardised distance of the estimate from the margin (see
        :func:`check_non_inferiority`).
    p_value : float
        One-sided p-value of ``H0``: the effect is worse than the margin.
    bound : float
        The one-sided ``1 - alpha`` bound on the worse side (lower bound for
        higher-is-better, upper for lower-is-better).
    margin : float
        The margin tested (a positive size).
    direction : {"higher_is_better", "lower_is_better"}
    alpha : float
        The level of the test and of ``bound`` (the estimate's own ``alpha``).
    """

    statistic: float
    p_value: float
    bound: float
    margin: float
    direction: str
    alpha: float

    @property
    def passed(self) -> bool:
        """Whether non-inferiority is shown (``p_value < alpha``), i.e. the bound on the worse
        side lies inside the margin."""
        return self.p_value < self.alpha


def check_non_inferiority(
    estimate: Estimate, margin: float, direction: str = "higher_is_better"
) -> NonInferiorityCheck:
    """One-sided non-inferiority test of an effect against a margin.

    For ``higher_is_better``, ``H0: effect <= -margin`` against ``H1: effect > -margin``
    with ``T = (estimate + margin) / se`` and ``p = P(T_ref >= T)``; for ``lower_is_better``,
    ``H0: effect >= margin`` with ``T = (estimate - margin) / se`` and ``p = P(T_ref <= T)``.
    ``T_ref`` is Student-t with ``estimate.df`` degrees of freedom, or standard normal.
    This is a shifted one-sided Wald/Welch test, so it equals e.g.
    ``statsmodels.stats.weightstats.ttest_ind(..., value=-margin, alternative="larger",
    usevar="unequal")`` (Schuirmann 1987 for the one-sided-tests view). The test is at the
    estimate's own ``alpha``.

    Parameters
    ----------
    estimate : Estimate
        The effect (treatment minus control, in the metric's units) with a finite positive
        ``se``; its ``df`` (if any) selects Student-t.
    margin : float
        The largest degradation tolerated, as a positive size whatever the direction.
    direction : {"higher_is_better", "lower_is_better"}
        Which way is good for the metric.

    Returns
    -------
    NonInferiorityCheck
        A report, whatever the verdict (it never raises for a failed check): ``statistic``,
        ``p_value``, ``bound``, the inputs, and ``passed``.

    Raises
    ------
    ValueError
        If ``estimate`` is not an :class:`~playbook_lib.Estimate` with a finite positive ``se``,
        ``margin`` is not a positive finite number, or ``direction`` is unknown.
    """
    se = usable_se(estimate, "estimate")
    margin = check_finite_number(margin, "margin")
    if margin <= 0:
        raise ValueError(f"margin must be positive (a size), got {margin}")
    sign = direction_sign(direction)
    good = sign * estimate.estimate
    bound, p_value = one_sided_test(good, se, estimate.alpha, "larger", estimate.df, -margin)
    return NonInferiorityCheck(
        statistic=float(sign * (good + margin) / se),
        p_value=float(p_value),
        bound=float(sign * bound),
        margin=margin,
        direction=direction,
        alpha=estimate.alpha,
    )


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

    A "hold" means inconclusive; more data may be collected only under a pre-registered
    continuation (:func:`~playbook_lib.decisions.plan_continuation`), since re-applying the
    rule at the same ``alpha`` to extended data raises its false-ship rate.

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
        :class:`~playbook_lib.Estimate` with a finite positive ``se``.
    """
    return _decide(rule, estimates)


def _decide(
    rule: DecisionRule, estimates: Mapping[str, Estimate], last_look: bool = False
) -> Decision:
    """:func:`decide`; with ``last_look`` a "hold" reason says the plan ends: do not ship."""
    if not isinstance(rule, DecisionRule):
        raise ValueError(f"rule must be a DecisionRule, got {type(rule).__name__}")
    if not isinstance(estimates, Mapping):
        raise ValueError(
            "estimates must be a mapping of metric name to Estimate, got "
            f"{type(estimates).__name__}"
        )
    missing = [name for name in rule.metrics if name not in estimates]
    if missing:
        raise ValueError(f"estimates is missing metric(s) {missing}")
    for name in rule.metrics:
        usable_se(estimates[name], f"estimates[{name!r}]")
    alpha = rule.alpha
    primary = rule.primary
    est = estimates[primary.name]
    sign = direction_sign(primary.direction)
    good = sign * est.estimate
    z = good / est.se
    _, p_superior = one_sided_test(good, est.se, alpha, "larger", est.df)
    upper, p_harm = one_sided_test(good, est.se, alpha, "smaller", est.df)
    p_superior, p_harm, upper = float(p_superior), float(p_harm), float(upper)

    rows: list[dict[str, Any]] = []

    def add(metric, role, test, null, statistic, p_value, level, passed):
        rows.append(
            {
                "metric": metric,
                "role": role,
                "test": test,
                "null": null,
                "statistic": statistic,
                "p_value": p_value,
                "level": level,
                "passed": bool(passed),
            }
        )

    add(
        primary.name,
        "primary",
        "superiority",
        "no improvement (effect in good direction <= 0)",
        z,
        p_superior,
        alpha,
        p_superior < alpha,
    )
    add(
        primary.name,
        "primary",
        "minimum effect",
        f"point estimate (good direction) >= {primary.minimum_effect:g}",
        good,
        np.nan,
        np.nan,
        good >= primary.minimum_effect,
    )
    if primary.minimum_effect > 0:
        _, p_futile = one_sided_test(good, est.se, alpha, "smaller", est.df, primary.minimum_effect)
        # "passed" means good news, as for the harm rows: the minimum effect is not ruled out.
        add(
            primary.name,
            "primary",
            "futility",
            f"effect (good direction) >= {primary.minimum_effect:g}",
            (good - primary.minimum_effect) / est.se,
            float(p_futile),
            alpha,
            p_futile >= alpha,
        )

    # Guardrails: non-inferiority (for ship) and breach (for roll back), one-sided tests of
    # the same null "the effect is at its margin", in opposite directions.
    statistics, p_breach = [z], [p_harm]
    non_inferior = []
    for guardrail in rule.guardrails:
        g_est = estimates[guardrail.name]
        g_good = direction_sign(guardrail.direction) * g_est.estimate
        tests = [
            one_sided_test(g_good, g_est.se, alpha, side, g_est.df, -guardrail.margin)[1]
            for side in ("larger", "smaller")
        ]
        p_ni = float(tests[0])
        statistics.append((g_good + guardrail.margin) / g_est.se)
        p_breach.append(float(tests[1]))
        non_inferior.append(p_ni < alpha)
        limit = _limit(guardrail)
        add(
            guardrail.name,
            "guardrail",
            "non-inferiority",
            f"effect {'<=' if limit < 0 else '>='} {limit:g} (worse than margin)",
            statistics[-1],
            p_ni,
            alpha,
            p_ni < alpha,
        )

    # Roll back: "any of several" harm tests, adjusted for multiplicity.
    adjusted = step_down_adjust(p_breach, rule.multiplicity)
    suffix = "" if rule.multiplicity == "none" else f" ({rule.multiplicity})"
    harmed = adjusted < alpha
    add(
        primary.name,
        "primary",
        "harm" + suffix,
        f"effect {'>=' if sign > 0 else '<='} 0 (not harmful)",
        z,
        float(adjusted[0]),
        alpha,
        not harmed[0],
    )
    for index, guardrail in enumerate(rule.guardrails, start=1):
        limit = _limit(guardrail)
        add(
            guardrail.name,
            "guardrail",
            "breach" + suffix,
            f"effect {'>=' if limit < 0 else '<='} {limit:g} (within margin)",
            statistics[index],
            float(adjusted[index]),
            alpha,
            not harmed[index],
        )

    checks = pd.DataFrame(rows)
    action, reason = _action_and_reason(
        rule,
        est,
        harmed=[name for name, h in zip(rule.metrics, harmed, strict=True) if h],
        failing=[g.name for g, ok in zip(rule.guardrails, non_inferior, strict=True) if not ok],
        p_superior=p_superior,
        upper=upper,
        last_look=last_look,
    )
    return Decision(action, reason, rule, dict(estimates), checks)


def _limit(guardrail: Guardrail) -> float:
    """The guardrail's margin as a signed effect: the worst tolerated change."""
    return -guardrail.margin if guardrail.direction == "higher_is_better" else guardrail.margin


def _action_and_reason(
    rule: DecisionRule,
    est: Estimate,
    *,
    harmed: list[str],
    failing: list[str],
    p_superior: float,
    upper: float,
    last_look: bool = False,
) -> tuple[str, str]:
    """The action of :class:`DecisionRule`'s order of checks, and its reason in words.

    ``harmed``: metrics whose (adjusted) harm or breach test rejected; ``failing``:
    guardrails whose non-inferiority is not shown; ``upper``: the one-sided upper bound of
    the primary effect in the good direction.
    """
    alpha, primary = rule.alpha, rule.primary
    sign = direction_sign(primary.direction)
    good = sign * est.estimate
    superior = p_superior < alpha
    big_enough = good >= primary.minimum_effect
    unit = f"{est.estimate:+.4g} [{est.ci_low:.4g}, {est.ci_high:.4g}]"
    if harmed:
        return "roll back", (
            f"Significant harm (adjusted one-sided p < {alpha:g}) on "
            f"{', '.join(harmed)}; {primary.name} changed by {unit}."
        )
    if superior and big_enough and not failing:
        word = "higher" if sign > 0 else "lower"
        return "ship", (
            f"{primary.name} is significantly {word} (one-sided p = "
            f"{p_superior:.3g} < {alpha:g}), its estimate {est.estimate:+.4g} "
            f"reaches the minimum effect {primary.minimum_effect:g}"
            + (", and every guardrail is shown non-inferior." if rule.guardrails else ".")
        )
    if superior and big_enough:
        return "hold", (
            f"{primary.name} improves ({unit}, one-sided p = {p_superior:.3g}) but "
            f"non-inferiority is not shown for {', '.join(failing)}: "
            + (
                "this was the last pre-registered look, so do not ship."
                if last_look
                else "collect more data on the guardrail(s) before shipping."
            )
        )
    if primary.minimum_effect > 0 and upper < primary.minimum_effect:
        return "iterate", (
            f"The one-sided {1 - alpha:.0%} upper bound for {primary.name} "
            f"({sign * upper:+.4g}) rules out the minimum effect of interest "
            f"{primary.minimum_effect:g}: the change as built is not worth "
            "shipping."
        )
    if superior:
        detail = (
            f"significant (p = {p_superior:.3g}) but below the minimum effect "
            f"{primary.minimum_effect:g}"
        )
    else:
        detail = f"not significant (one-sided p = {p_superior:.3g} >= {alpha:g})"
    return "hold", (
        f"{primary.name} changed by {unit}: {detail}. "
        + (
            "Inconclusive at the last pre-registered look: do not ship; keep the control."
            if last_look
            else "Inconclusive: keep the control and collect more data or re-plan."
        )
    )
