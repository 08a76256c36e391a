"""Contract cases for playbook_lib.simulate.ab_users, .ecommerce, .novelty and .marketplace."""

from __future__ import annotations

from contract import Bad, Case
from playbook_lib.simulate import ab_users, ecommerce, marketplace, novelty

CASES = [
    Case(
        ab_users.simulate_ab_users,
        {"n_users": 300, "rng": 1},
        extra=(
            Bad("too few users", {"n_users": 5}, ("n_users",)),
            Bad("lift leaves (0, 1)", {"conversion_lift": 0.95}, ("conversion_lift",)),
            Bad("ctr lift leaves (0, 1)", {"ctr_lift": 0.99}, ("ctr_lift",)),
            Bad("share one", {"treatment_share": 1.0}, ("treatment_share",)),
        ),
    ),
    Case(
        ab_users.simulate_clicks_pageviews,
        {"n_sims": 3, "n_users_per_arm": 20, "ctr_lift": 0.01, "rng": 2},
        extra=(
            Bad("ctr zero", {"ctr": 0.0}, ("ctr",)),
            Bad("few pageviews", {"mean_pageviews": 0.5}, ("mean_pageviews",)),
            Bad("one user", {"n_users_per_arm": 1}, ("n_users_per_arm",)),
        ),
    ),
    Case(
        ecommerce.ecommerce_true_effect,
        {"new_user_share": 0.2, "conversion_lift": 0.04},
        extra=(
            Bad("all new", {"new_user_share": 1.0}, ("new_user_share",)),
            Bad("negative lift", {"conversion_lift": -0.1}, ("conversion_lift",)),
            Bad("no weeks", {"weeks": 0.0}, ("weeks",)),
        ),
    ),
    Case(
        ecommerce.simulate_ecommerce_arrays,
        {"n_sims": 2, "n_users": 50, "rng": 3},
        # pre-period columns are NaN for new users, by design (documented)
        allow_nan_result=True,
        extra=(
            Bad("no one treated", {"treated_fraction": 0.0}, ("treated_fraction",)),
            Bad("negative lift", {"session_lift": -0.5}, ("session_lift",)),
        ),
    ),
    Case(
        ecommerce.simulate_ecommerce_experiment,
        {"n_users": 60, "rng": 4},
        extra=(Bad("too few users", {"n_users": 2}, ("n_users",)),),
    ),
    Case(
        ecommerce.simulate_pre_post_metrics,
        {
            "n_sims": 2,
            "n_users": 40,
            "correlation": 0.6,
            "effect": 0.1,
            "slope_difference": 0.2,
            "rng": 5,
        },
        extra=(
            Bad("correlation one", {"correlation": 1.0}, ("correlation",)),
            Bad("thin arm", {"treated_fraction": 0.01}, ("treated_fraction",)),
        ),
    ),
    Case(
        ecommerce.simulate_daily_conversion_experiment,
        {"n_users": 200, "n_days": 5, "rng": 6},
        extra=(Bad("effect above one", {"effect": 1.5}, ("effect",)),),
    ),
    Case(
        novelty.simulate_novelty_experiment,
        {"n_users": 40, "n_days": 6, "arrival_days": 3, "rng": 7},
        extra=(
            Bad("arrivals after the end", {"arrival_days": 7}, ("arrival_days",)),
            Bad("no decay", {"decay_days": 0.0}, ("decay_days",)),
            Bad("no noise", {"noise_sd": 0.0}, ("noise_sd",)),
            Bad("all treated", {"treatment_share": 1.0}, ("treatment_share",)),
        ),
    ),
    Case(
        marketplace.marketplace_global_effect,
        {"buyers_per_slot": 30, "supply_per_slot": 10},
        extra=(
            Bad("one buyer", {"buyers_per_slot": 1}, ("buyers_per_slot",)),
            Bad("no supply", {"supply_per_slot": 0}, ("supply_per_slot",)),
            Bad("demand above one", {"treated_demand": 1.5}, ("treated_demand",)),
        ),
    ),
    Case(
        marketplace.simulate_marketplace,
        {"n_sims": 3, "design": "switchback", "n_markets": 4, "n_slots": 3, "rng": 8},
        extra=(
            Bad("unknown design", {"design": "geo"}, ("design",)),
            Bad("odd markets", {"design": "cluster", "n_markets": 5}, ("n_markets",)),
            Bad("odd slots", {"n_markets": 3, "n_slots": 3}, ("n_markets",)),
            Bad("one market", {"n_markets": 1}, ("n_markets",)),
        ),
    ),
]
