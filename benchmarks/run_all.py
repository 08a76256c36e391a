"""Every benchmark in one run: each heavy recipe against a straightforward reference, and
how the cost of the recipes whose inputs grow scales with their size.

Run from the repository root::

    python benchmarks/run_all.py            # the full run: a few minutes
    python benchmarks/run_all.py --quick    # tiny sizes, seconds (the test runs it)

Prints a table of CPU seconds (``time.process_time``: all threads, plus finished child
processes) and wall seconds of the recipe and its reference and their ratios, then the
scaling curves with the exponent ``b`` of ``cpu = a * size^b`` (least squares on the
log-log scale). Every reference computes the same quantity as its recipe, and the script
asserts that they agree (see each benchmark's docstring), so a ratio compares equals.

The full run writes ``benchmarks/results.json`` and the copy the package ships,
``playbook_lib/data/benchmarks.json`` (read by the book's performance page), with the
machine's facts; ``--quick`` writes only where ``--output`` says. The machine may be
shared with other work: CPU seconds are the headline, wall seconds are context.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import block_bootstrap
import geo_power
import hbm_scaling
import synthetic_control
import thompson_propensities

ROOT = Path(__file__).resolve().parent.parent
FULL_OUTPUTS = (
    ROOT / "benchmarks" / "results.json",
    ROOT / "playbook_lib" / "data" / "benchmarks.json",
)
PACKAGES = (
    "experimentation-playbook",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "pymc",
    "pytensor",
    "nutpie",
    "numba",
    "arviz",
)


def machine() -> dict[str, Any]:
    """Where and when the figures were measured."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": versions,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def comparisons(quick: bool) -> list[dict[str, Any]]:
    if quick:
        return [
            geo_power.compare(n_sims=100),
            block_bootstrap.compare(n_logs=3, n_rounds=2_000),
            hbm_scaling.compare(n_units=30, draws=50, tune=50, chains=2, quick=True),
            thompson_propensities.two_arms(n_reps=5, n_rounds=1_000, long_run_reps=5),
            synthetic_control.compare(n_panels=2, n_donors=10),
        ]
    return [
        geo_power.compare(),
        block_bootstrap.compare(),
        hbm_scaling.compare(),
        thompson_propensities.two_arms(),
        synthetic_control.compare(),
    ]


def curves(quick: bool) -> list[dict[str, Any]]:
    if quick:
        return [
            hbm_scaling.scale((50, 100, 200)),
            geo_power.scale(n_sims=50, geo_counts=(40, 80, 160)),
            synthetic_control.scale(n_panels=2, donor_counts=(10, 20)),
            thompson_propensities.many_arms(n_rows=100, arm_counts=(2, 3, 5)),
        ]
    return [
        hbm_scaling.scale(),
        geo_power.scale(),
        synthetic_control.scale(),
        thompson_propensities.many_arms(),
    ]


def print_table(rows: list[dict[str, Any]], scaling_rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'benchmark':<20} {'fast CPU s':>10} {'ref CPU s':>10} {'CPU ratio':>9} "
        f"{'fast wall s':>11} {'ref wall s':>10} {'wall ratio':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['name']:<20} {row['fast_cpu_s']:>10.3f} {row['reference_cpu_s']:>10.3f} "
            f"{row['cpu_ratio']:>8.0f}x {row['fast_wall_s']:>11.3f} "
            f"{row['reference_wall_s']:>10.3f} {row['wall_ratio']:>9.0f}x"
        )
    for row in rows:
        print(f"  {row['name']}: {row['size']}; reference: {row['reference']}")
    print()
    print("scaling: cpu = a * size^b")
    for row in scaling_rows:
        points = ", ".join(
            f"{size:,} {row['size_name']}: {cpu:.3g} s"
            for size, cpu in zip(row["sizes"], row["cpu_s"], strict=True)
        )
        print(f"  {row['name']:<20} b = {row['exponent']:.2f}   ({points})")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    parser.add_argument(
        "--output",
        action="append",
        type=Path,
        help="where to write the JSON (repeatable); default: the full run's two files, "
        "nowhere for --quick",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = comparisons(args.quick)
    scaling_rows = curves(args.quick)
    results = {
        "machine": machine(),
        "quick": args.quick,
        "run_wall_s": time.perf_counter() - start,
        "comparisons": {row["name"]: row for row in rows},
        "scaling": {row["name"]: row for row in scaling_rows},
    }
    print_table(rows, scaling_rows)
    outputs = args.output or ([] if args.quick else list(FULL_OUTPUTS))
    text = json.dumps(results, indent=1, default=float) + "\n"
    for path in outputs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    print(f"{results['run_wall_s']:.0f} s in all")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
