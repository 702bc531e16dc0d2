// SNA web tool: plain JavaScript, no dependencies. Talks to the JSON API of the same origin only.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const state = { models: [], tasks: [], config: null, baseline: null, discover: null, amplify: null, heatmap: null, job: null, watch: null, downloads: {} };

class ProblemError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status; this.problem = problem;
  }
}

async function api(path, body, method) {
  const init = { method: method || (body === undefined ? "GET" : "POST"), headers: { "Accept": "application/json" } };
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  let res;
  try { res = await fetch(path, init); }
  catch (e) { throw new ProblemError(0, { title: "The server could not be reached.", detail: String(e.message || e) }); }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { title: text }; }
  if (!res.ok) throw new ProblemError(res.status, data || { title: `HTTP ${res.status}` });
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting and small DOM helpers

function fmtP(p) { return p === 0 ? "0" : p >= 1e-3 ? p.toFixed(6) : p.toExponential(3); }
function fmtBytes(n) {   // decimal units, like the hub's file listings
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n, u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}
function fmtParams(n) { return n >= 1e9 ? (n / 1e9).toFixed(2) + "B" : (n / 1e6).toFixed(0) + "M"; }
function fmtPct(x) { return x === null || x === undefined ? "n/a" : (x >= 0 ? "+" : "") + x.toFixed(2) + "%"; }
function showTok(s) { return JSON.stringify(s).slice(1, -1); }   // quotes stripped, \n and friends visible
function setValue(el, value, text) { el.textContent = text; el.dataset.value = String(value); }
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function toast(msg) {
  const t = el("div", { class: "toast", role: "status" }, msg);
  document.body.append(t);
  setTimeout(() => t.remove(), 1800);
}

// Field names in problem details → the inputs they concern, per section.
const FIELDS = {
  model: "model", prompt: "prompt", target: "target", top: null, bos: "bos", task: "task",
  layer: null, topK: "disc-topk", neurons: "amp-neurons", count: "amp-count", multiplier: "amp-mult",
  positions: "amp-positions", generate: "amp-generate", multipliers: "hm-mults", layers: null, set: "set-text",
};
const SECTION_LAYER = { discover: "disc-layer", amplify: "amp-layer", heatmap: null };
const SECTION_COUNT = { heatmap: "hm-count", amplify: "amp-count" };

function clearError(section) {
  const box = $("err-" + section);
  box.hidden = true; box.textContent = "";
  document.querySelectorAll("[aria-invalid=true]").forEach((e) => e.removeAttribute("aria-invalid"));
}

function showError(section, err) {
  const box = $("err-" + section);
  box.textContent = "";
  const p = err instanceof ProblemError ? err.problem : { title: "Error", detail: String(err.message || err) };
  const head = el("strong", {}, p.title || "Error");
  box.append(head);
  const errors = p.errors || {};
  const keys = Object.keys(errors);
  if (keys.length) {
    const ul = el("ul");
    for (const k of keys) {
      for (const m of errors[k]) ul.append(el("li", { "data-field": k }, m));
      let id = k === "layer" ? SECTION_LAYER[section] : k === "count" ? SECTION_COUNT[section] : FIELDS[k];
      if (id && $(id)) $(id).setAttribute("aria-invalid", "true");
    }
    box.append(ul);
  } else if (p.detail) {
    box.append(document.createTextNode(" " + p.detail));
  }
  if (err.status === 429) box.append(el("div", { class: "note" }, "The server is busy; try again in a moment."));
  box.hidden = false;
}

