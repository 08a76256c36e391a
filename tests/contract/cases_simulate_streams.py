"""Contract cases for playbook_lib.simulate.streams (one valid call per public function)."""

from __future__ import annotations

import numpy as np

from contract import Bad, Case
from playbook_lib.simulate import streams

CASES = [
    Case(
        streams.simulate_z_paths,
        {
            "information_fractions": np.array([0.25, 0.5, 1.0]),
            "n_paths": 20,
            "drift": 1.0,
            "rng": 1,
        },
        extra=(
            Bad(
                "decreasing fractions",
                {"information_fractions": [0.5, 0.25, 1.0]},
                ("information_fractions",),
            ),
            Bad(
                "fraction above 1",
                {"information_fractions": [0.5, 1.5]},
                ("information_fractions",),
            ),
            Bad("zero paths", {"n_paths": 0}, ("n_paths",)),
        ),
    ),
    Case(
        streams.simulate_accruing_differences,
        {"n_paths": 4, "n_steps": 6, "effect": 0.2, "sd": 1.5, "users_per_step": 10, "rng": 2},
        extra=(
            Bad("negative sd", {"sd": -1.0}, ("sd",)),
            Bad("zero steps", {"n_steps": 0}, ("n_steps",)),
            Bad("zero users per step", {"users_per_step": 0}, ("users_per_step",)),
            # sd = 0: every estimate equals the effect and every variance is 0.
            Bad(
                "zero sd",
                {"sd": 0.0},
                ("sd",),
                expect="result",
                check=lambda result: bool(
                    np.allclose(result[1], 0.2, rtol=1e-12) and np.all(result[2] == 0.0)
                ),
            ),
        ),
    ),
    Case(
        streams.simulate_ab_stream,
        {"n_users": 50, "baseline_rate": 0.3, "lift": 0.05, "rng": 3},
        extra=(
            Bad("rate plus lift above 1", {"lift": 0.8}, ("lift",)),
            Bad("rate plus lift below 0", {"lift": -0.5}, ("lift",)),
            Bad("one user", {"n_users": 1}, ("n_users",)),
            # Rates at the ends of [0, 1] are legitimate: nobody (everybody) converts.
            Bad(
                "rate 0",
                {"baseline_rate": 0.0, "lift": 0.0},
                ("baseline_rate",),
                expect="result",
                check=lambda frame: frame["converted"].sum() == 0,
            ),
            Bad(
                "rate 1",
                {"baseline_rate": 1.0, "lift": 0.0},
                ("baseline_rate",),
                expect="result",
                check=lambda frame: frame["converted"].all(),
            ),
        ),
    ),
    Case(
        streams.simulate_binary_streams,
        {"n_paths": 3, "n_users": 40, "control_rate": 0.4, "treatment_rate": 0.3, "rng": 4},
        extra=(
            Bad("zero users", {"n_users": 0}, ("n_users",)),
            Bad(
                "rate 1",
                {"treatment_rate": 1.0},
                ("treatment_rate",),
                expect="result",
                check=lambda result: bool(np.all(result[1][result[0] == 1] == 1.0)),
            ),
        ),
    ),
]
