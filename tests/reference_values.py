"""The independent references the test suite checks, kept as data.

Two registries, read by ``tests/test_reference_values.py`` and by the book's page "How the
numbers are checked" (``book/validation.md``):

- :data:`REFERENCE_VALUES`: one :class:`ReferenceValue` per number published elsewhere (a
  table of a paper or book, an R package's printed output, another package's unit tests) or
  produced once by an independent implementation (scipy, statsmodels) and kept as a
  literal, with the command that produced it, the tolerance the test allows and a
  zero-argument callable that computes the same quantity with ``playbook_lib``.
- :data:`CALIBRATIONS`: one :class:`Calibration` per Monte Carlo check of an interval's
  coverage or a test's rejection rate: the nominal level and a zero-argument callable that
  returns the package's own answer, the :class:`playbook_lib.Estimate` of
  ``Estimates.coverage`` or ``Estimates.rejection_rate`` over vectorised ``batch_*``
  simulations (each well under a second). A calibration passes when it lies within three
  Monte Carlo standard errors of nominal (``details["z_vs_nominal"]``).

Every literal, tolerance and seed is copied from the test named in the entry's ``test``
field, with that test's source comment; the tests themselves stay where they are. Entries
are cheap (the whole registry evaluates in a few seconds of CPU, imports included), so
references that need a slow fit or a heavy import stay in their own test modules only: the
hierarchical models' (posteriordb's eight-schools posterior, statsmodels' DerSimonian-Laird
estimate, their calibrations) are in ``tests/test_hbm.py``, which loads PyMC.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

import playbook_lib as pl
from playbook_lib import Estimate, PlaybookWarning, cuped, geo, synth
from playbook_lib import abtest as ab
from playbook_lib import bandits as bd
from playbook_lib import decisions as dec
from playbook_lib import sequential as sq
from playbook_lib.aggregates import ArmStatistics

__all__ = [
    "CALIBRATIONS",
    "REFERENCE_VALUES",
    "Calibration",
    "ReferenceValue",
]


@dataclass(frozen=True)
class ReferenceValue:
    """A number from an independent source and the package's way of computing it.

    ``compute()`` agrees with ``reference`` when ``|compute() - reference| <= tolerance``
    (``relative=False``) or ``<= tolerance * |reference|`` (``relative=True``). A source
    that prints rounded numbers gets a tolerance of half its last digit.
    """

    quantity: str
    module: str
    reference: float
    source: str
    tolerance: float
    compute: Callable[[], float]
    relative: bool = False
    test: str = ""

    def allowed(self) -> float:
        """The largest absolute difference that still agrees."""
        return self.tolerance * abs(self.reference) if self.relative else self.tolerance

    def agrees(self, value: float) -> bool:
        """Whether ``value`` is within the tolerance of the reference."""
        return math.isfinite(value) and abs(value - self.reference) <= self.allowed()

    @property
    def tolerance_text(self) -> str:
        """The tolerance as a reader writes it: ``± 0.001`` or ``relative 1e-06``."""
        return f"relative {self.tolerance:g}" if self.relative else f"± {self.tolerance:g}"


@dataclass(frozen=True)
class Calibration:
    """A nominal rate and the package's Monte Carlo estimate of it.

    ``compute()`` returns the :class:`~playbook_lib.Estimate` of
    :meth:`~playbook_lib.Estimates.coverage` or :meth:`~playbook_lib.Estimates.rejection_rate`:
    the simulated rate, its Monte Carlo standard error, its 95% Wilson interval and, in
    ``details``, the number of simulations ``n``. It is calibrated when it lies within
    three Monte Carlo standard errors of ``nominal``, the standard error of a rate
    estimated from ``n`` simulations under exact calibration, ``sqrt(c (1 - c) / n)``. (For
    a coverage or a size this is the ``z_vs_nominal`` the package reports; for a power
    check the nominal rate is the design's power, not its alpha.)
    """

    quantity: str
    module: str
    nominal: float
    setup: str
    compute: Callable[[], Estimate]
    test: str = ""

    def nominal_se(self, rate: Estimate) -> float:
        """Monte Carlo standard error of ``rate`` if it were exactly ``nominal``."""
        return math.sqrt(self.nominal * (1 - self.nominal) / rate.details["n"])

    def z(self, rate: Estimate) -> float:
        """Distance of ``rate`` from ``nominal`` in Monte Carlo standard errors."""
        return (rate.estimate - self.nominal) / self.nominal_se(rate)

    def calibrated(self, rate: Estimate) -> bool:
        """Whether ``rate`` is within three Monte Carlo standard errors of ``nominal``."""
        return abs(self.z(rate)) <= 3


# ------------------------------------------------------------------ helpers
def _sums(y: np.ndarray) -> ArmStatistics:
    """One arm's statistics per simulated experiment (rows on the last axis)."""
    return ArmStatistics(y.shape[-1], y.sum(axis=-1), (y**2).sum(axis=-1))


def _looks(design: sq.GroupSequentialDesign, power: float = 0.8):  # noqa: ANN202
    summary = sq.compute_design_characteristics(design, power=power)
    crossing = sq.compute_crossing_probabilities(
        design.information_fractions,
        design.efficacy_bounds,
        design.lower_bounds,
        summary.drift_sequential,
    )
    return summary, crossing


@cache
def _rpact_obrien_fleming_futility():  # noqa: ANN202
    design = sq.design_obrien_fleming(3, alpha=0.025, sides=1, futility_bounds=[0, -np.inf])
    return (design, *_looks(design))


@cache
def _rpact_spending_futility():  # noqa: ANN202
    design = sq.design_alpha_spending(
        [0.3, 0.6, 1.0], alpha=0.025, sides=1, futility_bounds=[0, -np.inf]
    )
    return (design, *_looks(design))


@cache
def _rpact_beta_spending(binding: bool):  # noqa: ANN202
    design = sq.design_beta_spending(
        information_fractions=[1 / 3, 2 / 3, 1.0],
        alpha=0.025,
        power=0.8,
        binding_futility=binding,
    )
    return design, sq.compute_design_characteristics(design, 0.8)


@cache
def _rpact_after_stop():  # noqa: ANN202
    design = sq.design_from_bounds(
        [1 / 3, 2 / 3, 1.0], [3.47109144465409, 2.45443229863352, 2.00403557995285], sides=1
    )
    se = 2.0 / np.sqrt(np.array([100.0, 200.0]))
    return sq.estimate_after_stop(design, 2, 3.1 * se[-1], se[-1])


@cache
def _kansas_sc() -> float:
    panel = synth.prepare_panel(
        pl.datasets.load_kansas(),
        unit="state",
        time="time",
        outcome="log_gdp_per_capita",
        treated="treated",
    )
    return float(synth.estimate_synthetic_control(panel, rng=0).estimate)


@cache
def _continuation():  # noqa: ANN202
    rule = dec.DecisionRule(
        dec.PrimaryMetric("conversion", minimum_effect=0.005),
        (
            dec.Guardrail("latency", "lower_is_better", 20.0),
            dec.Guardrail("retention", "higher_is_better", 0.002),
        ),
        alpha=0.025,
    )
    return dec.plan_continuation(rule, [40_000, 60_000])


@cache
def _mpdta():  # noqa: ANN202
    return geo.fit_callaway_santanna(
        pl.datasets.load_mpdta(), unit="county", time="year", outcome="log_employment"
    )


@cache
def _prop99() -> synth.Panel:
    return synth.prepare_panel(
        pl.datasets.load_california_prop99(), unit="state", time="year", outcome="cigsale"
    )


def _prop99_frank_wolfe(method: str) -> float:
    # synthdid's own 10,000-iteration cap stops short of its stopping rule on Prop 99, and
    # the package says so; the warning is expected here (and asserted in test_synth).
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "fit_simplex_weights: the frank-wolfe solver stopped", PlaybookWarning
        )
        return synth.fit_synthetic_did(_prop99(), method=method, solver="frank-wolfe").estimate


