"""A/B users with known potential outcomes (the foundations chapter).

:func:`simulate_ab_users` draws one row per user with both potential outcomes, a pre-period
covariate, strata, conversions, revenue and pageviews/clicks (a ratio metric), and returns
the truth (:class:`ABUsersTruth`) beside them, so every estimator can be checked against
it. :func:`simulate_clicks_pageviews` draws many experiments at once (arrays of shape
``(n_sims, n_users)``) for coverage studies of ratio metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from playbook_lib.validation import (
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = ["ABUsersTruth", "simulate_ab_users", "simulate_clicks_pageviews"]


@dataclass(frozen=True)
class ABUsersTruth:
    """The effects behind a :func:`simulate_ab_users` draw.

    Attributes
    ----------
    conversion_ate : float
        Population average effect on conversion, ``mean(p1 - p0)`` over the users'
        conversion probabilities.
    sample_conversion_ate : float
        The sample's average effect, ``mean(converted_1 - converted_0)`` (needs both
        potential outcomes).
    sample_revenue_ate : float
        The sample's average effect on revenue, ``mean(revenue_1 - revenue_0)``.
    ctr_lift : float
        The absolute lift in each treated user's click-through rate (before clipping).
    """

    conversion_ate: float
    sample_conversion_ate: float
    sample_revenue_ate: float
    ctr_lift: float


def simulate_ab_users(
    n_users: int = 20_000,
    baseline_conversion: float = 0.10,
    conversion_lift: float = 0.01,
    ctr: float = 0.05,
    ctr_lift: float = 0.0,
    treatment_share: float = 0.5,
    n_strata: int = 4,
    n_days: int = 14,
    rng: np.random.Generator | int | None = None,
) -> tuple[pd.DataFrame, ABUsersTruth]:
    """Simulate a user-randomised A/B test with both potential outcomes recorded.

    Model (per user ``i``):

    - ``stratum`` in ``0 .. n_strata - 1`` (e.g. platform x new/returning), with its own
      baseline log-odds of converting; ``day`` of first exposure in ``0 .. n_days - 1``
      (weekends convert a little less).
    - engagement ``u_i ~ LogNormal(0, 0.5)`` drives the **pre-period** pageviews
      ``pre_pageviews ~ Poisson(7 u_i)`` and the experiment's pageviews ``1 + Poisson(4 u_i)``.
    - conversion probability without treatment ``p0_i = expit(logit(baseline) + stratum
      effect + day effect + 0.6 log u_i)``, recentred so the mean of ``p0`` is
      ``baseline_conversion``; with treatment ``p1_i = min(p0_i + conversion_lift, 1)``.
      One uniform per user gives both potential outcomes ``converted_0 = U < p0``,
      ``converted_1 = U < p1``.
    - revenue: a converted user spends ``LogNormal(3, 1)`` (heavy right tail), the same
      amount in both worlds.
    - clicks: each user has a personal click-through rate ``Beta`` around ``ctr``
      (``+ ctr_lift`` if treated), so a user's pageviews are correlated trials.
    - assignment: Bernoulli(``treatment_share``), independent of everything above.

    Parameters
    ----------
    n_users : int
        Number of users (>= 10).
    baseline_conversion : float
        Mean conversion probability under control, in (0, 1).
    conversion_lift : float
        Absolute increase in each user's conversion probability under treatment.
    ctr, ctr_lift : float
        Mean click-through rate per pageview under control, and its absolute lift.
    treatment_share : float
        Probability of assignment to treatment, in (0, 1).
    n_strata, n_days : int
        Number of strata (>= 1) and of exposure days (>= 1).
    rng : numpy.random.Generator, int or None
        Seed or generator.

    Returns
    -------
    data : pandas.DataFrame
        Columns ``user_id`` (str), ``stratum`` (int), ``day`` (int), ``treatment``
        (0/1), ``pre_pageviews`` (int), ``converted_0``, ``converted_1`` (potential
        outcomes, 0/1), ``converted`` (observed), ``revenue_0``, ``revenue_1``,
        ``revenue``, ``pageviews``, ``clicks``.
    truth : ABUsersTruth
        ``conversion_ate`` (population, ``mean(p1 - p0)``), ``sample_conversion_ate``
        (``mean(converted_1 - converted_0)``), ``sample_revenue_ate`` and ``ctr_lift``.

    Raises
    ------
    ValueError
        Naming the argument, for out-of-range inputs.
    """
    n_users = check_integer(n_users, "n_users", minimum=10)
    baseline = check_probability(
        baseline_conversion, "baseline_conversion", allow_zero=False, allow_one=False
    )
    lift = check_finite_number(conversion_lift, "conversion_lift")
    if not -baseline < lift < 1 - baseline:
        raise ValueError("conversion_lift must keep the conversion rate inside (0, 1)")
    ctr = check_probability(ctr, "ctr", allow_zero=False, allow_one=False)
    ctr_lift = check_finite_number(ctr_lift, "ctr_lift")
    if not 0 < ctr + ctr_lift < 1:
        raise ValueError("ctr_lift must keep ctr + ctr_lift inside (0, 1)")
    treatment_share = check_probability(
        treatment_share, "treatment_share", allow_zero=False, allow_one=False
    )
    n_strata = check_integer(n_strata, "n_strata", minimum=1)
    n_days = check_integer(n_days, "n_days", minimum=1)
    rng = check_rng(rng)

    stratum = rng.integers(0, n_strata, size=n_users)
    stratum_effect = np.linspace(-0.6, 0.6, n_strata) if n_strata > 1 else np.zeros(1)
    day = rng.integers(0, n_days, size=n_users)
    day_effect = np.where(np.isin(day % 7, (5, 6)), -0.15, 0.0)
    engagement = rng.lognormal(0.0, 0.5, size=n_users)
    pre_pageviews = rng.poisson(7.0 * engagement)
    log_odds = stratum_effect[stratum] + day_effect + 0.6 * np.log(engagement)
    # Recentre the intercept so the average control probability equals the baseline.
    intercept = optimize.brentq(
        lambda c: special.expit(c + log_odds).mean() - baseline, -30.0, 30.0, xtol=1e-12
    )
    p0 = special.expit(intercept + log_odds)
    p1 = np.clip(p0 + lift, 0.0, 1.0)
    uniform = rng.random(n_users)
    converted_0 = (uniform < p0).astype(np.int64)
    converted_1 = (uniform < p1).astype(np.int64)
    amount = rng.lognormal(3.0, 1.0, size=n_users)
    treatment = (rng.random(n_users) < treatment_share).astype(np.int64)
    pageviews = 1 + rng.poisson(4.0 * engagement)
    concentration = 20.0
    user_ctr = rng.beta(ctr * concentration, (1 - ctr) * concentration, size=n_users)
    user_ctr = np.clip(user_ctr + ctr_lift * treatment, 0.0, 1.0)
    clicks = rng.binomial(pageviews, user_ctr)
    converted = np.where(treatment == 1, converted_1, converted_0)
    data = pd.DataFrame(
        {
            "user_id": [f"u{index:07d}" for index in range(n_users)],
            "stratum": stratum,
            "day": day,
            "treatment": treatment,
            "pre_pageviews": pre_pageviews,
            "converted_0": converted_0,
            "converted_1": converted_1,
            "converted": converted,
            "revenue_0": converted_0 * amount,
            "revenue_1": converted_1 * amount,
            "revenue": converted * amount,
            "pageviews": pageviews,
            "clicks": clicks,
        }
    )
    truth = ABUsersTruth(
        conversion_ate=float(np.mean(p1 - p0)),
        sample_conversion_ate=float(np.mean(converted_1 - converted_0)),
        sample_revenue_ate=float(np.mean((converted_1 - converted_0) * amount)),
        ctr_lift=float(ctr_lift),
    )
    return data, truth


def simulate_clicks_pageviews(
    n_sims: int,
    n_users_per_arm: int,
    ctr: float = 0.05,
    ctr_lift: float = 0.0,
    mean_pageviews: float = 5.0,
    concentration: float = 5.0,
    rng: np.random.Generator | int | None = None,
) -> dict[str, np.ndarray]:
    """Many user-randomised experiments on clicks per pageview, as arrays.

    Each user has ``1 + Poisson(mean_pageviews - 1)`` pageviews and a personal
    click-through rate ``Beta(ctr * concentration, (1 - ctr) * concentration)`` (plus
    ``ctr_lift`` in treatment, clipped to [0, 1]), so the true difference in clicks per
    pageview is ``ctr_lift`` (exactly when ``ctr_lift = 0``; up to the rare clipping
    otherwise) while clicks of one user are positively correlated (small
    ``concentration`` means strong correlation).

    Returns
    -------
    dict of numpy.ndarray
        ``pageviews_control``, ``clicks_control``, ``pageviews_treatment``,
        ``clicks_treatment``, each of shape ``(n_sims, n_users_per_arm)``.

    Raises
    ------
    ValueError
        Naming the argument, for out-of-range inputs.
    """
    n_sims = check_integer(n_sims, "n_sims", minimum=1)
    n_users = check_integer(n_users_per_arm, "n_users_per_arm", minimum=2)
    ctr = check_probability(ctr, "ctr", allow_zero=False, allow_one=False)
    ctr_lift = check_finite_number(ctr_lift, "ctr_lift")
    if not 0 < ctr + ctr_lift < 1:
        raise ValueError("ctr_lift must keep ctr + ctr_lift inside (0, 1)")
    mean_pageviews = check_positive(mean_pageviews, "mean_pageviews")
    if mean_pageviews < 1:
        raise ValueError("mean_pageviews must be at least 1")
    concentration = check_positive(concentration, "concentration")
    rng = check_rng(rng)
    shape = (n_sims, n_users)
    out = {}
    for arm, lift in (("control", 0.0), ("treatment", float(ctr_lift))):
        pageviews = 1 + rng.poisson(mean_pageviews - 1, size=shape)
        user_ctr = rng.beta(ctr * concentration, (1 - ctr) * concentration, size=shape)
        # Shift the rate but keep it a probability (clipping is rare for small lifts).
        user_ctr = np.clip(user_ctr + lift, 0.0, 1.0)
        out[f"pageviews_{arm}"] = pageviews
        out[f"clicks_{arm}"] = rng.binomial(pageviews, user_ctr)
    return out
