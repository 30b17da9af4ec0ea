"""Whether a request comes from a page of this server: the Host and Origin checks against DNS
rebinding, CSRF and cross-site WebSocket hijacking. Shared by the web chat and the leader's
console."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web


def host_allowed(host: str, trusted: Iterable[str] = ()) -> bool:
    """A Host header naming an address, localhost, or the host of a ``trusted`` base URL (the
    public https:// address a reverse proxy serves). A page served under any other domain name
    that resolves here (DNS rebinding) would otherwise count as same-origin."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost" or name in {urlsplit(url).hostname for url in trusted}:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def same_origin(request: web.Request, trusted: Iterable[str] = (), *, required: bool = True) -> bool:
    """True when the request's ``Origin`` is this server as the browser reached it (the
    ``Host`` it sent, which a reverse proxy passes on) or one of the ``trusted`` base URLs.
    No Origin at all: ``not required`` (a browser names the page's origin on every WebSocket
    and state-changing request; only a client that is no web page leaves it out)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return not required
    seen = urlsplit(origin)
    if seen.scheme not in ("http", "https") or not seen.netloc:
        return False  # "null" (a sandboxed frame, a file:// page) is nobody we know
    allowed = {request.host.lower()} | {urlsplit(url).netloc.lower() for url in trusted}
    return seen.netloc.lower() in allowed
