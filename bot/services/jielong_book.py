"""WeChat 接龙 on the store: each list's state per group and campaign, and its effect on the order book.

A snapshot is reconciled with the list's saved ``JielongState`` (bot.groupbuy.jielong holds the rules);
the resulting actions become orders inside the caller's transaction:

- ``SetEntry``: the member's jielong content is read with the order grammar against the campaign's
  catalogue; every item it names is set to its quantity (``change_order(mode="set")``) and the items the
  member's previous content named and this one no longer does go to 0. A line that cannot be read
  records nothing (its items keep their quantities) and is reported back to the member.
- ``DropEntry``: the member's order is cancelled.
- ``NeedsConfirm``: stored as a ``JielongPending`` row whose id is the number the leader confirms.

Functions take a session and return plain data; they never send anything themselves.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from bot.groupbuy.jielong import (
    LINE_JOIN,
    DropEntry,
    JielongEntry,
    JielongSnapshot,
    JielongState,
    NeedsConfirm,
    SetEntry,
    confirm,
    parse_jielong,
    parse_jielong_xml,
    reconcile,
)
from bot.groupbuy.order_text import CatalogueIndex, Op, ParsedOrder, UnknownItem, parse_order_text
from bot.groupbuy.quantity import Quantity, normalize
from bot.groupbuy.rooms import parse_room
from bot.groupbuy.text import fold_width
from bot.services.campaigns import catalogue, items_of
from bot.services.coupons import apply_coupon
from bot.services.members import touch_members
from bot.services.orderbook import OrderView, Outcome, Refusal, cancel_order, change_order, view_order
from bot.services.redpackets import claim_coupons
from bot.store.db import table
from bot.store.models import (
    Campaign,
    CampaignGroup,
    CampaignStatus,
    GroupMember,
    Item,
    Member,
    Role,
    RoleName,
)
from bot.store.models_jielong import JielongList, JielongPending, PendingStatus

log = logging.getLogger(__name__)

# A closed campaign still answers late 接龙 pastes ("已截团") for this long, like free-form orders.
LATE_WINDOW = timedelta(days=2)
_DROP = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")
# A title shorter than this never links by being contained in the campaign title (团购, 接龙).
MIN_PARTIAL_TITLE = 3
# Lists about something else than buying: never linked to a campaign by what their lines say.
_NOT_GOODS = re.compile(r"打卡|签到|运动|晨跑|跑步|健身|报名|投票|拼车|接送|值班|活动|作业|读书")


# ------------------------------------------------------------------------------------------ linking


def _norm(text: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFC", fold_width(text)).casefold())


def links_to(snap: JielongSnapshot, campaign_title: str) -> bool:
    """Whether the 接龙's header or description names the campaign (``#接龙 周六水果团 18:00截单``)."""
    want = _norm(campaign_title)
    if not want:
        return False
    for text in (snap.title, *snap.description):
        have = _norm(text)
        if have and (want in have or (len(have) >= MIN_PARTIAL_TITLE and have in want)):
            return True
    return False


def linked_campaign(s: Session, group_id: str, snap: JielongSnapshot, now: datetime) -> Campaign | None:
    """The group's open, scheduled or just-closed campaign this 接龙 is for; None: not a group-buy list
    (or one waiting for the leader to say which campaign it belongs to, see ``find_link``)."""
    link = find_link(s, group_id, snap, now)
    return link.campaign if link.confirmed else None


@dataclass(frozen=True)
class Link:
    """Which campaign a 接龙 feeds. ``confirmed`` False with a campaign: the list's title matches no
    campaign and only some of its lines read as that campaign's goods, so the leader is asked once
    (``pending``: the question, already asked when set)."""

    campaign: Campaign | None
    confirmed: bool = True
    pending: JielongPending | None = None


