// Draws the charts a page carries as JSON (<script type="application/json" data-chart>),
// with the plotly.js the app serves; the CSP allows no inline script. Without JavaScript
// the data table beneath each chart still shows every number.
(function () {
  "use strict";

  function draw(source) {
    var target = document.getElementById(source.getAttribute("data-chart"));
    if (!target || !window.Plotly) { return; }
    var spec = JSON.parse(source.textContent);
    window.Plotly.newPlot(target, spec.data, spec.layout, spec.config).then(function () {
      target.setAttribute("data-drawn", "true");
    });
  }

  // "Copy table": the table as tab-separated text, which spreadsheets paste into cells.
  function tableText(table) {
    return Array.prototype.map.call(table.rows, function (row) {
      return Array.prototype.map.call(row.cells, function (cell) {
        return cell.innerText.replace(/\s+/g, " ").trim();
      }).join("\t");
    }).join("\n");
  }

  function copy(button) {
    var table = document.getElementById(button.getAttribute("data-copy-table"));
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    if (!table || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(tableText(table)).then(function () {
      if (status) { status.textContent = button.getAttribute("data-copied"); }
    });
  }

  function start() {
    document.querySelectorAll('script[type="application/json"][data-chart]').forEach(draw);
    document.querySelectorAll("button[data-copy-table]").forEach(function (button) {
      button.hidden = !navigator.clipboard;
      button.addEventListener("click", function () { copy(button); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
