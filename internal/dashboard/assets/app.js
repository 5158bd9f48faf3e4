// The pixcdn dashboard: one page over the control plane's API (docs/control-api.md). No
// framework, no network beyond the control plane; charts are SVG drawn here.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { token: sessionStorage.getItem("pixcdn-token") || "", series: new Map(), nodes: [], streaming: null, latest: null };
const KEEP = 120; // seconds of history per chart

// --- the API -------------------------------------------------------------------------------

async function api(path, opts = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + state.token }, opts.headers || {});
  const resp = await fetch(path, Object.assign({}, opts, { headers }));
  if (resp.status === 401) {
    logout("The token was refused.");
    throw new Error("unauthorized");
  }
  return resp;
}

async function apiJSON(path, opts) {
  const resp = await api(path, opts);
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const e = new Error(body.error || resp.statusText);
    e.body = body;
    throw e;
  }
  return body;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

// --- log in, tabs --------------------------------------------------------------------------

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  state.token = $("token").value.trim();
  try {
    await apiJSON("/api/nodes");
    sessionStorage.setItem("pixcdn-token", state.token);
    start();
  } catch (e) {
    $("login-error").textContent = e.message === "unauthorized" ? "The token was refused." : "The control plane did not answer: " + e.message;
  }
});

$("logout").addEventListener("click", () => logout(""));

function logout(why) {
  sessionStorage.removeItem("pixcdn-token");
  state.token = "";
  if (state.streaming) state.streaming.abort();
  $("login").hidden = false;
  $("tabs").hidden = true;
  $("logout").hidden = true;
  document.querySelectorAll(".tab").forEach((t) => (t.hidden = true));
  $("login-error").textContent = why;
}

document.querySelectorAll("#tabs button").forEach((b) =>
  b.addEventListener("click", () => show(b.dataset.tab)));

function show(tab) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("on", b.dataset.tab === tab));
  document.querySelectorAll(".tab").forEach((t) => (t.hidden = t.id !== tab));
  if (tab === "config") loadConfig();
  if (tab === "images") play();
}

function start() {
  $("login").hidden = true;
  $("tabs").hidden = false;
  $("logout").hidden = false;
  show("traffic");
  stream();
  refreshNodes();
  setInterval(refreshNodes, 2000);
}

// --- live stats ------------------------------------------------------------------------------

// The charts: a title, the value drawn, and how to read it from a point.
const CHARTS = [
  { id: "rps", title: "requests/s", lines: [(p) => p.requests || 0], fmt: (v) => v.toFixed(0) },
  { id: "mbps", title: "bandwidth, Mbit/s", lines: [(p) => ((p.bytes || 0) * 8) / 1e6], fmt: (v) => v.toFixed(2) },
  { id: "hit", title: "hit ratio, requests / bytes (%)", lines: [(p) => 100 * (p.request_hit_ratio || 0), (p) => 100 * (p.byte_hit_ratio || 0)], fmt: (v) => v.toFixed(1), max: 100 },
  { id: "origin", title: "origin requests / errors per s", lines: [(p) => p.origin_requests || 0, (p) => p.origin_errors || 0], fmt: (v) => v.toFixed(0) },
  { id: "latency", title: "latency p50 / p99, ms", lines: [(p) => p.p50_ms || 0, (p) => p.p99_ms || 0], fmt: (v) => v.toFixed(2) },
];

function buildCharts() {
  const box = $("charts");
  box.replaceChildren();
  for (const c of CHARTS) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 300 120");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.id = "svg-" + c.id;
    box.append(el("div", { class: "chart", "data-chart": c.id }, el("h3", {}, c.title, el("span", { id: "val-" + c.id, text: "–" })), svg));
  }
}

// stream reads the control plane's Server-Sent Events with fetch (EventSource cannot send the
// token), one summary a second.
async function stream() {
  buildCharts();
  const ctrl = new AbortController();
  state.streaming = ctrl;
  try {
    const resp = await api("/api/stats?stream=1", { signal: ctrl.signal, headers: { Accept: "text/event-stream" } });
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
        if (data) onSummary(JSON.parse(data));
      }
    }
  } catch (e) {
    if (ctrl.signal.aborted) return;
  }
  if (state.token && state.streaming === ctrl) setTimeout(stream, 2000); // the stream ended: again
}

function remember(key, t, point) {
  let s = state.series.get(key);
  if (!s) state.series.set(key, (s = []));
  if (s.length && s[s.length - 1].t >= t) s[s.length - 1] = { t, p: point };
  else s.push({ t, p: point });
  while (s.length > KEEP) s.shift();
}

