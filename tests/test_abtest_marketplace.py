"""The marketplace simulator: its exact global effect, its designs, and interference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from playbook_lib import abtest
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.simulate import marketplace_global_effect, simulate_marketplace


def test_global_effect_is_exact() -> None:
    """E[min(D, S)] / n by brute force: 200,000 slots per world (MC s.e. < 0.0004)."""
    rng = np.random.default_rng(8)
    treated, control = (np.minimum(rng.binomial(50, p, 200_000), 20) / 50 for p in (0.45, 0.30))
    brute = treated.mean() - control.mean()
    mc_se = math.sqrt((treated.var() + control.var()) / 200_000)
    assert abs(marketplace_global_effect() - brute) < 4 * mc_se
    # ample supply: no capping, the effect is the difference in demand
    assert math.isclose(marketplace_global_effect(supply_per_slot=50), 0.15, rel_tol=1e-12)


@pytest.mark.parametrize("design", ["user", "switchback", "cluster"])
def test_designs_respect_supply_and_split(design: str) -> None:
    out = simulate_marketplace(30, design, n_markets=6, n_slots=4, rng=3)
    assert all(values.shape == (30, 6, 4) for values in out.values())
    assert ((out["buyers_control"] + out["buyers_treatment"]) == 50).all()
    booked = out["bookings_control"] + out["bookings_treatment"]
    assert (booked <= 20).all()
    for arm in ("control", "treatment"):
        assert (out[f"bookings_{arm}"] <= out[f"buyers_{arm}"]).all()
        assert (out[f"bookings_{arm}"] >= 0).all()
    treated = out["buyers_treatment"] > 0
    if design == "switchback":
        assert (treated.reshape(30, -1).sum(1) == 12).all()
        assert set(np.unique(out["buyers_treatment"])) == {0, 50}
    if design == "cluster":
        assert (treated.all(axis=2) | ~treated.any(axis=2)).all()
        assert (treated[:, :, 0].sum(1) == 3).all()
    again = simulate_marketplace(30, design, n_markets=6, n_slots=4, rng=3)
    assert all(np.array_equal(out[key], again[key]) for key in out)


def _buyer_level(out: dict) -> object:
    return abtest.batch_compare_proportions(
        *(
            ArmStatistics.from_counts(
                out[f"bookings_{arm}"].sum((1, 2)), out[f"buyers_{arm}"].sum((1, 2))
            )
            for arm in ("control", "treatment")
        )
    )


def test_interference_biases_the_buyer_level_test_and_not_the_switchback() -> None:
    """200 experiments each: the buyer-level bias is about +0.05 (MC s.e. 0.0004);
    the switchback's is 0 within 3 MC s.e.; with ample supply the buyer-level test is
    unbiased too (no interference)."""
    effect = marketplace_global_effect()
    buyer = _buyer_level(simulate_marketplace(200, "user", rng=4)).bias(effect)
    assert buyer.estimate > 0.3 * effect and buyer.estimate > 20 * buyer.se
    switchback = simulate_marketplace(200, "switchback", rng=5)
    rate = (switchback["bookings_control"] + switchback["bookings_treatment"]) / 50
    rate, treated = rate.reshape(200, -1), (switchback["buyers_treatment"] > 0).reshape(200, -1)
    arms = [
        ArmStatistics(
            mask.sum(1), np.where(mask, rate, 0).sum(1), np.where(mask, rate**2, 0).sum(1)
        )
        for mask in (~treated, treated)
    ]
    slot_bias = abtest.batch_compare_means(*arms).bias(effect)
    assert abs(slot_bias.estimate) < 3 * slot_bias.se
    ample = _buyer_level(simulate_marketplace(200, "user", supply_per_slot=50, rng=6))
    ample_bias = ample.bias(marketplace_global_effect(supply_per_slot=50))
    assert abs(ample_bias.estimate) < 3 * ample_bias.se
