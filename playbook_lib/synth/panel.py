"""The panel every estimator of :mod:`playbook_lib.synth` works on, built and checked once.

:func:`prepare_panel` checks a tidy long panel (``unit``, ``time``, ``outcome`` columns,
plus a 0/1 ``treated`` column or ``treated_units`` with ``treatment_start``) and reshapes
it to a :class:`Panel`: a units-by-times matrix with the donors first.
:meth:`Panel.from_matrix` wraps a units-by-times array directly (for simulations), and
:func:`compute_outcome_matrix` is the shared check and pivot of a panel without a
treatment (for design on historical data).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.validation import (
    as_float_array,
    check_integer,
    column_as_float_array,
    require_columns,
)

__all__ = ["Panel", "compute_outcome_matrix", "prepare_panel"]


@dataclass(frozen=True, eq=False)
class Panel:
    """A balanced panel as a units-by-times matrix, controls first.

    Build it with :func:`prepare_panel` from a tidy DataFrame, or with
    :meth:`from_matrix` from an array; every panel estimator of :mod:`playbook_lib.synth`
    takes one.

    Attributes
    ----------
    outcomes : numpy.ndarray
        Shape ``(n_units, n_times)``, finite; rows ``0 .. n_controls - 1`` are the donors,
        the remaining rows the treated units.
    units : pandas.Index
        Unit labels in row order.
    times : pandas.Index
        Sorted time labels.
    n_controls : int
        Number of donor (control) units, at least one, leaving a treated row.
    n_pre : int
        Number of pre-treatment periods (columns ``0 .. n_pre - 1``), at least one,
        leaving a post-period.
    covariates : pandas.DataFrame or None
        Pre-period means of covariate columns, one row per unit (in row order), for
        predictor matching (see :func:`~playbook_lib.synth.fit_synthetic_control`).

    Raises
    ------
    ValueError
        If ``outcomes`` is not a finite 2-d array, ``units`` or ``times`` do not have
        one label per row or column, ``n_controls`` or ``n_pre`` leave no treated row,
        no pre- or no post-period, or ``covariates`` does not have one finite row per
        unit. The message names the attribute.
    """

    outcomes: np.ndarray
    units: pd.Index
    times: pd.Index
    n_controls: int
    n_pre: int
    covariates: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        outcomes = as_float_array(self.outcomes, "outcomes", ndim=2)
        n_units, n_times = outcomes.shape
        n_controls = check_integer(self.n_controls, "n_controls", minimum=1)
        n_pre = check_integer(self.n_pre, "n_pre", minimum=1)
        if n_controls >= n_units:
            raise ValueError(
                f"n_controls must leave a treated row: got {n_controls} for {n_units} rows"
            )
        if n_pre >= n_times:
            raise ValueError(f"n_pre must leave a post-period: got {n_pre} for {n_times} columns")
        units, times = pd.Index(self.units), pd.Index(self.times)
        if len(units) != n_units or len(times) != n_times:
            raise ValueError(
                f"units and times must label the {n_units} rows and {n_times} columns of "
                f"outcomes, got {len(units)} units and {len(times)} times"
            )
        covariates = self.covariates
        if covariates is not None:
            if not isinstance(covariates, pd.DataFrame) or not covariates.index.equals(units):
                raise ValueError("covariates must be a DataFrame with one row per unit")
            as_float_array(covariates.to_numpy(dtype=float), "covariates", ndim=2)
        for name, value in (
            ("outcomes", outcomes),
            ("units", units),
            ("times", times),
            ("n_controls", n_controls),
            ("n_pre", n_pre),
        ):
            object.__setattr__(self, name, value)

    @classmethod
    def from_matrix(cls, outcomes: np.ndarray, n_controls: int, n_pre: int) -> Panel:
        """A panel from a units-by-times array, labelled ``0, 1, ...`` (a copy is kept).

        Rows ``0 .. n_controls - 1`` are the donors, the rest treated; columns
        ``0 .. n_pre - 1`` are the pre-period.

        Raises
        ------
        ValueError
            As the class does (see :class:`Panel`).
        """
        y = as_float_array(outcomes, "outcomes", ndim=2).copy()
        return cls(y, pd.RangeIndex(y.shape[0]), pd.RangeIndex(y.shape[1]), n_controls, n_pre)

    @property
    def n_treated(self) -> int:
        """Number of treated units."""
        return self.outcomes.shape[0] - self.n_controls

    @property
    def n_post(self) -> int:
        """Number of post-treatment periods."""
        return self.outcomes.shape[1] - self.n_pre

    @property
    def controls(self) -> np.ndarray:
        """The donors' rows of ``outcomes``."""
        return self.outcomes[: self.n_controls]

    @property
    def treated(self) -> np.ndarray:
        """The treated units' rows of ``outcomes``."""
        return self.outcomes[self.n_controls :]

    @property
    def donor_units(self) -> pd.Index:
        """Labels of the donors."""
        return self.units[: self.n_controls]

    @property
    def treated_units(self) -> pd.Index:
        """Labels of the treated units."""
        return self.units[self.n_controls :]


