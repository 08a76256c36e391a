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


class Log(NamedTuple):
    """A validated log: integer arms, float rewards, the chosen arm's propensity, every
    arm's propensities (or None), the number of arms, the number of clipped propensities,
    and the contrast ``treatment`` minus ``control``."""

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
    return arm_values.astype(np.int64)  # already integers: no float round-trip (large logs)


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
    reward_values = as_numeric_array(rewards, "rewards", allow_empty=True)
    if reward_values.shape != arm_int.shape:
        raise ValueError(
            f"length mismatch: rewards has shape {reward_values.shape}, arms {arm_int.shape}"
        )
    p = as_numeric_array(propensities, name_p, allow_empty=True)
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
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"{name_p} must lie in (0, 1]")
    # a row sum as a matrix product: many times faster than .sum(-1) over a short last axis
    if all_arms is not None and np.any(np.abs(all_arms @ np.ones(n_arms) - 1) > 1e-6):
        raise ValueError(f"{name_p} of every arm must sum to 1 in each row")
    chosen = p if all_arms is None else np.take_along_axis(p, arm_int[..., None], -1)[..., 0]
    if propensity_clip == 0 and np.any(chosen <= 0):
        raise ValueError(
            f"{name_p} must lie in (0, 1] for the arms played (a zero propensity gives an "
            "infinite weight; compute it exactly, or pass propensity_clip to clip and count it)"
        )
    n_clipped = int(np.sum(chosen < propensity_clip))
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