function onSummary(sum) {
  state.latest = sum;
  remember("", sum.time, sum.totals || {});
  for (const [d, p] of Object.entries(sum.domains || {})) remember("d:" + d, sum.time, p);
  for (const [n, p] of Object.entries(sum.nodes || {})) remember("n:" + n, sum.time, p);
  const scope = $("scope");
  for (const key of state.series.keys()) {
    if (key && !scope.querySelector(`option[value="${CSS.escape(key)}"]`)) {
      scope.append(el("option", { value: key, text: key.startsWith("d:") ? "domain " + key.slice(2) : "node " + key.slice(2) }));
    }
  }
  $("top-urls").tBodies[0].replaceChildren(...(sum.top_urls || []).map((u) =>
    el("tr", {}, el("td", { text: u.url }), el("td", { text: String(u.requests) }), el("td", { text: u.bytes.toLocaleString() }))));
  $("live").textContent = `live: ${Object.keys(sum.nodes || {}).length} node(s) reporting, ${new Date(sum.time * 1000).toLocaleTimeString()}`;
  draw();
}

$("scope").addEventListener("change", draw);

function draw() {
  const s = state.series.get($("scope").value) || [];
  for (const c of CHARTS) {
    const svg = $("svg-" + c.id);
    if (!svg) continue;
    const values = c.lines.map((f) => s.map((x) => f(x.p)));
    const top = c.max || Math.max(1e-9, ...values.flat()) * 1.15;
    svg.replaceChildren();
    const grid = document.createElementNS("http://www.w3.org/2000/svg", "line");
    for (const [k, v] of Object.entries({ x1: 0, x2: 300, y1: 118, y2: 118, stroke: "#e1e4ea" })) grid.setAttribute(k, v);
    svg.append(grid);
    const scale = document.createElementNS("http://www.w3.org/2000/svg", "text");
    for (const [k, v] of Object.entries({ x: 2, y: 11, "font-size": 10, fill: "#6b7385" })) scale.setAttribute(k, v);
    scale.textContent = "max " + c.fmt(top);
    svg.append(scale);
    values.forEach((vs, li) => {
      // the seconds kept across the whole width, the newest at the right edge
      const x = (i) => (300 * i) / Math.max(vs.length - 1, 1);
      const pts = vs.map((v, i) => `${x(i).toFixed(1)},${(118 - (104 * v) / top).toFixed(1)}`).join(" ");
      const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
      line.setAttribute("points", pts);
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", li === 0 ? "#2f6fde" : "#e67e22");
      line.setAttribute("stroke-width", "1.5");
      line.setAttribute("vector-effect", "non-scaling-stroke");
      svg.append(line);
    });
    const last = values.map((vs) => (vs.length ? c.fmt(vs[vs.length - 1]) : "–"));
    $("val-" + c.id).textContent = last.join(" / ");
    svg.closest(".chart").dataset.value = last.join("/");
  }
}

// --- nodes -----------------------------------------------------------------------------------

async function refreshNodes() {
  if (!state.token) return;
  let ans;
  try {
    ans = await apiJSON("/api/nodes");
  } catch (e) {
    return;
  }
  state.nodes = ans.nodes || [];
  const byPOP = new Map();
  for (const n of state.nodes) {
    if (!byPOP.has(n.pop)) byPOP.set(n.pop, []);
    byPOP.get(n.pop).push(n);
  }
  const box = $("pops");
  box.replaceChildren();
  for (const [pop, nodes] of byPOP) {
    const rows = nodes.map((n) => {
      const l = (state.latest && state.latest.nodes && state.latest.nodes[n.node]) || {};
      const health = n.live ? el("span", { class: "good", text: "live" }) : el("span", { class: "bad", text: n.state === "stopped" ? "stopped" : "lost" });
      const refused = n.failed ? el("span", { class: "bad", title: n.failed_error || "", text: ` refused ${n.failed}` }) : "";
      return el("tr", {}, el("td", { text: n.node }), el("td", {}, health), el("td", {}, String(n.version), refused),
        el("td", { text: String(l.requests || 0) }), el("td", { text: (l.cpu_percent || 0).toFixed(1) }), el("td", { text: n.http || "" }));
    });
    box.append(el("div", { class: "pop card" }, el("h2", { text: "POP " + pop }),
      el("table", {}, el("thead", {}, el("tr", {}, ...["node", "health", "version", "req/s", "CPU %", "address"].map((h) => el("th", { text: h })))),
        el("tbody", {}, ...rows))));
  }
  const sel = $("play-node");
  if (!sel.options.length) {
    for (const n of state.nodes) if (n.http) sel.append(el("option", { value: n.node, text: `${n.node} (${n.pop})` }));
  }
}

// --- purge and prefetch ----------------------------------------------------------------------

