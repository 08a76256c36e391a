"""Contract cases for playbook_lib.datasets.policy_panels (loaders take no arguments)."""

from __future__ import annotations

from contract import Case
from playbook_lib.datasets import policy_panels

CASES = [
    Case(policy_panels.load_organ_donations, {}),
    # load_castle's first_treated is NaN for never-treated states (documented); the
    # harness does not look inside DataFrames, so no allow_nan_result is needed
    Case(policy_panels.load_castle, {}),
]
