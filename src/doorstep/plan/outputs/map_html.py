"""``map.html``: one self-contained page that shows the day's routes, offline.

The page needs no network at all: Leaflet 1.9.4 (BSD-2-Clause, vendored from
npm into ``doorstep/data/vendor/leaflet/`` with its licence) is inlined into it, there
is no tile layer (a light background stands in, optionally with grey lines
such as the road network), and the day's data is embedded as one JSON object in
a ``<script type="application/json">`` element. Open it from disk or mail it.

What it shows: each route in its colour with numbered stop markers (a popup
per stop: order, address, ETA, window, on time or late), depots, unassigned
orders with their reason, a legend with a checkbox per route, and a summary of
the KPIs. The view fits every feature.

Coordinates that are not WGS84 degrees (planar benchmark instances) are drawn
on a flat plane instead of a Web-Mercator map.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from doorstep.domain.location import Location
from doorstep.plan.outputs.geojson import plan_geojson
from doorstep.plan.outputs.plan_json import plan_document
from doorstep.plan.result import DayPlan

LEAFLET_VERSION = "1.9.4"
"""The Leaflet release inlined into every map."""

_CSS_IMAGE = re.compile(r"url\(images/[^)]*\)")

_STYLE = """
html, body { height: 100%; margin: 0; }
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; }
#map { position: absolute; inset: 0; background: #f3f1ec; }
.ds-panel { background: rgba(255, 255, 255, 0.94); padding: 8px 10px; border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); max-width: 340px; }
.ds-panel h2 { font-size: 13px; margin: 0 0 4px; }
.ds-panel p { margin: 2px 0; }
.ds-legend { max-height: 60vh; overflow-y: auto; }
.ds-legend label { display: flex; align-items: center; gap: 6px; margin: 3px 0;
  cursor: pointer; white-space: nowrap; }
