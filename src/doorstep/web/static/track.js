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
  var vanLat = parseFloat(element.dataset.vanLat);
  var vanLon = parseFloat(element.dataset.vanLon);
  if (isFinite(vanLat) && isFinite(vanLon)) {
    var van = window.L.latLng(vanLat, vanLon);
    window.L.circleMarker(van, {
      radius: 7,
      color: "#b35900",
      weight: 2,
      fillOpacity: 0.8,
      interactive: false,
    }).addTo(map);
    map.fitBounds(centre.toBounds(radius * 2).extend(van), { padding: [20, 20] });
  }
})();
