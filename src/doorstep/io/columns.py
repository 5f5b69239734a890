"""Canonical column names and the synonyms people put in their headers.

A header cell is normalised (lower case, byte-order mark and surrounding space
removed, every run of other characters turned into one ``_``), so ``"Postal Code"``,
``"postal-code"`` and ``"POSTAL_CODE"`` all read as ``postal_code``, a synonym of
``zip``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

ORDER_COLUMNS: tuple[str, ...] = (
    "order_id",
    "kind",
    "address",
    "unit",
    "zip",
    "city",
    "lat",
    "lon",
    "window_start",
    "window_end",
    "service_min",
    "parcels",
    "weight_kg",
    "volume_l",
    "skills",
    "priority",
    "late_cost_per_hour",
    "phone",
    "email",
    "notes",
    "paired_pickup",
    "customer_id",
)
"""The canonical order columns, in the order Doorstep writes them."""

FLEET_COLUMNS: tuple[str, ...] = (
    "vehicle_id",
    "depot_id",
    "depot_lat",
    "depot_lon",
    "end_depot_id",
    "end_depot_lat",
    "end_depot_lon",
    "profile",
    "shift_start",
    "shift_end",
    "max_duration_min",
    "break_start",
    "break_end",
    "break_min",
    "capacity_parcels",
    "capacity_kg",
    "capacity_l",
    "cost_fixed",
    "cost_per_km",
    "cost_per_hour",
    "skills",
)
"""The canonical fleet columns, in the order Doorstep writes them."""

ORDER_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "order_id": (
        "id",
        "order",
        "orderid",
        "order_no",
        "order_number",
        "reference",
        "ref",
        "shipment_id",
        "job_id",
        "tracking_number",
    ),
    "kind": ("type", "order_type", "job_type", "task_type", "order_kind"),
    "address": ("street", "street_address", "address1", "address_1", "address_line_1", "addr"),
    "unit": (
        "apartment",
        "apt",
        "flat",
        "suite",
        "address2",
        "address_2",
        "address_line_2",
        "apartment_number",
        "unit_number",
    ),
    "zip": ("zipcode", "zip_code", "postcode", "post_code", "postal_code", "postalcode", "plz"),
    "city": ("town", "locality", "municipality"),
    "lat": ("latitude", "y"),
    "lon": ("lng", "long", "longitude", "x"),
    "window_start": (
        "time_window_start",
        "tw_start",
        "start",
        "from",
        "earliest",
        "ready_time",
        "start_time",
        "window_from",
    ),
    "window_end": (
        "time_window_end",
        "tw_end",
        "end",
        "to",
        "latest",
        "due_time",
        "end_time",
        "due_date",
        "window_to",
    ),
    "time_windows": ("windows", "time_window"),
    "service_min": (
        "service",
        "service_time",
        "service_minutes",
        "service_time_min",
        "stop_duration",
        "duration",
    ),
    "parcels": ("packages", "items", "quantity", "qty", "pieces", "parcel_count"),
    "weight_kg": ("weight", "kg"),
    "volume_l": ("volume", "litres", "liters", "volume_litres", "volume_liters"),
    "skills": ("requirements", "required_skills", "tags"),
    "priority": ("prio",),
    "late_cost_per_hour": ("lateness_cost", "late_cost", "lateness_cost_per_hour"),
    "phone": ("telephone", "tel", "mobile", "phone_number", "mobile_phone"),
    "email": ("e_mail", "mail", "email_address"),
    "notes": ("note", "comments", "comment", "instructions", "delivery_instructions"),
    "name": ("customer", "customer_name", "recipient", "recipient_name", "contact_name"),
    "paired_pickup": ("paired_pickup_id", "pickup_id", "pickup_order", "pickup_order_id"),
    "customer_id": (
        "customer_no",
        "customer_number",
        "customer_ref",
        "customer_reference",
        "customer_code",
        "client_id",
        "client_no",
        "client_number",
        "consignee_id",
        "recipient_id",
    ),
}
"""Canonical order column -> accepted synonyms (after normalisation)."""

FLEET_SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "vehicle_id": ("vehicle", "id", "name", "vehicle_name", "vehicle_no"),
    "depot_id": ("depot", "hub", "hub_id", "start_depot"),
    "depot_lat": ("depot_latitude", "start_lat", "start_latitude"),
    "depot_lon": ("depot_lng", "depot_longitude", "start_lon", "start_lng", "start_longitude"),
    "end_depot_id": ("end_depot", "end_hub", "end_hub_id", "return_depot", "return_depot_id"),
    "end_depot_lat": ("end_depot_latitude", "end_lat", "end_latitude"),
    "end_depot_lon": (
        "end_depot_lng",
        "end_depot_longitude",
        "end_lon",
        "end_lng",
        "end_longitude",
    ),
    "profile": ("vehicle_type", "mode", "type"),
    "shift_start": ("start", "start_time", "shift_from"),
    "shift_end": ("end", "end_time", "shift_to"),
    "max_duration_min": ("max_duration", "max_route_min", "max_route_duration"),
    "break_start": ("break_from", "break_earliest"),
    "break_end": ("break_to", "break_latest"),
    "break_min": ("break_duration", "break_minutes", "break"),
    "capacity_parcels": ("capacity", "max_parcels", "capacity_items"),
    "capacity_kg": ("max_weight", "max_weight_kg", "capacity_weight"),
    "capacity_l": ("max_volume", "capacity_volume", "capacity_litres", "capacity_liters"),
    "cost_fixed": ("fixed_cost",),
    "cost_per_km": ("per_km", "cost_km"),
    "cost_per_hour": ("per_hour", "cost_hour", "hourly_cost"),
    "skills": ("capabilities", "tags"),
}
"""Canonical fleet column -> accepted synonyms (after normalisation)."""

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalise(name: str) -> str:
    """Normalise a header cell: ``" Postal Code "`` -> ``"postal_code"``."""
    return _NOT_WORD.sub("_", name.replace("\ufeff", "").strip().lower()).strip("_")


def _lookup(synonyms: Mapping[str, Iterable[str]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, others in synonyms.items():
        table[canonical] = canonical
        for other in others:
            table[other] = canonical
    return table


_ORDER_LOOKUP = _lookup(ORDER_SYNONYMS)
_FLEET_LOOKUP = _lookup(FLEET_SYNONYMS)


def match_columns(header: Iterable[object], kind: str = "orders") -> dict[int, str]:
    """Map header positions to canonical names.

    Parameters
    ----------
    header
        The header cells as read.
    kind
        ``"orders"`` or ``"fleet"``: which vocabulary to match.

    Returns
    -------
    dict
        Position -> canonical name, for the recognised columns only. When two
        cells map to the same name, the first one wins (the exact canonical name
        beats a synonym).
    """
    lookup = _ORDER_LOOKUP if kind == "orders" else _FLEET_LOOKUP
    chosen: dict[str, tuple[int, bool]] = {}  # canonical -> (position, exact name?)
    for position, cell in enumerate(header):
        key = normalise(str(cell)) if cell is not None else ""
        canonical = lookup.get(key)
        if canonical is None:
            continue
        exact = key == canonical
        previous = chosen.get(canonical)
        if previous is None or (exact and not previous[1]):
            chosen[canonical] = (position, exact)
    return {position: canonical for canonical, (position, _) in chosen.items()}
