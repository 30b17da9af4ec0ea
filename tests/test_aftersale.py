"""战报 through the bot: golden text, poster into the group, the leader's files privately."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from PIL import Image
from sqlmodel import Session, select

from bot.cli import main as cli_main
from bot.groupbuy.fonts import FontMissing
from bot.services.recaps import recap_replies
from bot.store.models import Campaign, Order
from bot.testing import Harness

OLD = "开团 周三蔬菜团\n白菜 3元/颗 库存50"
NEW = "开团 周六水果团\n苹果 12.8元/斤 原价15 库存100\n香蕉 9.9元/把 库存50\n自提 东门驿站"
NEXT = "开团 下周三蔬菜团\n白菜 3元/颗\n开始 12月9日 9:00"

GOLDEN = """🎉【周六水果团】战报新鲜出炉啦！
感谢幸福里1群的家人们一路捧场 ❤️

📊 本期成绩（2026年12月5日）
👥 参团 3 人，群内参与率 50%
🧾 订单 3 单，共 7 件
💰 成交额 ¥78
🎁 累计为大家节省 ¥6.6
🔁 回头客 1 人，感谢老朋友们的信任

📈 和上期「周三蔬菜团」相比
参团人数 ↑50%（上期 2 人）
成交额 ↑767%（上期 ¥9）

🏆 热销榜
🥇 香蕉 4把（2 人抢购）
🥈 苹果 3斤（2 人抢购）

🙏 特别感谢 李**、刘*、赵* 的大力支持！
⭐ 本期平均评分 4.5 分（2 人评价），谢谢大家的认可

🌟 本期活跃之星：李**、刘*、赵*，谢谢热情参与！

📢 下期预告：「下周三蔬菜团」12月09日 周三 09:00 开团，记得来抢～

