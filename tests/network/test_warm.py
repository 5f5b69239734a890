"""Tests for ``doorstep.network.warm``: compiling the road-network code ahead of the first plan."""

from __future__ import annotations

import csv
from pathlib import Path

from doorstep.domain import Location, Profile
from doorstep.network import cch
from doorstep.network.cache import DiskCache
from doorstep.network.osm_provider import OsmProvider
from doorstep.network.warm import jitted_functions, warm
from manifests import REPO


def signatures() -> dict[str, set[object]]:
    return {name: set(f.signatures) for name, f in jitted_functions().items()}


def test_warm_runs_every_jitted_function() -> None:
    """Every numba function of the hierarchy is named as warmed, and compiled code is on disk."""
    warmed = warm()
    assert set(warmed.functions) == {
        name for name, value in vars(cch).items() if hasattr(value, "py_func")
    }
    assert len(warmed.functions) == 12
    assert warmed.folder is not None
    assert any(Path(warmed.folder).rglob("cch._many_to_many-*.nbc"))


def test_real_matrices_and_paths_need_nothing_warm_did_not_compile(tmp_path: Path) -> None:
    """After warm, Helsinki matrices and route geometry call no jitted function with new types."""
    warm()
    before = signatures()
    with (REPO / "examples" / "helsinki" / "addresses.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:30]
    stops = [Location(float(r["lat"]), float(r["lon"])) for r in rows]
    for profile in (Profile.VAN, Profile.BIKE):
        provider = OsmProvider(cache=DiskCache(tmp_path / profile.value))
        provider.matrices(stops, profile)
        provider.route_geometry(stops[:10], profile)
        # A second provider on the same cache reads the network, metric and matrices from disk.
        again = OsmProvider(cache=DiskCache(tmp_path / profile.value))
        again.matrices(stops, profile)
        again.route_geometry(stops[:10], profile)
    assert signatures() == before
