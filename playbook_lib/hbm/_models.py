"""The hierarchical model's PyMC graphs, its numba density and its exact draws (private).

:func:`build_known_se_model` is the full model (every effect sampled, centered or
non-centered); :func:`build_hyperparameter_model` the same posterior with everything
conjugate integrated out, which :class:`HyperparameterDensity` evaluates without PyTensor
(equal to PyMC's ``model.logp`` and its gradient, as the tests check), and
:func:`draw_conditional_effects` completes each draw of the two standard deviations with
exact draws of the mean, the group means and the unit effects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from playbook_lib.hbm._checks import onehot
from playbook_lib.hbm._sampling import add_draws, model_data, stack
from playbook_lib.hbm.pooling import compute_between_variance, compute_normal_normal_posterior


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
    shared: bool,
) -> Any:
    """The global → group → unit model; the free variables are ``group_raw``/``unit_raw``.

    Centred, ``*_raw`` is the group mean (unit effect) itself; non-centred, it is the
    standardised deviation ``z`` with mean = parent + sd * z. :func:`derived_means` turns
    the draws into group means and unit effects (kept out of the graph: fewer operations
    to compile). With constant data (``shared=False``) the centring is chosen in Python.
    With ``pm.Data`` (``shared=True``) it is data too, so one compiled model serves every
    parameterisation: with a weight ``w`` of 1 (centred) or 0 (non-centred),
    ``raw ~ N(w parent, sd^w)`` and ``mean = parent + sd^(1 - w) (raw - w parent)``, which
    is exactly the centred or the non-centred model.
    """
    import pymc as pm

    coords = {"group": np.arange(n_groups), "unit": np.arange(len(y))}
    # check_bounds=False drops PyMC's run-time parameter checks (sd > 0): every sd here is
    # positive by construction (log-transformed, or a validated standard error).
    with pm.Model(coords=coords, check_bounds=False) as model:
        code = model_data(shared, "group_code", codes, "unit")
        observed = model_data(shared, "estimate", y, "unit")
        standard_error = model_data(shared, "standard_error", s, "unit")
        scale = model_data(shared, "prior_scale", prior_scale)
        mu = pm.Normal("mu", 0.0, 10.0 * scale)
        group_sd = pm.HalfNormal("group_sd", scale)
        unit_sd = pm.HalfNormal("unit_sd", scale)
        if shared:
            w_group = pm.Data("group_centering", float(centered_groups))
            w_unit = pm.Data("unit_centering", float(centered_units))
            group_raw = pm.Normal("group_raw", w_group * mu, group_sd**w_group, dims="group")
            group_mean = mu + group_sd ** (1.0 - w_group) * (group_raw - w_group * mu)
            parent = group_mean[code]
            unit_raw = pm.Normal("unit_raw", w_unit * parent, unit_sd**w_unit, dims="unit")
            theta = parent + unit_sd ** (1.0 - w_unit) * (unit_raw - w_unit * parent)
        else:
            if centered_groups:
                group_mean = pm.Normal("group_raw", mu, group_sd, dims="group")
            else:
                group_mean = mu + group_sd * pm.Normal("group_raw", 0.0, 1.0, dims="group")
            if centered_units:
                theta = pm.Normal("unit_raw", group_mean[code], unit_sd, dims="unit")
            else:
                theta = group_mean[code] + unit_sd * pm.Normal("unit_raw", 0.0, 1.0, dims="unit")
        pm.Normal("likelihood", theta, standard_error, observed=observed, dims="unit")
    return model


def build_hyperparameter_model(
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
    shared: bool,
) -> Any:
    """The model with ``mu``, the group means and the unit effects integrated out.

    With ``v_j = unit_sd^2 + s_j^2``, ``w_j = 1/v_j`` and per group ``W_g = sum w_j``,
    ``ybar_g = sum w_j y_j / W_g``, ``Q_g = sum w_j (y_j - ybar_g)^2``, the estimates given
    ``mu`` have log density (matrix determinant lemma and Sherman-Morrison, up to a
    constant) ``-1/2 [sum log v_j + sum log(1 + group_sd^2 W_g) + sum Q_g
    + sum (ybar_g - mu)^2 / u_g]`` with ``u_g = 1/W_g + group_sd^2``. Integrating
    ``mu ~ N(0, V)`` adds ``-1/2 [sum ybar_g^2 / u_g - b^2/A + log(V A)]`` with
    ``A = sum 1/u_g + 1/V`` and ``b = sum ybar_g / u_g``. Only ``group_sd`` and ``unit_sd``
    are sampled; :func:`draw_conditional_effects` draws ``mu``, the group means and the
    unit effects exactly.
    """
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model(check_bounds=False) as model:
        code = model_data(shared, "group_code", codes)
        observed = model_data(shared, "estimate", y)
        standard_error = model_data(shared, "standard_error", s)
        scale = model_data(shared, "prior_scale", prior_scale)
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


@dataclass(frozen=True)
class HyperparameterDensity:
    """:func:`build_hyperparameter_model`'s log density and gradient, without PyTensor.

    The sampler works on ``x = (log group_sd, log unit_sd)``. With ``a = group_sd^2``,
    ``t = unit_sd^2`` and ``F(a, t)`` the bracket of :func:`build_hyperparameter_model`
    (so the integrated likelihood is ``-F/2`` up to the constant ``-(n/2) log 2 pi``, which
    the PyMC model drops too), the log density is
    ``-F/2 - (a + t) / (2 c^2) + log(2 / pi) - 2 log c + x_1 + x_2``: the two
    HalfNormal(c) priors and the Jacobian of the log transform. The gradient is
    ``(-a dF/da - a/c^2 + 1, -t dF/dt - t/c^2 + 1)``; writing ``h_g = 1/u_g``,
    ``z_g = ybar_g``, ``m = b/A`` and ``G_g = (z_g - m)^2 + 1/A``,

    - ``dF/da = sum_g [W_g / (1 + a W_g) - h_g^2 G_g]``;
    - ``dF/dt = sum_j w_j - sum_g [dF/dW_g S2_g + dF/dP_g P2_g + R2_g]``, where
      ``P_g = sum w_j y_j``, ``R_g = sum w_j y_j^2`` and ``S2, P2, R2`` are the same sums
      with ``w_j^2`` (so ``dW_g/dt = -S2_g`` etc.), ``dF/dW_g = a / (1 + a W_g) + z_g^2
      + G_g h_g^2 / W_g^2 - 2 h_g (z_g - m) z_g / W_g`` and
      ``dF/dP_g = -2 z_g + 2 h_g (z_g - m) / W_g``.

    Value and gradient equal PyMC's ``model.logp()`` and PyTensor's gradient of it
    (``tests/test_hbm.py``). They are evaluated by one small numba function
    (:func:`hyperparameter_log_density`), not by PyTensor's compiled graph of the model:
    compiling that graph with numba takes 10-35 s on a fresh machine, this function
    about 3 s, once.
    """

    y: np.ndarray
    se_squared: np.ndarray  # s_j^2
    codes: np.ndarray  # group of each unit, 0 .. n_groups - 1
    n_groups: int
    prior_scale: float

    @classmethod
    def from_data(
        cls, y: np.ndarray, s: np.ndarray, codes: np.ndarray, n_groups: int, prior_scale: float
    ) -> HyperparameterDensity:
        return cls(
            np.array(y, dtype=float),
            np.asarray(s, dtype=float) ** 2,
            np.array(codes, dtype=np.intp),
            int(n_groups),
            float(prior_scale),
        )

    def __call__(self, log_sds: np.ndarray) -> tuple[float, np.ndarray]:
        """Log density and its gradient at ``x = (log group_sd, log unit_sd)``.

        Beyond ``|x_i - log c| > 50`` (an sd ``e^50`` times the prior scale or smaller than
        ``e^-50`` times it: prior density ``exp(-e^100 / 2)`` at the top) it returns
        ``-inf``, which NUTS treats as a divergence, instead of overflowing.
        """
        gradient = np.empty(2)
        log_density = hyperparameter_log_density(
            float(log_sds[0]),
            float(log_sds[1]),
            self.y,
            self.se_squared,
            self.codes,
            self.n_groups,
            self.prior_scale,
            gradient,
        )
        return float(log_density), gradient


@numba.njit(cache=True, nogil=True)
def hyperparameter_log_density(
    x0: float,
    x1: float,
    y: np.ndarray,
    se_squared: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
    gradient: np.ndarray,
) -> float:
    """:class:`HyperparameterDensity`'s value; writes its gradient into ``gradient``.

    One pass over the units accumulates the per-group sums, one over the groups the rest
    (the formulas are in the class docstring). Compiled by numba, about 3 s once per
    environment (cached on disk); a call then costs microseconds, against milliseconds
    for PyTensor's compiled graph of the same model to compile and ~130 microseconds
    for the same formulas as NumPy array operations on 500 units.
    """
    log_c = math.log(prior_scale)
    if not (abs(x0 - log_c) < 50.0 and abs(x1 - log_c) < 50.0):
        gradient[0] = np.nan
        gradient[1] = np.nan
        return -np.inf
    c2 = prior_scale * prior_scale
    mu_variance = 100.0 * c2  # mu ~ N(0, (10 c)^2)
    a = math.exp(2.0 * x0)
    t = math.exp(2.0 * x1)
    W = np.zeros(n_groups)
    P = np.zeros(n_groups)
    S2 = np.zeros(n_groups)
    P2 = np.zeros(n_groups)
    sum_log_w = sum_w = sum_R = sum_R2 = 0.0
    for j in range(y.shape[0]):
        w = 1.0 / (t + se_squared[j])
        g = codes[j]
        wy = w * y[j]
        w2y = w * wy
        W[g] += w
        P[g] += wy
        S2[g] += w * w
        P2[g] += w2y
        sum_R += wy * y[j]
        sum_R2 += w2y * y[j]
        sum_log_w += math.log(w)
        sum_w += w
    A = 1.0 / mu_variance
    b = 0.0
    for g in range(n_groups):
        h = 1.0 / (1.0 / W[g] + a)
        A += h
        b += P[g] / W[g] * h
    m = b / A
    F = -sum_log_w + sum_R - b * m + math.log(mu_variance * A)
    dF_da = 0.0
    dF_dt = sum_w - sum_R2
    for g in range(n_groups):
        z = P[g] / W[g]
        h = 1.0 / (1.0 / W[g] + a)
        inflation = 1.0 + a * W[g]
        F += math.log(inflation) - P[g] * z + z * z * h
        G = (z - m) ** 2 + 1.0 / A
        dF_da += W[g] / inflation - h * h * G
        dF_dW = a / inflation + z * z + G * h * h / (W[g] * W[g]) - 2.0 * h * (z - m) * z / W[g]
        dF_dP = -2.0 * z + 2.0 * h * (z - m) / W[g]
        dF_dt -= dF_dW * S2[g] + dF_dP * P2[g]
    gradient[0] = -a * dF_da - a / c2 + 1.0
    gradient[1] = -t * dF_dt - t / c2 + 1.0
    return -0.5 * F - (a + t) / (2.0 * c2) + math.log(2.0 / math.pi) - math.log(c2) + x0 + x1


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
