"""CUPAC: a cross-fitted machine-learning prediction of the outcome as the CUPED covariate."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from playbook_lib.cuped._inputs import covariate_matrix, outcome_covariates_treatment
from playbook_lib.cuped.core import estimate_cuped
from playbook_lib.results import Estimate
from playbook_lib.validation import (
    as_float_array,
    check_alpha,
    check_integer,
    check_rng,
    check_same_length,
)

__all__ = ["cross_fit_predictions", "estimate_cupac"]


def cross_fit_predictions(
    features: Any,
    target: Any,
    *,
    model: Any = None,
    n_folds: int = 5,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Out-of-fold predictions of ``target`` from ``features`` (scikit-learn cross-fitting).

    Each unit's prediction comes from a model that never saw that unit, so the prediction
    carries none of the unit's own outcome noise (or its own treatment effect).

    Parameters
    ----------
    features : array-like, shape (n, p)
        Pre-period features only (measured before assignment; never the treatment).
    target : array-like, shape (n,)
        What to predict, e.g. the in-experiment outcome.
    model : scikit-learn regressor, optional
        Cloned for each fold; default a ``HistGradientBoostingRegressor`` (handles NaN).
    n_folds : int
        Number of folds (>= 2).
    rng : numpy.random.Generator, int or None
        Seeds the fold split and the default model.

    Returns
    -------
    numpy.ndarray, shape (n,)

    Raises
    ------
    ValueError
        On mismatched lengths, infinite or non-numeric values, NaN in ``target``,
        ``n_folds < 2`` or above the number of units, a ``model`` without ``fit`` and
        ``predict``, a bad ``rng``, or a model that fails on the features (e.g. NaN for a
        model that does not accept it).
    """
    from sklearn.base import clone
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    rng = check_rng(rng)
    n_folds = check_integer(n_folds, "n_folds", minimum=2)
    x = covariate_matrix(features, "features", allow_nan=True)
    y = as_float_array(target, "target")
    check_same_length(features=x, target=y)
    if y.size < n_folds:
        raise ValueError(f"n_folds ({n_folds}) must not exceed the number of units ({y.size})")
    if model is not None and not (hasattr(model, "fit") and hasattr(model, "predict")):
        raise ValueError(f"model must be a scikit-learn regressor, got {model!r}")
    seed = int(rng.integers(2**31 - 1))
    if model is None:
        model = HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, random_state=seed)
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
    # One OpenMP thread: on a shared or small machine, gradient boosting's thread pool
    # oversubscribes the cores and runs many times slower than single-threaded.
    with threadpool_limits(limits=1, user_api="openmp"):
        try:
            predictions = cross_val_predict(clone(model), x, y, cv=folds)
        except ValueError as error:  # e.g. NaN features for a model that cannot take them
            raise ValueError(f"features: the model could not be fitted: {error}") from None
    return np.asarray(predictions, dtype=float)


def estimate_cupac(
    outcome: Any,
    features: Any,
    treatment: Any,
    *,
    data: pd.DataFrame | None = None,
    model: Any = None,
    n_folds: int = 5,
    alpha: float = 0.05,
    rng: np.random.Generator | int | None = None,
) -> Estimate:
    """CUPAC: CUPED with a cross-fitted ML prediction of the outcome as the covariate.

    Parameters
    ----------
    outcome, treatment : array-like or str
        As :func:`~playbook_lib.cuped.estimate_cuped`.
    features : array-like or list of str
        Pre-period features (NaN allowed, e.g. new users without history, if the model
        handles it like the default one).
    data, alpha
        As :func:`~playbook_lib.cuped.estimate_cuped`.
    model, n_folds, rng
        As :func:`cross_fit_predictions`.

    Returns
    -------
    Estimate
        ``method="cupac"``; ``details`` as CUPED's plus ``prediction_r_squared`` (the
        out-of-fold R² of the prediction).

    Raises
    ------
    ValueError
        As :func:`~playbook_lib.cuped.estimate_cuped` and :func:`cross_fit_predictions`.

    Notes
    -----
    Source: Li, Tang & Bauman (2020), "Improving experimental power through Control Using
    Predictions as Covariates (CUPAC)", DoorDash engineering blog. The prediction is a
    function of pre-period data and of *other* units' outcomes only, so randomisation keeps
    it independent of the unit's own assignment (asymptotically); an in-sample fit would
    not be.
    """
    alpha = check_alpha(alpha)
    rng = check_rng(rng)
    y, x, treated = outcome_covariates_treatment(
        data, outcome, features, treatment, covariate_name="features", allow_nan=True
    )
    prediction = cross_fit_predictions(x, y, model=model, n_folds=n_folds, rng=rng)
    result = estimate_cuped(y, prediction, treated.astype(float), alpha=alpha)
    residual = y - prediction
    details = {
        **result.details,
        "prediction_r_squared": float(1 - residual.var() / y.var()),
    }
    return replace(result, method="cupac", details=details)
