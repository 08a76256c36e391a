"""Checks shared by the files of :mod:`playbook_lib.synth` (private)."""

from __future__ import annotations

from typing import Any

from playbook_lib.synth.panel import Panel

PLACEBO_POOLS = ("all", "donors", "sets")
SYNTHDID_METHODS = ("sdid", "did", "sc")


def check_panel(panel: Any) -> Panel:
    """``panel`` is a :class:`~playbook_lib.synth.Panel` (built by ``prepare_panel``)."""
    if not isinstance(panel, Panel):
        raise ValueError(
            f"panel must be a Panel (build it with synth.prepare_panel(data, ...) or "
            f"synth.Panel.from_matrix), got {type(panel).__name__}"
        )
    return panel
