"""The warehouse queries (playbook_lib.warehouse) against the same statistics computed row by
row with pandas, and their portability (sqlglot parses and transpiles them)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from playbook_lib import Estimate, Estimates, bandits, cuped, geo, warehouse
from playbook_lib.aggregates import ArmStatistics, CovariateMoments
from playbook_lib.cuped.regression import estimate_cuped_moments_from_stats
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
    # the pre-period's users apart: some have no experiment event
    pre_counts = pre.groupby(["user_id", "event"], observed=False).size().unstack()
    pre_period = pd.DataFrame(
        {
            "pre_revenue": pre.groupby("user_id")["revenue"].sum(),
            "pre_pageviews": pre_counts["pageview"],
            "pre_clicks": pre_counts["click"],
        }
    )
    users = log.users.set_index("user_id").join(per_user).join(pre_period).fillna(0.0)
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
    for sql in (
        warehouse.ARM_METRICS_SQL,
        warehouse.SAMPLE_RATIO_SQL,
        warehouse.DAILY_LOOKS_SQL,
        warehouse.COVARIATE_MOMENTS_SQL,
    ):
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


def test_duplicated_users_and_null_revenues_are_refused(tmp_path: Path) -> None:
    # Both would change every sum silently: a duplicated user counts twice (and fakes a
    # sample-ratio mismatch); SUM skips a NULL revenue, so the purchase counts as 0.
    log = warehouse.simulate_event_log(200, rng=3)
    duplicated = pd.concat([log.users, log.users.iloc[[0]]], ignore_index=True)
    null_revenue = log.events.assign(revenue=log.events["revenue"].astype(float))
    null_revenue.loc[null_revenue["revenue"] > 0, "revenue"] = np.nan
    for name, users, events, match in (
        ("dup", duplicated, log.events, "users: 1 user_id value"),
        ("null", log.users, null_revenue, "events: .* NULL revenue"),
    ):
        directory = tmp_path / name
        warehouse.write_table(users, directory, "users")
        warehouse.write_table(events, directory, "events")
        connection = warehouse.connect(directory, threads=1)
        for query in (warehouse.query_arm_metrics, warehouse.query_sample_ratio_counts):
            with pytest.raises(ValueError, match=match):
                query(connection)


def test_daily_looks_carry_an_arm_through_a_day_without_arrivals(tmp_path: Path) -> None:
    users = pd.DataFrame(
        {"user_id": range(6), "arm": [0, 0, 0, 1, 1, 1], "geo": 1, "first_day": [0, 1, 2, 0, 0, 2]}
    )
    events = pd.DataFrame(
        {
            "user_id": [0, 3, 5],
            "day": [0, 0, 2],
            "event_time": pd.Timestamp("2026-03-02 01:00"),
            "event": ["purchase", "purchase", "purchase"],
            "revenue": [10.0, 20.0, 30.0],
        }
    )
    warehouse.write_table(users, tmp_path, "users")
    warehouse.write_table(events, tmp_path, "events")
    control, treatment = warehouse.query_daily_looks(warehouse.connect(tmp_path, threads=1))
    # treatment has nobody arriving on day 1: its running sums stay at day 0's
    assert treatment.n.tolist() == [2, 2, 3] and treatment.sum.tolist() == [1.0, 1.0, 2.0]
    assert control.n.tolist() == [1, 2, 3] and control.sum.tolist() == [1.0, 1.0, 1.0]


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


@pytest.mark.parametrize("kept", ["day >= 0", "day < 0"])
def test_geo_deltas_name_a_missing_period(kept: str, tmp_path: Path) -> None:
    # A reader's own log may lack one period: each geo's mean over it divides by 0 days.
    log = warehouse.simulate_event_log(2_000, n_days=3, n_pre_days=3, assignment="geo", rng=1)
    warehouse.write_event_log(dataclasses.replace(log, events=log.events.query(kept)), tmp_path)
    connection = warehouse.connect(tmp_path, threads=1)
    with pytest.raises(ValueError, match=r"pre-period \(day < 0\) and experiment days"):
        warehouse.query_geo_deltas(connection)
    connection.close()


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


# ------------------------------------------------------- CUPED with several covariates
_COVARIATES = list(warehouse.COVARIATE_MOMENTS_COVARIATES)


def test_covariate_moments_equal_the_row_level_moments(log_and_connection) -> None:  # type: ignore[no-untyped-def]
    log, connection = log_and_connection
    per_user = _per_user(log)
    found = warehouse.query_covariate_moments(connection)
    for arm, moments in enumerate(found):
        rows = per_user[per_user["arm"] == arm]
        expected = CovariateMoments.from_frame(rows, "revenue", _COVARIATES)
        assert moments.n == expected.n and moments.k == 3
        np.testing.assert_allclose(moments.sum_covariates, expected.sum_covariates, rtol=1e-9)
        np.testing.assert_allclose(
            moments.sum_cross_products, expected.sum_cross_products, rtol=1e-9
        )
        assert moments.sum_outcome == pytest.approx(expected.sum_outcome, rel=1e-9)
    with pytest.raises(ValueError, match="rows lacks the column"):
        warehouse.covariate_moments_from_rows(pd.DataFrame({"arm": [0, 1]}))
    rows = connection.execute(warehouse.COVARIATE_MOMENTS_SQL).df()
    with pytest.raises(ValueError, match="rows must hold one row per arm"):
        warehouse.covariate_moments_from_rows(rows.iloc[::-1])


def _gap(first: Estimate, second: Estimate) -> float:
    pairs = [
        (getattr(first, f), getattr(second, f)) for f in ("estimate", "se", "ci_low", "ci_high")
    ]
    return max(abs(a - b) / abs(b) for a, b in pairs)


def test_cuped_from_moments_equals_the_row_level_cuped_and_ols(log_and_connection) -> None:  # type: ignore[no-untyped-def]
    """From SQL moments: the same estimate as estimate_cuped on the per-user rows with a
    covariate matrix, and the OLS coefficient of y ~ 1 + treatment + x (statsmodels)."""
    log, connection = log_and_connection
    per_user = _per_user(log)
    control, treatment = warehouse.query_covariate_moments(connection)
    from_sql = estimate_cuped_moments_from_stats(control, treatment)
    from_rows = cuped.estimate_cuped(
        per_user["revenue"], per_user[_COVARIATES].to_numpy(), per_user["arm"]
    )
    assert _gap(from_sql, from_rows) < 1e-9
    assert from_sql.p_value == pytest.approx(from_rows.p_value, rel=1e-8)
    design = sm.add_constant(per_user[["arm", *_COVARIATES]].astype(float).to_numpy())
    ols = sm.OLS(per_user["revenue"].to_numpy(float), design).fit()
    assert from_sql.estimate == pytest.approx(ols.params[1], rel=1e-9)
    np.testing.assert_allclose(from_sql.details["theta"], ols.params[2:], rtol=1e-9)
    # one covariate: the single-covariate twin's answer
    single = estimate_cuped_moments_from_stats(control.select([0]), treatment.select([0]))
    twin = cuped.estimate_cuped_from_stats(
        *warehouse.query_arm_metrics(connection).revenue_with_pre_revenue
    )
    assert _gap(single, twin) < 1e-9
    # swapping the arms flips the sign; the relative lift is the rows' too
    swapped = estimate_cuped_moments_from_stats(treatment, control)
    assert swapped.estimate == pytest.approx(-from_sql.estimate, rel=1e-12)
    lift = estimate_cuped_moments_from_stats(control, treatment, relative=True)
    lift_rows = cuped.estimate_cuped(
        per_user["revenue"], per_user[_COVARIATES].to_numpy(), per_user["arm"], relative=True
    )
    assert _gap(lift, lift_rows) < 1e-9


def _row_level_cuped(y: np.ndarray, x: np.ndarray, treated: np.ndarray) -> tuple[float, float]:
    """A plain row-level implementation (independent of the package): pooled within-arm
    theta by least squares on arm-centred rows, then Welch on y - x theta."""
    centred_y = y - np.where(treated, y[treated].mean(), y[~treated].mean())
    centred_x = x - np.where(treated[:, None], x[treated].mean(0), x[~treated].mean(0))
    theta = np.linalg.lstsq(centred_x, centred_y, rcond=None)[0]
    adjusted = y - x @ theta
    a, b = adjusted[~treated], adjusted[treated]
    return b.mean() - a.mean(), np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)


def test_cuped_from_moments_equals_a_row_level_implementation() -> None:
    rng = np.random.default_rng(31)
    x = np.column_stack([rng.gamma(2.0, 1.0, 900), rng.poisson(3.0, 900), rng.normal(size=900)])
    treated = rng.random(900) < 0.35
    y = x @ [2.0, 0.5, -1.0] + 0.3 * treated + rng.standard_t(5, 900)
    estimate, se = _row_level_cuped(y, x, treated)
    found = estimate_cuped_moments_from_stats(
        CovariateMoments.from_values(y[~treated], x[~treated]),
        CovariateMoments.from_values(y[treated], x[treated]),
    )
    assert found.estimate == pytest.approx(estimate, rel=1e-9)
    assert found.se == pytest.approx(se, rel=1e-9)


def test_cuped_from_moments_interval_covers_at_its_level() -> None:
    """Monte Carlo: 3,000 experiments of 400 users (35% treated) with skewed covariates,
    heteroskedastic noise and an effect that varies with a covariate; the 95% interval
    covers the average effect (1.0) within 3 Monte Carlo standard errors."""
    rng = np.random.default_rng(20261202)
    n_sims, n = 3_000, 400
    x = np.stack(
        [
            rng.gamma(2.0, 1.0, (n_sims, n)),
            rng.poisson(3.0, (n_sims, n)),
            rng.normal(size=(n_sims, n)),
        ],
        axis=-1,
    )
    treated = rng.random((n_sims, n)) < 0.35
    effect = 1.0 + 0.5 * (x[..., 0] - 2.0)  # mean 1.0
    noise = rng.normal(size=(n_sims, n)) * (0.5 + 0.5 * x[..., 0])
    y = x @ np.array([2.0, 0.5, -1.0]) + effect * treated + noise
    z = np.concatenate([y[..., None], x], axis=-1)
    moments = {}
    for arm, mask in (("control", ~treated), ("treatment", treated)):
        w = mask.astype(float)
        moments[arm] = (
            w.sum(axis=1),
            np.einsum("sn,snj->sj", w, z),
            np.einsum("sn,sni,snj->sij", w, z, z),
        )
    estimates = Estimates.from_list(
        [
            estimate_cuped_moments_from_stats(
                *(
                    CovariateMoments(int(n_arm[s]), sums[s, 0], sums[s, 1:], cross[s])
                    for n_arm, sums, cross in (moments["control"], moments["treatment"])
                )
            )
            for s in range(n_sims)
        ]
    )
    coverage = estimates.coverage(1.0)
    assert abs(coverage.estimate - 0.95) < 3 * coverage.details["nominal_se"], coverage
    # and the adjustment pays: narrower than the unadjusted difference on every draw here
    frame = estimates.to_frame()
    assert (frame["variance_reduction"] > 0.3).mean() > 0.99


def test_cuped_from_moments_refuses_bad_input() -> None:
    rng = np.random.default_rng(2)
    y, x = rng.normal(size=50), rng.normal(size=(50, 2))
    two = CovariateMoments.from_values(y, x)
    with pytest.raises(ValueError, match="treatment holds 1 covariate"):
        estimate_cuped_moments_from_stats(two, two.select([0]))
    with pytest.raises(ValueError, match="control must be a playbook_lib.aggregates.Covariate"):
        estimate_cuped_moments_from_stats(two.to_covariate_statistics(0), two)
    with pytest.raises(ValueError, match="treatment: n must be at least 2"):
        estimate_cuped_moments_from_stats(two, CovariateMoments.from_values(y[:1], x[:1]))
    collinear = CovariateMoments.from_values(y, np.column_stack([x[:, 0], 2 * x[:, 0]]))
    with pytest.raises(ValueError, match="sum_cross_products: the covariates are constant"):
        estimate_cuped_moments_from_stats(collinear, collinear)
