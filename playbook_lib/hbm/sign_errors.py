"""Per-unit decisions and their sign and magnitude errors: measured, and in closed form.

A per-unit decision turns a treatment on for the units whose effect looks positive: those
whose ``1 - alpha`` interval lies above zero (for a posterior, ``P(theta_j > 0 | y) >
1 - alpha / 2``), or those whose estimate is positive (the expected-gain rule when turning
on costs nothing). :func:`compute_sign_errors` scores such decisions against a simulation's
truth; :func:`compute_expected_sign_errors` gives the same rates in closed form under the
normal-normal model. The errors are those of :cite:`gelman2014beyond`: a **Type S** (sign)
error is a unit turned on whose true effect is negative, and the **Type M** (magnitude)
error is the exaggeration ratio, the estimated over the true effect of the units turned on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from playbook_lib.hbm._checks import numeric_array
from playbook_lib.hbm.accuracy import (
    _matched_rows,
    _summarize_by_stratum,
    _truth_column_values,
    _truth_frame,
)
from playbook_lib.results import Estimates
from playbook_lib.validation import (
    check_alpha,
    check_choice,
    check_finite_number,
    check_integer,
    check_positive,
)

__all__ = ["compute_expected_sign_errors", "compute_sign_errors"]

_RULES = ("interval", "estimate")


def _summarize_decisions(part: pd.DataFrame, clustered: bool) -> dict[str, float]:
    selected = part["selected"].to_numpy()
    wrong = selected & (part["truth"].to_numpy() < 0)
    n_selected = int(selected.sum())
    type_s = wrong.sum() / n_selected if n_selected else np.nan
    true_selected = part["truth"].to_numpy()[selected].sum()
    row: dict[str, float] = {"n": len(part)}
    if clustered:
        sums = (
            part.assign(wrong=wrong.astype(float), selected=selected.astype(float))
            .groupby("cluster")[["wrong", "selected"]]
            .sum()
        )
        n_clusters = len(sums)
        row["clusters"] = n_clusters
        # Ratio estimator over independent clusters (delta method).
        residual = sums["wrong"] - type_s * sums["selected"]
        mc_se = (
            np.sqrt(n_clusters / (n_clusters - 1) * (residual**2).sum()) / n_selected
            if n_clusters > 1 and n_selected
            else np.nan
        )
    else:
        mc_se = np.sqrt(type_s * (1 - type_s) / n_selected) if n_selected else np.nan
    row.update(
        {
            "selected": float(selected.mean()),
            "type_s": float(type_s),
            "type_s_mc_se": float(mc_se),
            "exaggeration": float(part["estimate"].to_numpy()[selected].sum() / true_selected)
            if n_selected and true_selected != 0
            else np.nan,
            "true_gain": float(np.where(selected, part["truth"].to_numpy(), 0.0).mean()),
        }
    )
    return row


def compute_sign_errors(
    estimates: Estimates,
    truth: pd.DataFrame | pd.Series,
    *,
    rule: str = "interval",
    truth_column: str = "true_effect",
    by: str | None = None,
    bins: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    cluster: str | None = None,
) -> pd.DataFrame:
    """Score a per-unit "turn it on" decision against the simulated truth, matched by label.

    A unit is selected when its interval lies above zero (``rule="interval"``:
    ``ci_low > 0``; for a posterior with an equal-tailed ``1 - alpha`` interval this is
    ``P(theta > 0 | y) > 1 - alpha / 2``, for an unpooled estimate the usual "significant
    and positive") or when its estimate is positive (``rule="estimate"``: a posterior mean
    above zero, the rule that maximises the expected gain when turning on costs nothing).
    Following :cite:`gelman2014beyond`, for each stratum it reports the share of units
    selected, the **Type S** rate (share of the selected units whose true effect is
    negative) and the **Type M** error as the exaggeration ratio
    ``sum(estimate) / sum(true effect)`` over the selected units (the ratio of means,
    which stays finite when some true effects are near zero), and the true gain per unit
    (mean over all units of the true effect times the selection indicator).

    Parameters
    ----------
    estimates : Estimates
        Per-unit results with unique labels.
    truth : pandas.DataFrame or pandas.Series
        Indexed by the same labels: ``truth_column`` and any columns used by ``by`` or
        ``cluster``.
    rule : {"interval", "estimate"}
        The selection rule (above).
    truth_column : str
        The true effect.
    by, bins, labels : optional
        Strata, as in :func:`~playbook_lib.hbm.compute_accuracy`.
    cluster : str, optional
        Column or index level of independent replications: the Monte Carlo SE of the
        Type S rate is then the delta-method SE of a ratio of cluster totals.

    Returns
    -------
    pandas.DataFrame
        One row per stratum plus ``"all"``: ``n, selected, type_s, type_s_mc_se,
        exaggeration, true_gain`` (and ``clusters`` with ``cluster``). ``type_s`` and
        ``exaggeration`` are NaN in a stratum where no unit is selected.

    Raises
    ------
    ValueError
        As :func:`~playbook_lib.hbm.compute_accuracy` for the estimates, the truth and the
        strata; if ``rule`` is not one of the two rules.
    """
    check_choice(rule, "rule", _RULES)
    truth = _truth_frame(truth, truth_column)
    frame, merged = _matched_rows(estimates, truth)
    column = "ci_low" if rule == "interval" else "estimate"
    table = pd.DataFrame(
        {
            "selected": frame[column].to_numpy() > 0,
            "estimate": frame["estimate"].to_numpy(),
            "truth": merged[truth_column].to_numpy(dtype=float),
        }
    )
    if cluster is not None:
        table["cluster"] = _truth_column_values(merged, cluster, "cluster").to_numpy()
    return _summarize_by_stratum(
        table,
        merged,
        by,
        bins,
        labels,
        lambda part: _summarize_decisions(part, cluster is not None),
    )


def _bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """``P(U <= h, V <= k)`` for standard normals with correlation ``|rho| < 1``, by Owen's T.

    ``Phi2 = Phi(h)/2 + Phi(k)/2 - T(h, a_h) - T(k, a_k) - beta`` with
    ``a_h = (k - rho h) / (h sqrt(1 - rho^2))`` (and ``a_k`` alike) and ``beta = 1/2`` when
    ``h k < 0`` (or one is 0 and ``h + k < 0``) :cite:`owen1956tables`; an argument that is
    exactly 0 is moved by 1e-12 (the function is continuous).
    """
    h, k, rho = np.broadcast_arrays(*(np.asarray(value, dtype=float) for value in (h, k, rho)))
    h = np.where(h == 0, 1e-12, h)
    k = np.where(k == 0, 1e-12, k)
    root = np.sqrt(1 - rho**2)
    beta = np.where(h * k < 0, 0.5, 0.0)
    return (
        0.5 * (special.ndtr(h) + special.ndtr(k))
        - special.owens_t(h, (k - rho * h) / (h * root))
        - special.owens_t(k, (h - rho * k) / (k * root))
        - beta
    )


def compute_expected_sign_errors(
    standard_errors: Any,
    *,
    mean_effect: float,
    group_sd: float,
    unit_sd: float,
    pooling: str = "oracle",
    rule: str = "interval",
    alpha: float = 0.05,
    n_nodes: int = 40,
) -> pd.Series:
    """Expected selection share, Type S rate and exaggeration of a decision, in closed form.

    Model: group means ``m ~ N(mean_effect, group_sd^2)``, unit effects
    ``theta ~ N(m, unit_sd^2)`` and estimates ``y ~ N(theta, s^2)`` with the given
    standard errors ``s`` (each unit weighted equally). The estimate is ``y`` itself
    (``pooling="none"``, interval ``y -/+ z s``) or the posterior mean given the group mean
    and ``unit_sd`` (``pooling="oracle"``: ``B m + (1 - B) y`` with ``B = s^2 /
    (s^2 + unit_sd^2)`` and posterior sd ``sqrt(1 - B) s``, the limit of
    :func:`~playbook_lib.hbm.oracle_bayes_effects` when every group has many units). Either
    rule of :func:`compute_sign_errors` selects the units whose ``y`` exceeds a threshold
    ``c``, and ``(y, theta)`` is bivariate normal given ``m``, so

    - ``P(selected) = 1 - Phi((c - m) / sd_y)`` with ``sd_y^2 = unit_sd^2 + s^2``,
    - ``P(selected, theta < 0)`` is a bivariate normal probability (Owen's T),
    - ``E[theta 1(selected)] = m P + unit_sd^2 phi(a) / sd_y`` and
      ``E[y 1(selected)] = m P + sd_y phi(a)`` with ``a = (c - m) / sd_y``;

    the group mean is integrated by Gauss-Hermite quadrature. The Type S rate and the
    exaggeration are :cite:`gelman2014beyond`'s, for a population of units: ratios of
    these expectations summed over units.

    Parameters
    ----------
    standard_errors : array-like
        The units' standard errors (positive), shape ``(n,)``.
    mean_effect, group_sd, unit_sd : float
        The hyperparameters (``group_sd`` may be 0; ``unit_sd`` positive).
    pooling : {"oracle", "none"}
        Posterior mean with known hyperparameters and group mean, or the raw estimate.
    rule : {"interval", "estimate"}
        Select where the ``1 - alpha`` interval lies above zero, or the estimate is positive.
    alpha : float
        One minus the interval's coverage (two-sided).
    n_nodes : int
        Gauss-Hermite nodes for the group mean (at least 2).

    Returns
    -------
    pandas.Series
        ``selected, type_s, exaggeration, true_gain`` (the expected true effect times the
        selection indicator, per unit).

    Raises
    ------
    ValueError
        If a standard error is not positive, a hyperparameter is not finite (or an sd is
        negative, ``unit_sd`` zero), ``pooling``, ``rule``, ``alpha`` or ``n_nodes`` is
        invalid.
    """
    s = numeric_array(standard_errors, "standard_errors", 1)
    if not (s > 0).all():
        raise ValueError("standard_errors must be positive")
    mean_effect = check_finite_number(mean_effect, "mean_effect")
    group_sd = check_positive(group_sd, "group_sd", strict=False)
    unit_sd = check_positive(unit_sd, "unit_sd")
    check_choice(pooling, "pooling", ("oracle", "none"))
    check_choice(rule, "rule", _RULES)
    alpha = check_alpha(alpha)
    n_nodes = check_integer(n_nodes, "n_nodes", minimum=2)
    z = stats.norm.ppf(1 - alpha / 2) if rule == "interval" else 0.0
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    weights = weights / weights.sum()
    m = (mean_effect + group_sd * nodes)[:, None]  # (nodes, 1) against units (n,)
    sd_y = np.sqrt(unit_sd**2 + s**2)
    if pooling == "none":
        threshold = np.broadcast_to(z * s, (n_nodes, s.size))
        shrinkage = np.zeros_like(s)
    else:
        shrinkage = s**2 / (s**2 + unit_sd**2)
        threshold = (z * np.sqrt(1 - shrinkage) * s - shrinkage * m) / (1 - shrinkage)
    a = (threshold - m) / sd_y
    p_selected = special.ndtr(-a)
    rho = unit_sd / sd_y
    b = -m / unit_sd
    # P(y > c, theta < 0) = P(theta < 0) - P(y <= c, theta < 0)
    p_wrong = special.ndtr(b) - _bivariate_normal_cdf(a, b, rho)
    density = stats.norm.pdf(a)
    true_part = m * p_selected + unit_sd**2 * density / sd_y
    y_part = m * p_selected + sd_y * density
    estimate_part = shrinkage * m * p_selected + (1 - shrinkage) * y_part

    def average(values: np.ndarray) -> float:
        return float(weights @ np.broadcast_to(values, (n_nodes, s.size)).mean(axis=1))

    selected = average(p_selected)
    true_gain = average(true_part)
    return pd.Series(
        {
            "selected": selected,
            "type_s": average(np.maximum(p_wrong, 0.0)) / selected if selected > 0 else np.nan,
            "exaggeration": average(estimate_part) / true_gain if true_gain != 0 else np.nan,
            "true_gain": true_gain,
        }
    )
