"""Tests for `doorstep matrix`, `doorstep network info` and `doorstep network warm`."""

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from doorstep.cli import app
from doorstep.cli.network import make_provider
from doorstep.network.choose import ROUTER_KINDS, ROUTERS
from doorstep.network.http_router import HttpRouter
from doorstep.network.osm_provider import OsmProvider
from doorstep.network.provider import TravelTimeProvider
from doorstep.service.planning import provider_for
from doorstep.settings import Settings
from manifests import REPO

ADDRESSES = REPO / "examples" / "helsinki" / "addresses.csv"
PBF = REPO / "src" / "doorstep" / "data" / "helsinki.osm.pbf"
runner = CliRunner()


def points_file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "points.csv"
    path.write_text("id,latitude,longitude\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_matrix_csv_on_bundled_helsinki(tmp_path: Path) -> None:
    """Road times between real addresses: every ordered pair written, summary printed."""
    out = tmp_path / "m.csv"
    result = runner.invoke(app, ["matrix", str(ADDRESSES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "OpenStreetMap helsinki.osm.pbf (van)" in result.stdout
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    n = len(ADDRESSES.read_text().splitlines()) - 1
    assert len(rows) == n * n
    trips = [r for r in rows if r["from_id"] != r["to_id"]]
    durations = np.array([int(r["duration_s"]) for r in trips])
    assert (durations >= 0).all() and np.median(durations) > 60
    assert {r["duration_s"] for r in rows if r["from_id"] == r["to_id"]} == {"0"}


def test_matrix_npz_with_departure_and_ids(tmp_path: Path) -> None:
    """The .npz holds ids, both matrices, snap distances; 08:00 is slower than 03:00."""
    points = points_file(
        tmp_path,
        ["a,60.1699,24.9384", "b,60.1668,24.9441", "c,60.1725,24.9470", "d,60.1650,24.9500"],
    )
    results = {}
    for hour in ("03:00", "08:00"):
        out = tmp_path / f"m{hour[:2]}.npz"
        args = ["matrix", str(points), "--profile", "car", "--departure", hour, "--out", str(out)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        with np.load(out) as data:
            results[hour] = {name: data[name] for name in data.files}
    night, peak = results["03:00"], results["08:00"]
    assert list(night["ids"]) == ["a", "b", "c", "d"]
    assert night["durations_s"].shape == night["distances_m"].shape == (4, 4)
    assert (peak["durations_s"] >= night["durations_s"]).all()
    assert peak["durations_s"].sum() > night["durations_s"].sum()
    assert night["snap_m"].shape == (4,) and (night["snap_m"] < 100).all()


def test_point_off_the_map_is_reported_with_exit_1(tmp_path: Path) -> None:
    """A point 3 km outside the extract is named in a warning; the rest is still computed."""
    points = points_file(tmp_path, ["in,60.1699,24.9384", "out,60.2000,24.9500"])
    out = tmp_path / "m.csv"
    result = runner.invoke(app, ["matrix", str(points), "--out", str(out)])
    assert result.exit_code == 1
    assert "point out is" in result.stdout and "from the nearest road" in result.stdout
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["duration_s"] for r in rows if r["from_id"] != r["to_id"]] == ["", ""]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--straight", "--pbf", str(PBF)], "choose one source"),
        (["--straight", "--departure", "08:00"], "OpenStreetMap files only"),
        (["--departure", "25:99"], "--departure"),
        (["--pbf", "missing.osm.pbf"], "no such file"),
        (["--osrm", "localhost:5000"], "--osrm 'localhost:5000'"),
        (["--valhalla", "ftp://x"], "http:// or https://"),
    ],
)
def test_bad_options_exit_2_without_writing(tmp_path: Path, args: list[str], message: str) -> None:
    """Conflicting or bad options give one clear line, exit 2 and no output file."""
    points = points_file(tmp_path, ["a,60.1699,24.9384", "b,60.1668,24.9441"])
    out = tmp_path / "m.npz"
    result = runner.invoke(app, ["matrix", str(points), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not out.exists()


def test_bad_rows_are_named(tmp_path: Path) -> None:
    """A row with a blank or out-of-range coordinate is named by its row number."""
    for row, message in (("b,,24.9", "row 3"), ("b,95,24.9", "row 3")):
        points = points_file(tmp_path, ["a,60.1699,24.9384", row])
        result = runner.invoke(app, ["matrix", str(points), "--out", str(tmp_path / "m.csv")])
        assert result.exit_code == 2 and message in " ".join(result.output.split())
    result = runner.invoke(app, ["matrix", str(ADDRESSES), "--out", str(tmp_path / "m.txt")])
    assert result.exit_code == 2 and ".npz or .csv" in " ".join(result.output.split())


def test_straight_line_matrix_says_estimates(tmp_path: Path) -> None:
    """--straight works without any road file and says its figures are estimates."""
    points = points_file(tmp_path, ["a,60.1699,24.9384", "b,60.1668,24.9441"])
    out = tmp_path / "m.npz"
    result = runner.invoke(app, ["matrix", str(points), "--straight", "--out", str(out)])
    assert result.exit_code == 0 and "estimates" in result.stdout
    with np.load(out) as data:
        assert bool(data["estimated"])


def test_network_info(tmp_path: Path) -> None:
    """Nodes, edges, km and bounding box of the bundled extract; a bad file exits 2."""
    result = runner.invoke(app, ["network", "info", str(PBF)])
    assert result.exit_code == 0, result.output
    for label in ("road nodes", "road edges", "road length", "bounding box", "60.16"):
        assert label in result.stdout
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"nope" * 100)
    result = runner.invoke(app, ["network", "info", str(junk)])
    assert result.exit_code == 2 and "corrupt_file" in result.output


def snap_limit(provider: TravelTimeProvider) -> float | None:
    """The snap limit a provider applies (None for one that does not snap)."""
    return provider.max_snap_m if isinstance(provider, OsmProvider | HttpRouter) else None


CLI_KINDS = [k for k in ROUTER_KINDS if k != "osrm-embedded"]
"""Kinds compared here; the embedded OSRM (``--osrm-embedded``) needs Python 3.12 and has
its command-line tests in tests/network/test_osrm_embedded.py."""


@pytest.mark.parametrize("kind", CLI_KINDS)
def test_cli_and_service_open_the_same_provider(kind: str) -> None:
    """Without --max-snap the CLI and the service settings give one class and one snap limit."""
    url = "http://localhost:5000"
    options = {
        "bundled": (None, None, None, False),
        "pbf": (PBF, None, None, False),
        "osrm": (None, url, None, False),
        "valhalla": (None, None, url, False),
        "straight": (None, None, None, True),
    }
    sources = {"bundled": "", "pbf": str(PBF), "osrm": url, "valhalla": url, "straight": ""}
    cli = make_provider(*options[kind], None, None, None)
    service = provider_for(Settings(router=kind, router_source=sources[kind]))  # type: ignore[arg-type]
    assert type(cli) is type(service)
    assert snap_limit(cli) == snap_limit(service) == ROUTERS[kind].max_snap_m  # type: ignore[index]


def test_max_snap_option_overrides_the_default(tmp_path: Path) -> None:
    """--max-snap 0 puts every point that is not exactly on a road off the network (exit 1)."""
    points = points_file(tmp_path, ["a,60.1699,24.9384", "b,60.1668,24.9441"])
    out = tmp_path / "m.csv"
    args = ["matrix", str(points), "--out", str(out), "--max-snap", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "point a is" in result.stdout and "point b is" in result.stdout


def test_network_warm_compiles_and_reports_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """`doorstep network warm` exits 0 naming the functions ready and the cache's fill and bound."""
    monkeypatch.delenv("DOORSTEP_CACHE_MAX_MB", raising=False)
    result = runner.invoke(app, ["network", "warm"])
    assert result.exit_code == 0, result.output
    assert "12 compiled functions" in result.stdout
    assert "of 500 MB" in result.stdout


def test_network_warm_rejects_a_bad_cache_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache bound that is not a size: one message naming the variable, exit 2, no traceback."""
    monkeypatch.setenv("DOORSTEP_CACHE_MAX_MB", "big")
    result = runner.invoke(app, ["network", "warm"])
    assert result.exit_code == 2
    assert "DOORSTEP_CACHE_MAX_MB='big'" in result.output
    assert "Traceback" not in result.output
