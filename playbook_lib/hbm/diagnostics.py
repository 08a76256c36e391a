"""Checks of a sampled model: convergence, posterior predictive checks, PSIS-LOO.

:func:`check_convergence` reports R-hat, effective sample sizes and divergences
:cite:`vehtari2021rank`; :func:`check_posterior_predictive` replicates the data from the
posterior; :func:`compute_loo` counts the observations PSIS-LOO cannot handle; and
:func:`fit_groupings` compares pre-specified groupings of the units by PSIS-LOO on models
with the unit effects integrated out :cite:`vehtari2017practical`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import fft, special, stats

from playbook_lib.hbm._arviz import load_arviz
from playbook_lib.hbm._checks import onehot, unit_data
from playbook_lib.hbm._sampling import check_sampler_settings, stack
from playbook_lib.hbm.hierarchical import HierarchicalFit, fit_hierarchical_model
from playbook_lib.results import Estimates
from playbook_lib.validation import check_flag, check_integer, check_positive, check_rng

__all__ = [
    "ConvergenceReport",
    "GroupingComparison",
    "PredictiveCheck",
    "check_convergence",
    "check_posterior_predictive",
    "compute_loo",
    "fit_groupings",
]


@dataclass(frozen=True)
class ConvergenceReport:
    """Convergence diagnostics of a sampled model :cite:`vehtari2021rank`.

    Attributes
    ----------
    max_rhat : float
        Largest rank-normalised split R-hat over the checked variables.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    divergences : int
        Number of divergent transitions after warm-up.
    worst_variable : str
        The variable with the largest R-hat.
    rhat_max, ess_min : float
        The thresholds applied.
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    worst_variable: str
    rhat_max: float
    ess_min: float

    @property
    def passed(self) -> bool:
        """R-hat below ``rhat_max``, bulk and tail ESS above ``ess_min``, no divergences."""
        return (
            self.max_rhat < self.rhat_max
            and self.min_ess_bulk > self.ess_min
            and self.min_ess_tail > self.ess_min
            and self.divergences == 0
        )

    def to_frame(self) -> pd.DataFrame:
        """A one-row table of the diagnostics and the verdict."""
        return pd.DataFrame([{**self.__dict__, "passed": self.passed}])


def _draw_matrix(variable: Any) -> np.ndarray:
    """A posterior variable's draws as ``(element, chain, draw)`` (C order)."""
    values = np.asarray(variable.transpose("chain", "draw", ...).to_numpy(), dtype=float)
    values = values.reshape(values.shape[0], values.shape[1], -1)
    return np.ascontiguousarray(values.transpose(2, 0, 1))


