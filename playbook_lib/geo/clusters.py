"""Cluster-randomised tests analysed with user-level data: the ICC and two honest analyses.

When whole clusters (geos, stores, schools) are randomised but outcomes are recorded per
user, the users of one cluster are not independent. :func:`estimate_icc` estimates the
intra-cluster correlation with the one-way ANOVA estimator (and an exact F interval),
the number that sets the design effect :func:`~playbook_lib.geo.design_effect`;
:func:`estimate_cluster_randomized` analyses such a test either on cluster means or with
cluster-robust standard errors (or, to show the pitfall, as if users were independent),
and :func:`batch_estimate_cluster_randomized` does the same for many simulated
experiments at once.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.linear_model import OLS

from playbook_lib.geo._checks import (
    _codes,
    _estimates_table,
    _label_column,
    _t_statistic,
    _welch_arrays,
)
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_choice,
    column_as_float_array,
    require_columns,
)

__all__ = ["batch_estimate_cluster_randomized", "estimate_cluster_randomized", "estimate_icc"]

_METHODS = {
    "cluster_means": "cluster means (welch)",
    "cluster_robust": "user-level ols (cluster-robust)",
    "naive": "user-level welch (clusters ignored)",
}


# --------------------------------------------------------------------------- the ICC
def estimate_icc(
    data: pd.DataFrame,
    *,
    cluster: str = "cluster",
    outcome: str = "outcome",
    alpha: float = 0.05,
) -> Estimate:
    """Intra-cluster correlation by one-way ANOVA, with an F-based interval.

    With ``G`` clusters, ``N`` users, ``MSB`` and ``MSW`` the between- and
    within-cluster mean squares, and ``n0 = (N - sum n_g^2 / N) / (G - 1)`` (the cluster
    size when all are equal), the ANOVA estimator is

    ``ICC = (MSB - MSW) / (MSB + (n0 - 1) MSW)``,

    the method-of-moments estimate of ``sigma_b^2 / (sigma_b^2 + sigma_w^2)`` in the
    one-way random-effects model :cite:`donner1986review`. It can be negative when the
    clusters differ less than chance would make them (it is returned as is, so that
    averages over studies stay unbiased). The interval inverts ``F = MSB / MSW``, whose
    distribution is ``(1 + (n0 - 1) ICC) / (1 - ICC)`` times ``F(G - 1, N - G)``: exact
    for equal cluster sizes and normal data, approximate otherwise. The standard error
    is Fisher's large-sample formula ``sqrt(2 (1 - ICC)^2 (1 + (n0 - 1) ICC)^2 / (n0
    (n0 - 1) (G - 1)))``, and the p-value is the F-test of ``ICC = 0``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per user, with a cluster label and a numeric outcome.
    cluster, outcome : str
        Column names.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        Method ``"icc (anova)"``; ``details`` holds ``n_clusters``, ``n_users``, ``n0``,
        ``ms_between``, ``ms_within``, ``sigma2_between`` and ``sigma2_within`` (the
        variance components) and ``design_effect`` at the mean cluster size.

    Raises
    ------
    ValueError
        Missing columns, non-finite outcomes, missing cluster labels, fewer than 2
        clusters, no cluster with two users, or an outcome without variation within
        clusters.
    """
    alpha = check_alpha(alpha)
    require_columns(data, cluster=cluster, outcome=outcome)
    y = column_as_float_array(data, outcome, "outcome")
    codes, clusters = _codes(_label_column(data, cluster, "cluster"))
    n_clusters, n_users = clusters.size, y.size
    if n_clusters < 2:
        raise ValueError(f"cluster: need at least 2 clusters, got {n_clusters}")
    if n_users - n_clusters < 1:
        raise ValueError("cluster: no cluster has two users, so within-cluster variance is unknown")
    sizes = np.bincount(codes, minlength=n_clusters).astype(float)
    means = np.bincount(codes, weights=y, minlength=n_clusters) / sizes
    grand = y.mean()
    ms_between = float((sizes * (means - grand) ** 2).sum() / (n_clusters - 1))
    ms_within = float(((y - means[codes]) ** 2).sum() / (n_users - n_clusters))
    if not ms_within > 0:
        raise ValueError(f"outcome: column {outcome!r} does not vary within clusters")
    n0 = float((n_users - (sizes**2).sum() / n_users) / (n_clusters - 1))
    icc = (ms_between - ms_within) / (ms_between + (n0 - 1) * ms_within)
    df1, df2 = n_clusters - 1, n_users - n_clusters
    ratio = ms_between / ms_within
    bounds = []
    for quantile in (1 - alpha / 2, alpha / 2):
        scaled = ratio / stats.f.ppf(quantile, df1, df2)
        bounds.append((scaled - 1) / (scaled + n0 - 1))
    se = math.sqrt(2 * (1 - icc) ** 2 * (1 + (n0 - 1) * icc) ** 2 / (n0 * max(n0 - 1, 1e-12) * df1))
    sigma2_between = (ms_between - ms_within) / n0
    return Estimate(
        "icc (anova)",
        float(icc),
        float(se),
        float(bounds[0]),
        float(bounds[1]),
        alpha=alpha,
        p_value=float(stats.f.sf(ratio, df1, df2)),
        details={
            "n_clusters": int(n_clusters),
            "n_users": int(n_users),
            "n0": n0,
            "ms_between": ms_between,
            "ms_within": ms_within,
            "sigma2_between": float(sigma2_between),
            "sigma2_within": ms_within,
            "design_effect": float(1 + (n_users / n_clusters - 1) * icc),
        },
    )


# --------------------------------------------------------------------------- analyses
def _cluster_robust_arrays(
    outcome: np.ndarray, treated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """User-level OLS of the outcome on the arm with CR1 errors, per experiment.

    ``outcome`` is ``(n, G, m)`` (equal clusters), ``treated`` ``(n, G)``. The coefficient
    is the difference of user means; with ``E_g`` the sum of cluster ``g``'s residuals
    about its arm mean, the CR1 variance is ``c (sum_T E_g^2 / N_T^2 + sum_C E_g^2 /
    N_C^2)`` with ``c = G / (G - 1) (N - 1) / (N - 2)``, as statsmodels' cluster
    covariance; the reference is ``t(G - 1)``."""
    n_sims, n_clusters, size = outcome.shape
    cluster_sum = outcome.sum(axis=2)
    n_treated_users = treated.sum(axis=1) * size
    n_control_users = n_clusters * size - n_treated_users
    mean_t = (cluster_sum * treated).sum(axis=1) / n_treated_users
    mean_c = (cluster_sum * ~treated).sum(axis=1) / n_control_users
    residual_sum = cluster_sum - size * np.where(treated, mean_t[:, None], mean_c[:, None])
    squares = residual_sum**2
    variance = (squares * treated).sum(axis=1) / n_treated_users**2 + (squares * ~treated).sum(
        axis=1
    ) / n_control_users**2
    n_users = n_clusters * size
    factor = n_clusters / (n_clusters - 1) * (n_users - 1) / (n_users - 2)
    return mean_t - mean_c, np.sqrt(factor * variance), np.full(n_sims, n_clusters - 1.0)


def batch_estimate_cluster_randomized(
    outcome: np.ndarray,
    treated: np.ndarray,
    *,
    method: str = "cluster_means",
    alpha: float = 0.05,
) -> Estimates:
    """Analyse many cluster-randomised experiments with equal clusters at once.

    Parameters
    ----------
    outcome : numpy.ndarray
        User outcomes, shape ``(n_experiments, n_clusters, cluster_size)`` (or
        ``(n_clusters, cluster_size)`` for one experiment), e.g.
        the ``outcome`` field of :class:`~playbook_lib.simulate.ClusteredOutcomes`.
    treated : numpy.ndarray
        Boolean assignment of each cluster, shape ``(n_experiments, n_clusters)`` (or
        broadcastable); at least two clusters per arm.
    method : {"cluster_means", "cluster_robust", "naive"}
        As in :func:`estimate_cluster_randomized`; ``"naive"`` only shows the pitfall.
    alpha : float
        One minus the intervals' coverage.

    Returns
    -------
    Estimates
        One row per experiment; extra column ``t_statistic``. Row ``i`` equals
        :func:`estimate_cluster_randomized` on experiment ``i``.

    Raises
    ------
    ValueError
        If ``outcome`` is not a finite 2-D or 3-D array, ``treated`` does not hold 0/1
        per cluster or does not broadcast, an arm has fewer than two clusters,
        ``method`` is unknown, or ``alpha`` is invalid.
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", tuple(_METHODS))
    ndim = np.ndim(outcome)
    if ndim not in (2, 3):
        raise ValueError(
            "outcome must have shape (n_experiments, n_clusters, cluster_size), got "
            f"{np.shape(outcome)}"
        )
    values = as_float_array(outcome, "outcome", ndim=ndim)
    if ndim == 2:
        values = values[None]
    if values.size == 0:
        raise ValueError("outcome is empty")
    indicator = np.asarray(treated)
    if indicator.dtype.kind in "USO" or not np.isin(indicator, (0, 1)).all():
        raise ValueError("treated must hold only 0/1 (or booleans) per cluster")
    try:
        mask = np.broadcast_to(indicator.astype(bool), values.shape[:2])
    except ValueError:
        raise ValueError(
            f"length mismatch: outcome has {values.shape[:2]} experiments x clusters, "
            f"treated has shape {indicator.shape}"
        ) from None
    n_treatment = mask.sum(axis=1)
    if n_treatment.min() < 2 or (values.shape[1] - n_treatment).min() < 2:
        raise ValueError("treated: each arm needs at least 2 clusters in every experiment")
    if method == "cluster_means":
        estimate, se, df = _welch_arrays(values.mean(axis=2), mask)
    elif method == "cluster_robust":
        estimate, se, df = _cluster_robust_arrays(values, mask)
    else:
        users = values.reshape(values.shape[0], -1)
        user_mask = np.repeat(mask, values.shape[2], axis=1)
        estimate, se, df = _welch_arrays(users, user_mask)
    return _estimates_table(
        _METHODS[method],
        estimate,
        se,
        alpha=alpha,
        df=df,
        columns={"t_statistic": _t_statistic(estimate, se)},
    )


