// The dispatch board: the routes map, live updates by server-sent events, proposal previews.
// No inline script (the page's CSP): data comes from data-* attributes, JSON blocks and JSON URLs.
(function () {
  "use strict";
  var board = document.getElementById("board");
  if (!board || !window.L || !window.htmx) {
    return;
  }
  var L = window.L;
  var htmx = window.htmx;
  var mapElement = document.getElementById("board-map");
  var routeList = document.getElementById("route-list");
  var live = document.getElementById("live");
  var map = null;
  var layer = null;
  var fitted = false;

  function text(tag, content, className) {
    var element = document.createElement(tag);
    element.textContent = content;
    if (className) {
      element.className = className;
    }
    return element;
  }

  function blankMap(element, interactive) {
    return L.map(element, {
      attributionControl: false,
      zoomControl: interactive,
      scrollWheelZoom: false,
      dragging: interactive,
      doubleClickZoom: interactive,
      boxZoom: false,
      touchZoom: interactive,
      keyboard: interactive,
    });
  }

  function stopPopup(route, stop) {
    var lines = [
      route.vehicle_id + ", stop " + stop.seq + ": " + stop.order_id,
      "State: " + stop.state.replace(/_/g, " "),
    ];
    if (stop.state === "pending" || stop.state === "arrived") {
      lines.push("ETA " + stop.eta);
    }
    if (stop.window) {
      lines.push("Window " + stop.window);
    }
    var box = document.createElement("div");
    lines.forEach(function (line) {
      box.appendChild(text("div", line));
    });
    return box;
  }

  function routeSummary(route) {
    var parts = [
      route.vehicle_id + (route.driver_id ? " (" + route.driver_id + ")" : ""),
      route.done + " of " + route.total + " stops done",
    ];
    parts.push(route.next_eta ? "next ETA " + route.next_eta + " at " + route.next_stop : "no stop left");
    parts.push(
      route.last_scan
        ? "last scan " + route.last_scan.kind + " at " + route.last_scan.at
        : "no scan yet today",
    );
    if (route.incident) {
      parts.push("incident reported");
    }
    if (route.version > 1) {
      parts.push("version " + route.version);
    }
    return parts.join(" · ");
  }

  function drawRoutes(data) {
    if (!map) {
      map = blankMap(mapElement, true);
      map.setView([60.17, 24.94], 11);
    }
    if (layer) {
      layer.remove();
    }
    layer = L.featureGroup().addTo(map);
    routeList.replaceChildren();
    data.routes.forEach(function (route) {
      var points = route.stops.map(function (s) {
        return [s.lat, s.lon];
      });
      if (route.depot) {
        points.unshift(route.depot);
        L.rectangle(L.latLng(route.depot).toBounds(60), {
          color: "#111",
          weight: 2,
          fillOpacity: 0.8,
        })
          .bindPopup(text("div", "Depot of " + route.vehicle_id))
          .addTo(layer);
      }
      if (points.length > 1) {
        L.polyline(points, { color: route.colour, weight: 4, opacity: 0.8 })
          .bindPopup(text("div", routeSummary(route)))
          .addTo(layer);
      }
      route.stops.forEach(function (stop) {
        var done = stop.state !== "pending" && stop.state !== "arrived";
        L.circleMarker([stop.lat, stop.lon], {
          radius: 6,
          color: route.colour,
          weight: 2,
          fillColor: done ? route.colour : "#ffffff",
          fillOpacity: 1,
          className: done ? "stop-done" : "stop-pending",
        })
          .bindPopup(stopPopup(route, stop))
          .addTo(layer);
      });
      var item = text("li", route.id + ": " + routeSummary(route), "route");
      item.style.borderLeftColor = route.colour;
      item.dataset.routeId = route.id;
      routeList.appendChild(item);
    });
    if (!data.routes.length) {
      routeList.appendChild(text("li", "No published route on " + data.day + "."));
    }
    if (!fitted && layer.getLayers().length) {
      map.fitBounds(layer.getBounds(), { padding: [20, 20] });
      fitted = true;
    }
    board.dataset.mapLoaded = String(Number(board.dataset.mapLoaded || "0") + 1);
  }

  function loadRoutes() {
    return fetch(board.dataset.mapUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("map " + response.status);
        }
        return response.json();
      })
      .then(drawRoutes)
      .catch(function (error) {
        live.textContent = "The map could not be loaded (" + error.message + "); it will retry.";
      });
  }

  function drawPreview(element) {
    if (element.classList.contains("leaflet-container")) {
      return;
    }
    var source = document.getElementById(element.dataset.preview);
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var preview = blankMap(element, false);
    var group = L.featureGroup().addTo(preview);
    data.before.forEach(function (route) {
      if (route.points.length > 1) {
        L.polyline(route.points, { color: route.colour, weight: 2, opacity: 0.6, dashArray: "4 6" }).addTo(group);
      }
    });
    data.after.forEach(function (route) {
      if (route.points.length > 1) {
        L.polyline(route.points, { color: route.colour, weight: 4, opacity: 0.9 }).addTo(group);
      }
      route.points.forEach(function (point) {
        L.circleMarker(point, { radius: 3, color: route.colour, weight: 1, fillOpacity: 1 }).addTo(group);
      });
    });
    if (group.getLayers().length) {
      preview.fitBounds(group.getBounds(), { padding: [10, 10] });
    } else {
      preview.setView([60.17, 24.94], 11);
    }
  }

  function drawPreviews(root) {
    root.querySelectorAll(".preview-map").forEach(drawPreview);
  }

  function busyTyping(root) {
    var fields = root.querySelectorAll("input[type=text]");
    for (var k = 0; k < fields.length; k += 1) {
      if (fields[k].value || fields[k] === document.activeElement) {
        return true;
      }
    }
    return false;
  }

  function refreshProposals() {
    var open = document.querySelector("#proposals .proposals");
    // Leave the panel alone while the dispatcher types, or reads the answer to a decision
    // (a stale proposal is refused with a message anyway).
    if (!open || busyTyping(open) || open.querySelector(".notice, .error")) {
      return;
    }
    var url = "/dispatch/exceptions/" + encodeURIComponent(open.dataset.exceptionId) + "/proposals";
    htmx.ajax("GET", url, { target: "#proposals", swap: "innerHTML" });
  }

  var marks = JSON.parse(board.dataset.marks || "{}");

  function changed(next, parts) {
    return parts.some(function (part) {
      return next[part] !== marks[part];
    });
  }

  function onBoard(event) {
    var next = JSON.parse(event.data);
    if (changed(next, ["routes", "scans"])) {
      loadRoutes();
    }
    if (changed(next, ["exceptions", "proposals"])) {
      htmx.trigger(document.body, "board:exceptions");
    }
    if (changed(next, ["proposals", "exceptions"])) {
      refreshProposals();
    }
    if (changed(next, ["decisions"])) {
      htmx.trigger(document.body, "board:decisions");
    }
    marks = next;
    live.textContent = "Live: up to date at " + new Date().toLocaleTimeString();
  }

  function listen() {
    if (!window.EventSource) {
      live.textContent = "This browser cannot follow live updates: reload the page to see changes.";
      return;
    }
    var source = new EventSource(board.dataset.streamUrl);
    source.addEventListener("board", onBoard);
    source.addEventListener("error", function () {
      live.textContent = "Live updates: reconnecting…";
    });
    window.addEventListener("pagehide", function () {
      source.close();
    });
  }

  document.body.addEventListener("htmx:afterSettle", function (event) {
    drawPreviews(event.detail.elt || document);
  });
  document.body.addEventListener("board-changed", function () {
    loadRoutes();
  });
  drawPreviews(document);
  loadRoutes();
  listen();
})();
