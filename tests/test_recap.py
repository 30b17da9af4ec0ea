"""战报 figures and the golden text of templates/messages/recap/recap.j2."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pytest

from bot.groupbuy.money import yuan, yuan2
from bot.groupbuy.privacy import mask_name
from bot.groupbuy.recap import CampaignFacts, Recap, Trend, compute_recap, order_timeline
from bot.groupbuy.rows import OrderRow

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "messages"


def line(
    no: int, member: str, item: str, qty: int, price: int, original: int | None, minutes: int, **kw
) -> OrderRow:
    unit = {"苹果": "斤", "香蕉": "把", "橙子": "箱"}[item]
    return OrderRow(
        no, f"id-{member}", member, item, unit, qty, price, price * qty, None, True, "东门驿站",
        T0 + timedelta(minutes=minutes), original_price_fen=original, **kw,
    )  # fmt: skip


CURRENT = CampaignFacts(
    "周六水果团",
    datetime(2026, 12, 6, 18, 0, tzinfo=TZ),
    [
        line(1, "张三", "苹果", 3, 1280, 1500, 5),
        line(1, "张三", "香蕉", 1, 990, None, 5),
        line(2, "李阿姨", "苹果", 5, 1280, 1500, 70, coupon_fen=200),
        line(3, "王小明", "橙子", 1, 5900, 6900, 130, refund_fen=500),
    ],
    "幸福里1群",
)
PREVIOUS = CampaignFacts(
    "周三蔬菜团",
    datetime(2026, 12, 2, 18, 0, tzinfo=TZ),
    [line(1, "张三", "苹果", 10, 1280, None, 0), line(2, "赵六", "苹果", 1, 1380, None, 1)],
)


def render(recap: Recap, **env_options: bool) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined, **env_options
    )
    env.filters.update(yuan=yuan, yuan2=yuan2, mask=mask_name, pct=lambda x: f"{x * 100:.0f}%")
    return env.get_template("recap/recap.j2").render(recap=recap)


def test_figures() -> None:
    r = compute_recap(CURRENT, PREVIOUS, 50, "周三蔬菜团", 4.75)
    assert (r.buyers, r.orders, r.units) == (3, 3, 10)
    assert r.gross_fen == 3 * 1280 + 990 + 5 * 1280 + 5900
    assert r.sales_fen == r.gross_fen - 200 - 500  # after coupons and refunds
    # (15.00-12.80)*8 + (69-59) + the ¥2 coupon; the banana had no original price
    assert r.savings_fen == 220 * 8 + 1000 + 200
    assert r.participation == pytest.approx(3 / 50)
    assert r.repeat_buyers == 1  # 张三 bought in the previous campaign
    assert [(i.name, i.units, i.buyers) for i in r.top_items] == [
        ("苹果", 8, 2),
        ("橙子", 1, 1),
        ("香蕉", 1, 1),
    ]
    assert r.thanks == ("李**", "王**", "张*")  # by spend: 6400, 5900, 4830
    assert r.comparison is not None
    assert r.comparison.buyers == Trend(2, 3)
    assert r.comparison.sales == Trend(10 * 1280 + 1380, r.sales_fen)
    assert r.comparison.sales.direction == "up"
    assert r.comparison.sales.change == pytest.approx((16430 - 14180) / 14180)


def test_repeat_buyers_from_ids_and_unknown_group_size() -> None:
    facts = CampaignFacts(
        CURRENT.title,
        CURRENT.closed_at,
        CURRENT.orders,
        repeat_buyer_ids=frozenset({"id-李阿姨", "id-王小明", "id-x"}),
    )
    r = compute_recap(facts, None, 0)
    assert r.repeat_buyers == 2 and r.participation is None and r.comparison is None


def test_trend_directions() -> None:
    assert Trend(100, 95).direction == "down" and Trend(100, 95).change == pytest.approx(-0.05)
    assert Trend(1000, 1004).direction == "flat"  # +0.4 % shows as 0 %
    assert Trend(0, 5).change is None and Trend(0, 5).direction == "up"
    assert Trend(0, 0).direction == "flat"


GOLDEN = """\
🎉【周六水果团】战报新鲜出炉啦！
感谢幸福里1群的家人们一路捧场 ❤️

