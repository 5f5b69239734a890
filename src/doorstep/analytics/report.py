"""The analyst's report: one self-contained offline HTML file of charts and tables.

Charts are drawn with Plotly; its JavaScript comes from the installed ``plotly``
package and is written into the file once, so the report opens without a
network (no CDN, no map tiles: areas are placed by their coordinates on a
plain plot). The figures come from the KPI module; this module only draws.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

TABLE_FIELDS = (
    ("stops", "stops", "{:,.0f}"),
    ("parcels_delivered", "delivered", "{:,.0f}"),
    ("on_time_rate", "on time", "{:.1%}"),
    ("first_attempt_success_rate", "first attempt", "{:.1%}"),
    ("km_per_stop", "km / stop", "{:.2f}"),
    ("cost_per_parcel", "cost / parcel", "{:.2f}"),
    ("eta_mae_min", "ETA error (min)", "{:.1f}"),
)
"""Columns of the driver and route tables: KPI field, heading, format."""


@dataclass(frozen=True, slots=True)
class ReportData:
    """What the report shows, as the KPI module computes it (plain dicts)."""

    date_from: str
    date_to: str
    total: Mapping[str, Any]
    """The KPIs of the whole range."""
    by_hour: Sequence[Mapping[str, Any]] = ()
    """One dict per hour of the day (``key``: the hour), with ``on_time_rate``."""
    by_area: Sequence[Mapping[str, Any]] = ()
    """One per area (``key``: zip code), with ``first_attempt_success_rate``,
    ``parcels_attempted`` and, when known, ``lat``/``lon`` (the area's centre)."""
    by_driver: Sequence[Mapping[str, Any]] = ()
    by_route: Sequence[Mapping[str, Any]] = ()
    eta_errors_min: Sequence[float] = ()
    """Completed stops' actual arrival minus the ETA given at departure, minutes."""
    title: str = "Doorstep delivery report"
    notes: Sequence[str] = field(default_factory=tuple)


def _figure_html(figure: Any) -> str:
    """A figure as a ``<div>`` and its script; Plotly's library is written once elsewhere."""
    html: str = figure.to_html(
        full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True}
    )
    return html


def _layout(figure: Any, title: str, **axes: Any) -> Any:
    figure.update_layout(
        title=title, height=360, margin={"l": 50, "r": 20, "t": 50, "b": 50}, **axes
    )
    return figure


def charts(data: ReportData) -> list[tuple[str, str]]:
    """The report's charts: (heading, HTML) pairs, for the figures there are.

    Parameters
    ----------
    data
        The figures.

    Returns
    -------
    list of (str, str)
        The charts of :func:`figures`, each as a ``<div>`` and its script.
    """
    return [(heading, _figure_html(figure)) for heading, figure in figures(data)]


def figures(data: ReportData) -> list[tuple[str, Any]]:
    """The report's Plotly figures: (heading, figure) pairs, for the figures there are.

    The web's KPI dashboard draws the same figures from their JSON.

    Parameters
    ----------
    data
        The figures.

    Returns
    -------
    list of (str, plotly.graph_objects.Figure)
        On-time rate by hour, failures by reason, first-attempt success by area
        (placed by coordinates when the areas have them, else a bar chart), and
        the ETA error distribution; a chart without data is left out.
    """
    import plotly.graph_objects as go

    out: list[tuple[str, Any]] = []
    hours = [g for g in data.by_hour if g.get("on_time_rate") is not None]
    if hours:
        figure = go.Figure(
            go.Bar(
                x=[f"{int(g['key']):02d}:00" for g in hours],
                y=[g["on_time_rate"] for g in hours],
                marker_color="#2a7ab0",
            )
        )
        out.append(
            (
                "On-time rate by hour",
                _layout(figure, "", yaxis={"tickformat": ".0%", "range": [0, 1]}),
            )
        )
    reasons = dict(data.total.get("failures_by_reason") or {})
    if reasons:
        ordered = sorted(reasons.items(), key=lambda kv: -kv[1])
        figure = go.Figure(
            go.Bar(
                x=[k.replace("_", " ") for k, _ in ordered],
                y=[v for _, v in ordered],
                marker_color="#c0504d",
            )
        )
        out.append(("Failed attempts by reason", _layout(figure, "")))
    areas = [g for g in data.by_area if g.get("first_attempt_success_rate") is not None]
    if areas:
        rates = [g["first_attempt_success_rate"] for g in areas]
        labels = [
            f"{escape(str(g['key']))}: {g['first_attempt_success_rate']:.0%} "
            f"of {g.get('parcels_attempted', 0)}"
            for g in areas
        ]
        placed = all(g.get("lat") is not None and g.get("lon") is not None for g in areas)
        if placed:
            size = [
                max(8.0, min(40.0, float(g.get("parcels_attempted") or 0) ** 0.5 * 2))
                for g in areas
            ]
            figure = go.Figure(
                go.Scatter(
                    x=[g["lon"] for g in areas],
                    y=[g["lat"] for g in areas],
                    mode="markers",
                    text=labels,
                    hoverinfo="text",
                    marker={
                        "size": size,
                        "color": rates,
                        "colorscale": "RdYlGn",
                        "cmin": 0.5,
                        "cmax": 1.0,
                        "colorbar": {"title": "first attempt", "tickformat": ".0%"},
                    },
                )
            )
            figure = _layout(
                figure,
                "",
                xaxis={"title": "longitude"},
                yaxis={"title": "latitude", "scaleanchor": "x", "scaleratio": 1.8},
            )
        else:
            figure = _layout(
                go.Figure(go.Bar(x=[str(g["key"]) for g in areas], y=rates, text=labels)),
                "",
                yaxis={"tickformat": ".0%", "range": [0, 1]},
            )
        out.append(("First-attempt success by area", figure))
    if data.eta_errors_min:
        figure = go.Figure(go.Histogram(x=list(data.eta_errors_min), nbinsx=40))
        figure = _layout(figure, "", xaxis={"title": "actual minus ETA at departure (min)"})
        out.append(("ETA error", figure))
    return out


