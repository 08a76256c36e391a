"""Contract cases for playbook_lib.validation: the checks keep the contract they enforce.

Each check names the argument through its ``name`` parameter, so the cases pass the
parameter's own name there (``name="values"``) and the harness finds it in the message.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contract import Bad, Case
from playbook_lib import validation as v

_frame = pd.DataFrame({"y": [1.0, 2.0, 4.0], "group": ["a", "b", "a"]})
_skip_name = {"name": "skip"}

CASES = [
    Case(v.as_float_array, {"values": [1.0, 2.0, 3.0], "name": "values"}, kinds=_skip_name),
    Case(v.check_finite_number, {"value": 1.5, "name": "value"}, kinds=_skip_name),
    Case(v.check_alpha, {"alpha": 0.05}, kinds=_skip_name),
    Case(
        v.check_probability,
        {"value": 0.3, "name": "value"},
        kinds={**_skip_name, "value": "probability"},
    ),
    Case(
        v.check_positive, {"value": 2.0, "name": "value"}, kinds={**_skip_name, "value": "positive"}
    ),
    Case(
        v.check_integer,
        {"value": 3, "name": "value", "minimum": 1},
        kinds={**_skip_name, "value": "count", "minimum": "skip"},
    ),
    Case(
        v.check_counts,
        {"successes": 3, "trials": 10, "successes_name": "successes", "trials_name": "trials"},
        kinds={
            "successes": "count",
            "trials": "count",
            "successes_name": "skip",
            "trials_name": "skip",
        },
    ),
    Case(
        v.check_not_constant, {"values": np.array([1.0, 2.0]), "name": "values"}, kinds=_skip_name
    ),
    Case(v.check_choice, {"value": "a", "name": "value", "allowed": ("a", "b")}, kinds=_skip_name),
    # check_columns only checks that the columns exist: an empty frame, or one with NaN
    # in a column, has them.
    Case(
        v.check_columns,
        {"data": _frame, "columns": ["y"]},
        kinds={"name": "skip"},
        accepts=("data=empty", "data[*]=*"),
    ),
    # require_columns checks presence (and rows), not the values in the columns.
    Case(
        v.require_columns,
        {"data": _frame, "outcome": "y"},
        kinds={"name": "skip", "outcome": "text"},
        accepts=("data[*]=*",),
        extra=(
            Bad(
                "a column for two roles",
                {"outcome": "y", "unit": "y", "distinct": True},
                ("two roles",),
            ),
        ),
    ),
    # An empty column is a valid (empty) float array; its values are checked.
    Case(
        v.column_as_float_array,
        {"data": _frame, "column": "y", "name": "data"},
        kinds=_skip_name,
        accepts=("data=empty",),
    ),
    Case(v.check_binary, {"values": [0, 1, 1, 0], "name": "values"}, kinds=_skip_name),
    Case(
        v.check_sum_of_squares,
        {"n": 3, "total": 7.0, "sum_squares": 21.0, "name": "sum_squares"},
        kinds={"name": "skip", "n": "positive"},
    ),
    Case(v.check_rng, {"rng": 3}, kinds={"name": "skip"}),
    Case(
        v.as_numeric_array, {"values": [[1.0, 2.0], [3.0, 4.0]], "name": "values"}, kinds=_skip_name
    ),
    Case(
        v.check_regression_design,
        {
            "design": np.column_stack([np.ones(6), [0, 1] * 3, np.arange(6.0)]),
            "rows_name": "data",
            "cov_type": "HC2",
        },
        kinds={"rows_name": "skip", "cov_type": "skip"},
        extra=(
            Bad("collinear", {"design": np.ones((6, 2))}, ("collinear",)),
            Bad("too few rows", {"design": np.eye(2)}, ("data has 2 rows",)),
        ),
    ),
    Case(v.warn_point_interval, {"what": "compare_means"}, kinds={"what": "text"}),
    Case(v.check_flag, {"value": True, "name": "value"}, kinds=_skip_name),
    # Keyword arrays: the harness generates nothing for **arrays, so the bad input is here.
    Case(
        v.check_same_length,
        {"x": [1.0, 2.0], "y": [3.0, 4.0]},
        extra=(Bad("lengths differ", {"y": [3.0]}, ("x has 2", "y has 1")),),
    ),
]
