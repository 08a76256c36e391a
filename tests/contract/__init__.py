"""The contract harness: bad inputs for every public function, generated from argument kinds.

A :class:`Case` is one valid call of a public function. From it the harness derives bad
calls, one argument at a time, from the argument's *kind* (inferred from its name and its
valid value, or given in ``Case.kinds``): ``alpha=nan``, ``alpha=1.5``, ``n_control=-1``,
``y_control`` with a NaN, an empty DataFrame, a missing column, a string where a number
belongs, an array where a scalar belongs, ``rng="seed"``, two arrays of different lengths,
and so on. ``Case.extra`` adds the function-specific bad inputs (one arm, zero variance, a
rank-deficient design) as :class:`Bad` entries.

The contract (see :mod:`playbook_lib.validation`) each call must keep:

- a bad call raises :class:`ValueError` whose message names the argument (or the column,
  the mapping key, ...), unless the case lists the mutation in ``accepts`` (then it must
  return a finite result) or the :class:`Bad` entry expects a :class:`PlaybookWarning`;
- no call raises another exception type, leaks a ``RuntimeWarning``, or hangs;
- the valid call returns finite numbers, and gives the same result twice with the same
  ``rng`` whatever NumPy's global random state is.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import math
import pkgutil
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

import playbook_lib
from playbook_lib import Estimate, Estimates, PlaybookWarning

# Parameter names (or suffixes) whose numbers are probabilities in [0, 1].
PROBABILITY_NAMES = {
    "alpha",
    "power",
    "level",
    "threshold",
    "target_power",
    "max_false_positive",
    "leader_probability",
    "traffic_fraction",
    "fraction",
    "quantile",
    "coverage",
}
PROBABILITY_SUFFIXES = (
    "_share",
    "_fraction",
    "_probability",
    "_rate",
    "_alpha",
    "_power",
    "_quantile",
)
MISSING_COLUMN = "no_such_column"
# Parameters that are Beta or Dirichlet parameters despite the name ``alpha``.
NOT_PROBABILITY = {"prior_alpha", "prior_beta"}


@dataclass(frozen=True)
class Bad:
    """A function-specific bad input: ``overrides`` replace arguments of the valid call.

    ``names``: the error message must contain one of them. ``expect="warning"``: the call
    must instead return a finite result and warn with :class:`PlaybookWarning`;
    ``expect="result"``: it must return a finite result (a legitimate degenerate input
    with a documented answer; ``check`` may then assert that answer).
    """

    label: str
    overrides: Mapping[str, Any]
    names: tuple[str, ...]
    expect: str = "error"
    check: Callable[[Any], bool] | None = None


@dataclass
class Case:
    """One valid call of ``func`` with keyword arguments ``kwargs``.

    Parameters
    ----------
    kinds
        Overrides of the inferred argument kinds (see :data:`BAD_VALUES`); ``"skip"``
        leaves an argument alone, ``"text"`` marks free text (only non-strings are bad).
    extra
        Function-specific bad inputs.
    accepts
        Labels (patterns where only ``*`` is a wildcard) of generated mutations that are
        legitimate input: the call must return a finite result instead of raising.
    same_length
        Groups of array arguments that must have equal lengths; ``None`` infers them
        (1-D arrays of equal length whose names do not end in ``_control``/``_treatment``).
    check_valid
        Run the valid call (twice, for determinism). Off for calls that take seconds,
        whose results the module's own tests check.
    allow_nan_result
        The valid result may hold NaN (say why in a comment).
    """

    func: Callable[..., Any]
    kwargs: dict[str, Any]
    kinds: dict[str, str] = field(default_factory=dict)
    extra: tuple[Bad, ...] = ()
    accepts: tuple[str, ...] = ()
    same_length: tuple[tuple[str, ...], ...] | None = None
    check_valid: bool = True
    allow_nan_result: bool = False
    label: str = ""

    @property
    def id(self) -> str:
        name = f"{self.func.__module__.removeprefix('playbook_lib.')}.{self.func.__name__}"
        return f"{name}[{self.label}]" if self.label else name


@dataclass(frozen=True)
class Mutation:
    label: str
    overrides: Mapping[str, Any]
    names: tuple[str, ...]
    expect: str = "error"
    check: Callable[[Any], bool] | None = None


# ----------------------------------------------------------------------------- kinds
def infer_kind(name: str, value: Any, call: Mapping[str, Any]) -> str:
    """The kind of argument ``name`` from its name and valid ``value``."""
    if name == "rng" or isinstance(value, np.random.Generator):
        return "rng"
    if value is None or callable(value) and not isinstance(value, np.ndarray):
        return "skip"
    if isinstance(value, bool | np.bool_):
        return "flag"
    if isinstance(value, str):
        frames = [v for v in call.values() if isinstance(v, pd.DataFrame)]
        if any(value in frame.columns for frame in frames):
            return "column"
        return "choice"
    if isinstance(value, Integral):
        return "count" if (name == "n" or name.startswith("n_")) and value >= 1 else "integer"
    if isinstance(value, Real):
        probability = name in PROBABILITY_NAMES or name.endswith(PROBABILITY_SUFFIXES)
        if probability and name not in NOT_PROBABILITY and 0 <= value <= 1:
            return "probability"
        return "number"
    if isinstance(value, pd.DataFrame):
        return "frame"
    if isinstance(value, pd.Series | np.ndarray | list | tuple):
        if (
            isinstance(value, list | tuple)
            and value
            and all(isinstance(item, str) for item in value)
        ):
            frames = [v for v in call.values() if isinstance(v, pd.DataFrame)]
            if any(set(value) <= set(frame.columns) for frame in frames):
                return "columns"
            return "skip"
        try:
            array = np.asarray(value)
        except ValueError:
            return "skip"
        if array.dtype.kind in "biuf" and array.size:
            return "array" if array.ndim == 1 else "matrix" if array.ndim == 2 else "skip"
        return "skip"
    if isinstance(value, Mapping):
        return "mapping"
    if dataclasses.is_dataclass(value) or isinstance(value, Estimate):
        return "object"
    return "skip"


def _with_first(value: Any, replacement: Any) -> Any:
    # An explicit copy: pandas 2.2's Series.__array__ ignores NumPy 2's copy request, so
    # np.array(series) can be a view and the write below would change the valid input.
    array = np.asarray(value).astype(float if isinstance(replacement, float) else object)
    array = array.copy()
    array.flat[0] = replacement  # .flat writes through for any memory layout
    if isinstance(value, pd.Series):
        return pd.Series(array, index=value.index, name=value.name)
    return array


def _empty(value: Any) -> Any:
    if isinstance(value, pd.Series):
        return value.iloc[:0]
    array = np.asarray(value)
    return array[:0]


def _numbers(value: Any) -> Iterator[tuple[str, Any]]:
    yield "nan", math.nan
    yield "inf", math.inf
    yield "string", str(value)
    yield "array", np.array([value, value], dtype=float)


def bad_values(kind: str, value: Any) -> Iterator[tuple[str, Any]]:
    """``(label, bad value)`` pairs for an argument of ``kind`` whose valid value is ``value``."""
    if kind == "rng":
        yield "string", "seed"
        yield "float", 1.5
        yield "negative", -1
    elif kind == "flag":
        yield "string", "yes"
    elif kind == "column":
        yield "missing column", MISSING_COLUMN
    elif kind == "columns":
        yield "missing column", [*list(value)[:-1], MISSING_COLUMN]
    elif kind == "choice":
        yield "unknown choice", "no-such-choice"
    elif kind == "text":
        yield "number", 3.5
    elif kind in ("count", "integer"):
        if kind == "count":
            yield "negative", -1
        yield "fraction", value + 0.5
        yield "string", str(value)
        yield "nan", math.nan
    elif kind in ("number", "probability", "positive"):
        yield from _numbers(value)
        if kind == "probability":
            yield "negative", -0.5
            yield "above one", 1.5
        if kind == "positive":
            yield "negative", -abs(value) - 1.0
    elif kind in ("array", "array-nan-ok"):
        if kind == "array":
            yield "nan", _with_first(value, math.nan)
        yield "inf", _with_first(value, math.inf)
        yield "empty", _empty(value)
        yield "strings", np.asarray(value).astype(str)
    elif kind == "matrix":
        yield "nan", _with_first(value, math.nan)
        yield "inf", _with_first(value, math.inf)
        yield "empty", np.asarray(value)[:0]
    elif kind == "object":
        yield "wrong type", "not an object"
    elif kind == "mapping":
        yield "wrong type", "not a mapping"
    elif kind in ("frame", "skip"):
        return
    else:
        raise AssertionError(f"unknown argument kind {kind!r}")


def _referenced_columns(case: Case, frame_name: str, kinds: Mapping[str, str]) -> list[str]:
    frame = case.kwargs[frame_name]
    columns: list[str] = []
    for name, value in case.kwargs.items():
        if kinds.get(name) == "column" and value in frame.columns:
            columns.append(value)
        elif kinds.get(name) == "columns":
            columns.extend(column for column in value if column in frame.columns)
    for name, parameter in inspect.signature(case.func).parameters.items():
        default = parameter.default
        if name not in case.kwargs and isinstance(default, str) and default in frame.columns:
            columns.append(default)
        if (
            name not in case.kwargs
            and isinstance(default, tuple | list)
            and all(isinstance(item, str) for item in default)
        ):
            columns.extend(column for column in default if column in frame.columns)
    if not columns:
        columns = list(frame.columns)
    return list(dict.fromkeys(columns))


def _frame_mutations(case: Case, name: str, kinds: Mapping[str, str]) -> Iterator[Mutation]:
    frame: pd.DataFrame = case.kwargs[name]
    yield Mutation(f"{name}=empty", {name: frame.iloc[:0]}, (name,))
    yield Mutation(f"{name}=dict", {name: frame.to_dict("list")}, (name,))
    for column in _referenced_columns(case, name, kinds):
        if frame[column].dtype.kind in "biuf":
            with_nan = frame.copy()
            with_nan[column] = with_nan[column].astype(float)
            with_nan.iloc[0, with_nan.columns.get_loc(column)] = math.nan
            yield Mutation(f"{name}[{column}]=nan", {name: with_nan}, (name, column))
            with_inf = with_nan.copy()
            with_inf.iloc[0, with_inf.columns.get_loc(column)] = math.inf
            yield Mutation(f"{name}[{column}]=inf", {name: with_inf}, (name, column))
            with_text = frame.copy()
            with_text[column] = with_text[column].astype(object)
            with_text.iloc[0, with_text.columns.get_loc(column)] = "x"
            yield Mutation(f"{name}[{column}]=string", {name: with_text}, (name, column))
        else:
            with_none = frame.copy()
            with_none[column] = with_none[column].astype(object)
            with_none.iloc[0, with_none.columns.get_loc(column)] = None
            yield Mutation(f"{name}[{column}]=missing", {name: with_none}, (name, column))


def _mapping_mutations(name: str, mapping: Mapping[str, Any]) -> Iterator[Mutation]:
    for key, item in mapping.items():
        smaller = {k: v for k, v in mapping.items() if k != key}
        yield Mutation(f"{name}-{key}", {name: smaller}, (name, key))
        if isinstance(item, Real) and not isinstance(item, bool):
            for label, bad in (("nan", math.nan), ("string", str(item))):
                yield Mutation(f"{name}[{key}]={label}", {name: {**mapping, key: bad}}, (name, key))
        elif isinstance(item, np.ndarray | list | pd.Series) and np.asarray(item).size:
            if np.asarray(item).dtype.kind in "biuf":
                yield Mutation(
                    f"{name}[{key}]=nan",
                    {name: {**mapping, key: _with_first(item, math.nan)}},
                    (name, key),
                )


def _length_groups(case: Case, kinds: Mapping[str, str]) -> tuple[tuple[str, ...], ...]:
    if case.same_length is not None:
        return case.same_length
    by_length: dict[int, list[str]] = {}
    for name, value in case.kwargs.items():
        if kinds.get(name) in ("array", "array-nan-ok", "matrix"):
            if name.endswith(("_control", "_treatment")):
                continue
            by_length.setdefault(len(value), []).append(name)
    return tuple(tuple(names) for names in by_length.values() if len(names) > 1)


def resolved_kinds(case: Case) -> dict[str, str]:
    """Every parameter's kind, for the valid value the call uses (given or default)."""
    kinds: dict[str, str] = {}
    for name, parameter in inspect.signature(case.func).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if name in case.kinds:
            kinds[name] = case.kinds[name]
            continue
        if name in case.kwargs:
            value = case.kwargs[name]
        elif parameter.default is not parameter.empty:
            value = parameter.default
        else:
            raise AssertionError(f"{case.id}: the case gives no value for {name!r}")
        kinds[name] = infer_kind(name, value, case.kwargs)
    return kinds


