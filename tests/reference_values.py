"""The independent references the test suite checks, kept as data.

Three registries, read by ``tests/test_reference_values.py`` and by the book's page "How
the numbers are checked" (``book/validation.md``):

- :data:`REFERENCE_VALUES`: one :class:`ReferenceValue` per published number or table (a
  table of a paper or book, an R or Stata package's printed output, another package's unit
  tests) or per number produced once by an independent implementation (scipy,
  statsmodels, pyfixest) and kept as a literal, with the command that produced it, the
  tolerance the test allows and a zero-argument callable that computes the same quantity
  with ``playbook_lib``. A reference is one number or a tuple of numbers (a row of a
  table, the bounds of a design), compared element by element.
- :data:`CALIBRATIONS`: one :class:`Calibration` per Monte Carlo check of an interval's
  coverage or a test's rejection rate: the nominal level and a zero-argument callable that
  returns the package's own answer, the :class:`playbook_lib.Estimate` of
  ``Estimates.coverage`` or ``Estimates.rejection_rate`` over vectorised ``batch_*``
  simulations (each well under a second). A calibration passes when it lies within three
  Monte Carlo standard errors of nominal (``details["z_vs_nominal"]``).
- :data:`CHECKED_IN_TEST_MODULES`: one :class:`ListedReference` per reference that needs a
  slow fit or a heavy import and so is checked only in its own test module: the
  hierarchical models' (posteriordb's eight-schools posterior, statsmodels'
  DerSimonian-Laird estimate, exact grid posteriors, their calibrations), in
  ``tests/test_hbm.py``, which loads PyMC. They are listed (reference, source, tolerance,
  test), not evaluated here.

Every literal, tolerance and seed is copied from the test named in the entry's ``test``
field, with that test's source comment; the tests themselves stay where they are. Entries
are cheap: the whole registry evaluates in a few seconds of CPU, imports included.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
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
    "CHECKED_IN_TEST_MODULES",
    "REFERENCE_VALUES",
    "Calibration",
    "ListedReference",
    "ReferenceValue",
    "augsynth_cv_lambda",
]


@dataclass(frozen=True)
class ReferenceValue:
    """A number (or a tuple of numbers) from an independent source and the package's way
    of computing it.

    ``compute()`` returns a number, or a sequence as long as ``reference``. It agrees with
    the reference when every element satisfies ``|value - reference| <= tolerance``
    (``relative=False``) or ``<= tolerance * |reference|`` (``relative=True``). A source
    that prints rounded numbers gets a tolerance of half its last digit.
    """

    quantity: str
    module: str
    reference: float | tuple[float, ...]
    source: str
    tolerance: float
    compute: Callable[[], float | Sequence[float] | np.ndarray]
    relative: bool = False
    test: str = ""

    @property
    def references(self) -> np.ndarray:
        """The reference as a one-dimensional float array."""
        return np.atleast_1d(np.asarray(self.reference, dtype=float))

    @property
    def n_values(self) -> int:
        """How many numbers the reference holds."""
        return int(self.references.size)

    def values(self, value: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """``value`` (what ``compute()`` returned) as a one-dimensional float array."""
        return np.atleast_1d(np.asarray(value, dtype=float)).ravel()

    def allowed(self) -> np.ndarray:
        """The largest absolute difference that still agrees, element by element."""
        reference = self.references
        if self.relative:
            return self.tolerance * np.abs(reference)
        return np.full(reference.shape, float(self.tolerance))

    def largest_difference(self, value: float | Sequence[float] | np.ndarray) -> float:
        """``max |value - reference|`` (NaN when the lengths differ or a value is NaN)."""
        values = self.values(value)
        if values.shape != self.references.shape:
            return math.nan
        return float(np.max(np.abs(values - self.references)))

    def agrees(self, value: float | Sequence[float] | np.ndarray) -> bool:
        """Whether every element of ``value`` is within the tolerance of the reference."""
        values = self.values(value)
        if values.shape != self.references.shape or not np.all(np.isfinite(values)):
            return False
        return bool(np.all(np.abs(values - self.references) <= self.allowed()))

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


@dataclass(frozen=True)
class ListedReference:
    """A reference checked only in its own test module (a slow fit or a heavy import).

    ``reference`` is the literal as the test writes it, or, where the test computes its
    reference on the spot (statsmodels, ArviZ, an exact grid), what it computes;
    ``tolerance`` is the test's, as text.
    """

    quantity: str
    module: str
    reference: str
    source: str
    tolerance: str
    test: str


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


_THIRDS = (1 / 3, 2 / 3, 1.0)
# tests/test_sequential_futility.py: RPACT_DESIGNS, the arguments of design_beta_spending
_BETA_SPENDING_ARGUMENTS = {
    "asOF/bsOF non-binding": {"information_fractions": _THIRDS, "alpha": 0.025, "power": 0.8},
    "asOF/bsOF binding": {
        "information_fractions": _THIRDS,
        "alpha": 0.025,
        "power": 0.8,
        "binding_futility": True,
    },
    "asP/bsKD uneven non-binding": {
        "information_fractions": (0.2, 0.45, 0.7, 1.0),
        "alpha": 0.025,
        "power": 0.9,
        "spending": "pocock",
        "beta_spending": "power",
        "beta_gamma": 2.0,
    },
    "asHSD/bsHSD binding": {
        "information_fractions": (0.25, 0.5, 0.75, 1.0),
        "alpha": 0.05,
        "power": 0.8,
        "spending": "hwang-shih-decani",
        "gamma": -2.0,
        "beta_spending": "hwang-shih-decani",
        "beta_gamma": -2.0,
        "binding_futility": True,
    },
}


@cache
def _beta_spending(name: str) -> sq.GroupSequentialDesign:
    arguments = dict(_BETA_SPENDING_ARGUMENTS[name])
    arguments["information_fractions"] = list(arguments["information_fractions"])
    return sq.design_beta_spending(**arguments)


def _beta_spending_characteristics(name: str) -> np.ndarray:
    """rpact's shift, inflation factor and expected sample sizes under H1, at half the
    drift and under H0 (relative to the fixed design)."""
    design = _beta_spending(name)
    power = _BETA_SPENDING_ARGUMENTS[name]["power"]
    summary = sq.compute_design_characteristics(design, power)
    half = sq.compute_operating_characteristics(design, design.planned_drift / 2)
    return np.array(
        [
            design.planned_drift**2,
            summary.inflation_factor,
            summary.expected_n_h1,
            half["expected_fraction"].iloc[0] * summary.inflation_factor,
            summary.expected_n_h0,
        ]
    )


@cache
def _power_means(name: str):  # noqa: ANN202
    """Operating characteristics at effects 0, 0.2, 0.3 (sd 1, 400 subjects in two groups:
    drift ``delta * sqrt(400) / 2``), as in rpact's getPowerMeans."""
    design = sq.design_pocock(4, 0.05) if name == "Pocock two-sided K=4" else _beta_spending(name)
    drifts = np.array([0.0, 0.2, 0.3]) * np.sqrt(400) / 2
    return sq.compute_operating_characteristics(design, drifts)


