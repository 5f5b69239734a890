"""Tests for `doorstep plan`, `doorstep solve` and `doorstep bench`."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from doorstep.cli import app
from manifests import REPO

SAMPLE = REPO / "examples" / "helsinki"
DATA = REPO / "tests" / "data"
runner = CliRunner()


def test_plan_the_helsinki_sample(tmp_path: Path) -> None:
    """The demo day: gate errors left out, a feasible plan, every output written."""
    out = tmp_path / "plan"
    args = ["plan", str(SAMPLE / "orders.csv"), "--fleet", str(SAMPLE / "fleet.csv")]
    result = runner.invoke(app, [*args, "--out", str(out), "-t", "2"])
    assert result.exit_code == 1, result.output  # the sample has rows the gate rejects
    assert "14 rejected by the gate" in result.stdout and "feasible" in result.stdout
    plan = json.loads((out / "plan.json").read_text())
    summary = plan["summary"]
    assert summary["feasible"] and summary["violation_count"] == 0
    assert summary["served"] + summary["unassigned"] == summary["orders"] == 286
    assert summary["served"] >= 270
    assert all(u["reason"] for u in plan["unassigned"])
    assert len(plan["rejected"]) >= 14
    for route in plan["routes"]:
        manifest = out / route["manifest"]
        with manifest.open(encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        assert len([r for r in rows if r["order_id"]]) == len(route["visits"])
    assert (out / "map.html").stat().st_size > 100_000
    geo = json.loads((out / "plan.geojson").read_text())
    lines = [f for f in geo["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == len(plan["routes"])
    assert all(
        len(f["geometry"]["coordinates"]) > len(r["visits"])
        for f, r in zip(lines, plan["routes"], strict=True)
    )


def test_plan_bad_input_exits_2(tmp_path: Path) -> None:
    """A missing fleet file or an unknown solver gives one line and exit 2, no outputs."""
    out = tmp_path / "plan"
    orders = str(SAMPLE / "orders.csv")
    result = runner.invoke(app, ["plan", orders, "--fleet", "nope.csv", "--out", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    fleet = str(SAMPLE / "fleet.csv")
    args = ["plan", orders, "--fleet", fleet, "--out", str(out), "--solver", "magic"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "unknown solver" in result.output
    assert not out.exists()


def solomon_folder(tmp_path: Path) -> Path:
    """A folder holding C101 and its best known solution, as the shared benchmarks lay it out."""
    folder = tmp_path / "solomon"
    folder.mkdir()
    shutil.copy(DATA / "C101.txt", folder / "C101.txt")
    shutil.copy(DATA / "solomon_BKS.json", folder / "BKS.json")
    return folder


def test_solve_writes_solution_json(tmp_path: Path) -> None:
    """Solve reports routes with the instance's own customer numbers and the BKS gap."""
    folder = solomon_folder(tmp_path)
    out = tmp_path / "c101.json"
    result = runner.invoke(app, ["solve", str(folder / "C101.txt"), "-t", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    customers = sorted(int(c) for route in doc["routes"] for c in route)
    assert customers == list(range(1, 101))
    assert doc["feasible"] and doc["vehicles"] == len(doc["routes"])
    assert doc["best_known"] == 828.94 and doc["gap"] < 0.01


def test_bench_summarises_a_folder(tmp_path: Path) -> None:
    """Bench writes one CSV row per instance and a summary with the mean gap."""
    folder = solomon_folder(tmp_path)
    out = tmp_path / "results.csv"
    result = runner.invoke(app, ["bench", str(folder), "-t", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["instance"] for r in rows] == ["C101"] and rows[0]["feasible"] == "True"
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["instances"] == 1 and summary["mean_gap_pct"] < 1


def test_ctrl_c_keeps_the_best_plan(tmp_path: Path) -> None:
    """SIGINT during a 120 s search stops it early and still writes a checked plan."""
    out = tmp_path / "plan"
    args = [sys.executable, "-m", "doorstep", "plan", str(SAMPLE / "orders.csv")]
    args += ["--fleet", str(SAMPLE / "fleet.csv"), "--out", str(out), "-t", "120"]
    started = time.monotonic()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)
    time.sleep(12)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=90)
    assert child.returncode == 1, stderr.decode()[-2000:]
    assert time.monotonic() - started < 100
    plan = json.loads((out / "plan.json").read_text())
    assert plan["summary"]["feasible"] and plan["summary"]["served"] > 200


SMALL_FLEET = """vehicle_id,depot_id,depot_lat,depot_lon,profile,shift_start,shift_end,\
capacity_parcels,cost_fixed,cost_per_km,cost_per_hour
VAN-A,HEL-DEPOT,60.166160,24.952780,van,08:00,18:00,40,60,0.35,32
VAN-B,HEL-DEPOT,60.166160,24.952780,van,08:00,18:00,40,60,0.35,32
"""


def small_day(tmp_path: Path) -> list[str]:
    """`doorstep plan` arguments for six orders near the depot and two vans, straight lines."""
    lines = ["order_id,address,zip,city,lat,lon,service_min,parcels"]
    for k in range(6):
        lat, lon = 60.160 + 0.003 * k, 24.930 + 0.004 * k
        lines.append(f"S-{k},Testikatu {k + 1},00100,Helsinki,{lat:.6f},{lon:.6f},4,1")
    orders, fleet = tmp_path / "orders.csv", tmp_path / "fleet.csv"
    orders.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fleet.write_text(SMALL_FLEET, encoding="utf-8")
    return ["plan", str(orders), "--fleet", str(fleet), "--straight", "-t", "1"]


def routes_of(out: Path) -> dict[str, list[str]]:
    """Vehicle id -> order ids of the plan.json in ``out``."""
    plan = json.loads((out / "plan.json").read_text())
    return {r["vehicle_id"]: [v["order_id"] for v in r["visits"]] for r in plan["routes"]}


def test_plan_keeps_a_locked_order_on_its_vehicle(tmp_path: Path) -> None:
    """--lock ORDER=VEHICLE puts the order on that vehicle, which would otherwise stay unused."""
    args = small_day(tmp_path)
    free = runner.invoke(app, [*args, "--out", str(tmp_path / "free")])
    assert free.exit_code == 0, free.output
    assert list(routes_of(tmp_path / "free")) == ["VAN-A"]
    locked = ["--lock", "S-3=VAN-B", "--lock", " S-4 = VAN-B"]
    result = runner.invoke(app, [*args, *locked, "--out", str(tmp_path / "locked")])
    assert result.exit_code == 0, result.output
    routes = routes_of(tmp_path / "locked")
    assert {"S-3", "S-4"} <= set(routes["VAN-B"])


def test_plan_bad_locks_exit_2(tmp_path: Path) -> None:
    """A lock that is not ORDER=VEHICLE, or names an unknown order or vehicle: a message, exit 2."""
    args = [*small_day(tmp_path), "--out", str(tmp_path / "out")]
    for lock, message in (
        ("S-3", "expected ORDER=VEHICLE"),
        ("NOPE=VAN-A", "unknown order NOPE"),
        ("S-3=VAN-Z", "unknown vehicle VAN-Z"),
    ):
        result = runner.invoke(app, [*args, "--lock", lock])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_plan_starts_from_an_earlier_plan(tmp_path: Path) -> None:
    """--warm-start PLAN.json plans from that plan's routes; a file that is no plan is exit 2."""
    args = small_day(tmp_path)
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "first")])
    assert first.exit_code == 0, first.output
    warm = tmp_path / "first" / "plan.json"
    result = runner.invoke(app, [*args, "--warm-start", str(warm), "--out", str(tmp_path / "next")])
    assert result.exit_code == 0, result.output
    assert routes_of(tmp_path / "next") == routes_of(tmp_path / "first")
    for bad in (tmp_path / "orders.csv", tmp_path / "none.json"):
        result = runner.invoke(app, [*args, "--warm-start", str(bad), "--out", str(tmp_path / "x")])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert str(bad.name) in result.output


