"""The circular moving-block bootstrap, vectorised, and its percentile interval for the log
estimators.

:func:`compute_block_bootstrap_means` resamples blocks of consecutive rows with index arrays
(no loop over replicates); :func:`estimate_block_bootstrap` applies it to the per-round
scores of IPW, SNIPW or AIPW (Kunsch, 1989; Politis and Romano, 1992).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib.bandits._checks import prepare_log
from playbook_lib.bandits._resample import block_bootstrap_arrays, block_means
from playbook_lib.bandits._scores import history_means
from playbook_lib.results import Estimate
from playbook_lib.validation import as_numeric_array, check_alpha, check_choice, check_rng

__all__ = ["compute_block_bootstrap_means", "estimate_block_bootstrap"]


def compute_block_bootstrap_means(
    values: Any,
    block_length: int,
    n_boot: int = 1000,
    *,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Circular moving-block bootstrap of column means, vectorised with index arrays.

    Each replicate concatenates ``ceil(n / block_length)`` blocks of consecutive rows whose
    start rows are drawn uniformly (blocks wrap around the end; Politis and Romano's
    circular version of Kunsch's moving-block bootstrap) and averages them. Block sums are
    precomputed from one cumulative sum, so a replicate costs one gather per block, not per
    row.

    Parameters
    ----------
    values : array-like, shape (..., n) or (..., n, p)
        Rows in time order (leading axes: independent series, e.g. replications).
    block_length : int
        Rows per block, between 1 and n.
    n_boot : int
        Bootstrap replicates.
    rng : numpy.random.Generator, int or None
        Randomness.

    Returns
    -------
    numpy.ndarray, shape (..., n_boot) or (..., n_boot, p)
        Bootstrap means.

    Raises
    ------
    ValueError
        If ``values`` is not finite or empty, ``block_length`` is not an integer in 1..n,
        ``n_boot`` is not a positive integer, or ``rng`` is not a Generator, seed or None.
    """
    array = as_numeric_array(values, "values", allow_empty=True)
    if array.ndim == 0 or array.shape[-1] == 0:
        raise ValueError("values must be a non-empty array with a time axis")
    squeeze = False
    if array.ndim == 1:
        array = array[:, None]
        squeeze = True
    means = block_means(array, block_length, n_boot, rng)
    return means[..., 0] if squeeze else means


def estimate_block_bootstrap(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    estimator: str = "ipw",
    block_length: int = 500,
    n_boot: int = 1000,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Percentile interval from a time-block bootstrap of IPW, SNIPW or AIPW.

    The per-round scores are resampled in blocks of consecutive rounds
    (:func:`compute_block_bootstrap_means`), which keeps short-range dependence. It treats the score
    series as stationary; under adaptive allocation the scores' variance drifts with the
    propensities, so the interval under-covers when propensities approach 0 (Hadad et al.,
    2021).

    Parameters
    ----------
    estimator : {"ipw", "snipw", "aipw"}
        The point estimator (AIPW with running posterior-mean predictions).
    block_length, n_boot, rng
        As :func:`compute_block_bootstrap_means`.
    Other parameters as :func:`estimate_ipw`.

    Returns
    -------
    Estimate
        ``method="<estimator> block bootstrap"``; ``se`` is the bootstrap standard deviation.

    Raises
    ------
    ValueError
        As :func:`estimate_ipw` and :func:`compute_block_bootstrap_means`.
    """
    alpha = check_alpha(alpha)
    check_choice(estimator, "estimator", ("ipw", "snipw", "aipw"))
    generator = check_rng(rng)
    log = prepare_log(
        arms, rewards, propensities, treatment=treatment, control=control, n_arms=n_arms
    )
    predictions = history_means(log.arms, log.rewards, log.n_arms) if estimator == "aipw" else None
    point, sd, low, high = block_bootstrap_arrays(
        estimator, log, predictions, block_length, n_boot, alpha, generator
    )
    return Estimate(
        f"{estimator} block bootstrap",
        float(point),
        float(sd),
        float(low),
        float(high),
        alpha,
        details={"block_length": block_length, "n_boot": n_boot, "n": len(log.arms)},
    )
