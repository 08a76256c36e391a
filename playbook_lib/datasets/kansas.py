"""Log GDP per capita of the 50 US states and the 2012 Kansas tax cuts (``kansas``).

:func:`load_kansas` reads six columns of the ``kansas`` data of the R package
``augsynth`` (Ben-Michael, Feller & Rothstein), shipped inside this package with its
source and licence (``data/kansas_SOURCE.md``, MIT): one treated state (Kansas, from
2012Q2), 49 donor states, 89 pre- and 16 post-treatment quarters, the worked example
of the augmented synthetic control method. No network access.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_kansas"]


def load_kansas() -> pd.DataFrame:
    """Quarterly log GDP per capita of the 50 US states, 1990Q1-2016Q1.

    Kansas cut its personal income taxes in 2012; ``treated`` marks Kansas from the
    second quarter of 2012 on (16 quarters), the other 49 states are never treated.

    Returns
    -------
    pandas.DataFrame
        5,250 rows (50 states x 105 quarters), sorted by state and quarter, columns
        ``fips`` (int, the state's FIPS code), ``state`` (str, its name), ``year``
        (int), ``quarter`` (int, 1-4), ``time`` (float, ``year + (quarter - 1) / 4``,
        augsynth's ``year_qtr``: 2012.25 is the first treated quarter), ``treated``
        (int, 0/1) and ``log_gdp_per_capita`` (float, natural log of gross state
        product per capita, ``lngdpcapita``; quarterly GDP before 2005 is linearly
        interpolated between years).

    Notes
    -----
    Source: the ``kansas`` data of the R package ``augsynth``
    (https://github.com/ebenmichael/augsynth), distributed under the MIT licence (see
    ``playbook_lib/datasets/data/kansas_SOURCE.md``); the data of Ben-Michael, E.,
    Feller, A. and Rothstein, J. (2021), "The Augmented Synthetic Control Method",
    *Journal of the American Statistical Association* 116(536), 1789-1803.
    """
    path = resources.files("playbook_lib.datasets").joinpath("data/kansas.csv")
    with path.open("r") as handle:
        raw = pd.read_csv(handle)
    year = raw["year"].astype(int).to_numpy()
    quarter = raw["qtr"].astype(int).to_numpy()
    frame = pd.DataFrame(
        {
            "fips": raw["fips"].astype(int).to_numpy(),
            "state": raw["state"].astype(str).to_numpy(),
            "year": year,
            "quarter": quarter,
            "time": year + (quarter - 1) / 4.0,
            "treated": raw["treated"].astype(int).to_numpy(),
            "log_gdp_per_capita": raw["lngdpcapita"].astype(float).to_numpy(),
        }
    )
    return frame.sort_values(["fips", "time"], ignore_index=True)
