"""Tests of playbook_lib.sequential and playbook_lib.simulate.streams.

References for published values:
- JT2000: Jennison & Turnbull (2000), *Group Sequential Methods with Applications to
  Clinical Trials*: Table 2.1 (Pocock C_P(K)), Table 2.3 (O'Brien-Fleming C_B(K)),
  Tables 2.2 and 2.4 (inflation factors R_P, R_B), two-sided alpha = 0.05.
- rpact: ``getDesignGroupSequential(typeOfDesign = "asOF", kMax = 3)`` (one-sided
  alpha = 0.025) prints critical values 3.710, 2.511, 1.993 (rpact annual meeting 2025,
  "Enhanced Futility Bounds Specification", annual-meeting.2025.rpact.com); the spending
  function itself is rpact's C++ ``getSpendingValueCpp``:
  ``2 * sided * (1 - Phi(z_{1-alpha/(2 sided)} / sqrt(t)))``.
- gsDesign's own unit tests (tests/testthat/test-outputs.R): O'Brien-Fleming K = 4
  bounds 4.05, 2.86, 2.34, 2.02 and repeated-testing error 0.042, 0.063, 0.097, 0.124.
- rpact vignette "Enhanced Futility Bounds Specification" and the 2025/2026 rpact
  presentations: bounds, inflation factors and ASN of designs with non-binding futility.
- SeqBounds.jl README (PharmCat/SeqBounds.jl): one-sided alpha = 0.05, O'Brien-Fleming
  spending at 0.25, 0.5, 0.75, 1: Z = 3.74955, 2.53993, 2.01604, 1.72014 (coarse grid).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from playbook_lib import PlaybookWarning
from playbook_lib import sequential as sq
from playbook_lib.aggregates import ArmStatistics, arm_statistics
from playbook_lib.simulate import (
    simulate_ab_stream,
    simulate_accruing_differences,
    simulate_binary_streams,
    simulate_z_paths,
)

N_PATHS = 200_000


def mc_tolerance(p: float, n: int) -> float:
    return 3.0 * math.sqrt(p * (1 - p) / n)


# ----------------------------------------------------------------- published boundaries
@pytest.mark.parametrize(("n_looks", "expected"), [(2, 2.178), (3, 2.289), (4, 2.361), (5, 2.413)])
def test_pocock_constants_match_jennison_turnbull_table_2_1(n_looks, expected):
    design = sq.design_pocock(n_looks, alpha=0.05, sides=2)
    assert np.allclose(design.efficacy_bounds, expected, atol=1e-3)


def test_obrien_fleming_k4_matches_jennison_turnbull_table_2_3():
    design = sq.design_obrien_fleming(4, alpha=0.05, sides=2)
    assert np.allclose(design.efficacy_bounds, [4.049, 2.863, 2.337, 2.024], atol=1e-3)


def test_one_sided_design_at_half_alpha_is_nearly_the_two_sided_one():
    # A two-sided design does not count upper crossings of paths that left through the
    # lower boundary first, so it needs a (very slightly) smaller constant.
    for n_looks in (2, 5):
        one = sq.design_pocock(n_looks, alpha=0.025, sides=1).efficacy_bounds[0]
        two = sq.design_pocock(n_looks, alpha=0.05, sides=2).efficacy_bounds[0]
        assert two <= one
        assert abs(one - two) < 2e-3


def test_obf_spending_matches_rpact_one_sided():
    design = sq.design_alpha_spending([1 / 3, 2 / 3, 1], alpha=0.025, sides=1)
    assert np.allclose(design.efficacy_bounds, [3.710, 2.511, 1.993], atol=1e-3)


def test_obrien_fleming_k4_matches_gsdesign_unit_test():
    # gsDesign tests/testthat/test-outputs.R, "test.Deming.OFbound"
    design = sq.design_obrien_fleming(4, alpha=0.05, sides=2)
    assert np.allclose(design.efficacy_bounds.round(2), [4.05, 2.86, 2.34, 2.02])


def test_rpact_obrien_fleming_with_non_binding_futility():
    # rpact vignette "Enhanced Futility Bounds Specification" (rpact.org/vignettes/planning/
    # rpact_futility_bounds): OF, kMax = 3, one-sided 0.025, futilityBounds = c(0, -Inf):
    # bounds 3.471, 2.454, 2.004; inflation factor 1.0628; ASN H1 0.8528, H0 0.7059;
    # cumulative power 0.0356, 0.4617, 0.8000.
    design = sq.design_obrien_fleming(3, alpha=0.025, sides=1, futility_bounds=[0, -np.inf])
    assert np.allclose(design.efficacy_bounds, [3.471, 2.454, 2.004], atol=1e-3)
    summary = sq.compute_design_characteristics(design, power=0.8)
    assert summary.inflation_factor == pytest.approx(1.0628, abs=1e-4)
    assert summary.expected_n_h1 == pytest.approx(0.8528, abs=1e-4)
    assert summary.expected_n_h0 == pytest.approx(0.7059, abs=1e-4)
    up = sq.compute_crossing_probabilities(
        design.information_fractions,
        design.efficacy_bounds,
        design.lower_bounds,
        summary.drift_sequential,
    )["cumulative_upper"]
    assert np.allclose(up, [0.0356, 0.4617, 0.8000], atol=1e-4)


def test_rpact_spending_design_with_non_binding_futility():
    # rpact presentation "Design Specification in rpact" (bayer.presentation.2026.rpact.com):
    # asOF, informationRates 0.3, 0.6, 1, one-sided 0.025, futilityBounds = c(0, -Inf):
    # inflation factor 1.0718, ASN H1 0.8826, ASN H0 0.695; cumulative alpha 0.0038 at 0.6.
    design = sq.design_alpha_spending(
        [0.3, 0.6, 1.0], alpha=0.025, sides=1, futility_bounds=[0, -np.inf]
    )
    summary = sq.compute_design_characteristics(design, power=0.8)
    assert summary.inflation_factor == pytest.approx(1.0718, abs=1e-4)
    assert summary.expected_n_h1 == pytest.approx(0.8826, abs=1e-4)
    assert summary.expected_n_h0 == pytest.approx(0.695, abs=1e-3)
    assert design.cumulative_alpha[1] == pytest.approx(0.0038, abs=5e-5)


def test_obf_spending_matches_seqbounds_readme():
    design = sq.design_alpha_spending([0.25, 0.5, 0.75, 1], alpha=0.05, sides=1)
    assert np.allclose(design.efficacy_bounds, [3.74955, 2.53993, 2.01604, 1.72014], atol=1e-3)


@pytest.mark.parametrize(
    ("maker", "power", "expected"),
    [
        (sq.design_pocock, 0.8, [1.110, 1.166, 1.202, 1.228]),
        (sq.design_pocock, 0.9, [1.100, 1.151, 1.183, 1.207]),
        (sq.design_obrien_fleming, 0.8, [1.008, 1.017, 1.024, 1.028]),
        (sq.design_obrien_fleming, 0.9, [1.007, 1.016, 1.022, 1.026]),
    ],
)
def test_inflation_factors_match_jennison_turnbull(maker, power, expected):
    factors = [
        sq.compute_design_characteristics(maker(k), power).inflation_factor for k in (2, 3, 4, 5)
    ]
    assert np.allclose(factors, expected, atol=1.5e-3)


# ----------------------------------------------------------------- exactness of the recursion
@pytest.mark.parametrize("n_looks", [2, 3])
def test_naive_peeking_recursion_equals_multivariate_normal_cdf(n_looks):
    by_recursion = sq.compute_naive_peeking_error(n_looks)
    by_genz = sq.compute_naive_peeking_error(n_looks, method="multivariate-normal")
    assert abs(by_recursion - by_genz) < 2e-6


def test_naive_peeking_single_look_is_alpha_and_grows_with_looks():
    assert sq.compute_naive_peeking_error(1, alpha=0.05) == pytest.approx(0.05, abs=1e-12)
    errors = [sq.compute_naive_peeking_error(k) for k in (1, 2, 5, 10, 20)]
    assert np.all(np.diff(errors) > 0)
    # gsDesign tests/testthat/test-outputs.R ("test.Deming.gsProb"): the upper-crossing
    # probability of repeated two-sided 0.05 tests is 0.042, 0.063, 0.097, 0.124 for
    # K = 2, 4, 10, 20, i.e. half the two-sided error.
    halves = [sq.compute_naive_peeking_error(k) / 2 for k in (2, 4, 10, 20)]
    assert np.allclose(np.round(halves, 3), [0.042, 0.063, 0.097, 0.124])


def test_crossing_probabilities_are_symmetric_in_drift():
    fractions = [0.3, 0.55, 1.0]
    bounds = [2.9, 2.4, 2.0]
    plus = sq.compute_crossing_probabilities(fractions, bounds, [-b for b in bounds], 1.3)
    minus = sq.compute_crossing_probabilities(fractions, bounds, [-b for b in bounds], -1.3)
    assert np.allclose(plus["upper"], minus["lower"], atol=1e-10)


@pytest.mark.parametrize(
    ("spending", "gamma"),
    [
        ("obrien-fleming", None),
        ("obrien-fleming-total", None),
        ("pocock", None),
        ("hwang-shih-decani", -4.0),
        ("hwang-shih-decani", 1.0),
        ("power", 2.0),
    ],
)
@pytest.mark.parametrize("sides", [1, 2])
def test_cumulative_alpha_equals_spending_function(spending, gamma, sides):
    fractions = np.array([0.12, 0.3, 0.45, 0.7, 0.86, 1.0])
    design = sq.design_alpha_spending(fractions, 0.05, sides, spending, gamma)
    target = sq.compute_alpha_spending(fractions, 0.05, spending, sides, gamma)
    assert np.allclose(design.cumulative_alpha, target, atol=1e-9, rtol=0)
    # Independent check: a finer grid (r = 80) gives the same cumulative alpha to 1e-6.
    lower = -design.efficacy_bounds if sides == 2 else None
    fine = sq.compute_crossing_probabilities(fractions, design.efficacy_bounds, lower, grid_size=80)
    assert np.allclose(
        fine["cumulative_upper"] + fine["cumulative_lower"], target, atol=1e-6, rtol=0
    )


@pytest.mark.parametrize("spending", ["pocock", "obrien-fleming"])
def test_cumulative_alpha_checked_by_multivariate_normal(spending):
    # "obrien-fleming" two-sided is the default (rpact asOF, gsDesign sfLDOF per side).
    fractions = np.array([0.3, 0.6, 1.0])
    design = sq.design_alpha_spending(fractions, 0.05, 2, spending)
    bounds = design.efficacy_bounds
    covariance = np.sqrt(
        np.minimum.outer(fractions, fractions) / np.maximum.outer(fractions, fractions)
    )
    for k in range(1, 4):
        inside = stats.multivariate_normal.cdf(
            bounds[:k],
            mean=np.zeros(k),
            cov=covariance[:k, :k],
            lower_limit=-bounds[:k],
            abseps=1e-8,
            releps=1e-8,
            maxpts=5_000_000,
            rng=np.random.default_rng(1),
        )
        spent = sq.compute_alpha_spending(fractions[k - 1], 0.05, spending)[0]
        assert abs((1 - inside) - spent) < 2e-6


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.floats(0.05, 0.95), min_size=1, max_size=6, unique=True),
    st.sampled_from(["obrien-fleming", "pocock", "hwang-shih-decani"]),
)
def test_spending_design_spends_exactly_for_any_looks(interims, spending):
    fractions = np.array(sorted(interims) + [1.0])
    if np.any(np.diff(fractions) < 1e-3):
        return
    design = sq.design_alpha_spending(fractions, 0.05, 2, spending)
    target = sq.compute_alpha_spending(fractions, 0.05, spending, 2)
    assert np.allclose(design.cumulative_alpha, target, atol=1e-8, rtol=0)


@settings(max_examples=10, deadline=None)
@given(st.floats(0.001, 0.2), st.integers(1, 6))
def test_alpha_spending_function_properties(alpha, k):
    t = np.linspace(0, 1, 11)
    for spending in ("obrien-fleming", "obrien-fleming-total", "pocock", "hwang-shih-decani"):
        spent = sq.compute_alpha_spending(t, alpha, spending)
        assert spent[0] == 0 and spent[-1] == pytest.approx(alpha)
        assert np.all(np.diff(spent) >= -1e-15)
    constants = [sq.design_pocock(j, alpha).efficacy_bounds[0] for j in (k, k + 1)]
    assert constants[1] > constants[0]


def test_obf_spending_conventions_agree_one_sided_and_differ_two_sided():
    t = np.array([0.25, 0.5, 1.0])
    one = sq.compute_alpha_spending(t, 0.025, "obrien-fleming", sides=1)
    total = sq.compute_alpha_spending(t, 0.025, "obrien-fleming-total", sides=1)
    assert np.allclose(one, total)
    per_side = sq.compute_alpha_spending(t, 0.05, "obrien-fleming", sides=2)
    # rpact: 2 * sided * (1 - Phi(z_{1 - alpha / (2 sided)} / sqrt(t)))
    assert np.allclose(per_side, 4 * stats.norm.sf(stats.norm.isf(0.0125) / np.sqrt(t)))
    assert per_side[0] < sq.compute_alpha_spending(t, 0.05, "obrien-fleming-total")[0]


def test_k10_boundaries_are_fast():
    # CPU time of this process (wall time on a shared CI machine measures the neighbours).
    for make in (
        lambda: sq.design_pocock(10),
        lambda: sq.design_obrien_fleming(10),
        lambda: sq.design_alpha_spending(np.arange(1, 11) / 10),
    ):
        start = time.process_time()
        make()
        assert time.process_time() - start < 0.5


# ----------------------------------------------------------------- common shortcuts
def test_constant_2414_is_not_pocock_for_every_k():
    for k, expected in [(2, 0.0275), (4, 0.0438), (10, 0.0712)]:
        t = np.arange(1, k + 1) / k
        probs = sq.compute_crossing_probabilities(t, 2.414, -2.414)
        assert probs["cumulative_upper"].iloc[-1] * 2 == pytest.approx(expected, abs=5e-4)


def test_196_over_root_t_is_not_obrien_fleming():
    for k, expected in [(4, 0.0586), (10, 0.0686)]:
        t = np.arange(1, k + 1) / k
        bounds = 1.96 / np.sqrt(t)
        probs = sq.compute_crossing_probabilities(t, bounds, -bounds)
        assert 2 * probs["cumulative_upper"].iloc[-1] == pytest.approx(expected, abs=5e-4)


def test_independent_looks_overstate_the_peeking_error():
    t = np.arange(1, 5) / 4
    bounds = 1.96 / np.sqrt(t)
    shortcut = sq.design_from_bounds(t, bounds)
    rng = np.random.default_rng(17)
    independent = sq.batch_estimate_at_stop(shortcut, rng.standard_normal((N_PATHS, 4)))
    exact_independent = 1 - np.prod(1 - 2 * stats.norm.sf(bounds))
    correlated = sq.batch_estimate_at_stop(shortcut, simulate_z_paths(t, N_PATHS, rng=rng))
    probs = sq.compute_crossing_probabilities(t, bounds, -bounds)
    exact = 2 * probs["cumulative_upper"].iloc[-1]
    assert shortcut.alpha == pytest.approx(exact, abs=1e-12)
    independent_rate = independent.rejection_rate()
    assert abs(independent_rate.estimate - exact_independent) < mc_tolerance(
        exact_independent, N_PATHS
    )
    assert abs(correlated.rejection_rate().details["z_vs_nominal"]) < 3
    assert exact_independent == pytest.approx(0.078, abs=1e-3)


def test_per_look_spending_quantiles_lose_alpha_and_power():
    t = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
    drift = stats.norm.isf(0.025) + stats.norm.ppf(0.8)
    for spending, alpha_naive, power_exact, power_naive in [
        ("obrien-fleming-total", 0.032, 0.78, 0.72),
        ("pocock", 0.034, 0.72, 0.61),
    ]:
        increments = np.diff(sq.compute_alpha_spending(t, 0.05, spending), prepend=0)
        naive = stats.norm.isf(increments / 2)
        under_h0 = sq.compute_crossing_probabilities(t, naive, -naive)
        assert 2 * under_h0["cumulative_upper"].iloc[-1] == pytest.approx(alpha_naive, abs=6e-4)
        under_h1 = sq.compute_crossing_probabilities(t, naive, -naive, drift)
        assert under_h1[["upper", "lower"]].to_numpy().sum() == pytest.approx(power_naive, abs=6e-3)
        exact = sq.design_alpha_spending(t, 0.05, 2, spending)
        assert sq.compute_power(exact, drift) == pytest.approx(power_exact, abs=6e-3)


# ----------------------------------------------------------------- Monte Carlo calibration
DESIGNS = {
    "pocock-2": lambda: sq.design_pocock(5),
    "obf-2": lambda: sq.design_obrien_fleming(5),
    "pocock-1": lambda: sq.design_pocock(4, alpha=0.025, sides=1),
    "obf-1": lambda: sq.design_obrien_fleming(4, alpha=0.025, sides=1),
    "asOF-2": lambda: sq.design_alpha_spending([0.2, 0.45, 0.7, 1.0]),
    "asP-2": lambda: sq.design_alpha_spending([0.2, 0.45, 0.7, 1.0], spending="pocock"),
    "HSD-1": lambda: sq.design_alpha_spending([0.25, 0.5, 1.0], 0.025, 1, "hwang-shih-decani", -2),
    "asOF-total-2": lambda: sq.design_alpha_spending(
        [0.3, 0.6, 1.0], spending="obrien-fleming-total"
    ),
}


@pytest.mark.parametrize("name", list(DESIGNS))
def test_simulated_type_one_error_is_alpha(name):
    design = DESIGNS[name]()
    paths = simulate_z_paths(design.information_fractions, N_PATHS, rng=list(DESIGNS).index(name))
    rate = sq.batch_estimate_at_stop(design, paths).rejection_rate()
    assert abs(rate.details["z_vs_nominal"]) < 3
    assert rate.details["nominal"] == design.alpha
    assert design.cumulative_alpha[-1] == pytest.approx(design.alpha, abs=1e-9)


def test_simulated_power_and_expected_sample_size_match_recursion():
    design = sq.design_obrien_fleming(4)
    summary = sq.compute_design_characteristics(design, power=0.8)
    paths = simulate_z_paths(
        design.information_fractions, N_PATHS, drift=summary.drift_sequential, rng=5
    )
    table = sq.batch_estimate_at_stop(design, paths)
    power = table.rejection_rate()
    assert abs(power.estimate - 0.8) < 3 * power.se
    fraction = design.information_fractions[table.to_frame()["look"].to_numpy() - 1]
    expected = summary.expected_n_h1 / summary.inflation_factor
    assert abs(fraction.mean() - expected) < 3 * fraction.std() / math.sqrt(N_PATHS)


def test_non_binding_futility_keeps_alpha_and_costs_power():
    plain = sq.design_obrien_fleming(4, alpha=0.025, sides=1)
    futile = sq.design_obrien_fleming(4, alpha=0.025, sides=1, futility_bounds=0.0)
    assert np.allclose(plain.efficacy_bounds, futile.efficacy_bounds)
    with_futility = sq.compute_design_characteristics(futile, 0.8)
    assert with_futility.type_one_error < 0.025
    assert with_futility.expected_n_h0 < sq.compute_design_characteristics(plain, 0.8).expected_n_h0
    paths = simulate_z_paths(futile.information_fractions, N_PATHS, rng=8)
    obeyed = sq.batch_estimate_at_stop(futile, paths)
    obeyed_rate = obeyed.rejection_rate()
    margin = 3 * obeyed_rate.details["nominal_se"]  # the Monte Carlo SE at alpha = 0.025
    assert abs(obeyed_rate.estimate - with_futility.type_one_error) < margin
    ignored = sq.batch_estimate_at_stop(futile, paths, apply_futility=False).rejection_rate()
    assert abs(ignored.details["z_vs_nominal"]) < 3
    stop = obeyed.to_frame()["look"]
    assert (stop < 4).mean() > 0.45  # about half the null experiments stop at the first look


def test_design_from_bounds_prices_rules_of_thumb_exactly():
    t = np.arange(1, 5) / 4
    naive = sq.design_from_bounds(t, stats.norm.isf(0.025))
    assert naive.alpha == pytest.approx(sq.compute_naive_peeking_error(4), abs=1e-12)
    assert naive.method == "given bounds" and naive.cumulative_alpha[-1] == naive.alpha
    pocock = sq.design_pocock(4)
    assert sq.design_from_bounds(t, pocock.efficacy_bounds).alpha == pytest.approx(0.05, abs=1e-9)
    one_sided = sq.design_from_bounds(t, [np.inf, 3.0, 2.5, 2.0], sides=1, futility_bounds=0.0)
    assert one_sided.cumulative_alpha[0] == 0.0
    assert np.array_equal(one_sided.futility_bounds, [0.0, 0.0, 0.0, 2.0])
    for bounds, argument in [
        ([2.0, -1.0, 2.0, 2.0], "efficacy_bounds"),  # negative in a two-sided design
        ([2.0, -np.inf, 2.0, 2.0], "efficacy_bounds"),
        (60.0, "efficacy_bounds"),  # spends nothing
        ([2.0, 2.0], "efficacy_bounds"),
    ]:
        with pytest.raises(ValueError, match=argument):
            sq.design_from_bounds(t, bounds)


def test_batch_estimate_at_stop_rows_agree_with_the_boundaries():
    for design in (sq.design_obrien_fleming(4), DESIGNS["obf-1"](), _FUTILE):
        paths = simulate_z_paths(design.information_fractions, 5_000, drift=2.0, rng=31)
        table = sq.batch_estimate_at_stop(design, paths)
        frame = table.to_frame()
        look = frame["look"].to_numpy()
        t = design.information_fractions[look - 1]
        z_stop = paths[np.arange(paths.shape[0]), look - 1]
        assert np.allclose(frame["estimate"], z_stop / np.sqrt(t))
        assert np.allclose(frame["se"], 1 / np.sqrt(t))
        excludes_zero = (frame["ci_low"] > 0) | (frame["ci_high"] < 0)
        assert (excludes_zero == frame["rejected"]).all()
        assert table.rejection_rate().estimate == frame["rejected"].mean()
        crossed = (np.abs(paths) if design.sides == 2 else paths) >= design.efficacy_bounds
        if design.futility_bounds is None:  # without futility the first crossing decides
            assert (frame["rejected"] == crossed.any(axis=1)).all()


_FUTILE = sq.design_obrien_fleming(4, alpha=0.025, sides=1, futility_bounds=0.0)


def test_batch_estimate_always_valid_counts_misses_at_any_look():
    _, estimates, variances = simulate_accruing_differences(
        2_000, 60, effect=0.3, sd=1.0, users_per_step=20, rng=41
    )
    tau2 = sq.choose_mixture_variance(variances[-1])
    table = sq.batch_estimate_always_valid(estimates, variances, tau2, null_value=0.3)
    low, high = sq.compute_confidence_sequence(estimates, variances, tau2)
    missed = ~((low <= 0.3) & (high >= 0.3)).all(axis=1)
    assert table.rejection_rate(alpha=0.05).estimate == pytest.approx(missed.mean())
    assert missed.mean() <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 2_000)
    p = sq.compute_always_valid_p_values(estimates, variances, tau2, null_value=0.3)
    assert np.array_equal(table.to_frame()["p_value"], p[:, -1])
    first = table[0]
    single = sq.estimate_always_valid(estimates[0], variances, tau2, null_value=0.3)
    assert first.estimate == single.estimate and first.p_value == single.p_value
    assert first.ci_low <= single.ci_low and single.ci_high <= first.ci_high
    with pytest.raises(ValueError, match="estimates"):
        sq.batch_estimate_always_valid(estimates[0], variances, tau2)
    with pytest.raises(ValueError, match="variances"):
        sq.batch_estimate_always_valid(estimates, np.r_[variances[:-1], np.inf], tau2)


def test_simulate_z_paths_has_the_canonical_correlation():
    t = np.array([0.2, 0.5, 1.0])
    paths = simulate_z_paths(t, 100_000, drift=2.0, rng=3)
    correlation = np.corrcoef(paths, rowvar=False)
    assert np.allclose(
        correlation, np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t)), atol=0.01
    )
    assert np.allclose(paths.mean(axis=0), 2.0 * np.sqrt(t), atol=0.02)
    assert np.allclose(paths.std(axis=0), 1.0, atol=0.01)


# ----------------------------------------------------------------- always valid inference
def test_confidence_sequence_covers_uniformly_over_time():
    tau2 = sq.choose_mixture_variance(2.0 / 20_000)
    covered, ever_rejected, n_paths = 0, 0, 0
    for chunk in range(2):
        _, estimates, variances = simulate_accruing_differences(
            5_000, 400, effect=0.3, sd=1.0, users_per_step=50, rng=100 + chunk
        )
        low, high = sq.compute_confidence_sequence(estimates, variances, tau2, alpha=0.05)
        covered += ((low <= 0.3) & (high >= 0.3)).all(axis=1).sum()
        p = sq.compute_always_valid_p_values(estimates, variances, tau2, null_value=0.3)
        ever_rejected += (p[:, -1] <= 0.05).sum()
        n_paths += estimates.shape[0]
    assert covered / n_paths >= 0.95
    assert ever_rejected / n_paths <= 0.05
    assert covered / n_paths == pytest.approx(1 - ever_rejected / n_paths)


def test_confidence_sequence_is_the_inverted_msprt():
    estimates, variances, tau2 = np.array([0.4, 0.1]), np.array([0.05, 0.01]), 0.02
    low, high = sq.compute_confidence_sequence(
        estimates, variances, tau2, 0.05, running_intersection=False
    )
    for bound in (low, high):
        ratio = np.array(
            [
                sq.compute_msprt_statistic(e, v, tau2, null_value=b)
                for e, v, b in zip(estimates, variances, bound, strict=True)
            ]
        )
        assert np.allclose(ratio, 1 / 0.05)


def test_mixture_variance_minimizes_the_planned_width():
    planned = 0.003
    tau2 = sq.choose_mixture_variance(planned, 0.05)
    grid = tau2 * np.exp(np.linspace(-1, 1, 41))
    widths = [
        np.diff(sq.compute_confidence_sequence([0.0], [planned], g, 0.05), axis=0)[0, 0]
        for g in grid
    ]
    assert np.argmin(widths) == 20


def test_estimate_always_valid_is_wider_than_fixed_horizon():
    _, estimates, variances = simulate_accruing_differences(1, 100, effect=0.2, rng=4)
    tau2 = sq.choose_mixture_variance(variances[-1])
    result = sq.estimate_always_valid(estimates[0], variances, tau2)
    assert result.method == "msprt confidence sequence"
    assert 1.3 < result.details["width_ratio"] < 1.7
    assert 0 <= result.p_value <= 1


# ----------------------------------------------------------------- running experiment
def test_interim_statistics_match_welch_statistics():
    data = simulate_ab_stream(3_000, baseline_rate=0.2, lift=0.03, rng=2)
    looks = [500, 1_200, 3_000]
    table = sq.compute_interim_statistics(data["converted"], data["treatment"], looks)
    for row, n in zip(table.itertuples(), looks, strict=True):
        head = data.iloc[:n]
        welch = stats.ttest_ind(
            head.loc[head.treatment == 1, "converted"],
            head.loc[head.treatment == 0, "converted"],
            equal_var=False,
        )
        assert row.z == pytest.approx(welch.statistic, rel=1e-10)


def test_interim_statistics_from_stats_equal_the_row_version():
    data = simulate_ab_stream(2_000, baseline_rate=0.3, lift=0.02, rng=6)
    looks = [800, 1_200, 2_000]
    rows = sq.compute_interim_statistics(data["converted"], data["treatment"], looks)
    # Per-look increments (the units that arrived since the previous look), then running sums.
    data = data.assign(look=np.searchsorted(looks, np.arange(len(data)), side="right"))
    control, treatment = arm_statistics(data, "converted", "treatment", by="look")
    from_stats = sq.compute_interim_statistics_from_stats(
        control.cumulative(), treatment.cumulative()
    )
    assert list(from_stats.columns) == ["n", "n_control", "n_treatment", "estimate", "se", "z"]
    assert np.allclose(rows.to_numpy(float), from_stats.to_numpy(float), rtol=1e-12)
    too_few = ArmStatistics(
        np.array([1, 2, 3]), np.array([0.0, 1.0, 1.0]), np.array([0.0, 1.0, 1.0])
    )
    with pytest.raises(ValueError, match="control.n"):
        sq.compute_interim_statistics_from_stats(too_few, treatment.cumulative())
    # The increments themselves are not cumulative: here their counts fall, which is refused
    # (increments that happen to grow cannot be told apart: pass cumulative statistics).
    with pytest.raises(ValueError, match="cumulative"):
        sq.compute_interim_statistics_from_stats(control, treatment)


def test_interim_statistics_from_stats_flip_sign_when_the_arms_swap():
    rng = np.random.default_rng(12)
    control = ArmStatistics.from_moments([200, 150, 180], [1.0, 1.1, 0.9], [1.0, 1.2, 0.8])
    treatment = ArmStatistics.from_moments([210, 140, 190], [1.3, 1.2, 1.4], [1.1, 0.9, 1.0])
    forward = sq.compute_interim_statistics_from_stats(control.cumulative(), treatment.cumulative())
    backward = sq.compute_interim_statistics_from_stats(
        treatment.cumulative(), control.cumulative()
    )
    assert (forward["estimate"] > 0).all()
    assert np.allclose(backward["estimate"], -forward["estimate"], rtol=1e-12)
    assert np.allclose(backward["se"], forward["se"], rtol=1e-12)
    assert np.allclose(backward["z"], -forward["z"], rtol=1e-12)
    assert (backward["n_control"] == forward["n_treatment"]).all()
    # A single look is a scalar ArmStatistics.
    one = sq.compute_interim_statistics_from_stats(
        ArmStatistics.from_values(rng.normal(0, 1, 30)),
        ArmStatistics.from_values(rng.normal(1, 1, 40)),
    )
    assert len(one) == 1 and one.loc[1, "n"] == 70


def test_swapping_arms_flips_the_interim_z():
    data = simulate_ab_stream(1_000, baseline_rate=0.4, lift=0.05, rng=9)
    forward = sq.compute_interim_statistics(data["converted"], data["treatment"], [300, 1_000])
    swapped = sq.compute_interim_statistics(data["converted"], 1 - data["treatment"], [300, 1_000])
    assert np.allclose(forward["z"], -swapped["z"])
    shifted = sq.compute_interim_statistics(
        data["converted"] + 5.0, data["treatment"], [300, 1_000]
    )
    assert np.allclose(forward["z"], shifted["z"], rtol=1e-8)


def test_monitor_rejects_at_first_crossing_and_matches_design():
    monitor = sq.compute_group_sequential_decisions([200, 400, 600], [1.0, 3.5, 0.5], n_max=800)
    assert list(monitor["decision"]) == ["continue", "reject H0", "stopped earlier"]
    design = sq.design_alpha_spending([0.25, 0.5, 0.75])
    assert np.allclose(monitor["efficacy_z"], design.efficacy_bounds)
    final = sq.compute_group_sequential_decisions(
        [200, 400, 700], [1.0, 1.2, 1.1], n_max=800, final=True
    )
    assert final["information_fraction"].iloc[-1] == 1.0
    assert final["decision"].iloc[-1] == "accept H0"
    assert final["cumulative_alpha"].iloc[-1] == pytest.approx(0.05, abs=1e-9)


def _two_sided_alpha_by_genz(n, bounds):
    """1 - P(|Z_k| < b_k for all k) for z-statistics at sample sizes n (scipy, Genz)."""
    covariance = np.sqrt(np.minimum.outer(n, n) / np.maximum.outer(n, n))
    inside = stats.multivariate_normal.cdf(
        bounds,
        mean=np.zeros(n.size),
        cov=covariance,
        lower_limit=-bounds,
        abseps=1e-8,
        releps=1e-8,
        maxpts=5_000_000,
        rng=np.random.default_rng(2),
    )
    return 1.0 - inside


@pytest.mark.parametrize("n_final", [11_200, 14_000])
def test_monitor_final_look_off_plan_uses_the_observed_correlation(n_final):
    # The final look falls short of / overruns n_max = 12,000: it must spend exactly what is
    # left, with the correlation sqrt(n_i / n_j) of the looks actually taken.
    n = np.array([3_100, 7_900, n_final], dtype=float)
    monitor = sq.compute_group_sequential_decisions(n, [0.0, 0.0, 0.0], n_max=12_000, final=True)
    bounds = monitor["efficacy_z"].to_numpy()
    spent_interim = sq.compute_alpha_spending(n[:2] / 12_000, 0.05)
    assert _two_sided_alpha_by_genz(n[:1], bounds[:1]) == pytest.approx(spent_interim[0], abs=1e-7)
    assert _two_sided_alpha_by_genz(n[:2], bounds[:2]) == pytest.approx(spent_interim[1], abs=2e-6)
    assert _two_sided_alpha_by_genz(n, bounds) == pytest.approx(0.05, abs=2e-6)


def test_simulate_interim_paths_matches_interim_statistics_of_each_order():
    data = simulate_ab_stream(600, baseline_rate=0.3, lift=0.05, rng=11)
    looks = [150, 300, 600]
    estimates, ses = sq.simulate_interim_paths(data["converted"], data["treatment"], looks, 5, 4)
    order = np.random.default_rng(4).permuted(np.tile(np.arange(600), (5, 1)), axis=1)
    for row in range(5):
        shuffled = data.iloc[order[row]]
        table = sq.compute_interim_statistics(shuffled["converted"], shuffled["treatment"], looks)
        assert np.allclose(estimates[row], table["estimate"], rtol=1e-12)
        assert np.allclose(ses[row], table["se"], rtol=1e-12)
    # The last look uses every unit, so it is the same in every order.
    assert np.allclose(estimates[:, -1], estimates[0, -1])


def test_interim_paths_without_information_give_the_whole_line():
    outcomes = np.array([[1.0, 0.0, 1.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    arms = np.array([[1, 1, 0, 1, 0, 0], [1, 0, 1, 0, 1, 0]])
    estimates, ses = sq.compute_interim_paths(outcomes, arms, [3, 6])
    # Row 0, look 1: one control unit (NaN estimate); row 1: zero variance in both arms.
    assert np.isnan(estimates[0, 0]) and np.isinf(ses[0, 0])
    assert estimates[1, 1] == 0.0 and np.isinf(ses[1, 1])
    assert estimates[0, 1] == pytest.approx(2 / 3 - 2 / 3) and np.isfinite(ses[0, 1])
    low, high = sq.compute_confidence_sequence(estimates, ses**2, 0.1, running_intersection=False)
    assert np.all(np.isneginf(low[[0, 1], [0, 1]])) and np.all(np.isposinf(high[[0, 1], [0, 1]]))
    assert np.isfinite(low[0, 1]) and np.isfinite(high[0, 1])
    assert sq.compute_msprt_statistic(estimates[0, 0], ses[0, 0] ** 2, 0.1) == 1.0


def test_plug_in_confidence_sequence_covers_binary_outcomes_from_moderate_n():
    # Asymptotic (Waudby-Smith et al. 2024): with the plug-in variance, monitoring every user
    # from the 40th of 364 (rates 0.46 / 0.32) still covers at every look in >= 95% of paths.
    arms, outcomes = simulate_binary_streams(4_000, 364, 0.46, 0.32, rng=21)
    estimates, ses = sq.compute_interim_paths(outcomes, arms, np.arange(40, 365))
    tau2 = sq.choose_mixture_variance(2 * (0.46 * 0.54 + 0.32 * 0.68) / 364)
    low, high = sq.compute_confidence_sequence(estimates, ses**2, tau2)
    covered = ((low <= -0.14) & (high >= -0.14)).all(axis=1).mean()
    assert covered >= 0.95
    assert abs(outcomes[arms == 1].mean() - 0.32) < 0.005


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: sq.design_alpha_spending([0.5, 0.4, 1.0]), "information_fractions"),
        (lambda: sq.design_alpha_spending([0.0, 0.5, 1.0]), "information_fractions"),
        (lambda: sq.design_alpha_spending([0.5, 1.2]), "information_fractions"),
        (lambda: sq.design_alpha_spending([0.5, 1.0], alpha=1.5), "alpha"),
        (lambda: sq.design_alpha_spending([0.5, 1.0], alpha=0.0), "alpha"),
        (lambda: sq.design_alpha_spending([0.5, 1.0], spending="linear"), "spending"),
        (lambda: sq.design_pocock(0), "n_looks"),
        (lambda: sq.design_obrien_fleming(-2), "n_looks"),
        (lambda: sq.design_pocock(3, sides=3), "sides"),
        (lambda: sq.design_pocock(3, futility_bounds=0.0), "futility_bounds"),
        (lambda: sq.compute_naive_peeking_error(0), "n_looks"),
        (lambda: sq.compute_naive_peeking_error(3, alpha=-0.1), "alpha"),
        (lambda: sq.compute_alpha_spending([0.5], 0.05, "power", gamma=-1.0), "gamma"),
        (lambda: sq.design_alpha_spending([0.5, 1.0], spending_times=[0.6, 0.5]), "spending_times"),
        (lambda: sq.design_alpha_spending([0.5, 1.0], spending_times=[1.0]), "spending_times"),
        (lambda: sq.simulate_interim_paths([1.0, 2.0], [0, 1], [2], 0), "n_orders"),
        (lambda: sq.simulate_interim_paths([1.0, 2.0], [0, 1], [3], 2), "look_sizes"),
        (lambda: sq.compute_crossing_probabilities([0.5, 1], [2, 2, 2]), "upper"),
        (lambda: sq.batch_estimate_at_stop(sq.design_pocock(3), np.zeros((4, 2))), "z_paths"),
        (lambda: sq.choose_mixture_variance(-1.0), "planned_variance"),
        (lambda: sq.compute_confidence_sequence([0.1], [0.0], 1.0), "variances"),
        (lambda: sq.compute_confidence_sequence([0.1], [1.0], 1.0, alpha=2), "alpha"),
        (lambda: sq.compute_group_sequential_decisions([100, 50], [1, 2], 200), "n_accrued"),
        (lambda: sq.compute_group_sequential_decisions([100, 150], [1, 2], -5), "n_max"),
        (lambda: sq.compute_interim_statistics([1, 2, 3], [0, 1, 2], [3]), "treatment"),
        (lambda: simulate_z_paths([0.5, 0.5], 10), "information_fractions"),
        (lambda: simulate_z_paths([0.5, 1.0], 0), "n_paths"),
        (lambda: simulate_accruing_differences(10, 10, sd=-1.0), "sd"),
        (lambda: simulate_ab_stream(100, baseline_rate=0.9, lift=0.2), "lift"),
        (lambda: simulate_binary_streams(10, 10, 0.5, 1.2), "treatment_rate"),
        (lambda: sq.compute_interim_paths(np.zeros((2, 4)), np.zeros((2, 3)), [3]), "treatments"),
        (lambda: sq.compute_interim_paths(np.zeros((2, 4)), np.zeros((2, 4)), [5]), "look_sizes"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


# ----------------------------------------------------------------- contract regressions
def test_estimate_always_valid_refuses_an_empty_running_intersection():
    # A mean that jumps from 0 to 1 halfway: no single effect lies in every look's interval.
    variances = 2.0 / (50.0 * np.arange(1, 9))
    estimates = np.r_[np.zeros(4), np.ones(4)]
    low, high = sq.compute_confidence_sequence(estimates, variances, 0.01)
    assert low[-1] > high[-1]  # documented: an empty intersection, low > high
    with pytest.raises(ValueError, match=r"estimates, variances: .*empty from look 5 .*reject"):
        sq.estimate_always_valid(estimates, variances, 0.01)
    # The per-look intervals are still available, and each is a real interval.
    low, high = sq.compute_confidence_sequence(
        estimates, variances, 0.01, running_intersection=False
    )
    assert np.all(low < high)


def test_no_information_looks_are_the_only_nan_and_are_handled_downstream():
    outcomes = np.array([[1.0, 0.0, 1.0, 1.0, 0.0, 1.0]])
    arms = np.array([[1, 1, 0, 1, 0, 0]])
    estimates, ses = sq.compute_interim_paths(outcomes, arms, [3, 6])
    assert np.isnan(estimates[0, 0]) and np.isposinf(ses[0, 0])
    p = sq.compute_always_valid_p_values(estimates, ses**2, 0.1)
    assert np.all(np.isfinite(p)) and p[0, 0] == 1.0
    with pytest.raises(ValueError, match="estimates"):  # NaN where a variance is finite
        sq.compute_msprt_statistic([math.nan, 0.1], [0.1, 0.1], 0.1)
    with pytest.raises(ValueError, match="estimates"):
        sq.compute_confidence_sequence([0.1, math.inf], [0.1, 0.1], 0.1)
    with pytest.raises(ValueError, match="variances"):  # the latest look needs information
        sq.estimate_always_valid([0.1, math.nan], [0.1, math.inf], 0.1)
    early = sq.estimate_always_valid([math.nan, 0.1], [math.inf, 0.1], 0.1)
    assert math.isfinite(early.ci_low) and math.isfinite(early.ci_high)


def test_zero_variance_looks_give_a_documented_nan_z_with_a_warning():
    y = np.r_[np.ones(8), np.arange(12.0)]
    arm = np.tile([0, 1], 10)
    with pytest.warns(PlaybookWarning, match="constant"):
        table = sq.compute_interim_statistics(y, arm, [8, 20])
    assert table.loc[1, "se"] == 0 and np.isnan(table.loc[1, "z"])
    assert np.isfinite(table.loc[2, "z"])
    with pytest.warns(PlaybookWarning, match="constant"):
        aggregate = sq.compute_interim_statistics_from_stats(
            ArmStatistics(4, 2.0, 1.0), ArmStatistics(4, 4.0, 4.0)
        )
    assert aggregate.loc[1, "se"] == 0 and np.isnan(aggregate.loc[1, "z"])


_DESIGN = sq.design_pocock(3)
_LOOKS = ArmStatistics([4, 8], [1.0, 2.0], [3.0, 6.0])  # two looks of one arm


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        # A classical design's last look is the final analysis (fraction 1): a forgotten
        # final look used to give a shorter design silently.
        (
            lambda: sq.design_pocock(information_fractions=[0.25, 0.5, 0.75]),
            "information_fractions",
        ),
        (
            lambda: sq.design_obrien_fleming(information_fractions=[0.5, 0.9]),
            "information_fractions",
        ),
        (lambda: sq.design_pocock(3, sides=True), "sides"),
        (lambda: sq.design_pocock(3, sides=1.5), "sides"),
        (lambda: sq.design_pocock(3, alpha=math.nan), "alpha"),
        (
            lambda: sq.design_alpha_spending(
                [0.5, 1], spending="hwang-shih-decani", gamma=math.inf
            ),
            "gamma",
        ),
        (lambda: sq.design_alpha_spending([0.5, 1], gamma=2.0), "gamma"),
        (lambda: sq.compute_alpha_spending([0.5], spending="power", gamma=math.nan), "gamma"),
        (lambda: sq.design_alpha_spending([0.5, 1], spending=None), "spending"),
        (lambda: sq.design_pocock(3, 0.025, 1, futility_bounds=[math.nan, 0.0]), "futility_bounds"),
        (lambda: sq.design_pocock(3, 0.025, 1, futility_bounds=[math.inf, 0.0]), "futility_bounds"),
        (lambda: sq.design_pocock(3, 0.025, 1, futility_bounds=[0.0, 9.0]), "futility_bounds"),
        (lambda: sq.design_pocock(3, 0.025, 1, futility_bounds="0"), "futility_bounds"),
        (lambda: sq.compute_crossing_probabilities([0.5, 1], ["2", "2"]), "upper"),
        (lambda: sq.compute_crossing_probabilities([0.5, 1], 2.0, grid_size=10**6), "grid_size"),
        (lambda: sq.compute_alpha_spending([0.5, math.inf]), "information_fraction"),
        (lambda: sq.compute_power("design", 1.0), "design"),
        (lambda: sq.compute_drift_for_power(None), "design"),
        (lambda: sq.compute_design_characteristics({}), "design"),
        (lambda: sq.batch_estimate_at_stop("x", np.zeros((2, 3))), "design"),
        (lambda: sq.compute_power(_DESIGN, 1.0, apply_futility="yes"), "apply_futility"),
        # Between alpha / 2 and alpha a two-sided design cannot reach the power (it used to
        # fail inside scipy's root finder).
        (lambda: sq.compute_drift_for_power(_DESIGN, power=0.04), "power"),
        (
            lambda: sq.compute_group_sequential_decisions([200, 400, 900], [1, 1, 1], 800),
            "n_accrued",
        ),
        (
            lambda: sq.compute_group_sequential_decisions(
                [200, 800, 900], [1, 1, 1], 800, final=True
            ),
            "n_accrued",
        ),
        (
            lambda: sq.compute_group_sequential_decisions([200, 400], [1, math.inf], 800),
            "z_statistics",
        ),
        (lambda: sq.compute_group_sequential_decisions([200, 400], [1.0], 800), "length"),
        (
            lambda: sq.compute_group_sequential_decisions([200, 400], [1, 2], 800, final="yes"),
            "final",
        ),
        (lambda: sq.compute_interim_statistics_from_stats({"n": [4, 8]}, _LOOKS), "control"),
        (lambda: sq.compute_interim_statistics_from_stats(_LOOKS, (4, 1.0, 3.0)), "treatment"),
        (
            lambda: sq.compute_interim_statistics_from_stats(
                ArmStatistics([4, 3], [1.0, 1.0], [3.0, 3.0]), _LOOKS
            ),
            "control.n",
        ),
        (
            lambda: sq.compute_interim_statistics_from_stats(
                _LOOKS, ArmStatistics([4, 8], [1.0, 2.0], [3.0, 3.2])
            ),
            "treatment.sum_squares",
        ),
        (
            lambda: sq.compute_interim_statistics_from_stats(
                ArmStatistics([4, 4], [1.0, 2.0], [3.0, 6.0]), _LOOKS
            ),
            "control.sum",
        ),
        (
            lambda: sq.compute_interim_statistics_from_stats(
                _LOOKS, ArmStatistics([4, 8, 9], [1.0, 2.0, 2.0], [3.0, 6.0, 6.0])
            ),
            "length",
        ),
        (
            lambda: sq.simulate_interim_paths([1.0, 2.0, 3.0, 4.0], [0, 1, 0, 1], [4], 2, "seed"),
            "rng",
        ),
        (lambda: sq.simulate_interim_paths([1.0, 2.0, 3.0], [0, 1], [2], 2), "length"),
        (
            lambda: sq.compute_interim_statistics([1.0, 2.0, 3.0, 4.0], [1, 1, 1, 1], [4]),
            "treatment",
        ),
        (lambda: sq.compute_msprt_statistic([0.1], [0.1], 0.0), "mixture_variance"),
        (lambda: sq.compute_msprt_statistic([0.1], [0.1], math.inf), "mixture_variance"),
        (lambda: sq.compute_confidence_sequence([0.1], [-0.1], 1.0), "variances"),
        (lambda: sq.compute_confidence_sequence([0.1, 0.2], [0.1, 0.1, 0.1], 1.0), "variances"),
        (lambda: sq.estimate_always_valid([0.1, 0.2], [0.1], 1.0), "length"),
        (lambda: sq.estimate_always_valid("0.1", [0.1], 1.0), "estimates"),
        (lambda: simulate_z_paths([0.5, 1.0], 10, rng=-1), "rng"),
        (lambda: simulate_accruing_differences(10, 10, rng="seed"), "rng"),
        (lambda: simulate_ab_stream(100, rng=1.5), "rng"),
        (lambda: simulate_binary_streams(10, 10, 0.5, 0.5, rng="x"), "rng"),
        (lambda: simulate_binary_streams(10, 10, -0.1, 0.5), "control_rate"),
        (lambda: simulate_ab_stream(100, baseline_rate=1.2), "baseline_rate"),
        (lambda: simulate_ab_stream(1.5), "n_users"),
        (lambda: simulate_accruing_differences(10, 10, sd=math.inf), "sd"),
    ],
)
def test_contract_regressions_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_streams_accept_degenerate_rates_and_zero_sd():
    _, outcome = simulate_binary_streams(2, 50, 0.0, 1.0, rng=1)
    assert outcome.min() >= 0 and outcome.max() <= 1
    assert simulate_ab_stream(20, baseline_rate=1.0, lift=-1.0, rng=2)["converted"].sum() >= 0
    _, estimates, variances = simulate_accruing_differences(3, 4, effect=0.5, sd=0.0, rng=3)
    assert np.allclose(estimates, 0.5) and np.all(variances == 0)


def test_design_characteristics_scale_the_maximum_by_the_last_fraction():
    # A spending design that stops at t = 0.8 has a maximum of 0.8 I_max, not I_max.
    for fractions in ([0.5, 1.0], [0.4, 0.8]):
        design = sq.design_alpha_spending(fractions, 0.025, 1)
        summary = sq.compute_design_characteristics(design, 0.8)
        assert summary.inflation_factor == pytest.approx(
            fractions[-1] * (summary.drift_sequential / summary.drift_fixed) ** 2, rel=1e-12
        )
        assert summary.expected_n_h1 <= summary.inflation_factor + 1e-12


def test_extreme_gamma_and_drift_give_finite_answers():
    spent = sq.compute_alpha_spending(np.linspace(0, 1, 5), 0.05, "hwang-shih-decani", 2, -2_000)
    assert np.all(np.isfinite(spent)) and spent[-1] == 0.05
    assert sq.compute_power(_DESIGN, 1e300) == pytest.approx(1.0)


# ----------------------------------------------------------------- property tests
_outcome_values = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@st.composite
def _experiments(draw):
    n = draw(st.integers(10, 40))
    y = np.array(draw(st.lists(_outcome_values, min_size=n, max_size=n)))
    arm = np.array([0, 1, 0, 1] + draw(st.lists(st.integers(0, 1), min_size=n - 4, max_size=n - 4)))
    # A non-degenerate spread in each arm at the first look.
    y[:4] += np.array([0.0, 0.0, 1.0, 1.0])
    return y, arm, np.array([4, n // 2, n])


@settings(max_examples=40, deadline=None)
@given(_experiments(), st.floats(-1e3, 1e3), st.floats(0.01, 100.0))
def test_interim_statistics_are_equivariant(experiment, shift, factor):
    y, arm, looks = experiment
    base = sq.compute_interim_statistics(y, arm, looks)
    swapped = sq.compute_interim_statistics(y, 1 - arm, looks)
    assert np.allclose(swapped["estimate"], -base["estimate"], rtol=1e-9, atol=1e-9)
    assert np.allclose(swapped["se"], base["se"], rtol=1e-9)
    shifted = sq.compute_interim_statistics(y + shift, arm, looks)
    assert np.allclose(shifted["estimate"], base["estimate"], rtol=1e-7, atol=1e-7)
    assert np.allclose(shifted["se"], base["se"], rtol=1e-7)
    scaled = sq.compute_interim_statistics(y * factor, arm, looks)
    assert np.allclose(scaled["estimate"], factor * base["estimate"], rtol=1e-9, atol=1e-12)
    assert np.allclose(scaled["se"], factor * base["se"], rtol=1e-9)


def _cumulative_arm(y, arm, looks, value):
    """One arm's cumulative statistics at each look, summed from the rows directly."""
    parts = [y[:look][arm[:look] == value] for look in looks]
    return ArmStatistics(
        [part.size for part in parts],
        [part.sum() for part in parts],
        [(part**2).sum() for part in parts],
    )


