"""Tests for playbook_lib.bandits and playbook_lib.simulate.bandit_logs (uplift: test_uplift.py).

References: exact theory (closed-form Beta superiority probability, Cook 2005 / Miller 2015;
martingale unbiasedness of IPW with known propensities), statsmodels (logistic maximum
likelihood), explicit-loop reference implementations, and seeded Monte Carlo calibration
with tolerances from the binomial / normal Monte Carlo standard error.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas.testing as pd_testing
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

import playbook_lib as pl
from playbook_lib import bandits as bd
from playbook_lib.bandits import _checks as checks_module
from playbook_lib.bandits import confounded
from playbook_lib.bandits.confounded import _fit_logistic_batched
from playbook_lib.bandits.contextual import _CONTEXT_BLOCK
from playbook_lib.bandits.policy import _two_arm_propensities_from_history
from playbook_lib.simulate import bandit_logs as logs_module


# --------------------------------------------------------------------------- propensities
def test_exact_beta_propensity_is_five_sixths() -> None:
    # P(theta_B > theta_A) for A ~ Beta(2, 3), B ~ Beta(4, 2): 5/6 exactly (a finite sum of
    # Beta functions); both the closed form and the quadrature must give it.
    assert bd.compute_beta_superiority_probability(2, 3, 4, 2, method="exact") == pytest.approx(
        5 / 6, abs=1e-13
    )
    assert bd.compute_beta_superiority_probability(2, 3, 4, 2) == pytest.approx(5 / 6, abs=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.integers(1, 400), st.integers(1, 4000), st.integers(1, 400), st.integers(1, 4000))
def test_quadrature_matches_closed_form(a_a: int, b_a: int, a_b: int, b_b: int) -> None:
    exact = bd.compute_beta_superiority_probability(a_a, b_a, a_b, b_b, method="exact")
    assert bd.compute_beta_superiority_probability(a_a, b_a, a_b, b_b) == pytest.approx(
        exact, abs=1e-9
    )


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300), st.integers(1, 300))
def test_swapping_arms_gives_the_complement(a_a: int, b_a: int, a_b: int, b_b: int) -> None:
    forward = bd.compute_beta_superiority_probability(a_a, b_a, a_b, b_b)
    backward = bd.compute_beta_superiority_probability(a_b, b_b, a_a, b_a)
    assert forward + backward == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize(
    "alpha, beta",
    [
        ([3.0, 10.0], [30.0, 70.0]),
        ([120.0, 1.0], [880.0, 4.0]),
        ([3.0, 10.0, 30.0, 2.0], [30.0, 70.0, 200.0, 9.0]),
        ([300.0, 10.0, 3000.0, 2.0], [3000.0, 70.0, 30000.0, 9.0]),
        ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]),
    ],
)
def test_propensities_match_a_million_monte_carlo_draws(alpha, beta) -> None:
    rng = np.random.default_rng(20261122)
    n = 1_000_000
    draws = rng.beta(alpha, beta, size=(n, len(alpha)))
    monte_carlo = np.bincount(draws.argmax(axis=1), minlength=len(alpha)) / n
    exact = bd.compute_thompson_propensities(np.array(alpha), np.array(beta))
    assert exact.sum() == pytest.approx(1.0, abs=1e-12)
    mc_se = np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / n)
    assert np.all(np.abs(monte_carlo - exact) < 4 * mc_se + 1e-9)


def test_symmetric_arms_get_equal_propensities() -> None:
    p = bd.compute_thompson_propensities(np.full(3, 5.0), np.full(3, 50.0))
    assert np.allclose(p, 1 / 3, atol=1e-10)


def test_monte_carlo_propensity_can_be_zero_but_exact_cannot() -> None:
    # the Monte Carlo shortcut: 200 draws; a clearly worse arm gets propensity exactly 0
    alpha, beta = np.array([8.0, 30.0]), np.array([140.0, 140.0])
    mc = bd.compute_thompson_propensities(alpha, beta, method="monte_carlo", n_draws=200, rng=1)
    exact = bd.compute_thompson_propensities(alpha, beta)
    assert mc[0] == 0.0
    assert 1e-4 < exact[0] < 1e-3


def test_top_two_propensities_match_simulated_resampling() -> None:
    rng = np.random.default_rng(7)
    alpha, beta = np.array([4.0, 6.0, 5.0]), np.array([20.0, 20.0, 22.0])
    p = bd.compute_thompson_propensities(alpha, beta)
    expected = bd.compute_top_two_propensities(p, 0.5)
    n = 200_000
    first = rng.beta(alpha, beta, size=(n, 3)).argmax(1)
    second = rng.beta(alpha, beta, size=(n, 3)).argmax(1)
    # resample until the challenger differs from the leader
    same = second == first
    while same.any():
        second[same] = rng.beta(alpha, beta, size=(same.sum(), 3)).argmax(1)
        same = second == first
    played = np.where(rng.random(n) < 0.5, first, second)
    observed = np.bincount(played, minlength=3) / n
    assert np.all(np.abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / n))
    # two arms: top-two is beta * p + (1 - beta) * (1 - p)
    two = bd.compute_top_two_propensities(np.array([0.9, 0.1]), 0.5)
    assert np.allclose(two, [0.5, 0.5])


# --------------------------------------------------------------------------- simulation
def test_thompson_sampling_beats_a_fixed_split_over_10000_rounds() -> None:
    # (its CPU time is printed by benchmarks/thompson_propensities.py, not asserted here)
    run = bd.simulate_thompson_sampling([0.10, 0.11], 10_000, n_reps=1_000, rng=1)
    assert run.arms.shape == (1_000, 10_000)
    # Thompson sampling beats a fixed 50/50 split on regret: 10,000 * 0.005 = 50
    assert run.mean_cumulative_regret()[-1] < 0.7 * 50


def test_plain_two_arm_sampling_plays_arm_one_with_its_propensity() -> None:
    # two arms are simulated by drawing arm 1 with its exact propensity h (the same law as
    # drawing a posterior sample per arm): the arm played follows the recorded h, and the
    # rounds' wins follow the arms' means
    run = bd.simulate_thompson_sampling(
        [0.3, 0.36], 400, n_reps=2_000, record_propensities=True, rng=26
    )
    p1 = run.propensities[..., 1].ravel()
    played = (run.arms == 1).ravel()
    assert abs(played.mean() - p1.mean()) < 4 * np.sqrt(np.mean(p1 * (1 - p1)) / p1.size)
    # a reference that draws a posterior sample per arm gives the same allocation, within
    # Monte Carlo error
    rng = np.random.default_rng(27)
    successes, pulls = np.zeros((2_000, 2)), np.zeros((2_000, 2))
    rows, reference = np.arange(2_000), np.empty((2_000, 400), dtype=bool)
    for t in range(400):
        arm = rng.beta(1 + successes, 1 + pulls - successes).argmax(1)
        successes[rows, arm] += rng.random(2_000) < np.array([0.3, 0.36])[arm]
        pulls[rows, arm] += 1
        reference[:, t] = arm == 1
    share_two, share_draws = (run.arms == 1).mean(1), reference.mean(1)
    se = np.sqrt(share_two.var() / 2_000 + share_draws.var() / 2_000)
    assert abs(share_two.mean() - share_draws.mean()) < 4 * se
    for arm, mean in ((0, 0.3), (1, 0.36)):
        wins = run.rewards[run.arms == arm]
        assert abs(wins.mean() - mean) < 4 * np.sqrt(mean * (1 - mean) / wins.size)


def test_recorded_propensities_are_exact_for_the_posterior() -> None:
    run = bd.simulate_thompson_sampling([0.2, 0.3], 300, n_reps=3, record_propensities=True, rng=2)
    arms, rewards = run.arms[1].astype(int), run.rewards[1].astype(int)
    t = 200
    wins = np.array([np.sum((arms[:t] == a) & (rewards[:t] == 1)) for a in (0, 1)])
    pulls = np.array([np.sum(arms[:t] == a) for a in (0, 1)])
    expected = bd.compute_thompson_propensities(1 + wins, 1 + pulls - wins)
    assert np.allclose(run.propensities[1, t], expected, atol=1e-12)


def _posteriors_before_each_round(run: bd.BanditRun, prior: float) -> tuple[np.ndarray, ...]:
    one_hot = run.arms[..., None] == np.arange(2)
    pulls = np.cumsum(one_hot, axis=1) - one_hot
    wins = np.cumsum(one_hot * run.rewards[..., None], axis=1) - one_hot * run.rewards[..., None]
    return prior + wins, prior + pulls - wins


def test_two_arm_recurrence_equals_the_closed_form_sum() -> None:
    # The O(1)-per-round recurrence against Miller's closed-form sum (integer parameters,
    # summed in log space) at 300 random rounds of 40 replications x 2,000 rounds.
    run = bd.simulate_thompson_sampling(
        [0.3, 0.35], 2_000, n_reps=40, record_propensities=True, rng=7
    )
    alpha, beta = _posteriors_before_each_round(run, 1.0)
    rng = np.random.default_rng(8)
    reps, rounds = rng.integers(0, 40, 300), rng.integers(0, 2_000, 300)
    exact = bd.compute_beta_superiority_probability(
        alpha[reps, rounds, 0],
        beta[reps, rounds, 0],
        alpha[reps, rounds, 1],
        beta[reps, rounds, 1],
        method="exact",
    )
    ours = run.propensities[reps, rounds, 1]
    np.testing.assert_allclose(ours, exact, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run.propensities.sum(-1), 1.0, atol=1e-15)


def test_two_arm_recurrence_is_exact_for_a_non_integer_prior() -> None:
    # Jeffreys prior Beta(1/2, 1/2): no closed-form sum applies (alpha never an integer), so
    # the reference is adaptive quadrature of f_1(x) F_0(x) (QUADPACK, error ~1e-14).
    run = bd.simulate_thompson_sampling(
        [0.10, 0.11],
        1_500,
        n_reps=20,
        prior_alpha=0.5,
        prior_beta=0.5,
        record_propensities=True,
        rng=9,
    )
    alpha, beta = _posteriors_before_each_round(run, 0.5)
    rng = np.random.default_rng(13)
    for r, t in zip(rng.integers(0, 20, 25), rng.integers(0, 1_500, 25), strict=True):
        a0, b0, a1, b1 = alpha[r, t, 0], beta[r, t, 0], alpha[r, t, 1], beta[r, t, 1]
        reference, _ = integrate.quad(
            lambda x: stats.beta.pdf(x, a1, b1) * stats.beta.cdf(x, a0, b0),  # noqa: B023
            0,
            1,
            limit=500,
            epsabs=1e-14,
            epsrel=1e-12,
        )
        assert run.propensities[r, t, 1] == pytest.approx(reference, rel=1e-10, abs=1e-13)


def test_two_arm_recurrence_keeps_tiny_propensities_accurate() -> None:
    # Arm 1 wins every round and arm 0 loses every round (alternating pulls): arm 0's
    # propensity falls to ~1e-100. Each recurrence step errs by ~1e-16 in absolute terms,
    # so such rounds are recomputed by quadrature and keep their relative accuracy.
    arms = np.tile(np.array([0, 1], dtype=np.int8), 300)[None, :]
    rewards = (arms == 1).astype(np.int8)
    ours = _two_arm_propensities_from_history(arms, rewards, 1.0, 1.0)[0]
    alpha, beta = _posteriors_before_each_round(
        bd.BanditRun(np.array([0.0, 1.0]), arms, rewards, None, 1), 1.0
    )
    reference = bd.compute_thompson_propensities(alpha[0], beta[0])
    assert ours[:, 0].min() < 1e-50
    np.testing.assert_allclose(ours, reference, rtol=1e-8, atol=0)


def test_two_arm_recurrence_agrees_with_a_million_posterior_draws() -> None:
    run = bd.simulate_thompson_sampling(
        [0.10, 0.11], 3_000, n_reps=2, record_propensities=True, rng=10
    )
    alpha, beta = _posteriors_before_each_round(run, 1.0)
    rng = np.random.default_rng(11)
    for t in (10, 500, 2_999):
        draws = rng.beta(alpha[0, t], beta[0, t], size=(1_000_000, 2))
        share = (draws[:, 1] > draws[:, 0]).mean()
        p = run.propensities[0, t, 1]
        assert abs(share - p) < 5 * np.sqrt(p * (1 - p) / 1_000_000), (t, share, p)


def test_exact_two_arm_propensities_of_a_long_experiment_match_quadrature() -> None:
    # 1,000 replications x 10,000 rounds with every propensity recorded: 10 million exact
    # propensities, carried by the recurrence (a per-round quadrature took 210 s for this;
    # the CPU time is printed by benchmarks/thompson_propensities.py). Against the
    # quadrature on the posteriors before each round: every round of three replications,
    # the last round of every replication (where the recurrence has taken the most steps)
    # and 20,000 random rounds, all to 1e-10.
    run = bd.simulate_thompson_sampling(
        [0.10, 0.11], 10_000, n_reps=1_000, record_propensities=True, rng=12
    )
    assert run.propensities.shape == (1_000, 10_000, 2)
    np.testing.assert_allclose(run.propensities.sum(-1), 1.0, atol=1e-15)
    one = (run.arms == 1).astype(np.int32)
    win = run.rewards.astype(np.int32)
    pulls_1 = np.cumsum(one, axis=1, dtype=np.int32) - one
    wins_1 = np.cumsum(one * win, axis=1, dtype=np.int32) - one * win
    wins_all = np.cumsum(win, axis=1, dtype=np.int32) - win
    rounds_before = np.arange(10_000, dtype=np.int32)

    def quadrature(reps: np.ndarray, rounds: np.ndarray) -> np.ndarray:
        n1, s1 = pulls_1[reps, rounds], wins_1[reps, rounds]
        n0, s0 = rounds_before[rounds] - n1, wins_all[reps, rounds] - s1
        alpha = np.stack([1 + s0, 1 + s1], -1).astype(float)
        beta = np.stack([1 + n0 - s0, 1 + n1 - s1], -1).astype(float)
        return bd.compute_thompson_propensities(alpha, beta)

    rng = np.random.default_rng(28)
    every_round = np.repeat([0, 499, 999], 10_000), np.tile(np.arange(10_000), 3)
    last_round = np.arange(1_000), np.full(1_000, 9_999)
    random_rounds = rng.integers(0, 1_000, 20_000), rng.integers(0, 10_000, 20_000)
    for reps, rounds in (every_round, last_round, random_rounds):
        np.testing.assert_allclose(
            run.propensities[reps, rounds], quadrature(reps, rounds), rtol=0, atol=1e-10
        )


def test_batched_two_arm_propensities_match_quadrature_at_every_batch() -> None:
    # batched runs carry the two-arm propensities through each batch by the recurrence;
    # a clear winner (10% against 50%) drives the loser's propensity below the floor where
    # the recurrence hands over to quadrature
    for means, floor in (([0.10, 0.12], 0.05), ([0.10, 0.50], 0.0)):
        run = bd.simulate_thompson_sampling(
            means,
            2_000,
            n_reps=50,
            batch_size=50,
            propensity_floor=floor,
            record_propensities=True,
            rng=29,
        )
        alpha, beta = _posteriors_before_each_round(run, 1.0)
        starts = np.arange(0, 2_000, 50)
        expected = floor + (1 - 2 * floor) * bd.compute_thompson_propensities(
            alpha[:, starts], beta[:, starts]
        )
        got = run.propensities[:, starts]
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-12)
        assert np.all(run.propensities == np.repeat(got, 50, axis=1))
    assert got[..., 0].min() < 1e-7  # the quadrature hand-over was exercised


def test_batched_floor_and_top_two_runs_respect_their_design() -> None:
    run = bd.simulate_thompson_sampling(
        [0.1, 0.3, 0.2],
        400,
        n_reps=50,
        batch_size=40,
        propensity_floor=0.05,
        top_two=True,
        record_propensities=True,
        rng=3,
    )
    p = run.propensities
    assert np.all(p >= 0.05 - 1e-12)
    assert np.allclose(p.sum(-1), 1)
    # constant within a batch
    assert np.allclose(p[:, :40], p[:, :1])
    # the best arm ends up played most
    assert run.allocation()[-40:].mean(0).argmax() == 1


def test_thompson_allocation_matches_its_propensities() -> None:
    # the arm drawn each round follows the recorded propensities (calibration)
    run = bd.simulate_thompson_sampling(
        [0.1, 0.12], 200, n_reps=2000, batch_size=20, record_propensities=True, rng=4
    )
    p1 = run.propensities[..., 1].ravel()
    played = (run.arms == 1).ravel()
    assert abs(played.mean() - p1.mean()) < 4 * np.sqrt(np.mean(p1 * (1 - p1)) / p1.size)


def test_simulated_log_has_documented_columns() -> None:
    log = pl.simulate.simulate_bandit_logs([0.1, 0.2], 500, batch_size=50, rng=5)
    assert list(log.columns) == [
        "round",
        "batch",
        "arm",
        "reward",
        "propensity",
        "propensity_0",
        "propensity_1",
    ]
    chosen = np.where(log["arm"] == 1, log["propensity_1"], log["propensity_0"])
    assert np.allclose(log["propensity"], chosen)


# --------------------------------------------------------------------------- estimators
@pytest.fixture(scope="module")
def adaptive_runs() -> bd.BanditRun:
    # the chapter's world (0.10 vs 0.11), batches of 100 rounds, 5% exploration floor
    return bd.simulate_thompson_sampling(
        [0.10, 0.11],
        4000,
        n_reps=1000,
        batch_size=100,
        propensity_floor=0.05,
        record_propensities=True,
        rng=20261122,
    )


def _batch(run: bd.BanditRun, method: str, **options) -> pl.Estimates:
    return bd.batch_estimate_effects(
        run.arms, run.rewards, run.propensities, method=method, **options
    )


def test_ipw_snipw_aipw_unbiased_naive_biased(adaptive_runs: bd.BanditRun) -> None:
    truth = 0.01
    for method in ("ipw", "snipw", "aipw"):
        bias = _batch(adaptive_runs, method).bias(truth)
        assert abs(bias.estimate) < 3 * bias.se, method
    naive = _batch(adaptive_runs, "naive difference").bias(truth)
    assert naive.estimate > 3 * naive.se


def test_floor_design_aipw_covers_where_naive_does_not(adaptive_runs: bd.BanditRun) -> None:
    # the chapter's recommendation: exploration floor + AIPW (or IPW) normal interval
    coverage = {
        method: _batch(adaptive_runs, method).coverage(0.01)
        for method in ("naive difference", "aipw", "ipw")
    }
    # z_vs_nominal: distance from 0.95 in units of sqrt(0.95 * 0.05 / n)
    assert abs(coverage["aipw"].details["z_vs_nominal"]) < 3
    assert abs(coverage["ipw"].details["z_vs_nominal"]) < 3
    assert coverage["naive difference"].details["z_vs_nominal"] < -3


def test_floor_design_covers_with_a_clear_winner_too() -> None:
    # without a floor this design's intervals collapse (chapter: IPW coverage ~0.59); the
    # floor keeps every weight below 20 and the normal intervals cover again
    run = bd.simulate_thompson_sampling(
        [0.10, 0.20],
        4000,
        n_reps=1000,
        batch_size=100,
        propensity_floor=0.05,
        record_propensities=True,
        rng=606,
    )
    for method in ("ipw", "aipw"):
        coverage = _batch(run, method).coverage(0.1)
        assert abs(coverage.details["z_vs_nominal"]) < 3, method


def test_adaptive_aipw_matches_a_loop_reference() -> None:
    rng = np.random.default_rng(30)
    n = 300
    p1 = rng.uniform(0.05, 0.95, n)
    propensities = np.column_stack([1 - p1, p1])
    arms = (rng.random(n) < p1).astype(int)
    rewards = rng.random(n) < np.where(arms == 1, 0.4, 0.3)
    # reference: running posterior means from earlier rounds, weights (1/e1 + 1/e0)^(-1/2)
    wins, pulls = np.zeros(2), np.zeros(2)
    scores, weights = [], []
    for t in range(n):
        m = (1 + wins) / (2 + pulls)
        gamma = [m[a] + (arms[t] == a) * (rewards[t] - m[a]) / propensities[t, a] for a in (0, 1)]
        scores.append(gamma[1] - gamma[0])
        weights.append(1 / np.sqrt(1 / propensities[t, 0] + 1 / propensities[t, 1]))
        wins[arms[t]] += rewards[t]
        pulls[arms[t]] += 1
    scores, weights = np.array(scores), np.array(weights)
    estimate = np.sum(weights * scores) / weights.sum()
    se = np.sqrt(np.sum(weights**2 * (scores - estimate) ** 2)) / weights.sum()
    result = bd.estimate_adaptive_aipw(arms, rewards, propensities)
    assert result.estimate == pytest.approx(estimate, rel=1e-12)
    assert result.se == pytest.approx(se, rel=1e-12)
    aipw = bd.estimate_aipw(arms, rewards, propensities)
    # equal weights give plain AIPW
    assert aipw.estimate == pytest.approx(scores.mean(), rel=1e-12)


def test_single_log_estimators_match_the_vectorised_ones(adaptive_runs: bd.BanditRun) -> None:
    arms, rewards = adaptive_runs.arms[0], adaptive_runs.rewards[0]
    p = adaptive_runs.propensities[0]
    single = {
        "ipw": bd.estimate_ipw(arms, rewards, p),
        "snipw": bd.estimate_snipw(arms, rewards, p),
        "aipw": bd.estimate_aipw(arms, rewards, p),
        "adaptive aipw": bd.estimate_adaptive_aipw(arms, rewards, p),
        "naive difference": bd.estimate_naive_difference(arms, rewards),
    }
    for method, estimate in single.items():
        row = bd.batch_estimate_effects(arms[None], rewards[None], p[None], method=method)[0]
        assert isinstance(row, pl.Estimate) and row.method == method
        for field in ("estimate", "se", "ci_low", "ci_high", "p_value"):
            assert getattr(estimate, field) == pytest.approx(getattr(row, field), rel=1e-12)
        assert isinstance(estimate, pl.Estimate)
    # the batched bootstrap draws what the single-log one draws from the same rng
    boot = bd.estimate_block_bootstrap(arms, rewards, p, block_length=200, n_boot=50, rng=3)
    row = bd.batch_estimate_effects(
        arms[None],
        rewards[None],
        p[None],
        method="ipw block bootstrap",
        block_length=200,
        n_boot=50,
        rng=3,
    )[0]
    assert (row.estimate, row.se, *row.ci) == pytest.approx((boot.estimate, boot.se, *boot.ci))
    # chosen-arm propensities give the same IPW as the full matrix
    chosen = adaptive_runs.chosen_propensities()[0]
    assert bd.estimate_ipw(arms, rewards, chosen).estimate == pytest.approx(single["ipw"].estimate)


def test_ipw_by_hand_and_stabilised_weights_equal_snipw() -> None:
    rng = np.random.default_rng(8)
    n = 500
    p1 = rng.uniform(0.1, 0.9, n)
    arms = (rng.random(n) < p1).astype(int)
    rewards = rng.random(n) < np.where(arms == 1, 0.3, 0.2)
    chosen = np.where(arms == 1, p1, 1 - p1)
    by_hand = np.mean(arms * rewards / p1) - np.mean((1 - arms) * rewards / (1 - p1))
    assert bd.estimate_ipw(arms, rewards, chosen).estimate == pytest.approx(by_hand)
    # "stabilised" weights (times each arm's share) cancel in the self-normalised ratio
    share = arms.mean()
    w1, w0 = share * arms / p1, (1 - share) * (1 - arms) / (1 - p1)
    stabilised = np.sum(w1 * rewards) / w1.sum() - np.sum(w0 * rewards) / w0.sum()
    assert bd.estimate_snipw(arms, rewards, chosen).estimate == pytest.approx(stabilised)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.floats(-5, 5))
def test_swapping_arms_flips_sign_and_shifting_rewards_keeps_effect(
    seed: int, shift: float
) -> None:
    rng = np.random.default_rng(seed)
    n = 200
    p1 = rng.uniform(0.2, 0.8, n)
    arms = (rng.random(n) < p1).astype(int)
    rewards = rng.normal(size=n)
    p = np.column_stack([1 - p1, p1])
    for estimator in (bd.estimate_snipw, bd.estimate_aipw, bd.estimate_adaptive_aipw):
        forward = estimator(arms, rewards, p)
        backward = estimator(arms, rewards, p, treatment=0, control=1)
        assert backward.estimate == pytest.approx(-forward.estimate, abs=1e-9)
    shifted = bd.estimate_snipw(arms, rewards + shift, p).estimate
    assert shifted == pytest.approx(bd.estimate_snipw(arms, rewards, p).estimate, abs=1e-9)


def test_clipping_is_counted_and_zero_propensity_raises() -> None:
    arms = np.array([0, 1, 1, 0, 1])
    rewards = np.array([1, 0, 1, 1, 0])
    chosen = np.array([0.5, 0.0, 0.4, 0.5, 0.6])
    with pytest.raises(ValueError, match="propensities"):
        bd.estimate_ipw(arms, rewards, chosen)
    clipped = bd.estimate_ipw(arms, rewards, chosen, propensity_clip=0.05)
    assert clipped.details["n_clipped"] == 1


@pytest.mark.parametrize(
    "arms, rewards, propensities, match",
    [
        ([0, 1, 1], [1, 0, 1], [0.5, 1.2, 0.5], "propensities"),
        ([0, 1, 1], [1, 0, 1], [0.5, -0.1, 0.5], "propensities"),
        ([0, 2, 1], [1, 0, 1], [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]], "arms"),
        ([0, -1, 1], [1, 0, 1], [0.5, 0.5, 0.5], "arms"),
        ([0, 0.5, 1], [1, 0, 1], [0.5, 0.5, 0.5], "arms"),
        ([0, 1, 1], [1, 0], [0.5, 0.5, 0.5], "rewards"),
        ([0, 1, 1], [1, 0, 1], [0.5, 0.5], "propensities"),
    ],
)
def test_bad_logs_raise_naming_the_argument(arms, rewards, propensities, match) -> None:
    with pytest.raises(ValueError, match=match):
        bd.estimate_ipw(arms, rewards, propensities)


def test_other_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="arm_means"):
        bd.simulate_thompson_sampling([0.1, 1.2], 10)
    with pytest.raises(ValueError, match="propensity_floor"):
        bd.simulate_thompson_sampling([0.1, 0.2], 10, propensity_floor=0.6)
    with pytest.raises(ValueError, match="alpha_a"):
        bd.compute_beta_superiority_probability(0, 1, 1, 1)
    with pytest.raises(ValueError, match="alpha_b"):
        bd.compute_beta_superiority_probability(1, 1, 1.5, 1, method="exact")
    with pytest.raises(ValueError, match="propensities"):
        bd.estimate_adaptive_aipw([0, 1, 1], [1, 0, 1], [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="treatment"):
        bd.estimate_ipw([0, 1, 1], [1, 0, 1], [0.5, 0.5, 0.5], treatment=5)
    with pytest.raises(ValueError, match="block_length"):
        bd.compute_block_bootstrap_means(np.ones(10), 11)
    with pytest.raises(ValueError, match="alpha"):
        bd.estimate_ipw([0, 1, 1], [1, 0, 1], [0.5, 0.5, 0.5], alpha=1.5)


# --------------------------------------------------------------------------- bootstrap
def test_block_bootstrap_matches_explicit_index_arrays() -> None:
    values = np.arange(12.0) ** 2
    block_length, n_boot = 4, 5
    means = bd.compute_block_bootstrap_means(values, block_length, n_boot, rng=9)
    # reference: the same starts, blocks built row by row with wrap-around
    starts = np.random.default_rng(9).integers(0, 12, size=n_boot * 3).reshape(n_boot, 3)
    reference = [
        np.mean([values[(s + j) % 12] for s in row for j in range(block_length)]) for row in starts
    ]
    assert np.allclose(means, reference)


def test_block_bootstrap_speed_and_iid_limit() -> None:
    rng = np.random.default_rng(10)
    values = rng.normal(size=40_000)
    start = time.process_time()
    means = bd.compute_block_bootstrap_means(values, 400, 1000, rng=11)
    cpu = time.process_time() - start
    assert means.shape == (1000,)
    assert cpu < 2.0, f"block bootstrap took {cpu:.2f} s of CPU"
    # block length 1 is the ordinary bootstrap: sd of means ~ sd / sqrt(n)
    iid = bd.compute_block_bootstrap_means(values, 1, 200, rng=12)
    assert iid.std() == pytest.approx(values.std() / np.sqrt(40_000), rel=0.15)


def test_block_bootstrap_estimate_on_a_log() -> None:
    log = pl.simulate.simulate_bandit_logs(
        [0.1, 0.15], 4000, batch_size=100, propensity_floor=0.05, rng=13
    )
    p = log[["propensity_0", "propensity_1"]].to_numpy()
    result = bd.estimate_block_bootstrap(
        log["arm"], log["reward"], p, block_length=200, n_boot=500, rng=14
    )
    ipw = bd.estimate_ipw(log["arm"], log["reward"], p)
    assert result.estimate == pytest.approx(ipw.estimate)
    assert result.ci_low < ipw.estimate < result.ci_high
    assert 0.5 < result.se / ipw.se < 2.0


# --------------------------------------------------------------------------- confounded
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.bool_, np.int64])
def test_ipw_and_confidence_sequence_take_any_reward_dtype(dtype: type) -> None:
    # Horvitz-Thompson by hand on float rewards; unsigned 8-bit rewards once wrapped a
    # difference of rewards to 255 (IPW 104 instead of 0.18).
    rng = np.random.default_rng(4)
    arms = (rng.random(3000) < 0.5).astype(int)
    rewards = rng.random(3000) < np.where(arms == 1, 0.6, 0.4)
    propensity = np.full(3000, 0.5)
    by_hand = np.mean(rewards * (arms == 1) / 0.5) - np.mean(rewards * (arms == 0) / 0.5)
    typed = rewards.astype(dtype)
    assert bd.estimate_ipw(arms, typed, propensity).estimate == pytest.approx(by_hand)
    last = bd.compute_confidence_sequence(arms, typed, propensity).iloc[-1]
    floats = bd.compute_confidence_sequence(arms, rewards.astype(float), propensity).iloc[-1]
    assert last["estimate"] == pytest.approx(by_hand)
    assert (last["ci_low"], last["ci_high"]) == pytest.approx((floats["ci_low"], floats["ci_high"]))


def test_batched_logistic_equals_statsmodels() -> None:
    data = pl.simulate.simulate_confounded_logs(3000, rng=15)
    x = sm.add_constant(data[["x1", "x2", "x3"]].to_numpy())
    y = data["treatment"].to_numpy(dtype=float)
    reference = sm.Logit(y, x).fit(disp=0).params
    batched, converged = _fit_logistic_batched(x[None], y[None])
    assert np.allclose(batched[0], reference, atol=1e-7) and converged.all()


def test_batched_logistic_warns_when_the_classes_are_separated() -> None:
    # Replication 1's treatment is x1 > 0 exactly: no maximum-likelihood fit exists
    # (statsmodels raises or warns on it too); replication 0 is an ordinary data set.
    data = pl.simulate.simulate_confounded_replications(400, 2, rng=3)
    features = np.stack([data["x1"], data["x2"]], -1)
    treatment = data["treatment"].copy()
    treatment[1] = (data["x1"][1] > 0).astype(float)
    with pytest.warns(pl.PlaybookWarning, match="did not converge in 1 of 2 replications"):
        bd.batch_estimate_ipw_estimated_propensity(features, treatment, data["outcome"])
    x = np.concatenate([np.ones((2, 400, 1)), features], -1)
    _, converged = _fit_logistic_batched(x, treatment)
    assert converged.tolist() == [True, False]


def test_dr_is_consistent_when_one_model_is_wrong() -> None:
    truth = pl.simulate.compute_confounded_true_ate()
    data = pl.simulate.simulate_confounded_replications(4000, 120, rng=16)
    linear = np.stack([data["x1"], data["x2"], data["x3"]], -1)
    correct = np.concatenate([linear, data["x2"][..., None] ** 2], -1)
    results = {}
    for name, (x_e, x_m) in {
        "outcome wrong": (correct, linear),
        "propensity wrong": (linear, correct),
        "both wrong": (linear, linear),
    }.items():
        dr = bd.batch_estimate_dr(x_e, x_m, data["treatment"], data["outcome"])
        ipw = bd.batch_estimate_ipw_estimated_propensity(x_e, data["treatment"], data["outcome"])
        assert len(dr) == len(ipw) == 120
        results[name] = (dr.bias(truth), ipw.bias(truth))
    for name in ("outcome wrong", "propensity wrong"):
        bias = results[name][0]
        assert abs(bias.estimate) < 3.5 * bias.se, name
    bias = results["both wrong"][0]
    assert bias.estimate > 10 * bias.se
    # IPW with the wrong propensity model is biased too
    assert results["propensity wrong"][1].estimate > 10 * bias.se


def test_batched_dr_and_ipw_match_a_per_replication_reference() -> None:
    # the vectorised Newton fits against statsmodels, fold by fold, on two replications
    data = pl.simulate.simulate_confounded_replications(600, 2, rng=40)
    x = np.stack([data["x1"], data["x2"], data["x3"]], -1)
    w, y = data["treatment"].astype(float), data["outcome"].astype(float)
    dr = bd.batch_estimate_dr(x, x, w, y, propensity_clip=0.0)
    ipw = bd.batch_estimate_ipw_estimated_propensity(x, w, y, propensity_clip=0.0)
    fold = np.arange(600) * 2 // 600
    for r in range(2):
        design = sm.add_constant(x[r])
        e, m1, m0 = np.empty(600), np.empty(600), np.empty(600)
        for f in (0, 1):
            train, test = fold != f, fold == f
            e[test] = sm.Logit(w[r, train], design[train]).fit(disp=0).predict(design[test])
            for arm, target in ((1, m1), (0, m0)):
                rows = train & (w[r] == arm)
                target[test] = sm.Logit(y[r, rows], design[rows]).fit(disp=0).predict(design[test])
        score = m1 - m0 + w[r] * (y[r] - m1) / e - (1 - w[r]) * (y[r] - m0) / (1 - e)
        assert dr[r].estimate == pytest.approx(score.mean(), rel=1e-6)
        assert dr[r].se == pytest.approx(score.std(ddof=1) / np.sqrt(600), rel=1e-6)
        hajek = np.sum(w[r] * y[r] / e) / np.sum(w[r] / e) - np.sum(
            (1 - w[r]) * y[r] / (1 - e)
        ) / np.sum((1 - w[r]) / (1 - e))
        assert ipw[r].estimate == pytest.approx(hajek, rel=1e-6)


def test_repeated_batched_fits_are_reused_and_blocks_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = pl.simulate.simulate_confounded_replications(600, 6, rng=41)
    x = np.stack([data["x1"], data["x2"], data["x3"]], -1)
    w, y = data["treatment"].astype(float), data["outcome"].astype(float)
    first = bd.batch_estimate_dr(x, x, w, y).to_frame()
    assert len(confounded._FIT_CACHE) > 0
    confounded._FIT_CACHE.clear()
    refitted = bd.batch_estimate_dr(x, x, w, y).to_frame()
    pd_testing.assert_frame_equal(first, refitted)
    # a changed input is a new fit, never a stale one
    y_changed = y.copy()
    y_changed[2, :10] = 1 - y_changed[2, :10]
    changed = bd.batch_estimate_dr(x, x, w, y_changed).to_frame()
    assert changed["estimate"].iloc[2] != first["estimate"].iloc[2]
    confounded._FIT_CACHE.clear()
    pd_testing.assert_frame_equal(changed, bd.batch_estimate_dr(x, x, w, y_changed).to_frame())
    # one replication per block gives the same numbers as the default blocks
    run = bd.simulate_thompson_sampling(
        [0.2, 0.25], 500, n_reps=7, batch_size=50, record_propensities=True, rng=42
    )
    methods = ("naive difference", "ipw", "snipw", "aipw", "adaptive aipw", "ipw block bootstrap")

    def all_methods() -> list:
        effects = [
            bd.batch_estimate_effects(
                run.arms,
                run.rewards,
                run.propensities,
                method=method,
                block_length=25,
                n_boot=50,
                rng=43,
            ).to_frame()
            for method in methods
        ]
        return [*effects, bd.batch_estimate_ipw_estimated_propensity(x, w, y).to_frame()]

    default = all_methods()
    confounded._FIT_CACHE.clear()
    monkeypatch.setattr(checks_module, "BLOCK_CELLS", 1)
    for blocked, unblocked in zip(all_methods(), default, strict=True):
        pd_testing.assert_frame_equal(blocked, unblocked, rtol=1e-12)


def test_sklearn_recipes_on_one_confounded_log() -> None:
    truth = pl.simulate.compute_confounded_true_ate()
    data = pl.simulate.simulate_confounded_logs(20_000, rng=17)
    columns = ["x1", "x2", "x3", "x2_squared"]
    dr = bd.estimate_cross_fitted_dr(data, covariates=columns, rng=18)
    ipw = bd.estimate_ipw_estimated_propensity(data, covariates=columns)
    assert dr.ci_low < truth < dr.ci_high
    assert ipw.ci_low < truth < ipw.ci_high
    assert dr.se < ipw.se
    with pytest.raises(ValueError, match="missing"):
        bd.estimate_cross_fitted_dr(data, covariates=["nope"])
    bad = data.assign(treatment=data["treatment"] * 2)
    with pytest.raises(ValueError, match="treatment"):
        bd.estimate_ipw_estimated_propensity(bad, covariates=columns)


# --------------------------------------------------------------------------- off-policy
def test_off_policy_estimators_unbiased_against_on_policy_truth() -> None:
    env = pl.simulate.simulate_contextual_environment(rng=19)
    rng = np.random.default_rng(20)
    theta_log, theta_new = env.perturbed_theta(0.5, rng), env.perturbed_theta(0.25, rng)
    data = pl.simulate.simulate_contextual_logs(
        env, 3000, logging_theta=theta_log, n_reps=300, rng=21
    )
    target = env.greedy_policy(data["contexts"], theta_new)
    predictions = env.reward_probabilities(data["contexts"], theta_new)
    truth = (target * data["reward_probabilities"]).sum(-1).mean(-1)
    values = {
        method: bd.batch_estimate_policy_value(
            data["arms"],
            data["rewards"],
            data["logging_propensities"],
            target,
            reward_predictions=predictions,
            method=method,
        )
        for method in ("ipw", "snipw", "dr")
    }
    for method, table in values.items():
        bias = table.bias(truth)
        assert abs(bias.estimate) < 3 * bias.se, method
    # the single-log estimate agrees with the batch
    for method, table in values.items():
        one = bd.estimate_policy_value(
            data["arms"][0],
            data["rewards"][0],
            data["logging_propensities"][0],
            target[0],
            reward_predictions=predictions[0],
            method=method,
        )
        assert (one.estimate, one.se) == pytest.approx((table[0].estimate, table[0].se))
    # evaluating the logging policy itself: IPW weights are 1, the value is the mean reward
    same = bd.estimate_policy_value(
        data["arms"][0],
        data["rewards"][0],
        data["logging_propensities"][0],
        data["logging_propensities"][0],
        method="ipw",
    )
    assert same.estimate == pytest.approx(data["rewards"][0].mean())


# --------------------------------------------------------------------------- contextual
def test_linucb_with_sherman_morrison_matches_a_direct_inverse() -> None:
    env = pl.simulate.simulate_contextual_environment(n_arms=3, n_features=4, rng=22)
    run = bd.simulate_contextual_bandit(env, 300, policy="linucb", exploration=0.8, rng=23)
    # reference: same random stream (contexts and reward uniforms drawn for a block of
    # rounds at a time), explicit inverse of A = I + sum x x', b = sum r x
    rng = np.random.default_rng(23)
    a = np.stack([np.eye(4)] * 3)
    b = np.zeros((3, 4))
    arms = []
    for t in range(300):
        if t % _CONTEXT_BLOCK == 0:
            size = min(_CONTEXT_BLOCK, 300 - t)
            contexts, uniforms = env.sample_contexts(size, rng), rng.random(size)
        x, uniform = contexts[t % _CONTEXT_BLOCK], uniforms[t % _CONTEXT_BLOCK]
        p = env.reward_probabilities(x)
        scores = []
        for arm in range(3):
            inverse = np.linalg.inv(a[arm])
            scores.append(x @ inverse @ b[arm] + 0.8 * np.sqrt(x @ inverse @ x))
        arm = int(np.argmax(scores))
        reward = uniform < p[arm]
        a[arm] += np.outer(x, x)
        b[arm] += reward * x
        arms.append(arm)
    assert np.array_equal(run.arms[0], arms)


def test_contextual_policies_beat_context_free_thompson() -> None:
    env = pl.simulate.simulate_contextual_environment(rng=24)
    rewards = {
        policy: bd.simulate_contextual_bandit(
            env, 2000, policy=policy, n_reps=40, exploration=0.5, rng=25
        ).mean_reward()
        for policy in ("thompson", "linucb", "linear_thompson")
    }
    assert rewards["linucb"] > rewards["thompson"] + 0.03
    assert rewards["linear_thompson"] > rewards["thompson"] + 0.03


def test_simulators_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="n_arms"):
        logs_module.simulate_contextual_environment(n_arms=1)


# --------------------------------------------------------------------------- contract fixes
def _beta_superiority_by_quad(aa: float, ba: float, ab: float, bb: float) -> float:
    """Reference P(B > A) = int f_A (1 - F_B) by adaptive quadrature in log x and log(1-x)."""
    from scipy import special

    c = special.betaln(aa, ba)

    def low(s: float) -> float:  # x = e^s on (0, 1/2]
        x = np.exp(s)
        return np.exp(aa * s + (ba - 1) * np.log1p(-x) - c) * special.betainc(bb, ab, 1 - x)

    def high(r: float) -> float:  # 1 - x = e^r on [1/2, 1)
        y = np.exp(r)
        return np.exp((aa - 1) * np.log1p(-y) + ba * r - c) * special.betainc(bb, ab, y)

    total = 0.0
    start = -80 / min(aa, ba, ab, bb)
    with warnings.catch_warnings():
        # QUADPACK flags round-off on panels where the integrand is ~1e-300; the reference
        # is judged by its agreement with the package to 1e-8, not by QUADPACK's estimate
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for fun in (low, high):
            edges = np.linspace(start, np.log(0.5), 41)
            total += sum(
                integrate.quad(fun, a, b, epsabs=1e-13, epsrel=1e-10, limit=500)[0]
                for a, b in zip(edges[:-1], edges[1:], strict=True)
            )
    return total


def test_quadrature_is_accurate_for_beta_parameters_below_one() -> None:
    # the 40-node rule erred by up to 0.03 here (endpoint singularity of x^(a-1))
    rng = np.random.default_rng(20261202)
    params = rng.uniform(0.3, 1.0, size=(40, 4))
    params[:10, 1] += rng.integers(1, 300, 10)  # a few observations on one arm
    params[10:15, 3] += rng.integers(1000, 50_000, 5)  # a concentrated posterior
    got = bd.compute_beta_superiority_probability(*params.T)
    reference = np.array([_beta_superiority_by_quad(*row) for row in params])
    assert np.max(np.abs(got - reference)) < 1e-8
    # the Jeffreys-prior example of the report: Beta(0.5, 0.5) against Beta(1.5, 0.5)
    jeffreys = bd.compute_thompson_propensities(np.array([0.5, 1.5]), np.array([0.5, 0.5]))
    assert jeffreys[1] == pytest.approx(_beta_superiority_by_quad(0.5, 0.5, 1.5, 0.5), abs=1e-9)


def test_quadrature_is_accurate_for_non_integer_parameters_below_four() -> None:
    rng = np.random.default_rng(3)
    params = rng.uniform(1.0, 4.0, size=(20, 4))
    params[:8, 0] += rng.integers(1, 2000, 8)
    got = bd.compute_beta_superiority_probability(*params.T)
    reference = np.array([_beta_superiority_by_quad(*row) for row in params])
    assert np.max(np.abs(got - reference)) < 1e-9


def test_k_arm_propensities_match_adaptive_quadrature() -> None:
    # the composite rule for k >= 3 arms against QUADPACK on each arm's integral
    # int f_j prod_{l != j} F_l, split at every posterior's mean +/- 1, 3, 8 and 20 sd, in
    # the regimes a bandit meets: few plays, close arms with many plays, spread arms
    rng = np.random.default_rng(30)
    rows = []
    for k, plays, low, high in (
        (3, (0, 30), 0.05, 0.9),
        (4, (100, 5_000), 0.10, 0.13),
        (5, (100, 5_000), 0.01, 0.6),
        (6, (0, 20_000), 0.01, 0.3),
    ):
        for _ in range(3):
            n = rng.integers(*plays, size=k)
            wins = rng.binomial(n, rng.uniform(low, high, size=k))
            rows.append((1.0 + wins, 1.0 + n - wins))
    from scipy import special

    def integrand(x: float, alpha: np.ndarray, beta: np.ndarray, j: int) -> float:
        log_density = (
            (alpha[j] - 1) * np.log(x)
            + (beta[j] - 1) * np.log1p(-x)
            - special.betaln(alpha[j], beta[j])
        )
        cdf = special.betainc(alpha, beta, x)
        return float(np.exp(log_density) * np.prod(np.delete(cdf, j)))

    for alpha, beta in rows:
        mean = alpha / (alpha + beta)
        sd = np.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1)))
        offsets = np.array([-20, -8, -3, -1, 0, 1, 3, 8, 20])
        edges = np.clip((mean[:, None] + sd[:, None] * offsets).ravel(), 1e-300, 1 - 1e-16)
        edges = np.unique(np.r_[1e-300, edges, 1 - 1e-16])
        reference = [
            sum(
                integrate.quad(integrand, a, b, args=(alpha, beta, j), epsabs=1e-14, epsrel=1e-12)[
                    0
                ]
                for a, b in zip(edges[:-1], edges[1:], strict=True)
            )
            for j in range(len(alpha))
        ]
        got = bd.compute_thompson_propensities(alpha, beta)
        np.testing.assert_allclose(got, reference, rtol=0, atol=1e-10)


def test_three_arm_propensities_with_small_parameters_match_quadrature() -> None:
    from scipy import special

    alpha, beta = np.array([0.5, 0.7, 3.5]), np.array([0.5, 2.3, 10.5])

    def others(x: float, one_minus_x: float, j: int) -> float:
        return np.prod(
            [
                special.betainc(alpha[m], beta[m], x)
                if x <= 0.5
                else special.betaincc(beta[m], alpha[m], one_minus_x)
                for m in range(3)
                if m != j
            ]
        )

    def low(s: float, j: int) -> float:  # x = e^s
        x = np.exp(s)
        log_f = alpha[j] * s + (beta[j] - 1) * np.log1p(-x) - special.betaln(alpha[j], beta[j])
        return np.exp(log_f) * others(x, 1 - x, j)

    def high(r: float, j: int) -> float:  # 1 - x = e^r
        y = np.exp(r)
        log_f = (alpha[j] - 1) * np.log1p(-y) + beta[j] * r - special.betaln(alpha[j], beta[j])
        return np.exp(log_f) * others(1 - y, y, j)

    edges = np.linspace(-200.0, np.log(0.5), 61)
    reference = [
        sum(
            integrate.quad(fun, a, b, args=(j,), epsabs=1e-15, epsrel=1e-12)[0]
            for fun in (low, high)
            for a, b in zip(edges[:-1], edges[1:], strict=True)
        )
        for j in range(3)
    ]
    got = bd.compute_thompson_propensities(alpha, beta)
    assert np.max(np.abs(got - np.array(reference))) < 1e-8


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    st.floats(0.3, 1.0),
    st.floats(0.3, 1.0),
    st.floats(0.3, 1.0),
    st.floats(0.3, 1.0),
    st.integers(0, 200),
)
def test_small_parameter_propensities_match_adaptive_quadrature(
    a_a: float, b_a: float, a_b: float, b_b: float, extra: int
) -> None:
    got = bd.compute_beta_superiority_probability(a_a, b_a + extra, a_b, b_b)
    assert got == pytest.approx(_beta_superiority_by_quad(a_a, b_a + extra, a_b, b_b), abs=1e-8)
    backward = bd.compute_beta_superiority_probability(a_b, b_b, a_a, b_a + extra)
    assert got + backward == pytest.approx(1.0, abs=1e-12)


def _log_without_treatment(n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    arms = np.zeros(n, dtype=np.int64)
    rewards = (rng.random(n) < 0.4).astype(float)
    return arms, rewards, np.full(n, 0.5)


def test_an_arm_that_never_appears_raises_instead_of_a_significant_effect() -> None:
    # the treatment arm 1 is never played: IPW used to report its mean as 0 and p = 3e-8
    arms, rewards, chosen = _log_without_treatment()
    every = np.full((len(arms), 2), 0.5)
    calls = [
        lambda: bd.estimate_ipw(arms, rewards, chosen),
        lambda: bd.estimate_snipw(arms, rewards, chosen),
        lambda: bd.estimate_aipw(arms, rewards, chosen),
        lambda: bd.estimate_adaptive_aipw(arms, rewards, every),
        lambda: bd.estimate_naive_difference(arms, rewards),
        lambda: bd.estimate_block_bootstrap(
            arms, rewards, chosen, block_length=10, n_boot=20, rng=1
        ),
        lambda: bd.batch_estimate_effects(
            arms[None], rewards[None], every[None], method="ipw", rng=1
        ),
        lambda: bd.estimate_ipw(arms, rewards, chosen, treatment=0, control=1),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="arms"):
            call()


def test_arms_and_propensities_out_of_range_raise() -> None:
    arms = np.tile([0, 1], 50)
    rewards = np.tile([0.0, 1.0, 1.0, 0.0], 25)
    chosen = np.full(100, 0.5)
    with pytest.raises(ValueError, match="arms"):
        bd.estimate_ipw(np.where(np.arange(100) == 3, 2, arms), rewards, chosen, n_arms=2)
    with pytest.raises(ValueError, match="arms"):
        bd.estimate_aipw(np.where(np.arange(100) == 3, -1, arms), rewards, chosen)
    for bad in (1.5, -0.2, 0.0):
        with pytest.raises(ValueError, match="propensities"):
            bd.estimate_snipw(arms, rewards, np.where(np.arange(100) == 0, bad, chosen))
    with pytest.raises(ValueError, match="propensities"):
        bd.estimate_adaptive_aipw(arms, rewards, np.full((100, 2), 0.4))  # rows sum to 0.8


@pytest.mark.parametrize("clip", [0.5, 0.6, 1.0, -0.1])
def test_propensity_clip_must_leave_a_non_empty_range(clip: float) -> None:
    # a clip of 0.6 or 1 inverted the range [clip, 1 - clip] and gave NaN or a number
    frame = pl.simulate.simulate_confounded_logs(500, rng=1)
    with pytest.raises(ValueError, match="propensity_clip"):
        bd.estimate_cross_fitted_dr(frame, propensity_clip=clip, rng=1)
    with pytest.raises(ValueError, match="propensity_clip"):
        bd.estimate_ipw_estimated_propensity(frame, propensity_clip=clip)
    arrays = pl.simulate.simulate_confounded_replications(200, 2, rng=2)
    x = np.stack([arrays["x1"], arrays["x2"], arrays["x3"]], -1)
    with pytest.raises(ValueError, match="propensity_clip"):
        bd.batch_estimate_dr(x, x, arrays["treatment"], arrays["outcome"], propensity_clip=clip)
    with pytest.raises(ValueError, match="propensity_clip"):
        bd.batch_estimate_ipw_estimated_propensity(
            x, arrays["treatment"], arrays["outcome"], propensity_clip=clip
        )
    arms = np.tile([0, 1], 20)
    with pytest.raises(ValueError, match="propensity_clip"):
        bd.estimate_ipw(arms, np.ones(40), np.full(40, 0.5), propensity_clip=clip)


def test_rng_lengths_strings_and_sizes_are_validated() -> None:
    for bad_rng in ("seed", 1.5, -1):
        with pytest.raises(ValueError, match="rng"):
            bd.simulate_thompson_sampling([0.2, 0.3], 10, rng=bad_rng)
        with pytest.raises(ValueError, match="rng"):
            bd.compute_thompson_propensities(
                np.array([1.0, 2.0]), np.array([3.0, 4.0]), method="monte_carlo", rng=bad_rng
            )
        with pytest.raises(ValueError, match="rng"):
            bd.compute_block_bootstrap_means(np.ones(10), 2, rng=bad_rng)
    arms, rewards, chosen = np.tile([0, 1], 10), np.ones(20), np.full(20, 0.5)
    with pytest.raises(ValueError, match="rewards"):
        bd.estimate_ipw(arms, rewards[:-1], chosen)
    with pytest.raises(ValueError, match="propensities"):
        bd.estimate_snipw(arms, rewards, chosen[:-1])
    with pytest.raises(ValueError, match="rewards"):
        bd.estimate_aipw(arms, np.array(["1"] * 20), chosen)
    with pytest.raises(ValueError, match="arms"):
        bd.estimate_ipw(np.array(["0", "1"] * 10), rewards, chosen)
    with pytest.raises(ValueError, match="prior_alpha"):
        bd.simulate_thompson_sampling([0.2, 0.3], 10, prior_alpha="1")
    with pytest.raises(ValueError, match="top_two"):
        bd.simulate_thompson_sampling([0.2, 0.3], 10, top_two="yes")
    with pytest.raises(ValueError, match="n_rounds"):
        bd.simulate_thompson_sampling([0.2, 0.3], 2.5)
    with pytest.raises(ValueError, match="n_reps"):
        bd.simulate_thompson_sampling([0.2, 0.3], 10**6, n_reps=10**6)
    environment = pl.simulate.simulate_contextual_environment(rng=1)
    with pytest.raises(ValueError, match="n_reps"):
        bd.simulate_contextual_bandit(environment, 10, n_reps=0)
    with pytest.raises(ValueError, match="environment"):
        bd.simulate_contextual_bandit("world", 10)
    with pytest.raises(ValueError, match="rng"):
        bd.simulate_contextual_bandit(environment, 10, rng="seed")


def test_zero_variance_log_gives_a_point_interval() -> None:
    # every reward 0: the IPW scores are all 0, so the estimate is 0 with se 0 (p = 1)
    arms = np.tile([0, 1], 20)
    result = bd.estimate_ipw(arms, np.zeros(40), np.full(40, 0.5))
    assert (result.estimate, result.se, result.ci_low, result.ci_high) == (0, 0, 0, 0)
    assert result.p_value == 1.0


def _random_log(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p_one = rng.uniform(0.2, 0.8, n)
    arms = (rng.random(n) < p_one).astype(np.int64)
    arms[:2] = [0, 1]
    rewards = rng.normal(1.0 + 0.3 * arms, 1.0)
    return arms, rewards, np.column_stack([1 - p_one, p_one])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.floats(0.01, 100.0))
def test_scaling_rewards_scales_estimate_and_se(seed: int, scale: float) -> None:
    arms, rewards, every = _random_log(seed)
    chosen = every[np.arange(len(arms)), arms]
    predictions = np.column_stack([np.full(len(arms), 0.9), np.full(len(arms), 1.2)])
    pairs = [
        (bd.estimate_ipw(arms, rewards, chosen), bd.estimate_ipw(arms, scale * rewards, chosen)),
        (
            bd.estimate_snipw(arms, rewards, chosen),
            bd.estimate_snipw(arms, scale * rewards, chosen),
        ),
        (
            bd.estimate_aipw(arms, rewards, chosen, outcome_predictions=predictions),
            bd.estimate_aipw(
                arms, scale * rewards, chosen, outcome_predictions=scale * predictions
            ),
        ),
        (
            bd.estimate_adaptive_aipw(arms, rewards, every, outcome_predictions=predictions),
            bd.estimate_adaptive_aipw(
                arms, scale * rewards, every, outcome_predictions=scale * predictions
            ),
        ),
        (
            bd.estimate_naive_difference(arms, rewards),
            bd.estimate_naive_difference(arms, scale * rewards),
        ),
    ]
    for base, scaled in pairs:
        assert scaled.estimate == pytest.approx(scale * base.estimate, rel=1e-9, abs=1e-12)
        assert scaled.se == pytest.approx(scale * base.se, rel=1e-9)
        assert scaled.p_value == pytest.approx(base.p_value, rel=1e-6, abs=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 10_000))
def test_swapping_arms_flips_the_interval(seed: int) -> None:
    arms, rewards, every = _random_log(seed)
    chosen = every[np.arange(len(arms)), arms]
    for estimator in (bd.estimate_ipw, bd.estimate_snipw):
        forward = estimator(arms, rewards, chosen)
        backward = estimator(arms, rewards, chosen, treatment=0, control=1)
        assert backward.estimate == pytest.approx(-forward.estimate, abs=1e-12)
        assert backward.ci_low == pytest.approx(-forward.ci_high, abs=1e-12)
        assert backward.ci_high == pytest.approx(-forward.ci_low, abs=1e-12)
    forward = bd.estimate_adaptive_aipw(arms, rewards, every)
    backward = bd.estimate_adaptive_aipw(arms, rewards, every, treatment=0, control=1)
    assert backward.ci_low == pytest.approx(-forward.ci_high, abs=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.floats(-50, 50))
def test_shifting_rewards_keeps_the_snipw_and_naive_difference(seed: int, shift: float) -> None:
    arms, rewards, every = _random_log(seed)
    chosen = every[np.arange(len(arms)), arms]
    for estimator in (bd.estimate_snipw, lambda a, r, p: bd.estimate_naive_difference(a, r)):
        base, shifted = estimator(arms, rewards, chosen), estimator(arms, rewards + shift, chosen)
        assert shifted.estimate == pytest.approx(base.estimate, abs=1e-9)
        assert shifted.se == pytest.approx(base.se, rel=1e-6)
