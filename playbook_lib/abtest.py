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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_choice,
    check_columns,
    check_counts,
    check_finite_number,
    check_integer,
    check_not_constant,
    check_positive,
    check_probability,
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
    A zero standard error gives ``nan`` statistics (callers reject that input earlier).
    """
    distribution = stats.norm if df is None else stats.t(df)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = estimate / se
    if alternative == "two-sided":
        p_value = 2.0 * distribution.sf(np.abs(statistic))
        critical = distribution.ppf(1.0 - alpha / 2.0)
        low, high = estimate - critical * se, estimate + critical * se
    elif alternative == "larger":
        p_value = distribution.sf(statistic)
        critical = distribution.ppf(1.0 - alpha)
        low, high = estimate - critical * se, np.full_like(estimate, np.inf)
    else:
        p_value = distribution.cdf(statistic)
        critical = distribution.ppf(1.0 - alpha)
        low, high = np.full_like(estimate, -np.inf), estimate + critical * se
    return np.clip(p_value, 0.0, 1.0), low, high


def _scalar(values: Any) -> float:
    return float(np.asarray(values).reshape(-1)[0])


def _as_binary_array(values: Any, name: str) -> np.ndarray:
    array = as_float_array(values, name)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValueError(f"{name} must contain only 0 and 1")
    return array


def _check_count_array(values: Any, name: str, *, minimum: int = 0) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if np.isnan(array).any() or np.isinf(array).any():
        raise ValueError(f"{name} contains NaN or infinite values")
    if (array != np.round(array)).any():
        raise ValueError(f"{name} must contain whole numbers")
    if (array < minimum).any():
        raise ValueError(f"{name} must be at least {minimum}")
    return array


# ============================================================== assignment
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
        If ``salt`` is not a non-empty string or ``unit_ids`` is empty.
    """
    if not isinstance(salt, str) or not salt:
        raise ValueError("salt must be a non-empty string")
    ids = list(unit_ids)
    if not ids:
        raise ValueError("unit_ids must not be empty")
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
        Planned shares of enrolled units (normalised to sum to one); equal by default.
        Shares are realised in units of ``1 / n_buckets``.
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
        raise ValueError("experiment_id must be a non-empty string")
    arms = list(arms)
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise ValueError("arms must hold at least two distinct labels")
    if weights is None:
        weights_array = np.full(len(arms), 1.0 / len(arms))
    else:
        weights_array = as_float_array(weights, "weights")
        if weights_array.size != len(arms) or (weights_array <= 0).any():
            raise ValueError("weights must be positive, one per arm")
        weights_array = weights_array / weights_array.sum()
    traffic_fraction = check_probability(traffic_fraction, "traffic_fraction", allow_zero=False)
    n_buckets = check_integer(n_buckets, "n_buckets", minimum=2)
    ids = list(unit_ids)
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
        raise ValueError("n_treated must be smaller than n_units")
    rng = np.random.default_rng(rng)
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
    labels = pd.factorize(pd.Series(list(strata), dtype=object))[0]
    if labels.size == 0:
        raise ValueError("strata must not be empty")
    if (labels < 0).any():
        raise ValueError("strata contains missing values")
    sizes = np.bincount(labels)
    if (sizes < 2).any():
        raise ValueError("strata: every stratum needs at least two units")
    rng = np.random.default_rng(rng)
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
    with np.errstate(divide="ignore", invalid="ignore"):
        z = difference / se_pooled
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
    return {
        "estimate": difference,
        "se": se,
        "ci_low": low,
        "ci_high": high,
        "p_value": np.where(se_pooled > 0, p_value, 1.0),
        "z": z,
    }