def _organ_donations_twfe() -> float:
    organ = pl.datasets.load_organ_donations()
    # One treated state: the package warns that clustered errors fail here; the point
    # estimate is what the reference prints, so that expected warning is filtered.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "one treated unit: its own residuals", PlaybookWarning)
        return geo.estimate_twfe(
            organ, unit="state", time="quarter_number", outcome="rate"
        ).estimate


def _job_training_difference() -> float:
    jobs = pl.datasets.load_job_training()
    by_arm = jobs.groupby("treatment")["earnings_1978"].mean()
    return float(by_arm[1] - by_arm[0])


def _sample_size(method: str) -> float:
    return float(math.ceil(ab.sample_size_proportions(0.10, 0.11, method=method)))


# ------------------------------------------------------------------ reference values
_JT2000 = "Jennison & Turnbull (2000), Group Sequential Methods"
_RPACT_FUTILITY = (
    'rpact vignette "Enhanced Futility Bounds Specification": '
    'getDesignGroupSequential(typeOfDesign = "OF", kMax = 3, alpha = 0.025, '
    "futilityBounds = c(0, -Inf)), then getDesignCharacteristics(design) (non-binding futility)"
)
_RPACT_SPENDING = (
    'rpact presentation "Design Specification in rpact" (2026): '
    'getDesignGroupSequential(typeOfDesign = "asOF", informationRates = c(0.3, 0.6, 1), '
    "alpha = 0.025, futilityBounds = c(0, -Inf)), then getDesignCharacteristics(design)"
)
_SYNTHDID = (
    "Arkhangelsky et al. (2021, AER), Table 1, and the synthdid R package: "
    "setup = panel.matrices(california_prop99); "
    "synthdid_estimate(setup$Y, setup$N0, setup$T0)"
)

