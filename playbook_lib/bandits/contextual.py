"""Contextual bandits: LinUCB and linear Thompson sampling, simulated for many replications.

Each arm keeps ridge-regression state whose inverse design matrix is updated by
Sherman-Morrison in :math:`O(d^2)` per round (Li et al., 2010; Agrawal and Goyal, 2013);
:func:`simulate_contextual_bandit` runs them, or context-free Thompson sampling, in an
environment such as :class:`playbook_lib.simulate.ContextualEnvironment`, and returns a
:class:`ContextualRun`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from playbook_lib.bandits._checks import MAX_CELLS
from playbook_lib.validation import check_choice, check_integer, check_positive, check_rng

__all__ = ["ContextualRun", "simulate_contextual_bandit"]

# Rounds whose contexts, reward probabilities and reward uniforms are drawn in one call (the
# random stream depends on it, so it is fixed).
_CONTEXT_BLOCK = 64


@dataclass(frozen=True)
class ContextualRun:
    """Result of :func:`simulate_contextual_bandit`.

    Attributes
    ----------
    arms : numpy.ndarray, shape (n_reps, n_rounds)
    expected_rewards : numpy.ndarray, shape (n_reps, n_rounds)
        True success probability of the arm played.
    best_rewards : numpy.ndarray, shape (n_reps, n_rounds)
        True success probability of the best arm for that context.
    """

    arms: np.ndarray
    expected_rewards: np.ndarray
    best_rewards: np.ndarray

    def mean_cumulative_regret(self) -> np.ndarray:
        """Cumulative expected regret averaged over replications, shape (n_rounds,)."""
        return np.cumsum((self.best_rewards - self.expected_rewards).mean(axis=0))

    def mean_reward(self) -> float:
        """Average expected reward per round over all rounds and replications."""
        return float(self.expected_rewards.mean())


def simulate_contextual_bandit(
    environment: Any,
    n_rounds: int,
    *,
    policy: str = "linucb",
    n_reps: int = 1,
    exploration: float = 1.0,
    ridge: float = 1.0,
    rng: np.random.Generator | int | None = None,
) -> ContextualRun:
    r"""Run LinUCB, linear Thompson sampling or context-free Thompson sampling.

    Each arm keeps ridge-regression state :math:`A_a = \lambda I + \sum x x^\top`,
    :math:`b_a = \sum r\,x` (note: the reward times the context, not the reward alone).
    The inverse :math:`A_a^{-1}` is updated by Sherman-Morrison,
    :math:`A^{-1} \leftarrow A^{-1} - A^{-1}xx^\top A^{-1} / (1 + x^\top A^{-1}x)`, in
    :math:`O(d^2)` per step. With :math:`\hat\theta_a = A_a^{-1}b_a` and
    :math:`s_a = \sqrt{x^\top A_a^{-1}x}`:

    - ``"linucb"`` plays :math:`\arg\max_a x^\top\hat\theta_a + \alpha s_a` (Li et al., 2010);
    - ``"linear_thompson"`` plays the argmax of :math:`x^\top\tilde\theta_a` with
      :math:`\tilde\theta_a \sim N(\hat\theta_a, \alpha^2 A_a^{-1})` (Agrawal and Goyal,
      2013); only the scalar :math:`x^\top\tilde\theta_a \sim N(x^\top\hat\theta_a,
      \alpha^2 s_a^2)` matters, so it is drawn directly;
    - ``"thompson"`` ignores the context (Beta-Bernoulli Thompson sampling).

    Vectorised over ``n_reps`` replications; the loop runs over rounds, and the contexts,
    their reward probabilities and the rewards' uniforms are drawn for 64 rounds at a time.

    Parameters
    ----------
    environment : object
        Has ``n_arms``, ``n_features``, ``sample_contexts(size, rng) -> (size, d)`` and
        ``reward_probabilities(contexts) -> (..., k)``, e.g.
        :class:`playbook_lib.simulate.ContextualEnvironment`.
    n_rounds, n_reps : int
    policy : {"linucb", "linear_thompson", "thompson"}
    exploration : float
        :math:`\alpha` (non-negative).
    ridge : float
        :math:`\lambda` (positive).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    ContextualRun

    Raises
    ------
    ValueError
        For an unknown policy, sizes that are not positive integers (or too large),
        a negative ``exploration``, a non-positive ``ridge``, an ``environment`` without
        the needed attributes, or an ``rng`` that is not a Generator, seed or None.
    """
    check_choice(policy, "policy", ("linucb", "linear_thompson", "thompson"))
    n_rounds = check_integer(n_rounds, "n_rounds", minimum=1)
    n_reps = check_integer(n_reps, "n_reps", minimum=1)
    exploration = check_positive(exploration, "exploration", strict=False)
    ridge = check_positive(ridge, "ridge")
    generator = check_rng(rng)
    needed = ("n_arms", "n_features", "sample_contexts", "reward_probabilities")
    if not all(hasattr(environment, attribute) for attribute in needed):
        raise ValueError(
            f"environment must have {', '.join(needed)} (e.g. a ContextualEnvironment), "
            f"got {type(environment).__name__}"
        )
    k = check_integer(environment.n_arms, "environment.n_arms", minimum=2)
    d = check_integer(environment.n_features, "environment.n_features", minimum=1)
    cells = max(n_reps * n_rounds, n_reps * k * d * d)
    if cells > MAX_CELLS:
        raise ValueError(
            f"n_reps = {n_reps} and n_rounds = {n_rounds} with {k} arms and {d} features "
            f"need {cells:.3g} cells (more than {MAX_CELLS:.0e}): use fewer replications"
        )
    rows = np.arange(n_reps)
    a_inv = np.broadcast_to(np.eye(d) / ridge, (n_reps, k, d, d)).copy()
    b = np.zeros((n_reps, k, d))
    successes = np.zeros((n_reps, k))
    pulls = np.zeros((n_reps, k))
    arms = np.empty((n_rounds, n_reps), dtype=np.int64)
    expected = np.empty((n_rounds, n_reps))
    best = np.empty((n_rounds, n_reps))
    for start in range(0, n_rounds, _CONTEXT_BLOCK):
        # a block of rounds' contexts, reward probabilities and uniforms drawn at once
        size = min(_CONTEXT_BLOCK, n_rounds - start)
        contexts = environment.sample_contexts(size * n_reps, generator).reshape(size, n_reps, d)
        block_probabilities = environment.reward_probabilities(contexts)
        best[start : start + size] = block_probabilities.max(axis=-1)
        uniforms = generator.random((size, n_reps))
        for j in range(size):
            x, probabilities = contexts[j], block_probabilities[j]
            if policy == "thompson":
                score = generator.beta(1 + successes, 1 + pulls - successes)
            else:
                # A^-1 is symmetric: with v = A^-1 x, x'theta = x'A^-1 b = v'b and
                # s^2 = v'x; the played arm's v is also Sherman-Morrison's A^-1 x
                v = np.einsum("rkij,rj->rki", a_inv, x)
                mean = np.einsum("rki,rki->rk", v, b)
                spread_squared = np.einsum("rki,ri->rk", v, x)
                spread = np.sqrt(spread_squared)
                if policy == "linucb":
                    score = mean + exploration * spread
                else:
                    noise = generator.standard_normal((n_reps, k))
                    score = mean + exploration * spread * noise
            arm = np.argmax(score, axis=1)
            p = probabilities[rows, arm]
            reward = uniforms[j] < p
            if policy == "thompson":
                successes[rows, arm] += reward
                pulls[rows, arm] += 1
            else:
                u = v[rows, arm]
                denominator = 1.0 + spread_squared[rows, arm]
                a_inv[rows, arm] -= u[:, :, None] * u[:, None, :] / denominator[:, None, None]
                b[rows, arm] += reward[:, None] * x
            arms[start + j] = arm
            expected[start + j] = p
    arms, expected, best = (np.ascontiguousarray(array.T) for array in (arms, expected, best))
    return ContextualRun(arms, expected, best)
