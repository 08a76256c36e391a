"""Contract cases for playbook_lib.simulate.bandit_logs (one valid call per public function)."""

from __future__ import annotations

import numpy as np

from contract import Bad, Case
from playbook_lib.simulate import bandit_logs as logs

_environment = logs.simulate_contextual_environment(n_arms=3, n_features=3, rng=1)

CASES = [
    Case(
        logs.simulate_bandit_logs,
        {"arm_means": np.array([0.3, 0.5]), "n_rounds": 50, "rng": 1},
        kinds={"batch_size": "count", "propensity_floor": "probability"},
        extra=(Bad("mean above one", {"arm_means": np.array([0.3, 1.5])}, ("arm_means",)),),
    ),
    Case(
        logs.simulate_bandit_logs,
        {
            "arm_means": np.array([0.3, 0.5, 0.4]),
            "n_rounds": 50,
            "batch_size": 10,
            "top_two": True,
            "propensity_floor": 0.05,
            "rng": 1,
        },
        kinds={"batch_size": "count", "propensity_floor": "probability"},
        label="batched",
    ),
    Case(logs.compute_confounded_true_ate, {}),
    Case(logs.simulate_confounded_replications, {"n": 50, "n_reps": 2, "rng": 1}),
    Case(logs.simulate_confounded_logs, {"n": 50, "rng": 1}),
    Case(
        logs.simulate_contextual_environment,
        {"n_arms": 3, "n_features": 3, "rng": 1},
        kinds={"slope_sd": "positive"},
        extra=(Bad("one arm", {"n_arms": 1}, ("n_arms",)),),
    ),
    Case(
        logs.simulate_contextual_logs,
        {"environment": _environment, "n": 50, "logging_theta": _environment.theta, "rng": 1},
        kinds={"temperature": "positive"},
        extra=(
            Bad(
                "logging_theta of the wrong shape",
                {"logging_theta": _environment.theta[:2]},
                ("logging_theta",),
            ),
            Bad("zero temperature", {"temperature": 0.0}, ("temperature",)),
        ),
    ),
    Case(logs.simulate_uplift_data, {"n": 100, "rng": 1}),
]
