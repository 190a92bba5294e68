// Draws the outcomes of a charity's referrals on its record page from the figures the page
// carries (data-labels, data-values); the table beside it holds the same figures, so the page
// reads without this script. With nothing to show it says so (暂无数据), in the page's words.
(function () {
  "use strict";
  var canvas = document.getElementById("record-outcomes");
  if (!canvas || !window.Chart) { return; }
  var labels = JSON.parse(canvas.getAttribute("data-labels") || "[]");
  var values = JSON.parse(canvas.getAttribute("data-values") || "[]");
  if (!values.some(function (v) { return v > 0; })) {
    var note = document.createElement("p");
    note.className = "chart-empty muted";
    note.textContent = canvas.getAttribute("data-empty") || "暂无数据";
    canvas.parentNode.replaceChild(note, canvas);
    return;
  }
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: labels,
      datasets: [{
        label: canvas.getAttribute("data-series") || "",
        data: values,
        backgroundColor: ["#2e7d32", "#ef6c00", "#8d6e63", "#27507a"]
      }]
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });
}());
