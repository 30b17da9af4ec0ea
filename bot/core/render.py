"""The one jinja2 environment that turns replies into the Chinese text members read."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from jinja2.bccache import Bucket

from bot.groupbuy.money import yuan, yuan2
from bot.groupbuy.privacy import mask_name, mask_phone, redact

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
_WEEKDAYS = "一二三四五六日"
log = logging.getLogger(__name__)


def make_environment(tz: ZoneInfo, *, mask_names: bool = True) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # plain chat text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the code; no stat() per message
        bytecode_cache=_bytecode_cache(),
    )

    def when(value: datetime | None, fmt: str = "%m月%d日 %H:%M") -> str:
        if value is None:
            return ""
        local = value.astimezone(tz)
        return local.strftime(fmt).replace("周W", "周" + _WEEKDAYS[local.weekday()])

    def hm(value: datetime | None) -> str:
        return when(value, "%H:%M")

    def mask(name: str) -> str:
        return mask_name(name) if mask_names else name

    # No jinja default globals (range, dict, namespace, ...): the templates need only filters,
    # and every macro import checks each global afresh (a fifth of a flash-sale reply's cost).
    env.globals.clear()
    env.filters.update(
        yuan=yuan,
        yuan2=yuan2,
        mask=mask,
        mask_phone=mask_phone,
        redact=redact,
        when=when,
        hm=hm,
        pct=lambda x: f"{x * 100:.0f}%",
    )
    return env


class _QuietBytecodeCache(FileSystemBytecodeCache):
    """Jinja's on-disk cache of compiled templates, that never fails a reply: a template it
    cannot store (disk full, read-only) is simply compiled again next time."""

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as err:
            log.debug("template cache not written: %s", err)


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates kept in a private temp dir, keyed by the source's checksum: a fresh
    process loads a template in ~0.1 ms instead of compiling it in ~2 ms, so the first orders
    after a restart do not pay for jinja's compiler. None where no such dir can be made."""
    try:
        return _QuietBytecodeCache()
    except (OSError, RuntimeError) as err:  # jinja raises RuntimeError for an unsafe dir
        log.info("no template cache (%s); templates are compiled in each process", err)
        return None


def render(env: Environment, template: str, data: dict[str, Any]) -> str:
    name = template if template.endswith(".j2") else f"messages/{template}.j2"
    return env.get_template(name).render(**data).strip()