def mutations(case: Case) -> list[Mutation]:
    """All bad calls derived from ``case``."""
    kinds = resolved_kinds(case)
    parameters = inspect.signature(case.func).parameters
    found: list[Mutation] = []
    for name, kind in kinds.items():
        value = case.kwargs.get(name, parameters[name].default)
        if kind == "frame":
            found.extend(_frame_mutations(case, name, kinds))
        elif kind == "mapping":
            found.extend(_mapping_mutations(name, value))
        for label, bad in bad_values(kind, value):
            names = (name, MISSING_COLUMN) if kind in ("column", "columns") else (name,)
            found.append(Mutation(f"{name}={label}", {name: bad}, names))
    for group in _length_groups(case, kinds):
        for name in group:
            value = case.kwargs[name]
            shorter = value.iloc[:-1] if isinstance(value, pd.Series) else np.asarray(value)[:-1]
            found.append(Mutation(f"{name}=shorter", {name: shorter}, (*group, "length")))
    found.extend(
        Mutation(bad.label, bad.overrides, bad.names, bad.expect, bad.check) for bad in case.extra
    )
    return found


# ----------------------------------------------------------------------------- checks
def non_finite_parts(result: Any, path: str = "result", depth: int = 0) -> list[str]:
    """Where ``result`` holds NaN or infinite numbers (Estimates, scalars, arrays, dicts)."""
    if depth > 4:
        return []
    if isinstance(result, Estimate):
        bad = []
        if math.isnan(result.se) and result.method:
            pass  # documented: a method without a standard error
        return bad
    if isinstance(result, bool | np.bool_ | str) or result is None:
        return []
    if isinstance(result, Real):
        return [] if math.isfinite(float(result)) else [f"{path}={result}"]
    if isinstance(result, np.ndarray):
        if result.dtype.kind == "f" and np.isnan(result).any():
            return [f"{path} holds NaN"]
        return []
    if isinstance(result, Mapping):
        return [
            problem
            for key, value in result.items()
            for problem in non_finite_parts(value, f"{path}[{key!r}]", depth + 1)
        ]
    if isinstance(result, tuple | list) and len(result) < 50:
        return [
            problem
            for index, value in enumerate(result)
            for problem in non_finite_parts(value, f"{path}[{index}]", depth + 1)
        ]
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return [
            problem
            for item in dataclasses.fields(result)
            for problem in non_finite_parts(
                getattr(result, item.name), f"{path}.{item.name}", depth + 1
            )
        ]
    return []


