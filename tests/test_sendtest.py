"""`send-test`: a document's built .eml sent over SMTP to a real server process (aiosmtpd) and read back."""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import article, copy_sample

from contentpipe.api import Project
from contentpipe.config.project import load_config
from contentpipe.errors import ContentpipeError, Problems
from contentpipe.sendtest import find_message, recipients, smtp_settings

SINK = Path(__file__).parent / "smtp_sink.py"
DOC = "assets/articles/lantern-workshop.md"
ENVELOPE_HEADERS = {"received", "return-path", "x-peer", "x-mailfrom", "x-rcptto"}
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """aiosmtpd in its own process on 127.0.0.1; what it received, one message per file."""

    def __init__(self, folder: Path, credentials: str | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(SINK), str(self.port), str(folder),
                                      *([credentials] if credentials else [])],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def received(self, timeout: float = 10) -> list[tuple[dict, bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not list(self.folder.glob("*.json")):
            time.sleep(0.05)
        return [(json.loads(p.read_text()), p.with_suffix(".eml").read_bytes())
                for p in sorted(self.folder.glob("*.json"), key=lambda p: int(p.stem))]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_rendition_cache: Path) -> Path:
    root = copy_sample(tmp_path_factory.mktemp("sendtest") / "sample")
    assert Project.load(root).build().ok
    return root


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    s = Sink(tmp_path / "inbox")
    yield s
    s.close()


def send(root: Path, *args: str, env: dict[str, str] | None = None,
         verbose: bool = False) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CONTENTPIPE_SMTP_")}
    return subprocess.run([sys.executable, "-m", "contentpipe", *(["-v"] if verbose else []), "send-test", *args,
                           "--project", str(root)],
                          capture_output=True, text=True, timeout=120, env={**clean, **(env or {})})


def headers_and_parts(data: bytes) -> tuple[list[tuple[str, str]], list[tuple[str, bytes]]]:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    headers = [(k, str(v)) for k, v in msg.items() if k.lower() not in ENVELOPE_HEADERS]
    parts = [(p.get_content_type(), p.get_payload(decode=True)) for p in msg.walk() if not p.is_multipart()]
    return headers, parts


def test_the_inbox_gets_the_built_eml_apart_from_the_envelope(project: Path, sink: Sink) -> None:
    done = send(project, DOC, "--to", "editor@example.org", "--to", "second@example.org",
                "--smtp", f"127.0.0.1:{sink.port}", env={"CONTENTPIPE_SMTP_SECURITY": "none"})
    assert done.returncode == 0, done.stderr
    [(envelope, data)] = sink.received()
    built = (project / "dist/email/articles/lantern-workshop/message.eml").read_bytes()
    assert envelope == {"from": "news@example.com", "to": ["editor@example.org", "second@example.org"]}
    assert headers_and_parts(data) == headers_and_parts(built)
    assert data.split(b"\r\n", 1)[1].replace(b"\r\n", b"\n") == built.replace(b"\r\n", b"\n")  # byte for byte
    assert email.message_from_bytes(data, policy=email.policy.default)["Received"].startswith("from 127.0.0.1")
    assert done.stdout.startswith(f"sent {DOC} (en) to editor@example.org, second@example.org via "
                                  f"127.0.0.1:{sink.port} (")


def test_the_login_is_used_and_the_password_never_printed(project: Path, tmp_path: Path) -> None:
    sink = Sink(tmp_path / "auth", f"editor:{PASSWORD}")
    try:
        env = {"CONTENTPIPE_SMTP_SECURITY": "none", "CONTENTPIPE_SMTP_USER": "editor"}
        wrong = send(project, "lantern-workshop", "--to", "a@example.org", "--smtp", f"127.0.0.1:{sink.port}",
                     env={**env, "CONTENTPIPE_SMTP_PASSWORD": "wrong " + PASSWORD}, verbose=True)
        assert wrong.returncode == 1 and "refused the login of 'editor'" in wrong.stderr
        assert PASSWORD not in wrong.stdout + wrong.stderr and "Traceback" not in wrong.stderr
        assert sink.received(timeout=0.5) == []
        right = send(project, "lantern-workshop", "--to", "a@example.org", "--smtp", f"127.0.0.1:{sink.port}",
                     env={**env, "CONTENTPIPE_SMTP_PASSWORD": PASSWORD}, verbose=True)
        assert right.returncode == 0, right.stderr
        assert PASSWORD not in right.stdout + right.stderr
        assert [e["to"] for e, _ in sink.received()] == [["a@example.org"]]
    finally:
        sink.close()


def test_the_server_comes_from_config_then_environment_then_the_option(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("A")}, config=(
        '[site]\nname = "T"\nbase_url = "https://t.example/"\n\n[smtp]\nhost = "mail.t.example"\nuser = "me"\n'))
    config = load_config(root, Problems())
    assert smtp_settings(config, env={}).__dict__ == {"host": "mail.t.example", "port": 587, "user": "me",
                                                     "password": None, "security": "starttls", "sender": None}
    env = {"CONTENTPIPE_SMTP_HOST": "other.example", "CONTENTPIPE_SMTP_SECURITY": "ssl",
           "CONTENTPIPE_SMTP_PASSWORD": PASSWORD}
    got = smtp_settings(config, env=env)
    assert (got.host, got.port, got.security, got.password) == ("other.example", 465, "ssl", PASSWORD)
    assert PASSWORD not in repr(got) and PASSWORD not in str(got)
    assert (smtp_settings(config, "[::1]:2525", env).host, smtp_settings(config, "[::1]:2525", env).port) == (
        "::1", 2525)
    assert smtp_settings(config, "localhost", env={}).host == "localhost"


