"""The per-round scores and estimates of the log estimators, vectorised over leading
replication axes (private; shared by the single-log estimators, the bootstrap and the
batches).

Every core takes validated arrays (see :mod:`playbook_lib.bandits._checks`): ``arms``
(int), ``rewards`` (float) and ``chosen`` (the played arm's propensity) of shape
``(..., n)``, and returns estimates and standard errors of shape ``(...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib._kernels import moments_from_sums, welch
from playbook_lib.bandits._checks import played_column
from playbook_lib.validation import as_numeric_array


def history_means(
    arms: np.ndarray, rewards: np.ndarray, n_arms: int, prior: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """Posterior-mean reward of each arm from rounds before t: shape (..., n, k).

    The result is a view of an array stored arm by arm, so each arm's predictions
    (``means[..., arm]``) are contiguous; the work is in place, along the contiguous time
    axis.
    """
    means = np.empty((n_arms,) + arms.shape)
    for arm in range(n_arms):
        played = (arms == arm).astype(float)
        won = played * rewards
        pulls = np.cumsum(played, axis=-1)
        pulls -= played  # rounds before t only
        pulls += prior[0] + prior[1]
        wins = np.cumsum(won, axis=-1)
        wins -= won
        wins += prior[0]
        np.divide(wins, pulls, out=means[arm])
    return np.moveaxis(means, 0, -1)


def predictions_or_history(
    outcome_predictions: Any, arms: np.ndarray, rewards: np.ndarray, n_arms: int
) -> np.ndarray:
    """The given outcome predictions (checked: shape ``arms.shape + (k,)``), or by default
    each arm's running posterior mean from earlier rounds."""
    if outcome_predictions is None:
        return history_means(arms, rewards, n_arms)
    predictions = as_numeric_array(outcome_predictions, "outcome_predictions", allow_empty=True)
    if predictions.shape != arms.shape + (n_arms,):
        raise ValueError(
            f"outcome_predictions must have shape {arms.shape + (n_arms,)}, got {predictions.shape}"
        )
    return predictions


def mean_and_se(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of per-round scores and its standard error (IPW, AIPW)."""
    return score.mean(-1), score.std(-1, ddof=1) / np.sqrt(score.shape[-1])


def ipw_scores(
    arms: np.ndarray, rewards: np.ndarray, chosen: np.ndarray, treatment: int, control: int
) -> np.ndarray:
    """Horvitz-Thompson scores of the contrast, one per round."""
    return ((arms == treatment) * rewards - (arms == control) * rewards) / chosen


def snipw_core(
    arms: np.ndarray, rewards: np.ndarray, chosen: np.ndarray, treatment: int, control: int
) -> tuple[np.ndarray, np.ndarray]:
    """Self-normalised IPW estimate and its linearised standard error."""
    n = arms.shape[-1]
    w_t = (arms == treatment) / chosen
    w_c = (arms == control) / chosen
    sum_t = w_t.sum(-1, keepdims=True)
    sum_c = w_c.sum(-1, keepdims=True)
    mean_t = (w_t * rewards).sum(-1, keepdims=True) / sum_t
    mean_c = (w_c * rewards).sum(-1, keepdims=True) / sum_c
    influence = w_t * (rewards - mean_t) / (sum_t / n) - w_c * (rewards - mean_c) / (sum_c / n)
    return (mean_t - mean_c)[..., 0], influence.std(-1, ddof=1) / np.sqrt(n)


def _arm_scores(
    arms: np.ndarray, rewards: np.ndarray, chosen: np.ndarray, predictions: np.ndarray, arm: int
) -> np.ndarray:
    played = arms == arm
    return predictions[..., arm] + played * (rewards - predictions[..., arm]) / chosen


def aipw_scores(
    arms: np.ndarray,
    rewards: np.ndarray,
    chosen: np.ndarray,
    predictions: np.ndarray,
    treatment: int,
    control: int,
) -> np.ndarray:
    """AIPW scores of the contrast, ``Gamma_t(treatment) - Gamma_t(control)``, per round."""
    return _arm_scores(arms, rewards, chosen, predictions, treatment) - _arm_scores(
        arms, rewards, chosen, predictions, control
    )


def adaptive_aipw_core(
    arms: np.ndarray,
    rewards: np.ndarray,
    all_arms: np.ndarray,
    predictions: np.ndarray,
    treatment: int,
    control: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Adaptively weighted AIPW estimate and standard error (Hadad et al., 2021)."""
    chosen = played_column(all_arms, arms)
    gamma = aipw_scores(arms, rewards, chosen, predictions, treatment, control)
    # variance-stabilising weights for the contrast (a signed policy +1/-1):
    # h_t = (1/e_t(treatment) + 1/e_t(control))^(-1/2)
    h = 1.0 / np.sqrt(1.0 / all_arms[..., treatment] + 1.0 / all_arms[..., control])
    total = h.sum(-1, keepdims=True)
    estimate = (h * gamma).sum(-1, keepdims=True) / total
    se = np.sqrt((h**2 * (gamma - estimate) ** 2).sum(-1)) / total[..., 0]
    return estimate[..., 0], se


def naive_core(
    arms: np.ndarray, rewards: np.ndarray, treatment: int, control: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Difference in the two arms' sample means with Welch's unpooled standard error.

    Assumes each arm is played at least twice in every log. Returns the estimate, its
    standard error and the two arms' counts.
    """
    played_t = arms == treatment
    played_c = arms == control
    n_t = played_t.sum(-1)
    n_c = played_c.sum(-1)
    mean_t, var_t = moments_from_sums(
        n_t, (played_t * rewards).sum(-1), (played_t * rewards**2).sum(-1)
    )
    mean_c, var_c = moments_from_sums(
        n_c, (played_c * rewards).sum(-1), (played_c * rewards**2).sum(-1)
    )
    estimate, se, _ = welch(n_c, mean_c, var_c, n_t, mean_t, var_t)
    return estimate, se, n_t, n_c
