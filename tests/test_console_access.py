"""后台 and 退出后台 in chat, and the one-time links and sessions behind them (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, select

from bot.services.console_access import (
    LinkProblem,
    Login,
    end_session,
    link_problem,
    redeem_link,
    session_of,
)
from bot.store.models_console import ConsoleLink, ConsoleSession
from bot.testing import Harness

LINK = re.compile(r"https?://\S+/console/login/([A-Za-z0-9_-]{43})")


async def ask_link(bot: Harness, who: str = "王姐") -> str:
    out = await bot.say(who, "后台", private=True)
    assert [m.template for m in out] == ["console/link"]
    assert out[0].chat_id == bot.member_id(who) and not out[0].is_group
    found = LINK.search(out[0].text)
    assert found is not None, out[0].text
    return found.group(1)


def redeem(bot: Harness, token: str) -> Login | LinkProblem:
    with Session(bot.app.engine) as s:
        result = redeem_link(s, token, bot.clock.now(), 12)
        s.commit()
        return result


def current(bot: Harness, cookie: str) -> Login | None:
    with Session(bot.app.engine) as s:
        return session_of(s, cookie, bot.clock.now())


async def test_leader_gets_a_one_time_link_that_opens_one_session(bot: Harness) -> None:
    token = await ask_link(bot)
    out = (await bot.say("王姐", "后台", private=True))[0].text
    assert "10分钟" in out and "不要转发" in out
    # A newer link replaces the older one.
    newer = LINK.search(out).group(1)  # type: ignore[union-attr]
    assert redeem(bot, token) is LinkProblem.EXPIRED
    login = redeem(bot, newer)
    assert isinstance(login, Login) and login.member_id == bot.member_id("王姐")
    assert current(bot, login.token) == Login(login.member_id, login.csrf, login.expires_at)
    assert redeem(bot, newer) is LinkProblem.USED  # reused: refused
    with Session(bot.app.engine) as s:  # only digests are stored
        stored = {r.digest for r in s.exec(select(ConsoleLink))} | {
            r.digest for r in s.exec(select(ConsoleSession))
        }
        assert token not in stored and newer not in stored and login.token not in stored


async def test_links_expire_and_forged_ones_are_unknown(bot: Harness) -> None:
    token = await ask_link(bot)
    with Session(bot.app.engine) as s:
        assert link_problem(s, token, bot.clock.now()) is None
        forged = token[:-1] + ("A" if token[-1] != "A" else "B")
        assert link_problem(s, forged, bot.clock.now()) is LinkProblem.UNKNOWN
        assert link_problem(s, "../../etc/passwd", bot.clock.now()) is LinkProblem.UNKNOWN
    await bot.advance(timedelta(minutes=10, seconds=1))
    assert redeem(bot, token) is LinkProblem.EXPIRED


async def test_sessions_end_by_time_by_logout_and_by_退出后台(bot: Harness) -> None:
    first = redeem(bot, await ask_link(bot))
    second = redeem(bot, await ask_link(bot))
    assert isinstance(first, Login) and isinstance(second, Login)
    with Session(bot.app.engine) as s:
        end_session(s, first.token, bot.clock.now())
        s.commit()
    assert current(bot, first.token) is None and current(bot, second.token) is not None
    out = await bot.say("王姐", "退出后台", private=True)
    assert out[0].template == "console/logged_out" and "1个登录已失效" in out[0].text
    assert current(bot, second.token) is None
    assert "没有登录" in (await bot.say("王姐", "退出后台", private=True))[0].text
    third = redeem(bot, await ask_link(bot))
    assert isinstance(third, Login)
    await bot.advance(timedelta(hours=12))
    assert current(bot, third.token) is None
    assert current(bot, None) is None and current(bot, "x" * 43) is None


async def test_admins_may_members_may_not_and_never_in_a_group(bot: Harness) -> None:
    await ask_link(bot, "小陈")  # an admin: she sees the groups she helps with
    assert (await bot.say("李阿姨", "后台", private=True))[0].template == "common/refused"
    out = await bot.say("王姐", "后台")
    assert [m.template for m in out] == ["console/private_only"] and "http" not in out[0].text
    assert await bot.say("王姐", "后台怎么用", private=True) == []
    with Session(bot.app.engine) as s:
        assert len(list(s.exec(select(ConsoleLink)))) == 1  # only 小陈's
