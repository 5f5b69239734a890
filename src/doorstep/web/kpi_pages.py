"""The KPI dashboard, ``/kpis``: the KPI report's charts, filtered by days, depot, driver, area.

For planners, dispatchers and admins. The numbers are the KPI module's
(:mod:`doorstep.analytics.kpis`, the same as ``GET /v1/kpis`` and ``doorstep
kpi``) over the facts of the range (:func:`doorstep.analytics.facts.load_facts`,
a driver's own facts when one is chosen), narrowed to one depot or one area
(zip code) when asked; the charts are the report's own figures
(:func:`doorstep.analytics.report.figures`).

The page's CSP forbids inline scripts: each figure travels as JSON in a
``<script type="application/json">`` block and ``/static/kpi.js`` draws it
with Plotly, whose library is served from the installed ``plotly`` package
at :data:`PLOTLY_URL` (no CDN, and once per browser, not once per chart).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from doorstep.analytics.facts import Facts, load_facts
from doorstep.analytics.kpis import KPI_TABLES, check_range
from doorstep.analytics.report import TABLE_FIELDS, figures, report_data, table
from doorstep.api.deps import Db
from doorstep.api.security import Role
from doorstep.service.refusal import RefusedError
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.store.queries.analytics import area_centres
from doorstep.web.dispatch_board import allowed
from doorstep.web.pages import Account, check_csrf
from doorstep.web.render import CONTENT_SECURITY_POLICY, page
from doorstep.web.sessions import read_session

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])

KPI_ROLES = frozenset({Role.PLANNER, Role.DISPATCHER, Role.ADMIN})
"""Who may see the dashboard (a driver's figures are on the driver page)."""
DEFAULT_DAYS = 7
"""The range shown when none is asked: the last week, today included."""
PLOTLY_URL = "/kpis/plotly.min.js"
"""Where the installed ``plotly`` package's ``plotly.min.js`` is served."""
BAD_DAY = "Give the days as dates, such as 2026-12-07."
EMPTY_STYLE = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
"""The CSP hash of the empty string: Plotly's colour bars set ``style=""`` on their rects."""
KPI_CSP = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", f"style-src 'self' 'unsafe-hashes' {EMPTY_STYLE}"
)
"""The service's policy, but that an empty ``style`` attribute may be set (it styles nothing)."""


@cache
def plotly_js() -> bytes:
    """The installed ``plotly`` package's JavaScript library (read once per process)."""
    from plotly.offline import get_plotlyjs

    script: str = get_plotlyjs()
    return script.encode()


@router.get(PLOTLY_URL)
def plotly_library() -> Response:
    """Plotly's library, from the package (cached by the browser for a day)."""
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(plotly_js(), media_type="text/javascript", headers=headers)


@dataclass(frozen=True, slots=True)
class KpiFilter:
    """What the dashboard shows: a range of days, and optionally one depot, driver or area."""

    first: date
    last: date
    depot: str = ""
    driver: str = ""
    area: str = ""

    def query(self) -> dict[str, str]:
        """The filter as the page's query parameters."""
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "depot": self.depot,
            "driver": self.driver,
            "area": self.area,
        }


