"""The login QR code in the terminal, read back as a phone would read it, through the real gateway."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from gateway_fixture import Gateway, Inbox, ensure_node_modules, eventually, make_transport
from PIL import Image

pytest.importorskip("wechaty_grpc")
from bot.transports.wechaty_login import print_login_prompts, qr_terminal

QRCODE = "https://login.weixin.qq.com/l/Yd5Qe7mTHw=="

# A terminal cell's upper and lower half: light (1) or dark (0) on a dark background.
HALVES = {"█": (1, 1), "▀": (1, 0), "▄": (0, 1), " ": (0, 0)}


def decode_terminal(text: str) -> list[str]:
    """What a phone camera reads off the terminal: each cell two pixels tall, light on dark."""
    rows = [line for line in text.splitlines() if line and set(line) <= set(HALVES)]
    assert rows, "no QR picture in the output"
    width = max(len(r) for r in rows)
    image = Image.new("L", (width, 2 * len(rows)), 0)
    for y, row in enumerate(rows):
        for x, cell in enumerate(row):
            top, bottom = HALVES[cell]
            image.putpixel((x, 2 * y), 255 * top)
            image.putpixel((x, 2 * y + 1), 255 * bottom)
    image = image.resize((width * 8, len(rows) * 16), Image.Resampling.NEAREST)
    return [r.text for r in zxingcpp.read_barcodes(image)]


def test_the_terminal_picture_scans() -> None:
    assert decode_terminal(qr_terminal(QRCODE)) == [QRCODE]


@pytest.mark.gateway
async def test_each_new_qr_code_from_the_gateway_is_printed_once_as_a_picture() -> None:
    ensure_node_modules()
    gw = Gateway(wait_for_scan=True)
    gw.start()
    transport = make_transport(gw)
    out = io.StringIO()
    print_login_prompts(transport, "http://127.0.0.1:8080/", out)
    await transport.start(Inbox())
    try:
        await eventually(lambda: transport.streaming)
        gw.scan(QRCODE)
        await eventually(lambda: transport.login.status == "scan")
        gw.scan(QRCODE)  # the same code again: not printed again
        gw.scan(QRCODE, status=3)
        await eventually(lambda: transport.login.status == "scanned")
        first = out.getvalue()
        assert first.count("请用团长的微信扫码登录") == 1 and "http://127.0.0.1:8080/" in first
        assert decode_terminal(first) == [QRCODE]
        renewed = QRCODE.replace("Yd5Q", "Zz9A")  # the code expired: the gateway sends a new one
        gw.scan(renewed)
        await eventually(lambda: out.getvalue().count("请用团长的微信扫码登录") == 2)
        assert decode_terminal(out.getvalue()[len(first) :]) == [renewed]
    finally:
        await transport.stop()
        gw.kill()