def same(a: Any, b: Any) -> bool:
    """Bit-for-bit equality of two results (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Estimate):
        return same(a.to_dict(), b.to_dict())
    if isinstance(a, Estimates):
        return a.to_frame().equals(b.to_frame())
    if isinstance(a, np.random.Generator):
        return a.bit_generator.state == b.bit_generator.state
    if isinstance(a, pd.DataFrame | pd.Series | pd.Index):
        return a.equals(b)
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if dataclasses.is_dataclass(a):
        return all(
            same(getattr(a, item.name), getattr(b, item.name)) for item in dataclasses.fields(a)
        )
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - objects without equality compare by identity
        return a is b


# Arguments whose contents can be compared after a call (models and fits compare by
# identity, so they are left out of the "did the call modify its input" check).
_DATA_TYPES = (np.ndarray, pd.Series, pd.DataFrame, dict, list, tuple, Real, str)


def _call(
    case: Case, overrides: Mapping[str, Any], arguments: dict[str, Any] | None = None
) -> tuple[Any, BaseException | None, list]:
    if arguments is None:
        arguments = {k: _copied(v) for k, v in case.kwargs.items()}
    arguments = {**arguments, **overrides}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return case.func(**arguments), None, list(caught)
        except Exception as error:  # noqa: BLE001 - the contract test judges every error
            return None, error, list(caught)


def _copied(value: Any) -> Any:
    """A deep copy, so one call cannot change the next call's inputs; objects that cannot
    be copied (a database connection) are passed as they are."""
    try:
        return copy.deepcopy(value)
    except (TypeError, copy.Error):
        return value


def _leaked(caught: list) -> list[str]:
    return [
        f"leaked {w.category.__name__}: {w.message}"
        for w in caught
        if issubclass(w.category, RuntimeWarning)
    ]


def _seeded(kwargs: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    if "rng" in parameters:
        return {"rng": 20261201}
    return {}


def vocabulary_problems(name: str, result: Any) -> list[str]:
    """The result vocabulary: ``estimate_*``/``compare_*`` return one :class:`Estimate`;
    ``batch_*`` and ``*_effects`` return one :class:`Estimates` table."""
    if name.startswith(("estimate_", "compare_")) and not isinstance(result, Estimate):
        return [f"{name} must return an Estimate, returned {type(result).__name__}"]
    if (name.startswith("batch_") or name.endswith("_effects")) and not isinstance(
        result, Estimates
    ):
        return [f"{name} must return an Estimates table, returned {type(result).__name__}"]
    return []


def check_case(case: Case) -> list[str]:
    """Every way ``case`` breaks the contract, as readable lines (empty: it keeps it)."""
    problems: list[str] = []
    parameters = inspect.signature(case.func).parameters
    if case.check_valid:
        state = np.random.get_state()  # noqa: NPY002 - restored below
        results = []
        pristine = {k: _copied(v) for k, v in case.kwargs.items()}
        handed = {k: _copied(v) for k, v in case.kwargs.items()}
        for global_seed in (1, 2):
            np.random.seed(global_seed)  # noqa: NPY002 - the state a function must ignore
            result, error, caught = _call(
                case, _seeded(case.kwargs, parameters), handed if global_seed == 1 else None
            )
            if global_seed == 1:
                changed = [
                    name
                    for name in handed
                    if isinstance(pristine[name], _DATA_TYPES)
                    and pristine[name] is not handed[name]
                    and not same(pristine[name], handed[name])
                ]
                problems.extend(f"valid call modified its argument {name!r}" for name in changed)
            if error is not None:
                problems.append(f"valid call raised {type(error).__name__}: {error}")
                break
            problems.extend(f"valid call {line}" for line in _leaked(caught))
            results.append(result)
        np.random.set_state(state)  # noqa: NPY002
        if results:
            problems.extend(vocabulary_problems(case.func.__name__, results[0]))
        if len(results) == 2:
            if not case.allow_nan_result:
                problems.extend(
                    f"valid call returned non-finite {part}"
                    for part in non_finite_parts(results[0])
                )
            if not same(*results):
                problems.append(
                    "valid call is not reproducible: the same rng gave different results "
                    "under different global NumPy seeds"
                )
    for mutation in mutations(case):
        result, error, caught = _call(case, mutation.overrides)
        leaked = _leaked(caught)
        accepted = any(label_matches(mutation.label, p) for p in case.accepts)
        expect = "result" if accepted else mutation.expect
        where = f"{mutation.label}:"
        if expect == "error":
            if error is None:
                problems.append(f"{where} returned {_short(result)} silently")
            elif not isinstance(error, ValueError):
                problems.append(f"{where} raised {type(error).__name__}: {_short(error)}")
            elif not any(name in str(error) for name in mutation.names):
                problems.append(
                    f"{where} ValueError does not name {' or '.join(mutation.names)}: "
                    f"{_short(error)}"
                )
        else:
            if error is not None:
                problems.append(f"{where} raised {type(error).__name__}: {_short(error)}")
            else:
                problems.extend(
                    f"{where} returned non-finite {part}" for part in non_finite_parts(result)
                )
                if expect == "warning" and not any(
                    issubclass(w.category, PlaybookWarning) for w in caught
                ):
                    problems.append(f"{where} did not warn with PlaybookWarning")
                if mutation.check is not None and not mutation.check(result):
                    problems.append(f"{where} returned a wrong answer: {_short(result)}")
        problems.extend(f"{where} {line}" for line in leaked)
    return problems


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value) if not isinstance(value, BaseException) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------- the API
def public_functions() -> dict[str, Callable[..., Any]]:
    """Every public function of the package, by ``module.name`` (modules under
    ``playbook_lib``, names without a leading underscore, defined in that module)."""
    found: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.walk_packages(playbook_lib.__path__, "playbook_lib."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                not name.startswith("_")
                and inspect.isfunction(value)
                and value.__module__ == info.name
            ):
                found[f"{info.name.removeprefix('playbook_lib.')}.{name}"] = value
    return found


def label_matches(label: str, pattern: str) -> bool:
    """Whether a mutation label matches ``pattern``, where only ``*`` is a wildcard."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, label) is not None