async function busy(button, fn) {
  button.disabled = true; button.classList.add("busy");
  try { return await fn(); }
  finally { button.disabled = false; button.classList.remove("busy"); }
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs

function currentModel() { return state.models.find((m) => m.id === $("model").value); }
function currentTask() { return state.tasks.find((t) => t.id === $("task").value) || null; }

function common() {
  return { model: $("model").value, prompt: $("prompt").value, target: $("target").value, bos: $("bos").checked };
}

function fillLayers() {
  const m = currentModel();
  const n = m && m.layers ? m.layers : 0;
  for (const id of ["disc-layer", "amp-layer"]) {
    const sel = $(id), keep = sel.value;
    sel.textContent = "";
    for (let l = 0; l < n; l++) sel.append(el("option", { value: String(l) }, String(l)));
    if (keep !== "" && Number(keep) < n) sel.value = keep;
    else if (n > 0) sel.value = String(Math.floor(n / 2));
  }
  $("model-note").textContent = m ? (m.available ? `${m.layers} layers · ${m.dMlp} MLP neurons per layer · context ${m.context} tokens` : m.note || "") : "";
}

function onTask() {
  const t = currentTask();
  const sel = $("example");
  sel.textContent = "";
  $("example-wrap").hidden = !t;
  if (!t) return;
  t.examples.forEach((e, i) => sel.append(el("option", { value: String(i) }, e.prompt + " →" + showTok(e.target))));
  sel.value = "0";
  onExample();
}

function onExample() {
  const t = currentTask();
  if (!t) return;
  const e = t.examples[Number($("example").value) || 0];
  $("prompt").value = e.prompt; $("target").value = e.target;
}

function parseNeurons(text) {
  const parts = text.split(",").map((s) => s.trim()).filter((s) => s.length);
  if (!parts.every((s) => /^-?\d+$/.test(s))) return null;
  return parts.map(Number);
}

function numberOrNull(id) {
  const v = $(id).value.trim();
  return v === "" || !Number.isFinite(Number(v)) ? null : Number(v);
}

// ---------------------------------------------------------------------------------------------------------------
// Charts (hand-written SVG)

function barChart(container, rows, opts) {
  // rows: [{label, value, cls, title}] — horizontal bars, values ≥ 0 unless opts.signed.
  container.textContent = "";
  if (!rows.length) return;
  const W = 560, rowH = 20, labelW = opts.labelW || 150, valueW = 90, top = 4;
  const H = top + rows.length * rowH + 4;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.aria || "bar chart" });
  const max = Math.max(...rows.map((r) => Math.abs(r.value)), 1e-12);
  const plotW = W - labelW - valueW;
  const zero = opts.signed && rows.some((r) => r.value < 0) ? labelW + plotW / 2 : labelW;
  const scale = (opts.signed && zero !== labelW ? plotW / 2 : plotW) / max;
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const g = svg("g");
    g.append(svg("title", {}, r.title || `${r.label}: ${r.text || r.value}`));
    g.append(svg("text", { x: labelW - 6, y: y + 14, "text-anchor": "end", class: opts.mono ? "tok" : "" }, r.label));
    const w = Math.max(1, Math.abs(r.value) * scale);
    const x = r.value >= 0 ? zero : zero - w;
    g.append(svg("rect", { x, y: y + 3, width: w, height: rowH - 6, rx: 2, class: "bar " + (r.cls || (r.value < 0 ? "neg" : "")) }));
    g.append(svg("text", { x: W - valueW + 6, y: y + 14, class: "muted" }, r.text || String(r.value)));
    s.append(g);
  });
  s.append(svg("line", { x1: zero, x2: zero, y1: 0, y2: H, class: "axis" }));
  container.append(s);
}

function heatColor(v, maxAbs) {
  if (v === null || v === undefined) return "#eef1f5";
  const t = Math.min(1, Math.log10(1 + Math.abs(v)) / Math.log10(1 + Math.max(maxAbs, 1)));
  const mix = (a, b) => Math.round(a + (b - a) * t);
  return v >= 0 ? `rgb(${mix(246, 26)},${mix(248, 127)},${mix(250, 55)})` : `rgb(${mix(246, 207)},${mix(248, 34)},${mix(250, 46)})`;
}

