"""From the warehouse: an event log in Parquet, the SQL every recipe needs, DuckDB to run it.

Every recipe in the book needs only sufficient statistics, and those are one ``GROUP BY``
away from the raw events. This module holds

- a seeded generator of a realistic event log (:func:`simulate_event_log`: users with an
  arm, a geo and an arrival day; page views, clicks and purchases with timestamps, over a
  pre-period and the experiment) and :func:`write_event_log`, which writes it to Parquet;
- the queries, as portable SQL strings a reader copies (``ARM_METRICS_SQL``,
  ``SAMPLE_RATIO_SQL``, ``DAILY_LOOKS_SQL``): they aggregate per user first (the unit of
  randomisation), then per arm, and return the columns of
  :mod:`playbook_lib.aggregates`' typed statistics;
- :func:`connect`, an embedded DuckDB database with the two tables as views over the
  Parquet files (no server, nothing to configure), and functions that run the queries and
  return typed statistics in ``(control, treatment)`` order (:func:`query_arm_metrics`
  scans the events once for every per-arm statistic).

The tables (one row per user, one row per event):

``users``
    ``user_id`` (BIGINT), ``arm`` (0 control, 1 treatment), ``geo`` (INTEGER),
    ``first_day`` (the experiment day the user was first assigned, 0-based).
``events``
    ``user_id``, ``day`` (days from the experiment's start; negative in the pre-period),
    ``event_time`` (TIMESTAMP, UTC), ``event`` ('pageview', 'click' or 'purchase'),
    ``revenue`` (DOUBLE, 0 except for purchases).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from playbook_lib.aggregates import (
    ArmStatistics,
    CovariateMoments,
    CovariateStatistics,
    RatioStatistics,
)
from playbook_lib.validation import (
    check_choice,
    check_finite_number,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = [
    "ARM_METRICS_SQL",
    "COVARIATE_MOMENTS_COVARIATES",
    "COVARIATE_MOMENTS_OUTCOME",
    "COVARIATE_MOMENTS_SQL",
    "DAILY_LOOKS_SQL",
    "PER_USER_SQL",
    "SAMPLE_RATIO_SQL",
    "GEO_DELTAS_SQL",
    "IPW_SCORES_SQL",
    "PANEL_SQL",
    "UNIT_ARMS_SQL",
    "ArmMetrics",
    "EventLog",
    "UnitArms",
    "connect",
    "covariate_moments_from_rows",
    "query_arm_metrics",
    "query_covariate_moments",
    "query_daily_looks",
    "query_geo_deltas",
    "query_ipw_scores",
    "query_panel",
    "query_unit_statistics",
    "query_sample_ratio_counts",
    "simulate_event_log",
    "write_event_log",
    "write_table",
]

_START = np.datetime64("2026-03-02T00:00:00", "s")
_SECONDS_PER_DAY = 86_400
_EVENTS = ("pageview", "click", "purchase")

# The per-user level: one row per assigned user, whether or not they came back. A LEFT
# JOIN from users keeps users without events (an inner join would drop them and bias
# every mean); aggregating events per user before any join keeps a user from being
# counted once per event. COUNT(CASE WHEN c THEN 1 END) counts the rows where c holds
# (the CASE is NULL elsewhere): the number SUM(CASE WHEN c THEN 1 ELSE 0 END) gives.
PER_USER_SQL = """
WITH per_user_events AS (
    SELECT
        user_id,
        COUNT(CASE WHEN day >= 0 AND event = 'pageview' THEN 1 END) AS pageviews,
        COUNT(CASE WHEN day >= 0 AND event = 'click' THEN 1 END) AS clicks,
        SUM(CASE WHEN day >= 0 THEN revenue ELSE 0 END) AS revenue,
        MAX(CASE WHEN day >= 0 AND event = 'purchase' THEN 1 ELSE 0 END) AS converted,
        SUM(CASE WHEN day < 0 THEN revenue ELSE 0 END) AS pre_revenue,
        COUNT(CASE WHEN day < 0 AND event = 'pageview' THEN 1 END) AS pre_pageviews
    FROM events
    GROUP BY user_id
)
SELECT
    u.user_id,
    u.arm,
    u.geo,
    u.first_day,
    COALESCE(e.pageviews, 0) AS pageviews,
    COALESCE(e.clicks, 0) AS clicks,
    COALESCE(e.revenue, 0) AS revenue,
    COALESCE(e.converted, 0) AS converted,
    COALESCE(e.pre_revenue, 0) AS pre_revenue,
    COALESCE(e.pre_pageviews, 0) AS pre_pageviews
