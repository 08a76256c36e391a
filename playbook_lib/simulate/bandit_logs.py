"""Simulated bandit logs, confounded observational logs, a contextual environment and
uplift data, each with known truth (chapter: Bandits, IPW and doubly robust estimation).

- :func:`simulate_bandit_logs`: one Thompson-sampling log with the exact propensity of
  every arm at every round.
- :func:`simulate_confounded_logs` / :func:`simulate_confounded_replications`: users whose
  covariates drive both treatment and outcome; :func:`compute_confounded_true_ate` is the
  truth.
- :class:`ContextualEnvironment` (:func:`simulate_contextual_environment`) and
  :func:`simulate_contextual_logs`: a logistic contextual-bandit world with a logging
  policy and exact logging propensities, for off-policy evaluation and LinUCB.
- :func:`simulate_uplift_data`: a randomised test with a known individual effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from playbook_lib.bandits.policy import simulate_thompson_sampling
from playbook_lib.validation import (
    as_float_array,
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = [
    "ContextualEnvironment",
    "compute_confounded_true_ate",
    "simulate_bandit_logs",
    "simulate_confounded_logs",
    "simulate_confounded_replications",
    "simulate_contextual_environment",
    "simulate_contextual_logs",
    "simulate_uplift_data",
]


def simulate_bandit_logs(
    arm_means: np.ndarray | list[float],
    n_rounds: int,
    *,
    batch_size: int = 1,
    propensity_floor: float = 0.0,
    top_two: bool = False,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """One log of Beta-Bernoulli Thompson sampling with exact propensities.

    Runs :func:`playbook_lib.bandits.simulate_thompson_sampling` for one replication with
    ``record_propensities=True``; the propensities are computed exactly from the Beta
    posteriors (quadrature), never from a handful of Monte Carlo draws.

    Parameters
    ----------
    arm_means : array-like, shape (k,)
        True success probabilities (the truth estimators are checked against).
    n_rounds : int
    batch_size : int
        Rounds between posterior updates.
    propensity_floor : float
        Minimum allocation probability of every arm.
    top_two : bool
        Top-two Thompson sampling.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    pandas.DataFrame
        One row per round: ``round`` (0..n-1), ``batch``, ``arm`` (0..k-1), ``reward``
        (0/1), ``propensity`` (of the arm played) and ``propensity_0`` ... ``propensity_{k-1}``
        (of every arm).

    Raises
    ------
    ValueError
        As :func:`playbook_lib.bandits.simulate_thompson_sampling`: ``arm_means`` outside
        [0, 1] or fewer than two, sizes that are not positive integers, a
        ``propensity_floor`` outside [0, 1/k), a ``top_two`` that is not a bool, or an
        ``rng`` that is not a Generator, seed or None.
    """
    n_rounds = check_integer(n_rounds, "n_rounds", minimum=1)
    run = simulate_thompson_sampling(
        arm_means,
        n_rounds,
        n_reps=1,
        batch_size=batch_size,
        top_two=top_two,
        propensity_floor=propensity_floor,
        record_propensities=True,
        rng=rng,
    )
    k = len(run.arm_means)
    frame = pd.DataFrame(
        {
            "round": np.arange(n_rounds),
            "batch": np.arange(n_rounds) // run.batch_size,
            "arm": run.arms[0].astype(np.int64),
            "reward": run.rewards[0].astype(np.int64),
            "propensity": run.chosen_propensities()[0],
        }
    )
    for a in range(k):
        frame[f"propensity_{a}"] = run.propensities[0, :, a]
    return frame


# ------------------------------------------------------------------ confounded logs
_PROPENSITY_COEF = {"intercept": -0.2, "x1": 0.6, "x3": -0.5, "x2_squared": 0.3}
_OUTCOME_COEF = {
    "intercept": -1.0,
    "x1": 0.5,
    "x3": 0.4,
    "x2_squared": 0.7,
    "treatment": 0.5,
    "treatment_x1": 0.3,
}


def _confounded_truth(x1, x2, x3):
    z = x2**2 - 1
    c = _PROPENSITY_COEF
    e = special.expit(c["intercept"] + c["x1"] * x1 + c["x3"] * x3 + c["x2_squared"] * z)
    o = _OUTCOME_COEF
    base = o["intercept"] + o["x1"] * x1 + o["x3"] * x3 + o["x2_squared"] * z
    p0 = special.expit(base)
    p1 = special.expit(base + o["treatment"] + o["treatment_x1"] * x1)
    return e, p0, p1


def compute_confounded_true_ate() -> float:
    r"""Population ATE (probability difference) of the confounded-log world.

    Computed by 60-point Gauss-Hermite quadrature in each of the three standard normal
    covariates (error far below 1e-8).

    Returns
    -------
    float
        :math:`E[P(Y=1 \mid x, w=1) - P(Y=1 \mid x, w=0)]` over the covariates. Takes no
        arguments, so raises nothing.
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / weights.sum()
    x1, x2, x3 = np.meshgrid(nodes, nodes, nodes, indexing="ij")
    w = weights[:, None, None] * weights[None, :, None] * weights[None, None, :]
    _, p0, p1 = _confounded_truth(x1, x2, x3)
    return float(np.sum(w * (p1 - p0)))


