"""Comparative case studies for synthetic control, from installed packages (no network).

- :func:`load_california_prop99`: per-capita cigarette sales, 39 US states, 1970-2000
  (Abadie, Diamond & Hainmueller 2010), as shipped by ``causalpy`` 0.9.
- :func:`load_texas_prison`: Black male prisoners by state, 1985-2000 (Cunningham 2021,
  *Causal Inference: The Mixtape*, ch. 10), as shipped by ``causaldata``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["load_california_prop99", "load_texas_prison"]


def _causalpy_data_file(name: str) -> Path:
    # Locate causalpy's data folder without importing causalpy (importing it loads PyMC
    # and ArviZ, which is slow and prints a migration warning).
    spec = importlib.util.find_spec("causalpy")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("causalpy is not installed; it ships the Proposition 99 data")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.exists():
        raise ImportError(f"causalpy does not ship {name}")
    return path


def load_california_prop99() -> pd.DataFrame:
    """California's Proposition 99 (1988): per-capita cigarette sales by state and year.

    The outcome-only panel of Abadie, Diamond & Hainmueller (2010) and Arkhangelsky et al.
    (2021, Table 1): 39 states (California and 38 states without large tobacco-control
    programmes), 1970-2000. Proposition 99 took effect in January 1989, so California is
    treated from 1989 (19 pre-periods, 12 post-periods). Read from the CSV that
    ``causalpy`` 0.9 ships (``causalpy.load_data("california_prop99")``, wide format).

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per state and year, sorted: ``state`` (str), ``year`` (int),
        ``cigsale`` (packs per capita, float) and ``treated`` (1 for California from
        1989 on, else 0).

    Raises
    ------
    ImportError
        If ``causalpy`` (which ships the file) is not installed.
    """
    wide = pd.read_csv(_causalpy_data_file("california_prop99.csv"))
    tidy = wide.melt(id_vars="Year", var_name="state", value_name="cigsale")
    tidy = tidy.rename(columns={"Year": "year"})
    tidy["year"] = tidy["year"].astype(int)
    tidy["state"] = tidy["state"].astype(str)
    # The CSV stores float32 values printed to 10 digits (e.g. 89.80000305); round to
    # the published one-decimal precision.
    tidy["cigsale"] = np.round(tidy["cigsale"].astype(float), 1)
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
    columns = ["state", "year", "bmprison", "alcohol", "income", "ur", "poverty",
               "black", "perc1519", "aidscapita"]
    tidy = data[columns].copy()
    tidy["state"] = tidy["state"].astype(str)
    tidy["year"] = tidy["year"].astype(int)
    for column in columns[2:]:
        tidy[column] = tidy[column].astype(float)
    tidy["treated"] = ((tidy["state"] == "Texas") & (tidy["year"] >= 1993)).astype(int)
    return tidy.sort_values(["state", "year"]).reset_index(drop=True)
