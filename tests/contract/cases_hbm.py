"""Contract cases for playbook_lib.hbm (one valid call per public function).

The fitting functions (``fit_*``, ``compare_groupings``) take seconds (nutpie, numba), so
their valid calls are not run here (``check_valid=False``; tests/test_hbm.py checks their
results); every bad call must raise before anything is compiled or sampled, which keeps
this file fast. The diagnostics run on small hand-made posteriors.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd

from contract import Bad, Case
from playbook_lib import hbm
from playbook_lib.simulate import simulate_creator_experiments, simulate_geo_deltas

_STAT_COLUMNS = [
    "creator_id", "genre", "region", "n_users", "n_treatment", "n_control",
    "mean_treatment", "mean_control", "sd_treatment", "sd_control",
]
_creators = simulate_creator_experiments(n_genres=3, creators_per_genre=4, rng=1)
_stats = _creators[_STAT_COLUMNS]
_effects = hbm.estimate_unit_effects_from_stats(_stats, keep=["genre", "region"])
_effects_small = _effects[["creator_id", "genre", "region", "estimate", "se"]]
_truth = _creators[["creator_id", "true_effect"]]
_y = _effects["estimate"].to_numpy()
_s = _effects["se"].to_numpy()
_codes = pd.factorize(_effects["genre"], sort=True)[0].astype(np.int64)

_replicated = simulate_creator_experiments(
    n_genres=2, creators_per_genre=4, n_replications=2, rng=2
)
_replicated_effects = hbm.estimate_unit_effects_from_stats(
    _replicated, keep=["replication", "genre"]
)[["replication", "creator_id", "genre", "estimate", "se", "ci_low", "ci_high"]]
_replicated_truth = _replicated[["replication", "creator_id", "true_effect"]]

_rng = np.random.default_rng(5)
_users = pd.DataFrame({
    "creator_id": np.repeat(["a", "b", "c"], 8),
    "treatment": np.tile([0, 1], 12),
    "y": _rng.normal(10.0, 2.0, 24),
})

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
    idata=az.from_dict(posterior={
        "theta": _y + 0.3 * _rng.standard_normal((2, 50, _n_units)),
        "group_mean": 0.5 + 0.2 * _rng.standard_normal((2, 50, _n_groups)),
        "unit_sd": np.abs(0.4 + 0.1 * _rng.standard_normal((2, 50))),
    }),
    unit_effects=_effects,
    group_effects=pd.DataFrame(),
    hyperparameters=pd.DataFrame(),
    timings={},
    data=_effects[["creator_id", "genre", "estimate", "se"]],
    details={
        "estimate": "estimate", "se": "se", "codes": _codes,
        "group_labels": sorted(_effects["genre"].unique()),
    },
)

_deltas = simulate_geo_deltas(n_geos=8, rng=3)[["geo_id", "group", "delta", "se"]]

# Sampler settings small enough that a bad call slipping through would still be quick.
_SAMPLER = {"draws": 50, "tune": 50, "chains": 1, "cores": 1}
_SAMPLER_BAD = tuple(
    Bad(f"{name}=0", {name: 0}, (name,)) for name in ("draws", "tune", "chains", "cores")
)


def _with(frame: pd.DataFrame, row: int, column: str, value: object) -> pd.DataFrame:
    changed = frame.copy()
    if isinstance(value, float):
        changed[column] = changed[column].astype(float)
    changed.loc[changed.index[row], column] = value
    return changed


CASES = [
    Case(hbm.to_estimates, {"frame": _effects, "id": "creator_id"}),
    Case(hbm.estimate_unit_effects_from_stats, {"data": _stats}, extra=(
        Bad("zero users", {"data": _with(_stats, 0, "n_control", 0)}, ("n_control",)),
        Bad("one user", {"data": _with(_stats, 0, "n_treatment", 1)}, ("n_treatment",)),
        Bad("fractional users", {"data": _with(_stats, 0, "n_treatment", 10.5)},
            ("n_treatment",)),
        Bad("negative sd", {"data": _with(_stats, 1, "sd_control", -1.0)}, ("sd_control",)),
        Bad("both sds zero", {"data": _with(_with(_stats, 2, "sd_control", 0.0), 2,
                                            "sd_treatment", 0.0)},
            ("sd_treatment",)),
        Bad("keep a missing column", {"keep": ["no_such_column"]}, ("keep",)),
        Bad("keep one string", {"keep": "genre"}, ("keep",)),
        Bad("one unit", {"data": _stats.iloc[:1]}, (), expect="result"),
    )),
    Case(hbm.estimate_unit_effects, {"users": _users}, extra=(
        Bad("treatment not 0/1", {"users": _with(_users, 0, "treatment", 2)}, ("treatment",)),
        Bad("one user in an arm", {"users": _users.drop(index=[1, 3, 5])}, ("creator_id",)),
        Bad("one arm only", {"users": _users[_users["treatment"] == 0]}, ("treatment",)),
    )),
    Case(hbm.estimate_complete_pooling, {"effects": _effects_small}, extra=(
        Bad("zero se", {"effects": _with(_effects_small, 0, "se", 0.0)}, ("se",)),
    )),
    Case(hbm.estimate_between_variance, {
        "estimates": _y, "standard_errors": _s, "group_codes": _codes, "n_groups": 3,
    }, extra=(
        Bad("one unit", {"estimates": _y[:1], "standard_errors": _s[:1],
                         "group_codes": _codes[:1], "n_groups": 1}, ("estimates",)),
        Bad("one unit per group", {"estimates": _y[[0, 4, 8]], "standard_errors": _s[[0, 4, 8]],
                                   "group_codes": np.array([0, 1, 2])}, ("estimates",)),
        Bad("empty group", {"n_groups": 4}, ("group_codes",)),
        Bad("negative code", {"group_codes": np.r_[-1, _codes[1:]]}, ("group_codes",)),
        Bad("zero se", {"standard_errors": np.r_[0.0, _s[1:]]}, ("standard_errors",)),
        Bad("3-D", {"estimates": _y.reshape(1, 1, -1)}, ("estimates",)),
    )),
    Case(hbm.estimate_between_variance, {
        "estimates": _y, "standard_errors": _s, "group_codes": _codes, "method": "moments",
        "per_group": True,
    }, label="moments per group", extra=(
        Bad("a group of one", {"group_codes": np.r_[_codes[:-1], 3]}, ("group_codes",)),
    )),
    Case(hbm.normal_normal_posterior, {
        "estimates": _y, "standard_errors": _s, "group_codes": _codes, "unit_sd": 0.4,
        "group_sd": 0.3, "mean_effect": 0.5, "n_groups": 3,
    }, kinds={"unit_sd": "positive", "group_sd": "positive"},
        # group_sd = inf is the documented flat prior on the group means.
        accepts=("group_sd=inf",),
        extra=(
            Bad("unit_sd zero (complete pooling)", {"unit_sd": 0.0}, (), expect="result"),
            Bad("unit_sd per unit", {"unit_sd": np.full(len(_y), 0.4)}, ("unit_sd",)),
            Bad("unit_sd string array", {"unit_sd": np.array(["0.4"])}, ("unit_sd",)),
        )),
    Case(hbm.estimate_empirical_bayes, {"effects": _effects_small}, extra=(
        Bad("one unit", {"effects": _effects_small.iloc[:1]}, ("estimates",)),
        Bad("one unit per group", {"effects": _effects_small.iloc[[0, 4, 8]]}, ("estimates",)),
        Bad("repeated id", {"effects": pd.concat([_effects_small, _effects_small.iloc[:1]])},
            ("id",)),
        Bad("per group with a group of one", {
            "effects": _effects_small.iloc[:9], "per_group": True}, ("group_codes",)),
    )),
    Case(hbm.estimate_empirical_bayes, {
        "effects": _replicated_effects, "replication": "replication", "method": "moments",
    }, label="replications", extra=(
        Bad("unequal replications", {"effects": _replicated_effects.iloc[:-1]},
            ("replication",)),
    )),
    Case(hbm.estimate_oracle_bayes, {
        "effects": _effects_small, "mean_effect": 0.5, "group_sd": 0.3, "unit_sd": 0.4,
    }, kinds={"unit_sd": "positive", "group_sd": "positive"},
        # group_sd = inf is the documented flat prior on the group means.
        accepts=("group_sd=inf",)),
    Case(hbm.validate_against_truth, {"estimates": _effects, "truth": _truth}, extra=(
        Bad("reversed interval", {"estimates": _with(_effects, 0, "ci_low", 99.0)},
            ("ci_low",)),
        Bad("ids differ", {"truth": _truth.iloc[1:]}, ("on",)),
    )),
    Case(hbm.validate_against_truth, {
        "estimates": _replicated_effects, "truth": _replicated_truth,
        "on": ["replication", "creator_id"], "by": "genre", "cluster": "replication",
    }, label="clustered"),
    Case(hbm.validate_against_truth, {
        "estimates": _effects, "truth": _truth, "by": "n_users", "bins": [0.0, 100.0, np.inf],
        "labels": ["small", "large"],
    }, label="bins", extra=(
        Bad("decreasing bins", {"bins": [100.0, 0.0, np.inf]}, ("bins",)),
        Bad("too few labels", {"labels": ["all"]}, ("labels",)),
        Bad("values outside the bins", {"bins": [0.0, 100.0, 200.0]}, ("bins",)),
    )),
    Case(hbm.fit_hierarchical_model, {"effects": _effects_small, "prior_scale": 1.0,
                                      "rng": 1, **_SAMPLER},
         check_valid=False, extra=(
             *_SAMPLER_BAD,
             Bad("two units", {"effects": _effects_small.iloc[:2]}, ("effects",)),
             Bad("equal estimates", {"effects": _effects_small.assign(estimate=1.0),
                                     "prior_scale": None}, ("prior_scale",)),
             Bad("repeated id", {"effects": pd.concat([_effects_small,
                                                        _effects_small.iloc[:1]])}, ("id",)),
             Bad("target_accept one", {"target_accept": 1.0}, ("target_accept",)),
         )),
    Case(hbm.check_convergence, {"idata": _idata, "var_names": ["mu", "theta"]}, extra=(
        Bad("constant draws", {"idata": _constant_idata, "var_names": None}, ("var_names",)),
        Bad("unknown variable", {"var_names": ["nope"]}, ("var_names",)),
        Bad("no variables", {"var_names": []}, ("var_names",)),
        Bad("one string", {"var_names": "mu"}, ("var_names",)),
        Bad("not idata", {"idata": "not idata"}, ("idata",)),
    )),
    Case(hbm.posterior_predictive_check, {
        "fit": _fake_fit, "new_units": True, "n_replicates": 20, "rng": 1,
    }),
    Case(hbm.posterior_predictive_check, {
        "fit": _fake_fit, "new_units": False, "n_replicates": 20, "rng": 1,
    }, label="plain"),
    # Pareto k above 1 is possible (k > 1: the importance ratios have no mean), so a
    # threshold above one is a legitimate (if unusual) question.
    Case(hbm.count_high_pareto_k, {"idata": _loo_idata, "threshold": 0.7},
         accepts=("threshold=above one",), extra=(
             Bad("no log likelihood", {"idata": _idata}, ("idata",)),
             Bad("not idata", {"idata": "x"}, ("idata",)),
         )),
    Case(hbm.compare_groupings, {"effects": _effects_small, "groupings": ["genre", "region"],
                                 "rng": 1, **_SAMPLER},
         check_valid=False, extra=(
             *_SAMPLER_BAD,
             Bad("one grouping", {"groupings": ["genre"]}, ("groupings",)),
             Bad("one string", {"groupings": "genre"}, ("groupings",)),
             Bad("second grouping has a gap", {
                 "effects": _with(_effects_small, 3, "region", None)}, ("region",)),
         )),
    Case(hbm.fit_geo_hierarchical_model, {"deltas": _deltas, "rng": 1, **_SAMPLER},
         check_valid=False, extra=(
             *_SAMPLER_BAD,
             Bad("one treated geo", {"deltas": _deltas.assign(
                 group=["treatment"] + ["control"] * 7)}, ("treatment_label",)),
             Bad("zero se", {"deltas": _with(_deltas, 0, "se", 0.0)}, ("se",)),
             Bad("repeated geo", {"deltas": _deltas.assign(geo_id="g")}, ("geo_id",)),
             Bad("equal deltas", {"deltas": _deltas.assign(delta=2.0)}, ("prior_scale",)),
         )),
    Case(hbm.fit_eight_schools, {"rng": 1, **_SAMPLER}, check_valid=False,
         extra=_SAMPLER_BAD),
]
