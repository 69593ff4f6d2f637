"""Hypothesis runs bounded and reproducible here: the same 200 examples each run, no example database on disk."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "mautomation",
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
# HYPOTHESIS_PROFILE=explore: more and random examples, for a local hunt (not in CI).
settings.register_profile("explore", parent=settings.get_profile("mautomation"), max_examples=2000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "mautomation"))
