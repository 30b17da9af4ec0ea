"""Whether a request comes from a page of this server (the Origin check against CSRF and
cross-site WebSocket hijacking). Shared by the web chat and the leader's console."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from aiohttp import web


def same_origin(request: web.Request, trusted: Iterable[str] = (), *, required: bool = True) -> bool:
    """True when the request's ``Origin`` is this server as the browser reached it (the
    ``Host`` it sent, which a reverse proxy passes on) or one of the ``trusted`` base URLs
    (the public https:// address). No Origin at all: ``not required`` (browsers send one with
    every WebSocket and every POST; only a script outside a browser leaves it out)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return not required
    seen = urlsplit(origin)
    if seen.scheme not in ("http", "https") or not seen.netloc:
        return False  # "null" (a sandboxed frame, a file:// page) is nobody we know
    allowed = {request.host.lower()} | {urlsplit(url).netloc.lower() for url in trusted}
    return seen.netloc.lower() in allowed
