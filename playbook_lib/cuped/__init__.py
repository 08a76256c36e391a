"""CUPED, regression adjustment and other ways to spend pre-period data on precision.

Every estimator compares a treatment arm (``treatment == 1``) with a control arm
(``treatment == 0``) in a randomised experiment and returns the shared
:class:`~playbook_lib.results.Estimate` of ``mean(treatment) - mean(control)``.

- :func:`estimate_cuped` / :func:`estimate_cuped_from_stats`: CUPED (Deng, Xu, Kohavi &
  Walker, 2013) from user rows (one or several pre-period covariates) or from per-arm
  :class:`~playbook_lib.aggregates.CovariateStatistics` (one covariate; counts, sums, sums
  of squares, cross products; :func:`summarize_arms` computes them from rows);
  ``relative=True`` gives the relative lift as a separate estimate (file ``core.py``).
- :func:`batch_estimate_cuped`: the same estimator (and the plain difference and Lin's
  estimator) for many simulated experiments at once, arrays of shape ``(n_sims, n)``,
  returned as one :class:`~playbook_lib.results.Estimates` table (``batch.py``).
- :func:`estimate_regression_adjustment`: ANCOVA and Lin's (2013) fully interacted
  estimator with heteroskedasticity-robust (HC2) standard errors, via statsmodels, and
  :func:`estimate_cuped_moments_from_stats`, CUPED with several covariates from per-arm
  :class:`~playbook_lib.aggregates.CovariateMoments` (what one SQL ``GROUP BY`` returns;
  ``regression.py``).
- :func:`cross_fit_predictions` / :func:`estimate_cupac`: a machine-learning prediction of
  the outcome from pre-period features, cross-fitted, used as the CUPED covariate (CUPAC,
  ``cupac.py``).
- :func:`estimate_ratio_cuped`: CUPED for ratio metrics (e.g. revenue per session) with the
  delta method (Deng, Knoblich & Lu, 2018; ``ratio.py``).
- :func:`estimate_post_stratified`: post-stratification, CUPED's discrete sibling
  (Miratrix, Sekhon & Yu, 2013; ``strata.py``).

Conventions: ``theta`` is estimated on the pooled sample *within arms* (each arm centred on
its own means, then pooled), which makes the CUPED effect identical to the OLS coefficient
on the treatment in ``outcome ~ treatment + covariate``; ``theta_method="total"`` gives the
textbook ``cov(Y, X) / var(X)`` on the pooled sample ignoring arms, as in Deng et al. (the
two effect estimates differ by O(1/n)). Standard errors treat ``theta`` as known (estimating
it adds a relative O(k/n) to the variance) and use Welch's t with Welch-Satterthwaite degrees
of freedom on the adjusted outcomes.
"""

from __future__ import annotations

from playbook_lib.cuped.batch import batch_estimate_cuped
from playbook_lib.cuped.core import estimate_cuped, estimate_cuped_from_stats, summarize_arms
from playbook_lib.cuped.cupac import cross_fit_predictions, estimate_cupac
from playbook_lib.cuped.ratio import estimate_ratio_cuped
from playbook_lib.cuped.regression import (
    estimate_cuped_moments_from_stats,
    estimate_regression_adjustment,
)
from playbook_lib.cuped.strata import estimate_post_stratified

__all__ = [
    "batch_estimate_cuped",
    "cross_fit_predictions",
    "estimate_cupac",
    "estimate_cuped",
    "estimate_cuped_from_stats",
    "estimate_cuped_moments_from_stats",
    "estimate_post_stratified",
    "estimate_ratio_cuped",
    "estimate_regression_adjustment",
    "summarize_arms",
]