function randomID() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function ackText(a) {
  if (a.error) return "refused: " + a.error;
  if (!a.applied) return "had it";
  if (!a.cached) return "applied";
  return "applied, held " + a.cached.filter(Boolean).length + " of " + a.cached.length;
}

function showAcks(ans) {
  const rows = (ans.acks || []).map((a) => el("tr", { "data-node": a.node }, el("td", { text: a.node }), el("td", { text: a.pop }),
    el("td", { text: a.ms.toFixed(1) }), el("td", { class: a.error ? "bad" : "good", text: ackText(a) })));
  for (const m of ans.missing || []) rows.push(el("tr", {}, el("td", { text: m }), el("td"), el("td", { text: "–" }), el("td", { class: "bad", text: "no answer yet" })));
  for (const m of ans.away || []) rows.push(el("tr", {}, el("td", { text: m }), el("td"), el("td", { text: "–" }), el("td", { class: "muted", text: "away: applies it when it returns" })));
  $("purge-acks").tBodies[0].replaceChildren(...rows);
}

$("purge-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = randomID();
  const body = { id, kind: $("purge-kind").value, soft: $("purge-soft").checked,
    targets: $("purge-targets").value.split("\n").map((s) => s.trim()).filter(Boolean) };
  $("purge-summary").textContent = "purging…";
  $("purge-acks").tBodies[0].replaceChildren();
  let done = false;
  const poll = async () => { // each node's acknowledgement as it arrives
    while (!done) {
      await new Promise((r) => setTimeout(r, 100));
      try { if (!done) showAcks(await apiJSON("/api/purge/" + id)); } catch (e) { /* not published yet */ }
    }
  };
  poll();
  try {
    const ans = await apiJSON("/api/purge", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    done = true;
    showAcks(ans);
    $("purge-summary").textContent = `${ans.acks.length} node(s) acknowledged, the last after ${ans.last_ack_ms.toFixed(1)} ms` +
      (ans.complete ? "" : `; ${ans.missing.length} did not answer`) + ` (id ${ans.id}, seq ${ans.seq})`;
    $("purge-summary").className = ans.complete ? "good" : "bad";
  } catch (e) {
    done = true;
    $("purge-summary").textContent = e.message;
    $("purge-summary").className = "bad";
  }
});

$("prefetch-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const urls = $("prefetch-urls").value.split("\n").map((s) => s.trim()).filter(Boolean);
  $("prefetch-summary").textContent = "prefetching…";
  try {
    const ans = await apiJSON("/api/prefetch", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ urls }) });
    $("prefetch-summary").textContent = `${ans.urls} URL(s) through ${ans.nodes.length} node(s), ${ans.failed} failed`;
    $("prefetch-nodes").tBodies[0].replaceChildren(...ans.nodes.map((n) =>
      el("tr", {}, el("td", { text: n.node }), el("td", { text: n.pop }), el("td", { text: String(n.assigned) }), el("td", { text: String(n.failed) }))));
  } catch (e) {
    $("prefetch-summary").textContent = e.message;
  }
});

// --- configuration ---------------------------------------------------------------------------

async function loadConfig() {
  try {
    const cur = await apiJSON("/api/config");
    if (!$("doc").dataset.edited) $("doc").value = cur.yaml;
  } catch (e) {
    $("doc").placeholder = "no version yet: write the domains document and push it";
  }
  const h = await apiJSON("/api/config/history").catch(() => ({ versions: [] }));
  $("versions").tBodies[0].replaceChildren(...h.versions.map((v) => {
    const pick = el("input", { type: "checkbox", value: String(v.version), class: "pick" });
    pick.addEventListener("change", diffPicked);
    const rb = el("button", { type: "button", text: v.current ? "current" : "roll back" });
    rb.disabled = !!v.current;
    rb.addEventListener("click", () => rollback(v.version));
    return el("tr", {}, el("td", {}, pick), el("td", { text: String(v.version) }), el("td", { text: new Date(v.pushed).toLocaleString() }),
      el("td", { text: v.message || (v.rollback_of ? "rollback to " + v.rollback_of : "") }), el("td", {}, rb));
  }));
}

$("doc").addEventListener("input", () => ($("doc").dataset.edited = "1"));

async function diffPicked() {
  const picked = [...document.querySelectorAll("#versions .pick:checked")].map((c) => c.value).sort((a, b) => a - b);
  if (picked.length !== 2) { $("diff").replaceChildren(); return; }
  const [a, b] = await Promise.all(picked.map((v) => apiJSON("/api/config/versions/" + v)));
  $("diff").replaceChildren(...lineDiff(a.yaml.split("\n"), b.yaml.split("\n")).map(([op, line]) =>
    el("div", { class: op === "+" ? "add" : op === "-" ? "del" : "", text: `${op} ${line}` })));
}

