"""Sampling machinery shared by the Bayesian fits of :mod:`playbook_lib.hbm` (private).

PyMC models are compiled by nutpie's numba backend (:func:`compile_model`; with
replaceable data, kept in memory for same-shaped refits) and sampled without a progress
bar (:func:`sample_nutpie`, which also measures wall and CPU time). Densities written as
small numba functions of log standard deviations are sampled directly, with no PyTensor
graph to compile (:func:`sample_log_sd_density`). Draws are summarised as
:class:`~playbook_lib.Estimates` (:func:`summarize_draws`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.hbm._checks import as_index, relabel
from playbook_lib.results import Estimates
from playbook_lib.validation import check_integer, check_positive, check_probability, check_rng


def seed_from(rng: np.random.Generator | int | None) -> int:
    """A sampler seed drawn from ``rng`` (validated by :func:`check_rng`)."""
    return int(check_rng(rng).integers(2**31 - 1))


_SHARED_DATA_MODELS: dict[tuple[Any, ...], Any] = {}


def model_data(shared: bool, name: str, value: Any, dims: str | None = None) -> Any:
    """``pm.Data`` (replaceable after compilation) or the plain value (a constant)."""
    if not shared:
        # A NumPy float64, not a Python float: PyTensor stores a Python float constant in
        # float32 when its float32 rounding is "close" (autocast), e.g. 0.7 -> 0.69999999.
        return np.float64(value) if isinstance(value, float) else value
    import pymc as pm

    return pm.Data(name, value, dims=dims)


def compile_model(
    build: Callable[[bool], Any], key: tuple[Any, ...] | None
) -> tuple[Any, float, float]:
    """Compile a PyMC model with nutpie (numba backend); return it and the wall/CPU seconds.

    ``key=None`` builds the model with its data as constants and freezes it: PyTensor folds
    the data into the graph, which compiles fastest (the right choice for one fit).
    Otherwise the data are ``pm.Data`` and the compiled model is kept in memory under
    ``key`` (model structure and shapes) so later fits of same-shaped data only sample.
    """
    if key is not None and key in _SHARED_DATA_MODELS:
        return _SHARED_DATA_MODELS[key], 0.0, 0.0
    import nutpie

    wall, cpu = time.perf_counter(), time.process_time()
    model = build(key is not None)
    with warnings.catch_warnings():
        # PyTensor probes for a BLAS library while rewriting the graph and warns when it
        # finds none (pip installs); nutpie compiles with numba and never links BLAS.
        warnings.filterwarnings(
            "ignore", message="PyTensor could not link to a BLAS", category=UserWarning
        )
        compiled = nutpie.compile_pymc_model(model, freeze_model=key is None)
    if key is not None:
        _SHARED_DATA_MODELS[key] = compiled
    return compiled, time.perf_counter() - wall, time.process_time() - cpu


def compile_and_sample(
    build: Callable[[bool], Any],
    key: tuple[Any, ...] | None,
    data: Mapping[str, Any],
    **settings: Any,
) -> tuple[Any, dict[str, float]]:
    """Compile (see :func:`compile_model`), load ``data`` into a reused model, sample with nutpie.

    ``settings`` are :func:`sample_nutpie`'s keywords. Returns the draws and the timings
    (``compile_cpu`` is 0 when a compiled model was reused).
    """
    compiled, compile_wall, compile_cpu = compile_model(build, key)
    if key is not None:
        compiled = compiled.with_data(**data)
    return sample_nutpie(compiled, compile_wall, compile_cpu, **settings)


def sample_nutpie(
    compiled: Any,
    compile_wall: float,
    compile_cpu: float,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int,
    target_accept: float,
    seed: int,
) -> tuple[Any, dict[str, float]]:
    """Sample a nutpie model (no progress bar); return the draws and the timings.

    The timings are ``compile_wall``, ``compile_cpu`` (as given), ``sample_wall``,
    ``sample_cpu``, ``total_wall`` and ``total_cpu`` in seconds.
    """
    import nutpie

    wall, cpu = time.perf_counter(), time.process_time()
    idata = nutpie.sample(
        compiled,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        progress_bar=False,
        target_accept=target_accept,
    )
    sample_wall, sample_cpu = time.perf_counter() - wall, time.process_time() - cpu
    return idata, {
        "compile_wall": compile_wall,
        "compile_cpu": compile_cpu,
        "sample_wall": sample_wall,
        "sample_cpu": sample_cpu,
        "total_wall": compile_wall + sample_wall,
        "total_cpu": compile_cpu + sample_cpu,
    }


def add_draws(idata: Any, name: str, values: np.ndarray, dim: str | None = None) -> None:
    """Store derived draws shaped ``(chain*draw[, k])`` in ``idata.posterior``."""
    chains, draws = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    dims = ("chain", "draw") if dim is None else ("chain", "draw", dim)
    idata.posterior[name] = (dims, values.reshape(chains, draws, *values.shape[1:]))


def check_sampler_settings(
    draws: int, tune: int, chains: int, cores: int, target_accept: float
) -> None:
    check_integer(draws, "draws", minimum=10)
    check_integer(tune, "tune", minimum=10)
    check_integer(chains, "chains", minimum=1)
    check_integer(cores, "cores", minimum=1)
    check_probability(target_accept, "target_accept", allow_zero=False, allow_one=False)


def summarize_draws(
    draws: np.ndarray, labels: Sequence[Any] | pd.Index, method: str, alpha: float, **extra: Any
) -> Estimates:
    """Posterior mean, sd and equal-tailed interval of draws shaped (n_draws, k), one row
    per column of ``draws`` labelled by ``labels`` (plus ``extra`` columns)."""
    low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    table = Estimates.from_arrays(
        method, draws.mean(axis=0), draws.std(axis=0, ddof=1), low, high, alpha=alpha
    )
    return relabel(table, as_index(labels), **extra)


def coordinate(labels: pd.Index) -> np.ndarray:
    """Labels as values of an ArviZ coordinate (tuple labels as text, e.g. ``"(0, 'a')"``)."""
    if isinstance(labels, pd.MultiIndex):
        return np.array([str(label) for label in labels], dtype=object)
    return labels.to_numpy()


def stack(idata: Any, name: str) -> np.ndarray:
    """Draws of ``name`` with chains and draws flattened into one leading axis."""
    values = idata.posterior[name].to_numpy()
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


def log_sd_pyfunc_model(
    density: Callable[[np.ndarray], tuple[float, np.ndarray]],
    prior_scale: float,
    names: Sequence[str],
) -> Any:
    """A nutpie model sampling ``density`` over log standard deviations (no compilation).

    The draws are stored as the sds themselves, one scalar variable per name. Chains start
    at ``log c + U(-1, 1)`` per coordinate, as PyMC jitters its start points.
    """
    from nutpie.compiled_pyfunc import from_pyfunc

    dimension = len(names)

    def make_logp() -> Callable[..., tuple[float, np.ndarray]]:
        return lambda x, **_: density(x)

    def make_expand(*_: Any) -> Callable[..., dict[str, np.ndarray]]:
        return lambda x, **_: {name: np.asarray(math.exp(x[i])) for i, name in enumerate(names)}

    def initial_point(seed: int) -> np.ndarray:
        jitter = np.random.default_rng(seed).uniform(-1.0, 1.0, size=dimension)
        return np.log(prior_scale) + jitter

    return from_pyfunc(
        dimension,
        make_logp,
        make_expand,
        [np.dtype("float64")] * dimension,
        [()] * dimension,
        list(names),
        make_initial_point_fn=initial_point,
    )


def sample_log_sd_density(
    density: Callable[[np.ndarray], tuple[float, np.ndarray]],
    prior_scale: float,
    names: Sequence[str],
    **settings: Any,
) -> tuple[Any, dict[str, float]]:
    """Sample a density of log sds with nutpie (:func:`log_sd_pyfunc_model`); no compiling.

    ``settings`` are :func:`sample_nutpie`'s keywords, ``cores`` excepted: the chains share
    one thread, because nutpie calls the density through Python, which holds the GIL (two
    threads only fight for the lock).
    """
    import nutpie.compiled_pyfunc  # noqa: F401  (imported before the clock starts)

    wall, cpu = time.perf_counter(), time.process_time()
    model = log_sd_pyfunc_model(density, prior_scale, names)
    return sample_nutpie(
        model, time.perf_counter() - wall, time.process_time() - cpu, **{**settings, "cores": 1}
    )


def add_log_likelihood(idata: Any, log_lik: np.ndarray, unit_name: str, ids: Sequence[Any]) -> None:
    """Store pointwise log-likelihoods ``(chain*draw, n)`` as ``idata.log_likelihood``."""
    import xarray as xr

    chains, draws = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    dataset = xr.Dataset(
        {"likelihood": (("chain", "draw", unit_name), log_lik.reshape(chains, draws, -1))},
        coords={
            "chain": idata.posterior["chain"].to_numpy(),
            "draw": idata.posterior["draw"].to_numpy(),
            unit_name: np.asarray(ids),
        },
    )
    if "log_likelihood" in idata.groups():
        del idata.log_likelihood
    idata.add_groups(log_likelihood=dataset)


def default_prior_scale(y: np.ndarray, prior_scale: Any, what: str) -> float:
    """``prior_scale`` checked positive; by default the sample sd of ``y`` (which must vary)."""
    if prior_scale is None:
        prior_scale = float(np.std(y, ddof=1))
        if not prior_scale > 0:
            raise ValueError(
                f"prior_scale: the {what} are all equal, so the default prior scale (their "
                "standard deviation) is 0; pass prior_scale"
            )
    return check_positive(prior_scale, "prior_scale")
