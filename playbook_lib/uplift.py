r"""Heterogeneous treatment effects and targeting, from randomised data.

Who responds to a treatment, and whom should we treat? Meta-learners estimate the
conditional average treatment effect :math:`\tau(x) = E[Y(1) - Y(0) \mid X = x]`
(:func:`fit_meta_learner`: S-, T- and X-learners, Kunzel et al., 2019, returning a
:class:`MetaLearner`); on held-out randomised data a score is judged by the Qini curve and
coefficient (:func:`compute_qini_curve`, :func:`compute_qini_coefficient`; Radcliffe, 2007),
by the effect among the units it ranks highest (:func:`estimate_uplift_at_k`) and by the
value of treating only its top share (:func:`estimate_targeting_policy_value`).

Every estimator returns :class:`playbook_lib.Estimate`; bad input raises ``ValueError``
naming the argument.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from playbook_lib._kernels import welch
from playbook_lib.results import Estimate
from playbook_lib.validation import (
    PlaybookWarning,
    as_float_array,
    check_alpha,
    check_binary,
    check_choice,
    check_integer,
    check_probability,
    check_rng,
    check_same_length,
)

__all__ = [
    "MetaLearner",
    "compute_qini_coefficient",
    "compute_qini_curve",
    "estimate_targeting_policy_value",
    "estimate_uplift_at_k",
    "fit_meta_learner",
]


@dataclass
class MetaLearner:
    """A fitted S-, T- or X-learner; :meth:`predict` returns CATE estimates.

    Build it with :func:`fit_meta_learner`.
    """

    kind: str
    models: dict[str, Any]
    treatment_probability: float
    n_threads: int | None = None

    def predict(self, features: Any) -> np.ndarray:
        """Estimated conditional average treatment effect for each row of ``features``."""
        x = as_float_array(features, "features", ndim=2)
        with threadpool_limits(self.n_threads):
            return self._predict(x)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "s":
            model = self.models["outcome"]
            treated = np.column_stack([x, np.ones(len(x))])
            control = np.column_stack([x, np.zeros(len(x))])
            return model.predict(treated) - model.predict(control)
        if self.kind == "t":
            return self.models["treated"].predict(x) - self.models["control"].predict(x)
        g = self.treatment_probability
        return g * self.models["effect_control"].predict(x) + (1 - g) * self.models[
            "effect_treated"
        ].predict(x)


def _seeded_clone(estimator: Any, generator: np.random.Generator) -> Any:
    """A clone of ``estimator`` whose unset ``random_state`` parameters come from ``generator``."""
    model = clone(estimator)
    params = model.get_params(deep=True)
    unset = {
        name: int(generator.integers(2**31 - 1))
        for name in sorted(params)
        if (name == "random_state" or name.endswith("__random_state")) and params[name] is None
    }
    if unset:
        model.set_params(**unset)
    return model


def fit_meta_learner(
    features: Any,
    treatment: Any,
    outcome: Any,
    *,
    learner: str = "t",
    base_estimator: Any = None,
    treatment_probability: float | None = None,
    n_threads: int | None = None,
    rng: np.random.Generator | int | None = None,
) -> MetaLearner:
    r"""Fit an S-, T- or X-learner of the conditional average treatment effect.

    - S-learner: one model of :math:`Y` on :math:`(X, W)`;
      :math:`\hat\tau(x) = \hat\mu(x, 1) - \hat\mu(x, 0)`.
    - T-learner: one model per arm; :math:`\hat\tau(x) = \hat\mu_1(x) - \hat\mu_0(x)`.
    - X-learner (Kunzel et al., 2019): T-learner models, then imputed effects
      :math:`Y - \hat\mu_0(X)` on treated and :math:`\hat\mu_1(X) - Y` on control rows,
      each regressed on :math:`X`, combined as
      :math:`g\,\hat\tau_0(x) + (1-g)\,\hat\tau_1(x)` with :math:`g` the treatment
      probability (known in a randomised test).

    Parameters
    ----------
    features : array-like, shape (n, p)
        Pre-treatment covariates only (never post-treatment columns such as later visits).
    treatment : array-like of 0/1, shape (n,)
    outcome : array-like, shape (n,)
    learner : {"s", "t", "x"}
    base_estimator : scikit-learn regressor, optional
        Cloned for each model. Default: ``HistGradientBoostingRegressor(max_iter=100,
        learning_rate=0.05, min_samples_leaf=200)``.
    treatment_probability : float, optional
        :math:`g` for the X-learner; default the share of treated rows.
    n_threads : int, optional
        Cap on OpenMP/BLAS threads while fitting and predicting (``threadpoolctl``); 1
        avoids oversubscription when several processes share a few cores. Default: no cap.
    rng : numpy.random.Generator, int or None
        Randomness of the models: each model's ``random_state`` (and any nested
        ``..._random_state`` parameter) left at ``None`` gets its own integer drawn from
        ``rng``, so the fit never reads NumPy's global random state (the default
        estimator's early-stopping split is random above 10,000 rows). A
        ``random_state`` you set yourself is kept.

    Returns
    -------
    MetaLearner

    Raises
    ------
    ValueError
        If shapes disagree, values are not finite, treatment is not 0/1, an arm has
        fewer than two rows, ``learner`` is unknown, ``base_estimator`` is not a
        scikit-learn regressor, or ``rng`` is not a Generator, seed or None.
    """
    check_choice(learner, "learner", ("s", "t", "x"))
    generator = check_rng(rng)
    x = as_float_array(features, "features", ndim=2)
    w = check_binary(treatment, "treatment").astype(float)
    y = as_float_array(outcome, "outcome")
    check_same_length(features=x, treatment=w, outcome=y)
    if min(w.sum(), len(w) - w.sum()) < 2:
        raise ValueError("treatment must have at least two treated and two control rows")
    if base_estimator is None:
        base_estimator = HistGradientBoostingRegressor(
            max_iter=100, learning_rate=0.05, min_samples_leaf=200
        )
    elif not (
        hasattr(base_estimator, "fit")
        and hasattr(base_estimator, "predict")
        and hasattr(base_estimator, "get_params")
    ):
        raise ValueError(f"base_estimator must be a scikit-learn regressor, got {base_estimator!r}")

    def fresh() -> Any:
        return _seeded_clone(base_estimator, generator)

    g = (
        float(w.mean())
        if treatment_probability is None
        else check_probability(
            treatment_probability, "treatment_probability", allow_zero=False, allow_one=False
        )
    )
    if n_threads is not None:
        n_threads = check_integer(n_threads, "n_threads", minimum=1)
    treated, control = w == 1, w == 0
    with threadpool_limits(n_threads):
        if learner == "s":
            model = fresh().fit(np.column_stack([x, w]), y)
            return MetaLearner("s", {"outcome": model}, g, n_threads)
        mu1 = fresh().fit(x[treated], y[treated])
        mu0 = fresh().fit(x[control], y[control])
        if learner == "t":
            return MetaLearner("t", {"treated": mu1, "control": mu0}, g, n_threads)
        tau1 = fresh().fit(x[treated], y[treated] - mu0.predict(x[treated]))
        tau0 = fresh().fit(x[control], mu1.predict(x[control]) - y[control])
    return MetaLearner("x", {"effect_treated": tau1, "effect_control": tau0}, g, n_threads)


def _check_uplift_inputs(score, treatment, outcome):
    s = as_float_array(score, "score")
    w = check_binary(treatment, "treatment").astype(float)
    y = as_float_array(outcome, "outcome")
    check_same_length(score=s, treatment=w, outcome=y)
    return s, w, y


def compute_qini_curve(score: Any, treatment: Any, outcome: Any) -> pd.DataFrame:
    r"""The Qini curve of an uplift score on randomised (held-out) data.

    Rank units by ``score`` (highest first). For the top :math:`\phi` share, with
    :math:`Y_T, Y_C` the summed outcomes and :math:`N_T, N_C` the counts of treated and
    control units among them, the Qini value is the incremental number of conversions
    :math:`Q(\phi) = Y_T(\phi) - Y_C(\phi)\,N_T(\phi)/N_C(\phi)` (Radcliffe, 2007), here
    divided by the total number of units so it reads "incremental conversions per unit".
    Random targeting traces the straight line from 0 to :math:`Q(1)`.

    Evaluate on data the model did not see (a held-out randomised sample).

    Returns
    -------
    pandas.DataFrame
        Columns ``fraction`` (0 to 1, first row 0), ``qini`` and ``random``.

    Raises
    ------
    ValueError
        If lengths differ, treatment is not 0/1 or lacks an arm, or values are not finite.
    """
    s, w, y = _check_uplift_inputs(score, treatment, outcome)
    order = np.argsort(-s, kind="stable")
    w_sorted, y_sorted = w[order], y[order]
    n_t = np.cumsum(w_sorted)
    n_c = np.cumsum(1 - w_sorted)
    y_t = np.cumsum(w_sorted * y_sorted)
    y_c = np.cumsum((1 - w_sorted) * y_sorted)
    with np.errstate(invalid="ignore", divide="ignore"):
        qini = np.where(n_c > 0, y_t - y_c * n_t / np.maximum(n_c, 1), 0.0)
    n = len(s)
    fraction = np.arange(n + 1) / n
    qini = np.concatenate([[0.0], qini]) / n
    # Tied scores have no order: the curve is defined where the score changes (after the
    # last unit of each tie) and linear in between, as an ROC curve is, so it does not
    # depend on the rows' order.
    ends = np.append(np.flatnonzero(np.diff(s[order]) != 0), n - 1) + 1
    knots = np.concatenate([[0], ends])
    qini = np.interp(np.arange(n + 1), knots, qini[knots])
    return pd.DataFrame({"fraction": fraction, "qini": qini, "random": fraction * qini[-1]})


def _top_by_score(score: np.ndarray, k: int, function: str) -> np.ndarray:
    """The indices of the ``k`` highest scores (ties in row order), with a
    :class:`~playbook_lib.PlaybookWarning` when the cut splits a run of tied scores: which
    of those units are in the top ``k`` then follows the rows' order, and so does the
    answer."""
    order = np.argsort(-score, kind="stable")
    if 0 < k < score.size and score[order[k - 1]] == score[order[k]]:
        tied = int((score == score[order[k]]).sum())
        warnings.warn(
            f"{function}: the top {k} units cut through {tied} units with the same score, "
            "so which of them count as targeted follows the rows' order (and so does the "
            "answer); choose a fraction where the score changes, or break the ties",
            PlaybookWarning,
            stacklevel=3,
        )
    return order[:k]


def compute_qini_coefficient(score: Any, treatment: Any, outcome: Any) -> float:
    """Area between the Qini curve and the random-targeting line (Radcliffe, 2007).

    Positive: the score ranks responders to treatment ahead of non-responders; zero:
    no better than random; negative: worse than random. Units: incremental conversions
    per unit times the fraction targeted. Same inputs as :func:`compute_qini_curve`.
    """
    curve = compute_qini_curve(score, treatment, outcome)
    return float(np.trapezoid(curve["qini"] - curve["random"], curve["fraction"]))


def estimate_uplift_at_k(
    score: Any, treatment: Any, outcome: Any, fraction: float = 0.1, *, alpha: float = 0.05
) -> Estimate:
    """Difference in outcome rates between treated and control among the top ``fraction``.

    On randomised held-out data this estimates the average effect among the units the
    score ranks highest; a Wald interval from the two arms' sample variances.

    Returns
    -------
    Estimate
        ``method="uplift at k"``; details ``fraction``, ``n_treatment``, ``n_control``.

    Raises
    ------
    ValueError
        If ``fraction`` is outside (0, 1], lengths differ, or an arm has < 2 units in the
        top fraction.
    """
    alpha = check_alpha(alpha)
    fraction = check_probability(fraction, "fraction", allow_zero=False)
    s, w, y = _check_uplift_inputs(score, treatment, outcome)
    top = _top_by_score(s, max(int(round(fraction * len(s))), 1), "estimate_uplift_at_k")
    treated = w[top] == 1
    n_t, n_c = int(treated.sum()), int((~treated).sum())
    if n_t < 2 or n_c < 2:
        raise ValueError("fraction must leave at least two treated and two control units")
    y_t, y_c = y[top][treated], y[top][~treated]
    # Two-pass moments from the rows (sums of squares would lose the spread of an outcome
    # far from zero, e.g. a timestamp, to cancellation).
    mean_t, var_t = y_t.mean(), y_t.var(ddof=1)
    mean_c, var_c = y_c.mean(), y_c.var(ddof=1)
    estimate, se, _ = welch(n_c, mean_c, var_c, n_t, mean_t, var_t)
    return Estimate.from_standard_error(
        "uplift at k",
        float(estimate),
        float(se),
        alpha=alpha,
        details={"fraction": fraction, "n_treatment": n_t, "n_control": n_c},
    )


def estimate_targeting_policy_value(
    score: Any,
    treatment: Any,
    outcome: Any,
    fraction: float,
    *,
    treatment_probability: float = 0.5,
    alpha: float = 0.05,
) -> Estimate:
    r"""Mean outcome per unit if only the top ``fraction`` by score were treated.

    On randomised held-out data with known :math:`P(W=1)=g`, the policy
    :math:`\pi(x) = 1\{x \text{ in the top fraction}\}` has value
    :math:`\hat V = n^{-1}\sum_i Y_i 1\{W_i = \pi(X_i)\}/P(W_i = \pi(X_i))` (IPW), unbiased
    because the test randomised :math:`W`. Compare it with treating nobody (``fraction``
    near 0) or everybody (``fraction=1``).

    Returns
    -------
    Estimate
        ``method="targeting policy value"``; details ``fraction``, ``n``.

    Raises
    ------
    ValueError
        If ``fraction`` is outside [0, 1], ``treatment_probability`` outside (0, 1), or
        inputs are inconsistent.
    """
    alpha = check_alpha(alpha)
    fraction = check_probability(fraction, "fraction")
    g = check_probability(
        treatment_probability, "treatment_probability", allow_zero=False, allow_one=False
    )
    s, w, y = _check_uplift_inputs(score, treatment, outcome)
    n = len(s)
    policy = np.zeros(n)
    policy[_top_by_score(s, int(round(fraction * n)), "estimate_targeting_policy_value")] = 1
    probability = np.where(policy == 1, g, 1 - g)
    terms = y * (w == policy) / probability
    return Estimate.from_standard_error(
        "targeting policy value",
        float(terms.mean()),
        float(terms.std(ddof=1) / np.sqrt(n)),
        alpha=alpha,
        details={"fraction": fraction, "n": n},
    )
