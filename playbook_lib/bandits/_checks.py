"""Checks of bandit logs shared by the estimators, the bootstrap, the batches and off-policy
evaluation (private).

A log is ``arms`` (integers ``0..k-1``), ``rewards`` and ``propensities`` (the chosen arm's,
shape like ``arms``, or every arm's, one more axis of length ``k``), with optional leading
replication axes. :func:`prepare_log` validates one and the contrast it is asked about.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from playbook_lib.validation import as_numeric_array, check_finite_number, check_integer

# Largest simulation (cells of the n_reps x n_rounds (x k) arrays) accepted: ~16 GB of floats.
MAX_CELLS = 2_000_000_000
# Elements per array in one block of rows: the checks and the score arithmetic on many
# replicated logs run block by block, so that their temporaries stay in the CPU cache (and
# in memory already mapped) instead of streaming arrays of tens of megabytes; that halved
# the time of the estimators on 1,000 logs of 4,000 rounds.
BLOCK_CELLS = 1 << 17


def row_blocks(n_rows: int, n_columns: int) -> list[slice]:
    """Slices of about ``BLOCK_CELLS // n_columns`` rows (at least one) covering ``n_rows``."""
    rows = max(1, BLOCK_CELLS // max(n_columns, 1))
    return [slice(start, start + rows) for start in range(0, n_rows, rows)]


class Log(NamedTuple):
    """A validated log: integer arms, rewards (floats, or 0/1 integers), the chosen arm's
    propensity, every arm's propensities (or None), the number of arms, the number of
    clipped propensities, and the contrast ``treatment`` minus ``control``."""

    arms: np.ndarray
    rewards: np.ndarray
    chosen: np.ndarray
    all_arms: np.ndarray | None
    n_arms: int
    n_clipped: int
    treatment: int
    control: int


def _integer_arms(arms: Any) -> np.ndarray:
    arm_values = np.asarray(arms) if not isinstance(arms, str | bytes) else None
    if arm_values is None or arm_values.dtype.kind not in "biu":
        arm_float = as_numeric_array(arms, "arms", allow_empty=True)
        if np.any(arm_float != np.round(arm_float)):
            raise ValueError("arms must be integers 0..k-1")
        return arm_float.astype(np.int64)
    if arm_values.dtype.kind == "b":
        return arm_values.astype(np.int64)
    return arm_values  # already integers (e.g. a simulation's int8): no copy (large logs)


def as_floats(values: Any, name: str) -> np.ndarray:
    """``values`` as a finite float array, as :func:`as_numeric_array` (``allow_empty``) but
    without its copy and separate NaN and infinity passes for the arrays simulations pass:
    an integer or boolean array is converted, a finite float64 array returned as it is
    (the estimators never write into their inputs); anything else, or a non-finite float
    array (for the error message), goes through :func:`as_numeric_array`."""
    if type(values) is np.ndarray and values.ndim > 0:
        if values.dtype.kind in "biu":
            return values.astype(float)
        if values.dtype == np.float64 and _holds_everywhere(values, np.isfinite):
            return values
    return as_numeric_array(values, name, allow_empty=True)


def _rewards(values: Any) -> np.ndarray:
    """Checked rewards: a simulation's 0/1 rewards (bool, int8 or uint8 array) as they are
    (viewed as int8: signed, so a difference of two rewards is -1, never 255), without a
    float copy; anything else as floats (see :func:`as_floats`). Products and differences
    of 0/1 values stay in -1..1 and sums accumulate in int64, so every estimator gives the
    same numbers as with floats."""
    if (
        type(values) is np.ndarray
        and values.ndim > 0
        and values.dtype in (np.bool_, np.int8, np.uint8)
        and values.size
        and values.min() >= 0
        and values.max() <= 1
    ):
        return values.view(np.int8)
    return as_floats(values, "rewards")


def _holds_everywhere(array: np.ndarray, test: Any) -> bool:
    """Whether ``test(block)`` (elementwise) is true everywhere, evaluated on cache-sized
    blocks of ``array``'s rows (the last axis kept whole)."""
    if array.size == 0:
        return True
    flat = array.reshape(-1, array.shape[-1])
    return all(bool(np.all(test(flat[rows]))) for rows in row_blocks(*flat.shape))


def played_column(values: np.ndarray, arms: np.ndarray) -> np.ndarray:
    """The played arm's entry of ``values`` (shape ``arms.shape + (k,)``), shape like
    ``arms`` (arms in ``0..k-1``)."""
    if values.shape[-1] == 2:  # a select is faster than a gather over a short last axis
        return np.where(arms == 1, values[..., 1], values[..., 0])
    return np.take_along_axis(values, arms[..., None], -1)[..., 0]


def check_log(
    arms: Any,
    rewards: Any,
    propensities: Any,
    n_arms: int | None,
    propensity_clip: float,
    *,
    need_all_arms: bool = False,
    propensities_name: str = "propensities",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, int, int]:
    """Validate a log (leading replication axes allowed); return cleaned arrays.

    Returns arms (int), rewards (float), chosen-arm propensity, all-arm propensities (or
    None), the number of arms and the number of clipped propensities.
    """
    name_p = propensities_name
    arm_int = _integer_arms(arms)
    if arm_int.ndim == 0 or arm_int.shape[-1] < 2 or arm_int.size == 0:
        raise ValueError("arms must hold at least two rounds (and at least one log)")
    reward_values = _rewards(rewards)
    if reward_values.shape != arm_int.shape:
        raise ValueError(
            f"length mismatch: rewards has shape {reward_values.shape}, arms {arm_int.shape}"
        )
    # a float64 array (as simulations give) all in [0, 1] is finite too: one scan for both
    in_range = (
        type(propensities) is np.ndarray
        and propensities.dtype == np.float64
        and propensities.ndim > 0
        and _holds_everywhere(propensities, lambda block: (block >= 0) & (block <= 1))
    )
    p = propensities if in_range else as_floats(propensities, name_p)
    if p.shape == arm_int.shape:
        all_arms = None
    elif p.shape[:-1] == arm_int.shape and p.ndim == arm_int.ndim + 1:
        all_arms = p
    else:
        raise ValueError(
            f"length mismatch: {name_p} has shape {p.shape}; expected {arm_int.shape} "
            f"(chosen arm) or {arm_int.shape + ('k',)} (every arm), like arms"
        )
    if n_arms is None:
        n_arms = all_arms.shape[-1] if all_arms is not None else int(arm_int.max()) + 1
        n_arms = max(n_arms, 2)
    n_arms = check_integer(n_arms, "n_arms", minimum=2)
    if arm_int.min() < 0 or arm_int.max() >= n_arms:
        raise ValueError(f"arms must be integers in 0..{n_arms - 1}")
    if all_arms is not None and all_arms.shape[-1] != n_arms:
        raise ValueError(f"{name_p} must have {n_arms} columns, got {all_arms.shape[-1]}")
    if not in_range and p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"{name_p} must lie in (0, 1]")
    # a row sum as a matrix product: many times faster than .sum(-1) over a short last axis
    ones = np.ones(n_arms)
    if all_arms is not None and not _holds_everywhere(
        all_arms, lambda rows: np.abs(rows @ ones - 1) <= 1e-6
    ):
        raise ValueError(f"{name_p} of every arm must sum to 1 in each row")
    chosen = p if all_arms is None else played_column(p, arm_int)
    if propensity_clip == 0 and np.any(chosen <= 0):
        raise ValueError(
            f"{name_p} must lie in (0, 1] for the arms played (a zero propensity gives an "
            "infinite weight; compute it exactly, or pass propensity_clip to clip and count it)"
        )
    # (without a clip every played propensity is positive: nothing to count)
    n_clipped = int(np.count_nonzero(chosen < propensity_clip)) if propensity_clip > 0 else 0
    if propensity_clip > 0:
        chosen = np.maximum(chosen, propensity_clip)
        if all_arms is not None:
            all_arms = np.maximum(all_arms, propensity_clip)
    if need_all_arms and all_arms is None:
        raise ValueError(
            f"{name_p} must give every arm's probability (shape (n, k)) for this method"
        )
    return arm_int, reward_values, chosen, all_arms, n_arms, n_clipped


