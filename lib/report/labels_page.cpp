// The page of zoo report's labels report: HTML, CSS and the script that
// renders REPORT_files/data.js (window.ZOO_REPORT). Self-contained: no
// network, no library. Filters live in the URL's #hash (class=, min=,
// max=, errors=1, page=), so a filtered view can be shared and reloaded.
#include "report/page.hpp"

namespace zoo::report {

const char* labels_page_template() {
  return R"zoo_page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zoo report</title>
<style>
{{STYLE}}
tr.pick { cursor: pointer; } tr.pick:hover { background: #eef5ff; } tr.on { background: #dbeaff; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
.filters { background: #fff; padding: 8px 12px; border: 1px solid #ddd; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
.filters input[type=number] { width: 64px; }
#gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; margin-top: 10px; }
.card img { height: 170px; } .card .cap { padding: 4px 6px; }
.card.error { border-color: #d33; } .card.error .cap { color: #a00; }
.pager { margin: 12px 0; }
</style>
</head>
<body>
<h1 id="title">zoo report</h1>
<div class="muted" id="source"></div>
<div class="summary" id="summary"></div>
<div class="row">
  <div><h2>Classes</h2><table id="class-table"><thead><tr><th>class</th><th>labels</th><th>images</th></tr></thead><tbody></tbody></table></div>
  <div><h2>Confidence</h2><div id="histogram"></div></div>
</div>
<h2>Failed inputs <span class="muted" id="error-count"></span></h2>
<table id="error-table"><thead><tr><th>input</th><th>frame</th><th>error</th></tr></thead><tbody></tbody></table>
<h2>Gallery <span class="muted" id="gallery-count"></span></h2>
<div class="filters">
  <label>class <select id="f-class"><option value="">any</option></select></label>
  <label>confidence from <input id="f-min" type="number" min="0" max="1" step="0.05"> to <input id="f-max" type="number" min="0" max="1" step="0.05"></label>
  <label><input id="f-errors" type="checkbox"> failed inputs only</label>
</div>
<div class="pager" id="pager-top"></div>
<div id="gallery"></div>
<div class="pager" id="pager-bottom"></div>
<script src="{{FILES}}/data.js"></script>
<script>
"use strict";
(function () {
  const R = window.ZOO_REPORT;
  const $ = (id) => document.getElementById(id);
  if (!R) { $("summary").textContent = "{{FILES}}/data.js is missing: keep the folder beside the page."; return; }
  const PAGE = R.page_size;
  const el = (tag, attrs, text) => { const e = document.createElement(tag); for (const k in attrs || {}) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; };
  const base = (p) => p.slice(p.lastIndexOf("/") + 1);
  document.title = R.title; $("title").textContent = R.title;
  $("source").textContent = R.labels + " \u2014 written " + R.created;
  const s = $("summary");
  [["n-records", R.items.length + " records"], ["n-ok", (R.items.length - R.errors.length) + " labelled"],
   ["n-errors", R.errors.length + " failed"], ["n-classes", R.classes.length + " classes"]]
    .forEach(([id, t]) => s.appendChild(el("span", {id: id}, t)));

  // Classes: click a row to filter the gallery by it.
  const tbody = $("class-table").tBodies[0];
  // Most labels first.
  R.classes.map((c, i) => [c, i]).sort((a, b) => b[0].labels - a[0].labels || (a[0].name < b[0].name ? -1 : 1)).forEach(([c]) => {
    const tr = el("tr", {"class": "pick", "data-class": c.name});
    const td = el("td"); td.appendChild(el("span", {"class": "swatch", style: "background:" + c.color})); td.appendChild(document.createTextNode(c.name));
    tr.appendChild(td); tr.appendChild(el("td", {"class": "num"}, c.labels)); tr.appendChild(el("td", {"class": "num"}, c.images));
    tr.addEventListener("click", () => setState({cls: state.cls === c.name ? "" : c.name, page: 0}));
    tbody.appendChild(tr);
    $("f-class").appendChild(el("option", {value: c.name}, c.name));
  });

  // The confidence histogram: R.histogram[i] labels in [i/n, (i+1)/n).
  (function () {
    const n = R.histogram.length, W = 420, H = 160, pad = 28, max = Math.max(1, ...R.histogram);
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("width", W); svg.setAttribute("height", H + pad); svg.setAttribute("id", "histogram-svg");
    const bw = (W - pad) / n;
    R.histogram.forEach((v, i) => {
      const h = Math.round((H - 10) * v / max);
      const r = document.createElementNS(svg.namespaceURI, "rect");
      r.setAttribute("x", pad + i * bw + 1); r.setAttribute("y", H - h); r.setAttribute("width", bw - 2); r.setAttribute("height", h);
      r.setAttribute("fill", "#4a7fd4"); r.setAttribute("class", "bar"); r.setAttribute("data-count", v);
      const t = document.createElementNS(svg.namespaceURI, "title"); t.textContent = (i / n).toFixed(2) + "\u2013" + ((i + 1) / n).toFixed(2) + ": " + v; r.appendChild(t);
      svg.appendChild(r);
    });
    for (const x of [0, 0.5, 1]) {
      const t = document.createElementNS(svg.namespaceURI, "text"); t.setAttribute("x", pad + x * (W - pad) - (x === 1 ? 10 : 0)); t.setAttribute("y", H + 16); t.textContent = x; svg.appendChild(t);
    }
    const t = document.createElementNS(svg.namespaceURI, "text"); t.setAttribute("x", 0); t.setAttribute("y", 12); t.textContent = max; svg.appendChild(t);
    $("histogram").appendChild(svg);
  })();

  // Failed inputs (the first 500 listed; all in the gallery's filter).
  const etb = $("error-table").tBodies[0];
  R.errors.slice(0, 500).forEach((i) => {
    const it = R.items[i], tr = el("tr", {"class": "error-row"});
    tr.appendChild(el("td", {}, R.paths[it[1]])); tr.appendChild(el("td", {"class": "num"}, it[2] || "")); tr.appendChild(el("td", {}, it[4]));
    etb.appendChild(tr);
  });
  $("error-count").textContent = R.errors.length > 500 ? "(" + R.errors.length + ", the first 500 listed)" : "(" + R.errors.length + ")";

  // Filters, kept in the URL's hash.
  const state = {cls: "", min: "", max: "", errors: false, page: 0};
  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    state.cls = p.get("class") || ""; state.min = p.get("min") || ""; state.max = p.get("max") || "";
    state.errors = p.get("errors") === "1"; state.page = Math.max(0, parseInt(p.get("page") || "1", 10) - 1) || 0;
  }
  function setState(change) {
    Object.assign(state, change);
    const p = new URLSearchParams();
    if (state.cls) p.set("class", state.cls); if (state.min !== "") p.set("min", state.min); if (state.max !== "") p.set("max", state.max);
    if (state.errors) p.set("errors", "1"); if (state.page) p.set("page", state.page + 1);
    history.replaceState(null, "", "#" + p.toString());
    render();
  }
  $("f-class").addEventListener("change", (e) => setState({cls: e.target.value, page: 0}));
  $("f-min").addEventListener("change", (e) => setState({min: e.target.value, page: 0}));
  $("f-max").addEventListener("change", (e) => setState({max: e.target.value, page: 0}));
  $("f-errors").addEventListener("change", (e) => setState({errors: e.target.checked, page: 0}));
  window.addEventListener("hashchange", () => { readHash(); render(); });

  const classIndex = {}; R.classes.forEach((c, i) => { classIndex[c.name] = i; });
  function matches(it) {
    if (state.errors) return it[4] !== null;
    if (it[4] !== null) return !state.cls && state.min === "" && state.max === "";
    const lo = state.min === "" ? -Infinity : parseFloat(state.min), hi = state.max === "" ? Infinity : parseFloat(state.max);
    const want = state.cls ? classIndex[state.cls] : -1;
    if (want === undefined) return false;
    if (want < 0 && lo === -Infinity && hi === Infinity) return true;
    return it[3].some(([c, conf]) => (want < 0 || c === want) && (conf === null ? lo === -Infinity && hi === Infinity : conf >= lo && conf <= hi));
  }
  function pager(node, total, pages) {
    node.textContent = "";
    const prev = el("button", {}, "\u2039 previous"), next = el("button", {}, "next \u203a");
    prev.disabled = state.page === 0; next.disabled = state.page >= pages - 1;
    prev.addEventListener("click", () => setState({page: state.page - 1}));
    next.addEventListener("click", () => setState({page: state.page + 1}));
    node.appendChild(prev); node.appendChild(el("span", {"class": "page-text"}, "page " + (pages ? state.page + 1 : 0) + " of " + pages)); node.appendChild(next);
  }
  function render() {
    $("f-class").value = state.cls; $("f-min").value = state.min; $("f-max").value = state.max; $("f-errors").checked = state.errors;
    for (const tr of tbody.rows) tr.classList.toggle("on", tr.dataset["class"] === state.cls);
    const shown = [];
    for (let i = 0; i < R.items.length; ++i) if (matches(R.items[i])) shown.push(i);
    const pages = Math.ceil(shown.length / PAGE);
    if (state.page >= pages) state.page = Math.max(0, pages - 1);
    $("gallery-count").textContent = "(" + shown.length + " matching)";
    $("gallery-count").setAttribute("data-count", shown.length);
    pager($("pager-top"), shown.length, pages); pager($("pager-bottom"), shown.length, pages);
    const g = $("gallery"); g.textContent = "";
    for (const i of shown.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
      const it = R.items[i], path = R.paths[it[1]], card = el("div", {"class": "card" + (it[4] !== null ? " error" : "")});
      if (it[0]) card.appendChild(el("img", {src: R.files + "/thumbs/" + it[0], loading: "lazy", alt: base(path)}));
      let cap = base(path) + (it[2] ? " #" + it[2] : "");
      if (it[4] !== null) cap += ": " + it[4];
      else if (it[3].length) { const top = it[3].reduce((a, b) => ((b[1] || 0) > (a[1] || 0) ? b : a)); cap += " \u2014 " + R.classes[top[0]].name + (top[1] === null ? "" : " " + top[1].toFixed(2)) + (it[3].length > 1 ? " (+" + (it[3].length - 1) + ")" : ""); }
      const c = el("div", {"class": "cap", title: path}, cap); card.appendChild(c);
      g.appendChild(card);
    }
  }
  readHash(); render();
})();
</script>
</body>
</html>
)zoo_page";
}

}  // namespace zoo::report
