"""Many small experiments with known truth: creator-level A/B tests and per-geo deltas.

Two generators of many small experiments, each with its truth:

- :func:`simulate_creator_experiments` runs the same A/B test on every creator of a
  platform. Creators belong to genres; the true effect of creator ``j`` in genre ``g`` is
  ``mean_effect + genre_effect_g + creator_deviation_j`` with normal genre and creator
  deviations, and creators have heavy-tailed audiences (log-normal, clipped to
  ``[min_users, max_users]``). It returns each creator's per-arm summary statistics
  (what a warehouse query gives) and the truth.
- :func:`simulate_geo_deltas` draws small geo tests (a pre and a post period of daily
  KPIs per geo, a multiplicative lift in treated geos) and
  returns each geo's pre/post change with its standard error and its true expected change.

Both can draw many replications at once (a ``replication`` column) so that calibration
studies need no Python loop over simulations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from playbook_lib.validation import (
    check_finite_number,
    check_flag,
    check_integer,
    check_positive,
    check_rng,
)

__all__ = [
    "GENRE_NAMES",
    "simulate_creator_experiments",
    "simulate_geo_deltas",
]

#: Names of the first genres; further genres are called ``genre_<k>``.
GENRE_NAMES: tuple[str, ...] = (
    "comedy",
    "music",
    "gaming",
    "education",
    "beauty",
    "sports",
    "cooking",
    "travel",
)


def _genre_names(n_genres: int) -> list[str]:
    return [GENRE_NAMES[k] if k < len(GENRE_NAMES) else f"genre_{k}" for k in range(n_genres)]


def simulate_creator_experiments(
    n_genres: int = 5,
    creators_per_genre: int = 100,
    *,
    mean_effect: float = 0.5,
    genre_sd: float = 0.3,
    creator_sd: float = 0.4,
    outcome_sd: float = 5.0,
    baseline_mean: float = 10.0,
    median_users: float = 200.0,
    users_log_sd: float = 1.2,
    min_users: int = 30,
    max_users: int = 5_000,
    n_regions: int = 5,
    n_replications: int = 1,
    redraw_truth: bool = True,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Simulate the same A/B test run on many creators, with each creator's true effect.

    Data-generating process, for creator ``j`` in genre ``g``:

    - true genre mean ``m_g = mean_effect + genre_sd * z_g`` and true effect
      ``theta_j = m_g + creator_sd * u_j`` with ``z_g, u_j ~ N(0, 1)``;
    - audience ``n_j``: log-normal with median ``median_users`` and log-sd
      ``users_log_sd``, rounded and clipped to ``[min_users, max_users]`` (heavy-tailed:
      many small creators, a few very large ones); users are randomised 50/50, so
      ``n_treatment ~ Binomial(n_j, 1/2)`` (kept at least 2 per arm);
    - per-user outcome (say revenue in dollars) normal with creator baseline
      ``baseline_mean + N(0, 1)``, creator-specific sd ``outcome_sd * exp(N(0, 0.25^2))``
      and the treatment adding ``theta_j``. Arm means and sample standard deviations are
      drawn from their exact sampling distributions (normal mean, scaled chi-square
      variance), which is the same as simulating every user and aggregating.

    ``region`` is a pre-specified grouping unrelated to the effects (a placebo grouping
    for model comparison).

    Parameters
    ----------
    n_genres, creators_per_genre : int
        The design: ``n_genres * creators_per_genre`` creators.
    mean_effect, genre_sd, creator_sd : float
        The hyperparameters: platform mean effect, between-genre and within-genre
        (between-creator) standard deviations of true effects, in outcome units.
    outcome_sd : float
        Typical per-user outcome standard deviation.
    baseline_mean : float
        Typical control-arm mean.
    median_users, users_log_sd, min_users, max_users : float, float, int, int
        The audience-size distribution.
    n_regions : int
        Number of placebo regions.
    n_replications : int
        Number of independent data sets, stacked with a ``replication`` column.
    redraw_truth : bool
        If True every replication draws new genre means and creator effects (calibration
        averaged over the prior); if False they share one truth and one set of audience
        sizes, and only the users' outcomes are redrawn (calibration conditional on the
        truth).
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    pandas.DataFrame
        One row per creator (and replication), columns ``replication, creator_id, genre,
        region, n_users, n_treatment, n_control, mean_treatment, mean_control,
        sd_treatment, sd_control, genre_effect, true_effect``. ``creator_id`` is a string
        such as ``"creator_0007"``; ``genre_effect`` is the true genre mean ``m_g``.

    Raises
    ------
    ValueError
        If a count is not a positive integer, a number is NaN, infinite or a string, a
        standard deviation is negative, ``min_users`` is below 4 or above ``max_users``,
        ``redraw_truth`` is not a bool, or ``rng`` is invalid.
    """
    n_genres = check_integer(n_genres, "n_genres", minimum=1)
    creators_per_genre = check_integer(creators_per_genre, "creators_per_genre", minimum=1)
    mean_effect = check_finite_number(mean_effect, "mean_effect")
    genre_sd = check_positive(genre_sd, "genre_sd", strict=False)
    creator_sd = check_positive(creator_sd, "creator_sd", strict=False)
    outcome_sd = check_positive(outcome_sd, "outcome_sd")
    baseline_mean = check_finite_number(baseline_mean, "baseline_mean")
    median_users = check_positive(median_users, "median_users")
    users_log_sd = check_positive(users_log_sd, "users_log_sd", strict=False)
    min_users = check_integer(min_users, "min_users", minimum=4)
    max_users = check_integer(max_users, "max_users", minimum=min_users)
    n_regions = check_integer(n_regions, "n_regions", minimum=1)
    n_replications = check_integer(n_replications, "n_replications", minimum=1)
    redraw_truth = check_flag(redraw_truth, "redraw_truth")
    rng = check_rng(rng)

    n_creators = n_genres * creators_per_genre
    truth_draws = n_replications if redraw_truth else 1
    shape = (n_replications, n_creators)
    genre_codes = np.repeat(np.arange(n_genres), creators_per_genre)

    genre_effect = mean_effect + genre_sd * rng.standard_normal((truth_draws, n_genres))
    genre_effect = genre_effect[:, genre_codes]
    true_effect = genre_effect + creator_sd * rng.standard_normal((truth_draws, n_creators))
    log_users = np.log(median_users) + users_log_sd * rng.standard_normal((truth_draws, n_creators))
    n_users = np.clip(np.rint(np.exp(log_users)), min_users, max_users).astype(np.int64)
    region_codes = rng.integers(0, n_regions, size=(truth_draws, n_creators))
    genre_effect, true_effect, n_users, region_codes = (
        np.broadcast_to(array, shape)
        for array in (genre_effect, true_effect, n_users, region_codes)
    )

    n_treatment = np.clip(rng.binomial(n_users, 0.5), 2, n_users - 2)
    n_control = n_users - n_treatment
    baseline = baseline_mean + rng.standard_normal(shape)
    sigma = outcome_sd * np.exp(0.25 * rng.standard_normal(shape))
    mean_control = baseline + sigma / np.sqrt(n_control) * rng.standard_normal(shape)
    mean_treatment = (
        baseline + true_effect + sigma / np.sqrt(n_treatment) * rng.standard_normal(shape)
    )
    sd_control = sigma * np.sqrt(rng.chisquare(n_control - 1) / (n_control - 1))
    sd_treatment = sigma * np.sqrt(rng.chisquare(n_treatment - 1) / (n_treatment - 1))

    genres = np.array(_genre_names(n_genres), dtype=object)
    regions = np.array([f"region_{k + 1}" for k in range(n_regions)], dtype=object)
    width = max(4, len(str(n_creators - 1)))
    creator_ids = np.array([f"creator_{j:0{width}d}" for j in range(n_creators)], dtype=object)
    return pd.DataFrame(
        {
            "replication": np.repeat(np.arange(n_replications), n_creators),
            "creator_id": np.tile(creator_ids, n_replications),
            "genre": np.tile(genres[genre_codes], n_replications),
            "region": regions[region_codes].ravel(),
            "n_users": n_users.ravel(),
            "n_treatment": n_treatment.ravel(),
            "n_control": n_control.ravel(),
            "mean_treatment": mean_treatment.ravel(),
            "mean_control": mean_control.ravel(),
            "sd_treatment": sd_treatment.ravel(),
            "sd_control": sd_control.ravel(),
            "genre_effect": genre_effect.ravel(),
            "true_effect": true_effect.ravel(),
        }
    )


