"""The outputs of a planned day: plan.json, manifests, GeoJSON and the offline map."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from doorstep.domain.finding import Finding, Severity
from doorstep.domain.fleet import Break, Costs, Depot, Fleet, Profile, Vehicle
from doorstep.domain.load import Load
from doorstep.domain.location import Location
from doorstep.domain.order import Address, Contact, Order, OrderKind
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import InputError
from doorstep.plan.evaluator import evaluate, route_cost
from doorstep.plan.outputs import write_outputs
from doorstep.plan.outputs.geojson import plan_geojson
from doorstep.plan.outputs.manifests import (
    COLUMNS,
    manifest_names,
    manifests,
    spreadsheet_text,
)
from doorstep.plan.outputs.map_html import LEAFLET_VERSION, leaflet_assets, map_html
from doorstep.plan.outputs.plan_json import plan_document, routes_of_document
from doorstep.plan.outputs.routes import planned_routes
from doorstep.plan.problem import Problem
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Assignment, RouteAssignment
from doorstep.units import format_clock, parse_clock

CHROMIUM = Path(
    os.environ.get("DOORSTEP_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
"""Debian's Chromium (``scripts/test-chromium.sh``; ``.ci/run`` installs it)."""
NASTY = "Ring twice </script><script>alert(1)</script><!-- & 'quote' \"dq\""


def _t(clock: str) -> int:
    return parse_clock(clock)


def _window(a: str, b: str) -> TimeWindow:
    return TimeWindow(_t(a), _t(b))


