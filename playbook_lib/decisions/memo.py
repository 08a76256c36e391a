"""The decision memo: a :class:`~playbook_lib.decisions.Decision` rendered as markdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playbook_lib.decisions._checks import as_text
from playbook_lib.decisions.continuation import ContinuationPlan
from playbook_lib.decisions.rule import Decision
from playbook_lib.decisions.value import NetValue
from playbook_lib.results import Estimate
from playbook_lib.validation import check_integer

__all__ = ["write_decision_memo"]


_NEXT_STEPS = {
    "ship": [
        "Ramp 10% → 25% → 50% → 100% with the gates of the ramp plan.",
        "Turn on the EWMA guardrail and SRM monitors for the launch.",
        "Keep a small holdout to measure the long-run effect.",
    ],
    "hold": [
        "Keep control in production. Collect more data only under a pre-registered "
        "continuation plan (the sizes of further looks, with alpha spent across them); "
        "re-applying the rule at the same alpha to extended data raises its false-ship "
        "rate above alpha.",
        "Do not re-run the decision on the same data with a different rule.",
    ],
    "iterate": [
        "Do not ship: the interval rules out the minimum effect of interest.",
        "Record what was learnt; redesign the change and pre-register a new test.",
    ],
    "roll back": [
        "Turn the treatment off now and keep control.",
        "Investigate the harmed metric(s) before any new attempt.",
    ],
}


def _text_lines(lines: Any, name: str) -> list[str]:
    if isinstance(lines, str | bytes) or not isinstance(lines, Sequence):
        raise ValueError(f"{name} must be a sequence of strings, got {type(lines).__name__}")
    for line in lines:
        if not isinstance(line, str):
            raise ValueError(f"{name} must hold only strings, got {line!r}")
    return list(lines)


def _format_interval(estimate: Estimate) -> str:
    return (
        f"{estimate.estimate:+.4g} ({estimate.confidence:.0%} interval "
        f"{estimate.ci_low:+.4g} to {estimate.ci_high:+.4g})"
    )


def write_decision_memo(
    decision: Decision,
    *,
    question: str,
    net_value: NetValue | None = None,
    risks: Sequence[str] = (),
    next_steps: Sequence[str] | None = None,
    title: str = "Decision memo",
    continuation: ContinuationPlan | None = None,
    look: int = 1,
) -> str:
    """A markdown decision memo from a :class:`Decision`.

    Sections: question, result (primary estimate with its interval), guardrails (a table),
    decision (action and reason), risks (net value and probability of loss if given, plus
    ``risks``) and next steps (defaults by action). With a ``continuation`` plan the result
    line names the look, and the next steps of a "hold" are the plan's
    (:meth:`ContinuationPlan.next_steps`): the next look's size and level, or "do not ship"
    at the last look. Without one, a "hold" says that more data needs a pre-registered
    continuation, because re-applying the rule at the same alpha to extended data is
    unplanned peeking.

    Parameters
    ----------
    decision : Decision
    question : str
    net_value : NetValue, optional
    risks : sequence of str
    next_steps : sequence of str, optional
        Replaces the default next steps.
    title : str
    continuation : ContinuationPlan, optional
        The pre-registered looks the decision belongs to.
    look : int
        Which look of ``continuation`` the decision was taken at (1-based).

    Returns
    -------
    str
        Markdown; display it with ``IPython.display.Markdown``.

    Raises
    ------
    ValueError
        If ``decision`` is not a :class:`Decision`, ``net_value`` not a :class:`NetValue`
        (or None), ``question`` or ``title`` not a non-empty string, ``risks`` or
        ``next_steps`` not a sequence of strings, ``continuation`` not a
        :class:`ContinuationPlan` (or None), or ``look`` not one of its looks.
    """
    if not isinstance(decision, Decision):
        raise ValueError(
            f"decision must be a Decision (from decide), got {type(decision).__name__}"
        )
    question = as_text(question, "question")
    title = as_text(title, "title")
    if net_value is not None and not isinstance(net_value, NetValue):
        raise ValueError(
            f"net_value must be a NetValue (from expected_net_value) or None, "
            f"got {type(net_value).__name__}"
        )
    if continuation is not None and not isinstance(continuation, ContinuationPlan):
        raise ValueError(
            "continuation must be a ContinuationPlan (from plan_continuation) or None, "
            f"got {type(continuation).__name__}"
        )
    look = check_integer(look, "look", minimum=1)
    if continuation is not None and look > continuation.n_looks:
        raise ValueError(
            f"look must be at most {continuation.n_looks} (the plan's looks), got {look}"
        )
    risks = _text_lines(risks, "risks")
    if next_steps is not None:
        next_steps = _text_lines(next_steps, "next_steps")
    rule = decision.rule
    primary = decision.estimates[rule.primary.name]
    checks = decision.checks
    superiority = checks[
        (checks["metric"] == rule.primary.name) & (checks["test"] == "superiority")
    ].iloc[0]
    lines = [
        f"**{title}**",
        "",
        f"**Question.** {question}",
        "",
        f"**Result.** {rule.primary.name}: {_format_interval(primary)}; "
        f"one-sided p = {superiority['p_value']:.3g} for an improvement "
        f"(rule: alpha = {rule.alpha:.4g}, minimum effect of interest "
        f"{rule.primary.minimum_effect:g}"
        + (
            f"; look {look} of {continuation.n_looks} of the pre-registered plan, overall "
            f"alpha = {continuation.rule.alpha:.4g}"
            if continuation is not None
            else ""
        )
        + ").",
        "",
    ]
    if rule.guardrails:
        lines += [
            "**Guardrails** (non-inferiority, one-sided):",
            "",
            "| metric | estimate | interval | margin | p (non-inferiority) | status |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for guardrail in rule.guardrails:
            est = decision.estimates[guardrail.name]
            row = checks[
                (checks["metric"] == guardrail.name) & (checks["test"] == "non-inferiority")
            ].iloc[0]
            worse = "+" if guardrail.direction == "lower_is_better" else "-"
            status = "pass" if row["passed"] else "not shown"
            lines.append(
                f"| {guardrail.name} | {est.estimate:+.4g} | "
                f"[{est.ci_low:+.4g}, {est.ci_high:+.4g}] | {worse}{guardrail.margin:g}"
                f" | {row['p_value']:.3g} | {status} |"
            )
        lines.append("")
    lines += [f"**Decision: {decision.action.upper()}.** {decision.reason}", ""]
    risk_lines = list(risks)
    if net_value is not None:
        risk_lines.insert(
            0,
            f"Expected net value {net_value.mean:,.0f} "
            f"({1 - net_value.alpha:.0%} range {net_value.low:,.0f} to "
            f"{net_value.high:,.0f}); probability of a loss "
            f"{net_value.probability_of_loss:.1%}.",
        )
    if risk_lines:
        lines += ["**Risks.**", ""] + [f"- {line}" for line in risk_lines] + [""]
    if next_steps is not None:
        steps = list(next_steps)
    elif continuation is not None and decision.action == "hold":
        steps = continuation.next_steps(look)
    else:
        steps = _NEXT_STEPS[decision.action]
    lines += ["**Next steps.**", ""] + [f"- {step}" for step in steps]
    return "\n".join(lines) + "\n"
