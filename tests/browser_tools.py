"""Test helpers that check generated HTML with real external tools.

- ``check_html``: the Nu HTML Checker (vnu.jar, the W3C validator engine), so
  markup errors are judged by the reference implementation, not by a regex.
- ``page_overflow``: real layout in headless Debian Chromium, because only a
  browser can tell whether a page is wider than a phone screen.

The tools are installed by ``bash tests/install-tools.sh`` (CI runs it too).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

TESTS_DIR = Path(__file__).resolve().parent
VNU_JAR = TESTS_DIR / ".tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
CHROMIUM = Path("/usr/bin/chromium")

# Flags for Chromium as root in the sandbox (see the machine notes): without
# the background-networking ones Chromium keeps dialling Google's hosts on a
# closed network. Playwright adds --headless and a fresh temporary profile.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Runs inside the page: elements, and text (a long word, a <pre> line) that
# stick out past the right edge of the viewport, in document order. Things
# clipped by a scrolling/hidden ancestor that itself fits (e.g. a wide table
# in an overflow-x:auto wrapper) are not offenders. 0.5px absorbs rounding.
_OFFENDERS_JS = """
async (limit) => {
  await document.fonts.ready;
  const vw = window.innerWidth;
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible'
          && a.getBoundingClientRect().right <= vw + 0.5) return true;
    }
    return false;
  };
  const describe = (el) => {
    let d = el.tagName.toLowerCase();
    if (el.id) d += '#' + el.id;
    for (const c of Array.from(el.classList).slice(0, 3)) d += '.' + c;
    return d;
  };
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let n = walk.currentNode; n && out.length < limit; n = walk.nextNode()) {
    let r, el, what;
    if (n.nodeType === Node.TEXT_NODE) {
      if (!n.data.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      r = range.getBoundingClientRect();
      el = n.parentElement;
      what = describe(el) + ' (text)';
    } else {
      r = n.getBoundingClientRect();
      el = n;
      what = describe(el);
    }
    if (r.right <= vw + 0.5 || (r.width === 0 && r.height === 0)) continue;
    const hidden = n.nodeType === Node.TEXT_NODE
      ? getComputedStyle(el).overflowX !== 'visible' || clipped(el) : clipped(el);
    if (hidden) continue;
    out.push(what + ' right=' + Math.round(r.right) + 'px');
  }
  return {scroll_width: document.documentElement.scrollWidth, viewport: vw, offenders: out};
}
"""


def _require_files(paths: list[Path]) -> None:
    """Fail loudly on missing inputs: vnu silently skips files that don't exist."""
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"no such file(s): {', '.join(missing)}")


def vnu_jar() -> Path:
    """Path of vnu.jar as installed by tests/install-tools.sh (npm package vnu-jar)."""
    if not VNU_JAR.is_file():
        raise RuntimeError("vnu.jar not found: run bash tests/install-tools.sh")
    return VNU_JAR