def find_link(s: Session, group_id: str, snap: JielongSnapshot, now: datetime) -> Link:
    """By the title (``#接龙 周六水果团``); else a list seen before; else by its goods: linked when at
    least half of its lines read as one campaign's goods (``#接龙 明早9点到货``), a question for the
    leader when only some do, nothing when none do (打卡, sports)."""
    candidates = _candidates(s, group_id, now)
    for c in candidates:
        if links_to(snap, c.title):
            return Link(c)
    if not candidates:
        return Link(None)
    ids = [c.id for c in candidates]
    stmt = select(JielongList).where(
        JielongList.group_id == group_id, JielongList.key == snap.key, col(JielongList.campaign_id).in_(ids)
    )
    for row in s.exec(stmt):
        asked = s.exec(
            select(JielongPending).where(JielongPending.list_id == row.id, JielongPending.kind == LINK)
        ).first()
        campaign = next(c for c in candidates if c.id == row.campaign_id)
        if asked is None or asked.status == PendingStatus.CONFIRMED:
            return Link(campaign)
        return Link(None if asked.status == PendingStatus.REJECTED else campaign, False, asked)
    lines = [e for e in snap.entries if e.nickname or e.content]
    if not lines or any(_NOT_GOODS.search(text) for text in (snap.title, *snap.description)):
        return Link(None)
    reads = {c.id: _goods_lines(s, c, snap, lines) for c in candidates}
    best = max(candidates, key=lambda c: reads[c.id])
    if reads[best.id] == 0:
        return Link(None)
    if 2 * reads[best.id] >= len(lines) and sum(1 for n in reads.values() if n) == 1:
        return Link(best)
    return Link(best, confirmed=False)


def _candidates(s: Session, group_id: str, now: datetime) -> list[Campaign]:
    stmt = (
        select(Campaign)
        .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
        .where(
            CampaignGroup.group_id == group_id,
            or_(
                col(Campaign.status).in_((CampaignStatus.OPEN, CampaignStatus.SCHEDULED)),
                (Campaign.status == CampaignStatus.CLOSED) & (col(Campaign.closed_at) >= now - LATE_WINDOW),
            ),
        )
        .order_by(col(Campaign.id).desc())
    )
    return list(s.exec(stmt))


def _goods_lines(s: Session, campaign: Campaign, snap: JielongSnapshot, entries: list[JielongEntry]) -> int:
    """How many of the list's lines read as this campaign's goods. A bare +1 counts only when the
    list's title names the campaign's one item (#接龙 草莓到了), never in a list about anything else."""
    assert campaign.id is not None
    index = CatalogueIndex(catalogue(items_of(s, campaign.id)))
    titled = len(index.items) == 1 and any(
        index.spans(text.casefold()) for text in (snap.title, *snap.description)
    )
    count = 0
    for e in entries:
        parsed = parse_order_text(e.content or e.nickname, index, jielong=True)
        count += parsed is not None and any(p.item_id is not None or titled for p in parsed.parts)
    return count


LINK = "link"  # a JielongPending asking the leader which campaign a list belongs to


def ask_link(
    s: Session, group_id: str, link: Link, snap: JielongSnapshot, text: str, sender_id: str, now: datetime
) -> JielongPending | None:
    """Keep the list's latest text for the leader's answer; the new question, the first time only."""
    campaign = link.campaign
    assert campaign is not None and campaign.id is not None
    if link.pending is not None:
        link.pending.content, link.pending.reported_by = text, sender_id
        s.add(link.pending)
        return None
    row = _lock_list(s, group_id, campaign, snap, now)
    assert row.id is not None
    pending = JielongPending(
        list_id=row.id,
        group_id=group_id,
        campaign_id=campaign.id,
        kind=LINK,
        nickname=(snap.title or "")[:100],
        content=text,
        reported_by=sender_id,
        created_at=now,
    )
    s.add(pending)
    s.flush()
    return pending


def is_open(campaign: Campaign, now: datetime) -> bool:
    return campaign.status == CampaignStatus.OPEN and (campaign.closes_at is None or now < campaign.closes_at)


# -------------------------------------------------------------------------------------- attribution


