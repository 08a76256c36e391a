"""The circular moving-block bootstrap's index arithmetic and its use on the log estimators'
scores (private; shared by :mod:`playbook_lib.bandits.bootstrap` and
:mod:`playbook_lib.bandits.batch`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from playbook_lib.bandits._checks import Log, row_blocks
from playbook_lib.bandits._scores import aipw_scores, ipw_scores
from playbook_lib.validation import check_integer, check_rng


def block_means(array: np.ndarray, block_length: Any, n_boot: Any, rng: Any) -> np.ndarray:
    """Bootstrap means of the columns of ``array`` (shape (..., n, p), finite), shape
    (..., n_boot, p); checks ``block_length`` (1..n), ``n_boot`` and ``rng``.

    The block starts of every replication are drawn first, in one call, and the means are
    then formed a few replications at a time (so the result does not depend on the
    blocking)."""
    n, p = array.shape[-2:]
    block_length = check_integer(block_length, "block_length", minimum=1)
    if block_length > n:
        raise ValueError(f"block_length must be at most the number of rows {n}")
    n_boot = check_integer(n_boot, "n_boot", minimum=1)
    generator = check_rng(rng)
    n_blocks = math.ceil(n / block_length)
    starts = generator.integers(0, n, size=array.shape[:-2] + (n_boot * n_blocks,))
    flat = array.reshape((-1, n, p))
    flat_starts = starts.reshape(len(flat), -1)
    means = np.empty((len(flat), n_boot, p))
    for rows in row_blocks(len(flat), n * p):
        part = flat[rows]
        extended = np.concatenate([part, part[:, : block_length - 1, :]], axis=-2)
        cumulative = np.concatenate([np.zeros((len(part), 1, p)), np.cumsum(extended, axis=-2)], -2)
        block_sums = cumulative[:, block_length:, :][:, :n, :] - cumulative[:, :n, :]
        gathered = np.take_along_axis(block_sums, flat_starts[rows][..., None], axis=-2)
        means[rows] = gathered.reshape(len(part), n_boot, n_blocks, p).sum(-2)
    means /= n_blocks * block_length
    return means.reshape(array.shape[:-2] + (n_boot, p))


def _bootstrap_columns(
    estimator: str, log: Log, predictions: np.ndarray | None
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Columns whose means determine the estimator, and the map from means to estimate."""
    arms, rewards, chosen = log.arms, log.rewards, log.chosen
    if estimator == "snipw":
        w_t = (arms == log.treatment) / chosen
        w_c = (arms == log.control) / chosen
        columns = np.stack([w_t * rewards, w_t, w_c * rewards, w_c], axis=-1)

        def statistic(m: np.ndarray) -> np.ndarray:
            return m[..., 0] / m[..., 1] - m[..., 2] / m[..., 3]

        return columns, statistic
    if estimator == "ipw":
        score = ipw_scores(arms, rewards, chosen, log.treatment, log.control)
    else:
        score = aipw_scores(arms, rewards, chosen, predictions, log.treatment, log.control)
    return score[..., None], lambda m: m[..., 0]


def block_bootstrap_arrays(
    estimator: str,
    log: Log,
    predictions: np.ndarray | None,
    block_length: int,
    n_boot: int,
    alpha: float,
    generator: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Point estimate, bootstrap sd and percentile interval ends, one per log (leading axes).

    ``estimator`` is ``"ipw"``, ``"snipw"`` or ``"aipw"`` (with ``predictions``); a
    bootstrap replicate whose blocks miss an arm (SNIPW: 0/0) is dropped.
    """
    columns, statistic = _bootstrap_columns(estimator, log, predictions)
    point = statistic(columns.mean(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        # a SNIPW replicate whose blocks miss an arm is 0/0: dropped (NaN-aware summaries)
        boot = statistic(block_means(columns, block_length, n_boot, generator))
    usable = np.sum(np.isfinite(boot), axis=-1)
    if np.any(usable < 2):
        raise ValueError(
            "block_length: fewer than two bootstrap replicates contain both arms; use "
            "shorter blocks or a longer log"
        )
    if np.all(np.isfinite(boot)):  # the NaN-aware summaries loop over the replications
        low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=-1)
        return point, np.std(boot, axis=-1, ddof=1), low, high
    boot = np.where(np.isfinite(boot), boot, np.nan)
    low, high = np.nanquantile(boot, [alpha / 2, 1 - alpha / 2], axis=-1)
    return point, np.nanstd(boot, axis=-1, ddof=1), low, high
