"""The hyperparameters' posterior of the known-SE hierarchical model, by numerical integration.

The model of :func:`~playbook_lib.hbm.fit_hierarchical_model` has only two parameters that
are not conjugate: the group and unit standard deviations. Given them the estimates are
jointly normal, so the mean, the group means and the unit effects integrate out exactly,
and the posterior of the two standard deviations is a two-dimensional density that a grid
integrates to any accuracy. :func:`compute_hyperparameter_posterior` does that for many
data sets at once (no sampler, no Python loop over replications), with a choice of prior
for the group standard deviation: an exact reference for the sampler, a calibration study
of the hyperparameters' intervals, and a prior-sensitivity analysis.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import interpolate, special, stats

from playbook_lib.hbm._checks import onehot
from playbook_lib.hbm.pooling import _replication_blocks
from playbook_lib.results import Estimates
from playbook_lib.validation import (
    PlaybookWarning,
    check_alpha,
    check_choice,
    check_integer,
    check_positive,
)

__all__ = ["compute_hyperparameter_posterior"]

GROUP_SD_PRIORS = ("halfnormal", "half-t", "half-cauchy")
_BLOCK = 50  # replications per block: bounds the (block, K, L, G) work arrays


def _log_prior(sd: np.ndarray, scale: np.ndarray, prior: str, df: float) -> np.ndarray:
    """Log density (up to a constant) of a half-normal or half-t prior with scale ``scale``."""
    ratio2 = (sd / scale) ** 2
    if prior == "halfnormal":
        return -0.5 * ratio2
    nu = 1.0 if prior == "half-cauchy" else df
    return -0.5 * (nu + 1) * np.log1p(ratio2 / nu)


def _unit_terms(
    unit_sd: np.ndarray, y: np.ndarray, s2: np.ndarray, indicators: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per grid value of ``unit_sd`` (block, K): ``W_g``, ``ybar_g`` (block, K, G) and
    ``sum log v + sum_g Q_g`` (block, K)."""
    v = unit_sd[:, :, None] ** 2 + s2[:, None, :]
    w = 1.0 / v
    weight_sum = w @ indicators  # (block, K, n) @ (block, n, G): batched matrix products
    mean = (w * y[:, None, :]) @ indicators / weight_sum
    square = (w * y[:, None, :] ** 2) @ indicators
    within = (square - weight_sum * mean**2).sum(axis=-1)
    return weight_sum, mean, np.log(v).sum(axis=-1) + within


