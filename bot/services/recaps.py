"""The 战报 of a campaign as replies: store rows -> CampaignFacts -> Recap -> text, poster, files.

``recap_replies`` is what both the 战报 command and the timeline (after close) send: the recap
text and the poster into every group of the campaign, and the leader's files (备货单, 分拣单,
full order list) privately to the leader. Files are written under ``media_dir``; by default
that is ``exports/`` next to the SQLite database (``data/exports`` for ``data/tuanbot.db``).
``render_media`` makes the recap, poster and files on both cores; bench/recap.py measures it.

The command does not render anything itself: ``request_recap`` books a ``recap_request`` job in
the campaign's options and the timeline runner makes the 战报 outside any write transaction
(on SQLite a 100,000-order 战报 would otherwise hold the one writer for seconds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlmodel import Session, col, select

from bot.core.config import Settings
from bot.core.messages import Reply
from bot.core.render import render
from bot.groupbuy.exports import Export, FileKind, Format, start_exports, write_atomically
from bot.groupbuy.fonts import FontMissing
from bot.groupbuy.loyalty import common_words
from bot.groupbuy.plan import RECAP_REQUESTS, utc_iso
from bot.groupbuy.poster import render_poster
from bot.groupbuy.recap import CampaignFacts, Recap, compute_recap
from bot.groupbuy.rows import OrderRow
from bot.services.campaigns import campaign_groups
from bot.services.feedback import comments
from bot.services.groups import group_name
from bot.services.jielong_book import leader_of
from bot.services.members import group_size
from bot.services.reports import order_rows
from bot.services.stars import stars
from bot.services.support import average_rating
from bot.store.models import (
    Campaign,
    CampaignGroup,
    CampaignStatus,
    Group,
    Order,
    OrderStatus,
    SentNotice,
)

log = logging.getLogger(__name__)

DEFAULT_MEDIA_DIR = Path("data/exports")


def media_dir_for(session: Session, settings: Settings) -> Path:
    """Where generated files go: ``media_dir`` from the settings, else ``exports/`` beside the
    SQLite database file, else data/exports."""
    if settings.media_dir:
        return Path(settings.media_dir)
    url = session.get_bind().url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent / "exports"
    return DEFAULT_MEDIA_DIR


def recap_campaign(s: Session, groups: list[str], ref: int | None) -> Campaign | None:
    """The campaign given by number, else the groups' newest closed one (else the newest active)."""
    stmt = (
        select(Campaign)
        .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
        .where(col(CampaignGroup.group_id).in_(groups), Campaign.status != CampaignStatus.CANCELLED)
        .order_by(col(Campaign.id).desc())
    )
    if ref is not None:
        return s.exec(stmt.where(Campaign.id == ref)).first()
    closed = s.exec(stmt.where(Campaign.status == CampaignStatus.CLOSED)).first()
    return closed or s.exec(stmt).first()


def _facts(
    s: Session, campaign: Campaign, tz: ZoneInfo, now: datetime, rows: Sequence[OrderRow] | None = None
) -> CampaignFacts:
    group = s.get(Group, campaign.owner_group_id)
    closed = (campaign.closed_at or now).astimezone(tz)
    lines = rows if rows is not None else order_rows(s, campaign, tz)
    return CampaignFacts(campaign.title, closed, lines, group.name if group else "")


def previous_campaign(s: Session, campaign: Campaign) -> Campaign | None:
    """This group's closed campaign before this one (the comparison line)."""
    stmt = (
        select(Campaign)
        .where(
            Campaign.owner_group_id == campaign.owner_group_id,
            Campaign.status == CampaignStatus.CLOSED,
            col(Campaign.id) < campaign.id,
        )
        .order_by(col(Campaign.id).desc())
    )
    return s.exec(stmt).first()


def next_campaign(s: Session, campaign: Campaign) -> Campaign | None:
    """The group's next scheduled campaign, soonest first."""
    stmt = (
        select(Campaign)
        .join(CampaignGroup, col(CampaignGroup.campaign_id) == col(Campaign.id))
        .where(
            CampaignGroup.group_id == campaign.owner_group_id,
            Campaign.status == CampaignStatus.SCHEDULED,
            Campaign.id != campaign.id,
        )
        .order_by(col(Campaign.opens_at), col(Campaign.id))
    )
    return s.exec(stmt).first()