FROM users AS u
LEFT JOIN per_user_events AS e ON e.user_id = u.user_id
"""

# The arm level: per arm, the count, sums, sums of squares and cross products of the
# per-user metrics: every input of the means, proportions, ratio and CUPED recipes. It
# repeats the per-user level with the one covariate it needs, and reads only the events
# that move a sum: experiment events, and pre-period events with revenue (pre-period page
# views and clicks add 0 to every column here, so the WHERE changes no number, but it
# leaves about a third of the rows to aggregate).
ARM_METRICS_SQL = """
WITH per_user_events AS (
    SELECT
        user_id,
        COUNT(CASE WHEN day >= 0 AND event = 'pageview' THEN 1 END) AS pageviews,
        COUNT(CASE WHEN day >= 0 AND event = 'click' THEN 1 END) AS clicks,
        SUM(CASE WHEN day >= 0 THEN revenue ELSE 0 END) AS revenue,
        MAX(CASE WHEN day >= 0 AND event = 'purchase' THEN 1 ELSE 0 END) AS converted,
        SUM(CASE WHEN day < 0 THEN revenue ELSE 0 END) AS pre_revenue
    FROM events
    WHERE day >= 0 OR revenue <> 0
    GROUP BY user_id
),
per_user AS (
    SELECT
        u.arm,
        COALESCE(e.pageviews, 0) AS pageviews,
        COALESCE(e.clicks, 0) AS clicks,
        COALESCE(e.revenue, 0) AS revenue,
        COALESCE(e.converted, 0) AS converted,
        COALESCE(e.pre_revenue, 0) AS pre_revenue
    FROM users AS u
    LEFT JOIN per_user_events AS e ON e.user_id = u.user_id
)
SELECT
    arm,
    COUNT(*) AS n,
    SUM(converted) AS conversions,
    SUM(revenue) AS sum_revenue,
    SUM(revenue * revenue) AS sum_revenue_squares,
    SUM(clicks) AS sum_clicks,
    SUM(clicks * clicks) AS sum_clicks_squares,
    SUM(pageviews) AS sum_pageviews,
    SUM(pageviews * pageviews) AS sum_pageviews_squares,
    SUM(clicks * pageviews) AS sum_clicks_pageviews,
    SUM(pre_revenue) AS sum_pre_revenue,
    SUM(pre_revenue * pre_revenue) AS sum_pre_revenue_squares,
    SUM(revenue * pre_revenue) AS sum_revenue_pre_revenue
FROM per_user
GROUP BY arm
ORDER BY arm
"""

# CUPED with several covariates: per user, the experiment's revenue and three pre-period
# covariates (revenue, page views, clicks), then per arm the count, the sums and the sums
# of every product of two of them (squares included): the moments of regression
# adjustment. Every pre-period event counts here, so the query reads all the events.
COVARIATE_MOMENTS_OUTCOME = "revenue"
COVARIATE_MOMENTS_COVARIATES = ("pre_revenue", "pre_pageviews", "pre_clicks")
_MOMENT_VARIABLES = (COVARIATE_MOMENTS_OUTCOME, *COVARIATE_MOMENTS_COVARIATES)
_MOMENT_PRODUCTS = tuple(
    (first, second) for i, first in enumerate(_MOMENT_VARIABLES) for second in _MOMENT_VARIABLES[i:]
)
COVARIATE_MOMENTS_SQL = (
    """
WITH per_user_events AS (
    SELECT
        user_id,
        SUM(CASE WHEN day >= 0 THEN revenue ELSE 0 END) AS revenue,
        SUM(CASE WHEN day < 0 THEN revenue ELSE 0 END) AS pre_revenue,
        COUNT(CASE WHEN day < 0 AND event = 'pageview' THEN 1 END) AS pre_pageviews,
        COUNT(CASE WHEN day < 0 AND event = 'click' THEN 1 END) AS pre_clicks
    FROM events
    GROUP BY user_id
),
per_user AS (
    SELECT
        u.arm,
        COALESCE(e.revenue, 0) AS revenue,
        COALESCE(e.pre_revenue, 0) AS pre_revenue,
        COALESCE(e.pre_pageviews, 0) AS pre_pageviews,
        COALESCE(e.pre_clicks, 0) AS pre_clicks
    FROM users AS u
    LEFT JOIN per_user_events AS e ON e.user_id = u.user_id
)
SELECT
    arm,
    COUNT(*) AS n,
"""
    + "".join(f"    SUM({name}) AS sum_{name},\n" for name in _MOMENT_VARIABLES)
    + ",\n".join(
        f"    SUM({first} * {second}) AS sum_{first}_x_{second}"
        for first, second in _MOMENT_PRODUCTS
    )
    + """
FROM per_user
GROUP BY arm
ORDER BY arm
"""
)

# Sample-ratio check: assigned users per arm (from the assignment table, not from events:
# a treatment that changes who comes back must not look like a broken split).
SAMPLE_RATIO_SQL = """
SELECT arm, COUNT(*) AS n
FROM users
GROUP BY arm
ORDER BY arm
"""

# Per-look statistics for a sequential test: users enter on their first day, and their
# outcome (conversion on the day they arrive) is known at the end of that day, so a look
# after day d sees the cohorts 0..d. Daily sums per arm, then running sums by a window.
DAILY_LOOKS_SQL = """
WITH first_day_conversion AS (
    SELECT
        u.user_id,
        u.arm,
        u.first_day,
        MAX(CASE WHEN e.event = 'purchase' AND e.day = u.first_day THEN 1 ELSE 0 END)
            AS converted
    FROM users AS u
    LEFT JOIN events AS e ON e.user_id = u.user_id AND e.day = u.first_day
    GROUP BY u.user_id, u.arm, u.first_day
),
daily AS (
    SELECT first_day AS day, arm, COUNT(*) AS n, SUM(converted) AS conversions
    FROM first_day_conversion
    GROUP BY first_day, arm
)
SELECT
    day,
    arm,
    SUM(n) OVER (PARTITION BY arm ORDER BY day ROWS UNBOUNDED PRECEDING) AS n,
    SUM(conversions) OVER (
        PARTITION BY arm ORDER BY day ROWS UNBOUNDED PRECEDING
    ) AS conversions
