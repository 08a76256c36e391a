"""Closed-form pooling of unit estimates: complete pooling, empirical and oracle Bayes.

Each unit ``j`` has an estimate ``y_j`` with a standard error ``s_j`` (one row of an
:class:`~playbook_lib.Estimates` table, e.g. from
:func:`~playbook_lib.hbm.unit_effects_from_stats`) and a group ``g(j)``. Complete
pooling hands every unit its group's precision-weighted mean; the normal-normal posterior
(:func:`compute_normal_normal_posterior`) pulls each unit toward its group by
``B_j = s_j^2 / (s_j^2 + tau^2)``, with the true hyperparameters (oracle Bayes) or with
``tau^2`` estimated by REML or the method of moments (:func:`compute_between_variance`,
empirical Bayes) :cite:`morris1983parametric`. Every estimator is vectorised over
replications: many simulated data sets are pooled in one call, without a Python loop.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib._kernels import interval_and_p_value
from playbook_lib.hbm._checks import (
    aligned,
    check_codes,
    check_estimates_and_se,
    check_unique_labels,
    codes_from_labels,
    group_sum,
    hyperparameter_array,
    onehot,
    relabel,
    take,
    unit_data,
)
from playbook_lib.results import Estimates
from playbook_lib.validation import (
    check_alpha,
    check_choice,
    check_finite_number,
    check_flag,
    check_positive,
)

__all__ = [
    "complete_pooling_effects",
    "compute_between_variance",
    "compute_normal_normal_posterior",
    "empirical_bayes_effects",
    "oracle_bayes_effects",
]


def complete_pooling_effects(effects: Estimates, groups: Any, *, alpha: float = 0.05) -> Estimates:
    """Complete pooling: every unit gets its group's precision-weighted mean effect.

    ``m_g = sum_j w_j y_j / sum_j w_j`` with ``w_j = 1 / s_j^2`` over the units of group
    ``g``, standard error ``(sum_j w_j)^(-1/2)``, normal interval and p-value. The interval
    is for the *group mean*; read as an interval for a unit's effect it ignores
    between-unit variation and under-covers.

    Parameters
    ----------
    effects : Estimates
        One row per unit: its estimate and (positive) standard error.
    groups : array-like or pandas.Series
        The group of each unit: a Series aligned to ``effects`` by label, or a sequence
        with one entry per row.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimates
        One row per unit (method ``"complete pooling"``), labelled as ``effects``, plus the
        column ``group``.

    Raises
    ------
    ValueError
        If ``effects`` is not a non-empty :class:`~playbook_lib.Estimates` with positive standard
        errors, or ``groups`` is missing a unit, has missing labels or the wrong length.
    """
    alpha = check_alpha(alpha)
    frame, y, s, codes, _, groups = unit_data(effects, groups)
    indicators = onehot(codes, int(codes.max()) + 1)
    weights = 1 / s**2
    total = group_sum(weights, indicators)
    mean = group_sum(weights * y, indicators) / total
    table = Estimates.from_standard_errors(
        "complete pooling", mean[codes], (1 / np.sqrt(total))[codes], alpha=alpha
    )
    return relabel(table, frame.index, group=groups.to_numpy())


def compute_between_variance(
    estimates: Any,
    standard_errors: Any,
    group_codes: Any,
    *,
    n_groups: int | None = None,
    method: str = "reml",
    per_group: bool = False,
) -> np.ndarray:
    """Between-unit variance ``tau^2`` of true effects around their group means.

    Model: ``y_j ~ N(theta_j, s_j^2)`` with known ``s_j`` and
    ``theta_j ~ N(beta_{g(j)}, tau^2)``, the group means ``beta_g`` fixed unknowns (a
    random-effects meta-regression on group indicators).

    - ``method="moments"``: the generalised DerSimonian–Laird estimator
      :cite:`dersimonian1986meta`,
      ``tau^2 = max(0, (Q - (n - G)) / (sum w - sum_g sum_{j in g} w_j^2 / sum_{j in g} w_j))``
      with ``w = 1 / s^2`` and ``Q`` the weighted residual sum of squares.
    - ``method="reml"``: maximises the restricted likelihood
      ``-1/2 [sum log(s^2 + tau^2) + sum_g log W_g + sum w* (y - beta*_g)^2]`` with
      ``w* = 1 / (s^2 + tau^2)``, ``W_g = sum_{j in g} w*_j`` :cite:`viechtbauer2005bias`,
      by a golden-section search over ``tau`` in
      ``[0, max(3 sd(y), 2 max within-group range) + max s]`` run for all rows at once.

    Vectorised: ``estimates`` may be ``(n_sims, n)``, each row one data set.

    Parameters
    ----------
    estimates, standard_errors : array-like
        Shape ``(n,)`` or ``(n_sims, n)``; standard errors positive.
    group_codes : array-like of int
        Group of each unit, shape ``(n,)`` or ``(n_sims, n)``, codes ``0..G-1``.
    n_groups : int, optional
        ``G``; by default ``max(code) + 1``. Every group must have a member.
    method : {"reml", "moments"}
        The estimator.
    per_group : bool
        If True estimate one ``tau^2`` per group (shape ``(..., G)``); otherwise one
        common value.

    Returns
    -------
    numpy.ndarray
        ``tau^2``: shape ``()`` / ``(n_sims,)``, or with a trailing ``G`` axis if
        ``per_group``.

    Raises
    ------
    ValueError
        If inputs are not numeric or have NaN, mismatched shapes, non-positive standard
        errors, a group with no members, or too few units for ``tau^2`` to be estimable:
        a common ``tau^2`` needs more units than groups (one unit, or one unit per
        group, leaves no within-group spread), a per-group ``tau^2`` at least 2 units in
        every group.
    """
    check_choice(method, "method", ("reml", "moments"))
    per_group = check_flag(per_group, "per_group")
    y, s = check_estimates_and_se(estimates, standard_errors)
    codes, n_groups = check_codes(group_codes, y.shape, n_groups)
    squeeze = y.ndim == 1
    y2, s2 = np.atleast_2d(y), np.atleast_2d(s) ** 2
    codes2 = np.atleast_2d(codes)
    indicators = onehot(codes2, n_groups)
    members = indicators.sum(axis=-2)
    if per_group and (members < 2).any():
        raise ValueError(
            "group_codes: a per-group between-unit variance needs at least 2 units in every group"
        )
    if not per_group and y2.shape[-1] <= n_groups:
        raise ValueError(
            f"estimates: {y2.shape[-1]} unit(s) in {n_groups} group(s): the between-unit "
            "variance cannot be estimated without more units than groups"
        )

    if method == "moments":
        w = 1 / s2
        w_g = group_sum(w, indicators)
        beta = group_sum(w * y2, indicators) / w_g
        resid2 = w * (y2 - take(beta, codes2)) ** 2
        if per_group:
            q = group_sum(resid2, indicators)
            c = w_g - group_sum(w**2, indicators) / w_g
            tau2 = np.maximum(0.0, (q - (members - 1)) / c)
        else:
            q = resid2.sum(axis=-1)
            c = w.sum(axis=-1) - (group_sum(w**2, indicators) / w_g).sum(axis=-1)
            tau2 = np.maximum(0.0, (q - (y2.shape[-1] - n_groups)) / c)
        return tau2[0] if squeeze else tau2

    def restricted_loglik(tau: np.ndarray) -> np.ndarray:
        tau_units = take(tau, codes2) if per_group else tau[:, None]
        v = s2 + tau_units**2
        w = 1 / v
        w_g = group_sum(w, indicators)
        beta = group_sum(w * y2, indicators) / w_g
        terms = np.log(v) + w * (y2 - take(beta, codes2)) ** 2
        if per_group:
            return -0.5 * (group_sum(terms, indicators) + np.log(w_g))
        return -0.5 * (terms.sum(axis=-1) + np.log(w_g).sum(axis=-1))

    # The restricted likelihood falls for tau beyond the largest within-group spread (its
    # maximum is near sqrt(pooled within-group variance) when tau dominates s, at most
    # the range / sqrt 2), so twice the largest within-group range bounds the search;
    # 3 sd of all estimates is kept as a floor. (A bracket from that sd alone missed a
    # small, widely spread group.)
    member = indicators > 0
    y_units = y2[..., None]
    group_range = np.where(member, y_units, -np.inf).max(axis=-2) - np.where(
        member, y_units, np.inf
    ).min(axis=-2)
    spread = np.maximum(3 * y2.std(axis=-1), 2 * group_range.max(axis=-1))
    upper = spread + np.sqrt(s2.max(axis=-1))
    shape = (y2.shape[0], n_groups) if per_group else (y2.shape[0],)
    bracket = np.broadcast_to(upper[:, None] if per_group else upper, shape)
    low = np.zeros(shape)
    high = bracket.copy()
    ratio = (np.sqrt(5) - 1) / 2
    a = high - ratio * (high - low)
    b = low + ratio * (high - low)
    value_a, value_b = restricted_loglik(a), restricted_loglik(b)
    for _ in range(60):
        # The maximum lies in [a, high] (move up) or [low, b]. The inner point kept is
        # the next bracket's other golden point (ratio^2 = 1 - ratio), so each step
        # evaluates the likelihood at one new point per row.
        move_up = value_a < value_b
        low = np.where(move_up, a, low)
        high = np.where(move_up, high, b)
        kept, kept_value = np.where(move_up, b, a), np.where(move_up, value_b, value_a)
        new = np.where(move_up, low + ratio * (high - low), high - ratio * (high - low))
        new_value = restricted_loglik(new)
        a, value_a = np.where(move_up, kept, new), np.where(move_up, kept_value, new_value)
        b, value_b = np.where(move_up, new, kept), np.where(move_up, new_value, kept_value)
    tau = (low + high) / 2
    # The boundary tau = 0 is a candidate the interior search can only approach: a search
    # that ended there (tau a few golden steps from 0, ~1e-13 of the bracket) has found
    # the boundary, and whether the likelihood at that tau rounds above or below its value
    # at 0 must not decide between "0" and "1e-17".
    at_zero = (tau <= 1e-9 * bracket) | (
        restricted_loglik(np.zeros(shape)) >= restricted_loglik(tau)
    )
    tau2 = np.where(at_zero, 0.0, tau**2)
    return tau2[0] if squeeze else tau2


def compute_normal_normal_posterior(
    estimates: Any,
    standard_errors: Any,
    group_codes: Any,
    *,
    unit_sd: Any,
    group_sd: Any = np.inf,
    mean_effect: Any = 0.0,
    n_groups: int | None = None,
    alpha: float = 0.05,
) -> dict[str, np.ndarray]:
    """Exact posterior of unit effects in the normal three-level model, given its
    hyperparameters.

    Model: ``y_j | theta_j ~ N(theta_j, s_j^2)``, ``theta_j | m_g ~ N(m_g, unit_sd^2)``,
    ``m_g ~ N(mean_effect, group_sd^2)``. Given the data, ``m_g`` is normal with precision
    ``P_g = 1 / group_sd^2 + sum_{j in g} 1 / (unit_sd^2 + s_j^2)`` and mean
    ``(mean_effect / group_sd^2 + sum_{j in g} y_j / (unit_sd^2 + s_j^2)) / P_g``; with the
    shrinkage factor ``B_j = s_j^2 / (s_j^2 + unit_sd^2)``,

    ``E[theta_j | y] = B_j E[m_g | y] + (1 - B_j) y_j`` and
    ``Var[theta_j | y] = (1 - B_j) s_j^2 + B_j^2 Var[m_g | y]``
    :cite:`gelman2013bda` (ch. 5).

    ``group_sd = inf`` gives a flat prior on the group means (they are then estimated by
    precision-weighted means): with ``unit_sd`` estimated this is empirical Bayes with the
    uncertainty of the group means included; with the true hyperparameters it is the
    oracle Bayes posterior. Vectorised over a leading simulation axis.

    Parameters
    ----------
    estimates, standard_errors : array-like
        Shape ``(n,)`` or ``(n_sims, n)``.
    group_codes : array-like of int
        Shape ``(n,)`` or ``(n_sims, n)``.
    unit_sd : float or array-like
        Between-unit sd within a group; scalar, per simulation ``(n_sims,)``, or per
        simulation and group ``(n_sims, G)``.
    group_sd : float or array-like
        Between-group sd (``inf``: flat prior on group means).
    mean_effect : float or array-like
        Prior mean of the group means (unused when ``group_sd`` is infinite).
    n_groups : int, optional
        Number of groups.
    alpha : float
        One minus the credible level.

    Returns
    -------
    dict of numpy.ndarray
        ``mean``, ``sd``, ``ci_low``, ``ci_high``, ``shrinkage`` (``B_j``), each shaped like
        ``estimates``, and ``group_mean``, ``group_sd`` (posterior of ``m_g``, trailing
        axis ``G``).

    Raises
    ------
    ValueError
        For strings, NaN, non-positive standard errors, negative (or NaN) sds, a
        non-finite ``mean_effect``, hyperparameters of the wrong shape or empty groups.
        ``unit_sd = 0`` is allowed (complete pooling: every unit gets its group's
        posterior mean).
    """
    alpha = check_alpha(alpha)
    y, s = check_estimates_and_se(estimates, standard_errors)
    codes, n_groups = check_codes(group_codes, y.shape, n_groups)
    squeeze = y.ndim == 1
    y2, s2 = np.atleast_2d(y), np.atleast_2d(s) ** 2
    codes2 = np.atleast_2d(codes)
    n_sims = y2.shape[0]
    unit_sd = hyperparameter_array(unit_sd, "unit_sd")
    group_sd = hyperparameter_array(group_sd, "group_sd", allow_inf=True)
    mean_effect = hyperparameter_array(mean_effect, "mean_effect")
    if (unit_sd < 0).any():
        raise ValueError("unit_sd must be finite and non-negative")
    if (group_sd <= 0).any():
        raise ValueError("group_sd must be positive (inf for a flat prior)")
    shapes = {
        "unit_sd": [(), (1,), (n_sims,), (1, n_groups), (n_sims, n_groups)],
        "group_sd": [(), (1,), (n_sims,)],
        "mean_effect": [(), (1,), (n_sims,)],
    }
    for name, value in (("unit_sd", unit_sd), ("group_sd", group_sd), ("mean_effect", mean_effect)):
        if value.shape not in shapes[name]:
            raise ValueError(
                f"{name} must be a scalar or have one of the shapes {shapes[name][1:]} "
                f"(simulations = {n_sims}, groups = {n_groups}), got shape {value.shape}"
            )
    if unit_sd.ndim == 2:  # per simulation and group
        unit_var = take(np.broadcast_to(unit_sd, (n_sims, n_groups)) ** 2, codes2)
    else:
        unit_var = np.broadcast_to(np.reshape(unit_sd, (-1, 1)) ** 2, (n_sims, 1))
    indicators = onehot(codes2, n_groups)
    w = 1 / (unit_var + s2)
    prior_precision = np.reshape(1 / group_sd**2, (-1, 1))
    precision = prior_precision + group_sum(np.broadcast_to(w, y2.shape), indicators)
    prior_term = np.where(
        np.isfinite(np.reshape(group_sd, (-1, 1))),
        np.reshape(mean_effect, (-1, 1)) * prior_precision,
        0.0,
    )
    group_mean = (prior_term + group_sum(w * y2, indicators)) / precision
    group_var = 1 / precision
    shrinkage = s2 / (s2 + unit_var)
    mean = shrinkage * take(group_mean, codes2) + (1 - shrinkage) * y2
    var = (1 - shrinkage) * s2 + shrinkage**2 * take(group_var, codes2)
    sd = np.sqrt(var)
    ci_low, ci_high, _ = interval_and_p_value(mean, sd, alpha)
    result = {
        "mean": mean,
        "sd": sd,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "shrinkage": shrinkage,
        "group_mean": group_mean,
        "group_sd": np.sqrt(group_var),
    }
    if squeeze:
        result = {key: value[0] for key, value in result.items()}
    return result


def _replication_blocks(
    effects: Estimates, groups: Any, replications: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any], np.ndarray, pd.DataFrame, pd.Series]:
    """The units of each replication as rows of ``(n_sims, n)`` arrays.

    Returns ``(y, s, codes, group_labels, order, frame, replications)``: ``order`` lists
    the input rows in array order (replications in sorted order, the rows of each in input
    order), so ``result[order] = values.ravel()`` puts array results back in input order.
    """
    frame, y, s, codes, labels, _ = unit_data(effects, groups)
    if replications is None:
        check_unique_labels(frame.index, "effects")
        return y[None], s[None], codes[None], labels, np.arange(len(y)), frame, None
    replications = aligned(replications, frame.index, "replications")
    replication_codes, _ = codes_from_labels(replications, "replications")
    levels = [frame.index.get_level_values(i) for i in range(frame.index.nlevels)]
    if pd.MultiIndex.from_arrays([replication_codes, *levels]).duplicated().any():
        raise ValueError("effects: the labels repeat within a replication (see replications)")
    sizes = np.bincount(replication_codes)
    if (sizes != sizes[0]).any():
        raise ValueError(
            "replications: every replication needs the same number of units, got "
            f"{sizes.min()} to {sizes.max()}"
        )
    order = np.argsort(replication_codes, kind="stable")
    shape = (sizes.size, int(sizes[0]))
    return (
        y[order].reshape(shape),
        s[order].reshape(shape),
        codes[order].reshape(shape),
        labels,
        order,
        frame,
        replications,
    )


def _posterior_table(
    method: str,
    posterior: dict[str, np.ndarray],
    blocks: tuple[Any, ...],
    alpha: float,
    **extra: np.ndarray,
) -> Estimates:
    """Per-unit posterior summaries in input order, with the group (and replication)."""
    _, _, codes, labels, order, frame, replications = blocks

    def in_input_order(values: np.ndarray) -> np.ndarray:
        result = np.empty(order.size, dtype=np.asarray(values).dtype)
        result[order] = np.asarray(values).ravel()
        return result

    table = Estimates.from_arrays(
        method,
        *(in_input_order(posterior[key]) for key in ("mean", "sd", "ci_low", "ci_high")),
        alpha=alpha,
    )
    columns = {"group": np.asarray(labels, dtype=object)[in_input_order(codes)]}
    if replications is not None:
        columns["replication"] = replications.to_numpy()
    columns.update({name: in_input_order(values) for name, values in extra.items()})
    return relabel(table, frame.index, **columns)


def empirical_bayes_effects(
    effects: Estimates,
    groups: Any,
    *,
    replications: Any = None,
    method: str = "reml",
    per_group: bool = False,
    alpha: float = 0.05,
) -> Estimates:
    """Empirical Bayes (normal-normal) partial pooling of unit estimates toward group means.

    Estimates ``tau^2`` (:func:`compute_between_variance`), then applies
    :func:`compute_normal_normal_posterior` with a flat prior on the group means: unit
    ``j``'s estimate is pulled toward its group's precision-weighted mean by
    ``B_j = s_j^2 / (s_j^2 + tau^2)`` :cite:`morris1983parametric`. The interval includes
    the uncertainty of the group means but not that of ``tau^2`` (so it can under-cover
    when there are few units); full Bayes
    (:func:`~playbook_lib.hbm.fit_hierarchical_model`) includes both. Rescaling estimates
    and SEs by ``c`` rescales every output by ``c``.

    Parameters
    ----------
    effects : Estimates
        One row per unit (and replication): estimate and positive standard error.
    groups : array-like or pandas.Series
        The group of each row (a Series aligned by label, a sequence by position).
    replications : array-like or pandas.Series, optional
        The independent data set of each row (each with the same number of units), pooled
        separately and all at once, vectorised.
    method : {"reml", "moments"}
        Estimator of ``tau^2``.
    per_group : bool
        One ``tau^2`` per group instead of a common one.
    alpha : float
        One minus the interval's coverage.

    Returns
    -------
    Estimates
        One row per input row, in input order (method ``"empirical Bayes"``, ``se`` the
        posterior sd), labelled as ``effects``, plus the columns ``group``,
        ``replication`` (with ``replications``), ``shrinkage`` (``B_j``), ``between_sd``
        (``tau``) and ``group_mean``.

    Raises
    ------
    ValueError
        If ``effects`` is not a non-empty :class:`~playbook_lib.Estimates` with positive standard
        errors, labels repeat (within a replication), ``groups`` or ``replications`` miss
        a row, have missing entries or the wrong length, replications differ in size, or
        ``tau^2`` cannot be estimated (one unit, or no more units than groups; see
        :func:`compute_between_variance`).
    """
    alpha = check_alpha(alpha)
    check_choice(method, "method", ("reml", "moments"))
    per_group = check_flag(per_group, "per_group")
    blocks = _replication_blocks(effects, groups, replications)
    y, s, codes, labels = blocks[:4]
    tau2 = compute_between_variance(
        y, s, codes, n_groups=len(labels), method=method, per_group=per_group
    )
    posterior = compute_normal_normal_posterior(
        y, s, codes, unit_sd=np.sqrt(tau2), n_groups=len(labels), alpha=alpha
    )
    between_sd = (
        take(np.sqrt(tau2), codes)
        if per_group
        else np.broadcast_to(np.sqrt(tau2)[:, None], y.shape)
    )
    return _posterior_table(
        "empirical Bayes",
        posterior,
        blocks,
        alpha,
        shrinkage=posterior["shrinkage"],
        between_sd=between_sd,
        group_mean=take(posterior["group_mean"], codes),
    )


def oracle_bayes_effects(
    effects: Estimates,
    groups: Any,
    *,
    mean_effect: float,
    group_sd: float,
    unit_sd: float,
    replications: Any = None,
    alpha: float = 0.05,
) -> Estimates:
    """Oracle Bayes: the exact posterior with the *true* hyperparameters.

    :func:`compute_normal_normal_posterior` with known ``mean_effect``, ``group_sd`` and
    ``unit_sd`` (the group means are still unknown and integrated out). No estimator that
    has to learn the hyperparameters from the data can beat its mean squared error on
    average over data drawn from the model; it is the limit the hierarchical model
    approaches as units accumulate.

    Parameters
    ----------
    effects : Estimates
        One row per unit (and replication).
    groups, replications : array-like or pandas.Series
        As in :func:`empirical_bayes_effects` (``replications`` optional).
    mean_effect, group_sd, unit_sd : float
        The true hyperparameters (``group_sd`` may be ``inf`` for a flat prior).
    alpha : float
        One minus the credible level.

    Returns
    -------
    Estimates
        One row per input row, in input order (method ``"oracle Bayes"``), labelled as
        ``effects``, plus ``group`` (``replication``) and ``shrinkage``.

    Raises
    ------
    ValueError
        As :func:`empirical_bayes_effects` for the data; for strings or NaN for the
        hyperparameters, or negative standard deviations (``group_sd`` must be positive or
        ``inf``).
    """
    alpha = check_alpha(alpha)
    unit_sd = check_positive(unit_sd, "unit_sd", strict=False)
    mean_effect = check_finite_number(mean_effect, "mean_effect")
    if isinstance(group_sd, bool) or not isinstance(group_sd, Real):
        raise ValueError(f"group_sd must be a real number, got {group_sd!r}")
    group_sd = float(group_sd)
    if not group_sd > 0:
        raise ValueError(f"group_sd must be positive (inf for a flat prior), got {group_sd}")
    blocks = _replication_blocks(effects, groups, replications)
    y, s, codes, labels = blocks[:4]
    posterior = compute_normal_normal_posterior(
        y,
        s,
        codes,
        unit_sd=unit_sd,
        group_sd=group_sd,
        mean_effect=mean_effect,
        n_groups=len(labels),
        alpha=alpha,
    )
    return _posterior_table(
        "oracle Bayes", posterior, blocks, alpha, shrinkage=posterior["shrinkage"]
    )
