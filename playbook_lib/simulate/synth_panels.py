"""Panels with one or a few treated units and a known lift (synthetic control chapter).

The generator draws an interactive fixed-effects (factor) model, the data-generating
process under which synthetic control and synthetic difference-in-differences are
justified (Abadie, Diamond & Hainmueller 2010; Arkhangelsky et al. 2021):

.. math::

    Y_{it}(0) = \\mu + \\alpha_i + \\gamma_t + \\sum_{k=1}^{K} \\ell_{ik} f_{tk}
                + \\varepsilon_{it},
    \\qquad Y_{it} = Y_{it}(0) + \\tau\\, D_{it},

with unit effects ``alpha_i``, common time effects ``gamma_t`` (a random walk),
``K`` latent factors ``f_tk`` (random walks) with unit loadings ``l_ik``, and independent
noise. ``D_it`` is one for treated units from ``treatment_start`` on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from playbook_lib.validation import (
    check_finite_number,
    check_flag,
    check_integer,
    check_positive,
    check_rng,
)

__all__ = ["simulate_factor_panel", "simulate_factor_panel_arrays"]


def simulate_factor_panel_arrays(
    n_sims: int,
    n_units: int = 30,
    n_periods: int = 40,
    *,
    n_factors: int = 2,
    level: float = 100.0,
    unit_sd: float = 10.0,
    time_sd: float = 1.0,
    factor_sd: float = 1.0,
    loading_sd: float = 1.0,
    noise_sd: float = 2.0,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Draw ``n_sims`` untreated outcome matrices from the factor model, vectorised.

    Parameters
    ----------
    n_sims : int
        Number of independent panels.
    n_units, n_periods : int
        Panel dimensions.
    n_factors : int
        Number of latent factors ``K`` (0 gives a two-way fixed-effects model).
    level, unit_sd, time_sd, factor_sd, loading_sd, noise_sd : float
        Mean level; sd of unit effects; sd of the increments of the common time effect
        and of each factor (both random walks); sd of the loadings; sd of the noise.
    rng : numpy.random.Generator, int or None
        Seed or generator.

    Returns
    -------
    numpy.ndarray
        Untreated potential outcomes ``Y(0)`` of shape ``(n_sims, n_units, n_periods)``.
        Units are exchangeable, so any unit may be labelled "treated" afterwards.

    Raises
    ------
    ValueError
        If ``n_sims`` is not a positive integer, ``n_units`` or ``n_periods`` not an
        integer of at least 2, ``n_factors`` a negative or non-integer number,
        ``level`` not finite, an sd negative or not finite, or ``rng`` invalid.
    """
    n_sims = check_integer(n_sims, "n_sims", minimum=1)
    n_units = check_integer(n_units, "n_units", minimum=2)
    n_periods = check_integer(n_periods, "n_periods", minimum=2)
    n_factors = check_integer(n_factors, "n_factors", minimum=0)
    level = check_finite_number(level, "level")
    unit_sd, time_sd, factor_sd, loading_sd, noise_sd = (
        check_positive(value, name, strict=False)
        for name, value in (
            ("unit_sd", unit_sd),
            ("time_sd", time_sd),
            ("factor_sd", factor_sd),
            ("loading_sd", loading_sd),
            ("noise_sd", noise_sd),
        )
    )
    rng = check_rng(rng)
    unit_effects = rng.normal(0.0, unit_sd, size=(n_sims, n_units, 1))
    time_effects = np.cumsum(rng.normal(0.0, time_sd, size=(n_sims, 1, n_periods)), axis=2)
    factors = np.cumsum(rng.normal(0.0, factor_sd, size=(n_sims, n_factors, n_periods)), axis=2)
    loadings = rng.normal(0.0, loading_sd, size=(n_sims, n_units, n_factors))
    noise = rng.normal(0.0, noise_sd, size=(n_sims, n_units, n_periods))
    return level + unit_effects + time_effects + loadings @ factors + noise