def check_html(paths: list[Path]) -> list[dict]:
    """Validate HTML files with vnu and return its error messages.

    All files go to one ``java -jar vnu.jar`` run, since a JVM start costs
    about a second and the checker takes any number of files. Each message is
    a dict: ``file`` (the Path as given), ``url``, ``line``, ``column``,
    ``type`` ("error", or "non-document-error" for I/O problems), ``message``.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        return []
    _require_files(paths)
    jar = vnu_jar()
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java not found: run bash tests/install-tools.sh")
    # C1-only JIT and serial GC: ~1 s faster for a test-sized batch (200
    # small files: ~1.7 s vs ~2.5-3.5 s); C1 frames are bigger, and vnu needs
    # >= 512k of stack even with C2, hence -Xss4m.
    jvm = ["-Xss4m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
    cmd = [java, *jvm, "-jar", str(jar), "--format", "json", "--errors-only",
           "--stdout", "--exit-zero-always", *(str(p.resolve()) for p in paths)]
    # Under a non-UTF-8 locale (LANG unset, as in a bare CI shell) Java can't
    # open non-ASCII file names and vnu silently reports nothing for them.
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    proc = subprocess.run(cmd, capture_output=True, encoding="utf-8", env=env, timeout=600)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"vnu failed (exit {proc.returncode}): {proc.stderr.strip()}")
    by_resolved = {p.resolve(): p for p in paths}
    errors: list[dict] = []
    for m in json.loads(proc.stdout).get("messages", []):
        url = m.get("url", "")
        # vnu reports "file:/abs/path" with %-escapes (spaces as %20, etc.).
        local = Path(unquote(url[len("file:"):])) if url.startswith("file:") else None
        errors.append({
            "file": by_resolved.get(local, local) if local else None,
            "url": url,
            "line": m.get("firstLine", m.get("lastLine")),
            "column": m.get("firstColumn"),
            "type": m.get("type"),
            "message": m.get("message", ""),
        })
    return errors


def page_overflow(paths: list[Path | str], width: int = 360) -> dict[Path | str, dict]:
    """Measure horizontal overflow of local HTML files (or loopback URLs) at a ``width`` x 800 viewport.

    Playwright drives the system Chromium (Playwright's own browser download
    is impossible here); one browser serves all files. Each page is loaded
    until its ``load`` event (images included) and web fonts are ready.
    Requests to http(s) hosts other than 127.0.0.1 are aborted so a page can't
    stall on the closed network; a str item is a URL on a loopback server (a
    preview of the build, with its images). Result per path or URL: ``scroll_width``
    (document.documentElement.scrollWidth), ``viewport`` (innerWidth) and
    ``offenders`` (up to 10 "tag#id.class right=NNNpx" strings).
    """
    if not CHROMIUM.exists():
        raise RuntimeError("chromium not found: run bash tests/install-tools.sh")
    if not paths:
        return {}
    _require_files([p for p in paths if isinstance(p, Path)])
    from playwright.sync_api import sync_playwright  # heavy; only when needed

    results: dict[Path | str, dict] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 800},
                                          device_scale_factor=1)
            context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
            page = context.new_page()
            page.set_default_timeout(30_000)
            for p in paths:
                page.goto(p if isinstance(p, str) else p.resolve().as_uri(), wait_until="load")
                results[p] = page.evaluate(_OFFENDERS_JS, 10)
        finally:
            browser.close()
    return results


AXE_JS = TESTS_DIR / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

# Runs inside the page after axe.min.js: only violations (faster), one entry per rule and node.
_AXE_JS_RUN = """
async (tags) => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return r.violations.flatMap(v => v.nodes.map(n => ({
    id: v.id, impact: n.impact || v.impact, help: v.help, target: n.target.join(' '),
    summary: n.failureSummary || ''})));
}
"""


def axe_core() -> Path:
    """Path of axe.min.js as installed by tests/install-tools.sh (npm package axe-core)."""
    if not AXE_JS.is_file():
        raise RuntimeError("axe-core not found: run bash tests/install-tools.sh")
    return AXE_JS


def axe_violations(urls: list[str], tags: list[str] = AXE_TAGS) -> dict[str, list[dict]]:
    """Run axe-core in headless Chromium on each page (loopback URLs or file: URIs).

    One browser, one context, one tab for all pages; each is loaded until its
    ``load`` event, then axe.min.js is injected and ``axe.run`` checks the
    rules with the given tags. Requests to hosts other than 127.0.0.1 are
    aborted, as in ``page_overflow``. Result per URL: a list of violations,
    one per rule and element: ``id``, ``impact``, ``help``, ``target`` (CSS
    selector), ``summary``.
    """
    if not CHROMIUM.exists():
        raise RuntimeError("chromium not found: run bash tests/install-tools.sh")
    axe = axe_core().read_text(encoding="utf-8")
    from playwright.sync_api import sync_playwright  # heavy; only when needed

    results: dict[str, list[dict]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
            page = context.new_page()
            page.set_default_timeout(30_000)
            for url in urls:
                page.goto(url, wait_until="load")
                page.add_script_tag(content=axe)
                results[url] = page.evaluate(_AXE_JS_RUN, tags)
        finally:
            browser.close()
    return results
