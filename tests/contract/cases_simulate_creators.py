"""Contract cases for playbook_lib.simulate.creators (one valid call per public function)."""

from __future__ import annotations

from contract import Bad, Case
from playbook_lib.simulate import creators

CASES = [
    Case(
        creators.simulate_creator_experiments,
        {
            "n_genres": 2,
            "creators_per_genre": 3,
            "n_regions": 2,
            "n_replications": 2,
            "rng": 1,
        },
        kinds={
            "genre_sd": "positive",
            "creator_sd": "positive",
            "outcome_sd": "positive",
            "median_users": "positive",
            "users_log_sd": "positive",
        },
        extra=(
            Bad("min_users below 4", {"min_users": 3}, ("min_users",)),
            Bad("max_users below min_users", {"max_users": 10}, ("max_users",)),
            Bad("zero outcome_sd", {"outcome_sd": 0.0}, ("outcome_sd",)),
            Bad("zero genres", {"n_genres": 0}, ("n_genres",)),
        ),
    ),
    Case(
        creators.simulate_creator_experiments,
        {
            "n_genres": 2,
            "creators_per_genre": 3,
            "n_replications": 2,
            "redraw_truth": False,
            "rng": 1,
        },
        label="fixed truth",
    ),
    Case(
        creators.simulate_geo_deltas,
        {"n_geos": 6, "n_replications": 2, "rng": 1},
        kinds={"baseline_sd": "positive", "day_noise_sd": "positive"},
        extra=(
            Bad("odd n_geos", {"n_geos": 7}, ("n_geos",)),
            Bad("too few geos", {"n_geos": 2}, ("n_geos",)),
            Bad("one pre day", {"pre_days": 1}, ("pre_days",)),
            Bad("zero day noise", {"day_noise_sd": 0.0}, ("day_noise_sd",)),
        ),
    ),
]
