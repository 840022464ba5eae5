"""A ready .eml: multipart/alternative (text/plain, then text/html), UTF-8, for ESP import or test sends.

Built with the standard ``email`` package under the SMTP policy (CRLF line
ends, RFC 2047 encoded headers, quoted-printable bodies), so any mail client or
ESP reads it. Everything that would vary between runs (the MIME boundary, the
Message-ID) is derived from the content, so two builds give the same bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr


@dataclass(frozen=True)
class MessageParts:
    subject: str
    text: str
    html: str
    sender: str
    locale: str
    date: datetime
    domain: str  # for the Message-ID
    reply_to: str | None = None
    unsubscribe_url: str | None = None


def message_digest(parts: MessageParts) -> str:
    """Everything the message's bytes depend on: names its boundary and Message-ID, and keys the cache."""
    return hashlib.sha256("\0".join((parts.subject, parts.text, parts.html, parts.sender, parts.locale,
                                     parts.date.isoformat(), parts.domain, parts.reply_to or "",
                                     parts.unsubscribe_url or "")).encode()).hexdigest()


def build_eml(parts: MessageParts) -> bytes:
    digest = message_digest(parts)
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = parts.subject
    name, addr = parseaddr(parts.sender)
    user, _, host = addr.partition("@")
    msg["From"] = Address(display_name=name, username=user, domain=host)
    if parts.reply_to:
        msg["Reply-To"] = parts.reply_to
    msg["Date"] = format_datetime(parts.date)
    msg["Message-ID"] = f"<{digest[:32]}@{parts.domain or 'contentpipe.invalid'}>"
    if parts.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{parts.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(parts.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(parts.html, subtype="html", charset="utf-8", cte="quoted-printable")
    msg["Content-Language"] = parts.locale  # after the parts: set_content drops Content-* headers
    msg.set_boundary(f"=_contentpipe_{digest[32:56]}")
    return msg.as_bytes()
