"""customer_id from a manifest column to the Order, the store, plan_day and plan.json."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from doorstep.errors import InputError
from doorstep.gate import validate
from doorstep.network.straight_line import StraightLineProvider
from doorstep.plan.day import plan_day
from doorstep.plan.expected import expected_of
from doorstep.plan.outputs.plan_json import plan_document
from doorstep.plan.pipeline import plan_orders
from doorstep.store import tables as t
from doorstep.store.convert import order_row, to_order
from manifests import CLEAN_FLEET, CLEAN_ROWS, FLEET_HEADER, ORDER_HEADER, csv_table

CUSTOMERS = ("K-1", "", "K-1", "Åsa & co 7", "K-2", "", "K-3", "K-4")
DAY = date(2026, 12, 7)


def _manifest(column: str, customers: tuple[str, ...] = CUSTOMERS) -> str:
    rows = [f"{row},{customer}" for row, customer in zip(CLEAN_ROWS, customers, strict=True)]
    return "\n".join([f"{ORDER_HEADER},{column}", *rows]) + "\n"


class EveningRisk:
    """Failure grows through the day: 2% per hour after 08:00."""

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        """The hour's chance."""
        return max(0.0, (when.hour - 8) * 0.02)


@pytest.mark.parametrize("column", ["customer_id", "Customer No", "client_id", "customer-ref"])
def test_a_customer_column_becomes_the_orders_customer_id(column: str) -> None:
    """The canonical name and its synonyms all read; a blank cell gives None."""
    rows = _manifest(column).splitlines()
    report = validate(csv_table(rows[0], rows[1:]))
    ids = {o.id: o.customer_id for o in report.orders}
    assert ids == {f"C{k}": (customer or None) for k, customer in enumerate(CUSTOMERS, start=1)}


def test_a_customer_id_too_long_is_an_error_naming_the_row_and_field() -> None:
    """Over 100 characters: the row is rejected with a message saying what to do."""
    rows = _manifest("customer_id", ("x" * 101, *CUSTOMERS[1:])).splitlines()
    report = validate(csv_table(rows[0], rows[1:]))
    (finding,) = [f for f in report.findings if f.code == "customer_id_too_long"]
    assert finding.row == 2 and finding.field == "customer_id"
    assert "limit is 100" in finding.message and "C1" not in {o.id for o in report.orders}


def test_the_customer_id_survives_the_store(sessions: sessionmaker[Session]) -> None:
    """Order -> stored row -> Order keeps the customer id, and None stays None."""
    rows = _manifest("customer_id").splitlines()
    orders = validate(csv_table(rows[0], rows[1:])).orders
    with sessions() as db:
        db.add_all(order_row(o) for o in orders)
        db.commit()
    with sessions() as db:
        back = {r.id: to_order(r) for r in db.query(t.Order)}
    assert {k: o.customer_id for k, o in back.items()} == {o.id: o.customer_id for o in orders}
    assert back["C2"].customer_id is None and back["C4"].customer_id == "Åsa & co 7"


def _files(tmp_path: Path) -> tuple[Path, Path]:
    orders, fleet = tmp_path / "orders.csv", tmp_path / "fleet.csv"
    orders.write_text(_manifest("customer_no"), encoding="utf-8")
    fleet.write_text("\n".join([FLEET_HEADER, *CLEAN_FLEET]) + "\n", encoding="utf-8")
    return orders, fleet


QUICK: dict[str, Any] = {"time_limit_s": 2, "max_iterations": 200, "with_geometry": False}


def test_plan_day_with_a_risk_reports_expected_failures_in_plan_json(tmp_path: Path) -> None:
    """Each visit has its customer id and p_fail; the summary has the total and its cost."""
    orders, fleet = _files(tmp_path)
    plain = plan_day(orders, fleet, StraightLineProvider(), **QUICK)
    assert expected_of(plain) is None
    day = plan_day(
        orders, fleet, StraightLineProvider(), **QUICK, risk=EveningRisk(), day=DAY,
        redelivery_cents=1_000,
    )  # fmt: skip
    expected = expected_of(day)
    assert expected is not None and len(expected.stops) == day.evaluation.kpis.served == 8
    document = plan_document(day)
    visits = [v for r in document["routes"] for v in r["visits"]]
    assert {v["order_id"]: v["customer_id"] for v in visits} == {
        f"C{k}": (customer or None) for k, customer in enumerate(CUSTOMERS, start=1)
    }
    assert all(v["p_fail"] == round(max(0, (v["start_s"] // 3600 - 8) * 0.02), 4) for v in visits)
    total = sum(max(0, (v["start_s"] // 3600 - 8) * 0.02) for v in visits)
    assert document["summary"]["expected_failed_attempts"] == pytest.approx(total, abs=1e-3)
    assert document["summary"]["expected_failure_cost"] == round(total * 10, 2)
    with pytest.raises(InputError, match="date"):
        plan_day(orders, fleet, StraightLineProvider(), **QUICK, risk=EveningRisk())


def test_plan_day_plans_with_the_success_planner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """doorstep.plan.success.plan_for_success gets the risk, day and cost; its plan is assessed."""
    calls: list[tuple[Any, ...]] = []

    def plan_for_success(
        orders: Any, fleet: Any, provider: Any, risk: Any, day: Any, options: Any, cents: int
    ) -> Any:
        calls.append((risk, day, options.max_iterations, cents))
        return plan_orders(orders, fleet, provider, options)

    monkeypatch.setattr("doorstep.plan.day.plan_for_success", plan_for_success)
    orders, fleet = _files(tmp_path)
    risk = EveningRisk()
    day = plan_day(orders, fleet, StraightLineProvider(), **QUICK, risk=risk, day=DAY)
    assert calls == [(risk, DAY, 200, 800)]
    expected = expected_of(day)
    assert expected is not None and expected.redelivery_cents == 800
