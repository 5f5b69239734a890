"""The embedded OSRM provider: the real OSRM of ``osrm-bindings``, run in this process.

The tests that route need ``osrm-bindings`` (Python >= 3.12, the ``osrm`` extra):
``scripts/test-osrm-embedded.sh`` runs them in a 3.12 venv and sets
``DOORSTEP_TEST_OSRM_EMBEDDED=1``, which makes them fail, not skip, when the
package is missing. No test here mocks OSRM: each routing test prepares a real
dataset with OSRM's own tools and asks OSRM's engine.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from doorstep.domain import Location, Profile
from doorstep.errors import InputError
from doorstep.network import osrm_embedded
from doorstep.network.choose import ROUTERS, open_provider
from doorstep.network.osm_provider import BUNDLED_PBF, OsmProvider
from doorstep.network.osrm_embedded import (
    OsrmEmbeddedProvider,
    evict_datasets,
    prepare_dataset,
    require_osrm,
)
from doorstep.network.provider import UNREACHABLE
from osm_files import SQUARE_NODES, write_square


def _installed() -> bool:
    try:
        require_osrm()
    except InputError:
        return False
    return True


needs_osrm = pytest.mark.skipif(
    not _installed() and not os.environ.get("DOORSTEP_TEST_OSRM_EMBEDDED"),
    reason="osrm-bindings needs Python >= 3.12 and the 'osrm' extra: "
    "scripts/test-osrm-embedded.sh runs these tests",
)

CORNERS = [Location(*SQUARE_NODES[i]) for i in (1, 2, 3, 4)]
"""The corners of the test square (tests/osm_files.py), where 2 -> 3 is one-way north."""

HELSINKI = [
    Location(60.1699, 24.9384),
    Location(60.1668, 24.9441),
    Location(60.1725, 24.9470),
    Location(60.1650, 24.9500),
    Location(60.1710, 24.9420),
    Location(60.1680, 24.9360),
]
"""Street addresses inside the bundled central-Helsinki extract."""


def test_without_the_package_choosing_it_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Choosing osrm-embedded where osrm cannot be imported is an InputError naming the extra."""
    monkeypatch.setitem(sys.modules, "osrm", None)  # import osrm now raises ImportError
    with pytest.raises(InputError) as caught:
        open_provider("osrm-embedded", str(BUNDLED_PBF), option="router_source")
    assert "embedded OSRM" in caught.value.message
    assert "doorstep[osrm]" in (caught.value.hint or "")


def test_a_missing_file_is_refused_before_osrm_is_needed(tmp_path: Path) -> None:
    """A .pbf that does not exist is an InputError naming the option, with or without osrm."""
    with pytest.raises(InputError, match=r"router_source .*nowhere\.osm\.pbf: no such file"):
        open_provider("osrm-embedded", str(tmp_path / "nowhere.osm.pbf"), option="router_source")
    with pytest.raises(InputError, match="needs router_source"):
        open_provider("osrm-embedded", " ", option="router_source")


def test_the_kind_is_in_the_table_with_the_shared_snap_limit() -> None:
    """osrm-embedded needs a .pbf, snaps at the shared 250 m default and takes no traffic."""
    row = ROUTERS["osrm-embedded"]
    assert row.source == "the path of a .pbf file"
    assert row.max_snap_m == 250.0 and not row.traffic
    assert "osrm" in row.description


def test_eviction_keeps_the_newest_and_the_kept_dataset(tmp_path: Path) -> None:
    """Over the bound, the least recently used datasets go first; the kept one never does."""
    folders = []
    for age, name in enumerate(("old", "middle", "new")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "map.osrm.cells").write_bytes(b"x" * 1000)
        (folder / "ready").touch()
        stamp = 1_000_000 + age
        os.utime(folder / "ready", (stamp, stamp))
        folders.append(folder)
    crashed = tmp_path / "abc.part"
    crashed.mkdir()
    os.utime(crashed, (1, 1))
    assert evict_datasets(tmp_path, keep=folders[0], max_bytes=2500) == 1
    assert [f.exists() for f in folders] == [True, False, True]
    assert not crashed.exists()
    assert evict_datasets(tmp_path, max_bytes=0) == 2