def estimate_cluster_randomized(
    data: pd.DataFrame,
    *,
    cluster: str = "cluster",
    group: str = "group",
    outcome: str = "outcome",
    treatment_label: str = "treatment",
    method: str = "cluster_means",
    alpha: float = 0.05,
) -> Estimate:
    """The effect of a cluster-randomised test from user-level data.

    Two analyses respect the clusters :cite:`gerber2012field`:

    - ``"cluster_means"``: reduce each cluster to its mean outcome and compare the arms'
      cluster means with Welch's t (one number per randomised unit, as the geo DiD
      does). It estimates the effect averaged over clusters, each weighted equally.
    - ``"cluster_robust"``: regress the user outcome on the arm by OLS with standard
      errors clustered by cluster (statsmodels' CR1) and ``t(G - 1)``. It estimates the
      effect averaged over users (big clusters weigh more); with equal clusters both
      analyses give the same estimate.

    ``"naive"`` (Welch's t on users, as if they had been randomised one by one) is there
    to show the pitfall: its standard error misses the design effect
    ``1 + (m - 1) ICC`` and it rejects a true null far too often.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per user with a cluster label, an arm label (constant within a cluster)
        and a numeric outcome.
    cluster, group, outcome : str
        Column names.
    treatment_label : str
        Label of the treatment arm in ``group``.
    method : {"cluster_means", "cluster_robust", "naive"}
        The analysis.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimate
        ``details`` holds ``n_clusters``, ``n_treated_clusters`` and ``n_users``.

    Raises
    ------
    ValueError
        Missing columns, non-finite outcomes, missing labels, not exactly two arms (one
        ``treatment_label``), a cluster in both arms, an arm with fewer than 2 clusters,
        an unknown ``method`` or an invalid ``alpha``.
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", tuple(_METHODS))
    require_columns(data, cluster=cluster, group=group, outcome=outcome)
    y = column_as_float_array(data, outcome, "outcome")
    codes, clusters = _codes(_label_column(data, cluster, "cluster"))
    labels = _label_column(data, group, "group")
    if labels.nunique() != 2 or treatment_label not in set(labels):
        raise ValueError(
            f"group: column {group!r} must hold two arms, one labelled treatment_label "
            f"{treatment_label!r}; got {sorted(map(str, labels.unique()))}"
        )
    user_treated = (labels == treatment_label).to_numpy()
    arms = np.bincount(codes, weights=user_treated, minlength=clusters.size)
    sizes = np.bincount(codes, minlength=clusters.size)
    if np.any((arms > 0) & (arms < sizes)):
        raise ValueError("group: a cluster has users in both arms; clusters are randomised whole")
    cluster_treated = arms > 0
    n_treated = int(cluster_treated.sum())
    if min(n_treated, clusters.size - n_treated) < 2:
        raise ValueError(
            f"group: each arm needs at least 2 clusters, got {n_treated} treatment and "
            f"{clusters.size - n_treated} control"
        )
    details = {
        "n_clusters": int(clusters.size),
        "n_treated_clusters": n_treated,
        "n_users": int(y.size),
    }
    if method == "cluster_robust":
        design = np.column_stack([np.ones(y.size), user_treated.astype(float)])
        fit = OLS(y, design).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
        return Estimate.from_standard_error(
            _METHODS[method],
            float(fit.params[1]),
            float(fit.bse[1]),
            alpha=alpha,
            df=float(clusters.size - 1),
            details=details,
        )
    if method == "cluster_means":
        values = np.bincount(codes, weights=y, minlength=clusters.size) / sizes
        mask = cluster_treated
    else:
        values, mask = y, user_treated
    estimate, se, df = (float(v[0]) for v in _welch_arrays(values[None, :], mask[None, :]))
    return Estimate.from_standard_error(
        _METHODS[method], estimate, se, alpha=alpha, df=df, details=details
    )
