"""County teen employment and state minimum-wage increases, 2003-2007 (``mpdta``).

:func:`load_mpdta` reads the ``mpdta`` panel of the R package ``did`` (Callaway and
Sant'Anna), shipped inside this package with its source and licence
(``data/mpdta_SOURCE.md``, GPL-3): a staggered adoption in three cohorts, the reference
data of the Callaway-Sant'Anna estimator. No network access.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["load_mpdta"]


def load_mpdta() -> pd.DataFrame:
    """Teen employment in 500 US counties, 2003-2007, and minimum-wage increases.

    Counties in states that raised their minimum wage in 2004, 2006 or 2007 form three
    cohorts; 309 counties never did in this window. ``first_treated`` is the year of the
    increase (NaN for never-treated counties, 0 in the R data).

    Returns
    -------
    pandas.DataFrame
        2,500 rows (500 counties x 5 years), sorted by county and year, columns
        ``county`` (int, the R data's ``countyreal``), ``year`` (int), ``first_treated``
        (float; NaN for never-treated counties), ``treated`` (bool, ``year >=
        first_treated``), ``log_employment`` (log teen employment, ``lemp``) and
        ``log_population`` (log of the population in 1000s, ``lpop``).

    Notes
    -----
    Source: the ``mpdta`` data of the R package ``did`` 2.5.1, distributed under the GPL-3
    (see ``playbook_lib/datasets/data/mpdta_SOURCE.md``); a subset of the data of
    Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-differences with multiple
    time periods", *Journal of Econometrics* 225(2), 200-230.
    """
    path = resources.files("playbook_lib.datasets").joinpath("data/mpdta.csv")
    with path.open("r") as handle:
        raw = pd.read_csv(handle)
    first = raw["first.treat"].astype(float).to_numpy()
    frame = pd.DataFrame(
        {
            "county": raw["countyreal"].astype(int).to_numpy(),
            "year": raw["year"].astype(int).to_numpy(),
            "first_treated": np.where(first > 0, first, np.nan),
            "log_employment": raw["lemp"].astype(float).to_numpy(),
            "log_population": raw["lpop"].astype(float).to_numpy(),
        }
    )
    frame.insert(3, "treated", (frame["year"] >= frame["first_treated"]).to_numpy())
    return frame.sort_values(["county", "year"], ignore_index=True)
