"""Small service fixtures: a Helsinki depot, a van, a few orders near it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from doorstep.domain import Load, Location, TimeWindow
from doorstep.domain.order import Address
from doorstep.domain.order import Order as DomainOrder
from doorstep.store import tables as t
from doorstep.store.convert import order_row

DEPOT: dict[str, Any] = {"id": "hki", "name": "Helsinki depot", "lat": 60.1699, "lon": 24.9384}

VEHICLE: dict[str, Any] = {
    "id": "van1",
    "depot_id": "hki",
    "profile": "van",
    "capacity_parcels": 50,
    "shift_start_s": 8 * 3600,
    "shift_end_s": 17 * 3600,
    "cost_fixed": 5000,
    "cost_per_km": 40,
    "cost_per_hour": 2500,
}


def order(order_id: str, k: int = 0, **fields: Any) -> dict[str, Any]:
    """An order ``k`` hundred metres north-east of the depot."""
    body: dict[str, Any] = {
        "id": order_id,
        "street": f"Testikatu {k + 1}",
        "zip": "00100",
        "city": "Helsinki",
        "lat": 60.1699 + 0.0009 * k,
        "lon": 24.9384 + 0.0018 * k,
        "windows": [[9 * 3600, 12 * 3600]],
        "service_s": 180,
        "parcels": 1,
    }
    body.update(fields)
    return body


def store_order(db: Session, body: dict[str, Any]) -> None:
    """Store an order body of :func:`order` directly, with one parcel row per parcel."""
    domain = DomainOrder(
        id=body["id"],
        location=Location(body["lat"], body["lon"]),
        address=Address(body["street"], "", body["zip"], body["city"]),
        windows=tuple(TimeWindow(a, b) for a, b in body["windows"]),
        service_s=body["service_s"],
        demand=Load(body["parcels"]),
        skills=frozenset(body.get("skills", ())),
    )
    db.add(order_row(domain))
    db.flush()
    for k in range(1, body["parcels"] + 1):
        db.add(t.Parcel(id=f"{body['id']}-{k}", order_id=body["id"]))
