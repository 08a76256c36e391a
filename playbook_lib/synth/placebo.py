"""Placebo inference for synthetic control (Abadie, Diamond & Hainmueller 2010).

- :func:`compute_placebo_in_space`: every donor in turn analysed as if treated; the post/pre
  RMSPE ratio gives an exact permutation p-value with one treated unit;
- :func:`estimate_synthetic_control`: the synthetic-control effect with that p-value and a
  placebo standard error;
- :func:`estimate_placebo_in_time`: the same with a fake start inside the pre-period;
- :func:`batch_estimate_synthetic_control`: the estimate on many simulated panels at once,
  one row per panel, for Monte Carlo studies.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib._kernels import interval_and_p_value
from playbook_lib.results import Estimate, Estimates
from playbook_lib.synth._checks import PLACEBO_POOLS, check_panel
from playbook_lib.synth._simplex import fit_rows
from playbook_lib.synth.control import (
    _check_predictor_options,
    _matched_fit,
    _predictor_table,
    _standardised_predictors,
    fit_synthetic_control,
)
from playbook_lib.synth.panel import Panel
from playbook_lib.synth.weights import SOLVERS
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_choice,
    check_flag,
    check_integer,
    check_rng,
)

__all__ = [
    "PlaceboResult",
    "batch_estimate_synthetic_control",
    "compute_placebo_in_space",
    "estimate_placebo_in_time",
    "estimate_synthetic_control",
]


@dataclass(frozen=True)
class PlaceboResult:
    """Placebo-in-space results.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per unit (treated units first, then every donor as a placebo):
        ``effect`` (mean post gap), ``rmspe_pre``, ``rmspe_post``, ``rmspe_ratio``,
        ``treated`` (bool) and ``rank`` of the ratio (1 = largest).
    gaps : pandas.DataFrame
        Gap series, index times, one column per unit.
    p_value : float
        Permutation p-value of the post/pre RMSPE ratio statistic. With one treated unit
        it is exactly ``rank / (n_donors + 1)``; with several, the statistic is the mean
        ratio of the treated units, compared with the mean ratio of every (or
        ``n_draws`` random) equally sized set of placebo units, counting the observed set.
    effect_p_value : float
        The same permutation p-value for the absolute mean post-period effect.
    n_pre : int
        Number of pre-treatment periods.
    """

    summary: pd.DataFrame
    gaps: pd.DataFrame
    p_value: float
    effect_p_value: float
    n_pre: int


def _gaps_all_units(
    panel: Panel,
    *,
    intercept: bool,
    solver: str,
    tol: float,
    placebo_pool: str = "all",
    predictors: np.ndarray | None = None,
    predictor_weights: str | np.ndarray = "optimize",
    n_starts: int = 2,
    treated_gaps: np.ndarray | None = None,
) -> np.ndarray:
    """Gap matrix (units x times): treated units fitted on the donors, then each donor.

    With ``placebo_pool="all"`` each donor is fitted on every other unit, the treated
    ones included (with one treated unit, every unit is fitted on its ``N - 1`` others,
    which makes the permutation test exact under the sharp null); with ``"donors"``
    only on the other donors. With ``predictors`` (standardised, ``(K, N)``) every fit
    matches them with the same choice of ``V`` as the treated fit (the same
    specification for every unit); otherwise the fits are outcome-only. Given
    ``treated_gaps`` (``(N1, T)``), the treated rows are taken from it, not refitted.
    """
    y, n0, n_pre = panel.outcomes, panel.n_controls, panel.n_pre
    n_units = y.shape[0]
    gaps = np.empty_like(y)
    index = np.arange(n_units)
    for i in range(n_units):
        if i >= n0 and treated_gaps is not None:
            gaps[i] = treated_gaps[i - n0]
            continue
        if i >= n0 or placebo_pool == "donors":
            pool = index[(index < n0) & (index != i)]
        else:
            pool = index[index != i]
        if predictors is None:
            _, _, synthetic = fit_rows(
                y[pool], y[i : i + 1], n_pre, intercept=intercept, ridge=0.0, solver=solver, tol=tol
            )
            gaps[i] = y[i] - synthetic[0]
        else:
            search = _matched_fit(
                predictors[:, pool],
                predictors[:, [i]],
                y[pool, :n_pre],
                y[i : i + 1, :n_pre],
                predictor_weights,
                solver=solver,
                tol=tol,
                n_starts=n_starts,
            )
            gaps[i] = y[i] - search.weights[:, 0] @ y[pool]
    # rows: treated first, then donors
    return np.vstack([gaps[n0:], gaps[:n0]])


def _fit_set_gaps(
    panel: Panel,
    members: np.ndarray,
    *,
    intercept: bool,
    solver: str,
    tol: float,
    predictors: np.ndarray | None,
    predictor_weights: str | np.ndarray,
    n_starts: int,
) -> np.ndarray:
    """Gaps ``(k, T)`` of the units ``members``, each fitted on every unit outside the
    set, as the treated units are fitted on the donors (one shared ``V`` with
    predictors)."""
    y, n_pre = panel.outcomes, panel.n_pre
    inside = np.zeros(y.shape[0], dtype=bool)
    inside[members] = True
    others = np.flatnonzero(~inside)
    if predictors is None:
        _, _, synthetic = fit_rows(
            y[others], y[members], n_pre, intercept=intercept, ridge=0.0, solver=solver, tol=tol
        )
    else:
        search = _matched_fit(
            predictors[:, others],
            predictors[:, members],
            y[others, :n_pre],
            y[members, :n_pre],
            predictor_weights,
            solver=solver,
            tol=tol,
            n_starts=n_starts,
        )
        synthetic = search.weights.T @ y[others]
    return y[members] - synthetic


def _set_null(
    panel: Panel,
    n_draws: int,
    rng: np.random.Generator,
    **fit_options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean RMSPE ratio and mean effect of equally sized placebo sets drawn from all units.

    Each set is fitted exactly as the treated set is (every member on the units outside
    the set). Every set other than the treated one is used when there are at most
    ``n_draws`` of them; otherwise ``n_draws`` uniform random sets (with replacement
    across draws, so the Monte Carlo p-value ``(1 + #{T_b >= T}) / (1 + B)`` stays
    valid).
    """
    n_units, n1, n_pre = panel.outcomes.shape[0], panel.n_treated, panel.n_pre
    treated_set = tuple(range(panel.n_controls, n_units))
    if math.comb(n_units, n1) - 1 <= n_draws:
        sets = np.array([c for c in itertools.combinations(range(n_units), n1) if c != treated_set])
    else:
        sets = np.sort(np.argsort(rng.random((n_draws, n_units)), axis=1)[:, :n1], axis=1)
    ratios, effects = np.empty(len(sets)), np.empty(len(sets))
    for b, members in enumerate(sets):
        gaps = _fit_set_gaps(panel, members, **fit_options)
        pre = np.sqrt((gaps[:, :n_pre] ** 2).mean(axis=1))
        post = np.sqrt((gaps[:, n_pre:] ** 2).mean(axis=1))
        ratio = np.divide(post, pre, out=np.full_like(post, np.inf), where=pre > 0)
        ratios[b], effects[b] = ratio.mean(), gaps[:, n_pre:].mean()
    return ratios, effects


def _set_p_values(
    ratios: np.ndarray, effects: np.ndarray, null_ratio: np.ndarray, null_effect: np.ndarray
) -> tuple[float, float]:
    """Monte Carlo p-values ``(1 + #{T_b >= T}) / (1 + B)`` of the treated set's mean RMSPE
    ratio and of its absolute mean effect (``ratios``, ``effects``: the treated units')
    against the set placebos."""
    observed_ratio, observed_effect = ratios.mean(), abs(effects.mean())
    size = null_ratio.size
    return (
        float((1 + np.sum(null_ratio >= observed_ratio)) / (1 + size)),
        float((1 + np.sum(np.abs(null_effect) >= observed_effect)) / (1 + size)),
    )


def _set_se(null_effect: np.ndarray) -> float:
    """Standard error of the treated set's mean effect: the sample sd (divisor ``S - 1``)
    of the ``S`` placebo sets' mean effects, 0 with fewer than two."""
    return float(np.std(null_effect, ddof=1)) if null_effect.size > 1 else 0.0


def _with_set_null(
    result: PlaceboResult, null_ratio: np.ndarray, null_effect: np.ndarray, n_treated: int
) -> PlaceboResult:
    """``result`` with the p-values of the set placebos."""
    summary = result.summary
    p_value, effect_p_value = _set_p_values(
        summary["rmspe_ratio"].to_numpy()[:n_treated],
        summary["effect"].to_numpy()[:n_treated],
        null_ratio,
        null_effect,
    )
    return replace(result, p_value=p_value, effect_p_value=effect_p_value)


def _subset_means(
    values: np.ndarray, size: int, n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Means of every size-``size`` subset (if few) or of ``n_draws`` random subsets."""
    n = values.shape[0]
    if size == 1:
        return values.copy()
    if math.comb(n, size) <= n_draws:
        combos = np.array(list(itertools.combinations(range(n), size)))
        return values[combos].mean(axis=1)
    order = np.argsort(rng.random((n_draws, n)), axis=1)[:, :size]
    return values[order].mean(axis=1)


def _placebo_statistics(
    gaps: np.ndarray, n_pre: int, n_treated: int, n_draws: int, rng: np.random.Generator
) -> dict[str, Any]:
    """RMSPEs, ratios, effects and permutation p-values from a gap matrix (treated first)."""
    rmspe_pre = np.sqrt((gaps[:, :n_pre] ** 2).mean(axis=1))
    rmspe_post = np.sqrt((gaps[:, n_pre:] ** 2).mean(axis=1))
    # a perfect pre-period fit has an infinite ratio
    ratio = np.divide(
        rmspe_post, rmspe_pre, out=np.full_like(rmspe_post, np.inf), where=rmspe_pre > 0
    )
    effect = gaps[:, n_pre:].mean(axis=1)
    observed_ratio = ratio[:n_treated].mean()
    observed_effect = abs(effect[:n_treated].mean())
    null_ratio = _subset_means(ratio[n_treated:], n_treated, n_draws, rng)
    null_effect = np.abs(_subset_means(effect[n_treated:], n_treated, n_draws, rng))
    return {
        "rmspe_pre": rmspe_pre,
        "rmspe_post": rmspe_post,
        "ratio": ratio,
        "effect": effect,
        "p_value": float((1 + np.sum(null_ratio >= observed_ratio)) / (1 + null_ratio.size)),
        "effect_p_value": float(
            (1 + np.sum(null_effect >= observed_effect)) / (1 + null_effect.size)
        ),
    }


def _placebo_from_gaps(
    gaps: np.ndarray, panel: Panel, n_draws: int, rng: np.random.Generator
) -> PlaceboResult:
    n_pre, n_treated = panel.n_pre, panel.n_treated
    computed = _placebo_statistics(gaps, n_pre, n_treated, n_draws, rng)
    rmspe_pre, rmspe_post = computed["rmspe_pre"], computed["rmspe_post"]
    ratio, effect = computed["ratio"], computed["effect"]
    p_value, effect_p = computed["p_value"], computed["effect_p_value"]
    # gaps rows are: treated units first, then donors
    names = list(panel.treated_units) + list(panel.donor_units)
    rank = stats.rankdata(-ratio, method="max").astype(int)
    summary = pd.DataFrame(
        {
            "effect": effect,
            "rmspe_pre": rmspe_pre,
            "rmspe_post": rmspe_post,
            "rmspe_ratio": ratio,
            "treated": np.arange(len(names)) < n_treated,
            "rank": rank,
        },
        index=pd.Index(names, name="unit"),
    )
    return PlaceboResult(
        summary=summary,
        gaps=pd.DataFrame(gaps.T, index=panel.times, columns=names),
        p_value=float(p_value),
        effect_p_value=float(effect_p),
        n_pre=n_pre,
    )


def _placebo_se(
    effects: np.ndarray, n_treated: int, n_draws: int, rng: np.random.Generator
) -> float:
    """Placebo standard error: sd of the mean effects of equally sized placebo sets.

    The sample standard deviation (divisor ``S - 1`` for ``S`` placebo values): dividing
    by ``S`` would understate the spread of ``J`` placebos by ``sqrt((J - 1) / J)``.
    """
    return _set_se(_subset_means(effects, n_treated, n_draws, rng))


def _check_placebo_options(
    intercept: Any,
    solver: Any,
    n_draws: Any,
    placebo_pool: Any,
    rng: Any,
) -> tuple[bool, int, np.random.Generator]:
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    n_draws = check_integer(n_draws, "n_draws", minimum=1)
    check_choice(placebo_pool, "placebo_pool", PLACEBO_POOLS)
    return intercept, n_draws, check_rng(rng)


def _placebo_test(
    panel: Panel,
    n_draws: int,
    rng: np.random.Generator,
    *,
    placebo_pool: str,
    treated_gaps: np.ndarray | None = None,
    **fit_options: Any,
) -> tuple[PlaceboResult, np.ndarray | None]:
    """The placebo-in-space test of ``panel`` with every unit fitted by ``fit_options``
    (``intercept``, ``solver``, ``predictors``, ``predictor_weights``, ``n_starts``), and
    the mean effects of the set placebos (``None`` unless ``placebo_pool="sets"`` with
    several treated units, whose p-values then come from those sets)."""
    gaps = _gaps_all_units(
        panel, tol=1e-10, placebo_pool=placebo_pool, treated_gaps=treated_gaps, **fit_options
    )
    result = _placebo_from_gaps(gaps, panel, n_draws, rng)
    if placebo_pool != "sets" or panel.n_treated == 1:
        return result, None
    null_ratio, null_effect = _set_null(panel, n_draws, rng, tol=1e-10, **fit_options)
    return _with_set_null(result, null_ratio, null_effect, panel.n_treated), null_effect


def compute_placebo_in_space(
    panel: Panel,
    *,
    intercept: bool = False,
    solver: str = "active-set",
    n_draws: int = 10_000,
    placebo_pool: str = "all",
    rng: np.random.Generator | int | None = None,
) -> PlaceboResult:
    """Placebo-in-space permutation test (Abadie, Diamond & Hainmueller 2010, sec. 4).

    Each donor in turn is analysed as if it were treated (its pool is set by
    ``placebo_pool``), and the ratio of post- to pre-period RMSPE is computed for every
    unit. With one treated unit and ``placebo_pool="all"``, every unit's ratio comes from
    the same fit on the ``N - 1`` other units, so the vector of ratios does not depend on
    which unit is labelled treated. Under the sharp null of no effect and a treated unit
    that is equally likely to be any of the ``N = J + 1`` units (exchangeability), its
    ratio is then equally likely to take any rank, and ``p = rank / (J + 1)`` (rank 1 =
    largest ratio, ties counted against the treated unit) is an exact p-value:
    ``P(p <= alpha) <= alpha``, with equality when ``alpha (J + 1)`` is an integer.
    With several treated units and ``"all"`` or ``"donors"``, the test (mean ratio of
    the treated units against equally sized sets of single-unit placebos) is an
    approximation: the treated units are fitted on the donors only, the placebos on all
    other units, and it over-rejects (9.3% +/- 1.2% at the 5% level in 600 simulated
    null panels of 20 units, 3 treated). ``placebo_pool="sets"`` is exact: it draws sets
    of as many units as are treated from all units and fits every member of a set on
    the units outside it, exactly as the treated set is fitted on the donors; the
    p-value ``(1 + #{T_b >= T}) / (1 + B)`` over ``B`` such sets is valid under the
    sharp null when units are exchangeable and every weight fit is unique.

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel`.
    intercept, solver
        Weight-fitting options, see :func:`~playbook_lib.synth.fit_simplex_weights`.
    n_draws : int
        With several treated units and more than ``n_draws`` equally sized placebo sets,
        the number of random sets drawn.
    placebo_pool : {"all", "donors", "sets"}
        Donor pool of each placebo fit. ``"all"`` (default): every other unit, the
        treated ones included, so every unit, treated or placebo, is fitted on ``N - 1``
        others and the test is exact under the sharp null of no effect (Firpo &
        Possebom 2018); the price is some power, as an effect leaks into the placebo
        counterfactuals that use a treated unit. ``"donors"``: the other donors only;
        the treated unit then has one more donor than any placebo, so the ratios depend
        on the labelling and exactness is only approximate. ``"sets"``: as ``"all"``
        for the per-unit summary, and with several treated units the exact test on
        placebo sets described above (``n_draws`` sets; each costs one fit per member).
    rng : numpy.random.Generator, int or None
        Only used for random placebo sets.

    Returns
    -------
    PlaceboResult

    Raises
    ------
    ValueError
        If ``panel`` is not a :class:`Panel`, ``intercept`` is not a boolean, ``solver``
        or ``placebo_pool`` is unknown, ``n_draws`` is not a positive integer, or ``rng``
        is not a Generator, a non-negative integer or None.
    """
    panel = check_panel(panel)
    intercept, n_draws, rng = _check_placebo_options(intercept, solver, n_draws, placebo_pool, rng)
    return _placebo_test(
        panel,
        n_draws,
        rng,
        placebo_pool=placebo_pool,
        intercept=intercept,
        solver=solver,
        predictors=None,
        predictor_weights="equal",
        n_starts=1,
    )[0]


def estimate_synthetic_control(
    panel: Panel,
    *,
    intercept: bool = False,
    predictors: Sequence[str] | None = None,
    predictor_times: Sequence[Any] | None = None,
    predictor_weights: str | Sequence[float] = "optimize",
    alpha: float = 0.05,
    solver: str = "active-set",
    n_draws: int = 10_000,
    placebo_pool: str = "all",
    rng: np.random.Generator | int | None = None,
    n_starts: int = 2,
) -> Estimate:
    """Synthetic-control effect on the treated with placebo-in-space inference.

    The estimate is the mean post-period gap between the treated unit(s) and their
    synthetic controls, averaged over treated units (Abadie, Diamond & Hainmueller 2010;
    several treated units are fitted one by one and averaged, as in Abadie 2021, sec. 8).

    Inference comes from the placebo-in-space distribution
    (:func:`compute_placebo_in_space`): ``p_value`` is the permutation p-value of the
    post/pre RMSPE ratio (``rank / (J + 1)`` with one treated unit, exact with the default
    ``placebo_pool="all"``, or with several treated units ``"sets"``); ``se`` is the
    sample standard deviation (divisor ``S - 1``) of the placebo effects (means over
    equally sized placebo sets; with ``"sets"``, the sets' mean effects), the analogue
    of synthdid's placebo standard error (Arkhangelsky et al. 2021, Algorithm 4, which
    divides by ``S``); the interval is ``estimate -/+ t se``
    with the Student-t quantile on ``J - 1`` degrees of freedom (the standard error is
    estimated from only ``J`` placebos; Arkhangelsky et al. use the normal quantile).
    This interval is approximate (see :func:`~playbook_lib.synth.estimate_synthetic_did`).
    With predictors, every placebo is refitted with the same specification: the same
    predictors, standardised by their spread over all units, and the same choice of
    ``V`` (searched anew for each placebo with ``predictor_weights="optimize"``), so
    with one treated unit and ``placebo_pool="all"`` the p-value stays exact.

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel`.
    intercept, predictors, predictor_times, predictor_weights, solver, n_starts
        See :func:`~playbook_lib.synth.fit_synthetic_control`.
    alpha : float
        One minus the interval's coverage.
    n_draws, placebo_pool, rng
        Placebo settings, see :func:`compute_placebo_in_space`.

    Returns
    -------
    Estimate
        ``method="synthetic control"``, the average effect per treated unit and period.
        ``details``: ``relative`` (an :class:`~playbook_lib.Estimate` of the relative lift,
        the effect over the synthetic post-period level ``counterfactual_level``, treated as
        fixed), ``weights`` (DataFrame), ``intercepts``, ``synthetic`` and ``gaps``
        (DataFrames), ``effects`` per treated unit, ``total_effect`` (sum of the gaps over
        treated units and post periods: the incremental KPI) and its ``total_se``,
        ``rmspe_pre``, ``rmspe_post``, ``rmspe_ratio``, ``effect_p_value``, ``placebo``
        (:class:`PlaceboResult`), ``n_donors``, ``n_pre``, ``n_post``, ``n_treated``,
        ``predictor_weights``, and with predictors ``predictor_loss``,
        ``predictor_loss_bound`` and ``optimum_certified`` (see
        :class:`~playbook_lib.synth.SyntheticControlFit`).

    Raises
    ------
    ValueError
        If ``panel`` is not a :class:`Panel`, on bad settings (see
        :func:`~playbook_lib.synth.fit_synthetic_control` and
        :func:`compute_placebo_in_space`), or an ``alpha`` outside (0, 1).
    """
    alpha = check_alpha(alpha)
    panel = check_panel(panel)
    intercept, n_draws, rng = _check_placebo_options(intercept, solver, n_draws, placebo_pool, rng)
    fit = fit_synthetic_control(
        panel,
        intercept=intercept,
        predictors=predictors,
        predictor_times=predictor_times,
        predictor_weights=predictor_weights,
        solver=solver,
        n_starts=n_starts,
    )
    x = None
    if fit.predictor_weights is not None:
        # every placebo matches the same predictors with the same choice of V
        names, times = _check_predictor_options(predictors, predictor_times, predictor_weights)[:2]
        x = _standardised_predictors(_predictor_table(panel, names, times))
        if not isinstance(predictor_weights, str):
            predictor_weights = fit.predictor_weights.to_numpy()
    placebo, null_effect = _placebo_test(
        panel,
        n_draws,
        rng,
        placebo_pool=placebo_pool,
        treated_gaps=fit.gaps.to_numpy().T,
        intercept=intercept,
        solver=solver,
        predictors=x,
        predictor_weights=predictor_weights,
        n_starts=n_starts,
    )
    effects = fit.effects
    estimate = float(effects.mean())
    if null_effect is not None:
        se = _set_se(null_effect)
    else:
        placebo_effects = placebo.summary["effect"].to_numpy()[panel.n_treated :]
        se = _placebo_se(placebo_effects, panel.n_treated, n_draws, rng)
    df = panel.n_controls - 1
    scale_total = panel.n_treated * panel.n_post
    ratio = fit.rmspe_post / fit.rmspe_pre
    # The t interval of the placebo se, and the placebo test's own p-value.
    absolute = replace(
        Estimate.from_standard_error("synthetic control", estimate, se, alpha=alpha, df=df),
        p_value=placebo.p_value,
    )
    counterfactual_level = float(fit.synthetic.iloc[panel.n_pre :].to_numpy().mean())
    relative = (
        absolute.scaled(1.0 / counterfactual_level, method="synthetic control relative lift")
        if counterfactual_level != 0
        else None
    )
    return replace(
        absolute,
        details={
            "relative": relative,
            "counterfactual_level": counterfactual_level,
            "weights": fit.weights,
            "intercepts": fit.intercepts,
            "synthetic": fit.synthetic,
            "gaps": fit.gaps,
            "effects": effects,
            "total_effect": estimate * scale_total,
            "total_se": se * scale_total,
            "rmspe_pre": float(fit.rmspe_pre.mean()),
            "rmspe_post": float(fit.rmspe_post.mean()),
            "rmspe_ratio": float(ratio.mean()),
            "effect_p_value": placebo.effect_p_value,
            "placebo": placebo,
            "n_donors": panel.n_controls,
            "n_pre": panel.n_pre,
            "n_post": panel.n_post,
            "n_treated": panel.n_treated,
            "predictor_weights": fit.predictor_weights,
            "predictor_loss": fit.predictor_loss,
            "predictor_loss_bound": fit.predictor_loss_bound,
            "optimum_certified": fit.optimum_certified,
        },
    )


def estimate_placebo_in_time(
    panel: Panel,
    placebo_start: Hashable,
    *,
    intercept: bool = False,
    alpha: float = 0.05,
    solver: str = "active-set",
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Placebo in time: pretend treatment began at ``placebo_start``, using pre-period data only.

    The real post-period is dropped; the synthetic control is refitted on the periods
    before ``placebo_start`` and its "effect" over ``[placebo_start, treatment start)`` is
    estimated with the same placebo-in-space inference (:func:`estimate_synthetic_control`,
    outcome-only). A large placebo effect warns that the pre-period fit does not predict
    well out of sample (Abadie 2021, sec. 7).

    Parameters
    ----------
    panel : Panel
        From :func:`~playbook_lib.synth.prepare_panel`.
    placebo_start : scalar
        The fake start: a pre-period time after the first.
    intercept, alpha, solver
        See :func:`estimate_synthetic_control`.
    rng : numpy.random.Generator, int or None
        Draws the placebo sets when several units are treated and there are more than
        10,000 equally sized sets (see :func:`compute_placebo_in_space`).

    Returns
    -------
    Estimate
        As :func:`estimate_synthetic_control`, ``method="placebo in time"``; ``details``
        add ``placebo_start``.

    Raises
    ------
    ValueError
        If ``placebo_start`` is not a pre-period time after the first, ``panel`` is not a
        :class:`Panel`, or on bad settings (see :func:`estimate_synthetic_control`).
    """
    panel = check_panel(panel)
    alpha = check_alpha(alpha)
    intercept = check_flag(intercept, "intercept")
    check_choice(solver, "solver", SOLVERS)
    rng = check_rng(rng)
    pre_times = panel.times[: panel.n_pre]
    try:
        inside = not isinstance(placebo_start, bool) and placebo_start in set(
            pre_times[1:].tolist()
        )
    except TypeError:
        inside = False
    if not inside:
        raise ValueError(
            f"placebo_start must be a pre-treatment time after the first, got {placebo_start!r}"
        )
    before = Panel(
        panel.outcomes[:, : panel.n_pre],
        panel.units,
        pre_times,
        panel.n_controls,
        int(pre_times.get_loc(placebo_start)),
    )
    result = estimate_synthetic_control(
        before, intercept=intercept, alpha=alpha, solver=solver, rng=rng
    )
    return replace(
        result, method="placebo in time", details={**result.details, "placebo_start": placebo_start}
    )


def batch_estimate_synthetic_control(
    outcomes: np.ndarray,
    n_controls: int,
    n_pre: int,
    *,
    intercept: bool = False,
    alpha: float = 0.05,
    n_draws: int = 10_000,
    placebo_pool: str = "all",
    rng: np.random.Generator | int | None = None,
) -> Estimates:
    """Synthetic control with placebo inference on many panels, one row per panel.

    The computation of :func:`estimate_synthetic_control` (outcome-only, active-set
    solver) on each units-by-times matrix of a stack, without the DataFrame round trip,
    for Monte Carlo studies. In every panel rows ``0 .. n_controls - 1`` are the donors,
    the rest treated, and columns ``0 .. n_pre - 1`` the pre-period.

    Parameters
    ----------
    outcomes : array of shape (n_panels, n_units, n_times)
        The panels.
    n_controls : int
        Number of donor rows (at least two).
    n_pre : int
        Number of pre-period columns.
    intercept, alpha, n_draws, placebo_pool
        See :func:`estimate_synthetic_control`.
    rng : numpy.random.Generator, int or None
        Draws the placebo sets when several rows are treated and there are more than
        ``n_draws`` equally sized sets (one generator used across the panels in order).

    Returns
    -------
    Estimates
        One row per panel (labels ``0 .. n_panels - 1``): the average post-period gap,
        its placebo standard error, the ``t(n_controls - 1)`` interval, the RMSPE-ratio
        permutation ``p_value``, and the extra columns ``effect_p_value`` and
        ``rmspe_pre``.

    Raises
    ------
    ValueError
        If ``outcomes`` is not a finite 3-d array, the split leaves fewer than two donors,
        no treated rows, no pre- or no post-period, or another argument is invalid (the
        message names it).
    """
    stack = as_float_array(outcomes, "outcomes", ndim=3)
    n_controls = check_integer(n_controls, "n_controls", minimum=2)
    alpha = check_alpha(alpha)
    intercept, n_draws, rng = _check_placebo_options(
        intercept, "active-set", n_draws, placebo_pool, rng
    )
    rows = np.empty((stack.shape[0], 5))
    for s, y in enumerate(stack):
        panel = Panel.from_matrix(y, n_controls, n_pre)
        gaps = _gaps_all_units(
            panel, intercept=intercept, solver="active-set", tol=1e-10, placebo_pool=placebo_pool
        )
        n_treated = panel.n_treated
        computed = _placebo_statistics(gaps, panel.n_pre, n_treated, n_draws, rng)
        se = _placebo_se(computed["effect"][n_treated:], n_treated, n_draws, rng)
        p_value, effect_p_value = computed["p_value"], computed["effect_p_value"]
        if placebo_pool == "sets" and n_treated > 1:
            null_ratio, null_effect = _set_null(
                panel,
                n_draws,
                rng,
                intercept=intercept,
                solver="active-set",
                tol=1e-10,
                predictors=None,
                predictor_weights="equal",
                n_starts=1,
            )
            p_value, effect_p_value = _set_p_values(
                computed["ratio"][:n_treated],
                computed["effect"][:n_treated],
                null_ratio,
                null_effect,
            )
            se = _set_se(null_effect)
        rows[s] = (
            computed["effect"][:n_treated].mean(),
            se,
            p_value,
            effect_p_value,
            computed["rmspe_pre"][:n_treated].mean(),
        )
    estimate, se, p_value, effect_p_value, rmspe_pre = rows.T
    df = n_controls - 1
    low, high, _ = interval_and_p_value(estimate, se, alpha, df=df)
    table = Estimates.from_arrays(
        "synthetic control", estimate, se, low, high, alpha=alpha, p_value=p_value, df=df
    ).to_frame()
    return Estimates(table.assign(effect_p_value=effect_p_value, rmspe_pre=rmspe_pre))
