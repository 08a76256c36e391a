"""Post-stratification: CUPED's discrete sibling (Miratrix, Sekhon & Yu, 2013)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.cuped._inputs import (
    column,
    comparison_estimate,
    satterthwaite_df,
    treatment_mask,
    treatment_values,
    unadjusted_details,
)
from playbook_lib.results import Estimate
from playbook_lib.validation import as_float_array, check_alpha, check_same_length

__all__ = ["estimate_post_stratified"]


def estimate_post_stratified(
    outcome: Any,
    strata: Any,
    treatment: Any,
    *,
    data: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> Estimate:
    """Post-stratification: stratum-wise differences in means, weighted by stratum share.

    ``tau = sum_s (N_s / N) (mean_T,s - mean_C,s)`` with variance
    ``sum_s (N_s/N)² (s²_T,s / n_T,s + s²_C,s / n_C,s)`` (conditional on the strata sizes)
    and Welch-Satterthwaite degrees of freedom. It equals Lin's interacted regression on
    stratum indicators, point estimate and HC2 se alike: CUPED with a discrete covariate.

    Parameters
    ----------
    outcome, treatment : array-like or str
        Outcome and 0/1 assignment (column names if ``data`` is given).
    strata : array-like or str
        A pre-treatment stratum label per user (any hashable values).
    data, alpha
        As :func:`~playbook_lib.cuped.estimate_cuped`: where to look up column names, and
        one minus the confidence level.

    Returns
    -------
    Estimate
        ``method="post-stratified"``; ``details`` holds ``n_strata``, the unadjusted
        estimate and se, and ``variance_reduction``.

    Raises
    ------
    ValueError
        On bad inputs, missing stratum labels, or a stratum with fewer than two users in an
        arm (merge small strata first).

    Notes
    -----
    Source: Miratrix, Sekhon & Yu (2013), JRSS-B 75(2), 369-396.
    """
    alpha = check_alpha(alpha)
    y = as_float_array(column(data, outcome, "outcome"), "outcome")
    if data is not None and isinstance(strata, str):
        column(data, [], "strata")  # checks data
        if strata not in data.columns:
            raise ValueError(f"strata: column {strata!r} is not in data")
        labels = data[strata].to_numpy()
    elif isinstance(strata, str | bytes):
        raise ValueError("strata must be one label per user (or a column name with data)")
    else:
        labels = np.asarray(strata)
    if labels.ndim != 1:
        raise ValueError(f"strata must be 1-dimensional, got shape {labels.shape}")
    if labels.dtype.kind == "f" and np.isinf(labels).any():
        raise ValueError("strata contains infinite labels")
    t_values = treatment_values(data, treatment)
    check_same_length(outcome=y, strata=labels, treatment=t_values)
    treated = treatment_mask(t_values)
    if pd.isna(labels).any():
        where = f" (column {strata!r})" if isinstance(strata, str) else ""
        raise ValueError(f"strata{where} contains missing labels")
    frame = pd.DataFrame({"y": y, "t": treated, "s": pd.Series(labels).astype(str).to_numpy()})
    cells = frame.groupby(["s", "t"])["y"].agg(["count", "mean", "var"]).unstack("t")
    if cells["count"].isna().any().any() or (cells["count"] < 2).any().any():
        raise ValueError("strata: every stratum needs at least two users in each arm")
    counts = cells["count"].to_numpy(dtype=float)  # (S, 2): control, treatment
    means = cells["mean"].to_numpy(dtype=float)
    variances = cells["var"].to_numpy(dtype=float)
    share = counts.sum(axis=1) / counts.sum()
    effect = float(share @ (means[:, 1] - means[:, 0]))
    components = (share[:, None] ** 2 * variances / counts).ravel()
    se = math.sqrt(components.sum())
    df = satterthwaite_df(components, (counts - 1).ravel())
    raw = [y[~treated], y[treated]]
    raw_se = math.sqrt(sum(a.var(ddof=1) / a.size for a in raw))
    details = {
        "n_control": int((~treated).sum()),
        "n_treatment": int(treated.sum()),
        "n_strata": int(len(share)),
        **unadjusted_details(se, raw[1].mean() - raw[0].mean(), raw_se),
    }
    return comparison_estimate(
        "post-stratified",
        effect,
        se,
        df,
        alpha=alpha,
        details=details,
        constant="post-stratification: the outcome is constant within every cell",
    )
