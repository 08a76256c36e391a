"""Contract cases for playbook_lib.bandits (one valid call per public function)."""

from __future__ import annotations

import numpy as np

from contract import Bad, Case
from playbook_lib import bandits as bd
from playbook_lib.simulate import bandit_logs as logs

# a small two-arm log with an exploration floor, so both arms are played often
_run = bd.simulate_thompson_sampling(
    [0.3, 0.5], 300, batch_size=20, propensity_floor=0.1, record_propensities=True, rng=3
)
_arms = _run.arms[0].astype(np.int64)
_rewards = _run.rewards[0].astype(float)
_chosen = _run.chosen_propensities()[0]
_every = _run.propensities[0]
_n = len(_arms)
_only_control = np.zeros(_n, dtype=np.int64)
_arm_two = _arms.copy()
_arm_two[0] = 2
_negative_arm = _arms.copy()
_negative_arm[0] = -1
_zero_chosen = _chosen.copy()
_zero_chosen[0] = 0.0
_above_one = _chosen.copy()
_above_one[0] = 1.5
_predictions = np.full((_n, 2), 0.4)
_rounds = np.array([10, 100, _n])

# the bad log inputs every single-log estimator must refuse (with propensity_clip)
_LOG_BADS = (
    Bad("treatment arm never played", {"arms": _only_control}, ("arms", "treatment")),
    Bad("arm outside 0..n_arms-1", {"arms": _arm_two, "n_arms": 2}, ("arms",)),
    Bad("negative arm", {"arms": _negative_arm}, ("arms",)),
    Bad("zero propensity of a played arm", {"propensities": _zero_chosen}, ("propensities",)),
    Bad("propensity above one", {"propensities": _above_one}, ("propensities",)),
    Bad("propensity_clip=0.6 (empty clip range)", {"propensity_clip": 0.6}, ("propensity_clip",)),
    Bad("propensity_clip=1", {"propensity_clip": 1.0}, ("propensity_clip",)),
    Bad("propensity_clip negative", {"propensity_clip": -0.1}, ("propensity_clip",)),
)
_EVERY_BADS = (
    Bad("treatment arm never played", {"arms": _only_control}, ("arms", "treatment")),
    Bad("arm outside the columns", {"arms": _arm_two}, ("arms",)),
    Bad("rows not summing to one", {"propensities": _every * 0.9}, ("propensities",)),
    Bad("chosen arm only", {"propensities": _chosen}, ("propensities",)),
)

_reps = bd.simulate_thompson_sampling(
    [0.3, 0.5], 200, n_reps=3, batch_size=20, propensity_floor=0.1, record_propensities=True, rng=4
)
_rep_arms = _reps.arms.astype(np.int64)
_rep_missing = _rep_arms.copy()
_rep_missing[1] = 0  # replication 1 never plays the treatment arm

_confounded = logs.simulate_confounded_replications(200, 2, rng=5)
_x_e = np.stack([_confounded["x1"], _confounded["x2"], _confounded["x3"]], -1)
_x_m = np.stack([_confounded["x1"], _confounded["x3"], _confounded["x2"] ** 2], -1)
_observational = logs.simulate_confounded_logs(300, rng=6)
_one_arm_frame = _observational.assign(treatment=1)

_environment = logs.simulate_contextual_environment(n_arms=3, n_features=3, rng=7)
_ope = logs.simulate_contextual_logs(
    _environment, 200, logging_theta=_environment.theta, n_reps=2, rng=8
)
_ope_arms = _ope["arms"][0]
_ope_rewards = _ope["rewards"][0].astype(float)
_logging = _ope["logging_propensities"][0]
_target = _environment.softmax_policy(_ope["contexts"][0], _environment.theta, 0.3)
_q = _ope["reward_probabilities"][0]
_batch_target = _environment.softmax_policy(_ope["contexts"], _environment.theta, 0.3)
_unplayed = int(np.setdiff1d(np.arange(3), _ope_arms[:1])[0])
_logging_zero = _logging.copy()
_logging_zero[0] = 0.0
_logging_zero[0, _ope_arms[0]] = 1.0  # row 0: only the played arm has probability
_logging_zero[0, _unplayed] = 0.0
_batch_logging_zero = _ope["logging_propensities"].copy()
_batch_logging_zero[0] = _logging_zero

