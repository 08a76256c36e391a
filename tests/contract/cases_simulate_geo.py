"""Contract cases for playbook_lib.simulate.geo_panels."""

from __future__ import annotations

import numpy as np

from contract import Bad, Case
from playbook_lib.simulate import geo_panels

_pre = np.random.default_rng(1).normal(100.0, 10.0, (3, 8))
_sds = {
    "baseline_sd": "positive",
    "noise_sd": "positive",
    "weekly_amplitude": "positive",
    "geo_trend_sd": "positive",
    "baseline_mean": "positive",
}

CASES = [
    Case(
        geo_panels.assign_geos_arrays,
        {"pre_kpi_mean": _pre, "rng": 1},
        extra=(
            Bad(
                "pairs, odd geos",
                {"pre_kpi_mean": _pre[:, :7], "design": "pairs"},
                ("design", "pairs"),
            ),
            Bad("one geo", {"pre_kpi_mean": _pre[:, :1]}, ("pre_kpi_mean",)),
        ),
    ),
    Case(
        geo_panels.simulate_geo_kpi,
        {"n_sims": 3, "n_geos": 6, "pre_days": 7, "post_days": 7, "rng": 1},
        kinds=_sds,
        extra=(
            Bad("one geo", {"n_geos": 1}, ("n_geos",)),
            Bad("no days", {"pre_days": 0}, ("pre_days",)),
        ),
    ),
    Case(
        geo_panels.simulate_geo_panel,
        {"n_geos": 6, "pre_days": 7, "post_days": 7, "rng": 1},
        kinds=_sds,
        extra=(Bad("one geo", {"n_geos": 1}, ("n_geos",)),),
    ),
    Case(
        geo_panels.simulate_staggered_panel,
        {"n_units": 10, "n_periods": 6, "rng": 1},
        kinds={
            "unit_effect_sd": "positive",
            "unit_sd": "positive",
            "period_sd": "positive",
            "noise_sd": "positive",
        },
        extra=(
            Bad("cohort at 0", {"cohorts": (0,)}, ("cohorts",)),
            Bad("cohort fraction", {"cohorts": (2.5,)}, ("cohorts",)),
            Bad("one unit", {"n_units": 1}, ("n_units",)),
        ),
    ),
    Case(
        geo_panels.simulate_geo_kpi,
        {
            "n_sims": 3,
            "n_geos": 8,
            "pre_days": 7,
            "post_days": 7,
            "noise_autocorrelation": 0.5,
            "noise_df": 5.0,
            "random_walk_sd": 10.0,
            "geo_weekly_sd": 0.05,
            "design": "strata",
            "n_strata": 2,
            "rng": 1,
        },
        kinds={**_sds, "random_walk_sd": "positive", "geo_weekly_sd": "positive"},
        label="persistent noise, strata",
        extra=(
            Bad("unit autocorrelation", {"noise_autocorrelation": 1.0}, ("noise_autocorrelation",)),
            Bad("noise df of 2", {"noise_df": 2.0}, ("noise_df",)),
            Bad("too many strata", {"n_strata": 5}, ("n_strata",)),
        ),
    ),
    Case(
        geo_panels.simulate_clustered_outcomes,
        {"n_sims": 3, "n_clusters": 6, "cluster_size": 4, "rng": 1},
        kinds={"icc": "probability", "sd": "positive"},
        extra=(
            Bad("one cluster", {"n_clusters": 1}, ("n_clusters",)),
            Bad("empty arm", {"n_clusters": 2, "treated_fraction": 0.1}, ("treated_fraction",)),
        ),
    ),
    Case(
        geo_panels.simulate_cluster_randomized_users,
        {"n_clusters": 6, "cluster_size": 4, "rng": 1},
        kinds={"icc": "probability", "sd": "positive"},
        extra=(Bad("one cluster", {"n_clusters": 1}, ("n_clusters",)),),
    ),
]
