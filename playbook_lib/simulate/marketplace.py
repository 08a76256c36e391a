"""A two-sided marketplace with limited supply, where buyers interfere (foundations).

:func:`simulate_marketplace` draws many experiments at once. In every market and time slot,
buyers each want to book with a probability that the treatment raises, but only
``supply_per_slot`` bookings are available; when demand exceeds supply, the bookings go to
a random subset of the buyers who wanted one. Treated buyers then take bookings from
control buyers, so a buyer-level comparison overstates what launching to everyone would
do. :func:`marketplace_global_effect` is that launch effect, exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from playbook_lib.validation import check_choice, check_integer, check_probability, check_rng

__all__ = ["marketplace_global_effect", "simulate_marketplace"]

DESIGNS = ("user", "switchback", "cluster")


def _check_market(
    buyers_per_slot: int, supply_per_slot: int, control_demand: float, treated_demand: float
) -> tuple[int, int, float, float]:
    buyers = check_integer(buyers_per_slot, "buyers_per_slot", minimum=2)
    supply = check_integer(supply_per_slot, "supply_per_slot", minimum=1)
    p_control = check_probability(control_demand, "control_demand")
    p_treated = check_probability(treated_demand, "treated_demand")
    return buyers, supply, p_control, p_treated


def _expected_bookings(buyers: int, supply: int, demand: float) -> float:
    """E[min(D, supply)] for D ~ Binomial(buyers, demand)."""
    wanting = np.arange(buyers + 1)
    return float(stats.binom.pmf(wanting, buyers, demand) @ np.minimum(wanting, supply))


def marketplace_global_effect(
    buyers_per_slot: int = 50,
    supply_per_slot: int = 20,
    control_demand: float = 0.3,
    treated_demand: float = 0.45,
) -> float:
    """The effect of treating every buyer versus none, per buyer and slot.

    With ``n`` buyers per slot, each wanting a booking with probability ``p`` and
    ``supply_per_slot = S`` bookings available, a slot books ``min(D, S)`` with
    ``D ~ Binomial(n, p)``. The global effect on the booking rate is
    ``(E[min(D_1, S)] - E[min(D_0, S)]) / n``, computed exactly from the binomial
    probabilities.

    Parameters
    ----------
    buyers_per_slot, supply_per_slot : int
        Buyers per market and slot (at least 2) and bookings available (at least 1).
    control_demand, treated_demand : float
        Probability that a control or a treated buyer wants a booking.

    Returns
    -------
    float
        The global average treatment effect on the booking rate.

    Raises
    ------
    ValueError
        Naming the argument, for out-of-range inputs.
    """
    buyers, supply, p_control, p_treated = _check_market(
        buyers_per_slot, supply_per_slot, control_demand, treated_demand
    )
    treated = _expected_bookings(buyers, supply, p_treated)
    control = _expected_bookings(buyers, supply, p_control)
    return (treated - control) / buyers


def simulate_marketplace(
    n_sims: int,
    design: str = "user",
    n_markets: int = 20,
    n_slots: int = 28,
    buyers_per_slot: int = 50,
    supply_per_slot: int = 20,
    control_demand: float = 0.3,
    treated_demand: float = 0.45,
    rng: np.random.Generator | int | None = None,
) -> dict[str, np.ndarray]:
    """Many marketplace experiments at once, randomised by buyer, by slot or by market.

    Designs: ``"user"`` treats each buyer with probability 1/2 inside every market and
    slot (treated and control buyers compete for the same supply); ``"switchback"``
    treats exactly half of the market-slots (all their buyers), chosen at random;
    ``"cluster"`` treats exactly half of the markets (all their slots). Slots do not
    affect each other (no carry-over), so switchback and cluster designs compare worlds
    in which everyone, or no one, is treated. In a slot with ``D`` buyers wanting a
    booking and supply ``S``, ``min(D, S)`` bookings go to a uniformly random subset of
    those buyers (a hypergeometric split between the arms).

    Parameters
    ----------
    n_sims : int
        Experiments to simulate.
    design : {"user", "switchback", "cluster"}
    n_markets, n_slots : int
        Markets (at least 2, even for ``"cluster"``) and time slots per market (at least
        1; ``n_markets * n_slots`` even for ``"switchback"``).
    buyers_per_slot, supply_per_slot, control_demand, treated_demand
        As :func:`marketplace_global_effect`.
    rng : numpy.random.Generator, int or None
        Seed or generator.

    Returns
    -------
    dict of numpy.ndarray
        Each of shape ``(n_sims, n_markets, n_slots)``: ``buyers_control``,
        ``buyers_treatment`` (buyers in each arm), ``bookings_control``,
        ``bookings_treatment`` (their bookings).

    Raises
    ------
    ValueError
        Naming the argument, for out-of-range inputs or an odd number of units to split.
    """
    n_sims = check_integer(n_sims, "n_sims", minimum=1)
    design = check_choice(design, "design", DESIGNS)
    n_markets = check_integer(n_markets, "n_markets", minimum=2)
    n_slots = check_integer(n_slots, "n_slots", minimum=1)
    buyers, supply, p_control, p_treated = _check_market(
        buyers_per_slot, supply_per_slot, control_demand, treated_demand
    )
    rng = check_rng(rng)
    shape = (n_sims, n_markets, n_slots)
    if design == "user":
        buyers_treated = rng.binomial(buyers, 0.5, shape)
    else:
        units = n_markets if design == "cluster" else n_markets * n_slots
        if units % 2:
            name = "n_markets" if design == "cluster" else "n_markets * n_slots"
            raise ValueError(f"{name} must be even to treat exactly half, got {units}")
        # exactly half of the units treated: the lower half of random keys
        keys = rng.random((n_sims, units))
        half = np.argsort(np.argsort(keys, axis=1), axis=1) < units // 2
        if design == "cluster":
            half = np.repeat(half[:, :, None], n_slots, axis=2)
        buyers_treated = np.where(half.reshape(shape), buyers, 0)
    buyers_control = buyers - buyers_treated
    wanting_treated = rng.binomial(buyers_treated, p_treated)
    wanting_control = rng.binomial(buyers_control, p_control)
    booked = np.minimum(wanting_treated + wanting_control, supply)
    bookings_treated = rng.hypergeometric(wanting_treated, wanting_control, booked)
    return {
        "buyers_control": buyers_control,
        "buyers_treatment": buyers_treated,
        "bookings_control": booked - bookings_treated,
        "bookings_treatment": bookings_treated,
    }