REFERENCE_VALUES: list[ReferenceValue] = [
    # ---------------------------------------------------------------- sequential
    *[
        ReferenceValue(
            f"Pocock constant C_P({k}), two-sided alpha = 0.05",
            "sequential",
            expected,
            f"{_JT2000}, Table 2.1",
            1e-3,
            lambda k=k: float(sq.design_pocock(k, alpha=0.05, sides=2).efficacy_bounds[0]),
            test="test_sequential.py::test_pocock_constants_match_jennison_turnbull_table_2_1",
        )
        for k, expected in ((2, 2.178), (3, 2.289), (4, 2.361), (5, 2.413))
    ],
    *[
        ReferenceValue(
            f"O'Brien-Fleming K = 4, bound at look {look + 1}, two-sided alpha = 0.05",
            "sequential",
            expected,
            f"{_JT2000}, Table 2.3",
            1e-3,
            lambda look=look: float(
                sq.design_obrien_fleming(4, alpha=0.05, sides=2).efficacy_bounds[look]
            ),
            test="test_sequential.py::test_obrien_fleming_k4_matches_jennison_turnbull_table_2_3",
        )
        for look, expected in ((0, 4.049), (3, 2.024))
    ],
    *[
        ReferenceValue(
            f"O'Brien-Fleming-type spending, 3 equal looks, one-sided 0.025: bound {look + 1}",
            "sequential",
            expected,
            'rpact: getDesignGroupSequential(typeOfDesign = "asOF", kMax = 3) prints '
            "critical values 3.710, 2.511, 1.993 (rpact annual meeting 2025)",
            1e-3,
            lambda look=look: float(
                sq.design_alpha_spending([1 / 3, 2 / 3, 1], alpha=0.025, sides=1).efficacy_bounds[
                    look
                ]
            ),
            test="test_sequential.py::test_obf_spending_matches_rpact_one_sided",
        )
        for look, expected in enumerate((3.710, 2.511, 1.993))
    ],
    ReferenceValue(
        "O'Brien-Fleming-type spending at 0.25, 0.5, 0.75, 1, one-sided 0.05: final bound",
        "sequential",
        1.72014,
        "SeqBounds.jl README (PharmCat/SeqBounds.jl): Z = 3.74955, 2.53993, 2.01604, "
        "1.72014 (coarse grid)",
        1e-3,
        lambda: float(
            sq.design_alpha_spending([0.25, 0.5, 0.75, 1], alpha=0.05, sides=1).efficacy_bounds[-1]
        ),
        test="test_sequential.py::test_obf_spending_matches_seqbounds_readme",
    ),
    ReferenceValue(
        "O'Brien-Fleming K = 3 with futility at 0: first efficacy bound",
        "sequential",
        3.471,
        _RPACT_FUTILITY,
        1e-3,
        lambda: float(_rpact_obrien_fleming_futility()[0].efficacy_bounds[0]),
        test="test_sequential.py::test_rpact_obrien_fleming_with_non_binding_futility",
    ),
    ReferenceValue(
        "O'Brien-Fleming K = 3 with futility at 0: inflation factor (80% power)",
        "sequential",
        1.0628,
        _RPACT_FUTILITY,
        1e-4,
        lambda: float(_rpact_obrien_fleming_futility()[1].inflation_factor),
        test="test_sequential.py::test_rpact_obrien_fleming_with_non_binding_futility",
    ),
    ReferenceValue(
        "O'Brien-Fleming K = 3 with futility at 0: expected sample size under H1",
        "sequential",
        0.8528,
        _RPACT_FUTILITY,
        1e-4,
        lambda: float(_rpact_obrien_fleming_futility()[1].expected_n_h1),
        test="test_sequential.py::test_rpact_obrien_fleming_with_non_binding_futility",
    ),
    ReferenceValue(
        "O'Brien-Fleming K = 3 with futility at 0: expected sample size under H0",
        "sequential",
        0.7059,
        _RPACT_FUTILITY,
        1e-4,
        lambda: float(_rpact_obrien_fleming_futility()[1].expected_n_h0),
        test="test_sequential.py::test_rpact_obrien_fleming_with_non_binding_futility",
    ),
    ReferenceValue(
        "O'Brien-Fleming K = 3 with futility at 0: cumulative power at look 2",
        "sequential",
        0.4617,
        _RPACT_FUTILITY,
        1e-4,
        lambda: float(_rpact_obrien_fleming_futility()[2]["cumulative_upper"].iloc[1]),
        test="test_sequential.py::test_rpact_obrien_fleming_with_non_binding_futility",
    ),
    ReferenceValue(
        "Spending design at 0.3, 0.6, 1 with futility at 0: inflation factor",
        "sequential",
        1.0718,
        _RPACT_SPENDING,
        1e-4,
        lambda: float(_rpact_spending_futility()[1].inflation_factor),
        test="test_sequential.py::test_rpact_spending_design_with_non_binding_futility",
    ),
    ReferenceValue(
        "Spending design at 0.3, 0.6, 1 with futility at 0: expected sample size under H1",
        "sequential",
        0.8826,
        _RPACT_SPENDING,
        1e-4,
        lambda: float(_rpact_spending_futility()[1].expected_n_h1),
        test="test_sequential.py::test_rpact_spending_design_with_non_binding_futility",
    ),
    ReferenceValue(
        "Spending design at 0.3, 0.6, 1 with futility at 0: cumulative alpha at look 2",
        "sequential",
        0.0038,
        _RPACT_SPENDING,
        5e-5,
        lambda: float(_rpact_spending_futility()[0].cumulative_alpha[1]),
        test="test_sequential.py::test_rpact_spending_design_with_non_binding_futility",
    ),
    *[
        ReferenceValue(
            f"Repeated two-sided 0.05 tests at {k} equal looks: upper-crossing probability",
            "sequential",
            expected,
            'gsDesign tests/testthat/test-outputs.R ("test.Deming.gsProb"): 0.042, 0.063, '
            "0.097, 0.124 for K = 2, 4, 10, 20 (half the two-sided error; 3 decimals)",
            5e-4,
            lambda k=k: sq.compute_naive_peeking_error(k) / 2,
            test="test_sequential.py::test_naive_peeking_single_look_is_alpha_and_grows_with_looks",
        )
        for k, expected in ((2, 0.042), (20, 0.124))
    ],
    *[
        ReferenceValue(
            f"Inflation factor, {name} K = 5, {power:.0%} power, two-sided 0.05",
            "sequential",
            expected,
            f"{_JT2000}, Tables 2.2 (R_P) and 2.4 (R_B)",
            1.5e-3,
            lambda maker=maker, power=power: float(
                sq.compute_design_characteristics(maker(5), power).inflation_factor
            ),
            test="test_sequential.py::test_inflation_factors_match_jennison_turnbull",
        )
        for name, maker, power, expected in (
            ("Pocock", sq.design_pocock, 0.8, 1.228),
            ("O'Brien-Fleming", sq.design_obrien_fleming, 0.9, 1.026),
        )
    ],
    # ---------------------------------------------------------------- decisions
    ReferenceValue(
        "EWMA in-control average run length, lambda = 0.10, L = 2.814",
        "decisions",
        500.0,
        "Lucas & Saccucci (1990), Table 3 (also Montgomery, Introduction to SQC, table of "
        "EWMA ARLs)",
        0.01,
        lambda: dec.ewma_average_run_length(smoothing=0.1, width=2.814),
        relative=True,
        test="test_decisions.py::test_ewma_markov_chain_reproduces_lucas_saccucci_table",
    ),
    ReferenceValue(
        "EWMA average run length after a 1-sigma shift, lambda = 0.10, L = 2.814",
        "decisions",
        10.3,
        "Lucas & Saccucci (1990), Table 3",
        0.05,
        lambda: dec.ewma_average_run_length(smoothing=0.1, width=2.814, shift=1.0),
        test="test_decisions.py::test_ewma_markov_chain_reproduces_lucas_saccucci_table",
    ),
    ReferenceValue(
        "EWMA average run length after a 1-sigma shift, lambda = 0.25, L = 3",
        "decisions",
        11.154267016,
        "SAS/QC documentation, EWMAARL function (Crowder's 1987 method): EWMAARL(1.00, 0.25, 3.0)",
        2e-6,
        lambda: dec.ewma_average_run_length(smoothing=0.25, width=3.0, shift=1.0, n_states=801),
        relative=True,
        test="test_decisions.py::test_ewma_markov_chain_matches_sas_ewmaarl",
    ),
    # ---------------------------------------------------------------- synth
    ReferenceValue(
        "Proposition 99: difference in differences (packs per capita)",
        "synth",
        -27.35,
        _SYNTHDID,
        0.05,
        lambda: synth.estimate_panel_did(_prop99()).estimate,
        test="test_synth.py::test_prop99_matches_arkhangelsky_table_1",
    ),
    ReferenceValue(
        "Proposition 99: synthetic difference in differences",
        "synth",
        -15.60,
        _SYNTHDID,
        0.05,
        lambda: synth.fit_synthetic_did(_prop99()).estimate,
        test="test_synth.py::test_prop99_matches_arkhangelsky_table_1",
    ),
    ReferenceValue(
        "Proposition 99: synthetic control (Abadie et al.)",
        "synth",
        -19.6,
        "Arkhangelsky et al. (2021, AER), Table 1: SC -19.6 (synthdid's sc_estimate: -19.62)",
        0.3,
        lambda: synth.estimate_synthetic_control(_prop99()).estimate,
        test="test_synth.py::test_prop99_matches_arkhangelsky_table_1",
    ),
    ReferenceValue(
        "Proposition 99: SDID with synthdid's Frank-Wolfe solver",
        "synth",
        -15.604,
        "synthdid R package prints -15.604 for synthdid_estimate on california_prop99",
        0.001,
        lambda: _prop99_frank_wolfe("sdid"),
        test="test_synth.py::test_prop99_frank_wolfe_replicates_synthdid",
    ),
    ReferenceValue(
        "Proposition 99: synthdid's synthetic control with its Frank-Wolfe solver",
        "synth",
        -19.62,
        "synthdid R package: sc_estimate(setup$Y, setup$N0, setup$T0) on california_prop99",
        0.01,
        lambda: _prop99_frank_wolfe("sc"),
        test="test_synth.py::test_prop99_frank_wolfe_replicates_synthdid",
    ),
    # ---------------------------------------------------------------- geo
    ReferenceValue(
        "Organ donations (California, 2011): two-way fixed-effects estimate",
        "geo",
        -0.0225,
        "Huntington-Klein (2021), The Effect, ch. 18: TWFE estimate -0.0225",
        5e-5,
        _organ_donations_twfe,
        test="test_geo.py::test_policy_panels_load",
    ),
    ReferenceValue(
        "Design effect of clusters of 200 with intra-cluster correlation 0.1",
        "geo",
        20.9,
        "closed form 1 + (m - 1) ICC (Kish's design effect)",
        1e-9,
        lambda: geo.design_effect(200, 0.1),
        relative=True,
        test="test_geo.py::test_design_effect_known_value",
    ),
    # ---------------------------------------------------------------- cuped
    ReferenceValue(
        "NSW experiment: difference in 1978 earnings, treated minus control ($)",
        "cuped",
        1794.0,
        "Dehejia & Wahba (1999), Table 3, experimental benchmark $1,794 (whole dollars)",
        0.5,
        _job_training_difference,
        test="test_cuped.py::test_job_training_loader_matches_the_published_benchmark",
    ),
    # ---------------------------------------------------------------- abtest
    ReferenceValue(
        "Users per arm for 10% vs 11%, 80% power, two-sided 5% (pooled null, unpooled "
        "alternative), rounded up",
        "abtest",
        14_751.0,
        "hand computation: (z_0.975 sqrt(2 p q) + z_0.8 sqrt(p1 q1 + p2 q2))^2 / 0.01^2, p = 0.105",
        0.0,
        lambda: _sample_size("pooled-unpooled"),
        test="test_abtest.py::test_sample_size_for_ten_vs_eleven_percent",
    ),
    ReferenceValue(
        "Users per arm for 10% vs 11% with Cohen's h, 80% power, two-sided 5%",
        "abtest",
        14_744.104836925611,
        "statsmodels: NormalIndPower().solve_power(proportion_effectsize(0.11, 0.10), "
        "alpha=0.05, power=0.8) (it also counts the opposite tail, 0.04 users fewer)",
        1e-6,
        lambda: ab.sample_size_proportions(0.10, 0.11, method="cohen-h"),
        relative=True,
        test="test_abtest.py::test_sample_size_for_ten_vs_eleven_percent",
    ),
    ReferenceValue(
        "Sample-ratio check of 5,100 / 2,480 / 2,420 against 50/25/25: p-value",
        "abtest",
        0.0944202231963023,
        "scipy: scipy.stats.chisquare([5100, 2480, 2420], [5000, 2500, 2500]).pvalue",
        1e-6,
        lambda: ab.check_sample_ratio([5100, 2480, 2420], [0.5, 0.25, 0.25]).p_value,
        relative=True,
        test="test_abtest.py::test_srm_matches_scipy_and_hand_formula",
    ),
    # ---------------------------------------------------------------- bandits
    ReferenceValue(
        "P(p_B > p_A) for Beta(2, 3) against Beta(4, 2)",
        "bandits",
        5 / 6,
        "closed-form Beta superiority probability (Cook 2005; Miller 2015): 5/6",
        1e-12,
        lambda: float(bd.compute_beta_superiority_probability(2, 3, 4, 2)),
        test="test_bandits.py::test_exact_beta_propensity_is_five_sixths",
    ),
    # ------------------------------------------- futility, inference after a stop, cohorts
    *[
        ReferenceValue(
            f"Beta spending (asOF/bsOF, 3 looks, one-sided 0.025, power 0.8, {kind}): {what}",
            "sequential",
            expected,
            "rpact: getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, sided = 1, "
            'typeOfDesign = "asOF", typeBetaSpending = "bsOF", '
            f"bindingFutility = {str(binding).upper()}), then getDesignCharacteristics",
            2e-7,
            compute,
            test="test_sequential_futility.py::test_beta_spending_design_matches_rpact",
        )
        for binding, kind, rows in (
            (
                False,
                "non-binding",
                (
                    ("final efficacy bound", 1.9930474832654),
                    ("first futility bound", -0.236144609880091),
                    ("inflation factor", 1.10433402287428),
                ),
            ),
            (
                True,
                "binding",
                (
                    ("final efficacy bound", 1.93091572076082),
                    ("first futility bound", -0.270005563802686),
                    ("inflation factor", 1.06077393136479),
                ),
            ),
        )
        for (what, expected), compute in zip(
            rows,
            (
                lambda b=binding: float(_rpact_beta_spending(b)[0].efficacy_bounds[-1]),
                lambda b=binding: float(_rpact_beta_spending(b)[0].futility_bounds[0]),
                lambda b=binding: float(_rpact_beta_spending(b)[1].inflation_factor),
            ),
            strict=True,
        )
    ],
    *[
        ReferenceValue(
            f"Stopped at look 2 of 3 (z = 1.5, 3.1; log hazard ratio, se 2/sqrt(events)): {what}",
            "sequential",
            expected,
            "rpact: getAnalysisResults(getDesignGroupSequential(kMax = 3, alpha = 0.025, "
            'sided = 1, typeOfDesign = "OF", informationRates = c(1/3, 2/3, 1)), '
            "getDataset(overallEvents = c(100, 200), overallLogRanks = c(1.5, 3.1), "
            "overallAllocationRatios = c(1, 1)), directionUpper = TRUE): final p-value, "
            "final confidence interval, median unbiased estimate",
            1e-7,
            compute,
            relative=True,
            test="test_sequential_after_stop.py::test_stagewise_inference_matches_rpact",
        )
        for what, expected, compute in (
            (
                "stage-wise-ordering p-value",
                0.00115949310888508,
                lambda: float(_rpact_after_stop().details["one_sided_p_value"]),
            ),
            (
                "median-unbiased hazard ratio",
                1.54745442791621,
                lambda: math.exp(_rpact_after_stop().estimate),
            ),
            (
                "adjusted interval, lower end (hazard ratio)",
                1.17036554805716,
                lambda: math.exp(_rpact_after_stop().ci_low),
            ),
        )
    ],
    *[
        ReferenceValue(
            f"Callaway-Sant'Anna on mpdta (never-treated comparison): {what}",
            "geo",
            expected,
            "R package did 2.5.1, README (github.com/bcallaway11/did, commit 71ba8a5): "
            "att_gt(yname = 'lemp', tname = 'year', idname = 'countyreal', gname = "
            "'first.treat', data = mpdta), aggte(type = 'dynamic' / 'group')",
            tolerance,
            compute,
            test="test_geo_staggered.py::test_group_time_effects_equal_the_did_package",
        )
        for what, expected, tolerance, compute in (
            (
                "dynamic (event-study) overall ATT",
                -0.0772,
                5e-5,
                lambda: float(_mpdta().overall("dynamic").estimate),
            ),
            (
                "group (cohort) overall ATT",
                -0.031,
                5e-4,
                lambda: float(_mpdta().overall("group").estimate),
            ),
            (
                "p-value of the pre-test of parallel trends (Wald chi-square)",
                0.16812,
                5e-6,
                lambda: float(_mpdta().pre_trend_test(reference="chi2")["p_value"]),
            ),
        )
    ],
    ReferenceValue(
        "Synthetic control on Kansas (2012 tax cuts, log GDP per capita): average effect",
        "synth",
        -0.0294,
        "R package augsynth, vignettes/singlesynth-vignette.md (github.com/ebenmichael/"
        "augsynth, commit f942957): summary(augsynth(lngdpcapita ~ treated, fips, "
        "year_qtr, kansas, progfunc = 'None', scm = TRUE)) prints -0.0294",
        5e-5,
        _kansas_sc,
        test="test_published_references.py::test_synthetic_control_on_kansas_matches_augsynth",
    ),
    ReferenceValue(
        "Population-weighted TWFE, castle-doctrine laws on log homicides",
        "geo",
        0.075533239,
        "Stata 18: xtreg l_homicide post i.year [aweight=popwt], fe vce(cluster sid), as "
        "recorded in github.com/brycewang-stanford/StatsPAI, "
        "tests/reference_parity/test_castle_stata_parity.py (commit bcc3070c)",
        5e-10,
        lambda: float(
            geo.estimate_twfe(
                pl.datasets.load_castle(),
                unit="state",
                time="year",
                outcome="log_homicide",
                treated="treated",
                weights="population_weight",
            ).estimate
        ),
        test="test_published_references.py::test_castle_twfe_matches_stata_xtreg",
    ),
    ReferenceValue(
        "Hold then one more look at 3/2 the sample (one-sided 0.025): the final look's level",
        "decisions",
        0.02313706707,
        'rpact: getDesignGroupSequential(typeOfDesign = "asOF", informationRates = c(2/3, '
        "1), alpha = 0.025, sided = 1)$stageLevels: 0.00604838913, 0.02313706707",
        2e-6,
        lambda: float(_continuation().nominal_alpha[1]),
        test="test_decisions_continuation.py::test_plan_levels_match_rpact_and_spend_alpha_exactly",
    ),
    ReferenceValue(
        "Hold then re-applying the rule at 0.025 (looks at 2/3 and 1): false-ship rate at the "
        "margin",
        "decisions",
        0.038496,
        "exact theory: 1 - P(Z_1 <= z, Z_2 <= z) for standard normals with correlation "
        "sqrt(2/3), z = 1.95996, by one-dimensional quadrature",
        5e-7,
        lambda: float(_continuation().unplanned_false_ship_rate),
        test="test_decisions_continuation.py::"
        "test_unplanned_second_look_false_ship_rate_is_exactly_3_85_percent",
    ),
]


