"""The anytime-valid confidence sequence of playbook_lib.bandits, and the coverage of the
normal intervals on no-floor Thompson-sampling logs that motivates it.

References: the bounds are checked against a root found by scipy's brentq on a wealth
process written out round by round; the time-uniform coverage of the confidence sequence
and the fixed-time coverage of the normal IPW / SNIPW / AIPW intervals are calibrated by
Monte Carlo on Thompson-sampling logs without an exploration floor (close arms, 10% vs
11%, 4,000 rounds in batches of 100, as in the chapter), with their binomial standard
errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from playbook_lib import bandits as bd

CLOSE_MEANS = np.array([0.10, 0.11])


@pytest.fixture(scope="module")
def no_floor_logs() -> bd.BanditRun:
    """1,500 no-floor Thompson-sampling logs of the chapter's close-arms design."""
    return bd.simulate_thompson_sampling(
        CLOSE_MEANS, 4_000, n_reps=1_500, batch_size=100, record_propensities=True, rng=2026
    )


def _reference_lower_bound(values: np.ndarray, alpha: float) -> float:
    """The betting lower bound written out round by round: plug-in bets from the running
    mean and variance (started at 1/2 and 1/4) before each round, capped at 1/2, then the
    root in m of sum log(1 + bet (x - m)) = log(1/alpha) by brentq."""
    bets, total, squares = [], 0.0, 0.0
    for t, value in enumerate(values, start=1):
        variance_before = (0.25 + squares) / t
        bets.append(
            min(math.sqrt(2 * math.log(1 / alpha) / (variance_before * t * math.log(1 + t))), 0.5)
        )
        total += value
        running_mean = (0.5 + total) / (t + 1)
        squares += (value - running_mean) ** 2
    bets_ = np.array(bets)

    def log_wealth(m: float) -> float:
        return float(np.log1p(bets_ * (values - m)).sum() - math.log(1 / alpha))

    if log_wealth(0.0) < 0:
        return 0.0
    return brentq(log_wealth, 0.0, 1.0, xtol=1e-14)


def _reference_bets(values: np.ndarray, alpha: float) -> np.ndarray:
    """The plug-in bets of :func:`_reference_lower_bound`, vectorised over rows."""
    t = np.arange(1, values.shape[-1] + 1)
    running_mean = (0.5 + np.cumsum(values, -1)) / (t + 1)
    squares = np.cumsum((values - running_mean) ** 2, -1)
    before = (0.25 + np.concatenate([np.zeros((len(values), 1)), squares[:, :-1]], -1)) / t
    return np.minimum(np.sqrt(2 * np.log(1 / alpha) / (before * t * np.log1p(t))), 0.5)


