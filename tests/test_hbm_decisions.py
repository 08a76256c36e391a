"""Per-unit decisions of playbook_lib.hbm: Type S and Type M errors (Gelman and Carlin 2014).

References: the bivariate normal CDF as a one-dimensional integral,
``int_{-inf}^{h} phi(x) Phi((k - rho x) / sqrt(1 - rho^2)) dx`` by ``scipy.integrate.quad``
(exact to about 1e-12 on every scipy this package supports; scipy's
``multivariate_normal.cdf`` is a Monte Carlo estimate with error about 1e-5 before 1.17),
for the Owen's T formula, and direct simulation of the normal-normal model for the closed
forms; the measured rates of ``compute_sign_errors`` are compared with the closed forms
within 4 Monte Carlo standard errors. Seeded and vectorised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import playbook_lib as pl
from playbook_lib import hbm
from playbook_lib.hbm.sign_errors import _bivariate_normal_cdf

Z_975 = stats.norm.ppf(0.975)


def _bivariate_cdf_by_quadrature(h: float, k: float, rho: float) -> float:
    """P(Z_1 <= h, Z_2 <= k) for standard normals with correlation rho, by quadrature."""
    scale = np.sqrt(1 - rho**2)
    value, _ = integrate.quad(
        lambda x: stats.norm.pdf(x) * stats.norm.cdf((k - rho * x) / scale),
        -np.inf,
        h,
        epsabs=1e-13,
        epsrel=1e-12,
    )
    return value


def test_owens_t_bivariate_cdf_equals_quadrature() -> None:
    h = np.array([-1.0, 0.3, 2.0, -0.5, 0.0, 1.2, -2.5])
    k = np.array([0.5, -1.2, 1.0, -0.3, 0.7, 0.0, -0.4])
    rho = np.array([0.3, 0.8, -0.5, 0.95, 0.2, 0.6, -0.9])
    reference = [_bivariate_cdf_by_quadrature(a, b, r) for a, b, r in zip(h, k, rho, strict=True)]
    np.testing.assert_allclose(_bivariate_normal_cdf(h, k, rho), reference, atol=1e-10)


def _simulated_population(
    s: np.ndarray, n: int, rng: np.random.Generator, group_sd: float
) -> dict[str, np.ndarray]:
    """Units drawn from the model of compute_expected_sign_errors, SEs resampled from s."""
    se = rng.choice(s, n)
    group_mean = 0.5 + group_sd * rng.standard_normal(n)
    theta = group_mean + 0.4 * rng.standard_normal(n)
    y = theta + se * rng.standard_normal(n)
    return {"se": se, "m": group_mean, "theta": theta, "y": y}


@pytest.mark.parametrize("pooling", ["none", "oracle"])
@pytest.mark.parametrize("rule", ["interval", "estimate"])
def test_expected_sign_errors_match_a_simulation_of_the_model(pooling: str, rule: str) -> None:
    rng = np.random.default_rng(11)
    s = 10 / np.sqrt(np.clip(np.exp(np.log(200) + 1.2 * rng.standard_normal(500)), 30, 5000))
    units = _simulated_population(s, 300_000, rng, group_sd=0.3)
    shrinkage = units["se"] ** 2 / (units["se"] ** 2 + 0.4**2)
    if pooling == "none":
        estimate, sd = units["y"], units["se"]
    else:
        estimate = shrinkage * units["m"] + (1 - shrinkage) * units["y"]
        sd = np.sqrt(1 - shrinkage) * units["se"]
    selected = estimate - (Z_975 if rule == "interval" else 0.0) * sd > 0
    wrong = units["theta"][selected] < 0
    expected = hbm.compute_expected_sign_errors(
        s, mean_effect=0.5, group_sd=0.3, unit_sd=0.4, pooling=pooling, rule=rule
    )
    n_selected = selected.sum()
    assert abs(selected.mean() - expected["selected"]) < 4 * np.sqrt(
        expected["selected"] * (1 - expected["selected"]) / selected.size
    )
    type_s = expected["type_s"]
    assert abs(wrong.mean() - type_s) < 4 * np.sqrt(type_s * (1 - type_s) / n_selected)
    gain = np.where(selected, units["theta"], 0.0)
    assert abs(gain.mean() - expected["true_gain"]) < 4 * gain.std() / np.sqrt(gain.size)
    ratio = estimate[selected].sum() / units["theta"][selected].sum()
    assert ratio == pytest.approx(expected["exaggeration"], rel=0.01)
    if pooling == "oracle":
        # Posterior means are conditionally unbiased (E[theta | y] = estimate) and the
        # selection depends on y only: no winner's curse, exactly.
        assert expected["exaggeration"] == pytest.approx(1.0, abs=1e-9)
    else:
        assert expected["exaggeration"] > 1.3


def test_pooling_selects_more_units_with_fewer_wrong_signs() -> None:
    s = np.geomspace(0.14, 1.8, 200)
    settings = {"mean_effect": 0.5, "group_sd": 0.3, "unit_sd": 0.4}
    raw = hbm.compute_expected_sign_errors(s, pooling="none", **settings)
    pooled = hbm.compute_expected_sign_errors(s, pooling="oracle", **settings)
    assert pooled["selected"] > 1.3 * raw["selected"]
    assert pooled["type_s"] < raw["type_s"]
    assert pooled["true_gain"] > raw["true_gain"]
    # A tiny SE: every unit is decided by its own estimate, both rules agree.
    tiny = {
        name: hbm.compute_expected_sign_errors([1e-4], pooling=name, **settings)
        for name in ("none", "oracle")
    }
    assert tiny["none"]["selected"] == pytest.approx(tiny["oracle"]["selected"], abs=1e-3)
    assert tiny["none"]["selected"] == pytest.approx(stats.norm.sf(-0.5 / 0.5), abs=1e-3)


def test_measured_sign_errors_match_the_closed_form() -> None:
    # group_sd = 0: the group mean is the known mean_effect, so oracle_bayes_effects with
    # a (numerically) zero group sd is exactly the closed form's "oracle".
    rng = np.random.default_rng(12)
    n_sets, n_units = 200, 400
    s = np.geomspace(0.1, 2.0, n_units)
    units = _simulated_population(np.tile(s, n_sets), n_sets * n_units, rng, group_sd=0.0)
    raw = pl.Estimates.from_standard_errors("raw", units["y"], units["se"])  # labels 0..n-1
    replication = np.repeat(np.arange(n_sets), n_units)
    truth = pd.DataFrame({"true_effect": units["theta"], "replication": replication})
    oracle = hbm.oracle_bayes_effects(
        raw,
        np.zeros(replication.size, dtype=int),
        mean_effect=0.5,
        group_sd=1e-9,
        unit_sd=0.4,
        replications=replication,
    )
    for pooling, table in {"none": raw, "oracle": oracle}.items():
        measured = hbm.compute_sign_errors(table, truth, cluster="replication").loc["all"]
        expected = hbm.compute_expected_sign_errors(
            s, mean_effect=0.5, group_sd=0.0, unit_sd=0.4, pooling=pooling
        )
        assert measured["clusters"] == n_sets
        assert abs(measured["type_s"] - expected["type_s"]) < 4 * measured["type_s_mc_se"]
        assert measured["selected"] == pytest.approx(expected["selected"], abs=0.005)
        assert measured["exaggeration"] == pytest.approx(expected["exaggeration"], rel=0.02)
        assert measured["true_gain"] == pytest.approx(expected["true_gain"], rel=0.02)


def test_sign_errors_by_stratum_and_rule() -> None:
    labels = pd.Index([f"u{j}" for j in range(6)], name="unit")
    table = pl.Estimates.from_arrays(
        "hand",
        [1.0, 2.0, -1.0, 0.5, 3.0, 0.2],
        [0.1] * 6,
        [0.5, 1.5, -1.5, -0.1, 2.0, -0.3],
        [1.5, 2.5, -0.5, 1.1, 4.0, 0.7],
        labels=labels,
    )
    truth = pd.DataFrame(
        {"true_effect": [-0.5, 1.0, -1.0, 0.4, 1.5, 0.1], "size": [1, 1, 1, 9, 9, 9]},
        index=labels,
    ).iloc[::-1]  # matched by label, not position
    by_interval = hbm.compute_sign_errors(truth=truth, estimates=table, by="size")
    # interval rule: u0, u1, u4 selected; u0 has a negative truth
    assert by_interval.loc["all", "selected"] == pytest.approx(3 / 6)
    assert by_interval.loc["all", "type_s"] == pytest.approx(1 / 3)
    assert by_interval.loc["all", "exaggeration"] == pytest.approx(6.0 / 2.0)
    assert by_interval.loc["all", "true_gain"] == pytest.approx(2.0 / 6)
    assert by_interval.loc[9, "type_s"] == 0.0
    by_estimate = hbm.compute_sign_errors(table, truth, rule="estimate")
    assert by_estimate.loc["all", "selected"] == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="rule"):
        hbm.compute_sign_errors(table, truth, rule="p_value")
    with pytest.raises(ValueError, match="standard_errors"):
        hbm.compute_expected_sign_errors([0.0], mean_effect=0.0, group_sd=1.0, unit_sd=1.0)
