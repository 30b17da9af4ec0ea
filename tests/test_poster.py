"""The 战报 poster and the CJK font search. `python tests/test_poster.py` redraws docs/poster-example.png."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageChops, ImageFont, ImageStat

from bot.groupbuy.fonts import FontMissing, find_cjk_font, load_font, missing_glyphs
from bot.groupbuy.poster import HEIGHT, WIDTH, render_poster
from bot.groupbuy.recap import CampaignFacts, Recap, compute_recap
from bot.groupbuy.rows import OrderRow

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def sample_recap(seed: int = 7, orders: int = 129) -> Recap:
    rnd = random.Random(seed)
    names = ["张三", "李阿姨", "王小明", "赵姐", "陈叔", "刘奶奶", "周周", "吴老师", "郑大哥", "孙阿姨"]
    items = [("阳光玫瑰葡萄🍇", "串", 2990, 3990), ("赣南脐橙", "箱", 5900, 6900),
             ("红富士苹果", "斤", 1280, 1500), ("土鸡蛋", "盒", 1600, 1800)]  # fmt: skip
    rows = []
    for no in range(1, orders + 1):
        m = rnd.randrange(60)
        name, unit, price, original = rnd.choice(items)
        qty = rnd.randint(1, 3)
        at = T0 + timedelta(minutes=int(rnd.expovariate(1 / 90)))
        rows.append(OrderRow(no, f"m{m}", names[m % 10], name, unit, qty, price, price * qty, None,
                             True, "东门驿站", at, original_price_fen=original))  # fmt: skip
    current = CampaignFacts("周六水果团", T0 + timedelta(hours=9), rows, "幸福里1群")
    previous = CampaignFacts("周三蔬菜团", T0 - timedelta(days=3), rows[: orders * 2 // 3])
    return compute_recap(current, previous, 186, "周三蔬菜团，周三早上 9 点开团 🥬", 4.8)


@pytest.fixture(scope="module")
def cjk_font() -> Path:
    return find_cjk_font()  # FontMissing here says which package to install


def test_poster_size_and_content(tmp_path: Path, cjk_font: Path) -> None:
    path = render_poster(sample_recap(), tmp_path / "poster.png", cjk_font)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (WIDTH, HEIGHT) == (1080, 1440)
        stat = ImageStat.Stat(image.convert("L"))
        assert stat.stddev[0] > 30  # not blank: text, figures and bars on the background
        assert len(image.convert("RGB").getcolors(1 << 20) or []) > 100  # antialiased text, not flat fills


def test_poster_shows_the_data(tmp_path: Path, cjk_font: Path) -> None:
    one = render_poster(sample_recap(seed=1), tmp_path / "a.png", cjk_font)
    two = render_poster(sample_recap(seed=2, orders=40), tmp_path / "b.png", cjk_font)
    with Image.open(one) as a, Image.open(two) as b:
        diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox()
    assert diff is not None


def test_chosen_font_draws_chinese(cjk_font: Path) -> None:
    font = load_font(cjk_font, 48)
    assert font.getname()[0]  # a real face
    for ch in "战报成交额参团人数节省感谢下期预告":
        assert font.getmask(ch).getbbox() is not None
    assert missing_glyphs(font, "战报成交额参团人数节省¥↑↓") == set()
    assert missing_glyphs(font, "苹果🍇") == {"🍇"}  # emoji are detected and left out


@pytest.mark.skipif(not DEJAVU.is_file(), reason="needs DejaVu Sans (fonts-dejavu-core)")
def test_latin_only_font_is_refused_not_drawn_as_boxes(tmp_path: Path) -> None:
    assert missing_glyphs(ImageFont.truetype(str(DEJAVU), 40), "战报") == {"战", "报"}
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        render_poster(sample_recap(), tmp_path / "p.png", DEJAVU)
    assert not (tmp_path / "p.png").exists()


def test_no_font_on_the_system_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(FontMissing, match="apt-get install fonts-noto-cjk"):
        find_cjk_font(fc_list=None, known_paths=(str(tmp_path / "*.ttc"),))


def test_known_paths_are_used_without_fontconfig(tmp_path: Path) -> None:
    fake = tmp_path / "NotoSansCJK-Bold.ttc"
    fake.write_bytes(b"")
    pattern = str(tmp_path / "NotoSansCJK-{weight}.ttc")
    assert find_cjk_font(fc_list=None, known_paths=(pattern,), bold=True) == fake
    with pytest.raises(FontMissing):
        find_cjk_font(fc_list=None, known_paths=(pattern,))  # no Regular there


def test_empty_campaign_still_draws(tmp_path: Path, cjk_font: Path) -> None:
    recap = compute_recap(CampaignFacts("冷门团", T0, [], "幸福里1群"), None, 30)
    with Image.open(render_poster(recap, tmp_path / "empty.png", cjk_font)) as image:
        assert image.size == (WIDTH, HEIGHT)


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "docs" / "poster-example.png"
    print(render_poster(sample_recap(), out))
