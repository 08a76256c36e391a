"""Benchmark: the circular moving-block bootstrap of the bandit chapter, vectorised, against
a loop over replicates.

Run from the repository root: ``python benchmarks/block_bootstrap.py [n_logs]``.

The inputs are the IPW scores of simulated two-arm Thompson-sampling logs (10 % against
11 %, 10,000 rounds each, exact propensities recorded). ``bandits.compute_block_bootstrap_means``
(blocks of 500 rounds, 1,000 replicates per log: block sums from one cumulative sum,
gathered with index arrays) is timed against the straightforward reference: the same block
starts (drawn by the same generator call), and then for every log and replicate the rows of
its blocks gathered and averaged in a Python loop. The two must agree to 1e-10.

A script, not a test: its figures go on the performance page, never into a test's
assertion.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
from _timing import comparison, timed

from playbook_lib import bandits as bd

BLOCK_LENGTH, N_BOOT = 500, 1_000


def ipw_scores(n_logs: int, n_rounds: int, seed: int) -> np.ndarray:
    run = bd.simulate_thompson_sampling(
        [0.10, 0.11], n_rounds, n_reps=n_logs, record_propensities=True, rng=seed
    )
    chosen = run.chosen_propensities()
    sign = np.where(run.arms == 1, 1.0, -1.0)
    return sign * run.rewards / chosen


def loop_bootstrap(values: np.ndarray, block_length: int, n_boot: int, seed: int) -> np.ndarray:
    """The reference: one gather and mean per log and replicate."""
    n_logs, n = values.shape
    n_blocks = math.ceil(n / block_length)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=(n_logs, n_boot * n_blocks))
    offsets = np.arange(block_length)
    means = np.empty((n_logs, n_boot))
    for log in range(n_logs):
        for b in range(n_boot):
            first = starts[log, b * n_blocks : (b + 1) * n_blocks]
            rows = (first[:, None] + offsets).ravel() % n
            means[log, b] = values[log, rows].mean()
    return means


def compare(n_logs: int = 100, n_rounds: int = 10_000, seed: int = 21) -> dict[str, Any]:
    values = ipw_scores(n_logs, n_rounds, seed)
    # shape (logs, rounds, 1): one column, a series per log
    series = values[..., None]
    bd.compute_block_bootstrap_means(series[:2], BLOCK_LENGTH, 10, rng=0)  # warm-up
    fast_means, fast = timed(
        bd.compute_block_bootstrap_means, series, BLOCK_LENGTH, N_BOOT, rng=seed
    )
    fast_means = fast_means[..., 0]
    loop_means, slow = timed(loop_bootstrap, values, BLOCK_LENGTH, N_BOOT, seed)
    difference = float(np.abs(fast_means - loop_means).max())
    assert difference < 1e-10, difference
    return comparison(
        "block_bootstrap",
        recipe="bandits.compute_block_bootstrap_means",
        reference="loop over logs and replicates: gather each replicate's blocks, mean",
        size=f"{n_logs} logs x {n_rounds:,} rounds, blocks of {BLOCK_LENGTH}, "
        f"{N_BOOT:,} replicates",
        fast=fast,
        slow=slow,
        agreement={"largest_difference": difference},
    )


def main(n_logs: int = 100) -> None:
    result = compare(n_logs)
    print(
        f"block bootstrap ({result['size']}): {result['fast_cpu_s']:.2f} s CPU vectorised, "
        f"{result['reference_cpu_s']:.2f} s in the loop ({result['cpu_ratio']:.0f}x); "
        f"largest difference {result['agreement']['largest_difference']:.1e}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
