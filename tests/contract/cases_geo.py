"""Contract cases for playbook_lib.geo (one valid call per public function)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from contract import Bad, Case
from playbook_lib import geo
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.datasets import load_mpdta
from playbook_lib.simulate import (
    simulate_cluster_randomized_users,
    simulate_clustered_outcomes,
    simulate_factor_panel,
    simulate_geo_panel,
    simulate_staggered_panel,
)

_panel = simulate_geo_panel(n_geos=8, pre_days=7, post_days=7, lift=0.05, rng=3)
_pairs_panel = simulate_geo_panel(n_geos=8, pre_days=7, post_days=7, design="pairs", rng=4)
_weekly = simulate_geo_panel(n_geos=10, pre_days=21, post_days=7, lift=0.05, rng=5)
_weekly = _weekly.assign(week=_weekly["day"] // 7 - 3)
_table = geo.aggregate_geo_periods(_panel)
_staggered = simulate_staggered_panel(n_units=12, n_periods=8, rng=6)
# the first row belongs to a treated unit, so a NaN there is a first_treated that varies
_staggered = pd.concat(
    [
        _staggered[_staggered["first_treated"].notna()],
        _staggered[_staggered["first_treated"].isna()],
    ],
    ignore_index=True,
)
# the history a geo-lift design reads (8 markets, 14 periods, no treatment)
_lift_history = simulate_factor_panel(8, 14, treatment_start=13, lift=0.0, noise_sd=1.0, rng=4)[
    ["unit", "time", "outcome"]
]
_rng = np.random.default_rng(7)
_values = _rng.normal(size=12)
_treated = np.arange(12) % 2 == 0
_pair = np.repeat(np.arange(6), 2)
_pre_kpi = pd.Series(_rng.normal(100.0, 10.0, 8), index=[f"g{i}" for i in range(8)])

# A treatment indicator constant within geos is absorbed by the geo fixed effects.
_constant_within_unit = _panel.assign(treated=_panel["group"] == "treatment")
# A constant outcome: every per-geo delta equals 0 in both arms.
_flat = _panel.assign(kpi=1.0)
# One treated geo: clustered errors are far too small (a PlaybookWarning).
_one_treated = simulate_geo_panel(n_geos=8, pre_days=7, post_days=7, treated_fraction=1 / 8, rng=8)
_one_treated_weekly = _one_treated.assign(week=_one_treated["day"] // 7 - 1)
_labels = {"treatment_label": "text", "pre_label": "text", "post_label": "text"}
_strata_panel = simulate_geo_panel(
    n_geos=12, pre_days=7, post_days=7, design="strata", n_strata=3, rng=9
)
_stratum = np.repeat(np.arange(3), 4)
_treated_in_strata = np.tile([True, False], 6)
_pre_values = _rng.normal(100.0, 10.0, 12)
_users = simulate_cluster_randomized_users(8, 5, icc=0.1, effect=0.5, rng=10)
_clustered = simulate_clustered_outcomes(3, 8, 5, icc=0.1, rng=11)

CASES = [
    Case(
        geo.design_effect,
        {"cluster_size": 50.0, "intra_cluster_correlation": 0.01},
        kinds={"cluster_size": "positive", "intra_cluster_correlation": "probability"},
        extra=(Bad("cluster below 1", {"cluster_size": 0.5}, ("cluster_size",)),),
    ),
    Case(
        geo.aggregate_geo_periods,
        {"data": _panel},
        kinds=_labels,
        extra=(Bad("same labels", {"pre_label": "post"}, ("pre_label",)),),
    ),
    Case(
        geo.batch_estimate_did,
        {"values": _values, "treated": _treated},
        extra=(
            Bad("treated 0/2", {"treated": _treated * 2}, ("treated",)),
            Bad("one arm", {"treated": np.ones(12, dtype=bool)}, ("treated",)),
            Bad("three axes", {"values": _values.reshape(1, 1, 12)}, ("values",)),
            Bad(
                "constant values",
                {"values": np.ones(12)},
                (),
                expect="result",
                check=lambda r: r[0].p_value == 1.0 and r[0].se < 1e-12,
            ),
        ),
    ),
    Case(
        geo.batch_estimate_did,
        {"values": np.vstack([_values, -_values]), "treated": _treated},
        label="two experiments",
    ),
    Case(
        geo.estimate_did_from_stats,
        {
            "control": ArmStatistics.from_moments(12, 10.0, 5.0),
            "treatment": ArmStatistics.from_moments(10, 12.0, 4.0),
        },
        extra=(
            Bad("one geo", {"treatment": ArmStatistics.from_moments(1, 12.0, 0.0)}, ("treatment",)),
            Bad(
                "array fields",
                {"control": ArmStatistics.from_moments([12, 12], [10.0, 9.0], [5.0, 5.0])},
                ("control",),
            ),
            Bad(
                "zero variances",
                {
                    "control": ArmStatistics.from_moments(12, 10.0, 0.0),
                    "treatment": ArmStatistics.from_moments(10, 12.0, 0.0),
                },
                (),
                expect="result",
                check=lambda r: r.p_value == 0.0 and r.se == 0.0,
            ),
        ),
    ),
    Case(
        geo.estimate_did,
        {"data": _panel},
        kinds={"treatment_label": "text"},
        extra=(
            Bad(
                "constant kpi",
                {"data": _flat},
                (),
                expect="result",
                check=lambda r: r.estimate == 0.0 and r.p_value == 1.0,
            ),
        ),
    ),
    Case(
        geo.estimate_ancova,
        {"data": _panel},
        kinds={"treatment_label": "text"},
        extra=(Bad("constant kpi", {"data": _flat}, ("kpi",)),),
    ),
    Case(
        geo.estimate_twfe,
        {"data": _panel, "time": "day"},
        extra=(
            Bad("constant within units", {"data": _constant_within_unit}, ("treated",)),
            Bad(
                "treatment 0/2",
                {"data": _panel.assign(treated=2 * _panel["treated"])},
                ("treated",),
            ),
            Bad(
                "time as text",
                {"data": _panel.assign(day="d" + _panel["day"].astype(str))},
                ("time", "day"),
            ),
            Bad(
                "one unit",
                {"data": _panel[_panel["geo"] == _panel.loc[_panel["treated"], "geo"].iloc[0]]},
                ("unit", "treated"),
            ),
            Bad("one treated geo", {"data": _one_treated}, (), expect="warning"),
        ),
    ),
    Case(
        geo.estimate_twfe,
        {"data": _panel.assign(w=1.0 + _panel["geo"]), "time": "day", "weights": "w"},
        kinds={"weights": "text"},
        label="weighted",
        extra=(
            Bad("zero weight", {"data": _panel.assign(w=0.0)}, ("weights",)),
            Bad("missing weight column", {"weights": "nope"}, ("weights",)),
        ),
    ),
    Case(
        geo.assign_matched_pairs,
        {"pre_kpi": _pre_kpi, "rng": 1},
        kinds={"treatment_label": "text", "control_label": "text"},
        extra=(
            Bad("odd geos", {"pre_kpi": _pre_kpi.iloc[:7]}, ("pre_kpi",)),
            Bad("same labels", {"control_label": "treatment"}, ("control_label",)),
        ),
    ),
    Case(
        geo.assign_geos_within_strata,
        {"pre_kpi": _pre_kpi, "n_strata": 2, "rng": 1},
        kinds={"treatment_label": "text", "control_label": "text"},
        extra=(Bad("too many strata", {"n_strata": 5}, ("n_strata",)),),
    ),
    Case(
        geo.check_balance,
        {"geo_data": _table.reset_index(), "covariates": ["pre_mean"]},
        kinds={"treatment_label": "text"},
    ),
    Case(
        geo.batch_estimate_paired_did,
        {"values": _values, "treated": _treated, "pair": _pair},
        extra=(Bad("pair with two treated", {"treated": np.repeat([True, False], 6)}, ("pair",)),),
    ),
    Case(
        geo.estimate_paired_did,
        {"data": _pairs_panel},
        kinds={"treatment_label": "text"},
        extra=(Bad("one pair", {"data": _pairs_panel.assign(pair=0)}, ("pair",)),),
    ),
    Case(
        geo.estimate_randomization_inference,
        {"data": _panel, "rng": 1},
        kinds={"treatment_label": "text"},
        # pair is read only for design="pairs" (the next case): here it is ignored
        accepts=("data[pair]=*", "pair=missing column"),
    ),
    Case(
        geo.estimate_randomization_inference,
        {"data": _pairs_panel, "design": "pairs", "max_exact": 10, "n_permutations": 200, "rng": 1},
        kinds={"treatment_label": "text"},
        label="pairs",
    ),
    Case(
        geo.simulate_did_power,
        {"n_geos": 10, "pre_days": 7, "post_days": 7, "lifts": 0.05, "n_sims": 40, "rng": 1},
        # several lifts at once are the function's vectorised use
        accepts=("lifts=array",),
        extra=(
            Bad("bernoulli with few geos", {"n_geos": 4, "design": "bernoulli"}, ("design",)),
            Bad("one geo", {"n_geos": 1}, ("n_geos",)),
            Bad("nan among lifts", {"lifts": np.array([0.0, np.nan])}, ("lifts",)),
            Bad("unknown option", {"noise": 1.0}, ("panel_options", "noise")),
            Bad("no noise", {"noise_sd": 0.0, "baseline_sd": 0.0}, (), expect="result"),
        ),
    ),
    Case(
        geo.simulate_did_estimates,
        {"n_geos": 10, "pre_days": 7, "post_days": 7, "lift": 0.05, "n_sims": 40, "rng": 1},
        extra=(
            Bad("paired without pairs", {"analysis": "paired"}, ("analysis",)),
            Bad("no noise", {"noise_sd": 0.0, "baseline_sd": 0.0}, (), expect="result"),
        ),
    ),
    Case(
        geo.compute_minimum_detectable_lift,
        {"n_geos": 10, "pre_days": 7, "post_days": 7, "n_sims": 40, "rng": 1},
        extra=(
            Bad("power below alpha", {"power": 0.01}, ("power",)),
            Bad("one simulation", {"n_sims": 1}, ("n_sims",)),
        ),
    ),
    Case(
        geo.event_study_effects,
        {"data": _weekly, "time": "week"},
        kinds={"treatment_label": "text"},
        extra=(
            Bad(
                "two geos",
                {"data": _weekly[_weekly["geo"].isin(_weekly.groupby("group")["geo"].first())]},
                ("unit",),
            ),
            Bad(
                "one treated geo",
                {"data": _one_treated_weekly, "reference": 0},
                (),
                expect="warning",
            ),
        ),
    ),
    Case(
        geo.check_pre_trends,
        {"data": _weekly, "time": "week", "pre_periods": [-3, -2]},
        kinds={"treatment_label": "text"},
        extra=(
            Bad(
                "daily pre-periods",
                {
                    "data": _weekly.assign(week=_weekly["day"] - 20),
                    "pre_periods": list(range(-20, 0)),
                },
                ("pre_periods",),
            ),
            Bad(
                "two geos",
                {"data": _weekly[_weekly["geo"].isin(_weekly.groupby("group")["geo"].first())]},
                ("unit",),
            ),
        ),
    ),
    Case(geo.fit_imputation, {"data": _staggered}),
    Case(geo.estimate_imputation, {"data": _staggered}),
    Case(geo.imputation_horizon_effects, {"data": _staggered}),
    Case(geo.imputation_unit_effects, {"data": _staggered}),
    Case(geo.imputation_unit_effect_covariance, {"data": _staggered}),
    Case(
        geo.batch_estimate_ancova,
        {"post": _values + _pre_values, "pre": _pre_values, "treated": _treated},
        extra=(
            Bad("one arm", {"treated": np.ones(12, dtype=bool)}, ("treated",)),
            Bad("constant pre", {"pre": np.ones(12)}, ("pre",)),
            Bad("pre of other shape", {"pre": _pre_values[:6]}, ("pre", "length")),
        ),
    ),
    Case(
        geo.batch_estimate_stratified_did,
        {"values": _values, "treated": _treated_in_strata, "stratum": _stratum},
        extra=(
            Bad(
                "stratum without controls",
                {"treated": np.repeat([True, False, True], 4)},
                ("stratum",),
            ),
            Bad("fractional strata", {"stratum": _stratum + 0.5}, ("stratum",)),
        ),
    ),
    Case(
        geo.estimate_stratified_did,
        {"data": _strata_panel},
        kinds={"treatment_label": "text"},
        extra=(Bad("no stratum column", {"data": _panel}, ("stratum",)),),
    ),
    Case(
        geo.simulate_analysis_estimates,
        {"n_geos": 10, "pre_days": 7, "post_days": 7, "n_sims": 40, "rng": 1},
        extra=(
            Bad("stratified without strata", {"analyses": ("stratified",)}, ("analysis",)),
            Bad("no analyses", {"analyses": ()}, ("analyses",)),
        ),
    ),
    Case(
        geo.simulate_design_comparison,
        {
            "n_geos": 12,
            "pre_days": 7,
            "post_days": (7,),
            "n_sims": 40,
            "rng": 1,
            "designs": ("complete", "strata"),
            "analyses": ("did", "ancova", "stratified"),
        },
        extra=(
            Bad("unknown analysis", {"analyses": ("magic",)}, ("analyses",)),
            Bad(
                "no fitting analysis",
                {"designs": ("complete",), "analyses": ("paired",)},
                ("analyses",),
            ),
        ),
    ),
    Case(
        geo.estimate_icc,
        {"data": _users},
        extra=(
            Bad("one cluster", {"data": _users.assign(cluster=0)}, ("cluster",)),
            Bad("one user per cluster", {"data": _users.drop_duplicates("cluster")}, ("cluster",)),
        ),
    ),
    Case(
        geo.estimate_cluster_randomized,
        {"data": _users},
        kinds={"treatment_label": "text"},
        extra=(
            Bad(
                "cluster in both arms",
                {"data": _users.assign(group=np.where(_users["user"] % 2, "treatment", "control"))},
                ("group",),
            ),
            Bad("unknown method", {"method": "magic"}, ("method",)),
        ),
    ),
    Case(
        geo.estimate_cluster_randomized,
        {"data": _users, "method": "cluster_robust"},
        kinds={"treatment_label": "text"},
        label="cluster robust",
    ),
    Case(
        geo.batch_estimate_cluster_randomized,
        {"outcome": _clustered.outcome, "treated": _clustered.treated},
        extra=(
            Bad("one treated cluster", {"treated": np.eye(8, dtype=bool)[:3]}, ("treated",)),
            Bad("four axes", {"outcome": _clustered.outcome[None]}, ("outcome",)),
        ),
    ),
    Case(
        geo.fit_callaway_santanna,
        {"data": _staggered},
        extra=(
            Bad("unknown comparison", {"control_group": "everyone"}, ("control_group",)),
            Bad("unbalanced", {"data": _staggered.iloc[1:]}, ("unbalanced",)),
        ),
    ),
    Case(
        geo.estimate_callaway_santanna,
        {"data": _staggered, "control_group": "not_yet_treated"},
        extra=(Bad("unknown kind", {"kind": "weighted"}, ("kind",)),),
    ),
    Case(load_mpdta, {}),
    # --------------------------------------------------------------- geo-lift
    Case(
        geo.simulate_geo_lift_power,
        {
            "data": _lift_history,
            "treated_units": ["unit_01", "unit_02"],
            "test_length": 3,
            "lifts": [0.0, 0.05, 0.2],
            "n_windows": 2,
            "rng": 1,
        },
        extra=(
            Bad("unknown market", {"treated_units": ["Atlantis"]}, ("treated_units",)),
            Bad("too little history", {"n_windows": 20}, ("n_windows",)),
            Bad("markets as a string", {"treated_units": "unit_01"}, ("treated_units",)),
            Bad(
                "duplicated row",
                {"data": pd.concat([_lift_history, _lift_history.iloc[:1]])},
                ("data",),
            ),
            Bad("unbalanced", {"data": _lift_history.iloc[1:]}, ("data",)),
        ),
    ),
    Case(
        geo.choose_geo_lift_markets,
        {
            "data": _lift_history,
            "n_treated": 1,
            "test_length": 3,
            "lifts": [0.0, 0.2],
            "n_candidates": 2,
            "n_windows": 2,
            "rng": 1,
        },
        extra=(
            Bad("too many treated", {"n_treated": 7}, ("n_treated",)),
            Bad("candidate set as a string", {"candidate_sets": "unit_01"}, ("candidate_sets",)),
            Bad(
                "unknown market in a candidate set",
                {"candidate_sets": [["Atlantis"]]},
                ("candidate_sets",),
            ),
            Bad(
                "max_false_positive above one", {"max_false_positive": 1.5}, ("max_false_positive",)
            ),
        ),
    ),
    Case(
        geo.choose_geo_lift_markets,
        {
            "data": _lift_history,
            "n_treated": 1,
            "test_length": 2,
            "lifts": [0.0, 0.2],
            "n_candidates": 2,
            "n_windows": 2,
            "holdout_windows": 2,
            "rng": 1,
        },
        label="held-out windows",
        # no held-out windows: the plain ranking
        accepts=("holdout_windows=0",),
        extra=(
            Bad("holdout longer than the history", {"holdout_windows": 20}, ("holdout_windows",)),
        ),
    ),
]
