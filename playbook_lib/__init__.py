"""playbook_lib: the helper package of the Experimentation Playbook.

One module per idea (see ``DESIGN.md``): ``results`` (the shared :class:`Estimate`),
``validation``, ``simulate``, ``datasets``, ``abtest``, ``cuped``, ``geo``, ``synth``,
``sequential``, ``bandits``, ``hbm``, ``decisions`` and ``plotting``. Submodules are
imported lazily, so ``import playbook_lib as pl`` is cheap and ``pl.hbm`` only loads PyMC
when first used.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from playbook_lib.results import Estimate

__all__ = [
    "Estimate",
    "abtest",
    "bandits",
    "cuped",
    "datasets",
    "decisions",
    "geo",
    "hbm",
    "plotting",
    "results",
    "sequential",
    "simulate",
    "synth",
    "validation",
]
__version__ = "0.1.0"

_SUBMODULES = frozenset(__all__) - {"Estimate"}


def __getattr__(name: str) -> ModuleType:
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