def require_played(arms: np.ndarray, treatment: int, control: int, minimum: int = 1) -> None:
    """Raise unless ``treatment`` and ``control`` are each played ``minimum`` times per log.

    An arm that never appears has no data: IPW would report its mean as 0 and a
    "significant" difference, so it is refused.
    """
    for arm, role in ((treatment, "treatment"), (control, "control")):
        counts = np.sum(arms == arm, axis=-1)
        if np.any(counts < minimum):
            where = (
                ""
                if np.ndim(counts) == 0
                else (
                    f" in {int(np.sum(counts < minimum))} replication(s), e.g. replication "
                    f"{int(np.flatnonzero(np.ravel(counts) < minimum)[0])}"
                )
            )
            raise ValueError(
                f"arms: the {role} arm {arm} is played fewer than {minimum} time(s){where}; "
                "its mean reward cannot be estimated"
            )


def check_clip(propensity_clip: Any) -> float:
    """A propensity clip lies in [0, 0.5): clipping to [clip, 1 - clip] needs clip < 1/2."""
    clip = check_finite_number(propensity_clip, "propensity_clip")
    if not 0.0 <= clip < 0.5:
        raise ValueError(f"propensity_clip must lie in [0, 0.5), got {clip}")
    return clip


def check_contrast(treatment: Any, control: Any, n_arms: int) -> tuple[int, int]:
    """Two different arms in ``0..n_arms-1``."""
    treatment = check_integer(treatment, "treatment", minimum=0)
    control = check_integer(control, "control", minimum=0)
    if treatment >= n_arms:
        raise ValueError(f"treatment must be an arm in 0..{n_arms - 1}, got {treatment}")
    if control >= n_arms:
        raise ValueError(f"control must be an arm in 0..{n_arms - 1}, got {control}")
    if treatment == control:
        raise ValueError("treatment and control must be different arms")
    return treatment, control


