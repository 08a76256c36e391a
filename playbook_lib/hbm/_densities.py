"""The log densities nutpie samples, as numba C callbacks (private).

Every Bayesian fit of :mod:`playbook_lib.hbm` samples one of four log densities, each with
its gradient written out by hand and compiled by numba into a C function with nutpie's
calling convention ``int64 logp(n_dim, x*, gradient*, logp*, data*)``:

- :func:`hyperparameter_density`: the default hierarchical model with ``mu``, the group
  means and the unit effects integrated out; ``x = (log group_sd, log unit_sd)``;
- :func:`full_model_density`: the same model with every effect sampled,
  ``x = (mu, log group_sd, log unit_sd, group_raw, unit_raw)``, each level centred or
  non-centred by a weight in the data (so one compiled function serves every
  parameterisation);
- :func:`arm_density`: the geo model's log between-geo sds (one per arm), everything else
  integrated out;
- :func:`eight_schools_density`: the non-centred eight-schools model,
  ``x = (mu, log tau, theta_tilde)``.

Each equals the log density of the PyMC model it stands for (``_models`` builds them):
``tests/test_hbm.py`` checks each against PyMC's ``model.logp`` and PyTensor's gradient of
it, and every data shape and parameterisation against a closed form written with SciPy's
densities (the gradient by central differences). The data travel as one float64 array whose
address nutpie passes to every call (``data[0]`` is its length, ``data[1:3]`` the block of
``x`` that is on the log scale), so the compiled functions hold no data: each is compiled
once per environment (numba caches it on disk), then every fit, of any size or
parameterisation, only samples. nutpie calls them from its own threads without Python: no
GIL, no per-call interpreter overhead, and no PyTensor graph to compile.

A non-zero return code tells nutpie the point is unusable (it treats it as a divergence):
4 when the log density is not finite, including beyond ``|log sd - log c| > 50`` (an sd
``e^50`` times the prior scale or smaller than ``e^-50`` times it), where it returns
``-inf`` instead of overflowing.
"""

from __future__ import annotations

import ctypes
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import types

_LOGP_SIGNATURE = types.int64(
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)
_EXPAND_SIGNATURE = types.int64(
    types.uint64,
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)
_LOG_2PI = math.log(2.0 * math.pi)
_LOG_2_OVER_PI = math.log(2.0 / math.pi)
_HEADER = 3  # length, start and stop of the log-scale block of x


# ----------------------------------------------------------------------------- densities
@numba.njit(cache=True)
def _grouped_estimates(data):  # type: ignore[no-untyped-def]
    """Unpack the data layout ``n, G, c``, then ``y``, ``s^2`` and the group codes
    (after the header), shared by the two densities with the effects integrated out."""
    n = int(data[3])
    return (
        n,
        int(data[4]),
        data[5],
        data[6 : 6 + n],
        data[6 + n : 6 + 2 * n],
        data[6 + 2 * n : 6 + 3 * n],
    )


