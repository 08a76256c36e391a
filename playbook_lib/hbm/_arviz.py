"""ArviZ, imported once without its once-a-day notice (private).

ArviZ 0.2x announces its coming 1.0 refactor with a FutureWarning on the first import of
each day, per user cache (``~/.cache/arviz/daily_warning``): on a reader's fresh machine,
Colab or CI that is every run. It is about ArviZ's future API, not about these results,
and under ``jupyter-book build -W`` it fails the build. Ignore exactly that message, only
while ArviZ is first imported here (PyMC and nutpie then find it already imported); every
file of :mod:`playbook_lib.hbm` takes ``az`` from here.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning
    )
    import arviz as az

__all__ = ["az"]
