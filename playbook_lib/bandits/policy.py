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

from playbook_lib.bandits._checks import MAX_CELLS, played_column
from playbook_lib.bandits._quadrature import two_beta_superiority
from playbook_lib.bandits.propensities import (
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
        return played_column(self.propensities, self.arms)


def _check_arm_means(arm_means: Any) -> np.ndarray:
    means = as_float_array(arm_means, "arm_means", min_size=2)
    if np.any((means < 0) | (means > 1)):
        raise ValueError("arm_means must lie in [0, 1]")
    return means


# Below this, a two-arm propensity from the recurrence is recomputed by quadrature: each
# step's rounding error is absolute (~1e-16), so a tiny propensity would lose its relative
# accuracy, and IPW divides by it.
_RECURRENCE_FLOOR = 1e-7
# Rounds simulated per block of random numbers in the two-arm simulation (the random
# stream depends on it, so it is fixed).
_TWO_ARM_BLOCK = 256


class _TwoArmRecurrence:
    """Exact two-arm Thompson propensities of many replications, O(1) work per round.

    ``h = P(theta_1 > theta_0)`` for ``theta_1 ~ Beta(a, b)`` and ``theta_0 ~ Beta(c, d)``
    moves by one closed-form term when one count grows by one (Cook, 2005; the recurrences
    behind Miller's formula): with ``g = B(a + c, b + d) / (B(a, b) B(c, d))``,
    ``h(a+1) = h + g/a``, ``h(b+1) = h - g/b``, ``h(c+1) = h - g/c`` and ``h(d+1) = h + g/d``.
    ``g`` moves by a ratio of Beta functions, e.g.
    ``g(a+1) = g (a+c) (a+b) / ((a+b+c+d) a)``. It is carried as ``mantissa * 2**exponent``,
    renormalised every ``_RENORMALISE`` rounds (one round's ratio lies within
    ``[3 min(prior) / T, T / min(prior)]`` for ``T = a + b + c + d``, so eight rounds cannot
    leave the floating-point range for any realistic ``T``); so ``g`` keeps its relative
    accuracy however far the posteriors drift apart, as its logarithm would, without a
    logarithm and an exponential per round.

    The counts of replication ``r`` are ``counts[4r:4r+4] = (a, b, c, d)``; a step names the
    count that grows by its flat index (:meth:`index`).
    """

    _SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # direction of h's move when a, b, c, d grow
    _RENORMALISE = 8

    def __init__(self, n_reps: int, prior_alpha: float, prior_beta: float) -> None:
        self.counts = np.tile([prior_alpha, prior_beta, prior_alpha, prior_beta], n_reps)
        self.signs = np.tile(self._SIGNS, n_reps)
        self.offsets = 4 * np.arange(n_reps)
        self.total = 2.0 * (prior_alpha + prior_beta)  # a + b + c + d, alike in every row
        self.arm_one = np.full(n_reps, prior_alpha + prior_beta)  # a + b
        self.successes = np.full(n_reps, 2.0 * prior_alpha)  # a + c
        start = two_beta_superiority(prior_alpha, prior_beta, prior_alpha, prior_beta)
        self.h = np.full(n_reps, float(start))
        log_g = special.betaln(2 * prior_alpha, 2 * prior_beta) - 2 * special.betaln(
            prior_alpha, prior_beta
        )
        mantissa, exponent = np.frexp(np.exp(log_g))
        self.mantissa = np.full(n_reps, float(mantissa))
        self.exponent = np.full(n_reps, int(exponent))
        self.scale = np.ldexp(1.0, self.exponent)  # 2**exponent (0 once g is negligible)
        self.steps = 0

    def index(self, one: np.ndarray, won: np.ndarray) -> np.ndarray:
        """Flat index of the count that grows when arm 1 (``one``) or 0 is played and wins
        (``won``) or loses; any shape whose last axis is the replications'."""
        return self.offsets + 2 * ~one + ~won

    def step(self, index: np.ndarray, one: np.ndarray, won: np.ndarray) -> None:
        """Advance every replication by one round (``index`` from :meth:`index`)."""
        grows = self.counts[index]
        # the pair that shares B(., .) with the growing count in g's numerator, and its own
        partner = np.where(won, self.successes, self.total - self.successes)
        own_pair = np.where(one, self.arm_one, self.total - self.arm_one)
        self.h += self.signs[index] * (self.mantissa * self.scale) / grows
        self.mantissa *= partner * own_pair / (grows * self.total)
        self.counts[index] = grows + 1.0
        self.successes += won
        self.arm_one += one
        self.total += 1.0
        self.steps += 1
        if self.steps % self._RENORMALISE == 0:
            self.mantissa, shift = np.frexp(self.mantissa)
            self.exponent += shift
            self.scale = np.ldexp(1.0, self.exponent)


def _store_block(propensities: np.ndarray, start: int, h_block: np.ndarray) -> None:
    """Write the rounds ``start...`` of ``h_block`` (arm 1's propensity, shape (rounds,
    n_reps)) into ``propensities`` (n_reps, n_rounds, 2), arm 0 getting ``1 - h``: a
    block-sized transpose, no full-size intermediate."""
    stop = start + len(h_block)
    propensities[:, start:stop, 1] = h_block.T
    propensities[:, start:stop, 0] = 1.0 - h_block.T


def _recompute_extreme_rounds(
    propensities: np.ndarray,
    arms: np.ndarray,
    rewards: np.ndarray,
    prior_alpha: float,
    prior_beta: float,
) -> None:
    """Recompute, in place and by quadrature, the rounds where either arm's propensity from
    the recurrence (``propensities``, shape (n_reps, n_rounds, 2)) is below
    ``_RECURRENCE_FLOOR``, so small propensities keep their relative accuracy. Posteriors
    are formed only for the replications that have such rounds, a few at a time."""
    h = propensities[..., 1]
    rows = np.flatnonzero(np.any((h < _RECURRENCE_FLOOR) | (h > 1.0 - _RECURRENCE_FLOOR), axis=1))
    for chunk in np.array_split(rows, -(-len(rows) // 64)) if len(rows) else ():
        part = propensities[chunk]
        extreme = (part[..., 1] < _RECURRENCE_FLOOR) | (part[..., 1] > 1.0 - _RECURRENCE_FLOOR)
        alpha, beta = _posteriors_before_each_round(
            arms[chunk], rewards[chunk], 2, prior_alpha, prior_beta
        )
        alpha, beta = alpha[extreme], beta[extreme]
        exact = two_beta_superiority(alpha[:, 0], beta[:, 0], alpha[:, 1], beta[:, 1])
        part[extreme] = np.stack([1.0 - exact, exact], axis=-1)
        propensities[chunk] = part


def _two_arm_propensities_from_history(
    arms: np.ndarray, rewards: np.ndarray, prior_alpha: float, prior_beta: float
) -> np.ndarray:
    """Exact two-arm Thompson propensities at every round of given logs, shape
    ``arms.shape + (2,)``: the recurrence of :class:`_TwoArmRecurrence`, with rounds below
    ``_RECURRENCE_FLOOR`` (either arm) recomputed by quadrature."""
    n_reps, n_rounds = arms.shape
    state = _TwoArmRecurrence(n_reps, prior_alpha, prior_beta)
    propensities = np.empty((n_reps, n_rounds, 2))
    for start in range(0, n_rounds, _TWO_ARM_BLOCK):
        stop = min(start + _TWO_ARM_BLOCK, n_rounds)
        one = np.ascontiguousarray((arms[:, start:stop] == 1).T)
        won = np.ascontiguousarray(rewards[:, start:stop].astype(bool).T)
        index = state.index(one, won)
        h_block = np.empty((stop - start, n_reps))
        for j in range(stop - start):
            h_block[j] = state.h
            state.step(index[j], one[j], won[j])
        _store_block(propensities, start, h_block)
    _recompute_extreme_rounds(propensities, arms, rewards, prior_alpha, prior_beta)
    return propensities


def _two_arm_probabilities(h: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Both arms' propensities (n_reps, 2) from the recurrence's ``h`` (arm 1's), with the
    replications below ``_RECURRENCE_FLOOR`` (either arm) recomputed by quadrature from
    their posteriors ``alpha``, ``beta`` (n_reps, 2)."""
    h = h.copy()
    extreme = (h < _RECURRENCE_FLOOR) | (h > 1.0 - _RECURRENCE_FLOOR)
    if np.any(extreme):
        a, b = alpha[extreme], beta[extreme]
        h[extreme] = two_beta_superiority(a[:, 0], b[:, 0], a[:, 1], b[:, 1])
    return np.stack([1.0 - h, h], axis=-1)


def _simulate_two_arms(
    means: np.ndarray,
    n_rounds: int,
    n_reps: int,
    prior_alpha: float,
    prior_beta: float,
    record_propensities: bool,
    generator: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Plain two-arm Thompson sampling that plays arm 1 with its exact propensity.

    Drawing one posterior sample per arm and playing the larger plays arm 1 with
    probability ``h = P(theta_1 > theta_0)``; the recurrence of :class:`_TwoArmRecurrence`
    carries ``h`` from round to round, so each round needs one uniform for the arm (played
    if below ``h``) and one for the reward, and the propensities come for free. Returns
    arms, rewards (int8, shape (n_reps, n_rounds)) and, if recorded, the propensities.
    """
    state = _TwoArmRecurrence(n_reps, prior_alpha, prior_beta)
    arms = np.empty((n_reps, n_rounds), dtype=np.int8)
    rewards = np.empty((n_reps, n_rounds), dtype=np.int8)
    propensities = np.empty((n_reps, n_rounds, 2)) if record_propensities else None
    h_block = np.empty((_TWO_ARM_BLOCK, n_reps))
    for start in range(0, n_rounds, _TWO_ARM_BLOCK):
        stop = min(start + _TWO_ARM_BLOCK, n_rounds)
        uniforms = generator.random((stop - start, 2, n_reps))
        # what each round's reward would be on either arm (one uniform, as for a played arm)
        win_one, win_zero = uniforms[:, 1] < means[1], uniforms[:, 1] < means[0]
        true_ = np.ones_like(win_one)
        index_one, index_zero = state.index(true_, win_one), state.index(~true_, win_zero)
        one = np.empty(win_one.shape, dtype=bool)
        won = np.empty(win_one.shape, dtype=bool)
        for j in range(stop - start):
            h_block[j] = state.h
            np.less(uniforms[j, 0], state.h, out=one[j])
            np.copyto(won[j], np.where(one[j], win_one[j], win_zero[j]))
            state.step(np.where(one[j], index_one[j], index_zero[j]), one[j], won[j])
        arms[:, start:stop] = one.T
        rewards[:, start:stop] = won.T
        if propensities is not None:
            _store_block(propensities, start, h_block[: stop - start])
    if propensities is not None:
        _recompute_extreme_rounds(propensities, arms, rewards, prior_alpha, prior_beta)
    return arms, rewards, propensities


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

    - Plain Thompson sampling (``batch_size=1``, no floor, not top-two). Two arms: each
      round plays arm 1 with its exact propensity ``P(theta_1 > theta_0)``, carried from
      round to round by an O(1) recurrence (exact to about 1e-11; the same law as drawing
      one posterior sample per arm and playing the larger), so recording the propensities
      costs almost nothing. More arms: each round draws one posterior sample per arm and
      plays the largest; with ``record_propensities=True`` the exact propensities are then
      computed from the posteriors before each round by one vectorised quadrature over all
      rounds (O(k^2) incomplete-beta evaluations per round and replication).
    - Otherwise, at the start of each batch the exact allocation probabilities are
      computed (two arms: the recurrence stepped through the previous batch's rounds; more
      arms: :func:`compute_thompson_propensities`; top-two adjusted with
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

    if batch_size == 1 and not (top_two or floor > 0) and k == 2:
        # plain two-arm Thompson sampling: each round plays arm 1 with its exact propensity
        arms, rewards, propensities = _simulate_two_arms(
            means, n_rounds, n_reps, prior_alpha, prior_beta, record_propensities, generator
        )
        return BanditRun(means, arms, rewards, propensities, batch_size)
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

    # two arms: the exact propensities at each batch's start by the recurrence, stepped
    # through the batch's rounds (cheaper than a quadrature per batch)
    recurrence = (
        _TwoArmRecurrence(n_reps, prior_alpha, prior_beta)
        if k == 2 and needs_probabilities
        else None
    )
    for start in range(0, n_rounds, batch_size):
        stop = min(start + batch_size, n_rounds)
        size = stop - start
        alpha = prior_alpha + successes
        beta = prior_beta + pulls - successes
        if needs_probabilities:
            if recurrence is None:
                probabilities = compute_thompson_propensities(alpha, beta)
            else:
                probabilities = _two_arm_probabilities(recurrence.h, alpha, beta)
            if top_two:
                probabilities = compute_top_two_propensities(probabilities, leader_probability)
            if floor > 0:
                probabilities = floor + (1 - k * floor) * probabilities
            cumulative = np.cumsum(probabilities, axis=1)
            uniforms = generator.random((n_reps, size))
            if k == 2:
                arm = (uniforms >= cumulative[:, :1]).astype(np.int64)
            else:  # the number of inner boundaries passed (so at most k - 1)
                arm = (uniforms[:, :, None] >= cumulative[:, None, :-1]).sum(-1)
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
        if recurrence is not None:
            one, won = np.ascontiguousarray((arm == 1).T), np.ascontiguousarray(reward.T)
            index = recurrence.index(one, won)
            for j in range(size):
                recurrence.step(index[j], one[j], won[j])
    return BanditRun(means, arms, rewards, propensities, batch_size)
