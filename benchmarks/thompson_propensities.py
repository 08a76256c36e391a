"""Benchmark: exact Thompson propensities, two arms and many.

Run from the repository root: ``python benchmarks/thompson_propensities.py [n_reps]``.

1. Two arms. Simulates two-arm Thompson sampling (10% against 11%, 10,000 rounds) and
   times ``simulate_thompson_sampling(..., record_propensities=True)``, whose two-arm path
   plays each round's arm from its exact propensity carried by an O(1)-per-round
   recurrence, against the straightforward reference: the simulation without recording
   plus the vectorised 40-node quadrature of ``compute_thompson_propensities`` on every
   round's posteriors, one replication at a time. The two must agree to 1e-10. Prints CPU
   seconds, their ratio and the largest difference, and the CPU time of the
   1,000-replication run the notes quote (target: under 10 s; the test suite checks its
   exactness, not its time).
2. Many arms. Times ``compute_thompson_propensities`` on the same number of posterior rows
   for 2, 5 and 20 arms and fits a power law, time = c * arms^b, to show how the exact
   k-arm cost grows (the k >= 3 rule has O(k) panels of nodes and k CDFs at each node).

A script, not a test: its figures go in the notes and the performance page, never into a
test's assertion.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from _timing import Timing, comparison, scaling, timed

from playbook_lib import bandits as bd

ARM_MEANS = [0.10, 0.11]


def _posteriors_before_each_round(run: bd.BanditRun) -> tuple[np.ndarray, np.ndarray]:
    one_hot = run.arms[..., None] == np.arange(2)
    pulls = np.cumsum(one_hot, axis=1) - one_hot
    won = one_hot * run.rewards[..., None]
    wins = np.cumsum(won, axis=1) - won
    return 1 + wins, 1 + pulls - wins


def _quadrature(run: bd.BanditRun) -> np.ndarray:
    alpha, beta = _posteriors_before_each_round(run)
    return np.stack(
        [bd.compute_thompson_propensities(alpha[r], beta[r]) for r in range(run.n_reps)]
    )


def two_arms(
    n_reps: int = 200, n_rounds: int = 10_000, long_run_reps: int = 1_000
) -> dict[str, Any]:
    """Recurrence against quadrature on the same run; then ``long_run_reps`` replications
    of 10,000 rounds with propensities (the notes' 1,000), timed alone."""
    bd.simulate_thompson_sampling(ARM_MEANS, 100, n_reps=2, record_propensities=True, rng=0)
    run, recorded = timed(
        bd.simulate_thompson_sampling,
        ARM_MEANS,
        n_rounds,
        n_reps=n_reps,
        record_propensities=True,
        rng=1,
    )
    _, simulation = timed(bd.simulate_thompson_sampling, ARM_MEANS, n_rounds, n_reps=n_reps, rng=1)
    reference, quadrature = timed(_quadrature, run)
    difference = float(np.abs(run.propensities - reference).max())
    assert difference < 1e-10, difference
    slow = Timing(simulation.cpu_s + quadrature.cpu_s, simulation.wall_s + quadrature.wall_s)
    extra: dict[str, Any] = {
        "simulation_only_cpu_s": simulation.cpu_s,
        "quadrature_cpu_s": quadrature.cpu_s,
    }
    _, long = timed(
        bd.simulate_thompson_sampling,
        ARM_MEANS,
        10_000,
        n_reps=long_run_reps,
        record_propensities=True,
        rng=12,
    )
    extra["long_run_cpu_s"] = long.cpu_s
    return comparison(
        "thompson_two_arms",
        recipe="bandits.simulate_thompson_sampling(record_propensities=True)",
        reference="the simulation without propensities, then 40-node quadrature "
        "(compute_thompson_propensities) on every round, one replication at a time",
        size=f"{n_reps} replications x {n_rounds:,} rounds = {n_reps * n_rounds:,} propensities",
        fast=recorded,
        slow=slow,
        agreement={"largest_difference": difference},
        **extra,
    )


def many_arms(n_rows: int = 2_000, arm_counts: tuple[int, ...] = (2, 5, 20)) -> dict[str, Any]:
    """Exact k-arm propensities of ``n_rows`` posterior rows (best of 3) against k."""
    rng = np.random.default_rng(2)
    timings = []
    for k in arm_counts:
        # posteriors after a few hundred plays per arm (integer parameters: the fast rules)
        pulls = rng.integers(50, 500, size=(n_rows, k))
        wins = rng.binomial(pulls, rng.uniform(0.08, 0.14, size=(n_rows, k)))
        alpha, beta = 1.0 + wins, 1.0 + pulls - wins
        bd.compute_thompson_propensities(alpha[:10], beta[:10])  # warm-up
        runs = [timed(bd.compute_thompson_propensities, alpha, beta)[1] for _ in range(3)]
        timings.append(min(runs, key=lambda t: t.cpu_s))
    return scaling(
        "thompson_many_arms",
        recipe=f"bandits.compute_thompson_propensities, {n_rows:,} posterior rows (best of 3)",
        size_name="arms",
        sizes=arm_counts,
        timings=timings,
    )


def main(n_reps: int = 200) -> None:
    result = two_arms(n_reps)
    print(f"two arms: {result['size']}")
    print(f"  simulation without recording:     {result['simulation_only_cpu_s']:7.2f} s CPU")
    print(f"  simulation with the propensities: {result['fast_cpu_s']:7.2f} s CPU")
    print(f"  quadrature on every round:        {result['quadrature_cpu_s']:7.2f} s CPU")
    print(f"  ratio (simulation + quadrature) / recording: {result['cpu_ratio']:.0f}x")
    print(f"  largest difference: {result['agreement']['largest_difference']:.2e}")
    verdict = "under" if result["long_run_cpu_s"] < 10 else "OVER"
    print(
        f"  1,000 replications x 10,000 rounds with propensities: "
        f"{result['long_run_cpu_s']:.2f} s CPU ({verdict} the 10 s target)"
    )
    curve = many_arms()
    print("many arms: exact propensities of 2,000 posterior rows (best of 3)")
    for k, s in zip(curve["sizes"], curve["cpu_s"], strict=True):
        print(f"  {k:3d} arms: {s:7.3f} s CPU, {1e6 * s / 2_000:8.1f} us per row")
    print(f"  power-law fit: time ~ arms^{curve['exponent']:.2f}")
    sizes, seconds = curve["sizes"], curve["cpu_s"]
    if len(sizes) > 2:
        tail = np.polyfit(np.log(sizes[1:]), np.log(seconds[1:]), 1)[0]
        print(f"  exponent from {sizes[1]} to {sizes[-1]} arms (the k >= 3 rule alone): {tail:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
