"""Foundations of A/B testing: assignment, sanity checks, comparisons, power, Bayes.

Every comparison follows one convention: arms are given as ``(control, treatment)`` and
the effect is **treatment minus control** (or treatment over control minus one for a
relative lift). ``alternative="larger"`` means the treatment is better (larger), whatever
the order in which numbers were stored.

Public API (all estimators return :class:`playbook_lib.Estimate`):

Assignment and sanity
    :func:`hash_to_unit_interval`, :func:`hash_to_bucket`, :func:`assign_arms`,
    :func:`assign_complete`, :func:`assign_stratified`, :func:`check_sample_ratio`.
Comparing arms (rows, aggregates, and vectorised ``batch_`` versions for simulations)
    :func:`compare_proportions`, :func:`compare_proportions_from_stats`,
    :func:`batch_compare_proportions`, :func:`compare_means`,
    :func:`compare_means_from_stats`, :func:`batch_compare_means`,
    :func:`estimate_relative_lift`, :func:`estimate_relative_lift_from_stats`,
    :func:`batch_relative_lift`, :func:`compare_ratio_metrics`,
    :func:`compare_ratio_metrics_from_stats`, :func:`batch_compare_ratio_metrics`,
    :func:`summarise_ratio_metric`, :func:`bootstrap_difference`.
Regression and strata
    :func:`estimate_regression_effect`, :func:`estimate_logistic_effect`,
    :func:`estimate_stratified_effect`.
Power
    :func:`sample_size_proportions`, :func:`power_proportions`,
    :func:`minimum_detectable_effect_proportions`, :func:`sample_size_means`,
    :func:`power_means`, :func:`minimum_detectable_effect_means`,
    :func:`simulate_power_proportions`, :func:`simulate_power_means`.
Several metrics
    :func:`adjust_p_values`.
Bayesian view
    :func:`probability_treatment_better`, :func:`estimate_beta_binomial`.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    PlaybookWarning,
    as_float_array,
    as_numeric_array,
    check_alpha,
    check_binary,
    check_choice,
    check_columns,
    check_counts,
    check_finite_number,
    check_integer,
    check_not_constant,
    check_positive,
    check_probability,
    check_regression_design,
    check_rng,
    check_sum_of_squares,
    column_as_float_array,
    warn_point_interval,
)

__all__ = [
    "ALTERNATIVES",
    "SampleRatioCheck",
    "adjust_p_values",
    "assign_arms",
    "assign_complete",
    "assign_stratified",
    "batch_compare_means",
    "batch_compare_proportions",
    "batch_compare_ratio_metrics",
    "batch_relative_lift",
    "bootstrap_difference",
    "check_sample_ratio",
    "compare_means",
    "compare_means_from_stats",
    "compare_proportions",
    "compare_proportions_from_stats",
    "compare_ratio_metrics",
    "compare_ratio_metrics_from_stats",
    "estimate_beta_binomial",
    "estimate_logistic_effect",
    "estimate_regression_effect",
    "estimate_relative_lift",
    "estimate_relative_lift_from_stats",
    "estimate_stratified_effect",
    "hash_to_bucket",
    "hash_to_unit_interval",
    "minimum_detectable_effect_means",
    "minimum_detectable_effect_proportions",
    "power_means",
    "power_proportions",
    "probability_treatment_better",
    "sample_size_means",
    "sample_size_proportions",
    "simulate_power_means",
    "simulate_power_proportions",
    "summarise_ratio_metric",
]

#: The allowed values of ``alternative``: the treatment is different / larger / smaller.
ALTERNATIVES = ("two-sided", "larger", "smaller")


# ============================================================== shared internals
def _check_alternative(alternative: str) -> str:
    return check_choice(alternative, "alternative", ALTERNATIVES)


def _p_value_and_interval(
    estimate: np.ndarray,
    se: np.ndarray,
    alpha: float,
    alternative: str,
    df: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p-value and interval from a t (``df`` given) or normal reference distribution.

    The interval matches the alternative: two-sided, or one-sided with an infinite end.
    A zero standard error is the limit ``se -> 0`` (as
    :meth:`~playbook_lib.results.Estimate.from_standard_error`): the interval is the point
    estimate and the p-value is 1 at zero and 0 away from it (one-sided: 0 on the
    alternative's side, 1 on the other, 0.5 at zero); ``df`` is then irrelevant.
    """
    estimate = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    degenerate = se == 0
    safe_se = np.where(degenerate, 1.0, se)
    if df is None:
        distribution = stats.norm
    else:
        df = np.asarray(df, dtype=float)
        distribution = stats.t(np.where(degenerate | ~np.isfinite(df) | (df <= 0), 1.0, df))
    statistic = estimate / safe_se
    if alternative == "two-sided":
        p_value = 2.0 * distribution.sf(np.abs(statistic))
        critical = distribution.ppf(1.0 - alpha / 2.0)
        low, high = estimate - critical * se, estimate + critical * se
        limit = np.where(estimate == 0, 1.0, 0.0)
    elif alternative == "larger":
        p_value = distribution.sf(statistic)
        critical = distribution.ppf(1.0 - alpha)
        low, high = estimate - critical * se, np.full_like(estimate, np.inf)
        limit = np.where(estimate > 0, 0.0, np.where(estimate < 0, 1.0, 0.5))
    else:
        p_value = distribution.cdf(statistic)
        critical = distribution.ppf(1.0 - alpha)
        low, high = np.full_like(estimate, -np.inf), estimate + critical * se
        limit = np.where(estimate < 0, 0.0, np.where(estimate > 0, 1.0, 0.5))
    p_value = np.where(degenerate, limit, p_value)
    return np.clip(p_value, 0.0, 1.0), low, high


def _scalar(values: Any) -> float:
    return float(np.asarray(values).reshape(-1)[0])


def _as_binary_array(values: Any, name: str) -> np.ndarray:
    array = as_float_array(values, name)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValueError(f"{name} must contain only 0 and 1")
    return array




def _check_count_array(values: Any, name: str, *, minimum: int = 0) -> np.ndarray:
    array = as_numeric_array(values, name)
    if (array != np.round(array)).any():
        raise ValueError(f"{name} must contain whole numbers")
    if (array < minimum).any():
        raise ValueError(f"{name} must be at least {minimum}")
    return array


def _broadcast(named: Mapping[str, np.ndarray]) -> list[np.ndarray]:
    """``np.broadcast_arrays`` of 1-D (or scalar) arrays, naming them when shapes clash."""
    try:
        return np.broadcast_arrays(*(np.atleast_1d(a) for a in named.values()))
    except ValueError:
        shapes = ", ".join(f"{k} has shape {np.shape(v)}" for k, v in named.items())
        raise ValueError(f"length mismatch (arrays must broadcast): {shapes}") from None


