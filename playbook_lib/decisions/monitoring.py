"""Monitoring after launch: an EWMA guardrail monitor and a daily sample-ratio monitor.

- **EWMA.** The limits come from the EWMA's own standard deviation
  (:func:`ewma_control_limits`), not the observations'; :func:`monitor_ewma` runs the chart
  over a metric stream; the average run length (the mean number of steps to an alarm) is
  computed by Markov chain (:func:`ewma_average_run_length`) and checked by simulation
  (:func:`simulate_ewma_run_lengths`).
- **Sample ratio.** A sample-ratio mismatch (SRM) means assignment or logging is broken and
  no estimate from the experiment can be trusted; :func:`monitor_sample_ratio` tests the
  cumulative counts after every day, with a Bonferroni share of the false-alarm rate per
  planned look.

Both monitors return a :class:`MonitorResult`: the table of looks and the first alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_finite_number,
    check_flag,
    check_integer,
    check_positive,
    check_probability,
    check_rng,
)

__all__ = [
    "MonitorResult",
    "ewma_average_run_length",
    "ewma_control_limits",
    "monitor_ewma",
    "monitor_sample_ratio",
    "simulate_ewma_run_lengths",
]

_BLOCK = 256  # steps simulated at once by simulate_ewma_run_lengths


@dataclass(frozen=True)
class MonitorResult:
    """What a monitor saw: one row per look, and the first look that alarmed.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per look (step or day), with an ``alarm`` column; the monitor's docstring
        lists the other columns.
    first_alarm : int or None
        The first alarming look (1-based, as in the table's step or day column), or
        ``None`` when the monitor never alarmed.
    """

    table: pd.DataFrame = field(repr=False)
    first_alarm: int | None

    @classmethod
    def from_table(cls, table: pd.DataFrame, look: str) -> MonitorResult:
        """The result of ``table``, whose ``look`` column numbers the looks."""
        alarm = table["alarm"].to_numpy()
        first = int(table[look].to_numpy()[alarm][0]) if alarm.any() else None
        return cls(table, first)

    @property
    def alarmed(self) -> bool:
        """Whether any look alarmed."""
        return self.first_alarm is not None

    def to_frame(self) -> pd.DataFrame:
        """The table of looks (a copy)."""
        return self.table.copy()

    def _repr_html_(self) -> str:
        return self.table._repr_html_()  # type: ignore[operator]

    def __repr__(self) -> str:
        return f"MonitorResult({len(self.table)} looks, first alarm: {self.first_alarm})"


# ----------------------------------------------------------------------------- EWMA
def _ewma_sd_factor(smoothing: float, steps: np.ndarray, exact: bool) -> np.ndarray:
    asymptotic = math.sqrt(smoothing / (2 - smoothing))
    if not exact:
        return np.full(steps.shape, asymptotic)
    return asymptotic * np.sqrt(1 - (1 - smoothing) ** (2 * steps))


def ewma_control_limits(
    n_steps: int,
    *,
    target: float,
    sigma: float,
    smoothing: float = 0.1,
    width: float = 2.814,
    exact: bool = True,
) -> pd.DataFrame:
    """Control limits of an EWMA chart from the EWMA's own standard deviation.

    ``z_t = lambda x_t + (1 - lambda) z_{t-1}`` with ``z_0 = target`` has, for independent
    observations with sd ``sigma``,
    ``sd(z_t) = sigma sqrt(lambda / (2 - lambda) * (1 - (1 - lambda)^(2t)))`` (exact) and
    ``sigma sqrt(lambda / (2 - lambda))`` as ``t`` grows (asymptotic). Limits are
    ``target ± width * sd(z_t)`` (Lucas & Saccucci 1990; ``lambda = 0.1, width = 2.814``
    gives an in-control average run length of about 500 with asymptotic limits).

    Returns
    -------
    pandas.DataFrame
        ``step`` (1-based), ``center``, ``ewma_sd``, ``lower``, ``upper``.

    Raises
    ------
    ValueError
        If ``n_steps < 1``, ``target`` is not finite, ``sigma`` or ``width`` is not a
        positive finite number, ``smoothing`` is not in (0, 1] or ``exact`` is not a bool.
    """
    n_steps = check_integer(n_steps, "n_steps", minimum=1)
    target = check_finite_number(target, "target")
    sigma = check_positive(sigma, "sigma")
    smoothing = check_probability(smoothing, "smoothing", allow_zero=False)
    width = check_positive(width, "width")
    exact = check_flag(exact, "exact")
    steps = np.arange(1, n_steps + 1)
    sd = sigma * _ewma_sd_factor(smoothing, steps, exact)
    return pd.DataFrame(
        {
            "step": steps,
            "center": target,
            "ewma_sd": sd,
            "lower": target - width * sd,
            "upper": target + width * sd,
        }
    )


def _ewma_paths(values: np.ndarray, smoothing: float, start: Any) -> np.ndarray:
    """``z_t = lambda x_t + (1 - lambda) z_{t-1}`` along axis 0, from ``z_0 = start``."""
    from scipy.signal import lfilter  # here: scipy.signal is slow to import

    initial = (1 - smoothing) * np.asarray(start, dtype=float)[None, ...]
    return lfilter([smoothing], [1.0, -(1 - smoothing)], values, axis=0, zi=initial)[0]


def monitor_ewma(
    values: Any,
    *,
    target: float,
    sigma: float,
    smoothing: float = 0.1,
    width: float = 2.814,
    exact: bool = True,
) -> MonitorResult:
    """Run an EWMA monitor over a metric stream; flag steps outside the control limits.

    Parameters
    ----------
    values : array-like
        The monitored metric, one value per period (e.g. daily guardrail values).
    target, sigma : float
        In-control mean and standard deviation of one value (from the pre-launch period).
    smoothing : float
        ``lambda`` in (0, 1].
    width : float
        Limit width ``L`` in EWMA standard deviations.
    exact : bool
        Time-varying exact limits (default) or asymptotic ones.

    Returns
    -------
    MonitorResult
        ``table``: ``step``, ``value``, ``ewma``, ``lower``, ``upper``, ``alarm``;
        ``first_alarm``: the first alarming step (1-based) or ``None``.

    Raises
    ------
    ValueError
        If ``values`` is not a 1-D array of finite numbers, or a parameter is invalid (see
        :func:`ewma_control_limits`).
    """
    values = as_float_array(values, "values")
    limits = ewma_control_limits(
        values.size, target=target, sigma=sigma, smoothing=smoothing, width=width, exact=exact
    )
    ewma = _ewma_paths(values, float(smoothing), float(target))
    alarm = (ewma > limits["upper"].to_numpy()) | (ewma < limits["lower"].to_numpy())
    table = pd.DataFrame(
        {
            "step": limits["step"],
            "value": values,
            "ewma": ewma,
            "lower": limits["lower"],
            "upper": limits["upper"],
            "alarm": alarm,
        }
    )
    return MonitorResult.from_table(table, "step")


def simulate_ewma_run_lengths(
    *,
    smoothing: float = 0.1,
    width: float = 2.814,
    shift: float = 0.0,
    n_sims: int = 2000,
    max_steps: int = 5000,
    exact: bool = True,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Run lengths of an EWMA chart by simulation (standardised stream, shift in sd units).

    Simulates ``n_sims`` standard normal streams with mean ``shift`` from step 1, vectorised
    over streams and over blocks of steps, and returns the step of the first alarm for
    each; streams with no alarm by ``max_steps`` get ``max_steps + 1`` (censored: choose
    ``max_steps`` well above the average run length). The mean is the average run length
    (ARL); ``1 / ARL`` is the per-step false-alarm rate when ``shift = 0``.

    Returns
    -------
    numpy.ndarray
        ``n_sims`` integer run lengths in ``1..max_steps + 1``.

    Raises
    ------
    ValueError
        If ``smoothing`` is not in (0, 1], ``width`` is not a positive finite number,
        ``shift`` is not finite, ``n_sims`` or ``max_steps`` is below 1, ``exact`` is not a
        bool or ``rng`` is not a Generator, a seed or None.
    """
    rng = check_rng(rng)
    smoothing = check_probability(smoothing, "smoothing", allow_zero=False)
    width = check_positive(width, "width")
    shift = check_finite_number(shift, "shift")
    n_sims = check_integer(n_sims, "n_sims", minimum=1)
    max_steps = check_integer(max_steps, "max_steps", minimum=1)
    exact = check_flag(exact, "exact")
    limits = width * _ewma_sd_factor(smoothing, np.arange(1, max_steps + 1), exact)
    run_length = np.full(n_sims, max_steps + 1)
    active = np.arange(n_sims)  # the streams without an alarm so far
    level = np.zeros(n_sims)
    for start in range(0, max_steps, _BLOCK):
        stop = min(start + _BLOCK, max_steps)
        noise = shift + rng.standard_normal((stop - start, active.size))
        levels = _ewma_paths(noise, smoothing, level)
        alarm = np.abs(levels) > limits[start:stop, None]
        alarmed = alarm.any(axis=0)
        run_length[active[alarmed]] = start + 1 + alarm[:, alarmed].argmax(axis=0)
        active, level = active[~alarmed], levels[-1, ~alarmed]
        if active.size == 0:
            break
    return run_length


def ewma_average_run_length(
    *,
    smoothing: float = 0.1,
    width: float = 2.814,
    shift: float = 0.0,
    n_states: int = 401,
) -> float:
    """Average run length of an EWMA chart with asymptotic limits, by Markov chain.

    Discretises the in-control region into ``n_states`` cells and solves
    ``(I - P) a = 1`` (Brook & Evans 1972; the method behind Lucas & Saccucci's 1990
    tables), starting at the target. Independent of :func:`simulate_ewma_run_lengths`, so
    each checks the other. An even ``n_states`` is raised by one (the target needs a
    central cell).

    Returns
    -------
    float
        The average run length (steps to the first alarm, starting at the target) for a
        standardised stream whose mean is ``shift`` in-control sds from the target.

    Raises
    ------
    ValueError
        If ``smoothing`` is not in (0, 1], ``width`` is not a positive finite number,
        ``shift`` is not finite, ``n_states < 11``, or the limits are so wide that the run
        length overflows (the chain never leaves the in-control region numerically).
    """
    smoothing = check_probability(smoothing, "smoothing", allow_zero=False)
    width = check_positive(width, "width")
    shift = check_finite_number(shift, "shift")
    n_states = check_integer(n_states, "n_states", minimum=11)
    if n_states % 2 == 0:
        n_states += 1
    half = width * math.sqrt(smoothing / (2 - smoothing))
    cell = 2 * half / n_states
    centers = -half + cell * (np.arange(n_states) + 0.5)
    carried = (1 - smoothing) * centers[:, None]
    upper = (centers[None, :] + cell / 2 - carried) / smoothing - shift
    lower = (centers[None, :] - cell / 2 - carried) / smoothing - shift
    transition = stats.norm.cdf(upper) - stats.norm.cdf(lower)
    with np.errstate(all="ignore"):
        try:
            run_lengths = np.linalg.solve(np.eye(n_states) - transition, np.ones(n_states))
        except np.linalg.LinAlgError:
            run_lengths = np.full(n_states, np.inf)
    result = float(run_lengths[n_states // 2])
    if not (math.isfinite(result) and result >= 1 and np.all(transition.sum(axis=1) < 1)):
        raise ValueError(
            f"width ({width:g}) is so wide that the chart (almost) never alarms: "
            "its average run length is numerically infinite"
        )
    return result


# ----------------------------------------------------------------- sample ratio
def _shares(expected_shares: Any | None, n_arms: int) -> np.ndarray:
    if expected_shares is None:
        return np.full(n_arms, 1 / n_arms)
    shares = as_float_array(expected_shares, "expected_shares", min_size=2)
    if (
        shares.size != n_arms
        or np.any(shares <= 0)
        or np.any(shares >= 1)
        or not math.isclose(shares.sum(), 1.0)
    ):
        raise ValueError(
            f"expected_shares must be one share in (0, 1) per arm ({n_arms}) "
            f"summing to 1, got {shares.tolist()}"
        )
    return shares


def _cumulative_sample_ratio_tests(
    counts: np.ndarray, shares: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chi-square SRM tests on cumulative counts; ``counts`` has shape (..., days, arms)."""
    cumulative = np.cumsum(counts, axis=-2)
    expected = cumulative.sum(axis=-1, keepdims=True) * shares
    statistic = ((cumulative - expected) ** 2 / expected).sum(axis=-1)
    return cumulative, statistic, stats.chi2.sf(statistic, counts.shape[-1] - 1)


def monitor_sample_ratio(
    daily_counts: Any,
    expected_shares: Any | None = None,
    *,
    alpha: float = 0.001,
) -> MonitorResult:
    """Daily SRM monitor: a chi-square test on cumulative counts after each day.

    Looking every day is repeated testing, so each look uses ``alpha / n_days`` (Bonferroni
    over the planned looks): the probability of any false alarm over the whole run stays
    at most ``alpha``.

    Parameters
    ----------
    daily_counts : array-like, shape (n_days, n_arms)
        Units assigned to each arm each day.
    expected_shares : array-like, optional
        Planned shares (default equal).
    alpha : float
        Family-wise false-alarm rate over the run.

    Returns
    -------
    MonitorResult
        ``table``: ``day``, cumulative ``count_<arm>`` columns, ``statistic``, ``p_value``,
        ``level``, ``alarm`` (a day with no new units repeats the previous day's cumulative
        test); ``first_alarm``: the first alarming day or ``None``.

    Raises
    ------
    ValueError
        If ``daily_counts`` is not a 2-D array of non-negative integers with at least two
        arms (columns) and units on the first day, ``expected_shares`` is not one share
        in (0, 1) per arm summing to 1, or ``alpha`` is not in (0, 1).
    """
    counts = as_float_array(daily_counts, "daily_counts", ndim=2)
    if counts.shape[1] < 2:
        raise ValueError(
            f"daily_counts must have at least two arms (columns), got {counts.shape[1]}"
        )
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError("daily_counts must hold non-negative integer counts")
    alpha = check_alpha(alpha)
    shares = _shares(expected_shares, counts.shape[1])
    if counts[0].sum() <= 0:
        raise ValueError("daily_counts must have units on the first day")
    cumulative, statistic, p_value = _cumulative_sample_ratio_tests(counts, shares)
    level = alpha / counts.shape[0]
    table = pd.DataFrame(cumulative, columns=[f"count_{i}" for i in range(counts.shape[1])])
    table.insert(0, "day", np.arange(1, counts.shape[0] + 1))
    table["statistic"] = statistic
    table["p_value"] = p_value
    table["level"] = level
    table["alarm"] = p_value < level
    return MonitorResult.from_table(table, "day")
