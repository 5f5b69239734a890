"""One place that turns "which router, from where" into a travel-time provider.

The command line (``--pbf``, ``--osrm``, ``--valhalla``, ``--straight``) and the
service's settings (``router``, ``router_source``) both name a router kind and
its source; :func:`open_provider` builds the provider and turns a user's mistake
(a missing file, a URL without its scheme) into an :class:`InputError` naming
the option to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from doorstep.errors import InputError

if TYPE_CHECKING:
    from doorstep.network.provider import TravelTimeProvider
    from doorstep.network.traffic import TrafficProfile

RouterKind = Literal["bundled", "pbf", "osrm", "valhalla", "straight"]
"""The bundled Helsinki roads, another OpenStreetMap file, a routing server, or
straight-line estimates."""

ROUTER_KINDS: tuple[RouterKind, ...] = get_args(RouterKind)


def open_provider(
    kind: RouterKind,
    source: str = "",
    *,
    option: str = "the router's source",
    traffic: TrafficProfile | None = None,
    departure_hour: int | None = None,
    max_snap_m: float | None = None,
) -> TravelTimeProvider:
    """The travel-time provider of a router kind and its source.

    Parameters
    ----------
    kind
        ``bundled``, ``pbf``, ``osrm``, ``valhalla`` or ``straight``.
    source
        The ``.pbf`` path (``pbf``) or the server's URL (``osrm``, ``valhalla``);
        ignored by the other kinds.
    option
        How the user gave ``source`` (``--osrm``, ``router_source``), named in errors.
    traffic, departure_hour
        A time-of-day traffic profile and the hour it is read at (OpenStreetMap
        files only; give both or neither).
    max_snap_m
        Farthest a point may lie from a road; default: the provider's own.

    Returns
    -------
    TravelTimeProvider
        Not yet loaded: road data is read on first use.

    Raises
    ------
    InputError
        ``source`` is missing, the ``.pbf`` file does not exist, the URL is not an
        http(s) URL, or traffic was asked of a routing server.
    """
    source = source.strip()
    if traffic is not None and kind not in ("bundled", "pbf"):
        raise InputError(
            "traffic profiles apply to OpenStreetMap files only",
            hint="Routing servers apply their own traffic data.",
        )
    if kind == "straight":
        from doorstep.network.straight_line import StraightLineProvider

        return StraightLineProvider()
    if kind in ("pbf", "osrm", "valhalla") and not source:
        what = "the path of a .pbf file" if kind == "pbf" else "the server's URL"
        raise InputError(f"router {kind!r} needs {option}", hint=f"Set {option} to {what}.")
    if kind in ("bundled", "pbf"):
        from doorstep.network.osm_provider import OsmProvider

        path = None
        if kind == "pbf":
            path = Path(source)
            if not path.is_file():
                raise InputError(
                    f"{option} {path}: no such file", hint="Give an OpenStreetMap .pbf extract."
                )
        if max_snap_m is None:
            return OsmProvider(path, traffic=traffic, departure_hour=departure_hour)
        return OsmProvider(
            path, traffic=traffic, departure_hour=departure_hour, max_snap_m=max_snap_m
        )
    from doorstep.network.osrm import OsrmProvider
    from doorstep.network.valhalla import ValhallaProvider

    server = OsrmProvider if kind == "osrm" else ValhallaProvider
    try:
        return server(source) if max_snap_m is None else server(source, max_snap_m=max_snap_m)
    except ValueError as error:
        raise InputError(
            f"{option} {source!r}: {error}", hint="For example http://localhost:5000."
        ) from None