def _nick(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFC", fold_width(text)).casefold())


def attribution(s: Session, group_id: str, sender_id: str, sender_name: str) -> Callable[[str], str | None]:
    """Nickname -> member id by the group's display names and aliases; never a guess.

    The sender's own name is the sender's (their line is theirs by their id); a name two members share
    is nobody's, unless one of them is the sender.
    """
    names: dict[str, set[str]] = {}
    stmt = (
        select(Member.id, Member.name, GroupMember.alias)
        .join(GroupMember, col(GroupMember.member_id) == col(Member.id))
        .where(GroupMember.group_id == group_id, col(GroupMember.left_at).is_(None))
    )
    for member_id, name, alias in s.exec(stmt):
        for text in (name, alias):
            if text and (key := _nick(text)):
                names.setdefault(key, set()).add(member_id)
    if sender_name and (key := _nick(sender_name)):
        names.setdefault(key, set()).add(sender_id)

    @functools.cache
    def attribute(nickname: str) -> str | None:
        # Cached per snapshot: a pasted list of thousands asks for each name twice.
        ids = names.get(_nick(nickname)) if nickname else None
        if not ids:
            return None
        if sender_id in ids:
            return sender_id
        return next(iter(ids)) if len(ids) == 1 else None

    return attribute


def leader_of(s: Session, group_id: str) -> str | None:
    stmt = select(Role.member_id).where(Role.group_id == group_id, Role.role == RoleName.LEADER)
    return s.exec(stmt).first()


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Unreadable:
    text: str  # what the member wrote
    example: str  # how to write it: 苹果2斤


@dataclass
class EntryChange:
    """What one member's jielong line did to their order."""

    member_id: str
    name: str
    dropped: bool
    outcome: Outcome
    order: OrderView | None
    unknown: list[UnknownItem] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)

    @property
    def rejected(self) -> list:
        return [r for r in self.outcome.rejected if r.reason != Refusal.NOT_ORDERED]

    @property
    def worth_saying(self) -> bool:
        if self.dropped:
            return bool(self.outcome.accepted)
        return bool(self.outcome.accepted or self.rejected or self.unknown or self.unreadable or self.order)


@dataclass
class SnapshotResult:
    campaign: Campaign
    title: str
    changes: list[EntryChange] = field(default_factory=list)
    pending: list[PendingLine] = field(default_factory=list)
    touched_items: list[int] = field(default_factory=list)
    # The campaign is not open (yet, or any more) and the snapshot wanted to change orders.
    blocked: bool = False


# ------------------------------------------------------------------------------------------ the list


def _lock_list(
    s: Session, group_id: str, campaign: Campaign, snap: JielongSnapshot, now: datetime
) -> JielongList:
    assert campaign.id is not None
    stmt = (
        select(JielongList)
        .where(
            JielongList.group_id == group_id,
            JielongList.campaign_id == campaign.id,
            JielongList.key == snap.key,
        )
        .with_for_update()
    )
    row = s.exec(stmt).first()
    if row is not None:
        return row
    row = JielongList(
        group_id=group_id,
        key=snap.key,
        campaign_id=campaign.id,
        title=snap.title[:200],
        state=JielongState().to_json(),
        updated_at=now,
    )
    try:
        with s.begin_nested():  # another process may create it at the same moment
            s.add(row)
    except IntegrityError:
        return s.exec(stmt).one()
    return row


