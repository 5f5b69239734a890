"""``POST /v1/slots`` through the service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from doorstep.api.security import Role
from doorstep.service.slots import clear_cache
from service_data import DEPOT, VEHICLE

from .conftest import Service
from .test_dispatch import DAY, H, published_day

NEAR = {"lat": 60.1712, "lon": 24.9421}
"""A point among the published day's orders."""


def ask(service: Service, headers: dict[str, str], **body: Any) -> Any:
    clear_cache()  # each test's database is fresh; the cache is per process
    return service.client.post("/v1/slots", json=NEAR | body, headers=headers)


def test_slots_join_the_published_routes_ranked(service: Service) -> None:
    """A one-parcel order is offered slots on the published routes, best first, with the rest."""
    _, routes = published_day(service)
    shop = service.key(Role.INTEGRATION)
    answer = ask(service, shop, from_day=DAY.isoformat(), days=1, customer_id="c1", service_s=120)
    assert answer.status_code == 200, answer.text
    offers = answer.json()
    assert offers, "the vans pass by all day"
    assert [o["rank"] for o in offers] == list(range(1, len(offers) + 1))
    ids = {r["id"] for r in routes}
    assert all(o["route_id"] in ids and o["day"] == DAY.isoformat() for o in offers)
    assert {o["start_s"] for o in offers} <= {8 * H, 10 * H, 12 * H, 14 * H, 16 * H}  # off at 17
    assert all(0 <= o["capacity_left"]["parcels"] <= 7 for o in offers)
    assert all(abs(o["p_success"] - (1 - 0.0444)) < 1e-9 for o in offers)
    costs = [o["marginal_cost"] for o in offers]
    assert costs == sorted(costs)  # one risk everywhere: the cheapest first
    assert (
        offers[0]["start"] == "08:00" or offers[0]["marginal_cost"] <= offers[-1]["marginal_cost"]
    )


def test_a_parcel_no_van_can_carry_gets_no_slot(service: Service) -> None:
    """Nine parcels on vans of eight: nothing is offered (an empty list, not an error)."""
    published_day(service)
    planner = service.key(Role.PLANNER)
    answer = ask(service, planner, from_day=DAY.isoformat(), days=1, parcels=9)
    assert answer.status_code == 200, answer.text
    assert answer.json() == []


def test_a_day_with_no_plan_offers_fresh_routes(service: Service) -> None:
    """With only the fleet, every slot inside the shift is a fresh route at its fixed cost."""
    c = service.client
    planner = service.key(Role.PLANNER)
    c.post("/v1/depots", json=DEPOT, headers=planner)
    assert c.post("/v1/vehicles", json=VEHICLE, headers=planner).status_code == 201
    answer = ask(service, planner, from_day=DAY.isoformat(), days=2)
    assert answer.status_code == 200, answer.text
    offers = answer.json()
    days = {DAY.isoformat(), (DAY + timedelta(days=1)).isoformat()}
    assert {o["day"] for o in offers} == days
    assert len(offers) == 10  # 08-10 ... 16-18 on each day (back by 17:00: 16-18 fits)
    assert all(o["route_id"] is None and o["vehicle_id"] == "van1" for o in offers)
    assert all(o["marginal_cost"] >= VEHICLE["cost_fixed"] / 100 for o in offers)
    assert offers[0]["capacity_left"] == {"parcels": 49, "weight_g": None, "volume_ml": None}


def test_bad_requests_get_a_code(service: Service) -> None:
    """A day in the past, a latitude off the globe and no fleet: 422 with a code each."""
    planner = service.key(Role.PLANNER)
    past = ask(service, planner, from_day="2020-01-01")
    assert past.status_code == 422 and past.json()["code"] == "from_day_past"
    assert "from_day" in past.json()["detail"]
    wrong = ask(service, planner, lat=100)
    assert wrong.status_code == 422 and wrong.json()["code"] == "validation"
    empty = ask(service, planner, from_day=DAY.isoformat())
    assert empty.status_code == 422 and empty.json()["code"] == "no_fleet"