_RPACT_BOUNDS = (3.47109144465409, 2.45443229863352, 2.00403557995285)
_RPACT_EVENTS = np.array([100.0, 200.0, 300.0])


@cache
def _rpact_after_stop(zs: tuple[float, ...], binding: bool = False):  # noqa: ANN202
    """rpact's log-rank layout: a look's log hazard ratio is ``z * 2 / sqrt(events)``."""
    if binding:
        design = sq.design_beta_spending([1 / 3, 2 / 3, 1.0], 0.025, 0.8, binding_futility=True)
    else:
        design = sq.design_from_bounds([1 / 3, 2 / 3, 1.0], list(_RPACT_BOUNDS), sides=1)
    se = 2.0 / np.sqrt(_RPACT_EVENTS[: len(zs)])
    estimates = np.asarray(zs) * se
    result = sq.estimate_after_stop(design, len(zs), estimates[-1], se[-1])
    repeated = None
    if not binding:
        repeated = sq.compute_repeated_confidence_intervals(design, estimates, se).to_frame()
    return result, repeated


@cache
def _kansas_panel() -> synth.Panel:
    return synth.prepare_panel(
        pl.datasets.load_kansas(),
        unit="state",
        time="time",
        outcome="log_gdp_per_capita",
        treated="treated",
    )


@cache
def _kansas_sc() -> Estimate:
    return synth.estimate_synthetic_control(_kansas_panel(), rng=0)


def _kansas_sc_used_weights() -> np.ndarray:
    weights = _kansas_sc().details["weights"].iloc[:, 0].to_numpy()
    return weights[weights > 1e-6]


def _kansas_imbalance(gaps: np.ndarray) -> tuple[float, float]:
    """augsynth's "L2 Imbalance" and "Percent improvement from uniform weights"."""
    panel = _kansas_panel()
    pre = panel.outcomes[:, : panel.n_pre]
    l2 = float(np.sqrt(np.sum(gaps[: panel.n_pre] ** 2)))
    uniform = float(np.sqrt(np.sum((pre[-1] - pre[:-1].mean(axis=0)) ** 2)))
    return l2, 1 - l2 / uniform


def augsynth_cv_lambda(panel: synth.Panel) -> float:
    """augsynth's default ridge penalty for one treated unit, written from its R source.

    ``cv_lambda``, ``create_lambda_list``, ``choose_lambda`` (``R/cv.R``) and
    ``get_lambda_errors`` (``R/ridge_lambda.R``) with the defaults of
    ``fit_ridgeaug_formatted`` (``n_lambda = 20``, ``lambda_min_ratio = 1e-8``,
    ``holdout_length = 1``, ``min_1se = TRUE``): pre-period outcomes centred by the
    donors' mean; 21 penalties ``lambda_max * (1e-8)^(k / 20)``, ``k = 0..20``, with
    ``lambda_max`` the squared top singular value of the centred donor matrix; each of
    the first ``T0 - 1`` pre-periods in turn is held out, synthetic control is refitted
    on the others and the ridge weights ``r' (X0' X0 + lambda I)^-1 X0'`` are computed
    as augsynth writes them (a ``T x T`` solve, not the package's SVD of the ``J x J``
    form); the largest penalty whose mean squared held-out error is within one standard
    error of the smallest is chosen.

    Parameters
    ----------
    panel : synth.Panel
        A panel with one treated unit (the last row of ``panel.outcomes``).

    Returns
    -------
    float
        The chosen penalty.
    """
    n0, t0 = panel.n_controls, panel.n_pre
    pre = panel.outcomes[:, :t0]
    x_c = pre[:n0] - pre[:n0].mean(axis=0)
    x_1 = pre[n0] - pre[:n0].mean(axis=0)
    lambda_max = np.linalg.svd(x_c, compute_uv=False)[0] ** 2
    lambdas = lambda_max * (1e-8 ** (1 / 20)) ** np.arange(21)
    errors = np.empty((t0 - 1, lambdas.size))
    for i in range(t0 - 1):
        keep = np.arange(t0) != i
        x_0, x_t = x_c[:, keep], x_1[keep]
        syn = synth.fit_simplex_weights(x_0.T, x_t).weights
        gram = x_0.T @ x_0
        systems = gram[None] + lambdas[:, None, None] * np.eye(t0 - 1)[None]
        rhs = np.broadcast_to(x_t - syn @ x_0, (lambdas.size, t0 - 1))[..., None]
        ridge = np.linalg.solve(systems, rhs)[..., 0] @ x_0.T  # (L, J)
        errors[i] = (x_1[i] - (syn[None] + ridge) @ x_c[:, i]) ** 2
    mean = errors.mean(axis=0)
    se = errors.std(axis=0, ddof=1) / np.sqrt(errors.shape[0])
    best = int(np.argmin(mean))
    return float(lambdas[mean <= mean[best] + se[best]].max())


@cache
def _kansas_ascm():  # noqa: ANN202
    ridge_lambda = augsynth_cv_lambda(_kansas_panel())
    return ridge_lambda, synth.fit_augmented_synthetic_control(
        _kansas_panel(), ridge_lambda=ridge_lambda
    )


def _kansas_ascm_gaps() -> np.ndarray:
    return _kansas_ascm()[1].gaps.iloc[:, 0].to_numpy()


@cache
def _castle(weights: str | None) -> Estimate:
    return geo.estimate_twfe(
        pl.datasets.load_castle(),
        unit="state",
        time="year",
        outcome="log_homicide",
        treated="treated",
        weights=weights,
    )


def _castle_xtreg_se(weights: str | None) -> float:
    """The package's CR1 standard error in xtreg's convention: statsmodels counts the
    state dummies in K (K = G + T = 61), xtreg's within estimator does not (K = T + 1 =
    12), so the two differ by ``sqrt((N - G - T) / (N - T - 1))`` exactly."""
    estimate = _castle(weights)
    n_rows, n_states = estimate.details["n_rows"], estimate.details["n_clusters"]
    n_years = int(pl.datasets.load_castle()["year"].nunique())
    return float(estimate.se * np.sqrt((n_rows - n_states - n_years) / (n_rows - n_years - 1)))


@cache
def _continuation(sizes: tuple[int, ...] = (40_000, 60_000)):  # noqa: ANN202
    rule = dec.DecisionRule(
        dec.PrimaryMetric("conversion", minimum_effect=0.005),
        (
            dec.Guardrail("latency", "lower_is_better", 20.0),
            dec.Guardrail("retention", "higher_is_better", 0.002),
        ),
        alpha=0.025,
    )
    return dec.plan_continuation(rule, list(sizes))


