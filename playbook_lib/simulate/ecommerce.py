"""A realistic simulated e-commerce experiment with known truth (CUPED chapter).

The model (per user, all draws independent across users):

- ``platform`` is 1 (app) with probability 0.4, else 0 (web); ``tenure_weeks`` is 0 for new
  users (a share ``new_user_share`` without any pre-period history) and otherwise
  ``5 + Gamma(1.5, 40)`` weeks.
- Weekly session rate ``rate = LogNormal(log 2.5, 0.9) × (1.6 if app) × (0.7 if new)``;
  conversion per session ``q ~ Beta(3, 30)``; mean order value ``LogNormal(log 35, 0.6)``
  with order values Gamma(shape 2) around it: heavy right tails.
- Pre-period (``weeks_pre`` weeks, returning users only): orders ``Poisson(rate ×
  weeks_pre × q)``, sessions = orders + ``Poisson(rate × weeks_pre × (1 - q))``, spend the
  sum of the order values.
- Churn: a user is *lapsing* with probability ``0.5 / (1 + tenure_weeks / 20)``. A
  lapsing returning user was active only during the first share ``u ~ Uniform(0.2, 0.9)``
  of the pre-period (pre-period counts use ``rate × weeks_pre × u``) and has not visited
  for ``days_since_last_visit = 7 weeks_pre (1 - u)`` days; other returning users'
  ``days_since_last_visit`` is ``Exponential(7 / rate)`` days, capped at ``7 weeks_pre``.
  Lapsing users do not come back during the experiment (rate 0). The churn signal is a
  non-linear interaction of recency and pre-period spend: what CUPAC can learn.
- Experiment (``weeks`` weeks): the rate of active users drifts,
  ``rate × exp(N(-0.3²/2, 0.3²))``. Control
  outcomes as in the pre-period. Treatment adds ``Poisson(rate_now × q × L)`` ordering
  sessions with ``L = (1 + conversion_lift)(1 + session_lift) - 1`` and
  ``Poisson(rate_now × session_lift × (1 - q))`` non-ordering sessions, so orders scale by
  ``1 + L`` and both potential outcomes of every user are coupled draws
  (``spend_if_treated >= spend_if_control``).

Truth: the population average effect on spend has a closed form (see
:func:`ecommerce_true_effect`); :func:`simulate_ecommerce_experiment` returns it with the
sample's average effects (from the potential-outcome columns) as an :class:`EcommerceTruth`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.validation import (
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = [
    "EcommerceTruth",
    "ecommerce_true_effect",
    "simulate_daily_conversion_experiment",
    "simulate_ecommerce_arrays",
    "simulate_ecommerce_experiment",
    "simulate_pre_post_metrics",
]

_RATE_LOG_MEAN = math.log(2.5)
_RATE_LOG_SD = 0.9
_APP_SHARE = 0.4
_APP_FACTOR = 1.6
_NEW_FACTOR = 0.7
_BETA_A, _BETA_B = 3.0, 30.0
_VALUE_LOG_MEAN = math.log(35.0)
_VALUE_LOG_SD = 0.6
_ORDER_SHAPE = 2.0
_DRIFT_SD = 0.3
_CHURN_MAX = 0.5
_CHURN_TENURE = 20.0
_TENURE_SHAPE, _TENURE_SCALE, _TENURE_MIN = 1.5, 40.0, 5.0


@dataclass(frozen=True)
class EcommerceTruth:
    """The known effects of one simulated e-commerce experiment.

    Attributes
    ----------
    effect_spend : float
        Population average effect on in-experiment spend (from
        :func:`ecommerce_true_effect`), currency units per user.
    sample_effect_spend : float
        This sample's average of ``spend_if_treated - spend_if_control``.
    sample_effect_sessions : float
        This sample's average of ``sessions_if_treated - sessions_if_control``.
    """

    effect_spend: float
    sample_effect_spend: float
    sample_effect_sessions: float


def _check_common(
    n_users: Any,
    new_user_share: Any,
    treated_fraction: Any,
    conversion_lift: Any,
    session_lift: Any,
    weeks: Any,
    weeks_pre: Any,
):
    n_users = check_integer(n_users, "n_users", minimum=4)
    check_probability(new_user_share, "new_user_share", allow_one=False)
    check_probability(treated_fraction, "treated_fraction", allow_zero=False, allow_one=False)
    check_positive(conversion_lift, "conversion_lift", strict=False)
    check_positive(session_lift, "session_lift", strict=False)
    check_positive(weeks, "weeks")
    check_positive(weeks_pre, "weeks_pre")
    return n_users


def ecommerce_true_effect(
    *,
    new_user_share: float = 0.2,
    conversion_lift: float = 0.04,
    session_lift: float = 0.0,
    weeks: float = 4.0,
) -> float:
    """The population average effect on in-experiment spend of the e-commerce model.

    ``E[spend_T - spend_C] = weeks × E[rate × (1 - churn)] × E[q] × E[order value] × L``
    with ``L = (1 + conversion_lift)(1 + session_lift) - 1``, using the independence of the user
    traits in the model (churn depends on tenure only, so it is averaged separately for new
    and returning users).

    Returns
    -------
    float
        Currency units per user.

    Raises
    ------
    ValueError
        Naming the argument: ``new_user_share`` outside [0, 1), a negative lift, or
        ``weeks`` not positive.
    """
    new_user_share = check_probability(new_user_share, "new_user_share", allow_one=False)
    conversion_lift = check_positive(conversion_lift, "conversion_lift", strict=False)
    session_lift = check_positive(session_lift, "session_lift", strict=False)
    weeks = check_positive(weeks, "weeks")
    mean_rate = math.exp(_RATE_LOG_MEAN + _RATE_LOG_SD**2 / 2) * (
        1 - _APP_SHARE + _APP_SHARE * _APP_FACTOR
    )
    # churn: new users have tenure 0 → churn probability _CHURN_MAX; returning users have
    # tenure 5 + Gamma(1.5, 40): average 1 / (1 + tenure / 20) by numerical integration.
    grid = np.linspace(0, 2000, 400_001)
    shape, scale = _TENURE_SHAPE, _TENURE_SCALE
    density = grid ** (shape - 1) * np.exp(-grid / scale) / (math.gamma(shape) * scale**shape)
    values = 1 / (1 + (_TENURE_MIN + grid) / _CHURN_TENURE)
    mean_inverse = float(
        np.sum((values * density)[1:] + (values * density)[:-1]) / 2 * (grid[1] - grid[0])
    )
    stay_returning = 1 - _CHURN_MAX * mean_inverse
    stay_new = 1 - _CHURN_MAX
    active = new_user_share * _NEW_FACTOR * stay_new + (1 - new_user_share) * stay_returning
    mean_q = _BETA_A / (_BETA_A + _BETA_B)
    mean_value = math.exp(_VALUE_LOG_MEAN + _VALUE_LOG_SD**2 / 2)
    lift = (1 + conversion_lift) * (1 + session_lift) - 1
    return float(weeks * mean_rate * active * mean_q * mean_value * lift)


def simulate_ecommerce_arrays(
    n_sims: int,
    n_users: int,
    *,
    new_user_share: float = 0.2,
    treated_fraction: float = 0.5,
    conversion_lift: float = 0.04,
    session_lift: float = 0.0,
    weeks: float = 4.0,
    weeks_pre: float = 8.0,
    rng: np.random.Generator | int | None = None,
) -> dict[str, np.ndarray]:
    """Many e-commerce experiments at once: arrays of shape ``(n_sims, n_users)``.

    Parameters
    ----------
    n_sims, n_users : int
        Number of experiments and users per experiment.
    new_user_share : float
        Share of users without pre-period history (their ``pre_*`` are NaN).
    treated_fraction : float
        Probability of assignment to treatment (independent Bernoulli per user).
    conversion_lift : float
        Relative lift (>= 0) of the conversion per session under treatment.
    session_lift : float
        Relative lift of the session rate under treatment (>= 0). In-experiment sessions
        are a post-treatment variable either way (extra orders come with their sessions).
    weeks, weeks_pre : float
        Length of the experiment and of the pre-period.
    rng : numpy.random.Generator, int or None
        Source of randomness.

    Returns
    -------
    dict of numpy.ndarray
        ``treatment`` (0/1), ``is_new_user`` (0/1), ``platform`` (1 = app),
        ``tenure_weeks``, ``pre_sessions``, ``pre_orders``, ``pre_spend``,
        ``days_since_last_visit`` (NaN for new users), ``sessions``, ``orders``,
        ``spend`` (observed), and the potential outcomes
        ``spend_if_control``, ``spend_if_treated``, ``sessions_if_control``,
        ``sessions_if_treated``.

    Raises
    ------
    ValueError
        Naming the argument on bad sizes or rates.
    """
    rng = check_rng(rng)
    n_sims = check_integer(n_sims, "n_sims", minimum=1)
    n_users = _check_common(
        n_users, new_user_share, treated_fraction, conversion_lift, session_lift, weeks, weeks_pre
    )
    shape = (n_sims, n_users)
    is_new = rng.random(shape) < new_user_share
    platform = (rng.random(shape) < _APP_SHARE).astype(float)
    tenure = np.where(is_new, 0.0, _TENURE_MIN + rng.gamma(_TENURE_SHAPE, _TENURE_SCALE, shape))
    rate = np.exp(rng.normal(_RATE_LOG_MEAN, _RATE_LOG_SD, shape))
    rate *= np.where(platform == 1, _APP_FACTOR, 1.0) * np.where(is_new, _NEW_FACTOR, 1.0)
    q = rng.beta(_BETA_A, _BETA_B, shape)
    value = np.exp(rng.normal(_VALUE_LOG_MEAN, _VALUE_LOG_SD, shape))
    order_scale = value / _ORDER_SHAPE

    # Poisson splitting: sessions with and without an order are independent Poissons, so
    # orders ~ Poisson(rate q) and sessions = orders + Poisson(rate (1 - q)) exactly.
    lapsing = rng.random(shape) < _CHURN_MAX / (1 + tenure / _CHURN_TENURE)
    active_share = np.where(lapsing, rng.uniform(0.2, 0.9, shape), 1.0)
    pre_days = 7.0 * weeks_pre
    recency = np.where(
        lapsing, pre_days * (1 - active_share), np.minimum(rng.exponential(7.0 / rate), pre_days)
    )
    pre_rate = rate * weeks_pre * active_share
    pre_orders = rng.poisson(pre_rate * q)
    pre_sessions = pre_orders + rng.poisson(pre_rate * (1 - q))
    pre_spend = rng.gamma(_ORDER_SHAPE * pre_orders, order_scale)
    nan = np.full(shape, np.nan)

    drift = np.exp(rng.normal(-(_DRIFT_SD**2) / 2, _DRIFT_SD, shape))
    rate_now = np.where(lapsing, 0.0, rate * drift) * weeks
    orders_c = rng.poisson(rate_now * q)
    sessions_c = orders_c + rng.poisson(rate_now * (1 - q))
    spend_c = rng.gamma(_ORDER_SHAPE * orders_c, order_scale)
    # treatment: every session converts with probability q (1 + conversion_lift), and
    # session_lift adds sessions; the extra orders and sessions are further independent
    # Poisson pieces, so both potential outcomes are coupled draws for the same user.
    extra_orders = rng.poisson(rate_now * q * ((1 + conversion_lift) * (1 + session_lift) - 1))
    extra_sessions = extra_orders + rng.poisson(rate_now * session_lift * (1 - q))
    spend_t = spend_c + rng.gamma(_ORDER_SHAPE * extra_orders, order_scale)
    sessions_t = sessions_c + extra_sessions
    orders_t = orders_c + extra_orders

    treated = rng.random(shape) < treated_fraction
    return {
        "treatment": treated.astype(float),
        "is_new_user": is_new.astype(float),
        "platform": platform,
        "tenure_weeks": tenure,
        "pre_sessions": np.where(is_new, nan, pre_sessions),
        "pre_orders": np.where(is_new, nan, pre_orders),
        "pre_spend": np.where(is_new, nan, pre_spend),
        "days_since_last_visit": np.where(is_new, nan, recency),
        "sessions": np.where(treated, sessions_t, sessions_c).astype(float),
        "orders": np.where(treated, orders_t, orders_c).astype(float),
        "spend": np.where(treated, spend_t, spend_c),
        "spend_if_control": spend_c,
        "spend_if_treated": spend_t,
        "sessions_if_control": sessions_c.astype(float),
        "sessions_if_treated": sessions_t.astype(float),
    }


def simulate_ecommerce_experiment(
    n_users: int = 20_000,
    *,
    new_user_share: float = 0.2,
    treated_fraction: float = 0.5,
    conversion_lift: float = 0.04,
    session_lift: float = 0.0,
    weeks: float = 4.0,
    weeks_pre: float = 8.0,
    rng: np.random.Generator | int | None = None,
) -> tuple[pd.DataFrame, EcommerceTruth]:
    """One simulated e-commerce experiment as a tidy user-level table, and its truth.

    Parameters are those of :func:`simulate_ecommerce_arrays` (one experiment).

    Returns
    -------
    data : pandas.DataFrame
        One row per user: ``user_id``, ``treatment`` (0/1), ``is_new_user`` (0/1),
        ``platform`` (1 = app, 0 = web), ``tenure_weeks``; pre-period ``pre_sessions``,
        ``pre_orders``, ``pre_spend``, ``days_since_last_visit`` (NaN for new users);
        in-experiment ``sessions``, ``orders``, ``spend`` (currency units); potential
        outcomes ``spend_if_control``, ``spend_if_treated``, ``sessions_if_control``,
        ``sessions_if_treated``.
    truth : EcommerceTruth
        ``effect_spend`` (population average effect, from :func:`ecommerce_true_effect`),
        ``sample_effect_spend`` and ``sample_effect_sessions`` (this sample's averages).

    Raises
    ------
    ValueError
        Naming the argument on bad sizes or rates.
    """
    arrays = simulate_ecommerce_arrays(
        1,
        n_users,
        new_user_share=new_user_share,
        treated_fraction=treated_fraction,
        conversion_lift=conversion_lift,
        session_lift=session_lift,
        weeks=weeks,
        weeks_pre=weeks_pre,
        rng=rng,
    )
    frame = pd.DataFrame({name: values[0] for name, values in arrays.items()})
    for column in ("treatment", "is_new_user", "platform"):
        frame[column] = frame[column].astype(int)
    frame.insert(0, "user_id", np.arange(n_users))
    truth = EcommerceTruth(
        effect_spend=ecommerce_true_effect(
            new_user_share=new_user_share,
            conversion_lift=conversion_lift,
            session_lift=session_lift,
            weeks=weeks,
        ),
        sample_effect_spend=float((frame["spend_if_treated"] - frame["spend_if_control"]).mean()),
        sample_effect_sessions=float(
            (frame["sessions_if_treated"] - frame["sessions_if_control"]).mean()
        ),
    )
    return frame, truth


def simulate_pre_post_metrics(
    n_sims: int,
    n_users: int,
    *,
    correlation: float,
    effect: float = 0.0,
    treated_fraction: float = 0.5,
    slope_difference: float = 0.0,
    covariate_mean: float = 0.0,
    rng: np.random.Generator | int | None = None,
) -> dict[str, np.ndarray]:
    """Gaussian pre/post metrics with an exact correlation: the textbook CUPED world.

    ``X ~ N(covariate_mean, 1)``; ``Y(0) = correlation (X - covariate_mean) +
    sqrt(1 - correlation²) e`` with ``e ~ N(0, 1)``; ``Y(1) = Y(0) + effect +
    slope_difference (X - covariate_mean)``. So ``corr(Y(0), X) = correlation`` and the
    average effect is exactly ``effect``; a non-zero ``slope_difference`` makes the slope on
    ``X`` differ between arms (heterogeneous effects).

    Parameters
    ----------
    n_sims, n_users : int
        Experiments (rows) and users per experiment (columns).
    correlation : float
        In [0, 1).
    effect : float
        Average treatment effect (in outcome standard deviations).
    treated_fraction : float
        Share treated; assignment is complete randomisation with exactly
        ``round(treated_fraction × n_users)`` treated users in every row.
    slope_difference : float
        Treatment-arm slope minus control-arm slope.
    covariate_mean : float
        Mean of the covariate (it does not change the effect).
    rng : numpy.random.Generator, int or None
        Source of randomness.

    Returns
    -------
    dict of numpy.ndarray
        ``covariate``, ``outcome`` and ``treatment`` (0/1), each ``(n_sims, n_users)``.

    Raises
    ------
    ValueError
        Naming the argument on bad sizes or a correlation outside [0, 1).
    """
    rng = check_rng(rng)
    n_sims = check_integer(n_sims, "n_sims", minimum=1)
    n_users = check_integer(n_users, "n_users", minimum=4)
    check_probability(correlation, "correlation", allow_one=False)
    check_probability(treated_fraction, "treated_fraction", allow_zero=False, allow_one=False)
    effect = check_finite_number(effect, "effect")
    slope_difference = check_finite_number(slope_difference, "slope_difference")
    covariate_mean = check_finite_number(covariate_mean, "covariate_mean")
    n_treated = int(round(treated_fraction * n_users))
    if not 2 <= n_treated <= n_users - 2:
        raise ValueError("treated_fraction leaves fewer than two users in an arm")
    centred = rng.standard_normal((n_sims, n_users))
    noise = rng.standard_normal((n_sims, n_users))
    outcome_control = correlation * centred + math.sqrt(1 - correlation**2) * noise
    treatment = (rng.random((n_sims, n_users)).argsort(axis=1) < n_treated).astype(float)
    outcome = outcome_control + treatment * (effect + slope_difference * centred)
    return {"covariate": centred + covariate_mean, "outcome": outcome, "treatment": treatment}


def simulate_daily_conversion_experiment(
    n_users: int = 40_000,
    *,
    n_days: int = 14,
    effect: float = 0.01,
    n_pre_visits: int = 10,
    rng: np.random.Generator | int | None = None,
) -> tuple[pd.DataFrame, float]:
    """A conversion experiment whose users arrive on different days (day-level swings).

    Each user arrives on a uniformly random day and is randomised 50/50. The conversion
    probability is ``clip(base_i + day_shift_d + effect × treatment, 0, 1)`` with a user
    propensity ``base_i ~ Beta(0.5, 3)`` (mean 0.14) and a day shift
    ``day_shift_d ~ N(0, 0.02²)``. ``pre_conversions`` counts the same user's conversions in
    ``n_pre_visits`` pre-period visits, ``Binomial(n_pre_visits, base_i)``: a genuine
    user-level pre-period covariate.

    Returns
    -------
    data : pandas.DataFrame
        ``user_id``, ``day`` (0..n_days-1), ``treatment`` (0/1), ``converted`` (0/1),
        ``pre_conversions`` (0..n_pre_visits).
    sample_effect : float
        The sample average effect on the conversion probability (``effect`` unless
        clipping at 0 or 1 binds).

    Raises
    ------
    ValueError
        Naming the argument on bad sizes.
    """
    rng = check_rng(rng)
    n_users = check_integer(n_users, "n_users", minimum=4)
    n_days = check_integer(n_days, "n_days", minimum=1)
    n_pre_visits = check_integer(n_pre_visits, "n_pre_visits", minimum=1)
    effect = check_finite_number(effect, "effect")
    check_probability(abs(effect), "effect")
    day = rng.integers(0, n_days, n_users)
    day_shift = rng.normal(0.0, 0.02, n_days)
    base = rng.beta(0.5, 3.0, n_users)
    treatment = (rng.random(n_users) < 0.5).astype(int)
    p_control = np.clip(base + day_shift[day], 0, 1)
    p_treated = np.clip(base + day_shift[day] + effect, 0, 1)
    uniform = rng.random(n_users)
    converted = np.where(treatment == 1, uniform < p_treated, uniform < p_control)
    frame = pd.DataFrame(
        {
            "user_id": np.arange(n_users),
            "day": day,
            "treatment": treatment,
            "converted": converted.astype(int),
            "pre_conversions": rng.binomial(n_pre_visits, base),
        }
    )
    return frame, float(np.mean(p_treated - p_control))