function heatmapChart(container, st) {
  container.textContent = "";
  const layers = st.layers, mults = st.multipliers;
  const cellW = Math.max(64, Math.min(150, 1100 / Math.max(mults.length, 1))), cellH = 36, left = 70, top = 34;
  const W = left + mults.length * cellW + 10, H = top + layers.length * cellH + 30;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "heat map of % improvement by layer and multiplier" });
  s.style.maxWidth = W + "px";   // natural size: text stays the size of the page's text
  s.append(svg("text", { x: left + (mults.length * cellW) / 2, y: 12, "text-anchor": "middle", class: "muted" }, "multiplier"));
  mults.forEach((m, j) => s.append(svg("text", { x: left + j * cellW + cellW / 2, y: 28, "text-anchor": "middle" }, "×" + m)));
  s.append(svg("text", { x: 8, y: 28, class: "muted" }, "layer"));
  const byKey = new Map(st.cells.map((c) => [c.layer + "|" + c.multiplier, c]));
  const maxAbs = Math.max(1, ...st.cells.map((c) => Math.abs(c.improvementPct || 0)));
  layers.forEach((l, i) => {
    const y = top + i * cellH;
    s.append(svg("text", { x: left - 10, y: y + cellH / 2 + 4, "text-anchor": "end" }, "L" + l));
    mults.forEach((m, j) => {
      const c = byKey.get(l + "|" + m);
      const x = left + j * cellW;
      const g = svg("g", { "data-layer": String(l), "data-multiplier": String(m) });
      const v = c ? c.improvementPct : null;
      g.append(svg("rect", { x: x + 1, y: y + 1, width: cellW - 2, height: cellH - 2, rx: 3, fill: heatColor(v, maxAbs) }));
      if (c) {
        const dark = Math.log10(1 + Math.abs(v || 0)) / Math.log10(1 + maxAbs) > 0.55;
        g.append(svg("text", { x: x + cellW / 2, y: y + cellH / 2 + 4, "text-anchor": "middle", fill: dark ? "#fff" : "#1c2430" }, fmtPct(v)));
        g.append(svg("title", {}, `layer ${l}, ×${m}: P = ${fmtP(c.probability)} (${fmtPct(v)}); neurons ${(st.neuronsByLayer[String(l)] || []).join(", ")}`));
      }
      s.append(g);
    });
  });
  s.append(svg("text", { x: left, y: H - 8, class: "muted" },
    st.baselineProbability !== null && st.baselineProbability !== undefined ? `baseline P = ${fmtP(st.baselineProbability)}; top-${st.count} neurons per layer, positions ${st.positions}` : ""));
  container.append(s);
}

// ---------------------------------------------------------------------------------------------------------------
// Actions

async function runBaseline() {
  clearError("baseline");
  await busy($("btn-baseline"), async () => {
    try {
      const r = await api("/api/baseline", { ...common(), top: 10 });
      state.baseline = r; state.amplify = null;
      renderBaseline(r);
      setCommand(r.command);
      updateHash();
    } catch (e) { showError("baseline", e); }
  });
}

function renderBaseline(r) {
  $("baseline-empty").hidden = true; $("baseline-result").hidden = false;
  setValue($("p-base"), r.probability, fmtP(r.probability));
  setValue($("rank"), r.rank, String(r.rank));
  $("target-token").textContent = JSON.stringify(r.targetToken) + (r.targetTokenCount > 1 ? ` (1 of ${r.targetTokenCount})` : "");
  $("target-token").title = `id ${r.targetId}`;
  setValue($("n-tokens"), r.promptTokens.length, String(r.promptTokens.length));
  const z = $("zone");
  z.className = "zone z" + r.zone.zone + (r.zone.belowZone1 ? " below" : ""); z.textContent = "";
  z.dataset.zone = String(r.zone.zone);
  z.dataset.belowZone1 = String(r.zone.belowZone1);
  z.append(el("b", {}, r.zone.label), document.createTextNode(r.zone.advice));
  barChart($("top-chart"), r.top.map((t) => ({
    label: showTok(t.token), value: t.probability, text: fmtP(t.probability), cls: t.id === r.targetId ? "target" : "",
    title: `id ${t.id}: ${fmtP(t.probability)}`,
  })), { mono: true, aria: "top 10 next tokens" });
  $("btn-export").disabled = false;
}

