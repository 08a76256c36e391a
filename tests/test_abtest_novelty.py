"""Effects by days since exposure, the trend test, and the novelty simulator."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from playbook_lib import abtest
from playbook_lib.simulate import simulate_novelty_experiment


@pytest.fixture(scope="module")
def novelty_test() -> tuple[pd.DataFrame, object]:
    return simulate_novelty_experiment(n_users=1_500, n_days=12, arrival_days=5, rng=11)


def test_simulator_truth_and_layout(novelty_test) -> None:
    data, truth = novelty_test
    expected = 0.2 + 0.6 * np.exp(-np.arange(12) / 4.0)
    np.testing.assert_allclose(truth.effect_by_exposure_day, expected, rtol=1e-12)
    assert truth.long_run_effect == 0.2
    # every user is observed from first exposure to the last day, once a day
    per_user = data.groupby("user_id").agg(
        first=("first_day", "first"), rows=("day", "size"), last=("day", "max")
    )
    assert (per_user["last"] == 11).all()
    assert (per_user["rows"] == 12 - per_user["first"]).all()
    assert (data["day"] - data["first_day"] == data["days_since_exposure"]).all()
    assert not data.duplicated(["user_id", "days_since_exposure"]).any()
    # the observed average effect weights the effect curve by the rows per day
    weights = data["days_since_exposure"].value_counts().sort_index().to_numpy()
    assert math.isclose(truth.observed_average_effect, weights @ expected / weights.sum())
    again, _ = simulate_novelty_experiment(n_users=1_500, n_days=12, arrival_days=5, rng=11)
    pd.testing.assert_frame_equal(data, again)


def test_effects_by_day_are_welch_per_day(novelty_test) -> None:
    data, _ = novelty_test
    table = abtest.exposure_day_effects(data).to_frame()
    assert list(table.index) == list(range(12))
    for day in (0, 5, 11):
        rows = data[data.days_since_exposure == day]
        reference = stats.ttest_ind(
            rows.outcome[rows.treatment == 1], rows.outcome[rows.treatment == 0], equal_var=False
        )
        ci = reference.confidence_interval(0.95)
        assert math.isclose(table.loc[day, "p_value"], reference.pvalue, rel_tol=1e-8)
        assert math.isclose(table.loc[day, "ci_low"], ci.low, rel_tol=1e-8)
        assert math.isclose(table.loc[day, "ci_high"], ci.high, rel_tol=1e-8)
    # days with too few units in an arm are left out
    late = data[(data.days_since_exposure < 11) | (data.user_id < 40)]
    assert abtest.exposure_day_effects(late, min_units=30).to_frame().index.max() == 10


def test_trend_equals_statsmodels_cluster_robust_ols(novelty_test) -> None:
    data, _ = novelty_test
    trend = abtest.estimate_effect_trend(data)
    frame = data.assign(d=data.days_since_exposure - data.days_since_exposure.mean())
    fit = smf.ols("outcome ~ treatment * d", data=frame).fit(
        cov_type="cluster", cov_kwds={"groups": frame.user_id}, use_t=True
    )
    assert math.isclose(trend.estimate, fit.params["treatment:d"], rel_tol=1e-9)
    assert math.isclose(trend.se, fit.bse["treatment:d"], rel_tol=1e-9)
    low, high = fit.conf_int().loc["treatment:d"]
    assert math.isclose(trend.ci_low, low, rel_tol=1e-9)
    assert math.isclose(trend.ci_high, high, rel_tol=1e-9)
    assert math.isclose(trend.p_value, fit.pvalues["treatment:d"], rel_tol=1e-6)
    assert trend.df == data.user_id.nunique() - 1
    assert math.isclose(
        trend.details["effect_at_mean_exposure"], fit.params["treatment"], rel_tol=1e-9
    )
    # string user ids give the same answer
    named = abtest.estimate_effect_trend(data.assign(user_id="u" + data.user_id.astype(str)))
    assert math.isclose(named.se, trend.se, rel_tol=1e-12)


def _cluster_robust_trends(outcome: np.ndarray, treatment: np.ndarray) -> tuple:
    """The trend estimate and its CR1 cluster-robust se for many balanced panels at once.

    ``outcome``: shape (n_sims, n_users, n_days), every user observed on days
    0..n_days-1; ``treatment``: (n_sims, n_users). The same OLS and sandwich as
    statsmodels' ``cov_type="cluster"`` (checked against the package on a few panels).
    """
    n_sims, n_users, n_days = outcome.shape
    centred = np.arange(n_days) - (n_days - 1) / 2
    treated = np.broadcast_to(treatment[:, :, None], outcome.shape).astype(float)
    days = np.broadcast_to(centred, outcome.shape)
    design = np.stack([np.ones(outcome.shape), treated, days, treated * days], axis=-1)
    flat_x = design.reshape(n_sims, -1, 4)
    flat_y = outcome.reshape(n_sims, -1)
    bread = np.linalg.inv(np.einsum("snk,snl->skl", flat_x, flat_x))
    beta = np.einsum("skl,snl,sn->sk", bread, flat_x, flat_y)
    residual = flat_y - np.einsum("snk,sk->sn", flat_x, beta)
    scores = (design * residual.reshape(outcome.shape)[..., None]).sum(axis=2)
    meat = np.einsum("sgk,sgl->skl", scores, scores)
    n = n_users * n_days
    factor = n_users / (n_users - 1) * (n - 1) / (n - 4)
    covariance = factor * bread @ meat @ bread
    return beta[:, 3], np.sqrt(covariance[:, 3, 3])


def test_trend_test_keeps_its_size() -> None:
    """Constant effect (no novelty): the trend test rejects at about 5%. 1,000 panels of
    200 users x 5 days, vectorised (MC s.e. 0.007); the vectorised statistic is the
    package's on the first three panels."""
    rng = np.random.default_rng(2026)
    n_sims, n_users, n_days = 1_000, 200, 5
    outcome, treatment = [], []
    for sim in range(n_sims):
        data, _ = simulate_novelty_experiment(
            n_users=n_users, n_days=n_days, arrival_days=1, novelty_effect=0.0, rng=rng
        )
        outcome.append(data.outcome.to_numpy().reshape(n_users, n_days))
        treatment.append(data.treatment.to_numpy()[::n_days])
        if sim < 3:
            package = abtest.estimate_effect_trend(data)
            estimate, se = _cluster_robust_trends(outcome[-1][None], treatment[-1][None])
            assert math.isclose(package.estimate, estimate[0], rel_tol=1e-9)
            assert math.isclose(package.se, se[0], rel_tol=1e-9)
    estimate, se = _cluster_robust_trends(np.stack(outcome), np.stack(treatment))
    p_values = 2 * stats.t.sf(np.abs(estimate / se), df=n_users - 1)
    size = np.mean(p_values < 0.05)
    assert abs(size - 0.05) < 3 * math.sqrt(0.05 * 0.95 / n_sims), size


