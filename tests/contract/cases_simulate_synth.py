"""Contract cases for playbook_lib.simulate.synth_panels (the factor-model panels)."""

from __future__ import annotations

from contract import Bad, Case
from playbook_lib.simulate import synth_panels

CASES = [
    Case(
        synth_panels.simulate_factor_panel_arrays,
        {"n_sims": 2, "n_units": 5, "n_periods": 6, "rng": 1},
        kinds={"n_factors": "integer"},
        extra=(
            Bad("one unit", {"n_units": 1}, ("n_units",)),
            Bad("one period", {"n_periods": 1}, ("n_periods",)),
            Bad("negative n_factors", {"n_factors": -1}, ("n_factors",)),
            Bad("negative noise_sd", {"noise_sd": -1.0}, ("noise_sd",)),
            Bad("negative unit_sd", {"unit_sd": -0.5}, ("unit_sd",)),
            Bad("zero noise", {"noise_sd": 0.0, "unit_sd": 0.0}, (), expect="result"),
        ),
    ),
    Case(
        synth_panels.simulate_factor_panel,
        {"n_units": 6, "n_periods": 8, "n_treated": 2, "treatment_start": 5, "rng": 1},
        kinds={"n_factors": "integer"},
        extra=(
            Bad("too many treated", {"n_treated": 5}, ("n_treated",)),
            Bad("treatment_start at the end", {"treatment_start": 8}, ("treatment_start",)),
            Bad("treatment_start too early", {"treatment_start": 1}, ("treatment_start",)),
            Bad("relative lift below -1", {"relative": True, "lift": -2.0}, ("lift",)),
            Bad("negative time_sd", {"time_sd": -1.0}, ("time_sd",)),
            Bad("relative lift", {"relative": True, "lift": 0.1}, (), expect="result"),
        ),
    ),
]
