"""Contract cases for playbook_lib.aggregates (the classes validate in their constructors;
tests/test_aggregates.py checks them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from contract import Bad, Case
from playbook_lib import aggregates

_frame = pd.DataFrame(
    {"y": np.arange(12.0), "treatment": [0, 1] * 6, "day": np.repeat([1, 2, 3], 4)}
)

CASES = [
    Case(
        aggregates.arm_statistics,
        {"data": _frame, "outcome": "y"},
        kinds={"arms": "skip"},
        extra=(Bad("one arm", {"data": _frame.assign(treatment=1)}, ("treatment",)),),
    ),
    Case(
        aggregates.arm_statistics,
        {"data": _frame, "outcome": "y", "by": "day"},
        kinds={"arms": "skip"},
        label="by day",
        extra=(
            Bad(
                "an arm missing on a day",
                {"data": _frame.assign(treatment=np.r_[0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0])},
                ("treatment",),
            ),
        ),
    ),
]