def simulate_confounded_replications(
    n: int, n_reps: int, *, rng: np.random.Generator | int | None = None
) -> dict[str, np.ndarray]:
    r"""Replicated confounded logs as arrays of shape (n_reps, n).

    Three standard normal covariates; :math:`z = x_2^2 - 1` is a *nonlinear confounder*:
    it raises both the chance of treatment,
    :math:`\operatorname{logit} e(x) = -0.2 + 0.6x_1 - 0.5x_3 + 0.3z`, and the outcome,
    :math:`\operatorname{logit} P(Y=1 \mid x, w) = -1 + 0.5x_1 + 0.4x_3 + 0.7z +
    w(0.5 + 0.3x_1)`. A model that uses :math:`x_1, x_2, x_3` linearly is misspecified;
    adding :math:`x_2^2` makes it correct.

    Returns
    -------
    dict
        ``x1``, ``x2``, ``x3``, ``treatment``, ``outcome`` (0/1), ``propensity`` (true
        :math:`e(x)`), ``p_control``, ``p_treated`` (true outcome probabilities).

    Raises
    ------
    ValueError
        If ``n`` is not an integer of at least 10, ``n_reps`` not a positive integer, or
        ``rng`` not a Generator, seed or None.
    """
    n = check_integer(n, "n", minimum=10)
    n_reps = check_integer(n_reps, "n_reps", minimum=1)
    generator = check_rng(rng)
    x1, x2, x3 = generator.standard_normal((3, n_reps, n))
    e, p0, p1 = _confounded_truth(x1, x2, x3)
    treatment = (generator.random((n_reps, n)) < e).astype(np.int64)
    p = np.where(treatment == 1, p1, p0)
    outcome = (generator.random((n_reps, n)) < p).astype(np.int64)
    return {
        "x1": x1,
        "x2": x2,
        "x3": x3,
        "treatment": treatment,
        "outcome": outcome,
        "propensity": e,
        "p_control": p0,
        "p_treated": p1,
    }


def simulate_confounded_logs(
    n: int = 20_000, *, rng: np.random.Generator | int | None = None
) -> pd.DataFrame:
    """One confounded observational log (see :func:`simulate_confounded_replications`).

    Returns
    -------
    pandas.DataFrame
        Columns ``x1``, ``x2``, ``x3``, ``x2_squared``, ``treatment``, ``outcome``,
        ``propensity``, ``p_control``, ``p_treated``. The population ATE is
        :func:`compute_confounded_true_ate`.

    Raises
    ------
    ValueError
        As :func:`simulate_confounded_replications`.
    """
    arrays = simulate_confounded_replications(n, 1, rng=rng)
    frame = pd.DataFrame({key: value[0] for key, value in arrays.items()})
    frame.insert(3, "x2_squared", frame["x2"] ** 2)
    return frame