def _hyperparameter_logp(dim, x_, gradient_, logp_, data_):  # type: ignore[no-untyped-def]
    """The default model's log density at ``x = (log group_sd, log unit_sd)``.

    With ``a = group_sd^2``, ``t = unit_sd^2``, ``w_j = 1/(t + s_j^2)`` and per group
    ``W_g = sum w_j``, ``P_g = sum w_j y_j`` (``z_g = P_g / W_g``), integrating ``mu``, the
    group means and the unit effects out leaves ``-F/2`` with
    ``F = -sum log w_j + sum w_j y_j^2 + sum_g [log(1 + a W_g) - P_g z_g + z_g^2 h_g]
    - b m + log(V A)``, ``h_g = 1/(1/W_g + a)``, ``A = sum h_g + 1/V``,
    ``b = sum z_g h_g``, ``m = b/A`` and ``V = (10 c)^2`` (matrix determinant lemma and
    Sherman-Morrison; up to ``-(n/2) log 2 pi``, which PyMC's potential drops too). Plus the
    two HalfNormal(c) priors and the log-transform's Jacobian:
    ``-F/2 - (a + t)/(2 c^2) + log(2/pi) - 2 log c + x_1 + x_2``. Writing
    ``G_g = (z_g - m)^2 + 1/A`` and ``S2_g, P2_g`` for the sums of ``w_j^2``,
    ``w_j^2 y_j``: ``dF/da = sum_g [W_g/(1 + a W_g) - h_g^2 G_g]`` and
    ``dF/dt = sum_j w_j (1 - w_j y_j^2) - sum_g [dF/dW_g S2_g + dF/dP_g P2_g]`` with
    ``dF/dW_g = a/(1 + a W_g) + z_g^2 + G_g h_g^2/W_g^2 - 2 h_g (z_g - m) z_g/W_g`` and
    ``dF/dP_g = -2 z_g + 2 h_g (z_g - m)/W_g``; the gradient in ``x`` is
    ``(-a dF/da - a/c^2 + 1, -t dF/dt - t/c^2 + 1)``. Data: ``n, G, c``, then ``y``,
    ``s^2`` and the group codes.
    """
    head = numba.carray(data_, (1,), np.float64)
    data = numba.carray(data_, (int(head[0]),), np.float64)
    x = numba.carray(x_, (2,), np.float64)
    gradient = numba.carray(gradient_, (2,), np.float64)
    out = numba.carray(logp_, (1,), np.float64)
    n, n_groups, prior_scale, y, se_squared, codes = _grouped_estimates(data)
    log_c = math.log(prior_scale)
    if not (abs(x[0] - log_c) < 50.0 and abs(x[1] - log_c) < 50.0):
        out[0] = -np.inf
        gradient[0] = 0.0
        gradient[1] = 0.0
        return 4
    c2 = prior_scale * prior_scale
    mu_variance = 100.0 * c2
    a = math.exp(2.0 * x[0])
    t = math.exp(2.0 * x[1])
    W = np.zeros(n_groups)
    P = np.zeros(n_groups)
    S2 = np.zeros(n_groups)
    P2 = np.zeros(n_groups)
    sum_log_w = sum_w = sum_R = sum_R2 = 0.0
    product = 1.0  # of up to 4 weights: one log per 4 units
    for j in range(n):
        w = 1.0 / (t + se_squared[j])
        g = int(codes[j])
        wy = w * y[j]
        w2y = w * wy
        W[g] += w
        P[g] += wy
        S2[g] += w * w
        P2[g] += w2y
        sum_R += wy * y[j]
        sum_R2 += w2y * y[j]
        product *= w
        if j % 4 == 3 or j == n - 1:
            if 1e-300 < product < 1e300:
                sum_log_w += math.log(product)
            else:  # extreme weights (sds far in the tails): one log per unit
                for i in range(j - j % 4, j + 1):
                    sum_log_w -= math.log(t + se_squared[i])
            product = 1.0
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
    value = -0.5 * F - (a + t) / (2.0 * c2) + _LOG_2_OVER_PI - math.log(c2) + x[0] + x[1]
    out[0] = value
    if not (np.isfinite(value) and np.isfinite(gradient[0]) and np.isfinite(gradient[1])):
        return 4
    return 0