# ============================================================== assignment
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
                f"weights must hold one number per arm ({len(arms)}), "
                f"got {weights_array.size}"
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
    """Stratified (blocked) randomisation: complete randomisation within each stratum.

    In a stratum of size ``m``, ``round(treatment_share * m)`` units are treated (at least
    one and at most ``m - 1``), so the treated share is (nearly) the same in every stratum.

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


# ============================================================== SRM
@dataclass(frozen=True)
class SampleRatioCheck:
    """Result of a sample-ratio-mismatch (SRM) chi-square test.

    Attributes
    ----------
    statistic, df, p_value : float
        Pearson's chi-square goodness-of-fit statistic, its degrees of freedom
        (arms - 1) and p-value.
    observed, expected : tuple of float
        Observed counts and the counts the planned shares imply.
    observed_shares, planned_shares : tuple of float
    threshold : float
        The p-value below which the split is declared broken.
    """

    statistic: float
    df: int
    p_value: float
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    observed_shares: tuple[float, ...]
    planned_shares: tuple[float, ...]
    threshold: float
    arms: tuple[str, ...] = field(default=())

    @property
    def mismatch(self) -> bool:
        """Whether ``p_value < threshold``: the assignment or logging is suspect."""
        return self.p_value < self.threshold

    def to_frame(self) -> pd.DataFrame:
        """One row per arm: observed and expected counts and shares."""
        return pd.DataFrame(
            {
                "observed": self.observed,
                "expected": self.expected,
                "observed_share": self.observed_shares,
                "planned_share": self.planned_shares,
            },
            index=pd.Index(self.arms or range(len(self.observed)), name="arm"),
        )

    def __repr__(self) -> str:
        verdict = "MISMATCH" if self.mismatch else "ok"
        return (
            f"SampleRatioCheck(chi2={self.statistic:.4g}, df={self.df}, "
            f"p={self.p_value:.4g}, {verdict} at threshold {self.threshold:g})"
        )


def check_sample_ratio(
    counts: Sequence[float] | Mapping[str, float],
    planned_shares: Sequence[float] | None = None,
    threshold: float = 0.001,
) -> SampleRatioCheck:
    """Sample-ratio-mismatch check: Pearson chi-square of observed vs planned arm counts.

    Works for any number of arms and any planned split (e.g. 90/10). A tiny p-value
    means units were lost or duplicated unequally (bugs in assignment, logging, bot
    filtering, redirects); the effect estimates are then not trustworthy and the cause
    must be found before analysing (Fabijan et al. 2019). The conventional
    threshold is strict (0.001) because the check is run on every experiment.

    Parameters
    ----------
    counts : sequence or mapping of arm -> count
        Units observed per arm (non-negative integers, total > 0).
    planned_shares : sequence of float, optional
        Planned shares per arm (normalised to sum to one); equal by default.
    threshold : float
        Significance level of the check, in (0, 1).

    Returns
    -------
    SampleRatioCheck

    Raises
    ------
    ValueError
        If fewer than two arms, counts are negative, non-integer or all zero, or
        ``planned_shares`` has the wrong length or a non-positive entry.

    Notes
    -----
    Uses :func:`scipy.stats.chisquare`.
    """
    arms: tuple[str, ...] = ()
    if isinstance(counts, Mapping):
        arms = tuple(str(key) for key in counts)
        counts = list(counts.values())
    observed = as_float_array(counts, "counts")
    if observed.size < 2:
        raise ValueError("counts must hold at least two arms")
    _check_count_array(observed, "counts")
    if observed.sum() <= 0:
        raise ValueError("counts must not all be zero")
    if planned_shares is None:
        shares = np.full(observed.size, 1.0 / observed.size)
    else:
        shares = as_float_array(planned_shares, "planned_shares")
        if shares.size != observed.size or (shares <= 0).any():
            raise ValueError("planned_shares must be positive, one per arm")
        shares = shares / shares.sum()
    threshold = check_alpha(threshold, "threshold")
    expected = shares * observed.sum()
    result = stats.chisquare(observed, expected)
    return SampleRatioCheck(
        statistic=float(result.statistic),
        df=observed.size - 1,
        p_value=float(result.pvalue),
        observed=tuple(observed.tolist()),
        expected=tuple(expected.tolist()),
        observed_shares=tuple((observed / observed.sum()).tolist()),
        planned_shares=tuple(shares.tolist()),
        threshold=threshold,
        arms=arms,
    )


# ============================================================== proportions
def _proportions_core(
    successes_control: np.ndarray,
    n_control: np.ndarray,
    successes_treatment: np.ndarray,
    n_treatment: np.ndarray,
    alpha: float,
    alternative: str,
    interval: str,
) -> dict[str, np.ndarray]:
    p_control = successes_control / n_control
    p_treatment = successes_treatment / n_treatment
    difference = p_treatment - p_control
    pooled = (successes_control + successes_treatment) / (n_control + n_treatment)
    se_pooled = np.sqrt(pooled * (1 - pooled) * (1 / n_control + 1 / n_treatment))
    se = np.sqrt(
        p_control * (1 - p_control) / n_control + p_treatment * (1 - p_treatment) / n_treatment
    )
    # A zero pooled se means both arms are all 0 or all 1: the difference is 0, so is z.
    z = difference / np.where(se_pooled > 0, se_pooled, 1.0)
    distribution = stats.norm
    if alternative == "two-sided":
        p_value = 2 * distribution.sf(np.abs(z))
    elif alternative == "larger":
        p_value = distribution.sf(z)
    else:
        p_value = distribution.cdf(z)
    if interval == "agresti-caffo":
        # Add one success and one failure to each arm, then Wald (Agresti & Caffo 2000).
        adj_control = (successes_control + 1) / (n_control + 2)
        adj_treatment = (successes_treatment + 1) / (n_treatment + 2)
        centre = adj_treatment - adj_control
        se_interval = np.sqrt(
            adj_control * (1 - adj_control) / (n_control + 2)
            + adj_treatment * (1 - adj_treatment) / (n_treatment + 2)
        )
    else:
        centre, se_interval = difference, se
    _, low, high = _p_value_and_interval(centre, se_interval, alpha, alternative)
    # A difference of proportions lies in [-1, 1]; so does its interval.
    return {
        "estimate": difference,
        "se": se,
        "ci_low": np.clip(low, -1.0, 1.0),
        "ci_high": np.clip(high, -1.0, 1.0),
        "p_value": np.where(se_pooled > 0, np.clip(p_value, 0.0, 1.0), 1.0),
        "z": z,
    }


def _check_proportion_stats(
    successes_control: Any, n_control: Any, successes_treatment: Any, n_treatment: Any
) -> tuple[np.ndarray, ...]:
    s_c = _check_count_array(successes_control, "successes_control")
    n_c = _check_count_array(n_control, "n_control", minimum=1)
    s_t = _check_count_array(successes_treatment, "successes_treatment")
    n_t = _check_count_array(n_treatment, "n_treatment", minimum=1)
    s_c, n_c, s_t, n_t = _broadcast(
        {
            "successes_control": s_c,
            "n_control": n_c,
            "successes_treatment": s_t,
            "n_treatment": n_t,
        }
    )
    if (s_c > n_c).any():
        raise ValueError("successes_control must not exceed n_control")
    if (s_t > n_t).any():
        raise ValueError("successes_treatment must not exceed n_treatment")
    return s_c, n_c, s_t, n_t


def compare_proportions_from_stats(
    successes_control: int,
    n_control: int,
    successes_treatment: int,
    n_treatment: int,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    interval: str = "wald",
) -> Estimate:
    """Two-proportion z-test and interval for ``p_treatment - p_control`` from counts.

    The test statistic uses the pooled proportion under the null of no difference
    (the classical z-test, equal to :func:`statsmodels.stats.proportion.proportions_ztest`);
    the interval uses the unpooled standard error (``interval="wald"``) or the
    Agresti-Caffo adjustment (``interval="agresti-caffo"``: add one success and one
    failure per arm), which keeps its coverage in small samples and with zero counts.
    Interval ends are clipped to [-1, 1], the range of a difference of proportions.

    Parameters
    ----------
    successes_control, n_control, successes_treatment, n_treatment : int
        Counts per arm; ``0 <= successes <= n`` and ``n >= 1``.
    alpha : float
        One minus the interval's coverage (and the test's level).
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: the treatment proportion is larger. One-sided alternatives give a
        one-sided interval (its open end is -1 or 1).
    interval : {"wald", "agresti-caffo"}

    Returns
    -------
    Estimate
        ``method="two-proportion z"``; ``se`` is the unpooled standard error; details hold
        both proportions, arm sizes, the z statistic and the pooled standard error.

        Degenerate counts: when both arms are all 0 (or all 1) the estimate is 0, ``z`` is
        0 and the p-value is 1. Whenever every arm is at 0 or 1 (e.g. 0/5 vs 5/5) the
        unpooled se is 0, so the Wald interval is the single point estimate and a
        :class:`~playbook_lib.PlaybookWarning` says so; the Agresti-Caffo interval stays
        informative (e.g. 0/10 vs 0/10 gives about [-0.27, 0.27]).

    Raises
    ------
    ValueError
        Naming the argument for counts that are not whole numbers (or are strings,
        bools or arrays), negative, above ``n``, or ``n < 1``; bad ``alpha``,
        ``alternative`` or ``interval``.
    """
    s_c, n_c = check_counts(successes_control, n_control, "successes_control", "n_control")
    s_t, n_t = check_counts(
        successes_treatment, n_treatment, "successes_treatment", "n_treatment"
    )
    alpha = check_alpha(alpha)
    alternative = _check_alternative(alternative)
    interval = check_choice(interval, "interval", ("wald", "agresti-caffo"))
    pooled = (s_c + s_t) / (n_c + n_t)
    out = _proportions_core(
        np.array([float(s_c)]),
        np.array([float(n_c)]),
        np.array([float(s_t)]),
        np.array([float(n_t)]),
        alpha,
        alternative,
        interval,
    )
    se = _scalar(out["se"])
    if se == 0 and interval == "wald":
        warn_point_interval(
            "compare_proportions: every arm is all 0 or all 1; prefer interval='agresti-caffo'"
        )
    return Estimate(
        method="two-proportion z",
        estimate=_scalar(out["estimate"]),
        se=se,
        ci_low=_scalar(out["ci_low"]),
        ci_high=_scalar(out["ci_high"]),
        alpha=alpha,
        p_value=_scalar(out["p_value"]),
        details={
            "p_control": s_c / n_c,
            "p_treatment": s_t / n_t,
            "n_control": n_c,
            "n_treatment": n_t,
            "z": _scalar(out["z"]),
            "se_pooled": math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t)),
            "alternative": alternative,
            "interval": interval,
        },
    )


def compare_proportions(
    y_control: Any,
    y_treatment: Any,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    interval: str = "wald",
) -> Estimate:
    """Two-proportion z-test from 0/1 rows; same answer as :func:`compare_proportions_from_stats`.

    Raises
    ------
    ValueError
        If an arm is empty, holds NaN or values other than 0/1, or as the twin.
    """
    y_c = _as_binary_array(y_control, "y_control")
    y_t = _as_binary_array(y_treatment, "y_treatment")
    return compare_proportions_from_stats(
        int(y_c.sum()), y_c.size, int(y_t.sum()), y_t.size, alpha, alternative, interval
    )


def batch_compare_proportions(
    successes_control: Any,
    n_control: Any,
    successes_treatment: Any,
    n_treatment: Any,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    interval: str = "wald",
) -> pd.DataFrame:
    """Vectorised :func:`compare_proportions_from_stats` for simulations (arrays broadcast).

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, se, ci_low, ci_high, p_value, z``; one row per element. A
        simulation where both arms are all 0 or all 1 gets ``estimate = z = 0`` and
        ``p_value = 1``; where every arm is all 0 or all 1 the Wald interval is the point
        estimate (``se = 0``), as in the scalar version (without its warning).

    Raises
    ------
    ValueError
        Naming the argument: counts that are not whole numbers, negative, above ``n``,
        ``n < 1``, empty or non-broadcasting arrays; bad ``alpha``, ``alternative`` or
        ``interval``.
    """
    s_c, n_c, s_t, n_t = _check_proportion_stats(
        successes_control, n_control, successes_treatment, n_treatment
    )
    out = _proportions_core(
        s_c,
        n_c,
        s_t,
        n_t,
        check_alpha(alpha),
        _check_alternative(alternative),
        check_choice(interval, "interval", ("wald", "agresti-caffo")),
    )
    return pd.DataFrame(out)


# ============================================================== means (Welch)
def _welch_core(
    n_c: np.ndarray,
    mean_c: np.ndarray,
    var_c: np.ndarray,
    n_t: np.ndarray,
    mean_t: np.ndarray,
    var_t: np.ndarray,
    alpha: float,
    alternative: str,
) -> dict[str, np.ndarray]:
    """Welch's t from arm sizes, means and variances (a zero se gives the se -> 0 limit)."""
    v_c, v_t = var_c / n_c, var_t / n_t
    se = np.sqrt(v_c + v_t)
    numerator = (v_c + v_t) ** 2
    denominator = v_c**2 / (n_c - 1) + v_t**2 / (n_t - 1)
    # Both variances zero: df is 0/0; the point interval does not need it (reported NaN).
    df = numerator / np.where(denominator > 0, denominator, 1.0)
    df = np.where(denominator > 0, df, np.nan)
    difference = mean_t - mean_c
    p_value, low, high = _p_value_and_interval(difference, se, alpha, alternative, df)
    return {
        "estimate": difference,
        "se": se,
        "ci_low": low,
        "ci_high": high,
        "p_value": p_value,
        "df": df,
    }