# ------------------------------------------------------------------ contextual world
@dataclass(frozen=True)
class ContextualEnvironment:
    r"""A logistic contextual bandit, :math:`P(Y=1 \mid x, a) = \text{expit}(x^\top\theta_a)`.

    Contexts are :math:`x = (1, u_1, \dots, u_{d-1})` with independent standard normal
    :math:`u`. Build one with :func:`simulate_contextual_environment`.

    Attributes
    ----------
    theta : numpy.ndarray, shape (k, d)
        True coefficients, one row per arm.
    """

    theta: np.ndarray

    @property
    def n_arms(self) -> int:
        """The number of arms ``k`` (rows of ``theta``)."""
        return int(self.theta.shape[0])

    @property
    def n_features(self) -> int:
        """The number of features ``d`` (columns of ``theta``), the intercept included."""
        return int(self.theta.shape[1])

    def sample_contexts(
        self, size: int | tuple[int, ...], rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Contexts of shape ``(*size, d)``, first column 1."""
        generator = check_rng(rng)
        shape = (size,) if isinstance(size, int | np.integer) else tuple(size)
        u = generator.standard_normal(shape + (self.n_features - 1,))
        return np.concatenate([np.ones(shape + (1,)), u], axis=-1)

    def reward_probabilities(
        self, contexts: np.ndarray, theta: np.ndarray | None = None
    ) -> np.ndarray:
        """Success probability of every arm, shape ``(..., k)`` (``theta`` defaults to truth)."""
        coefficients = self.theta if theta is None else np.asarray(theta, dtype=float)
        return special.expit(np.asarray(contexts) @ coefficients.T)

    def perturbed_theta(
        self, noise: float, rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """A model of the world: the true coefficients plus N(0, noise^2) errors."""
        generator = check_rng(rng)
        return self.theta + check_positive(noise, "noise", strict=False) * (
            generator.standard_normal(self.theta.shape)
        )

    def softmax_policy(
        self, contexts: np.ndarray, theta: np.ndarray, temperature: float
    ) -> np.ndarray:
        """Probabilities of every arm under a softmax of ``x @ theta.T / temperature``."""
        temperature = check_positive(temperature, "temperature")
        return special.softmax(np.asarray(contexts) @ np.asarray(theta).T / temperature, -1)

    def greedy_policy(self, contexts: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """One-hot probabilities of the arm with the largest ``x @ theta.T``."""
        best = np.argmax(np.asarray(contexts) @ np.asarray(theta).T, axis=-1)
        return np.eye(self.n_arms)[best]


def simulate_contextual_environment(
    n_arms: int = 4,
    n_features: int = 5,
    *,
    base_rate: float = 0.08,
    slope_sd: float = 0.6,
    rng: np.random.Generator | int | None = None,
) -> ContextualEnvironment:
    """A random logistic contextual-bandit world.

    Each arm's intercept is ``logit(base_rate)`` plus N(0, 0.2^2); its slopes on the
    ``n_features - 1`` standard normal features are N(0, ``slope_sd ** 2``). So which arm is
    best depends on the user, and no single arm is best for everybody.

    Returns
    -------
    ContextualEnvironment

    Raises
    ------
    ValueError
        If ``n_arms`` or ``n_features`` is not an integer of at least 2, ``base_rate`` is
        outside (0, 1), ``slope_sd`` is negative or not finite, or ``rng`` is not a
        Generator, seed or None.
    """
    n_arms = check_integer(n_arms, "n_arms", minimum=2)
    n_features = check_integer(n_features, "n_features", minimum=2)
    base_rate = check_probability(base_rate, "base_rate", allow_zero=False, allow_one=False)
    slope_sd = check_positive(slope_sd, "slope_sd", strict=False)
    generator = check_rng(rng)
    intercepts = special.logit(base_rate) + 0.2 * generator.standard_normal(n_arms)
    slopes = slope_sd * generator.standard_normal((n_arms, n_features - 1))
    return ContextualEnvironment(np.column_stack([intercepts, slopes]))


def simulate_contextual_logs(
    environment: ContextualEnvironment,
    n: int,
    *,
    logging_theta: np.ndarray,
    temperature: float = 0.5,
    uniform_share: float = 0.2,
    n_reps: int = 1,
    rng: np.random.Generator | int | None = None,
) -> dict[str, np.ndarray]:
    """Logs of a softmax logging policy in a contextual world, with exact propensities.

    Parameters
    ----------
    environment : ContextualEnvironment
    n : int
        Rounds per log.
    logging_theta : numpy.ndarray, shape (k, d)
        The logging policy's (imperfect) model; it plays arm ``a`` with probability
        ``softmax(x @ logging_theta.T / temperature)[a]``.
    temperature : float
        Softmax temperature (smaller = greedier, smaller propensities).
    uniform_share : float
        Share of traffic explored uniformly: the logging probabilities are
        ``(1 - uniform_share) * softmax + uniform_share / k``, so each arm keeps at least
        ``uniform_share / k``.
    n_reps : int
    rng : numpy.random.Generator, int or None

    Returns
    -------
    dict
        ``contexts`` (n_reps, n, d), ``arms`` (n_reps, n), ``rewards`` (n_reps, n),
        ``logging_propensities`` (n_reps, n, k) and ``reward_probabilities`` (n_reps, n, k)
        (the truth: on-policy values follow exactly from it).

    Raises
    ------
    ValueError
        If ``environment`` is not a :class:`ContextualEnvironment`, ``logging_theta`` does
        not have its shape or is not finite, ``temperature`` is not positive,
        ``uniform_share`` is outside [0, 1], sizes are not positive integers (or too
        large), or ``rng`` is not a Generator, seed or None.
    """
    n = check_integer(n, "n", minimum=2)
    n_reps = check_integer(n_reps, "n_reps", minimum=1)
    generator = check_rng(rng)
    if not isinstance(environment, ContextualEnvironment):
        raise ValueError(
            f"environment must be a ContextualEnvironment, got {type(environment).__name__}"
        )
    theta = as_float_array(logging_theta, "logging_theta", ndim=2)
    if theta.shape != environment.theta.shape:
        raise ValueError(
            f"logging_theta must have shape {environment.theta.shape} (arms, features), "
            f"got {theta.shape}"
        )
    temperature = check_positive(temperature, "temperature")
    share = check_probability(uniform_share, "uniform_share")
    if n * n_reps * environment.n_arms > 500_000_000:
        raise ValueError(
            f"n * n_reps * k = {n * n_reps * environment.n_arms:.3g} is too "
            "large: simulate fewer rounds (n) or replications (n_reps)"
        )
    contexts = environment.sample_contexts((n_reps, n), generator)
    probabilities = environment.reward_probabilities(contexts)
    with np.errstate(over="ignore"):
        softmax = environment.softmax_policy(contexts, theta, temperature)
    logging = (1 - share) * softmax + (share / environment.n_arms)
    cumulative = np.cumsum(logging, axis=-1)
    uniforms = generator.random((n_reps, n, 1))
    arms = np.minimum((uniforms >= cumulative).sum(-1), environment.n_arms - 1)
    chosen = np.take_along_axis(probabilities, arms[..., None], -1)[..., 0]
    rewards = (generator.random((n_reps, n)) < chosen).astype(np.int64)
    return {
        "contexts": contexts,
        "arms": arms,
        "rewards": rewards,
        "logging_propensities": logging,
        "reward_probabilities": probabilities,
    }


# ------------------------------------------------------------------ uplift
def simulate_uplift_data(
    n: int = 40_000,
    *,
    baseline_logit: float = -2.0,
    effect_scale: float = 0.6,
    treatment_probability: float = 0.5,
    post_treatment: bool = False,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    r"""A randomised marketing test with a known individual treatment effect.

    Five standard normal pre-treatment features ``x1..x5``. Control conversion
    :math:`p_0 = \operatorname{expit}(b + 0.6x_1 - 0.4x_3)`; treatment shifts the logit by
    :math:`\delta(x) = s\,(0.25 + 0.7x_2 - 0.4x_4)` (``s = effect_scale``), so some users
    respond, some do not, and some are put off. ``true_cate`` is :math:`p_1 - p_0`.

    Parameters
    ----------
    n : int
    baseline_logit : float
        :math:`b`.
    effect_scale : float
        :math:`s` (0 = no effect for anybody).
    treatment_probability : float
        Share randomised to treatment.
    post_treatment : bool
        Add ``visits``, a count recorded *after* treatment that depends on treatment and
        on conversion (a leaky feature that must not be used for targeting).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    pandas.DataFrame
        ``x1`` ... ``x5``, ``treatment``, ``conversion``, ``p_control``, ``p_treated``,
        ``true_cate`` (and ``visits``).

    Raises
    ------
    ValueError
        If ``n`` < 10, ``baseline_logit`` or ``effect_scale`` is not a finite number,
        ``treatment_probability`` is outside (0, 1), ``post_treatment`` is not a bool, or
        ``rng`` is not a Generator, seed or None.
    """
    n = check_integer(n, "n", minimum=10)
    baseline_logit = check_finite_number(baseline_logit, "baseline_logit")
    effect_scale = check_finite_number(effect_scale, "effect_scale")
    if not isinstance(post_treatment, bool | np.bool_):
        raise ValueError(f"post_treatment must be True or False, got {post_treatment!r}")
    g = check_probability(
        treatment_probability, "treatment_probability", allow_zero=False, allow_one=False
    )
    generator = check_rng(rng)
    x = generator.standard_normal((n, 5))
    base = baseline_logit + 0.6 * x[:, 0] - 0.4 * x[:, 2]
    delta = effect_scale * (0.25 + 0.7 * x[:, 1] - 0.4 * x[:, 3])
    p0 = special.expit(base)
    p1 = special.expit(base + delta)
    treatment = (generator.random(n) < g).astype(np.int64)
    conversion = (generator.random(n) < np.where(treatment == 1, p1, p0)).astype(np.int64)
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(1, 6)])
    frame["treatment"] = treatment
    frame["conversion"] = conversion
    frame["p_control"] = p0
    frame["p_treated"] = p1
    frame["true_cate"] = p1 - p0
    if post_treatment:
        frame["visits"] = generator.poisson(np.exp(0.3 + 0.3 * treatment + 1.2 * conversion))
    return frame
