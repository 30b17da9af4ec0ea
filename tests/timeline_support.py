"""Shared helpers for the timeline tests: a day's settings, a send log, pacing checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.core.config import PacingConfig, Settings
from bot.core.messages import OutboundMessage
from bot.store.models import SentNotice
from bot.testing import Harness, demo_settings

TZ = ZoneInfo("Asia/Shanghai")
MEMBERS = [
    "李阿姨",
    "张叔",
    "赵姐",
    "刘哥",
    "孙奶奶",
    "周老师",
    "吴妈",
    "郑小妹",
    "陈叔",
    "琳琳",
    "马姨",
    "钱伯",
]

ANNOUNCEMENT = """开团 周六晚场
苹果 10元/斤 库存10 限购5
香蕉 5元/把 库存50
开始 今天20:00
截团 今天23:00
预热 今天12:00
红包雨 今天19:50 5个 共10元
阶梯 苹果 满8斤 8"""


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=TZ)


def day_settings(*, production_pacing: bool = True, **timeline: Any) -> Settings:
    groups = {"幸福里1群": {"leader": "王姐", "admins": ["小陈"], "members": MEMBERS}}
    extra: dict[str, Any] = {"timeline": {"reconcile_seconds": 600, **timeline}}
    if production_pacing:
        extra["pacing"] = PacingConfig().model_dump()
    return demo_settings(groups, **extra)


@dataclass(frozen=True)
class Sent:
    at: datetime
    message: OutboundMessage

    @property
    def templates(self) -> list[str]:
        return self.message.template.split("+")


def record_sends(h: Harness, log: list[Sent]) -> None:
    """Wrap the memory transport so every send is logged with the fake clock's time."""
    inner = h.transport.send

    async def send(message: OutboundMessage) -> None:
        await inner(message)
        log.append(Sent(h.clock.now(), message))

    h.transport.send = send  # type: ignore[method-assign]


def check_pacing(log: list[Sent], pacing: PacingConfig) -> None:
    """Token-bucket bounds: any window holds at most burst + rate x window sends (per chat, per account)."""
    times = [s.at for s in log]
    account_cap = pacing.burst * 2
    for i, start in enumerate(times):
        in_90 = sum(1 for t in times[i:] if t - start < timedelta(seconds=90))
        assert in_90 <= account_cap + pacing.per_account_per_minute * 1.5, start
        assert in_90 < 60  # where real accounts get restricted
    by_chat: dict[str, list[datetime]] = {}
    for s in log:
        by_chat.setdefault(s.message.chat_id, []).append(s.at)
    for chat, chat_times in by_chat.items():
        assert chat_times == sorted(chat_times)
        # Jitter after every send: two sends to one chat never share an instant.
        assert len(set(chat_times)) == len(chat_times), chat
        for i, start in enumerate(chat_times):
            in_60 = sum(1 for t in chat_times[i:] if t - start < timedelta(seconds=60))
            assert in_60 <= pacing.burst + pacing.per_chat_per_minute, (chat, start)


def notices(h: Harness) -> dict[str, SentNotice]:
    with Session(h.app.engine) as s:
        return {n.key: n for n in s.exec(select(SentNotice))}
