"""The sample-ratio-mismatch (SRM) check: do the arms hold the planned shares of units?"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib.validation import as_float_array, as_numeric_array, check_alpha

__all__ = ["SampleRatioCheck", "check_sample_ratio"]


def _check_count_array(values: Any, name: str, *, minimum: int = 0) -> np.ndarray:
    array = as_numeric_array(values, name)
    if (array != np.round(array)).any():
        raise ValueError(f"{name} must contain whole numbers")
    if (array < minimum).any():
        raise ValueError(f"{name} must be at least {minimum}")
    return array


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
        Always a report, whatever the verdict: a mismatch is
        :attr:`SampleRatioCheck.mismatch`, never an exception (only bad input raises).

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
