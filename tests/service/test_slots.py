"""The service's slot offers: the new point's legs, asked as tables from and to the point."""

from __future__ import annotations

import csv
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from doorstep.domain import Location, Profile
from doorstep.network.provider import TravelTimeProvider
from doorstep.plan.slots import PointLegs
from doorstep.service.refusal import RefusedError
from doorstep.service.slots import _legs
from manifests import REPO
from recording_provider import RecordingProvider


def helsinki_addresses(count: int) -> list[Location]:
    """The first ``count`` addresses of the Helsinki example, on the bundled roads."""
    with (REPO / "examples" / "helsinki" / "addresses.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:count]
    return [Location(float(r["lat"]), float(r["lon"])) for r in rows]


def _day(locations: list[Location], provider: TravelTimeProvider) -> Any:
    """What ``_legs`` reads of a loaded day: its locations, profiles and provider."""
    return SimpleNamespace(
        locations=locations,
        routes=SimpleNamespace(problem=SimpleNamespace(profiles=(Profile.VAN,))),
        matrices=SimpleNamespace(provider=provider),
    )


def test_the_points_legs_are_the_matrices_row_and_column_without_a_square() -> None:
    """Two days sharing addresses: the same legs as a square matrix gives, from two tables."""
    provider = RecordingProvider()
    places = helsinki_addresses(60)
    days = [_day(places[:40], provider), _day(places[25:], provider)]
    point = Location(places[59].lat + 0.0003, places[59].lon)
    got = _legs(days, point)
    assert provider.squares == [] and provider.tables == [(1, 60), (60, 1)]
    for day, legs in zip(days, got, strict=True):
        square = provider.inner.matrices([point, *day.locations], Profile.VAN)
        expected = PointLegs.from_matrices(
            {Profile.VAN: square.durations}, {Profile.VAN: square.distances}, 0
        )
        pairs = ((legs.to_point, expected.to_point), (legs.from_point, expected.from_point))
        for mine, theirs in pairs:
            assert np.array_equal(mine[Profile.VAN][0], theirs[Profile.VAN][0])
            assert np.array_equal(mine[Profile.VAN][1], theirs[Profile.VAN][1])


def test_a_point_off_the_roads_is_refused_with_its_code() -> None:
    """A point kilometres from any road of the extract: address_off_network, on the lat field."""
    days = [_day(helsinki_addresses(10), RecordingProvider())]
    with pytest.raises(RefusedError) as refused:
        _legs(days, Location(60.2500, 24.9500))
    assert refused.value.code == "address_off_network"
    assert [e["field"] for e in refused.value.errors] == ["lat"]
