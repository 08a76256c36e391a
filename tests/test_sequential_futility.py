"""Futility by beta spending, and operating characteristics: rpact's values, theory, simulation.

References
----------
rpact 4.x (Debian's r-cran-rpact), computed once and kept as literals (``%.15g``)::

    library(rpact)
    d1 <- getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, sided = 1,
        typeOfDesign = "asOF", typeBetaSpending = "bsOF", bindingFutility = FALSE)
    d2 <- getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, sided = 1,
        typeOfDesign = "asOF", typeBetaSpending = "bsOF", bindingFutility = TRUE)
    d3 <- getDesignGroupSequential(informationRates = c(0.2, 0.45, 0.7, 1), alpha = 0.025,
        beta = 0.1, sided = 1, typeOfDesign = "asP", typeBetaSpending = "bsKD", gammaB = 2,
        bindingFutility = FALSE)
    d4 <- getDesignGroupSequential(kMax = 4, alpha = 0.05, beta = 0.2, sided = 1,
        typeOfDesign = "asHSD", gammaA = -2, typeBetaSpending = "bsHSD", gammaB = -2,
        bindingFutility = TRUE)
    # for each: d$criticalValues; d$futilityBounds; and
    dc <- getDesignCharacteristics(d)
    c(dc$shift, dc$inflationFactor, dc$averageSampleNumber1, dc$averageSampleNumber01,
      dc$averageSampleNumber0)
    # operating characteristics of d1, d2 and a two-sided Pocock design:
    d5 <- getDesignGroupSequential(kMax = 4, alpha = 0.05, sided = 2, typeOfDesign = "P")
    p <- getPowerMeans(d, groups = 2, normalApproximation = TRUE,
        alternative = c(0, 0.2, 0.3), stDev = 1, maxNumberOfSubjects = 400)
    p$overallReject; p$earlyStop; p$futilityStop; p$expectedNumberOfSubjects

rpact's ``shift`` is the squared drift, its ``averageSampleNumber*`` are expected sample
sizes relative to the fixed-horizon design (under H1, at half the drift, under H0), and
with 400 subjects in two equal groups an effect ``delta`` (sd 1) is the drift
``delta * sqrt(400) / 2``.
"""

from __future__ import annotations

import numpy as np
import pytest
import reference_values as registry

from playbook_lib import sequential as sq
from playbook_lib.simulate import simulate_z_paths

THIRDS = [1 / 3, 2 / 3, 1.0]
# The rpact literals are kept once, in the validation registry (the R commands above).
RPACT_DESIGNS = {
    name: (
        {**arguments, "information_fractions": list(arguments["information_fractions"])},
        *registry._RPACT_DESIGNS[name],
    )
    for name, arguments in registry._BETA_SPENDING_ARGUMENTS.items()
}


@pytest.fixture(scope="module")
def designs() -> dict[str, sq.GroupSequentialDesign]:
    return {name: sq.design_beta_spending(**case[0]) for name, case in RPACT_DESIGNS.items()}


@pytest.mark.parametrize("name", list(RPACT_DESIGNS))
def test_beta_spending_design_matches_rpact(designs, name: str) -> None:
    arguments, efficacy, futility, characteristics = RPACT_DESIGNS[name]
    design = designs[name]
    np.testing.assert_allclose(design.efficacy_bounds, efficacy, rtol=0, atol=2e-7)
    np.testing.assert_allclose(design.futility_bounds[:-1], futility, rtol=0, atol=2e-7)
    assert design.futility_bounds[-1] == design.efficacy_bounds[-1]
    shift, inflation, asn1, asn01, asn0 = characteristics
    assert design.planned_drift**2 == pytest.approx(shift, rel=2e-7)
    summary = sq.compute_design_characteristics(design, arguments["power"])
    assert summary.drift_sequential == pytest.approx(design.planned_drift, rel=1e-7)
    assert summary.inflation_factor == pytest.approx(inflation, rel=2e-7)
    assert summary.expected_n_h1 == pytest.approx(asn1, rel=2e-7)
    assert summary.expected_n_h0 == pytest.approx(asn0, rel=2e-7)
    half = sq.compute_operating_characteristics(design, design.planned_drift / 2)
    assert half["expected_fraction"].iloc[0] * inflation == pytest.approx(asn01, rel=2e-7)
    # the futility bounds spend exactly beta at the planned drift; binding designs spend
    # exactly alpha with futility obeyed, non-binding ones with futility ignored
    assert design.cumulative_beta[-1] == pytest.approx(1 - arguments["power"], abs=1e-9)
    assert summary.power == pytest.approx(arguments["power"], abs=1e-9)
    alpha = arguments["alpha"]
    obeyed = sq.compute_power(design, 0.0, apply_futility=True)
    ignored = sq.compute_power(design, 0.0, apply_futility=False)
    assert design.cumulative_alpha[-1] == pytest.approx(alpha, abs=1e-9)
    if design.binding_futility:
        assert obeyed == pytest.approx(alpha, abs=1e-9)
        assert ignored > alpha + 1e-3  # overruling a binding futility stop inflates alpha
    else:
        assert ignored == pytest.approx(alpha, abs=1e-9)
        assert obeyed < alpha - 1e-4


