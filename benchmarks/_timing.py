"""Shared helpers of the benchmark scripts: clocks, the comparison record, the power law.

CPU seconds are ``time.process_time()`` (every thread of this process) plus the CPU of
child processes that have ended (``RUSAGE_CHILDREN``: PyMC's chain processes), so a
sampler that works in other threads or processes is charged in full.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of its finished children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class Timing:
    cpu_s: float
    wall_s: float


def timed(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, Timing]:
    """Call ``function`` once; its result and its CPU and wall seconds."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    result = function(*args, **kwargs)
    return result, Timing(cpu_seconds() - cpu, time.perf_counter() - wall)


def comparison(
    name: str,
    *,
    recipe: str,
    reference: str,
    size: str,
    fast: Timing,
    slow: Timing,
    agreement: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """One fast-against-reference record, as ``results.json`` stores it."""
    return {
        "name": name,
        "recipe": recipe,
        "reference": reference,
        "size": size,
        "fast_cpu_s": fast.cpu_s,
        "fast_wall_s": fast.wall_s,
        "reference_cpu_s": slow.cpu_s,
        "reference_wall_s": slow.wall_s,
        "cpu_ratio": slow.cpu_s / max(fast.cpu_s, 1e-9),
        "wall_ratio": slow.wall_s / max(fast.wall_s, 1e-9),
        "agreement": agreement,
        **extra,
    }


def power_law(sizes: Sequence[float], seconds: Sequence[float]) -> tuple[float, float]:
    """``(a, b)`` of ``seconds = a * size^b``, least squares on the log-log scale."""
    b, log_a = np.polyfit(np.log(np.asarray(sizes, float)), np.log(seconds), 1)
    return float(np.exp(log_a)), float(b)


def scaling(
    name: str,
    *,
    recipe: str,
    size_name: str,
    sizes: Sequence[int],
    timings: Sequence[Timing],
    **extra: Any,
) -> dict[str, Any]:
    """One scaling curve: CPU and wall seconds per size and the power law of the CPU."""
    cpu = [t.cpu_s for t in timings]
    a, b = power_law(sizes, cpu)
    return {
        "name": name,
        "recipe": recipe,
        "size_name": size_name,
        "sizes": [int(s) for s in sizes],
        "cpu_s": cpu,
        "wall_s": [t.wall_s for t in timings],
        "coefficient": a,
        "exponent": b,
        **extra,
    }
