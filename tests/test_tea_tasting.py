"""An independent reference for the warehouse path: tea-tasting (Ibis/narwhals-based
experiment analysis) on the same per-user table from DuckDB agrees with the package's
``_from_stats`` twins fed by the SQL sums, to 1e-6.

tea-tasting is an optional test dependency (the ``reference`` extra): skipped with the
reason when it is missing, unless ``PLAYBOOK_REQUIRE_REFERENCES=1`` (set by ``.ci/run``,
which installs it), where its absence fails the test.
"""

from __future__ import annotations

import os

import pytest

from playbook_lib import abtest, cuped, warehouse

REQUIRED = os.environ.get("PLAYBOOK_REQUIRE_REFERENCES") == "1"


@pytest.fixture(scope="module")
def analyses(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    try:
        import tea_tasting as tt
    except ImportError:
        if REQUIRED:
            pytest.fail("PLAYBOOK_REQUIRE_REFERENCES=1 but tea-tasting is not installed")
        pytest.skip("tea-tasting is not installed (pip install -e '.[reference]')")
    directory = tmp_path_factory.mktemp("event-log")
    log = warehouse.simulate_event_log(20_000, n_days=7, n_pre_days=7, rng=20261202)
    warehouse.write_event_log(log, directory)
    connection = warehouse.connect(directory, threads=1)
    users = connection.execute(warehouse.PER_USER_SQL).df()
    experiment = tt.Experiment(
        variant="arm",
        revenue=tt.Mean("revenue"),
        conversion=tt.Mean("converted"),
        # the delta-method ratio test is a z-test here (tea-tasting defaults to t)
        click_through=tt.RatioOfMeans("clicks", "pageviews", use_t=False),
        revenue_cuped=tt.Mean("revenue", covariate="pre_revenue"),
    )
    reference = experiment.analyze(users).to_pandas().set_index("metric")
    metrics = warehouse.query_arm_metrics(connection)
    ours = {
        "revenue": abtest.compare_means_from_stats(*metrics.revenue),
        "conversion": abtest.compare_means_from_stats(*metrics.conversions),
        "click_through": abtest.compare_ratio_metrics_from_stats(*metrics.click_through),
        "revenue_cuped": cuped.estimate_cuped_from_stats(
            *metrics.revenue_with_pre_revenue, theta_method="total"
        ),
    }
    yield reference, ours
    connection.close()


@pytest.mark.parametrize("metric", ["revenue", "conversion", "click_through", "revenue_cuped"])
def test_tea_tasting_agrees_with_the_sql_sums(analyses, metric: str) -> None:  # type: ignore[no-untyped-def]
    reference, ours = analyses
    row, estimate = reference.loc[metric], ours[metric]
    assert estimate.estimate == pytest.approx(row["effect_size"], rel=1e-6)
    assert estimate.ci_low == pytest.approx(row["effect_size_ci_lower"], rel=1e-6)
    assert estimate.ci_high == pytest.approx(row["effect_size_ci_upper"], rel=1e-6)
    assert estimate.p_value == pytest.approx(row["pvalue"], rel=1e-6)
