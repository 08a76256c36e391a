"""Sequential testing: group-sequential boundaries, alpha spending and always-valid inference.

Everything here works on the *canonical joint distribution* of group-sequential theory
(:cite:`jennison2000group`, ch. 3): at information fractions ``t_1 < ... < t_K`` the
z-statistics are jointly normal with ``E[Z_k] = drift * sqrt(t_k)`` and
``corr(Z_i, Z_j) = sqrt(t_i / t_j)`` (``i <= j``), where ``drift`` is the expected z at full
information. Boundary-crossing probabilities are computed exactly (to ~1e-7 or better) by the
Armitage-McPherson-Rowe recursive numerical integration on the grid of Jennison & Turnbull
(2000, ch. 19), so boundaries are *solved*, not read from tables or approximated per look.

Contents
--------
- :func:`compute_crossing_probabilities`: the recursion (probability of stopping above or
  below the boundaries at each look, given a drift).
- :func:`compute_naive_peeking_error`: type-I error of repeated unadjusted tests.
- :func:`design_pocock`, :func:`design_obrien_fleming`: classical constant-shape designs.
- :func:`compute_alpha_spending`, :func:`design_alpha_spending`: Lan-DeMets spending.
- :func:`compute_power`, :func:`compute_design_characteristics`: power, inflation factor,
  maximum and expected sample size; non-binding futility.
- :func:`apply_design_to_paths`: vectorised rejection decisions for simulated z-paths.
- :func:`compute_interim_statistics` (and its ``_from_stats`` twin for warehouse aggregates,
  and :func:`compute_interim_paths` for many simulated experiments at once),
  :func:`monitor_group_sequential`: a running experiment;
  :func:`replay_in_random_orders`: a finished experiment's interim looks under random orders.
- :func:`choose_mixture_variance`, :func:`compute_msprt_statistic`,
  :func:`compute_always_valid_p_values`, :func:`compute_confidence_sequence`,
  :func:`estimate_always_valid`: the normal-mixture mSPRT and its confidence sequence.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import ndtr

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    PlaybookWarning,
    as_float_array,
    as_numeric_array,
    check_alpha,
    check_binary,
    check_choice,
    check_finite_number,
    check_flag,
    check_integer,
    check_positive,
    check_rng,
    check_same_length,
    check_sum_of_squares,
)

__all__ = [
    "GroupSequentialDesign",
    "SPENDING_FUNCTIONS",
    "apply_design_to_paths",
    "choose_mixture_variance",
    "compute_alpha_spending",
    "compute_always_valid_p_values",
    "compute_confidence_sequence",
    "compute_crossing_probabilities",
    "compute_design_characteristics",
    "compute_interim_statistics",
    "compute_interim_paths",
    "compute_interim_statistics_from_stats",
    "compute_msprt_statistic",
    "compute_naive_peeking_error",
    "compute_power",
    "design_alpha_spending",
    "design_obrien_fleming",
    "design_pocock",
    "estimate_always_valid",
    "find_drift_for_power",
    "monitor_group_sequential",
    "replay_in_random_orders",
]

#: Spending functions understood by :func:`compute_alpha_spending`.
SPENDING_FUNCTIONS = (
    "obrien-fleming",
    "obrien-fleming-total",
    "pocock",
    "hwang-shih-decani",
    "power",
)

_GRID_SIZE = 32  # Jennison & Turnbull's r; r = 16 already gives ~1e-6 accuracy
_SQRT_2PI = math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------- checks
_MAX_GRID_SIZE = 400  # the kernel of one look is (12 r)^2 floats: 185 MB at r = 400


def _check_fractions(
    values: Any, name: str = "information_fractions", *, end_at_one: bool = False
) -> np.ndarray:
    fractions = as_float_array(values, name)
    if np.any(fractions <= 0) or np.any(fractions > 1):
        raise ValueError(f"{name} must lie in (0, 1], got {fractions.tolist()}")
    if np.any(np.diff(fractions) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {fractions.tolist()}")
    if end_at_one and fractions[-1] != 1.0:
        if fractions[-1] < 1.0 - 1e-12:
            raise ValueError(
                f"{name} must end at 1 (the last look of this design is the final analysis, "
                f"which spends all of alpha), got {fractions.tolist()}"
            )
        fractions = fractions.copy()
        fractions[-1] = 1.0
    return fractions


def _resolve_fractions(
    n_looks: Any, information_fractions: Any, *, end_at_one: bool = False
) -> np.ndarray:
    if information_fractions is not None:
        fractions = _check_fractions(information_fractions, end_at_one=end_at_one)
        if n_looks is not None and check_integer(n_looks, "n_looks", minimum=1) != fractions.size:
            raise ValueError(
                f"n_looks ({n_looks}) must equal len(information_fractions) ({fractions.size})"
            )
        return fractions
    if n_looks is None:
        raise ValueError("n_looks must be given when information_fractions is None")
    n_looks = check_integer(n_looks, "n_looks", minimum=1)
    return np.arange(1, n_looks + 1) / n_looks


def _check_sides(sides: Any) -> int:
    return check_choice(check_integer(sides, "sides"), "sides", (1, 2))


def _check_design(design: Any) -> GroupSequentialDesign:
    if not isinstance(design, GroupSequentialDesign):
        raise ValueError(
            "design must be a GroupSequentialDesign (from design_pocock, "
            f"design_obrien_fleming or design_alpha_spending), got {type(design).__name__}"
        )
    return design




def _estimates_and_variances(
    estimates: Any, variances: Any, *, to_estimates_shape: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Checked, broadcast ``(estimate, variance)``.

    A variance must be positive; ``+inf`` marks a look without information, where the
    estimate may be NaN. Elsewhere estimates must be finite.
    """
    estimate = as_numeric_array(estimates, "estimates", allow_nan=True, allow_inf=True)
    variance = as_numeric_array(variances, "variances", allow_nan=True, allow_inf=True)
    if np.isnan(variance).any():
        raise ValueError("variances contains NaN")
    if np.any(variance <= 0):
        raise ValueError(
            f"variances must be positive, got {float(variance[variance <= 0].ravel()[0])}"
        )
    try:
        if to_estimates_shape:
            variance = np.broadcast_to(variance, estimate.shape)
        else:
            estimate, variance = np.broadcast_arrays(estimate, variance)
    except ValueError:
        raise ValueError(
            f"variances (shape {variance.shape}) must broadcast to the shape of estimates "
            f"({estimate.shape}): one variance per estimate (length mismatch)"
        ) from None
    informative = np.isfinite(variance)
    if np.isinf(estimate).any():
        raise ValueError("estimates contains infinite values")
    if np.any(np.isnan(estimate) & informative):
        raise ValueError(
            "estimates contains NaN at a look with a finite variance (NaN is allowed only "
            "where the variance is infinite: a look without information)"
        )
    return estimate, variance