@pytest.mark.parametrize("alpha", [0.2, 0.9])
def test_exact_time_uniform_coverage_of_an_adaptive_design(alpha: float) -> None:
    # every one of the 4^8 histories of an 8-round log (arm and 0/1 reward per round) with
    # its exact probability under an adaptive design: arm 1 gets 0.8 of the traffic while
    # it has more past successes than arm 0, 0.2 while fewer, 0.5 on a tie; arm means 0.3
    # and 0.6. Ville's inequality: the four bets at their truths stay below 4 / alpha at
    # every round with probability at least 1 - alpha, exactly, not just in the limit.
    n, means = 8, np.array([0.3, 0.6])
    codes = (np.arange(4**n)[:, None] // 4 ** np.arange(n)) % 4
    arms, rewards = codes // 2, (codes % 2).astype(float)
    wins_before = [np.cumsum((arms == a) * rewards, 1) - (arms == a) * rewards for a in (0, 1)]
    share_1 = np.where(
        wins_before[1] > wins_before[0], 0.8, np.where(wins_before[1] < wins_before[0], 0.2, 0.5)
    )
    chosen = np.where(arms == 1, share_1, 1 - share_1)
    probability = (chosen * np.where(rewards == 1, means[arms], 1 - means[arms])).prod(1)
    assert probability.sum() == pytest.approx(1.0)
    missed = np.zeros(len(codes), dtype=bool)
    for arm in (0, 1):
        weight = (arms == arm) / chosen
        for values, truth in (
            (weight * rewards, means[arm]),
            (weight * (1 - rewards), 1 - means[arm]),
        ):
            bets = _reference_bets(values, alpha / 4)
            wealth = np.cumsum(np.log1p(bets * (values - truth)), -1)
            missed |= wealth.max(-1) >= np.log(4 / alpha)
    exact_miss = float((probability * missed).sum())
    assert 0 < exact_miss <= alpha
    # the same histories, counted by the package where both arms were played (it refuses
    # a log without one of them; there the absent arm's bets never win)
    both = ((arms == 0).any(1)) & ((arms == 1).any(1))
    rows = np.flatnonzero(both)[:2_000]
    coverage = bd.compute_confidence_sequence_coverage(
        arms[rows], rewards[rows], chosen[rows], means, alpha=alpha
    )
    assert coverage.estimate == pytest.approx(1 - missed[rows].mean(), abs=1e-12)


def test_bounds_are_the_roots_of_the_wealth_processes() -> None:
    run = bd.simulate_thompson_sampling(
        CLOSE_MEANS, 600, batch_size=50, record_propensities=True, rng=7
    )
    arms, rewards = run.arms[0].astype(int), run.rewards[0].astype(float)
    chosen = run.chosen_propensities()[0]
    result = bd.estimate_ipw_confidence_sequence(arms, rewards, run.propensities[0], alpha=0.1)
    for arm, name in ((1, "treatment"), (0, "control")):
        weight = (arms == arm) / chosen
        low = _reference_lower_bound(weight * rewards, 0.1 / 4)
        high = 1 - _reference_lower_bound(weight * (1 - rewards), 0.1 / 4)
        assert result.details[f"{name}_low"] == pytest.approx(low, abs=1e-10)
        assert result.details[f"{name}_high"] == pytest.approx(high, abs=1e-10)
    assert result.ci_low == pytest.approx(
        result.details["treatment_low"] - result.details["control_high"]
    )
    assert result.ci_high == pytest.approx(
        result.details["treatment_high"] - result.details["control_low"]
    )
    # the path at its last round, before intersecting, is the same interval; intersecting
    # over earlier rounds can only narrow it
    path = bd.compute_confidence_sequence(arms, rewards, chosen, alpha=0.1)
    assert path["round"].iloc[-1] == 600
    assert path["ci_low"].iloc[-1] >= result.ci_low - 1e-12
    assert path["ci_high"].iloc[-1] <= result.ci_high + 1e-12
    assert np.all(np.diff(path["ci_high"] - path["ci_low"]) <= 1e-12)


def test_truth_check_agrees_with_the_bounds_at_every_round() -> None:
    # at alpha = 0.6 every one-sided bound fails often, so the comparison has teeth: the
    # share from the wealth at the truth must equal the share of logs whose arm bounds,
    # computed at every round, always contain the arm means
    run = bd.simulate_thompson_sampling(
        CLOSE_MEANS, 200, n_reps=20, batch_size=20, record_propensities=True, rng=11
    )
    coverage = bd.compute_confidence_sequence_coverage(
        run.arms, run.rewards, run.propensities, CLOSE_MEANS, alpha=0.6
    )
    rounds = np.arange(1, 201)
    inside = []
    for rep in range(20):
        path = bd.compute_confidence_sequence(
            run.arms[rep], run.rewards[rep], run.propensities[rep], alpha=0.6, rounds=rounds
        )
        last = path.iloc[-1]  # intersected bounds: they contain the truth at every round
        inside.append(
            last["treatment_low"] <= CLOSE_MEANS[1] <= last["treatment_high"]
            and last["control_low"] <= CLOSE_MEANS[0] <= last["control_high"]
        )
    assert coverage.estimate == pytest.approx(np.mean(inside), abs=1e-12)
    assert 0.1 < coverage.estimate < 0.9


def test_confidence_sequence_covers_at_every_round_without_a_floor(
    no_floor_logs: bd.BanditRun,
) -> None:
    # time-uniform coverage over all 4,000 rounds, at least nominal minus three Monte Carlo
    # standard errors (it is conservative: about 0.97 in both designs)
    first = slice(0, 500)
    close = bd.compute_confidence_sequence_coverage(
        no_floor_logs.arms[first],
        no_floor_logs.rewards[first],
        no_floor_logs.propensities[first],
        CLOSE_MEANS,
    )
    assert close.estimate > 0.95 - 3 * close.details["nominal_se"]
    winner_means = np.array([0.10, 0.20])
    winner = bd.simulate_thompson_sampling(
        winner_means, 4_000, n_reps=500, batch_size=100, record_propensities=True, rng=2027
    )
    clear = bd.compute_confidence_sequence_coverage(
        winner.arms, winner.rewards, winner.propensities, winner_means
    )
    assert clear.estimate > 0.95 - 3 * clear.details["nominal_se"]
    # the check can fail: claimed arm means 0.10 and 0.15 are rejected in most logs
    wrong = bd.compute_confidence_sequence_coverage(
        winner.arms[:100], winner.rewards[:100], winner.propensities[:100], np.array([0.10, 0.15])
    )
    assert wrong.estimate < 0.5


def test_normal_intervals_cover_92_to_93_percent_without_a_floor(
    no_floor_logs: bd.BanditRun,
) -> None:
    # close arms, no floor: IPW, SNIPW and AIPW cover 0.918, 0.924 and 0.924 over 10,000
    # replications (Monte Carlo se 0.003); on these 1,500 (se 0.007) each lies in
    # (0.88, 0.945), more than three standard errors from either end
    for method in ("ipw", "snipw", "aipw"):
        effects = bd.batch_estimate_effects(
            no_floor_logs.arms, no_floor_logs.rewards, no_floor_logs.propensities, method=method
        )
        coverage = effects.coverage(0.01).estimate
        assert 0.88 < coverage < 0.945, (method, coverage)
