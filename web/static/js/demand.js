// Draws 需求缺口's chart from the counts the page already holds (the table beside it has the
// same figures, so the page reads without this script). A count shown as 少于5 gets no bar:
// the chart never draws a number the table hides. Words come from the page's data attributes.
(function () {
  "use strict";
  var canvas = document.getElementById("demand-chart");
  if (!canvas || !window.Chart) { return; }
  var rows = JSON.parse(canvas.getAttribute("data-figures") || "[]");
  var names = JSON.parse(canvas.getAttribute("data-series") || "[]");
  var anything = rows.some(function (r) { return r.needs !== null || r.places > 0; });
  if (!anything) {
    var note = document.createElement("p");
    note.className = "chart-empty muted";
    note.textContent = canvas.getAttribute("data-empty") || "";
    canvas.parentNode.replaceChild(note, canvas);
    return;
  }
  var suppressed = canvas.getAttribute("data-suppressed") || "";
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: rows.map(function (r) { return r.label; }),
      datasets: [
        { label: names[0] || "", backgroundColor: "#b22222",
          data: rows.map(function (r) { return r.needs; }) },
        { label: names[1] || "", backgroundColor: "#27507a",
          data: rows.map(function (r) { return r.places; }) }
      ]
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      plugins: {
        tooltip: {
          callbacks: {
            label: function (item) {
              var value = item.raw === null ? suppressed : item.raw;
              return item.dataset.label + ": " + value;
            }
          }
        }
      }
    }
  });
  canvas.parentNode.setAttribute("data-chart-ready", "1");
})();
