"""Self-checks for the course assignments: tell a student whether an answer is right
without showing the answer.

An assignment stores, for each task, a short fingerprint of the right answer instead of the
answer itself: the first 16 hexadecimal digits of the SHA-256 hash of the task's label and
the answer written in a canonical form (a number rounded to the stated decimals, an
integer, a lower-case word). :func:`check_answer` computes the same fingerprint of the
student's answer and compares. A number may be off by ``tolerance`` units in its last
decimal (a computation that differs in the last bit can round the other way), which is
checked by hashing the neighbouring rounded values, so no value is stored in the clear.

A fingerprint hides the answer from reading, not from search: with a few decimals a
determined student could hash every candidate. The checks are for learning, not for
grading; grade the notebook's reasoning.

Every call of :func:`check_answer` in a session is remembered, latest result per task, so
:func:`summarize_checks` can show the score so far (the teacher's version of an assignment
asserts from it that every task is right).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.validation import check_integer

__all__ = ["SelfCheck", "answer_hash", "check_answer", "summarize_checks"]

_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
_MAX_DIGITS = 12
# The latest result of each task checked in this session, in the order first checked.
_RESULTS: dict[str, SelfCheck] = {}


def _check_task(task: Any) -> str:
    if not isinstance(task, str) or not task.strip():
        raise ValueError(f"task must be a non-empty string, got {task!r}")
    return task.strip()


def _check_digits(digits: Any) -> int | None:
    if digits is None:
        return None
    digits = check_integer(digits, "digits", minimum=0)
    if digits > _MAX_DIGITS:
        raise ValueError(f"digits must be at most {_MAX_DIGITS}, got {digits}")
    return digits


def _canonical(answer: Any, digits: int | None) -> str:
    """The answer as the text that is hashed: a rounded number, an integer or a word."""
    if isinstance(answer, bool | np.bool_):
        return "true" if answer else "false"
    if isinstance(answer, str):
        text = " ".join(answer.strip().lower().split())
        if not text:
            raise ValueError("answer must not be an empty string")
        return text
    if isinstance(answer, np.ndarray) and answer.ndim == 0:
        answer = answer.item()
    if not isinstance(answer, Real | np.number):
        raise ValueError(f"answer must be a number, a word or a bool, got {type(answer).__name__}")
    value = float(answer)
    if not math.isfinite(value):
        raise ValueError(f"answer must be finite, got {value}")
    if digits is None:
        if isinstance(answer, Integral | np.integer) or value.is_integer():
            return str(int(value))
        raise ValueError(
            "answer is not a whole number: give digits (the decimals the task asks for)"
        )
    rounded = round(value, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:.{digits}f}"


def answer_hash(task: str, answer: Any, digits: int | None = None) -> str:
    """The fingerprint of ``answer`` to task ``task``, as an assignment stores it.

    Parameters
    ----------
    task
        The task's label, e.g. ``"week1-task2"``; it salts the hash, so two tasks with the
        same answer have different fingerprints.
    answer
        A real number (rounded to ``digits`` decimals), an integer, a bool or a word
        (compared case-insensitively, spaces collapsed).
    digits
        Decimals a number is rounded to; ``None`` for integers, bools and words.

    Returns
    -------
    str
        The first 16 hexadecimal digits of SHA-256 of ``"<task>:<canonical answer>"``.

    Raises
    ------
    ValueError
        If ``task`` is empty, ``answer`` is not finite, not a number, word or bool, or is
        a fraction while ``digits`` is ``None``, or ``digits`` is not an integer in 0-12.
    """
    task = _check_task(task)
    digits = _check_digits(digits)
    canonical = _canonical(answer, digits)
    return hashlib.sha256(f"{task}:{canonical}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SelfCheck:
    """The result of one self-check: ``status`` is ``"correct"``, ``"incorrect"`` or
    ``"unanswered"`` (the answer is still ``...`` or ``None``). True only when correct.

    Attributes
    ----------
    task : str
        The task's label.
    status : str
        ``"correct"``, ``"incorrect"`` or ``"unanswered"``.
    message : str
        What to tell the student; it never contains the right answer.
    """

    task: str
    status: str
    message: str

    def __bool__(self) -> bool:
        return self.status == "correct"

    def __repr__(self) -> str:
        return f"{self.task}: {self.message}"

    def _repr_html_(self) -> str:
        colour = {"correct": "#1a7f37", "incorrect": "#b35900"}.get(self.status, "#57606a")
        mark = {"correct": "&#10004;", "incorrect": "&#10008;"}.get(self.status, "&#8230;")
        return (
            f'<p style="color: {colour}; font-weight: 600">{mark} {self.task}: {self.message}</p>'
        )


def check_answer(
    task: str,
    answer: Any,
    expected: str,
    digits: int | None = None,
    tolerance: int = 1,
) -> SelfCheck:
    """Check a student's ``answer`` against the fingerprint ``expected``.

    Parameters
    ----------
    task
        The task's label (the one the fingerprint was made with).
    answer
        The student's answer; ``...`` or ``None`` means not answered yet.
    expected
        The right answer's :func:`answer_hash` (16 hexadecimal digits).
    digits
        Decimals a number is rounded to before hashing; ``None`` for integers, bools and
        words.
    tolerance
        How many units of the last decimal (or, with ``digits=None``, of an integer) a
        number may be off and still count as right (0 to 10). Words and bools must match.

    Returns
    -------
    SelfCheck
        ``"correct"``, ``"incorrect"`` (with a hint on rounding, never the answer) or
        ``"unanswered"``; it is also remembered for :func:`summarize_checks`.

    Raises
    ------
    ValueError
        If ``expected`` is not 16 hexadecimal digits, ``tolerance`` is not an integer in
        0-10, or ``task``, ``answer`` or ``digits`` are invalid as in :func:`answer_hash`.
    """
    task = _check_task(task)
    if not isinstance(expected, str) or not _FINGERPRINT.match(expected):
        raise ValueError(f"expected must be 16 lower-case hexadecimal digits, got {expected!r}")
    digits = _check_digits(digits)
    tolerance = check_integer(tolerance, "tolerance", minimum=0)
    if tolerance > 10:
        raise ValueError(f"tolerance must be at most 10, got {tolerance}")
    if answer is None or answer is Ellipsis:
        result = SelfCheck(task, "unanswered", "no answer yet (replace the ... above)")
    else:
        canonical = _canonical(answer, digits)  # validates the answer
        candidates: list[Any] = [answer]
        if not isinstance(answer, str | bool | np.bool_):
            unit = 10.0 ** -(digits or 0)
            value = float(canonical)
            candidates = [value + k * unit for k in range(-tolerance, tolerance + 1)]
        right = any(answer_hash(task, c, digits) == expected for c in candidates)
        if right:
            result = SelfCheck(task, "correct", "correct")
        elif digits is not None:
            result = SelfCheck(
                task, "incorrect", f"not yet right (the answer is rounded to {digits} decimals)"
            )
        else:
            result = SelfCheck(task, "incorrect", "not yet right")
    _RESULTS[task] = result
    return result


def summarize_checks() -> pd.DataFrame:
    """The latest self-check of each task checked in this session, as a table.

    Returns
    -------
    pandas.DataFrame
        One row per task, in the order first checked, with columns ``task`` and
        ``status``; empty (with those columns) before the first check.
    """
    rows = [(check.task, check.status) for check in _RESULTS.values()]
    return pd.DataFrame(rows, columns=["task", "status"])
