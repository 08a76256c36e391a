"""The Bayesian view of a conversion test: Beta-Binomial posteriors, the exact posterior
probability that the treatment is better, and a credible interval for the difference."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import integrate, optimize, stats

from playbook_lib.results import Estimate
from playbook_lib.validation import check_alpha, check_counts, check_positive

__all__ = ["estimate_beta_binomial", "probability_treatment_better"]


def _beta_parameters(
    successes_control: int,
    n_control: int,
    successes_treatment: int,
    n_treatment: int,
    prior_alpha: float,
    prior_beta: float,
) -> tuple[float, float, float, float]:
    s_c, n_c = check_counts(successes_control, n_control, "successes_control", "n_control")
    s_t, n_t = check_counts(successes_treatment, n_treatment, "successes_treatment", "n_treatment")
    a0 = check_positive(prior_alpha, "prior_alpha")
    b0 = check_positive(prior_beta, "prior_beta")
    return a0 + s_c, b0 + n_c - s_c, a0 + s_t, b0 + n_t - s_t


_GAUSS_NODES, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(20)


def _difference_cdf(value: float, a_c: float, b_c: float, a_t: float, b_t: float) -> float:
    """P(p_t - p_c <= value), one 1-D integral over the narrower of the two posteriors.

    ``integral f_c(x) F_t(x + value) dx`` over the control posterior, or
    ``integral f_t(y) S_c(y - value) dy`` over the treatment posterior when it is the
    narrower one: the other posterior's CDF is then smooth on the integration grid (over
    the wider one, a much narrower posterior's CDF is a near-step inside one panel, e.g.
    30/100 against 3,000,000/10,000,000 erred by 7e-4).
    """
    control = stats.beta(a_c, b_c)
    treatment = stats.beta(a_t, b_t)
    if treatment.std() < control.std():
        return _expectation(treatment, a_t, b_t, lambda y: control.sf(np.clip(y - value, 0, 1)))
    return _expectation(control, a_c, b_c, lambda x: treatment.cdf(np.clip(x + value, 0, 1)))


def _expectation(density: Any, a: float, b: float, function: Callable[[Any], Any]) -> float:
    """``E[function(X)]`` for ``X ~ Beta(a, b)`` (``density``), a probability in [0, 1].

    Composite Gauss-Legendre quadrature (64 panels x 20 nodes) over the central
    ``1 - 2e-13`` of the density when it is bounded (both parameters >= 1); otherwise
    adaptive :func:`scipy.integrate.quad`, which copes with the integrable singularity at 0
    or 1.
    """
    low, high = density.ppf(1e-13), density.isf(1e-13)
    if a >= 1 and b >= 1:
        edges = np.linspace(low, high, 65)
        half = np.diff(edges)[:, None] / 2
        x = (edges[:-1, None] + half) + half * _GAUSS_NODES[None, :]
        result = float(np.sum(half * _GAUSS_WEIGHTS[None, :] * density.pdf(x) * function(x)))
    else:
        points = [density.ppf(q) for q in (1e-4, 0.05, 0.5, 0.95, 1 - 1e-4)]
        result, _ = integrate.quad(
            lambda x: float(density.pdf(x) * function(x)),
            low,
            high,
            points=points,
            limit=200,
            epsabs=1e-13,
        )
    return float(min(max(result, 0.0), 1.0))


def probability_treatment_better(
    successes_control: int,
    n_control: int,
    successes_treatment: int,
    n_treatment: int,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
) -> float:
    """Posterior ``P(p_treatment > p_control)`` under independent Beta priors, exactly.

    With a ``Beta(prior_alpha, prior_beta)`` prior per arm the posteriors are
    ``Beta(prior_alpha + successes, prior_beta + failures)`` and
    ``P(p_t > p_c) = 1 - integral f_c(x) F_t(x) dx``, computed by 1-D quadrature over
    the narrower posterior's support (composite Gauss-Legendre, or adaptive
    :func:`scipy.integrate.quad` when that density is unbounded)
    (Gelman et al. 2013). No Monte Carlo error: it agrees with the closed-form sum for
    integer parameters (Miller's formula) to about 1e-9 in absolute terms.

    It is a probability about the **parameters given this model and prior**, not the
    probability that shipping is a good decision, nor a p-value.

    Parameters
    ----------
    successes_control, n_control, successes_treatment, n_treatment : int
        Conversions and users per arm (``0 <= successes <= n``, ``n >= 1``).
    prior_alpha, prior_beta : float
        The Beta prior of each arm's conversion rate (positive; 1, 1 is uniform).

    Returns
    -------
    float
        The posterior probability, in [0, 1].

    Raises
    ------
    ValueError
        Naming the argument for counts above ``n``, negative or non-integer, ``n < 1``,
        or non-positive prior parameters.
    """
    a_c, b_c, a_t, b_t = _beta_parameters(
        successes_control, n_control, successes_treatment, n_treatment, prior_alpha, prior_beta
    )
    return 1.0 - _difference_cdf(0.0, a_c, b_c, a_t, b_t)


def estimate_beta_binomial(
    successes_control: int,
    n_control: int,
    successes_treatment: int,
    n_treatment: int,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    alpha: float = 0.05,
) -> Estimate:
    """Beta-Binomial posterior summary of ``p_treatment - p_control``.

    Parameters
    ----------
    successes_control, n_control, successes_treatment, n_treatment, prior_alpha, prior_beta
        As :func:`probability_treatment_better`.
    alpha : float
        One minus the credible interval's probability.

    Returns
    -------
    Estimate
        ``method="beta-binomial"``: posterior mean and standard deviation of the
        difference (exact), an equal-tailed ``1 - alpha`` credible interval from the exact
        posterior CDF of the difference (1-D quadrature, root-finding), and
        ``details["probability_treatment_better"]``.

    Raises
    ------
    ValueError
        As :func:`probability_treatment_better`.
    """
    alpha = check_alpha(alpha)
    a_c, b_c, a_t, b_t = _beta_parameters(
        successes_control, n_control, successes_treatment, n_treatment, prior_alpha, prior_beta
    )
    control, treatment = stats.beta(a_c, b_c), stats.beta(a_t, b_t)
    mean = float(treatment.mean() - control.mean())
    sd = float(math.sqrt(treatment.var() + control.var()))

    def quantile(q: float) -> float:
        low, high = mean - 12 * sd, mean + 12 * sd
        low, high = max(low, -1.0), min(high, 1.0)
        return float(
            optimize.brentq(
                lambda d: _difference_cdf(d, a_c, b_c, a_t, b_t) - q, low, high, xtol=1e-10
            )
        )

    return Estimate(
        method="beta-binomial",
        estimate=mean,
        se=sd,
        ci_low=quantile(alpha / 2),
        ci_high=quantile(1 - alpha / 2),
        alpha=alpha,
        details={
            "probability_treatment_better": 1.0 - _difference_cdf(0.0, a_c, b_c, a_t, b_t),
            "posterior_control": (a_c, b_c),
            "posterior_treatment": (a_t, b_t),
        },
    )
