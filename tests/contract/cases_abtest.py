"""Contract cases for playbook_lib.abtest (one valid call per public function)."""

from __future__ import annotations

import numpy as np

from contract import Bad, Case
from playbook_lib import abtest

_rng = np.random.default_rng(7)
_y_control = _rng.normal(10.0, 2.0, 60)
_y_treatment = _rng.normal(10.5, 2.0, 50)

CASES = [
    Case(abtest.compare_means, {"y_control": _y_control, "y_treatment": _y_treatment},
         extra=(Bad("one observation", {"y_control": _y_control[:1]}, ("y_control",)),)),
    Case(abtest.compare_means_from_stats, {
        "n_control": 60, "sum_control": float(_y_control.sum()),
        "sum_squares_control": float((_y_control**2).sum()),
        "n_treatment": 50, "sum_treatment": float(_y_treatment.sum()),
        "sum_squares_treatment": float((_y_treatment**2).sum()),
    }, kinds={"sum_control": "number", "sum_treatment": "number"}),
]
