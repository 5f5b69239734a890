"""One place that turns "which router, from where" into a travel-time provider.

The command line (``--pbf``, ``--osrm``, ``--valhalla``, ``--straight``) and the
service's settings (``router``, ``router_source``) both name a router kind and
its source. :data:`ROUTERS` says, per kind, how its provider is built, what
source it needs and its default snap limit; :func:`open_provider` reads it, so
both doors get the same provider for the same kind, and turns a user's mistake
(a missing file, a URL without its scheme) into an :class:`InputError` naming
the option to fix.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, get_args

from doorstep.errors import InputError
from doorstep.network.provider import DEFAULT_MAX_SNAP_M

if TYPE_CHECKING:
    from doorstep.network.provider import TravelTimeProvider
    from doorstep.network.traffic import TrafficProfile

RouterKind = Literal["bundled", "pbf", "osrm", "valhalla", "straight", "osrm-embedded"]
"""The bundled Helsinki roads, another OpenStreetMap file, a routing server,
straight-line estimates, or OSRM run in-process on an OpenStreetMap file."""

ROUTER_KINDS: tuple[RouterKind, ...] = get_args(RouterKind)


@dataclass(frozen=True, slots=True)
class Opening:
    """What a provider factory is given: the checked source and the options."""

    source: str
    option: str
    max_snap_m: float
    """The limit asked for, else the kind's default (``inf`` for a kind that does not snap)."""
    traffic: TrafficProfile | None
    departure_hour: int | None


@dataclass(frozen=True, slots=True)
class Router:
    """One row of :data:`ROUTERS`.

    Attributes
    ----------
    factory
        Builds the provider (imported on first use); the source it is given is
        empty for a kind that needs none.
    source
        What the kind's source is ("the path of a .pbf file", "the server's
        URL"), or ``None`` when it needs none.
    max_snap_m
        Default farthest distance (m) from a stop to its road; ``None`` for a
        provider that does not attach stops to roads.
    traffic
        Whether time-of-day traffic profiles apply.
    description
        One line for help texts and docs.
    """

    factory: Callable[[Opening], TravelTimeProvider]
    source: str | None
    max_snap_m: float | None
    traffic: bool
    description: str


def _osm(opening: Opening) -> TravelTimeProvider:
    from doorstep.network.osm_provider import OsmProvider

    path = None
    if opening.source:
        path = Path(opening.source)
        if not path.is_file():
            raise InputError(
                f"{opening.option} {path}: no such file",
                hint="Give an OpenStreetMap .pbf extract.",
            )
    return OsmProvider(
        path,
        traffic=opening.traffic,
        departure_hour=opening.departure_hour,
        max_snap_m=opening.max_snap_m,
    )


def _server(kind: Literal["osrm", "valhalla"]) -> Callable[[Opening], TravelTimeProvider]:
    def build(opening: Opening) -> TravelTimeProvider:
        from doorstep.network.osrm import OsrmProvider
        from doorstep.network.valhalla import ValhallaProvider

        server = OsrmProvider if kind == "osrm" else ValhallaProvider
        try:
            return server(opening.source, max_snap_m=opening.max_snap_m)
        except ValueError as error:
            raise InputError(
                f"{opening.option} {opening.source!r}: {error}",
                hint="For example http://localhost:5000.",
            ) from None

    return build


def _osrm_embedded(opening: Opening) -> TravelTimeProvider:
    from doorstep.network.osrm_embedded import OsrmEmbeddedProvider, require_osrm

    path = Path(opening.source)
    if not path.is_file():
        raise InputError(
            f"{opening.option} {path}: no such file",
            hint="Give an OpenStreetMap .pbf extract.",
        )
    require_osrm()  # now, not at the first matrix: say which extra is missing
    return OsrmEmbeddedProvider(path, max_snap_m=opening.max_snap_m)


def _straight(opening: Opening) -> TravelTimeProvider:
    from doorstep.network.straight_line import StraightLineProvider

    return StraightLineProvider()


ROUTERS: Mapping[RouterKind, Router] = MappingProxyType(
    {
        "bundled": Router(
            _osm,
            None,
            DEFAULT_MAX_SNAP_M,
            True,
            "the bundled OpenStreetMap roads of central Helsinki, offline",
        ),
        "pbf": Router(
            _osm,
            "the path of a .pbf file",
            DEFAULT_MAX_SNAP_M,
            True,
            "an OpenStreetMap .pbf extract, offline",
        ),
        "osrm": Router(
            _server("osrm"),
            "the server's URL",
            DEFAULT_MAX_SNAP_M,
            False,
            "an OSRM server (osrm-routed)",
        ),
        "valhalla": Router(
            _server("valhalla"),
            "the server's URL",
            DEFAULT_MAX_SNAP_M,
            False,
            "a Valhalla server",
        ),
        "straight": Router(
            _straight,
            None,
            None,
            False,
            "straight-line estimates, when there is no road data",
        ),
        "osrm-embedded": Router(
            _osrm_embedded,
            "the path of a .pbf file",
            DEFAULT_MAX_SNAP_M,
            False,
            "OSRM run in-process on an OpenStreetMap .pbf (the 'osrm' extra, Python >= 3.12)",
        ),
    }
)
"""Every router kind: its provider factory, the source it needs, its default snap
limit, whether traffic profiles apply, and a description. Every kind that
attaches stops to roads defaults to :data:`DEFAULT_MAX_SNAP_M` (250 m): all of
them attach to OpenStreetMap roads, and the limit judges the stop's address,
not the router."""


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
        ``bundled``, ``pbf``, ``osrm``, ``valhalla``, ``straight`` or ``osrm-embedded``.
    source
        The ``.pbf`` path (``pbf``, ``osrm-embedded``) or the server's URL (``osrm``, ``valhalla``);
        ignored by the other kinds.
    option
        How the user gave ``source`` (``--osrm``, ``router_source``), named in errors.
    traffic, departure_hour
        A time-of-day traffic profile and the hour it is read at (OpenStreetMap
        files only; give both or neither).
    max_snap_m
        Farthest a point may lie from a road; ``None``: the kind's default in
        :data:`ROUTERS`. Ignored by ``straight``, which does not snap.

    Returns
    -------
    TravelTimeProvider
        Not yet loaded: road data is read on first use.

    Raises
    ------
    InputError
        ``source`` is missing, the ``.pbf`` file does not exist, the URL is not an
        http(s) URL, traffic was asked of a routing server, ``max_snap_m``
        is negative, or ``osrm-embedded`` was chosen without ``osrm-bindings``.
    """
    if max_snap_m is not None and not max_snap_m >= 0:
        raise InputError(
            f"a snap limit of {max_snap_m} m is not a distance",
            hint="Give the farthest a stop may lie from its road, in metres (0 or more).",
        )
    router = ROUTERS[kind]
    source = source.strip() if router.source is not None else ""
    if traffic is not None and not router.traffic:
        raise InputError(
            "traffic profiles apply to OpenStreetMap files only",
            hint="Routing servers apply their own traffic data.",
        )
    if router.source is not None and not source:
        raise InputError(
            f"router {kind!r} needs {option}", hint=f"Set {option} to {router.source}."
        )
    snap = max_snap_m if max_snap_m is not None else router.max_snap_m
    return router.factory(
        Opening(source, option, math.inf if snap is None else snap, traffic, departure_hour)
    )
