"""Tests for paired pickups and end depots read from files, through the gate and the planner."""

from pathlib import Path

from doorstep.gate import validate
from doorstep.io.tables import read_table_bytes
from doorstep.network.straight_line import StraightLineProvider
from doorstep.plan.day import plan_day

ORDERS = """order_id,kind,lat,lon,paired_pickup
P1,pickup,60.1800,24.9600,
D1,delivery,60.1600,24.9300,P1
D2,delivery,60.1700,24.9400,
"""

FLEET = """vehicles:
  - {vehicle_id: VAN-1, depot_id: START, end_depot_id: END}
depots:
  - {id: START, lat: 60.1500, lon: 24.9000}
  - {id: END, lat: 60.2000, lon: 25.0000}
"""


def _codes(orders: str) -> dict[int, set[str]]:
    report = validate(read_table_bytes(orders.encode(), "csv"))
    found: dict[int, set[str]] = {}
    for f in report.findings:
        found.setdefault(f.row or 0, set()).add(f.code)
    return found


def test_paired_pickup_comes_first_and_the_route_ends_at_its_end_depot(tmp_path: Path) -> None:
    """paired_pickup and end_depot_id from files: pickup before delivery, route ends at END."""
    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "fleet.yaml").write_text(FLEET)
    day = plan_day(
        tmp_path / "orders.csv",
        tmp_path / "fleet.yaml",
        StraightLineProvider(),
        time_limit_s=1,
        with_geometry=False,
    )
    assert not day.rejected
    orders = {o.id: o for o in day.problem.orders}
    assert orders["D1"].paired_pickup == "P1"
    vehicle = day.problem.fleet.vehicles[0]
    assert vehicle.end_depot_id == "END"
    assert day.problem.fleet.depot("END").location.lat == 60.2
    (route,) = day.evaluation.plan.routes
    visits = [visit.order_id for visit in route.visits]
    assert visits.index("P1") < visits.index("D1")


def test_pairings_the_planner_cannot_honour_are_errors() -> None:
    """An unknown pickup, a delivery named as pickup, a pickup paired twice: errors by row."""
    orders = """order_id,kind,lat,lon,paired_pickup
P1,pickup,60.18,24.96,
D1,delivery,60.16,24.93,P1
D2,delivery,60.17,24.94,P1
D3,delivery,60.17,24.95,NOPE
D4,delivery,60.17,24.96,D1
P2,pickup,60.17,24.97,P1
"""
    codes = _codes(orders)
    assert codes.get(3) is None
    assert codes[4] == {"paired_pickup_shared"}
    assert codes[5] == {"paired_pickup_unknown"}
    assert codes[6] == {"paired_pickup_not_pickup"}
    assert codes[7] == {"paired_pickup_on_pickup"}


def test_delivery_whose_pickup_is_rejected_is_rejected_too() -> None:
    """A paired delivery cannot be planned alone: its pickup's error rejects it, by name."""
    orders = "order_id,kind,lat,lon,paired_pickup\nP1,pickup,,,\nD1,delivery,60.16,24.93,P1\n"
    codes = _codes(orders)
    assert "paired_pickup_rejected" in codes[3]
