"""Confounded logs: IPW with an estimated propensity and cross-fitted doubly robust estimation.

When whether a unit was treated depended on its covariates, the propensity must be
estimated. :func:`estimate_ipw_estimated_propensity` (Hajek IPW with a logistic propensity)
and :func:`estimate_cross_fitted_dr` (AIPW with logistic propensity and outcome models,
cross-fitted; Robins et al., 1994; Chernozhukov et al., 2018) answer on one data set;
:func:`batch_estimate_ipw_estimated_propensity` and :func:`batch_estimate_dr` answer on many
replicated data sets at once, with logistic fits by Newton-Raphson vectorised over
replications. A fit whose inputs repeat an earlier one (the same propensity model for IPW
and DR, or one model shared by several scenarios of a study) is reused, not refitted: the
recent fits are kept under a digest of their inputs.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from playbook_lib.bandits._checks import check_clip, row_blocks
from playbook_lib.results import Estimate, Estimates
from playbook_lib.validation import (
    PlaybookWarning,
    as_numeric_array,
    check_alpha,
    check_binary,
    check_columns,
    check_integer,
    check_rng,
    column_as_float_array,
)

__all__ = [
    "batch_estimate_dr",
    "batch_estimate_ipw_estimated_propensity",
    "estimate_cross_fitted_dr",
    "estimate_ipw_estimated_propensity",
]


# --------------------------------------------------------------------------- shared formulas
def _hajek_ipw(
    treatment: np.ndarray, outcome: np.ndarray, propensity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Hajek IPW difference and its linearised standard error (propensity treated as known),
    over the last axis."""
    w1 = treatment / propensity
    w0 = (1 - treatment) / (1 - propensity)
    mean1 = np.sum(w1 * outcome, -1, keepdims=True) / np.sum(w1, -1, keepdims=True)
    mean0 = np.sum(w0 * outcome, -1, keepdims=True) / np.sum(w0, -1, keepdims=True)
    influence = w1 * (outcome - mean1) / np.mean(w1, -1, keepdims=True) - w0 * (
        outcome - mean0
    ) / np.mean(w0, -1, keepdims=True)
    n = outcome.shape[-1]
    return (mean1 - mean0)[..., 0], influence.std(-1, ddof=1) / np.sqrt(n)