def _full_model_logp(dim, x_, gradient_, logp_, data_):  # type: ignore[no-untyped-def]
    """The full model's log density (every effect sampled), constants included.

    ``x = (mu, log group_sd, log unit_sd, group_raw (G), unit_raw (n))``;
    ``mu ~ N(0, (10c)^2)``, ``group_sd, unit_sd ~ HalfNormal(c)`` (with the log
    transform's Jacobian). Centred groups (weight 1): ``m_g = group_raw_g ~ N(mu,
    group_sd^2)``; non-centred (0): ``group_raw_g ~ N(0, 1)``, ``m_g = mu + group_sd
    group_raw_g``; the same for the units around ``m_{g(j)}`` with ``unit_sd``; and
    ``y_j ~ N(theta_j, s_j^2)``. The gradient is the chain rule through ``m`` and
    ``theta`` (``D_g`` collects ``d log p / d m_g`` from the units). Data: ``n, G, c``, the
    two weights, ``sum log s_j``, then ``y``, ``1/s`` and the group codes (no logarithm or
    division per unit and call).
    """
    head = numba.carray(data_, (1,), np.float64)
    data = numba.carray(data_, (int(head[0]),), np.float64)
    n = int(data[3])
    n_groups = int(data[4])
    prior_scale = data[5]
    centred_groups = data[6] == 1.0
    centred_units = data[7] == 1.0
    sum_log_s = data[8]
    y = data[9 : 9 + n]
    inverse_s = data[9 + n : 9 + 2 * n]
    codes = data[9 + 2 * n : 9 + 3 * n]
    size = 3 + n_groups + n
    x = numba.carray(x_, (size,), np.float64)
    gradient = numba.carray(gradient_, (size,), np.float64)
    out = numba.carray(logp_, (1,), np.float64)
    log_c = math.log(prior_scale)
    if not (abs(x[1] - log_c) < 50.0 and abs(x[2] - log_c) < 50.0):
        out[0] = -np.inf
        gradient[:] = 0.0
        return 4
    mu = x[0]
    group_sd = math.exp(x[1])
    unit_sd = math.exp(x[2])
    c2 = prior_scale * prior_scale
    mu_variance = 100.0 * c2
    value = -0.5 * mu * mu / mu_variance - 0.5 * (_LOG_2PI + math.log(mu_variance))
    value += _LOG_2_OVER_PI - 2.0 * log_c - 0.5 * (group_sd**2 + unit_sd**2) / c2 + x[1] + x[2]
    d_mu = -mu / mu_variance
    d_a = 1.0 - group_sd**2 / c2
    d_b = 1.0 - unit_sd**2 / c2
    group_mean = np.empty(n_groups)
    for g in range(n_groups):
        raw = x[3 + g]
        if centred_groups:
            d = (raw - mu) / group_sd
            value -= 0.5 * d * d + x[1]
            gradient[3 + g] = -d / group_sd
            d_mu += d / group_sd
            d_a += d * d - 1.0
            group_mean[g] = raw
        else:
            value -= 0.5 * raw * raw
            gradient[3 + g] = -raw
            group_mean[g] = mu + group_sd * raw
    value -= 0.5 * n_groups * _LOG_2PI
    from_units = np.zeros(n_groups)  # d log p / d m_g through the unit level
    for j in range(n):
        raw = x[3 + n_groups + j]
        g = int(codes[j])
        parent = group_mean[g]
        if centred_units:
            d = (raw - parent) / unit_sd
            value -= 0.5 * d * d + x[2]
            d_raw = -d / unit_sd
            from_units[g] += d / unit_sd
            d_b += d * d - 1.0
            theta = raw
        else:
            value -= 0.5 * raw * raw
            d_raw = -raw
            theta = parent + unit_sd * raw
        e = (y[j] - theta) * inverse_s[j]
        value -= 0.5 * e * e
        d_theta = e * inverse_s[j]
        if centred_units:
            d_raw += d_theta
        else:
            d_raw += d_theta * unit_sd
            d_b += d_theta * unit_sd * raw
            from_units[g] += d_theta
        gradient[3 + n_groups + j] = d_raw
    value -= n * _LOG_2PI + sum_log_s  # the unit level's and the likelihood's constants
    for g in range(n_groups):
        if centred_groups:
            gradient[3 + g] += from_units[g]
        else:
            d_mu += from_units[g]
            d_a += from_units[g] * group_sd * x[3 + g]
            gradient[3 + g] += from_units[g] * group_sd
    gradient[0] = d_mu
    gradient[1] = d_a
    gradient[2] = d_b
    out[0] = value
    if not np.isfinite(value):
        return 4
    for i in range(size):
        if not np.isfinite(gradient[i]):
            return 4
    return 0


def _arm_logp(dim, x_, gradient_, logp_, data_):  # type: ignore[no-untyped-def]
    """The geo model's log density at ``x = log tau`` (one between-geo sd per arm).

    Per arm ``k`` (geos ``j``, ``v_j = tau_k^2 + s_j^2``, ``w_j = 1/v_j``), integrating the
    geo effects and ``mu_k ~ N(0, V)``, ``V = (10 c)^2``, out leaves
    ``y_k ~ N(0, diag(v) + V 1 1')`` with log density ``-F_k/2`` up to a constant,
    ``F_k = sum log v_j + R - P^2/A + log(V A)``, ``W = sum w_j``, ``P = sum w_j y_j``,
    ``R = sum w_j y_j^2``, ``A = W + 1/V``. With ``t = tau_k^2`` and ``S2, P2, R2`` the
    sums of ``w_j^2, w_j^2 y_j, w_j^2 y_j^2``:
    ``dF_k/dt = W - R2 + 2 P P2/A - P^2 S2/A^2 - S2/A``. Log density
    ``sum_k [-F_k/2 - t_k/(2 c^2) + x_k]`` plus ``tau_k ~ HalfNormal(c)``'s constant;
    gradient ``-t_k dF_k/dt - t_k/c^2 + 1``. Data: ``n, K, c``, then ``y``, ``s^2`` and the
    arm codes.
    """
    head = numba.carray(data_, (1,), np.float64)
    data = numba.carray(data_, (int(head[0]),), np.float64)
    n, n_arms, prior_scale, y, se_squared, codes = _grouped_estimates(data)
    x = numba.carray(x_, (n_arms,), np.float64)
    gradient = numba.carray(gradient_, (n_arms,), np.float64)
    out = numba.carray(logp_, (1,), np.float64)
    log_c = math.log(prior_scale)
    for k in range(n_arms):
        if not abs(x[k] - log_c) < 50.0:
            out[0] = -np.inf
            gradient[:] = 0.0
            return 4
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
    for j in range(n):
        k = int(codes[j])
        w = 1.0 / (t[k] + se_squared[j])
        wy = w * y[j]
        W[k] += w
        P[k] += wy
        R[k] += wy * y[j]
        S2[k] += w * w
        P2[k] += w * wy
        R2[k] += w * wy * y[j]
        sum_log_v[k] -= math.log(w)
    value = 0.0
    for k in range(n_arms):
        A = W[k] + 1.0 / mu_variance
        F = sum_log_v[k] + R[k] - P[k] * P[k] / A + math.log(mu_variance * A)
        dF_dt = W[k] - R2[k] + 2.0 * P[k] * P2[k] / A - P[k] * P[k] * S2[k] / (A * A) - S2[k] / A
        value += -0.5 * F - t[k] / (2.0 * c2) + 0.5 * _LOG_2_OVER_PI - log_c + x[k]
        gradient[k] = -t[k] * dF_dt - t[k] / c2 + 1.0
    out[0] = value
    if not np.isfinite(value):
        return 4
    return 0


