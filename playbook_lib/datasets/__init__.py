"""Loaders for real data shipped inside installed packages (no network at run time).

One file per family of data; every loader returns a tidy :class:`pandas.DataFrame` and its
docstring cites the source and documents the columns.

- :mod:`~playbook_lib.datasets.experiments`: randomised experiments (foundations).
- :mod:`~playbook_lib.datasets.job_training`: NSW job-training data (CUPED).
- :mod:`~playbook_lib.datasets.policy_panels`: state policy panels for DiD (geo).
- :mod:`~playbook_lib.datasets.comparative_cases`: synthetic-control case studies (synth).
- :mod:`~playbook_lib.datasets.mpdta`: county teen employment and minimum wages, a staggered
  adoption (geo; GPL-3 data with its source notice in ``data/mpdta_SOURCE.md``).
- :mod:`~playbook_lib.datasets.kansas`: log GDP per capita of the US states and the 2012
  Kansas tax cuts, the augmented-synthetic-control example (synth; MIT data with its source
  notice in ``data/kansas_SOURCE.md``).
"""

from playbook_lib.datasets.comparative_cases import *  # noqa: F403
from playbook_lib.datasets.experiments import *  # noqa: F403
from playbook_lib.datasets.job_training import *  # noqa: F403
from playbook_lib.datasets.kansas import *  # noqa: F403
from playbook_lib.datasets.mpdta import *  # noqa: F403
from playbook_lib.datasets.policy_panels import *  # noqa: F403
