// The tracking page's map: the delivery area as a circle, no tiles (nothing from elsewhere).
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.L) {
    return;
  }
  var lat = parseFloat(element.dataset.lat);
  var lon = parseFloat(element.dataset.lon);
  var radius = parseFloat(element.dataset.radius);
  if (!isFinite(lat) || !isFinite(lon) || !isFinite(radius)) {
    return;
  }
  var map = window.L.map(element, {
    attributionControl: false,
    keyboard: false,
    scrollWheelZoom: false,
    zoomControl: false,
    dragging: false,
    doubleClickZoom: false,
    boxZoom: false,
    touchZoom: false,
  });
  var centre = window.L.latLng(lat, lon);
  map.fitBounds(centre.toBounds(radius * 2), { padding: [20, 20] });
  window.L.circle(centre, {
    radius: radius,
    color: "#0b5cad",
    weight: 2,
    fillOpacity: 0.15,
    interactive: false,
  }).addTo(map);
})();
