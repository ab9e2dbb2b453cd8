"""Shared pytest configuration: Hypothesis profiles, a report header, and the `roundtrip`
fixture of the test_byvalue_*.py files."""

import os

import oxpickle
import pytest
from byvalue_helpers import CHANNELS, Channel
from hypothesis import HealthCheck, settings

_COMMON = {
    # No timing assertions anywhere: a slow machine is not a failure.
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}

# CI (2 cores, a few minutes for the whole run): fixed seed so a red run is
# reproducible, and no example database written into the checkout.
settings.register_profile("ci", max_examples=60, derandomize=True, database=None, **_COMMON)
settings.register_profile("dev", max_examples=100, **_COMMON)
# A long soak on demand: HYPOTHESIS_PROFILE=soak.
settings.register_profile("soak", max_examples=2000, **_COMMON)

_DEFAULT_PROFILE = "ci" if os.environ.get("CI") else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or _DEFAULT_PROFILE)


def pytest_report_header(config):
    return f"oxpickle under test: {oxpickle.__file__}"


@pytest.fixture(params=CHANNELS)
def roundtrip(request) -> Channel:
    """oxpickle.dumps, then each loader of byvalue_helpers.CHANNELS in turn."""
    return request.param