# ------------------------------------------------------------------ calibrations
@cache
def _welch_small_samples() -> tuple[pl.Estimates, pl.Estimates]:
    rng = np.random.default_rng(3)
    n_sims, effect = 20_000, 0.7
    control = rng.normal(0.0, 3.0, (n_sims, 8))
    treatment = rng.normal(effect, 1.0, (n_sims, 12))
    shifted = ab.batch_compare_means(_sums(control), _sums(treatment))
    null = ab.batch_compare_means(_sums(control), _sums(treatment - effect))
    return shifted, null


@cache
def _pooled_z_test() -> pl.Estimates:
    rng = np.random.default_rng(4)
    n_sims = 40_000
    s_c, s_t = rng.binomial(2000, 0.1, n_sims), rng.binomial(2000, 0.1, n_sims)
    return ab.batch_compare_proportions(
        ArmStatistics.from_counts(s_c, 2000), ArmStatistics.from_counts(s_t, 2000)
    )


def _relative_lift_coverage() -> Estimate:
    rng = np.random.default_rng(6)
    n_sims, n = 20_000, 200
    control = rng.exponential(10.0, (n_sims, n))
    treatment = rng.exponential(11.0, (n_sims, n))
    lifts = ab.batch_estimate_relative_lift(_sums(control), _sums(treatment), method="fieller")
    return lifts.coverage(0.1)


