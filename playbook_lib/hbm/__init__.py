"""Hierarchical (multilevel) models for many small experiments.

A platform runs one experiment on hundreds of units (creators, stores, geos); each unit
gives an effect estimate ``y_j`` with a standard error ``s_j`` that is tiny for big units
and huge for small ones. The recipes here pool those estimates. Per-unit results are
:class:`~playbook_lib.Estimates` tables, one row per unit labelled by the unit, in the
input's order; per-row inputs such as each unit's group are arrays (a pandas Series is
aligned by label, anything else by position). For Bayesian summaries ``se`` is the
posterior standard deviation and the interval is the equal-tailed credible interval.

- **No pooling** (:func:`unit_effects_from_stats`, :func:`unit_effects`):
  each unit's own difference in means with a Welch interval, from per-unit
  :class:`~playbook_lib.aggregates.ArmStatistics` or from user rows.
- **Complete pooling** (:func:`complete_pooling_effects`): every unit gets its group's
  precision-weighted mean.
- **Partial pooling, closed form**: the normal-normal posterior given hyperparameters
  (:func:`compute_normal_normal_posterior`), used with the *true* hyperparameters as the
  oracle Bayes limit (:func:`oracle_bayes_effects`) and with estimated ones (between-unit
  variance by REML or the method of moments, :func:`compute_between_variance`) as
  empirical Bayes (:func:`empirical_bayes_effects`) :cite:`morris1983parametric`.
- **Partial pooling, full Bayes** (:func:`fit_hierarchical_model`): a PyMC model
  global → group → unit with a known-SE likelihood, sampled by nutpie. By default NUTS
  samples the two standard deviations with everything conjugate integrated out, and the
  mean, group means and unit effects are drawn exactly given each draw; the full model
  (every effect sampled, centred or non-centred) is available. No fit compiles a
  PyTensor graph: nutpie samples each model's density from a small numba function,
  compiled once per environment and reused for any data.
  With convergence checks (:func:`check_convergence`), a posterior predictive check
  (:func:`check_posterior_predictive`), PSIS-LOO (:func:`compute_loo`) and a comparison
  of pre-specified groupings with the unit effects integrated out
  (:func:`fit_groupings`).
- **The hyperparameters' exact posterior** (:func:`compute_hyperparameter_posterior`):
  the same model integrated on a grid over the two standard deviations, for many data
  sets at once and with a choice of prior for the group standard deviation.
- **Accuracy against a simulation's truth** (:func:`compute_accuracy`): MSE, bias,
  coverage with a clustered Monte Carlo error, and width, by stratum, matched by label.
- **Per-unit decisions** (:func:`compute_sign_errors`, :func:`compute_expected_sign_errors`):
  the share of units a "turn it on" rule selects, its Type S and Type M errors
  :cite:`gelman2014beyond`, measured against a simulation's truth or in closed form.
- The small-geo case (:func:`fit_geo_hierarchical_model`) and the eight-schools reference
  (:data:`EIGHT_SCHOOLS`, :func:`fit_eight_schools`) :cite:`rubin1981estimation`.
"""

from __future__ import annotations

from playbook_lib.hbm import _arviz  # noqa: F401  (first: ArviZ without its daily notice)
from playbook_lib.hbm.accuracy import compute_accuracy
from playbook_lib.hbm.diagnostics import (
    ConvergenceReport,
    GroupingComparison,
    PredictiveCheck,
    check_convergence,
    check_posterior_predictive,
    compute_loo,
    fit_groupings,
)
from playbook_lib.hbm.geo_model import GeoHierarchicalFit, fit_geo_hierarchical_model
from playbook_lib.hbm.grid_posterior import compute_hyperparameter_posterior
from playbook_lib.hbm.hierarchical import (
    EIGHT_SCHOOLS,
    HierarchicalFit,
    fit_eight_schools,
    fit_hierarchical_model,
)
from playbook_lib.hbm.no_pooling import unit_effects, unit_effects_from_stats
from playbook_lib.hbm.pooling import (
    complete_pooling_effects,
    compute_between_variance,
    compute_normal_normal_posterior,
    empirical_bayes_effects,
    oracle_bayes_effects,
)
from playbook_lib.hbm.sign_errors import compute_expected_sign_errors, compute_sign_errors

__all__ = [
    "ConvergenceReport",
    "EIGHT_SCHOOLS",
    "GeoHierarchicalFit",
    "GroupingComparison",
    "HierarchicalFit",
    "PredictiveCheck",
    "check_convergence",
    "check_posterior_predictive",
    "complete_pooling_effects",
    "compute_accuracy",
    "compute_between_variance",
    "compute_expected_sign_errors",
    "compute_hyperparameter_posterior",
    "compute_loo",
    "compute_normal_normal_posterior",
    "compute_sign_errors",
    "empirical_bayes_effects",
    "fit_eight_schools",
    "fit_geo_hierarchical_model",
    "fit_groupings",
    "fit_hierarchical_model",
    "oracle_bayes_effects",
    "unit_effects",
    "unit_effects_from_stats",
]
