"""The embedded default transport: a WeChat-style web chat on http://127.0.0.1:8080."""

from bot.transports.webchat.hub import WebGroup, WebMember
from bot.transports.webchat.server import WebChat

__all__ = ["WebChat", "WebGroup", "WebMember"]
