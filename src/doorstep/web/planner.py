"""The planner's pages: manifest, fleet, planning, the plan's map and routes, publishing.

For the ``planner`` and ``admin`` roles (docs/web.md, "The planner"). Every
rule is the service's own: the gate checks a manifest as ``POST
/v1/orders/upload`` does (:func:`doorstep.service.orders.check_manifest`, then
:func:`~doorstep.service.orders.import_orders`), plans are queued as ``POST
/v1/plans`` queues them (:func:`doorstep.service.plans.queue_plan` and the
service's planning worker), shown from the same merged view as ``GET
/v1/plans/{id}``, and published by :func:`doorstep.service.plans.publish`;
vehicles are changed by :func:`doorstep.service.fleet.update_vehicle`.

The manifest being fixed is not stored: the page holds it (a compressed
"draft" in a hidden field) and sends it back with every change, so a fix, a
dropped row, the download and the import all work on what the planner sees,
with any number of service processes. Row numbers stay those of the uploaded
file (a dropped row keeps its number free).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import os
import zlib
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from doorstep.api.deps import Db
from doorstep.api.problems import ProblemError
from doorstep.api.routers import plans as plans_api
from doorstep.api.routers.orders import FORMATS, MAX_UPLOAD_BYTES
from doorstep.api.security import Role
from doorstep.domain.finding import Finding, Severity
from doorstep.domain.plan_states import PlanStatus
from doorstep.errors import InputError
from doorstep.io.columns import ORDER_COLUMNS, ORDER_SYNONYMS
from doorstep.io.tables import RawRow, RawTable, read_table_bytes
from doorstep.io.values import text
from doorstep.plan.outputs.geojson import route_colour
from doorstep.plan.problem import Lock
from doorstep.service import fleet as fleet_rules
from doorstep.service import orders as order_rules
from doorstep.service import plans as plan_rules
from doorstep.service.planning import PlanRequest
from doorstep.service.refusal import RefusedError
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.database import transaction
from doorstep.store.queries import plans as q
from doorstep.units import format_clock, parse_clock
from doorstep.web.pages import Account, check_csrf
from doorstep.web.render import SECURITY_HEADERS, PageError, page, secure_headers
from doorstep.web.sessions import read_session

KNOWN_COLUMNS = frozenset(ORDER_COLUMNS) | frozenset(ORDER_SYNONYMS)
"""Every order column the readers recognise (``name`` and ``time_windows`` too): the
draft keeps these, so nothing the gate reads is dropped on the way."""

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

ROLES = frozenset({Role.PLANNER.value, Role.ADMIN.value})
"""Who may use the planner's pages."""
NOT_ALLOWED = (
    "The planner's pages are for planners and administrators. Ask an administrator "
    "if you need them."
)
MAX_DRAFT_ROWS = 10_000
"""Largest manifest the page fixes (bigger ones: fix them in the spreadsheet)."""
MAX_DRAFT_BYTES = 32 * 1024 * 1024
"""Most a draft may unpack to."""
MAX_CELL = 1_000
"""Longest value a cell may be given in the page."""
RECENT_PLANS = 20
"""Plans listed on the planner's page."""
RELATED_FIELDS = {
    "lat": ("lat", "lon"),
    "lon": ("lat", "lon"),
    "window_start": ("window_start", "window_end"),
    "window_end": ("window_start", "window_end"),
}
"""Cells shown together for a finding on one of them (swapped coordinates, windows)."""
DEFAULT_ADVICE = {
    Severity.ERROR: "Correct the value, or drop the row.",
    Severity.WARNING: "Check the value; the row is imported as it is.",
}
GONE_DRAFT = (
    "The manifest in this page could not be read back. Upload the file again; nothing was imported."
)


# ----------------------------------------------------------------------------- who


def planner_account(request: Request, account: Account) -> t.Account:
    """The signed-in planner or admin; others get a 403 page, strangers the sign-in form.

    Raises
    ------
    HTTPException
        303 to ``/login`` when no one is signed in.
    PageError
        403 for another role.
    """
    if account is None:
        raise HTTPException(303, "Sign in first.", headers={"Location": "/login"})
    if account.role not in ROLES:
        raise PageError(403, "Not allowed", NOT_ALLOWED)
    return account


