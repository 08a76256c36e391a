"""What "hold, collect more data" means: a pre-registered continuation and its error rate.

A rule applied once at one-sided level ``alpha`` ships a change whose binding null is true
(a guardrail exactly at its margin, or a primary effect of zero) with probability
``alpha``. Applying the *same* rule again after a "hold", on the extended data, is a second
look at the same hypothesis: the false-ship rate becomes ``P(Z_1 > z_alpha or Z_2 >
z_alpha)``, 3.85% instead of 2.5% when one extension adds half the data. A continuation is
valid only if it is pre-registered as a group-sequential design: :func:`plan_continuation`
spreads ``alpha`` over the looks with a Lan-DeMets spending function (the boundaries of
:func:`playbook_lib.sequential.design_alpha_spending`), and
:func:`simulate_hold_then_extend` gives the operating characteristic of hold-then-extend,
planned and unplanned, by vectorised simulation of the whole rule.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib.decisions._checks import as_mapping, direction_sign, one_sided_test
from playbook_lib.decisions.rule import Decision, DecisionRule, _decide
from playbook_lib.results import Estimate
from playbook_lib.sequential import (
    SPENDING_FUNCTIONS,
    GroupSequentialDesign,
    design_alpha_spending,
    design_from_bounds,
)
from playbook_lib.validation import (
    as_float_array,
    check_choice,
    check_finite_number,
    check_integer,
    check_positive,
    check_rng,
)

__all__ = ["ContinuationPlan", "plan_continuation", "simulate_hold_then_extend"]

_SPENDING_NAMES = {
    "obrien-fleming": "O'Brien-Fleming-type",
    "obrien-fleming-total": "O'Brien-Fleming-type",
    "pocock": "Pocock-type",
    "hwang-shih-decani": "Hwang-Shih-DeCani",
    "power": "power-family",
}


@dataclass(frozen=True, eq=False)
class ContinuationPlan:
    """A pre-registered rule with its looks: where "hold" continues, and at which level.

    Made by :func:`plan_continuation`. Look ``k`` applies ``rule`` with its one-sided level
    replaced by the design's nominal level ``nominal_alpha[k - 1]``
    (:meth:`rule_at_look`); a "hold" before the last look continues to the next look, and a
    "hold" at the last look means: do not ship.

    Attributes
    ----------
    rule : DecisionRule
        The rule as pre-registered; its ``alpha`` is the overall one-sided false-ship rate.
    sample_sizes : numpy.ndarray
        Cumulative sample size per arm at each look (the first is the first look's).
    design : GroupSequentialDesign
        The one-sided alpha-spending design over the looks' information fractions
        ``sample_sizes / sample_sizes[-1]``.
    """

    rule: DecisionRule
    sample_sizes: np.ndarray
    design: GroupSequentialDesign

    @property
    def n_looks(self) -> int:
        """Number of looks, the first included."""
        return int(self.sample_sizes.size)

    @property
    def nominal_alpha(self) -> np.ndarray:
        """The one-sided level each look's tests use (the design's nominal p thresholds)."""
        return self.design.nominal_p_values

    @property
    def unplanned_false_ship_rate(self) -> float:
        """Exact false-ship rate of re-applying ``rule`` at ``rule.alpha`` at every look.

        The probability that a binding null (say a guardrail exactly at its margin, all else
        certain to pass) is rejected at some look when every look uses the same critical
        value ``z_alpha``: the price of unplanned peeking, by the exact recursion of
        :func:`playbook_lib.sequential.design_from_bounds`.
        """
        critical = float(stats.norm.isf(self.rule.alpha))
        fixed = design_from_bounds(self.design.information_fractions, critical, sides=1)
        return float(fixed.cumulative_alpha[-1])

    def _check_look(self, look: Any) -> int:
        look = check_integer(look, "look", minimum=1)
        if look > self.n_looks:
            raise ValueError(f"look must be at most {self.n_looks} (the plan's looks), got {look}")
        return look

    def rule_at_look(self, look: int) -> DecisionRule:
        """The rule to apply at ``look`` (1-based): ``rule`` at the look's nominal level.

        Raises
        ------
        ValueError
            If ``look`` is not an integer between 1 and :attr:`n_looks`.
        """
        look = self._check_look(look)
        return dataclasses.replace(self.rule, alpha=float(self.nominal_alpha[look - 1]))

    def decide(self, look: int, estimates: Mapping[str, Estimate]) -> Decision:
        """:func:`~playbook_lib.decisions.decide` with :meth:`rule_at_look` (``look``).

        A "hold" at the last look keeps its action (the evidence is inconclusive) and its
        reason says that the plan ends there: do not ship. Estimates with ``df`` get
        Student-t tests at the look's nominal level (the levels themselves come from the
        normal theory of the design).

        Raises
        ------
        ValueError
            If ``look`` is out of range, or as :func:`~playbook_lib.decisions.decide`.
        """
        look = self._check_look(look)
        return _decide(self.rule_at_look(look), estimates, last_look=look == self.n_looks)

    def next_steps(self, look: int) -> list[str]:
        """What a "hold" at ``look`` leads to, in words (for the decision memo).

        Raises
        ------
        ValueError
            If ``look`` is not an integer between 1 and :attr:`n_looks`.
        """
        look = self._check_look(look)
        spending = _SPENDING_NAMES.get(self.design.spending, self.design.spending)
        if look == self.n_looks:
            return [
                f"This was the last of the {self.n_looks} pre-registered looks: do not "
                "ship; keep control and record the result.",
                "A new attempt is a new, separately pre-registered test.",
            ]
        n_next = self.sample_sizes[look]
        return [
            f"Keep control in production and continue to look {look + 1} of the "
            f"pre-registered continuation plan ({spending} alpha spending): "
            f"{n_next:,.0f} per arm, {2 * n_next:,.0f} in total.",
            f"At look {look + 1} apply the same rule at one-sided level "
            f"{self.nominal_alpha[look]:.4g}, so that the false-ship rate over all "
            f"looks stays at {self.rule.alpha:g}.",
            f"Do not re-apply the rule at {self.rule.alpha:g} to the extended data: "
            f"that would ship a change at its margin with probability "
            f"{self.unplanned_false_ship_rate:.2%}.",
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row per look: sample size per arm and in total, information fraction,
        critical z, nominal one-sided level, and the false-ship rate spent so far."""
        design = self.design
        return pd.DataFrame(
            {
                "look": np.arange(1, self.n_looks + 1),
                "n_per_arm": self.sample_sizes,
                "n_total": 2 * self.sample_sizes,
                "information_fraction": design.information_fractions,
                "critical_z": design.efficacy_bounds,
                "nominal_alpha": self.nominal_alpha,
                "cumulative_alpha": design.cumulative_alpha,
            }
        ).set_index("look")


