"""Benchmark: geo DiD power by simulation, vectorised, against a loop over simulations.

Run from the repository root: ``python benchmarks/geo_power.py [n_sims]``.

1. Against the reference: ``geo.simulate_did_power`` (40 geos x 42 days, 1,000 simulated
   experiments, lifts 0 and 5 %: arrays of shape ``(n_sims, n_geos, n_days)``) against the
   straightforward loop: the same simulated panels (``simulate_geo_kpi`` with the same
   generator), then for each simulation and lift the lift added to the treated geos'
   post period, per-geo pre/post deltas and ``scipy.stats.ttest_ind(equal_var=False)``.
   The two powers must agree (the same experiments, the same Welch test).
2. Scaling: the CPU time of ``simulate_did_power`` at 40, 200 and 1,000 geos, with the
   power law ``cpu = a * geos^b``.

A script, not a test: its figures go on the performance page, never into a test's
assertion.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from _timing import comparison, scaling, timed
from scipy import stats

from playbook_lib import geo
from playbook_lib.simulate import simulate_geo_kpi

PRE_DAYS, POST_DAYS, ALPHA = 28, 14, 0.05
LIFTS = (0.0, 0.05)


def vectorised_power(n_geos: int, n_sims: int, seed: int) -> np.ndarray:
    table = geo.simulate_did_power(
        n_geos, PRE_DAYS, POST_DAYS, np.array(LIFTS), n_sims=n_sims, alpha=ALPHA, rng=seed
    )
    return table["power"].to_numpy()


def loop_power(n_geos: int, n_sims: int, seed: int) -> np.ndarray:
    """The reference: one Welch t-test per simulated experiment and lift, in a loop."""
    arrays = simulate_geo_kpi(
        n_sims, n_geos, PRE_DAYS, POST_DAYS, lift=0.0, rng=np.random.default_rng(seed)
    )
    post = arrays.is_post
    rejections = np.zeros(len(LIFTS))
    for s in range(n_sims):
        treated = arrays.treated[s]
        for k, lift in enumerate(LIFTS):
            kpi = arrays.kpi[s].copy()
            uplift = lift * arrays.expected_untreated[s]
            kpi[np.ix_(treated, post)] += uplift[np.ix_(treated, post)]
            delta = kpi[:, post].mean(axis=1) - kpi[:, ~post].mean(axis=1)
            test = stats.ttest_ind(delta[treated], delta[~treated], equal_var=False)
            rejections[k] += test.pvalue < ALPHA
    return rejections / n_sims


def compare(n_sims: int = 1_000, n_geos: int = 40, seed: int = 11) -> dict[str, Any]:
    vectorised_power(n_geos, 10, seed)  # warm-up (imports, first calls)
    fast_power, fast = timed(vectorised_power, n_geos, n_sims, seed)
    loop_result, slow = timed(loop_power, n_geos, n_sims, seed)
    difference = float(np.abs(fast_power - loop_result).max())
    # the same experiments and test: equal, up to a p-value within rounding of alpha
    assert difference <= 1.0 / n_sims, (fast_power, loop_result)
    return comparison(
        "geo_power",
        recipe="geo.simulate_did_power",
        reference="loop over simulations: scipy.stats.ttest_ind (Welch) per experiment",
        size=f"{n_sims:,} simulations x {n_geos} geos x {PRE_DAYS + POST_DAYS} days, lifts {LIFTS}",
        fast=fast,
        slow=slow,
        agreement={
            "power": [float(p) for p in fast_power],
            "reference_power": [float(p) for p in loop_result],
            "largest_difference": difference,
        },
    )


def scale(
    n_sims: int = 1_000, geo_counts: tuple[int, ...] = (40, 200, 1_000), seed: int = 12
) -> dict[str, Any]:
    vectorised_power(geo_counts[0], 10, seed)
    timings = [timed(vectorised_power, n, n_sims, seed)[1] for n in geo_counts]
    return scaling(
        "geo_power",
        recipe=f"geo.simulate_did_power, {n_sims:,} simulations x 42 days",
        size_name="geos",
        sizes=geo_counts,
        timings=timings,
    )


def main(n_sims: int = 1_000) -> None:
    result = compare(n_sims)
    print(
        f"geo power ({result['size']}): {result['fast_cpu_s']:.2f} s CPU vectorised, "
        f"{result['reference_cpu_s']:.2f} s in the loop ({result['cpu_ratio']:.0f}x); "
        f"powers {result['agreement']['power']} vs {result['agreement']['reference_power']}"
    )
    curve = scale(n_sims)
    for n, cpu in zip(curve["sizes"], curve["cpu_s"], strict=True):
        print(f"  {n:5,} geos: {cpu:6.2f} s CPU")
    print(f"  power law: cpu = {curve['coefficient']:.2e} x geos^{curve['exponent']:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000)
