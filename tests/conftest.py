"""Shared pytest configuration: the headless plotting backend and the shared/ folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

# One BLAS/OpenMP thread per process: pytest-xdist already runs two workers on the two cores,
# and oversubscribed BLAS threads made small SVDs ~20x slower. Set before the chapter kernels
# start so they inherit it; threadpoolctl caps this process's already-loaded libraries.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import matplotlib  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(1)

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CHAPTER_BUDGET_SECONDS = 90.0
CHAPTER_BUDGET_SECONDS = {"hbm": 180.0}
BOOK_DIR = REPO_ROOT / "book"


def _install_strict_notebook_runs() -> None:
    """Make nbmake fail a chapter that writes to stderr or overruns its time budget.

    Budget: 90 s of wall time per chapter, 180 s for the hierarchical-models chapter (the
    project's standard on the 2-core machine; the execution-statistics page shows the times).

    The rendered book is built with ``stderr_output: warn`` and ``-W``, so any stderr output
    would break the real build; checking it here catches that when nbmake executes the
    chapters. This conftest is imported before ``book/`` is collected (``testpaths`` lists
    ``tests`` first), so the wrapper is in place for every notebook item.
    """
    from nbmake.nb_result import NotebookError
    from nbmake.nb_run import NotebookRun

    if getattr(NotebookRun.execute, "_checks_stderr", False):
        return
    original_execute = NotebookRun.execute

    def execute_and_check_stderr(self):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = original_execute(self)
        elapsed = time.perf_counter() - started
        if result.error is not None:
            return result
        chapter = Path(str(self.filename)).stem
        budget = CHAPTER_BUDGET_SECONDS.get(chapter, DEFAULT_CHAPTER_BUDGET_SECONDS)
        if elapsed > budget:
            result.error = NotebookError(
                summary=f"{chapter} took {elapsed:.0f} s, over its {budget:.0f} s budget",
                trace=f"{chapter} executed in {elapsed:.1f} s; the budget is {budget:.0f} s",
                failing_cell_index=0,
            )
            return result
        for index, cell in enumerate(result.nb.cells):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    text = "".join(output.get("text", ""))
                    result.error = NotebookError(
                        summary=f"cell {index} wrote to stderr: {text[:300]!r}",
                        trace=f"cell {index} source:\n{cell.source}\n\nstderr:\n{text}",
                        failing_cell_index=index,
                    )
                    return result
        return result

    execute_and_check_stderr._checks_stderr = True  # type: ignore[attr-defined]
    NotebookRun.execute = execute_and_check_stderr  # type: ignore[method-assign]


_install_strict_notebook_runs()