def _moments_from_stats(
    n: np.ndarray, total: np.ndarray, sum_squares: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample variance (``ddof=1``) from size, sum and sum of squares.

    A sum of squared deviations below ``1e-12`` of the sum of squares is round-off of a
    constant arm and counts as exactly 0.
    """
    mean = total / n
    deviations = sum_squares - total * (total / n)
    constant = deviations <= 1e-12 * np.abs(sum_squares)
    variance = np.where(constant, 0.0, deviations) / (n - 1)
    return mean, variance


def _check_mean_stats(n: Any, total: Any, sum_squares: Any, suffix: str):
    """Arrays of sizes (>= 2), sums and sums of squares, checked for consistency."""
    n_array = _check_count_array(n, f"n_{suffix}", minimum=2)
    total_array = as_numeric_array(total, f"sum_{suffix}")
    squares = as_numeric_array(sum_squares, f"sum_squares_{suffix}")
    n_array, total_array, squares = _broadcast(
        {f"n_{suffix}": n_array, f"sum_{suffix}": total_array, f"sum_squares_{suffix}": squares}
    )
    implied = total_array * (total_array / n_array)
    tolerance = 1e-9 * np.maximum(np.abs(squares), implied)
    if (squares - implied < -np.maximum(tolerance, 1e-300)).any():
        raise ValueError(
            f"sum_squares_{suffix} is below sum_{suffix}**2 / n_{suffix}: these aggregates "
            "imply a negative variance"
        )
    return n_array, total_array, squares


def _scalar_mean_stats(n: Any, total: Any, sum_squares: Any, suffix: str):
    """Scalar size, sum and sum of squares of one arm (``_from_stats`` twins)."""
    n = check_integer(n, f"n_{suffix}", minimum=2)
    total = check_finite_number(total, f"sum_{suffix}")
    sum_squares = check_finite_number(sum_squares, f"sum_squares_{suffix}")
    check_sum_of_squares(n, total, sum_squares, f"sum_squares_{suffix}")
    return np.array([float(n)]), np.array([total]), np.array([sum_squares])


def _welch_estimate(
    n_c: np.ndarray,
    mean_c: np.ndarray,
    var_c: np.ndarray,
    n_t: np.ndarray,
    mean_t: np.ndarray,
    var_t: np.ndarray,
    alpha: float,
    alternative: str,
) -> Estimate:
    out = _welch_core(n_c, mean_c, var_c, n_t, mean_t, var_t, alpha, alternative)
    se = _scalar(out["se"])
    if se == 0:
        warn_point_interval("compare_means: both arms are constant")
    return Estimate(
        method="welch",
        estimate=_scalar(out["estimate"]),
        se=se,
        ci_low=_scalar(out["ci_low"]),
        ci_high=_scalar(out["ci_high"]),
        alpha=alpha,
        p_value=_scalar(out["p_value"]),
        df=_scalar(out["df"]) if se > 0 else None,
        details={
            "mean_control": _scalar(mean_c),
            "mean_treatment": _scalar(mean_t),
            "variance_control": _scalar(var_c),
            "variance_treatment": _scalar(var_t),
            "n_control": int(_scalar(n_c)),
            "n_treatment": int(_scalar(n_t)),
            "alternative": alternative,
        },
    )


def compare_means_from_stats(
    n_control: int,
    sum_control: float,
    sum_squares_control: float,
    n_treatment: int,
    sum_treatment: float,
    sum_squares_treatment: float,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> Estimate:
    """Welch's t-test and interval for ``mean_treatment - mean_control`` from aggregates.

    Each arm is summarised by its size, sum and sum of squares (what a warehouse query
    returns). Standard error ``sqrt(s_c^2/n_c + s_t^2/n_t)`` with sample variances
    (``ddof=1``); the reference distribution is Student's t with the Welch-Satterthwaite
    degrees of freedom (Welch 1947), so the test keeps its level in
    small samples with unequal variances. Matches
    ``scipy.stats.ttest_ind(..., equal_var=False)``.

    Sums of squares lose digits when an arm's mean is huge relative to its spread (a
    variance below ``1e-12`` of the mean square counts as 0); centre the metric in the
    query (subtract a constant) if so, or use :func:`compare_means` on the rows.

    Returns
    -------
    Estimate
        ``method="welch"``, ``df`` the Welch df; details hold the arm means, variances
        and sizes. When both arms are constant the standard error is 0: the interval is
        the point estimate, the p-value is 1 if the means are equal and 0 otherwise,
        ``df`` is ``None``, and a :class:`~playbook_lib.PlaybookWarning` says so.

    Raises
    ------
    ValueError
        Naming the argument: an arm with fewer than 2 units, a size that is not an
        integer, a sum that is not a finite number (strings and arrays are refused), or
        inconsistent sums (``sum_squares < sum**2 / n``).
    """
    n_c, s_c, q_c = _scalar_mean_stats(n_control, sum_control, sum_squares_control, "control")
    n_t, s_t, q_t = _scalar_mean_stats(
        n_treatment, sum_treatment, sum_squares_treatment, "treatment"
    )
    alpha = check_alpha(alpha)
    alternative = _check_alternative(alternative)
    mean_c, var_c = _moments_from_stats(n_c, s_c, q_c)
    mean_t, var_t = _moments_from_stats(n_t, s_t, q_t)
    return _welch_estimate(n_c, mean_c, var_c, n_t, mean_t, var_t, alpha, alternative)


def _centred_moments(values: np.ndarray, centre: float) -> tuple[float, float]:
    """Mean of ``values - centre`` and the sample variance, by two passes."""
    with np.errstate(over="ignore", invalid="ignore"):
        deviations = values - centre
        mean = float(np.mean(deviations))
        residuals = deviations - mean
        variance = float(residuals @ residuals) / (values.size - 1)
    if not (math.isfinite(mean) and math.isfinite(variance)):
        raise ValueError(
            "y_control and y_treatment are too large: their variance overflows double "
            "precision (rescale the outcome)"
        )
    return mean, variance


def _reference_value(values: np.ndarray) -> float:
    """A data point near the middle (the lower median): subtracting it is exact nearby."""
    middle = (values.size - 1) // 2
    return float(np.partition(values, middle)[middle])


def compare_means(
    y_control: Any, y_treatment: Any, alpha: float = 0.05, alternative: str = "two-sided"
) -> Estimate:
    """Welch's t-test from rows; same answer as :func:`compare_means_from_stats`.

    Computed from data centred on one control value (the lower median) with two-pass
    variances, so adding a constant to the outcome (even ``1e9``) leaves the estimate and
    standard error unchanged up to the rounding of the shifted data themselves.

    Returns
    -------
    Estimate
        As :func:`compare_means_from_stats` (including the zero-variance case).

    Raises
    ------
    ValueError
        If an arm has fewer than 2 values, or holds NaN, infinite or non-numeric values.
    """
    y_c = as_float_array(y_control, "y_control", min_size=2)
    y_t = as_float_array(y_treatment, "y_treatment", min_size=2)
    alpha = check_alpha(alpha)
    alternative = _check_alternative(alternative)
    centre = _reference_value(y_c)
    mean_c, var_c = _centred_moments(y_c, centre)
    mean_t, var_t = _centred_moments(y_t, centre)
    out = _welch_estimate(
        np.array([float(y_c.size)]),
        np.array([mean_c]),
        np.array([var_c]),
        np.array([float(y_t.size)]),
        np.array([mean_t]),
        np.array([var_t]),
        alpha,
        alternative,
    )
    details = dict(out.details)
    details["mean_control"] = centre + mean_c
    details["mean_treatment"] = centre + mean_t
    return replace(out, details=details)


def batch_compare_means(
    n_control: Any,
    sum_control: Any,
    sum_squares_control: Any,
    n_treatment: Any,
    sum_treatment: Any,
    sum_squares_treatment: Any,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> pd.DataFrame:
    """Vectorised :func:`compare_means_from_stats` (arrays broadcast), for simulations.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, se, ci_low, ci_high, p_value, df``. A simulation whose arms
        are both constant gets ``se = 0``, the point interval, ``p_value`` 1 (equal means)
        or 0, and ``df = NaN`` (undefined, and not needed).

    Raises
    ------
    ValueError
        As :func:`compare_means_from_stats`, and for empty or non-broadcasting arrays.
    """
    n_c, s_c, q_c = _check_mean_stats(n_control, sum_control, sum_squares_control, "control")
    n_t, s_t, q_t = _check_mean_stats(
        n_treatment, sum_treatment, sum_squares_treatment, "treatment"
    )
    alpha = check_alpha(alpha)
    alternative = _check_alternative(alternative)
    arrays = _broadcast(
        {
            "n_control": n_c, "sum_control": s_c, "sum_squares_control": q_c,
            "n_treatment": n_t, "sum_treatment": s_t, "sum_squares_treatment": q_t,
        }
    )
    mean_c, var_c = _moments_from_stats(arrays[0], arrays[1], arrays[2])
    mean_t, var_t = _moments_from_stats(arrays[3], arrays[4], arrays[5])
    out = _welch_core(arrays[0], mean_c, var_c, arrays[3], mean_t, var_t, alpha, alternative)
    return pd.DataFrame(out)


# ============================================================== relative lift
def _relative_core(
    mean_c: np.ndarray,
    var_mean_c: np.ndarray,
    mean_t: np.ndarray,
    var_mean_t: np.ndarray,
    alpha: float,
    method: str,
) -> dict[str, np.ndarray]:
    """Relative lift ``mean_t / mean_c - 1`` of two independent means (normal reference).

    Callers ensure ``mean_c != 0``. A zero standard error gives the point interval.
    """
    ratio = mean_t / mean_c
    se = np.sqrt(var_mean_t / mean_c**2 + mean_t**2 * var_mean_c / mean_c**4)
    z = stats.norm.ppf(1 - alpha / 2)
    if method == "delta":
        low, high = ratio - z * se, ratio + z * se
        bounded = np.ones_like(ratio, dtype=bool)
    else:
        # Fieller: the set of rho with (m_t - rho m_c)^2 <= z^2 (v_t + rho^2 v_c).
        q = z**2
        a = mean_c**2 - q * var_mean_c
        b = mean_c * mean_t
        c = mean_t**2 - q * var_mean_t
        discriminant = np.maximum(b**2 - a * c, 0.0)
        bounded = a > 0
        root = np.sqrt(np.where(bounded, discriminant, 0.0))
        safe_a = np.where(bounded, a, 1.0)
        low = np.where(bounded, (b - root) / safe_a, -np.inf)
        high = np.where(bounded, (b + root) / safe_a, np.inf)
        # A zero se: the interval is the point (round-off must not move it off the point).
        low = np.where(se == 0, ratio, np.minimum(low, ratio))
        high = np.where(se == 0, ratio, np.maximum(high, ratio))
    p_value, _, _ = _p_value_and_interval(
        mean_t - mean_c, np.sqrt(var_mean_c + var_mean_t), alpha, "two-sided"
    )
    return {
        "estimate": ratio - 1,
        "se": se,
        "ci_low": low - 1,
        "ci_high": high - 1,
        "p_value": p_value,
        "bounded": bounded,
    }


def _check_relative_method(method: str) -> str:
    return check_choice(method, "method", ("delta", "fieller"))


def _relative_estimate(
    n_c: np.ndarray,
    mean_c: np.ndarray,
    var_c: np.ndarray,
    n_t: np.ndarray,
    mean_t: np.ndarray,
    var_t: np.ndarray,
    alpha: float,
    method: str,
) -> Estimate:
    out = _relative_core(mean_c, var_c / n_c, mean_t, var_t / n_t, alpha, method)
    if _scalar(out["se"]) == 0:
        warn_point_interval("estimate_relative_lift: both arms are constant")
    return Estimate(
        method=f"relative lift ({method})",
        estimate=_scalar(out["estimate"]),
        se=_scalar(out["se"]),
        ci_low=_scalar(out["ci_low"]),
        ci_high=_scalar(out["ci_high"]),
        alpha=alpha,
        p_value=_scalar(out["p_value"]),
        details={
            "mean_control": _scalar(mean_c),
            "mean_treatment": _scalar(mean_t),
            "n_control": int(_scalar(n_c)),
            "n_treatment": int(_scalar(n_t)),
            "bounded": bool(_scalar(out["bounded"])),
        },
    )


def _control_mean_is_zero(mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """A control mean that is 0 up to round-off of values of size ``scale``."""
    return np.abs(mean) <= 1e-12 * scale


def estimate_relative_lift_from_stats(
    n_control: int,
    sum_control: float,
    sum_squares_control: float | None,
    n_treatment: int,
    sum_treatment: float,
    sum_squares_treatment: float | None,
    alpha: float = 0.05,
    method: str = "delta",
) -> Estimate:
    """Relative lift ``mean_treatment / mean_control - 1`` with a delta-method or Fieller CI.

    The delta method linearises the ratio of the two independent arm means:
    ``Var(r) ~= Var(m_t)/m_c^2 + m_t^2 Var(m_c)/m_c^4`` (Deng, Knoblich & Lu 2018). Fieller's
    interval inverts the exact pivot ``(m_t - rho m_c) / sqrt(Var(m_t) + rho^2 Var(m_c))``;
    it is asymmetric, better when the control mean is noisy, and unbounded (reported as
    ``(-inf, inf)``, ``details["bounded"] = False``) when the control mean is not
    distinguishable from zero. Both use the normal reference (large samples).

    For a 0/1 metric pass ``sum_squares_* = None`` (then sum of squares = sum).

    Returns
    -------
    Estimate
        ``method="relative lift (delta)"`` or ``"relative lift (fieller)"``; ``se`` is the
        delta-method standard error; the p-value is that of the absolute difference
        (normal reference). Both arms constant: se 0, the point interval, p = 1 for equal
        means and 0 otherwise, with a :class:`~playbook_lib.PlaybookWarning`.

    Raises
    ------
    ValueError
        As :func:`compare_means_from_stats`, plus a control mean of zero (``sum_control``
        is 0, up to round-off: the lift is undefined) and bad ``method``.
    """
    method = _check_relative_method(method)
    alpha = check_alpha(alpha)
    if sum_squares_control is None:
        sum_squares_control = sum_control
    if sum_squares_treatment is None:
        sum_squares_treatment = sum_treatment
    n_c, s_c, q_c = _scalar_mean_stats(n_control, sum_control, sum_squares_control, "control")
    n_t, s_t, q_t = _scalar_mean_stats(
        n_treatment, sum_treatment, sum_squares_treatment, "treatment"
    )
    mean_c, var_c = _moments_from_stats(n_c, s_c, q_c)
    mean_t, var_t = _moments_from_stats(n_t, s_t, q_t)
    if _control_mean_is_zero(mean_c, np.sqrt(q_c / n_c)).any():
        raise ValueError("sum_control is zero: the relative lift is undefined")
    return _relative_estimate(n_c, mean_c, var_c, n_t, mean_t, var_t, alpha, method)


def estimate_relative_lift(
    y_control: Any, y_treatment: Any, alpha: float = 0.05, method: str = "delta"
) -> Estimate:
    """Relative lift from rows; same answer as :func:`estimate_relative_lift_from_stats`.

    Raises
    ------
    ValueError
        If an arm has fewer than 2 values or holds NaN, infinite or non-numeric values,
        or the control mean is 0 (up to round-off, e.g. ``[-0.1, 0.1, 0.2, -0.2]``): the
        lift is undefined.
    """
    y_c = as_float_array(y_control, "y_control", min_size=2)
    y_t = as_float_array(y_treatment, "y_treatment", min_size=2)
    method = _check_relative_method(method)
    alpha = check_alpha(alpha)
    mean_c, var_c = _centred_moments(y_c, 0.0)
    mean_t, var_t = _centred_moments(y_t, 0.0)
    if _control_mean_is_zero(np.array(mean_c), np.max(np.abs(y_c))):
        raise ValueError("y_control has mean zero: the relative lift is undefined")
    return _relative_estimate(
        np.array([float(y_c.size)]), np.array([mean_c]), np.array([var_c]),
        np.array([float(y_t.size)]), np.array([mean_t]), np.array([var_t]),
        alpha, method,
    )


def batch_relative_lift(
    n_control: Any,
    sum_control: Any,
    sum_squares_control: Any,
    n_treatment: Any,
    sum_treatment: Any,
    sum_squares_treatment: Any,
    alpha: float = 0.05,
    method: str = "delta",
) -> pd.DataFrame:
    """Vectorised :func:`estimate_relative_lift_from_stats` (arrays broadcast).

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, se, ci_low, ci_high, p_value, bounded``.

    Raises
    ------
    ValueError
        As :func:`batch_compare_means`, and when a control mean is zero (``sum_control``).
    """
    method = _check_relative_method(method)
    alpha = check_alpha(alpha)
    n_c, s_c, q_c = _check_mean_stats(n_control, sum_control, sum_squares_control, "control")
    n_t, s_t, q_t = _check_mean_stats(
        n_treatment, sum_treatment, sum_squares_treatment, "treatment"
    )
    arrays = _broadcast(
        {
            "n_control": n_c, "sum_control": s_c, "sum_squares_control": q_c,
            "n_treatment": n_t, "sum_treatment": s_t, "sum_squares_treatment": q_t,
        }
    )
    mean_c, var_c = _moments_from_stats(arrays[0], arrays[1], arrays[2])
    mean_t, var_t = _moments_from_stats(arrays[3], arrays[4], arrays[5])
    if _control_mean_is_zero(mean_c, np.sqrt(arrays[2] / arrays[0])).any():
        raise ValueError("sum_control is zero in some rows: the relative lift is undefined")
    out = _relative_core(mean_c, var_c / arrays[0], mean_t, var_t / arrays[3], alpha, method)
    return pd.DataFrame(out)


# ============================================================== ratio metrics
def _ratio_arm(
    n: np.ndarray,
    sum_numerator: np.ndarray,
    sum_denominator: np.ndarray,
    sum_numerator_squares: np.ndarray,
    sum_denominator_squares: np.ndarray,
    sum_cross_products: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Ratio of sums and its delta-method variance (unit = the randomised unit)."""
    mean_num = sum_numerator / n
    mean_den = sum_denominator / n
    var_num = (sum_numerator_squares - n * mean_num**2) / (n - 1)
    var_den = (sum_denominator_squares - n * mean_den**2) / (n - 1)
    cov = (sum_cross_products - n * mean_num * mean_den) / (n - 1)
    ratio = mean_num / mean_den
    variance = (var_num - 2 * ratio * cov + ratio**2 * var_den) / (n * mean_den**2)
    # Round-off of a linearised outcome that is constant (every unit at the same ratio).
    scale = (sum_numerator_squares + ratio**2 * sum_denominator_squares) / (
        (n - 1) * n * mean_den**2
    )
    variance = np.where(variance <= 1e-12 * scale, 0.0, variance)
    return ratio, variance


