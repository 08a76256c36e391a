"""Synthetic control: the global choice of predictor weights, like-for-like placebos, the
J - 1 placebo standard error, the exact test for several treated units, and ridge ASCM."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize
from sklearn.linear_model import Ridge

import playbook_lib as pl
from playbook_lib import synth
from playbook_lib.simulate import simulate_factor_panel, simulate_factor_panel_arrays
from playbook_lib.synth._predictors import _loss_and_gradient

TEXAS_PREDICTORS = ["income", "ur", "poverty", "black", "perc1519", "aidscapita", "alcohol"]
TEXAS_TIMES = [1988, 1990, 1992]


@pytest.fixture(scope="module")
def texas() -> pd.DataFrame:
    return pl.datasets.load_texas_prison()


def _texas_panel(texas: pd.DataFrame, treated: str | None = None) -> synth.Panel:
    columns = dict(unit="state", time="year", outcome="bmprison", covariates=TEXAS_PREDICTORS)
    if treated is None:
        return synth.prepare_panel(texas, **columns)
    others = texas[texas["state"] != "Texas"]
    return synth.prepare_panel(others, treated_units=[treated], treatment_start=1993, **columns)


def _best_random_loss(panel: synth.Panel, seed: int, n: int = 100) -> float:
    """The smallest loss of ``2 n`` random V (Dirichlet, concentrated and flat)."""
    rng = np.random.default_rng(seed)
    best = math.inf
    for concentration in (0.2, 1.0):
        for v in rng.dirichlet(np.full(10, concentration), size=n):
            fit = synth.fit_synthetic_control(
                panel, predictors=TEXAS_PREDICTORS, predictor_times=TEXAS_TIMES, predictor_weights=v
            )
            best = min(best, fit.predictor_loss)
    return best


def test_texas_predictor_weights_reach_the_certified_global_optimum(texas: pd.DataFrame) -> None:
    panel = _texas_panel(texas)
    fit = synth.fit_synthetic_control(
        panel, predictors=TEXAS_PREDICTORS, predictor_times=TEXAS_TIMES
    )
    # the outcome-only weights bound the loss from below; the certificate says V attains it
    outcome_only = synth.fit_synthetic_control(panel)
    assert fit.predictor_loss_bound == pytest.approx(outcome_only.rmspe_pre["Texas"] ** 2)
    assert fit.optimum_certified
    assert fit.predictor_loss == pytest.approx(fit.predictor_loss_bound, rel=1e-8)
    assert fit.predictor_loss == pytest.approx(fit.rmspe_pre["Texas"] ** 2)
    # a single Nelder-Mead start stopped at RMSPE 1518; other V reach 970
    assert fit.rmspe_pre["Texas"] < 900
    # no random V does better
    assert _best_random_loss(panel, seed=1, n=60) >= fit.predictor_loss * (1 - 1e-9)
    # the weights solve the V-weighted predictor problem (independent solver: SLSQP)
    table = pd.concat(
        [panel.covariates[TEXAS_PREDICTORS].T]
        + [
            pd.DataFrame(
                panel.outcomes[:, [list(panel.times).index(t)]].T, columns=panel.units, index=[t]
            )
            for t in TEXAS_TIMES
        ]
    ).to_numpy()
    x = table / table.std(axis=1, ddof=1)[:, None]
    v = fit.predictor_weights.to_numpy()
    x0, x1 = x[:, : panel.n_controls], x[:, -1]

    def objective(w: np.ndarray) -> float:
        return float(v @ (x1 - x0 @ w) ** 2)

    reference = optimize.minimize(
        objective,
        np.full(panel.n_controls, 1 / panel.n_controls),
        method="SLSQP",
        bounds=[(0, 1)] * panel.n_controls,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    assert objective(fit.weights["Texas"].to_numpy()) <= reference.fun + 1e-9


def test_without_a_certificate_no_random_v_beats_the_search(texas: pd.DataFrame) -> None:
    # Georgia among the other states (not Texas): the outcome-only weights are out of reach
    panel = _texas_panel(texas, treated="Georgia")
    fit = synth.fit_synthetic_control(
        panel, predictors=TEXAS_PREDICTORS, predictor_times=TEXAS_TIMES
    )
    assert not fit.optimum_certified
    assert fit.predictor_loss > fit.predictor_loss_bound
    assert _best_random_loss(panel, seed=2, n=60) > fit.predictor_loss


def test_outer_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(4)
    x0, x1 = rng.normal(size=(5, 12)), rng.normal(size=(5, 1))
    y0, y1 = rng.normal(size=(12, 9)), rng.normal(size=(1, 9))
    v = rng.dirichlet(np.ones(5))
    _, gradient, weights = _loss_and_gradient(v, x0, x1, y0, y1)
    assert (weights > 0).sum() >= 2  # a support on which the gradient is informative
    # central differences (the search's inner solver is accurate to about 1e-9)
    step = 1e-5
    numeric = np.array(
        [
            (
                _loss_and_gradient(v + step * e, x0, x1, y0, y1)[0]
                - _loss_and_gradient(v - step * e, x0, x1, y0, y1)[0]
            )
            / (2 * step)
            for e in np.eye(5)
        ]
    )
    np.testing.assert_allclose(gradient, numeric, rtol=1e-3, atol=1e-6)


def test_placebos_are_refitted_with_the_same_predictor_specification() -> None:
    frame = simulate_factor_panel(10, 14, treatment_start=10, lift=0.0, rng=3)
    frame = frame.assign(size=np.random.default_rng(1).normal(5.0, 1.0, len(frame)))
    units = sorted(frame["unit"].unique())
    spec = dict(predictors=["size"], predictor_times=[3, 6, 9])
    ratios = []
    for label in (units[0], units[4]):
        panel = synth.prepare_panel(
            frame, treated_units=[label], treatment_start=10, covariates=["size"]
        )
        result = synth.estimate_synthetic_control(panel, **spec)
        ratios.append(result.details["placebo"].summary["rmspe_ratio"].sort_index())
        # a placebo's gap is that donor's own fit with the same specification, on all
        # other units
        donor = panel.donor_units[2]
        relabelled = synth.prepare_panel(
            frame, treated_units=[donor], treatment_start=10, covariates=["size"]
        )
        alone = synth.fit_synthetic_control(relabelled, **spec)
        np.testing.assert_allclose(
            result.details["placebo"].gaps[donor], alone.gaps[donor], atol=1e-8
        )
    # the same fits whichever unit is labelled treated: the exact permutation argument
    pd.testing.assert_series_equal(ratios[0], ratios[1], rtol=1e-6)


def test_placebo_standard_errors_divide_by_j_minus_one() -> None:
    panel = synth.prepare_panel(simulate_factor_panel(15, 20, treatment_start=14, rng=8))
    sc = synth.estimate_synthetic_control(panel, intercept=True)
    placebo_effects = sc.details["placebo"].summary["effect"].to_numpy()[1:]
    assert sc.se == pytest.approx(np.std(placebo_effects, ddof=1), rel=1e-12)
    sdid = synth.estimate_synthetic_did(panel)
    assert sdid.se == pytest.approx(np.std(sdid.details["placebo_estimates"], ddof=1), rel=1e-12)


def test_set_placebo_test_for_several_treated_units_is_exact() -> None:
    # 8 units, 2 treated, no effect; 9 random placebo sets fitted exactly as the treated
    # set is: P(p <= 0.1) = 0.1 exactly under the null (the weight fits are unique: more
    # pre-periods than donors). The single-unit placebos ("all") over-reject with
    # several treated units (9.3% +/- 1.2% at 5% over 600 panels of 20 units, 3 treated).
    n_sims, alpha = 200, 0.1
    outcomes = simulate_factor_panel_arrays(n_sims, 8, 14, rng=12)
    table = synth.batch_estimate_synthetic_control(
        outcomes, 6, 10, placebo_pool="sets", n_draws=9, rng=3
    )
    rejection = table.rejection_rate(alpha=alpha)
    assert abs(rejection.estimate - alpha) < 3 * rejection.details["nominal_se"]
    p_values = table.to_frame()["p_value"].to_numpy()
    assert set(np.round(p_values * 10).astype(int)) <= set(range(1, 11))


# ------------------------------------------------------------------------- ASCM
@pytest.fixture(scope="module")
def prop99_panel() -> synth.Panel:
    prop99 = pl.datasets.load_california_prop99()
    return synth.prepare_panel(prop99, unit="state", time="year", outcome="cigsale")


def test_ascm_with_infinite_penalty_is_synthetic_control(prop99_panel: synth.Panel) -> None:
    ascm = synth.fit_augmented_synthetic_control(prop99_panel, ridge_lambda=math.inf)
    sc = synth.fit_synthetic_control(prop99_panel)
    np.testing.assert_allclose(ascm.weights, sc.weights, atol=1e-12)
    np.testing.assert_allclose(ascm.effects, sc.effects, atol=1e-9)
    assert ascm.bias_correction.iloc[0] == 0.0
    # a very large penalty converges to it
    large = synth.fit_augmented_synthetic_control(prop99_panel, ridge_lambda=1e14)
    assert abs(large.effects.iloc[0] - sc.effects.iloc[0]) < 1e-6


def _ridge_reference(panel: synth.Panel, sc_weights: np.ndarray, model: object) -> np.ndarray:
    """Counterfactual by the outcome-model form: SC plus m(X_1) - sum_j w_j m(X_j)."""
    x0 = panel.controls[:, : panel.n_pre]
    x1 = panel.treated[0, : panel.n_pre]
    y0 = panel.controls[:, panel.n_pre :]
    model.fit(x0, y0)
    predicted = model.predict(np.vstack([x0, x1]))
    return sc_weights @ y0 + predicted[-1] - sc_weights @ predicted[:-1]


@pytest.mark.parametrize("ridge_lambda", [10.0, 500.0, 5e4])
def test_ascm_matches_sklearn_ridge_outcome_model(
    prop99_panel: synth.Panel, ridge_lambda: float
) -> None:
    ascm = synth.fit_augmented_synthetic_control(prop99_panel, ridge_lambda=ridge_lambda)
    w_sc = ascm.sc_weights.iloc[:, 0].to_numpy()
    expected = _ridge_reference(prop99_panel, w_sc, Ridge(alpha=ridge_lambda, solver="svd"))
    np.testing.assert_allclose(
        ascm.synthetic.iloc[prop99_panel.n_pre :, 0], expected, rtol=1e-9, atol=1e-9
    )
    assert ascm.weights.iloc[:, 0].sum() == pytest.approx(1.0, abs=1e-12)


def test_ascm_with_zero_penalty_is_the_least_squares_augmented_form(
    prop99_panel: synth.Panel,
) -> None:
    # 38 donors, 19 pre-periods: OLS with an intercept is unique (statsmodels)
    ascm = synth.fit_augmented_synthetic_control(prop99_panel, ridge_lambda=0.0)
    w_sc = ascm.sc_weights.iloc[:, 0].to_numpy()
    x0 = prop99_panel.controls[:, : prop99_panel.n_pre]
    x1 = prop99_panel.treated[0, : prop99_panel.n_pre]
    y0 = prop99_panel.controls[:, prop99_panel.n_pre :]
    design = sm.add_constant(x0)
    coef = np.column_stack([sm.OLS(y0[:, t], design).fit().params for t in range(y0.shape[1])])
    imbalance = np.concatenate([[0.0], x1 - w_sc @ x0])
    expected = w_sc @ y0 + imbalance @ coef
    np.testing.assert_allclose(
        ascm.synthetic.iloc[prop99_panel.n_pre :, 0], expected, rtol=1e-8, atol=1e-7
    )
    # ... whose weights reproduce the pre-period's projection on the donors' span
    small = synth.fit_augmented_synthetic_control(prop99_panel, ridge_lambda=1e-6)
    np.testing.assert_allclose(small.weights, ascm.weights, atol=1e-6)


def test_ascm_estimate_on_prop99(prop99_panel: synth.Panel) -> None:
    ascm = synth.estimate_augmented_synthetic_control(prop99_panel)
    sc = synth.estimate_synthetic_control(prop99_panel)
    # the correction removes part of SC's pre-period imbalance and moves the estimate
    # towards SDID's -15.6 (Arkhangelsky et al. 2021, Table 1)
    assert ascm.details["rmspe_pre"] < sc.details["rmspe_pre"]
    assert -19.0 < ascm.estimate < -14.0
    assert ascm.details["ridge_lambda"].iloc[0] > 0
    placebo_effects = ascm.details["placebo"].summary["effect"].to_numpy()[1:]
    assert ascm.se == pytest.approx(np.std(placebo_effects, ddof=1))
    assert ascm.p_value == pytest.approx(
        int(ascm.details["placebo"].summary.loc["California", "rank"]) / 39
    )
    with pytest.raises(ValueError, match="ridge_lambda"):
        synth.fit_augmented_synthetic_control(prop99_panel, ridge_lambda=-1.0)
