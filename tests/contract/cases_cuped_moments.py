"""Contract cases for CUPED with several covariates from per-arm moments
(playbook_lib.cuped.regression.estimate_cuped_moments_from_stats)."""

from __future__ import annotations

import numpy as np

from contract import Bad, Case
from playbook_lib.aggregates import CovariateMoments
from playbook_lib.cuped.regression import estimate_cuped_moments_from_stats

_rng = np.random.default_rng(12)
_n = 120
_x = np.column_stack([_rng.gamma(2.0, 5.0, _n), _rng.poisson(3.0, _n), _rng.normal(size=_n)])
_t = np.tile([False, True], _n // 2)
_y = _x @ np.array([0.8, 0.5, -1.0]) + _rng.normal(0, 2, _n) + 0.5 * _t
_control = CovariateMoments.from_values(_y[~_t], _x[~_t])
_treatment = CovariateMoments.from_values(_y[_t], _x[_t])


def _collinear(arm: CovariateMoments) -> CovariateMoments:
    """The first covariate twice: the pooled covariance of the covariates is singular."""
    keep = [0, 1, 1]
    return CovariateMoments(
        arm.n,
        arm.sum_outcome,
        arm.sum_covariates[[0, 0]],
        arm.sum_cross_products[np.ix_(keep, keep)],
    )


def _constant(arm: CovariateMoments) -> CovariateMoments:
    """One covariate equal to 1e6 in every unit (its centred sums are round-off)."""
    cross = np.array(arm.sum_cross_products)
    cross[3, :] = cross[:, 3] = 1e6 * np.concatenate(([arm.sum_outcome], arm.sum_covariates))
    cross[3, 3] = arm.n * 1e12
    sums = np.array(arm.sum_covariates)
    sums[2] = arm.n * 1e6
    return CovariateMoments(arm.n, arm.sum_outcome, sums, cross)


CASES = [
    Case(
        estimate_cuped_moments_from_stats,
        {"control": _control, "treatment": _treatment},
        extra=(
            Bad(
                "collinear covariates",
                {"control": _collinear(_control), "treatment": _collinear(_treatment)},
                ("sum_cross_products",),
            ),
            Bad(
                "a constant covariate",
                {"control": _constant(_control), "treatment": _constant(_treatment)},
                ("sum_cross_products",),
            ),
            Bad("other covariates", {"treatment": _treatment.select([0])}, ("treatment",)),
            Bad(
                "one unit",
                {"treatment": CovariateMoments.from_values(_y[:1], _x[:1])},
                ("treatment",),
            ),
            Bad("theta of the wrong length", {"theta": [1.0, 2.0]}, ("theta",)),
        ),
    ),
    Case(
        estimate_cuped_moments_from_stats,
        {"control": _control, "treatment": _treatment, "relative": True, "theta_method": "total"},
        label="relative total",
    ),
    Case(
        estimate_cuped_moments_from_stats,
        {"control": _control, "treatment": _treatment, "theta": [0.8, 0.5, -1.0]},
        kinds={"theta": "array"},
        label="fixed theta",
    ),
]
