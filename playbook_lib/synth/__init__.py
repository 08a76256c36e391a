"""Synthetic control and synthetic difference-in-differences.

When one or a few units (markets, states) are treated, a weighted combination of untreated
"donor" units serves as the counterfactual. This package provides

- :func:`prepare_panel`: check a tidy long panel once and reshape it to a :class:`Panel`
  (a units-by-times matrix, donors first), which every panel estimator takes;
  :meth:`Panel.from_matrix` wraps an array directly;
- :func:`fit_simplex_weights`: weights on the simplex (non-negative, summing to one) that
  best reproduce a target series, with an optional intercept and ridge penalty, solved
  exactly by an active-set method (or SLSQP, or synthdid's Frank-Wolfe iterations);
- :func:`fit_synthetic_control` and :func:`estimate_synthetic_control`: classic synthetic
  control (Abadie, Diamond & Hainmueller 2010) for one or several treated units, with
  optional predictor matching (predictor weights chosen globally, with a certificate of
  optimality when the outcome-only fit is reachable), and placebo-in-space inference
  (post/pre RMSPE ratio, exact permutation p-value; every placebo refitted with the same
  specification; exact placebo sets for several treated units);
- :func:`compute_placebo_in_space`, :func:`estimate_placebo_in_time`,
  :func:`compute_leave_one_out`: the placebo test and the robustness checks;
- :func:`fit_augmented_synthetic_control` and :func:`estimate_augmented_synthetic_control`:
  ridge-augmented synthetic control (Ben-Michael, Feller & Rothstein 2021), which
  corrects the synthetic control by the bias a ridge outcome model predicts from the
  remaining pre-period imbalance;
- :func:`estimate_synthetic_did`, :func:`estimate_panel_did` and
  :func:`estimate_synthdid_sc`: synthetic difference-in-differences (Arkhangelsky et al.
  2021), plain DiD and synthdid's synthetic control, with placebo standard errors,
  following the reference R package ``synthdid``; :func:`fit_synthetic_did` gives their
  weights and point estimates without inference;
- :func:`batch_estimate_synthetic_control` and :func:`batch_estimate_synthetic_did`: the
  same on a stack of units-by-times arrays, one row per panel, for Monte Carlo studies;
- the design of a geo-lift test on these estimators (choosing markets and a test length
  by simulated power) is in :mod:`playbook_lib.geo`
  (:func:`~playbook_lib.geo.choose_geo_lift_markets`).

Typical use::

    panel = synth.prepare_panel(data, unit="state", time="year", outcome="sales")
    sc = synth.estimate_synthetic_control(panel)
    sdid = synth.estimate_synthetic_did(panel)
"""

from playbook_lib.synth.augmented import (
    AugmentedSyntheticControlFit,
    estimate_augmented_synthetic_control,
    fit_augmented_synthetic_control,
)
from playbook_lib.synth.control import (
    LeaveOneOutResult,
    SyntheticControlFit,
    compute_leave_one_out,
    fit_synthetic_control,
)
from playbook_lib.synth.panel import Panel, compute_outcome_matrix, prepare_panel
from playbook_lib.synth.placebo import (
    PlaceboResult,
    batch_estimate_synthetic_control,
    compute_placebo_in_space,
    estimate_placebo_in_time,
    estimate_synthetic_control,
)
from playbook_lib.synth.sdid import (
    SyntheticDidFit,
    batch_estimate_synthetic_did,
    estimate_panel_did,
    estimate_synthdid_sc,
    estimate_synthetic_did,
    fit_synthetic_did,
)
from playbook_lib.synth.weights import (
    SOLVERS,
    SimplexWeights,
    compute_least_squares_weights,
    fit_simplex_weights,
)

__all__ = [
    "SOLVERS",
    "AugmentedSyntheticControlFit",
    "LeaveOneOutResult",
    "Panel",
    "PlaceboResult",
    "SimplexWeights",
    "SyntheticControlFit",
    "SyntheticDidFit",
    "batch_estimate_synthetic_control",
    "batch_estimate_synthetic_did",
    "compute_leave_one_out",
    "compute_least_squares_weights",
    "compute_outcome_matrix",
    "compute_placebo_in_space",
    "estimate_augmented_synthetic_control",
    "estimate_panel_did",
    "estimate_placebo_in_time",
    "estimate_synthdid_sc",
    "estimate_synthetic_control",
    "estimate_synthetic_did",
    "fit_augmented_synthetic_control",
    "fit_simplex_weights",
    "fit_synthetic_control",
    "fit_synthetic_did",
    "prepare_panel",
]
