"""Accuracy of per-unit estimates against a simulation's truth, matched by label.

A simulation knows every unit's true effect, so any estimator of per-unit effects can be
scored: mean squared error, bias, coverage of its intervals (with a Monte Carlo standard
error that respects the dependence between the units of one data set) and interval width,
overall and by stratum (e.g. unit size). Rows are matched by label, never by position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.hbm._checks import (
    check_no_missing_labels,
    check_unique_labels,
    float_column,
    hyperparameter_array,
)
from playbook_lib.results import Estimates

__all__ = ["compute_accuracy"]


def _truth_frame(truth: Any, truth_column: str) -> pd.DataFrame:
    """``truth`` as a non-empty DataFrame with a unique index and a numeric truth column."""
    if isinstance(truth, pd.Series):
        truth = truth.to_frame(truth_column)
    if not isinstance(truth, pd.DataFrame):
        raise ValueError(
            f"truth must be a pandas DataFrame or Series indexed by the estimates' labels, "
            f"got {type(truth).__name__}"
        )
    if len(truth) == 0:
        raise ValueError("truth is empty (no rows)")
    if not isinstance(truth_column, str) or truth_column not in truth.columns:
        raise ValueError(
            f"truth_column: {truth_column!r} is not a column of truth "
            f"(columns: {list(truth.columns)})"
        )
    check_no_missing_labels(truth.index, "truth")
    if not truth.index.is_unique:
        raise ValueError("truth: its index repeats labels, so rows cannot be matched by label")
    float_column(truth, truth_column, "truth")
    return truth


def _matched_rows(estimates: Any, truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The estimates' rows and, row for row, their truth (by label): truth's columns and
    index levels, then the estimates' extra columns (for ``by`` and ``cluster``)."""
    if not isinstance(estimates, Estimates):
        raise ValueError(
            f"estimates must be a playbook_lib.Estimates table, got {type(estimates).__name__}"
        )
    frame = estimates.to_frame()
    if len(frame) == 0:
        raise ValueError("estimates is empty (no rows)")
    check_no_missing_labels(frame.index, "estimates")
    check_unique_labels(frame.index, "estimates")
    positions = truth.index.get_indexer(frame.index)
    if (positions < 0).any():
        missing = frame.index[int(np.argmax(positions < 0))]
        raise ValueError(
            f"truth has no row for the label {missing!r} of estimates (rows are matched by "
            "label: index truth by the estimates' labels)"
        )
    rows = truth.iloc[positions]
    levels = rows.index.to_frame(index=False)
    lookup = pd.concat(
        [rows.reset_index(drop=True), levels[[c for c in levels if c not in rows.columns]]],
        axis=1,
    )
    frame = frame.reset_index(drop=True)
    extra = [c for c in frame.columns[8:] if c not in lookup.columns]  # after the 8 fields
    return frame, pd.concat([lookup, frame[extra]], axis=1)


def _truth_column_values(merged: pd.DataFrame, name: Any, argument: str) -> pd.Series:
    if not isinstance(name, str):
        raise ValueError(f"{argument} must be a column or index level name, got {name!r}")
    if name not in merged.columns:
        raise ValueError(
            f"{argument}: {name!r} is neither a column nor an index level of truth, nor a "
            f"column of estimates (available: {list(merged.columns)})"
        )
    values = merged[name]
    if values.isna().any():
        raise ValueError(f"{argument}: {name!r} has {int(values.isna().sum())} missing value(s)")
    return values


def _edges(bins: Any, labels: Sequence[str] | None) -> list[float]:
    edges = hyperparameter_array(bins, "bins", allow_inf=True)  # edges may be +-inf
    with np.errstate(invalid="ignore"):  # inf - inf: not increasing
        increasing = edges.ndim == 1 and edges.size >= 2 and bool((np.diff(edges) > 0).all())
    if not increasing:
        raise ValueError(f"bins must be at least 2 strictly increasing edges, got {bins!r}")
    if labels is not None and len(labels) != len(edges) - 1:
        raise ValueError(
            f"labels must have one fewer entry than bins ({len(edges) - 1}), got {len(labels)}"
        )
    return list(edges)


def _summarize(part: pd.DataFrame, clustered: bool) -> dict[str, float]:
    n = len(part)
    coverage = part["covered"].mean()
    mc_se = np.sqrt(coverage * (1 - coverage) / n)
    row: dict[str, float] = {"n": n}
    if clustered:
        per_cluster = part.groupby("cluster")["covered"].mean()
        row["clusters"] = per_cluster.size
        mc_se = (
            per_cluster.std(ddof=1) / np.sqrt(per_cluster.size) if per_cluster.size > 1 else np.nan
        )
    row.update(
        {
            "mse": float((part["error"] ** 2).mean()),
            "bias": float(part["error"].mean()),
            "coverage": float(coverage),
            "coverage_mc_se": float(mc_se),
            "mean_width": float(part["width"].mean()),
        }
    )
    return row


