/* Draws the charts of a page from the specs in charts.js and the data beside each chart, and
   makes the dashboard's partner list searchable. Without JavaScript the tables show everything. */
(function () {
  "use strict";
  var specs = window.incentcalcCharts || {};
  var ERRORS_ONLY = 1; /* vega.Error: no console warnings about layout choices */

  function draw(element) {
    var template = specs[element.getAttribute("data-chart")];
    var data = document.getElementById(element.getAttribute("data-values"));
    if (!template || !data || typeof window.vegaEmbed !== "function") {
      return;
    }
    var spec = JSON.parse(JSON.stringify(template));
    spec.datasets = { values: JSON.parse(data.textContent) };
    window.vegaEmbed(element, spec, { actions: false, renderer: "svg", logLevel: ERRORS_ONLY }).then(function () {
      element.setAttribute("data-drawn", "true");
    });
  }

  function search() {
    var box = document.getElementById("partner-search");
    var input = document.getElementById("partner-filter");
    var list = document.getElementById("partner-list");
    var shown = document.getElementById("partner-count");
    if (!box || !input || !list) {
      return;
    }
    var rows = Array.prototype.slice.call(list.tBodies[0].rows);
    var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    box.hidden = false;
    input.addEventListener("input", function () {
      var wanted = input.value.trim().toLowerCase();
      var count = 0;
      rows.forEach(function (row, index) {
        var match = wanted === "" || texts[index].indexOf(wanted) !== -1;
        row.hidden = !match;
        if (match) { count += 1; }
      });
      shown.textContent = wanted === "" ? "" : count + " partner(s) found";
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);
  search();
}());
