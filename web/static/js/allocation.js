// Draws an allocation plan's chart: needs served per township by the plan and by first come
// first served, from the canvas's own data attributes (the table beside it is rendered by the
// server, so the figures are readable without this script). Words come from the page.
(function () {
  "use strict";
  var canvas = document.getElementById("township-chart");
  if (!canvas) { return; }

  function read(name) { return JSON.parse(canvas.getAttribute("data-" + name) || "[]"); }

  var labels = read("labels");
  var plan = read("plan");
  var fcfs = read("fcfs");
  var names = read("series");
  var empty = !labels.length || !plan.concat(fcfs).some(function (v) { return v; });
  if (empty || !window.Chart) {
    if (empty) {
      var note = document.createElement("p");
      note.className = "chart-empty muted";
      note.textContent = canvas.getAttribute("data-empty") || "暂无数据";
      canvas.parentNode.replaceChild(note, canvas);
    }
    return;
  }
  new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: labels,
      datasets: [
        { label: names[0] || "", data: plan, backgroundColor: "#b22222" },
        { label: names[1] || "", data: fcfs, backgroundColor: "#27507a" }
      ]
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });
  canvas.setAttribute("data-chart-ready", "1");
})();
