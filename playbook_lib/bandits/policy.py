"""The Thompson-sampling policy for Bernoulli arms, simulated for many replications at once.

:func:`simulate_thompson_sampling` runs plain, batched and top-two Thompson sampling, with an
optional exploration floor, vectorised across replications (arrays of shape
``(n_reps, n_rounds)``), and can record the exact propensity of every arm at every round;
:class:`BanditRun` holds the logs. The simulators in :mod:`playbook_lib.simulate` build on
this file, which imports nothing from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from playbook_lib.bandits._checks import MAX_CELLS
from playbook_lib.bandits.propensities import (
    _two_beta,
    compute_thompson_propensities,
    compute_top_two_propensities,
)
from playbook_lib.validation import (
    as_float_array,
    check_flag,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = ["BanditRun", "simulate_thompson_sampling"]


@dataclass(frozen=True)
class BanditRun:
    """Logs of ``n_reps`` independent bandit experiments with Bernoulli arms.

    Attributes
    ----------
    arm_means : numpy.ndarray, shape (k,)
        True success probabilities.
    arms : numpy.ndarray, shape (n_reps, n_rounds)
        Arm played at each round (int).
    rewards : numpy.ndarray, shape (n_reps, n_rounds)
        0/1 rewards (int8).
    propensities : numpy.ndarray or None, shape (n_reps, n_rounds, k)
        Probability each arm had of being played at each round (``None`` when not recorded).
    batch_size : int
        Rounds between posterior updates.
    """

    arm_means: np.ndarray
    arms: np.ndarray
    rewards: np.ndarray
    propensities: np.ndarray | None
    batch_size: int

    @property
    def n_reps(self) -> int:
        return int(self.arms.shape[0])

    @property
    def n_rounds(self) -> int:
        return int(self.arms.shape[1])

    def cumulative_regret(self) -> np.ndarray:
        """Expected (pseudo-)regret summed over rounds, shape (n_reps, n_rounds)."""
        gaps = self.arm_means.max() - self.arm_means
        return np.cumsum(gaps[self.arms], axis=1)

    def mean_cumulative_regret(self) -> np.ndarray:
        """Cumulative regret averaged over replications, shape (n_rounds,)."""
        gaps = self.arm_means.max() - self.arm_means
        return np.cumsum(self.allocation() @ gaps)

    def allocation(self) -> np.ndarray:
        """Share of replications playing each arm at each round, shape (n_rounds, k)."""
        k = len(self.arm_means)
        return np.stack([(self.arms == a).mean(axis=0) for a in range(k)], axis=1)

    def chosen_propensities(self) -> np.ndarray:
        """Propensity of the arm actually played, shape (n_reps, n_rounds)."""
        if self.propensities is None:
            raise ValueError("propensities were not recorded (use record_propensities=True)")
        return np.take_along_axis(self.propensities, self.arms[..., None], axis=-1)[..., 0]


def _check_arm_means(arm_means: Any) -> np.ndarray:
    means = as_float_array(arm_means, "arm_means", min_size=2)
    if np.any((means < 0) | (means > 1)):
        raise ValueError("arm_means must lie in [0, 1]")
    return means


# Below this, a two-arm propensity from the recurrence is recomputed by quadrature: each
# step's rounding error is absolute (~1e-16), so a tiny propensity would lose its relative
# accuracy, and IPW divides by it.
_RECURRENCE_FLOOR = 1e-7


def _two_arm_propensities_from_history(
    arms: np.ndarray, rewards: np.ndarray, prior_alpha: float, prior_beta: float
) -> np.ndarray:
    """Exact two-arm Thompson propensities at every round, O(1) work per round.

    ``h = P(theta_1 > theta_0)`` for ``theta_1 ~ Beta(a, b)`` and ``theta_0 ~ Beta(c, d)``
    moves by one closed-form term when one count grows by one (Cook, 2005; the recurrences
    behind Miller's formula): with ``g = B(a + c, b + d) / (B(a, b) B(c, d))``,
    ``h(a+1) = h + g/a``, ``h(b+1) = h - g/b``, ``h(c+1) = h - g/c`` and ``h(d+1) = h + g/d``.
    ``g`` is carried in logs and updated by ratios of Beta functions, e.g.
    ``log g(a+1) = log g + log(a+c) - log(a+b+c+d) + log(a+b) - log a``. Rounds whose
    propensity falls below ``_RECURRENCE_FLOOR`` (either arm) are recomputed by quadrature,
    so small propensities keep their relative accuracy.
    """
    n_reps, n_rounds = arms.shape
    a = np.full(n_reps, float(prior_alpha))  # arm 1
    b = np.full(n_reps, float(prior_beta))
    c = np.full(n_reps, float(prior_alpha))  # arm 0
    d = np.full(n_reps, float(prior_beta))
    h = np.broadcast_to(_two_beta(c, d, a, b), (n_reps,)).copy()
    log_g = special.betaln(a + c, b + d) - special.betaln(a, b) - special.betaln(c, d)
    out = np.empty((n_reps, n_rounds))
    played_one = arms == 1
    success = rewards.astype(bool)
    for t in range(n_rounds):
        out[:, t] = h
        one, won = played_one[:, t], success[:, t]
        g = np.exp(log_g)
        total = a + b + c + d
        # the count that grows, and the pair it shares B(., .) with in g's numerator
        grows = np.where(one, np.where(won, a, b), np.where(won, c, d))
        partner = np.where(won, a + c, b + d)
        own_pair = np.where(one, a + b, c + d)
        sign = np.where(one == won, 1.0, -1.0)  # + for a (arm 1 wins) and d (arm 0 loses)
        h += sign * g / grows
        log_g += np.log(partner) - np.log(total) + np.log(own_pair) - np.log(grows)
        a += one & won
        b += one & ~won
        c += ~one & won
        d += ~one & ~won
    # recompute the extreme rounds exactly from their posteriors
    extreme = np.minimum(out, 1.0 - out) < _RECURRENCE_FLOOR
    if extreme.any():
        alpha, beta = _posteriors_before_each_round(arms, rewards, 2, prior_alpha, prior_beta)
        alpha, beta = alpha[extreme], beta[extreme]
        out[extreme] = _two_beta(alpha[:, 0], beta[:, 0], alpha[:, 1], beta[:, 1])
    return np.stack([1.0 - out, out], axis=-1)


def _posteriors_before_each_round(
    arms: np.ndarray, rewards: np.ndarray, k: int, prior_alpha: float, prior_beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Beta parameters of every arm before each round, shaped ``arms.shape + (k,)``."""
    one_hot = arms[..., None] == np.arange(k)
    pulls = np.cumsum(one_hot, axis=1) - one_hot
    wins = np.cumsum(one_hot * rewards[..., None], axis=1) - one_hot * rewards[..., None]
    return prior_alpha + wins, prior_beta + pulls - wins


def _propensities_from_history(
    arms: np.ndarray,
    rewards: np.ndarray,
    k: int,
    prior_alpha: float,
    prior_beta: float,
    chunk_rows: int = 20_000,
) -> np.ndarray:
    """Exact Thompson propensities at every round from the posteriors before that round.

    Two arms: the O(1) recurrence (:func:`_two_arm_propensities_from_history`); more arms:
    the vectorised quadrature of :func:`compute_thompson_propensities` on every round's posteriors.
    """
    if k == 2:
        return _two_arm_propensities_from_history(arms, rewards, prior_alpha, prior_beta)
    alpha, beta = _posteriors_before_each_round(arms, rewards, k, prior_alpha, prior_beta)
    alpha, beta = alpha.reshape(-1, k), beta.reshape(-1, k)
    out = np.empty(alpha.shape)
    for start in range(0, len(alpha), chunk_rows):
        block = slice(start, start + chunk_rows)
        out[block] = compute_thompson_propensities(alpha[block], beta[block])
    return out.reshape(arms.shape + (k,))


def simulate_thompson_sampling(
    arm_means: Any,
    n_rounds: int,
    *,
    n_reps: int = 1,
    batch_size: int = 1,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    top_two: bool = False,
    leader_probability: float = 0.5,
    propensity_floor: float = 0.0,
    record_propensities: bool = False,
    rng: np.random.Generator | int | None = None,
) -> BanditRun:
    r"""Simulate Beta-Bernoulli Thompson sampling for many replications at once.

    The loop runs over rounds (or batches); every step is vectorised across the
    ``n_reps`` replications. Each replication starts from a Beta(``prior_alpha``,
    ``prior_beta``) prior per arm (Thompson, 1933; Russo et al., 2018).

    - Plain Thompson sampling (``batch_size=1``, no propensities): each round draws one
      posterior sample per arm and plays the largest.
      With ``record_propensities=True`` the exact propensities are then computed from the
      posteriors before each round: for two arms by an O(1) recurrence per round (exact
      to about 1e-13), for more arms by one vectorised quadrature over all rounds (cost
      ~80 incomplete-beta evaluations per round, replication and arm).
    - Otherwise, at the start of each batch the exact allocation probabilities are
      computed (:func:`compute_thompson_propensities`; top-two adjusted with
      :func:`compute_top_two_propensities`; mixed with the uniform allocation so each arm keeps at
      least ``propensity_floor``), and every round in the batch draws its arm from them.
      With ``batch_size=1`` this has the same distribution as plain Thompson sampling.

    Parameters
    ----------
    arm_means : array-like, shape (k,)
        True success probabilities of the ``k >= 2`` arms.
    n_rounds : int
        Rounds per replication.
    n_reps : int
        Independent replications.
    batch_size : int
        Rounds between posterior updates (1 = fully sequential).
    prior_alpha, prior_beta : float
        Beta prior of every arm.
    top_two : bool
        Use top-two Thompson sampling (Russo, 2020).
    leader_probability : float
        Probability of playing the leader in top-two sampling.
    propensity_floor : float
        Minimum allocation probability per arm, in [0, 1/k).
    record_propensities : bool
        Store the allocation probabilities (memory ``n_reps * n_rounds * k`` floats).
    rng : numpy.random.Generator, int or None
        Randomness.

    Returns
    -------
    BanditRun

    Raises
    ------
    ValueError
        If ``arm_means`` are outside [0, 1], sizes are not positive integers (or their
        product exceeds 2e9 cells), the prior is not positive, ``propensity_floor`` is
        outside [0, 1/k), ``leader_probability`` outside (0, 1], a flag is not a bool, or
        ``rng`` is not a Generator, seed or None.
    """
    means = _check_arm_means(arm_means)
    k = len(means)
    n_rounds = check_integer(n_rounds, "n_rounds", minimum=1)
    n_reps = check_integer(n_reps, "n_reps", minimum=1)
    batch_size = check_integer(batch_size, "batch_size", minimum=1)
    prior_alpha = check_positive(prior_alpha, "prior_alpha")
    prior_beta = check_positive(prior_beta, "prior_beta")
    floor = check_probability(propensity_floor, "propensity_floor")
    if floor * k >= 1:
        raise ValueError(f"propensity_floor must be below 1/k = {1 / k:.4g}, got {floor}")
    top_two = check_flag(top_two, "top_two")
    record_propensities = check_flag(record_propensities, "record_propensities")
    leader_probability = check_probability(
        leader_probability, "leader_probability", allow_zero=False
    )
    cells = n_reps * n_rounds * (k if record_propensities else 1)
    if cells > MAX_CELLS:
        raise ValueError(
            f"n_reps * n_rounds{' * k' if record_propensities else ''} = {cells:.3g} exceeds "
            f"{MAX_CELLS:.0e} cells: simulate fewer replications (n_reps) or rounds"
        )
    generator = check_rng(rng)

    successes = np.zeros((n_reps, k))
    pulls = np.zeros((n_reps, k))
    arms = np.empty((n_reps, n_rounds), dtype=np.int8 if k < 128 else np.int64)
    rewards = np.empty((n_reps, n_rounds), dtype=np.int8)
    propensities = np.empty((n_reps, n_rounds, k)) if record_propensities else None
    rows = np.arange(n_reps)
    needs_probabilities = record_propensities or top_two or floor > 0

    if batch_size == 1 and not (top_two or floor > 0):
        # plain Thompson sampling; exact propensities (if wanted) follow from the history
        for t in range(n_rounds):
            draws = generator.beta(prior_alpha + successes, prior_beta + pulls - successes)
            arm = np.argmax(draws, axis=1)
            reward = generator.random(n_reps) < means[arm]
            successes[rows, arm] += reward
            pulls[rows, arm] += 1
            arms[:, t] = arm
            rewards[:, t] = reward
        if record_propensities:
            propensities = _propensities_from_history(arms, rewards, k, prior_alpha, prior_beta)
        return BanditRun(means, arms, rewards, propensities, batch_size)

    for start in range(0, n_rounds, batch_size):
        stop = min(start + batch_size, n_rounds)
        size = stop - start
        alpha = prior_alpha + successes
        beta = prior_beta + pulls - successes
        if needs_probabilities:
            probabilities = compute_thompson_propensities(alpha, beta)
            if top_two:
                probabilities = compute_top_two_propensities(probabilities, leader_probability)
            if floor > 0:
                probabilities = floor + (1 - k * floor) * probabilities
            cumulative = np.cumsum(probabilities, axis=1)
            uniforms = generator.random((n_reps, size))
            arm = np.minimum((uniforms[:, :, None] >= cumulative[:, None, :]).sum(-1), k - 1)
            if propensities is not None:
                propensities[:, start:stop, :] = probabilities[:, None, :]
        else:
            draws = generator.beta(alpha[:, None, :], beta[:, None, :], size=(n_reps, size, k))
            arm = np.argmax(draws, axis=2)
        reward = generator.random((n_reps, size)) < means[arm]
        for a in range(k):
            played = arm == a
            pulls[:, a] += played.sum(axis=1)
            successes[:, a] += (played & reward).sum(axis=1)
        arms[:, start:stop] = arm
        rewards[:, start:stop] = reward
    return BanditRun(means, arms, rewards, propensities, batch_size)
