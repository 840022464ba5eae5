// Live reload for `contentpipe serve`. The top window listens on the push channel (one connection per
// tab: a browser opens at most six per host) and hands every message to the previews framed in it.
// A page reloads only when its own key, or a file it loaded, changed; build errors show in an overlay
// on the top window, which clears by itself when they are fixed.
(() => {
  const script = document.currentScript;
  const key = script.dataset.key;
  const framed = window.parent !== window;
  let session = null;

  const pathOf = (url) => {
    try {
      const u = new URL(url, location.href);
      return u.origin === location.origin ? decodeURIComponent(u.pathname).replace(/^\//, "") : null;
    } catch { return null; }
  };
  const loaded = () => {
    const paths = new Set([pathOf(location.href)]);
    for (const e of performance.getEntriesByType("resource")) paths.add(pathOf(e.name));
    return paths;
  };
  const mine = (changed) => {
    if (changed.includes(key)) return true;
    const paths = loaded();
    return changed.some((k) => paths.has(k) || paths.has(k.replace(/index\.html$/, "")));
  };

  const overlay = (errors) => {
    let box = document.getElementById("contentpipe-overlay");
    if (!errors.length) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("div");
      box.id = "contentpipe-overlay";
      box.setAttribute("role", "alertdialog");
      box.setAttribute("aria-label", "Build errors");
      box.style.cssText = "position:fixed;inset:0;z-index:2147483647;background:rgba(20,24,28,.9);color:#fff;"
        + "overflow:auto;padding:2rem;font:14px/1.45 ui-monospace,Menlo,Consolas,monospace;text-align:left";
      document.body.appendChild(box);
    }
    box.replaceChildren();
    const title = document.createElement("h2");
    title.textContent = `contentpipe: ${errors.length} build error${errors.length === 1 ? "" : "s"}`;
    title.style.cssText = "color:#ff8a80;font-size:18px;margin:0 0 1rem";
    const close = document.createElement("button");
    close.textContent = "Hide until the next build";
    close.style.cssText = "float:right;font:inherit";
    close.onclick = () => box.remove();
    box.append(close, title);
    for (const err of errors) {
      const item = document.createElement("section");
      item.className = "contentpipe-error";
      item.style.cssText = "margin:0 0 1.5rem";
      const where = document.createElement("div");
      where.className = "where";
      where.style.cssText = "color:#ffd180;font-weight:700";
      where.textContent = err.file ? `${err.file}${err.line ? `:${err.line}` : ""}${err.key ? ` (${err.key})` : ""}` : "build";
      const message = document.createElement("div");
      message.className = "message";
      message.textContent = err.message;
      item.append(where, message);
      if (err.lines && err.lines.length) {
        const pre = document.createElement("pre");
        pre.style.cssText = "background:#111;padding:.6rem;overflow:auto;margin:.4rem 0 0";
        pre.tabIndex = 0;  // a long line scrolls it sideways: reachable by keyboard
        for (const [n, text] of err.lines) {
          const line = document.createElement("div");
          line.textContent = `${String(n).padStart(5)} | ${text}`;
          if (n === err.line) line.style.cssText = "background:#5c1d1d;color:#fff";
          pre.append(line);
        }
        item.append(pre);
      }
      box.append(item);
    }
  };

  const handle = (msg) => {
    if (msg.type === "build" && mine(msg.changed || [])) { location.reload(); return; }
    for (const frame of document.querySelectorAll("iframe")) {
      try { frame.contentWindow.postMessage({ contentpipe: msg }, location.origin); } catch { /* not ours */ }
    }
    if (!framed) overlay(msg.errors || []);
    document.documentElement.dataset.contentpipeBuild = String(msg.build);
  };

  if (framed) {
    window.addEventListener("message", (e) => {
      if (e.origin === location.origin && e.data && e.data.contentpipe) handle(e.data.contentpipe);
    });
    return;
  }
  const source = new EventSource("/_contentpipe/events");
  source.addEventListener("hello", (e) => {
    const msg = JSON.parse(e.data);
    if (session !== null && session !== msg.session) { location.reload(); return; }  // the server restarted
    session = msg.session;
    handle({ type: "hello", ...msg });
  });
  source.addEventListener("build", (e) => handle({ type: "build", ...JSON.parse(e.data) }));
})();
