"""A hierarchical model of a small geo test's per-geo changes, with a between-geo sd per arm.

Each geo ``g`` of a geo test gives a pre-to-post change with a standard error from its own
day-to-day noise; :func:`fit_geo_hierarchical_model` pools the geos of each arm toward the
arm's mean with a between-geo sd estimated for each arm and returns the lift
``mu_treatment - mu_control`` with ``P(lift > 0)``, per-geo effects and the draws. As for
:func:`~playbook_lib.hbm.fit_hierarchical_model`, NUTS samples only the two log
between-geo sds (one small numba density, ``_densities.arm_density``, no PyTensor
graph); the arm means and geo effects are drawn exactly given each draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.hbm._checks import check_unique_labels, onehot, unit_data
from playbook_lib.hbm._densities import arm_density
from playbook_lib.hbm._sampling import (
    add_draws,
    add_log_likelihood,
    check_sampler_settings,
    coordinate,
    default_prior_scale,
    normal_log_density,
    sample_density,
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


def _draw_arm_effects(
    tau: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    prior_scale: float,
    generator: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact draws of the arm means and geo effects given draws ``tau`` (shape (n, arms)).

    ``mu_k | tau, y ~ N(P/A, 1/A)`` (see ``_densities.arm_density``) and
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
    ``_densities.arm_density``, one small numba function compiled once, no PyTensor
    graph); the arm means and geo effects are then drawn exactly from their normal
    conditionals given each draw.

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
        Sampler settings.
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
        If ``effects`` is not a non-empty :class:`~playbook_lib.Estimates` with positive SEs and
        unique labels, ``arms`` misses a geo or has missing entries, an arm has fewer than 2 geos
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
    idata, timings = sample_density(
        arm_density(y, s**2, arm, 2, prior_scale),
        ["tau_control", "tau_treatment"],
        [(), ()],
        np.full(2, np.log(prior_scale)),
        np.ones(2),
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
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
    add_log_likelihood(idata, normal_log_density(y, theta, s), "geo", geos)
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
