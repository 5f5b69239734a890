"""``GET /v1/kpis``: the answer's shape, grouping, a driver's own figures and the 4xx codes."""

from __future__ import annotations

import pytest

from analytics.kpi_day import DAY, seed_day
from doorstep.analytics.kpis import FIELDS
from doorstep.api.security import Role
from doorstep.store.database import transaction

from .conftest import Service


@pytest.fixture
def day(service: Service) -> Service:
    """The service with the hand-worked day of tests/analytics/kpi_day.py in its store."""
    with transaction(service.app.state.sessions) as db:  # type: ignore[attr-defined]
        seed_day(db)
    return service


def test_the_totals_and_groups_of_a_day(day: Service) -> None:
    """A planner gets from, to, group_by, total (every KPI) and one group per driver."""
    headers = day.key(Role.PLANNER)
    answer = day.client.get(f"/v1/kpis?from={DAY}&to={DAY}&group_by=driver", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"from", "to", "group_by", "total", "groups"}
    assert (body["from"], body["to"], body["group_by"]) == (DAY, DAY, "driver")
    assert set(body["total"]) == set(FIELDS)
    total = body["total"]
    assert (total["stops"], total["parcels_attempted"], total["parcels_delivered"]) == (7, 7, 5)
    assert total["on_time_rate"] == pytest.approx(5 / 6)
    assert total["first_attempt_success_rate"] == pytest.approx(4 / 6)
    assert total["failures_by_reason"] == {"no_access": 1, "not_home": 1}
    assert total["km_per_stop"] == pytest.approx(50 / 7)
    assert total["eta_mae_min"] == pytest.approx(10.0)
    assert [g["key"] for g in body["groups"]] == ["d1", "d2"]
    assert [g["stops"] for g in body["groups"]] == [3, 4]
    assert set(body["groups"][0]) == {"key", *FIELDS}


def test_without_group_by_there_are_no_groups(day: Service) -> None:
    """No group_by: the total, an empty groups list, and to may equal from."""
    headers = day.key(Role.DISPATCHER)
    body = day.client.get(f"/v1/kpis?from={DAY}&to={DAY}", headers=headers).json()
    assert body["group_by"] is None and body["groups"] == []
    assert body["total"]["stops"] == 7


def test_a_driver_gets_only_its_own_figures(day: Service) -> None:
    """d1's key: its route R1 only (3 stops, its 4 parcels), grouped by hour if it likes."""
    headers = day.key(Role.DRIVER, "d1")
    body = day.client.get(f"/v1/kpis?from={DAY}&to={DAY}&group_by=hour", headers=headers).json()
    assert body["total"]["stops"] == 3
    assert body["total"]["parcels_attempted"] == 4
    assert sum(g["stops"] for g in body["groups"]) == 3


@pytest.mark.parametrize(
    ("query", "role", "code"),
    [
        (f"from={DAY}&to={DAY}&group_by=planet", Role.PLANNER, "unknown_group_by"),
        ("from=2030-06-04&to=2030-06-03", Role.PLANNER, "range_backwards"),
        ("from=2030-01-01&to=2031-01-02", Role.DISPATCHER, "range_too_long"),
        ("from=2030-01-01&to=2030-12-31", Role.DRIVER, "range_too_long"),
        ("from=2030-06-01&to=2030-07-02", Role.DRIVER, "range_too_long"),
        ("from=0001-01-01&to=0001-01-02", Role.PLANNER, "day_out_of_range"),
    ],
)
def test_bad_filters_answer_a_problem_with_a_code(
    service: Service, query: str, role: Role, code: str
) -> None:
    """An unknown group_by, a backwards range, over 366 days, a driver over 31 days: 422."""
    if role is Role.DRIVER:
        planner = service.key(Role.PLANNER)
        service.client.post("/v1/drivers", json={"id": "d9"}, headers=planner)
    headers = service.key(role, "d9" if role is Role.DRIVER else None)
    answer = service.client.get(f"/v1/kpis?{query}", headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code


def test_a_driver_may_ask_for_a_month(service: Service) -> None:
    """31 days is a driver's limit, not beyond: the answer is 200 (and empty)."""
    planner = service.key(Role.PLANNER)
    service.client.post("/v1/drivers", json={"id": "d9"}, headers=planner)
    headers = service.key(Role.DRIVER, "d9")
    answer = service.client.get("/v1/kpis?from=2030-06-01&to=2030-07-01", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"]["stops"] == 0


def test_a_day_that_is_not_a_date_is_refused(service: Service) -> None:
    """from=yesterday is a 422 naming the field."""
    headers = service.key(Role.PLANNER)
    answer = service.client.get("/v1/kpis?from=yesterday&to=2030-06-01", headers=headers)
    assert answer.status_code == 422
    assert "from" in answer.text