def plan_continuation(
    rule: DecisionRule,
    sample_sizes: Any,
    *,
    spending: str = "obrien-fleming",
    gamma: float | None = None,
) -> ContinuationPlan:
    """Pre-register what "hold" leads to: the rule over several looks, alpha spent exactly.

    The looks at cumulative per-arm sample sizes ``n_1 < ... < n_K`` have information
    fractions ``t_k = n_k / n_K`` (the same users feed every metric, so every estimate's
    variance scales as ``1 / n``). The one-sided Lan-DeMets design at ``rule.alpha`` over
    those fractions gives each look a critical value ``b_k`` with
    ``P(Z_k >= b_k for some k | H0) = alpha`` exactly, for the canonical joint distribution
    ``corr(Z_i, Z_j) = sqrt(t_i / t_j)``. Look ``k`` applies the rule with every one-sided
    test at the nominal level ``1 - Phi(b_k)``; "ship" is still an intersection-union test
    (it needs every null rejected), so its false-ship rate when any one null is true stays
    at most ``alpha`` over all looks (Berger 1982; Jennison & Turnbull 2000, ch. 7).
    Roll-back and futility tests at the stricter nominal levels are conservative.

    Parameters
    ----------
    rule : DecisionRule
        The pre-registered rule; ``rule.alpha`` is the overall one-sided false-ship rate.
    sample_sizes : array-like of float
        Cumulative sample size per arm at each look, strictly increasing and positive, at
        least two looks: the first is the first look's (from its data), the others the
        planned extension, e.g. ``[40_000, 60_000]`` for one more week at half the rate.
    spending : str
        A one-sided spending function of :data:`playbook_lib.sequential.SPENDING_FUNCTIONS`
        (O'Brien-Fleming type by default: a strict first look, nearly the full ``alpha``
        at the last).
    gamma : float, optional
        Its parameter (Hwang-Shih-DeCani, power family).

    Returns
    -------
    ContinuationPlan

    Raises
    ------
    ValueError
        If ``rule`` is not a :class:`DecisionRule`, ``sample_sizes`` has fewer than two
        entries or is not positive and strictly increasing, or ``spending`` or ``gamma``
        is invalid.

    Notes
    -----
    With ``alpha = 0.025`` and looks at 2/3 and all of the data the O'Brien-Fleming-type
    levels are 0.00605 and 0.02314 (critical z 2.509 and 1.993), as rpact's
    ``getDesignGroupSequential(typeOfDesign = "asOF", informationRates = c(2/3, 1),
    alpha = 0.025, sided = 1)`` reports.
    """
    if not isinstance(rule, DecisionRule):
        raise ValueError(f"rule must be a DecisionRule, got {type(rule).__name__}")
    sizes = as_float_array(sample_sizes, "sample_sizes")
    if sizes.ndim != 1 or sizes.size < 2:
        raise ValueError(
            "sample_sizes must hold the cumulative per-arm size of at least two looks "
            f"(the first look and the extension), got {sizes.tolist()}"
        )
    if np.any(sizes <= 0) or np.any(np.diff(sizes) <= 0):
        raise ValueError(
            f"sample_sizes must be positive and strictly increasing, got {sizes.tolist()}"
        )
    if not isinstance(spending, str):
        raise ValueError(f"spending must be one of {SPENDING_FUNCTIONS!r}, got {spending!r}")
    check_choice(spending, "spending", SPENDING_FUNCTIONS)
    if gamma is not None:
        gamma = check_finite_number(gamma, "gamma")
    design = design_alpha_spending(
        sizes / sizes[-1], alpha=rule.alpha, sides=1, spending=spending, gamma=gamma
    )
    return ContinuationPlan(rule=rule, sample_sizes=sizes, design=design)


