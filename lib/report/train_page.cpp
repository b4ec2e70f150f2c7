// The page of zoo report's training report: curves per epoch from
// events.jsonl, the final validation confusion matrix and per-class scores
// from metrics.json, and the run's options from train.json. The data is
// small (one row per epoch), so it is inline: one file.
#include "report/page.hpp"

namespace zoo::report {

const char* train_page_template() {
  return R"zoo_page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zoo training report</title>
<style>
{{STYLE}}
table.cm td { width: 34px; height: 26px; text-align: center; padding: 0; border: 1px solid #fff; font-size: 12px; }
.legend span { margin-right: 12px; }
</style>
</head>
<body>
<h1 id="title">zoo training report</h1>
<div class="muted" id="source"></div>
<div class="summary" id="summary"></div>
<div class="row">
  <div><h2>Loss</h2><div id="chart-loss"></div></div>
  <div><h2>Accuracy</h2><div id="chart-accuracy"></div></div>
  <div><h2>Learning rate</h2><div id="chart-lr"></div></div>
</div>
<div class="row">
  <div><h2>Confusion matrix <span class="muted">(validation, final weights; rows: truth)</span></h2><div id="confusion"></div></div>
  <div><h2>Per class</h2><table id="per-class"><thead><tr><th>class</th><th>precision</th><th>recall</th><th>support</th></tr></thead><tbody></tbody></table></div>
</div>
<h2>Options</h2>
<table id="options"><tbody></tbody></table>
<script>
"use strict";
const R = {{DATA}};
(function () {
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, text) => { const e = document.createElement(tag); for (const k in attrs || {}) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; };
  const NS = "http://www.w3.org/2000/svg";
  const svgEl = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
  const fmt = (v) => (v === null || v === undefined) ? "" : (Math.abs(v) >= 100 || v === Math.round(v) ? String(v) : Number(v).toPrecision(4));
  document.title = R.title; $("title").textContent = R.title;
  $("source").textContent = R.dir + " \u2014 written " + R.created;
  const m = R.metrics || {};
  [["n-epochs", (m.epochs_done || R.epochs.length) + " epochs"], ["n-best", "best epoch " + ((m.best || {}).epoch || "?")],
   ["n-train", (m.train_samples || 0) + " training images"], ["n-val", (m.val_samples || 0) + " validation images"],
   ["n-status", R.status]].forEach(([id, t]) => $("summary").appendChild(el("span", {id: id}, t)));

  // A line chart of `series` ({name, color, key}) over the epochs.
  function chart(id, series, log) {
    const W = 360, H = 200, L = 48, B = 24, T = 8;
    const pts = series.map((s) => R.epochs.filter((e) => typeof e[s.key] === "number").map((e) => [e.epoch, e[s.key]]));
    const all = pts.flat(); if (!all.length) { $(id).textContent = "no data"; return; }
    const tr = (v) => log ? Math.log10(Math.max(v, 1e-12)) : v;
    const xs = all.map((p) => p[0]), ys = all.map((p) => tr(p[1]));
    const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
    let y0 = Math.min(...ys), y1 = Math.max(...ys); if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
    const X = (x) => L + (W - L - 8) * (x - x0) / (x1 - x0), Y = (y) => T + (H - T - B) * (1 - (tr(y) - y0) / (y1 - y0));
    const svg = svgEl("svg", {width: W, height: H, id: id + "-svg"});
    svg.appendChild(svgEl("line", {x1: L, y1: H - B, x2: W - 8, y2: H - B, stroke: "#999"}));
    svg.appendChild(svgEl("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#999"}));
    for (const v of [y0, (y0 + y1) / 2, y1]) {
      const t = svgEl("text", {x: 2, y: T + (H - T - B) * (1 - (v - y0) / (y1 - y0)) + 4}); t.textContent = fmt(log ? Math.pow(10, v) : v); svg.appendChild(t);
    }
    for (const x of [x0, x1]) { const t = svgEl("text", {x: X(x) - 4, y: H - 6}); t.textContent = x; svg.appendChild(t); }
    const best = (m.best || {}).epoch;
    if (best) svg.appendChild(svgEl("line", {x1: X(best), y1: T, x2: X(best), y2: H - B, stroke: "#bbb", "stroke-dasharray": "3,3", "class": "best"}));
    series.forEach((s, i) => {
      if (!pts[i].length) return;
      svg.appendChild(svgEl("polyline", {points: pts[i].map(([x, y]) => X(x) + "," + Y(y)).join(" "), fill: "none", stroke: s.color, "stroke-width": 2, "class": "series", "data-name": s.name, "data-points": pts[i].length}));
      for (const [x, y] of pts[i]) {
        const c = svgEl("circle", {cx: X(x), cy: Y(y), r: 2.5, fill: s.color, "class": "point"});
        const t = svgEl("title", {}); t.textContent = s.name + " epoch " + x + ": " + fmt(y); c.appendChild(t); svg.appendChild(c);
      }
    });
    $(id).appendChild(svg);
    const legend = el("div", {"class": "legend"});
    series.forEach((s, i) => { if (pts[i].length) { const sp = el("span", {style: "color:" + s.color}, "\u25a0 "); sp.appendChild(document.createTextNode(s.name)); legend.appendChild(sp); } });
    $(id).appendChild(legend);
  }
  chart("chart-loss", [{name: "training", key: "loss", color: "#4a7fd4"}, {name: "validation", key: "val_loss", color: "#e0752d"}]);
  chart("chart-accuracy", [{name: "training", key: "accuracy", color: "#4a7fd4"}, {name: "validation", key: "val_accuracy", color: "#e0752d"}]);
  chart("chart-lr", [{name: "learning rate", key: "lr", color: "#3a9d5d"}], true);

  // The final confusion matrix as a heat map, each row's share as the shade.
  const v = (m.final || {}).validation || {};
  const cm = v.confusion_matrix || [], classes = m.classes || [];
  if (cm.length && m.val_samples !== 0) {
    const t = el("table", {"class": "cm", id: "confusion-table"}), head = el("tr");
    head.appendChild(el("th", {}, "")); classes.forEach((c) => head.appendChild(el("th", {}, c))); t.appendChild(head);
    cm.forEach((row, i) => {
      const tr = el("tr"); tr.appendChild(el("th", {}, classes[i] || i));
      const sum = row.reduce((a, b) => a + b, 0) || 1;
      row.forEach((n, j) => {
        const share = n / sum, hue = i === j ? "74,127,212" : "214,80,60";
        const td = el("td", {"class": "cell", "data-truth": classes[i], "data-predicted": classes[j], title: classes[i] + " \u2192 " + classes[j] + ": " + n,
                             style: "background: rgba(" + hue + "," + (n ? 0.15 + 0.85 * share : 0) + "); color:" + (share > 0.6 ? "#fff" : "#222")}, n || "");
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    $("confusion").appendChild(t);
  } else {
    $("confusion").textContent = "no validation set";
  }
  for (const c of (m.val_samples === 0 ? [] : v.per_class || [])) {
    const tr = el("tr", {"class": "class-row"});
    tr.appendChild(el("td", {}, c.label)); tr.appendChild(el("td", {"class": "num"}, fmt(c.precision)));
    tr.appendChild(el("td", {"class": "num"}, fmt(c.recall))); tr.appendChild(el("td", {"class": "num"}, c.support));
    $("per-class").tBodies[0].appendChild(tr);
  }
  const opts = (R.train || {}).options || {};
  for (const k of Object.keys(opts).sort()) {
    const tr = el("tr", {"class": "option-row"}); tr.appendChild(el("th", {}, k)); tr.appendChild(el("td", {}, JSON.stringify(opts[k])));
    $("options").tBodies[0].appendChild(tr);
  }
})();
</script>
</body>
</html>
)zoo_page";
}

}  // namespace zoo::report
