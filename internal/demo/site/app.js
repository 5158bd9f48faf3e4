// pixcdn demo: lists what the edge did for every resource of this page, from the
// Cache-Status and Age headers (HEAD requests, so nothing is downloaded twice).
"use strict";

const resources = () => [
  location.pathname,
  "/style.css",
  "/app.js",
  ...Array.from(document.images, (img) => new URL(img.src).pathname),
];

async function describe(path) {
  const res = await fetch(path, { method: "HEAD", cache: "no-store" });
  return {
    path,
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
      for (const [text, cls] of [[r.path], [r.bytes], [r.age], [r.status, hit ? "hit" : "miss"]]) {
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
