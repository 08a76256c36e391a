"""Contract cases for playbook_lib.uplift (one valid call per public function)."""

from __future__ import annotations

import numpy as np

from contract import Bad, Case
from playbook_lib import uplift
from playbook_lib.simulate import bandit_logs as logs

_uplift = logs.simulate_uplift_data(400, rng=9)
# C order: the harness plants its NaN through a flat view, which a Fortran-ordered array
# (what DataFrame.to_numpy gives) does not have
_features = np.ascontiguousarray(_uplift[["x1", "x2", "x3", "x4", "x5"]].to_numpy())
_w = _uplift["treatment"].to_numpy()
_y = _uplift["conversion"].to_numpy().astype(float)
_score = _uplift["true_cate"].to_numpy()

CASES = [
    # check_valid off: fitted scikit-learn models compare by identity, so the harness cannot
    # see that two fits are equal; tests/test_uplift.py checks that the same rng gives
    # identical predictions under different global NumPy seeds
    Case(
        uplift.fit_meta_learner,
        {"features": _features, "treatment": _w, "outcome": _y, "learner": "x", "rng": 1},
        check_valid=False,
        extra=(
            Bad("one arm", {"treatment": np.ones(len(_w))}, ("treatment",)),
            Bad("treatment not 0/1", {"treatment": _w * 2.0}, ("treatment",)),
            Bad("not an estimator", {"base_estimator": "forest"}, ("base_estimator",)),
            Bad(
                "treatment_probability 1",
                {"treatment_probability": 1.0},
                ("treatment_probability",),
            ),
        ),
    ),
    Case(
        uplift.compute_qini_curve,
        {"score": _score, "treatment": _w, "outcome": _y},
        extra=(Bad("one arm", {"treatment": np.ones(len(_w))}, ("treatment",)),),
    ),
    Case(
        uplift.compute_qini_coefficient,
        {"score": _score, "treatment": _w, "outcome": _y},
        extra=(Bad("one arm", {"treatment": np.zeros(len(_w))}, ("treatment",)),),
    ),
    Case(
        uplift.estimate_uplift_at_k,
        {"score": _score, "treatment": _w, "outcome": _y, "fraction": 0.3},
        extra=(
            Bad("fraction 0", {"fraction": 0.0}, ("fraction",)),
            Bad("fraction too small for two units per arm", {"fraction": 0.005}, ("fraction",)),
        ),
    ),
    Case(
        uplift.estimate_targeting_policy_value,
        {"score": _score, "treatment": _w, "outcome": _y, "fraction": 0.3},
        extra=(
            Bad(
                "treatment_probability 1",
                {"treatment_probability": 1.0},
                ("treatment_probability",),
            ),
        ),
    ),
]