_MPDTA_COLUMNS = {
    "unit": "county",
    "time": "year",
    "outcome": "log_employment",
    "first_treated": "first_treated",
}


@cache
def _mpdta():  # noqa: ANN202
    return geo.fit_callaway_santanna(pl.datasets.load_mpdta(), **_MPDTA_COLUMNS)


@cache
def _mpdta_group_time():  # noqa: ANN202
    table = _mpdta().group_time().to_frame()
    return table.set_index(["cohort", "time"])


@cache
def _mpdta_imputation() -> geo.ImputationFit:
    return geo.fit_imputation(pl.datasets.load_mpdta(), **_MPDTA_COLUMNS)


def _mpdta_imputation_horizons(column: str) -> np.ndarray:
    table = _mpdta_imputation().by_horizon().to_frame().set_index("horizon")
    return table.loc[[0.0, 1.0, 2.0, 3.0], column].to_numpy()


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
_GSDESIGN = "gsDesign's unit tests, tests/testthat/test-outputs.R"
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
# tests/test_sequential_futility.py: rpact 4.x (Debian's r-cran-rpact), computed once and
# kept as literals (%.15g)
_RPACT_BETA_SPENDING_CALLS = {
    "asOF/bsOF non-binding": "getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, "
    'sided = 1, typeOfDesign = "asOF", typeBetaSpending = "bsOF", bindingFutility = FALSE)',
    "asOF/bsOF binding": "getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, "
    'sided = 1, typeOfDesign = "asOF", typeBetaSpending = "bsOF", bindingFutility = TRUE)',
    "asP/bsKD uneven non-binding": "getDesignGroupSequential(informationRates = c(0.2, 0.45, "
    '0.7, 1), alpha = 0.025, beta = 0.1, sided = 1, typeOfDesign = "asP", '
    'typeBetaSpending = "bsKD", gammaB = 2, bindingFutility = FALSE)',
    "asHSD/bsHSD binding": "getDesignGroupSequential(kMax = 4, alpha = 0.05, beta = 0.2, "
    'sided = 1, typeOfDesign = "asHSD", gammaA = -2, typeBetaSpending = "bsHSD", gammaB = -2, '
    "bindingFutility = TRUE)",
    "Pocock two-sided K=4": "getDesignGroupSequential(kMax = 4, alpha = 0.05, sided = 2, "
    'typeOfDesign = "P")',
}
# name -> (d$criticalValues, d$futilityBounds, getDesignCharacteristics(d): shift,
# inflationFactor, averageSampleNumber1, averageSampleNumber01, averageSampleNumber0)
_RPACT_DESIGNS = {
    "asOF/bsOF non-binding": (
        (3.7103028732625, 2.51142748445272, 1.9930474832654),
        (-0.236144609880091, 1.17037203116342),
        (
            8.66778493209013,
            1.10433402287428,
            0.87520994677452,
            0.834134871094387,
            0.627409515076705,
        ),
    ),
    "asOF/bsOF binding": (
        (3.7103028732625, 2.5111084356904, 1.93091572076082),
        (-0.270005563802686, 1.12248460715637),
        (
            8.32588701261494,
            1.06077393136479,
            0.847936728754366,
            0.807321350523086,
            0.610695336626305,
        ),
    ),
    "asP/bsKD uneven non-binding": (
        (2.43797668805001, 2.37650979310274, 2.3630550429225, 2.32651939243078),
        (-1.04576569209166, 0.312580315861851, 1.26907560089603),
        (12.901064593999, 1.2278048117566, 0.692582482935466, 0.85581829176587, 0.643859325844535),
    ),
    "asHSD/bsHSD binding": (
        (2.57055287981281, 2.3207658007741, 2.0491873845458, 1.71932067722082),
        (-0.748558740221995, 0.125907864887267, 0.907364500220865),
        (
            6.74840955396141,
            1.09152399253355,
            0.760093698232203,
            0.798588274824222,
            0.63504769963539,
        ),
    ),
}
# getPowerMeans(d, groups = 2, normalApproximation = TRUE, alternative = c(0, 0.2, 0.3),
# stDev = 1, maxNumberOfSubjects = 400): overallReject, earlyStop, futilityStop,
# expectedNumberOfSubjects
_RPACT_POWER_MEANS = {
    "asOF/bsOF non-binding": (
        (0.0220407889104623, 0.473597314518243, 0.814569219550328),
        (0.888834782799014, 0.52275204265166, 0.583390847932979),
        (0.882792732197097, 0.33272798736546, 0.107968091686146),
        (227.253530935769, 318.641540474076, 315.751497937157),
    ),
    "asOF/bsOF binding": (
        (0.0250000002074752, 0.495981758596649, 0.829123274686093),
        (0.879196492589375, 0.505829859981868, 0.575085627714508),
        (0.873148103375101, 0.315699493801988, 0.0995004719192571),
        (230.282935343474, 321.5665124662, 317.109986516413),
    ),
    "Pocock two-sided K=4": (
        (0.0499999999999993, 0.427808887286658, 0.779984151288317),
        (0.0417548079124644, 0.317526807194388, 0.637782255785456),
        (0.0, 0.0, 0.0),
        (390.848815775912, 339.451566297119, 273.052187517053),
    ),
}
_RPACT_ANALYSIS = (
    "rpact 4.x: d <- getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, "
    'typeOfDesign = "OF", informationRates = c(1/3, 2/3, 1)); ds <- getDataset(overallEvents '
    "= c(100, 200, 300)[looks], overallLogRanks = z, overallAllocationRatios = 1); "
    "getAnalysisResults(d, ds, directionUpper = TRUE): finalPValues, "
    "finalConfidenceInterval*, medianUnbiasedEstimates, repeatedConfidenceInterval* "
    "(hazard ratios)"
)
# z at each look taken -> (final p, final CI low, high, median-unbiased HR, RCI lows, highs)
_RPACT_CASES = {
    (1.5, 3.1): (
        0.00115949310888508,
        1.17036554805716,
        2.04312749563931,
        1.54745442791621,
        (0.674206868279439, 1.09559441391174),
        (2.702610854715, 2.19353708767719),
    ),
    (3.8,): (
        7.23480439250856e-05,
        1.44485244634148,
        3.16449282189301,
        2.13827622049682,
        (1.06799356117929,),
        (4.28113560168751,),
    ),
    (1.2, 2.0, 2.3): (
        0.0145155203021636,
        1.02730452577519,
        1.6286001500833,
        1.29576502353288,
        (0.634944116844734, 0.937755096140506, 1.0347657032221),
        (2.54522280336271, 1.87752022380815, 1.64376152089806),
    ),
}
# the binding beta-spending design asOF/bsOF, the same data layout: (final p, final CI low,
# high, median-unbiased HR) of the last stage
_RPACT_BINDING_CASES = {
    (1.5, 2.6): (0.00469901640442916, 1.09443139597993, 1.9057307622269, 1.44424054693633),
    (0.5, 1.6, 2.1): (0.0185013379225778, 1.01504783477329, 1.6202677454605, 1.27996882496856),
}
_SYNTHDID = (
    "Arkhangelsky et al. (2021, AER), Table 1, and the synthdid R package: "
    "setup = panel.matrices(california_prop99); "
    "synthdid_estimate(setup$Y, setup$N0, setup$T0)"
)
_AUGSYNTH = (
    "R package augsynth, vignettes/singlesynth-vignette.md (github.com/ebenmichael/augsynth, "
    "commit f942957): summary(augsynth(lngdpcapita ~ treated, fips, year_qtr, kansas, "
)
_AUGSYNTH_SC = _AUGSYNTH + "progfunc = 'None', scm = TRUE))"
_AUGSYNTH_RIDGE = (
    _AUGSYNTH + "progfunc = 'Ridge', scm = TRUE)), with augsynth's cross-validated penalty "
    "(cv_lambda, R/cv.R, rewritten in augsynth_cv_lambda)"
)
# tests/test_published_references.py: summary(syn) and summary(asyn) of the vignette
_SC_QUARTERLY = (
    -0.018, -0.041, -0.033, -0.019, -0.029, -0.046, -0.032, -0.045,
    -0.043, -0.029, -0.018, -0.029, -0.019, -0.022, -0.019, -0.028,
)  # fmt: skip
_ASCM_QUARTERLY = (
    -0.022, -0.047, -0.043, -0.030, -0.041, -0.059, -0.045, -0.058,
    -0.055, -0.041, -0.029, -0.040, -0.030, -0.033, -0.029, -0.038,
)  # fmt: skip
# half a unit of the printed last digit, plus float slack (the test's _within_rounding);
# for nine decimals the slack would show in the tolerance, and is not needed
_ROUND_3, _ROUND_4, _ROUND_9 = 0.5e-3 + 1e-12, 0.5e-4 + 1e-12, 0.5e-9
_STATA_CASTLE = (
    "Stata 18: xtreg l_homicide post i.year{weights}, fe vce(cluster sid), as recorded in "
    "github.com/brycewang-stanford/StatsPAI, "
    "tests/reference_parity/test_castle_stata_parity.py (commit bcc3070c)"
)
_DID = (
    "R package did 2.5.1, README (github.com/bcallaway11/did, commit 71ba8a5): "
    "att_gt(yname = 'lemp', tname = 'year', idname = 'countyreal', gname = "
    "'first.treat', xformla = ~1, data = mpdta, est_method = 'reg')"
)
# tests/test_geo_staggered.py: the did README's ATT(g, t) and its (bootstrap) standard
# error, never-treated comparison
_DID_GROUP_TIME = {
    (2004, 2004): (-0.0105, 0.0246),
    (2004, 2005): (-0.0704, 0.0332),
    (2004, 2006): (-0.1373, 0.0397),
    (2004, 2007): (-0.1008, 0.0357),
    (2006, 2004): (0.0065, 0.0229),
    (2006, 2005): (-0.0028, 0.0197),
    (2006, 2006): (-0.0046, 0.0179),
    (2006, 2007): (-0.0412, 0.0192),
    (2007, 2004): (0.0305, 0.0154),
    (2007, 2005): (-0.0027, 0.0164),
    (2007, 2006): (-0.0311, 0.0184),
    (2007, 2007): (-0.0261, 0.0170),
}
_DID_EVENT_TIME = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510,
                   2: -0.1373, 3: -0.1008}  # fmt: skip
