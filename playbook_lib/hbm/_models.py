"""The hierarchical model's PyMC definitions and its exact conditional draws (private).

:func:`build_known_se_model` is the full model (every effect sampled, centred or
non-centred) and :func:`build_hyperparameter_model` the same posterior with everything
conjugate integrated out. They define what the fits sample: nutpie samples their log
densities from numba callbacks (``_densities``), which the tests check equal to these
models' ``model.logp`` and PyTensor's gradient of it, so no PyTensor graph is compiled for
a fit. :func:`draw_conditional_effects` completes each draw of the two standard
deviations with exact draws of the mean, the group means and the unit effects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from playbook_lib.hbm._checks import onehot
from playbook_lib.hbm._sampling import add_draws, stack
from playbook_lib.hbm.pooling import compute_between_variance, compute_normal_normal_posterior


def _constant(value: Any) -> Any:
    # A NumPy float64, not a Python float: PyTensor stores a Python float constant in
    # float32 when its float32 rounding is "close" (autocast), e.g. 0.7 -> 0.69999999.
    return np.float64(value) if isinstance(value, float) else value


def automatic_group_centering(
    y: np.ndarray, s: np.ndarray, codes: np.ndarray, n_groups: int
) -> float:
    """1 (centred) if the data pin down every group mean well relative to their spread."""
    if n_groups < 5 or len(y) <= n_groups:
        return 0.0
    tau2 = compute_between_variance(y, s, codes, n_groups=n_groups, method="moments")
    post = compute_normal_normal_posterior(y, s, codes, unit_sd=np.sqrt(tau2), n_groups=n_groups)
    group_se = post["group_sd"]
    spread2 = max(0.0, float(np.var(post["group_mean"], ddof=1) - np.mean(group_se**2)))
    return 1.0 if np.median(group_se) < np.sqrt(spread2) / 3 else 0.0


def check_centering(value: Any, name: str) -> float:
    """A centring choice: 1 (centred) or 0 (non-centred), as a float."""
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)
    ):
        return float(value)
    raise ValueError(f"{name} must be 1 (centred) or 0 (non-centred), got {value!r}")


def build_known_se_model(
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
    centered_groups: bool,
    centered_units: bool,
) -> Any:
    """The global → group → unit PyMC model; the free variables are ``group_raw``/``unit_raw``.

    Centred, ``*_raw`` is the group mean (unit effect) itself; non-centred, it is the
    standardised deviation ``z`` with mean = parent + sd * z. :func:`derived_means` turns
    the draws into group means and unit effects. The fits sample its log density from
    ``_densities.full_model_density`` (the tests check the two agree).
    """
    import pymc as pm

    coords = {"group": np.arange(n_groups), "unit": np.arange(len(y))}
    # check_bounds=False drops PyMC's run-time parameter checks (sd > 0): every sd here is
    # positive by construction (log-transformed, or a validated standard error).
    with pm.Model(coords=coords, check_bounds=False) as model:
        scale = _constant(prior_scale)
        mu = pm.Normal("mu", 0.0, 10.0 * scale)
        group_sd = pm.HalfNormal("group_sd", scale)
        unit_sd = pm.HalfNormal("unit_sd", scale)
        if centered_groups:
            group_mean = pm.Normal("group_raw", mu, group_sd, dims="group")
        else:
            group_mean = mu + group_sd * pm.Normal("group_raw", 0.0, 1.0, dims="group")
        if centered_units:
            theta = pm.Normal("unit_raw", group_mean[codes], unit_sd, dims="unit")
        else:
            theta = group_mean[codes] + unit_sd * pm.Normal("unit_raw", 0.0, 1.0, dims="unit")
        pm.Normal("likelihood", theta, s, observed=y, dims="unit")
    return model


def build_hyperparameter_model(
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
) -> Any:
    """The PyMC model with ``mu``, the group means and the unit effects integrated out.

    With ``v_j = unit_sd^2 + s_j^2``, ``w_j = 1/v_j`` and per group ``W_g = sum w_j``,
    ``ybar_g = sum w_j y_j / W_g``, ``Q_g = sum w_j (y_j - ybar_g)^2``, the estimates given
    ``mu`` have log density (matrix determinant lemma and Sherman-Morrison, up to a
    constant) ``-1/2 [sum log v_j + sum log(1 + group_sd^2 W_g) + sum Q_g
    + sum (ybar_g - mu)^2 / u_g]`` with ``u_g = 1/W_g + group_sd^2``. Integrating
    ``mu ~ N(0, V)`` adds ``-1/2 [sum ybar_g^2 / u_g - b^2/A + log(V A)]`` with
    ``A = sum 1/u_g + 1/V`` and ``b = sum ybar_g / u_g``. Only ``group_sd`` and ``unit_sd``
    are sampled; :func:`draw_conditional_effects` draws ``mu``, the group means and the
    unit effects exactly. The fits sample its log density from
    ``_densities.hyperparameter_density`` (the tests check the two agree).
    """
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model(check_bounds=False) as model:
        code, observed, standard_error = codes, y, s
        scale = _constant(prior_scale)
        group_sd = pm.HalfNormal("group_sd", scale)
        unit_sd = pm.HalfNormal("unit_sd", scale)
        variance = unit_sd**2 + standard_error**2
        weight = 1.0 / variance

        # A constant zero vector, not pt.zeros: an Alloc op costs seconds of numba compilation.
        zeros = pt.as_tensor(np.zeros(n_groups))

        def group_sum(values: Any) -> Any:
            return pt.inc_subtensor(zeros[code], values)

        weight_sum = group_sum(weight)
        weighted_mean = group_sum(weight * observed) / weight_sum
        within = group_sum(weight * observed**2) - weight_sum * weighted_mean**2
        group_var = 1.0 / weight_sum + group_sd**2
        mu_precision = pt.sum(1.0 / group_var) + 1.0 / (10.0 * scale) ** 2
        mu_numerator = pt.sum(weighted_mean / group_var)
        pm.Potential(
            "likelihood",
            -0.5
            * (
                pt.sum(pt.log(variance))
                + pt.sum(pt.log(1.0 + group_sd**2 * weight_sum))
                + pt.sum(within)
                + pt.sum(weighted_mean**2 / group_var)
                - mu_numerator**2 / mu_precision
                + pt.log((10.0 * scale) ** 2 * mu_precision)
            ),
        )
    return model


def draw_conditional_effects(
    idata: Any,
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
    generator: np.random.Generator,
    units: bool = True,
) -> None:
    """Exact draws of ``mu``, group means and (if ``units``) unit effects given the sds.

    ``mu | group_sd, unit_sd, y ~ N(b/A, 1/A)`` (see :func:`build_hyperparameter_model`);
    ``m_g | mu, ... ~ N((mu + group_sd^2 W_g ybar_g) / (1 + group_sd^2 W_g),
    group_sd^2 / (1 + group_sd^2 W_g))`` (stable as ``group_sd -> 0``);
    ``theta_j | m_g, unit_sd, y_j ~ N(B_j m_g + (1 - B_j) y_j, (1 - B_j) s_j^2)`` with
    ``B_j = s_j^2 / (s_j^2 + unit_sd^2)``. Stored as ``mu``, ``group_mean``, ``theta``.
    """
    group_var = stack(idata, "group_sd")[:, None] ** 2
    unit_var = stack(idata, "unit_sd")[:, None] ** 2
    indicators = onehot(codes, n_groups)
    weight = 1.0 / (unit_var + s**2)
    weight_sum = weight @ indicators
    weighted_mean = ((weight * y) @ indicators) / weight_sum
    mean_var = 1.0 / weight_sum + group_var
    mu_precision = (1.0 / mean_var).sum(axis=1) + 1.0 / (10.0 * prior_scale) ** 2
    mu_center = (weighted_mean / mean_var).sum(axis=1) / mu_precision
    mu = mu_center + generator.standard_normal(mu_center.shape) / np.sqrt(mu_precision)
    inflation = 1.0 + group_var * weight_sum
    center = (mu[:, None] + group_var * weight_sum * weighted_mean) / inflation
    group_mean = center + np.sqrt(group_var / inflation) * generator.standard_normal(center.shape)
    add_draws(idata, "mu", mu)
    add_draws(idata, "group_mean", group_mean, "group")
    if not units:
        return
    shrinkage = s**2 / (s**2 + unit_var)
    theta_mean = shrinkage * group_mean[:, codes] + (1 - shrinkage) * y
    theta = theta_mean + np.sqrt((1 - shrinkage) * s**2) * generator.standard_normal(
        theta_mean.shape
    )
    add_draws(idata, "theta", theta, "unit")


def derived_means(
    idata: Any, codes: np.ndarray, centered_groups: bool, centered_units: bool
) -> None:
    """Add ``group_mean`` and ``theta`` to the posterior of the full model."""
    group_raw = stack(idata, "group_raw")
    group_mean = group_raw
    if not centered_groups:
        group_mean = stack(idata, "mu")[:, None] + stack(idata, "group_sd")[:, None] * group_raw
    add_draws(idata, "group_mean", group_mean, "group")
    unit_raw = stack(idata, "unit_raw")
    theta = unit_raw
    if not centered_units:
        theta = group_mean[:, codes] + stack(idata, "unit_sd")[:, None] * unit_raw
    add_draws(idata, "theta", theta, "unit")


def build_eight_schools_model(y: np.ndarray, s: np.ndarray) -> Any:
    """The PyMC model :func:`~playbook_lib.hbm.fit_eight_schools` samples (from
    ``_densities.eight_schools_density``, which the tests check equal to it)."""
    import pymc as pm

    with pm.Model(coords={"school": np.arange(len(y))}, check_bounds=False) as model:
        # NumPy float64 constants: PyTensor stores Python floats in float32 when that is
        # "close" (autocast), which shifts the log density by ~6e-8.
        mu = pm.Normal("mu", 0.0, np.float64(5.0))
        tau = pm.HalfCauchy("tau", np.float64(5.0))
        theta_tilde = pm.Normal("theta_tilde", 0.0, 1.0, dims="school")
        pm.Normal("y", mu + tau * theta_tilde, s, observed=y, dims="school")
    return model
