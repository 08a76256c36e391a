"""The benchmark suite runs end to end (tiny sizes), and the results the package ships
have the same shape as a run's.

``benchmarks/run_all.py --quick`` runs every benchmark, including the agreement checks
between each recipe and its reference; its times are never asserted, only that they are
positive and that every scaling curve has a finite exponent.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "run_all.py"
COMPARISONS = {
    "geo_power",
    "block_bootstrap",
    "hierarchical_fit",
    "thompson_two_arms",
    "synthetic_control",
}
CURVES = {"hierarchical_fit", "geo_power", "synthetic_control", "thompson_many_arms"}


# The module's tests share one quick benchmark run (22 s): one worker runs them all.
pytestmark = pytest.mark.xdist_group("benchmarks")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("benchmarks") / "quick.json"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(output.read_text())


def shipped() -> dict[str, Any]:
    path = resources.files("playbook_lib").joinpath("data", "benchmarks.json")
    return json.loads(path.read_text())


def test_the_quick_run_has_every_benchmark_with_positive_times(quick_run: dict) -> None:
    assert quick_run["quick"] is True
    assert set(quick_run["comparisons"]) == COMPARISONS
    for name, row in quick_run["comparisons"].items():
        for key in ("fast_cpu_s", "fast_wall_s", "reference_cpu_s", "reference_wall_s"):
            assert row[key] > 0, (name, key)
        assert row["cpu_ratio"] > 0 and math.isfinite(row["cpu_ratio"]), name
        assert row["agreement"], name
    assert set(quick_run["scaling"]) == CURVES
    for name, curve in quick_run["scaling"].items():
        assert len(curve["sizes"]) == len(curve["cpu_s"]) >= 2, name
        assert all(cpu > 0 for cpu in curve["cpu_s"]), name
        assert math.isfinite(curve["exponent"]) and curve["coefficient"] > 0, name
    machine = quick_run["machine"]
    assert machine["cores"] >= 1 and machine["python"] and machine["packages"]["numpy"]


def test_the_shipped_results_are_a_full_run_with_the_same_keys(quick_run: dict) -> None:
    results = shipped()
    assert results["quick"] is False
    assert set(results) == set(quick_run)
    assert set(results["machine"]) == set(quick_run["machine"])
    for section in ("comparisons", "scaling"):
        assert set(results[section]) == set(quick_run[section]), section
        for name, row in results[section].items():
            assert set(row) == set(quick_run[section][name]), (section, name)


def test_the_shipped_results_are_the_repository_copy() -> None:
    copy = ROOT / "benchmarks" / "results.json"
    assert json.loads(copy.read_text()) == shipped()
