"""Contract cases for playbook_lib.sequential (one valid call per public function, or more)."""

from __future__ import annotations

import math

import numpy as np

from contract import Bad, Case
from playbook_lib import sequential as sq
from playbook_lib.aggregates import ArmStatistics

_rng = np.random.default_rng(11)
_FRACTIONS = np.array([0.3, 0.6, 1.0])
_BOUNDS = np.array([3.0, 2.5, 2.0])
_POCOCK = sq.design_pocock(3)
_ONE_SIDED = sq.design_obrien_fleming(3, alpha=0.025, sides=1, futility_bounds=[0.0, 0.0])

# A small running experiment: 40 units in arrival order, looks after 12, 24 and 40.
_y = _rng.normal(1.0, 1.0, 40)
_arm = np.tile([0, 1], 20)
_looks = np.array([12, 24, 40])

# Per-look cumulative statistics of the same experiment, (control, treatment).
_control, _treatment = (
    ArmStatistics(
        [(_arm[:look] == value).sum() for look in _looks],
        [_y[:look][_arm[:look] == value].sum() for look in _looks],
        [(_y[:look][_arm[:look] == value] ** 2).sum() for look in _looks],
    )
    for value in (0, 1)
)
# Constant outcomes (0/1 with every unit 1): zero variance in both arms at every look.
_constant = ArmStatistics([6, 12, 20], [6.0, 12.0, 20.0], [6.0, 12.0, 20.0])

# Many small experiments for the vectorised versions (5 paths, 30 units, 3 looks).
_outcomes = _rng.normal(0.0, 1.0, (5, 30))
_treatments = np.tile(np.tile([0, 1], 15), (5, 1))

# Running estimates of a continuously monitored experiment (one look per batch).
_variances = 2.0 / (50.0 * np.arange(1, 9))
_estimates = 0.1 + _rng.normal(0.0, 1.0, 8) * np.sqrt(_variances) * 0.3
_tau2 = 0.01

