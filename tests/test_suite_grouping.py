"""The suite's ``xdist_group`` marks hold: tests of one group run on one worker.

Several modules share an expensive module-scoped fixture (a Spark session, the quick
benchmark run, the compiled full hierarchical model) and mark their tests with one
``xdist_group`` so that ``--dist loadgroup`` sends them to one worker and the fixture is
built once. When pytest and pytest-xdist disagree on how node ids are built (pytest 9.2
with pytest-xdist 3.8), the mark is silently ignored and each worker builds the fixture
again; this test runs a tiny grouped suite with two workers and fails then.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

GROUPED_TESTS = """
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("shared")


@pytest.mark.parametrize("index", range(8))
def test_records_its_worker(index):
    folder = Path(os.environ["GROUPING_OUTPUT"])
    (folder / f"{index}.txt").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_one_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED_TESTS)
    output = tmp_path / "workers"
    output.mkdir()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "xdist",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "test_grouped.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        # Only xdist is loaded (-p xdist): the other installed plugins (nbmake, timeout,
        # ...) would cost the three interpreters seconds of start-up each.
        env={**os.environ, "GROUPING_OUTPUT": str(output), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    workers = {path.read_text() for path in output.glob("*.txt")}
    assert len(list(output.glob("*.txt"))) == 8
    assert len(workers) == 1, f"one xdist_group ran on {sorted(workers)}"