# --------------------------------------------------------------------------- recursion
def _normal_pdf(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # far tails (an extreme drift): the density is 0
        return np.exp(-0.5 * x * x) / _SQRT_2PI


def _grid(mean: float, lower: float, upper: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Jennison & Turnbull (2000, sec. 19.2) grid on (lower, upper) with Simpson weights."""
    i = np.arange(1, 6 * r)
    base = np.where(
        i < r,
        -3.0 - 4.0 * np.log(r / i),
        np.where(i <= 5 * r, -3.0 + 3.0 * (i - r) / (2.0 * r), 3.0 + 4.0 * np.log(r / (6 * r - i))),
    )
    points = mean + base
    inside = points[(points > lower) & (points < upper)]
    nodes = inside
    if lower > points[0]:
        nodes = np.concatenate(([lower], nodes))
    if upper < points[-1]:
        nodes = np.concatenate((nodes, [upper]))
    if nodes.size < 2:  # a very narrow continuation region
        nodes = np.array([lower, upper]) if np.isfinite(lower) and np.isfinite(upper) else nodes
    if nodes.size < 2 or not nodes[-1] > nodes[0]:
        return np.zeros(1), np.zeros(1)
    widths = np.diff(nodes)
    midpoints = nodes[:-1] + widths / 2.0
    z = np.empty(2 * nodes.size - 1)
    z[0::2] = nodes
    z[1::2] = midpoints
    weights = np.zeros_like(z)
    weights[1::2] = 4.0 * widths / 6.0
    weights[0:-1:2] += widths / 6.0
    weights[2::2] += widths / 6.0
    return z, weights


def _crossing(
    fractions: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    drift: float,
    r: int = _GRID_SIZE,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of first exit above ``upper`` / below ``lower`` at each look."""
    n_looks = fractions.size
    exit_up = np.zeros(n_looks)
    exit_down = np.zeros(n_looks)
    root_t = np.sqrt(fractions)
    mean = drift * root_t[0]
    exit_up[0] = ndtr(-(upper[0] - mean))
    exit_down[0] = ndtr(lower[0] - mean)
    if n_looks == 1:
        return exit_up, exit_down
    z, weights = _grid(mean, lower[0], upper[0], r)
    mass = weights * _normal_pdf(z - mean)  # density times quadrature weight
    for k in range(1, n_looks):
        step = fractions[k] - fractions[k - 1]
        sd = math.sqrt(step)
        centre = z * root_t[k - 1] + drift * step  # mean of S_k given Z_{k-1} = z
        exit_up[k] = mass @ ndtr(-(upper[k] * root_t[k] - centre) / sd)
        exit_down[k] = mass @ ndtr((lower[k] * root_t[k] - centre) / sd)
        if k < n_looks - 1:
            new_z, new_weights = _grid(drift * root_t[k], lower[k], upper[k], r)
            kernel = _normal_pdf((new_z[:, None] * root_t[k] - centre[None, :]) / sd)
            mass = new_weights * (kernel @ mass) * (root_t[k] / sd)
            z = new_z
    return exit_up, exit_down


def _as_bounds(values: Any, name: str, n_looks: int, default: float) -> np.ndarray:
    if values is None:
        return np.full(n_looks, default)
    if isinstance(values, bool | np.bool_):
        raise ValueError(f"{name} must be numeric, got {values!r}")
    bounds = as_numeric_array(values, name, allow_nan=True, allow_inf=True)
    if bounds.ndim == 0:
        bounds = np.full(n_looks, float(bounds))
    if bounds.shape != (n_looks,):
        raise ValueError(
            f"{name} must have one value per look ({n_looks}), got shape {bounds.shape} "
            "(length mismatch)"
        )
    if np.isnan(bounds).any():
        raise ValueError(f"{name} contains NaN")
    return bounds


def compute_crossing_probabilities(
    information_fractions: Any,
    upper: Any,
    lower: Any = None,
    drift: float = 0.0,
    grid_size: int = _GRID_SIZE,
) -> pd.DataFrame:
    """Probability of first crossing each boundary at each look (exact numerical integration).

    Parameters
    ----------
    information_fractions : array-like of float
        Strictly increasing information fractions in (0, 1].
    upper : float or array-like
        Upper boundaries ``b_k`` on the z scale (``inf`` for "no upper boundary").
    lower : float, array-like or None
        Lower boundaries ``a_k`` (``-inf`` when None).
    drift : float
        Expected z-statistic at full information (0 under the null hypothesis).
    grid_size : int
        Jennison & Turnbull's grid parameter ``r`` (about ``12 r`` points per look).

    Returns
    -------
    pandas.DataFrame
        One row per look: ``information_fraction``, ``upper`` and ``lower`` (probability of
        stopping at this look above ``b_k`` / below ``a_k``, having continued so far),
        ``cumulative_upper``, ``cumulative_lower`` and ``continue`` (probability of still
        running after the look).

    Raises
    ------
    ValueError
        If the fractions are not strictly increasing in (0, 1], a boundary has the wrong
        length or holds NaN, ``lower > upper`` somewhere, ``drift`` is not finite, or
        ``grid_size`` is not an integer in [4, 400].

    Notes
    -----
    The Armitage, McPherson & Rowe (1969) recursion, with the grid and Simpson weights of
    :cite:`jennison2000group` (sec. 19.2); crossing probabilities use the exact normal
    tail of the last increment rather than integrating the density past the boundary.
    """
    fractions = _check_fractions(information_fractions)
    upper = _as_bounds(upper, "upper", fractions.size, np.inf)
    lower = _as_bounds(lower, "lower", fractions.size, -np.inf)
    if np.any(lower > upper):
        look = int(np.argmax(lower > upper)) + 1
        raise ValueError(f"lower must not exceed upper at any look (look {look} does)")
    drift = check_finite_number(drift, "drift")
    grid_size = check_integer(grid_size, "grid_size", minimum=4)
    if grid_size > _MAX_GRID_SIZE:
        raise ValueError(f"grid_size must be at most {_MAX_GRID_SIZE}, got {grid_size}")
    exit_up, exit_down = _crossing(fractions, upper, lower, drift, grid_size)
    return pd.DataFrame(
        {
            "look": np.arange(1, fractions.size + 1),
            "information_fraction": fractions,
            "upper": exit_up,
            "lower": exit_down,
            "cumulative_upper": np.cumsum(exit_up),
            "cumulative_lower": np.cumsum(exit_down),
            "continue": 1.0 - np.cumsum(exit_up + exit_down),
        }
    ).set_index("look")


def compute_naive_peeking_error(
    n_looks: int | None = None,
    information_fractions: Any = None,
    alpha: float = 0.05,
    sides: int = 2,
    method: str = "recursion",
) -> float:
    """Exact type-I error of testing at level ``alpha`` at every look, without adjustment.

    Parameters
    ----------
    n_looks : int, optional
        Number of equally spaced looks (ignored if ``information_fractions`` is given).
    information_fractions : array-like of float, optional
        Strictly increasing information fractions in (0, 1].
    alpha : float
        Nominal level of each look's test.
    sides : {1, 2}
        One-sided (reject when ``Z_k > z_{1-alpha}``) or two-sided (``|Z_k| > z_{1-alpha/2}``).
    method : {"recursion", "multivariate-normal"}
        Recursive numerical integration (default, ~1e-7 accurate or better) or
        :class:`scipy.stats.multivariate_normal` CDF of the box (Genz's algorithm, ~1e-5).

    Returns
    -------
    float
        ``P(reject H0 at some look | H0)``.

    Raises
    ------
    ValueError
        On bad looks, ``alpha`` outside (0, 1), ``sides`` not 1 or 2, or unknown ``method``.
    """
    fractions = _resolve_fractions(n_looks, information_fractions)
    alpha = check_alpha(alpha)
    sides = _check_sides(sides)
    check_choice(method, "method", ("recursion", "multivariate-normal"))
    critical = stats.norm.isf(alpha / sides)
    lower = -critical if sides == 2 else -np.inf
    if method == "recursion":
        up, down = _crossing(
            fractions, np.full(fractions.size, critical), np.full(fractions.size, lower), 0.0
        )
        return float(up.sum() + down.sum())
    covariance = np.sqrt(
        np.minimum.outer(fractions, fractions) / np.maximum.outer(fractions, fractions)
    )
    inside = stats.multivariate_normal.cdf(
        np.full(fractions.size, critical),
        mean=np.zeros(fractions.size),
        cov=covariance,
        maxpts=1_000_000 * fractions.size,
        abseps=1e-7,
        releps=1e-7,
        lower_limit=np.full(fractions.size, lower),
        rng=np.random.default_rng(0),
    )
    return float(1.0 - inside)


# --------------------------------------------------------------------------- designs
@dataclass(frozen=True)
class GroupSequentialDesign:
    """Boundaries of a group-sequential test on the z scale.

    A two-sided design rejects H0 at look ``k`` when ``|Z_k| >= efficacy_bounds[k]``; a
    one-sided design when ``Z_k >= efficacy_bounds[k]``, and (optionally) stops for futility
    when ``Z_k < futility_bounds[k]``. Futility bounds are *non-binding*: the efficacy bounds
    were computed as if futility were never applied, so ignoring a futility stop never
    inflates the type-I error.

    Attributes
    ----------
    method : str
        ``"pocock"``, ``"obrien-fleming"`` or ``"spending: <function>"``.
    information_fractions : numpy.ndarray
        The looks' information fractions.
    efficacy_bounds : numpy.ndarray
        Critical z per look.
    alpha : float
        Total type-I error (two-sided for ``sides=2``).
    sides : int
        1 or 2.
    futility_bounds : numpy.ndarray or None
        One-sided designs only; ``-inf`` where no futility stop.
    cumulative_alpha : numpy.ndarray
        Exact type-I error spent up to each look (ignoring futility).
    spending : str or None
        The spending function of a Lan-DeMets design.
    gamma : float or None
        Its parameter (Hwang-Shih-DeCani gamma, power rho).
    spending_times : numpy.ndarray or None
        Times at which the spending function was evaluated, if not the information
        fractions (see :func:`design_alpha_spending`).
    """

    method: str
    information_fractions: np.ndarray
    efficacy_bounds: np.ndarray
    alpha: float
    sides: int
    cumulative_alpha: np.ndarray
    futility_bounds: np.ndarray | None = None
    spending: str | None = None
    gamma: float | None = None
    spending_times: np.ndarray | None = None

    @property
    def n_looks(self) -> int:
        """Number of looks ``K``."""
        return int(self.information_fractions.size)

    @property
    def lower_bounds(self) -> np.ndarray:
        """Lower z boundaries: ``-efficacy`` (two-sided), futility or ``-inf`` (one-sided)."""
        if self.sides == 2:
            return -self.efficacy_bounds
        if self.futility_bounds is not None:
            return self.futility_bounds
        return np.full(self.n_looks, -np.inf)

    @property
    def nominal_p_values(self) -> np.ndarray:
        """Per-look p-value thresholds: reject at look ``k`` if its p-value is below this."""
        return self.sides * stats.norm.sf(self.efficacy_bounds)

    def to_frame(self) -> pd.DataFrame:
        """One row per look: fraction, boundary, nominal p threshold, alpha spent."""
        frame = pd.DataFrame(
            {
                "look": np.arange(1, self.n_looks + 1),
                "information_fraction": self.information_fractions,
                "efficacy_z": self.efficacy_bounds,
                "nominal_p": self.nominal_p_values,
                "alpha_spent": np.diff(self.cumulative_alpha, prepend=0.0),
                "cumulative_alpha": self.cumulative_alpha,
            }
        )
        if self.futility_bounds is not None:
            frame["futility_z"] = self.futility_bounds
        return frame.set_index("look")


def _type_one_by_look(fractions: np.ndarray, bounds: np.ndarray, sides: int) -> np.ndarray:
    lower = -bounds if sides == 2 else np.full(fractions.size, -np.inf)
    up, down = _crossing(fractions, bounds, lower, 0.0)
    return up + down


def _check_futility(futility_bounds: Any, sides: int, efficacy: np.ndarray) -> np.ndarray | None:
    if futility_bounds is None:
        return None
    if sides != 1:
        raise ValueError("futility_bounds are supported for one-sided designs (sides=1) only")
    if isinstance(futility_bounds, bool | np.bool_):
        raise ValueError(f"futility_bounds must be numeric, got {futility_bounds!r}")
    values = as_numeric_array(futility_bounds, "futility_bounds", allow_nan=True, allow_inf=True)
    if values.ndim == 1 and values.size == efficacy.size - 1:  # interim looks only
        values = np.append(values, efficacy[-1])
    futility = _as_bounds(values, "futility_bounds", efficacy.size, -np.inf).copy()
    interim = futility[:-1]
    if np.isposinf(interim).any():
        raise ValueError("futility_bounds must be finite (or -inf for no futility stop)")
    # At the last look the test must decide: futility there equals the efficacy bound.
    futility[-1] = efficacy[-1]
    too_high = ~(interim < efficacy[:-1]) & np.isfinite(interim)
    if too_high.any():
        look = int(np.argmax(too_high)) + 1
        raise ValueError(
            f"futility_bounds must lie below the efficacy bounds: at look {look} the "
            f"futility z {interim[look - 1]:.4g} is not below {efficacy[look - 1]:.4g}"
        )
    return futility


def _design_constant_shape(
    shape: np.ndarray, fractions: np.ndarray, alpha: float, sides: int
) -> float:
    """Find c so that boundaries c * shape have total type-I error alpha."""
    if fractions.size == 1:
        return float(stats.norm.isf(alpha / sides) / shape[0])

    def excess(constant: float) -> float:
        return _type_one_by_look(fractions, constant * shape, sides).sum() - alpha

    low = stats.norm.isf(alpha / sides) / shape.max()
    high = stats.norm.isf(alpha / (sides * fractions.size)) / shape.min()
    return float(optimize.brentq(excess, low * 0.999, high * 1.001, xtol=1e-12, rtol=1e-12))


def design_pocock(
    n_looks: int | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    information_fractions: Any = None,
    futility_bounds: Any = None,
) -> GroupSequentialDesign:
    """Pocock's design: the same critical z at every look, solved exactly.

    Parameters
    ----------
    n_looks : int, optional
        Number of equally spaced looks (Pocock's original setting).
    alpha : float
        Total type-I error (two-sided when ``sides=2``).
    sides : {1, 2}
        One- or two-sided (symmetric) test.
    information_fractions : array-like, optional
        Unequally spaced looks (the constant is then solved for these fractions); strictly
        increasing in (0, 1] and ending at 1, since the last look spends all of ``alpha``.
    futility_bounds : float or array-like, optional
        Non-binding futility z per interim look (length ``K - 1``) or per look (the last
        value is replaced by the efficacy bound); ``-inf`` for no futility stop at a look,
        otherwise finite and below the look's efficacy bound. ``sides=1`` only.

    Returns
    -------
    GroupSequentialDesign

    Raises
    ------
    ValueError
        If ``n_looks < 1`` or disagrees with the fractions, the fractions are not strictly
        increasing in (0, 1] or do not end at 1, ``alpha`` is outside (0, 1), ``sides`` is
        not 1 or 2, or a futility bound is NaN, ``+inf``, not below the efficacy bound, or
        given for a two-sided design.

    Notes
    -----
    Reproduces :cite:`pocock1977group` and :cite:`jennison2000group` Table 2.1: two-sided
    ``alpha = 0.05`` gives 2.178, 2.289, 2.361, 2.413 for K = 2, ..., 5.
    """
    fractions = _resolve_fractions(n_looks, information_fractions, end_at_one=True)
    alpha = check_alpha(alpha)
    sides = _check_sides(sides)
    shape = np.ones(fractions.size)
    return _design_with_shape("pocock", shape, fractions, alpha, sides, futility_bounds)


def design_obrien_fleming(
    n_looks: int | None = None,
    alpha: float = 0.05,
    sides: int = 2,
    information_fractions: Any = None,
    futility_bounds: Any = None,
) -> GroupSequentialDesign:
    """O'Brien-Fleming's design: critical z proportional to ``1 / sqrt(t_k)``, solved exactly.

    The boundaries are ``c * sqrt(t_K / t_k)``, i.e. a constant boundary ``c sqrt(t_K)`` on
    the score scale ``S_k = Z_k sqrt(t_k)``; ``c`` is solved so that the total type-I error
    is ``alpha``. (``1.96 / sqrt(t_k)`` is *not* this design: its type-I error is 0.059, not
    0.05, with K = 4 two-sided looks.)

    Parameters
    ----------
    n_looks, alpha, sides, information_fractions, futility_bounds
        As in :func:`design_pocock`.

    Returns
    -------
    GroupSequentialDesign

    Raises
    ------
    ValueError
        As in :func:`design_pocock`.

    Notes
    -----
    :cite:`obrien1979multiple`; two-sided ``alpha = 0.05``, K = 4 gives 4.049, 2.863, 2.337,
    2.024 (:cite:`jennison2000group`, Table 2.3, ``C_B(4) = 2.024``).
    """
    fractions = _resolve_fractions(n_looks, information_fractions, end_at_one=True)
    alpha = check_alpha(alpha)
    sides = _check_sides(sides)
    shape = np.sqrt(fractions[-1] / fractions)
    return _design_with_shape("obrien-fleming", shape, fractions, alpha, sides, futility_bounds)


def _design_with_shape(
    method: str,
    shape: np.ndarray,
    fractions: np.ndarray,
    alpha: float,
    sides: int,
    futility_bounds: Any,
) -> GroupSequentialDesign:
    """Scale a boundary shape so the design spends exactly ``alpha`` (Pocock, OBF)."""
    constant = _design_constant_shape(shape, fractions, alpha, sides)
    bounds = constant * shape
    return GroupSequentialDesign(
        method=method,
        information_fractions=fractions,
        efficacy_bounds=bounds,
        alpha=alpha,
        sides=sides,
        cumulative_alpha=np.cumsum(_type_one_by_look(fractions, bounds, sides)),
        futility_bounds=_check_futility(futility_bounds, sides, bounds),
    )


# --------------------------------------------------------------------------- spending
def compute_alpha_spending(
    information_fraction: Any,
    alpha: float = 0.05,
    spending: str = "obrien-fleming",
    sides: int = 2,
    gamma: float | None = None,
) -> np.ndarray:
    """Cumulative type-I error a Lan-DeMets spending function allows by information ``t``.

    Parameters
    ----------
    information_fraction : float or array-like
        Values of ``t`` in [0, 1] (values above 1 are treated as 1).
    alpha : float
        Total type-I error (two-sided when ``sides=2``).
    spending : str
        One of :data:`SPENDING_FUNCTIONS`:

        - ``"obrien-fleming"`` (rpact ``asOF``, gsDesign ``sfLDOF``): each side spends
          ``2 - 2 Phi(z_{1 - a/2} / sqrt(t))`` with ``a = alpha / sides`` the one-sided level,
          so the total is ``sides * (2 - 2 Phi(z_{1 - alpha/(2 sides)} / sqrt(t)))``.
        - ``"obrien-fleming-total"``: Lan & DeMets' formula applied to the *total* two-sided
          alpha, ``2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))``. Same as the above when
          ``sides=1``; spends more early when ``sides=2``.
        - ``"pocock"``: ``alpha * ln(1 + (e - 1) t)``.
        - ``"hwang-shih-decani"``: ``alpha (1 - exp(-gamma t)) / (1 - exp(-gamma))``
          (``alpha t`` when ``gamma = 0``); gamma = -4 resembles O'Brien-Fleming, 1 Pocock.
        - ``"power"`` (Kim-DeMets): ``alpha t ** gamma``, ``gamma > 0``.
    sides : {1, 2}
        Sidedness of the design (matters for ``"obrien-fleming"`` only).
    gamma : float, optional
        Parameter of ``"hwang-shih-decani"`` (default -4, any finite value) or ``"power"``
        (default 3, positive). The other spending functions have no parameter.

    Returns
    -------
    numpy.ndarray
        ``alpha(t)``, non-decreasing, with ``alpha(0) = 0`` and ``alpha(1) = alpha``.

    Raises
    ------
    ValueError
        If ``t`` is empty, negative or not finite, ``alpha`` is outside (0, 1), ``sides``
        is not 1 or 2, ``spending`` is unknown, or ``gamma`` is not finite, not positive
        for ``"power"``, or given for a spending function without a parameter.

    Notes
    -----
    :cite:`lan1983discrete`; :cite:`hwang1990group`; the O'Brien-Fleming-type formula
    follows rpact's ``getSpendingValue`` (``2 * sided * (1 - Phi(z_{1-alpha/(2 sided)} /
    sqrt(t)))``) and gsDesign's ``sfLDOF`` with a one-sided alpha per side.
    """
    if isinstance(information_fraction, bool | np.bool_):
        raise ValueError(f"information_fraction must be numeric, got {information_fraction!r}")
    t = np.atleast_1d(
        as_numeric_array(
            information_fraction, "information_fraction", allow_nan=True, allow_inf=True
        )
    )
    if np.isnan(t).any() or np.isinf(t).any():
        raise ValueError("information_fraction must be finite")
    if np.any(t < 0):
        raise ValueError("information_fraction must be non-negative")
    t = np.minimum(t, 1.0)
    alpha = check_alpha(alpha)
    spending = _check_spending(spending, gamma)
    sides = _check_sides(sides)
    with np.errstate(divide="ignore"):
        if spending == "obrien-fleming":
            side_alpha = alpha / sides
            spent = sides * 2.0 * stats.norm.sf(stats.norm.isf(side_alpha / 2) / np.sqrt(t))
        elif spending == "obrien-fleming-total":
            spent = 2.0 * stats.norm.sf(stats.norm.isf(alpha / 2) / np.sqrt(t))
        elif spending == "pocock":
            spent = alpha * np.log1p((math.e - 1.0) * t)
        elif spending == "hwang-shih-decani":
            gamma = -4.0 if gamma is None else check_finite_number(gamma, "gamma")
            if gamma == 0:
                spent = alpha * t
            elif gamma > 0:
                spent = alpha * np.expm1(-gamma * t) / np.expm1(-gamma)
            else:  # the same ratio, rearranged so that exp(-gamma) cannot overflow
                spent = alpha * np.exp(-gamma * (t - 1.0)) * np.expm1(gamma * t) / np.expm1(gamma)
        else:  # power
            gamma = 3.0 if gamma is None else check_positive(gamma, "gamma")
            with np.errstate(under="ignore"):
                spent = alpha * t**gamma
    spent = np.where(t <= 0, 0.0, spent)
    return np.where(t >= 1, alpha, spent)


def _check_spending(spending: Any, gamma: Any) -> str:
    if not isinstance(spending, str):
        raise ValueError(f"spending must be one of {SPENDING_FUNCTIONS!r}, got {spending!r}")
    check_choice(spending, "spending", SPENDING_FUNCTIONS)
    if gamma is not None:
        gamma = check_finite_number(gamma, "gamma")
        if spending not in ("hwang-shih-decani", "power"):
            raise ValueError(
                f"gamma is a parameter of the 'hwang-shih-decani' and 'power' spending "
                f"functions only; {spending!r} has none (got gamma={gamma})"
            )
    return spending


def _excess_crossing(
    bound: float, mass: np.ndarray, centre: np.ndarray, root_t: float, sd: float, target: float
) -> float:
    """P(cross ``bound`` at this look, not before) minus ``target``."""
    return float(mass @ ndtr(-(bound * root_t - centre) / sd)) - target


def _solve_spending_bounds(
    fractions: np.ndarray, increments: np.ndarray, sides: int, r: int = _GRID_SIZE
) -> np.ndarray:
    """Boundaries whose exact null crossing probability at look k equals increments[k]."""
    n_looks = fractions.size
    bounds = np.full(n_looks, np.inf)
    root_t = np.sqrt(fractions)
    z = weights = mass = None
    for k in range(n_looks):
        target = increments[k] / sides  # per side; the null is symmetric
        if target <= 0:
            bound = np.inf
        elif k == 0:
            bound = float(stats.norm.isf(target))
        else:
            step = fractions[k] - fractions[k - 1]
            sd = math.sqrt(step)
            centre = z * root_t[k - 1]
            still_running = float(mass.sum())  # probability of reaching this look
            if target >= still_running / sides:
                bound = 0.0 if sides == 2 else -np.inf
            else:
                arguments = (mass, centre, root_t[k], sd, target)
                high = 1.0
                while _excess_crossing(high, *arguments) > 0:
                    high *= 2.0
                bound = optimize.brentq(
                    _excess_crossing,
                    -40.0 if sides == 1 else 0.0,
                    high,
                    args=arguments,
                    xtol=1e-13,
                    rtol=1e-13,
                )
        bounds[k] = bound
        if k < n_looks - 1:
            lower = -bound if sides == 2 else -np.inf
            if k == 0:
                z, weights = _grid(0.0, lower, bound, r)
                mass = weights * _normal_pdf(z)
            else:
                step = fractions[k] - fractions[k - 1]
                sd = math.sqrt(step)
                centre = z * root_t[k - 1]
                new_z, new_weights = _grid(0.0, lower, bound, r)
                kernel = _normal_pdf((new_z[:, None] * root_t[k] - centre[None, :]) / sd)
                mass = new_weights * (kernel @ mass) * (root_t[k] / sd)
                z = new_z
    return bounds


def design_alpha_spending(
    information_fractions: Any,
    alpha: float = 0.05,
    sides: int = 2,
    spending: str = "obrien-fleming",
    gamma: float | None = None,
    futility_bounds: Any = None,
    spending_times: Any = None,
) -> GroupSequentialDesign:
    """Lan-DeMets alpha-spending design: boundaries that spend exactly ``alpha(t)``.

    At look ``k`` the boundary ``b_k`` solves
    ``P(no earlier stop, |Z_k| >= b_k | H0) = alpha(t_k) - alpha(t_{k-1})`` given the
    boundaries already used, by the exact recursion; the looks need not be planned or
    equally spaced.

    Parameters
    ----------
    information_fractions : array-like of float
        Strictly increasing information fractions in (0, 1]. If the last is below 1 the
        design spends only ``alpha(t_K)`` (set it to 1 at the final analysis).
    alpha : float
        Total type-I error (two-sided when ``sides=2``).
    sides : {1, 2}
        One-sided, or two-sided symmetric.
    spending : str
        A name in :data:`SPENDING_FUNCTIONS` (see :func:`compute_alpha_spending`).
    gamma : float, optional
        Spending-function parameter.
    futility_bounds : float or array-like, optional
        Non-binding futility z per look (``sides=1`` only).
    spending_times : array-like of float, optional
        Times at which ``alpha(.)`` is evaluated, when they differ from the information
        fractions that set the looks' correlation (gsDesign's ``usTime``). Typical use: a
        final analysis reached with more or less information than planned spends all the
        remaining alpha (spending time 1) while the correlation uses the information
        actually observed. Defaults to ``information_fractions``.

    Returns
    -------
    GroupSequentialDesign

    Raises
    ------
    ValueError
        If the fractions or spending times are not strictly increasing in (0, 1] (or differ
        in length), ``alpha`` is outside (0, 1), ``sides`` is not 1 or 2, ``spending`` is
        unknown, ``gamma`` is invalid for it, or a futility bound is invalid (see
        :func:`design_pocock`).

    Notes
    -----
    :cite:`lan1983discrete`; :cite:`jennison2000group` ch. 7. With one-sided alpha 0.025
    and looks at 1/3, 2/3, 1 the O'Brien-Fleming-type bounds are 3.710, 2.511, 1.993, as
    rpact ``getDesignGroupSequential(typeOfDesign = "asOF", kMax = 3)`` reports.
    """
    fractions = _check_fractions(information_fractions)
    alpha = check_alpha(alpha)
    sides = _check_sides(sides)
    spending = _check_spending(spending, gamma)
    if gamma is not None:
        gamma = check_finite_number(gamma, "gamma")
    if spending_times is None:
        times = fractions
    else:
        times = _check_fractions(spending_times, "spending_times")
        if times.size != fractions.size:
            raise ValueError(
                f"spending_times must have one value per look ({fractions.size}), got "
                f"{times.size} (length mismatch)"
            )
    cumulative = compute_alpha_spending(times, alpha, spending, sides, gamma)
    increments = np.diff(cumulative, prepend=0.0)
    bounds = _solve_spending_bounds(fractions, increments, sides)
    return GroupSequentialDesign(
        method=f"spending: {spending}",
        information_fractions=fractions,
        efficacy_bounds=bounds,
        alpha=alpha,
        sides=sides,
        cumulative_alpha=np.cumsum(_type_one_by_look(fractions, bounds, sides)),
        futility_bounds=_check_futility(futility_bounds, sides, bounds),
        spending=spending,
        gamma=gamma,
        spending_times=None if spending_times is None else times,
    )


# --------------------------------------------------------------------------- power, n
def _stop_probabilities(
    design: GroupSequentialDesign, drift: float, futility: bool
) -> tuple[np.ndarray, np.ndarray]:
    lower = design.lower_bounds
    if design.sides == 1 and not futility:
        lower = np.full(design.n_looks, -np.inf)
    return _crossing(design.information_fractions, design.efficacy_bounds, lower, drift)


def compute_power(
    design: GroupSequentialDesign, drift: float, apply_futility: bool = True
) -> float:
    """Probability that the design rejects H0 when ``E[Z(1)] = drift``.

    Parameters
    ----------
    design : GroupSequentialDesign
        The boundaries.
    drift : float
        Expected z-statistic at full information, ``delta * sqrt(I_max)``.
    apply_futility : bool
        Whether the (non-binding) futility stops are followed.

    Returns
    -------
    float
        Two-sided designs count a rejection in either direction.

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign`, ``drift`` is not finite, or
        ``apply_futility`` is not a bool.
    """
    design = _check_design(design)
    drift = check_finite_number(drift, "drift")
    apply_futility = check_flag(apply_futility, "apply_futility")
    up, down = _stop_probabilities(design, drift, apply_futility)
    return float(up.sum() + (down.sum() if design.sides == 2 else 0.0))


def find_drift_for_power(
    design: GroupSequentialDesign, power: float = 0.8, apply_futility: bool = True
) -> float:
    """The drift ``E[Z(1)]`` at which the design has the requested power.

    Parameters
    ----------
    design : GroupSequentialDesign
        The boundaries.
    power : float
        Target power, above the design's rejection probability under H0.
    apply_futility : bool
        Whether the (non-binding) futility stops are followed.

    Returns
    -------
    float
        The positive drift (expected z at full information) giving ``power``.

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign`, ``apply_futility`` is not a
        bool, or ``power`` is not in (``P(reject | H0)``, 1).
    """
    design = _check_design(design)
    power = check_alpha(power, "power")
    apply_futility = check_flag(apply_futility, "apply_futility")
    null_power = compute_power(design, 0.0, apply_futility)
    if power <= null_power:
        raise ValueError(
            f"power must exceed the design's rejection probability under H0 "
            f"({null_power:.4g}), got {power}"
        )

    def shortfall(drift: float) -> float:
        return compute_power(design, drift, apply_futility) - power

    high = 10.0
    while shortfall(high) < 0 and high < 1e3:
        high *= 2.0
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-12))