@settings(max_examples=40, deadline=None)
@given(_experiments())
def test_interim_statistics_from_stats_equal_the_row_recipe(experiment):
    y, arm, looks = experiment
    rows = sq.compute_interim_statistics(y, arm, looks)
    control, treatment = (_cumulative_arm(y, arm, looks, value) for value in (0, 1))
    from_stats = sq.compute_interim_statistics_from_stats(control, treatment)
    # Raw sums carry ~1e-16 of the mean square: the twins agree to that precision.
    tolerance = 1e-12 * float(np.max(y**2))
    assert np.allclose(from_stats["estimate"], rows["estimate"], rtol=1e-9, atol=1e-9)
    assert np.allclose(from_stats["se"] ** 2, rows["se"] ** 2, rtol=1e-9, atol=tolerance)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=1, max_size=8),
    st.floats(-10, 10),
    st.floats(0.1, 10.0),
    st.floats(1e-3, 1.0),
)
def test_confidence_sequence_is_affine_equivariant(values, shift, factor, tau2):
    estimates = np.array(values)
    variances = 0.5 / np.arange(1, estimates.size + 1)
    low, high = sq.compute_confidence_sequence(estimates, variances, tau2)
    moved_low, moved_high = sq.compute_confidence_sequence(
        factor * estimates + shift, factor**2 * variances, factor**2 * tau2
    )
    assert np.allclose(moved_low, factor * low + shift, rtol=1e-9, atol=1e-9)
    assert np.allclose(moved_high, factor * high + shift, rtol=1e-9, atol=1e-9)
    flipped_low, flipped_high = sq.compute_confidence_sequence(-estimates, variances, tau2)
    assert np.allclose(flipped_low, -high) and np.allclose(flipped_high, -low)
    ratio = sq.compute_msprt_statistic(estimates, variances, tau2, null_value=0.3)
    moved = sq.compute_msprt_statistic(estimates + shift, variances, tau2, null_value=0.3 + shift)
    assert np.allclose(moved, ratio, rtol=1e-6)
    mirrored = sq.compute_msprt_statistic(-estimates, variances, tau2, null_value=-0.3)
    assert np.allclose(mirrored, ratio, rtol=1e-12)
