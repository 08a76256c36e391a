"""From estimates to decisions: pre-registered rules, Bayesian risk, value, monitoring.

Every function here consumes :class:`playbook_lib.Estimate` objects (or plain numbers), so a
decision can be taken on the output of any chapter: an A/B test, CUPED, a geo experiment,
synthetic control, a sequential test or a hierarchical-model posterior summary.

The pieces, one file each:

- **Effects** (:mod:`~playbook_lib.decisions.effects`): :func:`summarize_effect` and
  :func:`estimate_from_draws` bring a number or posterior draws into the decision layer.
- **Rules as data** (:mod:`~playbook_lib.decisions.rule`). :class:`PrimaryMetric`,
  :class:`Guardrail` and :class:`DecisionRule` hold what was pre-registered; :func:`decide`
  turns estimates into a :class:`Decision` (``ship`` / ``hold`` / ``iterate`` /
  ``roll back``) with its reason and numbers. One-sided superiority and non-inferiority
  tests (:func:`check_non_inferiority`), with the t distribution when an estimate has
  degrees of freedom.
- **Continuation after "hold"** (:mod:`~playbook_lib.decisions.continuation`):
  :func:`plan_continuation` pre-registers the looks a "hold" leads to, with alpha spent
  by a Lan-DeMets design so the false-ship rate over all looks stays at ``alpha``, and
  :func:`simulate_hold_then_extend` gives the operating characteristic of holding and
  extending, planned and unplanned.
- **Operating characteristics** of rules by vectorised simulation
  (:mod:`~playbook_lib.decisions.operating_characteristics`:
  :func:`simulate_operating_characteristics`), including naive rules to compare against.
- **Bayesian decision theory** (:mod:`~playbook_lib.decisions.bayesian`): normal
  posteriors, expected loss with a threshold of caring, the probability to beat control,
  priors from past effects (:func:`fit_prior_from_past_experiments`), and the expected value
  of sample information for "run one more week?".
- **Value** (:mod:`~playbook_lib.decisions.value`): expected net value over a horizon with
  the probability of a loss, and a ramp plan with gates.
- **Several objectives** (:mod:`~playbook_lib.decisions.objectives`): Pareto frontier
  (with uncertainty) and weighted utility.
- **Power monitor** (:mod:`~playbook_lib.decisions.power_monitor`): :func:`monitor_power`
  projects a running test's power at its planned end from the observed variances and
  traffic, with the sample size now needed per arm and in total.
- **Monitoring after launch** (:mod:`~playbook_lib.decisions.monitoring`): an EWMA monitor
  with limits from the EWMA's own standard deviation, its average run length (simulation
  and Markov chain), and a sample-ratio monitor; both return a :class:`MonitorResult`.
- **Memo** (:mod:`~playbook_lib.decisions.memo`): :func:`write_decision_memo` renders a
  decision as markdown.
"""

from __future__ import annotations

from playbook_lib.decisions._checks import DIRECTIONS
from playbook_lib.decisions.bayesian import (
    NormalPrior,
    bayesian_decision,
    expected_loss,
    expected_loss_from_draws,
    expected_value_of_sample_information,
    fit_prior_from_past_experiments,
    normal_posterior,
)
from playbook_lib.decisions.continuation import (
    ContinuationPlan,
    plan_continuation,
    simulate_hold_then_extend,
)
from playbook_lib.decisions.effects import estimate_from_draws, summarize_effect
from playbook_lib.decisions.memo import write_decision_memo
from playbook_lib.decisions.monitoring import (
    MonitorResult,
    ewma_average_run_length,
    ewma_control_limits,
    monitor_ewma,
    monitor_sample_ratio,
    simulate_ewma_run_lengths,
)
from playbook_lib.decisions.objectives import (
    pareto_frontier,
    pareto_frontier_probability,
    weighted_utility,
)
from playbook_lib.decisions.operating_characteristics import (
    ship_if_ci_excludes_zero,
    ship_if_positive,
    ship_if_risk_adjusted_lift_clears,
    simulate_operating_characteristics,
)
from playbook_lib.decisions.power_monitor import PowerCheck, monitor_power
from playbook_lib.decisions.rule import (
    ACTIONS,
    Decision,
    DecisionRule,
    Guardrail,
    NonInferiorityCheck,
    PrimaryMetric,
    check_non_inferiority,
    decide,
)
from playbook_lib.decisions.value import NetValue, expected_net_value, plan_ramp

__all__ = [
    "ACTIONS",
    "DIRECTIONS",
    "ContinuationPlan",
    "Decision",
    "DecisionRule",
    "Guardrail",
    "MonitorResult",
    "NetValue",
    "NonInferiorityCheck",
    "NormalPrior",
    "PowerCheck",
    "PrimaryMetric",
    "bayesian_decision",
    "check_non_inferiority",
    "decide",
    "estimate_from_draws",
    "ewma_average_run_length",
    "ewma_control_limits",
    "expected_loss",
    "expected_loss_from_draws",
    "expected_net_value",
    "expected_value_of_sample_information",
    "fit_prior_from_past_experiments",
    "monitor_ewma",
    "monitor_power",
    "monitor_sample_ratio",
    "normal_posterior",
    "pareto_frontier",
    "pareto_frontier_probability",
    "plan_continuation",
    "plan_ramp",
    "ship_if_ci_excludes_zero",
    "ship_if_positive",
    "ship_if_risk_adjusted_lift_clears",
    "simulate_ewma_run_lengths",
    "simulate_hold_then_extend",
    "simulate_operating_characteristics",
    "summarize_effect",
    "weighted_utility",
    "write_decision_memo",
]
