"""Tests of the shared input checks in playbook_lib.validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playbook_lib import validation as v


def test_as_float_array() -> None:
    out = v.as_float_array([1, 2, 3], "x")
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0, 3.0]
    assert np.isnan(v.as_float_array([1.0, np.nan], "x", allow_nan=True)[1])
    assert v.as_float_array(np.ones((3, 2)), "x", ndim=2).shape == (3, 2)
    for values, match in [
        (["a", "b"], "x must be numeric"),
        ([[1.0, 2.0]], "x must be 1-dimensional"),
        ([], "x must have at least 1"),
        ([1.0, np.nan], "x contains NaN"),
        ([1.0, np.inf], "x contains infinite"),
    ]:
        with pytest.raises(ValueError, match=match):
            v.as_float_array(values, "x")
    with pytest.raises(ValueError, match="y must have at least 3"):
        v.as_float_array([1.0, 2.0], "y", min_size=3)
    with pytest.raises(ValueError, match="z contains infinite"):
        v.as_float_array([np.inf], "z", allow_nan=True)


def test_check_finite_number() -> None:
    assert v.check_finite_number(np.float32(1.5), "a") == 1.5
    for bad in (True, "1", None, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="^a "):
            v.check_finite_number(bad, "a")


def test_check_alpha() -> None:
    assert v.check_alpha(0.05) == 0.05
    for bad in (0.0, 1.0, -0.1, 2):
        with pytest.raises(ValueError, match="alpha must lie in"):
            v.check_alpha(bad)
    with pytest.raises(ValueError, match="level"):
        v.check_alpha(1.5, "level")


def test_check_probability() -> None:
    assert v.check_probability(0, "p") == 0.0 and v.check_probability(1, "p") == 1.0
    with pytest.raises(ValueError, match=r"p must lie in \(0, 1\]"):
        v.check_probability(0.0, "p", allow_zero=False)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\)"):
        v.check_probability(1.0, "p", allow_one=False)
    with pytest.raises(ValueError, match="q must lie in"):
        v.check_probability(1.01, "q")


def test_check_positive() -> None:
    assert v.check_positive(2, "s") == 2.0
    assert v.check_positive(0, "s", strict=False) == 0.0
    with pytest.raises(ValueError, match="s must be positive"):
        v.check_positive(0, "s")
    with pytest.raises(ValueError, match="s must be non-negative"):
        v.check_positive(-1, "s", strict=False)


def test_check_integer() -> None:
    assert v.check_integer(np.int64(3), "n") == 3
    assert v.check_integer(4.0, "n") == 4
    for bad in (True, 2.5, "3", None):
        with pytest.raises(ValueError, match="n must be an integer"):
            v.check_integer(bad, "n")
    with pytest.raises(ValueError, match="n must be at least 2"):
        v.check_integer(1, "n", minimum=2)


def test_check_counts() -> None:
    assert v.check_counts(3, 10, "k", "n") == (3, 10)
    assert v.check_counts(0, 1, "k", "n") == (0, 1)
    with pytest.raises(ValueError, match=r"k \(11\) must not exceed n \(10\)"):
        v.check_counts(11, 10, "k", "n")
    with pytest.raises(ValueError, match="n must be at least 1"):
        v.check_counts(0, 0, "k", "n")
    with pytest.raises(ValueError, match="k must be at least 0"):
        v.check_counts(-1, 5, "k", "n")


def test_check_same_length() -> None:
    assert v.check_same_length(a=[1, 2], b=np.zeros(2)) == 2
    assert v.check_same_length() == 0
    with pytest.raises(ValueError, match="a has 2, b has 3"):
        v.check_same_length(a=[1, 2], b=[1, 2, 3])


def test_check_not_constant() -> None:
    v.check_not_constant(np.array([1.0, 2.0]), "x")
    for bad in ([1.0, 1.0], [1.0]):
        with pytest.raises(ValueError, match="x is constant"):
            v.check_not_constant(np.array(bad), "x")


def test_check_choice() -> None:
    assert v.check_choice("holm", "method", ("holm", "fdr_bh")) == "holm"
    with pytest.raises(ValueError, match="method must be one of"):
        v.check_choice("sidak", "method", ("holm", "fdr_bh"))


def test_check_columns() -> None:
    frame = pd.DataFrame({"y": [1.0], "t": [0]})
    assert v.check_columns(frame, ["y"]) is frame
    with pytest.raises(ValueError, match=r"data is missing column\(s\) \['x'\]"):
        v.check_columns(frame, ["y", "x"])
    with pytest.raises(ValueError, match="panel must be a pandas DataFrame"):
        v.check_columns({"y": [1.0]}, ["y"], name="panel")


def test_check_not_constant_rejects_nan() -> None:
    from playbook_lib.validation import check_not_constant

    with pytest.raises(ValueError, match="covariate contains NaN"):
        check_not_constant(np.array([1.0, np.nan, 1.0]), "covariate")
    with pytest.raises(ValueError, match="covariate is constant"):
        check_not_constant(np.array([2.0, 2.0, 2.0]), "covariate")
    check_not_constant(np.array([1.0, 2.0]), "covariate")


def test_check_flag() -> None:
    assert v.check_flag(np.bool_(True), "flag") is True
    for bad in ("yes", 1, None):
        with pytest.raises(ValueError, match="^flag must be True or False"):
            v.check_flag(bad, "flag")


def test_check_rng() -> None:
    generator = np.random.default_rng(1)
    assert v.check_rng(generator) is generator
    assert v.check_rng(5).integers(10**9) == np.random.default_rng(5).integers(10**9)
    assert isinstance(v.check_rng(None), np.random.Generator)
    assert isinstance(v.check_rng(np.random.SeedSequence(3)), np.random.Generator)
    for bad in ("seed", 1.5, True, -1, [1, 2], np.random.RandomState(0)):
        with pytest.raises(ValueError, match="^rng must be"):
            v.check_rng(bad)


def test_check_binary() -> None:
    assert v.check_binary([True, False, 1], "t").tolist() == [1, 0, 1]
    assert v.check_binary([0, 0], "t", both=False).tolist() == [0, 0]
    with pytest.raises(ValueError, match=r"t must hold only 0 and 1, got \[2.0\]"):
        v.check_binary([0, 2, 1], "t")
    with pytest.raises(ValueError, match=r"t has no treatment \(1\) units"):
        v.check_binary([0, 0], "t")
    with pytest.raises(ValueError, match=r"t has no control \(0\) units"):
        v.check_binary([1, 1], "t")
    with pytest.raises(ValueError, match="t contains NaN"):
        v.check_binary([0, np.nan, 1], "t")


def test_check_sum_of_squares() -> None:
    values = np.array([1.0, 2.0, 4.0])
    deviations = v.check_sum_of_squares(3, values.sum(), (values**2).sum(), "ss")
    assert deviations == pytest.approx(((values - values.mean()) ** 2).sum(), rel=1e-12)
    # A constant sample: zero up to round-off, never negative.
    assert v.check_sum_of_squares(3, 0.3, 3 * 0.1**2, "ss") == 0.0
    with pytest.raises(ValueError, match=r"^ss \(1\) is below sum\*\*2 / n"):
        v.check_sum_of_squares(3, 3.0, 1.0, "ss")
    with pytest.raises(ValueError, match="^ss: n must be positive"):
        v.check_sum_of_squares(0, 3.0, 1.0, "ss")
    with pytest.raises(ValueError, match="^ss: total must be a real number"):
        v.check_sum_of_squares(3, "3", 1.0, "ss")


def test_column_as_float_array() -> None:
    frame = pd.DataFrame(
        {"y": [1, 2], "text": ["1", "a"], "gap": [1.0, None], "digits": ["20", "1.5"]}
    )
    assert v.column_as_float_array(frame, "y", "outcome").tolist() == [1.0, 2.0]
    assert np.isnan(v.column_as_float_array(frame, "gap", "g", allow_nan=True)[1])
    for column, match in [
        ("text", "outcome: column 'text' must be numeric, got '1'"),
        ("digits", "outcome: column 'digits' must be numeric, got '20'"),
        ("gap", "outcome: column 'gap' has 1 missing value"),
        ("nope", "outcome: data has no column 'nope'"),
    ]:
        with pytest.raises(ValueError, match=match):
            v.column_as_float_array(frame, column, "outcome")


def test_strings_are_not_numbers() -> None:
    for bad in (["1", "2"], "12", pd.Series(["1", 2.0], dtype=object)):
        with pytest.raises(ValueError, match="^x must be numeric"):
            v.as_float_array(bad, "x")
    with pytest.raises(ValueError, match="^x contains infinite"):
        v.check_not_constant([1.0, np.inf], "x")


def test_playbook_warning_is_exported_and_a_user_warning() -> None:
    import playbook_lib

    assert playbook_lib.PlaybookWarning is v.PlaybookWarning
    assert issubclass(v.PlaybookWarning, UserWarning)


def test_as_numeric_array() -> None:
    assert v.as_numeric_array(3, "x").shape == ()
    assert v.as_numeric_array([[1, 2]], "x").shape == (1, 2)
    assert v.as_numeric_array(np.array([True, False]), "x").tolist() == [1.0, 0.0]
    assert np.isinf(v.as_numeric_array([np.inf], "x", allow_inf=True)).all()
    assert v.as_numeric_array([], "x", allow_empty=True).size == 0
    for bad, match in [
        ("1", "x must be numeric"),
        (True, "x must be numeric"),
        (np.array(["1"], dtype=object), "x must be numeric"),
        ([], "x must not be empty"),
        ([np.nan], "x contains NaN"),
        ([np.inf], "x contains infinite"),
    ]:
        with pytest.raises(ValueError, match=match):
            v.as_numeric_array(bad, "x")
