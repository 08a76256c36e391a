"""Benchmark: exact Thompson propensities, two arms and many.

Run from the repository root: ``python benchmarks/thompson_propensities.py [n_reps]``.

1. Two arms. Simulates two-arm Thompson sampling (10% against 11%, 10,000 rounds) and
   times, on the same logs, ``simulate_thompson_sampling(..., record_propensities=True)``,
   whose two-arm path plays each round's arm from its exact propensity carried by an
   O(1)-per-round recurrence, against the straightforward reference: the vectorised 40-node
   quadrature of ``compute_thompson_propensities`` on every round's posteriors. Prints CPU
   seconds, their ratio and the largest difference between the two, and the CPU time of
   the 1,000-replication run the notes quote (target: under 10 s; the test suite checks
   its exactness, not its time).
2. Many arms. Times ``compute_thompson_propensities`` on the same number of posterior rows
   for 2, 5 and 20 arms and fits a power law, time = c * arms^b, to show how the exact
   k-arm cost grows (the k >= 3 rule has O(k) panels of nodes and k CDFs at each node).

A script, not a test: its figures go in the notes and the performance page, never into a
test's assertion.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from playbook_lib import bandits as bd


def _posteriors_before_each_round(run: bd.BanditRun) -> tuple[np.ndarray, np.ndarray]:
    one_hot = run.arms[..., None] == np.arange(2)
    pulls = np.cumsum(one_hot, axis=1) - one_hot
    won = one_hot * run.rewards[..., None]
    wins = np.cumsum(won, axis=1) - won
    return 1 + wins, 1 + pulls - wins


def two_arms(n_reps: int = 200, n_rounds: int = 10_000) -> None:
    start = time.process_time()
    run = bd.simulate_thompson_sampling(
        [0.10, 0.11], n_rounds, n_reps=n_reps, record_propensities=True, rng=1
    )
    with_propensities = time.process_time() - start
    start = time.process_time()
    bd.simulate_thompson_sampling([0.10, 0.11], n_rounds, n_reps=n_reps, rng=1)
    simulation_only = time.process_time() - start

    alpha, beta = _posteriors_before_each_round(run)
    start = time.process_time()
    reference = np.concatenate(
        [bd.compute_thompson_propensities(alpha[r], beta[r]) for r in range(n_reps)]
    ).reshape(run.propensities.shape)
    quadrature = time.process_time() - start
    recorded = max(with_propensities - simulation_only, 0.0)
    total = n_reps * n_rounds
    print(f"two arms: {n_reps} replications x {n_rounds} rounds = {total:,} propensities")
    print(f"  simulation without recording:     {simulation_only:7.2f} s CPU")
    print(f"  simulation with the propensities: {with_propensities:7.2f} s CPU")
    print(f"  quadrature on every round:        {quadrature:7.2f} s CPU")
    print(f"  ratio quadrature / recording: {quadrature / max(recorded, 1e-9):.0f}x")
    print(f"  largest difference: {np.abs(run.propensities - reference).max():.2e}")

    start = time.process_time()
    bd.simulate_thompson_sampling(
        [0.10, 0.11], 10_000, n_reps=1_000, record_propensities=True, rng=12
    )
    long_run = time.process_time() - start
    verdict = "under" if long_run < 10 else "OVER"
    print(
        f"  1,000 replications x 10,000 rounds with propensities: {long_run:.2f} s CPU "
        f"({verdict} the 10 s target)"
    )


def many_arms(n_rows: int = 2_000, arm_counts: tuple[int, ...] = (2, 5, 20)) -> None:
    rng = np.random.default_rng(2)
    seconds = []
    for k in arm_counts:
        # posteriors after a few hundred plays per arm (integer parameters: the fast rules)
        pulls = rng.integers(50, 500, size=(n_rows, k))
        wins = rng.binomial(pulls, rng.uniform(0.08, 0.14, size=(n_rows, k)))
        alpha, beta = 1.0 + wins, 1.0 + pulls - wins
        bd.compute_thompson_propensities(alpha[:10], beta[:10])  # warm-up
        best = np.inf
        for _ in range(3):
            start = time.process_time()
            bd.compute_thompson_propensities(alpha, beta)
            best = min(best, time.process_time() - start)
        seconds.append(best)
    print(f"many arms: exact propensities of {n_rows:,} posterior rows (best of 3)")
    for k, s in zip(arm_counts, seconds, strict=True):
        print(f"  {k:3d} arms: {s:7.3f} s CPU, {1e6 * s / n_rows:8.1f} us per row")
    slope, intercept = np.polyfit(np.log(arm_counts), np.log(seconds), 1)
    print(
        f"  power-law fit: time ~ {np.exp(intercept) * 1e6 / n_rows:.1f} us x arms^{slope:.2f}"
        " per row"
    )
    if len(arm_counts) > 2:
        tail = np.polyfit(np.log(arm_counts[1:]), np.log(seconds[1:]), 1)[0]
        print(
            f"  exponent from {arm_counts[1]} to {arm_counts[-1]} arms (the k >= 3 rule alone): "
            f"{tail:.2f}"
        )


if __name__ == "__main__":
    two_arms(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    many_arms()
