"""The warehouse queries (playbook_lib.warehouse) against the same statistics computed row by
row with pandas, and their portability (sqlglot parses and transpiles them)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from playbook_lib import Estimate, bandits, geo, warehouse
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.simulate import simulate_bandit_logs

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def log_and_connection(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    log = warehouse.simulate_event_log(20_000, n_days=7, n_pre_days=7, rng=5)
    directory = tmp_path_factory.mktemp("warehouse")
    warehouse.write_event_log(log, directory)
    connection = warehouse.connect(directory, threads=1)
    yield log, connection
    connection.close()


def _per_user(log: warehouse.EventLog) -> pd.DataFrame:
    """The per-user metrics, row by row in pandas (the reference for PER_USER_SQL)."""
    events = log.events
    experiment = events[events["day"] >= 0]
    pre = events[events["day"] < 0]
    counts = experiment.groupby(["user_id", "event"], observed=False).size().unstack()
    per_user = pd.DataFrame(
        {
            "pageviews": counts["pageview"],
            "clicks": counts["click"],
            "revenue": experiment.groupby("user_id")["revenue"].sum(),
            "converted": (counts["purchase"] > 0).astype(int),
        }
    )
    per_user["pre_revenue"] = pre.groupby("user_id")["revenue"].sum()
    users = log.users.set_index("user_id").join(per_user).fillna(0.0)
    return users.reset_index()


def _assert_statistics(actual: ArmStatistics, values: np.ndarray) -> None:
    expected = ArmStatistics.from_values(values)
    assert actual.n == expected.n
    assert (actual.sum, actual.sum_squares) == pytest.approx(
        (expected.sum, expected.sum_squares), rel=1e-9
    )


def test_arm_statistics_equal_the_row_level_sums(log_and_connection) -> None:  # type: ignore[no-untyped-def]
    log, connection = log_and_connection
    per_user = _per_user(log)
    assert len(per_user) == len(log.users)  # users without events are kept
    metrics = warehouse.query_arm_metrics(connection)
    for metric, column in (
        ("revenue", "revenue"),
        ("clicks", "clicks"),
        ("pageviews", "pageviews"),
        ("conversions", "converted"),
    ):
        control, treatment = getattr(metrics, metric)
        for arm, statistics in ((0, control), (1, treatment)):
            _assert_statistics(statistics, per_user.loc[per_user["arm"] == arm, column].to_numpy())
    ratio_control, _ = metrics.click_through
    arm0 = per_user[per_user["arm"] == 0]
    assert ratio_control.sum_cross_products == pytest.approx(
        float(arm0["clicks"] @ arm0["pageviews"]), rel=1e-12
    )
    assert ratio_control.ratio == pytest.approx(arm0["clicks"].sum() / arm0["pageviews"].sum())
    covariates, _ = metrics.revenue_with_pre_revenue
    assert covariates.sum_cross_products == pytest.approx(
        float(arm0["revenue"] @ arm0["pre_revenue"]), rel=1e-9
    )
    counts = warehouse.query_sample_ratio_counts(connection)
    assert counts == tuple(log.users["arm"].value_counts().sort_index().tolist())


def test_daily_looks_are_running_sums_of_daily_cohorts(log_and_connection) -> None:  # type: ignore[no-untyped-def]
    log, connection = log_and_connection
    events = log.events.merge(log.users, on="user_id")
    first_day_purchase = events[
        (events["event"] == "purchase") & (events["day"] == events["first_day"])
    ]["user_id"].unique()
    users = log.users.assign(converted=log.users["user_id"].isin(first_day_purchase).astype(int))
    looks = warehouse.query_daily_looks(connection)
    for arm in (0, 1):
        for day in range(7):
            cohort = users[(users["arm"] == arm) & (users["first_day"] <= day)]
            assert looks[arm].n[day] == len(cohort)
            assert looks[arm].sum[day] == cohort["converted"].sum()


def test_simulated_log_has_its_structure_and_lift() -> None:
    log = warehouse.simulate_event_log(50_000, n_days=7, n_pre_days=7, click_lift=0.5, rng=2)
    events = log.events
    assert set(events["event"].unique()) == {"pageview", "click", "purchase"}
    assert (events.loc[events["event"] != "purchase", "revenue"] == 0).all()
    assert (events.loc[events["event"] == "purchase", "revenue"] > 0).all()
    merged = events.merge(log.users, on="user_id")
    post = merged[merged["day"] >= merged["first_day"]]
    assert (merged["day"] < 7).all() and (merged["day"] >= -7).all()
    assert len(post) + (merged["day"] < 0).sum() == len(merged)  # nothing before arrival
    counts = post.groupby(["arm", "event"], observed=False).size().unstack()
    rates = counts["click"] / counts["pageview"]
    assert rates[1] / rates[0] == pytest.approx(1.5, rel=0.08)
    again = warehouse.simulate_event_log(50_000, n_days=7, n_pre_days=7, click_lift=0.5, rng=2)
    assert again.events.equals(events)


@pytest.mark.parametrize("dialect", ["spark", "bigquery", "snowflake", "postgres"])
def test_queries_are_portable_sql(dialect: str) -> None:
    sqlglot = pytest.importorskip("sqlglot")
    for sql in (warehouse.ARM_METRICS_SQL, warehouse.SAMPLE_RATIO_SQL, warehouse.DAILY_LOOKS_SQL):
        (translated,) = sqlglot.transpile(sql, read="duckdb", write=dialect)
        assert "SELECT" in translated


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_users must be at least 2"):
        warehouse.simulate_event_log(1)
    with pytest.raises(ValueError, match="click_lift must exceed -1"):
        warehouse.simulate_event_log(10, click_lift=-1.0)
    with pytest.raises(ValueError, match="directory has no users.parquet"):
        warehouse.connect(tmp_path)
    with pytest.raises(ValueError, match="log must be an EventLog"):
        warehouse.write_event_log("log", tmp_path)


def _flatten(values: object) -> list[float]:
    if isinstance(values, tuple):
        return [item for value in values for item in _flatten(value)]
    return [float(values)]  # type: ignore[arg-type]


def test_arm_metrics_from_rows_refuses_other_rows(log_and_connection) -> None:  # type: ignore[no-untyped-def]
    _, connection = log_and_connection
    rows = connection.execute(warehouse.ARM_METRICS_SQL).df()
    # DuckDB sums floats in parallel, so two runs of one query may differ in the last bits.
    from_rows = _flatten(dataclasses.astuple(warehouse.ArmMetrics.from_rows(rows)))
    queried = _flatten(dataclasses.astuple(warehouse.query_arm_metrics(connection)))
    assert from_rows == pytest.approx(queried, rel=1e-12, abs=0)
    with pytest.raises(ValueError, match="arm"):
        warehouse.ArmMetrics.from_rows(rows.iloc[::-1])
    with pytest.raises(ValueError, match="sum_clicks_pageviews"):
        warehouse.ArmMetrics.from_rows(rows.drop(columns="sum_clicks_pageviews"))


def test_unit_statistics_equal_per_geo_sums(log_and_connection) -> None:  # type: ignore[no-untyped-def]
    log, connection = log_and_connection
    per_user = _per_user(log)
    units = warehouse.query_unit_statistics(connection)
    assert units.units.tolist() == sorted(per_user["geo"].unique())
    for arm, statistics in ((0, units.control), (1, units.treatment)):
        grouped = per_user[per_user["arm"] == arm].groupby("geo")["revenue"]
        np.testing.assert_array_equal(statistics.n, grouped.size().to_numpy())
        np.testing.assert_allclose(statistics.sum, grouped.sum().to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(
            statistics.sum_squares, grouped.apply(lambda v: float(v @ v)).to_numpy(), rtol=1e-9
        )
    with pytest.raises(ValueError, match="geo-randomised"):
        warehouse.query_geo_deltas(connection)  # users, not geos, were randomised


@pytest.fixture(scope="module")
def geo_log_and_connection(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    log = warehouse.simulate_event_log(20_000, n_days=7, n_pre_days=7, assignment="geo", rng=6)
    directory = tmp_path_factory.mktemp("warehouse-geo")
    warehouse.write_event_log(log, directory)
    connection = warehouse.connect(directory, threads=1)
    yield log, connection
    connection.close()


def test_geo_deltas_equal_the_row_level_deltas(geo_log_and_connection) -> None:  # type: ignore[no-untyped-def]
    log, connection = geo_log_and_connection
    assert (log.users.groupby("geo")["arm"].nunique() == 1).all()
    assert log.users.groupby("geo")["arm"].first().sum() == 20  # half of 40 geos
    events = log.events.merge(log.users, on="user_id")
    geos = np.sort(log.users["geo"].unique())
    pre = events[events["day"] < 0].groupby("geo")["revenue"].sum().reindex(geos, fill_value=0)
    post = events[events["day"] >= 0].groupby("geo")["revenue"].sum().reindex(geos, fill_value=0)
    delta = post / 7 - pre / 7
    arm = log.users.groupby("geo")["arm"].first().reindex(geos)
    control, treatment = warehouse.query_geo_deltas(connection)
    _assert_statistics(control, delta[arm == 0].to_numpy())
    _assert_statistics(treatment, delta[arm == 1].to_numpy())
    welch = stats.ttest_ind(delta[arm == 1], delta[arm == 0], equal_var=False)
    did = geo.estimate_did_from_stats(control, treatment)
    assert did.estimate == pytest.approx(delta[arm == 1].mean() - delta[arm == 0].mean(), rel=1e-9)
    assert did.p_value == pytest.approx(welch.pvalue, rel=1e-7)
    with pytest.raises(ValueError, match="both arms"):
        warehouse.query_unit_statistics(connection)


def test_geo_assignment_needs_two_geos() -> None:
    with pytest.raises(ValueError, match="n_geos"):
        warehouse.simulate_event_log(100, n_geos=1, assignment="geo")
    with pytest.raises(ValueError, match="assignment"):
        warehouse.simulate_event_log(100, assignment="cluster")


def test_panel_equals_the_row_level_pivot(geo_log_and_connection) -> None:  # type: ignore[no-untyped-def]
    log, connection = geo_log_and_connection
    panel = warehouse.query_panel(connection)
    events = log.events.merge(log.users, on="user_id")
    expected = (
        events.groupby(["geo", "day"])["revenue"]
        .sum()
        .unstack(fill_value=0.0)
        .reindex(index=np.sort(log.users["geo"].unique()), fill_value=0.0)
    )
    found = panel.pivot(index="geo", columns="day", values="revenue")
    assert found.shape == expected.shape == (40, 14)
    np.testing.assert_allclose(found.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=1e-9)


def test_ipw_scores_give_the_row_level_ipw_estimate(tmp_path: Path) -> None:
    log = warehouse.simulate_event_log(2_000, n_days=3, n_pre_days=3, rng=7)
    warehouse.write_event_log(log, tmp_path)
    bandit_log = simulate_bandit_logs([0.10, 0.12], 4_000, propensity_floor=0.05, rng=8)
    warehouse.write_table(bandit_log, tmp_path, "bandit_log")
    connection = warehouse.connect(tmp_path, threads=1)
    scores = warehouse.query_ipw_scores(connection)
    from_sql = Estimate.from_standard_error("ipw", scores.mean, scores.se_mean)
    row_level = bandits.estimate_ipw(
        bandit_log["arm"], bandit_log["reward"], bandit_log["propensity"]
    )
    for field in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        assert getattr(from_sql, field) == pytest.approx(getattr(row_level, field), rel=1e-9)
    connection.close()


def test_arm_metrics_equal_the_arm_sums_of_the_per_user_level(log_and_connection) -> None:  # type: ignore[no-untyped-def]
    """ARM_METRICS_SQL reads only the events that move a sum (its WHERE): every column
    equals the per-arm sums over PER_USER_SQL, which reads every event."""
    _, connection = log_and_connection
    found = connection.execute(warehouse.ARM_METRICS_SQL).df().set_index("arm").astype(float)
    per_user = connection.execute(warehouse.PER_USER_SQL).df().astype(float)
    for name in ("revenue", "clicks", "pageviews", "pre_revenue"):
        per_user[f"{name}_squares"] = per_user[name] ** 2
    per_user["clicks_pageviews"] = per_user["clicks"] * per_user["pageviews"]
    per_user["revenue_pre_revenue"] = per_user["revenue"] * per_user["pre_revenue"]
    grouped = per_user.groupby("arm")
    assert (found["n"].to_numpy() == grouped.size().to_numpy()).all()
    assert (found["conversions"].to_numpy() == grouped["converted"].sum().to_numpy()).all()
    for column in found.columns.drop(["n", "conversions"]):
        np.testing.assert_allclose(
            found[column].to_numpy(),
            grouped[column.removeprefix("sum_")].sum().to_numpy(),
            rtol=1e-12,
        )


def test_event_log_is_written_sorted_by_user(log_and_connection) -> None:  # type: ignore[no-untyped-def]
    log, connection = log_and_connection
    user_ids = connection.execute("SELECT user_id FROM events").df()["user_id"].to_numpy()
    assert len(user_ids) == len(log.events)
    assert (np.diff(user_ids) >= 0).all()
