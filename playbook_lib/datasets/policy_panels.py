"""State policy panels for difference-in-differences, from the ``causaldata`` package.

- :func:`load_organ_donations`: quarterly organ-donor registration rates of 27 states;
  California switched to active-choice registration in July 2011 (Kessler and Roth, 2014,
  as used by Huntington-Klein, *The Effect*, 2021). One treated state, one adoption date.
- :func:`load_castle`: yearly crime rates of 50 US states, 2000-2010, and the staggered
  adoption of castle-doctrine ("stand your ground") laws (Cheng and Hoekstra, 2013, as
  used by Cunningham, *Causal Inference: The Mixtape*, 2021).

Both are read from the installed ``causaldata`` package: no network access.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["load_castle", "load_organ_donations"]

_QUARTER_ORDER = ["Q42010", "Q12011", "Q22011", "Q32011", "Q42011", "Q12012"]


def load_organ_donations() -> pd.DataFrame:
    """Organ-donor registration rates by state and quarter (``causaldata.organ_donations``).

    California introduced active-choice organ-donor registration in July 2011, so its
    quarters from Q3 2011 on are treated; the other 26 states never are.

    Returns
    -------
    pandas.DataFrame
        162 rows (27 states x 6 quarters, Q4 2010 to Q1 2012), columns ``state`` (str),
        ``quarter`` (str, e.g. ``"Q32011"``), ``quarter_number`` (int, 1-6), ``rate``
        (share of licence applicants who registered as donors), ``group``
        (``"treatment"`` for California, else ``"control"``), ``period`` (``"pre"`` for
        quarters 1-3, ``"post"`` for 4-6) and ``treated`` (bool: California in a post
        quarter).

    Notes
    -----
    Source: Kessler, J. B. and Roth, A. E. (2014), "Don't take 'no' for an answer: an
    experiment with actual organ donor registrations", NBER Working Paper 20378; data as
    distributed with Huntington-Klein (2021), *The Effect*, chapter 18.
    """
    from causaldata import organ_donations

    raw = organ_donations.load_pandas().data
    frame = pd.DataFrame(
        {
            "state": raw["State"].astype(str).to_numpy(),
            "quarter": raw["Quarter"].astype(str).to_numpy(),
            "quarter_number": raw["Quarter_Num"].astype(int).to_numpy(),
            "rate": raw["Rate"].astype(float).to_numpy(),
        }
    )
    is_california = frame["state"] == "California"
    post = frame["quarter_number"] >= _QUARTER_ORDER.index("Q32011") + 1
    frame["group"] = np.where(is_california, "treatment", "control")
    frame["period"] = np.where(post, "post", "pre")
    frame["treated"] = (is_california & post).to_numpy()
    return frame.sort_values(["state", "quarter_number"], ignore_index=True)


def load_castle() -> pd.DataFrame:
    """Castle-doctrine laws and crime by state and year (``causaldata.castle``).

    Twenty-one states adopted a castle-doctrine law between 2006 and 2010; 29 never did in
    this window. ``first_treated`` is the first year whose ``post`` indicator (as shipped
    in ``causaldata``) is 1; the law took effect part-way through the previous year for
    some states (``adoption_year``, where the shipped ``lag0`` flag is set), which the
    binary indicator counts as untreated.

    Returns
    -------
    pandas.DataFrame
        550 rows (50 states x 11 years), columns ``state`` (int state id), ``year``
        (int), ``first_treated`` (float; NaN for never-treated states), ``adoption_year``
        (float; NaN for never-treated), ``treated`` (bool, ``year >= first_treated``),
        ``log_homicide`` (log homicides per 100,000), ``homicide`` (per 100,000) and
        ``population_weight``.

    Notes
    -----
    Source: Cheng, C. and Hoekstra, M. (2013), "Does strengthening self-defense law deter
    crime or escalate violence? Evidence from expansions to castle doctrine", *Journal of
    Human Resources* 48(3), 821-854; data as distributed with Cunningham (2021).
    """
    from causaldata import castle

    raw = castle.load_pandas().data
    frame = pd.DataFrame(
        {
            "state": raw["sid"].astype(int).to_numpy(),
            "year": raw["year"].astype(int).to_numpy(),
            "post": raw["post"].astype(float).to_numpy(),
            "lag0": raw["lag0"].astype(int).to_numpy(),
            "log_homicide": raw["l_homicide"].astype(float).to_numpy(),
            "homicide": raw["homicide"].astype(float).to_numpy(),
            "population_weight": raw["popwt"].astype(float).to_numpy(),
        }
    )
    first = frame.loc[frame["post"] > 0].groupby("state")["year"].min()
    adoption = frame.loc[frame["lag0"] == 1].groupby("state")["year"].min()
    frame["first_treated"] = frame["state"].map(first).astype(float)
    frame["adoption_year"] = frame["state"].map(adoption).astype(float)
    frame["treated"] = (frame["year"] >= frame["first_treated"]).to_numpy()
    frame = frame.drop(columns=["post", "lag0"])
    columns = [
        "state",
        "year",
        "first_treated",
        "adoption_year",
        "treated",
        "log_homicide",
        "homicide",
        "population_weight",
    ]
    return frame[columns].sort_values(["state", "year"], ignore_index=True)
