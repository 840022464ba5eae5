"""A test send: a document's built ``.eml``, byte for byte, to an inbox over SMTP.

The message sent is the file the email channel wrote, so what the editor sees in a real mail
client is what the campaign tool will get. The SMTP settings come from ``[smtp]`` in
contentpipe.toml, then the environment (``CONTENTPIPE_SMTP_HOST``, ``_PORT``, ``_USER``,
``_SECURITY``, ``_PASSWORD``), then ``--smtp HOST:PORT``; the password only ever from the
environment, and it is never printed.
"""

from __future__ import annotations

import difflib
import email.policy
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from pathlib import Path

from contentpipe import urls
from contentpipe.config.project import ProjectConfig
from contentpipe.errors import ContentpipeError, SourcePos
from contentpipe.manifest import Manifest
from contentpipe.safefiles import read_inside

ENV = "CONTENTPIPE_SMTP_"
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "starttls"  # "starttls", "ssl" or "none"
    sender: str | None = None  # envelope MAIL FROM; None: the message's From address

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class FoundMessage:
    source: str  # the document, relative to the project
    locale: str
    key: str  # the .eml's published key
    path: Path
    data: bytes


@dataclass(frozen=True)
class Sent:
    found: FoundMessage
    to: tuple[str, ...]
    via: str
    message_id: str

    def describe(self) -> str:
        return (f"sent {self.found.source} ({self.found.locale}) to {', '.join(self.to)} via {self.via} "
                f"({len(self.found.data) / 1000:.1f} kB, Message-ID {self.message_id or 'none'})")


def smtp_settings(config: ProjectConfig, override: str | None = None,
                  env: Mapping[str, str] = os.environ) -> SmtpSettings:
    """The SMTP server to use: [smtp], then the environment, then ``override`` ("HOST:PORT")."""
    given = dict(config.smtp)
    for key in ("host", "port", "user", "security", "sender"):
        if env.get(ENV + key.upper()):
            given[key] = env[ENV + key.upper()]
    if override:
        host, port = _host_port(override)
        given["host"], given["port"] = host, port or given.get("port")
    security = str(given.get("security") or "starttls")
    if security not in DEFAULT_PORTS:
        raise ContentpipeError(f"{ENV}SECURITY must be starttls, ssl or none, not {security!r}",
                               SourcePos(config.file))
    if not given.get("host"):
        raise ContentpipeError("no SMTP server: set [smtp] host in contentpipe.toml, CONTENTPIPE_SMTP_HOST, "
                               "or --smtp HOST:PORT", SourcePos(config.file))
    try:
        port = int(given.get("port") or DEFAULT_PORTS[security])
    except ValueError:
        raise ContentpipeError(f"the SMTP port {given.get('port')!r} is not a number",
                               SourcePos(config.file)) from None
    return SmtpSettings(str(given["host"]), port, given.get("user") or None, env.get(ENV + "PASSWORD") or None,
                        security, given.get("sender") or None)


