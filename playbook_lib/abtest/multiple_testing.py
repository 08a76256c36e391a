"""Several metrics: multiplicity-adjusted p-values (Holm, Benjamini-Hochberg)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from playbook_lib._kernels import step_down_adjust
from playbook_lib.validation import as_float_array, check_alpha, check_choice

__all__ = ["adjust_p_values"]


def adjust_p_values(
    p_values: Sequence[float] | Mapping[str, float] | pd.Series,
    method: str = "holm",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Multiplicity-adjusted p-values of a family of tests, in the input's order and labels.

    ``"holm"`` controls the family-wise error rate (Holm 1979): the ``k``-th smallest
    p-value is multiplied by ``m - k + 1``, a running maximum is taken from the smallest
    upwards, and the result is capped at 1; ``"fdr_bh"`` controls the false discovery
    rate (Benjamini & Hochberg 1995); ``"bonferroni"`` (``m p``, capped at 1) is offered
    for comparison. All three equal :func:`statsmodels.stats.multitest.multipletests`
    (Holm and Bonferroni are computed directly, Benjamini-Hochberg by statsmodels).

    Parameters
    ----------
    p_values : sequence, mapping or pandas.Series of float
        The family's p-values, in [0, 1]; a mapping's keys or a Series' index label them.
    method : {"holm", "fdr_bh", "bonferroni"}
    alpha : float
        The error rate to control.

    Returns
    -------
    pandas.DataFrame
        Index ``metric``: the labels (or 0..m-1); columns ``p_value``,
        ``adjusted_p_value`` (capped at 1), ``reject`` (adjusted p-value at or below
        ``alpha``, as statsmodels decides).

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
    if method == "fdr_bh":
        from statsmodels.stats.multitest import multipletests

        reject, adjusted, _, _ = multipletests(array, alpha=alpha, method=method)
    else:
        adjusted = step_down_adjust(array, method)
        reject = adjusted <= alpha
    return pd.DataFrame(
        {"p_value": array, "adjusted_p_value": adjusted, "reject": reject},
        index=pd.Index(labels, name="metric"),
    )
