"""Off-policy evaluation: the value of a target policy from logs of another policy.

With importance weights :math:`w_t = \\pi_e(A_t \\mid X_t)/\\pi_0(A_t \\mid X_t)`, IPW, SNIPW
and doubly robust estimates of the target policy's mean reward (Dudik et al., 2011):
:func:`estimate_policy_value` on one log, :func:`batch_estimate_policy_value` on many.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib.bandits._checks import as_floats, check_log, played_column, row_blocks
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import check_alpha, check_choice

__all__ = ["batch_estimate_policy_value", "estimate_policy_value"]

_METHODS = ("ipw", "snipw", "dr")


def _policy_value(
    arms: Any,
    rewards: Any,
    logging_propensities: Any,
    target_probabilities: Any,
    reward_predictions: Any,
    method: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Checked inputs -> (estimate, se, importance weights of one log; None for many),
    leading axes allowed."""
    check_choice(method, "method", _METHODS)
    if method == "dr" and reward_predictions is None:
        raise ValueError("reward_predictions must be given for method='dr'")
    arms_, rewards_, chosen, logging, _, _ = check_log(
        arms,
        rewards,
        logging_propensities,
        None,
        0.0,
        need_all_arms=True,
        propensities_name="logging_propensities",
    )
    target = as_floats(target_probabilities, "target_probabilities")
    if target.shape != logging.shape:
        raise ValueError(
            f"length mismatch: target_probabilities must have shape {logging.shape} "
            f"(like logging_propensities), got {target.shape}"
        )
    if np.any((target < 0) | (target > 1)):
        raise ValueError("target_probabilities must lie in [0, 1]")
    if np.any(np.abs(target.sum(-1) - 1) > 1e-6):
        raise ValueError("target_probabilities must sum to 1 over the arms in each row")
    if np.any((target > 0) & (logging <= 0)):
        raise ValueError(
            "target_probabilities put weight on an arm the logging policy never plays "
            "(logging_propensities = 0): its value is not identified from these logs"
        )
    q = None
    if reward_predictions is not None:
        q = as_floats(reward_predictions, "reward_predictions")
        if q.shape != logging.shape:
            raise ValueError(
                f"length mismatch: reward_predictions must have shape {logging.shape} "
                f"(like logging_propensities), got {q.shape}"
            )
    if arms_.ndim == 1:
        return _policy_value_core(arms_, rewards_, chosen, target, q, method)
    # many logs: block by block (cache-sized temporaries); the weights are not returned
    value, se = np.empty(len(arms_)), np.empty(len(arms_))
    for rows in row_blocks(len(arms_), arms_.shape[-1] * target.shape[-1]):
        value[rows], se[rows], _ = _policy_value_core(
            arms_[rows],
            rewards_[rows],
            chosen[rows],
            target[rows],
            None if q is None else q[rows],
            method,
        )
    return value, se, None


