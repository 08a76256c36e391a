"""The National Supported Work (NSW) job-training experiment, shipped with ``causaldata``.

The NSW demonstration randomly assigned disadvantaged workers to a job-training programme
(LaLonde, 1986); ``causaldata.nsw_mixtape`` is the Dehejia & Wahba (1999) subsample of the
experimental data as distributed with Cunningham (2021), *Causal Inference: The Mixtape*:
445 men, 185 treated and 260 controls.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["load_job_training"]

_COLUMNS = ["treat", "age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75", "re78"]


def load_job_training() -> pd.DataFrame:
    """Load the randomised NSW job-training sample (no network: from ``causaldata``).

    Returns
    -------
    pandas.DataFrame
        445 rows, one per man, columns:

        - ``treatment`` (int 0/1): assigned to the NSW programme (``treat`` in the source);
        - ``age`` (years), ``education`` (years of schooling, ``educ``);
        - ``black``, ``hispanic`` (``hisp``), ``married`` (``marr``), ``no_degree``
          (``nodegree``): 0/1 indicators;
        - ``earnings_1974``, ``earnings_1975`` (``re74``, ``re75``): real annual earnings
          before the programme, 1982 US dollars; 0 for men without earnings;
        - ``earnings_1978`` (``re78``): real earnings in 1978, after the programme, the
          outcome.

        The chapter uses ``earnings_1975`` as the CUPED covariate and ``earnings_1978`` as
        the outcome (``re75 → re78``).

    Raises
    ------
    ImportError
        If ``causaldata`` is not installed.

    Notes
    -----
    Sources: LaLonde (1986), "Evaluating the econometric evaluations of training programs
    with experimental data", American Economic Review 76(4); Dehejia & Wahba (1999),
    "Causal effects in nonexperimental studies: reevaluating the evaluation of training
    programs", JASA 94(448); Cunningham (2021).
    """
    import causaldata

    raw = causaldata.nsw_mixtape.load_pandas().data
    frame = raw[_COLUMNS].astype(float)
    frame = frame.rename(
        columns={
            "treat": "treatment",
            "educ": "education",
            "hisp": "hispanic",
            "marr": "married",
            "nodegree": "no_degree",
            "re74": "earnings_1974",
            "re75": "earnings_1975",
            "re78": "earnings_1978",
        }
    )
    for column in ("treatment", "age", "education", "black", "hispanic", "married", "no_degree"):
        frame[column] = frame[column].astype(int)
    return frame.reset_index(drop=True)