_RATIO_FIELDS = (
    "n",
    "sum_numerator",
    "sum_denominator",
    "sum_numerator_squares",
    "sum_denominator_squares",
    "sum_cross_products",
)


def _check_ratio_consistency(arrays: Sequence[np.ndarray], suffix: str) -> None:
    n, s_x, s_y, q_x, q_y, c_xy = arrays
    if (s_y <= 0).any():
        raise ValueError(f"sum_denominator_{suffix} must be positive")
    for total, squares, name in ((s_x, q_x, "numerator"), (s_y, q_y, "denominator")):
        implied = total * (total / n)
        if (squares - implied < -1e-9 * np.maximum(np.abs(squares), implied)).any():
            raise ValueError(
                f"sum_{name}_squares_{suffix} is below sum_{name}_{suffix}**2 / n_{suffix}: "
                "these aggregates imply a negative variance"
            )
    ss_x = np.maximum(q_x - s_x * s_x / n, 0.0)
    ss_y = np.maximum(q_y - s_y * s_y / n, 0.0)
    cross = c_xy - s_x * s_y / n
    bound = np.sqrt(ss_x * ss_y)
    if (np.abs(cross) > bound + 1e-9 * np.sqrt(np.abs(q_x) * np.abs(q_y))).any():
        raise ValueError(
            f"sum_cross_products_{suffix} is inconsistent with the sums of squares "
            "(it implies a correlation outside [-1, 1])"
        )


def _check_ratio_stats(values: Any, suffix: str) -> list[np.ndarray]:
    """Per-arm ratio aggregates from a mapping with the keys of ``_RATIO_FIELDS``."""
    if not isinstance(values, Mapping | pd.Series):
        raise ValueError(
            f"{suffix} must be a mapping of per-arm sums, got {type(values).__name__}"
        )
    missing = [name for name in _RATIO_FIELDS if name not in values]
    if missing:
        raise ValueError(f"{suffix} is missing key(s) {missing}")
    arrays = [_check_count_array(values["n"], f"{suffix}['n']", minimum=2)]
    for name in _RATIO_FIELDS[1:]:
        arrays.append(as_numeric_array(values[name], f"{suffix}[{name!r}]"))
    arrays = _broadcast(dict(zip(_RATIO_FIELDS, arrays, strict=True)))
    _check_ratio_consistency(arrays, suffix)
    return arrays


