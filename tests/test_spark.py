"""The warehouse SQL on a distributed engine: Apache Spark (local mode) gives the same
statistics as DuckDB.

Needs ``pyspark`` (the ``spark`` extra) and a Java runtime. Skipped with the reason when
either is missing, unless ``PLAYBOOK_REQUIRE_SPARK=1`` (set by ``.ci/run``, which installs
both), where a missing engine fails the test instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlglot

from playbook_lib import warehouse
from playbook_lib.cuped.regression import estimate_cuped_moments_from_stats

REQUIRED = os.environ.get("PLAYBOOK_REQUIRE_SPARK") == "1"


def _missing_engine() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (apt-get install openjdk-17-jre-headless)"
    return None


# The module's tests share one Spark session (25 s to start): one worker runs them all.
pytestmark = pytest.mark.xdist_group("spark")


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    reason = _missing_engine()
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"PLAYBOOK_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    directory = tmp_path_factory.mktemp("event-log")
    log = warehouse.simulate_event_log(20_000, n_days=7, n_pre_days=7, rng=20261202)
    paths = warehouse.write_event_log(log, directory)
    duck = warehouse.connect(directory, threads=1)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("playbook-warehouse-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    for table, path in paths.items():
        spark.read.parquet(str(Path(path))).createOrReplaceTempView(table)
    yield duck, spark
    spark.stop()
    duck.close()


QUERIES = {
    "ARM_METRICS_SQL": (warehouse.ARM_METRICS_SQL, ["arm"]),
    "SAMPLE_RATIO_SQL": (warehouse.SAMPLE_RATIO_SQL, ["arm"]),
    "DAILY_LOOKS_SQL": (warehouse.DAILY_LOOKS_SQL, ["day", "arm"]),
    "PER_USER_SQL": (warehouse.PER_USER_SQL, ["user_id"]),
    "COVARIATE_MOMENTS_SQL": (warehouse.COVARIATE_MOMENTS_SQL, ["arm"]),
}


def _spark_rows(spark, query: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Run a DuckDB-dialect query on Spark (transpiled by sqlglot); rows as a DataFrame.

    Rows are collected as Python values rather than by ``toPandas()``, whose pandas
    conversion in pyspark 3.5 uses keywords pandas 3 deprecates.
    """
    (translated,) = sqlglot.transpile(query, read="duckdb", write="spark")
    result = spark.sql(translated)
    return pd.DataFrame([row.asDict() for row in result.collect()], columns=result.columns)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_spark_returns_the_statistics_duckdb_returns(engines, name: str) -> None:  # type: ignore[no-untyped-def]
    duck, spark = engines
    query, keys = QUERIES[name]
    expected = duck.execute(query).df().sort_values(keys).reset_index(drop=True)
    found = _spark_rows(spark, query).sort_values(keys).reset_index(drop=True)
    assert list(found.columns) == list(expected.columns)
    assert len(found) == len(expected) > 0
    np.testing.assert_allclose(
        found.to_numpy(dtype=float), expected.to_numpy(dtype=float), rtol=1e-9, atol=1e-12
    )


@pytest.mark.timeout(300)
def test_spark_rows_make_the_same_typed_statistics(engines) -> None:  # type: ignore[no-untyped-def]
    duck, spark = engines
    rows = _spark_rows(spark, warehouse.ARM_METRICS_SQL)
    from_spark = warehouse.ArmMetrics.from_rows(rows.astype({"arm": int}))
    from_duckdb = warehouse.query_arm_metrics(duck)
    for field in ("revenue", "clicks", "conversions"):
        pairs = zip(getattr(from_spark, field), getattr(from_duckdb, field), strict=True)
        for spark_arm, duck_arm in pairs:
            assert spark_arm.n == duck_arm.n
            assert spark_arm.sum == pytest.approx(duck_arm.sum, rel=1e-12)
            assert spark_arm.sum_squares == pytest.approx(duck_arm.sum_squares, rel=1e-12)
    assert pd.Series(from_spark.click_through[1].ratio).item() == pytest.approx(
        from_duckdb.click_through[1].ratio, rel=1e-12
    )


@pytest.mark.timeout(300)
def test_spark_rows_make_the_same_covariate_moments(engines) -> None:  # type: ignore[no-untyped-def]
    """Multi-covariate CUPED moments from Spark: the same typed statistics, and so the
    same estimate, as from DuckDB."""
    duck, spark = engines
    rows = _spark_rows(spark, warehouse.COVARIATE_MOMENTS_SQL)
    from_spark = warehouse.covariate_moments_from_rows(
        rows.astype({"arm": int}).sort_values("arm").reset_index(drop=True)
    )
    from_duckdb = warehouse.query_covariate_moments(duck)
    for spark_arm, duck_arm in zip(from_spark, from_duckdb, strict=True):
        assert spark_arm.n == duck_arm.n
        np.testing.assert_allclose(
            spark_arm.sum_cross_products, duck_arm.sum_cross_products, rtol=1e-12
        )
        np.testing.assert_allclose(spark_arm.sum_covariates, duck_arm.sum_covariates, rtol=1e-12)
    spark_estimate = estimate_cuped_moments_from_stats(*from_spark)
    duck_estimate = estimate_cuped_moments_from_stats(*from_duckdb)
    assert spark_estimate.estimate == pytest.approx(duck_estimate.estimate, rel=1e-9)
    assert spark_estimate.se == pytest.approx(duck_estimate.se, rel=1e-9)
