"""``plan.json``: the planned day as one documented JSON document (schema ``doorstep.plan/1``).

The schema is described field by field, with units, in ``docs/plan-json.md``.
Units are in the field names (``_s`` seconds, ``_m`` metres, ``_kg``, ``_l``,
``_km``, ``_h``); times of day are given twice, as ``"HH:MM"`` for people and
as seconds after midnight (``*_s``) for programs. Money is in currency units
(the fleet file's currency), rounded to cents.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from doorstep.domain.fleet import Vehicle
from doorstep.domain.load import Load
from doorstep.domain.order import Order
from doorstep.domain.plan import Route, Visit
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import InputError
from doorstep.plan.expected import expected_of
from doorstep.plan.outputs.manifests import manifest_names
from doorstep.plan.outputs.routes import planned_routes
from doorstep.plan.result import DayPlan
from doorstep.units import CENTS_PER_UNIT, GRAMS_PER_KG, MILLILITRES_PER_LITRE, format_clock

SCHEMA = "doorstep.plan/1"
"""The value of the document's ``schema`` field; bumped on incompatible changes."""


def chosen_window(order: Order, arrival_s: int) -> TimeWindow | None:
    """The window a visit arriving at ``arrival_s`` uses (the evaluator's rule).

    Parameters
    ----------
    order
        The order visited.
    arrival_s
        Arrival time in seconds after midnight.

    Returns
    -------
    TimeWindow or None
        The first window that has not closed yet, the last window when all have
        closed (the visit is late), or ``None`` for an order without windows.
    """
    if not order.windows:
        return None
    for window in order.windows:
        if arrival_s <= window.end:
            return window
    return order.windows[-1]


def is_on_time(order: Order, visit: Visit) -> bool:
    """Whether ``visit`` starts inside one of ``order``'s windows (no window: on time).

    Parameters
    ----------
    order
        The order visited.
    visit
        The visit, with its times.

    Returns
    -------
    bool
        False only when the vehicle arrives after the last window closed.
    """
    return not order.windows or visit.arrival_s <= order.windows[-1].end


def windows_text(order: Order, separator: str = ", ") -> str:
    """All of ``order``'s windows as ``"HH:MM-HH:MM"``, joined; empty when it has none.

    Parameters
    ----------
    order
        The order.
    separator
        What goes between two windows.

    Returns
    -------
    str
        For example ``"09:00-11:00, 14:00-16:00"``.
    """
    return separator.join(str(w) for w in order.windows)


def _money(cents: int) -> float:
    return round(cents / CENTS_PER_UNIT, 2)


def _load(load: Load) -> dict[str, float | int]:
    return {
        "parcels": load.parcels,
        "weight_kg": load.weight_g / GRAMS_PER_KG,
        "volume_l": load.volume_ml / MILLILITRES_PER_LITRE,
    }


def _break(route: Route, vehicle: Vehicle) -> dict[str, Any] | None:
    brk = vehicle.break_
    if brk is None or route.break_after is None or route.break_start_s is None:
        return None
    start = route.break_start_s
    end = start + brk.duration_s
    return {
        "after_stop": route.break_after + 1,
        "start": format_clock(start),
        "end": format_clock(end),
        "start_s": start,
        "end_s": end,
        "duration_s": brk.duration_s,
    }


def _visit(number: int, order: Order, visit: Visit) -> dict[str, Any]:
    window = chosen_window(order, visit.arrival_s)
    return {
        "stop": number,
        "order_id": order.id,
        "customer_id": order.customer_id,
        "kind": order.kind.value,
        "address": str(order.address),
        "lat": order.location.lat,
        "lon": order.location.lon,
        "arrival": format_clock(visit.arrival_s),
        "start": format_clock(visit.start_s),
        "departure": format_clock(visit.departure_s),
        "arrival_s": visit.arrival_s,
        "start_s": visit.start_s,
        "departure_s": visit.departure_s,
        "wait_s": visit.wait_s,
        "service_s": order.service_s,
        "window": None if window is None else str(window),
        "windows": [str(w) for w in order.windows],
        "on_time": is_on_time(order, visit),
        "late_s": 0 if is_on_time(order, visit) else visit.arrival_s - order.windows[-1].end,
        "late_cost_per_hour": _money(order.late_cost_per_hour) if order.soft_windows else None,
        "load_after": _load(visit.load_after),
    }


