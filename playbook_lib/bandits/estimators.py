"""Estimators of the difference between two arms from one adaptively collected log.

Horvitz-Thompson IPW (:func:`estimate_ipw`), self-normalised IPW (:func:`estimate_snipw`),
AIPW / doubly robust (:func:`estimate_aipw`), an adaptively weighted AIPW (a contrast variant
of the stable-variance weights of Hadad et al., 2021; :func:`estimate_adaptive_aipw`)
and, for contrast, the naive difference in means (:func:`estimate_naive_difference`).
Each returns one :class:`playbook_lib.Estimate` with a normal interval;
:func:`playbook_lib.bandits.batch_estimate_effects` runs the same estimators on many
replicated logs at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib.bandits._checks import Log, check_clip, prepare_log
from playbook_lib.bandits._scores import (
    adaptive_aipw_core,
    aipw_scores,
    ipw_scores,
    mean_and_se,
    naive_core,
    predictions_or_history,
    snipw_core,
)
from playbook_lib.results import Estimate
from playbook_lib.validation import check_alpha

__all__ = [
    "estimate_adaptive_aipw",
    "estimate_aipw",
    "estimate_ipw",
    "estimate_naive_difference",
    "estimate_snipw",
]


def estimate_ipw(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    propensity_clip: float = 0.0,
    alpha: float = 0.05,
) -> Estimate:
    r"""Horvitz-Thompson (IPW) estimate of the difference between two arms' mean rewards.

    :math:`\hat\mu_a = n^{-1}\sum_t 1\{A_t = a\} Y_t / \pi_t(a)` is unbiased for the mean
    reward of arm :math:`a` whenever :math:`\pi_t(a)`, the probability the logging policy
    gave arm :math:`a` at round :math:`t` given the past, is known and positive (Horvitz
    and Thompson, 1952). Only the *chosen* arm's propensity is needed.

    The interval is the usual normal one from the sample variance of the per-round scores.
    It is valid for i.i.d. logging (fixed or contextual propensities). Under adaptive
    allocation it covers when every arm keeps an exploration floor and under-covers when
    propensities collapse towards 0 (Hadad et al., 2021).

    Parameters
    ----------
    arms : array-like of int, shape (n,)
        Arm played at each round, in ``0..k-1``.
    rewards : array-like, shape (n,)
        Observed rewards.
    propensities : array-like, shape (n,) or (n, k)
        The chosen arm's propensity, or every arm's (rows summing to 1).
    treatment, control : int
        The contrast is ``treatment`` minus ``control``.
    n_arms : int, optional
        Number of arms (default: inferred).
    propensity_clip : float
        If positive, propensities below it are raised to it and counted in
        ``details["n_clipped"]``; zero propensities are then allowed. This trades bias for
        variance; report it. Default 0: a zero propensity raises.
    alpha : float
        Two-sided level.

    Returns
    -------
    Estimate
        ``method="ipw"``; details: ``mean_treatment``, ``mean_control``, ``n``,
        ``min_propensity``, ``n_clipped``.

    Raises
    ------
    ValueError
        If arms are not integers in 0..k-1 (``n_arms`` given) or are not numeric, the
        treatment or control arm is never played (its mean would be reported as 0),
        lengths differ, rewards or propensities are not finite, propensities are outside
        (0, 1] (or [0, 1] with clipping) or, given for every arm, do not sum to 1,
        ``propensity_clip`` is outside [0, 0.5), or ``alpha`` is outside (0, 1).
        A log whose scores are constant (e.g. every reward 0) is not an error: the
        standard error is 0 and the interval the point estimate.
    """
    alpha = check_alpha(alpha)
    log = _single_log(arms, rewards, propensities, treatment, control, n_arms, propensity_clip)
    est, se = mean_and_se(ipw_scores(log.arms, log.rewards, log.chosen, log.treatment, log.control))
    n = len(log.arms)
    details = {
        "mean_treatment": float(np.sum((log.arms == log.treatment) * log.rewards / log.chosen) / n),
        "mean_control": float(np.sum((log.arms == log.control) * log.rewards / log.chosen) / n),
        **_log_details(log),
    }
    return Estimate.from_standard_error("ipw", float(est), float(se), alpha=alpha, details=details)


def estimate_snipw(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    propensity_clip: float = 0.0,
    alpha: float = 0.05,
) -> Estimate:
    r"""Self-normalised IPW (Hajek) estimate of the difference between two arms.

    :math:`\hat\mu_a = \sum_t w_t(a) Y_t / \sum_t w_t(a)` with
    :math:`w_t(a) = 1\{A_t=a\}/\pi_t(a)`: slightly biased in small samples, usually less
    variable than :func:`estimate_ipw`. Multiplying every weight of an arm by the same
    constant (a "stabilised" weight) leaves it unchanged. The standard error linearises
    the ratio. Parameters, return and errors as :func:`estimate_ipw` (``method="snipw"``).
    """
    alpha = check_alpha(alpha)
    log = _single_log(arms, rewards, propensities, treatment, control, n_arms, propensity_clip)
    est, se = snipw_core(log.arms, log.rewards, log.chosen, log.treatment, log.control)
    w_t = (log.arms == log.treatment) / log.chosen
    w_c = (log.arms == log.control) / log.chosen
    details = {
        "mean_treatment": float(np.sum(w_t * log.rewards) / np.sum(w_t)),
        "mean_control": float(np.sum(w_c * log.rewards) / np.sum(w_c)),
        **_log_details(log),
    }
    return Estimate.from_standard_error(
        "snipw", float(est), float(se), alpha=alpha, details=details
    )


def estimate_aipw(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    outcome_predictions: Any = None,
    treatment: int = 1,
    control: int = 0,
    n_arms: int | None = None,
    propensity_clip: float = 0.0,
    alpha: float = 0.05,
) -> Estimate:
    r"""Augmented IPW (doubly robust) estimate of the difference between two arms.

    Per round and arm, the score is
    :math:`\Gamma_t(a) = \hat m_t(a) + 1\{A_t=a\}\{Y_t - \hat m_t(a)\}/\pi_t(a)`
    (Robins et al., 1994); the estimate is the mean of
    :math:`\Gamma_t(\text{treatment}) - \Gamma_t(\text{control})`. The propensity in the
    correction term is *that arm's* propensity: with logs that store the chosen arm's
    propensity, using it as :math:`P(\text{treatment})` for control rows is wrong.

    Parameters
    ----------
    outcome_predictions : array-like, shape (n, k), optional
        :math:`\hat m_t(a)`. Default: each arm's posterior-mean reward (uniform prior) from
        the rounds *before* t, which keeps the scores unbiased under adaptive logging.
    Other parameters, return and errors as :func:`estimate_ipw` (``method="aipw"``).
    """
    alpha = check_alpha(alpha)
    log = _single_log(arms, rewards, propensities, treatment, control, n_arms, propensity_clip)
    predictions = predictions_or_history(outcome_predictions, log.arms, log.rewards, log.n_arms)
    est, se = mean_and_se(
        aipw_scores(log.arms, log.rewards, log.chosen, predictions, log.treatment, log.control)
    )
    return Estimate.from_standard_error(
        "aipw", float(est), float(se), alpha=alpha, details=_log_details(log)
    )


def estimate_adaptive_aipw(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    outcome_predictions: Any = None,
    treatment: int = 1,
    control: int = 0,
    alpha: float = 0.05,
) -> Estimate:
    r"""Adaptively weighted AIPW for adaptively collected logs (a contrast variant of the
    stable-variance weights of Hadad et al., 2021).

    Averages the contrast's AIPW scores :math:`\Gamma_t = \Gamma_t(1) - \Gamma_t(0)` with
    variance-stabilising weights for the contrast (a policy putting +1 on ``treatment`` and
    -1 on ``control``), :math:`h_t = \{1/\pi_t(1) + 1/\pi_t(0)\}^{-1/2}`:
    :math:`\hat\tau = \sum_t h_t\Gamma_t / \sum_t h_t`, standard error
    :math:`\{\sum_t h_t^2(\Gamma_t - \hat\tau)^2\}^{1/2} / \sum_t h_t`. The weights
    undo the exploding variance of rounds where an arm is unlikely, so the studentised
    estimate is asymptotically normal even when the allocation keeps adapting. This is
    not Hadad et al.'s own estimator of a contrast: they weight each arm's scores by its
    stable-variance weight :math:`\pi_t(a)^{1/2}`, estimate each arm's value separately
    and combine the two estimates with their cross-covariance; the single weight
    :math:`h_t` here targets the difference directly.

    Assumes the outcome predictions use only past rounds (the default, running posterior
    means) and that propensities do not collapse to 0 too fast. The weights depend on the
    data, so in finite samples the estimate carries some bias, and when propensities
    collapse towards 0 its interval can still under-cover.

    Parameters
    ----------
    propensities : array-like, shape (n, k)
        Every arm's allocation probability at every round (the weights need them).
    Other parameters as :func:`estimate_aipw`.

    Returns
    -------
    Estimate
        ``method="adaptive aipw"`` with a normal interval; details ``mean_treatment``,
        ``mean_control``, ``n``.

    Raises
    ------
    ValueError
        As :func:`estimate_ipw`, and if propensities are given for the chosen arm only.
    """
    alpha = check_alpha(alpha)
    log = prepare_log(
        arms, rewards, propensities, treatment=treatment, control=control, need_all_arms=True
    )
    predictions = predictions_or_history(outcome_predictions, log.arms, log.rewards, log.n_arms)
    est, se = adaptive_aipw_core(
        log.arms, log.rewards, log.all_arms, predictions, log.treatment, log.control
    )
    return Estimate.from_standard_error(
        "adaptive aipw", float(est), float(se), alpha=alpha, details={"n": len(log.arms)}
    )


def estimate_naive_difference(
    arms: Any,
    rewards: Any,
    *,
    treatment: int = 1,
    control: int = 0,
    alpha: float = 0.05,
) -> Estimate:
    """Difference in the arms' sample means with a Wald interval (ignores the design).

    Right for a fixed randomised split; biased and over-confident on adaptively collected
    logs (the arm that looked worse early is sampled less, so its mean stays too low). In
    the package to show that failure.

    Returns
    -------
    Estimate
        ``method="naive difference"``; details ``n_treatment``, ``n_control``.

    Raises
    ------
    ValueError
        If arms are not non-negative integers, lengths differ, or a compared arm has
        fewer than 2 rounds. Constant rewards in both arms give se 0 (a point interval).
    """
    alpha = check_alpha(alpha)
    log = prepare_log(
        arms,
        rewards,
        np.ones(np.shape(arms)),
        treatment=treatment,
        control=control,
        minimum=2,
        any_arm=True,
    )
    est, se, n_t, n_c = naive_core(log.arms, log.rewards, log.treatment, log.control)
    return Estimate.from_standard_error(
        "naive difference",
        float(est),
        float(se),
        alpha=alpha,
        details={"n_treatment": int(n_t), "n_control": int(n_c)},
    )


def _single_log(
    arms: Any,
    rewards: Any,
    propensities: Any,
    treatment: Any,
    control: Any,
    n_arms: int | None,
    propensity_clip: Any,
) -> Log:
    """One validated log (chosen-arm or every-arm propensities, optional clipping)."""
    clip = check_clip(propensity_clip)
    return prepare_log(
        arms,
        rewards,
        propensities,
        treatment=treatment,
        control=control,
        n_arms=n_arms,
        propensity_clip=clip,
    )


def _log_details(log: Log) -> dict[str, Any]:
    return {
        "n": len(log.arms),
        "min_propensity": float(log.chosen.min()),
        "n_clipped": log.n_clipped,
    }
