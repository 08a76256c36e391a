"""Tests of playbook_lib.hbm and the creator / geo-delta simulators.

References: scipy.stats (Welch ``ttest_ind``, ``minimize_scalar``), statsmodels'
``combine_effects`` (DerSimonian–Laird tau^2, DerSimonian and Laird 1986), exact Gaussian
conditioning with the full covariance matrix (Gelman et al. 2013, ch. 5), ArviZ (R-hat,
ESS, PSIS-LOO) and posteriordb's eight-schools reference posterior (Magnusson et al. 2024:
means of mu and tau about 4.4 and 3.6). Monte Carlo calibrations are seeded and
vectorised; tolerances are three Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import arviz as az
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

import playbook_lib as pl
from playbook_lib import hbm
from playbook_lib.simulate import simulate_creator_experiments, simulate_geo_deltas


def three_mc_se(p: float, n: int) -> float:
    return 3 * math.sqrt(p * (1 - p) / n)


@pytest.fixture(scope="module")
def creators() -> pd.DataFrame:
    return simulate_creator_experiments(n_genres=5, creators_per_genre=16, rng=5)


@pytest.fixture(scope="module")
def effects(creators: pd.DataFrame) -> pd.DataFrame:
    return hbm.estimate_unit_effects_from_stats(creators, keep=["genre", "region"])


@pytest.fixture(scope="module")
def small_fit(effects: pd.DataFrame) -> hbm.HierarchicalFit:
    # 80 creators in 5 small genres: "auto" non-centres the genre level here.
    return hbm.fit_hierarchical_model(
        effects, draws=1_000, tune=1_000, chains=4, target_accept=0.95, rng=1
    )


# ----------------------------------------------------------------------------- simulators
def test_creator_simulator_is_seeded_and_respects_its_design() -> None:
    first = simulate_creator_experiments(n_genres=4, creators_per_genre=50, rng=3)
    second = simulate_creator_experiments(n_genres=4, creators_per_genre=50, rng=3)
    pd.testing.assert_frame_equal(first, second)
    assert len(first) == 200 and first["creator_id"].is_unique
    assert first["n_users"].between(30, 5_000).all()
    assert (first["n_treatment"] + first["n_control"] == first["n_users"]).all()
    assert first.groupby("genre")["genre_effect"].nunique().eq(1).all()
    # heavy tail: the largest creators are many times the median
    assert first["n_users"].max() > 10 * first["n_users"].median()


def test_creator_simulator_truth_can_be_held_fixed() -> None:
    sims = simulate_creator_experiments(
        n_genres=2, creators_per_genre=10, n_replications=3, redraw_truth=False, rng=1
    )
    per_creator = sims.groupby("creator_id")[["true_effect", "n_users"]].nunique()
    assert (per_creator == 1).all().all()
    assert sims.groupby("creator_id")["mean_treatment"].nunique().eq(3).all()


def test_creator_simulator_matches_its_hyperparameters() -> None:
    sims = simulate_creator_experiments(
        n_genres=5, creators_per_genre=200, genre_sd=0.3, creator_sd=0.4, n_replications=200, rng=2
    )
    within = (sims["true_effect"] - sims["genre_effect"]).std()
    assert abs(within - 0.4) < 0.01
    genre_means = sims.groupby(["replication", "genre"])["genre_effect"].first()
    assert abs(genre_means.std() - 0.3) < 0.02


def test_geo_delta_simulator_se_matches_the_spread_of_deltas() -> None:
    geo = simulate_geo_deltas(
        n_geos=20, n_replications=2_000, baseline_sd=0.0, lift=0.0, trend_per_day=0.0, rng=4
    )
    noise_sd = math.sqrt(250.0**2 / 28 + 250.0**2 / 14)
    assert abs((geo["delta"] - geo["true_delta"]).std() / noise_sd - 1) < 0.02
    assert abs(geo["se"].mean() / noise_sd - 1) < 0.02
    assert (
        geo.groupby("replication")["group"].apply(lambda g: (g == "treatment").sum()) == 10
    ).all()


def test_simulators_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="creator_sd"):
        simulate_creator_experiments(creator_sd=-1.0)
    with pytest.raises(ValueError, match="min_users"):
        simulate_creator_experiments(min_users=2)
    with pytest.raises(ValueError, match="n_geos"):
        simulate_geo_deltas(n_geos=7)


# ----------------------------------------------------------------------------- no pooling
def test_unit_effects_match_scipy_welch() -> None:
    rng = np.random.default_rng(0)
    users = pd.DataFrame(
        {
            "creator_id": np.repeat(["a", "b", "c"], 40),
            "treatment": np.tile(np.r_[np.zeros(15), np.ones(25)], 3).astype(int),
            "y": rng.normal(size=120) * np.repeat([1.0, 2.0, 5.0], 40),
        }
    )
    result = hbm.estimate_unit_effects(users).set_index("creator_id")
    for creator, part in users.groupby("creator_id"):
        treated = part.loc[part["treatment"] == 1, "y"]
        control = part.loc[part["treatment"] == 0, "y"]
        reference = stats.ttest_ind(treated, control, equal_var=False)
        interval = reference.confidence_interval(0.95)
        row = result.loc[creator]
        assert row["estimate"] == pytest.approx(treated.mean() - control.mean())
        assert row["p_value"] == pytest.approx(reference.pvalue)
        assert row["df"] == pytest.approx(reference.df)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((interval.low, interval.high))


def test_no_pooling_swapping_arms_flips_the_sign(creators: pd.DataFrame) -> None:
    swapped = creators.rename(
        columns={
            "n_treatment": "n_control",
            "n_control": "n_treatment",
            "mean_treatment": "mean_control",
            "mean_control": "mean_treatment",
            "sd_treatment": "sd_control",
            "sd_control": "sd_treatment",
        }
    )
    original = hbm.estimate_unit_effects_from_stats(creators)
    flipped = hbm.estimate_unit_effects_from_stats(swapped)
    np.testing.assert_allclose(flipped["estimate"], -original["estimate"])
    np.testing.assert_allclose(flipped["ci_low"], -original["ci_high"])


def test_no_pooling_intervals_are_calibrated() -> None:
    sims = simulate_creator_experiments(
        n_genres=2, creators_per_genre=50, n_replications=200, min_users=30, rng=8
    )
    frame = hbm.estimate_unit_effects_from_stats(sims, keep=["replication"])
    table = hbm.validate_against_truth(frame, sims, on=["replication", "creator_id"])
    assert abs(table.loc["all", "coverage"] - 0.95) < three_mc_se(0.95, len(frame))


def test_to_estimates_returns_estimate_objects(effects: pd.DataFrame) -> None:
    estimates = hbm.to_estimates(effects, "creator_id")
    first = effects.iloc[0]
    estimate = estimates[first["creator_id"]]
    assert isinstance(estimate, pl.Estimate)
    assert estimate.estimate == pytest.approx(first["estimate"])
    assert estimate.details["genre"] == first["genre"]


# ----------------------------------------------------------------------------- tau^2
def test_moments_tau2_equals_statsmodels_dersimonian_laird() -> None:
    rng = np.random.default_rng(1)
    se = rng.uniform(0.2, 1.5, size=30)
    y = 0.3 + rng.normal(0, 1.0, size=30) + se * rng.standard_normal(30)
    reference = combine_effects(y, se**2, method_re="dl")
    assert reference.tau2 > 0  # statsmodels does not truncate at zero; we do
    ours = hbm.estimate_between_variance(y, se, np.zeros(30, dtype=int), method="moments")
    assert ours == pytest.approx(reference.tau2, rel=1e-10)


def test_reml_tau2_equals_a_full_matrix_maximisation() -> None:
    rng = np.random.default_rng(2)
    codes = np.repeat(np.arange(3), 15)
    se = rng.uniform(0.2, 1.5, size=45)
    y = np.array([0.0, 1.0, -0.5])[codes] + rng.normal(0, 0.6, 45) + se * rng.standard_normal(45)
    design = np.eye(3)[codes]

    def negative_restricted_loglik(tau2: float) -> float:
        covariance = np.diag(se**2 + tau2)
        inverse = np.linalg.inv(covariance)
        xtvx = design.T @ inverse @ design
        beta = np.linalg.solve(xtvx, design.T @ inverse @ y)
        resid = y - design @ beta
        return 0.5 * (
            np.linalg.slogdet(covariance)[1] + np.linalg.slogdet(xtvx)[1] + resid @ inverse @ resid
        )

    reference = optimize.minimize_scalar(
        negative_restricted_loglik, bounds=(0, 10), method="bounded", options={"xatol": 1e-10}
    ).x
    ours = hbm.estimate_between_variance(y, se, codes, method="reml")
    assert ours == pytest.approx(reference, rel=1e-5)
    per_group = hbm.estimate_between_variance(y, se, codes, method="reml", per_group=True)
    for g in range(3):
        alone = hbm.estimate_between_variance(
            y[codes == g], se[codes == g], np.zeros(15, dtype=int), method="reml"
        )
        assert per_group[g] == pytest.approx(alone, rel=1e-6, abs=1e-12)


def test_tau2_is_vectorised_over_simulations() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(size=(4, 40))
    se = rng.uniform(0.5, 1.0, size=(4, 40))
    codes = np.repeat(np.arange(2), 20)
    together = hbm.estimate_between_variance(y, se, codes)
    one_by_one = [hbm.estimate_between_variance(y[i], se[i], codes) for i in range(4)]
    np.testing.assert_allclose(together, one_by_one, rtol=1e-10, atol=1e-14)


def test_tau2_is_zero_without_heterogeneity_signal() -> None:
    se = np.ones(10)
    y = np.array([0.1, -0.1, 0.05, -0.05, 0.0, 0.02, -0.02, 0.03, -0.03, 0.0])
    codes = np.zeros(10, dtype=int)
    assert hbm.estimate_between_variance(y, se, codes, method="reml") == 0.0
    assert hbm.estimate_between_variance(y, se, codes, method="moments") == 0.0


# ----------------------------------------------------------------------------- posteriors
def test_normal_normal_posterior_equals_gaussian_conditioning() -> None:
    rng = np.random.default_rng(4)
    codes = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    se = rng.uniform(0.3, 2.0, size=9)
    y = rng.normal(size=9)
    mu, group_sd, unit_sd = 0.2, 0.5, 0.7
    ours = hbm.normal_normal_posterior(
        y, se, codes, unit_sd=unit_sd, group_sd=group_sd, mean_effect=mu
    )
    same_group = (codes[:, None] == codes[None, :]).astype(float)
    prior_cov = group_sd**2 * same_group + unit_sd**2 * np.eye(9)  # Cov(theta)
    data_cov = prior_cov + np.diag(se**2)  # Cov(y)
    gain = prior_cov @ np.linalg.inv(data_cov)
    mean = mu + gain @ (y - mu)
    cov = prior_cov - gain @ prior_cov
    np.testing.assert_allclose(ours["mean"], mean, rtol=1e-10)
    np.testing.assert_allclose(ours["sd"], np.sqrt(np.diag(cov)), rtol=1e-10)


def test_flat_group_prior_is_the_limit_of_a_wide_one() -> None:
    rng = np.random.default_rng(5)
    codes = np.repeat(np.arange(2), 6)
    se, y = rng.uniform(0.3, 1.0, 12), rng.normal(size=12)
    flat = hbm.normal_normal_posterior(y, se, codes, unit_sd=0.4)
    wide = hbm.normal_normal_posterior(y, se, codes, unit_sd=0.4, group_sd=1e6)
    np.testing.assert_allclose(flat["mean"], wide["mean"], rtol=1e-6)
    np.testing.assert_allclose(flat["sd"], wide["sd"], rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.01, 1_000.0), shift=st.floats(-50.0, 50.0))
def test_empirical_bayes_is_scale_and_shift_equivariant(scale: float, shift: float) -> None:
    frame = hbm.estimate_unit_effects_from_stats(
        simulate_creator_experiments(n_genres=3, creators_per_genre=15, rng=6), keep=["genre"]
    )
    base = hbm.estimate_empirical_bayes(frame)
    moved = hbm.estimate_empirical_bayes(
        frame.assign(estimate=scale * frame["estimate"] + shift, se=scale * frame["se"])
    )
    np.testing.assert_allclose(
        moved["estimate"], scale * base["estimate"] + shift, rtol=1e-6, atol=1e-6 * scale
    )
    np.testing.assert_allclose(moved["se"], scale * base["se"], rtol=1e-6)


def test_empirical_and_oracle_bayes_are_calibrated_and_beat_no_pooling() -> None:
    sims = simulate_creator_experiments(
        n_genres=5, creators_per_genre=40, n_replications=150, rng=9
    )
    keys = ["replication", "creator_id"]
    raw = hbm.estimate_unit_effects_from_stats(sims, keep=["replication", "genre"])
    eb = hbm.estimate_empirical_bayes(raw, replication="replication")
    oracle = hbm.estimate_oracle_bayes(
        raw, mean_effect=0.5, group_sd=0.3, unit_sd=0.4, replication="replication"
    )
    tables = {
        name: hbm.validate_against_truth(frame, sims, on=keys, cluster="replication")
        for name, frame in {"raw": raw, "eb": eb, "oracle": oracle}.items()
    }
    for name in ("eb", "oracle"):
        row = tables[name].loc["all"]
        assert abs(row["coverage"] - 0.95) < 3 * row["coverage_mc_se"], (name, row)
        assert row["mse"] < 0.3 * tables["raw"].loc["all", "mse"]
    assert tables["eb"].loc["all", "mse"] < 1.05 * tables["oracle"].loc["all", "mse"]


def test_complete_pooling_uses_precision_weights(effects: pd.DataFrame) -> None:
    pooled = hbm.estimate_complete_pooling(effects).set_index("creator_id")
    for _, part in effects.groupby("genre"):
        weights = 1 / part["se"] ** 2
        expected = np.average(part["estimate"], weights=weights)
        assert pooled.loc[part["creator_id"], "estimate"].to_numpy() == pytest.approx(expected)
        assert pooled.loc[part["creator_id"].iloc[0], "se"] == pytest.approx(weights.sum() ** -0.5)


# ----------------------------------------------------------------------------- validation
def test_validation_merges_on_ids_not_row_order(
    effects: pd.DataFrame, creators: pd.DataFrame
) -> None:
    shuffled = effects.sample(frac=1.0, random_state=3)
    a = hbm.validate_against_truth(effects, creators)
    b = hbm.validate_against_truth(shuffled, creators)
    pd.testing.assert_frame_equal(a, b)
    errors = effects["estimate"] - creators["true_effect"]
    assert a.loc["all", "mse"] == pytest.approx((errors**2).mean())
    with pytest.raises(ValueError, match="on"):
        hbm.validate_against_truth(effects.iloc[1:], creators)


def test_validation_by_size_bins(effects: pd.DataFrame, creators: pd.DataFrame) -> None:
    table = hbm.validate_against_truth(
        effects, creators, by="n_users", bins=[0, 100, np.inf], labels=["small", "large"]
    )
    assert list(table.index) == ["small", "large", "all"]
    assert table.loc[["small", "large"], "n"].sum() == table.loc["all", "n"]


# ----------------------------------------------------------------------------- bad input
def test_bad_input_raises_value_error(effects: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="standard_errors"):
        hbm.estimate_between_variance([1.0, 2.0, 3.0], [1.0, 0.0, 1.0], [0, 0, 0])
    with pytest.raises(ValueError, match="standard_errors"):
        hbm.normal_normal_posterior([1.0, 2.0], [1.0, -1.0], [0, 0], unit_sd=1.0)
    with pytest.raises(ValueError, match="estimates"):
        hbm.estimate_between_variance([1.0, np.nan, 3.0], [1.0, 1.0, 1.0], [0, 0, 0])
    with pytest.raises(ValueError, match="group_codes"):
        hbm.estimate_between_variance([1.0, 2.0, 3.0, 4.0], [1.0] * 4, [0, 0, 2, 2])
    with pytest.raises(ValueError, match="group_codes"):
        hbm.estimate_between_variance([1.0, 2.0, 3.0], [1.0] * 3, [0, 0, 0], n_groups=2)
    with pytest.raises(ValueError, match="method"):
        hbm.estimate_between_variance([1.0, 2.0, 3.0], [1.0] * 3, [0, 0, 0], method="ml")
    empty_group = effects.assign(
        genre=pd.Categorical(effects["genre"], categories=[*effects["genre"].unique(), "x"])
    )
    with pytest.raises(ValueError, match="group"):
        hbm.estimate_empirical_bayes(empty_group)
    with pytest.raises(ValueError, match="standard_errors"):
        hbm.estimate_empirical_bayes(effects.assign(se=-effects["se"]))
    with pytest.raises(ValueError, match="estimates"):
        hbm.fit_hierarchical_model(effects.assign(estimate=np.nan))
    with pytest.raises(ValueError, match="group"):
        hbm.fit_hierarchical_model(empty_group)
    with pytest.raises(ValueError, match="draws"):
        hbm.fit_hierarchical_model(effects, draws=0)
    with pytest.raises(ValueError, match="genre_centring"):
        hbm.fit_hierarchical_model(effects, genre_centring=1.5)
    with pytest.raises(ValueError, match="id"):
        hbm.estimate_empirical_bayes(pd.concat([effects, effects.iloc[:1]]))
    with pytest.raises(ValueError, match="sd_treatment"):
        hbm.estimate_unit_effects_from_stats(
            pd.DataFrame(
                {
                    "creator_id": ["a"],
                    "n_treatment": [5],
                    "n_control": [5],
                    "mean_treatment": [1.0],
                    "mean_control": [0.0],
                    "sd_treatment": [-1.0],
                    "sd_control": [1.0],
                }
            )
        )


# ----------------------------------------------------------------------------- diagnostics
def test_convergence_check_flags_chains_that_disagree() -> None:
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(4, 300)) + np.array([0.0, 0.0, 0.0, 3.0])[:, None]
    idata = az.from_dict(
        posterior={"x": draws}, sample_stats={"diverging": np.zeros((4, 300), dtype=bool)}
    )
    report = hbm.check_convergence(idata)
    assert not report.passed and report.max_rhat > 1.1
    assert report.max_rhat == pytest.approx(float(az.rhat(idata)["x"]))
    good = az.from_dict(
        posterior={"x": rng.normal(size=(4, 1_000))},
        sample_stats={"diverging": np.zeros((4, 1_000), dtype=bool)},
    )
    assert hbm.check_convergence(good).passed


# ----------------------------------------------------------------------------- PyMC models
def test_hierarchical_fit_converges_and_agrees_with_empirical_bayes(
    small_fit: hbm.HierarchicalFit, effects: pd.DataFrame
) -> None:
    report = hbm.check_convergence(
        small_fit.idata, ["mu", "group_sd", "unit_sd", "group_mean", "theta"]
    )
    assert report.passed, report
    eb = hbm.estimate_empirical_bayes(effects)
    merged = small_fit.unit_effects.merge(eb, on="creator_id", suffixes=("_hb", "_eb"))
    # Full Bayes averages over tau; with 80 creators the two stay close.
    assert np.corrcoef(merged["estimate_hb"], merged["estimate_eb"])[0, 1] > 0.97
    assert (merged["estimate_hb"] - merged["estimate_eb"]).abs().max() < 0.5 * effects[
        "se"
    ].min() + 0.3
    assert set(small_fit.unit_effects["creator_id"]) == set(effects["creator_id"])
    assert small_fit.idata.log_likelihood["likelihood"].shape == (4, 1_000, len(effects))
    assert small_fit.details["genre_centring"] == 0.0


def test_hierarchical_fit_is_scale_free(
    small_fit: hbm.HierarchicalFit, effects: pd.DataFrame
) -> None:
    rescaled = hbm.fit_hierarchical_model(
        effects.assign(estimate=100 * effects["estimate"], se=100 * effects["se"]),
        draws=1_000,
        tune=1_000,
        target_accept=0.95,
        rng=1,
    )
    assert rescaled.timings["compile_cpu"] == 0.0  # the compiled model was reused
    base = small_fit.hyperparameters.set_index("parameter")
    scaled = rescaled.hyperparameters.set_index("parameter")
    for name in ("mu", "unit_sd"):
        mc_se = base.loc[name, "se"] / math.sqrt(400)  # ESS > 400
        assert (
            abs(scaled.loc[name, "estimate"] / 100 - base.loc[name, "estimate"]) < 8 * mc_se + 0.02
        )


def test_posterior_predictive_check(small_fit: hbm.HierarchicalFit) -> None:
    check = hbm.posterior_predictive_check(small_fit, n_replicates=200, rng=1)
    assert check.replicated.shape == (200, len(small_fit.data))
    assert check.table["p_value"].between(0.01, 0.99).all()
    plain = hbm.posterior_predictive_check(small_fit, new_units=False, n_replicates=200, rng=1)
    assert plain.table.shape == check.table.shape


def test_pareto_k_count(small_fit: hbm.HierarchicalFit) -> None:
    result = hbm.count_high_pareto_k(small_fit.idata)
    assert result["n"] == len(small_fit.data)
    assert 0 <= result["n_high_k"] <= result["n"]


def test_compare_groupings_prefers_the_real_grouping() -> None:
    sims = simulate_creator_experiments(
        n_genres=3, creators_per_genre=30, genre_sd=1.0, creator_sd=0.3, n_regions=3, rng=12
    )
    frame = hbm.estimate_unit_effects_from_stats(sims, keep=["genre", "region"])
    table, fits = hbm.compare_groupings(frame, ["genre", "region"], draws=500, tune=500, rng=2)
    assert table.index[0] == "genre"
    assert (table["n_high_k"] == 0).all()
    assert "theta" not in fits["genre"].idata.posterior


def test_eight_schools_matches_posteriordb_reference() -> None:
    # posteriordb eight_schools-eight_schools_noncentered reference: E[mu] ~ 4.4, E[tau] ~ 3.6
    summary, idata = hbm.fit_eight_schools(draws=1_000, tune=1_000, rng=3)
    means = summary.set_index("parameter")["estimate"]
    assert abs(means["mu"] - 4.4) < 0.25
    assert abs(means["tau"] - 3.6) < 0.25
    assert hbm.check_convergence(idata, ["mu", "tau", "theta"]).max_rhat < 1.01


def test_geo_model_is_scale_free_and_pools_geos() -> None:
    deltas = simulate_geo_deltas(n_geos=20, rng=7)
    lift, fit = hbm.fit_geo_hierarchical_model(deltas, draws=500, tune=500, rng=1)
    lift_cents, _ = hbm.fit_geo_hierarchical_model(
        deltas.assign(delta=100 * deltas["delta"], se=100 * deltas["se"]),
        draws=500,
        tune=500,
        rng=1,
    )
    assert isinstance(lift, pl.Estimate) and lift.ci_low < lift.estimate < lift.ci_high
    assert abs(lift.details["prob_positive"] - lift_cents.details["prob_positive"]) < 0.03
    merged = fit.unit_effects.merge(deltas, on="geo_id")
    # pooled estimates sit between the raw deltas and the arm means
    assert merged["estimate"].std() < merged["delta"].std()
    with pytest.raises(ValueError, match="group"):
        hbm.fit_geo_hierarchical_model(deltas.assign(group="control"))
