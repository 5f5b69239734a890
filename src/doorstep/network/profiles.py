"""Which OpenStreetMap ways each vehicle profile may use, in which direction, how fast.

The rules follow OSM's tagging conventions (``highway``, ``oneway``, ``access``,
``motor_vehicle``, ``bicycle``, ``foot``, ``maxspeed``) the way routing engines
such as OSRM read them, simplified to what last-mile delivery needs:

* **car / van** use roads from ``motorway`` down to ``service`` and
  ``living_street``; ``access``/``motor_vehicle``/``motorcar`` = ``no`` or
  ``private`` closes a way (``destination`` and ``delivery`` stay open: a
  delivery *is* the destination). ``oneway``, ``junction=roundabout`` and
  motorways are one-way.
* **bike** (cargo bikes too) uses ``cycleway``, ``path``, ``track`` and every
  road but motorways and trunks, plus ``footway``/``pedestrian`` where
  ``bicycle=yes|designated|permissive``. ``bicycle=no`` or ``use_sidepath``
  closes a way. One-way streets bind bikes unless ``oneway:bicycle=no``.
* **foot** uses everything but motorways, trunks and ways tagged ``foot=no``,
  in both directions.

Speeds are in :data:`DEFAULT_SPEEDS_KMH`, per profile and road class: they are
*average travel* speeds in a city, junctions and traffic included, not speed
limits. A ``maxspeed`` tag lower than the class speed caps it for motor
vehicles. Override any of them with ``speeds=`` (see :func:`speeds_for`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from doorstep.domain.fleet import Profile

ROAD_CLASSES: tuple[str, ...] = (
    "motorway",
    "motorway_link",
    "trunk",
    "trunk_link",
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
    "unclassified",
    "residential",
    "road",
    "living_street",
    "service",
    "track",
    "cycleway",
    "path",
    "pedestrian",
    "footway",
    "steps",
)
"""The ``highway=`` values Doorstep routes on; anything else is ignored."""

CLASS_INDEX: Mapping[str, int] = MappingProxyType({c: i for i, c in enumerate(ROAD_CLASSES)})

_CAR_KMH: dict[str, float] = {
    "motorway": 80,
    "motorway_link": 45,
    "trunk": 60,
    "trunk_link": 40,
    "primary": 40,
    "primary_link": 30,
    "secondary": 35,
    "secondary_link": 30,
    "tertiary": 30,
    "tertiary_link": 25,
    "unclassified": 25,
    "residential": 22,
    "road": 20,
    "living_street": 10,
    "service": 12,
}

DEFAULT_SPEEDS_KMH: Mapping[Profile, Mapping[str, float]] = MappingProxyType(
    {
        Profile.CAR: MappingProxyType(_CAR_KMH),
        # Vans: a little slower everywhere, and kept to 70 km/h on fast roads.
        Profile.VAN: MappingProxyType({k: min(70.0, v * 0.9) for k, v in _CAR_KMH.items()}),
        Profile.BIKE: MappingProxyType(
            {
                **{k: 15.0 for k in _CAR_KMH if not k.startswith(("motorway", "trunk"))},
                "living_street": 12,
                "service": 12,
                "track": 10,
                "cycleway": 16,
                "path": 12,
                "pedestrian": 8,
                "footway": 8,
            }
        ),
        Profile.FOOT: MappingProxyType(
            {
                **{k: 5.0 for k in ROAD_CLASSES if not k.startswith(("motorway", "trunk"))},
                "steps": 2.5,
            }
        ),
    }
)
"""Average urban travel speed (km/h) per profile and road class. A class missing
from a profile's table is closed to that profile."""

_CLOSED = frozenset({"no", "private"})
_OPEN = frozenset({"yes", "designated", "permissive", "destination", "delivery"})
_TRUE = frozenset({"yes", "true", "1"})


class Tags(Protocol):
    """OSM tags: a plain dict or osmium's ``TagList``."""

    def get(self, key: str, default: None = None, /) -> str | None:
        """The value of ``key``, or None."""
        ...


@dataclass(frozen=True, slots=True)
class WayAccess:
    """How one profile may travel along one way.

    ``forward`` is the direction in which the way's nodes are listed.
    """

    forward: bool
    backward: bool
    speed_kmh: float
    road_class: int


def speeds_for(
    profile: Profile, overrides: Mapping[str, float] | None = None
) -> Mapping[str, float]:
    """The speed table of ``profile`` with ``overrides`` (road class -> km/h) applied.

    Raises
    ------
    ValueError
        For an unknown road class or a speed that is not positive.
    """
    table = dict(DEFAULT_SPEEDS_KMH[profile])
    for road_class, kmh in (overrides or {}).items():
        if road_class not in CLASS_INDEX:
            raise ValueError(f"unknown road class {road_class!r}; known: {', '.join(ROAD_CLASSES)}")
        if not kmh > 0:
            raise ValueError(f"speed for {road_class!r} must be positive, not {kmh}")
        table[road_class] = float(kmh)
    return MappingProxyType(table)


def _maxspeed_kmh(value: str | None) -> float | None:
    """A ``maxspeed`` tag in km/h ("50", "30 mph"), or None when not a number."""
    if not value:
        return None
    number, _, unit = value.strip().partition(" ")
    try:
        kmh = float(number)
    except ValueError:
        return None
    return kmh * 1.609344 if unit.strip() == "mph" else kmh


def way_access(tags: Tags, profile: Profile, speeds: Mapping[str, float]) -> WayAccess | None:
    """Whether and how ``profile`` may use a way with OSM ``tags``; None when it may not.

    ``speeds`` is the profile's table from :func:`speeds_for`.
    """
    highway = tags.get("highway")
    if highway is None or highway not in speeds or tags.get("area") == "yes":
        return None
    access = tags.get("access")
    motor = profile in (Profile.CAR, Profile.VAN)
    if motor:
        own = tags.get("motorcar") or tags.get("motor_vehicle") or tags.get("vehicle")
        if profile is Profile.VAN:
            own = tags.get("goods") or own
    elif profile is Profile.BIKE:
        own = tags.get("bicycle") or tags.get("vehicle")
        if own == "use_sidepath":
            return None
        if highway in ("footway", "pedestrian") and own not in _OPEN:
            return None
    else:
        own = tags.get("foot")
    if own is not None:
        if own in _CLOSED:
            return None
    elif access in _CLOSED:
        return None

    oneway = tags.get("oneway") or ""
    forward = backward = True
    if profile is not Profile.FOOT:
        implied = highway in ("motorway", "motorway_link") or tags.get("junction") in (
            "roundabout",
            "circular",
        )
        if profile is Profile.BIKE and tags.get("oneway:bicycle") == "no":
            oneway = "no"
        if oneway in _TRUE or (implied and oneway != "no"):
            backward = False
        elif oneway == "-1":
            forward = False
    speed = speeds[highway]
    if motor:
        limit = _maxspeed_kmh(tags.get("maxspeed"))
        if limit is not None and 0 < limit < speed:
            speed = limit
    return WayAccess(forward, backward, float(speed), CLASS_INDEX[highway])