def compute_design_characteristics(design: GroupSequentialDesign, power: float = 0.8) -> pd.Series:
    """Inflation factor, maximum and expected sample size, relative to a fixed design.

    The fixed-horizon test with the same ``alpha`` and power needs drift
    ``z_{1-alpha/sides} + z_{power}``; the sequential design needs a larger drift ``eta``
    at full information, hence ``R = (eta / drift_fixed)^2`` times the fixed sample size
    (the *inflation factor*). Expected sample sizes count the looks where the test stops.

    Parameters
    ----------
    design : GroupSequentialDesign
        The boundaries (futility stops, if any, are followed).
    power : float
        Target power at the alternative.

    Returns
    -------
    pandas.Series
        ``drift_fixed``, ``drift_sequential``, ``inflation_factor`` (max n / fixed n,
        ``t_K (eta / drift_fixed)^2``, which is ``R`` when the last look is at information
        fraction 1), ``expected_n_h0`` and ``expected_n_h1`` (both / fixed n), ``power``,
        and ``type_one_error`` (actual, with futility followed).

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign` or ``power`` is not in
        (``P(reject | H0)``, 1).

    Notes
    -----
    :cite:`jennison2000group` sec. 2.2-2.3 (Tables 2.2, 2.4 tabulate ``R``).
    """
    design = _check_design(design)
    drift_sequential = find_drift_for_power(design, power)
    drift_fixed = float(stats.norm.isf(design.alpha / design.sides) + stats.norm.ppf(power))
    if not drift_fixed > 0:
        raise ValueError(
            f"power must exceed alpha / sides ({design.alpha / design.sides:.4g}) for the "
            f"fixed-horizon comparison, got {power}"
        )
    inflation = (drift_sequential / drift_fixed) ** 2

    def expected_fraction(drift: float) -> float:
        up, down = _stop_probabilities(design, drift, True)
        stop = up + down
        stop[-1] = 1.0 - stop[:-1].sum()
        return float(stop @ design.information_fractions)

    up0, down0 = _stop_probabilities(design, 0.0, True)
    type_one = up0.sum() + (down0.sum() if design.sides == 2 else 0.0)
    return pd.Series(
        {
            "drift_fixed": drift_fixed,
            "drift_sequential": drift_sequential,
            "inflation_factor": inflation * float(design.information_fractions[-1]),
            "expected_n_h0": inflation * expected_fraction(0.0),
            "expected_n_h1": inflation * expected_fraction(drift_sequential),
            "power": compute_power(design, drift_sequential),
            "type_one_error": float(type_one),
        },
        name=design.method,
    )


