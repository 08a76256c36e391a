"""Tests for the geo-lift design (playbook_lib.geo.lift): the simulated power curve, the
ranking of candidate markets, its false-positive rate and the held-out windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playbook_lib import geo
from playbook_lib.simulate import simulate_factor_panel


def test_geo_lift_power_curve_and_market_choice() -> None:
    history = simulate_factor_panel(
        25, 60, n_treated=1, treatment_start=59, lift=0.0, noise_sd=1.0, rng=4
    )
    history = history.drop(columns=["treated"])
    lifts = np.linspace(0, 0.2, 11)
    power = geo.simulate_geo_lift_power(
        history, ["unit_03", "unit_07"], test_length=10, lifts=lifts, n_windows=8
    )
    table = power.table
    assert list(table["lift"]) == pytest.approx(lifts)
    assert table["power"].iloc[0] <= 0.5
    assert table["power"].iloc[-1] == 1.0
    assert np.all(np.diff(table["power"].to_numpy()[1:]) >= -0.25)
    reached = table.loc[(table["power"] >= 0.8) & (table["lift"] > 0), "lift"]
    assert power.min_detectable_lift() == reached.min()
    assert power.min_detectable_lift(1.0) <= 0.2
    assert 0 < power.rmspe_pre < 0.1
    choice = geo.choose_geo_lift_markets(
        history, n_treated=2, test_length=10, lifts=lifts, n_candidates=3, n_windows=4, rng=5
    )
    ranking = choice.table
    assert len(ranking) == 3
    assert set(choice.power_curves) == set(ranking["markets"])
    first = choice.power_curves[ranking["markets"].iloc[0]]
    assert ranking["min_detectable_lift"].iloc[0] == first.min_detectable_lift()
    # acceptable designs first, each group sorted by minimum detectable lift
    assert ranking["acceptable"].is_monotonic_decreasing
    for _, group in ranking.groupby("acceptable"):
        assert group["min_detectable_lift"].is_monotonic_increasing
    short = geo.simulate_geo_lift_power(
        history, ["unit_03", "unit_07"], test_length=10, lifts=lifts, n_windows=4, pre_length=20
    )
    assert short.table["power"].between(0, 1).all() and short.min_p_value == 1 / 24
    with pytest.raises(ValueError, match="n_windows"):
        geo.simulate_geo_lift_power(history, ["unit_03"], test_length=20, lifts=lifts, n_windows=30)


def test_geo_lift_false_positive_rate_at_most_its_level() -> None:
    # Zero lift on independent factor-model histories (one window each, so the draws are
    # independent): the design's rejection rate must not exceed the attainable level
    # floor(alpha (S + 1)) / (S + 1) of the placebo test with S placebo sets. Single-market
    # placebos against an aggregate of three markets failed this (about 0.33 vs 0.15).
    n_sims, alpha = 100, 0.2
    rejections = []
    for s in range(n_sims):
        history = simulate_factor_panel(
            15, 30, n_treated=1, treatment_start=29, lift=0.0, rng=500 + s
        ).drop(columns=["treated"])
        power = geo.simulate_geo_lift_power(
            history,
            ["unit_00", "unit_01", "unit_02"],
            test_length=6,
            lifts=[0.0],
            n_windows=1,
            alpha=alpha,
            rng=s,
        )
        rejections.append(power.table["power"].iloc[0])
    n_sets = round(1 / power.min_p_value) - 1
    assert n_sets == 12  # twelve donors, twelve random sets of three
    level = np.floor(alpha * (n_sets + 1)) / (n_sets + 1)
    assert np.mean(rejections) <= level + 3 * np.sqrt(level * (1 - level) / n_sims)


def test_geo_lift_holdout_windows_are_unseen_by_the_selection() -> None:
    history = simulate_factor_panel(10, 40, treatment_start=39, lift=0.0, noise_sd=1.0, rng=5).drop(
        columns=["treated"]
    )
    sets = [["unit_01"], ["unit_02"], ["unit_03"]]
    options = dict(test_length=3, lifts=[0.0, 0.05, 0.2], n_windows=4, alpha=0.2)
    with_holdout = geo.choose_geo_lift_markets(
        history, n_treated=1, candidate_sets=sets, holdout_windows=5, **options
    )
    # the selection sees only the periods before the last 5 + 3 - 1 = 7
    seen = history[history["time"] < history["time"].max() - 6]
    plain = geo.choose_geo_lift_markets(seen, n_treated=1, candidate_sets=sets, **options)
    shared = ["markets", "min_detectable_lift", "false_positive_rate", "rmspe_pre"]
    pd.testing.assert_frame_equal(with_holdout.table[shared], plain.table[shared])
    # the held-out columns are the power on the 5 final windows of the full history
    for _, row in with_holdout.table.iterrows():
        held_out = geo.simulate_geo_lift_power(
            history, row["markets"], **{**options, "n_windows": 5}, min_pre=2
        )
        assert row["holdout_min_detectable_lift"] == held_out.min_detectable_lift(0.8)
        pd.testing.assert_frame_equal(
            with_holdout.holdout_curves[row["markets"]].table, held_out.table
        )
    assert plain.holdout_curves is None
