"""Real randomised experiments (the foundations chapter); no network access.

- :func:`load_free_trial_screener`: the arm totals of Udacity's "Free Trial Screener"
  experiment, as published with Udacity's A/B Testing course (by Google) final project.
- :func:`load_thornton_hiv`: Thornton's (2008) randomised cash-incentive experiment in
  Malawi, shipped by the ``causaldata`` package.
"""

from __future__ import annotations

import pandas as pd

from playbook_lib.validation import check_flag

__all__ = ["load_free_trial_screener", "load_thornton_hiv"]


def load_free_trial_screener() -> pd.DataFrame:
    """Arm totals of Udacity's Free Trial Screener experiment.

    Udacity tested asking prospective students how many hours a week they could study
    before they started a free trial (the "experiment" arm) against the usual checkout
    ("control"); cookies were randomised on the course overview page. The final
    project of Udacity's A/B Testing course (ud257, by Google's Carrie Grimes, Caroline
    Buckey and Diane Tang) publishes the daily results; these are their totals over the
    whole test. Enrollments and payments were only tracked for the first 23 days, so
    they are out of ``clicks_with_outcomes`` clicks, not out of all clicks.

    Returns
    -------
    pandas.DataFrame
        Index ``arm`` (``"control"``, ``"experiment"``); columns ``pageviews`` (cookies
        that viewed the course overview page), ``clicks`` (cookies that clicked "start
        free trial"), ``clicks_with_outcomes`` (the clicks of the days with enrollment
        data), ``enrollments`` (user-ids that enrolled in the free trial) and
        ``payments`` (enrolled user-ids that paid after the trial). Gross conversion is
        ``enrollments / clicks_with_outcomes``; net conversion is ``payments /
        clicks_with_outcomes``.
    """
    return pd.DataFrame(
        {
            "pageviews": [345_543, 344_660],
            "clicks": [28_378, 28_325],
            "clicks_with_outcomes": [17_293, 17_260],
            "enrollments": [3_785, 3_423],
            "payments": [2_033, 1_945],
        },
        index=pd.Index(["control", "experiment"], name="arm"),
    )


def load_thornton_hiv(complete_cases: bool = True) -> pd.DataFrame:
    """Thornton's (2008) experiment: do cash incentives get people to learn their HIV result?

    In rural Malawi, people tested for HIV at home were randomly offered vouchers of
    random value (0 to 3 dollars) redeemable when they collected their result at a
    nearby centre (Thornton 2008). The data ship with the ``causaldata``
    package (``causaldata.thornton_hiv``), as used by (Cunningham 2021).

    Parameters
    ----------
    complete_cases : bool
        Drop rows where the incentive or the outcome is missing (people not in the
        experiment's analysis sample).

    Returns
    -------
    pandas.DataFrame
        Columns ``village`` (village number), ``got_result`` (1 if the person learned
        the result), ``distance_km`` (distance to the results centre, km),
        ``incentive`` (voucher value, dollars), ``any_incentive`` (1 if offered any
        voucher: the treatment), ``age`` (years) and ``hiv2004`` (HIV status; -1 coded
        as in the source).

    Raises
    ------
    ValueError
        If ``complete_cases`` is not a bool.
    ImportError
        If ``causaldata`` is not installed.
    """
    complete_cases = check_flag(complete_cases, "complete_cases")
    from causaldata import thornton_hiv

    raw = thornton_hiv.load_pandas().data
    data = pd.DataFrame(
        {
            "village": raw["villnum"],
            "got_result": raw["got"],
            "distance_km": raw["distvct"].astype(float),
            "incentive": raw["tinc"].astype(float),
            "any_incentive": raw["any"],
            "age": raw["age"],
            "hiv2004": raw["hiv2004"],
        }
    )
    if complete_cases:
        data = data.dropna(subset=["got_result", "any_incentive"]).reset_index(drop=True)
        data["got_result"] = data["got_result"].astype("int64")
        data["any_incentive"] = data["any_incentive"].astype("int64")
    return data