_DID_COHORT = {2004: -0.0797, 2006: -0.0229, 2007: -0.0261}
# tests/test_imputation_reference.py: the imputation estimator on mpdta
_STATA_DID_IMPUTATION = (
    "Stata 18 MP, did_imputation (Borusyak, 2023-11-22 build), set type double, tol(1e-12): "
    "did_imputation lemp countyreal year Ei (Ei = first_treat, missing if never treated) on "
    "did's mpdta, as recorded in github.com/brycewang-stanford/StatsPAI, tests/stata_parity/"
    "option_parity/results/84_bjs_fe_covariates_Stata.json (commit f88b6be), 'default'"
)
_R_DID2S = (
    "R package did2s 1.2.1 (fixest 0.14.0): did2s(mpdta, yname = 'lemp', first_stage = ~ 0 | "
    "countyreal + year, second_stage = ~ i(dpost, ref = FALSE), treatment = 'dpost', "
    "cluster_var = 'countyreal'), as recorded (10 significant digits) in "
    "github.com/brycewang-stanford/StatsPAI, "
    "tests/reference_parity/test_sunab_did2s_mpdta_parity.py (commit 45afc9c)"
)
_PYFIXEST_DID2S = (
    "pyfixest 0.60.0, Gardner's two-stage DiD: pyfixest.did2s(mpdta, yname = "
    "'log_employment', first_stage = '~ 0 | county + year', second_stage = '{second}', "
    "treatment = 'treat', cluster = 'county') with a first stage that keeps singleton "
    "fixed effects, as R does (script in tests/test_imputation_reference.py)"
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
    ReferenceValue(
        "O'Brien-Fleming K = 4, two-sided alpha = 0.05: the four bounds",
        "sequential",
        (4.049, 2.863, 2.337, 2.024),
        f"{_JT2000}, Table 2.3",
        1e-3,
        lambda: sq.design_obrien_fleming(4, alpha=0.05, sides=2).efficacy_bounds,
        test="test_sequential.py::test_obrien_fleming_k4_matches_jennison_turnbull_table_2_3",
    ),
    ReferenceValue(
        "O'Brien-Fleming K = 4, two-sided alpha = 0.05: the bounds to 2 decimals",
        "sequential",
        (4.05, 2.86, 2.34, 2.02),
        f'{_GSDESIGN} ("test.Deming.OFbound"): 4.05, 2.86, 2.34, 2.02',
        5e-3,
        lambda: sq.design_obrien_fleming(4, alpha=0.05, sides=2).efficacy_bounds,
        test="test_sequential.py::test_obrien_fleming_k4_matches_gsdesign_unit_test",
    ),
    ReferenceValue(
        "O'Brien-Fleming-type spending, 3 equal looks, one-sided 0.025: the bounds",
        "sequential",
        (3.710, 2.511, 1.993),
        'rpact: getDesignGroupSequential(typeOfDesign = "asOF", kMax = 3) prints '
        "critical values 3.710, 2.511, 1.993 (rpact annual meeting 2025)",
        1e-3,
        lambda: sq.design_alpha_spending([1 / 3, 2 / 3, 1], alpha=0.025, sides=1).efficacy_bounds,
        test="test_sequential.py::test_obf_spending_matches_rpact_one_sided",
    ),
    ReferenceValue(
        "O'Brien-Fleming-type spending at 0.25, 0.5, 0.75, 1, one-sided 0.05: the bounds",
        "sequential",
        (3.74955, 2.53993, 2.01604, 1.72014),
        "SeqBounds.jl README (PharmCat/SeqBounds.jl): Z = 3.74955, 2.53993, 2.01604, "
        "1.72014 (coarse grid)",
        1e-3,
        lambda: sq.design_alpha_spending([0.25, 0.5, 0.75, 1], alpha=0.05, sides=1).efficacy_bounds,
        test="test_sequential.py::test_obf_spending_matches_seqbounds_readme",
    ),
    ReferenceValue(
        "O'Brien-Fleming K = 3 with futility at 0: efficacy bounds",
        "sequential",
        (3.471, 2.454, 2.004),
        _RPACT_FUTILITY,
        1e-3,
        lambda: _rpact_obrien_fleming_futility()[0].efficacy_bounds,
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
        "O'Brien-Fleming K = 3 with futility at 0: cumulative power at each look",
        "sequential",
        (0.0356, 0.4617, 0.8000),
        _RPACT_FUTILITY,
        1e-4,
        lambda: _rpact_obrien_fleming_futility()[2]["cumulative_upper"].to_numpy(),
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
        "Spending design at 0.3, 0.6, 1 with futility at 0: expected sample size under H0",
        "sequential",
        0.695,
        _RPACT_SPENDING,
        1e-3,
        lambda: float(_rpact_spending_futility()[1].expected_n_h0),
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
    ReferenceValue(
        "Repeated two-sided 0.05 tests at K = 2, 4, 10, 20 equal looks: upper-crossing probability",
        "sequential",
        (0.042, 0.063, 0.097, 0.124),
        f'{_GSDESIGN} ("test.Deming.gsProb"): 0.042, 0.063, 0.097, 0.124 for K = 2, 4, 10, '
        "20 (half the two-sided error; 3 decimals)",
        5e-4,
        lambda: [sq.compute_naive_peeking_error(k) / 2 for k in (2, 4, 10, 20)],
        test="test_sequential.py::test_naive_peeking_single_look_is_alpha_and_grows_with_looks",
    ),
    *[
        ReferenceValue(
            f"Inflation factors, {name} K = 2, 3, 4, 5, {power:.0%} power, two-sided 0.05",
            "sequential",
            expected,
            f"{_JT2000}, {table}",
            1.5e-3,
            lambda maker=maker, power=power: [
                sq.compute_design_characteristics(maker(k), power).inflation_factor
                for k in (2, 3, 4, 5)
            ],
            test="test_sequential.py::test_inflation_factors_match_jennison_turnbull",
        )
        for name, maker, power, expected, table in (
            ("Pocock", sq.design_pocock, 0.8, (1.110, 1.166, 1.202, 1.228), "Table 2.2 (R_P)"),
            ("Pocock", sq.design_pocock, 0.9, (1.100, 1.151, 1.183, 1.207), "Table 2.2 (R_P)"),
            (
                "O'Brien-Fleming",
                sq.design_obrien_fleming,
                0.8,
                (1.008, 1.017, 1.024, 1.028),
                "Table 2.4 (R_B)",
            ),
            (
                "O'Brien-Fleming",
                sq.design_obrien_fleming,
                0.9,
                (1.007, 1.016, 1.022, 1.026),
                "Table 2.4 (R_B)",
            ),
        )
    ],
    # ------------------------------------------- beta spending and operating characteristics
    *[
        ReferenceValue(
            f"Beta spending ({name}): {what}",
            "sequential",
            expected,
            f"rpact 4.x: {_RPACT_BETA_SPENDING_CALLS[name]}; {call}",
            2e-7,
            compute,
            relative=relative,
            test="test_sequential_futility.py::test_beta_spending_design_matches_rpact",
        )
        for name, (efficacy, futility, characteristics) in _RPACT_DESIGNS.items()
        for what, expected, call, relative, compute in (
            (
                "efficacy bounds",
                efficacy,
                "d$criticalValues",
                False,
                lambda name=name: _beta_spending(name).efficacy_bounds,
            ),
            (
                "futility bounds before the last look",
                futility,
                "d$futilityBounds",
                False,
                lambda name=name: _beta_spending(name).futility_bounds[:-1],
            ),
            (
                "shift, inflation factor, expected sample sizes under H1, at half the drift, "
                "under H0",
                characteristics,
                "getDesignCharacteristics(d): shift, inflationFactor, averageSampleNumber1, "
                "averageSampleNumber01, averageSampleNumber0",
                True,
                lambda name=name: _beta_spending_characteristics(name),
            ),
        )
    ],
    *[
        ReferenceValue(
            f"Operating characteristics ({name}) at effects 0, 0.2, 0.3: {what}",
            "sequential",
            expected,
            f"rpact 4.x: {_RPACT_BETA_SPENDING_CALLS[name]}; getPowerMeans(d, groups = 2, "
            "normalApproximation = TRUE, alternative = c(0, 0.2, 0.3), stDev = 1, "
            f"maxNumberOfSubjects = 400)${field}",
            tolerance,
            compute,
            relative=relative,
            test="test_sequential_futility.py::"
            "test_operating_characteristics_match_rpact_power_means",
        )
        for name, (power, early, futility, expected_n) in _RPACT_POWER_MEANS.items()
        for what, expected, field, tolerance, relative, compute in (
            (
                "power",
                power,
                "overallReject",
                2e-7,
                False,
                lambda name=name: _power_means(name)["power"].to_numpy(),
            ),
            (
                "probability of an early stop",
                early,
                "earlyStop",
                2e-7,
                False,
                lambda name=name: (
                    _power_means(name)["stop_early_efficacy"]
                    + _power_means(name)["stop_early_futility"]
                ).to_numpy(),
            ),
            (
                "probability of a futility stop",
                futility,
                "futilityStop",
                2e-7,
                False,
                lambda name=name: _power_means(name)["stop_early_futility"].to_numpy(),
            ),
            (
                "expected number of subjects",
                expected_n,
                "expectedNumberOfSubjects",
                2e-7,
                True,
                lambda name=name: 400 * _power_means(name)["expected_fraction"].to_numpy(),
            ),
        )
    ],
    # ------------------------------------------------------------- inference after a stop
    *[
        ReferenceValue(
            f"Stopped with z = {', '.join(map(str, zs))} (O'Brien-Fleming, 3 looks): {what}",
            "sequential",
            expected,
            _RPACT_ANALYSIS,
            tolerance,
            compute,
            relative=True,
            test="test_sequential_after_stop.py::test_stagewise_inference_matches_rpact",
        )
        for zs, (p, low, high, median, rci_low, rci_high) in _RPACT_CASES.items()
        for what, expected, tolerance, compute in (
            (
                "stage-wise-ordering p-value",
                p,
                1e-6,
                lambda zs=zs: float(_rpact_after_stop(zs)[0].details["one_sided_p_value"]),
            ),
            (
                "median-unbiased hazard ratio and the final interval (low, high)",
                (median, low, high),
                1e-7,
                lambda zs=zs: np.exp(
                    [
                        _rpact_after_stop(zs)[0].estimate,
                        _rpact_after_stop(zs)[0].ci_low,
                        _rpact_after_stop(zs)[0].ci_high,
                    ]
                ),
            ),
            (
                "repeated confidence intervals (lower ends, then upper ends)",
                (*rci_low, *rci_high),
                1e-7,
                lambda zs=zs: np.exp(
                    np.r_[
                        _rpact_after_stop(zs)[1]["ci_low"].to_numpy(),
                        _rpact_after_stop(zs)[1]["ci_high"].to_numpy(),
                    ]
                ),
            ),
        )
    ],
    *[
        ReferenceValue(
            f"Stopped with z = {', '.join(map(str, zs))} (binding asOF/bsOF design): p-value, "
            "median-unbiased hazard ratio, final interval (low, high)",
            "sequential",
            (p, median, low, high),
            _RPACT_ANALYSIS.replace(
                'sided = 1, typeOfDesign = "OF", informationRates = c(1/3, 2/3, 1)',
                'beta = 0.2, sided = 1, typeOfDesign = "asOF", typeBetaSpending = "bsOF", '
                "bindingFutility = TRUE",
            ),
            1e-6,
            lambda zs=zs: np.array(
                [
                    _rpact_after_stop(zs, True)[0].details["one_sided_p_value"],
                    *np.exp(
                        [
                            _rpact_after_stop(zs, True)[0].estimate,
                            _rpact_after_stop(zs, True)[0].ci_low,
                            _rpact_after_stop(zs, True)[0].ci_high,
                        ]
                    ),
                ]
            ),
            relative=True,
            test="test_sequential_after_stop.py::"
            "test_stagewise_inference_with_binding_futility_matches_rpact",
        )
        for zs, (p, low, high, median) in _RPACT_BINDING_CASES.items()
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
    ReferenceValue(
        "Hold then one more look at 3/2 the sample (one-sided 0.025): the two bounds",
        "decisions",
        (2.509308510, 1.992884152),
        'rpact: d <- getDesignGroupSequential(typeOfDesign = "asOF", informationRates = '
        "c(2/3, 1), alpha = 0.025, sided = 1); d$criticalValues",
        2e-5,
        lambda: _continuation().design.efficacy_bounds,
        test="test_decisions_continuation.py::test_plan_levels_match_rpact_and_spend_alpha_exactly",
    ),
    ReferenceValue(
        "Hold then one more look at 3/2 the sample (one-sided 0.025): the two looks' levels",
        "decisions",
        (0.00604838913, 0.02313706707),
        'rpact: getDesignGroupSequential(typeOfDesign = "asOF", informationRates = c(2/3, '
        "1), alpha = 0.025, sided = 1)$stageLevels: 0.00604838913, 0.02313706707",
        2e-6,
        lambda: _continuation().nominal_alpha,
        test="test_decisions_continuation.py::test_plan_levels_match_rpact_and_spend_alpha_exactly",
    ),
    ReferenceValue(
        "Hold, then looks at 1/2, 3/4 and all of the sample (one-sided 0.025): the bounds",
        "decisions",
        (2.962588043, 2.359017707, 2.014083676),
        'rpact: getDesignGroupSequential(typeOfDesign = "asOF", informationRates = c(0.5, '
        "0.75, 1), alpha = 0.025, sided = 1)$criticalValues",
        2e-5,
        lambda: _continuation((40_000, 60_000, 80_000)).design.efficacy_bounds,
        test="test_decisions_continuation.py::"
        "test_three_look_plan_matches_rpact_and_its_simulated_oc_holds_alpha",
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
        "Proposition 99: synthdid's synthetic control (estimate_synthdid_sc)",
        "synth",
        -19.6,
        "Arkhangelsky et al. (2021, AER), Table 1: SC -19.6 (synthdid's sc_estimate: -19.62)",
        0.3,
        lambda: synth.estimate_synthdid_sc(_prop99()).estimate,
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
    ReferenceValue(
        "Synthetic control on Kansas (2012 tax cuts, log GDP per capita): average effect",
        "synth",
        -0.0294,
        f"{_AUGSYNTH_SC} prints -0.0294",
        _ROUND_4,
        lambda: _kansas_sc().estimate,
        test="test_published_references.py::test_synthetic_control_on_kansas_matches_augsynth",
    ),
    ReferenceValue(
        "Synthetic control on Kansas: number of donors used",
        "synth",
        7.0,
        f'{_AUGSYNTH_SC}: "7 donor units used with weights of 0.053 to 0.301"',
        0.0,
        lambda: float(_kansas_sc_used_weights().size),
        test="test_published_references.py::test_synthetic_control_on_kansas_matches_augsynth",
    ),
    ReferenceValue(
        "Synthetic control on Kansas: smallest and largest donor weight",
        "synth",
        (0.053, 0.301),
        f'{_AUGSYNTH_SC}: "7 donor units used with weights of 0.053 to 0.301"',
        _ROUND_3,
        lambda: [_kansas_sc_used_weights().min(), _kansas_sc_used_weights().max()],
        test="test_published_references.py::test_synthetic_control_on_kansas_matches_augsynth",
    ),
    ReferenceValue(
        "Synthetic control on Kansas: L2 imbalance and improvement on uniform weights",
        "synth",
        (0.083, 0.795),
        f'{_AUGSYNTH_SC}: "L2 Imbalance: 0.083", "Percent improvement from uniform weights: 79.5%"',
        _ROUND_3,
        lambda: _kansas_imbalance(_kansas_sc().details["gaps"].iloc[:, 0].to_numpy()),
        test="test_published_references.py::test_synthetic_control_on_kansas_matches_augsynth",
    ),
    ReferenceValue(
        "Synthetic control on Kansas: the 16 quarterly effects, 2012Q2 to 2016Q1",
        "synth",
        _SC_QUARTERLY,
        f"{_AUGSYNTH_SC}: the quarterly estimates 2012.25-2016.00",
        _ROUND_3,
        lambda: _kansas_sc().details["gaps"].iloc[_kansas_panel().n_pre :, 0].to_numpy(),
        test="test_published_references.py::test_synthetic_control_on_kansas_matches_augsynth",
    ),
    ReferenceValue(
        "Ridge-augmented synthetic control on Kansas: augsynth's cross-validated penalty",
        "synth",
        0.0787,
        "augsynth's cv_lambda (R/cv.R; defaults of fit_ridgeaug_formatted), which augsynth "
        "does not print: the test's rewrite gives 0.0787",
        1e-3,
        lambda: _kansas_ascm()[0],
        relative=True,
        test="test_published_references.py::"
        "test_ridge_augmented_synthetic_control_on_kansas_matches_augsynth",
    ),
    ReferenceValue(
        "Ridge-augmented synthetic control on Kansas: average effect",
        "synth",
        -0.0401,
        f"{_AUGSYNTH_RIDGE} prints -0.0401",
        _ROUND_4,
        lambda: float(_kansas_ascm()[1].effects.iloc[0]),
        test="test_published_references.py::"
        "test_ridge_augmented_synthetic_control_on_kansas_matches_augsynth",
    ),
    ReferenceValue(
        "Ridge-augmented synthetic control on Kansas: largest weight, L2 imbalance, "
        "improvement on uniform weights, estimated bias",
        "synth",
        (0.316, 0.062, 0.847, 0.011),
        f'{_AUGSYNTH_RIDGE}: "weights of 0.001 to 0.316", "L2 Imbalance: 0.062", "Percent '
        'improvement from uniform weights: 84.7%", "Avg Estimated Bias: 0.011"',
        _ROUND_3,
        lambda: [
            float(_kansas_ascm()[1].weights.iloc[:, 0].max()),
            *_kansas_imbalance(_kansas_ascm_gaps()),
            float(_kansas_ascm()[1].bias_correction.iloc[0]),
        ],
        test="test_published_references.py::"
        "test_ridge_augmented_synthetic_control_on_kansas_matches_augsynth",
    ),
    ReferenceValue(
        "Ridge-augmented synthetic control on Kansas: the 16 quarterly effects",
        "synth",
        _ASCM_QUARTERLY,
        f"{_AUGSYNTH_RIDGE}: the quarterly estimates 2012.25-2016.00",
        _ROUND_3,
        lambda: _kansas_ascm_gaps()[_kansas_panel().n_pre :],
        test="test_published_references.py::"
        "test_ridge_augmented_synthetic_control_on_kansas_matches_augsynth",
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
    *[
        ReferenceValue(
            f"{label} TWFE, castle-doctrine laws on log homicides: {what}",
            "geo",
            expected,
            _STATA_CASTLE.format(weights=stata_weights),
            _ROUND_9,
            compute,
            test="test_published_references.py::test_castle_twfe_matches_stata_xtreg",
        )
        for label, weights, stata_weights, (coefficient, se) in (
            (
                "Population-weighted",
                "population_weight",
                " [aweight=popwt]",
                (0.075533239, 0.033193606),
            ),
            ("Unweighted", None, "", (0.069398429, 0.055859635)),
        )  # fmt: skip
        for what, expected, compute in (
            ("coefficient", coefficient, lambda weights=weights: _castle(weights).estimate),
            (
                "cluster-robust standard error in xtreg's convention",
                se,
                lambda weights=weights: _castle_xtreg_se(weights),
            ),
        )
    ],
    ReferenceValue(
        "Callaway-Sant'Anna on mpdta (never-treated comparison): the 12 ATT(g, t)",
        "geo",
        tuple(estimate for estimate, _ in _DID_GROUP_TIME.values()),
        f"{_DID}: ATT(g,t) for g, t in (2004, 2004), (2004, 2005), ..., (2007, 2007)",
        5e-5,
        lambda: _mpdta_group_time().loc[list(_DID_GROUP_TIME), "estimate"].to_numpy(),
        test="test_geo_staggered.py::test_group_time_effects_equal_the_did_package",
    ),
    ReferenceValue(
        "Callaway-Sant'Anna on mpdta: the 12 ATT(g, t) standard errors (analytic here, "
        "bootstrap there)",
        "geo",
        tuple(se for _, se in _DID_GROUP_TIME.values()),
        f"{_DID}: the multiplier-bootstrap standard errors (random, so compared loosely)",
        0.2,
        lambda: _mpdta_group_time().loc[list(_DID_GROUP_TIME), "se"].to_numpy(),
        relative=True,
        test="test_geo_staggered.py::test_group_time_effects_equal_the_did_package",
    ),
    ReferenceValue(
        "Callaway-Sant'Anna on mpdta: event-time effects, e = -3 to 3",
        "geo",
        tuple(_DID_EVENT_TIME.values()),
        f"{_DID}; aggte(out, type = 'dynamic')",
        5e-5,
        lambda: (
            _mpdta()
            .by_event_time()
            .to_frame()
            .set_index("event_time")
            .loc[list(_DID_EVENT_TIME), "estimate"]
            .to_numpy()
        ),
        test="test_geo_staggered.py::test_group_time_effects_equal_the_did_package",
    ),
    ReferenceValue(
        "Callaway-Sant'Anna on mpdta: cohort effects, g = 2004, 2006, 2007",
        "geo",
        tuple(_DID_COHORT.values()),
        f"{_DID}; aggte(out, type = 'group')",
        5e-5,
        lambda: (
            _mpdta().by_cohort().to_frame().set_index("cohort").loc[list(_DID_COHORT), "estimate"]
        ).to_numpy(),
        test="test_geo_staggered.py::test_group_time_effects_equal_the_did_package",
    ),
    *[
        ReferenceValue(
            f"Callaway-Sant'Anna on mpdta: {what}",
            "geo",
            expected,
            f"{_DID}; aggte(out, type = 'dynamic' / 'group')",
            tolerance,
            compute,
            relative=relative,
            test="test_geo_staggered.py::test_group_time_effects_equal_the_did_package",
        )
        for what, expected, tolerance, relative, compute in (
            (
                "dynamic (event-study) overall ATT",
                -0.0772,
                5e-5,
                False,
                lambda: float(_mpdta().overall("dynamic").estimate),
            ),
            (
                "dynamic overall ATT's standard error (analytic here, bootstrap there)",
                0.0219,
                0.2,
                True,
                lambda: float(_mpdta().overall("dynamic").se),
            ),
            (
                "group (cohort) overall ATT",
                -0.031,
                5e-4,
                False,
                lambda: float(_mpdta().overall("group").estimate),
            ),
            (
                "group overall ATT's standard error (analytic here, bootstrap there)",
                0.0126,
                0.2,
                True,
                lambda: float(_mpdta().overall("group").se),
            ),
            (
                "p-value of the pre-test of parallel trends (Wald chi-square)",
                0.16812,
                5e-6,
                False,
                lambda: float(_mpdta().pre_trend_test(reference="chi2")["p_value"]),
            ),
        )
    ],
    ReferenceValue(
        "Imputation estimator (Borusyak-Jaravel-Spiess) on mpdta: overall ATT",
        "geo",
        -0.047709915419267,
        _STATA_DID_IMPUTATION + " (Stata's iterative fixed-effects solver: about 6e-8 "
        "relative from the exact least-squares answer)",
        1e-6,
        lambda: _mpdta_imputation().overall().estimate,
        relative=True,
        test="test_imputation_reference.py::test_overall_att_matches_stata_did_imputation",
    ),
    ReferenceValue(
        "Imputation estimator on mpdta: overall ATT's clustered standard error",
        "geo",
        0.013222488649680,
        _STATA_DID_IMPUTATION + " (the conservative variance of BJS's Theorem 3, clustered "
        "by county, residuals around cohort-by-year means)",
        1e-6,
        lambda: _mpdta_imputation().overall().se,
        relative=True,
        test="test_imputation_reference.py::test_overall_att_matches_stata_did_imputation",
    ),
    ReferenceValue(
        "Imputation estimator on mpdta: overall ATT equals Gardner's two-stage estimate (R)",
        "geo",
        -0.0477099151,
        _R_DID2S + " (fixest's iterative first stage: 3e-9 from the exact answer)",
        1e-8,
        lambda: _mpdta_imputation().overall().estimate,
        test="test_imputation_reference.py::test_overall_att_equals_r_did2s",
    ),
    ReferenceValue(
        "Imputation estimator on mpdta: overall ATT equals Gardner's two-stage estimate (pyfixest)",
        "geo",
        -0.0477099182784148,
        _PYFIXEST_DID2S.format(second="~ i(treat, ref=0)"),
        1e-8,
        lambda: _mpdta_imputation().overall().estimate,
        test="test_imputation_reference.py::test_point_estimates_equal_pyfixest_did2s",
    ),
    ReferenceValue(
        "Imputation estimator on mpdta: effects at horizons 0 to 3 equal Gardner's "
        "two-stage event study (pyfixest)",
        "geo",
        (-0.0310669272276048, -0.0522348566368091, -0.136078114440297, -0.104707471576585),
        _PYFIXEST_DID2S.format(second="~ i(rel, ref=-1)"),
        1e-8,
        lambda: _mpdta_imputation_horizons("estimate"),
        test="test_imputation_reference.py::test_point_estimates_equal_pyfixest_did2s",
    ),
    ReferenceValue(
        "Imputation estimator on mpdta: standard errors at horizons 2 and 3 (one "
        "cohort-year cell each) equal Gardner's GMM ones (pyfixest)",
        "geo",
        (0.0353419721333739, 0.0337658533577918),
        _PYFIXEST_DID2S.format(second="~ i(rel, ref=-1)")
        + "; where a horizon is one cohort-year cell the two variances are the same formula",
        1e-9,
        lambda: _mpdta_imputation_horizons("se")[2:],
        relative=True,
        test="test_imputation_reference.py::"
        "test_standard_errors_equal_gardners_where_the_conventions_agree",
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
]


# ------------------------------------------------------------------ checked in their modules
_HBM = "tests/test_hbm.py, which loads PyMC and ArviZ"
CHECKED_IN_TEST_MODULES: list[ListedReference] = [
    ListedReference(
        "Eight schools: posterior means of mu and tau",
        "hbm",
        "E[mu] = 4.4, E[tau] = 3.6",
        "posteriordb (Magnusson et al. 2024), eight_schools-eight_schools_noncentered "
        "reference posterior",
        "± 0.25 each (1,000 NUTS draws after 1,000 tuning steps, rng=3; R-hat < 1.01)",
        "test_hbm.py::test_eight_schools_matches_posteriordb_reference",
    ),
    ListedReference(
        "Between-unit variance tau^2 by the method of moments",
        "hbm",
        "statsmodels: combine_effects(y, se**2, method_re='dl').tau2 on 30 seeded studies",
        "DerSimonian & Laird (1986), as statsmodels implements it",
        "relative 1e-10",
        "test_hbm.py::test_moments_tau2_equals_statsmodels_dersimonian_laird",
    ),
    ListedReference(
        "Between-unit variance tau^2 by REML",
        "hbm",
        "the maximiser of the restricted likelihood written with the full covariance matrix "
        "(scipy minimize_scalar)",
        "exact theory (REML), a dense second implementation",
        "as the test states",
        "test_hbm.py::test_reml_tau2_equals_a_full_matrix_maximisation",
    ),
    ListedReference(
        "Normal-normal posterior of three-level effects",
        "hbm",
        "Gaussian conditioning with the full prior and data covariance matrices",
        "Gelman et al. (2013), Bayesian Data Analysis, ch. 5",
        "as the test states",
        "test_hbm.py::test_normal_normal_posterior_equals_gaussian_conditioning",
    ),
    ListedReference(
        "No-pooling unit effects",
        "hbm",
        "scipy.stats.ttest_ind(..., equal_var=False) per creator",
        "scipy (Welch's test)",
        "as the test states",
        "test_hbm.py::test_unit_effects_match_scipy_welch",
    ),
    ListedReference(
        "Convergence diagnostics (rank-normalised split R-hat, bulk and tail ESS)",
        "hbm",
        "ArviZ's rhat and ess, element by element, on AR(1) chains",
        "ArviZ (Vehtari et al. 2021)",
        "as the test states",
        "test_hbm.py::test_convergence_diagnostics_equal_arviz",
    ),
    ListedReference(
        "Hierarchical fits' posterior means",
        "hbm",
        "exact grid (quadrature) posteriors, means and group effects integrated out",
        "exact theory",
        "4 Monte Carlo standard errors (posterior sd / sqrt(ESS))",
        "test_hbm.py::test_hierarchical_fit_matches_exact_grid_posterior",
    ),
    ListedReference(
        "Hyperparameter posterior",
        "hbm",
        "a second grid integration (u^2 grid, Woodbury identity)",
        "exact theory",
        "means relative 2e-3; 95% limits within 0.5% of the posterior sd",
        "test_hbm.py::test_hyperparameter_posterior_equals_the_woodbury_grid",
    ),
    ListedReference(
        "No-pooling and oracle-Bayes 95% intervals: coverage",
        "hbm",
        "nominal 95% over seeded simulations of the creator model",
        "Monte Carlo calibration",
        "3 Monte Carlo standard errors",
        "test_hbm.py::test_no_pooling_intervals_are_calibrated, "
        "test_oracle_bayes_is_exactly_calibrated_when_the_model_holds",
    ),
    ListedReference(
        "Geo hierarchical model: per-geo 95% intervals' coverage",
        "hbm",
        "nominal 95% in the treated arm over 20 simulated geo tests of 40 geos",
        "Monte Carlo calibration",
        "3 Monte Carlo standard errors, clustered by test",
        "test_hbm.py::test_geo_model_per_geo_intervals_are_calibrated",
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
