"""The leader's console (后台): phone-first web pages over her campaigns, orders, payments,
pickups, timeline, 接龙 confirmations, members, exports and figures, updated live.

A UI layer like the chat handlers, entered through the app: every change goes through
``App.perform`` into the same handler and service functions as the chat command, so the
group sees what it would have seen. Mounted under /console/ on the web chat's server, or on the
local login page's beside the WeChat transport. docs/console.md.
"""

from bot.console.server import mount
from bot.console.state import Console

__all__ = ["Console", "mount"]
