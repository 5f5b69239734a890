"""Expected failed first attempts of a plan: per stop, in total, priced; and in plan.json."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from doorstep.domain.order import Address, Order
from doorstep.plan.evaluator import evaluate
from doorstep.plan.expected import (
    AssessedDayPlan,
    assess,
    expected_failures,
    expected_of,
)
from doorstep.plan.outputs.plan_json import plan_document
from doorstep.plan.result import DayPlan
from doorstep.plan.solver import Assignment, RouteAssignment
from plan_problems import H, order, problem, van

DAY = date(2026, 12, 7)  # a Monday


class HourRisk:
    """A risk that grows through the day: 1% per hour after 08:00, doubled for customer "away".

    Every question is recorded, so a test can check what the planner asked.
    """

    def __init__(self) -> None:
        self.asked: list[tuple[str | None, str | None, datetime, int, int]] = []

    def p_fail(
        self,
        customer_id: str | None,
        area: str | None,
        when: datetime,
        weight_g: int = 0,
        volume_ml: int = 0,
    ) -> float:
        """The hour's chance."""
        self.asked.append((customer_id, area, when, weight_g, volume_ml))
        p = (when.hour - 7) / 100
        return 2 * p if customer_id == "away" else p


def _with_customer(o: Order, customer: str | None, zip_code: str) -> Order:
    return dataclasses.replace(o, customer_id=customer, address=Address("Street 1", "", zip_code))


def _day() -> DayPlan:
    """Two vans; o1, o2 on the first, o3 on the second, o4 left out."""
    orders = [
        _with_customer(order("o1", 1, 0, windows=[(9 * H, 10 * H)]), "home", "00100"),
        _with_customer(order("o2", 2, 0, windows=[(15 * H, 16 * H)]), "away", "00200"),
        _with_customer(order("o3", 0, 3, windows=[(12 * H, 13 * H)]), None, ""),
        _with_customer(order("o4", 9, 9), "home", "00100"),
    ]
    p = problem(orders, [van("v1"), van("v2")])
    routes = (RouteAssignment(0, (0, 1)), RouteAssignment(1, (2,)))
    evaluation = evaluate(p, Assignment(routes, "hand"))
    return DayPlan(p, evaluation, "hand", 1.0, 0, 0.1)


def test_expected_failures_are_the_sum_of_each_visits_chance() -> None:
    """Each visit is asked at its service start; the total is the sum; o4 (left out) is not."""
    day, risk = _day(), HourRisk()
    expected = expected_failures(day, risk, DAY)
    visits = {v.order_id: v for r in day.evaluation.plan.routes for v in r.visits}
    assert [s.order_id for s in expected.stops] == ["o1", "o2", "o3"]
    assert [s.vehicle_id for s in expected.stops] == ["v1", "v1", "v2"]
    want = {
        "o1": (visits["o1"].start_s // H - 7) / 100,
        "o2": 2 * (visits["o2"].start_s // H - 7) / 100,
        "o3": (visits["o3"].start_s // H - 7) / 100,
    }
    assert dict(expected.by_order) == pytest.approx(want)
    assert want["o2"] == pytest.approx(0.16)  # the window held it at 15:00
    assert expected.total == pytest.approx(math.fsum(want.values()))
    assert expected.cost_cents == round(expected.total * 800)
    assert expected.redelivery_cents == 800


def test_the_risk_is_asked_for_the_customer_its_zip_and_the_moment() -> None:
    """Customer id, zip (None when blank), the day's date at the start time, weight and volume."""
    day, risk = _day(), HourRisk()
    expected_failures(day, risk, DAY, "Europe/Helsinki", redelivery_cents=1_250)
    first, second, third = risk.asked
    start = day.evaluation.plan.routes[0].visits[0].start_s
    assert first[:2] == ("home", "00100") and second[:2] == ("away", "00200")
    assert third[:2] == (None, None)
    when = first[2]
    assert when.date() == DAY and when.tzinfo == ZoneInfo("Europe/Helsinki")
    assert when.hour * H + when.minute * 60 + when.second == start
    assert first[3:] == (1000, 1000)  # plan_problems: 1 parcel = 1 kg, 1 l


def test_an_evaluation_and_its_problem_give_the_same_answer() -> None:
    """The evaluation path needs the problem, and then agrees with the day path."""
    day = _day()
    from_day = expected_failures(day, HourRisk(), DAY, redelivery_cents=1_000)
    from_parts = expected_failures(
        day.evaluation, HourRisk(), DAY, problem=day.problem, redelivery_cents=1_000
    )
    assert from_parts == from_day and from_day.cost_cents == round(from_day.total * 1_000)
    with pytest.raises(ValueError, match="problem"):
        expected_failures(day.evaluation, HourRisk(), DAY)


def test_a_risk_outside_zero_one_or_a_negative_cost_is_refused() -> None:
    """A broken risk source or a negative re-delivery cost is a clear error, not a number."""

    class Broken(HourRisk):
        def p_fail(self, *args: object, **kwargs: object) -> float:  # type: ignore[override]
            return float("nan")

    with pytest.raises(ValueError, match="order o1"):
        expected_failures(_day(), Broken(), DAY)
    with pytest.raises(ValueError, match="negative"):
        expected_failures(_day(), HourRisk(), DAY, redelivery_cents=-1)


def test_plan_json_reports_expected_failures_only_when_assessed() -> None:
    """Assessed: summary totals and each visit's p_fail; not assessed: neither key appears."""
    day = _day()
    plain = plan_document(day)
    assert "expected_failed_attempts" not in plain["summary"]
    assert all("p_fail" not in v for r in plain["routes"] for v in r["visits"])
    assert [v["customer_id"] for r in plain["routes"] for v in r["visits"]] == [
        "home",
        "away",
        None,
    ]
    assert expected_of(day) is None
    assessed = assess(day, HourRisk(), DAY, redelivery_cents=900)
    assert isinstance(assessed, AssessedDayPlan) and assessed.evaluation is day.evaluation
    expected = expected_of(assessed)
    assert expected is not None
    document = plan_document(assessed)
    summary = document["summary"]
    assert summary["expected_failed_attempts"] == round(expected.total, 3)
    assert summary["expected_failure_cost"] == round(expected.cost_cents / 100, 2)
    assert summary["redelivery_cost"] == 9.0
    p_fail = {v["order_id"]: v["p_fail"] for r in document["routes"] for v in r["visits"]}
    assert p_fail == {k: round(p, 4) for k, p in expected.by_order.items()}
    assert {k: v for k, v in document.items() if k != "summary" and k != "routes"} == {
        k: v for k, v in plain.items() if k != "summary" and k != "routes"
    }