def compare_ratio_metrics_from_stats(
    *,
    n_control: int,
    sum_numerator_control: float,
    sum_denominator_control: float,
    sum_numerator_squares_control: float,
    sum_denominator_squares_control: float,
    sum_cross_products_control: float,
    n_treatment: int,
    sum_numerator_treatment: float,
    sum_denominator_treatment: float,
    sum_numerator_squares_treatment: float,
    sum_denominator_squares_treatment: float,
    sum_cross_products_treatment: float,
    alpha: float = 0.05,
) -> Estimate:
    """Difference of ratio metrics (e.g. clicks per pageview) with delta-method variance.

    When users are randomised but the metric's denominator is another count (pageviews),
    pageviews of one user are correlated, so treating pageviews as independent trials
    understates the variance. Per arm, with user-level numerator ``X`` and denominator
    ``Y``, ``R = sum X / sum Y`` and ``Var(R) ~= (s_X^2 - 2 R s_XY + R^2 s_Y^2) /
    (n mean(Y)^2)`` (Deng, Knoblich & Lu 2018); arms are independent. Normal reference.

    All arguments are keyword-only: per arm, the number of users ``n``, the sums of the
    numerator, denominator, their squares and their cross-products over users.

    Returns
    -------
    Estimate
        ``method="ratio delta"``; details hold both ratios. When every user of both arms
        has the arm's ratio exactly (zero linearised variance) the se is 0: the interval
        is the point estimate, p is 1 for equal ratios and 0 otherwise, with a
        :class:`~playbook_lib.PlaybookWarning`.

    Raises
    ------
    ValueError
        Naming the argument: fewer than 2 users in an arm, a size that is not an
        integer, a sum that is not a finite number (strings, arrays), a non-positive
        denominator sum, or inconsistent sums (a negative variance, a correlation
        outside [-1, 1]).
    """
    alpha = check_alpha(alpha)
    arms = {}
    for suffix, values in (
        ("control", (
            n_control, sum_numerator_control, sum_denominator_control,
            sum_numerator_squares_control, sum_denominator_squares_control,
            sum_cross_products_control,
        )),
        ("treatment", (
            n_treatment, sum_numerator_treatment, sum_denominator_treatment,
            sum_numerator_squares_treatment, sum_denominator_squares_treatment,
            sum_cross_products_treatment,
        )),
    ):
        checked = [float(check_integer(values[0], f"n_{suffix}", minimum=2))]
        for name, value in zip(_RATIO_FIELDS[1:], values[1:], strict=True):
            checked.append(check_finite_number(value, f"{name}_{suffix}"))
        arrays = [np.array([value]) for value in checked]
        _check_ratio_consistency(arrays, suffix)
        arms[suffix] = arrays
    ratio_c, var_c = _ratio_arm(*arms["control"])
    ratio_t, var_t = _ratio_arm(*arms["treatment"])
    se = np.sqrt(var_c + var_t)
    difference = ratio_t - ratio_c
    p_value, low, high = _p_value_and_interval(difference, se, alpha, "two-sided")
    if _scalar(se) == 0:
        warn_point_interval("compare_ratio_metrics: the linearised outcome is constant")
    return Estimate(
        method="ratio delta",
        estimate=_scalar(difference),
        se=_scalar(se),
        ci_low=_scalar(low),
        ci_high=_scalar(high),
        alpha=alpha,
        p_value=_scalar(p_value),
        details={
            "ratio_control": _scalar(ratio_c),
            "ratio_treatment": _scalar(ratio_t),
            "n_control": int(_scalar(arms["control"][0])),
            "n_treatment": int(_scalar(arms["treatment"][0])),
        },
    )


def _ratio_stats_from_rows(numerator: Any, denominator: Any, suffix: str) -> dict[str, float]:
    x = as_float_array(numerator, f"numerator_{suffix}", min_size=2)
    y = as_float_array(denominator, f"denominator_{suffix}", min_size=2)
    if x.size != y.size:
        raise ValueError(
            f"numerator_{suffix} and denominator_{suffix} must have the same length "
            f"({x.size} != {y.size})"
        )
    if not y.sum() > 0:
        raise ValueError(f"denominator_{suffix} must have a positive sum")
    return {
        f"n_{suffix}": x.size,
        f"sum_numerator_{suffix}": float(x.sum()),
        f"sum_denominator_{suffix}": float(y.sum()),
        f"sum_numerator_squares_{suffix}": float(np.sum(x**2)),
        f"sum_denominator_squares_{suffix}": float(np.sum(y**2)),
        f"sum_cross_products_{suffix}": float(np.sum(x * y)),
    }


def compare_ratio_metrics(
    numerator_control: Any,
    denominator_control: Any,
    numerator_treatment: Any,
    denominator_treatment: Any,
    alpha: float = 0.05,
) -> Estimate:
    """Ratio-metric comparison from one row per randomised unit (see the ``_from_stats`` twin).

    Raises
    ------
    ValueError
        If numerator and denominator lengths differ, an arm has fewer than 2 units,
        values are NaN, infinite or non-numeric, or a denominator sum is not positive.
    """
    return compare_ratio_metrics_from_stats(
        **_ratio_stats_from_rows(numerator_control, denominator_control, "control"),
        **_ratio_stats_from_rows(numerator_treatment, denominator_treatment, "treatment"),
        alpha=alpha,
    )


def summarise_ratio_metric(numerator: Any, denominator: Any) -> dict[str, Any]:
    """Per-arm sufficient statistics of a ratio metric, summed over the last axis.

    For user-level ``numerator`` (e.g. clicks) and ``denominator`` (pageviews) of one arm,
    of shape ``(n_users,)`` or ``(n_sims, n_users)``, returns the mapping that
    :func:`batch_compare_ratio_metrics` takes: ``n`` and the sums of the numerator,
    denominator, their squares and cross-products (one value per simulation). It is what
    a warehouse query would return.

    Raises
    ------
    ValueError
        If shapes differ, fewer than 2 users, NaN, infinite or non-numeric values.
    """
    dims = np.ndim(numerator)
    if dims not in (1, 2):
        raise ValueError(f"numerator must be 1- or 2-dimensional, got {dims} dimension(s)")
    x = as_float_array(numerator, "numerator", ndim=dims)
    y = as_float_array(denominator, "denominator", ndim=np.ndim(denominator))
    if x.shape != y.shape:
        raise ValueError(
            f"numerator and denominator must have the same shape (length), "
            f"got {x.shape} and {y.shape}"
        )
    if x.shape[-1] < 2:
        raise ValueError("numerator must hold at least 2 units along its last axis")
    return {
        "n": x.shape[-1],
        "sum_numerator": x.sum(axis=-1),
        "sum_denominator": y.sum(axis=-1),
        "sum_numerator_squares": (x**2).sum(axis=-1),
        "sum_denominator_squares": (y**2).sum(axis=-1),
        "sum_cross_products": (x * y).sum(axis=-1),
    }


def batch_compare_ratio_metrics(
    control: Mapping[str, Any], treatment: Mapping[str, Any], alpha: float = 0.05
) -> pd.DataFrame:
    """Vectorised ratio-metric comparison for simulations.

    Parameters
    ----------
    control, treatment : mapping
        Keys ``n, sum_numerator, sum_denominator, sum_numerator_squares,
        sum_denominator_squares, sum_cross_products``; values arrays that broadcast.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, se, ci_low, ci_high, p_value`` (a zero se gives the point
        interval and p-value 1 or 0, as the scalar version).

    Raises
    ------
    ValueError
        Naming the arm and key: a missing key, NaN, strings, ``n < 2``, a non-positive
        denominator sum, inconsistent sums, arrays that do not broadcast.
    """
    alpha = check_alpha(alpha)
    ratio_c, var_c = _ratio_arm(*_check_ratio_stats(control, "control"))
    ratio_t, var_t = _ratio_arm(*_check_ratio_stats(treatment, "treatment"))
    r_c, r_t, v_c, v_t = _broadcast(
        {"control": ratio_c, "treatment": ratio_t, "control ": var_c, "treatment ": var_t}
    )
    difference, se = r_t - r_c, np.sqrt(v_c + v_t)
    p_value, low, high = _p_value_and_interval(difference, se, alpha, "two-sided")
    return pd.DataFrame(
        {"estimate": difference, "se": se, "ci_low": low, "ci_high": high, "p_value": p_value}
    )


