"""Contract cases for playbook_lib.warehouse (a small event log written once per run)."""

from __future__ import annotations

import tempfile

from contract import Bad, Case
from playbook_lib import warehouse
from playbook_lib.simulate import simulate_bandit_logs

_LOG = warehouse.simulate_event_log(2_000, n_days=3, n_pre_days=3, rng=1)
_DIRECTORY = tempfile.mkdtemp(prefix="playbook-warehouse-")
warehouse.write_event_log(_LOG, _DIRECTORY)
_BANDIT_LOG = simulate_bandit_logs([0.1, 0.12], 300, propensity_floor=0.05, rng=3)
warehouse.write_table(_BANDIT_LOG, _DIRECTORY, "bandit_log")
_CONNECTION = warehouse.connect(_DIRECTORY, threads=1)
_path = {"directory": "text"}
_GEO_LOG = warehouse.simulate_event_log(
    2_000, n_days=3, n_pre_days=3, n_geos=6, assignment="geo", rng=2
)
_GEO_DIRECTORY = tempfile.mkdtemp(prefix="playbook-warehouse-geo-")
warehouse.write_event_log(_GEO_LOG, _GEO_DIRECTORY)
_GEO_CONNECTION = warehouse.connect(_GEO_DIRECTORY, threads=1)

CASES = [
    Case(warehouse.simulate_event_log, {"n_users": 500, "n_days": 3, "n_pre_days": 2}),
    # Writing files: checked once by tests/test_warehouse.py, not on every mutation.
    Case(
        warehouse.write_event_log,
        {"log": _LOG, "directory": _DIRECTORY},
        kinds=_path,
        check_valid=False,
    ),
    Case(
        warehouse.connect,
        {"directory": _DIRECTORY},
        kinds={**_path, "threads": "skip"},
        check_valid=False,
    ),
    Case(warehouse.query_arm_metrics, {"connection": _CONNECTION}, kinds={"connection": "object"}),
    Case(
        warehouse.query_covariate_moments,
        {"connection": _CONNECTION},
        kinds={"connection": "object"},
    ),
    Case(
        warehouse.covariate_moments_from_rows,
        {"rows": _CONNECTION.execute(warehouse.COVARIATE_MOMENTS_SQL).df()},
        kinds={"rows": "skip"},
        extra=(
            Bad("not a frame", {"rows": "rows"}, ("rows",)),
            Bad(
                "arms reversed",
                {"rows": _CONNECTION.execute(warehouse.COVARIATE_MOMENTS_SQL).df().iloc[::-1]},
                ("rows",),
            ),
        ),
    ),
    Case(
        warehouse.query_sample_ratio_counts,
        {"connection": _CONNECTION},
        kinds={"connection": "object"},
    ),
    Case(
        warehouse.simulate_event_log,
        {"n_users": 500, "n_days": 3, "n_pre_days": 2, "n_geos": 4, "assignment": "geo"},
        label="geo",
    ),
    Case(
        warehouse.query_unit_statistics,
        {"connection": _CONNECTION},
        kinds={"connection": "object"},
        extra=(Bad("geo-randomised log", {"connection": _GEO_CONNECTION}, ("geo",)),),
    ),
    Case(
        warehouse.query_geo_deltas,
        {"connection": _GEO_CONNECTION},
        kinds={"connection": "object"},
        extra=(Bad("user-randomised log", {"connection": _CONNECTION}, ("geo",)),),
    ),
    Case(
        warehouse.write_table,
        {"frame": _BANDIT_LOG, "directory": _DIRECTORY, "name": "bandit_log_copy"},
        kinds={**_path, "name": "text"},
        check_valid=False,
        # a table is written as it is: its values are the queries' business
        accepts=("frame[*]=*",),
        extra=(Bad("name not an identifier", {"name": "bandit log"}, ("name",)),),
    ),
    Case(
        warehouse.query_ipw_scores,
        {"connection": _CONNECTION},
        kinds={"connection": "object"},
        extra=(Bad("no bandit_log", {"connection": _GEO_CONNECTION}, ("bandit_log",)),),
    ),
    Case(warehouse.query_panel, {"connection": _CONNECTION}, kinds={"connection": "object"}),
    Case(warehouse.query_daily_looks, {"connection": _CONNECTION}, kinds={"connection": "object"}),
]