def _check_proportion_stats(
    successes_control: Any, n_control: Any, successes_treatment: Any, n_treatment: Any
) -> tuple[np.ndarray, ...]:
    s_c = _check_count_array(successes_control, "successes_control")
    n_c = _check_count_array(n_control, "n_control", minimum=1)
    s_t = _check_count_array(successes_treatment, "successes_treatment")
    n_t = _check_count_array(n_treatment, "n_treatment", minimum=1)
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

    Parameters
    ----------
    successes_control, n_control, successes_treatment, n_treatment : int
        Counts per arm; ``0 <= successes <= n`` and ``n >= 1``.
    alpha : float
        One minus the interval's coverage (and the test's level).
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: the treatment proportion is larger. One-sided alternatives give a
        one-sided interval.
    interval : {"wald", "agresti-caffo"}

    Returns
    -------
    Estimate
        ``method="two-proportion z"``; ``se`` is the unpooled standard error; details hold
        both proportions, arm sizes, the z statistic and the pooled standard error.

    Raises
    ------
    ValueError
        Naming the argument for counts that are not whole numbers, negative, above ``n``,
        or ``n < 1``; bad ``alpha``, ``alternative`` or ``interval``; or when both arms
        have the same proportion 0 or 1 (the test is undefined).
    """
    s_c, n_c, s_t, n_t = _check_proportion_stats(
        successes_control, n_control, successes_treatment, n_treatment
    )
    alpha = check_alpha(alpha)
    alternative = _check_alternative(alternative)
    interval = check_choice(interval, "interval", ("wald", "agresti-caffo"))
    pooled = (s_c + s_t) / (n_c + n_t)
    if np.any((pooled == 0) | (pooled == 1)):
        raise ValueError(
            "successes_control and successes_treatment are all 0 or all n: zero variance"
        )
    out = _proportions_core(s_c, n_c, s_t, n_t, alpha, alternative, interval)
    return Estimate(
        method="two-proportion z",
        estimate=_scalar(out["estimate"]),
        se=_scalar(out["se"]),
        ci_low=_scalar(out["ci_low"]),
        ci_high=_scalar(out["ci_high"]),
        alpha=alpha,
        p_value=_scalar(out["p_value"]),
        details={
            "p_control": _scalar(s_c / n_c),
            "p_treatment": _scalar(s_t / n_t),
            "n_control": int(_scalar(n_c)),
            "n_treatment": int(_scalar(n_t)),
            "z": _scalar(out["z"]),
            "se_pooled": _scalar(np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))),
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
        simulation where both arms are all 0 or all 1 gets ``p_value = 1``.
    """
    s_c, n_c, s_t, n_t = (
        np.atleast_1d(a).astype(float)
        for a in _check_proportion_stats(
            successes_control, n_control, successes_treatment, n_treatment
        )
    )
    s_c, n_c, s_t, n_t = np.broadcast_arrays(s_c, n_c, s_t, n_t)
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
    v_c, v_t = var_c / n_c, var_t / n_t
    se = np.sqrt(v_c + v_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (v_c + v_t) ** 2 / (v_c**2 / (n_c - 1) + v_t**2 / (n_t - 1))
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
    """Mean and sample variance (``ddof=1``) from size, sum and sum of squares."""
    mean = total / n
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (sum_squares - n * mean**2) / (n - 1)
    # Guard against round-off producing tiny negative variances.
    variance = np.where(variance < 0, 0.0, variance)
    return mean, variance


def _check_mean_stats(n: Any, total: Any, sum_squares: Any, suffix: str):
    n_array = _check_count_array(n, f"n_{suffix}", minimum=2)
    total_array = np.asarray(total, dtype=float)
    squares = np.asarray(sum_squares, dtype=float)
    for name, array in ((f"sum_{suffix}", total_array), (f"sum_squares_{suffix}", squares)):
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    if (squares < 0).any():
        raise ValueError(f"sum_squares_{suffix} must be non-negative")
    # Cauchy-Schwarz: sum^2 <= n * sum of squares (small relative tolerance).
    if (total_array**2 > n_array * squares * (1 + 1e-9) + 1e-12).any():
        raise ValueError(f"sum_squares_{suffix} is too small for sum_{suffix} and n_{suffix}")
    return n_array, total_array, squares


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

    Returns
    -------
    Estimate
        ``method="welch"``, ``df`` the Welch df; details hold the arm means, variances
        and sizes.

    Raises
    ------
    ValueError
        Naming the argument: an arm with fewer than 2 units, NaN, inconsistent sums
        (``sum**2 > n * sum_squares``), or zero variance in both arms.
    """
    n_c, s_c, q_c = _check_mean_stats(n_control, sum_control, sum_squares_control, "control")
    n_t, s_t, q_t = _check_mean_stats(
        n_treatment, sum_treatment, sum_squares_treatment, "treatment"
    )
    alpha = check_alpha(alpha)
    alternative = _check_alternative(alternative)
    mean_c, var_c = _moments_from_stats(n_c, s_c, q_c)
    mean_t, var_t = _moments_from_stats(n_t, s_t, q_t)
    if np.all(var_c + var_t <= 0):
        raise ValueError("sum_squares_control and sum_squares_treatment imply zero variance")
    out = _welch_core(n_c, mean_c, var_c, n_t, mean_t, var_t, alpha, alternative)
    return Estimate(
        method="welch",
        estimate=_scalar(out["estimate"]),
        se=_scalar(out["se"]),
        ci_low=_scalar(out["ci_low"]),
        ci_high=_scalar(out["ci_high"]),
        alpha=alpha,
        p_value=_scalar(out["p_value"]),
        df=_scalar(out["df"]),
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


def _arm_stats(values: Any, name: str) -> tuple[int, float, float]:
    array = as_float_array(values, name, min_size=2)
    return array.size, float(array.sum()), float(np.sum(array**2))


def compare_means(
    y_control: Any, y_treatment: Any, alpha: float = 0.05, alternative: str = "two-sided"
) -> Estimate:
    """Welch's t-test from rows; same answer as :func:`compare_means_from_stats`.

    Computed from centred data (numerically safer than raw sums of squares).

    Raises
    ------
    ValueError
        If an arm has fewer than 2 values, contains NaN, or both arms are constant.
    """
    y_c = as_float_array(y_control, "y_control", min_size=2)
    y_t = as_float_array(y_treatment, "y_treatment", min_size=2)
    if np.ptp(y_c) == 0 and np.ptp(y_t) == 0:
        raise ValueError("y_control and y_treatment are both constant (zero variance)")
    # Shift by a common constant before summing: the effect is shift-invariant and the
    # sums of squares stay well conditioned.
    centre = float(np.mean(y_c))
    result = compare_means_from_stats(
        *_arm_stats(y_c - centre, "y_control"),
        *_arm_stats(y_t - centre, "y_treatment"),
        alpha=alpha,
        alternative=alternative,
    )
    details = dict(result.details)
    details["mean_control"] += centre
    details["mean_treatment"] += centre
    return replace(result, details=details)


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
        Columns ``estimate, se, ci_low, ci_high, p_value, df``.
    """
    n_c, s_c, q_c = _check_mean_stats(n_control, sum_control, sum_squares_control, "control")
    n_t, s_t, q_t = _check_mean_stats(
        n_treatment, sum_treatment, sum_squares_treatment, "treatment"
    )
    arrays = np.broadcast_arrays(
        *(np.atleast_1d(a).astype(float) for a in (n_c, s_c, q_c, n_t, s_t, q_t))
    )
    mean_c, var_c = _moments_from_stats(arrays[0], arrays[1], arrays[2])
    mean_t, var_t = _moments_from_stats(arrays[3], arrays[4], arrays[5])
    out = _welch_core(
        arrays[0],
        mean_c,
        var_c,
        arrays[3],
        mean_t,
        var_t,
        check_alpha(alpha),
        _check_alternative(alternative),
    )
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
    """Relative lift ``mean_t / mean_c - 1`` of two independent means (normal reference)."""
    with np.errstate(divide="ignore", invalid="ignore"):
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
        discriminant = b**2 - a * c
        bounded = (a > 0) & (discriminant >= 0)
        root = np.sqrt(np.where(bounded, discriminant, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            low = np.where(bounded, (b - root) / a, -np.inf)
            high = np.where(bounded, (b + root) / a, np.inf)
    with np.errstate(invalid="ignore"):
        p_value = 2 * stats.norm.sf(np.abs((mean_t - mean_c) / np.sqrt(var_mean_c + var_mean_t)))
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
        delta-method standard error; the p-value is that of the absolute difference.

    Raises
    ------
    ValueError
        As :func:`compare_means_from_stats`, plus a control mean of zero and bad ``method``.
    """
    method = _check_relative_method(method)
    alpha = check_alpha(alpha)
    if sum_squares_control is None:
        sum_squares_control = sum_control
    if sum_squares_treatment is None:
        sum_squares_treatment = sum_treatment
    n_c, s_c, q_c = _check_mean_stats(n_control, sum_control, sum_squares_control, "control")
    n_t, s_t, q_t = _check_mean_stats(
        n_treatment, sum_treatment, sum_squares_treatment, "treatment"
    )
    mean_c, var_c = _moments_from_stats(n_c, s_c, q_c)
    mean_t, var_t = _moments_from_stats(n_t, s_t, q_t)
    if np.any(mean_c == 0):
        raise ValueError("sum_control is zero: the relative lift is undefined")
    if np.all(var_c + var_t <= 0):
        raise ValueError("sum_squares_control and sum_squares_treatment imply zero variance")
    out = _relative_core(mean_c, var_c / n_c, mean_t, var_t / n_t, alpha, method)
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


def estimate_relative_lift(
    y_control: Any, y_treatment: Any, alpha: float = 0.05, method: str = "delta"
) -> Estimate:
    """Relative lift from rows; same answer as :func:`estimate_relative_lift_from_stats`.

    Raises
    ------
    ValueError
        If an arm has fewer than 2 values or NaN, the control mean is 0, or both arms
        are constant.
    """
    y_c = as_float_array(y_control, "y_control", min_size=2)
    y_t = as_float_array(y_treatment, "y_treatment", min_size=2)
    return estimate_relative_lift_from_stats(
        *_arm_stats(y_c, "y_control"), *_arm_stats(y_t, "y_treatment"), alpha=alpha, method=method
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
    """
    method = _check_relative_method(method)
    n_c, s_c, q_c = _check_mean_stats(n_control, sum_control, sum_squares_control, "control")
    n_t, s_t, q_t = _check_mean_stats(
        n_treatment, sum_treatment, sum_squares_treatment, "treatment"
    )
    arrays = np.broadcast_arrays(
        *(np.atleast_1d(a).astype(float) for a in (n_c, s_c, q_c, n_t, s_t, q_t))
    )
    mean_c, var_c = _moments_from_stats(arrays[0], arrays[1], arrays[2])
    mean_t, var_t = _moments_from_stats(arrays[3], arrays[4], arrays[5])
    out = _relative_core(
        mean_c, var_c / arrays[0], mean_t, var_t / arrays[3], check_alpha(alpha), method
    )
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
    return ratio, np.maximum(variance, 0.0)


_RATIO_FIELDS = (
    "n",
    "sum_numerator",
    "sum_denominator",
    "sum_numerator_squares",
    "sum_denominator_squares",
    "sum_cross_products",
)


def _check_ratio_stats(values: Mapping[str, Any], suffix: str) -> list[np.ndarray]:
    arrays = []
    for name in _RATIO_FIELDS:
        full = f"{name}_{suffix}"
        array = np.asarray(values[name], dtype=float)
        if not np.isfinite(array).all():
            raise ValueError(f"{full} contains NaN or infinite values")
        arrays.append(array)
    _check_count_array(arrays[0], f"n_{suffix}", minimum=2)
    if (arrays[2] <= 0).any():
        raise ValueError(f"sum_denominator_{suffix} must be positive")
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
        ``method="ratio delta"``; details hold both ratios.

    Raises
    ------
    ValueError
        Naming the argument: fewer than 2 users in an arm, NaN, non-positive
        denominator sum, or zero variance.
    """
    alpha = check_alpha(alpha)
    control = _check_ratio_stats(
        dict(
            zip(
                _RATIO_FIELDS,
                (
                    n_control,
                    sum_numerator_control,
                    sum_denominator_control,
                    sum_numerator_squares_control,
                    sum_denominator_squares_control,
                    sum_cross_products_control,
                ),
                strict=True,
            )
        ),
        "control",
    )
    treatment = _check_ratio_stats(
        dict(
            zip(
                _RATIO_FIELDS,
                (
                    n_treatment,
                    sum_numerator_treatment,
                    sum_denominator_treatment,
                    sum_numerator_squares_treatment,
                    sum_denominator_squares_treatment,
                    sum_cross_products_treatment,
                ),
                strict=True,
            )
        ),
        "treatment",
    )
    ratio_c, var_c = _ratio_arm(*control)
    ratio_t, var_t = _ratio_arm(*treatment)
    se = np.sqrt(var_c + var_t)
    if not se > 0:
        raise ValueError("sum_numerator_squares_control and _treatment imply zero variance")
    difference = ratio_t - ratio_c
    p_value, low, high = _p_value_and_interval(
        np.atleast_1d(difference), np.atleast_1d(se), alpha, "two-sided"
    )
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
            "n_control": int(_scalar(control[0])),
            "n_treatment": int(_scalar(treatment[0])),
        },
    )


def _ratio_stats_from_rows(numerator: Any, denominator: Any, suffix: str) -> dict[str, float]:
    x = as_float_array(numerator, f"numerator_{suffix}", min_size=2)
    y = as_float_array(denominator, f"denominator_{suffix}", min_size=2)
    if x.size != y.size:
        raise ValueError(f"numerator_{suffix} and denominator_{suffix} must have the same length")
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
        values are NaN, or a denominator sum is not positive.
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
        If shapes differ, fewer than 2 users, or NaN.
    """
    x = np.asarray(numerator, dtype=float)
    y = np.asarray(denominator, dtype=float)
    if x.shape != y.shape or x.ndim == 0:
        raise ValueError("numerator and denominator must be arrays of the same shape")
    if x.shape[-1] < 2:
        raise ValueError("numerator must hold at least 2 units along its last axis")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("numerator and denominator must be finite (no NaN)")
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
        Columns ``estimate, se, ci_low, ci_high, p_value``.
    """
    alpha = check_alpha(alpha)
    ratio_c, var_c = _ratio_arm(*_check_ratio_stats(control, "control"))
    ratio_t, var_t = _ratio_arm(*_check_ratio_stats(treatment, "treatment"))
    difference = np.atleast_1d(ratio_t - ratio_c)
    se = np.atleast_1d(np.sqrt(var_c + var_t))
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
        ``method="bootstrap <method>"``; ``se`` is the bootstrap standard error.

    Raises
    ------
    ValueError
        If an arm has fewer than 2 values or NaN, or bad ``method``/``n_resamples``.
    """
    y_c = as_float_array(y_control, "y_control", min_size=2)
    y_t = as_float_array(y_treatment, "y_treatment", min_size=2)
    alpha = check_alpha(alpha)
    method = check_choice(method, "method", ("BCa", "percentile", "basic"))
    n_resamples = check_integer(n_resamples, "n_resamples", minimum=100)
    rng = np.random.default_rng(rng)

    def difference(control: np.ndarray, treatment: np.ndarray, axis: int = -1) -> np.ndarray:
        return statistic(treatment, axis=axis) - statistic(control, axis=axis)

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
    low, high = result.confidence_interval
    point = float(difference(y_c, y_t))
    return Estimate(
        method=f"bootstrap {method}",
        estimate=point,
        se=float(result.standard_error),
        ci_low=float(low),
        ci_high=float(high),
        alpha=alpha,
        details={"n_resamples": n_resamples, "n_control": y_c.size, "n_treatment": y_t.size},
    )


# ============================================================== regression views
def _treatment_column(data: pd.DataFrame, treatment: str) -> np.ndarray:
    values = as_float_array(data[treatment], treatment)
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValueError(f"{treatment} must be coded 0 (control) / 1 (treatment)")
    if values.min() == values.max():
        raise ValueError(f"{treatment} holds a single arm")
    return values


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

    Raises
    ------
    ValueError
        Missing columns, NaN, a treatment not coded 0/1 or with a single arm, a
        constant covariate.
    """
    check_columns(data, [outcome, treatment, *covariates])
    alpha = check_alpha(alpha)
    cov_type = check_choice(cov_type, "cov_type", ("HC0", "HC1", "HC2", "HC3", "nonrobust"))
    y = as_float_array(data[outcome], outcome)
    t = _treatment_column(data, treatment)
    columns = [np.ones_like(y), t]
    for name in covariates:
        x = as_float_array(data[name], name)
        check_not_constant(x, name)
        centred = x - x.mean()
        columns.extend([centred, t * centred])
    import statsmodels.api as sm

    fit = sm.OLS(y, np.column_stack(columns)).fit(cov_type=cov_type, use_t=True)
    low, high = fit.conf_int(alpha=alpha)[1]
    return Estimate(
        method=f"ols {cov_type}",
        estimate=float(fit.params[1]),
        se=float(fit.bse[1]),
        ci_low=float(low),
        ci_high=float(high),
        alpha=alpha,
        p_value=float(fit.pvalues[1]),
        df=float(fit.df_resid),
        details={"n": y.size, "covariates": len(covariates)},
    )


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
        Missing columns, NaN, outcome not 0/1, treatment not 0/1 or a single arm.
    """
    check_columns(data, [outcome, treatment, *fixed_effects])
    alpha = check_alpha(alpha)
    y = _as_binary_array(data[outcome], outcome)
    t = _treatment_column(data, treatment)
    design = pd.DataFrame({"const": 1.0, "treatment": t})
    if fixed_effects:
        dummies = pd.get_dummies(
            data[list(fixed_effects)].astype("category"), drop_first=True, dtype=float
        )
        design = pd.concat([design, dummies.set_axis(design.index)], axis=1)
    import statsmodels.api as sm

    x = design.to_numpy(dtype=float)
    fit = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    p1, p0 = special.expit(x1 @ fit.params), special.expit(x0 @ fit.params)
    effect = float(np.mean(p1 - p0))
    gradient = ((p1 * (1 - p1))[:, None] * x1 - (p0 * (1 - p0))[:, None] * x0).mean(axis=0)
    se = float(np.sqrt(gradient @ fit.cov_params() @ gradient))
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
        ``method="stratified"``; ``details["strata"]`` is the number of strata.

    Raises
    ------
    ValueError
        Missing columns, NaN, treatment not 0/1, or a stratum with fewer than two units
        in an arm.
    """
    check_columns(data, [outcome, treatment, stratum])
    alpha = check_alpha(alpha)
    y = as_float_array(data[outcome], outcome)
    t = _treatment_column(data, treatment)
    frame = pd.DataFrame({"y": y, "t": t, "s": data[stratum].to_numpy()})
    grouped = frame.groupby(["s", "t"], observed=True)["y"].agg(["size", "mean", "var"])
    table = grouped.unstack("t")
    if table.isna().any().any() or (table["size"] < 2).any().any():
        raise ValueError(f"{stratum}: every stratum needs at least two units in each arm")
    sizes = table["size"][0.0] + table["size"][1.0]
    weights = sizes / sizes.sum()
    differences = table["mean"][1.0] - table["mean"][0.0]
    variances = table["var"][1.0] / table["size"][1.0] + table["var"][0.0] / table["size"][0.0]
    effect = float(np.sum(weights * differences))
    se = float(np.sqrt(np.sum(weights**2 * variances)))
    if not se > 0:
        raise ValueError(f"{outcome} has zero variance within every stratum")
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
    rng = np.random.default_rng(rng)
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
    rng = np.random.default_rng(rng)
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
    else:
        values = list(p_values)
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