# ============================================================== bootstrap
def bootstrap_difference(
    y_control: Any,
    y_treatment: Any,
    statistic: Callable[..., Any] = np.mean,
    alpha: float = 0.05,
    method: str = "BCa",
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Bootstrap interval for ``statistic(treatment) - statistic(control)``.

    Resamples each arm independently with :func:`scipy.stats.bootstrap`
    (Efron 1987). ``method="percentile"`` takes quantiles of the bootstrap
    distribution; ``"BCa"`` corrects them for bias and skewness (better for skewed
    metrics such as revenue, or for medians and quantiles); ``"basic"`` reflects them.
    Use it for statistics without a simple standard error; for a difference in means
    Welch's interval is as good and cheaper, and in small samples better: bootstrap
    intervals under-cover there (BCa: about 0.94 for a nominal 0.95 with 40 normal
    observations per arm, where Welch's t interval holds 0.95).

    Parameters
    ----------
    statistic : callable
        ``statistic(sample, axis=-1)`` vectorised over ``axis`` (NumPy reductions are).

    Returns
    -------
    Estimate
        ``method="bootstrap <method>"``; ``se`` is the bootstrap standard error. When
        every bootstrap replicate is the same (e.g. both arms constant) the interval is
        that single value and the se 0, with a :class:`~playbook_lib.PlaybookWarning`.
        When BCa cannot be computed (e.g. a statistic that is constant on the
        jackknife samples) the percentile interval is returned instead, with a
        :class:`~playbook_lib.PlaybookWarning` and ``details["interval"]`` saying so.

    Raises
    ------
    ValueError
        If an arm has fewer than 2 values or holds NaN, infinite or non-numeric values,
        ``statistic`` is not callable or gives a non-finite value on the data, bad
        ``alpha``, ``method``, ``n_resamples`` (an integer >= 100) or ``rng``.
    """
    y_c = as_float_array(y_control, "y_control", min_size=2)
    y_t = as_float_array(y_treatment, "y_treatment", min_size=2)
    if not callable(statistic):
        raise ValueError(f"statistic must be callable, got {statistic!r}")
    alpha = check_alpha(alpha)
    method = check_choice(method, "method", ("BCa", "percentile", "basic"))
    n_resamples = check_integer(n_resamples, "n_resamples", minimum=100)
    rng = check_rng(rng)

    def difference(control: np.ndarray, treatment: np.ndarray, axis: int = -1) -> np.ndarray:
        return statistic(treatment, axis=axis) - statistic(control, axis=axis)

    with np.errstate(all="ignore"):
        point = float(np.asarray(difference(y_c, y_t)).reshape(-1)[0])
    if not math.isfinite(point):
        raise ValueError(f"statistic gives a non-finite difference ({point}) on the data")
    details = {"n_resamples": n_resamples, "n_control": y_c.size, "n_treatment": y_t.size}
    if np.ptp(y_c) == 0 and np.ptp(y_t) == 0:
        # Every resample equals the data: the bootstrap distribution is the point.
        warnings.warn(
            "bootstrap_difference: both arms are constant, so every bootstrap replicate "
            "equals the estimate; the interval is that point and the se is 0",
            PlaybookWarning,
            stacklevel=2,
        )
        return Estimate(
            method=f"bootstrap {method}", estimate=point, se=0.0, ci_low=point,
            ci_high=point, alpha=alpha, details={**details, "interval": method},
        )
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        result = stats.bootstrap(
            (y_c, y_t),
            difference,
            n_resamples=n_resamples,
            confidence_level=1 - alpha,
            method=method,
            vectorized=True,
            paired=False,
            rng=rng,
        )
    for warning in caught:  # pass on what scipy says, except the BCa failure handled below
        if not issubclass(warning.category, RuntimeWarning):
            warnings.warn(warning.message, warning.category, stacklevel=2)
    low, high = (float(end) for end in result.confidence_interval)
    distribution = np.asarray(result.bootstrap_distribution, dtype=float)
    if not np.isfinite(distribution).all():
        raise ValueError("statistic gives non-finite values on bootstrap resamples")
    used = method
    if not (math.isfinite(low) and math.isfinite(high)):
        used = "percentile"
        low, high = (float(q) for q in np.quantile(distribution, [alpha / 2, 1 - alpha / 2]))
        warnings.warn(
            f"bootstrap_difference: the {method} interval is undefined for these data "
            "(degenerate bootstrap or jackknife distribution); returning the percentile "
            "interval",
            PlaybookWarning,
            stacklevel=2,
        )
    se = float(result.standard_error)
    return Estimate(
        method=f"bootstrap {method}",
        estimate=point,
        se=se,
        ci_low=min(low, high),
        ci_high=max(low, high),
        alpha=alpha,
        details={**details, "interval": used},
    )


# ============================================================== regression views
def _frame(data: Any) -> pd.DataFrame:
    check_columns(data, [])
    if len(data) == 0:
        raise ValueError("data has no rows")
    return data


def _column_values(data: pd.DataFrame, column: Any, name: str) -> np.ndarray:
    """``data[column]`` as a finite float array; errors name the argument and the column."""
    if not isinstance(column, str):
        raise ValueError(f"{name} must be a column name (a string), got {column!r}")
    if column not in data.columns:
        raise ValueError(f"{name}: column {column!r} is not in data")
    return column_as_float_array(data, column, name)


def _column_list(columns: Any, name: str) -> list[str]:
    if isinstance(columns, str):
        return [columns]
    try:
        columns = list(columns)
    except TypeError:
        raise ValueError(f"{name} must be a list of column names, got {columns!r}") from None
    bad = [column for column in columns if not isinstance(column, str)]
    if bad:
        raise ValueError(f"{name} must hold column names (strings), got {bad!r}")
    return columns


def _treatment_column(data: pd.DataFrame, treatment: str) -> np.ndarray:
    values = _column_values(data, treatment, "treatment")
    return check_binary(values, f"treatment (column {treatment!r})").astype(float)


def _exact_fit_estimate(
    method: str, estimate: float, y: np.ndarray, alpha: float, df: float, details: dict
) -> Estimate:
    """The se -> 0 answer for an outcome the regression fits exactly (e.g. a constant)."""
    if np.ptp(y) == 0 or abs(estimate) <= 1e-12 * float(np.max(np.abs(y))):
        estimate = 0.0
    warnings.warn(
        "the outcome is fitted exactly (e.g. it is constant), so the standard error is 0: "
        "the interval is the point estimate and p = 1 if it is 0, else 0",
        PlaybookWarning,
        stacklevel=3,
    )
    return Estimate.from_standard_error(
        method, estimate, 0.0, alpha=alpha, df=df if df > 0 else None, details=details
    )


def estimate_regression_effect(
    data: pd.DataFrame,
    outcome: str = "y",
    treatment: str = "treatment",
    covariates: Sequence[str] = (),
    alpha: float = 0.05,
    cov_type: str = "HC2",
) -> Estimate:
    """OLS of the outcome on a treatment dummy (and covariates) with robust standard errors.

    Without covariates the coefficient is exactly the difference in means and its HC2
    standard error is exactly Welch's ``sqrt(s_t^2/n_t + s_c^2/n_c)``
    (MacKinnon & White 1985; Imbens & Rubin 2015). Pre-treatment covariates enter
    centred **and interacted with the treatment** (Lin's estimator): the treatment
    coefficient is then still the average effect, and the adjustment cannot hurt
    asymptotic precision even with unequal arms or heterogeneous effects (Lin 2013);
    without the interactions it can. Reference distribution t with ``n - p`` df
    (statsmodels' ``use_t``).

    Returns
    -------
    Estimate
        ``method="ols <cov_type>"``. An outcome that the regression fits exactly (a
        constant outcome above all) has standard error 0: the estimate is 0 for a
        constant outcome, the interval is the point and p = 1 (0 for a non-zero exact
        effect), with a :class:`~playbook_lib.PlaybookWarning`; statsmodels would
        instead return round-off (e.g. p = 1e-58).

    Raises
    ------
    ValueError
        Naming the argument and column: ``data`` not a DataFrame or empty, missing
        columns, NaN, infinite or non-numeric values, a treatment not coded 0/1 or with
        a single arm, a constant covariate, or a design with no residual degrees of
        freedom.
    """
    data = _frame(data)
    covariates = _column_list(covariates, "covariates")
    alpha = check_alpha(alpha)
    cov_type = check_choice(cov_type, "cov_type", ("HC0", "HC1", "HC2", "HC3", "nonrobust"))
    y = _column_values(data, outcome, "outcome")
    t = _treatment_column(data, treatment)
    columns = [np.ones_like(y), t]
    for name in covariates:
        x = _column_values(data, name, "covariates")
        check_not_constant(x, f"covariates: column {name!r}")
        centred = x - x.mean()
        columns.extend([centred, t * centred])
    design = np.column_stack(columns)
    check_regression_design(design, "data", cov_type)
    details = {"n": y.size, "covariates": len(covariates)}
    method = f"ols {cov_type}"
    df_resid = float(y.size - design.shape[1])
    if np.ptp(y) == 0:
        return _exact_fit_estimate(method, 0.0, y, alpha, df_resid, details)
    import statsmodels.api as sm

    fit = sm.OLS(y, design).fit(cov_type=cov_type, use_t=True)
    centred_y = y - y.mean()
    if fit.ssr <= 1e-24 * float(centred_y @ centred_y):
        return _exact_fit_estimate(method, float(fit.params[1]), y, alpha, df_resid, details)
    low, high = fit.conf_int(alpha=alpha)[1]
    return Estimate(
        method=method,
        estimate=float(fit.params[1]),
        se=float(fit.bse[1]),
        ci_low=float(low),
        ci_high=float(high),
        alpha=alpha,
        p_value=float(fit.pvalues[1]),
        df=float(fit.df_resid),
        details=details,
    )


def _label_column(data: pd.DataFrame, column: Any, name: str) -> pd.Series:
    """A column of labels (strata, fixed effects) without missing or infinite values."""
    if not isinstance(column, str):
        raise ValueError(f"{name} must be a column name (a string), got {column!r}")
    if column not in data.columns:
        raise ValueError(f"{name}: column {column!r} is not in data")
    labels = data[column]
    missing = int(labels.isna().sum())
    if missing:
        raise ValueError(
            f"{name}: column {column!r} has {missing} missing value(s); every row needs "
            "a label (give missing values their own label if they form a group)"
        )
    if labels.dtype.kind == "f" and np.isinf(labels.to_numpy()).any():
        raise ValueError(f"{name}: column {column!r} has infinite values")
    return labels


def estimate_logistic_effect(
    data: pd.DataFrame,
    outcome: str = "converted",
    treatment: str = "treatment",
    fixed_effects: Sequence[str] = (),
    alpha: float = 0.05,
) -> Estimate:
    """Logistic GLM (with optional fixed effects, e.g. day) as a robustness check.

    The treatment coefficient of a logit is a **log-odds ratio**, not a difference in
    probabilities; comparing it with the z-test's difference is a unit error. This
    returns the effect on the probability scale: the average over users of
    ``P(Y=1 | T=1, x) - P(Y=1 | T=0, x)`` (standardisation / average marginal effect),
    with a delta-method standard error from the GLM's covariance. The log-odds
    coefficient, its standard error and the odds ratio are in ``details``.

    Raises
    ------
    ValueError
        Naming the argument and column: missing columns, NaN, outcome not 0/1,
        treatment not 0/1 or a single arm, missing fixed-effect labels, or an outcome
        that is constant within an arm (the logit's maximum likelihood estimate does not
        exist; use :func:`compare_proportions` with ``interval="agresti-caffo"``).
    """
    data = _frame(data)
    fixed_effects = _column_list(fixed_effects, "fixed_effects")
    alpha = check_alpha(alpha)
    y = _column_values(data, outcome, "outcome")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"outcome: column {outcome!r} must contain only 0 and 1")
    t = _treatment_column(data, treatment)
    for arm, label in ((0.0, "control"), (1.0, "treatment")):
        if np.ptp(y[t == arm]) == 0:
            raise ValueError(
                f"outcome: column {outcome!r} is constant in the {label} arm, so the "
                "logit's estimate does not exist; use compare_proportions with "
                "interval='agresti-caffo'"
            )
    labels = [_label_column(data, column, "fixed_effects") for column in fixed_effects]
    design = pd.DataFrame({"const": 1.0, "treatment": t})
    if fixed_effects:
        dummies = pd.get_dummies(
            pd.concat(labels, axis=1).astype("category"), drop_first=True, dtype=float
        )
        design = pd.concat([design, dummies.set_axis(design.index)], axis=1)
    import statsmodels.api as sm

    x = design.to_numpy(dtype=float)
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError("fixed_effects are collinear with the treatment")
    fit = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    p1, p0 = special.expit(x1 @ fit.params), special.expit(x0 @ fit.params)
    effect = float(np.mean(p1 - p0))
    gradient = ((p1 * (1 - p1))[:, None] * x1 - (p0 * (1 - p0))[:, None] * x0).mean(axis=0)
    se = float(np.sqrt(max(float(gradient @ fit.cov_params() @ gradient), 0.0)))
    p_value, low, high = _p_value_and_interval(
        np.array([effect]), np.array([se]), alpha, "two-sided"
    )
    log_odds, log_odds_se = float(fit.params[1]), float(fit.bse[1])
    return Estimate(
        method="logistic standardised difference",
        estimate=effect,
        se=se,
        ci_low=float(low[0]),
        ci_high=float(high[0]),
        alpha=alpha,
        p_value=float(p_value[0]),
        details={
            "log_odds_ratio": log_odds,
            "log_odds_ratio_se": log_odds_se,
            "odds_ratio": math.exp(log_odds),
            "fixed_effects": ",".join(fixed_effects),
        },
    )


def estimate_stratified_effect(
    data: pd.DataFrame,
    outcome: str = "y",
    treatment: str = "treatment",
    stratum: str = "stratum",
    alpha: float = 0.05,
) -> Estimate:
    """Stratified (post-stratified) ATE: stratum differences weighted by stratum size.

    ``tau = sum_s w_s (mean_t,s - mean_c,s)`` with ``w_s = n_s / n`` and
    ``Var = sum_s w_s^2 (s_t,s^2 / n_t,s + s_c,s^2 / n_c,s)`` (Neyman, conditional on
    the strata sizes) (Imbens & Rubin 2015; Miratrix, Sekhon & Yu 2013).
    Normal reference (each stratum should hold a few dozen units per arm).

    Returns
    -------
    Estimate
        ``method="stratified"``; ``details["strata"]`` is the number of strata. An
        outcome constant within every stratum and arm has se 0: the interval is the
        point and p is 1 for a zero estimate and 0 otherwise, with a
        :class:`~playbook_lib.PlaybookWarning`.

    Raises
    ------
    ValueError
        Naming the argument and column: missing columns, NaN, treatment not 0/1, rows
        whose stratum is missing (every row must belong to a stratum; they are never
        dropped), or a stratum with fewer than two units in an arm.
    """
    data = _frame(data)
    alpha = check_alpha(alpha)
    y = _column_values(data, outcome, "outcome")
    t = _treatment_column(data, treatment)
    labels = _label_column(data, stratum, "stratum")
    frame = pd.DataFrame({"y": y, "t": t, "s": labels.to_numpy()})
    grouped = frame.groupby(["s", "t"], observed=True)["y"].agg(["size", "mean", "var"])
    table = grouped.unstack("t")
    if int(table["size"].sum().sum()) != y.size:
        raise ValueError(f"stratum: column {stratum!r} has labels that cannot be grouped")
    if table.isna().any().any() or (table["size"] < 2).any().any():
        raise ValueError("stratum: every stratum needs at least two units in each arm")
    sizes = table["size"][0.0] + table["size"][1.0]
    weights = sizes / sizes.sum()
    differences = table["mean"][1.0] - table["mean"][0.0]
    variances = table["var"][1.0] / table["size"][1.0] + table["var"][0.0] / table["size"][0.0]
    effect = float(np.sum(weights * differences))
    se = float(np.sqrt(np.sum(weights**2 * variances)))
    if se == 0:
        warn_point_interval("estimate_stratified_effect: the outcome is constant within cells")
    p_value, low, high = _p_value_and_interval(
        np.array([effect]), np.array([se]), alpha, "two-sided"
    )
    return Estimate(
        method="stratified",
        estimate=effect,
        se=se,
        ci_low=float(low[0]),
        ci_high=float(high[0]),
        alpha=alpha,
        p_value=float(p_value[0]),
        details={"strata": int(sizes.size), "n": int(sizes.sum())},
    )


# ============================================================== power and sample size
_SAMPLE_SIZE_METHODS = ("pooled-unpooled", "cohen-h", "pooled", "unpooled")


def sample_size_proportions(
    p_control: float,
    p_treatment: float,
    alpha: float = 0.05,
    power: float = 0.8,
    method: str = "pooled-unpooled",
) -> float:
    """Users per arm (equal arms, two-sided) to detect ``p_control`` vs ``p_treatment``.

    Methods (all normal approximations; they differ in the variance they plug in):

    ``"pooled-unpooled"`` (the book's default)
        ``n = (z_{1-a/2} sqrt(2 pbar qbar) + z_{power} sqrt(p_c q_c + p_t q_t))^2 / d^2``:
        pooled variance under the null, unpooled under the alternative; this is the
        power of the pooled z-test the book recommends. Equals
        :func:`statsmodels.stats.proportion.samplesize_proportions_2indep_onetail`.
    ``"cohen-h"``
        Cohen's arcsine effect size ``h = 2 asin sqrt(p_t) - 2 asin sqrt(p_c)``, ``n =
        ((z_{1-a/2} + z_{power}) / h)^2`` (Cohen 1988); equals
        ``NormalIndPower().solve_power(proportion_effectsize(...))``.
    ``"pooled"``, ``"unpooled"``
        ``(z_{1-a/2} + z_{power})^2 V / d^2`` with ``V = 2 pbar qbar`` or
        ``p_c q_c + p_t q_t``.

    Returns
    -------
    float
        The unrounded size; round **up** (``math.ceil``) to plan.

    Raises
    ------
    ValueError
        If a probability is outside (0, 1), they are equal, or bad ``alpha``/``power``/
        ``method``.
    """
    p_c = check_probability(p_control, "p_control", allow_zero=False, allow_one=False)
    p_t = check_probability(p_treatment, "p_treatment", allow_zero=False, allow_one=False)
    if p_c == p_t:
        raise ValueError("p_treatment must differ from p_control")
    alpha = check_alpha(alpha)
    power = check_probability(power, "power", allow_zero=False, allow_one=False)
    method = check_choice(method, "method", _SAMPLE_SIZE_METHODS)
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import (
        proportion_effectsize,
        samplesize_proportions_2indep_onetail,
    )

    if method == "pooled-unpooled":
        return float(
            samplesize_proportions_2indep_onetail(
                p_t - p_c, p_c, power, ratio=1, alpha=alpha, alternative="two-sided"
            )
        )
    if method == "cohen-h":
        effect = proportion_effectsize(p_t, p_c)
        return float(
            NormalIndPower().solve_power(effect_size=abs(effect), alpha=alpha, power=power, ratio=1)
        )
    z_sum = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    p_bar = (p_c + p_t) / 2
    variance = 2 * p_bar * (1 - p_bar) if method == "pooled" else p_c * (1 - p_c) + p_t * (1 - p_t)
    return float(z_sum**2 * variance / (p_t - p_c) ** 2)


def power_proportions(
    p_control: float, p_treatment: float, n_per_arm: float, alpha: float = 0.05
) -> float:
    """Power of the two-sided pooled two-proportion z-test with ``n_per_arm`` per arm.

    Uses :func:`statsmodels.stats.proportion.power_proportions_2indep` (pooled variance
    under the null, unpooled under the alternative).

    Raises
    ------
    ValueError
        Bad probabilities, ``n_per_arm < 2`` or bad ``alpha``.
    """
    p_c = check_probability(p_control, "p_control", allow_zero=False, allow_one=False)
    p_t = check_probability(p_treatment, "p_treatment", allow_zero=False, allow_one=False)
    n = check_positive(n_per_arm, "n_per_arm")
    if n < 2:
        raise ValueError("n_per_arm must be at least 2")
    alpha = check_alpha(alpha)
    from statsmodels.stats.proportion import power_proportions_2indep

    return float(power_proportions_2indep(p_t - p_c, p_c, n, ratio=1, alpha=alpha).power)


def minimum_detectable_effect_proportions(
    p_control: float, n_per_arm: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest absolute increase over ``p_control`` detected with the given power.

    Solves :func:`power_proportions` ``= power`` for ``p_treatment > p_control``.

    Raises
    ------
    ValueError
        Bad inputs, or if even ``p_treatment`` near 1 cannot reach the power.
    """
    p_c = check_probability(p_control, "p_control", allow_zero=False, allow_one=False)
    power = check_probability(power, "power", allow_zero=False, allow_one=False)
    check_positive(n_per_arm, "n_per_arm")
    alpha = check_alpha(alpha)
    upper = 1 - 1e-9
    if power_proportions(p_c, upper, n_per_arm, alpha) < power:
        raise ValueError("n_per_arm is too small to reach that power at any effect")
    p_t = optimize.brentq(
        lambda p: power_proportions(p_c, p, n_per_arm, alpha) - power,
        p_c + 1e-12,
        upper,
        xtol=1e-12,
    )
    return float(p_t - p_c)


def sample_size_means(effect: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Units per arm for a two-sided two-sample t-test to detect a mean difference ``effect``.

    Uses :class:`statsmodels.stats.power.TTestIndPower` with effect size ``effect / sd``
    (t distribution, so small samples are handled). Returns the unrounded size.

    Raises
    ------
    ValueError
        If ``effect`` is zero, ``sd`` not positive, or bad ``alpha``/``power``.
    """
    effect = check_finite_number(effect, "effect")
    if effect == 0:
        raise ValueError("effect must be non-zero")
    sd = check_positive(sd, "sd")
    alpha = check_alpha(alpha)
    power = check_probability(power, "power", allow_zero=False, allow_one=False)
    from statsmodels.stats.power import TTestIndPower

    return float(
        TTestIndPower().solve_power(effect_size=abs(effect) / sd, alpha=alpha, power=power)
    )


def power_means(effect: float, sd: float, n_per_arm: float, alpha: float = 0.05) -> float:
    """Power of the two-sided two-sample t-test (statsmodels ``TTestIndPower``).

    Raises
    ------
    ValueError
        If ``sd`` is not positive, ``n_per_arm < 2`` or bad ``alpha``.
    """
    effect = check_finite_number(effect, "effect")
    sd = check_positive(sd, "sd")
    n = check_positive(n_per_arm, "n_per_arm")
    if n < 2:
        raise ValueError("n_per_arm must be at least 2")
    alpha = check_alpha(alpha)
    from statsmodels.stats.power import TTestIndPower

    return float(TTestIndPower().power(effect_size=abs(effect) / sd, nobs1=n, alpha=alpha))


def minimum_detectable_effect_means(
    sd: float, n_per_arm: float, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest mean difference detected with the given power (``TTestIndPower``).

    The result is in the metric's units (those of ``sd``).

    Raises
    ------
    ValueError
        If ``sd`` is not positive, ``n_per_arm < 2`` or bad ``alpha``/``power``.
    """
    sd = check_positive(sd, "sd")
    n = check_positive(n_per_arm, "n_per_arm")
    if n < 2:
        raise ValueError("n_per_arm must be at least 2")
    alpha = check_alpha(alpha)
    power = check_probability(power, "power", allow_zero=False, allow_one=False)
    from statsmodels.stats.power import TTestIndPower

    return float(TTestIndPower().solve_power(nobs1=n, alpha=alpha, power=power) * sd)


def _rejection_rate(reject: np.ndarray, alpha: float, method: str, details: dict) -> Estimate:
    n_sims = reject.size
    rate = float(reject.mean())
    se = math.sqrt(max(rate * (1 - rate), 1e-12) / n_sims)
    z = stats.norm.ppf(1 - alpha / 2)
    return Estimate(
        method=method,
        estimate=rate,
        se=se,
        ci_low=max(rate - z * se, 0.0),
        ci_high=min(rate + z * se, 1.0),
        alpha=alpha,
        details={"n_sims": n_sims, **details},
    )


def simulate_power_proportions(
    p_control: float,
    p_treatment: float,
    n_per_arm: int,
    alpha: float = 0.05,
    n_sims: int = 10_000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Power of the pooled two-proportion z-test by vectorised simulation.

    Draws ``n_sims`` binomial counts per arm at once and applies the test; with
    ``p_treatment == p_control`` it estimates the type-I error.

    Returns
    -------
    Estimate
        ``method="simulated power"``: the rejection rate, its Monte Carlo standard error
        and a normal interval (``alpha`` is reused for the Monte Carlo interval).
    """
    p_c = check_probability(p_control, "p_control")
    p_t = check_probability(p_treatment, "p_treatment")
    n = check_integer(n_per_arm, "n_per_arm", minimum=2)
    alpha = check_alpha(alpha)
    n_sims = check_integer(n_sims, "n_sims", minimum=10)
    rng = check_rng(rng)
    successes_c = rng.binomial(n, p_c, size=n_sims)
    successes_t = rng.binomial(n, p_t, size=n_sims)
    p_values = _proportions_core(
        successes_c.astype(float),
        float(n),
        successes_t.astype(float),
        float(n),
        alpha,
        "two-sided",
        "wald",
    )["p_value"]
    return _rejection_rate(p_values < alpha, alpha, "simulated power", {"n_per_arm": n})


def simulate_power_means(
    effect: float,
    sd: float,
    n_per_arm: int,
    alpha: float = 0.05,
    n_sims: int = 10_000,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """Power of Welch's t-test for normal outcomes by vectorised simulation.

    Uses the exact sampling distributions of the arm mean (normal) and sample variance
    (scaled chi-square) instead of drawing every row, so any ``n_per_arm`` is cheap.
    """
    effect = check_finite_number(effect, "effect")
    sd = check_positive(sd, "sd")
    n = check_integer(n_per_arm, "n_per_arm", minimum=2)
    alpha = check_alpha(alpha)
    n_sims = check_integer(n_sims, "n_sims", minimum=10)
    rng = check_rng(rng)
    mean_c = rng.normal(0.0, sd / math.sqrt(n), size=n_sims)
    mean_t = rng.normal(effect, sd / math.sqrt(n), size=n_sims)
    var_c = sd**2 * rng.chisquare(n - 1, size=n_sims) / (n - 1)
    var_t = sd**2 * rng.chisquare(n - 1, size=n_sims) / (n - 1)
    out = _welch_core(float(n), mean_c, var_c, float(n), mean_t, var_t, alpha, "two-sided")
    return _rejection_rate(out["p_value"] < alpha, alpha, "simulated power", {"n_per_arm": n})


# ============================================================== several metrics
def adjust_p_values(
    p_values: Sequence[float] | Mapping[str, float] | pd.Series,
    method: str = "holm",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Multiplicity-adjusted p-values via :func:`statsmodels.stats.multitest.multipletests`.

    ``"holm"`` controls the family-wise error rate (Holm 1979); ``"fdr_bh"``
    the false discovery rate (Benjamini & Hochberg 1995); ``"bonferroni"`` is
    offered for comparison. Results keep the input's order and labels.

    Returns
    -------
    pandas.DataFrame
        Index: the labels (or 0..m-1); columns ``p_value``, ``adjusted_p_value`` (capped
        at 1), ``reject`` (adjusted p-value < ``alpha``).

    Raises
    ------
    ValueError
        If empty, NaN, values outside [0, 1], or bad ``method``/``alpha``.
    """
    if isinstance(p_values, pd.Series):
        labels, values = list(p_values.index), p_values.to_numpy()
    elif isinstance(p_values, Mapping):
        labels, values = list(p_values.keys()), list(p_values.values())
    elif isinstance(p_values, str | bytes):
        raise ValueError(f"p_values must be numbers, got the string {p_values!r}")
    else:
        try:
            values = list(p_values)
        except TypeError:
            raise ValueError(
                f"p_values must be a sequence, mapping or Series of numbers, got {p_values!r}"
            ) from None
        labels = list(range(len(values)))
    array = as_float_array(values, "p_values")
    if ((array < 0) | (array > 1)).any():
        raise ValueError("p_values must lie in [0, 1]")
    method = check_choice(method, "method", ("holm", "fdr_bh", "bonferroni"))
    alpha = check_alpha(alpha)
    from statsmodels.stats.multitest import multipletests

    reject, adjusted, _, _ = multipletests(array, alpha=alpha, method=method)
    return pd.DataFrame(
        {"p_value": array, "adjusted_p_value": adjusted, "reject": reject},
        index=pd.Index(labels, name="metric"),
    )


# ============================================================== Bayesian view
def _beta_parameters(
    successes_control: int,
    n_control: int,
    successes_treatment: int,
    n_treatment: int,
    prior_alpha: float,
    prior_beta: float,
) -> tuple[float, float, float, float]:
    s_c, n_c = check_counts(successes_control, n_control, "successes_control", "n_control")
    s_t, n_t = check_counts(successes_treatment, n_treatment, "successes_treatment", "n_treatment")
    a0 = check_positive(prior_alpha, "prior_alpha")
    b0 = check_positive(prior_beta, "prior_beta")
    return a0 + s_c, b0 + n_c - s_c, a0 + s_t, b0 + n_t - s_t


_GAUSS_NODES, _GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(20)


def _difference_cdf(value: float, a_c: float, b_c: float, a_t: float, b_t: float) -> float:
    """P(p_t - p_c <= value) = integral of f_c(x) F_t(x + value) dx over the control posterior.

    Composite Gauss-Legendre quadrature (64 panels x 20 nodes) over the central
    ``1 - 2e-13`` of the control posterior when its density is bounded (both parameters
    >= 1); otherwise adaptive :func:`scipy.integrate.quad`, which copes with the
    integrable singularity at 0 or 1.
    """
    control = stats.beta(a_c, b_c)
    treatment = stats.beta(a_t, b_t)
    low, high = control.ppf(1e-13), control.isf(1e-13)
    if a_c >= 1 and b_c >= 1:
        edges = np.linspace(low, high, 65)
        half = np.diff(edges)[:, None] / 2
        x = (edges[:-1, None] + half) + half * _GAUSS_NODES[None, :]
        values = control.pdf(x) * treatment.cdf(np.clip(x + value, 0.0, 1.0))
        result = float(np.sum(half * _GAUSS_WEIGHTS[None, :] * values))
    else:

        def integrand(x: float) -> float:
            return control.pdf(x) * treatment.cdf(min(max(x + value, 0.0), 1.0))

        points = [control.ppf(q) for q in (1e-4, 0.05, 0.5, 0.95, 1 - 1e-4)]
        result, _ = integrate.quad(integrand, low, high, points=points, limit=200, epsabs=1e-13)
    return float(min(max(result, 0.0), 1.0))


def probability_treatment_better(
    successes_control: int,
    n_control: int,
    successes_treatment: int,
    n_treatment: int,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
) -> float:
    """Posterior ``P(p_treatment > p_control)`` under independent Beta priors, exactly.

    With a ``Beta(prior_alpha, prior_beta)`` prior per arm the posteriors are
    ``Beta(prior_alpha + successes, prior_beta + failures)`` and
    ``P(p_t > p_c) = 1 - integral f_c(x) F_t(x) dx``, computed by 1-D quadrature over
    the control posterior's support (composite Gauss-Legendre, or adaptive
    :func:`scipy.integrate.quad` when the control density is unbounded)
    (Gelman et al. 2013). No Monte Carlo error: it agrees with the closed-form sum for
    integer parameters (Miller's formula) to about 1e-9 in absolute terms.

    It is a probability about the **parameters given this model and prior**, not the
    probability that shipping is a good decision, nor a p-value.

    Raises
    ------
    ValueError
        Naming the argument for counts above ``n``, negative or non-integer, ``n < 1``,
        or non-positive prior parameters.
    """
    a_c, b_c, a_t, b_t = _beta_parameters(
        successes_control, n_control, successes_treatment, n_treatment, prior_alpha, prior_beta
    )
    return 1.0 - _difference_cdf(0.0, a_c, b_c, a_t, b_t)


def estimate_beta_binomial(
    successes_control: int,
    n_control: int,
    successes_treatment: int,
    n_treatment: int,
    prior_alpha: float = 1.0,
    prior_beta: float = 1.0,
    alpha: float = 0.05,
) -> Estimate:
    """Beta-Binomial posterior summary of ``p_treatment - p_control``.

    Returns
    -------
    Estimate
        ``method="beta-binomial"``: posterior mean and standard deviation of the
        difference (exact), an equal-tailed ``1 - alpha`` credible interval from the exact
        posterior CDF of the difference (1-D quadrature, root-finding), and
        ``details["probability_treatment_better"]``.

    Raises
    ------
    ValueError
        As :func:`probability_treatment_better`.
    """
    alpha = check_alpha(alpha)
    a_c, b_c, a_t, b_t = _beta_parameters(
        successes_control, n_control, successes_treatment, n_treatment, prior_alpha, prior_beta
    )
    control, treatment = stats.beta(a_c, b_c), stats.beta(a_t, b_t)
    mean = float(treatment.mean() - control.mean())
    sd = float(math.sqrt(treatment.var() + control.var()))

    def quantile(q: float) -> float:
        low, high = mean - 12 * sd, mean + 12 * sd
        low, high = max(low, -1.0), min(high, 1.0)
        return float(
            optimize.brentq(
                lambda d: _difference_cdf(d, a_c, b_c, a_t, b_t) - q, low, high, xtol=1e-10
            )
        )

    return Estimate(
        method="beta-binomial",
        estimate=mean,
        se=sd,
        ci_low=quantile(alpha / 2),
        ci_high=quantile(1 - alpha / 2),
        alpha=alpha,
        details={
            "probability_treatment_better": 1.0 - _difference_cdf(0.0, a_c, b_c, a_t, b_t),
            "posterior_control": (a_c, b_c),
            "posterior_treatment": (a_t, b_t),
        },
    )
