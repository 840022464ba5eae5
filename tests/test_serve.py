"""`serve`: the preview server over a kept engine. The last complete build while one writes, pushed
reloads with the keys whose bytes changed, the error overlay's list, the review pages, refusals, binding."""

from __future__ import annotations

import contextlib
import email
import email.policy
import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from tests.conftest import article

from contentpipe.api import Project
from contentpipe.live import Live, Site
from contentpipe.preview import PreviewServer, inject, is_loopback, serve_in_thread

A_PAGE, B_PAGE = "a/index.html", "b/index.html"


def get(url: str, timeout: float = 10) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


class Session:
    """A kept project, its Live session and a preview server; ``rebuild`` is one watcher build."""

    def __init__(self, root: Path, channels: list[str] | None = None) -> None:
        self.root = root
        self.project = Project.load(root)
        self.channels = channels
        self.live = Live(Site.from_manifest(self.project.config.out_dir, root))
        self.project.engine.write_gate = self.live.gate.writing
        self.server: PreviewServer = serve_in_thread(self.project.config.out_dir, live=self.live, root=root)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.rebuild(())

    def rebuild(self, changed: tuple[str, ...]) -> dict:
        started = time.perf_counter()
        result = self.project.build(self.channels)
        return self.live.settle(result, changed, "", time.perf_counter() - started, self.project.config.site.base_url)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def small(make_project: Callable[..., Path]) -> Iterator[Session]:
    root = make_project({"assets/a.md": article("Alpha", "tags: [x]\n"), "assets/b.md": article("Beta"),
                         "assets/a.nl.md": article("Alfa")})
    session = Session(root, ["web", "social"])
    yield session
    session.close()


