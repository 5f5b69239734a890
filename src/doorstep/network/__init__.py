"""Travel times and distances: one protocol, one module per provider.

* :class:`OsmProvider`: road times from an OpenStreetMap file, offline (the default).
* :class:`OsrmProvider`, :class:`ValhallaProvider`: a routing server over HTTP.
* :class:`StraightLineProvider`: estimates when there is no road data.

Names are imported on first use, so ``import doorstep.network.provider`` does
not pay for numba, osmium and httpx.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doorstep.network.osm_provider import BUNDLED_PBF, OsmProvider
    from doorstep.network.osrm import OsrmProvider
    from doorstep.network.provider import UNREACHABLE, Matrices, TravelTimeProvider
    from doorstep.network.straight_line import StraightLineProvider
    from doorstep.network.traffic import URBAN_WEEKDAY, TrafficProfile, read_traffic
    from doorstep.network.valhalla import ValhallaProvider

_HOMES = {
    "BUNDLED_PBF": "osm_provider",
    "OsmProvider": "osm_provider",
    "OsrmProvider": "osrm",
    "UNREACHABLE": "provider",
    "Matrices": "provider",
    "TravelTimeProvider": "provider",
    "StraightLineProvider": "straight_line",
    "URBAN_WEEKDAY": "traffic",
    "TrafficProfile": "traffic",
    "read_traffic": "traffic",
    "ValhallaProvider": "valhalla",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'doorstep.network' has no attribute {name!r}")
    return getattr(import_module(f"doorstep.network.{_HOMES[name]}"), name)


__all__ = [
    "BUNDLED_PBF",
    "UNREACHABLE",
    "URBAN_WEEKDAY",
    "Matrices",
    "OsmProvider",
    "OsrmProvider",
    "StraightLineProvider",
    "TrafficProfile",
    "TravelTimeProvider",
    "ValhallaProvider",
    "read_traffic",
]