@needs_osrm
def test_one_way_streets_bind_and_the_file_content_is_the_key(tmp_path: Path) -> None:
    """OSRM routes 3 -> 2 round the block on a one-way square, directly on a two-way one."""
    cache = tmp_path / "cache"
    one_way = OsrmEmbeddedProvider(write_square(tmp_path / "a.osm.pbf"), cache_dir=cache)
    two_way = OsrmEmbeddedProvider(
        write_square(tmp_path / "b.osm.pbf", oneway=False), cache_dir=cache
    )
    bound = one_way.matrices(CORNERS, Profile.CAR)
    free = two_way.matrices(CORNERS, Profile.CAR)
    assert 90 <= bound.distances[1, 2] <= 110  # 2 -> 3 along the one-way, 100 m
    assert 290 <= bound.distances[2, 1] <= 310  # 3 -> 2 the long way round, 300 m
    assert 90 <= free.distances[2, 1] <= 110
    assert bound.durations[2, 1] > 2 * free.durations[2, 1]
    assert one_way.dataset(Profile.CAR) != two_way.dataset(Profile.CAR)
    assert "OSRM" in bound.source and "car" in bound.source


@needs_osrm
@pytest.mark.parametrize("folder", ["maps.osm", "x.pbf.d", "old.osrm"])
def test_a_cache_folder_osrm_cannot_use_is_refused_before_any_work(
    tmp_path: Path, folder: str
) -> None:
    """OSRM names files after the first ".osm" (".pbf", ".osrm") in a path: a clear error."""
    pbf = write_square(tmp_path / "square.osm.pbf")
    root = tmp_path / folder / "cache"
    with pytest.raises(InputError, match="cut file names") as raised:
        prepare_dataset(pbf, Profile.CAR, root=root)
    assert "DOORSTEP_CACHE_DIR" in (raised.value.hint or "")
    assert not root.exists()
    # The same file under a plain folder prepares and routes.
    m = OsrmEmbeddedProvider(pbf, cache_dir=tmp_path / "plain").matrices(CORNERS, Profile.CAR)
    assert 90 <= m.distances[1, 2] <= 110


@needs_osrm
def test_a_prepared_dataset_is_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same content under another name reuses the dataset: OSRM's tools do not run again."""
    cache = tmp_path / "cache"
    first = prepare_dataset(write_square(tmp_path / "a.osm.pbf"), Profile.CAR, root=cache)
    copy = tmp_path / "renamed.osm.pbf"
    copy.write_bytes((tmp_path / "a.osm.pbf").read_bytes())

    def no_tools(*args: object) -> None:
        raise AssertionError("OSRM's tools ran for a dataset already in the cache")

    monkeypatch.setattr(osrm_embedded, "_run_tool", no_tools)
    assert prepare_dataset(copy, Profile.CAR, root=cache) == first
    assert [p.name for p in cache.iterdir()] == [first.parent.name]


@needs_osrm
def test_vans_are_slower_than_cars_and_walking_slower_still(tmp_path: Path) -> None:
    """On the same roads a van takes longer than a car (90%, <= 70 km/h), walking far longer."""
    provider = OsrmEmbeddedProvider(write_square(tmp_path / "a.osm.pbf", oneway=False))
    car, van, foot = (
        provider.matrices(CORNERS, p) for p in (Profile.CAR, Profile.VAN, Profile.FOOT)
    )
    off = ~np.eye(4, dtype=bool)
    ratio = car.durations[off].sum() / van.durations[off].sum()
    assert 0.85 <= ratio <= 0.95
    assert (van.distances == car.distances).all()
    assert (foot.durations[off] > 2 * van.durations[off]).all()


