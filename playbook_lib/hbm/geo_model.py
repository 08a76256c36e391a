"""A hierarchical model of a small geo test's per-geo changes, with a between-geo sd per arm.

Each geo ``g`` of a geo test gives a pre-to-post change with a standard error from its own
day-to-day noise; :func:`fit_geo_hierarchical_model` pools the geos of each arm toward the
arm's mean with a between-geo sd estimated for each arm and returns the lift
``mu_treatment - mu_control`` with ``P(lift > 0)``, per-geo effects and the draws. As for
:func:`~playbook_lib.hbm.fit_hierarchical_model`, NUTS samples only the two log
between-geo sds (one small numba density, no PyTensor graph); the arm means and geo
effects are drawn exactly given each draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib.hbm._checks import check_unique_labels, onehot, unit_data
from playbook_lib.hbm._sampling import (
    add_draws,
    add_log_likelihood,
    check_sampler_settings,
    coordinate,
    default_prior_scale,
    sample_log_sd_density,
    seed_from,
    stack,
    summarize_draws,
)
from playbook_lib.hbm.hierarchical import HierarchicalFit
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import check_alpha, check_rng

__all__ = ["GeoHierarchicalFit", "fit_geo_hierarchical_model"]

_METHOD = "hierarchical Bayes"


@dataclass(frozen=True)
class GeoHierarchicalFit(HierarchicalFit):
    """A :class:`~playbook_lib.hbm.HierarchicalFit` of a geo test, with its lift.

    ``unit_effects`` are the per-geo effects (with the column ``group``, the arm),
    ``group_effects`` the two arm means (labelled ``control``, ``treatment``) and
    ``hyperparameters`` the between-geo sd of each arm and the lift.

    Attributes
    ----------
    lift : Estimate
        ``mu_treatment - mu_control`` (method ``"hierarchical geo lift"``, posterior mean
        and sd, equal-tailed interval), ``details["prob_positive"] = P(lift > 0 | data)``
        and ``details["n_geos"]``.
    """

    lift: Estimate = field(kw_only=True)


@dataclass(frozen=True)
class _ArmDensity:
    """The geo model's posterior density of the log between-geo sds, one per arm.

    Per arm ``k`` (geos ``j`` with ``v_j = tau_k^2 + s_j^2``, ``w_j = 1/v_j``), integrating
    the geo effects and ``mu_k ~ N(0, V)``, ``V = (10 c)^2``, out of the model of
    :func:`fit_geo_hierarchical_model` leaves ``y_k ~ N(0, diag(v) + V 1 1')``, with log
    density ``-F_k/2`` up to a constant, ``F_k = sum log v_j + R - P^2/A + log(V A)``,
    where ``W = sum w_j``, ``P = sum w_j y_j``, ``R = sum w_j y_j^2`` and ``A = W + 1/V``
    (matrix determinant lemma and Sherman-Morrison). With ``t = tau_k^2`` and the sums
    ``S2, P2, R2`` of ``w_j^2, w_j^2 y_j, w_j^2 y_j^2``,
    ``dF_k/dt = W - R2 + 2 P P2 / A - P^2 S2 / A^2 - S2 / A``. The sampler works on
    ``x_k = log tau_k``: log density ``sum_k [-F_k/2 - t_k/(2 c^2) + x_k]`` plus
    ``tau_k ~ HalfNormal(c)``'s constant, gradient ``-t_k dF_k/dt - t_k/c^2 + 1``.
    The arms share no parameter, so the posterior factorises over them; ``mu_k`` and the
    geo effects are then drawn exactly (:func:`_draw_arm_effects`). The tests check the
    value against SciPy's multivariate normal density and the posterior against a grid.
    """

    y: np.ndarray
    se_squared: np.ndarray
    codes: np.ndarray  # arm of each geo, 0 .. n_arms - 1
    n_arms: int
    prior_scale: float

    def __call__(self, log_sds: np.ndarray) -> tuple[float, np.ndarray]:
        """Log density and gradient at ``x = log tau`` (``-inf`` beyond ``|x - log c| > 50``)."""
        gradient = np.empty(self.n_arms)
        log_density = _arm_log_density(
            np.asarray(log_sds, dtype=float),
            self.y,
            self.se_squared,
            self.codes,
            self.prior_scale,
            gradient,
        )
        return float(log_density), gradient


@numba.njit(cache=True, nogil=True)
def _arm_log_density(
    x: np.ndarray,
    y: np.ndarray,
    se_squared: np.ndarray,
    codes: np.ndarray,
    prior_scale: float,
    gradient: np.ndarray,
) -> float:
    """``_ArmDensity``'s value; writes its gradient into ``gradient``."""
    n_arms = x.shape[0]
    log_c = math.log(prior_scale)
    for k in range(n_arms):
        if not abs(x[k] - log_c) < 50.0:
            gradient[:] = np.nan
            return -np.inf
    c2 = prior_scale * prior_scale
    mu_variance = 100.0 * c2
    t = np.exp(2.0 * x)
    W = np.zeros(n_arms)
    P = np.zeros(n_arms)
    R = np.zeros(n_arms)
    S2 = np.zeros(n_arms)
    P2 = np.zeros(n_arms)
    R2 = np.zeros(n_arms)
    sum_log_v = np.zeros(n_arms)
    for j in range(y.shape[0]):
        k = codes[j]
        w = 1.0 / (t[k] + se_squared[j])
        wy = w * y[j]
        W[k] += w
        P[k] += wy
        R[k] += wy * y[j]
        S2[k] += w * w
        P2[k] += w * wy
        R2[k] += w * wy * y[j]
        sum_log_v[k] -= math.log(w)
    log_density = 0.0
    for k in range(n_arms):
        A = W[k] + 1.0 / mu_variance
        F = sum_log_v[k] + R[k] - P[k] * P[k] / A + math.log(mu_variance * A)
        dF_dt = W[k] - R2[k] + 2.0 * P[k] * P2[k] / A - P[k] * P[k] * S2[k] / (A * A) - S2[k] / A
        log_density += -0.5 * F - t[k] / (2.0 * c2) + 0.5 * math.log(2.0 / math.pi) - log_c + x[k]
        gradient[k] = -t[k] * dF_dt - t[k] / c2 + 1.0
    return log_density


def _draw_arm_effects(
    tau: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    prior_scale: float,
    generator: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact draws of the arm means and geo effects given draws ``tau`` (shape (n, arms)).

    ``mu_k | tau, y ~ N(P/A, 1/A)`` (see ``_ArmDensity``) and
    ``theta_j | mu_k, tau_k, y_j ~ N(B_j mu_k + (1 - B_j) y_j, (1 - B_j) s_j^2)`` with
    ``B_j = s_j^2 / (s_j^2 + tau_k^2)``.
    """
    n_arms = tau.shape[1]
    indicators = onehot(codes, n_arms)
    unit_var = tau[:, codes] ** 2
    weight = 1.0 / (unit_var + s**2)
    precision = weight @ indicators + 1.0 / (10.0 * prior_scale) ** 2
    center = ((weight * y) @ indicators) / precision
    arm_mean = center + generator.standard_normal(center.shape) / np.sqrt(precision)
    shrinkage = s**2 / (s**2 + unit_var)
    theta_mean = shrinkage * arm_mean[:, codes] + (1 - shrinkage) * y
    theta = theta_mean + np.sqrt((1 - shrinkage) * s**2) * generator.standard_normal(
        theta_mean.shape
    )
    return arm_mean, theta


def fit_geo_hierarchical_model(
    effects: Estimates,
    arms: Any,
    *,
    treatment_label: str = "treatment",
    prior_scale: float | None = None,
    draws: int = 1_000,
    tune: int = 1_000,
    chains: int = 4,
    cores: int = 2,
    target_accept: float = 0.9,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> GeoHierarchicalFit:
    """Hierarchical normal model of per-geo pre/post changes in a geo test.

    ``delta_g ~ N(theta_g, se_g^2)`` with ``se_g`` from the geo's own daily noise,
    ``theta_g ~ N(mu_arm(g), tau_arm(g)^2)`` with a between-geo sd ``tau`` estimated for
    each arm, ``mu_arm ~ N(0, (10 c)^2)`` and ``tau_arm ~ HalfNormal(c)``, where the prior
    scale ``c`` defaults to the sd of the deltas (so the result does not depend on the
    KPI's units). Each geo's effect is pooled toward its arm's mean by
    ``tau^2 / (tau^2 + se_g^2)``, averaged over the posterior of ``tau``.

    As in :func:`~playbook_lib.hbm.fit_hierarchical_model`, NUTS (nutpie) samples only what
    cannot be integrated out, here the two log between-geo sds (density:
    ``_ArmDensity``, one small numba function, no PyTensor graph to compile); the arm
    means and geo effects are then drawn exactly from their normal conditionals given each
    draw. The chains run in one thread (nutpie calls the density through Python).

    Parameters
    ----------
    effects : Estimates
        One row per geo with a unique label: its change (estimate) and positive SE.
    arms : array-like or pandas.Series
        The arm label of each geo (a Series aligned by label, a sequence by position).
    treatment_label : str
        Label of treated geos in ``arms``; every other label is control.
    prior_scale : float, optional
        ``c``.
    draws, tune, chains, cores : int
        Sampler settings (the chains run in one thread whatever ``cores`` says).
    target_accept : float
        NUTS target acceptance.
    alpha : float
        One minus the credible level.
    rng : numpy.random.Generator, int or None
        Seed source for the sampler and the exact draws.

    Returns
    -------
    GeoHierarchicalFit
        The lift (``lift``), the per-geo effects (``unit_effects``), the arm means
        (``group_effects``), the between-geo sds (``hyperparameters``) and the draws.

    Raises
    ------
    ValueError
        If ``effects`` is not a non-empty :class:`~playbook_lib.Estimates` with positive SEs and unique
        labels, ``arms`` misses a geo or has missing entries, an arm has fewer than 2 geos
        (``treatment_label`` marks the treated), the changes are all equal (without
        ``prior_scale``), or a setting or ``rng`` is invalid; all before sampling.
    """
    alpha = check_alpha(alpha)
    check_sampler_settings(draws, tune, chains, cores, target_accept)
    generator = check_rng(rng)
    frame, y, s, _, _, arms = unit_data(effects, arms, groups_name="arms")
    check_unique_labels(frame.index, "effects")
    arm = (arms == treatment_label).to_numpy().astype(np.int64)
    if arm.sum() < 2 or (1 - arm).sum() < 2:
        raise ValueError(
            f"treatment_label: {treatment_label!r} marks {int(arm.sum())} of the "
            f"{len(arm)} geos in arms; each arm needs at least 2 geos"
        )
    prior_scale = default_prior_scale(y, prior_scale, "changes (estimates)")
    idata, timings = sample_log_sd_density(
        _ArmDensity(y, s**2, arm, 2, prior_scale),
        prior_scale,
        ["tau_control", "tau_treatment"],
        draws=draws,
        tune=tune,
        chains=chains,
        target_accept=target_accept,
        seed=seed_from(generator),
    )
    between_draws = np.column_stack([stack(idata, "tau_control"), stack(idata, "tau_treatment")])
    idata.posterior = idata.posterior.drop_vars(["tau_control", "tau_treatment"])
    arm_draws, theta = _draw_arm_effects(between_draws, y, s, arm, prior_scale, generator)
    geos = coordinate(frame.index)
    lift = arm_draws[:, 1] - arm_draws[:, 0]
    add_draws(idata, "arm_mean", arm_draws, "arm")
    add_draws(idata, "between_geo_sd", between_draws, "arm")
    add_draws(idata, "theta", theta, "geo")
    add_draws(idata, "lift", lift)
    idata.posterior = idata.posterior.assign_coords(arm=["control", "treatment"], geo=geos)
    add_log_likelihood(idata, stats.norm.logpdf(y, theta, s), "geo", geos)
    low, high = np.quantile(lift, [alpha / 2, 1 - alpha / 2])
    parameters = ["between_geo_sd_control", "between_geo_sd_treatment", "lift"]
    return GeoHierarchicalFit(
        idata=idata,
        unit_effects=summarize_draws(theta, frame.index, _METHOD, alpha, group=arms),
        group_effects=summarize_draws(
            arm_draws, pd.Index(["control", "treatment"], name="arm"), _METHOD, alpha
        ),
        hyperparameters=summarize_draws(
            np.column_stack([between_draws, lift]),
            pd.Index(parameters, name="parameter"),
            _METHOD,
            alpha,
        ),
        timings=timings,
        data=pd.DataFrame({"group": arms, "estimate": y, "se": s}, index=frame.index),
        details={"prior_scale": prior_scale},
        lift=Estimate(
            "hierarchical geo lift",
            float(lift.mean()),
            float(lift.std(ddof=1)),
            float(low),
            float(high),
            alpha=alpha,
            details={"prob_positive": float((lift > 0).mean()), "n_geos": len(y)},
        ),
    )
