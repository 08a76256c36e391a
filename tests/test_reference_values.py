"""The registry of independent references (tests/reference_values.py), checked entry by entry.

Every reference value must agree with the package within its tolerance, and every Monte
Carlo calibration must lie within three Monte Carlo standard errors of its nominal rate.
The book's validation page shows the same numbers; this module makes them a test.
"""

from __future__ import annotations

import math

import pytest
from reference_values import CALIBRATIONS, REFERENCE_VALUES, Calibration, ReferenceValue

from playbook_lib import Estimate

MODULES = {"abtest", "cuped", "geo", "synth", "sequential", "bandits", "decisions", "hbm"}


def test_the_registry_is_large_and_spans_the_modules() -> None:
    assert len(REFERENCE_VALUES) >= 25
    assert len(CALIBRATIONS) >= 8
    modules = {entry.module for entry in REFERENCE_VALUES}
    assert modules <= MODULES and len(modules) >= 6, modules
    assert len({entry.module for entry in CALIBRATIONS}) >= 5
    quantities = [entry.quantity for entry in [*REFERENCE_VALUES, *CALIBRATIONS]]
    assert len(quantities) == len(set(quantities)), "a quantity is listed twice"


@pytest.mark.parametrize("entry", REFERENCE_VALUES, ids=lambda entry: entry.quantity)
def test_reference_value_agrees_within_its_tolerance(entry: ReferenceValue) -> None:
    assert entry.source and entry.test and entry.tolerance >= 0
    value = float(entry.compute())
    assert entry.agrees(value), (
        f"{entry.quantity}: package {value!r}, reference {entry.reference!r} "
        f"({entry.source}), allowed difference {entry.allowed():g}"
    )


@pytest.mark.parametrize("entry", CALIBRATIONS, ids=lambda entry: entry.quantity)
def test_calibration_is_within_three_monte_carlo_errors(entry: Calibration) -> None:
    assert 0 < entry.nominal < 1 and entry.setup and entry.test
    rate = entry.compute()
    assert isinstance(rate, Estimate) and rate.method in ("coverage", "rejection rate")
    n = rate.details["n"]
    assert n >= 80
    assert rate.se == pytest.approx(math.sqrt(rate.estimate * (1 - rate.estimate) / n))
    assert rate.ci_low <= rate.estimate <= rate.ci_high
    assert entry.calibrated(rate), (
        f"{entry.quantity}: {rate.estimate:.4f} over {n} simulations, nominal "
        f"{entry.nominal}, {entry.z(rate):+.2f} Monte Carlo standard errors away"
    )
    # For a coverage or a size the nominal rate is the package's own (1 - alpha, or the
    # test's alpha), so z is the z_vs_nominal it reports; only a power check differs.
    if math.isclose(rate.details["nominal"], entry.nominal):
        assert entry.z(rate) == pytest.approx(rate.details["z_vs_nominal"])
    else:
        assert "power" in entry.quantity


def test_the_tolerance_rule() -> None:
    absolute = ReferenceValue("a", "abtest", 1.0, "s", 0.1, lambda: 1.0, test="t")
    relative = ReferenceValue("r", "abtest", 200.0, "s", 0.01, lambda: 1.0, relative=True, test="t")
    assert absolute.agrees(1.09) and not absolute.agrees(1.11)
    assert relative.agrees(198.0) and not relative.agrees(197.9)
    assert not absolute.agrees(math.nan)
    assert absolute.tolerance_text == "± 0.1" and relative.tolerance_text == "relative 0.01"