def apply_snapshot(
    s: Session,
    campaign: Campaign,
    group_id: str,
    snap: JielongSnapshot,
    sender_id: str,
    sender_name: str,
    now: datetime,
) -> SnapshotResult:
    """Reconcile one snapshot with its list and apply it to the order book, in the caller's transaction."""
    assert campaign.id is not None
    result = SnapshotResult(campaign, snap.title)
    row = _lock_list(s, group_id, campaign, snap, now)
    state = JielongState.from_json(row.state)
    attribute = attribution(s, group_id, sender_id, sender_name)
    new_state, actions = reconcile(state, snap, sender_id, attribute)
    if not is_open(campaign, now):
        # Nothing is recorded: the list is read again once it counts.
        result.blocked = any(isinstance(a, SetEntry | DropEntry) for a in actions)
        return result
    items = items_of(s, campaign.id)
    index = CatalogueIndex(catalogue(items))
    _admit_authors(s, group_id, snap, now)
    for action in actions:
        if isinstance(action, NeedsConfirm):
            continue
        previous = state.members.get(action.member_id)
        old = previous.content if previous is not None else None
        try:
            with s.begin_nested():
                change = _apply(s, campaign, items, index, group_id, action, old, now)
                _supersede(s, row, action.member_id, now)
        except Exception:
            # One line must not stop the list: the others count, and this one is not
            # recorded as counted, so the next snapshot tries it again.
            log.exception(
                "接龙 line of %s in %s failed; the rest of the list applied", action.member_id, group_id
            )
            _forget(new_state, state, action.member_id)
            continue
        result.changes.append(change)
        result.touched_items.extend(change.outcome.touched_items)
    requests = [a for a in actions if isinstance(a, NeedsConfirm)]
    result.pending = _pending(s, row, campaign, requests, sender_id, now)
    row.state = new_state.to_json()
    row.updated_at = now
    s.add(row)
    s.flush()
    return result


def _admit_authors(s: Session, group_id: str, snap: JielongSnapshot, now: datetime) -> None:
    """Authors the chat app vouches for and the bot has never seen become members of the group,
    named as the list shows them, so their lines count like anyone's."""
    authors = {e.author_id: e.nickname for e in snap.entries if e.author_id}
    if not authors:
        return
    known = set(s.exec(select(Member.id).where(col(Member.id).in_(authors))))
    fresh = [(group_id, mid, name or mid) for mid, name in authors.items() if mid not in known]
    if fresh:
        touch_members(s, fresh, now)


def _forget(new_state: JielongState, state: JielongState, member_id: str) -> None:
    """Undo a member's entry in the state being saved: their line was not applied."""
    previous = state.members.get(member_id)
    if previous is None:
        new_state.members.pop(member_id, None)
    else:
        new_state.members[member_id] = previous


@dataclass(frozen=True)
class PendingLine:
    """A line stored for the leader's decision; ``id`` is the number she confirms."""

    id: int
    kind: str
    nickname: str
    content: str | None
    member_id: str | None


_PENDING = table(JielongPending)
_NEWEST_PENDING = select(_PENDING.c.id).order_by(_PENDING.c.id.desc())


def _pending(
    s: Session,
    row: JielongList,
    campaign: Campaign,
    requests: list[NeedsConfirm],
    sender_id: str,
    now: datetime,
) -> list[PendingLine]:
    """Store the reports in one statement: a pasted list of thousands of strangers' lines is
    one INSERT, not thousands of ORM objects. The list's row is locked, so the list's newest
    ids are these, in order."""
    assert row.id is not None and campaign.id is not None
    if not requests:
        return []
    rows = [
        {
            "list_id": row.id,
            "group_id": row.group_id,
            "campaign_id": campaign.id,
            "kind": r.kind,
            "nickname": r.nickname[:100],
            "content": r.content,
            "member_id": r.member_id,
            "fingerprints": list(r.fingerprints),
            "reported_by": sender_id,
            "status": PendingStatus.PENDING,
            "created_at": now,
            "decided_at": None,
        }
        for r in requests
    ]
    conn = s.connection()
    conn.execute(_PENDING.insert(), rows)
    newest = _NEWEST_PENDING.where(_PENDING.c.list_id == row.id).limit(len(rows))
    ids = sorted(conn.execute(newest).scalars())
    return [
        PendingLine(i, r.kind, r.nickname[:100], r.content, r.member_id)
        for i, r in zip(ids, requests, strict=True)
    ]


