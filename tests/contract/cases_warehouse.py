"""Contract cases for playbook_lib.warehouse (a small event log written once per run)."""

from __future__ import annotations

import tempfile

from contract import Case
from playbook_lib import warehouse

_LOG = warehouse.simulate_event_log(2_000, n_days=3, n_pre_days=3, rng=1)
_DIRECTORY = tempfile.mkdtemp(prefix="playbook-warehouse-")
warehouse.write_event_log(_LOG, _DIRECTORY)
_CONNECTION = warehouse.connect(_DIRECTORY, threads=1)
_path = {"directory": "text"}

CASES = [
    Case(warehouse.simulate_event_log, {"n_users": 500, "n_days": 3, "n_pre_days": 2}),
    # Writing files: checked once by tests/test_warehouse.py, not on every mutation.
    Case(warehouse.write_event_log, {"log": _LOG, "directory": _DIRECTORY},
         kinds=_path, check_valid=False),
    Case(warehouse.connect, {"directory": _DIRECTORY}, kinds={**_path, "threads": "skip"},
         check_valid=False),
    Case(warehouse.query_arm_metrics, {"connection": _CONNECTION},
         kinds={"connection": "object"}),
    Case(warehouse.query_sample_ratio_counts, {"connection": _CONNECTION},
         kinds={"connection": "object"}),
    Case(warehouse.query_daily_looks, {"connection": _CONNECTION},
         kinds={"connection": "object"}),
]
