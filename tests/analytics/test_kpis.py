"""Every KPI of a small day worked out by hand (tests/analytics/kpi_day.py draws the day).

The same numbers from the store on SQLite and on PostgreSQL (``database_url``)
and from the Parquet export read by DuckDB. Times are seconds after local
midnight: 8:05 is 29,100.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from analytics.kpi_day import DAY, seed_day
from doorstep.analytics.facts import Facts, load_facts, write_parquet
from doorstep.analytics.kpis import (
    FIELDS,
    check_range,
    compute_kpis,
    kpi_answer,
    total,
)
from doorstep.service.refusal import RefusedError
from doorstep.store.database import transaction

ZONE = "Europe/Helsinki"

# ETAs given at departure (the dispatch's ETA rule replayed from the departure):
#   R1 leaves 29,100 (8:05). A: 29,100 + 1,800 = 30,900, waits for 9:00 (32,400),
#   free 32,700. B: 32,700 + 600 = 33,300, free 33,600. C: 33,600 + 600 = 34,200.
#   R2.v2 leaves 30,000 (8:20). D: 30,000 + 1,200 = 31,200, free 31,800.
#   E: 31,800 + 900 = 32,700, free 33,000. F: 33,000 + 600 = 33,600, free 33,900.
#   G: 33,900 + 300 = 34,200.
# Actual arrivals (arrival scan, else the finish): A 31,200 (err 300), B 34,500
#   (1,200), C 33,300 (900), D 31,500 (no arrival scan: its delivery; 300),
#   E 33,000 (300), F 34,200 (600); G never visited.
# Duty: R1 29,100 -> last finish 34,800 (B) + return leg (38,100 - (36,000 + 300)
#   = 1,800) = 36,600: 7,500 s. R2.v2 30,000 -> 35,700 (F) + (34,500 - 33,300 =
#   1,200) = 36,900: 6,900 s, 2,700 s past its 09:30 shift end.
# Cost (cents): R1 5,000 + 40 * 30 + 2,500 * 7,500 / 3,600 = 11,408.33;
#   R2.v2 3,000 + 50 * 20 + 2,000 * 6,900 / 3,600 = 7,833.33.
TOTAL: dict[str, Any] = {
    "stops": 7,  # A B C on R1, D E F G on R2.v2; R2's copies of D and E not again
    "stops_visited": 6,  # all but G
    "parcels": 8,  # A-1 A-2 B-1 C-1 D-1 E-1 F-1 G-1
    "parcels_attempted": 7,  # all but G-1 (brought back untried)
    "parcels_delivered": 5,  # A-1 A-2 C-1 D-1 F-1
    "parcels_picked_up": 1,  # E-1
    "parcel_attempts": 8,  # 6 handovers + 2 failed scans (B-1, F-1)
    "failed_attempts": 2,
    "stops_on_time": 5,  # C finished 09:20 before its 10:00 window: not on time
    "on_time_rate": 5 / 6,
    # first attempts in the range: A-1 A-2 B-1 C-1 E-1 F-1 (D-1 failed the day
    # before); handed over at once: A-1 A-2 C-1 E-1
    "first_attempt_success_rate": 4 / 6,
    "attempts_per_delivered_parcel": (1 + 1 + 1 + 2 + 2) / 5,  # D-1 and F-1: 2nd attempt
    "failures_by_reason": {"no_access": 1, "not_home": 1},  # D-1's was the day before
    "km": 50.0,
    "km_per_stop": 50 / 7,
    "km_per_parcel": 50 / 6,  # 5 delivered + 1 picked up
    "duty_h": (7_500 + 6_900) / 3_600,
    "overtime_h": 2_700 / 3_600,
    "stops_per_hour": 6 / 4,
    "cost": (11_408 + 1 / 3 + 7_833 + 1 / 3) / 100,
    "cost_per_parcel": (11_408 + 1 / 3 + 7_833 + 1 / 3) / 100 / 6,
    "eta_mae_min": (300 + 1_200 + 900 + 300 + 300 + 600) / 6 / 60,
    "eta_within_15_rate": 5 / 6,  # all but B (20 min); C is exactly 15 min
    # with both scans: A 25 min (waited for the window), B 5, C 5, E 5, F 25
    # (failed, came back and delivered); planned 5 min each
    "service_min_actual": (25 + 5 + 5 + 5 + 25) / 5,
    "service_min_planned": 5.0,
    # R1 done A, C, B against A, B, C: only A in place; R2.v2 D, E, F in order
    "sequence_adherence": 4 / 6,
    "parcels_returned": 2,  # B-1 after its failure, G-1 untried
    # D-1: failed 06-03 14:00, delivered 06-04 08:45 = 18.75 h; F-1: 09:35 -> 09:55
    "redelivery_lead_time_h": (18.75 + 1 / 3) / 2,
    "exceptions_opened": 2,  # X1, X2 (X0 was the day before)
    "exceptions_resolved": 1,
    "exception_resolve_min": 30.0,  # X1 09:00 -> 09:30
    "proposals_accepted": 1,
    "proposals_rejected": 1,
}

BY_DRIVER: dict[str, dict[str, Any]] = {
    "d1": {
        "stops": 3,
        "parcels_attempted": 4,
        "parcels_delivered": 3,
        "on_time_rate": 2 / 3,  # A, B; not C
        "first_attempt_success_rate": 3 / 4,  # A-1 A-2 C-1 of A-1 A-2 B-1 C-1
        "attempts_per_delivered_parcel": 1.0,
        "failures_by_reason": {"not_home": 1},
        "km_per_stop": 10.0,
        "km_per_parcel": 10.0,
        "duty_h": 7_500 / 3_600,
        "overtime_h": 0.0,
        "cost_per_parcel": (11_408 + 1 / 3) / 100 / 3,
        "eta_mae_min": (300 + 1_200 + 900) / 3 / 60,
        "sequence_adherence": 1 / 3,
        "redelivery_lead_time_h": None,
        "exceptions_opened": 1,  # X2
        "exception_resolve_min": None,
        "proposals_accepted": 0,
    },
    "d2": {
        "stops": 4,
        "parcels_attempted": 3,
        "parcels_delivered": 2,
        "on_time_rate": 1.0,  # D, E (no window), F 09:55 inside 09:00-10:00
        "first_attempt_success_rate": 1 / 2,  # E-1 of E-1 F-1
        "attempts_per_delivered_parcel": 2.0,
        "failures_by_reason": {"no_access": 1},
        "km_per_stop": 5.0,
        "km_per_parcel": 20 / 3,
        "duty_h": 6_900 / 3_600,
        "overtime_h": 0.75,
        "cost_per_parcel": (7_833 + 1 / 3) / 100 / 3,
        "eta_mae_min": (300 + 300 + 600) / 3 / 60,
        "sequence_adherence": 1.0,
        "redelivery_lead_time_h": (18.75 + 1 / 3) / 2,
        "exceptions_opened": 1,  # X1 was raised on R2, now R2.v2
        "exception_resolve_min": 30.0,
        "proposals_accepted": 1,
    },
}


def _same(got: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if isinstance(value, float):
            assert got[name] == pytest.approx(value), name
        else:
            assert got[name] == value, name


@pytest.fixture
def facts(sessions: sessionmaker[Session]) -> Facts:
    """The hand-worked day, written to the store and read back as facts."""
    with transaction(sessions) as db:
        seed_day(db)
    with sessions() as db:
        return load_facts(db, DAY, DAY, ZONE)


def test_every_kpi_of_the_day_as_worked_out_by_hand(facts: Facts) -> None:
    """The totals of the day equal the hand arithmetic, on SQLite and on PostgreSQL."""
    got = total(facts)
    assert set(got) == set(FIELDS)
    assert set(TOTAL) == set(FIELDS), "every KPI is worked out by hand"
    _same(got, TOTAL)


def test_the_kpis_by_driver_as_worked_out_by_hand(facts: Facts) -> None:
    """Grouped by driver: d1's route R1 and d2's R2.v2 (its exception on R2 too)."""
    rows = compute_kpis(facts, "driver")
    assert [r["key"] for r in rows] == ["d1", "d2"]
    for row in rows:
        _same(row, BY_DRIVER[row["key"]])


def test_groups_add_up_to_the_total(facts: Facts) -> None:
    """By area (route km shared out per stop), weekday and hour: counts and km add up."""
    areas = {r["key"]: r for r in compute_kpis(facts, "area")}
    # 00100: A, B (R1, 10 km a stop); 00200: C (R1) + D (R2.v2, 5 km); 00300: E F G (5 each)
    assert {k: r["km"] for k, r in areas.items()} == pytest.approx(
        {"00100": 20.0, "00200": 15.0, "00300": 15.0}
    )
    assert {k: r["stops"] for k, r in areas.items()} == {"00100": 2, "00200": 2, "00300": 3}
    for group_by in ("area", "hour", "customer", "route", "vehicle", "depot", "weekday"):
        rows = compute_kpis(facts, group_by)
        for name in ("stops", "parcels_delivered", "failed_attempts", "exceptions_opened"):
            assert sum(r[name] for r in rows) == TOTAL[name], (group_by, name)
        assert sum(r["cost"] for r in rows) == pytest.approx(TOTAL["cost"]), group_by
    assert [r["key"] for r in compute_kpis(facts, "weekday")] == ["Tue"]
    customers = {r["key"]: r["stops"] for r in compute_kpis(facts, "customer")}
    # e-mail (lower case), else phone, else the order id; E and G share an e-mail
    assert customers == {
        "+358401": 1,
        "C": 1,
        "F": 1,
        "ann@example.com": 1,
        "dan@example.com": 1,
        "eve@example.com": 2,
    }


def test_the_parquet_export_gives_the_same_numbers(facts: Facts, tmp_path: Path) -> None:
    """DuckDB over the Parquet files answers exactly what it answers over the Arrow tables."""
    write_parquet(facts, tmp_path)
    for group_by in (None, "driver", "area", "hour"):
        assert compute_kpis(tmp_path, group_by) == compute_kpis(facts, group_by), group_by
    _same(total(tmp_path), TOTAL)


def test_a_driver_sees_only_its_own_figures(sessions: sessionmaker[Session]) -> None:
    """kpi_answer for d1: R1 only, and its exception X2; a range over 31 days is refused."""
    with transaction(sessions) as db:
        seed_day(db)
    day = date.fromisoformat(DAY)
    with sessions() as db:
        answer = kpi_answer(db, day, day, None, ZONE, driver_id="d1")
        assert answer["total"]["stops"] == 3
        assert answer["total"]["exceptions_opened"] == 1
        with pytest.raises(RefusedError) as refused:
            kpi_answer(db, day, date(2030, 12, 31), None, ZONE, driver_id="d1")
    assert refused.value.code == "range_too_long"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_empty_range_answers_zeros_and_no_ratios(sessions: sessionmaker[Session]) -> None:
    """A range without routes: one total row, counts 0, ratios None, no groups."""
    with sessions() as db:
        facts = load_facts(db, "2030-01-01", "2030-01-31", ZONE)
    got = total(facts)
    assert got["stops"] == 0 and got["km"] == 0 and got["failures_by_reason"] == {}
    assert got["on_time_rate"] is None and got["cost_per_parcel"] is None
    assert compute_kpis(facts, "driver") == []


def test_bad_filters_are_refused_with_a_code() -> None:
    """An unknown group_by, a backwards range and a too long one each have their code."""
    empty = Facts("2030-01-01", "2030-01-01")
    with pytest.raises(RefusedError) as refused:
        compute_kpis(empty, "planet")
    assert refused.value.code == "unknown_group_by"
    with pytest.raises(RefusedError) as refused:
        check_range(date(2030, 1, 2), date(2030, 1, 1))
    assert refused.value.code == "range_backwards"
    check_range(date(2030, 1, 1), date(2030, 12, 31))  # 365 days
    with pytest.raises(RefusedError) as refused:
        check_range(date(2030, 1, 1), date(2031, 1, 2))  # 367 days
    assert refused.value.code == "range_too_long"
