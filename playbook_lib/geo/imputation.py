"""Staggered adoption: the imputation estimator of :cite:`borusyak2024revisiting`, fitted once.

:func:`fit_imputation` fits the two-way model on untreated observations and imputes every
treated observation's untreated outcome; the returned :class:`ImputationFit` answers the
questions one fit can answer without refitting: the overall average effect on the treated
(:meth:`ImputationFit.overall`), effects by periods since adoption
(:meth:`ImputationFit.by_horizon`), by treated unit (:meth:`ImputationFit.by_unit`) and the
covariance of the unit effects (:meth:`ImputationFit.unit_covariance`). The functions
:func:`estimate_imputation`, :func:`imputation_horizon_effects`,
:func:`imputation_unit_effects` and :func:`imputation_unit_effect_covariance` are one-call
shortcuts (each fits once).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from playbook_lib.geo._checks import (
    _codes,
    _dummies,
    _estimates_table,
    _label_column,
)
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import (
    check_alpha,
    check_choice,
    column_as_float_array,
    require_columns,
)

__all__ = [
    "ImputationFit",
    "estimate_imputation",
    "fit_imputation",
    "imputation_horizon_effects",
    "imputation_unit_effect_covariance",
    "imputation_unit_effects",
]

_VARIANCES = ("cluster", "homoskedastic", "leave_out")
_VARIANCE_DOC = """\
variance : {"cluster", "homoskedastic", "leave_out"}
        ``"cluster"`` (default): the variance of :cite:`borusyak2024revisiting` clustered by
        unit (their Theorem 3), with treated-observation residuals taken around
        cohort-by-period means, and a t(G - 1) reference (our small-sample choice; they
        use the normal). It is robust to serial correlation and heteroskedasticity, and
        conservative when effects vary within a cohort, but only when each cohort-period
        cell holds several units: a cell mean over one or two units absorbs their own
        noise, so with tiny cohorts the variance understates. ``"leave_out"``: the same
        clustered variance with each treated residual taken around the mean of the
        *other* units in its cohort-period cell (falling back to the other units at the
        same horizon, then to all other treated units, when the cell has no other unit),
        the leave-out variant of :cite:`borusyak2024revisiting`: it does not absorb a
        unit's own noise, so it stays conservative with cells of one or two units, at
        the price of wider intervals. ``"homoskedastic"``: exact
        under independent, equal-variance noise,
        ``sigma^2 (sum_it w_it^2 + c' (Z0'Z0)^-1 c)``, with a t reference on the untreated
        fit's residual df; too small when outcomes are serially correlated."""


def _design_sums(
    unit_codes: np.ndarray, time_codes: np.ndarray, n_units: int, n_times: int, weights: np.ndarray
) -> np.ndarray:
    """``Z' weights`` (p, K) for the rows whose codes are given, without forming ``Z``
    (unit dummies, then period dummies without the first period)."""
    out = np.zeros((n_units + n_times, weights.shape[1]))
    np.add.at(out, unit_codes, weights)
    np.add.at(out, n_units + time_codes, weights)
    return np.delete(out, n_units, axis=0)


def _design_times(
    unit_codes: np.ndarray, time_codes: np.ndarray, n_units: int, coefficients: np.ndarray
) -> np.ndarray:
    """``Z @ coefficients`` (n_rows, K) for the rows whose codes are given."""
    time_part = np.vstack([np.zeros((1, coefficients.shape[1])), coefficients[n_units:]])
    return coefficients[unit_codes] + time_part[time_codes]


