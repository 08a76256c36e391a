"""The registry of independent references (tests/reference_values.py), checked entry by entry.

Every reference value must agree with the package within its tolerance, element by element,
and every Monte Carlo calibration must lie within three Monte Carlo standard errors of its
nominal rate; the references checked only in their own test modules must be complete
entries that name an existing test. The book's validation page shows the same numbers;
this module makes them a test.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from reference_values import (
    CALIBRATIONS,
    CHECKED_IN_TEST_MODULES,
    REFERENCE_VALUES,
    Calibration,
    ListedReference,
    ReferenceValue,
)

from playbook_lib import Estimate

MODULES = {"abtest", "cuped", "geo", "synth", "sequential", "bandits", "decisions", "hbm"}


def test_the_registry_is_large_and_spans_the_modules() -> None:
    assert len(REFERENCE_VALUES) >= 100
    assert sum(entry.n_values for entry in REFERENCE_VALUES) >= 280
    assert len(CALIBRATIONS) >= 8
    modules = {entry.module for entry in REFERENCE_VALUES}
    assert modules <= MODULES and len(modules) >= 6, modules
    assert len({entry.module for entry in CALIBRATIONS}) >= 5
    entries = [*REFERENCE_VALUES, *CALIBRATIONS, *CHECKED_IN_TEST_MODULES]
    quantities = [entry.quantity for entry in entries]
    assert len(quantities) == len(set(quantities)), "a quantity is listed twice"


@pytest.mark.parametrize("entry", REFERENCE_VALUES, ids=lambda entry: entry.quantity)
def test_reference_value_agrees_within_its_tolerance(entry: ReferenceValue) -> None:
    assert entry.source and entry.test and entry.tolerance >= 0
    assert np.all(np.isfinite(entry.references))
    value = entry.compute()
    assert entry.values(value).shape == entry.references.shape, entry.quantity
    assert entry.agrees(value), (
        f"{entry.quantity}: package {entry.values(value)!r}, reference "
        f"{entry.references!r} ({entry.source}), largest difference "
        f"{entry.largest_difference(value):g}, allowed {entry.allowed()!r}"
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
    assert absolute.n_values == 1 and absolute.largest_difference(1.05) == pytest.approx(0.05)
    # a tuple is compared element by element, each against its own relative allowance
    pair = ReferenceValue("p", "abtest", (1.0, 100.0), "s", 0.01, lambda: 0, relative=True)
    assert pair.n_values == 2 and np.allclose(pair.allowed(), [0.01, 1.0])
    assert pair.agrees([1.005, 100.9]) and not pair.agrees([1.02, 100.0])
    assert not pair.agrees([1.0]) and not pair.agrees([1.0, 100.0, 3.0])  # wrong length
    assert not pair.agrees([1.0, math.nan]) and math.isnan(pair.largest_difference([1.0]))
    assert pair.largest_difference(np.array([1.0, 99.5])) == pytest.approx(0.5)


TESTS = Path(__file__).parent


def _test_exists(name: str) -> bool:
    module, function = name.split("::")
    source = (TESTS / module).read_text()
    return re.search(rf"^def {re.escape(function)}\(", source, re.M) is not None


@pytest.mark.parametrize(
    "entry",
    [*REFERENCE_VALUES, *CALIBRATIONS],
    ids=lambda entry: entry.quantity,
)
def test_every_entry_names_an_existing_test(entry: ReferenceValue | Calibration) -> None:
    assert _test_exists(entry.test), entry.test


@pytest.mark.parametrize("entry", CHECKED_IN_TEST_MODULES, ids=lambda entry: entry.quantity)
def test_references_checked_in_their_modules_are_complete(entry: ListedReference) -> None:
    assert entry.quantity and entry.module in MODULES
    assert entry.reference and entry.source and entry.tolerance
    for name in entry.test.split(", "):
        name = name if "::" in name else f"{entry.test.split('::')[0]}::{name}"
        assert _test_exists(name), name