FROM daily
ORDER BY day, arm
"""


# Per-unit statistics for the hierarchical model: each geo's arm sizes, sums and sums of
# squares of per-user revenue (the no-pooling estimates' inputs, one row per geo and arm).
UNIT_ARMS_SQL = f"""
WITH per_user AS ({PER_USER_SQL})
SELECT
    geo,
    arm,
    COUNT(*) AS n,
    SUM(revenue) AS sum_revenue,
    SUM(revenue * revenue) AS sum_revenue_squares
FROM per_user
GROUP BY geo, arm
ORDER BY geo, arm
"""

# Per-geo pre/post deltas for a geo experiment's difference in differences: each geo's
# mean daily revenue in the experiment minus that in the pre-period (the day counts come
# from the data, so a geo without a purchase on some day still averages over every day),
# then per arm the count, sum and sum of squares of the deltas. ``mixed_geos`` counts geos
# holding users of both arms: it must be 0 (geos, not users, were randomised).
GEO_DELTAS_SQL = """
WITH periods AS (
    SELECT
        COUNT(DISTINCT CASE WHEN day < 0 THEN day END) AS pre_days,
        COUNT(DISTINCT CASE WHEN day >= 0 THEN day END) AS post_days
    FROM events
),
geo_revenue AS (
    SELECT
        u.geo,
        MIN(u.arm) AS arm,
        MAX(u.arm) - MIN(u.arm) AS mixed,
        SUM(CASE WHEN e.day < 0 THEN e.revenue ELSE 0 END) AS pre_revenue,
        SUM(CASE WHEN e.day >= 0 THEN e.revenue ELSE 0 END) AS post_revenue
    FROM users AS u
    LEFT JOIN events AS e ON e.user_id = u.user_id
    GROUP BY u.geo
),
geo_deltas AS (
    SELECT
        g.geo,
        g.arm,
        g.mixed,
        g.post_revenue / p.post_days - g.pre_revenue / p.pre_days AS delta
    FROM geo_revenue AS g
    CROSS JOIN periods AS p
)
SELECT
    arm,
    COUNT(*) AS n,
    SUM(delta) AS sum_delta,
    SUM(delta * delta) AS sum_delta_squares,
    SUM(mixed) AS mixed_geos
