"""Fixtures for the routing-server providers: a local OSRM/Valhalla look-alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from network.replay_server import ReplayServer


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """A started :class:`ReplayServer` with default limits, stopped after the test."""
    with ReplayServer() as server:
        yield server