# ------------------------------------------------------------------------ checks
def _check_labels(data: pd.DataFrame, column: Hashable, name: str) -> None:
    """Unit or time labels: no missing or non-finite values, one sortable type; times
    that would sort in another order than they mean (a categorical, whose order the pivot
    drops, or numbers written as strings, where '10' < '2') are refused."""
    series = data[column]
    if name == "time" and isinstance(series.dtype, pd.CategoricalDtype):
        raise ValueError(
            f"data: time column {column!r} is categorical; the panel sorts times by value, "
            "not by the categories' order: pass numbers or dates"
        )
    if (
        name == "time"
        and pd.api.types.infer_dtype(series, skipna=True) == "string"
        and pd.to_numeric(series, errors="coerce").notna().all()
    ):
        raise ValueError(
            f"data: time column {column!r} holds numbers written as strings, which sort "
            "as text ('10' before '2'): convert it with pd.to_numeric"
        )
    missing = int(series.isna().sum())
    if missing:
        raise ValueError(f"data: {name} column {column!r} has {missing} missing value(s)")
    if series.dtype.kind in "fc" and not np.isfinite(series.to_numpy()).all():
        raise ValueError(f"data: {name} column {column!r} has infinite values")
    if series.dtype.kind == "O":
        kinds = {type(value) for value in series.to_numpy()}
        try:
            sorted(series.unique())
        except TypeError:
            raise ValueError(
                f"data: {name} column {column!r} mixes types that cannot be sorted "
                f"({sorted(kind.__name__ for kind in kinds)})"
            ) from None


def _label_list(values: Any, name: str, what: str = "unit labels") -> list[Hashable]:
    """A list of distinct labels (units, or column names) from a non-string sequence."""
    if isinstance(values, str | bytes) or not isinstance(
        values, Sequence | np.ndarray | pd.Index | pd.Series
    ):
        raise ValueError(f"{name} must be a list of {what}, got {values!r}")
    try:
        return list(dict.fromkeys(values))
    except TypeError:
        raise ValueError(f"{name} must hold hashable {what}") from None


def _time_position(times: pd.Index, value: Any, name: str, column: Any) -> int:
    """Position of ``value`` among the sorted ``times``; ``value`` must be one of them.

    A value before the first time has no pre-period, one after the last no post-period.
    """
    try:
        found = not isinstance(value, bool) and value in set(times.tolist())
    except TypeError:
        found = False
    if found:
        return int(times.get_loc(value))
    try:
        before, after = bool(value < times[0]), bool(value > times[-1])
    except TypeError:
        before = after = False
    if before:
        raise ValueError(
            f"{name}: {value!r} is before the first time, so there is no pre-treatment period"
        )
    if after:
        raise ValueError(
            f"{name}: {value!r} is after the last time, so there is no post-treatment period"
        )
    raise ValueError(
        f"{name} must be a value of the {column!r} column (from {times[0]!r} to "
        f"{times[-1]!r}), got {value!r}"
    )


