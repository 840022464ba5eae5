"""Campaign tagging for links in social and email variants.

URLs are edited as strings rather than parsed and re-serialised, so everything
the author wrote (scheme case, IDN host, parameter order, encoding) survives
and only the new parameters are appended.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urljoin, urlsplit

# Google Analytics' conventional order; keys given without the utm_ prefix get it.
_UTM_ORDER = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def tag_url(url: str, params: Mapping[str, str]) -> str:
    """Append utm_* parameters to an absolute http(s) URL.

    Empty values are skipped and a utm_* key already in the URL is never
    overridden. Other schemes (mailto:, tel:, ...), '#fragment' and relative
    URLs are returned unchanged: they are not campaign landing pages.
    """
    if _scheme(url) not in _DEFAULT_PORTS:
        return url
    base, hash_, fragment = url.partition("#")
    base, _, query = base.partition("?")
    present = {pair.split("=", 1)[0].lower() for pair in query.split("&") if pair}
    wanted = {(key if key.lower().startswith("utm_") else f"utm_{key}").lower(): value for key, value in params.items()}
    order = [key for key in _UTM_ORDER if key in wanted] + [key for key in wanted if key not in _UTM_ORDER]
    added = [f"{key}={quote(wanted[key], safe='')}" for key in order if wanted[key] and key not in present]
    if not added:
        return url
    separator = "&" if query and not query.endswith("&") else ""
    return f"{base}?{query}{separator}{'&'.join(added)}{hash_}{fragment}"


def is_site_url(url: str, base_url: str) -> bool:
    """True if url points into the site at base_url.

    Hosts match case-insensitively, ignoring the scheme (http vs https), a
    leading 'www.' and IDN spelling; the path must be base_url's path or below
    it ('/blog' covers '/blog/x' but not '/blogroll'). URLs without a host
    (relative, mailto:) are not site URLs: they cannot be compared.
    """
    target, base = _host_port(url), _host_port(base_url)
    if target is None or base is None or target != base:
        return False
    base_path = urlsplit(base_url).path.rstrip("/")
    path = urlsplit(url).path or "/"
    return path == base_path or path.startswith(base_path + "/")


def absolute_link(href: str, page_url: str) -> str:
    """``href`` made absolute the way a browser showing ``page_url`` would resolve it.

    A URL with a scheme (https:, mailto:, irc:, ...) is returned unchanged; a
    relative, root-relative, protocol-relative or empty one is joined to the page.
    """
    try:
        if urlsplit(href).scheme:
            return href
    except ValueError:  # a malformed authority ("http://[x"): leave it for the email lint to name
        return href
    return urljoin(page_url, href)


def _scheme(url: str) -> str:
    head, colon, rest = url.partition(":")
    absolute = colon and rest.startswith("//") and head.isascii() and head.isalpha()
    return head.lower() if absolute else ""


def _host_port(url: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
    if not host or scheme not in {"", *_DEFAULT_PORTS}:
        return None
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    host = host.lower().removeprefix("www.")
    return host, None if port == _DEFAULT_PORTS.get(scheme) else port
