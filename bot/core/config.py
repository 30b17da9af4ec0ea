"""config.yaml -> typed, validated settings.

Errors name the bad field and the line it is on, so a leader editing the file by hand
can find the mistake. Secrets and deployment overrides come from the environment.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from bot.groupbuy.timeline_config import AlertsConfig, TimelineConfig

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonConfig(_Strict):
    id: str
    name: str


class GroupConfig(_Strict):
    id: str
    name: str
    leader: str = Field(description="the leader's stable chat id")
    admins: tuple[str, ...] = ()
    # Demo members for the web chat (the real network knows its own members).
    members: tuple[PersonConfig, ...] = ()
    rules: str | None = None


class LeaderConfig(_Strict):
    """A leader who may bind groups in chat (绑定); her admins get admin rights in each of them."""

    id: str = Field(description="the leader's stable chat id")
    name: str = ""
    admins: tuple[str, ...] = ()


class DemoGroupConfig(_Strict):
    """A group in the local web chat that no leader has bound yet (try 绑定 there)."""

    id: str
    name: str
    members: tuple[PersonConfig, ...] = ()


def is_loopback(host: str) -> bool:
    """Whether serving on ``host`` keeps a server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class WebConfig(_Strict):
    # The web chat is a local simulator (any page speaks as any member): another address only
    # when this says so. Declared before host so host's check can read it.
    allow_remote: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    demo_groups: tuple[DemoGroupConfig, ...] = ()

    @field_validator("host")
    @classmethod
    def _local_unless_allowed(cls, value: str, info: ValidationInfo) -> str:
        if not is_loopback(value) and not info.data.get("allow_remote"):
            raise ValueError(
                f"{value} would let anyone who can reach this machine speak as any member: the web chat "
                "is a local simulator. Keep 127.0.0.1, or add web.allow_remote: true if you mean it"
            )
        return value


class WechatyConfig(_Strict):
    endpoint: str | None = None
    token: str | None = None


class PacingConfig(_Strict):
    per_chat_per_minute: int = Field(default=20, ge=1)
    per_account_per_minute: int = Field(default=30, ge=1)
    burst: int = Field(default=5, ge=1)
    jitter_seconds: float = Field(default=1.5, ge=0)


class OrdersConfig(_Strict):
    # What happens to orders when a campaign fails its minimum: cancel them all, or keep them.
    on_failure: Literal["cancel", "keep"] = "cancel"


class Settings(_Strict):
    bot_name: str = "团长助手"
    bot_id: str = "tuanbot"
    timezone: str = "Asia/Shanghai"
    database_url: str = "sqlite:///data/tuanbot.db"
    transport: Literal["webchat", "wechaty"] = "webchat"
    mask_names: bool = True
    # Where posters and exports are written (default: exports/ beside the SQLite file).
    media_dir: str | None = None
    web: WebConfig = WebConfig()
    wechaty: WechatyConfig = WechatyConfig()
    pacing: PacingConfig = PacingConfig()
    orders: OrdersConfig = OrdersConfig()
    # Who the leaders are; their groups are bound in chat (绑定) and kept in the database.
    leaders: tuple[LeaderConfig, ...] = ()
    # Groups written out by hand (still supported): stable chat id, leader, admins.
    groups: tuple[GroupConfig, ...] = ()
    timeline: TimelineConfig = TimelineConfig()
    alerts: AlertsConfig = AlertsConfig()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def group(self, group_id: str) -> GroupConfig | None:
        return next((g for g in self.groups if g.id == group_id), None)

    def leader(self, member_id: str) -> LeaderConfig | None:
        """A leader named in config.yaml: under ``leaders`` or as a configured group's leader."""
        found = next((lead for lead in self.leaders if lead.id == member_id), None)
        if found is None and any(g.leader == member_id for g in self.groups):
            found = LeaderConfig(id=member_id)
        return found


class ConfigError(Exception):
    """A config file that cannot be used; the message names the field and line."""


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Walk the YAML node tree along a pydantic error location to find its line."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            key = next((k for k, _ in node.value if k.value == part), None)
            if match is None:
                return key.start_mark.line + 1 if key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line


def parse_settings(text: str, source: str = "config.yaml", env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    try:
        tree = yaml.compose(text)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of settings")
    if env.get("TUANBOT_DATABASE_URL"):
        data["database_url"] = env["TUANBOT_DATABASE_URL"]
    wechaty = dict(data.get("wechaty") or {})
    for key in ("endpoint", "token"):
        if env.get(f"WECHATY_PUPPET_SERVICE_{key.upper()}"):
            wechaty[key] = env[f"WECHATY_PUPPET_SERVICE_{key.upper()}"]
    if wechaty:
        data["wechaty"] = wechaty
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(tree, loc)
            where = f"line {line}" if line else "?"
            problems.append(f"{source}:{where}: {field}: {err['msg']}")
        raise ConfigError("invalid configuration\n" + "\n".join(problems)) from exc


def load_settings(path: Path | None = None) -> Settings:
    path = path or Path(os.environ.get("TUANBOT_CONFIG", DEFAULT_CONFIG))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return parse_settings(text, source=str(path))
