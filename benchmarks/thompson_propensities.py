"""Benchmark: exact two-arm Thompson propensities, recurrence against per-round quadrature.

Run from the repository root: ``python benchmarks/thompson_propensities.py [n_reps]``.
Simulates two-arm Thompson sampling (10% against 11%, 10,000 rounds) and times, on the same
logs, (1) ``simulate_thompson_sampling(..., record_propensities=True)``, whose two-arm path is the
O(1)-per-round recurrence, and (2) the straightforward reference: the vectorised 40-node
quadrature of ``thompson_propensities`` on every round's posteriors. Prints CPU seconds,
their ratio and the largest difference between the two. A script, not a test: its figures
go in the notes and the performance page, never into a test's assertion.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from playbook_lib import bandits as bd


def main(n_reps: int = 200, n_rounds: int = 10_000) -> None:
    start = time.process_time()
    run = bd.simulate_thompson_sampling([0.10, 0.11], n_rounds, n_reps=n_reps,
                                   record_propensities=True, rng=1)
    with_recurrence = time.process_time() - start
    start = time.process_time()
    bd.simulate_thompson_sampling([0.10, 0.11], n_rounds, n_reps=n_reps, rng=1)
    simulation_only = time.process_time() - start

    one_hot = run.arms[..., None] == np.arange(2)
    pulls = np.cumsum(one_hot, axis=1) - one_hot
    wins = np.cumsum(one_hot * run.rewards[..., None], axis=1) - one_hot * run.rewards[..., None]
    start = time.process_time()
    reference = np.concatenate([
        bd.compute_thompson_propensities(1 + wins[r], 1 + pulls[r] - wins[r]) for r in range(n_reps)
    ]).reshape(run.propensities.shape)
    quadrature = time.process_time() - start
    recurrence = with_recurrence - simulation_only
    print(f"{n_reps} replications x {n_rounds} rounds = {n_reps * n_rounds:,} propensities")
    print(f"simulation alone:          {simulation_only:7.2f} s CPU")
    print(f"recurrence (propensities): {recurrence:7.2f} s CPU")
    print(f"quadrature (propensities): {quadrature:7.2f} s CPU")
    print(f"ratio quadrature / recurrence: {quadrature / max(recurrence, 1e-9):.0f}x")
    print(f"largest difference: {np.abs(run.propensities - reference).max():.2e}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
