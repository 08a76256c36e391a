"""Seeded simulators with known ground truth, one file per kind of data.

Every generator takes ``rng: numpy.random.Generator | int | None`` and calls
``numpy.random.default_rng(rng)`` once; the same seed gives the same data. Each returns a
tidy :class:`pandas.DataFrame` whose columns its docstring documents, plus the truth the
chapter checks against.

- :mod:`~playbook_lib.simulate.ab_users`: A/B users with pre-period covariates
  (foundations, CUPED).
- :mod:`~playbook_lib.simulate.ecommerce`: a realistic e-commerce experiment (CUPED).
- :mod:`~playbook_lib.simulate.geo_panels`: geo panels, staggered adoption (geo, synth, HBM).
- :mod:`~playbook_lib.simulate.creators`: creator-level experiments with genres (HBM).
- :mod:`~playbook_lib.simulate.bandit_logs`: logged bandit and confounded data (bandits).
- :mod:`~playbook_lib.simulate.synth_panels`: panels with one or a few treated units (synth).
- :mod:`~playbook_lib.simulate.streams`: accruing experiment data and z-paths (sequential).
- :mod:`~playbook_lib.simulate.monitoring`: post-launch metric streams (decisions).
- :mod:`~playbook_lib.simulate.novelty`: effects that fade or grow with exposure (foundations).
- :mod:`~playbook_lib.simulate.marketplace`: a marketplace with shared supply, where users
  interfere (foundations).
"""

# Each submodule lists its public generators in ``__all__``; re-export them all here so
# chapters can write ``pl.simulate.simulate_geo_panel(...)``.
from playbook_lib.simulate.ab_users import *  # noqa: F403
from playbook_lib.simulate.bandit_logs import *  # noqa: F403
from playbook_lib.simulate.creators import *  # noqa: F403
from playbook_lib.simulate.ecommerce import *  # noqa: F403
from playbook_lib.simulate.geo_panels import *  # noqa: F403
from playbook_lib.simulate.marketplace import *  # noqa: F403
from playbook_lib.simulate.monitoring import *  # noqa: F403
from playbook_lib.simulate.novelty import *  # noqa: F403
from playbook_lib.simulate.streams import *  # noqa: F403
from playbook_lib.simulate.synth_panels import *  # noqa: F403
