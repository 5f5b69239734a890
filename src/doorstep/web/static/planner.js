// The plan page's map: one colour per route, numbered stops, popups with ETA and window.
// No tiles are fetched (nothing from elsewhere): the stops, depots and lines are drawn alone.
(function () {
  "use strict";
  var element = document.getElementById("plan-map");
  if (!element || !window.L) {
    return;
  }
  var data;
  try {
    data = JSON.parse(element.dataset.plan || "{}");
  } catch (e) {
    return;
  }
  var L = window.L;
  var map = L.map(element, { attributionControl: false, scrollWheelZoom: false });
  var bounds = [];

  function popup(lines) {
    var box = document.createElement("div");
    lines.forEach(function (line, k) {
      var p = document.createElement(k === 0 ? "strong" : "div");
      p.textContent = line;
      box.appendChild(p);
    });
    return box;
  }

  (data.routes || []).forEach(function (route) {
    var points = [];
    if (route.depot) {
      points.push(route.depot);
    }
    route.stops.forEach(function (stop) {
      points.push([stop.lat, stop.lon]);
    });
    if (route.depot) {
      points.push(route.depot);
    }
    L.polyline(points, { color: route.colour, weight: 3, opacity: 0.85 }).addTo(map);
    route.stops.forEach(function (stop) {
      var label = document.createElement("span");
      label.className = "stop-marker";
      label.textContent = String(stop.n);
      label.style.backgroundColor = route.colour;
      var icon = L.divIcon({ className: "", html: label, iconSize: [22, 22], iconAnchor: [11, 11] });
      var marker = L.marker([stop.lat, stop.lon], {
        icon: icon,
        title: route.vehicle_id + " stop " + stop.n + ": " + stop.order_id,
        alt: route.vehicle_id + " stop " + stop.n,
      });
      marker.bindPopup(popup([
        route.vehicle_id + ", stop " + stop.n,
        stop.order_id,
        stop.address,
        "ETA " + stop.eta,
        "Window " + stop.window,
      ]));
      marker.addTo(map);
      bounds.push([stop.lat, stop.lon]);
    });
  });
  (data.depots || []).forEach(function (depot) {
    L.circleMarker([depot.lat, depot.lon], { radius: 8, color: "#000", fillColor: "#000", fillOpacity: 1 })
      .bindPopup(popup(["Depot " + depot.id, depot.name || ""]))
      .addTo(map);
    bounds.push([depot.lat, depot.lon]);
  });
  (data.unassigned || []).forEach(function (order) {
    L.circleMarker([order.lat, order.lon], { radius: 6, color: "#555", dashArray: "3", fillOpacity: 0.2 })
      .bindPopup(popup(["Left out: " + order.order_id, order.reason]))
      .addTo(map);
    bounds.push([order.lat, order.lon]);
  });
  if (bounds.length) {
    map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
  } else {
    map.setView([60.17, 24.94], 12);
  }
  element.dataset.ready = "1";
})();
