"""Tests for playbook_lib.uplift: meta-learners, Qini curves, uplift at k and the value of
a targeting policy, on simulated randomised tests with a known individual effect.

References: explicit-loop reference implementations (Qini curve), hand computation (uplift
at k), on-policy truth from the simulator, and seeded Monte Carlo checks with tolerances
from the Monte Carlo standard error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression

import playbook_lib as pl
from playbook_lib import uplift


@pytest.fixture(scope="module")
def uplift_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = pl.simulate.simulate_uplift_data(40_000, rng=26)
    return data.iloc[:20_000], data.iloc[20_000:]


FEATURES = ["x1", "x2", "x3", "x4", "x5"]


def test_meta_learners_recover_the_cate_on_a_holdout(uplift_split) -> None:
    train, test = uplift_split
    for learner in ("s", "t", "x"):
        model = uplift.fit_meta_learner(
            train[FEATURES], train["treatment"], train["conversion"], learner=learner, n_threads=1
        )
        predicted = model.predict(test[FEATURES])
        assert np.corrcoef(predicted, test["true_cate"])[0, 1] > 0.6, learner
    # an S-learner with an additive linear model cannot express heterogeneity
    linear = uplift.fit_meta_learner(
        train[FEATURES],
        train["treatment"],
        train["conversion"],
        learner="s",
        base_estimator=LinearRegression(),
        n_threads=1,
    )
    assert np.ptp(linear.predict(test[FEATURES])) < 1e-12


def _qini_by_loop(score, treatment, outcome):
    order = np.argsort(-score, kind="stable")
    values = [0.0]
    y_t = y_c = n_t = n_c = 0.0
    for i in order:
        if treatment[i] == 1:
            y_t += outcome[i]
            n_t += 1
        else:
            y_c += outcome[i]
            n_c += 1
        values.append((y_t - y_c * n_t / n_c if n_c > 0 else 0.0) / len(score))
    return np.array(values)


def test_qini_curve_matches_a_loop_and_orders_oracle_random_anti(uplift_split) -> None:
    _, test = uplift_split
    w, y, tau = (
        test["treatment"].to_numpy(),
        test["conversion"].to_numpy(),
        test["true_cate"].to_numpy(),
    )
    small = slice(0, 300)
    curve = uplift.compute_qini_curve(tau[small], w[small], y[small])
    assert np.allclose(curve["qini"], _qini_by_loop(tau[small], w[small], y[small]))
    oracle = uplift.compute_qini_coefficient(tau, w, y)
    anti = uplift.compute_qini_coefficient(-tau, w, y)
    random_score = uplift.compute_qini_coefficient(np.random.default_rng(27).random(len(tau)), w, y)
    assert oracle > abs(random_score) * 3
    assert anti < -abs(random_score) * 3


def test_uplift_at_k_and_policy_value(uplift_split) -> None:
    _, test = uplift_split
    w, y, tau = (
        test["treatment"].to_numpy(),
        test["conversion"].to_numpy(),
        test["true_cate"].to_numpy(),
    )
    top = np.argsort(-tau, kind="stable")[:2000]
    by_hand = y[top][w[top] == 1].mean() - y[top][w[top] == 0].mean()
    result = uplift.estimate_uplift_at_k(tau, w, y, 0.1)
    assert result.estimate == pytest.approx(by_hand)
    assert result.ci_low < tau[top].mean() < result.ci_high
    value = uplift.estimate_targeting_policy_value(tau, w, y, 0.3)
    treated = np.zeros(len(tau), bool)
    treated[np.argsort(-tau, kind="stable")[:6000]] = True
    true_value = np.mean(np.where(treated, test["p_treated"], test["p_control"]))
    assert value.ci_low < true_value < value.ci_high


def test_uplift_at_k_standard_error_matches_welch_far_from_zero() -> None:
    # An outcome 1.7e9 +/- 1000 (a timestamp in seconds): a sum of squares would cancel
    # the whole spread away (se 0, p 0); the two-pass moments keep Welch's se.
    rng = np.random.default_rng(0)
    score, w = rng.normal(size=400), rng.integers(0, 2, 400)
    y = 1.7e9 + rng.normal(0.0, 1000.0, 400)
    result = uplift.estimate_uplift_at_k(score, w, y, 1.0)
    reference = stats.ttest_ind(y[w == 1], y[w == 0], equal_var=False)
    assert result.se == pytest.approx(
        (y[w == 1].mean() - y[w == 0].mean()) / reference.statistic, rel=1e-6
    )
    assert result.se == pytest.approx(uplift.estimate_uplift_at_k(score, w, y - 1.7e9, 1.0).se)


def test_tied_scores_do_not_let_the_row_order_decide() -> None:
    # A constant score ranks nobody ahead: its Qini curve is the random-targeting line
    # (coefficient 0), in any row order. A binary score's curve is order-free too; a cut
    # through its ties warns, since which tied units count as targeted is then arbitrary.
    data = pl.simulate.simulate_uplift_data(3000, rng=9)
    w, y = data["treatment"].to_numpy(), data["conversion"].to_numpy()
    binary = (data["x1"].to_numpy() > 0).astype(float)
    shuffle = np.random.default_rng(1).permutation(3000)
    for score in (np.zeros(3000), binary):
        curve = uplift.compute_qini_curve(score, w, y)
        again = uplift.compute_qini_curve(score[shuffle], w[shuffle], y[shuffle])
        np.testing.assert_allclose(curve["qini"], again["qini"], rtol=1e-12, atol=1e-15)
    constant = uplift.compute_qini_curve(np.zeros(3000), w, y)
    np.testing.assert_allclose(constant["qini"], constant["random"], atol=1e-15)
    assert uplift.compute_qini_coefficient(np.zeros(3000), w, y) == pytest.approx(0, abs=1e-15)
    cut = int(binary.sum())  # the treated-by-score block ends exactly here: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", pl.PlaybookWarning)
        uplift.estimate_uplift_at_k(binary, w, y, cut / 3000)
    with pytest.warns(pl.PlaybookWarning, match="same score"):
        uplift.estimate_targeting_policy_value(binary, w, y, 0.7)


def test_policy_value_is_unbiased_over_replications() -> None:
    rng = np.random.default_rng(28)
    errors = []
    for _ in range(60):
        data = pl.simulate.simulate_uplift_data(4000, rng=rng)
        score = data["true_cate"].to_numpy()
        treated = np.zeros(4000, bool)
        treated[np.argsort(-score, kind="stable")[:1200]] = True
        truth = np.mean(np.where(treated, data["p_treated"], data["p_control"]))
        est = uplift.estimate_targeting_policy_value(
            score, data["treatment"], data["conversion"], 0.3
        )
        errors.append(est.estimate - truth)
    errors = np.array(errors)
    assert abs(errors.mean()) < 3 * errors.std() / np.sqrt(len(errors))


def test_meta_learner_is_reproducible_under_any_global_seed() -> None:
    # 12,000 rows: the default gradient boosting turns on early stopping, whose validation
    # split used NumPy's global random state
    data = pl.simulate.simulate_uplift_data(12_000, rng=5)
    x = data[["x1", "x2", "x3", "x4", "x5"]]
    predictions = []
    state = np.random.get_state()  # noqa: NPY002 - the test varies the global state
    for global_seed in (1, 2):
        np.random.seed(global_seed)  # noqa: NPY002
        model = uplift.fit_meta_learner(
            x, data["treatment"], data["conversion"], learner="s", n_threads=1, rng=7
        )
        predictions.append(model.predict(x.iloc[:500]))
    np.random.set_state(state)  # noqa: NPY002
    assert np.array_equal(*predictions)
    assert model.models["outcome"].random_state is not None
    forests = [
        uplift.fit_meta_learner(
            x[:2000],
            data["treatment"][:2000],
            data["conversion"][:2000],
            learner="t",
            base_estimator=RandomForestRegressor(n_estimators=5),
            rng=np.random.default_rng(3),
        )
        for _ in range(2)
    ]
    assert np.array_equal(forests[0].predict(x[:200]), forests[1].predict(x[:200]))
    kept = uplift.fit_meta_learner(
        x[:2000],
        data["treatment"][:2000],
        data["conversion"][:2000],
        base_estimator=RandomForestRegressor(n_estimators=5, random_state=42),
        rng=1,
    )
    assert kept.models["treated"].random_state == 42
    with pytest.raises(ValueError, match="rng"):
        uplift.fit_meta_learner(x, data["treatment"], data["conversion"], rng="seed")


def test_uplift_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="fraction"):
        uplift.estimate_uplift_at_k(np.arange(10.0), np.tile([0, 1], 5), np.ones(10), fraction=0)
    with pytest.raises(ValueError, match="length mismatch"):
        uplift.compute_qini_curve(np.arange(10.0), np.tile([0, 1], 5), np.ones(9))
    with pytest.raises(ValueError, match="fraction"):
        # the top 10% of 20 units holds two units: not two per arm
        uplift.estimate_uplift_at_k(np.arange(20.0), np.tile([0, 1], 10), np.ones(20), 0.1)


def test_uplift_simulator_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="n"):
        pl.simulate.simulate_uplift_data(3)
    with pytest.raises(ValueError, match="treatment_probability"):
        pl.simulate.simulate_uplift_data(100, treatment_probability=1.0)
