"""Inference after a group-sequential stop: rpact's values, exact theory and calibration.

References
----------
rpact 4.x (Debian's r-cran-rpact), computed once and kept as literals. The design is
rpact's one-sided O'Brien-Fleming design at information rates 1/3, 2/3, 1; the data are
log-rank statistics (``overallLogRanks``) at 100, 200 and 300 events, so a look's effect is
the log hazard ratio ``z * 2 / sqrt(events)`` with standard error ``2 / sqrt(events)``
(rpact reports hazard ratios: the literals below are exp of the log-scale results)::

    library(rpact)
    d <- getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1,
        typeOfDesign = "OF", informationRates = c(1/3, 2/3, 1))
    ds <- getDataset(overallEvents = c(100, 200), overallLogRanks = c(1.5, 3.1),
        overallAllocationRatios = c(1, 1))
    r <- getAnalysisResults(design = d, dataInput = ds, directionUpper = TRUE)
    r$finalPValues; r$finalConfidenceIntervalLowerBounds
    r$finalConfidenceIntervalUpperBounds; r$medianUnbiasedEstimates
    r$repeatedConfidenceIntervalLowerBounds; r$repeatedConfidenceIntervalUpperBounds

(and likewise for the other two cases).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from playbook_lib import sequential as sq
from playbook_lib.sequential.after_stop import _stagewise_upper_probability, _upper_lower

RPACT_BOUNDS = [3.47109144465409, 2.45443229863352, 2.00403557995285]
RPACT_EVENTS = np.array([100.0, 200.0, 300.0])
# z at each look taken -> (final p, final CI low, high, median-unbiased HR, RCI lows, highs)
RPACT_CASES = {
    (1.5, 3.1): (
        0.00115949310888508,
        1.17036554805716,
        2.04312749563931,
        1.54745442791621,
        [0.674206868279439, 1.09559441391174],
        [2.702610854715, 2.19353708767719],
    ),
    (3.8,): (
        7.23480439250856e-05,
        1.44485244634148,
        3.16449282189301,
        2.13827622049682,
        [1.06799356117929],
        [4.28113560168751],
    ),
    (1.2, 2.0, 2.3): (
        0.0145155203021636,
        1.02730452577519,
        1.6286001500833,
        1.29576502353288,
        [0.634944116844734, 0.937755096140506, 1.0347657032221],
        [2.54522280336271, 1.87752022380815, 1.64376152089806],
    ),
}


@pytest.mark.parametrize("zs", list(RPACT_CASES))
def test_stagewise_inference_matches_rpact(zs: tuple[float, ...]) -> None:
    design = sq.design_from_bounds([1 / 3, 2 / 3, 1.0], RPACT_BOUNDS, sides=1)
    se = 2.0 / np.sqrt(RPACT_EVENTS[: len(zs)])
    estimates = np.asarray(zs) * se
    p, low, high, median, rci_low, rci_high = RPACT_CASES[zs]
    result = sq.estimate_after_stop(design, len(zs), estimates[-1], se[-1])
    assert result.details["one_sided_p_value"] == pytest.approx(p, rel=1e-6)
    assert math.exp(result.ci_low) == pytest.approx(low, rel=1e-7)
    assert math.exp(result.ci_high) == pytest.approx(high, rel=1e-7)
    assert math.exp(result.estimate) == pytest.approx(median, rel=1e-7)
    assert result.alpha == pytest.approx(0.05, abs=1e-8)  # 1 - 2 alpha for a one-sided design
    rci = sq.compute_repeated_confidence_intervals(design, estimates, se).to_frame()
    np.testing.assert_allclose(np.exp(rci["ci_low"]), rci_low, rtol=1e-7)
    np.testing.assert_allclose(np.exp(rci["ci_high"]), rci_high, rtol=1e-7)


def test_one_look_is_the_fixed_sample_z_test() -> None:
    design = sq.design_from_bounds([1.0], [stats.norm.isf(0.025)], sides=2)
    result = sq.estimate_after_stop(design, 1, 0.3, 0.12)
    z975 = stats.norm.isf(0.025)
    assert result.estimate == pytest.approx(0.3, abs=1e-9)
    assert result.ci_low == pytest.approx(0.3 - z975 * 0.12, abs=1e-9)
    assert result.ci_high == pytest.approx(0.3 + z975 * 0.12, abs=1e-9)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(0.3 / 0.12), rel=1e-8)
    assert result.se == pytest.approx(0.12, rel=1e-9)


def test_the_stagewise_p_value_agrees_with_the_design() -> None:
    """p <= alpha exactly when the design rejected (the ordering's defining property)."""
    design = sq.design_obrien_fleming(3, alpha=0.025, sides=1)
    bounds = design.efficacy_bounds
    for look, z in ((1, bounds[0] + 0.01), (2, bounds[1] + 0.5), (3, bounds[2] + 0.01)):
        result = sq.estimate_after_stop(design, look, z, 1.0)
        assert result.details["one_sided_p_value"] <= design.alpha
        assert result.ci_low > 0  # the interval agrees with the test
    for z in (bounds[2] - 0.01, 0.0, -1.0):  # ran to the end without crossing
        result = sq.estimate_after_stop(design, 3, z, 1.0)
        assert result.details["one_sided_p_value"] > design.alpha
        assert result.ci_low < 0
    # stopping earlier with the same z is more extreme
    early = sq.estimate_after_stop(design, 2, 3.5, 1.0).details["one_sided_p_value"]
    late = sq.estimate_after_stop(design, 3, 3.5, 1.0).details["one_sided_p_value"]
    assert early < late


@pytest.mark.parametrize("drift", [0.0, 2.0, 3.5])
def test_stagewise_probability_is_uniform_at_the_true_drift(drift: float) -> None:
    """Calibration: at the true drift the outcome's stage-wise probability is U(0, 1), so the
    median-unbiased estimate is above the truth half the time and the adjusted interval
    covers 95%; the naive estimate at the stop is biased upwards."""
    rng = np.random.default_rng(20261202)
    design = sq.design_obrien_fleming(3, alpha=0.025, sides=1)
    fractions = design.information_fractions
    n = 40_000
    steps = np.diff(fractions, prepend=0.0)
    scores = np.cumsum(
        drift * steps + np.sqrt(steps) * rng.standard_normal((n, 3)), axis=1
    )  # S_k = sqrt(t_k) Z_k, a Brownian motion with drift
    z = scores / np.sqrt(fractions)
    crossed = z >= design.efficacy_bounds
    look = np.where(crossed.any(axis=1), crossed.argmax(axis=1), 2)
    upper, lower = _upper_lower(design)
    probability = np.empty(n)
    for k in range(3):
        rows = look == k
        probability[rows] = _stagewise_upper_probability(
            fractions, upper, lower, drift, k, z[rows, k]
        )
    below_half = np.mean(probability < 0.5)
    inside = np.mean((probability > 0.025) & (probability < 0.975))
    assert abs(below_half - 0.5) < 4 * math.sqrt(0.25 / n)
    assert abs(inside - 0.95) < 4 * math.sqrt(0.95 * 0.05 / n)
    # the solved estimate and interval are the same statements for a handful of paths
    for row in rng.choice(n, 12, replace=False):
        result = sq.estimate_after_stop(design, look[row] + 1, z[row, look[row]], 1.0)
        full = result.details["full_information_se"]
        assert (result.estimate <= drift * full) == (probability[row] >= 0.5)
        covers = result.ci_low <= drift * full <= result.ci_high
        assert covers == (0.025 <= probability[row] <= 0.975)
    if drift > 0:  # the naive z / sqrt(t) at the stop overstates the drift
        naive = z[np.arange(n), look] / np.sqrt(fractions[look])
        assert naive.mean() - drift > 10 * naive.std() / math.sqrt(n)


def test_repeated_intervals_cover_simultaneously() -> None:
    """A two-sided Pocock design's repeated intervals all cover with probability 1 - alpha
    (exactly: their complement is the null crossing event)."""
    rng = np.random.default_rng(7)
    design = sq.design_pocock(4, alpha=0.05)
    fractions = design.information_fractions
    n, theta, full_se = 40_000, 0.4, 0.1
    steps = np.diff(fractions, prepend=0.0)
    scores = np.cumsum(
        theta / full_se * steps + np.sqrt(steps) * rng.standard_normal((n, 4)), axis=1
    )
    se = full_se / np.sqrt(fractions)
    estimates = scores / np.sqrt(fractions) * se
    covered = np.abs(estimates - theta) <= design.efficacy_bounds * se
    share = covered.all(axis=1).mean()
    assert abs(share - 0.95) < 4 * math.sqrt(0.95 * 0.05 / n)
    one = sq.compute_repeated_confidence_intervals(design, estimates[0], se).to_frame()
    np.testing.assert_allclose(one["ci_high"] - one["ci_low"], 2 * design.efficacy_bounds * se)


def test_bad_inputs_name_the_argument() -> None:
    design = sq.design_obrien_fleming(3, alpha=0.025, sides=1)
    with pytest.raises(ValueError, match="stop_look"):
        sq.estimate_after_stop(design, 0, 3.0, 1.0)
    with pytest.raises(ValueError, match="did not cross"):
        sq.estimate_after_stop(design, 1, 1.0, 1.0)
    with pytest.raises(ValueError, match="se"):
        sq.estimate_after_stop(design, 3, 1.0, 0.0)
    with pytest.raises(ValueError, match="design"):
        sq.estimate_after_stop("obf", 3, 1.0, 1.0)  # type: ignore[arg-type]


# rpact, the binding beta-spending design of tests/test_sequential_futility.py (futility is
# part of the stage-wise ordering), the same log-rank data layout as above::
#
#     d <- getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, sided = 1,
#         typeOfDesign = "asOF", typeBetaSpending = "bsOF", bindingFutility = TRUE)
#     ds <- getDataset(overallEvents = c(100, 200), overallLogRanks = c(1.5, 2.6),
#         overallAllocationRatios = c(1, 1))
#     r <- getAnalysisResults(design = d, dataInput = ds, directionUpper = TRUE)
#     r$finalPValues; r$finalConfidenceIntervalLowerBounds
#     r$finalConfidenceIntervalUpperBounds; r$medianUnbiasedEstimates
#
# (and the three looks 0.5, 1.6, 2.1): the last stage's values.
RPACT_BINDING_CASES = {
    (1.5, 2.6): (0.00469901640442916, 1.09443139597993, 1.9057307622269, 1.44424054693633),
    (0.5, 1.6, 2.1): (
        0.0185013379225778,
        1.01504783477329,
        1.6202677454605,
        1.27996882496856,
    ),
}


@pytest.mark.parametrize("zs", list(RPACT_BINDING_CASES))
def test_stagewise_inference_with_binding_futility_matches_rpact(zs: tuple[float, ...]) -> None:
    design = sq.design_beta_spending([1 / 3, 2 / 3, 1.0], 0.025, 0.8, binding_futility=True)
    se = 2.0 / np.sqrt(RPACT_EVENTS[: len(zs)])
    p, low, high, median = RPACT_BINDING_CASES[zs]
    result = sq.estimate_after_stop(design, len(zs), zs[-1] * se[-1], se[-1])
    assert result.details["one_sided_p_value"] == pytest.approx(p, rel=1e-6)
    assert math.exp(result.ci_low) == pytest.approx(low, rel=1e-6)
    assert math.exp(result.ci_high) == pytest.approx(high, rel=1e-6)
    assert math.exp(result.estimate) == pytest.approx(median, rel=1e-6)
    # ignoring the binding futility bounds would change the answer well beyond that
    free = sq.design_from_bounds([1 / 3, 2 / 3, 1.0], design.efficacy_bounds, sides=1)
    ignored = sq.estimate_after_stop(free, len(zs), zs[-1] * se[-1], se[-1])
    assert abs(ignored.details["one_sided_p_value"] - p) > 1e-6
