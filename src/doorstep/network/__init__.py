"""Travel times and distances: one protocol, one module per provider.

* :class:`OsmProvider`: road times from an OpenStreetMap file, offline (the default).
* :class:`OsrmProvider`, :class:`ValhallaProvider`: a routing server over HTTP.
* :class:`StraightLineProvider`: estimates when there is no road data.
"""

from doorstep.network.osm_provider import BUNDLED_PBF, OsmProvider
from doorstep.network.osrm import OsrmProvider
from doorstep.network.provider import UNREACHABLE, Matrices, TravelTimeProvider
from doorstep.network.straight_line import StraightLineProvider
from doorstep.network.traffic import URBAN_WEEKDAY, TrafficProfile, read_traffic
from doorstep.network.valhalla import ValhallaProvider

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