def _problem() -> Problem:
    depot = Depot("D1", Location(60.1699, 24.9384), "Kamppi depot")
    orders = (
        Order(
            "A1",
            Location(60.1720, 24.9450),
            address=Address("Mannerheimintie 1", "B 12", "00100", "Helsinki"),
            windows=(_window("09:00", "11:00"),),
            service_s=300,
            demand=Load(2, 3_500, 10_000),
            contact=Contact("Åsa Öberg", "+358 40 123 4567"),
            notes=NASTY,
        ),
        Order(
            "A2",
            Location(60.1650, 24.9300),
            address=Address("Bulevardi 5", "", "00120", "Helsinki"),
            windows=(_window("08:00", "08:30"), _window("12:00", "14:00")),
            service_s=300,
            demand=Load(1, 1_000, 2_000),
        ),
        Order(
            "A3",
            Location(60.1600, 24.9500),
            address=Address("</script> Street 3", "", "00130", "Helsinki"),
            service_s=120,
            demand=Load(1, 500, 1_000),
            notes='=HYPERLINK("x")',
        ),
        Order(
            "B1",
            Location(60.1800, 24.9200),
            address=Address("Töölöntori 2", "", "00260", "Helsinki"),
            windows=(_window("07:00", "07:30"),),
            service_s=180,
            demand=Load(3, 12_000, 30_000),
        ),
        Order(
            "B2",
            Location(60.1850, 24.9350),
            kind=OrderKind.PICKUP,
            address=Address("Mechelininkatu 9", "", "00250", "Helsinki"),
            service_s=240,
            demand=Load(1, 2_000, 5_000),
        ),
        Order(
            "X9",
            Location(60.2000, 25.0000),
            address=Address("Far away 1", "", "00560", "Helsinki"),
            demand=Load(1, 900_000, 1_000),
        ),
    )
    capacity = Load(50, 500_000, 1_000_000)
    vehicles = (
        Vehicle(
            "van-1",
            "D1",
            Profile.VAN,
            capacity,
            _window("08:00", "17:00"),
            break_=Break(_window("10:00", "13:00"), 1_800),
            costs=Costs(2_000, 50, 2_500),
        ),
        Vehicle("van/2", "D1", Profile.VAN, capacity, _window("08:00", "17:00")),
    )
    points = [depot.location, *(o.location for o in orders)]
    n = len(points)
    distances = np.zeros((n, n), dtype=np.int64)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            distances[i, j] = round(a.distance_m(b) * 1.3)
    durations = (distances // 8).astype(np.int64)
    return Problem(
        orders,
        Fleet((depot,), vehicles),
        {Profile.VAN: durations},
        {Profile.VAN: distances},
        source="test matrices",
    )


def _straight(problem: Problem, orders: tuple[int, ...]) -> tuple[tuple[float, float], ...]:
    """Depot, stops and depot again, with a midpoint on every leg (as a road would bend)."""
    depot = problem.fleet.depots[0].location
    stops = [depot, *(problem.orders[i].location for i in orders), depot]
    line: list[tuple[float, float]] = []
    for a, b in itertools.pairwise(stops):
        line += [(a.lat, a.lon), ((a.lat + b.lat) / 2, (a.lon + b.lon) / 2)]
    line.append((depot.lat, depot.lon))
    return tuple(line)


def _day(with_geometry: bool = True) -> DayPlan:
    problem = _problem()
    routes = (RouteAssignment(0, (0, 1, 2), break_after=1), RouteAssignment(1, (3, 4)))
    evaluation = evaluate(
        problem,
        Assignment(routes, "hand"),
        {"X9": ("capacity", "Order X9 weighs 900 kg, more than any vehicle carries.")},
    )
    geometry = tuple(_straight(problem, r.orders) for r in routes) if with_geometry else ()
    rejected = (Finding("zip_unknown", Severity.ERROR, "ZIP 99999 is unknown.", 9, "zip"),)
    return DayPlan(problem, evaluation, "hand", 5.0, 7, 1.2345, rejected, geometry)


@pytest.fixture(scope="module")
def day() -> DayPlan:
    return _day()


@pytest.fixture
def out(tmp_path: Path, day: DayPlan) -> Path:
    folder = tmp_path / "out" / "day"
    write_outputs(day, folder)
    return folder


def _embedded(page: str) -> Any:
    match = re.search(
        r'<script type="application/json" id="doorstep-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    return json.loads(match.group(1))


def _page_without_leaflet(page: str) -> str:
    """The page less Leaflet's code and licence and /* comments */ (its CSS has some)."""
    leaflet_js, _, licence = leaflet_assets()
    assert leaflet_js in page and licence in page
    return re.sub(r"/\*.*?\*/", "", page.replace(leaflet_js, "").replace(licence, ""), flags=re.S)


def test_write_outputs_writes_every_file(tmp_path: Path, day: DayPlan) -> None:
    """write_outputs creates the folder and returns plan.json, plan.geojson, map.html, manifests."""
    folder = tmp_path / "a" / "b"
    written = write_outputs(day, folder)
    assert [p.name for p in written] == [
        "plan.json",
        "plan.geojson",
        "map.html",
        "route-van-1.csv",
        "route-van_2.csv",
    ]
    assert all(p.parent == folder and p.stat().st_size > 0 for p in written)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written)


def test_plan_json_summary_and_sections(out: Path, day: DayPlan) -> None:
    """plan.json has the schema id, the KPIs and run facts, and every section with counts."""
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert doc["schema"] == "doorstep.plan/1"
    s = doc["summary"]
    assert (s["orders"], s["served"], s["unassigned"], s["vehicles_used"]) == (6, 5, 1, 2)
    assert s["backend"] == "hand" and s["time_limit_s"] == 5.0 and s["seed"] == 7
    assert s["runtime_s"] == 1.234 or s["runtime_s"] == 1.235
    assert s["travel_source"] == "test matrices" and s["travel_estimated"] is False
    assert s["feasible"] is False and s["violation_count"] == len(doc["violations"]) >= 1
    assert s["distance_km"] == pytest.approx(sum(r["distance_m"] for r in doc["routes"]) / 1000)
    assert s["cost"] == pytest.approx(sum(r["cost"] for r in doc["routes"]))
    assert [r["vehicle_id"] for r in doc["routes"]] == ["van-1", "van/2"]
    assert [r["manifest"] for r in doc["routes"]] == ["route-van-1.csv", "route-van_2.csv"]
    assert doc["unassigned"] == [
        {
            "order_id": "X9",
            "code": "capacity",
            "reason": "Order X9 weighs 900 kg, more than any vehicle carries.",
        }
    ]
    assert doc["rejected"] == [
        {
            "row": 9,
            "code": "zip_unknown",
            "field": "zip",
            "message": "ZIP 99999 is unknown.",
            "source": "orders",
        }
    ]
    late = [v for v in doc["violations"] if v["code"] == "late"]
    assert late and late[0]["vehicle_id"] == "van/2" and late[0]["order_id"] == "B1"
    assert late[0]["amount"] > 0


def test_plan_json_routes_times_and_units(out: Path, day: DayPlan) -> None:
    """Each route's clock times match its *_s seconds, stops count from 1, loads are in kg and l."""
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    costs = day.evaluation.route_costs
    for route, cents in zip(doc["routes"], costs, strict=True):
        assert route["profile"] == "van" and route["depot_id"] == "D1"
        assert route["start"] == format_clock(route["start_s"])
        assert route["end"] == format_clock(route["end_s"])
        assert route["duration_s"] == route["end_s"] - route["start_s"]
        assert route["cost"] == pytest.approx(cents / 100)
        assert [v["stop"] for v in route["visits"]] == list(range(1, len(route["visits"]) + 1))
        previous = route["start_s"]
        for visit in route["visits"]:
            for name in ("arrival", "start", "departure"):
                assert re.fullmatch(r"\d\d:\d\d", visit[name])
                assert parse_clock(visit[name]) == visit[f"{name}_s"] // 60 * 60
            assert previous <= visit["arrival_s"] <= visit["start_s"] <= visit["departure_s"]
            assert visit["wait_s"] == visit["start_s"] - visit["arrival_s"]
            assert set(visit["load_after"]) == {"parcels", "weight_kg", "volume_l"}
            previous = visit["departure_s"]
        assert previous <= route["end_s"]
    van1, van2 = doc["routes"]
    assert [v["order_id"] for v in van1["visits"]] == ["A1", "A2", "A3"]
    a1, a2, a3 = van1["visits"]
    assert a1["window"] == "09:00-11:00" and a1["on_time"] is True
    assert a1["address"] == "Mannerheimintie 1 B 12, 00100 Helsinki"
    assert a2["window"] == "12:00-14:00" and a2["start"] == "12:00" and a2["wait_s"] > 0
    assert a2["windows"] == ["08:00-08:30", "12:00-14:00"]
    assert a3["window"] is None and a3["windows"] == [] and a3["on_time"] is True
    assert a1["load_after"] == {"parcels": 2, "weight_kg": 1.5, "volume_l": 3.0}
    brk = van1["break"]
    assert brk["after_stop"] == 2 and brk["duration_s"] == 1_800
    assert brk["start"] == format_clock(brk["start_s"]) and brk["start_s"] >= a2["departure_s"]
    assert van2["break"] is None
    b1, b2 = van2["visits"]
    assert b1["on_time"] is False and b2["kind"] == "pickup"
    assert b2["load_after"]["parcels"] == 1 and b2["load_after"]["weight_kg"] == 2.0


def _manifest(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def test_manifests_one_per_route_with_depot_and_break_rows(out: Path) -> None:
    """Each route's CSV runs depart, stops in order (with the break where it is), return."""
    van1 = _manifest(out / "route-van-1.csv")
    assert [r["kind"] for r in van1] == [
        "depart",
        "delivery",
        "delivery",
        "break",
        "delivery",
        "return",
    ]
    stops = [r for r in van1 if r["stop"]]
    assert [r["stop"] for r in stops] == ["1", "2", "3"]
    assert [r["order_id"] for r in stops] == ["A1", "A2", "A3"]
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    route = doc["routes"][0]
    assert van1[0]["arrival"] == route["start"] and van1[-1]["arrival"] == route["end"]
    assert van1[0]["address"] == "Kamppi depot" and van1[0]["lat"] == "60.169900"
    assert van1[3]["arrival"] == route["break"]["start"] and van1[3]["service_min"] == "30"
    first = van1[1]
    assert first["arrival"] == route["visits"][0]["arrival"]
    assert (first["address"], first["unit"], first["zip"], first["city"]) == (
        "Mannerheimintie 1",
        "B 12",
        "00100",
        "Helsinki",
    )
    assert first["contact_name"] == "Åsa Öberg" and first["phone"] == "+358 40 123 4567"
    assert (first["parcels"], first["weight_kg"], first["service_min"]) == ("2", "3.5", "5")
    assert first["window"] == "09:00-11:00" and first["notes"] == NASTY
    assert van1[2]["window"] == "08:00-08:30 / 12:00-14:00"
    van2 = _manifest(out / "route-van_2.csv")
    assert [(r["kind"], r["order_id"]) for r in van2] == [
        ("depart", ""),
        ("delivery", "B1"),
        ("pickup", "B2"),
        ("return", ""),
    ]


def test_manifest_defuses_spreadsheet_formulas(out: Path) -> None:
    """A note starting with '=' is prefixed with an apostrophe; phone numbers are kept as-is."""
    rows = _manifest(out / "route-van-1.csv")
    a3 = next(r for r in rows if r["order_id"] == "A3")
    assert a3["notes"] == '\'=HYPERLINK("x")'
    assert rows[1]["phone"] == "+358 40 123 4567"


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1-1", "'+1-1"),
        ("-1-1", "'-1-1"),
        (" =1+1", "' =1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("\t=1", "'\t=1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("+358 40 123 4567", "+358 40 123 4567"),
        ("-33.861234", "-33.861234"),
        ("Ring twice", "Ring twice"),
    ],
)
def test_spreadsheet_text_defuses_formulas_only(text: str, cell: str) -> None:
    """Formula starts (after spaces, full-width, sums) get an apostrophe; numbers, phones not."""
    assert spreadsheet_text(text) == cell


def test_every_manifest_cell_is_defused() -> None:
    """An order whose every text field starts like a formula gives no cell that would run."""
    nasty = "+1-1"
    order = dataclasses.replace(
        _problem().orders[0],
        id="-A1",
        address=Address(" =cmd|' /C calc'!A0", "@unit", "-1-1", "\uff1dcity"),
        contact=Contact("=name", "+1-555-0100", "a@b.c"),
        notes=nasty,
    )
    problem = dataclasses.replace(_problem(), orders=(order, *_problem().orders[1:]))
    evaluation = evaluate(problem, Assignment((RouteAssignment(0, (0,)),), "hand"), {})
    text = manifests(DayPlan(problem, evaluation, "hand", 1.0, 0, 0.1))["route-van-1.csv"]
    (stop,) = [r for r in csv.DictReader(io.StringIO(text)) if r["stop"] == "1"]
    for column in ("order_id", "address", "unit", "zip", "city", "contact_name", "phone", "notes"):
        assert stop[column].startswith("'"), (column, stop[column])


def test_manifest_names_are_file_safe_and_distinct() -> None:
    """Vehicle ids become safe, distinct file names, even when they differ only by case."""
    names = manifest_names(["van/1", "van_1", "VAN_1", "../x", "", "ok-2.b"])
    assert names == [
        "route-van_1.csv",
        "route-van_1-2.csv",
        "route-VAN_1-3.csv",
        "route-x.csv",
        "route-vehicle.csv",
        "route-ok-2.b.csv",
    ]
    assert all(re.fullmatch(r"route-[A-Za-z0-9._-]+\.csv", n) for n in names)


def test_geojson_is_a_valid_feature_collection(out: Path, day: DayPlan) -> None:
    """plan.geojson has a LineString per route in [lon, lat], Points for stops, depots, gaps."""
    doc = json.loads((out / "plan.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    features = doc["features"]
    for f in features:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        coords = f["geometry"]["coordinates"]
        positions = coords if f["geometry"]["type"] == "LineString" else [coords]
        for lon, lat in positions:
            assert 24.0 < lon < 26.0 and 59.0 < lat < 61.0
    lines = [f for f in features if f["geometry"]["type"] == "LineString"]
    assert [f["properties"]["vehicle_id"] for f in lines] == ["van-1", "van/2"]
    for line, geometry in zip(lines, day.geometry, strict=True):
        expected = [[round(lon, 6), round(lat, 6)] for lat, lon in geometry]
        assert line["geometry"]["coordinates"] == expected
        assert line["properties"]["road_geometry"] is True
        assert re.fullmatch(r"#[0-9A-F]{6}", line["properties"]["colour"])
    assert lines[0]["properties"]["colour"] != lines[1]["properties"]["colour"]
    assert lines[0]["properties"]["stops"] == 3 and lines[0]["properties"]["distance_m"] > 0
    by_role: dict[str, list[dict[str, Any]]] = {}
    for f in features:
        by_role.setdefault(f["properties"]["role"], []).append(f)
    assert len(by_role["route"]) == 2 and len(by_role["depot"]) == 1
    stops = by_role["stop"]
    assert [(s["properties"]["route"], s["properties"]["stop"]) for s in stops] == [
        ("van-1", 1),
        ("van-1", 2),
        ("van-1", 3),
        ("van/2", 1),
        ("van/2", 2),
    ]
    a1 = stops[0]
    assert a1["geometry"]["coordinates"] == [24.945, 60.172]
    assert a1["properties"]["order_id"] == "A1" and a1["properties"]["on_time"] is True
    assert a1["properties"]["window"] == "09:00-11:00" and re.fullmatch(
        r"\d\d:\d\d", a1["properties"]["eta"]
    )
    assert stops[3]["properties"]["on_time"] is False
    (gap,) = by_role["unassigned"]
    assert gap["properties"]["order_id"] == "X9" and gap["properties"]["code"] == "capacity"
    assert gap["geometry"]["coordinates"] == [25.0, 60.2]


def test_geojson_without_road_geometry_draws_straight_lines() -> None:
    """Without geometry, each route line runs depot -> stops -> depot and says so."""
    day = _day(with_geometry=False)
    lines = [f for f in plan_geojson(day)["features"] if f["properties"]["role"] == "route"]
    first = lines[0]
    assert first["properties"]["road_geometry"] is False
    assert first["geometry"]["coordinates"] == [
        [24.9384, 60.1699],
        [24.945, 60.172],
        [24.93, 60.165],
        [24.95, 60.16],
        [24.9384, 60.1699],
    ]


def test_map_html_inlines_leaflet(out: Path) -> None:
    """map.html carries Leaflet's JS, CSS and licence inline and uses L.map; no script src."""
    page = (out / "map.html").read_text(encoding="utf-8")
    leaflet_js, _, licence = leaflet_assets()
    assert f"Leaflet {LEAFLET_VERSION}" in leaflet_js and LEAFLET_VERSION == "1.9.4"
    assert leaflet_js in page and licence in page
    assert ".leaflet-container" in page
    assert "L.map(" in page
    assert "<script src" not in page and "<link" not in page


def test_map_html_has_no_external_urls(out: Path) -> None:
    """Nothing in map.html loads from the network: no src/href/url() to http(s) anywhere."""
    page = (out / "map.html").read_text(encoding="utf-8")
    assert not re.search(
        r"""(src|href)\s*=\s*["']?\s*(https?:)?//""",
        page.replace('<a href="https://leafletjs.com"', ""),
    )
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", page)
    assert not re.search(r"@import", page)
    # Outside Leaflet's own code and licence there is no URL at all ...
    assert not re.search(r"https?://", _page_without_leaflet(page))
    # ... and Leaflet's are its attribution link and the SVG namespace, neither fetched.
    leaflet_js, _, _ = leaflet_assets()
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", leaflet_js))
    assert urls == {"https://leafletjs.com", "http://www.w3.org/2000/svg"}
    assert "url(images/" not in page


def test_map_embedded_data_parses_back(out: Path, day: DayPlan) -> None:
    """The JSON in the data <script> parses back to the plan's GeoJSON and summary."""
    page = (out / "map.html").read_text(encoding="utf-8")
    data = _embedded(page)
    assert data["geojson"] == json.loads((out / "plan.geojson").read_text(encoding="utf-8"))
    summary = json.loads((out / "plan.json").read_text(encoding="utf-8"))["summary"]
    assert data["summary"] == summary
    assert data["planar"] is False and data["background"] == []
    assert data["title"] == "Doorstep plan"


def test_script_close_in_an_order_note_does_not_break_the_page(out: Path) -> None:
    """A '</script>' or '<!--' in a note or address stays inside the JSON data."""
    page = (out / "map.html").read_text(encoding="utf-8")
    assert page.count("<script") == 3 and page.count("</script>") == 3
    assert "<!--" not in page
    data = _embedded(page)
    notes = {
        f["properties"].get("order_id"): f["properties"].get("notes")
        for f in data["geojson"]["features"]
    }
    assert notes["A1"] == NASTY
    addresses = [f["properties"].get("address") for f in data["geojson"]["features"]]
    assert "</script> Street 3, 00130 Helsinki" in addresses


def test_map_draws_a_background_when_given(day: DayPlan) -> None:
    """Background lines are embedded as [lat, lon] lists; single points are dropped."""
    page = map_html(day, background=[[(60.1, 24.9), (60.2, 25.0)], [(60.0, 24.0)]], title="T<1>")
    assert _embedded(page)["background"] == [[[60.1, 24.9], [60.2, 25.0]]]
    assert "<title>T&lt;1&gt;</title>" in page


def test_writing_twice_overwrites_cleanly(tmp_path: Path, day: DayPlan) -> None:
    """A second write replaces the files byte for byte, leaves other files, leaves no temp files."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    (folder / "plan.json").write_text("stale", encoding="utf-8")
    first = {p.name: p.read_bytes() for p in write_outputs(day, folder)}
    second = {p.name: p.read_bytes() for p in write_outputs(day, folder)}
    assert first == second
    assert json.loads(first["plan.json"])["schema"] == "doorstep.plan/1"
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*first, "notes.txt"])


def test_write_outputs_to_a_file_raises_input_error(tmp_path: Path, day: DayPlan) -> None:
    """An --out path that is a file is a user mistake (InputError), not a traceback."""
    blocker = tmp_path / "plan"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="cannot write"):
        write_outputs(day, blocker)


@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="environment: chromium is not installed (scripts/test-chromium.sh installs it)",
)
def test_map_renders_in_headless_chromium(out: Path, tmp_path: Path) -> None:
    """Headless Chromium renders map.html from disk into a non-empty screenshot."""
    png = tmp_path / "map.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1000,700",
            "--virtual-time-budget=3000",
            f"--screenshot={png}",
            (out / "map.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert png.stat().st_size > 0


def test_planned_routes_resolve_vehicle_depots_orders_and_cost() -> None:
    """Each route comes with its vehicle, depots, visited orders, cost and geometry."""
    day = _day(with_geometry=False)
    planned = planned_routes(day)
    assert [p.index for p in planned] == [0, 1]
    first = planned[0]
    assert first.vehicle.id == first.route.vehicle_id == "van-1"
    assert first.start_depot.id == first.end_depot.id == "D1"
    assert [o.id for o in first.orders] == [v.order_id for v in first.route.visits]
    assert [p.cost_cents for p in planned] == list(day.evaluation.route_costs)
    assert all(p.geometry == () for p in planned)


def test_planned_routes_cost_falls_back_to_the_vehicle_costs() -> None:
    """Without the evaluator's route costs, a route costs what its vehicle charges for it."""
    day = _day()
    bare = dataclasses.replace(day, evaluation=dataclasses.replace(day.evaluation, route_costs=()))
    for with_costs, without in zip(planned_routes(day), planned_routes(bare), strict=True):
        route = without.route
        assert without.cost_cents == route_cost(without.vehicle, route.distance_m, route.duration_s)
        assert without.cost_cents == with_costs.cost_cents
        assert without.geometry == day.geometry[without.index]


def test_plan_json_names_the_search_objective_apart_from_the_cost(day: DayPlan) -> None:
    """summary.search_objective is the backend's own score, beside the money cost."""
    scored = dataclasses.replace(day, search_cost=320_142.0)
    summary = plan_document(scored)["summary"]
    assert summary["search_objective"] == 320_142.0 and summary["cost"] < 1000
    assert plan_document(day)["summary"]["search_objective"] is None
    warm = routes_of_document(plan_document(day))
    assert warm == {"van-1": ("A1", "A2", "A3"), "van/2": ("B1", "B2")}
    with pytest.raises(InputError, match=r"not a plan\.json"):
        routes_of_document({"routes": []}, "x.json")