async function runDiscover() {
  clearError("discover");
  await busy($("btn-discover"), async () => {
    try {
      const t = currentTask();
      const body = { model: $("model").value, layer: Number($("disc-layer").value), topK: numberOrNull("disc-topk"), bos: $("bos").checked };
      if (t) body.task = t.id; else body.prompt = $("prompt").value;
      const r = await api("/api/discover", body);
      state.discover = r;
      barChart($("disc-chart"), r.neurons.map((n) => ({
        label: "n" + n.neuron, value: n.difference, text: n.difference.toFixed(4),
        title: `neuron ${n.neuron}: task ${n.taskMean.toFixed(4)} − neutral ${n.neutralMean.toFixed(4)} = ${n.difference.toFixed(4)}`,
      })), { signed: true, labelW: 60, aria: `activation differences, layer ${r.layer}` });
      $("amp-layer").value = String(r.layer);
      const count = Math.min(numberOrNull("amp-count") || 5, r.neurons.length);
      $("amp-neurons").value = r.neurons.slice(0, count).map((n) => n.neuron).join(", ");
      $("btn-export").disabled = false;
    } catch (e) { showError("discover", e); }
  });
}

async function runAmplify() {
  clearError("amplify");
  const neuronsText = $("amp-neurons").value.trim();
  const body = {
    ...common(), layer: Number($("amp-layer").value), multiplier: numberOrNull("amp-mult"),
    positions: $("amp-positions").value, generate: numberOrNull("amp-generate") ?? 12,
  };
  if (neuronsText) {
    const n = parseNeurons(neuronsText);
    if (!n) {
      $("amp-neurons").setAttribute("aria-invalid", "true");
      showError("amplify", new ProblemError(400, { title: "The request is invalid.", errors: { neurons: ["neurons must be comma-separated integers, e.g. 12, 40, 7"] } }));
      return;
    }
    body.neurons = n;
  } else {
    body.count = numberOrNull("amp-count");
    if (currentTask()) body.task = currentTask().id;
  }
  await busy($("btn-amplify"), async () => {
    try {
      const r = await api("/api/amplify", body);
      state.amplify = r;
      renderAmplify(r);
      setCommand(r.command);
      updateHash();
    } catch (e) { showError("amplify", e); }
  });
}

// Generation-level evaluation (issue #13): every prompt of the selected task greedy-decoded before and after the amplify
// form's configuration; exact match and the exact McNemar test come from the library (as sna amplify --task T --generate N).
async function runExactMatch() {
  clearError("exact");
  const task = currentTask();
  if (!task) {
    showError("exact", new ProblemError(400, { title: "The request is invalid.", errors: { task: ["choose a task first: exact match is measured on a task's prompts"] } }));
    return;
  }
  const body = {
    model: $("model").value, task: task.id, bos: $("bos").checked, layer: Number($("amp-layer").value), multiplier: numberOrNull("amp-mult"),
    positions: $("amp-positions").value, generate: numberOrNull("em-generate") ?? 8,
  };
  const neuronsText = $("amp-neurons").value.trim();
  if (neuronsText) {
    const n = parseNeurons(neuronsText);
    if (!n) {
      showError("exact", new ProblemError(400, { title: "The request is invalid.", errors: { neurons: ["neurons must be comma-separated integers, e.g. 12, 40, 7"] } }));
      return;
    }
    body.neurons = n;
  } else body.count = numberOrNull("amp-count");
  await busy($("btn-exact-match"), async () => {
    try {
      const r = await api("/api/exact-match", body);
      state.exactMatch = r;
      renderExactMatch(r);
      setCommand(r.command);
    } catch (e) { showError("exact", e); }
  });
}