Planner = Annotated[t.Account, Depends(planner_account)]


async def form_data(request: Request) -> FormData:
    """The request's form (parsed once: :func:`check_csrf` has read it already)."""
    return await request.form()


Posted = Annotated[FormData, Depends(form_data)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _base(request: Request, account: t.Account, title: str, **more: Any) -> dict[str, Any]:
    session = read_session(request)
    return {
        "account": account,
        "csrf": None if session is None else session.csrf,
        "title": title,
        **more,
    }


def _redirect(url: str) -> Response:
    return secure_headers(RedirectResponse(url, status_code=303))


def _htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


# ----------------------------------------------------------------------------- the manifest


@dataclass
class Draft:
    """A manifest being fixed in the page: its rows as text, by canonical column."""

    source: str
    columns: list[str]
    rows: list[RawRow]
    dropped: list[int] = field(default_factory=list)

    def table(self) -> RawTable:
        """The rows not dropped, as the gate reads them."""
        gone = set(self.dropped)
        kept = [r for r in self.rows if r.row not in gone]
        return RawTable(self.source, "csv", tuple(self.columns), (), kept)

    def encode(self) -> str:
        """The draft as a hidden field's value (JSON, deflated, base64url)."""
        data = {
            "source": self.source,
            "columns": self.columns,
            "rows": [[r.row, r.values, r.extra_values, r.problem] for r in self.rows],
            "dropped": self.dropped,
        }
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(zlib.compress(raw, 6)).decode()

    @classmethod
    def decode(cls, value: str) -> Draft:
        """The draft a page sent back.

        Raises
        ------
        PageError
            422 when it cannot be read (damaged, too large, of another shape).
        """
        try:
            packed = base64.urlsafe_b64decode(value.encode())
            inflater = zlib.decompressobj()
            raw = inflater.decompress(packed, MAX_DRAFT_BYTES)
            if inflater.unconsumed_tail:
                raise ValueError("too large")
            data = json.loads(raw)
            columns = [str(c) for c in data["columns"] if str(c) in KNOWN_COLUMNS]
            rows = [
                RawRow(
                    int(row),
                    {str(k): str(v) for k, v in dict(values).items() if str(k) in KNOWN_COLUMNS},
                    int(extra),
                    None if problem is None else str(problem),
                )
                for row, values, extra, problem in data["rows"]
            ]
            dropped = [int(r) for r in data.get("dropped", [])]
            source = str(data.get("source", "manifest.csv"))[:200]
        except (ValueError, TypeError, KeyError, binascii.Error, zlib.error):
            raise PageError(422, "Upload the manifest again", GONE_DRAFT, back="/planner") from None
        if len(rows) > MAX_DRAFT_ROWS:
            raise PageError(422, "Upload the manifest again", GONE_DRAFT, back="/planner")
        return cls(source, columns, rows, dropped)

    @classmethod
    def of(cls, table: RawTable) -> Draft:
        """The draft of a manifest just read (every value as text)."""
        columns = [c for c in table.columns if c in KNOWN_COLUMNS]
        rows = [
            RawRow(r.row, {k: text(v) for k, v in r.values.items()}, r.extra_values, r.problem)
            for r in table.rows
        ]
        return cls(table.source, columns, rows)

    def apply(self, form: FormData) -> None:
        """Take the cells (``cell:<row>:<column>``) and dropped rows (``drop``) of a form."""
        by_row = {r.row: r for r in self.rows}
        for key, value in form.multi_items():
            if not key.startswith("cell:") or not isinstance(value, str):
                continue
            _, row_text, column = key.split(":", 2) if key.count(":") == 2 else ("", "", "")
            if not row_text.isdigit() or column not in KNOWN_COLUMNS:
                continue
            found = by_row.get(int(row_text))
            if found is None:
                continue
            found.values[column] = value.strip()[:MAX_CELL]
            if column not in self.columns:
                self.columns.append(column)
        for value in form.getlist("drop"):
            number = int(value) if isinstance(value, str) and value.isdigit() else None
            if number in by_row and number not in self.dropped:
                self.dropped.append(number)

    def csv_text(self) -> str:
        """The rows not dropped, as a CSV file (the canonical column names as its header)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        gone = set(self.dropped)
        for r in self.rows:
            if r.row not in gone:
                writer.writerow([r.values.get(c, "") for c in self.columns])
        return out.getvalue()


@dataclass(frozen=True)
class FindingView:
    """A finding as the table shows it: what is wrong, and what to do."""

    row: int | None
    field: str | None
    code: str
    severity: str
    message: str
    advice: str
    source: str


def finding_view(finding: Finding) -> FindingView:
    """Split a finding's sentence into what is wrong and what to do (after its last ``;``)."""
    what, sep, advice = finding.message.rpartition("; ")
    if not sep:
        what, advice = finding.message, DEFAULT_ADVICE[finding.severity]
    return FindingView(
        finding.row,
        finding.field,
        finding.code,
        finding.severity.value,
        what.rstrip(".") + ".",
        advice[:1].upper() + advice[1:],
        finding.source,
    )


@dataclass(frozen=True)
class RowView:
    """One row of the manifest with findings: them, and the cells to fix."""

    row: int
    findings: list[FindingView]
    cells: list[tuple[str, str]]
    rejected: bool


def _manifest_view(db: Session, draft: Draft) -> dict[str, Any]:
    """The manifest section's context: the gate's report on the draft, row by row."""
    report = order_rules.check_manifest(db, draft.table())
    values = {r.row: r.values for r in draft.rows}
    by_row: dict[int, list[Finding]] = defaultdict(list)
    general: list[FindingView] = []
    for f in report.findings:
        if f.source == "orders" and f.row is not None and f.row in values:
            by_row[f.row].append(f)
        else:
            general.append(finding_view(f))
    rows = []
    for number in sorted(by_row):
        fields: list[str] = []
        for f in by_row[number]:
            for name in RELATED_FIELDS.get(f.field or "", (f.field,) if f.field else ()):
                if name in KNOWN_COLUMNS and name not in fields:
                    fields.append(name)
        rows.append(
            RowView(
                number,
                [finding_view(f) for f in by_row[number]],
                [(name, values[number].get(name, "")) for name in fields],
                number in report.rejected_rows,
            )
        )
    return {
        "draft": draft.encode(),
        "source": PurePath(draft.source).name,
        "summary": {
            "rows": report.rows,
            "accepted": report.accepted,
            "rejected": report.rows - report.accepted,
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "dropped": len(draft.dropped),
        },
        "rows": rows,
        "general": general,
    }


# ----------------------------------------------------------------------------- the index


def _today(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


def _index_context(
    request: Request, db: Session, account: t.Account, **more: Any
) -> dict[str, Any]:
    settings = _settings(request)
    waiting = q.load_orders(db, None, max_attempts=settings.max_attempts)
    values: dict[str, Any] = {"manifest": None, "imported": None, **more}
    return _base(
        request,
        account,
        "Planner",
        waiting=len(waiting),
        vehicles=len(q.load_fleet(db, None).vehicles),
        plans=q.find_plans(db, None, None, RECENT_PLANS),
        day=(_today(settings) + timedelta(days=1)).isoformat(),
        time_limit=settings.plan_time_limit_s,
        max_time_limit=plans_api.MAX_TIME_LIMIT_S,
        **values,
    )


@router.get("/planner")
def planner_page(request: Request, db: Db, account: Planner) -> Response:
    """The planner's page: upload a manifest, plan a day, the plans made so far."""
    return page(request, "planner.html", _index_context(request, db, account))


def _manifest_response(
    request: Request, db: Session, account: t.Account, draft: Draft, status: int = 200
) -> Response:
    view = _manifest_view(db, draft)
    if _htmx(request):
        context = _base(request, account, "Planner", manifest=view)
        return page(request, "_planner_manifest.html", context, status=status)
    context = _index_context(request, db, account, manifest=view)
    return page(request, "planner.html", context, status=status)


@router.post("/planner/manifest")
def upload_manifest(
    request: Request,
    db: Db,
    account: Planner,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Read an uploaded manifest and show the gate's findings, row by row."""
    name = PurePath(file.filename or "manifest.csv").name
    fmt = FORMATS.get(os.path.splitext(name)[1].lower())
    if fmt is None:
        raise PageError(
            415, "Not a manifest", f"{name}: upload a .csv, .xlsx or .json file.", "/planner"
        )
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PageError(413, "File too large", f"{name} is over 20 MB; split it.", "/planner")
    try:
        table = read_table_bytes(data, fmt, "orders", name)
    except InputError as exc:
        raise PageError(422, "The file cannot be read", str(exc), "/planner") from None
    if len(table.rows) > MAX_DRAFT_ROWS:
        raise PageError(
            413,
            "Too many rows to fix here",
            f"{name} has {len(table.rows):,} rows; the page fixes up to {MAX_DRAFT_ROWS:,}. "
            "Fix it with doorstep validate, or import it through POST /v1/orders/upload.",
            "/planner",
        )
    return _manifest_response(request, db, account, Draft.of(table))


def _posted_draft(form: FormData) -> Draft:
    value = form.get("draft")
    if not isinstance(value, str) or not value:
        raise PageError(422, "Upload the manifest again", GONE_DRAFT, back="/planner")
    draft = Draft.decode(value)
    draft.apply(form)
    return draft


@router.post("/planner/manifest/check")
def check_manifest(request: Request, db: Db, account: Planner, form: Posted) -> Response:
    """Take the page's fixes and dropped rows, and run the gate again."""
    return _manifest_response(request, db, account, _posted_draft(form))


@router.post("/planner/manifest/download")
def download_manifest(account: Planner, form: Posted) -> Response:
    """The manifest with the page's fixes, without the dropped rows, as a CSV file."""
    draft = _posted_draft(form)
    stem = PurePath(draft.source).stem or "manifest"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:80]
    return Response(
        draft.csv_text(),
        media_type="text/csv; charset=utf-8",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{safe}-corrected.csv"',
        },
    )


@router.post("/planner/manifest/import")
def import_manifest(request: Request, db: Db, account: Planner, form: Posted) -> Response:
    """Import the rows the gate accepts (with the page's fixes), as ``POST /v1/orders/upload``."""
    draft = _posted_draft(form)
    try:
        imported = order_rules.import_orders(db, draft.table())
    except RefusedError as exc:
        raise PageError(409, "Nothing was imported", exc.message, "/planner") from None
    db.flush()
    result = {
        "count": len(imported.orders),
        "left_out": imported.report.rows - imported.report.accepted,
        "taken": [finding_view(f) for f in imported.findings],
        "dropped": len(draft.dropped),
    }
    context = _index_context(request, db, account, imported=result)
    return page(request, "planner.html", context)


# ----------------------------------------------------------------------------- the fleet

FLEET_FIELDS = {
    "shift_start": "shift_start_s",
    "shift_end": "shift_end_s",
    "break_start": "break_start_s",
    "break_end": "break_end_s",
}


def _vehicles(db: Session) -> list[t.Vehicle]:
    return list(db.scalars(select(t.Vehicle).order_by(t.Vehicle.id)))


def _fleet_page(
    request: Request, db: Session, account: t.Account, status: int = 200, **more: Any
) -> Response:
    rows = [
        {
            "id": v.id,
            "depot_id": v.depot_id,
            "profile": v.profile,
            "shift_start": format_clock(v.shift_start_s),
            "shift_end": format_clock(v.shift_end_s),
            "capacity_parcels": v.capacity_parcels,
            "capacity_kg": round(v.capacity_g / 1000, 3),
            "break_start": "" if v.break_start_s is None else format_clock(v.break_start_s),
            "break_end": "" if v.break_end_s is None else format_clock(v.break_end_s),
            "break_min": "" if v.break_s is None else round(v.break_s / 60),
        }
        for v in _vehicles(db)
    ]
    context = _base(request, account, "Fleet", vehicles=rows, **({"saved": "", "error": ""} | more))
    return page(request, "planner_fleet.html", context, status=status)


@router.get("/planner/fleet")
def fleet_page(request: Request, db: Db, account: Planner, saved: str = "") -> Response:
    """The vehicles: shift, capacity and break of each, to change."""
    return _fleet_page(request, db, account, saved=saved[:100])


def _vehicle_changes(form: FormData) -> dict[str, Any]:
    """The vehicle's new values from the fleet table's form (``ValueError`` names a bad one)."""

    def value(name: str) -> str:
        got = form.get(name)
        return got.strip() if isinstance(got, str) else ""

    changes: dict[str, Any] = {}
    for name, column in FLEET_FIELDS.items():
        raw = value(name)
        if not raw and name.startswith("break"):
            changes[column] = None
            continue
        try:
            changes[column] = parse_clock(raw)
        except (InputError, ValueError):
            raise ValueError(f"{name.replace('_', ' ')}: write a time as HH:MM.") from None
    for name, column, scale in (
        ("capacity_parcels", "capacity_parcels", 1),
        ("capacity_kg", "capacity_g", 1000),
        ("break_min", "break_s", 60),
    ):
        raw = value(name)
        if not raw:
            changes[column] = None if name == "break_min" else 0
            continue
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{name.replace('_', ' ')}: write a number.") from None
        if not 0 <= number <= 10**9:
            raise ValueError(f"{name.replace('_', ' ')}: write a number from 0.")
        changes[column] = round(number * scale)
    return changes


@router.post("/planner/fleet/{vehicle_id}")
def save_vehicle(
    request: Request, vehicle_id: str, db: Db, account: Planner, form: Posted
) -> Response:
    """Change a vehicle's shift, capacity and break (the fleet service checks them)."""
    try:
        changes = _vehicle_changes(form)
        fleet_rules.update_vehicle(db, vehicle_id, changes)
    except ValueError as exc:
        return _fleet_page(request, db, account, 422, error=f"{vehicle_id}: {exc}")
    except RefusedError as exc:
        return _fleet_page(request, db, account, 422, error=f"{vehicle_id}: {exc.message}")
    return _redirect(f"/planner/fleet?saved={vehicle_id}")


# ----------------------------------------------------------------------------- planning


def _queue(request: Request, day: date, job: PlanRequest) -> str:
    """Queue a plan as ``POST /v1/plans`` does: committed, then handed to the worker."""
    try:
        jobs = plans_api.planning_jobs(request)
    except ProblemError:
        raise PageError(503, "Planning is not running", "Try again in a moment.") from None
    sessions: sessionmaker[Session] = request.app.state.sessions
    try:
        with transaction(sessions) as db:
            plan = plan_rules.queue_plan(db, day, job, max_attempts=jobs.settings.max_attempts)
            plan_id = plan.id
    except RefusedError as exc:
        raise PageError(409 if exc.conflict else 422, "Cannot plan", exc.message) from None
    jobs.submit(plan_id)
    return plan_id


@router.post("/planner/plans")
def start_plan(
    request: Request,
    account: Planner,
    day: Annotated[str, Form(max_length=20)] = "",
    time_limit_s: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Plan a day with every order waiting and every vehicle; then watch its progress."""
    try:
        chosen = date.fromisoformat(day)
    except ValueError:
        raise PageError(422, "Choose a day", "Give the day to plan as YYYY-MM-DD.") from None
    try:
        limit = float(time_limit_s) if time_limit_s else None
    except ValueError:
        limit = -1.0
    if limit is not None and not 0 < limit <= plans_api.MAX_TIME_LIMIT_S:
        raise PageError(
            422,
            "Search time",
            f"The search time is a number of seconds above 0, at most "
            f"{plans_api.MAX_TIME_LIMIT_S:.0f}.",
        )
    plan_id = _queue(request, chosen, PlanRequest(time_limit_s=limit))
    return _redirect(f"/planner/plans/{plan_id}")


def _plan_of(db: Session, plan_id: str) -> t.Plan:
    plan = db.get(t.Plan, plan_id) if len(plan_id) <= 100 else None
    if plan is None:
        raise PageError(404, "No such plan", f"There is no plan {plan_id[:100]!r}.", "/planner")
    return plan


def _expected(visits: list[dict[str, Any]]) -> float | None:
    risks = [v["p_fail"] for v in visits if isinstance(v.get("p_fail"), int | float)]
    return round(sum(risks), 2) if risks else None


def _duration(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


def plan_view(db: Session, plan: t.Plan) -> dict[str, Any]:
    """What the plan page shows: routes with KPIs, the map's data, the orders left out.

    Parameters
    ----------
    db
        A session.
    plan
        A done or published plan.

    Returns
    -------
    dict
        ``routes`` (one row each: vehicle, colour, stops, km, duty, cost, late
        stops, expected failures), ``map`` (depots, routes with numbered stops,
        orders left out), ``unassigned``, ``kpis`` (:func:`plan_kpis`) and
        ``locks``.
    """
    detail = plans_api._plan_detail(db, plan)
    routes = detail.routes or []
    depots = {
        d.id: d
        for d in db.scalars(select(t.Depot).where(t.Depot.id.in_({r["depot_id"] for r in routes})))
    }
    unassigned = [u.model_dump() for u in detail.unassigned or []]
    orders = {o.id: o for o in q.orders_by_ids(db, {u["order_id"] for u in unassigned})}
    rows, lines = [], []
    for k, route in enumerate(routes):
        colour = route_colour(k)
        visits = route.get("visits", [])
        rows.append(
            {
                "vehicle_id": route["vehicle_id"],
                "colour": colour,
                "driver_id": route.get("driver_id"),
                "state": route.get("state", ""),
                "stops": len(visits),
                "km": round(route["distance_m"] / 1000, 1),
                "start": route["start"],
                "end": route["end"],
                "duty": _duration(int(route["duration_s"])),
                "cost": route.get("cost"),
                "late": sum(1 for v in visits if not v.get("on_time", True)),
                "expected": _expected(visits),
                "visits": visits,
            }
        )
        depot = depots.get(route["depot_id"])
        lines.append(
            {
                "vehicle_id": route["vehicle_id"],
                "colour": colour,
                "depot": None if depot is None else [depot.lat, depot.lon],
                "stops": [
                    {
                        "n": v["stop"],
                        "order_id": v["order_id"],
                        "address": v.get("address", ""),
                        "lat": v["lat"],
                        "lon": v["lon"],
                        "eta": v.get("eta") or v.get("arrival", ""),
                        "window": v.get("window") or "any time",
                    }
                    for v in visits
                ],
            }
        )
    for u in unassigned:
        order = orders.get(u["order_id"])
        u["lat"], u["lon"] = (None, None) if order is None else (order.lat, order.lon)
    request = PlanRequest.from_json(plan.request)
    return {
        "routes": rows,
        "map": {
            "depots": [
                {"id": d.id, "name": d.name, "lat": d.lat, "lon": d.lon} for d in depots.values()
            ],
            "routes": lines,
            "unassigned": [u for u in unassigned if u["lat"] is not None],
        },
        "unassigned": unassigned,
        "kpis": plan_kpis(plan),
        "locks": list(request.locks),
    }


def plan_kpis(plan: t.Plan) -> dict[str, Any]:
    """A plan's figures for comparing it: km, vehicles, late stops, expected failures, cost."""
    document = plan.document or {}
    summary = document.get("summary") or {}
    visits = [v for r in document.get("routes", []) for v in r.get("visits", [])]
    expected = summary.get("expected_failed_attempts")
    return {
        "id": plan.id,
        "day": plan.day,
        "status": plan.status,
        "distance_km": summary.get("distance_km"),
        "vehicles": summary.get("vehicles_used"),
        "served": summary.get("served"),
        "unassigned": summary.get("unassigned"),
        "late_stops": sum(1 for v in visits if not v.get("on_time", True)),
        "on_time_share": summary.get("on_time_share"),
        "expected_failures": expected if expected is not None else _expected(visits),
        "cost": summary.get("cost"),
        "duty_h": summary.get("duty_h"),
    }


FINISHED = (PlanStatus.DONE.value, PlanStatus.PUBLISHED.value)


@router.get("/planner/plans/{plan_id}")
def plan_page(
    request: Request, plan_id: str, db: Db, account: Planner, published: str = ""
) -> Response:
    """A plan: its progress while it is made; then the map, the routes, what was left out."""
    plan = _plan_of(db, plan_id)
    context = _base(request, account, f"Plan {plan.id}", plan=plan, published=published == "1")
    if plan.status in FINISHED:
        context["view"] = plan_view(db, plan)
        context["drivers"] = list(db.scalars(select(t.Driver).order_by(t.Driver.id)))
        regular = q.regular_drivers(db, [r["vehicle_id"] for r in context["view"]["routes"]])
        context["regular"] = regular
        context["others"] = [
            p
            for p in q.find_plans(db, date.fromisoformat(plan.day), None, 50)
            if p.id != plan.id and p.status in FINISHED
        ]
        context["vehicle_ids"] = [v.id for v in _vehicles(db)]
    return page(request, "planner_plan.html", context)


@router.get("/planner/plans/{plan_id}/progress")
def plan_progress(request: Request, plan_id: str, db: Db, account: Planner) -> Response:
    """The progress bar (htmx polls it); once the plan is finished, htmx reloads the page."""
    plan = _plan_of(db, plan_id)
    if plan.status in FINISHED:
        return Response(
            status_code=200,
            headers={**SECURITY_HEADERS, "HX-Redirect": f"/planner/plans/{plan.id}"},
        )
    context = _base(request, account, "Progress", plan=plan)
    return page(request, "_planner_progress.html", context)


@router.post("/planner/plans/{plan_id}/replan")
def replan(request: Request, plan_id: str, db: Db, account: Planner, form: Posted) -> Response:
    """Move a stop to another route, or lock it on its own, and plan again from this plan.

    The new plan starts from this one's routes (warm start, the moved stop on
    its new route) with this plan's locks that were kept and one more: the
    chosen order on the chosen route.
    """
    plan = _plan_of(db, plan_id)
    if plan.status != PlanStatus.DONE.value:
        raise PageError(
            409,
            "Cannot re-plan",
            f"Plan {plan.id} is {plan.status}; re-plan a done plan.",
            f"/planner/plans/{plan.id}",
        )
    order_id = str(form.get("order_id") or "")
    target = str(form.get("vehicle_id") or "")
    keep = {str(v) for v in form.getlist("keep_lock")}
    warm = {v: list(ids) for v, ids in plan_rules.warm_start_of(db, plan.id).items()}
    current = next((v for v, ids in warm.items() if order_id in ids), None)
    old = PlanRequest.from_json(plan.request)
    locks = [k for k in old.locks if k.order_id in keep and k.order_id != order_id]
    if order_id:
        vehicle = target or current
        if vehicle is None:
            raise PageError(
                422,
                "Choose a route",
                f"Order {order_id} is on no route of this plan: choose the route to put it on.",
                f"/planner/plans/{plan.id}",
            )
        for ids in warm.values():
            if order_id in ids:
                ids.remove(order_id)
        warm.setdefault(vehicle, []).append(order_id)
        locks.append(Lock(order_id, vehicle))
    job = replace(
        old,
        locks=tuple(locks),
        warm_start={v: tuple(ids) for v, ids in warm.items() if ids},
    )
    new_id = _queue(request, date.fromisoformat(plan.day), job)
    return _redirect(f"/planner/plans/{new_id}")


@router.post("/planner/plans/{plan_id}/publish")
def publish(request: Request, plan_id: str, db: Db, account: Planner, form: Posted) -> Response:
    """Hand the plan's routes to the drivers chosen (``driver:<vehicle id>``)."""
    plan = db.get(t.Plan, plan_id, with_for_update=True) if len(plan_id) <= 100 else None
    if plan is None:
        raise PageError(404, "No such plan", f"There is no plan {plan_id[:100]!r}.", "/planner")
    assignments = {
        key.removeprefix("driver:"): value
        for key, value in form.multi_items()
        if key.startswith("driver:") and isinstance(value, str) and value
    }
    try:
        plan_rules.publish(db, plan, assignments)
    except RefusedError as exc:
        raise PageError(
            409 if exc.conflict else 422, "Not published", exc.message, f"/planner/plans/{plan_id}"
        ) from None
    return _redirect(f"/planner/plans/{plan.id}?published=1")


@router.get("/planner/compare")
def compare(
    request: Request,
    db: Db,
    account: Planner,
    a: Annotated[str, Query(max_length=100)] = "",
    b: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Two plans side by side: km, vehicles, late stops, expected failures, cost."""
    chosen = [_plan_of(db, ident) for ident in (a, b) if ident]
    kpis = [plan_kpis(p) for p in chosen if p.status in FINISHED]
    finished = [p for p in q.find_plans(db, None, None, 50) if p.status in FINISHED]
    context = _base(request, account, "Compare plans", kpis=kpis, plans=finished, a=a, b=b)
    return page(request, "planner_compare.html", context)
