"""Geo experiments and difference-in-differences.

When users cannot be randomised (TV, out-of-home, market-level pricing, marketplaces with
spillovers) we randomise geos and analyse one number per geo. This package holds, one idea
per file:

- :mod:`~playbook_lib.geo.did`: per-geo aggregation with the checks a geo test needs
  (:func:`aggregate_geo_periods`) and difference-in-differences on per-geo deltas with
  Welch's t (:func:`estimate_did`, its warehouse twin :func:`estimate_did_from_stats` on
  :class:`~playbook_lib.aggregates.ArmStatistics`, and :func:`batch_estimate_did` for many
  experiments at once), and ANCOVA (:func:`estimate_ancova`, vectorised as
  :func:`batch_estimate_ancova`);
- :mod:`~playbook_lib.geo.twfe`: two-way fixed effects with cluster-robust errors
  (:func:`estimate_twfe`), the event study (:func:`event_study_effects`) and a pre-trend
  test (:func:`check_pre_trends`);
- :mod:`~playbook_lib.geo.designs`: the design effect (:func:`design_effect`), matched
  pairs and strata (:func:`assign_matched_pairs`, :func:`assign_geos_within_strata`), a
  balance table (:func:`check_balance`) and the paired analysis of a matched-pair design
  (:func:`estimate_paired_did`, :func:`batch_estimate_paired_did`), and of a stratified
  design (:func:`estimate_stratified_did`, :func:`batch_estimate_stratified_did`);
- :mod:`~playbook_lib.geo.clusters`: cluster-randomised tests with user-level data: the
  intra-cluster correlation (:func:`estimate_icc`) and the analysis on cluster means or
  with cluster-robust errors (:func:`estimate_cluster_randomized`,
  :func:`batch_estimate_cluster_randomized`);
- :mod:`~playbook_lib.geo.randomization`: randomisation inference with an exact p-value
  and a test-inversion interval (:func:`estimate_randomization_inference`);
- :mod:`~playbook_lib.geo.power`: power, calibration and the minimum detectable lift by
  vectorised simulation (:func:`simulate_did_estimates`, :func:`simulate_analysis_estimates`,
  :func:`simulate_did_power`,
  :func:`compute_minimum_detectable_lift`) and the design x analysis x test-length table
  (:func:`simulate_design_comparison`);
- :mod:`~playbook_lib.geo.imputation`: staggered adoption, the imputation estimator of
  :cite:`borusyak2024revisiting` fitted once (:func:`fit_imputation` returning an
  :class:`ImputationFit`) with one-call shortcuts (:func:`estimate_imputation`,
  :func:`imputation_horizon_effects`, :func:`imputation_unit_effects`,
  :func:`imputation_unit_effect_covariance`);
- :mod:`~playbook_lib.geo.cohorts`: staggered adoption by cohorts, the group-time effects of
  :cite:`callaway2021difference` with the never- or not-yet-treated comparison
  (:func:`fit_callaway_santanna` returning a :class:`CallawaySantAnnaFit`, and
  :func:`estimate_callaway_santanna`), their aggregations and a joint pre-trend test;
- :mod:`~playbook_lib.geo.lift`: the design of a geo-lift test with a synthetic control
  (GeoLift's workflow): the simulated power of a set of treatment markets on historical
  data (:func:`simulate_geo_lift_power`) and the ranking of candidate sets by their
  minimum detectable lift (:func:`choose_geo_lift_markets`).

Every ``estimate_*`` returns one :class:`~playbook_lib.Estimate`; ``batch_*`` and
``*_effects`` return one :class:`~playbook_lib.Estimates` table.
"""

from __future__ import annotations

from playbook_lib.geo.clusters import (
    batch_estimate_cluster_randomized,
    estimate_cluster_randomized,
    estimate_icc,
)
from playbook_lib.geo.cohorts import (
    CallawaySantAnnaFit,
    estimate_callaway_santanna,
    fit_callaway_santanna,
)
from playbook_lib.geo.designs import (
    assign_geos_within_strata,
    assign_matched_pairs,
    batch_estimate_paired_did,
    batch_estimate_stratified_did,
    check_balance,
    design_effect,
    estimate_paired_did,
    estimate_stratified_did,
)
from playbook_lib.geo.did import (
    aggregate_geo_periods,
    batch_estimate_ancova,
    batch_estimate_did,
    estimate_ancova,
    estimate_did,
    estimate_did_from_stats,
)
from playbook_lib.geo.imputation import (
    ImputationFit,
    estimate_imputation,
    fit_imputation,
    imputation_horizon_effects,
    imputation_unit_effect_covariance,
    imputation_unit_effects,
)
from playbook_lib.geo.lift import (
    GeoLiftPower,
    GeoLiftRanking,
    choose_geo_lift_markets,
    simulate_geo_lift_power,
)
from playbook_lib.geo.power import (
    DidSimulation,
    compute_minimum_detectable_lift,
    simulate_analysis_estimates,
    simulate_design_comparison,
    simulate_did_estimates,
    simulate_did_power,
)
from playbook_lib.geo.randomization import estimate_randomization_inference
from playbook_lib.geo.twfe import check_pre_trends, estimate_twfe, event_study_effects

__all__ = [
    "CallawaySantAnnaFit",
    "DidSimulation",
    "GeoLiftPower",
    "GeoLiftRanking",
    "ImputationFit",
    "aggregate_geo_periods",
    "assign_geos_within_strata",
    "assign_matched_pairs",
    "batch_estimate_ancova",
    "batch_estimate_cluster_randomized",
    "batch_estimate_did",
    "batch_estimate_paired_did",
    "batch_estimate_stratified_did",
    "check_balance",
    "check_pre_trends",
    "choose_geo_lift_markets",
    "compute_minimum_detectable_lift",
    "design_effect",
    "estimate_ancova",
    "estimate_callaway_santanna",
    "estimate_cluster_randomized",
    "estimate_did",
    "estimate_did_from_stats",
    "estimate_icc",
    "estimate_imputation",
    "estimate_paired_did",
    "estimate_randomization_inference",
    "estimate_stratified_did",
    "estimate_twfe",
    "event_study_effects",
    "fit_callaway_santanna",
    "fit_imputation",
    "imputation_horizon_effects",
    "imputation_unit_effect_covariance",
    "imputation_unit_effects",
    "simulate_analysis_estimates",
    "simulate_design_comparison",
    "simulate_did_estimates",
    "simulate_did_power",
    "simulate_geo_lift_power",
]