function renderExactMatch(r) {
  $("em-result").hidden = false;
  const summary = $("em-summary");
  summary.textContent = `${r.task} (Zone ${r.zone}, mean P_base ${fmtP(r.meanPBase)}): exact match ${r.correctBefore}/${r.n} without SNA → ${r.correctAfter}/${r.n} with SNA `
    + `(${r.fixed} fixed, ${r.broken} broken; exact McNemar p = ${Number(r.mcNemarP.toPrecision(3))}). Layer ${r.layer}, ${r.neurons.length} neurons (${r.neuronsSource}) ×${r.multiplier}, `
    + `up to ${r.maxNewTokens} greedy tokens.`;
  summary.dataset.before = String(r.correctBefore); summary.dataset.after = String(r.correctAfter);
  const body = $("em-table").querySelector("tbody");
  body.textContent = "";
  for (const p of r.prompts) {
    const tr = el("tr", { "data-index": String(p.promptIndex) });
    tr.append(el("td", {}, String(p.promptIndex)), el("td", {}, p.prompt), el("td", {}, showTok(p.target)),
      el("td", { class: p.correctBefore ? "ok" : "bad" }, (p.correctBefore ? "✓ " : "✗ ") + showTok(p.baseline)),
      el("td", { class: p.correctAfter ? "ok" : "bad" }, (p.correctAfter ? "✓ " : "✗ ") + showTok(p.amplified)));
    body.append(tr);
  }
}

// A neuron set file (uploaded or pasted) is read by the server with the library's strict reader; its first layer's
// neurons fill the amplify form.
async function importSet(text) {
  clearError("set");
  $("set-note").textContent = "";
  try {
    const r = await api("/api/neuron-set", { model: $("model").value, set: text });
    state.neuronSet = r;
    const l = r.layers[0];
    $("amp-layer").value = String(l.layer);
    $("disc-layer").value = String(l.layer);
    $("amp-neurons").value = l.neurons.join(", ");
    $("amp-count").value = String(l.neurons.length);
    const more = r.layers.length > 1 ? ` (the set also has layer${r.layers.length > 2 ? "s" : ""} ${r.layers.slice(1).map((x) => x.layer).join(", ")})` : "";
    $("set-note").textContent = `Imported ${l.neurons.length} neurons of layer ${l.layer}${more}: ${r.method}${r.task ? ` on ${r.task}` : ""}, BOS ${r.bos}, written ${r.created}.`
      + (r.warning ? ` Warning: ${r.warning}.` : "");
  } catch (e) { showError("set", e); }
}

async function onSetFile() {
  const f = $("set-file").files[0];
  if (!f) return;
  const text = await f.text();
  $("set-text").value = text;
  await importSet(text);
}

function renderAmplify(r) {
  $("amp-result").hidden = false;
  setValue($("p-before"), r.baseline.probability, fmtP(r.baseline.probability));
  setValue($("p-after"), r.amplified.probability, fmtP(r.amplified.probability));
  setValue($("improvement"), r.improvementPct, fmtPct(r.improvementPct));
  $("improvement").style.color = r.improvementPct > 0 ? "var(--good)" : r.improvementPct < 0 ? "var(--bad)" : "";
  $("amp-rank").textContent = `${r.baseline.rank} → ${r.amplified.rank}`;
  barChart($("amp-chart"), [
    { label: "before", value: r.baseline.probability, text: fmtP(r.baseline.probability) },
    { label: "after", value: r.amplified.probability, text: fmtP(r.amplified.probability), cls: "target" },
  ], { labelW: 60, aria: "probability before and after" });
  $("amp-neurons-used").textContent = `Layer ${r.layer}, ${r.neurons.length} neurons (${r.neuronsSource}): ${r.neurons.join(", ")} · ×${r.multiplier} at ${r.positions} positions`;
  for (const [id, text] of [["cont-base", r.continuation ? r.continuation.baseline : null], ["cont-amp", r.continuation ? r.continuation.amplified : null]]) {
    const pre = $(id); pre.textContent = "";
    if (text === null) { pre.append(el("span", { class: "p" }, "(no continuation asked)")); continue; }
    pre.append(el("span", { class: "p" }, $("prompt").value), document.createTextNode(text));
  }
  $("btn-export").disabled = false;
}

