"""The imputation estimator of Borusyak, Jaravel & Spiess (BJS) on ``mpdta`` against
published and independent implementations.

The panel is the ``did`` package's ``mpdta`` as shipped (``playbook_lib.datasets.load_mpdta``:
``lemp`` is ``log_employment``, ``countyreal`` is ``county``, ``first.treat`` is
``first_treated``, NaN for never-treated counties; its sha256 is pinned in
``tests/test_geo_staggered.py``). The specification everywhere: unit and year fixed
effects fitted on untreated observations, the effect of each treated observation imputed,
the static ATT the mean over all 291 treated observations and the horizon effects the
means by years since adoption.

References (CRAN is not reachable from this machine, so R's ``didimputation`` could not
be run; no published ``didimputation`` event study on ``mpdta`` was found):

- Stata 18 MP, ``did_imputation`` (Borusyak's SSC command, 2023-11-22 build), recorded in
  https://github.com/brycewang-stanford/StatsPAI at commit f88b6be,
  ``tests/stata_parity/option_parity/results/84_bjs_fe_covariates_Stata.json`` ("default"),
  printed with ``%20.15f``, from ``84_bjs_fe_covariates.do``::

      set type double
      import delimited "02_mpdta_original.csv", clear asdouble
      gen Ei = first_treat
      replace Ei = . if first_treat == 0
      did_imputation lemp countyreal year Ei, tol(1e-12) maxit(10000)

  Its CSV (sha256 1b789c34...a574661, "byte-identical to a rebuild of did::mpdta") holds
  the same 2,500 rows as the shipped panel: same counties, years and cohorts, ``lemp``
  equal to 1.1e-14 (checked once when these literals were copied).
- R, ``did2s`` 1.2.1 with fixest 0.14.0, recorded (10 significant digits) in the same
  repository at commit 45afc9c, ``tests/reference_parity/test_sunab_did2s_mpdta_parity.py``::

      did2s(mpdta, yname = "lemp", first_stage = ~ 0 | countyreal + year,
            second_stage = ~ i(dpost, ref = FALSE), treatment = "dpost",
            cluster_var = "countyreal")

- pyfixest 0.60.0 (``pip install pyfixest``; not a test dependency), Gardner's two-stage
  DiD, computed once with this script (``%.15g``)::

      import functools, importlib
      import numpy as np
      import pyfixest as pf
      import playbook_lib as pl

      # pyfixest's feols drops singleton fixed effects by default, which drops the 20
      # counties first treated in 2004 (one untreated year each) from the first stage and
      # their 100 treated rows from the second; R's fixest keeps them, so does this run.
      did2s_module = importlib.import_module("pyfixest.did.did2s")
      did2s_module.feols = functools.partial(pf.feols, fixef_rm="none")
      d = pl.datasets.load_mpdta()
      d["treat"] = d["treated"].astype(int)
      d["rel"] = np.where(d["treated"], d["year"] - d["first_treated"], -1).astype(int)
      common = dict(yname="log_employment", first_stage="~ 0 | county + year",
                    treatment="treat", cluster="county")
      static = pf.did2s(d, second_stage="~ i(treat, ref=0)", **common)
      events = pf.did2s(d, second_stage="~ i(rel, ref=-1)", **common)
      print(static.coef(), static.se(), events.coef(), events.se())

Why Gardner's two-stage estimate is the imputation estimate (exact algebra, checked below
with a dense least-squares fit): stage 1 is the same OLS of ``Y`` on unit and year dummies
over untreated rows, so ``Y - fitted`` is the imputed effect ``tau_it`` on treated rows and
the stage-1 residual on untreated ones. Stage 2 regresses it, over all rows and without an
intercept, on indicators that are zero on untreated rows (the treatment dummy, or one
dummy per horizon): indicators with disjoint supports give each coefficient the mean of
``tau_it`` over its support, the BJS estimate with equal weights.

Standard errors: both are unit-clustered sandwiches with the same untreated-row term (the
stage-1 estimation error); on treated rows BJS (their Theorem 3, as ``did_imputation``
computes it by default) takes ``tau_it`` around its cohort-by-year mean, Gardner's GMM
around the second-stage coefficient, and neither applies a small-sample factor. So they
are the same number where the estimand is one cohort-year cell (horizons 2 and 3, cohort
2004 only), and BJS's is the smaller one here where cells are pooled (its residuals are
taken around finer means): 0.5% at horizon 0, 0.8% at horizon 1, 1.9% overall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import playbook_lib as pl
from playbook_lib import geo

COLUMNS = {
    "unit": "county",
    "time": "year",
    "outcome": "log_employment",
    "first_treated": "first_treated",
}
HORIZONS = [0.0, 1.0, 2.0, 3.0]

STATA_DID_IMPUTATION = (-0.047709915419267, 0.013222488649680)  # (tau, se)
R_DID2S_STATIC = (-0.0477099151, 0.0134784088)  # (coefficient of dpost, se)
PYFIXEST_STATIC = (-0.0477099182784148, 0.0134784088077586)
PYFIXEST_EVENTS = {  # horizon: (coefficient, se)
    0: (-0.0310669272276048, 0.0136430663398952),
    1: (-0.0522348566368091, 0.018963837530566),
    2: (-0.136078114440297, 0.0353419721333739),
    3: (-0.104707471576585, 0.0337658533577918),
}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pl.datasets.load_mpdta()


@pytest.fixture(scope="module")
def fit(mpdta: pd.DataFrame) -> geo.ImputationFit:
    return geo.fit_imputation(mpdta, **COLUMNS)


@pytest.fixture(scope="module")
def horizons(fit: geo.ImputationFit) -> pd.DataFrame:
    return fit.by_horizon().to_frame().set_index("horizon").loc[HORIZONS]


def test_overall_att_matches_stata_did_imputation(fit: geo.ImputationFit) -> None:
    overall = fit.overall()
    # Stata's alternating projections stop about 6e-8 (relative) from the exact answer
    assert overall.estimate == pytest.approx(STATA_DID_IMPUTATION[0], rel=1e-6)
    # the same clustered variance: observed 2.5e-11 relative
    assert overall.se == pytest.approx(STATA_DID_IMPUTATION[1], rel=1e-6)
    assert overall.details["n_treated_observations"] == 291
    assert overall.details["n_clusters"] == 500
    # the one-call shortcut is the same fit
    shortcut = geo.estimate_imputation(pl.datasets.load_mpdta(), **COLUMNS)
    assert (shortcut.estimate, shortcut.se) == (overall.estimate, overall.se)


def test_overall_att_equals_r_did2s(fit: geo.ImputationFit) -> None:
    # did2s's first stage is fixest's iterative demeaning: 3.2e-9 from the exact answer
    assert fit.overall().estimate == pytest.approx(R_DID2S_STATIC[0], abs=1e-8)
    # and pyfixest reproduces R's GMM standard error to its 10 printed digits
    assert PYFIXEST_STATIC[1] == pytest.approx(R_DID2S_STATIC[1], abs=5e-11)


def test_point_estimates_equal_pyfixest_did2s(
    fit: geo.ImputationFit, horizons: pd.DataFrame
) -> None:
    # observed: 4e-14 overall, 1.1e-10 by horizon (pyfixest's iterative demeaning)
    assert fit.overall().estimate == pytest.approx(PYFIXEST_STATIC[0], abs=1e-8)
    expected = [PYFIXEST_EVENTS[int(h)][0] for h in HORIZONS]
    np.testing.assert_allclose(horizons["estimate"], expected, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(horizons["n_observations"], [191, 60, 20, 20])
    np.testing.assert_array_equal(horizons["n_cohorts"], [3, 2, 1, 1])
    shortcut = geo.imputation_horizon_effects(pl.datasets.load_mpdta(), **COLUMNS)
    np.testing.assert_array_equal(shortcut.to_frame()["estimate"], horizons["estimate"])


def test_two_stage_regression_is_the_imputation_estimate(
    mpdta: pd.DataFrame, fit: geo.ImputationFit, horizons: pd.DataFrame
) -> None:
    """Gardner's two stages written out with dense least squares (numpy's SVD solver):
    stage 1 on untreated rows, stage 2 on all rows with indicators that vanish on them."""
    treated = mpdta["treated"].to_numpy()
    y = mpdta["log_employment"].to_numpy()
    design = np.hstack(
        [
            pd.get_dummies(mpdta["county"], dtype=float).to_numpy(),
            pd.get_dummies(mpdta["year"], drop_first=True, dtype=float).to_numpy(),
        ]
    )
    first, *_ = np.linalg.lstsq(design[~treated], y[~treated], rcond=None)
    residualised = y - design @ first
    horizon = np.where(treated, mpdta["year"] - mpdta["first_treated"], -1)
    static, *_ = np.linalg.lstsq(treated[:, None].astype(float), residualised, rcond=None)
    dummies = (horizon[:, None] == np.array(HORIZONS)[None, :]).astype(float)
    events, *_ = np.linalg.lstsq(dummies, residualised, rcond=None)
    assert fit.overall().estimate == pytest.approx(static[0], abs=1e-12)
    np.testing.assert_allclose(horizons["estimate"], events, rtol=0, atol=1e-12)
    # the untreated rows' residuals have mean zero in every county (unit effects), so an
    # intercept in stage 2 would not move the static coefficient
    by_county = pd.Series(residualised[~treated]).groupby(mpdta["county"].to_numpy()[~treated])
    assert np.abs(by_county.mean()).max() < 1e-12


def test_standard_errors_equal_gardners_where_the_conventions_agree(
    fit: geo.ImputationFit, horizons: pd.DataFrame
) -> None:
    gardner = np.array([PYFIXEST_EVENTS[int(h)][1] for h in HORIZONS])
    ours = horizons["se"].to_numpy()
    # horizons 2 and 3: one cohort-year cell each, the same formula (observed 4e-15)
    np.testing.assert_allclose(ours[2:], gardner[2:], rtol=1e-9)
    # horizons 0 and 1 and the overall ATT pool cells: BJS's treated residuals are taken
    # around the cells' means, so here they are a little smaller (0.995, 0.992, 0.981)
    ratios = np.r_[ours[:2] / gardner[:2], fit.overall().se / PYFIXEST_STATIC[1]]
    assert np.all((ratios > 0.97) & (ratios < 1.0)), ratios