def _log_posterior(
    unit_sd: np.ndarray,
    group_sd: np.ndarray,
    y: np.ndarray,
    s2: np.ndarray,
    indicators: np.ndarray,
    scale: np.ndarray,
    prior: str,
    df: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log posterior of ``(log unit_sd, log group_sd)`` on the grid (block, K, L), with the
    conditional mean and precision of ``mu`` there (the model of
    :func:`~playbook_lib.hbm.fit_hierarchical_model`, ``mu ~ N(0, (10 c)^2)``)."""
    weight_sum, mean, base = _unit_terms(unit_sd, y, s2, indicators)
    group_var = group_sd[:, None, :, None] ** 2
    mean_var = 1.0 / weight_sum[:, :, None, :] + group_var  # u_g, (block, K, L, G)
    prior_var = (10.0 * scale) ** 2
    precision = (1.0 / mean_var).sum(axis=-1) + 1.0 / prior_var[:, None, None]
    numerator = (mean[:, :, None, :] / mean_var).sum(axis=-1)
    log_likelihood = -0.5 * (
        base[:, :, None]
        + np.log1p(group_var * weight_sum[:, :, None, :]).sum(axis=-1)
        + (mean[:, :, None, :] ** 2 / mean_var).sum(axis=-1)
        - numerator**2 / precision
        + np.log(prior_var[:, None, None] * precision)
    )
    # priors of the sds, times the Jacobian of the log scale
    unit_prior = _log_prior(unit_sd, scale[:, None], "halfnormal", df) + np.log(unit_sd)
    group_prior = _log_prior(group_sd, scale[:, None], prior, df) + np.log(group_sd)
    log_prior = unit_prior[:, :, None] + group_prior[:, None, :]
    return log_likelihood + log_prior, numerator / precision, precision


def _quantiles(grid: np.ndarray, mass: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Quantiles of a density on a log-spaced grid (block, K), each point the centre of a
    cell in ``log sd``: the log density is interpolated by a cubic spline onto a grid 8
    times finer, whose cells' CDF is then interpolated linearly."""
    fine = np.linspace(0, grid.shape[1] - 1, 8 * (grid.shape[1] - 1) + 1)
    log_mass = interpolate.CubicSpline(
        np.arange(grid.shape[1]), np.log(np.maximum(mass, 1e-300)), axis=1
    )(fine)
    log_grid = interpolate.interp1d(np.arange(grid.shape[1]), np.log(grid), axis=1)(fine)
    mass = np.exp(log_mass - log_mass.max(axis=1, keepdims=True))
    mass /= mass.sum(axis=1, keepdims=True)
    step = log_grid[:, 1:2] - log_grid[:, :1]
    edges = np.concatenate([log_grid - step / 2, log_grid[:, -1:] + step / 2], axis=1)
    cdf = np.concatenate([np.zeros((len(mass), 1)), np.cumsum(mass, axis=1)], axis=1)
    out = np.empty((len(mass), probabilities.size))
    for column, probability in enumerate(probabilities):
        upper = np.clip((cdf < probability).sum(axis=1), 1, mass.shape[1])
        rows = np.arange(len(mass))
        low_cdf, high_cdf = cdf[rows, upper - 1], cdf[rows, upper]
        fraction = (probability - low_cdf) / np.maximum(high_cdf - low_cdf, 1e-300)
        out[:, column] = np.exp(edges[rows, upper - 1] + fraction * step[:, 0])
    return out


def _refined(grid: np.ndarray, log_mass: np.ndarray, size: int, floor: float) -> np.ndarray:
    """A log-spaced grid of ``size`` points over the cells of ``grid`` whose log mass is
    within 25 of the maximum (one coarse cell wider on each side), per row."""
    keep = log_mass > log_mass.max(axis=1, keepdims=True) - 25.0
    first = np.argmax(keep, axis=1)
    last = grid.shape[1] - 1 - np.argmax(keep[:, ::-1], axis=1)
    rows = np.arange(len(grid))
    ratio = grid[:, 1] / grid[:, 0]
    low = np.maximum(grid[rows, first] / ratio, floor * grid[:, 0])
    high = grid[rows, last] * ratio
    return np.exp(np.linspace(np.log(low), np.log(high), size, axis=1))


def compute_hyperparameter_posterior(
    effects: Estimates,
    groups: Any,
    *,
    replications: Any = None,
    prior_scale: float | None = None,
    group_sd_prior: str = "halfnormal",
    prior_df: float = 3.0,
    grid_size: int = 60,
    alpha: float = 0.05,
) -> Estimates:
    """Posterior of the mean and the two standard deviations of the hierarchical model.

    The model is :func:`~playbook_lib.hbm.fit_hierarchical_model`'s (known-SE likelihood,
    ``mu ~ N(0, (10 c)^2)``, ``unit_sd ~ HalfNormal(c)``, ``c`` the prior scale), with the
    prior of ``group_sd`` one of ``HalfNormal(c)``, a half-t with ``prior_df`` degrees of
    freedom and scale ``c``, or ``HalfCauchy(c)`` (the half-t with one) :cite:`gelman2006prior`.
    ``mu``, the group means and the unit effects are integrated out exactly (the marginal
    likelihood of :func:`~playbook_lib.hbm.fit_hierarchical_model`'s default model, by the
    matrix determinant lemma), and the posterior of ``(log group_sd, log unit_sd)`` is
    evaluated on a grid: a coarse grid over ``c 1e-4 .. c 1e4`` (``group_sd``) and
    ``c 1e-3 .. c 1e1`` (``unit_sd``) finds where the posterior lives, then a grid of
    ``grid_size`` points per axis covers that region (every point within ``exp(-25)`` of
    the largest density). Given the sds ``mu`` is normal, so its posterior is a mixture of
    normals over the grid, whose quantiles are solved for. The summaries are exact up to
    the grid; quantiles of the sds interpolate the log density by a cubic spline.

    Vectorised over replications: each replication (data set) is integrated separately,
    all at once, with its own prior scale.

    Parameters
    ----------
    effects : Estimates
        One row per unit (and replication): estimate and positive standard error.
    groups : array-like or pandas.Series
        The group of each row.
    replications : array-like or pandas.Series, optional
        The data set of each row (each with the same number of units).
    prior_scale : float, optional
        ``c``; by default each data set's sample sd of the estimates, as in
        :func:`~playbook_lib.hbm.fit_hierarchical_model`.
    group_sd_prior : {"halfnormal", "half-t", "half-cauchy"}
        The prior of ``group_sd``, scale ``c``.
    prior_df : float
        Degrees of freedom of the half-t prior (positive).
    grid_size : int
        Grid points per axis in the fine grid (at least 20).
    alpha : float
        One minus the credible level of the equal-tailed intervals.

    Returns
    -------
    Estimates
        Rows ``mu``, ``group_sd``, ``unit_sd`` (labelled ``parameter``; with
        ``replications``, labelled ``(replication, parameter)`` in sorted order):
        posterior mean, posterior sd as ``se``, equal-tailed interval; extra columns
        ``prior_scale`` and ``group_sd_prior``.

    Raises
    ------
    ValueError
        As :func:`~playbook_lib.hbm.empirical_bayes_effects` for the data; if a data set
        has fewer than 3 units or equal estimates (without ``prior_scale``), or a setting
        is invalid.
    """
    check_choice(group_sd_prior, "group_sd_prior", GROUP_SD_PRIORS)
    prior_df = check_positive(prior_df, "prior_df")
    grid_size = check_integer(grid_size, "grid_size", minimum=20)
    alpha = check_alpha(alpha)
    blocks = _replication_blocks(effects, groups, replications)
    y, s, codes, labels = blocks[:4]
    replication_values = blocks[6]
    n_sets, n_units = y.shape
    if n_units < 3:
        raise ValueError(f"effects: need at least 3 units per data set, got {n_units}")
    if prior_scale is None:
        scale = y.std(axis=1, ddof=1)
        if not (scale > 0).all():
            raise ValueError(
                "prior_scale: the estimates of a data set are all equal, so the default "
                "prior scale (their standard deviation) is 0; pass prior_scale"
            )
    else:
        scale = np.full(n_sets, check_positive(prior_scale, "prior_scale"))
    probabilities = np.array([alpha / 2, 1 - alpha / 2])
    summaries = np.empty((n_sets, 3, 4))  # parameter x (mean, sd, low, high)
    for start in range(0, n_sets, _BLOCK):
        part = slice(start, min(start + _BLOCK, n_sets))
        yb, s2b, cb = y[part], s[part] ** 2, scale[part]
        indicators = onehot(codes[part], len(labels))
        settings = (yb, s2b, indicators, cb, group_sd_prior, prior_df)
        unit_grid = cb[:, None] * np.logspace(-3, 1, 41)[None, :]
        group_grid = cb[:, None] * np.logspace(-4, 4, 81)[None, :]
        coarse = _log_posterior(unit_grid, group_grid, *settings)[0]
        unit_grid = _refined(unit_grid, _logsumexp(coarse, 2), grid_size, 1e-3)
        group_grid = _refined(group_grid, _logsumexp(coarse, 1), grid_size, 1e-4)
        log_post, mu_mean, mu_precision = _log_posterior(unit_grid, group_grid, *settings)
        weights = np.exp(log_post - log_post.max(axis=(1, 2), keepdims=True))
        weights /= weights.sum(axis=(1, 2), keepdims=True)
        for index, (grid, mass) in enumerate(
            ((group_grid, weights.sum(axis=1)), (unit_grid, weights.sum(axis=2)))
        ):
            mean = (grid * mass).sum(axis=1)
            sd = np.sqrt(np.maximum((grid**2 * mass).sum(axis=1) - mean**2, 0.0))
            summaries[part, 1 + index, :2] = np.column_stack([mean, sd])
            summaries[part, 1 + index, 2:] = _quantiles(grid, mass, probabilities)
        # mu: a mixture of N(mu_mean, 1 / mu_precision) over the grid cells
        flat = weights.reshape(len(yb), -1)
        centre = mu_mean.reshape(len(yb), -1)
        spread = 1.0 / np.sqrt(mu_precision.reshape(len(yb), -1))
        # The quantiles use the cells that hold all but 1e-7 of each row's mass.
        order = np.argsort(flat, axis=1)[:, ::-1]
        rows = np.arange(len(yb))[:, None]
        needed = int((np.cumsum(flat[rows, order], axis=1) < 1 - 1e-7).sum(axis=1).max()) + 1
        top = order[:, :needed]
        mean = (flat * centre).sum(axis=1)
        sd = np.sqrt(np.maximum((flat * (centre**2 + spread**2)).sum(axis=1) - mean**2, 0.0))
        summaries[part, 0, :2] = np.column_stack([mean, sd])
        summaries[part, 0, 2:] = _mixture_quantiles(
            flat[rows, top], centre[rows, top], spread[rows, top], mean, sd, probabilities
        )
    # For group_sd = g far above every scale of the data, the G group means are G draws
    # of variance ~g^2 (mu's prior is proper), so the likelihood falls as g^-G; a half-t
    # prior with nu degrees of freedom falls as g^-(nu + 1). The posterior's k-th moment
    # exists only for k < G + nu: with G + nu <= 2 its sd is infinite, and the grid
    # (which ends at 1e4 c) reports the sd of the posterior cut off there.
    tail_df = {"halfnormal": np.inf, "half-t": prior_df, "half-cauchy": 1.0}[group_sd_prior]
    if len(labels) + tail_df <= 2:
        warnings.warn(
            f"compute_hyperparameter_posterior: with {len(labels)} group(s) and a "
            f"{group_sd_prior} prior (tail degrees of freedom {tail_df:g}) the posterior of "
            "group_sd has an infinite standard deviation; its reported sd is that of the "
            "posterior cut off at 1e4 times the prior scale. Report its interval, or use a "
            "lighter-tailed prior",
            PlaybookWarning,
            stacklevel=2,
        )
    parameters = ["mu", "group_sd", "unit_sd"]
    if replication_values is None:
        index = pd.Index(parameters, name="parameter")
    else:
        sets = np.sort(replication_values.unique())
        index = pd.MultiIndex.from_product([sets, parameters], names=["replication", "parameter"])
    flat_summaries = summaries.reshape(-1, 4)
    table = Estimates.from_arrays(
        "hierarchical Bayes (grid)",
        *flat_summaries.T,
        alpha=alpha,
    ).to_frame()
    table.index = index
    table["prior_scale"] = np.repeat(scale, 3)
    table["group_sd_prior"] = group_sd_prior
    return Estimates(table)


def _mixture_quantiles(
    weights: np.ndarray,
    centre: np.ndarray,
    spread: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    probabilities: np.ndarray,
) -> np.ndarray:
    """Quantiles of normal mixtures (one per row): Newton steps from the normal
    approximation, kept inside a bracket that shrinks at every step (a step that would
    leave it bisects instead). The starting bracket holds the quantile by Cantelli's
    inequality, ``mean -/+ sd sqrt(1/p - 1)``. A row stops moving once its CDF is within
    1e-10 of the probability (or its bracket is a few ulps wide), so the answer returned
    is always a point whose CDF was checked.

    Raises
    ------
    RuntimeError
        If some row has not converged after 200 steps (cannot happen while the bisection
        halves the bracket; kept so that a failure is loud, never a silent number).
    """
    out = np.empty((len(weights), probabilities.size))
    for column, probability in enumerate(probabilities):
        reach = np.sqrt(1 / min(probability, 1 - probability) - 1) + 1
        low, high = mean - reach * sd, mean + reach * sd
        x = mean + stats.norm.ppf(probability) * sd
        for _iteration in range(200):
            z = (x[:, None] - centre) / spread
            excess = (weights * special.ndtr(z)).sum(axis=1) - probability
            low = np.where(excess < 0, x, low)
            high = np.where(excess >= 0, x, high)
            done = (np.abs(excess) < 1e-10) | (high - low <= 4e-16 * np.abs(x) + 1e-300)
            if np.all(done):
                break
            density = (weights * np.exp(-0.5 * z**2) / spread).sum(axis=1) / np.sqrt(2 * np.pi)
            newton = x - excess / np.maximum(density, 1e-300)
            inside = (newton > low) & (newton < high)
            x = np.where(done, x, np.where(inside, newton, (low + high) / 2))
        else:
            raise RuntimeError(
                f"normal-mixture quantile {probability}: {int((~done).sum())} rows did not "
                "converge in 200 steps"
            )
        out[:, column] = x
    return out


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    peak = values.max(axis=axis, keepdims=True)
    return np.squeeze(peak, axis) + np.log(np.exp(values - peak).sum(axis=axis))
