"""Randomisation (permutation) inference for a geo test, with a test-inversion interval.

Under the sharp null of no effect on any geo, re-randomising with the design actually used
gives the exact null distribution of the DiD statistic :cite:`fisher1935design`; inverting
the test of a constant additive effect gives an interval :cite:`athey2017econometrics`.
With one treated geo this is the placebo-in-space test.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd

from playbook_lib.geo._checks import (
    _geo_pairs,
    _paired_arrays,
    _values_and_indicator,
)
from playbook_lib.geo.did import _geo_arms
from playbook_lib.results import Estimate
from playbook_lib.validation import check_alpha, check_choice, check_integer, check_rng

__all__ = ["estimate_randomization_inference"]


def _assignment_matrix(
    treated: np.ndarray,
    pair_codes: np.ndarray | None,
    n_permutations: int,
    max_exact: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, bool]:
    """Rows are alternative assignments drawn from the design actually used."""
    n_geos = treated.size
    if pair_codes is None:
        n_treated = int(treated.sum())
        total = math.comb(n_geos, n_treated)
        if total <= max_exact:
            chosen = np.fromiter(
                combinations(range(n_geos), n_treated),
                dtype=np.dtype((np.int64, n_treated)),
                count=total,
            )
            rows = np.zeros((total, n_geos), dtype=bool)
            np.put_along_axis(rows, chosen, True, axis=1)
            return rows, True
        keys = rng.random((n_permutations, n_geos))
        ranks = np.argsort(keys, axis=1)
        rows = np.zeros((n_permutations, n_geos), dtype=bool)
        np.put_along_axis(rows, ranks[:, :n_treated], True, axis=1)
        return np.vstack([treated[None, :], rows]), False
    n_pairs = int(pair_codes.max()) + 1
    # flip[k, p] says whether pair p's assignment is swapped in alternative k
    if 2**n_pairs <= max_exact:
        flips = ((np.arange(2**n_pairs)[:, None] >> np.arange(n_pairs)) & 1).astype(bool)
        exact = True
    else:
        flips = np.vstack(
            [np.zeros((1, n_pairs), dtype=bool), rng.random((n_permutations, n_pairs)) < 0.5]
        )
        exact = False
    return treated[None, :] ^ flips[:, pair_codes], exact


def estimate_randomization_inference(
    data: pd.DataFrame,
    *,
    design: str = "complete",
    pair: str = "pair",
    geo: str = "geo",
    period: str = "period",
    group: str = "group",
    kpi: str = "kpi",
    treatment_label: str = "treatment",
    alpha: float = 0.05,
    n_permutations: int = 10_000,
    max_exact: int = 200_000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Randomisation (permutation) inference for the DiD on per-geo deltas.

    The statistic is the difference of mean deltas. Under the sharp null of no effect on
    any geo, re-randomising with the design actually used (complete randomisation with
    the same arm sizes, or coin flips within pairs) gives its exact null distribution
    :cite:`fisher1935design,athey2017econometrics`. All assignments are enumerated when
    there are at most ``max_exact`` of them (exact p-value); otherwise ``n_permutations``
    are drawn and ``p = (1 + #{|T*| >= |T|}) / (1 + n_permutations)``, which is valid.

    The interval inverts the test of ``H0: every geo's delta moves by tau``: it holds every
    ``tau`` whose p-value exceeds ``alpha`` (a constant additive effect is assumed).

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy panel, see :func:`~playbook_lib.geo.aggregate_geo_periods`; with
        ``design="pairs"`` also a ``pair`` column.
    design : {"complete", "pairs"}
        The assignment mechanism actually used.
    pair, geo, period, group, kpi, treatment_label : str
        Column names and the treatment label (``pair`` is read only for
        ``design="pairs"``).
    alpha : float
        One minus the interval's coverage.
    n_permutations, max_exact : int
        Monte Carlo draws, and the largest number of assignments to enumerate.
    rng : numpy.random.Generator or int or None
        Random generator or seed (used only when not enumerating).

    Returns
    -------
    Estimate
        Method ``"randomization inference"``; ``se`` is the sd of the statistic over the
        re-randomisations; ``details`` has ``exact`` (1.0 or 0.0), ``n_assignments`` and
        ``design``. The interval may be infinite when too few assignments exist to reject
        anything at ``alpha``.

    Raises
    ------
    ValueError
        Bad panels, an unknown design, an arm with no geo, invalid ``pairs`` for
        ``design="pairs"``, too few ``n_permutations`` (below 100), or an invalid ``rng``.
    """
    rng = check_rng(rng)
    alpha = check_alpha(alpha)
    check_choice(design, "design", ("complete", "pairs"))
    n_permutations = check_integer(n_permutations, "n_permutations", minimum=100)
    max_exact = check_integer(max_exact, "max_exact", minimum=1)
    # one treated geo is fine: a placebo-in-space test
    table, treated = _geo_arms(data, geo, period, group, kpi, treatment_label, minimum=1)
    delta = table["delta"].to_numpy()
    pair_codes = None
    if design == "pairs":
        pair_codes = _geo_pairs(data, pair, geo)
        _paired_arrays(*_values_and_indicator(delta, treated), pair_codes)  # checks the pairs
    assignments, exact = _assignment_matrix(treated, pair_codes, n_permutations, max_exact, rng)
    n_t = assignments.sum(axis=1)
    n_c = assignments.shape[1] - n_t
    # Statistic under H0(tau) for assignment w: a_w - tau * b_w (linear in tau).
    a = (assignments @ delta) / n_t - ((~assignments) @ delta) / n_c
    b = (assignments @ treated.astype(float)) / n_t - ((~assignments) @ treated.astype(float)) / n_c
    observed = float(delta[treated].mean() - delta[~treated].mean())
    tolerance = 1e-12 * (1.0 + np.abs(a).max())

    def p_value(tau: float) -> float:
        observed_tau = abs(observed - tau)
        return float(np.mean(np.abs(a - tau * b) >= observed_tau - tolerance))

    spread = float(a.std())
    scale = spread if spread > 0 else max(1.0, abs(observed))  # all deltas equal
    grid = observed + scale * np.linspace(-8, 8, 321)
    p_grid = np.array([p_value(tau) for tau in grid])  # 321 points, each a vector op
    accepted = np.flatnonzero(p_grid > alpha)

    def boundary(inside: float, outside: float) -> float:
        for _ in range(60):
            middle = 0.5 * (inside + outside)
            if p_value(middle) > alpha:
                inside = middle
            else:
                outside = middle
        return inside

    if accepted.size == 0:  # too few assignments to reject anything at this alpha
        low, high = -math.inf, math.inf
    else:
        first, last = accepted[0], accepted[-1]
        low = -math.inf if first == 0 else boundary(grid[first], grid[first - 1])
        high = math.inf if last == grid.size - 1 else boundary(grid[last], grid[last + 1])
    return Estimate(
        "randomization inference",
        observed,
        spread,
        low,
        high,
        alpha=alpha,
        p_value=p_value(0.0),
        details={
            "exact": float(exact),
            "n_assignments": int(assignments.shape[0]),
            "design": design,
        },
    )
