"""Group-sequential designs: boundaries on the z scale, solved to spend exactly ``alpha``.

:class:`GroupSequentialDesign` holds a design's boundaries; :func:`design_pocock` and
:func:`design_obrien_fleming` solve the classical constant-shape designs for the looks,
:func:`design_from_bounds` prices boundaries chosen by hand (their exact type-I error), and
:func:`playbook_lib.sequential.design_alpha_spending` (in ``spending.py``) builds Lan-DeMets
designs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from playbook_lib.sequential._checks import (
    _as_bounds,
    _check_fractions,
    _check_sides,
    _resolve_fractions,
)
from playbook_lib.sequential.recursion import _type_one_by_look
from playbook_lib.validation import as_numeric_array, check_alpha

__all__ = [
    "GroupSequentialDesign",
    "design_from_bounds",
    "design_obrien_fleming",
    "design_pocock",
]


@dataclass(frozen=True)
class GroupSequentialDesign:
    """Boundaries of a group-sequential test on the z scale.

    A two-sided design rejects H0 at look ``k`` when ``|Z_k| >= efficacy_bounds[k]``; a
    one-sided design when ``Z_k >= efficacy_bounds[k]``, and (optionally) stops for futility
    when ``Z_k < futility_bounds[k]``. Futility bounds are *non-binding* unless
    ``binding_futility``: the efficacy bounds were computed as if futility were never applied,
    so ignoring a futility stop never inflates the type-I error. A *binding* design
    (:func:`~playbook_lib.sequential.design_beta_spending` with ``binding_futility=True``)
    computed its efficacy bounds on the paths that futility leaves running: they are lower,
    and the type-I error is ``alpha`` only if every futility stop is obeyed.

    Attributes
    ----------
    method : str
        ``"pocock"``, ``"obrien-fleming"``, ``"spending: <function>"`` or
        ``"given bounds"`` (:func:`design_from_bounds`).
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
        Exact type-I error spent up to each look (ignoring futility; with the futility stops
        obeyed when ``binding_futility``).
    spending : str or None
        The spending function of a Lan-DeMets design.
    gamma : float or None
        Its parameter (Hwang-Shih-DeCani gamma, power rho).
    spending_times : numpy.ndarray or None
        Times at which the spending function was evaluated, if not the information
        fractions (see :func:`design_alpha_spending`).
    binding_futility : bool
        Whether the efficacy bounds count on the futility stops being obeyed.
    planned_drift : float or None
        A beta-spending design's alternative: the drift (expected z at full information) at
        which its futility bounds spend exactly ``1 - power``.
    beta_spending : str or None
        Its beta-spending function (a name in :data:`SPENDING_FUNCTIONS`).
    beta_gamma : float or None
        That function's parameter.
    cumulative_beta : numpy.ndarray or None
        Exact type-II error spent (futility stops) up to each look at ``planned_drift``.
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
    binding_futility: bool = False
    planned_drift: float | None = None
    beta_spending: str | None = None
    beta_gamma: float | None = None
    cumulative_beta: np.ndarray | None = None

    @property
    def n_looks(self) -> int:
        """Number of looks ``K``."""
        return int(self.information_fractions.size)

    @property
    def lower_bounds(self) -> np.ndarray:
        """The lower z boundaries, ``-efficacy`` (two-sided), futility or ``-inf`` (one-sided)."""
        if self.sides == 2:
            return -self.efficacy_bounds
        if self.futility_bounds is not None:
            return self.futility_bounds
        return np.full(self.n_looks, -np.inf)

    @property
    def nominal_p_values(self) -> np.ndarray:
        """The per-look p-value thresholds; reject at look ``k`` if its p-value is below this."""
        return self.sides * stats.norm.sf(self.efficacy_bounds)

    def to_frame(self) -> pd.DataFrame:
        """One row per look: fraction, boundary, nominal p threshold, alpha (and beta) spent."""
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
        if self.cumulative_beta is not None:
            frame["beta_spent"] = np.diff(self.cumulative_beta, prepend=0.0)
            frame["cumulative_beta"] = self.cumulative_beta
        return frame.set_index("look")


def _check_design(design: Any) -> GroupSequentialDesign:
    """``design`` itself, refused with a ValueError unless a GroupSequentialDesign."""
    if not isinstance(design, GroupSequentialDesign):
        raise ValueError(
            "design must be a GroupSequentialDesign (from design_pocock, design_obrien_fleming, "
            f"design_alpha_spending or design_from_bounds), got {type(design).__name__}"
        )
    return design


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
    return _design_with_shape(
        "pocock", np.ones_like, n_looks, alpha, sides, information_fractions, futility_bounds
    )


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
    return _design_with_shape(
        "obrien-fleming",
        lambda fractions: np.sqrt(fractions[-1] / fractions),
        n_looks,
        alpha,
        sides,
        information_fractions,
        futility_bounds,
    )


