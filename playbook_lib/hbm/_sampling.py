"""Sampling machinery shared by the Bayesian fits of :mod:`playbook_lib.hbm` (private).

Every fit samples one of ``_densities``' log densities, numba C callbacks compiled
once per environment, with nutpie and without a progress bar (:func:`sample_density`,
:func:`sample_nutpie`, which also measures wall and CPU time): no PyTensor graph is ever
compiled. Draws are summarised as :class:`~playbook_lib.Estimates`
(:func:`summarize_draws`).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.hbm._checks import as_index, relabel
from playbook_lib.hbm._densities import Density, expand_callback
from playbook_lib.results import Estimates
from playbook_lib.validation import check_integer, check_positive, check_probability, check_rng


def seed_from(rng: np.random.Generator | int | None) -> int:
    """A sampler seed drawn from ``rng`` (validated by :func:`check_rng`)."""
    return int(check_rng(rng).integers(2**31 - 1))


def _no_shared_variables() -> dict[str, Any]:
    """The keyword that says "no PyTensor shared variables" to the nutpie in use: from 0.16.11
    ``CompiledPyMCModel`` also takes ``shared_var_keys`` (the map of shared variables to
    their keys in ``shared_data``), which these densities, holding no shared variables,
    leave empty."""
    from nutpie.compile_pymc import CompiledPyMCModel

    parameters = inspect.signature(CompiledPyMCModel).parameters
    return {"shared_var_keys": {}} if "shared_var_keys" in parameters else {}


def sample_density(
    density: Density,
    names: Sequence[str],
    shapes: Sequence[tuple[int, ...]],
    initial_center: np.ndarray,
    initial_scale: np.ndarray,
    *,
    dims: Mapping[str, tuple[str, ...]] | None = None,
    coords: Mapping[str, Any] | None = None,
    **settings: Any,
) -> tuple[Any, dict[str, float]]:
    """Sample one of ``_densities``' log densities with nutpie.

    The draws are stored under ``names`` with ``shapes`` (in the order of ``x``, the
    log-scale block exponentiated), with ``dims``/``coords`` for the non-scalar ones.
    Chains start at ``initial_center + initial_scale * U(-1, 1)`` per coordinate (as PyMC
    jitters its start points). ``settings`` are :func:`sample_nutpie`'s keywords. nutpie
    calls the compiled callback from its threads with no Python in between. The model
    object is the one nutpie builds for a PyMC model compiled with numba
    (``nutpie.compile_pymc.CompiledPyMCModel``, not part of nutpie's documented API), given
    these callbacks instead of PyTensor's; nutpie has no public entry point for a numba
    density yet (its ``from_pyfunc`` calls Python, and holds the GIL, at every step). Every
    fit of the package goes through it.
    """
    from nutpie.compile_pymc import CompiledPyMCModel

    logp, logp_wall, logp_cpu = density.callback()
    expand, expand_wall, expand_cpu = expand_callback()
    center = np.asarray(initial_center, dtype=float)
    scale = np.asarray(initial_scale, dtype=float)

    def initial_point(seed: int) -> np.ndarray:
        return center + scale * np.random.default_rng(seed).uniform(-1.0, 1.0, size=center.size)

    sizes = [int(np.prod(shape, dtype=int)) for shape in shapes]
    stops = np.cumsum(sizes)
    slices = [slice(int(stop - size), int(stop)) for size, stop in zip(sizes, stops, strict=True)]
    model = CompiledPyMCModel(
        dims=dict(dims or {}),
        _coords={name: pd.Index(values) for name, values in (coords or {}).items()},
        compiled_logp_func=logp,
        compiled_expand_func=expand,
        initial_point_func=initial_point,
        shared_data={},
        **_no_shared_variables(),
        user_data=density.data,
        n_expanded=density.n_dim,
        shape_info=(list(names), slices, [tuple(shape) for shape in shapes]),
        logp_func=None,
        expand_func=None,
        _n_dim=density.n_dim,
        _shapes={name: tuple(shape) for name, shape in zip(names, shapes, strict=True)},
    )
    return sample_nutpie(model, logp_wall + expand_wall, logp_cpu + expand_cpu, **settings)


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


def normal_log_density(y: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``log N(y; mean, sd^2)`` elementwise (SciPy's ``norm.logpdf`` without its overhead)."""
    z = (y - mean) / sd
    return -0.5 * z * z - np.log(sd) - 0.5 * np.log(2 * np.pi)


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
