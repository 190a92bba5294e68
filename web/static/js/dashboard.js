// Draws the dashboard's charts from /api/v1/stats/overview (the tables beside them are
// rendered by the server, so the figures are readable without this script). Axes are linear
// and counts tick in whole numbers; a chart with nothing to show says so (暂无数据). Words come
// from the page (data-series, data-empty), in the page's language.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root || !window.Chart) { return; }

  var palette = ["#b22222", "#27507a", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f",
                 "#8d6e63", "#c2185b", "#558b2f", "#5c6bc0", "#f9a825", "#546e7a"];

  //: Count axes tick at whole numbers only (no 0.2, 0.4 … for referrals).
  var WHOLE = { beginAtZero: true, ticks: { precision: 0 } };

  function isEmpty(datasets) {
    return !datasets.some(function (d) {
      return d.data.some(function (v) { return v !== null && v !== 0; });
    });
  }

  function bar(canvas, labels, datasets, options) {
    if (!labels.length || isEmpty(datasets)) {
      var note = document.createElement("p");
      note.className = "chart-empty muted";
      note.setAttribute("data-testid", "chart-empty");
      note.textContent = root.getAttribute("data-empty") || "暂无数据";
      canvas.parentNode.replaceChild(note, canvas);
      return null;
    }
    return new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: Object.assign({
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: datasets.length > 1 } }
      }, options || {})
    });
  }

  // The series' names as the page gives them (translated), by position.
  function set(canvas, i, data, colour) {
    var names = JSON.parse(canvas.getAttribute("data-series") || "[]");
    return { label: names[i] || "", data: data, backgroundColor: palette[colour % palette.length] };
  }

  var draw = {
    needs_and_places: function (canvas, f) {
      var rows = f.needs_and_places;
      bar(canvas, rows.map(function (r) { return r.label; }), [
        set(canvas, 0, rows.map(function (r) { return r.open_needs; }), 0),
        set(canvas, 1, rows.map(function (r) { return r.places; }), 1)
      ], { scales: { y: WHOLE } });
    },
    funnel: function (canvas, f) {
      var steps = f.funnel.steps;
      bar(canvas, steps.map(function (s) { return s.label; }),
          [set(canvas, 0, steps.map(function (s) { return s.count; }), 1)],
          { indexAxis: "y", scales: { x: WHOLE } });
    },
    delivered: function (canvas, f) {
      var months = [], domains = [];
      f.delivered.forEach(function (r) {
        if (months.indexOf(r.month) < 0) { months.push(r.month); }
        if (domains.indexOf(r.label) < 0) { domains.push(r.label); }
      });
      var datasets = domains.map(function (d, i) {
        var series = set(canvas, 0, months.map(function (m) {
          var hit = f.delivered.filter(function (r) { return r.month === m && r.label === d; })[0];
          return hit ? hit.amount_fen / 100 : 0;
        }), i);
        series.label = d;
        return series;
      });
      bar(canvas, months, datasets,
          { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } });
    },
    charities: function (canvas, f) {
      var rows = f.charities;
      bar(canvas, rows.map(function (r) { return r.name; }),
          [set(canvas, 0, rows.map(function (r) {
            return r.acceptance_rate === null ? 0 : Math.round(r.acceptance_rate * 1000) / 10;
          }), 2)], { indexAxis: "y", scales: { x: { min: 0, max: 100 } } });
    },
    groups_reached: function (canvas, f) {
      var rows = f.groups_reached;
      bar(canvas, rows.map(function (r) { return r.label; }),
          [set(canvas, 0, rows.map(function (r) { return r.households; }), 3)],
          { scales: { y: WHOLE } });
    },
    warnings_by_rule: function (canvas, f) {
      var rows = f.warnings_by_rule;
      bar(canvas, rows.map(function (r) { return r.label; }), [
        set(canvas, 0, rows.map(function (r) { return r.raised; }), 0),
        set(canvas, 1, rows.map(function (r) { return r.confirmed; }), 2),
        set(canvas, 2, rows.map(function (r) { return r.dismissed; }), 1),
        set(canvas, 3, rows.map(function (r) { return r.overdue; }), 3)
      ], { scales: { y: WHOLE } });
    },
    children: function (canvas, f) {
      var rows = f.children;
      bar(canvas, rows.map(function (r) { return r.name; }), [
        set(canvas, 0, rows.map(function (r) { return r.open_needs; }), 0),
        set(canvas, 1, rows.map(function (r) { return r.referrals; }), 1),
        set(canvas, 2, rows.map(function (r) { return r.completed; }), 2)
      ], { scales: { y: WHOLE } });
    }
  };

  fetch(root.getAttribute("data-overview-url"), { credentials: "same-origin",
                                                   headers: { "Accept": "application/json" } })
    .then(function (response) {
      if (!response.ok) { throw new Error("统计数据加载失败：" + response.status); }
      return response.json();
    })
    .then(function (figures) {
      root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
        var name = canvas.getAttribute("data-chart");
        if (draw[name]) { draw[name](canvas, figures); }
      });
      root.setAttribute("data-charts-ready", "1");
    })
    .catch(function (error) {
      root.setAttribute("data-charts-error", error.message);
    });
})();
