"""Bayesian decisions: normal posteriors, priors from past experiments, expected loss, EVSI.

- :func:`normal_posterior`: the conjugate normal posterior of an effect;
- :func:`fit_prior_from_past_experiments`: a normal prior learnt from past experiments
  (a :class:`NormalPrior`, whose :meth:`~NormalPrior.posterior` applies it);
- :func:`expected_loss`, :func:`expected_loss_from_draws`: the expected losses of
  shipping and of keeping control, and the probability to beat control;
- :func:`bayesian_decision`: ship, hold or roll back with a threshold of caring;
- :func:`expected_value_of_sample_information`: is one more week of data worth it?
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib.decisions._checks import as_scalar_or_vector, direction_sign, usable_se
from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_finite_number,
    check_positive,
)

__all__ = [
    "NormalPrior",
    "bayesian_decision",
    "expected_loss",
    "expected_loss_from_draws",
    "expected_value_of_sample_information",
    "fit_prior_from_past_experiments",
    "normal_posterior",
]


def normal_posterior(
    estimate: Estimate,
    prior_mean: float = 0.0,
    prior_sd: float | None = None,
    *,
    alpha: float | None = None,
) -> Estimate:
    """Conjugate normal posterior of an effect given its estimate and a normal prior.

    With likelihood ``estimate ~ N(effect, se^2)`` and prior ``effect ~ N(m, tau^2)`` the
    posterior is normal with precision ``1/se^2 + 1/tau^2`` and mean
    ``(m/tau^2 + estimate/se^2) / precision`` (Gelman et al. 2013, ch. 2). ``prior_sd=None``
    is the flat prior (posterior = ``N(estimate, se^2)``).

    Returns
    -------
    Estimate
        Method ``"normal posterior"``: mean, posterior sd as ``se``, equal-tailed credible
        interval; ``details`` holds ``prior_mean``, ``prior_sd``, ``shrinkage`` (the weight on
        the prior mean) and ``probability_positive``.

    Raises
    ------
    ValueError
        If ``estimate`` is not an :class:`~playbook_lib.Estimate` with a finite positive ``se``,
        ``prior_mean`` is not a finite number, ``prior_sd`` is not a positive finite
        number or ``alpha`` is not in (0, 1).
    """
    se = usable_se(estimate, "estimate")
    prior_mean = check_finite_number(prior_mean, "prior_mean")
    alpha = estimate.alpha if alpha is None else check_alpha(alpha)
    if prior_sd is None:
        mean, sd, shrinkage = estimate.estimate, se, 0.0
    else:
        prior_sd = check_positive(prior_sd, "prior_sd")
        # shrinkage = se^2 / (se^2 + tau^2), written with ratios so it cannot overflow
        ratio = se / prior_sd
        shrinkage = ratio**2 / (1.0 + ratio**2) if ratio <= 1 else 1.0 / (1.0 + ratio**-2)
        mean = shrinkage * prior_mean + (1 - shrinkage) * estimate.estimate
        sd = se * prior_sd / math.hypot(se, prior_sd)
    posterior = Estimate.from_standard_error(
        "normal posterior",
        mean,
        sd,
        alpha=alpha,
        details={
            "prior_mean": prior_mean,
            "prior_sd": prior_sd,
            "shrinkage": shrinkage,
            "probability_positive": float(stats.norm.sf(-mean / sd)),
        },
    )
    return replace(posterior, p_value=None)


@dataclass(frozen=True)
class NormalPrior:
    """A normal prior ``N(mean, sd^2)`` for effects (see :func:`fit_prior_from_past_experiments`).

    Attributes
    ----------
    mean : float
        The prior mean (the typical past effect).
    sd : float
        The prior standard deviation ``tau`` (the spread of true effects); 0 when the past
        estimates vary no more than their noise.
    n_experiments : int
        How many past experiments it was fitted on.
    """

    mean: float
    sd: float
    n_experiments: int

    def posterior(self, estimate: Estimate, *, alpha: float | None = None) -> Estimate:
        """The posterior of ``estimate``'s effect under this prior (:func:`normal_posterior`).

        Raises
        ------
        ValueError
            As :func:`normal_posterior`; also if this prior's ``sd`` is 0 (a point-mass
            prior leaves nothing for the data to say).
        """
        return normal_posterior(estimate, self.mean, self.sd, alpha=alpha)

    def to_frame(self) -> pd.DataFrame:
        """A one-row table: ``prior_mean``, ``prior_sd`` and ``n_experiments``."""
        return pd.DataFrame(
            [{"prior_mean": self.mean, "prior_sd": self.sd, "n_experiments": self.n_experiments}]
        )


def fit_prior_from_past_experiments(effects: Any, ses: Any) -> NormalPrior:
    """A normal prior for effects from past experiments' estimates (method of moments).

    Past estimates ``y_j ~ N(theta_j, s_j^2)`` with ``theta_j ~ N(mu, tau^2)`` give
    ``mu = mean(y)`` and ``tau^2 = max(0, var(y) - mean(s^2))``: the spread of estimates
    minus the part that is noise (Morris 1983; Deng 2015 for online experiments). Assumes
    the past experiments are exchangeable with the new one and their estimates independent.

    Parameters
    ----------
    effects : array-like
        The past experiments' estimated effects, in the metric's units.
    ses : array-like
        Their standard errors (> 0), one per effect.

    Returns
    -------
    NormalPrior
        ``mean``, ``sd`` (``tau``) and ``n_experiments``. When the estimates vary less than
        their noise alone would make them, ``sd`` is 0 (the prior says every experiment
        had the same effect).

    Raises
    ------
    ValueError
        If ``effects`` or ``ses`` is not a 1-D array of finite numbers, fewer than three
        experiments are given, lengths differ or an se is not positive.
    """
    effects = as_float_array(effects, "effects", min_size=3)
    ses = as_float_array(ses, "ses", min_size=3)
    if effects.shape != ses.shape:
        raise ValueError(f"ses must match effects in length, got {ses.size} vs {effects.size}")
    if np.any(ses <= 0):
        raise ValueError("ses must be positive")
    tau_squared = max(0.0, float(np.var(effects, ddof=1) - np.mean(ses**2)))
    return NormalPrior(float(np.mean(effects)), math.sqrt(tau_squared), int(effects.size))


def expected_loss(mean: Any, sd: Any, direction: str = "higher_is_better") -> pd.DataFrame:
    """Expected losses of shipping and of keeping control, for a normal posterior of the effect.

    With ``Delta ~ N(mu, sigma^2)`` (in the good direction), shipping loses ``max(0, -Delta)``
    and keeping control loses ``max(0, Delta)``:

    ``E[max(0, -Delta)] = sigma phi(mu/sigma) - mu Phi(-mu/sigma)``,
    ``E[max(0, Delta)] = sigma phi(mu/sigma) + mu Phi(mu/sigma)``.

    Their difference is ``mu``. (Berger 1985 for the decision theory; the "threshold of
    caring" rule of :func:`bayesian_decision` ships when the first is below a threshold.)

    Parameters
    ----------
    mean, sd : float or 1-D array-like
        Posterior mean and standard deviation (> 0) of the effect; arrays of equal length,
        or one of them a scalar.
    direction : {"higher_is_better", "lower_is_better"}

    Returns
    -------
    pandas.DataFrame
        Columns ``mean``, ``sd``, ``probability_beats_control`` (``Phi(mu/sigma)``),
        ``loss_if_ship`` and ``loss_if_keep``; one row per element of the broadcast inputs.

    Raises
    ------
    ValueError
        If ``mean`` or ``sd`` is not a finite number or 1-D array, an ``sd`` is not
        positive, their lengths differ (neither being a scalar) or ``direction`` is unknown.
    """
    sign = direction_sign(direction)
    mean = sign * as_scalar_or_vector(mean, "mean")
    sd = as_scalar_or_vector(sd, "sd")
    if np.any(sd <= 0):
        raise ValueError("sd must be positive")
    if mean.size != sd.size and 1 not in (mean.size, sd.size):
        raise ValueError(
            f"mean and sd must have equal lengths (or one be a scalar), got "
            f"{mean.size} and {sd.size}"
        )
    mean, sd = np.broadcast_arrays(mean, sd)
    ratio = mean / sd
    density = stats.norm.pdf(ratio)
    return pd.DataFrame(
        {
            "mean": mean,
            "sd": sd,
            "probability_beats_control": stats.norm.cdf(ratio),
            "loss_if_ship": sd * density - mean * stats.norm.cdf(-ratio),
            "loss_if_keep": sd * density + mean * stats.norm.cdf(ratio),
        }
    )


def expected_loss_from_draws(draws: Any, direction: str = "higher_is_better") -> dict[str, float]:
    """Expected losses and P(beat control) from posterior draws of the effect (any posterior).

    Returns ``probability_beats_control``, ``loss_if_ship`` (mean of ``max(0, -Delta)``)
    and ``loss_if_keep`` (mean of ``max(0, Delta)``), ``Delta`` oriented to the good direction.

    Raises
    ------
    ValueError
        If ``draws`` is not a 1-D array of at least two finite numbers or ``direction`` is
        unknown.
    """
    draws = direction_sign(direction) * as_float_array(draws, "draws", min_size=2)
    return {
        "probability_beats_control": float(np.mean(draws > 0)),
        "loss_if_ship": float(np.mean(np.maximum(0.0, -draws))),
        "loss_if_keep": float(np.mean(np.maximum(0.0, draws))),
    }


def bayesian_decision(
    estimate: Estimate,
    threshold_of_caring: float,
    *,
    prior_mean: float = 0.0,
    prior_sd: float | None = None,
    direction: str = "higher_is_better",
) -> dict[str, Any]:
    """Expected-loss decision with a threshold of caring, from a normal posterior.

    Ship when the expected loss of shipping is below ``threshold_of_caring`` (and below
    that of keeping control); keep control ("roll back") when the expected loss of keeping
    it is below the threshold; otherwise "hold" (keep collecting). The threshold is in the
    metric's units: the loss per unit you would not care about.

    Returns
    -------
    dict
        ``action``, the posterior (an Estimate), ``probability_beats_control``,
        ``loss_if_ship`` and ``loss_if_keep``.

    Raises
    ------
    ValueError
        If ``estimate`` is not an :class:`~playbook_lib.Estimate` with a finite positive ``se``,
        ``threshold_of_caring`` or ``prior_sd`` is not positive, ``prior_mean`` is not
        finite or ``direction`` is unknown.
    """
    usable_se(estimate, "estimate")
    threshold_of_caring = check_positive(threshold_of_caring, "threshold_of_caring")
    direction_sign(direction)
    posterior = normal_posterior(estimate, prior_mean, prior_sd)
    losses = expected_loss(posterior.estimate, posterior.se, direction).iloc[0]
    ship_loss, keep_loss = float(losses["loss_if_ship"]), float(losses["loss_if_keep"])
    if ship_loss < threshold_of_caring and ship_loss <= keep_loss:
        action = "ship"
    elif keep_loss < threshold_of_caring:
        action = "roll back"
    else:
        action = "hold"
    return {
        "action": action,
        "posterior": posterior,
        "probability_beats_control": float(losses["probability_beats_control"]),
        "loss_if_ship": ship_loss,
        "loss_if_keep": keep_loss,
    }


def expected_value_of_sample_information(
    mean: float,
    sd: float,
    additional_se: float,
    *,
    threshold: float = 0.0,
    value_per_unit: float = 1.0,
) -> dict[str, float]:
    """Expected value of sample information (EVSI) of more data before a ship decision.

    Now: effect ``Delta ~ N(mu, sigma^2)``; shipping pays ``value_per_unit * (Delta - c)``
    with ``c = threshold``, not shipping pays 0. More data gives an extra estimate with
    standard error ``s_new``; the posterior mean after it is, before seeing it,
    ``N(mu, sigma_pre^2)`` with ``sigma_pre^2 = sigma^2 - sigma_post^2`` and
    ``1/sigma_post^2 = 1/sigma^2 + 1/s_new^2`` (preposterior analysis, Raiffa & Schlaifer
    1961). With ``d = mu - c``:

    ``EVSI = value_per_unit * (sigma_pre phi(d/sigma_pre) + d Phi(d/sigma_pre) - max(0, d))``.

    Run the extra week if the EVSI exceeds its cost (delay, exposure, opportunity).

    ``sigma_pre = sigma^2 / sqrt(sigma^2 + s_new^2)`` is computed in that form, so it stays
    accurate when the extra data are much noisier than the current posterior; when it is
    0 to machine precision the extra data cannot change the decision and the EVSI is 0.

    Returns
    -------
    dict
        ``evsi``, ``value_now`` (``value_per_unit * max(0, d)``), ``value_after`` and
        ``preposterior_sd``.

    Raises
    ------
    ValueError
        If ``mean`` or ``threshold`` is not a finite number, or ``sd``,
        ``additional_se`` or ``value_per_unit`` is not a positive finite number.
    """
    mean = check_finite_number(mean, "mean")
    sd = check_positive(sd, "sd")
    additional_se = check_positive(additional_se, "additional_se")
    threshold = check_finite_number(threshold, "threshold")
    value_per_unit = check_positive(value_per_unit, "value_per_unit")
    preposterior_sd = sd * (sd / math.hypot(sd, additional_se))
    gap = mean - threshold
    value_now = max(0.0, gap)
    if preposterior_sd > 0:
        ratio = gap / preposterior_sd
        with np.errstate(over="ignore", under="ignore"):  # phi(huge) is 0, as it should be
            value_after = preposterior_sd * stats.norm.pdf(ratio) + gap * stats.norm.cdf(ratio)
        value_after = max(float(value_after), value_now)  # EVSI >= 0; guards round-off
    else:
        value_after = value_now
    return {
        "evsi": value_per_unit * (value_after - value_now),
        "value_now": value_per_unit * value_now,
        "value_after": value_per_unit * value_after,
        "preposterior_sd": preposterior_sd,
    }
