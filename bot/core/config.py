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

from bot.groupbuy.loyalty_config import LoyaltyConfig
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


class ConsoleConfig(_Strict):
    """The leader's console (后台) under /console/ on the web server."""

    # The address leaders open, as seen from their phones: the reverse proxy's https:// URL
    # in production (docs/console.md). Default: http://<web.host>:<web.port>.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/\s?#]+/?$")
    link_minutes: int = Field(default=10, ge=1, le=60)  # a 后台 link opens a session within this
    session_hours: int = Field(default=12, ge=1, le=168)  # then the leader sends 后台 again


class WechatyConfig(_Strict):
    endpoint: str | None = None
    token: str | None = None
    # TLS as the official Wechaty clients do it; false for a self-hosted gateway without TLS.
    tls: bool = True
    # The CA of the gateway's certificate (PEM text or a file), default the Wechaty root CA;
    # the name on it, default the token's prefix before its last "_".
    tls_ca_cert: str | None = None
    tls_server_name: str | None = None


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
    timezone: str = "Asia/Shanghai"
    database_url: str = "sqlite:///data/tuanbot.db"
    transport: Literal["webchat", "wechaty"] = "webchat"
    mask_names: bool = True
    # Where posters and exports are written (default: exports/ beside the SQLite file).
    media_dir: str | None = None
    web: WebConfig = WebConfig()
    console: ConsoleConfig = ConsoleConfig()
    wechaty: WechatyConfig = WechatyConfig()
    pacing: PacingConfig = PacingConfig()
    orders: OrdersConfig = OrdersConfig()
    # Who the leaders are; their groups are bound in chat (绑定) and kept in the database.
    leaders: tuple[LeaderConfig, ...] = ()
    # Groups written out by hand (still supported): stable chat id, leader, admins.
    groups: tuple[GroupConfig, ...] = ()
    timeline: TimelineConfig = TimelineConfig()
    alerts: AlertsConfig = AlertsConfig()
    loyalty: LoyaltyConfig = LoyaltyConfig()

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme.split("+", 1)[0] not in ("sqlite", "postgres", "postgresql"):
            raise ValueError(
                f"{value!r} is not a database URL tuanbot can use: write sqlite:///data/tuanbot.db "
                "or postgresql://user@host:5432/dbname (SQLite and PostgreSQL only)"
            )
        return value

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


def _duplicate_keys(node: yaml.Node | None, path: str = "") -> list[str]:
    """Keys written twice in one mapping (YAML keeps the last silently): 'line N: field: ...'."""
    found: list[str] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[object, int] = {}
        for key, value in node.value:
            name = f"{path}.{key.value}" if path else str(key.value)
            if key.value in first:
                found.append(
                    f"line {key.start_mark.line + 1}: {name}: written twice "
                    f"(first on line {first[key.value]}); keep one"
                )
            else:
                first[key.value] = key.start_mark.line + 1
            found += _duplicate_keys(value, name)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _duplicate_keys(item, f"{path}.{i}")
    return found


def _cross_checks(settings: Settings) -> list[tuple[tuple[int | str, ...], str]]:
    """Mistakes no single field shows: ids used twice, overrides for groups that do not exist."""
    problems: list[tuple[tuple[int | str, ...], str]] = []

    def unique(kind: str, ids: list[tuple[tuple[int | str, ...], str]]) -> None:
        seen: set[str] = set()
        for loc, value in ids:
            if value in seen:
                problems.append((loc, f"{kind} {value!r} is used twice; every {kind} must be different"))
            seen.add(value)

    unique(
        "group id",
        [(("groups", i, "id"), g.id) for i, g in enumerate(settings.groups)]
        + [(("web", "demo_groups", i, "id"), g.id) for i, g in enumerate(settings.web.demo_groups)],
    )
    unique("leader id", [(("leaders", i, "id"), lead.id) for i, lead in enumerate(settings.leaders)])
    for where, groups in (("groups",), settings.groups), (("web", "demo_groups"), settings.web.demo_groups):
        for i, g in enumerate(groups):
            unique("member id", [((*where, i, "members", j, "id"), m.id) for j, m in enumerate(g.members)])
    known = {g.id for g in settings.groups} | {g.id for g in settings.web.demo_groups}
    for group_id in settings.timeline.groups:
        if group_id not in known:
            problems.append(
                (
                    ("timeline", "groups", group_id),
                    f"no group {group_id!r} under groups: (a group's timeline can be changed only for a "
                    "group written out under groups)",
                )
            )
    return problems


_WECHATY_ENV = {
    "endpoint": "WECHATY_PUPPET_SERVICE_ENDPOINT",
    "token": "WECHATY_PUPPET_SERVICE_TOKEN",
    "tls_ca_cert": "WECHATY_PUPPET_SERVICE_TLS_CA_CERT",
    "tls_server_name": "WECHATY_PUPPET_SERVICE_TLS_SERVER_NAME",
}


def parse_settings(text: str, source: str = "config.yaml", env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    if not text.strip() or not any(line.split("#", 1)[0].strip() for line in text.splitlines()):
        raise ConfigError(
            f"{source}:line 1: the file is empty; start from the commented config.yaml "
            "that comes with tuanbot"
        )
    try:
        tree = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source}:{where}: not valid YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:line 1: the top level must be a mapping of settings (name: value lines)")
    if duplicates := _duplicate_keys(tree):
        raise ConfigError("\n".join(f"{source}:{d}" for d in duplicates))
    if env.get("TUANBOT_DATABASE_URL"):
        data["database_url"] = env["TUANBOT_DATABASE_URL"]
    wechaty = dict(data.get("wechaty") or {})
    # The official clients' environment variables (PEM in one line with \n, as they take it).
    for key, var in _WECHATY_ENV.items():
        if env.get(var):
            wechaty[key] = env[var].replace("\\n", "\n")
    if env.get("WECHATY_PUPPET_SERVICE_NO_TLS_INSECURE_CLIENT", "").lower() == "true":
        wechaty["tls"] = False
    if wechaty:
        data["wechaty"] = wechaty

    def located(loc: tuple[int | str, ...], message: str) -> str:
        field = ".".join(str(p) for p in loc) or "(top level)"
        if loc == ("database_url",) and env.get("TUANBOT_DATABASE_URL"):
            return f"TUANBOT_DATABASE_URL: {message}"
        line = _line_of(tree, loc)
        return f"{source}:{f'line {line}' if line else '?'}: {field}: {message}"

    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = [located(tuple(err["loc"]), err["msg"]) for err in exc.errors()]
        raise ConfigError("\n".join(problems)) from exc
    if crossed := _cross_checks(settings):
        raise ConfigError("\n".join(located(loc, message) for loc, message in crossed))
    return settings


def load_settings(path: Path | None = None) -> Settings:
    path = path or Path(os.environ.get("TUANBOT_CONFIG", DEFAULT_CONFIG))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:line {line}: not UTF-8 text (saved as GBK?); save the file as UTF-8 and start again"
        ) from exc
    return parse_settings(text, source=str(path))
