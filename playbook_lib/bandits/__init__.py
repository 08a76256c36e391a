"""Bandits, inverse propensity weighting and doubly robust estimation.

What this module offers, in the order the chapter teaches it (one file per idea):

1. **Thompson sampling** for Bernoulli arms, simulated for many replications at once
   (arrays of shape ``(n_reps, n_rounds)``): plain, batched, top-two, with an exploration
   floor (:func:`simulate_thompson_sampling`, file ``policy``).
2. **Exact propensities**: the probability Thompson sampling gives each arm, from the Beta
   posteriors, by a closed form or one-dimensional quadrature
   (:func:`compute_beta_superiority_probability`, :func:`compute_thompson_propensities`,
   :func:`compute_top_two_propensities`, file ``propensities``).
3. **Estimators on adaptively collected logs**: IPW (Horvitz-Thompson), self-normalised
   IPW, AIPW / doubly robust, an adaptively weighted AIPW (a contrast variant of the
   stable-variance weights of Hadad et al., 2021), the naive difference in means (for
   contrast) (file ``estimators``), a vectorised moving-block bootstrap (file
   ``bootstrap``), and any of them on many replicated logs at once
   (:func:`batch_estimate_effects`, file ``batch``).
4. **Confounded logs**: IPW with an estimated propensity and cross-fitted doubly robust
   estimation with logistic models, on one data set or many (file ``confounded``).
5. **An anytime-valid confidence sequence** for the difference of two arms, valid at
   every round without an exploration floor, a bound on the weights or a central limit
   theorem (:func:`compute_confidence_sequence`, file ``sequence``).
6. **Off-policy evaluation** of a new policy from logs of an old one (file ``off_policy``).
7. **Contextual bandits**: LinUCB and linear Thompson sampling with Sherman-Morrison
   updates of the inverse design matrices (file ``contextual``).

Heterogeneous effects and targeting (meta-learners, Qini curves) are in
:mod:`playbook_lib.uplift`.

Every ``estimate_*`` function returns one :class:`playbook_lib.Estimate`, every ``batch_*``
function one :class:`playbook_lib.Estimates` table (a row per replication); bad input
raises ``ValueError`` naming the argument.
"""

from __future__ import annotations

from playbook_lib.bandits.batch import batch_estimate_effects
from playbook_lib.bandits.bootstrap import compute_block_bootstrap_means, estimate_block_bootstrap
from playbook_lib.bandits.confounded import (
    batch_estimate_dr,
    batch_estimate_ipw_estimated_propensity,
    estimate_cross_fitted_dr,
    estimate_ipw_estimated_propensity,
)
from playbook_lib.bandits.contextual import ContextualRun, simulate_contextual_bandit
from playbook_lib.bandits.estimators import (
    estimate_adaptive_aipw,
    estimate_aipw,
    estimate_ipw,
    estimate_naive_difference,
    estimate_snipw,
)
from playbook_lib.bandits.off_policy import batch_estimate_policy_value, estimate_policy_value
from playbook_lib.bandits.policy import BanditRun, simulate_thompson_sampling
from playbook_lib.bandits.propensities import (
    compute_beta_superiority_probability,
    compute_thompson_propensities,
    compute_top_two_propensities,
)
from playbook_lib.bandits.sequence import (
    compute_confidence_sequence,
    compute_confidence_sequence_coverage,
    estimate_ipw_confidence_sequence,
)

__all__ = [
    "BanditRun",
    "ContextualRun",
    "compute_confidence_sequence_coverage",
    "batch_estimate_dr",
    "batch_estimate_effects",
    "batch_estimate_ipw_estimated_propensity",
    "batch_estimate_policy_value",
    "compute_beta_superiority_probability",
    "compute_block_bootstrap_means",
    "compute_confidence_sequence",
    "compute_thompson_propensities",
    "compute_top_two_propensities",
    "estimate_adaptive_aipw",
    "estimate_aipw",
    "estimate_block_bootstrap",
    "estimate_cross_fitted_dr",
    "estimate_ipw",
    "estimate_ipw_confidence_sequence",
    "estimate_ipw_estimated_propensity",
    "estimate_naive_difference",
    "estimate_policy_value",
    "estimate_snipw",
    "simulate_contextual_bandit",
    "simulate_thompson_sampling",
]
