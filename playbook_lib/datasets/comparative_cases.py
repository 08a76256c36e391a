"""Comparative case studies for synthetic control, shipped as data (no network).

- :func:`load_california_prop99`: per-capita cigarette sales, 39 US states, 1970-2000
  (Abadie, Diamond & Hainmueller 2010), a CSV inside this package.
- :func:`load_texas_prison`: Black male prisoners by state, 1985-2000 (Cunningham 2021,
  *Causal Inference: The Mixtape*, ch. 10), as shipped by ``causaldata``.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_california_prop99", "load_texas_prison"]

PROP99_FILE = "california_prop99.csv"


def load_california_prop99() -> pd.DataFrame:
    """California's Proposition 99 (1988): per-capita cigarette sales by state and year.

    The outcome-only panel of Abadie, Diamond & Hainmueller (2010) and Arkhangelsky et al.
    (2021, Table 1): 39 states (California and 38 states without large tobacco-control
    programmes), 1970-2000. Proposition 99 took effect in January 1989, so California is
    treated from 1989 (19 pre-periods, 12 post-periods).

    The file ``playbook_lib/datasets/data/california_prop99.csv`` (1,209 rows: ``state``,
    ``year``, ``cigsale``) ships inside the package. Source: Orzechowski and Walker, *The
    Tax Burden on Tobacco* (annual state sales in packs per capita), as assembled by
    Abadie, Diamond & Hainmueller (2010) and redistributed with the ``synthdid`` R package
    and CausalPy (Apache-2.0 licence), from which it was converted to this tidy form with
    values rounded to the published one-decimal precision. The figures are public
    statistics.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per state and year, sorted: ``state`` (str), ``year`` (int),
        ``cigsale`` (packs per capita, float) and ``treated`` (1 for California from
        1989 on, else 0).
    """
    source = resources.files("playbook_lib.datasets").joinpath("data", PROP99_FILE)
    with source.open("r", encoding="utf-8") as handle:
        tidy = pd.read_csv(handle, dtype={"state": str, "year": int, "cigsale": float})
    tidy["treated"] = ((tidy["state"] == "California") & (tidy["year"] >= 1989)).astype(int)
    return tidy.sort_values(["state", "year"]).reset_index(drop=True)


def load_texas_prison() -> pd.DataFrame:
    """Texas prison expansion (1993): Black male prisoners by state and year, 1985-2000.

    Used in the synthetic-control chapter of Cunningham (2021). In 1993 Texas began a
    large expansion of prison capacity; the outcome is the number of Black male prisoners
    (``bmprison``). Texas is treated from 1993 on (8 pre-periods, 8 post-periods).
    Loaded from ``causaldata.texas``.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per state (51 incl. DC) and year: ``state``, ``year``,
        ``bmprison``, the covariates ``alcohol``, ``income``, ``ur`` (unemployment
        rate), ``poverty``, ``black`` (percent Black), ``perc1519`` (percent aged 15-19),
        ``aidscapita`` (AIDS cases per capita), and ``treated`` (1 for Texas from 1993).
        (The column ``wmprison``, which has missing values, is dropped.)

    Raises
    ------
    ImportError
        If ``causaldata`` is not installed.
    """
    import causaldata

    data = causaldata.texas.load_pandas().data
    columns = [
        "state",
        "year",
        "bmprison",
        "alcohol",
        "income",
        "ur",
        "poverty",
        "black",
        "perc1519",
        "aidscapita",
    ]
    tidy = data[columns].copy()
    tidy["state"] = tidy["state"].astype(str)
    tidy["year"] = tidy["year"].astype(int)
    for column in columns[2:]:
        tidy[column] = tidy[column].astype(float)
    tidy["treated"] = ((tidy["state"] == "Texas") & (tidy["year"] >= 1993)).astype(int)
    return tidy.sort_values(["state", "year"]).reset_index(drop=True)
