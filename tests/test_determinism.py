"""Randomness comes only from ``rng``: the same seeds give bit-identical results in
separate processes, whatever NumPy's global seed and Python's hash seed.

The contract test (tests/test_contract.py) checks every function with an ``rng`` argument
in-process under two global NumPy seeds; this test runs a representative call of each
module's random functions (resampling, simulation, cross-fitting with scikit-learn models,
permutation and placebo inference, Thompson sampling) in two fresh interpreters that differ
in ``PYTHONHASHSEED`` and the global seed, and compares digests of the results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    r'''
    import hashlib, json, sys
    import numpy as np, pandas as pd
    np.random.seed(int(sys.argv[1]))  # must not matter: nothing reads the global state
    import playbook_lib as pl
    from playbook_lib import Estimate


    def canonical(value):
        """Bytes that identify a result exactly (floats by their bit patterns)."""
        if isinstance(value, Estimate):
            return canonical(value.to_dict())
        if isinstance(value, pd.DataFrame):
            return canonical(
                {"columns": list(map(str, value.columns)), "index": list(map(str, value.index)),
                 "values": value.to_numpy()}
            )
        if isinstance(value, pd.Series):
            return canonical(value.to_frame())
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                return repr(value.tolist()).encode()
            return str(value.dtype).encode() + str(value.shape).encode() + value.tobytes()
        if isinstance(value, dict):
            return b"{" + b",".join(
                canonical(k) + b":" + canonical(v) for k, v in value.items()) + b"}"
        if isinstance(value, tuple | list):
            return b"[" + b",".join(canonical(v) for v in value) + b"]"
        if isinstance(value, float):
            return value.hex().encode()
        if hasattr(value, "__dataclass_fields__"):
            return canonical({k: getattr(value, k) for k in value.__dataclass_fields__})
        return repr(value).encode()


    rng = np.random.default_rng(11)
    y_c, y_t = rng.normal(10, 2, 80), rng.normal(10.4, 2, 70)
    features = rng.normal(size=(300, 3))
    treatment = (rng.random(300) < 0.5).astype(int)
    outcome = features @ [1.0, -0.5, 0.2] + 0.3 * treatment + rng.normal(size=300)
    confounded = pl.simulate.simulate_confounded_logs(2000, rng=3)
    panel = pl.simulate.simulate_factor_panel_arrays(1, 12, 20, rng=4)
    calls = {
        "bootstrap_difference": lambda: pl.abtest.bootstrap_difference(
            y_c, y_t, n_resamples=300, rng=5),
        "simulate_power_means": lambda: pl.abtest.simulate_power_means(
            0.2, 1.0, 100, n_sims=500, rng=5),
        "assign_stratified": lambda: pl.abtest.assign_stratified(
            np.repeat(["a", "b", "c"], 20), rng=5),
        "estimate_cupac": lambda: pl.cuped.estimate_cupac(
            outcome, features, treatment, n_folds=3, rng=5),
        "simulate_did_power": lambda: pl.geo.simulate_did_power(
            20, 14, 7, 0.05, n_sims=100, rng=5),
        "batch_estimate_synthetic_did": lambda: pl.synth.batch_estimate_synthetic_did(
            np.asarray(panel)[:1], 11, 15, n_placebo=10, rng=5).to_frame(),
        "simulate_interim_paths": lambda: pl.sequential.simulate_interim_paths(
            np.r_[y_c, y_t], np.r_[np.zeros(80), np.ones(70)], [50, 100, 150], 20, rng=5),
        "simulate_thompson_sampling": lambda: pl.bandits.simulate_thompson_sampling(
            [0.1, 0.12], 300, n_reps=3, record_propensities=True, rng=5),
        "estimate_cross_fitted_dr": lambda: pl.bandits.estimate_cross_fitted_dr(
            confounded, rng=5),
        "fit_meta_learner": lambda: pl.uplift.fit_meta_learner(
            features, treatment, outcome, learner="x", rng=5).predict(features[:50]),
        "simulate_ecommerce_experiment": lambda: pl.simulate.simulate_ecommerce_experiment(
            2000, rng=5),
        "simulate_geo_panel": lambda: pl.simulate.simulate_geo_panel(10, 14, 7, rng=5),
        "weighted_utility": lambda: pl.decisions.weighted_utility(
            pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, 0.1]}, index=["x", "y"]),
            pd.DataFrame({"a": [0.3, 0.4], "b": [0.2, 0.2]}, index=["x", "y"]),
            {"a": 1.0, "b": 0.5}, {"a": "higher_is_better", "b": "lower_is_better"},
            n_draws=500, rng=5),
    }
    digests = {}
    for name, call in calls.items():
        try:
            digests[name] = hashlib.sha256(canonical(call())).hexdigest()
        except Exception as error:  # reported by the test, with the name of the call
            digests[name] = f"error: {type(error).__name__}: {error}"
    print(json.dumps(digests))
    '''
)


def _run(global_seed: int, hash_seed: str) -> dict[str, str]:
    environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(global_seed)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_same_seeds_give_bit_identical_results_in_separate_processes() -> None:
    first, second = _run(1, "0"), _run(2, "12345")
    errors = {name: digest for name, digest in first.items() if digest.startswith("error")}
    assert not errors, errors
    differing = sorted(name for name in first if first[name] != second[name])
    assert not differing, f"results differ between processes: {differing}"
