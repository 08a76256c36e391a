"""Check the built sdist and wheel carry what a reader's install needs.

Usage: python check_dist.py DIST_FILE [DIST_FILE ...]
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

WHEEL_NEEDS = [
    "playbook_lib/__init__.py",
    "playbook_lib/py.typed",
    "playbook_lib/datasets/data/california_prop99.csv",
    "playbook_lib/datasets/data/mpdta.csv",
    "playbook_lib/datasets/data/mpdta_SOURCE.md",  # its source and licence travel with it
    "playbook_lib/datasets/data/kansas_SOURCE.md",
    "playbook_lib/data/benchmarks.json",  # the performance page reads it in Colab too
]
SDIST_NEEDS = ["LICENSE", "README.md", "pyproject.toml", *WHEEL_NEEDS]


def main(paths: list[str]) -> int:
    problems = []
    kinds = set()
    for path in map(Path, paths):
        if path.suffix == ".whl":
            kinds.add("wheel")
            names = zipfile.ZipFile(path).namelist()
            needs = WHEEL_NEEDS + ["LICENSE"]
            found = {
                need: any(name == need or name.endswith("/licenses/" + need) for name in names)
                for need in needs
            }
        elif path.name.endswith(".tar.gz"):
            kinds.add("sdist")
            names = [name.split("/", 1)[-1] for name in tarfile.open(path).getnames()]
            found = {need: need in names for need in SDIST_NEEDS}
        else:
            continue
        missing = [need for need, ok in found.items() if not ok]
        if missing:
            problems.append(f"{path.name} lacks {missing}")
        leaked = [name for name in names if "/tests/" in f"/{name}" or name.endswith(".ipynb")]
        if path.suffix == ".whl" and leaked:
            problems.append(f"{path.name} ships {leaked[:5]}")
    if kinds != {"wheel", "sdist"}:
        problems.append(f"expected a wheel and an sdist, got {sorted(kinds)}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("sdist and wheel carry the package data, py.typed and the licence")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