def _ratio_metric_coverage() -> Estimate:
    sim = pl.simulate.simulate_clicks_pageviews(2000, 500, ctr=0.05, concentration=2.0, rng=8)
    out = ab.batch_compare_ratio_metrics(
        ab.summarize_ratio_metric(sim["clicks_control"], sim["pageviews_control"]),
        ab.summarize_ratio_metric(sim["clicks_treatment"], sim["pageviews_treatment"]),
    )
    return out.coverage(0.0)


def _cuped_coverage() -> Estimate:
    world = pl.simulate.simulate_pre_post_metrics(4_000, 200, correlation=0.5, effect=0.1, rng=50)
    adjusted = cuped.batch_estimate_cuped(world["outcome"], world["covariate"], world["treatment"])
    return adjusted.coverage(0.1)


def _lin_size() -> Estimate:
    world = pl.simulate.simulate_pre_post_metrics(
        4_000,
        150,
        correlation=0.5,
        effect=0.0,
        treated_fraction=0.25,
        slope_difference=1.0,
        rng=21,
    )
    lin = cuped.batch_estimate_cuped(
        world["outcome"], world["covariate"], world["treatment"], method="lin"
    )
    return lin.rejection_rate(alpha=0.05)


def _did_size(design: str, seed: int) -> Estimate:
    sims = geo.simulate_did_estimates(10, 28, 14, 0.0, n_sims=4000, design=design, rng=seed)
    return sims.estimates.rejection_rate(alpha=0.05)


