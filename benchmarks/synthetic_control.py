"""Benchmark: synthetic control with placebo inference on many panels, against a loop of
``scipy.optimize`` fits.

Run from the repository root: ``python benchmarks/synthetic_control.py [n_panels]``.

1. Against the reference: ``synth.batch_estimate_synthetic_control`` (20 factor-model
   panels, 40 donors and one treated unit, 30 periods of which 20 before; each panel's
   treated unit and every donor, as a placebo on all other units, fitted by the package's
   active-set simplex solver) against the straightforward reference: the same fits by
   ``scipy.optimize.minimize(method="SLSQP")`` (on centred and scaled data) with the
   weights in [0, 1] summing to one, one unit at a time, then the same effect (mean
   post-period gap) and RMSPE-ratio permutation p-value. The effects must agree to 1e-4
   of the outcomes' noise sd; the p-values may differ by one rank where two placebo
   ratios tie within SLSQP's accuracy.
2. Scaling: the CPU time of the batch at 40 and 400 donors (the same number of panels),
   with the power law ``cpu = a * donors^b``.

A script, not a test: its figures go on the performance page, never into a test's
assertion.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from _timing import comparison, scaling, timed
from scipy import optimize

from playbook_lib import synth
from playbook_lib.simulate import simulate_factor_panel_arrays

N_PERIODS, N_PRE, NOISE_SD = 30, 20, 2.0


def panels(n_panels: int, n_donors: int, seed: int) -> np.ndarray:
    return simulate_factor_panel_arrays(
        n_panels, n_donors + 1, N_PERIODS, noise_sd=NOISE_SD, rng=seed
    )


def batch(outcomes: np.ndarray) -> np.ndarray:
    n_donors = outcomes.shape[1] - 1
    table = synth.batch_estimate_synthetic_control(outcomes, n_donors, N_PRE).to_frame()
    return table[["estimate", "p_value"]].to_numpy()


def slsqp_gap(pool: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Gap of ``target`` and its synthetic control from ``pool`` (donors x times)."""
    # a shift and a scale that change no weight (they sum to one), for SLSQP's absolute
    # tolerance
    center = target[:N_PRE].mean()
    a, b = pool[:, :N_PRE] - center, target[:N_PRE] - center
    scale = np.sqrt(np.mean(np.r_[a.ravel(), b] ** 2))
    a, b = a / scale, b / scale
    n = len(pool)

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        residual = w @ a - b
        return float(residual @ residual), 2.0 * (a @ residual)

    fit = optimize.minimize(
        objective,
        np.full(n, 1.0 / n),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)}],
        options={"ftol": 1e-14, "maxiter": 1_000},
    )
    return target - fit.x @ pool


def loop(outcomes: np.ndarray) -> np.ndarray:
    """The reference: every unit's synthetic control by SLSQP, one fit at a time."""
    rows = []
    for y in outcomes:
        n_units = len(y)
        treated = n_units - 1
        ratios, effects = np.empty(n_units), np.empty(n_units)
        for i in range(n_units):
            others = [j for j in range(n_units) if j != i]
            gap = slsqp_gap(y[others], y[i])
            pre, post = np.sqrt(np.mean(gap[:N_PRE] ** 2)), np.sqrt(np.mean(gap[N_PRE:] ** 2))
            ratios[i], effects[i] = post / pre, gap[N_PRE:].mean()
        placebo = np.delete(ratios, treated)
        p_value = (1 + np.sum(placebo >= ratios[treated])) / (1 + len(placebo))
        rows.append((effects[treated], p_value))
    return np.array(rows)


def compare(n_panels: int = 20, n_donors: int = 40, seed: int = 31) -> dict[str, Any]:
    outcomes = panels(n_panels, n_donors, seed)
    batch(outcomes[:1])  # warm-up
    fast_rows, fast = timed(batch, outcomes)
    loop_rows, slow = timed(loop, outcomes)
    effect_difference = float(np.abs(fast_rows[:, 0] - loop_rows[:, 0]).max())
    p_difference = float(np.abs(fast_rows[:, 1] - loop_rows[:, 1]).max())
    assert effect_difference < 1e-4 * NOISE_SD, effect_difference
    assert p_difference <= 1.0 / (n_donors + 1) + 1e-12, p_difference
    return comparison(
        "synthetic_control",
        recipe="synth.batch_estimate_synthetic_control",
        reference="loop over panels and units: scipy.optimize.minimize (SLSQP) per fit",
        size=f"{n_panels} panels x {n_donors} donors x {N_PERIODS} periods "
        f"({N_PRE} before), every unit a placebo",
        fast=fast,
        slow=slow,
        agreement={
            "largest_effect_difference": effect_difference,
            "largest_p_value_difference": p_difference,
            "p_values_equal": int(np.sum(np.isclose(fast_rows[:, 1], loop_rows[:, 1]))),
            "panels": n_panels,
        },
    )


def scale(
    n_panels: int = 10, donor_counts: tuple[int, ...] = (40, 400), seed: int = 32
) -> dict[str, Any]:
    batch(panels(1, donor_counts[0], seed))
    timings = [timed(batch, panels(n_panels, n, seed))[1] for n in donor_counts]
    return scaling(
        "synthetic_control",
        recipe=f"synth.batch_estimate_synthetic_control, {n_panels} panels x "
        f"{N_PERIODS} periods, every unit a placebo",
        size_name="donors",
        sizes=donor_counts,
        timings=timings,
    )


def main(n_panels: int = 20) -> None:
    result = compare(n_panels)
    print(
        f"synthetic control ({result['size']}): {result['fast_cpu_s']:.2f} s CPU batch, "
        f"{result['reference_cpu_s']:.2f} s SLSQP loop ({result['cpu_ratio']:.0f}x); "
        f"agreement {result['agreement']}"
    )
    curve = scale()
    for n, cpu in zip(curve["sizes"], curve["cpu_s"], strict=True):
        print(f"  {n:4d} donors: {cpu:6.2f} s CPU")
    print(f"  power law: cpu = {curve['coefficient']:.2e} x donors^{curve['exponent']:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
