"""Full-Bayes partial pooling: the global → group → unit model, sampled by nutpie.

:func:`fit_hierarchical_model` fits the known-SE hierarchical model to one
:class:`~playbook_lib.Estimates` row per unit and returns a :class:`HierarchicalFit`: the
draws and, as :class:`~playbook_lib.Estimates`, the posterior of every unit effect, group
mean and hyperparameter. :func:`fit_eight_schools` fits the classic eight-schools model
:cite:`rubin1981estimation`, a reference check of the sampler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.hbm._checks import check_unique_labels, unit_data
from playbook_lib.hbm._densities import (
    eight_schools_density,
    full_model_density,
    hyperparameter_density,
)
from playbook_lib.hbm._models import (
    automatic_group_centering,
    check_centering,
    derived_means,
    draw_conditional_effects,
)
from playbook_lib.hbm._sampling import (
    add_draws,
    add_log_likelihood,
    check_sampler_settings,
    coordinate,
    default_prior_scale,
    normal_log_density,
    sample_density,
    seed_from,
    stack,
    summarize_draws,
)
from playbook_lib.results import Estimates
from playbook_lib.validation import check_alpha, check_flag, check_rng

__all__ = ["EIGHT_SCHOOLS", "HierarchicalFit", "fit_eight_schools", "fit_hierarchical_model"]

#: The eight-schools data of :cite:`rubin1981estimation` (SAT coaching effects and their
#: standard errors; also Table 5.2 of :cite:`gelman2013bda`).
EIGHT_SCHOOLS = pd.DataFrame(
    {
        "school": list("ABCDEFGH"),
        "estimate": [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0],
        "se": [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0],
    }
)

_METHOD = "hierarchical Bayes"


@dataclass(frozen=True)
class HierarchicalFit:
    """A sampled hierarchical model and what came out of it (fitted once, read many times).

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior draws (and ``log_likelihood``), coordinates labelled by the units' and
        groups' labels (tuple labels as text).
    unit_effects : Estimates or None
        Posterior summary per unit (``se`` = posterior sd, equal-tailed credible interval),
        labelled as the input, plus the column ``group``; None when the unit effects were
        integrated out.
    group_effects : Estimates or None
        Posterior summary per group mean, labelled by group (None for a one-level model).
    hyperparameters : Estimates
        Posterior summary of the mean and standard deviations, labelled by parameter.
    timings : Mapping[str, float]
        ``compile_wall``, ``compile_cpu`` (numba compiling the density: 0 once it is
        compiled in this process, or loaded from numba's disk cache),
        ``sample_wall``, ``sample_cpu``, ``total_wall``, ``total_cpu`` in seconds (CPU
        time of all sampler threads).
    data : pandas.DataFrame
        The input used, indexed by the unit labels: ``group``, ``estimate``, ``se``.
    details : Mapping[str, Any]
        Model settings: ``prior_scale``, ``group_labels``, ``codes`` (each unit's group
        code) and the parameterisation chosen.
    """

    idata: Any
    unit_effects: Estimates | None
    group_effects: Estimates | None
    hyperparameters: Estimates
    timings: Mapping[str, float]
    data: pd.DataFrame
    details: Mapping[str, Any] = field(default_factory=dict)


def _marginal_log_likelihood(
    y: np.ndarray, s: np.ndarray, codes: np.ndarray, group_draws: np.ndarray, unit_sd: np.ndarray
) -> np.ndarray:
    """``log N(y_j; m_g(j), unit_sd^2 + s_j^2)`` at every draw, shaped (draws, units).

    In place, with one (draws x units) array besides the result: at 50,000 units and 4,000
    draws each is 1.6 GB.
    """
    variance = unit_sd[:, None] ** 2 + s**2
    out = group_draws[:, codes]
    np.subtract(y, out, out=out)
    np.square(out, out=out)
    np.divide(out, variance, out=out)
    np.log(variance, out=variance)
    out += variance
    out += np.log(2 * np.pi)
    out *= -0.5
    return out


def _fit_data(
    effects: Any, groups: Any, prior_scale: Any, groups_name: str = "groups"
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, list[Any], pd.Series, float]:
    """The validated data of one hierarchical fit and its prior scale."""
    frame, y, s, codes, labels, groups = unit_data(effects, groups, groups_name=groups_name)
    check_unique_labels(frame.index, "effects")
    if len(y) < 3:
        raise ValueError(f"effects: need at least 3 units, got {len(y)}")
    return frame, y, s, codes, labels, groups, default_prior_scale(y, prior_scale, "estimates")


def fit_hierarchical_model(
    effects: Estimates,
    groups: Any,
    *,
    prior_scale: float | None = None,
    group_centering: float | str = "auto",
    unit_centering: float = 0.0,
    sample_effects: bool = False,
    integrate_out_units: bool = False,
    draws: int = 1_000,
    tune: int = 1_000,
    chains: int = 4,
    cores: int = 2,
    target_accept: float = 0.9,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> HierarchicalFit:
    """Full-Bayes partial pooling: a global → group → unit model with known standard errors.

    Model (``y_j`` the unit's estimate with standard error ``s_j``, ``g(j)`` its group,
    ``c`` the prior scale)::

        mu ~ N(0, (10 c)^2),  group_sd ~ HalfNormal(c),  unit_sd ~ HalfNormal(c)
        m_g ~ N(mu, group_sd^2)                    (group means)
        theta_j ~ N(m_{g(j)}, unit_sd^2)           (unit effects)
        y_j ~ N(theta_j, s_j^2)                    (known-SE likelihood)

    By default NUTS samples only the two standard deviations ``(group_sd, unit_sd)`` from
    their marginal posterior, with ``mu``, the group means and the unit effects integrated
    out analytically (the estimates are jointly normal given the sds), and then draws
    ``mu``, ``m_g`` and ``theta_j`` *exactly* from their normal conditional distributions
    given each draw of the sds (:cite:`gelman2013bda`, ch. 5, does the same for the
    two-level model). This is the same posterior, with no funnel for the sampler to
    fall into: with a handful of groups ``group_sd`` is weakly identified, and sampling
    the group means as well (``sample_effects=True``) then needs the right
    parameterisation, chosen by ``group_centering`` and ``unit_centering``, and still
    diverges or mixes slowly on some data sets.

    With ``sample_effects=True`` each level can be written centred (sample ``m_g`` itself) or
    non-centred (sample ``z_g ~ N(0, 1)`` and set ``m_g = mu + group_sd z_g``):
    ``group_centering`` and ``unit_centering`` choose, 1 = centred, 0 = non-centred. Centre
    a level whose members the data pin down (a few groups with hundreds of units each);
    non-centre one whose members are mostly prior (small units)
    :cite:`betancourt2015hamiltonian,papaspiliopoulos2007general`.
    ``group_centering="auto"`` applies that rule with empirical-Bayes quantities: it
    centres the group level when there are at least 5 groups and the median standard
    error of a group's precision-weighted mean is below a third of the spread of the
    group means, and non-centres it otherwise. Units are non-centred by default. With a
    few small groups the full model may still diverge: raise ``target_accept`` (or keep
    the default model, which has no funnel to diverge in).

    The prior scale ``c`` defaults to the standard deviation of the estimates, so the
    model is scale-free: multiplying estimates and SEs by ``k`` multiplies the posterior by
    ``k``. With ``integrate_out_units=True`` there are no unit effects: the pointwise
    log-likelihood is that of the model with them integrated out,
    ``y_j ~ N(m_{g(j)}, unit_sd^2 + s_j^2)``, at each draw of the group means and
    ``unit_sd`` (the same posterior: the two sds sampled, ``mu`` and ``m_g`` drawn
    exactly): use it to compare groupings by PSIS-LOO
    (:func:`~playbook_lib.hbm.fit_groupings`). Pointwise log-likelihoods are stored in
    ``idata.log_likelihood`` for both variants; ``mu``, ``group_mean`` (and ``theta``) in
    ``idata.posterior`` (with ``sample_effects``, computed from the sampled
    ``group_raw``/``unit_raw``).

    Sampled with nutpie, no progress bar. Both models' log densities (the default one and
    the full one, in every parameterisation) are small numba functions with hand-written
    gradients, equal to PyMC's ``model.logp`` of the models above and PyTensor's gradient
    of it, that read the data from an array: each is compiled once per environment
    (numba caches it on disk) and serves every later fit, of any size, so no PyTensor
    graph is compiled and a refit, a simulation study or a comparison of
    parameterisations only samples. nutpie calls them from its threads without Python.
    ``timings`` in the result reports what compiling and sampling cost.

    Parameters
    ----------
    effects : Estimates
        One row per unit with a unique label: estimate and positive standard error (e.g.
        the output of :func:`~playbook_lib.hbm.unit_effects_from_stats`).
    groups : array-like or pandas.Series
        The group of each unit (a Series aligned by label, a sequence by position).
    prior_scale : float, optional
        ``c``; default the sample sd of the estimates.
    group_centering : {1, 0, "auto"}
        Centred (1) or non-centred (0) group level, or ``"auto"`` (above).
    unit_centering : {0, 1}
        Non-centred (0, default) or centred (1) unit level.
    sample_effects : bool
        Sample group means and unit effects with NUTS instead of drawing them exactly
        given the hyperparameters (the centering arguments apply only then).
    integrate_out_units : bool
        No unit effects; the log-likelihood has them integrated out (for PSIS-LOO). Not
        with ``sample_effects``.
    draws, tune, chains, cores : int
        Sampler settings (post-warm-up draws per chain, warm-up steps, chains, threads).
    target_accept : float
        NUTS target acceptance rate.
    alpha : float
        One minus the credible level of the summaries.
    rng : numpy.random.Generator, int or None
        Seed source for the sampler and the exact draws.

    Returns
    -------
    HierarchicalFit
        Draws, per-unit/group/hyperparameter summaries and timings.

    Raises
    ------
    ValueError
        If ``effects`` is not a non-empty :class:`~playbook_lib.Estimates` with positive standard
        errors and unique labels, has fewer than 3 units, ``groups`` misses a unit or has missing
        entries, the estimates are all equal (without ``prior_scale``), a setting or ``rng`` is
        invalid, or both ``sample_effects`` and ``integrate_out_units`` are set. All raised before
        anything is compiled or sampled.
    """
    # Every check runs before anything is compiled or sampled.
    alpha = check_alpha(alpha)
    check_sampler_settings(draws, tune, chains, cores, target_accept)
    generator = check_rng(rng)
    sample_effects = check_flag(sample_effects, "sample_effects")
    integrate_out_units = check_flag(integrate_out_units, "integrate_out_units")
    if sample_effects and integrate_out_units:
        raise ValueError(
            "integrate_out_units: the unit effects cannot be integrated out and sampled "
            "(sample_effects=True) at once"
        )
    centered_units = bool(check_centering(unit_centering, "unit_centering"))
    auto_centering = isinstance(group_centering, str) and group_centering == "auto"
    if not auto_centering:
        group_centering = check_centering(group_centering, "group_centering")
    frame, y, s, codes, labels, groups, prior_scale = _fit_data(effects, groups, prior_scale)
    n_groups = len(labels)
    if auto_centering:
        group_centering = automatic_group_centering(y, s, codes, n_groups)
    centered_groups = bool(group_centering)
    settings: dict[str, Any] = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "cores": cores,
        "target_accept": target_accept,
        "seed": seed_from(generator),
    }
    log_c = np.log(prior_scale)
    if not sample_effects:
        # The default model: NUTS on the two log sds, the rest drawn exactly.
        idata, timings = sample_density(
            hyperparameter_density(y, s, codes, n_groups, prior_scale),
            ["group_sd", "unit_sd"],
            [(), ()],
            np.full(2, log_c),
            np.ones(2),
            **settings,
        )
        draw_conditional_effects(
            idata, y, s, codes, n_groups, prior_scale, generator, units=not integrate_out_units
        )
    else:
        # Centred levels start near 0 on the data's scale, non-centred ones near 0 in sds.
        raw_scale = np.r_[
            np.full(n_groups, prior_scale if centered_groups else 1.0),
            np.full(len(y), prior_scale if centered_units else 1.0),
        ]
        idata, timings = sample_density(
            full_model_density(y, s, codes, n_groups, prior_scale, centered_groups, centered_units),
            ["mu", "group_sd", "unit_sd", "group_raw", "unit_raw"],
            [(), (), (), (n_groups,), (len(y),)],
            np.r_[0.0, log_c, log_c, np.zeros(n_groups + len(y))],
            np.r_[prior_scale, 1.0, 1.0, raw_scale],
            dims={"group_raw": ("group",), "unit_raw": ("unit",)},
            coords={"group": np.arange(n_groups), "unit": np.arange(len(y))},
            **settings,
        )
        derived_means(idata, codes, centered_groups, centered_units)
    units = coordinate(frame.index)
    idata.posterior = idata.posterior.assign_coords(
        unit=units, group=np.asarray(labels, dtype=object)
    )
    group_draws = stack(idata, "group_mean")
    unit_sd_draws = stack(idata, "unit_sd")
    if integrate_out_units:
        log_lik = _marginal_log_likelihood(y, s, codes, group_draws, unit_sd_draws)
        unit_effects = None
    else:
        theta = stack(idata, "theta")
        log_lik = normal_log_density(y, theta, s)
        unit_effects = summarize_draws(theta, frame.index, _METHOD, alpha, group=groups)
    add_log_likelihood(idata, log_lik, "unit", units)
    hyper_draws = np.column_stack([stack(idata, "mu"), stack(idata, "group_sd"), unit_sd_draws])
    return HierarchicalFit(
        idata=idata,
        unit_effects=unit_effects,
        group_effects=summarize_draws(group_draws, pd.Index(labels, name="group"), _METHOD, alpha),
        hyperparameters=summarize_draws(
            hyper_draws, pd.Index(["mu", "group_sd", "unit_sd"], name="parameter"), _METHOD, alpha
        ),
        timings=timings,
        data=pd.DataFrame({"group": groups, "estimate": y, "se": s}, index=frame.index),
        details={
            "prior_scale": prior_scale,
            "group_labels": labels,
            "codes": codes,
            "group_centering": float(group_centering),
            "unit_centering": float(centered_units),
            "sample_effects": sample_effects,
        },
    )


# ----------------------------------------------------------------------------- eight schools
def fit_eight_schools(
    *,
    draws: int = 1_000,
    tune: int = 1_000,
    chains: int = 4,
    cores: int = 2,
    target_accept: float = 0.9,
    rng: np.random.Generator | int | None = None,
) -> HierarchicalFit:
    """The non-centred eight-schools model, a reference check of the sampler.

    ``mu ~ N(0, 5^2)``, ``tau ~ HalfCauchy(5)``, ``theta_tilde_j ~ N(0, 1)``,
    ``theta_j = mu + tau theta_tilde_j``, ``y_j ~ N(theta_j, sigma_j^2)`` on
    :data:`EIGHT_SCHOOLS` :cite:`rubin1981estimation` — posteriordb's
    ``eight_schools-eight_schools_noncentered``, whose reference posterior means are
    about 4.4 for ``mu`` and 3.6 for ``tau`` :cite:`magnusson2024posteriordb`. Its log
    density is a numba function equal to the PyMC model's (compiled once, as for
    :func:`fit_hierarchical_model`).

    Parameters
    ----------
    draws, tune, chains, cores : int
        Sampler settings.
    target_accept : float
        NUTS target acceptance.
    rng : numpy.random.Generator, int or None
        Seed source.

    Returns
    -------
    HierarchicalFit
        ``unit_effects``: each school's ``theta`` (labelled ``A`` to ``H``);
        ``hyperparameters``: ``mu`` and ``tau``; ``group_effects`` is None (one level);
        summaries at 95%.

    Raises
    ------
    ValueError
        If a sampler setting or ``rng`` is invalid.
    """
    check_sampler_settings(draws, tune, chains, cores, target_accept)
    seed = seed_from(rng)
    y, s = EIGHT_SCHOOLS["estimate"].to_numpy(), EIGHT_SCHOOLS["se"].to_numpy()
    idata, timings = sample_density(
        eight_schools_density(y, s),
        ["mu", "tau", "theta_tilde"],
        [(), (), (len(y),)],
        np.r_[0.0, np.log(5.0), np.zeros(len(y))],
        np.ones(2 + len(y)),
        dims={"theta_tilde": ("school",)},
        coords={"school": np.arange(len(y))},
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        target_accept=target_accept,
        seed=seed,
    )
    mu, tau = stack(idata, "mu"), stack(idata, "tau")
    theta = mu[:, None] + tau[:, None] * stack(idata, "theta_tilde")
    add_draws(idata, "theta", theta, "school")
    schools = pd.Index(EIGHT_SCHOOLS["school"], name="school")
    idata.posterior = idata.posterior.assign_coords(school=schools.to_numpy())
    method = "eight schools"
    return HierarchicalFit(
        idata=idata,
        unit_effects=summarize_draws(theta, schools, method, 0.05),
        group_effects=None,
        hyperparameters=summarize_draws(
            np.column_stack([mu, tau]), pd.Index(["mu", "tau"], name="parameter"), method, 0.05
        ),
        timings=timings,
        data=EIGHT_SCHOOLS.assign(group="all").set_index("school")[["group", "estimate", "se"]],
    )
