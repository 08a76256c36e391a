"""Power and sample size: analytic formulas for the pooled two-proportion z-test and the
two-sample t-test, their inverses (minimum detectable effects), and vectorised simulations
that check them."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import optimize, stats

from playbook_lib._kernels import welch
from playbook_lib.abtest.proportions import batch_compare_proportions
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import (
    check_alpha,
    check_choice,
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = [
    "minimum_detectable_effect_means",
    "minimum_detectable_effect_proportions",
    "power_means",
    "power_proportions",
    "sample_size_means",
    "sample_size_proportions",
    "simulate_power_means",
    "simulate_power_proportions",
]

_SAMPLE_SIZE_METHODS = ("pooled-unpooled", "cohen-h", "pooled", "unpooled")


def _check_power(power: Any, alpha: float) -> float:
    """``power`` in (alpha, 1): with no effect a two-sided test already rejects with
    probability ``alpha``, so a power at or below it needs no data (and solvers fail)."""
    power = check_probability(power, "power", allow_zero=False, allow_one=False)
    if power <= alpha:
        raise ValueError(
            f"power must exceed alpha ({alpha:g}), got {power:g}: a test rejects with "
            "probability alpha when there is no effect at all"
        )
    return power


def sample_size_proportions(
    p_control: float,
    p_treatment: float,
    alpha: float = 0.05,
    power: float = 0.8,
    method: str = "pooled-unpooled",
) -> float:
    """Users per arm (equal arms, two-sided) to detect ``p_control`` vs ``p_treatment``.

    Methods (all normal approximations; they differ in the variance they plug in):

    ``"pooled-unpooled"`` (the book's default)
        ``n = (z_{1-a/2} sqrt(2 pbar qbar) + z_{power} sqrt(p_c q_c + p_t q_t))^2 / d^2``:
        pooled variance under the null, unpooled under the alternative; this is the
        power of the pooled z-test the book recommends. Equals
        :func:`statsmodels.stats.proportion.samplesize_proportions_2indep_onetail`.
    ``"cohen-h"``
        Cohen's arcsine effect size ``h = 2 asin sqrt(p_t) - 2 asin sqrt(p_c)``, ``n =
        ((z_{1-a/2} + z_{power}) / h)^2`` (Cohen 1988); equals
        ``NormalIndPower().solve_power(proportion_effectsize(...))``.
    ``"pooled"``, ``"unpooled"``
        ``(z_{1-a/2} + z_{power})^2 V / d^2`` with ``V = 2 pbar qbar`` or
        ``p_c q_c + p_t q_t``.

    Parameters
    ----------
    p_control, p_treatment : float
        The conversion probabilities to tell apart, in (0, 1) and different.
    alpha, power : float
        Level of the two-sided test and the power wanted, in (0, 1).
    method : {"pooled-unpooled", "cohen-h", "pooled", "unpooled"}

    Returns
    -------
    float
        The unrounded size; round **up** (``math.ceil``) to plan.

    Raises
    ------
    ValueError
        If a probability is outside (0, 1), they are equal, or bad ``alpha``/``power``/
        ``method``.
    """
    p_c = check_probability(p_control, "p_control", allow_zero=False, allow_one=False)
    p_t = check_probability(p_treatment, "p_treatment", allow_zero=False, allow_one=False)
    if p_c == p_t:
        raise ValueError("p_treatment must differ from p_control")
    alpha = check_alpha(alpha)
    power = _check_power(power, alpha)
    method = check_choice(method, "method", _SAMPLE_SIZE_METHODS)
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import (
        proportion_effectsize,
        samplesize_proportions_2indep_onetail,
    )

    if method == "pooled-unpooled":
        return float(
            samplesize_proportions_2indep_onetail(
                p_t - p_c, p_c, power, ratio=1, alpha=alpha, alternative="two-sided"
            )
        )
    if method == "cohen-h":
        effect = proportion_effectsize(p_t, p_c)
        return float(
            NormalIndPower().solve_power(effect_size=abs(effect), alpha=alpha, power=power, ratio=1)
        )
    z_sum = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    p_bar = (p_c + p_t) / 2
    variance = 2 * p_bar * (1 - p_bar) if method == "pooled" else p_c * (1 - p_c) + p_t * (1 - p_t)
    return float(z_sum**2 * variance / (p_t - p_c) ** 2)


def power_proportions(
    p_control: float, p_treatment: float, n_per_arm: float, alpha: float = 0.05
) -> float:
    """Power of the two-sided pooled two-proportion z-test with ``n_per_arm`` per arm.

    Uses :func:`statsmodels.stats.proportion.power_proportions_2indep` (pooled variance
    under the null, unpooled under the alternative).

    Parameters
    ----------
    p_control, p_treatment : float
        Conversion probabilities, in (0, 1).
    n_per_arm : float
        Users per arm (at least 2).
    alpha : float
        Level of the test.

    Returns
    -------
    float
        The power, in (0, 1).

    Raises
    ------
    ValueError
        Bad probabilities, ``n_per_arm < 2`` or bad ``alpha``.
    """
    p_c = check_probability(p_control, "p_control", allow_zero=False, allow_one=False)
    p_t = check_probability(p_treatment, "p_treatment", allow_zero=False, allow_one=False)
    n = check_positive(n_per_arm, "n_per_arm")
    if n < 2:
        raise ValueError("n_per_arm must be at least 2")
    alpha = check_alpha(alpha)
    from statsmodels.stats.proportion import power_proportions_2indep

    return float(power_proportions_2indep(p_t - p_c, p_c, n, ratio=1, alpha=alpha).power)


def minimum_detectable_effect_proportions(
    p_control: float, n_per_arm: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest absolute increase over ``p_control`` detected with the given power.

    Solves :func:`power_proportions` ``= power`` for ``p_treatment > p_control``.

    Parameters
    ----------
    p_control : float
        Baseline conversion probability, in (0, 1).
    n_per_arm : float
        Users per arm.
    alpha, power : float
        Level of the two-sided test and the power wanted, in (0, 1).

    Returns
    -------
    float
        The absolute difference ``p_treatment - p_control`` (a probability difference).

    Raises
    ------
    ValueError
        Bad inputs, or if even ``p_treatment`` near 1 cannot reach the power.
    """
    p_c = check_probability(p_control, "p_control", allow_zero=False, allow_one=False)
    check_positive(n_per_arm, "n_per_arm")
    alpha = check_alpha(alpha)
    power = _check_power(power, alpha)
    upper = 1 - 1e-9
    if power_proportions(p_c, upper, n_per_arm, alpha) < power:
        raise ValueError("n_per_arm is too small to reach that power at any effect")
    p_t = optimize.brentq(
        lambda p: power_proportions(p_c, p, n_per_arm, alpha) - power,
        p_c + 1e-12,
        upper,
        xtol=1e-12,
    )
    return float(p_t - p_c)


def sample_size_means(effect: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Units per arm for a two-sided two-sample t-test to detect a mean difference ``effect``.

    Uses :class:`statsmodels.stats.power.TTestIndPower` with effect size ``effect / sd``
    (t distribution, so small samples are handled).

    Parameters
    ----------
    effect : float
        The difference in means to detect (non-zero; its sign does not matter).
    sd : float
        The outcome's standard deviation in each arm (positive).
    alpha, power : float
        Level of the test and the power wanted, in (0, 1).

    Returns
    -------
    float
        The unrounded size per arm; round **up** to plan. At least 2 (the fewest units per
        arm a t-test takes), returned when 2 already have the power.

    Raises
    ------
    ValueError
        If ``effect`` is zero, ``sd`` not positive, or bad ``alpha``/``power`` (``power``
        must exceed ``alpha``).
    """
    effect = check_finite_number(effect, "effect")
    if effect == 0:
        raise ValueError("effect must be non-zero")
    sd = check_positive(sd, "sd")
    alpha = check_alpha(alpha)
    power = _check_power(power, alpha)
    from statsmodels.stats.power import TTestIndPower

    # An effect so large that 2 units per arm (the fewest a t-test takes) have the power
    # needs no solver, and statsmodels' fails there (NaN and a ConvergenceWarning).
    effect_size = abs(effect) / sd
    if TTestIndPower().power(effect_size, 2, alpha) >= power:
        return 2.0
    return float(TTestIndPower().solve_power(effect_size=effect_size, alpha=alpha, power=power))


def power_means(effect: float, sd: float, n_per_arm: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t-test (statsmodels ``TTestIndPower``).

    Parameters
    ----------
    effect : float
        The true difference in means.
    sd : float
        The outcome's standard deviation in each arm (positive).
    n_per_arm, alpha : float
        As :func:`power_proportions`.

    Returns
    -------
    float
        The power of the t-test, in (0, 1).

    Raises
    ------
    ValueError
        If ``sd`` is not positive, ``n_per_arm < 2`` or bad ``alpha``.
    """
    effect = check_finite_number(effect, "effect")
    sd = check_positive(sd, "sd")
    n = check_positive(n_per_arm, "n_per_arm")
    if n < 2:
        raise ValueError("n_per_arm must be at least 2")
    alpha = check_alpha(alpha)
    from statsmodels.stats.power import TTestIndPower

    return float(TTestIndPower().power(effect_size=abs(effect) / sd, nobs1=n, alpha=alpha))


def minimum_detectable_effect_means(
    sd: float, n_per_arm: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest mean difference detected with the given power (``TTestIndPower``).

    Parameters
    ----------
    sd, n_per_arm : float
        As :func:`power_means`.
    alpha, power : float
        Level of the test and the power wanted, in (0, 1).

    Returns
    -------
    float
        The smallest detectable difference in means, in the metric's units (those of
        ``sd``).

    Raises
    ------
    ValueError
        If ``sd`` is not positive, ``n_per_arm < 2`` or bad ``alpha``/``power``.
    """
    sd = check_positive(sd, "sd")
    n = check_positive(n_per_arm, "n_per_arm")
    if n < 2:
        raise ValueError("n_per_arm must be at least 2")
    alpha = check_alpha(alpha)
    power = _check_power(power, alpha)
    from statsmodels.stats.power import TTestIndPower

    return float(TTestIndPower().solve_power(nobs1=n, alpha=alpha, power=power) * sd)


def _simulated_power(results: Estimates, alpha: float, n_per_arm: int) -> Estimate:
    """The share of simulated experiments whose p-value is below ``alpha``."""
    rate = results.rejection_rate(alpha=alpha)
    return replace(rate, method="simulated power", details={**rate.details, "n_per_arm": n_per_arm})


def simulate_power_proportions(
    p_control: float,
    p_treatment: float,
    n_per_arm: int,
    alpha: float = 0.05,
    n_sims: int = 10_000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Power of the pooled two-proportion z-test by vectorised simulation.

    Draws ``n_sims`` binomial counts per arm at once and applies the two-sided test
    (:func:`~playbook_lib.abtest.batch_compare_proportions`); with
    ``p_treatment == p_control`` it estimates the type-I error.

    Parameters
    ----------
    p_control, p_treatment : float
        True conversion probabilities, in [0, 1].
    n_per_arm : int
        Users per arm (at least 2).
    alpha : float
        Level of the simulated test.
    n_sims : int
        Simulated experiments (at least 10).
    rng : numpy.random.Generator, int or None
        Seed or generator.

    Returns
    -------
    Estimate
        ``method="simulated power"``: the rejection rate with its Monte Carlo standard
        error and 95% Wilson interval (:meth:`~playbook_lib.Estimates.rejection_rate`);
        ``details`` hold ``n`` (simulations), ``n_per_arm`` and, for a type-I error
        study, ``z_vs_nominal`` (the distance from ``alpha`` in Monte Carlo units).

    Raises
    ------
    ValueError
        Naming the argument: probabilities outside [0, 1], ``n_per_arm < 2``,
        ``n_sims < 10``, bad ``alpha`` or ``rng``.
    """
    p_c = check_probability(p_control, "p_control")
    p_t = check_probability(p_treatment, "p_treatment")
    n = check_integer(n_per_arm, "n_per_arm", minimum=2)
    alpha = check_alpha(alpha)
    n_sims = check_integer(n_sims, "n_sims", minimum=10)
    rng = check_rng(rng)
    control = ArmStatistics.from_counts(rng.binomial(n, p_c, size=n_sims), n)
    treatment = ArmStatistics.from_counts(rng.binomial(n, p_t, size=n_sims), n)
    return _simulated_power(batch_compare_proportions(control, treatment, alpha=alpha), alpha, n)


def simulate_power_means(
    effect: float,
    sd: float,
    n_per_arm: int,
    alpha: float = 0.05,
    n_sims: int = 10_000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Power of Welch's t-test for normal outcomes by vectorised simulation.

    Uses the exact sampling distributions of the arm mean (normal) and sample variance
    (scaled chi-square) instead of drawing every row, so any ``n_per_arm`` is cheap.

    Parameters
    ----------
    effect : float
        True difference in means (0: a type-I error study).
    sd : float
        Standard deviation of the outcome in both arms (positive).
    n_per_arm : int
        Units per arm (at least 2).
    alpha, n_sims, rng
        As :func:`simulate_power_proportions`.

    Returns
    -------
    Estimate
        As :func:`simulate_power_proportions`.

    Raises
    ------
    ValueError
        Naming the argument: a non-finite ``effect``, ``sd`` not positive,
        ``n_per_arm < 2``, ``n_sims < 10``, bad ``alpha`` or ``rng``.
    """
    effect = check_finite_number(effect, "effect")
    sd = check_positive(sd, "sd")
    n = check_integer(n_per_arm, "n_per_arm", minimum=2)
    alpha = check_alpha(alpha)
    n_sims = check_integer(n_sims, "n_sims", minimum=10)
    rng = check_rng(rng)
    mean_c = rng.normal(0.0, sd / math.sqrt(n), size=n_sims)
    mean_t = rng.normal(effect, sd / math.sqrt(n), size=n_sims)
    var_c = sd**2 * rng.chisquare(n - 1, size=n_sims) / (n - 1)
    var_t = sd**2 * rng.chisquare(n - 1, size=n_sims) / (n - 1)
    estimate, se, df = welch(n, mean_c, var_c, n, mean_t, var_t)
    results = Estimates.from_standard_errors("welch", estimate, se, alpha=alpha, df=df)
    return _simulated_power(results, alpha, n)
