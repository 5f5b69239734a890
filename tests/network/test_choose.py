"""open_provider: one router kind and source to a provider, mistakes as InputError."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorstep.errors import InputError
from doorstep.network.choose import ROUTER_KINDS, ROUTERS, open_provider
from doorstep.network.osm_provider import BUNDLED_PBF, OsmProvider
from doorstep.network.osrm import OsrmProvider
from doorstep.network.straight_line import StraightLineProvider
from doorstep.network.traffic import URBAN_WEEKDAY
from doorstep.network.valhalla import ValhallaProvider


def test_each_kind_builds_its_provider() -> None:
    """Every kind gives its own provider class; the source reaches it."""
    built = {
        "bundled": open_provider("bundled"),
        "pbf": open_provider("pbf", str(BUNDLED_PBF)),
        "osrm": open_provider("osrm", " http://localhost:5000/ "),
        "valhalla": open_provider("valhalla", "https://valhalla.example"),
        "straight": open_provider("straight", "ignored"),
    }
    assert set(built) == set(ROUTER_KINDS) - {"osrm-embedded"}  # its own module's tests
    assert isinstance(built["bundled"], OsmProvider)
    assert isinstance(built["pbf"], OsmProvider)
    assert isinstance(built["osrm"], OsrmProvider)
    assert built["osrm"].base_url == "http://localhost:5000"
    assert isinstance(built["valhalla"], ValhallaProvider)
    assert isinstance(built["straight"], StraightLineProvider)


def test_the_table_covers_every_kind_and_snapping_kinds_share_one_default() -> None:
    """ROUTERS has a row per kind; every kind that snaps defaults to 250 m, straight to none."""
    assert set(ROUTERS) == set(ROUTER_KINDS)
    assert {kind: row.max_snap_m for kind, row in ROUTERS.items()} == {
        "bundled": 250.0,
        "pbf": 250.0,
        "osrm": 250.0,
        "valhalla": 250.0,
        "straight": None,
        "osrm-embedded": 250.0,
    }
    sources = [kind for kind, row in ROUTERS.items() if row.source]
    assert sources == ["pbf", "osrm", "valhalla", "osrm-embedded"]
    assert [kind for kind, row in ROUTERS.items() if row.traffic] == ["bundled", "pbf"]
    assert all(row.description for row in ROUTERS.values())


def test_without_a_snap_limit_each_provider_gets_its_kinds_default() -> None:
    """open_provider with no max_snap_m applies the table's default, for servers too."""
    osm = open_provider("bundled")
    osrm = open_provider("osrm", "http://localhost:5000")
    valhalla = open_provider("valhalla", "http://localhost:8002")
    assert isinstance(osm, OsmProvider) and osm.max_snap_m == ROUTERS["bundled"].max_snap_m
    assert isinstance(osrm, OsrmProvider) and osrm.max_snap_m == ROUTERS["osrm"].max_snap_m
    assert isinstance(valhalla, ValhallaProvider)
    assert valhalla.max_snap_m == ROUTERS["valhalla"].max_snap_m


def test_snap_limit_and_traffic_reach_the_provider() -> None:
    """max_snap_m and a traffic profile at an hour are passed on, not dropped."""
    osm = open_provider("bundled", traffic=URBAN_WEEKDAY, departure_hour=8, max_snap_m=40)
    assert isinstance(osm, OsmProvider)
    assert osm.max_snap_m == 40
    osrm = open_provider("osrm", "http://localhost:5000", max_snap_m=12)
    assert isinstance(osrm, OsrmProvider) and osrm.max_snap_m == 12


@pytest.mark.parametrize(
    ("kind", "source", "message"),
    [
        ("pbf", "", "router 'pbf' needs --pbf"),
        ("osrm", "  ", "router 'osrm' needs --pbf"),
        ("pbf", "nowhere.osm.pbf", "--pbf nowhere.osm.pbf: no such file"),
        ("osrm", "localhost:5000", "--pbf 'localhost:5000': a routing server URL"),
        ("valhalla", "ftp://valhalla", "http:// or https://"),
        ("bundled", "", "is not a distance"),
    ],
)
def test_mistakes_name_the_option(kind: str, source: str, message: str, tmp_path: Path) -> None:
    """A missing source, file or URL scheme is an InputError naming the option given."""
    with pytest.raises(InputError) as caught:
        snap = -5.0 if kind == "bundled" else None
        open_provider(kind, source, option="--pbf", max_snap_m=snap)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_traffic_is_refused_for_routing_servers() -> None:
    """Servers apply their own traffic: asking for a profile there is an error, not ignored."""
    with pytest.raises(InputError, match="OpenStreetMap files only"):
        open_provider("osrm", "http://localhost:5000", traffic=URBAN_WEEKDAY, departure_hour=8)