def _did_coverage() -> Estimate:
    sims = geo.simulate_did_estimates(20, 28, 14, 0.08, n_sims=4000, rng=21)
    return sims.estimates.coverage(sims.true_effect)


def _group_sequential_size() -> Estimate:
    design = sq.design_obrien_fleming(5)
    paths = pl.simulate.simulate_z_paths(design.information_fractions, 200_000, rng=1)
    return sq.batch_estimate_at_stop(design, paths).rejection_rate()


def _group_sequential_power() -> Estimate:
    design = sq.design_obrien_fleming(4)
    summary = sq.compute_design_characteristics(design, power=0.8)
    paths = pl.simulate.simulate_z_paths(
        design.information_fractions, 200_000, drift=summary.drift_sequential, rng=5
    )
    return sq.batch_estimate_at_stop(design, paths).rejection_rate()


def _synthetic_control_coverage() -> Estimate:
    outcomes = pl.simulate.simulate_factor_panel_arrays(80, 20, 30, rng=31)
    sc = synth.batch_estimate_synthetic_control(outcomes, 19, 20, intercept=True)
    return sc.coverage(0.0)


def _bandit_aipw_coverage() -> Estimate:
    run = bd.simulate_thompson_sampling(
        [0.10, 0.11],
        4000,
        n_reps=200,
        batch_size=100,
        propensity_floor=0.05,
        record_propensities=True,
        rng=20261122,
    )
    aipw = bd.batch_estimate_effects(run.arms, run.rewards, run.propensities, method="aipw")
    return aipw.coverage(0.01)


