"""Contract cases for playbook_lib.datasets.experiments and .job_training (the loaders)."""

from __future__ import annotations

from contract import Case
from playbook_lib.datasets import experiments, job_training

CASES = [
    Case(experiments.load_free_trial_screener, {}),
    # The real data have missing values: village and age are missing for a few people
    # even among complete cases (complete_cases drops only rows without the incentive or
    # the outcome).
    Case(experiments.load_thornton_hiv, {}, allow_nan_result=True),
    Case(
        experiments.load_thornton_hiv,
        {"complete_cases": False},
        allow_nan_result=True,
        label="all rows",
    ),
    Case(job_training.load_job_training, {}),
]
