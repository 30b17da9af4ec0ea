"""bot.services.recaps: the recap, poster and leader's files made together (render_media), from one load
of the order lines, with the preview line rendered by the app's own jinja2 environment."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from PIL import Image
from sqlmodel import Session

from bot.groupbuy.fonts import FontMissing
from bot.groupbuy.recap import Recap
from bot.services import recaps
from bot.services.recaps import leader_exports, recap_replies, render_media
from bot.services.reports import order_rows
from bot.store.models import Campaign
from bot.testing import Harness
from tests.test_aftersale import two_campaigns  # noqa: F401 (the fixture)

PREVIEW = "「下周三蔬菜团」12月09日 周三 09:00 开团，记得来抢～"


def test_leader_exports_names_and_order(tmp_path: Path) -> None:
    assert [(e.kind, e.fmt, e.path.name) for e in leader_exports(tmp_path, 7)] == [
        ("supplier", "xlsx", "备货单-7.xlsx"),
        ("sorting", "xlsx", "分拣单-7.xlsx"),
        ("orders", "xlsx", "订单明细-7.xlsx"),
    ]
    assert [e.path.name for e in leader_exports(tmp_path, 7, ("csv", "xlsx"))][:2] == [
        "备货单-7.csv",
        "备货单-7.xlsx",
    ]


async def test_app_environment_renders_the_preview_and_rows_load_once(
    two_campaigns: Harness,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = two_campaigns
    loads: list[int | None] = []

    def counted(s: Session, campaign: Campaign, tz: object) -> object:
        loads.append(campaign.id)
        return order_rows(s, campaign, tz)  # type: ignore[arg-type]

    monkeypatch.setattr(recaps, "order_rows", counted)
    with Session(h.app.engine) as s:
        campaign = s.get(Campaign, 2)
        assert campaign is not None
        replies = recap_replies(s, campaign, h.settings, h.clock.now(), tmp_path, env=h.app.env)
    recap = replies[0].data["recap"]
    assert isinstance(recap, Recap) and recap.next_preview == PREVIEW
    assert loads == [2, 1]  # this campaign once (recap and files), the previous one for the comparison
    files = [r.path for r in replies if r.kind == "file"]
    assert [Path(p).name for p in files] == ["备货单-2.xlsx", "分拣单-2.xlsx", "订单明细-2.xlsx"]  # type: ignore[arg-type]
    orders = openpyxl.load_workbook(files[2]).active  # type: ignore[arg-type]
    assert [c.value for c in orders[orders.max_row]][:3] == ["合计", "3人", "3单"]


async def test_render_media_poster_files_and_missing_font(
    two_campaigns: Harness,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = two_campaigns
    with Session(h.app.engine) as s:
        campaign = s.get(Campaign, 2)
        assert campaign is not None
        rows = order_rows(s, campaign, h.settings.tz)
        recap = recaps.build_recap(s, campaign, h.settings, h.clock.now(), rows, env=h.app.env)
    made: list[Recap] = []

    def once() -> Recap:
        made.append(recap)
        return recap

    media = render_media(rows, once, tmp_path / "p.png", leader_exports(tmp_path, 2, ("csv", "xlsx")))
    assert made == [recap] and media.recap is recap and media.font_problem is None
    assert media.poster is not None and Image.open(media.poster).size == (1080, 1440)
    assert [p.name for p in media.files] == [
        "备货单-2.csv",
        "备货单-2.xlsx",
        "分拣单-2.csv",
        "分拣单-2.xlsx",
        "订单明细-2.csv",
        "订单明细-2.xlsx",
    ]
    assert all(p.is_file() for p in media.files)

    def no_font(*args: object, **kw: object) -> Path:
        raise FontMissing("no font; install fonts-noto-cjk")

    monkeypatch.setattr(recaps, "render_poster", no_font)
    media = render_media(rows, once, tmp_path / "none" / "p.png", leader_exports(tmp_path / "none", 2))
    assert media.poster is None and "fonts-noto-cjk" in (media.font_problem or "")
    assert [p.name for p in media.files] == ["备货单-2.xlsx", "分拣单-2.xlsx", "订单明细-2.xlsx"]
    assert not (tmp_path / "none" / "p.png").exists()
