"""A simulated day's events fed through the real ingest and store give the simulator's KPIs."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from doorstep.analytics.facts import day_start, load_facts
from doorstep.analytics.kpis import FIELDS, total
from doorstep.dispatch.ingest import ingest
from doorstep.learn.risk import ConstantRisk
from doorstep.simulate.day import DayResult, simulate_day
from doorstep.simulate.draws import Draws
from doorstep.simulate.params import NO_NOISE, SimulationParameters
from doorstep.simulate.plan_input import read_plan
from doorstep.simulate.record import day_events, parcel_ids, run_label
from doorstep.simulate.runner import kpis_of_runs
from doorstep.store import tables as t
from doorstep.store.database import make_engine, session_factory, transaction, upgrade

from .conftest import dispatcher

ZONE = "Europe/Helsinki"
DAY = date(2030, 6, 4)


def _publish(db: Session, result: DayResult) -> None:
    """Write the plan's routes into the store as a published plan (the service's tables)."""
    db.add(t.Depot(id="D", lat=60.0, lon=25.0))
    db.add(t.Plan(id="P", day=DAY.isoformat(), status="published"))
    db.flush()
    for done in result.routes:
        route = done.route
        db.add(t.Vehicle(id=route.vehicle_id, depot_id="D", shift_end_s=route.end_s))
        db.flush()
        db.add(t.Driver(id=f"{run_label(result.run)}-{route.vehicle_id}"))
        for stop in route.stops:
            db.add(
                t.Order(
                    id=stop.order_id,
                    kind=stop.kind,
                    lat=stop.lat,
                    lon=stop.lon,
                    parcels=stop.parcels,
                    tracking_token=f"tok-{stop.order_id}",
                )
            )
        db.flush()
        for stop in route.stops:
            for parcel in parcel_ids(stop.order_id, stop.parcels):
                db.add(t.Parcel(id=parcel, order_id=stop.order_id))
        db.add(
            t.Route(
                id=route.vehicle_id,
                plan_id="P",
                vehicle_id=route.vehicle_id,
                driver_id=f"{run_label(result.run)}-{route.vehicle_id}",
                day=DAY.isoformat(),
                state="published",
                start_s=route.start_s,
                end_s=route.end_s,
                distance_m=route.distance_m,
            )
        )
        db.flush()
        for stop in route.stops:
            db.add(
                t.Stop(
                    route_id=route.vehicle_id,
                    seq=stop.seq,
                    order_id=stop.order_id,
                    leg_s=stop.leg_s,
                    service_s=stop.service_s,
                    window_start_s=stop.window_start_s,
                    window_end_s=stop.window_end_s,
                    planned_arrival_s=stop.planned_arrival_s,
                    planned_start_s=stop.planned_start_s,
                    eta_s=stop.planned_arrival_s,
                )
            )
    db.flush()


def _stored(result: DayResult, tmp_path: Path) -> dict[str, Any]:
    """The KPIs of ``result``'s scans ingested into a SQLite store and read back."""
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = session_factory(engine)
    zone = ZoneInfo(ZONE)
    with transaction(sessions) as db:
        _publish(db, result)
    events = day_events(result, ZONE)
    with transaction(sessions) as db:
        outcomes = ingest(
            db, events, timezone=zone, now=day_start(DAY.isoformat(), zone) + timedelta(hours=23)
        )
    assert all(o.status == "accepted" for o in outcomes), [o for o in outcomes][:3]
    with transaction(sessions) as db:
        stored = total(load_facts(db, DAY.isoformat(), DAY.isoformat(), ZONE))
    engine.dispose()
    return stored


def test_simulated_events_through_the_store_give_the_same_kpis(
    plan_path: Path, tmp_path: Path
) -> None:
    """Ingested scans read back by load_facts give every KPI the simulator's facts give."""
    plan = read_plan(plan_path)
    result = simulate_day(plan, DAY, Draws(12, 1), SimulationParameters(), ConstantRisk(0.5))
    assert any(not s.home for r in result.routes for s in r.stops)
    stored = _stored(result, tmp_path)
    simulated = kpis_of_runs([result], ZONE)[0]
    assert 0 < simulated["failed_attempts"] < simulated["parcels"]
    assert simulated["eta_mae_min"] > 0 and simulated["overtime_h"] is not None
    for name in FIELDS:
        assert stored[name] == simulated[name] or abs(stored[name] - simulated[name]) < 1e-9, name


RETRY_KPIS = (
    "parcels_attempted",
    "parcels_delivered",
    "failed_attempts",
    "parcel_attempts",
    "first_attempt_success_rate",
    "attempts_per_delivered_parcel",
    "failures_by_reason",
    "parcels_returned",
    "redelivery_lead_time_h",
    "stops_visited",
    "on_time_rate",
)
"""What a same-day retry changes (the ETAs of the stops after it follow the re-plan's
legs in the simulator and the published plan's in this store, so they are left out)."""


def test_a_day_with_same_day_retries_gives_the_stores_attempt_kpis(
    plan_path: Path, tmp_path: Path
) -> None:
    """Second visits scanned as a driver would: the store counts attempts as the simulator does.

    Retried parcels are failed first attempts, delivered in the end with two attempts;
    the scans are all accepted by the real ingest (a second ``arrived_at_stop`` after a
    ``failed_attempt``).
    """
    plan = read_plan(plan_path)
    result = simulate_day(
        plan, DAY, Draws(1, 1), NO_NOISE, ConstantRisk(0.3), dispatcher=dispatcher()
    )
    assert result.retried > 0 and result.delivered_on_retry > 0
    stored = _stored(result, tmp_path)
    simulated = kpis_of_runs([result], ZONE)[0]
    assert simulated["attempts_per_delivered_parcel"] > 1
    assert simulated["redelivery_lead_time_h"] is not None
    for name in RETRY_KPIS:
        assert stored[name] == simulated[name] or abs(stored[name] - simulated[name]) < 1e-9, name