def _split_chains(draws: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as separate chains: ``(k, 2 chain, draw // 2)``."""
    half = draws.shape[2] // 2
    return np.concatenate([draws[:, :, :half], draws[:, :, draws.shape[2] - half :]], axis=1)


def _z_scale(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised draws: average ranks over all chains, Blom's offset 3/8, then the
    normal quantile function (per element)."""
    flat = draws.reshape(draws.shape[0], -1)
    ranks = stats.rankdata(flat, axis=1, method="average")
    return special.ndtri((ranks - 0.375) / (flat.shape[1] + 0.25)).reshape(draws.shape)


def _rhat(draws: np.ndarray) -> np.ndarray:
    """Potential scale reduction of ``(k, chain, draw)`` draws (per element)."""
    n_draw = draws.shape[2]
    between = n_draw * draws.mean(axis=2).var(axis=1, ddof=1)
    within = draws.var(axis=2, ddof=1).mean(axis=1)
    return np.sqrt((between / within + n_draw - 1) / n_draw)


def _ess(draws: np.ndarray) -> np.ndarray:
    """Effective sample size of ``(k, chain, draw)`` draws, per element.

    Autocorrelations from the FFT of each chain and Geyer's initial monotone sequence
    estimator, as in :cite:`vehtari2021rank`, vectorised: with ``rho_t`` the combined
    autocorrelation at lag ``t`` (``rho_0 = 1``) and pair sums
    ``P_k = rho_{2k} + rho_{2k+1}``, the sum runs over the pairs before the first
    non-positive one (at most ``(n - 2) / 2`` of them), each replaced by the running minimum
    of the pair sums, plus the next even lag if positive:
    ``tau = -1 + 2 sum_k min_{j <= k} P_j + rho_{2K}`` and ``ess = chains x draws / tau``
    (``tau`` at least ``1 / log10(chains x draws)``). Equal to ArviZ's element-by-element
    loop, vectorised.
    """
    size, n_chain, n_draw = draws.shape
    chain_mean = draws.mean(axis=2)
    length = fft.next_fast_len(2 * n_draw)
    spectrum = np.fft.rfft(draws - chain_mean[..., None], n=length, axis=2)
    autocovariance = np.fft.irfft(spectrum * np.conjugate(spectrum), n=length, axis=2)
    autocovariance = autocovariance[..., :n_draw].mean(axis=1) / n_draw  # (k, lag)
    mean_var = autocovariance[:, 0] * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus = var_plus + chain_mean.var(axis=1, ddof=1)
    rho = 1.0 - (mean_var[:, None] - autocovariance) / var_plus[:, None]  # (k, lag)
    rho[:, 0] = 1.0
    k_max = int(np.ceil((n_draw - 2) / 2)) - 1  # the last pair the sequence may reach
    pairs = rho[:, 0 : 2 * k_max + 2 : 2] + rho[:, 1 : 2 * k_max + 2 : 2]  # P_0 .. P_k_max
    # K: pairs 1..K are visited; the first non-positive pair sum (P_0 included) stops it
    positive = pairs > 0
    if k_max >= 0:
        first_stop = np.where(positive.all(axis=1), k_max + 1, positive.argmin(axis=1))
    else:
        first_stop = np.zeros(size, dtype=int)
    visited = np.clip(first_stop, 0, max(k_max, 0))
    counted = np.arange(k_max + 1)[None, :] < visited[:, None]
    total = np.where(counted, np.minimum.accumulate(pairs, axis=1), 0.0).sum(axis=1)
    rows = np.arange(size)
    if k_max >= 1:
        last_even = np.where(visited > 0, rho[rows, 2 * visited], 1.0)
        stored = (visited > 0) & (pairs[rows, visited] >= 0)
    else:  # too few draws for any pair
        last_even, stored = np.ones(size), np.zeros(size, dtype=bool)
    last = np.where((last_even > 0) | stored, last_even, 0.0)
    tau = np.maximum(-1.0 + 2.0 * total + last, 1.0 / np.log10(n_chain * n_draw))
    ess = n_chain * n_draw / tau
    ess[np.isnan(rho).any(axis=1)] = np.nan
    spread = draws.max(axis=(1, 2)) - draws.min(axis=(1, 2))
    ess[spread < np.finfo(float).resolution] = n_chain * n_draw
    return ess


def _rank_diagnostics(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank-normalised split R-hat, bulk ESS and tail ESS of ``(k, chain, draw)`` draws.

    As ArviZ's ``rhat`` (method "rank") and ``ess`` (methods "bulk" and "tail")
    :cite:`vehtari2021rank`, for all elements at once: R-hat is the larger of the split
    R-hat of the rank-normalised draws and of the rank-normalised folded draws
    ``|x - median|``; bulk ESS is the ESS of the rank-normalised split draws; tail ESS the
    smaller ESS of the indicators ``x <= q`` at the 5% and 95% quantiles. R-hat is NaN with
    fewer than 2 chains.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # an indicator may be constant
        split = _split_chains(draws)
        z_split = _z_scale(split)
        if draws.shape[1] < 2:
            rhat = np.full(draws.shape[0], np.nan)
        else:
            median = np.median(split.reshape(split.shape[0], -1), axis=1)
            folded = np.abs(split - median[:, None, None])
            rhat = np.maximum(_rhat(z_split), _rhat(_z_scale(folded)))
        ess_bulk = _ess(z_split)
        flat = draws.reshape(draws.shape[0], -1)
        quantiles = np.quantile(flat, [0.05, 0.95], axis=1)  # (2, k)
        tails = [
            _ess(_split_chains((draws <= quantile[:, None, None]).astype(float)))
            for quantile in quantiles
        ]
    return rhat, ess_bulk, np.minimum(*tails)


def check_convergence(
    idata: Any,
    var_names: Sequence[str] | None = None,
    *,
    rhat_max: float = 1.01,
    ess_min: float = 400.0,
) -> ConvergenceReport:
    """R-hat, bulk/tail ESS and divergences of a posterior, as a report.

    Returns the report whatever it says (read :attr:`ConvergenceReport.passed`); it
    raises only when the diagnostics cannot be computed (below). R-hat (rank-normalised,
    split), bulk and tail ESS are ArviZ's ``rhat`` and ``ess`` :cite:`vehtari2021rank`,
    computed for all checked elements at once, vectorised (ArviZ loops over the
    elements in Python); they agree with ArviZ to rounding. With one chain R-hat is NaN
    and the check fails.

    Parameters
    ----------
    idata : arviz.InferenceData
        With ``posterior`` and ``sample_stats.diverging``.
    var_names : sequence of str, optional
        Variables to check; default all posterior variables.
    rhat_max, ess_min : float
        Thresholds for :attr:`ConvergenceReport.passed` (defaults from
        :cite:`vehtari2021rank`: R-hat < 1.01, ESS > 400 for 4 chains).

    Returns
    -------
    ConvergenceReport

    Raises
    ------
    ValueError
        If ``idata`` lacks a posterior, ``var_names`` names no variable or an unknown one,
        a checked variable has constant draws (R-hat and ESS are then undefined), or the
        thresholds are invalid.
    """

    check_positive(rhat_max, "rhat_max")
    check_positive(ess_min, "ess_min")
    if not hasattr(idata, "posterior"):
        raise ValueError("idata must hold a posterior group")
    if isinstance(var_names, str):
        raise ValueError(f"var_names must be a list of names, not one string {var_names!r}")
    names = list(var_names) if var_names is not None else list(idata.posterior.data_vars)
    if not names:
        raise ValueError("var_names: no variables to check")
    unknown = [name for name in names if name not in idata.posterior.data_vars]
    if unknown:
        raise ValueError(
            f"var_names: {unknown} not in the posterior ({list(idata.posterior.data_vars)})"
        )
    for name in names:
        draws = np.asarray(idata.posterior[name].to_numpy(), dtype=float)
        if not np.isfinite(draws).all():
            raise ValueError(f"idata: variable {name!r} has non-finite draws")
        flat = draws.reshape(draws.shape[0] * draws.shape[1], -1)
        if (np.ptp(flat, axis=0) == 0).any():
            raise ValueError(
                f"var_names: variable {name!r} has constant draws (in some element), so "
                "its R-hat and ESS are undefined; leave it out"
            )
    values = {name: _draw_matrix(idata.posterior[name]) for name in names}
    rhat, ess_bulk, ess_tail = _rank_diagnostics(np.concatenate(list(values.values())))
    sizes = np.cumsum([0, *(block.shape[0] for block in values.values())])
    blocks = {name: slice(sizes[i], sizes[i + 1]) for i, name in enumerate(names)}
    by_name = {name: float(np.max(rhat[blocks[name]])) for name in names}
    worst = max(names, key=lambda name: np.inf if np.isnan(by_name[name]) else by_name[name])
    max_rhat = by_name[worst]
    min_bulk, min_tail = float(np.min(ess_bulk)), float(np.min(ess_tail))
    divergences = (
        int(idata.sample_stats["diverging"].sum()) if hasattr(idata, "sample_stats") else 0
    )
    return ConvergenceReport(
        max_rhat, min_bulk, min_tail, divergences, worst, float(rhat_max), float(ess_min)
    )


@dataclass(frozen=True)
class PredictiveCheck:
    """Posterior predictive check of a known-SE hierarchical model.

    Attributes
    ----------
    table : pandas.DataFrame
        Per statistic: observed value, mean and 5%/95% quantiles of its replicated
        values, and the posterior predictive p-value ``P(T(y_rep) >= T(y))``.
    replicated : numpy.ndarray
        Replicated data sets, shape ``(n_replicates, n_units)``.
    observed : numpy.ndarray
        The observed estimates.
    """

    table: pd.DataFrame
    replicated: np.ndarray
    observed: np.ndarray


def check_posterior_predictive(
    fit: HierarchicalFit,
    *,
    new_units: bool = True,
    n_replicates: int = 1_000,
    rng: np.random.Generator | int | None = None,
) -> PredictiveCheck:
    """Replicate the units' estimates from the posterior and compare summary statistics.

    Returns the check's report (it raises only for invalid arguments): read its
    ``p_value`` column; a value near 0 or 1 flags a feature of the data the model cannot
    reproduce.

    With ``new_units=True`` (a *mixed* predictive check) each replicate draws fresh unit
    effects ``theta_rep ~ N(m_g, unit_sd^2)`` from the posterior hyperparameters and then
    ``y_rep ~ N(theta_rep, s_j^2)``: it tests the population (group and unit) layers,
    which the plain check (``new_units=False``, reusing the posterior ``theta_j``) can
    hardly fail because every unit has its own parameter :cite:`gelman2013bda` (ch. 6).
    Statistics: the sd of the estimates, the sd of the z-scores ``y / s``, the minimum,
    the maximum and the spread of the group means.

    Parameters
    ----------
    fit : HierarchicalFit
        A unit-level fit (not ``integrate_out_units``).
    new_units : bool
        Mixed (True) or plain (False) replication.
    n_replicates : int
        Number of replicated data sets (posterior draws used, at most all draws).
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    PredictiveCheck

    Raises
    ------
    ValueError
        If ``fit`` is not a unit-level :class:`HierarchicalFit`, or ``new_units``,
        ``n_replicates`` or ``rng`` is invalid.
    """
    if not isinstance(fit, HierarchicalFit):
        raise ValueError(f"fit must be a HierarchicalFit, got {type(fit).__name__}")
    new_units = check_flag(new_units, "new_units")
    n_replicates = check_integer(n_replicates, "n_replicates", minimum=10)
    rng = check_rng(rng)
    if "theta" not in fit.idata.posterior:
        raise ValueError("fit must be a unit-level fit (integrate_out_units=False)")
    y = fit.data["estimate"].to_numpy()
    s = fit.data["se"].to_numpy()
    codes = fit.details["codes"]
    n_draws = fit.idata.posterior.sizes["chain"] * fit.idata.posterior.sizes["draw"]
    pick = rng.choice(n_draws, size=min(n_replicates, n_draws), replace=False)
    if new_units:
        group_mean = stack(fit.idata, "group_mean")[pick][:, codes]
        unit_sd = stack(fit.idata, "unit_sd")[pick][:, None]
        theta = group_mean + unit_sd * rng.standard_normal(group_mean.shape)
    else:
        theta = stack(fit.idata, "theta")[pick]
    replicated = theta + s * rng.standard_normal(theta.shape)
    indicators = onehot(codes, len(fit.details["group_labels"]))
    counts = indicators.sum(axis=0)

    def statistics(values: np.ndarray) -> dict[str, np.ndarray]:
        values = np.atleast_2d(values)
        group_means = values @ indicators / counts
        return {
            "sd of estimates": values.std(axis=1, ddof=1),
            "sd of z-scores": (values / s).std(axis=1, ddof=1),
            "minimum": values.min(axis=1),
            "maximum": values.max(axis=1),
            "sd of group means": group_means.std(axis=1, ddof=1)
            if indicators.shape[1] > 1
            else np.zeros(len(values)),
        }

    observed_stats, replicated_stats = statistics(y), statistics(replicated)
    rows = []
    for name, observed_value in observed_stats.items():
        values = replicated_stats[name]
        rows.append(
            {
                "statistic": name,
                "observed": float(observed_value[0]),
                "replicated_mean": float(values.mean()),
                "replicated_q05": float(np.quantile(values, 0.05)),
                "replicated_q95": float(np.quantile(values, 0.95)),
                "p_value": float((values >= observed_value[0]).mean()),
            }
        )
    return PredictiveCheck(pd.DataFrame(rows).set_index("statistic"), replicated, y)


def _psis_loo(idata: Any) -> Any:
    """``arviz.loo(idata, pointwise=True)``; the Pareto-k warning is left to the callers,
    which report the count of high ``k``."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Estimated shape parameter of Pareto", category=UserWarning
        )
        return load_arviz().loo(idata, pointwise=True)


def compute_loo(idata: Any, threshold: float = 0.7) -> dict[str, float]:
    """PSIS-LOO of a fit and how many observations have Pareto ``k`` above ``threshold``.

    Above 0.7 the importance-sampling estimate of that observation's leave-one-out
    density is unreliable :cite:`vehtari2017practical`; many such ``k`` mean the LOO
    comparison cannot be trusted. ArviZ's warning about them is silenced here because
    the count is returned.

    Parameters
    ----------
    idata : arviz.InferenceData
        With a ``log_likelihood`` group.
    threshold : float
        The reliability threshold for ``k``.

    Returns
    -------
    dict
        ``elpd_loo``, ``se``, ``p_loo``, ``n_high_k`` (count above ``threshold``),
        ``max_k`` and ``n`` (number of observations).

    Raises
    ------
    ValueError
        If ``idata`` has no log-likelihood or ``threshold`` is not positive.
    """

    check_positive(threshold, "threshold")
    if not hasattr(idata, "groups") or "log_likelihood" not in idata.groups():
        raise ValueError("idata must hold a log_likelihood group")
    loo = _psis_loo(idata)
    k = np.asarray(loo.pareto_k)
    return {
        "elpd_loo": float(loo.elpd_loo),
        "se": float(loo.se),
        "p_loo": float(loo.p_loo),
        "n_high_k": int((k > threshold).sum()),
        "max_k": float(k.max()),
        "n": int(k.size),
    }


@dataclass(frozen=True)
class GroupingComparison:
    """Candidate groupings of the units compared by PSIS-LOO.

    Attributes
    ----------
    table : pandas.DataFrame
        The ``arviz.compare`` table, best grouping first (rank, elpd_loo, p_loo,
        elpd_diff, weight, se, dse, warning), plus ``n_high_k`` (Pareto ``k`` above 0.7).
    fits : Mapping[str, HierarchicalFit]
        The fit of each grouping (unit effects integrated out), by name.
    """

    table: pd.DataFrame
    fits: Mapping[str, HierarchicalFit]

    @property
    def best(self) -> str:
        """The grouping that predicts held-out units best (rank 0)."""
        return str(self.table.index[0])


def fit_groupings(
    effects: Estimates,
    groupings: Mapping[str, Any],
    *,
    draws: int = 1_000,
    tune: int = 1_000,
    chains: int = 4,
    cores: int = 2,
    rng: np.random.Generator | int | None = None,
) -> GroupingComparison:
    """Fit one hierarchical model per pre-specified grouping and compare them by PSIS-LOO.

    Each grouping defines a hierarchical model in which the unit effects are integrated
    out analytically (``y_j ~ N(m_{g(j)}, unit_sd^2 + s_j^2)``, see
    :func:`~playbook_lib.hbm.fit_hierarchical_model` with ``integrate_out_units=True``),
    compared by ``arviz.compare``. With one parameter per unit the unit-level model's
    leave-one-out densities are dominated by each unit's own effect and PSIS fails (many
    Pareto ``k > 0.7``); the marginal model predicts a held-out unit from its group alone,
    which is the question a grouping answers :cite:`vehtari2017practical`. Groupings must
    be chosen before looking at the estimates: choosing them by regressing the estimates
    on candidate features and then pooling by the winners uses the data twice.

    Parameters
    ----------
    effects : Estimates
        One row per unit with a unique label: estimate and positive standard error.
    groupings : Mapping[str, array-like]
        At least two candidate groupings by name, each one group per unit (a Series aligned
        by label, a sequence by position). Fitted in this order, from one ``rng``.
    draws, tune, chains, cores : int
        Sampler settings.
    rng : numpy.random.Generator, int or None
        Seed source.

    Returns
    -------
    GroupingComparison
        The comparison table and the fits by grouping.

    Raises
    ------
    ValueError
        If ``groupings`` is not a mapping of at least two groupings, a grouping misses a
        unit or has missing entries (the message names it), the data are invalid (see
        :func:`~playbook_lib.hbm.fit_hierarchical_model`), or a sampler setting or ``rng``
        is invalid; all checked before any model is sampled.
    """
    if not isinstance(groupings, Mapping):
        raise ValueError(
            f"groupings must be a mapping of names to group labels, got {type(groupings).__name__}"
        )
    if len(groupings) < 2:
        raise ValueError("groupings must hold at least two candidate groupings")
    check_sampler_settings(draws, tune, chains, cores, 0.9)
    rng = check_rng(rng)
    for name, groups in groupings.items():
        unit_data(effects, groups, groups_name=f"groupings[{name!r}]")
    fits = {
        name: fit_hierarchical_model(
            effects,
            groups,
            integrate_out_units=True,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            rng=rng,
        )
        for name, groups in groupings.items()
    }
    loos = {name: _psis_loo(fit.idata) for name, fit in fits.items()}
    with warnings.catch_warnings():
        # The Pareto-k count is reported in the table's n_high_k column.
        warnings.filterwarnings(
            "ignore", message="Estimated shape parameter of Pareto", category=UserWarning
        )
        # ArviZ 0.23 calls DataFrame.sort_values(inplace=True), deprecated in pandas 3.1.
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.sort_values")
        table = load_arviz().compare(loos, ic="loo")
    table["n_high_k"] = [int((np.asarray(loos[name].pareto_k) > 0.7).sum()) for name in table.index]
    return GroupingComparison(table, fits)
