"""Contract cases for playbook_lib.simulate.monitoring (one valid call per public function)."""

from __future__ import annotations

import numpy as np

from contract import Bad, Case
from playbook_lib.simulate import monitoring

CASES = [
    Case(
        monitoring.simulate_metric_stream,
        {
            "n_steps": 30,
            "mean": 0.01,
            "sd": 0.002,
            "shift": 0.002,
            "shift_step": 10,
            "rng": np.random.default_rng(1),
        },
        kinds={"sd": "positive"},
        extra=(
            Bad("shift_step 0", {"shift_step": 0}, ("shift_step",)),
            Bad("shift_step after the end", {"shift_step": 31}, ("shift_step",)),
            Bad("zero sd", {"sd": 0.0}, ("sd",)),
        ),
    ),
    Case(
        monitoring.simulate_metric_stream,
        {"n_steps": 5, "mean": 1.0, "sd": 0.5},
        kinds={"sd": "positive"},
        label="no shift",
    ),
    Case(
        monitoring.simulate_assignment_counts,
        {
            "n_days": 10,
            "daily_units": 1000,
            "expected_shares": np.array([0.5, 0.5]),
            "lost_share": 0.05,
            "lost_arm": 1,
            "start_day": 4,
            "rng": np.random.default_rng(2),
        },
        kinds={"daily_units": "count"},
        extra=(
            Bad("no units", {"daily_units": 0}, ("daily_units",)),
            Bad("lost_arm past the arms", {"lost_arm": 2}, ("lost_arm",)),
            Bad("negative lost_arm", {"lost_arm": -1}, ("lost_arm",)),
            Bad("start_day 0", {"start_day": 0}, ("start_day",)),
            Bad("start_day after the end", {"start_day": 11}, ("start_day",)),
            Bad("loss without start_day", {"start_day": None}, ("start_day",)),
            Bad("lost_share one", {"lost_share": 1.0}, ("lost_share",)),
            Bad(
                "shares do not sum to one",
                {"expected_shares": np.array([0.6, 0.6])},
                ("expected_shares",),
            ),
            Bad("a zero share", {"expected_shares": np.array([0.0, 1.0])}, ("expected_shares",)),
            Bad("one share", {"expected_shares": np.array([1.0])}, ("expected_shares",)),
        ),
    ),
    Case(
        monitoring.simulate_assignment_counts,
        {"n_days": 3, "daily_units": 50, "expected_shares": np.array([0.2, 0.3, 0.5])},
        kinds={"daily_units": "count"},
        label="three arms",
    ),
]
