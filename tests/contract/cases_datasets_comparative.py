"""Contract cases for playbook_lib.datasets.comparative_cases (loaders without arguments)."""

from __future__ import annotations

from contract import Case
from playbook_lib.datasets import comparative_cases

CASES = [
    Case(comparative_cases.load_california_prop99, {}),
    Case(comparative_cases.load_texas_prison, {}),
]
