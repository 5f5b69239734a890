"""The facts of the hand-worked day (tests/analytics/kpi_day.py), column by column."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from analytics.kpi_day import DAY, seed_day
from doorstep.analytics.facts import SCHEMAS, Facts, customer_key, load_facts
from doorstep.store.database import transaction

ZONE = "Europe/Helsinki"


@pytest.fixture
def facts(sessions: sessionmaker[Session]) -> Facts:
    """The day, written to the store and read back."""
    with transaction(sessions) as db:
        seed_day(db)
    with sessions() as db:
        return load_facts(db, DAY, DAY, ZONE)


def test_stops_are_the_current_versions_with_what_happened(facts: Facts) -> None:
    """Seven stops (not R2's copies), departures, ETAs at departure, scans, outcomes, attempts."""
    stops = facts["stops"]
    assert stops.schema == SCHEMAS["stops"]
    rows = {r["order_id"]: r for r in stops.to_pylist()}
    assert sorted(rows) == ["A", "B", "C", "D", "E", "F", "G"]
    assert {r["route_id"] for r in rows.values()} == {"R1", "R2.v2"}
    assert rows["A"]["departure_s"] == 29_100 and rows["D"]["departure_s"] == 30_000
    etas = {k: r["eta_departure_s"] for k, r in rows.items()}
    assert etas == {
        "A": 30_900,
        "B": 33_300,
        "C": 34_200,
        "D": 31_200,
        "E": 32_700,
        "F": 33_600,
        "G": 34_200,
    }
    outcomes = {k: r["outcome"] for k, r in rows.items()}
    assert outcomes == {
        "A": "delivered",
        "B": "failed_attempt",
        "C": "delivered",
        "D": "delivered",
        "E": "picked_up",
        "F": "delivered",  # failed at 09:35, delivered at 09:55
        "G": "returned",
    }
    assert (rows["B"]["arrived_s"], rows["B"]["finished_s"]) == (34_500, 34_800)
    assert rows["B"]["failure_reason"] == "not_home"
    assert rows["B"]["finished_s"] < 11 * 3600, "the return to the depot ends no visit"
    assert (rows["F"]["arrived_s"], rows["F"]["finished_s"]) == (34_200, 35_700)
    assert rows["D"]["arrived_s"] is None and rows["D"]["attempt"] == 2
    assert rows["G"]["finished_s"] is None and rows["G"]["hour"] == 9
    assert rows["A"]["parcels"] == 2 and rows["A"]["weekday"] == "Tue"
    assert rows["A"]["customer"] == "ann@example.com" and rows["B"]["customer"] == "+358401"


def test_parcels_carry_their_attempts(facts: Facts) -> None:
    """Each parcel: failures before and on the day, handover and first failure moments."""
    parcels = {r["parcel_id"]: r for r in facts["parcels"].to_pylist()}
    assert len(parcels) == 8
    d = parcels["D-1"]
    assert (d["prior_failures"], d["failures"], d["delivered"]) == (1, 0, True)
    assert d["done_epoch_s"] - d["first_failed_epoch_s"] == 18 * 3600 + 45 * 60
    f = parcels["F-1"]
    assert (f["prior_failures"], f["failures"], f["delivered"]) == (0, 1, True)
    assert f["done_epoch_s"] - f["first_failed_epoch_s"] == 20 * 60
    assert parcels["G-1"]["returned"] and not parcels["G-1"]["attempted"]
    assert parcels["E-1"]["picked_up"] and not parcels["E-1"]["delivered"]


def test_events_are_the_scans_of_the_days(facts: Facts) -> None:
    """37 scans on the day (the day before's failure is not), with local day and clock."""
    events = facts["events"].to_pylist()
    assert len(events) == 37
    assert {e["day"] for e in events} == {DAY}
    first = min(events, key=lambda e: e["clock_s"])
    assert first["clock_s"] == 7 * 3600 and first["kind"] == "scanned_at_depot"


def test_exceptions_follow_their_route_to_its_current_version(facts: Facts) -> None:
    """X1 was raised on R2: it is grouped with R2.v2 and driver d2; X0 is another day."""
    exceptions = {e["exception_id"]: e for e in facts["exceptions"].to_pylist()}
    assert sorted(exceptions) == ["X1", "X2"]
    assert (exceptions["X1"]["route_id"], exceptions["X1"]["driver_id"]) == ("R2.v2", "d2")
    assert exceptions["X1"]["zip"] == "00300" and exceptions["X1"]["hour"] == 9
    decisions = facts["decisions"].to_pylist()
    assert [(d["decision"], d["driver_id"]) for d in decisions] == [
        ("rejected", "d2"),
        ("accepted", "d2"),
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_driver_filter_keeps_only_its_routes(sessions: sessionmaker[Session]) -> None:
    """driver_id=d2: R2.v2's stops, parcels, scans, exception and decisions only."""
    with transaction(sessions) as db:
        seed_day(db)
    with sessions() as db:
        mine = load_facts(db, DAY, DAY, ZONE, driver_id="d2")
    assert {r["route_id"] for r in mine["stops"].to_pylist()} == {"R2.v2"}
    assert mine["parcels"].num_rows == 4
    assert {e["order_id"] for e in mine["events"].to_pylist()} <= {"D", "E", "F", "G"}
    assert [e["exception_id"] for e in mine["exceptions"].to_pylist()] == ["X1"]
    assert mine["decisions"].num_rows == 2


def test_the_customer_is_the_email_then_the_phone_then_the_order() -> None:
    """customer_key: e-mail lower-cased and trimmed, else the phone, else the order id."""
    assert customer_key("O1", " Ann@X.fi ", "+358") == "ann@x.fi"
    assert customer_key("O1", "", " +358 ") == "+358"
    assert customer_key("O1", None, None) == "O1"


def test_a_second_visit_the_same_day_is_one_stop(sessions: sessionmaker[Session]) -> None:
    """An accepted retry_today puts the order on its route twice: still one stop, one parcel row.

    F failed at 09:35 and was delivered at 09:55; here its route also holds the second visit
    the dispatcher added. Its parcel is counted once, with both scans; first arrival, last
    finish, the first visit's place in the route.
    """
    from doorstep.store import tables as t

    with transaction(sessions) as db:
        seed_day(db)
        db.add(
            t.Stop(
                route_id="R2.v2",
                seq=5,
                order_id="F",
                leg_s=300,
                service_s=300,
                planned_arrival_s=35_400,
                planned_start_s=35_400,
                eta_s=35_400,
            )
        )
    with sessions() as db:
        facts = load_facts(db, DAY, DAY, ZONE)
    stops = [r for r in facts["stops"].to_pylist() if r["order_id"] == "F"]
    assert len(stops) == 1
    assert (stops[0]["seq"], stops[0]["outcome"]) == (3, "delivered")
    assert (stops[0]["arrived_s"], stops[0]["finished_s"]) == (34_200, 35_700)
    parcels = [r for r in facts["parcels"].to_pylist() if r["parcel_id"] == "F-1"]
    assert len(parcels) == 1 and parcels[0]["failures"] == 1 and parcels[0]["delivered"]
