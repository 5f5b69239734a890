// The KPI dashboard's charts: each figure's JSON block drawn with the package's Plotly.
// No inline script (the page's CSP): the figures are <script type="application/json"> blocks.
(function () {
  "use strict";
  if (!window.Plotly) {
    return;
  }
  document.querySelectorAll(".kpi-chart[data-figure]").forEach(function (element) {
    var source = document.getElementById(element.dataset.figure);
    if (!source) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(element, figure.data, figure.layout || {}, {
      displaylogo: false,
      responsive: true,
    });
  });
})();
