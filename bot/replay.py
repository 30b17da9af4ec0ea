"""`tuanbot replay`: play a scripted chat against the bot with a fake clock.

The scenario format is a public interface (leaders rehearse campaigns with it):

    start: 2026-12-05 09:00          # local time
    timezone: Asia/Shanghai          # optional
    groups:
      幸福里1群: {leader: 王姐, admins: [小陈], members: [李阿姨, 张叔]}
      幸福里2群: {members: [王姐, 钱阿姨]}   # no leader: bound in chat by a leader (绑定)
    leaders: [王姐]                  # optional: leaders config.yaml lists, who may 绑定
    settings:                        # optional: config.yaml sections to rehearse with
      loyalty: {points: {per_yuan: 10}}
    steps:
      - at: "18:00"                  # or "2026-12-06 18:00"
      - advance: 30m                 # 45s, 30m, 2h, 1d
      - chat: 幸福里1群
        from: 王姐
        say: 开团 ...
      - private: 王姐
        say: 统计
      - join: 小美                   # a newcomer joins the group,
        chat: 幸福里1群
        by: 李阿姨                   # optionally invited by a member (WeChat names the inviter)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from bot.core.messages import OutboundMessage
from bot.groupbuy.timeparse import TimeParseError, parse_duration
from bot.testing import Harness, build_harness, demo_settings, isolated_engine


class ScenarioError(ValueError):
    """A scenario that cannot be played; the message names the step."""


@dataclass(frozen=True)
class Event:
    """One line of the transcript: somebody (or the bot) said something at a time."""

    time: datetime
    chat: str | None
    to: str | None
    speaker: str
    text: str
    template: str | None = None
    kind: str = "text"
    path: str | None = None

    def as_json(self) -> str:
        return json.dumps(
            {
                "time": self.time.isoformat(),
                "chat": self.chat,
                "to": self.to,
                "template": self.template,
                "text": self.text,
                "kind": self.kind,
                "path": self.path,
            },
            ensure_ascii=False,
        )

    def as_text(self) -> str:
        where = self.chat or f"私聊 {self.to or self.speaker}"
        return f"[{self.time:%m-%d %H:%M:%S}] {where} · {self.speaker}: " + self.text.replace("\n", "\n    ")


def _local(value: Any, tz: ZoneInfo, field: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    try:
        return datetime.strptime(str(value).strip(), "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    except ValueError as exc:
        raise ScenarioError(f"{field}: expected 'YYYY-MM-DD HH:MM', got {value!r}") from exc


def load_scenario(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc}") from exc
    if not isinstance(data, dict) or "start" not in data or "groups" not in data:
        raise ScenarioError("a scenario needs 'start', 'groups' and 'steps'")
    return data


class Player:
    def __init__(self, scenario: dict[str, Any], harness: Harness, tz: ZoneInfo) -> None:
        self.scenario = scenario
        self.h = harness
        self.tz = tz
        everyone = (*harness.settings.groups, *harness.settings.web.demo_groups)
        self.names = {g.id: g.name for g in everyone}
        self.people = {m.id: m.name for g in everyone for m in g.members}

    def _bot_events(self, sent: list[OutboundMessage], times: list[datetime | None]) -> Iterator[Event]:
        for message, when in zip(sent, times, strict=True):
            assert when is not None
            yield Event(
                time=when.astimezone(self.tz),
                chat=self.names.get(message.chat_id) if message.is_group else None,
                to=None if message.is_group else self.people.get(message.chat_id, message.chat_id),
                speaker="团长助手",
                text=message.text,
                template=message.template,
                kind=message.kind,
                path=message.path,
            )

    async def play(self) -> list[Event]:
        events: list[Event] = []
        for n, step in enumerate(self.scenario.get("steps") or [], 1):
            before = len(self.h.transport.sent)
            if not isinstance(step, dict):
                raise ScenarioError(f"step {n}: expected a mapping")
            if "at" in step:
                await self.h.at(self._at(step["at"], n))
            elif "advance" in step:
                try:
                    delta = parse_duration(str(step["advance"]))
                except TimeParseError as exc:
                    raise ScenarioError(f"step {n}: cannot read advance {step['advance']!r}") from exc
                await self.h.advance(delta)
            elif "join" in step:
                events.append(await self._join(step, n))
            elif "chat" in step or "private" in step:
                events.append(await self._say(step, n))
            else:
                raise ScenarioError(f"step {n}: expected one of at, advance, chat, private, join")
            events.extend(self._bot_events(self.h.transport.sent[before:], self.h.transport.sent_at[before:]))
        before = len(self.h.transport.sent)
        await self.h.drain()
        events.extend(self._bot_events(self.h.transport.sent[before:], self.h.transport.sent_at[before:]))
        self.h.new()
        return events

    def _at(self, value: Any, n: int) -> datetime:
        text = str(value).strip()
        if re.fullmatch(r"\d{1,2}:\d{2}", text):
            hh, mm = map(int, text.split(":"))
            day = self.h.clock.now().astimezone(self.tz).date()
            when = datetime.combine(day, time(hh, mm), tzinfo=self.tz)
        else:
            when = _local(value, self.tz, f"step {n}: at")
        if when < self.h.clock.now():
            raise ScenarioError(f"step {n}: at {text} is before the current time; use a full date")
        return when

    async def _join(self, step: dict[str, Any], n: int) -> Event:
        who, group, by = str(step["join"]), str(step.get("chat", "")), step.get("by")
        if group not in self.names.values():
            raise ScenarioError(f"step {n}: join needs the group it joins as chat:")
        if by is not None and str(by) not in self.people.values():
            raise ScenarioError(f"step {n}: unknown inviter {by!r}")
        self.people[self.h.member_id(who)] = who
        now = self.h.clock.now().astimezone(self.tz)
        await self.h.join(who, inviter=str(by) if by else None, group=group)
        text = f"（{by}邀请{who}加入了群聊）" if by else f"（{who}加入了群聊）"
        return Event(time=now, chat=group, to=None, speaker=who, text=text, kind="join")

    async def _say(self, step: dict[str, Any], n: int) -> Event:
        text = str(step.get("say", ""))
        private = "private" in step
        who = str(step["private"] if private else step.get("from", ""))
        group = None if private else str(step["chat"])
        if not who or (group is not None and group not in self.names.values()):
            raise ScenarioError(f"step {n}: unknown group {group!r} or missing 'from'")
        mentions = tuple(name for name in self.people.values() if f"@{name}" in text)
        now = self.h.clock.now().astimezone(self.tz)
        await self.h.say(who, text, group=group, private=private, mentions=mentions)
        return Event(time=now, chat=group, to=None, speaker=who, text=text)


async def replay(path: Path, db: Path | None = None) -> list[Event]:
    scenario = load_scenario(path)
    tz = ZoneInfo(scenario.get("timezone") or "Asia/Shanghai")
    start = _local(scenario["start"], tz, "start")
    groups = scenario["groups"]
    if not isinstance(groups, dict) or not groups:
        raise ScenarioError("groups: expected a mapping of group name -> {leader, admins, members}")
    leaders = scenario.get("leaders") or []
    for name, g in groups.items():
        if not isinstance(g, dict) or ("leader" not in g and not leaders):
            raise ScenarioError(
                f"groups.{name}: needs a leader (or list the leaders who bind groups under 'leaders')"
            )
    if db is None:
        import tempfile

        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'replay.db'}"
    else:
        tmp = None
        url = f"sqlite:///{db.resolve()}"
    # Pacing is generous and without jitter here: a rehearsal shows each reply on its own, at the
    # exact time of the step (tests/test_pacing.py and the timeline day test cover real pacing).
    # Posters and Excel files outlive a temporary store, so the leader can look at them.
    media = (db.resolve().parent / "exports") if db is not None else Path("data/replay").resolve()
    overrides = scenario.get("settings") or {}
    if not isinstance(overrides, dict):
        raise ScenarioError("settings: expected a mapping of config.yaml sections")
    try:
        settings = demo_settings(
            groups,
            database_url=url,
            leaders=list(leaders),
            timezone=str(tz),
            media_dir=str(media),
            **overrides,
        )
    except ValidationError as exc:
        raise ScenarioError(f"settings: {exc}") from exc
    try:
        with isolated_engine(url) as engine:
            harness = build_harness(settings, engine, start.astimezone(tz).replace(tzinfo=None))
            async with harness.app:
                harness.new()
                return await Player(scenario, harness, tz).play()
    finally:
        if tmp is not None:
            tmp.cleanup()