def table(rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Rows of a driver or route table: the key, then :data:`TABLE_FIELDS` formatted."""
    out = []
    for row in rows:
        cells = [str(row.get("key", ""))]
        for name, _, fmt in TABLE_FIELDS:
            value = row.get(name)
            cells.append("" if value is None else fmt.format(value))
        out.append(cells)
    return out


def render_report(data: ReportData) -> str:
    """The report as one HTML document that needs no network.

    Parameters
    ----------
    data
        The figures (see :class:`ReportData`).

    Returns
    -------
    str
        HTML with Plotly's library inlined once, the charts, the headline
        figures, and the driver and route tables.
    """
    from plotly.offline import get_plotlyjs

    env = Environment(
        loader=PackageLoader("doorstep.analytics", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    template = env.get_template("report.html.j2")
    headline = [
        (heading, fmt.format(data.total[name]))
        for name, heading, fmt in TABLE_FIELDS
        if data.total.get(name) is not None
    ]
    return template.render(
        data=data,
        plotly_js=get_plotlyjs(),
        charts=charts(data),
        headline=headline,
        headings=["", *(h for _, h, _ in TABLE_FIELDS)],
        drivers=table(data.by_driver),
        routes=table(data.by_route),
    )


def report_data(facts: Any, centres: Mapping[str, tuple[float, float]] | None = None) -> ReportData:
    """The report's figures from the day's facts, by the KPI module.

    Parameters
    ----------
    facts
        :class:`doorstep.analytics.facts.Facts` of the range (or a Parquet export directory).
    centres
        Area (zip code) -> ``(lat, lon)`` of its stops' centre, to place areas
        on the plot; without them areas are drawn as bars.

    Returns
    -------
    ReportData
        Totals, and the KPIs by hour, area, driver and route; ETA errors of
        the stops reached (actual arrival minus the ETA given at departure).
    """
    from doorstep.analytics.kpis import compute_kpis, total

    centres = centres or {}
    by_area = [
        dict(row)
        | (
            {"lat": centres[row["key"]][0], "lon": centres[row["key"]][1]}
            if row["key"] in centres
            else {}
        )
        for row in compute_kpis(facts, "area")
        if row["key"] is not None
    ]
    stops = facts["stops"].to_pylist() if hasattr(facts, "tables") else []
    errors = [
        (s["arrived_s"] - s["eta_departure_s"]) / 60
        for s in stops
        if s.get("arrived_s") is not None and s.get("eta_departure_s") is not None
    ]
    first = getattr(facts, "first_day", "")
    last = getattr(facts, "last_day", "")
    return ReportData(
        first,
        last,
        total(facts),
        by_hour=[r for r in compute_kpis(facts, "hour") if r["key"] is not None],
        by_area=by_area,
        by_driver=[r for r in compute_kpis(facts, "driver") if r["key"] is not None],
        by_route=[r for r in compute_kpis(facts, "route") if r["key"] is not None],
        eta_errors_min=errors,
    )