def test_a_password_in_the_config_is_an_error_at_its_line(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("A")}, config=(
        '[site]\nname = "T"\nbase_url = "https://t.example/"\n\n[smtp]\nhost = "h"\npassword = "hunter2"\n'))
    done = send(root, "a", "--to", "x@example.org")
    assert done.returncode == 2
    assert "contentpipe.toml:7" in done.stderr and "CONTENTPIPE_SMTP_PASSWORD" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout


def test_no_server_anywhere_is_a_clear_usage_error(project: Path) -> None:
    done = send(project, DOC, "--to", "x@example.org")
    assert done.returncode == 2 and "no SMTP server" in done.stderr and "--smtp" in done.stderr


def test_an_unknown_document_names_close_ones(project: Path, sink: Sink) -> None:
    done = send(project, "articles/lantern-workshp", "--to", "x@example.org", "--smtp", f"127.0.0.1:{sink.port}")
    assert done.returncode == 1 and "did you mean articles/lantern-workshop" in done.stderr
    found = find_message(project / "dist", "lantern-workshop")
    assert (found.source, found.locale) == (DOC, "en")  # a slug alone is its default-locale version
    assert find_message(project / "dist", "lantern-workshop", "nl").source == "assets/articles/lantern-workshop.nl.md"


def test_a_document_left_out_of_the_build_is_not_sent(tmp_path: Path, sink: Sink) -> None:
    root = copy_sample(tmp_path / "broken")
    doc = root / DOC
    doc.write_text(doc.read_text(encoding="utf-8").replace("title:", "title: [", 1), encoding="utf-8")
    done = send(root, DOC, "--to", "x@example.org", "--smtp", f"127.0.0.1:{sink.port}",
                env={"CONTENTPIPE_SMTP_SECURITY": "none"})
    assert done.returncode == 1 and "malformed front matter" in done.stderr and DOC in done.stderr
    assert sink.received(timeout=0.5) == []


def test_a_closed_port_is_a_clean_error(project: Path) -> None:
    done = send(project, DOC, "--to", "x@example.org", "--smtp", f"127.0.0.1:{free_port()}", "--no-build",
                env={"CONTENTPIPE_SMTP_SECURITY": "none"})
    assert done.returncode == 1 and "cannot reach the SMTP server 127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr


def test_recipients_refuse_header_tricks() -> None:
    assert recipients(["a@example.org, B <b@example.org>"]) == ("a@example.org", "b@example.org")
    for bad in ("a@example.org\r\nBcc: c@example.org", "not an address", ""):
        with pytest.raises(ContentpipeError):
            recipients([bad])


def test_the_preview_button_sends_the_same_message(project: Path, sink: Sink) -> None:
    """serve's test-send form posts to the server, which sends the built .eml through [smtp]."""
    from contentpipe.live import Live, Site
    from contentpipe.preview import serve_in_thread
    from contentpipe.sendtest import send_message

    proj = Project.load(project)
    out = proj.config.out_dir
    env = {"CONTENTPIPE_SMTP_HOST": "127.0.0.1", "CONTENTPIPE_SMTP_PORT": str(sink.port),
           "CONTENTPIPE_SMTP_SECURITY": "none"}
    server = serve_in_thread(out, live=Live(Site.from_manifest(out, project)), root=project, send_test=lambda s, to: (
        send_message(find_message(out, s), to, smtp_settings(proj.config, env=env)).describe()))
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        with urllib.request.urlopen(url + "_contentpipe/doc/" + DOC, timeout=10) as resp:
            assert b'action="/_contentpipe/send-test"' in resp.read()
        req = urllib.request.Request(url + "_contentpipe/send-test", method="POST",
                                     data=f"source={DOC}&to=editor%40example.org".encode(),
                                     headers={"Origin": url.rstrip("/")})
        with urllib.request.urlopen(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        assert answer["ok"] and answer["message"].startswith(f"sent {DOC} (en) to editor@example.org")
    finally:
        server.shutdown()
        server.server_close()
    [(envelope, data)] = sink.received()
    assert envelope["to"] == ["editor@example.org"]
    assert headers_and_parts(data) == headers_and_parts((out / "email/articles/lantern-workshop/message.eml")
                                                        .read_bytes())
