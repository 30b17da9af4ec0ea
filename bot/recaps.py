"""The 战报 of a campaign as replies: store rows -> CampaignFacts -> Recap -> text, poster, files.

``recap_replies`` is what both the 战报 command and the timeline (after close) send: the recap
text and the poster into every group of the campaign, and the leader's files (备货单, 分拣单,
full order list) privately to the leader. Files are written under ``media_dir``; by default
that is ``exports/`` next to the SQLite database (``data/exports`` for ``data/tuanbot.db``).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.campaigns import campaign_groups
from bot.config import Settings
from bot.groupbuy.exports import write_orders, write_sorting_list, write_supplier_list
from bot.groupbuy.fonts import FontMissing
from bot.groupbuy.poster import render_poster
from bot.groupbuy.recap import CampaignFacts, Recap, compute_recap
from bot.jielong_book import leader_of
from bot.members import group_size
from bot.messages import Reply
from bot.render import make_environment, render
from bot.reports import order_rows
from bot.store.models import (
    Campaign,
    CampaignGroup,
    CampaignStatus,
    Group,
    Order,
    OrderStatus,
)
from bot.support import average_rating

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


def _facts(s: Session, campaign: Campaign, tz: ZoneInfo, now: datetime) -> CampaignFacts:
    group = s.get(Group, campaign.owner_group_id)
    closed = (campaign.closed_at or now).astimezone(tz)
    return CampaignFacts(campaign.title, closed, order_rows(s, campaign, tz), group.name if group else "")


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


@dataclass(frozen=True)
class RecapBundle:
    recap: Recap
    campaign: Campaign
    groups: list[str]
    leader_id: str


def build_recap(s: Session, campaign: Campaign, settings: Settings, now: datetime) -> RecapBundle:
    assert campaign.id is not None
    tz = settings.tz
    current = _facts(s, campaign, tz, now)
    current = CampaignFacts(
        current.title, current.closed_at, current.orders, current.group_name, earlier_buyers(s, campaign)
    )
    before = previous_campaign(s, campaign)
    previous = _facts(s, before, tz, now) if before is not None else None
    groups = campaign_groups(s, campaign.id)
    upcoming = next_campaign(s, campaign)
    preview = None
    if upcoming is not None:
        env = make_environment(tz, mask_names=settings.mask_names)
        preview = render(env, "recap/next_preview", {"campaign": upcoming})
    rating, _ = average_rating(s, campaign.id)
    recap = compute_recap(current, previous, sum(group_size(s, g) for g in groups), preview, rating)
    # The leader of the campaign's own group (the configured one), else whoever opened it.
    leader = leader_of(s, campaign.owner_group_id) or campaign.created_by
    return RecapBundle(recap, campaign, groups, leader)


def _atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Write a file under a temporary name, then move it into place: two processes preparing
    the same 战报 never leave a half-written file behind for the one whose send wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{uuid.uuid4().hex}.{path.name}")  # same suffix: the writers read it
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def write_leader_files(s: Session, campaign: Campaign, settings: Settings, media_dir: Path) -> list[Path]:
    """备货单, 分拣单 and the full order list as XLSX under ``media_dir/campaign-<id>/``."""
    rows = order_rows(s, campaign, settings.tz)
    folder = Path(media_dir) / f"campaign-{campaign.id}"
    return [
        _atomically(folder / f"备货单-{campaign.id}.xlsx", lambda p: write_supplier_list(rows, p, "xlsx")),
        _atomically(folder / f"分拣单-{campaign.id}.xlsx", lambda p: write_sorting_list(rows, p, "xlsx")),
        _atomically(folder / f"订单明细-{campaign.id}.xlsx", lambda p: write_orders(rows, p, "xlsx")),
    ]


def recap_replies(
    session: Session,
    campaign: Campaign,
    settings: Settings,
    now: datetime,
    media_dir: Path,
    *,
    preview_to: str | None = None,
) -> list[Reply]:
    """The recap text and poster to every group of the campaign, the files to the leader.

    With ``preview_to`` (a member id) text and poster go privately to that person instead of the
    groups: the leader looking at the 战报 before posting it. When no CJK font is installed the
    poster is left out and the leader is told which package to install.
    """
    bundle = build_recap(session, campaign, settings, now)
    targets = [(preview_to, True)] if preview_to else [(g, False) for g in bundle.groups]
    folder = Path(media_dir) / f"campaign-{campaign.id}"
    replies: list[Reply] = []
    poster: Path | None = None
    font_problem: str | None = None
    try:
        poster = _atomically(folder / f"战报-{campaign.id}.png", lambda p: render_poster(bundle.recap, p))
    except FontMissing as err:
        log.warning("recap poster skipped: %s", err)
        font_problem = str(err)
    for chat, private in targets:
        replies.append(
            Reply("recap/recap", {"recap": bundle.recap}, chat_id=chat, private=private, must_send=True)
        )
        if poster is not None:
            replies.append(
                Reply(
                    "recap/poster",
                    {"recap": bundle.recap},
                    chat_id=chat,
                    private=private,
                    kind="image",
                    path=str(poster),
                    standalone=True,
                )
            )
    files = write_leader_files(session, campaign, settings, media_dir)
    leader = bundle.leader_id
    replies.append(
        Reply(
            "recap/files_leader",
            {
                "campaign": campaign,
                "recap": bundle.recap,
                "names": [p.name for p in files],
                "font": font_problem,
            },
            chat_id=leader,
            private=True,
            must_send=True,
        )
    )
    for path, kind in zip(files, ("supplier", "sorting", "orders"), strict=True):
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