@needs_osrm
def test_blocks_of_rows_give_the_same_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table asked in blocks of rows on two threads equals the one asked at once."""
    provider = OsrmEmbeddedProvider(BUNDLED_PBF, threads=2)
    whole = provider.matrices(HELSINKI, Profile.CAR)
    monkeypatch.setattr(osrm_embedded, "_TABLE_CELLS", 2 * len(HELSINKI))  # two rows per call
    blocks = provider.matrices(HELSINKI, Profile.CAR)
    assert (blocks.durations == whole.durations).all()
    assert (blocks.distances == whole.distances).all()
    assert blocks.snap_m == whole.snap_m


@needs_osrm
def test_figures_agree_with_the_bundled_roads() -> None:
    """OSRM's and the bundled CCH's distances on central Helsinki agree within 25% on median."""
    osrm = open_provider("osrm-embedded", str(BUNDLED_PBF)).matrices(HELSINKI, Profile.CAR)
    ours = OsmProvider().matrices(HELSINKI, Profile.CAR)
    off = ~np.eye(len(HELSINKI), dtype=bool)
    assert (osrm.distances[off] < UNREACHABLE).all()
    ratio = osrm.distances[off] / ours.distances[off]
    assert 0.75 <= float(np.median(ratio)) <= 1.25


@needs_osrm
def test_a_tight_snap_limit_puts_points_off_the_network() -> None:
    """With a 1 m limit a point 20 m from its road is off the network, its row unreachable."""
    provider = OsrmEmbeddedProvider(BUNDLED_PBF, max_snap_m=1.0)
    m = provider.matrices(HELSINKI[:3], Profile.CAR)
    far = [i for i, metres in enumerate(m.snap_m) if metres > 1.0]
    assert far and m.off_network == tuple(far)
    for i in far:
        assert (np.delete(m.durations[i], i) == UNREACHABLE).all()


@needs_osrm
def test_a_file_osrm_cannot_read_is_an_input_error(tmp_path: Path) -> None:
    """A .pbf that is not OpenStreetMap data is an InputError naming the tool and the file."""
    bad = tmp_path / "bad.osm.pbf"
    bad.write_text("not a pbf", encoding="utf-8")
    with pytest.raises(InputError, match=r"osrm-extract could not prepare bad\.osm\.pbf"):
        OsrmEmbeddedProvider(bad, cache_dir=tmp_path / "cache").matrices(HELSINKI, Profile.CAR)
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-made is left


@needs_osrm
def test_contraction_hierarchies_give_the_same_answer_as_mld(tmp_path: Path) -> None:
    """algorithm='ch' prepares with osrm-contract and routes the square exactly as MLD does."""
    pbf = write_square(tmp_path / "a.osm.pbf")
    mld = OsrmEmbeddedProvider(pbf, cache_dir=tmp_path / "cache").matrices(CORNERS, Profile.CAR)
    ch = OsrmEmbeddedProvider(pbf, algorithm="ch", cache_dir=tmp_path / "cache")
    found = ch.matrices(CORNERS, Profile.CAR)
    assert (found.durations == mld.durations).all() and (found.distances == mld.distances).all()
    assert "CH" in found.source and "MLD" in mld.source
    assert len(list((tmp_path / "cache").iterdir())) == 2  # one dataset per algorithm


# The command line: --osrm-embedded on `doorstep matrix` and `doorstep plan`.


def _points(tmp_path: Path) -> Path:
    path = tmp_path / "points.csv"
    rows = [f"p{k},{p.lat},{p.lon}" for k, p in enumerate(HELSINKI)]
    path.write_text("id,latitude,longitude\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_the_cli_option_without_the_package_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--osrm-embedded` where osrm cannot be imported: exit 2 naming the extra, no traceback."""
    from typer.testing import CliRunner

    from doorstep.cli import app

    monkeypatch.setitem(sys.modules, "osrm", None)
    out = tmp_path / "m.csv"
    result = CliRunner().invoke(
        app, ["matrix", str(_points(tmp_path)), "--osrm-embedded", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "doorstep[osrm]" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_the_cli_option_excludes_the_other_sources(tmp_path: Path) -> None:
    """`--osrm-embedded` with --straight or a server, or with --departure: exit 2, one message."""
    from typer.testing import CliRunner

    from doorstep.cli import app

    points = str(_points(tmp_path))
    out = str(tmp_path / "m.csv")
    both = CliRunner().invoke(app, ["matrix", points, "--osrm-embedded", "--straight", "-o", out])
    assert both.exit_code == 2
    assert "not --straight and --osrm-embedded" in " ".join(both.output.split())
    hour = ["matrix", points, "--osrm-embedded", "--departure", "08:00", "--out", out]
    timed = CliRunner().invoke(app, hour)
    assert timed.exit_code == 2 and "OpenStreetMap files only" in timed.output


@needs_osrm
def test_the_cli_option_routes_with_osrm(tmp_path: Path) -> None:
    """`doorstep matrix --osrm-embedded` writes OSRM's figures for the bundled roads."""
    from typer.testing import CliRunner

    from doorstep.cli import app

    out = tmp_path / "m.npz"
    args = ["matrix", str(_points(tmp_path)), "--osrm-embedded", "--profile", "car", "--out"]
    result = CliRunner().invoke(app, [*args, str(out)])
    assert result.exit_code == 0, result.output
    direct = open_provider("osrm-embedded", str(BUNDLED_PBF)).matrices(HELSINKI, Profile.CAR)
    with np.load(out) as written:
        assert (written["distances_m"] == direct.distances).all()
        assert "osrm" in str(written["source"]).lower()
