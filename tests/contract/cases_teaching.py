"""Contract cases for playbook_lib.teaching (one valid call per public function)."""

from __future__ import annotations

from contract import Bad, Case
from playbook_lib import teaching

_fingerprint = teaching.answer_hash("contract-task", 0.1235, 4)

CASES = [
    Case(
        teaching.answer_hash,
        {"task": "contract-task", "answer": 0.1235, "digits": 4},
        kinds={"task": "text", "answer": "number"},
        # a word answer is legitimate: "0.1235" is the word whose canonical form is the
        # rounded number's, so it is hashed (and checked) like the number
        accepts=("answer=string",),
        extra=(
            Bad("empty task", {"task": " "}, ("task",)),
            Bad("fraction without digits", {"digits": None}, ("digits",)),
            Bad("too many digits", {"digits": 13}, ("digits",)),
            Bad("empty word", {"answer": " ", "digits": None}, ("answer",)),
        ),
    ),
    Case(
        teaching.check_answer,
        {"task": "contract-task", "answer": 0.1235, "expected": _fingerprint, "digits": 4},
        kinds={"task": "text", "answer": "number", "expected": "text"},
        accepts=("answer=string",),
        extra=(
            Bad("not a fingerprint", {"expected": "0.1235"}, ("expected",)),
            Bad("negative tolerance", {"tolerance": -1}, ("tolerance",)),
            Bad("huge tolerance", {"tolerance": 11}, ("tolerance",)),
            Bad(
                "unanswered",
                {"answer": None},
                (),
                expect="result",
                check=lambda result: result.status == "unanswered",
            ),
        ),
    ),
    Case(teaching.summarize_checks, {}),
]