取货请留意群通知，有任何问题随时私聊团长 😊"""


async def run(h: Harness, script: list[tuple[str, str]]) -> None:
    for who, text in script:
        await h.say(who, text)


@pytest.fixture
async def two_campaigns(bot: Harness) -> Harness:
    """周三蔬菜团 (closed, 2 buyers), 周六水果团 (closed, 3 buyers, 2 ratings), 下周三蔬菜团 scheduled."""
    await run(
        bot,
        [
            ("王姐", OLD),
            ("李阿姨", "白菜2"),
            ("张叔", "白菜1"),
            ("王姐", "截团"),
            ("王姐", NEW),
            ("李阿姨", "3栋1202 苹果2 香蕉1 电话13812345678"),
            ("赵姐", "12-101 苹果1"),
            ("刘哥", "香蕉3"),
            ("王姐", "截团"),
            ("王姐", NEXT),
            ("李阿姨", "评价 5"),
            ("赵姐", "评价 4"),
        ],
    )
    bot.new()
    return bot


async def test_recap_golden_poster_and_files(two_campaigns: Harness, tmp_path: Path) -> None:
    h = two_campaigns
    out = await h.say("王姐", "战报 2")
    group, leader = h.group_id(), h.member_id("王姐")
    assert [m.template for m in out] == [
        "recap/recap",
        "recap/poster",
        "recap/files_leader",
        "recap/file",
        "recap/file",
        "recap/file",
    ]
    text, poster, note, *files = out
    assert text.text == GOLDEN and text.chat_id == group and text.is_group
    # the poster: an image into the group, a real 1080x1440 PNG that is not blank
    assert poster.kind == "image" and poster.chat_id == group and poster.is_group
    image = Image.open(poster.path)
    assert image.size == (1080, 1440)
    assert len(image.convert("RGB").resize((54, 72)).getcolors(maxcolors=10_000) or []) > 20
    # the files go privately to the leader only, written next to the test database
    assert all(m.chat_id == leader and not m.is_group for m in [note, *files])
    assert [m.kind for m in files] == ["file"] * 3
    assert all(Path(m.path).is_file() and Path(m.path).is_relative_to(tmp_path) for m in files)  # type: ignore[arg-type]
    assert "13812345678" not in text.text + note.text

    supplier, sorting, orders = (openpyxl.load_workbook(m.path).active for m in files)  # type: ignore[arg-type]
    assert [[c.value for c in row] for row in supplier.iter_rows()] == [
        ["商品", "单位", "数量", "下单人数", "金额"],
        ["苹果", "斤", 3, 2, 38.4],
        ["香蕉", "把", 4, 2, 39.6],
        ["合计", None, 7, 3, 78.0],
    ]
    rows = [[c.value for c in row] for row in sorting.iter_rows()]
    # sorted by building and room: 3-1202 before 12-101, no room last
    assert [(r[0], r[1], r[2]) for r in rows[1:-1]] == [
        ("东门驿站", "3-1202", "李阿姨"),
        ("东门驿站", "12-101", "赵姐"),
        ("东门驿站", None, "刘哥"),
    ]
    assert rows[1][5] == "苹果×2斤、香蕉×1把" and rows[1][9] == "☐"
    with Session(h.app.engine) as s:
        codes = {o.follow_no: o.pickup_code for o in s.exec(select(Order).where(Order.campaign_id == 2))}
    lines = [[c.value for c in row] for row in orders.iter_rows()]
    assert [(r[0], r[1], r[14]) for r in lines[1:-1]] == [
        (1, "李阿姨", codes[1]),
        (1, "李阿姨", codes[1]),
        (2, "赵姐", codes[2]),
        (3, "刘哥", codes[3]),
    ]
    assert lines[-1][:3] == ["合计", "3人", "3单"]


async def test_recap_before_close_unknown_and_refused(bot: Harness) -> None:
    out = await bot.say("王姐", "战报")
    assert [m.template for m in out] == ["recap/none"]
    await bot.say("王姐", NEW)
    await bot.say("李阿姨", "苹果1")
    out = await bot.say("王姐", "复盘")
    assert [m.template for m in out] == ["recap/not_closed"] and "还没截团" in out[0].text
    out = await bot.say("王姐", "战报 99")
    assert [m.template for m in out] == ["recap/none"] and "99" in out[0].text
    out = await bot.say("王姐", "战报 上次的")
    assert [m.template for m in out] == ["usage/recap"]
    out = await bot.say("李阿姨", "战报")
    assert [m.template for m in out] == ["common/refused"]


async def test_private_recap_is_a_preview_for_the_leader(two_campaigns: Harness) -> None:
    h = two_campaigns
    out = await h.say("王姐", "战报", private=True)
    assert all(not m.is_group and m.chat_id == h.member_id("王姐") for m in out)
    assert out[0].template == "recap/recap" and out[-1].template == "recap/preview_hint"


async def test_admin_asks_files_still_go_to_the_leader(two_campaigns: Harness) -> None:
    out = await two_campaigns.say("小陈", "战报")
    files = [m for m in out if m.kind == "file"]
    assert len(files) == 3 and {m.chat_id for m in files} == {two_campaigns.member_id("王姐")}


async def test_refund_lowers_recap_sales(two_campaigns: Harness) -> None:
    h = two_campaigns
    with Session(h.app.engine) as s:  # marked paid (payments are another feature's commands)
        order = s.exec(select(Order).where(Order.campaign_id == 2, Order.follow_no == 1)).one()
        order.paid = True
        s.add(order)
        s.commit()
    out = await h.say("李阿姨", "售后 苹果坏了一个")
    ticket = out[0].text.split("编号 ")[1].split("（")[0]
    await h.say("王姐", f"售后 {ticket} 退款 6.4 元", private=True)
    out = await h.say("王姐", "战报 2")
    assert "💰 成交额 ¥71.6" in out[0].text  # 78 - 6.40, once although the order has two lines
    orders = openpyxl.load_workbook(out[-1].path).active  # type: ignore[arg-type]
    assert orders["N2"].value == pytest.approx(6.4) and orders["N3"].value in (None, 0)
    assert [c.value for c in orders[orders.max_row]][13] == pytest.approx(6.4)


async def test_recap_replies_for_the_timeline(two_campaigns: Harness, tmp_path: Path) -> None:
    h = two_campaigns
    with Session(h.app.engine) as s:
        campaign = s.get(Campaign, 2)
        assert campaign is not None
        replies = recap_replies(s, campaign, h.settings, h.clock.now(), tmp_path / "media", env=h.app.env)
    assert [r.template for r in replies][:2] == ["recap/recap", "recap/poster"]
    assert replies[0].chat_id == h.group_id() and not replies[0].private
    assert sorted(p.name for p in (tmp_path / "media" / "campaign-2").iterdir()) == sorted(
        ["战报-2.png", "备货单-2.xlsx", "分拣单-2.xlsx", "订单明细-2.xlsx"]
    )


async def test_no_cjk_font_leaves_poster_out_and_says_what_to_install(
    two_campaigns: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_font(*args: object, **kw: object) -> Path:
        raise FontMissing("no font; install fonts-noto-cjk")

    monkeypatch.setattr("bot.services.recaps.render_poster", no_font)
    out = await two_campaigns.say("王姐", "战报 2")
    assert "recap/poster" not in [m.template for m in out]
    note = next(m for m in out if m.template == "recap/files_leader")
    assert "fonts-noto-cjk" in note.text


async def test_cli_members_and_export_sorting(two_campaigns: Harness, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "tuanbot.db"
    if not db.exists():
        pytest.skip("CLI reads SQLite files")
    assert cli_main(["members", "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    assert "回头客（买过2个团及以上）1 人" in printed and "李阿姨：2个团" in printed
    out = tmp_path / "s.xlsx"
    assert cli_main(["export", "--db", str(db), "--campaign", "2", "--format", "xlsx", "--kind", "sorting",
                     "-o", str(out)]) == 0  # fmt: skip
    assert openpyxl.load_workbook(out).active["C2"].value == "李阿姨"