# ------------------------------------------------------------------- public API
def compute_outcome_matrix(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
) -> pd.DataFrame:
    """Check a tidy panel and pivot it to a balanced units-by-times table of outcomes.

    The shared panel check of :mod:`playbook_lib.synth`: :func:`prepare_panel` and the
    geo-lift design both start here.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and time.
    unit, time, outcome : str
        Column names.

    Returns
    -------
    pandas.DataFrame
        Finite outcomes, one row per unit and one column per time, both sorted; the index
        is named ``unit``, the columns ``time``.

    Raises
    ------
    ValueError
        If ``data`` is not a non-empty DataFrame, a column is missing or used for two
        roles, unit or time labels are missing or non-finite, the outcome has missing,
        infinite or non-numeric values, a (unit, time) pair repeats, or the panel is
        unbalanced. The message names the argument or the column.
    """
    require_columns(data, distinct=True, unit=unit, time=time, outcome=outcome)
    _check_labels(data, unit, "unit")
    _check_labels(data, time, "time")
    series = data[outcome]
    if series.dtype.kind not in "biuf":
        converted = pd.to_numeric(series, errors="coerce")
        bad = converted.isna() & series.notna()
        if bad.any():
            raise ValueError(
                f"data: outcome column {outcome!r} must be numeric, got {series[bad].iloc[0]!r}"
            )
        series = converted
    values = series.to_numpy(dtype=float, na_value=np.nan)
    missing = int(np.isnan(values).sum())
    if missing:
        raise ValueError(
            f"data: outcome column {outcome!r} contains {missing} NaN (missing) value(s)"
        )
    if np.isinf(values).any():
        raise ValueError(f"data: outcome column {outcome!r} has infinite values")
    if data.duplicated([unit, time]).any():
        raise ValueError(f"data: (unit, time) rows are not unique in ({unit!r}, {time!r})")
    frame = pd.DataFrame(
        {"unit": data[unit].to_numpy(), "time": data[time].to_numpy(), "value": values}
    )
    wide = frame.pivot(index="unit", columns="time", values="value").sort_index(axis=1)
    wide = wide.sort_index(axis=0)
    if wide.isna().any().any():
        raise ValueError("data: the panel is unbalanced (some unit-time rows are missing)")
    wide.index.name, wide.columns.name = unit, time
    return wide


def _block_start(
    data: pd.DataFrame,
    wide: pd.DataFrame,
    *,
    unit: str,
    time: str,
    treated: str,
) -> tuple[list[Hashable], int]:
    """Treated units and the start position of a block design marked by ``treated``."""
    require_columns(data, treated=treated)
    marks = column_as_float_array(data, treated, "treated")
    if not np.isin(marks, (0.0, 1.0)).all():
        raise ValueError(f"treated: column {treated!r} must hold 0/1 values")
    frame = pd.DataFrame(
        {"unit": data[unit].to_numpy(), "time": data[time].to_numpy(), "value": marks}
    )
    indicator = frame.pivot(index="unit", columns="time", values="value")
    indicator = indicator.reindex(index=wide.index, columns=wide.columns)
    is_treated = indicator.to_numpy().astype(bool)
    treated_rows = is_treated.any(axis=1)
    if not treated_rows.any():
        raise ValueError(f"treated: column {treated!r} marks no treated unit-period")
    first = is_treated[treated_rows].argmax(axis=1)
    if np.unique(first).size > 1:
        raise ValueError("treated: treated units start at different times (staggered)")
    start_index = int(first[0])
    block = np.zeros_like(is_treated)
    block[treated_rows, start_index:] = True
    if not np.array_equal(block, is_treated):
        raise ValueError("treated: treated units must stay treated after the start")
    return list(wide.index[treated_rows]), start_index


def _covariate_means(
    data: pd.DataFrame,
    covariates: Any,
    *,
    unit: str,
    time: str,
    pre_times: pd.Index,
    units: pd.Index,
) -> pd.DataFrame:
    """Pre-period mean of each covariate column per unit (rows in ``units`` order)."""
    names = _label_list(covariates, "covariates", "column names")
    for column in names:
        require_columns(data, covariates=column)
    pre = data[data[time].isin(pre_times)]
    for column in names:
        column_as_float_array(pre, column, "covariates")  # numeric, finite in the pre-period
    return pre.groupby(unit)[names].mean().reindex(units).astype(float)