.ds-swatch { display: inline-block; width: 18px; height: 4px; border-radius: 2px; flex: none; }
.ds-swatch.ds-dashed { background-image: linear-gradient(90deg, transparent 50%, #fff 50%);
  background-size: 6px 4px; }
.ds-marker { display: flex; align-items: center; justify-content: center; box-sizing: border-box;
  width: 100%; height: 100%; border-radius: 50%; border: 2px solid #fff; color: #fff;
  font-weight: 700; font-size: 11px; box-shadow: 0 0 2px rgba(0, 0, 0, 0.6); }
.ds-late { border: 3px solid #c00000; }
.ds-depot { border-radius: 3px; background: #111; }
.ds-unassigned { background: #9a9a9a; border: 2px solid #c00000; }
.ds-bad { color: #c00000; font-weight: 700; }
.ds-ok { color: #1a7f37; font-weight: 700; }
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("doorstep-data").textContent);
  function esc(value) {
    return String(value === null || value === undefined ? "" : value).replace(
      /[&<>"']/g,
      function (c) {
        return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
      }
    );
  }
  function latlng(position) { return [position[1], position[0]]; }
  function icon(text, classes, colour, size) {
    var style = colour ? ' style="background:' + esc(colour) + '"' : "";
    return L.divIcon({
      className: "",
      html: '<div class="ds-marker ' + classes + '"' + style + ">" + esc(text) + "</div>",
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
      popupAnchor: [0, -size / 2]
    });
  }

  var map = L.map("map", {
    crs: data.planar ? L.CRS.Simple : L.CRS.EPSG3857,
    zoomSnap: 0.25,
    minZoom: data.planar ? -10 : 1
  });
  if (!data.planar) { L.control.scale({imperial: false}).addTo(map); }
  var bounds = L.latLngBounds([]);

  if (data.background.length) {
    var renderer = L.canvas({padding: 0.5});
    var backdrop = L.layerGroup().addTo(map);
    data.background.forEach(function (line) {
      L.polyline(line, {
        color: "#bdbab3", weight: 1, opacity: 0.9, interactive: false, renderer: renderer
      }).addTo(backdrop);
    });
  }

  var features = data.geojson.features;
  var routes = [];
  var depots = L.layerGroup().addTo(map);
  var unassigned = L.layerGroup().addTo(map);
  features.forEach(function (f) {
    var p = f.properties;
    if (p.role !== "route") { return; }
    var points = f.geometry.coordinates.map(latlng);
    var group = L.layerGroup().addTo(map);
    L.polyline(points, {
      color: p.colour, weight: 4, opacity: 0.85, dashArray: p.dashed ? "8 6" : null
    }).bindTooltip(esc(p.vehicle_id), {sticky: true}).addTo(group);
    points.forEach(function (point) { bounds.extend(point); });
    routes[p.route_index] = {properties: p, layer: group};
  });
  features.forEach(function (f) {
    var p = f.properties;
    if (f.geometry.type !== "Point") { return; }
    var point = latlng(f.geometry.coordinates);
    // Unassigned stops can be far off (bad coordinates): frame the routes, not them.
    if (p.role !== "unassigned" || !routes.length) { bounds.extend(point); }
    if (p.role === "stop") {
      var popup = "<b>Stop " + esc(p.stop) + " &middot; " + esc(p.route) + "</b><br>" +
        "Order " + esc(p.order_id) + " (" + esc(p.order_kind) + ")<br>" +
        (p.address ? esc(p.address) + "<br>" : "") +
        "ETA " + esc(p.eta) + (p.start !== p.eta ? " (service from " + esc(p.start) + ")" : "") +
        "<br>Window " + (p.windows ? esc(p.windows) : "none") + "<br>" +
        (p.on_time ? '<span class="ds-ok">On time</span>' : '<span class="ds-bad">Late</span>') +
        (p.notes ? "<br><i>" + esc(p.notes) + "</i>" : "");
      L.marker(point, {
        icon: icon(p.stop, p.on_time ? "" : "ds-late", p.colour, 22),
        title: "Stop " + p.stop + ": " + p.order_id,
        riseOnHover: true
      }).bindPopup(popup).addTo(routes[p.route_index].layer);
    } else if (p.role === "depot") {
      L.marker(point, {icon: icon("D", "ds-depot", null, 20), title: "Depot " + p.depot_id,
        zIndexOffset: 1000})
        .bindPopup("<b>Depot " + esc(p.depot_id) + "</b>" + (p.name ? "<br>" + esc(p.name) : ""))
        .addTo(depots);
    } else if (p.role === "unassigned") {
      L.marker(point, {icon: icon("!", "ds-unassigned", null, 20),
        title: "Unassigned: " + p.order_id})
        .bindPopup("<b>Unassigned order " + esc(p.order_id) + "</b> (" + esc(p.order_kind) +
          ")<br>" + (p.address ? esc(p.address) + "<br>" : "") +
          (p.windows ? "Window " + esc(p.windows) + "<br>" : "") +
          '<span class="ds-bad">' + esc(p.code) + "</span>: " + esc(p.reason) +
          (p.notes ? "<br><i>" + esc(p.notes) + "</i>" : ""))
        .addTo(unassigned);
    }
  });

  function panel(position, classes, build) {
    var control = L.control({position: position});
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "ds-panel " + classes);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      build(div);
      return div;
    };
    control.addTo(map);
  }
  function toggle(label, layer) {
    var box = label.querySelector("input");
    box.addEventListener("change", function () {
      if (box.checked) { map.addLayer(layer); } else { map.removeLayer(layer); }
    });
  }

  panel("topright", "ds-legend", function (div) {
    div.innerHTML = "<h2>Routes</h2>";
    routes.forEach(function (route) {
      var p = route.properties;
      var label = L.DomUtil.create("label", "", div);
      label.innerHTML = '<input type="checkbox" checked> <span class="ds-swatch' +
        (p.dashed ? " ds-dashed" : "") + '" style="background-color:' + esc(p.colour) +
        '"></span> <b>' + esc(p.vehicle_id) + "</b> " + esc(p.stops) + " stops &middot; " +
        esc((p.distance_m / 1000).toFixed(1)) + " km &middot; " + esc(p.start) + "&ndash;" +
        esc(p.end);
      toggle(label, route.layer);
    });
    var count = unassigned.getLayers().length;
    if (count) {
      var label = L.DomUtil.create("label", "", div);
      label.innerHTML = '<input type="checkbox" checked> <span class="ds-bad">!</span> ' +
        "Unassigned (" + count + ")";
      toggle(label, unassigned);
    }
    var depotLabel = L.DomUtil.create("label", "", div);
    depotLabel.innerHTML = '<input type="checkbox" checked> <b>D</b> Depots';
    toggle(depotLabel, depots);
  });

  panel("bottomleft", "ds-summary", function (div) {
    var s = data.summary;
    div.innerHTML = "<h2>" + esc(data.title) + "</h2>" +
      "<p>Served " + esc(s.served) + " of " + esc(s.orders) + " orders" +
      (s.unassigned ? ', <span class="ds-bad">' + esc(s.unassigned) + " unassigned</span>" : "") +
      "</p><p>" + esc(s.vehicles_used) + " vehicles &middot; " +
      esc(s.distance_km.toFixed(1)) + " km &middot; " + esc(s.duty_h.toFixed(1)) +
      " h on duty &middot; on time " + esc(Math.round(s.on_time_share * 100)) + " %</p>" +
      "<p>Cost " + esc(s.cost.toFixed(2)) + (s.penalty ? " &middot; penalty " +
      esc(s.penalty.toFixed(2)) : "") + "</p>" +
      "<p>" + (s.feasible ? '<span class="ds-ok">Feasible</span>' :
        '<span class="ds-bad">' + esc(s.violation_count) + " violations</span>") +
      (s.rejected_count ? " &middot; " + esc(s.rejected_count) + " rows rejected" : "") + "</p>" +
      "<p>" + esc(s.backend) + " (" + esc(s.time_limit_s) + " s, seed " + esc(s.seed) +
      ") &middot; travel times: " + esc(s.travel_source || "unknown") +
      (s.travel_estimated ? ' <span class="ds-bad">(estimated)</span>' : "") + "</p>";
  });

  if (bounds.isValid()) {
    map.fitBounds(bounds, {padding: [40, 40], maxZoom: data.planar ? 4 : 17});
  } else {
    map.setView([0, 0], data.planar ? 0 : 2);
  }
})();
"""


@cache
def _asset(name: str) -> str:
    return (files("doorstep") / "data" / "vendor" / "leaflet" / name).read_text(encoding="utf-8")


def leaflet_assets() -> tuple[str, str, str]:
    """The vendored Leaflet: ``(leaflet.js, leaflet.css, LICENSE)`` texts.

    Returns
    -------
    tuple of str
        The JavaScript, the stylesheet and the licence, as shipped in
        ``doorstep/data/vendor/leaflet/``.
    """
    return _asset("leaflet.js"), _asset("leaflet.css"), _asset("LICENSE")


def script_json(value: Any) -> str:
    r"""``value`` as JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` are written as ``\u003c``, ``\u003e`` and
    ``\u0026`` (they only occur inside JSON strings), so no text can close
    the element or open a comment; ``JSON.parse`` reads the same value back.

    Parameters
    ----------
    value
        JSON-ready data.

    Returns
    -------
    str
        The JSON text.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _planar(day: DayPlan) -> bool:
    locations: list[Location] = [d.location for d in day.problem.fleet.depots]
    locations += [o.location for o in day.problem.orders]
    return not all(loc.is_geographic for loc in locations)


def map_html(
    day: DayPlan,
    background: Sequence[Sequence[tuple[float, float]]] = (),
    title: str = "Doorstep plan",
) -> str:
    """The text of a self-contained, offline ``map.html`` for ``day``.

    Parameters
    ----------
    day
        The planned day.
    background
        Grey lines drawn under the routes (for example the road network), each
        a sequence of ``(lat, lon)`` pairs. Not part of the fitted view.
    title
        The page title, also shown in the summary box.

    Returns
    -------
    str
        HTML with Leaflet and the data inlined; it references no external URL.
    """
    leaflet_js, leaflet_css, licence = leaflet_assets()
    data = {
        "title": title,
        "planar": _planar(day),
        "summary": plan_document(day)["summary"],
        "geojson": plan_geojson(day),
        "background": [
            [[round(lat, 5), round(lon, 5)] for lat, lon in line]
            for line in background
            if len(line) >= 2
        ],
    }
    css = _CSS_IMAGE.sub("none", leaflet_css)
    notice = licence.replace("*/", "* /")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title>",
            f"<style>\n{css}\n</style>",
            f"<style>{_STYLE}</style>",
            f"<script>\n/* Leaflet {LEAFLET_VERSION}, inlined.\n\n{notice}*/\n",
            f"{leaflet_js}\n</script>",
            "</head>",
            "<body>",
            '<div id="map" role="application" aria-label="Map of the planned routes"></div>',
            f'<script type="application/json" id="doorstep-data">{script_json(data)}</script>',
            f"<script>{_SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )
