// pixcdn demo: lists what the CDN did for every resource of this page. "This load" is the
// browser's own load of it, from the Resource Timing API: its bytes, and its Cache-Status, which
// the edge repeats as Server-Timing for this domain (a page cannot read Cache-Status itself).
// "Now" asks again with HEAD (nothing is downloaded twice), with the Accept a browser sends for
// that kind of resource, so the edge reports on the same variant the page loaded.
"use strict";

const imageAccept = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

const resources = () => [
  { path: location.pathname },
  { path: "/style.css" },
  { path: "/app.js" },
  ...Array.from(document.images, (img) => {
    const u = new URL(img.currentSrc || img.src);
    return { path: u.pathname + u.search, accept: imageAccept };
  }),
];

// ownLoad finds the browser's own load of path: its bytes on the wire and its Cache-Status.
function ownLoad(path) {
  const abs = new URL(path, location.href).href;
  const all = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
  const e = all.filter((x) => x.name === abs).pop();
  if (!e) return { bytes: "", status: "(not loaded yet)" };
  const st = (e.serverTiming || []).find((t) => t.name === "cdn-cache");
  return { bytes: e.encodedBodySize ? String(e.encodedBodySize) : "", status: st ? st.description : "(browser cache)" };
}

// servedBy names the cache nearest the client in a Cache-Status: its last entry.
function servedBy(cs) {
  const last = cs.split(",").pop().trim();
  const name = last.split(";")[0];
  return name && !name.startsWith("(") ? `${name}: ${/;\s*hit/.test(last) ? "hit" : "miss"}` : "";
}

async function describe({ path, accept }) {
  const headers = accept ? { Accept: accept } : {};
  const res = await fetch(path, { method: "HEAD", cache: "no-store", headers });
  const own = ownLoad(path);
  return {
    path,
    type: (res.headers.get("Content-Type") || "").split(";")[0],
    encoding: res.headers.get("Content-Encoding") || "",
    bytes: own.bytes || res.headers.get("Content-Length") || "?",
    load: own.status,
    status: res.headers.get("Cache-Status") || "(none)",
  };
}

async function render() {
  const body = document.querySelector("#status tbody");
  const rows = await Promise.all(resources().map(describe));
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      const hit = (s) => (/;\s*hit/.test(s.split(",").pop()) ? "hit" : "miss");
      const type = r.encoding ? `${r.type} (${r.encoding})` : r.type;
      for (const [text, cls] of [[r.path], [type], [r.bytes], [servedBy(r.load)], [r.load, hit(r.load)], [r.status, hit(r.status)]]) {
        const td = document.createElement("td");
        const code = document.createElement("code");
        code.textContent = text;
        td.append(code);
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    }),
  );
}

// The whole-CDN demo writes demo.json with its dashboard's address.
async function dashboardLink() {
  const res = await fetch("/demo.json", { cache: "no-store" }).catch(() => null);
  if (!res || !res.ok) return;
  const info = await res.json().catch(() => ({}));
  if (!info.dashboard) return;
  const a = document.getElementById("dashboard");
  a.href = info.dashboard;
  a.hidden = false;
}

document.getElementById("recheck").addEventListener("click", render);
window.addEventListener("load", () => { render(); dashboardLink(); });
for (const img of document.images) img.addEventListener("load", render); // lazy images come later