def prepare_panel(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    time: str = "time",
    outcome: str = "outcome",
    treated: str | None = "treated",
    treated_units: Sequence[Hashable] | None = None,
    treatment_start: Any = None,
    donors: Sequence[Hashable] | None = None,
    covariates: Sequence[str] | None = None,
) -> Panel:
    """Check a tidy panel and reshape it to a units-by-times matrix (controls first).

    Every panel estimator of :mod:`playbook_lib.synth` (synthetic control, its placebos,
    synthetic DiD, DiD) takes the :class:`Panel` built here, so the panel is checked and
    reshaped once however many estimators run on it.

    Parameters
    ----------
    data : pandas.DataFrame
        Long panel, one row per unit and time.
    unit, time, outcome : str
        Column names.
    treated : str or None
        Name of a 0/1 column marking the unit-periods under treatment; used when
        ``treated_units`` is not given. All treated units must start at the same time and
        stay treated (a block design).
    treated_units : sequence, optional
        The treated units; requires ``treatment_start``.
    treatment_start : scalar, optional
        First treated time: a value of the ``time`` column.
    donors : sequence, optional
        Donor pool; defaults to every unit that is never treated.
    covariates : sequence of str, optional
        Columns whose pre-period means synthetic control may match on (its
        ``predictors``); each must be numeric and finite in the pre-period.

    Returns
    -------
    Panel

    Raises
    ------
    ValueError
        If ``data`` is not a non-empty DataFrame, a column is missing, unit or time labels
        are missing, the outcome has NaN, infinite or non-numeric values, a (unit, time)
        pair repeats, the panel is unbalanced, the treated column is not 0/1 or not a
        block design, ``treatment_start`` is not a time of the panel, a treated unit is
        among the donors, there is no pre- or no post-period, fewer than two donors
        remain, or a covariate is missing or not finite in the pre-period. The message
        names the argument or the column.
    """
    wide = compute_outcome_matrix(data, unit=unit, time=time, outcome=outcome)
    times = wide.columns
    if treated_units is None:
        if treated is None:
            raise ValueError(
                "treated_units: give treated_units and treatment_start, or a treated column"
            )
        treated_list, start_index = _block_start(data, wide, unit=unit, time=time, treated=treated)
    else:
        if treatment_start is None:
            raise ValueError("treatment_start: required when treated_units is given")
        treated_list = _label_list(treated_units, "treated_units")
        missing = [u for u in treated_list if u not in wide.index]
        if missing or not treated_list:
            raise ValueError(f"treated_units: not found in the {unit!r} column: {missing}")
        start_index = _time_position(times, treatment_start, "treatment_start", time)
    if start_index < 1:
        raise ValueError("treatment_start: there is no pre-treatment period")
    if start_index >= len(times):
        raise ValueError("treatment_start: there is no post-treatment period")
    treated_set = set(treated_list)
    if donors is None:
        donor_list = [u for u in wide.index if u not in treated_set]
    else:
        donor_list = _label_list(donors, "donors")
        overlap = [u for u in donor_list if u in treated_set]
        if overlap:
            raise ValueError(f"donors: treated unit(s) {overlap} are among the donors")
        missing = [u for u in donor_list if u not in wide.index]
        if missing:
            raise ValueError(f"donors: not found in the {unit!r} column: {missing}")
    if len(donor_list) < 2:
        raise ValueError(f"donors: need at least two donor units, got {len(donor_list)}")
    ordered = wide.loc[donor_list + treated_list]
    units = pd.Index(ordered.index)
    means = None
    if covariates is not None:
        means = _covariate_means(
            data, covariates, unit=unit, time=time, pre_times=times[:start_index], units=units
        )
    return Panel(
        outcomes=ordered.to_numpy(dtype=float),
        units=units,
        times=pd.Index(times),
        n_controls=len(donor_list),
        n_pre=start_index,
        covariates=means,
    )
