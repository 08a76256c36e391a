"""Contract cases for playbook_lib.cuped (one valid call per public function)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from contract import Bad, Case
from playbook_lib import cuped
from playbook_lib.aggregates import CovariateStatistics

_rng = np.random.default_rng(11)
_n = 80
_x = _rng.gamma(2.0, 5.0, _n)
_t = np.tile([0, 1], _n // 2)
_y = 0.8 * _x + _rng.normal(0, 2, _n) + 0.5 * _t
_x2 = np.column_stack([_x, _rng.normal(size=_n)])
_frame = pd.DataFrame(
    {
        "y": _y,
        "x": _x,
        "z": _x2[:, 1],
        "treatment": _t,
        "stratum": np.repeat(["a", "b", "c", "d"], _n // 4),
        "sessions": 1 + _rng.poisson(3, _n),
    }
)
_frame["revenue"] = _frame["sessions"] * 2.0 + _rng.gamma(1.0, 2.0, _n)
_control_stats, _treatment_stats = cuped.summarize_arms(_y, _x, _t)
_constant_y = np.full(_n, 4.0)


def _near_constant(arm: CovariateStatistics) -> CovariateStatistics:
    """A covariate equal to 1e6 + round-off: its aggregates hold no spread."""
    value = 1e6
    return CovariateStatistics(
        arm.n,
        arm.sum_outcome,
        arm.n * value,
        arm.sum_outcome_squares,
        arm.n * value**2 * (1 + 1e-15),
        value * arm.sum_outcome,
    )


def _daily(arm: CovariateStatistics) -> CovariateStatistics:
    """The same statistics twice, as array fields (one entry per day)."""
    return CovariateStatistics(*(np.array([v, v]) for v in arm.to_dict().values()))


def _point_zero(result) -> bool:
    return (
        result.se == 0
        and result.estimate == 0
        and result.p_value == 1
        and result.ci_low == result.ci_high == 0
    )


_batch_y = np.vstack([_y, _y[::-1]])
_batch_x = np.vstack([_x, _x[::-1]])
_batch_t = np.vstack([_t, _t[::-1]])

CASES = [
    Case(
        cuped.estimate_cuped,
        {"outcome": _y, "covariate": _x, "treatment": _t},
        extra=(
            Bad("constant covariate", {"covariate": np.ones(_n)}, ("covariate",)),
            Bad("one arm", {"treatment": np.ones(_n)}, ("treatment",)),
            Bad("coded 1/2", {"treatment": _t + 1}, ("treatment",)),
            Bad(
                "constant outcome",
                {"outcome": _constant_y},
                (),
                expect="warning",
                check=_point_zero,
            ),
            Bad("theta string", {"theta": "0.8"}, ("theta",)),
            Bad("theta length", {"theta": [0.8, 0.1]}, ("theta",)),
        ),
    ),
    Case(
        cuped.estimate_cuped,
        {
            "outcome": "y",
            "covariate": ["x", "z"],
            "treatment": "treatment",
            "data": _frame,
            "relative": True,
            "theta_method": "total",
        },
        label="frame relative",
    ),
    Case(
        cuped.summarize_arms,
        {"outcome": _y, "covariate": _x, "treatment": _t},
        extra=(Bad("two covariates", {"covariate": _x2}, ("covariate",)),),
    ),
    Case(
        cuped.summarize_arms,
        {"outcome": "y", "covariate": "x", "treatment": "treatment", "data": _frame},
        label="frame",
    ),
    Case(
        cuped.estimate_cuped_from_stats,
        {"control": _control_stats, "treatment": _treatment_stats},
        extra=(
            Bad(
                "near-constant covariate",
                {
                    "control": _near_constant(_control_stats),
                    "treatment": _near_constant(_treatment_stats),
                },
                ("sum_covariate_squares",),
            ),
            Bad("array fields", {"control": _daily(_control_stats)}, ("control",)),
            Bad(
                "one unit",
                {"treatment": CovariateStatistics(1, 1.0, 1.0, 1.0, 1.0, 1.0)},
                ("treatment",),
            ),
            Bad("a mapping", {"control": _control_stats.to_dict()}, ("control",)),
            Bad("theta string", {"theta": "0.8"}, ("theta",)),
        ),
    ),
    Case(
        cuped.estimate_cuped_from_stats,
        {
            "control": _control_stats,
            "treatment": _treatment_stats,
            "relative": True,
            "theta_method": "total",
        },
        label="relative total",
    ),
    Case(
        cuped.batch_estimate_cuped,
        {"outcome": _batch_y, "covariate": _batch_x, "treatment": _batch_t},
        extra=(
            Bad("constant covariate", {"covariate": np.ones_like(_batch_x)}, ("covariate",)),
            Bad("include not boolean", {"include": np.ones_like(_batch_y)}, ("include",)),
            Bad("treatment 1-D wrong length", {"treatment": _t[:-1]}, ("treatment",)),
            Bad(
                "constant outcome",
                {"outcome": np.full_like(_batch_y, 3.0)},
                (),
                expect="result",
                check=lambda r: (
                    (r.to_frame()["se"] == 0).all() and (r.to_frame()["p_value"] == 1).all()
                ),
            ),
        ),
    ),
    Case(
        cuped.batch_estimate_cuped,
        {"outcome": _batch_y, "covariate": _batch_x, "treatment": _t, "method": "lin"},
        label="lin",
    ),
    Case(
        cuped.estimate_regression_adjustment,
        {"outcome": _y, "covariates": _x, "treatment": _t},
        extra=(
            Bad(
                "constant outcome",
                {"outcome": _constant_y},
                (),
                expect="warning",
                check=_point_zero,
            ),
            Bad("population ancova", {"method": "ancova", "estimand": "population"}, ("estimand",)),
            Bad("collinear", {"covariates": np.column_stack([_x, 2 * _x])}, ("covariates",)),
        ),
    ),
    Case(
        cuped.estimate_regression_adjustment,
        {
            "outcome": "y",
            "covariates": ["x", "z"],
            "treatment": "treatment",
            "data": _frame,
            "method": "ancova",
            "cov_type": "HC1",
        },
        label="frame ancova",
        extra=(
            Bad(
                "constant outcome",
                {"data": _frame.assign(y=2.0)},
                (),
                expect="warning",
                check=_point_zero,
            ),
        ),
    ),
    Case(
        cuped.cross_fit_predictions,
        {"features": _x, "target": _y, "model": LinearRegression(), "n_folds": 3},
        # Features may hold NaN (new users without history) if the model copes.
        kinds={"features": "array-nan-ok"},
        extra=(
            Bad("more folds than units", {"features": _x[:2], "target": _y[:2]}, ("n_folds",)),
            Bad("not a model", {"model": "ols"}, ("model",)),
        ),
    ),
    Case(
        cuped.cross_fit_predictions,
        {"features": _x2, "target": _y, "n_folds": 2},
        label="default model",
        # NaN features are documented input: the default model handles them.
        accepts=("features=nan",),
    ),
    Case(
        cuped.estimate_cupac,
        {
            "outcome": _y,
            "features": _x2,
            "treatment": _t,
            "model": LinearRegression(),
            "n_folds": 3,
        },
        # LinearRegression cannot take NaN features: that must be a ValueError naming
        # features (scikit-learn's error, re-raised by cross_fit_predictions).
        extra=(Bad("one arm", {"treatment": np.zeros(_n)}, ("treatment",)),),
    ),
    Case(
        cuped.estimate_cupac,
        {
            "outcome": "y",
            "features": ["x", "z"],
            "treatment": "treatment",
            "data": _frame,
            "n_folds": 2,
        },
        label="frame default model",
        # NaN in a feature column is documented input (the default model handles it).
        accepts=("data[x]=nan", "data[z]=nan"),
    ),
    Case(
        cuped.estimate_ratio_cuped,
        {
            "numerator": "revenue",
            "denominator": "sessions",
            "treatment": "treatment",
            "covariates": ["x"],
            "data": _frame,
        },
        extra=(Bad("zero denominators", {"data": _frame.assign(sessions=0)}, ("denominator",)),),
    ),
    Case(
        cuped.estimate_ratio_cuped,
        {
            "numerator": _frame["revenue"].to_numpy(),
            "denominator": _frame["sessions"].to_numpy(),
            "treatment": _t,
        },
        label="no covariates",
    ),
    Case(
        cuped.estimate_post_stratified,
        {
            "outcome": _y,
            "strata": np.repeat(np.array(["a", "b", "c", "d"]), _n // 4),
            "treatment": _t,
        },
        extra=(
            Bad(
                "missing label",
                {
                    "strata": np.r_[
                        [None], np.repeat(np.array(["a", "b"], dtype=object), _n // 2)[1:]
                    ]
                },
                ("strata",),
            ),
            Bad(
                "thin stratum",
                {"strata": np.r_[["z"], np.repeat(np.array(["a", "b"]), _n // 2)[1:]]},
                ("strata",),
            ),
            Bad(
                "constant outcome",
                {"outcome": _constant_y},
                (),
                expect="warning",
                check=_point_zero,
            ),
        ),
    ),
    Case(
        cuped.estimate_post_stratified,
        {"outcome": "y", "strata": "stratum", "treatment": "treatment", "data": _frame},
        label="frame",
    ),
]