def test_trend_detects_novelty_and_primacy() -> None:
    """With 3,000 users the expected z of the slope is about 5; the sign is what matters."""
    novelty, _ = simulate_novelty_experiment(n_users=3_000, n_days=14, rng=5)
    primacy, _ = simulate_novelty_experiment(
        n_users=3_000, n_days=14, long_run_effect=0.4, novelty_effect=-0.4, rng=6
    )
    assert abtest.estimate_effect_trend(novelty).ci_high < 0
    assert abtest.estimate_effect_trend(primacy).ci_low > 0


def test_clustered_regression_equals_statsmodels() -> None:
    rng = np.random.default_rng(3)
    village = np.repeat(np.arange(40), 25)
    treatment = (rng.random(village.size) < 0.5).astype(int)
    outcome = 0.3 * treatment + rng.normal(0, 1, 40)[village] + rng.normal(0, 1, village.size)
    data = pd.DataFrame({"y": outcome, "treatment": treatment, "village": village})
    clustered = abtest.estimate_regression_effect(data, cluster="village")
    fit = smf.ols("y ~ treatment", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": data.village}, use_t=True
    )
    assert clustered.method == "ols cluster" and clustered.details["n_clusters"] == 40
    assert math.isclose(clustered.estimate, fit.params["treatment"], rel_tol=1e-10)
    assert math.isclose(clustered.se, fit.bse["treatment"], rel_tol=1e-10)
    assert math.isclose(clustered.p_value, fit.pvalues["treatment"], rel_tol=1e-8)
    assert clustered.df == 39
    low, high = fit.conf_int().loc["treatment"]
    assert math.isclose(clustered.ci_low, low, rel_tol=1e-10)
    assert math.isclose(clustered.ci_high, high, rel_tol=1e-10)
    # the default (no cluster) is unchanged: HC2
    assert abtest.estimate_regression_effect(data).method == "ols HC2"
