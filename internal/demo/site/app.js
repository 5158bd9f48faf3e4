// pixcdn demo: lists what the edge did for every resource of this page, from the
// Cache-Status, Content-Type and Age headers (HEAD requests, so nothing is downloaded twice).
// Each request carries the Accept and Accept-Encoding a browser sends for that kind of
// resource, so the edge reports on the same variant the page loaded.
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

async function describe({ path, accept }) {
  const headers = accept ? { Accept: accept } : {};
  const res = await fetch(path, { method: "HEAD", cache: "no-store", headers });
  return {
    path,
    type: (res.headers.get("Content-Type") || "").split(";")[0],
    encoding: res.headers.get("Content-Encoding") || "",
    bytes: res.headers.get("Content-Length") || "?",
    age: res.headers.get("Age") || "",
    status: res.headers.get("Cache-Status") || "(none)",
  };
}

async function render() {
  const body = document.querySelector("#status tbody");
  const rows = await Promise.all(resources().map(describe));
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      const hit = /;\s*hit/.test(r.status);
      const type = r.encoding ? `${r.type} (${r.encoding})` : r.type;
      for (const [text, cls] of [[r.path], [type], [r.bytes], [r.age], [r.status, hit ? "hit" : "miss"]]) {
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

document.getElementById("recheck").addEventListener("click", render);
window.addEventListener("load", render);
