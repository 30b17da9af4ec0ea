"""The web chat's state, free of aiohttp: who is in which group, which frames were acknowledged.

The hub turns a frame from the page into an ``InboundMessage`` and turns every message (said
by a member or sent by the bot) into one JSON-ready event that all open pages receive.
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.clock import Clock, local
from bot.core.messages import InboundMessage, OutboundMessage
from bot.core.normalize import normalize_text

SEEN_IDS = 10_000
MAX_TEXT = 4000


@dataclass(frozen=True)
class WebMember:
    id: str
    name: str


@dataclass(frozen=True)
class WebGroup:
    id: str
    name: str
    members: tuple[WebMember, ...]
    leader_id: str


class FrameError(ValueError):
    """A frame the page should not have sent; the message is a Chinese explanation for the page."""


class ChatHub:
    def __init__(self, groups: Sequence[WebGroup], bot_name: str, clock: Clock) -> None:
        if not groups:
            raise ValueError("the web chat needs at least one group")
        self.groups = {g.id: g for g in groups}
        self.bot_name = bot_name
        self.clock = clock
        self.members: dict[str, WebMember] = {}
        for group in groups:
            ids = {m.id for m in group.members}
            if group.leader_id not in ids:
                raise ValueError(f"group {group.name!r}: leader {group.leader_id!r} is not among its members")
            for member in group.members:
                self.members.setdefault(member.id, member)
        self._acked: OrderedDict[str, None] = OrderedDict()
        # Longest names first, so "@小陈陈" is not read as "@小陈".
        names = sorted({m.name for m in self.members.values()}, key=len, reverse=True)
        self._mention_re = re.compile("@(" + "|".join(re.escape(n) for n in names) + ")") if names else None

    # -- inbound -------------------------------------------------------------------------------

    def acked(self, message_id: str) -> bool:
        """Whether this frame was acknowledged before (a page retrying after a reconnect)."""
        if message_id in self._acked:
            self._acked.move_to_end(message_id)
            return True
        return False

    def remember_ack(self, message_id: str) -> None:
        """Remember a frame acknowledged: only once its message was stored."""
        self._acked[message_id] = None
        if len(self._acked) > SEEN_IDS:
            self._acked.popitem(last=False)

    def parse_say(self, frame: dict[str, Any]) -> tuple[InboundMessage, dict[str, Any]]:
        """Validate a ``say`` frame; return the inbound message and the event to show on pages.

        Raises ``FrameError`` with a Chinese explanation when the frame makes no sense.
        """
        text = frame.get("text")
        if not isinstance(text, str) or not text.strip():
            raise FrameError("消息不能为空")
        if len(text) > MAX_TEXT:
            raise FrameError(f"消息太长了，最多{MAX_TEXT}个字")
        sender = self.members.get(str(frame.get("sender_id", "")))
        if sender is None:
            raise FrameError("不认识这个发言人，请在上方“我是”里选择一位成员")
        private = bool(frame.get("private"))
        if private:
            chat_id, chat_name, mention_pool = sender.id, None, self.members
        else:
            group = self.groups.get(str(frame.get("chat_id", "")))
            if group is None:
                raise FrameError("没有这个群聊")
            if sender.id not in {m.id for m in group.members}:
                raise FrameError(f"{sender.name}不在{group.name}里")
            chat_id, chat_name = group.id, group.name
            mention_pool = {m.id: m for m in group.members}
        raw_id = frame.get("id")
        message_id = raw_id if isinstance(raw_id, str) and raw_id else uuid.uuid4().hex
        clean, mentions_bot = normalize_text(text, (self.bot_name,))
        now = self.clock.now()
        inbound = InboundMessage(
            id=message_id,
            chat_id=chat_id,
            sender_id=sender.id,
            sender_name=sender.name,
            text=clean,
            is_group=not private,
            chat_name=chat_name,
            mentions_bot=mentions_bot,
            mentions=self._mentions(clean, mention_pool),
            timestamp=now,
            chat_size=None if private else len(mention_pool),
        )
        event = {
            "type": "message",
            "id": message_id,
            "chat_id": chat_id,
            "private_to": sender.id if private else None,
            "sender": sender.id,
            "sender_name": sender.name,
            # Pages show what the member typed, not the normalised form the bot reads.
            "text": text.replace("\r\n", "\n"),
            "kind": "text",
            "url": None,
            "template": None,
            "time": local(self.clock, now).isoformat(timespec="seconds"),
        }
        return inbound, event

    def parse_join(self, frame: dict[str, Any]) -> tuple[InboundMessage, dict[str, Any]]:
        """A ``join`` frame: ``{chat_id, member_id, name, inviter_id?}`` adds a newcomer to a group.

        The inviter, when given, must already be in the group (WeChat names who added whom).
        """
        group = self.groups.get(str(frame.get("chat_id", "")))
        if group is None:
            raise FrameError("没有这个群聊")
        member_id = str(frame.get("member_id") or "").strip()
        name = str(frame.get("name") or "").strip()
        if not member_id or not name:
            raise FrameError("新成员需要ID和名字")
        if member_id in {m.id for m in group.members}:
            raise FrameError(f"{name}已经在{group.name}里")
        inviter = frame.get("inviter_id") or None
        if inviter is not None and str(inviter) not in {m.id for m in group.members}:
            raise FrameError("邀请人不在这个群里")
        member = self.members.setdefault(member_id, WebMember(member_id, name))
        self.groups[group.id] = WebGroup(group.id, group.name, (*group.members, member), group.leader_id)
        now = self.clock.now()
        inbound = InboundMessage(
            id=f"join:{group.id}:{member_id}:{uuid.uuid4().hex[:8]}",
            chat_id=group.id,
            sender_id=member_id,
            sender_name=name,
            is_group=True,
            chat_name=group.name,
            kind="join",
            timestamp=now,
            inviter_id=str(inviter) if inviter is not None else None,
        )
        event = {
            "type": "join",
            "id": inbound.id,
            "chat_id": group.id,
            "private_to": None,
            "sender": member_id,
            "sender_name": name,
            "inviter": inbound.inviter_id,
            "time": local(self.clock, now).isoformat(timespec="seconds"),
        }
        return inbound, event

    def _mentions(self, text: str, pool: dict[str, WebMember]) -> tuple[str, ...]:
        if self._mention_re is None:
            return ()
        by_name = {m.name: m.id for m in pool.values()}
        found: list[str] = []
        for match in self._mention_re.finditer(text):
            member_id = by_name.get(match.group(1))
            if member_id is not None and member_id not in found:
                found.append(member_id)
        return tuple(found)

    # -- outbound ------------------------------------------------------------------------------

    def bot_event(self, message: OutboundMessage, url: str | None) -> dict[str, Any]:
        return {
            "type": "message",
            "id": uuid.uuid4().hex,
            "chat_id": message.chat_id,
            "private_to": None if message.is_group else message.chat_id,
            "sender": "bot",
            "sender_name": self.bot_name,
            "text": message.text,
            "kind": message.kind,
            "url": url,
            "name": Path(message.path).name if message.path else None,
            "template": message.template,
            "time": local(self.clock, self.clock.now()).isoformat(timespec="seconds"),
        }

    def state(self) -> dict[str, Any]:
        """What a freshly loaded page needs besides history: groups, members and leaders."""
        return {
            "bot_name": self.bot_name,
            "groups": [
                {
                    "id": g.id,
                    "name": g.name,
                    "leader_id": g.leader_id,
                    "members": [{"id": m.id, "name": m.name} for m in g.members],
                }
                for g in self.groups.values()
            ],
        }

    def identities(self) -> list[dict[str, Any]]:
        """The switcher's choices: leaders first, then everyone else in group order."""
        leaders = {g.leader_id for g in self.groups.values()}
        ordered = sorted(self.members.values(), key=lambda m: m.id not in leaders)
        return [{"id": m.id, "name": m.name, "leader": m.id in leaders} for m in ordered]