def _actions_at_level(
    rule: DecisionRule, alpha: float, good: np.ndarray, se: np.ndarray
) -> np.ndarray:
    """The action codes of :func:`decide` for many normal estimates at once.

    ``good``: shape ``(..., m)`` estimates in the good direction, primary first, then the
    guardrails in the rule's order; ``se``: their standard errors (broadcast). Codes:
    0 hold, 1 ship, 2 iterate, 3 roll back. Same order of checks as :func:`decide`.
    """
    primary = rule.primary
    g_primary, se_primary = good[..., 0], se[..., 0]
    _, p_superior = one_sided_test(g_primary, se_primary, alpha, "larger")
    upper, p_harm = one_sided_test(g_primary, se_primary, alpha, "smaller")
    superior = (p_superior < alpha) & (g_primary >= primary.minimum_effect)
    p_breach = [p_harm]
    non_inferior = np.ones(g_primary.shape, dtype=bool)
    for index, guardrail in enumerate(rule.guardrails, start=1):
        g, s = good[..., index], se[..., index]
        p_ni = one_sided_test(g, s, alpha, "larger", None, -guardrail.margin)[1]
        p_breach.append(one_sided_test(g, s, alpha, "smaller", None, -guardrail.margin)[1])
        non_inferior &= p_ni < alpha
    smallest = np.min(np.stack(p_breach), axis=0)
    # Holm and Bonferroni reject something exactly when the smallest p is below alpha / m.
    divisor = 1 if rule.multiplicity == "none" else len(p_breach)
    harmed = smallest * divisor < alpha
    futile = (primary.minimum_effect > 0) & (upper < primary.minimum_effect)
    codes = np.zeros(g_primary.shape, dtype=np.int8)
    codes[futile & ~superior] = 2
    codes[superior & non_inferior] = 1
    codes[harmed] = 3
    return codes


_ACTION_NAMES = ("hold", "ship", "iterate", "roll back")


def _per_metric(values: Any, rule: DecisionRule, name: str, *, positive: bool) -> np.ndarray:
    values = as_mapping(values, name)
    missing = [metric for metric in rule.metrics if metric not in values]
    if missing:
        raise ValueError(f"{name} is missing metric(s) {missing}")
    out = []
    for metric in rule.metrics:
        value = values[metric]
        if isinstance(value, Estimate):
            value = value.se if positive else value.estimate
        label = f"{name}[{metric!r}]"
        out.append(check_positive(value, label) if positive else check_finite_number(value, label))
    return np.array(out)


