"""Assigning units to arms: salted hashing with a traffic fraction, complete and stratified
randomisation.

Hashing makes the arm a deterministic function of the unit id and the experiment's salt,
so a returning user sees the same arm and ramping traffic up only adds units;
complete and stratified randomisation draw from an explicit ``rng``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.validation import (
    as_float_array,
    check_integer,
    check_probability,
    check_rng,
)

__all__ = [
    "assign_arms",
    "assign_complete",
    "assign_stratified",
    "hash_to_bucket",
    "hash_to_unit_interval",
]


def _unit_id_list(unit_ids: Any) -> list[Any]:
    if isinstance(unit_ids, str | bytes):
        raise ValueError("unit_ids must be a collection of ids, not a single string")
    try:
        ids = list(unit_ids)
    except TypeError:
        raise ValueError(
            f"unit_ids must be an iterable of ids, got {type(unit_ids).__name__}"
        ) from None
    if not ids:
        raise ValueError("unit_ids must not be empty")
    if any(unit is None or (isinstance(unit, float) and math.isnan(unit)) for unit in ids):
        raise ValueError("unit_ids contains missing ids (None or NaN)")
    return ids


def hash_to_unit_interval(unit_ids: Iterable[Any], salt: str) -> np.ndarray:
    """Map unit ids to numbers in [0, 1), deterministically, salted by ``salt``.

    Each id is written as text, prefixed by ``salt`` and a colon, hashed with SHA-256; the
    first 8 bytes, read as a big-endian unsigned integer, are shifted right by 11 bits and
    divided by ``2**53`` (exact in double precision, strictly below 1). The same id and
    salt always give the same number (on any machine and in any language with SHA-256),
    and different salts give independent-looking numbers, so experiments do not overlap
    systematically (Kohavi, Tang & Xu 2020).

    Parameters
    ----------
    unit_ids : iterable
        User (or other unit) identifiers; converted with ``str``.
    salt : str
        Usually the experiment id; a different salt re-shuffles every unit.

    Returns
    -------
    numpy.ndarray
        Floats in [0, 1), one per id.

    Raises
    ------
    ValueError
        If ``salt`` is not a non-empty string, or ``unit_ids`` is empty, a single string
        or holds missing ids (None or NaN).
    """
    if not isinstance(salt, str) or not salt:
        raise ValueError(f"salt must be a non-empty string, got {salt!r}")
    ids = _unit_id_list(unit_ids)
    prefix = f"{salt}:".encode()
    # Hashing is per string; there is no array operation for SHA-256 in NumPy.
    digests = b"".join(hashlib.sha256(prefix + str(unit).encode()).digest()[:8] for unit in ids)
    integers = np.frombuffer(digests, dtype=">u8")
    # Keep the top 53 bits so the float is exact and strictly below 1.
    return (integers >> np.uint64(11)).astype(np.float64) / 2.0**53


def hash_to_bucket(unit_ids: Iterable[Any], salt: str, n_buckets: int = 1000) -> np.ndarray:
    """Deterministic bucket ``0 .. n_buckets - 1`` of each unit (see :func:`hash_to_unit_interval`).

    Raises
    ------
    ValueError
        If ``n_buckets`` is not an integer >= 2, or as :func:`hash_to_unit_interval`.
    """
    n_buckets = check_integer(n_buckets, "n_buckets", minimum=2)
    buckets = np.floor(hash_to_unit_interval(unit_ids, salt) * n_buckets).astype(np.int64)
    return np.minimum(buckets, n_buckets - 1)


def assign_arms(
    unit_ids: Iterable[Any],
    experiment_id: str,
    arms: Sequence[str] = ("control", "treatment"),
    weights: Sequence[float] | None = None,
    traffic_fraction: float = 1.0,
    n_buckets: int = 1000,
) -> np.ndarray:
    """Deterministic, salted hashing assignment of units to arms.

    Two independent hashes are used: ``"<experiment_id>/traffic"`` decides whether a unit
    is in the experiment (bucket below ``traffic_fraction * n_buckets``), and
    ``experiment_id`` decides its arm by cumulative bucket ranges proportional to
    ``weights``. Consequences: a unit always gets the same arm (consistency); raising the
    traffic fraction only adds units (nobody switches arm); every arm, including middle
    ones when there are three or more, receives its planned share (there is no
    "fall-through" branch that can starve an arm).

    Parameters
    ----------
    unit_ids : iterable
        Unit identifiers.
    experiment_id : str
        The salt; each experiment must use its own.
    arms : sequence of str
        At least two distinct arm labels.
    weights : sequence of float, optional
        Relative planned shares of enrolled units, one positive number per arm; they are
        divided by their sum (``[1, 3]`` means 25% / 75%), so they need not sum to one.
        Equal by default. Shares are realised in units of ``1 / n_buckets``.
    traffic_fraction : float
        Share of all units enrolled, in (0, 1].
    n_buckets : int
        Resolution of the hash buckets.

    Returns
    -------
    numpy.ndarray
        Object array of arm labels, ``None`` for units not enrolled.

    Raises
    ------
    ValueError
        Naming the argument: empty ``experiment_id``, fewer than two or duplicate
        ``arms``, ``weights`` of the wrong length, not positive or so small that an arm
        gets no bucket, ``traffic_fraction`` outside (0, 1], bad ``n_buckets``.
    """
    if not isinstance(experiment_id, str) or not experiment_id:
        raise ValueError(f"experiment_id must be a non-empty string, got {experiment_id!r}")
    if isinstance(arms, str | bytes):
        raise ValueError("arms must be a sequence of labels, not a single string")
    arms = list(arms)
    if len(arms) < 2 or len(set(arms)) != len(arms) or any(arm is None for arm in arms):
        raise ValueError(f"arms must hold at least two distinct labels, got {arms!r}")
    if weights is None:
        weights_array = np.full(len(arms), 1.0 / len(arms))
    else:
        weights_array = as_float_array(weights, "weights")
        if weights_array.size != len(arms):
            raise ValueError(
                f"weights must hold one number per arm ({len(arms)}), got {weights_array.size}"
            )
        if (weights_array <= 0).any():
            raise ValueError(f"weights must be positive, got {weights_array.tolist()}")
        weights_array = weights_array / weights_array.sum()
    traffic_fraction = check_probability(traffic_fraction, "traffic_fraction", allow_zero=False)
    n_buckets = check_integer(n_buckets, "n_buckets", minimum=2)
    ids = _unit_id_list(unit_ids)
    enrolled = hash_to_bucket(ids, f"{experiment_id}/traffic", n_buckets) < round(
        traffic_fraction * n_buckets
    )
    arm_bucket = hash_to_bucket(ids, experiment_id, n_buckets)
    edges = np.round(np.cumsum(weights_array) * n_buckets)
    if (np.diff(edges, prepend=0.0) == 0).any():
        raise ValueError("weights: an arm would get no bucket; raise n_buckets")
    arm_index = np.searchsorted(edges, arm_bucket, side="right")
    labels = np.array(arms + [None], dtype=object)
    return np.where(enrolled, labels[np.minimum(arm_index, len(arms) - 1)], None)


def assign_complete(
    n_units: int, n_treated: int, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Complete randomisation: exactly ``n_treated`` of ``n_units`` get treatment (1).

    Prefer this to independent coin flips when units are few (clusters, geos): coin flips
    can leave an arm with fewer than two units, and unbalanced splits hurt precision.

    Raises
    ------
    ValueError
        If ``n_units < 2`` or ``n_treated`` is not in ``1 .. n_units - 1``.
    """
    n_units = check_integer(n_units, "n_units", minimum=2)
    n_treated = check_integer(n_treated, "n_treated", minimum=1)
    if n_treated >= n_units:
        raise ValueError(f"n_treated ({n_treated}) must be smaller than n_units ({n_units})")
    rng = check_rng(rng)
    treatment = np.zeros(n_units, dtype=np.int64)
    treatment[rng.permutation(n_units)[:n_treated]] = 1
    return treatment