def _host_port(value: str) -> tuple[str, str]:
    """'host', 'host:port', '[::1]:port'."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, rest.removeprefix(":")
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, port
    return value, ""


def find_message(out_dir: Path, document: str, locale: str | None = None) -> FoundMessage:
    """The built ``.eml`` of ``document``: its source (``assets/articles/x.md`` or ``articles/x.md``), id or slug."""
    manifest = Manifest.read(out_dir / urls.MANIFEST_NAME)
    if manifest is None:
        raise ContentpipeError(f"no build in {out_dir}: run 'contentpipe build' first", SourcePos(out_dir))
    wanted = document.strip().replace("\\", "/").removeprefix("./")
    matches = []
    for source, entry in manifest.documents.items():
        slug = entry["id"].rsplit("/", 1)[-1]
        names = {source, source.removeprefix("assets/"), entry["id"], slug}
        if wanted in names and (locale is None or entry["locale"] == locale):
            matches.append((source, entry))
    if len(matches) > 1:
        by_locale = [m for m in matches if m[1]["locale"] == _default_locale(manifest, matches)]
        if locale is None and len(by_locale) == 1 and wanted not in {s for s, _ in matches}:
            matches = by_locale  # an id or slug alone means its default-locale version
    if not matches:
        known = sorted({n for s, e in manifest.documents.items() for n in (s, e["id"])})
        close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ContentpipeError(f"no document {document!r}{' in ' + locale if locale else ''} in the build{hint}",
                               SourcePos(out_dir / urls.MANIFEST_NAME))
    if len(matches) > 1:
        raise ContentpipeError(f"{document!r} names {len(matches)} documents: "
                               + ", ".join(f"{s} ({e['locale']})" for s, e in matches) + "; give --locale or the path",
                               SourcePos(out_dir / urls.MANIFEST_NAME))
    source, entry = matches[0]
    key = entry.get("variants", {}).get("email", {}).get("eml")
    if key is None:
        raise ContentpipeError(f"{source} has no built email (.eml): is the email channel enabled and built?",
                               SourcePos(Path(source)))
    record = next((o for o in manifest.outputs if o.key == key), None)
    path = (out_dir / record.path) if record is not None else None
    data = read_inside(out_dir, path) if path is not None else None
    if data is None:
        raise ContentpipeError(f"the email of {source} is not in {out_dir} as the manifest says", SourcePos(out_dir))
    return FoundMessage(source, entry["locale"], key, path, data)  # type: ignore[arg-type]


def _default_locale(manifest: Manifest, matches: list[tuple[str, dict]]) -> str:
    plain = [e["locale"] for s, e in matches if "." not in Path(s).stem]  # name.md, not name.nl.md
    return plain[0] if plain else matches[0][1]["locale"]


def recipients(values: Sequence[str]) -> tuple[str, ...]:
    """Plain addresses from ``--to`` values (each may list several, comma-separated); refuses header tricks."""
    found = []
    for value in values:
        if "\r" in value or "\n" in value:
            raise ContentpipeError("a recipient may not contain a line break", SourcePos(Path("--to")))
        for _, addr in getaddresses([value]):
            if not addr or "@" not in addr.strip("@") or " " in addr:
                raise ContentpipeError(f"{value!r} is not an email address", SourcePos(Path("--to")))
            found.append(addr)
    if not found:
        raise ContentpipeError("no recipient: give --to ADDRESS", SourcePos(Path("--to")))
    return tuple(dict.fromkeys(found))


def send_message(found: FoundMessage, to: Sequence[str], smtp: SmtpSettings, timeout: float = 30) -> Sent:
    """Send the .eml's bytes unchanged; every failure is a ContentpipeError naming the server, never the password."""
    rcpt = recipients(to)
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(found.data)
    sender = smtp.sender or parseaddr(str(headers.get("From", "")))[1]
    if not sender:
        raise ContentpipeError("the message has no From address: set [smtp] sender", SourcePos(found.path))
    where = SourcePos(found.path)
    try:
        if smtp.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout,
                                                   context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            refused = client.sendmail(sender, list(rcpt), found.data)
    except smtplib.SMTPAuthenticationError as err:
        raise ContentpipeError(f"{smtp} refused the login of {smtp.user!r}: {_reply(err)}", where) from None
    except smtplib.SMTPNotSupportedError as err:
        raise ContentpipeError(f"{smtp} does not support it: {err} (try [smtp] security = \"none\" or \"ssl\")",
                               where) from None
    except smtplib.SMTPRecipientsRefused as err:
        raise ContentpipeError(f"{smtp} refused every recipient: {', '.join(err.recipients)}", where) from None
    except smtplib.SMTPException as err:
        raise ContentpipeError(f"{smtp} did not take the message: {_reply(err)}", where) from None
    except ssl.SSLError as err:
        raise ContentpipeError(f"TLS with {smtp} failed: {err.reason or err}", where) from None
    except OSError as err:  # refused, unreachable, timed out
        raise ContentpipeError(f"cannot reach the SMTP server {smtp}: {err.strerror or err}", where) from None
    if refused:
        raise ContentpipeError(f"{smtp} refused {', '.join(refused)} (sent to the others)", where)
    return Sent(found, rcpt, str(smtp), str(headers.get("Message-ID", "")))


def _reply(err: smtplib.SMTPException) -> str:
    code, message = getattr(err, "smtp_code", None), getattr(err, "smtp_error", None)
    if code is not None and message is not None:
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        return f"{code} {text}"
    return str(err)
