"""Benchmark: CPU time of one hierarchical fit against the number of units, and one fit
against the same model sampled by PyMC's default NUTS sampler.

Run from the repository root: ``python benchmarks/hbm_scaling.py [units ...]`` (default
500, 5,000 and 50,000).

Scaling. Each size is one ``hbm.fit_hierarchical_model(...,
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
1: linear).

Against PyMC. One default ``hbm.fit_hierarchical_model`` (NUTS on the two sds with
nutpie, everything else drawn exactly) of 500 units against the straightforward
reference: the same model written out in PyMC (``mu``, the two half-normal sds, group
means centred or not as the fit chose, non-centred unit effects, the known-SE likelihood)
and sampled by ``pymc.sample`` with its default NUTS, the same draws, warm-up, chains and
target acceptance. Both are warmed up first (numba's density compiled; PyTensor's C cache
filled by a short run on small data), so the reference's CPU includes compiling its model
but not the first-ever compilation of its operations. The posterior means of ``mu``,
``group_sd`` and ``unit_sd`` must agree within 4 Monte Carlo standard errors; the script
also reports each one's effective sample size per CPU second.

A script, not a test: its figures go in the notes and the performance page, never into a
test's assertion.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
from _timing import comparison, scaling, timed

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


GROUP_SD, UNIT_SD = 0.3, 0.4
HYPERPARAMETERS = ("mu", "group_sd", "unit_sd")


def scale(sizes: tuple[int, ...] = (500, 5_000, 50_000), verbose: bool = False) -> dict[str, Any]:
    """The fit ``fit_groupings`` makes, at each number of units."""
    rng = np.random.default_rng(2026)
    fit(*simulate(100, rng), seed=0)  # compiles the density (once per environment)
    rows, timings = [], []
    for n_units in sizes:
        effects, groups = simulate(n_units, rng)
        (_, result), timing = timed(fit, effects, groups, seed=n_units)
        posterior = result.hyperparameters.to_frame()["estimate"]
        steps = int(result.idata.sample_stats["n_steps"].sum())
        timings.append(timing)
        rows.append(
            {
                "units": n_units,
                "cpu_s": timing.cpu_s,
                "sampling_cpu_s": result.timings["sample_cpu"],
                "leapfrog_steps": steps,
                "group_sd": float(posterior["group_sd"]),
                "unit_sd": float(posterior["unit_sd"]),
            }
        )
        if verbose:
            print(
                f"{n_units:>7,} units: {timing.cpu_s:6.2f} s CPU "
                f"({result.timings['sample_cpu']:5.2f} s sampling, {steps:,} leapfrog "
                f"steps); posterior means group_sd {posterior['group_sd']:.3f} (truth "
                f"{GROUP_SD}), unit_sd {posterior['unit_sd']:.3f} (truth {UNIT_SD})",
                flush=True,
            )
        del result
    return scaling(
        "hierarchical_fit",
        recipe="hbm.fit_hierarchical_model(integrate_out_units=True), 5 groups, "
        "4 chains x 1,000 draws",
        size_name="units",
        sizes=sizes,
        timings=timings,
        details=rows,
    )


def pymc_model(effects: pl.Estimates, groups: np.ndarray, prior_scale: float, centred: bool) -> Any:
    """The reference: the hierarchical model written out in PyMC."""
    import pymc as pm

    frame = effects.to_frame()
    y, s = frame["estimate"].to_numpy(), frame["se"].to_numpy()
    n_groups = int(groups.max()) + 1
    with pm.Model(coords={"group": range(n_groups), "unit": range(len(y))}) as model:
        mu = pm.Normal("mu", 0.0, 10.0 * prior_scale)
        group_sd = pm.HalfNormal("group_sd", prior_scale)
        unit_sd = pm.HalfNormal("unit_sd", prior_scale)
        if centred:
            group_mean = pm.Normal("group_mean", mu, group_sd, dims="group")
        else:
            z_group = pm.Normal("z_group", 0.0, 1.0, dims="group")
            group_mean = pm.Deterministic("group_mean", mu + group_sd * z_group, dims="group")
        z_unit = pm.Normal("z_unit", 0.0, 1.0, dims="unit")
        theta = pm.Deterministic("theta", group_mean[groups] + unit_sd * z_unit, dims="unit")
        pm.Normal("y", theta, s, observed=y, dims="unit")
    return model


def sample_pymc(model: Any, draws: int, tune: int, chains: int, seed: int) -> Any:
    import pymc as pm

    with model:
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=min(chains, 2),
            target_accept=0.9,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
        )


def compare(
    n_units: int = 500, draws: int = 1_000, tune: int = 1_000, chains: int = 4, quick: bool = False
) -> dict[str, Any]:
    """One default fit against ``pymc.sample`` of the same model on the same data."""
    import arviz as az
    import pymc  # noqa: F401  (imported first: it sets its logger's level on import)

    logging.getLogger("pymc").setLevel(logging.ERROR)  # its progress lines on stderr
    rng = np.random.default_rng(7)
    settings = {"draws": draws, "tune": tune, "chains": chains}
    small, small_groups = simulate(20, rng)
    hbm.fit_hierarchical_model(small, small_groups, rng=0, **settings)  # numba compiled
    effects, groups = simulate(n_units, rng)
    result, fast = timed(hbm.fit_hierarchical_model, effects, groups, rng=1, **settings)
    prior_scale = float(result.details["prior_scale"])
    centred = bool(result.details["group_centering"])
    if not quick:  # fills PyTensor's C cache (the quick run finds it filled or pays once)
        warm = pymc_model(small, small_groups, prior_scale, centred)
        sample_pymc(warm, 20, 20, min(chains, 2), 0)
    model = pymc_model(effects, groups, prior_scale, centred)
    reference, slow = timed(sample_pymc, model, seed=1, **settings)
    names = list(HYPERPARAMETERS)
    agreement: dict[str, Any] = {}
    for name in names:
        mean_f = float(result.idata.posterior[name].mean())
        mean_r = float(reference.posterior[name].mean())
        mcse = float(
            np.hypot(
                float(az.mcse(result.idata, var_names=[name])[name]),
                float(az.mcse(reference, var_names=[name])[name]),
            )
        )
        ess_f = float(az.ess(result.idata, var_names=[name])[name])
        ess_r = float(az.ess(reference, var_names=[name])[name])
        agreement[name] = {
            "mean": mean_f,
            "reference_mean": mean_r,
            "difference_in_mcse": float(abs(mean_f - mean_r) / mcse),
            "ess_per_cpu_s": ess_f / fast.cpu_s,
            "reference_ess_per_cpu_s": ess_r / slow.cpu_s,
        }
        if not quick:  # a few hundred draws: only the timings are of interest
            assert abs(mean_f - mean_r) < 4 * mcse, (name, mean_f, mean_r, mcse)
    agreement["reference_divergences"] = int(reference.sample_stats["diverging"].sum())
    return comparison(
        "hierarchical_fit",
        recipe="hbm.fit_hierarchical_model (nutpie on the two sds, the rest exact)",
        reference="the same model written in PyMC, sampled by pymc.sample (default NUTS)",
        size=f"{n_units:,} units in 5 groups, {chains} chains x {draws:,} draws "
        f"after {tune:,} warm-up",
        fast=fast,
        slow=slow,
        agreement=agreement,
    )


def main(sizes: list[int]) -> None:
    curve = scale(tuple(sizes), verbose=True)
    print(
        f"power law: cpu = {curve['coefficient']:.2e} x units^{curve['exponent']:.2f} "
        f"(exponent 1 = linear); at {curve['sizes'][-1]:,} units {curve['cpu_s'][-1]:.1f} s"
    )
    sampling = [row["sampling_cpu_s"] for row in curve["details"]]
    sampling_slope = np.polyfit(np.log(curve["sizes"]), np.log(sampling), 1)[0]
    print(f"sampling alone: units^{sampling_slope:.2f}")
    result = compare()
    print(
        f"against pymc.sample ({result['size']}): {result['fast_cpu_s']:.2f} s CPU, "
        f"{result['reference_cpu_s']:.2f} s with PyMC ({result['cpu_ratio']:.0f}x)"
    )
    for name in HYPERPARAMETERS:
        row = result["agreement"][name]
        print(
            f"  {name}: posterior mean {row['mean']:.3f} vs {row['reference_mean']:.3f} "
            f"({row['difference_in_mcse']:.1f} MCSE); ESS per CPU second "
            f"{row['ess_per_cpu_s']:.0f} vs {row['reference_ess_per_cpu_s']:.0f}"
        )


if __name__ == "__main__":
    main([int(value) for value in sys.argv[1:]] or [500, 5_000, 50_000])
