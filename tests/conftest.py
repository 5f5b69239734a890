"""Pytest configuration: the hypothesis profile used everywhere (CI included), a private cache."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Road networks and matrices prepared by tests go to a temporary cache, not ~/.cache."""
    previous = os.environ.get("DOORSTEP_CACHE_DIR")
    os.environ["DOORSTEP_CACHE_DIR"] = str(tmp_path_factory.mktemp("doorstep-cache"))
    yield
    if previous is None:
        del os.environ["DOORSTEP_CACHE_DIR"]
    else:
        os.environ["DOORSTEP_CACHE_DIR"] = previous
