"""The normalised messages that flow between transports and the core.

Transports turn whatever arrives (a WebSocket frame, a Wechaty gRPC event) into an
``InboundMessage``; handlers return ``Reply`` objects; the core renders them into
``OutboundMessage`` objects that the transport delivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

InboundKind = Literal["text", "join", "leave"]
OutboundKind = Literal["text", "image", "file"]


@dataclass(frozen=True)
class InboundMessage:
    """One event from a chat, already normalised by the transport.

    ``chat_id`` is the group's stable id for group messages and the sender's id for
    private chats with the bot. ``text`` has full-width characters folded and the
    ``@bot`` mention stripped; ``mentions_bot`` remembers that it was there.
    """

    id: str
    chat_id: str
    sender_id: str
    sender_name: str
    text: str = ""
    is_group: bool = True
    chat_name: str | None = None
    mentions_bot: bool = False
    # Stable ids of the members @-mentioned in the message (the bot excluded).
    mentions: tuple[str, ...] = ()
    kind: InboundKind = "text"
    timestamp: datetime | None = None
    # A 接龙 the network itself delivered as one (WeChat's GroupNote or its app-message XML),
    # raw as the transport got it. Only transports set it, never from text a member typed, so
    # what it says (entries, author ids) comes from WeChat and can be trusted as such: the only
    # source of 接龙 authorship (typed text is never read as XML).
    jielong: str | None = None
    # A join: the stable id of the member who invited the newcomer, where the network says so.
    inviter_id: str | None = None
    # How many members the group has, where the transport knows (绑定 records it).
    chat_size: int | None = None


@dataclass(frozen=True)
class OutboundMessage:
    """A rendered message on its way out. ``template`` keeps the intent for tests."""

    chat_id: str
    text: str
    template: str
    is_group: bool = True
    kind: OutboundKind = "text"
    path: str | None = None
    mentions: tuple[str, ...] = ()
    # Must-send messages (close, tally) are never dropped by pacing.
    must_send: bool = False
    # Never merged with neighbours (a 接龙 list members must be able to tap).
    standalone: bool = False
    # Nobody is waiting for it (a timeline post, a 群发): answers to members go first.
    bulk: bool = False


@dataclass(frozen=True)
class Reply:
    """What a handler returns: a template name plus the data to render it with.

    Without ``chat_id`` the reply goes to the chat the message came from. ``private``
    sends it to ``chat_id`` as a private chat (a member id) instead of a group.
    """

    template: str
    data: dict[str, Any] = field(default_factory=dict)
    chat_id: str | None = None
    private: bool = False
    kind: OutboundKind = "text"
    path: str | None = None
    mentions: tuple[str, ...] = ()
    must_send: bool = False
    standalone: bool = False
    bulk: bool = False  # a broadcast, though a message caused it (群发)

    @classmethod
    def of(cls, template: str, **data: Any) -> Reply:
        return cls(template=template, data=data)
