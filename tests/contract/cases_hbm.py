"""Contract cases for playbook_lib.hbm (one valid call per public function).

The fitting functions (``fit_*``) take seconds (nutpie, numba), so their valid calls are
not run here (``check_valid=False``; tests/test_hbm.py checks their results); every bad
call must raise before anything is compiled or sampled, which keeps this file fast. The
diagnostics run on small hand-made posteriors.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd

from contract import Bad, Case
from playbook_lib import Estimates, hbm
from playbook_lib.aggregates import ArmStatistics
from playbook_lib.hbm import (
    accuracy,
    diagnostics,
    geo_model,
    grid_posterior,
    hierarchical,
    no_pooling,
    pooling,
    sign_errors,
)
from playbook_lib.simulate import simulate_creator_experiments, simulate_geo_deltas

_creators = simulate_creator_experiments(n_genres=3, creators_per_genre=4, rng=1)
_by_creator = _creators.set_index("creator_id")
_control, _treatment = (
    ArmStatistics.from_moments(
        _creators[f"n_{arm}"].to_numpy(),
        _creators[f"mean_{arm}"].to_numpy(),
        _creators[f"sd_{arm}"].to_numpy() ** 2,
    )
    for arm in ("control", "treatment")
)
_labels = _by_creator.index
_effects = hbm.unit_effects_from_stats(_control, _treatment, labels=_labels)
_genre = _by_creator["genre"]
_region = _by_creator["region"]
_frame = _effects.to_frame()
_y = _frame["estimate"].to_numpy()
_s = _frame["se"].to_numpy()
_codes = pd.factorize(_genre, sort=True)[0].astype(np.int64)


def _rows(frame: pd.DataFrame) -> Estimates:
    return Estimates(frame)


_replicated = simulate_creator_experiments(
    n_genres=2, creators_per_genre=4, n_replications=2, rng=2
).set_index(["replication", "creator_id"])
_replicated_effects = hbm.unit_effects_from_stats(
    *(
        ArmStatistics.from_moments(
            _replicated[f"n_{arm}"].to_numpy(),
            _replicated[f"mean_{arm}"].to_numpy(),
            _replicated[f"sd_{arm}"].to_numpy() ** 2,
        )
        for arm in ("control", "treatment")
    ),
    labels=_replicated.index,
)
_replications = _replicated.index.get_level_values("replication").to_numpy()

_rng = np.random.default_rng(5)
_users = pd.DataFrame(
    {
        "unit": np.repeat(["a", "b", "c"], 8),
        "treatment": np.tile([0, 1], 12),
        "outcome": _rng.normal(10.0, 2.0, 24),
    }
)

_idata = az.from_dict(
    posterior={"mu": _rng.normal(size=(2, 100)), "theta": _rng.normal(size=(2, 100, 3))},
    sample_stats={"diverging": np.zeros((2, 100), dtype=bool)},
)
_constant_idata = az.from_dict(
    posterior={"mu": _rng.normal(size=(2, 100)), "fixed": np.zeros((2, 100))}
)
_loo_idata = az.from_dict(
    posterior={"mu": _rng.normal(size=(2, 100))},
    log_likelihood={"y": _rng.normal(-1.0, 0.1, size=(2, 100, 8))},
)

# A unit-level fit built by hand (fake draws; a real fit takes seconds).
_n_units, _n_groups = len(_y), int(_codes.max()) + 1
_fake_fit = hbm.HierarchicalFit(
    idata=az.from_dict(
        posterior={
            "theta": _y + 0.3 * _rng.standard_normal((2, 50, _n_units)),
            "group_mean": 0.5 + 0.2 * _rng.standard_normal((2, 50, _n_groups)),
            "unit_sd": np.abs(0.4 + 0.1 * _rng.standard_normal((2, 50))),
        }
    ),
    unit_effects=_effects,
    group_effects=None,
    hyperparameters=_effects,
    timings={},
    data=pd.DataFrame({"group": _genre, "estimate": _y, "se": _s}, index=_labels),
    details={"codes": _codes, "group_labels": sorted(_genre.unique())},
)

_deltas = simulate_geo_deltas(n_geos=8, rng=3).set_index("geo_id")
_changes = Estimates.from_standard_errors(
    "pre/post change", _deltas["delta"], _deltas["se"], labels=_deltas.index
)

# Sampler settings small enough that a bad call slipping through would still be quick.
_SAMPLER = {"draws": 50, "tune": 50, "chains": 1, "cores": 1}
_SAMPLER_BAD = tuple(
    Bad(f"{name}=0", {name: 0}, (name,)) for name in ("draws", "tune", "chains", "cores")
)
_NOT_ESTIMATES = Bad("effects a DataFrame", {"effects": _frame}, ("effects",))
_ZERO_SE = Bad("zero se", {"effects": _rows(_frame.assign(se=0.0))}, ("se",))
_REPEATED = Bad(
    "repeated label", {"effects": _rows(pd.concat([_frame, _frame.iloc[:1]]))}, ("labels",)
)


def _groups_bad(name: str, valid: pd.Series) -> tuple[Bad, ...]:
    return (
        Bad(f"{name} missing a unit", {name: valid.iloc[1:]}, (name,)),
        Bad(f"{name} too short", {name: valid.to_numpy()[1:]}, (name,)),
        Bad(f"{name} with a gap", {name: valid.where(np.arange(len(valid)) != 2)}, (name,)),
        Bad(f"{name} one string", {name: "genre"}, (name,)),
    )


CASES = [
    Case(
        no_pooling.unit_effects_from_stats,
        {
            "control": _control,
            "treatment": _treatment,
            "labels": _labels,
        },
        kinds={"labels": "skip"},
        extra=(
            Bad(
                "one user in control",
                {
                    "control": ArmStatistics(
                        np.r_[1, _control.n[1:]],
                        np.r_[1.0, _control.sum[1:]],
                        np.r_[1.0, _control.sum_squares[1:]],
                    )
                },
                ("control",),
            ),
            Bad(
                "arms of different sizes",
                {
                    "treatment": ArmStatistics(
                        _treatment.n[:-1], _treatment.sum[:-1], _treatment.sum_squares[:-1]
                    )
                },
                ("treatment",),
            ),
            Bad(
                "both variances zero",
                {
                    "control": ArmStatistics.from_moments(
                        _control.n, _control.mean, 0.0 * _control.n
                    ),
                    "treatment": ArmStatistics.from_moments(
                        _treatment.n, _treatment.mean, 0.0 * _treatment.n
                    ),
                },
                ("control and treatment",),
            ),
            Bad("labels too short", {"labels": _labels[1:]}, ("labels",)),
            Bad("a missing label", {"labels": [None, *_labels[1:]]}, ("labels",)),
            Bad(
                "one unit",
                {
                    "control": ArmStatistics(20, 30.0, 100.0),
                    "treatment": ArmStatistics(25, 40.0, 150.0),
                    "labels": None,
                },
                (),
                expect="result",
            ),
        ),
    ),
    Case(
        no_pooling.unit_effects,
        {"data": _users},
        extra=(
            Bad(
                "treatment not 0/1",
                {"data": _users.assign(treatment=np.r_[2, _users["treatment"].to_numpy()[1:]])},
                ("treatment",),
            ),
            Bad("one user in an arm", {"data": _users.drop(index=[1, 3, 5])}, ("unit",)),
            Bad("one arm only", {"data": _users[_users["treatment"] == 0]}, ("treatment",)),
        ),
    ),
    Case(
        pooling.complete_pooling_effects,
        {"effects": _effects, "groups": _genre},
        kinds={"groups": "skip"},
        extra=(_NOT_ESTIMATES, _ZERO_SE, *_groups_bad("groups", _genre)),
    ),
    Case(
        pooling.compute_between_variance,
        {
            "estimates": _y,
            "standard_errors": _s,
            "group_codes": _codes,
            "n_groups": 3,
        },
        extra=(
            Bad(
                "one unit",
                {
                    "estimates": _y[:1],
                    "standard_errors": _s[:1],
                    "group_codes": _codes[:1],
                    "n_groups": 1,
                },
                ("estimates",),
            ),
            Bad(
                "one unit per group",
                {
                    "estimates": _y[[0, 4, 8]],
                    "standard_errors": _s[[0, 4, 8]],
                    "group_codes": np.array([0, 1, 2]),
                },
                ("estimates",),
            ),
            Bad("empty group", {"n_groups": 4}, ("group_codes",)),
            Bad("negative code", {"group_codes": np.r_[-1, _codes[1:]]}, ("group_codes",)),
            Bad("zero se", {"standard_errors": np.r_[0.0, _s[1:]]}, ("standard_errors",)),
            Bad("3-D", {"estimates": _y.reshape(1, 1, -1)}, ("estimates",)),
        ),
    ),
    Case(
        pooling.compute_between_variance,
        {
            "estimates": _y,
            "standard_errors": _s,
            "group_codes": _codes,
            "method": "moments",
            "per_group": True,
        },
        label="moments per group",
        extra=(Bad("a group of one", {"group_codes": np.r_[_codes[:-1], 3]}, ("group_codes",)),),
    ),
    Case(
        pooling.compute_normal_normal_posterior,
        {
            "estimates": _y,
            "standard_errors": _s,
            "group_codes": _codes,
            "unit_sd": 0.4,
            "group_sd": 0.3,
            "mean_effect": 0.5,
            "n_groups": 3,
        },
        kinds={"unit_sd": "positive", "group_sd": "positive"},
        # group_sd = inf is the documented flat prior on the group means.
        accepts=("group_sd=inf",),
        extra=(
            Bad("unit_sd zero (complete pooling)", {"unit_sd": 0.0}, (), expect="result"),
            Bad("unit_sd per unit", {"unit_sd": np.full(len(_y), 0.4)}, ("unit_sd",)),
            Bad("unit_sd string array", {"unit_sd": np.array(["0.4"])}, ("unit_sd",)),
        ),
    ),
    Case(
        pooling.empirical_bayes_effects,
        {"effects": _effects, "groups": _genre},
        kinds={"groups": "skip"},
        extra=(
            _NOT_ESTIMATES,
            _ZERO_SE,
            _REPEATED,
            *_groups_bad("groups", _genre),
            Bad("one unit", {"effects": _rows(_frame.iloc[:1])}, ("estimates",)),
            Bad("one unit per group", {"effects": _rows(_frame.iloc[[0, 4, 8]])}, ("estimates",)),
            Bad(
                "per group with a group of one",
                {"effects": _rows(_frame.iloc[:9]), "per_group": True},
                ("group_codes",),
            ),
        ),
    ),
    Case(
        pooling.empirical_bayes_effects,
        {
            "effects": _replicated_effects,
            "groups": _replicated["genre"],
            "replications": _replications,
            "method": "moments",
        },
        label="replications",
        kinds={"groups": "skip", "replications": "skip"},
        extra=(
            Bad(
                "unequal replications",
                {"replications": np.r_[_replications[:-1], 5]},
                ("replications",),
            ),
            Bad("replications too short", {"replications": _replications[1:]}, ("replications",)),
        ),
    ),
    Case(
        pooling.oracle_bayes_effects,
        {
            "effects": _effects,
            "groups": _genre,
            "mean_effect": 0.5,
            "group_sd": 0.3,
            "unit_sd": 0.4,
        },
        kinds={"unit_sd": "positive", "group_sd": "positive", "groups": "skip"},
        # group_sd = inf is the documented flat prior on the group means.
        accepts=("group_sd=inf",),
        extra=(_NOT_ESTIMATES, *_groups_bad("groups", _genre)),
    ),
    Case(
        accuracy.compute_accuracy,
        {"estimates": _effects, "truth": _by_creator},
        extra=(
            Bad("truth misses a unit", {"truth": _by_creator.iloc[1:]}, ("truth",)),
            Bad("estimates a DataFrame", {"estimates": _frame}, ("estimates",)),
            Bad(
                "repeated estimates",
                {"estimates": _rows(pd.concat([_frame, _frame.iloc[:1]]))},
                ("estimates",),
            ),
        ),
    ),
    Case(
        accuracy.compute_accuracy,
        {
            "estimates": _replicated_effects,
            "truth": _replicated,
            "by": "genre",
            "cluster": "replication",
        },
        label="clustered",
        extra=(Bad("unknown cluster", {"cluster": "no_such_level"}, ("cluster",)),),
    ),
    Case(
        accuracy.compute_accuracy,
        {
            "estimates": _effects,
            "truth": _by_creator,
            "by": "n_users",
            "bins": [0.0, 100.0, np.inf],
            "labels": ["small", "large"],
        },
        label="bins",
        extra=(
            Bad("decreasing bins", {"bins": [100.0, 0.0, np.inf]}, ("bins",)),
            Bad("too few labels", {"labels": ["all"]}, ("labels",)),
            Bad("values outside the bins", {"bins": [0.0, 100.0, 200.0]}, ("bins",)),
        ),
    ),
    Case(
        sign_errors.compute_sign_errors,
        {"estimates": _effects, "truth": _by_creator, "rule": "interval", "by": "genre"},
        extra=(
            Bad("truth misses a unit", {"truth": _by_creator.iloc[1:]}, ("truth",)),
            Bad("estimates a DataFrame", {"estimates": _frame}, ("estimates",)),
            Bad("unknown stratum", {"by": "no_such_column"}, ("by",)),
        ),
    ),
    Case(
        sign_errors.compute_expected_sign_errors,
        {
            "standard_errors": _s,
            "mean_effect": 0.5,
            "group_sd": 0.3,
            "unit_sd": 0.4,
            "pooling": "oracle",
            "rule": "interval",
            "n_nodes": 20,
        },
        kinds={"group_sd": "positive", "unit_sd": "positive"},
        extra=(
            Bad("zero se", {"standard_errors": np.r_[0.0, _s[1:]]}, ("standard_errors",)),
            Bad("zero unit_sd", {"unit_sd": 0.0}, ("unit_sd",)),
            Bad("group_sd zero (one known mean)", {"group_sd": 0.0}, (), expect="result"),
            Bad("one node", {"n_nodes": 1}, ("n_nodes",)),
        ),
    ),
    Case(
        grid_posterior.compute_hyperparameter_posterior,
        {
            "effects": _effects,
            "groups": _genre,
            "group_sd_prior": "half-t",
            "prior_df": 3.0,
            "grid_size": 20,
        },
        kinds={"groups": "skip", "prior_df": "positive"},
        extra=(
            _NOT_ESTIMATES,
            _ZERO_SE,
            _REPEATED,
            *_groups_bad("groups", _genre),
            Bad("two units", {"effects": _rows(_frame.iloc[:2])}, ("effects",)),
            Bad(
                "equal estimates",
                {"effects": _rows(_frame.assign(estimate=1.0))},
                ("prior_scale",),
            ),
            Bad("coarse grid", {"grid_size": 5}, ("grid_size",)),
            Bad("zero prior_df", {"prior_df": 0.0}, ("prior_df",)),
        ),
    ),
    Case(
        grid_posterior.compute_hyperparameter_posterior,
        {
            "effects": _replicated_effects,
            "groups": _replicated["genre"],
            "replications": _replications,
            "prior_scale": 1.0,
        },
        label="replications",
        kinds={"groups": "skip", "replications": "skip", "prior_scale": "positive"},
        extra=(
            Bad(
                "unequal replications",
                {"replications": np.r_[_replications[:-1], 5]},
                ("replications",),
            ),
            Bad("zero prior_scale", {"prior_scale": 0.0}, ("prior_scale",)),
        ),
    ),
    Case(
        hierarchical.fit_hierarchical_model,
        {
            "effects": _effects,
            "groups": _genre,
            "prior_scale": 1.0,
            "rng": 1,
            **_SAMPLER,
        },
        kinds={"groups": "skip"},
        check_valid=False,
        extra=(
            *_SAMPLER_BAD,
            _NOT_ESTIMATES,
            _ZERO_SE,
            _REPEATED,
            *_groups_bad("groups", _genre),
            Bad("two units", {"effects": _rows(_frame.iloc[:2])}, ("effects",)),
            Bad(
                "equal estimates",
                {"effects": _rows(_frame.assign(estimate=1.0)), "prior_scale": None},
                ("prior_scale",),
            ),
            Bad("target_accept one", {"target_accept": 1.0}, ("target_accept",)),
            Bad("group_centering 0.5", {"group_centering": 0.5}, ("group_centering",)),
        ),
    ),
    Case(
        diagnostics.check_convergence,
        {"idata": _idata, "var_names": ["mu", "theta"]},
        extra=(
            Bad("constant draws", {"idata": _constant_idata, "var_names": None}, ("var_names",)),
            Bad("unknown variable", {"var_names": ["nope"]}, ("var_names",)),
            Bad("no variables", {"var_names": []}, ("var_names",)),
            Bad("one string", {"var_names": "mu"}, ("var_names",)),
            Bad("not idata", {"idata": "not idata"}, ("idata",)),
        ),
    ),
    Case(
        diagnostics.check_posterior_predictive,
        {
            "fit": _fake_fit,
            "new_units": True,
            "n_replicates": 20,
            "rng": 1,
        },
    ),
    Case(
        diagnostics.check_posterior_predictive,
        {
            "fit": _fake_fit,
            "new_units": False,
            "n_replicates": 20,
            "rng": 1,
        },
        label="plain",
    ),
    # Pareto k above 1 is possible (k > 1: the importance ratios have no mean), so a
    # threshold above one is a legitimate (if unusual) question.
    Case(
        diagnostics.compute_loo,
        {"idata": _loo_idata, "threshold": 0.7},
        accepts=("threshold=above one",),
        extra=(
            Bad("no log likelihood", {"idata": _idata}, ("idata",)),
            Bad("not idata", {"idata": "x"}, ("idata",)),
        ),
    ),
    Case(
        diagnostics.fit_groupings,
        {
            "effects": _effects,
            "groupings": {"genre": _genre, "region": _region},
            "rng": 1,
            **_SAMPLER,
        },
        kinds={"groupings": "skip"},
        check_valid=False,
        extra=(
            *_SAMPLER_BAD,
            _NOT_ESTIMATES,
            Bad("one grouping", {"groupings": {"genre": _genre}}, ("groupings",)),
            Bad("a list of names", {"groupings": ["genre", "region"]}, ("groupings",)),
            Bad(
                "second grouping has a gap",
                {
                    "groupings": {
                        "genre": _genre,
                        "region": _region.where(np.arange(len(_region)) != 3),
                    }
                },
                ("region",),
            ),
        ),
    ),
    Case(
        geo_model.fit_geo_hierarchical_model,
        {
            "effects": _changes,
            "arms": _deltas["group"],
            "rng": 1,
            **_SAMPLER,
        },
        kinds={"arms": "skip"},
        check_valid=False,
        extra=(
            *_SAMPLER_BAD,
            Bad("one treated geo", {"arms": ["treatment"] + ["control"] * 7}, ("treatment_label",)),
            Bad("zero se", {"effects": _rows(_changes.to_frame().assign(se=0.0))}, ("se",)),
            Bad(
                "repeated geo",
                {
                    "effects": _rows(_changes.to_frame().set_axis(["g"] * 8)),
                    "arms": _deltas["group"].to_numpy(),
                },
                ("labels",),
            ),
            Bad(
                "equal changes",
                {"effects": _rows(_changes.to_frame().assign(estimate=2.0))},
                ("prior_scale",),
            ),
            Bad("arms missing a geo", {"arms": _deltas["group"].iloc[1:]}, ("arms",)),
        ),
    ),
    Case(
        hierarchical.fit_eight_schools,
        {"rng": 1, **_SAMPLER},
        check_valid=False,
        extra=_SAMPLER_BAD,
    ),
]