def prepare_log(
    arms: Any,
    rewards: Any,
    propensities: Any,
    *,
    treatment: Any,
    control: Any,
    n_arms: int | None = None,
    propensity_clip: float = 0.0,
    need_all_arms: bool = False,
    minimum: int = 1,
    replications: bool = False,
    any_arm: bool = False,
) -> Log:
    """Validate a log and a contrast: one log (``arms`` 1-D) or, with ``replications``,
    many (``arms`` of shape ``(n_reps, n)``); each compared arm played ``minimum`` times.
    With ``any_arm`` the contrast may name an arm beyond those in the log (then refused as
    never played, rather than as out of range)."""
    if replications and np.ndim(arms) != 2:
        raise ValueError("arms must have shape (n_reps, n)")
    if not replications and np.ndim(arms) != 1:
        raise ValueError(
            "arms must be 1-dimensional (one log); use batch_estimate_effects for many"
        )
    arms_, rewards_, chosen, all_arms, k, n_clipped = check_log(
        arms, rewards, propensities, n_arms, propensity_clip, need_all_arms=need_all_arms
    )
    arms_in_contrast = k
    if any_arm:
        arms_in_contrast = max(
            k,
            check_integer(treatment, "treatment", minimum=0) + 1,
            check_integer(control, "control", minimum=0) + 1,
        )
    treatment, control = check_contrast(treatment, control, arms_in_contrast)
    require_played(arms_, treatment, control, minimum=minimum)
    return Log(arms_, rewards_, chosen, all_arms, k, n_clipped, treatment, control)
