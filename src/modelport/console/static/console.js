// modelport console: draws Chart.js charts described in data-chart attributes, and polls the
// live series of a model page. No inline scripts (the CSP forbids them), no build step.
"use strict";
(function () {
  const palette = ["#0550ae", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#57606a"];

  function drawStatic() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas, i) {
      const config = JSON.parse(canvas.dataset.chart);
      config.data.datasets.forEach(function (ds, j) { ds.backgroundColor = palette[j % palette.length]; ds.borderColor = palette[j % palette.length]; });
      config.options = { animation: false, responsive: true, plugins: { legend: { position: "bottom" } } };
      canvas.dataset.drawn = "true";
      new window.Chart(canvas, config);
    });
  }

  function liveCharts(box) {
    const make = function (id) {
      return new window.Chart(document.getElementById(id), { type: "line", data: { labels: [], datasets: [] },
        options: { animation: false, responsive: true, spanGaps: true, plugins: { legend: { position: "bottom" } } } });
    };
    const charts = { rps: make("chart-rps"), latency: make("chart-latency"), errors: make("chart-errors") };
    async function refresh() {
      let answer;
      try {
        answer = await fetch(box.dataset.live, { credentials: "same-origin", headers: { Accept: "application/json" } });
      } catch (e) { return; }
      if (answer.redirected) { window.location.href = answer.url; return; }
      if (!answer.ok) return;
      const body = await answer.json();
      const versions = Object.keys(body.versions);
      const sets = { rps: [], latency: [], errors: [] };
      versions.forEach(function (v, i) {
        const s = body.versions[v], color = palette[i % palette.length];
        sets.rps.push({ label: "v" + v, data: s.rps, borderColor: color, backgroundColor: color });
        sets.latency.push({ label: "v" + v + " p50", data: s.p50, borderColor: color, backgroundColor: color });
        sets.latency.push({ label: "v" + v + " p99", data: s.p99, borderColor: color, backgroundColor: color, borderDash: [6, 4] });
        sets.errors.push({ label: "v" + v, data: s.errors, borderColor: color, backgroundColor: color });
      });
      Object.keys(charts).forEach(function (k) { charts[k].data.labels = body.labels; charts[k].data.datasets = sets[k]; charts[k].update(); });
      box.dataset.versions = versions.join(",");
      box.dataset.updated = String(Date.now());
    }
    refresh();
    window.setInterval(refresh, 5000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawStatic();
    const box = document.querySelector("[data-live]");
    if (box && window.Chart) liveCharts(box);
  });
})();