FROM geo_deltas
GROUP BY arm
ORDER BY arm
"""


# The sums an IPW estimate needs from a bandit's log (one row per round with the arm
# played, its reward and the logging policy's propensity of that arm): the per-round
# Horvitz-Thompson contrast score of arm 1 against arm 0, and its count, sum and sum of
# squares (the estimate is their mean, its se the scores' sd over sqrt(n)).
IPW_SCORES_SQL = """
WITH scores AS (
    SELECT
        CASE
            WHEN arm = 1 THEN reward / propensity
            WHEN arm = 0 THEN -reward / propensity
            ELSE 0
        END AS score
    FROM bandit_log
)
SELECT COUNT(*) AS n, SUM(score) AS sum_score, SUM(score * score) AS sum_score_squares
FROM scores
"""

# The unit-by-time panel the synthetic-control and DiD recipes take: revenue per geo per
# experiment or pre-period day, with a zero where a geo had no purchase that day (the
# CROSS JOIN of geos and days makes those rows; a plain GROUP BY would drop them).
PANEL_SQL = """
WITH geos AS (SELECT DISTINCT geo FROM users),
days AS (SELECT DISTINCT day FROM events),
geo_days AS (
    SELECT u.geo, e.day, SUM(e.revenue) AS revenue
    FROM events AS e
    JOIN users AS u ON u.user_id = e.user_id
    GROUP BY u.geo, e.day
)
SELECT g.geo, d.day, COALESCE(x.revenue, 0) AS revenue
FROM geos AS g
CROSS JOIN days AS d
LEFT JOIN geo_days AS x ON x.geo = g.geo AND x.day = d.day
ORDER BY g.geo, d.day
"""


@dataclass(frozen=True)
class EventLog:
    """A simulated experiment's tables and the truth they were drawn from.

    ``users`` and ``events`` have the columns described in :mod:`playbook_lib.warehouse`;
    ``truth`` holds the parameters (``click_lift``, ``conversion_lift``, ...).
    """

    users: pd.DataFrame
    events: pd.DataFrame
    truth: Mapping[str, float | str]


def simulate_event_log(
    n_users: int = 500_000,
    *,
    n_days: int = 14,
    n_pre_days: int = 14,
    n_geos: int = 40,
    daily_pageviews: float = 0.9,
    click_rate: float = 0.05,
    purchase_rate: float = 0.012,
    click_lift: float = 0.05,
    conversion_lift: float = 0.05,
    assignment: str = "user",
    rng: np.random.Generator | int | None = None,
) -> EventLog:
    """Simulate users and their page views, clicks and purchases (about 25 events a user).

    Users arrive uniformly over the experiment's days and are assigned 50/50 (each user
    independently, or with ``assignment="geo"`` by geo: half the geos, drawn at random,
    are treated and every user takes their geo's arm, as in a geo experiment). Each user
    has a persistent activity level (gamma, so a few heavy users make many events), a
    click propensity (beta) and a purchase propensity; the pre-period uses the same
    levels, so pre-period revenue predicts experiment revenue (what CUPED uses). The
    treatment multiplies the click and purchase propensities by ``1 + lift``.

    Parameters
    ----------
    n_users : int
        Users assigned (at least 2).
    n_days, n_pre_days : int
        Days of the experiment and of the pre-period (at least 1).
    n_geos : int
        Geos users live in (at least 1).
    daily_pageviews : float
        Mean page views per user per day (positive).
    click_rate, purchase_rate : float
        Mean click probability per page view and purchase probability per active day,
        in (0, 1).
    click_lift, conversion_lift : float
        Relative lifts of the treatment (greater than -1).
    assignment : {"user", "geo"}
        The unit of randomisation (``"geo"`` needs at least 2 geos).
    rng : numpy.random.Generator, int or None
        Randomness.

    Returns
    -------
    EventLog
        The tables (events in no particular order, as in a warehouse) and the
        parameters in ``truth``.

    Raises
    ------
    ValueError
        Naming the argument, for sizes below their minimum or rates outside their range.
    """
    n_users = check_integer(n_users, "n_users", minimum=2)
    n_days = check_integer(n_days, "n_days", minimum=1)
    n_pre_days = check_integer(n_pre_days, "n_pre_days", minimum=1)
    n_geos = check_integer(n_geos, "n_geos", minimum=1)
    daily_pageviews = check_positive(daily_pageviews, "daily_pageviews")
    click_rate = check_probability(click_rate, "click_rate", allow_zero=False, allow_one=False)
    purchase_rate = check_probability(
        purchase_rate, "purchase_rate", allow_zero=False, allow_one=False
    )
    for name, lift in (("click_lift", click_lift), ("conversion_lift", conversion_lift)):
        if check_finite_number(lift, name) <= -1:
            raise ValueError(f"{name} must exceed -1, got {lift}")
    assignment = check_choice(assignment, "assignment", ("user", "geo"))
    if assignment == "geo" and n_geos < 2:
        raise ValueError(f"n_geos must be at least 2 with assignment='geo', got {n_geos}")
    rng = check_rng(rng)

    user_id = np.arange(1, n_users + 1, dtype=np.int64)
    arm = (rng.random(n_users) < 0.5).astype(np.int8)
    geo = rng.integers(0, n_geos, n_users).astype(np.int16)
    if assignment == "geo":
        treated_geos = rng.permutation(n_geos) < n_geos // 2
        arm = treated_geos[geo].astype(np.int8)
    first_day = rng.integers(0, n_days, n_users).astype(np.int16)
    activity = rng.gamma(0.8, daily_pageviews / 0.8, n_users)
    click_propensity = rng.beta(2.0, 2.0 / click_rate - 2.0, n_users)
    # Buyers are a persistent minority, and heavier users buy more: pre-period revenue
    # predicts experiment revenue, as in real shops.
    purchase_propensity = np.minimum(
        rng.beta(0.3, 0.3 / purchase_rate - 0.3, n_users) * activity / daily_pageviews,
        0.5,
    )
    basket = rng.lognormal(3.5, 0.6, n_users)  # a user's typical basket value

    pieces = []
    for start, length, treated in (
        (np.full(n_users, -n_pre_days), np.full(n_users, n_pre_days), np.zeros(n_users, bool)),
        (first_day, n_days - first_day, arm == 1),
    ):
        pieces.append(
            _period_events(
                rng,
                start.astype(np.int64),
                length.astype(np.int64),
                activity,
                click_propensity * np.where(treated, 1 + click_lift, 1.0),
                purchase_propensity * np.where(treated, 1 + conversion_lift, 1.0),
                basket,
            )
        )
    columns = {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}
    events = pd.DataFrame(
        {
            "user_id": user_id[columns["user_index"]],
            "day": columns["day"].astype(np.int16),
            "event_time": _START + columns["seconds"].astype("timedelta64[s]"),
            "event": pd.Categorical.from_codes(columns["code"], categories=_EVENTS),
            "revenue": columns["revenue"],
        }
    )
    users = pd.DataFrame({"user_id": user_id, "arm": arm, "geo": geo, "first_day": first_day})
    truth = {
        "click_lift": float(click_lift),
        "conversion_lift": float(conversion_lift),
        "click_rate": click_rate,
        "purchase_rate": purchase_rate,
        "assignment": assignment,
    }
    return EventLog(users, events, truth)


def _period_events(
    rng: np.random.Generator,
    start: np.ndarray,
    length: np.ndarray,
    activity: np.ndarray,
    click_probability: np.ndarray,
    purchase_rate: np.ndarray,
    basket: np.ndarray,
) -> dict[str, np.ndarray]:
    """Each user's events over their days ``start .. start + length - 1``, as columns.

    Page views are Poisson with mean ``activity`` a day, each clicked with the user's click
    probability; purchases are Poisson with the user's daily purchase rate. Days and
    times of day are uniform. Costs a few random numbers per event (no per-day draws).
    """
    views = rng.poisson(activity * length)
    purchases = rng.poisson(np.minimum(purchase_rate, 1.0) * length)
    view_users = np.repeat(np.arange(activity.size), views)
    clicked = rng.random(view_users.size) < np.minimum(click_probability[view_users], 1.0)
    purchase_users = np.repeat(np.arange(activity.size), purchases)
    users = np.concatenate([view_users, view_users[clicked], purchase_users])
    codes = np.repeat(
        np.arange(3, dtype=np.int8), [view_users.size, int(clicked.sum()), purchase_users.size]
    )
    seconds = start[users] * _SECONDS_PER_DAY + rng.integers(
        0, length[users] * _SECONDS_PER_DAY, users.size
    )
    # A click happens a few seconds after its page view, on the same day.
    n_views = view_users.size
    clicks = slice(n_views, n_views + int(clicked.sum()))
    seconds[clicks] = np.minimum(
        seconds[:n_views][clicked] + rng.integers(1, 60, int(clicked.sum())),
        (seconds[:n_views][clicked] // _SECONDS_PER_DAY + 1) * _SECONDS_PER_DAY - 1,
    )
    revenue = np.zeros(users.size)
    revenue[codes == 2] = np.round(
        basket[purchase_users] * rng.lognormal(0.0, 0.3, purchase_users.size), 2
    )
    return {
        "user_index": users,
        "day": np.floor_divide(seconds, _SECONDS_PER_DAY),
        "seconds": seconds,
        "code": codes,
        "revenue": revenue,
    }


def _duckdb_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that prints no progress bar."""
    connection = duckdb.connect()
    try:
        connection.execute("SET enable_progress_bar = false")
    except duckdb.InvalidInputException:
        # In Jupyter without ipywidgets DuckDB cannot change the setting, and draws no
        # progress bar there anyway.
        pass
    return connection