def earlier_buyers(s: Session, campaign: Campaign) -> frozenset[str]:
    """Members with an active order in an earlier, not cancelled campaign of the same groups."""
    assert campaign.id is not None
    stmt = (
        select(Order.member_id)
        .join(Campaign, col(Campaign.id) == col(Order.campaign_id))
        .where(
            col(Order.group_id).in_(campaign_groups(s, campaign.id)),
            Order.status == OrderStatus.ACTIVE,
            Campaign.status != CampaignStatus.CANCELLED,
            col(Campaign.id) < campaign.id,
        )
    )
    return frozenset(s.exec(stmt))


def build_recap(
    s: Session,
    campaign: Campaign,
    settings: Settings,
    now: datetime,
    rows: Sequence[OrderRow],
    *,
    env: Environment,
    group_id: str | None = None,
) -> Recap:
    """The campaign's recap from its order lines `rows`, with the store's comparison, repeat
    buyers, group sizes, rating and next-campaign preview. `env` renders the preview: pass the
    app's one environment. With `group_id`: that group's own figures (its orders, its size, its
    orders last time) for a campaign that runs in several groups."""
    assert campaign.id is not None
    tz = settings.tz
    groups = campaign_groups(s, campaign.id)
    if group_id is not None:
        rows = [r for r in rows if r.group_id == group_id]
        groups = [group_id]
    current = _facts(s, campaign, tz, now, rows)
    current = CampaignFacts(
        current.title,
        current.closed_at,
        current.orders,
        group_name(s, group_id) if group_id is not None else "、".join(group_name(s, g) for g in groups),
        earlier_buyers(s, campaign),
    )
    before = previous_campaign(s, campaign)
    previous = _facts(s, before, tz, now) if before is not None else None
    if previous is not None and group_id is not None:
        previous = replace(previous, orders=[r for r in previous.orders if r.group_id == group_id])
    upcoming = next_campaign(s, campaign)
    preview = None
    if upcoming is not None:
        preview = render(env, "recap/next_preview", {"campaign": upcoming})
    rating, rated = average_rating(s, campaign.id)
    loyalty = settings.loyalty
    active = stars(s, campaign, tz, loyalty.stars.count, now)
    return compute_recap(
        current,
        previous,
        sum(group_size(s, g) for g in groups),
        preview,
        rating,
        ratings=rated,
        comment_words=common_words(comments(s, campaign.id)),
        stars=[(st.name, st.orders, st.helpful) for st in active],
    )


def group_recaps(
    s: Session,
    campaign: Campaign,
    settings: Settings,
    now: datetime,
    rows: Sequence[OrderRow],
    *,
    env: Environment,
) -> dict[str, Recap]:
    """Each group's own 战报 when the campaign runs in several groups (empty for one group)."""
    assert campaign.id is not None
    groups = campaign_groups(s, campaign.id)
    if len(groups) < 2:
        return {}
    return {g: build_recap(s, campaign, settings, now, rows, env=env, group_id=g) for g in groups}


# The leader's files in the order they are sent, with the names the leader sees.
LEADER_FILES: tuple[tuple[FileKind, str], ...] = (
    ("supplier", "备货单"),
    ("sorting", "分拣单"),
    ("orders", "订单明细"),
)


def leader_exports(folder: Path, campaign_id: int, formats: Sequence[Format] = ("xlsx",)) -> list[Export]:
    """备货单, 分拣单 and the full order list under `folder`, XLSX unless other formats are asked."""
    return [
        Export(kind, fmt, Path(folder) / f"{name}-{campaign_id}.{fmt}")
        for kind, name in LEADER_FILES
        for fmt in formats
    ]


@dataclass(frozen=True)
class RecapMedia:
    recap: Recap
    poster: Path | None  # None when no font can draw Chinese; font_problem says what to install
    font_problem: str | None
    files: list[Path]


def render_media(
    rows: Sequence[OrderRow], recap: Callable[[], Recap], poster: Path, exports: Sequence[Export]
) -> RecapMedia:
    """The recap (`recap()`), its poster and the leader's files, on both cores.

    A long order list's XLSX starts in a worker process first; the recap, the poster and the
    other files are made here meanwhile. Nothing here touches the database except through
    `recap`.
    """
    with start_exports(rows, exports) as pending:
        figures = recap()
        drawn: Path | None = None
        font_problem: str | None = None
        try:
            drawn = write_atomically(poster, lambda p: render_poster(figures, p))
        except FontMissing as err:
            log.warning("recap poster skipped: %s", err)
            font_problem = str(err)
        files = pending.finish()
    return RecapMedia(figures, drawn, font_problem, files)