def _policy_value_core(
    arms_: np.ndarray,
    rewards_: np.ndarray,
    chosen: np.ndarray,
    target: np.ndarray,
    q: np.ndarray | None,
    method: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, standard errors and importance weights of checked logs."""
    n = arms_.shape[-1]
    weight = played_column(target, arms_) / chosen
    ipw_terms = weight * rewards_
    if method == "snipw":
        if np.any(weight.sum(-1) <= 0):
            raise ValueError(
                "target_probabilities give probability 0 to every logged action (in some "
                "log): the self-normalised value is 0/0"
            )
        value = ipw_terms.sum(-1) / weight.sum(-1)
        influence = weight * (rewards_ - value[..., None]) / weight.mean(-1, keepdims=True)
        return value, influence.std(-1, ddof=1) / np.sqrt(n), weight
    if method == "dr":
        q_chosen = played_column(q, arms_)
        terms = (target * q).sum(-1) + weight * (rewards_ - q_chosen)
    else:
        terms = ipw_terms
    return terms.mean(-1), terms.std(-1, ddof=1) / np.sqrt(n), weight


def batch_estimate_policy_value(
    arms: Any,
    rewards: Any,
    logging_propensities: Any,
    target_probabilities: Any,
    *,
    reward_predictions: Any = None,
    method: str = "dr",
    alpha: float = 0.05,
) -> Estimates:
    r"""IPW, SNIPW or DR value of a target policy from many logs at once.

    With importance weights :math:`w_t = \pi_e(A_t \mid X_t)/\pi_0(A_t \mid X_t)`:
    IPW :math:`\hat V = n^{-1}\sum w_t Y_t`; SNIPW :math:`\sum w_t Y_t / \sum w_t`;
    DR :math:`n^{-1}\sum [\sum_a \pi_e(a\mid X_t)\hat q(X_t,a) + w_t\{Y_t-\hat q(X_t,A_t)\}]`
    (Dudik et al., 2011). The logging policy must give positive probability to every
    action the target policy can take. Standard errors are those of a mean of i.i.d.
    terms (SNIPW: linearised), so the logging policy must not adapt to the log.

    Parameters
    ----------
    arms, rewards : array-like, shape (n_reps, n)
        One log per row.
    logging_propensities, target_probabilities : array-like, shape (n_reps, n, k)
        Probabilities of every action under the logging and the target policy.
    reward_predictions : array-like, shape (n_reps, n, k), optional
        :math:`\hat q(x, a)` for DR (fitted on other data).
    method : {"ipw", "snipw", "dr"}
        ``"dr"`` (default) needs ``reward_predictions``.
    alpha : float
        Two-sided level of the normal intervals.

    Returns
    -------
    Estimates
        ``method="<method> policy value"``: the target policy's mean reward per round in
        each log, one row per log.

    Raises
    ------
    ValueError
        If ``arms`` is not two-dimensional, shapes disagree, values are not finite,
        probabilities are outside [0, 1] or do not sum to 1 per row, the logging
        propensity of a played arm is 0, the target policy can take an action the logging
        policy never takes, arms are outside 0..k-1, ``method`` is unknown, or ``"dr"``
        lacks predictions.
    """
    alpha = check_alpha(alpha)
    if np.ndim(arms) != 2:
        raise ValueError("arms must have shape (n_reps, n); use estimate_policy_value for one")
    estimate, se, _ = _policy_value(
        arms, rewards, logging_propensities, target_probabilities, reward_predictions, method
    )
    return Estimates.from_standard_errors(
        f"{method} policy value", estimate, se, alpha=alpha, labels=range(len(estimate))
    )


def estimate_policy_value(
    arms: Any,
    rewards: Any,
    logging_propensities: Any,
    target_probabilities: Any,
    *,
    reward_predictions: Any = None,
    method: str = "dr",
    alpha: float = 0.05,
) -> Estimate:
    """Off-policy value of a target policy from one log (see
    :func:`batch_estimate_policy_value` for the estimators).

    Parameters
    ----------
    arms, rewards : array-like, shape (n,)
    logging_propensities, target_probabilities : array-like, shape (n, k)
    reward_predictions : array-like, shape (n, k), optional
        Needed by ``"dr"``.
    method : {"ipw", "snipw", "dr"}
    alpha : float
        Two-sided level of the normal interval.

    Returns
    -------
    Estimate
        ``method="<method> policy value"``: the target policy's mean reward per round,
        with a normal interval; details ``n`` and ``effective_sample_size`` of the weights
        (:math:`(\\sum w)^2 / \\sum w^2`; small is a warning sign).

    Raises
    ------
    ValueError
        As :func:`batch_estimate_policy_value`, for a log that is not one-dimensional.
    """
    alpha = check_alpha(alpha)
    if np.ndim(arms) != 1:
        raise ValueError(
            "arms must be 1-dimensional (one log); use batch_estimate_policy_value for many"
        )
    estimate, se, weight = _policy_value(
        arms, rewards, logging_propensities, target_probabilities, reward_predictions, method
    )
    ess = float(weight.sum() ** 2 / np.sum(weight**2)) if np.any(weight > 0) else 0.0
    return Estimate.from_standard_error(
        f"{method} policy value",
        float(estimate),
        float(se),
        alpha=alpha,
        details={"n": len(weight), "effective_sample_size": ess},
    )
