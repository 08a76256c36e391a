"""Contract cases for playbook_lib.synth (one valid call per public function, small panels)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from contract import Bad, Case
from playbook_lib import Estimates, synth
from playbook_lib.simulate import simulate_factor_panel, simulate_factor_panel_arrays

# one treated unit (block design marked by the "treated" column), 7 donors, 7 + 3 periods
_panel = simulate_factor_panel(8, 10, treatment_start=7, lift=2.0, rng=1)[
    ["unit", "time", "outcome", "treated"]
]
_units = sorted(_panel["unit"].unique())
_treated_unit = _panel.loc[_panel["treated"] == 1, "unit"].iloc[0]
_donor_units = [u for u in _units if u != _treated_unit]
# the same panel described by treated_units and treatment_start (no treated column)
_by_units = _panel.drop(columns=["treated"])
# three treated units and six donors, for the random placebo sets
_multi = simulate_factor_panel(9, 10, n_treated=3, treatment_start=7, rng=2)[
    ["unit", "time", "outcome", "treated"]
]
_multi_donors = sorted(
    _multi.loc[_multi.groupby("unit")["treated"].transform("max") == 0, "unit"].unique()
)
# a predictor column for predictor matching
_with_predictor = _panel.assign(income=np.random.default_rng(3).normal(10.0, 1.0, len(_panel)))
# the panels every estimator takes, built once
_prepared = synth.prepare_panel(_panel)
_prepared_multi = synth.prepare_panel(_multi)
_prepared_predictor = synth.prepare_panel(_with_predictor, covariates=["income"])
_matrix = simulate_factor_panel_arrays(1, 8, 10, rng=5)[0]
_stack = simulate_factor_panel_arrays(2, 8, 10, rng=7)
_stack_multi = simulate_factor_panel_arrays(2, 9, 10, rng=6)
# C-contiguous: the harness writes its NaN through reshape(-1), a copy for a transpose
_donors = np.ascontiguousarray(_matrix[:7, :7].T)
_target = _matrix[7, :7]


def _with(frame: pd.DataFrame, **changes: object) -> pd.DataFrame:
    return frame.assign(**changes)


def _panel_bads(frame: pd.DataFrame) -> tuple[Bad, ...]:
    """Bad panels the panel builder must refuse (every estimator takes its Panel)."""
    duplicated = pd.concat([frame, frame.iloc[:1]], ignore_index=True)
    unbalanced = frame.iloc[1:]
    staggered = frame.copy()
    late = (staggered["unit"] == _donor_units[0]) & (staggered["time"] >= 8)
    staggered.loc[late, "treated"] = 1
    no_pre = frame.copy()
    no_pre.loc[no_pre["unit"] == _treated_unit, "treated"] = 1
    text_outcome = frame.assign(outcome=frame["outcome"].astype(object))
    text_outcome.loc[3, "outcome"] = "12.5"
    text_outcome.loc[4, "outcome"] = "n/a"
    return (
        Bad("duplicated unit-time row", {"data": duplicated}, ("data",)),
        Bad("unbalanced panel", {"data": unbalanced}, ("data",)),
        Bad("staggered treatment", {"data": staggered}, ("treated",)),
        Bad("treated unit without pre-period", {"data": no_pre}, ("treatment_start",)),
        Bad("outcome with text", {"data": text_outcome}, ("data", "outcome")),
        Bad(
            "treatment_start after the panel",
            {"treated_units": [_treated_unit], "treatment_start": 99},
            ("treatment_start",),
        ),
        Bad(
            "treatment_start before the panel",
            {"treated_units": [_treated_unit], "treatment_start": -5},
            ("treatment_start",),
        ),
        Bad(
            "treatment_start not a time",
            {"treated_units": [_treated_unit], "treatment_start": 7.5},
            ("treatment_start",),
        ),
        Bad(
            "treatment_start at the first time",
            {"treated_units": [_treated_unit], "treatment_start": 0},
            ("treatment_start",),
        ),
        Bad("treated unit among donors", {"donors": [_treated_unit, *_donor_units]}, ("donors",)),
        Bad("one donor", {"donors": _donor_units[:1]}, ("donors",)),
        Bad("unknown donor", {"donors": ["Atlantis", *_donor_units]}, ("donors",)),
        Bad("donors as a string", {"donors": _donor_units[0]}, ("donors",)),
        Bad(
            "unknown treated unit",
            {"treated_units": ["Atlantis"], "treatment_start": 7},
            ("treated_units",),
        ),
        Bad("treated not 0/1", {"data": _with(frame, treated=frame["treated"] * 2)}, ("treated",)),
        Bad("same column twice", {"time": "unit"}, ("time",)),
    )


_PANEL_BADS = _panel_bads(_panel)

_NOT_A_PANEL = (Bad("a DataFrame, not a Panel", {"panel": _panel}, ("panel",)),)
_TABLE = Bad(
    "the valid call returns an Estimates table",
    {},
    (),
    expect="result",
    check=lambda table: isinstance(table, Estimates) and len(table) == 2,
)
_BAD_STACKS = (
    _TABLE,
    Bad("2-d outcomes", {"outcomes": _matrix}, ("outcomes",)),
    Bad(
        "NaN in outcomes", {"outcomes": np.where(np.arange(10) == 3, np.nan, _stack)}, ("outcomes",)
    ),
    Bad("no treated row", {"n_controls": 8}, ("n_controls",)),
    Bad("no post-period", {"n_pre": 10}, ("n_pre",)),
    Bad("no pre-period", {"n_pre": 0}, ("n_pre",)),
    Bad("one donor", {"n_controls": 1}, ("n_controls",)),
)

CASES = [
    # ------------------------------------------------------------- simplex weights
    Case(
        synth.fit_simplex_weights,
        {"donors": _donors, "target": _target},
        extra=(
            Bad("1-d donors", {"donors": _target}, ("donors",)),
            Bad("2-d target", {"target": _donors}, ("target",)),
            Bad("negative ridge", {"ridge": -1.0}, ("ridge",)),
            Bad("zero tol", {"tol": 0.0}, ("tol",)),
            Bad("zero max_iter", {"max_iter": 0}, ("max_iter",)),
            Bad("wrong-length start", {"solver": "frank-wolfe", "start": np.ones(3)}, ("start",)),
            Bad("negative start", {"solver": "frank-wolfe", "start": -np.ones(7)}, ("start",)),
            Bad(
                "zero min_decrease",
                {"solver": "frank-wolfe", "min_decrease": 0.0},
                ("min_decrease",),
            ),
            Bad(
                "frank-wolfe capped at one iteration",
                {"solver": "frank-wolfe", "max_iter": 1, "min_decrease": 1e-12},
                (),
                expect="warning",
            ),
        ),
    ),
    Case(
        synth.fit_simplex_weights,
        {
            "donors": _donors,
            "target": _target,
            "intercept": True,
            "ridge": 2.0,
            "solver": "frank-wolfe",
            "min_decrease": 1e-3,
            "max_iter": 500,
        },
        label="frank-wolfe",
    ),
    Case(
        synth.fit_simplex_weights,
        {"donors": _donors, "target": _target, "solver": "slsqp"},
        label="slsqp",
    ),
    Case(
        synth.compute_least_squares_weights,
        {"donors": _donors, "target": _target},
        extra=(Bad("1-d donors", {"donors": _target}, ("donors",)),),
    ),
    # ------------------------------------------------------------------- panels
    Case(
        synth.compute_outcome_matrix,
        {"data": _panel},
        extra=(
            Bad(
                "duplicated unit-time row",
                {"data": pd.concat([_panel, _panel.iloc[:1]], ignore_index=True)},
                ("data",),
            ),
            Bad("unbalanced panel", {"data": _panel.iloc[1:]}, ("data",)),
            Bad("same column twice", {"time": "unit"}, ("time",)),
        ),
    ),
    Case(synth.prepare_panel, {"data": _panel}, extra=_PANEL_BADS),
    Case(
        synth.prepare_panel,
        {
            "data": _by_units,
            "treated": None,
            "treated_units": [_treated_unit],
            "treatment_start": 7,
        },
        kinds={"treatment_start": "integer"},
        label="treated_units",
        extra=(
            Bad("no treatment_start", {"treatment_start": None}, ("treatment_start",)),
            Bad("treated_units as a string", {"treated_units": _treated_unit}, ("treated_units",)),
        ),
    ),
    Case(
        synth.prepare_panel,
        {"data": _with_predictor, "covariates": ["income"]},
        label="covariates",
        extra=(
            Bad("covariates as a string", {"covariates": "income"}, ("covariates",)),
            Bad(
                "covariate with NaN in the pre-period",
                {
                    "data": _with(
                        _with_predictor,
                        income=_with_predictor["income"].where(_with_predictor["time"] != 2),
                    )
                },
                ("covariates",),
            ),
        ),
    ),
    # --------------------------------------------------------- synthetic control
    Case(synth.fit_synthetic_control, {"panel": _prepared, "intercept": True}, extra=_NOT_A_PANEL),
    Case(
        synth.fit_synthetic_control,
        {
            "panel": _prepared_predictor,
            "predictors": ["income"],
            "predictor_times": [2, 5],
            "predictor_weights": "equal",
        },
        # no lagged outcomes: matching on the covariates alone is legitimate
        accepts=("predictor_times=empty",),
        label="predictors",
        extra=(
            Bad("predictor time after the start", {"predictor_times": [8]}, ("predictor_times",)),
            Bad(
                "too many predictor weights",
                {"predictor_weights": [1.0, 2.0, 3.0, 4.0]},
                ("predictor_weights",),
            ),
            Bad(
                "negative predictor weights",
                {"predictor_weights": [1.0, -2.0, 3.0]},
                ("predictor_weights",),
            ),
            Bad("unknown predictor", {"predictors": ["wealth"]}, ("predictors",)),
            Bad("predictor of a panel without covariates", {"panel": _prepared}, ("predictors",)),
            Bad("predictors as a string", {"predictors": "income"}, ("predictors",)),
        ),
    ),
    Case(
        synth.fit_synthetic_control,
        {
            "panel": _prepared_predictor,
            "predictors": ["income"],
            "predictor_times": [2, 5],
            "n_starts": 3,
        },
        label="predictor weights searched",
        accepts=("predictor_times=empty",),
    ),
    Case(
        synth.fit_augmented_synthetic_control,
        {"panel": _prepared, "ridge_lambda": 2.0},
        # a zero penalty is the least-squares augmentation, an infinite one synthetic
        # control: both legitimate
        kinds={"ridge_lambda": "positive"},
        accepts=("ridge_lambda=inf",),
        extra=(
            *_NOT_A_PANEL,
            Bad("negative ridge_lambda", {"ridge_lambda": -1.0}, ("ridge_lambda",)),
        ),
    ),
    Case(
        synth.estimate_augmented_synthetic_control,
        {"panel": _prepared, "intercept": True, "rng": 1},
        extra=(
            *_NOT_A_PANEL,
            Bad("NaN ridge_lambda", {"ridge_lambda": float("nan")}, ("ridge_lambda",)),
        ),
    ),
    Case(
        synth.estimate_augmented_synthetic_control,
        {"panel": _prepared_multi, "ridge_lambda": 5.0, "n_draws": 30, "rng": 1},
        label="several treated",
        kinds={"ridge_lambda": "positive"},
        accepts=("ridge_lambda=inf",),
    ),
    Case(
        synth.compute_leave_one_out,
        {"panel": _prepared},
        kinds={"min_weight": "positive"},
        # min_weight = 0 keeps every donor with any weight: legitimate
        extra=(*_NOT_A_PANEL, Bad("negative min_weight", {"min_weight": -1e-3}, ("min_weight",))),
    ),
    Case(synth.compute_placebo_in_space, {"panel": _prepared, "rng": 1}, extra=_NOT_A_PANEL),
    Case(
        synth.compute_placebo_in_space,
        {"panel": _prepared_multi, "n_draws": 30, "rng": 1},
        label="several treated",
    ),
    Case(
        synth.estimate_synthetic_control,
        {"panel": _prepared, "intercept": True, "rng": 1},
        extra=_NOT_A_PANEL,
    ),
    Case(
        synth.estimate_synthetic_control,
        {"panel": _prepared_multi, "n_draws": 30, "placebo_pool": "donors", "rng": 1},
        label="several treated",
    ),
    Case(
        synth.estimate_synthetic_control,
        {"panel": _prepared_multi, "n_draws": 9, "placebo_pool": "sets", "rng": 1},
        label="set placebos",
    ),
    Case(
        synth.estimate_placebo_in_time,
        {"panel": _prepared, "placebo_start": 4},
        extra=(
            *_NOT_A_PANEL,
            Bad("placebo_start at the first time", {"placebo_start": 0}, ("placebo_start",)),
            Bad("placebo_start after the start", {"placebo_start": 8}, ("placebo_start",)),
        ),
    ),
    Case(
        synth.batch_estimate_synthetic_control,
        {"outcomes": _stack, "n_controls": 7, "n_pre": 7, "intercept": True},
        extra=_BAD_STACKS,
    ),
    Case(
        synth.batch_estimate_synthetic_control,
        {"outcomes": _stack_multi, "n_controls": 6, "n_pre": 7, "n_draws": 5, "rng": 1},
        label="several treated",
        extra=(_TABLE,),
    ),
    # -------------------------------------------------------------- synthetic DiD
    Case(
        synth.fit_synthetic_did,
        {"panel": _prepared},
        extra=(
            *_NOT_A_PANEL,
            Bad("frank-wolfe", {"solver": "frank-wolfe", "method": "sc"}, (), expect="result"),
        ),
    ),
    Case(synth.estimate_synthetic_did, {"panel": _prepared}, extra=_NOT_A_PANEL),
    Case(
        synth.estimate_synthetic_did,
        {"panel": _prepared_multi, "n_placebo": 5, "solver": "frank-wolfe", "rng": 1},
        label="several treated",
        extra=(
            Bad(
                "no more donors than treated",
                {"panel": synth.prepare_panel(_multi, donors=_multi_donors[:3])},
                ("donors",),
            ),
        ),
    ),
    Case(synth.estimate_panel_did, {"panel": _prepared}, extra=_NOT_A_PANEL),
    Case(
        synth.estimate_panel_did,
        {"panel": _prepared_multi, "n_placebo": 5, "rng": 1},
        label="several treated",
    ),
    Case(synth.estimate_synthdid_sc, {"panel": _prepared}, extra=_NOT_A_PANEL),
    Case(
        synth.estimate_synthdid_sc,
        {"panel": _prepared, "solver": "frank-wolfe"},
        label="frank-wolfe",
    ),
    Case(
        synth.batch_estimate_synthetic_did,
        {"outcomes": _stack, "n_controls": 7, "n_pre": 7, "method": "did"},
        extra=_BAD_STACKS,
    ),
    Case(
        synth.batch_estimate_synthetic_did,
        {"outcomes": _stack_multi, "n_controls": 6, "n_pre": 7, "n_placebo": 5, "rng": 1},
        label="several treated",
        extra=(
            _TABLE,
            Bad("no more donors than treated", {"n_controls": 3}, ("donors",)),
            Bad("one placebo", {"n_placebo": 1}, ("n_placebo",)),
        ),
    ),
]