def plan_document(day: DayPlan) -> dict[str, Any]:
    """The ``plan.json`` document of ``day`` as plain Python data.

    Parameters
    ----------
    day
        The planned day; besides the plan, how it was made (backend, time
        limit, seed, runtime, travel source) goes into ``summary``; a day
        planned with a risk source (:class:`~doorstep.plan.expected.AssessedDayPlan`)
        adds its expected failed first attempts there and each visit's ``p_fail``.

    Returns
    -------
    dict
        JSON-ready data following schema ``doorstep.plan/1`` (``docs/plan-json.md``).
    """
    problem, evaluation = day.problem, day.evaluation
    routes = planned_routes(day)
    names = manifest_names([p.route.vehicle_id for p in routes])
    summary: dict[str, Any] = dict(evaluation.kpis.as_dict())
    expected = expected_of(day)
    if expected is not None:
        summary |= {
            "expected_failed_attempts": round(expected.total, 3),
            "expected_failure_cost": _money(expected.cost_cents),
            "redelivery_cost": _money(expected.redelivery_cents),
        }
    p_fail = expected.by_order if expected is not None else {}
    summary |= {
        "backend": day.backend,
        "objective": problem.objective.value,
        "time_limit_s": day.time_limit_s,
        "seed": day.seed,
        "runtime_s": round(day.runtime_s, 3),
        "travel_source": problem.source,
        "travel_estimated": problem.estimated,
        "feasible": evaluation.feasible,
        "violation_count": len(evaluation.violations),
        "rejected_count": len(day.rejected),
        "search_objective": day.search_cost
        if day.search_cost is not None and math.isfinite(day.search_cost)
        else None,
    }
    route_documents: list[dict[str, Any]] = []
    for planned, manifest in zip(routes, names, strict=True):
        route, vehicle = planned.route, planned.vehicle
        visits = [
            _visit(k, order, visit)
            for k, (order, visit) in enumerate(
                zip(planned.orders, route.visits, strict=True), start=1
            )
        ]
        if expected is not None:
            for visit_document in visits:
                visit_document["p_fail"] = round(p_fail[visit_document["order_id"]], 4)
        route_documents.append(
            {
                "vehicle_id": route.vehicle_id,
                "profile": vehicle.profile.value,
                "depot_id": planned.start_depot.id,
                "end_depot_id": planned.end_depot.id,
                "manifest": manifest,
                "start": format_clock(route.start_s),
                "end": format_clock(route.end_s),
                "start_s": route.start_s,
                "end_s": route.end_s,
                "distance_m": route.distance_m,
                "duration_s": route.duration_s,
                "wait_s": sum(v.wait_s for v in route.visits),
                "stops": len(route.visits),
                "cost": _money(planned.cost_cents),
                "break": _break(route, vehicle),
                "visits": visits,
            }
        )
    return {
        "schema": SCHEMA,
        "summary": summary,
        "routes": route_documents,
        "unassigned": [
            {"order_id": u.order_id, "code": u.code, "reason": u.reason}
            for u in evaluation.plan.unassigned
        ],
        "rejected": [
            {
                "row": f.row,
                "code": f.code,
                "field": f.field,
                "message": f.message,
                "source": f.source,
            }
            for f in day.rejected
        ],
        "violations": [
            {
                "code": v.code,
                "vehicle_id": v.vehicle_id,
                "order_id": v.order_id,
                "message": v.message,
                "amount": v.amount,
            }
            for v in evaluation.violations
        ],
    }


def plan_json(day: DayPlan) -> str:
    """The text of ``plan.json``: :func:`plan_document` as indented JSON ending in a newline.

    Parameters
    ----------
    day
        The planned day.

    Returns
    -------
    str
        The document's text, to be written as UTF-8 (non-ASCII characters are
        kept as they are, not escaped).
    """
    return json.dumps(plan_document(day), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def routes_of_document(
    document: Mapping[str, Any], source: str = "the plan"
) -> dict[str, tuple[str, ...]]:
    """A ``plan.json`` document's routes as a warm start: vehicle id -> order ids in visiting order.

    Parameters
    ----------
    document
        A ``doorstep.plan/1`` document (written by :func:`plan_document`).
    source
        What the document is, for messages (a file name, a plan id).

    Returns
    -------
    dict
        One entry per route with visits, in the document's order.

    Raises
    ------
    InputError
        The document is not a ``doorstep.plan/1`` plan.
    """
    ok = isinstance(document, Mapping) and document.get("schema") == SCHEMA
    routes = document.get("routes") if ok else None
    if not isinstance(routes, list):
        raise InputError(
            f"{source} is not a plan.json (schema {SCHEMA})",
            hint="Give the plan.json that `doorstep plan --out DIR` wrote.",
        )
    out: dict[str, tuple[str, ...]] = {}
    try:
        for route in routes:
            out[str(route["vehicle_id"])] = tuple(str(v["order_id"]) for v in route["visits"])
    except (KeyError, TypeError) as error:
        raise InputError(f"{source}: a route has no vehicle_id or visits ({error})") from error
    return {vehicle: orders for vehicle, orders in out.items() if orders}


def read_warm_start(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Read a ``plan.json`` written earlier as a warm start (see :func:`routes_of_document`).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    dict
        Vehicle id -> order ids in visiting order.

    Raises
    ------
    InputError
        The file cannot be read, is not JSON, or is not a ``plan.json``.
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path}: cannot read the warm start ({error.strerror})") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: not JSON ({error})", hint="Give a plan.json.") from error
    if not isinstance(document, dict):
        raise InputError(f"{path} is not a plan.json (schema {SCHEMA})")
    return routes_of_document(document, str(path))
