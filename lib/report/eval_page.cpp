// The page of zoo eval --html: the metrics and gates, per-class scores, and
// for classifiers the confusion matrix as a heat map whose cells open
// their mistakes, the mistakes gallery, and with --baseline the inputs it
// fixed and broke side by side. Renders PAGE_files/data.js
// (window.ZOO_EVAL: the JSON report zoo eval writes, plus thumbnails).
#include "report/page.hpp"

namespace zoo::report {

const char* eval_page_template() {
  return R"zoo_page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zoo eval report</title>
<style>
{{STYLE}}
.pass { color: #17803d; font-weight: 600; } .fail { color: #c62828; font-weight: 600; }
.bar { display: inline-block; height: 8px; background: #4a7fd4; vertical-align: middle; margin-left: 6px; }
table.cm td { min-width: 30px; height: 26px; text-align: center; padding: 0 2px; border: 1px solid #fff; font-size: 12px; }
table.cm td.click { cursor: pointer; } table.cm td.click:hover { outline: 2px solid #222; } table.cm td.on { outline: 3px solid #000; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin-top: 8px; }
.card img { height: 120px; } .card .cap { padding: 3px 5px; }
.pager { margin: 8px 0; }
</style>
</head>
<body>
<h1 id="title">zoo eval report</h1>
<div class="muted" id="source"></div>
<div class="row">
  <div><h2>Metrics</h2><table id="metrics"><tbody></tbody></table></div>
  <div id="gates-box"><h2>Gates</h2><table id="gates"><thead><tr><th>gate</th><th>actual</th><th></th></tr></thead><tbody></tbody></table></div>
  <div><h2>Per class</h2><table id="per-class"><thead></thead><tbody></tbody></table></div>
</div>
<div id="pr-box" hidden><h2>Precision–recall <span class="muted">(IoU 0.5, COCOeval's interpolated precision at 101 recall points)</span></h2><div id="pr"></div></div>
<div id="confusion-box"><h2>Confusion matrix <span class="muted">(rows: truth, columns: predicted; click a cell for its inputs)</span></h2><div id="confusion"></div></div>
<div id="cell-box" hidden><h2 id="cell-title"></h2><div class="gallery" id="cell-gallery"></div></div>
<div id="mistakes-box"><h2>Mistakes <span class="muted" id="mistakes-count"></span></h2><div class="pager" id="pager"></div><div class="gallery" id="mistakes"></div></div>
<div id="baseline-box" hidden><h2>Against the baseline <span class="muted" id="baseline-text"></span></h2>
  <div class="row"><div style="flex:1"><h2>Fixed <span class="muted" id="fixed-count"></span></h2><div class="gallery" id="fixed"></div></div>
  <div style="flex:1"><h2>Broken <span class="muted" id="broken-count"></span></h2><div class="gallery" id="broken"></div></div></div></div>
<script src="{{FILES}}/data.js"></script>
<script>
"use strict";
(function () {
  const D = window.ZOO_EVAL, $ = (id) => document.getElementById(id);
  if (!D) { $("source").textContent = "{{FILES}}/data.js is missing: keep the folder beside the page."; return; }
  const R = D.report, PAGE = 60;
  const el = (tag, attrs, text) => { const e = document.createElement(tag); for (const k in attrs || {}) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; };
  const fmt = (v) => typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v);
  const base = (p) => p.slice(p.lastIndexOf("/") + 1);
  document.title = D.title; $("title").textContent = D.title;
  $("source").textContent = "labels " + R.labels + ", truth " + R.truth + " \u2014 written " + D.created;
  for (const k of Object.keys(R)) {
    if (typeof R[k] !== "number" && k !== "average") continue;
    const tr = el("tr", {"class": "metric", "data-key": k}); tr.appendChild(el("th", {}, k)); tr.appendChild(el("td", {"class": "num"}, fmt(R[k])));
    $("metrics").tBodies[0].appendChild(tr);
  }
  if (R.gates && R.gates.length) {
    for (const g of R.gates) {
      const tr = el("tr", {"class": "gate"}); tr.appendChild(el("td", {}, g.gate)); tr.appendChild(el("td", {"class": "num"}, fmt(g.actual)));
      tr.appendChild(el("td", {"class": g.passed ? "pass" : "fail"}, g.passed ? "passed" : "FAILED")); $("gates").tBodies[0].appendChild(tr);
    }
  } else { $("gates-box").hidden = true; }

  // Per class: whatever scores the report has (precision, recall, f1; or ap, ap50, ...), with bars.
  const pc = R.per_class || [];
  if (pc.length) {
    const keys = Object.keys(pc[0]).filter((k) => k !== "label" && !Array.isArray(pc[0][k]));
    const head = el("tr"); head.appendChild(el("th", {}, "class")); keys.forEach((k) => head.appendChild(el("th", {}, k))); $("per-class").tHead.appendChild(head);
    for (const c of pc) {
      const tr = el("tr", {"class": "class-row"}); tr.appendChild(el("td", {}, c.label));
      for (const k of keys) {
        const td = el("td", {"class": "num"}, fmt(c[k]));
        if (["precision", "recall", "f1", "ap", "ap50", "ap75"].includes(k) && typeof c[k] === "number") td.appendChild(el("span", {"class": "bar", style: "width:" + Math.round(60 * c[k]) + "px"}));
        tr.appendChild(td);
      }
      $("per-class").tBodies[0].appendChild(tr);
    }
  }

  // Detectors: one precision-recall curve per class.
  const curves = pc.filter((c) => Array.isArray(c.pr50));
  if (curves.length) {
    const NS = "http://www.w3.org/2000/svg", W = 420, H = 260, L = 36, B = 24, T = 8;
    const svgEl = (tag, attrs) => { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
    const svg = svgEl("svg", {width: W, height: H, id: "pr-svg"});
    const X = (r) => L + (W - L - 8) * r, Y = (p) => T + (H - T - B) * (1 - p);
    svg.appendChild(svgEl("line", {x1: L, y1: H - B, x2: W - 8, y2: H - B, stroke: "#999"}));
    svg.appendChild(svgEl("line", {x1: L, y1: T, x2: L, y2: H - B, stroke: "#999"}));
    for (const v of [0, 0.5, 1]) {
      const a = svgEl("text", {x: X(v) - 6, y: H - 6}); a.textContent = v; svg.appendChild(a);
      const b = svgEl("text", {x: 4, y: Y(v) + 4}); b.textContent = v; svg.appendChild(b);
    }
    const legend = el("div", {"class": "legend"});
    curves.forEach((c, i) => {
      const color = "hsl(" + Math.round(i * 360 / curves.length) + ",65%,45%)";
      const pts = c.pr50.map((p, k) => X(k / (c.pr50.length - 1)) + "," + Y(p)).join(" ");
      const line = svgEl("polyline", {points: pts, fill: "none", stroke: color, "stroke-width": 2, "class": "pr-series", "data-class": c.label});
      const t = svgEl("title", {}); t.textContent = c.label + ": AP50 " + fmt(c.ap50); line.appendChild(t); svg.appendChild(line);
      const sp = el("span", {style: "color:" + color + "; margin-right: 12px"}, "■ "); sp.appendChild(document.createTextNode(c.label + " " + fmt(c.ap50))); legend.appendChild(sp);
    });
    $("pr").appendChild(svg); $("pr").appendChild(legend); $("pr-box").hidden = false;
  }

  function card(path, caption) {
    const c = el("div", {"class": "card", "data-path": path}), t = D.thumbs[path];
    if (t) c.appendChild(el("img", {src: D.files + "/thumbs/" + t, loading: "lazy", alt: base(path)}));
    c.appendChild(el("div", {"class": "cap", title: path}, caption)); return c;
  }
  const mistakeCaption = (m) => base(m.filepath) + ": " + m.truth + " \u2192 " + (m.predicted !== undefined ? m.predicted + " " + fmt(m.confidence) : (m.error || "no label"));
  const mistakes = R.mistakes || [];

  // The confusion matrix; a cell lists its inputs (the mistakes with that truth and prediction).
  const cm = R.confusion_matrix, cols = R.confusion_columns || [], rows = R.classes || [];
  const predictedOf = (m) => m.predicted !== undefined ? m.predicted : cols[cols.length - 1];
  if (cm && cm.length) {
    const t = el("table", {"class": "cm", id: "confusion-table"}), head = el("tr");
    head.appendChild(el("th", {}, "")); cols.forEach((c) => head.appendChild(el("th", {}, c))); t.appendChild(head);
    cm.forEach((row, i) => {
      const tr = el("tr"); tr.appendChild(el("th", {}, rows[i]));
      const sum = row.reduce((a, b) => a + b, 0) || 1;
      row.forEach((n, j) => {
        const share = n / sum, diag = rows[i] === cols[j], hue = diag ? "74,127,212" : "214,80,60";
        const td = el("td", {"class": "cell" + (n && !diag ? " click" : ""), "data-truth": rows[i], "data-predicted": cols[j], "data-count": n,
                             title: rows[i] + " \u2192 " + cols[j] + ": " + n, style: "background: rgba(" + hue + "," + (n ? 0.12 + 0.88 * share : 0) + "); color:" + (share > 0.6 ? "#fff" : "#222")}, n || "");
        if (n && !diag) td.addEventListener("click", () => { location.hash = "cell=" + encodeURIComponent(rows[i]) + "|" + encodeURIComponent(cols[j]); });
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    $("confusion").appendChild(t);
  } else { $("confusion-box").hidden = true; }
  function showCell() {
    const m = /^#cell=([^|]*)\|(.*)$/.exec(location.hash);
    for (const td of document.querySelectorAll("td.cell")) td.classList.remove("on");
    if (!m) { $("cell-box").hidden = true; return; }
    const truth = decodeURIComponent(m[1]), predicted = decodeURIComponent(m[2]);
    for (const td of document.querySelectorAll("td.cell")) if (td.dataset.truth === truth && td.dataset.predicted === predicted) td.classList.add("on");
    const these = mistakes.filter((x) => x.truth === truth && predictedOf(x) === predicted);
    $("cell-title").textContent = truth + " predicted as " + predicted + " (" + these.length + ")";
    $("cell-title").setAttribute("data-count", these.length);
    const g = $("cell-gallery"); g.textContent = "";
    these.forEach((x) => g.appendChild(card(x.filepath, mistakeCaption(x))));
    $("cell-box").hidden = false;
  }
  window.addEventListener("hashchange", showCell);

  // Every mistake, paged.
  let page = 0;
  function showMistakes() {
    const pages = Math.ceil(mistakes.length / PAGE);
    $("mistakes-count").textContent = "(" + mistakes.length + ")"; $("mistakes-count").setAttribute("data-count", mistakes.length);
    const p = $("pager"); p.textContent = "";
    const prev = el("button", {}, "\u2039 previous"), next = el("button", {}, "next \u203a");
    prev.disabled = page === 0; next.disabled = page >= pages - 1;
    prev.addEventListener("click", () => { page--; showMistakes(); }); next.addEventListener("click", () => { page++; showMistakes(); });
    p.appendChild(prev); p.appendChild(el("span", {}, "page " + (pages ? page + 1 : 0) + " of " + pages)); p.appendChild(next);
    const g = $("mistakes"); g.textContent = "";
    mistakes.slice(page * PAGE, (page + 1) * PAGE).forEach((x) => g.appendChild(card(x.filepath, mistakeCaption(x))));
  }
  if (R.mistakes !== undefined) showMistakes(); else $("mistakes-box").hidden = true;

  if (R.baseline) {
    $("baseline-box").hidden = false;
    $("baseline-text").textContent = "(" + R.baseline.labels + ": accuracy " + fmt(R.baseline.accuracy) + " \u2192 " + fmt(R.accuracy) + ")";
    for (const [id, list] of [["fixed", R.baseline.fixed], ["broken", R.baseline.broken]]) {
      $(id + "-count").textContent = "(" + list.length + ")"; $(id + "-count").setAttribute("data-count", list.length);
      list.forEach((path) => $(id).appendChild(card(path, base(path))));
    }
  }
  showCell();
})();
</script>
</body>
</html>
)zoo_page";
}

}  // namespace zoo::report