// lineDiff is the longest-common-subsequence diff of two documents' lines.
function lineDiff(a, b) {
  const n = a.length, m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push([" ", a[i]]); i++; j++; } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push(["-", a[i++]]); else out.push(["+", b[j++]]);
  }
  while (i < n) out.push(["-", a[i++]]);
  while (j < m) out.push(["+", b[j++]]);
  return out;
}

async function rollback(version) {
  const ans = await apiJSON("/api/config/rollback?wait=5s", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ version }) })
    .catch((e) => ({ error: e.message }));
  $("push-result").textContent = JSON.stringify(ans, null, 2);
  delete $("doc").dataset.edited;
  loadConfig();
}

$("push-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = new URLSearchParams({ wait: "5s", message: $("push-message").value, file: "dashboard" });
  const resp = await api("/api/config?" + q, { method: "POST", headers: { "Content-Type": "application/yaml" }, body: $("doc").value });
  const ans = await resp.json();
  $("push-result").textContent = resp.ok ? versionReport(ans) : (ans.problems || [ans.error]).join("\n");
  $("push-result").className = resp.ok ? "" : "bad";
  if (resp.ok) { delete $("doc").dataset.edited; loadConfig(); }
});

function versionReport(ans) {
  return `version ${ans.version} stored\n` + (ans.nodes || []).map((n) => `${n.node} (${n.pop}): ${n.state}${n.error ? ": " + n.error : ""}`).join("\n");
}

// --- image playground ------------------------------------------------------------------------

const PLAY = ["play-node", "play-host", "play-path", "play-w", "play-h", "play-fit", "play-fm", "play-q", "play-blur"];
PLAY.forEach((id) => $(id).addEventListener("change", play));

function playURLs() {
  const v = (id) => $(id).value.trim();
  const imgix = new URLSearchParams();
  const ossParts = [];
  const w = +v("play-w"), h = +v("play-h"), q = +v("play-q"), blur = +v("play-blur"), fm = v("play-fm"), fit = v("play-fit");
  if (w) imgix.set("w", w);
  if (h) imgix.set("h", h);
  if (w || h) {
    imgix.set("fit", fit);
    const m = { clip: "lfit", max: "lfit", crop: "fill", fill: "pad" }[fit] || "lfit";
    ossParts.push(`resize,m_${m}` + (w ? `,w_${w}` : "") + (h ? `,h_${h}` : ""));
  }
  if (q) { imgix.set("q", q); ossParts.push(`quality,q_${q}`); }
  if (blur) { imgix.set("blur", blur); ossParts.push(`blur,r_${Math.min(blur, 50)},s_${Math.min(blur, 50)}`); }
  if (fm) { imgix.set("fm", fm); ossParts.push(`format,${fm === "jpg" ? "jpg" : fm}`); }
  const path = v("play-path") || "/";
  return { path, imgix: path + "?" + imgix, oss: path + (ossParts.length ? "?x-oss-process=image/" + ossParts.join("/") : "") };
}

async function probe(path) {
  const q = new URLSearchParams({ node: $("play-node").value, host: $("play-host").value.trim(), path });
  const resp = await api("/api/probe?" + q);
  const blob = await resp.blob();
  return { ok: resp.ok, status: resp.headers.get("X-Pixcdn-Probe-Status"), type: resp.headers.get("Content-Type"), bytes: blob.size,
    cache: resp.headers.get("X-Pixcdn-Probe-Cache-Status") || "", blob, error: resp.ok ? "" : await blob.text() };
}

let playSeq = 0;
async function play() {
  if (!$("play-node").value) { await refreshNodes(); if (!$("play-node").value) return; }
  const seq = ++playSeq;
  const u = playURLs();
  $("url-imgix").textContent = u.imgix;
  $("url-oss").textContent = u.oss;
  const [orig, out] = await Promise.all([probe(u.path), probe(u.imgix)]);
  if (seq !== playSeq) return; // a newer change is on its way
  for (const [img, cap, r, what] of [["img-orig", "cap-orig", orig, "original"], ["img-out", "cap-out", out, "output"]]) {
    const old = $(img).src;
    $(img).src = r.ok ? URL.createObjectURL(r.blob) : "";
    if (old.startsWith("blob:")) URL.revokeObjectURL(old);
    $(cap).textContent = r.ok ? `${what}: ${r.type}, ${r.bytes.toLocaleString()} bytes — ${r.cache}` : `${what}: ${r.error}`;
    $(cap).dataset.bytes = r.ok ? String(r.bytes) : "";
  }
}

if (state.token) start();
