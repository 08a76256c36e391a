"""ArviZ, imported on first use without its once-a-day notice (private).

ArviZ 0.2x announces its coming 1.0 refactor with a FutureWarning on the first import of
each day, per user cache (``~/.cache/arviz/daily_warning``): on a reader's fresh machine,
Colab or CI that is every run. It is about ArviZ's future API, not about these results,
and under ``jupyter-book build -W`` it fails the build. Importing :mod:`playbook_lib.hbm`
therefore ignores exactly that message (by its text and category, nothing else), so that
ArviZ stays quiet whoever imports it first: :func:`load_arviz` here, PyMC or nutpie inside
a fit, or a chapter after ``playbook_lib.hbm``. ArviZ itself (about 2 s) is imported only
when a function needs it, so importing the package does not pay for it.
"""

from __future__ import annotations

import warnings
from types import ModuleType

__all__ = ["load_arviz"]

# The once-a-day notice only (see the module docstring); every other warning still shows.
warnings.filterwarnings(
    "ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning
)


def load_arviz() -> ModuleType:
    """The ``arviz`` module, imported on the first call without its daily notice."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning
        )
        import arviz

    return arviz
