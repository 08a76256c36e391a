"""Print a pip constraints file pinning every runtime dependency to its declared floor.

``pip install -c <(python .ci/floors.py) -e ".[test]"`` installs the oldest versions
``pyproject.toml`` admits (like uv's lowest-direct resolution), so the unit tests show
whether each floor is true; ``--check`` verifies, in the environment that runs it, that
every runtime dependency is installed at exactly its floor. A dependency without a single
``>=`` floor is an error.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

FLOOR = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*([^;]*)")


def floors(pyproject: Path) -> list[str]:
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    pins = []
    for requirement in dependencies:
        match = FLOOR.match(requirement)
        name, specifiers = match.group(1), match.group(2)
        lower = [part.strip()[2:] for part in specifiers.split(",") if ">=" in part]
        if len(lower) != 1:
            raise SystemExit(f"{requirement!r} has no single '>=' floor")
        pins.append(f"{name}=={lower[0]}")
    return pins


def check_installed(pins: list[str]) -> None:
    """Exit non-zero unless each pinned distribution is installed at exactly its floor."""
    from importlib.metadata import version

    from packaging.version import Version

    wrong = []
    for pin in pins:
        name, floor = pin.split("==")
        if Version(version(name)) != Version(floor):
            wrong.append(f"{name} {version(name)} (floor {floor})")
    if wrong:
        raise SystemExit("not at their floors: " + ", ".join(wrong))
    print("every runtime dependency is at its floor")


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    pins = floors(root / "pyproject.toml")
    if sys.argv[1:] == ["--check"]:
        check_installed(pins)
    else:
        print("\n".join(pins))