def _supersede(s: Session, row: JielongList, member_id: str, now: datetime) -> None:
    """The member changed their own entry: reports about it that wait for the leader are out of date."""
    stmt = (
        update(JielongPending)
        .where(
            col(JielongPending.list_id) == row.id,
            col(JielongPending.member_id) == member_id,
            col(JielongPending.status) == PendingStatus.PENDING,
            col(JielongPending.kind) != "unattributed",
        )
        .values(status=PendingStatus.SUPERSEDED, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    s.execute(stmt)


def reread(text: str) -> JielongSnapshot | None:
    """A list kept as the member sent it (text, or WeChat's XML), read again."""
    return parse_jielong_xml(text) if text.lstrip().startswith("<") else parse_jielong(text)


# ------------------------------------------------------------------------------- onto the order book


@dataclass
class _Reading:
    wants: dict[int, Quantity] = field(default_factory=dict)
    unknown: list[UnknownItem] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    protected: set[int] = field(default_factory=set)  # items named in a line that could not be read
    notes: list[str] = field(default_factory=list)
    room: str | None = None

    @property
    def named(self) -> set[int]:
        return set(self.wants)


def read_content(content: str | None, index: CatalogueIndex) -> _Reading:
    """A member's jielong content (lines joined by ；) read with the order grammar."""
    reading = _Reading()
    if not content:
        return reading
    for line in content.split(LINE_JOIN):
        line = line.strip()
        if not line:
            continue
        parsed: ParsedOrder | None = parse_order_text(line, index, jielong=True)
        if parsed is None:
            room, rest = parse_room(line)
            reading.room = reading.room or room
            if _wordy(rest) and len(line) <= 200:
                reading.unreadable.append(Unreadable(line, _example(index, None)))
            continue
        for part in parsed.parts:
            # a list line states what she wants: 苹果不要了 is 0, +1 in a one-item campaign is 1 of it
            item_id = part.item_id
            if item_id is None and len(index.items) == 1:
                item_id = index.items[0].id
            if item_id is None:
                reading.unreadable.append(Unreadable(part.raw, _example(index, None)))
                continue
            qty = 0 if part.op == Op.REMOVE or part.quantity is None else part.quantity
            reading.wants[item_id] = normalize(reading.wants.get(item_id, 0) + qty)
        reading.unknown.extend(parsed.unknown)
        for u in parsed.unreadable:
            item = index.by_id.get(u.item_id) if u.item_id is not None else None
            if item is not None:
                reading.protected.add(item.id)
            reading.unreadable.append(Unreadable(u.raw, _example(index, item)))
        if parsed.note:
            reading.notes.append(parsed.note)
        reading.room = reading.room or parsed.room
    reading.wants = {
        item_id: qty for item_id, qty in reading.wants.items() if item_id not in reading.protected
    }
    return reading


def _wordy(text: str) -> bool:
    """Text that says something in words (not a name alone, a room, punctuation or markup)."""
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _example(index: CatalogueIndex, item: object | None) -> str:
    chosen = item if item is not None else (index.items[0] if index.items else None)
    return f"{chosen.name}2{chosen.unit}" if chosen is not None else "商品2份"  # type: ignore[attr-defined]


def _apply(
    s: Session,
    campaign: Campaign,
    items: list[Item],
    index: CatalogueIndex,
    group_id: str,
    action: SetEntry | DropEntry,
    old_content: str | None,
    now: datetime,
) -> EntryChange:
    assert campaign.id is not None
    member = s.get(Member, action.member_id)
    name = member.name if member is not None else action.member_id
    if isinstance(action, DropEntry):
        outcome = cancel_order(s, campaign, action.member_id, None, now)
        return EntryChange(
            action.member_id, name, True, outcome, view_order(s, campaign.id, action.member_id)
        )
    reading = read_content(action.content, index)
    by_id = {i.id: i for i in items}
    wants = [(by_id[item_id], qty) for item_id, qty in reading.wants.items()]
    if not reading.unreadable:
        # Items the previous content named and this one does not: the member took them off the line.
        gone = read_content(old_content, index).named - reading.named - reading.protected
        wants += [(by_id[item_id], 0) for item_id in sorted(gone) if item_id in by_id]
    if wants:
        outcome = change_order(
            s,
            campaign,
            action.member_id,
            group_id,
            wants,
            now,
            mode="set",
            note="；".join(reading.notes) or None,
            room=reading.room,
        )
        claim_coupons(s, campaign.id, action.member_id)
        if outcome.order_id is not None and outcome.accepted:
            apply_coupon(s, outcome.order_id, action.member_id, now)
    else:
        outcome = Outcome(None)
    return EntryChange(
        action.member_id,
        name,
        False,
        outcome,
        view_order(s, campaign.id, action.member_id),
        unknown=reading.unknown,
        unreadable=reading.unreadable,
    )


# -------------------------------------------------------------------------------- leader's decision


@dataclass
class Decision:
    number: int
    status: str  # confirmed, rejected, not_found, decided, closed, needs_member, unknown_member
    pending: JielongPending | None = None
    change: EntryChange | None = None
    campaign: Campaign | None = None
    result: SnapshotResult | None = None  # a list the leader linked to the campaign, applied


def pending_for(s: Session, number: int) -> JielongPending | None:
    return s.exec(select(JielongPending).where(JielongPending.id == number).with_for_update()).first()


def decide(
    s: Session, pending: JielongPending, accept: bool, member_name: str | None, now: datetime
) -> Decision:
    """The leader confirmed (apply the line) or rejected (drop it) a report; the caller checked the right."""
    assert pending.id is not None
    decision = Decision(pending.id, "decided", pending)
    if pending.status != PendingStatus.PENDING:
        return decision
    campaign = s.get(Campaign, pending.campaign_id)
    decision.campaign = campaign
    if not accept:
        _close(s, pending, PendingStatus.REJECTED, now)
        decision.status = "rejected"
        return decision
    if campaign is None or not is_open(campaign, now):
        decision.status = "closed"
        return decision
    if pending.kind == LINK:
        snap = reread(pending.content or "")
        _close(s, pending, PendingStatus.CONFIRMED, now)
        decision.status = "linked"
        if snap is not None:
            sender = s.get(Member, pending.reported_by)
            decision.result = apply_snapshot(
                s, campaign, pending.group_id, snap, pending.reported_by, sender.name if sender else "", now
            )
        return decision
    member_id = pending.member_id
    if member_name is not None:
        member_id = attribution(s, pending.group_id, "", "")(member_name)
        if member_id is None:
            decision.status = "unknown_member"
            return decision
    if member_id is None:
        decision.status = "needs_member"
        return decision
    row = s.exec(select(JielongList).where(JielongList.id == pending.list_id).with_for_update()).one()
    state = JielongState.from_json(row.state)
    request = NeedsConfirm(
        pending.kind, pending.nickname, pending.content, pending.member_id, tuple(pending.fingerprints)
    )
    new_state, action = confirm(state, request, member_id)
    previous = state.members.get(member_id)
    items = items_of(s, campaign.id)  # type: ignore[arg-type]
    index = CatalogueIndex(catalogue(items))
    old = previous.content if previous is not None else None
    decision.change = _apply(s, campaign, items, index, pending.group_id, action, old, now)
    row.state = new_state.to_json()
    row.updated_at = now
    s.add(row)
    pending.member_id = member_id
    _close(s, pending, PendingStatus.CONFIRMED, now)
    decision.status = "confirmed"
    return decision


def _close(s: Session, pending: JielongPending, status: str, now: datetime) -> None:
    pending.status = status
    pending.decided_at = now
    s.add(pending)


def waiting_lines(s: Session, campaign_id: int) -> list[JielongPending]:
    """The campaign's 接龙 lines still waiting for the leader's 确认 or 拒绝, oldest first."""
    stmt = select(JielongPending).where(
        JielongPending.campaign_id == campaign_id, JielongPending.status == PendingStatus.PENDING
    )
    return list(s.exec(stmt.order_by(col(JielongPending.id))))
