// The preview's own pages: the document list's filters (kept in the address, so a reload keeps them),
// the email's HTML / plain-text tabs, and the test-send form.
(() => {
  const table = document.getElementById("documents");
  if (table) {
    const q = document.getElementById("q"), locale = document.getElementById("locale");
    const problems = document.getElementById("problems"), count = document.getElementById("count");
    const params = new URLSearchParams(location.search);
    q.value = params.get("q") || ""; locale.value = params.get("locale") || ""; problems.checked = params.has("problems");
    const apply = () => {
      const words = q.value.trim().toLowerCase();
      let shown = 0;
      for (const row of table.tBodies[0].rows) {
        const ok = (!words || row.dataset.title.includes(words) || row.dataset.slug.includes(words))
          && (!locale.value || row.dataset.locale === locale.value)
          && (!problems.checked || Number(row.dataset.problems) > 0);
        row.hidden = !ok;
        shown += ok;
      }
      count.value = `${shown} document${shown === 1 ? "" : "s"}`;
      const next = new URLSearchParams();
      if (q.value) next.set("q", q.value);
      if (locale.value) next.set("locale", locale.value);
      if (problems.checked) next.set("problems", "1");
      history.replaceState(null, "", next.toString() ? `?${next}` : location.pathname);
    };
    for (const el of [q, locale, problems]) el.addEventListener("input", apply);
    document.getElementById("filters").addEventListener("submit", (e) => { e.preventDefault(); apply(); });
    apply();
  }
  // Tabs as the ARIA pattern has them: one tab stop (the selected tab), arrow keys, Home and End move between them.
  const tabs = [...document.querySelectorAll("[role=tab]")];
  const select = (tab) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
  };
  for (const [i, tab] of tabs.entries()) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      const next = tabs[(to + tabs.length) % tabs.length];
      select(next);
      next.focus();
    });
  }
  const send = document.querySelector("form.send");
  if (send) {
    send.addEventListener("submit", async (e) => {
      e.preventDefault();
      const out = send.querySelector("output");
      out.value = "sending…";
      try {
        const resp = await fetch(send.action, { method: "POST", body: new URLSearchParams(new FormData(send)) });
        out.value = (await resp.json()).message;
      } catch (err) {
        out.value = `not sent: ${err}`;
      }
    });
  }
})();