function parseMultipliers(text) {
  const parts = text.split(",").map((s) => s.trim()).filter((s) => s.length);
  if (!parts.length || !parts.every((s) => s !== "" && Number.isFinite(Number(s)))) return null;
  return parts.map(Number);
}

async function runHeatmap() {
  clearError("heatmap");
  const mults = parseMultipliers($("hm-mults").value);
  if (!mults) {
    $("hm-mults").setAttribute("aria-invalid", "true");
    showError("heatmap", new ProblemError(400, { title: "The request is invalid.", errors: { multipliers: ["multipliers must be comma-separated numbers, e.g. 0.5, 2, 5"] } }));
    return;
  }
  const body = { ...common(), multipliers: mults, count: numberOrNull("hm-count"), positions: $("amp-positions").value };
  if (currentTask()) body.task = currentTask().id;
  $("btn-heatmap").disabled = true;
  try {
    const st = await api("/api/heatmap", body);
    state.job = st.id; state.heatmap = st;
    $("btn-heatmap-cancel").disabled = false;
    renderHeatmap(st);
    follow(st.id);
  } catch (e) {
    $("btn-heatmap").disabled = false;
    showError("heatmap", e);
  }
}

// Follows a job (heat map or download): server-sent events from `${path}/events`, falling back to polling `path`;
// onStatus gets every status until a final one, onError a failure to reach the job. Returns { stop }.
function watchJob(path, onStatus, onError) {
  let closed = false;
  const stop = () => { closed = true; src.close(); };
  const poll = async () => {
    while (!closed) {
      try {
        const st = await api(path);
        onStatus(st);
        if (isFinal(st)) { stop(); return; }
      } catch (e) { stop(); onError(e); return; }
      await new Promise((r) => setTimeout(r, 400));
    }
  };
  const src = new EventSource(path + "/events");
  const onData = (ev) => { const st = JSON.parse(ev.data); onStatus(st); if (isFinal(st)) stop(); };
  src.addEventListener("progress", onData);
  src.addEventListener("done", onData);
  src.onerror = () => { src.close(); if (!closed) poll(); };
  return { stop };
}

function follow(id) {
  if (state.watch) state.watch.stop();
  state.watch = watchJob(`/api/heatmap/${encodeURIComponent(id)}`,
    (st) => { if (state.job !== id) return; state.heatmap = st; renderHeatmap(st); if (isFinal(st)) finishJob(); },
    (e) => { showError("heatmap", e); finishJob(); });
}

function isFinal(st) { return st.state === "completed" || st.state === "cancelled" || st.state === "failed"; }
function finishJob() {
  state.job = null;
  if (state.watch) { state.watch.stop(); state.watch = null; }
  $("btn-heatmap").disabled = false; $("btn-heatmap-cancel").disabled = true;
  $("btn-export").disabled = false;
}

async function cancelHeatmap() {
  if (!state.job) return;
  try { await api(`/api/heatmap/${encodeURIComponent(state.job)}`, undefined, "DELETE"); }
  catch (e) { showError("heatmap", e); }
}

function renderHeatmap(st) {
  $("hm-bar").style.width = (st.total ? (100 * st.done) / st.total : 0) + "%";
  const words = { queued: "Queued: waiting for a free slot…", running: `Running: ${st.done} of ${st.total} cells`, completed: `Done: ${st.total} cells`, cancelled: `Cancelled after ${st.done} of ${st.total} cells`, failed: "Failed: " + (st.error || "") };
  $("hm-progress").textContent = words[st.state] || st.state;
  $("hm-progress").dataset.state = st.state;
  heatmapChart($("hm-chart"), st);
}

// ---------------------------------------------------------------------------------------------------------------
// Reproduce, export, share

function setCommand(cmd) { $("command").textContent = cmd; }

async function copyText(text, what) {
  try { await navigator.clipboard.writeText(text); toast(`${what} copied`); }
  catch { toast(`Could not copy; select the ${what.toLowerCase()} by hand`); }
}