def _dr_mean_and_se(
    treatment: np.ndarray,
    outcome: np.ndarray,
    propensity: np.ndarray,
    treated_mean: np.ndarray,
    control_mean: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the AIPW scores and its standard error, over the last axis."""
    score = (
        treated_mean
        - control_mean
        + treatment * (outcome - treated_mean) / propensity
        - (1 - treatment) * (outcome - control_mean) / (1 - propensity)
    )
    return score.mean(-1), score.std(-1, ddof=1) / np.sqrt(outcome.shape[-1])


def _check_folds(n_folds: Any, n: int) -> int:
    n_folds = check_integer(n_folds, "n_folds", minimum=2)
    if n < 2 * n_folds:
        raise ValueError(f"n_folds ({n_folds}) leaves fewer than two rows per fold (n = {n})")
    return n_folds


# --------------------------------------------------------------------------- many data sets
def _fit_logistic_batched(
    features: np.ndarray,
    outcome: np.ndarray,
    mask: np.ndarray | None = None,
    n_iterations: int = 25,
    ridge: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray]:
    """Unpenalised logistic regression by Newton-Raphson, vectorised over leading axes.

    ``features`` (..., n, p) already includes an intercept column if wanted; ``mask``
    (..., n) selects the rows used in each fit. Returns coefficients (..., p) and whether
    each fit converged (..., ): its last Newton step below 1e-10, which a data set whose
    classes the features separate never reaches (its maximum-likelihood fit does not
    exist). Equal to statsmodels' ``Logit`` maximum likelihood (tested); used for fast
    simulation studies. The fits run a few data sets at a time (cache-sized blocks), each
    block iterating until its own steps are below 1e-10.
    """
    n, p = features.shape[-2:]
    lead = features.shape[:-2]
    flat_x = features.reshape((-1, n, p))
    flat_y = outcome.reshape((-1, n))
    flat_mask = None if mask is None else mask.reshape((-1, n))
    coef = np.empty((len(flat_x), p))
    converged = np.empty(len(flat_x), dtype=bool)
    for rows in row_blocks(len(flat_x), n * p):
        coef[rows], converged[rows] = _newton_logistic(
            flat_x[rows],
            flat_y[rows],
            None if flat_mask is None else flat_mask[rows],
            n_iterations,
            ridge,
        )
    return coef.reshape(lead + (p,)), converged.reshape(lead)


def _newton_logistic(
    features: np.ndarray,
    outcome: np.ndarray,
    mask: np.ndarray | None,
    n_iterations: int,
    ridge: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The Newton-Raphson iterations of :func:`_fit_logistic_batched` on one block."""
    weights_rows = np.ones(outcome.shape) if mask is None else mask.astype(float)
    p = features.shape[-1]
    coef = np.zeros(features.shape[:-2] + (p,))
    eye = np.eye(p) * ridge
    converged = np.zeros(coef.shape[:-1], dtype=bool)
    for _ in range(n_iterations):
        eta = (features @ coef[..., None])[..., 0]
        mu = special.expit(eta)
        w = weights_rows * mu * (1 - mu)
        gradient = (np.swapaxes(features, -1, -2) @ (weights_rows * (outcome - mu))[..., None])[
            ..., 0
        ]
        hessian = np.swapaxes(features * w[..., None], -1, -2) @ features + eye
        step = np.linalg.solve(hessian, gradient[..., None])[..., 0]
        coef = coef + step
        converged = np.abs(step).max(axis=-1) < 1e-10
        if converged.all():
            break
    return coef, converged


# Fitted coefficients of recent batched fits, keyed by a digest of the fit's inputs: a
# simulation study that evaluates several estimators or scenarios sharing a model (the same
# propensity features for IPW and DR, the same outcome features in two scenarios) fits it
# once. Keyed by content, so a changed input is a new fit; a handful of small arrays.
_FIT_CACHE: OrderedDict[bytes, np.ndarray] = OrderedDict()
_FIT_CACHE_SIZE = 32


def _digest(*arrays: np.ndarray | None) -> bytes:
    """A digest of the arrays' dtypes, shapes and bytes."""
    digest = hashlib.sha256()  # hardware-accelerated on most CPUs
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.digest()


def _fit_logistic_once(
    features: np.ndarray,
    outcome: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    what: str,
    stacklevel: int,
) -> np.ndarray:
    """:func:`_fit_logistic_batched`, reusing the result of an identical recent fit.

    Warns (:class:`~playbook_lib.PlaybookWarning`, at ``stacklevel``) when some fit did
    not converge, every time its result is used (cached or not).
    """
    key = _digest(features, outcome, mask)
    if key in _FIT_CACHE:
        _FIT_CACHE.move_to_end(key)
    else:
        _FIT_CACHE[key] = _fit_logistic_batched(features, outcome, mask)
        if len(_FIT_CACHE) > _FIT_CACHE_SIZE:
            _FIT_CACHE.popitem(last=False)
    coef, converged = _FIT_CACHE[key]
    if not converged.all():
        warnings.warn(
            f"the logistic {what} did not converge in {int((~converged).sum())} of "
            f"{converged.size} replications: the features separate its 0s from its 1s "
            "(or nearly), so no maximum-likelihood fit exists and its fitted probabilities "
            "are pushed to 0 or 1; use fewer features or more rows",
            PlaybookWarning,
            stacklevel=stacklevel + 1,
        )
    return coef.copy()


def _rows(array: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The rows (axis 1) of ``array`` that ``keep`` selects, as a C-contiguous array.

    ``array[:, keep]`` would put the selected axis first in memory (strides of an
    advanced index), which made every product of the Newton iterations several times
    slower.
    """
    return np.compress(keep, array, axis=1)


def _replicated_features(values: Any, name: str) -> np.ndarray:
    array = as_numeric_array(values, name, allow_empty=True)
    if array.ndim != 3:
        raise ValueError(f"{name} must be (n_reps, n, p), got shape {array.shape}")
    return np.concatenate([np.ones(array.shape[:2] + (1,)), array], -1)  # intercept first


def _replicated_arms(
    treatment: Any, outcome: Any, features: dict[str, np.ndarray], n_folds: Any, binary: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Checked treatment and outcome (n_reps, n) and the contiguous fold of each row."""
    w = as_numeric_array(treatment, "treatment", allow_empty=True)
    y = as_numeric_array(outcome, "outcome", allow_empty=True)
    shapes = {name: array.shape[:2] for name, array in features.items()}
    if w.ndim != 2 or y.shape != w.shape or any(shape != w.shape for shape in shapes.values()):
        described = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(
            f"length mismatch: treatment {w.shape}, outcome {y.shape} and {described} must "
            "agree on (n_reps, n)"
        )
    if np.any((w != 0) & (w != 1)):
        raise ValueError("treatment must be 0 or 1")
    if binary and np.any((y != 0) & (y != 1)):
        raise ValueError("outcome must be 0 or 1 (the outcome models are logistic)")
    n = w.shape[1]
    n_folds = _check_folds(n_folds, n)
    fold = np.arange(n) * n_folds // n
    for f in range(n_folds):
        train = fold != f
        for arm in (0, 1):
            if np.any(np.sum(w[:, train] == arm, axis=1) < 1):
                raise ValueError(
                    f"treatment: a training fold of some replication has no "
                    f"{'treated' if arm else 'control'} rows, so its models are undefined"
                )
    return w, y, fold, n_folds


def _cross_fitted_propensity(
    x_e: np.ndarray, w: np.ndarray, fold: np.ndarray, n_folds: int
) -> np.ndarray:
    e_hat = np.empty_like(w)
    for f in range(n_folds):
        train, test = fold != f, fold == f
        coef = _fit_logistic_once(
            _rows(x_e, train), _rows(w, train), what="propensity model", stacklevel=3
        )
        e_hat[:, test] = special.expit(np.einsum("rnp,rp->rn", _rows(x_e, test), coef))
    return e_hat


def batch_estimate_ipw_estimated_propensity(
    propensity_features: Any,
    treatment: Any,
    outcome: Any,
    *,
    n_folds: int = 2,
    propensity_clip: float = 0.01,
    alpha: float = 0.05,
) -> Estimates:
    """Hajek IPW with a cross-fitted logistic propensity on many replications at once.

    For each replication (leading axis) fits, on each fold's complement, a logistic
    propensity model on ``propensity_features`` (Newton-Raphson, vectorised; the same
    maximum-likelihood fit as statsmodels), predicts on the held-out fold, clips to
    ``[clip, 1 - clip]`` and returns the Hajek IPW estimate of the ATE with the
    linearised standard error of :func:`estimate_ipw_estimated_propensity` (which treats
    the propensity as known: conservative). Folds are contiguous equal blocks of rows
    (rows are i.i.d.); an intercept is added. Consistent only if the propensity model is
    right.

    Parameters
    ----------
    propensity_features : array-like, shape (n_reps, n, p)
    treatment : array-like of 0/1, shape (n_reps, n)
    outcome : array-like, shape (n_reps, n)
    n_folds : int
        Cross-fitting folds (>= 2).
    propensity_clip : float
        Estimated propensities are clipped to [clip, 1 - clip].
    alpha : float
        Two-sided level of the normal intervals.

    Returns
    -------
    Estimates
        ``method="ipw (estimated propensity)"``, one row per replication.

    Raises
    ------
    ValueError
        If shapes disagree, values are not finite, treatment is not 0/1, a training fold
        lacks an arm, ``n_folds`` < 2 or leaves fewer than two rows per fold, or
        ``propensity_clip`` is outside [0, 0.5).
    """
    alpha = check_alpha(alpha)
    x_e = _replicated_features(propensity_features, "propensity_features")
    w, y, fold, n_folds = _replicated_arms(
        treatment, outcome, {"propensity_features": x_e}, n_folds, binary=False
    )
    clip = check_clip(propensity_clip)
    e_hat = np.clip(_cross_fitted_propensity(x_e, w, fold, n_folds), clip, 1 - clip)
    estimate, se = _hajek_ipw(w, y, e_hat)
    return Estimates.from_standard_errors(
        "ipw (estimated propensity)", estimate, se, alpha=alpha, labels=range(len(w))
    )


def batch_estimate_dr(
    propensity_features: Any,
    outcome_features: Any,
    treatment: Any,
    outcome: Any,
    *,
    n_folds: int = 2,
    propensity_clip: float = 0.01,
    alpha: float = 0.05,
) -> Estimates:
    """Cross-fitted doubly robust (AIPW) estimates of the ATE on many replications at once.

    For each replication (leading axis) fits, on each fold's complement, a logistic
    propensity model on ``propensity_features`` and one logistic outcome model per arm on
    ``outcome_features`` (Newton-Raphson, vectorised; the same maximum-likelihood fits as
    statsmodels), predicts on the held-out fold (cross-fitting; Chernozhukov et al., 2018)
    and averages the AIPW scores, as :func:`estimate_cross_fitted_dr` does for one data
    set. Folds are contiguous equal blocks of rows (rows are i.i.d.); an intercept is
    added. Consistent if either model is right.

    Parameters
    ----------
    propensity_features : array-like, shape (n_reps, n, p1)
    outcome_features : array-like, shape (n_reps, n, p2)
    treatment : array-like of 0/1, shape (n_reps, n)
    outcome : array-like of 0/1, shape (n_reps, n)
    n_folds, propensity_clip, alpha
        As :func:`batch_estimate_ipw_estimated_propensity`.

    Returns
    -------
    Estimates
        ``method="cross-fitted dr"``, one row per replication.

    Raises
    ------
    ValueError
        If shapes disagree, values are not finite, treatment or outcome is not 0/1, a
        training fold lacks an arm, ``n_folds`` < 2 or leaves fewer than two rows per
        fold, or ``propensity_clip`` is outside [0, 0.5).
    """
    alpha = check_alpha(alpha)
    x_e = _replicated_features(propensity_features, "propensity_features")
    x_m = _replicated_features(outcome_features, "outcome_features")
    features = {"propensity_features": x_e, "outcome_features": x_m}
    w, y, fold, n_folds = _replicated_arms(treatment, outcome, features, n_folds, binary=True)
    clip = check_clip(propensity_clip)
    e_hat = _cross_fitted_propensity(x_e, w, fold, n_folds)
    m1 = np.empty_like(w)
    m0 = np.empty_like(w)
    for f in range(n_folds):
        train, test = fold != f, fold == f
        x_train, y_train, w_train = _rows(x_m, train), _rows(y, train), _rows(w, train)
        x_test = _rows(x_m, test)
        for arm, target in ((1, m1), (0, m0)):
            coef = _fit_logistic_once(
                x_train, y_train, w_train == arm, what="outcome model", stacklevel=2
            )
            target[:, test] = special.expit(np.einsum("rnp,rp->rn", x_test, coef))
    estimate, se = _dr_mean_and_se(w, y, np.clip(e_hat, clip, 1 - clip), m1, m0)
    return Estimates.from_standard_errors(
        "cross-fitted dr", estimate, se, alpha=alpha, labels=range(len(w))
    )


# --------------------------------------------------------------------------- one data set
def _check_observational(
    data: Any, treatment: Any, outcome: Any, covariates: Any, name: str = "covariates"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    check_columns(data, [])
    if len(data) < 4:
        raise ValueError(f"data must have at least 4 rows, got {len(data)}")
    if isinstance(covariates, str) or not isinstance(covariates, tuple | list):
        raise ValueError(f"{name} must be a list of column names, got {covariates!r}")
    if len(covariates) == 0:
        raise ValueError(f"{name} must name at least one column")
    missing = [column for column in covariates if column not in data.columns]
    if missing:
        raise ValueError(f"{name}: data is missing column(s) {missing}")
    w = column_as_float_array(data, treatment, "treatment")
    w = check_binary(w, f"treatment (column {treatment!r})").astype(float)
    y = column_as_float_array(data, outcome, "outcome")
    x = np.column_stack([column_as_float_array(data, column, name) for column in covariates])
    return w, y, x


def _logistic() -> Any:
    # scikit-learn loads in about a second: imported when a model is fitted, so that
    # `import playbook_lib.simulate` (which imports the Thompson policy) stays cheap
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=np.inf, max_iter=1000)


def estimate_ipw_estimated_propensity(
    data: pd.DataFrame,
    *,
    treatment: str = "treatment",
    outcome: str = "outcome",
    covariates: tuple[str, ...] | list[str] = ("x1", "x2", "x3"),
    propensity_clip: float = 0.01,
    alpha: float = 0.05,
) -> Estimate:
    r"""Hajek IPW estimate of the ATE with a logistic-regression propensity.

    Fits :math:`\hat e(x) = P(W=1 \mid x)` by unpenalised logistic regression
    (scikit-learn), clips it to ``[clip, 1 - clip]``, and returns
    :math:`\sum W Y/\hat e / \sum W/\hat e - \sum (1-W)Y/(1-\hat e) / \sum (1-W)/(1-\hat e)`.
    Consistent only if the propensity model is right. The standard error treats
    :math:`\hat e` as known, which is conservative for IPW with an estimated propensity
    (Lunceford and Davidian, 2004).

    Returns
    -------
    Estimate
        ``method="ipw (estimated propensity)"``; details ``n``, ``n_clipped``.

    Raises
    ------
    ValueError
        If columns are missing, the treatment is not 0/1 or has one arm only, values are
        not finite, or ``propensity_clip`` is outside [0, 0.5) (the clip range
        ``[clip, 1 - clip]`` must not be empty).
    """
    alpha = check_alpha(alpha)
    clip = check_clip(propensity_clip)
    w, y, x = _check_observational(data, treatment, outcome, covariates)
    raw = _logistic().fit(x, w).predict_proba(x)[:, 1]
    n_clipped = int(np.sum((raw < clip) | (raw > 1 - clip)))
    estimate, se = _hajek_ipw(w, y, np.clip(raw, clip, 1 - clip))
    return Estimate.from_standard_error(
        "ipw (estimated propensity)",
        float(estimate),
        float(se),
        alpha=alpha,
        details={"n": len(y), "n_clipped": n_clipped},
    )


def estimate_cross_fitted_dr(
    data: pd.DataFrame,
    *,
    treatment: str = "treatment",
    outcome: str = "outcome",
    covariates: tuple[str, ...] | list[str] = ("x1", "x2", "x3"),
    propensity_covariates: tuple[str, ...] | list[str] | None = None,
    n_folds: int = 5,
    propensity_clip: float = 0.01,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    r"""Cross-fitted doubly robust (AIPW) estimate of the ATE with logistic models.

    On each of ``n_folds`` random folds, fits on the other folds a logistic propensity
    model and one logistic outcome model per arm (scikit-learn, unpenalised), predicts on
    the held-out fold, and averages the AIPW scores
    :math:`\hat m_1 - \hat m_0 + W(Y-\hat m_1)/\hat e - (1-W)(Y - \hat m_0)/(1-\hat e)`
    (Robins et al., 1994; cross-fitting as in Chernozhukov et al., 2018). Consistent if
    *either* model is right; efficient if both are.

    Parameters
    ----------
    covariates : sequence of str
        Columns of the outcome models (and of the propensity model unless
        ``propensity_covariates`` is given).
    propensity_covariates : sequence of str, optional
        Columns of the propensity model.
    n_folds : int
        Cross-fitting folds (>= 2).
    rng : numpy.random.Generator, int or None
        Fold assignment.

    Returns
    -------
    Estimate
        ``method="cross-fitted dr"``; details ``n``, ``n_folds``, ``n_clipped``.

    Raises
    ------
    ValueError
        If columns are missing, the treatment is not 0/1 or has one arm only, the outcome
        is not 0/1, a training fold lacks an arm, ``n_folds`` < 2, ``propensity_clip`` is
        outside [0, 0.5) or ``rng`` is not a Generator, seed or None.
    """
    alpha = check_alpha(alpha)
    clip = check_clip(propensity_clip)
    n_folds = check_integer(n_folds, "n_folds", minimum=2)
    generator = check_rng(rng)
    w, y, x_m = _check_observational(data, treatment, outcome, covariates)
    x_e = (
        x_m
        if propensity_covariates is None
        else _check_observational(
            data, treatment, outcome, propensity_covariates, "propensity_covariates"
        )[2]
    )
    if np.any((y != 0) & (y != 1)):
        raise ValueError("outcome must be 0 or 1 (the outcome models are logistic)")
    n = len(y)
    n_folds = _check_folds(n_folds, n)
    fold = generator.permutation(np.arange(n) % n_folds)
    for f in range(n_folds):
        for arm in (0, 1):
            if np.sum((fold != f) & (w == arm)) < 1:
                raise ValueError(
                    f"treatment: the training folds leave no {'treated' if arm else 'control'}"
                    " rows for a fold; use fewer folds (n_folds)"
                )
    e_hat = np.empty(n)
    m1 = np.empty(n)
    m0 = np.empty(n)
    for f in range(n_folds):
        train, test = fold != f, fold == f
        e_hat[test] = _logistic().fit(x_e[train], w[train]).predict_proba(x_e[test])[:, 1]
        for arm, target in ((1, m1), (0, m0)):
            rows = train & (w == arm)
            target[test] = _logistic().fit(x_m[rows], y[rows]).predict_proba(x_m[test])[:, 1]
    n_clipped = int(np.sum((e_hat < clip) | (e_hat > 1 - clip)))
    estimate, se = _dr_mean_and_se(w, y, np.clip(e_hat, clip, 1 - clip), m1, m0)
    return Estimate.from_standard_error(
        "cross-fitted dr",
        float(estimate),
        float(se),
        alpha=alpha,
        details={"n": n, "n_folds": n_folds, "n_clipped": n_clipped},
    )
