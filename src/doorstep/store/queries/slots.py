"""Queries of slot offers: a day's current routes with their stops, its latest plan, the fleet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.store import tables as t
from doorstep.store.queries.dispatch import current_routes


def day_routes(db: Session, day: str) -> list[t.Route]:
    """The current version of every published route of ``day``, by id."""
    return current_routes(db, day)


def route_stops(db: Session, route_ids: Sequence[str]) -> list[tuple[str, t.Order]]:
    """(route id, order) of every stop of ``route_ids``, by route then sequence."""
    if not route_ids:
        return []
    rows = db.execute(
        select(t.Stop.route_id, t.Order)
        .join(t.Order, t.Order.id == t.Stop.order_id)
        .where(t.Stop.route_id.in_(list(route_ids)))
        .order_by(t.Stop.route_id, t.Stop.seq)
    ).all()
    return [(route_id, row) for route_id, row in rows]


def plan_breaks(db: Session, plan_ids: Sequence[str]) -> dict[tuple[str, str], int]:
    """(plan id, vehicle id) -> the stop (1 = first) the plan puts the break after."""
    out: dict[tuple[str, str], int] = {}
    if not plan_ids:
        return out
    rows = db.execute(
        select(t.Plan.id, t.Plan.document).where(t.Plan.id.in_(list(set(plan_ids))))
    ).all()
    for plan_id, document in rows:
        for entry in (document or {}).get("routes", []):
            found = entry.get("break")
            if isinstance(found, dict) and "after_stop" in found:
                out[(plan_id, str(entry.get("vehicle_id")))] = int(found["after_stop"])
    return out


def latest_done_plan(db: Session, day: str) -> str | None:
    """The id of ``day``'s latest finished (not yet published) plan, if any."""
    return db.scalar(
        select(t.Plan.id)
        .where(t.Plan.day == day, t.Plan.status == "done", t.Plan.document.is_not(None))
        .order_by(t.Plan.finished_at.desc(), t.Plan.id.desc())
        .limit(1)
    )


def plan_document(db: Session, plan_id: str) -> dict[str, Any]:
    """The ``plan.json`` document of a plan (empty when it has none)."""
    return db.scalar(select(t.Plan.document).where(t.Plan.id == plan_id)) or {}


def orders_by_ids(db: Session, ids: Sequence[str]) -> dict[str, t.Order]:
    """Order id -> stored order, for ``ids``."""
    if not ids:
        return {}
    return {o.id: o for o in db.scalars(select(t.Order).where(t.Order.id.in_(list(ids))))}


def fleet_rows(db: Session) -> tuple[list[t.Depot], list[t.Vehicle]]:
    """Every depot and vehicle, by id."""
    depots = list(db.scalars(select(t.Depot).order_by(t.Depot.id)))
    vehicles = list(db.scalars(select(t.Vehicle).order_by(t.Vehicle.id)))
    return depots, vehicles