def assign_stratified(
    strata: Iterable[Any],
    treatment_share: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """User-level stratified (blocked) randomisation: complete randomisation within strata.

    The strata are given, one label per unit (platform, new vs returning user, country);
    in a stratum of size ``m``, ``round(treatment_share * m)`` units are treated (at least
    one and at most ``m - 1``), so the treated share is (nearly) the same in every stratum.
    Analyse with :func:`~playbook_lib.abtest.estimate_stratified_effect`.

    It differs from the geo module's stratified design, which *builds* strata of geos with
    similar pre-period KPI (consecutive in KPI order, matched pairs at the limit) and
    returns a table of geos; here the strata are known labels of many units each.

    Parameters
    ----------
    strata : iterable
        One stratum label per unit (any hashable labels, no missing values).
    treatment_share : float
        Share of each stratum treated, in (0, 1).
    rng : numpy.random.Generator, int or None
        Seed or generator.

    Returns
    -------
    numpy.ndarray
        0/1 treatment indicator (int64), one per unit, in the input's order.

    Raises
    ------
    ValueError
        If ``treatment_share`` is not in (0, 1), ``strata`` is empty or has missing values,
        or a stratum has fewer than two units.
    """
    treatment_share = check_probability(
        treatment_share, "treatment_share", allow_zero=False, allow_one=False
    )
    if isinstance(strata, str | bytes):
        raise ValueError("strata must be a sequence of labels, not a single string")
    try:
        labels = pd.factorize(pd.Series(list(strata), dtype=object))[0]
    except TypeError:
        raise ValueError(
            f"strata must be an iterable of labels, got {type(strata).__name__}"
        ) from None
    if labels.size == 0:
        raise ValueError("strata must not be empty")
    if (labels < 0).any():
        raise ValueError("strata contains missing values")
    sizes = np.bincount(labels)
    if (sizes < 2).any():
        raise ValueError("strata: every stratum needs at least two units")
    rng = check_rng(rng)
    n_treated = np.clip(np.round(treatment_share * sizes), 1, sizes - 1)
    # Random keys sorted within stratum: the first n_treated of each stratum are treated.
    order = np.lexsort((rng.random(labels.size), labels))
    rank = np.empty(labels.size, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank[order] = np.arange(labels.size) - np.repeat(starts, sizes)
    return (rank < n_treated[labels]).astype(np.int64)