def write_event_log(log: EventLog, directory: str | Path) -> dict[str, Path]:
    """Write ``log``'s tables to ``directory/users.parquet`` and ``directory/events.parquet``.

    Returns the paths by table name. Uses DuckDB's Parquet writer (no other dependency),
    with its default row groups (122,880 rows) and Snappy compression. Both tables are
    written sorted by ``user_id``, as a warehouse clusters an event table by its unit:
    every query aggregates per user first, and with a user's events side by side that
    aggregation touches each user's group in one place (on 100 million events DuckDB
    needed about a third more CPU, and up to twice the time, on the simulator's unordered
    rows; see ``benchmarks/warehouse_aggregates.py``). The order changes no statistic.
    """
    if not isinstance(log, EventLog):
        raise ValueError(f"log must be an EventLog, got {type(log).__name__}")
    if not isinstance(directory, str | Path):
        raise ValueError(f"directory must be a path, got {type(directory).__name__}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    with _duckdb_connection() as connection:
        for name in ("users", "events"):
            frame = getattr(log, name)
            connection.register(f"{name}_frame", frame)
            path = directory / f"{name}.parquet"
            connection.execute(
                f"COPY (SELECT * FROM {name}_frame ORDER BY user_id) "
                f"TO '{path.as_posix()}' (FORMAT parquet)"
            )
            paths[name] = path
    return paths


def connect(directory: str | Path, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-process DuckDB connection with a view over each Parquet file in ``directory``.

    Parameters
    ----------
    directory : path
        Where :func:`write_event_log` wrote ``users.parquet`` and ``events.parquet`` (and
        :func:`write_table` any other table, e.g. ``bandit_log.parquet``).
    threads : int, optional
        DuckDB's worker threads (default: DuckDB's choice, the machine's cores).

    Raises
    ------
    ValueError
        If a Parquet file is missing.
    """
    if not isinstance(directory, str | Path):
        raise ValueError(f"directory must be a path, got {type(directory).__name__}")
    directory = Path(directory)
    connection = _duckdb_connection()
    if threads is not None:
        connection.execute(f"SET threads = {check_integer(threads, 'threads', minimum=1)}")
    for name in ("users", "events"):
        if not (directory / f"{name}.parquet").exists():
            raise ValueError(f"directory has no {name}.parquet: {directory / name}.parquet")
    for path in sorted(directory.glob("*.parquet")):  # users, events and any other table
        connection.execute(
            f"CREATE VIEW \"{path.stem}\" AS SELECT * FROM read_parquet('{path.as_posix()}')"
        )
    return connection


def write_table(frame: pd.DataFrame, directory: str | Path, name: str) -> Path:
    """Write ``frame`` to ``directory/<name>.parquet``; :func:`connect` then shows it as a
    view ``name`` (e.g. a bandit's log beside the event log).

    Raises
    ------
    ValueError
        If ``frame`` is not a non-empty DataFrame, ``name`` is not an identifier, or
        ``directory`` is not a path.
    """
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise ValueError("frame must be a non-empty pandas DataFrame")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a table name (an identifier), got {name!r}")
    if not isinstance(directory, str | Path):
        raise ValueError(f"directory must be a path, got {type(directory).__name__}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.parquet"
    with _duckdb_connection() as connection:
        connection.register("frame_to_write", frame)
        connection.execute(f"COPY frame_to_write TO '{path.as_posix()}' (FORMAT parquet)")
    return path


def _check_connection(connection: Any, *, experiment: bool = True) -> Any:
    """The connection, checked; with ``experiment``, also one row per user in ``users``
    (a duplicate counts twice in every sum and can fake a sample-ratio mismatch) and a
    revenue on every event (``SUM`` skips a NULL: a purchase worth 0, silently)."""
    if not callable(getattr(connection, "execute", None)):
        raise ValueError(
            f"connection must be a DuckDB connection (from connect()), got "
            f"{type(connection).__name__}"
        )
    if experiment:
        duplicated, missing_users, null_revenue = connection.execute(_TABLE_CHECKS_SQL).fetchone()
        if duplicated:
            raise ValueError(
                f"users: {duplicated} user_id value(s) appear more than once (one row per "
                "user: deduplicate the assignment, or a join duplicated them)"
            )
        if missing_users:
            raise ValueError(f"users: {missing_users} row(s) with a NULL user_id or arm")
        if null_revenue:
            raise ValueError(
                f"events: {null_revenue} event(s) with a NULL revenue (use 0 for events "
                "without revenue; a NULL is skipped by SUM and would count as 0 silently)"
            )
    return connection


# One scan of each table: duplicated or NULL users, and events without a revenue.
_TABLE_CHECKS_SQL = """
SELECT
    (SELECT COUNT(user_id) - COUNT(DISTINCT user_id) FROM users) AS duplicated_users,
    (SELECT COUNT(*) FROM users WHERE user_id IS NULL OR arm IS NULL) AS missing_users,
    (SELECT COUNT(*) FROM events WHERE revenue IS NULL) AS null_revenue
"""


def _arm_rows(connection: Any, sql: str) -> pd.DataFrame:
    rows = _check_connection(connection).execute(sql).df()
    arms = rows["arm"].tolist()
    if arms != [0, 1]:
        raise ValueError(f"the query must return one row per arm (0, 1), got arms {arms}")
    return rows


Arms = tuple[ArmStatistics, ArmStatistics]


@dataclass(frozen=True)
class ArmMetrics:
    """Every per-arm statistic ``ARM_METRICS_SQL`` returns, from one scan of the events.

    Each field is a ``(control, treatment)`` pair of typed statistics, ready for the
    ``_from_stats`` twins: ``conversions`` (0/1 per user, :meth:`ArmStatistics.from_counts
    <playbook_lib.aggregates.ArmStatistics.from_counts>`), ``revenue``, ``clicks`` and
    ``pageviews`` (per-user totals), ``click_through``
    (:class:`~playbook_lib.aggregates.RatioStatistics` of clicks over page views per user)
    and ``revenue_with_pre_revenue`` (:class:`~playbook_lib.aggregates.CovariateStatistics`:
    revenue with the pre-period revenue as CUPED covariate).
    """

    conversions: Arms
    revenue: Arms
    clicks: Arms
    pageviews: Arms
    click_through: tuple[RatioStatistics, RatioStatistics]
    revenue_with_pre_revenue: tuple[CovariateStatistics, CovariateStatistics]

    @classmethod
    def from_rows(cls, rows: pd.DataFrame) -> ArmMetrics:
        """Typed statistics from the result of ``ARM_METRICS_SQL`` (one row per arm 0, 1).

        Raises
        ------
        ValueError
            If ``rows`` is not a DataFrame with one row per arm (0 then 1) and the query's
            columns, or if its sums are inconsistent (see :mod:`playbook_lib.aggregates`).
        """
        rows = _check_arm_rows(rows)

        def pairs(build: Any) -> Any:
            return tuple(build(row) for row in rows.itertuples())

        def metric(name: str) -> Arms:
            return pairs(
                lambda row: ArmStatistics(
                    int(row.n),
                    float(getattr(row, f"sum_{name}")),
                    float(getattr(row, f"sum_{name}_squares")),
                )
            )

        return cls(
            conversions=pairs(
                lambda row: ArmStatistics.from_counts(int(row.conversions), int(row.n))
            ),
            revenue=metric("revenue"),
            clicks=metric("clicks"),
            pageviews=metric("pageviews"),
            click_through=pairs(
                lambda row: RatioStatistics(
                    int(row.n),
                    float(row.sum_clicks),
                    float(row.sum_pageviews),
                    float(row.sum_clicks_squares),
                    float(row.sum_pageviews_squares),
                    float(row.sum_clicks_pageviews),
                )
            ),
            revenue_with_pre_revenue=pairs(
                lambda row: CovariateStatistics(
                    int(row.n),
                    float(row.sum_revenue),
                    float(row.sum_pre_revenue),
                    float(row.sum_revenue_squares),
                    float(row.sum_pre_revenue_squares),
                    float(row.sum_revenue_pre_revenue),
                )
            ),
        )


_ARM_METRICS_COLUMNS = (
    "arm",
    "n",
    "conversions",
    "sum_revenue",
    "sum_revenue_squares",
    "sum_clicks",
    "sum_clicks_squares",
    "sum_pageviews",
    "sum_pageviews_squares",
    "sum_clicks_pageviews",
    "sum_pre_revenue",
    "sum_pre_revenue_squares",
    "sum_revenue_pre_revenue",
)


def _check_arm_rows(
    rows: Any, columns: Sequence[str] = _ARM_METRICS_COLUMNS, query: str = "ARM_METRICS_SQL"
) -> pd.DataFrame:
    if not isinstance(rows, pd.DataFrame):
        raise ValueError(f"rows must be a DataFrame, got {type(rows).__name__}")
    missing = [column for column in columns if column not in rows.columns]
    if missing:
        raise ValueError(f"rows lacks the column(s) {missing} of {query}")
    arms = rows["arm"].tolist()
    if arms != [0, 1]:
        raise ValueError(f"rows must hold one row per arm (0, 1), got arms {arms}")
    return rows


def query_arm_metrics(connection: Any) -> ArmMetrics:
    """Run ``ARM_METRICS_SQL`` once and return every per-arm statistic it holds.

    Parameters
    ----------
    connection : duckdb.DuckDBPyConnection
        A connection with the ``users`` and ``events`` views (see :func:`connect`).

    Returns
    -------
    ArmMetrics
        ``(control, treatment)`` typed statistics of conversion, revenue, clicks, page
        views, click-through and revenue with its pre-period covariate.

    Raises
    ------
    ValueError
        If ``connection`` is not a connection, or the query does not return both arms.
    """
    return ArmMetrics.from_rows(_arm_rows(connection, ARM_METRICS_SQL))


def covariate_moments_from_rows(rows: Any) -> tuple[CovariateMoments, CovariateMoments]:
    """``(control, treatment)`` :class:`~playbook_lib.aggregates.CovariateMoments` from the
    result of ``COVARIATE_MOMENTS_SQL`` (one row per arm 0, 1; from any engine).

    The outcome is ``COVARIATE_MOMENTS_OUTCOME`` and the covariates, in order,
    ``COVARIATE_MOMENTS_COVARIATES``.

    Raises
    ------
    ValueError
        If ``rows`` is not a DataFrame with one row per arm (0 then 1) and the query's
        columns, or if its sums are inconsistent (see
        :class:`~playbook_lib.aggregates.CovariateMoments`).
    """
    columns = [
        "arm",
        "n",
        *(f"sum_{name}" for name in _MOMENT_VARIABLES),
        *(f"sum_{first}_x_{second}" for first, second in _MOMENT_PRODUCTS),
    ]
    rows = _check_arm_rows(rows, columns, "COVARIATE_MOMENTS_SQL")
    size = len(_MOMENT_VARIABLES)
    moments = []
    for _, row in rows.iterrows():
        cross = np.empty((size, size))
        for i, first in enumerate(_MOMENT_VARIABLES):
            for j in range(i, size):
                value = float(row[f"sum_{first}_x_{_MOMENT_VARIABLES[j]}"])
                cross[i, j] = cross[j, i] = value
        moments.append(
            CovariateMoments(
                int(row["n"]),
                float(row[f"sum_{COVARIATE_MOMENTS_OUTCOME}"]),
                np.array([float(row[f"sum_{name}"]) for name in COVARIATE_MOMENTS_COVARIATES]),
                cross,
            )
        )
    return moments[0], moments[1]


def query_covariate_moments(connection: Any) -> tuple[CovariateMoments, CovariateMoments]:
    """Run ``COVARIATE_MOMENTS_SQL``: per arm, the moments of revenue and its three
    pre-period covariates (revenue, page views, clicks).

    Parameters
    ----------
    connection : duckdb.DuckDBPyConnection
        A connection with the ``users`` and ``events`` views (see :func:`connect`).

    Returns
    -------
    tuple of CovariateMoments
        ``(control, treatment)``, ready for
        :func:`playbook_lib.cuped.estimate_cuped_moments_from_stats`.

    Raises
    ------
    ValueError
        If ``connection`` is not a connection, or the query does not return both arms.
    """
    return covariate_moments_from_rows(_arm_rows(connection, COVARIATE_MOMENTS_SQL))


@dataclass(frozen=True)
class UnitArms:
    """Per-unit ``(control, treatment)`` statistics: ``units`` labels the entries of the
    array fields of ``control`` and ``treatment`` (one per unit, in the same order)."""

    units: np.ndarray
    control: ArmStatistics
    treatment: ArmStatistics


def query_unit_statistics(connection: Any) -> UnitArms:
    """Each geo's per-user revenue statistics by arm, by ``UNIT_ARMS_SQL``.

    The inputs of the hierarchical model's no-pooling estimates (one unit per geo).

    Raises
    ------
    ValueError
        If ``connection`` is not a connection, or a geo lacks one of the arms.
    """
    rows = _check_connection(connection).execute(UNIT_ARMS_SQL).df()
    table = rows.pivot(
        index="geo", columns="arm", values=["n", "sum_revenue", "sum_revenue_squares"]
    )
    if table.isna().to_numpy().any() or list(table["n"].columns) != [0, 1]:
        raise ValueError("every geo must have users in both arms (0 and 1)")

    def arm(code: int) -> ArmStatistics:
        return ArmStatistics(
            table[("n", code)].to_numpy(np.int64),
            table[("sum_revenue", code)].to_numpy(float),
            table[("sum_revenue_squares", code)].to_numpy(float),
        )

    return UnitArms(table.index.to_numpy(), arm(0), arm(1))


def query_geo_deltas(connection: Any) -> tuple[ArmStatistics, ArmStatistics]:
    """``(control, treatment)`` statistics of per-geo pre/post deltas by ``GEO_DELTAS_SQL``.

    The inputs of the difference in differences on per-geo deltas (a Welch test of the
    deltas); needs a log whose geos, not users, were randomised.

    Raises
    ------
    ValueError
        If ``connection`` is not a connection, an arm is missing, some geo holds users of
        both arms (then users were randomised, and the geo deltas do not compare arms), or
        the events lack a pre-period or experiment days.
    """
    rows = _check_connection(connection).execute(GEO_DELTAS_SQL).df()
    mixed = int(rows["mixed_geos"].sum())
    if mixed > 0:
        raise ValueError(
            f"{mixed} geos hold users of both arms: the per-geo deltas need a "
            "geo-randomised log (simulate_event_log(assignment='geo'))"
        )
    if rows["arm"].tolist() != [0, 1]:
        raise ValueError(f"the geos must fall in both arms (0, 1), got {rows['arm'].tolist()}")
    if rows["sum_delta"].isna().any():  # a period without days: its mean divides by 0
        raise ValueError("events must hold pre-period (day < 0) and experiment days (day >= 0)")
    return tuple(  # type: ignore[return-value]
        ArmStatistics(int(row.n), float(row.sum_delta), float(row.sum_delta_squares))
        for row in rows.itertuples()
    )


def query_ipw_scores(connection: Any) -> ArmStatistics:
    """Statistics of the per-round IPW contrast scores (arm 1 minus arm 0) of the
    ``bandit_log`` table, by ``IPW_SCORES_SQL``: the IPW estimate is their ``mean`` and its
    standard error their ``se_mean`` (as :func:`playbook_lib.bandits.estimate_ipw`).

    Raises
    ------
    ValueError
        If ``connection`` is not a connection or has no ``bandit_log`` with at least two
        rounds.
    """
    connection = _check_connection(connection, experiment=False)
    tables = set(connection.execute("SELECT view_name FROM duckdb_views()").df()["view_name"])
    if "bandit_log" not in tables:
        raise ValueError("connection has no bandit_log table (see write_table)")
    row = connection.execute(IPW_SCORES_SQL).df().iloc[0]
    if int(row["n"]) < 2:
        raise ValueError(f"bandit_log must hold at least 2 rounds, got {int(row['n'])}")
    return ArmStatistics(int(row["n"]), float(row["sum_score"]), float(row["sum_score_squares"]))


def query_panel(connection: Any) -> pd.DataFrame:
    """The geo-by-day revenue panel by ``PANEL_SQL``: columns ``geo``, ``day``, ``revenue``
    (one row per geo and day, zeros included), for the panel recipes.

    Raises
    ------
    ValueError
        If ``connection`` is not a connection.
    """
    return _check_connection(connection).execute(PANEL_SQL).df()


def query_sample_ratio_counts(connection: Any) -> tuple[int, int]:
    """``(control, treatment)`` assigned users by ``SAMPLE_RATIO_SQL``."""
    rows = _arm_rows(connection, SAMPLE_RATIO_SQL)
    return int(rows["n"].iloc[0]), int(rows["n"].iloc[1])


def query_daily_looks(connection: Any) -> tuple[ArmStatistics, ArmStatistics]:
    """``(control, treatment)`` cumulative first-day conversion at the end of each day
    (array statistics, one entry per day) by ``DAILY_LOOKS_SQL``."""
    rows = _check_connection(connection).execute(DAILY_LOOKS_SQL).df()
    # A day without arrivals in an arm has no row: its running sums are the day before's.
    table = rows.pivot(index="day", columns="arm", values=["n", "conversions"]).ffill()
    if table.isna().to_numpy().any() or list(table["n"].columns) != [0, 1]:
        raise ValueError("users: both arms (0 and 1) must have users from the first day")
    return tuple(  # type: ignore[return-value]
        ArmStatistics.from_counts(
            table[("conversions", arm)].to_numpy(np.int64), table[("n", arm)].to_numpy(np.int64)
        )
        for arm in (0, 1)
    )
