"""Sequential testing: group-sequential boundaries, alpha spending and always-valid inference.

Everything here works on the *canonical joint distribution* of group-sequential theory
(:cite:`jennison2000group`, ch. 3): at information fractions ``t_1 < ... < t_K`` the
z-statistics are jointly normal with ``E[Z_k] = drift * sqrt(t_k)`` and
``corr(Z_i, Z_j) = sqrt(t_i / t_j)`` (``i <= j``), where ``drift`` is the expected z at full
information. Boundary-crossing probabilities are computed exactly (to ~1e-7 or better) by the
Armitage-McPherson-Rowe recursive numerical integration on the grid of Jennison & Turnbull
(2000, ch. 19), so boundaries are *solved*, not read from tables or approximated per look.

Contents (one file per idea)
----------------------------
- ``recursion``: :func:`compute_crossing_probabilities` (probability of stopping above or
  below the boundaries at each look, given a drift) and :func:`compute_naive_peeking_error`
  (type-I error of repeated unadjusted tests).
- ``designs``: :class:`GroupSequentialDesign`; :func:`design_pocock`,
  :func:`design_obrien_fleming` (classical constant-shape designs) and
  :func:`design_from_bounds` (the exact price of boundaries chosen by hand).
- ``spending``: :func:`compute_alpha_spending`, :func:`design_alpha_spending` (Lan-DeMets
  spending) and :func:`compute_group_sequential_decisions` (a spending design applied to a
  running experiment as its looks happen).
- ``futility``: :func:`design_beta_spending` (one-sided designs whose futility bounds
  spend the type-II error at the alternative they are sized for; binding or non-binding).
- ``power``: :func:`compute_power`, :func:`compute_drift_for_power`,
  :func:`compute_design_characteristics` (inflation factor, maximum and expected sample
  size, with futility), :func:`compute_operating_characteristics` (power, expected sample
  size and early stops across drifts) and :func:`batch_estimate_at_stop` (a design run on
  many simulated z-paths: one row per path, so rejection rates come with Monte Carlo
  errors).
- ``interim``: :func:`compute_interim_statistics` (and its ``_from_stats`` twin for
  cumulative warehouse aggregates, :func:`compute_interim_paths` for many simulated
  experiments at once, and :func:`simulate_interim_paths` for a finished experiment's
  interim looks under random arrival orders).
- ``after_stop``: :func:`estimate_after_stop` (the median-unbiased estimate, adjusted
  confidence interval and stage-wise p-value of a test that stopped) and
  :func:`compute_repeated_confidence_intervals` (intervals valid at every look at once).
- ``always_valid``: :func:`choose_mixture_variance`, :func:`compute_msprt_statistic`,
  :func:`compute_always_valid_p_values`, :func:`compute_confidence_sequence`,
  :func:`estimate_always_valid` and :func:`batch_estimate_always_valid`: the normal-mixture
  mSPRT and its confidence sequence.

Arms are always (control, treatment), and effects are treatment minus control.
"""

from __future__ import annotations

from playbook_lib.sequential.after_stop import (
    compute_repeated_confidence_intervals,
    estimate_after_stop,
)
from playbook_lib.sequential.always_valid import (
    batch_estimate_always_valid,
    choose_mixture_variance,
    compute_always_valid_p_values,
    compute_confidence_sequence,
    compute_msprt_statistic,
    estimate_always_valid,
)
from playbook_lib.sequential.designs import (
    GroupSequentialDesign,
    design_from_bounds,
    design_obrien_fleming,
    design_pocock,
)
from playbook_lib.sequential.futility import design_beta_spending
from playbook_lib.sequential.interim import (
    compute_interim_paths,
    compute_interim_statistics,
    compute_interim_statistics_from_stats,
    simulate_interim_paths,
)
from playbook_lib.sequential.power import (
    batch_estimate_at_stop,
    compute_design_characteristics,
    compute_drift_for_power,
    compute_operating_characteristics,
    compute_power,
)
from playbook_lib.sequential.recursion import (
    compute_crossing_probabilities,
    compute_naive_peeking_error,
)
from playbook_lib.sequential.spending import (
    SPENDING_FUNCTIONS,
    compute_alpha_spending,
    compute_group_sequential_decisions,
    design_alpha_spending,
)

__all__ = [
    "GroupSequentialDesign",
    "SPENDING_FUNCTIONS",
    "batch_estimate_always_valid",
    "batch_estimate_at_stop",
    "choose_mixture_variance",
    "compute_alpha_spending",
    "compute_always_valid_p_values",
    "compute_confidence_sequence",
    "compute_crossing_probabilities",
    "compute_design_characteristics",
    "compute_drift_for_power",
    "compute_group_sequential_decisions",
    "compute_interim_paths",
    "compute_interim_statistics",
    "compute_interim_statistics_from_stats",
    "compute_msprt_statistic",
    "compute_naive_peeking_error",
    "compute_operating_characteristics",
    "compute_power",
    "compute_repeated_confidence_intervals",
    "design_alpha_spending",
    "design_beta_spending",
    "design_from_bounds",
    "design_obrien_fleming",
    "design_pocock",
    "estimate_after_stop",
    "estimate_always_valid",
    "simulate_interim_paths",
]