@dataclass(frozen=True, eq=False)
class ImputationFit:
    """One imputation fit of a staggered-adoption panel (see :func:`fit_imputation`).

    The two-way model ``Y_it = alpha_i + lambda_t + e_it`` fitted by OLS on untreated
    observations, and the imputed effect ``tau_it = Y_it - alpha_i - lambda_t`` of every
    treated observation. Every estimate is a weighted average of the ``tau_it``, linear
    in ``Y`` with weights ``v`` (``v = w`` on treated rows and ``-Z0 (Z0'Z0)^-1 Z1' w`` on
    untreated ones), so one fit serves every weighting.

    Attributes
    ----------
    unit : str
        The unit column's name (it labels the unit effects and their covariance).
    units, times : numpy.ndarray
        Sorted unit and period labels.
    unit_codes, time_codes : numpy.ndarray
        Each observation's unit and period index into ``units`` and ``times``.
    is_treated : numpy.ndarray
        Whether each observation is treated (``time >= first_treated``).
    cohort, horizon : numpy.ndarray
        First treated period and periods since adoption of each treated observation (in
        data order of the treated observations).
    tau : numpy.ndarray
        Imputed effect of each treated observation.
    residual : numpy.ndarray
        Untreated residual of each observation (0 for treated ones).
    inverse_gram : numpy.ndarray
        ``(Z0'Z0)^-1`` of the untreated design (unit dummies, period dummies without the
        first period).
    sigma2 : float
        Residual variance of the untreated fit, with ``df_resid`` degrees of freedom.
    df_resid : int
        Residual degrees of freedom of the untreated fit.
    """

    unit: str
    units: np.ndarray = field(repr=False)
    times: np.ndarray = field(repr=False)
    unit_codes: np.ndarray = field(repr=False)
    time_codes: np.ndarray = field(repr=False)
    is_treated: np.ndarray = field(repr=False)
    cohort: np.ndarray = field(repr=False)
    horizon: np.ndarray = field(repr=False)
    tau: np.ndarray = field(repr=False)
    residual: np.ndarray = field(repr=False)
    inverse_gram: np.ndarray = field(repr=False)
    sigma2: float
    df_resid: int

    def __repr__(self) -> str:
        return (
            f"ImputationFit({self.units.size} units, {self.times.size} periods, "
            f"{int(self.is_treated.sum())} treated observations, sigma2={self.sigma2:.4g})"
        )

    # ------------------------------------------------------------------ weights and variances
    def _treated_sums(self, weights: np.ndarray) -> np.ndarray:
        rows = self.is_treated
        return _design_sums(
            self.unit_codes[rows],
            self.time_codes[rows],
            self.units.size,
            self.times.size,
            weights,
        )

    def _linear_weights(self, weights: np.ndarray) -> np.ndarray:
        """Full-sample weights ``v`` (n_obs, K) with ``estimate_k = sum_i v_ik y_i``."""
        untreated = ~self.is_treated
        v = np.zeros((self.is_treated.size, weights.shape[1]))
        v[self.is_treated] = weights
        v[untreated] = -_design_times(
            self.unit_codes[untreated],
            self.time_codes[untreated],
            self.units.size,
            self.inverse_gram @ self._treated_sums(weights),
        )
        return v

    @staticmethod
    def _group_sums(
        group_codes: np.ndarray, weights: np.ndarray, tau: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        n_groups = int(group_codes.max()) + 1
        numerator = np.zeros((n_groups, weights.shape[1]))
        denominator = np.zeros_like(numerator)
        np.add.at(numerator, group_codes, weights * tau[:, None])
        np.add.at(denominator, group_codes, weights)
        return numerator, denominator

    def _leave_out_means(self, group_codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Each treated observation's weighted mean effect over the *other* observations of
        its group (one per unit and period, so "other" means other units), falling back
        to its horizon and then to every treated observation when its group has none."""
        tau = self.tau
        mean = np.full(weights.shape, np.nan)
        horizon_codes, _ = _codes(pd.Series(self.horizon))
        for codes in (group_codes, horizon_codes, np.zeros(tau.size, dtype=np.int64)):
            numerator, denominator = self._group_sums(codes, weights, tau)
            rest = denominator[codes] - weights
            own = numerator[codes] - weights * tau[:, None]
            usable = np.isnan(mean) & (rest > 1e-12 * np.abs(denominator[codes]).max())
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = np.where(usable, own / rest, mean)
        return np.nan_to_num(mean, nan=0.0)

    def _cluster_variance(self, weights: np.ndarray, leave_out: bool = False) -> np.ndarray:
        """The conservative clustered variance, one per weight column: treated residuals
        are taken around weighted cohort-by-period means of the imputed effects (or, with
        ``leave_out``, the other units' means), so effect heterogeneity within a
        cohort-period adds to the variance."""
        v = self._linear_weights(weights)
        cohort_codes, _ = _codes(pd.Series(self.cohort))
        group_codes = cohort_codes * self.times.size + self.time_codes[self.is_treated]
        residual = np.repeat(self.residual[:, None], weights.shape[1], axis=1)
        if leave_out:
            residual[self.is_treated] = self.tau[:, None] - self._leave_out_means(
                group_codes, weights
            )
        else:
            numerator, denominator = self._group_sums(group_codes, weights, self.tau)
            group_mean = np.divide(
                numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0
            )
            residual[self.is_treated] = self.tau[:, None] - group_mean[group_codes]
        cluster_sums = np.zeros((self.units.size, weights.shape[1]))
        np.add.at(cluster_sums, self.unit_codes, v * residual)
        return (cluster_sums**2).sum(axis=0)

    def _homoskedastic_variance(self, weights: np.ndarray) -> np.ndarray:
        c = self._treated_sums(weights)
        return self.sigma2 * (
            (weights**2).sum(axis=0) + np.einsum("pk,pq,qk->k", c, self.inverse_gram, c)
        )

    def _variance_and_df(self, weights: np.ndarray, variance: str) -> tuple[np.ndarray, float]:
        if variance in ("cluster", "leave_out"):
            leave_out = variance == "leave_out"
            return self._cluster_variance(weights, leave_out), float(self.units.size - 1)
        return self._homoskedastic_variance(weights), float(self.df_resid)

    def _unit_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        treated_units, codes = np.unique(self.unit_codes[self.is_treated], return_inverse=True)
        indicator = _dummies(codes.astype(np.int64), treated_units.size, False)
        counts = indicator.sum(axis=0)
        return treated_units, indicator / counts, counts

    # ------------------------------------------------------------------ answers
    def overall(self, *, alpha: float = 0.05, variance: str = "cluster") -> Estimate:
        """The average effect on the treated: the mean of ``tau_it`` over treated observations.

        Parameters
        ----------
        alpha : float
            One minus the interval's coverage.
        {variance}

        Returns
        -------
        Estimate
            Method ``"imputation (bjs)"``; ``details`` has the numbers of treated
            observations, treated units and clusters, and the variance used.

        Raises
        ------
        ValueError
            If ``alpha`` or ``variance`` is invalid.
        """
        alpha = check_alpha(alpha)
        check_choice(variance, "variance", _VARIANCES)
        n_treated = int(self.is_treated.sum())
        var, df = self._variance_and_df(np.full((n_treated, 1), 1.0 / n_treated), variance)
        return Estimate.from_standard_error(
            "imputation (bjs)",
            float(self.tau.mean()),
            float(np.sqrt(max(var[0], 0.0))),
            alpha=alpha,
            df=df,
            details={
                "n_treated_observations": n_treated,
                "n_treated_units": int(np.unique(self.unit_codes[self.is_treated]).size),
                "n_clusters": int(self.units.size),
                "variance": variance,
            },
        )

    def by_horizon(self, *, alpha: float = 0.05, variance: str = "cluster") -> Estimates:
        """Average effects by periods since adoption (event time) ``h = time - first_treated``.

        Each horizon's estimate averages ``tau_it`` over the treated observations at that
        horizon; later horizons rest on fewer (earlier) cohorts.

        Parameters
        ----------
        alpha : float
            One minus the intervals' coverage.
        {variance}

        Returns
        -------
        Estimates
            Method ``"imputation (bjs)"``, one row per horizon ``h >= 0`` (labelled by
            ``h``), with extra columns ``horizon``, ``n_observations`` and ``n_cohorts``.

        Raises
        ------
        ValueError
            If ``alpha`` or ``variance`` is invalid.
        """
        alpha = check_alpha(alpha)
        check_choice(variance, "variance", _VARIANCES)
        horizons, codes = np.unique(self.horizon, return_inverse=True)
        indicator = _dummies(codes.astype(np.int64), horizons.size, False)
        counts = indicator.sum(axis=0)
        weights = indicator / counts
        var, df = self._variance_and_df(weights, variance)
        cohort_codes, _ = _codes(pd.Series(self.cohort))
        cells = np.unique(np.column_stack([codes, cohort_codes]), axis=0)
        return _estimates_table(
            "imputation (bjs)",
            weights.T @ self.tau,
            np.sqrt(np.maximum(var, 0.0)),
            alpha=alpha,
            df=np.full(horizons.size, df),
            labels=list(horizons),
            columns={
                "horizon": horizons,
                "n_observations": counts.astype(int),
                "n_cohorts": np.bincount(cells[:, 0], minlength=horizons.size),
            },
        )

    def by_unit(self, *, alpha: float = 0.05) -> Estimates:
        """Each treated unit's average effect over its treated periods.

        ``tau_i = mean_t (Y_it - alpha_i - lambda_t)`` over the unit's treated periods. Its
        error has two parts: the noise of the unit's own treated outcomes and the error of
        the imputed ``Y_it(0)`` (of ``alpha_i`` and of the period effects). Assuming
        independent noise with one variance ``sigma^2`` (estimated from the untreated fit),

        ``Var(tau_i) = sigma^2 (1 / T_i + c_i' (Z0'Z0)^-1 c_i)``

        where ``T_i`` is the number of treated periods and ``c_i`` the mean design row of
        the unit's treated observations; intervals use t with the untreated fit's
        residual df. Cluster-robust errors are impossible for one unit, so these standard
        errors are too small when a unit's outcomes are serially correlated (compare
        :meth:`overall` with ``variance="homoskedastic"`` and the clustered default
        before trusting them).

        The unit estimates are **correlated**: every unit treated in period ``t`` shares
        the error of the same ``lambda_t`` (:meth:`unit_covariance` returns the full
        covariance). Treating them as independent, as a second-stage model that pools
        them usually does, understates the uncertainty of any average over units.

        Parameters
        ----------
        alpha : float
            One minus the intervals' coverage.

        Returns
        -------
        Estimates
            Method ``"imputation (bjs), unit"``, one row per treated unit (labelled by
            unit), with extra columns named by the unit column (the unit label),
            ``n_treated_periods`` and ``first_treated``.

        Raises
        ------
        ValueError
            If ``alpha`` is invalid.
        """
        alpha = check_alpha(alpha)
        treated_units, weights, counts = self._unit_weights()
        unit_codes = self.unit_codes[self.is_treated]
        first_treated = np.zeros(self.units.size)
        first_treated[unit_codes] = self.cohort  # constant within a unit
        labels = self.units[treated_units]
        return _estimates_table(
            "imputation (bjs), unit",
            weights.T @ self.tau,
            np.sqrt(self._homoskedastic_variance(weights)),
            alpha=alpha,
            df=np.full(treated_units.size, float(self.df_resid)),
            labels=list(labels),
            columns={
                self.unit: labels,
                "n_treated_periods": counts.astype(int),
                "first_treated": first_treated[treated_units],
            },
        )

    def unit_covariance(self) -> pd.DataFrame:
        """Covariance matrix of the unit effects of :meth:`by_unit` (same assumptions).

        ``Cov(tau_i, tau_j) = sigma^2 (1[i = j] / T_i + c_i' (Z0'Z0)^-1 c_j)``: off-diagonal
        terms are positive when units share treated periods (they share imputed period
        effects). Its diagonal is the square of :meth:`by_unit`'s ``se``.

        Returns
        -------
        pandas.DataFrame
            Square, indexed and labelled by treated unit (index name: the unit column).
        """
        treated_units, weights, counts = self._unit_weights()
        c = self._treated_sums(weights)
        covariance = self.sigma2 * (np.diag(1.0 / counts) + c.T @ self.inverse_gram @ c)
        labels = pd.Index(self.units[treated_units], name=self.unit)
        return pd.DataFrame(covariance, index=labels, columns=labels)


for _method in (ImputationFit.overall, ImputationFit.by_horizon):
    _method.__doc__ = (_method.__doc__ or "").replace("{variance}", _VARIANCE_DOC)


def fit_imputation(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    first_treated: str = "first_treated",
) -> ImputationFit:
    """Fit the imputation estimator of :cite:`borusyak2024revisiting` once.

    (1) Fit ``Y_it = alpha_i + lambda_t + e_it`` by OLS on untreated observations only
    (never-treated and not-yet-treated); (2) impute ``Y_it(0) = alpha_i + lambda_t`` for
    each treated observation and take ``tau_it = Y_it - Y_it(0)``. The returned fit
    averages the ``tau_it`` overall, by horizon or by unit. Unlike two-way fixed effects it
    never uses already-treated units as controls, so effects that vary by cohort and over
    time since adoption do not bias it.

    Assumes parallel trends (the two-way model holds for untreated outcomes) and no
    anticipation (units are untreated before ``first_treated``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel with columns ``unit``, ``time`` (numeric), ``outcome`` and
        ``first_treated`` (the first treated period, NaN for never-treated units;
        constant within unit). Observation ``it`` is treated when
        ``time >= first_treated``.
    unit, time, outcome, first_treated : str
        Column names.

    Returns
    -------
    ImputationFit
        The fit; ask it :meth:`~ImputationFit.overall`, :meth:`~ImputationFit.by_horizon`,
        :meth:`~ImputationFit.by_unit` or :meth:`~ImputationFit.unit_covariance`.

    Raises
    ------
    ValueError
        Missing columns or no rows; a non-finite outcome; a time column that is not
        numeric or has missing values; a missing unit; a non-numeric ``first_treated``;
        duplicated unit-periods; ``first_treated`` varying within a unit; no treated
        observations; a unit treated in every period; a period in which every unit is
        treated; a panel whose untreated observations do not identify the unit and
        period effects, or leave no residual degrees of freedom.
    """
    require_columns(data, unit=unit, time=time, outcome=outcome, first_treated=first_treated)
    y = column_as_float_array(data, outcome, "outcome")
    time_values = column_as_float_array(data, time, "time")
    adoption = column_as_float_array(data, first_treated, "first_treated", allow_nan=True)
    unit_codes, units = _codes(_label_column(data, unit, "unit"))
    time_codes, times = _codes(data[time])
    n_units, n_times = units.size, times.size
    if np.unique(unit_codes * n_times + time_codes).size < y.size:
        raise ValueError(f"unit/time: duplicated unit-period rows in {unit!r}/{time!r}")
    filled = np.where(np.isnan(adoption), np.inf, adoption)
    low = np.full(n_units, np.inf)
    high = np.full(n_units, -np.inf)
    np.minimum.at(low, unit_codes, filled)
    np.maximum.at(high, unit_codes, filled)
    if np.any(low != high):
        raise ValueError(f"first_treated column {first_treated!r} must be constant within a unit")
    is_treated = time_values >= filled
    if not is_treated.any():
        raise ValueError(f"first_treated: no treated observations in column {first_treated!r}")
    untreated = ~is_treated
    counts = np.bincount(
        unit_codes[untreated] * n_times + time_codes[untreated], minlength=n_units * n_times
    ).reshape(n_units, n_times)
    if np.any(counts.sum(axis=1) == 0):
        always = units[counts.sum(axis=1) == 0].tolist()[:5]
        raise ValueError(
            f"first_treated: unit(s) {always} are treated in every observed "
            "period, so their untreated outcome cannot be imputed; drop them"
        )
    if np.any(counts.sum(axis=0) == 0):
        bad = times[counts.sum(axis=0) == 0].tolist()[:5]
        raise ValueError(
            f"first_treated: in period(s) {bad} every unit is treated, so no "
            "period effect can be estimated; drop those periods"
        )
    # Gram matrix of [unit dummies, period dummies except the first] on untreated rows
    p = n_units + n_times - 1
    gram = np.zeros((p, p))
    gram[:n_units, :n_units] = np.diag(counts.sum(axis=1))
    gram[:n_units, n_units:] = counts[:, 1:]
    gram[n_units:, :n_units] = counts[:, 1:].T
    gram[n_units:, n_units:] = np.diag(counts.sum(axis=0)[1:])
    try:  # full rank when untreated observations connect every unit and period
        np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        raise ValueError(
            "data: unit and period effects are not identified from the untreated "
            "observations (disconnected panel)"
        ) from None
    df_resid = int(untreated.sum() - p)
    if df_resid < 1:
        raise ValueError(
            "data: too few untreated observations to estimate unit and period effects and the noise"
        )
    inverse_gram = np.linalg.inv(gram)
    coefficients = inverse_gram @ _design_sums(
        unit_codes[untreated], time_codes[untreated], n_units, n_times, y[untreated, None]
    )
    fitted = _design_times(unit_codes, time_codes, n_units, coefficients)[:, 0]
    residual = np.where(is_treated, 0.0, y - fitted)
    return ImputationFit(
        unit=unit,
        units=units,
        times=times,
        unit_codes=unit_codes,
        time_codes=time_codes,
        is_treated=is_treated,
        cohort=adoption[is_treated],
        horizon=time_values[is_treated] - adoption[is_treated],
        tau=(y - fitted)[is_treated],
        residual=residual,
        inverse_gram=inverse_gram,
        sigma2=float(residual @ residual / df_resid),
        df_resid=df_resid,
    )


def estimate_imputation(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    first_treated: str = "first_treated",
    alpha: float = 0.05,
    variance: str = "cluster",
) -> Estimate:
    """Imputation estimate of the average effect on the treated under staggered adoption.

    ``fit_imputation(data, ...).overall(alpha=alpha, variance=variance)``: the mean of the
    imputed effects over all treated observations :cite:`borusyak2024revisiting`. Fit once
    with :func:`fit_imputation` to ask several questions of the same panel.

    Parameters
    ----------
    data, unit, time, outcome, first_treated
        The panel and its column names, as for :func:`fit_imputation`.
    alpha : float
        One minus the interval's coverage.
    variance : {"cluster", "homoskedastic", "leave_out"}
        See :meth:`ImputationFit.overall`.

    Returns
    -------
    Estimate
        Method ``"imputation (bjs)"`` (see :meth:`ImputationFit.overall`).

    Raises
    ------
    ValueError
        As :func:`fit_imputation`; an invalid ``alpha`` or an unknown ``variance``.
    """
    return fit_imputation(
        data, unit=unit, time=time, outcome=outcome, first_treated=first_treated
    ).overall(alpha=alpha, variance=variance)


def imputation_horizon_effects(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    first_treated: str = "first_treated",
    alpha: float = 0.05,
    variance: str = "cluster",
) -> Estimates:
    """Imputation estimates of the average effect by periods since adoption (event time).

    ``fit_imputation(data, ...).by_horizon(alpha=alpha, variance=variance)``.

    Parameters
    ----------
    data, unit, time, outcome, first_treated, alpha, variance
        As for :func:`estimate_imputation` (``alpha``: one minus the intervals' coverage).

    Returns
    -------
    Estimates
        One row per horizon (see :meth:`ImputationFit.by_horizon`).

    Raises
    ------
    ValueError
        As :func:`estimate_imputation`.
    """
    return fit_imputation(
        data, unit=unit, time=time, outcome=outcome, first_treated=first_treated
    ).by_horizon(alpha=alpha, variance=variance)


def imputation_unit_effects(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    first_treated: str = "first_treated",
    alpha: float = 0.05,
) -> Estimates:
    """Per-unit imputation estimates: each treated unit's average effect over its treated periods.

    ``fit_imputation(data, ...).by_unit(alpha=alpha)``; the standard errors assume
    independent, equal-variance noise and the estimates are correlated across units (see
    :meth:`ImputationFit.by_unit` and :func:`imputation_unit_effect_covariance`).

    Parameters
    ----------
    data, unit, time, outcome, first_treated, alpha
        As for :func:`estimate_imputation` (``alpha``: one minus the intervals' coverage).

    Returns
    -------
    Estimates
        One row per treated unit, with extra columns ``unit`` (named by the ``unit``
        argument), ``n_treated_periods`` and ``first_treated``.

    Raises
    ------
    ValueError
        As :func:`fit_imputation`; an invalid ``alpha``.
    """
    return fit_imputation(
        data, unit=unit, time=time, outcome=outcome, first_treated=first_treated
    ).by_unit(alpha=alpha)


def imputation_unit_effect_covariance(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    first_treated: str = "first_treated",
) -> pd.DataFrame:
    """Covariance matrix of the per-unit imputation estimates (same assumptions).

    ``fit_imputation(data, ...).unit_covariance()``: positive off-diagonal terms where
    units share treated periods (see :meth:`ImputationFit.unit_covariance`).

    Parameters
    ----------
    data, unit, time, outcome, first_treated
        The panel and its column names, as for :func:`fit_imputation`.

    Returns
    -------
    pandas.DataFrame
        Square, indexed and labelled by treated unit.

    Raises
    ------
    ValueError
        As :func:`fit_imputation`.
    """
    return fit_imputation(
        data, unit=unit, time=time, outcome=outcome, first_treated=first_treated
    ).unit_covariance()
