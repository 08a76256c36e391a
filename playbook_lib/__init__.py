"""playbook_lib: the helper package of the Experimentation Playbook.

One subpackage per chapter's idea, one file per idea inside it (the layers are described in
``CONTRIBUTING.md``): ``results`` (the shared :class:`Estimate` and :class:`Estimates`),
``validation``, ``aggregates`` (typed sufficient statistics), ``simulate``, ``datasets``,
``abtest``, ``cuped``, ``geo``, ``synth``, ``sequential``, ``bandits``, ``uplift``,
``hbm``, ``decisions`` and ``warehouse`` (SQL and DuckDB).
Submodules are imported lazily, so ``import playbook_lib as pl`` is cheap and ``pl.hbm``
only loads PyMC when first used.

Every public function keeps one contract (stated in full in :mod:`playbook_lib.validation`):
it raises :class:`ValueError` naming the argument for input it cannot answer correctly,
warns with :class:`PlaybookWarning` where an answer exists but is fragile, and otherwise
returns finite, correct numbers; its randomness comes only from its ``rng`` argument.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import PlaybookWarning

__all__ = [
    "Estimate",
    "Estimates",
    "PlaybookWarning",
    "abtest",
    "aggregates",
    "bandits",
    "cuped",
    "datasets",
    "decisions",
    "geo",
    "hbm",
    "results",
    "sequential",
    "simulate",
    "synth",
    "uplift",
    "validation",
    "warehouse",
]
__version__ = "0.1.0"

_SUBMODULES = frozenset(__all__) - {"Estimate", "Estimates", "PlaybookWarning"}


def __getattr__(name: str) -> ModuleType:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
