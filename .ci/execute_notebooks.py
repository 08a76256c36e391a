"""Execute chapter notebooks as a reader would in Colab: fresh kernel, fresh user folders.

Usage: python execute_notebooks.py NOTEBOOK [NOTEBOOK ...]

Runs each notebook top to bottom with nbclient in the Python that runs this script (its
``python3`` kernel), from the notebook's folder, and fails (exit 1) when a cell raises or
anything is written to stderr. HOME and the XDG folders point at a new empty directory for
each notebook, as on a fresh machine. Prints each notebook's wall time. Pass the package's
wheel to the notebooks' own install cells through PIP_FIND_LINKS.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def execute(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fresh-home-") as home:
        for name, relative in {"HOME": "", "XDG_CACHE_HOME": ".cache",
                               "XDG_CONFIG_HOME": ".config", "XDG_DATA_HOME": ".local/share",
                               "MPLCONFIGDIR": ".config/matplotlib"}.items():
            folder = Path(home) / relative
            folder.mkdir(parents=True, exist_ok=True)
            os.environ[name] = str(folder)
        client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        started = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as error:
            problems.append(f"{path.name}: a cell raised:\n{str(error)[-3000:]}")
        elapsed = time.perf_counter() - started
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                problems.append(f"{path.name} cell {index} wrote to stderr:\n{output['text']}")
    print(f"{path.name}: executed in {elapsed:.1f} s, {len(problems)} problem(s)", flush=True)
    return problems


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    problems = [problem for path in paths for problem in execute(Path(path).resolve())]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
