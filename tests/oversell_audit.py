"""Shared by the no-oversell tests: set up a flash sale and audit the replies against the store.

A reply is truthful when what it tells the member agrees with the order book: a ✅ names the
quantity the member now holds, a refusal names what the member already had, and the member's
last word matches the database line (or no line at all).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core.messages import OutboundMessage
from bot.store.models import Campaign, CampaignGroup, Item, Order, OrderLine, OrderStatus

ITEM, UNIT = "苹果", "斤"

_ACCEPTED = re.compile(rf"✅ 跟团号\d+：.*?{ITEM}(?: \d+→)?(\d+){UNIT}")  # 苹果2斤 / 苹果 1→2斤
_OVER_LIMIT = re.compile(rf"❗ {ITEM}每人限购\d+{UNIT}，你已订(\d+){UNIT}")
_SOLD_OUT = re.compile(rf"❗ {ITEM}已经抢光了(?:，你已订的(\d+){UNIT}保留)?")
_NOT_ENOUGH = re.compile(rf"❗ {ITEM}只剩(\d+){UNIT}了")
# A re-send (the same text again) or the same quantity again: nothing changed, her order shown.
_ALREADY = re.compile(rf"已经记上了.*?跟团号\d+ .*?{ITEM}(\d+){UNIT}")
# A plain quantity on a line she has: asked whether to add, nothing changed.
_ASKED = re.compile(rf"❓ 你已订{ITEM}(\d+){UNIT}，是再加")


def announcement(stock: int, limit: int) -> str:
    return f"开团 秒杀苹果\n{ITEM} 12.8元/{UNIT} 库存{stock} 限购{limit}\n截团 今天18:00"


def publish_to(engine: Engine, group_ids: Iterable[str]) -> int:
    """Publish the newest campaign to more groups (shared stock); returns its id."""
    with Session(engine) as s:
        campaign = s.exec(select(Campaign).order_by(col(Campaign.id).desc())).first()
        assert campaign is not None and campaign.id is not None
        have = {
            cg.group_id
            for cg in s.exec(select(CampaignGroup).where(CampaignGroup.campaign_id == campaign.id))
        }
        for gid in group_ids:
            if gid not in have:
                s.add(CampaignGroup(campaign_id=campaign.id, group_id=gid))
        s.commit()
        return campaign.id


@dataclass(frozen=True)
class Book:
    """The order book for the one item after the sale."""

    stock: int
    sold: int
    held: dict[str, int]  # member id -> quantity on an active order line

    @property
    def lines_total(self) -> int:
        return sum(self.held.values())


def read_book(engine: Engine) -> Book:
    """The newest campaign's order book."""
    with Session(engine) as s:
        campaign_id = s.exec(select(Campaign.id).order_by(col(Campaign.id).desc())).first()
        item = s.exec(select(Item).where(Item.campaign_id == campaign_id, Item.name == ITEM)).one()
        stmt = (
            select(Order.member_id, OrderLine.quantity)
            .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
            .where(
                Order.campaign_id == campaign_id,
                OrderLine.item_id == item.id,
                Order.status == OrderStatus.ACTIVE,
            )
        )
        held: Counter[str] = Counter()
        for member_id, qty in s.exec(stmt):
            held[member_id] += qty
        assert item.stock is not None
        return Book(item.stock, item.sold, dict(held))


def replies_by_member(sent: Iterable[OutboundMessage]) -> dict[str, list[tuple[str, str]]]:
    """Order replies as (chat id, text), grouped by the member they answer (each @-addresses one)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for m in sent:
        if not m.template.startswith("orders/"):
            continue
        assert len(m.mentions) == 1, f"merged or unaddressed reply: {m.template} {m.mentions}"
        out.setdefault(m.mentions[0], []).append((m.chat_id, m.text))
    return out


def _held_in(text: str) -> tuple[str, int | None]:
    """What a reply says the member holds: ("accepted", qty), ("refused", qty) or ("refused", None)."""
    if m := _ACCEPTED.search(text):
        return "accepted", int(m.group(1))
    if m := _OVER_LIMIT.search(text):
        return "refused", int(m.group(1))
    if m := _SOLD_OUT.search(text):
        return "refused", int(m.group(1) or 0)
    if _NOT_ENOUGH.search(text):
        return "refused", None
    if m := _ALREADY.search(text) or _ASKED.search(text):
        return "refused", int(m.group(1))  # told what she holds, nothing changed
    raise ValueError(text)


def audit(
    replies: dict[str, list[tuple[str, str]]], book: Book, limit: int, sent_count: dict[str, int]
) -> list[str]:
    """Every problem found; an empty list means every member was told the truth.

    ``sent_count`` is how many distinct messages each member sent: each gets exactly one reply.
    Replies within one chat arrive in handling order; across chats the order is not defined,
    so across chats only the set of states a member was told about is checked.
    """
    problems: list[str] = []
    for member, n in sent_count.items():
        got = replies.get(member, [])
        if len(got) != n:
            problems.append(f"{member}: sent {n} distinct messages, got {len(got)} replies")
    for member in replies.keys() - sent_count.keys():
        problems.append(f"{member}: replied to but sent nothing")
    for member, chat_texts in replies.items():
        accepted: list[int] = []
        refused_with: list[int] = []
        last_in_chat: dict[str, int] = {}
        for chat, text in chat_texts:
            try:
                kind, qty = _held_in(text)
            except ValueError:
                problems.append(f"{member}: unexpected reply {text!r}")
                continue
            if qty is None:
                continue
            before = last_in_chat.get(chat, 0)
            if kind == "accepted":
                accepted.append(qty)
                if qty <= before:
                    problems.append(f"{member}: ✅ {qty} in {chat} after being told {before} there")
            else:
                refused_with.append(qty)
                if qty < before:
                    problems.append(f"{member}: refusal says {qty} held in {chat} after being told {before}")
            last_in_chat[chat] = qty
        final = max(accepted, default=0)
        if len(set(accepted)) != len(accepted):
            problems.append(f"{member}: two ✅ replies name the same holding {sorted(accepted)}")
        for qty in refused_with:
            if qty != 0 and qty not in accepted:
                problems.append(f"{member}: refusal says {qty} held, never confirmed (✅ {sorted(accepted)})")
        if book.held.get(member, 0) != final:
            problems.append(
                f"{member}: ✅ replies add up to {final}, database holds {book.held.get(member, 0)}"
            )
    for member, qty in book.held.items():
        if qty > limit:
            problems.append(f"{member}: holds {qty}, over the limit {limit}")
        if member not in replies:
            problems.append(f"{member}: holds {qty} but was never told")
    return problems