def simulate_geo_deltas(
    n_geos: int = 40,
    *,
    pre_days: int = 28,
    post_days: int = 14,
    baseline_mean: float = 1_000.0,
    baseline_sd: float = 400.0,
    day_noise_sd: float = 250.0,
    lift: float = 0.08,
    trend_per_day: float = 0.001,
    n_replications: int = 1,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Simulate small geo tests and return each geo's pre-to-post change with its truth.

    Geo ``g`` has a baseline ``b_g ~ N(baseline_mean, baseline_sd^2)``; its KPI on day
    ``t`` is ``b_g (1 + trend_per_day * t) (1 + lift * treated_g * post_t)`` plus
    independent ``N(0, day_noise_sd^2)`` noise. Half the geos (chosen at random) are
    treated. A geo's *delta* is its post-period mean minus its pre-period mean; its
    standard error comes from the geo's own day-to-day noise,
    ``se_g^2 = s_pre^2 / pre_days + s_post^2 / post_days``; its true (expected) delta is
    ``b_g [(1 + lift * treated_g) mean_post(1 + trend t) - mean_pre(1 + trend t)]``.
    Because baselines differ, true deltas differ between geos (more so in treated geos),
    which is what a hierarchical model of the deltas estimates.

    Parameters
    ----------
    n_geos : int
        Number of geos (even, at least 4).
    pre_days, post_days : int
        Lengths of the pre and post periods (at least 2 each).
    baseline_mean, baseline_sd, day_noise_sd : float
        Geo baselines and daily noise, in KPI units.
    lift : float
        Multiplicative lift in treated geos during the post period.
    trend_per_day : float
        Common linear trend (relative to the baseline, per day).
    n_replications : int
        Number of independent geo tests, stacked with a ``replication`` column.
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``replication, geo_id, group ("treatment"/"control"), pre_mean,
        post_mean, delta, se, true_delta``.

    Raises
    ------
    ValueError
        If a count is invalid, a number is NaN, infinite or a string, a standard
        deviation is not positive (``baseline_sd`` may be 0), or ``rng`` is invalid.
    """
    n_geos = check_integer(n_geos, "n_geos", minimum=4)
    if n_geos % 2:
        raise ValueError(f"n_geos must be even, got {n_geos}")
    pre_days = check_integer(pre_days, "pre_days", minimum=2)
    post_days = check_integer(post_days, "post_days", minimum=2)
    baseline_mean = check_finite_number(baseline_mean, "baseline_mean")
    baseline_sd = check_positive(baseline_sd, "baseline_sd", strict=False)
    day_noise_sd = check_positive(day_noise_sd, "day_noise_sd")
    lift = check_finite_number(lift, "lift")
    trend_per_day = check_finite_number(trend_per_day, "trend_per_day")
    n_replications = check_integer(n_replications, "n_replications", minimum=1)
    rng = check_rng(rng)

    days = np.arange(pre_days + post_days)
    is_post = days >= pre_days
    trend = 1.0 + trend_per_day * days
    baseline = baseline_mean + baseline_sd * rng.standard_normal((n_replications, n_geos))
    treated = rng.permuted(
        np.broadcast_to(np.arange(n_geos) < n_geos // 2, (n_replications, n_geos)), axis=1
    )
    multiplier = 1.0 + lift * treated[:, :, None] * is_post
    expected = baseline[:, :, None] * trend * multiplier
    kpi = expected + day_noise_sd * rng.standard_normal(expected.shape)

    pre, post = kpi[:, :, ~is_post], kpi[:, :, is_post]
    pre_mean, post_mean = pre.mean(axis=2), post.mean(axis=2)
    se = np.sqrt(pre.var(axis=2, ddof=1) / pre_days + post.var(axis=2, ddof=1) / post_days)
    true_delta = expected[:, :, is_post].mean(axis=2) - expected[:, :, ~is_post].mean(axis=2)
    width = max(2, len(str(n_geos - 1)))
    geo_ids = np.array([f"geo_{g:0{width}d}" for g in range(n_geos)], dtype=object)
    return pd.DataFrame(
        {
            "replication": np.repeat(np.arange(n_replications), n_geos),
            "geo_id": np.tile(geo_ids, n_replications),
            "group": np.where(treated, "treatment", "control").ravel(),
            "pre_mean": pre_mean.ravel(),
            "post_mean": post_mean.ravel(),
            "delta": (post_mean - pre_mean).ravel(),
            "se": se.ravel(),
            "true_delta": true_delta.ravel(),
        }
    )
