"""The 战报 poster: a portrait picture of the recap figures to post into the group."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot.groupbuy.fonts import check_cjk, face_index, find_cjk_font, load_font, missing_glyphs
from bot.groupbuy.money import yuan
from bot.groupbuy.recap import Recap

WIDTH, HEIGHT = 1080, 1440
MARGIN = 56

RED = (214, 48, 49)
RED_DARK = (170, 28, 36)
ORANGE = (245, 132, 66)
GOLD = (255, 214, 120)
CREAM = (255, 246, 236)
WHITE = (255, 255, 255)
INK = (51, 38, 33)
GREY = (140, 124, 116)
PALE = (250, 226, 210)


@dataclass
class _Fonts:
    """Fonts by (bold, size), loaded once per poster; characters the font lacks are left out."""

    regular: Path
    bold: Path
    _cache: dict[tuple[bool, int], ImageFont.FreeTypeFont] = field(default_factory=dict)
    _missing: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = {self.regular: face_index(self.regular), self.bold: face_index(self.bold)}

    def get(self, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
        key = (bold, size)
        if key not in self._cache:
            path = self.bold if bold else self.regular
            self._cache[key] = load_font(path, size, self._index[path])
        return self._cache[key]

    def clean(self, text: str) -> str:
        """Drop what would come out as a box (emoji in an item name, say) instead of drawing it."""
        unknown = {ch for ch in set(text) if ch not in self._missing}
        if unknown:
            lacking = missing_glyphs(self.get(40), "".join(unknown))
            self._missing.update({ch: ch in lacking for ch in unknown})
        return "".join(ch for ch in text if not self._missing.get(ch, False)).strip()

    def fit(self, text: str, size: int, width: int, bold: bool = False) -> ImageFont.FreeTypeFont:
        """The largest font up to `size` in which `text` fits into `width` pixels."""
        while size > 14 and self.get(size, bold).getlength(text) > width:
            size -= 2
        return self.get(size, bold)


def _ellipsis(fonts: _Fonts, text: str, size: int, width: int, bold: bool = False) -> str:
    font = fonts.get(size, bold)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    w, h = size
    column = Image.new("RGB", (1, h))
    for y in range(h):
        f = y / max(h - 1, 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * f) for a, b in zip(top, bottom, strict=True)))
    return column.resize((w, h))


def _card(draw: ImageDraw.ImageDraw, top: int, height: int) -> tuple[int, int, int, int]:
    box = (MARGIN, top, WIDTH - MARGIN, top + height)
    shadow = (box[0], box[1] + 6, box[2], box[3] + 6)
    draw.rounded_rectangle(shadow, radius=28, fill=PALE)
    draw.rounded_rectangle(box, radius=28, fill=WHITE)
    return box


def _centered(
    draw: ImageDraw.ImageDraw, x: float, y: float, text: str, font: ImageFont.FreeTypeFont, fill
) -> None:
    draw.text((x, y), text, font=font, fill=fill, anchor="mm")


def _trend_text(recap: Recap) -> str | None:
    if recap.comparison is None:
        return None
    sales = recap.comparison.sales
    if sales.change is None or sales.direction == "flat":
        return "成交额与上期持平" if sales.direction == "flat" else None
    arrow = "↑" if sales.direction == "up" else "↓"
    return f"成交额较上期 {arrow}{abs(sales.change) * 100:.0f}%"


def _header(draw: ImageDraw.ImageDraw, fonts: _Fonts, recap: Recap) -> None:
    title = fonts.clean(recap.title)
    draw.ellipse((WIDTH - 300, -160, WIDTH + 140, 280), fill=(226, 74, 62))
    draw.ellipse((-120, 210, 180, 510), fill=(224, 68, 58))
    _centered(draw, WIDTH / 2, 104, "战 报", fonts.get(124, bold=True), WHITE)
    _centered(draw, WIDTH / 2, 200, title, fonts.fit(title, 50, WIDTH - 2 * MARGIN, bold=True), GOLD)
    sub = " · ".join(x for x in (fonts.clean(recap.group_name), recap.date_label) if x)
    _centered(draw, WIDTH / 2, 256, sub, fonts.fit(sub, 30, WIDTH - 2 * MARGIN), (255, 225, 215))


def _figures(draw: ImageDraw.ImageDraw, fonts: _Fonts, recap: Recap, top: int) -> int:
    box = _card(draw, top, 372)
    cells = (
        ("成交额", f"¥{yuan(recap.sales_fen)}"),
        ("参团人数", f"{recap.buyers}人"),
        ("售出件数", f"{recap.units}件"),
        ("为大家节省", f"¥{yuan(recap.savings_fen)}"),
    )
    cell_w = (box[2] - box[0]) / 2
    for i, (label, value) in enumerate(cells):
        cx = box[0] + cell_w * (i % 2) + cell_w / 2
        cy = box[1] + 80 + 134 * (i // 2)
        _centered(draw, cx, cy - 40, label, fonts.get(30), GREY)
        _centered(draw, cx, cy + 20, value, fonts.fit(value, 68, int(cell_w) - 40, bold=True), RED)
    mid = box[0] + cell_w
    draw.line((mid, box[1] + 32, mid, box[1] + 250), fill=PALE, width=2)
    draw.line((box[0] + 40, box[1] + 147, box[2] - 40, box[1] + 147), fill=PALE, width=2)
    facts = [f"订单 {recap.orders} 单"]
    if recap.participation is not None:
        facts.append(f"参与率 {recap.participation * 100:.0f}%")
    if recap.repeat_buyers:
        facts.append(f"回头客 {recap.repeat_buyers} 人")
    if trend := _trend_text(recap):
        facts.append(trend)
    if recap.average_rating is not None:
        facts.append(f"评分 {recap.average_rating:.1f}★")
    line = "  ·  ".join(facts)
    draw.rounded_rectangle((box[0] + 30, box[3] - 90, box[2] - 30, box[3] - 28), radius=20, fill=CREAM)
    _centered(draw, WIDTH / 2, box[3] - 59, line, fonts.fit(line, 30, box[2] - box[0] - 100), INK)
    return box[3]


def _top_items(draw: ImageDraw.ImageDraw, fonts: _Fonts, recap: Recap, top: int) -> int:
    items = recap.top_items[:3]
    box = _card(draw, top, 80 + 54 * max(len(items), 1))
    draw.text((box[0] + 40, box[1] + 26), "热销榜 TOP 3", font=fonts.get(34, bold=True), fill=INK)
    if not items:
        draw.text((box[0] + 40, box[1] + 95), "本期暂无订单", font=fonts.get(30), fill=GREY)
        return box[3]
    most = max(item.units for item in items) or 1
    bar_left, bar_right = box[0] + 330, box[2] - 170
    for i, item in enumerate(items):
        y = box[1] + 104 + 54 * i
        badge = (box[0] + 40, y - 22, box[0] + 84, y + 22)
        draw.ellipse(badge, fill=(RED, ORANGE, GOLD)[i])
        _centered(draw, (badge[0] + badge[2]) / 2, y, str(i + 1), fonts.get(26, bold=True), WHITE)
        name = _ellipsis(fonts, fonts.clean(item.name), 34, bar_left - box[0] - 120)
        draw.text((box[0] + 104, y), name, font=fonts.get(34), fill=INK, anchor="lm")
        draw.rounded_rectangle((bar_left, y - 14, bar_right, y + 14), radius=14, fill=CREAM)
        end = bar_left + max(28, (bar_right - bar_left) * item.units / most)
        draw.rounded_rectangle((bar_left, y - 14, end, y + 14), radius=14, fill=ORANGE if i else RED)
        amount = f"{item.units}{fonts.clean(item.unit)}"
        draw.text((box[2] - 40, y), amount, font=fonts.fit(amount, 32, 120, bold=True), fill=RED, anchor="rm")
    return box[3]


def _chart(draw: ImageDraw.ImageDraw, fonts: _Fonts, recap: Recap, top: int, height: int) -> int:
    box = _card(draw, top, height)
    draw.text((box[0] + 40, box[1] + 26), "下单时间分布", font=fonts.get(34, bold=True), fill=INK)
    bins = recap.timeline
    left, right = box[0] + 50, box[2] - 50
    base, ceiling = box[3] - 56, box[1] + 114
    draw.line((left, base, right, base), fill=PALE, width=3)
    if not bins:
        return box[3]
    most = max(b.orders for b in bins) or 1
    slot = (right - left) / len(bins)
    gap = min(10, slot * 0.25)
    peak = max(range(len(bins)), key=lambda i: bins[i].orders)
    for i, b in enumerate(bins):
        x0, x1 = left + slot * i + gap / 2, left + slot * (i + 1) - gap / 2
        if b.orders:
            y = base - max(6, (base - ceiling) * b.orders / most)
            draw.rounded_rectangle(
                (x0, y, x1, base), radius=min(8, (x1 - x0) / 2), fill=RED if i == peak else ORANGE
            )
        if i == peak and b.orders:
            _centered(draw, (x0 + x1) / 2, y - 22, f"{b.orders}单", fonts.get(24, bold=True), RED)
    # A few evenly spread axis labels, always the first and the last bin.
    label_font = fonts.get(22)
    every = max(1, round(len(bins) / 6))
    shown = list(range(0, len(bins), every))
    if len(bins) - 1 - shown[-1] >= every * 0.6:
        shown.append(len(bins) - 1)
    for i in shown:
        _centered(draw, left + slot * (i + 0.5), base + 28, bins[i].label, label_font, GREY)
    return box[3]


def _closing_lines(fonts: _Fonts, recap: Recap) -> list[tuple[str, int, tuple[int, int, int], bool]]:
    lines = []
    if recap.thanks:
        more = " 等家人" if recap.buyers > len(recap.thanks) else " "
        lines.append((f"感谢 {'、'.join(recap.thanks)}{more}的大力支持！", 32, RED_DARK, True))
    if recap.next_preview:
        lines.append((f"下期预告：{fonts.clean(recap.next_preview)}", 30, INK, False))
    return lines


def render_poster(recap: Recap, path: Path, font: Path | None = None) -> Path:
    """Draw the recap as a 1080×1440 PNG at `path` and return the path.

    Uses `font` or the best CJK font on the system; raises FontMissing (naming the package to
    install) rather than drawing boxes when no font can draw Chinese.
    """
    regular = font or find_cjk_font()
    bold = font or _bold_or(regular)
    fonts = _Fonts(regular, bold)
    check_cjk(fonts.get(40), regular)

    image = Image.new("RGB", (WIDTH, HEIGHT), CREAM)
    image.paste(_gradient((WIDTH, 420), RED, ORANGE), (0, 0))
    draw = ImageDraw.Draw(image)
    _header(draw, fonts, recap)
    y = _figures(draw, fonts, recap, 296)
    y = _top_items(draw, fonts, recap, y + 22)
    footer_top = HEIGHT - 60
    closing = _closing_lines(fonts, recap)
    chart_height = footer_top - 20 - 46 * len(closing) - (y + 22) - 20
    y = _chart(draw, fonts, recap, y + 22, chart_height)
    for i, (text, size, colour, bold) in enumerate(closing):
        text = _ellipsis(fonts, text, size, WIDTH - 2 * MARGIN, bold)
        _centered(draw, WIDTH / 2, y + 40 + 46 * i, text, fonts.get(size, bold), colour)

    draw.rectangle((0, footer_top, WIDTH, HEIGHT), fill=RED)
    footer = " · ".join(x for x in (fonts.clean(recap.group_name), "团长助手") if x)
    _centered(draw, WIDTH / 2, footer_top + 30, footer, fonts.get(26), (255, 225, 215))

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG", optimize=False)
    return path


def _bold_or(regular: Path) -> Path:
    """The bold sibling of a font file (NotoSansCJK-Bold.ttc next to -Regular) when there is one."""
    sibling = regular.with_name(regular.name.replace("Regular", "Bold"))
    return sibling if sibling != regular and sibling.is_file() else regular
