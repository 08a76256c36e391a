"""The shared kernels (playbook_lib._kernels) against scipy and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from playbook_lib import _kernels


def test_welch_equals_statsmodels_and_scipy() -> None:
    rng = np.random.default_rng(20261202)
    for n_c, n_t in ((12, 7), (40, 400), (3, 2)):
        control = rng.normal(0.0, 1.0, n_c)
        treatment = rng.normal(0.4, 3.0, n_t)
        estimate, se, df = _kernels.welch(
            n_c,
            control.mean(),
            control.var(ddof=1),
            n_t,
            treatment.mean(),
            treatment.var(ddof=1),
        )
        compare = CompareMeans(DescrStatsW(treatment), DescrStatsW(control))
        t_stat, p_value, reference_df = compare.ttest_ind(usevar="unequal")
        assert estimate == pytest.approx(treatment.mean() - control.mean(), rel=1e-12)
        assert se == pytest.approx(compare.std_meandiff_separatevar, rel=1e-12)
        assert df == pytest.approx(reference_df, rel=1e-12)
        low, high, p = _kernels.interval_and_p_value(estimate, se, 0.05, "two-sided", df)
        scipy_result = stats.ttest_ind(treatment, control, equal_var=False)
        assert p == pytest.approx(scipy_result.pvalue, rel=1e-10)
        ci = scipy_result.confidence_interval(0.95)
        assert (low, high) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_welch_is_elementwise_and_flags_two_constant_arms() -> None:
    estimate, se, df = _kernels.welch(
        np.array([5, 5]),
        np.array([1.0, 2.0]),
        np.array([0.0, 1.0]),
        np.array([5, 9]),
        np.array([1.5, 2.0]),
        np.array([0.0, 4.0]),
    )
    assert estimate.tolist() == [0.5, 0.0]
    assert se[0] == 0.0 and np.isnan(df[0])
    assert se[1] == pytest.approx(np.sqrt(1 / 5 + 4 / 9))


@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_interval_and_p_value_equal_statsmodels_z_and_t(alternative: str) -> None:
    from statsmodels.stats.weightstats import (
        _tconfint_generic,
        _tstat_generic,
        _zconfint_generic,
        _zstat_generic,
    )

    estimate, se, df = 0.7, 0.3, 11.0
    sm_alternative = {"two-sided": "two-sided", "larger": "larger", "smaller": "smaller"}
    low, high, p = _kernels.interval_and_p_value(estimate, se, 0.1, alternative)
    _, p_z = _zstat_generic(estimate, 0.0, se, sm_alternative[alternative], 0.0)
    assert p == pytest.approx(p_z, rel=1e-12)
    assert (low, high) == pytest.approx(
        _zconfint_generic(estimate, se, 0.1, sm_alternative[alternative]), rel=1e-12
    )
    low, high, p = _kernels.interval_and_p_value(estimate, se, 0.1, alternative, df)
    _, p_t = _tstat_generic(estimate, 0.0, se, df, sm_alternative[alternative], 0.0)
    assert p == pytest.approx(p_t, rel=1e-12)
    assert (low, high) == pytest.approx(
        _tconfint_generic(estimate, se, df, 0.1, sm_alternative[alternative]), rel=1e-12
    )


def test_interval_and_p_value_zero_se_limit() -> None:
    low, high, p = _kernels.interval_and_p_value(
        np.array([0.0, 0.2, -0.2]), np.zeros(3), 0.05, "two-sided", np.full(3, np.nan)
    )
    assert low.tolist() == high.tolist() == [0.0, 0.2, -0.2]
    assert p.tolist() == [1.0, 0.0, 0.0]
    _, _, p = _kernels.interval_and_p_value(np.array([0.0, 0.2, -0.2]), np.zeros(3), 0.05, "larger")
    assert p.tolist() == [0.5, 0.0, 1.0]


def test_moments_from_sums_equal_numpy_and_round_off_to_zero() -> None:
    rng = np.random.default_rng(7)
    values = rng.lognormal(size=(4, 50))
    mean, variance = _kernels.moments_from_sums(50, values.sum(axis=1), (values**2).sum(axis=1))
    np.testing.assert_allclose(mean, values.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(variance, values.var(axis=1, ddof=1), rtol=1e-9)
    constant = np.full(30, 0.1)
    _, variance = _kernels.moments_from_sums(30, constant.sum(), (constant**2).sum())
    assert variance == 0.0


@pytest.mark.parametrize("method", ["holm", "bonferroni"])
def test_step_down_adjust_equals_statsmodels(method: str) -> None:
    rng = np.random.default_rng(3)
    for m in (1, 2, 7, 40):
        p = rng.uniform(0, 0.2, m)
        p[: m // 3] = p[0]  # ties
        expected = multipletests(p, method=method)[1]
        np.testing.assert_allclose(_kernels.step_down_adjust(p, method), expected, rtol=1e-12)
    assert _kernels.step_down_adjust([0.01, 0.5], "none").tolist() == [0.01, 0.5]
    with pytest.raises(ValueError, match="method"):
        _kernels.step_down_adjust([0.1], "fdr_bh")
