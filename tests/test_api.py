"""The package's shape: one result vocabulary, arms always (control, treatment), modules by
idea. (The runtime half of the vocabulary, that each valid call returns what its name
promises, is checked for every public function by tests/test_contract.py.)"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import contract
import numpy as np
import pytest

import playbook_lib
from playbook_lib import Estimate, Estimates
from playbook_lib.aggregates import (
    ArmStatistics,
    CovariateMoments,
    CovariateStatistics,
    RatioStatistics,
)

PACKAGE = Path(playbook_lib.__file__).parent
PUBLIC = contract.public_functions()


def _returns(function: Callable[..., Any]) -> str:
    annotation = inspect.signature(function).return_annotation
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")


def test_names_predict_what_comes_back() -> None:
    wrong = []
    for name, function in PUBLIC.items():
        short = function.__name__
        returned = _returns(function)
        if short.startswith(("estimate_", "compare_")) and returned != "Estimate":
            wrong.append(f"{name} -> {returned} (estimate_/compare_ return an Estimate)")
        if (short.startswith("batch_") or short.endswith("_effects")) and returned != "Estimates":
            wrong.append(f"{name} -> {returned} (batch_/*_effects return Estimates)")
    assert not wrong, "\n".join(wrong)


def test_no_module_over_a_thousand_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 1000
    }
    assert not long, f"modules over 1,000 lines: {long}"


def test_no_function_local_import_of_the_package() -> None:
    """Imports of the package's own modules sit at module top (no hidden cycles)."""
    hidden = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (
                    inner.level > 0 or (inner.module or "").startswith("playbook_lib")
                ):
                    hidden.append(f"{path.relative_to(PACKAGE)}:{inner.lineno}")
                if isinstance(inner, ast.Import) and any(
                    alias.name.startswith("playbook_lib") for alias in inner.names
                ):
                    hidden.append(f"{path.relative_to(PACKAGE)}:{inner.lineno}")
    hidden = [place for place in hidden if not place.startswith("__init__.py")]
    assert not hidden, f"function-local imports of playbook_lib: {hidden}"


TWINS = {name: f for name, f in PUBLIC.items() if f.__name__.endswith("_from_stats")}


def test_every_from_stats_twin_takes_control_then_treatment() -> None:
    assert len(TWINS) >= 8
    for name, function in TWINS.items():
        parameters = list(inspect.signature(function).parameters.values())
        assert [p.name for p in parameters[:2]] == ["control", "treatment"], name
        later = [p for p in parameters[2:] if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        assert not later, f"{name}: everything after the arms is keyword-only"


# ----------------------------------------------------------------- swapped arms flip the sign
def _arms(rng: np.random.Generator, shape: tuple[int, ...] = ()) -> tuple[Any, Any]:
    def one(location: float) -> ArmStatistics:
        values = rng.normal(location, 1.0 + location, (*shape, 400))
        return ArmStatistics(
            np.full(shape, 400) if shape else 400,
            values.sum(axis=-1),
            (values**2).sum(axis=-1),
        )

    return one(1.0), one(1.3)


def _binary_arms(rng: np.random.Generator) -> tuple[Any, Any]:
    return (
        ArmStatistics.from_counts(int(rng.binomial(5000, 0.10)), 5000),
        ArmStatistics.from_counts(int(rng.binomial(5000, 0.12)), 5000),
    )


def _pair_arms(kind: type, rng: np.random.Generator) -> tuple[Any, Any]:
    def one(shift: float) -> Any:
        x = rng.gamma(4.0, 1.0, 2000)
        y = 0.5 * x + shift + rng.normal(0, 1.0, 2000)
        if kind is RatioStatistics:
            y = np.abs(y)
        return kind.from_values(y, x)

    return one(0.0), one(0.4)


def _per_look(rng: np.random.Generator) -> tuple[Any, Any]:
    control, treatment = _arms(rng, (4,))
    return control.cumulative(), treatment.cumulative()


ARM_BUILDERS: dict[str, Callable[[np.random.Generator], tuple[Any, Any]]] = {
    "abtest.compare_proportions_from_stats": _binary_arms,
    "abtest.compare_means_from_stats": _arms,
    "abtest.estimate_relative_lift_from_stats": _arms,
    "abtest.compare_ratio_metrics_from_stats": lambda rng: _pair_arms(RatioStatistics, rng),
    "cuped.estimate_cuped_from_stats": lambda rng: _pair_arms(CovariateStatistics, rng),
    "cuped.estimate_cuped_moments_from_stats": lambda rng: _pair_arms(CovariateMoments, rng),
    "geo.estimate_did_from_stats": _arms,
    "sequential.compute_interim_statistics_from_stats": _per_look,
    "hbm.unit_effects_from_stats": lambda rng: _arms(rng, (5,)),
}


def _estimates(result: Any) -> np.ndarray:
    if isinstance(result, Estimate):
        return np.array([result.estimate])
    if isinstance(result, Estimates):
        return result.to_frame()["estimate"].to_numpy()
    return np.asarray(result["estimate"], dtype=float)


@pytest.mark.parametrize("name", sorted(TWINS))
def test_swapped_arms_flip_the_sign(name: str) -> None:
    key = next((key for key in ARM_BUILDERS if name.endswith(key.split(".")[-1])), None)
    assert key is not None, f"{name}: add its arms to ARM_BUILDERS"
    control, treatment = ARM_BUILDERS[key](np.random.default_rng(11))
    forward = _estimates(TWINS[name](control, treatment))
    backward = _estimates(TWINS[name](treatment, control))
    assert (np.abs(forward) > 0).all()
    if "relative" in name:  # t/c - 1 against c/t - 1
        np.testing.assert_allclose((1 + forward) * (1 + backward), 1.0, rtol=1e-9)
    else:
        np.testing.assert_allclose(backward, -forward, rtol=1e-9)