CALIBRATIONS: list[Calibration] = [
    Calibration(
        "Welch interval coverage, 8 vs 12 users, sd 3 vs 1",
        "abtest",
        0.95,
        "20,000 normal experiments, true difference 0.7; batch_compare_means",
        lambda: _welch_small_samples()[0].coverage(0.7),
        test="test_abtest.py::test_welch_type_one_error_and_coverage_small_unequal_samples",
    ),
    Calibration(
        "Welch test size, 8 vs 12 users, sd 3 vs 1",
        "abtest",
        0.05,
        "the same 20,000 experiments without the effect; p <= 0.05",
        lambda: _welch_small_samples()[1].rejection_rate(alpha=0.05),
        test="test_abtest.py::test_welch_type_one_error_and_coverage_small_unequal_samples",
    ),
    Calibration(
        "Two-proportion z-test size, 2,000 users per arm at 10%",
        "abtest",
        0.05,
        "40,000 binomial experiments; batch_compare_proportions, p <= 0.05",
        lambda: _pooled_z_test().rejection_rate(alpha=0.05),
        test="test_abtest.py::test_pooled_z_test_type_one_error_and_interval_coverage",
    ),
    Calibration(
        "Relative-lift Fieller interval coverage, exponential revenue",
        "abtest",
        0.95,
        "20,000 experiments, 200 users per arm, true lift 10%; "
        "batch_estimate_relative_lift(method='fieller')",
        _relative_lift_coverage,
        test="test_abtest.py::test_relative_lift_coverage",
    ),
    Calibration(
        "Ratio metric (clicks per page view) delta-method coverage",
        "abtest",
        0.95,
        "2,000 experiments, 500 users per arm, clustered page views; batch_compare_ratio_metrics",
        _ratio_metric_coverage,
        test="test_abtest.py::test_ratio_metric_delta_covers_and_naive_binomial_does_not",
    ),
    Calibration(
        "CUPED interval coverage, correlation 0.5",
        "cuped",
        0.95,
        "4,000 experiments of 200 users, effect 0.1; batch_estimate_cuped",
        _cuped_coverage,
        test="test_cuped.py::test_variance_ratio_and_coverage",
    ),
    Calibration(
        "Lin's estimator size, 25% treated, heterogeneous slopes",
        "cuped",
        0.05,
        "4,000 experiments of 150 users, no effect; batch_estimate_cuped(method='lin')",
        _lin_size,
        test="test_cuped.py::test_type_one_error_and_lin_coverage_with_uneven_split",
    ),
    Calibration(
        "Welch DiD size with 10 geos",
        "geo",
        0.05,
        "4,000 geo experiments, 28 + 14 days, no lift; simulate_did_estimates",
        lambda: _did_size("complete", 10),
        test="test_geo.py::test_type_one_error_of_welch_and_paired_did",
    ),
    Calibration(
        "Paired DiD size with 10 geos in matched pairs",
        "geo",
        0.05,
        "4,000 matched-pair experiments, no lift; simulate_did_estimates(design='pairs')",
        lambda: _did_size("pairs", 11),
        test="test_geo.py::test_type_one_error_of_welch_and_paired_did",
    ),
    Calibration(
        "Welch DiD interval coverage with 20 geos",
        "geo",
        0.95,
        "4,000 geo experiments, 8% lift; coverage of each experiment's true effect",
        _did_coverage,
        test="test_geo.py::test_welch_interval_covers_the_true_effect",
    ),
    Calibration(
        "O'Brien-Fleming K = 5 type-I error, two-sided 0.05",
        "sequential",
        0.05,
        "200,000 simulated z-paths under the null; batch_estimate_at_stop",
        _group_sequential_size,
        test="test_sequential.py::test_simulated_type_one_error_is_alpha",
    ),
    Calibration(
        "O'Brien-Fleming K = 4 power at the drift solved for 80%",
        "sequential",
        0.8,
        "200,000 z-paths at the design's drift; batch_estimate_at_stop",
        _group_sequential_power,
        test="test_sequential.py::test_simulated_power_and_expected_sample_size_match_recursion",
    ),
    Calibration(
        "Synthetic control placebo-t interval coverage, one treated unit",
        "synth",
        0.95,
        "80 factor-model panels, 19 donors, 20 + 10 periods, no effect; "
        "batch_estimate_synthetic_control",
        _synthetic_control_coverage,
        test="test_synth.py::test_placebo_intervals_cover_at_nominal_rate",
    ),
    Calibration(
        "AIPW interval coverage on Thompson-sampling logs with a 5% floor",
        "bandits",
        0.95,
        "200 bandit runs of 4,000 rounds (0.10 vs 0.11, batches of 100); "
        "batch_estimate_effects(method='aipw')",
        _bandit_aipw_coverage,
        test="test_bandits.py::test_floor_design_aipw_covers_where_naive_does_not",
    ),
]
