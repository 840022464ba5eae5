"""What happens to an output after its template: its format applied, or an .eml assembled from parts.

``format`` (see render/formats.py): ``json`` outputs are checked and normalised,
``email`` outputs inlined and linted; an ``eml`` output has no template and is
built from the document's rendered text and HTML outputs of the same channel.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from contentpipe.errors import Problems, SourcePos
from contentpipe.plan import PlannedOutput
from contentpipe.render import formats
from contentpipe.render.bodycache import BodyCache
from contentpipe.render.message import MessageParts, build_eml, message_digest

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def finish(out: PlannedOutput, text: str, problems: Problems) -> bytes | None:
    """Apply the output's format; None when the output must not be written (the problem is reported)."""
    where = out.doc.pos() if out.doc else SourcePos(out.channel.rule_files[0])
    if out.rule.format == "json":
        try:
            text = formats.finish_json(text)
        except formats.FormatError as err:
            template = next((d / out.rule.template for d in out.channel.template_dirs
                             if (d / out.rule.template).is_file()), out.channel.rule_files[0])
            problems.error(f"{err} (rendering {out.key})", SourcePos(template))
            return None
    elif out.rule.format == "email":
        text, found = formats.finish_email(text, out.channel.rules.email)
        for message in found:
            problems.error(f"email {out.key}: {message}", where)
        if found:
            return None
    return text.encode("utf-8")


def assemble_message(out: PlannedOutput, by_doc: dict[tuple[str, str, Path], bytes], ctx: Any,
                     problems: Problems, cache: BodyCache, base_url: str) -> bytes | None:
    """An .eml from the document's rendered text and HTML parts (kept in the body cache by content)."""
    assert out.doc is not None
    rules = out.channel.rules
    parts = {}
    for kind in out.rule.parts:
        data = by_doc.get((out.channel.name, kind, out.doc.path))
        if data is None:
            return None  # that part failed: already reported
        part = rules.outputs[kind]
        subtype = "html" if part.format == "email" or part.path.endswith((".html", ".htm")) else "plain"
        parts[subtype] = data.decode("utf-8")
    if rules.email.sender is None:
        problems.error(f"output '{out.rule.kind}': [email] from is needed for .eml files",
                       SourcePos(out.channel.rule_files[0], key="email.from"))
        return None
    if ctx is None or "html" not in parts or "plain" not in parts:
        problems.error(f"output '{out.rule.kind}': parts must give one HTML and one plain-text output",
                       SourcePos(out.channel.rule_files[0], key=f"outputs.{out.rule.kind}"))
        return None
    message = MessageParts(
        subject=ctx.subject(out.doc), text=parts["plain"], html=parts["html"],
        sender=rules.email.sender, locale=out.doc.locale, date=out.doc.date or out.doc.updated or EPOCH,
        domain=urlsplit(base_url).hostname or "", reply_to=rules.email.reply_to,
        unsubscribe_url=rules.email.unsubscribe_url)
    key = cache.key(message_digest(message), "eml", "", None)
    entry = cache.get(key)
    if entry is None:  # the email package takes ~5 ms a message: worth keeping
        entry = {"value": build_eml(message).decode("latin-1")}  # any bytes survive the JSON round trip
        cache.put(key, entry)
    return str(entry["value"]).encode("latin-1")