function exportJson() {
  const doc = {
    tool: "sna-web", exportedAt: new Date().toISOString(),
    config: {
      ...common(), task: $("task").value || null,
      discover: { layer: Number($("disc-layer").value), topK: numberOrNull("disc-topk") },
      amplify: { layer: Number($("amp-layer").value), neurons: parseNeurons($("amp-neurons").value) || [], count: numberOrNull("amp-count"),
                 multiplier: numberOrNull("amp-mult"), positions: $("amp-positions").value, generate: numberOrNull("amp-generate") },
      heatmap: { multipliers: parseMultipliers($("hm-mults").value), count: numberOrNull("hm-count") },
    },
    results: { baseline: state.baseline, discover: state.discover, amplify: state.amplify, heatmap: state.heatmap },
    command: state.amplify ? state.amplify.command : state.baseline ? state.baseline.command : null,
  };
  const blob = new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" });
  const a = el("a", { href: URL.createObjectURL(blob), download: "sna-result.json" });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 5000);
}

function updateHash() {
  const q = new URLSearchParams();
  q.set("model", $("model").value); q.set("prompt", $("prompt").value); q.set("target", $("target").value);
  if (!$("bos").checked) q.set("bos", "0");
  if ($("task").value) q.set("task", $("task").value);
  q.set("layer", $("amp-layer").value);
  if ($("amp-neurons").value.trim()) q.set("neurons", $("amp-neurons").value.replace(/\s+/g, ""));
  q.set("mult", $("amp-mult").value); q.set("pos", $("amp-positions").value);
  history.replaceState(null, "", "#" + q.toString());
}

function restoreHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  if (!q.has("prompt")) return false;
  if (q.has("model") && state.models.some((m) => m.id === q.get("model") && m.available)) { $("model").value = q.get("model"); fillLayers(); }
  if (q.has("task") && state.tasks.some((t) => t.id === q.get("task"))) { $("task").value = q.get("task"); onTask(); }
  $("prompt").value = q.get("prompt"); $("target").value = q.get("target") || "";
  $("bos").checked = q.get("bos") !== "0";
  if (q.has("layer")) { $("amp-layer").value = q.get("layer"); $("disc-layer").value = q.get("layer"); }
  if (q.has("neurons")) $("amp-neurons").value = q.get("neurons").split(",").join(", ");
  if (q.has("mult")) $("amp-mult").value = q.get("mult");
  if (q.has("pos")) $("amp-positions").value = q.get("pos");
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Models and hub downloads

function fillModels() {
  const sel = $("model"), keep = sel.value;
  sel.textContent = "";
  for (const m of state.models) {
    const o = el("option", { value: m.id }, m.available ? m.name : `${m.name} — ${m.cached === false ? "not cached" : "unavailable"}`);
    if (!m.available) { o.disabled = true; o.title = m.note || ""; }
    sel.append(o);
  }
  const first = state.models.find((m) => m.available);
  if (state.models.some((m) => m.id === keep && m.available)) sel.value = keep;
  else if (first) sel.value = first.id;
  fillLayers();
  renderHubList();
}

async function refreshModels() {
  try { state.models = await api("/api/models"); fillModels(); }
  catch (e) { showError("baseline", e); }
}