class EventStream:
    """A client of the push channel, as a browser's EventSource reads it: each event on a queue."""

    def __init__(self, url: str) -> None:
        host, port = url.split("//", 1)[1].rstrip("/").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.conn.request("GET", "/_contentpipe/events")
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200 and self.resp.headers["Content-Type"].startswith("text/event-stream")
        self.events: queue.Queue[tuple[str, dict]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name, data = "", ""
        with contextlib.suppress(OSError, ValueError):
            for raw in self.resp:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif not line and name:
                    self.events.put((name, json.loads(data)))
                    name, data = "", ""

    def next(self, name: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            got, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if got == name:
                return data

    def close(self) -> None:
        self.conn.close()


# ----- the push channel --------------------------------------------------------------------------------


def test_an_edit_pushes_the_keys_whose_bytes_changed_and_no_others(small: Session) -> None:
    stream = EventStream(small.url)
    hello = stream.next("hello")
    assert hello["errors"] == [] and hello["build"] == small.live.build
    before = {k: v.sha256 for k, v in small.live.site.files.items()}
    (small.root / "assets/b.md").write_text(article("Beta", body="Other text.\n"), encoding="utf-8")
    small.rebuild(("assets/b.md",))
    event = stream.next("build")
    after = small.live.site.files
    really = sorted(k for k in after if before.get(k) != after[k].sha256)
    assert [k for k in event["changed"] if not k.startswith("_contentpipe/")] == really
    assert B_PAGE in event["changed"] and A_PAGE not in event["changed"]
    assert "_contentpipe/doc/assets/b.md" in event["changed"] and "_contentpipe/doc/assets/a.md" not in event["changed"]
    assert event["paths"] == ["assets/b.md"] and event["removed"] == [] and event["errors"] == []
    status, page, _ = get(small.url + "b/")
    assert status == 200 and b"Other text." in page
    stream.close()


def test_nothing_changed_pushes_an_empty_change(small: Session) -> None:
    stream = EventStream(small.url)
    stream.next("hello")
    small.rebuild(())
    event = stream.next("build")
    assert event["changed"] == [] and event["removed"] == []
    stream.close()


def test_broken_front_matter_is_in_the_overlay_with_its_lines_until_fixed(small: Session) -> None:
    stream = EventStream(small.url)
    stream.next("hello")
    good = (small.root / "assets/a.md").read_text(encoding="utf-8")
    (small.root / "assets/a.md").write_text(good.replace("title: 'Alpha'", "title: 'Alpha"), encoding="utf-8")
    small.rebuild(("assets/a.md",))
    event = stream.next("build")
    [error] = event["errors"]
    assert error["file"] == "assets/a.md" and error["line"] >= 2  # where YAML noticed the open quote
    assert [2, "title: 'Alpha"] in error["lines"] and error["line"] in [n for n, _ in error["lines"]]
    assert A_PAGE in event["removed"] and A_PAGE not in event["changed"]  # a page gone is not reloaded into a 404
    again = EventStream(small.url)  # a page that (re)connects gets the overlay's errors at once
    assert again.next("hello")["errors"] == event["errors"]
    status, page, _ = get(small.url + "_contentpipe/doc/assets/a.md")  # its preview says why it is gone
    assert status == 200
    soup = BeautifulSoup(page, "lxml")
    assert f"assets/a.md:{error['line']}" in soup.select_one("section.problems").get_text()
    assert soup.select_one("p.missing")

    (small.root / "assets/a.md").write_text(good, encoding="utf-8")
    small.rebuild(("assets/a.md",))
    fixed = stream.next("build")
    assert fixed["errors"] == [] and A_PAGE in fixed["changed"]
    assert get(small.url + "a/")[0] == 200
    stream.close()
    again.close()


def test_errors_of_files_the_editor_did_not_touch_stay_off_the_overlay(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("Alpha"), "assets/bad.md": "---\ntitle: [\n---\n"})
    session = Session(root, ["web"])
    try:
        assert session.live.errors == []  # the build's errors are listed on the review page, not over every page
        assert "assets/bad.md" in [d["source"] for d in _left_out(session.url)]
        (root / "contentpipe.toml").write_text((root / "contentpipe.toml").read_text() + "[site.oops]\n")
        event = session.rebuild(("contentpipe.toml",))
        assert {e["file"] for e in event["errors"]} == {"contentpipe.toml"}  # config errors always show
    finally:
        session.close()


def _left_out(url: str) -> list[dict]:
    soup = BeautifulSoup(get(url + "_contentpipe/")[1], "lxml")
    section = soup.find("section", attrs={"aria-label": "Documents left out of the build"})
    return [{"source": a.get_text()} for a in section.find_all("a")] if section else []


def test_a_build_that_raises_is_pushed_as_a_failure_and_the_gate_opens(small: Session) -> None:
    stream = EventStream(small.url)
    stream.next("hello")
    with small.live.gate.writing():
        pass  # a build that closed the gate, then raised before the server took its files
    event = small.live.settle(None, ("assets/a.md",), "OSError: disk full", 0.1)
    assert event["errors"][0]["message"] == "the build failed: OSError: disk full"
    assert stream.next("build")["build"] == event["build"]
    assert get(small.url + "a/")[0] == 200  # not held: the gate is open again


# ----- never a half-built state ------------------------------------------------------------------------


def test_requests_during_a_build_get_the_last_complete_build(small: Session) -> None:
    old = get(small.url + "b/")[1]
    assert b"Some text." in old
    closing, proceed = threading.Event(), threading.Event()
    gate = small.live.gate

    @contextlib.contextmanager
    def slow_gate() -> Iterator[None]:
        closing.set()  # rendering is done; nothing is written yet
        assert proceed.wait(20)
        with gate.writing():
            yield

    small.project.engine.write_gate = slow_gate
    (small.root / "assets/b.md").write_text(article("Beta", body="New words.\n"), encoding="utf-8")
    builder = threading.Thread(target=small.rebuild, args=(("assets/b.md",),))
    builder.start()
    assert closing.wait(20)
    assert get(small.url + "b/")[1] == old  # rendered but not written: the last complete build answers

    answers: list[bytes] = []
    gate_closed = threading.Event()

    @contextlib.contextmanager
    def held_gate() -> Iterator[None]:
        with gate.writing():
            gate_closed.set()
            time.sleep(0.5)  # the write stage is running; a request made now must wait for the whole build
            yield

    small.project.engine.write_gate = held_gate
    proceed.set()
    builder.join(30)
    (small.root / "assets/b.md").write_text(article("Beta", body="Newer words.\n"), encoding="utf-8")
    builder = threading.Thread(target=small.rebuild, args=(("assets/b.md",),))
    builder.start()
    assert gate_closed.wait(20)
    reader = threading.Thread(target=lambda: answers.append(get(small.url + "b/")[1]))
    reader.start()
    reader.join(0.3)
    assert reader.is_alive()  # held while files change under the server
    builder.join(30)
    reader.join(10)
    assert len(answers) == 1 and b"Newer words." in answers[0]


def test_a_request_in_flight_finishes_before_the_write_stage_begins(small: Session) -> None:
    gate = small.live.gate
    order: list[str] = []
    with gate.reading():
        writer = threading.Thread(target=lambda: (gate.writing().__enter__(), order.append("writing")))
        writer.start()
        writer.join(0.3)
        order.append("read done")
    writer.join(10)
    gate.open()
    assert order == ["read done", "writing"]


# ----- refusals ------------------------------------------------------------------------------------------


def test_the_live_server_refuses_traversal_encoded_traversal_and_links(small: Session, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET", encoding="utf-8")
    out = small.project.config.out_dir
    (out / "web/b/index.html").unlink()
    (out / "web/b/index.html").symlink_to(outside / "secret.txt")
    for path in ("b/", "b/index.html", "%2e%2e/outside/secret.txt", "..%2f..%2foutside%2fsecret.txt",
                 "a/%2e%2e/%2e%2e/manifest.json", "%252e%252e/%252e%252e/manifest.json", "manifest.json",
                 "%2fetc%2fpasswd", "_contentpipe/doc/..%2f..%2f..%2fetc%2fpasswd", "_contentpipe/../manifest.json",
                 "_contentpipe/%2e%2e/manifest.json", "_contentpipe/doc/" + str(outside / "secret.txt"),
                 "_contentpipe/..%2fcontentpipe.toml", "_contentpipe/base.html", "web/a/index.html"):
        status, body, _ = get(small.url + path)
        assert status == 404, path
        assert b"SECRET" not in body and b'"outputs"' not in body and b"base_url" not in body
    assert get(small.url + "a/")[0] == 200


def test_a_test_send_is_refused_from_another_origin(small: Session) -> None:
    sent: list[tuple[str, list[str]]] = []
    server = serve_in_thread(small.project.config.out_dir, live=small.live, root=small.root,
                             send_test=lambda source, to: sent.append((source, to)) or "sent")
    url = f"http://127.0.0.1:{server.server_port}/_contentpipe/send-test"
    try:
        for origin in ("http://evil.example", None):
            req = urllib.request.Request(url, data=b"source=assets%2Fa.md&to=x%40y.z", method="POST")
            if origin:
                req.add_header("Origin", origin)
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req, timeout=10)
            assert err.value.code == 403
        req = urllib.request.Request(url, data=b"source=assets%2Fa.md&to=x%40y.z, w%40v.u", method="POST",
                                     headers={"Origin": f"http://127.0.0.1:{server.server_port}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read()) == {"ok": True, "message": "sent"}
        assert sent == [("assets/a.md", ["x@y.z", "w@v.u"])]
    finally:
        server.shutdown()
        server.server_close()


# ----- the review pages --------------------------------------------------------------------------------


def test_the_list_has_every_document_with_what_the_filters_need(small: Session) -> None:
    status, page, headers = get(small.url + "_contentpipe/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    soup = BeautifulSoup(page, "lxml")
    rows = soup.select("#documents tbody tr")
    assert sorted((r["data-title"], r["data-locale"]) for r in rows) == [("alfa", "nl"), ("alpha", "en"),
                                                                          ("beta", "en")]
    assert [o.get_text() for o in soup.select("#locale option")] == ["all", "en", "nl"]
    assert soup.select_one("#q") and soup.select_one("#problems")
    script = soup.find("script", attrs={"data-key": "_contentpipe/"})
    assert script and script["src"] == "/_contentpipe/live.js"


def test_a_documents_preview_has_every_channel_and_its_locale_versions(sample_project: Path) -> None:
    session = Session(sample_project)
    try:
        status, page, _ = get(session.url + "_contentpipe/doc/assets/articles/lantern-workshop.md")
        assert status == 200
        soup = BeautifulSoup(page, "lxml")
        out = session.project.config.out_dir
        frames = {f["title"]: (f["src"], int(f["width"])) for f in soup.find_all("iframe")}
        assert frames == {"Web page at desktop width": ("/articles/lantern-workshop/index.html", 1280),
                          "Mobile page in a phone frame": ("/mobile/articles/lantern-workshop/index.html", 390),
                          "Email HTML in a 600 px frame": ("/email/articles/lantern-workshop/email.html", 600)}
        eml = email.message_from_bytes((out / "email/articles/lantern-workshop/message.eml").read_bytes(),
                                       policy=email.policy.default)
        assert soup.select_one(".email dd.subject").get_text() == eml["Subject"]
        assert eml["From"] in soup.select_one(".email .headers").get_text()
        assert soup.select_one(".email dd.preheader").get_text().startswith("Two hours, one glowing lantern")
        size = (out / "email/articles/lantern-workshop/email.html").stat().st_size
        assert f"{size:,} bytes" in soup.select_one(".email dd.size").get_text()
        assert soup.select_one("#email-text pre").get_text() == (
            out / "email/articles/lantern-workshop/email.txt").read_text(encoding="utf-8")
        assert soup.select_one("a.download")["href"] == "/email/articles/lantern-workshop/message.eml"
        posts = soup.select("article.post")
        assert len(posts) == 7
        for post in posts:
            data = json.loads((out / f"social/articles/lantern-workshop/{post['data-network']}.json").read_text())
            assert f"{data['length']} / {data['limit']}" in post.select_one(".count").get_text()
            shown = post.select_one(".text").get_text().replace("… see more", "")
            assert shown.split() == data["text"].split()  # (lxml folds the blank lines between two spans)
            assert post.img["src"] == "/" + data["image"]["url"].removeprefix("https://www.example.com/")
            fold = post.select_one(".fold")
            assert (fold is not None) == (data["fold"] is not None)
            if fold is not None:  # the marker sits where the build said the network folds the text
                visible = post.select_one(".text").get_text().split("… see more")[0]
                assert visible.split() == data["text"][:data["fold"]].split()
        assert [a["hreflang"] for a in soup.select(".versions a")] == ["nl"]
        # the web page is served with the live script; the published file has none
        page = get(session.url + "articles/lantern-workshop/")[1]
        assert b'data-key="articles/lantern-workshop/index.html"' in page
        assert b"live.js" not in (out / "web/articles/lantern-workshop/index.html").read_bytes()
    finally:
        session.close()


def test_inject_puts_the_script_before_the_last_body_end() -> None:
    assert inject(b"<p>x</p></BODY></html>", 'a"b') == (
        b'<p>x</p><script src="/_contentpipe/live.js" data-key="a&quot;b" async></script></BODY></html>')
    assert inject(b"<p>x", "k").endswith(b'data-key="k" async></script>')


# ----- the command ---------------------------------------------------------------------------------------


def test_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("::")


def _serve(root: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "contentpipe", "serve", str(root), "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("serving http://"), line + (proc.stderr.read() if proc.poll() is not None else "")
    return proc, line.split()[1]


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def test_serve_binds_to_loopback_and_stops_cleanly_on_ctrl_c(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("Alpha")})
    proc, url = _serve(root)
    try:
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        assert get(url + "a/")[0] == 200
        for address in _other_addresses():
            with pytest.raises(OSError), socket.create_connection((address, port), timeout=2):
                pass  # not reachable from another interface
    finally:
        err = _stop(proc)
    assert "warning" not in err and "stopped watching" in err


def _other_addresses() -> list[str]:
    found = set()
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        found.add(s.getsockname()[0])
    return sorted(a for a in found if not a.startswith("127."))


def test_serve_elsewhere_than_loopback_only_when_asked_and_warns(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("Alpha")})
    proc, url = _serve(root, "--host", "0.0.0.0")
    try:
        assert url.startswith("http://0.0.0.0:")
        assert get(url.replace("0.0.0.0", "127.0.0.1") + "a/")[0] == 200
    finally:
        err = _stop(proc)
    assert "warning: serving on 0.0.0.0, not loopback" in err


def test_serve_on_a_port_in_use_is_a_clear_error(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("Alpha")})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "contentpipe", "serve", str(root), "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_pushes_a_save_and_survives_a_broken_file(sample_project: Path) -> None:
    """The whole command: a real watcher and server process, an atomic save, a bad file and its fix."""
    proc, url = _serve(sample_project)
    stream = EventStream(url)
    try:
        stream.next("hello")
        doc = sample_project / "assets/articles/route-guide.md"
        good = doc.read_text(encoding="utf-8")
        tmp = doc.with_name(".route-guide.md.tmp")
        tmp.write_text(good.replace("\n\n", "\n\nA new first line.\n\n", 1), encoding="utf-8")
        tmp.replace(doc)  # an editor's atomic save
        event = stream.next("build", timeout=60)
        assert "articles/route-guide/index.html" in event["changed"] and event["paths"] == [
            "assets/articles/route-guide.md"]
        doc.write_text(good.replace("title:", "title: [", 1), encoding="utf-8")
        event = stream.next("build", timeout=60)
        assert [e["file"] for e in event["errors"]] == ["assets/articles/route-guide.md"]
        doc.write_text(good, encoding="utf-8")
        event = stream.next("build", timeout=60)
        assert event["errors"] == [] and "articles/route-guide/index.html" in event["changed"]
    finally:
        stream.close()
        _stop(proc)


def test_a_browser_that_goes_away_mid_answer_leaves_no_traceback(small: Session,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import struct

    port = small.server.server_port
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /_contentpipe/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
    time.sleep(0.5)
    assert get(small.url + "a/")[0] == 200  # still answering
    assert "Traceback" not in capsys.readouterr().err