def simulate_factor_panel(
    n_units: int = 30,
    n_periods: int = 40,
    *,
    n_treated: int = 1,
    treatment_start: int = 30,
    lift: float = 5.0,
    relative: bool = False,
    n_factors: int = 2,
    level: float = 100.0,
    unit_sd: float = 10.0,
    time_sd: float = 1.0,
    factor_sd: float = 1.0,
    loading_sd: float = 1.0,
    noise_sd: float = 2.0,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """Simulate a tidy panel with ``n_treated`` treated units and a known lift.

    Parameters
    ----------
    n_units, n_periods : int
        Panel dimensions; times are ``0, ..., n_periods - 1``.
    n_treated : int
        Number of treated units (chosen at random among the ``n_units``).
    treatment_start : int
        First treated period (``2 <= treatment_start < n_periods``: at least two
        pre-periods).
    lift : float
        The true effect: added to ``Y(0)`` in every treated unit-period, or, with
        ``relative=True``, ``Y = Y(0) * (1 + lift)``.
    relative : bool
        Whether ``lift`` is multiplicative.
    n_factors, level, unit_sd, time_sd, factor_sd, loading_sd, noise_sd
        Factor-model parameters, see :func:`simulate_factor_panel_arrays`.
    rng : numpy.random.Generator, int or None
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        One row per unit and period with columns ``unit`` (``"unit_00"``, ...), ``time``,
        ``outcome``, ``outcome_untreated`` (the potential outcome ``Y(0)``, the truth),
        ``treated`` (1 in treated unit-periods, else 0) and ``treated_unit`` (bool).
        The true effect in each row is ``outcome - outcome_untreated``.

    Raises
    ------
    ValueError
        If ``n_units`` or ``n_periods`` is not an integer of at least 3, ``n_treated``
        not a positive integer leaving at least two controls, ``treatment_start`` not an
        integer in ``[2, n_periods)``, ``lift`` not finite (or, with ``relative=True``,
        below -1), ``relative`` not a boolean, or a factor-model parameter invalid (see
        :func:`simulate_factor_panel_arrays`).
    """
    n_units = check_integer(n_units, "n_units", minimum=3)
    n_periods = check_integer(n_periods, "n_periods", minimum=3)
    n_treated = check_integer(n_treated, "n_treated", minimum=1)
    if n_treated > n_units - 2:
        raise ValueError(f"n_treated must leave at least two control units, got {n_treated}")
    treatment_start = check_integer(treatment_start, "treatment_start", minimum=2)
    if treatment_start >= n_periods:
        raise ValueError(
            f"treatment_start must be below n_periods ({n_periods}), got {treatment_start}"
        )
    lift = check_finite_number(lift, "lift")
    relative = check_flag(relative, "relative")
    if relative and lift < -1:
        raise ValueError(f"lift must be at least -1 with relative=True, got {lift}")
    rng = check_rng(rng)
    untreated = simulate_factor_panel_arrays(
        1,
        n_units,
        n_periods,
        n_factors=n_factors,
        level=level,
        unit_sd=unit_sd,
        time_sd=time_sd,
        factor_sd=factor_sd,
        loading_sd=loading_sd,
        noise_sd=noise_sd,
        rng=rng,
    )[0]
    treated_units = np.zeros(n_units, dtype=bool)
    treated_units[rng.choice(n_units, size=n_treated, replace=False)] = True
    indicator = treated_units[:, None] & (np.arange(n_periods)[None, :] >= treatment_start)
    if relative:
        outcome = untreated * (1.0 + lift * indicator)
    else:
        outcome = untreated + lift * indicator
    width = max(2, len(str(n_units - 1)))
    names = np.array([f"unit_{i:0{width}d}" for i in range(n_units)])
    return pd.DataFrame(
        {
            "unit": np.repeat(names, n_periods),
            "time": np.tile(np.arange(n_periods), n_units),
            "outcome": outcome.ravel(),
            "outcome_untreated": untreated.ravel(),
            "treated": indicator.ravel().astype(int),
            "treated_unit": np.repeat(treated_units, n_periods),
        }
    )
