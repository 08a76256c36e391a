"""Benchmark: CPU time of one hierarchical fit against the number of units.

Run from the repository root: ``python benchmarks/hbm_scaling.py [units ...]`` (default
500, 5,000 and 50,000). Each size is one ``hbm.fit_hierarchical_model(...,
integrate_out_units=True)``, the fit ``fit_groupings`` makes: NUTS (nutpie, 4 chains x
1,000 draws after 1,000 warm-up steps) samples the two log standard deviations from the
numba density with ``mu``, the group means and the unit effects integrated out, ``mu`` and
the group means are drawn exactly, and the pointwise log-likelihood of every unit at every
draw is stored (4,000 x units values: 1.6 GB at 50,000 units). The data are drawn from the
model itself: 5 groups, group sd 0.3, unit sd 0.4, standard errors log-uniform on
[0.05, 2]. The density is compiled (numba, about a second) before the clock starts, as
every fit after an environment's first one finds it compiled.

Prints, per size, the CPU seconds of the fit (all threads: ``time.process_time``) and its
sampling part (nutpie's own timing), the number of leapfrog steps and the posterior means
of the two sds against the truth (with 5 groups the group sd is weakly identified); then
the power-law fit ``cpu = a * units^b`` by least squares on the log-log scale (``b`` near
1: linear). A script, not a test: its figures go in the notes and the performance page,
never into a test's assertion.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

import playbook_lib as pl
from playbook_lib import hbm


def simulate(n_units: int, rng: np.random.Generator) -> tuple[pl.Estimates, np.ndarray]:
    """Estimates and groups of ``n_units`` units drawn from the hierarchical model."""
    groups = np.arange(n_units) % 5
    group_mean = 0.5 + 0.3 * rng.standard_normal(5)
    theta = group_mean[groups] + 0.4 * rng.standard_normal(n_units)
    se = np.exp(rng.uniform(np.log(0.05), np.log(2.0), n_units))
    estimate = theta + se * rng.standard_normal(n_units)
    labels = pd.Index(np.arange(n_units), name="unit")
    return pl.Estimates.from_standard_errors("simulated", estimate, se, labels=labels), groups


def fit(effects: pl.Estimates, groups: np.ndarray, seed: int) -> tuple[float, hbm.HierarchicalFit]:
    start = time.process_time()
    result = hbm.fit_hierarchical_model(effects, groups, integrate_out_units=True, rng=seed)
    return time.process_time() - start, result


def main(sizes: list[int]) -> None:
    rng = np.random.default_rng(2026)
    fit(*simulate(100, rng), seed=0)  # compiles the density (once per environment)
    rows = []
    for n_units in sizes:
        effects, groups = simulate(n_units, rng)
        cpu, result = fit(effects, groups, seed=n_units)
        posterior = result.hyperparameters.to_frame()["estimate"]
        steps = int(result.idata.sample_stats["n_steps"].sum())
        rows.append(
            {
                "units": n_units,
                "cpu_s": cpu,
                "sampling_cpu_s": result.timings["sample_cpu"],
                "leapfrog_steps": steps,
                "group_sd": posterior["group_sd"],
                "unit_sd": posterior["unit_sd"],
            }
        )
        print(
            f"{n_units:>7,} units: {cpu:6.2f} s CPU ({result.timings['sample_cpu']:5.2f} s "
            f"sampling, {steps:,} leapfrog steps); posterior means group_sd "
            f"{posterior['group_sd']:.3f} (truth 0.3), unit_sd {posterior['unit_sd']:.3f} "
            "(truth 0.4)",
            flush=True,
        )
    table = pd.DataFrame(rows).set_index("units")
    slope, intercept = np.polyfit(np.log(table.index), np.log(table["cpu_s"]), 1)
    print(
        f"power law: cpu = {np.exp(intercept):.2e} x units^{slope:.2f} "
        f"(exponent 1 = linear); at {table.index.max():,} units {table['cpu_s'].iloc[-1]:.1f} s"
    )
    sampling_slope = np.polyfit(np.log(table.index), np.log(table["sampling_cpu_s"]), 1)[0]
    print(f"sampling alone: units^{sampling_slope:.2f}")


if __name__ == "__main__":
    main([int(value) for value in sys.argv[1:]] or [500, 5_000, 50_000])