CASES = [
    # ------------------------------------------------------------------ propensities
    Case(
        bd.compute_beta_superiority_probability,
        {"alpha_a": 2.0, "beta_a": 3.0, "alpha_b": 4.0, "beta_b": 2.0},
        kinds={
            "alpha_a": "positive",
            "beta_a": "positive",
            "alpha_b": "positive",
            "beta_b": "positive",
        },
        # an array of parameters is legitimate: the function broadcasts them
        accepts=("*=array",),
        extra=(
            Bad("non-integer alpha_b, exact", {"alpha_b": 2.5, "method": "exact"}, ("alpha_b",)),
            Bad(
                "jeffreys prior",
                {"alpha_a": 0.5, "beta_a": 0.5},
                (),
                expect="result",
                check=lambda p: abs(p - 0.6171875) < 1e-9,
            ),
        ),
    ),
    Case(
        bd.compute_thompson_propensities,
        {"alpha": np.array([3.0, 5.0, 2.5]), "beta": np.array([10.0, 12.0, 0.5])},
        extra=(
            Bad("one arm", {"alpha": np.array([3.0]), "beta": np.array([4.0])}, ("alpha",)),
            Bad("zero parameter", {"alpha": np.array([0.0, 5.0, 2.5])}, ("alpha",)),
        ),
    ),
    Case(
        bd.compute_thompson_propensities,
        {
            "alpha": np.array([3.0, 5.0]),
            "beta": np.array([10.0, 12.0]),
            "method": "monte_carlo",
            "n_draws": 50,
            "rng": 1,
        },
        label="monte carlo",
    ),
    Case(
        bd.compute_top_two_propensities,
        {"propensities": np.array([0.2, 0.5, 0.3]), "leader_probability": 0.5},
        extra=(
            Bad(
                "rows not summing to one",
                {"propensities": np.array([0.2, 0.2, 0.2])},
                ("propensities",),
            ),
            Bad("leader_probability 0", {"leader_probability": 0.0}, ("leader_probability",)),
        ),
    ),
    Case(
        bd.simulate_thompson_sampling,
        {"arm_means": np.array([0.3, 0.5]), "n_rounds": 40, "n_reps": 2, "rng": 1},
        kinds={
            "batch_size": "count",
            "prior_alpha": "positive",
            "prior_beta": "positive",
            "propensity_floor": "probability",
        },
        extra=(
            Bad("mean above one", {"arm_means": np.array([0.3, 1.5])}, ("arm_means",)),
            Bad("one arm", {"arm_means": np.array([0.3])}, ("arm_means",)),
            Bad("floor at 1/k", {"propensity_floor": 0.5}, ("propensity_floor",)),
            Bad("huge simulation", {"n_reps": 10**6, "n_rounds": 10**6}, ("n_reps", "n_rounds")),
        ),
    ),
    Case(
        bd.simulate_thompson_sampling,
        {
            "arm_means": np.array([0.3, 0.5, 0.4]),
            "n_rounds": 40,
            "n_reps": 2,
            "batch_size": 10,
            "top_two": True,
            "propensity_floor": 0.05,
            "record_propensities": True,
            "prior_alpha": 0.5,
            "prior_beta": 0.5,
            "rng": 1,
        },
        kinds={
            "batch_size": "count",
            "prior_alpha": "positive",
            "prior_beta": "positive",
            "propensity_floor": "probability",
        },
        label="batched top-two",
    ),
    # ------------------------------------------------------------------ log estimators
    Case(
        bd.estimate_ipw,
        {"arms": _arms, "rewards": _rewards, "propensities": _chosen},
        extra=_LOG_BADS,
    ),
    Case(
        bd.estimate_ipw,
        {"arms": _arms, "rewards": _rewards, "propensities": _every},
        extra=_EVERY_BADS[:3],
        label="every arm",
    ),
    Case(
        bd.estimate_snipw,
        {"arms": _arms, "rewards": _rewards, "propensities": _chosen},
        extra=_LOG_BADS,
    ),
    Case(
        bd.estimate_aipw,
        {"arms": _arms, "rewards": _rewards, "propensities": _chosen},
        extra=_LOG_BADS,
    ),
    Case(
        bd.estimate_aipw,
        {
            "arms": _arms,
            "rewards": _rewards,
            "propensities": _chosen,
            "outcome_predictions": _predictions,
        },
        extra=(
            Bad(
                "predictions of the wrong shape",
                {"outcome_predictions": _predictions[:, :1]},
                ("outcome_predictions",),
            ),
        ),
        label="predictions",
    ),
    Case(
        bd.estimate_adaptive_aipw,
        {"arms": _arms, "rewards": _rewards, "propensities": _every},
        extra=_EVERY_BADS,
    ),
    Case(
        bd.estimate_naive_difference,
        {"arms": _arms, "rewards": _rewards},
        extra=(
            Bad("treatment arm never played", {"arms": _only_control}, ("arms",)),
            Bad("negative arm", {"arms": _negative_arm}, ("arms",)),
            Bad(
                "constant rewards",
                {"rewards": np.zeros(_n)},
                (),
                expect="result",
                check=lambda e: e.estimate == 0 and e.se == 0,
            ),
        ),
    ),
    Case(
        bd.compute_block_bootstrap_means,
        {"values": _rewards, "block_length": 10, "n_boot": 50, "rng": 1},
        kinds={"block_length": "count"},
        extra=(Bad("block longer than the series", {"block_length": 10_000}, ("block_length",)),),
    ),
    Case(
        bd.estimate_block_bootstrap,
        {
            "arms": _arms,
            "rewards": _rewards,
            "propensities": _chosen,
            "block_length": 10,
            "n_boot": 50,
            "estimator": "snipw",
            "rng": 1,
        },
        kinds={"block_length": "count"},
        extra=_LOG_BADS[:5],
    ),
    *(
        Case(
            bd.batch_estimate_effects,
            {
                "arms": _rep_arms,
                "rewards": _reps.rewards.astype(float),
                "propensities": _reps.propensities,
                "method": method,
                "rng": 1,
            },
            extra=(
                Bad(
                    "a replication never plays the treatment arm", {"arms": _rep_missing}, ("arms",)
                ),
                Bad(
                    "one log",
                    {
                        "arms": _rep_arms[0],
                        "rewards": _reps.rewards[0],
                        "propensities": _reps.propensities[0],
                    },
                    ("arms",),
                ),
                Bad(
                    "a bootstrap without block_length",
                    {"method": "ipw block bootstrap"},
                    ("block_length",),
                ),
            ),
            label=method,
        )
        for method in ("naive difference", "ipw", "snipw", "aipw", "adaptive aipw")
    ),
    Case(
        bd.batch_estimate_effects,
        {
            "arms": _rep_arms,
            "rewards": _reps.rewards.astype(float),
            "propensities": _reps.propensities,
            "method": "snipw block bootstrap",
            "block_length": 10,
            "n_boot": 20,
            "rng": 1,
        },
        kinds={"block_length": "count"},
        extra=(
            Bad("a replication never plays the treatment arm", {"arms": _rep_missing}, ("arms",)),
            Bad("block longer than the log", {"block_length": 10_000}, ("block_length",)),
        ),
        label="bootstrap",
    ),
    # ------------------------------------------------------------------ confidence sequence
    Case(
        bd.compute_confidence_sequence,
        {"arms": _arms, "rewards": _rewards, "propensities": _chosen, "rounds": _rounds},
        kinds={"rounds": "skip"},
        extra=(
            *_LOG_BADS[:5],
            Bad("reward above one", {"rewards": _rewards * 2}, ("rewards",)),
            Bad("rounds not increasing", {"rounds": _rounds[::-1]}, ("rounds",)),
            Bad("round beyond the log", {"rounds": np.array([10, _n + 1])}, ("rounds",)),
            Bad("round zero", {"rounds": np.array([0, 10])}, ("rounds",)),
            Bad("fractional round", {"rounds": np.array([1.5, 10.0])}, ("rounds",)),
            Bad(
                "default rounds",
                {"rounds": None},
                (),
                expect="result",
                check=lambda frame: frame["round"].iloc[-1] == _n,
            ),
        ),
    ),
    Case(
        bd.estimate_ipw_confidence_sequence,
        {"arms": _arms, "rewards": _rewards, "propensities": _every},
        extra=(
            *_EVERY_BADS[:3],
            Bad("reward below zero", {"rewards": _rewards - 1}, ("rewards",)),
        ),
    ),
    Case(
        bd.compute_confidence_sequence_coverage,
        {
            "arms": _rep_arms,
            "rewards": _reps.rewards.astype(float),
            "propensities": _reps.propensities,
            "arm_means": np.array([0.3, 0.5]),
        },
        kinds={"arm_means": "skip"},
        extra=(
            Bad("a replication never plays the treatment arm", {"arms": _rep_missing}, ("arms",)),
            Bad("mean above one", {"arm_means": np.array([0.3, 1.5])}, ("arm_means",)),
            Bad("one mean for two arms", {"arm_means": np.array([0.3])}, ("arm_means",)),
            Bad("nan mean", {"arm_means": np.array([0.3, np.nan])}, ("arm_means",)),
            Bad(
                "one log",
                {
                    "arms": _rep_arms[0],
                    "rewards": _reps.rewards[0],
                    "propensities": _reps.propensities[0],
                },
                ("arms",),
            ),
        ),
    ),
    # ------------------------------------------------------------------ confounded logs
    Case(
        bd.batch_estimate_dr,
        {
            "propensity_features": _x_e,
            "outcome_features": _x_m,
            "treatment": _confounded["treatment"],
            "outcome": _confounded["outcome"],
        },
        kinds={
            "propensity_features": "skip",
            "outcome_features": "skip",
            "treatment": "matrix",
            "outcome": "matrix",
        },
        extra=(
            Bad("propensity_clip=0.6", {"propensity_clip": 0.6}, ("propensity_clip",)),
            Bad("propensity_clip=1", {"propensity_clip": 1.0}, ("propensity_clip",)),
            Bad("one arm", {"treatment": np.ones((2, 200))}, ("treatment",)),
            Bad("outcome not 0/1", {"outcome": _confounded["outcome"] * 2.0}, ("outcome",)),
            Bad(
                "fewer replications of outcome",
                {"outcome": _confounded["outcome"][:1]},
                ("outcome", "length"),
            ),
            Bad(
                "nan feature",
                {"outcome_features": np.where(_x_m > 2, np.nan, _x_m)},
                ("outcome_features",),
            ),
            Bad(
                "features of two dimensions",
                {"propensity_features": _x_e[0]},
                ("propensity_features",),
            ),
            Bad("more folds than rows", {"n_folds": 200}, ("n_folds",)),
        ),
    ),
    Case(
        bd.batch_estimate_ipw_estimated_propensity,
        {
            "propensity_features": _x_e,
            "treatment": _confounded["treatment"],
            "outcome": _confounded["outcome"],
        },
        kinds={"propensity_features": "skip", "treatment": "matrix", "outcome": "matrix"},
        extra=(
            Bad("propensity_clip=0.6", {"propensity_clip": 0.6}, ("propensity_clip",)),
            Bad("one arm", {"treatment": np.ones((2, 200))}, ("treatment",)),
            Bad(
                "nan feature",
                {"propensity_features": np.where(_x_e > 2, np.nan, _x_e)},
                ("propensity_features",),
            ),
            Bad("more folds than rows", {"n_folds": 200}, ("n_folds",)),
        ),
    ),
    Case(
        bd.estimate_ipw_estimated_propensity,
        {"data": _observational},
        extra=(
            Bad("propensity_clip=0.6", {"propensity_clip": 0.6}, ("propensity_clip",)),
            Bad("propensity_clip=1", {"propensity_clip": 1.0}, ("propensity_clip",)),
            Bad("one arm", {"data": _one_arm_frame}, ("treatment",)),
            Bad("no covariates", {"covariates": []}, ("covariates",)),
        ),
    ),
    Case(
        bd.estimate_cross_fitted_dr,
        {"data": _observational, "n_folds": 2, "rng": 1},
        extra=(
            Bad("propensity_clip=0.6", {"propensity_clip": 0.6}, ("propensity_clip",)),
            Bad("propensity_clip=1", {"propensity_clip": 1.0}, ("propensity_clip",)),
            Bad("one arm", {"data": _one_arm_frame}, ("treatment",)),
            Bad(
                "missing propensity column",
                {"propensity_covariates": ["x1", "nope"]},
                ("propensity_covariates", "nope"),
            ),
            Bad("more folds than rows", {"n_folds": 200}, ("n_folds",)),
        ),
    ),
    # ------------------------------------------------------------------ off-policy
    *(
        Case(
            bd.batch_estimate_policy_value,
            {
                "arms": _ope["arms"],
                "rewards": _ope["rewards"].astype(float),
                "logging_propensities": _ope["logging_propensities"],
                "target_probabilities": _batch_target,
                "reward_predictions": _ope["reward_probabilities"],
                "method": method,
            },
            kinds={
                "logging_propensities": "skip",
                "target_probabilities": "skip",
                "reward_predictions": "skip",
            },
            extra=(
                Bad(
                    "target acts where logging never does",
                    {"logging_propensities": _batch_logging_zero},
                    ("target_probabilities", "logging_propensities"),
                ),
                Bad(
                    "target rows not summing to one",
                    {"target_probabilities": _batch_target / 2},
                    ("target_probabilities",),
                ),
                Bad("one log", {"arms": _ope_arms, "rewards": _ope_rewards}, ("arms",)),
                Bad(
                    "dr without predictions",
                    {"reward_predictions": None, "method": "dr"},
                    ("reward_predictions",),
                ),
            ),
            label=method,
        )
        for method in ("ipw", "snipw", "dr")
    ),
    Case(
        bd.estimate_policy_value,
        {
            "arms": _ope_arms,
            "rewards": _ope_rewards,
            "logging_propensities": _logging,
            "target_probabilities": _target,
            "reward_predictions": _q,
            "method": "dr",
        },
        extra=(
            Bad("dr without predictions", {"reward_predictions": None}, ("reward_predictions",)),
        ),
    ),
    Case(
        bd.simulate_contextual_bandit,
        {
            "environment": _environment,
            "n_rounds": 30,
            "n_reps": 2,
            "policy": "linear_thompson",
            "rng": 1,
        },
        kinds={"exploration": "positive", "ridge": "positive"},
        extra=(Bad("negative exploration", {"exploration": -1.0}, ("exploration",)),),
    ),
]
