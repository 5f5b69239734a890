"""Tests for which ways each profile may use, in which direction and how fast."""

import pytest

from doorstep.domain import Profile
from doorstep.network.profiles import DEFAULT_SPEEDS_KMH, WayAccess, speeds_for, way_access


def access(profile: Profile, **tags: str) -> WayAccess | None:
    return way_access(tags, profile, speeds_for(profile))


def test_oneway_tags_bind_vehicles_but_not_walkers() -> None:
    """oneway=yes/-1, roundabouts and motorways are one-way for cars; foot ignores them."""
    yes = access(Profile.CAR, highway="residential", oneway="yes")
    assert yes is not None and (yes.forward, yes.backward) == (True, False)
    rev = access(Profile.CAR, highway="residential", oneway="-1")
    assert rev is not None and (rev.forward, rev.backward) == (False, True)
    ring = access(Profile.VAN, highway="primary", junction="roundabout")
    assert ring is not None and not ring.backward
    motorway = access(Profile.CAR, highway="motorway")
    assert motorway is not None and not motorway.backward
    walk = access(Profile.FOOT, highway="residential", oneway="yes")
    assert walk is not None and walk.backward


def test_bikes_may_ride_against_oneway_only_when_tagged() -> None:
    """oneway:bicycle=no opens the other direction for bikes only."""
    bike = access(Profile.BIKE, highway="residential", oneway="yes", **{"oneway:bicycle": "no"})
    assert bike is not None and bike.backward
    car = access(Profile.CAR, highway="residential", oneway="yes", **{"oneway:bicycle": "no"})
    assert car is not None and not car.backward


def test_access_tags_close_ways_per_profile() -> None:
    """Private roads close to cars, bicycle=no to bikes, footways open to bikes only if tagged."""
    assert access(Profile.CAR, highway="service", access="private") is None
    assert access(Profile.CAR, highway="service", access="destination") is not None
    assert access(Profile.CAR, highway="residential", motor_vehicle="no") is None
    assert access(Profile.BIKE, highway="primary", bicycle="no") is None
    assert access(Profile.BIKE, highway="footway") is None
    assert access(Profile.BIKE, highway="footway", bicycle="designated") is not None
    assert access(Profile.CAR, highway="footway") is None
    assert access(Profile.FOOT, highway="footway") is not None
    assert access(Profile.FOOT, highway="primary", foot="no") is None
    assert access(Profile.BIKE, highway="motorway") is None
    assert access(Profile.CAR, highway="pedestrian", area="yes") is None


def test_maxspeed_caps_motor_vehicles() -> None:
    """A lower maxspeed caps the class speed; a higher one or a word does not."""
    base = DEFAULT_SPEEDS_KMH[Profile.CAR]["primary"]
    low = access(Profile.CAR, highway="primary", maxspeed="20")
    assert low is not None and low.speed_kmh == 20
    high = access(Profile.CAR, highway="primary", maxspeed="100")
    assert high is not None and high.speed_kmh == base
    word = access(Profile.CAR, highway="primary", maxspeed="walk")
    assert word is not None and word.speed_kmh == base
    mph = access(Profile.CAR, highway="primary", maxspeed="15 mph")
    assert mph is not None and mph.speed_kmh == pytest.approx(24.14, abs=0.01)


def test_speed_overrides() -> None:
    """Overrides replace one class's speed; unknown classes and non-positive speeds fail."""
    table = speeds_for(Profile.VAN, {"residential": 18})
    assert table["residential"] == 18
    assert table["primary"] == DEFAULT_SPEEDS_KMH[Profile.VAN]["primary"]
    with pytest.raises(ValueError, match="unknown road class"):
        speeds_for(Profile.VAN, {"autobahn": 130})
    with pytest.raises(ValueError, match="positive"):
        speeds_for(Profile.VAN, {"residential": 0})


def test_vans_are_never_faster_than_cars() -> None:
    """The van table is at most the car table, class by class."""
    car, van = DEFAULT_SPEEDS_KMH[Profile.CAR], DEFAULT_SPEEDS_KMH[Profile.VAN]
    assert set(car) == set(van)
    assert all(van[c] <= car[c] for c in car)