def apply_design_to_paths(
    design: GroupSequentialDesign, z_paths: Any, apply_futility: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Run the design on simulated (or observed) z-paths, vectorised.

    Parameters
    ----------
    design : GroupSequentialDesign
        The boundaries.
    z_paths : array-like
        Shape ``(n_paths, K)``, z-statistics at the design's looks.
    apply_futility : bool
        Whether futility stops are followed.

    Returns
    -------
    rejected : numpy.ndarray of bool
        Shape ``(n_paths,)``: H0 rejected at some look.
    stop_look : numpy.ndarray of int
        Shape ``(n_paths,)``: the 1-based look at which each path stopped (``K`` if it ran
        to the end).

    Raises
    ------
    ValueError
        If ``design`` is not a :class:`GroupSequentialDesign`, ``z_paths`` is not a finite
        2-D array with ``K`` columns, or ``apply_futility`` is not a bool.
    """
    design = _check_design(design)
    apply_futility = check_flag(apply_futility, "apply_futility")
    z = as_float_array(z_paths, "z_paths", ndim=2)
    if z.shape[1] != design.n_looks:
        raise ValueError(f"z_paths must have {design.n_looks} columns, got {z.shape[1]}")
    crossed = (np.abs(z) if design.sides == 2 else z) >= design.efficacy_bounds
    futile = np.zeros_like(crossed)
    if design.sides == 1 and apply_futility and design.futility_bounds is not None:
        futile = z < design.futility_bounds
        futile[:, -1] = ~crossed[:, -1]
    stopped = crossed | futile
    any_stop = stopped.any(axis=1)
    first = np.where(any_stop, stopped.argmax(axis=1), design.n_looks - 1)
    rejected = crossed[np.arange(z.shape[0]), first] & any_stop
    return rejected, first + 1


# --------------------------------------------------------------------------- running test
def _scale_rows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale ``y`` along its last axis: ``(y - centre) / scale`` and ``scale``.

    Differences in means and their standard errors are shift invariant and scale with
    ``scale``, so cumulating the standardised values avoids the cancellation of
    ``sum_squares - n mean^2`` for outcomes far from zero (and overflow of ``y^2``).
    """
    centre = np.median(y, axis=-1, keepdims=True)
    deviations = y - centre
    scale = np.max(np.abs(deviations), axis=-1, keepdims=True)
    scale = np.where(scale > 0, scale, 1.0)
    return deviations / scale, scale


def _cumulative_sums(
    y: np.ndarray, arm: np.ndarray, index: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-arm cumulative counts, sums and sums of squares at the looks (last axis)."""
    values = {}
    for label, mask in (("treatment", arm == 1.0), ("control", arm == 0.0)):
        y_arm = np.where(mask, y, 0.0)
        values[f"n_{label}"] = np.cumsum(mask, axis=-1)[..., index].astype(float)
        values[f"sum_{label}"] = np.cumsum(y_arm, axis=-1)[..., index]
        values[f"sum_squares_{label}"] = np.cumsum(y_arm * y_arm, axis=-1)[..., index]
    return values


def compute_interim_statistics(outcome: Any, treatment: Any, look_sizes: Any) -> pd.DataFrame:
    """Difference in means and its z-statistic after the first ``n`` units of each look.

    Parameters
    ----------
    outcome : array-like of float
        Outcomes in arrival order.
    treatment : array-like of {0, 1}
        Arm of each unit, in the same order.
    look_sizes : array-like of int
        Strictly increasing numbers of units analysed at each look (``<= len(outcome)``).

    Returns
    -------
    pandas.DataFrame
        One row per look: ``n``, ``n_treatment``, ``n_control``, ``estimate`` (treatment
        minus control), ``se`` (unpooled, ``sqrt(s1^2/n1 + s0^2/n0)``) and ``z``. A look
        at which the outcome is constant in both arms so far has ``se = 0`` and an
        undefined z-statistic: ``z`` is NaN there, with a :class:`PlaybookWarning`.

    Raises
    ------
    ValueError
        If lengths differ, ``outcome`` is not finite, ``treatment`` is not 0/1 or lacks an
        arm, looks are not increasing integers in [1, n], or an arm has fewer than 2 units
        at a look.
    """
    y = as_float_array(outcome, "outcome")
    arm = check_binary(treatment, "treatment")
    check_same_length(outcome=y, treatment=arm)
    index = _check_looks(look_sizes, y.size)
    scaled, scale = _scale_rows(y)
    cumulative = _cumulative_sums(scaled, arm, index)
    for label in ("treatment", "control"):
        counts = cumulative[f"n_{label}"]
        if counts.min() < 2:
            look = int(np.argmax(counts < 2)) + 1
            raise ValueError(
                f"look_sizes: every look needs at least 2 units per arm; look {look} "
                f"({int(index[look - 1]) + 1} units) has {int(counts[look - 1])} in {label}"
            )
    return _interim_frame(cumulative, float(scale[0]))


def _difference_in_means(values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Difference in means and unpooled standard error from per-arm sums (any shape).

    The sums must already be consistent (checked by the callers). A sum of squared
    deviations within ``1e-12`` of the sum of squares is round-off of a constant outcome
    and counts as zero (more digits than the aggregates carry).
    """
    estimates, variances = {}, {}
    for label in ("treatment", "control"):
        n = values[f"n_{label}"]
        squares = values[f"sum_squares_{label}"]
        mean = values[f"sum_{label}"] / n
        deviations = squares - n * mean * mean
        deviations = np.where(deviations <= 1e-12 * squares, 0.0, deviations)
        estimates[label] = mean
        variances[label] = deviations / (n - 1) / n
    estimate = estimates["treatment"] - estimates["control"]
    return estimate, np.sqrt(variances["treatment"] + variances["control"])


def _interim_frame(values: dict[str, np.ndarray], scale: float = 1.0) -> pd.DataFrame:
    estimate, se = _difference_in_means(values)
    estimate, se = estimate * scale, se * scale
    degenerate = se <= 0
    if degenerate.any():
        looks = (np.flatnonzero(degenerate) + 1).tolist()
        warnings.warn(
            f"the outcome is constant in both arms at look(s) {looks[:10]}: the standard "
            "error is 0 and z is undefined (NaN) there",
            PlaybookWarning,
            stacklevel=3,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(degenerate, np.nan, estimate / np.where(degenerate, 1.0, se))
    n_treatment_values = values["n_treatment"].astype(int)
    n_control_values = values["n_control"].astype(int)
    return pd.DataFrame(
        {
            "look": np.arange(1, estimate.size + 1),
            "n": n_treatment_values + n_control_values,
            "n_treatment": n_treatment_values,
            "n_control": n_control_values,
            "estimate": estimate,
            "se": se,
            "z": z,
        }
    ).set_index("look")


def _check_looks(look_sizes: Any, n_units: int) -> np.ndarray:
    sizes = as_float_array(look_sizes, "look_sizes")
    if np.any(sizes != np.round(sizes)) or np.any(sizes < 1) or np.any(sizes > n_units):
        raise ValueError(f"look_sizes must be integers in [1, {n_units}], got {sizes.tolist()}")
    if np.any(np.diff(sizes) <= 0):
        raise ValueError("look_sizes must be strictly increasing")
    return sizes.astype(int) - 1


def _check_arms(values: Any, name: str, ndim: int) -> np.ndarray:
    arm = as_float_array(values, name, ndim=ndim)
    if not np.isin(arm, (0.0, 1.0)).all():
        others = np.unique(arm[~np.isin(arm, (0.0, 1.0))])[:5]
        raise ValueError(f"{name} must contain only 0 and 1, got {others.tolist()}")
    return arm


def compute_interim_paths(
    outcomes: Any, treatments: Any, look_sizes: Any
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`compute_interim_statistics` for many experiments at once, vectorised.

    Parameters
    ----------
    outcomes : array-like of float
        Shape ``(n_paths, n_units)``, outcomes in arrival order, one row per experiment.
    treatments : array-like of {0, 1}
        Same shape, the arm of each unit.
    look_sizes : array-like of int
        Strictly increasing numbers of units analysed at each look (``<= n_units``).

    Returns
    -------
    estimates, standard_errors : numpy.ndarray
        Shape ``(n_paths, n_looks)``: difference in means (treatment minus control) and its
        unpooled standard error ``sqrt(s1^2/n1 + s0^2/n0)``. A look without a usable
        variance has an infinite standard error (no information): an arm with fewer than
        2 units, whose estimate is NaN too (the only NaN this function returns), or zero
        variance in both arms (the estimate is then finite). Such a look never crosses a
        boundary, its mSPRT ratio is 1 and its confidence-sequence interval is the whole
        line (:func:`compute_msprt_statistic`, :func:`compute_confidence_sequence`).

    Raises
    ------
    ValueError
        If the shapes differ, ``outcomes`` is not finite, ``treatments`` is not 0/1 or the
        looks are invalid.
    """
    y = as_float_array(outcomes, "outcomes", ndim=2)
    arm = _check_arms(treatments, "treatments", ndim=2)
    if arm.shape != y.shape:
        raise ValueError(f"treatments must have the shape of outcomes {y.shape}, got {arm.shape}")
    index = _check_looks(look_sizes, y.shape[1])
    scaled, scale = _scale_rows(y)
    values = _cumulative_sums(scaled, arm, index)
    too_small = (values["n_treatment"] < 2) | (values["n_control"] < 2)
    for label in ("treatment", "control"):  # placeholder counts; those looks become NaN
        values[f"n_{label}"] = np.maximum(values[f"n_{label}"], 2.0)
    estimate, se = _difference_in_means(values)
    estimate = np.where(too_small, np.nan, estimate * scale)
    se = np.where(too_small | (se <= 0), np.inf, se * scale)
    return estimate, se


def replay_in_random_orders(
    outcome: Any,
    treatment: Any,
    look_sizes: Any,
    n_orders: int,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interim estimates of a finished experiment replayed in many random arrival orders.

    A completed experiment has one final answer but, had its units arrived in another
    order, different interim looks. Replaying it in ``n_orders`` random permutations shows
    how much an interim decision depends on the (arbitrary) order, and what a design would
    have done on average.

    Parameters
    ----------
    outcome : array-like of float
        Outcomes of the units.
    treatment : array-like of {0, 1}
        Arm of each unit (both arms must appear).
    look_sizes : array-like of int
        Strictly increasing numbers of units analysed at each look (``<= len(outcome)``).
    n_orders : int
        Number of random arrival orders.
    rng : numpy.random.Generator, int or None
        Random generator or seed.

    Returns
    -------
    estimates, standard_errors : numpy.ndarray
        Shape ``(n_orders, n_looks)``, as in :func:`compute_interim_paths` (an early look
        with fewer than 2 units in an arm in some order has a NaN estimate and an infinite
        standard error there).

    Raises
    ------
    ValueError
        If lengths differ, ``outcome`` is not finite, ``treatment`` is not 0/1 or lacks an
        arm, the looks are invalid, ``n_orders < 1`` or ``rng`` is not a generator or seed.
    """
    y = as_float_array(outcome, "outcome")
    arm = check_binary(treatment, "treatment").astype(float)
    check_same_length(outcome=y, treatment=arm)
    _check_looks(look_sizes, y.size)
    n_orders = check_integer(n_orders, "n_orders", minimum=1)
    rng = check_rng(rng)
    order = rng.permuted(np.broadcast_to(np.arange(y.size), (n_orders, y.size)), axis=1)
    return compute_interim_paths(y[order], arm[order], look_sizes)


_AGGREGATE_NAMES = (
    "n_treatment",
    "sum_treatment",
    "sum_squares_treatment",
    "n_control",
    "sum_control",
    "sum_squares_control",
)


def _check_interim_aggregates(values: dict[str, np.ndarray], scale: float = 1.0) -> None:
    """Cumulative per-arm aggregates must describe real, accumulating data.

    ``values`` holds sums divided by ``scale`` (sums of squares by ``scale**2``); messages
    quote the original numbers.
    """
    for label in ("treatment", "control"):
        n = values[f"n_{label}"]
        total = values[f"sum_{label}"]
        squares = values[f"sum_squares_{label}"]
        if np.any(n != np.round(n)):
            raise ValueError(f"n_{label} must hold integer counts, got {n.tolist()}")
        if np.any(n < 2):
            look = int(np.argmax(n < 2)) + 1
            raise ValueError(
                f"n_{label} must be at least 2 at every look; look {look} has {n[look - 1]:g}"
            )
        if np.any(np.diff(n) < 0):
            look = int(np.argmax(np.diff(n) < 0)) + 2
            raise ValueError(
                f"n_{label} is cumulative and must not decrease: look {look} has "
                f"{n[look - 1]:g} after {n[look - 2]:g}"
            )
        if np.any(squares < 0):
            raise ValueError(f"sum_squares_{label} must be non-negative")
        for k in range(n.size):
            name = f"sum_squares_{label} at look {k + 1}"
            try:
                check_sum_of_squares(n[k], total[k], squares[k], name)
            except ValueError:
                with np.errstate(over="ignore"):
                    original_sum = total[k] * scale
                    quoted = (squares[k] * scale * scale, original_sum / n[k] * original_sum)
                raise ValueError(
                    f"{name} ({quoted[0]:g}) is below sum_{label}**2 / n_{label} "
                    f"({quoted[1]:g}): these aggregates imply a negative variance"
                ) from None
        # The units added between two looks must be consistent too.
        for k in range(1, n.size):
            added = n[k] - n[k - 1]
            added_sum = total[k] - total[k - 1]
            added_squares = squares[k] - squares[k - 1]
            tolerance = 1e-9 * max(squares[k], 1e-300)
            sum_tolerance = 1e-9 * max(math.sqrt(n[k] * squares[k]), 1e-300)
            if added == 0:
                if abs(added_sum) > sum_tolerance or abs(added_squares) > tolerance:
                    raise ValueError(
                        f"sum_{label} / sum_squares_{label} change between looks {k} and "
                        f"{k + 1} although n_{label} does not"
                    )
            elif added_squares - added_sum * added_sum / added < -tolerance:
                raise ValueError(
                    f"sum_squares_{label}: the {added:g} units added between looks {k} and "
                    f"{k + 1} imply a negative variance (a cumulative sum of squares that "
                    f"decreases or grows too little for sum_{label})"
                )


def compute_interim_statistics_from_stats(
    n_treatment: Any,
    sum_treatment: Any,
    sum_squares_treatment: Any,
    n_control: Any,
    sum_control: Any,
    sum_squares_control: Any,
) -> pd.DataFrame:
    """:func:`compute_interim_statistics` from cumulative per-arm aggregates at each look.

    Parameters
    ----------
    n_treatment, n_control : array-like of int
        Cumulative units per arm at each look (at least 2, non-decreasing).
    sum_treatment, sum_control : array-like of float
        Cumulative sums of the outcome per arm.
    sum_squares_treatment, sum_squares_control : array-like of float
        Cumulative sums of squared outcomes per arm.

    Returns
    -------
    pandas.DataFrame
        As :func:`compute_interim_statistics`: ``n``, ``n_treatment``, ``n_control``,
        ``estimate``, ``se`` (unpooled) and ``z`` per look (``z`` is NaN, with a
        :class:`PlaybookWarning`, at a look where both arms have zero variance).

    Raises
    ------
    ValueError
        If an aggregate is not a finite 1-D array, lengths differ, a count is not an
        integer, is below 2 or decreases, or the sums imply a negative variance (a sum of
        squares below ``sum**2 / n`` at a look, or for the units added between looks).
    """
    arguments = (
        n_treatment,
        sum_treatment,
        sum_squares_treatment,
        n_control,
        sum_control,
        sum_squares_control,
    )
    values = {
        name: as_float_array(argument, name)
        for name, argument in zip(_AGGREGATE_NAMES, arguments, strict=True)
    }
    check_same_length(**values)
    # Work in units of a power of two near the outcome's root mean square (exact, and
    # squares of huge sums cannot overflow); estimates and standard errors scale back.
    with np.errstate(over="ignore"):
        mean_square = max(
            float(np.max(values[f"sum_squares_{label}"] / np.maximum(values[f"n_{label}"], 1)))
            for label in ("treatment", "control")
        )
    scale = 1.0
    if 0 < mean_square < math.inf:
        scale = 2.0 ** round(math.log2(math.sqrt(mean_square)))
    if scale != 1.0:
        for label in ("treatment", "control"):
            values[f"sum_{label}"] = values[f"sum_{label}"] / scale
            values[f"sum_squares_{label}"] = values[f"sum_squares_{label}"] / scale / scale
    _check_interim_aggregates(values, scale)
    return _interim_frame(values, scale)


def monitor_group_sequential(
    n_accrued: Any,
    z_statistics: Any,
    n_max: float,
    alpha: float = 0.05,
    sides: int = 2,
    spending: str = "obrien-fleming",
    gamma: float | None = None,
    final: bool = False,
) -> pd.DataFrame:
    """Apply a Lan-DeMets spending design to an experiment as its looks happen.

    Each look spends ``alpha(t_k) - alpha(t_{k-1})`` at the spending time ``t_k = n_k / n_max``
    given the looks actually taken; the correlation between looks always uses the sample
    sizes actually reached, ``corr(Z_i, Z_j) = sqrt(n_i / n_j)``. With ``final=True`` the
    last look is the final analysis and spends all remaining alpha (its spending time is set
    to 1), also when it falls short of or overruns ``n_max``.

    Parameters
    ----------
    n_accrued : array-like of float
        Sample size (or statistical information) at each look so far, positive and strictly
        increasing. Interim looks must stay below ``n_max``; only a final look
        (``final=True``) may reach or overrun it.
    z_statistics : array-like of float
        The finite z-statistic at each look (same length).
    n_max : float
        Planned maximum sample size (information).
    alpha, sides, spending, gamma
        As in :func:`design_alpha_spending`.
    final : bool
        Whether the last look is the final analysis.

    Returns
    -------
    pandas.DataFrame
        One row per look: ``n``, ``information_fraction`` (the spending time), ``z``,
        ``efficacy_z``,
        ``nominal_p``, ``cumulative_alpha`` and ``decision`` (``"continue"``,
        ``"reject H0"``, ``"accept H0"`` at a final look, or ``"stopped earlier"``).

    Raises
    ------
    ValueError
        If lengths differ, ``n_accrued`` is not positive and strictly increasing, an
        interim look reaches ``n_max`` (a look at ``n_max`` spends all of alpha: pass
        ``final=True``), ``z_statistics`` is not finite, ``n_max`` is not positive, or
        ``alpha``, ``sides``, ``spending``, ``gamma`` or ``final`` is invalid.
    """
    n = as_float_array(n_accrued, "n_accrued")
    z = as_float_array(z_statistics, "z_statistics")
    check_same_length(n_accrued=n, z_statistics=z)
    if np.any(n <= 0) or np.any(np.diff(n) <= 0):
        raise ValueError(f"n_accrued must be positive and strictly increasing, got {n.tolist()}")
    n_max = check_positive(n_max, "n_max")
    final = check_flag(final, "final")
    interim = n[:-1] if final else n
    if np.any(interim >= n_max):
        look = int(np.argmax(interim >= n_max)) + 1
        raise ValueError(
            f"n_accrued reaches n_max ({n_max:g}) at look {look} ({n[look - 1]:g}): a look at "
            "n_max spends all of alpha, so only the last look may reach it, as the final "
            "analysis (final=True)"
        )
    spending_times = np.minimum(n / n_max, 1.0)
    if final:
        spending_times[-1] = 1.0
    # Proportional to n (so the correlations are right) and equal to n / n_max unless the
    # experiment overran n_max.
    fractions = n / max(n_max, n[-1])
    design = design_alpha_spending(
        fractions, alpha, sides, spending, gamma, spending_times=spending_times
    )
    sides = design.sides
    crossed = (np.abs(z) if sides == 2 else z) >= design.efficacy_bounds
    decisions = np.where(crossed, "reject H0", "continue").astype(object)
    if crossed.any():
        first = int(crossed.argmax())
        decisions[first + 1 :] = "stopped earlier"
    elif final:
        decisions[-1] = "accept H0"
    return pd.DataFrame(
        {
            "look": np.arange(1, n.size + 1),
            "n": n,
            "information_fraction": spending_times,
            "z": z,
            "efficacy_z": design.efficacy_bounds,
            "nominal_p": design.nominal_p_values,
            "cumulative_alpha": design.cumulative_alpha,
            "decision": decisions,
        }
    ).set_index("look")


# --------------------------------------------------------------------------- mSPRT
def _mixture_radius_squared_per_variance(ratio: np.ndarray | float, alpha: float) -> Any:
    # radius^2 / V for mixture variance tau^2 = ratio * V.
    return 2.0 * (1.0 + ratio) / ratio * (0.5 * np.log1p(ratio) - math.log(alpha))


def choose_mixture_variance(planned_variance: float, alpha: float = 0.05) -> float:
    """Mixture variance ``tau^2`` that makes the confidence sequence narrowest at a planned look.

    For the normal mixture the radius at estimate variance ``V`` depends on ``tau^2 / V``
    only, so the optimum is ``tau^2 = u*(alpha) V_planned``.

    Parameters
    ----------
    planned_variance : float
        Variance of the effect estimate at the sample size where you most want a tight
        interval (e.g. ``2 sigma^2 / n_planned`` per arm).
    alpha : float
        Error level of the confidence sequence.

    Returns
    -------
    float
        ``tau^2``, in squared units of the effect.

    Raises
    ------
    ValueError
        If ``planned_variance`` is not positive and finite (or so large that ``tau^2``
        overflows) or ``alpha`` is outside (0, 1).
    """
    planned_variance = check_positive(planned_variance, "planned_variance")
    alpha = check_alpha(alpha)
    result = optimize.minimize_scalar(
        lambda log_ratio: _mixture_radius_squared_per_variance(math.exp(log_ratio), alpha),
        bounds=(-10.0, 10.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    tau2 = float(math.exp(result.x) * planned_variance)
    if not (math.isfinite(tau2) and tau2 > 0):
        raise ValueError(
            f"planned_variance ({planned_variance:g}) is too extreme: tau^2 is not a "
            "positive finite float"
        )
    return tau2


def _check_mixture_variance(mixture_variance: Any, variance: np.ndarray) -> float:
    tau2 = check_positive(mixture_variance, "mixture_variance")
    finite = variance[np.isfinite(variance)]
    if finite.size and not math.isfinite(float(finite.max()) + tau2):
        raise ValueError(
            f"mixture_variance ({tau2:g}) plus the largest variance overflows: rescale the "
            "effect (e.g. to other units)"
        )
    return tau2


def compute_msprt_statistic(
    estimates: Any, variances: Any, mixture_variance: float, null_value: float = 0.0
) -> np.ndarray:
    """Normal-mixture likelihood ratio (mSPRT) of H0: effect = ``null_value``.

    ``Lambda = sqrt(V / (V + tau^2)) exp(tau^2 (estimate - null)^2 / (2 V (V + tau^2)))``
    for an estimate with variance ``V`` and a N(null, tau^2) mixture over the effect.

    Parameters
    ----------
    estimates : array-like
        Effect estimates (any shape).
    variances : array-like
        Their variances (broadcastable to ``estimates``).
    mixture_variance : float
        ``tau^2`` (see :func:`choose_mixture_variance`).
    null_value : float
        The effect under H0.

    Returns
    -------
    numpy.ndarray
        The mixture likelihood ratio; under H0, for Gaussian estimates with known variances,
        it is a non-negative martingale with mean 1 (with plug-in variances, approximately).
        A look with infinite variance (no information yet) has ratio 1.

    Raises
    ------
    ValueError
        If ``estimates`` or ``variances`` is empty, not numeric or not broadcastable, a
        variance is not positive (``+inf`` is allowed: a look without information, whose
        estimate may be NaN), an estimate at an informative look is not finite, or
        ``mixture_variance`` is not positive and finite.

    Notes
    -----
    :cite:`johari2022always`, eq. (11); :cite:`robbins1970statistical`. The log ratio is
    capped at 700 (a ratio of about ``1e304``) so that it stays finite.
    """
    estimate, variance = _estimates_and_variances(estimates, variances)
    tau2 = _check_mixture_variance(mixture_variance, variance)
    null_value = check_finite_number(null_value, "null_value")
    informative = np.isfinite(variance)
    variance = np.where(informative, variance, 1.0)
    difference = np.where(informative, estimate - null_value, 0.0)
    total = variance + tau2
    with np.errstate(over="ignore", under="ignore"):
        log_ratio = 0.5 * (np.log(variance) - np.log(total)) + (
            tau2 / (2.0 * total) * ((difference / variance) * difference)
        )
        ratio = np.exp(np.minimum(log_ratio, 700.0))
    return np.where(informative, ratio, 1.0)


def compute_always_valid_p_values(
    estimates: Any, variances: Any, mixture_variance: float, null_value: float = 0.0
) -> np.ndarray:
    """Always-valid p-values ``p_n = min(1, min_{m <= n} 1 / Lambda_m)`` along the last axis.

    ``P(p_n <= alpha for some n | H0) <= alpha``: you may stop the first time ``p_n``
    falls below ``alpha``, however often you look.

    Parameters
    ----------
    estimates : array-like
        Shape ``(..., n_looks)``, running effect estimates in time order.
    variances : array-like
        Their variances, broadcastable to ``estimates``.
    mixture_variance, null_value
        As in :func:`compute_msprt_statistic`.

    Returns
    -------
    numpy.ndarray
        Same shape as ``estimates``, non-increasing along the last axis.

    Raises
    ------
    ValueError
        As in :func:`compute_msprt_statistic`.
    """
    ratio = compute_msprt_statistic(estimates, variances, mixture_variance, null_value)
    p_values = np.minimum(1.0, 1.0 / ratio)
    if p_values.ndim == 0:  # a single look
        return p_values
    return np.minimum.accumulate(p_values, axis=-1)


def compute_confidence_sequence(
    estimates: Any,
    variances: Any,
    mixture_variance: float,
    alpha: float = 0.05,
    running_intersection: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Normal-mixture confidence sequence: covers the effect at *every* look with prob. 1-alpha.

    At each look, ``estimate +/- sqrt(2 V (V + tau^2) / tau^2 * ln(sqrt((V + tau^2) / V) /
    alpha))``: the set of effects the mSPRT does not reject at level ``alpha``.

    Parameters
    ----------
    estimates : array-like
        Shape ``(..., n_looks)``, running effect estimates in time order.
    variances : array-like
        Their variances, broadcastable to ``estimates``.
    mixture_variance : float
        ``tau^2`` (see :func:`choose_mixture_variance`).
    alpha : float
        ``P(the sequence ever misses the effect) <= alpha``.
    running_intersection : bool
        Intersect with all earlier intervals (still valid, never wider).

    Returns
    -------
    low, high : numpy.ndarray
        Same shape as ``estimates``. A look with infinite variance (no information yet)
        gets the whole line, whatever its estimate (NaN included). With
        ``running_intersection`` the intersection can be *empty* (``low > high`` from some
        look on): no effect value is compatible with every look, so the data reject, at
        level ``alpha``, the model of one constant effect estimated with these variances
        (the effect drifts, or the variances are too small). Under that model it happens
        with probability at most ``alpha``; :func:`estimate_always_valid` refuses it.

    Raises
    ------
    ValueError
        If ``estimates`` or ``variances`` is invalid (as in
        :func:`compute_msprt_statistic`; the variances must broadcast to the shape of the
        estimates), ``mixture_variance`` is not positive and finite, ``alpha`` is outside
        (0, 1), or ``running_intersection`` is not a bool.

    Notes
    -----
    :cite:`howard2021time` (two-sided normal mixture, their Prop. 2 / eq. (14));
    :cite:`johari2022always`. Exact for Gaussian data with known variance; asymptotic
    (plug-in variance) otherwise :cite:`waudbysmith2024time`: start monitoring once each arm
    has enough units for a stable variance estimate.
    """
    estimate, variance = _estimates_and_variances(estimates, variances, to_estimates_shape=True)
    tau2 = _check_mixture_variance(mixture_variance, variance)
    alpha = check_alpha(alpha)
    running_intersection = check_flag(running_intersection, "running_intersection")
    informative = np.isfinite(variance)
    finite_variance = np.where(informative, variance, 1.0)
    total = finite_variance + tau2
    with np.errstate(over="ignore"):
        radius = np.sqrt(
            2.0
            * finite_variance
            * total
            / tau2
            * (0.5 * (np.log(total) - np.log(finite_variance)) - math.log(alpha))
        )
    low = np.where(informative, estimate - radius, -np.inf)
    high = np.where(informative, estimate + radius, np.inf)
    if running_intersection and low.ndim:
        low = np.maximum.accumulate(low, axis=-1)
        high = np.minimum.accumulate(high, axis=-1)
    return low, high


def estimate_always_valid(
    estimates: Any,
    variances: Any,
    mixture_variance: float,
    alpha: float = 0.05,
    null_value: float = 0.0,
) -> Estimate:
    """The latest look of a continuously monitored experiment as an :class:`Estimate`.

    Parameters
    ----------
    estimates : array-like of float
        Running effect estimates, one per look so far, in time order.
    variances : array-like of float
        Their variances.
    mixture_variance : float
        ``tau^2``; fix it before the experiment (see :func:`choose_mixture_variance`).
    alpha : float
        Error level.
    null_value : float
        Effect under H0 for the always-valid p-value.

    Returns
    -------
    Estimate
        ``method="msprt confidence sequence"``: the latest estimate, its standard error,
        the running-intersection confidence sequence and the always-valid p-value;
        ``details`` holds ``n_looks``, ``mixture_variance`` and ``width_ratio`` (width
        relative to a fixed-horizon interval at the same variance).

    Raises
    ------
    ValueError
        If inputs are empty, of different lengths, or invalid (as in
        :func:`compute_confidence_sequence`; early looks may have an infinite variance and
        a NaN estimate, the latest look may not), or if the running intersection of the
        confidence sequence is empty: no single effect is compatible with every look, so
        the data reject, at level ``alpha``, a constant effect estimated with these
        variances (a drifting effect, variances that are too small, or looks that are not
        running estimates of one experiment). The message names the first empty look;
        :func:`compute_confidence_sequence` with ``running_intersection=False`` shows the
        per-look intervals.
    """
    if isinstance(estimates, str | bytes):
        raise ValueError(f"estimates must be numeric, got the string {estimates!r}")
    if isinstance(variances, str | bytes):
        raise ValueError(f"variances must be numeric, got the string {variances!r}")
    estimate = as_float_array(estimates, "estimates", allow_nan=True)
    variance = as_numeric_array(variances, "variances", allow_nan=True, allow_inf=True)
    if variance.ndim != 1:
        raise ValueError(f"variances must be 1-dimensional, got shape {variance.shape}")
    check_same_length(estimates=estimate, variances=variance)
    estimate, variance = _estimates_and_variances(estimate, variance)
    if not np.isfinite(variance[-1]):
        raise ValueError(
            "variances: the latest look has an infinite variance (no information yet)"
        )
    alpha = check_alpha(alpha)
    tau2 = check_positive(mixture_variance, "mixture_variance")
    low, high = compute_confidence_sequence(estimate, variance, tau2, alpha)
    if low[-1] > high[-1]:
        look = int(np.argmax(low > high))
        raise ValueError(
            f"estimates, variances: the running intersection of the confidence sequence is "
            f"empty from look {look + 1} of {estimate.size} on (no effect lies in every "
            f"look's interval): the data reject, at level alpha={alpha:g}, one constant "
            "effect estimated with these variances (the effect drifts, the variances are "
            "too small, or the looks are not running estimates of one experiment); see "
            "compute_confidence_sequence(..., running_intersection=False) for the per-look "
            "intervals"
        )
    p_value = compute_always_valid_p_values(estimate, variance, tau2, null_value)
    se = math.sqrt(variance[-1])
    fixed_half_width = stats.norm.isf(alpha / 2) * se
    return Estimate(
        method="msprt confidence sequence",
        estimate=float(estimate[-1]),
        se=se,
        ci_low=float(low[-1]),
        ci_high=float(high[-1]),
        alpha=alpha,
        p_value=float(p_value[-1]),
        details={
            "n_looks": int(estimate.size),
            "mixture_variance": tau2,
            "width_ratio": float((high[-1] - low[-1]) / (2 * fixed_half_width)),
        },
    )