function renderHubList() {
  const box = $("hub-list");
  box.textContent = "";
  const hub = state.models.filter((m) => m.kind === "hub");
  $("hub").hidden = hub.length === 0;
  for (const m of hub) {
    const row = el("div", { class: "hub-row", "data-model": m.id });
    row.append(el("span", {}, m.name), el("span", { class: "size" }, `${m.repo} · ${fmtParams(m.parameters)} parameters · ${fmtBytes(m.sizeBytes)}`));
    const dl = state.downloads[m.id];
    if (m.cached) {
      row.append(el("span", { class: "cached" }, "cached"));
    } else if (dl && !isFinal(dl)) {
      const cancel = el("button", { type: "button", class: "ghost cancel" }, "Cancel");
      cancel.addEventListener("click", () => cancelDownload(dl.id));
      row.append(cancel);
      const bar = el("div", { class: "bar" });
      bar.style.width = Math.min(100, (100 * dl.bytesDone) / Math.max(dl.expectedBytes, dl.bytesDone, 1)) + "%";
      const progress = el("div", { class: "progress", role: "progressbar", "aria-label": `download of ${m.name}` });
      progress.append(bar);
      const text = dl.state === "queued" ? "Starting…"
        : `${fmtBytes(dl.bytesDone)} of ~${fmtBytes(dl.expectedBytes)}` + (dl.bytesPerSecond > 0 ? ` · ${fmtBytes(Math.round(dl.bytesPerSecond))}/s` : "") + (dl.file ? ` · ${dl.file}` : "");
      const line = el("div", { class: "dl" });
      line.append(progress, el("span", { class: "note", "data-state": dl.state }, text));
      row.append(line);
    } else {
      const b = el("button", { type: "button", class: "download" }, "Download");
      b.addEventListener("click", () => startDownload(m.id));
      row.append(b);
      if (dl && (dl.state === "failed" || dl.state === "cancelled")) {
        const p = dl.problem || { title: "Download cancelled.", detail: "" };
        const err = el("div", { class: "error", role: "alert" });
        err.append(el("strong", {}, p.title), document.createTextNode(p.detail ? " " + p.detail : ""));
        row.append(err);
      }
    }
    box.append(row);
  }
}

async function startDownload(modelId) {
  state.downloads[modelId] = { state: "queued", bytesDone: 0, expectedBytes: 0 };
  renderHubList();
  try {
    const st = await api(`/api/models/${encodeURIComponent(modelId)}/download`, undefined, "POST");
    state.downloads[modelId] = st;
    renderHubList();
    watchJob(`/api/downloads/${encodeURIComponent(st.id)}`, async (s) => {
      state.downloads[modelId] = s;
      if (s.state === "completed") await refreshModels(); else renderHubList();
    }, (e) => { state.downloads[modelId] = { state: "failed", problem: e.problem }; renderHubList(); });
  } catch (e) {
    state.downloads[modelId] = { state: "failed", problem: e.problem || { title: "Error", detail: String(e.message || e) } };
    renderHubList();
  }
}

async function cancelDownload(id) {
  try { await api(`/api/downloads/${encodeURIComponent(id)}`, undefined, "DELETE"); }
  catch (e) { toast(e.message); }
}

// ---------------------------------------------------------------------------------------------------------------
// Start

async function init() {
  try {
    const [models, tasks, config] = await Promise.all([api("/api/models"), api("/api/tasks"), api("/api/config")]);
    state.models = models; state.tasks = tasks; state.config = config;
  } catch (e) { showError("baseline", e); return; }
  fillModels();
  for (const t of state.tasks) $("task").append(el("option", { value: t.id, title: t.description }, t.name));
  $("model").addEventListener("change", fillLayers);
  $("task").addEventListener("change", onTask);
  $("example").addEventListener("change", onExample);
  $("btn-baseline").addEventListener("click", runBaseline);
  $("btn-discover").addEventListener("click", runDiscover);
  $("btn-amplify").addEventListener("click", runAmplify);
  $("btn-exact-match").addEventListener("click", runExactMatch);
  $("set-file").addEventListener("change", onSetFile);
  $("btn-set-import").addEventListener("click", () => importSet($("set-text").value));
  $("btn-heatmap").addEventListener("click", runHeatmap);
  $("btn-heatmap-cancel").addEventListener("click", cancelHeatmap);
  $("btn-copy").addEventListener("click", () => copyText($("command").textContent, "Command"));
  $("btn-export").addEventListener("click", exportJson);
  $("btn-link").addEventListener("click", () => { updateHash(); copyText(location.href, "Link"); });
  $("disc-layer").addEventListener("change", () => { $("amp-layer").value = $("disc-layer").value; });
  document.body.dataset.ready = "true";
  if (restoreHash()) runBaseline();
}

document.addEventListener("DOMContentLoaded", init);