def narrowed(facts: Facts, depot: str = "", area: str = "") -> Facts:
    """The facts of one depot and/or one area (zip code): the KPI tables' rows that match.

    Parameters
    ----------
    facts
        The facts of the range.
    depot
        A depot id ("" for every depot).
    area
        A zip code ("" for every area).

    Returns
    -------
    Facts
        The same range with the KPI tables (:data:`~doorstep.analytics.kpis.KPI_TABLES`)
        filtered; the other tables are left as they are.
    """
    if not depot and not area:
        return facts
    tables = dict(facts.tables)
    for name in KPI_TABLES:
        rows: pa.Table = facts[name]
        mask = None
        for column, wanted in (("depot_id", depot), ("zip", area)):
            if wanted:
                test = pc.equal(rows[column], pa.scalar(wanted, pa.string()))
                mask = test if mask is None else pc.and_(mask, test)
        tables[name] = rows.filter(mask) if mask is not None else rows
    return Facts(facts.first_day, facts.last_day, tables)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the page shows for a filter."""

    headline: list[tuple[str, str, str]]
    """(KPI name, heading, formatted value) of the whole selection."""
    charts: list[tuple[str, dict[str, Any]]]
    """(heading, Plotly figure as JSON-ready dict)."""
    drivers: list[list[str]]
    routes: list[list[str]]
    areas: list[str]
    """The areas (zip codes) with stops in the range, for the area filter."""
    total: dict[str, Any]


def dashboard(db: Session, chosen: KpiFilter, timezone: str) -> Dashboard:
    """The KPIs and charts of ``chosen`` (the KPI module's numbers, the report's figures).

    Raises
    ------
    RefusedError
        ``range_backwards``, ``range_too_long`` (the KPI module's rules).
    """
    check_range(chosen.first, chosen.last)
    facts = load_facts(
        db,
        chosen.first.isoformat(),
        chosen.last.isoformat(),
        timezone,
        chosen.driver or None,
        events=False,
    )
    areas = sorted(
        {z for z in narrowed(facts, chosen.depot)["stops"].column("zip").to_pylist() if z}
    )
    facts = narrowed(facts, chosen.depot, chosen.area)
    centres = area_centres(db, facts["stops"].column("order_id").to_pylist())
    data = report_data(facts, centres)
    headline = [
        (name, heading, fmt.format(data.total[name]))
        for name, heading, fmt in TABLE_FIELDS
        if data.total.get(name) is not None
    ]
    charts = [(heading, json.loads(figure.to_json())) for heading, figure in figures(data)]
    return Dashboard(
        headline,
        charts,
        table(data.by_driver),
        table(data.by_route),
        areas,
        dict(data.total),
    )


def _day(value: str, default: date) -> date:
    return date.fromisoformat(value) if value else default


@router.get("/kpis")
def kpi_dashboard(request: Request, db: Db, account: Account) -> Response:
    """The dashboard; query: ``from``, ``to`` (ISO days), ``depot``, ``driver``, ``area``."""
    who = allowed(request, account, KPI_ROLES)
    if isinstance(who, Response):
        return who
    settings: Settings = request.app.state.settings
    clock: Callable[[], datetime] = request.app.state.clock
    today = clock().astimezone(ZoneInfo(settings.timezone)).date()
    params = request.query_params
    error = ""
    try:
        last = _day(params.get("to", ""), today)
        first = _day(params.get("from", ""), last - timedelta(days=DEFAULT_DAYS - 1))
    except ValueError:
        first, last, error = today - timedelta(days=DEFAULT_DAYS - 1), today, BAD_DAY
    chosen = KpiFilter(
        first,
        last,
        params.get("depot", "")[:100],
        params.get("driver", "")[:100],
        params.get("area", "")[:20],
    )
    shown: Dashboard | None = None
    if not error:
        try:
            shown = dashboard(db, chosen, settings.timezone)
        except RefusedError as exc:
            error = str(exc)
    session = read_session(request)
    context = {
        "account": who,
        "csrf": None if session is None else session.csrf,
        "title": "KPI dashboard",
        "chosen": chosen,
        "depots": list(db.scalars(select(t.Depot).order_by(t.Depot.id))),
        "drivers": list(db.scalars(select(t.Driver).order_by(t.Driver.id))),
        "areas": [] if shown is None else shown.areas,
        "shown": shown,
        "error": error,
        "headings": ["", *(h for _, h, _ in TABLE_FIELDS)],
        "plotly_url": PLOTLY_URL,
    }
    headers = {"Content-Security-Policy": KPI_CSP}
    return page(request, "kpis.html", context, status=422 if error else 200, headers=headers)