def _eight_schools_logp(dim, x_, gradient_, logp_, data_):  # type: ignore[no-untyped-def]
    """The non-centred eight-schools log density, constants included.

    ``x = (mu, log tau, theta_tilde (n))``: ``mu ~ N(0, 5^2)``, ``tau ~ HalfCauchy(5)``
    (log-transformed: Jacobian ``x_1``), ``theta_tilde_j ~ N(0, 1)``,
    ``y_j ~ N(mu + tau theta_tilde_j, s_j^2)``. With ``e_j = (y_j - theta_j)/s_j^2``:
    ``d/dmu = -mu/25 + sum e_j``, ``d/dx_1 = 1 - 2 tau^2/(25 + tau^2) + tau sum e_j
    theta_tilde_j`` and ``d/d theta_tilde_j = -theta_tilde_j + tau e_j``. Data: ``n``,
    then ``y`` and ``s``.
    """
    head = numba.carray(data_, (1,), np.float64)
    data = numba.carray(data_, (int(head[0]),), np.float64)
    n = int(data[3])
    y = data[4 : 4 + n]
    s = data[4 + n : 4 + 2 * n]
    x = numba.carray(x_, (2 + n,), np.float64)
    gradient = numba.carray(gradient_, (2 + n,), np.float64)
    out = numba.carray(logp_, (1,), np.float64)
    if not abs(x[1] - math.log(5.0)) < 50.0:
        out[0] = -np.inf
        gradient[:] = 0.0
        return 4
    mu = x[0]
    tau = math.exp(x[1])
    value = -0.5 * mu * mu / 25.0 - math.log(5.0) - 0.5 * _LOG_2PI
    value += math.log(2.0 / (math.pi * 5.0)) - math.log1p(tau * tau / 25.0) + x[1]
    d_mu = -mu / 25.0
    d_log_tau = 1.0 - 2.0 * tau * tau / (25.0 + tau * tau)
    for j in range(n):
        z = x[2 + j]
        e = (y[j] - mu - tau * z) / s[j]
        value -= 0.5 * (z * z + e * e) + math.log(s[j]) + _LOG_2PI
        e /= s[j]
        d_mu += e
        d_log_tau += tau * e * z
        gradient[2 + j] = -z + tau * e
    gradient[0] = d_mu
    gradient[1] = d_log_tau
    out[0] = value
    if not np.isfinite(value):
        return 4
    return 0


def _expand(dim, n_expanded, x_, out_, data_):  # type: ignore[no-untyped-def]
    """The draw as stored: ``x`` with its log-scale block (``data[1:3]``) exponentiated."""
    head = numba.carray(data_, (_HEADER,), np.float64)
    x = numba.carray(x_, (dim,), np.float64)
    out = numba.carray(out_, (n_expanded,), np.float64)
    start, stop = int(head[1]), int(head[2])
    for i in range(dim):
        out[i] = math.exp(x[i]) if start <= i < stop else x[i]
    return 0