def test_binding_lowers_efficacy_bounds_and_maximum_information(designs) -> None:
    free, binding = designs["asOF/bsOF non-binding"], designs["asOF/bsOF binding"]
    alpha_spending = sq.design_alpha_spending(THIRDS, 0.025, sides=1)
    np.testing.assert_allclose(free.efficacy_bounds, alpha_spending.efficacy_bounds, atol=1e-12)
    assert binding.efficacy_bounds[0] == pytest.approx(free.efficacy_bounds[0], abs=1e-12)
    assert np.all(binding.efficacy_bounds[1:] < free.efficacy_bounds[1:])
    assert binding.planned_drift < free.planned_drift
    frame = binding.to_frame()
    assert {"futility_z", "beta_spent", "cumulative_beta"} <= set(frame.columns)
    np.testing.assert_allclose(
        frame["cumulative_beta"],
        sq.compute_alpha_spending(THIRDS, 0.2, "obrien-fleming", 1),
        atol=1e-9,
    )


# overallReject, earlyStop, futilityStop, expectedNumberOfSubjects, per design
RPACT_POWER_MEANS = registry._RPACT_POWER_MEANS


@pytest.mark.parametrize("name", list(RPACT_POWER_MEANS))
def test_operating_characteristics_match_rpact_power_means(designs, name: str) -> None:
    design = designs.get(name) or sq.design_pocock(4, 0.05)
    drifts = np.array([0.0, 0.2, 0.3]) * np.sqrt(400) / 2
    table = sq.compute_operating_characteristics(design, drifts)
    power, early, futility, expected_n = RPACT_POWER_MEANS[name]
    np.testing.assert_allclose(table["power"], power, rtol=0, atol=2e-7)
    np.testing.assert_allclose(
        table["stop_early_efficacy"] + table["stop_early_futility"], early, rtol=0, atol=2e-7
    )
    np.testing.assert_allclose(table["stop_early_futility"], futility, rtol=0, atol=2e-7)
    np.testing.assert_allclose(400 * table["expected_fraction"], expected_n, rtol=2e-7)
    for drift, power_at in zip(drifts, table["power"], strict=True):
        assert sq.compute_power(design, drift) == pytest.approx(power_at, abs=1e-14)
    assert np.all((table["expected_looks"] >= 1) & (table["expected_looks"] <= design.n_looks))


def test_binding_design_by_monte_carlo(designs) -> None:
    """200,000 vectorised z-paths per hypothesis: type-I error (futility obeyed, and the
    inflation when overruled), power and the expected stopping fraction at the planned
    drift, each within 4 Monte Carlo standard errors of the exact value."""
    design = designs["asOF/bsOF binding"]
    n_paths = 200_000
    checks = []
    for drift, seed in ((0.0, 1), (design.planned_drift, 2)):
        paths = simulate_z_paths(design.information_fractions, n_paths, drift, rng=seed)
        for obey in (True, False):
            rows = sq.batch_estimate_at_stop(design, paths, apply_futility=obey).to_frame()
            exact = sq.compute_operating_characteristics(design, drift, apply_futility=obey)
            rejected = rows["rejected"].to_numpy()
            fraction = design.information_fractions[rows["look"].to_numpy() - 1]
            checks.append((rejected.mean(), exact["power"].iloc[0], rejected.std()))
            checks.append((fraction.mean(), exact["expected_fraction"].iloc[0], fraction.std()))
    for simulated, exact, sd in checks:
        assert abs(simulated - exact) < 4 * sd / np.sqrt(n_paths)
    assert checks[0][1] == pytest.approx(0.025, abs=1e-9)  # H0, futility obeyed
    assert checks[2][1] > 0.026 + 4 * checks[2][2] / np.sqrt(n_paths)  # overruled: inflated
    assert checks[4][1] == pytest.approx(0.8, abs=1e-9)  # H1, futility obeyed


def test_operating_characteristics_agree_with_design_characteristics() -> None:
    design = sq.design_obrien_fleming(5, 0.05)
    summary = sq.compute_design_characteristics(design, 0.8)
    table = sq.compute_operating_characteristics(design, [0.0, summary.drift_sequential])
    np.testing.assert_allclose(
        table["expected_fraction"] * summary.inflation_factor,
        [summary.expected_n_h0, summary.expected_n_h1],
        rtol=1e-12,
    )
    assert table["power"].iloc[1] == pytest.approx(0.8, abs=1e-9)
    assert table["stop_early_futility"].eq(0).all()
    # symmetric two-sided design: a drift and its negative behave alike
    mirrored = sq.compute_operating_characteristics(design, [-2.0, 2.0])
    np.testing.assert_allclose(mirrored.iloc[0], mirrored.iloc[1], atol=1e-10)


def test_beta_spending_bad_inputs() -> None:
    with pytest.raises(ValueError, match="information_fractions"):
        sq.design_beta_spending([1.0])
    with pytest.raises(ValueError, match="information_fractions"):
        sq.design_beta_spending([0.5, 0.9])
    with pytest.raises(ValueError, match="power"):
        sq.design_beta_spending(THIRDS, alpha=0.3, power=0.2)
    with pytest.raises(ValueError, match="beta_gamma"):
        sq.design_beta_spending(THIRDS, beta_spending="pocock", beta_gamma=1.0)
    with pytest.raises(ValueError, match="beta_spending"):
        sq.design_beta_spending(THIRDS, beta_spending="bsOF")
    with pytest.raises(ValueError, match="beta_gamma"):
        sq.design_beta_spending(THIRDS, beta_spending="power", beta_gamma=-1.0)
    with pytest.raises(ValueError, match="binding_futility"):
        sq.design_beta_spending(THIRDS, binding_futility="yes")
    with pytest.raises(ValueError, match="drifts"):
        sq.compute_operating_characteristics(sq.design_pocock(3), [np.nan])