def _design_with_shape(
    method: str,
    shape_of: Callable[[np.ndarray], np.ndarray],
    n_looks: Any,
    alpha: Any,
    sides: Any,
    information_fractions: Any,
    futility_bounds: Any,
) -> GroupSequentialDesign:
    """Check the arguments of a classical design, then scale its boundary shape (a
    function of the fractions) so that the design spends exactly ``alpha``."""
    fractions = _resolve_fractions(n_looks, information_fractions, end_at_one=True)
    alpha = check_alpha(alpha)
    sides = _check_sides(sides)
    shape = shape_of(fractions)
    constant = _design_constant_shape(shape, fractions, alpha, sides)
    return _design_from_bounds(method, fractions, constant * shape, alpha, sides, futility_bounds)


def _design_from_bounds(
    method: str,
    fractions: np.ndarray,
    bounds: np.ndarray,
    alpha: float,
    sides: int,
    futility_bounds: Any,
    **options: Any,
) -> GroupSequentialDesign:
    """A design from checked fractions and efficacy bounds: the type-I error each look
    spends and the checked futility bounds are computed here (``options`` as the
    dataclass's other fields)."""
    return GroupSequentialDesign(
        method=method,
        information_fractions=fractions,
        efficacy_bounds=bounds,
        alpha=alpha,
        sides=sides,
        cumulative_alpha=np.cumsum(_type_one_by_look(fractions, bounds, sides)),
        futility_bounds=_check_futility(futility_bounds, sides, bounds),
        **options,
    )


def design_from_bounds(
    information_fractions: Any,
    efficacy_bounds: Any,
    *,
    sides: int = 2,
    futility_bounds: Any = None,
) -> GroupSequentialDesign:
    """A design with boundaries chosen by hand, priced exactly: what do they really spend?

    A rule of thumb (1.96 at every look, ``1.96 / sqrt(t)``, one Pocock constant for every
    number of looks) is a design too; this computes its exact type-I error by the recursion
    so that it can be compared with, or simulated like, a solved design.

    Parameters
    ----------
    information_fractions : array-like of float
        Strictly increasing information fractions in (0, 1].
    efficacy_bounds : float or array-like
        Critical z per look (a scalar is used at every look); ``inf`` for no efficacy stop
        at a look. Non-negative for a two-sided design (reject when ``|Z_k| >= b_k``).
    sides : {1, 2}
        One-sided (reject when ``Z_k >= b_k``) or two-sided symmetric.
    futility_bounds : float or array-like, optional
        Non-binding futility z per look or per interim look (``sides=1`` only), as in
        :func:`design_pocock`.

    Returns
    -------
    GroupSequentialDesign
        ``method="given bounds"``; ``alpha`` and ``cumulative_alpha`` are the exact type-I
        error the boundaries spend (ignoring futility), not a target.

    Raises
    ------
    ValueError
        If the fractions are not strictly increasing in (0, 1], ``efficacy_bounds`` has the
        wrong length, holds NaN or ``-inf``, is negative in a two-sided design, or spends no
        type-I error at all (or all of it), ``sides`` is not 1 or 2, or a futility bound is
        invalid.
    """
    fractions = _check_fractions(information_fractions)
    sides = _check_sides(sides)
    if efficacy_bounds is None:
        raise ValueError("efficacy_bounds must be given (one critical z per look)")
    bounds = _as_bounds(efficacy_bounds, "efficacy_bounds", fractions.size, np.inf)
    if np.isneginf(bounds).any():
        raise ValueError("efficacy_bounds must be finite or +inf (no efficacy stop at a look)")
    if sides == 2 and np.any(bounds < 0):
        raise ValueError(
            f"efficacy_bounds of a two-sided design must be non-negative, got {bounds.tolist()}"
        )
    cumulative = np.cumsum(_type_one_by_look(fractions, bounds, sides))
    if not 0.0 < cumulative[-1] < 1.0:
        raise ValueError(
            f"efficacy_bounds spend a type-I error of {cumulative[-1]:.3g}: a design needs "
            "one in (0, 1) (finite bounds that are not all far beyond any z)"
        )
    return GroupSequentialDesign(
        method="given bounds",
        information_fractions=fractions,
        efficacy_bounds=bounds,
        alpha=float(cumulative[-1]),
        sides=sides,
        cumulative_alpha=cumulative,
        futility_bounds=_check_futility(futility_bounds, sides, bounds),
    )
