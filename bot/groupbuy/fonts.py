"""Finding a font that can draw Chinese, so a poster never shows boxes (tofu) instead of characters."""

from __future__ import annotations

import glob
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

INSTALL_HINT = "install a CJK font, e.g. `apt-get install fonts-noto-cjk` (Debian/Ubuntu)"

# Checked in this order when fc-list is missing or finds nothing.
KNOWN_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-{weight}.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-{weight}.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-{weight}.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/*.tt[cf]",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
)

# Preferred families, best first; anything else fc-list reports for Chinese comes after.
_PREFERRED = ("Noto Sans CJK", "Source Han Sans", "Noto Serif CJK", "WenQuanYi", "Droid Sans Fallback")
_PROBE = "战报成交额参团节省"  # characters every poster draws


class FontMissing(RuntimeError):
    """No usable CJK font on this machine; the message says what to install."""


def _fc_list(fc_list: str) -> list[tuple[str, str, str]]:
    """(file, family, style) of the fonts fontconfig says cover Simplified Chinese."""
    exe = shutil.which(fc_list)
    if exe is None:
        return []
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}|%{family}|%{style}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [tuple(line.split("|", 2)) for line in out.splitlines() if line.count("|") >= 2]  # type: ignore[misc]


def _rank(entry: tuple[str, str, str], bold: bool) -> tuple[int, int, str]:
    file, family, style = entry
    family_rank = next((i for i, name in enumerate(_PREFERRED) if name in family), len(_PREFERRED))
    wants = "Bold" if bold else "Regular"
    return (family_rank, 0 if wants in style or wants in Path(file).name else 1, file)


def find_cjk_font(
    *, bold: bool = False, fc_list: str | None = "fc-list", known_paths: Sequence[str] = KNOWN_PATHS
) -> Path:
    """The best font file on this system that draws Simplified Chinese.

    Asks fontconfig first, then looks at well-known paths. Raises FontMissing naming the package
    to install when there is none. `bold` prefers a bold face where the family has one.
    """
    found = [e for e in _fc_list(fc_list) if Path(e[0]).is_file()] if fc_list else []
    if found:
        return Path(min(found, key=lambda e: _rank(e, bold))[0])
    weight = "Bold" if bold else "Regular"
    for pattern in known_paths:
        for name in sorted(glob.glob(pattern.format(weight=weight))):
            return Path(name)
    raise FontMissing(f"no font that can draw Chinese was found; {INSTALL_HINT}")


def face_index(path: Path) -> int:
    """In a collection (.ttc), the index of the Simplified Chinese face; 0 for a single font."""
    if path.suffix.lower() != ".ttc":
        return 0
    for index in range(32):
        try:
            family = ImageFont.truetype(str(path), 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(" SC") or "GB" in family:
            return index
    return 0


def load_font(path: Path, size: int, index: int | None = None) -> ImageFont.FreeTypeFont:
    """Open a font file at a size (the Simplified Chinese face of a collection unless told)."""
    return ImageFont.truetype(str(path), size, index=face_index(path) if index is None else index)


def _glyph_image(font: ImageFont.FreeTypeFont, ch: str) -> bytes:
    size = int(font.size * 1.5) + 4
    image = Image.new("L", (size, size))
    ImageDraw.Draw(image).text((2, 2), ch, font=font, fill=255)
    return image.tobytes()


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> set[str]:
    """Characters of `text` the font would draw as its .notdef box (or not at all)."""
    notdef = _glyph_image(font, "\U0010fffd")  # a private-use code point no font maps
    return {ch for ch in set(text) if not ch.isspace() and _glyph_image(font, ch) == notdef}


def check_cjk(font: ImageFont.FreeTypeFont, path: Path) -> None:
    """Raise FontMissing when the font cannot draw Chinese, rather than drawing boxes."""
    if missing_glyphs(font, _PROBE):
        raise FontMissing(f"{path} cannot draw Chinese characters; {INSTALL_HINT}")
