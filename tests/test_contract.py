"""The package's contract, checked over every public function (see tests/contract/).

Each public function has at least one :class:`contract.Case` (a valid call) in
``tests/contract/cases_<module>.py``; the harness derives bad inputs from the arguments'
kinds and checks that each raises a ``ValueError`` naming the argument, that nothing
leaks a ``RuntimeWarning`` or raises a foreign exception type, and that the valid call
returns finite numbers reproducibly. A new public function without a case fails
:func:`test_every_public_function_has_a_case`.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import contract
import pytest
from contract import Case

CASE_MODULES = sorted(
    info.name
    for info in pkgutil.iter_modules([str(Path(contract.__file__).parent)])
    if info.name.startswith("cases_")
)
CASES: list[Case] = [
    case for name in CASE_MODULES for case in importlib.import_module(f"contract.{name}").CASES
]


def test_every_public_function_has_a_case() -> None:
    covered = {
        f"{case.func.__module__.removeprefix('playbook_lib.')}.{case.func.__name__}"
        for case in CASES
    }
    missing = sorted(set(contract.public_functions()) - covered)
    assert not missing, f"{len(missing)} public functions without a contract case: {missing}"


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.timeout(180, method="thread")
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_contract(case: Case) -> None:
    problems = contract.check_case(case)
    assert not problems, f"{case.id} breaks the contract:\n  " + "\n  ".join(problems)