CASES = [
    Case(
        sq.compute_crossing_probabilities,
        {
            "information_fractions": _FRACTIONS,
            "upper": _BOUNDS,
            "lower": -_BOUNDS,
            "drift": 1.0,
            "grid_size": 16,
        },
        # +inf upper is documented as "no upper boundary" at that look.
        accepts=("upper=inf",),
        extra=(
            Bad("lower above upper", {"lower": _BOUNDS + 1.0}, ("lower",)),
            Bad("grid too fine", {"grid_size": 100_000}, ("grid_size",)),
            Bad(
                "decreasing fractions",
                {"information_fractions": [0.6, 0.3, 1.0]},
                ("information_fractions",),
            ),
            Bad("upper as strings", {"upper": "2.0"}, ("upper",)),
            Bad("bool upper", {"upper": True}, ("upper",)),
        ),
    ),
    Case(
        sq.compute_naive_peeking_error,
        {"n_looks": 3, "alpha": 0.05, "sides": 2},
        extra=(
            Bad("sides=True", {"sides": True}, ("sides",)),
            Bad("sides=3", {"sides": 3}, ("sides",)),
        ),
    ),
    Case(
        sq.compute_naive_peeking_error,
        {"information_fractions": _FRACTIONS, "sides": 1, "method": "multivariate-normal"},
        label="fractions",
    ),
    Case(
        sq.design_pocock,
        {"n_looks": 3, "alpha": 0.05, "sides": 2},
        extra=(
            Bad(
                "fractions not ending at 1",
                {"n_looks": None, "information_fractions": [0.25, 0.5, 0.75]},
                ("information_fractions",),
            ),
            Bad("n_looks disagrees", {"information_fractions": [0.5, 1.0]}, ("n_looks",)),
            Bad("futility two-sided", {"futility_bounds": [0.0, 0.0]}, ("futility_bounds",)),
        ),
    ),
    Case(
        sq.design_pocock,
        {"n_looks": 3, "alpha": 0.025, "sides": 1, "futility_bounds": np.array([0.0, 0.5])},
        extra=(
            Bad("futility above efficacy", {"futility_bounds": [0.0, 5.0]}, ("futility_bounds",)),
            Bad("futility +inf", {"futility_bounds": [math.inf, 0.0]}, ("futility_bounds",)),
            Bad(
                "futility wrong length",
                {"futility_bounds": [0.0, 0.0, 0.0, 0.0]},
                ("futility_bounds",),
            ),
            Bad(
                "no futility at a look",
                {"futility_bounds": [-math.inf, 0.0]},
                ("futility_bounds",),
                expect="result",
            ),
        ),
        label="futility",
    ),
    Case(
        sq.design_obrien_fleming,
        {"information_fractions": np.array([0.2, 0.5, 1.0]), "alpha": 0.05, "sides": 2},
        extra=(
            Bad(
                "fractions above 1",
                {"information_fractions": [0.5, 1.2]},
                ("information_fractions",),
            ),
        ),
    ),
    Case(
        sq.compute_alpha_spending,
        {
            "information_fraction": np.array([0.0, 0.3, 0.7, 1.0]),
            "alpha": 0.05,
            "spending": "hwang-shih-decani",
            "sides": 2,
            "gamma": -4.0,
        },
        extra=(
            Bad(
                "negative fraction",
                {"information_fraction": [-0.1, 0.5]},
                ("information_fraction",),
            ),
            Bad("gamma for obrien-fleming", {"spending": "obrien-fleming"}, ("gamma",)),
            Bad("power spending negative gamma", {"spending": "power", "gamma": -1.0}, ("gamma",)),
            Bad("spending not a string", {"spending": 3}, ("spending",)),
            Bad(
                "very negative gamma",
                {"gamma": -2_000.0},
                ("gamma",),
                expect="result",
                check=lambda spent: spent[-1] == 0.05 and np.all(np.diff(spent) >= 0),
            ),
        ),
    ),
    Case(
        sq.compute_alpha_spending,
        {"information_fraction": np.array([0.25, 0.5, 1.0]), "spending": "obrien-fleming"},
        label="obrien-fleming",
    ),
    Case(
        sq.design_alpha_spending,
        {
            "information_fractions": _FRACTIONS,
            "alpha": 0.05,
            "sides": 2,
            "spending": "hwang-shih-decani",
            "gamma": 1.0,
        },
        extra=(
            Bad("gamma for pocock", {"spending": "pocock"}, ("gamma",)),
            Bad(
                "fractions below 1 spend alpha(t_K)",
                {"information_fractions": [0.3, 0.6]},
                ("information_fractions",),
                expect="result",
            ),
        ),
    ),
    Case(
        sq.design_alpha_spending,
        {
            "information_fractions": np.array([0.3, 0.6, 0.9]),
            "spending_times": np.array([0.3, 0.6, 1.0]),
            "sides": 1,
            "futility_bounds": np.array([0.0, 0.0]),
        },
        extra=(
            Bad(
                "spending times decrease", {"spending_times": [0.6, 0.3, 1.0]}, ("spending_times",)
            ),
            Bad("spending times length", {"spending_times": [0.5, 1.0]}, ("spending_times",)),
        ),
        label="spending_times",
    ),
    Case(sq.compute_power, {"design": _POCOCK, "drift": 2.5, "apply_futility": True}),
    Case(
        sq.compute_power,
        {"design": _ONE_SIDED, "drift": 2.5, "apply_futility": False},
        label="one-sided",
    ),
    Case(
        sq.compute_drift_for_power,
        {"design": _POCOCK, "power": 0.8},
        extra=(
            Bad("power below alpha", {"power": 0.04}, ("power",)),
            Bad("design is a dict", {"design": {"alpha": 0.05}}, ("design",)),
        ),
    ),
    Case(
        sq.compute_design_characteristics,
        {"design": _ONE_SIDED, "power": 0.9},
        extra=(Bad("design is None", {"design": None}, ("design",)),),
    ),
    Case(
        sq.design_beta_spending,
        {
            "information_fractions": _FRACTIONS,
            "alpha": 0.025,
            "power": 0.8,
            "spending": "obrien-fleming",
            "beta_spending": "power",
            "beta_gamma": 2.0,
            "binding_futility": True,
        },
        extra=(
            Bad("a single look", {"information_fractions": [1.0]}, ("information_fractions",)),
            Bad("power below alpha", {"alpha": 0.3, "power": 0.2}, ("power",)),
            Bad("beta gamma not positive", {"beta_gamma": -1.0}, ("beta_gamma",)),
            Bad(
                "fractions not ending at 1",
                {"information_fractions": [0.3, 0.6]},
                ("information_fractions",),
            ),
        ),
    ),
    Case(
        sq.design_beta_spending,
        {"information_fractions": np.array([0.25, 0.5, 1.0]), "power": 0.9},
        label="non-binding",
    ),
    Case(
        sq.compute_operating_characteristics,
        {"design": _ONE_SIDED, "drifts": np.array([0.0, 1.5, 3.0]), "apply_futility": True},
        extra=(
            Bad("design is a string", {"design": "pocock"}, ("design",)),
            Bad("infinite drift", {"drifts": [0.0, np.inf]}, ("drifts",)),
            Bad("a scalar drift", {"drifts": 2.0}, ("drifts",), expect="result"),
        ),
    ),
    Case(
        sq.compute_operating_characteristics,
        {"design": _POCOCK, "drifts": np.array([-1.0, 2.0])},
        label="two-sided",
    ),
    Case(
        sq.batch_estimate_at_stop,
        {"design": _ONE_SIDED, "z_paths": _rng.normal(0.0, 1.5, (6, 3)), "apply_futility": True},
        extra=(
            Bad("wrong number of looks", {"z_paths": np.zeros((4, 2))}, ("z_paths",)),
            Bad("1-D paths", {"z_paths": np.zeros(3)}, ("z_paths",)),
        ),
    ),
    Case(
        sq.batch_estimate_at_stop,
        {
            "design": sq.design_from_bounds(_FRACTIONS, [math.inf, 2.5, 2.0]),
            "z_paths": _rng.normal(0.0, 1.5, (6, 3)),
        },
        label="no stop at look 1",
    ),
    Case(
        sq.design_from_bounds,
        {"information_fractions": _FRACTIONS, "efficacy_bounds": _BOUNDS, "sides": 2},
        accepts=("efficacy_bounds=inf",),  # inf: no efficacy stop at that look
        extra=(
            Bad(
                "negative two-sided bound",
                {"efficacy_bounds": [3.0, -1.0, 2.0]},
                ("efficacy_bounds",),
            ),
            Bad("-inf bound", {"efficacy_bounds": [3.0, -math.inf, 2.0]}, ("efficacy_bounds",)),
            Bad(
                "bounds that spend nothing",
                {"efficacy_bounds": [60.0, 60.0, 60.0]},
                ("efficacy_bounds",),
            ),
            Bad("futility two-sided", {"futility_bounds": [0.0, 0.0]}, ("futility_bounds",)),
            Bad(
                "one-sided with futility",
                {"sides": 1, "futility_bounds": [0.0, 0.0]},
                ("futility_bounds",),
                expect="result",
            ),
        ),
    ),
    Case(
        sq.compute_interim_statistics,
        {"outcome": _y, "treatment": _arm, "look_sizes": _looks},
        extra=(
            Bad("one arm", {"treatment": np.zeros(40, dtype=int)}, ("treatment",)),
            Bad("arm value 2", {"treatment": np.where(_arm == 1, 2, 0)}, ("treatment",)),
            Bad("first look too small", {"look_sizes": [3, 24, 40]}, ("look_sizes",)),
            Bad("look beyond the data", {"look_sizes": [12, 24, 41]}, ("look_sizes",)),
            Bad("looks not increasing", {"look_sizes": [24, 12, 40]}, ("look_sizes",)),
            Bad(
                "constant outcome so far",
                {"outcome": np.concatenate([np.ones(12), _y[12:]])},
                ("outcome",),
                expect="warning",
            ),
        ),
    ),
    Case(
        sq.compute_interim_statistics_from_stats,
        {"control": _control, "treatment": _treatment},
        extra=(
            Bad(
                "count decreases",
                {"control": ArmStatistics([6, 12, 11], [6.0, 12.0, 11.0], [7.0, 14.0, 13.0])},
                ("control.n",),
            ),
            Bad(
                "count below 2",
                {"treatment": ArmStatistics([1, 12, 20], [1.0, 12.0, 20.0], [1.0, 14.0, 25.0])},
                ("treatment.n",),
            ),
            Bad(
                "sum of squares grows too little",
                {"control": ArmStatistics([6, 12, 20], [6.0, 18.0, 30.0], [7.0, 28.0, 50.0])},
                ("control.sum_squares",),
            ),
            Bad(
                "sums change, count does not",
                {"treatment": ArmStatistics([6, 6, 20], [6.0, 7.0, 20.0], [7.0, 9.0, 25.0])},
                ("treatment.sum",),
            ),
            Bad(
                "arms of different lengths",
                {"treatment": ArmStatistics([6, 12], [6.0, 12.0], [7.0, 14.0])},
                ("length",),
            ),
            Bad("plain numbers", {"control": (6, 6.0, 7.0)}, ("control",)),
            Bad(
                "zero variance in both arms",
                {"control": _constant, "treatment": _constant},
                ("control",),
                expect="warning",
            ),
            Bad(
                "a single look",
                {"control": ArmStatistics(6, 6.0, 7.0), "treatment": ArmStatistics(6, 3.0, 5.0)},
                ("control",),
                expect="result",
            ),
        ),
    ),
    Case(
        sq.compute_interim_paths,
        {"outcomes": _outcomes, "treatments": _treatments, "look_sizes": np.array([10, 30])},
        extra=(
            Bad("arm value 2", {"treatments": _treatments * 2}, ("treatments",)),
            Bad("1-D outcomes", {"outcomes": _outcomes[0]}, ("outcomes",)),
        ),
    ),
    Case(
        sq.simulate_interim_paths,
        {"outcome": _y, "treatment": _arm, "look_sizes": _looks, "n_orders": 4, "rng": 3},
        extra=(
            Bad("one arm", {"treatment": np.ones(40, dtype=int)}, ("treatment",)),
            Bad("zero orders", {"n_orders": 0}, ("n_orders",)),
        ),
    ),
    Case(
        sq.compute_group_sequential_decisions,
        {
            "n_accrued": np.array([200.0, 400.0, 600.0]),
            "z_statistics": np.array([1.0, 3.5, 0.5]),
            "n_max": 800.0,
            "alpha": 0.05,
            "sides": 2,
            "spending": "obrien-fleming",
            "final": False,
        },
        extra=(
            Bad("n decreases", {"n_accrued": [400.0, 200.0, 600.0]}, ("n_accrued",)),
            Bad("n not positive", {"n_accrued": [0.0, 200.0, 600.0]}, ("n_accrued",)),
            Bad("interim look above n_max", {"n_max": 500.0}, ("n_accrued",)),
            Bad("gamma for obrien-fleming", {"gamma": 2.0}, ("gamma",)),
            Bad(
                "final look overruns n_max",
                {"n_max": 550.0, "final": True},
                ("n_accrued",),
                expect="result",
            ),
        ),
    ),
    Case(
        sq.choose_mixture_variance,
        {"planned_variance": 0.003, "alpha": 0.05},
        extra=(Bad("huge planned variance", {"planned_variance": 1e308}, ("planned_variance",)),),
    ),
    Case(
        sq.compute_msprt_statistic,
        {
            "estimates": _estimates,
            "variances": _variances,
            "mixture_variance": _tau2,
            "null_value": 0.0,
        },
        # An infinite variance is documented: a look without information (ratio 1).
        accepts=("variances=inf",),
        extra=(
            Bad("zero variance", {"variances": np.zeros(8)}, ("variances",)),
            Bad("negative variance", {"variances": -_variances}, ("variances",)),
            Bad(
                "nan estimate without information",
                {
                    "estimates": np.r_[math.nan, _estimates[1:]],
                    "variances": np.r_[math.inf, _variances[1:]],
                },
                ("estimates",),
                expect="result",
            ),
            Bad("zero mixture variance", {"mixture_variance": 0.0}, ("mixture_variance",)),
        ),
    ),
    Case(
        sq.compute_always_valid_p_values,
        {"estimates": _estimates, "variances": _variances, "mixture_variance": _tau2},
        accepts=("variances=inf",),  # a look without information, as above
        extra=(
            Bad("negative mixture variance", {"mixture_variance": -1.0}, ("mixture_variance",)),
        ),
    ),
    Case(
        sq.compute_confidence_sequence,
        {
            "estimates": _estimates,
            "variances": _variances,
            "mixture_variance": _tau2,
            "alpha": 0.05,
            "running_intersection": True,
        },
        accepts=("variances=inf",),  # a look without information: the whole line
        extra=(Bad("variances of another shape", {"variances": np.ones((2, 8))}, ("variances",)),),
    ),
    Case(
        sq.batch_estimate_always_valid,
        {
            "estimates": np.vstack([_estimates, _estimates[::-1]]),
            "variances": _variances,
            "mixture_variance": _tau2,
            "alpha": 0.05,
            "null_value": 0.1,
        },
        accepts=("variances=inf",),  # an early look without information, as above
        extra=(
            Bad("1-D estimates", {"estimates": _estimates}, ("estimates",)),
            Bad(
                "latest look without information",
                {"variances": np.r_[_variances[:-1], math.inf]},
                ("variances",),
            ),
        ),
    ),
    Case(
        sq.estimate_always_valid,
        {
            "estimates": _estimates,
            "variances": _variances,
            "mixture_variance": _tau2,
            "alpha": 0.05,
            "null_value": 0.0,
        },
        # An early look without information (infinite variance) is documented.
        accepts=("variances=inf",),
        extra=(
            Bad(
                "empty running intersection (drifting mean)",
                {"estimates": np.r_[np.zeros(4), np.full(4, 1.0)]},
                ("estimates",),
            ),
            Bad(
                "latest look without information",
                {"variances": np.r_[_variances[:-1], math.inf]},
                ("variances",),
            ),
            Bad(
                "tiny mixture variance",
                {"mixture_variance": 1e-300},
                ("mixture_variance",),
                expect="result",
            ),
        ),
    ),
    Case(
        sq.estimate_after_stop,
        # stopped at look 2 of the one-sided design, z = 3.1 above its bound
        {"design": _ONE_SIDED, "stop_look": 2, "estimate": 0.31, "se": 0.1},
        extra=(
            Bad("a look the design does not have", {"stop_look": 4}, ("stop_look",)),
            Bad("interim look not crossed", {"estimate": 0.05}, ("stop_look",)),
        ),
    ),
    Case(
        sq.compute_repeated_confidence_intervals,
        {
            "design": _POCOCK,
            "estimates": np.array([0.2, 0.25]),
            "ses": np.array([0.15, 0.1]),
        },
        extra=(
            Bad("more looks than the design", {"estimates": np.zeros(4)}, ("estimates",)),
            Bad("lengths differ", {"ses": np.array([0.1])}, ("estimates", "ses")),
        ),
    ),
]
