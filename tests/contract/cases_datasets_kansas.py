"""Contract cases for playbook_lib.datasets.kansas (the loader takes no arguments)."""

from __future__ import annotations

from contract import Case
from playbook_lib.datasets import kansas

CASES = [
    Case(kansas.load_kansas, {}),
]