def compute_accuracy(
    estimates: Estimates,
    truth: pd.DataFrame | pd.Series,
    *,
    truth_column: str = "true_effect",
    by: str | None = None,
    bins: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    cluster: str | None = None,
) -> pd.DataFrame:
    """Accuracy of per-unit estimates against the simulated truth, matched by label.

    Each row of ``estimates`` is matched with the row of ``truth`` that has its label
    (``truth`` may hold more rows; a label without truth raises), never by position. For
    each stratum: number of units, mean squared error, bias (mean of estimate minus truth),
    empirical coverage of ``[ci_low, ci_high]`` with its Monte Carlo standard error, and
    mean interval width.

    Parameters
    ----------
    estimates : Estimates
        Per-unit results with unique labels (e.g. unit ids, or (replication, unit)).
    truth : pandas.DataFrame or pandas.Series
        Indexed by the same labels: ``truth_column`` (a Series is that column) and any
        columns used by ``by`` or ``cluster``.
    truth_column : str
        The true effect.
    by : str, optional
        Stratify on this column of ``truth`` (or an index level of it, or an extra column
        of ``estimates``), e.g. ``"n_users"``.
    bins, labels : sequences, optional
        Cut ``by`` into bins (``pandas.cut``, right-closed) with these edges and labels;
        without ``bins`` the strata are the distinct values of ``by``.
    cluster : str, optional
        Column or index level of independent replications (e.g. ``"replication"``).
        Units of one simulated data set share hyperparameters, so their coverage
        indicators are correlated; with ``cluster`` the Monte Carlo SE of coverage is the
        standard deviation of per-cluster coverage over ``sqrt(number of clusters)``.

    Returns
    -------
    pandas.DataFrame
        One row per stratum plus ``"all"``: ``n, mse, bias, coverage, coverage_mc_se,
        mean_width`` (and ``clusters`` with ``cluster``).

    Raises
    ------
    ValueError
        If ``estimates`` is not a non-empty :class:`~playbook_lib.Estimates` with unique labels,
        ``truth`` is not a DataFrame or Series with a unique index holding every label, the truth is
        missing, not numeric or infinite, ``by``/``cluster`` name nothing or have missing values, or
        ``bins`` are not increasing numbers (with ``labels`` one fewer) or leave values outside.

    Notes
    -----
    With ``cluster`` and a stratum holding a single cluster, ``coverage_mc_se`` is NaN:
    one cluster gives no estimate of the between-cluster spread.
    """
    truth = _truth_frame(truth, truth_column)
    frame, merged = _matched_rows(estimates, truth)
    true_values = merged[truth_column].to_numpy(dtype=float)
    low, high = frame["ci_low"].to_numpy(), frame["ci_high"].to_numpy()
    table = pd.DataFrame(
        {
            "error": frame["estimate"].to_numpy() - true_values,
            "covered": ((low <= true_values) & (true_values <= high)).astype(float),
            "width": high - low,
        }
    )
    if cluster is not None:
        table["cluster"] = _truth_column_values(merged, cluster, "cluster").to_numpy()
    return _summarize_by_stratum(
        table, merged, by, bins, labels, lambda part: _summarize(part, cluster is not None)
    )


def _summarize_by_stratum(
    table: pd.DataFrame,
    merged: pd.DataFrame,
    by: str | None,
    bins: Any,
    labels: Sequence[str] | None,
    summarize: Callable[[pd.DataFrame], dict[str, float]],
) -> pd.DataFrame:
    """One row of ``summarize(part)`` per stratum of ``by`` (cut by ``bins``), plus ``"all"``."""
    edges = _edges(bins, labels) if bins is not None else None
    if by is None:
        strata = None
    else:
        values = _truth_column_values(merged, by, "by")
        if edges is None:
            strata = values.to_numpy()
        else:
            float_column(merged, by, "by")
            cut = pd.cut(values, bins=edges, labels=labels)
            if cut.isna().any():
                raise ValueError(f"bins: some values of {by!r} fall outside the bins {edges}")
            strata = cut.astype(object).to_numpy()
    rows = {}
    if strata is not None:
        for stratum, part in table.groupby(strata, sort=False):
            rows[stratum] = summarize(part)
        if edges is not None and labels is not None:
            rows = {label: rows[label] for label in labels if label in rows}
    rows["all"] = summarize(table)
    result = pd.DataFrame.from_dict(rows, orient="index")
    result.index.name = by or "stratum"
    return result