# ----------------------------------------------------------------------------- compiling
_COMPILED: dict[str, Any] = {}


def compiled(function: Callable[..., int], signature: Any) -> tuple[Any, float, float]:
    """``function`` as a numba C callback, compiled once per process (cached on disk).

    Returns the callback and the wall and CPU seconds this call spent compiling (0 once
    compiled).
    """
    name = function.__name__
    if name in _COMPILED:
        return _COMPILED[name], 0.0, 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        # numba warns when it cannot write its on-disk cache (a read-only install): the
        # function is then compiled in every process, which is only slower.
        warnings.filterwarnings("ignore", category=numba.NumbaWarning)
        # error_model="numpy": a division by zero gives inf or nan (then return code 4),
        # not a Python exception, which a C callback cannot pass on to nutpie.
        compile_callback = numba.cfunc(signature, cache=True, nopython=True, error_model="numpy")
        callback = compile_callback(function)
    _COMPILED[name] = callback
    return callback, time.perf_counter() - wall, time.process_time() - cpu


@dataclass(frozen=True)
class Density:
    """One of the log densities above, with its data.

    ``function`` is the Python source of the callback, ``data`` the packed array it reads
    (:func:`pack`), ``n_dim`` the length of ``x``. Calling the object evaluates the
    compiled callback at ``x`` (through ctypes, for checks): ``(log density, gradient)``.
    """

    function: Callable[..., int]
    data: np.ndarray
    n_dim: int

    def callback(self) -> tuple[Any, float, float]:
        return compiled(self.function, _LOGP_SIGNATURE)

    def __call__(self, x: Any) -> tuple[float, np.ndarray]:
        callback = self.callback()[0]
        point = np.ascontiguousarray(x, dtype=np.float64)
        if point.shape != (self.n_dim,):
            raise ValueError(f"x must have shape ({self.n_dim},), got {point.shape}")
        gradient = np.zeros(self.n_dim)
        value = np.zeros(1)
        pointer = ctypes.POINTER(ctypes.c_double)
        callback.ctypes(
            self.n_dim,
            point.ctypes.data_as(pointer),
            gradient.ctypes.data_as(pointer),
            value.ctypes.data_as(pointer),
            ctypes.c_void_p(self.data.ctypes.data),
        )
        return float(value[0]), gradient


def pack(log_block: tuple[int, int], *parts: Any) -> np.ndarray:
    """The data array of a density: its length, the log-scale block of ``x``, then the
    parts (scalars and arrays) in order."""
    body = np.concatenate([np.atleast_1d(np.asarray(part, dtype=np.float64)) for part in parts])
    return np.concatenate([[body.size + _HEADER, *log_block], body]).astype(np.float64)


def hyperparameter_density(
    y: np.ndarray, s: np.ndarray, codes: np.ndarray, n_groups: int, prior_scale: float
) -> Density:
    """The default hierarchical model's density of ``(log group_sd, log unit_sd)``."""
    data = pack((0, 2), len(y), n_groups, prior_scale, y, np.asarray(s) ** 2, codes)
    return Density(_hyperparameter_logp, data, 2)


def full_model_density(
    y: np.ndarray,
    s: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    prior_scale: float,
    centred_groups: bool,
    centred_units: bool,
) -> Density:
    """The full model's density of ``(mu, log group_sd, log unit_sd, group_raw, unit_raw)``."""
    data = pack(
        (1, 3),
        len(y),
        n_groups,
        prior_scale,
        float(centred_groups),
        float(centred_units),
        np.log(s).sum(),
        y,
        1.0 / np.asarray(s, dtype=float),
        codes,
    )
    return Density(_full_model_logp, data, 3 + n_groups + len(y))


def arm_density(
    y: np.ndarray, se_squared: np.ndarray, codes: np.ndarray, n_arms: int, prior_scale: float
) -> Density:
    """The geo model's density of the log between-geo sd of each arm."""
    data = pack((0, n_arms), len(y), n_arms, prior_scale, y, se_squared, codes)
    return Density(_arm_logp, data, n_arms)


def eight_schools_density(y: np.ndarray, s: np.ndarray) -> Density:
    """The non-centred eight-schools density of ``(mu, log tau, theta_tilde)``."""
    return Density(_eight_schools_logp, pack((1, 2), len(y), y, s), 2 + len(y))


def expand_callback() -> tuple[Any, float, float]:
    """The shared callback that turns ``x`` into the stored draw."""
    return compiled(_expand, _EXPAND_SIGNATURE)
