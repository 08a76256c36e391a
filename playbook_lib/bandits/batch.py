"""One log estimator on many replicated logs at once, for calibration studies.

:func:`batch_estimate_effects` runs one of the estimators of
:mod:`playbook_lib.bandits.estimators` (or a block bootstrap) on logs of shape
``(n_reps, n)`` without a loop over replications and returns one
:class:`playbook_lib.Estimates` table, one row per replication, whose
:meth:`~playbook_lib.Estimates.coverage`, :meth:`~playbook_lib.Estimates.bias` and
:meth:`~playbook_lib.Estimates.rejection_rate` answer the calibration questions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib.bandits._checks import Log, prepare_log, row_blocks
from playbook_lib.bandits._resample import block_bootstrap_arrays
from playbook_lib.bandits._scores import (
    adaptive_aipw_core,
    aipw_scores,
    history_means,
    ipw_scores,
    mean_and_se,
    naive_core,
    snipw_core,
)
from playbook_lib.results import Estimates
from playbook_lib.validation import check_alpha, check_choice, check_integer, check_rng

__all__ = ["batch_estimate_effects"]

METHODS = (
    "naive difference",
    "ipw",
    "snipw",
    "aipw",
    "adaptive aipw",
    "ipw block bootstrap",
    "snipw block bootstrap",
    "aipw block bootstrap",
)


def batch_estimate_effects(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    method: str = "aipw",
    treatment: int = 1,
    control: int = 0,
    block_length: int | None = None,
    n_boot: int = 200,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> Estimates:
    """One log estimator on many replicated logs at once (for calibration studies).

    The same numbers as the single-log estimators (:func:`estimate_naive_difference`,
    :func:`estimate_ipw`, :func:`estimate_snipw`, :func:`estimate_aipw` with running
    posterior-mean predictions, :func:`estimate_adaptive_aipw`,
    :func:`estimate_block_bootstrap`), computed for every replication with array
    operations. Call it once per method to compare methods; the randomness of a bootstrap
    comes only from ``rng``.

    Parameters
    ----------
    arms, rewards : array-like, shape (n_reps, n)
        One log per row (``arms`` integers ``0..k-1``).
    propensities : array-like, shape (n_reps, n, k)
        Every arm's propensity at every round (the adaptive weights need them).
    method : str
        One of ``"naive difference"``, ``"ipw"``, ``"snipw"``, ``"aipw"`` (default),
        ``"adaptive aipw"``, ``"ipw block bootstrap"``, ``"snipw block bootstrap"``,
        ``"aipw block bootstrap"`` (the last three need ``block_length``).
    treatment, control : int
        The contrast is ``treatment`` minus ``control``.
    block_length, n_boot, rng
        For the block bootstrap methods (see :func:`compute_block_bootstrap_means`).
    alpha : float
        Two-sided level of the intervals (normal intervals with p-values; percentile
        intervals without p-values for the bootstraps).

    Returns
    -------
    Estimates
        One row per replication (labels ``0..n_reps-1``), ``method`` the method's name.

    Raises
    ------
    ValueError
        As :func:`estimate_ipw` (an arm never played in *any* replication raises, naming
        the replication; ``"naive difference"`` needs two rounds per arm), for an unknown
        ``method``, ``arms`` that are not two-dimensional, or a bootstrap method without
        ``block_length``.
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", METHODS)
    generator = check_rng(rng)
    bootstrap = method.endswith("block bootstrap")
    if bootstrap:
        if block_length is None:
            raise ValueError("block_length must be given for block bootstrap methods")
        block_length = check_integer(block_length, "block_length", minimum=1)
    n_boot = check_integer(n_boot, "n_boot", minimum=1)
    log = prepare_log(
        arms,
        rewards,
        propensities,
        treatment=treatment,
        control=control,
        need_all_arms=True,
        minimum=2 if method == "naive difference" else 1,
        replications=True,
    )
    arms_, rewards_ = log.arms, log.rewards
    labels = range(len(arms_))
    if bootstrap:
        estimator = method.split()[0]
        predictions = history_means(arms_, rewards_, log.n_arms) if estimator == "aipw" else None
        point, sd, low, high = block_bootstrap_arrays(
            estimator, log, predictions, block_length, n_boot, alpha, generator
        )
        return Estimates.from_arrays(method, point, sd, low, high, alpha=alpha, labels=labels)
    est, se = np.empty(len(arms_)), np.empty(len(arms_))
    for rows in row_blocks(*arms_.shape):  # replications are independent: block by block
        est[rows], se[rows] = _estimate_rows(method, log, rows)
    return Estimates.from_standard_errors(method, est, se, alpha=alpha, labels=labels)


def _estimate_rows(method: str, log: Log, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and standard errors of ``method`` (not a bootstrap) on replications
    ``rows`` of a validated log."""
    arms, rewards, chosen = log.arms[rows], log.rewards[rows], log.chosen[rows]
    t, c = log.treatment, log.control
    if method == "naive difference":
        est, se, _, _ = naive_core(arms, rewards, t, c)
        return est, se
    if method == "ipw":
        return mean_and_se(ipw_scores(arms, rewards, chosen, t, c))
    if method == "snipw":
        return snipw_core(arms, rewards, chosen, t, c)
    predictions = history_means(arms, rewards, log.n_arms)
    if method == "aipw":
        return mean_and_se(aipw_scores(arms, rewards, chosen, predictions, t, c))
    return adaptive_aipw_core(arms, rewards, log.all_arms[rows], predictions, t, c)