def recap_replies(
    session: Session,
    campaign: Campaign,
    settings: Settings,
    now: datetime,
    media_dir: Path,
    *,
    env: Environment,
    preview_to: str | None = None,
) -> list[Reply]:
    """The recap text and poster to every group of the campaign, the files to the leader.

    With ``preview_to`` (a member id) text and poster go privately to that person instead of the
    groups: the leader looking at the 战报 before posting it. When no CJK font is installed the
    poster is left out and the leader is told which package to install. ``env`` is the app's
    jinja2 environment (for the next-campaign preview line).
    """
    assert campaign.id is not None
    rows = order_rows(session, campaign, settings.tz)  # once, for the recap and the files
    folder = Path(media_dir) / f"campaign-{campaign.id}"
    media = render_media(
        rows,
        lambda: build_recap(session, campaign, settings, now, rows, env=env),
        folder / f"战报-{campaign.id}.png",
        leader_exports(folder, campaign.id),
    )
    groups = campaign_groups(session, campaign.id)
    targets = [(preview_to, True)] if preview_to else [(g, False) for g in groups]
    # In several groups each group reads its own figures and thanks; the leader the whole picture.
    own = {} if preview_to else group_recaps(session, campaign, settings, now, rows, env=env)
    replies: list[Reply] = []
    for chat, private in targets:
        recap, poster = media.recap, media.poster
        if chat in own:
            recap = own[chat]
            if poster is not None:
                poster = write_atomically(
                    folder / f"战报-{campaign.id}-{len(replies)}.png", lambda p, r=recap: render_poster(r, p)
                )
        replies.append(Reply("recap/recap", {"recap": recap}, chat_id=chat, private=private, must_send=True))
        if poster is not None:
            replies.append(
                Reply(
                    "recap/poster",
                    {"recap": recap},
                    chat_id=chat,
                    private=private,
                    kind="image",
                    path=str(poster),
                    standalone=True,
                )
            )
    # The leader of the campaign's own group (the configured one), else whoever opened it.
    leader = leader_of(session, campaign.owner_group_id) or campaign.created_by
    replies.append(
        Reply(
            "recap/files_leader",
            {
                "campaign": campaign,
                "recap": media.recap,
                "names": [p.name for p in media.files],
                "font": media.font_problem,
                "per_group": list(own.values()),
            },
            chat_id=leader,
            private=True,
            must_send=True,
        )
    )
    for path, (kind, _) in zip(media.files, LEADER_FILES, strict=True):
        replies.append(
            Reply(
                "recap/file",
                {"campaign": campaign, "kind": kind, "name": path.name},
                chat_id=leader,
                private=True,
                kind="file",
                path=str(path),
                standalone=True,
            )
        )
    return replies


def request_recap(s: Session, campaign_id: int, now: datetime, preview_to: str | None) -> int:
    """Book a 战报 (``recap_request:<seq>``, due now) for the timeline runner; returns its seq.

    The campaign row is locked (PostgreSQL) before its options are read, so two requests from
    two chats at once both stay. Requests already fired are dropped from the list here.
    """
    stmt = (
        select(Campaign)
        .where(Campaign.id == campaign_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    campaign = s.exec(stmt).one()
    options = dict(campaign.options or {})
    book = options.get(RECAP_REQUESTS) or {}
    pending = list(book.get("pending") or [])
    if pending:
        keys = [f"campaign:{campaign_id}:recap_request:{e['seq']}" for e in pending]
        fired = set(s.exec(select(SentNotice.key).where(col(SentNotice.key).in_(keys))))
        pending = [e for e, key in zip(pending, keys, strict=True) if key not in fired]
    seq = int(book.get("seq") or 0) + 1
    at = utc_iso(now)
    pending.append({"seq": seq, "at": at, "to": preview_to})
    options[RECAP_REQUESTS] = {"seq": seq, "at": at, "pending": pending}
    campaign.options = options
    s.add(campaign)
    return seq
