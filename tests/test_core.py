"""The core: config validation, normalisation, ordering per chat, the outbox."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.config import ConfigError, load_settings, parse_settings
from bot.core.messages import InboundMessage
from bot.core.normalize import normalize_text
from bot.testing import Harness, build_harness, demo_settings
from tests.conftest import START

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_config_is_valid() -> None:
    settings = load_settings(ROOT / "config.yaml")
    assert settings.groups[0].name == "幸福里1群" and len(settings.groups[0].members) >= 12
    assert settings.web.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("port: 8080", "port: eighty"), "web.port"),
        (("timezone: Asia/Shanghai", "timezone: Mars/Base"), "timezone"),
        (("  burst: 5", "  burst: 0"), "pacing.burst"),
        (("mask_names: true", "mask_name: true"), "mask_name"),
    ],
)
def test_broken_config_names_field_and_line(change: tuple[str, str], field: str) -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.strip().startswith(change[0].strip()))
    with pytest.raises(ConfigError) as err:
        parse_settings(text.replace(change[0], change[1]), env={})
    assert f"line {line}: {field}" in str(err.value)


def test_database_url_from_environment() -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    s = parse_settings(text, env={"TUANBOT_DATABASE_URL": "postgresql://x@h/db"})
    assert s.database_url == "postgresql://x@h/db"


def test_normalize_folds_width_strips_bot_and_controls() -> None:
    text, mentioned = normalize_text("@团长助手\u2005苹果ｘ２\x07，谢谢", ("团长助手",))
    assert (text, mentioned) == ("苹果x2,谢谢", True)
    assert normalize_text("苹果x2", ("团长助手",)) == ("苹果x2", False)


async def test_messages_of_one_chat_are_handled_in_order(bot: Harness) -> None:
    await bot.say("王姐", "开团 水果团\n苹果 10元/斤 库存3")
    first = bot.transport.message(bot.group_id(), bot.member_id("李阿姨"), "李阿姨", "苹果3")
    second = bot.transport.message(bot.group_id(), bot.member_id("张叔"), "张叔", "苹果1")
    await asyncio.gather(bot.transport.deliver(first), bot.transport.deliver(second))
    texts = [m.text for m in bot.new()]
    assert "跟团号1" in texts[0] and "抢光" in texts[1]


async def test_a_failing_handler_never_stops_the_loop(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    import handlers.orders

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    await bot.say("王姐", "开团 水果团\n苹果 10元/斤")
    monkeypatch.setattr(handlers.orders, "change_from_text", boom)
    assert await bot.say("李阿姨", "苹果2") == []
    monkeypatch.undo()
    assert "跟团号1" in (await bot.say("张叔", "苹果2"))[0].text


async def test_replies_wait_in_the_outbox_while_offline_and_survive_restart(engine) -> None:  # type: ignore[no-untyped-def]
    settings = demo_settings()
    h = build_harness(settings, engine, START)
    async with h.app:
        await h.say("王姐", "开团 水果团\n苹果 10元/斤")
        h.transport.online = False
        assert await h.say("李阿姨", "苹果2") == []
        assert await h.say("张叔", "苹果1") == []
    # A new process on the same store delivers what was acknowledged, in order.
    h2 = build_harness(settings, engine, START)
    async with h2.app:
        text = "\n".join(m.text for m in h2.new())
    assert text.count("跟团号") == 2 and text.index("跟团号1") < text.index("跟团号2")


async def test_an_outage_is_one_warning_however_often_the_outbox_retries(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.core.outbox")
    bot.transport.online = False
    for n in range(3):
        await bot.say("李阿姨", f"@团长助手 帮助{n}" if n else "帮助")
        await bot.advance(timedelta(seconds=10))  # the outbox retries every few seconds
    bot.transport.online = True
    assert len(await bot.advance(timedelta(seconds=10))) >= 3  # what waited went out
    bot.transport.online = False
    await bot.say("李阿姨", "帮助")
    warned = [
        r for r in caplog.records if r.levelno == logging.WARNING and "wait in the outbox" in r.getMessage()
    ]
    assert len(warned) == 2  # one for each outage
    assert len([r for r in caplog.records if "wait in the outbox" in r.getMessage()]) > 3


async def test_pacing_merges_a_burst_into_few_messages(engine) -> None:  # type: ignore[no-untyped-def]
    names = [f"邻居{i}" for i in range(30)]
    settings = demo_settings({"幸福里1群": {"leader": "王姐", "members": names}}, pacing={})
    h = build_harness(settings, engine, START)
    async with h.app:
        await h.say("王姐", "开团 水果团\n苹果 10元/斤")
        await asyncio.gather(
            *(
                h.transport.deliver(h.transport.message(h.group_id(), h.member_id(n), n, "苹果1"))
                for n in names
            )
        )
        sent = h.new() + await h.drain()
    confirmations = sum(m.text.count("跟团号") for m in sent)
    assert confirmations == 30 and len(sent) <= 8


def test_template_cache_that_cannot_write_never_fails_a_reply(tmp_path: Path) -> None:
    """Compiled templates are cached on disk; a disk that refuses them only costs a compile."""
    from zoneinfo import ZoneInfo

    from bot.core.render import _QuietBytecodeCache, make_environment, render

    env = make_environment(ZoneInfo("Asia/Shanghai"))
    env.bytecode_cache = _QuietBytecodeCache(str(tmp_path / "missing-dir"))
    data = {"in_group": True, "sender": "李阿姨", "campaign": {"title": "周六水果团"}}
    assert (
        render(env, "orders/none", data)
        == "@李** 你在「周六水果团」还没有订单。下单直接发：商品x数量，例如 苹果x2"
    )
    assert not (tmp_path / "missing-dir").exists()


async def test_a_group_not_in_the_config_gets_no_reply_and_one_log_line(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app")
    for n, text in enumerate(["帮助", "开团 周六水果团\n苹果 12.8元/斤", "苹果x2", "帮助"]):
        await bot.transport.deliver(
            InboundMessage(
                id=f"stranger-{n}",
                chat_id="99999@chatroom",
                sender_id="wxid_stranger",
                sender_name="路人",
                text=text,
                chat_name="别的群",
            )
        )
    join = InboundMessage(
        id="j", chat_id="99999@chatroom", sender_id="wxid_new", sender_name="新人", kind="join"
    )
    await bot.transport.deliver(join)
    assert bot.new() == []
    lines = [r.getMessage() for r in caplog.records if "not in config.yaml" in r.getMessage()]
    assert len(lines) == 1 and "99999@chatroom" in lines[0] and "wxid_stranger" in lines[0]
