"""Exact quantities: halves for goods sold by weight, on stock, limits, money and exports."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.groupbuy.quantity import amount_fen, convert, from_store, is_half_step, normalize, show, to_store
from bot.services.campaigns import items_of
from bot.services.orderbook import Refusal, change_order, view_order
from bot.store.db import create_schema
from bot.store.models import Campaign, Item
from bot.testing import Harness

H = Decimal("0.5")


@pytest.mark.parametrize(
    ("value", "stored"),
    [(3, 300), (Decimal("1.5"), 150), (Decimal("0.5"), 50), (0, 0), (Decimal("2.0"), 200)],
)
def test_store_round_trip(value: Decimal | int, stored: int) -> None:
    assert to_store(value) == stored
    back = from_store(stored)
    assert back == value and type(back) is (int if value == int(value) else Decimal)


def test_finer_than_a_hundredth_is_refused() -> None:
    with pytest.raises(ValueError):
        to_store(Decimal("0.001"))


def test_money_is_exact_and_rounds_half_up_to_the_fen() -> None:
    assert amount_fen(1280, 3) == 3840
    assert amount_fen(1280, Decimal("1.5")) == 1920
    assert amount_fen(1285, H) == 643  # 6.425 -> 6.43
    assert amount_fen(999, Decimal("2.5")) == 2498  # 24.975 -> 24.98


def test_helpers() -> None:
    assert normalize(Decimal("3.0")) == 3 and type(normalize(Decimal("3.0"))) is int
    assert show(Decimal("1.50")) == "1.5" and show(4) == "4"
    assert is_half_step(Decimal("2.5")) and is_half_step(7) and not is_half_step(Decimal("0.3"))
    assert convert(1, "公斤", "斤") == 2 and convert(500, "g", "斤") == 1 and convert(1, "个", "斤") is None


OPEN = "开团 称重团\n苹果 12.85元/斤 库存10 限购3\n截团 今天18:00"


async def test_halves_on_the_order_book(bot: Harness) -> None:
    await bot.say("王姐", OPEN)
    member = bot.member_id("李阿姨")
    with Session(bot.app.engine) as s:
        campaign = s.exec(select(Campaign)).one()
        assert campaign.id is not None
        apple = items_of(s, campaign.id)[0]
        now = bot.clock.now()
        out = change_order(s, campaign, member, bot.group_id(), [(apple, Decimal("1.5"))], now)
        assert [(a.quantity, a.delta) for a in out.accepted] == [(Decimal("1.5"), Decimal("1.5"))]
        out = change_order(s, campaign, member, bot.group_id(), [(apple, 2)], now)
        assert out.rejected[0].reason == Refusal.OVER_LIMIT and out.rejected[0].can_add == Decimal("1.5")
        out = change_order(s, campaign, member, bot.group_id(), [(apple, H)], now)
        assert out.accepted[0].quantity == 2 and type(out.accepted[0].quantity) is int
        view = view_order(s, campaign.id, member)
        assert view is not None and view.items == [("苹果", 2, "斤", 2570)]
        s.commit()
        # stored as integer hundredths, read back exact
        raw = s.connection().execute(text("SELECT sold_x100 FROM item")).scalar()
        assert raw == 200
    with Session(bot.app.engine) as s:
        campaign = s.exec(select(Campaign)).one()
        apple = items_of(s, campaign.id)[0]  # type: ignore[arg-type]
        other = bot.member_id("张叔")
        assert change_order(s, campaign, other, bot.group_id(), [(apple, 3)], now).accepted
        third = bot.member_id("赵姐")
        assert change_order(s, campaign, third, bot.group_id(), [(apple, Decimal("3"))], now).accepted
        fourth = bot.member_id("刘哥")
        out = change_order(s, campaign, fourth, bot.group_id(), [(apple, Decimal("2.5"))], now)
        assert out.rejected[0].reason == Refusal.NOT_ENOUGH and out.rejected[0].remaining == 2
        out = change_order(s, campaign, fourth, bot.group_id(), [(apple, Decimal("1.5"))], now)
        assert out.accepted
        assert s.scalar(select(Item.sold)) == Decimal("9.5")
        out = change_order(s, campaign, fourth, bot.group_id(), [(apple, 1)], now)
        assert out.rejected[0].remaining == H
        s.commit()


def test_an_older_store_is_carried_over_scaled(engine: Engine) -> None:
    """A store from before halves kept whole numbers in item.sold / stock / limit_per_member and
    order_line.quantity: at start they move to the hundredths columns, never misread."""
    create_schema(engine)
    with engine.begin() as conn:
        for column in ("stock", "sold", "limit_per_member"):
            conn.execute(text(f"ALTER TABLE item DROP COLUMN {column}_x100"))
            conn.execute(text(f"ALTER TABLE item ADD COLUMN {column} INTEGER"))
        conn.execute(text("INSERT INTO \"group\" (id, name, member_count) VALUES ('g', 'g', 0)"))
        conn.execute(text("INSERT INTO member (id, name) VALUES ('m', 'm')"))
        conn.execute(
            text(
                "INSERT INTO campaign (title, status, owner_group_id, created_by, order_seq, options) "
                "VALUES ('t', 'open', 'g', 'm', 0, '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO item (campaign_id, position, name, aliases, price_fen, unit, stock, sold, "
                "limit_per_member, tiers) VALUES (1, 0, '苹果', '[]', 1280, '斤', 100, 7, 5, '[]')"
            )
        )
    create_schema(engine)
    with Session(engine) as s:
        item = s.exec(select(Item)).one()
        assert (item.stock, item.sold, item.limit_per_member) == (100, 7, 5)
        assert s.connection().execute(text("SELECT sold_x100 FROM item")).scalar() == 700