def test_plan_counts_rejected_rows_not_findings(tmp_path: Path) -> None:
    """One order row with two errors is one row rejected by the gate, as validate says."""
    args = small_day(tmp_path)
    with (tmp_path / "orders.csv").open("a", encoding="utf-8") as handle:
        handle.write("S-9,Testikatu 9,00100,Helsinki,,,4,many\n")  # no coordinates, bad parcels
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert "6 accepted, 1 rejected by the gate" in result.stdout, result.output


def test_plan_max_snap_reports_stops_farther_from_a_road(tmp_path: Path) -> None:
    """--max-snap is the router's snapping limit: at 0.5 m the stops are off the road network."""
    args = [a for a in small_day(tmp_path) if a != "--straight"]
    result = runner.invoke(app, [*args, "--max-snap", "0.5", "--out", str(tmp_path / "tight")])
    assert result.exit_code == 1, result.output
    plan = json.loads((tmp_path / "tight" / "plan.json").read_text())
    codes = {u["code"] for u in plan["unassigned"]}
    assert codes == {"off_network"} and plan["summary"]["served"] == 0
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "default")])
    assert result.exit_code in (0, 1), result.output
    default = json.loads((tmp_path / "default" / "plan.json").read_text())
    assert default["summary"]["served"] >= 5  # at 250 m the stops on land attach to roads