def simulate_hold_then_extend(
    plan: ContinuationPlan,
    true_effects: Mapping[str, float],
    first_look_se: Mapping[str, float | Estimate],
    *,
    n_sims: int = 20_000,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Operating characteristic of "hold, then collect more data", planned and unplanned.

    Each metric's estimate follows its own Brownian path over the plan's looks (independent
    increments; at look ``k`` the estimate is normal with the true effect as mean and
    standard error ``first_look_se * sqrt(n_1 / n_k)``; metrics independent of each other).
    Every simulated experiment runs the whole rule (roll back, ship, iterate, hold, in the
    order of :func:`~playbook_lib.decisions.decide`, normal reference) at look 1; a "hold"
    continues to the next look, any other action stops. Three strategies see the same paths:

    - ``"one look"``: the rule at ``rule.alpha`` once, no extension;
    - ``"unplanned: same alpha at every look"``: the rule re-applied at ``rule.alpha``
      after each hold (peeking);
    - ``"pre-registered continuation"``: look ``k`` at the plan's nominal level.

    Parameters
    ----------
    plan : ContinuationPlan
        From :func:`plan_continuation`.
    true_effects : mapping of str to float
        The true effect (treatment minus control, in the metric's units) of every metric of
        the rule; a guardrail "at its margin" has ``+margin`` (lower is better) or
        ``-margin`` (higher is better).
    first_look_se : mapping of str to float or Estimate
        Each metric's standard error at the first look (an Estimate's ``se`` is used).
    n_sims : int
        Simulated experiments (at least 100).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    pandas.DataFrame
        One row per strategy: ``probability_ship`` and its binomial Monte Carlo ``mc_se``,
        ``probability_roll_back``, ``probability_iterate``, ``probability_hold`` (held at
        the last look taken), and ``expected_n_per_arm``.

    Raises
    ------
    ValueError
        If ``plan`` is not a :class:`ContinuationPlan`, a metric of the rule is missing
        from ``true_effects`` or ``first_look_se``, a true effect is not finite, a standard
        error is not positive, ``n_sims < 100`` or ``rng`` is invalid.
    """
    if not isinstance(plan, ContinuationPlan):
        raise ValueError(
            f"plan must be a ContinuationPlan (from plan_continuation), got {type(plan).__name__}"
        )
    rule = plan.rule
    truth = _per_metric(true_effects, rule, "true_effects", positive=False)
    se_first = _per_metric(first_look_se, rule, "first_look_se", positive=True)
    n_sims = check_integer(n_sims, "n_sims", minimum=100)
    rng = check_rng(rng)
    signs = np.array(
        [direction_sign(rule.primary.direction)]
        + [direction_sign(g.direction) for g in rule.guardrails]
    )
    sizes = plan.sample_sizes
    # Sum of per-unit noise over each look's new units: variance (n_k - n_{k-1}) sigma^2.
    sigma_unit = se_first * np.sqrt(sizes[0])
    increments = np.diff(sizes, prepend=0.0)
    noise = rng.standard_normal((n_sims, sizes.size, truth.size))
    sums = np.cumsum(noise * np.sqrt(increments)[None, :, None], axis=1)
    se_looks = sigma_unit[None, :] / np.sqrt(sizes)[:, None]  # (K, m)
    estimates = truth + sigma_unit * sums / sizes[None, :, None]  # (n_sims, K, m)
    good = signs * estimates
    good_se = np.broadcast_to(se_looks, good.shape)
    levels = {
        "one look": np.array([rule.alpha]),
        "unplanned: same alpha at every look": np.full(sizes.size, rule.alpha),
        "pre-registered continuation": plan.nominal_alpha,
    }
    rows = []
    for name, alphas in levels.items():
        final = np.zeros(n_sims, dtype=np.int8)
        n_used = np.full(n_sims, sizes[0])
        active = np.ones(n_sims, dtype=bool)
        for look, level in enumerate(alphas):
            codes = _actions_at_level(rule, float(level), good[:, look], good_se[:, look])
            final = np.where(active, codes, final)
            n_used = np.where(active, sizes[look], n_used)
            active &= codes == 0
        probability = {
            action: float(np.mean(final == code)) for code, action in enumerate(_ACTION_NAMES)
        }
        ship = probability["ship"]
        rows.append(
            {
                "strategy": name,
                "probability_ship": ship,
                "mc_se": float(np.sqrt(ship * (1 - ship) / n_sims)),
                "probability_roll_back": probability["roll back"],
                "probability_iterate": probability["iterate"],
                "probability_hold": probability["hold"],
                "expected_n_per_arm": float(n_used.mean()),
            }
        )
    return pd.DataFrame(rows).set_index("strategy")