📊 本期成绩（2026年12月6日）
👥 参团 3 人，群内参与率 6%
🧾 订单 3 单，共 10 件
💰 成交额 ¥164.3
🎁 累计为大家节省 ¥29.6
🔁 回头客 1 人，感谢老朋友们的信任

📈 和上期「周三蔬菜团」相比
参团人数 ↑50%（上期 2 人）
成交额 ↑16%（上期 ¥141.8）

🏆 热销榜
🥇 苹果 8斤（2 人抢购）
🥈 橙子 1箱（1 人抢购）
🥉 香蕉 1把（1 人抢购）

🙏 特别感谢 李**、王**、张* 的大力支持！
⭐ 本期平均评分 4.8 分，谢谢大家的认可

📢 下期预告：周三蔬菜团，周三早上9点开团

取货请留意群通知，有任何问题随时私聊团长 😊"""


def test_golden_text() -> None:
    text = render(compute_recap(CURRENT, PREVIOUS, 50, "周三蔬菜团，周三早上9点开团", 4.75))
    assert text == GOLDEN
    for raw in ("张三", "李阿姨", "王小明"):
        assert raw not in text  # names are masked in the group post


def test_golden_text_down_and_minimal() -> None:
    bigger = CampaignFacts("上期", T0, [*PREVIOUS.orders, line(3, "钱七", "苹果", 20, 1280, None, 2),
                                        line(4, "孙八", "苹果", 1, 1280, None, 2)])  # fmt: skip
    facts = CampaignFacts("周日蔬菜团", datetime(2026, 12, 7, 20, 0, tzinfo=TZ), CURRENT.orders[:2])
    text = render(compute_recap(facts, bigger, 0))
    assert text == (
        "🎉【周日蔬菜团】战报新鲜出炉啦！\n\n"
        "📊 本期成绩（2026年12月7日）\n👥 参团 1 人\n🧾 订单 1 单，共 4 件\n💰 成交额 ¥48.3\n"
        "🎁 累计为大家节省 ¥6.6\n🔁 回头客 1 人，感谢老朋友们的信任\n\n"
        "📈 和上期「上期」相比\n参团人数 ↓75%（上期 4 人）\n成交额 ↓88%（上期 ¥410.6）\n\n"
        "🏆 热销榜\n🥇 苹果 3斤（1 人抢购）\n🥈 香蕉 1把（1 人抢购）\n\n"
        "🙏 特别感谢 张* 的大力支持！\n\n"
        "取货请留意群通知，有任何问题随时私聊团长 😊"
    )


def test_no_orders() -> None:
    text = render(compute_recap(CampaignFacts("冷门团", T0, []), None, 30))
    assert "还没有家人下单" in text and "热销榜" not in text and "成交额" not in text


def test_template_whitespace_does_not_depend_on_environment() -> None:
    recap = compute_recap(CURRENT, PREVIOUS, 50, "下期见", 4.0)
    assert render(recap) == render(recap, trim_blocks=True, lstrip_blocks=True)


def test_timeline_bins_adapt_and_count_orders_once() -> None:
    r = compute_recap(CURRENT, None, 50)
    assert r.bin_minutes == 10  # 09:05 .. 11:10 fits 24 bins of ten minutes
    assert sum(b.orders for b in r.timeline) == r.orders  # the two-line order counts once
    assert r.timeline[0].label == "09:00" and r.timeline[0].orders == 1
    days = [T0 + timedelta(hours=h) for h in (0, 1, 30, 60, 61)]
    bins, minutes = order_timeline(days)
    assert minutes == 180 and len(bins) <= 24
    assert bins[0].start == T0 and bins[0].orders == 2 and sum(b.orders for b in bins) == 5
    assert bins[0].label == "5日9时"
    weeks = [T0 + timedelta(days=d) for d in range(20)]
    bins, minutes = order_timeline(weeks)
    assert minutes == 1440 and bins[0].label == "12/5" and [b.orders for b in bins] == [1] * 20
