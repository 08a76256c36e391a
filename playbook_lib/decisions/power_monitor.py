"""Is a running test on track to reach its planned power, given its variance and traffic?

:func:`monitor_power` takes the plan (effect, level, power, sample size per arm) and the
running test's typed statistics per arm (:class:`playbook_lib.aggregates.ArmStatistics`),
and reports the power projected at the planned end with the *observed* variances of both
arms, the sample size now needed (per arm and in total, labelled), and whether the test is
on track, in a :class:`PowerCheck`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import optimize, stats

from playbook_lib.aggregates import ArmStatistics
from playbook_lib.validation import check_alpha, check_choice, check_positive, check_probability

__all__ = ["PowerCheck", "monitor_power"]

ALTERNATIVES = ("larger", "two-sided")


@dataclass(frozen=True)
class PowerCheck:
    """The report of :func:`monitor_power`.

    Attributes
    ----------
    projected_power : float
        Power at the planned end, with the observed variances and the projected sizes.
    target_power : float
        The planned power.
    on_track : bool
        ``projected_power >= target_power``.
    needed_n_per_arm : int
        Sample size per arm (equal allocation) that reaches ``target_power`` at the planned
        effect with the observed variances.
    needed_n_total : int
        ``2 * needed_n_per_arm``: both arms together.
    planned_n_per_arm : float
        The plan's sample size per arm.
    projected_n_control, projected_n_treatment : float
        Each arm's size at the planned end (the plan's, or the observed traffic projected).
    current_n_control, current_n_treatment : int
        Each arm's size now.
    variance_control, variance_treatment : float
        The observed per-unit variances (``ddof=1``).
    planned_effect : float
        The effect the test is powered for, in the metric's units.
    alpha : float
        The test's level (one-sided for ``alternative="larger"``).
    alternative : {"larger", "two-sided"}
    additional_days : float or None
        Days of traffic, at the observed rate of the slower arm, until both arms reach
        ``needed_n_per_arm`` (0 when they already have); None without traffic data.
    """

    projected_power: float
    target_power: float
    on_track: bool
    needed_n_per_arm: int
    needed_n_total: int
    planned_n_per_arm: float
    projected_n_control: float
    projected_n_treatment: float
    current_n_control: int
    current_n_treatment: int
    variance_control: float
    variance_treatment: float
    planned_effect: float
    alpha: float
    alternative: str
    additional_days: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """The report as a two-column table (``quantity``, ``value``), sizes labelled per
        arm or in total."""
        rows = {
            "current n, control": self.current_n_control,
            "current n, treatment": self.current_n_treatment,
            "planned n per arm": self.planned_n_per_arm,
            "projected n at planned end, control": self.projected_n_control,
            "projected n at planned end, treatment": self.projected_n_treatment,
            "observed sd, control": math.sqrt(self.variance_control),
            "observed sd, treatment": math.sqrt(self.variance_treatment),
            "projected power at planned end": self.projected_power,
            "target power": self.target_power,
            "n needed per arm": self.needed_n_per_arm,
            "n needed in total (both arms)": self.needed_n_total,
            "on track": self.on_track,
        }
        if self.additional_days is not None:
            rows["additional days needed"] = self.additional_days
        return pd.DataFrame({"quantity": list(rows), "value": list(rows.values())}).set_index(
            "quantity"
        )


def _power(effect_over_se: float, alpha: float, alternative: str) -> float:
    """Power of the normal test at standardised effect ``effect / se`` (statsmodels' form)."""
    if alternative == "larger":
        return float(stats.norm.sf(stats.norm.isf(alpha) - effect_over_se))
    critical = stats.norm.isf(alpha / 2)
    return float(
        stats.norm.sf(critical - effect_over_se) + stats.norm.cdf(-critical - effect_over_se)
    )


def monitor_power(
    control: ArmStatistics,
    treatment: ArmStatistics,
    *,
    planned_effect: float,
    planned_n_per_arm: float,
    alpha: float = 0.025,
    power: float = 0.8,
    alternative: str = "larger",
    days_elapsed: float | None = None,
    planned_days: float | None = None,
) -> PowerCheck:
    """Project a running test's power at its planned end from its observed variance and traffic.

    With per-unit variances ``s_c^2, s_t^2`` observed so far and sizes ``n_c, n_t`` at the
    planned end, the difference in means has ``se = sqrt(s_c^2 / n_c + s_t^2 / n_t)`` and
    the normal test of ``H0: effect = 0`` has power
    ``Phi(delta / se - z_{1 - alpha})`` (one-sided, ``alternative="larger"``) or
    ``Phi(delta / se - z_{1 - alpha/2}) + Phi(-delta / se - z_{1 - alpha/2})``
    (two-sided), the forms of statsmodels' ``NormalIndPower``. The sample size needed per
    arm with equal allocation solves the same equation for ``n_c = n_t = n``; one-sided,
    ``n = (z_{1 - alpha} + z_{power})^2 (s_c^2 + s_t^2) / delta^2``. Both arms' variances
    are used: standardising by the control arm's variance alone understates the treated
    arm's (for a proportion, ``p_t (1 - p_t) > p_c (1 - p_c)`` below one half) and asks
    for too few units.

    Parameters
    ----------
    control, treatment : ArmStatistics
        The running test's statistics per arm so far (``ArmStatistics.from_counts`` for a
        conversion rate), each with at least two units.
    planned_effect : float
        The effect the test was powered for (> 0), a difference in means in the metric's
        units.
    planned_n_per_arm : float
        The plan's sample size per arm (> 0).
    alpha : float
        The test's level: one-sided (default 0.025, as a :class:`DecisionRule`) or
        two-sided.
    power : float
        The planned power, in (alpha, 1).
    alternative : {"larger", "two-sided"}
    days_elapsed, planned_days : float, optional
        Give both to project each arm's size at the planned end from its traffic so far,
        ``n_arm * planned_days / days_elapsed``, instead of assuming the plan's size; the
        report then also states the additional days needed.

    Returns
    -------
    PowerCheck
        A constant metric in both arms (zero variance) has power 1 and needs 2 units per
        arm (the fewest that estimate a variance).

    Raises
    ------
    ValueError
        If ``control`` or ``treatment`` is not an
        :class:`~playbook_lib.aggregates.ArmStatistics` with one entry and at least two
        units, ``planned_effect`` or ``planned_n_per_arm`` is not positive,
        ``alpha`` or ``power`` is outside (0, 1) or ``power <= alpha``, ``alternative`` is
        unknown, or only one of ``days_elapsed`` and ``planned_days`` is given (or one is
        not positive).

    Notes
    -----
    Chow, Shao & Wang (2008), *Sample Size Calculations in Clinical Research*, sec. 3.2
    (two-sample test with unequal variances, normal approximation); statsmodels'
    ``NormalIndPower`` for the power function.
    """
    arms = {}
    for name, arm in (("control", control), ("treatment", treatment)):
        if not isinstance(arm, ArmStatistics):
            raise ValueError(
                f"{name} must be a playbook_lib.aggregates.ArmStatistics, got {type(arm).__name__}"
            )
        if not isinstance(arm.n, int):
            raise ValueError(f"{name} must hold one arm's totals (one entry), got arrays")
        if arm.n < 2:
            raise ValueError(f"{name} needs at least two units to estimate a variance, got {arm.n}")
        arms[name] = (arm.n, float(arm.variance))
    planned_effect = check_positive(planned_effect, "planned_effect")
    planned_n = check_positive(planned_n_per_arm, "planned_n_per_arm")
    alpha = check_alpha(alpha)
    power = check_probability(power, "power")
    if not 0 < power < 1 or power <= alpha:
        raise ValueError(f"power must lie in (alpha, 1) = ({alpha:g}, 1), got {power}")
    check_choice(alternative, "alternative", ALTERNATIVES)
    if (days_elapsed is None) != (planned_days is None):
        raise ValueError(
            "days_elapsed and planned_days must be given together (to project traffic) or "
            "not at all"
        )
    (n_c, var_c), (n_t, var_t) = arms["control"], arms["treatment"]
    if days_elapsed is not None:
        days_elapsed = check_positive(days_elapsed, "days_elapsed")
        planned_days = check_positive(planned_days, "planned_days")
        end_c = n_c * planned_days / days_elapsed
        end_t = n_t * planned_days / days_elapsed
    else:
        end_c = end_t = planned_n
    variance_sum = var_c + var_t
    if variance_sum == 0:
        projected, needed = 1.0, 2
    else:
        se_end = math.sqrt(var_c / end_c + var_t / end_t)
        projected = _power(planned_effect / se_end, alpha, alternative)
        one_sided = alpha if alternative == "larger" else alpha / 2
        closed_form = (
            (stats.norm.isf(one_sided) + stats.norm.ppf(power)) ** 2
            * variance_sum
            / planned_effect**2
        )
        if alternative == "two-sided":  # the far tail adds a little power: solve exactly

            def shortfall(n: float) -> float:
                return (
                    _power(planned_effect / math.sqrt(variance_sum / n), alpha, alternative) - power
                )

            # The one-sided size is an upper bound; the root lies below it, as far below as
            # power is close to alpha (power -> alpha as n -> 0), so halve until bracketed.
            low = closed_form * 0.5
            while shortfall(low) > 0:
                low /= 2
            closed_form = optimize.brentq(shortfall, low, closed_form * 1.01)
        needed = max(2, math.ceil(closed_form - 1e-9))
    additional_days = None
    if days_elapsed is not None:
        rate = min(n_c, n_t) / days_elapsed
        additional_days = max(0.0, (needed - min(n_c, n_t)) / rate)
    return PowerCheck(
        projected_power=projected,
        target_power=power,
        on_track=projected >= power,
        needed_n_per_arm=int(needed),
        needed_n_total=int(2 * needed),
        planned_n_per_arm=planned_n,
        projected_n_control=float(end_c),
        projected_n_treatment=float(end_t),
        current_n_control=int(n_c),
        current_n_treatment=int(n_t),
        variance_control=var_c,
        variance_treatment=var_t,
        planned_effect=planned_effect,
        alpha=alpha,
        alternative=alternative,
        additional_days=additional_days,
    )
